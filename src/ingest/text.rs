//! Cleaning text and HTML: what makes any string safe to put in a feed.
//!
//! Feeds are XML 1.0, so characters it forbids are removed from every string (neither
//! `rss` nor `atom_syndication` does it, and one such character makes a whole feed
//! unreadable). Plain-text fields are read as HTML fragments, so tags are dropped and
//! entities decoded: a title never carries markup. Content HTML is sanitized by ammonia
//! and its relative links made absolute.

use std::cell::RefCell;

use ammonia::{Builder, UrlRelative};
use url::Url;

/// Characters an RSS `description` excerpt keeps before it is cut.
const EXCERPT_CHARS: usize = 200;

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

thread_local! {
    static TEXT_ONLY: Builder<'static> = Builder::empty();
    static SANITIZER: RefCell<Builder<'static>> = RefCell::new(Builder::default());
}

/// The text of an HTML fragment (or of plain text), tags dropped, entities decoded,
/// whitespace runs folded to one space and trimmed.
pub fn plain_text(s: &str) -> String {
    let s = strip_xml_illegal(s);
    let text = if s.contains(['<', '&']) { text_of_html(&s, " ") } else { s };
    fold_whitespace(&text)
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

/// Whitespace runs (NBSP included) as one space, trimmed.
pub fn fold_whitespace(s: &str) -> String {
    s.split(|c: char| c.is_whitespace()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
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

/// The first [`EXCERPT_CHARS`] characters of sanitized HTML's text (what
/// [`sanitize_html`] returns: an article's `content_html`), `…` if cut.
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
/// is not text, so the tree builder and ammonia's cleaning that [`plain_text`] runs (a
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

/// Elements whose end separates text (as [`text_of_html`] marks them).
const BLOCK_ENDS: [&str; 12] = ["p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "tr", "title"];

/// Bytes of HTML read first for an excerpt (grown fourfold while they give too little text).
const EXCERPT_PREFIX_BYTES: usize = 2048;
/// Characters of text past the excerpt that a prefix must yield to stand for the whole.
const EXCERPT_MARGIN: usize = 32;

fn cut_excerpt(text: String) -> String {
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
    fn excerpts_are_cut_on_characters() {
        let long = "字".repeat(300);
        let e = excerpt(&format!("<p>{long}</p>"));
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("<p>短</p>"), "短");
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
