//! The article store: the only file that knows sled.
//!
//! Everything lives in one sled tree under key prefixes, so one `sled::Batch` changes an
//! article, its tombstone, its index entries and its feeds' change times atomically:
//!
//! | key | value |
//! |---|---|
//! | `meta/schema` | schema version (`2`) |
//! | `meta/released` | scheduled articles up to this instant have been released |
//! | `a/{id}` | the [`StoredArticle`] (with its GUID) as zstd-compressed JSON |
//! | `g/{id}` | the tombstone of a deleted id: its GUID, so a returning id gets it back |
//! | `c/{slug}\0{newest-first time}{id}` | category index entry (the article's own categories) |
//! | `m/{slug}` | [`FeedMeta`] of a category feed (`all` for the site feed) |
//!
//! "Newest-first time" is `u64::MAX - published`, big-endian, so a forward range scan
//! reads newest first and ties fall in id order. A category feed merges the range scans of
//! its subtree's categories: its cost depends on the feed's length and the tree, never on
//! the store's size, and moving a category in the config needs no re-indexing.
//!
//! The whole site has no index of its own: every article has at least one category, so
//! the site's listing merges the indexes of every category the store has seen (kept in
//! memory, found at open by skipping from one slug's index to the next). Schema 2 had a
//! `p/` index as well; it cost one more sled key per article, and sled's cost is per key
//! (write time, memory after opening, disk: BENCHMARKS.md). Opening a schema-2 store
//! drops its `p/` keys and moves it to schema 3.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use serde::{Deserialize, Serialize};

use crate::model::{Article, StoredArticle, WriteStatus};

/// The on-disk format this build reads and writes.
pub const SCHEMA_VERSION: u32 = 3;
/// The schema before the whole-site index was dropped: upgraded when opened.
const SCHEMA_WITH_SITE_INDEX: u32 = 2;
const SCHEMA_KEY: &[u8] = b"meta/schema";
/// A file beside sled's, written once the store exists: if sled ever opens this
/// directory as empty while the marker is there, its files were damaged or removed.
const MARKER_FILE: &str = "SIHAI_STORE";
/// Scheduled articles published at or before this instant have been released.
const RELEASED_KEY: &[u8] = b"meta/released";

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
        }
    }
}

impl std::error::Error for StoreError {}

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

/// What a write did: per article, and which categories' feeds it changed.
#[derive(Debug, Clone, Default)]
pub struct WriteReport {
    /// One per input article, in order.
    pub written: Vec<Written>,
    /// Slugs of the categories whose feeds changed (the site feed changed if any did).
    pub touched: BTreeSet<String>,
}

/// A handle on the open store. Reads run concurrently; writes are serialized.
pub struct Store {
    db: sled::Db,
    path: PathBuf,
    /// Held while a write reads the old state and applies its batch, so two writers never
    /// interleave their read-modify-write.
    writer: Mutex<()>,
    /// Batches applied so far; a sync makes all of them durable.
    applied: AtomicU64,
    /// How many applied batches are known durable; held while flushing, so concurrent
    /// writers share one flush (group commit).
    durable: Mutex<u64>,
    /// Durable writes waiting for the next group commit ([`Store::upsert_durable`]).
    queue: Mutex<Vec<Job>>,
    /// Every category slug with an index range (the whole site's listing merges them).
    /// Only grows while open: a range emptied by deletes is merely empty.
    slugs: RwLock<BTreeSet<String>>,
}

/// An article with what is derived from it alone, computed before the writer lock.
#[derive(Clone)]
struct Prepared {
    /// The record the article gets if it is new to the store (no stored version and no
    /// tombstone: the usual case) and written at `fresh.created`: GUID minted, created and
    /// modified then. Its excerpt is right whatever the store holds.
    fresh: StoredArticle,
    /// `fresh` encoded (serializing and compressing is a write's biggest CPU cost); `None`
    /// for a dry run. Used only if the plan decides exactly `fresh`.
    encoded: Option<Vec<u8>>,
}

/// Articles made ready for [`Store::upsert_prepared`] outside the writer lock: their
/// excerpts and, for articles new to the store, their encoded records. `sihai import`
/// prepares the next batch while the store applies the current one.
pub struct PreparedArticles {
    items: Vec<Prepared>,
    now: i64,
    tag_authority: String,
}

/// Prepares `articles` on all cores for a write at `now` (see [`Prepared`]).
fn prepare(articles: Vec<Article>, now: i64, tag_authority: &str, encode: bool) -> Vec<Prepared> {
    let excerpts = crate::parallel::map(&articles, crate::ingest::normalize::excerpt_of);
    let fresh: Vec<StoredArticle> = articles
        .into_iter()
        .zip(excerpts)
        .map(|(article, excerpt)| StoredArticle {
            updated: article.updated.unwrap_or(article.published).max(article.published),
            guid: mint_guid(tag_authority, &article.id),
            excerpt,
            article,
            created: now,
            modified: now,
        })
        .collect();
    let mut encoded = if encode { crate::parallel::map(&fresh, encode_article) } else { Vec::new() }.into_iter();
    fresh.into_iter().map(|fresh| Prepared { fresh, encoded: encoded.next() }).collect()
}

/// One caller's articles in a group commit, and where its answer goes.
struct Job {
    articles: Vec<Prepared>,
    reply: std::sync::mpsc::SyncSender<Result<WriteReport, StoreError>>,
}

/// The slug of the whole-site feed in [`FeedMeta`] keys.
pub const ALL: &str = "all";

fn io_err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    let message = e.to_string();
    if message.contains("No space left on device") {
        return StoreError::Full { path: path.to_path_buf(), available: 0, needed: 0 };
    }
    StoreError::Io { path: path.to_path_buf(), message }
}

impl Store {
    /// Opens (or creates) the store in `dir` with a page cache of `cache_bytes`. A store
    /// that cannot be opened (locked, corrupt, unwritable, another version) is an error
    /// that says so, never an empty store.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let config = sled::Config::new().path(dir).cache_capacity(cache_bytes).mode(sled::Mode::HighThroughput);
        // sled panics on some kinds of corruption: that is an unusable store, not a crash.
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(sled::Error::Io(ref io))) if io.to_string().contains("could not acquire lock") => {
                return Err(StoreError::Locked(dir.to_path_buf()))
            }
            Ok(Err(e)) => return Err(io_err(dir, format!("cannot open: {e}"))),
            Err(_) => return Err(io_err(dir, "cannot open: the store's files are corrupt (sled failed reading them)")),
        };
        let store = Store {
            db,
            path: dir.to_path_buf(),
            writer: Mutex::new(()),
            applied: AtomicU64::new(0),
            durable: Mutex::new(0),
            queue: Mutex::new(Vec::new()),
            slugs: RwLock::new(BTreeSet::new()),
        };
        store.check_schema()?;
        let slugs = store.indexed_slugs()?;
        *store.slugs.write().unwrap_or_else(|p| p.into_inner()) = slugs;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let marker = self.path.join(MARKER_FILE);
        match self.db.get(SCHEMA_KEY).map_err(|e| io_err(&self.path, e))? {
            None if marker.exists() => Err(io_err(
                &self.path,
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
            Some(v) if v.as_ref() == SCHEMA_WITH_SITE_INDEX.to_string().as_bytes() => self.upgrade_from_2(),
            Some(v) => {
                Err(StoreError::Schema { path: self.path.clone(), found: String::from_utf8_lossy(&v).into_owned() })
            }
            None if self.db.is_empty() => {
                self.db.insert(SCHEMA_KEY, SCHEMA_VERSION.to_string().as_bytes()).map_err(|e| io_err(&self.path, e))?;
                self.flush()?;
                self.write_marker()
            }
            None => Err(StoreError::Schema { path: self.path.clone(), found: "none (not a sihai store)".into() }),
        }
    }

    /// Refuses a write of about `bytes` when the disk would keep less than `reserve` free:
    /// sled treats a failed write as fatal until reopened, so sihai never lets it run out.
    pub fn ensure_space(&self, bytes: u64, reserve: u64) -> Result<(), StoreError> {
        let needed = reserve.saturating_add(bytes.saturating_mul(4));
        match fs4::available_space(&self.path) {
            Ok(available) if available < needed => Err(StoreError::Full { path: self.path.clone(), available, needed }),
            _ => Ok(()),
        }
    }

    /// Schema 2 to 3: drops the whole-site index (`p/`), in batches, then records the new
    /// schema. Interrupted, it resumes at the next open (the schema still says 2).
    fn upgrade_from_2(&self) -> Result<(), StoreError> {
        let mut dropped = 0usize;
        loop {
            let mut batch = sled::Batch::default();
            let mut n = 0;
            for item in self.db.scan_prefix(b"p/").take(10_000) {
                batch.remove(item.map_err(|e| io_err(&self.path, e))?.0);
                n += 1;
            }
            if n == 0 {
                break;
            }
            self.db.apply_batch(batch).map_err(|e| io_err(&self.path, e))?;
            dropped += n;
        }
        self.db.insert(SCHEMA_KEY, SCHEMA_VERSION.to_string().as_bytes()).map_err(|e| io_err(&self.path, e))?;
        self.flush()?;
        tracing::info!(
            "store upgraded from schema 2 to {SCHEMA_VERSION}: dropped the whole-site index ({dropped} keys)"
        );
        self.write_marker()
    }

    /// The slugs with an index range: one range seek per slug, skipping from each slug's
    /// range to the next, so the cost follows the number of categories, not of articles.
    fn indexed_slugs(&self) -> Result<BTreeSet<String>, StoreError> {
        let mut slugs = BTreeSet::new();
        let end = prefix_end(b"c/");
        let mut from = b"c/".to_vec();
        while let Some(item) = self.db.range(from..end.clone()).next() {
            let (key, _) = item.map_err(|e| io_err(&self.path, e))?;
            let nul = key[2..]
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| StoreError::Corrupt(format!("index key without a slug end: {key:?}")))?;
            slugs.insert(String::from_utf8_lossy(&key[2..2 + nul]).into_owned());
            from = prefix_end(&key[..2 + nul + 1]);
        }
        Ok(slugs)
    }

    /// The index key prefixes of the whole site (`None`: every category's) or of these
    /// categories.
    fn index_prefixes(&self, slugs: Option<&[&str]>) -> Vec<Vec<u8>> {
        match slugs {
            None => self.slugs.read().unwrap_or_else(|p| p.into_inner()).iter().map(|s| category_prefix(s)).collect(),
            Some(s) => s.iter().map(|slug| category_prefix(slug)).collect(),
        }
    }

    /// Notes slugs that now have an index range (after a batch that indexed them applied).
    fn note_slugs<'a>(&self, indexed: impl IntoIterator<Item = &'a String>) {
        let known = self.slugs.read().unwrap_or_else(|p| p.into_inner());
        let new: Vec<&String> = indexed.into_iter().filter(|s| !known.contains(*s)).collect();
        drop(known);
        if !new.is_empty() {
            self.slugs.write().unwrap_or_else(|p| p.into_inner()).extend(new.into_iter().cloned());
        }
    }

    fn write_marker(&self) -> Result<(), StoreError> {
        let text = format!("sihai store, schema {SCHEMA_VERSION}; do not delete while the store's files are here\n");
        std::fs::write(self.path.join(MARKER_FILE), text).map_err(|e| io_err(&self.path, e))
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| io_err(&self.path, e))
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

    /// The stored article with this id.
    pub fn get(&self, id: &str) -> Result<Option<StoredArticle>, StoreError> {
        match self.db.get(article_key(id)).map_err(|e| io_err(&self.path, e))? {
            Some(bytes) => decode_article(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The GUID a deleted id keeps (its tombstone), if it has one.
    fn tombstone(&self, id: &str) -> Result<Option<String>, StoreError> {
        let guid = self.db.get(guid_key(id)).map_err(|e| io_err(&self.path, e))?;
        Ok(guid.map(|g| String::from_utf8_lossy(&g).into_owned()))
    }

    /// The feed record of `slug` (`all` for the site feed).
    pub fn feed_meta(&self, slug: &str) -> Result<Option<FeedMeta>, StoreError> {
        match self.db.get(meta_key(slug)).map_err(|e| io_err(&self.path, e))? {
            Some(bytes) => decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Records the feeds the configuration has: a new feed gets its id and first-seen time,
    /// a feed whose signature changed gets a new change time. Not flushed.
    pub fn sync_feeds(&self, feeds: &[(String, String)], now: i64, tag_authority: &str) -> Result<(), StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = sled::Batch::default();
        for (slug, signature) in feeds {
            let meta = match self.feed_meta(slug)? {
                Some(m) if &m.signature == signature => continue,
                Some(m) => FeedMeta { changed: m.changed.max(now), signature: signature.clone(), ..m },
                None => new_feed_meta(slug, now, tag_authority, signature),
            };
            batch.insert(meta_key(slug), encode(&meta));
        }
        self.db.apply_batch(batch).map_err(|e| io_err(&self.path, e))
    }

    /// Upserts `articles` in order (a later one with the same id wins) in one atomic
    /// batch, minting GUIDs with `tag_authority` for ids never seen. Not flushed.
    pub fn upsert(&self, articles: Vec<Article>, now: i64, tag_authority: &str) -> Result<WriteReport, StoreError> {
        self.write(articles, now, tag_authority, true)
    }

    /// What [`Store::upsert`] would answer, writing nothing (a dry run).
    pub fn preview(&self, articles: Vec<Article>, now: i64, tag_authority: &str) -> Result<Vec<Written>, StoreError> {
        self.write(articles, now, tag_authority, false).map(|r| r.written)
    }

    /// Upserts `articles` like [`Store::upsert`] and returns once they are durable.
    /// Concurrent callers are combined (group commit): whoever gets the writer lock applies
    /// every write queued by then in one batch and one flush and answers each caller, so
    /// sixteen clients posting one article each cost one flush, not sixteen, and the writer
    /// lock is taken once per group rather than once per article. A group's articles all
    /// take the leader's `now` as their stored time (the callers' differ by milliseconds).
    pub fn upsert_durable(
        &self,
        articles: Vec<Article>,
        now: i64,
        tag_authority: &str,
    ) -> Result<WriteReport, StoreError> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let articles = prepare(articles, now, tag_authority, true);
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push(Job { articles, reply });
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        // A leader before us may have written our articles while we waited for the lock.
        if let Ok(done) = answer.try_recv() {
            return done;
        }
        let jobs = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
        self.commit_group(jobs, now, tag_authority);
        answer.recv().unwrap_or_else(|_| Err(StoreError::Corrupt("a group commit lost a write's answer".into())))
    }

    /// Writes `jobs` in one batch and one flush (the writer lock held) and answers each.
    /// If the group fails, each job is retried on its own, so one bad write fails alone.
    fn commit_group(&self, jobs: Vec<Job>, now: i64, tag_authority: &str) {
        let durable = |articles: Vec<Prepared>| {
            let report = self.write_locked(articles, now, tag_authority, true)?;
            self.sync()?;
            Ok(report)
        };
        if jobs.len() == 1 {
            let job = jobs.into_iter().next().expect("one job");
            let _ = job.reply.send(durable(job.articles));
            return;
        }
        let lens: Vec<usize> = jobs.iter().map(|j| j.articles.len()).collect();
        let all: Vec<Prepared> = jobs.iter().flat_map(|j| j.articles.iter().cloned()).collect();
        match self.write_locked(all, now, tag_authority, true) {
            // Applied: only the flush decides now, and it decides for every job alike (a
            // retry would see the applied articles and call them "unchanged").
            Ok(report) => match self.sync() {
                Ok(()) => {
                    let mut written = report.written.into_iter();
                    for (job, n) in jobs.into_iter().zip(lens) {
                        let mine = WriteReport {
                            written: written.by_ref().take(n).collect(),
                            touched: report.touched.clone(),
                        };
                        let _ = job.reply.send(Ok(mine));
                    }
                }
                Err(e) => {
                    for job in jobs {
                        let _ = job.reply.send(Err(e.clone()));
                    }
                }
            },
            // Nothing applied (the batch is atomic): each job alone, so one bad write fails alone.
            Err(_) => {
                for job in jobs {
                    let _ = job.reply.send(durable(job.articles));
                }
            }
        }
    }

    fn write(
        &self,
        articles: Vec<Article>,
        now: i64,
        tag_authority: &str,
        apply: bool,
    ) -> Result<WriteReport, StoreError> {
        let articles = prepare(articles, now, tag_authority, apply);
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.write_locked(articles, now, tag_authority, apply)
    }

    /// Prepares `articles` for [`Store::upsert_prepared`] at `now`, without the writer
    /// lock: on another thread, this overlaps the previous batch's write.
    pub fn prepare(&self, articles: Vec<Article>, now: i64, tag_authority: &str) -> PreparedArticles {
        PreparedArticles {
            items: prepare(articles, now, tag_authority, true),
            now,
            tag_authority: tag_authority.into(),
        }
    }

    /// [`Store::upsert`] of articles [`Store::prepare`]d. Not flushed.
    pub fn upsert_prepared(&self, prepared: PreparedArticles) -> Result<WriteReport, StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.write_locked(prepared.items, prepared.now, &prepared.tag_authority, true)
    }

    /// [`Store::write`] for a caller that holds the writer lock.
    fn write_locked(
        &self,
        articles: Vec<Prepared>,
        now: i64,
        tag_authority: &str,
        apply: bool,
    ) -> Result<WriteReport, StoreError> {
        let mut plan = Plan::new(self, now, tag_authority);
        plan.prefetch(&articles)?;
        let mut written = Vec::with_capacity(articles.len());
        for article in articles {
            written.push(plan.upsert(article)?);
        }
        let touched = plan.touched();
        if apply {
            plan.apply()?;
        }
        Ok(WriteReport { written, touched })
    }

    /// Deletes the article with this id (its GUID stays as a tombstone). Not flushed.
    /// Returns the touched categories, or `None` if there was no such article.
    pub fn delete(&self, id: &str, now: i64) -> Result<Option<BTreeSet<String>>, StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut plan = Plan::new(self, now, "");
        if !plan.delete(id)? {
            return Ok(None);
        }
        let touched = plan.touched();
        plan.apply()?;
        Ok(Some(touched))
    }

    /// The publication instant of the next scheduled article after `now`, if any.
    pub fn next_due(&self, now: i64) -> Result<Option<i64>, StoreError> {
        let mut next: Option<i64> = None;
        for prefix in self.index_prefixes(None) {
            let end = with_suffix(prefix.clone(), &time_key(now));
            if let Some(item) = self.db.range(prefix.clone()..end).next_back() {
                let (key, _) = item.map_err(|e| io_err(&self.path, e))?;
                let due = published_of(&key[prefix.len()..])?;
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        Ok(next)
    }

    /// Releases scheduled articles that fell due since the last release (or since the
    /// store was last open): each of their feeds' change time becomes the due time.
    /// Returns the touched categories. The first call on a store only records `now`.
    pub fn release_due(&self, now: i64) -> Result<BTreeSet<String>, StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let released = match self.db.get(RELEASED_KEY).map_err(|e| io_err(&self.path, e))? {
            Some(v) => {
                i64::from_be_bytes(v.as_ref().try_into().map_err(|_| StoreError::Corrupt("meta/released".into()))?)
            }
            None => now,
        };
        let mut plan = Plan::new(self, now, "");
        if released < now {
            let mut due = HashSet::new();
            for prefix in self.index_prefixes(None) {
                let from = with_suffix(prefix.clone(), &time_key(now));
                let to = with_suffix(prefix.clone(), &time_key(released));
                for item in self.db.range(from..to) {
                    let (key, _) = item.map_err(|e| io_err(&self.path, e))?;
                    due.insert(String::from_utf8_lossy(key.get(prefix.len() + 8..).unwrap_or_default()).into_owned());
                }
            }
            for id in due {
                if let Some(a) = self.get(&id)? {
                    plan.touch(&a.article.categories, a.article.published)?;
                }
            }
        }
        let touched = plan.touched();
        plan.batch.insert(RELEASED_KEY, &now.max(released).to_be_bytes());
        plan.apply()?;
        Ok(touched)
    }

    /// The newest `limit` articles published at or before `now`: of the whole site when
    /// `slugs` is `None`, else of those categories (an article in several appears once).
    pub fn newest(&self, slugs: Option<&[&str]>, limit: usize, now: i64) -> Result<Vec<StoredArticle>, StoreError> {
        self.scan(slugs, limit, &time_key(now))
    }

    /// A page of the listing [`Store::newest`] gives, continuing after `after` (a cursor
    /// from the previous page); the cursor of the next page when this one is full.
    pub fn page(
        &self,
        slugs: Option<&[&str]>,
        limit: usize,
        now: i64,
        after: Option<&str>,
    ) -> Result<(Vec<StoredArticle>, Option<String>), StoreError> {
        let from = match after {
            None => time_key(now).to_vec(),
            Some(cursor) => {
                let mut from = decode_cursor(cursor).ok_or_else(|| StoreError::Corrupt("bad cursor".into()))?;
                from.push(0); // just after the cursor's own entry
                from.max(time_key(now).to_vec())
            }
        };
        let items = self.scan(slugs, limit, &from)?;
        let next = (items.len() == limit)
            .then(|| items.last().map(|a| encode_cursor(&index_suffix(a.article.published, &a.article.id))))
            .flatten();
        Ok((items, next))
    }

    fn scan(&self, slugs: Option<&[&str]>, limit: usize, from: &[u8]) -> Result<Vec<StoredArticle>, StoreError> {
        self.scan_between(slugs, limit, from, None)
    }

    /// The merged index entries from suffix `from` (inclusive) to `to` (exclusive, or the
    /// end), newest first, deduplicated, at most `limit`.
    fn scan_between(
        &self,
        slugs: Option<&[&str]>,
        limit: usize,
        from: &[u8],
        to: Option<&[u8]>,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        let mut heads = Vec::new();
        for prefix in self.index_prefixes(slugs) {
            let start = with_suffix(prefix.clone(), from);
            let end = match to {
                Some(to) => with_suffix(prefix.clone(), to),
                None => prefix_end(&prefix),
            };
            if start >= end {
                continue;
            }
            let iter = self.db.range(start..end);
            if let Some(head) = self.advance(Head { suffix: Vec::new(), iter, prefix_len: prefix.len() })? {
                heads.push(head);
            }
        }
        let mut ids: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        while ids.len() < limit {
            let Some(best) = (0..heads.len()).min_by(|&a, &b| heads[a].suffix.cmp(&heads[b].suffix)) else { break };
            let head = heads.swap_remove(best);
            let id = String::from_utf8_lossy(&head.suffix[8..]).into_owned();
            if seen.insert(id.clone()) {
                ids.push(id);
            }
            if let Some(head) = self.advance(head)? {
                heads.push(head);
            }
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(a) = self.get(&id)? {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// The articles published in `[start, end)` and by `now`, newest first (an archive).
    pub fn between(
        &self,
        slugs: Option<&[&str]>,
        start: i64,
        end: i64,
        now: i64,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        let newest = (end - 1).min(now);
        if newest < start {
            return Ok(Vec::new());
        }
        self.scan_between(slugs, usize::MAX, &time_key(newest), Some(&time_key(start - 1)))
    }

    /// The publication time of the newest article published before `t` (and by `now`).
    pub fn newest_before(&self, slugs: Option<&[&str]>, t: i64, now: i64) -> Result<Option<i64>, StoreError> {
        let mut best: Option<i64> = None;
        for prefix in self.index_prefixes(slugs) {
            let start = with_suffix(prefix.clone(), &time_key((t - 1).min(now)));
            if let Some(item) = self.db.range(start..prefix_end(&prefix)).next() {
                let (key, _) = item.map_err(|e| io_err(&self.path, e))?;
                let p = published_of(&key[prefix.len()..])?;
                best = Some(best.map_or(p, |b| b.max(p)));
            }
        }
        Ok(best)
    }

    /// The publication time of the oldest article published at or after `t` (and by `now`).
    pub fn oldest_from(&self, slugs: Option<&[&str]>, t: i64, now: i64) -> Result<Option<i64>, StoreError> {
        if t > now {
            return Ok(None);
        }
        let mut best: Option<i64> = None;
        for prefix in self.index_prefixes(slugs) {
            let start = with_suffix(prefix.clone(), &time_key(now));
            let end = with_suffix(prefix.clone(), &time_key(t - 1));
            if let Some(item) = self.db.range(start..end).next_back() {
                let (key, _) = item.map_err(|e| io_err(&self.path, e))?;
                let p = published_of(&key[prefix.len()..])?;
                best = Some(best.map_or(p, |b| b.min(p)));
            }
        }
        Ok(best)
    }

    /// Moves a merge head to its next index entry; `None` when its range is done.
    fn advance(&self, mut head: Head) -> Result<Option<Head>, StoreError> {
        match head.iter.next() {
            None => Ok(None),
            Some(item) => {
                let (key, _) = item.map_err(|e| io_err(&self.path, e))?;
                if key.len() < head.prefix_len + 8 {
                    return Err(StoreError::Corrupt(format!("short index key {key:?}")));
                }
                head.suffix = key[head.prefix_len..].to_vec();
                Ok(Some(head))
            }
        }
    }

    /// Every key in the store with the prefix, for consistency checks in tests.
    pub fn count_prefix(&self, prefix: &str) -> usize {
        self.db.scan_prefix(prefix.as_bytes()).count()
    }
}

/// One line of an export (JSON Lines): everything needed to rebuild the store exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ExportRecord {
    /// First line: what wrote it.
    Header {
        /// The store schema the export was taken from.
        schema: u32,
        /// `sihai VERSION`.
        generator: String,
    },
    /// A feed's stored metadata (Atom id, first seen, change time).
    Feed {
        /// The feed's slug (`all` for the site).
        slug: String,
        /// Its metadata.
        #[serde(flatten)]
        meta: FeedMeta,
    },
    /// How far scheduled articles have been released.
    Released {
        /// Unix seconds.
        at: i64,
    },
    /// A stored article with its GUID and times.
    Article(Box<StoredArticle>),
    /// A deleted id and the GUID it keeps.
    Tombstone {
        /// The id.
        id: String,
        /// Its GUID.
        guid: String,
    },
}

impl Store {
    /// Calls `emit` with every record of the store, header first, then feeds, then each
    /// id's article or tombstone. Reads run while the daemon serves; each record is
    /// read atomically.
    pub fn export(&self, mut emit: impl FnMut(&ExportRecord) -> std::io::Result<()>) -> Result<usize, StoreError> {
        let io =
            |e: std::io::Error| StoreError::Io { path: self.path.clone(), message: format!("writing the export: {e}") };
        emit(&ExportRecord::Header {
            schema: SCHEMA_VERSION,
            generator: format!("sihai {}", env!("CARGO_PKG_VERSION")),
        })
        .map_err(io)?;
        for item in self.db.scan_prefix(b"m/") {
            let (k, v) = item.map_err(|e| io_err(&self.path, e))?;
            let slug = String::from_utf8_lossy(&k[2..]).into_owned();
            emit(&ExportRecord::Feed { slug, meta: decode(&v)? }).map_err(io)?;
        }
        if let Some(v) = self.db.get(RELEASED_KEY).map_err(|e| io_err(&self.path, e))? {
            let at =
                i64::from_be_bytes(v.as_ref().try_into().map_err(|_| StoreError::Corrupt("meta/released".into()))?);
            emit(&ExportRecord::Released { at }).map_err(io)?;
        }
        let mut count = 0;
        for item in self.db.scan_prefix(b"a/") {
            let (_, v) = item.map_err(|e| io_err(&self.path, e))?;
            emit(&ExportRecord::Article(Box::new(decode_article(&v)?))).map_err(io)?;
            count += 1;
        }
        for item in self.db.scan_prefix(b"g/") {
            let (k, guid) = item.map_err(|e| io_err(&self.path, e))?;
            let id = String::from_utf8_lossy(&k[2..]).into_owned();
            emit(&ExportRecord::Tombstone { id, guid: String::from_utf8_lossy(&guid).into_owned() }).map_err(io)?;
            count += 1;
        }
        Ok(count)
    }

    /// Whether the store holds no article and no GUID (a restore needs an empty store).
    pub fn is_empty_of_articles(&self) -> bool {
        self.db.scan_prefix(b"g/").next().is_none() && self.db.scan_prefix(b"a/").next().is_none()
    }

    /// Writes exported records as they are (GUIDs, times and feed metadata kept), in one
    /// atomic batch. Not flushed.
    pub fn restore(&self, records: &[ExportRecord]) -> Result<(), StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = sled::Batch::default();
        let mut indexed = BTreeSet::new();
        for record in records {
            match record {
                ExportRecord::Header { .. } => {}
                ExportRecord::Feed { slug, meta } => batch.insert(meta_key(slug), encode(meta)),
                ExportRecord::Released { at } => batch.insert(RELEASED_KEY, &at.to_be_bytes()),
                ExportRecord::Tombstone { id, guid } => batch.insert(guid_key(id), guid.as_bytes()),
                ExportRecord::Article(a) => {
                    batch.insert(article_key(&a.article.id), encode_article(a));
                    for (slug, key) in index_keys(a) {
                        batch.insert(key, &[]);
                        indexed.insert(slug.clone());
                    }
                }
            }
        }
        self.db.apply_batch(batch).map_err(|e| io_err(&self.path, e))?;
        self.applied.fetch_add(1, Ordering::AcqRel);
        self.note_slugs(&indexed);
        Ok(())
    }

    /// Checks that indexes and articles agree: every article has its GUID and index
    /// entries, every index entry has its article. Returns the problems found (none when
    /// consistent). Reads the whole store: for `sihai check-store` and tests.
    pub fn verify(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let mut articles = 0usize;
        for item in self.db.scan_prefix(b"a/") {
            let (k, v) = item.map_err(|e| io_err(&self.path, e))?;
            let id = String::from_utf8_lossy(&k[2..]).into_owned();
            let a: StoredArticle = match decode_article(&v) {
                Ok(a) => a,
                Err(e) => {
                    problems.push(format!("article {id:?}: {e}"));
                    continue;
                }
            };
            articles += 1;
            if a.article.id != id {
                problems.push(format!("article under key {id:?} has id {:?}", a.article.id));
            }
            if self.db.contains_key(guid_key(&id)).map_err(|e| io_err(&self.path, e))? {
                problems.push(format!("article {id:?} also has a tombstone"));
            }
            for (slug, key) in index_keys(&a) {
                if !self.db.contains_key(key).map_err(|e| io_err(&self.path, e))? {
                    problems.push(format!("article {id:?}: its index entry in category {slug:?} is missing"));
                }
            }
        }
        let mut entries = 0usize;
        for item in self.db.scan_prefix(b"c/") {
            let (k, _) = item.map_err(|e| io_err(&self.path, e))?;
            let nul = k.iter().position(|&b| b == 0).unwrap_or(k.len());
            let slug = String::from_utf8_lossy(&k[2..nul]).into_owned();
            let suffix = &k[(nul + 1).min(k.len())..];
            entries += 1;
            let published = published_of(suffix)?;
            let id = String::from_utf8_lossy(&suffix[8..]).into_owned();
            match self.get(&id)? {
                None => problems.push(format!("index entry for {id:?} has no article")),
                Some(a) if a.article.published != published => {
                    problems.push(format!("index entry for {id:?} has a stale time"))
                }
                Some(a) if !a.article.categories.contains(&slug) => {
                    problems.push(format!("index entry for {id:?} in {slug:?}, not one of its categories"))
                }
                Some(_) => {}
            }
        }
        if let Some(item) = self.db.scan_prefix(b"p/").next() {
            item.map_err(|e| io_err(&self.path, e))?;
            problems.push("whole-site index keys (p/) of schema 2 are left".into());
        }
        tracing::debug!("verified {articles} articles and {entries} index entries");
        Ok(problems)
    }
}

/// One index range being merged: its current entry (time and id) and the rest.
struct Head {
    suffix: Vec<u8>,
    iter: sled::Iter,
    prefix_len: usize,
}

/// The pending changes of one write: old state is read through it, so several changes
/// to one id in one batch see each other.
struct Plan<'s> {
    store: &'s Store,
    now: i64,
    tag_authority: &'s str,
    batch: sled::Batch,
    articles: HashMap<String, Option<StoredArticle>>,
    guids: HashMap<String, String>,
    metas: HashMap<String, FeedMeta>,
    /// Categories this plan adds index entries to.
    indexed: BTreeSet<String>,
    /// Stored state read ahead on all cores ([`Plan::prefetch`]): article, tombstone.
    prefetched: HashMap<String, (Option<StoredArticle>, Option<String>)>,
    /// Records encoded before the writer lock, for ids whose last version in this plan
    /// is exactly the one prepared ([`Prepared::fresh`]).
    encoded: HashMap<String, Vec<u8>>,
}

impl<'s> Plan<'s> {
    fn new(store: &'s Store, now: i64, tag_authority: &'s str) -> Self {
        Plan {
            store,
            now,
            tag_authority,
            batch: sled::Batch::default(),
            articles: HashMap::new(),
            guids: HashMap::new(),
            metas: HashMap::new(),
            indexed: BTreeSet::new(),
            prefetched: HashMap::new(),
            encoded: HashMap::new(),
        }
    }

    /// Reads the stored article and tombstone of every id in `articles` on all cores (a
    /// batch's reads are random lookups in a big tree, a third of a write's serial time
    /// when done one after another). Called under the writer lock, so nothing changes
    /// between this read and the plan's use of it.
    fn prefetch(&mut self, articles: &[Prepared]) -> Result<(), StoreError> {
        let ids: Vec<&str> = articles.iter().map(|p| p.fresh.article.id.as_str()).collect();
        let read = |id: &&str| -> Result<(Option<StoredArticle>, Option<String>), StoreError> {
            Ok((self.store.get(id)?, self.store.tombstone(id)?))
        };
        for (id, state) in ids.iter().zip(crate::parallel::map(&ids, read)) {
            self.prefetched.insert(id.to_string(), state?);
        }
        Ok(())
    }

    fn current(&self, id: &str) -> Result<Option<StoredArticle>, StoreError> {
        match (self.articles.get(id), self.prefetched.get(id)) {
            (Some(a), _) => Ok(a.clone()),
            (None, Some((a, _))) => Ok(a.clone()),
            (None, None) => self.store.get(id),
        }
    }

    /// The GUID an id keeps: its stored article's, else its tombstone's (which the new
    /// article record takes over), else a newly minted one.
    fn guid(&mut self, id: &str, old: Option<&StoredArticle>) -> Result<String, StoreError> {
        if let Some(old) = old {
            return Ok(old.guid.clone());
        }
        let tombstone = match (self.guids.remove(id), self.prefetched.get_mut(id)) {
            (Some(g), _) => Some(g),
            // Taken: a later version of this id in the batch finds the article written.
            (None, Some((_, read_ahead))) => read_ahead.take(),
            (None, None) => self.store.tombstone(id)?,
        };
        match tombstone {
            Some(g) => {
                self.batch.remove(guid_key(id));
                Ok(g)
            }
            None => Ok(mint_guid(self.tag_authority, id)),
        }
    }

    fn upsert(&mut self, Prepared { fresh, encoded }: Prepared) -> Result<Written, StoreError> {
        let old = self.current(&fresh.article.id)?;
        let id = fresh.article.id.clone();
        if let Some(old) = &old {
            if old.article == fresh.article {
                return Ok(Written { id, guid: old.guid.clone(), status: WriteStatus::Unchanged });
            }
        }
        let guid = self.guid(&id, old.as_ref())?;
        let now = self.now;
        // A record encoded ahead is used only when it is exactly the one decided here.
        let (stored, encoded) = match &old {
            None if guid == fresh.guid && now == fresh.created => (fresh, encoded),
            None => (StoredArticle { guid: guid.clone(), created: now, modified: now, ..fresh }, None),
            Some(old) => (
                StoredArticle {
                    updated: fresh.article.updated.unwrap_or(now).max(fresh.article.published),
                    guid: guid.clone(),
                    created: old.created,
                    modified: now,
                    ..fresh
                },
                None,
            ),
        };
        if let Some(old) = &old {
            self.unindex(old)?;
        }
        self.index(&stored)?;
        // The last version of an id wins; one not encoded ahead is encoded at apply time,
        // on all cores.
        match encoded {
            Some(bytes) => self.encoded.insert(id.clone(), bytes),
            None => self.encoded.remove(&id),
        };
        self.articles.insert(id.clone(), Some(stored));
        let status = if old.is_some() { WriteStatus::Updated } else { WriteStatus::Created };
        Ok(Written { id, guid, status })
    }

    fn delete(&mut self, id: &str) -> Result<bool, StoreError> {
        let Some(old) = self.current(id)? else { return Ok(false) };
        self.unindex(&old)?;
        self.batch.remove(article_key(id));
        self.batch.insert(guid_key(id), old.guid.as_bytes());
        self.guids.insert(id.to_string(), old.guid.clone());
        self.articles.insert(id.to_string(), None);
        Ok(true)
    }

    fn index(&mut self, a: &StoredArticle) -> Result<(), StoreError> {
        for (slug, key) in index_keys(a) {
            self.batch.insert(key, &[]);
            self.indexed.insert(slug.clone());
        }
        self.touch_if_visible(a)
    }

    fn unindex(&mut self, a: &StoredArticle) -> Result<(), StoreError> {
        for (_, key) in index_keys(a) {
            self.batch.remove(key);
        }
        self.touch_if_visible(a)
    }

    /// A change to a scheduled (not yet visible) version changes no feed now; its feeds
    /// change when it falls due ([`Store::release_due`]).
    fn touch_if_visible(&mut self, a: &StoredArticle) -> Result<(), StoreError> {
        if a.is_published_at(self.now) {
            self.touch(&a.article.categories, self.now)?;
        }
        Ok(())
    }

    /// The categories whose feeds this plan changes.
    fn touched(&self) -> BTreeSet<String> {
        self.metas.keys().filter(|k| k.as_str() != ALL).cloned().collect()
    }

    /// Moves the change time of these categories' feeds and the site feed to `at`
    /// (never backwards).
    fn touch(&mut self, slugs: &[String], at: i64) -> Result<(), StoreError> {
        for slug in slugs.iter().map(String::as_str).chain([ALL]) {
            if !self.metas.contains_key(slug) {
                let meta = match self.store.feed_meta(slug)? {
                    Some(m) => m,
                    None => new_feed_meta(slug, self.now, self.tag_authority, ""),
                };
                self.metas.insert(slug.to_string(), meta);
            }
            let meta = self.metas.get_mut(slug).expect("inserted above");
            meta.changed = meta.changed.max(at);
        }
        Ok(())
    }

    fn apply(mut self) -> Result<(), StoreError> {
        // Serializing and compressing is most of a write's CPU: done on all cores, for the
        // records not encoded ahead.
        let mut upserted: Vec<&StoredArticle> = Vec::new();
        for a in self.articles.values().flatten() {
            match self.encoded.remove(&a.article.id) {
                Some(bytes) => self.batch.insert(article_key(&a.article.id), bytes),
                None => upserted.push(a),
            }
        }
        for (a, value) in upserted.iter().zip(crate::parallel::map(&upserted, |a| encode_article(a))) {
            self.batch.insert(article_key(&a.article.id), value);
        }
        for (slug, meta) in &self.metas {
            self.batch.insert(meta_key(slug), encode(meta));
        }
        self.store.db.apply_batch(self.batch).map_err(|e| io_err(&self.store.path, e))?;
        self.store.applied.fetch_add(1, Ordering::AcqRel);
        self.store.note_slugs(&self.indexed);
        Ok(())
    }
}

fn new_feed_meta(slug: &str, now: i64, tag_authority: &str, signature: &str) -> FeedMeta {
    FeedMeta {
        feed_id: format!("tag:{tag_authority}:feeds/{slug}"),
        seen: now,
        changed: now,
        signature: signature.to_string(),
    }
}

/// Characters kept as they are in the specific part of a tag URI; everything else
/// (including `/`, so article GUIDs never look like feed ids) is percent-encoded.
const TAG_SPECIFIC: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// The GUID of a new id: `tag:{authority}:{id}`, the id in Unicode NFC (the canonical
/// form validators compare with) percent-encoded where RFC 4151 asks.
pub fn mint_guid(tag_authority: &str, id: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let nfc: String = id.nfc().collect();
    format!("tag:{tag_authority}:{}", percent_encoding::utf8_percent_encode(&nfc, TAG_SPECIFIC))
}

fn article_key(id: &str) -> Vec<u8> {
    with_suffix(b"a/".to_vec(), id.as_bytes())
}

fn guid_key(id: &str) -> Vec<u8> {
    with_suffix(b"g/".to_vec(), id.as_bytes())
}

fn meta_key(slug: &str) -> Vec<u8> {
    with_suffix(b"m/".to_vec(), slug.as_bytes())
}

fn category_prefix(slug: &str) -> Vec<u8> {
    let mut k = with_suffix(b"c/".to_vec(), slug.as_bytes());
    k.push(0);
    k
}

/// The index keys of a stored article: one per category it names, with that category.
fn index_keys(a: &StoredArticle) -> impl Iterator<Item = (&String, Vec<u8>)> {
    let suffix = index_suffix(a.article.published, &a.article.id);
    a.article.categories.iter().map(move |slug| (slug, with_suffix(category_prefix(slug), &suffix)))
}

fn time_key(published: i64) -> [u8; 8] {
    (u64::MAX - published.max(0) as u64).to_be_bytes()
}

/// The publication instant of an index suffix (`{time key}{id}`).
fn published_of(suffix: &[u8]) -> Result<i64, StoreError> {
    let bytes: [u8; 8] =
        suffix.get(..8).and_then(|b| b.try_into().ok()).ok_or_else(|| StoreError::Corrupt("short index key".into()))?;
    Ok((u64::MAX - u64::from_be_bytes(bytes)) as i64)
}

fn index_suffix(published: i64, id: &str) -> Vec<u8> {
    with_suffix(time_key(published).to_vec(), id.as_bytes())
}

fn with_suffix(mut prefix: Vec<u8>, suffix: &[u8]) -> Vec<u8> {
    prefix.extend_from_slice(suffix);
    prefix
}

/// The first key after every key starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

/// A listing cursor: the index suffix of the last article shown, in hex.
fn encode_cursor(suffix: &[u8]) -> String {
    suffix.iter().map(|b| format!("{b:02x}")).collect()
}

/// The index suffix a cursor stands for; `None` if it is not one.
pub fn decode_cursor(cursor: &str) -> Option<Vec<u8>> {
    if cursor.len() < 16 || cursor.len() % 2 != 0 || cursor.len() > 1000 {
        return None;
    }
    (0..cursor.len()).step_by(2).map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok()).collect()
}

/// Article records are JSON compressed with zstd (level 1: fast, and Chinese text still
/// shrinks by a third or more), behind a one-byte format tag. sled's own page compression
/// is off: it recompressed whole pages on every write and made imports 3x slower.
fn encode_article(a: &StoredArticle) -> Vec<u8> {
    thread_local! {
        static COMPRESSOR: std::cell::RefCell<zstd::bulk::Compressor<'static>> =
            std::cell::RefCell::new(zstd::bulk::Compressor::new(1).expect("a zstd context"));
    }
    let json = serde_json::to_vec(a).expect("plain data always serializes");
    let mut out = Vec::with_capacity(json.len() / 2 + 16);
    out.push(ZSTD_JSON);
    COMPRESSOR.with(|c| {
        let packed = c.borrow_mut().compress(&json).expect("compressing in memory");
        out.extend_from_slice(&packed);
    });
    out
}

/// Format tag of a zstd-compressed JSON article record.
const ZSTD_JSON: u8 = 1;

fn decode_article(bytes: &[u8]) -> Result<StoredArticle, StoreError> {
    match bytes.split_first() {
        Some((&ZSTD_JSON, rest)) => {
            let json =
                zstd::stream::decode_all(rest).map_err(|e| StoreError::Corrupt(format!("article record: {e}")))?;
            decode(&json)
        }
        _ => decode(bytes),
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("plain data always serializes")
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Author;

    fn article(id: &str, published: i64, cats: &[&str]) -> Article {
        Article {
            id: id.into(),
            title: format!("title {id}"),
            url: None,
            categories: cats.iter().map(|c| c.to_string()).collect(),
            published,
            updated: None,
            authors: vec![Author { name: "甲".into(), email: None, uri: None }],
            summary: None,
            content_html: Some("<p>x</p>".into()),
            image: None,
            tags: vec![],
        }
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), 8 << 20).unwrap();
        (dir, store)
    }

    fn ids(v: &[StoredArticle]) -> Vec<&str> {
        v.iter().map(|a| a.article.id.as_str()).collect()
    }

    #[test]
    fn upsert_reports_created_updated_unchanged_and_keeps_guid() {
        let (_d, s) = open();
        let w = s.upsert(vec![article("a", 100, &["x"])], 1000, "t.example,2026").unwrap().written;
        assert_eq!(w[0].status, WriteStatus::Created);
        assert_eq!(w[0].guid, "tag:t.example,2026:a");
        let w = s.upsert(vec![article("a", 100, &["x"])], 2000, "other.example,2027").unwrap().written;
        assert_eq!(w[0].status, WriteStatus::Unchanged);
        let mut edited = article("a", 100, &["y"]);
        edited.title = "new".into();
        let report = s.upsert(vec![edited], 3000, "other.example,2027").unwrap();
        assert_eq!(report.touched.iter().collect::<Vec<_>>(), ["x", "y"], "left x, entered y");
        let w = report.written;
        assert_eq!((w[0].status, w[0].guid.as_str()), (WriteStatus::Updated, "tag:t.example,2026:a"));
        let a = s.get("a").unwrap().unwrap();
        assert_eq!((a.created, a.modified, a.updated), (1000, 3000, 3000));
        assert!(s.newest(Some(&["x"]), 10, 5000).unwrap().is_empty(), "old category index entry removed");
        assert_eq!(ids(&s.newest(Some(&["y"]), 10, 5000).unwrap()), vec!["a"]);
    }

    #[test]
    fn first_version_updated_is_published_and_publisher_updated_wins() {
        let (_d, s) = open();
        let mut a = article("a", 100, &["x"]);
        s.upsert(vec![a.clone()], 1000, "t.example,2026").unwrap();
        assert_eq!(s.get("a").unwrap().unwrap().updated, 100);
        a.updated = Some(500);
        a.title = "changed".into();
        s.upsert(vec![a], 1000, "t.example,2026").unwrap();
        assert_eq!(s.get("a").unwrap().unwrap().updated, 500);
    }

    #[test]
    fn newest_merges_categories_dedupes_and_orders_ties_by_id() {
        let (_d, s) = open();
        s.upsert(
            vec![
                article("b", 200, &["x"]),
                article("a", 200, &["y"]),
                article("c", 300, &["x", "y"]),
                article("d", 100, &["y"]),
                article("future", 9_999, &["x"]),
            ],
            1000,
            "t.example,2026",
        )
        .unwrap();
        assert_eq!(ids(&s.newest(Some(&["x", "y"]), 10, 1000).unwrap()), vec!["c", "a", "b", "d"]);
        assert_eq!(ids(&s.newest(Some(&["x", "y"]), 2, 1000).unwrap()), vec!["c", "a"]);
        assert_eq!(ids(&s.newest(None, 10, 1000).unwrap()), vec!["c", "a", "b", "d"]);
        assert_eq!(ids(&s.newest(None, 10, 10_000).unwrap())[0], "future");
        // Archive queries: a time window, and the neighbours of a time.
        assert_eq!(ids(&s.between(Some(&["x", "y"]), 200, 301, 1000).unwrap()), vec!["c", "a", "b"]);
        assert_eq!(ids(&s.between(Some(&["y"]), 100, 200, 1000).unwrap()), vec!["d"]);
        assert!(s.between(None, 9_000, 10_000, 1000).unwrap().is_empty(), "not yet published");
        assert_eq!(s.newest_before(Some(&["x", "y"]), 300, 1000).unwrap(), Some(200));
        assert_eq!(s.newest_before(Some(&["x"]), 200, 1000).unwrap(), None);
        assert_eq!(s.oldest_from(Some(&["x", "y"]), 101, 1000).unwrap(), Some(200));
        assert_eq!(s.oldest_from(None, 301, 1000).unwrap(), None, "future articles are not there yet");
        assert_eq!(s.oldest_from(None, 301, 10_000).unwrap(), Some(9_999));
    }

    #[test]
    fn delete_keeps_the_guid_for_a_returning_id() {
        let (_d, s) = open();
        s.upsert(vec![article("a", 100, &["x"])], 1000, "old.example,2020").unwrap();
        assert_eq!(s.delete("a", 2000).unwrap().unwrap().into_iter().collect::<Vec<_>>(), ["x"]);
        assert!(s.delete("a", 2000).unwrap().is_none());
        assert!(s.get("a").unwrap().is_none());
        assert_eq!(s.count_prefix("c/"), 0);
        assert_eq!(s.count_prefix("g/"), 1, "the tombstone");
        assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 2000);
        let w = s.upsert(vec![article("a", 100, &["x"])], 3000, "new.example,2026").unwrap().written;
        assert_eq!((w[0].status, w[0].guid.as_str()), (WriteStatus::Created, "tag:old.example,2020:a"));
    }

    #[test]
    fn change_times_move_forward_only_for_touched_feeds() {
        let (_d, s) = open();
        s.sync_feeds(
            &[("x".into(), "s1".into()), ("y".into(), "s1".into()), (ALL.into(), "s".into())],
            10,
            "t.example,2026",
        )
        .unwrap();
        s.upsert(vec![article("a", 100, &["x"])], 1000, "t.example,2026").unwrap();
        assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 1000);
        assert_eq!(s.feed_meta(ALL).unwrap().unwrap().changed, 1000);
        assert_eq!(s.feed_meta("y").unwrap().unwrap().changed, 10);
        // An unchanged signature keeps the time; a changed one moves it; a clock going back never does.
        s.sync_feeds(&[("y".into(), "s1".into())], 50, "t.example,2026").unwrap();
        assert_eq!(s.feed_meta("y").unwrap().unwrap().changed, 10);
        s.sync_feeds(&[("y".into(), "s2".into())], 50, "t.example,2026").unwrap();
        assert_eq!(s.feed_meta("y").unwrap().unwrap().changed, 50);
        s.sync_feeds(&[("x".into(), "s9".into())], 5, "t.example,2026").unwrap();
        assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 1000);
        assert_eq!(s.feed_meta("x").unwrap().unwrap().feed_id, "tag:t.example,2026:feeds/x");
    }

    #[test]
    fn same_id_twice_in_one_batch_keeps_the_last() {
        let (_d, s) = open();
        let mut second = article("a", 300, &["y"]);
        second.title = "second".into();
        let w = s.upsert(vec![article("a", 100, &["x"]), second], 1000, "t.example,2026").unwrap().written;
        assert_eq!((w[0].status, w[1].status), (WriteStatus::Created, WriteStatus::Updated));
        assert_eq!(s.count_prefix("c/"), 1);
        assert_eq!(s.get("a").unwrap().unwrap().article.title, "second");
    }

    #[test]
    fn scheduled_articles_change_feeds_when_due_not_when_stored() {
        let (_d, s) = open();
        s.sync_feeds(&[("x".into(), "s".into()), (ALL.into(), "s".into())], 10, "t.example,2026").unwrap();
        assert!(s.release_due(50).unwrap().is_empty(), "first call records the time");
        let report =
            s.upsert(vec![article("soon", 200, &["x"]), article("later", 300, &["x"])], 100, "t.example,2026").unwrap();
        assert!(report.touched.is_empty(), "a future article changes no feed yet");
        assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 10);
        assert_eq!(s.next_due(100).unwrap(), Some(200));
        assert!(s.newest(Some(&["x"]), 10, 150).unwrap().is_empty());
        assert!(s.release_due(150).unwrap().is_empty());
        assert_eq!(s.release_due(250).unwrap().into_iter().collect::<Vec<_>>(), ["x"]);
        assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 200, "the change time is the due time");
        assert_eq!(s.feed_meta(ALL).unwrap().unwrap().changed, 200);
        assert_eq!(ids(&s.newest(Some(&["x"]), 10, 250).unwrap()), vec!["soon"]);
        assert_eq!(s.next_due(250).unwrap(), Some(300));
        assert!(s.release_due(260).unwrap().is_empty());
        s.release_due(1000).unwrap();
        assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 300);
        assert_eq!(s.next_due(1000).unwrap(), None);
    }

    #[test]
    fn records_encoded_ahead_are_used_only_when_they_are_what_the_plan_decides() {
        let (_d, s) = open();
        // Prepared for a write at 1000 but written at 2000 (a group commit's leader's time):
        // the record is encoded again, with the time of the write.
        let items = prepare(vec![article("a", 100, &["x"])], 1000, "t.example,2026", true);
        assert!(items[0].encoded.is_some());
        s.write_locked(items, 2000, "t.example,2026", true).unwrap();
        let a = s.get("a").unwrap().unwrap();
        assert_eq!((a.created, a.modified, a.guid.as_str()), (2000, 2000, "tag:t.example,2026:a"));
        // A deleted id coming back keeps its tombstone's GUID, not the one prepared.
        s.delete("a", 3000).unwrap();
        let again = s.prepare(vec![article("a", 100, &["x"])], 4000, "other.example,2027");
        let w = s.upsert_prepared(again).unwrap().written;
        assert_eq!(w[0].guid, "tag:t.example,2026:a");
        assert_eq!(s.get("a").unwrap().unwrap().guid, "tag:t.example,2026:a");
        // New ids use what was prepared, byte for byte.
        let fresh = s.prepare(vec![article("b", 100, &["x"])], 5000, "t.example,2026");
        let bytes = fresh.items[0].encoded.clone().unwrap();
        s.upsert_prepared(fresh).unwrap();
        assert_eq!(s.db.get(article_key("b")).unwrap().unwrap().as_ref(), &bytes[..]);
        assert!(s.verify().unwrap().is_empty());
    }

    #[test]
    fn a_schema_2_store_loses_its_site_index_and_keeps_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let s = Store::open(&path, 8 << 20).unwrap();
            s.upsert(vec![article("a", 100, &["x"]), article("b", 200, &["y"])], 1000, "t.example,2026").unwrap();
            // What schema 2 wrote besides: a whole-site index entry per article.
            for (id, t) in [("a", 100), ("b", 200)] {
                s.db.insert(with_suffix(b"p/".to_vec(), &index_suffix(t, id)), &[]).unwrap();
            }
            s.db.insert(SCHEMA_KEY, b"2").unwrap();
            s.flush().unwrap();
            assert_eq!(s.verify().unwrap(), ["whole-site index keys (p/) of schema 2 are left"]);
        }
        let s = Store::open(&path, 8 << 20).unwrap();
        assert_eq!(s.count_prefix("p/"), 0);
        assert_eq!(s.db.get(SCHEMA_KEY).unwrap().unwrap().as_ref(), b"3");
        assert!(s.verify().unwrap().is_empty());
        // The site's listing merges the categories found at open.
        assert_eq!(ids(&s.newest(None, 10, 1000).unwrap()), vec!["b", "a"]);
        s.upsert(vec![article("c", 300, &["z"])], 1000, "t.example,2026").unwrap();
        assert_eq!(ids(&s.newest(None, 10, 1000).unwrap()), vec!["c", "b", "a"]);
    }

    #[test]
    fn unknown_schema_and_foreign_stores_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let s = Store::open(&path, 8 << 20).unwrap();
            s.db.insert(SCHEMA_KEY, b"99").unwrap();
            s.flush().unwrap();
        }
        let e = Store::open(&path, 8 << 20).err().expect("schema 99 refused").to_string();
        assert!(e.contains("schema version 99"), "{e}");
        let other = dir.path().join("other");
        {
            let db = sled::Config::new().path(&other).open().unwrap();
            db.insert(b"k", b"v").unwrap();
            db.flush().unwrap();
        }
        let e = Store::open(&other, 8 << 20).err().expect("foreign store refused").to_string();
        assert!(e.contains("not a sihai store"), "{e}");
        // A store whose sled files vanished is not a new empty store.
        let gone = dir.path().join("gone");
        drop(Store::open(&gone, 8 << 20).unwrap());
        for entry in std::fs::read_dir(&gone).unwrap() {
            let p = entry.unwrap().path();
            if !p.ends_with(MARKER_FILE) {
                let _ = std::fs::remove_file(&p).or_else(|_| std::fs::remove_dir_all(&p));
            }
        }
        let e = Store::open(&gone, 8 << 20).err().expect("damaged store refused").to_string();
        assert!(e.contains("damaged or missing"), "{e}");
    }

    #[test]
    fn a_second_opener_is_told_the_store_is_in_use() {
        let (d, _s) = open();
        let e = Store::open(&d.path().join("db"), 8 << 20).err().expect("locked").to_string();
        assert!(e.contains("in use by another process"), "{e}");
    }

    #[test]
    fn guids_percent_encode_what_tag_uris_forbid() {
        assert_eq!(mint_guid("t.example,2026", "a b/c#d%e"), "tag:t.example,2026:a%20b%2Fc%23d%25e");
        assert_eq!(mint_guid("t.example,2026", "新闻-1"), "tag:t.example,2026:%E6%96%B0%E9%97%BB-1");
        assert_eq!(mint_guid("t.example,2026", "x:y@z"), "tag:t.example,2026:x:y@z");
        assert_eq!(mint_guid("t.example,2026", "cafe\u{301}"), "tag:t.example,2026:caf%C3%A9");
    }

    #[test]
    fn concurrent_durable_writers_share_commits_and_each_gets_its_own_answer() {
        let (_d, store) = open();
        let store = std::sync::Arc::new(store);
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    (0..25)
                        .map(|i| {
                            // Every writer also rewrites one shared id: "created" once, "updated" after.
                            let mine = article(&format!("t{t}-{i}"), 1_000 + i, &["hunan"]);
                            let mut shared = article("shared", 500, &["hunan"]);
                            shared.title = format!("by {t} {i}");
                            let report = store.upsert_durable(vec![mine, shared], 2_000, "t.example,2026").unwrap();
                            assert_eq!(report.written.len(), 2);
                            assert_eq!(report.written[0].id, format!("t{t}-{i}"));
                            assert_eq!(report.written[0].status, WriteStatus::Created);
                            assert_eq!(report.written[1].id, "shared");
                            assert!(report.touched.contains("hunan"));
                            report.written[1].status
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let statuses: Vec<WriteStatus> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == WriteStatus::Created).count(), 1, "one writer created it");
        assert_eq!(store.newest(Some(&["hunan"]), 1000, 3_000).unwrap().len(), 16 * 25 + 1);
        assert_eq!(*store.durable.lock().unwrap(), store.applied.load(Ordering::Acquire), "all of it flushed");
    }
}
