//! Every public URL sihai serves, each built by one function from the site's `base_url`
//! (which ends in `/`), and the path segments the route table parses them back with.
//!
//! | URL | built by |
//! |---|---|
//! | `{base}feeds/{slug}.{ext}` | [`feed_url`] (`all` is the site: [`crate::config::SITE_SLUG`]) |
//! | `{base}feeds/{slug}/archive/{YYYY-MM-DD}.{ext}` | [`archive_url`] |
//! | `{base}c/{slug}` | [`category_page_url`] (also the Atom category scheme, [`category_scheme`]) |
//! | `{base}articles/{id}` | [`article_page_url`] (an article without its own `url`: [`article_link`]) |
//! | `{base}feeds/tag/{name}.{ext}`, `{base}feeds/author/{name}.{ext}` | [`feed_url`] with [`name_slug`] (archives: [`archive_url`]) |
//! | `{base}tag/{name}`, `{base}author/{name}` | [`name_page_url`] |
//! | `{base}feeds.opml[?format=...]` | [`opml_url`] |
//! | `{base}zh-hant/...` | every URL above in the Traditional Chinese edition: built on [`edition_base`] |
//!
//! A tag or author name appears in URLs in one spelling: the percent-encoded UTF-8 of its
//! canonical form ([`crate::model::canonical_name`]: NFC, white space folded, case and
//! width kept), every byte but RFC 3986's unreserved ones encoded, with upper-case hex
//! (`%E6%B9%96`, a space `%20`). [`name_of_segment`] reads the other spellings a client
//! may send (NFD, lower-case hex, `+` for a space, unencoded characters) so that the route
//! table can redirect them to this one.
//!
//! Links never depend on the request: only on `base_url`.

use super::Format;
use crate::model::Article;

/// The path of feeds below the base URL.
pub const FEEDS: &str = "feeds/";
/// The path of a feed's archives below its own path.
pub const ARCHIVE: &str = "archive/";
/// The path of category pages below the base URL.
pub const CATEGORY_PAGES: &str = "c/";
/// The path of article pages below the base URL.
pub const ARTICLE_PAGES: &str = "articles/";
/// The path segment of tag feeds (below [`FEEDS`]) and pages, and the kind word of a tag
/// feed's id.
pub const TAG: &str = "tag";
/// The path segment of author feeds (below [`FEEDS`]) and pages, and the kind word of an
/// author feed's id.
pub const AUTHOR: &str = "author";
/// The longest path segment read as a name: a canonical name of
/// [`crate::model::NAME_MAX_BYTES`] encodes to three times as many characters; a client's
/// spelling may be a little longer (NFD, spaces), never four times.
pub const NAME_SEGMENT_MAX: usize = 4 * crate::model::NAME_MAX_BYTES;
/// The path of the OPML list below the base URL.
pub const OPML: &str = "feeds.opml";
/// The path of the Traditional Chinese edition below the base URL: every document of the
/// site again below it (`{base}zh-hant/feeds/hunan.rss`). A path, not a query parameter, so
/// that each edition's document has one URL that caches key on without configuration and
/// that pages' relative structure, self links and OPML stay within one edition.
pub const TRADITIONAL: &str = "zh-hant/";

/// The base URL of the Traditional Chinese edition: every other builder here, given it
/// instead of `base`, builds that edition's URL.
pub fn edition_base(base: &str) -> String {
    format!("{base}{TRADITIONAL}")
}

/// Characters percent-encoded in a URL path segment: all but RFC 3986 unreserved ones.
const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The URL of a feed (`slug`, or `all` for the site) in `format`.
pub fn feed_url(base: &str, slug: &str, format: Format) -> String {
    format!("{base}{FEEDS}{slug}.{}", format.extension())
}

/// The URL of a feed's archive of `day` (`YYYY-MM-DD`) in `format`.
pub fn archive_url(base: &str, slug: &str, day: &str, format: Format) -> String {
    format!("{base}{FEEDS}{slug}/{ARCHIVE}{day}.{}", format.extension())
}

/// The URL of sihai's HTML page for a category.
pub fn category_page_url(base: &str, slug: &str) -> String {
    format!("{}{slug}", category_scheme(base))
}

/// The Atom category scheme: the prefix of category pages (a term is a slug).
pub fn category_scheme(base: &str) -> String {
    format!("{base}{CATEGORY_PAGES}")
}

/// The URL of sihai's own page for an article id.
pub fn article_page_url(base: &str, id: &str) -> String {
    format!("{base}{ARTICLE_PAGES}{}", percent_encoding::utf8_percent_encode(id, PATH_SEGMENT))
}

/// The canonical path segment of a canonical name (see the module doc).
pub fn name_segment(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, PATH_SEGMENT).to_string()
}

/// The name a path segment spells, `+` read as a space (a form-encoded space), then
/// percent-decoded, in its canonical form; `None` if it spells none (not UTF-8, empty,
/// too long).
pub fn name_of_segment(raw: &str) -> Option<String> {
    if raw.len() > NAME_SEGMENT_MAX {
        return None;
    }
    let spaced = raw.replace('+', " ");
    let text = percent_encoding::percent_decode_str(&spaced).decode_utf8().ok()?;
    crate::model::canonical_name(&text)
}

/// The "slug" of a tag or author feed in its URLs: `tag/{segment}` (`kind` is [`TAG`] or
/// [`AUTHOR`]), so [`feed_url`] and [`archive_url`] build its feed and archive URLs.
pub fn name_slug(kind: &str, name: &str) -> String {
    format!("{kind}/{}", name_segment(name))
}

/// The URL of sihai's page of a tag or author (a canonical name).
pub fn name_page_url(base: &str, kind: &str, name: &str) -> String {
    format!("{base}{}", name_slug(kind, name))
}

/// The page URL of a tag or author as an article spells it: `None` when it has no
/// canonical form (it then has no page and no feed).
pub fn name_page_url_of(base: &str, kind: &str, raw: &str) -> Option<String> {
    crate::model::canonical_name(raw).map(|n| name_page_url(base, kind, &n))
}

/// Where an article is read: its own `url`, else sihai's page for it.
pub fn article_link(base: &str, article: &Article) -> String {
    article.url.clone().unwrap_or_else(|| article_page_url(base, &article.id))
}

/// The URL of the OPML list of every feed in `format` (RSS is the default, no query).
pub fn opml_url(base: &str, format: Format) -> String {
    match format {
        Format::Rss => format!("{base}{OPML}"),
        _ => format!("{base}{OPML}?format={}", format.extension()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_from_the_base() {
        let base = "https://news.example.com/sihai/";
        assert_eq!(feed_url(base, "hunan", Format::Atom), "https://news.example.com/sihai/feeds/hunan.atom");
        assert_eq!(
            archive_url(base, "all", "2021-09-03", Format::Json),
            "https://news.example.com/sihai/feeds/all/archive/2021-09-03.json"
        );
        assert_eq!(category_page_url(base, "hunan"), "https://news.example.com/sihai/c/hunan");
        assert_eq!(
            article_page_url(base, "新闻 1/2"),
            "https://news.example.com/sihai/articles/%E6%96%B0%E9%97%BB%201%2F2"
        );
        assert_eq!(opml_url(base, Format::Rss), "https://news.example.com/sihai/feeds.opml");
        assert_eq!(opml_url(base, Format::Json), "https://news.example.com/sihai/feeds.opml?format=json");
        assert_eq!(
            feed_url(&edition_base(base), "hunan", Format::Rss),
            "https://news.example.com/sihai/zh-hant/feeds/hunan.rss"
        );
        assert_eq!(
            feed_url(base, &name_slug(TAG, "湖南 新闻"), Format::Rss),
            "https://news.example.com/sihai/feeds/tag/%E6%B9%96%E5%8D%97%20%E6%96%B0%E9%97%BB.rss"
        );
        assert_eq!(name_page_url(base, AUTHOR, "C++/x"), "https://news.example.com/sihai/author/C%2B%2B%2Fx");
        assert_eq!(name_page_url_of(base, TAG, "  "), None);
    }

    #[test]
    fn name_segments_read_every_spelling_of_one_name() {
        for raw in ["%E6%B9%96%E5%8D%97", "%e6%b9%96%e5%8d%97", "湖南", "%E6%B9%96南", "+%E6%B9%96%E5%8D%97+"] {
            assert_eq!(name_of_segment(raw).as_deref(), Some("湖南"), "{raw}");
        }
        assert_eq!(name_of_segment("a+b").as_deref(), Some("a b"));
        assert_eq!(name_of_segment("a%2Bb").as_deref(), Some("a+b"));
        assert_eq!(name_of_segment("cafe%CC%81").as_deref(), Some("caf\u{e9}"), "NFD is NFC");
        for bad in ["", "%FF", "+", "%00", &"a".repeat(NAME_SEGMENT_MAX + 1)] {
            assert_eq!(name_of_segment(bad), None, "{bad:?}");
        }
        assert_eq!(name_segment("caf\u{e9} 1"), "caf%C3%A9%201");
    }
}
