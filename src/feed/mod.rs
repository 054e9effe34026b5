//! Feeds: prepared once from stored articles, then rendered to every format.
//!
//! [`prepare`] decides everything a feed says (title, links, change time, the items with
//! their dates in site time and absolute URLs); `rss`, `atom` and `html` only translate
//! that one [`FeedDoc`] into their format, so the formats cannot disagree. Nothing in this
//! module does I/O: the caller reads the store and passes the data in.

pub mod atom;
pub mod filter;
mod format;
pub mod hant;
pub mod html;
pub mod json;
pub mod opml;
pub mod rss;
pub mod stats;
pub mod urls;

use chrono::DateTime;
use chrono_tz::Tz;

use crate::config::{Config, SITE_SLUG};
use crate::model::{Author, Image, StoredArticle, NAME_MAX_BYTES};
use crate::time::site_time;

pub use format::{Format, HTML_CONTENT_TYPE, HTML_MIME, OPML_CONTENT_TYPE};

/// The generator name written into every feed.
pub const GENERATOR: &str = "sihai";
/// The generator version written into every feed.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Which feed: the whole site, one category (index into the config's list) with its
/// descendants, or the articles of one tag or one author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `/feeds/all.*`
    All,
    /// `/feeds/{slug}.*`
    Category(usize),
    /// `/feeds/tag/{name}.*`
    Tag(Name),
    /// `/feeds/author/{name}.*`
    Author(Name),
}

impl Target {
    /// The kind word (`tag`, `author`) and the name of a tag or author feed; `None` for
    /// the site and categories. The word is also the path segment of its URLs
    /// ([`urls::TAG`], [`urls::AUTHOR`]) and of its feed id.
    pub fn name(&self) -> Option<(&'static str, &str)> {
        match self {
            Target::Tag(n) => Some((urls::TAG, n.as_str())),
            Target::Author(n) => Some((urls::AUTHOR, n.as_str())),
            Target::All | Target::Category(_) => None,
        }
    }
}

/// A canonical tag or author name ([`crate::model::canonical_name`]) held inline, so that a
/// [`Target`], and the cache key holding it, stay plain `Copy` values (the cache copies
/// keys on every lookup). Only canonical names are held: at most
/// [`crate::model::NAME_MAX_BYTES`] bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name {
    len: u8,
    bytes: [u8; NAME_MAX_BYTES],
}

const _: () = assert!(NAME_MAX_BYTES <= u8::MAX as usize, "a name's length fits its u8");

impl Name {
    /// The name of `text`'s canonical form; `None` if it has none (empty, too long).
    pub fn new(text: &str) -> Option<Name> {
        let canonical = crate::model::canonical_name(text)?;
        let mut bytes = [0; NAME_MAX_BYTES];
        bytes.get_mut(..canonical.len())?.copy_from_slice(canonical.as_bytes());
        Some(Name { len: canonical.len() as u8, bytes })
    }

    /// The canonical name.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or_default()
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// Everything a feed says, format-neutral.
#[derive(Debug, Clone)]
pub struct FeedDoc {
    /// The slug in URLs (`all` for the site).
    pub slug: String,
    /// Channel title.
    pub title: String,
    /// Channel description / Atom subtitle.
    pub description: String,
    /// The HTML page this feed stands for.
    pub home_url: String,
    /// The Atom feed id, stored and stable.
    pub feed_id: String,
    /// Language code.
    pub language: String,
    /// Minutes a reader may cache it.
    pub ttl_minutes: u32,
    /// The feed's stored change time, in site time.
    pub updated: DateTime<Tz>,
    /// The site's name, the Atom feed's author.
    pub site_title: String,
    /// The site's public URL.
    pub site_url: String,
    /// Items, newest first.
    pub items: Vec<FeedItem>,
    /// The query of this very document's URL (`?limit=10`), empty for the full feed.
    pub self_query: String,
    /// Wide logo image URL.
    pub logo: Option<String>,
    /// Small square icon URL.
    pub icon: Option<String>,
    /// The feed's picture where a format has room for one (RSS `image`, JSON Feed
    /// `icon`): the logo, else the icon.
    pub image: Option<String>,
    /// WebSub hubs.
    pub hubs: Vec<String>,
    /// RFC 5005 links of this document.
    pub history: History,
    /// The filter of this document's URL (`filter=...`, without `?`), empty when
    /// unfiltered: a filtered archive's self link and a filtered document's history links
    /// carry it, so a reader paging back stays filtered.
    pub filter_query: String,
    /// The same document in the site's other script (Simplified / Traditional), which
    /// pages offer beside their own feeds; `None` when the site has one edition.
    pub alternate: Option<Alternate>,
}

/// The other edition of a document: where its URLs live and what it is written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternate {
    /// Its language tag (`hreflang`).
    pub language: String,
    /// The base its URLs are built on (`{base_url}` or `{base_url}zh-hant/`).
    pub base: String,
    /// What a page's link to it says (简体中文, 繁體中文).
    pub label: &'static str,
}

/// Where a document stands in its feed's RFC 5005 history: archives are the days (site
/// time) that have articles, named `YYYY-MM-DD`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The day this archive document holds; `None` for the current (subscription) feed.
    pub archive: Option<String>,
    /// The next older archive day, if any.
    pub prev: Option<String>,
    /// The next newer archive day, if any (archives only).
    pub next: Option<String>,
}

impl FeedDoc {
    /// The public URL of this feed in `format`.
    pub fn url(&self, format: Format) -> String {
        urls::feed_url(&self.site_url, &self.slug, format)
    }

    /// The URL of this very document in `format`: its self link.
    pub fn self_url(&self, format: Format) -> String {
        match &self.history.archive {
            Some(day) => format!("{}{}", self.archive_url(format, day), self.filter_suffix()),
            None => format!("{}{}", self.url(format), self.self_query),
        }
    }

    /// `?{filter_query}`, or nothing for an unfiltered document.
    fn filter_suffix(&self) -> String {
        if self.filter_query.is_empty() {
            String::new()
        } else {
            format!("?{}", self.filter_query)
        }
    }

    /// The URL of this document's page and feeds in the other edition, as (page, feed in
    /// `format`), when the site has two.
    pub fn alternate_urls(&self, format: Format) -> Option<(String, String)> {
        let alt = self.alternate.as_ref()?;
        let page = match self.home_url.strip_prefix(&self.site_url) {
            Some(rest) => format!("{}{rest}", alt.base),
            None => self.home_url.clone(),
        };
        Some((page, urls::feed_url(&alt.base, &self.slug, format)))
    }

    /// The URL of this feed's archive of `day` in `format`.
    pub fn archive_url(&self, format: Format, day: &str) -> String {
        urls::archive_url(&self.site_url, &self.slug, day, format)
    }

    /// RFC 5005 links as (rel, URL) pairs in `format`: prev-archive, next-archive, and for
    /// archives `current`.
    pub fn history_links(&self, format: Format) -> Vec<(&'static str, String)> {
        let mut links = Vec::new();
        let filter = self.filter_suffix();
        if let Some(day) = &self.history.prev {
            links.push(("prev-archive", format!("{}{filter}", self.archive_url(format, day))));
        }
        if let Some(day) = &self.history.next {
            links.push(("next-archive", format!("{}{filter}", self.archive_url(format, day))));
        }
        if self.history.archive.is_some() {
            links.push(("current", format!("{}{filter}", self.url(format))));
        }
        links
    }
}

/// One article as every format shows it.
#[derive(Debug, Clone)]
pub struct FeedItem {
    /// The stored GUID.
    pub guid: String,
    /// Plain-text title.
    pub title: String,
    /// The article's page: its url, else sihai's `/articles/{id}`.
    pub link: String,
    /// Plain-text excerpt (summary, or the start of the content); may be empty.
    pub excerpt: String,
    /// What summarizes the item where a format needs text (Atom `summary`, JSON Feed
    /// `content_text` without content): the excerpt, else the title. Validators want
    /// textual content in every entry.
    pub summary: String,
    /// Sanitized HTML content.
    pub content_html: Option<String>,
    /// Authors.
    pub authors: Vec<Author>,
    /// Published, in site time.
    pub published: DateTime<Tz>,
    /// Updated, in site time.
    pub updated: DateTime<Tz>,
    /// The article's categories: (slug, display name, page URL).
    pub categories: Vec<(String, String, String)>,
    /// Tags.
    pub tags: Vec<String>,
    /// Each tag with the URL of its page, if it has one (a name too long has none).
    pub tag_pages: Vec<(String, Option<String>)>,
    /// The URL of each author's page, in the order of `authors`.
    pub author_pages: Vec<Option<String>>,
    /// Lead image.
    pub image: Option<Image>,
}

/// Why a feed could not be rendered (it should not happen: the data is normalized).
#[derive(Debug)]
pub struct RenderError(pub String);

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Renders a prepared feed in `format`: the one entry every format is reached by, so a
/// new format touches only `feed/`.
pub fn render(doc: &FeedDoc, format: Format) -> Result<Vec<u8>, RenderError> {
    match format {
        Format::Rss => rss::render(doc).map_err(|e| RenderError(e.to_string())),
        Format::Atom => atom::render(doc).map_err(|e| RenderError(e.to_string())),
        Format::Json => Ok(json::render(doc)),
    }
}

/// Prepares the feed `target` from its newest articles and its stored change time.
pub fn prepare(config: &Config, target: Target, feed_id: &str, changed: i64, articles: &[StoredArticle]) -> FeedDoc {
    let site = &config.site;
    let base = site.base_url.as_str();
    let (slug, title, description, home_url, ttl, language) = match target {
        Target::All => (
            SITE_SLUG.to_string(),
            site.title.clone(),
            if site.description.is_empty() { site.title.clone() } else { site.description.clone() },
            site.base_url.to_string(),
            site.ttl_minutes,
            site.language.clone(),
        ),
        Target::Category(i) => {
            let c = &config.categories.list[i];
            let description = if c.description.is_empty() {
                format!("{}: {}", site.title, config.categories.breadcrumb(i))
            } else {
                c.description.clone()
            };
            let language = c.language.clone().unwrap_or_else(|| site.language.clone());
            (
                c.slug.clone(),
                format!("{} - {}", c.name, site.title),
                description,
                urls::category_page_url(base, &c.slug),
                c.ttl_minutes,
                language,
            )
        }
        Target::Tag(_) | Target::Author(_) => {
            let (kind, name) = target.name().unwrap_or_default();
            let what = if kind == urls::TAG { "标签 · tag" } else { "作者 · author" };
            (
                urls::name_slug(kind, name),
                format!("{name} - {}", site.title),
                format!("{}: {what} {name}", site.title),
                urls::name_page_url(base, kind, name),
                site.ttl_minutes,
                site.language.clone(),
            )
        }
    };
    FeedDoc {
        slug,
        title,
        description,
        home_url,
        feed_id: feed_id.to_string(),
        language,
        ttl_minutes: ttl,
        updated: site_time(site.timezone, changed),
        site_title: site.title.clone(),
        site_url: site.base_url.to_string(),
        items: articles.iter().map(|a| prepare_item(config, a)).collect(),
        self_query: String::new(),
        logo: site.logo.as_ref().map(|u| u.to_string()),
        icon: site.icon.as_ref().map(|u| u.to_string()),
        image: site.logo.as_ref().or(site.icon.as_ref()).map(|u| u.to_string()),
        hubs: config.hubs.iter().map(|u| u.to_string()).collect(),
        history: History::default(),
        filter_query: String::new(),
        alternate: site.traditional.map(|kind| Alternate {
            language: kind.language().to_string(),
            base: urls::edition_base(base),
            label: hant::TRADITIONAL_LABEL,
        }),
    }
}

fn prepare_item(config: &Config, stored: &StoredArticle) -> FeedItem {
    let a = &stored.article;
    let base = config.site.base_url.as_str();
    let categories = a
        .categories
        .iter()
        .map(|slug| {
            let name = config.categories.lookup(slug).map(|c| c.name.clone()).unwrap_or_else(|| slug.clone());
            (slug.clone(), name, urls::category_page_url(config.site.base_url.as_str(), slug))
        })
        .collect();
    FeedItem {
        guid: stored.guid.clone(),
        title: a.title.clone(),
        link: urls::article_link(config.site.base_url.as_str(), a),
        excerpt: stored.excerpt.clone(),
        summary: if stored.excerpt.is_empty() { a.title.clone() } else { stored.excerpt.clone() },
        content_html: a.content_html.clone(),
        authors: a.authors.clone(),
        published: site_time(config.site.timezone, a.published),
        updated: site_time(config.site.timezone, stored.updated),
        categories,
        tags: a.tags.clone(),
        tag_pages: a.tags.iter().map(|t| (t.clone(), urls::name_page_url_of(base, urls::TAG, t))).collect(),
        author_pages: a.authors.iter().map(|p| urls::name_page_url_of(base, urls::AUTHOR, &p.name)).collect(),
        image: a.image.clone(),
    }
}

/// The digest of everything in the config that a feed shows, stored to notice changes.
pub fn signature(config: &Config, target: Target) -> String {
    let site = &config.site;
    let mut text = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{:?}\n{:?}\n{:?}\n",
        site.title,
        site.description,
        site.base_url,
        site.language,
        site.timezone,
        VERSION,
        site.logo,
        site.icon,
        config.hubs
    );
    match target {
        Target::All => text.push_str(&format!("all\n{}\n{}\n", site.max_items, site.ttl_minutes)),
        Target::Category(i) => {
            text.push_str(&config.categories.breadcrumb(i));
            for j in config.categories.subtree(i) {
                let c = &config.categories.list[j];
                text.push_str(&format!(
                    "{}\n{}\n{}\n{}\n{}\n{:?}\n",
                    c.slug, c.name, c.description, c.max_items, c.ttl_minutes, c.language
                ));
            }
        }
        Target::Tag(_) | Target::Author(_) => {
            let (kind, name) = target.name().unwrap_or_default();
            text.push_str(&format!("{kind}\n{name}\n{}\n{}\n", site.max_items, site.ttl_minutes));
        }
    }
    blake3::hash(text.as_bytes()).to_hex()[..32].to_string()
}
