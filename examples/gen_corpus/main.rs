//! Synthetic article corpus for the storage benchmarks (`bench/store-bench`).
//!
//! ```text
//! cargo run --release --example gen_corpus -- --count 100000 [--seed 1] [--out corpus.jsonl]
//!     [--config config/sihai.toml]
//! ```
//!
//! Writes `--count` articles as JSON Lines in sihai's article JSON format (what
//! `sihai import` reads), streaming: memory stays flat from 1k to 1M articles.
//!
//! - `category` is a slug, name or alias of a category of the config, uniformly over the
//!   whole tree (roots, inner nodes and leaves).
//! - `published` is `YYYY-MM-DD HH:MM:SS` site time, uniform from 2019-01-01 to 2026-11-01
//!   (or now, if that is earlier): never in the future.
//! - About half have a `url`; about 40% a `summary`; half give `content_text`, half
//!   `content_html`, each 500-900 characters (~2 KB of UTF-8) of Chinese.
//! - The text never repeats: characters are drawn from a seeded PRNG over 3,755 common
//!   characters (GB 2312 level 1) with a Zipf-like weighting by frequency rank (the top
//!   1,000 cover about 87% of the text, as in real Chinese), cut into clauses, sentences
//!   and paragraphs of random lengths with Chinese punctuation and the odd number.
//!
//! Output is a pure function of `--seed`, `--count` and the config.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use chrono::{FixedOffset, TimeZone, Utc};
use serde::Serialize;
use text::{Chars, Rng};

mod text;

/// Common Chinese surnames, for bylines.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
/// Bylines that are agencies rather than people.
const AGENCIES: &[&str] = &["新华社", "中新社", "本报综合", "央视新闻", "人民网", "四海资讯"];

/// One article in sihai's input JSON format (optional fields left out when absent).
#[derive(Serialize)]
struct ArticleJson<'a> {
    id: String,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    category: &'a str,
    published: String,
    author: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
}

struct Args {
    count: u64,
    seed: u64,
    out: Option<PathBuf>,
    config: PathBuf,
}

fn usage() -> ! {
    eprintln!("usage: gen_corpus --count N [--seed S] [--out FILE] [--config config/sihai.toml]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args { count: 0, seed: 1, out: None, config: PathBuf::from("config/sihai.toml") };
    let mut it = std::env::args().skip(1);
    let mut have_count = false;
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--count" => {
                args.count = value.replace('_', "").parse().unwrap_or_else(|_| usage());
                have_count = true;
            }
            "--seed" => args.seed = value.parse().unwrap_or_else(|_| usage()),
            "--out" => args.out = Some(PathBuf::from(value)),
            "--config" => args.config = PathBuf::from(value),
            _ => usage(),
        }
    }
    if !have_count {
        usage();
    }
    args
}

fn main() -> std::io::Result<()> {
    let args = parse_args();
    let config = sihai::config::Config::load(&args.config).unwrap_or_else(|e| {
        eprintln!("gen_corpus: {}: {e}", args.config.display());
        std::process::exit(2)
    });
    // Every way an article may name each category: slug, display name, aliases.
    let references: Vec<(String, Vec<String>)> = config
        .categories
        .list
        .iter()
        .map(|c| {
            let mut names = vec![c.slug.clone(), c.name.clone()];
            names.extend(c.aliases.iter().cloned());
            (c.slug.clone(), names)
        })
        .collect();

    // Site time is Asia/Shanghai in the shipped config: UTC+8 all year since 1991.
    let site = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    let from = site.with_ymd_and_hms(2019, 1, 1, 0, 0, 0).unwrap().timestamp();
    let until = site.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap().timestamp().min(Utc::now().timestamp() - 60);

    let chars = Chars::new();
    let surnames: Vec<char> = SURNAMES.chars().collect();
    let mut rng = Rng(args.seed ^ 0x5EED_5EED_5EED_5EED);
    let sink: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::fs::File::create(p)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, sink);
    for n in 0..args.count {
        let (slug, names) = rng.pick(&references);
        let category = rng.pick(names).as_str();
        let published = rng.range(from as u64, until as u64) as i64;
        let local = site.timestamp_opt(published, 0).unwrap();
        let id = format!("s{}-{n:07}", args.seed);

        let mut title = String::new();
        let k = rng.range(6, 14);
        chars.run(&mut rng, k, &mut title);
        if rng.chance(30) {
            title.push('：');
            let k = rng.range(4, 10);
            chars.run(&mut rng, k, &mut title);
        }

        let url =
            rng.chance(50).then(|| format!("https://news.sihai.example/{slug}/{}/{id}.html", local.format("%Y/%m%d")));

        let author = if rng.chance(15) {
            rng.pick(AGENCIES).to_string()
        } else {
            let mut a = rng.pick(&surnames).to_string();
            let k = rng.range(1, 2);
            chars.run(&mut rng, k, &mut a);
            a
        };

        let summary = rng.chance(40).then(|| {
            let mut s = String::new();
            for _ in 0..rng.range(1, 2) {
                chars.sentence(&mut rng, &mut s);
            }
            s
        });

        let body_chars = rng.range(500, 900) as usize;
        let paras = chars.paragraphs(&mut rng, body_chars);
        let (content_text, content_html) = if rng.chance(50) {
            (Some(paras.join("\n\n")), None)
        } else {
            let mut html = String::new();
            for (i, p) in paras.iter().enumerate() {
                html.push_str("<p>");
                if i == 0 && rng.chance(30) {
                    html.push_str("<strong>");
                    html.push_str(&title);
                    html.push_str("</strong> ");
                }
                html.push_str(p);
                if rng.chance(10) {
                    html.push_str(&format!(" <a href=\"/{slug}/related-{}.html\">相关报道</a>", rng.range(1, 99_999)));
                }
                html.push_str("</p>");
            }
            (None, Some(html))
        };

        let tags = (0..rng.range(0, 4))
            .map(|_| {
                let mut t = String::new();
                let k = rng.range(2, 4);
                chars.run(&mut rng, k, &mut t);
                t
            })
            .collect();

        let article = ArticleJson {
            id,
            title,
            url,
            category,
            published: local.format("%Y-%m-%d %H:%M:%S").to_string(),
            author,
            summary,
            content_text,
            content_html,
            tags,
        };
        serde_json::to_writer(&mut out, &article)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
