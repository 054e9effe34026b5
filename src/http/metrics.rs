//! `GET /metrics`: who may scrape, the gauges set at scrape time, the encoding.
//!
//! Open, as Miniflux does it, to the clients of `[metrics] allowed_networks` (default
//! loopback), judged on the client address as `[server] trusted_proxies` defines it: behind
//! a trusted proxy on the same host the client is the forwarded address, so the proxy does
//! not open `/metrics` to the world. Any other client needs the token of `[metrics]
//! token_file`; a wrong token counts as a failed authentication (the API's throttle).
//! Everyone else gets 403.
//!
//! OpenMetrics text when the scraper asks for it (`Accept: application/openmetrics-text`,
//! as Prometheus does), else the Prometheus text format 0.0.4.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};

use super::response::{self, Body};
use super::{client, State};
use crate::metrics::FeedLabel;

/// Answers a scrape (or refuses it).
pub async fn serve(req: &Request<Incoming>, state: Arc<State>, peer: SocketAddr) -> Response<Body> {
    if let Err(refused) = allowed(req, &state, peer) {
        return *refused;
    }
    let openmetrics = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    let s = state.clone();
    let figures = tokio::task::spawn_blocking(move || s.publisher.figures()).await;
    let metrics = &state.publisher.metrics;
    match figures {
        Ok(Ok(f)) => {
            metrics.store_bytes.set(f.disk_bytes as i64);
            metrics.store_articles.set(f.articles as i64);
            metrics.scheduled_articles.set(f.scheduled as i64);
        }
        Ok(Err(e)) => tracing::warn!("metrics: the store's figures could not be read: {e}"),
        Err(_) => tracing::warn!("metrics: reading the store's figures failed"),
    }
    metrics.cache_bytes.set(state.publisher.cache_bytes() as i64);
    // Only today's feeds: one not read since midnight has no series until it is.
    metrics.feed_subscribers.clear();
    metrics.feed_aggregator_subscribers.clear();
    metrics.feed_direct_readers.clear();
    // The config's feeds only (tag and author feeds are too many for series of their own:
    // `/stats` and `/api/stats/feeds` have them).
    for (feed, day) in state.publisher.readership.today().1.into_iter().filter(|(f, _)| !f.contains('/')) {
        let label = FeedLabel { feed };
        metrics.feed_subscribers.get_or_create(&label).set(day.subscribers() as i64);
        metrics.feed_aggregator_subscribers.get_or_create(&label).set(day.aggregator_subscribers() as i64);
        metrics.feed_direct_readers.get_or_create(&label).set(day.readers as i64);
    }
    metrics.connections_open.set(state.connections.open() as i64);
    let (text, content_type) = metrics.encode(openmetrics);
    let mut r = Response::new(response::full(text));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `Ok` when the client's address is allowed or it sent the scrape token.
fn allowed(req: &Request<Incoming>, state: &State, peer: SocketAddr) -> Result<(), Box<Response<Body>>> {
    let config = state.publisher.config();
    let client = client::client_address(peer.ip(), req.headers(), &state.limits.trusted_proxies);
    if config.metrics.allowed_networks.iter().any(|n| n.contains(&client)) {
        return Ok(());
    }
    let credentials = state.credentials.load();
    let presented = client::bearer(req.headers());
    if let (Some(token), Some(accepted)) = (presented, &credentials.metrics) {
        if accepted.accepts(token) {
            return Ok(());
        }
    }
    let now = Instant::now();
    if presented.is_some() && state.guard.failed(client, now).is_err() {
        return Err(Box::new(response::error(StatusCode::TOO_MANY_REQUESTS, "too many failed authentications")));
    }
    state.guard.log_refusal(
        now,
        format_args!("metrics refused to {client}: not in [metrics] allowed_networks, no valid token"),
    );
    Err(Box::new(response::error(
        StatusCode::FORBIDDEN,
        "metrics are open to [metrics] allowed_networks and to the bearer of its token_file",
    )))
}
