//! Subscribing: pages with autodiscovery, OPML, RFC 5005 archives, WebSub, feed extras.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scraper::{Html, Selector};
use serde_json::{json, Value};

use super::util::*;

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

/// A page's own feeds (the other edition's links carry `hreflang`: `editions.rs`).
fn alternates(doc: &Html) -> Vec<(String, String)> {
    select(doc, "head link[rel=alternate]:not([hreflang])")
        .iter()
        .map(|l| (l.attr("type").unwrap().to_string(), l.attr("href").unwrap().to_string()))
        .collect()
}

/// The shipped config with a logo and icon, 国际资讯 in English and a name to escape.
fn with_extras(config: &str) -> String {
    let config = replaced(
        config,
        "max_items = 50\nttl_minutes = 15\n",
        "max_items = 50\nttl_minutes = 15\nlogo = \"https://news.sihai.example/logo.png\"\nicon = \"https://news.sihai.example/icon.png\"\n",
    );
    let config = replaced(
        &config,
        "slug = \"world\"\nname = \"国际资讯\"\n",
        "slug = \"world\"\nname = \"国际资讯\"\nlanguage = \"en\"\n",
    );
    replaced(&config, "slug = \"opinion\"\nname = \"评论\"\n", "slug = \"opinion\"\nname = \"评论 & <观点>\"\n")
}

#[test]
fn pages_offer_every_feed_by_autodiscovery_and_escape_what_they_show() {
    let site = Site::with_config(&with_extras(SHIPPED_CONFIG));
    let hostile = site.write(
        "h.json",
        r#"{"id": "x", "title": "<b>粗</b> & \"引号\" <script>alert(1)</script>", "category": "opinion", "published": "2024-01-01", "summary": "a < b & c"}"#,
    );
    assert_eq!(site.import(&[&seed_article(), &hostile]).code, 0);
    let d = site.start();
    let home = Html::parse_document(&d.body("/"));
    assert_eq!(select(&home, "html")[0].attr("lang"), Some("zh-CN"));
    let alts = alternates(&home);
    for (mime, ext) in
        [("application/rss+xml", "rss"), ("application/atom+xml", "atom"), ("application/feed+json", "json")]
    {
        assert!(alts.contains(&(mime.to_string(), format!("http://127.0.0.1:8080/feeds/all.{ext}"))), "{alts:?}");
    }
    let links: BTreeSet<String> =
        select(&home, "nav a").iter().filter_map(|a| a.attr("href").map(str::to_string)).collect();
    for slug in ["domestic", "hunan", "changsha", "world", "opinion"] {
        for ext in ["rss", "atom", "json"] {
            assert!(links.contains(&format!("http://127.0.0.1:8080/feeds/{slug}.{ext}")), "{slug}.{ext} on /");
        }
        assert!(links.contains(&format!("http://127.0.0.1:8080/c/{slug}")));
    }
    let nested = select(&home, "nav li li a");
    assert!(nested.iter().any(|a| a.text().collect::<String>() == "湖南新闻"), "the tree is nested");
    assert!(
        select(&home, "nav a").iter().any(|a| a.text().collect::<String>() == "评论 & <观点>"),
        "names escaped, not lost"
    );
    assert!(select(&home, "script").is_empty(), "no script on the page, escaped or not");
    assert_eq!(select(&home, "link[rel=icon]")[0].attr("href"), Some("https://news.sihai.example/icon.png"));

    let hunan = Html::parse_document(&d.body("/c/hunan"));
    assert_eq!(alternates(&hunan).len(), 3);
    assert!(alternates(&hunan).iter().all(|(_, href)| href.starts_with("http://127.0.0.1:8080/feeds/hunan.")));
    let article = select(&hunan, "article h2 a")[0];
    assert!(article.text().collect::<String>().starts_with("80后书记县长谈"));
    assert!(select(&hunan, "article time").len() == 1 && select(&hunan, "article p").len() >= 2, "date and summary");
    let world = Html::parse_document(&d.body("/c/world"));
    assert_eq!(select(&world, "html")[0].attr("lang"), Some("en"), "the category's language");
    assert!(texts(&d.body("/feeds/world.rss"), "language") == ["en"]);
    let opinion = d.body("/c/opinion");
    assert!(!opinion.contains("<script>") && !opinion.contains("<b>粗"), "{opinion}");
    let art = Html::parse_document(&d.body("/articles/x"));
    assert_eq!(select(&art, "h1")[0].text().collect::<String>(), "粗 & \"引号\"");
    assert!(
        select(&art, "a").iter().any(|a| a.attr("href") == Some("http://127.0.0.1:8080/c/opinion")),
        "links its category"
    );
}

#[test]
fn feeds_carry_the_logo_and_icon() {
    let site = Site::with_config(&with_extras(SHIPPED_CONFIG));
    let d = site.start();
    let rss = d.body("/feeds/hunan.rss");
    parse_feed("hunan.rss", &rss);
    let doc = roxmltree::Document::parse(&rss).unwrap();
    let channel = doc.descendants().find(|n| n.has_tag_name("channel")).unwrap();
    let image = channel.children().find(|n| n.has_tag_name("image")).expect("rss image");
    let child = |n: roxmltree::Node, name: &str| {
        n.children().find(|c| c.has_tag_name(name)).and_then(|c| c.text()).map(str::to_string)
    };
    assert_eq!(child(image, "url").as_deref(), Some("https://news.sihai.example/logo.png"));
    assert_eq!(child(image, "title"), child(channel, "title"), "image title matches the channel");
    assert_eq!(child(image, "link"), child(channel, "link"), "image link matches the channel");
    let atom = d.body("/feeds/hunan.atom");
    parse_feed("hunan.atom", &atom);
    assert_eq!(texts(&atom, "icon"), ["https://news.sihai.example/icon.png"]);
    assert_eq!(texts(&atom, "logo"), ["https://news.sihai.example/logo.png"]);
    let v: Value = serde_json::from_str(&d.body("/feeds/hunan.json")).unwrap();
    assert_eq!(
        (v["icon"].as_str(), v["favicon"].as_str()),
        (Some("https://news.sihai.example/logo.png"), Some("https://news.sihai.example/icon.png"))
    );
}

#[test]
fn opml_lists_every_feed_nested_as_the_tree() {
    let site = Site::shipped();
    let d = site.start();
    for (query, ext) in [("", "rss"), ("?format=atom", "atom"), ("?format=json", "json")] {
        let r = d.get(&format!("/feeds.opml{query}"));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/x-opml; charset=utf-8"));
        let text = r.text();
        let doc = roxmltree::Document::parse(&text).expect("OPML is well-formed XML");
        assert_eq!(doc.root_element().attribute("version"), Some("2.0"));
        let outlines: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("outline")).collect();
        let mut listed: Vec<String> = Vec::new();
        for o in &outlines {
            let xml_url = o.attribute("xmlUrl").expect("xmlUrl");
            let slug =
                xml_url.strip_prefix("http://127.0.0.1:8080/feeds/").and_then(|s| s.strip_suffix(&format!(".{ext}")));
            listed.push(slug.unwrap_or_else(|| panic!("{xml_url}: a .{ext} feed of the site")).to_string());
            assert_eq!(o.attribute("text"), o.attribute("title"));
        }
        let mut every = every_slug();
        every.sort();
        listed.sort();
        assert_eq!(listed, every, "every feed once: all and each category of the config");
        let find = |name: &str| *outlines.iter().find(|o| o.attribute("text") == Some(name)).unwrap();
        let changsha = find("长沙新闻");
        assert_eq!(changsha.parent().unwrap().attribute("text"), Some("湖南新闻"));
        assert_eq!(changsha.parent().unwrap().parent().unwrap().attribute("text"), Some("国内资讯"));
        assert_eq!(changsha.attribute("htmlUrl"), Some("http://127.0.0.1:8080/c/changsha"));
        assert_eq!(
            changsha.attribute("xmlUrl").map(str::to_string),
            Some(format!("http://127.0.0.1:8080/feeds/changsha.{ext}"))
        );
    }
    assert_eq!(d.get("/feeds.opml?format=xml").status, 400);
}

/// Follows `prev-archive` from a document, returning every document's body.
fn walk(d: &Daemon, start: &str, prev_of: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut docs = vec![d.body(start)];
    while let Some(url) = prev_of(docs.last().unwrap()) {
        let path = url.trim_start_matches("http://127.0.0.1:8080").to_string();
        let r = d.get(&path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.header("cache-control"),
            Some("max-age=86400, stale-while-revalidate=86400, stale-if-error=864000"),
            "archives are cached longer"
        );
        docs.push(r.text());
        assert!(docs.len() < 500, "the walk ends");
    }
    docs
}

fn link_rel(xml: &str, rel: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let found = doc
        .descendants()
        .find(|n| n.has_tag_name("link") && n.attribute("rel") == Some(rel))
        .and_then(|n| n.attribute("href").map(str::to_string));
    found
}

#[test]
fn prev_archive_walks_back_to_the_first_article_and_archives_stay_put() {
    let site = Site::shipped();
    // 130 articles over 26 days, 5 a day, all in 长沙新闻 (hunan's max_items is 50).
    let lines: Vec<String> = (0..130)
        .map(|i| json!({"id": format!("a{i:03}"), "title": format!("第{i}篇"), "category": "changsha", "published": format!("2023-03-{:02} {:02}:00", i / 5 + 1, 8 + i % 5)}).to_string())
        .collect();
    assert_eq!(site.import(&[&site.write("a.jsonl", &lines.join("\n"))]).code, 0);
    let d = site.start();
    let all_guids: BTreeSet<String> = (0..130).map(|i| format!("tag:sihai.example,2026:a{i:03}")).collect();

    let rss_docs = walk(&d, "/feeds/hunan.rss", |x| link_rel(x, "prev-archive"));
    let mut seen = BTreeSet::new();
    for (i, doc) in rss_docs.iter().enumerate() {
        parse_feed(&format!("rss doc {i}"), doc);
        seen.extend(texts(doc, "guid"));
        if i > 0 {
            assert!(doc.contains("<fh:archive"), "archive marked");
            assert_eq!(link_rel(doc, "current").as_deref(), Some("http://127.0.0.1:8080/feeds/hunan.rss"));
        }
    }
    assert_eq!(seen, all_guids, "RSS walk reaches every article");
    let atom_docs = walk(&d, "/feeds/hunan.atom", |x| link_rel(x, "prev-archive"));
    let atom_seen: BTreeSet<String> = atom_docs
        .iter()
        .flat_map(|x| {
            parse_feed("atom", x);
            texts(x, "id").into_iter().filter(|id| id.contains(":a"))
        })
        .collect();
    assert_eq!(atom_seen, all_guids, "Atom walk reaches every article");
    // RFC 4287's schema allows feed-level extension elements only before the entries.
    for (i, doc) in atom_docs.iter().enumerate().skip(1) {
        let marker = doc.find("<fh:archive/>").unwrap_or_else(|| panic!("atom doc {i}: archive marked"));
        assert!(
            marker < doc.find("<entry").expect("an archive has entries"),
            "atom doc {i}: fh:archive before the entries"
        );
    }
    let json_docs = walk(&d, "/feeds/hunan.json", |x| {
        serde_json::from_str::<Value>(x).unwrap()["next_url"].as_str().map(str::to_string)
    });
    let json_seen: BTreeSet<String> = json_docs
        .iter()
        .flat_map(|x| {
            serde_json::from_str::<Value>(x).unwrap()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(json_seen, all_guids);

    // Past the end, and days without articles: 404.
    assert_eq!(d.get("/feeds/hunan/archive/2023-02-28.rss").status, 404);
    assert_eq!(d.get("/feeds/hunan/archive/2023-3-1.rss").status, 404);
    assert_eq!(d.get("/feeds/world/archive/2023-03-01.atom").status, 404);
    let oldest = d.get("/feeds/hunan/archive/2023-03-01.atom");
    assert_eq!(oldest.status, 200);
    assert!(link_rel(&oldest.text(), "prev-archive").is_none(), "the first archive ends the walk");
    assert_eq!(
        link_rel(&oldest.text(), "next-archive").as_deref(),
        Some("http://127.0.0.1:8080/feeds/hunan/archive/2023-03-02.atom")
    );

    // A new article changes the current feed, not an old archive; an edit changes its own archive only.
    let march2 = d.get("/feeds/hunan/archive/2023-03-02.rss");
    let march3 = d.get("/feeds/hunan/archive/2023-03-03.rss");
    std::thread::sleep(Duration::from_millis(1100));
    let (s, _) = d.api(
        "POST",
        "/api/articles",
        Some(&json!({"id": "new", "title": "新", "category": "changsha", "published": "2024-01-01"}).to_string()),
    );
    assert_eq!(s, 200);
    assert_eq!(d.get("/feeds/hunan/archive/2023-03-02.rss").body, march2.body);
    let (s, _) = d.api(
        "POST",
        "/api/articles",
        Some(
            &json!({"id": "a005", "title": "改过的第5篇", "category": "changsha", "published": "2023-03-02 08:00"})
                .to_string(),
        ),
    );
    assert_eq!(s, 200);
    assert_ne!(d.get("/feeds/hunan/archive/2023-03-02.rss").body, march2.body);
    assert_eq!(d.get("/feeds/hunan/archive/2023-03-03.rss").body, march3.body);
}

/// A WebSub hub on loopback that refuses its first `failures` requests.
struct Hub {
    url: String,
    received: Arc<Mutex<Vec<(u16, String)>>>,
}

fn start_hub(failures: usize) -> Hub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hub", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let status = if n < failures { 500 } else { 204 };
            log.lock().unwrap().push((status, String::from_utf8_lossy(&body).into_owned()));
            let _ = write!(stream, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    Hub { url, received }
}

#[test]
fn hubs_get_one_publish_per_changed_feed_even_when_they_fail_at_first() {
    let hub = start_hub(3);
    let config =
        replaced(SHIPPED_CONFIG, "\n[server]\n", &format!("\n[websub]\nhubs = [\"{}\"]\n\n[server]\n", hub.url));
    let site = Site::with_config(&config);
    let d = site.start_with_env(&[("SIHAI_WEBSUB_BACKOFF_MS", "100")]);
    let rss = d.body("/feeds/hunan.rss");
    assert_eq!(link_rel(&rss, "hub").as_deref(), Some(hub.url.as_str()));
    assert_eq!(link_rel(&d.body("/feeds/hunan.atom"), "hub").as_deref(), Some(hub.url.as_str()));
    let v: Value = serde_json::from_str(&d.body("/feeds/hunan.json")).unwrap();
    assert_eq!(v["hubs"], json!([{"type": "WebSub", "url": hub.url}]));

    let t = Instant::now();
    let (s, _) = d.api(
        "POST",
        "/api/articles",
        Some(&json!({"id": "w1", "title": "推送", "category": "changsha", "published": "2024-01-01"}).to_string()),
    );
    assert_eq!(s, 200);
    assert!(t.elapsed() < Duration::from_secs(2), "ingest is not delayed by the hub");
    let mut want = BTreeSet::new();
    // Each edition's feeds are topics of their own.
    for (slug, edition) in ["changsha", "hunan", "domestic", "all"].iter().flat_map(|s| [(s, ""), (s, "zh-hant/")]) {
        for ext in ["rss", "atom", "json"] {
            let url = format!("http://127.0.0.1:8080/{edition}feeds/{slug}.{ext}");
            want.insert(format!(
                "hub.mode=publish&hub.url={}",
                url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
            ));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got: Vec<(u16, String)> = hub.received.lock().unwrap().clone();
        let ok: Vec<&String> = got.iter().filter(|(s, _)| *s == 204).map(|(_, b)| b).collect();
        if ok.len() >= want.len() || Instant::now() > deadline {
            let ok_set: BTreeSet<String> = ok.iter().map(|s| s.to_string()).collect();
            assert_eq!(ok_set, want, "every changed feed, once");
            assert_eq!(ok.len(), want.len(), "no duplicates: {got:?}");
            assert_eq!(got.iter().filter(|(s, _)| *s == 500).count(), 3, "the failures were retried");
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hub.received.lock().unwrap().iter().filter(|(s, _)| *s == 204).count(), want.len(), "nothing more");
}
