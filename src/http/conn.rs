//! What one connection may hold: the caps on open connections (in all and per client
//! address) and each connection's watchdog (idle, stalled writes).
//!
//! hyper's own header timeout covers a header sent too slowly (HTTP/1); everything else a
//! hostile client can do to hold a socket is seen here, on the raw bytes:
//!
//! - **idle**: no request in flight, no request started and nothing written for
//!   `idle_timeout` (a silent socket, a kept-alive connection nobody uses, an HTTP/2
//!   connection that never completes a request) -> closed;
//! - **stalled write**: a response write that has made no progress for `write_timeout` (a
//!   client that stopped reading) -> closed;
//! - **full**: at `max_connections`, a new connection closes the connection that has been
//!   idle longest to make room (a fresh reader still gets its feed); with none idle, or at
//!   `max_connections_per_address` for its address, the new one is refused with a 503.
//!
//! The watchdog is one timer per connection, woken at the nearest deadline; the request
//! path only stores a timestamp (an atomic) per request and per write.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use crate::config::Limits;

/// Descriptors kept free for the store, logs and the listener when the connection cap is
/// fitted under the file-descriptor limit.
const RESERVED_FDS: u64 = 64;

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Nothing happened for `idle_timeout`.
    Idle,
    /// A write made no progress for `write_timeout`.
    WriteStalled,
    /// Closed to make room for a new connection at the cap.
    Evicted,
}

/// The instant all connections' times count from, so they compare across connections.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// What one connection has been doing, shared by its I/O, its requests and its watchdog.
/// Times are milliseconds since [`epoch`] (0 in `write_blocked` means "not blocked";
/// stored as time + 1).
pub struct Activity {
    peer: IpAddr,
    id: u64,
    /// Requests being answered now.
    in_flight: AtomicUsize,
    /// When a request last started or was answered.
    last_request: AtomicU64,
    /// When a write last made progress.
    last_write: AtomicU64,
    /// Since when a write has been waiting for the client to read (+1), or 0.
    write_blocked: AtomicU64,
    /// Asks the watchdog to close the connection (eviction).
    close: Notify,
}

impl Activity {
    fn now(&self) -> u64 {
        epoch().elapsed().as_millis() as u64
    }

    /// A request on this connection starts; it is in flight until the guard drops (its
    /// response is ready, or the request was dropped).
    pub fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.last_request.store(self.now(), Ordering::Relaxed);
        InFlight(self)
    }

    /// Milliseconds since anything happened, if no request is in flight.
    fn idle_for(&self, now: u64) -> Option<u64> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let last = self.last_request.load(Ordering::Relaxed).max(self.last_write.load(Ordering::Relaxed));
        Some(now.saturating_sub(last))
    }
}

/// A request in flight on a connection (see [`Activity::enter`]).
pub struct InFlight<'a>(&'a Activity);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.last_request.store(self.0.now(), Ordering::Relaxed);
    }
}

/// The open connections, for the caps.
pub struct Registry {
    max_connections: usize,
    max_per_address: usize,
    inner: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    connections: HashMap<u64, Arc<Activity>>,
    per_address: HashMap<IpAddr, usize>,
}

/// A connection's place in the [`Registry`]; dropping it frees the place.
pub struct Admitted {
    registry: Arc<Registry>,
    /// The connection's activity.
    pub activity: Arc<Activity>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.registry.inner.lock().unwrap_or_else(|p| p.into_inner());
        if open.connections.remove(&self.activity.id).is_some() {
            if let Some(n) = open.per_address.get_mut(&self.activity.peer) {
                *n -= 1;
                if *n == 0 {
                    open.per_address.remove(&self.activity.peer);
                }
            }
        }
    }
}

/// Why a new connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its address holds `max_connections_per_address` already.
    PerAddress,
    /// The daemon holds `max_connections`, none of them idle.
    Full,
}

impl Registry {
    /// A registry with the configured caps, the total fitted under the process's
    /// file-descriptor limit (`fd_limit`; `None` if unknown).
    pub fn new(limits: &Limits, fd_limit: Option<u64>) -> Registry {
        let fit = fd_limit.map_or(usize::MAX, |n| n.saturating_sub(RESERVED_FDS).max(2) as usize);
        Registry {
            max_connections: limits.max_connections.min(fit),
            max_per_address: limits.max_connections_per_address,
            inner: Mutex::new(Open::default()),
        }
    }

    /// The cap on open connections in force.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Open connections now.
    pub fn open(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).connections.len()
    }

    /// Admits a connection from `peer`, closing the longest-idle connection if the daemon
    /// is full; refuses it if its address is at its cap or nothing can be closed.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Admitted, Refused> {
        let mut open = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if open.per_address.get(&peer).copied().unwrap_or(0) >= self.max_per_address {
            return Err(Refused::PerAddress);
        }
        if open.connections.len() >= self.max_connections {
            let victim = open
                .connections
                .values()
                .filter_map(|a| a.idle_for(a.now()).map(|idle| (idle, a.clone())))
                .max_by_key(|(idle, a)| (*idle, std::cmp::Reverse(a.id)))
                .map(|(_, a)| a);
            let Some(victim) = victim else { return Err(Refused::Full) };
            // Its place is freed now; the connection itself closes when its watchdog wakes.
            open.connections.remove(&victim.id);
            if let Some(n) = open.per_address.get_mut(&victim.peer) {
                *n -= 1;
            }
            victim.close.notify_one();
        }
        open.next_id += 1;
        let now = epoch().elapsed().as_millis() as u64;
        let activity = Arc::new(Activity {
            peer,
            id: open.next_id,
            in_flight: AtomicUsize::new(0),
            last_request: AtomicU64::new(now),
            last_write: AtomicU64::new(now),
            write_blocked: AtomicU64::new(0),
            close: Notify::new(),
        });
        open.connections.insert(activity.id, activity.clone());
        *open.per_address.entry(peer).or_default() += 1;
        Ok(Admitted { registry: self.clone(), activity })
    }
}

/// Completes when the connection must close, and says why: idle for `idle`, a write
/// stalled for `write`, or evicted.
pub async fn watchdog(activity: &Activity, idle: Duration, write: Duration) -> Closed {
    let (idle, write) = (idle.as_millis() as u64, write.as_millis() as u64);
    loop {
        let now = activity.now();
        let mut wait = idle;
        let blocked = activity.write_blocked.load(Ordering::Relaxed);
        if blocked > 0 {
            let stalled = now.saturating_sub(blocked - 1);
            if stalled >= write {
                return Closed::WriteStalled;
            }
            wait = wait.min(write - stalled);
        }
        if let Some(quiet) = activity.idle_for(now) {
            if quiet >= idle {
                return Closed::Idle;
            }
            wait = wait.min(idle - quiet);
        }
        // A write that blocks after this check is seen within a quarter of its timeout
        // after the deadline at worst.
        let wait = Duration::from_millis(wait.min((write / 4).max(50)).max(10));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = activity.close.notified() => return Closed::Evicted,
        }
    }
}

/// A socket whose writes are watched: progress and stalls are recorded in [`Activity`].
pub struct Watched<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    /// Watches `io` for the connection of `activity`.
    pub fn new(io: T, activity: Arc<Activity>) -> Watched<T> {
        Watched { io, activity }
    }

    fn wrote(&self, result: &Poll<io::Result<usize>>) {
        let a = &self.activity;
        match result {
            Poll::Ready(Ok(n)) if *n > 0 => {
                a.last_write.store(a.now(), Ordering::Relaxed);
                a.write_blocked.store(0, Ordering::Relaxed);
            }
            Poll::Pending if a.write_blocked.load(Ordering::Relaxed) == 0 => {
                a.write_blocked.store(a.now() + 1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, buf);
        self.wrote(&result);
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.wrote(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (every socket costs a descriptor; the
/// soft limit is often 1,024 outside systemd) and returns the limit in force.
pub fn raise_fd_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!("cannot raise the file-descriptor limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _)| soft)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per_address: usize) -> Limits {
        let mut l = crate::config::for_tests().server.limits;
        l.max_connections = max;
        l.max_connections_per_address = per_address;
        l
    }

    #[test]
    fn caps_per_address_and_in_all_evicting_the_longest_idle() {
        let registry = Arc::new(Registry::new(&limits(3, 2), None));
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let first = registry.admit(a).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let second = registry.admit(a).unwrap();
        assert_eq!(registry.admit(a).err(), Some(Refused::PerAddress));
        let busy = second.activity.enter();
        let third = registry.admit(b).unwrap();
        let _busy = third.activity.enter();
        // Full: the only idle one (the first) makes room.
        let fourth = registry.admit(b).unwrap();
        assert_eq!(registry.open(), 3);
        assert!(matches!(
            tokio::runtime::Runtime::new().unwrap().block_on(watchdog(
                &first.activity,
                Duration::from_secs(60),
                Duration::from_secs(60)
            )),
            Closed::Evicted
        ));
        let _busy4 = fourth.activity.enter();
        assert_eq!(registry.admit(a).err(), Some(Refused::Full), "nothing idle to close");
        drop(busy);
        drop(second);
        assert!(registry.admit(a).is_ok(), "a closed connection frees its place");
    }

    #[test]
    fn the_cap_fits_under_the_descriptor_limit() {
        assert_eq!(Registry::new(&limits(2048, 64), Some(1024)).max_connections(), 1024 - RESERVED_FDS as usize);
        assert_eq!(Registry::new(&limits(100, 64), Some(1024)).max_connections(), 100);
    }
}
