//! Polling like an aggregator: validators, 304s, codings, formats, scheduled articles,
//! and how often feeds are rendered.

use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::util::*;

fn get_with(d: &Daemon, path: &str, headers: &[(&str, &str)]) -> Resp {
    d.request("GET", path, headers, None)
}

fn post(d: &Daemon, body: Value) {
    let (s, v) = d.api("POST", "/api/articles", Some(&body.to_string()));
    assert_eq!(s, 200, "{v}");
}

fn renders(d: &Daemon) -> u64 {
    d.api("GET", "/api/stats", None).1["renders"].as_u64().unwrap()
}

/// What an aggregator remembers of a feed.
struct Seen {
    etag: String,
    last_modified: String,
}

fn poll_all(d: &Daemon) -> Vec<(String, Seen)> {
    let mut seen = Vec::new();
    for slug in every_slug() {
        for ext in ["rss", "atom", "json"] {
            let path = format!("/feeds/{slug}.{ext}");
            let r = d.get(&path);
            assert_eq!(r.status, 200, "{path}");
            let s = Seen {
                etag: r.header("etag").unwrap().into(),
                last_modified: r.header("last-modified").unwrap().into(),
            };
            seen.push((path, s));
        }
    }
    seen
}

#[test]
fn an_aggregator_gets_304s_until_its_feed_changes() {
    let site = Site::shipped();
    assert_eq!(site.import(&[&sample_articles()]).code, 0);
    let d = site.start();
    let seen = poll_all(&d);
    for (path, s) in &seen {
        for headers in [
            vec![("If-None-Match", s.etag.as_str())],
            vec![("If-Modified-Since", s.last_modified.as_str())],
            vec![("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")],
            vec![("If-None-Match", s.etag.as_str()), ("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")],
        ] {
            let r = get_with(&d, path, &headers);
            assert_eq!(r.status, 304, "{path} {headers:?}");
            assert!(r.body.is_empty());
            assert_eq!(r.header("etag"), Some(s.etag.as_str()));
            assert_eq!(r.header("last-modified"), Some(s.last_modified.as_str()));
            assert!(r.header("cache-control").unwrap().starts_with("max-age="));
            assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        }
    }
    let (path, s) = &seen[0];
    let weak = format!("W/{}", s.etag);
    let listed = format!("\"nope\", {}", s.etag);
    for inm in [weak.as_str(), listed.as_str(), "*"] {
        assert_eq!(get_with(&d, path, &[("If-None-Match", inm)]).status, 304, "{inm}");
    }
    assert_eq!(get_with(&d, path, &[("If-None-Match", "\"other\"")]).status, 200);
    assert_eq!(get_with(&d, path, &[("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")]).status, 200);
    assert_eq!(
        get_with(&d, path, &[("If-None-Match", "\"other\""), ("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")])
            .status,
        200,
        "If-None-Match decides when both are sent"
    );
    assert_eq!(
        get_with(&d, path, &[("If-Modified-Since", "Sunday, 06-Nov-94 08:49:37 GMT")]).status,
        200,
        "RFC 850 dates parse"
    );

    // A change in 长沙新闻 changes changsha, hunan, domestic and all; nothing else.
    std::thread::sleep(Duration::from_millis(1100));
    post(&d, json!({"id": "new-cs", "title": "长沙新消息", "category": "changsha", "published": "2024-06-01 09:00"}));
    let changed = ["changsha", "hunan", "domestic", "all"];
    for (path, s) in &seen {
        let r = get_with(&d, path, &[("If-None-Match", &s.etag), ("If-Modified-Since", &s.last_modified)]);
        let slug = path.trim_start_matches("/feeds/").split('.').next().unwrap();
        if changed.contains(&slug) {
            assert_eq!(r.status, 200, "{path} shows the new article");
            assert_ne!(r.header("etag"), Some(s.etag.as_str()));
            let lm = httpdate::parse_http_date(r.header("last-modified").unwrap()).unwrap();
            assert!(lm > httpdate::parse_http_date(&s.last_modified).unwrap(), "{path}: Last-Modified moves forward");
        } else {
            assert_eq!(r.status, 304, "{path} did not change");
        }
    }
    // A delete moves Last-Modified forward too.
    let before = d.get("/feeds/hunan.rss");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(d.api("DELETE", "/api/articles/new-cs", None).0, 204);
    let after = get_with(&d, "/feeds/hunan.rss", &[("If-None-Match", before.header("etag").unwrap())]);
    assert_eq!(after.status, 200);
    let lm = |r: &Resp| httpdate::parse_http_date(r.header("last-modified").unwrap()).unwrap();
    assert!(lm(&after) > lm(&before));
}

#[test]
fn gzip_and_br_round_trip_to_the_identity_bytes_with_their_own_etags() {
    let site = Site::shipped();
    assert_eq!(site.import(&[&seed_article(), &sample_articles()]).code, 0);
    let d = site.start();
    for path in ["/feeds/all.rss", "/feeds/hunan.atom", "/feeds/all.json", "/", "/c/hunan"] {
        let plain = d.get(path);
        assert_eq!(plain.header("content-encoding"), None);
        let gz = get_with(&d, path, &[("Accept-Encoding", "gzip, deflate")]);
        assert_eq!(gz.header("content-encoding"), Some("gzip"), "{path}");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gz.body[..]).read_to_end(&mut unzipped).unwrap();
        assert_eq!(unzipped, plain.body, "{path}: gzip round trip");
        let br = get_with(&d, path, &[("Accept-Encoding", "gzip;q=0.8, br")]);
        assert_eq!(br.header("content-encoding"), Some("br"));
        let mut unbr = Vec::new();
        brotli::Decompressor::new(&br.body[..], 4096).read_to_end(&mut unbr).unwrap();
        assert_eq!(unbr, plain.body, "{path}: br round trip");
        let tags = [plain.header("etag").unwrap(), gz.header("etag").unwrap(), br.header("etag").unwrap()];
        assert!(tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2], "{tags:?}");
        assert_eq!(get_with(&d, path, &[("Accept-Encoding", "gzip"), ("If-None-Match", tags[1])]).status, 304);
        assert_eq!(
            get_with(&d, path, &[("If-None-Match", tags[1])]).status,
            200,
            "a gzip ETag does not match identity"
        );
        let head = d.request("HEAD", path, &[("Accept-Encoding", "br")], None);
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        assert_eq!(head.header("etag"), Some(tags[2]));
        assert_eq!(head.header("content-length").map(str::to_string), Some(br.body.len().to_string()));
    }
    assert_eq!(get_with(&d, "/feeds/all.rss", &[("Accept-Encoding", "identity;q=0")]).status, 406);
    assert_eq!(get_with(&d, "/feeds/all.rss", &[("Accept-Encoding", "deflate")]).header("content-encoding"), None);
}

/// JSON Feed 1.1 rules (https://jsonfeed.org/version/1.1) as `../shared/FEEDS.md` lists them.
fn check_json_feed(label: &str, body: &str, rss_guids: &[String]) {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(v["version"], "https://jsonfeed.org/version/1.1", "{label}");
    for key in ["title", "home_page_url", "feed_url", "language"] {
        assert!(v[key].is_string(), "{label}: {key}");
    }
    assert!(v.get("author").is_none(), "{label}: 1.1 uses authors");
    let items = v["items"].as_array().unwrap_or_else(|| panic!("{label}: items"));
    let ids: Vec<String> = items.iter().map(|i| i["id"].as_str().expect("string id").to_string()).collect();
    assert_eq!(ids, rss_guids, "{label}: the same ids as the RSS guids, in order");
    for it in items {
        assert!(it["content_html"].is_string() || it["content_text"].is_string(), "{label}: content");
        for date in ["date_published", "date_modified"] {
            chrono::DateTime::parse_from_rfc3339(it[date].as_str().unwrap())
                .unwrap_or_else(|e| panic!("{label} {date}: {e}"));
        }
        for a in it["authors"].as_array().into_iter().flatten() {
            assert!(a["name"].is_string(), "{label}: author name");
        }
        assert!(it.get("author").is_none());
    }
    feed_rs::parser::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{label}: feed-rs: {e}"));
}

#[test]
fn every_format_of_every_category_parses_and_agrees() {
    let site = Site::shipped();
    assert_eq!(site.import(&[&seed_article(), &sample_articles()]).code, 0);
    let d = site.start();
    for slug in every_slug() {
        let rss = d.body(&format!("/feeds/{slug}.rss"));
        let atom = d.body(&format!("/feeds/{slug}.atom"));
        let json = d.get(&format!("/feeds/{slug}.json"));
        assert_eq!(json.header("content-type"), Some("application/feed+json"));
        parse_feed(&format!("{slug}.rss"), &rss);
        parse_feed(&format!("{slug}.atom"), &atom);
        let guids = texts(&rss, "guid");
        check_json_feed(&format!("{slug}.json"), &json.text(), &guids);
        let v: Value = serde_json::from_slice(&json.body).unwrap();
        assert_eq!(v["feed_url"], format!("http://127.0.0.1:8080/feeds/{slug}.json"));
    }
    let v: Value = serde_json::from_str(&d.body("/feeds/hunan.json")).unwrap();
    let seed =
        v["items"].as_array().unwrap().iter().find(|i| i["authors"][0]["name"] == "谢伟峰").expect("seed article");
    assert_eq!(seed["date_published"], "2021-09-03T00:00:00+08:00");
}

#[test]
fn limit_works_on_every_feed_and_is_cached() {
    let site = Site::shipped();
    assert_eq!(site.import(&[&seed_article(), &sample_articles()]).code, 0);
    let d = site.start();
    for ext in ["rss", "atom", "json"] {
        let r = d.get(&format!("/feeds/all.{ext}?limit=2"));
        assert_eq!(r.status, 200);
        let body = r.text();
        let n = match ext {
            "rss" => texts(&body, "item").len(),
            "atom" => texts(&body, "entry").len(),
            _ => serde_json::from_str::<Value>(&body).unwrap()["items"].as_array().unwrap().len(),
        };
        assert_eq!(n, 2, "{ext}");
        assert!(
            body.contains(&format!("http://127.0.0.1:8080/feeds/all.{ext}?limit=2")),
            "{ext}: self link is this document"
        );
    }
    let before = renders(&d);
    let again = d.get("/feeds/all.rss?limit=2");
    assert_eq!(renders(&d), before, "a limited feed is kept ready too");
    assert_eq!(get_with(&d, "/feeds/all.rss?limit=2", &[("If-None-Match", again.header("etag").unwrap())]).status, 304);
    assert_eq!(
        d.get("/feeds/all.rss?limit=50").header("etag"),
        d.get("/feeds/all.rss").header("etag"),
        "limit=max is the feed"
    );
    for bad in ["0", "51", "-1", "x", ""] {
        assert_eq!(d.get(&format!("/feeds/all.rss?limit={bad}")).status, 400, "{bad}");
    }
}

#[test]
fn a_scheduled_article_appears_on_time_by_itself() {
    let site = Site::shipped();
    let d = site.start();
    let before = d.get("/feeds/tech.rss");
    let due = chrono::Utc::now().timestamp() + 3;
    let published = chrono::DateTime::from_timestamp(due, 0).unwrap().to_rfc3339();
    post(&d, json!({"id": "sched", "title": "定时发布", "category": "tech", "published": published}));
    let etag = before.header("etag").unwrap().to_string();
    assert_eq!(
        get_with(&d, "/feeds/tech.rss", &[("If-None-Match", &etag)]).status,
        304,
        "not visible before it is due"
    );
    assert!(!d.body("/feeds/all.atom").contains("定时发布"));
    assert_eq!(d.get("/articles/sched").status, 404);
    assert_eq!(d.api("GET", "/api/articles?category=tech", None).1["articles"], json!([]));
    assert_eq!(d.api("GET", "/api/articles/sched", None).0, 200, "stored all the same");

    // Wait past the due time without making any request, then look once.
    std::thread::sleep(Duration::from_millis(((due - chrono::Utc::now().timestamp()).max(0) as u64) * 1000 + 1500));
    let r = get_with(&d, "/feeds/tech.rss", &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("定时发布"));
    let lm = httpdate::parse_http_date(r.header("last-modified").unwrap()).unwrap();
    assert_eq!(
        lm.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64,
        due,
        "the change time is the due time"
    );
    assert!(texts(&r.text(), "lastBuildDate")[0].ends_with("+0800"));
    assert_eq!(d.get("/articles/sched").status, 200);
}

#[test]
fn a_bulk_load_renders_each_feed_a_bounded_number_of_times() {
    let site = Site::shipped();
    let d = site.start();
    poll_all(&d);
    let start = renders(&d);
    let lines: Vec<String> = (0..10_000)
        .map(|i| {
            let cat = ["changsha", "hengyang", "beijing", "europe", "markets", "tech"][i % 6];
            json!({"id": format!("bulk{i}"), "title": format!("批量 {i}"), "category": cat, "published": format!("2023-{:02}-{:02} {:02}:{:02}", i % 12 + 1, i % 28 + 1, i % 24, i % 60), "content_text": "正文"}).to_string()
        })
        .collect();
    let file = site.write("bulk.jsonl", &lines.join("\n"));
    let t = Instant::now();
    let run = site.ingest(&d, &[file.to_str().unwrap()]);
    assert!(run.code == 0 && run.stdout.contains("10000 created"), "{}{}", run.stdout, run.stderr);
    eprintln!("ingest of 10k took {:?}", t.elapsed());
    assert_eq!(renders(&d), start, "writes render nothing by themselves ({:?})", t.elapsed());
    poll_all(&d);
    // The load touched 6 categories, their 4 ancestors (hunan, domestic, world, finance)
    // and all: 11 feeds in 3 formats are rendered once each; the other 5 stay ready.
    assert_eq!(renders(&d), start + 33, "one render per changed representation after the load");
    poll_all(&d);
    assert_eq!(renders(&d), start + 33, "and none while nothing changes");
}
