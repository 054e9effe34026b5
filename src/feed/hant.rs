//! The Traditional Chinese edition of a prepared feed (pure: no I/O; OpenCC's dictionaries
//! are compiled into the binary).
//!
//! An edition is the same document in another script: [`edition`] converts a prepared
//! [`FeedDoc`]'s text (titles, descriptions, excerpts, the text of content HTML, author
//! names, category names, tags) with OpenCC and moves its own links (self, feed, page,
//! category pages, sihai's article pages) below `/zh-hant/`; GUIDs, feed ids, dates,
//! articles' own URLs and images stay those of the Simplified edition (the same article is
//! the same item). The renderers then
//! translate it like any other document, so the formats cannot disagree here either.
//!
//! **Only text is converted.** OpenCC maps any CJK run it finds, so converting rendered
//! bytes would also rewrite a URL holding Chinese characters (an `href` of
//! `/tags/软件` becomes `/tags/軟體`: a dead link) and attribute values; [`convert_html`]
//! converts the text between tags and copies every tag (its attributes included)
//! byte for byte.
//!
//! Each converter is loaded once per process, on the first edition rendered
//! ([`converter`]): about 1 ms, since its dictionaries are compiled to FST bytes at build
//! time (BENCHMARKS.md, "Traditional editions").

use std::sync::OnceLock;

use ferrous_opencc::config::BuiltinConfig;
use ferrous_opencc::OpenCC;

use super::{urls, Alternate, FeedDoc, RenderError};
use crate::config::{Config, Traditional};

/// The label of the Simplified edition in the Traditional one's pages.
pub const SIMPLIFIED_LABEL: &str = "简体中文";
/// The label of the Traditional edition in the Simplified one's pages.
pub const TRADITIONAL_LABEL: &str = "繁體中文";

/// The process's converter of `kind`, loaded on first use.
pub fn converter(kind: Traditional) -> Result<&'static OpenCC, RenderError> {
    static S2TWP: OnceLock<Result<OpenCC, String>> = OnceLock::new();
    static S2HK: OnceLock<Result<OpenCC, String>> = OnceLock::new();
    static S2T: OnceLock<Result<OpenCC, String>> = OnceLock::new();
    let (cell, builtin) = match kind {
        Traditional::S2twp => (&S2TWP, BuiltinConfig::S2twp),
        Traditional::S2hk => (&S2HK, BuiltinConfig::S2hk),
        Traditional::S2t => (&S2T, BuiltinConfig::S2t),
    };
    cell.get_or_init(|| OpenCC::from_config(builtin).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| RenderError(format!("OpenCC {}: {e}", kind.name())))
}

/// A converter of text with what the edition is written in.
pub struct Converter {
    opencc: &'static OpenCC,
    kind: Traditional,
}

impl Converter {
    /// The converter of `kind` (loading it on the process's first use).
    pub fn new(kind: Traditional) -> Result<Converter, RenderError> {
        Ok(Converter { opencc: converter(kind)?, kind })
    }

    /// Plain text converted.
    pub fn text(&self, text: &str) -> String {
        if text.is_ascii() {
            return text.to_string(); // no CJK: nothing to look up
        }
        self.opencc.convert(text)
    }

    /// The edition's language for a document written in `language`: Chinese becomes the
    /// converter's (`zh-TW`), anything else stays.
    pub fn language(&self, language: &str) -> String {
        if is_chinese(language) {
            self.kind.language().to_string()
        } else {
            language.to_string()
        }
    }
}

/// Whether a language tag names Chinese (`zh`, `zh-CN`, `zh-Hans`...).
pub fn is_chinese(language: &str) -> bool {
    let l = language.to_ascii_lowercase();
    l == "zh" || l.starts_with("zh-")
}

/// Converts the text of sanitized HTML, copying every tag, comment and attribute as it is.
///
/// A tag ends at the first `>` outside a quoted attribute value (an attribute may hold a
/// raw `>`); text never holds a raw `<` (serializers escape it). An unterminated tag is
/// copied as it is.
pub fn convert_html(html: &str, conv: &Converter) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let end = tag_end(html, i);
            out.push_str(&html[i..end]);
            i = end;
        } else {
            let end = html[i..].find('<').map_or(html.len(), |n| i + n);
            out.push_str(&conv.text(&html[i..end]));
            i = end;
        }
    }
    out
}

/// The end (exclusive) of the tag or comment starting at `start` (a `<`).
fn tag_end(html: &str, start: usize) -> usize {
    let rest = &html[start..];
    if rest.starts_with("<!--") {
        return rest.find("-->").map_or(html.len(), |n| start + n + 3);
    }
    let mut quote = None;
    for (n, c) in rest.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return start + n + 1,
            _ => {}
        }
    }
    html.len()
}

/// Moves `url` from below `from` to below `to` (a URL not below `from` stays).
fn rebase(url: &str, from: &str, to: &str) -> String {
    match url.strip_prefix(from) {
        Some(rest) => format!("{to}{rest}"),
        None => url.to_string(),
    }
}

/// Turns a prepared Simplified document into its Traditional edition: text converted, its
/// own links (sihai's article pages among them) below the edition's base, `language` the
/// converter's; GUIDs, ids, dates, articles' own URLs and images unchanged.
pub fn edition(doc: &mut FeedDoc, kind: Traditional) -> Result<(), RenderError> {
    let conv = Converter::new(kind)?;
    let from = doc.site_url.clone();
    let to = urls::edition_base(&from);
    let original_language = std::mem::take(&mut doc.language);
    doc.language = conv.language(&original_language);
    doc.alternate = Some(Alternate { language: original_language, base: from.clone(), label: SIMPLIFIED_LABEL });
    doc.title = conv.text(&doc.title);
    doc.description = conv.text(&doc.description);
    doc.site_title = conv.text(&doc.site_title);
    doc.home_url = rebase(&doc.home_url, &from, &to);
    doc.site_url = to.clone();
    let article_pages = format!("{from}{}", urls::ARTICLE_PAGES);
    for it in &mut doc.items {
        if it.link.starts_with(&article_pages) {
            it.link = rebase(&it.link, &from, &to);
        }
        // The summary is the excerpt, else the title (`feed::prepare`): converted once.
        let title = conv.text(&it.title);
        let excerpt = conv.text(&it.excerpt);
        it.summary = if it.summary == it.excerpt {
            excerpt.clone()
        } else if it.summary == it.title {
            title.clone()
        } else {
            conv.text(&it.summary)
        };
        (it.title, it.excerpt) = (title, excerpt);
        if let Some(html) = &it.content_html {
            it.content_html = Some(convert_html(html, &conv));
        }
        for a in &mut it.authors {
            a.name = conv.text(&a.name);
        }
        for (_, name, url) in &mut it.categories {
            *name = conv.text(name);
            *url = rebase(url, &from, &to);
        }
        for t in &mut it.tags {
            *t = conv.text(t);
        }
        // Tag and author pages: the name shown converted, the URL the edition's page of the
        // stored (Simplified) name, which is what the index is keyed by.
        for (name, url) in &mut it.tag_pages {
            *name = conv.text(name);
            if let Some(u) = url {
                *u = rebase(u, &from, &to);
            }
        }
        for u in it.author_pages.iter_mut().flatten() {
            *u = rebase(u, &from, &to);
        }
    }
    Ok(())
}

/// The config as the Traditional edition shows it: names, titles and descriptions
/// converted, the edition's base URL (`{base_url}zh-hant/`) and language. What the OPML
/// list and the front page's tree are written from; slugs, limits and times unchanged.
pub fn edition_config(config: &Config, kind: Traditional) -> Result<Config, RenderError> {
    let conv = Converter::new(kind)?;
    let mut c = config.clone();
    let base = urls::edition_base(config.site.base_url.as_str());
    c.site.base_url = url::Url::parse(&base).map_err(|e| RenderError(format!("edition base URL: {e}")))?;
    c.site.title = conv.text(&c.site.title);
    c.site.description = conv.text(&c.site.description);
    c.site.language = conv.language(&c.site.language);
    for cat in &mut c.categories.list {
        cat.name = conv.text(&cat.name);
        cat.description = conv.text(&cat.description);
        cat.language = cat.language.as_deref().map(|l| conv.language(l));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s2twp() -> Converter {
        Converter::new(Traditional::S2twp).unwrap()
    }

    #[test]
    fn phrases_convert_with_taiwan_vocabulary() {
        let c = s2twp();
        assert_eq!(c.text("湖南新闻"), "湖南新聞");
        assert_eq!(c.text("国内资讯"), "國內資訊");
        assert_eq!(c.text("软件"), "軟體");
        assert_eq!(c.text("plain ASCII"), "plain ASCII");
        let hk = Converter::new(Traditional::S2hk).unwrap();
        assert_eq!(hk.text("湖南新闻"), "湖南新聞");
        assert_eq!(hk.language("zh-CN"), "zh-HK");
        assert_eq!(c.language("zh-CN"), "zh-TW");
        assert_eq!(c.language("en"), "en");
    }

    #[test]
    fn html_text_converts_and_markup_stays_byte_for_byte() {
        let c = s2twp();
        let cases = [
            ("<p>湖南新闻</p>", "<p>湖南新聞</p>"),
            (
                "<a href=\"https://x.test/tags/软件\" title=\"软件 > 硬件\">软件</a>",
                "<a href=\"https://x.test/tags/软件\" title=\"软件 > 硬件\">軟體</a>",
            ),
            ("<img alt='湖南>新闻' src=\"/软件.png\">新闻", "<img alt='湖南>新闻' src=\"/软件.png\">新聞"),
            ("<!-- 新闻 -->新闻 &amp; 软件", "<!-- 新闻 -->新聞 &amp; 軟體"),
            ("新闻<unterminated 新闻", "新聞<unterminated 新闻"),
            ("", ""),
        ];
        for (html, want) in cases {
            assert_eq!(convert_html(html, &c), want, "{html}");
        }
    }

    #[test]
    fn an_edition_keeps_guids_and_article_links_and_moves_its_own_links() {
        let config = crate::config::for_tests();
        let mut doc =
            super::super::prepare(&config, super::super::Target::Category(1), "tag:x,2026:feeds/hunan", 0, &[]);
        doc.items.push(super::super::FeedItem {
            guid: "tag:x,2026:a".into(),
            title: "湖南新闻".into(),
            link: "https://news.example/a.html".into(),
            excerpt: "软件".into(),
            summary: "软件".into(),
            content_html: Some("<p><a href=\"https://sihai.test/软件\">软件</a></p>".into()),
            authors: vec![crate::model::Author { name: "谢伟峰".into(), email: None, uri: None }],
            published: doc.updated,
            updated: doc.updated,
            categories: vec![("hunan".into(), "湖南新闻".into(), "https://sihai.test/news/c/hunan".into())],
            tags: vec!["软件".into()],
            image: None,
            tag_pages: Vec::new(),
            author_pages: Vec::new(),
        });
        edition(&mut doc, Traditional::S2twp).unwrap();
        assert_eq!(doc.title, "湖南新聞 - 測試站");
        assert_eq!(doc.language, "zh-TW");
        assert_eq!(doc.home_url, "https://sihai.test/news/zh-hant/c/hunan");
        assert_eq!(doc.self_url(super::super::Format::Rss), "https://sihai.test/news/zh-hant/feeds/hunan.rss");
        assert_eq!(doc.feed_id, "tag:x,2026:feeds/hunan");
        let it = &doc.items[0];
        assert_eq!((it.guid.as_str(), it.link.as_str()), ("tag:x,2026:a", "https://news.example/a.html"));
        assert_eq!(it.content_html.as_deref(), Some("<p><a href=\"https://sihai.test/软件\">軟體</a></p>"));
        assert_eq!(it.authors[0].name, "謝偉峰");
        assert_eq!(it.categories[0].1, "湖南新聞");
        assert_eq!(it.categories[0].2, "https://sihai.test/news/zh-hant/c/hunan");
        assert_eq!(it.tags, ["軟體"]);
        let alt = doc.alternate.as_ref().unwrap();
        assert_eq!((alt.language.as_str(), alt.base.as_str()), ("zh-CN", "https://sihai.test/news/"));
    }
}
