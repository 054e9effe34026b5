//! Micro-benchmarks of the hot pieces of sihai (issue 7):
//!
//! - `render/{rss,atom,json}`: a prepared 50-item feed, each item ~6 KB of Chinese HTML;
//! - `prepare`: stored articles -> `FeedDoc` (what a cache miss does before rendering);
//! - `compress/{gzip,br}`: the rendered RSS, Atom and JSON with `sihai::encoding::compress`
//!   (the levels the daemon uses);
//! - `ingest/parse_json_1000`: reading and normalizing a JSON Lines batch of 1,000 articles
//!   (~2.3 KB of content each, like `examples/gen_corpus.rs`), as `POST /api/articles`
//!   and `sihai import` do before touching the store.
//!
//! Inputs are built through the library's own public API (`ingest::parse_json`, then
//! `feed::prepare`), so the HTML is what normalization really produces (ammonia-sanitized,
//! absolute links). The text is drawn from a seeded PRNG over common characters with a
//! Zipf-like weighting, so it does not repeat and compresses like real Chinese text.
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
use sihai::ingest::{self, normalize::excerpt_of};
use sihai::model::StoredArticle;

/// The daemon's global allocator (`src/main.rs`), so allocation costs are the daemon's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// About 1,000 of the most frequent characters of modern Chinese, most frequent first.
const FREQUENT: &str = "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方\
多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情\
明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给\
世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太\
量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象\
完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济\
车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚\
请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历\
首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音\
跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值\
仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤\
素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担";

/// SplitMix64: tiny, seeded, stable.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + ((self.next_u64() as u128 * (hi - lo + 1) as u128) >> 64) as u64
    }
}

/// Chinese text with a Zipf-like character distribution (weight 1/(rank+15)^1.2).
struct Text {
    pool: Vec<char>,
    cumulative: Vec<u64>,
    rng: Rng,
}

impl Text {
    fn new(seed: u64) -> Text {
        let pool: Vec<char> = FREQUENT.chars().collect();
        let weights: Vec<f64> = (0..pool.len()).map(|r| 1.0 / ((r + 15) as f64).powf(1.2)).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w / total;
                (acc * u64::MAX as f64) as u64
            })
            .collect();
        Text { pool, cumulative, rng: Rng(seed) }
    }

    fn chars(&mut self, n: u64, out: &mut String) {
        for _ in 0..n {
            let x = self.rng.next_u64();
            let i = self.cumulative.partition_point(|&c| c < x).min(self.pool.len() - 1);
            out.push(self.pool[i]);
        }
    }

    /// A sentence of 1-4 clauses with Chinese punctuation.
    fn sentence(&mut self, out: &mut String) {
        let clauses = self.rng.range(1, 4);
        for i in 0..clauses {
            if i > 0 {
                out.push('，');
            }
            let n = self.rng.range(3, 16);
            self.chars(n, out);
            if self.rng.range(0, 19) == 0 {
                out.push_str(&format!("{}.{}%", self.rng.range(0, 99), self.rng.range(0, 9)));
            }
        }
        out.push(if self.rng.range(0, 19) == 0 { '！' } else { '。' });
    }

    /// Paragraphs until about `chars` characters.
    fn paragraphs(&mut self, chars: usize) -> Vec<String> {
        let mut paras = Vec::new();
        let mut written = 0;
        while written < chars {
            let mut p = String::new();
            for _ in 0..self.rng.range(1, 6) {
                self.sentence(&mut p);
            }
            written += p.chars().count();
            paras.push(p);
        }
        paras
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
    let parsed = ingest::parse_json("feed.jsonl", &text, config);
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems.first().map(|p| p.to_string()));
    let mut stored: Vec<StoredArticle> = parsed
        .articles
        .into_iter()
        .map(|article| StoredArticle {
            guid: format!("tag:{}:{}", config.site.tag_authority, article.id),
            created: article.published,
            modified: article.published,
            updated: article.published,
            excerpt: excerpt_of(&article),
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
    let parsed = ingest::parse_json("batch.jsonl", &batch, &config);
    assert!(parsed.problems.is_empty() && parsed.articles.len() == 1_000);
    eprintln!("ingest batch: 1000 articles, {} B of JSON Lines", batch.len());
    let mut g = c.benchmark_group("ingest");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("parse_json_1000", |b| {
        b.iter(|| {
            let p = ingest::parse_json("batch.jsonl", black_box(&batch), &config);
            assert_eq!(p.articles.len(), 1_000);
            p
        })
    });
    g.finish();
}

criterion_group!(hot, benches);
criterion_main!(hot);
