//! The store's behaviour on a real sled database in a temp dir: writes, listings,
//! archives, deletes, scheduled releases, group commit, schema upgrade and refusals.

use super::engine::Engine;
use super::keys::{article_key, index_suffix, with_suffix, SCHEMA_KEY};
use super::write::prepare;
use super::*;
use crate::config::SITE_SLUG as ALL;
use crate::model::{Article, Author, StoredArticle};

fn article(id: &str, published: i64, cats: &[&str]) -> Article {
    Article {
        id: id.into(),
        title: format!("title {id}"),
        url: None,
        categories: cats.iter().map(|c| c.to_string()).collect(),
        published,
        updated: None,
        authors: vec![Author { name: "甲".into(), email: None, uri: None }],
        summary: None,
        content_html: Some("<p>x</p>".into()),
        image: None,
        tags: vec![],
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), 8 << 20).unwrap();
    (dir, store)
}

fn ids(v: &[StoredArticle]) -> Vec<&str> {
    v.iter().map(|a| a.article.id.as_str()).collect()
}

#[test]
fn upsert_reports_created_updated_unchanged_and_keeps_guid() {
    let (_d, s) = open();
    let w = s.upsert(vec![article("a", 100, &["x"])], 1000, "t.example,2026").unwrap().written;
    assert_eq!(w[0].status, WriteStatus::Created);
    assert_eq!(w[0].guid, "tag:t.example,2026:a");
    let w = s.upsert(vec![article("a", 100, &["x"])], 2000, "other.example,2027").unwrap().written;
    assert_eq!(w[0].status, WriteStatus::Unchanged);
    let mut edited = article("a", 100, &["y"]);
    edited.title = "new".into();
    let report = s.upsert(vec![edited], 3000, "other.example,2027").unwrap();
    assert_eq!(report.touched.categories.iter().collect::<Vec<_>>(), ["x", "y"], "left x, entered y");
    let w = report.written;
    assert_eq!((w[0].status, w[0].guid.as_str()), (WriteStatus::Updated, "tag:t.example,2026:a"));
    let a = s.get("a").unwrap().unwrap();
    assert_eq!((a.created, a.modified, a.updated), (1000, 3000, 3000));
    assert!(s.newest(Scope::Categories(&["x"]), 10, 5000).unwrap().is_empty(), "old category index entry removed");
    assert_eq!(ids(&s.newest(Scope::Categories(&["y"]), 10, 5000).unwrap()), vec!["a"]);
}

#[test]
fn first_version_updated_is_published_and_publisher_updated_wins() {
    let (_d, s) = open();
    let mut a = article("a", 100, &["x"]);
    s.upsert(vec![a.clone()], 1000, "t.example,2026").unwrap();
    assert_eq!(s.get("a").unwrap().unwrap().updated, 100);
    a.updated = Some(500);
    a.title = "changed".into();
    s.upsert(vec![a], 1000, "t.example,2026").unwrap();
    assert_eq!(s.get("a").unwrap().unwrap().updated, 500);
}

#[test]
fn newest_merges_categories_dedupes_and_orders_ties_by_id() {
    let (_d, s) = open();
    s.upsert(
        vec![
            article("b", 200, &["x"]),
            article("a", 200, &["y"]),
            article("c", 300, &["x", "y"]),
            article("d", 100, &["y"]),
            article("future", 9_999, &["x"]),
        ],
        1000,
        "t.example,2026",
    )
    .unwrap();
    assert_eq!(ids(&s.newest(Scope::Categories(&["x", "y"]), 10, 1000).unwrap()), vec!["c", "a", "b", "d"]);
    assert_eq!(ids(&s.newest(Scope::Categories(&["x", "y"]), 2, 1000).unwrap()), vec!["c", "a"]);
    assert_eq!(ids(&s.newest(Scope::Site, 10, 1000).unwrap()), vec!["c", "a", "b", "d"]);
    assert_eq!(ids(&s.newest(Scope::Site, 10, 10_000).unwrap())[0], "future");
    // Archive queries: a time window, and the neighbours of a time.
    assert_eq!(ids(&s.between(Scope::Categories(&["x", "y"]), 200, 301, 1000).unwrap()), vec!["c", "a", "b"]);
    assert_eq!(ids(&s.between(Scope::Categories(&["y"]), 100, 200, 1000).unwrap()), vec!["d"]);
    assert!(s.between(Scope::Site, 9_000, 10_000, 1000).unwrap().is_empty(), "not yet published");
    assert_eq!(s.newest_before(Scope::Categories(&["x", "y"]), 300, 1000).unwrap(), Some(200));
    assert_eq!(s.newest_before(Scope::Categories(&["x"]), 200, 1000).unwrap(), None);
    assert_eq!(s.oldest_from(Scope::Categories(&["x", "y"]), 101, 1000).unwrap(), Some(200));
    assert_eq!(s.oldest_from(Scope::Site, 301, 1000).unwrap(), None, "future articles are not there yet");
    assert_eq!(s.oldest_from(Scope::Site, 301, 10_000).unwrap(), Some(9_999));
}

#[test]
fn delete_keeps_the_guid_for_a_returning_id() {
    let (_d, s) = open();
    s.upsert(vec![article("a", 100, &["x"])], 1000, "old.example,2020").unwrap();
    assert_eq!(s.delete("a", 2000).unwrap().unwrap().categories.into_iter().collect::<Vec<_>>(), ["x"]);
    assert!(s.delete("a", 2000).unwrap().is_none());
    assert!(s.get("a").unwrap().is_none());
    assert_eq!(s.count_prefix("c/"), 0);
    assert_eq!(s.count_prefix("g/"), 1, "the tombstone");
    assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 2000);
    let w = s.upsert(vec![article("a", 100, &["x"])], 3000, "new.example,2026").unwrap().written;
    assert_eq!((w[0].status, w[0].guid.as_str()), (WriteStatus::Created, "tag:old.example,2020:a"));
}

#[test]
fn change_times_move_forward_only_for_touched_feeds() {
    let (_d, s) = open();
    s.sync_feeds(
        &[("x".into(), "s1".into()), ("y".into(), "s1".into()), (ALL.into(), "s".into())],
        10,
        "t.example,2026",
    )
    .unwrap();
    s.upsert(vec![article("a", 100, &["x"])], 1000, "t.example,2026").unwrap();
    assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 1000);
    assert_eq!(s.feed_meta(ALL).unwrap().unwrap().changed, 1000);
    assert_eq!(s.feed_meta("y").unwrap().unwrap().changed, 10);
    // An unchanged signature keeps the time; a changed one moves it; a clock going back never does.
    s.sync_feeds(&[("y".into(), "s1".into())], 50, "t.example,2026").unwrap();
    assert_eq!(s.feed_meta("y").unwrap().unwrap().changed, 10);
    s.sync_feeds(&[("y".into(), "s2".into())], 50, "t.example,2026").unwrap();
    assert_eq!(s.feed_meta("y").unwrap().unwrap().changed, 50);
    s.sync_feeds(&[("x".into(), "s9".into())], 5, "t.example,2026").unwrap();
    assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 1000);
    assert_eq!(s.feed_meta("x").unwrap().unwrap().feed_id, "tag:t.example,2026:feeds/x");
}

#[test]
fn same_id_twice_in_one_batch_keeps_the_last() {
    let (_d, s) = open();
    let mut second = article("a", 300, &["y"]);
    second.title = "second".into();
    let w = s.upsert(vec![article("a", 100, &["x"]), second], 1000, "t.example,2026").unwrap().written;
    assert_eq!((w[0].status, w[1].status), (WriteStatus::Created, WriteStatus::Updated));
    assert_eq!(s.count_prefix("c/"), 1);
    assert_eq!(s.get("a").unwrap().unwrap().article.title, "second");
}

#[test]
fn scheduled_articles_change_feeds_when_due_not_when_stored() {
    let (_d, s) = open();
    s.sync_feeds(&[("x".into(), "s".into()), (ALL.into(), "s".into())], 10, "t.example,2026").unwrap();
    assert!(s.release_due(50).unwrap().is_empty(), "first call records the time");
    let report =
        s.upsert(vec![article("soon", 200, &["x"]), article("later", 300, &["x"])], 100, "t.example,2026").unwrap();
    assert!(report.touched.is_empty(), "a future article changes no feed yet");
    assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 10);
    assert_eq!(s.next_due(100).unwrap(), Some(200));
    assert!(s.newest(Scope::Categories(&["x"]), 10, 150).unwrap().is_empty());
    assert!(s.release_due(150).unwrap().is_empty());
    assert_eq!(s.release_due(250).unwrap().categories.into_iter().collect::<Vec<_>>(), ["x"]);
    assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 200, "the change time is the due time");
    assert_eq!(s.feed_meta(ALL).unwrap().unwrap().changed, 200);
    assert_eq!(ids(&s.newest(Scope::Categories(&["x"]), 10, 250).unwrap()), vec!["soon"]);
    assert_eq!(s.next_due(250).unwrap(), Some(300));
    assert!(s.release_due(260).unwrap().is_empty());
    s.release_due(1000).unwrap();
    assert_eq!(s.feed_meta("x").unwrap().unwrap().changed, 300);
    assert_eq!(s.next_due(1000).unwrap(), None);
}

#[test]
fn records_encoded_ahead_are_used_only_when_they_are_what_the_plan_decides() {
    let (_d, s) = open();
    // Prepared for a write at 1000 but written at 2000 (a group commit's leader's time):
    // the record is encoded again, with the time of the write.
    let items = prepare(vec![article("a", 100, &["x"])], 1000, "t.example,2026", true);
    assert!(items[0].encoded.is_some());
    s.write_locked(items, 2000, "t.example,2026", true).unwrap();
    let a = s.get("a").unwrap().unwrap();
    assert_eq!((a.created, a.modified, a.guid.as_str()), (2000, 2000, "tag:t.example,2026:a"));
    // A deleted id coming back keeps its tombstone's GUID, not the one prepared.
    s.delete("a", 3000).unwrap();
    let again = s.prepare(vec![article("a", 100, &["x"])], 4000, "other.example,2027");
    let w = s.upsert_prepared(again).unwrap().written;
    assert_eq!(w[0].guid, "tag:t.example,2026:a");
    assert_eq!(s.get("a").unwrap().unwrap().guid, "tag:t.example,2026:a");
    // New ids use what was prepared, byte for byte.
    let fresh = s.prepare(vec![article("b", 100, &["x"])], 5000, "t.example,2026");
    let bytes = fresh.items[0].encoded.clone().unwrap();
    s.upsert_prepared(fresh).unwrap();
    assert_eq!(s.engine.get(article_key("b")).unwrap().unwrap().as_ref(), &bytes[..]);
    assert!(s.verify().unwrap().is_empty());
}

#[test]
fn a_schema_2_store_loses_its_site_index_and_keeps_everything_else() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let s = Store::open(&path, 8 << 20).unwrap();
        s.upsert(vec![article("a", 100, &["x"]), article("b", 200, &["y"])], 1000, "t.example,2026").unwrap();
        // What schema 2 wrote besides: a whole-site index entry per article.
        for (id, t) in [("a", 100), ("b", 200)] {
            s.engine.insert(&with_suffix(b"p/".to_vec(), &index_suffix(t, id)), &[]).unwrap();
        }
        s.engine.insert(SCHEMA_KEY, b"2").unwrap();
        s.flush().unwrap();
        assert_eq!(s.verify().unwrap(), ["whole-site index keys (p/) of schema 2 are left"]);
    }
    let s = Store::open(&path, 8 << 20).unwrap();
    assert_eq!(s.count_prefix("p/"), 0);
    assert_eq!(s.engine.get(SCHEMA_KEY).unwrap().unwrap().as_ref(), SCHEMA_VERSION.to_string().as_bytes());
    assert!(s.verify().unwrap().is_empty());
    // The site's listing merges the categories found at open.
    assert_eq!(ids(&s.newest(Scope::Site, 10, 1000).unwrap()), vec!["b", "a"]);
    s.upsert(vec![article("c", 300, &["z"])], 1000, "t.example,2026").unwrap();
    assert_eq!(ids(&s.newest(Scope::Site, 10, 1000).unwrap()), vec!["c", "b", "a"]);
}

#[test]
fn unknown_schema_and_foreign_stores_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let s = Store::open(&path, 8 << 20).unwrap();
        s.engine.insert(SCHEMA_KEY, b"99").unwrap();
        s.flush().unwrap();
    }
    let e = Store::open(&path, 8 << 20).err().expect("schema 99 refused").to_string();
    assert!(e.contains("schema version 99"), "{e}");
    let other = dir.path().join("other");
    {
        let db = Engine::open(&other, 8 << 20).unwrap();
        db.insert(b"k", b"v").unwrap();
        db.flush().unwrap();
    }
    let e = Store::open(&other, 8 << 20).err().expect("foreign store refused").to_string();
    assert!(e.contains("not a sihai store"), "{e}");
    // A store whose sled files vanished is not a new empty store.
    let gone = dir.path().join("gone");
    drop(Store::open(&gone, 8 << 20).unwrap());
    for entry in std::fs::read_dir(&gone).unwrap() {
        let p = entry.unwrap().path();
        if !p.ends_with(MARKER_FILE) {
            let _ = std::fs::remove_file(&p).or_else(|_| std::fs::remove_dir_all(&p));
        }
    }
    let e = Store::open(&gone, 8 << 20).err().expect("damaged store refused").to_string();
    assert!(e.contains("damaged or missing"), "{e}");
}

#[test]
fn a_second_opener_is_told_the_store_is_in_use() {
    let (d, _s) = open();
    let e = Store::open(&d.path().join("db"), 8 << 20).err().expect("locked").to_string();
    assert!(e.contains("in use by another process"), "{e}");
}

#[test]
fn concurrent_durable_writers_share_commits_and_each_gets_its_own_answer() {
    let (_d, store) = open();
    let store = std::sync::Arc::new(store);
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        // Every writer also rewrites one shared id: "created" once, "updated" after.
                        let mine = article(&format!("t{t}-{i}"), 1_000 + i, &["hunan"]);
                        let mut shared = article("shared", 500, &["hunan"]);
                        shared.title = format!("by {t} {i}");
                        let report = store.upsert_durable(vec![mine, shared], 2_000, "t.example,2026").unwrap();
                        assert_eq!(report.written.len(), 2);
                        assert_eq!(report.written[0].id, format!("t{t}-{i}"));
                        assert_eq!(report.written[0].status, WriteStatus::Created);
                        assert_eq!(report.written[1].id, "shared");
                        assert!(report.touched.categories.contains("hunan"));
                        report.written[1].status
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let statuses: Vec<WriteStatus> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == WriteStatus::Created).count(), 1, "one writer created it");
    assert_eq!(store.newest(Scope::Categories(&["hunan"]), 1000, 3_000).unwrap().len(), 16 * 25 + 1);
    assert_eq!(*store.durable.lock().unwrap(), store.applied.load(Ordering::Acquire), "all of it flushed");
}

#[test]
fn ids_stored_in_two_spellings_before_ids_were_canonical_are_reported_and_each_stays_reachable() {
    let (_d, s) = open();
    // What an earlier sihai stored for `e` + U+0301 and for `é`: two records, one GUID
    // (written as they are, as a restore of its export would).
    let record = |id: &str, published| {
        ExportRecord::Article(Box::new(StoredArticle {
            article: article(id, published, &["x"]),
            guid: "tag:t.example,2026:caf%C3%A9".into(),
            created: 1000,
            modified: 1000,
            updated: published,
            excerpt: String::new(),
        }))
    };
    s.restore(&[record("cafe\u{301}", 100), record("café", 200)]).unwrap();
    let problems = s.verify().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("are one id (\"café\" in Unicode NFC)") && problems[0].contains("DELETE"),
        "{problems:?}"
    );
    // Each spelling reads its own record; a third spelling finds the canonical one.
    assert_eq!(s.stored_id("cafe\u{301}").unwrap().as_deref(), Some("cafe\u{301}"));
    assert_eq!(s.stored_id("café").unwrap().as_deref(), Some("café"));
    assert_eq!(s.stored_id(" café ").unwrap().as_deref(), Some("café"));
    assert_eq!(s.stored_id("cafe").unwrap(), None);
    s.delete("cafe\u{301}", 2000).unwrap();
    assert!(s.verify().unwrap().is_empty(), "fixed by deleting one spelling");
}

#[test]
fn an_id_stored_decomposed_before_ids_were_canonical_is_updated_in_place_with_its_guid() {
    let (_d, s) = open();
    // An earlier sihai stored the decomposed spelling; then one deleted too.
    s.upsert(vec![article("cafe\u{301}", 100, &["x"]), article("ne\u{301}e", 100, &["x"])], 1000, "old.example,2020")
        .unwrap();
    s.delete("ne\u{301}e", 1500).unwrap();
    let legacy_guid = s.get("cafe\u{301}").unwrap().unwrap().guid;
    // Now the canonical spelling arrives (what normalization sends): the same article.
    let mut again = article("café", 100, &["x"]);
    again.title = "new title".into();
    let w = s.upsert(vec![again, article("née", 200, &["x"])], 2000, "new.example,2026").unwrap().written;
    assert_eq!((w[0].status, w[0].guid.as_str()), (WriteStatus::Updated, legacy_guid.as_str()));
    assert_eq!(
        (w[1].status, w[1].guid.as_str()),
        (WriteStatus::Created, "tag:old.example,2020:n%C3%A9e"),
        "the tombstone's GUID"
    );
    assert!(s.get("cafe\u{301}").unwrap().is_none(), "moved to the canonical key");
    assert_eq!(s.get("café").unwrap().unwrap().created, 1000, "its first stored time kept");
    let listed = s.newest(Scope::Site, 10, 5000).unwrap();
    assert_eq!(ids(&listed), vec!["née", "café"], "one item each, no GUID twice");
    assert!(s.verify().unwrap().is_empty(), "{:?}", s.verify().unwrap());
    assert_eq!(s.count_prefix("g/"), 0, "the tombstone went with its id");
    // A lookup by the canonical spelling finds a record still stored decomposed.
    s.upsert(vec![article("o\u{308}l", 100, &["x"])], 3000, "old.example,2020").unwrap();
    assert_eq!(s.stored_id("öl").unwrap().as_deref(), Some("o\u{308}l"));
}

fn tagged(id: &str, published: i64, tags: &[&str], author: &str) -> Article {
    Article {
        tags: tags.iter().map(|t| t.to_string()).collect(),
        authors: vec![Author { name: author.into(), email: None, uri: None }],
        ..article(id, published, &["x"])
    }
}

fn tag(s: &Store, name: &str) -> Vec<String> {
    s.newest(Scope::Tag(name), 10, 10_000).unwrap().into_iter().map(|a| a.article.id).collect()
}

fn by(s: &Store, name: &str) -> Vec<String> {
    s.newest(Scope::Author(name), 10, 10_000).unwrap().into_iter().map(|a| a.article.id).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn tag_and_author_indexes_follow_every_upsert_and_delete_exactly() {
    let (_d, s) = open();
    let auth = "t.example,2026";
    let r = s
        .upsert(vec![tagged("a", 100, &["湖南", "经济"], "甲"), tagged("b", 200, &["湖南"], "乙")], 1000, auth)
        .unwrap();
    assert_eq!(r.touched.tags, set(&["湖南", "经济"]));
    assert_eq!(r.touched.authors, set(&["甲", "乙"]));
    assert_eq!(tag(&s, "湖南"), ["b", "a"]);
    assert_eq!(tag(&s, "经济"), ["a"]);
    assert_eq!(by(&s, "甲"), ["a"]);
    // An update that drops a tag and changes the author: the old ones lose it, both are touched.
    let r = s.upsert(vec![tagged("a", 100, &["湖南"], "丙")], 2000, auth).unwrap();
    assert_eq!(r.touched.tags, set(&["湖南", "经济"]));
    assert_eq!(r.touched.authors, set(&["甲", "丙"]));
    assert!(tag(&s, "经济").is_empty(), "a tag removed from an article leaves its index");
    assert!(by(&s, "甲").is_empty());
    assert_eq!(by(&s, "丙"), ["a"]);
    assert_eq!(tag(&s, "湖南"), ["b", "a"]);
    // A new publication time moves the entry (no stale one left behind).
    s.upsert(vec![tagged("a", 300, &["湖南"], "丙")], 3000, auth).unwrap();
    assert_eq!(tag(&s, "湖南"), ["a", "b"]);
    assert_eq!(s.count_prefix("t/"), 2);
    // Unchanged: nothing touched.
    let r = s.upsert(vec![tagged("a", 300, &["湖南"], "丙")], 4000, auth).unwrap();
    assert!(r.touched.is_empty());
    // A delete removes every entry and reports its names.
    let touched = s.delete("a", 5000).unwrap().unwrap();
    assert_eq!((touched.tags, touched.authors), (set(&["湖南"]), set(&["丙"])));
    assert_eq!(tag(&s, "湖南"), ["b"]);
    assert!(by(&s, "丙").is_empty());
    assert!(s.verify().unwrap().is_empty());
}

#[test]
fn names_are_indexed_in_their_canonical_form_once() {
    let (_d, s) = open();
    s.upsert(vec![tagged("a", 100, &["cafe\u{301}", "caf\u{e9}", " big  data ", &"长".repeat(81)], "乙 ")], 1000, "t")
        .unwrap();
    assert_eq!(tag(&s, "caf\u{e9}"), ["a"]);
    assert_eq!(tag(&s, "big data"), ["a"]);
    assert_eq!(by(&s, "乙"), ["a"]);
    assert_eq!(s.count_prefix("t/"), 2, "one entry per canonical name; a name over the bound has none");
    assert!(s.verify().unwrap().is_empty());
}

#[test]
fn scheduled_articles_touch_their_names_when_released() {
    let (_d, s) = open();
    s.release_due(50).unwrap();
    let r = s.upsert(vec![tagged("a", 200, &["t"], "甲")], 100, "t").unwrap();
    assert!(r.touched.is_empty(), "a future article changes no feed yet");
    assert!(s.newest(Scope::Tag("t"), 10, 100).unwrap().is_empty());
    let released = s.release_due(250).unwrap();
    assert_eq!((released.tags, released.authors), (set(&["t"]), set(&["甲"])));
    assert_eq!(ids(&s.newest(Scope::Tag("t"), 10, 250).unwrap()), ["a"]);
}

#[test]
fn restore_rebuilds_the_name_indexes_and_check_store_finds_their_faults() {
    let (_d, s) = open();
    s.upsert(vec![tagged("a", 100, &["湖南", "经济"], "甲"), tagged("b", 200, &["湖南"], "乙")], 1000, "t").unwrap();
    s.delete("b", 2000).unwrap();
    let mut records = Vec::new();
    s.export(|r| {
        records.push(r.clone());
        Ok(())
    })
    .unwrap();
    let (_d2, t) = open();
    t.restore(&records).unwrap();
    assert_eq!(tag(&t, "湖南"), ["a"]);
    assert_eq!(by(&t, "甲"), ["a"]);
    assert!(by(&t, "乙").is_empty());
    assert_eq!(t.count_prefix("t/") + t.count_prefix("u/"), s.count_prefix("t/") + s.count_prefix("u/"));
    assert!(t.verify().unwrap().is_empty());
    // A missing entry, an entry of a name the article lost, an entry without an article.
    let suffix = index_suffix(100, "a");
    t.engine
        .apply({
            let mut b = engine::Batch::default();
            b.remove(with_suffix(keys::name_prefix(keys::Facet::Tag, "经济"), &suffix));
            b.insert(with_suffix(keys::name_prefix(keys::Facet::Author, "丁"), &suffix), []);
            b.insert(with_suffix(keys::name_prefix(keys::Facet::Tag, "x"), &index_suffix(5, "gone")), []);
            b
        })
        .unwrap();
    let problems = t.verify().unwrap().join("\n");
    assert!(problems.contains("its index entry for tag \"经济\" is missing"), "{problems}");
    assert!(problems.contains("author index entry for \"a\" under \"丁\""), "{problems}");
    assert!(problems.contains("tag index entry for \"gone\" has no article"), "{problems}");
}

#[test]
fn a_schema_3_store_gets_its_tag_and_author_indexes_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let s = Store::open(&path, 8 << 20).unwrap();
        let many: Vec<Article> = (0..25).map(|i| tagged(&format!("n{i}"), 100 + i, &["湖南"], "甲")).collect();
        s.upsert(many, 1000, "t").unwrap();
        s.upsert(vec![tagged("a", 50, &["经济"], "乙")], 1000, "t").unwrap();
        // What schema 3 had: no tag or author keys.
        let mut b = engine::Batch::default();
        for prefix in ["t/", "u/"] {
            for item in s.engine.scan_prefix(prefix.as_bytes()) {
                b.remove(item.unwrap().0);
            }
        }
        s.engine.apply(b).unwrap();
        s.engine.insert(SCHEMA_KEY, b"3").unwrap();
        s.flush().unwrap();
        assert!(!s.verify().unwrap().is_empty(), "check-store sees the missing entries");
    }
    let s = Store::open(&path, 8 << 20).unwrap();
    assert_eq!(s.engine.get(SCHEMA_KEY).unwrap().unwrap().as_ref(), b"4");
    assert!(s.verify().unwrap().is_empty());
    assert_eq!(tag(&s, "经济"), ["a"]);
    assert_eq!(s.newest(Scope::Tag("湖南"), 50, 1000).unwrap().len(), 25);
    assert_eq!(by(&s, "乙"), ["a"]);
    assert_eq!(s.count_prefix("u/"), 26);
}

#[test]
fn readership_days_are_kept_read_by_range_and_folded_into_months() {
    use crate::readers::tally::VariantDay;
    use crate::readers::FeedDay;
    let (_d, s) = open();
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2025, 1, d).unwrap();
    let record = |requests: u64, readers: u64, feedly: u64| {
        let mut r = FeedDay { readers, ..FeedDay::default() };
        r.variants.insert("rss".into(), VariantDay { requests, readers, ..VariantDay::default() });
        r.aggregators.entry("Feedly".into()).or_default().insert("rss/".into(), feedly);
        r
    };
    s.put_readership(day(1), &[("hunan".into(), record(10, 3, 40)), ("all".into(), record(5, 1, 0))]).unwrap();
    s.put_readership(day(2), &[("hunan".into(), record(20, 7, 52))]).unwrap();
    s.put_readership(day(3), &[("hunan".into(), record(1, 1, 50))]).unwrap();
    let h = s.readership(day(1), day(2)).unwrap();
    assert_eq!(h.len(), 2, "day 3 is outside the range");
    assert_eq!(h[&day(1)].len(), 2);
    assert_eq!(h[&day(2)]["hunan"].subscribers(), 59);
    // Days before the 3rd become January's record: sums of requests, highest counts.
    assert_eq!(s.fold_readership_before(day(3)).unwrap(), 3);
    assert!(s.readership(day(1), day(2)).unwrap().is_empty(), "folded days are gone");
    assert_eq!(s.readership(day(3), day(3)).unwrap()[&day(3)]["hunan"].requests(), 1, "later days stay");
    let month = s.engine.get(b"r/m/2025-01/hunan").unwrap().expect("the month's record");
    let month: FeedDay = serde_json::from_slice(&month).unwrap();
    assert_eq!((month.requests(), month.readers, month.aggregator_subscribers()), (30, 7, 52));
    assert_eq!(s.fold_readership_before(day(3)).unwrap(), 0, "nothing left to fold");
}

#[test]
fn readership_records_go_through_an_export_and_a_restore() {
    use crate::readers::FeedDay;
    let (_d, s) = open();
    let day = chrono::NaiveDate::from_ymd_opt(2025, 3, 4).unwrap();
    let mut record = FeedDay { readers: 9, ..FeedDay::default() };
    record.aggregators.entry("Feedly".into()).or_default().insert("rss/".into(), 40);
    s.put_readership(day, &[("hunan".into(), record)]).unwrap();
    s.fold_readership_before(chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()).unwrap();
    let mut records = Vec::new();
    s.export(|r| {
        records.push(r.clone());
        Ok(())
    })
    .unwrap();
    assert!(records.iter().any(|r| matches!(r, ExportRecord::Readership { key, .. } if key == "d/2025-03-04/hunan")));
    let (_d2, restored) = open();
    restored.restore(&records).unwrap();
    let back = restored.readership(day, day).unwrap();
    assert_eq!(back[&day]["hunan"].subscribers(), 49);
    // A record outside the readership keys, or unreadable, is refused whole.
    let (_d3, other) = open();
    for (key, value) in [("x/../a/1", "{}"), ("d/2025-13-01/hunan", "{}"), ("d/2025-03-04/hunan", "not json")] {
        let bad = vec![ExportRecord::Readership { key: key.into(), value: value.into() }];
        assert!(other.restore(&bad).is_err(), "{key}");
    }
    assert!(other.readership(day, day).unwrap().is_empty(), "nothing written");
}
