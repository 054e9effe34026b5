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
//! | `/c/{slug}` | GET, HEAD | a category's page |
//! | `/feeds.opml[?format=atom\|json]` | GET, HEAD | OPML 2.0 list of every feed, nested as the tree |
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
//! unknown slug is 404, a bad `?limit` or `filter*` parameter 400) before the method is;
//! API query parameters are read by their handlers, after authentication. Query strings
//! are read by [`param`] and [`params`] alone.
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
use crate::feed::urls::{ARCHIVE, ARTICLE_PAGES, CATEGORY_PAGES, FEEDS, OPML, TRADITIONAL};
use crate::feed::{Format, Target};
use crate::publish::{Edition, Key, Representation, View};

/// What a request path names.
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
            return ready(Key::current(Target::All, Representation::Opml(format)));
        }
        if let Some(rest) = path.strip_prefix(FEEDS) {
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

/// `/feeds/{rest}`: a current feed (`{slug}.{ext}`) or an archive
/// (`{slug}/archive/{YYYY-MM-DD}.{ext}`), with the filter its query asks for.
fn feed(rest: &str, query: Option<&str>, view: &View) -> Result<(Key, Option<FilterSpec>), Refusal> {
    let (name, ext) = rest.rsplit_once('.').ok_or(Refusal::NotFound)?;
    let format = Format::from_extension(ext).ok_or(Refusal::NotFound)?;
    // Split on a char (a current feed's path, the hot one, has no '/' left here).
    let (slug, archive) = match name.split_once('/') {
        None => (name, None),
        Some((slug, rest)) => (slug, Some(archive_day(rest)?)),
    };
    let target = view.target(slug).ok_or(Refusal::NotFound)?;
    let limit = if archive.is_some() { None } else { limit(query, view.max_items(target))? };
    let spec = FilterSpec::from_params(params(query)).map_err(Refusal::BadFilter)?;
    Ok((Key { limit, archive, ..Key::current(target, Representation::Feed(format)) }, spec))
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
