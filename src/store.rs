//! The article store: the only file that knows sled.
//!
//! Everything lives in one sled tree under key prefixes, so one `sled::Batch` changes an
//! article, its GUID record, its index entries and its feeds' change times atomically:
//!
//! | key | value |
//! |---|---|
//! | `meta/schema` | schema version (`1`) |
//! | `a/{id}` | the [`StoredArticle`] as JSON |
//! | `g/{id}` | its GUID; kept after a delete (the tombstone), so a returning id gets it back |
//! | `c/{slug}\0{newest-first time}{id}` | category index entry (the article's own categories) |
//! | `p/{newest-first time}{id}` | whole-site index entry |
//! | `m/{slug}` | [`FeedMeta`] of a category feed (`all` for the site feed) |
//!
//! "Newest-first time" is `u64::MAX - published`, big-endian, so a forward range scan
//! reads newest first and ties fall in id order. A category feed merges the range scans of
//! its subtree's categories: its cost depends on the feed's length and the tree, never on
//! the store's size, and moving a category in the config needs no re-indexing.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::model::{Article, StoredArticle, WriteStatus};

/// The on-disk format this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;
const SCHEMA_KEY: &[u8] = b"meta/schema";

/// Why the store could not do what was asked.
#[derive(Debug)]
pub enum StoreError {
    /// Another process (usually the daemon) holds the store.
    Locked(PathBuf),
    /// The store was written by another version of sihai.
    Schema { path: PathBuf, found: String },
    /// sled or the file system failed.
    Io { path: PathBuf, message: String },
    /// A stored record could not be read back.
    Corrupt(String),
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

/// A handle on the open store. Reads run concurrently; writes are serialized.
pub struct Store {
    db: sled::Db,
    path: PathBuf,
    /// Held while a write reads the old state and applies its batch, so two writers never
    /// interleave their read-modify-write.
    writer: Mutex<()>,
}

/// The slug of the whole-site feed in [`FeedMeta`] keys.
pub const ALL: &str = "all";

fn io_err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io { path: path.to_path_buf(), message: e.to_string() }
}

impl Store {
    /// Opens (or creates) the store in `dir` with a page cache of `cache_bytes`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .use_compression(true)
            .compression_factor(3)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(ref io) if io.to_string().contains("could not acquire lock") => StoreError::Locked(dir.to_path_buf()),
                other => io_err(dir, other),
            })?;
        let store = Store { db, path: dir.to_path_buf(), writer: Mutex::new(()) };
        store.check_schema()?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        match self.db.get(SCHEMA_KEY).map_err(|e| io_err(&self.path, e))? {
            Some(v) if v.as_ref() == SCHEMA_VERSION.to_string().as_bytes() => Ok(()),
            Some(v) => Err(StoreError::Schema { path: self.path.clone(), found: String::from_utf8_lossy(&v).into_owned() }),
            None if self.db.is_empty() => {
                self.db.insert(SCHEMA_KEY, SCHEMA_VERSION.to_string().as_bytes()).map_err(|e| io_err(&self.path, e))?;
                self.flush()
            }
            None => Err(StoreError::Schema { path: self.path.clone(), found: "none (not a sihai store)".into() }),
        }
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| io_err(&self.path, e))
    }

    /// The stored article with this id.
    pub fn get(&self, id: &str) -> Result<Option<StoredArticle>, StoreError> {
        match self.db.get(article_key(id)).map_err(|e| io_err(&self.path, e))? {
            Some(bytes) => decode(&bytes).map(Some),
            None => Ok(None),
        }
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
    pub fn upsert(&self, articles: Vec<Article>, now: i64, tag_authority: &str) -> Result<Vec<Written>, StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut plan = Plan::new(self, now, tag_authority);
        let mut out = Vec::with_capacity(articles.len());
        for article in articles {
            out.push(plan.upsert(article)?);
        }
        plan.apply()?;
        Ok(out)
    }

    /// Deletes the article with this id (its GUID stays as a tombstone). Not flushed.
    /// Returns whether it existed.
    pub fn delete(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut plan = Plan::new(self, now, "");
        let existed = plan.delete(id)?;
        plan.apply()?;
        Ok(existed)
    }

    /// The newest `limit` articles published at or before `now`: of the whole site when
    /// `slugs` is `None`, else of those categories (an article in several appears once).
    pub fn newest(&self, slugs: Option<&[&str]>, limit: usize, now: i64) -> Result<Vec<StoredArticle>, StoreError> {
        let prefixes: Vec<Vec<u8>> = match slugs {
            None => vec![b"p/".to_vec()],
            Some(s) => s.iter().map(|slug| category_prefix(slug)).collect(),
        };
        let mut heads = Vec::with_capacity(prefixes.len());
        for prefix in prefixes {
            let from = with_suffix(prefix.clone(), &time_key(now));
            let iter = self.db.range(from..prefix_end(&prefix));
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
        }
    }

    fn current(&self, id: &str) -> Result<Option<StoredArticle>, StoreError> {
        match self.articles.get(id) {
            Some(a) => Ok(a.clone()),
            None => self.store.get(id),
        }
    }

    fn guid(&mut self, id: &str) -> Result<(String, bool), StoreError> {
        if let Some(g) = self.guids.get(id) {
            return Ok((g.clone(), false));
        }
        let key = guid_key(id);
        if let Some(g) = self.store.db.get(&key).map_err(|e| io_err(&self.store.path, e))? {
            return Ok((String::from_utf8_lossy(&g).into_owned(), false));
        }
        let guid = mint_guid(self.tag_authority, id);
        self.batch.insert(key, guid.as_bytes());
        self.guids.insert(id.to_string(), guid.clone());
        Ok((guid, true))
    }

    fn upsert(&mut self, article: Article) -> Result<Written, StoreError> {
        let old = self.current(&article.id)?;
        let id = article.id.clone();
        if let Some(old) = &old {
            if old.article == article {
                return Ok(Written { id, guid: old.guid.clone(), status: WriteStatus::Unchanged });
            }
        }
        let (guid, _) = self.guid(&id)?;
        let now = self.now;
        let stored = match &old {
            None => StoredArticle {
                updated: article.updated.unwrap_or(article.published).max(article.published),
                excerpt: crate::ingest::normalize::excerpt_of(&article),
                article,
                guid: guid.clone(),
                created: now,
                modified: now,
            },
            Some(old) => StoredArticle {
                updated: article.updated.unwrap_or(now).max(article.published),
                excerpt: crate::ingest::normalize::excerpt_of(&article),
                article,
                guid: guid.clone(),
                created: old.created,
                modified: now,
            },
        };
        if let Some(old) = &old {
            self.unindex(old)?;
        }
        self.index(&stored)?;
        self.batch.insert(article_key(&id), encode(&stored));
        self.articles.insert(id.clone(), Some(stored));
        let status = if old.is_some() { WriteStatus::Updated } else { WriteStatus::Created };
        Ok(Written { id, guid, status })
    }

    fn delete(&mut self, id: &str) -> Result<bool, StoreError> {
        let Some(old) = self.current(id)? else { return Ok(false) };
        self.unindex(&old)?;
        self.batch.remove(article_key(id));
        self.articles.insert(id.to_string(), None);
        Ok(true)
    }

    fn index(&mut self, a: &StoredArticle) -> Result<(), StoreError> {
        let suffix = index_suffix(a.article.published, &a.article.id);
        self.batch.insert(with_suffix(b"p/".to_vec(), &suffix), &[]);
        for slug in &a.article.categories {
            self.batch.insert(with_suffix(category_prefix(slug), &suffix), &[]);
        }
        self.touch(&a.article.categories)
    }

    fn unindex(&mut self, a: &StoredArticle) -> Result<(), StoreError> {
        let suffix = index_suffix(a.article.published, &a.article.id);
        self.batch.remove(with_suffix(b"p/".to_vec(), &suffix));
        for slug in &a.article.categories {
            self.batch.remove(with_suffix(category_prefix(slug), &suffix));
        }
        self.touch(&a.article.categories)
    }

    /// Moves the change time of these categories' feeds and the site feed to now.
    fn touch(&mut self, slugs: &[String]) -> Result<(), StoreError> {
        for slug in slugs.iter().map(String::as_str).chain([ALL]) {
            if !self.metas.contains_key(slug) {
                let meta = match self.store.feed_meta(slug)? {
                    Some(m) => m,
                    None => new_feed_meta(slug, self.now, self.tag_authority, ""),
                };
                self.metas.insert(slug.to_string(), meta);
            }
            let meta = self.metas.get_mut(slug).expect("inserted above");
            meta.changed = meta.changed.max(self.now);
        }
        Ok(())
    }

    fn apply(mut self) -> Result<(), StoreError> {
        for (slug, meta) in &self.metas {
            self.batch.insert(meta_key(slug), encode(meta));
        }
        self.store.db.apply_batch(self.batch).map_err(|e| io_err(&self.store.path, e))
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

/// The GUID of a new id: `tag:{authority}:{id}`, the id percent-encoded where RFC 4151 asks.
pub fn mint_guid(tag_authority: &str, id: &str) -> String {
    format!("tag:{tag_authority}:{}", percent_encoding::utf8_percent_encode(id, TAG_SPECIFIC))
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

fn time_key(published: i64) -> [u8; 8] {
    (u64::MAX - published.max(0) as u64).to_be_bytes()
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

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("plain data always serializes")
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}
