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
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::auth::Credentials;
use crate::config::Config;
use crate::http::State;
use crate::metrics::Metrics;
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
        let metrics = Arc::new(Metrics::new());
        let publisher = Arc::new(Publisher::new(config.clone(), store.clone(), metrics).map_err(StartError::Store)?);
        let credentials = Credentials::load(&config, &config.server.data_dir).map_err(StartError::Tokens)?;
        tracing::info!("ingest API tokens from {}", credentials.ingest.origin);
        let fd_limit = crate::http::conn::raise_fd_limit();
        let state = State::new(publisher, credentials, fd_limit);
        tracing::info!(
            "at most {} connections ({} per client address; file-descriptor limit {})",
            state.connections.max_connections(),
            state.limits.max_connections_per_address,
            fd_limit.map_or("unknown".to_string(), |n| n.to_string())
        );
        Ok(Daemon { config, store, state: Arc::new(state) })
    }

    /// A handle that reloads this daemon's configuration and tokens from `path` (SIGHUP),
    /// applying `overrides` (the command line's) to what it reads, as at start.
    pub fn reloader(&self, path: PathBuf, overrides: Overrides) -> Reloader {
        Reloader { state: self.state.clone(), path, overrides }
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
        let (stop_flushing, flushing_stopped) = tokio::sync::oneshot::channel::<()>();
        let flusher = tokio::spawn(flush_readership(publisher.clone(), self.config.stats.flush_seconds, async {
            let _ = flushing_stopped.await;
        }));
        let deadline = Duration::from_secs(self.config.server.shutdown_seconds);
        // systemd (`Type=notify`) hears that the daemon serves; a no-op elsewhere.
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        let shutdown = async {
            shutdown.await;
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        };
        crate::http::serve(listener, self.state, shutdown, deadline).await;
        let _ = stop_scheduler.send(());
        let _ = scheduler.await;
        let _ = stop_flushing.send(());
        let _ = flusher.await;
        if let Err(e) = publisher.flush_readership() {
            tracing::error!("readership: writing today's counts at shutdown failed: {e}");
        }
        publisher.websub.stop();
        if let Some(w) = websub {
            let _ = w.join();
        }
        self.store.flush()
    }
}

/// Writes today's readership counts every `seconds` until `stop` completes (the last
/// write is the caller's, after the server stopped).
async fn flush_readership(publisher: Arc<Publisher>, seconds: u64, stop: impl Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    let mut every = tokio::time::interval(Duration::from_secs(seconds.max(1)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = &mut stop => return,
        }
        let p = publisher.clone();
        match tokio::task::spawn_blocking(move || p.flush_readership()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("readership: writing today's counts failed: {e}; retrying at the next flush"),
            Err(e) => tracing::error!("readership: the flush task failed: {e}"),
        }
    }
}

/// What the command line sets over the config file (kept across reloads).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
}

impl Overrides {
    /// `config` with the overrides applied.
    pub fn apply(&self, mut config: Config) -> Config {
        if let Some(l) = self.listen {
            config.server.listen = l;
        }
        if let Some(d) = &self.data_dir {
            config.server.data_dir = d.clone();
        }
        config
    }
}

/// Reloads a running daemon's configuration and tokens (what `SIGHUP` does).
pub struct Reloader {
    state: Arc<State>,
    path: PathBuf,
    overrides: Overrides,
}

impl Reloader {
    /// Re-reads the config file and the token files and applies them, or, if either
    /// fails, changes nothing and logs every problem. Settings that cannot change while
    /// running are logged as needing a restart (and keep their running values). Blocking
    /// (it records the feeds' new signatures in the store): call it off the executor.
    pub fn reload(&self) -> bool {
        let applied = self.try_reload();
        let outcome = if applied { "applied" } else { "refused" };
        Metrics::count(&self.state.publisher.metrics.reloads, outcome, 1);
        applied
    }

    fn try_reload(&self) -> bool {
        let path = &self.path;
        let new = match Config::load(path) {
            Ok(c) => self.overrides.apply(c),
            Err(e) => {
                tracing::error!("reload refused, the running configuration is kept: {}: {e}", path.display());
                return false;
            }
        };
        let running = self.state.publisher.config();
        // The store stays where it is until a restart: the generated token file is there.
        let credentials = match Credentials::load(&new, &running.server.data_dir) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("reload refused, the running configuration is kept: ingest tokens: {e}");
                return false;
            }
        };
        for key in running.needs_restart(&new) {
            tracing::warn!(
                "reload: {key} changed in {} and needs a restart; the running value is kept",
                path.display()
            );
        }
        let new = new.keeping_restart_settings(&running);
        let (before, after) = (running.categories.list.len(), new.categories.list.len());
        if let Err(e) = self.state.publisher.reload(new) {
            tracing::error!("reload refused, the running configuration is kept: recording the feeds: {e}");
            return false;
        }
        self.state.set_credentials(credentials);
        tracing::info!(
            "configuration reloaded from {}: {after} categories (were {before}); tokens from {}",
            path.display(),
            self.state.credentials.load().ingest.origin
        );
        true
    }
}
