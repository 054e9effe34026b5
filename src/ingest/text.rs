//! Cleaning input text and HTML: what makes any string an article sends safe to put in a
//! feed.
//!
//! Characters XML 1.0 forbids are removed from every string ([`crate::text`]: neither
//! `rss` nor `atom_syndication` does it, and one such character makes a whole feed
//! unreadable). Plain-text fields are read as HTML fragments, so tags are dropped and
//! entities decoded: a title never carries markup. Content HTML is sanitized by ammonia
//! and its relative links made absolute.

use std::cell::RefCell;

use ammonia::{Builder, UrlRelative};
use url::Url;

use crate::text::{escape_html, fold_whitespace, strip_xml_illegal};

thread_local! {
    static TEXT_ONLY: Builder<'static> = Builder::empty();
    static SANITIZER: RefCell<Builder<'static>> = RefCell::new(Builder::default());
}

/// The text of an HTML fragment (or of plain text), tags dropped, entities decoded,
/// whitespace runs folded to one space and trimmed.
///
/// Text that cannot deceive: markup that appears only once entities are decoded
/// (`&lt;script&gt;` becomes `<script>`) is stripped as well, never kept as literal tags
/// (many readers render RSS titles as HTML; what is still tag-like after that is shown
/// with `‹` `›`); and the characters that reorder or hide text are removed
/// ([`is_deceptive`]).
pub fn plain_text(s: &str) -> String {
    let mut text = strip_xml_illegal(s);
    // Each pass decodes one level of entities; three cover any nesting a CMS produces.
    for _ in 0..3 {
        if !text.contains('&') && !has_markup(&text) {
            break;
        }
        let decoded = text_of_html(&text, " ");
        if decoded == text {
            break;
        }
        text = decoded;
    }
    if has_markup(&text) {
        text = text.replace('<', "\u{2039}").replace('>', "\u{203a}");
    }
    fold_whitespace(&strip_deceptive(&text))
}

/// Whether `s` holds something an HTML parser would read as a tag, comment or declaration
/// (`<` followed by a letter, `/`, `!` or `?`).
fn has_markup(s: &str) -> bool {
    s.as_bytes().windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || b"/!?".contains(&w[1])))
}

/// Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which
/// can make a title read as something else, and zero-width characters that hide text
/// (U+200B, U+2060, U+FEFF, U+180E). Marks (LRM, RLM, ALM) stay: they cannot reorder other
/// text. ZWJ and ZWNJ (U+200D, U+200C) are judged by [`strip_deceptive`].
fn is_deceptive(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}' | '\u{2060}' | '\u{feff}' | '\u{180e}')
}

/// `s` without [`is_deceptive`] characters. ZWJ and ZWNJ stay where a script needs them:
/// between two characters that are neither ASCII nor whitespace (Arabic, Persian, Indic
/// scripts, emoji sequences); elsewhere they only hide something, and go.
fn strip_deceptive(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let needed = |c: Option<&char>| c.is_some_and(|c| !c.is_ascii() && !c.is_whitespace());
    let joins = |i: usize| needed(i.checked_sub(1).and_then(|j| chars.get(j))) && needed(chars.get(i + 1));
    chars
        .iter()
        .enumerate()
        .filter(|&(i, &c)| !is_deceptive(c) && (!matches!(c, '\u{200c}' | '\u{200d}') || joins(i)))
        .map(|(_, &c)| c)
        .collect()
}

/// The text of an HTML document with a line per block (paragraph, heading, list item,
/// line break), for reading article pages.
pub fn html_to_lines(html: &str) -> String {
    text_of_html(html, "\n")
}

/// The text of HTML, with `separator` put where a block ends so texts do not run together.
fn text_of_html(html: &str, separator: &str) -> String {
    let mut marked = html.to_string();
    for close in [
        "</p>", "</div>", "</li>", "</h1>", "</h2>", "</h3>", "</h4>", "</h5>", "</h6>", "</td>", "</tr>", "</title>",
        "<br",
    ] {
        if marked.contains(close) {
            marked = marked.replace(close, &format!("{separator}{close}"));
        }
    }
    let cleaned = TEXT_ONLY.with(|b| b.clean(&marked).to_string());
    unescape_serialized_text(&cleaned)
}

/// Undoes the escaping html5ever's serializer applies to text nodes (exactly these four).
fn unescape_serialized_text(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", "\u{a0}").replace("&amp;", "&")
}

/// Sanitized HTML: no script, style, iframe, object, embed, form, event attributes or
/// `javascript:` URLs; relative links resolved against `base`.
pub fn sanitize_html(html: &str, base: &Url) -> String {
    let html = strip_xml_illegal(html);
    let cleaned = SANITIZER.with(|b| {
        let mut b = b.borrow_mut();
        b.url_relative(UrlRelative::RewriteWithBase(base.clone()));
        b.clean(&html).to_string()
    });
    cleaned.trim().to_string()
}

/// Plain text as HTML: paragraphs on blank lines, single line breaks kept as `<br>`.
pub fn text_to_html(text: &str) -> String {
    let text = strip_xml_illegal(text).replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len() + 64);
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        out.push_str("<p>");
        let lines: Vec<String> = para.lines().map(|l| escape_html(l.trim())).collect();
        out.push_str(&lines.join("<br>"));
        out.push_str("</p>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{cut_excerpt, excerpt};

    #[test]
    fn plain_text_has_no_markup() {
        let cases = [
            ("  标题 ", "标题"),
            ("<b>粗</b>体", "粗体"),
            ("AT&amp;T &lt;3", "AT&T <3"),
            ("a < b && c > d", "a < b && c > d"),
            ("x<script>alert(1)</script>y", "xy"),
            ("line\none\u{a0}\u{a0}two", "line one two"),
            ("<p>one</p><p>two</p>", "one two"),
            ("\u{1}控制\u{8}", "控制"),
            // Markup that appears only once entities are decoded is stripped too.
            ("&lt;script&gt;alert(1)&lt;/script&gt;标题", "标题"),
            ("&amp;lt;b&amp;gt;粗&amp;lt;/b&amp;gt;", "粗"),
            ("Vec&lt;T&gt; 与 a &lt; b", "Vec 与 a < b"),
            // Characters that reorder or hide text go; joiners a script needs stay.
            ("price\u{202e}gnp.exe", "pricegnp.exe"),
            ("a\u{2066}b\u{2069}c\u{200b}d\u{feff}", "abcd"),
            ("\u{200d}x\u{200c}", "x"),
            ("می\u{200c}خواهم", "می\u{200c}خواهم"),
            ("👨\u{200d}👩\u{200d}👧", "👨\u{200d}👩\u{200d}👧"),
            ("שלום\u{200f}!", "שלום\u{200f}!"),
        ];
        for (input, want) in cases {
            assert_eq!(plain_text(input), want, "{input:?}");
        }
    }

    #[test]
    fn html_is_sanitized_and_links_absolute() {
        let base = Url::parse("https://news.example.com/2021/09/a.html").unwrap();
        let out = sanitize_html(
            r#"<p onclick="x()">hi<script>evil()</script><img src="pic.jpg"><a href="javascript:alert(1)">j</a><a href="/b">b</a></p><iframe src="x"></iframe><style>p{}</style><form><input></form><object></object><embed src="e">"#,
            &base,
        );
        for bad in ["script", "evil", "onclick", "javascript", "iframe", "style", "form", "input", "object", "embed"] {
            assert!(!out.contains(bad), "{bad} in {out}");
        }
        assert!(out.contains(r#"src="https://news.example.com/2021/09/pic.jpg""#), "{out}");
        assert!(out.contains(r#"href="https://news.example.com/b""#), "{out}");
    }

    #[test]
    fn text_becomes_paragraphs() {
        assert_eq!(text_to_html("一段\n续行\n\n二段 <b>\r\n\r\n\n"), "<p>一段<br>续行</p><p>二段 &lt;b&gt;</p>");
    }

    #[test]
    fn an_excerpt_read_from_a_prefix_equals_one_read_from_the_whole() {
        // Also: the tokenizer's text of sanitized HTML is the text ammonia's full parse gives.
        let seed = include_str!("../../tests/fixtures/seed-page.txt");
        let base = Url::parse("https://news.example.com/a.html").unwrap();
        let mut docs = vec![sanitize_html(seed, &base)];
        // Cuts land inside tags, attribute values, entities and multi-byte characters.
        for (i, filler) in
            ["<b title=\"a > b\">粗</b>", "&amp;&lt;&#x4E2D;&nbsp;", "<a href=\"/x?a=1&amp;b=2\">链接</a>", "文字"]
                .iter()
                .enumerate()
        {
            let mut html = String::new();
            for n in 0..120 {
                html.push_str(&format!("<p>第{n}段{}{filler}</p>", "中".repeat((n * 7 + i) % 13)));
            }
            docs.push(sanitize_html(&html, &base));
        }
        for html in &docs {
            let whole = cut_excerpt(plain_text(html));
            assert_eq!(excerpt(html), whole);
            for start in (0..400).step_by(13) {
                let Some(tail) = html.get(start..) else { continue };
                assert_eq!(excerpt(tail), cut_excerpt(plain_text(tail)), "from byte {start}");
            }
        }
    }
}
