//! Readership records: one per feed and day (`r/d/{YYYY-MM-DD}/{feed}`), and, for days
//! older than the days kept, one per feed and month (`r/m/{YYYY-MM}/{feed}`). Values are
//! the JSON of [`FeedDay`]. Written once a minute by the daemon (never on the request
//! path), read by the stats pages (a range of days, never the articles).

use chrono::NaiveDate;

use super::engine::Batch;
use super::{Store, StoreError};
use crate::readers::report::History;
use crate::readers::FeedDay;

/// The prefix of every readership key (exports carry the rest of the key).
pub(super) const PREFIX: &str = "r/";
const DAYS: &str = "r/d/";
const MONTHS: &str = "r/m/";

/// Refuses a restored readership record that is not a day or month key of a feed with a
/// readable record (nothing is written outside the readership records).
pub(super) fn check_record(key: &str, value: &str) -> Result<(), StoreError> {
    let shape_ok = match key.split_once('/') {
        Some(("d", rest)) => split_day_key(format!("{DAYS}{rest}").as_bytes()).is_some(),
        Some(("m", rest)) => rest.split_once('/').is_some_and(|(month, feed)| {
            !feed.is_empty() && NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok()
        }),
        _ => false,
    };
    if !shape_ok {
        return Err(StoreError::Corrupt(format!("readership record {key:?}: not d/YYYY-MM-DD/FEED or m/YYYY-MM/FEED")));
    }
    decode(key.as_bytes(), value.as_bytes()).map(|_| ())
}

fn day_key(day: NaiveDate, feed: &str) -> String {
    format!("{DAYS}{}/{feed}", day.format("%Y-%m-%d"))
}

/// The day and feed of a day key.
fn split_day_key(key: &[u8]) -> Option<(NaiveDate, String)> {
    let rest = std::str::from_utf8(key).ok()?.strip_prefix(DAYS)?;
    let (day, feed) = rest.split_once('/')?;
    Some((NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?, feed.to_string()))
}

fn decode(key: &[u8], value: &[u8]) -> Result<FeedDay, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt(format!("{}: {e}", String::from_utf8_lossy(key))))
}

impl Store {
    /// Writes the records of `day` (replacing what was there), in one batch. Not flushed.
    pub fn put_readership(&self, day: NaiveDate, records: &[(String, FeedDay)]) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        for (feed, record) in records {
            let value = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            batch.insert(day_key(day, feed), value);
        }
        self.engine.apply(batch)
    }

    /// The day records from `from` to `to` (both included).
    pub fn readership(&self, from: NaiveDate, to: NaiveDate) -> Result<History, StoreError> {
        let mut history = History::new();
        let start = format!("{DAYS}{}", from.format("%Y-%m-%d")).into_bytes();
        let end = format!("{DAYS}{}", to.succ_opt().unwrap_or(to).format("%Y-%m-%d")).into_bytes();
        for item in self.engine.range(start, end) {
            let (key, value) = item?;
            if let Some((day, feed)) = split_day_key(&key) {
                history.entry(day).or_default().insert(feed, decode(&key, &value)?);
            }
        }
        Ok(history)
    }

    /// Folds the day records before `cutoff` into one record per feed and month (sums of
    /// requests and bytes, the highest subscriber and reader counts of the month), then
    /// removes them, in one batch. Returns how many day records were folded.
    pub fn fold_readership_before(&self, cutoff: NaiveDate) -> Result<usize, StoreError> {
        let end = format!("{DAYS}{}", cutoff.format("%Y-%m-%d")).into_bytes();
        let mut months: std::collections::BTreeMap<String, FeedDay> = std::collections::BTreeMap::new();
        let mut batch = Batch::default();
        let mut folded = 0;
        for item in self.engine.range(DAYS.as_bytes().to_vec(), end) {
            let (key, value) = item?;
            let Some((day, feed)) = split_day_key(&key) else { continue };
            let month_key = format!("{MONTHS}{}/{feed}", day.format("%Y-%m"));
            if !months.contains_key(&month_key) {
                let stored = self.engine.get(month_key.as_bytes())?;
                let month = match stored {
                    Some(v) => decode(month_key.as_bytes(), &v)?,
                    None => FeedDay::default(),
                };
                months.insert(month_key.clone(), month);
            }
            if let Some(month) = months.get_mut(&month_key) {
                month.fold(&decode(&key, &value)?);
            }
            batch.remove(key);
            folded += 1;
        }
        for (key, month) in &months {
            let value = serde_json::to_vec(month).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            batch.insert(key, value);
        }
        if folded > 0 {
            self.engine.apply(batch)?;
        }
        Ok(folded)
    }
}
