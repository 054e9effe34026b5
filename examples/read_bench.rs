//! Read-path timings of a sihai store (`bench/store-bench` runs it).
//!
//! ```text
//! cargo run --release --example read_bench -- --data-dir DIR [--config config/sihai.toml]
//!     [--iters 2000] [--render-iters 300] [--warmup 200]
//! ```
//!
//! Opens the store as the daemon does (`Store::open` with `cli::STORE_CACHE_BYTES`) and
//! times, per feed kind, each call separately after a warm-up:
//!
//! - `read`: `Store::newest(.., 50, now)`: the index merge plus reading and decoding the
//!   50 articles;
//! - `prepare`: `Publisher::prepare` (store reads plus building the `FeedDoc`);
//! - `render_rss` / `render_atom`: rendering an already prepared doc;
//! - `full_rss` / `full_atom`: prepare plus render, what a cache miss in the daemon costs.
//!
//! Feeds: `changsha` (a leaf: one index range), `hunan` (its subtree: 3 ranges),
//! `domestic` (6 ranges) and the whole site (the site index). Output is one
//! `key=value` line per measurement, e.g.
//! `read domestic newest50 kind=subtree ranges=6 items=50 median_us=212.4 p99_us=301.9`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sihai::config::Config;
use sihai::feed::Target;
use sihai::publish::Publisher;
use sihai::store::Store;

struct Args {
    data_dir: PathBuf,
    config: PathBuf,
    iters: usize,
    render_iters: usize,
    warmup: usize,
}

fn usage() -> ! {
    eprintln!("usage: read_bench --data-dir DIR [--config FILE] [--iters N] [--render-iters N] [--warmup N]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        data_dir: PathBuf::new(),
        config: PathBuf::from("config/sihai.toml"),
        iters: 2000,
        render_iters: 300,
        warmup: 200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        let num = |v: &str| v.parse::<usize>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--data-dir" => a.data_dir = PathBuf::from(value),
            "--config" => a.config = PathBuf::from(value),
            "--iters" => a.iters = num(&value),
            "--render-iters" => a.render_iters = num(&value),
            "--warmup" => a.warmup = num(&value),
            _ => usage(),
        }
    }
    if a.data_dir.as_os_str().is_empty() {
        usage();
    }
    a
}

/// Runs `f` `warmup` times untimed, then `iters` times timed; (median, p99) in µs.
fn time<T>(warmup: usize, iters: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    for _ in 0..warmup {
        std::hint::black_box(f());
    }
    let mut ns: Vec<u64> = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        std::hint::black_box(f());
        ns.push(t.elapsed().as_nanos() as u64);
    }
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)] as f64 / 1000.0;
    (at(0.5), at(0.99))
}

fn main() {
    let args = parse_args();
    let config = Config::load(&args.config).unwrap_or_else(|e| {
        eprintln!("read_bench: {}: {e}", args.config.display());
        std::process::exit(2)
    });
    let t = Instant::now();
    let store = Store::open(&args.data_dir, sihai::cli::STORE_CACHE_BYTES).unwrap_or_else(|e| {
        eprintln!("read_bench: {e}");
        std::process::exit(3)
    });
    let open_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let articles = store.count_prefix("a/");
    let count_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "open dir={} articles={articles} open_ms={open_ms:.1} count_all_ms={count_ms:.1}",
        args.data_dir.display()
    );

    let cats = &config.categories;
    let feeds: Vec<(&str, &str, Target)> = vec![
        ("changsha", "leaf", Target::Category(cats.by_slug("changsha").expect("changsha in config"))),
        ("hunan", "subtree", Target::Category(cats.by_slug("hunan").expect("hunan in config"))),
        ("domestic", "subtree", Target::Category(cats.by_slug("domestic").expect("domestic in config"))),
        ("all", "site", Target::All),
    ];
    let now = sihai::publish::now();

    for (name, kind, target) in &feeds {
        let slugs: Option<Vec<&str>> = match target {
            Target::All => None,
            Target::Category(i) => Some(cats.subtree(*i).into_iter().map(|j| cats.list[j].slug.as_str()).collect()),
        };
        let ranges = slugs.as_ref().map_or(1, Vec::len);
        let read = || store.newest(slugs.as_deref(), 50, now).expect("store read");
        let items = read().len();
        let (median, p99) = time(args.warmup, args.iters, read);
        println!(
            "read {name} newest50 kind={kind} ranges={ranges} items={items} median_us={median:.1} p99_us={p99:.1}"
        );
    }

    let store = Arc::new(store);
    let publisher = Publisher::new(Arc::new(config.clone()), store.clone()).unwrap_or_else(|e| {
        eprintln!("read_bench: {e}");
        std::process::exit(3)
    });
    let warm = args.warmup.min(args.render_iters);
    for (name, kind, target) in &feeds {
        let prepare = || publisher.prepare(*target, None).expect("prepare");
        let doc = prepare();
        let items = doc.items.len();
        let (m, p) = time(warm, args.render_iters, prepare);
        println!("prepare {name} kind={kind} items={items} median_us={m:.1} p99_us={p:.1}");

        let rss_bytes = sihai::feed::rss::render(&doc).expect("rss").len();
        let (m, p) = time(warm, args.render_iters, || sihai::feed::rss::render(&doc).expect("rss"));
        println!("render_rss {name} kind={kind} items={items} bytes={rss_bytes} median_us={m:.1} p99_us={p:.1}");
        let atom_bytes = sihai::feed::atom::render(&doc).expect("atom").len();
        let (m, p) = time(warm, args.render_iters, || sihai::feed::atom::render(&doc).expect("atom"));
        println!("render_atom {name} kind={kind} items={items} bytes={atom_bytes} median_us={m:.1} p99_us={p:.1}");

        let (m, p) = time(warm, args.render_iters, || sihai::feed::rss::render(&prepare()).expect("rss"));
        println!("full_rss {name} kind={kind} median_us={m:.1} p99_us={p:.1}");
        let (m, p) = time(warm, args.render_iters, || sihai::feed::atom::render(&prepare()).expect("atom"));
        println!("full_atom {name} kind={kind} median_us={m:.1} p99_us={p:.1}");
    }
}
