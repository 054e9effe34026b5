//! HTML pages (pure: no I/O): an article's own page, and a category's page made from the
//! same prepared feed its RSS and Atom come from, with autodiscovery links.

use std::fmt::Write as _;

use super::{rfc822, FeedDoc, FeedItem, Format};
use crate::ingest::text::escape_html as esc;

const STYLE: &str = "body{font:16px/1.6 system-ui,sans-serif;max-width:42rem;margin:0 auto;padding:1rem;color:#222}\
a{color:#0645ad}h1{font-size:1.5rem;line-height:1.3}.meta{color:#666;font-size:.9rem}\
article{margin:1.5rem 0}img{max-width:100%;height:auto}";

fn head(out: &mut String, lang: &str, title: &str, doc: Option<&FeedDoc>) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style>",
        esc(lang),
        esc(title)
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
    }
    out.push_str("</head><body>");
}

fn meta_line(out: &mut String, it: &FeedItem) {
    let _ = write!(
        out,
        "<p class=\"meta\"><time datetime=\"{}\">{}</time>",
        it.published.to_rfc3339(),
        esc(&rfc822(&it.published))
    );
    if !it.authors.is_empty() {
        let names: Vec<String> = it.authors.iter().map(|a| esc(&a.name)).collect();
        let _ = write!(out, " · {}", names.join(", "));
    }
    for (_, name, url) in &it.categories {
        let _ = write!(out, " · <a href=\"{}\">{}</a>", esc(url), esc(name));
    }
    out.push_str("</p>");
}

/// The page of one article: title, date, authors, categories, content.
pub fn article_page(doc: &FeedDoc, it: &FeedItem) -> String {
    let mut out = String::with_capacity(4096 + it.content_html.as_ref().map_or(0, String::len));
    head(&mut out, &doc.language, &format!("{} - {}", it.title, doc.site_title), None);
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
    let mut out = String::with_capacity(2048 + doc.items.len() * 512);
    head(&mut out, &doc.language, &doc.title, Some(doc));
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
    out.push_str("</p>");
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
