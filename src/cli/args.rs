//! The command line as clap parses it: every command and its arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::DEFAULT_PATH;

/// What `sihai --help` says after the commands: the environment and the exit codes (the
/// README's table says the same).
const AFTER_HELP: &str = "\
Environment:
  SIHAI_LOG         log filter, overrides [log] level (info; e.g. sihai=debug,hyper=info)
  SIHAI_LOG_FORMAT  text or json (one JSON object a line), overrides [log] format
  SIHAI_TOKEN       the token ingest and export send (before --token-file)
  SSL_CERT_FILE     a PEM file of root certificates used instead of the system's, for
                    ingest and export over https:// (also SSL_CERT_DIR)

Exit codes:
  0  done
  1  input refused, nothing written (import, ingest, import --restore); serve cannot
     listen on its address (nothing on disk changed); a file the command writes failed
  2  the configuration is invalid (every problem is listed), or serve cannot read or
     create its token file
  3  the store cannot be used (in use by the daemon, unreadable, inconsistent, disk full)
     or the daemon cannot be reached or refused the token (ingest, export)
  4  a bug in sihai (a panic): please report it with the message

See README.md and config/README.md (every config key with its default).";

/// Per-category RSS 2.0, Atom 1.0 and JSON Feed 1.1 feeds, OPML and HTML pages for news
/// sites, from articles sent as JSON or as article pages.
#[derive(Parser, Debug)]
#[command(name = "sihai", version, long_about = None, after_help = AFTER_HELP)]
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
    /// Run the daemon: serve every feed, OPML, the pages and the ingest API over HTTP.
    ///
    /// Every category's, tag's and author's feed as RSS 2.0, Atom 1.0 and JSON Feed 1.1
    /// (/feeds/{slug}.rss|.atom|.json, /feeds/tag/{tag}.rss, /feeds/author/{name}.rss,
    /// archives by day), OPML of every feed (/feeds.opml), HTML pages (/, /c/{slug},
    /// /tag/{tag}, /author/{name}, /articles/{id}), the ingest API (/api) and /healthz,
    /// /readyz. Plain HTTP: put a TLS proxy in front. SIGTERM/SIGINT stop it cleanly.
    Serve {
        /// Address to listen on (overrides [server] listen).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Store directory (overrides [server] data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Validate the configuration and print the resolved category tree.
    ///
    /// An invalid file gets every problem listed with its line, key and fix (exit 2).
    CheckConfig,
    /// Send articles (.json, .jsonl, .txt/.html pages; - for stdin) to the running daemon.
    ///
    /// Article JSON (.json, .jsonl) or article pages (.txt, .html, in UTF-8 or GB18030);
    /// the file `-` is JSON from stdin. Sent to the daemon's API over http:// or https://.
    /// A file is refused whole if any of its articles is invalid; progress shows on a
    /// terminal.
    Ingest {
        /// The daemon's URL, http:// or https:// (a TLS proxy in front; certificates are
        /// checked against the system's roots, or SSL_CERT_FILE). Default: http:// and
        /// [server] listen.
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
    /// Import articles (.json, .jsonl, .txt/.html pages; - for stdin) into a stopped daemon's store.
    ///
    /// Article JSON (.json, .jsonl) or article pages (.txt, .html); - reads JSON from
    /// stdin. With --restore, FILE is an export (`sihai export`). Nothing is written if any
    /// article is invalid; progress shows on a terminal.
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
    /// Back up every article, tombstone and feed record as JSON Lines.
    ///
    /// A backup for `import --restore`: from the running daemon (GET /api/export) if it holds the
    /// store, else from the store directly.
    Export {
        /// Store directory (overrides [server] data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The daemon's URL when it runs, http:// or https:// (as for ingest).
        #[arg(long)]
        server: Option<String>,
        /// File holding the token when the daemon runs (default: SIHAI_TOKEN, then
        /// [ingest] token_file, then <data_dir>/ingest.token).
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Write here instead of stdout (written to FILE.partial, renamed when complete).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print who reads the feeds: per feed, today's subscribers (what aggregators report
    /// plus distinct direct readers), the change over 7, 30 and --days days, and the top
    /// aggregators. Asks the running daemon (GET /api/stats/feeds) with a token as ingest
    /// does (the stats token when [stats] token_file is set).
    Stats {
        /// Also show the change over this many days (1 to 400).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=400))]
        days: u64,
        /// The daemon's URL, http:// or https:// (default: from [server] listen).
        #[arg(long)]
        server: Option<String>,
        /// File holding the token (default: SIHAI_TOKEN, then [ingest] token_file, then
        /// <data_dir>/ingest.token).
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// Check that the (stopped) store's indexes (category, tag, author) and articles agree.
    ///
    /// Exit 3 if not, with each problem and its fix.
    CheckStore {
        /// Store directory (overrides [server] data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}
