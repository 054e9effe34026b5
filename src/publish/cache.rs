//! The cache of ready representations: each feed, page and archive as identity bytes
//! with its validators, and each compressed coding made on first demand.
//!
//! One slot per [`Key`]. The first request after a change renders into the slot while
//! concurrent ones wait on its lock; later requests read the entry without locking. A
//! write drops the slots of the feeds it changes, so a request after the write gets a
//! fresh slot, and a render still running in a dropped slot only serves the requests
//! that came before the write. `?limit` variants and archives are bounded
//! ([`MAX_EXTRA_VARIANTS`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use chrono::NaiveDate;
use hyper::header::HeaderValue;

use crate::encoding::{self, Encoding};
use crate::feed::{Format, Target};
use crate::time::http_date;

/// Most `?limit=N` variants and archives kept ready at once; past it, they are dropped
/// and re-rendered on demand.
const MAX_EXTRA_VARIANTS: usize = 256;

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

/// A ready entry of identity bytes.
pub(super) fn entry(body: Vec<u8>, content_type: &'static str, last_modified: i64, max_age: u32) -> Entry {
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

/// A cache slot, shared by the requests that wait on it.
type Slot = Arc<SlotInner>;

/// A cache slot: the ready entry (read without locking once filled), and the lock the
/// first request after a change holds while it renders.
#[derive(Default)]
struct SlotInner {
    entry: OnceLock<Arc<Entry>>,
    render: Mutex<()>,
}

/// Every ready representation, by key.
#[derive(Default)]
pub(super) struct Cache {
    slots: Mutex<HashMap<Key, Slot>>,
}

impl Cache {
    fn slot(&self, key: Key) -> Slot {
        let mut cache = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let extra = |k: &Key| k.limit.is_some() || k.archive.is_some();
        if extra(&key) && !cache.contains_key(&key) && cache.keys().filter(|k| extra(k)).count() >= MAX_EXTRA_VARIANTS {
            cache.retain(|k, _| !extra(k));
        }
        cache.entry(key).or_default().clone()
    }

    /// The entry if it is ready now, without blocking (for the request hot path).
    pub(super) fn ready(&self, key: Key) -> Option<Arc<Entry>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).get(&key)?.entry.get().cloned()
    }

    /// The entry, made by `render` if no ready copy is cached; concurrent callers for one
    /// key wait for one render.
    pub(super) fn get_or_render<E>(
        &self,
        key: Key,
        render: impl FnOnce() -> Result<Entry, E>,
    ) -> Result<Arc<Entry>, E> {
        let slot = self.slot(key);
        if let Some(entry) = slot.entry.get() {
            return Ok(entry.clone());
        }
        let _rendering = slot.render.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = slot.entry.get() {
            return Ok(entry.clone()); // rendered while this request waited
        }
        let entry = Arc::new(render()?);
        let _ = slot.entry.set(entry.clone());
        Ok(entry)
    }

    /// Drops every representation of these feeds.
    pub(super) fn drop_feeds(&self, targets: &[Target]) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).retain(|k, _| !targets.contains(&k.target));
    }
}
