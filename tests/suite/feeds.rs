//! Feeds served by the daemon: content, dates, GUIDs, stability, validity.

use super::util::*;

const SEED_TITLE: &str = "80后书记县长谈丨当好火炬手 奋进新征程 为实施“三高四新”战略贡献开福力量";

/// The issue's "done when": the sample article in hunan, domestic and all, RSS and Atom,
/// with its date, author and a GUID that survives restart and re-import, bytes identical.
#[test]
fn seed_article_reaches_its_feeds_and_stays_identical_across_restart_and_reimport() {
    let site = Site::shipped();
    let run = site.import(&[&seed_article()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("1 created"), "{}", run.stdout);

    let d = site.start();
    let mut first = Vec::new();
    let mut guid = None;
    for slug in ["hunan", "domestic", "all"] {
        let rss = d.body(&format!("/feeds/{slug}.rss"));
        let atom = d.body(&format!("/feeds/{slug}.atom"));
        parse_feed(slug, &rss);
        parse_feed(slug, &atom);
        assert_eq!(texts(&rss, "title")[1], SEED_TITLE, "{slug}");
        assert_eq!(texts(&rss, "pubDate"), vec!["Fri, 03 Sep 2021 00:00:00 +0800"], "{slug}");
        assert_eq!(texts(&rss, "creator"), vec!["谢伟峰"], "{slug}");
        assert_eq!(texts(&atom, "published"), vec!["2021-09-03T00:00:00+08:00"], "{slug}");
        assert!(texts(&atom, "name").contains(&"谢伟峰".to_string()), "{slug}");
        let g = texts(&rss, "guid");
        assert_eq!(g.len(), 1);
        assert!(g[0].starts_with("tag:sihai.example,2026:"), "{}", g[0]);
        let atom_ids = texts(&atom, "id");
        assert!(atom_ids.contains(&g[0]), "Atom entry id is the RSS guid");
        assert_eq!(*guid.get_or_insert(g[0].clone()), g[0], "same GUID in every feed");
        assert!(rss.contains("isPermaLink=\"false\""));
        first.push(rss);
        first.push(atom);
    }
    for slug in ["changsha", "world", "beijing"] {
        assert!(!d.body(&format!("/feeds/{slug}.rss")).contains(SEED_TITLE), "{slug}");
    }
    assert_eq!(d.stop(), 0);

    let again = |label: &str| {
        let d = site.start();
        let now: Vec<String> = ["hunan", "domestic", "all"]
            .iter()
            .flat_map(|s| [d.body(&format!("/feeds/{s}.rss")), d.body(&format!("/feeds/{s}.atom"))])
            .collect();
        assert!(now == first, "{label}: feed bytes changed");
        d.stop();
    };
    again("after restart");
    let run = site.import(&[&seed_article()]);
    assert!(run.stdout.contains("0 created, 0 updated, 1 unchanged"), "{}", run.stdout);
    again("after re-import");
}

#[test]
fn every_feed_of_every_category_parses_strictly_and_has_unique_guids() {
    let site = Site::shipped();
    let hostile = site.write("hostile.jsonl", HOSTILE);
    let run = site.import(&[&seed_article(), &sample_articles(), &hostile]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let d = site.start();
    for slug in &every_slug() {
        for ext in ["rss", "atom"] {
            let r = d.get(&format!("/feeds/{slug}.{ext}"));
            assert_eq!(r.status, 200);
            let want =
                if ext == "rss" { "application/rss+xml; charset=utf-8" } else { "application/atom+xml; charset=utf-8" };
            assert_eq!(r.header("content-type"), Some(want));
            let body = r.text();
            let feed = parse_feed(&format!("{slug}.{ext}"), &body);
            let mut ids: Vec<_> = feed.entries.iter().map(|e| e.id.clone()).collect();
            let n = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), n, "{slug}.{ext}: duplicate ids");
            for bad in ["<script", "onerror", "javascript:", "\u{1}", "\u{b}"] {
                assert!(!body.contains(bad), "{slug}.{ext} contains {bad:?}");
            }
        }
    }
    let all = d.body("/feeds/all.rss");
    assert_eq!(texts(&all, "item").len(), 5 + HOSTILE.lines().count(), "every article once in all");
    // The article in two categories (markets and its parent finance) is in finance once.
    assert_eq!(texts(&d.body("/feeds/finance.rss"), "guid").len(), 1);
}

/// Articles a hostile or careless CMS might send; all valid, all must come out safe.
const HOSTILE: &str = r#"{"id": "h1", "title": "控制\u0001字符\u000b与\u001f标题 <script>alert(1)</script>", "category": "tech", "published": "2024-02-29 23:59:59", "content_html": "<p>]]> CDATA 结束 ]]&gt; \u0008</p><img src=x onerror=alert(1)><a href=\"javascript:alert(1)\">x</a><iframe src=\"//evil\"></iframe>"}
{"id": "h2 / with spaces & <angle> \"quotes\" 和中文", "title": "A & B < C > D \"E\" 'F'", "category": "sports", "published": "2024-03-01T12:00:00-05:00", "summary": "]]>", "content_text": "]]>\n\n<b>not bold</b>", "tags": ["&amp;", "<tag>"], "authors": [{"name": "O'Brien & 王", "email": "ob@example.com", "uri": "https://example.com/~ob"}]}
{"id": "h3", "title": "😀 emoji 𠀀 astral \u200f RTL", "category": "culture", "published": "2023-01-01", "content_html": "<svg onload=alert(1)><math><mi>x</mi></math><style>body{}</style><form action=\"/x\"><input></form><object data=\"x\"></object><embed src=\"x\"><p style=\"color:red\">styled</p>"}
{"id": "h4", "title": "same time as h5", "category": "opinion", "published": "2023-05-05 08:00"}
{"id": "h5", "title": "same time as h4", "category": "opinion", "published": "2023-05-05 08:00", "image": "/img/a b.png"}"#;

#[test]
fn equal_times_order_by_id_and_feeds_are_newest_first() {
    let site = Site::shipped();
    let input = site.write(
        "a.jsonl",
        r#"{"id": "b", "title": "b", "category": "tech", "published": "2022-01-01"}
{"id": "a", "title": "a", "category": "tech", "published": "2022-01-01"}
{"id": "c", "title": "c", "category": "tech", "published": "2023-01-01"}"#,
    );
    assert_eq!(site.import(&[&input]).code, 0);
    let d = site.start();
    let rss = d.body("/feeds/tech.rss");
    let titles = texts(&rss, "title");
    assert_eq!(&titles[1..], ["c", "a", "b"]);
}

#[test]
fn max_items_limits_a_feed() {
    let site = Site::with_config(&replaced(
        SHIPPED_CONFIG,
        "slug = \"tech\"\nname = \"科技\"\n",
        "slug = \"tech\"\nname = \"科技\"\nmax_items = 3\n",
    ));
    let lines: Vec<String> = (0..10)
        .map(|i| {
            format!(r#"{{"id": "t{i}", "title": "t{i}", "category": "tech", "published": "2022-01-{:02}"}}"#, i + 1)
        })
        .collect();
    let input = site.write("many.jsonl", &lines.join("\n"));
    assert_eq!(site.import(&[&input]).code, 0);
    let d = site.start();
    assert_eq!(
        texts(&d.body("/feeds/tech.rss"), "guid"),
        vec!["tag:sihai.example,2026:t9", "tag:sihai.example,2026:t8", "tag:sihai.example,2026:t7"]
    );
    assert_eq!(texts(&d.body("/feeds/all.rss"), "guid").len(), 10);
}

#[test]
fn an_edit_keeps_the_guid_moves_updated_and_changes_only_the_feeds_that_show_it() {
    let site = Site::shipped();
    let v1 = site
        .write("v1.json", r#"{"id": "e1", "title": "初稿", "category": "changsha", "published": "2022-06-01 10:00"}"#);
    let other =
        site.write("o.json", r#"{"id": "o1", "title": "other", "category": "world", "published": "2022-06-01 10:00"}"#);
    assert_eq!(site.import(&[&v1, &other]).code, 0);
    let d = site.start();
    let before_hunan = d.body("/feeds/hunan.atom");
    let before_world = d.body("/feeds/world.atom");
    assert_eq!(texts(&before_hunan, "updated")[1], "2022-06-01T10:00:00+08:00", "first version: updated is published");
    d.stop();

    std::thread::sleep(std::time::Duration::from_millis(1100));
    let v2 = site
        .write("v2.json", r#"{"id": "e1", "title": "改稿", "category": "changsha", "published": "2022-06-01 10:00"}"#);
    let import_started = chrono::Utc::now().timestamp();
    let run = site.import(&[&v2]);
    let import_ended = chrono::Utc::now().timestamp();
    assert!(run.stdout.contains("1 updated"), "{}", run.stdout);
    let d = site.start();
    let after_hunan = d.body("/feeds/hunan.atom");
    assert_eq!(texts(&after_hunan, "id")[1], texts(&before_hunan, "id")[1], "same GUID");
    assert_eq!(texts(&after_hunan, "title")[1], "改稿");
    let updated = &texts(&after_hunan, "updated");
    let stored = chrono::DateTime::parse_from_rfc3339(&updated[1]).expect("RFC 3339 updated").timestamp();
    assert!(
        (import_started..=import_ended).contains(&stored),
        "a changed version's updated is when it was stored, during the import: {}",
        updated[1]
    );
    assert!(updated[1].ends_with("+08:00"), "in the site's time zone: {}", updated[1]);
    assert!(updated[0] > texts(&before_hunan, "updated")[0], "feed change time moved");
    assert_eq!(d.body("/feeds/world.atom"), before_world, "an unrelated feed is byte-identical");
}

#[test]
fn articles_without_url_have_a_page_and_link_to_it() {
    let site = Site::shipped();
    assert_eq!(site.import(&[&seed_article()]).code, 0);
    let d = site.start();
    let rss = d.body("/feeds/hunan.rss");
    let link = texts(&rss, "link").into_iter().find(|l| l.contains("/articles/")).expect("item link");
    assert!(link.starts_with("http://127.0.0.1:8080/articles/auto-"), "{link}");
    let path = link.trim_start_matches("http://127.0.0.1:8080");
    let page = d.get(path);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    let html = page.text();
    assert!(html.contains("<h1>80后书记县长谈丨当好火炬手") && html.contains("谢伟峰") && html.contains("编者按"));
    assert!(html.contains("href=\"http://127.0.0.1:8080/c/hunan\""));
    assert_eq!(d.get("/articles/no-such-id").status, 404);
    let cat = d.body("/c/hunan");
    assert!(cat.contains("rel=\"alternate\" type=\"application/rss+xml\"") && cat.contains("80后书记县长谈"));
    assert!(d.body("/").contains("/feeds/all.atom"));
}

#[test]
fn unknown_routes_and_methods_are_refused_plainly() {
    let site = Site::shipped();
    let d = site.start();
    for path in ["/feeds/nope.rss", "/feeds/hunan.xml", "/feeds/hunan", "/nothing", "/c/nope", "/c/all"] {
        let r = d.get(path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    }
    let r = d.post("/feeds/hunan.rss", "x");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let head = d.head("/feeds/hunan.rss");
    let get = d.get("/feeds/hunan.rss");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), get.header("etag"));
    assert_eq!(head.header("content-length").map(str::to_string), Some(get.body.len().to_string()));
}

#[test]
fn an_empty_category_has_a_valid_feed_dated_when_first_seen() {
    let site = Site::shipped();
    let d = site.start();
    let rss = d.body("/feeds/europe.rss");
    parse_feed("europe.rss", &rss);
    let built = texts(&rss, "lastBuildDate")[0].clone();
    let atom = d.body("/feeds/europe.atom");
    parse_feed("europe.atom", &atom);
    assert!(texts(&rss, "item").is_empty());
    d.stop();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let d = site.start();
    assert_eq!(
        texts(&d.body("/feeds/europe.rss"), "lastBuildDate")[0],
        built,
        "first-seen time is stored, not the request time"
    );
    let r = d.get("/feeds/europe.rss");
    assert!(r.header("last-modified").is_some() && r.header("etag").is_some());
    assert_eq!(r.header("cache-control"), Some("max-age=1800, stale-while-revalidate=1800, stale-if-error=18000"));
}
