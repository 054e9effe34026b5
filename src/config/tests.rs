//! The config's checks and tree, on small configs written here (never the shipped one).

use std::path::Path;

use super::validate::is_tag_authority;
use super::*;
use std::path::PathBuf;

const BASE: &str = r#"
[site]
title = "四海资讯"
base_url = "https://news.example.com"
tag_authority = "news.example.com,2026"
"#;

fn parse(extra: &str) -> Result<Config, ConfigError> {
    Config::parse(&format!("{BASE}{extra}"), Path::new("t.toml"))
}

fn err(extra: &str) -> String {
    parse(extra).expect_err("should be invalid").to_string()
}

#[test]
fn defaults_apply() {
    let c = parse("").unwrap();
    assert_eq!(c.site.language, "zh-CN");
    assert_eq!(c.site.timezone, chrono_tz::Asia::Shanghai);
    assert_eq!(c.site.base_url.as_str(), "https://news.example.com/");
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    let tree = for_tests();
    assert_eq!(tree.categories.list[1].max_items, 50);
    assert_eq!(tree.categories.list[1].ttl_minutes, 30);
}

#[test]
fn tree_is_resolved() {
    let c = for_tests();
    let cats = &c.categories;
    let dom = cats.by_slug("domestic").unwrap();
    assert_eq!(cats.subtree(dom).len(), 3);
    assert_eq!(cats.breadcrumb(cats.by_slug("changsha").unwrap()), "国内资讯 > 湖南新闻 > 长沙");
    assert!(c.tree_text().contains("    hunan: 湖南新闻"));
}

#[test]
fn resolves_every_reference_form() {
    let c = for_tests();
    let hunan = c.categories.by_slug("hunan").unwrap();
    for r in [
        "hunan",
        "HUNAN",
        "湖南新闻",
        " 湖南新闻 ",
        "国内资讯 > 湖南新闻",
        "首页 > 国内资讯 > 湖南新闻",
        "首页\u{a0}>\u{a0}国内>湖南新闻",
        "其他网站 > 湖南新闻",
    ] {
        assert_eq!(c.categories.resolve(r), Ok(hunan), "{r}");
    }
    assert!(c.categories.resolve("国际 > 湖南新闻").unwrap_err().contains("not an ancestor"));
    assert!(c.categories.resolve("体育").unwrap_err().contains("\"体育\""));
    assert!(c.categories.resolve(" > ").is_err());
}

#[test]
fn every_invalid_config_is_named() {
    let cases: &[(&str, &str)] = &[
        ("[[category]]\nslug = \"a\"\nname = \"A\"\nparent = \"zz\"\n", "parent \"zz\" is not a category slug"),
        ("[[category]]\nslug = \"a\"\nname = \"A\"\nparent = \"b\"\n[[category]]\nslug = \"b\"\nname = \"B\"\nparent = \"a\"\n", "cycle of parents: a -> b -> a"),
        ("[[category]]\nslug = \"a\"\nname = \"A\"\nparent = \"a\"\n", "parent is the category itself"),
        ("[[category]]\nslug = \"a\"\nname = \"A\"\n[[category]]\nslug = \"a\"\nname = \"B\"\n", "slug \"a\" already names category \"a\""),
        ("[[category]]\nslug = \"a\"\nname = \"A\"\n[[category]]\nslug = \"b\"\nname = \"A\"\n", "name \"A\" already names"),
        ("[[category]]\nslug = \"a\"\nname = \"A\"\n[[category]]\nslug = \"b\"\nname = \"B\"\naliases = [\"a\"]\n", "alias \"a\" already names"),
        ("[[category]]\nslug = \"Hu Nan\"\nname = \"A\"\n", "slug must be"),
        ("[[category]]\nslug = \"all\"\nname = \"A\"\n", "clashes with the route"),
        ("[[category]]\nslug = \"tag\"\nname = \"A\"\n", "clashes with the routes /feeds/tag.rss"),
        ("[[category]]\nslug = \"author\"\nname = \"A\"\n", "clashes with the routes /feeds/author.rss"),
        ("[[category]]\nslug = \"a\"\nname = \"A\"\ncolour = \"red\"\n", "[[category]] \"a\" colour: unknown key"),
        ("[[category]]\nslug = \"a\"\nname = \"A\"\nmax_items = 0\n", "max_items = 0 is out of range"),
    ];
    for (extra, want) in cases {
        let e = err(extra);
        assert!(e.contains(want), "{extra}\n=> {e}");
        assert!(e.contains("t.toml:"), "no line in {e}");
    }
}

#[test]
fn site_errors_are_named() {
    let bad = |from: &str, to: &str| {
        Config::parse(&BASE.replace(from, to), Path::new("t.toml")).expect_err("invalid").to_string()
    };
    assert!(bad("https://news.example.com", "news.example.com").contains("t.toml:4: [site] base_url"));
    assert!(bad("https://news.example.com", "ftp://x.example").contains("scheme"));
    assert!(bad("news.example.com,2026", "news example").contains("tag_authority"));
    assert!(bad("news.example.com,2026", "news.example.com,26").contains("tag_authority"));
    let e =
        Config::parse(&format!("{BASE}timezone = \"Mars/Olympus\"\n"), Path::new("t.toml")).unwrap_err().to_string();
    assert!(e.contains("t.toml:6: [site] timezone \"Mars/Olympus\""), "{e}");
    let e = Config::parse(&format!("{BASE}titel = \"x\"\n"), Path::new("t.toml")).unwrap_err().to_string();
    assert!(e.contains("t.toml:6: [site] titel: unknown key; fix: did you mean `title`?"), "{e}");
    let e = Config::parse("[site\n", Path::new("t.toml")).unwrap_err().to_string();
    assert!(e.contains("t.toml:1"), "{e}");
}

#[test]
fn tag_authorities() {
    for ok in ["sihai.example,2026", "a@b.example,2026-01", "x.example,2026-01-31"] {
        assert!(is_tag_authority(ok), "{ok}");
    }
    for bad in [
        "sihai.example",
        "sihai.example,2026-13",
        ",2026",
        "a b,2026",
        "x.example,2026-02-30",
        "News.example,2026",
        "a+b@x.example,2026",
    ] {
        assert!(!is_tag_authority(bad), "{bad}");
    }
}

#[test]
fn whole_number_settings_take_their_defaults_and_ranges_from_one_table() {
    let c = for_tests();
    assert_eq!(c.server.shutdown_seconds, defaults::SHUTDOWN_SECONDS.default as u64);
    assert_eq!(c.server.min_free_bytes, 64 << 20);
    assert_eq!(c.ingest.max_body_bytes, 10 << 20);
    assert_eq!(c.server.data_dir, PathBuf::from(defaults::DATA_DIR));
    assert_eq!(c.site.max_items, defaults::MAX_ITEMS.default as usize);
    let cases = [
        (
            "[server]\nshutdown_seconds = 3601\n",
            "t.toml:7: [server] shutdown_seconds = 3601 is out of range; fix: seconds from 0 to 3600 (default 10)",
        ),
        (
            "[server]\nmin_free_bytes = -1\n",
            "[server] min_free_bytes = -1 is out of range; fix: bytes, 0 or more (default 67108864)",
        ),
        (
            "[ingest]\nmax_body_bytes = 1000\n",
            "[ingest] max_body_bytes = 1000 is out of range; fix: at least 1024 (default 10485760)",
        ),
        (
            "ttl_minutes = 0\n",
            "[site] ttl_minutes = 0 is out of range; fix: whole minutes from 1 to 10080 (a week) (default 30)",
        ),
    ];
    for (extra, want) in cases {
        let e = err(extra);
        assert!(e.contains(want), "{extra}\n=> {e}");
    }
}

#[test]
fn client_limits_default_to_no_longer_than_nginx() {
    let l = parse("").unwrap().server.limits;
    let secs = |d: std::time::Duration| d.as_secs();
    // nginx: client_header_timeout 60, keepalive_timeout 75, client_body_timeout 60, send_timeout 60.
    assert_eq!(
        (secs(l.header_timeout), secs(l.idle_timeout), secs(l.body_timeout), secs(l.write_timeout)),
        (20, 60, 60, 60)
    );
    assert!(secs(l.header_timeout) <= 60 && secs(l.idle_timeout) <= 75);
    assert_eq!((l.max_connections, l.max_connections_per_address, l.auth_failures_per_minute), (2048, 64, 30));
    assert_eq!(l.cache_bytes, 256 << 20);
    assert!(l.trusted_proxies.is_empty(), "no proxy is trusted unless named");
    let c = parse("[server]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\", \"10.1.2.3/8\"]\n").unwrap();
    let nets: Vec<String> = c.server.limits.trusted_proxies.iter().map(|n| n.to_string()).collect();
    assert_eq!(nets, ["127.0.0.1/32", "10.0.0.0/8", "::1/128", "10.0.0.0/8"]);
    assert!(err("[server]\ntrusted_proxies = [\"localhost\"]\n").contains("trusted_proxies entry \"localhost\""));
    assert!(err("[server]\nidle_timeout_seconds = 300\n").contains("idle_timeout_seconds = 300 is out of range"));
}

/// Every kind of problem in one file: each is reported, in the order of the file, with its
/// line, its key and a fix; none hides another.
#[test]
fn one_run_reports_every_problem_with_its_line_and_key() {
    let text = r#"
[site]
title = "四海资讯"
base_url = "https://news.example.com"
tag_authority = "news.example.com,2026"
titel = "typo"

[server]
max_connections = "100"
colour = "red"

[[category]]
slug = "a"
name = "A"
parent = "b"

[[category]]
slug = "b"
name = "B"
parent = "a"
max_items = 0
"#;
    let e = Config::parse(text, Path::new("t.toml")).expect_err("invalid");
    let want = [
        "t.toml:6: [site] titel: unknown key; fix: did you mean `title`? else remove it; expected one of `title`, ",
        "t.toml:9: [server] max_connections = \"100\": expected a whole number, found a string; fix: write it without quotes, a number from 2 to 1000000 (default 2048)",
        "t.toml:10: [server] colour: unknown key; fix: remove it; expected one of `listen`, ",
        "t.toml:15: [[category]] \"a\": parent makes a cycle of parents: a -> b -> a (the parent keys: \"a\" on line 15, \"b\" on line 20)",
        "t.toml:21: [[category]] \"b\" max_items = 0 is out of range",
    ];
    assert_eq!(e.problems.len(), want.len(), "{e}");
    for (got, want) in e.problems.iter().zip(want) {
        assert!(got.starts_with(want), "{got}\nwanted {want}");
    }
    assert!(e.to_string().starts_with("invalid configuration (5 problems):\n  t.toml:6: "), "{e}");
}

#[test]
fn every_shape_problem_is_named() {
    let cases: &[(&str, &str)] = &[
        ("[server]\nlisten = 8080\n", "t.toml:7: [server] listen = 8080: expected a string, found an integer; fix: put it in quotes, e.g. \"127.0.0.1:8080\""),
        ("[server]\ntrusted_proxies = \"10.0.0.1\"\n", "t.toml:7: [server] trusted_proxies = \"10.0.0.1\": expected a list of strings, found a string"),
        ("[server]\nmax_connections = 99999999999999999999\n", "t.toml:7: [server] max_connections = 99999999999999999999: is too large"),
        ("[ingest]\nmax_tags = 1.5\n", "[ingest] max_tags = 1.5: expected a whole number, found a float"),
        ("[[category]]\nslug = \"a\"\nname = \"A\"\naliases = [\"x\", 3]\n", "t.toml:9: [[category]] \"a\" aliases = [\"x\", 3]: entry 2 is an integer, expected a string"),
        ("[[category]]\nname = \"A\"\n", "t.toml:6: [[category]] number 1: slug is missing; fix: add slug = \"hunan\""),
        ("[[category]]\nslug = 5\nname = \"A\"\n", "[[category]] number 1 slug = 5: expected a string, found an integer"),
        ("[category]\nslug = \"a\"\n", "category: is a table; fix: write each as a section headed [[category]] (double brackets)"),
        ("[serverr]\nlisten = \"x\"\n", "t.toml:6: [serverr]: unknown table; fix: did you mean `server`?"),
        ("[log]\nformat = true\n", "[log] format = true: expected a string, found a boolean"),
    ];
    for (extra, want) in cases {
        let e = err(extra);
        assert!(e.contains(want), "{extra}\n=> {e}");
        assert!(e.contains("(1 problem)"), "one problem only, none invented: {e}");
    }
    let e = Config::parse("title = \"x\"\n", Path::new("t.toml")).unwrap_err().to_string();
    assert!(
        e.contains("t.toml: [site] is missing; fix: add a [site] section with title, base_url, tag_authority"),
        "{e}"
    );
    assert!(e.contains("t.toml:1: title: a key outside any table; fix: move it below the [site] line"), "{e}");
    let e = Config::parse("[site]\ntitle = 1\n", Path::new("t.toml")).unwrap_err().to_string();
    assert!(e.contains("t.toml:2: [site] title = 1: expected a string"), "{e}");
    assert!(e.contains("[site]: base_url is missing") && e.contains("[site]: tag_authority is missing"), "{e}");
    assert!(!e.contains("title is missing") && !e.contains("placeholder"), "{e}");
}

/// The schema's keys are exactly the fields serde reads: a key added to one and not the
/// other fails here (the README test holds the reference to the schema).
#[test]
fn the_schema_names_every_field_serde_reads() {
    for table in schema::TABLES {
        let keys: Vec<&str> = table.keys.iter().map(|k| k.name).collect();
        assert_eq!(keys, super::validate::serde_fields(table.name), "[{}]", table.name);
    }
    let tables: Vec<&str> = schema::TABLES.iter().map(|t| t.name).collect();
    let mut top = super::validate::serde_fields("");
    top.sort_unstable();
    let mut sorted = tables.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, top);
}

#[test]
fn the_traditional_edition_is_on_for_chinese_sites_and_can_be_chosen_or_turned_off() {
    assert_eq!(parse("").unwrap().site.traditional, Some(Traditional::S2twp), "zh-CN by default");
    let with = |lang: &str, key: &str| {
        let text = BASE.replace("[site]\n", &format!("[site]\nlanguage = \"{lang}\"\n{key}"));
        Config::parse(&text, Path::new("t.toml"))
    };
    assert_eq!(with("zh-HK", "").unwrap().site.traditional, Some(Traditional::S2twp));
    assert_eq!(with("en", "").unwrap().site.traditional, None, "not a Chinese site");
    assert_eq!(with("zh-CN", "traditional = \"off\"\n").unwrap().site.traditional, None);
    assert_eq!(with("zh-CN", "traditional = \"s2hk\"\n").unwrap().site.traditional, Some(Traditional::S2hk));
    assert_eq!(with("en", "traditional = \"s2t\"\n").unwrap().site.traditional, Some(Traditional::S2t));
    let e = with("zh-CN", "traditional = \"zhconv\"\n").unwrap_err().to_string();
    assert!(
        e.contains(
            "t.toml:4: [site] traditional \"zhconv\" is not a converter; fix: one of s2twp, s2hk, s2t, or \"off\""
        ),
        "{e}"
    );
}
