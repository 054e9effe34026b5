//! Ready-to-send feeds: store -> feed -> bytes, once per change.
//!
//! The [`Publisher`] is the daemon's shared state. It reads what a feed needs from the
//! store, has `feed/` prepare and render it, and keeps the bytes with their ETag and
//! Last-Modified (and, on first demand, each compressed coding) until a write to one of
//! the feed's categories invalidates them. A request for an unchanged feed does no store
//! read, no rendering and no compression. Concurrent requests for a feed that is not
//! ready wait for one render (a per-entry lock), and writes go through the publisher so
//! that invalidation is part of every write.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use chrono::NaiveDate;
use hyper::header::HeaderValue;
use tokio::sync::Notify;

use crate::config::Config;
use crate::config::SITE_SLUG as ALL;
use crate::encoding::{self, Encoding};
use crate::feed::{self, FeedDoc, Format, Target};
use crate::model::{Article, StoredArticle};
use crate::store::{FeedMeta, Scope, Store, StoreError, Written};
use crate::time::{self, http_date, now};
use crate::websub::WebSub;

/// Most `?limit=N` variants and archives kept ready at once; past it, they are dropped
/// and re-rendered on demand.
const MAX_EXTRA_VARIANTS: usize = 256;
/// Seconds readers may cache an archive document (they change only when one of their own
/// articles does).
const ARCHIVE_MAX_AGE: u32 = 86_400;

/// One coding of a ready representation.
#[derive(Debug)]
pub struct Variant {
    /// The bytes to send.
    pub body: Bytes,
    /// Strong ETag of these bytes, quoted.
    pub etag: String,
    /// The same, ready as a header value (no work per request).
    pub etag_header: HeaderValue,
}

impl Variant {
    fn new(body: Vec<u8>, etag: String) -> Variant {
        let etag_header = HeaderValue::from_str(&etag).expect("an ETag is hex in quotes");
        Variant { body: Bytes::from(body), etag, etag_header }
    }
}

/// A ready representation: the identity bytes, the codings made on demand, its headers.
#[derive(Debug)]
pub struct Entry {
    identity: Variant,
    gzip: OnceLock<Variant>,
    brotli: OnceLock<Variant>,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// The feed's stored change time, Unix seconds (for If-Modified-Since).
    pub last_modified: i64,
    /// The same as an HTTP date, ready as a header value.
    pub last_modified_header: HeaderValue,
    /// `public, max-age=<ttl>`, ready as a header value.
    pub cache_control_header: HeaderValue,
}

impl Entry {
    /// The variant in `encoding` if it is ready (identity always is).
    pub fn ready(&self, encoding: Encoding) -> Option<&Variant> {
        match encoding {
            Encoding::Identity => Some(&self.identity),
            Encoding::Gzip => self.gzip.get(),
            Encoding::Brotli => self.brotli.get(),
        }
    }

    /// The variant in `encoding`, compressing it now if this is its first request
    /// (concurrent first requests wait for one compression).
    pub fn variant(&self, encoding: Encoding, stats: &Stats) -> &Variant {
        let make = || {
            stats.compressions.fetch_add(1, Ordering::Relaxed);
            let body = encoding::compress(&self.identity.body, encoding);
            let etag = format!("{}{}\"", self.identity.etag.trim_end_matches('"'), encoding.etag_suffix());
            Variant::new(body, etag)
        };
        match encoding {
            Encoding::Identity => &self.identity,
            Encoding::Gzip => self.gzip.get_or_init(make),
            Encoding::Brotli => self.brotli.get_or_init(make),
        }
    }
}

/// What a representation is: a feed format, or the HTML page of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Representation {
    /// `/feeds/{slug}.{rss,atom,json}`
    Feed(Format),
    /// `/c/{slug}`: a category's page.
    Page,
    /// `/`: the site's front page with the category tree.
    Home,
    /// `/feeds.opml`: every feed in one format, nested as the tree.
    Opml(Format),
}

/// One cacheable thing: a feed, a representation, and an optional `?limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// Which feed.
    pub target: Target,
    /// Which representation.
    pub repr: Representation,
    /// `?limit=N` when given (1..=max_items).
    pub limit: Option<usize>,
    /// The archive day (site time) for an RFC 5005 archive document.
    pub archive: Option<NaiveDate>,
}

impl Key {
    /// The current feed (or page) of `target` in `repr`.
    pub fn current(target: Target, repr: Representation) -> Key {
        Key { target, repr, limit: None, archive: None }
    }
}

/// Counters of the work done, for tests and operators (`GET /api/stats`).
#[derive(Debug, Default)]
pub struct Stats {
    /// Representations rendered from the store.
    pub renders: AtomicU64,
    /// Compressions made.
    pub compressions: AtomicU64,
}

/// Why a representation could not be produced.
#[derive(Debug)]
pub enum PublishError {
    /// The store failed.
    Store(StoreError),
    /// A renderer failed (it should not: the data is normalized).
    Render(String),
    /// An archive day without articles: there is no such document.
    NoSuchArchive,
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::Store(e) => write!(f, "{e}"),
            PublishError::Render(e) => write!(f, "rendering failed: {e}"),
            PublishError::NoSuchArchive => write!(f, "no such archive"),
        }
    }
}

impl From<StoreError> for PublishError {
    fn from(e: StoreError) -> Self {
        PublishError::Store(e)
    }
}

/// A cache slot: filled once by the first request after a change; the lock makes
/// concurrent requests wait for that one render.
type Slot = Arc<SlotInner>;

/// A cache slot: the ready entry (read without locking once filled), and the lock the
/// first request after a change holds while it renders.
#[derive(Default)]
pub struct SlotInner {
    entry: OnceLock<Arc<Entry>>,
    render: Mutex<()>,
}

/// The daemon's shared state: config, store and the cache of rendered feeds.
pub struct Publisher {
    config: Arc<Config>,
    store: Arc<Store>,
    /// Ready representations. A write removes the slots of the feeds it changes, so a
    /// request after the write gets a fresh slot; a render still running in a removed
    /// slot only serves the requests that came before the write.
    cache: Mutex<HashMap<Key, Slot>>,
    /// Wakes the scheduler when a write stores an article dated in the future.
    pub scheduled: Notify,
    /// Tells WebSub hubs about changed feeds.
    pub websub: Arc<WebSub>,
    /// Work counters.
    pub stats: Stats,
}

/// Records in the store every feed `config` has (ids, first-seen and config-change times)
/// and makes it durable.
pub fn sync_feeds(config: &Config, store: &Store, now: i64) -> Result<(), StoreError> {
    let mut feeds = vec![(ALL.to_string(), feed::signature(config, Target::All))];
    for (i, c) in config.categories.list.iter().enumerate() {
        feeds.push((c.slug.clone(), feed::signature(config, Target::Category(i))));
    }
    store.sync_feeds(&feeds, now, &config.site.tag_authority)?;
    store.release_due(now)?;
    store.flush()
}

impl Publisher {
    /// A publisher over an open store; records the config's feeds in it first and
    /// releases articles that fell due while it was closed.
    pub fn new(config: Arc<Config>, store: Arc<Store>) -> Result<Publisher, StoreError> {
        sync_feeds(&config, &store, now())?;
        Ok(Publisher {
            websub: WebSub::new(config.hubs.clone()),
            config,
            store,
            cache: Mutex::new(HashMap::new()),
            scheduled: Notify::new(),
            stats: Stats::default(),
        })
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

    /// The most items the feed shows (the bound of `?limit`).
    pub fn max_items(&self, target: Target) -> usize {
        match target {
            Target::All => self.config.site.max_items,
            Target::Category(i) => self.config.categories.list[i].max_items,
        }
    }

    fn slot(&self, key: Key) -> Slot {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let extra = |k: &Key| k.limit.is_some() || k.archive.is_some();
        if extra(&key) && !cache.contains_key(&key) && cache.keys().filter(|k| extra(k)).count() >= MAX_EXTRA_VARIANTS {
            cache.retain(|k, _| !extra(k));
        }
        cache.entry(key).or_default().clone()
    }

    /// The entry if it is ready now, without blocking (for the request hot path).
    pub fn ready(&self, key: Key) -> Option<Arc<Entry>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key)?.entry.get().cloned()
    }

    /// The entry, rendered now if no ready copy is cached (blocking: call it off the
    /// async executor).
    pub fn get(&self, key: Key) -> Result<Arc<Entry>, PublishError> {
        let slot = self.slot(key);
        if let Some(entry) = slot.entry.get() {
            return Ok(entry.clone());
        }
        let _rendering = slot.render.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = slot.entry.get() {
            return Ok(entry.clone()); // rendered while this request waited
        }
        let entry = Arc::new(self.render(key)?);
        let _ = slot.entry.set(entry.clone());
        Ok(entry)
    }

    /// Drops the ready copies of the feeds showing these categories (each, its ancestors,
    /// and the site feed): the next request for them renders from the store.
    pub fn invalidate(&self, touched: &BTreeSet<String>) {
        let cats = &self.config.categories;
        let mut targets = vec![Target::All];
        for slug in touched {
            if let Some(i) = cats.by_slug(slug) {
                targets.push(Target::Category(i));
                targets.extend(cats.ancestors(i).into_iter().map(Target::Category));
            }
        }
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).retain(|k, _| !targets.contains(&k.target));
        let topics: Vec<String> = targets
            .iter()
            .flat_map(|&t| {
                let slug = self.slug(t).to_string();
                let base = self.config.site.base_url.as_str();
                Format::ALL.into_iter().map(move |f| feed::urls::feed_url(base, &slug, f))
            })
            .collect();
        self.websub.notify(&topics);
    }

    /// Stores articles (or, with `dry_run`, says what storing them would do). Returns once
    /// the write is durable; the very next request sees it.
    pub fn ingest(&self, articles: Vec<Article>, dry_run: bool) -> Result<Vec<Written>, StoreError> {
        let authority = &self.config.site.tag_authority;
        let now = now();
        if dry_run {
            return self.store.preview(articles, now, authority);
        }
        let future = articles.iter().any(|a| a.published > now);
        let bytes: usize =
            articles.iter().map(|a| 1024 + a.title.len() + a.content_html.as_ref().map_or(0, String::len)).sum();
        self.store.ensure_space(bytes as u64, self.config.server.min_free_bytes)?;
        let report = self.store.upsert_durable(articles, now, authority)?;
        if !report.touched.is_empty() {
            self.invalidate(&report.touched);
        }
        if future {
            self.scheduled.notify_one();
        }
        Ok(report.written)
    }

    /// Deletes an article from the store and every feed; whether it existed. Durable on return.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.store.ensure_space(4096, self.config.server.min_free_bytes)?;
        match self.store.delete(id, now())? {
            None => Ok(false),
            Some(touched) => {
                if !touched.is_empty() {
                    self.invalidate(&touched);
                }
                self.store.sync()?;
                Ok(true)
            }
        }
    }

    /// Releases the scheduled articles that are due: their feeds change (their change
    /// time becomes the due time) and are re-rendered on the next request. Returns the
    /// next due instant, if any.
    pub fn release_due(&self) -> Result<Option<i64>, StoreError> {
        let now = now();
        let touched = self.store.release_due(now)?;
        if !touched.is_empty() {
            self.invalidate(&touched);
            self.store.sync()?;
            tracing::info!("released scheduled articles in {}", touched.iter().cloned().collect::<Vec<_>>().join(", "));
        }
        self.store.next_due(now)
    }

    /// Streams every record of the store to `emit` (a backup while serving).
    pub fn export(
        &self,
        emit: impl FnMut(&crate::store::ExportRecord) -> std::io::Result<()>,
    ) -> Result<usize, StoreError> {
        self.store.export(emit)
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
        let subtree = self.subtree_slugs(target);
        self.store.page(scope(&subtree), limit, now(), after)
    }

    fn subtree_slugs(&self, target: Target) -> Option<Vec<&str>> {
        let cats = &self.config.categories;
        match target {
            Target::All => None,
            Target::Category(i) => Some(cats.subtree(i).into_iter().map(|j| cats.list[j].slug.as_str()).collect()),
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

    /// The stored change time of `target`'s feed: the latest of its subtree's.
    fn changed(&self, target: Target) -> Result<i64, StoreError> {
        let mut changed = self.meta(self.slug(target))?.changed;
        for s in self.subtree_slugs(target).iter().flatten() {
            changed = changed.max(self.meta(s)?.changed);
        }
        Ok(changed)
    }

    fn slug(&self, target: Target) -> &str {
        match target {
            Target::All => ALL,
            Target::Category(i) => self.config.categories.list[i].slug.as_str(),
        }
    }

    /// Prepares the feed document of `target` (its newest `limit` items) from the store,
    /// linking the archive of its oldest item's day when older articles may exist.
    pub fn prepare(&self, target: Target, limit: Option<usize>) -> Result<FeedDoc, PublishError> {
        let subtree = self.subtree_slugs(target);
        let changed = self.changed(target)?;
        let count = limit.unwrap_or_else(|| self.max_items(target));
        let articles = self.store.newest(scope(&subtree), count, now())?;
        let mut doc = feed::prepare(&self.config, target, &self.meta(self.slug(target))?.feed_id, changed, &articles);
        doc.self_query = limit.map(|n| format!("?limit={n}")).unwrap_or_default();
        if articles.len() == count {
            doc.history.prev = articles.last().map(|a| self.day_of(a.article.published).to_string());
        }
        Ok(doc)
    }

    /// Prepares the RFC 5005 archive of `target` for `day`: every article published that
    /// day (site time), with links to the neighbouring archive days and the current feed.
    pub fn prepare_archive(&self, target: Target, day: NaiveDate) -> Result<FeedDoc, PublishError> {
        let tz = self.config.site.timezone;
        let start = time::day_start(tz, day);
        let next_day = day.succ_opt().ok_or(PublishError::NoSuchArchive)?;
        let end = time::day_start(tz, next_day);
        let subtree = self.subtree_slugs(target);
        let now = now();
        let articles = self.store.between(scope(&subtree), start, end, now)?;
        if articles.is_empty() {
            return Err(PublishError::NoSuchArchive);
        }
        // The document's own time changes only with its own articles.
        let updated = articles.iter().map(|a| a.modified.max(a.updated)).max().unwrap_or(start);
        let mut doc = feed::prepare(&self.config, target, &self.meta(self.slug(target))?.feed_id, updated, &articles);
        doc.title = format!("{} ({day})", doc.title);
        doc.history = feed::History {
            archive: Some(day.to_string()),
            prev: self.store.newest_before(scope(&subtree), start, now)?.map(|t| self.day_of(t).to_string()),
            next: self.store.oldest_from(scope(&subtree), end, now)?.map(|t| self.day_of(t).to_string()),
        };
        Ok(doc)
    }

    /// The site-time day of an instant.
    fn day_of(&self, t: i64) -> NaiveDate {
        time::site_day(self.config.site.timezone, t)
    }

    fn meta(&self, slug: &str) -> Result<FeedMeta, StoreError> {
        Ok(self.store.feed_meta(slug)?.unwrap_or_else(|| FeedMeta::new(slug, 0, &self.config.site.tag_authority, "")))
    }

    fn render(&self, key: Key) -> Result<Entry, PublishError> {
        self.stats.renders.fetch_add(1, Ordering::Relaxed);
        if let Representation::Opml(format) = key.repr {
            return self.render_opml(format);
        }
        let (doc, last_modified, max_age) = match key.archive {
            None => {
                let doc = self.prepare(key.target, key.limit)?;
                let (t, age) = (doc.updated.timestamp(), doc.ttl_minutes * 60);
                (doc, t, age)
            }
            // HTTP validators of an archive follow the feed's change time (a delete in it
            // must never be answered 304 by date), its document keeps its own time.
            Some(day) => (self.prepare_archive(key.target, day)?, self.changed(key.target)?, ARCHIVE_MAX_AGE),
        };
        let (body, content_type) = match key.repr {
            Representation::Feed(format) => {
                let body = feed::render(&doc, format).map_err(|e| PublishError::Render(e.to_string()))?;
                (body, format.content_type())
            }
            Representation::Page => (feed::html::feed_page(&doc).into_bytes(), feed::HTML_CONTENT_TYPE),
            Representation::Home => (feed::html::home_page(&doc, &self.config).into_bytes(), feed::HTML_CONTENT_TYPE),
            Representation::Opml(_) => unreachable!("rendered above"),
        };
        Ok(entry(body, content_type, last_modified, max_age))
    }

    /// The OPML list depends on the config only; its time is when the store first saw the
    /// newest of the feeds.
    fn render_opml(&self, format: Format) -> Result<Entry, PublishError> {
        let mut seen = self.meta(ALL)?.seen;
        for c in &self.config.categories.list {
            seen = seen.max(self.meta(&c.slug)?.seen);
        }
        let body = feed::opml::render(&self.config, format);
        Ok(entry(body, feed::OPML_CONTENT_TYPE, seen, self.config.site.ttl_minutes * 60))
    }
}

/// The store's scope of a feed's subtree (`None`: the whole site).
fn scope<'a>(subtree: &'a Option<Vec<&'a str>>) -> Scope<'a> {
    match subtree {
        None => Scope::Site,
        Some(slugs) => Scope::Categories(slugs),
    }
}

/// A ready entry of identity bytes.
fn entry(body: Vec<u8>, content_type: &'static str, last_modified: i64, max_age: u32) -> Entry {
    let etag = format!("\"{}\"", &blake3::hash(&body).to_hex()[..24]);
    Entry {
        identity: Variant::new(body, etag),
        gzip: OnceLock::new(),
        brotli: OnceLock::new(),
        content_type,
        last_modified,
        last_modified_header: HeaderValue::from_str(&http_date(last_modified)).expect("an HTTP date is ASCII"),
        cache_control_header: HeaderValue::from_str(&format!("public, max-age={max_age}")).expect("ASCII"),
    }
}

/// Runs until `stop` completes: releases scheduled articles when they fall due, waking at
/// the next due time or when a write stores a new scheduled article.
pub async fn run_scheduler(publisher: Arc<Publisher>, stop: impl std::future::Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    loop {
        let p = publisher.clone();
        let next = match tokio::task::spawn_blocking(move || p.release_due()).await {
            Ok(Ok(next)) => next,
            Ok(Err(e)) => {
                tracing::error!("releasing scheduled articles: {e}; retrying in 5 s");
                Some(now() + 5)
            }
            Err(e) => {
                tracing::error!("scheduler task failed: {e}");
                Some(now() + 5)
            }
        };
        let wait = match next {
            // Wake just after the due second begins; re-check at least hourly.
            Some(due) => std::time::Duration::from_millis(((due - now()).max(0) as u64) * 1000 + 50).min(HOUR),
            None => HOUR,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = publisher.scheduled.notified() => {}
            _ = &mut stop => return,
        }
    }
}

const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);
