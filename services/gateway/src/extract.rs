//! Request extractors: the caller behind a bearer token, and JSON bodies whose errors
//! name the field at fault.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use metroplan_api::{ApiError, Caller};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::HttpError;

/// The authenticated caller. The token comes from `Authorization: Bearer`, or, for
/// browsers opening a websocket (which cannot set headers), from a
/// `Sec-WebSocket-Protocol` entry `bearer.<token>` beside the `metroplan` protocol (kept
/// out of URLs, so out of browser consoles and proxies' logs), or from the
/// `access_token` query parameter (RFC 6750 §2.3).
#[derive(Debug, Clone)]
pub struct Auth(pub Caller);

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// The protocol a browser names to carry its token on a websocket handshake.
pub const TOKEN_PROTOCOL_PREFIX: &str = "bearer.";

fn protocol_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(TOKEN_PROTOCOL_PREFIX))
}

fn query_token(parts: &Parts) -> Option<String> {
    parts.uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "access_token").then(|| v.to_owned())
    })
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)
            .or_else(|| protocol_token(&parts.headers))
            .map(str::to_owned)
            .or_else(|| query_token(parts));
        let Some(token) = token else {
            return Err(ApiError::Unauthorized.into());
        };
        match state.authenticate(&token).await? {
            Some(caller) => Ok(Auth(caller)),
            None => Err(ApiError::Unauthorized.into()),
        }
    }
}

/// A JSON body (any content type that parses as JSON) of at most
/// [`BODY_LIMIT`](crate::error::BODY_LIMIT) bytes.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                HttpError::BodyTooLarge
            } else {
                HttpError::MalformedBody {
                    field: String::new(),
                    message: rejection.body_text(),
                }
            }
        })?;
        parse(&bytes).map(Body)
    }
}

/// Deserializes `bytes`, naming the JSON path of the first error.
///
/// # Errors
/// [`HttpError::MalformedBody`].
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // serde names an unknown field in its message, not in the path.
        let field = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .map(|name| {
                if path == "." || path == name {
                    name.to_owned()
                } else if path.ends_with(&format!(".{name}")) {
                    path.clone()
                } else {
                    format!("{path}.{name}")
                }
            })
            .unwrap_or_else(|| if path == "." { String::new() } else { path });
        HttpError::MalformedBody { field, message }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        progress: i64,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        amount: i64,
    }

    fn field_of(json: &str) -> String {
        match parse::<Probe>(json.as_bytes()) {
            Err(HttpError::MalformedBody { field, .. }) => field,
            other => panic!("expected a malformed body, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"progress":"x"}"#), "progress");
        assert_eq!(field_of(r#"{"progress":1,"bogus":2}"#), "bogus");
        assert_eq!(
            field_of(r#"{"progress":1,"inner":{"amount":"no"}}"#),
            "inner.amount"
        );
        assert_eq!(
            field_of(r#"{"progress":1,"inner":{"amount":1,"x":1}}"#),
            "inner.x"
        );
    }
}
