//! What a client may try at the API: failed tokens per client address, failed tokens in
//! all, writes per token, and how many refusals reach the log. Pure counters taking the
//! time as an argument (so the tests can move it); `handle.rs` turns their answers into
//! responses. Nothing here runs for feeds and pages.
//!
//! - **Failed tokens per address**: an address that fails `[server]
//!   auth_failures_per_minute` times within a minute (a window starting at its first
//!   failure) is answered 429 for every `/api` request until the window ends, without the
//!   token being checked, so the limit also costs a guesser the hash of each guess.
//! - **Failed tokens in all**: at most [`MAX_FAILURES_ANSWERED_PER_SECOND`] 401s are
//!   answered in any one second (a sliding window: the times of the last 100 are kept);
//!   beyond it, 429. Many addresses together cannot guess faster than that: a 16-character
//!   hex token (the shortest accepted) is one of 2^64, about 3 billion years of guessing at
//!   100 a second on average (the generated one has 64 hex characters).
//! - **Writes per token**: `[ingest] requests_per_minute` (0: off) as a token bucket of that
//!   many requests, refilled at that many a minute (a burst of a minute's requests, then
//!   one every `60 / requests_per_minute` seconds). Chosen over a fixed minute because the
//!   answer's `Retry-After` is then the time until the next request is allowed (1 s at 60
//!   a minute), not the rest of a minute, so a client that honours it is not held back
//!   longer than the rate requires.
//! - **The log**: at most [`LOG_LINES_PER_SECOND`] refusal lines a second; the rest are
//!   counted and reported in one line once the second is over, so a flood cannot fill the
//!   disk.
//!
//! Memory is bounded: at most [`MAX_TRACKED_ADDRESSES`] addresses are tracked (1.4 MiB);
//! when a new one fails and the table is full, the oldest window is dropped (its address
//! starts over; the ceiling in all still holds). The ceiling keeps 100 times, the write
//! buckets one per configured token.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long an address's failures count: its window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Most addresses whose failures are tracked at once: about 1.4 MiB at the bound (16,384
/// map buckets of 49 bytes and queue slots of 40), and a guesser cycling through more
/// addresses than this still meets the ceiling in all.
pub const MAX_TRACKED_ADDRESSES: usize = 10_000;
/// Most 401s answered in any one second, from every address together.
pub const MAX_FAILURES_ANSWERED_PER_SECOND: usize = 100;
/// Most refusal lines logged in one second.
pub const LOG_LINES_PER_SECOND: u32 = 10;

/// Why a request is answered 429, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// This address failed too often; its window ends in the given time.
    Address(Duration),
    /// Too many failures in all this second.
    Everyone(Duration),
    /// This token's writes are over `[ingest] requests_per_minute`.
    Writes(Duration),
}

impl Throttled {
    /// Whole seconds to wait (rounded up, at least 1): the `Retry-After` value.
    pub fn retry_after(self) -> u64 {
        let (Throttled::Address(d) | Throttled::Everyone(d) | Throttled::Writes(d)) = self;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }
}

/// The API's throttles, shared by every request (`State::guard`).
pub struct Guard {
    /// Failed authentications, per address and in all.
    failures: Mutex<Failures>,
    /// One bucket per token (by `Tokens::identify`'s index); empty when writes are not limited.
    writes: Mutex<Vec<Bucket>>,
    /// `[ingest] requests_per_minute`; 0: writes are not limited.
    requests_per_minute: u32,
    /// Shared with the timer that reports the suppressed lines of a second.
    log: Arc<Mutex<RefusalLog>>,
}

impl Guard {
    /// Throttles answering 429 after `auth_failures_per_minute` failures from one address,
    /// and after `requests_per_minute` writes of one of `tokens` tokens (0: no limit).
    pub fn new(auth_failures_per_minute: u32, requests_per_minute: u32, tokens: usize) -> Guard {
        let buckets = if requests_per_minute == 0 { 0 } else { tokens };
        Guard {
            failures: Mutex::new(Failures::new(auth_failures_per_minute.max(1))),
            writes: Mutex::new((0..buckets).map(|_| Bucket::default()).collect()),
            requests_per_minute,
            log: Arc::new(Mutex::new(RefusalLog::default())),
        }
    }

    /// Whether `client` is throttled for having failed too often: then every request it
    /// makes is refused until its window ends, without its token being checked.
    pub fn blocked(&self, client: IpAddr, now: Instant) -> Option<Throttled> {
        lock(&self.failures).blocked(client, now)
    }

    /// Records a failed authentication from `client`: `Ok` to answer 401, or why it is
    /// answered 429 instead (this address is over its limit, or every address together
    /// over the ceiling).
    pub fn failed(&self, client: IpAddr, now: Instant) -> Result<(), Throttled> {
        lock(&self.failures).failed(client, now)
    }

    /// The token list changed (a reload): one fresh bucket per token of the new list.
    pub fn tokens_changed(&self, tokens: usize) {
        if self.requests_per_minute > 0 {
            *lock(&self.writes) = (0..tokens).map(|_| Bucket::default()).collect();
        }
    }

    /// Takes one write request of token `token`: `Ok`, or the wait before the next.
    pub fn write(&self, token: usize, now: Instant) -> Result<(), Throttled> {
        if self.requests_per_minute == 0 {
            return Ok(());
        }
        match lock(&self.writes).get_mut(token) {
            Some(bucket) => bucket.take(self.requests_per_minute, now).map_err(Throttled::Writes),
            None => Ok(()),
        }
    }

    /// Logs one refusal (never the token: the caller writes the line), unless this
    /// second's lines are spent; suppressed lines are counted and reported in one line
    /// when the second ends.
    pub fn log_refusal(&self, now: Instant, line: std::fmt::Arguments) {
        let note = lock(&self.log).note(now);
        if let Some(n) = note.summary {
            tracing::warn!("{n} more refusals suppressed");
        }
        if note.print {
            tracing::warn!("{line}");
        }
        if let (Some(at), Ok(runtime)) = (note.flush_at, tokio::runtime::Handle::try_current()) {
            let log = self.log.clone();
            runtime.spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                if let Some(n) = lock(&log).flush() {
                    tracing::warn!("{n} more refusals suppressed");
                }
            });
        }
    }
}

/// A lock that survives a panic elsewhere: the counters stay usable (never a panic here).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Failed authentications: per address in a window, and the times of the last answered
/// 401s.
struct Failures {
    limit: u32,
    windows: HashMap<IpAddr, Window>,
    /// The windows' (address, start), oldest first: expired ones are pruned from the
    /// front, and the oldest is dropped when the table is full. An entry whose address
    /// has started a newer window is stale and skipped.
    order: VecDeque<(IpAddr, Instant)>,
    /// When the last (up to) [`MAX_FAILURES_ANSWERED_PER_SECOND`] 401s were answered.
    answered: VecDeque<Instant>,
}

/// One address's failures since `start`.
struct Window {
    start: Instant,
    failures: u32,
}

impl Window {
    fn remaining(&self, now: Instant) -> Option<Duration> {
        (self.start + WINDOW).checked_duration_since(now).filter(|d| !d.is_zero())
    }
}

impl Failures {
    fn new(limit: u32) -> Failures {
        Failures {
            limit,
            windows: HashMap::new(),
            order: VecDeque::new(),
            answered: VecDeque::with_capacity(MAX_FAILURES_ANSWERED_PER_SECOND),
        }
    }

    fn blocked(&self, client: IpAddr, now: Instant) -> Option<Throttled> {
        let w = self.windows.get(&client)?;
        if w.failures < self.limit {
            return None;
        }
        w.remaining(now).map(Throttled::Address)
    }

    fn failed(&mut self, client: IpAddr, now: Instant) -> Result<(), Throttled> {
        self.prune(now);
        if !self.windows.contains_key(&client) && self.windows.len() >= MAX_TRACKED_ADDRESSES {
            self.drop_oldest();
        }
        let window = self.windows.entry(client).or_insert(Window { start: now, failures: 0 });
        if window.failures == 0 || window.remaining(now).is_none() {
            // A new window (a new address, or its last window over).
            *window = Window { start: now, failures: 0 };
            self.order.push_back((client, now));
        }
        window.failures = window.failures.saturating_add(1);
        // Requests already past `blocked` when the limit was reached (concurrent ones).
        if window.failures > self.limit {
            return Err(Throttled::Address(window.remaining(now).unwrap_or(WINDOW)));
        }
        self.answer(now)
    }

    /// Whether one more 401 may be answered now: at most
    /// [`MAX_FAILURES_ANSWERED_PER_SECOND`] in any second.
    fn answer(&mut self, now: Instant) -> Result<(), Throttled> {
        if self.answered.len() >= MAX_FAILURES_ANSWERED_PER_SECOND {
            let oldest = self.answered[0];
            let since = now.saturating_duration_since(oldest);
            if since < Duration::from_secs(1) {
                return Err(Throttled::Everyone(Duration::from_secs(1) - since));
            }
            self.answered.pop_front();
        }
        self.answered.push_back(now);
        Ok(())
    }

    /// Forgets the windows that have ended.
    fn prune(&mut self, now: Instant) {
        while let Some(&(addr, start)) = self.order.front() {
            if start + WINDOW > now {
                break;
            }
            self.order.pop_front();
            if self.windows.get(&addr).is_some_and(|w| w.start == start) {
                self.windows.remove(&addr);
            }
        }
    }

    /// Drops the oldest live window (the table is full).
    fn drop_oldest(&mut self) {
        while let Some((addr, start)) = self.order.pop_front() {
            if self.windows.get(&addr).is_some_and(|w| w.start == start) {
                self.windows.remove(&addr);
                return;
            }
        }
    }
}

/// One token's write allowance: a token bucket of `requests_per_minute` requests refilled
/// at that many a minute, kept in its GCRA form (the time the bucket would be full again),
/// so that the arithmetic is whole nanoseconds and a `Retry-After` exact.
#[derive(Default)]
struct Bucket {
    /// When every request taken so far would have been paid back; `None` before the first.
    full_at: Option<Instant>,
}

impl Bucket {
    fn take(&mut self, per_minute: u32, now: Instant) -> Result<(), Duration> {
        let per_minute = per_minute.max(1);
        let interval = WINDOW / per_minute;
        let burst = interval * (per_minute - 1);
        let full_at = self.full_at.map_or(now, |t| t.max(now));
        let ahead = full_at - now;
        if ahead > burst {
            return Err(ahead - burst);
        }
        self.full_at = Some(full_at + interval);
        Ok(())
    }
}

/// Lines logged this second, and those suppressed.
#[derive(Default)]
struct RefusalLog {
    second: Option<Instant>,
    lines: u32,
    suppressed: u64,
}

/// What to log for one refusal.
struct Note {
    /// The count suppressed in an earlier second, to report first.
    summary: Option<u64>,
    /// Whether to log this refusal's line.
    print: bool,
    /// When to report this second's suppressed lines, if this is the first suppressed one.
    flush_at: Option<Instant>,
}

impl RefusalLog {
    fn note(&mut self, now: Instant) -> Note {
        let mut summary = None;
        let second = match self.second {
            Some(s) if now.saturating_duration_since(s) < Duration::from_secs(1) => s,
            _ => {
                summary = self.flush();
                self.second = Some(now);
                self.lines = 0;
                now
            }
        };
        if self.lines < LOG_LINES_PER_SECOND {
            self.lines += 1;
            return Note { summary, print: true, flush_at: None };
        }
        self.suppressed += 1;
        let flush_at = (self.suppressed == 1).then(|| second + Duration::from_secs(1));
        Note { summary, print: false, flush_at }
    }

    /// The lines suppressed so far, now reported (none if a later refusal reported them).
    fn flush(&mut self) -> Option<u64> {
        let n = std::mem::take(&mut self.suppressed);
        (n > 0).then_some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_that_fails_too_often_is_refused_until_its_minute_ends() {
        let g = Guard::new(3, 0, 1);
        let t0 = Instant::now();
        let (a, b) = (ip("192.0.2.1"), ip("2001:db8::1"));
        let at = |s: u64| t0 + Duration::from_secs(s);
        for s in 0..3 {
            assert_eq!(g.blocked(a, at(s)), None, "failure {s} is still answered 401");
            assert_eq!(g.failed(a, at(s)), Ok(()));
        }
        // Blocked from the 4th request on, with the rest of the window to wait.
        assert_eq!(g.blocked(a, at(3)), Some(Throttled::Address(Duration::from_secs(57))));
        assert_eq!(g.blocked(a, at(3)).unwrap().retry_after(), 57);
        assert_eq!(g.blocked(a, t0 + Duration::from_millis(59_500)).unwrap().retry_after(), 1);
        // Another address is not affected.
        assert_eq!(g.blocked(b, at(3)), None);
        assert_eq!(g.failed(b, at(3)), Ok(()));
        // A request that passed `blocked` concurrently is refused when it fails.
        assert_eq!(g.failed(a, at(4)), Err(Throttled::Address(Duration::from_secs(56))));
        // The window over: a fresh start.
        assert_eq!(g.blocked(a, at(60)), None);
        assert_eq!(g.failed(a, at(60)), Ok(()));
        assert_eq!(g.blocked(a, at(61)), None);
    }

    #[test]
    fn at_most_a_hundred_failures_are_answered_in_any_second_from_all_addresses() {
        let g = Guard::new(1_000, 0, 1);
        let t0 = Instant::now();
        let mut answered = 0;
        // 300 failures from 300 addresses within 0.3 s.
        for i in 0..300u32 {
            let now = t0 + Duration::from_millis(u64::from(i));
            match g.failed(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)), now) {
                Ok(()) => answered += 1,
                Err(Throttled::Everyone(wait)) => assert!(wait <= Duration::from_secs(1) && !wait.is_zero()),
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(answered, MAX_FAILURES_ANSWERED_PER_SECOND);
        // One second after the first answered 401, room for one more, and so on.
        assert_eq!(g.failed(ip("10.9.9.9"), t0 + Duration::from_millis(999)).map_err(|t| t.retry_after()), Err(1));
        assert_eq!(g.failed(ip("10.9.9.9"), t0 + Duration::from_millis(1_000)), Ok(()));
        assert!(matches!(g.failed(ip("10.9.9.9"), t0 + Duration::from_millis(1_000)), Err(Throttled::Everyone(_))));
        assert_eq!(g.failed(ip("10.9.9.9"), t0 + Duration::from_millis(1_001)), Ok(()));
    }

    #[test]
    fn the_table_of_addresses_is_bounded_and_drops_the_oldest_window() {
        let g = Guard::new(1, 0, 1);
        let t0 = Instant::now();
        let addr = |i: usize| IpAddr::from(std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | i as u128));
        // 1 ms apart, all within a window (beyond the ceiling in all: still recorded).
        for i in 0..MAX_TRACKED_ADDRESSES + 500 {
            let _ = g.failed(addr(i), t0 + Duration::from_millis(i as u64));
        }
        let f = g.failures.lock().unwrap();
        assert_eq!(f.windows.len(), MAX_TRACKED_ADDRESSES);
        assert!(f.order.len() <= MAX_TRACKED_ADDRESSES + 1, "{}", f.order.len());
        let now = t0 + Duration::from_millis(MAX_TRACKED_ADDRESSES as u64 + 500);
        assert_eq!(f.blocked(addr(0), now), None, "the oldest windows were dropped");
        assert!(f.blocked(addr(MAX_TRACKED_ADDRESSES + 499), now).is_some());
        drop(f);
        // Expired windows are pruned as new failures come.
        let _ = g.failed(ip("192.0.2.1"), now + WINDOW);
        assert_eq!(g.failures.lock().unwrap().windows.len(), 1);
        assert_eq!(g.failures.lock().unwrap().order.len(), 1);
        // At the bound: the map's buckets (a power of two at 7/8 load, a control byte each)
        // and the queue's slots.
        let slots = (MAX_TRACKED_ADDRESSES * 8 / 7).next_power_of_two();
        let bytes = slots * (std::mem::size_of::<(IpAddr, Window)>() + 1 + std::mem::size_of::<(IpAddr, Instant)>());
        assert!(bytes <= 3 << 19, "at most 1.5 MiB at the bound: {bytes} bytes");
    }

    #[test]
    fn writes_per_token_are_a_bucket_of_a_minutes_requests() {
        let g = Guard::new(30, 2, 2);
        let t0 = Instant::now();
        assert_eq!(g.write(0, t0), Ok(()));
        assert_eq!(g.write(0, t0), Ok(()));
        // The third waits for half a minute's refill (2 a minute: one every 30 s).
        assert_eq!(g.write(0, t0).map_err(Throttled::retry_after), Err(30));
        assert_eq!(g.write(0, t0 + Duration::from_secs(20)).map_err(Throttled::retry_after), Err(10));
        // Another token is not limited by this one's use.
        assert_eq!(g.write(1, t0), Ok(()));
        assert_eq!(g.write(0, t0 + Duration::from_secs(30)), Ok(()));
        assert!(g.write(0, t0 + Duration::from_secs(31)).is_err());
        // Refills never exceed the bucket.
        assert_eq!(g.write(0, t0 + Duration::from_secs(3600)), Ok(()));
        assert_eq!(g.write(0, t0 + Duration::from_secs(3600)), Ok(()));
        assert!(g.write(0, t0 + Duration::from_secs(3600)).is_err());
        // 60 a minute: after the burst, one a second; off (0): never limited.
        let g = Guard::new(30, 60, 1);
        for _ in 0..60 {
            assert_eq!(g.write(0, t0), Ok(()));
        }
        assert_eq!(g.write(0, t0).map_err(Throttled::retry_after), Err(1));
        let off = Guard::new(30, 0, 1);
        assert!((0..10_000).all(|_| off.write(0, t0).is_ok()));
    }

    #[test]
    fn refusal_lines_are_limited_to_ten_a_second_and_the_rest_counted() {
        let mut log = RefusalLog::default();
        let t0 = Instant::now();
        let notes: Vec<Note> = (0..25).map(|i| log.note(t0 + Duration::from_millis(i * 10))).collect();
        assert_eq!(notes.iter().filter(|n| n.print).count(), 10);
        let flushes: Vec<Instant> = notes.iter().filter_map(|n| n.flush_at).collect();
        assert_eq!(flushes, [t0 + Duration::from_secs(1)], "one report scheduled for the second");
        assert!(notes.iter().all(|n| n.summary.is_none()));
        // The timer reports the 15, once.
        assert_eq!(log.flush(), Some(15));
        assert_eq!(log.flush(), None);
        // Without the timer, the next second's first refusal reports them.
        for i in 0..12 {
            log.note(t0 + Duration::from_millis(1_000 + i));
        }
        let next = log.note(t0 + Duration::from_secs(2));
        assert_eq!((next.summary, next.print), (Some(2), true));
    }
}
