//! The HTTP server: accept loop, per-connection hyper service, graceful shutdown.
//!
//! The listener and the stop signal are arguments, so tests bind `127.0.0.1:0` and the
//! daemon binds the configured address.
//!
//! | file | owns |
//! |---|---|
//! | `route.rs` | the one route table: path and query -> [`route::Route`], allowed methods |
//! | `handle.rs` | one request: route, method, token, the handler; panics -> 500 |
//! | `ready.rs` | ready feeds and pages: codings, conditional GET, first renders |
//! | `api.rs` | the `/api` handlers |
//! | `response.rs` | building responses |

mod api;
mod handle;
mod ready;
mod response;
pub mod route;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::auth::Tokens;
use crate::publish::Publisher;

/// What every request handler shares.
pub struct State {
    /// Feeds, pages and writes.
    pub publisher: Arc<Publisher>,
    /// Tokens accepted by the `/api` routes.
    pub tokens: Tokens,
    /// Renders and compressions running at once: one per core. They are CPU-bound, so
    /// more at once gains nothing, and each holds megabytes while it runs (the document
    /// being built, brotli's window): a burst of first requests for every feed, each on
    /// its own blocking thread, was most of the daemon's peak memory.
    pub renders: tokio::sync::Semaphore,
}

impl State {
    /// The state of a server for `publisher`, accepting `tokens`.
    pub fn new(publisher: Arc<Publisher>, tokens: Tokens) -> State {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        State { publisher, tokens, renders: tokio::sync::Semaphore::new(cores) }
    }
}

/// Serves `state` on `listener` until `shutdown` completes, then lets in-flight
/// requests finish (up to `deadline`; `[server] shutdown_seconds`).
pub async fn serve(listener: TcpListener, state: Arc<State>, shutdown: impl Future<Output = ()>, deadline: Duration) {
    let builder = Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let service = service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle::handle(req, state).await) }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
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
