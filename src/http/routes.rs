//! Every route in one place: path and method to handler.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the site's page (newest articles, feed links) |
//! | `GET /feeds/{slug}.{rss,atom,json}[?limit=N]` | a category's feed (`all` for the site) |
//! | `GET /feeds/{slug}/archive/{YYYY-MM-DD}.{rss,atom,json}` | RFC 5005 archive of one day |
//! | `GET /c/{slug}` | a category's page |
//! | `GET /feeds.opml[?format=atom|json]` | OPML 2.0 list of every feed, nested as the tree |
//! | `GET /articles/{id}` | an article's own page |
//! | `/api/...` | the ingest API (`api.rs`) |
//!
//! `HEAD` is answered wherever `GET` is. Feeds and pages come ready from the
//! [`Publisher`]; only a feed that changed since its last request is rendered (on the
//! blocking pool). A panic in a handler becomes a 500.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderMap, ACCEPT_ENCODING, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;

use super::response::{self, Body};
use super::State;
use crate::encoding;
use crate::feed::{Format, Target};
use crate::publish::{Entry, Key, PublishError, Publisher, Representation};

/// Answers one request.
pub async fn handle(req: Request<Incoming>, state: Arc<State>) -> Response<Body> {
    let path = req.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return super::api::handle(req, state).await;
    }
    let resolved = catch_unwind(AssertUnwindSafe(|| resolve(req.method(), path, req.uri().query(), &state.publisher)));
    let found = match resolved {
        Ok(Ok(found)) => found,
        Ok(Err(refusal)) => return refusal.response(),
        Err(_) => return internal_error(req.method(), path),
    };
    match found {
        Found::Ready(key) => ready(req.headers(), key, state).await,
        Found::Article(id) => {
            let p = state.clone();
            match tokio::task::spawn_blocking(move || p.publisher.article_page(&id)).await {
                Ok(Ok(Some(page))) => response::html(page),
                Ok(Ok(None)) => response::error(StatusCode::NOT_FOUND, "no such article"),
                Ok(Err(e)) => unavailable(&e.to_string()),
                Err(_) => internal_error(req.method(), req.uri().path()),
            }
        }
    }
}

fn internal_error(method: &Method, path: &str) -> Response<Body> {
    tracing::error!("handler panicked on {method} {path}");
    response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

fn unavailable(e: &str) -> Response<Body> {
    tracing::error!("serving failed: {e}");
    response::unavailable("the store could not be read; try again shortly")
}

/// Why a request names nothing this server serves.
enum Refusal {
    NotFound,
    MethodNotAllowed,
    BadLimit(usize),
    BadFormat,
}

impl Refusal {
    fn response(self) -> Response<Body> {
        match self {
            Refusal::NotFound => response::error(StatusCode::NOT_FOUND, "not found"),
            Refusal::MethodNotAllowed => response::method_not_allowed("GET, HEAD"),
            Refusal::BadFormat => response::error(StatusCode::BAD_REQUEST, "format must be rss, atom or json"),
            Refusal::BadLimit(max) => {
                response::error(StatusCode::BAD_REQUEST, &format!("limit must be a whole number from 1 to {max}"))
            }
        }
    }
}

/// What a path names.
enum Found {
    /// A feed or page kept ready by the publisher.
    Ready(Key),
    /// An article's own page.
    Article(String),
}

fn resolve(method: &Method, path: &str, query: Option<&str>, publisher: &Publisher) -> Result<Found, Refusal> {
    let not_found = || Refusal::NotFound;
    let found = if path == "/" {
        Found::Ready(Key::current(Target::All, Representation::Home))
    } else if path == "/feeds.opml" {
        let format = match url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).find(|(k, _)| k == "format") {
            None => Format::Rss,
            Some((_, f)) => Format::from_extension(&f).ok_or(Refusal::BadFormat)?,
        };
        Found::Ready(Key::current(Target::All, Representation::Opml(format)))
    } else if let Some(rest) = path.strip_prefix("/feeds/") {
        let (name, ext) = rest.rsplit_once('.').ok_or_else(not_found)?;
        let format = Format::from_extension(ext).ok_or_else(not_found)?;
        // Split on a char (a current feed's path, the hot one, has no '/' left here).
        let (slug, archive) = match name.split_once('/') {
            None => (name, None),
            Some((slug, rest)) => {
                let day = rest.strip_prefix("archive/").ok_or(Refusal::NotFound)?;
                // Only the canonical spelling names an archive (one URL per document).
                let parsed = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| Refusal::NotFound)?;
                if parsed.to_string() != day {
                    return Err(Refusal::NotFound);
                }
                (slug, Some(parsed))
            }
        };
        let target = publisher.target(slug).ok_or_else(not_found)?;
        let limit = if archive.is_some() { None } else { limit_param(query, publisher.max_items(target))? };
        Found::Ready(Key { target, repr: Representation::Feed(format), limit, archive })
    } else if let Some(slug) = path.strip_prefix("/c/") {
        let target = publisher.target(slug).filter(|t| *t != Target::All).ok_or_else(not_found)?;
        Found::Ready(Key::current(target, Representation::Page))
    } else if let Some(id) = path.strip_prefix("/articles/").and_then(decode) {
        Found::Article(id)
    } else {
        return Err(Refusal::NotFound);
    };
    if method != Method::GET && method != Method::HEAD {
        return Err(Refusal::MethodNotAllowed);
    }
    Ok(found)
}

/// `?limit=N`: `None` when absent or equal to the full length (the same document).
fn limit_param(query: Option<&str>, max: usize) -> Result<Option<usize>, Refusal> {
    let Some(raw) =
        url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).find(|(k, _)| k == "limit").map(|(_, v)| v)
    else {
        return Ok(None);
    };
    match raw.parse::<usize>() {
        Ok(n) if n == max => Ok(None),
        Ok(n) if (1..max).contains(&n) => Ok(Some(n)),
        _ => Err(Refusal::BadLimit(max)),
    }
}

/// Serves a ready representation: negotiates the coding, answers 304 when the client's
/// validators still match, renders or compresses only if this is the first request since
/// a change.
async fn ready(headers: &HeaderMap, key: Key, state: Arc<State>) -> Response<Body> {
    let accept = headers.get(ACCEPT_ENCODING).and_then(|v| v.to_str().ok());
    let Some(coding) = encoding::negotiate(accept) else {
        return response::error(
            StatusCode::NOT_ACCEPTABLE,
            "no acceptable content coding: identity, gzip and br are offered",
        );
    };
    let entry = match state.publisher.ready(key) {
        Some(e) => e,
        None => {
            // Waiting here holds no thread; a render of this key that finished meanwhile
            // makes `get` return at once.
            let _permit = state.renders.acquire().await;
            let s = state.clone();
            match tokio::task::spawn_blocking(move || s.publisher.get(key)).await {
                Ok(Ok(e)) => e,
                Ok(Err(PublishError::NoSuchArchive)) => {
                    return response::error(StatusCode::NOT_FOUND, "no archive for that day: follow prev-archive links")
                }
                Ok(Err(e)) => return unavailable(&e.to_string()),
                Err(_) => return response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
            }
        }
    };
    if entry.ready(coding).is_none() {
        let _permit = state.renders.acquire().await;
        let (e, s) = (entry.clone(), state.clone());
        if tokio::task::spawn_blocking(move || {
            e.variant(coding, &s.publisher.stats);
        })
        .await
        .is_err()
        {
            return response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    }
    let variant = entry.variant(coding, &state.publisher.stats);
    if not_modified(headers, &variant.etag, &entry) {
        return response::not_modified(&entry, variant);
    }
    response::ready(&entry, variant, coding)
}

/// RFC 9110 §13.2.2: If-None-Match (weak comparison, `*`, lists) decides when present;
/// otherwise If-Modified-Since, compared as "not newer than".
fn not_modified(headers: &HeaderMap, etag: &str, entry: &Entry) -> bool {
    if let Some(inm) = headers.get(IF_NONE_MATCH) {
        let Ok(inm) = inm.to_str() else { return false };
        // Weak comparison: the opaque tags match, whatever their W/ prefixes.
        fn opaque(t: &str) -> &str {
            let t = t.trim();
            t.strip_prefix("W/").unwrap_or(t)
        }
        let ours = opaque(etag);
        return inm.trim() == "*" || inm.split(',').any(|t| opaque(t) == ours);
    }
    if let Some(since) =
        headers.get(IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()).and_then(crate::time::parse_http_date)
    {
        return entry.last_modified <= since;
    }
    false
}

/// A percent-encoded path segment as text; `None` if empty or not UTF-8.
pub fn decode(segment: &str) -> Option<String> {
    let id = percent_decode_str(segment).decode_utf8().ok()?.into_owned();
    (!id.is_empty()).then_some(id)
}
