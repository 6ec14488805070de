//! The one place where errors become HTTP: every failure is an RFC 9457 problem
//! document (`application/problem+json`) with `type`, `title`, `status`, `detail` and,
//! where one field is at fault, `field`. 5xx details are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metroplan_api::ApiError;
use serde_json::{Value, json};

/// The largest request body the API accepts.
pub const BODY_LIMIT: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The body is not JSON of the expected shape (wrong type, unknown field, syntax).
    #[error("malformed body at {field}: {message}")]
    MalformedBody { field: String, message: String },
    #[error("body larger than {BODY_LIMIT} bytes")]
    BodyTooLarge,
    #[error("missing If-Match")]
    PreconditionRequired,
    #[error("read models have not reached position {0}")]
    NotYetProjected(u64),
    #[error("invalid query parameter {field}: {message}")]
    BadQuery { field: String, message: String },
}

fn problem(status: StatusCode, kind: &str, title: &str, detail: String, extra: Value) -> Response {
    let mut body = json!({
        "type": format!("https://metroplan.dev/problems/{kind}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let (Some(obj), Value::Object(extra)) = (body.as_object_mut(), extra) {
        obj.extend(extra);
    }
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let detail = self.to_string();
        match self {
            HttpError::MalformedBody { field, .. } => {
                problem(StatusCode::BAD_REQUEST, "malformed-body", "Malformed request body", detail, json!({ "field": field }))
            }
            HttpError::BadQuery { field, .. } => {
                problem(StatusCode::BAD_REQUEST, "bad-query", "Invalid query parameter", detail, json!({ "field": field }))
            }
            HttpError::BodyTooLarge => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "Request body too large",
                detail,
                json!({ "limit_bytes": BODY_LIMIT }),
            ),
            HttpError::PreconditionRequired => problem(
                StatusCode::PRECONDITION_REQUIRED,
                "if-match-required",
                "If-Match required",
                "an edit must carry If-Match with the ETag it was based on, so no edit overwrites another unseen".into(),
                json!({ "field": "If-Match" }),
            ),
            HttpError::NotYetProjected(position) => {
                let mut r = problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not-yet-projected",
                    "Read models are behind",
                    detail,
                    json!({ "min_position": position }),
                );
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            HttpError::Api(e) => api_problem(e),
        }
    }
}

fn api_problem(e: ApiError) -> Response {
    let detail = e.to_string();
    match e {
        ApiError::Validation { field, .. } => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
            detail,
            json!({ "field": field }),
        ),
        ApiError::NotFound { what } => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            detail,
            json!({ "resource": what }),
        ),
        ApiError::Rejected { field, .. } => problem(
            StatusCode::CONFLICT,
            "rejected",
            "Not allowed in the current state",
            detail,
            json!({ "field": field }),
        ),
        ApiError::InvalidRows { rows } => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-rows",
            "Invalid rows, nothing imported",
            detail,
            json!({ "rows": rows }),
        ),
        ApiError::EditConflict {
            fields,
            base_version,
            current_version,
            base,
            theirs,
            yours,
        } => problem(
            StatusCode::CONFLICT,
            "edit-conflict",
            "Edit conflict",
            detail,
            json!({
                "fields": fields,
                "base_version": base_version,
                "current_version": current_version,
                "base": base,
                "theirs": theirs,
                "yours": yours,
            }),
        ),
        ApiError::PreconditionFailed { .. } => problem(
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            "Precondition failed",
            detail,
            json!({ "field": "If-Match" }),
        ),
        ApiError::Unauthorized => {
            let mut r = problem(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
                detail,
                Value::Null,
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r
        }
        ApiError::Forbidden { .. } => problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            detail,
            Value::Null,
        ),
        ApiError::Unavailable { message } => {
            tracing::warn!(%message, "service unavailable");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                "try again shortly".into(),
                Value::Null,
            )
        }
        ApiError::Internal { message } => {
            tracing::error!(%message, "internal error");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "the error was logged".into(),
                Value::Null,
            )
        }
    }
}

/// Answers unknown routes with a problem document too.
pub async fn not_found() -> Response {
    HttpError::Api(ApiError::not_found("route")).into_response()
}
