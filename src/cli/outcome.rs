//! How a command ends: an [`Outcome`] per kind of failure, each with its exit code; and
//! opening the store with the message and outcome every command gives when it cannot.

use std::path::Path;

use crate::store::{Store, StoreError, DEFAULT_CACHE_BYTES};

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
    /// sihai itself failed: a panic, which is a bug (exit 4; never Rust's 101).
    Bug,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Refused => 1,
            Outcome::BadConfig => 2,
            Outcome::StoreUnavailable => 3,
            Outcome::Bug => 4,
        }
    }
}

/// Opens the store, printing why not (and the outcome to exit with) when it cannot.
pub fn open_store(dir: &Path) -> Result<Store, Outcome> {
    Store::open(dir, DEFAULT_CACHE_BYTES).map_err(|e| {
        eprintln!("sihai: {}", with_hint(&e));
        Outcome::StoreUnavailable
    })
}

/// A store error with what to do next where the store's own message does not say it: a
/// data directory that cannot be created, opened or written.
pub fn with_hint(e: &StoreError) -> String {
    match e {
        StoreError::Io { path, .. } => format!(
            "{e}; check that the data directory {} exists or can be created, and that this user \
             may write it (e.g. chown it to the user sihai runs as), or choose another with \
             [server] data_dir or --data-dir",
            path.display()
        ),
        _ => e.to_string(),
    }
}
