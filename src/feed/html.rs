//! HTML pages (pure: no I/O): an article's own page, and a category's page made from the
//! same prepared feed its RSS and Atom come from, with autodiscovery links (of both
//! editions, Simplified and Traditional, when the site has two: `hreflang` tells them
//! apart).

use std::fmt::Write as _;

use super::{urls, FeedDoc, FeedItem, Format, HTML_MIME};
use crate::config::Config;
use crate::text::escape_html as esc;

const STYLE: &str = "body{font:16px/1.6 system-ui,sans-serif;max-width:42rem;margin:0 auto;padding:1rem;color:#222}\
a{color:#0645ad}h1{font-size:1.5rem;line-height:1.3}h2{font-size:1.15rem;line-height:1.4;margin:.2rem 0}.meta{color:#666;font-size:.9rem}\
article{margin:1.5rem 0}img{max-width:100%;height:auto}.tree{padding-left:1.2rem}.tree ul{padding-left:1.2rem}\
.f{font-size:.75rem;color:#b35c00}nav{margin:1rem 0;padding:.5rem 1rem;background:#f6f6f6;border-radius:6px}";

/// The start of every page: doctype, language, title, icon, the shared style and, for a
/// feed, its autodiscovery links.
pub(super) fn head(out: &mut String, lang: &str, title: &str, doc: Option<&FeedDoc>, icon: Option<&str>) {
    // An explicit icon (or an empty data: URL) keeps browsers from requesting a missing
    // /favicon.ico, which would be a 404 in their console.
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"icon\" href=\"{}\"><style>{STYLE}</style>",
        esc(lang),
        esc(title),
        esc(icon.unwrap_or("data:,"))
    );
    if let Some(doc) = doc {
        for format in Format::ALL {
            let _ = write!(
                out,
                "<link rel=\"alternate\" type=\"{}\" title=\"{} ({})\" href=\"{}\">",
                format.mime(),
                esc(&doc.title),
                format.extension().to_uppercase(),
                esc(&doc.url(format))
            );
        }
        if let Some(alt) = &doc.alternate {
            for format in Format::ALL {
                let Some((_, feed)) = doc.alternate_urls(format) else { continue };
                let _ = write!(
                    out,
                    "<link rel=\"alternate\" type=\"{}\" hreflang=\"{}\" title=\"{} ({}, {})\" href=\"{}\">",
                    format.mime(),
                    esc(&alt.language),
                    esc(&doc.title),
                    format.extension().to_uppercase(),
                    alt.label,
                    esc(&feed)
                );
            }
            if let Some((page, _)) = doc.alternate_urls(Format::Rss) {
                let _ = write!(
                    out,
                    "<link rel=\"alternate\" type=\"{HTML_MIME}\" hreflang=\"{}\" href=\"{}\">\
                     <link rel=\"alternate\" type=\"{HTML_MIME}\" hreflang=\"{}\" href=\"{}\">",
                    esc(&doc.language),
                    esc(&doc.home_url),
                    esc(&alt.language),
                    esc(&page)
                );
            }
        }
    }
    out.push_str("</head><body>");
}

fn meta_line(out: &mut String, it: &FeedItem) {
    let _ = write!(
        out,
        "<p class=\"meta\"><time datetime=\"{}\">{}</time>",
        it.published.to_rfc3339(),
        it.published.format("%Y-%m-%d %H:%M")
    );
    if !it.authors.is_empty() {
        let names: Vec<String> =
            it.authors.iter().zip(it.author_pages.iter().chain(std::iter::repeat(&None))).map(linked).collect();
        let _ = write!(out, " · {}", names.join(", "));
    }
    for (_, name, url) in &it.categories {
        let _ = write!(out, " · <a href=\"{}\">{}</a>", esc(url), esc(name));
    }
    for (tag, url) in &it.tag_pages {
        match url {
            Some(url) => {
                let _ = write!(out, " · <a rel=\"tag\" href=\"{}\">#{}</a>", esc(url), esc(tag));
            }
            None => {
                let _ = write!(out, " · #{}", esc(tag));
            }
        }
    }
    out.push_str("</p>");
}

/// An author's name, linked to their page when they have one.
fn linked((author, page): (&crate::model::Author, &Option<String>)) -> String {
    match page {
        Some(url) => format!("<a rel=\"author\" href=\"{}\">{}</a>", esc(url), esc(&author.name)),
        None => esc(&author.name),
    }
}

/// The page of one article: title, date, authors, categories, content.
pub fn article_page(doc: &FeedDoc, it: &FeedItem) -> String {
    let mut out = String::with_capacity(4096 + it.content_html.as_ref().map_or(0, String::len));
    head(&mut out, &doc.language, &format!("{} - {}", it.title, doc.site_title), None, doc.icon.as_deref());
    let _ = write!(
        out,
        "<p><a href=\"{}\">{}</a></p><article><h1>{}</h1>",
        esc(&doc.site_url),
        esc(&doc.site_title),
        esc(&it.title)
    );
    meta_line(&mut out, it);
    match &it.content_html {
        Some(html) => out.push_str(html),
        None => {
            let _ = write!(out, "<p>{}</p>", esc(&it.excerpt));
        }
    }
    out.push_str("</article></body></html>\n");
    out
}

/// The page of a feed: its newest articles with links, and links to its feeds.
pub fn feed_page(doc: &FeedDoc) -> String {
    feed_page_with(doc, "")
}

/// The site's front page: the category tree with every feed, the most used tags (name
/// and count, most used first), then the newest articles.
pub fn home_page(doc: &FeedDoc, config: &Config, top_tags: &[(String, usize)]) -> String {
    // The heading in the page's own script (an edition's alternate is the Simplified one).
    let traditional = doc.alternate.as_ref().is_some_and(|a| a.label == super::hant::SIMPLIFIED_LABEL);
    let heading = if traditional { "欄目 · Sections" } else { "栏目 · Sections" };
    let mut tree = format!("<nav><h2>{heading}</h2><ul class=\"tree\">");
    for root in config.categories.roots() {
        write_tree(&mut tree, config, root);
    }
    let opml = |format| esc(&urls::opml_url(&doc.site_url, format));
    let _ = write!(
        tree,
        "</ul><p class=\"meta\">OPML: <a href=\"{}\">RSS</a> <a href=\"{}\">Atom</a> <a href=\"{}\">JSON</a></p>",
        opml(Format::Rss),
        opml(Format::Atom),
        opml(Format::Json)
    );
    if !top_tags.is_empty() {
        tree.push_str("<h2>标签 · Tags</h2><p>");
        for (name, count) in top_tags {
            let url = urls::name_page_url(&doc.site_url, urls::TAG, name);
            let _ = write!(
                tree,
                "<a rel=\"tag\" href=\"{}\">#{}</a> <span class=\"meta\">{count}</span> ",
                esc(&url),
                esc(name)
            );
        }
        tree.push_str("</p>");
    }
    tree.push_str("</nav>");
    feed_page_with(doc, &tree)
}

fn write_tree(out: &mut String, config: &Config, idx: usize) {
    let c = &config.categories.list[idx];
    let base = config.site.base_url.as_str();
    let _ = write!(out, "<li><a href=\"{}\">{}</a>", esc(&urls::category_page_url(base, &c.slug)), esc(&c.name));
    for format in Format::ALL {
        let _ = write!(
            out,
            " <a class=\"f\" href=\"{}\">{}</a>",
            esc(&urls::feed_url(base, &c.slug, format)),
            format.extension().to_uppercase()
        );
    }
    if !c.children.is_empty() {
        out.push_str("<ul>");
        for &child in &c.children {
            write_tree(out, config, child);
        }
        out.push_str("</ul>");
    }
    out.push_str("</li>");
}

fn feed_page_with(doc: &FeedDoc, nav: &str) -> String {
    let mut out = String::with_capacity(2048 + nav.len() + doc.items.len() * 512);
    head(&mut out, &doc.language, &doc.title, Some(doc), doc.icon.as_deref());
    let _ = write!(
        out,
        "<p><a href=\"{}\">{}</a></p><h1>{}</h1><p>{}</p><p class=\"meta\">",
        esc(&doc.site_url),
        esc(&doc.site_title),
        esc(&doc.title),
        esc(&doc.description)
    );
    for format in Format::ALL {
        let _ = write!(out, "<a href=\"{}\">{}</a> ", esc(&doc.url(format)), format.extension().to_uppercase());
    }
    if let (Some(alt), Some((page, _))) = (&doc.alternate, doc.alternate_urls(Format::Rss)) {
        let lang = esc(&alt.language);
        let _ = write!(out, "· <a href=\"{}\" hreflang=\"{lang}\" lang=\"{lang}\">{}</a>", esc(&page), alt.label);
    }
    out.push_str("</p>");
    out.push_str(nav);
    for it in &doc.items {
        let _ = write!(out, "<article><h2><a href=\"{}\">{}</a></h2>", esc(&it.link), esc(&it.title));
        meta_line(&mut out, it);
        if !it.excerpt.is_empty() {
            let _ = write!(out, "<p>{}</p>", esc(&it.excerpt));
        }
        out.push_str("</article>");
    }
    out.push_str("</body></html>\n");
    out
}
