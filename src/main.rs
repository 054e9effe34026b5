//! The `sihai` binary: parse the command line, run it, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the store and renderers allocate many short-lived buffers; glibc's malloc
/// spent a fifth of an import in its own bookkeeping. Built with `no_thp`: with
/// transparent huge pages (`madvise` mode here) mimalloc's 2 MiB pages took the daemon's
/// peak RSS under the every-feed load from 144 MiB to 391 MiB (10k store, 16 threads).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Logging starts in `cli::run`, once the config (its `[log]`) is read.
    let cli = sihai::cli::Cli::parse();
    // A panic is a bug, never an answer to input: it ends the command with its own
    // documented code (4), not Rust's 101, after the panic message.
    match std::panic::catch_unwind(|| sihai::cli::run(cli)) {
        Ok(Ok(outcome)) => ExitCode::from(outcome.code()),
        Ok(Err(e)) => {
            eprintln!("sihai: {e:#}");
            ExitCode::from(1)
        }
        Err(_) => {
            eprintln!("sihai: internal error (a bug: please report it with the message above); nothing half-written is kept (every write is an atomic batch)");
            ExitCode::from(sihai::cli::Outcome::Bug.code())
        }
    }
}
