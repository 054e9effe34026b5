//! Splitting JSON input into article values, each with the line it starts on.
//!
//! One object, an array of objects, JSON Lines, or several of these one after another: all
//! are read by one streaming pass, so a problem can always be reported as `FILE:LINE`.

use serde_json::value::RawValue;
use serde_json::Value;

use crate::text::line_of;

/// One top-level article value and where it stands in its input.
///
/// The value stays raw text (already checked to be JSON) until it is normalized: parsing
/// every record of a large import into `Value`s at once took gigabytes.
#[derive(Debug)]
pub struct Record<'a> {
    /// 1-based line the value starts on.
    pub line: usize,
    /// 0-based position among the input's articles.
    pub index: usize,
    /// Whether it came from inside a JSON array (reported with its index).
    pub in_array: bool,
    /// The value's JSON text, as it stands in the input.
    pub raw: &'a str,
}

impl Record<'_> {
    /// The parsed value (an object when well-formed). The text was checked when it was
    /// split, so this fails past serde_json's nesting limit, or when an object gives a key
    /// twice ([`RecordError::Duplicate`]: JSON leaves that undefined, and taking the last
    /// value silently would store what the sender may not have meant).
    pub fn value(&self) -> Result<Value, RecordError> {
        let duplicate = std::cell::RefCell::new(None);
        let mut de = serde_json::Deserializer::from_str(self.raw);
        let parsed = serde::de::DeserializeSeed::deserialize(Strict(&duplicate), &mut de).and_then(|v| {
            de.end()?;
            Ok(v)
        });
        match (parsed, duplicate.into_inner()) {
            (Ok(v), _) => Ok(v),
            (Err(_), Some(path)) => Err(RecordError::Duplicate(path)),
            (Err(e), None) => Err(RecordError::Syntax(syntax(&e, self.line - 1))),
        }
    }
}

/// Why a record could not be read as a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// Not JSON (past the nesting limit).
    Syntax(SyntaxError),
    /// An object gives this key twice (a dotted path for nested objects: `authors.0.name`).
    Duplicate(String),
}

/// A JSON value read strictly: an object that gives a key twice is an error, whose path is
/// left in the cell (serde_json's own `Value` keeps the last one silently). As fast as
/// serde_json's `Value`: the path is only built for the duplicate.
struct Strict<'c>(&'c std::cell::RefCell<Option<String>>);

impl<'de> serde::de::DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor { duplicate: self.0, at: &Place::Root })
    }
}

/// Where a value stands in its record, as a chain up to the root (on the stack).
enum Place<'a> {
    Root,
    Key(&'a Place<'a>, &'a str),
    Index(&'a Place<'a>, usize),
}

impl Place<'_> {
    /// `authors.0.name`.
    fn path(&self) -> String {
        match self {
            Place::Root => String::new(),
            Place::Key(up, key) => join(up.path(), key),
            Place::Index(up, i) => join(up.path(), &i.to_string()),
        }
    }
}

fn join(up: String, part: &str) -> String {
    if up.is_empty() {
        part.to_string()
    } else {
        format!("{up}.{part}")
    }
}

struct StrictVisitor<'c, 'a> {
    duplicate: &'c std::cell::RefCell<Option<String>>,
    at: &'a Place<'a>,
}

impl<'de> serde::de::DeserializeSeed<'de> for StrictVisitor<'_, '_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictVisitor<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let at = Place::Index(self.at, out.len());
            match seq.next_element_seed(StrictVisitor { duplicate: self.duplicate, at: &at })? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = Place::Key(self.at, &key);
            if out.contains_key(&key) {
                let path = at.path();
                let message = format!("the key {path:?} is given twice");
                *self.duplicate.borrow_mut() = Some(path);
                return Err(serde::de::Error::custom(message));
            }
            let value = map.next_value_seed(StrictVisitor { duplicate: self.duplicate, at: &at })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Input that is not JSON, with the place the parser stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The parser's message.
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: not valid JSON: {}", self.line, self.column, self.message)
    }
}

fn syntax(e: &serde_json::Error, line_offset: usize) -> SyntaxError {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    SyntaxError { line: e.line() + line_offset, column: e.column(), message: msg }
}

/// Splits `text` into records; arrays at the top level are opened one level.
pub fn split_records(text: &str) -> Result<Vec<Record<'_>>, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = LineCounter { text, offset: 0, line: 1 };
    let mut out = Vec::new();
    let stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    for item in stream {
        let raw = item.map_err(|e| syntax(&e, 0))?;
        let start_line = lines.at(offset_in(text, raw.get()));
        if raw.get().starts_with('[') {
            let elements: Vec<&RawValue> = serde_json::from_str(raw.get()).map_err(|e| syntax(&e, start_line - 1))?;
            for el in elements {
                let line = lines.at(offset_in(text, el.get()));
                out.push(Record { line, index: out.len(), in_array: true, raw: el.get() });
            }
        } else {
            out.push(Record { line: start_line, index: out.len(), in_array: false, raw: raw.get() });
        }
    }
    Ok(out)
}

/// Line numbers of increasing offsets, counted incrementally (one pass over the text).
struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
}

impl LineCounter<'_> {
    fn at(&mut self, offset: usize) -> usize {
        if offset < self.offset {
            return line_of(self.text, offset);
        }
        self.line += self.text.as_bytes()[self.offset..offset].iter().filter(|&&b| b == b'\n').count();
        self.offset = offset;
        self.line
    }
}

/// Byte offset of `part` (a slice borrowed from `whole`) in `whole`.
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize).min(whole.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(usize, usize, bool)> {
        split_records(text).unwrap().iter().map(|r| (r.line, r.index, r.in_array)).collect()
    }

    #[test]
    fn every_shape_gives_lines() {
        assert_eq!(lines("{\"a\":1}"), vec![(1, 0, false)]);
        assert_eq!(lines("{\"a\":1}\n{\"a\":2}\n\n{\"a\":3}\n"), vec![(1, 0, false), (2, 1, false), (4, 2, false)]);
        assert_eq!(lines("[\n  {\"a\":1},\n  {\"a\":2}\n]"), vec![(2, 0, true), (3, 1, true)]);
        assert_eq!(lines("\u{feff}{}"), vec![(1, 0, false)]);
        assert!(lines("").is_empty());
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = split_records("{\"a\":1}\n{\"a\":,}\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 6));
        let e = split_records("[\n{\"a\":1},\n{\"a\" 2}\n]").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.to_string().starts_with("3:"));
    }

    #[test]
    fn a_key_given_twice_is_named_with_its_path_and_nothing_else_changes() {
        let value = |text: &str| split_records(text).unwrap().remove(0).value();
        let dup = |path: &str| Err(RecordError::Duplicate(path.into()));
        assert_eq!(value(r#"{"title": "a", "title": "b"}"#), dup("title"));
        assert_eq!(value(r#"{"authors": [{"name": "a"}, {"name": "b", "name": "c"}]}"#), dup("authors.1.name"));
        assert_eq!(value(r#"{"image": {"url": "x", "type": "y", "url": "z"}}"#), dup("image.url"));
        // Everything else reads exactly as serde_json's own Value.
        let text = r#"{"id": 12, "n": -3, "big": 18446744073709551615, "f": 1.5e300, "s": "\ud83d\ude00\u0000", "a": [null, true, {"k": []}], "title": "t"}"#;
        assert_eq!(value(text), Ok(serde_json::from_str::<Value>(text).unwrap()));
    }
}
