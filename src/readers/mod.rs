//! Readership (issue 16): the pure pieces that turn requests into "who reads this feed".
//!
//! - [`agents`]: the one table of aggregators whose User-Agent reports a subscriber count,
//!   and the parser of those UAs (one cheap substring test first, for every other UA).
//! - [`distinct`]: distinct direct readers per feed and day, a HyperLogLog sketch of a
//!   keyed hash of (client address, User-Agent) whose key is random per day and never
//!   stored, so no address or identifying value is kept.
//! - [`chart`]: a daily series -> an accessible SVG chart for the stats pages (no
//!   JavaScript).
//! - [`tally`]: today's counts in memory (what a request adds) and the day records the
//!   store keeps.
//! - [`report`]: day records -> the stats table, a feed's series, the splits.
//!
//! Invariant: this module does no I/O. It names no store, no HTTP type and nothing of
//! `http/`, `publish/` or `store/` (`grep -rn "crate::\(http\|publish\|store\)" src/readers`
//! finds nothing); it takes strings, addresses, dates and numbers and returns values. The
//! request path, the store and the pages call it; the one system call it makes is
//! [`distinct::DayKey::generate`] asking the OS for a random key.

pub mod agents;
pub mod chart;
pub mod distinct;
pub mod report;
pub mod tally;

pub use agents::{classify, parse, Aggregator, Parse, Report, AGGREGATORS};
pub use chart::{daily_chart, Style};
pub use distinct::{DayKey, DistinctReaders};
pub use tally::{FeedDay, Hit, Tally};
