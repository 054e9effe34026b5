//! Building responses: every failure goes through [`error`], every feed through [`rendered`].

use bytes::Bytes;
use http_body_util::channel::Channel;
use http_body_util::{Either, Full};
use hyper::header::{
    HeaderMap, HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, LAST_MODIFIED, RETRY_AFTER,
    VARY, WWW_AUTHENTICATE,
};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use crate::encoding::Encoding;
use crate::publish::{Entry, Variant};

/// The body of every response: bytes in memory, or a stream (exports; a stream that fails
/// midway is aborted, so the client sees an error, never a clean but short body).
pub type Body = Either<Full<Bytes>, Channel<Bytes, std::io::Error>>;

pub(super) fn full(bytes: impl Into<Bytes>) -> Body {
    Either::Left(Full::new(bytes.into()))
}

/// 200 with a streamed body.
pub fn stream(body: Channel<Bytes, std::io::Error>, content_type: &'static str) -> Response<Body> {
    let mut r = Response::new(Either::Right(body));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A short plain-text response with `status`.
pub fn error(status: StatusCode, message: &str) -> Response<Body> {
    let mut r = Response::new(full(format!("{message}\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// A short plain-text answer that must never be cached (health checks).
pub fn plain(status: StatusCode, message: &str) -> Response<Body> {
    let mut r = error(status, message);
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// 301 to `location` (an absolute URL built from `base_url`): a tag's or author's URL in
/// another spelling than the canonical one, so readers and caches keep one URL per feed.
pub fn moved_permanently(location: &str) -> Response<Body> {
    let mut r = error(StatusCode::MOVED_PERMANENTLY, location);
    match HeaderValue::from_str(location) {
        Ok(v) => {
            r.headers_mut().insert(hyper::header::LOCATION, v);
            r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("max-age=86400"));
            r
        }
        // A query the request carried that is no header value (it never is: hyper parsed it).
        Err(_) => error(StatusCode::BAD_REQUEST, "bad query string"),
    }
}

/// 405 with the methods the route allows.
pub fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    r
}

/// The validator and caching headers a 200 and a 304 of a representation share.
fn caching_headers(h: &mut HeaderMap, entry: &Entry, variant: &Variant) {
    h.insert(ETAG, variant.etag_header.clone());
    h.insert(LAST_MODIFIED, entry.last_modified_header.clone());
    h.insert(CACHE_CONTROL, entry.cache_control_header.clone());
    h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
}

/// 200 with ready bytes in `coding` and their caching headers.
pub fn ready(entry: &Entry, variant: &Variant, coding: Encoding) -> Response<Body> {
    let mut r = Response::new(full(variant.body.clone()));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(entry.content_type));
    if coding != Encoding::Identity {
        h.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.token()));
    }
    caching_headers(h, entry, variant);
    r
}

/// 304 with the headers the 200 would carry, and no body.
pub fn not_modified(entry: &Entry, variant: &Variant) -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::NOT_MODIFIED;
    caching_headers(r.headers_mut(), entry, variant);
    r
}

/// 503 with `Retry-After`.
pub fn unavailable(message: &str) -> Response<Body> {
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, message);
    r.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// 503 for a store that failed while serving a page or feed, logged.
pub fn store_unavailable(e: &str) -> Response<Body> {
    tracing::error!("serving failed: {e}");
    unavailable("the store could not be read; try again shortly")
}

/// 200 with an HTML page built for this request.
pub fn html(page: String) -> Response<Body> {
    let mut r = Response::new(full(page));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(crate::feed::HTML_CONTENT_TYPE));
    r
}

/// A JSON response.
pub fn json(status: StatusCode, value: &Value) -> Response<Body> {
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    body.push(b'\n');
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// An API error: `{"error": {"status", "message", "problems"}}`.
pub fn json_error(status: StatusCode, message: &str, problems: &[Value]) -> Response<Body> {
    json(status, &json!({"error": {"status": status.as_u16(), "message": message, "problems": problems}}))
}

/// 401 asking for a bearer token.
pub fn unauthorized() -> Response<Body> {
    let mut r =
        json_error(StatusCode::UNAUTHORIZED, "a valid token is required: send `Authorization: Bearer TOKEN`", &[]);
    r.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"sihai\""));
    r
}

/// 204 with no body.
pub fn no_content() -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}
