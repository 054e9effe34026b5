//! Filtered feeds (`?filter=...`, in the spirit of RSSHub): which items of a prepared feed
//! a reader's patterns keep (pure: no I/O).
//!
//! | parameter | matches |
//! |---|---|
//! | `filter` / `filterout` | the title, description (excerpt), category names and slugs, tags and author names |
//! | `filter_title` / `filterout_title` | the title |
//! | `filter_description` / `filterout_description` | the description (the excerpt readers see) |
//! | `filter_author` / `filterout_author` | an author's name |
//! | `filter_category` / `filterout_category` | a category's name or slug |
//! | `filter_tag` / `filterout_tag` | a tag |
//! | `filter_case_sensitive` | `true` (the default, as RSSHub's) or `false` (also `1` / `0`) |
//!
//! An item is kept when every `filter*` pattern given matches one of its fields (and) and
//! no `filterout*` pattern does (or). Patterns are unanchored regular expressions of the
//! `regex` crate: linear time in the text, no backtracking, so a pattern cannot make a
//! render slow; each is at most [`MAX_PATTERN_CHARS`] characters and its compiled program
//! at most [`SIZE_LIMIT`] bytes. Any other parameter starting with `filter` is refused (a
//! misspelt `filter_titel` would otherwise serve the whole feed as if filtered); an empty
//! value is the same as none.
//!
//! A query is read in two steps: [`FilterSpec::from_params`] checks names, lengths and
//! values (cheap, on every request) and gives the canonical query that names the document
//! (its self link, its cache key); [`FilterSpec::compile`] builds the regexes only when the
//! document is not ready (once per change of its feed).

use std::fmt;

use regex::{Regex, RegexBuilder};

use super::FeedItem;

/// The longest pattern accepted, in characters.
pub const MAX_PATTERN_CHARS: usize = 256;
/// The most bytes a pattern's compiled program may take (`RegexBuilder::size_limit`), and
/// its lazy DFA's cache (`dfa_size_limit`): a small pattern compiles to a few KiB, a
/// counted repetition such as `\w{1000}` to megabytes, and is refused.
pub const SIZE_LIMIT: usize = 256 * 1024;

/// The parameter that sets case sensitivity.
pub const CASE_SENSITIVE: &str = "filter_case_sensitive";

/// What part of an item a pattern looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Any,
    Title,
    Description,
    Author,
    Category,
    Tag,
}

/// Every pattern parameter, in the order of the canonical query: (name, field, whether it
/// keeps (`filter*`) or drops (`filterout*`) what it matches).
const PARAMS: [(&str, Field, bool); 12] = [
    ("filter", Field::Any, true),
    ("filter_title", Field::Title, true),
    ("filter_description", Field::Description, true),
    ("filter_author", Field::Author, true),
    ("filter_category", Field::Category, true),
    ("filter_tag", Field::Tag, true),
    ("filterout", Field::Any, false),
    ("filterout_title", Field::Title, false),
    ("filterout_description", Field::Description, false),
    ("filterout_author", Field::Author, false),
    ("filterout_category", Field::Category, false),
    ("filterout_tag", Field::Tag, false),
];

/// Why a filter query is refused (answered 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// A `filter*` parameter sihai does not know.
    Unknown(String),
    /// A parameter given twice (one URL per document).
    Repeated(String),
    /// A pattern longer than [`MAX_PATTERN_CHARS`].
    TooLong(String),
    /// `filter_case_sensitive` neither true nor false.
    BadCase(String),
    /// A pattern the regex crate refuses (syntax, or larger than [`SIZE_LIMIT`]).
    Pattern(String, String),
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::Unknown(name) => {
                let names: Vec<&str> = PARAMS.iter().map(|p| p.0).chain([CASE_SENSITIVE]).collect();
                write!(f, "unknown filter parameter {name:?}; the filter parameters are {}", names.join(", "))
            }
            FilterError::Repeated(name) => write!(f, "{name} is given more than once; give it once"),
            FilterError::TooLong(name) => {
                write!(f, "{name} is longer than {MAX_PATTERN_CHARS} characters; give a shorter pattern")
            }
            FilterError::BadCase(v) => write!(f, "{CASE_SENSITIVE}={v:?} is neither true nor false"),
            FilterError::Pattern(name, reason) => write!(f, "{name} is not a valid pattern: {reason}"),
        }
    }
}

/// A checked, not yet compiled filter: the patterns by parameter and the case sensitivity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSpec {
    /// (index into `PARAMS`, pattern), in `PARAMS` order.
    patterns: Vec<(usize, String)>,
    case_sensitive: bool,
}

impl FilterSpec {
    /// The filter a query's parameters (decoded name, value pairs) ask for: `None` when they
    /// hold no pattern. Parameters not starting with `filter` are left to others.
    pub fn from_params<K: AsRef<str>, V: AsRef<str>>(
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Option<FilterSpec>, FilterError> {
        let mut patterns: Vec<(usize, String)> = Vec::new();
        let mut case: Option<bool> = None;
        for (name, value) in params {
            let (name, value) = (name.as_ref(), value.as_ref());
            if !name.starts_with("filter") {
                continue;
            }
            if name == CASE_SENSITIVE {
                if case.is_some() {
                    return Err(FilterError::Repeated(name.into()));
                }
                case = Some(match value {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => return Err(FilterError::BadCase(other.chars().take(40).collect())),
                });
                continue;
            }
            let Some(i) = PARAMS.iter().position(|p| p.0 == name) else {
                return Err(FilterError::Unknown(name.chars().take(60).collect()));
            };
            if patterns.iter().any(|(j, _)| *j == i) {
                return Err(FilterError::Repeated(name.into()));
            }
            if value.chars().count() > MAX_PATTERN_CHARS {
                return Err(FilterError::TooLong(name.into()));
            }
            patterns.push((i, value.to_string()));
        }
        patterns.retain(|(_, p)| !p.is_empty());
        if patterns.is_empty() {
            return Ok(None);
        }
        patterns.sort_by_key(|(i, _)| *i);
        Ok(Some(FilterSpec { patterns, case_sensitive: case.unwrap_or(true) }))
    }

    /// The canonical query of this filter (without `?`): parameters in a fixed order,
    /// form-encoded, `filter_case_sensitive` only when not the default. Equal filters have
    /// equal queries, so it names the document (self link, cache key).
    pub fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (i, pattern) in &self.patterns {
            q.append_pair(PARAMS[*i].0, pattern);
        }
        if !self.case_sensitive {
            q.append_pair(CASE_SENSITIVE, "false");
        }
        q.finish()
    }

    /// A 128-bit digest of [`FilterSpec::query`]: the filter's part of a cache key.
    pub fn id(&self) -> u128 {
        let hash = blake3::hash(self.query().as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&hash.as_bytes()[..16]);
        u128::from_le_bytes(bytes)
    }

    /// The regexes, each within [`SIZE_LIMIT`].
    pub fn compile(&self) -> Result<Filter, FilterError> {
        let mut keep = Vec::new();
        let mut drop = Vec::new();
        for (i, pattern) in &self.patterns {
            let (name, field, keeps) = PARAMS[*i];
            let regex = RegexBuilder::new(pattern)
                .case_insensitive(!self.case_sensitive)
                .size_limit(SIZE_LIMIT)
                .dfa_size_limit(SIZE_LIMIT)
                .nest_limit(64)
                .build()
                .map_err(|e| FilterError::Pattern(name.into(), reason(&e)))?;
            if keeps {
                keep.push((field, regex));
            } else {
                drop.push((field, regex));
            }
        }
        Ok(Filter { keep, drop, query: self.query() })
    }
}

/// The regex crate's reason, on one line.
fn reason(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(limit) => {
            format!("it compiles to more than {limit} bytes; give a simpler pattern")
        }
        other => other.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// A compiled filter.
#[derive(Debug)]
pub struct Filter {
    keep: Vec<(Field, Regex)>,
    drop: Vec<(Field, Regex)>,
    /// [`FilterSpec::query`] of what it was compiled from.
    query: String,
}

impl Filter {
    /// Whether `item` stays in the filtered feed.
    pub fn keeps(&self, item: &FeedItem) -> bool {
        self.keep.iter().all(|(f, re)| matches(*f, re, item)) && !self.drop.iter().any(|(f, re)| matches(*f, re, item))
    }

    /// The canonical query it was compiled from (without `?`): the filtered document's
    /// self link carries it.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Keeps the items this filter keeps, in their order.
    pub fn apply(&self, items: &mut Vec<FeedItem>) {
        items.retain(|it| self.keeps(it));
    }
}

/// Whether `re` matches `field` of `item`.
fn matches(field: Field, re: &Regex, item: &FeedItem) -> bool {
    let title = || re.is_match(&item.title);
    let description = || re.is_match(&item.excerpt);
    let author = || item.authors.iter().any(|a| re.is_match(&a.name));
    let category = || item.categories.iter().any(|(slug, name, _)| re.is_match(name) || re.is_match(slug));
    let tag = || item.tags.iter().any(|t| re.is_match(t));
    match field {
        Field::Any => title() || description() || category() || tag() || author(),
        Field::Title => title(),
        Field::Description => description(),
        Field::Author => author(),
        Field::Category => category(),
        Field::Tag => tag(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Author;

    fn item(title: &str, excerpt: &str, author: &str, category: (&str, &str), tags: &[&str]) -> FeedItem {
        let t = chrono::DateTime::from_timestamp(0, 0).unwrap().with_timezone(&chrono_tz::Asia::Shanghai);
        FeedItem {
            guid: format!("g-{title}"),
            title: title.into(),
            link: "https://x.test/a".into(),
            excerpt: excerpt.into(),
            summary: excerpt.into(),
            content_html: None,
            authors: vec![Author { name: author.into(), email: None, uri: None }],
            published: t,
            updated: t,
            categories: vec![(category.0.into(), category.1.into(), "https://x.test/c/x".into())],
            tags: tags.iter().map(|t| t.to_string()).collect(),
            image: None,
            tag_pages: Vec::new(),
            author_pages: Vec::new(),
        }
    }

    fn spec(query: &str) -> Result<Option<FilterSpec>, FilterError> {
        FilterSpec::from_params(url::form_urlencoded::parse(query.as_bytes()))
    }

    fn kept(query: &str, items: &[FeedItem]) -> Vec<String> {
        let filter = spec(query).unwrap().unwrap().compile().unwrap();
        items.iter().filter(|it| filter.keeps(it)).map(|it| it.title.clone()).collect()
    }

    #[test]
    fn patterns_keep_and_drop_by_field() {
        let items = [
            item("长沙地铁开通", "新线路", "谢伟峰", ("changsha", "长沙"), &["交通"]),
            item("Apple releases", "phones", "Li Lei", ("world", "国际资讯"), &["科技"]),
            item("湖南经济", "GDP 增长", "王芳", ("hunan", "湖南新闻"), &["经济", "交通"]),
        ];
        let cases: &[(&str, &[&str])] = &[
            ("filter=长沙", &["长沙地铁开通"]),
            ("filter=交通", &["长沙地铁开通", "湖南经济"]),
            ("filter=谢伟峰", &["长沙地铁开通"]),
            ("filter=hunan", &["湖南经济"]),
            ("filter=增长", &["湖南经济"]),
            ("filter_title=^湖南", &["湖南经济"]),
            ("filter_title=交通", &[]),
            ("filter_description=线路|phones", &["长沙地铁开通", "Apple releases"]),
            ("filter_author=王", &["湖南经济"]),
            ("filter_category=国际", &["Apple releases"]),
            ("filter_tag=^交通$", &["长沙地铁开通", "湖南经济"]),
            ("filterout=交通", &["Apple releases"]),
            ("filter=交通&filterout_author=谢", &["湖南经济"]),
            ("filter=apple", &[]),
            ("filter=apple&filter_case_sensitive=false", &["Apple releases"]),
            ("filter=apple&filter_case_sensitive=0", &["Apple releases"]),
            ("filter=.&filter_title=经济&limit=3&other=1", &["湖南经济"]),
        ];
        for (query, want) in cases {
            assert_eq!(kept(query, &items), *want, "{query}");
        }
    }

    #[test]
    fn bad_queries_are_refused_with_their_reason() {
        let long = format!("filter={}", "a".repeat(MAX_PATTERN_CHARS + 1));
        let cases = [
            ("filter_titel=x", "unknown filter parameter \"filter_titel\""),
            ("filter=a&filter=b", "filter is given more than once"),
            (long.as_str(), "longer than 256 characters"),
            ("filter=a&filter_case_sensitive=yes", "neither true nor false"),
        ];
        for (query, want) in cases {
            let err = spec(query).unwrap_err().to_string();
            assert!(err.contains(want), "{query}: {err}");
        }
        let compiled = |q: &str| spec(q).unwrap().unwrap().compile().unwrap_err().to_string();
        assert!(compiled("filter=(").contains("filter is not a valid pattern"), "{}", compiled("filter=("));
        assert!(compiled("filterout_tag=\\w{1000}{1000}").contains("compiles to more than"));
        assert!(spec(&format!("filter={}", "长".repeat(MAX_PATTERN_CHARS))).unwrap().is_some(), "characters count");
    }

    #[test]
    fn equal_filters_have_one_canonical_query() {
        let a = spec("filter_case_sensitive=true&filterout=x&filter=%E9%95%BF%20%26").unwrap().unwrap();
        let b = spec("filter=长 %26&filterout=x").unwrap().unwrap();
        assert_eq!(a.query(), "filter=%E9%95%BF+%26&filterout=x");
        assert_eq!(a, b);
        assert_eq!(a.id(), b.id());
        let c = spec("filter=长 %26&filterout=x&filter_case_sensitive=false").unwrap().unwrap();
        assert_eq!(c.query(), "filter=%E9%95%BF+%26&filterout=x&filter_case_sensitive=false");
        assert_ne!(a.id(), c.id());
        assert_eq!(spec("filter=&limit=3&filter_case_sensitive=false").unwrap(), None, "no pattern: no filter");
    }
}
