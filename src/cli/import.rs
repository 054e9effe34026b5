//! `sihai import`: read input files (article JSON, JSON Lines, article pages), check every
//! article of every file, then write them into a stopped daemon's store in batches.

use std::path::{Path, PathBuf};

use super::outcome::{open_store, Outcome};
use crate::config::Config;
use crate::ingest::{self, InputKind, Parsed};
use crate::model::WriteStatus;
use crate::store::{Store, StoreError};

/// Articles written per atomic batch by `import`.
const IMPORT_BATCH: usize = 1_000;

/// Reads one input file (`-` for stdin, read as JSON) into articles and problems.
fn read_input(path: &Path, config: &Config) -> Parsed {
    let name = path.display().to_string();
    let kind = if name == "-" {
        InputKind::Json
    } else {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match InputKind::from_extension(ext) {
            Some(k) => k,
            None => {
                let msg = format!(
                    "cannot read .{ext} files: give .json or .jsonl (article JSON) or .txt/.html (article pages)"
                );
                return Parsed { problems: vec![ingest::Problem::whole(&name, msg)], ..Parsed::default() };
            }
        }
    };
    let bytes = if name == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    match bytes {
        Ok(bytes) => ingest::parse_input(&name, &bytes, kind, config),
        Err(e) => {
            Parsed { problems: vec![ingest::Problem::whole(&name, format!("cannot read: {e}"))], ..Parsed::default() }
        }
    }
}

pub fn import(config: &Config, data_dir: Option<PathBuf>, files: &[PathBuf]) -> anyhow::Result<Outcome> {
    let mut articles = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        let parsed = read_input(file, config);
        articles.extend(parsed.articles);
        problems.extend(parsed.problems);
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        let bad: std::collections::HashSet<_> = problems.iter().map(|p| (p.source.clone(), p.index)).collect();
        eprintln!("sihai: nothing imported: {} problem(s) in {} article(s) or file(s)", problems.len(), bad.len());
        return Ok(Outcome::Refused);
    }
    let dir = data_dir.unwrap_or_else(|| config.server.data_dir.clone());
    let store = match open_store(&dir) {
        Ok(s) => s,
        Err(o) => return Ok(o),
    };
    let total = articles.len();
    let counts = match write_all(config, &store, articles) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sihai: import failed: {e}; articles written before the failure are kept, run the import again to complete it");
            return Ok(Outcome::StoreUnavailable);
        }
    };
    drop(store);
    Store::checkpoint(&dir);
    println!(
        "imported {total} article(s) from {} file(s) into {}: {} created, {} updated, {} unchanged",
        files.len(),
        dir.display(),
        counts[0],
        counts[1],
        counts[2]
    );
    Ok(Outcome::Ok)
}

/// Writes articles in atomic batches and flushes; counts of created, updated, unchanged.
/// A second thread prepares each batch (excerpts, encoded records) while the store writes
/// the one before: sled applies a batch on one core, and the preparing uses the other.
fn write_all(config: &Config, store: &Store, articles: Vec<crate::model::Article>) -> Result<[usize; 3], StoreError> {
    let now = crate::time::now();
    crate::publish::sync_feeds(config, store, now)?;
    let authority = config.site.tag_authority.as_str();
    let mut counts = [0usize; 3];
    let bar = super::progress::articles("importing articles".into(), Some(articles.len() as u64));
    let (ready, prepared) = std::sync::mpsc::sync_channel(1);
    let written = std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut articles = articles.into_iter().peekable();
            while articles.peek().is_some() {
                let chunk: Vec<_> = articles.by_ref().take(IMPORT_BATCH).collect();
                if ready.send(store.prepare(chunk, now, authority)).is_err() {
                    return; // the writer stopped on an error
                }
            }
        });
        for batch in prepared {
            let written = store.upsert_prepared(batch)?.written;
            bar.inc(written.len() as u64);
            for w in written {
                counts[match w.status {
                    WriteStatus::Created => 0,
                    WriteStatus::Updated => 1,
                    WriteStatus::Unchanged => 2,
                }] += 1;
            }
        }
        Ok::<(), StoreError>(())
    });
    bar.finish_and_clear();
    written?;
    store.flush()?;
    Ok(counts)
}
