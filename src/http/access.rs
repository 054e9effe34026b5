//! The access log: one line per request (target `sihai::access`, level info): method,
//! path, status, bytes, duration, coding, whether the answer came ready or had to be
//! rendered, client address, user agent.
//!
//! What a line needs is taken before the handler runs (cheap clones: the URI and the
//! user agent are reference-counted bytes), and nothing at all when the target is off
//! (`SIHAI_LOG=info,sihai::access=off`). Lines go through the log's queue, never a write
//! on the request path (`logging`).
//!
//! Sampled on the hot path only: formatting a line costs a request about 7 µs, more than
//! the rest of a 304. Requests answered from ready bytes with 200 or 304 have one line in
//! `[log] ready_hits_every` (64; the line says `every=64`, so counts can be rebuilt);
//! every other request (a render, an error, the API, a page built for it) always has its
//! line.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hyper::body::Body as _;
use hyper::header::{HeaderValue, CONTENT_ENCODING, USER_AGENT};
use hyper::{Method, Request, Response, Uri};

use super::response::Body;
use super::{client, State};

/// Ready 200/304 answers seen, for the sampling of their lines.
static READY_HITS: AtomicU64 = AtomicU64::new(0);

/// Whether a path is one the publisher keeps ready (feeds, pages, OPML): the API, health
/// checks and article pages are not hits of the cache.
fn is_ready_path(uri: &Uri) -> bool {
    let path = uri.path();
    !(path.starts_with("/api") || path.starts_with("/articles/") || path == "/healthz" || path == "/readyz")
}

/// Set on a response whose representation was rendered or compressed for this request
/// (not answered from ready bytes).
#[derive(Clone, Copy)]
pub struct Rendered;

/// What the access line of one request needs from the request.
pub struct Line {
    started: Instant,
    method: Method,
    uri: Uri,
    user_agent: Option<HeaderValue>,
    client: IpAddr,
    /// `[log] ready_hits_every`.
    every: u64,
}

impl Line {
    /// The request's part of its line; `None` when the access log is off.
    pub fn of<B>(req: &Request<B>, peer: SocketAddr, state: &State) -> Option<Line> {
        if !tracing::enabled!(target: "sihai::access", tracing::Level::INFO) {
            return None;
        }
        let trusted = &state.limits.trusted_proxies;
        let client =
            if trusted.is_empty() { peer.ip() } else { client::client_address(peer.ip(), req.headers(), trusted) };
        Some(Line {
            started: Instant::now(),
            method: req.method().clone(),
            uri: req.uri().clone(),
            user_agent: req.headers().get(USER_AGENT).cloned(),
            client,
            every: state.ready_hits_every,
        })
    }

    /// Logs the line of `response` (one in `[log] ready_hits_every` of the ready 200/304
    /// answers).
    pub fn log(self, response: &Response<Body>) {
        let every = self.every;
        let ready = response.extensions().get::<Rendered>().is_none();
        let hit = ready && matches!(response.status().as_u16(), 200 | 304) && is_ready_path(&self.uri);
        if hit && every > 1 && READY_HITS.fetch_add(1, Ordering::Relaxed) % every != 0 {
            return;
        }
        let every = if hit { every } else { 1 };
        let bytes = response.body().size_hint().exact().map_or(-1, |n| n as i64);
        let coding = response.headers().get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
        let ua = self.user_agent.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("-");
        tracing::info!(
            target: "sihai::access",
            client = %self.client,
            method = %self.method,
            path = %self.uri,
            status = response.status().as_u16(),
            bytes,
            ms = format_args!("{:.3}", self.started.elapsed().as_secs_f64() * 1000.0),
            coding,
            ready,
            every,
            ua,
            "request"
        );
    }
}
