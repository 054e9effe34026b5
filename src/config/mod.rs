//! The configuration: raw TOML in, a validated [`Config`] out.
//!
//! Everything downstream trusts a `Config`: the category tree is resolved once here
//! (parents, children, the one namespace of slugs, names and aliases), so no other module
//! re-checks a slug or walks a parent chain that might loop. Every error names the file,
//! the line where the toml crate gives one, the entry and the fix.
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | the validated types every stage reads ([`Config`], [`Site`], [`Server`], [`Ingest`]) |
//! | `tree.rs` | the category tree used at run time ([`Categories`]: lookups, subtrees, breadcrumbs) |
//! | `schema.rs` | the file's shape: every table, key and kind of value, checked first so one run names every unknown key, wrong type and missing key |
//! | `validate.rs` | the one-time check of the TOML, every problem with its line and fix |
//! | `defaults.rs` | every default and accepted range, once |

mod defaults;
mod schema;
mod tree;
mod validate;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use ipnet::IpNet;
use url::Url;

pub use tree::{fold, Categories, Category};

/// The default place of the configuration, relative to the working directory.
pub const DEFAULT_PATH: &str = "config/sihai.toml";

/// The slug of the whole-site feed (`/feeds/all.rss`): reserved, no category may take it.
pub const SITE_SLUG: &str = "all";

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
    /// The `[log]` table.
    pub log: Log,
    /// The `[metrics]` table.
    pub metrics: Metrics,
    /// The `[stats]` table.
    pub stats: Stats,
}

/// The `[stats]` table: readership counting and who may read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Whether `/stats`, `/stats/{feed}` and `/api/stats/feeds` need a token.
    pub public: bool,
    /// A separate token for the stats (one line); without it, any ingest token reads them.
    pub token_file: Option<PathBuf>,
    /// Seconds between writes of today's counts to the store.
    pub flush_seconds: u64,
    /// Days of daily records kept (older ones summarized per month).
    pub keep_days: u32,
}

/// The `[metrics]` table: who may read `GET /metrics`. A client whose address (as
/// `[server] trusted_proxies` defines it: behind a trusted proxy, the forwarded one) is in
/// `allowed_networks`, or that sends the token of `token_file` as `Authorization: Bearer`.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Networks whose clients may scrape without a token (default loopback only; empty:
    /// none).
    pub allowed_networks: Vec<IpNet>,
    /// A file holding the scrape token (one line); without it, only `allowed_networks`.
    pub token_file: Option<PathBuf>,
}

/// The `[log]` table: what the log holds and how it is written (`SIHAI_LOG` and
/// `SIHAI_LOG_FORMAT` override it).
#[derive(Debug, Clone, PartialEq)]
pub struct Log {
    /// A filter: a level (`info`) or directives (`sihai=debug,hyper=info`).
    pub level: String,
    /// Text lines, or one JSON object a line.
    pub format: LogFormat,
    /// One access line for every this many ready 200/304 answers (1: every request).
    pub ready_hits_every: u64,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (colour only on a terminal).
    Text,
    /// One JSON object a line, for log shippers.
    Json,
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
    /// The converter of the Traditional Chinese edition (`/zh-hant/...`); `None`: the
    /// site has none. Readers in Taiwan, Hong Kong and abroad read Traditional script.
    pub traditional: Option<Traditional>,
}

/// An OpenCC conversion from Simplified to Traditional Chinese, phrase-level where OpenCC
/// has one (`[site] traditional`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Traditional {
    /// Taiwan standard with Taiwan phrases (软件 -> 軟體, 网络 -> 網路): `zh-TW`.
    S2twp,
    /// Hong Kong variants: `zh-HK`.
    S2hk,
    /// OpenCC's standard Traditional characters and phrases, no regional vocabulary:
    /// `zh-Hant`.
    S2t,
}

impl Traditional {
    /// Every converter, in the order messages list them.
    pub const ALL: [Traditional; 3] = [Traditional::S2twp, Traditional::S2hk, Traditional::S2t];

    /// Its name in the config (OpenCC's own).
    pub fn name(self) -> &'static str {
        match self {
            Traditional::S2twp => "s2twp",
            Traditional::S2hk => "s2hk",
            Traditional::S2t => "s2t",
        }
    }

    /// The converter a config names.
    pub fn from_name(name: &str) -> Option<Traditional> {
        Traditional::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The language tag of what it writes: feeds' `language`, pages' `lang`.
    pub fn language(self) -> &'static str {
        match self {
            Traditional::S2twp => "zh-TW",
            Traditional::S2hk => "zh-HK",
            Traditional::S2t => "zh-Hant",
        }
    }
}

/// The `[ingest]` table: who may write, and how much at once.
#[derive(Debug, Clone)]
pub struct Ingest {
    /// File of accepted tokens, one a line (`#` comments); relative to the working directory.
    pub token_file: Option<PathBuf>,
    /// Largest request body the API reads.
    pub max_body_bytes: u64,
    /// Write requests one token may make in a minute; 0: no limit.
    pub requests_per_minute: u32,
    /// What one article or request may hold.
    pub content: ContentLimits,
}

/// The `[ingest]` limits on what one article or one request may hold: each bounds a
/// cost that grew with hostile input (nesting, repeated lists, huge fields, huge arrays).
#[derive(Debug, Clone)]
pub struct ContentLimits {
    /// Articles one API request may carry.
    pub max_articles_per_request: usize,
    /// How deeply `content_html` may nest elements.
    pub max_html_depth: usize,
    /// Authors per article.
    pub max_authors: usize,
    /// Tags per article.
    pub max_tags: usize,
    /// Categories per article.
    pub max_categories: usize,
    /// Characters of a title.
    pub max_title_chars: usize,
    /// Characters of a summary.
    pub max_summary_chars: usize,
    /// Characters of an author's name or a tag.
    pub max_name_chars: usize,
}

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
    /// What one client may make the daemon hold or do.
    pub limits: Limits,
}

/// The `[server]` limits that keep hostile clients from holding the daemon: timeouts,
/// connection caps, which peers may say who the client is, failed-token throttling, and
/// the memory ceiling of ready representations.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// A request's header must arrive within this.
    pub header_timeout: Duration,
    /// A connection with no request in flight and nothing sent for this long is closed.
    pub idle_timeout: Duration,
    /// A request body must arrive whole within this.
    pub body_timeout: Duration,
    /// A client that accepts no byte of its response for this long is dropped.
    pub write_timeout: Duration,
    /// Open connections at once (before the file-descriptor limit is applied).
    pub max_connections: usize,
    /// Open connections from one client address.
    pub max_connections_per_address: usize,
    /// Peers whose `Forwarded` / `X-Forwarded-For` name the client (a proxy in front).
    pub trusted_proxies: Vec<IpNet>,
    /// Failed authentications one address may make in a minute before 429.
    pub auth_failures_per_minute: u32,
    /// The most bytes of ready representations kept at once.
    pub cache_bytes: u64,
}

/// A configuration that cannot be used, with every problem found.
#[derive(Debug)]
pub struct ConfigError {
    /// One line per problem, each naming the file, line, entry and fix.
    pub problems: Vec<String>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.problems.len();
        write!(f, "invalid configuration ({n} problem{}):", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The settings that differ between `self` (running) and `new` but take effect only at
    /// a restart: the socket, the store, the server's limits (but `cache_bytes`), the write
    /// rate's buckets, the log's subscriber and the WebSub worker. A reload applies the
    /// rest and names these in the log.
    pub fn needs_restart(&self, new: &Config) -> Vec<&'static str> {
        let (old_s, new_s) = (&self.server, &new.server);
        let limits = |l: &Limits| Limits { cache_bytes: 0, ..l.clone() };
        let checks = [
            ("[server] listen", old_s.listen != new_s.listen),
            ("[server] data_dir", old_s.data_dir != new_s.data_dir),
            ("[server] shutdown_seconds", old_s.shutdown_seconds != new_s.shutdown_seconds),
            (
                "[server] limits (timeouts, connection caps, trusted_proxies, auth_failures_per_minute)",
                limits(&old_s.limits) != limits(&new_s.limits),
            ),
            ("[ingest] requests_per_minute", self.ingest.requests_per_minute != new.ingest.requests_per_minute),
            ("[log]", self.log != new.log),
            ("[websub] hubs", self.hubs != new.hubs),
            ("[stats] flush_seconds", self.stats.flush_seconds != new.stats.flush_seconds),
        ];
        checks.into_iter().filter(|(_, changed)| *changed).map(|(key, _)| key).collect()
    }

    /// `self` (a reloaded config) with the settings of [`Config::needs_restart`] kept at
    /// their `running` values, so that what is served says what is in effect.
    pub fn keeping_restart_settings(mut self, running: &Config) -> Config {
        let cache_bytes = self.server.limits.cache_bytes;
        self.server = Server { min_free_bytes: self.server.min_free_bytes, ..running.server.clone() };
        self.server.limits.cache_bytes = cache_bytes;
        self.ingest.requests_per_minute = running.ingest.requests_per_minute;
        self.log = running.log.clone();
        self.hubs = running.hubs.clone();
        self.stats.flush_seconds = running.stats.flush_seconds;
        self
    }

    /// Reads and validates the configuration at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError { problems: vec![format!("{}: cannot read: {e}", path.display())] })?;
        Config::parse(&text, path)
    }

    /// Validates configuration text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        validate::validate(text, path)
    }

    /// The resolved tree as indented text, for `sihai check-config`.
    pub fn tree_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} <{}> ({}, {}, tag:{})",
            self.site.title, self.site.base_url, self.site.language, self.site.timezone, self.site.tag_authority
        );
        if let Some(t) = self.site.traditional {
            let _ = writeln!(
                out,
                "  Traditional Chinese edition: {}zh-hant/ ({}, {})",
                self.site.base_url,
                t.name(),
                t.language()
            );
        }
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

#[cfg(test)]
mod tests;

/// A small config for unit tests anywhere in sihai: a tree shaped like the portal's
/// (国内资讯 > 湖南新闻 > 长沙, and 国际资讯) under a test base URL. Never the shipped file,
/// so a deployment's edit cannot break a unit test.
#[cfg(test)]
pub fn for_tests() -> Config {
    const TEXT: &str = r#"
[site]
title = "测试站"
base_url = "https://sihai.test/news/"
tag_authority = "sihai.test,2026"

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
name = "国际资讯"
aliases = ["国际"]
"#;
    Config::parse(TEXT, Path::new("for_tests.toml")).expect("the test config is valid")
}
