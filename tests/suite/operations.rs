//! Operating sihai (issue 14): `/metrics` scraped and parsed by the Python
//! `prometheus_client` parsers (both text formats) with counters that move; who may
//! scrape (allowed networks judged on the client address a trusted proxy gives, or the
//! token); `SIGHUP` reloading categories and tokens while a client polls and a publisher
//! writes, refusing an invalid config; and systemd's `sd_notify` protocol
//! (`READY=1`, `RELOADING=1`, `STOPPING=1`) on a real datagram socket.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::util::{replaced, request_from, skip, Daemon, Site, SHIPPED_CONFIG};

const TOKEN_A: &str = "token-a-0123456789abcdef";
const TOKEN_B: &str = "token-b-0123456789abcdef";
const SCRAPE_TOKEN: &str = "scrape-0123456789abcdef";

/// Parses an exposition with the Python client's parser (`openmetrics`: the OpenMetrics
/// one, else the Prometheus text one): every sample as `name{labels}` -> value, labels
/// sorted. `None` when Python or `prometheus_client` is missing (the test is skipped).
fn parse_with_prometheus_client(text: &str, openmetrics: bool) -> Option<BTreeMap<String, f64>> {
    let module = if openmetrics { "prometheus_client.openmetrics.parser" } else { "prometheus_client.parser" };
    let script = format!(
        "import sys, json\nfrom {module} import text_string_to_metric_families\nout = {{}}\nfor fam in text_string_to_metric_families(sys.stdin.read()):\n    for s in fam.samples:\n        labels = ','.join(f'{{k}}={{v}}' for k, v in sorted(s.labels.items()))\n        out[s.name + '{{' + labels + '}}'] = s.value\nprint(json.dumps(out))\n"
    );
    let probe = Command::new("python3").args(["-c", "import prometheus_client"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("the script prints JSON"))
}

/// One scrape from 127.0.0.1, parsed.
fn scrape(d: &Daemon, openmetrics: bool) -> Option<BTreeMap<String, f64>> {
    let accept = if openmetrics { "application/openmetrics-text; version=1.0.0" } else { "text/plain" };
    let r = d.request("GET", "/metrics", &[("Accept", accept)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let ty = r.header("content-type").unwrap_or_default().to_string();
    if openmetrics {
        assert!(ty.starts_with("application/openmetrics-text"), "{ty}");
    } else {
        assert!(ty.starts_with("text/plain; version=0.0.4"), "{ty}");
    }
    parse_with_prometheus_client(&r.text(), openmetrics)
}

fn sample(m: &BTreeMap<String, f64>, key: &str) -> f64 {
    *m.get(key).unwrap_or_else(|| panic!("no sample {key} in {:?}", m.keys().collect::<Vec<_>>()))
}

#[test]
fn metrics_parse_with_the_prometheus_parsers_and_their_counters_move() {
    let site = Site::shipped();
    let d = site.start();
    let Some(before) = scrape(&d, true) else {
        return skip("Python's prometheus_client is not installed", "pip install prometheus-client");
    };
    assert_eq!(sample(&before, "sihai_ingest_articles_total{outcome=created}"), 0.0);
    assert_eq!(sample(&before, "sihai_store_articles{}"), 0.0);
    assert_eq!(sample(&before, "sihai_build_info{version=0.1.0}"), 1.0);
    // Work of every kind: renders, hits, a 304, gzip, an ingest, a refused token.
    let first = d.get("/feeds/hunan.rss");
    assert_eq!(first.status, 200);
    let etag = first.header("etag").unwrap().to_string();
    for _ in 0..3 {
        assert_eq!(d.request("GET", "/feeds/hunan.rss", &[("If-None-Match", &etag)], None).status, 304);
    }
    assert_eq!(d.request("GET", "/feeds/all.atom", &[("Accept-Encoding", "gzip")], None).status, 200);
    let article = r#"[{"id": "m-1", "title": "指标", "category": "湖南", "published": "2024-05-01 08:00"},
                      {"id": "m-2", "title": "未来", "category": "湖南", "published": "2099-05-01 08:00"}]"#;
    assert_eq!(d.api("POST", "/api/articles", Some(article)).0, 200);
    assert_eq!(d.request("GET", "/api/stats", &[("Authorization", "Bearer wrong-token-0123456789")], None).status, 401);
    assert_eq!(d.get("/no/such/page").status, 404);
    assert_eq!(d.get("/feeds/all.json").status, 200);
    let after = scrape(&d, false).expect("the parser was there a moment ago");
    let moved = |key: &str| sample(&after, key) - before.get(key).copied().unwrap_or(0.0);
    assert_eq!(moved("sihai_http_requests_total{route=feed,status=304}"), 3.0);
    assert!(moved("sihai_http_requests_total{route=feed,status=200}") >= 2.0);
    assert_eq!(moved("sihai_http_requests_total{route=api,status=401}"), 1.0, "API errors by status");
    assert_eq!(moved("sihai_http_requests_total{route=other,status=404}"), 1.0);
    assert!(moved("sihai_http_response_bytes_total{coding=gzip}") > 0.0);
    assert!(moved("sihai_render_seconds_count{}") >= 2.0, "renders are timed");
    assert!(moved("sihai_compression_seconds_count{coding=gzip}") >= 1.0);
    assert!(moved("sihai_ready_cache_hits_total{}") >= 3.0, "the 304s came from ready bytes");
    assert!(moved("sihai_ready_cache_misses_total{}") >= 2.0);
    assert_eq!(moved("sihai_ingest_articles_total{outcome=created}"), 2.0);
    assert_eq!(sample(&after, "sihai_store_articles{}"), 2.0);
    assert_eq!(sample(&after, "sihai_scheduled_articles{}"), 1.0, "m-2 is dated 2099");
    assert!(sample(&after, "sihai_store_size_bytes{}") > 0.0);
    assert!(sample(&after, "sihai_ready_cache_bytes{}") > 0.0);
    assert!(sample(&after, "sihai_connections_open{}") >= 1.0);
    // A delete moves the article count back and is counted by outcome.
    assert_eq!(d.api("DELETE", "/api/articles/m-1", None).0, 204);
    let last = scrape(&d, true).unwrap();
    assert_eq!(sample(&last, "sihai_store_articles{}"), 1.0);
    assert_eq!(sample(&last, "sihai_deletes_total{outcome=deleted}"), 1.0);
}

#[test]
fn metrics_are_open_to_allowed_networks_judged_behind_the_proxy_or_to_the_token() {
    let site = Site::shipped();
    let scrape_file = site.write("scrape.token", &format!("{SCRAPE_TOKEN}\n"));
    let text = replaced(
        SHIPPED_CONFIG,
        "\n[server]\n",
        &format!("\n[metrics]\ntoken_file = {scrape_file:?}\n\n[server]\ntrusted_proxies = [\"127.0.0.1\"]\n"),
    );
    rewrite(&site, &text);
    let d = site.start();
    let to = d.addr();
    let get = |from: &str, headers: &[(&str, &str)]| request_from(from, &to, "GET", "/metrics", headers, "").status;
    assert_eq!(get("127.0.0.1", &[]), 200, "loopback itself (a Prometheus on this host)");
    assert_eq!(
        get("127.0.0.1", &[("X-Forwarded-For", "203.0.113.9")]),
        403,
        "through the trusted proxy the client is the forwarded address"
    );
    assert_eq!(get("127.0.0.1", &[("Forwarded", "for=198.51.100.7")]), 403);
    let bearer = format!("Bearer {SCRAPE_TOKEN}");
    assert_eq!(get("127.0.0.1", &[("X-Forwarded-For", "203.0.113.9"), ("Authorization", &bearer)]), 200);
    // 127.0.0.2 is another client, in the default networks (127.0.0.0/8) but not a
    // trusted proxy: its forwarding header is ignored.
    assert_eq!(get("127.0.0.2", &[("X-Forwarded-For", "203.0.113.9")]), 200);
    assert_eq!(
        get("127.0.0.1", &[("X-Forwarded-For", "203.0.113.9"), ("Authorization", "Bearer nope-0123456789abc")]),
        403
    );
    // An empty list closes it to every address: only the token opens it.
    drop(d);
    rewrite(&site, &replaced(&text, "[metrics]\n", "[metrics]\nallowed_networks = []\n"));
    let d = site.start();
    let to = d.addr();
    assert_eq!(request_from("127.0.0.1", &to, "GET", "/metrics", &[], "").status, 403);
    assert_eq!(request_from("127.0.0.1", &to, "GET", "/metrics", &[("Authorization", &bearer)], "").status, 200);
    assert!(d.log().contains("metrics refused to 127.0.0.1"), "a refusal is logged");
}

/// Writes `text` as `site`'s config, its store where the site's is.
fn rewrite(site: &Site, text: &str) {
    let data = format!("data_dir = {:?}", site.data.display().to_string());
    std::fs::write(&site.config, replaced(text, "data_dir = \"./data\"", &data)).unwrap();
}

/// The shipped config with a token file and `extra` categories.
fn reload_config(token_file: &std::path::Path, extra: &str) -> String {
    let text =
        replaced(SHIPPED_CONFIG, "\n[server]\n", &format!("\n[ingest]\ntoken_file = {token_file:?}\n\n[server]\n"));
    format!("{text}\n{extra}")
}

fn post_with(d: &Daemon, token: &str, id: &str) -> u16 {
    let body =
        format!(r#"{{"id": "{id}", "title": "重载 {id}", "category": "湖南", "published": "2024-05-01 08:00"}}"#);
    let auth = format!("Bearer {token}");
    d.request(
        "POST",
        "/api/articles",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        Some(body.as_bytes()),
    )
    .status
}

fn hangup(d: &Daemon) {
    assert!(Command::new("kill").args(["-HUP", &d.pid().to_string()]).status().unwrap().success());
}

/// Polls `path` until it answers `status` (a reload is applied off the signal handler).
fn until_status(d: &Daemon, path: &str, status: u16) {
    let t = Instant::now();
    while d.get(path).status != status {
        assert!(t.elapsed() < Duration::from_secs(10), "{path} never answered {status}:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_reloads_categories_and_tokens_refuses_a_bad_config_and_a_poller_never_sees_an_error() {
    let site = Site::shipped();
    let tokens = site.write("tokens", &format!("{TOKEN_A}\n{TOKEN_B}\n"));
    let new_category = "[[category]]\nslug = \"reloaded\"\nname = \"重载栏目\"\nparent = \"domestic\"\n";
    rewrite(&site, &reload_config(&tokens, ""));
    let d = Arc::new(site.start());
    assert_eq!(d.get("/feeds/reloaded.rss").status, 404);
    assert_eq!(post_with(&d, TOKEN_B, "before"), 200);

    // A reader polls and a publisher writes throughout: neither may ever see an error.
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (d, stop) = (d.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                for path in ["/feeds/all.rss", "/feeds/hunan.atom", "/c/hunan", "/"] {
                    seen.push(d.get(path).status);
                }
            }
            seen
        })
    };
    let writer = {
        let (d, stop) = (d.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut statuses = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                statuses.push(post_with(&d, TOKEN_A, &format!("during-{n}")));
            }
            (n, statuses)
        })
    };

    // Add a category and revoke token B.
    std::fs::write(&tokens, format!("{TOKEN_A}\n")).unwrap();
    rewrite(&site, &reload_config(&tokens, new_category));
    hangup(&d);
    until_status(&d, "/feeds/reloaded.rss", 200);
    assert!(d.body("/feeds.opml").contains("重载栏目"), "the OPML list follows the tree");
    assert!(d.body("/").contains("重载栏目"), "the front page's tree shows it");
    assert_eq!(post_with(&d, TOKEN_B, "revoked"), 401, "a revoked token stops working");
    assert_eq!(post_with(&d, TOKEN_A, "after"), 200);

    // An invalid config changes nothing: the category stays, token A still works.
    rewrite(&site, &reload_config(&tokens, "[[category]]\nslug = \"Bad Slug\"\nname = \"x\"\n"));
    hangup(&d);
    let t = Instant::now();
    while !d.log().contains("reload refused") {
        assert!(t.elapsed() < Duration::from_secs(10), "no refusal logged:\n{}", d.log());
    }
    assert_eq!(d.get("/feeds/reloaded.rss").status, 200);
    assert_eq!(d.get("/feeds/all.rss").status, 200);
    assert_eq!(post_with(&d, TOKEN_A, "after-bad"), 200);

    // A restart-only setting is named, and the rest applies: the category goes away.
    let moved = replaced(&reload_config(&tokens, ""), "\n[server]\n", "\n[server]\nshutdown_seconds = 7\n");
    rewrite(&site, &moved);
    hangup(&d);
    until_status(&d, "/feeds/reloaded.rss", 404);
    stop.store(true, Ordering::Relaxed);
    let polled = poller.join().unwrap();
    let (writes, written) = writer.join().unwrap();
    let log = d.log();
    assert!(log.contains("[server] shutdown_seconds changed") && log.contains("needs a restart"), "{log}");
    assert!(polled.len() > 20, "the poller ran throughout ({} requests)", polled.len());
    assert!(
        polled.iter().all(|&s| s == 200),
        "a poller saw {:?}",
        polled.iter().filter(|&&s| s != 200).collect::<Vec<_>>()
    );
    assert!(written.iter().all(|&s| s == 200), "a write failed during reloads: {written:?}");
    // Every acknowledged write is there.
    let auth = format!("Bearer {TOKEN_A}");
    let listed = d.request("GET", "/api/articles?limit=1000", &[("Authorization", &auth)], None);
    assert_eq!(listed.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&listed.body).unwrap();
    let ids: Vec<&str> = v["articles"].as_array().unwrap().iter().filter_map(|a| a["id"].as_str()).collect();
    for n in 1..writes {
        assert!(ids.contains(&format!("during-{n}").as_str()), "during-{n} lost");
    }
    let metrics = d.get("/metrics").text();
    assert!(metrics.contains("sihai_reloads_total{outcome=\"applied\"} 2"), "{metrics}");
    assert!(metrics.contains("sihai_reloads_total{outcome=\"refused\"} 1"), "{metrics}");
}

#[test]
fn systemd_hears_ready_reloading_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let site = Site::shipped();
    let path = site.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let d = site.start_with_env(&[("NOTIFY_SOCKET", path.to_str().unwrap())]);
    let next = || {
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).expect("a notification within 10 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(next(), "READY=1\n");
    assert_eq!(d.get("/healthz").status, 200, "ready means serving");
    hangup(&d);
    let reloading = next();
    assert!(reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{reloading}");
    assert_eq!(next(), "READY=1\n");
    assert_eq!(d.stop(), 0);
    assert_eq!(next(), "STOPPING=1\n");
}
