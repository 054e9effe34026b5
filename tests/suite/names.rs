//! Tag and author feeds (issue 15): `/feeds/tag/{tag}.*`, `/feeds/author/{name}.*`, their
//! archives and pages; one spelling per URL (301 from the others), 404 for a name without
//! published articles, exact invalidation, validators.

use scraper::{Html, Selector};

use super::util::*;

/// `湖南` as the canonical URL segment spells it.
const HUNAN: &str = "%E6%B9%96%E5%8D%97";
/// `谢伟峰` (the seed article's author) likewise.
const XIE: &str = "%E8%B0%A2%E4%BC%9F%E5%B3%B0";

/// A GET that does not follow redirects.
fn get_raw(d: &Daemon, path: &str) -> Resp {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let mut r = agent.get(format!("{}{path}", d.base)).call().expect("GET");
    let headers =
        r.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_vec().expect("body");
    Resp { status, headers, body }
}

fn renders(d: &Daemon) -> u64 {
    let (status, stats) = d.api("GET", "/api/stats", None);
    assert_eq!(status, 200, "{stats}");
    stats["renders"].as_u64().expect("renders counter")
}

fn article(id: &str, tags: &[&str], author: &str, published: &str) -> String {
    serde_json::json!({
        "id": id, "title": format!("标题 {id}"), "category": "changsha", "published": published,
        "author": author, "tags": tags, "content_text": "正文。"
    })
    .to_string()
}

fn ingest(d: &Daemon, articles: &[String]) {
    let (status, body) = d.api("POST", "/api/articles", Some(&format!("[{}]", articles.join(","))));
    assert_eq!(status, 200, "{body}");
}

/// The `href` of every `link` with this `rel` in an XML feed.
fn links_of(body: &str, rel: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(body).expect("well-formed");
    doc.descendants()
        .filter(|n| n.tag_name().name() == "link" && n.attribute("rel") == Some(rel))
        .filter_map(|n| n.attribute("href").map(String::from))
        .collect()
}

fn guids(body: &str) -> Vec<String> {
    texts(body, "guid")
}

#[test]
fn tag_and_author_feeds_are_valid_and_list_their_articles_newest_first() {
    let site = Site::shipped();
    assert_eq!(site.import(&[&seed_article()]).code, 0);
    let d = site.start();
    ingest(
        &d,
        &[
            article("t1", &["湖南", "经济"], "李明", "2022-06-01 10:00"),
            article("t2", &["湖南"], "王芳", "2022-06-02 10:00"),
            article("t3", &["经济"], "李明", "2022-06-03 10:00"),
        ],
    );
    // The seed page's author feed shows the seed article.
    let rss = d.body(&format!("/feeds/author/{XIE}.rss"));
    let feed = parse_feed("author rss", &rss);
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(texts(&rss, "pubDate"), ["Fri, 03 Sep 2021 00:00:00 +0800"]);
    let site_guid = guids(&d.body("/feeds/hunan.rss")).into_iter().find(|g| g.contains(":auto-"));
    assert_eq!(guids(&rss), vec![site_guid.expect("seed in hunan")], "the GUID of the category feeds");
    assert_eq!(links_of(&rss, "self"), [format!("http://127.0.0.1:8080/feeds/author/{XIE}.rss")]);

    for format in ["rss", "atom"] {
        let body = d.body(&format!("/feeds/tag/{HUNAN}.{format}"));
        let feed = parse_feed(format, &body);
        let titles: Vec<String> = feed.entries.iter().map(|e| e.title.as_ref().unwrap().content.clone()).collect();
        assert_eq!(titles, ["标题 t2", "标题 t1"], "{format}: newest first");
    }
    let json: serde_json::Value = serde_json::from_str(&d.body("/feeds/author/%E6%9D%8E%E6%98%8E.json")).unwrap();
    let ids: Vec<&str> = json["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert_eq!(ids, ["标题 t3", "标题 t1"]);
    assert!(json["feed_url"].as_str().unwrap().ends_with("/feeds/author/%E6%9D%8E%E6%98%8E.json"));

    // The Atom feed id is stable and apart from the site's.
    let atom = d.body(&format!("/feeds/tag/{HUNAN}.atom"));
    assert_eq!(texts(&atom, "id")[0], format!("tag:sihai.example,2026:feeds/tag/{HUNAN}"));

    // Archives: RFC 5005, one day.
    let archive = d.body(&format!("/feeds/tag/{HUNAN}/archive/2022-06-01.atom"));
    parse_feed("archive", &archive);
    assert_eq!(texts(&archive, "title")[1], "标题 t1");
    assert_eq!(links_of(&archive, "current"), [format!("http://127.0.0.1:8080/feeds/tag/{HUNAN}.atom")]);
    assert_eq!(d.get(&format!("/feeds/tag/{HUNAN}/archive/2022-06-05.rss")).status, 404);

    // ?limit, HEAD and codings as for category feeds.
    let limited = d.body(&format!("/feeds/tag/{HUNAN}.rss?limit=1"));
    assert_eq!(texts(&limited, "title")[1], "标题 t2");
    assert_eq!(texts(&limited, "item").len(), 1);
    assert_eq!(d.head(&format!("/feeds/tag/{HUNAN}.rss")).status, 200);
    let gz = d.request("GET", &format!("/feeds/tag/{HUNAN}.rss"), &[("Accept-Encoding", "gzip")], None);
    assert_eq!(gz.status, 200);
}

#[test]
fn unknown_names_are_404_and_other_spellings_301_to_the_canonical_url() {
    let site = Site::shipped();
    assert_eq!(site.import(&[&seed_article()]).code, 0);
    let d = site.start();
    ingest(&d, &[article("s1", &["big data", "café"], "张三", "2022-06-01 10:00")]);
    for path in [
        "/feeds/tag/%E6%97%A0.rss".to_string(),
        "/feeds/author/nobody.atom".into(),
        "/tag/nobody".into(),
        "/author/nobody".into(),
        "/feeds/tag/%FF.rss".into(),
        format!("/feeds/tag/{}.rss", "a".repeat(2000)),
        "/feeds/tag/.rss".into(),
        "/feeds/tag/x.xml".into(),
    ] {
        assert_eq!(get_raw(&d, &path).status, 404, "{path}");
    }
    let cases = [
        ("/feeds/tag/big+data.rss", "/feeds/tag/big%20data.rss"),
        ("/feeds/tag/big%20%20data.rss?limit=1", "/feeds/tag/big%20data.rss?limit=1"),
        ("/feeds/tag/cafe%CC%81.atom", "/feeds/tag/caf%C3%A9.atom"),
        ("/feeds/tag/caf%c3%a9/archive/2022-06-01.json", "/feeds/tag/caf%C3%A9/archive/2022-06-01.json"),
        ("/feeds/author/张三.rss", "/feeds/author/%E5%BC%A0%E4%B8%89.rss"),
        ("/tag/caf%c3%a9", "/tag/caf%C3%A9"),
        ("/author/%e5%bc%a0%e4%b8%89", "/author/%E5%BC%A0%E4%B8%89"),
    ];
    for (from, to) in cases {
        let r = get_raw(&d, from);
        assert_eq!(r.status, 301, "{from}");
        assert_eq!(r.header("location"), Some(format!("http://127.0.0.1:8080{to}").as_str()), "{from}");
        // The canonical URL itself is served.
        assert_eq!(get_raw(&d, to).status, 200, "{to}");
    }
}

#[test]
fn a_tag_removed_by_an_update_leaves_its_feed_and_a_delete_leaves_every_feed() {
    let site = Site::shipped();
    let d = site.start();
    ingest(&d, &[article("u1", &["湖南", "经济"], "李明", "2022-06-01 10:00")]);
    ingest(&d, &[article("u2", &["经济"], "王芳", "2022-06-02 10:00")]);
    assert_eq!(texts(&d.body("/feeds/tag/%E7%BB%8F%E6%B5%8E.rss"), "item").len(), 2);
    let before = d.get(&format!("/feeds/tag/{HUNAN}.rss"));
    assert_eq!(before.status, 200);
    // The update drops 湖南 and changes the author.
    ingest(&d, &[article("u1", &["经济"], "王芳", "2022-06-01 10:00")]);
    assert_eq!(d.get(&format!("/feeds/tag/{HUNAN}.rss")).status, 404, "no article left: 404");
    assert_eq!(d.get(&format!("/tag/{HUNAN}")).status, 404);
    assert_eq!(d.get("/feeds/author/%E6%9D%8E%E6%98%8E.rss").status, 404);
    assert_eq!(texts(&d.body("/feeds/author/%E7%8E%8B%E8%8A%B3.rss"), "item").len(), 2);
    // A delete takes it out of its tag and author feeds.
    let (status, _) = d.api("DELETE", "/api/articles/u2", None);
    assert_eq!(status, 204);
    let left = d.body("/feeds/tag/%E7%BB%8F%E6%B5%8E.rss");
    assert_eq!(texts(&left, "title")[1], "标题 u1");
    assert_eq!(texts(&left, "item").len(), 1);
    assert_eq!(texts(&d.body("/feeds/author/%E7%8E%8B%E8%8A%B3.atom"), "entry").len(), 1);
}

#[test]
fn validators_revalidate_and_a_write_re_renders_only_the_names_it_touches() {
    let site = Site::shipped();
    let d = site.start();
    ingest(&d, &[article("v1", &["x"], "甲", "2022-06-01 10:00"), article("v2", &["y"], "乙", "2022-06-01 11:00")]);
    let x = d.get("/feeds/tag/x.rss");
    let y = d.get("/feeds/tag/y.rss");
    d.get("/feeds/author/%E7%94%B2.rss");
    let etag = x.header("etag").unwrap().to_string();
    let last_modified = x.header("last-modified").unwrap().to_string();
    let again = d.request("GET", "/feeds/tag/x.rss", &[("If-None-Match", &etag)], None);
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let by_date = d.request("GET", "/feeds/tag/x.rss", &[("If-Modified-Since", &last_modified)], None);
    assert_eq!(by_date.status, 304);

    std::thread::sleep(std::time::Duration::from_millis(1100));
    // A write to tag y (author 乙): x and 甲 stay ready, y is rendered again.
    ingest(&d, &[article("v2", &["y"], "乙", "2022-06-01 11:30")]);
    let before = renders(&d);
    assert_eq!(d.get("/feeds/tag/x.rss").body, x.body);
    d.get("/feeds/author/%E7%94%B2.rss");
    assert_eq!(renders(&d), before, "tag x and author 甲 were not touched: no render");
    let y2 = d.get("/feeds/tag/y.rss");
    assert_ne!(y2.body, y.body);
    assert_eq!(renders(&d), before + 1, "tag y was touched: one render");
    let stale =
        d.request("GET", "/feeds/tag/y.rss", &[("If-Modified-Since", y.header("last-modified").unwrap())], None);
    assert_eq!(stale.status, 200, "a changed tag feed is never 304 by date");
}

#[test]
fn tag_and_author_pages_have_autodiscovery_and_articles_link_them() {
    let site = Site::shipped();
    assert_eq!(site.import(&[&seed_article()]).code, 0);
    let d = site.start();
    ingest(&d, &[article("p1", &["湖南", "a&b"], "李明", "2022-06-01 10:00")]);
    let sel = |s: &str| Selector::parse(s).unwrap();
    let page = Html::parse_document(&d.body(&format!("/tag/{HUNAN}")));
    let alternates: Vec<&str> =
        page.select(&sel("link[rel=alternate]:not([hreflang])")).filter_map(|l| l.value().attr("href")).collect();
    assert_eq!(
        alternates,
        ["rss", "atom", "json"].map(|f| format!("http://127.0.0.1:8080/feeds/tag/{HUNAN}.{f}")),
        "autodiscovery of the tag's feeds"
    );
    let author = Html::parse_document(&d.body(&format!("/author/{XIE}")));
    assert_eq!(author.select(&sel("link[rel=alternate]:not([hreflang])")).count(), 3);
    assert_eq!(author.select(&sel("article")).count(), 1);

    let article_page = Html::parse_document(&d.body("/articles/p1"));
    let links: Vec<&str> =
        article_page.select(&sel("a[rel=tag], a[rel=author]")).filter_map(|a| a.value().attr("href")).collect();
    assert_eq!(
        links,
        [
            "http://127.0.0.1:8080/author/%E6%9D%8E%E6%98%8E",
            "http://127.0.0.1:8080/tag/%E6%B9%96%E5%8D%97",
            "http://127.0.0.1:8080/tag/a%26b"
        ]
    );
    // The front page lists the most used tags.
    ingest(&d, &[article("p2", &["湖南"], "李明", "2022-06-02 10:00")]);
    let home = Html::parse_document(&d.body("/"));
    let tags: Vec<String> = home.select(&sel("nav a[rel=tag]")).map(|a| a.text().collect()).collect();
    assert_eq!(tags, ["#湖南", "#a&b"], "most used first");
}

#[test]
fn opml_adds_tag_and_author_feeds_only_when_asked() {
    let site = Site::shipped();
    let d = site.start();
    ingest(&d, &[article("o1", &["湖南"], "李明", "2022-06-01 10:00")]);
    let plain = d.body("/feeds.opml");
    assert!(!plain.contains("/feeds/tag/"), "no tags unless asked");
    let both = d.body("/feeds.opml?include=tags,authors&format=atom");
    roxmltree::Document::parse(&both).expect("well-formed OPML");
    assert!(both.contains(&format!("xmlUrl=\"http://127.0.0.1:8080/feeds/tag/{HUNAN}.atom\"")), "{both}");
    assert!(both.contains("xmlUrl=\"http://127.0.0.1:8080/feeds/author/%E6%9D%8E%E6%98%8E.atom\""), "{both}");
    let tags = d.body("/feeds.opml?include=tags");
    assert!(tags.contains("/feeds/tag/") && !tags.contains("/feeds/author/"), "{tags}");
    assert_eq!(d.get("/feeds.opml?include=everything").status, 400);
}
