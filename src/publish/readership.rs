//! Readership kept across restarts: today's [`Tally`] in memory, written to the store
//! once per `[stats] flush_seconds` and at shutdown, rolled over when the site's day
//! changes (the finished day written without its sketches, days older than `[stats]
//! keep_days` folded into months).
//!
//! The request path only calls [`Readership::record`]; the store is written by the
//! daemon's flush task and read by the stats pages.

use chrono::NaiveDate;

use crate::config::Config;
use crate::readers::report::History;
use crate::readers::{Hit, Tally};
use crate::store::{Store, StoreError};
use crate::time::{now, site_day};

/// Sets the site's "today" for readership (`YYYY-MM-DD`): the tests' clock, so days can
/// pass between two starts of the daemon. Never set in production.
pub const DAY_ENV: &str = "SIHAI_STATS_DAY";

/// Today's counts and the store they are kept in.
pub struct Readership {
    tally: Tally,
}

/// The site's day now (or [`DAY_ENV`]'s).
pub fn today(config: &Config) -> NaiveDate {
    std::env::var(DAY_ENV)
        .ok()
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        .unwrap_or_else(|| site_day(config.site.timezone, now()))
}

impl Readership {
    /// Continues today's counts from the store.
    pub fn open(config: &Config, store: &Store) -> Result<Readership, StoreError> {
        let day = today(config);
        let stored = store.readership(day, day)?.remove(&day).unwrap_or_default();
        Ok(Readership { tally: Tally::new(day, stored.into_iter().collect()) })
    }

    /// Counts one answered feed request (cheap: see [`Tally::record`]); an unknown
    /// "subscriber" User-Agent is logged once a day so the aggregator table can grow.
    pub fn record(&self, hit: Hit) {
        if let Some(shape) = self.tally.record(hit) {
            tracing::info!(target: "sihai::readers", "a User-Agent reports subscribers in a form sihai does not know: {shape:?}");
        }
    }

    /// Writes today's counts (and, after midnight, the finished day; days past `keep_days`
    /// become months) and makes them durable. Blocking.
    pub fn flush(&self, config: &Config, store: &Store) -> Result<(), StoreError> {
        let day = today(config);
        if let Some((old, finished)) = self.tally.roll_over(day) {
            store.put_readership(old, &finished)?;
            let cutoff = day - chrono::Days::new(u64::from(config.stats.keep_days));
            let folded = store.fold_readership_before(cutoff)?;
            if folded > 0 {
                tracing::info!("readership: {folded} day record(s) older than {cutoff} summarized per month");
            }
        }
        let (day, records) = self.tally.snapshot();
        store.put_readership(day, &records)?;
        store.flush()
    }

    /// Today's records as they are in memory (for the metrics' gauges and the pages).
    pub fn today(&self) -> (NaiveDate, Vec<(String, crate::readers::FeedDay)>) {
        self.tally.snapshot()
    }

    /// The records of the `days` days up to today: the stored ones, today's from memory.
    pub fn history(&self, store: &Store, days: u64) -> Result<(NaiveDate, History), StoreError> {
        let (day, records) = self.tally.snapshot();
        let from = day.checked_sub_days(chrono::Days::new(days.saturating_sub(1))).unwrap_or(day);
        let mut history = store.readership(from, day)?;
        history.insert(day, records.into_iter().collect());
        Ok((day, history))
    }
}
