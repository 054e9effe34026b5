//! What sled 0.34 charges per key, in the shapes of sihai's store and of the layouts it
//! could have: per "article" an `a/{id}` record with ids in input order, plus a
//! `p/{time}{id}` and a `c/{slug}\0{time}{id}` index key at random times (a corpus with
//! dates over years), 1,000 articles per `apply_batch`, a flush every 20 batches.
//!
//!     cd bench/micro && cargo run --release --example sled_keys -- VALUE_BYTES BATCHES [MODE]
//!
//! MODE: none (the layout above, schema 2), `schema3` (no `p/` key: sihai's layout since
//! schema 3), `noindex` (records only), `sorted` (index keys
//! at rising times, records at random ids), `bulk` (every key of the whole load sorted
//! first, then written in that order: the best case for sled), `bucket` (records plus
//! one or two per-day index buckets per article, read, extended and rewritten: a
//! time-bucketed index), `names` (schema 3 plus tag and author index keys, sihai's schema
//! 4: 0 to 4 tags and one author per article, each a `t/{name}\0{time}{id}` key) and
//! `namedays` (schema 3 plus one `(name, day)` bucket per tag and author, read, extended
//! and rewritten: the alternative with fewer keys when names repeat). `VOCAB=N` draws
//! names from N (skewed: small numbers are common, as popular tags are); without it every
//! name is new, as in `gen_corpus`'s random tags. Prints articles/s, the time in
//! `apply_batch` per 1,000 and the bytes on disk after the final flush.
//! `KEEP=1` keeps the store in the temp dir; `OPEN=DIR` instead opens a kept store with a
//! 16 MiB cache and prints the RSS after opening and after scanning its index keys (sled's
//! in-memory state per key). Numbers are in BENCHMARKS.md.

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
    let dir = std::env::temp_dir().join(format!("sihai-sled-keys-{mode}-{val}-{batches}"));
    if let Ok(open) = std::env::var("OPEN") {
        let t = Instant::now();
        let db = sled::Config::new().path(&open).cache_capacity(16 << 20).open().expect("open");
        let rss = || {
            std::fs::read_to_string("/proc/self/status")
                .unwrap()
                .lines()
                .find(|l| l.starts_with("VmRSS"))
                .unwrap()
                .to_string()
        };
        println!("opened in {:?}: {}", t.elapsed(), rss());
        let n = db.scan_prefix(b"b/").count() + db.scan_prefix(b"c/").count();
        println!("scanned {n} index keys: {}", rss());
        return;
    }
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
    if mode == "bulk" {
        let mut keys: Vec<Vec<u8>> = Vec::with_capacity(batches * 3000);
        for n in 0..batches as u64 * 1000 {
            let time = random() % 200_000_000;
            keys.push(format!("a/s1-{n:09}").into_bytes());
            keys.push(format!("p/{time:012}s1-{n:09}").into_bytes());
            keys.push(format!("c/cat{}\0{time:012}s1-{n:09}", random() % 15).into_bytes());
        }
        keys.sort_unstable();
        for (b, chunk) in keys.chunks(3000).enumerate() {
            let mut batch = sled::Batch::default();
            for k in chunk {
                batch.insert(k.as_slice(), if k.starts_with(b"a/") { value.clone() } else { Vec::new() });
            }
            let t = Instant::now();
            db.apply_batch(batch).expect("apply");
            in_apply += t.elapsed();
            if b % 20 == 19 {
                db.flush().expect("flush");
            }
        }
    }
    let vocab: Option<u64> = std::env::var("VOCAB").ok().and_then(|v| v.parse().ok());
    let name = move |random: &mut dyn FnMut() -> u64| match vocab {
        Some(v) => {
            let r = random();
            format!("n{}", r % ((r >> 32) % v + 1))
        }
        None => format!("u{}", random()),
    };
    if mode == "names" || mode == "namedays" {
        for b in 0..batches {
            let mut batch = sled::Batch::default();
            let mut buckets: std::collections::HashMap<Vec<u8>, Vec<u8>> = Default::default();
            for i in 0..1000u64 {
                let n = b as u64 * 1000 + i;
                let time = random() % 200_000_000;
                batch.insert(format!("a/s1-{n:09}").as_bytes(), value.clone());
                batch.insert(format!("c/cat{}\0{time:012}s1-{n:09}", random() % 15).as_bytes(), &[]);
                let names: Vec<String> = (0..(random() % 5) + 1).map(|_| name(&mut random)).collect();
                for nm in names {
                    if mode == "names" {
                        batch.insert(format!("t/{nm}\0{time:012}s1-{n:09}").as_bytes(), &[]);
                        continue;
                    }
                    let key = format!("t/{nm}\0{:05}", time / 86_400).into_bytes();
                    let bucket = match buckets.get_mut(&key) {
                        Some(v) => v,
                        None => {
                            let old = db.get(&key).expect("get").map(|v| v.to_vec()).unwrap_or_default();
                            buckets.entry(key.clone()).or_insert(old)
                        }
                    };
                    bucket.extend_from_slice(format!("{time:012}s1-{n:09}").as_bytes());
                }
            }
            for (k, v) in buckets {
                batch.insert(k, v);
            }
            let t = Instant::now();
            db.apply_batch(batch).expect("apply");
            in_apply += t.elapsed();
            if b % 20 == 19 {
                db.flush().expect("flush");
            }
        }
    }
    if mode == "bucket" {
        for b in 0..batches {
            let mut batch = sled::Batch::default();
            let mut buckets: std::collections::HashMap<Vec<u8>, Vec<u8>> = Default::default();
            for i in 0..1000u64 {
                let n = b as u64 * 1000 + i;
                batch.insert(format!("a/s1-{n:09}").as_bytes(), value.clone());
                let cats = 1 + (random() % 2) as usize;
                for _ in 0..cats {
                    let key = format!("b/cat{}\0{:05}", random() % 15, random() % 1825).into_bytes();
                    let entry = format!("{:08}s1-{n:09}xxxxxxxxx", random() % 100_000_000).into_bytes();
                    let bucket = match buckets.get_mut(&key) {
                        Some(v) => v,
                        None => {
                            let old = db.get(&key).expect("get").map(|v| v.to_vec()).unwrap_or_default();
                            buckets.entry(key.clone()).or_insert(old)
                        }
                    };
                    bucket.extend_from_slice(&entry);
                }
            }
            for (k, v) in buckets {
                batch.insert(k, v);
            }
            let t = Instant::now();
            db.apply_batch(batch).expect("apply");
            in_apply += t.elapsed();
            if b % 20 == 19 {
                db.flush().expect("flush");
            }
        }
    }
    for b in 0..if ["bulk", "bucket", "names", "namedays"].contains(&mode) { 0 } else { batches } {
        let mut batch = sled::Batch::default();
        for i in 0..1000u64 {
            let n = b as u64 * 1000 + i;
            let (id, time) = if mode == "sorted" { (random() % 100_000_000, n) } else { (n, random() % 200_000_000) };
            batch.insert(format!("a/s1-{id:09}").as_bytes(), value.clone());
            if mode != "noindex" {
                if mode != "schema3" {
                    batch.insert(format!("p/{time:012}s1-{id:09}").as_bytes(), &[]);
                }
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
    let disk = db.size_on_disk().unwrap_or(0);
    println!(
        "{val} B records, {mode:<7} {n} articles in {secs:.2} s = {:.0}/s; apply_batch {:.1} ms per 1,000; {:.1} MiB on disk",
        n as f64 / secs,
        in_apply.as_secs_f64() * 1000.0 / batches as f64,
        disk as f64 / 1048576.0
    );
    drop(db);
    if std::env::var("KEEP").is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
