//! The `sihai` command line: parse arguments, run a command, say what happened.
//!
//! Each command returns an [`Outcome`]; `main` only turns it into an exit code.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::client;
use crate::config::{Config, DEFAULT_PATH};
use crate::ingest::{self, InputKind, Parsed};
use crate::model::WriteStatus;
use crate::publish::{self, Publisher};
use crate::store::{Store, StoreError};

/// Threads for renders, compressions and store work in the daemon. Each thread keeps an
/// allocator heap: 16 measured 144 MiB peak RSS under the every-feed load of a 10k store,
/// 8 measured 115 MiB, 4 measured 99 MiB but cut 16 single-article clients from 3,400 to
/// 2,200 acknowledged articles/s (fewer writers wait to share a group commit).
const BLOCKING_THREADS: usize = 8;
/// Articles written per atomic batch by `import`.
const IMPORT_BATCH: usize = 1_000;

/// Per-category RSS 2.0 and Atom 1.0 feeds for news sites.
#[derive(Parser, Debug)]
#[command(name = "sihai", version, about)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = DEFAULT_PATH)]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon: serve every feed over HTTP.
    Serve {
        /// Address to listen on (overrides [server] listen).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Store directory (overrides [server] data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Validate the configuration and print the resolved category tree.
    CheckConfig,
    /// Send articles (.json, .jsonl, .txt/.html pages; - for stdin) to the running daemon.
    Ingest {
        /// The daemon's URL (default: http:// and [server] listen).
        #[arg(long)]
        server: Option<String>,
        /// File holding the token (default: SIHAI_TOKEN, then [ingest] token_file, then
        /// <data_dir>/ingest.token).
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Validate and report what would happen; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Files to send.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Import articles (.json, .jsonl; - for stdin) into the store while the daemon is
    /// stopped. Nothing is written if any article is invalid.
    Import {
        /// Store directory (overrides [server] data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Restore an export (`sihai export`) into an empty store, keeping GUIDs and times.
        #[arg(long)]
        restore: bool,
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write every article, tombstone and feed record as JSON Lines: from the running
    /// daemon (GET /api/export) if it holds the store, else from the store directly.
    Export {
        /// Store directory (overrides [server] data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The daemon's URL (when it runs).
        #[arg(long)]
        server: Option<String>,
        /// File holding the token (when the daemon runs).
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Write here instead of stdout (written to FILE.partial, renamed when complete).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Check that the (stopped) store's indexes and articles agree.
    CheckStore {
        /// Store directory (overrides [server] data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// How a command ended; `main` maps it to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done (exit 0).
    Ok,
    /// Input refused: nothing written (exit 1).
    Refused,
    /// Configuration invalid (exit 2).
    BadConfig,
    /// The store could not be used (exit 3).
    StoreUnavailable,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Refused => 1,
            Outcome::BadConfig => 2,
            Outcome::StoreUnavailable => 3,
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sihai: {e}");
            return Ok(Outcome::BadConfig);
        }
    };
    match cli.command {
        Command::CheckConfig => {
            print!("{}", config.tree_text());
            println!("{}: ok ({} categories)", cli.config.display(), config.categories.list.len());
            Ok(Outcome::Ok)
        }
        Command::Serve { listen, data_dir } => serve(config, listen, data_dir),
        Command::Import { data_dir, restore: false, files } => import(&config, data_dir, &files),
        Command::Import { data_dir, restore: true, files } => crate::backup::restore(&config, data_dir, &files),
        Command::Export { data_dir, server, token_file, output } => {
            crate::backup::export(&config, data_dir, server, token_file.as_deref(), output.as_deref())
        }
        Command::CheckStore { data_dir } => {
            let dir = data_dir.unwrap_or_else(|| config.server.data_dir.clone());
            let store = match open_store(&dir) {
                Ok(s) => s,
                Err(o) => return Ok(o),
            };
            let problems = store.verify()?;
            for p in &problems {
                eprintln!("{}: {p}", dir.display());
            }
            if problems.is_empty() {
                println!("{}: consistent", dir.display());
                Ok(Outcome::Ok)
            } else {
                eprintln!("sihai: {} problem(s) in the store", problems.len());
                Ok(Outcome::StoreUnavailable)
            }
        }
        Command::Ingest { server, token_file, dry_run, files } => {
            let token = match crate::auth::client_token(&config, token_file.as_deref()) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("sihai: {e}");
                    return Ok(Outcome::StoreUnavailable);
                }
            };
            let server = server.unwrap_or_else(|| client::default_server(&config));
            let args = client::IngestArgs { server, token, dry_run, files: &files };
            let max_batch = (config.ingest.max_body_bytes / 2) as usize;
            Ok(match client::ingest(&args, max_batch) {
                client::ClientOutcome::Accepted => Outcome::Ok,
                client::ClientOutcome::Refused => Outcome::Refused,
                client::ClientOutcome::Unavailable => Outcome::StoreUnavailable,
            })
        }
    }
}

/// Opens the store, printing why not (and the outcome to exit with) when it cannot.
pub fn open_store(dir: &Path) -> Result<Store, Outcome> {
    Store::open(dir, crate::store::DEFAULT_CACHE_BYTES).map_err(|e| {
        eprintln!("sihai: {e}");
        Outcome::StoreUnavailable
    })
}

fn serve(mut config: Config, listen: Option<SocketAddr>, data_dir: Option<PathBuf>) -> anyhow::Result<Outcome> {
    if let Some(l) = listen {
        config.server.listen = l;
    }
    if let Some(d) = data_dir {
        config.server.data_dir = d;
    }
    let store = match open_store(&config.server.data_dir) {
        Ok(s) => Arc::new(s),
        Err(o) => return Ok(o),
    };
    let config = Arc::new(config);
    let publisher = match Publisher::new(config.clone(), store.clone()) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            eprintln!("sihai: {e}");
            return Ok(Outcome::StoreUnavailable);
        }
    };
    let tokens = match crate::auth::Tokens::load(&config, &config.server.data_dir) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sihai: ingest tokens: {e}");
            return Ok(Outcome::BadConfig);
        }
    };
    tracing::info!("ingest API tokens from {}", tokens.origin);
    let publisher_for_shutdown = publisher.clone();
    let state = Arc::new(crate::http::State::new(publisher, tokens));
    // Renders and compressions run on the blocking pool; a bounded pool keeps a burst of
    // first requests from growing hundreds of threads (each with its allocator heap).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        let addr = listener.local_addr()?;
        // Handlers go in before "listening" is logged: a signal sent by anyone who saw
        // that line must stop the daemon gracefully, never kill it by the default action.
        let stop = stop_signal()?;
        tracing::info!(
            "listening on http://{addr}/ (store {}, {} categories)",
            config.server.data_dir.display(),
            config.categories.list.len()
        );
        let websub = state.publisher.websub.start();
        let (stop_scheduler, stopped) = tokio::sync::oneshot::channel::<()>();
        let scheduler = tokio::spawn(publish::run_scheduler(state.publisher.clone(), async {
            let _ = stopped.await;
        }));
        let deadline = std::time::Duration::from_secs(config.server.shutdown_seconds);
        crate::http::serve(listener, state, stop, deadline).await;
        let _ = stop_scheduler.send(());
        let _ = scheduler.await;
        publisher_for_shutdown.websub.stop();
        if let Some(w) = websub {
            let _ = w.join();
        }
        anyhow::Ok(())
    })?;
    store.flush().context("flushing the store at shutdown")?;
    tracing::info!("stopped");
    Ok(Outcome::Ok)
}

/// Installs the SIGINT and SIGTERM handlers now and returns a future that completes on
/// either; installing eagerly closes the window where a signal would kill the process.
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Reads one input file (`-` for stdin, read as JSON) into articles and problems.
pub fn read_input(path: &Path, config: &Config) -> Parsed {
    let name = path.display().to_string();
    let kind = if name == "-" {
        InputKind::Json
    } else {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match InputKind::from_extension(ext) {
            Some(k) => k,
            None => {
                let msg = format!(
                    "cannot read .{ext} files: give .json or .jsonl (article JSON) or .txt/.html (article pages)"
                );
                return Parsed { problems: vec![ingest::Problem::whole(&name, msg)], ..Parsed::default() };
            }
        }
    };
    let bytes = if name == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    match bytes {
        Ok(bytes) => ingest::parse_input(&name, &bytes, kind, config),
        Err(e) => {
            Parsed { problems: vec![ingest::Problem::whole(&name, format!("cannot read: {e}"))], ..Parsed::default() }
        }
    }
}

fn import(config: &Config, data_dir: Option<PathBuf>, files: &[PathBuf]) -> anyhow::Result<Outcome> {
    let mut articles = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        let parsed = read_input(file, config);
        articles.extend(parsed.articles);
        problems.extend(parsed.problems);
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        let bad: std::collections::HashSet<_> = problems.iter().map(|p| (p.source.clone(), p.index)).collect();
        eprintln!("sihai: nothing imported: {} problem(s) in {} article(s) or file(s)", problems.len(), bad.len());
        return Ok(Outcome::Refused);
    }
    let dir = data_dir.unwrap_or_else(|| config.server.data_dir.clone());
    let store = match open_store(&dir) {
        Ok(s) => s,
        Err(o) => return Ok(o),
    };
    let total = articles.len();
    let counts = match write_all(config, &store, articles) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sihai: import failed: {e}; articles written before the failure are kept, run the import again to complete it");
            return Ok(Outcome::StoreUnavailable);
        }
    };
    drop(store);
    Store::checkpoint(&dir);
    println!(
        "imported {total} article(s) from {} file(s) into {}: {} created, {} updated, {} unchanged",
        files.len(),
        dir.display(),
        counts[0],
        counts[1],
        counts[2]
    );
    Ok(Outcome::Ok)
}

/// Writes articles in atomic batches and flushes; counts of created, updated, unchanged.
/// A second thread prepares each batch (excerpts, encoded records) while the store writes
/// the one before: sled applies a batch on one core, and the preparing uses the other.
fn write_all(config: &Config, store: &Store, articles: Vec<crate::model::Article>) -> Result<[usize; 3], StoreError> {
    let now = crate::time::now();
    publish::sync_feeds(config, store, now)?;
    let authority = config.site.tag_authority.as_str();
    let mut counts = [0usize; 3];
    let (ready, prepared) = std::sync::mpsc::sync_channel(1);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut articles = articles.into_iter().peekable();
            while articles.peek().is_some() {
                let chunk: Vec<_> = articles.by_ref().take(IMPORT_BATCH).collect();
                if ready.send(store.prepare(chunk, now, authority)).is_err() {
                    return; // the writer stopped on an error
                }
            }
        });
        for batch in prepared {
            for w in store.upsert_prepared(batch)?.written {
                counts[match w.status {
                    WriteStatus::Created => 0,
                    WriteStatus::Updated => 1,
                    WriteStatus::Unchanged => 2,
                }] += 1;
            }
        }
        Ok::<(), StoreError>(())
    })?;
    store.flush()?;
    Ok(counts)
}
