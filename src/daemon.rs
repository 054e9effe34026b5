//! The daemon, assembled in one place: from a config, a listener and a shutdown future to
//! a serving process and back.
//!
//! [`Daemon::open`] does what can fail before serving (open the store, record the
//! config's feeds, load the tokens); [`Daemon::run`] starts WebSub, the scheduler of
//! releases and the HTTP server on the listener it is given, and stops them in order when
//! `shutdown` completes. The socket and the stop signal are arguments (mini-redis's
//! `server::run(listener, shutdown)`): `sihai serve` binds the configured address and
//! passes SIGTERM/SIGINT, a test could bind `127.0.0.1:0` and pass its own future.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::auth::Tokens;
use crate::config::Config;
use crate::http::State;
use crate::publish::{self, Publisher};
use crate::store::{Store, StoreError, DEFAULT_CACHE_BYTES};

/// Threads for renders, compressions and store work in the daemon. Each thread keeps an
/// allocator heap: 16 measured 144 MiB peak RSS under the every-feed load of a 10k store,
/// 8 measured 115 MiB, 4 measured 99 MiB but cut 16 single-article clients from 3,400 to
/// 2,200 acknowledged articles/s (fewer writers wait to share a group commit).
const BLOCKING_THREADS: usize = 8;

/// Why the daemon could not start.
#[derive(Debug)]
pub enum StartError {
    /// The store could not be opened or written (exit 3).
    Store(StoreError),
    /// The ingest tokens could not be read or created (exit 2: a configuration problem).
    Tokens(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Store(e) => write!(f, "{e}"),
            StartError::Tokens(e) => write!(f, "ingest tokens: {e}"),
        }
    }
}

/// A daemon ready to serve: its store open, its feeds recorded, its tokens loaded.
pub struct Daemon {
    config: Arc<Config>,
    store: Arc<Store>,
    state: Arc<State>,
}

impl Daemon {
    /// Opens the store of `config` and prepares everything serving needs.
    pub fn open(config: Config) -> Result<Daemon, StartError> {
        let store = Arc::new(Store::open(&config.server.data_dir, DEFAULT_CACHE_BYTES).map_err(StartError::Store)?);
        let config = Arc::new(config);
        let publisher = Arc::new(Publisher::new(config.clone(), store.clone()).map_err(StartError::Store)?);
        let tokens = Tokens::load(&config, &config.server.data_dir).map_err(StartError::Tokens)?;
        tracing::info!("ingest API tokens from {}", tokens.origin);
        let fd_limit = crate::http::conn::raise_fd_limit();
        let state = State::new(publisher, tokens, fd_limit);
        tracing::info!(
            "at most {} connections ({} per client address; file-descriptor limit {})",
            state.connections.max_connections(),
            state.limits.max_connections_per_address,
            fd_limit.map_or("unknown".to_string(), |n| n.to_string())
        );
        Ok(Daemon { config, store, state: Arc::new(state) })
    }

    /// The runtime the daemon runs on. Renders and compressions run on its blocking pool;
    /// a bounded pool keeps a burst of first requests from growing hundreds of threads
    /// (each with its allocator heap).
    pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(BLOCKING_THREADS).build()
    }

    /// Serves on `listener` until `shutdown` completes, then lets in-flight requests finish
    /// (up to `[server] shutdown_seconds`), stops the scheduler and WebSub, and makes
    /// every write durable.
    pub async fn run(self, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<(), StoreError> {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(
                "listening on http://{addr}/ (store {}, {} categories)",
                self.config.server.data_dir.display(),
                self.config.categories.list.len()
            );
        }
        let publisher = self.state.publisher.clone();
        let websub = publisher.websub.start();
        let (stop_scheduler, stopped) = tokio::sync::oneshot::channel::<()>();
        let scheduler = tokio::spawn(publish::run_scheduler(publisher.clone(), async {
            let _ = stopped.await;
        }));
        let deadline = Duration::from_secs(self.config.server.shutdown_seconds);
        crate::http::serve(listener, self.state, shutdown, deadline).await;
        let _ = stop_scheduler.send(());
        let _ = scheduler.await;
        publisher.websub.stop();
        if let Some(w) = websub {
            let _ = w.join();
        }
        self.store.flush()
    }
}
