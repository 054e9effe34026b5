//! Traditional Chinese editions (`/zh-hant/...`) and filtered feeds (`?filter=...`) on the
//! real daemon: converted text, the same GUIDs, their own self links, strict validity,
//! conditional GET, rendered once per change (issue 15).

use scraper::{Html, Selector};

use super::util::*;

/// The shipped config's `base_url`: self links are built from it, not from the request.
const BASE: &str = "http://127.0.0.1:8080/";

/// The daemon's renders since start (`GET /api/stats`).
fn renders(d: &Daemon) -> u64 {
    let (status, stats) = d.api("GET", "/api/stats", None);
    assert_eq!(status, 200);
    stats["renders"].as_u64().expect("renders counter")
}

/// The `href` of the `atom:link rel="self"` (RSS) or `link rel="self"` (Atom) of a feed.
fn self_link(body: &str) -> String {
    let doc = roxmltree::Document::parse(body).expect("well-formed");
    let link = doc.descendants().find(|n| n.tag_name().name() == "link" && n.attribute("rel") == Some("self"));
    link.and_then(|n| n.attribute("href")).expect("a self link").to_string()
}

/// The GUIDs of an RSS document, in order.
fn guids(rss: &str) -> Vec<String> {
    texts(rss, "guid")
}

/// A site on the shipped config with the seed and sample articles.
fn site_with_articles(config: &str) -> Site {
    let site = Site::with_config(config);
    let run = site.import(&[&seed_article(), &sample_articles()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    site
}

/// The `href`s of a page's `<link rel="alternate">` of this media type, with their hreflang.
fn alternates(page: &str, mime: &str) -> Vec<(String, Option<String>)> {
    let html = Html::parse_document(page);
    let sel = Selector::parse(&format!("link[rel=alternate][type=\"{mime}\"]")).unwrap();
    html.select(&sel)
        .map(|e| (e.attr("href").unwrap_or("").to_string(), e.attr("hreflang").map(str::to_string)))
        .collect()
}

#[test]
fn the_traditional_edition_converts_keeps_guids_and_links_to_itself() {
    let site = site_with_articles(SHIPPED_CONFIG);
    let d = site.start();
    for (slug, name) in [("hunan", "湖南新聞"), ("domestic", "國內資訊"), ("all", "四海資訊")] {
        let simplified = d.body(&format!("/feeds/{slug}.rss"));
        let rss = d.body(&format!("/zh-hant/feeds/{slug}.rss"));
        parse_feed(&format!("zh-hant {slug}.rss"), &rss);
        assert!(texts(&rss, "title")[0].contains(name), "{slug}: {:?}", texts(&rss, "title"));
        assert_eq!(texts(&rss, "language"), ["zh-TW"], "{slug}");
        assert_eq!(guids(&rss), guids(&simplified), "{slug}: the same items");
        assert!(!guids(&rss).is_empty());
        assert_eq!(self_link(&rss), format!("{BASE}zh-hant/feeds/{slug}.rss"));
        let link = &texts(&rss, "link")[0];
        assert!(link.starts_with(&format!("{BASE}zh-hant/")), "{slug}: channel link {link}");
        assert!(!simplified.contains("zh-hant"), "{slug}: the Simplified feed names no edition");
        assert_eq!(texts(&simplified, "language"), ["zh-CN"]);

        let atom = d.body(&format!("/zh-hant/feeds/{slug}.atom"));
        let feed = parse_feed(&format!("zh-hant {slug}.atom"), &atom);
        assert_eq!(self_link(&atom), format!("{BASE}zh-hant/feeds/{slug}.atom"));
        assert!(atom.contains("xml:lang=\"zh-TW\""), "{slug}");
        let ids: Vec<String> = feed.entries.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids, guids(&simplified), "{slug}: Atom ids are the Simplified GUIDs");

        let json: serde_json::Value = serde_json::from_str(&d.body(&format!("/zh-hant/feeds/{slug}.json"))).unwrap();
        assert_eq!(json["feed_url"], format!("{BASE}zh-hant/feeds/{slug}.json"));
        assert_eq!(json["language"], "zh-TW");
        let ids: Vec<&str> = json["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, guids(&simplified));
    }
    // The seed article's author and categories in Traditional script; a known phrase.
    let rss = d.body("/zh-hant/feeds/hunan.rss");
    assert!(texts(&rss, "creator").contains(&"謝偉峰".to_string()), "{:?}", texts(&rss, "creator"));
    assert!(texts(&rss, "category").contains(&"湖南新聞".to_string()), "{:?}", texts(&rss, "category"));
    assert!(!rss.contains("湖南新闻"), "nothing left in Simplified");
    // The seed article has no url of its own: the edition links its own article page.
    let link = texts(&rss, "link").into_iter().find(|l| l.contains("/articles/")).expect("an article page link");
    let path = link.strip_prefix(BASE).expect("below base_url");
    assert!(path.starts_with("zh-hant/articles/"), "{link}");
    let page = d.body(&format!("/{path}"));
    assert!(page.contains("<html lang=\"zh-TW\">") && page.contains("謝偉峰"), "{page}");
    assert_eq!(d.get(&format!("/{}", path.strip_prefix("zh-hant/").unwrap())).status, 200, "and the Simplified one");

    // ?limit and archives have editions, with their own self links.
    let limited = d.body("/zh-hant/feeds/all.rss?limit=2");
    parse_feed("zh-hant all.rss?limit=2", &limited);
    assert_eq!(guids(&limited).len(), 2);
    assert_eq!(self_link(&limited), format!("{BASE}zh-hant/feeds/all.rss?limit=2"));
    let archive = d.body("/zh-hant/feeds/hunan/archive/2021-09-03.atom");
    parse_feed("zh-hant archive", &archive);
    assert_eq!(self_link(&archive), format!("{BASE}zh-hant/feeds/hunan/archive/2021-09-03.atom"));
    assert!(archive.contains(&format!("href=\"{BASE}zh-hant/feeds/hunan.atom\" rel=\"current\"")), "{archive}");

    // Pages: converted, lang zh-TW, autodiscovery of both editions (from either).
    for (path, own, own_lang, other, other_lang) in [
        ("/c/hunan", "feeds/hunan.rss", "zh-CN", "zh-hant/feeds/hunan.rss", "zh-TW"),
        ("/zh-hant/c/hunan", "zh-hant/feeds/hunan.rss", "zh-TW", "feeds/hunan.rss", "zh-CN"),
    ] {
        let page = d.body(path);
        assert!(page.contains(&format!("<html lang=\"{own_lang}\">")), "{path}");
        let rss = alternates(&page, "application/rss+xml");
        assert!(rss.contains(&(format!("{BASE}{own}"), None)), "{path}: {rss:?}");
        assert!(rss.contains(&(format!("{BASE}{other}"), Some(other_lang.to_string()))), "{path}: {rss:?}");
        assert_eq!(alternates(&page, "application/atom+xml").len(), 2, "{path}");
    }
    assert!(d.body("/zh-hant/c/hunan").contains("湖南新聞"));
    let home = d.body("/zh-hant/");
    assert!(home.contains("國內資訊") && home.contains("欄目"), "the front page's tree converts");
    assert!(home.contains(&format!("{BASE}zh-hant/feeds/hunan.rss")), "and links the edition's feeds");

    // OPML of the edition: its feeds, converted names, zh-TW.
    let opml = d.body("/zh-hant/feeds.opml");
    let doc = roxmltree::Document::parse(&opml).expect("well-formed OPML");
    let hunan = doc.descendants().find(|n| n.attribute("text") == Some("湖南新聞")).expect("湖南新聞 outline");
    assert_eq!(hunan.attribute("xmlUrl"), Some(format!("{BASE}zh-hant/feeds/hunan.rss").as_str()));
    assert_eq!(hunan.attribute("language"), Some("zh-TW"));
    assert!(d.body("/zh-hant/feeds.opml?format=atom").contains("zh-hant/feeds/hunan.atom"));

    // Only what the publisher keeps ready has an edition.
    for path in ["/zh-hant/zh-hant/feeds/all.rss", "/zh-hant/api/stats", "/zh-hant/healthz", "/zh-hant/feeds/nope.rss"]
    {
        assert_eq!(d.get(path).status, 404, "{path}");
    }
}

#[test]
fn an_edition_revalidates_and_is_rendered_once_per_change() {
    let site = site_with_articles(SHIPPED_CONFIG);
    let d = site.start();
    let before = renders(&d);
    let first = d.get("/zh-hant/feeds/hunan.atom");
    assert_eq!(first.status, 200);
    assert_eq!(renders(&d), before + 1, "the first request renders");
    let again = d.get("/zh-hant/feeds/hunan.atom");
    assert_eq!(again.body, first.body);
    assert_eq!(renders(&d), before + 1, "the second is served ready: no render, no conversion");
    let etag = first.header("etag").expect("ETag").to_string();
    assert!(first.header("last-modified").is_some());
    let simplified = d.get("/feeds/hunan.atom");
    assert_ne!(simplified.header("etag"), Some(etag.as_str()), "each edition has its own validators");
    let r = d.request("GET", "/zh-hant/feeds/hunan.atom", &[("If-None-Match", &etag)], None);
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let gz = d.request("GET", "/zh-hant/feeds/hunan.atom", &[("Accept-Encoding", "gzip")], None);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(d.head("/zh-hant/c/hunan").status, 200);

    // A write to hunan changes its edition too.
    let article = r#"{"id":"ed-1","title":"湖南软件产业新闻","category":"hunan","published":"2021-09-04T10:00:00+08:00","content_text":"网络与软件"}"#;
    let (status, body) = d.api("POST", "/api/articles", Some(article));
    assert!(status == 200 || status == 201, "{status} {body}");
    let after = d.body("/zh-hant/feeds/hunan.atom");
    assert!(after.contains("湖南軟體產業新聞"), "s2twp phrases: 软件 -> 軟體");
    // Every format (they share one conversion per change) and a filter of it see the write.
    for path in ["/zh-hant/feeds/hunan.rss", "/zh-hant/feeds/hunan.json", "/zh-hant/c/hunan"] {
        assert!(d.body(path).contains("湖南軟體產業新聞"), "{path}");
    }
    let filtered = d.body("/zh-hant/feeds/hunan.rss?filter=%E8%BB%9F%E9%AB%94"); // 軟體
    assert_eq!(texts(&filtered, "title")[1..], ["湖南軟體產業新聞"]);
    let r = d.request("GET", "/zh-hant/feeds/hunan.atom", &[("If-None-Match", &etag)], None);
    assert_eq!(r.status, 200, "the old ETag no longer matches");
}

#[test]
fn editions_follow_the_config_and_can_be_turned_off() {
    let off = replaced(SHIPPED_CONFIG, "language = \"zh-CN\"\n", "language = \"zh-CN\"\ntraditional = \"off\"\n");
    let site = site_with_articles(&off);
    let d = site.start();
    assert_eq!(d.get("/zh-hant/feeds/all.rss").status, 404);
    assert_eq!(d.get("/zh-hant/").status, 404);
    assert!(!d.body("/c/hunan").contains("zh-hant"), "no edition offered");
    d.stop();

    let hk = replaced(SHIPPED_CONFIG, "language = \"zh-CN\"\n", "language = \"zh-CN\"\ntraditional = \"s2hk\"\n");
    let d = Site::with_config(&hk).start();
    assert_eq!(texts(&d.body("/zh-hant/feeds/hunan.rss"), "language"), ["zh-HK"]);
    d.stop();

    let run = Site::with_config(&hk).sihai(&["check-config"]);
    assert!(
        run.stdout.contains("  Traditional Chinese edition: http://127.0.0.1:8080/zh-hant/ (s2hk, zh-HK)"),
        "{}",
        run.stdout
    );
    assert!(!Site::with_config(&off).sihai(&["check-config"]).stdout.contains("zh-hant"));

    let bad = replaced(SHIPPED_CONFIG, "language = \"zh-CN\"\n", "language = \"zh-CN\"\ntraditional = \"s2x\"\n");
    let run = Site::with_config(&bad).sihai(&["check-config"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("[site] traditional \"s2x\" is not a converter"), "{}", run.stderr);
}

#[test]
fn filtered_feeds_keep_matching_items_with_their_guids_and_own_self_link() {
    let site = site_with_articles(SHIPPED_CONFIG);
    let d = site.start();
    let all = d.body("/feeds/all.rss");
    let titles = texts(&all, "title");
    let guid_of = |title: &str| {
        let i = titles.iter().position(|t| t == title).expect("title") - 1; // the channel's title first
        guids(&all)[i].clone()
    };
    let cases: &[(&str, &[&str])] = &[
        ("filter=%E5%9C%B0%E9%93%81", &["长沙地铁6号线东段开通试运营"]), // 地铁: a tag
        ("filter_author=%E7%8E%8B%E8%8A%B3", &["衡阳市加大物业服务收费信息公开力度"]), // 王芳
        (
            "filter_title=%E6%8C%87%E6%95%B0%7C%E9%83%A8%E9%95%BF",
            &["亚太经合组织贸易部长会议举行", "A股三大指数集体收涨"],
        ),
        ("filter_category=markets", &["A股三大指数集体收涨"]),
        ("filter=a%E8%82%A1&filter_case_sensitive=false", &["A股三大指数集体收涨"]),
        ("filter=a%E8%82%A1", &[]),
    ];
    for (query, want) in cases {
        let body = d.body(&format!("/feeds/all.rss?{query}"));
        parse_feed(query, &body);
        let got = &texts(&body, "title")[1..];
        let mut want_sorted: Vec<&str> = want.to_vec();
        let mut got_sorted: Vec<&str> = got.iter().map(String::as_str).collect();
        want_sorted.sort();
        got_sorted.sort();
        assert_eq!(got_sorted, want_sorted, "{query}");
        let want_guids: Vec<String> = got.iter().map(|t| guid_of(t)).collect();
        assert_eq!(guids(&body), want_guids, "{query}: the same GUIDs");
    }
    // filterout keeps the complement; with limit, the newest of the kept.
    let out = d.body("/feeds/all.rss?filterout=%E5%9C%B0%E9%93%81");
    assert_eq!(guids(&out).len(), guids(&all).len() - 1);
    let limited = d.body("/feeds/all.rss?limit=1&filterout=%E5%9C%B0%E9%93%81");
    assert_eq!(guids(&limited), guids(&out)[..1]);
    // The self link is the canonical URL with its query, escaped in the XML.
    assert_eq!(self_link(&limited), format!("{BASE}feeds/all.rss?limit=1&filterout=%E5%9C%B0%E9%93%81"));
    assert!(limited.contains("all.rss?limit=1&amp;filterout="), "escaped in the attribute");
    let atom = d.body("/feeds/all.atom?filter=%E5%9C%B0%E9%93%81&filter_case_sensitive=false");
    parse_feed("filtered atom", &atom);
    assert_eq!(self_link(&atom), format!("{BASE}feeds/all.atom?filter=%E5%9C%B0%E9%93%81&filter_case_sensitive=false"));
    let json: serde_json::Value = serde_json::from_str(&d.body("/feeds/all.json?filter=%E5%9C%B0%E9%93%81")).unwrap();
    assert_eq!(json["feed_url"], format!("{BASE}feeds/all.json?filter=%E5%9C%B0%E9%93%81"));
    // The Traditional edition filters its own text.
    let hant = d.body("/zh-hant/feeds/all.rss?filter=%E5%9C%B0%E9%90%B5"); // 地鐵
    assert_eq!(guids(&hant), [guid_of("长沙地铁6号线东段开通试运营")]);
    assert_eq!(self_link(&hant), format!("{BASE}zh-hant/feeds/all.rss?filter=%E5%9C%B0%E9%90%B5"));
    // A filtered archive.
    let archive = d.body("/feeds/all/archive/2021-09-03.atom?filter_author=%E6%9D%8E%E6%98%8E");
    parse_feed("filtered archive", &archive);
    assert_eq!(
        self_link(&archive),
        format!("{BASE}feeds/all/archive/2021-09-03.atom?filter_author=%E6%9D%8E%E6%98%8E")
    );
}

#[test]
fn bad_filters_are_400_with_the_reason() {
    let d = Site::shipped().start();
    let long = format!("filter={}", "a".repeat(300));
    let cases = [
        ("filter=(", "not a valid pattern"),
        ("filter_title=%5B", "not a valid pattern"),
        ("filterout=a%7B1000%7D%7B1000%7D", "compiles to more than"),
        (long.as_str(), "longer than 256 characters"),
        ("filter_titel=x", "unknown filter parameter"),
        ("filter=a&filter=b", "more than once"),
        ("filter=a&filter_case_sensitive=maybe", "neither true nor false"),
    ];
    for (query, want) in cases {
        let r = d.get(&format!("/feeds/all.rss?{query}"));
        assert_eq!(r.status, 400, "{query}");
        assert!(r.text().contains(want), "{query}: {}", r.text());
        // Twice: a bad pattern is never cached, and always refused.
        assert_eq!(d.get(&format!("/feeds/all.rss?{query}")).status, 400, "{query}");
    }
    assert_eq!(d.get("/feeds/all.rss?filter=").status, 200, "an empty pattern is no filter");
    assert_eq!(d.get("/feeds/all.rss?utm_source=x").status, 200, "other parameters are not ours");
}

#[test]
fn a_filtered_feed_revalidates_is_rendered_once_and_again_after_a_change() {
    let site = site_with_articles(SHIPPED_CONFIG);
    let d = site.start();
    let path = "/feeds/hunan.rss?filter=%E6%B9%96%E5%8D%97"; // 湖南
    let before = renders(&d);
    let first = d.get(path);
    assert_eq!(first.status, 200);
    assert_eq!(renders(&d), before + 1);
    // The same filter spelt otherwise is the same document.
    let same = d.get("/feeds/hunan.rss?filter_case_sensitive=true&filter=%E6%B9%96%E5%8D%97");
    assert_eq!(same.body, first.body);
    assert_eq!(renders(&d), before + 1, "served ready, not rendered again");
    let etag = first.header("etag").unwrap().to_string();
    let r = d.request("GET", path, &[("If-None-Match", &etag)], None);
    assert_eq!(r.status, 304);
    let head = d.head(path);
    assert_eq!((head.status, head.header("etag")), (200, Some(etag.as_str())), "HEAD");
    let gz = d.request("GET", path, &[("Accept-Encoding", "gzip")], None);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(renders(&d), before + 1, "HEAD and a coding render nothing more");
    let lm = first.header("last-modified").unwrap().to_string();
    assert_eq!(d.request("GET", path, &[("If-Modified-Since", &lm)], None).status, 304);

    let article = r#"{"id":"f-1","title":"湖南新增一条高铁","category":"hunan","published":"2021-09-05T10:00:00+08:00","content_text":"高铁"}"#;
    let (status, body) = d.api("POST", "/api/articles", Some(article));
    assert!(status == 200 || status == 201, "{status} {body}");
    let after = d.get(path);
    assert_eq!(after.status, 200);
    assert!(after.text().contains("湖南新增一条高铁"), "the filtered feed of a changed feed is rendered again");
    assert_ne!(after.header("etag"), Some(etag.as_str()));
    assert_eq!(d.request("GET", path, &[("If-None-Match", &etag)], None).status, 200);
}

/// Content whose markup holds Chinese (attributes, URLs) and the characters XML minds.
const TRICKY: &str = r#"{"id": "t1", "title": "软件 & <网络> \"引号\" ]]>", "category": "tech", "published": "2024-02-29 23:59:59", "tags": ["软件", "A&B"], "content_html": "<p title=\"软件 > 硬件\">软件 ]]&gt; 网络</p><a href=\"https://example.com/软件?a=1&amp;b=网络\">软件</a><img alt=\"网络\" src=\"https://example.com/图.png\">"}"#;

#[test]
fn every_edition_feed_of_every_category_parses_strictly_with_the_simplified_ids_and_dates() {
    let site = Site::shipped();
    let tricky = site.write("tricky.jsonl", TRICKY);
    assert_eq!(site.import(&[&seed_article(), &sample_articles(), &tricky]).code, 0);
    let d = site.start();
    for slug in &every_slug() {
        for ext in ["rss", "atom", "json"] {
            let simplified = d.body(&format!("/feeds/{slug}.{ext}"));
            let r = d.get(&format!("/zh-hant/feeds/{slug}.{ext}"));
            assert_eq!(r.status, 200, "{slug}.{ext}");
            let want = d.get(&format!("/feeds/{slug}.{ext}"));
            assert_eq!(r.header("content-type"), want.header("content-type"));
            let body = r.text();
            let (ours, theirs) = if ext == "json" {
                let read = |b: &str| -> Vec<(String, String)> {
                    let v: serde_json::Value = serde_json::from_str(b).expect("JSON");
                    v["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| (i["id"].as_str().unwrap().into(), i["date_published"].as_str().unwrap().into()))
                        .collect()
                };
                (read(&body), read(&simplified))
            } else {
                let read = |b: &str, label: &str| -> Vec<(String, String)> {
                    let f = parse_feed(label, b);
                    f.entries.iter().map(|e| (e.id.clone(), format!("{:?}", e.published))).collect()
                };
                (read(&body, &format!("zh-hant {slug}.{ext}")), read(&simplified, &format!("{slug}.{ext}")))
            };
            assert_eq!(ours, theirs, "{slug}.{ext}: the same items, ids and dates");
        }
    }
    let tech = d.body("/zh-hant/feeds/tech.rss");
    assert!(tech.contains("軟體 &amp; &lt;網路&gt;"), "the title converts and stays escaped");
    assert!(tech.contains("https://example.com/软件?a=1&amp;b=网络"), "URLs are not converted");
    assert!(tech.contains("title=\"软件 &gt; 硬件\"") || tech.contains("title=\"软件 > 硬件\""), "attributes neither");
}
