//! Raw inputs to normalized articles: the ingest stage of config -> ingest -> store.
//!
//! `json` splits JSON input into located records, `page` reads article pages (UTF-8 or
//! GB18030) into article objects, `normalize` turns one object into an
//! [`Article`](crate::model::Article) or a list of field problems, `dates` and `text` hold
//! the rules for dates and strings. Nothing here touches the store.

pub mod dates;
pub mod json;
pub mod normalize;
pub mod page;
pub mod text;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::Config;
use crate::model::Article;

/// One problem with one input article, as reported to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The input's name (a file, `-`, or `body` for an HTTP request).
    pub source: String,
    /// 1-based line the article (or the syntax error) is on, when known.
    pub line: Option<usize>,
    /// 1-based column of a syntax error.
    pub column: Option<usize>,
    /// Whether the article sat in a JSON array (its index is then shown).
    pub in_array: bool,
    /// 0-based position of the article in its input.
    pub index: usize,
    /// The article's id, when it gave one.
    pub id: Option<String>,
    /// The field at fault (empty when the whole input or article is).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem with a whole input (unreadable, wrong kind, not JSON).
    pub fn whole(source: &str, message: impl Into<String>) -> Problem {
        Problem {
            source: source.to_string(),
            line: None,
            column: None,
            in_array: false,
            index: 0,
            id: None,
            field: String::new(),
            message: message.into(),
        }
    }

    /// `FILE:LINE[:COLUMN]`, with `(item N)` inside an array.
    pub fn location(&self) -> String {
        let mut loc = self.source.clone();
        if let Some(l) = self.line {
            loc.push_str(&format!(":{l}"));
            if let Some(c) = self.column {
                loc.push_str(&format!(":{c}"));
            }
        }
        if self.in_array {
            loc.push_str(&format!(" (item {})", self.index));
        }
        loc
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:", self.location())?;
        if let Some(id) = &self.id {
            write!(f, " id {id:?}:")?;
        }
        if !self.field.is_empty() {
            write!(f, " {}:", self.field)?;
        }
        write!(f, " {}", self.message)
    }
}

/// The result of reading one input: the good articles and every problem.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Articles that normalized, in input order.
    pub articles: Vec<Article>,
    /// How many articles the input held (good and bad).
    pub total: usize,
    /// The input could not be read as articles at all (not JSON, undecodable): a
    /// malformed request rather than invalid articles.
    pub unreadable: bool,
    /// Everything wrong; when not empty, nothing should be written.
    pub problems: Vec<Problem>,
    /// The input held this many articles, more than one request may carry: nothing of it
    /// was normalized ([`parse_request`]).
    pub too_many: Option<usize>,
}

/// What kind of input a body or file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Article JSON: an object, an array, or JSON Lines.
    Json,
    /// An article page, as text or HTML, in UTF-8 or GB18030.
    Page,
}

impl InputKind {
    /// The kind of a file by its extension.
    pub fn from_extension(ext: &str) -> Option<InputKind> {
        match ext.to_ascii_lowercase().as_str() {
            "json" | "jsonl" | "ndjson" => Some(InputKind::Json),
            "txt" | "html" | "htm" => Some(InputKind::Page),
            _ => None,
        }
    }

    /// The kind of an HTTP body by its `Content-Type` (JSON when absent).
    pub fn from_content_type(content_type: Option<&str>) -> Option<InputKind> {
        let Some(ct) = content_type else { return Some(InputKind::Json) };
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match mime.as_str() {
            "application/json"
            | "application/x-ndjson"
            | "application/jsonl"
            | "application/json-lines"
            | "application/x-jsonlines"
            | "" => Some(InputKind::Json),
            "text/plain" | "text/html" => Some(InputKind::Page),
            _ => None,
        }
    }
}

/// Reads one input of `kind` named `source` into articles.
pub fn parse_input(source: &str, bytes: &[u8], kind: InputKind, config: &Config) -> Parsed {
    parse_at_most(source, bytes, kind, config, usize::MAX)
}

/// [`parse_input`] of an API request's body: more than `[ingest] max_articles_per_request`
/// articles are refused before any is normalized (their cost, and their memory, grow with
/// their number; `sihai import` of a file has no such limit).
///
/// Normalizing stops, with nothing written, past [`REQUEST_READ_SECONDS`] or as soon as
/// `abandoned` is set (the request's future was dropped: the client went away).
pub fn parse_request(source: &str, bytes: &[u8], kind: InputKind, config: &Config, abandoned: &AtomicBool) -> Parsed {
    let limits = Limits {
        max_articles: config.ingest.content.max_articles_per_request,
        deadline: Some(Instant::now() + REQUEST_READ_SECONDS),
        abandoned: Some(abandoned),
    };
    parse_within(source, bytes, kind, config, limits)
}

/// How long reading and normalizing one API request may take in all. A batch within the
/// content limits takes well under a second (2,000 generated articles, 5.3 MB, in 0.18 s
/// measured with the release build); one that
/// takes longer is refused (`[Parsed::problems]`), so no request holds a core for long.
pub const REQUEST_READ_SECONDS: Duration = Duration::from_secs(30);

/// What one parse may cost.
#[derive(Clone, Copy)]
struct Limits<'a> {
    max_articles: usize,
    deadline: Option<Instant>,
    /// Set when nobody waits for the answer any more.
    abandoned: Option<&'a AtomicBool>,
}

fn parse_at_most(source: &str, bytes: &[u8], kind: InputKind, config: &Config, max_articles: usize) -> Parsed {
    parse_within(source, bytes, kind, config, Limits { max_articles, deadline: None, abandoned: None })
}

fn parse_within(source: &str, bytes: &[u8], kind: InputKind, config: &Config, limits: Limits) -> Parsed {
    match kind {
        // simdutf8: checking a 2.6 MB batch with std took 3 ms of a write's serial time.
        InputKind::Json => match simdutf8::compat::from_utf8(bytes) {
            Ok(text) => read_json(source, text, config, limits),
            Err(e) => Parsed {
                unreadable: true,
                problems: vec![Problem::whole(
                    source,
                    format!("JSON must be UTF-8; invalid byte at offset {}", e.valid_up_to()),
                )],
                ..Parsed::default()
            },
        },
        InputKind::Page => parse_page(source, bytes, config),
    }
}

/// Reads JSON text (object, array, JSON Lines) named `source` into at most
/// `max_articles` articles (more: nothing is normalized, [`Parsed::too_many`]).
pub fn parse_json(source: &str, text: &str, config: &Config, max_articles: usize) -> Parsed {
    read_json(source, text, config, Limits { max_articles, deadline: None, abandoned: None })
}

fn read_json(source: &str, text: &str, config: &Config, limits: Limits) -> Parsed {
    let records = match json::split_records(text) {
        Ok(r) => r,
        Err(e) => {
            let mut p = Problem::whole(source, format!("not valid JSON: {}", e.message));
            (p.line, p.column) = (Some(e.line), Some(e.column));
            return Parsed { problems: vec![p], unreadable: true, ..Parsed::default() };
        }
    };
    if records.len() > limits.max_articles {
        return Parsed { total: records.len(), too_many: Some(records.len()), ..Parsed::default() };
    }
    // Normalizing (sanitizing HTML above all) is the costly part: done on all cores.
    let parts = crate::parallel::chunks(&records, |part| normalize_records(source, part, config, limits));
    let mut parsed = Parsed { total: records.len(), ..Parsed::default() };
    for part in parts {
        parsed.articles.extend(part.articles);
        parsed.problems.extend(part.problems);
    }
    parsed
}

fn normalize_records(source: &str, records: &[json::Record], config: &Config, limits: Limits) -> Parsed {
    let mut parsed = Parsed::default();
    for rec in records {
        if limits.deadline.is_some_and(|d| Instant::now() > d) {
            let secs = REQUEST_READ_SECONDS.as_secs();
            let msg = format!("reading this request took over {secs} s; nothing was written: send smaller batches");
            parsed.problems.push(Problem::whole(source, msg));
            break;
        }
        if limits.abandoned.is_some_and(|a| a.load(Ordering::Relaxed)) {
            parsed.problems.push(Problem::whole(source, "the client went away; nothing was written"));
            break;
        }
        let place =
            Problem { line: Some(rec.line), in_array: rec.in_array, index: rec.index, ..Problem::whole(source, "") };
        match rec.value() {
            Ok(value) => normalize_into(&mut parsed, &value, place, config),
            Err(json::RecordError::Syntax(e)) => {
                parsed.problems.push(Problem { message: format!("not valid JSON: {}", e.message), ..place })
            }
            Err(json::RecordError::Duplicate(field)) => parsed.problems.push(Problem {
                message: format!("{field} is given twice; give each field once"),
                field,
                ..place
            }),
        }
    }
    parsed
}

/// Reads an article page (text or HTML, UTF-8 or GB18030) named `source`.
pub fn parse_page(source: &str, bytes: &[u8], config: &Config) -> Parsed {
    let mut parsed = Parsed { total: 1, ..Parsed::default() };
    let text = match page::decode(bytes) {
        Ok(t) => t,
        Err(e) => {
            parsed.problems.push(Problem::whole(source, e));
            parsed.unreadable = true;
            return parsed;
        }
    };
    match page::parse(&text, config.site.image_base_url.as_ref()) {
        Ok(value) => normalize_into(&mut parsed, &value, Problem::whole(source, ""), config),
        Err(problems) => parsed.problems.extend(problems.into_iter().map(|p| Problem {
            field: p.field,
            message: p.message,
            ..Problem::whole(source, "")
        })),
    }
    parsed
}

/// Normalizes one value into `parsed`, its problems placed like `place`.
fn normalize_into(parsed: &mut Parsed, value: &Value, place: Problem, config: &Config) {
    match normalize::normalize(value, config) {
        Ok(a) => parsed.articles.push(a),
        Err(problems) => {
            let id = value.get("id").and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
            parsed.problems.extend(problems.into_iter().map(|p| Problem {
                id: id.clone(),
                field: p.field,
                message: p.message,
                ..place.clone()
            }));
        }
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    #[test]
    fn a_request_that_takes_too_long_to_read_is_refused_whole() {
        let config = crate::config::for_tests();
        let text = r#"{"title": "t", "category": "hunan", "published": "2024-01-01"}"#;
        let late =
            Limits { max_articles: 10, deadline: Some(Instant::now() - Duration::from_secs(1)), abandoned: None };
        let parsed = read_json("body", text, &config, late);
        assert!(parsed.articles.is_empty(), "nothing read past the deadline");
        assert!(parsed.problems[0].message.contains("took over 30 s"), "{:?}", parsed.problems);
        let in_time =
            Limits { max_articles: 10, deadline: Some(Instant::now() + Duration::from_secs(30)), abandoned: None };
        assert_eq!(read_json("body", text, &config, in_time).articles.len(), 1);
    }

    #[test]
    fn a_request_whose_client_went_away_stops_normalizing() {
        let config = crate::config::for_tests();
        let text = r#"[{"title": "t", "category": "hunan", "published": "2024-01-01"}]"#;
        let gone = AtomicBool::new(true);
        let parsed = parse_request("body", text.as_bytes(), InputKind::Json, &config, &gone);
        assert!(parsed.articles.is_empty(), "nothing normalized for nobody");
        assert!(parsed.problems[0].message.contains("the client went away"), "{:?}", parsed.problems);
        let here = AtomicBool::new(false);
        assert_eq!(parse_request("body", text.as_bytes(), InputKind::Json, &config, &here).articles.len(), 1);
    }
}
