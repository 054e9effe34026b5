//! Micro-benchmarks of the hot pieces of sihai (issue 7):
//!
//! - `render/{rss,atom,json}`: a prepared 50-item feed, each item ~6 KB of Chinese HTML;
//! - `prepare`: stored articles -> `FeedDoc` (what a cache miss does before rendering);
//! - `compress/{gzip,br}`: the rendered RSS, Atom and JSON with `sihai::encoding::compress`
//!   (the levels the daemon uses);
//! - `ingest/parse_json_1000`: reading and normalizing a JSON Lines batch of 1,000 articles
//!   (~2.3 KB of content each, like `examples/gen_corpus/`), as `POST /api/articles`
//!   and `sihai import` do before touching the store.
//!
//! Inputs are built through the library's own public API (`ingest::parse_json`, then
//! `feed::prepare`), so the HTML is what normalization really produces (ammonia-sanitized,
//! absolute links). The text is the corpus generator's (`examples/gen_corpus/text.rs`): a
//! seeded PRNG over 3,755 common characters with a Zipf-like weighting, so it does not
//! repeat and compresses like real Chinese text.
//!
//! Run: `cd bench/micro && cargo bench` (or `cargo bench -- render` for one group). Like
//! the daemon, the benchmarks allocate with mimalloc.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use sihai::config::Config;
use sihai::encoding::{compress, Encoding};
use sihai::feed::{self, Target};
use sihai::ingest;
use sihai::model::StoredArticle;

/// The daemon's global allocator (`src/main.rs`), so allocation costs are the daemon's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The corpus generator's text (`examples/gen_corpus/text.rs`): the benchmarks read the
/// same kind of Chinese as `bench/run` and `bench/scale`.
#[allow(dead_code)] // the generator's helpers this file does not call
#[path = "../../../examples/gen_corpus/text.rs"]
mod text;

/// Seeded text: the corpus's character pool and PRNG, held together.
struct Text {
    chars: text::Chars,
    rng: text::Rng,
}

impl Text {
    fn new(seed: u64) -> Text {
        Text { chars: text::Chars::new(), rng: text::Rng(seed) }
    }

    fn chars(&mut self, n: u64, out: &mut String) {
        self.chars.run(&mut self.rng, n, out);
    }

    fn sentence(&mut self, out: &mut String) {
        self.chars.sentence(&mut self.rng, out);
    }

    fn paragraphs(&mut self, chars: usize) -> Vec<String> {
        self.chars.paragraphs(&mut self.rng, chars)
    }
}

const CATEGORIES: &[&str] = &["hunan", "changsha", "hengyang", "湖南新闻", "长沙"];

/// One input article as JSON: `content_chars` characters of body, as HTML (with a bold
/// lead and relative links, which normalization resolves) or as text.
fn article_json(t: &mut Text, n: u64, content_chars: usize, html: bool) -> serde_json::Value {
    let mut title = String::new();
    let k = t.rng.range(8, 20);
    t.chars(k, &mut title);
    let paras = t.paragraphs(content_chars);
    let published = format!("2026-{:02}-{:02} {:02}:{:02}:00", 1 + n % 10, 1 + n % 28, n % 24, n % 60);
    let mut v = json!({
        "id": format!("bench-{n:06}"),
        "title": title,
        "category": CATEGORIES[(n as usize) % CATEGORIES.len()],
        "published": published,
        "author": "谢伟峰",
        "tags": ["湖南", "新闻"],
    });
    if n.is_multiple_of(2) {
        v["url"] = json!(format!("https://news.sihai.example/hunan/2026/{n:06}.html"));
    }
    if n % 5 < 2 {
        let mut s = String::new();
        t.sentence(&mut s);
        v["summary"] = json!(s);
    }
    if html {
        let mut body = String::new();
        for (i, p) in paras.iter().enumerate() {
            body.push_str("<p>");
            if i == 0 {
                body.push_str("<strong>");
                body.push_str(&title);
                body.push_str("</strong> ");
            }
            body.push_str(p);
            if i % 3 == 1 {
                body.push_str(&format!(" <a href=\"/hunan/related-{n}-{i}.html\">相关报道</a>"));
            }
            body.push_str("</p>\n");
        }
        v["content_html"] = json!(body);
    } else {
        v["content_text"] = json!(paras.join("\n\n"));
    }
    v
}

fn config() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sihai.toml");
    Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// JSON Lines of `n` articles.
fn jsonl(seed: u64, n: u64, content_chars: usize, all_html: bool) -> String {
    let mut t = Text::new(seed);
    let mut out = String::new();
    for i in 0..n {
        let chars = content_chars + t.rng.range(0, content_chars as u64 / 2) as usize;
        out.push_str(&article_json(&mut t, i, chars, all_html || i % 2 == 0).to_string());
        out.push('\n');
    }
    out
}

/// 50 stored articles of ~6 KB of HTML content each, newest first.
fn stored_articles(config: &Config) -> Vec<StoredArticle> {
    // 1,380-2,070 characters of text: about 6 KB of HTML per article on average.
    let text = jsonl(7, 50, 1_380, true);
    let parsed = ingest::parse_json("feed.jsonl", &text, config, usize::MAX);
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems.first().map(|p| p.to_string()));
    let mut stored: Vec<StoredArticle> = parsed
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
    stored.sort_by(|a, b| b.article.published.cmp(&a.article.published).then(a.article.id.cmp(&b.article.id)));
    stored
}

fn benches(c: &mut Criterion) {
    let config = config();
    let hunan = Target::Category(config.categories.by_slug("hunan").expect("hunan in config"));
    let stored = stored_articles(&config);
    let content: usize = stored.iter().map(|s| s.article.content_html.as_ref().map_or(0, String::len)).sum();
    let changed = stored[0].article.published;
    let feed_id = "tag:sihai.example,2026:feed/hunan";
    let doc = feed::prepare(&config, hunan, feed_id, changed, &stored);

    let rss = feed::rss::render(&doc).expect("rss");
    let atom = feed::atom::render(&doc).expect("atom");
    let json = feed::json::render(&doc);
    eprintln!(
        "feed: {} items, mean content_html {} B; rss {} B (gzip {} B, br {} B); atom {} B (gzip {} B); json {} B (gzip {} B)",
        doc.items.len(),
        content / stored.len(),
        rss.len(),
        compress(&rss, Encoding::Gzip).len(),
        compress(&rss, Encoding::Brotli).len(),
        atom.len(),
        compress(&atom, Encoding::Gzip).len(),
        json.len(),
        compress(&json, Encoding::Gzip).len(),
    );

    let mut g = c.benchmark_group("render");
    g.bench_function("prepare", |b| b.iter(|| feed::prepare(&config, hunan, feed_id, changed, black_box(&stored))));
    g.throughput(Throughput::Bytes(rss.len() as u64));
    g.bench_function("rss", |b| b.iter(|| feed::rss::render(black_box(&doc)).expect("rss")));
    g.throughput(Throughput::Bytes(atom.len() as u64));
    g.bench_function("atom", |b| b.iter(|| feed::atom::render(black_box(&doc)).expect("atom")));
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function("json", |b| b.iter(|| feed::json::render(black_box(&doc))));
    g.finish();

    let mut g = c.benchmark_group("compress");
    g.measurement_time(Duration::from_secs(8));
    for (name, bytes) in [("rss", &rss), ("atom", &atom), ("json", &json)] {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(format!("gzip/{name}"), |b| b.iter(|| compress(black_box(bytes), Encoding::Gzip)));
        g.bench_function(format!("br/{name}"), |b| b.iter(|| compress(black_box(bytes), Encoding::Brotli)));
    }
    g.finish();

    let batch = jsonl(11, 1_000, 550, false);
    let parsed = ingest::parse_json("batch.jsonl", &batch, &config, usize::MAX);
    assert!(parsed.problems.is_empty() && parsed.articles.len() == 1_000);
    eprintln!("ingest batch: 1000 articles, {} B of JSON Lines", batch.len());
    let mut g = c.benchmark_group("ingest");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("parse_json_1000", |b| {
        b.iter(|| {
            let p = ingest::parse_json("batch.jsonl", black_box(&batch), &config, usize::MAX);
            assert_eq!(p.articles.len(), 1_000);
            p
        })
    });
    g.finish();
}

criterion_group!(hot, benches);
criterion_main!(hot);
