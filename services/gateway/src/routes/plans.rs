//! Plans, their structure, revisions, actions and progress.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use metroplan_api::monitoring::{MonitoringCommand, ReportProgress};
use metroplan_api::plan::*;
use metroplan_bus::Command;
use metroplan_projector::Query;
use metroplan_projector::views::*;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Consistency, found_at, if_match, json, json_etag, send};
use crate::extract::{Auth, Body};
use crate::{AppState, HttpError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(get_plan))
        .routes(routes!(get_dashboard))
        .routes(routes!(add_axis))
        .routes(routes!(edit_axis))
        .routes(routes!(move_axis))
        .routes(routes!(retire_axis))
        .routes(routes!(add_strategy))
        .routes(routes!(edit_strategy))
        .routes(routes!(move_strategy))
        .routes(routes!(retire_strategy))
        .routes(routes!(add_action))
        .routes(routes!(get_action, edit_action))
        .routes(routes!(move_action))
        .routes(routes!(retire_action))
        .routes(routes!(action_history))
        .routes(routes!(report_progress))
        .routes(routes!(adopt_revision))
}

type Answer = Result<Response, HttpError>;

fn plan_cmd(c: PlanCommand) -> Command {
    Command::Plan(c)
}

#[utoipa::path(get, path = "/api/v1/plans", tag = "plans", params(Consistency),
    responses((status = 200, body = [PlanSummary])))]
async fn list_plans(State(s): State<AppState>, _auth: Auth, c: Consistency) -> Answer {
    Ok(json(found_at(&s, &c, Query::Plans, String::new).await?))
}

#[utoipa::path(post, path = "/api/v1/plans", tag = "plans", request_body = CreatePlan,
    responses((status = 201, body = metroplan_api::CommandOutcome)))]
async fn create_plan(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Body(body): Body<CreatePlan>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::CreatePlan { body }),
        true,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}", tag = "plans", params(("plan" = String, Path), Consistency),
    responses((status = 200, body = PlanTree), (status = 404)))]
async fn get_plan(
    State(s): State<AppState>,
    _auth: Auth,
    c: Consistency,
    Path(plan): Path<String>,
) -> Answer {
    let tree = found_at(&s, &c, Query::PlanTree { plan: plan.clone() }, || {
        format!("plan {plan}")
    })
    .await?;
    Ok(json_etag(tree))
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/dashboard", tag = "plans", params(("plan" = String, Path), Consistency),
    responses((status = 200, body = Dashboard), (status = 404)))]
async fn get_dashboard(
    State(s): State<AppState>,
    _auth: Auth,
    c: Consistency,
    Path(plan): Path<String>,
) -> Answer {
    let d = found_at(&s, &c, Query::Dashboard { plan: plan.clone() }, || {
        format!("plan {plan}")
    })
    .await?;
    Ok(json(d))
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/axes", tag = "plans", params(("plan" = String, Path)), request_body = AddAxis,
    responses((status = 201, body = metroplan_api::CommandOutcome)))]
async fn add_axis(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(plan): Path<String>,
    Body(body): Body<AddAxis>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::AddAxis { plan, body }),
        true,
    )
    .await
}

#[utoipa::path(patch, path = "/api/v1/plans/{plan}/axes/{axis}", tag = "plans", params(("plan" = String, Path), ("axis" = String, Path)),
    request_body = EditAxis, responses((status = 200, body = metroplan_api::CommandOutcome)))]
async fn edit_axis(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((plan, axis)): Path<(String, String)>,
    Body(body): Body<EditAxis>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::EditAxis { plan, axis, body }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/axes/{axis}/move", tag = "plans", params(("plan" = String, Path), ("axis" = String, Path)),
    request_body = MoveAxis, responses((status = 200, body = metroplan_api::CommandOutcome)))]
async fn move_axis(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((plan, axis)): Path<(String, String)>,
    Body(body): Body<MoveAxis>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::MoveAxis { plan, axis, body }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/axes/{axis}/retire", tag = "plans", params(("plan" = String, Path), ("axis" = String, Path)),
    request_body = RetireAxis, responses((status = 200, body = metroplan_api::CommandOutcome)))]
async fn retire_axis(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((plan, axis)): Path<(String, String)>,
    Body(body): Body<RetireAxis>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::RetireAxis { plan, axis, body }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/strategies", tag = "plans", params(("plan" = String, Path)), request_body = AddStrategy,
    responses((status = 201, body = metroplan_api::CommandOutcome)))]
async fn add_strategy(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(plan): Path<String>,
    Body(body): Body<AddStrategy>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::AddStrategy { plan, body }),
        true,
    )
    .await
}

#[utoipa::path(patch, path = "/api/v1/plans/{plan}/strategies/{strategy}", tag = "plans", params(("plan" = String, Path), ("strategy" = String, Path)),
    request_body = EditStrategy, responses((status = 200, body = metroplan_api::CommandOutcome)))]
async fn edit_strategy(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((plan, strategy)): Path<(String, String)>,
    Body(body): Body<EditStrategy>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::EditStrategy {
            plan,
            strategy,
            body,
        }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/strategies/{strategy}/move", tag = "plans", params(("plan" = String, Path), ("strategy" = String, Path)),
    request_body = MoveStrategy, responses((status = 200, body = metroplan_api::CommandOutcome)))]
async fn move_strategy(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((plan, strategy)): Path<(String, String)>,
    Body(body): Body<MoveStrategy>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::MoveStrategy {
            plan,
            strategy,
            body,
        }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/strategies/{strategy}/retire", tag = "plans", params(("plan" = String, Path), ("strategy" = String, Path)),
    request_body = RetireStrategy, responses((status = 200, body = metroplan_api::CommandOutcome)))]
async fn retire_strategy(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((plan, strategy)): Path<(String, String)>,
    Body(body): Body<RetireStrategy>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::RetireStrategy {
            plan,
            strategy,
            body,
        }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/actions", tag = "plans", params(("plan" = String, Path)), request_body = AddAction,
    responses((status = 201, body = metroplan_api::CommandOutcome)))]
async fn add_action(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(plan): Path<String>,
    Body(body): Body<AddAction>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::AddAction { plan, body }),
        true,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/actions/{action}", tag = "plans", params(("plan" = String, Path), ("action" = String, Path), Consistency),
    responses((status = 200, body = ActionView, description = "the action; `ETag` is its stream version"), (status = 404)))]
async fn get_action(
    State(s): State<AppState>,
    _auth: Auth,
    c: Consistency,
    Path((plan, action)): Path<(String, String)>,
) -> Answer {
    let view = found_at(
        &s,
        &c,
        Query::Action {
            plan: plan.clone(),
            action: action.clone(),
        },
        || format!("action {action} of plan {plan}"),
    )
    .await?;
    Ok(json_etag(view))
}

/// Edits an action. `If-Match` carries the `ETag` the editor saw: a stale edit whose
/// fields were not changed since is merged (`merged: true`); an overlapping one is a
/// 409 showing `base`, `theirs` and `yours`.
#[utoipa::path(patch, path = "/api/v1/plans/{plan}/actions/{action}", tag = "plans",
    params(("plan" = String, Path), ("action" = String, Path), ("If-Match" = String, Header, description = "ETag of the version the edit is based on")),
    request_body = EditAction,
    responses((status = 200, body = metroplan_api::CommandOutcome), (status = 409, description = "edit conflict"), (status = 428, description = "If-Match missing")))]
async fn edit_action(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((plan, action)): Path<(String, String)>,
    Body(body): Body<EditAction>,
) -> Answer {
    let base_version = if_match(&headers)?;
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::EditAction {
            plan,
            action,
            base_version,
            body,
        }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/actions/{action}/move", tag = "plans", params(("plan" = String, Path), ("action" = String, Path)),
    request_body = MoveAction, responses((status = 200, body = metroplan_api::CommandOutcome)))]
async fn move_action(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((plan, action)): Path<(String, String)>,
    Body(body): Body<MoveAction>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::MoveAction { plan, action, body }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/actions/{action}/retire", tag = "plans", params(("plan" = String, Path), ("action" = String, Path)),
    request_body = RetireAction, responses((status = 200, body = metroplan_api::CommandOutcome)))]
async fn retire_action(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((plan, action)): Path<(String, String)>,
    Body(body): Body<RetireAction>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::RetireAction { plan, action, body }),
        false,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/actions/{action}/history", tag = "plans", params(("plan" = String, Path), ("action" = String, Path), Consistency),
    responses((status = 200, body = [HistoryEntry]), (status = 404)))]
async fn action_history(
    State(s): State<AppState>,
    _auth: Auth,
    c: Consistency,
    Path((plan, action)): Path<(String, String)>,
) -> Answer {
    let h = found_at(
        &s,
        &c,
        Query::ActionHistory {
            plan: plan.clone(),
            action: action.clone(),
        },
        || format!("action {action} of plan {plan}"),
    )
    .await?;
    Ok(json(h))
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/actions/{action}/progress", tag = "monitoring", params(("plan" = String, Path), ("action" = String, Path)),
    request_body = ReportProgress, responses((status = 200, body = metroplan_api::CommandOutcome), (status = 409, description = "transition not allowed")))]
async fn report_progress(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((plan, action)): Path<(String, String)>,
    Body(body): Body<ReportProgress>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        Command::Monitoring(MonitoringCommand::ReportProgress { plan, action, body }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/revisions", tag = "plans", params(("plan" = String, Path)), request_body = AdoptRevision,
    responses((status = 201, body = metroplan_api::CommandOutcome)))]
async fn adopt_revision(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(plan): Path<String>,
    Body(body): Body<AdoptRevision>,
) -> Answer {
    send(
        &s,
        auth,
        &headers,
        plan_cmd(PlanCommand::AdoptRevision { plan, body }),
        true,
    )
    .await
}
