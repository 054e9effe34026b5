//! Today's readership, counted in memory as requests are answered, and the day records it
//! becomes (what the store keeps, one per feed and day).
//!
//! The request path calls [`Tally::record`] once per answered feed request: a few counter
//! additions under one mutex, the cheap "subscriber" test on the User-Agent, and, for a
//! direct reader, one keyed hash inserted in two sketches. The daemon snapshots the tally
//! once a minute (and at shutdown) into the store, and rolls it over when the site's day
//! changes; nothing here does I/O.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::agents::{self, Parse};
use super::distinct::{DayKey, DistinctReaders};

/// Unknown "subscriber" UA shapes logged in one day at most (each once).
pub const MAX_UNKNOWN_SHAPES_PER_DAY: usize = 100;
/// Feeds counted in one day at most: the feeds a config has are far fewer; past it a new
/// name is not counted (tag and author feeds cannot grow the tally without bound).
pub const MAX_FEEDS_PER_DAY: usize = 10_000;

/// One answered feed request, as the tally needs it.
pub struct Hit<'a> {
    /// The feed's name (`all`, a category slug).
    pub feed: &'a str,
    /// The representation (`rss`, `atom`, `json`, or with an edition prefix).
    pub variant: &'a str,
    /// The status answered (200 or 304 count as reads).
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// The client address, as the hostile-clients rules define it.
    pub client: IpAddr,
    /// The User-Agent, or "".
    pub user_agent: &'a str,
}

/// One representation of one feed on one day.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VariantDay {
    /// Requests answered.
    pub requests: u64,
    /// Of which 304.
    pub not_modified: u64,
    /// Body bytes sent.
    pub bytes: u64,
    /// Distinct direct readers (the sketch's estimate when the record was written).
    pub readers: u64,
    /// The sketch, kept only for the current day (so a restart continues it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sketch: Option<DistinctReaders>,
}

/// One feed on one day: what the store keeps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeedDay {
    /// Per representation.
    pub variants: BTreeMap<String, VariantDay>,
    /// Aggregator -> the URL it polled (`variant` and its feed id) -> the latest
    /// subscriber count it reported that day.
    pub aggregators: BTreeMap<String, BTreeMap<String, u64>>,
    /// Distinct direct readers over every representation.
    pub readers: u64,
    /// The sketch of `readers`, current day only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sketch: Option<DistinctReaders>,
}

impl FeedDay {
    /// Subscribers the aggregators reported (the sum over aggregators and the URLs each
    /// polls: an aggregator polling two URLs of one feed counts twice).
    pub fn aggregator_subscribers(&self) -> u64 {
        self.aggregators.values().flat_map(|urls| urls.values()).fold(0u64, |a, &n| a.saturating_add(n))
    }

    /// Subscribers in all: aggregators' reports plus direct readers.
    pub fn subscribers(&self) -> u64 {
        self.aggregator_subscribers().saturating_add(self.readers)
    }

    /// Requests over every representation.
    pub fn requests(&self) -> u64 {
        self.variants.values().map(|v| v.requests).sum()
    }

    /// Adds a finished day into a month's summary: requests, 304s and bytes summed; the
    /// highest reader and subscriber counts of the month kept.
    pub fn fold(&mut self, day: &FeedDay) {
        for (name, v) in &day.variants {
            let m = self.variants.entry(name.clone()).or_default();
            m.requests += v.requests;
            m.not_modified += v.not_modified;
            m.bytes = m.bytes.saturating_add(v.bytes);
            m.readers = m.readers.max(v.readers);
        }
        for (name, urls) in &day.aggregators {
            let m = self.aggregators.entry(name.clone()).or_default();
            for (url, &n) in urls {
                let kept = m.entry(url.clone()).or_default();
                *kept = (*kept).max(n);
            }
        }
        self.readers = self.readers.max(day.readers);
    }

    /// The record with its estimates refreshed from the sketches.
    fn refreshed(&self) -> FeedDay {
        let mut day = self.clone();
        for v in day.variants.values_mut() {
            v.readers = v.sketch.as_ref().map_or(v.readers, DistinctReaders::estimate);
        }
        day.readers = day.sketch.as_ref().map_or(day.readers, DistinctReaders::estimate);
        day
    }

    /// The record of a finished day: the estimates fixed, the sketches dropped (no one
    /// will be added to them; the key that hashed their clients is gone).
    pub fn finished(&self) -> FeedDay {
        let mut day = self.refreshed();
        day.sketch = None;
        for v in day.variants.values_mut() {
            v.sketch = None;
        }
        day
    }
}

/// The counting of one day.
struct Today {
    day: NaiveDate,
    key: DayKey,
    feeds: HashMap<String, FeedDay>,
    unknown_shapes: HashSet<String>,
}

/// Today's counts for every feed, shared by every request.
pub struct Tally {
    today: Mutex<Today>,
}

/// What a rollover hands back: the finished day's records.
pub type Finished = (NaiveDate, Vec<(String, FeedDay)>);

impl Tally {
    /// A tally of `day` continuing `stored` (today's records read back at start), with a
    /// new random key (a reader seen before and after a restart counts twice that day).
    pub fn new(day: NaiveDate, stored: Vec<(String, FeedDay)>) -> Tally {
        let feeds = stored.into_iter().collect();
        Tally { today: Mutex::new(Today { day, key: day_key(), feeds, unknown_shapes: HashSet::new() }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Today> {
        self.today.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one answered request. Returns the shape of an unknown "subscriber"
    /// User-Agent the first time it is seen today (for one log line).
    pub fn record(&self, hit: Hit) -> Option<String> {
        let read = matches!(hit.status, 200 | 304);
        // The cheap test first: most User-Agents never reach the table.
        let parsed = if read && agents::mentions_subscriber(hit.user_agent) {
            agents::classify(hit.user_agent)
        } else {
            Parse::NoCount
        };
        let mut today = self.lock();
        // A client that reports no count (a reader, or an aggregator the table does not
        // know yet) is counted as one direct reader; a known aggregator's count replaces it.
        let hash = match parsed {
            Parse::NoCount | Parse::Unknown { .. } if read => Some(today.key.client_hash(hit.client, hit.user_agent)),
            _ => None,
        };
        let at_cap = today.feeds.len() >= MAX_FEEDS_PER_DAY;
        let feed = match today.feeds.get_mut(hit.feed) {
            Some(f) => f,
            None if at_cap => return None,
            None => today.feeds.entry(hit.feed.to_string()).or_default(),
        };
        let variant = match feed.variants.get_mut(hit.variant) {
            Some(v) => v,
            None => feed.variants.entry(hit.variant.to_string()).or_default(),
        };
        variant.requests += 1;
        variant.not_modified += u64::from(hit.status == 304);
        variant.bytes = variant.bytes.saturating_add(hit.bytes);
        if let Some(hash) = hash {
            variant.sketch.get_or_insert_with(DistinctReaders::new).insert_hash(hash);
            feed.sketch.get_or_insert_with(DistinctReaders::new).insert_hash(hash);
        }
        match parsed {
            Parse::Report(r) => {
                let url = format!("{}/{}", hit.variant, r.feed_id.as_deref().unwrap_or(""));
                feed.aggregators.entry(r.aggregator.to_string()).or_default().insert(url, r.subscribers);
                None
            }
            Parse::Unknown { shape } => {
                let new = today.unknown_shapes.len() < MAX_UNKNOWN_SHAPES_PER_DAY
                    && today.unknown_shapes.insert(shape.clone());
                new.then_some(shape)
            }
            Parse::NoCount => None,
        }
    }

    /// The day being counted and a copy of its records (estimates refreshed, sketches
    /// kept), for the periodic write to the store.
    pub fn snapshot(&self) -> (NaiveDate, Vec<(String, FeedDay)>) {
        let today = self.lock();
        (today.day, today.feeds.iter().map(|(k, v)| (k.clone(), v.refreshed())).collect())
    }

    /// Starts counting `day` (a new key, empty counts) if it is not the day being counted;
    /// returns the finished day's records.
    pub fn roll_over(&self, day: NaiveDate) -> Option<Finished> {
        let mut today = self.lock();
        if today.day == day {
            return None;
        }
        let finished: Vec<(String, FeedDay)> = today.feeds.drain().map(|(k, v)| (k, v.finished())).collect();
        let old = std::mem::replace(&mut today.day, day);
        today.key = day_key();
        today.unknown_shapes.clear();
        Some((old, finished))
    }
}

/// A random key for a day; if the OS has no randomness (never seen), a key from the time,
/// still never stored.
fn day_key() -> DayKey {
    DayKey::generate().unwrap_or_else(|_| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        DayKey::from_bytes(*blake3::hash(&nanos.to_le_bytes()).as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit<'a>(feed: &'a str, variant: &'a str, status: u16, client: &str, ua: &'a str) -> Hit<'a> {
        Hit { feed, variant, status, bytes: 100, client: client.parse().unwrap(), user_agent: ua }
    }

    #[test]
    fn aggregators_report_the_latest_count_and_direct_readers_are_distinct() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let t = Tally::new(day, Vec::new());
        let feedly = |n: u32| format!("Feedly/1.0 (+http://www.feedly.com/fetcher.html; {n} subscribers; )");
        t.record(hit("hunan", "rss", 200, "127.0.0.9", &feedly(40)));
        t.record(hit("hunan", "rss", 304, "127.0.0.9", &feedly(52)));
        for i in 0..10 {
            t.record(hit("hunan", "atom", 200, &format!("127.0.1.{i}"), "Mozilla/5.0 Reader"));
            t.record(hit("hunan", "atom", 304, &format!("127.0.1.{i}"), "Mozilla/5.0 Reader"));
        }
        t.record(hit("hunan", "atom", 404, "127.0.2.1", "Mozilla/5.0 Other"));
        let (d, records) = t.snapshot();
        assert_eq!(d, day);
        let hunan = &records.iter().find(|(k, _)| k == "hunan").unwrap().1;
        assert_eq!(hunan.aggregator_subscribers(), 52, "the latest report, not the sum of reports");
        assert_eq!(hunan.readers, 10, "ten clients, each twice; the 404 is not a reader");
        assert_eq!(hunan.subscribers(), 62);
        assert_eq!(hunan.variants["atom"].requests, 21);
        assert_eq!(hunan.variants["atom"].not_modified, 10);
        assert_eq!(hunan.variants["rss"].readers, 0, "Feedly is not a direct reader");
    }

    #[test]
    fn unknown_subscriber_shapes_are_returned_once_a_day_and_a_rollover_finishes_the_day() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let t = Tally::new(day, Vec::new());
        let ua = "NewAggregator/2 (12 subscribers)";
        assert!(t.record(hit("all", "rss", 200, "127.0.0.1", ua)).is_some());
        assert!(t.record(hit("all", "rss", 200, "127.0.0.1", "NewAggregator/2 (13 subscribers)")).is_none());
        assert_eq!(t.snapshot().1[0].1.readers, 2, "an unknown aggregator counts as a direct reader meanwhile");
        assert!(t.roll_over(day).is_none(), "same day: nothing to finish");
        let (old, records) = t.roll_over(day.succ_opt().unwrap()).unwrap();
        assert_eq!(old, day);
        assert!(records.iter().all(|(_, r)| r.sketch.is_none()), "a finished day keeps no sketch");
        assert!(t.record(hit("all", "rss", 200, "127.0.0.1", ua)).is_some(), "logged again the next day");
        assert_eq!(t.snapshot().1.len(), 1);
    }

    #[test]
    fn a_restart_continues_the_day_from_its_stored_records() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let t = Tally::new(day, Vec::new());
        for i in 0..5 {
            t.record(hit("all", "rss", 200, &format!("127.0.0.{i}"), "R"));
        }
        let stored = t.snapshot().1;
        let json = serde_json::to_string(&stored).unwrap();
        let back: Vec<(String, FeedDay)> = serde_json::from_str(&json).unwrap();
        let t2 = Tally::new(day, back);
        t2.record(hit("all", "rss", 200, "127.0.0.200", "R"));
        let all = &t2.snapshot().1[0].1;
        assert_eq!(all.variants["rss"].requests, 6);
        assert_eq!(all.readers, 6, "the sketch continued");
    }
}
