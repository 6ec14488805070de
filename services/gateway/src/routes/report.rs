//! The monitoring report of a plan for a period, as HTML, PDF or JSON, and the exports
//! of its actions and indicators (CSV, XLSX) and of its open data (the national PNRR
//! or cohesion project columns). The projector assembles the report's data
//! ([`metroplan_projector::Query::Report`]); [`metroplan_report`] renders it here.
//!
//! Who reads: every token holder (viewer and up), as for the plan itself: a report
//! shows work in progress that is not adopted, so it is not public. A browser may open
//! a report link with `?access_token=` (RFC 6750 §2.3), as it may the websocket.
//!
//! The period: `from` and `to` (`YYYY-MM-DD`, inclusive), by default the plan's own
//! period; an unreadable date is 400 naming it, `from` after `to` is 422. `at`,
//! `as_of` and `min_position` read the plan as it stood at a point, as everywhere.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use metroplan_api::ApiError;
use metroplan_projector::Query;
use metroplan_report::{OpenDataFormat, Period, Report, ReportError};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Consistency, found, found_at, query_field};
use crate::extract::Auth;
use crate::{AppState, HttpError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(export))
}

type Answer = Result<Response, HttpError>;

/// Which report, how fresh, and in what form.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// The period's first day, `YYYY-MM-DD` (default: the plan's first day).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// The period's last day, `YYYY-MM-DD`, not before `from` (default: the plan's last day).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// The report: `html` (default), `pdf` or `json`. The open-data export: `pnrr`
    /// (default, Italia Domani's columns) or `opencoesione`.
    pub format: Option<String>,
    /// Wait until the read models reached this global position.
    pub min_position: Option<u64>,
    /// Report on the plan as it stood at this global position.
    pub at: Option<u64>,
    /// Report on the plan as it stood at this moment (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub as_of: Option<String>,
    /// The bearer token, for a link opened in a browser (RFC 6750 §2.3).
    #[allow(dead_code, reason = "the Auth extractor reads it")]
    pub access_token: Option<String>,
}

const PARAMS: &[&str] = &[
    "from",
    "to",
    "format",
    "min_position",
    "at",
    "as_of",
    "access_token",
];

/// The report of `plan` that `uri` asks for, with the parsed parameters.
async fn assemble(
    state: &AppState,
    plan: &str,
    uri: &Uri,
) -> Result<(Report, ReportParams), HttpError> {
    let params: ReportParams = axum::extract::Query::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| HttpError::BadQuery {
            field: query_field(&e.body_text(), PARAMS),
            message: e.body_text(),
        })?;
    let from = day(params.from.as_deref(), "from")?;
    let to = day(params.to.as_deref(), "to")?;
    // The read point, checked as every read checks it.
    let mut consistency = Vec::new();
    if let Some(p) = params.min_position {
        consistency.push(format!("min_position={p}"));
    }
    if let Some(p) = params.at {
        consistency.push(format!("at={p}"));
    }
    if let Some(t) = &params.as_of {
        consistency.push(format!("as_of={}", encode(t)));
    }
    let scoped: Uri = format!("/?{}", consistency.join("&"))
        .parse()
        .map_err(ApiError::internal)?;
    let (mut parts, ()) = axum::http::Request::builder()
        .uri(scoped)
        .body(())
        .map_err(ApiError::internal)?
        .into_parts();
    let read = Consistency::from_request_parts(&mut parts, state).await?;
    let period = match (from, to) {
        (Some(from), Some(to)) => Period::new(from, to),
        (from, to) => {
            let plans = found_at(state, &read, Query::Plans, String::new).await?;
            let p = plans
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["code"] == plan)
                .ok_or_else(|| ApiError::not_found(format!("plan {plan}")))?;
            let own = |name: &str| {
                p[format!("period_{name}")]
                    .as_str()
                    .and_then(|d| d.parse::<NaiveDate>().ok())
                    .ok_or_else(|| {
                        ApiError::validation(
                            name,
                            format!("the plan states no period; give `{name}`"),
                        )
                    })
            };
            let from = match from {
                Some(d) => d,
                None => own("from")?,
            };
            let to = match to {
                Some(d) => d,
                None => own("to")?,
            };
            Period::new(from, to)
        }
    }
    .map_err(|e| ApiError::validation("to", e.to_string()))?;
    let query = Query::Report {
        plan: plan.to_owned(),
        period,
    };
    let value = found(state, read.scope(query), || format!("plan {plan}")).await?;
    let report: Report = serde_json::from_value(value).map_err(ApiError::internal)?;
    Ok((report, params))
}

fn day(raw: Option<&str>, name: &str) -> Result<Option<NaiveDate>, HttpError> {
    raw.map(|d| {
        d.parse::<NaiveDate>().map_err(|e| HttpError::BadQuery {
            field: name.to_owned(),
            message: format!("{d:?} is not a date like 2022-12-31: {e}"),
        })
    })
    .transpose()
}

/// Percent-encodes what a query value must not hold raw (`+` of a time zone, `&`, ...).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A file name made of the plan's code and the period, safe in a header.
fn file_name(report: &Report, what: &str, extension: &str) -> String {
    let plan: String = report
        .plan
        .code
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{plan}-{what}-{}-{}.{extension}",
        report.period.from(),
        report.period.to()
    )
}

fn file(body: Vec<u8>, content_type: &'static str, disposition: &str, name: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

fn rendered(r: Result<Vec<u8>, ReportError>) -> Result<Vec<u8>, HttpError> {
    r.map_err(|e| ApiError::internal(e).into())
}

/// The monitoring report: indicators with their trends, action status per axis,
/// effects on planning instruments, questionnaire results and funding, for a period.
#[utoipa::path(get, path = "/api/v1/plans/{plan}/report", tag = "reports",
    params(("plan" = String, Path), ReportParams),
    responses(
        (status = 200, description = "`format=html` (default): a standalone printable page; `format=pdf`: a PDF document with its charts; `format=json`: the report's data",
            content(("text/html"), ("application/pdf"), (Report = "application/json"))),
        (status = 400, description = "An unreadable parameter, named in `field`"),
        (status = 404, description = "No such plan"),
        (status = 422, description = "`from` after `to`")))]
async fn report(State(s): State<AppState>, _a: Auth, Path(plan): Path<String>, uri: Uri) -> Answer {
    let (report, params) = assemble(&s, &plan, &uri).await?;
    match params.format.as_deref().unwrap_or("html") {
        "html" => Ok(file(
            metroplan_report::render_html(&report).into_bytes(),
            "text/html; charset=utf-8",
            "inline",
            &file_name(&report, "report", "html"),
        )),
        "pdf" => Ok(file(
            metroplan_report::render_pdf(&report),
            "application/pdf",
            "inline",
            &file_name(&report, "report", "pdf"),
        )),
        "json" => Ok(axum::Json(report).into_response()),
        other => Err(HttpError::BadQuery {
            field: "format".into(),
            message: format!("{other:?} is not a report format: html, pdf or json"),
        }),
    }
}

/// An export of the report's data: `actions.csv`, `actions.xlsx`, `indicators.csv`,
/// `indicators.xlsx`, or `open-data.csv` (one row per action in the columns of
/// Italia Domani's PNRR projects, or with `format=opencoesione` of OpenCoesione's).
#[utoipa::path(get, path = "/api/v1/plans/{plan}/exports/{file}", tag = "reports",
    params(("plan" = String, Path),
        ("file" = String, Path, description = "`actions.csv`, `actions.xlsx`, `indicators.csv`, `indicators.xlsx` or `open-data.csv`"),
        ReportParams),
    responses(
        (status = 200, description = "An attachment: RFC 4180 CSV (UTF-8, a header row, amounts in euro like `1234.56`) or an XLSX workbook",
            content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "An unreadable parameter, named in `field`"),
        (status = 404, description = "No such plan or export"),
        (status = 422, description = "`from` after `to`")))]
async fn export(
    State(s): State<AppState>,
    _a: Auth,
    Path((plan, name)): Path<(String, String)>,
    uri: Uri,
) -> Answer {
    const CSV: &str = "text/csv; charset=utf-8";
    const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let known = [
        "actions.csv",
        "actions.xlsx",
        "indicators.csv",
        "indicators.xlsx",
        "open-data.csv",
    ];
    if !known.contains(&name.as_str()) {
        return Err(
            ApiError::not_found(format!("export {name} (there are {})", known.join(", "))).into(),
        );
    }
    let (report, params) = assemble(&s, &plan, &uri).await?;
    if name != "open-data.csv" && params.format.is_some() {
        return Err(HttpError::BadQuery {
            field: "format".into(),
            message: "only open-data.csv has formats (pnrr or opencoesione)".into(),
        });
    }
    let (body, kind, what, extension) = match name.as_str() {
        "actions.csv" => (
            rendered(metroplan_report::actions_csv(&report))?,
            CSV,
            "actions",
            "csv",
        ),
        "actions.xlsx" => (
            rendered(metroplan_report::actions_xlsx(&report))?,
            XLSX,
            "actions",
            "xlsx",
        ),
        "indicators.csv" => (
            rendered(metroplan_report::indicators_csv(&report))?,
            CSV,
            "indicators",
            "csv",
        ),
        "indicators.xlsx" => (
            rendered(metroplan_report::indicators_xlsx(&report))?,
            XLSX,
            "indicators",
            "xlsx",
        ),
        _ => {
            let format: OpenDataFormat = params
                .format
                .as_deref()
                .unwrap_or("pnrr")
                .parse()
                .map_err(|message| HttpError::BadQuery {
                    field: "format".into(),
                    message,
                })?;
            let what = format!("open-data-{}", format.as_str());
            let body = rendered(metroplan_report::open_data_csv(&report, format))?;
            return Ok(file(
                body,
                CSV,
                "attachment",
                &file_name(&report, &what, "csv"),
            ));
        }
    };
    Ok(file(
        body,
        kind,
        "attachment",
        &file_name(&report, what, extension),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_with_a_time_zone_survives_the_query_string() {
        assert_eq!(
            encode("2022-12-31T23:00:00+01:00"),
            "2022-12-31T23:00:00%2B01:00"
        );
        assert!(day(Some("2022-02-30"), "from").is_err());
        assert_eq!(
            day(Some("2022-02-28"), "to").unwrap(),
            NaiveDate::from_ymd_opt(2022, 2, 28)
        );
    }
}
