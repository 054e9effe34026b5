//! The article model: plain data that every input becomes and every feed is made from.
//!
//! An [`Article`] is always normalized (ingest builds it and nothing else does), so the
//! store and the feed renderers never re-check it. A [`StoredArticle`] adds what sihai
//! itself decides and keeps: the GUID and the times it stored versions.

use serde::{Deserialize, Serialize};

/// A normalized article, as the publisher gave it after cleaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// The publisher's stable id (or one derived from the url or title).
    pub id: String,
    /// Plain-text title, trimmed, never empty.
    pub title: String,
    /// Absolute http(s) URL of the article on the publisher's site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Slugs of the categories it was filed in, first is primary, no repeats.
    pub categories: Vec<String>,
    /// Publication instant, Unix seconds.
    pub published: i64,
    /// The publisher's own updated instant, Unix seconds, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<i64>,
    /// Authors in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<Author>,
    /// Plain-text summary, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Sanitized HTML with absolute links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_html: Option<String>,
    /// Lead image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// Plain-text tags, no repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// An author: a plain name, optionally with contact details.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Author {
    /// Display name (谢伟峰).
    pub name: String,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// The article's lead image, sent as an enclosure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Absolute URL.
    pub url: String,
    /// MIME type, given or guessed from the file name.
    pub mime_type: String,
    /// Size in bytes; 0 when unknown (what RSS asks for).
    pub length: u64,
}

/// An article as kept in the store: the normalized article plus what sihai decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredArticle {
    /// The article itself.
    pub article: Article,
    /// Minted when the id was first stored; never changes.
    pub guid: String,
    /// When sihai first stored this id, Unix seconds.
    pub created: i64,
    /// When sihai stored this version, Unix seconds.
    pub modified: i64,
    /// The updated time feeds show: the publisher's, else published for the first
    /// version and the storing time for a changed one; never before published.
    pub updated: i64,
    /// Plain-text excerpt for RSS `description`: the summary, else the start of the content.
    pub excerpt: String,
}

/// The one spelling of an article id used for storage, GUIDs, tombstones, URLs and
/// lookups: Unicode NFC with surrounding white space removed. Two ids that are the same
/// text after normalization (`e` + U+0301 and `é`) are one article: GUIDs are minted from
/// the NFC form, so two stored spellings would share one GUID, which breaks every reader's
/// de-duplication. Case and width are kept: publishers' ids are keys, and `A1` / `a1` or
/// fullwidth `ａ1` may well be different articles (their GUIDs differ too).
pub fn canonical_id(id: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    id.trim().nfc().collect()
}

/// The most bytes a tag or author name may have (in its canonical form) to get a feed,
/// a page and an index: 240 bytes is 80 Chinese characters. It bounds what a URL may ask
/// for (a longer name is 404 before any store read) and what one index key holds; a
/// longer name is still stored and shown in its article, it only has no feed of its own.
pub const NAME_MAX_BYTES: usize = 240;

/// The one spelling of a tag or an author's name used for its index, feed, page and URL:
/// Unicode NFC with runs of white space folded to one space and the ends trimmed, or
/// `None` if nothing is left, it is longer than [`NAME_MAX_BYTES`] or it holds a NUL (the
/// index key's separator). Like [`canonical_id`], case and width are kept: `AI` and `ai`,
/// or fullwidth `ＡＩ`, are different tags (publishers' tags are labels they chose, and a
/// Chinese name has no case to fold); only spellings that are the same text (NFD and NFC,
/// a double space) are one name.
pub fn canonical_name(name: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.nfc());
    }
    (!out.is_empty() && out.len() <= NAME_MAX_BYTES && !out.contains('\0')).then_some(out)
}

impl Article {
    /// The excerpt feeds show (RSS `description`, Atom `summary`): the summary, else the
    /// start of the content's text. Derived once, when the article is stored.
    pub fn excerpt(&self) -> String {
        match (&self.summary, &self.content_html) {
            (Some(s), _) => s.clone(),
            (None, Some(html)) => crate::text::excerpt(html),
            (None, None) => String::new(),
        }
    }
}

impl StoredArticle {
    /// The canonical names ([`canonical_name`]) of the article's tags that have a feed,
    /// each once, in the order given.
    pub fn tag_names(&self) -> Vec<String> {
        unique_names(self.article.tags.iter().map(String::as_str))
    }

    /// The canonical names of the article's authors that have a feed, each once.
    pub fn author_names(&self) -> Vec<String> {
        unique_names(self.article.authors.iter().map(|a| a.name.as_str()))
    }

    /// Whether the article is visible at `now` (scheduled articles are not yet).
    pub fn is_published_at(&self, now: i64) -> bool {
        self.article.published <= now
    }
}

/// What an upsert did to one article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteStatus {
    /// The id was not stored before.
    Created,
    /// The id was stored and the article differed.
    Updated,
    /// The id was stored with an identical article: nothing changed.
    Unchanged,
}

impl WriteStatus {
    /// The word used in reports (`created`).
    pub fn as_str(self) -> &'static str {
        match self {
            WriteStatus::Created => "created",
            WriteStatus::Updated => "updated",
            WriteStatus::Unchanged => "unchanged",
        }
    }
}

/// The canonical forms of `names` that have one, first occurrence kept.
fn unique_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names.filter_map(canonical_name) {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_one_spelling_and_a_bound() {
        let cases = [
            ("湖南", Some("湖南")),
            ("  machine \t learning ", Some("machine learning")),
            ("cafe\u{301}", Some("caf\u{e9}")),
            ("AI", Some("AI")),
            ("ＡＩ", Some("ＡＩ")),
            ("", None),
            (" \u{3000} ", None),
            ("a\0b", None),
        ];
        for (raw, want) in cases {
            assert_eq!(canonical_name(raw).as_deref(), want, "{raw:?}");
        }
        assert!(canonical_name(&"长".repeat(80)).is_some());
        assert!(canonical_name(&"长".repeat(81)).is_none(), "over NAME_MAX_BYTES");
    }
}
