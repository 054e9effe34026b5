//! The ingest API and `sihai ingest`, against the real daemon.

use serde_json::{json, Value};

use super::util::*;

fn article(id: &str, title: &str, category: &str) -> Value {
    json!({"id": id, "title": title, "category": category, "published": "2024-05-01 08:00"})
}

fn statuses(v: &Value) -> Vec<String> {
    v["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap().to_string()).collect()
}

#[test]
fn post_reports_created_updated_unchanged_and_the_next_request_sees_it() {
    let site = Site::shipped();
    let d = site.start();
    let before = d.body("/feeds/hunan.rss");
    let (s, v) = d.api("POST", "/api/articles", Some(&article("p1", "第一版", "湖南").to_string()));
    assert_eq!(s, 200, "{v}");
    assert_eq!(statuses(&v), ["created"]);
    assert_eq!(v["results"][0]["guid"], "tag:sihai.example,2026:p1");
    assert_eq!(v["results"][0]["index"], 0);
    let after = d.body("/feeds/hunan.rss");
    assert_ne!(before, after);
    assert!(after.contains("第一版"), "read-your-writes");
    assert!(d.body("/feeds/domestic.atom").contains("第一版") && d.body("/feeds/all.rss").contains("第一版"));
    assert!(!d.body("/feeds/world.rss").contains("第一版"));

    let (_, v) = d.api("POST", "/api/articles", Some(&article("p1", "第一版", "湖南").to_string()));
    assert_eq!(statuses(&v), ["unchanged"]);
    assert_eq!(d.body("/feeds/hunan.rss"), after, "unchanged re-ingest leaves the bytes alone");

    let batch = json!([article("p1", "第二版", "湖南"), article("p2", "另一篇", "长沙")]);
    let (_, v) = d.api("POST", "/api/articles", Some(&batch.to_string()));
    assert_eq!(statuses(&v), ["updated", "created"]);
    assert!(d.body("/feeds/hunan.rss").contains("第二版"));

    let lines = format!("{}\n{}\n", article("p3", "三", "tech"), article("p4", "四", "tech"));
    let auth = format!("Bearer {}", d.token);
    let r = d.request(
        "POST",
        "/api/articles",
        &[("Authorization", &auth), ("Content-Type", "application/x-ndjson")],
        Some(lines.as_bytes()),
    );
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(statuses(&v), ["created", "created"]);
}

#[test]
fn one_bad_article_refuses_the_batch_with_every_problem_and_writes_nothing() {
    let site = Site::shipped();
    let d = site.start();
    let batch = json!([
        article("ok1", "好", "tech"),
        {"id": "bad1", "title": "", "category": "体操", "published": "2024-05-01"},
        {"id": "bad2", "title": "t", "category": "tech", "published": "tomorrow", "colour": "red"},
    ]);
    let (s, v) = d.api("POST", "/api/articles", Some(&batch.to_string()));
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["status"], 422);
    let problems = v["error"]["problems"].as_array().unwrap();
    let got: Vec<(u64, &str, &str)> = problems
        .iter()
        .map(|p| (p["index"].as_u64().unwrap(), p["id"].as_str().unwrap(), p["field"].as_str().unwrap()))
        .collect();
    for want in [(1, "bad1", "title"), (1, "bad1", "category"), (2, "bad2", "published"), (2, "bad2", "colour")] {
        assert!(got.contains(&want), "{want:?} not in {got:?}");
    }
    assert_eq!(d.api("GET", "/api/articles/ok1", None).0, 404, "nothing written");

    let (s, v) = d.api("POST", "/api/articles", Some("{\"id\": \"x\",\n \"title\": ,}"));
    assert_eq!(s, 400);
    assert_eq!(
        (v["error"]["problems"][0]["line"].as_u64(), v["error"]["problems"][0]["column"].as_u64()),
        (Some(2), Some(11)),
        "{v}"
    );
    let (s, v) = d.api("POST", "/api/articles", Some("[]"));
    assert_eq!(s, 422, "{v}");
}

#[test]
fn tokens_missing_wrong_revoked_and_from_the_environment() {
    let site = Site::shipped();
    let tokens = site.write("tokens", "# cms\ncms-token-0123456789abcdef\n# wire\nwire-token-0123456789abcdef\n");
    let text = replaced(
        &std::fs::read_to_string(&site.config).unwrap(),
        "\n[server]\n",
        &format!("\n[ingest]\ntoken_file = {:?}\n\n[server]\n", tokens.display().to_string()),
    );
    std::fs::write(&site.config, text).unwrap();
    let body = article("t1", "t", "tech").to_string();
    let post = |d: &Daemon, auth: Option<&str>| {
        let mut h = vec![("Content-Type", "application/json")];
        if let Some(a) = auth {
            h.push(("Authorization", a));
        }
        d.request("POST", "/api/articles", &h, Some(body.as_bytes()))
    };
    let d = site.start();
    let r = post(&d, None);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"sihai\""));
    assert_eq!(post(&d, Some("Bearer wrong-token-0123456789abcdef")).status, 401);
    assert_eq!(post(&d, Some("Basic Y21zOnRva2Vu")).status, 401);
    assert_eq!(d.request("GET", "/api/articles/t1", &[], None).status, 401, "reads need a token too");
    assert_eq!(d.request("DELETE", "/api/articles/t1", &[], None).status, 401);
    assert!(!d.body("/feeds/tech.rss").contains("<item>"), "nothing written by refused requests");
    assert_eq!(post(&d, Some("Bearer cms-token-0123456789abcdef")).status, 200);
    assert_eq!(post(&d, Some("bearer   wire-token-0123456789abcdef")).status, 200);
    d.stop();
    std::fs::write(&tokens, "# cms\ncms-token-0123456789abcdef\n").unwrap();
    let d = site.start_with_env(&[("SIHAI_TOKEN", "env-token-0123456789abcdef")]);
    assert_eq!(post(&d, Some("Bearer wire-token-0123456789abcdef")).status, 401, "revoked by editing the file");
    assert_eq!(post(&d, Some("Bearer cms-token-0123456789abcdef")).status, 200);
    assert_eq!(post(&d, Some("Bearer env-token-0123456789abcdef")).status, 200);
    assert!(!site.data.join("ingest.token").exists(), "no generated token when tokens are configured");
}

#[test]
fn a_generated_token_file_is_private() {
    let site = Site::shipped();
    let d = site.start();
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(site.data.join("ingest.token")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(d.token.len(), 64);
    assert_eq!(d.api("GET", "/api/articles", None).0, 200);
}

#[test]
fn dry_run_reports_like_a_post_and_writes_nothing() {
    let site = Site::shipped();
    let d = site.start();
    d.api("POST", "/api/articles", Some(&article("d1", "已有", "tech").to_string()));
    let before = d.body("/feeds/tech.rss");
    let batch = json!([article("d1", "已有", "tech"), article("d1", "改了", "tech"), article("d2", "新", "tech")]);
    let (s, v) = d.api("POST", "/api/articles?dry_run=1", Some(&batch.to_string()));
    assert_eq!(s, 200);
    assert_eq!(v["dry_run"], true);
    assert_eq!(statuses(&v), ["unchanged", "updated", "created"]);
    assert_eq!(v["results"][2]["guid"], "tag:sihai.example,2026:d2");
    assert_eq!(d.api("GET", "/api/articles/d2", None).0, 404);
    assert_eq!(d.body("/feeds/tech.rss"), before);
    let bad = json!([{"id": "x"}]);
    assert_eq!(d.api("POST", "/api/articles?dry_run=1", Some(&bad.to_string())).0, 422);
}

#[test]
fn get_list_with_cursors_and_delete() {
    let site = Site::shipped();
    let d = site.start();
    let batch: Vec<Value> = (1..=5)
        .map(|i| json!({"id": format!("l{i}"), "title": format!("t{i}"), "category": if i % 2 == 0 { "长沙" } else { "world" }, "published": format!("2024-01-0{i} 10:00")}))
        .collect();
    let sent_at = chrono::Utc::now().timestamp();
    assert_eq!(d.api("POST", "/api/articles", Some(&Value::from(batch).to_string())).0, 200);
    let answered_at = chrono::Utc::now().timestamp();

    let (s, v) = d.api("GET", "/api/articles/l2", None);
    assert_eq!(s, 200);
    assert_eq!(
        (v["guid"].as_str(), v["published"].as_str()),
        (Some("tag:sihai.example,2026:l2"), Some("2024-01-02T10:00:00+08:00"))
    );
    assert_eq!(v["categories"], json!(["changsha"]));
    for time in ["created", "modified"] {
        let text = v["stored"][time].as_str().unwrap_or_else(|| panic!("stored.{time}: {v}"));
        let t = chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("stored.{time} {text:?}: {e}"));
        assert!(
            (sent_at..=answered_at).contains(&t.timestamp()),
            "stored.{time} {text} is when the POST was handled ({sent_at}..={answered_at})"
        );
        assert!(text.ends_with("+08:00"), "stored.{time} in the site's time zone: {text}");
    }
    assert_eq!(d.api("GET", "/api/articles/nope", None).0, 404);

    let mut seen = Vec::new();
    let mut path = "/api/articles?limit=2".to_string();
    loop {
        let (s, v) = d.api("GET", &path, None);
        assert_eq!(s, 200, "{v}");
        seen.extend(v["articles"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()));
        match v["next"].as_str() {
            Some(c) => path = format!("/api/articles?limit=2&after={c}"),
            None => break,
        }
        assert!(seen.len() <= 6, "pagination ends");
    }
    assert_eq!(seen, ["l5", "l4", "l3", "l2", "l1"]);
    let (_, v) = d.api("GET", "/api/articles?category=hunan", None);
    let ids: Vec<&str> = v["articles"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["l4", "l2"], "a category lists its descendants");
    assert_eq!(d.api("GET", "/api/articles?category=nope", None).0, 400);
    assert_eq!(d.api("GET", "/api/articles?limit=0", None).0, 400);
    assert_eq!(d.api("GET", "/api/articles?after=zz", None).0, 400);

    let hunan_before = d.get("/feeds/hunan.rss");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (s, _) = d.api("DELETE", "/api/articles/l4", None);
    assert_eq!(s, 204);
    assert_eq!(d.api("DELETE", "/api/articles/l4", None).0, 404);
    assert_eq!(d.api("GET", "/api/articles/l4", None).0, 404);
    let hunan_after = d.get("/feeds/hunan.rss");
    for feed in ["/feeds/hunan.rss", "/feeds/changsha.atom", "/feeds/all.rss", "/feeds/domestic.atom"] {
        assert!(!d.body(feed).contains("tag:sihai.example,2026:l4"), "{feed}");
    }
    assert!(
        hunan_after.header("last-modified") != hunan_before.header("last-modified"),
        "a delete moves the change time"
    );
    let (_, v) = d.api(
        "POST",
        "/api/articles",
        Some(&json!({"id": "l4", "title": "back", "category": "tech", "published": "2024-01-04"}).to_string()),
    );
    assert_eq!(
        (v["results"][0]["status"].as_str(), v["results"][0]["guid"].as_str()),
        (Some("created"), Some("tag:sihai.example,2026:l4"))
    );
}

#[test]
fn routes_methods_sizes_and_content_types() {
    let site =
        Site::with_config(&replaced(SHIPPED_CONFIG, "\n[server]\n", "\n[ingest]\nmax_body_bytes = 2048\n\n[server]\n"));
    let d = site.start();
    let (s, v) = d.api("GET", "/api/nothing", None);
    assert_eq!((s, v["error"]["status"].as_u64()), (404, Some(404)));
    let auth = format!("Bearer {}", d.token);
    let r = d.request("PUT", "/api/articles", &[("Authorization", &auth)], Some(b"{}"));
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD, POST")));
    let r = d.request("POST", "/api/articles/x", &[("Authorization", &auth)], Some(b"{}"));
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD, DELETE")));
    let big = format!("[{}]", vec![article("b", &"长".repeat(100), "tech").to_string(); 20].join(","));
    assert!(big.len() > 2048);
    let r = d.request(
        "POST",
        "/api/articles",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        Some(big.as_bytes()),
    );
    assert_eq!(r.status, 413);
    let r = d.request(
        "POST",
        "/api/articles",
        &[("Authorization", &auth), ("Content-Type", "application/xml")],
        Some(b"<a/>"),
    );
    assert_eq!(r.status, 415);
}

#[test]
fn concurrent_posts_are_all_acknowledged_and_stored() {
    let site = Site::shipped();
    let d = site.start();
    std::thread::scope(|s| {
        for t in 0..8 {
            let d = &d;
            s.spawn(move || {
                for i in 0..25 {
                    let a = json!({"id": format!("c{t}-{i}"), "title": format!("并发 {t} {i}"), "category": "sports", "published": "2024-02-02 12:00"});
                    let (status, v) = d.api("POST", "/api/articles", Some(&a.to_string()));
                    assert_eq!(status, 200, "{v}");
                    assert_eq!(statuses(&v), ["created"]);
                }
            });
        }
    });
    let (_, v) = d.api("GET", "/api/articles?category=sports&limit=1000", None);
    assert_eq!(v["articles"].as_array().unwrap().len(), 200);
    let rss = d.body("/feeds/sports.rss");
    parse_feed("sports.rss", &rss);
    assert_eq!(texts(&rss, "guid").len(), 50, "max_items");
    d.stop();
    let d = site.start();
    let (_, v) = d.api("GET", "/api/articles?category=sports&limit=1000", None);
    assert_eq!(v["articles"].as_array().unwrap().len(), 200, "durable across a restart");
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The "done when": the sample page through `sihai ingest`, both encodings.
#[test]
fn seed_page_ingests_from_gb18030_and_utf8_alike_and_survives_restart() {
    let site = Site::shipped();
    let d = site.start();
    let run = site.ingest(&d, &[&fixture("seed-page.gb18030.txt")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("seed-page.gb18030.txt: 1 created, 0 updated, 0 unchanged"), "{}", run.stdout);
    let mut first = Vec::new();
    for slug in ["hunan", "domestic", "all"] {
        let rss = d.body(&format!("/feeds/{slug}.rss"));
        parse_feed(slug, &rss);
        assert_eq!(texts(&rss, "pubDate"), ["Fri, 03 Sep 2021 00:00:00 +0800"]);
        assert_eq!(texts(&rss, "creator"), ["谢伟峰"]);
        assert!(rss.contains("编者按"));
        assert!(!rss.contains("上一篇") && !rss.contains("微信图片"));
        first.push(rss);
    }
    let guid = texts(&first[0], "guid")[0].clone();
    let run = site.ingest(&d, &[&fixture("seed-page.txt")]);
    assert!(run.stdout.contains("seed-page.txt: 0 created, 0 updated, 1 unchanged"), "{}", run.stdout);
    let run = site.ingest(&d, &[seed_article().to_str().unwrap()]);
    assert!(
        run.stdout.contains("0 created, 0 updated, 1 unchanged"),
        "the JSON sample is the same article: {}",
        run.stdout
    );
    d.stop();
    let d = site.start();
    let again: Vec<String> = ["hunan", "domestic", "all"].iter().map(|s| d.body(&format!("/feeds/{s}.rss"))).collect();
    assert_eq!(again, first, "bytes identical after restart");
    assert_eq!(texts(&again[0], "guid")[0], guid);
}

#[test]
fn ingest_prints_problems_with_file_and_line_and_exits_non_zero() {
    let site = Site::shipped();
    let d = site.start();
    let good = site.write("good.jsonl", &format!("{}\n{}\n", article("g1", "一", "tech"), article("g2", "二", "tech")));
    let bad = site.write(
        "bad.jsonl",
        &format!(
            "{}\n\n{}\n",
            article("b1", "一", "tech"),
            json!({"id": "b2", "title": "t", "category": "火星", "published": "2024-01-01"})
        ),
    );
    let page = site.write("nodate.txt", "四海资讯\n首页 > 国内资讯 > 湖南新闻\n\n标题\n\n正文\n");
    let run = site.ingest(&d, &[good.to_str().unwrap(), bad.to_str().unwrap(), page.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("good.jsonl: 2 created, 0 updated, 0 unchanged"), "{}", run.stdout);
    assert!(run.stdout.contains("bad.jsonl: refused (1 problem(s)); nothing written"), "{}", run.stdout);
    assert!(run.stderr.contains("bad.jsonl:3: id \"b2\": category: unknown category: \"火星\""), "{}", run.stderr);
    assert!(run.stderr.contains("nodate.txt: published: no date line"), "{}", run.stderr);
    assert_eq!(d.api("GET", "/api/articles/b1", None).0, 404, "nothing of the refused file written");

    let run = site.ingest(&d, &["--dry-run", good.to_str().unwrap()]);
    assert!(run.code == 0 && run.stdout.contains("0 created, 0 updated, 2 unchanged"), "{}", run.stdout);

    let run = site.sihai(&["ingest", "--server", "http://127.0.0.1:9", good.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_sihai"))
        .args(["--config", site.config.to_str().unwrap(), "ingest", "--server", &d.base, good.to_str().unwrap()])
        .env("SIHAI_TOKEN", "wrong-token-0123456789abcdef")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&run.stderr).contains("refused the token"));
}

#[test]
fn large_files_go_in_batches_and_are_validated_whole_first() {
    let site = Site::shipped();
    let d = site.start();
    let mut lines: Vec<String> =
        (0..2500).map(|i| article(&format!("n{i}"), &format!("批量 {i}"), "finance").to_string()).collect();
    let ok = site.write("many.jsonl", &lines.join("\n"));
    let run = site.ingest(&d, &[ok.to_str().unwrap()]);
    assert!(run.code == 0 && run.stdout.contains("2500 created"), "{}{}", run.stdout, run.stderr);
    lines[2400] = json!({"id": "late-bad", "title": "t", "category": "tech"}).to_string();
    lines[0] = article("n0", "改", "finance").to_string();
    let bad = site.write("late-bad.jsonl", &lines.join("\n"));
    let run = site.ingest(&d, &[bad.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("late-bad.jsonl:2401: id \"late-bad\": published: is required"), "{}", run.stderr);
    let (_, v) = d.api("GET", "/api/articles/n0", None);
    assert_eq!(v["title"], "批量 0", "the first batch was not written");
}

#[test]
fn healthz_answers_without_a_token_and_readyz_says_when_writes_would_be_refused() {
    let d = Site::shipped().start();
    let h = d.get("/healthz");
    assert_eq!((h.status, h.text().trim()), (200, "ok"));
    assert_eq!(h.header("cache-control"), Some("no-store"));
    let r = d.get("/readyz");
    assert_eq!((r.status, r.text().trim()), (200, "ready"));
    assert_eq!(d.request("POST", "/healthz", &[], Some(b"x")).status, 405);
    // A disk below [server] min_free_bytes: not ready (writes would answer 507).
    let full = Site::with_config(&replaced(
        SHIPPED_CONFIG,
        "\n[server]\n",
        "\n[server]\nmin_free_bytes = 9000000000000000000\n",
    ));
    let d = full.start();
    let r = d.get("/readyz");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("not ready") && r.text().contains("full"), "{}", r.text());
    assert_eq!(d.get("/healthz").status, 200, "the process still answers");
}
