//! What auditors and the public read: the audit trail of events (filtered, paged,
//! exported as JSON Lines and CSV), the read models in one document (to compare with a
//! replay), diffs of a plan between two points, and the public feed of adopted
//! revisions with each revision's plan.
//!
//! The audit trail and the read-model document need the `auditor` (or `admin`) role:
//! auditors read everything and write nothing (the command bus refuses them every
//! command). Diffs are for every reader. The feed and adopted revisions are public.

use axum::body::Body as HttpBody;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use metroplan_api::{ApiError, Caller, Role};
use metroplan_projector::Query;
use metroplan_projector::audit::{AuditEntry, AuditFilter, AuditPage, MAX_PAGE};
use metroplan_projector::diff::PlanDiff;
use metroplan_projector::query::Point;
use metroplan_projector::views::{AdoptedRevision, PlanTree, ReadModelsDump};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Consistency, found, found_at, json, query_field};
use crate::extract::Auth;
use crate::{AppState, HttpError, MAX_CONSISTENCY_WAIT};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit_events))
        .routes(routes!(export_jsonl))
        .routes(routes!(export_csv))
        .routes(routes!(read_models))
        .routes(routes!(plan_diff))
        .routes(routes!(revisions_feed))
        .routes(routes!(public_revision))
}

type Answer = Result<Response, HttpError>;

/// Refuses every role but `auditor` and `admin`.
fn auditor(caller: &Caller, what: &str) -> Result<(), HttpError> {
    if matches!(caller.role, Role::Auditor | Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            role: caller.role.as_str().into(),
            action: what.into(),
        }
        .into())
    }
}

/// Parses query parameters, naming the one at fault.
fn params<T: serde::de::DeserializeOwned>(
    uri: &axum::http::Uri,
    names: &[&str],
) -> Result<T, HttpError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| HttpError::BadQuery {
            field: query_field(&e.body_text(), names),
            message: e.body_text(),
        })
}

/// Which events of the log to read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TrailParams {
    /// A stream id (`action:PSM-2021-2023/1.1.1`), or a prefix ending in `:` or `/`.
    pub stream: Option<String>,
    /// Who issued the command.
    pub actor: Option<String>,
    /// The organisation or table the actor acted for.
    pub organisation: Option<String>,
    /// The event type (`ActionProgressReported`).
    pub event_type: Option<String>,
    /// Recorded at or after (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Recorded at or before (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// Only events after this global position (the `next_after` of the previous page).
    pub after: Option<u64>,
    /// Events per page, 1 to 500 (default 100).
    pub limit: Option<usize>,
    /// Wait (at most 5 s) until the trail includes this global position.
    pub min_position: Option<u64>,
}

const TRAIL_PARAMS: &[&str] = &[
    "stream",
    "actor",
    "organisation",
    "event_type",
    "from",
    "to",
    "after",
    "limit",
    "min_position",
];

impl TrailParams {
    /// Waits for `min_position`, then checks the filter.
    async fn read(self, state: &AppState) -> Result<AuditFilter, HttpError> {
        if let Some(p) = self.min_position
            && !state.read.wait_for(p, MAX_CONSISTENCY_WAIT).await
        {
            return Err(HttpError::NotYetProjected(p));
        }
        self.filter()
    }

    fn filter(self) -> Result<AuditFilter, HttpError> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::validation(
                "limit",
                format!("{limit} is not between 1 and {MAX_PAGE}"),
            )
            .into());
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(ApiError::validation("to", "`to` is before `from`").into());
        }
        Ok(AuditFilter {
            stream: self.stream.filter(|s| !s.is_empty()),
            actor: self.actor.filter(|s| !s.is_empty()),
            organisation: self.organisation.filter(|s| !s.is_empty()),
            event_type: self.event_type.filter(|s| !s.is_empty()),
            from: self.from,
            to: self.to,
            after: self.after.unwrap_or(0),
            limit,
        })
    }
}

async fn trail_page(state: &AppState, filter: AuditFilter) -> Result<AuditPage, HttpError> {
    let page = found(state, Query::AuditEvents { filter }, String::new).await?;
    serde_json::from_value(page).map_err(|e| ApiError::internal(e).into())
}

#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit", params(TrailParams),
    responses((status = 200, body = AuditPage), (status = 403)))]
async fn audit_events(
    State(s): State<AppState>,
    Auth(caller): Auth,
    uri: axum::http::Uri,
) -> Answer {
    auditor(&caller, "read the audit trail")?;
    let filter = params::<TrailParams>(&uri, TRAIL_PARAMS)?.read(&s).await?;
    Ok(axum::Json(trail_page(&s, filter).await?).into_response())
}

/// Every matching event, page after page, as a streamed body of `render`ed chunks.
fn export(
    state: AppState,
    mut filter: AuditFilter,
    head: Option<Vec<u8>>,
    render: fn(&[AuditEntry]) -> Vec<u8>,
) -> HttpBody {
    filter.limit = MAX_PAGE;
    let pages = futures::stream::unfold((Some(filter), head), move |(next, head)| {
        let state = state.clone();
        async move {
            if let Some(head) = head {
                return Some((Ok::<_, std::io::Error>(head), (next, None)));
            }
            let filter = next?;
            match trail_page(&state, filter.clone()).await {
                Ok(page) => {
                    let chunk = render(&page.events);
                    let next = page.next_after.map(|after| AuditFilter { after, ..filter });
                    Some((Ok(chunk), (next, None)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit export stopped");
                    Some((Err(std::io::Error::other(e.to_string())), (None, None)))
                }
            }
        }
    });
    HttpBody::from_stream(pages)
}

fn attachment(body: HttpBody, content_type: &'static str, name: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

#[utoipa::path(get, path = "/api/v1/audit/events.jsonl", tag = "audit", params(TrailParams),
    responses((status = 200, description = "one AuditEntry per line (JSON Lines)", content_type = "application/jsonl"), (status = 403)))]
async fn export_jsonl(
    State(s): State<AppState>,
    Auth(caller): Auth,
    uri: axum::http::Uri,
) -> Answer {
    auditor(&caller, "export the audit trail")?;
    let filter = params::<TrailParams>(&uri, TRAIL_PARAMS)?.read(&s).await?;
    let body = export(s, filter, None, |events| {
        let mut out = Vec::new();
        for e in events {
            if serde_json::to_writer(&mut out, e).is_ok() {
                out.push(b'\n');
            }
        }
        out
    });
    Ok(attachment(
        body,
        "application/jsonl",
        "metroplan-audit.jsonl",
    ))
}

/// The CSV columns, in order; `payload` holds the payload's JSON.
pub const CSV_COLUMNS: [&str; 14] = [
    "position",
    "event_id",
    "stream",
    "stream_version",
    "event_type",
    "schema_version",
    "recorded_at",
    "actor",
    "on_behalf_of",
    "reason",
    "correlation_id",
    "causation_id",
    "hash",
    "payload",
];

fn csv_rows(events: &[AuditEntry], header: bool) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut write = || -> Result<(), csv::Error> {
        if header {
            w.write_record(CSV_COLUMNS)?;
        }
        for e in events {
            w.write_record([
                e.position.to_string(),
                e.event_id.clone(),
                e.stream.clone(),
                e.stream_version.to_string(),
                e.event_type.clone(),
                e.schema_version.to_string(),
                e.recorded_at.clone(),
                e.actor.clone(),
                e.on_behalf_of.clone(),
                e.reason.clone().unwrap_or_default(),
                e.correlation_id.clone().unwrap_or_default(),
                e.causation_id.clone().unwrap_or_default(),
                e.hash.clone(),
                e.payload.to_string(),
            ])?;
        }
        Ok(())
    };
    if let Err(e) = write() {
        tracing::error!(error = %e, "csv export row");
    }
    w.into_inner().unwrap_or_default()
}

#[utoipa::path(get, path = "/api/v1/audit/events.csv", tag = "audit", params(TrailParams),
    responses((status = 200, description = "RFC 4180 CSV with a header row; `payload` is JSON", content_type = "text/csv"), (status = 403)))]
async fn export_csv(State(s): State<AppState>, Auth(caller): Auth, uri: axum::http::Uri) -> Answer {
    auditor(&caller, "export the audit trail")?;
    let filter = params::<TrailParams>(&uri, TRAIL_PARAMS)?.read(&s).await?;
    let body = export(s, filter, Some(csv_rows(&[], true)), |events| {
        csv_rows(events, false)
    });
    Ok(attachment(
        body,
        "text/csv; charset=utf-8",
        "metroplan-audit.csv",
    ))
}

#[utoipa::path(get, path = "/api/v1/audit/read-models", tag = "audit", params(Consistency),
    responses((status = 200, body = ReadModelsDump), (status = 403)))]
async fn read_models(State(s): State<AppState>, Auth(caller): Auth, c: Consistency) -> Answer {
    auditor(&caller, "read the read models whole")?;
    Ok(json(found_at(&s, &c, Query::Dump, String::new).await?))
}

/// The two ends of a diff: each is a revision, a position or a moment (one of the
/// three); a missing `to` means now.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    /// From the plan as its revision N was adopted.
    pub from_revision: Option<u32>,
    /// From the plan at global position N.
    pub from_at: Option<u64>,
    /// From the plan at this moment (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from_as_of: Option<DateTime<Utc>>,
    /// To the plan as its revision N was adopted.
    pub to_revision: Option<u32>,
    /// To the plan at global position N.
    pub to_at: Option<u64>,
    /// To the plan at this moment (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to_as_of: Option<DateTime<Utc>>,
}

const DIFF_PARAMS: &[&str] = &[
    "from_revision",
    "from_at",
    "from_as_of",
    "to_revision",
    "to_at",
    "to_as_of",
];

fn point(
    side: &str,
    revision: Option<u32>,
    at: Option<u64>,
    as_of: Option<DateTime<Utc>>,
) -> Result<Option<Point>, HttpError> {
    match (revision, at, as_of) {
        (None, None, None) => Ok(None),
        (Some(n), None, None) => Ok(Some(Point::Revision(n))),
        (None, Some(p), None) => Ok(Some(Point::At(p))),
        (None, None, Some(t)) => Ok(Some(Point::AsOf(t))),
        _ => Err(ApiError::validation(
            format!("{side}_revision"),
            format!("give one of {side}_revision, {side}_at and {side}_as_of"),
        )
        .into()),
    }
}

#[utoipa::path(get, path = "/api/v1/plans/{plan}/diff", tag = "plans",
    params(("plan" = String, Path), DiffParams),
    responses((status = 200, body = PlanDiff), (status = 404), (status = 422)))]
async fn plan_diff(
    State(s): State<AppState>,
    _auth: Auth,
    Path(plan): Path<String>,
    uri: axum::http::Uri,
) -> Answer {
    let p = params::<DiffParams>(&uri, DIFF_PARAMS)?;
    let from = point("from", p.from_revision, p.from_at, p.from_as_of)?.ok_or_else(|| {
        HttpError::from(ApiError::validation(
            "from_revision",
            "say where the diff starts: from_revision, from_at or from_as_of",
        ))
    })?;
    let to = point("to", p.to_revision, p.to_at, p.to_as_of)?.unwrap_or(Point::Now);
    let revisions: Vec<String> = [&from, &to]
        .into_iter()
        .filter_map(|p| match p {
            Point::Revision(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    let what = || {
        if revisions.is_empty() {
            format!("plan {plan}")
        } else {
            format!("plan {plan} or its revision {}", revisions.join(" or "))
        }
    };
    let diff = found(
        &s,
        Query::Diff {
            plan: plan.clone(),
            from,
            to,
        },
        what,
    )
    .await?;
    Ok(json(diff))
}

/// A JSON Feed 1.1 document (<https://jsonfeed.org/version/1.1>).
#[derive(Debug, Serialize, ToSchema)]
pub struct JsonFeed {
    pub version: &'static str,
    pub title: String,
    pub description: String,
    pub items: Vec<FeedItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedItem {
    pub id: String,
    pub url: String,
    pub title: String,
    pub content_text: String,
    /// RFC 3339: the adoption date at midnight UTC.
    pub date_published: String,
    #[serde(rename = "_metroplan")]
    pub revision: AdoptedRevision,
}

#[utoipa::path(get, path = "/feeds/revisions.json", tag = "public", security(()),
    responses((status = 200, body = JsonFeed, content_type = "application/feed+json")))]
async fn revisions_feed(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Answer {
    let all: Vec<AdoptedRevision> =
        serde_json::from_value(found(&s, Query::AdoptedRevisions, String::new).await?)
            .map_err(ApiError::internal)?;
    let base = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(String::new, |h| format!("http://{h}"));
    let items = all
        .into_iter()
        .map(|r| {
            let path = format!(
                "/api/v1/public/plans/{}/revisions/{}",
                r.plan, r.revision.number
            );
            FeedItem {
                id: format!("metroplan:{}:revision:{}", r.plan, r.revision.number),
                url: format!("{base}{path}"),
                title: format!(
                    "{}: revision {}, {}",
                    r.plan_title, r.revision.number, r.revision.name
                ),
                content_text: format!(
                    "Revision {} of {} ({}) adopted on {} by {}.",
                    r.revision.number, r.plan_title, r.plan, r.revision.adopted_on, r.revision.act
                ),
                date_published: format!("{}T00:00:00Z", r.revision.adopted_on),
                revision: r,
            }
        })
        .collect();
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: "metroplan: adopted plan revisions".into(),
        description: "Every revision of the plans, as adopted by its act".into(),
        items,
    };
    let mut response = axum::Json(feed).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/feed+json"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/public/plans/{plan}/revisions/{number}", tag = "public", security(()),
    params(("plan" = String, Path), ("number" = u32, Path)),
    responses((status = 200, body = PlanTree), (status = 404)))]
async fn public_revision(
    State(s): State<AppState>,
    Path((plan, number)): Path<(String, u32)>,
) -> Answer {
    let what = || format!("revision {number} of plan {plan}");
    let all: Vec<AdoptedRevision> =
        serde_json::from_value(found(&s, Query::AdoptedRevisions, String::new).await?)
            .map_err(ApiError::internal)?;
    let at = all
        .iter()
        .find(|r| r.plan == plan && r.revision.number == number)
        .map(|r| r.revision.at_position)
        .ok_or_else(|| HttpError::from(ApiError::not_found(what())))?;
    let tree = found(
        &s,
        Query::At {
            at,
            of: Box::new(Query::PlanTree { plan: plan.clone() }),
        },
        what,
    )
    .await?;
    Ok(json(tree))
}
