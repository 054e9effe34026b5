//! What sled 0.34 charges per key, in the shapes of sihai's store (schema 2): per
//! "article" an `a/{id}` record with ids in input order, plus a `p/{time}{id}` and a
//! `c/{slug}\0{time}{id}` index key at random times (a corpus with dates over years),
//! 1,000 articles per `apply_batch`, a flush every 20 batches.
//!
//!     cd bench/micro && cargo run --release --example sled_keys -- VALUE_BYTES BATCHES [noindex|sorted]
//!
//! `noindex` writes the records only; `sorted` gives the index keys rising times (articles
//! written oldest first) but the records random ids. Prints articles/s and the time in
//! `apply_batch` per 1,000 articles. Numbers from one run are in BENCHMARKS.md.

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(val), Some(batches)) =
        (args.first().and_then(|v| v.parse::<usize>().ok()), args.get(1).and_then(|v| v.parse::<usize>().ok()))
    else {
        eprintln!("usage: sled_keys VALUE_BYTES BATCHES [noindex|sorted]");
        std::process::exit(2);
    };
    let mode = args.get(2).map(String::as_str).unwrap_or("");
    let dir = std::env::temp_dir().join(format!("sihai-sled-keys-{}", std::process::id()));
    let db =
        sled::Config::new().path(&dir).cache_capacity(64 << 20).mode(sled::Mode::HighThroughput).open().expect("open");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let value: Vec<u8> = (0..val).map(|i| (i * 7919 % 251) as u8).collect();
    let (start, mut in_apply) = (Instant::now(), Duration::ZERO);
    for b in 0..batches {
        let mut batch = sled::Batch::default();
        for i in 0..1000u64 {
            let n = b as u64 * 1000 + i;
            let (id, time) = if mode == "sorted" { (random() % 100_000_000, n) } else { (n, random() % 200_000_000) };
            batch.insert(format!("a/s1-{id:09}").as_bytes(), value.clone());
            if mode != "noindex" {
                batch.insert(format!("p/{time:012}s1-{id:09}").as_bytes(), &[]);
                batch.insert(format!("c/cat{}\0{time:012}s1-{id:09}", random() % 15).as_bytes(), &[]);
            }
        }
        let t = Instant::now();
        db.apply_batch(batch).expect("apply");
        in_apply += t.elapsed();
        if b % 20 == 19 {
            db.flush().expect("flush");
        }
    }
    db.flush().expect("flush");
    let n = batches * 1000;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{val} B records, {mode:<7} {n} articles in {secs:.2} s = {:.0}/s; apply_batch {:.1} ms per 1,000",
        n as f64 / secs,
        in_apply.as_secs_f64() * 1000.0 / batches as f64
    );
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
