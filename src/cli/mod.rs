//! The `sihai` command line: parse arguments, run a command, say what happened.
//!
//! Each command returns an [`Outcome`]; `main` only turns it into an exit code (ripgrep's
//! main -> run -> exit code). One file per command that does more than a few lines:
//!
//! | file | command |
//! |---|---|
//! | `args.rs` | the arguments, as clap parses them |
//! | `outcome.rs` | how a command ends (exit codes), opening the store with a message |
//! | `serve.rs` | `sihai serve`: the process around [`crate::daemon::Daemon`] (runtime, socket, signals) |
//! | `import.rs` | `sihai import`: reading input files, batched writes into a stopped store |
//! | `backup.rs` | `sihai export` and `sihai import --restore` |
//! | `ingest.rs` | `sihai ingest`: the API client |
//! | `progress.rs` | progress of the long commands, on a terminal only |
//! | `client.rs` | the HTTP agent of `ingest` and `export` (https with the system's roots) and its messages |

mod args;
mod backup;
mod client;
mod import;
mod ingest;
mod outcome;
mod progress;
mod serve;
mod stats;

use crate::config::Config;

pub use args::{Cli, Command};
use outcome::open_store;
pub use outcome::Outcome;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sihai: {e}");
            return Ok(Outcome::BadConfig);
        }
    };
    let _log = crate::logging::init(&config.log);
    match cli.command {
        Command::CheckConfig => {
            print!("{}", config.tree_text());
            println!("{}: ok ({} categories)", cli.config.display(), config.categories.list.len());
            Ok(Outcome::Ok)
        }
        Command::Serve { listen, data_dir } => serve::serve(config, listen, data_dir),
        Command::Import { data_dir, restore: false, files } => import::import(&config, data_dir, &files),
        Command::Import { data_dir, restore: true, files } => backup::restore(&config, data_dir, &files),
        Command::Export { data_dir, server, token_file, output } => {
            backup::export(&config, data_dir, server, token_file.as_deref(), output.as_deref())
        }
        Command::Stats { days, server, token_file } => Ok(stats::stats(&config, server, token_file.as_deref(), days)),
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
            let server = server.unwrap_or_else(|| ingest::default_server(&config));
            let args = ingest::IngestArgs { server, token, dry_run, files: &files };
            let max_batch = (config.ingest.max_body_bytes / 2) as usize;
            Ok(match ingest::ingest(&args, max_batch) {
                ingest::ClientOutcome::Accepted => Outcome::Ok,
                ingest::ClientOutcome::Refused => Outcome::Refused,
                ingest::ClientOutcome::Unavailable => Outcome::StoreUnavailable,
            })
        }
    }
}
