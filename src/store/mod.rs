//! The article store: articles, GUIDs, category indexes and feed times, in one embedded
//! database.
//!
//! Everything lives in one sled tree under key prefixes ([`keys`] has the layout), so one
//! atomic batch changes an article, its tombstone, its index entries and its feeds'
//! change times together. A category feed merges the range scans of its subtree's
//! categories: its cost depends on the feed's length and the tree, never on the store's
//! size, and moving a category in the config needs no re-indexing. The whole site has no
//! index of its own: its listing merges every category's range (schema 3; opening a
//! schema-2 store drops the `p/` index it also had).
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | [`Store`], its errors, open, schema and upgrade, the marker file, flush and sync, the free-space guard |
//! | `engine.rs` | the only file that names sled: get, range scans, atomic batch, flush |
//! | `keys.rs` | key layout, time keys, cursors, GUID and feed id minting, the record codec (pure) |
//! | `write.rs` | preparing articles, group commit, the write plan, delete, scheduled releases, feed times |
//! | `read.rs` | newest, pages, archive days and their neighbours, the slugs that have an index |
//! | `export.rs` | export, restore, verify |

mod engine;
mod export;
mod keys;
mod read;
mod readership;
mod write;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use serde::{Deserialize, Serialize};

use crate::model::WriteStatus;
use engine::Engine;
use keys::SCHEMA_KEY;

pub use engine::DEFAULT_CACHE_BYTES;
pub use export::ExportRecord;
pub use keys::{mint_feed_id, mint_guid, name_feed_id};
pub use write::PreparedArticles;

/// The on-disk format this build reads and writes (4: tag and author indexes).
pub const SCHEMA_VERSION: u32 = 4;
/// The schema before the tag and author indexes: upgraded when opened (they are built).
const SCHEMA_WITHOUT_NAMES: u32 = 3;
/// The schema before the whole-site index was dropped: upgraded when opened.
const SCHEMA_WITH_SITE_INDEX: u32 = 2;
/// A file beside sled's, written once the store exists: if sled ever opens this
/// directory as empty while the marker is there, its files were damaged or removed.
const MARKER_FILE: &str = "SIHAI_STORE";

/// Why the store could not do what was asked.
#[derive(Debug, Clone)]
pub enum StoreError {
    /// Another process (usually the daemon) holds the store.
    Locked(PathBuf),
    /// The store was written by another version of sihai.
    Schema { path: PathBuf, found: String },
    /// sled or the file system failed.
    Io { path: PathBuf, message: String },
    /// A stored record could not be read back.
    Corrupt(String),
    /// The disk is (nearly) full: the write was refused before it started.
    Full { path: PathBuf, available: u64, needed: u64 },
    /// A listing cursor that no page of this store gave out (the caller's mistake).
    BadCursor,
}

impl StoreError {
    /// A failure of the engine or the file system at `path`; a full disk is [`StoreError::Full`].
    fn io(path: &Path, e: impl std::fmt::Display) -> StoreError {
        let message = e.to_string();
        if message.contains("No space left on device") {
            return StoreError::Full { path: path.to_path_buf(), available: 0, needed: 0 };
        }
        StoreError::Io { path: path.to_path_buf(), message }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Locked(p) => write!(
                f,
                "the store at {} is in use by another process (is the sihai daemon running? stop it first)",
                p.display()
            ),
            StoreError::Schema { path, found } => write!(
                f,
                "the store at {} has schema version {found}, this sihai reads version {SCHEMA_VERSION}; use the sihai that wrote it, or export and re-import",
                path.display()
            ),
            StoreError::Io { path, message } => write!(f, "store at {}: {message}", path.display()),
            StoreError::Corrupt(m) => write!(f, "store record unreadable: {m}"),
            StoreError::Full { path, available, needed } => write!(
                f,
                "the disk holding {} is full: {} MiB free, a write needs {} MiB (including the reserve); free some space, writes resume by themselves",
                path.display(),
                available / (1 << 20),
                needed.div_ceil(1 << 20)
            ),
            StoreError::BadCursor => write!(f, "not a cursor from a previous page"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Which articles a listing covers: the whole site, or these categories (an article in
/// several of them appears once).
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Every category the store has indexed.
    Site,
    /// These category slugs (a feed's subtree).
    Categories(&'a [&'a str]),
    /// The articles with this tag (its canonical name, [`crate::model::canonical_name`]).
    Tag(&'a str),
    /// The articles by this author (the canonical name).
    Author(&'a str),
}

/// What the store keeps about one feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedMeta {
    /// The Atom feed id, minted when the store first saw the feed; never changes.
    pub feed_id: String,
    /// When the store first saw the feed, Unix seconds.
    pub seen: i64,
    /// When what this feed's own category shows last changed, Unix seconds.
    pub changed: i64,
    /// A digest of the feed's configuration, to notice config changes at start.
    pub signature: String,
}

impl FeedMeta {
    /// The record of a feed first seen at `now`.
    pub fn new(slug: &str, now: i64, tag_authority: &str, signature: &str) -> FeedMeta {
        FeedMeta {
            feed_id: mint_feed_id(tag_authority, slug),
            seen: now,
            changed: now,
            signature: signature.to_string(),
        }
    }
}

/// The outcome of writing one article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The article's id.
    pub id: String,
    /// Its GUID.
    pub guid: String,
    /// Created, updated or unchanged.
    pub status: WriteStatus,
}

/// What a write did: per article, and which feeds it changed.
#[derive(Debug, Clone, Default)]
pub struct WriteReport {
    /// One per input article, in order.
    pub written: Vec<Written>,
    /// The feeds it changed.
    pub touched: Touched,
}

/// The feeds a write changed, so that the publisher drops exactly those (and re-renders
/// nothing else): an article entering or leaving a feed, or changing in it, touches it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Slugs of the categories whose feeds changed (the site feed changed if any did).
    pub categories: BTreeSet<String>,
    /// Canonical names of the tags whose feeds changed.
    pub tags: BTreeSet<String>,
    /// Canonical names of the authors whose feeds changed.
    pub authors: BTreeSet<String>,
}

impl Touched {
    /// Whether no feed changed.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty() && self.tags.is_empty() && self.authors.is_empty()
    }
}

/// A handle on the open store. Reads run concurrently; writes are serialized.
pub struct Store {
    engine: Engine,
    /// Held while a write reads the old state and applies its batch, so two writers never
    /// interleave their read-modify-write.
    writer: Mutex<()>,
    /// Batches applied so far; a sync makes all of them durable.
    applied: AtomicU64,
    /// How many applied batches are known durable; held while flushing, so concurrent
    /// writers share one flush (group commit).
    durable: Mutex<u64>,
    /// Durable writes waiting for the next group commit ([`Store::upsert_durable`]).
    queue: Mutex<Vec<write::Job>>,
    /// Every category slug with an index range (the whole site's listing merges them).
    /// Only grows while open: a range emptied by deletes is merely empty.
    slugs: RwLock<BTreeSet<String>>,
    /// Articles stored: counted once at open (a key scan), then moved by every applied
    /// write, so the metrics never scan.
    articles: AtomicU64,
}

/// What the store holds, for the metrics.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    /// Bytes of the store's files.
    pub disk_bytes: u64,
    /// Articles stored, scheduled ones included.
    pub articles: u64,
    /// Articles whose publication time is still to come.
    pub scheduled: u64,
}

impl Store {
    /// Opens (or creates) the store in `dir` with a page cache of `cache_bytes`. A store
    /// that cannot be opened (locked, corrupt, unwritable, another version) is an error
    /// that says so, never an empty store.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let store = Store {
            engine: Engine::open(dir, cache_bytes)?,
            writer: Mutex::new(()),
            applied: AtomicU64::new(0),
            durable: Mutex::new(0),
            queue: Mutex::new(Vec::new()),
            slugs: RwLock::new(BTreeSet::new()),
            articles: AtomicU64::new(0),
        };
        store.check_schema()?;
        store.articles.store(store.count_prefix_bytes(keys::ARTICLES)? as u64, Ordering::Relaxed);
        let slugs = store.indexed_slugs()?;
        *store.slugs.write().unwrap_or_else(|p| p.into_inner()) = slugs;
        Ok(store)
    }

    /// Opens and closes the store in `dir` once, so that the next open (the daemon's
    /// start) does not replay the log a bulk write left (see `engine::Engine::checkpoint`).
    pub fn checkpoint(dir: &Path) {
        Engine::checkpoint(dir, DEFAULT_CACHE_BYTES);
    }

    fn path(&self) -> &Path {
        self.engine.path()
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let marker = self.path().join(MARKER_FILE);
        match self.engine.get(SCHEMA_KEY)? {
            None if marker.exists() => Err(StoreError::io(
                self.path(),
                format!(
                    "cannot open: the store's files are damaged or missing ({} says a store was created here, but sled found no data); restore it from a backup (sihai import --restore) into an empty directory",
                    marker.display()
                ),
            )),
            Some(v) if v.as_ref() == SCHEMA_VERSION.to_string().as_bytes() => {
                if !marker.exists() {
                    self.write_marker()?;
                }
                Ok(())
            }
            Some(v) if v.as_ref() == SCHEMA_WITH_SITE_INDEX.to_string().as_bytes() => {
                self.upgrade_from_2()?;
                self.upgrade_from_3()
            }
            Some(v) if v.as_ref() == SCHEMA_WITHOUT_NAMES.to_string().as_bytes() => self.upgrade_from_3(),
            Some(v) => Err(StoreError::Schema {
                path: self.path().to_path_buf(),
                found: String::from_utf8_lossy(&v).into_owned(),
            }),
            None if self.engine.is_empty() => {
                self.engine.insert(SCHEMA_KEY, SCHEMA_VERSION.to_string().as_bytes())?;
                self.flush()?;
                self.write_marker()
            }
            None => {
                Err(StoreError::Schema { path: self.path().to_path_buf(), found: "none (not a sihai store)".into() })
            }
        }
    }

    /// Schema 2 to 3: drops the whole-site index (`p/`), in batches, then records schema 3
    /// (and [`Store::upgrade_from_3`] goes on). Interrupted, it resumes at the next open
    /// (the schema still says 2).
    fn upgrade_from_2(&self) -> Result<(), StoreError> {
        let mut dropped = 0usize;
        loop {
            let mut batch = engine::Batch::default();
            let mut n = 0;
            for item in self.engine.scan_prefix(keys::SITE_INDEX_V2).take(10_000) {
                batch.remove(item?.0);
                n += 1;
            }
            if n == 0 {
                break;
            }
            self.engine.apply(batch)?;
            dropped += n;
        }
        self.engine.insert(SCHEMA_KEY, SCHEMA_WITHOUT_NAMES.to_string().as_bytes())?;
        self.flush()?;
        tracing::info!("store upgraded from schema 2 to 3: dropped the whole-site index ({dropped} keys)");
        Ok(())
    }

    /// Schema 3 to 4: builds the tag and author indexes from the article records, 10,000
    /// articles a batch, then records schema 4. Writing an index key that exists changes
    /// nothing, so an interrupted upgrade (the schema still says 3) starts over at the next
    /// open and ends with the same keys. One read of every record, once per store.
    fn upgrade_from_3(&self) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let (mut articles, mut entries) = (0usize, 0usize);
        let mut batch = engine::Batch::default();
        let mut in_batch = 0;
        for item in self.engine.scan_prefix(keys::ARTICLES) {
            let (k, v) = item?;
            // An unreadable record has no names to index; `sihai check-store` reports it,
            // as it did before the upgrade (refusing to open would hide it behind an error).
            let a = match keys::decode_article(&v) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(
                        "upgrade: article under {:?} unreadable, not indexed: {e}",
                        String::from_utf8_lossy(&k)
                    );
                    continue;
                }
            };
            for (_, _, key) in keys::name_keys(&a) {
                batch.insert(key, []);
                entries += 1;
            }
            articles += 1;
            in_batch += 1;
            if in_batch == 10_000 {
                self.engine.apply(std::mem::take(&mut batch))?;
                in_batch = 0;
            }
        }
        self.engine.apply(batch)?;
        self.engine.insert(SCHEMA_KEY, SCHEMA_VERSION.to_string().as_bytes())?;
        self.flush()?;
        tracing::info!(
            "store upgraded from schema 3 to {SCHEMA_VERSION}: indexed the tags and authors of {articles} articles ({entries} keys) in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        self.write_marker()
    }

    fn write_marker(&self) -> Result<(), StoreError> {
        let text = format!("sihai store, schema {SCHEMA_VERSION}; do not delete while the store's files are here\n");
        std::fs::write(self.path().join(MARKER_FILE), text).map_err(|e| StoreError::io(self.path(), e))
    }

    /// Refuses a write of about `bytes` when the disk would keep less than `reserve` free:
    /// sled treats a failed write as fatal until reopened, so sihai never lets it run out.
    pub fn ensure_space(&self, bytes: u64, reserve: u64) -> Result<(), StoreError> {
        let needed = reserve.saturating_add(bytes.saturating_mul(4));
        match fs4::available_space(self.path()) {
            Ok(available) if available < needed => {
                Err(StoreError::Full { path: self.path().to_path_buf(), available, needed })
            }
            _ => Ok(()),
        }
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.engine.flush()
    }

    /// Makes every write applied before this call durable. Concurrent callers share
    /// flushes: one that waited while another flushed returns at once if that flush
    /// covered its write.
    pub fn sync(&self) -> Result<(), StoreError> {
        let wanted = self.applied.load(Ordering::Acquire);
        let mut durable = self.durable.lock().unwrap_or_else(|p| p.into_inner());
        if *durable >= wanted {
            return Ok(());
        }
        let target = self.applied.load(Ordering::Acquire);
        self.flush()?;
        *durable = target;
        Ok(())
    }

    /// Counts an applied batch (a later [`Store::sync`] makes it durable) and notes the
    /// categories it indexed.
    fn applied<'a>(&self, indexed: impl IntoIterator<Item = &'a String>) {
        self.applied.fetch_add(1, Ordering::AcqRel);
        self.note_slugs(indexed);
    }

    /// Keys with the prefix (a scan: only at open).
    fn count_prefix_bytes(&self, prefix: &[u8]) -> Result<usize, StoreError> {
        let mut n = 0;
        for item in self.engine.scan_prefix(prefix) {
            item?;
            n += 1;
        }
        Ok(n)
    }

    /// Moves the article count by a write's net change.
    pub(super) fn count_articles(&self, delta: i64) {
        if delta >= 0 {
            self.articles.fetch_add(delta as u64, Ordering::Relaxed);
        } else {
            self.articles.fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }

    /// The store's size on disk, article count and scheduled count, for the metrics. The
    /// scheduled count reads the index entries dated after `now` (as many as there are
    /// scheduled articles, never the whole store).
    pub fn figures(&self, now: i64) -> Result<Figures, StoreError> {
        Ok(Figures {
            disk_bytes: self.engine.size_on_disk()?,
            articles: self.articles.load(Ordering::Relaxed),
            scheduled: self.scheduled_count(now)? as u64,
        })
    }

    /// Every key in the store with the prefix, for consistency checks in tests and benches.
    pub fn count_prefix(&self, prefix: &str) -> usize {
        self.engine.scan_prefix(prefix.as_bytes()).count()
    }
}

#[cfg(test)]
mod tests;
