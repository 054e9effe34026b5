//! Read-path timings of sihai stores (`bench/store-bench` runs it).
//!
//! ```text
//! cargo run --release --example read_bench -- --data-dir DIR [--data-dir DIR2 ...]
//!     [--config config/sihai.toml] [--iters 2000] [--render-iters 300] [--warmup 200]
//!     [--round 50]
//! ```
//!
//! Opens each store as the daemon does (`Store::open` with `store::DEFAULT_CACHE_BYTES`) and
//! times, per feed, each call separately after a warm-up:
//!
//! - `read`: `Store::newest(.., 50, now)`: the index merge plus reading and decoding the
//!   50 articles;
//! - `prepare`: `Publisher::prepare` (store reads plus building the `FeedDoc`);
//! - `render_rss` / `render_atom`: rendering an already prepared doc;
//! - `full_rss` / `full_atom`: prepare plus render, what a cache miss in the daemon costs.
//!
//! Feeds: `changsha` (a leaf: one index range), `hunan` (its subtree: 3 ranges),
//! `domestic` (6 ranges) and the whole site (the site index).
//!
//! With several stores the measurements are interleaved in rounds of `--round` calls
//! (store A, store B, store A, ...), so that noise from other processes on the machine
//! falls on every store alike and ratios between stores stay meaningful.
//!
//! Output is one `key=value` line per measurement, e.g.
//! `read domestic newest50 store=store-100000 kind=subtree ranges=6 items=50 median_us=212.4 p99_us=301.9`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sihai::config::Config;
use sihai::feed::Target;
use sihai::publish::Publisher;
use sihai::store::{Scope, Store};

struct Args {
    data_dirs: Vec<PathBuf>,
    config: PathBuf,
    iters: usize,
    render_iters: usize,
    warmup: usize,
    round: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: read_bench --data-dir DIR [--data-dir DIR ...] [--config FILE] [--iters N] [--render-iters N] [--warmup N] [--round N]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        data_dirs: Vec::new(),
        config: PathBuf::from("config/sihai.toml"),
        iters: 2000,
        render_iters: 300,
        warmup: 200,
        round: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        let num = |v: &str| v.parse::<usize>().ok().filter(|&n| n > 0).unwrap_or_else(|| usage());
        match flag.as_str() {
            "--data-dir" => a.data_dirs.push(PathBuf::from(value)),
            "--config" => a.config = PathBuf::from(value),
            "--iters" => a.iters = num(&value),
            "--render-iters" => a.render_iters = num(&value),
            "--warmup" => a.warmup = num(&value),
            "--round" => a.round = num(&value),
            _ => usage(),
        }
    }
    if a.data_dirs.is_empty() {
        usage();
    }
    a
}

/// One timed operation: its output label and the call.
struct Case<'a> {
    label: String,
    call: Box<dyn FnMut() + 'a>,
    ns: Vec<u64>,
}

/// Warms every case up, then times `iters` calls of each, interleaved in rounds of
/// `round` calls per case; prints `label median_us=.. p99_us=..` per case.
fn run(cases: &mut [Case<'_>], warmup: usize, iters: usize, round: usize) {
    for case in cases.iter_mut() {
        for _ in 0..warmup {
            (case.call)();
        }
    }
    let mut done = 0;
    while done < iters {
        let n = round.min(iters - done);
        for case in cases.iter_mut() {
            for _ in 0..n {
                let t = Instant::now();
                (case.call)();
                case.ns.push(t.elapsed().as_nanos() as u64);
            }
        }
        done += n;
    }
    for case in cases.iter_mut() {
        case.ns.sort_unstable();
        let ns = &case.ns;
        let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)] as f64 / 1000.0;
        println!("{} median_us={:.1} p99_us={:.1}", case.label, at(0.5), at(0.99));
    }
}

fn main() {
    let args = parse_args();
    let config = Arc::new(Config::load(&args.config).unwrap_or_else(|e| {
        eprintln!("read_bench: {}: {e}", args.config.display());
        std::process::exit(2)
    }));
    let cats = &config.categories;
    let feeds: Vec<(&str, &str, Target)> = vec![
        ("changsha", "leaf", Target::Category(cats.by_slug("changsha").expect("changsha in config"))),
        ("hunan", "subtree", Target::Category(cats.by_slug("hunan").expect("hunan in config"))),
        ("domestic", "subtree", Target::Category(cats.by_slug("domestic").expect("domestic in config"))),
        ("all", "site", Target::All),
    ];
    let slugs_of = |target: &Target| -> Option<Vec<&str>> {
        match target {
            Target::All | Target::Tag(_) | Target::Author(_) => None,
            Target::Category(i) => Some(cats.subtree(*i).into_iter().map(|j| cats.list[j].slug.as_str()).collect()),
        }
    };
    let now = sihai::time::now();

    // Open every store; report its open time, size in articles, and the mean size of a
    // stored record (the JSON value sled keeps per article, before sled's compression).
    let mut stores: Vec<(String, Arc<Store>, Publisher)> = Vec::new();
    for dir in &args.data_dirs {
        let name = dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
        let t = Instant::now();
        let store = Store::open(dir, sihai::store::DEFAULT_CACHE_BYTES).unwrap_or_else(|e| {
            eprintln!("read_bench: {e}");
            std::process::exit(3)
        });
        let open_ms = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let articles = store.count_prefix("a/");
        let count_ms = t.elapsed().as_secs_f64() * 1000.0;
        let sample = store.newest(Scope::Site, 500, now).expect("store read");
        let record_bytes: usize = sample.iter().map(|a| serde_json::to_vec(a).expect("serializes").len()).sum();
        println!(
            "open store={name} articles={articles} open_ms={open_ms:.1} count_all_ms={count_ms:.1} mean_record_bytes={:.0}",
            record_bytes as f64 / sample.len().max(1) as f64
        );
        let store = Arc::new(store);
        let publisher = Publisher::new(config.clone(), store.clone(), Default::default()).unwrap_or_else(|e| {
            eprintln!("read_bench: {e}");
            std::process::exit(3)
        });
        stores.push((name, store, publisher));
    }

    // Store reads, interleaved over stores and feeds.
    let mut cases = Vec::new();
    for (name, store, _) in &stores {
        for (feed, kind, target) in &feeds {
            let slugs = slugs_of(target);
            let ranges = slugs.as_ref().map_or(1, Vec::len);
            let items = store.newest(scope(&slugs), 50, now).expect("store read").len();
            cases.push(Case {
                label: format!("read {feed} newest50 store={name} kind={kind} ranges={ranges} items={items}"),
                call: Box::new(move || {
                    std::hint::black_box(store.newest(scope(&slugs), 50, now).expect("store read"));
                }),
                ns: Vec::new(),
            });
        }
    }
    run(&mut cases, args.warmup, args.iters, args.round);
    drop(cases);

    // Prepare and render, interleaved likewise.
    let warm = args.warmup.min(args.render_iters);
    let mut cases = Vec::new();
    for (name, _, publisher) in &stores {
        for (feed, kind, target) in &feeds {
            let target = *target;
            let doc = publisher.view().prepare(target, None).expect("prepare");
            let items = doc.items.len();
            let rss_bytes = sihai::feed::rss::render(&doc).expect("rss").len();
            let atom_bytes = sihai::feed::atom::render(&doc).expect("atom").len();
            let doc = Arc::new(doc);
            let d = doc.clone();
            let cases_for: Vec<(String, Box<dyn FnMut() + '_>)> = vec![
                (
                    format!("prepare {feed} store={name} kind={kind} items={items}"),
                    Box::new(move || {
                        std::hint::black_box(publisher.view().prepare(target, None).expect("prepare"));
                    }),
                ),
                (
                    format!("render_rss {feed} store={name} kind={kind} items={items} bytes={rss_bytes}"),
                    Box::new(move || {
                        std::hint::black_box(sihai::feed::rss::render(&d).expect("rss"));
                    }),
                ),
                (
                    format!("render_atom {feed} store={name} kind={kind} items={items} bytes={atom_bytes}"),
                    Box::new(move || {
                        std::hint::black_box(sihai::feed::atom::render(&doc).expect("atom"));
                    }),
                ),
                (
                    format!("full_rss {feed} store={name} kind={kind}"),
                    Box::new(move || {
                        let doc = publisher.view().prepare(target, None).expect("prepare");
                        std::hint::black_box(sihai::feed::rss::render(&doc).expect("rss"));
                    }),
                ),
                (
                    format!("full_atom {feed} store={name} kind={kind}"),
                    Box::new(move || {
                        let doc = publisher.view().prepare(target, None).expect("prepare");
                        std::hint::black_box(sihai::feed::atom::render(&doc).expect("atom"));
                    }),
                ),
            ];
            cases.extend(cases_for.into_iter().map(|(label, call)| Case { label, call, ns: Vec::new() }));
        }
    }
    run(&mut cases, warm, args.render_iters, args.round);
}

/// The store's scope of a feed's slugs (`None`: the whole site).
fn scope<'a>(slugs: &'a Option<Vec<&'a str>>) -> Scope<'a> {
    slugs.as_deref().map_or(Scope::Site, Scope::Categories)
}
