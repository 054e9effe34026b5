//! The OPML 2.0 subscription list of every feed, nested as the category tree (pure).
//!
//! Written with plain formatting and [`escape_html`] (which escapes `& < > " '`, enough
//! for XML attributes): OPML is a handful of attributes on nested `outline` elements, and
//! the document is rendered once per start and cached like the feeds.

use std::fmt::Write as _;

use super::{urls, Format};
use crate::config::Config;
use crate::config::SITE_SLUG;
use crate::text::escape_html as esc;

/// Which groups of tag and author feeds an OPML list adds to the tree
/// (`/feeds.opml?include=tags,authors`); none by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Include {
    /// The most used tags' feeds.
    pub tags: bool,
    /// The most active authors' feeds.
    pub authors: bool,
}

impl Include {
    /// A comma-separated list of `tags` and `authors`; `None` if it names anything else.
    pub fn parse(list: &str) -> Option<Include> {
        let mut include = Include::default();
        for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "tags" => include.tags = true,
                "authors" => include.authors = true,
                _ => return None,
            }
        }
        Some(include)
    }
}

/// A group of tag or author feeds in an OPML list: the kind word ([`urls::TAG`] or
/// [`urls::AUTHOR`]), the group's title, and the canonical names, in order.
pub struct Group<'a> {
    /// [`urls::TAG`] or [`urls::AUTHOR`].
    pub kind: &'static str,
    /// The outline's text.
    pub title: &'static str,
    /// The names whose feeds it lists.
    pub names: &'a [String],
}

/// The OPML document listing the site feed and every category feed in `format`, then
/// each of `groups` (tag or author feeds) as one outline.
pub fn render(config: &Config, format: Format, groups: &[Group]) -> Vec<u8> {
    let site = &config.site;
    let base = site.base_url.as_str();
    let feed_url = |slug: &str| urls::feed_url(base, slug, format);
    let kind = format.extension();
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n<head>\n");
    let _ = writeln!(out, "<title>{}</title>", esc(&site.title));
    let _ = writeln!(out, "<ownerName>{}</ownerName>", esc(&site.title));
    let _ = writeln!(out, "<docs>http://opml.org/spec2.opml</docs>");
    out.push_str("</head>\n<body>\n");
    let _ = writeln!(
        out,
        "<outline type=\"{kind}\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{}\" htmlUrl=\"{}\" language=\"{}\"/>",
        esc(&feed_url(SITE_SLUG)),
        esc(site.base_url.as_str()),
        esc(&site.language),
        t = esc(&site.title),
    );
    fn outline(
        config: &Config,
        out: &mut String,
        idx: usize,
        depth: usize,
        kind: &str,
        feed_url: &dyn Fn(&str) -> String,
    ) {
        let c = &config.categories.list[idx];
        let lang = c.language.as_deref().unwrap_or(&config.site.language);
        let _ = write!(
            out,
            "{:indent$}<outline type=\"{kind}\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{}\" htmlUrl=\"{}\" language=\"{}\"",
            "",
            esc(&feed_url(&c.slug)),
            esc(&urls::category_page_url(config.site.base_url.as_str(), &c.slug)),
            esc(lang),
            t = esc(&c.name),
            indent = depth * 2
        );
        if c.children.is_empty() {
            out.push_str("/>\n");
            return;
        }
        out.push_str(">\n");
        for &child in &c.children {
            outline(config, out, child, depth + 1, kind, feed_url);
        }
        let _ = writeln!(out, "{:indent$}</outline>", "", indent = depth * 2);
    }
    for root in config.categories.roots() {
        outline(config, &mut out, root, 0, kind, &feed_url);
    }
    for group in groups.iter().filter(|g| !g.names.is_empty()) {
        let _ = writeln!(out, "<outline text=\"{t}\" title=\"{t}\">", t = esc(group.title));
        for name in group.names {
            let _ = writeln!(
                out,
                "  <outline type=\"{kind}\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{}\" htmlUrl=\"{}\" language=\"{}\"/>",
                esc(&feed_url(&urls::name_slug(group.kind, name))),
                esc(&urls::name_page_url(base, group.kind, name)),
                esc(&site.language),
                t = esc(name),
            );
        }
        out.push_str("</outline>\n");
    }
    out.push_str("</body>\n</opml>\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_lists_tags_and_authors_and_nothing_else() {
        assert_eq!(Include::parse("tags,authors"), Some(Include { tags: true, authors: true }));
        assert_eq!(Include::parse("authors"), Some(Include { tags: false, authors: true }));
        assert_eq!(Include::parse(""), Some(Include::default()));
        assert_eq!(Include::parse("tags,all"), None);
    }
}
