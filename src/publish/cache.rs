//! The cache of ready representations: each feed, page and archive as identity bytes
//! with its validators, and each compressed coding made on first demand.
//!
//! One slot per [`Key`]. The first request after a change renders into the slot while
//! concurrent ones wait on its lock; later requests read the entry without locking the
//! slot. A write drops the slots of the feeds it changes, so a request after the write
//! gets a fresh slot, and a render still running in a dropped slot only serves the
//! requests that came before the write.
//!
//! **The budget.** Every kept entry is charged its identity bytes, the bytes of each coding
//! made for it, and [`ENTRY_OVERHEAD`]; the total is at most `[server] cache_bytes`
//! (default 256 MiB) whenever an insertion or a compression returns. Keys are chosen by
//! clients (`?limit=N`, archive days), so a count of entries bounded nothing: a few hundred
//! `?limit` URLs of a large feed took the daemon from 73 MB to a 1.79 GB peak. An entry
//! larger than the whole budget (with its codings) is served to the requests that waited
//! for it and not kept. A render that fails leaves no slot behind, so keys that name
//! nothing (archive days without articles) hold no memory either.
//!
//! **Who goes first** when an insertion or a compression would pass the budget: `?limit`
//! variants, archives, filtered feeds, and tag and author feeds and pages (keys a client
//! can multiply without end, each a render away)
//! all go before any current feed, page, front page or OPML list (a few per category, what
//! readers poll). Within each of those two tiers, the least recently used goes first. A
//! request stamps its entry with the cache's clock (one atomic store, skipped when the
//! stamp is already current); the clock advances only when an entry is kept, so "recent"
//! is counted in insertions, and entries used between the same two insertions tie (the
//! older one goes first). Kept entries wait in an ordered queue by the stamp they had when
//! queued: eviction takes the front, and an entry stamped since goes back in at its new
//! stamp instead of out. Requests pay no list splice and no extra lock; eviction runs only
//! when an entry or a coding is added (once per change), O(log n) per step, and each use
//! costs at most one step.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use chrono::NaiveDate;
use hyper::header::HeaderValue;

use crate::encoding::{self, Encoding};
use crate::feed::{Format, Target};
use crate::metrics::Metrics;
use crate::time::http_date;

/// Bytes charged to each kept entry beside its bodies: the entry with its ETags and header
/// values, its slot, its key and map record, its place in the queue (about 800 bytes
/// counted from the types, rounded up). It keeps a flood of tiny entries (archive days of
/// a small category) from holding much more than the budget says.
pub const ENTRY_OVERHEAD: u64 = 1024;

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
    fn new(mut body: Vec<u8>, etag: String) -> Variant {
        // A renderer's or compressor's buffer grows by doubling: without this, a kept body
        // could hold up to twice the bytes the budget counts.
        body.shrink_to_fit();
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
    /// [`cache_control`] of its max-age, ready as a header value.
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

    /// The bytes this entry holds as the budget counts them: its bodies and
    /// [`ENTRY_OVERHEAD`].
    pub fn bytes(&self) -> u64 {
        let len = |v: Option<&Variant>| v.map_or(0, |v| v.body.len() as u64);
        self.identity.body.len() as u64 + len(self.gzip.get()) + len(self.brotli.get()) + ENTRY_OVERHEAD
    }

    /// The variant in `encoding`, compressing it now if this is its first request
    /// (concurrent first requests wait for one compression). Only the cache calls it, so
    /// that every coding made is charged to the budget ([`Cache::variant`]).
    pub(super) fn variant(&self, encoding: Encoding, metrics: &Metrics) -> &Variant {
        let make = || {
            let started = std::time::Instant::now();
            let body = encoding::compress(&self.identity.body, encoding);
            metrics.compressed(encoding.token(), started.elapsed());
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

/// `Cache-Control` of a representation a reader may keep `max_age` seconds: RFC 5861's
/// `stale-while-revalidate` (as long again: a proxy answers from its copy while it
/// revalidates) and `stale-if-error` (ten times as long: proxies and CDNs ride over a
/// restart or an outage of sihai). No `public`: it adds nothing to a response to a request
/// without `Authorization`, and HTTP linters flag it.
pub fn cache_control(max_age: u32) -> String {
    let error = max_age.saturating_mul(10);
    format!("max-age={max_age}, stale-while-revalidate={max_age}, stale-if-error={error}")
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
        cache_control_header: HeaderValue::from_str(&cache_control(max_age)).expect("ASCII"),
    }
}

/// What a representation is: a feed format, or the HTML page of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Representation {
    /// `/feeds/{slug}.{rss,atom,json}`
    Feed(Format),
    /// `/c/{slug}`, `/tag/{name}`, `/author/{name}`: a category's, tag's or author's page.
    Page,
    /// `/`: the site's front page with the category tree.
    Home,
    /// `/feeds.opml`: every feed in one format, nested as the tree (with `?include=`, the
    /// most used tags' and authors' feeds too).
    Opml(Format, crate::feed::opml::Include),
}

/// Which script a document is written in: the site's own, or its Traditional Chinese
/// edition (`/zh-hant/...`, `[site] traditional`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Edition {
    /// The site's text as stored (Simplified Chinese on a `zh-CN` site).
    #[default]
    Simplified,
    /// Converted by OpenCC when rendered (once per change, then kept like the original).
    Traditional,
}

/// One cacheable thing: a feed, a representation, an optional `?limit`, archive day and
/// filter, in one edition.
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
    /// The script it is written in.
    pub edition: Edition,
    /// The digest of its `?filter...` query (`feed::filter::FilterSpec::id`): a key names
    /// the filter, the request carries the patterns (the key stays `Copy` and small).
    pub filter: Option<u128>,
}

impl Key {
    /// The current feed (or page) of `target` in `repr`.
    pub fn current(target: Target, repr: Representation) -> Key {
        Key { target, repr, limit: None, archive: None, edition: Edition::Simplified, filter: None }
    }
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

/// The eviction tier of `?limit` variants, archives and filtered feeds: they go first.
const EXTRA: usize = 0;
/// The eviction tier of current feeds, pages, the front page and OPML: they go last.
const CURRENT: usize = 1;

/// Which tier a key's entry is evicted in. Tag and author feeds and pages go with the
/// variants: their keys are chosen by clients too (a store holds as many names as its
/// articles have tags), so a crawl of them must not push out the category feeds readers
/// poll.
fn tier(key: &Key) -> usize {
    if key.limit.is_some() || key.archive.is_some() || key.filter.is_some() || key.target.name().is_some() {
        EXTRA
    } else {
        CURRENT
    }
}

/// A slot in the map, with what the budget knows of it.
struct Record {
    slot: Slot,
    /// Tells this record from others in the queue's order (ties of stamps go to the older).
    id: u64,
    /// Bytes charged to the budget for this record: 0 while its entry is being rendered
    /// (it is then in no queue and cannot be evicted), [`Entry::bytes`] once it is kept.
    charged: u64,
    /// The stamp it is queued under (while `charged > 0`).
    queued: u64,
    /// The clock when it was last used: stored by requests, read by eviction.
    used: AtomicU64,
}

impl Record {
    /// Records a use at `clock`: one relaxed load, and a store only when the stamp is
    /// older, so that requests for a hot entry do not keep writing its cache line.
    fn touch(&self, clock: u64) {
        if self.used.load(Ordering::Relaxed) != clock {
            self.used.store(clock, Ordering::Relaxed);
        }
    }
}

/// Everything behind the cache's lock.
#[derive(Default)]
struct Slots {
    map: HashMap<Key, Record>,
    /// Kept entries of each tier ([`EXTRA`], [`CURRENT`]) by (stamp when queued, id): the
    /// front is the next to go unless it was used since.
    queues: [BTreeMap<(u64, u64), Key>; 2],
    /// The sum of every record's `charged`.
    bytes: u64,
    /// The id of the next record.
    next_id: u64,
    /// Advances each time an entry is kept; what uses are stamped with.
    clock: u64,
}

impl Slots {
    /// Removes a record, uncharging it and taking it out of its queue.
    fn remove(&mut self, key: &Key) {
        if let Some(record) = self.map.remove(key) {
            self.bytes -= record.charged;
            if record.charged > 0 {
                self.queues[tier(key)].remove(&(record.queued, record.id));
            }
        }
    }

    /// The next entry to evict: the least recently used of the first non-empty tier.
    /// `None` when nothing is kept.
    fn victim(&mut self) -> Option<Key> {
        for tier in [EXTRA, CURRENT] {
            // Each record moves back at most once: its new place is its stamp, which no
            // request can change while the lock is held.
            while let Some((&(queued, id), &key)) = self.queues[tier].first_key_value() {
                let Some(record) = self.map.get_mut(&key).filter(|r| r.id == id && r.charged > 0) else {
                    self.queues[tier].pop_first(); // cannot happen: removals leave the queue
                    continue;
                };
                let used = record.used.load(Ordering::Relaxed);
                if used > queued {
                    self.queues[tier].pop_first();
                    record.queued = used;
                    self.queues[tier].insert((used, id), key);
                    continue;
                }
                return Some(key);
            }
        }
        None
    }
}

/// Every ready representation, by key, within a budget of bytes.
pub(super) struct Cache {
    slots: Mutex<Slots>,
    /// `[server] cache_bytes`: the most bytes of kept entries.
    budget: u64,
}

impl Cache {
    /// An empty cache that keeps at most `budget` bytes of entries.
    pub(super) fn new(budget: u64) -> Cache {
        Cache { slots: Mutex::default(), budget }
    }

    /// Bytes of the entries kept now (for the metrics).
    pub(super) fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The slot of `key`, made empty if there is none.
    fn slot(&self, key: Key) -> Slot {
        let mut slots = self.lock();
        if let Some(record) = slots.map.get(&key) {
            record.touch(slots.clock);
            return record.slot.clone();
        }
        let id = slots.next_id;
        slots.next_id += 1;
        let slot = Slot::default();
        slots.map.insert(key, Record { slot: slot.clone(), id, charged: 0, queued: 0, used: AtomicU64::new(0) });
        slot
    }

    /// The entry if it is ready now, without blocking on a render (for the request hot
    /// path: the map's lock, a lookup, and at most one atomic store).
    pub(super) fn ready(&self, key: Key) -> Option<Arc<Entry>> {
        let slots = self.lock();
        let record = slots.map.get(&key)?;
        let entry = record.slot.entry.get()?.clone();
        record.touch(slots.clock);
        Some(entry)
    }

    /// The entry, made by `render` if no ready copy is cached; concurrent callers for one
    /// key wait for one render. The entry is kept within the budget (evicting others) or,
    /// larger than the whole budget, only returned.
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
        let entry = match render() {
            Ok(entry) => Arc::new(entry),
            Err(e) => {
                // No empty slot stays behind (a key that names nothing would hold one for
                // ever); requests already waiting on this one render for themselves.
                let mut slots = self.lock();
                if slots.map.get(&key).is_some_and(|r| Arc::ptr_eq(&r.slot, &slot) && r.charged == 0) {
                    slots.remove(&key);
                }
                return Err(e);
            }
        };
        let _ = slot.entry.set(entry.clone());
        self.charge(key, &entry);
        Ok(entry)
    }

    /// The variant of `entry` (the cache's entry for `key`) in `encoding`, compressing it
    /// now if it is the first request for it; the coding's bytes are charged to the budget.
    pub(super) fn variant<'e>(
        &self,
        key: Key,
        entry: &'e Arc<Entry>,
        encoding: Encoding,
        metrics: &Metrics,
    ) -> &'e Variant {
        if let Some(variant) = entry.ready(encoding) {
            return variant;
        }
        let variant = entry.variant(encoding, metrics);
        self.charge(key, entry);
        variant
    }

    /// Charges `entry`'s bytes to the budget if it is still the entry kept for `key` (a
    /// write may have dropped it meanwhile: then it only serves the requests holding it),
    /// then evicts until the budget holds. Idempotent: the charge is the entry's size now,
    /// whoever calls.
    fn charge(&self, key: Key, entry: &Arc<Entry>) {
        let mut guard = self.lock();
        let slots = &mut *guard;
        let Some(record) = slots.map.get_mut(&key) else { return };
        if !record.slot.entry.get().is_some_and(|e| Arc::ptr_eq(e, entry)) {
            return;
        }
        // Measured under the lock: a coding finished by another request meanwhile is
        // counted by whichever charge comes last.
        let size = entry.bytes();
        if size > self.budget {
            tracing::debug!(
                "{key:?}: {size} bytes, more than [server] cache_bytes ({}): served, not kept",
                self.budget
            );
            slots.remove(&key);
            return;
        }
        let first = record.charged == 0;
        slots.bytes = slots.bytes - record.charged + size;
        record.charged = size;
        if first {
            // Kept now: queued as used now, and the clock moves on so that later uses
            // count as more recent.
            let clock = slots.clock;
            record.queued = clock;
            record.used.store(clock, Ordering::Relaxed);
            slots.queues[tier(&key)].insert((clock, record.id), key);
            slots.clock += 1;
        }
        while slots.bytes > self.budget {
            let Some(victim) = slots.victim() else { break };
            slots.remove(&victim);
        }
    }

    /// Drops every representation of these feeds.
    pub(super) fn drop_feeds(&self, targets: &[Target]) {
        let mut slots = self.lock();
        // A write through the API may touch thousands of tags: a set keeps this one pass.
        let targets: std::collections::HashSet<&Target> = targets.iter().collect();
        let dropped: Vec<Key> = slots.map.keys().filter(|k| targets.contains(&k.target)).copied().collect();
        for key in &dropped {
            slots.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Bytes of each test entry's body; with the overhead, what each is charged.
    const BODY: usize = 10_000;
    const CHARGE: u64 = BODY as u64 + ENTRY_OVERHEAD;

    fn current(i: usize) -> Key {
        Key::current(Target::Category(i), Representation::Feed(Format::Rss))
    }

    fn variant(n: usize) -> Key {
        Key { limit: Some(n), ..current(0) }
    }

    #[test]
    fn tag_and_author_feeds_are_evicted_with_the_variants() {
        let name = crate::feed::Name::new("湖南").unwrap();
        for target in [Target::Tag(name), Target::Author(name)] {
            assert_eq!(tier(&Key::current(target, Representation::Feed(Format::Rss))), EXTRA);
            assert_eq!(tier(&Key::current(target, Representation::Page)), EXTRA);
        }
        assert_eq!(tier(&current(0)), CURRENT);
        assert_eq!(tier(&variant(3)), EXTRA);
    }

    fn archive(day: u32) -> Key {
        Key { archive: NaiveDate::from_ymd_opt(2024, 1, day), ..current(0) }
    }

    /// An entry of `len` bytes that barely compress (xorshift noise), so that a coding
    /// weighs about as much as the identity bytes.
    fn sized(len: usize) -> Entry {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
        let body: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        entry(body, "application/rss+xml", 0, 60)
    }

    /// Puts an entry of [`BODY`] bytes in the cache for `key`.
    fn put(cache: &Cache, key: Key) {
        cache.get_or_render(key, || Ok::<_, ()>(sized(BODY))).unwrap();
    }

    /// Whether each key's entry is kept, looked at without counting as a use.
    fn kept(cache: &Cache, keys: &[Key]) -> Vec<bool> {
        let slots = cache.lock();
        keys.iter().map(|k| slots.map.get(k).is_some_and(|r| r.charged > 0)).collect()
    }

    /// Checks the books: the total is the sum of the charges, and every kept entry (and
    /// nothing else) is queued once.
    fn check_books(cache: &Cache) {
        let slots = cache.lock();
        let charged: u64 = slots.map.values().map(|r| r.charged).sum();
        assert_eq!(charged, slots.bytes, "the total is the sum of the charges");
        let kept = slots.map.values().filter(|r| r.charged > 0).count();
        assert_eq!(slots.queues.iter().map(BTreeMap::len).sum::<usize>(), kept, "one queue place per kept entry");
        for (key, r) in slots.map.iter().filter(|(_, r)| r.charged > 0) {
            assert_eq!(slots.queues[tier(key)].get(&(r.queued, r.id)), Some(key));
        }
    }

    fn bytes(cache: &Cache) -> u64 {
        cache.lock().bytes
    }

    #[test]
    fn variants_and_archives_go_before_current_feeds_whatever_their_age() {
        let cache = Cache::new(4 * CHARGE);
        let keys = [current(0), current(1), variant(5), archive(3)];
        for &k in &keys {
            put(&cache, k);
        }
        assert_eq!(kept(&cache, &keys), [true; 4]);
        assert_eq!(bytes(&cache), 4 * CHARGE);
        // The current feeds are the oldest and unused since; the extras go first anyway.
        put(&cache, variant(6));
        assert_eq!(kept(&cache, &[current(0), current(1), variant(6)]), [true; 3]);
        assert_eq!(kept(&cache, &[variant(5), archive(3)]), [false, true], "the oldest extra made room");
        put(&cache, current(2));
        put(&cache, current(3));
        assert_eq!(kept(&cache, &[variant(5), archive(3), variant(6)]), [false; 3], "every extra went first");
        assert_eq!(kept(&cache, &[current(0), current(1), current(2), current(3)]), [true; 4]);
        // With no extra left, current entries make room for each other, oldest unused first.
        cache.ready(current(0));
        put(&cache, current(4));
        assert_eq!(kept(&cache, &[current(0), current(1), current(4)]), [true, false, true]);
        assert_eq!(bytes(&cache), 4 * CHARGE);
        check_books(&cache);
    }

    #[test]
    fn filtered_feeds_go_first_and_editions_stay_with_current_feeds() {
        let cache = Cache::new(3 * CHARGE);
        let hant = Key { edition: Edition::Traditional, ..current(0) };
        put(&cache, current(0));
        put(&cache, hant);
        for n in 1..=200u128 {
            put(&cache, Key { filter: Some(n), ..hant });
            assert!(bytes(&cache) <= 3 * CHARGE, "a flood of filters stays within the budget");
        }
        assert_eq!(kept(&cache, &[current(0), hant, Key { filter: Some(200), ..hant }]), [true; 3]);
        assert_eq!(kept(&cache, &[Key { filter: Some(199), ..hant }]), [false], "filters make room for each other");
        // A write to the feed drops its editions and filters with it.
        cache.drop_feeds(&[Target::Category(0)]);
        assert_eq!(bytes(&cache), 0);
        check_books(&cache);
    }

    #[test]
    fn the_least_recently_used_variant_goes_first() {
        let cache = Cache::new(4 * CHARGE);
        for n in 1..=4 {
            put(&cache, variant(n));
        }
        put(&cache, variant(5));
        assert_eq!(kept(&cache, &[variant(1)]), [false], "the oldest unused goes first");
        // 2 is older than 3 and 4 but used since: 3 goes next, then 4.
        cache.ready(variant(2));
        put(&cache, variant(6));
        assert_eq!(kept(&cache, &[variant(2), variant(3), variant(4)]), [true, false, true]);
        put(&cache, variant(7));
        assert_eq!(
            kept(&cache, &[variant(2), variant(4), variant(5), variant(6), variant(7)]),
            [true, false, true, true, true]
        );
        // A new entry is not the first to go although it was never requested again.
        cache.ready(variant(2));
        cache.ready(variant(5));
        cache.ready(variant(6));
        put(&cache, variant(8));
        assert_eq!(kept(&cache, &[variant(7), variant(8)]), [false, true], "7: the least recently used");
    }

    #[test]
    fn a_flood_of_variants_never_holds_more_than_the_budget_and_keeps_the_current_feed() {
        let cache = Cache::new(20 * CHARGE + CHARGE / 2);
        put(&cache, current(0));
        for n in 1..=500 {
            cache.get_or_render(variant(n), || Ok::<_, ()>(sized(BODY * (1 + n % 3)))).unwrap();
            assert!(bytes(&cache) <= 20 * CHARGE + CHARGE / 2, "over the budget after variant {n}");
        }
        assert!(cache.ready(current(0)).is_some(), "the current feed outlived 500 variants");
        assert!(cache.ready(variant(500)).is_some(), "the newest variant is kept");
        assert!(cache.ready(variant(1)).is_none());
        check_books(&cache);
    }

    #[test]
    fn an_entry_larger_than_the_budget_is_served_to_its_request_and_not_kept() {
        let cache = Cache::new(4 * CHARGE);
        put(&cache, current(1));
        let renders = AtomicUsize::new(0);
        let render = || {
            renders.fetch_add(1, Ordering::Relaxed);
            Ok::<_, ()>(sized(5 * BODY))
        };
        let big = cache.get_or_render(current(0), render).unwrap();
        assert_eq!(big.ready(Encoding::Identity).unwrap().body.len(), 5 * BODY);
        assert!(cache.ready(current(0)).is_none(), "not kept");
        assert!(cache.ready(current(1)).is_some(), "and it evicted nothing");
        assert_eq!(bytes(&cache), CHARGE);
        cache.get_or_render(current(0), render).unwrap();
        assert_eq!(renders.load(Ordering::Relaxed), 2, "each request renders it");
        assert_eq!(cache.lock().map.len(), 1, "no slot stays behind");
    }

    #[test]
    fn codings_are_charged_and_make_room_like_new_entries() {
        let cache = Cache::new(4 * CHARGE);
        let stats = Metrics::new();
        for n in 1..=3 {
            put(&cache, variant(n));
        }
        put(&cache, current(0));
        assert_eq!(bytes(&cache), 4 * CHARGE);
        let entry = cache.ready(current(0)).unwrap();
        let gzip = cache.variant(current(0), &entry, Encoding::Gzip, &stats).body.len() as u64;
        assert!(gzip > 0);
        assert_eq!(stats.compressions.load(Ordering::Relaxed), 1);
        assert_eq!(kept(&cache, &[variant(1), current(0)]), [false, true], "the coding evicted the oldest variant");
        assert_eq!(bytes(&cache), 3 * CHARGE + gzip);
        // Asking again charges nothing more and compresses nothing.
        cache.variant(current(0), &entry, Encoding::Gzip, &stats);
        assert_eq!(bytes(&cache), 3 * CHARGE + gzip);
        assert_eq!(stats.compressions.load(Ordering::Relaxed), 1);
        // A coding of an entry the cache no longer keeps is made for the request, uncharged.
        cache.drop_feeds(&[Target::Category(0)]);
        assert_eq!(bytes(&cache), 0);
        cache.variant(current(0), &entry, Encoding::Brotli, &stats);
        assert_eq!(bytes(&cache), 0);
    }

    #[test]
    fn a_coding_that_takes_an_entry_past_the_whole_budget_drops_it() {
        let cache = Cache::new(2 * CHARGE);
        let stats = Metrics::new();
        let entry = cache.get_or_render(current(0), || Ok::<_, ()>(sized(2 * BODY))).unwrap();
        assert!(cache.ready(current(0)).is_some());
        let v = cache.variant(current(0), &entry, Encoding::Gzip, &stats);
        assert!(!v.body.is_empty(), "served");
        assert!(cache.ready(current(0)).is_none(), "not kept");
        assert_eq!(bytes(&cache), 0);
    }

    #[test]
    fn a_write_uncharges_the_feeds_it_drops() {
        let cache = Cache::new(10 * CHARGE);
        put(&cache, current(0));
        put(&cache, variant(3));
        put(&cache, current(1));
        cache.drop_feeds(&[Target::Category(0)]);
        assert_eq!(bytes(&cache), CHARGE);
        assert_eq!(kept(&cache, &[current(0), variant(3), current(1)]), [false, false, true]);
        // Kept and dropped again and again: nothing stays behind in the books.
        for _ in 0..100 {
            put(&cache, current(0));
            cache.drop_feeds(&[Target::Category(0)]);
        }
        assert_eq!(bytes(&cache), CHARGE);
        check_books(&cache);
    }

    #[test]
    fn a_render_that_fails_leaves_no_slot() {
        let cache = Cache::new(10 * CHARGE);
        for day in 1..=28 {
            assert!(cache.get_or_render(archive(day), || Err::<Entry, _>("no such archive")).is_err());
        }
        assert_eq!(cache.lock().map.len(), 0);
        assert_eq!(bytes(&cache), 0);
    }

    #[test]
    fn a_render_dropped_by_a_write_while_running_serves_its_requests_and_is_not_kept() {
        let cache = Cache::new(10 * CHARGE);
        let e = cache
            .get_or_render(current(0), || {
                cache.drop_feeds(&[Target::Category(0)]);
                Ok::<_, ()>(sized(BODY))
            })
            .unwrap();
        assert_eq!(e.ready(Encoding::Identity).unwrap().body.len(), BODY);
        assert!(cache.ready(current(0)).is_none());
        assert_eq!(bytes(&cache), 0);
    }

    #[test]
    fn concurrent_requests_for_a_missing_variant_share_one_render() {
        let cache = Cache::new(10 * CHARGE);
        let renders = AtomicUsize::new(0);
        let barrier = std::sync::Barrier::new(8);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    barrier.wait();
                    cache
                        .get_or_render(variant(7), || {
                            renders.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            Ok::<_, ()>(sized(BODY))
                        })
                        .unwrap();
                });
            }
        });
        assert_eq!(renders.load(Ordering::Relaxed), 1);
        assert_eq!(bytes(&cache), CHARGE);
    }
}
