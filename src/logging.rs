//! The daemon's and the commands' log: a level filter and a format (text or one JSON
//! object a line, for log shippers), from `[log]` in the config, overridden by `SIHAI_LOG`
//! (a filter, e.g. `debug` or `sihai=debug,hyper=info`) and `SIHAI_LOG_FORMAT`.
//!
//! Colour only when stderr is a terminal (never into files or journald), and sled's own
//! internals stay at `info` unless the filter names sled: its `debug` lines drown sihai's;
//! the TLS verifier's own lines are off unless named (the CLI says what failed and why).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{Log, LogFormat};

/// Keeps the log's writer thread until dropped: drop it last (lines still queued are
/// written then).
pub type Guard = tracing_appender::non_blocking::WorkerGuard;

/// Starts logging to stderr as `log` says (the environment overriding it). Call once and
/// keep the guard until the process ends.
///
/// Lines go through a queue to a writer thread (`tracing-appender`), so a request never
/// waits for a `write` to stderr: the access log costs a request the formatting of one
/// line, not a system call. A full queue drops lines rather than block (counted by the
/// appender), so a flood of requests cannot slow the daemon down through its log.
pub fn init(log: &Log) -> Guard {
    let filter = std::env::var("SIHAI_LOG").ok().filter(|f| !f.trim().is_empty()).unwrap_or_else(|| log.level.clone());
    let mut directives = if filter.contains("sled") { filter } else { format!("{filter},sled=info") };
    // The TLS verifier logs its own ERROR line for an untrusted certificate, before the
    // CLI's message that says the same and what to do: one message is enough.
    if !directives.contains("rustls_platform_verifier") {
        directives.push_str(",rustls_platform_verifier=off");
    }
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|e| {
        eprintln!("sihai: log filter {directives:?}: {e}; using info");
        EnvFilter::new("info,sled=info,rustls_platform_verifier=off")
    });
    let format = match std::env::var("SIHAI_LOG_FORMAT").ok().as_deref() {
        Some("json") => LogFormat::Json,
        Some("text") => LogFormat::Text,
        _ => log.format,
    };
    // Buffered on the writer thread: under load it writes many lines per system call; the
    // appender flushes whenever its queue runs empty, so a quiet daemon's lines are not held.
    let (writer, guard) =
        tracing_appender::non_blocking(std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(false).flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
    guard
}
