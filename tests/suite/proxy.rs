//! sihai behind real nginx, configured by deploy/nginx/sihai.conf: repeated GETs are
//! cache hits, an expired entry is revalidated with sihai's validators (a 304, no
//! render), a new article shows once the entry expires, and with sihai stopped the proxy
//! serves the stale copy.
//!
//! The nginx config is the shipped file itself with these rewrites (each must apply
//! exactly once, so the test follows the file): plain HTTP on loopback instead of TLS,
//! the cache in a temp dir, the upstream the daemon's port; and, to keep the test short,
//! sihai's Cache-Control (max-age = the category's ttl, at least a minute) is ignored in
//! favour of `proxy_cache_valid 200 2s`, and the update after expiry runs in the request
//! (`proxy_cache_background_update off`) so that the answer shows REVALIDATED and the
//! upstream's 304 instead of a background subrequest nobody sees.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::util::*;

const NGINX: &str = "/usr/sbin/nginx";
const SHIPPED_NGINX: &str = include_str!("../../deploy/nginx/sihai.conf");
/// How long the test's proxy keeps a 200 fresh.
const VALID: Duration = Duration::from_secs(2);

/// A free loopback port (bound, read, released: nginx binds it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Real nginx in a temp prefix; stopped (QUIT to the PID it was started as) when dropped.
struct Nginx {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstream: &str) -> Nginx {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display().to_string();
        let port = free_port();
        let mut conf = replaced(SHIPPED_NGINX, "server 127.0.0.1:8080;", &format!("server {upstream};"));
        conf = replaced(&conf, "proxy_cache_path /var/cache/nginx/sihai ", &format!("proxy_cache_path {d}/cache "));
        conf = replaced(&conf, "listen 80;\n    listen [::]:80;", &format!("listen 127.0.0.1:{};", free_port()));
        conf = replaced(
            &conf,
            "listen 443 ssl http2;\n    listen [::]:443 ssl http2;",
            &format!("listen 127.0.0.1:{port};"),
        );
        for line in [
            "ssl_certificate     /etc/ssl/certs/feeds.example.org.fullchain.pem;",
            "ssl_certificate_key /etc/ssl/private/feeds.example.org.key;",
            "ssl_protocols TLSv1.2 TLSv1.3;",
            "ssl_session_cache shared:sihai_tls:10m;",
            "ssl_session_timeout 1d;",
        ] {
            conf = replaced(&conf, line, "");
        }
        conf = replaced(
            &conf,
            "proxy_cache_revalidate on;",
            &format!(
                "proxy_cache_revalidate on;\n    proxy_cache_valid 200 {}s;\n    add_header X-Upstream-Status $upstream_status always;",
                VALID.as_secs()
            ),
        );
        conf = replaced(&conf, "proxy_ignore_headers Vary;", "proxy_ignore_headers Vary Cache-Control Expires;");
        conf = replaced(&conf, "proxy_cache_background_update on;", "proxy_cache_background_update off;");
        std::fs::write(dir.path().join("sihai.conf"), conf).expect("write sihai.conf");
        use std::os::unix::fs::MetadataExt;
        let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let main = format!(
            "{user}worker_processes 1;\nerror_log {d}/error.log info;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             include {d}/sihai.conf;\n}}\n",
            user = if root { "user root;\n" } else { "" }
        );
        std::fs::write(dir.path().join("nginx.conf"), main).expect("write nginx.conf");
        let child = Command::new(NGINX)
            .args(["-p", &d, "-e", &format!("{d}/error.log"), "-c", &format!("{d}/nginx.conf")])
            .args(["-g", &format!("daemon off; pid {d}/nginx.pid;")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                let mut err = String::new();
                let _ = nginx.child.stderr.take().map(|mut e| e.read_to_string(&mut err));
                panic!("nginx exited: {status}\n{err}\n{}", nginx.error_log());
            }
            assert!(Instant::now() < deadline, "nginx did not listen\n{}", nginx.error_log());
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// GET through the proxy (HTTP/1.0: one request, the body until close).
    fn get(&self, path: &str, coding: &str) -> Resp {
        raw_get(self.port, path, coding)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        super::util::stop_gracefully(&mut self.child);
    }
}

fn raw_get(port: u16, path: &str, coding: &str) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to nginx");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let ae = if coding.is_empty() { String::new() } else { format!("Accept-Encoding: {coding}\r\n") };
    write!(s, "GET {path} HTTP/1.0\r\nHost: feeds.example.org\r\n{ae}\r\n").unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).expect("read the answer");
    let end = all.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    Resp { status, headers, body: all[end + 4..].to_vec() }
}

fn renders(d: &Daemon) -> u64 {
    let (s, v) = d.api("GET", "/api/stats", None);
    assert_eq!(s, 200, "{v}");
    v["renders"].as_u64().expect("renders counter")
}

fn cache_status(r: &Resp) -> &str {
    r.header("X-Cache-Status").unwrap_or("(none)")
}

#[test]
fn nginx_caches_revalidates_without_rendering_and_serves_stale_when_sihai_is_down() {
    if !Path::new(NGINX).exists() {
        return skip("nginx is not installed", "apt-get install nginx");
    }
    let t0 = Instant::now();
    let site = Site::shipped();
    let d = site.start();
    let nginx = Nginx::start(&d.addr());
    let feed = "/feeds/hunan.rss";

    // Repeated GETs: the first fills the cache, the next are hits; one entry per coding.
    let first = nginx.get(feed, "");
    assert_eq!(first.status, 200, "{}", nginx.error_log());
    assert_eq!(cache_status(&first), "MISS");
    assert!(first.header("ETag").is_some(), "sihai's validator passes through");
    for _ in 0..3 {
        let r = nginx.get(feed, "");
        assert_eq!((r.status, cache_status(&r)), (200, "HIT"));
        assert_eq!(r.body, first.body);
    }
    let gz = nginx.get(feed, "deflate, gzip;q=0.9");
    assert_eq!((cache_status(&gz), gz.header("Content-Encoding")), ("MISS", Some("gzip")));
    let gz = nginx.get(feed, "gzip");
    assert_eq!((cache_status(&gz), gz.header("Content-Encoding")), ("HIT", Some("gzip")), "normalized key");
    let br = nginx.get(feed, "gzip, deflate, br");
    assert_eq!((cache_status(&br), br.header("Content-Encoding")), ("MISS", Some("br")));
    // The Traditional edition and filtered feeds are cached too, each URL its own entry.
    for path in ["/zh-hant/feeds/hunan.rss", "/feeds/hunan.rss?filter=%E6%B9%96", "/zh-hant/c/hunan"] {
        let statuses: Vec<String> = (0..2).map(|_| cache_status(&nginx.get(path, "")).to_string()).collect();
        assert_eq!(statuses, ["MISS", "HIT"], "{path}");
    }
    // The API and metrics are refused to addresses outside the placeholder network.
    assert_eq!(nginx.get("/api/stats", "").status, 403);
    assert_eq!(nginx.get("/metrics", "").status, 403);

    // Expired: the proxy revalidates, sihai answers 304 from its validators, no render.
    let before = renders(&d);
    std::thread::sleep(VALID + Duration::from_millis(1100));
    let r = nginx.get(feed, "");
    assert_eq!(
        (r.status, cache_status(&r), r.header("X-Upstream-Status")),
        (200, "REVALIDATED", Some("304")),
        "{}",
        nginx.error_log()
    );
    assert_eq!(r.body, first.body, "the revalidated entry's body");
    assert_eq!(renders(&d), before, "a 304 to the proxy renders nothing");
    let after_revalidate = renders(&d);

    // An article ingested straight into sihai shows through the proxy once the entry expires.
    let article =
        r#"{"id": "proxy-1", "title": "代理之后的新文章", "category": "湖南", "published": "2024-05-01 08:00"}"#;
    let (s, v) = d.api("POST", "/api/articles", Some(article));
    assert_eq!(s, 200, "{v}");
    let cached = nginx.get(feed, "");
    if cache_status(&cached) == "HIT" {
        // (Not asserted to be a hit: on a loaded machine the ingest may outlast the validity.)
        assert!(!cached.text().contains("代理之后的新文章"), "a hit is the cached copy");
    }
    std::thread::sleep(VALID + Duration::from_millis(1100));
    let fresh = nginx.get(feed, "");
    assert_eq!((fresh.status, cache_status(&fresh), fresh.header("X-Upstream-Status")), (200, "EXPIRED", Some("200")));
    assert!(fresh.text().contains("代理之后的新文章"), "the new article through the proxy");
    let after_new = renders(&d);
    assert!(after_new > after_revalidate, "the changed feed was rendered: {after_revalidate} -> {after_new}");

    // sihai stopped: the proxy serves the stale copy with 200.
    assert_eq!(d.stop(), 0);
    std::thread::sleep(VALID + Duration::from_millis(1100));
    let stale = nginx.get(feed, "");
    assert_eq!((stale.status, cache_status(&stale)), (200, "STALE"), "{}", nginx.error_log());
    assert_eq!(stale.body, fresh.body);
    let uncached = nginx.get("/feeds/world.rss", "");
    assert_eq!(uncached.status, 502, "nothing cached for this feed, sihai down");
    eprintln!(
        "proxy: MISS, HIT x3, REVALIDATED (upstream 304, renders {before} -> {after_revalidate}), \
         EXPIRED with the new article (renders -> {after_new}), STALE with sihai stopped; {:?}",
        t0.elapsed()
    );
    // About 9.5 s here: three waits of the validity plus a second of nginx's clock.
    assert!(t0.elapsed() < Duration::from_secs(60), "took {:?}", t0.elapsed());
}
