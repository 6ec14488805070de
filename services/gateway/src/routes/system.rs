//! Health checks. `/healthz`: the process answers. `/readyz`: the read models have
//! caught up with the log as it stood at start-up, and the store answers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: &'static str,
    position: u64,
    head: u64,
}

#[utoipa::path(get, path = "/healthz", tag = "system", security(()), responses((status = 200, description = "alive")))]
async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/readyz", tag = "system", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let position = state.read.position();
    match state.store.head_position().await {
        Ok(head) if position >= head || state.read.ready() => (
            StatusCode::OK,
            axum::Json(Health {
                status: "ready",
                position,
                head,
            }),
        ),
        Ok(head) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(Health {
                status: "catching_up",
                position,
                head,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "store not answering");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(Health {
                    status: "store_unavailable",
                    position,
                    head: 0,
                }),
            )
        }
    }
}
