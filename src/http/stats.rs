//! Readership for the publisher: `/stats` (every feed), `/stats/{feed}` (one feed over 90
//! days) and `/api/stats/feeds[?days=N]` (JSON, what `sihai stats` prints).
//!
//! Who may read them (`[stats] access`): by default the bearer of an ingest token, or of
//! `[stats] token_file`'s token when one is set; or anyone (`public`). Never "open to
//! loopback": behind a proxy on the same host every request comes from loopback. Failed
//! tokens count against the API's throttle of failures. Built per request from at most
//! `days` day records (never the articles), off the executor.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};
use serde_json::json;

use super::response::{self, Body};
use super::route::{param, Route};
use super::{client, State};
use crate::feed;
use crate::readers::report;

/// Days a feed's page charts.
const CHART_DAYS: u64 = 90;
/// Days the JSON carries by default (the table compares with 30 days ago).
const DEFAULT_DAYS: u64 = 31;

/// Answers a stats route (or refuses it).
pub async fn serve(req: &Request<Incoming>, route: Route, state: Arc<State>, peer: SocketAddr) -> Response<Body> {
    if let Err(refused) = allowed(req, &state, peer) {
        return *refused;
    }
    // The days a page or the JSON shows; at least the table's 31 are read (it compares with
    // 30 days ago).
    let shown = match &route {
        Route::StatsFeed(_) => CHART_DAYS,
        Route::ApiStatsFeeds => match param(req.uri().query(), "days").map(|d| d.parse::<u64>()) {
            None => DEFAULT_DAYS,
            Some(Ok(n)) if (1..=400).contains(&n) => n,
            Some(_) => {
                return response::json_error(StatusCode::BAD_REQUEST, "days must be a number from 1 to 400", &[])
            }
        },
        _ => DEFAULT_DAYS,
    };
    let days = shown.max(DEFAULT_DAYS);
    let s = state.clone();
    let history = match tokio::task::spawn_blocking(move || s.publisher.readership_history(days)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return response::store_unavailable(&e.to_string()),
        Err(_) => return response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    };
    let (today, history) = history;
    let site = state.publisher.config();
    let mut answer = match route {
        Route::Stats => response::html(feed::stats::table_page(&site, today, &report::table(&history, today))),
        Route::StatsFeed(name) => {
            if !history.values().any(|feeds| feeds.contains_key(&name)) {
                return response::error(StatusCode::NOT_FOUND, "no readership recorded for that feed");
            }
            let day = history.get(&today).and_then(|f| f.get(&name)).cloned().unwrap_or_default();
            let page = feed::stats::feed_page(
                &site,
                &report::summary(&history, &name, today),
                &report::series(&history, &name, today, CHART_DAYS),
                &day,
            );
            response::html(page)
        }
        _ => {
            let rows = report::table(&history, today);
            let feeds: Vec<serde_json::Value> = rows
                .iter()
                .map(|row| {
                    let series: Vec<serde_json::Value> = report::series(&history, &row.feed, today, shown)
                        .into_iter()
                        .map(|(d, n)| json!({"day": d.to_string(), "subscribers": n}))
                        .collect();
                    json!({"summary": row, "series": series})
                })
                .collect();
            response::json(StatusCode::OK, &json!({"today": today.to_string(), "days": shown, "feeds": feeds}))
        }
    };
    answer.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    answer
}

/// `Ok` when the stats are public or the request carries an accepted token.
fn allowed(req: &Request<Incoming>, state: &State, peer: SocketAddr) -> Result<(), Box<Response<Body>>> {
    let config = state.publisher.config();
    if config.stats.public {
        return Ok(());
    }
    let credentials = state.credentials.load();
    let accepted = client::bearer(req.headers()).is_some_and(|t| match &credentials.stats {
        Some(stats) => stats.accepts(t),
        None => credentials.ingest.accepts(t),
    });
    if accepted {
        return Ok(());
    }
    let client = client::client_address(peer.ip(), req.headers(), &state.limits.trusted_proxies);
    let now = Instant::now();
    let mut r = match state.guard.failed(client, now) {
        Ok(()) => response::error(
            StatusCode::UNAUTHORIZED,
            "the stats need a token: send `Authorization: Bearer TOKEN` (an ingest token, or [stats] token_file's)",
        ),
        Err(_) => response::error(StatusCode::TOO_MANY_REQUESTS, "too many failed authentications"),
    };
    state.guard.log_refusal(now, format_args!("stats refused {} to {client}: no valid token", r.status().as_u16()));
    r.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"sihai stats\""));
    Err(Box::new(r))
}
