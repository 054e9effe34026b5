//! One request, from route to response: the route table names what the path asks for,
//! then the method is checked (405 with `Allow`), then the token for `/api` routes (401),
//! then the one handler runs. Feeds and pages come ready (`ready.rs`); article pages and
//! API work run on the blocking pool. A panic while routing or handling becomes a 500.

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION};
use hyper::{Method, Request, Response, StatusCode};

use super::response::{self, Body};
use super::route::{Refusal, Route};
use super::{api, ready, State};

/// Answers one request.
pub async fn handle(req: Request<Incoming>, state: Arc<State>, peer: SocketAddr) -> Response<Body> {
    let _ = peer; // the client's address: for per-address limits (issue 12)
    let path = req.uri().path();
    let parsed = catch_unwind(AssertUnwindSafe(|| Route::parse(path, req.uri().query(), &state.publisher)));
    let route = match parsed {
        Ok(Ok(route)) => route,
        Ok(Err(refusal)) => return refused(refusal),
        Err(_) => return internal_error(req.method(), path),
    };
    if !route.allows(req.method()) {
        return method_not_allowed(&route, req.method());
    }
    if route.is_api() && !authorized(&req, &state) {
        return response::unauthorized();
    }
    match route {
        Route::Ready(key) => ready::serve(req.headers(), key, state).await,
        Route::Article(id) => article_page(id, &req, state).await,
        Route::ApiArticles if req.method() == Method::POST => api::post(req, state).await,
        Route::ApiArticles => api::blocking(state, move |s| api::list(s, req.uri().query())).await,
        Route::ApiArticle(id) if req.method() == Method::DELETE => {
            api::blocking(state, move |s| api::delete(s, &id)).await
        }
        Route::ApiArticle(id) => api::blocking(state, move |s| api::get(s, &id)).await,
        Route::ApiStats => api::stats(&state),
        Route::ApiExport => api::export(state),
    }
}

/// The answer to a path that names nothing served.
fn refused(refusal: Refusal) -> Response<Body> {
    match refusal {
        Refusal::NotFound => response::error(StatusCode::NOT_FOUND, "not found"),
        Refusal::NoApiRoute => response::json_error(StatusCode::NOT_FOUND, "no such API route", &[]),
        Refusal::BadFormat => response::error(StatusCode::BAD_REQUEST, "format must be rss, atom or json"),
        Refusal::BadLimit(max) => {
            response::error(StatusCode::BAD_REQUEST, &format!("limit must be a whole number from 1 to {max}"))
        }
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

/// Whether the request carries a bearer token the daemon accepts.
fn authorized(req: &Request<Incoming>, state: &State) -> bool {
    let Some(value) = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let mut parts = value.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or("");
    let token = parts.next().unwrap_or("").trim();
    scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && state.tokens.accepts(token)
}

/// `/articles/{id}`: built per request (few are asked for; they are not kept ready).
async fn article_page(id: String, req: &Request<Incoming>, state: Arc<State>) -> Response<Body> {
    match tokio::task::spawn_blocking(move || state.publisher.article_page(&id)).await {
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
