//! Feeds: prepared once from stored articles, then rendered to every format.
//!
//! [`prepare`] decides everything a feed says (title, links, change time, the items with
//! their dates in site time and absolute URLs); `rss`, `atom` and `html` only translate
//! that one [`FeedDoc`] into their format, so the formats cannot disagree. Nothing in this
//! module does I/O: the caller reads the store and passes the data in.

pub mod atom;
pub mod html;
pub mod json;
pub mod opml;
pub mod rss;

use chrono::DateTime;
use chrono_tz::Tz;

use crate::config::Config;
use crate::model::{Author, Image, StoredArticle};
use crate::time::site_time;

/// The generator name written into every feed.
pub const GENERATOR: &str = "sihai";
/// The generator version written into every feed.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Which feed: the whole site, or one category (index into the config's list) with its
/// descendants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `/feeds/all.*`
    All,
    /// `/feeds/{slug}.*`
    Category(usize),
}

/// A feed format sihai serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RSS 2.0
    Rss,
    /// Atom 1.0
    Atom,
    /// JSON Feed 1.1
    Json,
}

impl Format {
    /// The file extension in feed URLs.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    /// The `Content-Type` it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json",
        }
    }

    /// The MIME type (without parameters), for `<link rel="alternate" type>`.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
        }
    }

    /// Every format, in the order pages list them.
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    /// The format of an extension, if sihai serves it.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext {
            "rss" => Some(Format::Rss),
            "atom" => Some(Format::Atom),
            "json" => Some(Format::Json),
            _ => None,
        }
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
    /// WebSub hubs.
    pub hubs: Vec<String>,
    /// RFC 5005 links of this document.
    pub history: History,
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
        format!("{}feeds/{}.{}", self.site_url, self.slug, format.extension())
    }

    /// The URL of this very document in `format`: its self link.
    pub fn self_url(&self, format: Format) -> String {
        match &self.history.archive {
            Some(day) => self.archive_url(format, day),
            None => format!("{}{}", self.url(format), self.self_query),
        }
    }

    /// The URL of this feed's archive of `day` in `format`.
    pub fn archive_url(&self, format: Format, day: &str) -> String {
        format!("{}feeds/{}/archive/{day}.{}", self.site_url, self.slug, format.extension())
    }

    /// RFC 5005 links as (rel, URL) pairs in `format`: prev-archive, next-archive, and for
    /// archives `current`.
    pub fn history_links(&self, format: Format) -> Vec<(&'static str, String)> {
        let mut links = Vec::new();
        if let Some(day) = &self.history.prev {
            links.push(("prev-archive", self.archive_url(format, day)));
        }
        if let Some(day) = &self.history.next {
            links.push(("next-archive", self.archive_url(format, day)));
        }
        if self.history.archive.is_some() {
            links.push(("current", self.url(format)));
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
    /// Plain-text excerpt (summary, or the start of the content).
    pub excerpt: String,
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
    /// Lead image.
    pub image: Option<Image>,
}

/// Characters percent-encoded in a URL path segment: all but RFC 3986 unreserved ones.
const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The URL of sihai's own page for an article id.
pub fn article_page_url(config: &Config, id: &str) -> String {
    format!("{}articles/{}", config.site.base_url, percent_encoding::utf8_percent_encode(id, PATH_SEGMENT))
}

/// The URL of sihai's HTML page for a category.
pub fn category_page_url(config: &Config, slug: &str) -> String {
    format!("{}c/{slug}", config.site.base_url)
}

/// Prepares the feed `target` from its newest articles and its stored change time.
pub fn prepare(config: &Config, target: Target, feed_id: &str, changed: i64, articles: &[StoredArticle]) -> FeedDoc {
    let site = &config.site;
    let (slug, title, description, home_url, ttl, language) = match target {
        Target::All => (
            "all".to_string(),
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
                category_page_url(config, &c.slug),
                c.ttl_minutes,
                language,
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
        hubs: config.hubs.iter().map(|u| u.to_string()).collect(),
        history: History::default(),
    }
}

fn prepare_item(config: &Config, stored: &StoredArticle) -> FeedItem {
    let a = &stored.article;
    let categories = a
        .categories
        .iter()
        .map(|slug| {
            let name = config.categories.lookup(slug).map(|c| c.name.clone()).unwrap_or_else(|| slug.clone());
            (slug.clone(), name, category_page_url(config, slug))
        })
        .collect();
    FeedItem {
        guid: stored.guid.clone(),
        title: a.title.clone(),
        link: a.url.clone().unwrap_or_else(|| article_page_url(config, &a.id)),
        excerpt: stored.excerpt.clone(),
        content_html: a.content_html.clone(),
        authors: a.authors.clone(),
        published: site_time(config.site.timezone, a.published),
        updated: site_time(config.site.timezone, stored.updated),
        categories,
        tags: a.tags.clone(),
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
    }
    blake3::hash(text.as_bytes()).to_hex()[..32].to_string()
}
