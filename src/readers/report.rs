//! From stored day records to what a newsroom reads: per feed, today's subscribers
//! (aggregators' reports plus direct readers), the change over 7 and 30 days, the top
//! aggregators, a daily series for a chart, and the split by aggregator and by format.
//! Pure: the records come in, values go out.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::tally::FeedDay;

/// Every feed's records, by day.
pub type History = BTreeMap<NaiveDate, BTreeMap<String, FeedDay>>;

/// One row of the stats table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FeedSummary {
    /// The feed's name (`all`, a category slug).
    pub feed: String,
    /// Aggregators' subscribers plus direct readers, today.
    pub subscribers: u64,
    /// Of which reported by aggregators.
    pub aggregator_subscribers: u64,
    /// Of which distinct direct readers.
    pub direct_readers: u64,
    /// Requests today (every representation).
    pub requests: u64,
    /// Change of `subscribers` since 7 days before (none without a record then).
    pub change_7_days: Option<i64>,
    /// Change since 30 days before.
    pub change_30_days: Option<i64>,
    /// The aggregators with the most subscribers today, most first (at most 3).
    pub top_aggregators: Vec<(String, u64)>,
}

/// A feed's subscribers on `day` (0 without a record).
pub fn subscribers_on(history: &History, feed: &str, day: NaiveDate) -> Option<u64> {
    history.get(&day).and_then(|feeds| feeds.get(feed)).map(FeedDay::subscribers)
}

/// The table: one row per feed with a record today or in the last 30 days (most
/// subscribers first, then by name).
pub fn table(history: &History, today: NaiveDate) -> Vec<FeedSummary> {
    let since = today - chrono::Days::new(30);
    let mut feeds: Vec<&String> = history.range(since..=today).flat_map(|(_, f)| f.keys()).collect();
    feeds.sort();
    feeds.dedup();
    let mut rows: Vec<FeedSummary> = feeds.into_iter().map(|f| summary(history, f, today)).collect();
    rows.sort_by(|a, b| b.subscribers.cmp(&a.subscribers).then_with(|| a.feed.cmp(&b.feed)));
    rows
}

/// One feed's row.
pub fn summary(history: &History, feed: &str, today: NaiveDate) -> FeedSummary {
    let empty = FeedDay::default();
    let day = history.get(&today).and_then(|f| f.get(feed)).unwrap_or(&empty);
    let now = day.subscribers();
    let change = |days: u64| {
        let then = today.checked_sub_days(chrono::Days::new(days))?;
        subscribers_on(history, feed, then).map(|t| now as i64 - t as i64)
    };
    FeedSummary {
        feed: feed.to_string(),
        subscribers: now,
        aggregator_subscribers: day.aggregator_subscribers(),
        direct_readers: day.readers,
        requests: day.requests(),
        change_7_days: change(7),
        change_30_days: change(30),
        top_aggregators: by_aggregator(day).into_iter().take(3).collect(),
    }
}

/// A day's subscribers per aggregator, most first.
pub fn by_aggregator(day: &FeedDay) -> Vec<(String, u64)> {
    let mut list: Vec<(String, u64)> =
        day.aggregators.iter().map(|(name, urls)| (name.clone(), urls.values().sum())).collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list
}

/// A feed's subscribers for each of the `days` days up to `today` (0 where no record).
pub fn series(history: &History, feed: &str, today: NaiveDate, days: u64) -> Vec<(NaiveDate, u64)> {
    (0..days)
        .rev()
        .filter_map(|back| today.checked_sub_days(chrono::Days::new(back)))
        .map(|d| (d, subscribers_on(history, feed, d).unwrap_or(0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::tally::VariantDay;

    fn day(aggregators: &[(&str, u64)], readers: u64, requests: u64) -> FeedDay {
        let mut d = FeedDay { readers, ..FeedDay::default() };
        for (name, n) in aggregators {
            d.aggregators.entry(name.to_string()).or_default().insert("rss/".into(), *n);
        }
        d.variants.insert("rss".into(), VariantDay { requests, ..VariantDay::default() });
        d
    }

    #[test]
    fn the_table_adds_aggregators_and_readers_and_compares_with_a_week_and_a_month_ago() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let mut h = History::new();
        let put = |h: &mut History, back: u64, feed: &str, d: FeedDay| {
            h.entry(today - chrono::Days::new(back)).or_default().insert(feed.to_string(), d);
        };
        put(&mut h, 0, "hunan", day(&[("Feedly", 50), ("Inoreader", 7)], 3, 100));
        put(&mut h, 7, "hunan", day(&[("Feedly", 40)], 0, 90));
        put(&mut h, 0, "all", day(&[], 100, 400));
        let rows = table(&h, today);
        assert_eq!(rows[0].feed, "all");
        let hunan = &rows[1];
        assert_eq!((hunan.subscribers, hunan.aggregator_subscribers, hunan.direct_readers), (60, 57, 3));
        assert_eq!(hunan.change_7_days, Some(20));
        assert_eq!(hunan.change_30_days, None, "no record a month ago");
        assert_eq!(hunan.top_aggregators, vec![("Feedly".to_string(), 50), ("Inoreader".to_string(), 7)]);
        let s = series(&h, "hunan", today, 90);
        assert_eq!(s.len(), 90);
        assert_eq!(s[89], (today, 60));
        assert_eq!(s[82], (today - chrono::Days::new(7), 40));
    }
}
