//! The JSON API. Each handler turns a request into a [`Command`] for the bus or a query
//! on the read models; [`send`] does what every command shares (the role check, the
//! context, the `ETag` of the answer).

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metroplan_api::{ApiError, CommandContext, CommandOutcome};
use metroplan_bus::Command;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use crate::extract::Auth;
use crate::{AppState, HttpError, MAX_CONSISTENCY_WAIT};

mod audit_proofs;
mod partnership;
mod plans;
mod system;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(system::router())
        .merge(plans::router())
        .merge(partnership::router())
        .merge(audit_proofs::router())
}

/// Read-your-writes: `?min_position=N` waits (at most 5 s) until the read models
/// include global position N, the `position` a command answered.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Consistency {
    /// Wait until the read models reached this global position.
    pub min_position: Option<u64>,
}

impl FromRequestParts<AppState> for Consistency {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Query(c) =
            Query::<Consistency>::try_from_uri(&parts.uri).map_err(|e| HttpError::BadQuery {
                field: "min_position".into(),
                message: e.body_text(),
            })?;
        if let Some(p) = c.min_position
            && !state.read.wait_for(p, MAX_CONSISTENCY_WAIT).await
        {
            return Err(HttpError::NotYetProjected(p));
        }
        Ok(c)
    }
}

/// Sends `command` as the caller, answering the outcome with its `ETag`.
pub async fn send(
    state: &AppState,
    Auth(caller): Auth,
    headers: &HeaderMap,
    command: Command,
    created: bool,
) -> Result<Response, HttpError> {
    if !command.permits(caller.role) {
        return Err(ApiError::Forbidden {
            role: caller.role.as_str().into(),
            action: command.describe().into(),
        }
        .into());
    }
    let reason = headers
        .get("x-reason")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        .filter(|r| !r.is_empty());
    let ctx = CommandContext {
        caller,
        reason,
        correlation_id: uuid::Uuid::now_v7(),
    };
    let outcome: CommandOutcome = state.bus.dispatch(ctx, command).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (status, axum::Json(&outcome)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", outcome.version)) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

/// Asks the read side; `what` names the resource in a 404.
///
/// # Errors
/// 404 when the answer is empty, 503 when the read side is unreachable.
pub async fn found(
    state: &AppState,
    query: metroplan_projector::Query,
    what: impl FnOnce() -> String,
) -> Result<Value, HttpError> {
    state
        .read
        .query(query)
        .await
        .map_err(|e| ApiError::Unavailable {
            message: e.to_string(),
        })?
        .ok_or_else(|| ApiError::not_found(what()).into())
}

/// A JSON answer.
pub fn json(value: Value) -> Response {
    axum::Json(value).into_response()
}

/// A JSON answer whose `ETag` is its `version` field.
pub fn json_etag(value: Value) -> Response {
    let version = value.get("version").and_then(Value::as_u64).unwrap_or(0);
    with_etag(&value, version)
}

/// A JSON answer with an `ETag` of `version`.
pub fn with_etag<T: serde::Serialize>(body: &T, version: u64) -> Response {
    let mut response = axum::Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// Parses `If-Match`: `"7"`, `W/"7"` or `7` give 7; `*` gives `None` (any version).
///
/// # Errors
/// [`HttpError::PreconditionRequired`] when absent, a validation error when unreadable.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, HttpError> {
    let raw = headers
        .get(header::IF_MATCH)
        .ok_or(HttpError::PreconditionRequired)?;
    let s = raw.to_str().unwrap_or("").trim();
    if s == "*" {
        return Ok(None);
    }
    s.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            ApiError::validation(
                "If-Match",
                format!("{s:?} is not an ETag this API issued (a quoted version number)"),
            )
            .into()
        })
}
