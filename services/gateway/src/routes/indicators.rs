//! Context indicators: definitions (defined, edited with `If-Match` like an action,
//! retired), measurements, corrections and the CSV import, and the read side with each indicator's trend and on-track classification (whose rule
//! version every answer carries).

use axum::extract::{FromRequest, Path, Query as UriQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use bytes::Bytes;
use metroplan_api::indicators::*;
use metroplan_api::monitoring::MonitoringCommand;
use metroplan_bus::Command;
use metroplan_projector::Query;
use metroplan_projector::views::*;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Consistency, found_at, if_match, json, json_etag, query_field, send};
use crate::extract::{Auth, Body};
use crate::{AppState, HttpError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_indicators, define_indicator))
        .routes(routes!(get_indicator, edit_indicator))
        .routes(routes!(retire_indicator))
        .routes(routes!(record_measurement))
        .routes(routes!(correct_measurement))
        .routes(routes!(import_measurements))
}

type Answer = Result<Response, HttpError>;

fn cmd(c: MonitoringCommand) -> Command {
    Command::Monitoring(c)
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/indicators", tag = "indicators",
    params(("plan" = String, Path), Consistency),
    responses((status = 200, body = PlanIndicators,
        description = "Every indicator per strategy, with its latest value of its own territory, trend, on-track and the rule version"),
        (status = 404)))]
async fn list_indicators(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path(plan): Path<String>,
) -> Answer {
    let list = found_at(&s, &c, Query::Indicators { plan: plan.clone() }, || {
        format!("plan {plan}")
    })
    .await?;
    Ok(json(list))
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/indicators", tag = "indicators",
    params(("plan" = String, Path)), request_body = DefineIndicator,
    responses((status = 201, body = metroplan_api::CommandOutcome, description = "Editors and admins")))]
async fn define_indicator(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path(plan): Path<String>,
    Body(body): Body<DefineIndicator>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(MonitoringCommand::DefineIndicator { plan, body }),
        true,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/indicators/{indicator}", tag = "indicators",
    params(("plan" = String, Path), ("indicator" = String, Path), Consistency),
    responses((status = 200, body = IndicatorView,
        description = "The definition, the classification with its rule version, and every measurement with its original and current value and its corrections; `ETag` is the indicator stream's version"),
        (status = 404)))]
async fn get_indicator(
    State(s): State<AppState>,
    _a: Auth,
    c: Consistency,
    Path((plan, indicator)): Path<(String, String)>,
) -> Answer {
    let view = found_at(
        &s,
        &c,
        Query::Indicator {
            plan: plan.clone(),
            indicator: indicator.clone(),
        },
        || format!("indicator {indicator} of plan {plan}"),
    )
    .await?;
    Ok(json_etag(view))
}

/// Edits an indicator's definition (not its strategy or code). `If-Match` carries the
/// `ETag` the editor saw: a stale edit whose fields were not changed since is merged
/// (`merged: true`); an overlapping one is a 409 showing `base`, `theirs` and `yours`.
/// An edit that changes nothing is 422 on `body`.
#[utoipa::path(patch, path = "/api/v1/plans/{plan}/indicators/{indicator}", tag = "indicators",
    params(("plan" = String, Path), ("indicator" = String, Path),
        ("If-Match" = String, Header, description = "ETag of the version the edit is based on")),
    request_body = EditIndicator,
    responses((status = 200, body = metroplan_api::CommandOutcome, description = "Editors and admins"),
        (status = 409, description = "Edit conflict, or the indicator is retired"),
        (status = 412, description = "If-Match names a version the indicator never had"),
        (status = 422, description = "A field breaks a rule of a definition, or the edit changes nothing"),
        (status = 428, description = "If-Match missing")))]
async fn edit_indicator(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path((plan, indicator)): Path<(String, String)>,
    Body(body): Body<EditIndicator>,
) -> Answer {
    let base_version = if_match(&h)?;
    send(
        &s,
        a,
        &h,
        cmd(MonitoringCommand::EditIndicator {
            plan,
            indicator,
            base_version,
            body,
        }),
        false,
    )
    .await
}

/// Retires an indicator: it keeps its definition and series and still reads, with
/// `retired` and the reason, and takes no more measurements, corrections, edits or
/// imports.
#[utoipa::path(post, path = "/api/v1/plans/{plan}/indicators/{indicator}/retire", tag = "indicators",
    params(("plan" = String, Path), ("indicator" = String, Path)), request_body = RetireIndicator,
    responses((status = 200, body = metroplan_api::CommandOutcome, description = "Editors and admins"),
        (status = 409, description = "Already retired")))]
async fn retire_indicator(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path((plan, indicator)): Path<(String, String)>,
    Body(body): Body<RetireIndicator>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(MonitoringCommand::RetireIndicator {
            plan,
            indicator,
            body,
        }),
        false,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/indicators/{indicator}/measurements", tag = "indicators",
    params(("plan" = String, Path), ("indicator" = String, Path)), request_body = RecordMeasurement,
    responses((status = 201, body = metroplan_api::CommandOutcome, description = "Reporters, editors and admins"),
        (status = 409, description = "A measurement of that period and territory exists: correct it instead")))]
async fn record_measurement(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path((plan, indicator)): Path<(String, String)>,
    Body(body): Body<RecordMeasurement>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(MonitoringCommand::RecordMeasurement {
            plan,
            indicator,
            body,
        }),
        true,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/plans/{plan}/indicators/{indicator}/measurements/{measurement}/corrections", tag = "indicators",
    params(("plan" = String, Path), ("indicator" = String, Path),
        ("measurement" = u32, Path, description = "The measurement's number in its indicator (`measurement` in the series)")),
    request_body = CorrectMeasurement,
    responses((status = 201, body = metroplan_api::CommandOutcome,
        description = "The original value stays; the read model shows both and the reason")))]
async fn correct_measurement(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path((plan, indicator, measurement)): Path<(String, String, String)>,
    Body(body): Body<CorrectMeasurement>,
) -> Answer {
    send(
        &s,
        a,
        &h,
        cmd(MonitoringCommand::CorrectMeasurement {
            plan,
            indicator,
            measurement,
            body,
        }),
        true,
    )
    .await
}

/// Options of an import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ImportOptions {
    /// Check the file and say what would be stored, storing nothing.
    #[serde(default)]
    dry_run: bool,
}

/// Imports measurements from a CSV file (`text/csv`, UTF-8): a header naming the
/// columns `indicator`, `period`, `territory`, `value` and optionally `source_note`;
/// `;` as separator when the header has one (then numbers are Italian: `1.234,5`),
/// `,` otherwise (numbers `1234.5`). Every row is checked; any bad row answers 422
/// with every bad row's line and reason, and nothing is stored. A valid file is stored
/// unless `dry_run=true`: each indicator's rows in one append.
#[utoipa::path(post, path = "/api/v1/plans/{plan}/indicators/measurements/import", tag = "indicators",
    params(("plan" = String, Path), ImportOptions),
    request_body(content = String, content_type = "text/csv",
        example = "indicator;period;territory;value;source_note\nIC-2.1-01;2022;Città metropolitana di Torino;1.302,25;Esempio, non ufficiale"),
    responses((status = 200, body = metroplan_api::CommandOutcome, description = "`import` says what was (or on a dry run would be) stored per indicator"),
        (status = 422, description = "`rows`: every bad row with its `line`, `column` and `reason`; nothing stored")))]
async fn import_measurements(
    State(s): State<AppState>,
    a: Auth,
    h: HeaderMap,
    Path(plan): Path<String>,
    uri: Uri,
    request: Request,
) -> Answer {
    let UriQuery(options) =
        UriQuery::<ImportOptions>::try_from_uri(&uri).map_err(|e| HttpError::BadQuery {
            field: query_field(&e.body_text(), &["dry_run"]),
            message: e.body_text(),
        })?;
    let bytes = Bytes::from_request(request, &s)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                HttpError::BodyTooLarge
            } else {
                HttpError::MalformedBody {
                    field: String::new(),
                    message: rejection.body_text(),
                }
            }
        })?;
    let csv = String::from_utf8(bytes.to_vec()).map_err(|e| HttpError::MalformedBody {
        field: String::new(),
        message: format!("the file is not UTF-8 text: {e}"),
    })?;
    send(
        &s,
        a,
        &h,
        cmd(MonitoringCommand::ImportMeasurements {
            plan,
            csv,
            dry_run: options.dry_run,
        }),
        false,
    )
    .await
}
