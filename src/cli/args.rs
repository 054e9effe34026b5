//! The command line as clap parses it: every command and its arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::DEFAULT_PATH;

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
