//! The store's key layout and record codec: pure functions, no engine.
//!
//! | key | value |
//! |---|---|
//! | `meta/schema` | schema version |
//! | `meta/released` | scheduled articles up to this instant have been released |
//! | `a/{id}` | the [`StoredArticle`] (with its GUID), zstd-compressed JSON behind a format byte |
//! | `g/{id}` | the tombstone of a deleted id: its GUID, so a returning id gets it back |
//! | `c/{slug}\0{newest-first time}{id}` | category index entry (the article's own categories) |
//! | `t/{tag}\0{newest-first time}{id}` | tag index entry (each canonical tag name, [`crate::model::canonical_name`]) |
//! | `u/{author}\0{newest-first time}{id}` | author index entry (each canonical author name) |
//! | `m/{slug}` | `FeedMeta` of a category feed (`all` for the site feed) |
//!
//! "Newest-first time" is `u64::MAX - published`, big-endian, so a forward range scan
//! reads newest first and ties fall in id order. An index entry's part after the slug
//! (`{time}{id}`) is its *suffix*; listing cursors are suffixes in hex. GUIDs and Atom
//! feed ids are minted here, once, and read back from the store ever after.

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::model::StoredArticle;

/// The schema version's key.
pub(super) const SCHEMA_KEY: &[u8] = b"meta/schema";
/// Scheduled articles published at or before this instant have been released.
pub(super) const RELEASED_KEY: &[u8] = b"meta/released";
/// Prefix of article records.
pub(super) const ARTICLES: &[u8] = b"a/";
/// Prefix of tombstones.
pub(super) const TOMBSTONES: &[u8] = b"g/";
/// Prefix of the category indexes.
pub(super) const INDEX: &[u8] = b"c/";
/// Prefix of the tag indexes (schema 4).
pub(super) const TAGS: &[u8] = b"t/";
/// Prefix of the author indexes (schema 4).
pub(super) const AUTHORS: &[u8] = b"u/";
/// Prefix of feed records.
pub(super) const FEEDS: &[u8] = b"m/";
/// Prefix of schema 2's whole-site index (removed by the upgrade to schema 3).
pub(super) const SITE_INDEX_V2: &[u8] = b"p/";
/// Length of the time part of an index suffix.
pub(super) const TIME_LEN: usize = 8;

/// The key of an article record.
pub(super) fn article_key(id: &str) -> Vec<u8> {
    with_suffix(ARTICLES.to_vec(), id.as_bytes())
}

/// The key of a tombstone.
pub(super) fn guid_key(id: &str) -> Vec<u8> {
    with_suffix(TOMBSTONES.to_vec(), id.as_bytes())
}

/// The key of a feed record.
pub(super) fn meta_key(slug: &str) -> Vec<u8> {
    with_suffix(FEEDS.to_vec(), slug.as_bytes())
}

/// The prefix of one category's index range (`c/{slug}\0`).
pub(super) fn category_prefix(slug: &str) -> Vec<u8> {
    let mut k = with_suffix(INDEX.to_vec(), slug.as_bytes());
    k.push(0);
    k
}

/// The index keys of a stored article: one per category it names, with that category.
pub(super) fn index_keys(a: &StoredArticle) -> impl Iterator<Item = (&String, Vec<u8>)> {
    let suffix = index_suffix(a.article.published, &a.article.id);
    a.article.categories.iter().map(move |slug| (slug, with_suffix(category_prefix(slug), &suffix)))
}

/// Which name index: tags or authors. Their keys are laid out as the category index's,
/// under their own prefix, so every listing (newest, pages, archives) reads them alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Facet {
    /// `t/`: an article's tags.
    Tag,
    /// `u/`: an article's authors.
    Author,
}

impl Facet {
    /// Both facets, for checks and upgrades.
    pub(super) const ALL: [Facet; 2] = [Facet::Tag, Facet::Author];

    /// The key prefix of this facet's indexes.
    pub(super) fn prefix(self) -> &'static [u8] {
        match self {
            Facet::Tag => TAGS,
            Facet::Author => AUTHORS,
        }
    }

    /// The word for it in messages.
    pub(super) fn word(self) -> &'static str {
        match self {
            Facet::Tag => "tag",
            Facet::Author => "author",
        }
    }

    /// The canonical names an article is indexed under in this facet.
    pub(super) fn names(self, a: &StoredArticle) -> Vec<String> {
        match self {
            Facet::Tag => a.tag_names(),
            Facet::Author => a.author_names(),
        }
    }
}

/// The prefix of one name's index range (`t/{name}\0` or `u/{name}\0`).
pub(super) fn name_prefix(facet: Facet, name: &str) -> Vec<u8> {
    let mut k = with_suffix(facet.prefix().to_vec(), name.as_bytes());
    k.push(0);
    k
}

/// The tag and author index keys of a stored article: one per canonical name, with its
/// facet and name.
pub(super) fn name_keys(a: &StoredArticle) -> Vec<(Facet, String, Vec<u8>)> {
    let suffix = index_suffix(a.article.published, &a.article.id);
    let mut out = Vec::new();
    for facet in Facet::ALL {
        for name in facet.names(a) {
            let key = with_suffix(name_prefix(facet, &name), &suffix);
            out.push((facet, name, key));
        }
    }
    out
}

/// Splits a tag or author index key (without its facet prefix) into name and suffix.
pub(super) fn split_name_key(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let nul = rest.iter().position(|&b| b == 0)?;
    Some((&rest[..nul], &rest[nul + 1..]))
}

/// Splits an index key into its slug and suffix; `None` if it is not one.
pub(super) fn split_index_key(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = key.strip_prefix(INDEX)?;
    let nul = rest.iter().position(|&b| b == 0)?;
    Some((&rest[..nul], &rest[nul + 1..]))
}

/// The time part of index keys: sorts newest first.
pub(super) fn time_key(published: i64) -> [u8; TIME_LEN] {
    (u64::MAX - published.max(0) as u64).to_be_bytes()
}

/// The publication instant of an index suffix (`{time key}{id}`).
pub(super) fn published_of(suffix: &[u8]) -> Result<i64, StoreError> {
    let bytes: [u8; TIME_LEN] = suffix
        .get(..TIME_LEN)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt("short index key".into()))?;
    Ok((u64::MAX - u64::from_be_bytes(bytes)) as i64)
}

/// The id of an index suffix.
pub(super) fn id_of(suffix: &[u8]) -> String {
    String::from_utf8_lossy(suffix.get(TIME_LEN..).unwrap_or_default()).into_owned()
}

/// The index suffix of an article: `{time key}{id}`.
pub(super) fn index_suffix(published: i64, id: &str) -> Vec<u8> {
    with_suffix(time_key(published).to_vec(), id.as_bytes())
}

/// `prefix` followed by `suffix`.
pub(super) fn with_suffix(mut prefix: Vec<u8>, suffix: &[u8]) -> Vec<u8> {
    prefix.extend_from_slice(suffix);
    prefix
}

/// The first key after every key starting with `prefix`.
pub(super) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

/// A listing cursor: the index suffix of the last article shown, in hex.
pub(super) fn encode_cursor(suffix: &[u8]) -> String {
    suffix.iter().map(|b| format!("{b:02x}")).collect()
}

/// The index suffix a cursor stands for; `None` if it is not one.
pub(super) fn decode_cursor(cursor: &str) -> Option<Vec<u8>> {
    if cursor.len() < 16 || cursor.len() % 2 != 0 || cursor.len() > 1000 {
        return None;
    }
    (0..cursor.len()).step_by(2).map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok()).collect()
}

/// An instant stored as 8 big-endian bytes (`meta/released`).
pub(super) fn decode_instant(bytes: &[u8], what: &str) -> Result<i64, StoreError> {
    Ok(i64::from_be_bytes(bytes.try_into().map_err(|_| StoreError::Corrupt(what.into()))?))
}

/// Characters kept as they are in the specific part of a tag URI; everything else
/// (including `/`, so article GUIDs never look like feed ids) is percent-encoded.
const TAG_SPECIFIC: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// The GUID of a new id: `tag:{authority}:{id}`, the id in Unicode NFC (the canonical
/// form validators compare with) percent-encoded where RFC 4151 asks.
pub fn mint_guid(tag_authority: &str, id: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let nfc: String = id.nfc().collect();
    format!("tag:{tag_authority}:{}", percent_encoding::utf8_percent_encode(&nfc, TAG_SPECIFIC))
}

/// The spelling a canonical (NFC) id most likely had in a store written before ids were
/// canonical: its decomposed form (NFD, what macOS and some CMSs send), if different. Ids
/// in scripts without decompositions (Chinese) have none, so they cost no extra lookup.
pub(super) fn legacy_spelling(id: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    let nfd: String = id.nfd().collect();
    (nfd != id).then_some(nfd)
}

/// The Atom id of a feed first seen now: `tag:{authority}:feeds/{slug}` (the `/` keeps it
/// apart from every article GUID, whose ids have theirs percent-encoded).
pub fn mint_feed_id(tag_authority: &str, slug: &str) -> String {
    format!("tag:{tag_authority}:feeds/{slug}")
}

/// The Atom id of a tag's or author's feed (`kind` is `tag` or `author`), derived from the
/// site feed's stored id (`tag:{authority}:feeds/all` -> `tag:{authority}:feeds/tag/{name}`,
/// the name percent-encoded as in GUIDs): as stable as the site's id, which is read back
/// from the store, without a stored record per tag (one more key per tag written on every
/// write to it would cost what the index itself costs).
pub fn name_feed_id(site_feed_id: &str, kind: &str, name: &str) -> String {
    let enc = percent_encoding::utf8_percent_encode(name, TAG_SPECIFIC);
    match site_feed_id.strip_suffix(crate::config::SITE_SLUG) {
        Some(base) if base.ends_with('/') => format!("{base}{kind}/{enc}"),
        _ => format!("{site_feed_id}/{kind}/{enc}"),
    }
}

/// Format tag of a zstd-compressed JSON article record.
const ZSTD_JSON: u8 = 1;

/// Article records are JSON compressed with zstd (level 1: fast, and Chinese text still
/// shrinks by a third or more), behind a one-byte format tag. sled's own page compression
/// is off: it recompressed whole pages on every write and made imports 3x slower.
pub(super) fn encode_article(a: &StoredArticle) -> Vec<u8> {
    thread_local! {
        static COMPRESSOR: std::cell::RefCell<zstd::bulk::Compressor<'static>> =
            std::cell::RefCell::new(zstd::bulk::Compressor::new(1).expect("a zstd context"));
    }
    let json = serde_json::to_vec(a).expect("plain data always serializes");
    let mut out = Vec::with_capacity(json.len() / 2 + 16);
    out.push(ZSTD_JSON);
    COMPRESSOR.with(|c| {
        let packed = c.borrow_mut().compress(&json).expect("compressing in memory");
        out.extend_from_slice(&packed);
    });
    out
}

/// An article record read back (zstd JSON, or plain JSON as schema 1 wrote).
pub(super) fn decode_article(bytes: &[u8]) -> Result<StoredArticle, StoreError> {
    match bytes.split_first() {
        Some((&ZSTD_JSON, rest)) => {
            let json =
                zstd::stream::decode_all(rest).map_err(|e| StoreError::Corrupt(format!("article record: {e}")))?;
            decode(&json)
        }
        _ => decode(bytes),
    }
}

/// A plain record (feed metadata) as JSON.
pub(super) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("plain data always serializes")
}

/// A plain record read back.
pub(super) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Article, Author};

    #[test]
    fn guids_percent_encode_what_tag_uris_forbid() {
        assert_eq!(mint_guid("t.example,2026", "a b/c#d%e"), "tag:t.example,2026:a%20b%2Fc%23d%25e");
        assert_eq!(mint_guid("t.example,2026", "新闻-1"), "tag:t.example,2026:%E6%96%B0%E9%97%BB-1");
        assert_eq!(mint_guid("t.example,2026", "x:y@z"), "tag:t.example,2026:x:y@z");
        assert_eq!(mint_guid("t.example,2026", "cafe\u{301}"), "tag:t.example,2026:caf%C3%A9");
        assert_eq!(mint_feed_id("t.example,2026", "hunan"), "tag:t.example,2026:feeds/hunan");
    }

    #[test]
    fn index_suffixes_sort_newest_first_then_by_id_and_read_back() {
        let keys = [index_suffix(300, "b"), index_suffix(300, "c"), index_suffix(200, "a"), index_suffix(0, "z")];
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert_eq!(published_of(&keys[2]).unwrap(), 200);
        assert_eq!(id_of(&keys[1]), "c");
        assert!(published_of(b"short").is_err());
        let key = with_suffix(category_prefix("hunan"), &keys[0]);
        assert_eq!(split_index_key(&key), Some((&b"hunan"[..], &keys[0][..])));
        assert_eq!(split_index_key(b"a/x"), None);
    }

    #[test]
    fn prefix_end_is_the_first_key_after_the_prefix() {
        assert_eq!(prefix_end(b"c/"), b"c0");
        assert_eq!(prefix_end(&[b'a', 0xff]), b"b");
        assert_eq!(prefix_end(&[0xff, 0xff]), vec![0xff; 3]);
        assert!(category_prefix("ab") >= prefix_end(&category_prefix("a")), "a slug's range holds no other slug");
    }

    #[test]
    fn cursors_round_trip_and_refuse_what_is_not_one() {
        let suffix = index_suffix(1_630_598_400, "新闻-1");
        assert_eq!(decode_cursor(&encode_cursor(&suffix)), Some(suffix));
        for bad in ["", "zz", "0123456789abcde", "0123456789abcdef0", &"00".repeat(501), "0123456789abcdeg"] {
            assert_eq!(decode_cursor(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn article_records_round_trip_and_corrupt_ones_are_errors() {
        let a = StoredArticle {
            article: Article {
                id: "x".into(),
                title: "标题".into(),
                url: None,
                categories: vec!["hunan".into()],
                published: 100,
                updated: None,
                authors: vec![Author { name: "甲".into(), email: None, uri: None }],
                summary: None,
                content_html: Some("<p>正文</p>".into()),
                image: None,
                tags: vec!["t".into()],
            },
            guid: mint_guid("t.example,2026", "x"),
            created: 1,
            modified: 2,
            updated: 100,
            excerpt: "正文".into(),
        };
        let bytes = encode_article(&a);
        assert_eq!(bytes[0], ZSTD_JSON);
        assert_eq!(decode_article(&bytes).unwrap(), a);
        assert_eq!(decode_article(&encode(&a)).unwrap(), a, "plain JSON records still read");
        assert!(matches!(decode_article(&[ZSTD_JSON, 1, 2, 3]), Err(StoreError::Corrupt(_))));
        assert_eq!(decode_instant(&7i64.to_be_bytes(), "t").unwrap(), 7);
        assert!(decode_instant(b"abc", "t").is_err());
    }
}
