//! Property tests of everything that reads outside bytes (issue 13's fuzzing): article
//! JSON and its normalization, article pages in both encodings, the config loader, request
//! routing pieces (filters included) and conditional/encoding headers, the export reader,
//! and the Traditional conversion of HTML. Each property says what must hold for *any*
//! input: no panic, and for an accepted article, feeds (Simplified and Traditional) that
//! are well-formed, hold no script and read back the same.
//!
//! The suite runs a short pass (`PROPTEST_CASES`, 64 by default here); `scripts/fuzz` runs
//! the long one. proptest's shrinking turns a failure into a small input: add it to the
//! regression table at the end of this file.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::config::Config;
use crate::feed::{self, Format, Target};
use crate::ingest::{self, InputKind};
use crate::model::StoredArticle;

/// The cases each property runs: `PROPTEST_CASES`, else 64 (a short pass in the suite).
fn cases() -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    ProptestConfig { cases: n, failure_persistence: None, ..ProptestConfig::default() }
}

/// Any text, with what hostile inputs favour: controls, bidi controls, surrogate escapes'
/// neighbours, combining marks, markup and entities, very long runs.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        any::<String>(),
        Just("<script>alert(1)</script>".to_string()),
        Just("<img src=x onerror=alert(1)>".to_string()),
        Just("<a href=\"javascript:alert(1)\">x</a>".to_string()),
        Just("<a href=\"data:text/html,<script>x</script>\">d</a>".to_string()),
        Just("&lt;script&gt;x&lt;/script&gt;".to_string()),
        Just("&amp;lt;b&amp;gt;&#0;&#x110000;&#xD800;&nbsp;".to_string()),
        Just("<![CDATA[ ]]> ]]> <!-- --> <?xml ?>".to_string()),
        Just("\u{202e}\u{2066}\u{200b}\u{feff}\u{1}\u{b}\u{fffe}\u{85}".to_string()),
        Just("e\u{301}\u{1112}\u{1161}\u{11ab}".to_string()),
        Just("<div>".repeat(200)),
        "[\\PC\\pC]{0,40}".prop_map(|s| s),
    ];
    prop::collection::vec(pieces, 0..6).prop_map(|v| v.concat())
}

/// Dates as publishers and attackers write them.
fn hostile_date() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("2024-01-01")),
        Just(json!("2021-09-03T08:00:00+08:00")),
        Just(json!("-262143-01-01")),
        Just(json!("+262142-12-31T23:59:59")),
        Just(json!("9999-12-31T23:59:59-23:59")),
        Just(json!("2021-03-14 02:30")),
        (1900i32..2200, 1u32..13, 1u32..32, 0u32..25, 0u32..61)
            .prop_map(|(y, m, d, h, mi)| json!(format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}"))),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        hostile_text().prop_map(Value::String),
    ]
}

/// Any JSON value, nested up to a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        hostile_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(hostile_text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An article object: the known fields with hostile values, sometimes an unknown one.
fn hostile_article() -> impl Strategy<Value = Value> {
    let category = prop_oneof![
        Just(json!("hunan")),
        Just(json!("首页 > 国内资讯 > 湖南新闻")),
        Just(json!(["changsha", "world"])),
        hostile_text().prop_map(Value::String),
    ];
    (
        prop_oneof![hostile_text().prop_map(Value::String), any::<i64>().prop_map(|n| json!(n))],
        hostile_text(),
        category,
        hostile_date(),
        prop::option::of(hostile_date()),
        prop::option::of(hostile_text()),
        prop::option::of(hostile_text()),
        prop::option::of(prop::collection::vec(hostile_text(), 0..5)),
        prop::option::of(any_json()),
        prop::option::of(prop_oneof![
            Just(json!("https://news.example.com/a.jpg")),
            Just(json!({"url": "/x.png", "length": 12})),
            hostile_text().prop_map(Value::String)
        ]),
    )
        .prop_map(|(id, title, category, published, updated, summary, html, tags, authors, image)| {
            let mut a = json!({"id": id, "title": title, "category": category, "published": published});
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    a[k] = v;
                }
            };
            put("updated", updated);
            put("summary", summary.map(Value::String));
            put("content_html", html.map(Value::String));
            put("tags", tags.map(|t| json!(t)));
            put("authors", authors);
            put("image", image);
            a
        })
}

/// Renders an accepted article in every format and checks what every feed must be.
fn check_feeds(config: &Config, article: crate::model::Article) {
    let stored = StoredArticle {
        excerpt: article.excerpt(),
        guid: crate::store::mint_guid(&config.site.tag_authority, &article.id),
        updated: article.updated.unwrap_or(article.published).max(article.published),
        created: 1,
        modified: 1,
        article,
    };
    let doc = feed::prepare(
        config,
        Target::All,
        "tag:sihai.test,2026:feeds/all",
        1_700_000_000,
        std::slice::from_ref(&stored),
    );
    // And its Traditional edition: converted text, the same GUID, as sound.
    let mut hant = doc.clone();
    feed::hant::edition(&mut hant, crate::config::Traditional::S2twp).expect("an edition converts");
    let converted =
        feed::hant::Converter::new(crate::config::Traditional::S2twp).expect("s2twp").text(&stored.article.title);
    for (doc, title) in [(&doc, &stored.article.title), (&hant, &converted)] {
        for format in Format::ALL {
            let bytes = feed::render(doc, format).expect("an accepted article renders");
            let text = String::from_utf8(bytes).expect("UTF-8");
            match format {
                Format::Json => {
                    let v: Value = serde_json::from_str(&text).expect("valid JSON Feed");
                    // `content_html` is the HTML of JSON Feed; its other strings are text.
                    for item in v["items"].as_array().expect("items") {
                        if let Some(html) = item["content_html"].as_str() {
                            assert_inert(html, &text);
                        }
                    }
                    assert_eq!(v["items"][0]["id"], json!(stored.guid));
                    assert_eq!(v["items"][0]["title"], json!(title));
                }
                _ => {
                    let xml = roxmltree::Document::parse(&text)
                        .unwrap_or_else(|e| panic!("{format:?} not well-formed: {e}\n{text}"));
                    // Every text a reader may render as HTML holds nothing active: in RSS the
                    // title, description and content; in Atom what is marked `type="html"`
                    // (its titles and summaries are `text`, shown as text).
                    for element in xml.descendants().filter(|n| n.is_element()) {
                        let html = match format {
                            Format::Rss => matches!(element.tag_name().name(), "title" | "description" | "encoded"),
                            _ => element.attribute("type") == Some("html"),
                        };
                        if html {
                            assert_inert(element.text().unwrap_or(""), &text);
                        }
                    }
                    let parsed = feed_rs::parser::parse(text.as_bytes()).expect("a feed parser reads it");
                    let entry = &parsed.entries[0];
                    assert_eq!(entry.id, stored.guid);
                    assert_eq!(entry.title.as_ref().map(|t| t.content.trim().to_string()), Some(title.clone()));
                    assert_eq!(entry.published.map(|t| t.timestamp()), Some(stored.article.published));
                }
            }
        }
        // The article's own page: what it shows of the article (the rest is sihai's own).
        let page = feed::html::article_page(doc, &doc.items[0]);
        let parsed = scraper::Html::parse_document(&page);
        let article = scraper::Selector::parse("article").expect("a selector");
        for element in parsed.select(&article) {
            assert_inert(&element.inner_html(), &page);
        }
    }
}

/// Read as HTML, `html` holds no script (or other active element), no event handler and
/// no `javascript:`/`vbscript:`/`data:` URL.
fn assert_inert(html: &str, context: &str) {
    let doc = scraper::Html::parse_fragment(html);
    for element in doc.tree.values().filter_map(|n| n.as_element()) {
        let name = element.name();
        assert!(!matches!(name, "script" | "iframe" | "object" | "embed" | "form" | "style"), "<{name}> in {context}");
        for (attr, value) in element.attrs() {
            assert!(!attr.starts_with("on"), "{attr}= on <{name}> in {context}");
            let value = value.trim().to_ascii_lowercase();
            if matches!(attr, "href" | "src" | "action" | "formaction" | "poster" | "srcset") {
                for scheme in ["javascript:", "vbscript:", "data:"] {
                    assert!(!value.starts_with(scheme), "{attr}={value} on <{name}> in {context}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn any_article_json_is_accepted_or_refused_never_a_panic_and_accepted_ones_make_sound_feeds(a in hostile_article()) {
        let config = crate::config::for_tests();
        let body = serde_json::to_vec(&a).unwrap();
        let parsed = ingest::parse_request("body", &body, InputKind::Json, &config, &Default::default());
        prop_assert!(parsed.articles.len() + usize::from(!parsed.problems.is_empty()) >= 1);
        for article in parsed.articles {
            check_feeds(&config, article);
        }
    }

    #[test]
    fn any_json_value_and_any_bytes_are_read_without_a_panic(v in any_json(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let config = crate::config::for_tests();
        let _ = ingest::parse_request("body", v.to_string().as_bytes(), InputKind::Json, &config, &Default::default());
        let _ = ingest::parse_input("file", &bytes, InputKind::Json, &config);
        let _ = ingest::parse_input("page", &bytes, InputKind::Page, &config);
    }

    #[test]
    fn any_article_page_in_either_encoding_is_read_without_a_panic(lines in prop::collection::vec(hostile_text(), 0..12), gbk in any::<bool>()) {
        let config = crate::config::for_tests();
        let mut text = String::from("四海资讯\n首页 > 国内资讯 > 湖南新闻\n");
        text.push_str(&lines.join("\n"));
        text.push_str("\n时间：2021-09-03\n");
        let bytes = if gbk { encoding_rs::GB18030.encode(&text).0.into_owned() } else { text.into_bytes() };
        let parsed = ingest::parse_input("page.txt", &bytes, InputKind::Page, &config);
        for article in parsed.articles {
            check_feeds(&config, article);
        }
    }

    #[test]
    fn any_config_text_is_valid_or_refused_with_a_message(text in hostile_text(), key in "[a-z_]{1,20}", value in any_json()) {
        let _ = Config::parse(&text, std::path::Path::new("x.toml"));
        let toml = format!("[site]\ntitle = \"t\"\nbase_url = \"https://x.test/\"\ntag_authority = \"x.test,2026\"\n{key} = {value}\n[server]\n{key} = {value}\n");
        if let Err(e) = Config::parse(&toml, std::path::Path::new("x.toml")) {
            prop_assert!(e.to_string().contains("x.toml"));
        }
    }

    #[test]
    fn any_header_or_path_piece_is_read_without_a_panic(s in hostile_text()) {
        let _ = crate::encoding::negotiate(Some(&s));
        let _ = crate::time::parse_http_date(&s);
        crate::http::route::probe(&s);
    }

    #[test]
    fn converting_html_to_traditional_leaves_every_ascii_byte_where_it_was(html in hostile_text()) {
        // Markup, attributes' delimiters, entities and URLs' ASCII are all ASCII: OpenCC
        // maps CJK to CJK, so the ASCII skeleton of the content is the input's.
        let conv = feed::hant::Converter::new(crate::config::Traditional::S2twp).expect("s2twp");
        let out = feed::hant::convert_html(&html, &conv);
        let ascii = |s: &str| s.bytes().filter(u8::is_ascii).collect::<Vec<u8>>();
        prop_assert_eq!(ascii(&out), ascii(&html));
    }
}

/// Inputs proptest or review once found to need care, kept as regressions.
#[test]
fn regressions() {
    let config = crate::config::for_tests();
    for body in [
        // A date at the edge of the calendar panicked in a helper (500 instead of 422).
        r#"{"title": "t", "category": "hunan", "published": "-262143-01-01"}"#,
        // A key given twice was taken with its last value.
        r#"{"title": "t", "title": "u", "category": "hunan", "published": "2024-01-01"}"#,
    ] {
        let parsed = ingest::parse_request("body", body.as_bytes(), InputKind::Json, &config, &Default::default());
        assert!(parsed.articles.is_empty() && !parsed.problems.is_empty(), "{body}");
    }
}
