//! The HTTP server: accept loop, per-connection hyper service, graceful shutdown.
//!
//! The listener and the stop signal are arguments, so tests bind `127.0.0.1:0` and the
//! daemon binds the configured address.
//!
//! | file | owns |
//! |---|---|
//! | `conn.rs` | what one connection may hold: caps, the idle and stalled-write watchdog |
//! | `route.rs` | the one route table: path and query -> [`route::Route`], allowed methods |
//! | `handle.rs` | one request: route, method, the API's gate (address, throttles, token), the handler; panics -> 500 |
//! | `client.rs` | which address is the client's (the peer, or a trusted proxy's `Forwarded` / `X-Forwarded-For`) |
//! | `throttle.rs` | failed tokens per address and in all, writes per token, the rate-limited refusal log |
//! | `ready.rs` | ready feeds and pages: codings, conditional GET, first renders |
//! | `api.rs` | the `/api` handlers |
//! | `metrics.rs` | `/metrics`: who may scrape, the gauges set at scrape, the encoding |
//! | `stats.rs` | `/stats`, `/stats/{feed}`, `/api/stats/feeds`: who may read, the pages and JSON |
//! | `response.rs` | building responses |

mod access;
mod api;
mod client;
pub mod conn;
mod handle;
mod metrics;
mod ready;
mod response;
pub mod route;
mod stats;
mod throttle;

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};

use arc_swap::ArcSwap;

use crate::auth::Credentials;
use crate::config::Limits;
use crate::publish::Publisher;
use conn::{Registry, Watched};

/// Streams one HTTP/2 connection may have open at once.
const MAX_STREAMS: u32 = 100;
/// How often a run of failing `accept`s is logged (with its count).
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

/// What every request handler shares.
pub struct State {
    /// Feeds, pages and writes.
    pub publisher: Arc<Publisher>,
    /// Tokens accepted by the `/api` routes and `/metrics`; swapped whole by a reload.
    pub credentials: ArcSwap<Credentials>,
    /// Renders and compressions running at once: one per core. They are CPU-bound, so
    /// more at once gains nothing, and each holds megabytes while it runs (the document
    /// being built, brotli's window): a burst of first requests for every feed, each on
    /// its own blocking thread, was most of the daemon's peak memory.
    pub renders: tokio::sync::Semaphore,
    /// What one client may hold or do (`[server]` limits).
    pub limits: Limits,
    /// The open connections, for the caps.
    pub connections: Arc<Registry>,
    /// The API's throttles (failed tokens, writes per token): guessing a token online must
    /// be hopeless, and one publishing system must not be able to flood the store.
    pub guard: throttle::Guard,
    /// `[log] ready_hits_every` (a restart setting), read by every access line.
    pub ready_hits_every: u64,
}

impl State {
    /// The state of a server for `publisher`, accepting `credentials`, with the config's
    /// limits (the connection cap fitted under `fd_limit`).
    pub fn new(publisher: Arc<Publisher>, credentials: Credentials, fd_limit: Option<u64>) -> State {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let config = publisher.config();
        let limits = config.server.limits.clone();
        let connections = Arc::new(Registry::new(&limits, fd_limit));
        let per_minute = config.ingest.requests_per_minute;
        let guard = throttle::Guard::new(limits.auth_failures_per_minute, per_minute, credentials.ingest.count());
        State {
            publisher,
            credentials: ArcSwap::from_pointee(credentials),
            renders: tokio::sync::Semaphore::new(cores),
            limits,
            connections,
            guard,
            ready_hits_every: config.log.ready_hits_every,
        }
    }

    /// Accepts `credentials` from now on (a reload): requests already past their gate
    /// keep the answer they had; the write-rate buckets start over for the new list.
    pub fn set_credentials(&self, credentials: Credentials) {
        self.guard.tokens_changed(credentials.ingest.count());
        self.credentials.store(Arc::new(credentials));
    }
}

/// Serves `state` on `listener` until `shutdown` completes, then lets in-flight
/// requests finish (up to `deadline`; `[server] shutdown_seconds`).
pub async fn serve(listener: TcpListener, state: Arc<State>, shutdown: impl Future<Output = ()>, deadline: Duration) {
    let mut builder = Builder::new(TokioExecutor::new());
    // hyper's timeouts act only with a timer. Half-closed clients (a request, then
    // shutdown of their write side) still get their answer.
    builder.http1().timer(TokioTimer::new()).header_read_timeout(state.limits.header_timeout).half_close(true);
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(MAX_STREAMS);
    let graceful = GracefulShutdown::new();
    let mut failing = AcceptFailures::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    failing.recovered();
                    serve_connection(stream, peer, &state, &builder, &graceful);
                }
                Err(e) => tokio::time::sleep(failing.failed(&e)).await,
            },
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(deadline) => tracing::warn!("in-flight requests still running after {deadline:?}; closing them"),
    }
}

/// Admits one connection (or refuses it at a cap) and serves it until it ends, its
/// watchdog closes it, or the server shuts down.
fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    state: &Arc<State>,
    builder: &Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
) {
    let admitted = match state.connections.admit(peer.ip()) {
        Ok(a) => a,
        Err(refused) => return refuse(stream, peer, refused),
    };
    let _ = stream.set_nodelay(true);
    let activity = admitted.activity.clone();
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    let service = {
        let (state, activity) = (state.clone(), activity.clone());
        service_fn(move |req| {
            let (state, activity) = (state.clone(), activity.clone());
            async move {
                let _in_flight = activity.enter();
                let line = access::Line::of(&req, peer, &state);
                let route = crate::metrics::route_class(req.uri().path());
                // A panic anywhere in a handler (a bug) is answered 500 and logged; the
                // connection and the daemon go on.
                let answer = AssertUnwindSafe(handle::handle(req, &state, peer)).catch_unwind().await;
                let answer = answer.unwrap_or_else(|_| {
                    tracing::error!("a request handler panicked (a bug; client {peer}): answered 500");
                    response::error(hyper::StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                });
                count(&state, route, &answer);
                if let Some(line) = line {
                    line.log(&answer);
                }
                Ok::<_, std::convert::Infallible>(answer)
            }
        })
    };
    let conn = graceful.watch(builder.serve_connection(io, service).into_owned());
    let (idle, write) = (state.limits.idle_timeout, state.limits.write_timeout);
    tokio::spawn(async move {
        let _admitted = admitted;
        tokio::select! {
            ended = conn => if let Err(e) = ended {
                tracing::debug!("connection from {peer} ended: {e}");
            },
            why = conn::watchdog(&activity, idle, write) => tracing::debug!("connection from {peer} closed: {why:?}"),
        }
    });
}

/// Counts an answered request in the metrics: its route class, status, coding and bytes.
fn count(state: &State, route: usize, answer: &hyper::Response<response::Body>) {
    use hyper::body::Body as _;
    let coding =
        crate::metrics::coding_class(answer.headers().get(hyper::header::CONTENT_ENCODING).map(|v| v.as_bytes()));
    let bytes = answer.body().size_hint().exact().unwrap_or(0);
    state.publisher.metrics.request(route, answer.status().as_u16(), coding, bytes);
}

/// Answers a connection refused at a cap with a 503 (best effort, never waiting) and
/// closes it.
fn refuse(stream: TcpStream, peer: SocketAddr, refused: conn::Refused) {
    tracing::debug!("connection from {peer} refused: {refused:?}");
    let _ = stream.try_write(
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
}

/// A run of failing `accept`s (EMFILE: out of descriptors): backs off instead of spinning,
/// and logs once per [`ACCEPT_LOG_EVERY`] with the count, so a flood cannot fill the log.
#[derive(Default)]
struct AcceptFailures {
    count: u64,
    logged: Option<Instant>,
    backoff: Duration,
}

impl AcceptFailures {
    /// Records a failure; how long to wait before accepting again.
    fn failed(&mut self, e: &std::io::Error) -> Duration {
        self.count += 1;
        if self.logged.is_none_or(|t| t.elapsed() >= ACCEPT_LOG_EVERY) {
            tracing::warn!("accept failed {} time(s) (last: {e}); backing off", self.count);
            self.logged = Some(Instant::now());
            self.count = 0;
        }
        self.backoff = (self.backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
        self.backoff
    }

    /// An `accept` succeeded: the next failure starts a new run.
    fn recovered(&mut self) {
        self.backoff = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_accepts_back_off_up_to_a_second_and_start_over_after_a_success() {
        let mut f = AcceptFailures::default();
        let e = std::io::Error::from_raw_os_error(24); // EMFILE
        let waits: Vec<u128> = (0..10).map(|_| f.failed(&e).as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        assert!(f.logged.is_some(), "the first failure of a run is logged");
        assert_eq!(f.count, 9, "the rest are counted for the next line, not logged");
        f.recovered();
        assert_eq!(f.failed(&e).as_millis(), 10);
    }
}
