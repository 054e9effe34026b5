//! Serving a representation the publisher keeps ready: the coding negotiated, 304 when
//! the client's validators still match, a render or compression only for the first
//! request after a change (on the blocking pool, one per core at a time).

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::header::{HeaderMap, ACCEPT_ENCODING, IF_MODIFIED_SINCE, IF_NONE_MATCH, USER_AGENT};
use hyper::{Response, StatusCode};

use super::response::{self, Body};
use super::State;
use crate::encoding;
use crate::feed::filter::FilterSpec;
use crate::feed::Format;
use crate::publish::{Edition, Entry, Key, PublishError, Representation, View};
use crate::readers::Hit;

/// Serves the representation `key`; `filter`: the patterns `key.filter` names, compiled
/// only when the document is not ready (a bad pattern is 400).
pub async fn serve(
    headers: &HeaderMap,
    key: Key,
    filter: Option<FilterSpec>,
    view: &Arc<View>,
    state: &Arc<State>,
    peer: SocketAddr,
) -> Response<Body> {
    let accept = headers.get(ACCEPT_ENCODING).and_then(|v| v.to_str().ok());
    let Some(coding) = encoding::negotiate(accept) else {
        return response::error(
            StatusCode::NOT_ACCEPTABLE,
            "no acceptable content coding: identity, gzip and br are offered",
        );
    };
    let mut rendered = false;
    let entry = match view.ready(key) {
        Some(e) => e,
        None => {
            rendered = true;
            let filter = match filter.map(|spec| spec.compile()).transpose() {
                Ok(filter) => filter,
                Err(e) => return response::error(StatusCode::BAD_REQUEST, &e.to_string()),
            };
            // Waiting here holds no thread; a render of this key that finished meanwhile
            // makes `get` return at once.
            let _permit = state.renders.acquire().await;
            let v = view.clone();
            match tokio::task::spawn_blocking(move || v.get_filtered(key, filter.as_ref())).await {
                Ok(Ok(e)) => e,
                Ok(Err(PublishError::NoSuchArchive)) => {
                    return response::error(StatusCode::NOT_FOUND, "no archive for that day: follow prev-archive links")
                }
                Ok(Err(PublishError::NoSuchFeed)) => {
                    return response::error(StatusCode::NOT_FOUND, "no published article has that tag or author")
                }
                Ok(Err(e)) => return response::store_unavailable(&e.to_string()),
                Err(_) => return response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
            }
        }
    };
    if entry.ready(coding).is_none() {
        rendered = true;
        let _permit = state.renders.acquire().await;
        let (e, v) = (entry.clone(), view.clone());
        if tokio::task::spawn_blocking(move || {
            v.variant(key, &e, coding);
        })
        .await
        .is_err()
        {
            return response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    }
    // Made above if it was not ready; an evicted entry still holds its codings while this
    // request does.
    let Some(variant) = entry.ready(coding) else {
        return response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
    };
    let mut answer = if not_modified(headers, &variant.etag, &entry) {
        response::not_modified(&entry, variant)
    } else {
        response::ready(&entry, variant, coding)
    };
    if let (Representation::Feed(format), None) = (key.repr, key.archive) {
        let name = view.readership_name(key.target);
        count_reader(headers, &answer, &name, variant_name(key.edition, format), state, peer);
    }
    let metrics = &state.publisher.metrics;
    if rendered {
        metrics.cache_misses.inc();
        answer.extensions_mut().insert(super::access::Rendered);
    } else {
        metrics.cache_hits.inc();
    }
    answer
}

/// How the readership names a representation: its format, with the edition's prefix (every
/// format and edition of a feed is counted apart, and together in the feed's totals).
fn variant_name(edition: Edition, format: Format) -> &'static str {
    match (edition, format) {
        (Edition::Simplified, f) => f.extension(),
        (Edition::Traditional, Format::Rss) => "zh-hant/rss",
        (Edition::Traditional, Format::Atom) => "zh-hant/atom",
        (Edition::Traditional, Format::Json) => "zh-hant/json",
    }
}

/// Counts a feed request for the readership statistics: the feed, its format, the status
/// and bytes, the client (as `[server] trusted_proxies` defines it) and its User-Agent.
fn count_reader(
    headers: &HeaderMap,
    answer: &Response<Body>,
    feed: &str,
    variant: &'static str,
    state: &State,
    peer: SocketAddr,
) {
    use hyper::body::Body as _;
    let trusted = &state.limits.trusted_proxies;
    let client =
        if trusted.is_empty() { peer.ip() } else { super::client::client_address(peer.ip(), headers, trusted) };
    let user_agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    state.publisher.readership.record(Hit {
        feed,
        variant,
        status: answer.status().as_u16(),
        bytes: answer.body().size_hint().exact().unwrap_or(0),
        client,
        user_agent,
    });
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
