//! The web front end: the files of `services/gateway/web/`, built into the binary with
//! `rust-embed` (debug builds too, so a test or a copied binary serves what was built,
//! and `cargo build` needs no Node). `GET /` is `index.html`; `GET /assets/<path>` is
//! `web/assets/<path>`, or else `web/<path>`.
//!
//! Every answer is revalidated (`Cache-Control: no-cache`) against an `ETag` made from
//! the file's SHA-256, so a new binary's assets are picked up at once and an unchanged
//! one costs a 304. The page's headers keep the token of a token link (`/?access_token=`)
//! in the page: `Referrer-Policy: no-referrer`, and a `Content-Security-Policy` that lets
//! the page load and connect to this origin only (its websocket included), with no
//! inline script. These routes are not in the OpenAPI document: they are not the API.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metroplan_api::ApiError;
use rust_embed::Embed;

use crate::HttpError;

#[derive(Embed)]
#[folder = "web/"]
struct Assets;

/// `GET /` and `GET /assets/{*path}`, for any state.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers).unwrap_or_else(|| not_found("index.html"))
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("assets/{path}"), &headers)
        .or_else(|| serve(&path, &headers))
        .unwrap_or_else(|| not_found(&path))
}

fn not_found(path: &str) -> Response {
    HttpError::Api(ApiError::not_found(format!("asset {path}"))).into_response()
}

/// The content type of `path`: the web's own types by extension, else `mime_guess`'s.
fn content_type(path: &str, guessed: &str) -> String {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let known = match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    if guessed.starts_with("text/") && !guessed.contains("charset") {
        format!("{guessed}; charset=utf-8")
    } else {
        guessed.to_owned()
    }
}

/// The page's content security policy: this origin only, its websocket included
/// (named outright for browsers whose `'self'` does not cover `ws:`), no inline code.
fn content_security_policy(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        });
    let connect = match host {
        Some(h) => format!("'self' ws://{h} wss://{h}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; manifest-src 'self'; connect-src {connect}; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

fn serve(path: &str, request: &HeaderMap) -> Option<Response> {
    let file = Assets::get(path)?;
    let hash = file.metadata.sha256_hash();
    let etag = format!(
        "\"{}\"",
        hash[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut response = if matches(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = file.data.into_owned().into_response();
        if let Ok(v) = HeaderValue::from_str(&content_type(path, file.metadata.mimetype())) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(v) = HeaderValue::from_str(&content_security_policy(request)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get(path: &str, extra: &[(&str, &str)]) -> Response {
        let mut req = Request::get(path).header("host", "localhost:8080");
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        router::<()>()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn header<'a>(r: &'a Response, name: &str) -> &'a str {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn the_page_is_served_with_its_security_headers() {
        let r = get("/?access_token=secret", &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&r, "referrer-policy"), "no-referrer");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
        assert_eq!(header(&r, "cache-control"), "no-cache");
        let csp = header(&r, "content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(
            csp.contains("connect-src 'self' ws://localhost:8080 wss://localhost:8080;"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }

    #[tokio::test]
    async fn an_unchanged_asset_is_not_sent_again() {
        let r = get("/", &[]).await;
        let etag = header(&r, "etag").to_owned();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        let again = get("/", &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let other = get("/", &[("if-none-match", "\"0\"")]).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn an_unknown_asset_is_a_problem_document() {
        let r = get("/assets/nope/missing.js", &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(header(&r, "content-type"), "application/problem+json");
        let r = get("/assets/../Cargo.toml", &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn content_types_follow_the_extension() {
        for (path, expected) in [
            ("app.js", "text/javascript; charset=utf-8"),
            ("a/b.mjs", "text/javascript; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("data.json", "application/json"),
            ("icon.svg", "image/svg+xml"),
            ("icon.PNG", "image/png"),
            ("app.webmanifest", "application/manifest+json"),
            ("index.html", "text/html; charset=utf-8"),
        ] {
            assert_eq!(
                content_type(path, "application/octet-stream"),
                expected,
                "{path}"
            );
        }
        assert_eq!(content_type("x.csv", "text/csv"), "text/csv; charset=utf-8");
        assert_eq!(
            content_type("x.wasm", "application/wasm"),
            "application/wasm"
        );
    }

    #[test]
    fn a_strange_host_is_left_out_of_the_policy() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("evil; script-src *"));
        let csp = content_security_policy(&h);
        assert!(csp.contains("connect-src 'self';"), "{csp}");
        assert!(!csp.contains('*'), "{csp}");
    }
}
