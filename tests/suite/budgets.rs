//! Hostile clients, budgets (issue 12): what one client can make the daemon hold. Hundreds
//! of distinct `?limit` variants of a large feed keep the daemon's peak memory under the
//! cache's byte budget plus a stated margin (the variants are re-rendered after eviction,
//! not kept, and the current feed outlives them); exports that nobody reads hold their own
//! few threads, never the ones writes and renders need, and end when their reader goes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::util::{replaced, skip, Daemon, Site, SHIPPED_CONFIG};

/// `[server] cache_bytes` of the variants test: 8 MiB.
const BUDGET: u64 = 8 * 1024 * 1024;
/// What the daemon may hold beyond the budget while it renders and serves variants one at
/// a time: the render in flight (the articles read, the prepared document, the output)
/// and the allocator's slack. mimalloc returns freed memory to the system only after a
/// delay, and only when the thread that owns it allocates again: an evicted entry freed by
/// another thread, or a render's scratch on a blocking thread that then sits idle, stays
/// resident a while. Measured above the baseline (debug build, 2 cores): +35 to +41 MiB
/// with this 8 MiB budget (+11 MiB with `MIMALLOC_PURGE_DELAY=0`); +30 MiB with 4 MiB,
/// +124 MiB with 64 MiB (+69 MiB with no purge delay); with a budget nothing reaches
/// (4 GiB), the same requests took +294 MiB.
const MARGIN: u64 = 56 * 1024 * 1024;
/// Items of the site feed in the variants test (`?limit=1..ITEMS`: `ITEMS` is the current feed).
const ITEMS: usize = 200;
/// Most exports streaming at once (`http/api.rs`).
const MAX_EXPORTS: usize = 2;

/// Posts `count` articles of about `bytes` bytes of content each to `category`, in
/// requests under the body limit; their ids are `{prefix}{i}`.
fn post_articles(d: &Daemon, prefix: &str, count: usize, bytes: usize, category: &str) {
    let per_request = (6_000_000 / bytes).clamp(1, count);
    let text = "长文，不重复的第".repeat(bytes / 24 + 1);
    let mut i = 0;
    while i < count {
        let batch: Vec<Value> = (i..count.min(i + per_request))
            .map(|i| {
                json!({
                    "id": format!("{prefix}{i}"),
                    "title": format!("预算 {i}"),
                    "category": category,
                    // Distinct days, so that the newest N differ for every N.
                    "published": format!("2024-{:02}-{:02}", 1 + i / 28 % 12, 1 + i % 28),
                    "content_text": format!("{i}：{text}"),
                })
            })
            .collect();
        let (status, answer) = d.api("POST", "/api/articles", Some(&json!(batch).to_string()));
        assert_eq!(status, 200, "{answer}");
        i += per_request;
    }
}

/// The daemon's renders since start (`GET /api/stats`).
fn renders(d: &Daemon) -> u64 {
    let (status, stats) = d.api("GET", "/api/stats", None);
    assert_eq!(status, 200, "{stats}");
    stats["renders"].as_u64().expect("renders counter")
}

/// A line of `/proc/PID/status` in bytes (`VmRSS`, `VmHWM`: given in KiB).
fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    kib * 1024
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1048576.0
}

#[test]
fn hundreds_of_limit_variants_of_a_large_feed_stay_within_the_cache_budget() {
    let config = replaced(SHIPPED_CONFIG, "\n[server]\n", &format!("\n[server]\ncache_bytes = {BUDGET}\n"));
    let config = replaced(&config, "max_items = 50\n", &format!("max_items = {ITEMS}\n"));
    let site = Site::with_config(&config);
    let d = site.start();
    // About 4 KB of content an item: the 200-item feed is ~1 MB in each format, and its
    // 600 variants together about 280 MB.
    post_articles(&d, "b", ITEMS, 4_000, "hunan");
    let current = d.body("/feeds/all.rss");
    assert_eq!(current.matches("<item>").count(), ITEMS);
    let pid = d.pid();
    // The peak from here on: Linux resets VmHWM to the current RSS on "5" in clear_refs.
    if std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_err() {
        return skip("/proc/PID/clear_refs cannot be written", "run on Linux with /proc mounted read-write");
    }
    let baseline = status_bytes(pid, "VmRSS");
    let before = renders(&d);
    let variants: Vec<String> = ["rss", "atom", "json"]
        .iter()
        .flat_map(|ext| (1..ITEMS).map(move |n| format!("/feeds/all.{ext}?limit={n}")))
        .collect();
    for path in &variants {
        let r = d.get(path);
        assert_eq!(r.status, 200, "{path}");
    }
    let first_pass = renders(&d) - before;
    assert_eq!(first_pass, variants.len() as u64, "each variant rendered once");
    // The same variants again, in the same order: each was evicted before its turn came
    // back (they weigh ~280 MB together), so each is rendered again, not kept.
    for path in &variants {
        assert_eq!(d.get(path).status, 200, "{path}");
    }
    let peak = status_bytes(pid, "VmHWM");
    eprintln!(
        "{} variants twice: baseline RSS {:.1} MiB, peak {:.1} MiB (+{:.1} MiB; budget {:.0} MiB + margin {:.0} MiB)",
        variants.len(),
        mib(baseline),
        mib(peak),
        mib(peak.saturating_sub(baseline)),
        mib(BUDGET),
        mib(MARGIN)
    );
    let second_pass = renders(&d) - before - first_pass;
    assert!(
        second_pass >= variants.len() as u64 - 10,
        "only {second_pass} of {} variants were rendered again: they were kept beyond the budget",
        variants.len()
    );
    assert!(
        peak <= baseline + BUDGET + MARGIN,
        "peak RSS {:.1} MiB is more than the baseline {:.1} MiB + the budget {:.0} MiB + the margin {:.0} MiB",
        mib(peak),
        mib(baseline),
        mib(BUDGET),
        mib(MARGIN)
    );
    // What is kept is still served without a render: the newest variant, and the current
    // feed, which outlived two passes of the variants (they go first).
    let kept = renders(&d);
    assert!(!d.body(variants.last().unwrap()).is_empty());
    assert_eq!(d.body("/feeds/all.rss"), current);
    assert_eq!(renders(&d), kept, "the newest variant and the current feed were kept");
    // A variant that is not kept is served whole, and concurrent requests for it share
    // one render.
    let path = "/feeds/all.rss?limit=150";
    let bodies: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| d.body(path))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(bodies.iter().all(|b| b.matches("<item>").count() == 150), "{path} has 150 items");
    assert_eq!(renders(&d), kept + 1, "8 concurrent requests, one render");
}

/// Sends `request` on a fresh connection (it must say `Connection: close`) and reads the
/// answer to its end: the status (0 if none came within 10 s) and the time it took.
fn timed(addr: &str, request: &[u8]) -> (u16, Duration) {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).expect("send");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let status = std::str::from_utf8(answer.get(9..12).unwrap_or_default()).ok().and_then(|s| s.parse().ok());
    (status.unwrap_or(0), t.elapsed())
}

/// The daemon's threads that stream exports.
fn export_threads(pid: u32) -> usize {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("read /proc/PID/task");
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "sihai-export")
        .count()
}

/// Reads what has arrived of an answer's head (without waiting long).
fn head(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn stalled_export_downloads_do_not_delay_writes_or_uncached_pages() {
    let site = Site::shipped();
    let d = site.start();
    let addr = d.addr();
    // About 10 MB of export: far more than the socket buffers, the connection's write
    // buffer and the stream's queue hold for a reader that never reads.
    post_articles(&d, "e", 240, 40_000, "hunan");
    let pid = d.pid();
    let auth = format!("Authorization: Bearer {}\r\n", d.token);
    // Eight readers that ask for an export and never read it, with a small receive window.
    let mut stalled: Vec<TcpStream> = (0..8)
        .map(|_| {
            let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            s.set_recv_buffer_size(4096).unwrap();
            s.connect(&addr.parse::<SocketAddr>().unwrap().into()).unwrap();
            let mut s: TcpStream = s.into();
            s.write_all(format!("GET /api/export HTTP/1.1\r\nHost: x\r\n{auth}\r\n").as_bytes()).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500)); // the exports fill every buffer and block
    let mut slowest = Duration::ZERO;
    for round in 0..5 {
        let article = json!({"id": format!("w{round}"), "title": format!("写入 {round}"), "category": "hunan", "published": "2025-01-01", "content_text": "短文。"}).to_string();
        let post = format!(
            "POST /api/articles HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{article}",
            article.len()
        );
        let page = "GET /c/hunan HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_string();
        let variant =
            format!("GET /feeds/all.atom?limit={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10 + round);
        // The write invalidates hunan's page and the site feed: both are rendered anew.
        for (what, request) in [("POST /api/articles", post), ("GET /c/hunan", page), ("GET ?limit", variant)] {
            let (status, took) = timed(&addr, request.as_bytes());
            assert_eq!(status, 200, "{what} (round {round}) while 8 exports stall, after {took:?}");
            assert!(took < Duration::from_secs(1), "{what} (round {round}) took {took:?} while 8 exports stall");
            slowest = slowest.max(took);
        }
    }
    eprintln!("slowest write or uncached page while 8 exports stall: {slowest:?}");
    assert_eq!(export_threads(pid), MAX_EXPORTS, "export threads while 8 exports stall");
    // Two exports stream (and stall); the others were told when to come back.
    let heads: Vec<String> = stalled.iter_mut().map(head).collect();
    let streaming = heads.iter().filter(|h| h.starts_with("HTTP/1.1 200")).count();
    let refused: Vec<&String> = heads.iter().filter(|h| h.starts_with("HTTP/1.1 503")).collect();
    assert_eq!((streaming, refused.len()), (MAX_EXPORTS, 8 - MAX_EXPORTS), "{heads:?}");
    assert!(refused.iter().all(|h| h.to_ascii_lowercase().contains("\r\nretry-after: ")), "{refused:?}");
    // Readers that go away end their export threads promptly.
    drop(stalled);
    let t = Instant::now();
    while export_threads(pid) > 0 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let ended = t.elapsed();
    assert_eq!(export_threads(pid), 0, "export threads still running {ended:?} after their readers went away");
    eprintln!("export threads ended {ended:?} after their readers went away");
    // And an export that is read is whole.
    let export = d.request("GET", "/api/export", &[("Authorization", &format!("Bearer {}", d.token))], None);
    assert_eq!(export.status, 200);
    let text = export.text();
    assert!(text.ends_with('\n'));
    let articles = text.lines().filter(|l| l.contains("\"kind\":\"article\"")).count();
    assert_eq!(articles, 240 + 5, "every article in the export");
}
