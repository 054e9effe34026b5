//! Text every stage shares: the characters XML 1.0 allows, HTML escaping, whitespace
//! folding, and an article's excerpt (the start of its content's text).
//!
//! A leaf: ingest cleans input with it, the store derives excerpts with it, and the
//! renderers and the backup check escape and check with it, so no later stage borrows
//! from `ingest`. Input-side cleaning (sanitizing, plain text of HTML fragments) stays in
//! `ingest::text`.

use std::cell::RefCell;

/// Characters an RSS `description` excerpt keeps before it is cut.
pub const EXCERPT_CHARS: usize = 200;

/// Whether XML 1.0 allows `c` in a document; C1 controls and U+FFFD are refused too
/// (allowed by XML, but never meaningful text: validators flag them as bad characters).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffc}' | '\u{10000}'..='\u{10ffff}')
}

/// `s` without the characters [`is_xml_char`] refuses.
pub fn strip_xml_illegal(s: &str) -> String {
    if s.chars().all(is_xml_char) {
        return s.to_string();
    }
    s.chars().filter(|&c| is_xml_char(c)).collect()
}

/// Whitespace runs (NBSP included) as one space, trimmed.
pub fn fold_whitespace(s: &str) -> String {
    s.split(|c: char| c.is_whitespace()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The 1-based line number of byte `offset` in `text` (for `FILE:LINE` messages).
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// `s` escaped for HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The first [`EXCERPT_CHARS`] characters of sanitized HTML's text (an article's
/// `content_html`, which ingest has sanitized), `…` if cut.
///
/// Only the start of the text is kept, so only the start of the HTML is read (sanitizing a
/// whole 6 KB article again was a sixth of an import's CPU): a prefix whose text runs
/// [`EXCERPT_MARGIN`] characters past the excerpt gives the same excerpt as the whole
/// document, because what cutting garbles (a tag or entity left open) is only at the
/// prefix's end, which the excerpt never reaches.
pub fn excerpt(html: &str) -> String {
    let mut len = EXCERPT_PREFIX_BYTES;
    while len < html.len() {
        let end = (0..=len).rev().find(|&i| html.is_char_boundary(i)).unwrap_or(0);
        let text = fold_whitespace(&text_of_sanitized(&html[..end]));
        if text.chars().count() > EXCERPT_CHARS + EXCERPT_MARGIN {
            return cut_excerpt(text);
        }
        len *= 4;
    }
    cut_excerpt(fold_whitespace(&text_of_sanitized(html)))
}

/// The text of sanitized HTML with a space where a block ends, read by html5ever's
/// tokenizer alone. Sanitized HTML has no script, style or other element whose content
/// is not text, so the tree builder and ammonia's cleaning that `ingest::text::plain_text` runs (a
/// parse, a clean and a serialization: most of the cost of an excerpt) change nothing.
fn text_of_sanitized(html: &str) -> String {
    use html5ever::tendril::StrTendril;
    use html5ever::tokenizer::{BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer};

    struct Text(RefCell<String>);
    impl TokenSink for Text {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            match token {
                Token::CharacterTokens(t) => self.0.borrow_mut().push_str(&t),
                Token::TagToken(tag) => {
                    let name: &str = &tag.name;
                    let block_end = tag.kind == TagKind::EndTag && BLOCK_ENDS.contains(&name);
                    if block_end || (tag.kind == TagKind::StartTag && name == "br") {
                        self.0.borrow_mut().push(' ');
                    }
                }
                _ => {}
            }
            TokenSinkResult::Continue
        }
    }
    let tokenizer = Tokenizer::new(Text(RefCell::new(String::with_capacity(html.len()))), Default::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.into_inner()
}

/// The deepest nesting of elements in `html` (void elements such as `<br>` and `<img>`
/// and self-closed tags do not nest), read by html5ever's tokenizer alone: linear in the
/// input, so it can be asked before the costly tree building of sanitizing.
pub fn html_depth(html: &str) -> usize {
    use html5ever::tendril::StrTendril;
    use html5ever::tokenizer::{BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer};

    struct Depth(std::cell::Cell<(usize, usize)>);
    impl TokenSink for Depth {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            if let Token::TagToken(tag) = token {
                let (now, deepest) = self.0.get();
                let name: &str = &tag.name;
                self.0.set(match tag.kind {
                    TagKind::StartTag if tag.self_closing || VOID_ELEMENTS.contains(&name) => (now, deepest),
                    TagKind::StartTag => (now + 1, deepest.max(now + 1)),
                    TagKind::EndTag => (now.saturating_sub(1), deepest),
                });
            }
            TokenSinkResult::Continue
        }
    }
    let tokenizer = Tokenizer::new(Depth(std::cell::Cell::new((0, 0))), Default::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.get().1
}

/// HTML elements that never have content or an end tag.
const VOID_ELEMENTS: [&str; 14] =
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"];

/// Elements whose end separates text (as `ingest::text` marks them for plain text).
const BLOCK_ENDS: [&str; 12] = ["p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "tr", "title"];

/// Bytes of HTML read first for an excerpt (grown fourfold while they give too little text).
const EXCERPT_PREFIX_BYTES: usize = 2048;
/// Characters of text past the excerpt that a prefix must yield to stand for the whole.
const EXCERPT_MARGIN: usize = 32;

/// `text` (plain, whitespace folded) cut to an excerpt: at most [`EXCERPT_CHARS`]
/// characters, `…` if cut.
pub fn cut_excerpt(text: String) -> String {
    if text.chars().count() <= EXCERPT_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(EXCERPT_CHARS).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn illegal_xml_characters_are_removed() {
        assert_eq!(strip_xml_illegal("a\u{1}b\u{b}c\u{c}d\u{1f}e\u{fffe}f\u{ffff}g\u{85}h\u{fffd}"), "abcdefgh");
        assert_eq!(strip_xml_illegal("tab\tnl\ncr\r 中文 😀"), "tab\tnl\ncr\r 中文 😀");
    }

    #[test]
    fn excerpts_are_cut_on_characters() {
        let long = "字".repeat(300);
        let e = excerpt(&format!("<p>{long}</p>"));
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("<p>短</p>"), "短");
    }

    #[test]
    fn html_depth_counts_nesting_not_void_elements() {
        assert_eq!(html_depth(""), 0);
        assert_eq!(html_depth("text"), 0);
        assert_eq!(html_depth("<p>a<br>b<img src=x><br/></p>"), 1);
        assert_eq!(html_depth("<div><div><p>x</p></div><p>y</p></div>"), 3);
        assert_eq!(html_depth(&"<div>".repeat(100_000)), 100_000, "unclosed");
        assert_eq!(html_depth(&"<b></b>".repeat(1000)), 1);
    }
}
