//! Monitoring level 2 and funding, read side: the plan's effects on its planning
//! instruments (PTGM, PUMS, DUP, ...) and its funding roll-up with agreements'
//! commitments counted once. Both are derived from the actions' `instrument_links` and
//! `funding_lines`, changed through `PATCH /plans/{plan}/actions/{action}` like any
//! field; every read takes `min_position`, `at` and `as_of`.

use axum::extract::{Path, State};
use axum::response::Response;
use metroplan_projector::Query;
use metroplan_projector::views::*;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Consistency, found_at, json};
use crate::extract::Auth;
use crate::{AppState, HttpError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_instruments))
        .routes(routes!(get_instrument))
        .routes(routes!(get_funding))
}

type Answer = Result<Response, HttpError>;

#[utoipa::path(get, path = "/api/v1/plans/{plan}/instruments", tag = "effects and funding",
    params(("plan" = String, Path), Consistency),
    responses((status = 200, body = PlanInstruments,
        description = "PTGM, PUMS and DUP, then every other linked instrument: sections with the linked actions, their effect and its state, counts by state; for the DUP, the objectives the actions became"),
        (status = 404)))]
async fn list_instruments(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path(plan): Path<String>,
) -> Answer {
    let view = found_at(&s, &c, Query::Instruments { plan: plan.clone() }, || {
        format!("plan {plan}")
    })
    .await?;
    Ok(json(view))
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/instruments/{instrument}", tag = "effects and funding",
    params(("plan" = String, Path),
        ("instrument" = String, Path, description = "`PTGM`, `PUMS`, `DUP` or another linked instrument's code, in any case"),
        Consistency),
    responses((status = 200, body = InstrumentView,
        description = "One instrument's sections, linked actions, effects and states, and for the DUP its objectives with the actions that became them"),
        (status = 404, description = "No such plan, or an instrument it does not name that no live action links")))]
async fn get_instrument(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path((plan, instrument)): Path<(String, String)>,
) -> Answer {
    let view = found_at(
        &s,
        &c,
        Query::Instrument {
            plan: plan.clone(),
            instrument: instrument.clone(),
        },
        || format!("instrument {instrument} of plan {plan}"),
    )
    .await?;
    Ok(json(view))
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/funding", tag = "effects and funding",
    params(("plan" = String, Path), Consistency),
    responses((status = 200, body = PlanFunding,
        description = "Planned, committed and spent euro cents: the total, per axis, per strategy, per source, per PNRR mission and per EU fund, each action's lines, and how each agreement's commitment is counted (rule `counted-once-v1`: strategies + unattributed = total)"),
        (status = 404)))]
async fn get_funding(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path(plan): Path<String>,
) -> Answer {
    let view = found_at(&s, &c, Query::Funding { plan: plan.clone() }, || {
        format!("plan {plan}")
    })
    .await?;
    Ok(json(view))
}
