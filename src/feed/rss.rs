//! A prepared feed as RSS 2.0 bytes (pure: no I/O).
//!
//! Struct literals rather than the crate's builders (they clone every field), and
//! `write_to` into a buffer rather than `Display` (which swallows errors).

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Enclosure, Guid, Item};

use super::{rfc822, FeedDoc, FeedItem, Format, GENERATOR, VERSION};
use crate::ingest::text::escape_html;

/// Renders `doc` as an RSS 2.0 document.
pub fn render(doc: &FeedDoc) -> Result<Vec<u8>, rss::Error> {
    let channel = Channel {
        title: doc.title.clone(),
        link: doc.home_url.clone(),
        description: doc.description.clone(),
        language: Some(doc.language.clone()),
        last_build_date: Some(rfc822(&doc.updated)),
        generator: Some(format!("{GENERATOR} {VERSION}")),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        ttl: Some(doc.ttl_minutes.to_string()),
        atom_ext: Some(AtomExtension {
            links: vec![Link {
                rel: "self".into(),
                href: doc.self_url(Format::Rss),
                mime_type: Some("application/rss+xml".into()),
                ..Link::default()
            }],
        }),
        items: doc.items.iter().map(item).collect(),
        ..Channel::default()
    };
    let mut out = Vec::with_capacity(4096 + doc.items.len() * 4096);
    channel.write_to(&mut out)?;
    Ok(out)
}

fn item(it: &FeedItem) -> Item {
    let mut categories: Vec<Category> =
        it.categories.iter().map(|(_, name, url)| Category { name: name.clone(), domain: Some(url.clone()) }).collect();
    categories.extend(it.tags.iter().map(|t| Category { name: t.clone(), domain: None }));
    Item {
        title: Some(it.title.clone()),
        link: Some(it.link.clone()),
        description: (!it.excerpt.is_empty()).then(|| escape_html(&it.excerpt)),
        categories,
        enclosure: it.image.as_ref().map(|img| Enclosure {
            url: img.url.clone(),
            length: img.length.to_string(),
            mime_type: img.mime_type.clone(),
        }),
        guid: Some(Guid { value: it.guid.clone(), permalink: false }),
        pub_date: Some(rfc822(&it.published)),
        content: it.content_html.clone(),
        dublin_core_ext: (!it.authors.is_empty()).then(|| DublinCoreExtension {
            creators: it.authors.iter().map(|a| a.name.clone()).collect(),
            ..DublinCoreExtension::default()
        }),
        ..Item::default()
    }
}
