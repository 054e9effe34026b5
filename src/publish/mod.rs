//! Ready-to-send feeds: store -> feed -> bytes, once per change.
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | [`Publisher`]: writes through it (so invalidation is part of every write), invalidation, WebSub topics |
//! | `cache.rs` | ready entries (bytes, codings, ETags, Last-Modified) in per-key slots, within `[server] cache_bytes` |
//! | `render.rs` | store -> prepared feed -> the bytes of a representation |
//! | `scheduler.rs` | releasing scheduled articles when due |
//! | `readership.rs` | today's readership counts, flushed to the store once a minute and rolled over daily |
//!
//! The [`Publisher`] is the daemon's shared state. It reads what a feed needs from the
//! store, has `feed/` prepare and render it, and keeps the bytes with their ETag and
//! Last-Modified (and, on first demand, each compressed coding) until a write to one of
//! the feed's categories invalidates them. A request for an unchanged feed does no store
//! read, no rendering and no compression. Concurrent requests for a feed that is not
//! ready wait for one render (a per-entry lock), and writes go through the publisher so
//! that invalidation is part of every write.

mod cache;
mod readership;
mod render;
mod scheduler;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use arc_swap::ArcSwap;
use tokio::sync::Notify;

use crate::config::Config;
use crate::config::SITE_SLUG as ALL;
use crate::encoding::Encoding;
use crate::feed::{self, Format, Target};
use crate::metrics::Metrics;
use crate::model::{Article, StoredArticle};
use crate::store::{Store, StoreError, Touched, Written};
use crate::time::now;
use crate::websub::WebSub;
use cache::Cache;
use render::scope;

pub use cache::{Edition, Entry, Key, Representation, Variant};
pub use readership::{today as readership_day, Readership, DAY_ENV};
pub use scheduler::run_scheduler;

/// Why a representation could not be produced.
#[derive(Debug)]
pub enum PublishError {
    /// The store failed.
    Store(StoreError),
    /// A renderer failed (it should not: the data is normalized).
    Render(String),
    /// An archive day without articles: there is no such document.
    NoSuchArchive,
    /// A tag or author without published articles: there is no such feed or page.
    NoSuchFeed,
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishError::Store(e) => write!(f, "{e}"),
            PublishError::Render(e) => write!(f, "rendering failed: {e}"),
            PublishError::NoSuchArchive => write!(f, "no such archive"),
            PublishError::NoSuchFeed => write!(f, "no such feed"),
        }
    }
}

impl From<StoreError> for PublishError {
    fn from(e: StoreError) -> Self {
        PublishError::Store(e)
    }
}

/// One configuration being served, with the representations rendered under it.
///
/// A request takes the current view once ([`Publisher::view`]) and routes, renders and
/// caches through it alone, so a reload (a new view) never mixes two configurations in
/// one answer: a category index taken from one config is only ever used with that
/// config. A reload swaps in a new view with an empty cache; requests still holding the
/// old one finish with it.
pub struct View {
    config: Arc<Config>,
    store: Arc<Store>,
    /// Ready representations, at most `[server] cache_bytes` of them. A write removes the
    /// slots of the feeds it changes, so a request after the write gets a fresh slot; a
    /// render still running in a removed slot only serves the requests that came before
    /// the write.
    cache: Cache,
    metrics: Arc<Metrics>,
    /// The config as the Traditional edition shows it (`feed::hant::edition_config`), made
    /// on the first edition's OPML list or front page.
    edition_config: OnceLock<Arc<Config>>,
    /// Each feed's current document converted to the Traditional edition: its RSS, Atom,
    /// JSON, page and filtered feeds render from one conversion per change (a conversion
    /// costs about 100 renders: BENCHMARKS.md). At most one per feed of the config
    /// (about the size of its RSS each); a write drops the ones it changes.
    converted: Mutex<Converted>,
}

/// The converted current documents, and the count of invalidations that decides whether
/// a conversion may still be kept.
#[derive(Default)]
struct Converted {
    /// Moves on every invalidation: a conversion started under an older count read the
    /// store before a write and is used for its own render only.
    generation: u64,
    docs: HashMap<Target, Arc<feed::FeedDoc>>,
}

/// The daemon's shared state: the store, the current [`View`] (config and ready
/// representations), the scheduler's wake-up and WebSub.
pub struct Publisher {
    /// Swapped whole by [`Publisher::reload`]; read once per request.
    view: ArcSwap<View>,
    store: Arc<Store>,
    /// Wakes the scheduler when a write stores an article dated in the future.
    pub scheduled: Notify,
    /// Tells WebSub hubs about changed feeds.
    pub websub: Arc<WebSub>,
    /// The daemon's metrics (work counters among them).
    pub metrics: Arc<Metrics>,
    /// Who reads the feeds: today's counts, kept in the store.
    pub readership: Readership,
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
    pub fn new(config: Arc<Config>, store: Arc<Store>, metrics: Arc<Metrics>) -> Result<Publisher, StoreError> {
        sync_feeds(&config, &store, now())?;
        let websub = WebSub::new(config.hubs.clone(), metrics.clone());
        let readership = Readership::open(&config, &store)?;
        let view = View::new(config, store.clone(), metrics.clone());
        Ok(Publisher {
            view: ArcSwap::from_pointee(view),
            store,
            scheduled: Notify::new(),
            websub,
            metrics,
            readership,
        })
    }

    /// The view a request works through, from its route to its answer.
    pub fn view(&self) -> Arc<View> {
        self.view.load_full()
    }

    /// The view a request works through, without touching a shared reference count (the
    /// hot path: `Arc::clone` it only to move it to another thread).
    pub fn view_guard(&self) -> arc_swap::Guard<Arc<View>> {
        self.view.load()
    }

    /// The configuration being served now.
    pub fn config(&self) -> Arc<Config> {
        self.view.load().config.clone()
    }

    /// Serves `config` from now on: records its feeds (a feed whose configuration changed
    /// gets a new change time, as at a restart), then swaps in a view with an empty cache.
    /// Requests in flight finish with the view they started with; a write racing the swap
    /// is rendered by whichever view serves the next request, since the new view renders
    /// only after the swap, from the store as it is then.
    pub fn reload(&self, config: Config) -> Result<(), StoreError> {
        sync_feeds(&config, &self.store, now())?;
        let view = View::new(Arc::new(config), self.store.clone(), self.metrics.clone());
        self.view.store(Arc::new(view));
        Ok(())
    }

    /// The store's size, article count and scheduled count (blocking: off the executor).
    pub fn figures(&self) -> Result<crate::store::Figures, StoreError> {
        self.store.figures(now())
    }

    /// Writes today's readership counts to the store, durably (the flush task, shutdown).
    pub fn flush_readership(&self) -> Result<(), StoreError> {
        self.readership.flush(&self.config(), &self.store)
    }

    /// Readership records of the last `days` days (blocking: off the executor).
    pub fn readership_history(
        &self,
        days: u64,
    ) -> Result<(chrono::NaiveDate, crate::readers::report::History), StoreError> {
        self.readership.history(&self.store, days)
    }

    /// Bytes of ready representations kept now.
    pub fn cache_bytes(&self) -> u64 {
        self.view.load().cache.bytes()
    }

    /// Drops the ready copies of the feeds a write changed: those showing the touched
    /// categories (each, its ancestors, and the site feed), and the touched tags' and
    /// authors' (their feeds, archives and pages), and nothing else: the next request for
    /// them renders from the store.
    pub fn invalidate(&self, touched: &Touched) {
        let view = self.view.load();
        let cats = &view.config.categories;
        let mut targets = vec![Target::All];
        for slug in &touched.categories {
            if let Some(i) = cats.by_slug(slug) {
                targets.push(Target::Category(i));
                targets.extend(cats.ancestors(i).into_iter().map(Target::Category));
            }
        }
        targets.extend(touched.tags.iter().filter_map(|t| feed::Name::new(t)).map(Target::Tag));
        targets.extend(touched.authors.iter().filter_map(|a| feed::Name::new(a)).map(Target::Author));
        view.cache.drop_feeds(&targets);
        {
            let mut converted = view.converted.lock().unwrap_or_else(|p| p.into_inner());
            converted.generation += 1;
            converted.docs.retain(|t, _| !targets.contains(t));
        }
        // Each edition's feeds are topics of their own (their self links name the hubs).
        let base = view.config.site.base_url.as_str();
        let mut bases = vec![base.to_string()];
        if view.config.site.traditional.is_some() {
            bases.push(feed::urls::edition_base(base));
        }
        let topics: Vec<String> = bases
            .iter()
            .flat_map(|base| {
                let view = &view;
                targets.iter().flat_map(move |&t| {
                    let slug = match t.name() {
                        Some((kind, name)) => feed::urls::name_slug(kind, name),
                        None => view.slug(t).to_string(),
                    };
                    Format::ALL.into_iter().map(move |f| feed::urls::feed_url(base, &slug, f))
                })
            })
            .collect();
        self.websub.notify(&topics);
    }

    /// Stores articles (or, with `dry_run`, says what storing them would do). Returns once
    /// the write is durable; the very next request sees it.
    pub fn ingest(&self, articles: Vec<Article>, dry_run: bool) -> Result<Vec<Written>, StoreError> {
        let config = self.config();
        let authority = &config.site.tag_authority;
        let now = now();
        if dry_run {
            return self.store.preview(articles, now, authority);
        }
        let future = articles.iter().any(|a| a.published > now);
        let bytes: usize =
            articles.iter().map(|a| 1024 + a.title.len() + a.content_html.as_ref().map_or(0, String::len)).sum();
        self.store.ensure_space(bytes as u64, config.server.min_free_bytes)?;
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
        self.store.ensure_space(4096, self.config().server.min_free_bytes)?;
        let Some(id) = self.store.stored_id(id)? else { return Ok(false) };
        match self.store.delete(&id, now())? {
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
            let slugs: Vec<&str> = touched.categories.iter().map(String::as_str).collect();
            tracing::info!("released scheduled articles in {}", slugs.join(", "));
        }
        self.store.next_due(now)
    }

    /// Whether the daemon can serve and write: the store answers a read, and the disk
    /// keeps `[server] min_free_bytes` free (else writes would answer 507).
    pub fn readiness(&self) -> Result<(), StoreError> {
        self.store.feed_meta(ALL)?;
        self.store.ensure_space(0, self.config().server.min_free_bytes)
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
        match self.store.stored_id(id)? {
            Some(id) => self.store.get(&id),
            None => Ok(None),
        }
    }
}

impl View {
    fn new(config: Arc<Config>, store: Arc<Store>, metrics: Arc<Metrics>) -> View {
        let cache = Cache::new(config.server.limits.cache_bytes);
        View {
            config,
            store,
            cache,
            metrics,
            edition_config: OnceLock::new(),
            converted: Mutex::new(Converted::default()),
        }
    }

    /// The configuration of this view.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The site's `base_url`, which every public URL starts with.
    pub fn base(&self) -> &str {
        self.config.site.base_url.as_str()
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
            Target::All | Target::Tag(_) | Target::Author(_) => self.config.site.max_items,
            Target::Category(i) => self.config.categories.list[i].max_items,
        }
    }

    /// The entry if it is ready now, without blocking (for the request hot path).
    pub fn ready(&self, key: Key) -> Option<Arc<Entry>> {
        self.cache.ready(key)
    }

    /// The entry, rendered now if no ready copy is cached (blocking: call it off the
    /// async executor).
    pub fn get(&self, key: Key) -> Result<Arc<Entry>, PublishError> {
        self.get_filtered(key, None)
    }

    /// [`View::get`] of a filtered feed: `filter` is the compiled filter `key.filter` names
    /// (rendered from the feed's prepared items, kept in the cache's first-evicted tier).
    pub fn get_filtered(&self, key: Key, filter: Option<&feed::filter::Filter>) -> Result<Arc<Entry>, PublishError> {
        self.cache.get_or_render(key, || self.render(key, filter))
    }

    /// Whether the site has a Traditional Chinese edition (`[site] traditional`).
    pub fn has_edition(&self) -> bool {
        self.config.site.traditional.is_some()
    }

    /// `entry` (the one kept for `key`) in `encoding`, compressed now if this is the first
    /// request for that coding (blocking: call it off the async executor). Goes through the
    /// cache so that the coding's bytes count against its budget.
    pub fn variant<'e>(&self, key: Key, entry: &'e Arc<Entry>, encoding: Encoding) -> &'e Variant {
        self.cache.variant(key, entry, encoding, &self.metrics)
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
        self.store.page(scope(&target, &subtree), limit, now(), after)
    }
}
