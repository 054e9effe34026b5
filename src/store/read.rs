//! Reading the store: an article, a feed record, the newest articles of a scope, pages
//! of a listing, archive days and their neighbours; and the slugs that have an index.
//!
//! Every listing is a k-way merge of category index ranges (newest first, deduplicated by
//! id) that stops after `limit`: its cost follows the feed's length and the number of
//! categories in its scope, never the number of articles in the store.

use std::collections::{BTreeSet, HashSet};

use super::engine::Range;
use super::keys::{
    self, article_key, category_prefix, decode_article, decode_cursor, encode_cursor, guid_key, id_of, index_suffix,
    meta_key, prefix_end, published_of, time_key, with_suffix, TIME_LEN,
};
use super::{FeedMeta, Scope, Store, StoreError};
use crate::model::StoredArticle;

/// One index range being merged: its current entry (time and id) and the rest.
struct Head<'s> {
    suffix: Vec<u8>,
    iter: Range<'s>,
    prefix_len: usize,
}

impl Store {
    /// The stored article with this id.
    pub fn get(&self, id: &str) -> Result<Option<StoredArticle>, StoreError> {
        match self.engine.get(article_key(id))? {
            Some(bytes) => decode_article(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The spelling under which the article an API or page path names is stored: the
    /// spelling as given if a store written before ids were canonical holds it (so each
    /// of two colliding spellings can still be read and deleted), else its canonical form
    /// ([`crate::model::canonical_id`]), else that form's decomposed spelling (what such a
    /// store most likely holds). `None` if none is stored.
    pub fn stored_id(&self, id: &str) -> Result<Option<String>, StoreError> {
        let canonical = crate::model::canonical_id(id);
        if canonical != id && self.engine.contains(article_key(id))? {
            return Ok(Some(id.to_string()));
        }
        if self.engine.contains(article_key(&canonical))? {
            return Ok(Some(canonical));
        }
        match keys::legacy_spelling(&canonical) {
            Some(legacy) if self.engine.contains(article_key(&legacy))? => Ok(Some(legacy)),
            _ => Ok(None),
        }
    }

    /// The GUID a deleted id keeps (its tombstone), if it has one.
    pub(super) fn tombstone(&self, id: &str) -> Result<Option<String>, StoreError> {
        let guid = self.engine.get(guid_key(id))?;
        Ok(guid.map(|g| String::from_utf8_lossy(&g).into_owned()))
    }

    /// The feed record of `slug` (`all` for the site feed).
    pub fn feed_meta(&self, slug: &str) -> Result<Option<FeedMeta>, StoreError> {
        match self.engine.get(meta_key(slug))? {
            Some(bytes) => keys::decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The slugs with an index range: one range seek per slug, skipping from each slug's
    /// range to the next, so the cost follows the number of categories, not of articles.
    pub(super) fn indexed_slugs(&self) -> Result<BTreeSet<String>, StoreError> {
        let mut slugs = BTreeSet::new();
        let end = prefix_end(keys::INDEX);
        let mut from = keys::INDEX.to_vec();
        while let Some(item) = self.engine.range(from, end.clone()).next() {
            let (key, _) = item?;
            let (slug, _) = keys::split_index_key(&key)
                .ok_or_else(|| StoreError::Corrupt(format!("index key without a slug end: {key:?}")))?;
            from = prefix_end(&key[..keys::INDEX.len() + slug.len() + 1]);
            slugs.insert(String::from_utf8_lossy(slug).into_owned());
        }
        Ok(slugs)
    }

    /// Notes slugs that now have an index range (after a batch that indexed them applied).
    pub(super) fn note_slugs<'a>(&self, indexed: impl IntoIterator<Item = &'a String>) {
        let known = self.slugs.read().unwrap_or_else(|p| p.into_inner());
        let new: Vec<&String> = indexed.into_iter().filter(|s| !known.contains(*s)).collect();
        drop(known);
        if !new.is_empty() {
            self.slugs.write().unwrap_or_else(|p| p.into_inner()).extend(new.into_iter().cloned());
        }
    }

    /// The index key prefixes a scope merges.
    pub(super) fn index_prefixes(&self, scope: Scope) -> Vec<Vec<u8>> {
        match scope {
            Scope::Site => {
                self.slugs.read().unwrap_or_else(|p| p.into_inner()).iter().map(|s| category_prefix(s)).collect()
            }
            Scope::Categories(s) => s.iter().map(|slug| category_prefix(slug)).collect(),
            Scope::Tag(name) => vec![keys::name_prefix(keys::Facet::Tag, name)],
            Scope::Author(name) => vec![keys::name_prefix(keys::Facet::Author, name)],
        }
    }

    /// How many articles are scheduled after `now` (an article in several categories
    /// counted once).
    pub(super) fn scheduled_count(&self, now: i64) -> Result<usize, StoreError> {
        let mut ids = std::collections::HashSet::new();
        for prefix in self.index_prefixes(Scope::Site) {
            let end = with_suffix(prefix.clone(), &time_key(now));
            for item in self.engine.range(prefix.clone(), end) {
                let (key, _) = item?;
                ids.insert(key.get(prefix.len() + TIME_LEN..).unwrap_or_default().to_vec());
            }
        }
        Ok(ids.len())
    }

    /// The publication instant of the next scheduled article after `now`, if any.
    pub fn next_due(&self, now: i64) -> Result<Option<i64>, StoreError> {
        let mut next: Option<i64> = None;
        for prefix in self.index_prefixes(Scope::Site) {
            let end = with_suffix(prefix.clone(), &time_key(now));
            if let Some(item) = self.engine.range(prefix.clone(), end).next_back() {
                let (key, _) = item?;
                let due = published_of(&key[prefix.len()..])?;
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        Ok(next)
    }

    /// The newest `limit` articles of `scope` published at or before `now`.
    pub fn newest(&self, scope: Scope, limit: usize, now: i64) -> Result<Vec<StoredArticle>, StoreError> {
        self.scan_between(scope, limit, &time_key(now), None)
    }

    /// A page of the listing [`Store::newest`] gives, continuing after `after` (a cursor
    /// from the previous page); the cursor of the next page when this one is full. A
    /// cursor no page gave out is [`StoreError::BadCursor`].
    pub fn page(
        &self,
        scope: Scope,
        limit: usize,
        now: i64,
        after: Option<&str>,
    ) -> Result<(Vec<StoredArticle>, Option<String>), StoreError> {
        let from = match after {
            None => time_key(now).to_vec(),
            Some(cursor) => {
                let mut from = decode_cursor(cursor).ok_or(StoreError::BadCursor)?;
                from.push(0); // just after the cursor's own entry
                from.max(time_key(now).to_vec())
            }
        };
        let items = self.scan_between(scope, limit, &from, None)?;
        let next = (items.len() == limit)
            .then(|| items.last().map(|a| encode_cursor(&index_suffix(a.article.published, &a.article.id))))
            .flatten();
        Ok((items, next))
    }

    /// The articles published in `[start, end)` and by `now`, newest first (an archive).
    pub fn between(&self, scope: Scope, start: i64, end: i64, now: i64) -> Result<Vec<StoredArticle>, StoreError> {
        let newest = (end - 1).min(now);
        if newest < start {
            return Ok(Vec::new());
        }
        self.scan_between(scope, usize::MAX, &time_key(newest), Some(&time_key(start - 1)))
    }

    /// The publication time of the newest article published before `t` (and by `now`).
    pub fn newest_before(&self, scope: Scope, t: i64, now: i64) -> Result<Option<i64>, StoreError> {
        let mut best: Option<i64> = None;
        for prefix in self.index_prefixes(scope) {
            let start = with_suffix(prefix.clone(), &time_key((t - 1).min(now)));
            if let Some(item) = self.engine.range(start, prefix_end(&prefix)).next() {
                let (key, _) = item?;
                let p = published_of(&key[prefix.len()..])?;
                best = Some(best.map_or(p, |b| b.max(p)));
            }
        }
        Ok(best)
    }

    /// The publication time of the oldest article published at or after `t` (and by `now`).
    pub fn oldest_from(&self, scope: Scope, t: i64, now: i64) -> Result<Option<i64>, StoreError> {
        if t > now {
            return Ok(None);
        }
        let mut best: Option<i64> = None;
        for prefix in self.index_prefixes(scope) {
            let start = with_suffix(prefix.clone(), &time_key(now));
            let end = with_suffix(prefix.clone(), &time_key(t - 1));
            if let Some(item) = self.engine.range(start, end).next_back() {
                let (key, _) = item?;
                let p = published_of(&key[prefix.len()..])?;
                best = Some(best.map_or(p, |b| b.min(p)));
            }
        }
        Ok(best)
    }

    /// The merged index entries from suffix `from` (inclusive) to `to` (exclusive, or the
    /// end), newest first, deduplicated, at most `limit`.
    fn scan_between(
        &self,
        scope: Scope,
        limit: usize,
        from: &[u8],
        to: Option<&[u8]>,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        let mut heads = Vec::new();
        for prefix in self.index_prefixes(scope) {
            let start = with_suffix(prefix.clone(), from);
            let end = match to {
                Some(to) => with_suffix(prefix.clone(), to),
                None => prefix_end(&prefix),
            };
            if start >= end {
                continue;
            }
            let iter = self.engine.range(start, end);
            if let Some(head) = advance(Head { suffix: Vec::new(), iter, prefix_len: prefix.len() })? {
                heads.push(head);
            }
        }
        let mut ids: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        while ids.len() < limit {
            let Some(best) = (0..heads.len()).min_by(|&a, &b| heads[a].suffix.cmp(&heads[b].suffix)) else { break };
            let head = heads.swap_remove(best);
            let id = id_of(&head.suffix);
            if seen.insert(id.clone()) {
                ids.push(id);
            }
            if let Some(head) = advance(head)? {
                heads.push(head);
            }
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(a) = self.get(&id)? {
                out.push(a);
            }
        }
        Ok(out)
    }
}

/// Moves a merge head to its next index entry; `None` when its range is done.
fn advance(mut head: Head) -> Result<Option<Head>, StoreError> {
    match head.iter.next() {
        None => Ok(None),
        Some(item) => {
            let (key, _) = item?;
            if key.len() < head.prefix_len + TIME_LEN {
                return Err(StoreError::Corrupt(format!("short index key {key:?}")));
            }
            head.suffix = key[head.prefix_len..].to_vec();
            Ok(Some(head))
        }
    }
}
