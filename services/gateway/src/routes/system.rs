//! Health checks. `/healthz`: the process answers. `/readyz`: the store answers and the
//! read side has caught up with the log's head (waiting at most 200 ms). And `/api/v1/me`:
//! who the token stands for and what it may do, so a page offers only what will work.

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
        .routes(routes!(me))
}

/// What the caller's role allows.
#[derive(Serialize, ToSchema)]
struct May {
    /// Edit the plan's structure and actions, tables and agreements.
    edit: bool,
    /// Report an action's progress.
    report: bool,
    /// Create plans and adopt revisions.
    administer: bool,
    /// Read the audit trail and the read models whole.
    audit: bool,
}

#[derive(Serialize, ToSchema)]
struct Me {
    actor: String,
    organisation: String,
    /// `admin`, `editor`, `reporter`, `auditor` or `viewer`.
    role: &'static str,
    may: May,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "system", responses((status = 200, body = Me), (status = 401)))]
async fn me(crate::extract::Auth(caller): crate::extract::Auth) -> axum::Json<Me> {
    use metroplan_api::Role;
    let role = caller.role;
    axum::Json(Me {
        may: May {
            edit: role.can_edit(),
            report: role.can_report(),
            administer: role == Role::Admin,
            audit: matches!(role, Role::Admin | Role::Auditor),
        },
        role: role.as_str(),
        actor: caller.actor,
        organisation: caller.organisation,
    })
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
