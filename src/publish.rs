//! Ready-to-send feeds: store -> feed -> bytes, once per change.
//!
//! The [`Publisher`] is the daemon's shared state. It reads what a feed needs from the
//! store, has `feed/` prepare and render it, and keeps the bytes with their ETag and
//! Last-Modified until a write invalidates them, so a request for an unchanged feed does
//! no store read and no rendering.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{TimeZone, Utc};

use crate::config::Config;
use crate::feed::{self, FeedDoc, Format, Target};
use crate::model::{Article, StoredArticle, WriteStatus};
use crate::store::{FeedMeta, Store, StoreError, Written, ALL};

/// Bytes ready to send, with the headers that describe them.
#[derive(Debug)]
pub struct Rendered {
    /// The document.
    pub body: Bytes,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Strong ETag: a hash of the bytes, quoted.
    pub etag: String,
    /// The feed's stored change time as an HTTP date.
    pub last_modified: String,
    /// Seconds a reader may cache it (the feed's ttl).
    pub max_age: u32,
}

/// What a representation is: a feed format, or the HTML page of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Representation {
    /// `/feeds/{slug}.{rss,atom}`
    Feed(Format),
    /// `/c/{slug}` or `/` for the site.
    Page,
}

/// Why a representation could not be produced.
#[derive(Debug)]
pub enum PublishError {
    /// The store failed.
    Store(StoreError),
    /// A renderer failed (it should not: the data is normalized).
    Render(String),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::Store(e) => write!(f, "{e}"),
            PublishError::Render(e) => write!(f, "rendering failed: {e}"),
        }
    }
}

impl From<StoreError> for PublishError {
    fn from(e: StoreError) -> Self {
        PublishError::Store(e)
    }
}

/// The daemon's shared state: config, store and the cache of rendered feeds.
pub struct Publisher {
    config: Arc<Config>,
    store: Arc<Store>,
    /// Rendered representations by feed; cleared by [`Publisher::invalidate`].
    cache: Mutex<HashMap<(Target, Representation), Arc<Rendered>>>,
    /// Moves on every invalidation: a render that started before a write is not cached.
    generation: AtomicU64,
}

/// Records in the store every feed `config` has (ids, first-seen and config-change times)
/// and makes it durable.
pub fn sync_feeds(config: &Config, store: &Store, now: i64) -> Result<(), StoreError> {
    let mut feeds = vec![(ALL.to_string(), feed::signature(config, Target::All))];
    for (i, c) in config.categories.list.iter().enumerate() {
        feeds.push((c.slug.clone(), feed::signature(config, Target::Category(i))));
    }
    store.sync_feeds(&feeds, now, &config.site.tag_authority)?;
    store.flush()
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

impl Publisher {
    /// A publisher over an open store; records the config's feeds in it first.
    pub fn new(config: Arc<Config>, store: Arc<Store>) -> Result<Publisher, StoreError> {
        sync_feeds(&config, &store, now())?;
        Ok(Publisher { config, store, cache: Mutex::new(HashMap::new()), generation: AtomicU64::new(0) })
    }

    /// The configuration being served.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The feed a slug names in URLs (`all` or a category slug).
    pub fn target(&self, slug: &str) -> Option<Target> {
        if slug == ALL {
            return Some(Target::All);
        }
        self.config.categories.by_slug(slug).map(Target::Category)
    }

    /// The representation, rendered now if no ready copy is cached.
    pub fn get(&self, target: Target, repr: Representation) -> Result<Arc<Rendered>, PublishError> {
        if let Some(hit) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&(target, repr)) {
            return Ok(hit.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let rendered = Arc::new(self.render(target, repr)?);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            cache.insert((target, repr), rendered.clone());
        }
        Ok(rendered)
    }

    /// Drops every ready copy: the next request renders from the store.
    pub fn invalidate(&self) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.clear();
    }

    /// Stores articles (or, with `dry_run`, says what storing them would do). Returns once
    /// the write is durable; the very next request sees it.
    pub fn ingest(&self, articles: Vec<Article>, dry_run: bool) -> Result<Vec<Written>, StoreError> {
        let authority = &self.config.site.tag_authority;
        if dry_run {
            return self.store.preview(articles, now(), authority);
        }
        let written = self.store.upsert(articles, now(), authority)?;
        if written.iter().any(|w| w.status != WriteStatus::Unchanged) {
            self.invalidate();
        }
        self.store.sync()?;
        Ok(written)
    }

    /// Deletes an article from the store and every feed; whether it existed. Durable on return.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let existed = self.store.delete(id, now())?;
        if existed {
            self.invalidate();
            self.store.sync()?;
        }
        Ok(existed)
    }

    /// The stored article with this id (scheduled ones included).
    pub fn article(&self, id: &str) -> Result<Option<StoredArticle>, StoreError> {
        self.store.get(id)
    }

    /// A page of published articles, newest first, of a category (with descendants) or the
    /// whole site, after a cursor; with the next page's cursor.
    pub fn list(
        &self,
        target: Target,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<StoredArticle>, Option<String>), StoreError> {
        let cats = &self.config.categories;
        match target {
            Target::All => self.store.page(None, limit, now(), after),
            Target::Category(i) => {
                let subtree: Vec<&str> = cats.subtree(i).into_iter().map(|j| cats.list[j].slug.as_str()).collect();
                self.store.page(Some(&subtree), limit, now(), after)
            }
        }
    }

    /// The HTML page of one article, if the id is stored and published.
    pub fn article_page(&self, id: &str) -> Result<Option<String>, PublishError> {
        let Some(stored) = self.store.get(id)? else { return Ok(None) };
        if !stored.is_published_at(now()) {
            return Ok(None);
        }
        let meta = self.meta(ALL)?;
        let doc = feed::prepare(&self.config, Target::All, &meta.feed_id, meta.changed, std::slice::from_ref(&stored));
        Ok(Some(feed::html::article_page(&doc, &doc.items[0])))
    }

    /// Prepares the feed document of `target` from the store.
    pub fn prepare(&self, target: Target) -> Result<FeedDoc, PublishError> {
        let now = now();
        let (meta, changed, articles) = match target {
            Target::All => {
                let meta = self.meta(ALL)?;
                let changed = meta.changed;
                (meta, changed, self.store.newest(None, self.config.site.max_items, now)?)
            }
            Target::Category(i) => {
                let cats = &self.config.categories;
                let subtree: Vec<&str> = cats.subtree(i).into_iter().map(|j| cats.list[j].slug.as_str()).collect();
                let mut changed = i64::MIN;
                for slug in &subtree {
                    changed = changed.max(self.meta(slug)?.changed);
                }
                let meta = self.meta(&cats.list[i].slug)?;
                (meta, changed, self.store.newest(Some(&subtree), cats.list[i].max_items, now)?)
            }
        };
        Ok(feed::prepare(&self.config, target, &meta.feed_id, changed, &articles))
    }

    fn meta(&self, slug: &str) -> Result<FeedMeta, StoreError> {
        Ok(self.store.feed_meta(slug)?.unwrap_or_else(|| FeedMeta {
            feed_id: format!("tag:{}:feeds/{slug}", self.config.site.tag_authority),
            seen: 0,
            changed: 0,
            signature: String::new(),
        }))
    }

    fn render(&self, target: Target, repr: Representation) -> Result<Rendered, PublishError> {
        let doc = self.prepare(target)?;
        let (body, content_type) = match repr {
            Representation::Feed(Format::Rss) => {
                (feed::rss::render(&doc).map_err(|e| PublishError::Render(e.to_string()))?, Format::Rss.content_type())
            }
            Representation::Feed(Format::Atom) => (
                feed::atom::render(&doc).map_err(|e| PublishError::Render(e.to_string()))?,
                Format::Atom.content_type(),
            ),
            Representation::Page => (feed::html::feed_page(&doc).into_bytes(), "text/html; charset=utf-8"),
        };
        Ok(Rendered {
            etag: format!("\"{}\"", &blake3::hash(&body).to_hex()[..24]),
            body: Bytes::from(body),
            content_type,
            last_modified: http_date(doc.updated.timestamp()),
            max_age: doc.ttl_minutes * 60,
        })
    }
}

/// An instant as an HTTP date (`Fri, 03 Sep 2021 00:00:00 GMT`).
pub fn http_date(t: i64) -> String {
    Utc.timestamp_opt(t, 0).single().unwrap_or_default().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
