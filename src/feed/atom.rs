//! A prepared feed as Atom 1.0 bytes (pure: no I/O).

use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text, WriteConfig};

use super::{urls, FeedDoc, FeedItem, Format, GENERATOR, HTML_MIME, VERSION};

/// Renders `doc` as an Atom 1.0 document.
pub fn render(doc: &FeedDoc) -> Result<Vec<u8>, atom_syndication::Error> {
    let feed = Feed {
        title: Text::plain(doc.title.clone()),
        id: doc.feed_id.clone(),
        updated: doc.updated.fixed_offset(),
        authors: vec![Person { name: doc.site_title.clone(), uri: Some(doc.site_url.clone()), ..Person::default() }],
        generator: Some(Generator { value: GENERATOR.into(), uri: None, version: Some(VERSION.into()) }),
        links: feed_links(doc),
        icon: doc.icon.clone(),
        logo: doc.logo.clone(),
        subtitle: Some(Text::plain(doc.description.clone())),
        entries: doc.items.iter().map(|it| entry(doc, it)).collect(),
        lang: Some(doc.language.clone()),
        ..Feed::default()
    };
    let archive = doc.history.archive.is_some();
    let mut feed = feed;
    if archive {
        feed.namespaces.insert("fh".into(), super::rss::HISTORY_NS.into());
    }
    let mut out = Vec::with_capacity(4096 + doc.items.len() * 4096);
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    let config = WriteConfig { write_document_declaration: false, indent_size: None };
    feed.write_with_config(&mut out, config)?;
    if archive {
        mark_archive(&mut out);
    }
    Ok(out)
}

/// Adds `<fh:archive/>` (RFC 5005) among the feed-level elements, before the first entry:
/// RFC 4287's schema (appendix B) allows extension elements only there, and
/// atom_syndication writes its extensions after the entries. No text before the first
/// `<entry` can hold that string: the crate escapes `<` in every text it writes.
fn mark_archive(out: &mut Vec<u8>) {
    const MARKER: &[u8] = b"<fh:archive/>";
    let at = find(out, b"<entry>").or_else(|| find(out, b"</feed>")).unwrap_or(out.len());
    out.splice(at..at, MARKER.iter().copied());
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Feed links: self, alternate, the WebSub hubs, and the RFC 5005 history links.
fn feed_links(doc: &FeedDoc) -> Vec<Link> {
    let mut links = vec![
        link("self", doc.self_url(Format::Atom), Format::Atom.mime()),
        link("alternate", doc.home_url.clone(), HTML_MIME),
    ];
    links.extend(doc.hubs.iter().map(|h| Link { rel: "hub".into(), href: h.clone(), ..Link::default() }));
    links.extend(doc.history_links(Format::Atom).into_iter().map(|(rel, href)| link(rel, href, Format::Atom.mime())));
    links
}

fn link(rel: &str, href: String, mime: &str) -> Link {
    Link { rel: rel.into(), href, mime_type: Some(mime.into()), ..Link::default() }
}

fn entry(doc: &FeedDoc, it: &FeedItem) -> Entry {
    let scheme = urls::category_scheme(&doc.site_url);
    let mut links = vec![link("alternate", it.link.clone(), HTML_MIME)];
    if let Some(img) = &it.image {
        links.push(Link {
            rel: "enclosure".into(),
            href: img.url.clone(),
            mime_type: Some(img.mime_type.clone()),
            length: (img.length > 0).then(|| img.length.to_string()),
            ..Link::default()
        });
    }
    let mut categories: Vec<Category> = it
        .categories
        .iter()
        .map(|(slug, name, _)| Category { term: slug.clone(), scheme: Some(scheme.clone()), label: Some(name.clone()) })
        .collect();
    categories.extend(it.tags.iter().map(|t| Category { term: t.clone(), scheme: None, label: None }));
    Entry {
        title: Text::plain(it.title.clone()),
        id: it.guid.clone(),
        updated: it.updated.fixed_offset(),
        authors: it
            .authors
            .iter()
            .map(|a| Person { name: a.name.clone(), email: a.email.clone(), uri: a.uri.clone(), ..Person::default() })
            .collect(),
        categories,
        links,
        published: Some(it.published.fixed_offset()),
        summary: Some(Text::plain(it.summary.clone())),
        content: it.content_html.as_ref().map(|html| Content {
            value: Some(html.clone()),
            content_type: Some("html".into()),
            ..Content::default()
        }),
        ..Entry::default()
    }
}
