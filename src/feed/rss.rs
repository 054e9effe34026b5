//! A prepared feed as RSS 2.0 bytes (pure: no I/O).
//!
//! Struct literals rather than the crate's builders (they clone every field), and
//! `write_to` into a buffer rather than `Display` (which swallows errors).

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::Extension;
use rss::{Category, Channel, Enclosure, Guid, Image, Item};

use super::{FeedDoc, FeedItem, Format, GENERATOR, VERSION};
use crate::text::escape_html;
use crate::time::rfc822;

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
        image: doc.image.as_ref().map(|url| Image {
            url: url.clone(),
            title: doc.title.clone(),
            link: doc.home_url.clone(),
            ..Image::default()
        }),
        atom_ext: Some(AtomExtension { links: links(doc) }),
        items: doc.items.iter().map(item).collect(),
        ..Channel::default()
    };
    let channel = if doc.history.archive.is_some() { mark_archive(channel) } else { channel };
    let mut out = Vec::with_capacity(4096 + doc.items.len() * 4096);
    channel.write_to(&mut out)?;
    Ok(out)
}

/// `atom:link`s: self, the WebSub hubs, and the RFC 5005 history links.
fn links(doc: &FeedDoc) -> Vec<Link> {
    let link = |rel: &str, href: String, mime: Option<&str>| Link {
        rel: rel.into(),
        href,
        mime_type: mime.map(str::to_string),
        ..Link::default()
    };
    let mut links = vec![link("self", doc.self_url(Format::Rss), Some(Format::Rss.mime()))];
    links.extend(doc.hubs.iter().map(|h| link("hub", h.clone(), None)));
    links.extend(
        doc.history_links(Format::Rss).into_iter().map(|(rel, href)| link(rel, href, Some(Format::Rss.mime()))),
    );
    links
}

/// Adds `<fh:archive/>` (RFC 5005) and its namespace.
fn mark_archive(mut channel: Channel) -> Channel {
    channel.namespaces.insert("fh".into(), HISTORY_NS.into());
    let marker = Extension { name: "fh:archive".into(), ..Extension::default() };
    channel.extensions.entry("fh".into()).or_default().insert("archive".into(), vec![marker]);
    channel
}

/// The RFC 5005 namespace.
pub const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";

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
