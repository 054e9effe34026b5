//! The whole store at once: export (a backup while serving), restore (into an empty
//! store, keeping every GUID, stored time and feed id), verify (`sihai check-store`).
//!
//! An export is a list of [`ExportRecord`]s; restoring one writes exactly those keys.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::engine::Batch;
use super::keys::{
    self, article_key, decode_article, decode_instant, encode, encode_article, guid_key, id_of, index_keys, meta_key,
    name_keys, published_of, Facet, RELEASED_KEY,
};
use super::{FeedMeta, Store, StoreError, SCHEMA_VERSION};
use crate::model::StoredArticle;

/// One line of an export (JSON Lines): everything needed to rebuild the store exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ExportRecord {
    /// First line: what wrote it.
    Header {
        /// The store schema the export was taken from.
        schema: u32,
        /// `sihai VERSION`.
        generator: String,
    },
    /// A feed's stored metadata (Atom id, first seen, change time).
    Feed {
        /// The feed's slug (`all` for the site).
        slug: String,
        /// Its metadata.
        #[serde(flatten)]
        meta: FeedMeta,
    },
    /// How far scheduled articles have been released.
    Released {
        /// Unix seconds.
        at: i64,
    },
    /// A stored article with its GUID and times.
    Article(Box<StoredArticle>),
    /// A deleted id and the GUID it keeps.
    Tombstone {
        /// The id.
        id: String,
        /// Its GUID.
        guid: String,
    },
    /// A readership record: a feed's day (`d/{YYYY-MM-DD}/{feed}`) or month
    /// (`m/{YYYY-MM}/{feed}`), so a restore keeps the publisher's statistics.
    Readership {
        /// Which record (its key below the readership prefix).
        key: String,
        /// The record, as JSON text.
        value: String,
    },
}

impl Store {
    /// Calls `emit` with every record of the store, header first, then feeds, then each
    /// id's article or tombstone. Reads run while the daemon serves; each record is
    /// read atomically.
    pub fn export(&self, mut emit: impl FnMut(&ExportRecord) -> std::io::Result<()>) -> Result<usize, StoreError> {
        let io = |e: std::io::Error| StoreError::Io {
            path: self.path().to_path_buf(),
            message: format!("writing the export: {e}"),
        };
        emit(&ExportRecord::Header {
            schema: SCHEMA_VERSION,
            generator: format!("sihai {}", env!("CARGO_PKG_VERSION")),
        })
        .map_err(io)?;
        for item in self.engine.scan_prefix(keys::FEEDS) {
            let (k, v) = item?;
            let slug = String::from_utf8_lossy(&k[keys::FEEDS.len()..]).into_owned();
            emit(&ExportRecord::Feed { slug, meta: keys::decode(&v)? }).map_err(io)?;
        }
        if let Some(v) = self.engine.get(RELEASED_KEY)? {
            emit(&ExportRecord::Released { at: decode_instant(&v, "meta/released")? }).map_err(io)?;
        }
        let mut count = 0;
        for item in self.engine.scan_prefix(keys::ARTICLES) {
            let (_, v) = item?;
            emit(&ExportRecord::Article(Box::new(decode_article(&v)?))).map_err(io)?;
            count += 1;
        }
        for item in self.engine.scan_prefix(keys::TOMBSTONES) {
            let (k, guid) = item?;
            let id = String::from_utf8_lossy(&k[keys::TOMBSTONES.len()..]).into_owned();
            emit(&ExportRecord::Tombstone { id, guid: String::from_utf8_lossy(&guid).into_owned() }).map_err(io)?;
            count += 1;
        }
        for item in self.engine.scan_prefix(super::readership::PREFIX.as_bytes()) {
            let (k, v) = item?;
            let key = String::from_utf8_lossy(&k[super::readership::PREFIX.len()..]).into_owned();
            emit(&ExportRecord::Readership { key, value: String::from_utf8_lossy(&v).into_owned() }).map_err(io)?;
        }
        Ok(count)
    }

    /// Whether the store holds no article and no GUID (a restore needs an empty store).
    pub fn is_empty_of_articles(&self) -> bool {
        self.engine.scan_prefix(keys::TOMBSTONES).next().is_none()
            && self.engine.scan_prefix(keys::ARTICLES).next().is_none()
    }

    /// Writes exported records as they are (GUIDs, times and feed metadata kept), in one
    /// atomic batch. Not flushed.
    pub fn restore(&self, records: &[ExportRecord]) -> Result<(), StoreError> {
        let _w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = Batch::default();
        let mut indexed = BTreeSet::new();
        let mut articles = 0;
        for record in records {
            match record {
                ExportRecord::Header { .. } => {}
                ExportRecord::Feed { slug, meta } => batch.insert(meta_key(slug), encode(meta)),
                ExportRecord::Released { at } => batch.insert(RELEASED_KEY, at.to_be_bytes()),
                ExportRecord::Tombstone { id, guid } => batch.insert(guid_key(id), guid.as_bytes()),
                ExportRecord::Readership { key, value } => {
                    super::readership::check_record(key, value)?;
                    batch.insert(format!("{}{key}", super::readership::PREFIX), value.as_bytes());
                }
                ExportRecord::Article(a) => {
                    articles += 1;
                    batch.insert(article_key(&a.article.id), encode_article(a));
                    for (slug, key) in index_keys(a) {
                        batch.insert(key, []);
                        indexed.insert(slug.clone());
                    }
                    for (_, _, key) in name_keys(a) {
                        batch.insert(key, []);
                    }
                }
            }
        }
        self.engine.apply(batch)?;
        self.count_articles(articles);
        self.applied(&indexed);
        Ok(())
    }

    /// Checks that indexes and articles agree: every article has its GUID and index
    /// entries, every index entry has its article. Returns the problems found (none when
    /// consistent). Reads the whole store: for `sihai check-store` and tests.
    pub fn verify(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let mut articles = 0usize;
        // Spellings of each canonical id (stores written before ids were canonical).
        let mut spellings: std::collections::HashMap<String, Vec<(String, String)>> = Default::default();
        for item in self.engine.scan_prefix(keys::ARTICLES) {
            let (k, v) = item?;
            let id = String::from_utf8_lossy(&k[keys::ARTICLES.len()..]).into_owned();
            let a: StoredArticle = match decode_article(&v) {
                Ok(a) => a,
                Err(e) => {
                    problems.push(format!("article {id:?}: {e}"));
                    continue;
                }
            };
            articles += 1;
            let canonical = crate::model::canonical_id(&id);
            if canonical != id {
                spellings.entry(canonical).or_default().push((id.clone(), a.guid.clone()));
            } else {
                spellings.entry(canonical).or_default().insert(0, (id.clone(), a.guid.clone()));
            }
            if a.article.id != id {
                problems.push(format!("article under key {id:?} has id {:?}", a.article.id));
            }
            if self.engine.contains(guid_key(&id))? {
                problems.push(format!("article {id:?} also has a tombstone"));
            }
            for (slug, key) in index_keys(&a) {
                if !self.engine.contains(key)? {
                    problems.push(format!("article {id:?}: its index entry in category {slug:?} is missing"));
                }
            }
            for (facet, name, key) in name_keys(&a) {
                if !self.engine.contains(key)? {
                    problems.push(format!("article {id:?}: its index entry for {} {name:?} is missing", facet.word()));
                }
            }
        }
        let mut entries = 0usize;
        for item in self.engine.scan_prefix(keys::INDEX) {
            let (k, _) = item?;
            entries += 1;
            let Some((slug, suffix)) = keys::split_index_key(&k) else {
                problems.push(format!("index key without a slug end: {k:?}"));
                continue;
            };
            let slug = String::from_utf8_lossy(slug).into_owned();
            let published = published_of(suffix)?;
            let id = id_of(suffix);
            match self.get(&id)? {
                None => problems.push(format!("index entry for {id:?} has no article")),
                Some(a) if a.article.published != published => {
                    problems.push(format!("index entry for {id:?} has a stale time"))
                }
                Some(a) if !a.article.categories.contains(&slug) => {
                    problems.push(format!("index entry for {id:?} in {slug:?}, not one of its categories"))
                }
                Some(_) => {}
            }
        }
        for facet in Facet::ALL {
            for item in self.engine.scan_prefix(facet.prefix()) {
                let (k, _) = item?;
                entries += 1;
                let Some((name, suffix)) = keys::split_name_key(&k[facet.prefix().len()..]) else {
                    problems.push(format!("{} index key without a name end: {k:?}", facet.word()));
                    continue;
                };
                let name = String::from_utf8_lossy(name).into_owned();
                let published = published_of(suffix)?;
                let id = id_of(suffix);
                match self.get(&id)? {
                    None => problems.push(format!("{} index entry for {id:?} has no article", facet.word())),
                    Some(a) if a.article.published != published => {
                        problems.push(format!("{} index entry for {id:?} has a stale time", facet.word()))
                    }
                    Some(a) if !facet.names(&a).contains(&name) => problems.push(format!(
                        "{} index entry for {id:?} under {name:?}, which the article no longer has",
                        facet.word()
                    )),
                    Some(_) => {}
                }
            }
        }
        for (canonical, ids) in spellings.into_iter().filter(|(_, ids)| ids.len() > 1) {
            let listed: Vec<String> = ids.iter().map(|(id, guid)| format!("{id:?} (GUID {guid})")).collect();
            problems.push(format!(
                "ids {} are one id ({canonical:?} in Unicode NFC) and feeds show them as two items; fix: keep one, delete the others with DELETE /api/articles/{{id}} (percent-encode the id's exact spelling)",
                listed.join(" and ")
            ));
        }
        if let Some(item) = self.engine.scan_prefix(keys::SITE_INDEX_V2).next() {
            item?;
            problems.push("whole-site index keys (p/) of schema 2 are left".into());
        }
        tracing::debug!("verified {articles} articles and {entries} index entries");
        Ok(problems)
    }
}
