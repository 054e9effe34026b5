//! The feed formats sihai serves, and every media type it answers with: each written
//! once. A new format is a variant here, a renderer file, and an arm in `feed::render`.

/// The media type of each format, once: `Format::mime` and `Format::content_type` are
/// built from it.
macro_rules! mime {
    (Rss) => {
        "application/rss+xml"
    };
    (Atom) => {
        "application/atom+xml"
    };
    (Json) => {
        "application/feed+json"
    };
}

/// `Content-Type` of HTML pages.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";
/// Media type of HTML pages in links (`rel="alternate"` of Atom entries and feeds).
pub const HTML_MIME: &str = "text/html";
/// `Content-Type` of the OPML list.
pub const OPML_CONTENT_TYPE: &str = "text/x-opml; charset=utf-8";

/// A feed format sihai serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RSS 2.0
    Rss,
    /// Atom 1.0
    Atom,
    /// JSON Feed 1.1
    Json,
}

impl Format {
    /// Every format, in the order pages list them.
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    /// The file extension in feed URLs (also OPML's `type`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    /// The format of an extension, if sihai serves it.
    pub fn from_extension(ext: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.extension() == ext)
    }

    /// The `Content-Type` it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => concat!(mime!(Rss), "; charset=utf-8"),
            Format::Atom => concat!(mime!(Atom), "; charset=utf-8"),
            Format::Json => mime!(Json),
        }
    }

    /// The media type (without parameters), for `<link rel="alternate" type>`.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Rss => mime!(Rss),
            Format::Atom => mime!(Atom),
            Format::Json => mime!(Json),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_round_trip_and_types_agree() {
        for f in Format::ALL {
            assert_eq!(Format::from_extension(f.extension()), Some(f));
            assert!(f.content_type().starts_with(f.mime()), "{f:?}");
        }
        assert_eq!(Format::from_extension("xml"), None);
        assert_eq!(Format::Rss.content_type(), "application/rss+xml; charset=utf-8");
    }
}
