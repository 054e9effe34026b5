//! Readership (issue 16): real aggregator User-Agents and direct readers from several
//! loopback addresses poll the feeds over "days" (the daemon's day set by
//! `SIHAI_STATS_DAY` between starts); the JSON, the page, the metrics and `sihai stats`
//! agree; the counts survive a clean restart and a SIGKILL (minus the flush interval);
//! the stats need a token unless public.

use std::time::Duration;

use serde_json::Value;

use super::util::{replaced, request_from, Daemon, Site, SHIPPED_CONFIG};

const FEEDLY: &str = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; {n} subscribers; )";
const INOREADER: &str = "Mozilla/5.0 (compatible; inoreader.com; {n} subscribers)";
const NEWSBLUR: &str =
    "NewsBlur Feed Fetcher - {n} subscribers - https://www.newsblur.com/site/6021/sihai (Mozilla/5.0 Safari)";

fn ua(pattern: &str, n: u32) -> String {
    pattern.replace("{n}", &n.to_string())
}

/// A GET of `path` from `from` with a User-Agent.
fn poll(d: &Daemon, from: &str, path: &str, user_agent: &str) {
    let a = request_from(from, &d.addr(), "GET", path, &[("User-Agent", user_agent)], "");
    assert_eq!(a.status, 200, "{path} from {from}: {}", a.head);
}

fn start_on(site: &Site, day: &str) -> Daemon {
    site.start_with_env(&[("SIHAI_STATS_DAY", day)])
}

fn stats_json(d: &Daemon) -> Value {
    let (status, v) = d.api("GET", "/api/stats/feeds?days=10", None);
    assert_eq!(status, 200, "{v}");
    v
}

fn hunan(v: &Value) -> Value {
    v["feeds"].as_array().unwrap().iter().find(|f| f["summary"]["feed"] == "hunan").expect("hunan row")["summary"]
        .clone()
}

#[test]
fn readership_over_days_restarts_and_a_kill_agrees_in_json_page_metrics_and_cli() {
    let text = replaced(SHIPPED_CONFIG, "\n[server]\n", "\n[stats]\nflush_seconds = 1\n\n[server]\n");
    let site = Site::with_config(&text);

    // Day 1: Feedly 40 + Inoreader 5 + five direct readers (127.0.0.2 .. .6), twice each.
    let d = start_on(&site, "2026-11-01");
    poll(&d, "127.0.0.1", "/feeds/hunan.rss", &ua(FEEDLY, 40));
    poll(&d, "127.0.0.1", "/feeds/hunan.atom", &ua(INOREADER, 5));
    for round in 0..2 {
        for i in 2..=6 {
            poll(&d, &format!("127.0.0.{i}"), "/feeds/hunan.rss", &format!("Mozilla/5.0 Reader r{round}"));
        }
    }
    assert_eq!(hunan(&stats_json(&d))["subscribers"], 45 + 10, "two UAs per address: ten clients");
    assert_eq!(d.stop(), 0, "the last counts are written at shutdown");

    // Day 8: counts change; a kill after a flush loses nothing flushed.
    let d = start_on(&site, "2026-11-08");
    poll(&d, "127.0.0.1", "/feeds/hunan.rss", &ua(FEEDLY, 52));
    poll(&d, "127.0.0.1", "/feeds/hunan.atom", &ua(INOREADER, 7));
    poll(&d, "127.0.0.1", "/feeds/hunan.json", &ua(NEWSBLUR, 11));
    for i in 2..=4 {
        poll(&d, &format!("127.0.0.{i}"), "/feeds/hunan.rss", "Mozilla/5.0 Reader");
    }
    std::thread::sleep(Duration::from_millis(2500)); // two flushes
    d.kill();
    let d = start_on(&site, "2026-11-08");
    let row = hunan(&stats_json(&d));
    assert_eq!(row["aggregator_subscribers"], 70, "{row}");
    assert_eq!(row["direct_readers"], 3, "survived the kill: {row}");
    for i in 7..=8 {
        poll(&d, &format!("127.0.0.{i}"), "/feeds/hunan.rss", "Mozilla/5.0 Reader");
    }
    let v = stats_json(&d);
    let row = hunan(&v);
    assert_eq!(row["subscribers"], 70 + 5, "{row}");
    assert_eq!(row["change_7_days"], 75 - 55, "against day 1: {row}");
    assert_eq!(row["top_aggregators"][0], serde_json::json!(["Feedly", 52]));
    assert_eq!(v["today"], "2026-11-08");
    let series = v["feeds"].as_array().unwrap().iter().find(|f| f["summary"]["feed"] == "hunan").unwrap()["series"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(series.first().unwrap()["day"], "2026-10-30");
    assert_eq!(series.iter().find(|p| p["day"] == "2026-11-01").unwrap()["subscribers"], 55);

    // The page, the metrics and the CLI say the same.
    let auth = format!("Bearer {}", d.token);
    let page = d.request("GET", "/stats", &[("Authorization", &auth)], None);
    assert_eq!(page.status, 200);
    let page = page.text();
    assert!(page.contains("湖南新闻") && page.contains("<td>75</td>") && page.contains("+20"), "{page}");
    assert_eq!(d.get("/stats").status, 401, "a token is needed by default");
    assert_eq!(d.get("/api/stats/feeds").status, 401);
    let metrics = d.get("/metrics").text();
    assert!(metrics.contains("sihai_feed_subscribers{feed=\"hunan\"} 75"), "{metrics}");
    assert!(metrics.contains("sihai_feed_aggregator_subscribers{feed=\"hunan\"} 70"), "{metrics}");
    let cli = site.sihai(&["stats", "--server", &d.base, "--days", "8"]);
    assert_eq!(cli.code, 0, "{}", cli.stderr);
    let line = cli.stdout.lines().find(|l| l.starts_with("hunan")).unwrap_or_else(|| panic!("{}", cli.stdout));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&cells[1..5], ["75", "70", "5", "+20"], "{}", cli.stdout);
    assert!(line.contains("Feedly 52"), "{line}");
}
