//! What the publisher renders: a feed's newest items or one archive day read from the
//! store, prepared by `feed` and rendered in the representation asked for, with the
//! validators the cache keeps beside the bytes.

use chrono::NaiveDate;

use super::cache::{entry, Edition, Entry, Key, Representation};
use super::{PublishError, View};
use crate::config::{Config, SITE_SLUG as ALL};
use crate::feed::filter::Filter;
use crate::feed::{self, FeedDoc, Format, Target};
use crate::store::{FeedMeta, Scope, StoreError};
use crate::time::{self, now};

/// Seconds readers may cache an archive document (they change only when one of their own
/// articles does).
const ARCHIVE_MAX_AGE: u32 = 86_400;

impl View {
    /// The HTML page of one article, if the id is stored and published.
    pub fn article_page(&self, id: &str) -> Result<Option<String>, PublishError> {
        self.article_page_in(id, Edition::Simplified)
    }

    /// [`View::article_page`] in an edition (rendered, and converted, per request like the
    /// Simplified page: article pages are not kept ready).
    pub fn article_page_in(&self, id: &str, edition: Edition) -> Result<Option<String>, PublishError> {
        let Some(id) = self.store.stored_id(id)? else { return Ok(None) };
        let Some(stored) = self.store.get(&id)? else { return Ok(None) };
        if !stored.is_published_at(now()) {
            return Ok(None);
        }
        let meta = self.meta(ALL)?;
        let mut doc =
            feed::prepare(&self.config, Target::All, &meta.feed_id, meta.changed, std::slice::from_ref(&stored));
        if edition == Edition::Traditional {
            feed::hant::edition(&mut doc, self.traditional()?).map_err(|e| PublishError::Render(e.to_string()))?;
        }
        Ok(Some(feed::html::article_page(&doc, &doc.items[0])))
    }

    /// The stored change time of `target`'s feed: the latest of its subtree's. A tag or
    /// author feed keeps none of its own (no stored record per name: see
    /// `store::name_feed_id`); it has the site feed's, which every write that changes it
    /// moves too, so its validators never go back or stay put across a change of it.
    pub(super) fn changed(&self, target: Target) -> Result<i64, StoreError> {
        if target.name().is_some() {
            return Ok(self.meta(ALL)?.changed);
        }
        let mut changed = self.meta(self.slug(target))?.changed;
        for s in self.subtree_slugs(target).iter().flatten() {
            changed = changed.max(self.meta(s)?.changed);
        }
        Ok(changed)
    }

    /// The name the readership counts a feed under: `all`, a category slug, `tag/{name}`,
    /// `author/{name}`.
    pub fn readership_name(&self, target: Target) -> std::borrow::Cow<'_, str> {
        match target.name() {
            Some((kind, name)) => std::borrow::Cow::Owned(format!("{kind}/{name}")),
            None => std::borrow::Cow::Borrowed(self.slug(target)),
        }
    }

    /// The slug of a site or category feed's stored record (`all` for the site, and for
    /// tag and author feeds, whose record is the site's).
    pub(super) fn slug(&self, target: Target) -> &str {
        match target {
            Target::All | Target::Tag(_) | Target::Author(_) => ALL,
            Target::Category(i) => self.config.categories.list[i].slug.as_str(),
        }
    }

    /// The Atom id of `target`'s feed: stored for the site and categories, derived from
    /// the site's for tags and authors.
    fn feed_id(&self, target: Target) -> Result<String, StoreError> {
        let stored = self.meta(self.slug(target))?.feed_id;
        Ok(match target.name() {
            Some((kind, name)) => crate::store::name_feed_id(&stored, kind, name),
            None => stored,
        })
    }

    /// Prepares the feed document of `target` (its newest `limit` items) from the store,
    /// linking the archive of its oldest item's day when older articles may exist.
    pub fn prepare(&self, target: Target, limit: Option<usize>) -> Result<FeedDoc, PublishError> {
        let subtree = self.subtree_slugs(target);
        let changed = self.changed(target)?;
        let count = limit.unwrap_or_else(|| self.max_items(target));
        let articles = self.store.newest(scope(&target, &subtree), count, now())?;
        if articles.is_empty() && target.name().is_some() {
            return Err(PublishError::NoSuchFeed);
        }
        let mut doc = feed::prepare(&self.config, target, &self.feed_id(target)?, changed, &articles);
        doc.self_query = limit.map(|n| format!("?limit={n}")).unwrap_or_default();
        if articles.len() == count {
            doc.history.prev = articles.last().map(|a| self.day_of(a.article.published).to_string());
        }
        Ok(doc)
    }

    /// Prepares the RFC 5005 archive of `target` for `day`: every article published that
    /// day (site time), with links to the neighbouring archive days and the current feed.
    pub fn prepare_archive(&self, target: Target, day: NaiveDate) -> Result<FeedDoc, PublishError> {
        let tz = self.config.site.timezone;
        // A day at the edges of the calendar has no archive (and no instant to start from).
        let start = time::day_start(tz, day).ok_or(PublishError::NoSuchArchive)?;
        let next_day = day.succ_opt().ok_or(PublishError::NoSuchArchive)?;
        let end = time::day_start(tz, next_day).ok_or(PublishError::NoSuchArchive)?;
        let subtree = self.subtree_slugs(target);
        let now = now();
        let scope = scope(&target, &subtree);
        let articles = self.store.between(scope, start, end, now)?;
        if articles.is_empty() {
            return Err(PublishError::NoSuchArchive);
        }
        // The document's own time changes only with its own articles.
        let updated = articles.iter().map(|a| a.modified.max(a.updated)).max().unwrap_or(start);
        let mut doc = feed::prepare(&self.config, target, &self.feed_id(target)?, updated, &articles);
        doc.title = format!("{} ({day})", doc.title);
        doc.history = feed::History {
            archive: Some(day.to_string()),
            prev: self.store.newest_before(scope, start, now)?.map(|t| self.day_of(t).to_string()),
            next: self.store.oldest_from(scope, end, now)?.map(|t| self.day_of(t).to_string()),
        };
        Ok(doc)
    }

    /// The site-time day of an instant.
    fn day_of(&self, t: i64) -> NaiveDate {
        time::site_day(self.config.site.timezone, t)
    }

    fn meta(&self, slug: &str) -> Result<FeedMeta, StoreError> {
        Ok(self.store.feed_meta(slug)?.unwrap_or_else(|| FeedMeta::new(slug, 0, &self.config.site.tag_authority, "")))
    }

    pub(super) fn render(&self, key: Key, filter: Option<&Filter>) -> Result<Entry, PublishError> {
        let started = std::time::Instant::now();
        let rendered = self.render_untimed(key, filter);
        self.metrics.rendered(started.elapsed());
        rendered
    }

    fn render_untimed(&self, key: Key, filter: Option<&Filter>) -> Result<Entry, PublishError> {
        if let Representation::Opml(format, include) = key.repr {
            return self.render_opml(format, include, key.edition);
        }
        // A filtered feed is one pass over the feed's own prepared items (the same bounded
        // store read as the feed's), then cut to `?limit`.
        let filter = if key.filter.is_some() {
            Some(filter.ok_or_else(|| PublishError::Render("a filtered key without its filter".into()))?)
        } else {
            None
        };
        // The current document of an edition, and the documents filtered from it, come from
        // one conversion per change; `?limit` variants and archives convert their own.
        let shared =
            key.edition == Edition::Traditional && key.archive.is_none() && (key.limit.is_none() || filter.is_some());
        let (mut doc, last_modified, max_age) = match key.archive {
            None if shared => {
                let doc = FeedDoc::clone(&*self.converted_current(key.target)?);
                let (t, age) = (doc.updated.timestamp(), doc.ttl_minutes * 60);
                (doc, t, age)
            }
            None => {
                let doc = self.prepare(key.target, if filter.is_some() { None } else { key.limit })?;
                let (t, age) = (doc.updated.timestamp(), doc.ttl_minutes * 60);
                (doc, t, age)
            }
            // HTTP validators of an archive follow the feed's change time (a delete in it
            // must never be answered 304 by date), its document keeps its own time.
            Some(day) => (self.prepare_archive(key.target, day)?, self.changed(key.target)?, ARCHIVE_MAX_AGE),
        };
        if key.edition == Edition::Traditional && !shared {
            let kind = self.traditional()?;
            feed::hant::edition(&mut doc, kind).map_err(|e| PublishError::Render(e.to_string()))?;
        }
        if let Some(filter) = filter {
            // Patterns match the edition's text: a reader of `/zh-hant/` writes Traditional.
            filter.apply(&mut doc.items);
            if let Some(n) = key.limit {
                doc.items.truncate(n);
            }
            doc.filter_query = filter.query().to_string();
            doc.self_query = match key.limit {
                Some(n) => format!("?limit={n}&{}", doc.filter_query),
                None => format!("?{}", doc.filter_query),
            };
        }
        let (body, content_type) = match key.repr {
            Representation::Feed(format) => {
                let body = feed::render(&doc, format).map_err(|e| PublishError::Render(e.to_string()))?;
                (body, format.content_type())
            }
            Representation::Page => (feed::html::feed_page(&doc).into_bytes(), feed::HTML_CONTENT_TYPE),
            Representation::Home => {
                let config = match key.edition {
                    Edition::Simplified => &self.config,
                    Edition::Traditional => self.edition_config()?,
                };
                let tags = self.top_tags()?;
                (feed::html::home_page(&doc, config, &tags).into_bytes(), feed::HTML_CONTENT_TYPE)
            }
            Representation::Opml(..) => unreachable!("rendered above"),
        };
        Ok(entry(body, content_type, last_modified, max_age))
    }

    /// The OPML list depends on the config only; its time is when the store first saw the
    /// newest of the feeds. With tags or authors included it also depends on the newest
    /// articles (their most used names), and its time is the site feed's change time.
    fn render_opml(
        &self,
        format: Format,
        include: feed::opml::Include,
        edition: Edition,
    ) -> Result<Entry, PublishError> {
        let mut seen = self.meta(ALL)?.seen;
        for c in &self.config.categories.list {
            seen = seen.max(self.meta(&c.slug)?.seen);
        }
        let (mut tags, mut authors) = (Vec::new(), Vec::new());
        if include.tags || include.authors {
            seen = seen.max(self.meta(ALL)?.changed);
            let (t, a) = self.top_names(OPML_NAMES)?;
            tags = if include.tags { t.into_iter().map(|(n, _)| n).collect() } else { Vec::new() };
            authors = if include.authors { a.into_iter().map(|(n, _)| n).collect() } else { Vec::new() };
        }
        let groups = [
            feed::opml::Group { kind: feed::urls::TAG, title: "标签 · Tags", names: &tags },
            feed::opml::Group { kind: feed::urls::AUTHOR, title: "作者 · Authors", names: &authors },
        ];
        let config = match edition {
            Edition::Simplified => &self.config,
            Edition::Traditional => self.edition_config()?,
        };
        let body = feed::opml::render(config, format, &groups);
        Ok(entry(body, feed::OPML_CONTENT_TYPE, seen, self.config.site.ttl_minutes * 60))
    }

    /// The front page's most used tags: counted over the newest [`TOP_TAGS_WINDOW`]
    /// published articles, at most [`TOP_TAGS`] of them, most used first (ties by name).
    /// The front page renders once per change, and this reads a fixed number of articles,
    /// whatever the store holds.
    fn top_tags(&self) -> Result<Vec<(String, usize)>, StoreError> {
        Ok(self.top_names(TOP_TAGS)?.0)
    }

    /// The most used tags and the most active authors (name, count; most first, ties by
    /// name) over the newest [`TOP_TAGS_WINDOW`] published articles, at most `limit` each.
    fn top_names(&self, limit: usize) -> Result<(Counts, Counts), StoreError> {
        let mut tags: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut authors: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for a in self.store.newest(Scope::Site, TOP_TAGS_WINDOW, now())? {
            for t in a.tag_names() {
                *tags.entry(t).or_default() += 1;
            }
            for n in a.author_names() {
                *authors.entry(n).or_default() += 1;
            }
        }
        let most = |counts: std::collections::HashMap<String, usize>| {
            let mut v: Vec<(String, usize)> = counts.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(limit);
            v
        };
        Ok((most(tags), most(authors)))
    }

    /// `target`'s current document in the Traditional edition: kept from an earlier render
    /// since the last write to it, else prepared and converted now (and kept, unless a
    /// write came meanwhile: then it serves this render alone).
    fn converted_current(&self, target: Target) -> Result<std::sync::Arc<FeedDoc>, PublishError> {
        let generation = {
            let converted = self.converted.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(doc) = converted.docs.get(&target) {
                return Ok(doc.clone());
            }
            converted.generation
        };
        let mut doc = self.prepare(target, None)?;
        feed::hant::edition(&mut doc, self.traditional()?).map_err(|e| PublishError::Render(e.to_string()))?;
        let doc = std::sync::Arc::new(doc);
        let mut converted = self.converted.lock().unwrap_or_else(|p| p.into_inner());
        if converted.generation == generation {
            converted.docs.insert(target, doc.clone());
        }
        Ok(doc)
    }

    /// The site's converter to Traditional Chinese (routes name the edition only when there
    /// is one).
    fn traditional(&self) -> Result<crate::config::Traditional, PublishError> {
        self.config.site.traditional.ok_or_else(|| PublishError::Render("the site has no Traditional edition".into()))
    }

    /// The config as the Traditional edition shows it, made once per view.
    fn edition_config(&self) -> Result<&Config, PublishError> {
        if let Some(c) = self.edition_config.get() {
            return Ok(c);
        }
        let made = feed::hant::edition_config(&self.config, self.traditional()?)
            .map_err(|e| PublishError::Render(e.to_string()))?;
        Ok(self.edition_config.get_or_init(|| std::sync::Arc::new(made)))
    }

    /// The categories a feed shows (its subtree); `None` for the whole site and for tag
    /// and author feeds (their scope is their name's index).
    pub(super) fn subtree_slugs(&self, target: Target) -> Option<Vec<&str>> {
        let cats = &self.config.categories;
        match target {
            Target::All | Target::Tag(_) | Target::Author(_) => None,
            Target::Category(i) => Some(cats.subtree(i).into_iter().map(|j| cats.list[j].slug.as_str()).collect()),
        }
    }
}

/// How many of the newest articles the front page's tag list counts: enough for a day or
/// two of a busy portal, and a fixed cost (one merge, 200 records read) per front page
/// render.
const TOP_TAGS_WINDOW: usize = 200;
/// Names with how often they occur, most first.
type Counts = Vec<(String, usize)>;

/// How many tags the front page lists.
const TOP_TAGS: usize = 30;
/// How many tag feeds and author feeds `/feeds.opml?include=` adds at most (each): a
/// reader imports the list whole, so it stays a list one can read.
const OPML_NAMES: usize = 100;

/// The store's scope of a feed: its name's index for a tag or author, else its subtree's
/// categories (`None`: the whole site).
pub(super) fn scope<'a>(target: &'a Target, subtree: &'a Option<Vec<&'a str>>) -> Scope<'a> {
    match (target, subtree) {
        (Target::Tag(n), _) => Scope::Tag(n.as_str()),
        (Target::Author(n), _) => Scope::Author(n.as_str()),
        (_, None) => Scope::Site,
        (_, Some(slugs)) => Scope::Categories(slugs),
    }
}
