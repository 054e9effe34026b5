//! Writing the store: articles prepared on all cores, a plan made under the writer lock,
//! one atomic batch per write, group commit for concurrent durable writers; deletes,
//! scheduled releases and the feeds' change times.
//!
//! A write is one batch: no index entry can outlive or precede its article, and an id has
//! either an article record (holding its GUID) or a tombstone, never both.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::engine::Batch;
use super::keys::{
    article_key, decode_instant, encode, encode_article, guid_key, index_keys, legacy_spelling, meta_key, mint_guid,
    name_keys, time_key, with_suffix, Facet, RELEASED_KEY, TIME_LEN,
};
use super::{FeedMeta, Scope, Store, StoreError, Touched, WriteReport, Written};
use crate::config::SITE_SLUG as ALL;
use crate::model::{Article, StoredArticle, WriteStatus};

/// An article with what is derived from it alone, computed before the writer lock.
#[derive(Clone)]
pub(super) struct Prepared {
    /// The record the article gets if it is new to the store (no stored version and no
    /// tombstone: the usual case) and written at `fresh.created`: GUID minted, created and
    /// modified then. Its excerpt is right whatever the store holds.
    pub(super) fresh: StoredArticle,
    /// `fresh` encoded (serializing and compressing is a write's biggest CPU cost); `None`
    /// for a dry run. Used only if the plan decides exactly `fresh`.
    pub(super) encoded: Option<Vec<u8>>,
}

/// Articles made ready for [`Store::upsert_prepared`] outside the writer lock: their
/// excerpts and, for articles new to the store, their encoded records. `sihai import`
/// prepares the next batch while the store applies the current one.
pub struct PreparedArticles {
    pub(super) items: Vec<Prepared>,
    now: i64,
    tag_authority: String,
}

/// Prepares `articles` on all cores for a write at `now` (see [`Prepared`]).
pub(super) fn prepare(articles: Vec<Article>, now: i64, tag_authority: &str, encode: bool) -> Vec<Prepared> {
    let excerpts = crate::parallel::map(&articles, Article::excerpt);
    let fresh: Vec<StoredArticle> = articles
        .into_iter()
        .zip(excerpts)
        .map(|(article, excerpt)| StoredArticle {
            updated: article.updated.unwrap_or(article.published).max(article.published),
            guid: mint_guid(tag_authority, &article.id),
            excerpt,
            article,
            created: now,
            modified: now,
        })
        .collect();
    let mut encoded = if encode { crate::parallel::map(&fresh, encode_article) } else { Vec::new() }.into_iter();
    fresh.into_iter().map(|fresh| Prepared { fresh, encoded: encoded.next() }).collect()
}

/// One caller's articles in a group commit, and where its answer goes.
pub(super) struct Job {
    articles: Vec<Prepared>,
    reply: std::sync::mpsc::SyncSender<Result<WriteReport, StoreError>>,
}

impl Store {
    /// Records the feeds the configuration has: a new feed gets its id and first-seen time,
    /// a feed whose signature changed gets a new change time. Not flushed.
    pub fn sync_feeds(&self, feeds: &[(String, String)], now: i64, tag_authority: &str) -> Result<(), StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = Batch::default();
        for (slug, signature) in feeds {
            let meta = match self.feed_meta(slug)? {
                Some(m) if &m.signature == signature => continue,
                Some(m) => FeedMeta { changed: m.changed.max(now), signature: signature.clone(), ..m },
                None => FeedMeta::new(slug, now, tag_authority, signature),
            };
            batch.insert(meta_key(slug), encode(&meta));
        }
        self.engine.apply(batch)
    }

    /// Upserts `articles` in order (a later one with the same id wins) in one atomic
    /// batch, minting GUIDs with `tag_authority` for ids never seen. Not flushed.
    pub fn upsert(&self, articles: Vec<Article>, now: i64, tag_authority: &str) -> Result<WriteReport, StoreError> {
        self.write(articles, now, tag_authority, true)
    }

    /// What [`Store::upsert`] would answer, writing nothing (a dry run).
    pub fn preview(&self, articles: Vec<Article>, now: i64, tag_authority: &str) -> Result<Vec<Written>, StoreError> {
        self.write(articles, now, tag_authority, false).map(|r| r.written)
    }

    /// Upserts `articles` like [`Store::upsert`] and returns once they are durable.
    /// Concurrent callers are combined (group commit): whoever gets the writer lock applies
    /// every write queued by then in one batch and one flush and answers each caller, so
    /// sixteen clients posting one article each cost one flush, not sixteen, and the writer
    /// lock is taken once per group rather than once per article. A group's articles all
    /// take the leader's `now` as their stored time (the callers' differ by milliseconds).
    pub fn upsert_durable(
        &self,
        articles: Vec<Article>,
        now: i64,
        tag_authority: &str,
    ) -> Result<WriteReport, StoreError> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let articles = prepare(articles, now, tag_authority, true);
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push(Job { articles, reply });
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        // A leader before us may have written our articles while we waited for the lock.
        if let Ok(done) = answer.try_recv() {
            return done;
        }
        let jobs = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
        self.commit_group(jobs, now, tag_authority);
        answer.recv().unwrap_or_else(|_| Err(StoreError::Corrupt("a group commit lost a write's answer".into())))
    }

    /// Writes `jobs` in one batch and one flush (the writer lock held) and answers each.
    /// If the group fails, each job is retried on its own, so one bad write fails alone.
    fn commit_group(&self, jobs: Vec<Job>, now: i64, tag_authority: &str) {
        let durable = |articles: Vec<Prepared>| {
            let report = self.write_locked(articles, now, tag_authority, true)?;
            self.sync()?;
            Ok(report)
        };
        if jobs.len() == 1 {
            let job = jobs.into_iter().next().expect("one job");
            let _ = job.reply.send(durable(job.articles));
            return;
        }
        let lens: Vec<usize> = jobs.iter().map(|j| j.articles.len()).collect();
        let all: Vec<Prepared> = jobs.iter().flat_map(|j| j.articles.iter().cloned()).collect();
        match self.write_locked(all, now, tag_authority, true) {
            // Applied: only the flush decides now, and it decides for every job alike (a
            // retry would see the applied articles and call them "unchanged").
            Ok(report) => match self.sync() {
                Ok(()) => {
                    let mut written = report.written.into_iter();
                    for (job, n) in jobs.into_iter().zip(lens) {
                        let mine = WriteReport {
                            written: written.by_ref().take(n).collect(),
                            touched: report.touched.clone(),
                        };
                        let _ = job.reply.send(Ok(mine));
                    }
                }
                Err(e) => {
                    for job in jobs {
                        let _ = job.reply.send(Err(e.clone()));
                    }
                }
            },
            // Nothing applied (the batch is atomic): each job alone, so one bad write fails alone.
            Err(_) => {
                for job in jobs {
                    let _ = job.reply.send(durable(job.articles));
                }
            }
        }
    }

    fn write(
        &self,
        articles: Vec<Article>,
        now: i64,
        tag_authority: &str,
        apply: bool,
    ) -> Result<WriteReport, StoreError> {
        let articles = prepare(articles, now, tag_authority, apply);
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.write_locked(articles, now, tag_authority, apply)
    }

    /// Prepares `articles` for [`Store::upsert_prepared`] at `now`, without the writer
    /// lock: on another thread, this overlaps the previous batch's write.
    pub fn prepare(&self, articles: Vec<Article>, now: i64, tag_authority: &str) -> PreparedArticles {
        PreparedArticles {
            items: prepare(articles, now, tag_authority, true),
            now,
            tag_authority: tag_authority.into(),
        }
    }

    /// [`Store::upsert`] of articles [`Store::prepare`]d. Not flushed.
    pub fn upsert_prepared(&self, prepared: PreparedArticles) -> Result<WriteReport, StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.write_locked(prepared.items, prepared.now, &prepared.tag_authority, true)
    }

    /// [`Store::write`] for a caller that holds the writer lock.
    pub(super) fn write_locked(
        &self,
        articles: Vec<Prepared>,
        now: i64,
        tag_authority: &str,
        apply: bool,
    ) -> Result<WriteReport, StoreError> {
        let mut plan = Plan::new(self, now, tag_authority);
        plan.prefetch(&articles)?;
        let mut written = Vec::with_capacity(articles.len());
        for article in articles {
            written.push(plan.upsert(article)?);
        }
        let touched = plan.touched();
        if apply {
            plan.apply()?;
        }
        Ok(WriteReport { written, touched })
    }

    /// Deletes the article with this id (its GUID stays as a tombstone). Not flushed.
    /// Returns the touched feeds, or `None` if there was no such article.
    pub fn delete(&self, id: &str, now: i64) -> Result<Option<Touched>, StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut plan = Plan::new(self, now, "");
        if !plan.delete(id)? {
            return Ok(None);
        }
        let touched = plan.touched();
        plan.apply()?;
        Ok(Some(touched))
    }

    /// Releases scheduled articles that fell due since the last release (or since the
    /// store was last open): each of their feeds' change time becomes the due time.
    /// Returns the touched feeds. The first call on a store only records `now`.
    pub fn release_due(&self, now: i64) -> Result<Touched, StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let released = match self.engine.get(RELEASED_KEY)? {
            Some(v) => decode_instant(&v, "meta/released")?,
            None => now,
        };
        let mut plan = Plan::new(self, now, "");
        if released < now {
            let mut due = HashSet::new();
            for prefix in self.index_prefixes(Scope::Site) {
                let from = with_suffix(prefix.clone(), &time_key(now));
                let to = with_suffix(prefix.clone(), &time_key(released));
                for item in self.engine.range(from, to) {
                    let (key, _) = item?;
                    due.insert(
                        String::from_utf8_lossy(key.get(prefix.len() + TIME_LEN..).unwrap_or_default()).into_owned(),
                    );
                }
            }
            for id in due {
                if let Some(a) = self.get(&id)? {
                    plan.touch(&a.article.categories, a.article.published)?;
                    plan.touch_names(&a);
                }
            }
        }
        let touched = plan.touched();
        plan.batch.insert(RELEASED_KEY, now.max(released).to_be_bytes());
        plan.apply()?;
        Ok(touched)
    }
}

/// The pending changes of one write: old state is read through it, so several changes
/// to one id in one batch see each other.
struct Plan<'s> {
    store: &'s Store,
    now: i64,
    tag_authority: &'s str,
    batch: Batch,
    articles: HashMap<String, Option<StoredArticle>>,
    guids: HashMap<String, String>,
    metas: HashMap<String, FeedMeta>,
    /// Categories this plan adds index entries to.
    indexed: BTreeSet<String>,
    /// Tags and authors whose feeds this plan changes (visible articles entering, leaving
    /// or changing in them).
    names: Touched,
    /// Stored state read ahead on all cores ([`Plan::prefetch`]): article, tombstone.
    prefetched: HashMap<String, (Option<StoredArticle>, Option<String>)>,
    /// Records encoded before the writer lock, for ids whose last version in this plan
    /// is exactly the one prepared ([`Prepared::fresh`]).
    encoded: HashMap<String, Vec<u8>>,
    /// Articles this plan adds (new ids) minus those it deletes.
    count_delta: i64,
}

impl<'s> Plan<'s> {
    fn new(store: &'s Store, now: i64, tag_authority: &'s str) -> Self {
        Plan {
            store,
            now,
            tag_authority,
            batch: Batch::default(),
            articles: HashMap::new(),
            guids: HashMap::new(),
            metas: HashMap::new(),
            indexed: BTreeSet::new(),
            names: Touched::default(),
            prefetched: HashMap::new(),
            encoded: HashMap::new(),
            count_delta: 0,
        }
    }

    /// Reads the stored article and tombstone of every id in `articles` on all cores (a
    /// batch's reads are random lookups in a big tree, a third of a write's serial time
    /// when done one after another). Called under the writer lock, so nothing changes
    /// between this read and the plan's use of it.
    fn prefetch(&mut self, articles: &[Prepared]) -> Result<(), StoreError> {
        let ids: Vec<&str> = articles.iter().map(|p| p.fresh.article.id.as_str()).collect();
        let read = |id: &&str| -> Result<(Option<StoredArticle>, Option<String>), StoreError> {
            Ok((self.store.get(id)?, self.store.tombstone(id)?))
        };
        for (id, state) in ids.iter().zip(crate::parallel::map(&ids, read)) {
            self.prefetched.insert(id.to_string(), state?);
        }
        Ok(())
    }

    fn current(&self, id: &str) -> Result<Option<StoredArticle>, StoreError> {
        match (self.articles.get(id), self.prefetched.get(id)) {
            (Some(a), _) => Ok(a.clone()),
            (None, Some((a, _))) => Ok(a.clone()),
            (None, None) => self.store.get(id),
        }
    }

    /// The GUID an id keeps: its stored article's, else its tombstone's (which the new
    /// article record takes over), else a newly minted one.
    fn guid(&mut self, id: &str, old: Option<&StoredArticle>) -> Result<String, StoreError> {
        if let Some(old) = old {
            return Ok(old.guid.clone());
        }
        let tombstone = match (self.guids.remove(id), self.prefetched.get_mut(id)) {
            (Some(g), _) => Some(g),
            // Taken: a later version of this id in the batch finds the article written.
            (None, Some((_, read_ahead))) => read_ahead.take(),
            (None, None) => self.store.tombstone(id)?,
        };
        if let Some(g) = tombstone {
            self.batch.remove(guid_key(id));
            return Ok(g);
        }
        // A deleted id of a store written before ids were canonical keeps its GUID too.
        if let Some(legacy) = legacy_spelling(id) {
            let tombstone = match self.guids.remove(&legacy) {
                Some(g) => Some(g),
                None => self.store.tombstone(&legacy)?,
            };
            if let Some(g) = tombstone {
                self.batch.remove(guid_key(&legacy));
                return Ok(g);
            }
        }
        Ok(mint_guid(self.tag_authority, id))
    }

    fn upsert(&mut self, Prepared { fresh, encoded }: Prepared) -> Result<Written, StoreError> {
        let id = fresh.article.id.clone();
        let mut old = self.current(&id)?;
        // An article a store written before ids were canonical holds under the id's
        // decomposed spelling is this one: it moves to the canonical key, GUID kept (else
        // feeds would show one GUID twice).
        let mut moved_from = None;
        if old.is_none() {
            if let Some(legacy) = legacy_spelling(&id) {
                if let Some(record) = self.current(&legacy)? {
                    old = Some(record);
                    moved_from = Some(legacy);
                }
            }
        }
        if let Some(old) = &old {
            if old.article == fresh.article {
                return Ok(Written { id, guid: old.guid.clone(), status: WriteStatus::Unchanged });
            }
        }
        let guid = self.guid(&id, old.as_ref())?;
        let now = self.now;
        // A record encoded ahead is used only when it is exactly the one decided here.
        let (stored, encoded) = match &old {
            None if guid == fresh.guid && now == fresh.created => (fresh, encoded),
            None => (StoredArticle { guid: guid.clone(), created: now, modified: now, ..fresh }, None),
            Some(old) => (
                StoredArticle {
                    updated: fresh.article.updated.unwrap_or(now).max(fresh.article.published),
                    guid: guid.clone(),
                    created: old.created,
                    modified: now,
                    ..fresh
                },
                None,
            ),
        };
        if let Some(old) = &old {
            self.unindex(old)?;
        }
        if let Some(from) = moved_from {
            self.batch.remove(article_key(&from));
            self.encoded.remove(&from);
            self.articles.insert(from, None);
        }
        self.index(&stored)?;
        // The last version of an id wins; one not encoded ahead is encoded at apply time,
        // on all cores.
        match encoded {
            Some(bytes) => self.encoded.insert(id.clone(), bytes),
            None => self.encoded.remove(&id),
        };
        self.articles.insert(id.clone(), Some(stored));
        let status = if old.is_some() { WriteStatus::Updated } else { WriteStatus::Created };
        if old.is_none() {
            self.count_delta += 1;
        }
        Ok(Written { id, guid, status })
    }

    fn delete(&mut self, id: &str) -> Result<bool, StoreError> {
        let Some(old) = self.current(id)? else { return Ok(false) };
        self.unindex(&old)?;
        self.batch.remove(article_key(id));
        self.batch.insert(guid_key(id), old.guid.as_bytes());
        self.guids.insert(id.to_string(), old.guid.clone());
        self.articles.insert(id.to_string(), None);
        self.count_delta -= 1;
        Ok(true)
    }

    /// Writes the index entries of `a`: its categories', tags' and authors'. An upsert
    /// first removes the old version's entries ([`Plan::unindex`]); an entry both versions
    /// have is removed, then inserted again within the one batch, which keeps the last
    /// operation on a key, so a tag the new version dropped leaves its index and one it
    /// kept stays.
    fn index(&mut self, a: &StoredArticle) -> Result<(), StoreError> {
        for (slug, key) in index_keys(a) {
            self.batch.insert(key, []);
            self.indexed.insert(slug.clone());
        }
        for (_, _, key) in name_keys(a) {
            self.batch.insert(key, []);
        }
        self.touch_if_visible(a)
    }

    fn unindex(&mut self, a: &StoredArticle) -> Result<(), StoreError> {
        for (_, key) in index_keys(a) {
            self.batch.remove(key);
        }
        for (_, _, key) in name_keys(a) {
            self.batch.remove(key);
        }
        self.touch_if_visible(a)
    }

    /// A change to a scheduled (not yet visible) version changes no feed now; its feeds
    /// change when it falls due ([`Store::release_due`]).
    fn touch_if_visible(&mut self, a: &StoredArticle) -> Result<(), StoreError> {
        if a.is_published_at(self.now) {
            self.touch(&a.article.categories, self.now)?;
            self.touch_names(a);
        }
        Ok(())
    }

    /// Notes the tag and author feeds `a` is in as changed. They keep no change time of
    /// their own: their validators follow the site feed's, which every such change moves.
    fn touch_names(&mut self, a: &StoredArticle) {
        self.names.tags.extend(Facet::Tag.names(a));
        self.names.authors.extend(Facet::Author.names(a));
    }

    /// The feeds this plan changes.
    fn touched(&self) -> Touched {
        Touched { categories: self.metas.keys().filter(|k| k.as_str() != ALL).cloned().collect(), ..self.names.clone() }
    }

    /// Moves the change time of these categories' feeds and the site feed to `at`
    /// (never backwards).
    fn touch(&mut self, slugs: &[String], at: i64) -> Result<(), StoreError> {
        for slug in slugs.iter().map(String::as_str).chain([ALL]) {
            if !self.metas.contains_key(slug) {
                let meta = match self.store.feed_meta(slug)? {
                    Some(m) => m,
                    None => FeedMeta::new(slug, self.now, self.tag_authority, ""),
                };
                self.metas.insert(slug.to_string(), meta);
            }
            let meta = self.metas.get_mut(slug).expect("inserted above");
            meta.changed = meta.changed.max(at);
        }
        Ok(())
    }

    fn apply(mut self) -> Result<(), StoreError> {
        // Serializing and compressing is most of a write's CPU: done on all cores, for the
        // records not encoded ahead.
        let mut upserted: Vec<&StoredArticle> = Vec::new();
        for a in self.articles.values().flatten() {
            match self.encoded.remove(&a.article.id) {
                Some(bytes) => self.batch.insert(article_key(&a.article.id), bytes),
                None => upserted.push(a),
            }
        }
        for (a, value) in upserted.iter().zip(crate::parallel::map(&upserted, |a| encode_article(a))) {
            self.batch.insert(article_key(&a.article.id), value);
        }
        for (slug, meta) in &self.metas {
            self.batch.insert(meta_key(slug), encode(meta));
        }
        self.store.engine.apply(self.batch)?;
        self.store.count_articles(self.count_delta);
        self.store.applied(&self.indexed);
        Ok(())
    }
}
