//! The ingest API's handlers: ingest (`POST /api/articles`: JSON object, array or JSON
//! Lines, or an article page), list, read, delete, stats and export. The route, its
//! methods and the bearer token are checked before they run (`route.rs`, `handle.rs`):
//! they only handle.
//!
//! Bodies are read only up to `[ingest] max_body_bytes`; parsing, normalizing and the
//! store write run on the blocking pool, and the answer comes once the write is durable.
//! Exports stream from threads of their own, at most [`MAX_EXPORTS`] at once, so that
//! readers that stop reading cannot take the blocking pool from writes and renders.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::channel::Sender;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

use super::response::{self, Body};
use super::route::param;
use super::State;
use crate::config::Config;
use crate::feed::{self, Target};
use crate::ingest::{self, InputKind, Problem};
use crate::metrics::Metrics;
use crate::model::StoredArticle;
use crate::store::StoreError;

/// Most articles one list request returns.
const MAX_LIMIT: usize = 1_000;
/// Articles a list request returns when it gives no limit.
const DEFAULT_LIMIT: usize = 50;

/// Runs store work on the blocking pool; a panic there becomes a 500.
pub async fn blocking(state: Arc<State>, f: impl FnOnce(&State) -> Response<Body> + Send + 'static) -> Response<Body> {
    match tokio::task::spawn_blocking(move || f(&state)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("API handler failed: {e}");
            response::json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error", &[])
        }
    }
}

/// `POST /api/articles`: parse, validate and store the body's articles.
pub async fn post(req: Request<Incoming>, state: Arc<State>, token: usize) -> Response<Body> {
    let max = state.publisher.config().ingest.max_body_bytes;
    let dry_run = matches!(param(req.uri().query(), "dry_run").as_deref(), Some("1" | "true" | "yes"));
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let Some(kind) = InputKind::from_content_type(content_type.as_deref()) else {
        let msg = format!(
            "Content-Type {:?} is not accepted: send application/json, application/x-ndjson (JSON Lines), text/plain or text/html (article pages)",
            content_type.unwrap_or_default()
        );
        return response::json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &msg, &[]);
    };
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return too_large(max);
    }
    // The whole body within `body_timeout`: a body trickled a byte at a time cannot hold
    // the request (and its connection) longer.
    let deadline = state.limits.body_timeout;
    let body: Bytes = match tokio::time::timeout(deadline, Limited::new(req.into_body(), max as usize).collect()).await
    {
        Ok(Ok(c)) => c.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_large(max),
        Ok(Err(e)) => {
            return response::json_error(StatusCode::BAD_REQUEST, &format!("could not read the body: {e}"), &[])
        }
        Err(_) => {
            let msg =
                format!("the body did not arrive within {} s ([server] body_timeout_seconds)", deadline.as_secs());
            return response::json_error(StatusCode::REQUEST_TIMEOUT, &msg, &[]);
        }
    };
    // Set if this future is dropped before the answer (hyper drops it when the stream is
    // reset or the connection fails): normalizing on the blocking pool then stops.
    let abandoned = Arc::new(AtomicBool::new(false));
    let _on_drop = Abandon(abandoned.clone());
    blocking(state, move |s| ingest_body(s, &body, kind, dry_run, token, &abandoned)).await
}

/// Sets its flag when dropped: the request's future is gone (answered or abandoned).
struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn too_large(max: u64) -> Response<Body> {
    response::json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the body is larger than [ingest] max_body_bytes ({max} bytes): send smaller batches"),
        &[],
    )
}

/// Reads, checks and stores a body's articles; one log line says what came of it (by
/// token number, never the token).
fn ingest_body(
    state: &State,
    body: &[u8],
    kind: InputKind,
    dry_run: bool,
    token: usize,
    abandoned: &AtomicBool,
) -> Response<Body> {
    let config = state.publisher.config();
    let config = &*config;
    let parsed = ingest::parse_request("body", body, kind, config, abandoned);
    if let Some(n) = parsed.too_many {
        let max = config.ingest.content.max_articles_per_request;
        let msg = format!(
            "the body holds {n} articles; at most {max} per request ([ingest] max_articles_per_request): send smaller batches"
        );
        return response::json_error(StatusCode::PAYLOAD_TOO_LARGE, &msg, &[]);
    }
    if parsed.unreadable {
        let p = &parsed.problems[0];
        return response::json_error(StatusCode::BAD_REQUEST, &p.to_string(), &problems_json(&parsed.problems));
    }
    if !parsed.problems.is_empty() {
        let bad: std::collections::BTreeSet<usize> = parsed.problems.iter().map(|p| p.index).collect();
        let msg = format!(
            "{} of {} article(s) invalid ({} problem(s)); nothing was written",
            bad.len(),
            parsed.total,
            parsed.problems.len()
        );
        tracing::info!(target: "sihai::ingest", token, refused = bad.len(), total = parsed.total, dry_run, "ingest refused: {msg}");
        if !dry_run {
            Metrics::count(&state.publisher.metrics.ingested, "refused", parsed.total as u64);
        }
        return response::json_error(StatusCode::UNPROCESSABLE_ENTITY, &msg, &problems_json(&parsed.problems));
    }
    if parsed.articles.is_empty() {
        return response::json_error(StatusCode::UNPROCESSABLE_ENTITY, "the body holds no article", &[]);
    }
    match state.publisher.ingest(parsed.articles, dry_run) {
        Ok(written) => {
            let count = |status| written.iter().filter(|w| w.status == status).count();
            if !dry_run {
                let ingested = &state.publisher.metrics.ingested;
                Metrics::count(ingested, "created", count(crate::model::WriteStatus::Created) as u64);
                Metrics::count(ingested, "updated", count(crate::model::WriteStatus::Updated) as u64);
                Metrics::count(ingested, "unchanged", count(crate::model::WriteStatus::Unchanged) as u64);
            }
            tracing::info!(
                target: "sihai::ingest",
                token,
                created = count(crate::model::WriteStatus::Created),
                updated = count(crate::model::WriteStatus::Updated),
                unchanged = count(crate::model::WriteStatus::Unchanged),
                dry_run,
                "ingest"
            );
            let results: Vec<Value> = written
                .iter()
                .enumerate()
                .map(|(i, w)| json!({"index": i, "id": w.id, "guid": w.guid, "status": w.status.as_str()}))
                .collect();
            response::json(StatusCode::OK, &json!({"dry_run": dry_run, "results": results}))
        }
        Err(e) => store_failure(&e),
    }
}

/// `GET /api/stats`: counters of the work done since start.
pub fn stats(state: &State) -> Response<Body> {
    let m = &state.publisher.metrics;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    response::json(StatusCode::OK, &json!({"renders": load(&m.renders), "compressions": load(&m.compressions)}))
}

/// Exports that may stream at once; past it, `/api/export` answers 503 with
/// `Retry-After`. Each holds a thread of its own for as long as its reader takes (an
/// export of a large store is minutes to a slow reader), so the bound is what a reader that
/// stops reading can hold: two threads, never one the API, renders or writes need. A
/// backup is one export at a time; two lets a second start while the first finishes.
const MAX_EXPORTS: usize = 2;
/// Seconds a refused export is told to wait.
const EXPORT_RETRY_AFTER: u32 = 10;
/// Chunks of [`EXPORT_CHUNK`] bytes queued between an export thread and its connection.
const EXPORT_QUEUE: usize = 8;
/// Bytes of JSON Lines an export sends at once.
const EXPORT_CHUNK: usize = 64 * 1024;

/// Export threads running in this process. A process-wide count, because what it bounds
/// are the process's threads.
static EXPORTS_RUNNING: AtomicUsize = AtomicUsize::new(0);

/// One of the [`MAX_EXPORTS`] places; given back when dropped (when its thread ends, or
/// with the thread's closure if the thread could not start).
struct ExportPlace;

impl ExportPlace {
    fn take() -> Option<ExportPlace> {
        EXPORTS_RUNNING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < MAX_EXPORTS).then_some(n + 1))
            .ok()
            .map(|_| ExportPlace)
    }
}

impl Drop for ExportPlace {
    fn drop(&mut self) {
        EXPORTS_RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `GET /api/export`: streams the store as JSON Lines ([`crate::store::ExportRecord`])
/// while serving. The store is read on a thread of the export's own (not the blocking
/// pool: a reader that stops reading blocks its thread until the connection's write
/// timeout drops it), at most [`MAX_EXPORTS`] at once. When the connection goes away, the
/// stream's receiver is dropped, the next send fails and the thread ends.
pub fn export(state: Arc<State>) -> Response<Body> {
    let Some(place) = ExportPlace::take() else {
        let msg = format!("{MAX_EXPORTS} exports are already running; try again in {EXPORT_RETRY_AFTER} s");
        let mut r = response::json_error(StatusCode::SERVICE_UNAVAILABLE, &msg, &[]);
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(EXPORT_RETRY_AFTER));
        return r;
    };
    let (tx, body) = http_body_util::channel::Channel::<Bytes, std::io::Error>::new(EXPORT_QUEUE);
    let handle = tokio::runtime::Handle::current();
    let spawned = std::thread::Builder::new().name("sihai-export".into()).spawn(move || {
        let _place = place;
        stream_export(&state, tx, &handle);
    });
    if let Err(e) = spawned {
        tracing::error!("export: could not start its thread: {e}");
        let mut r = response::json_error(StatusCode::SERVICE_UNAVAILABLE, "the export could not start", &[]);
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(EXPORT_RETRY_AFTER));
        return r;
    }
    response::stream(body, "application/x-ndjson")
}

/// Reads the store into `tx` in chunks, waiting while the reader is slow; stops at the
/// first chunk its reader is no longer there for.
fn stream_export(state: &State, mut tx: Sender<Bytes, std::io::Error>, handle: &tokio::runtime::Handle) {
    let mut buf = Vec::with_capacity(EXPORT_CHUNK + EXPORT_CHUNK / 2);
    let mut gone = false;
    let mut sent = 0usize;
    let result = state.publisher.export(|record| {
        serde_json::to_writer(&mut buf, record).map_err(std::io::Error::other)?;
        buf.push(b'\n');
        if buf.len() >= EXPORT_CHUNK {
            let chunk = Bytes::from(std::mem::replace(&mut buf, Vec::with_capacity(EXPORT_CHUNK + EXPORT_CHUNK / 2)));
            sent += chunk.len();
            if handle.block_on(tx.send_data(chunk)).is_err() {
                gone = true;
                return Err(std::io::Error::other("the client went away"));
            }
        }
        Ok(())
    });
    match result {
        Ok(n) => {
            sent += buf.len();
            if handle.block_on(tx.send_data(Bytes::from(buf))).is_err() {
                tracing::info!("export stopped: the client went away at its end");
            } else {
                tracing::info!("export of {n} article(s) and tombstone(s) sent ({sent} bytes)");
            }
        }
        Err(_) if gone => tracing::info!("export stopped: the client went away after {sent} bytes"),
        // The client sees a truncated body (no final newline-terminated tail and a
        // reset), never a clean end: an export is complete only if the stream ended.
        Err(e) => {
            tracing::error!("export failed: {e}");
            tx.abort(std::io::Error::other(e.to_string()));
        }
    }
}

fn problems_json(problems: &[Problem]) -> Vec<Value> {
    problems
        .iter()
        .map(|p| {
            let mut v = json!({"index": p.index, "id": p.id, "field": p.field, "message": p.message});
            if let Some(l) = p.line {
                v["line"] = json!(l);
            }
            if let Some(c) = p.column {
                v["column"] = json!(c);
            }
            v
        })
        .collect()
}

fn store_failure(e: &StoreError) -> Response<Body> {
    if let StoreError::Full { .. } = e {
        tracing::warn!("write refused: {e}");
        return response::json_error(StatusCode::INSUFFICIENT_STORAGE, &e.to_string(), &[]);
    }
    tracing::error!("store failure: {e}");
    let mut r = response::json_error(StatusCode::SERVICE_UNAVAILABLE, &format!("the store failed: {e}"), &[]);
    r.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static("5"));
    r
}

/// `GET /api/articles/{id}`.
pub fn get(state: &State, id: &str) -> Response<Body> {
    match state.publisher.article(id) {
        Ok(Some(a)) => response::json(StatusCode::OK, &article_json(&a, &state.publisher.config())),
        Ok(None) => response::json_error(StatusCode::NOT_FOUND, &format!("no article with id {id:?}"), &[]),
        Err(e) => store_failure(&e),
    }
}

/// `DELETE /api/articles/{id}`.
pub fn delete(state: &State, id: &str, token: usize) -> Response<Body> {
    match state.publisher.delete(id) {
        Ok(true) => {
            Metrics::count(&state.publisher.metrics.deletes, "deleted", 1);
            tracing::info!(target: "sihai::ingest", token, id, "deleted");
            response::no_content()
        }
        Ok(false) => {
            Metrics::count(&state.publisher.metrics.deletes, "absent", 1);
            response::json_error(StatusCode::NOT_FOUND, &format!("no article with id {id:?}"), &[])
        }
        Err(e) => store_failure(&e),
    }
}

/// `GET /api/articles?category=&limit=&after=`.
pub fn list(state: &State, query: Option<&str>) -> Response<Body> {
    // One view: the category index and the list are read under one configuration.
    let view = state.publisher.view();
    let target = match param(query, "category") {
        None => Target::All,
        Some(slug) => match view.target(&slug) {
            Some(t) => t,
            None => {
                return response::json_error(
                    StatusCode::BAD_REQUEST,
                    &format!("category {slug:?} is not a category slug"),
                    &[],
                )
            }
        },
    };
    let limit = match param(query, "limit").map(|l| l.parse::<usize>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return response::json_error(
                StatusCode::BAD_REQUEST,
                &format!("limit must be a number from 1 to {MAX_LIMIT}"),
                &[],
            )
        }
    };
    let after = param(query, "after");
    match view.list(target, limit, after.as_deref()) {
        Ok((items, next)) => {
            let config = view.config();
            let articles: Vec<Value> = items.iter().map(|a| article_json(a, config)).collect();
            response::json(StatusCode::OK, &json!({"articles": articles, "next": next}))
        }
        Err(StoreError::BadCursor) => {
            response::json_error(StatusCode::BAD_REQUEST, "after is not a cursor from a previous page", &[])
        }
        Err(e) => store_failure(&e),
    }
}

/// A stored article as the API shows it: dates in RFC 3339 site time, with its GUID, its
/// link and the times sihai stored it.
pub fn article_json(stored: &StoredArticle, config: &Config) -> Value {
    let a = &stored.article;
    let t = |secs: i64| crate::time::rfc3339(config.site.timezone, secs);
    json!({
        "id": a.id,
        "guid": stored.guid,
        "title": a.title,
        "url": a.url,
        "link": feed::urls::article_link(config.site.base_url.as_str(), a),
        "categories": a.categories,
        "published": t(a.published),
        "updated": t(stored.updated),
        "authors": a.authors,
        "summary": a.summary,
        "content_html": a.content_html,
        "image": a.image.as_ref().map(|i| json!({"url": i.url, "type": i.mime_type, "length": i.length})),
        "tags": a.tags,
        "stored": {"created": t(stored.created), "modified": t(stored.modified)},
    })
}
