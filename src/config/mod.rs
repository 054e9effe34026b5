//! The configuration: raw TOML in, a validated [`Config`] out.
//!
//! Everything downstream trusts a `Config`: the category tree is resolved once here
//! (parents, children, the one namespace of slugs, names and aliases), so no other module
//! re-checks a slug or walks a parent chain that might loop. Every error names the file,
//! the line where the toml crate gives one, the entry and the fix.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

/// The default place of the configuration, relative to the working directory.
pub const DEFAULT_PATH: &str = "config/sihai.toml";

/// The slug of the whole-site feed (`/feeds/all.rss`): reserved, no category may take it.
pub const SITE_SLUG: &str = "all";
/// Slugs that name routes rather than categories (`/feeds/all.rss`).
const RESERVED_SLUGS: &[&str] = &[SITE_SLUG];

/// A breadcrumb element that stands for the site's front page and is skipped.
const HOME_NAMES: &[&str] = &["首页", "home", "Home", "主页"];

/// The validated configuration: what the daemon and every command run on.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from, for messages.
    pub path: PathBuf,
    /// The `[site]` table.
    pub site: Site,
    /// The `[server]` table.
    pub server: Server,
    /// The `[ingest]` table.
    pub ingest: Ingest,
    /// WebSub hubs told about every feed change (`[websub] hubs`).
    pub hubs: Vec<Url>,
    /// The resolved category tree.
    pub categories: Categories,
}

/// The `[site]` table: what every feed is built from.
#[derive(Debug, Clone)]
pub struct Site {
    /// Channel title of the whole-site feed and suffix of category feed titles.
    pub title: String,
    /// Channel description of the whole-site feed.
    pub description: String,
    /// The public URL, always ending in `/`: every link and self link is joined onto it.
    pub base_url: Url,
    /// Language code for every feed (`zh-CN`).
    pub language: String,
    /// The site's time zone: dates without an offset are read in it, feeds print in it.
    pub timezone: Tz,
    /// RFC 4151 authority (`sihai.example,2026`) that new GUIDs are minted with.
    pub tag_authority: String,
    /// Items in the whole-site feed.
    pub max_items: usize,
    /// Minutes a reader may cache the whole-site feed.
    pub ttl_minutes: u32,
    /// Where image file names on article pages live; without it they are dropped.
    pub image_base_url: Option<Url>,
    /// A wide logo image for feeds (RSS `image`, Atom `logo`, JSON Feed `icon`).
    pub logo: Option<Url>,
    /// A small square icon (Atom `icon`, JSON Feed `favicon`, pages' favicon).
    pub icon: Option<Url>,
}

/// The `[ingest]` table: who may write, and how much at once.
#[derive(Debug, Clone)]
pub struct Ingest {
    /// File of accepted tokens, one a line (`#` comments); relative to the working directory.
    pub token_file: Option<PathBuf>,
    /// Largest request body the API reads.
    pub max_body_bytes: u64,
}

/// Default of `[ingest] max_body_bytes`: 10 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;

/// The `[server]` table.
#[derive(Debug, Clone)]
pub struct Server {
    /// Address the daemon listens on.
    pub listen: SocketAddr,
    /// Directory of the sled store (relative paths are relative to the working directory).
    pub data_dir: PathBuf,
    /// How long in-flight requests may run after SIGTERM/SIGINT.
    pub shutdown_seconds: u64,
    /// Free disk space writes always leave (below it they answer 507).
    pub min_free_bytes: u64,
}

/// Default of `[server] min_free_bytes`: 64 MiB.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

/// One category, with its place in the tree resolved to indexes into [`Categories::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// URL-safe unique key: `/feeds/{slug}.rss`.
    pub slug: String,
    /// Display name (湖南新闻).
    pub name: String,
    /// Index of the parent, if any.
    pub parent: Option<usize>,
    /// Channel description.
    pub description: String,
    /// Other names ingest may use.
    pub aliases: Vec<String>,
    /// Items in this category's feed.
    pub max_items: usize,
    /// Minutes a reader may cache this category's feed.
    pub ttl_minutes: u32,
    /// Language of this category's feed and page, when it differs from the site's.
    pub language: Option<String>,
    /// Indexes of the children, in config order.
    pub children: Vec<usize>,
}

/// The category tree and its one namespace of slugs, names and aliases.
#[derive(Debug, Clone, Default)]
pub struct Categories {
    /// Categories in config order.
    pub list: Vec<Category>,
    /// Every slug, name and alias (folded by [`fold`]) to its category.
    names: HashMap<String, usize>,
}

/// A configuration that cannot be used, with every problem found.
#[derive(Debug)]
pub struct ConfigError {
    /// One line per problem, each naming the file, line, entry and fix.
    pub problems: Vec<String>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid configuration:")?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    site: Spanned<RawSite>,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    ingest: RawIngest,
    #[serde(default)]
    websub: RawWebSub,
    #[serde(default)]
    category: Vec<Spanned<RawCategory>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIngest {
    token_file: Option<String>,
    max_body_bytes: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    title: String,
    #[serde(default)]
    description: String,
    base_url: Spanned<String>,
    #[serde(default = "default_language")]
    language: Spanned<String>,
    #[serde(default = "default_timezone")]
    timezone: Spanned<String>,
    tag_authority: Spanned<String>,
    #[serde(default = "default_max_items")]
    max_items: Spanned<i64>,
    #[serde(default = "default_ttl")]
    ttl_minutes: Spanned<i64>,
    image_base_url: Option<Spanned<String>>,
    logo: Option<Spanned<String>>,
    icon: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
    data_dir: Option<String>,
    shutdown_seconds: Option<Spanned<i64>>,
    min_free_bytes: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    slug: Spanned<String>,
    name: Spanned<String>,
    parent: Option<Spanned<String>>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    #[serde(default = "default_max_items")]
    max_items: Spanned<i64>,
    #[serde(default = "default_ttl")]
    ttl_minutes: Spanned<i64>,
    language: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWebSub {
    #[serde(default)]
    hubs: Vec<Spanned<String>>,
}

fn default_language() -> Spanned<String> {
    Spanned::new(0..0, "zh-CN".into())
}
fn default_timezone() -> Spanned<String> {
    Spanned::new(0..0, "Asia/Shanghai".into())
}
fn default_max_items() -> Spanned<i64> {
    Spanned::new(0..0, 50)
}
fn default_ttl() -> Spanned<i64> {
    Spanned::new(0..0, 30)
}

/// Folds a category name for lookup: trimmed, ASCII case ignored.
pub fn fold(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

impl Config {
    /// Reads and validates the configuration at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError { problems: vec![format!("{}: cannot read: {e}", path.display())] })?;
        Config::parse(&text, path)
    }

    /// Validates configuration text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError { problems: vec![describe_toml_error(path, text, &e)] })?;
        let mut v = Validator { path, text, problems: Vec::new() };
        let site = v.site(raw.site.into_inner());
        let server = v.server(raw.server);
        let ingest = v.ingest(raw.ingest);
        let hubs: Vec<Url> = raw.websub.hubs.iter().filter_map(|h| v.absolute_url(h, "[websub] hubs entry")).collect();
        let categories = v.categories(raw.category);
        if !v.problems.is_empty() {
            return Err(ConfigError { problems: v.problems });
        }
        Ok(Config { path: path.to_path_buf(), site: site.expect("checked"), server, ingest, hubs, categories })
    }

    /// The resolved tree as indented text, for `sihai check-config`.
    pub fn tree_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} <{}> ({}, {}, tag:{})",
            self.site.title, self.site.base_url, self.site.language, self.site.timezone, self.site.tag_authority
        );
        let _ = writeln!(
            out,
            "  all: every article (max_items {}, ttl {} min)",
            self.site.max_items, self.site.ttl_minutes
        );
        for root in self.categories.roots() {
            self.categories.write_subtree(&mut out, root, 1);
        }
        out
    }
}

fn describe_toml_error(path: &Path, text: &str, e: &toml::de::Error) -> String {
    let line = e.span().map(|s| line_of(text, s.start));
    let msg = e.message().trim_end();
    match line {
        Some(l) => format!("{}:{l}: {msg}", path.display()),
        None => format!("{}: {msg}", path.display()),
    }
}

/// 1-based line number of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
    problems: Vec<String>,
}

impl Validator<'_> {
    fn at<T>(&mut self, spanned: &Spanned<T>, msg: String) {
        let span = spanned.span();
        let loc = if span.is_empty() && span.start == 0 {
            format!("{}", self.path.display())
        } else {
            format!("{}:{}", self.path.display(), line_of(self.text, span.start))
        };
        self.problems.push(format!("{loc}: {msg}"));
    }

    fn site(&mut self, raw: RawSite) -> Option<Site> {
        let base_url = self.base_url(&raw.base_url, "base_url");
        let timezone = match raw.timezone.get_ref().parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                let tz = raw.timezone.get_ref().clone();
                self.at(
                    &raw.timezone,
                    format!(
                        "[site] timezone {tz:?} is not an IANA time zone; fix: use a name such as \"Asia/Shanghai\""
                    ),
                );
                None
            }
        };
        if !is_language_tag(raw.language.get_ref()) {
            let l = raw.language.get_ref().clone();
            self.at(
                &raw.language,
                format!("[site] language {l:?} is not a language code; fix: use one such as \"zh-CN\""),
            );
        }
        if !is_tag_authority(raw.tag_authority.get_ref()) {
            let t = raw.tag_authority.get_ref().clone();
            self.at(&raw.tag_authority, format!("[site] tag_authority {t:?} is not an RFC 4151 authority; fix: a lowercase domain you own (or e-mail address) and a date, e.g. \"news.example.com,2026\""));
        }
        if raw.title.trim().is_empty() {
            self.problems.push(format!("{}: [site] title is empty; fix: give the site's name", self.path.display()));
        }
        let max_items = self.count(&raw.max_items, "[site] max_items");
        let ttl_minutes = self.minutes(&raw.ttl_minutes, "[site] ttl_minutes");
        let image_base_url = raw.image_base_url.as_ref().map(|u| self.base_url(u, "image_base_url"));
        let logo = raw.logo.as_ref().map(|u| self.absolute_url(u, "[site] logo"));
        let icon = raw.icon.as_ref().map(|u| self.absolute_url(u, "[site] icon"));
        Some(Site {
            title: raw.title.trim().to_string(),
            description: raw.description.trim().to_string(),
            base_url: base_url?,
            language: raw.language.into_inner(),
            timezone: timezone?,
            tag_authority: raw.tag_authority.into_inner(),
            max_items,
            ttl_minutes,
            image_base_url: match image_base_url {
                Some(u) => Some(u?),
                None => None,
            },
            logo: logo.flatten(),
            icon: icon.flatten(),
        })
    }

    /// An absolute http(s) URL, kept as given (no trailing slash added).
    fn absolute_url(&mut self, raw: &Spanned<String>, key: &str) -> Option<Url> {
        match Url::parse(raw.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(u),
            _ => {
                let t = raw.get_ref().clone();
                self.at(
                    raw,
                    format!(
                        "{key} {t:?} is not an absolute http(s) URL; fix: e.g. \"https://news.example.com/logo.png\""
                    ),
                );
                None
            }
        }
    }

    fn ingest(&mut self, raw: RawIngest) -> Ingest {
        let max_body_bytes = match raw.max_body_bytes {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(n) if *n.get_ref() >= 1024 => *n.get_ref() as u64,
            Some(n) => {
                let v = *n.get_ref();
                self.at(
                    &n,
                    format!("[ingest] max_body_bytes = {v} is too small; fix: at least 1024 (default 10485760)"),
                );
                DEFAULT_MAX_BODY_BYTES
            }
        };
        Ingest { token_file: raw.token_file.map(PathBuf::from), max_body_bytes }
    }

    fn base_url(&mut self, raw: &Spanned<String>, key: &str) -> Option<Url> {
        let text = raw.get_ref();
        let problem = match Url::parse(text) {
            Ok(url) if !matches!(url.scheme(), "http" | "https") => "its scheme must be http or https",
            Ok(url) if url.host_str().is_none() => "it has no host",
            Ok(url) if url.query().is_some() || url.fragment().is_some() => "it must not have a query or fragment",
            Ok(mut url) => {
                if !url.path().ends_with('/') {
                    let p = format!("{}/", url.path());
                    url.set_path(&p);
                }
                return Some(url);
            }
            Err(_) => "it is not an absolute URL",
        };
        self.at(
            raw,
            format!(
                "[site] {key} {text:?}: {problem}; fix: an absolute http(s) URL, e.g. \"https://news.example.com/\""
            ),
        );
        None
    }

    fn count(&mut self, raw: &Spanned<i64>, what: &str) -> usize {
        let n = *raw.get_ref();
        if !(1..=10_000).contains(&n) {
            self.at(raw, format!("{what} = {n} is out of range; fix: a number from 1 to 10000"));
            return 1;
        }
        n as usize
    }

    fn minutes(&mut self, raw: &Spanned<i64>, what: &str) -> u32 {
        let n = *raw.get_ref();
        if !(1..=10_080).contains(&n) {
            self.at(raw, format!("{what} = {n} is out of range; fix: whole minutes from 1 to 10080 (a week)"));
            return 1;
        }
        n as u32
    }

    fn server(&mut self, raw: RawServer) -> Server {
        let listen = match raw.listen {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(s) => match s.get_ref().parse() {
                Ok(a) => a,
                Err(_) => {
                    let l = s.get_ref().clone();
                    self.at(
                        &s,
                        format!("[server] listen {l:?} is not an address; fix: IP:PORT such as \"127.0.0.1:8080\""),
                    );
                    SocketAddr::from(([127, 0, 0, 1], 8080))
                }
            },
        };
        let shutdown_seconds = match raw.shutdown_seconds {
            None => 10,
            Some(s) if (0..=3600).contains(s.get_ref()) => *s.get_ref() as u64,
            Some(s) => {
                let v = *s.get_ref();
                self.at(&s, format!("[server] shutdown_seconds = {v} is out of range; fix: 0 to 3600 (default 10)"));
                10
            }
        };
        let min_free_bytes = match raw.min_free_bytes {
            None => DEFAULT_MIN_FREE_BYTES,
            Some(s) if *s.get_ref() >= 0 => *s.get_ref() as u64,
            Some(s) => {
                self.at(&s, "[server] min_free_bytes must not be negative; fix: bytes, default 67108864".to_string());
                DEFAULT_MIN_FREE_BYTES
            }
        };
        Server {
            listen,
            data_dir: PathBuf::from(raw.data_dir.unwrap_or_else(|| "./data".into())),
            shutdown_seconds,
            min_free_bytes,
        }
    }

    fn categories(&mut self, raw: Vec<Spanned<RawCategory>>) -> Categories {
        let mut cats = Categories::default();
        let mut parents: Vec<Option<Spanned<String>>> = Vec::new();
        for entry in raw {
            let c = entry.into_inner();
            let idx = cats.list.len();
            let slug = c.slug.get_ref().trim().to_string();
            let entry_name = format!("[[category]] {slug:?}");
            if !is_slug(&slug) {
                self.at(&c.slug, format!("{entry_name}: slug must be 1-64 characters of a-z, 0-9 and single dashes inside; fix: e.g. \"hunan\" or \"world-news\""));
            } else if RESERVED_SLUGS.contains(&slug.as_str()) {
                self.at(&c.slug, format!("{entry_name}: slug {slug:?} clashes with the route /feeds/{slug}.rss; fix: choose another slug"));
            }
            let name = c.name.get_ref().trim().to_string();
            if name.is_empty() {
                self.at(&c.name, format!("{entry_name}: name is empty; fix: give its display name"));
            }
            let mut claimed = vec![(c.slug.clone(), "slug"), (c.name.clone(), "name")];
            claimed.extend(c.aliases.iter().map(|a| (a.clone(), "alias")));
            for (value, kind) in claimed {
                let key = fold(value.get_ref());
                if key.is_empty() {
                    self.at(&value, format!("{entry_name}: an empty {kind}; fix: remove it"));
                    continue;
                }
                match cats.names.get(&key) {
                    Some(&other) if other == idx => {
                        if kind == "alias" {
                            self.at(
                                &value,
                                format!(
                                    "{entry_name}: alias {:?} repeats a name of the same category; fix: remove it",
                                    value.get_ref()
                                ),
                            );
                        }
                    }
                    Some(&other) => {
                        let other_slug = cats.list.get(other).map(|o| o.slug.clone()).unwrap_or_default();
                        self.at(&value, format!("{entry_name}: {kind} {:?} already names category {other_slug:?}; fix: every slug, name and alias must name one category", value.get_ref()));
                    }
                    None => {
                        cats.names.insert(key, idx);
                    }
                }
            }
            let max_items = self.count(&c.max_items, &format!("{entry_name} max_items"));
            let ttl_minutes = self.minutes(&c.ttl_minutes, &format!("{entry_name} ttl_minutes"));
            let description = c.description.trim().to_string();
            let language = c.language.as_ref().map(|l| l.get_ref().trim().to_string());
            if let (Some(l), Some(raw)) = (&language, &c.language) {
                if !is_language_tag(l) {
                    self.at(
                        raw,
                        format!("{entry_name}: language {l:?} is not a language code; fix: e.g. \"zh-CN\" or \"en\""),
                    );
                }
            }
            cats.list.push(Category {
                slug,
                name,
                parent: None,
                description,
                aliases: c.aliases.into_iter().map(|a| a.into_inner().trim().to_string()).collect(),
                max_items,
                ttl_minutes,
                language,
                children: Vec::new(),
            });
            parents.push(c.parent);
        }
        self.link_parents(&mut cats, parents);
        cats
    }

    fn link_parents(&mut self, cats: &mut Categories, parents: Vec<Option<Spanned<String>>>) {
        for (idx, parent) in parents.into_iter().enumerate() {
            let Some(parent) = parent else { continue };
            let wanted = parent.get_ref().trim();
            match cats.list.iter().position(|c| c.slug == wanted) {
                Some(p) if p == idx => {
                    let s = cats.list[idx].slug.clone();
                    self.at(&parent, format!("[[category]] {s:?}: parent is the category itself; fix: name another slug or remove parent"));
                }
                Some(p) => {
                    cats.list[idx].parent = Some(p);
                    cats.list[p].children.push(idx);
                }
                None => {
                    let s = cats.list[idx].slug.clone();
                    let hint = match cats.lookup(wanted) {
                        Some(c) => format!("use its slug {:?}", c.slug),
                        None => "parent takes the slug of another [[category]]".into(),
                    };
                    self.at(
                        &parent,
                        format!("[[category]] {s:?}: parent {wanted:?} is not a category slug; fix: {hint}"),
                    );
                }
            }
        }
        for idx in 0..cats.list.len() {
            if let Some(cycle) = cats.cycle_from(idx) {
                if cycle.iter().min() == Some(&idx) {
                    let names: Vec<_> = cycle.iter().map(|&i| cats.list[i].slug.as_str()).collect();
                    self.problems.push(format!(
                        "{}: categories form a cycle of parents: {} -> {}; fix: one of them must have another parent or none",
                        self.path.display(),
                        names.join(" -> "),
                        names[0]
                    ));
                }
            }
        }
    }
}

impl Categories {
    /// The category a slug, name or alias names, if any.
    pub fn lookup(&self, name: &str) -> Option<&Category> {
        self.names.get(&fold(name)).map(|&i| &self.list[i])
    }

    /// Index of the category a slug, name or alias names.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.get(&fold(name)).copied()
    }

    /// The category with exactly this slug.
    pub fn by_slug(&self, slug: &str) -> Option<usize> {
        self.list.iter().position(|c| c.slug == slug)
    }

    /// Indexes of the categories without a parent, in config order.
    pub fn roots(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.list.len()).filter(|&i| self.list[i].parent.is_none())
    }

    /// `idx` and all its descendants, depth first.
    pub fn subtree(&self, idx: usize) -> Vec<usize> {
        let mut out = vec![idx];
        let mut i = 0;
        while i < out.len() {
            out.extend(self.list[out[i]].children.iter().copied());
            i += 1;
        }
        out
    }

    /// `idx`'s ancestors, nearest first.
    pub fn ancestors(&self, idx: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = self.list[idx].parent;
        while let Some(p) = cur {
            if out.contains(&p) || p == idx {
                break; // only reachable on an unvalidated tree
            }
            out.push(p);
            cur = self.list[p].parent;
        }
        out
    }

    /// The path from a root down to `idx`, as display names (`国内资讯 > 湖南新闻`).
    pub fn breadcrumb(&self, idx: usize) -> String {
        let mut path: Vec<&str> = self.ancestors(idx).iter().rev().map(|&i| self.list[i].name.as_str()).collect();
        path.push(&self.list[idx].name);
        path.join(" > ")
    }

    /// Resolves what an article gives as its category: a slug, a name, an alias, or a
    /// breadcrumb `国内资讯 > 湖南新闻` whose last element names the category.
    pub fn resolve(&self, reference: &str) -> Result<usize, String> {
        let parts: Vec<&str> = reference.split(['>', '＞', '»']).map(|p| p.trim()).filter(|p| !p.is_empty()).collect();
        let parts: Vec<&str> = match parts.first() {
            Some(first) if HOME_NAMES.contains(first) => parts[1..].to_vec(),
            _ => parts,
        };
        let Some(last) = parts.last() else {
            return Err(format!("{reference:?} names no category"));
        };
        let Some(idx) = self.index_of(last) else {
            return Err(format!("{last:?} is not a category slug, name or alias"));
        };
        let ancestors = self.ancestors(idx);
        for earlier in &parts[..parts.len() - 1] {
            if let Some(e) = self.index_of(earlier) {
                if !ancestors.contains(&e) {
                    return Err(format!(
                        "in {reference:?}, {earlier:?} is not an ancestor of {last:?} (its place is {})",
                        self.breadcrumb(idx)
                    ));
                }
            }
        }
        Ok(idx)
    }

    fn cycle_from(&self, start: usize) -> Option<Vec<usize>> {
        let mut seen = vec![start];
        let mut cur = self.list[start].parent;
        while let Some(p) = cur {
            if p == start {
                return Some(seen);
            }
            if seen.contains(&p) {
                return None; // a cycle, but not through `start`
            }
            seen.push(p);
            cur = self.list[p].parent;
        }
        None
    }

    fn write_subtree(&self, out: &mut String, idx: usize, depth: usize) {
        let c = &self.list[idx];
        let aliases = if c.aliases.is_empty() { String::new() } else { format!(" aliases: {}", c.aliases.join(", ")) };
        let _ = writeln!(
            out,
            "{:indent$}{}: {} (max_items {}, ttl {} min){aliases}",
            "",
            c.slug,
            c.name,
            c.max_items,
            c.ttl_minutes,
            indent = depth * 2
        );
        for &child in &c.children {
            self.write_subtree(out, child, depth + 1);
        }
    }
}

/// A slug: 1-64 of `a-z0-9`, single dashes inside.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// RFC 4151: `authorityName "," date`, a DNS name or e-mail address and a `YYYY[-MM[-DD]]`;
/// lowercase only, as the W3C validator's tag pattern demands of Atom ids.
fn is_tag_authority(s: &str) -> bool {
    let Some((name, date)) = s.rsplit_once(',') else { return false };
    let dns_ok = |d: &str| {
        !d.is_empty()
            && d.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
    };
    let name_ok = match name.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
                && dns_ok(domain)
        }
        None => dns_ok(name),
    };
    let date_ok = match date.len() {
        4 => chrono::NaiveDate::parse_from_str(&format!("{date}-01-01"), "%Y-%m-%d").is_ok(),
        7 => chrono::NaiveDate::parse_from_str(&format!("{date}-01"), "%Y-%m-%d").is_ok(),
        10 => chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
        _ => false,
    };
    name_ok && date_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[site]
title = "四海资讯"
base_url = "https://news.example.com"
tag_authority = "news.example.com,2026"
"#;

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        Config::parse(&format!("{BASE}{extra}"), Path::new("t.toml"))
    }

    fn err(extra: &str) -> String {
        parse(extra).expect_err("should be invalid").to_string()
    }

    const TREE: &str = r#"
[[category]]
slug = "domestic"
name = "国内资讯"
aliases = ["国内"]
[[category]]
slug = "hunan"
name = "湖南新闻"
parent = "domestic"
[[category]]
slug = "changsha"
name = "长沙"
parent = "hunan"
[[category]]
slug = "world"
name = "国际"
"#;

    #[test]
    fn defaults_apply() {
        let c = parse(TREE).unwrap();
        assert_eq!(c.site.language, "zh-CN");
        assert_eq!(c.site.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(c.site.base_url.as_str(), "https://news.example.com/");
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.categories.list[1].max_items, 50);
        assert_eq!(c.categories.list[1].ttl_minutes, 30);
    }

    #[test]
    fn tree_is_resolved() {
        let c = parse(TREE).unwrap();
        let cats = &c.categories;
        let dom = cats.by_slug("domestic").unwrap();
        assert_eq!(cats.subtree(dom).len(), 3);
        assert_eq!(cats.breadcrumb(cats.by_slug("changsha").unwrap()), "国内资讯 > 湖南新闻 > 长沙");
        assert!(c.tree_text().contains("    hunan: 湖南新闻"));
    }

    #[test]
    fn resolves_every_reference_form() {
        let c = parse(TREE).unwrap();
        let hunan = c.categories.by_slug("hunan").unwrap();
        for r in [
            "hunan",
            "HUNAN",
            "湖南新闻",
            " 湖南新闻 ",
            "国内资讯 > 湖南新闻",
            "首页 > 国内资讯 > 湖南新闻",
            "首页\u{a0}>\u{a0}国内>湖南新闻",
            "其他网站 > 湖南新闻",
        ] {
            assert_eq!(c.categories.resolve(r), Ok(hunan), "{r}");
        }
        assert!(c.categories.resolve("国际 > 湖南新闻").unwrap_err().contains("not an ancestor"));
        assert!(c.categories.resolve("体育").unwrap_err().contains("\"体育\""));
        assert!(c.categories.resolve(" > ").is_err());
    }

    #[test]
    fn every_invalid_config_is_named() {
        let cases: &[(&str, &str)] = &[
            ("[[category]]\nslug = \"a\"\nname = \"A\"\nparent = \"zz\"\n", "parent \"zz\" is not a category slug"),
            ("[[category]]\nslug = \"a\"\nname = \"A\"\nparent = \"b\"\n[[category]]\nslug = \"b\"\nname = \"B\"\nparent = \"a\"\n", "cycle of parents: a -> b -> a"),
            ("[[category]]\nslug = \"a\"\nname = \"A\"\nparent = \"a\"\n", "parent is the category itself"),
            ("[[category]]\nslug = \"a\"\nname = \"A\"\n[[category]]\nslug = \"a\"\nname = \"B\"\n", "slug \"a\" already names category \"a\""),
            ("[[category]]\nslug = \"a\"\nname = \"A\"\n[[category]]\nslug = \"b\"\nname = \"A\"\n", "name \"A\" already names"),
            ("[[category]]\nslug = \"a\"\nname = \"A\"\n[[category]]\nslug = \"b\"\nname = \"B\"\naliases = [\"a\"]\n", "alias \"a\" already names"),
            ("[[category]]\nslug = \"Hu Nan\"\nname = \"A\"\n", "slug must be"),
            ("[[category]]\nslug = \"all\"\nname = \"A\"\n", "clashes with the route"),
            ("[[category]]\nslug = \"a\"\nname = \"A\"\ncolour = \"red\"\n", "unknown field `colour`"),
            ("[[category]]\nslug = \"a\"\nname = \"A\"\nmax_items = 0\n", "max_items = 0 is out of range"),
        ];
        for (extra, want) in cases {
            let e = err(extra);
            assert!(e.contains(want), "{extra}\n=> {e}");
            assert!(e.contains("t.toml:"), "no line in {e}");
        }
    }

    #[test]
    fn site_errors_are_named() {
        let bad = |from: &str, to: &str| {
            Config::parse(&BASE.replace(from, to), Path::new("t.toml")).expect_err("invalid").to_string()
        };
        assert!(bad("https://news.example.com", "news.example.com").contains("t.toml:4: [site] base_url"));
        assert!(bad("https://news.example.com", "ftp://x.example").contains("scheme"));
        assert!(bad("news.example.com,2026", "news example").contains("tag_authority"));
        assert!(bad("news.example.com,2026", "news.example.com,26").contains("tag_authority"));
        let e = Config::parse(&format!("{BASE}timezone = \"Mars/Olympus\"\n"), Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml:6: [site] timezone \"Mars/Olympus\""), "{e}");
        let e = Config::parse(&format!("{BASE}titel = \"x\"\n"), Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("t.toml:6") && e.contains("unknown field `titel`"), "{e}");
        let e = Config::parse("[site\n", Path::new("t.toml")).unwrap_err().to_string();
        assert!(e.contains("t.toml:1"), "{e}");
    }

    #[test]
    fn tag_authorities() {
        for ok in ["sihai.example,2026", "a@b.example,2026-01", "x.example,2026-01-31"] {
            assert!(is_tag_authority(ok), "{ok}");
        }
        for bad in [
            "sihai.example",
            "sihai.example,2026-13",
            ",2026",
            "a b,2026",
            "x.example,2026-02-30",
            "News.example,2026",
            "a+b@x.example,2026",
        ] {
            assert!(!is_tag_authority(bad), "{bad}");
        }
    }
}
