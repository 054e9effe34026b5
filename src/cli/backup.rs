//! Backup and restore: `sihai export` and `sihai import --restore`.
//!
//! An export is JSON Lines of [`ExportRecord`]s: a header, the feeds' metadata, and every
//! id's article (with its GUID and stored times) or tombstone. Restored into an empty
//! store, it gives back the same GUIDs, times and feed ids, so the feeds served afterwards
//! are byte-identical to the original's.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::ProgressBar;

use super::outcome::{open_store, Outcome};
use crate::config::Config;
use crate::store::{ExportRecord, Store, StoreError, SCHEMA_VERSION};
use crate::text::is_xml_char;
use crate::time::{EARLIEST, LATEST};

/// Records written per atomic batch by a restore.
const RESTORE_BATCH: usize = 1_000;

/// `sihai export`: from the store when the daemon is stopped, else through its API.
pub fn export(
    config: &Config,
    data_dir: Option<PathBuf>,
    server: Option<String>,
    token_file: Option<&Path>,
    output: Option<&Path>,
) -> anyhow::Result<Outcome> {
    let dir = data_dir.unwrap_or_else(|| config.server.data_dir.clone());
    let mut sink = Sink::open(output)?;
    let bar = super::progress::articles("exporting records".into(), None);
    let result = match Store::open(&dir, crate::store::DEFAULT_CACHE_BYTES) {
        Ok(store) => store
            .export(|record| {
                serde_json::to_writer(&mut sink.writer, record).map_err(std::io::Error::other)?;
                bar.inc(1);
                sink.writer.write_all(b"\n")
            })
            .map(|n| format!("exported {n} article(s) and tombstone(s) from {}", dir.display()))
            .map_err(|e| e.to_string()),
        Err(StoreError::Locked(_)) => {
            let mut counted = CountLines { inner: &mut sink.writer, bar: &bar };
            export_from_daemon(config, server, token_file, &mut counted)
        }
        Err(e) => Err(super::outcome::with_hint(&e)),
    };
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            sink.finish()?;
            eprintln!("{summary}");
            Ok(Outcome::Ok)
        }
        Err(e) => {
            eprintln!("sihai: export failed: {e}; nothing complete was written");
            Ok(Outcome::StoreUnavailable)
        }
    }
}

fn export_from_daemon(
    config: &Config,
    server: Option<String>,
    token_file: Option<&Path>,
    out: &mut dyn Write,
) -> Result<String, String> {
    let token = crate::auth::client_token(config, token_file)?;
    let server = server.unwrap_or_else(|| super::ingest::default_server(config));
    let url = format!("{}/api/export", server.trim_end_matches('/'));
    let agent = super::client::agent(None);
    let mut resp = agent.get(&url).header("Authorization", &format!("Bearer {token}")).call().map_err(|e| {
        format!("the store is in use (a daemon holds it), and {}", super::client::unreachable(&server, &e))
    })?;
    if resp.status() != 200 {
        return Err(format!("the daemon answered {}", resp.status()));
    }
    let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
    let n = std::io::copy(&mut reader, out).map_err(|e| format!("the export stream broke off: {e}"))?;
    Ok(format!("exported {n} bytes from the running daemon at {server}"))
}

/// A writer that counts the lines (records) of an export streamed from the daemon on a
/// progress bar.
struct CountLines<'a> {
    inner: &'a mut dyn Write,
    bar: &'a ProgressBar,
}

impl Write for CountLines<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bar.inc(buf[..n].iter().filter(|&&b| b == b'\n').count() as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Where an export goes: stdout, or FILE.partial renamed to FILE once complete.
struct Sink {
    writer: Box<dyn Write>,
    paths: Option<(PathBuf, PathBuf)>,
}

impl Sink {
    fn open(output: Option<&Path>) -> anyhow::Result<Sink> {
        Ok(match output {
            None => Sink { writer: Box::new(std::io::BufWriter::new(std::io::stdout())), paths: None },
            Some(path) => {
                let partial = PathBuf::from(format!("{}.partial", path.display()));
                let file = std::fs::File::create(&partial).with_context(|| {
                    format!("cannot write {}: check that its directory exists and is writable", partial.display())
                })?;
                Sink { writer: Box::new(std::io::BufWriter::new(file)), paths: Some((partial, path.to_path_buf())) }
            }
        })
    }

    fn finish(mut self) -> anyhow::Result<()> {
        self.writer.flush()?;
        drop(self.writer);
        if let Some((partial, path)) = self.paths {
            std::fs::File::open(&partial)?.sync_all()?;
            std::fs::rename(&partial, &path)?;
        }
        Ok(())
    }
}

/// `sihai import --restore FILE...`: validates every line of every file, then writes them
/// in atomic batches into an empty store.
pub fn restore(config: &Config, data_dir: Option<PathBuf>, files: &[PathBuf]) -> anyhow::Result<Outcome> {
    let mut problems = Vec::new();
    let mut records = 0u64;
    let checking = super::progress::articles("checking records".into(), None);
    for file in files {
        let counted = each_record(file, |_, _| {
            records += 1;
            checking.inc(1);
            Ok(())
        });
        if let Err(e) = counted {
            problems.extend(e);
        }
    }
    checking.finish_and_clear();
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!("sihai: nothing restored: {} problem(s)", problems.len());
        return Ok(Outcome::Refused);
    }
    let dir = data_dir.unwrap_or_else(|| config.server.data_dir.clone());
    let store = match open_store(&dir) {
        Ok(s) => s,
        Err(o) => return Ok(o),
    };
    if !store.is_empty_of_articles() {
        eprintln!("sihai: {} already holds articles: restore into an empty data directory", dir.display());
        return Ok(Outcome::Refused);
    }
    let mut restored = 0usize;
    let bar = super::progress::articles("restoring records".into(), Some(records));
    let outcome = restore_files(config, &store, files, &bar, &mut restored);
    bar.finish_and_clear();
    if let Some(outcome) = outcome? {
        return Ok(outcome);
    }
    store.flush()?;
    println!("restored {restored} article(s) and tombstone(s) into {}", dir.display());
    Ok(Outcome::Ok)
}

/// Writes every record of the (checked) files in atomic batches; `Some` outcome when it
/// had to stop, with the message printed.
fn restore_files(
    config: &Config,
    store: &Store,
    files: &[PathBuf],
    bar: &ProgressBar,
    restored: &mut usize,
) -> anyhow::Result<Option<Outcome>> {
    for file in files {
        let mut batch = Vec::with_capacity(RESTORE_BATCH);
        let write = |batch: &mut Vec<ExportRecord>| -> Result<(), StoreError> {
            store.ensure_space(batch.len() as u64 * 4096, config.server.min_free_bytes)?;
            store.restore(batch)?;
            batch.clear();
            Ok(())
        };
        let mut failure = None;
        let walked = each_record(file, |_, record| {
            if matches!(record, ExportRecord::Article(_) | ExportRecord::Tombstone { .. }) {
                *restored += 1;
            }
            bar.inc(1);
            batch.push(record);
            if batch.len() >= RESTORE_BATCH {
                if let Err(e) = write(&mut batch) {
                    failure = Some(e);
                    return Err("stop".into());
                }
            }
            Ok(())
        });
        if let Some(e) = failure {
            bar.suspend(|| eprintln!("sihai: restore failed: {e}; empty the data directory and run it again"));
            return Ok(Some(Outcome::StoreUnavailable));
        }
        if walked.is_err() {
            let name = file.display();
            bar.suspend(|| {
                eprintln!("sihai: {name} changed while restoring; empty the data directory and run it again")
            });
            return Ok(Some(Outcome::Refused));
        }
        if let Err(e) = write(&mut batch) {
            bar.suspend(|| eprintln!("sihai: restore failed: {e}; empty the data directory and run it again"));
            return Ok(Some(Outcome::StoreUnavailable));
        }
    }
    Ok(None)
}

/// Reads every record of an export file, checking each; calls `f` with the good ones.
/// `Err` holds every problem (as `FILE:LINE: ...`).
fn each_record(file: &Path, mut f: impl FnMut(usize, ExportRecord) -> Result<(), String>) -> Result<(), Vec<String>> {
    let name = file.display().to_string();
    let reader = match std::fs::File::open(file) {
        Ok(fh) => BufReader::new(fh),
        Err(e) => return Err(vec![format!("{name}: cannot read: {e}")]),
    };
    let mut problems = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                problems.push(format!("{name}:{n}: {e}"));
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let record: ExportRecord = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{name}:{n}: not an export record: {e}"));
                continue;
            }
        };
        if let Err(p) = check(&record, n == 1) {
            problems.push(format!("{name}:{n}: {p}"));
            continue;
        }
        if problems.is_empty() {
            if let Err(e) = f(n, record) {
                problems.push(format!("{name}:{n}: {e}"));
                break;
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// What a restore requires of a record (an export from this schema, sane fields).
fn check(record: &ExportRecord, first: bool) -> Result<(), String> {
    let clean = |s: &str| s.chars().all(is_xml_char);
    match record {
        // Schemas 3 and 4 changed only the store's indexes (a restore rebuilds them): exports
        // of schema 2 and 3 read the same.
        ExportRecord::Header { schema, .. } if !(2..=SCHEMA_VERSION).contains(schema) => {
            Err(format!("export of schema {schema}; this sihai restores schemas 2 to {SCHEMA_VERSION}"))
        }
        ExportRecord::Header { .. } => Ok(()),
        _ if first => Err("the first line must be the export header".into()),
        ExportRecord::Article(a) => {
            let x = &a.article;
            if x.id.is_empty() || a.guid.is_empty() || x.categories.is_empty() || x.title.is_empty() {
                Err(format!("article {:?}: id, guid, title and categories are required", x.id))
            } else if !(EARLIEST..LATEST).contains(&x.published) {
                Err(format!("article {:?}: published out of range", x.id))
            } else if !clean(&x.title) || !clean(&x.id) || !x.content_html.as_deref().is_none_or(clean) {
                Err(format!("article {:?}: characters XML forbids", x.id))
            } else {
                Ok(())
            }
        }
        ExportRecord::Tombstone { id, guid } if id.is_empty() || guid.is_empty() => {
            Err("tombstone: id and guid are required".into())
        }
        _ => Ok(()),
    }
}
