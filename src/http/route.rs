//! The route table: every path sihai answers, the API's included, parsed once into a
//! [`Route`] that also knows its allowed methods (for 405 and `Allow`).
//!
//! | route | methods | what |
//! |---|---|---|
//! | `/` | GET, HEAD | the site's page (category tree, feed links) |
//! | `/feeds/{slug}.{rss,atom,json}[?limit=N]` | GET, HEAD | a category's feed (`all` for the site) |
//! | `/feeds/...?filter=...` | GET, HEAD | a feed or archive filtered (`filter`, `filterout`, `filter_title`...: `feed::filter`) |
//! | `/zh-hant/{feeds, pages, OPML, article pages}` | GET, HEAD | the Traditional Chinese edition of each (`[site] traditional`); not the API, `/healthz`, `/readyz`, `/metrics` |
//! | `/feeds/{slug}/archive/{YYYY-MM-DD}.{rss,atom,json}` | GET, HEAD | RFC 5005 archive of one day |
//! | `/feeds/tag/{tag}.{rss,atom,json}[?limit=N]` | GET, HEAD | a tag's feed (404 without published articles) |
//! | `/feeds/tag/{tag}/archive/{YYYY-MM-DD}.{rss,atom,json}` | GET, HEAD | RFC 5005 archive of one day of a tag |
//! | `/feeds/author/{name}.{rss,atom,json}[?limit=N]`, `.../archive/{day}.{ext}` | GET, HEAD | an author's feed and archives |
//! | `/c/{slug}` | GET, HEAD | a category's page |
//! | `/tag/{tag}`, `/author/{name}` | GET, HEAD | a tag's or author's page |
//! | `/feeds.opml[?format=atom\|json][&include=tags,authors]` | GET, HEAD | OPML 2.0 list of every feed, nested as the tree (`include`: also the feeds of the most used tags and authors, at most 100 each) |
//! | `/articles/{id}` | GET, HEAD | an article's own page |
//! | `/healthz` | GET, HEAD | the process answers (no token, no store read) |
//! | `/readyz` | GET, HEAD | the store answers and the disk guard is not tripped |
//! | `/metrics` | GET, HEAD | Prometheus metrics (`[metrics]`: allowed networks, or its token) |
//! | `/stats`, `/stats/{feed}` | GET, HEAD | readership pages (`[stats]`: a token, or public) |
//! | `/api/stats/feeds[?days=N]` | GET, HEAD | readership as JSON (`[stats]`: a token, or public) |
//! | `/api/articles[?dry_run=1]` | GET, HEAD, POST | list (`category`, `limit`, `after`), or ingest |
//! | `/api/articles/{id}` | GET, HEAD, DELETE | one stored article |
//! | `/api/stats` | GET, HEAD | work counters |
//! | `/api/export` | GET, HEAD | every record as JSON Lines (a backup) |
//!
//! A path that names a feed, page or archive is checked against the config here (an
//! unknown slug is 404, a bad `?limit` or `filter*` parameter 400) before the method is; a
//! tag or author name in any spelling but the canonical one (`feed::urls`: percent-encoded
//! NFC, upper-case hex) is a 301 to the canonical URL (the query kept), a name over
//! `model::NAME_MAX_BYTES` is 404 without a store read, and whether a name has articles
//! is the render's to find (404 if none); API query parameters are read by their
//! handlers, after authentication. Query strings are read by [`param`] and [`params`]
//! alone. Tag and author feeds take no `filter*` parameters.
//!
//! The edition is a path prefix rather than a parameter: each edition of a document has
//! one URL, which proxies and browsers cache by without being told about a `Vary` or a
//! query, and which OPML, autodiscovery and self links name; a query parameter would also
//! mix with `?limit` and `?filter` in every combination.

use std::borrow::Cow;

use chrono::NaiveDate;
use hyper::Method;
use percent_encoding::percent_decode_str;

use crate::feed::filter::{FilterError, FilterSpec};
use crate::feed::urls::{self, ARCHIVE, ARTICLE_PAGES, AUTHOR, CATEGORY_PAGES, FEEDS, OPML, TAG, TRADITIONAL};
use crate::feed::{Format, Name, Target};
use crate::publish::{Edition, Key, Representation, View};

/// What a request path names.
// `Ready` holds a `Key` of about 270 bytes (a tag or author name is kept inline so keys stay
// `Copy`): one `Route` lives per request on the stack, where boxing it would cost an
// allocation on every feed request, the hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A feed, archive or page the publisher keeps ready.
    Ready(Key),
    /// A filtered feed or archive: its key (`filter` set) and the checked patterns,
    /// compiled only when the document is not ready.
    Filtered(Key, FilterSpec),
    /// An article's own page (`/articles/{id}`).
    Article(String),
    /// An article's own page in the Traditional edition (`/zh-hant/articles/{id}`).
    TraditionalArticle(String),
    /// 301 to this absolute URL: the canonical spelling of a tag or author URL.
    Redirect(String),
    /// `/healthz`: the process answers.
    Health,
    /// `/readyz`: the store answers and writes are not refused for a full disk.
    Readiness,
    /// `/metrics`: Prometheus metrics, for allowed networks or a token.
    Metrics,
    /// `/stats`: the readership table.
    Stats,
    /// `/stats/{feed}`: one feed's readership over 90 days.
    StatsFeed(String),
    /// `/api/stats/feeds`: the readership as JSON.
    ApiStatsFeeds,
    /// `/api/articles`: list or ingest.
    ApiArticles,
    /// `/api/articles/{id}`: read or delete one article.
    ApiArticle(String),
    /// `/api/stats`.
    ApiStats,
    /// `/api/export`.
    ApiExport,
}

/// Why a path names nothing sihai serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such feed, page or archive.
    NotFound,
    /// No such API route (answered in JSON).
    NoApiRoute,
    /// `?limit` outside 1..=max_items of the feed.
    BadLimit(usize),
    /// `/feeds.opml?format=` of a format sihai does not serve.
    BadFormat,
    /// A `filter*` parameter refused (unknown, repeated, too long, not a pattern).
    BadFilter(FilterError),
    /// `/feeds.opml?include=` naming something but `tags` and `authors`.
    BadInclude,
}

impl Route {
    /// The route `path` (with `query`) names for the site `view` serves.
    pub fn parse(path: &str, query: Option<&str>, view: &View) -> Result<Route, Refusal> {
        if path == "/api" || path.starts_with("/api/") {
            return api(path);
        }
        if let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(TRADITIONAL)) {
            if !view.has_edition() || rest.starts_with(TRADITIONAL) {
                return Err(Refusal::NotFound);
            }
            // The same table below the prefix; only what the publisher keeps ready has an
            // edition (not the API, article pages or the health routes).
            let edition = |key: Key| Key { edition: Edition::Traditional, ..key };
            return match Route::parse(&format!("/{rest}"), query, view)? {
                Route::Ready(key) => Ok(Route::Ready(edition(key))),
                Route::Filtered(key, spec) => Ok(Route::Filtered(edition(key), spec)),
                Route::Article(id) => Ok(Route::TraditionalArticle(id)),
                // A tag or author name's other spelling: to the canonical URL of the edition.
                Route::Redirect(url) => {
                    let base = view.base();
                    Ok(Route::Redirect(url.replacen(base, &urls::edition_base(base), 1)))
                }
                _ => Err(Refusal::NotFound),
            };
        }
        let ready = |key| Ok(Route::Ready(key));
        // Paths below the site's root, as `feed::urls` builds them below `base_url`.
        let path = path.strip_prefix('/').ok_or(Refusal::NotFound)?;
        if path.is_empty() {
            return ready(Key::current(Target::All, Representation::Home));
        }
        if path == OPML {
            let format = match param(query, "format") {
                None => Format::Rss,
                Some(f) => Format::from_extension(&f).ok_or(Refusal::BadFormat)?,
            };
            let include = match param(query, "include") {
                None => Default::default(),
                Some(list) => crate::feed::opml::Include::parse(&list).ok_or(Refusal::BadInclude)?,
            };
            return ready(Key::current(Target::All, Representation::Opml(format, include)));
        }
        if let Some(rest) = path.strip_prefix(FEEDS) {
            if let Some(named) = named_feed(rest, query, view)? {
                return Ok(named);
            }
            return match feed(rest, query, view)? {
                (key, None) => Ok(Route::Ready(key)),
                (key, Some(spec)) => Ok(Route::Filtered(Key { filter: Some(spec.id()), ..key }, spec)),
            };
        }
        match path {
            "healthz" => return Ok(Route::Health),
            "readyz" => return Ok(Route::Readiness),
            "metrics" => return Ok(Route::Metrics),
            "stats" => return Ok(Route::Stats),
            _ => {}
        }
        if let Some(feed) = path.strip_prefix("stats/").and_then(segment) {
            return Ok(Route::StatsFeed(feed));
        }
        if let Some((kind, raw)) = named(path) {
            let (target, canonical) = name_target(kind, raw)?;
            if raw != canonical {
                return Ok(redirect(urls::name_page_url(view.base(), kind, target_name(&target)), query));
            }
            return ready(Key::current(target, Representation::Page));
        }
        if let Some(slug) = path.strip_prefix(CATEGORY_PAGES) {
            let target = view.target(slug).filter(|t| *t != Target::All).ok_or(Refusal::NotFound)?;
            return ready(Key::current(target, Representation::Page));
        }
        match path.strip_prefix(ARTICLE_PAGES).and_then(segment) {
            Some(id) => Ok(Route::Article(id)),
            None => Err(Refusal::NotFound),
        }
    }

    /// The methods this route answers, as an `Allow` header lists them.
    pub fn allow(&self) -> &'static str {
        match self {
            Route::ApiArticles => "GET, HEAD, POST",
            Route::ApiArticle(_) => "GET, HEAD, DELETE",
            _ => "GET, HEAD",
        }
    }

    /// Whether this route answers `method` (one of those [`Route::allow`] lists).
    pub fn allows(&self, method: &Method) -> bool {
        method == Method::GET || method == Method::HEAD || self.allow().split(", ").any(|m| m == method.as_str())
    }

    /// Whether this is an `/api` route (JSON errors, a bearer token).
    pub fn is_api(&self) -> bool {
        !matches!(
            self,
            Route::Ready(_)
                | Route::Filtered(..)
                | Route::Article(_)
                | Route::TraditionalArticle(_)
                | Route::Redirect(_)
                | Route::Health
                | Route::Readiness
                | Route::Metrics
                | Route::Stats
                | Route::StatsFeed(_)
                | Route::ApiStatsFeeds
        )
    }
}

/// `/api/...` paths.
fn api(path: &str) -> Result<Route, Refusal> {
    match path {
        "/api/articles" | "/api/articles/" => Ok(Route::ApiArticles),
        "/api/stats" => Ok(Route::ApiStats),
        "/api/stats/feeds" => Ok(Route::ApiStatsFeeds),
        "/api/export" => Ok(Route::ApiExport),
        _ => path.strip_prefix("/api/articles/").and_then(segment).map(Route::ApiArticle).ok_or(Refusal::NoApiRoute),
    }
}

/// `{name}.{ext}` or `{name}/archive/{day}.{ext}`: the feed's name, format and archive day.
fn feed_path(rest: &str) -> Result<(&str, Format, Option<NaiveDate>), Refusal> {
    let (name, ext) = rest.rsplit_once('.').ok_or(Refusal::NotFound)?;
    let format = Format::from_extension(ext).ok_or(Refusal::NotFound)?;
    // Split on a char (a current feed's path, the hot one, has no '/' left here).
    match name.split_once('/') {
        None => Ok((name, format, None)),
        Some((name, rest)) => Ok((name, format, Some(archive_day(rest)?))),
    }
}

/// `/feeds/{rest}`: a current feed (`{slug}.{ext}`) or an archive
/// (`{slug}/archive/{YYYY-MM-DD}.{ext}`), with the filter its query asks for.
fn feed(rest: &str, query: Option<&str>, view: &View) -> Result<(Key, Option<FilterSpec>), Refusal> {
    let (slug, format, archive) = feed_path(rest)?;
    let target = view.target(slug).ok_or(Refusal::NotFound)?;
    let limit = if archive.is_some() { None } else { limit(query, view.max_items(target))? };
    let spec = FilterSpec::from_params(params(query)).map_err(Refusal::BadFilter)?;
    Ok((Key { limit, archive, ..Key::current(target, Representation::Feed(format)) }, spec))
}

/// `tag/{raw}` or `author/{raw}` (a page path, or a feed path below `feeds/`): the kind
/// word and the raw segment(s) after it.
fn named(path: &str) -> Option<(&'static str, &str)> {
    [TAG, AUTHOR].into_iter().find_map(|kind| path.strip_prefix(kind)?.strip_prefix('/').map(|raw| (kind, raw)))
}

/// The target a raw name segment names, and that name's canonical segment.
fn name_target(kind: &str, raw: &str) -> Result<(Target, String), Refusal> {
    let canonical = urls::name_of_segment(raw).ok_or(Refusal::NotFound)?;
    let name = Name::new(&canonical).ok_or(Refusal::NotFound)?;
    let target = if kind == TAG { Target::Tag(name) } else { Target::Author(name) };
    Ok((target, urls::name_segment(&canonical)))
}

/// The name of a tag or author target (empty for others, which never get here).
fn target_name(target: &Target) -> &str {
    target.name().map_or("", |(_, n)| n)
}

/// A 301 to `url` with the request's query, if any.
fn redirect(url: String, query: Option<&str>) -> Route {
    match query {
        Some(q) if !q.is_empty() => Route::Redirect(format!("{url}?{q}")),
        _ => Route::Redirect(url),
    }
}

/// `/feeds/tag/{raw}.{ext}`, `/feeds/author/{raw}.{ext}` and their archives
/// (`{raw}/archive/{YYYY-MM-DD}.{ext}`); `None` if `rest` is not below `tag/` or
/// `author/` (the slugs `tag` and `author` are reserved for this).
fn named_feed(rest: &str, query: Option<&str>, view: &View) -> Result<Option<Route>, Refusal> {
    let Some((kind, named)) = named(rest) else { return Ok(None) };
    let (raw, format, archive) = feed_path(named)?;
    let (target, canonical) = name_target(kind, raw)?;
    if raw != canonical {
        let slug = urls::name_slug(kind, target_name(&target));
        let url = match archive {
            None => urls::feed_url(view.base(), &slug, format),
            Some(day) => urls::archive_url(view.base(), &slug, &day.to_string(), format),
        };
        return Ok(Some(redirect(url, query)));
    }
    let limit = if archive.is_some() { None } else { limit(query, view.max_items(target))? };
    Ok(Some(Route::Ready(Key { limit, archive, ..Key::current(target, Representation::Feed(format)) })))
}

/// `archive/{YYYY-MM-DD}`: only the canonical spelling names an archive (one URL per
/// document).
fn archive_day(rest: &str) -> Result<NaiveDate, Refusal> {
    let day = rest.strip_prefix(ARCHIVE).ok_or(Refusal::NotFound)?;
    let parsed = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| Refusal::NotFound)?;
    if parsed.to_string() != day {
        return Err(Refusal::NotFound);
    }
    Ok(parsed)
}

/// `?limit=N`: `None` when absent or equal to the full length (the same document).
fn limit(query: Option<&str>, max: usize) -> Result<Option<usize>, Refusal> {
    let Some(raw) = param(query, "limit") else { return Ok(None) };
    match raw.parse::<usize>() {
        Ok(n) if n == max => Ok(None),
        Ok(n) if (1..max).contains(&n) => Ok(Some(n)),
        _ => Err(Refusal::BadLimit(max)),
    }
}

/// The first value of the query parameter `name`, form-decoded.
pub fn param<'q>(query: Option<&'q str>, name: &str) -> Option<Cow<'q, str>> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Every query parameter, form-decoded, in order.
pub fn params(query: Option<&str>) -> url::form_urlencoded::Parse<'_> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
}

/// A percent-encoded path segment as text; `None` if empty or not UTF-8.
fn segment(raw: &str) -> Option<String> {
    let id = percent_decode_str(raw).decode_utf8().ok()?.into_owned();
    (!id.is_empty()).then_some(id)
}

/// Runs every pure parsing piece of the table on `s` (as a path, a query, a day), for the
/// property tests: none may panic on any input.
#[cfg(test)]
pub fn probe(s: &str) {
    let _ = api(s);
    let _ = archive_day(s);
    let _ = limit(Some(s), 50);
    let _ = param(Some(s), "limit");
    let _ = FilterSpec::from_params(params(Some(s))).map(|spec| spec.map(|s| s.compile().map(|f| f.query().len())));
    let _ = segment(s);
    let _ = named(s);
    let _ = name_target(TAG, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_and_their_methods() {
        let cases = [
            ("/api/articles", Ok(Route::ApiArticles), "GET, HEAD, POST"),
            ("/api/articles/", Ok(Route::ApiArticles), "GET, HEAD, POST"),
            ("/api/articles/a%20b", Ok(Route::ApiArticle("a b".into())), "GET, HEAD, DELETE"),
            ("/api/stats", Ok(Route::ApiStats), "GET, HEAD"),
            ("/api/export", Ok(Route::ApiExport), "GET, HEAD"),
        ];
        for (path, want, allow) in cases {
            let route = api(path);
            assert_eq!(route, want, "{path}");
            assert_eq!(route.as_ref().unwrap().allow(), allow, "{path}");
        }
        for bad in ["/api", "/api/", "/api/articles/%FF", "/api/other"] {
            assert_eq!(api(bad), Err(Refusal::NoApiRoute), "{bad}");
        }
        assert!(Route::ApiArticles.allows(&Method::POST) && !Route::ApiArticles.allows(&Method::DELETE));
        assert!(Route::ApiArticle("x".into()).allows(&Method::DELETE));
        assert!(Route::ApiStats.allows(&Method::HEAD) && !Route::ApiStats.allows(&Method::PUT));
        assert!(Route::Article("x".into()).allows(&Method::GET) && !Route::Article("x".into()).allows(&Method::POST));
    }

    #[test]
    fn names_in_paths_and_their_canonical_segments() {
        assert_eq!(named("tag/%E6%B9%96.rss"), Some((TAG, "%E6%B9%96.rss")));
        assert_eq!(named("author/x"), Some((AUTHOR, "x")));
        assert_eq!(named("tags/x"), None);
        assert_eq!(named("tag"), None);
        let (target, canonical) = name_target(TAG, "%e6%b9%96+%E5%8D%97").unwrap();
        assert_eq!(target_name(&target), "湖 南");
        assert_eq!(canonical, "%E6%B9%96%20%E5%8D%97");
        assert!(matches!(name_target(AUTHOR, "x").unwrap().0, Target::Author(_)));
        for bad in ["", "%FF", "+", &"%E6%B9%96".repeat(100)] {
            assert_eq!(name_target(TAG, bad).map(|_| ()), Err(Refusal::NotFound), "{bad}");
        }
        assert_eq!(redirect("u".into(), Some("limit=3")), Route::Redirect("u?limit=3".into()));
        assert_eq!(redirect("u".into(), Some("")), Route::Redirect("u".into()));
    }

    #[test]
    fn archive_days_have_one_spelling() {
        assert_eq!(archive_day("archive/2021-09-03"), Ok(NaiveDate::from_ymd_opt(2021, 9, 3).unwrap()));
        for bad in ["archive/2021-9-3", "archive/2021-02-30", "archives/2021-09-03", "archive/+2021-09-03"] {
            assert_eq!(archive_day(bad), Err(Refusal::NotFound), "{bad}");
        }
    }

    #[test]
    fn limits_within_the_feed_and_the_full_length_is_the_feed_itself() {
        assert_eq!(limit(None, 50), Ok(None));
        assert_eq!(limit(Some("limit=7&x=1"), 50), Ok(Some(7)));
        assert_eq!(limit(Some("limit=50"), 50), Ok(None));
        for bad in ["limit=0", "limit=51", "limit=abc", "limit=", "limit=-1"] {
            assert_eq!(limit(Some(bad), 50), Err(Refusal::BadLimit(50)), "{bad}");
        }
        assert_eq!(param(Some("a=1&category=%E6%B9%96&a=2"), "category").as_deref(), Some("湖"));
        assert_eq!(param(Some("a=1&a=2"), "a").as_deref(), Some("1"), "the first value");
        assert_eq!(segment("%E6%96%B0%E9%97%BB-1"), Some("新闻-1".into()));
        assert_eq!(segment(""), None);
    }
}
