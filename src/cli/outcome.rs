//! How a command ends: an [`Outcome`] per kind of failure, each with its exit code; and
//! opening the store with the message and outcome every command gives when it cannot.

use std::path::Path;

use crate::store::{Store, DEFAULT_CACHE_BYTES};

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
        eprintln!("sihai: {e}");
        Outcome::StoreUnavailable
    })
}
