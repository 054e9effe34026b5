//! Raw inputs to normalized articles: the ingest stage of config -> ingest -> store.
//!
//! `json` splits input into located records, `normalize` turns one record into an
//! [`Article`](crate::model::Article) or a list of field problems, `dates` and `text` hold
//! the rules for dates and strings. Nothing here touches the store.

pub mod dates;
pub mod json;
pub mod normalize;
pub mod text;

use crate::config::Config;
use crate::model::Article;

/// One problem with one input article, as reported to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `FILE:LINE` (or `FILE:LINE (item N)` inside an array).
    pub location: String,
    /// 0-based position of the article in its input.
    pub index: usize,
    /// The article's id, when it gave one.
    pub id: Option<String>,
    /// The field at fault (empty when the whole input or article is).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:", self.location)?;
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
    /// Everything wrong; when not empty, nothing should be written.
    pub problems: Vec<Problem>,
}

/// Reads JSON text (object, array, JSON Lines) named `source` into articles.
pub fn parse_json(source: &str, text: &str, config: &Config) -> Parsed {
    let mut parsed = Parsed::default();
    let records = match json::split_records(text) {
        Ok(r) => r,
        Err(e) => {
            parsed.problems.push(Problem {
                location: format!("{source}:{}:{}", e.line, e.column),
                index: 0,
                id: None,
                field: String::new(),
                message: format!("not valid JSON: {}", e.message),
            });
            return parsed;
        }
    };
    for rec in records {
        match normalize::normalize(&rec.value, config) {
            Ok(a) => parsed.articles.push(a),
            Err(problems) => {
                let location = if rec.in_array {
                    format!("{source}:{} (item {})", rec.line, rec.index)
                } else {
                    format!("{source}:{}", rec.line)
                };
                let id = rec.value.get("id").and_then(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
                parsed.problems.extend(problems.into_iter().map(|p| Problem {
                    location: location.clone(),
                    index: rec.index,
                    id: id.clone(),
                    field: p.field,
                    message: p.message,
                }));
            }
        }
    }
    parsed
}
