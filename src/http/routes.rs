//! Every route in one place: path and method to handler.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the site's page (newest articles, feed links) |
//! | `GET /feeds/{slug}.{rss,atom}` | a category's feed (`all` for the site) |
//! | `GET /c/{slug}` | a category's page |
//! | `GET /articles/{id}` | an article's own page |
//! | `/api/...` | the ingest API (`api.rs`) |
//!
//! `HEAD` is answered wherever `GET` is. A panic in a handler becomes a 500.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;

use super::response::{self, Body};
use super::State;
use crate::feed::{Format, Target};
use crate::publish::{Publisher, Representation};

/// Answers one request.
pub async fn handle(req: Request<Incoming>, state: Arc<State>) -> Response<Body> {
    let path = req.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return super::api::handle(req, state).await;
    }
    let method = req.method().clone();
    let path = path.to_string();
    match catch_unwind(AssertUnwindSafe(|| route(&method, &path, &state.publisher))) {
        Ok(r) => r,
        Err(_) => {
            tracing::error!("handler panicked on {method} {path}");
            response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

fn route(method: &Method, path: &str, publisher: &Publisher) -> Response<Body> {
    let found = if path == "/" {
        Some(Found::Page(Target::All))
    } else if let Some(rest) = path.strip_prefix("/feeds/") {
        feed_route(rest, publisher)
    } else if let Some(slug) = path.strip_prefix("/c/") {
        publisher.target(slug).filter(|t| *t != Target::All).map(Found::Page)
    } else {
        path.strip_prefix("/articles/").and_then(decode).map(Found::Article)
    };
    let Some(found) = found else {
        return response::error(StatusCode::NOT_FOUND, "not found");
    };
    if method != Method::GET && method != Method::HEAD {
        return response::method_not_allowed("GET, HEAD");
    }
    let result = match found {
        Found::Feed(target, format) => {
            publisher.get(target, Representation::Feed(format)).map(|r| response::rendered(&r))
        }
        Found::Page(target) => publisher.get(target, Representation::Page).map(|r| response::rendered(&r)),
        Found::Article(id) => publisher.article_page(&id).map(|p| {
            p.map(response::html).unwrap_or_else(|| response::error(StatusCode::NOT_FOUND, "no such article"))
        }),
    };
    result.unwrap_or_else(|e| {
        tracing::error!("{method} {path}: {e}");
        response::error(StatusCode::SERVICE_UNAVAILABLE, "the store could not be read; try again shortly")
    })
}

/// What a path names.
enum Found {
    Feed(Target, Format),
    Page(Target),
    Article(String),
}

fn feed_route(rest: &str, publisher: &Publisher) -> Option<Found> {
    let (slug, ext) = rest.rsplit_once('.')?;
    let format = Format::from_extension(ext)?;
    publisher.target(slug).map(|t| Found::Feed(t, format))
}

/// A percent-encoded path segment as text; `None` if empty or not UTF-8.
pub fn decode(segment: &str) -> Option<String> {
    let id = percent_decode_str(segment).decode_utf8().ok()?.into_owned();
    (!id.is_empty()).then_some(id)
}
