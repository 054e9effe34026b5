//! `sihai ingest`: send files to the running daemon's API and report per file.
//!
//! JSON files are split into records here (so problems come back as `FILE:LINE`) and sent
//! in batches; a file of several batches is first sent as a dry run, so a bad article in
//! the last batch refuses the whole file before anything is written. Pages are sent as
//! they are (the daemon detects their encoding).
//!
//! A `429` (the token's `[ingest] requests_per_minute`) or `503` (the store briefly
//! unavailable) with `Retry-After` is waited out (at most [`MAX_WAIT`] each time, saying so)
//! and the same request sent again, up to [`MAX_RETRIES`] times. Sending again is safe:
//! the daemon wrote nothing for those answers, and a repeated article is `unchanged`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::ProgressBar;
use serde_json::Value;

use crate::config::Config;
use crate::ingest::json::{split_records, Record};
use crate::ingest::InputKind;

/// Articles per request.
const BATCH_ARTICLES: usize = 1_000;
/// Longest wait for one `Retry-After`: a daemon asking for more is not waited for that
/// long at once (the next answer says again how long).
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Times one request is sent again after a `429` or `503`.
const MAX_RETRIES: u32 = 5;
/// The wait when a `429` or `503` gives no usable `Retry-After`.
const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// How a run of `sihai ingest` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientOutcome {
    /// Every file was accepted.
    Accepted,
    /// At least one file (or article) was refused.
    Refused,
    /// The daemon could not be reached, refused the token, or failed.
    Unavailable,
}

/// Options of `sihai ingest`.
pub struct IngestArgs<'a> {
    /// Base URL of the daemon (`http://127.0.0.1:8080`).
    pub server: String,
    /// The bearer token.
    pub token: String,
    /// Validate and report only.
    pub dry_run: bool,
    /// Files to send (`-` is stdin, read as JSON).
    pub files: &'a [PathBuf],
}

/// The daemon's URL from the config's listen address (wildcards become loopback).
pub fn default_server(config: &Config) -> String {
    let mut addr = config.server.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}

/// A failure that ends the run: the daemon is unreachable or refuses us.
struct Fatal(String);

/// Sends every file and prints a summary line per file and every problem.
pub fn ingest(args: &IngestArgs, max_batch_bytes: usize) -> ClientOutcome {
    let agent = super::client::agent(Some(Duration::from_secs(300)));
    let mut outcome = ClientOutcome::Accepted;
    for file in args.files {
        let name = file.display().to_string();
        match send_file(&agent, args, file, max_batch_bytes) {
            Ok(FileReport { counts, problems }) if problems.is_empty() => {
                let verb = if args.dry_run { "would be" } else { "" };
                println!(
                    "{name}: {} created, {} updated, {} unchanged{}",
                    counts[0],
                    counts[1],
                    counts[2],
                    if verb.is_empty() { String::new() } else { format!(" ({verb}; dry run)") }
                );
            }
            Ok(FileReport { problems, .. }) => {
                for p in &problems {
                    eprintln!("{p}");
                }
                println!("{name}: refused ({} problem(s)); nothing written", problems.len());
                outcome = ClientOutcome::Refused;
            }
            Err(Fatal(msg)) => {
                eprintln!("sihai: {name}: {msg}");
                return ClientOutcome::Unavailable;
            }
        }
    }
    outcome
}

struct FileReport {
    counts: [usize; 3],
    problems: Vec<String>,
}

fn send_file(agent: &ureq::Agent, args: &IngestArgs, file: &Path, max_batch_bytes: usize) -> Result<FileReport, Fatal> {
    let name = file.display().to_string();
    let refused = |msg: String| Ok(FileReport { counts: [0; 3], problems: vec![format!("{name}: {msg}")] });
    let kind = if name == "-" {
        InputKind::Json
    } else {
        match file.extension().and_then(|e| e.to_str()).and_then(InputKind::from_extension) {
            Some(k) => k,
            None => return refused("not a .json, .jsonl, .txt or .html file".into()),
        }
    };
    let bytes = if name == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
    } else {
        std::fs::read(file)
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => return refused(format!("cannot read: {e}")),
    };
    if kind == InputKind::Page {
        let ct = if matches!(file.extension().and_then(|e| e.to_str()), Some("html" | "htm")) {
            "text/html"
        } else {
            "text/plain"
        };
        let answer = post(agent, args, args.dry_run, ct, bytes, &ProgressBar::hidden())?;
        return Ok(report(&name, &[], answer));
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return refused(format!("JSON must be UTF-8; invalid byte at offset {}", e.utf8_error().valid_up_to()))
        }
    };
    let records = match split_records(&text) {
        Ok(r) => r,
        Err(e) => return refused(format!("{}:{}: not valid JSON: {}", e.line, e.column, e.message)),
    };
    if records.is_empty() {
        return refused("holds no article".into());
    }
    let batches = batches(&records, max_batch_bytes);
    let bar = super::progress::articles(format!("{name}: checking"), Some(records.len() as u64));
    let result = send_batches(agent, args, &name, &batches, &bar);
    bar.finish_and_clear();
    result
}

/// Sends a file's batches (after a whole dry run first when there are several), counting
/// the articles sent on `bar`.
fn send_batches(
    agent: &ureq::Agent,
    args: &IngestArgs,
    name: &str,
    batches: &[Vec<&Record>],
    bar: &ProgressBar,
) -> Result<FileReport, Fatal> {
    if batches.len() > 1 && !args.dry_run {
        // Validate the whole file before writing any of it.
        let mut problems = Vec::new();
        for batch in batches {
            problems.extend(report(name, batch, post_batch(agent, args, true, batch, bar)?).problems);
            bar.inc(batch.len() as u64);
        }
        if !problems.is_empty() {
            return Ok(FileReport { counts: [0; 3], problems });
        }
        bar.reset();
    }
    bar.set_message(format!("{name}: {}", if args.dry_run { "checking" } else { "sending" }));
    let mut total = FileReport { counts: [0; 3], problems: Vec::new() };
    for batch in batches {
        let r = report(name, batch, post_batch(agent, args, args.dry_run, batch, bar)?);
        bar.inc(batch.len() as u64);
        for i in 0..3 {
            total.counts[i] += r.counts[i];
        }
        total.problems.extend(r.problems);
    }
    Ok(total)
}

/// Splits records into batches of at most [`BATCH_ARTICLES`] and about `max_bytes`.
fn batches<'r, 'a>(records: &'r [Record<'a>], max_bytes: usize) -> Vec<Vec<&'r Record<'a>>> {
    let mut out: Vec<Vec<&Record>> = vec![Vec::new()];
    let mut size = 0;
    for r in records {
        let n = r.raw.len() + 1;
        let last = out.last_mut().expect("never empty");
        if !last.is_empty() && (last.len() >= BATCH_ARTICLES || size + n > max_bytes) {
            out.push(Vec::new());
            size = 0;
        }
        out.last_mut().expect("never empty").push(r);
        size += n;
    }
    out
}

fn post_batch(
    agent: &ureq::Agent,
    args: &IngestArgs,
    dry_run: bool,
    batch: &[&Record],
    bar: &ProgressBar,
) -> Result<Answer, Fatal> {
    // The records' own text, checked when the file was split, joined into one JSON array.
    let mut body = Vec::with_capacity(batch.iter().map(|r| r.raw.len() + 1).sum::<usize>() + 2);
    body.push(b'[');
    for (i, r) in batch.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(r.raw.as_bytes());
    }
    body.push(b']');
    post(agent, args, dry_run, "application/json", body, bar)
}

/// The daemon's answer to a POST that was not a fatal failure.
struct Answer {
    status: u16,
    json: Value,
}

fn post(
    agent: &ureq::Agent,
    args: &IngestArgs,
    dry_run: bool,
    content_type: &str,
    body: Vec<u8>,
    bar: &ProgressBar,
) -> Result<Answer, Fatal> {
    let url = format!("{}/api/articles{}", args.server.trim_end_matches('/'), if dry_run { "?dry_run=1" } else { "" });
    let mut retries = 0;
    let mut resp = loop {
        let resp = agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", args.token))
            .header("Content-Type", content_type)
            .send(&body[..])
            .map_err(|e| Fatal(super::client::unreachable(&args.server, &e)))?;
        let status = resp.status().as_u16();
        if !matches!(status, 429 | 503) || retries == MAX_RETRIES {
            break resp;
        }
        retries += 1;
        let header = resp.headers().get("retry-after").and_then(|v| v.to_str().ok());
        let wait = retry_after(header, std::time::SystemTime::now());
        bar.suspend(|| {
            eprintln!(
                "sihai: the daemon answered {status}; waiting {} s as it asks (Retry-After), then sending again (retry {retries} of {MAX_RETRIES})",
                wait.as_secs_f64().ceil()
            )
        });
        std::thread::sleep(wait);
    };
    let status = resp.status().as_u16();
    let text = resp.body_mut().with_config().limit(64 << 20).read_to_string().unwrap_or_default();
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let message = json["error"]["message"].as_str().unwrap_or(text.trim()).to_string();
    match status {
        200 | 400 | 422 => Ok(Answer { status, json }),
        401 => Err(Fatal(format!("the daemon refused the token: {message}"))),
        413 => Err(Fatal(format!("the daemon refused a batch as too large: {message}"))),
        _ => Err(Fatal(format!("the daemon answered {status}: {message}"))),
    }
}

/// How long to wait for a `Retry-After` value at `now`: seconds, or an HTTP date; at most
/// [`MAX_WAIT`], [`DEFAULT_WAIT`] when absent or unreadable.
fn retry_after(value: Option<&str>, now: std::time::SystemTime) -> Duration {
    let Some(value) = value.map(str::trim) else { return DEFAULT_WAIT };
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => match httpdate::parse_http_date(value) {
            Ok(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
            Err(_) => DEFAULT_WAIT,
        },
    };
    wait.min(MAX_WAIT)
}

/// Counts and problems of one answer, problems placed at `FILE:LINE` of their record.
fn report(name: &str, batch: &[&Record], answer: Answer) -> FileReport {
    let mut counts = [0; 3];
    if answer.status == 200 {
        for r in answer.json["results"].as_array().into_iter().flatten() {
            match r["status"].as_str() {
                Some("created") => counts[0] += 1,
                Some("updated") => counts[1] += 1,
                _ => counts[2] += 1,
            }
        }
        return FileReport { counts, problems: Vec::new() };
    }
    let mut problems = Vec::new();
    let list = answer.json["error"]["problems"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        let msg = answer.json["error"]["message"].as_str().unwrap_or("refused");
        problems.push(format!("{name}: {msg}"));
    }
    for p in list {
        let index = p["index"].as_u64().unwrap_or(0) as usize;
        let place = match batch.get(index) {
            Some(r) => format!("{name}:{}", r.line),
            None => name.to_string(),
        };
        let id = p["id"].as_str().map(|id| format!(" id {id:?}:")).unwrap_or_default();
        let field = p["field"].as_str().filter(|f| !f.is_empty()).map(|f| format!(" {f}:")).unwrap_or_default();
        problems.push(format!("{place}:{id}{field} {}", p["message"].as_str().unwrap_or("")));
    }
    FileReport { counts, problems }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn retry_after_is_seconds_or_a_date_and_capped() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let date = httpdate::fmt_http_date(now + Duration::from_secs(42));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(42));
        let cases = [
            (Some("3"), Duration::from_secs(3)),
            (Some(" 0 "), Duration::ZERO),
            (Some("86400"), MAX_WAIT),
            (Some(date.as_str()), Duration::from_secs(42)),
            (Some(past.as_str()), Duration::ZERO),
            (Some("soon"), DEFAULT_WAIT),
            (Some("-1"), DEFAULT_WAIT),
            (None, DEFAULT_WAIT),
        ];
        for (value, want) in cases {
            assert_eq!(retry_after(value, now), want, "{value:?}");
        }
        assert!(retry_after(Some("1"), SystemTime::now()) <= MAX_WAIT);
    }
}
