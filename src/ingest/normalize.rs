//! One article object (JSON) to a normalized [`Article`], or every problem with it.
//!
//! This is the only place an `Article` is made: every input (JSON, JSON Lines, and later
//! HTTP and article pages) comes through here, so the rules of the article model live in
//! one file. Problems name the field and what is wrong; all of them are collected.
//!
//! Why one file of this length (about 490 lines of code, 160 of tests): it is one
//! checker method per article field on one `Normalizer` that collects the problems, and
//! the checks depend on each other (the id on the url, categories and published date;
//! links and the image on the url or `base_url`). Split by field, every file would need
//! the same state and the same problem list.

use serde_json::{Map, Value};
use url::Url;

use super::dates::parse_instant;
use super::text::{plain_text, sanitize_html, text_to_html};
use crate::config::Config;
use crate::model::{Article, Author, Image};
use crate::text::{fold_whitespace, strip_xml_illegal};

/// Longest id accepted, in characters.
pub const MAX_ID_CHARS: usize = 200;
/// How many times longer than its character limit (in UTF-8 bytes, before markup is
/// removed) a plain-text field may be before it is refused unread: the markup, entities
/// and 3-byte characters of a legitimate field fit; a megabyte-long one is not parsed.
const RAW_PER_CHAR: usize = 16;
const FIELDS: &[&str] = &[
    "id",
    "title",
    "url",
    "category",
    "categories",
    "published",
    "updated",
    "author",
    "authors",
    "summary",
    "content_html",
    "content_text",
    "image",
    "tags",
];

/// What is wrong with one field of one article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field's name (`published`, `authors[1].email`).
    pub field: String,
    /// What is wrong, and what is accepted.
    pub message: String,
}

impl FieldProblem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldProblem { field: field.into(), message: message.into() }
    }
}

/// Normalizes one article object; `Err` holds every problem found.
pub fn normalize(value: &Value, config: &Config) -> Result<Article, Vec<FieldProblem>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![FieldProblem::new("", format!("expected an article object, found {}", kind_of(value)))]);
    };
    let mut n = Normalizer { obj, config, problems: Vec::new() };
    let article = n.article();
    match article {
        Some(a) if n.problems.is_empty() => Ok(a),
        _ => Err(n.problems),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Normalizer<'a> {
    obj: &'a Map<String, Value>,
    config: &'a Config,
    problems: Vec<FieldProblem>,
}

impl<'a> Normalizer<'a> {
    fn problem(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(FieldProblem::new(field, message));
    }

    /// The field's value, with `null` read as absent.
    fn field(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    fn string(&mut self, name: &str) -> Option<String> {
        match self.field(name)? {
            Value::String(s) => Some(s.clone()),
            other => {
                let k = kind_of(other);
                self.problem(name, format!("must be a string, found {k}"));
                None
            }
        }
    }

    fn article(&mut self) -> Option<Article> {
        for key in self.obj.keys() {
            if !FIELDS.contains(&key.as_str()) {
                self.problem(key.clone(), format!("unknown field; known fields are {}", FIELDS.join(", ")));
            }
        }
        let title = self.title();
        let url = self.url();
        let categories = self.categories();
        let tz = self.config.site.timezone;
        let published = match self.date("published", tz) {
            Some(None) => {
                self.problem("published", "is required (RFC 3339, \"YYYY-MM-DD HH:MM[:SS]\" or \"YYYY-MM-DD\")");
                None
            }
            other => other.flatten(),
        };
        let updated = self.date("updated", tz);
        let base = url.as_ref().and_then(|u| Url::parse(u).ok()).unwrap_or_else(|| self.config.site.base_url.clone());
        let authors = self.authors();
        let max_summary = self.limits().max_summary_chars;
        let summary = self.string("summary").and_then(|s| self.text("summary", &s, max_summary));
        let content_html = self.content(&base);
        let image = self.image(&base);
        let tags = self.tags();
        let published = published?;
        let (title, categories) = (title?, categories?);
        let id = self.id(url.as_deref(), &categories, published, &title)?;
        Some(Article {
            id,
            title,
            url,
            categories,
            published,
            updated: updated.flatten(),
            authors,
            summary,
            content_html,
            image,
            tags,
        })
    }

    fn id(&mut self, url: Option<&str>, categories: &[String], published: i64, title: &str) -> Option<String> {
        let id = match self.field("id") {
            None => return Some(derive_id(url, categories, published, title)),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            Some(other) => {
                let k = kind_of(other);
                self.problem("id", format!("must be a string, found {k}"));
                return None;
            }
        };
        // The canonical spelling is what is checked and stored (surrounding white space,
        // tabs included, is not part of an id).
        let id = crate::model::canonical_id(&id);
        let chars = id.chars().count();
        if chars == 0 {
            self.problem("id", "must not be empty or only white space");
        } else if chars > MAX_ID_CHARS {
            self.problem("id", format!("must be 1-{MAX_ID_CHARS} characters, has {chars}"));
        } else if id.chars().any(char::is_control) {
            self.problem("id", "must not contain control characters");
        } else {
            return Some(id);
        }
        None
    }

    fn title(&mut self) -> Option<String> {
        if self.field("title").is_none() {
            self.problem("title", "is required");
            return None;
        }
        let raw = self.string("title")?;
        let title = self.text("title", &raw, self.limits().max_title_chars);
        if title.is_none() && !self.problems.iter().any(|p| p.field == "title") {
            self.problem("title", "is empty (after removing markup and white space)");
        }
        title
    }

    /// The limits on what one article may hold.
    fn limits(&self) -> &'a crate::config::ContentLimits {
        &self.config.ingest.content
    }

    /// A plain-text field: its text (markup removed, entities decoded, folded), `None` when
    /// empty, or when longer than `max` characters (a problem naming `field`). A field far
    /// longer than that is refused before its markup is parsed.
    fn text(&mut self, field: &str, raw: &str, max: usize) -> Option<String> {
        let too_long = |this: &mut Self| {
            this.problem(field, format!("is longer than {max} characters"));
            None
        };
        if raw.len() > max.saturating_mul(RAW_PER_CHAR) {
            return too_long(self);
        }
        let text = plain_text(raw);
        if text.chars().count() > max {
            return too_long(self);
        }
        Some(text).filter(|t| !t.is_empty())
    }

    fn url(&mut self) -> Option<String> {
        let raw = self.string("url")?;
        match absolute_http_url(&raw, None) {
            Ok(u) => Some(u.to_string()),
            Err(e) => {
                self.problem("url", e);
                None
            }
        }
    }

    fn categories(&mut self) -> Option<Vec<String>> {
        let mut refs: Vec<(String, String)> = Vec::new();
        if let Some(s) = self.string("category") {
            refs.push(("category".into(), s));
        }
        match self.field("categories") {
            None => {}
            Some(Value::Array(items)) if items.len() > self.limits().max_categories => {
                let max = self.limits().max_categories;
                self.problem(
                    "categories",
                    format!("has {} entries; at most {max} ([ingest] max_categories)", items.len()),
                );
                return None;
            }
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => refs.push((format!("categories[{i}]"), s.clone())),
                        other => {
                            let k = kind_of(other);
                            self.problem(format!("categories[{i}]"), format!("must be a string, found {k}"));
                        }
                    }
                }
            }
            Some(other) => {
                let k = kind_of(other);
                self.problem("categories", format!("must be an array of strings, found {k}"));
            }
        }
        if refs.is_empty() {
            if self.field("category").is_none() && self.field("categories").is_none() {
                self.problem("category", "is required (a slug, name, alias or breadcrumb; or give `categories`)");
            } else if self.problems.iter().all(|p| !p.field.starts_with("categor")) {
                self.problem("categories", "is empty: give at least one category");
            }
            return None;
        }
        let mut slugs = Vec::new();
        let mut ok = true;
        for (field, reference) in refs {
            match self.config.categories.resolve(&strip_xml_illegal(&reference)) {
                Ok(idx) => {
                    let slug = self.config.categories.list[idx].slug.clone();
                    if !slugs.contains(&slug) {
                        slugs.push(slug);
                    }
                }
                Err(e) => {
                    self.problem(field, format!("unknown category: {e}"));
                    ok = false;
                }
            }
        }
        ok.then_some(slugs)
    }

    /// `Some(None)` when the date is absent; `None` on a problem (recorded).
    fn date(&mut self, name: &str, tz: chrono_tz::Tz) -> Option<Option<i64>> {
        if self.field(name).is_none() {
            return Some(None);
        }
        let raw = self.string(name)?;
        match parse_instant(&raw, tz) {
            Ok(t) => Some(Some(t)),
            Err(e) => {
                self.problem(name, e);
                None
            }
        }
    }

    fn authors(&mut self) -> Vec<Author> {
        let mut authors = Vec::new();
        let max_name = self.limits().max_name_chars;
        if let Some(raw) = self.string("author") {
            match self.text("author", &raw, max_name) {
                Some(name) => authors.push(Author { name, email: None, uri: None }),
                None if !self.problems.iter().any(|p| p.field == "author") => self.problem("author", "is empty"),
                None => {}
            }
        }
        match self.field("authors") {
            None => {}
            Some(Value::Array(items)) if items.len() > self.limits().max_authors => {
                let max = self.limits().max_authors;
                self.problem("authors", format!("has {} entries; at most {max} ([ingest] max_authors)", items.len()));
            }
            Some(Value::Array(items)) => {
                // A set, so that removing repeats stays linear however many there are.
                let mut seen: std::collections::HashSet<Author> = authors.iter().cloned().collect();
                for (i, item) in items.iter().enumerate() {
                    if let Some(a) = self.author(i, item) {
                        if seen.insert(a.clone()) {
                            authors.push(a);
                        }
                    }
                }
            }
            Some(other) => {
                let k = kind_of(other);
                self.problem("authors", format!("must be an array of {{name, email?, uri?}}, found {k}"));
            }
        }
        authors
    }

    fn author(&mut self, i: usize, item: &Value) -> Option<Author> {
        let field = format!("authors[{i}]");
        let max_name = self.limits().max_name_chars;
        let obj = match item {
            Value::String(s) => {
                return self.text(&field, s, max_name).map(|name| Author { name, email: None, uri: None });
            }
            Value::Object(o) => o,
            other => {
                let k = kind_of(other);
                self.problem(field, format!("must be an object {{name, email?, uri?}}, found {k}"));
                return None;
            }
        };
        for key in obj.keys().filter(|k| !matches!(k.as_str(), "name" | "email" | "uri")) {
            self.problem(format!("{field}.{key}"), "unknown field; an author has name, email, uri");
        }
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
        let name_field = format!("{field}.name");
        let name = match text("name") {
            Some(raw) => self.text(&name_field, raw, max_name),
            None => None,
        };
        let Some(name) = name else {
            if !self.problems.iter().any(|p| p.field == name_field) {
                self.problem(name_field, "is required");
            }
            return None;
        };
        let email = text("email").map(str::to_string);
        if let Some(e) = &email {
            if !is_email(e) {
                self.problem(format!("{field}.email"), format!("{e:?} is not an e-mail address"));
                return None;
            }
        }
        let uri = match text("uri") {
            None => None,
            Some(u) => match absolute_http_url(u, None) {
                Ok(u) => Some(u.to_string()),
                Err(e) => {
                    self.problem(format!("{field}.uri"), e);
                    return None;
                }
            },
        };
        Some(Author { name, email, uri })
    }

    fn content(&mut self, base: &Url) -> Option<String> {
        let html = self.string("content_html");
        let text = self.string("content_text");
        let content = match (html, text) {
            (Some(_), Some(_)) => {
                self.problem("content_text", "give content_html or content_text, not both");
                return None;
            }
            (Some(h), None) => {
                // Sanitizing builds a tree: its cost grows faster than the input with depth.
                let (depth, max) = (crate::text::html_depth(&h), self.limits().max_html_depth);
                if depth > max {
                    let msg =
                        format!("nests elements {depth} deep; at most {max} ([ingest] max_html_depth): flatten it");
                    self.problem("content_html", msg);
                    return None;
                }
                sanitize_html(&h, base)
            }
            (None, Some(t)) => text_to_html(&t),
            (None, None) => return None,
        };
        Some(content).filter(|c| !c.is_empty())
    }

    fn image(&mut self, base: &Url) -> Option<Image> {
        let (url, mime, length) = match self.field("image")? {
            Value::String(s) => (s.clone(), None, 0),
            Value::Object(o) => {
                for key in o.keys().filter(|k| !matches!(k.as_str(), "url" | "type" | "length")) {
                    self.problem(format!("image.{key}"), "unknown field; an image has url, type, length");
                }
                let Some(url) = o.get("url").and_then(Value::as_str) else {
                    self.problem("image.url", "is required");
                    return None;
                };
                let length = match o.get("length") {
                    None | Some(Value::Null) => 0,
                    Some(v) => match v.as_u64() {
                        Some(n) => n,
                        None => {
                            self.problem("image.length", "must be a whole number of bytes");
                            return None;
                        }
                    },
                };
                let mime = o.get("type").and_then(Value::as_str).map(str::trim).map(str::to_string);
                if let Some(m) = &mime {
                    if !is_mime_type(m) {
                        self.problem("image.type", format!("{m:?} is not a MIME type such as image/jpeg"));
                        return None;
                    }
                }
                (url.to_string(), mime, length)
            }
            other => {
                let k = kind_of(other);
                self.problem("image", format!("must be a URL or {{url, type?, length?}}, found {k}"));
                return None;
            }
        };
        match absolute_http_url(&url, Some(base)) {
            Ok(u) => {
                let mime_type = mime.unwrap_or_else(|| guess_image_type(u.path()).to_string());
                Some(Image { url: u.to_string(), mime_type, length })
            }
            Err(e) => {
                self.problem("image", e);
                None
            }
        }
    }

    fn tags(&mut self) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        let (max_tags, max_name) = (self.limits().max_tags, self.limits().max_name_chars);
        match self.field("tags") {
            None => {}
            Some(Value::Array(items)) if items.len() > max_tags => {
                self.problem("tags", format!("has {} entries; at most {max_tags} ([ingest] max_tags)", items.len()));
            }
            Some(Value::Array(items)) => {
                let mut seen = std::collections::HashSet::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(s) => {
                            // An empty tag is dropped; a too long one is a problem (`text`).
                            if let Some(t) = self.text(&format!("tags[{i}]"), s, max_name) {
                                if seen.insert(t.clone()) {
                                    tags.push(t);
                                }
                            }
                        }
                        None => {
                            let k = kind_of(item);
                            self.problem(format!("tags[{i}]"), format!("must be a string, found {k}"));
                        }
                    }
                }
            }
            Some(other) => {
                let k = kind_of(other);
                self.problem("tags", format!("must be an array of strings, found {k}"));
            }
        }
        tags
    }
}

/// The id an article without one gets: from its URL, else from its primary category,
/// published instant and title (so an id-less article whose title is edited is new).
pub fn derive_id(url: Option<&str>, categories: &[String], published: i64, title: &str) -> String {
    match url {
        Some(u) => format!("url-{}", &blake3::hash(u.as_bytes()).to_hex()[..32]),
        None => {
            let primary = categories.first().map(String::as_str).unwrap_or("");
            let key = format!("{primary}\n{published}\n{title}");
            format!("auto-{}", &blake3::hash(key.as_bytes()).to_hex()[..32])
        }
    }
}

/// An absolute http(s) URL; relative ones are resolved against `base` when given.
pub fn absolute_http_url(raw: &str, base: Option<&Url>) -> Result<Url, String> {
    let raw = fold_whitespace(&strip_xml_illegal(raw));
    let parsed = match base {
        Some(b) => b.join(&raw),
        None => Url::parse(&raw),
    };
    match parsed {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u),
        Ok(u) => Err(format!("{raw:?} must be an http or https URL, not {}:", u.scheme())),
        Err(e) => Err(format!("{raw:?} is not an absolute http(s) URL ({e})")),
    }
}

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"".contains(c))
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

fn is_mime_type(s: &str) -> bool {
    let ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    matches!(s.split_once('/'), Some((t, sub)) if ok(t) && ok(sub))
}

/// The MIME type of an image from its file name; `application/octet-stream` if unknown.
pub fn guess_image_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "bmp" => "image/bmp",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> Config {
        crate::config::for_tests()
    }

    fn ok(v: Value) -> Article {
        normalize(&v, &config()).unwrap_or_else(|p| panic!("{v}: {p:?}"))
    }

    /// The problems of an invalid article as `field: message` lines.
    fn problems(v: Value) -> Vec<String> {
        normalize(&v, &config())
            .expect_err("should be refused")
            .into_iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect()
    }

    fn base() -> Value {
        json!({"id": "a1", "title": "标题", "category": "hunan", "published": "2021-09-03"})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = base();
        v[field] = value;
        v
    }

    #[test]
    fn minimal_article_normalizes() {
        let a = ok(base());
        assert_eq!(a.id, "a1");
        assert_eq!(a.categories, vec!["hunan"]);
        assert_eq!(a.published, 1_630_598_400); // 2021-09-03T00:00:00+08:00
        assert_eq!(a.updated, None);
    }

    #[test]
    fn every_invalid_field_is_named() {
        let cases: Vec<(Value, &str)> = vec![
            (json!([1]), ": expected an article object, found an array"),
            (with("title", json!("  ")), "title: is empty"),
            (with("title", json!(5)), "title: must be a string, found a number"),
            (with("title", json!("<b></b>")), "title: is empty"),
            (with("url", json!("javascript:alert(1)")), "url: \"javascript:alert(1)\" must be an http or https URL"),
            (with("url", json!("/relative")), "url: \"/relative\" is not an absolute http(s) URL"),
            (with("category", json!("体育新闻X")), "category: unknown category: \"体育新闻X\" is not a category"),
            (
                with("category", json!("国际 > 湖南新闻")),
                "category: unknown category: in \"国际 > 湖南新闻\", \"国际\" is not an ancestor",
            ),
            (with("published", json!("03/09/2021")), "published: \"03/09/2021\" is not a date"),
            (with("published", json!("1900-01-01")), "published: \"1900-01-01\" is out of range"),
            (with("updated", json!("soon")), "updated: \"soon\" is not a date"),
            (with("id", json!("")), "id: must not be empty or only white space"),
            (with("id", json!(" \t ")), "id: must not be empty or only white space"),
            (with("id", json!("x".repeat(201))), "id: must be 1-200 characters, has 201"),
            (with("id", json!("a\u{7}b")), "id: must not contain control characters"),
            (with("id", json!({"x": 1})), "id: must be a string, found an object"),
            (
                with("authors", json!([{"name": "甲", "email": "not-mail"}])),
                "authors[0].email: \"not-mail\" is not an e-mail address",
            ),
            (with("authors", json!([{"email": "a@b.cn"}])), "authors[0].name: is required"),
            (with("authors", json!("甲")), "authors: must be an array"),
            (with("image", json!({"url": "x.jpg", "length": -1})), "image.length: must be a whole number"),
            (with("image", json!({"url": "x.jpg", "type": "jpeg"})), "image.type: \"jpeg\" is not a MIME type"),
            (with("image", json!("ftp://x/y.jpg")), "image: \"ftp://x/y.jpg\" must be an http or https URL"),
            (with("tags", json!("a,b")), "tags: must be an array of strings, found a string"),
            (with("tags", json!(["a", 1])), "tags[1]: must be a string, found a number"),
            (with("colour", json!("red")), "colour: unknown field"),
            (
                with("content_text", json!("t")).tap_insert("content_html", json!("<p>h</p>")),
                "content_text: give content_html or content_text, not both",
            ),
        ];
        for (input, want) in cases {
            let got = problems(input.clone());
            assert!(got.iter().any(|p| p.starts_with(want)), "{input}\nwant {want}\ngot {got:?}");
        }
    }

    trait TapInsert {
        fn tap_insert(self, k: &str, v: Value) -> Value;
    }
    impl TapInsert for Value {
        fn tap_insert(mut self, k: &str, v: Value) -> Value {
            self[k] = v;
            self
        }
    }

    #[test]
    fn missing_required_fields_are_all_reported() {
        let got = problems(json!({}));
        for want in ["title: is required", "category: is required", "published: is required"] {
            assert!(got.iter().any(|p| p.starts_with(want)), "{want} not in {got:?}");
        }
    }

    #[test]
    fn strings_are_cleaned() {
        let a = ok(json!({
            "id": "x", "title": " 标\u{1}题 <i>斜</i>\n第二行 ", "category": "首页 > 国内资讯 > 湖南新闻",
            "published": "2021-09-03", "summary": "<p>摘要</p>\u{b}", "author": " 谢伟峰 ",
            "content_html": "<p onclick=\"x\">正文<script>bad()</script><a href=\"/p\">链接</a></p>\u{0}",
            "tags": ["甲", " 甲 ", "", "乙"], "url": "https://news.example.com/a/b.html"
        }));
        assert_eq!(a.title, "标题 斜 第二行");
        assert_eq!(a.summary.as_deref(), Some("摘要"));
        assert_eq!(a.authors[0].name, "谢伟峰");
        assert_eq!(a.tags, vec!["甲", "乙"]);
        let html = a.content_html.unwrap();
        assert!(!html.contains("script") && !html.contains("onclick") && !html.contains('\u{0}'), "{html}");
        assert!(html.contains("href=\"https://news.example.com/p\""), "{html}");
    }

    #[test]
    fn relative_links_without_url_resolve_against_base_url() {
        let a = ok(with("content_html", json!("<img src=\"img/a.png\">")).tap_insert("image", json!("/i/b.webp")));
        assert!(a.content_html.unwrap().contains("src=\"https://sihai.test/news/img/a.png\""));
        let img = a.image.unwrap();
        assert_eq!(
            (img.url.as_str(), img.mime_type.as_str(), img.length),
            ("https://sihai.test/i/b.webp", "image/webp", 0)
        );
    }

    #[test]
    fn several_categories_resolve_once_each() {
        let mut v = base();
        v["categories"] = json!(["长沙", "hunan", "湖南新闻"]);
        assert_eq!(ok(v).categories, vec!["hunan", "changsha"]);
    }

    #[test]
    fn ids_are_derived_deterministically() {
        let mut v = base();
        v.as_object_mut().unwrap().remove("id");
        let a = ok(v.clone());
        assert!(a.id.starts_with("auto-"));
        assert_eq!(ok(v.clone()).id, a.id);
        v["title"] = json!("新标题");
        assert_ne!(ok(v.clone()).id, a.id, "an edited title makes a new id-less article");
        v["url"] = json!("https://news.example.com/x");
        let by_url = ok(v.clone()).id;
        assert!(by_url.starts_with("url-"));
        v["title"] = json!("again");
        assert_eq!(ok(v).id, by_url, "the url decides when given");
        assert_eq!(ok(with("id", json!(12345))).id, "12345");
    }

    #[test]
    fn content_text_becomes_paragraphs() {
        let a = ok(with("content_text", json!("第一段\n\n第二段 & <三>")));
        assert_eq!(a.content_html.as_deref(), Some("<p>第一段</p><p>第二段 &amp; &lt;三&gt;</p>"));
    }
}
