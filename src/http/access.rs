//! The access log: one line per request (target `sihai::access`, level info): method,
//! path, status, bytes, duration, coding, whether the answer came ready or had to be
//! rendered, client address, user agent.
//!
//! What a line needs is taken before the handler runs (cheap clones: the URI and the
//! user agent are reference-counted bytes), and nothing at all when the target is off
//! (`SIHAI_LOG=info,sihai::access=off`). Lines go through the log's queue, never a write
//! on the request path (`logging`).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use hyper::body::Body as _;
use hyper::header::{HeaderValue, CONTENT_ENCODING, USER_AGENT};
use hyper::{Method, Request, Response, Uri};

use super::response::Body;
use super::{client, State};

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
        })
    }

    /// Logs the line of `response`.
    pub fn log(self, response: &Response<Body>) {
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
            ready = response.extensions().get::<Rendered>().is_none(),
            ua,
            "request"
        );
    }
}
