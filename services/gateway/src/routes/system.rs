//! Health checks. `/healthz`: the process answers. `/readyz`: the store answers and the
//! read side has caught up with the log's head (waiting at most 200 ms).

use std::time::Duration;

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
    match state.store.head_position().await {
        Ok(head) => {
            // Ready once the read side answers and has caught up with the log as it is now.
            let caught_up =
                state.read.wait_for(head, Duration::from_millis(200)).await && state.read.ready();
            let position = state.read.position();
            let (code, status) = if caught_up {
                (StatusCode::OK, "ready")
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "catching_up")
            };
            (
                code,
                axum::Json(Health {
                    status,
                    position,
                    head,
                }),
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "store not answering");
            let position = state.read.position();
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
