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
    /// split, so this fails only past serde_json's nesting limit.
    pub fn value(&self) -> Result<Value, SyntaxError> {
        serde_json::from_str(self.raw).map_err(|e| syntax(&e, self.line - 1))
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
}
