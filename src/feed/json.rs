//! A prepared feed as JSON Feed 1.1 bytes (pure: no I/O).
//!
//! The same items, ids (the GUIDs), dates and content as the XML feeds. Keys are written
//! in a fixed (sorted) order, so the bytes are as stable as the XML's.

use serde_json::{json, Map, Value};

use super::{FeedDoc, FeedItem, Format};

/// The JSON Feed version URL.
pub const VERSION_URL: &str = "https://jsonfeed.org/version/1.1";

/// Renders `doc` as a JSON Feed 1.1 document.
pub fn render(doc: &FeedDoc) -> Vec<u8> {
    let mut feed = json!({
        "version": VERSION_URL,
        "title": doc.title,
        "home_page_url": doc.home_url,
        "feed_url": doc.self_url(Format::Json),
        "description": doc.description,
        "language": doc.language,
        "authors": [{"name": doc.site_title, "url": doc.site_url}],
        "items": doc.items.iter().map(item).collect::<Vec<_>>(),
    });
    if let Some(image) = &doc.image {
        feed["icon"] = json!(image);
    }
    if let Some(icon) = &doc.icon {
        feed["favicon"] = json!(icon);
    }
    if !doc.hubs.is_empty() {
        feed["hubs"] = json!(doc.hubs.iter().map(|h| json!({"type": "WebSub", "url": h})).collect::<Vec<_>>());
    }
    // JSON Feed's pagination: `next_url` leads to older items, i.e. the previous archive
    // (of the same filter, for a filtered feed).
    if let Some((_, url)) = doc.history_links(Format::Json).into_iter().find(|(rel, _)| *rel == "prev-archive") {
        feed["next_url"] = json!(url);
    }
    let mut out = serde_json::to_vec(&feed).expect("JSON values serialize");
    out.push(b'\n');
    out
}

fn item(it: &FeedItem) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(it.guid));
    m.insert("url".into(), json!(it.link));
    m.insert("title".into(), json!(it.title));
    match &it.content_html {
        Some(html) => m.insert("content_html".into(), json!(html)),
        // Every item needs content: an article without any is represented by its summary,
        // as the Atom feed's is.
        None => m.insert("content_text".into(), json!(it.summary)),
    };
    if !it.excerpt.is_empty() {
        m.insert("summary".into(), json!(it.excerpt));
    }
    m.insert("date_published".into(), json!(it.published.to_rfc3339()));
    m.insert("date_modified".into(), json!(it.updated.to_rfc3339()));
    if !it.authors.is_empty() {
        let authors: Vec<Value> = it
            .authors
            .iter()
            .map(|a| {
                let mut o = Map::new();
                o.insert("name".into(), json!(a.name));
                if let Some(u) = a.uri.clone().or_else(|| a.email.as_ref().map(|e| format!("mailto:{e}"))) {
                    o.insert("url".into(), json!(u));
                }
                Value::Object(o)
            })
            .collect();
        m.insert("authors".into(), Value::Array(authors));
    }
    let tags: Vec<&String> = it.categories.iter().map(|(_, name, _)| name).chain(&it.tags).collect();
    if !tags.is_empty() {
        m.insert("tags".into(), json!(tags));
    }
    if let Some(img) = &it.image {
        m.insert("image".into(), json!(img.url));
    }
    Value::Object(m)
}
