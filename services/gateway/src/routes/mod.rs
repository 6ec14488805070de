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

mod audit;
mod audit_proofs;
mod campaigns;
mod funding;
pub use campaigns::loggable_path;
mod indicators;
mod partnership;
mod plans;
mod report;
mod system;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(system::router())
        .merge(plans::router())
        .merge(partnership::router())
        .merge(indicators::router())
        .merge(funding::router())
        .merge(campaigns::router())
        .merge(audit::router())
        .merge(audit_proofs::router())
        .merge(report::router())
}

/// How fresh, or how old, a read is.
///
/// Read-your-writes: `?min_position=N` waits (at most 5 s) until the read models
/// include global position N, the `position` a command answered.
///
/// Time travel: `?at=N` answers as the read models stood at global position N, and
/// `?as_of=T` (RFC 3339) as they stood at moment T, after every event recorded at or
/// before it. Status, progress and histories are those of that point.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Consistency {
    /// Wait until the read models reached this global position.
    pub min_position: Option<u64>,
    /// Answer as the plan stood at this global position (not past the log's head).
    pub at: Option<u64>,
    /// Answer as the plan stood at this moment (RFC 3339, not in the future).
    #[param(value_type = Option<String>, format = DateTime)]
    pub as_of: Option<String>,
    #[serde(skip)]
    #[param(ignore)]
    moment: Option<chrono::DateTime<chrono::Utc>>,
}

impl Consistency {
    /// `query` as this read asks it: at a past point, or now.
    pub fn scope(&self, query: metroplan_projector::Query) -> metroplan_projector::Query {
        use metroplan_projector::Query;
        match (self.at, self.moment) {
            (Some(at), _) => Query::At {
                at,
                of: Box::new(query),
            },
            (None, Some(as_of)) => Query::AsOf {
                as_of,
                of: Box::new(query),
            },
            (None, None) => query,
        }
    }
}

impl FromRequestParts<AppState> for Consistency {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Query(mut c) =
            Query::<Consistency>::try_from_uri(&parts.uri).map_err(|e| HttpError::BadQuery {
                field: query_field(&e.body_text(), &["min_position", "at", "as_of"]),
                message: e.body_text(),
            })?;
        if c.at.is_some() && c.as_of.is_some() {
            return Err(HttpError::BadQuery {
                field: "as_of".into(),
                message: "give `at` or `as_of`, not both".into(),
            });
        }
        if let Some(raw) = &c.as_of {
            let t = chrono::DateTime::parse_from_rfc3339(raw)
                .map_err(|e| HttpError::BadQuery {
                    field: "as_of".into(),
                    message: format!("{raw:?} is not an RFC 3339 date-time: {e}"),
                })?
                .with_timezone(&chrono::Utc);
            if t > chrono::Utc::now() {
                return Err(ApiError::validation(
                    "as_of",
                    format!("{raw} is in the future: the plan's history ends now"),
                )
                .into());
            }
            c.moment = Some(t);
        }
        let mut wait = c.min_position;
        if let Some(at) = c.at {
            let head = state
                .store
                .head_position()
                .await
                .map_err(ApiError::internal)?;
            if at > head {
                return Err(ApiError::validation(
                    "at",
                    format!("position {at} is past the log's head ({head})"),
                )
                .into());
            }
            wait = wait.max(Some(at));
        }
        if let Some(p) = wait
            && !state.read.wait_for(p, MAX_CONSISTENCY_WAIT).await
        {
            return Err(HttpError::NotYetProjected(p));
        }
        Ok(c)
    }
}

/// The query parameter a rejection names: serde's path (`after: invalid digit`), the
/// unknown field, or else the first of `names` its message mentions.
pub fn query_field(message: &str, names: &[&str]) -> String {
    let detail = message
        .split_once("query string: ")
        .map_or(message, |(_, rest)| rest);
    if let Some(field) = detail
        .split_once(": ")
        .map(|(f, _)| f)
        .filter(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return field.to_owned();
    }
    if let Some(unknown) = detail
        .split_once("unknown field `")
        .and_then(|(_, rest)| rest.split('`').next())
    {
        return unknown.to_owned();
    }
    names
        .iter()
        .find(|n| detail.contains(*n))
        .or(names.first())
        .map_or_else(String::new, |n| (*n).to_owned())
}

/// Sends `command` as the caller, answering the outcome with its `ETag`.
pub async fn send(
    state: &AppState,
    auth: Auth,
    headers: &HeaderMap,
    command: Command,
    created: bool,
) -> Result<Response, HttpError> {
    let outcome = dispatch(state, auth, headers, command).await?;
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

/// Sends `command` as the caller (the role check, the context with the `X-Reason`)
/// and returns its outcome.
pub async fn dispatch(
    state: &AppState,
    Auth(caller): Auth,
    headers: &HeaderMap,
    command: Command,
) -> Result<CommandOutcome, HttpError> {
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
    Ok(state.bus.dispatch(ctx, command).await?)
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

/// Asks the read side at the point `read` names (now, `at` or `as_of`).
///
/// # Errors
/// As [`found`].
pub async fn found_at(
    state: &AppState,
    read: &Consistency,
    query: metroplan_projector::Query,
    what: impl FnOnce() -> String,
) -> Result<Value, HttpError> {
    found(state, read.scope(query), what).await
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
