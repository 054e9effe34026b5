//! The storage engine: the only file in sihai that names sled.
//!
//! The rest of the store speaks to sled through this small surface: open, `get`,
//! `contains`, ordered range scans (forward and backward), an atomic [`Batch`] and
//! `flush`. That surface is the boundary a second engine (for portals that outgrow one
//! machine) would implement; nothing outside `store/` sees it. It also owns what every
//! sled call repeats: turning sled's errors into [`StoreError`]s (a full disk into
//! `Full`, a held lock into `Locked`, sled's panics on damaged files into `Io`), the
//! page cache size, and the "reopen to checkpoint" step after a bulk import.

use std::path::{Path, PathBuf};

use super::StoreError;

/// Page cache given to sled (its own default is 1 GiB): the daemon's and the commands'.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes read from the engine (a key or a value), without a copy.
pub(super) type Bytes = sled::IVec;

/// An open sled database: one tree, key prefixes for every kind of record.
pub(super) struct Engine {
    db: sled::Db,
    path: PathBuf,
}

/// Changes applied atomically by [`Engine::apply`]: all of them or none.
#[derive(Default)]
pub(super) struct Batch(sled::Batch);

impl Batch {
    /// Sets `key` to `value`.
    pub(super) fn insert(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.0.insert(key.as_ref(), value.as_ref());
    }

    /// Removes `key`.
    pub(super) fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.0.remove(key.as_ref());
    }
}

/// Entries of a key range in key order (either end), errors already mapped.
pub(super) struct Range<'e> {
    iter: sled::Iter,
    engine: &'e Engine,
}

impl Iterator for Range<'_> {
    type Item = Result<(Bytes, Bytes), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.iter.next()?.map_err(|e| self.engine.err(e)))
    }
}

impl DoubleEndedIterator for Range<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        Some(self.iter.next_back()?.map_err(|e| self.engine.err(e)))
    }
}

impl Engine {
    /// Opens (or creates) the database in `dir` with a page cache of `cache_bytes`.
    pub(super) fn open(dir: &Path, cache_bytes: u64) -> Result<Engine, StoreError> {
        let config = sled::Config::new().path(dir).cache_capacity(cache_bytes).mode(sled::Mode::HighThroughput);
        // sled panics on some kinds of corruption: that is an unusable store, not a crash.
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
        match opened {
            Ok(Ok(db)) => Ok(Engine { db, path: dir.to_path_buf() }),
            Ok(Err(sled::Error::Io(ref io))) if io.to_string().contains("could not acquire lock") => {
                Err(StoreError::Locked(dir.to_path_buf()))
            }
            Ok(Err(e)) => Err(StoreError::io(dir, format!("cannot open: {e}"))),
            Err(_) => Err(StoreError::io(dir, "cannot open: the store's files are corrupt (sled failed reading them)")),
        }
    }

    /// sled writes a snapshot of its log when it opens a database: opening and closing
    /// once after a bulk import moves the replay of that import's log out of the daemon's
    /// next start. Best effort (a failure here only makes that start slower).
    pub fn checkpoint(dir: &Path, cache_bytes: u64) {
        drop(Engine::open(dir, cache_bytes));
    }

    fn err(&self, e: sled::Error) -> StoreError {
        StoreError::io(&self.path, e)
    }

    /// The directory the database lives in.
    /// Bytes of the store's files.
    pub(super) fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(|e| self.err(e))
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The value of `key`.
    pub(super) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, StoreError> {
        self.db.get(key).map_err(|e| self.err(e))
    }

    /// Whether `key` is set.
    pub(super) fn contains(&self, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        self.db.contains_key(key).map_err(|e| self.err(e))
    }

    /// Sets one key outside a batch (schema records).
    pub(super) fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.db.insert(key, value).map(|_| ()).map_err(|e| self.err(e))
    }

    /// The entries with keys in `[from, to)`.
    pub(super) fn range(&self, from: Vec<u8>, to: Vec<u8>) -> Range<'_> {
        Range { iter: self.db.range(from..to), engine: self }
    }

    /// The entries whose keys start with `prefix`.
    pub(super) fn scan_prefix(&self, prefix: &[u8]) -> Range<'_> {
        Range { iter: self.db.scan_prefix(prefix), engine: self }
    }

    /// Applies every change of `batch` atomically.
    pub(super) fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        self.db.apply_batch(batch.0).map_err(|e| self.err(e))
    }

    /// Makes every change applied so far durable.
    pub(super) fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| self.err(e))
    }

    /// Whether the database holds no key at all.
    pub(super) fn is_empty(&self) -> bool {
        self.db.is_empty()
    }
}
