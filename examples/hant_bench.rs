//! What a Traditional Chinese edition and a filter add to a render (issue 15).
//!
//! ```text
//! cargo run --release --example hant_bench [-- --iters 200]
//! ```
//!
//! A 50-item feed of ~6 KB of Chinese HTML per item (the corpus generator's text, as
//! `bench/micro`), prepared once from the shipped config; then, per iteration:
//!
//! - `render_{rss,atom,json}`: the Simplified document rendered (a cache miss's render);
//! - `edition`: `feed::hant::edition` on a copy of the prepared document (the conversion of
//!   its titles, excerpts, authors, categories, tags and the text of its content HTML);
//! - `edition_render_{rss,atom,json}`: copy, convert and render, what a miss of an edition
//!   costs beyond the store read;
//! - `filter`: one pass of a compiled `?filter=...&filterout=...` over the prepared items.
//!
//! It also prints the first load of the s2twp converter (its dictionaries are compiled into
//! the binary). Output: one `name median_us=.. p90_us=..` line each.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use serde_json::json;
use sihai::config::{Config, Traditional};
use sihai::feed::filter::FilterSpec;
use sihai::feed::{self, FeedDoc, Format, Target};
use sihai::ingest;
use sihai::model::StoredArticle;

/// The daemon's global allocator (`src/main.rs`), so allocation costs are the daemon's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The corpus generator's text (`examples/gen_corpus/text.rs`).
#[allow(dead_code)] // the generator's helpers this file does not call
#[path = "gen_corpus/text.rs"]
mod text;

/// One article of `chars` characters of HTML body, with a bold lead and a link per few
/// paragraphs.
fn article(chars: &text::Chars, rng: &mut text::Rng, n: u64, content_chars: usize) -> serde_json::Value {
    let mut title = String::new();
    let k = rng.range(8, 20);
    chars.run(rng, k, &mut title);
    let mut body = String::new();
    for (i, p) in chars.paragraphs(rng, content_chars).iter().enumerate() {
        body.push_str("<p>");
        if i == 0 {
            body.push_str(&format!("<strong>{title}</strong> "));
        }
        body.push_str(p);
        if i % 3 == 1 {
            body.push_str(&format!(" <a href=\"/hunan/related-{n}-{i}.html\">相关报道</a>"));
        }
        body.push_str("</p>\n");
    }
    json!({
        "id": format!("bench-{n:06}"),
        "title": title,
        "category": "hunan",
        "published": format!("2026-{:02}-{:02} {:02}:{:02}:00", 1 + n % 10, 1 + n % 28, n % 24, n % 60),
        "author": "谢伟峰",
        "tags": ["湖南", "新闻"],
        "content_html": body,
    })
}

/// 50 stored articles of ~6 KB of HTML each, newest first.
fn stored(config: &Config) -> Vec<StoredArticle> {
    let (chars, mut rng) = (text::Chars::new(), text::Rng(7));
    let mut lines = String::new();
    for n in 0..50 {
        let c = 1_380 + rng.range(0, 690) as usize;
        lines.push_str(&article(&chars, &mut rng, n, c).to_string());
        lines.push('\n');
    }
    let parsed = ingest::parse_json("feed.jsonl", &lines, config, usize::MAX);
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems.first().map(|p| p.to_string()));
    let mut out: Vec<StoredArticle> = parsed
        .articles
        .into_iter()
        .map(|article| StoredArticle {
            guid: format!("tag:{}:{}", config.site.tag_authority, article.id),
            created: article.published,
            modified: article.published,
            updated: article.published,
            excerpt: article.excerpt(),
            article,
        })
        .collect();
    out.sort_by_key(|a| std::cmp::Reverse(a.article.published));
    out
}

/// Median and 90th percentile of `iters` runs of `f`, in µs.
fn time(name: &str, iters: usize, mut f: impl FnMut()) {
    for _ in 0..iters.div_ceil(10) {
        f();
    }
    let mut us: Vec<f64> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    us.sort_by(f64::total_cmp);
    println!("{name} median_us={:.1} p90_us={:.1}", us[us.len() / 2], us[us.len() * 9 / 10]);
}

fn edition(doc: &FeedDoc) -> FeedDoc {
    let mut d = doc.clone();
    feed::hant::edition(&mut d, Traditional::S2twp).expect("s2twp");
    d
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut iters = 200;
    while let Some(a) = args.next() {
        if a == "--iters" {
            iters = args.next().and_then(|n| n.parse().ok()).expect("--iters N");
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sihai.toml");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let hunan = Target::Category(config.categories.by_slug("hunan").expect("hunan"));
    let stored = stored(&config);
    let changed = stored[0].article.published;
    let doc = feed::prepare(&config, hunan, "tag:sihai.example,2026:feeds/hunan", changed, &stored);
    let html: usize = doc.items.iter().map(|i| i.content_html.as_ref().map_or(0, String::len)).sum();
    let t = Instant::now();
    feed::hant::converter(Traditional::S2twp).expect("s2twp");
    println!("load_s2twp first_us={:.1}", t.elapsed().as_secs_f64() * 1e6);
    let rss = feed::render(&doc, Format::Rss).expect("rss");
    let hant_rss = feed::render(&edition(&doc), Format::Rss).expect("rss");
    println!(
        "feed items={} content_html_bytes={html} rss_bytes={} edition_rss_bytes={}",
        doc.items.len(),
        rss.len(),
        hant_rss.len()
    );
    for format in Format::ALL {
        let ext = format.extension();
        time(&format!("render_{ext}"), iters, || {
            black_box(feed::render(black_box(&doc), format).expect("render"));
        });
        time(&format!("edition_render_{ext}"), iters, || {
            black_box(feed::render(&edition(black_box(&doc)), format).expect("render"));
        });
    }
    time("clone", iters, || {
        black_box(black_box(&doc).clone());
    });
    time("edition", iters, || {
        black_box(edition(black_box(&doc)));
    });
    let spec = FilterSpec::from_params([("filter", "湖南|新闻|谢"), ("filterout", "相关报道$")]).expect("spec");
    let filter = spec.expect("a filter").compile().expect("compiles");
    time("filter", iters, || {
        let mut items = black_box(&doc).items.clone();
        filter.apply(&mut items);
        black_box(items);
    });
}
