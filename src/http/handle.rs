//! One request, from route to response: the route table names what the path asks for,
//! then the method is checked (405 with `Allow`), then, for `/api` routes only, the gate:
//! the client's address and its throttle, the token (401), the token's write rate (429);
//! then the one handler runs. Feeds and pages come ready (`ready.rs`) and pay for none of
//! the gate (no header is read for them); article pages and API work run on the blocking
//! pool. A panic while routing or handling becomes a 500.

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};

use super::response::{self, Body};
use super::route::{Refusal, Route};
use super::throttle::{Throttled, MAX_FAILURES_ANSWERED_PER_SECOND};
use super::{api, client, metrics, ready, stats, State};
use crate::publish::{Edition, View};

/// Answers one request.
pub async fn handle(req: Request<Incoming>, state: &Arc<State>, peer: SocketAddr) -> Response<Body> {
    let path = req.uri().path();
    // One view from route to answer: a reload meanwhile never mixes two configurations.
    let view = state.publisher.view_guard();
    let parsed = catch_unwind(AssertUnwindSafe(|| Route::parse(path, req.uri().query(), &view)));
    let route = match parsed {
        Ok(Ok(route)) => route,
        Ok(Err(refusal)) => return refused(refusal),
        Err(_) => return internal_error(req.method(), path),
    };
    if !route.allows(req.method()) {
        return method_not_allowed(&route, req.method());
    }
    // Which token (its number, 1-based as the refusal log says it): for the write log.
    let mut token = 0;
    if route.is_api() {
        match gate(&req, state, peer, &route) {
            Ok(t) => token = t + 1,
            Err(refused) => return *refused,
        }
    }
    match route {
        Route::Ready(key) => ready::serve(req.headers(), key, None, &view, state, peer).await,
        Route::Filtered(key, spec) => ready::serve(req.headers(), key, Some(spec), &view, state, peer).await,
        Route::Article(id) => article_page(id, Edition::Simplified, &req, Arc::clone(&view)).await,
        Route::TraditionalArticle(id) => article_page(id, Edition::Traditional, &req, Arc::clone(&view)).await,
        Route::Redirect(url) => response::moved_permanently(&url),
        Route::Health => response::plain(StatusCode::OK, "ok"),
        Route::Readiness => readiness(state.clone()).await,
        Route::Metrics => metrics::serve(&req, state.clone(), peer).await,
        Route::Stats | Route::StatsFeed(_) | Route::ApiStatsFeeds => {
            stats::serve(&req, route, state.clone(), peer).await
        }
        Route::ApiArticles if req.method() == Method::POST => api::post(req, state.clone(), token).await,
        Route::ApiArticles => api::blocking(state.clone(), move |s| api::list(s, req.uri().query())).await,
        Route::ApiArticle(id) if req.method() == Method::DELETE => {
            api::blocking(state.clone(), move |s| api::delete(s, &id, token)).await
        }
        Route::ApiArticle(id) => api::blocking(state.clone(), move |s| api::get(s, &id)).await,
        Route::ApiStats => api::stats(state),
        Route::ApiExport => api::export(state.clone()),
    }
}

/// The answer to a path that names nothing served.
fn refused(refusal: Refusal) -> Response<Body> {
    match refusal {
        Refusal::NotFound => response::error(StatusCode::NOT_FOUND, "not found"),
        Refusal::NoApiRoute => response::json_error(StatusCode::NOT_FOUND, "no such API route", &[]),
        Refusal::BadFormat => response::error(StatusCode::BAD_REQUEST, "format must be rss, atom or json"),
        Refusal::BadInclude => response::error(StatusCode::BAD_REQUEST, "include must list tags, authors or both"),
        Refusal::BadLimit(max) => {
            response::error(StatusCode::BAD_REQUEST, &format!("limit must be a whole number from 1 to {max}"))
        }
        Refusal::BadFilter(e) => response::error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// 405 with the route's `Allow` (JSON for the API).
fn method_not_allowed(route: &Route, method: &Method) -> Response<Body> {
    if !route.is_api() {
        return response::method_not_allowed(route.allow());
    }
    let mut r = response::json_error(StatusCode::METHOD_NOT_ALLOWED, &format!("{method} is not allowed here"), &[]);
    r.headers_mut().insert(ALLOW, HeaderValue::from_static(route.allow()));
    r
}

/// The gate of an `/api` route: the client's address (the peer, or what a trusted proxy
/// says), refused while it is throttled for failed tokens; then the token (401, or 429
/// past the limits of failures); then, for writes, the token's rate. Every refusal is
/// logged with the address and the route (never the token), the log itself rate-limited.
/// `Ok(token)` (its index): the request goes on to its handler.
fn gate(req: &Request<Incoming>, state: &State, peer: SocketAddr, route: &Route) -> Result<usize, Box<Response<Body>>> {
    let now = Instant::now();
    let client = client::client_address(peer.ip(), req.headers(), &state.limits.trusted_proxies);
    let guard = &state.guard;
    let refuse = |response: Response<Body>, why: &str| {
        let status = response.status().as_u16();
        guard.log_refusal(
            now,
            format_args!("API refused {status} to {client}: {} {}: {why}", req.method(), name(route)),
        );
        Err(Box::new(response))
    };
    if let Some(throttled) = guard.blocked(client, now) {
        return refuse(too_many_requests(throttled, state), "too many failed tokens from this address");
    }
    let Some(token) = client::bearer(req.headers()).and_then(|t| state.credentials.load().ingest.identify(t)) else {
        return match guard.failed(client, now) {
            Ok(()) => refuse(response::unauthorized(), "no valid token"),
            Err(throttled) => refuse(too_many_requests(throttled, state), "no valid token, over the limit of failures"),
        };
    };
    let method = req.method();
    let writes = match route {
        Route::ApiArticles => method == Method::POST,
        Route::ApiArticle(_) => method == Method::DELETE,
        _ => false,
    };
    if writes {
        if let Err(throttled) = guard.write(token, now) {
            let why = format!("token {} over [ingest] requests_per_minute", token + 1);
            return refuse(too_many_requests(throttled, state), &why);
        }
    }
    Ok(token)
}

/// An API route as the log names it (the path's pattern: an id is client-chosen text).
fn name(route: &Route) -> &'static str {
    match route {
        Route::ApiArticles => "/api/articles",
        Route::ApiArticle(_) => "/api/articles/{id}",
        Route::ApiStats => "/api/stats",
        Route::ApiExport => "/api/export",
        Route::ApiStatsFeeds => "/api/stats/feeds",
        // The gate, the only caller, sees API routes alone (`Route::is_api`).
        _ => "(not an API route)",
    }
}

/// `/readyz`: 200 when the store answers a read and writes are not refused for a full
/// disk; else 503 saying which (for a load balancer's health check; cheap: one key read
/// and one `statvfs`).
async fn readiness(state: Arc<State>) -> Response<Body> {
    let probe = tokio::task::spawn_blocking(move || state.publisher.readiness()).await;
    match probe {
        Ok(Ok(())) => response::plain(StatusCode::OK, "ready"),
        Ok(Err(e)) => response::plain(StatusCode::SERVICE_UNAVAILABLE, &format!("not ready: {e}")),
        Err(_) => response::plain(StatusCode::SERVICE_UNAVAILABLE, "not ready: the check failed"),
    }
}

/// 429 with `Retry-After` and why, as the API's other errors.
fn too_many_requests(throttled: Throttled, state: &State) -> Response<Body> {
    let seconds = throttled.retry_after();
    let message = match throttled {
        Throttled::Address(_) => format!(
            "too many failed authentications from this address (at most {} a minute); try again in {seconds} s",
            state.limits.auth_failures_per_minute
        ),
        Throttled::Everyone(_) => format!(
            "too many failed authentications (at most {MAX_FAILURES_ANSWERED_PER_SECOND} a second in all); try again in {seconds} s"
        ),
        Throttled::Writes(_) => format!(
            "too many write requests with this token ([ingest] requests_per_minute = {}); nothing was written; try again in {seconds} s",
            state.publisher.config().ingest.requests_per_minute
        ),
    };
    let mut r = response::json_error(StatusCode::TOO_MANY_REQUESTS, &message, &[]);
    r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    r
}

/// `/articles/{id}`: built per request (few are asked for; they are not kept ready).
async fn article_page(id: String, edition: Edition, req: &Request<Incoming>, view: Arc<View>) -> Response<Body> {
    match tokio::task::spawn_blocking(move || view.article_page_in(&id, edition)).await {
        Ok(Ok(Some(page))) => response::html(page),
        Ok(Ok(None)) => response::error(StatusCode::NOT_FOUND, "no such article"),
        Ok(Err(e)) => response::store_unavailable(&e.to_string()),
        Err(_) => internal_error(req.method(), req.uri().path()),
    }
}

/// 500 for a handler that panicked, logged.
fn internal_error(method: &Method, path: &str) -> Response<Body> {
    tracing::error!("handler panicked on {method} {path}");
    response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}
