//! Checking a config: raw TOML (with spans for line numbers) -> the validated types, or
//! every problem found, each as `FILE:LINE: what is wrong; fix: ...`. Runs once at
//! start; nothing downstream re-checks.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use ipnet::IpNet;
use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;
use url::Url;

use super::defaults::{self, IntSetting};
use super::schema;
use super::tree::{fold, Categories, Category};
use super::{
    Config, ConfigError, ContentLimits, Ingest, Limits, Log, LogFormat, Metrics, Server, Site, Stats, Traditional,
    SITE_SLUG,
};
use crate::text::line_of;

/// Slugs that name routes rather than categories (`/feeds/all.rss`, `/feeds/tag/{tag}.rss`,
/// `/feeds/author/{name}.rss`; `feed::urls::TAG` and `AUTHOR`, spelt here since config
/// imports no later stage).
const RESERVED_SLUGS: &[&str] = &[SITE_SLUG, "tag", "author"];

/// Validates configuration text; `path` is only used in messages. Every problem is
/// collected: the file's shape first (unknown keys, wrong kinds of value, missing keys:
/// [`schema::check`]), then each value that is left, then the category tree; the list is
/// sorted by line.
pub(super) fn validate(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        // Not TOML: what the parser recovered is no basis for further messages.
        let mut problems: Vec<(usize, String)> = syntax
            .iter()
            .map(|e| (e.span().map_or(0, |s| line_of(text, s.start)), e.message().trim_end().to_string()))
            .collect();
        problems.sort_by_key(|(line, _)| *line);
        problems.dedup();
        return Err(ConfigError { problems: located(path, problems) });
    }
    let (root, found) = schema::check(text, root);
    let mut v = Validator { text, problems: Vec::new() };
    for (span, msg) in found {
        v.at_span(span, msg);
    }
    let raw = match RawConfig::deserialize(toml::de::Deserializer::from(root)) {
        Ok(raw) => raw,
        Err(e) => {
            // The shape check leaves nothing serde refuses; should it miss a case, its
            // message still names the line.
            v.at_span(e.span().unwrap_or(0..0), e.message().trim_end().to_string());
            return Err(v.finish(path));
        }
    };
    let site = v.site(raw.site.into_inner());
    let server = v.server(raw.server);
    let ingest = v.ingest(raw.ingest);
    let hubs: Vec<Url> = raw.websub.hubs.iter().filter_map(|h| v.absolute_url(h, "[websub] hubs entry")).collect();
    let categories = v.categories(raw.category);
    let log = v.log(raw.log);
    let metrics = v.metrics(raw.metrics);
    let stats = v.stats(raw.stats);
    match site {
        Some(site) if v.problems.is_empty() => {
            Ok(Config { path: path.to_path_buf(), site, server, ingest, hubs, categories, log, metrics, stats })
        }
        _ => Err(v.finish(path)),
    }
}

/// `FILE:LINE: problem` (`FILE: problem` for line 0, the whole file).
fn located(path: &Path, problems: Vec<(usize, String)>) -> Vec<String> {
    problems
        .into_iter()
        .map(|(line, msg)| match line {
            0 => format!("{}: {msg}", path.display()),
            l => format!("{}:{l}: {msg}", path.display()),
        })
        .collect()
}

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
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    stats: RawStats,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStats {
    access: Option<Spanned<String>>,
    token_file: Option<String>,
    flush_seconds: Option<Spanned<i64>>,
    keep_days: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    allowed_networks: Option<Vec<Spanned<String>>>,
    token_file: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: Option<Spanned<String>>,
    format: Option<Spanned<String>>,
    ready_hits_every: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIngest {
    token_file: Option<String>,
    max_body_bytes: Option<Spanned<i64>>,
    requests_per_minute: Option<Spanned<i64>>,
    max_articles_per_request: Option<Spanned<i64>>,
    max_html_depth: Option<Spanned<i64>>,
    max_authors: Option<Spanned<i64>>,
    max_tags: Option<Spanned<i64>>,
    max_categories: Option<Spanned<i64>>,
    max_title_chars: Option<Spanned<i64>>,
    max_summary_chars: Option<Spanned<i64>>,
    max_name_chars: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    title: Spanned<String>,
    #[serde(default)]
    description: String,
    base_url: Spanned<String>,
    #[serde(default = "default_language")]
    language: Spanned<String>,
    #[serde(default = "default_timezone")]
    timezone: Spanned<String>,
    tag_authority: Spanned<String>,
    max_items: Option<Spanned<i64>>,
    ttl_minutes: Option<Spanned<i64>>,
    image_base_url: Option<Spanned<String>>,
    logo: Option<Spanned<String>>,
    icon: Option<Spanned<String>>,
    traditional: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
    data_dir: Option<String>,
    shutdown_seconds: Option<Spanned<i64>>,
    min_free_bytes: Option<Spanned<i64>>,
    header_timeout_seconds: Option<Spanned<i64>>,
    idle_timeout_seconds: Option<Spanned<i64>>,
    body_timeout_seconds: Option<Spanned<i64>>,
    write_timeout_seconds: Option<Spanned<i64>>,
    max_connections: Option<Spanned<i64>>,
    max_connections_per_address: Option<Spanned<i64>>,
    #[serde(default)]
    trusted_proxies: Vec<Spanned<String>>,
    auth_failures_per_minute: Option<Spanned<i64>>,
    cache_bytes: Option<Spanned<i64>>,
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
    max_items: Option<Spanned<i64>>,
    ttl_minutes: Option<Spanned<i64>>,
    language: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWebSub {
    #[serde(default)]
    hubs: Vec<Spanned<String>>,
}

fn default_language() -> Spanned<String> {
    Spanned::new(0..0, defaults::LANGUAGE.into())
}
fn default_timezone() -> Spanned<String> {
    Spanned::new(0..0, defaults::TIMEZONE.into())
}

struct Validator<'a> {
    text: &'a str,
    /// Each problem with its line (0: the whole file).
    problems: Vec<(usize, String)>,
}

impl Validator<'_> {
    fn at<T>(&mut self, spanned: &Spanned<T>, msg: String) {
        self.at_span(spanned.span(), msg);
    }

    fn at_span(&mut self, span: std::ops::Range<usize>, msg: String) {
        let line = if span.is_empty() && span.start == 0 { 0 } else { line_of(self.text, span.start) };
        self.problems.push((line, msg));
    }

    /// Every problem, in the order of the file (the whole file's first).
    fn finish(mut self, path: &Path) -> ConfigError {
        self.problems.sort_by_key(|(line, _)| *line);
        ConfigError { problems: located(path, self.problems) }
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
        if raw.title.get_ref().trim().is_empty() {
            self.at(&raw.title, "[site] title is empty; fix: give the site's name".into());
        }
        let max_items = self.int(raw.max_items.as_ref(), &defaults::MAX_ITEMS, "[site]") as usize;
        let ttl_minutes = self.int(raw.ttl_minutes.as_ref(), &defaults::TTL_MINUTES, "[site]") as u32;
        let image_base_url = raw.image_base_url.as_ref().map(|u| self.base_url(u, "image_base_url"));
        let logo = raw.logo.as_ref().map(|u| self.absolute_url(u, "[site] logo"));
        let icon = raw.icon.as_ref().map(|u| self.absolute_url(u, "[site] icon"));
        let traditional = self.traditional(raw.traditional.as_ref(), raw.language.get_ref());
        Some(Site {
            title: raw.title.get_ref().trim().to_string(),
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
            traditional,
        })
    }

    /// `[site] traditional`: a converter, `"off"`, or (absent) the default of the site's
    /// language: on for Chinese sites.
    fn traditional(&mut self, raw: Option<&Spanned<String>>, language: &str) -> Option<Traditional> {
        let Some(raw) = raw else {
            let chinese = language == "zh" || language.to_ascii_lowercase().starts_with("zh-");
            return if chinese { Traditional::from_name(defaults::TRADITIONAL) } else { None };
        };
        let value = raw.get_ref().trim();
        if value == defaults::TRADITIONAL_OFF {
            return None;
        }
        let found = Traditional::from_name(value);
        if found.is_none() {
            let names: Vec<&str> = Traditional::ALL.iter().map(|t| t.name()).collect();
            self.at(
                raw,
                format!(
                    "[site] traditional {value:?} is not a converter; fix: one of {}, or \"{}\" (default {:?} for a Chinese site)",
                    names.join(", "),
                    defaults::TRADITIONAL_OFF,
                    defaults::TRADITIONAL
                ),
            );
        }
        found
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

    fn log(&mut self, raw: RawLog) -> Log {
        let level = raw.level.as_ref().map_or(defaults::LOG_LEVEL.to_string(), |l| l.get_ref().trim().to_string());
        if let Some(l) = &raw.level {
            if tracing_subscriber::EnvFilter::try_new(&level).is_err() || level.is_empty() {
                let msg = format!("[log] level {level:?} is not a level or filter; fix: one of error, warn, info, debug, trace, or directives such as \"sihai=debug,hyper=info\" (default {:?})", defaults::LOG_LEVEL);
                self.at(l, msg);
            }
        }
        let format = match raw.format.as_ref().map(|f| f.get_ref().as_str()) {
            None => {
                if defaults::LOG_FORMAT == "json" {
                    LogFormat::Json
                } else {
                    LogFormat::Text
                }
            }
            Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                let msg = format!(
                    "[log] format {other:?} is not a format; fix: \"text\" or \"json\" (default {:?})",
                    defaults::LOG_FORMAT
                );
                self.at(raw.format.as_ref().expect("some"), msg);
                LogFormat::Text
            }
        };
        let ready_hits_every = self.int(raw.ready_hits_every.as_ref(), &defaults::READY_HITS_EVERY, "[log]") as u64;
        Log { level, format, ready_hits_every }
    }

    fn ingest(&mut self, raw: RawIngest) -> Ingest {
        let max_body_bytes = self.int(raw.max_body_bytes.as_ref(), &defaults::MAX_BODY_BYTES, "[ingest]") as u64;
        let requests_per_minute =
            self.int(raw.requests_per_minute.as_ref(), &defaults::REQUESTS_PER_MINUTE, "[ingest]") as u32;
        let content = self.content_limits(&raw);
        Ingest { token_file: raw.token_file.map(PathBuf::from), max_body_bytes, requests_per_minute, content }
    }

    fn content_limits(&mut self, raw: &RawIngest) -> ContentLimits {
        let mut count = |value: &Option<Spanned<i64>>, setting| self.int(value.as_ref(), setting, "[ingest]") as usize;
        ContentLimits {
            max_articles_per_request: count(&raw.max_articles_per_request, &defaults::MAX_ARTICLES_PER_REQUEST),
            max_html_depth: count(&raw.max_html_depth, &defaults::MAX_HTML_DEPTH),
            max_authors: count(&raw.max_authors, &defaults::MAX_AUTHORS),
            max_tags: count(&raw.max_tags, &defaults::MAX_TAGS),
            max_categories: count(&raw.max_categories, &defaults::MAX_CATEGORIES),
            max_title_chars: count(&raw.max_title_chars, &defaults::MAX_TITLE_CHARS),
            max_summary_chars: count(&raw.max_summary_chars, &defaults::MAX_SUMMARY_CHARS),
            max_name_chars: count(&raw.max_name_chars, &defaults::MAX_NAME_CHARS),
        }
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

    /// The value of a whole-number setting of `table` (`[site]`, `[[category]] "x"`): its
    /// default when absent; out of its range, a problem and the default.
    fn int(&mut self, raw: Option<&Spanned<i64>>, setting: &IntSetting, table: &str) -> i64 {
        let Some(raw) = raw else { return setting.default };
        let n = *raw.get_ref();
        if !setting.range.contains(&n) {
            let (key, fix, default) = (setting.key, setting.fix, setting.default);
            self.at(raw, format!("{table} {key} = {n} is out of range; fix: {fix} (default {default})"));
            return setting.default;
        }
        n
    }

    fn server(&mut self, raw: RawServer) -> Server {
        let default_listen: SocketAddr = defaults::LISTEN.parse().expect("the default listen address parses");
        let listen = match &raw.listen {
            None => default_listen,
            Some(s) => match s.get_ref().parse() {
                Ok(a) => a,
                Err(_) => {
                    let l = s.get_ref().clone();
                    let fix = defaults::LISTEN;
                    self.at(s, format!("[server] listen {l:?} is not an address; fix: IP:PORT such as {fix:?}"));
                    default_listen
                }
            },
        };
        let shutdown_seconds = self.int(raw.shutdown_seconds.as_ref(), &defaults::SHUTDOWN_SECONDS, "[server]") as u64;
        let min_free_bytes = self.int(raw.min_free_bytes.as_ref(), &defaults::MIN_FREE_BYTES, "[server]") as u64;
        let limits = self.limits(&raw);
        Server {
            listen,
            data_dir: PathBuf::from(raw.data_dir.unwrap_or_else(|| defaults::DATA_DIR.into())),
            shutdown_seconds,
            min_free_bytes,
            limits,
        }
    }

    fn limits(&mut self, raw: &RawServer) -> Limits {
        let mut seconds = |value: &Option<Spanned<i64>>, setting| {
            Duration::from_secs(self.int(value.as_ref(), setting, "[server]") as u64)
        };
        let header_timeout = seconds(&raw.header_timeout_seconds, &defaults::HEADER_TIMEOUT);
        let idle_timeout = seconds(&raw.idle_timeout_seconds, &defaults::IDLE_TIMEOUT);
        let body_timeout = seconds(&raw.body_timeout_seconds, &defaults::BODY_TIMEOUT);
        let write_timeout = seconds(&raw.write_timeout_seconds, &defaults::WRITE_TIMEOUT);
        let server = "[server]";
        Limits {
            header_timeout,
            idle_timeout,
            body_timeout,
            write_timeout,
            max_connections: self.int(raw.max_connections.as_ref(), &defaults::MAX_CONNECTIONS, server) as usize,
            max_connections_per_address: self.int(
                raw.max_connections_per_address.as_ref(),
                &defaults::MAX_CONNECTIONS_PER_ADDRESS,
                server,
            ) as usize,
            trusted_proxies: raw
                .trusted_proxies
                .iter()
                .filter_map(|p| self.network(p, "[server] trusted_proxies"))
                .collect(),
            auth_failures_per_minute: self.int(
                raw.auth_failures_per_minute.as_ref(),
                &defaults::AUTH_FAILURES_PER_MINUTE,
                server,
            ) as u32,
            cache_bytes: self.int(raw.cache_bytes.as_ref(), &defaults::CACHE_BYTES, server) as u64,
        }
    }

    /// The `[metrics]` table: who may scrape `/metrics`.
    fn metrics(&mut self, raw: RawMetrics) -> Metrics {
        let allowed_networks = match &raw.allowed_networks {
            None => defaults::METRICS_ALLOWED_NETWORKS.iter().filter_map(|n| n.parse().ok()).collect(),
            Some(list) => list.iter().filter_map(|n| self.network(n, "[metrics] allowed_networks")).collect(),
        };
        Metrics { allowed_networks, token_file: raw.token_file.map(PathBuf::from) }
    }

    /// The `[stats]` table.
    fn stats(&mut self, raw: RawStats) -> Stats {
        let public = match raw.access.as_ref().map(|a| a.get_ref().as_str()) {
            None | Some("token") => false,
            Some("public") => true,
            Some(other) => {
                let msg = format!(
                    "[stats] access {other:?} is not an access rule; fix: \"token\" (an ingest token or [stats] token_file) or \"public\" (default {:?})",
                    defaults::STATS_ACCESS
                );
                if let Some(a) = &raw.access {
                    self.at(a, msg);
                }
                false
            }
        };
        Stats {
            public,
            token_file: raw.token_file.map(PathBuf::from),
            flush_seconds: self.int(raw.flush_seconds.as_ref(), &defaults::STATS_FLUSH_SECONDS, "[stats]") as u64,
            keep_days: self.int(raw.keep_days.as_ref(), &defaults::STATS_KEEP_DAYS, "[stats]") as u32,
        }
    }

    /// An address (`10.0.0.5`, `::1`) or CIDR range (`10.0.0.0/8`) of the list `key`.
    fn network(&mut self, raw: &Spanned<String>, key: &str) -> Option<IpNet> {
        let text = raw.get_ref().trim();
        if let Ok(net) = text.parse::<IpNet>() {
            return Some(net.trunc());
        }
        if let Ok(addr) = text.parse::<std::net::IpAddr>() {
            return Some(IpNet::from(addr));
        }
        self.at(
            raw,
            format!("{key} entry {text:?} is not an address or CIDR range; fix: e.g. \"127.0.0.1\" or \"10.0.0.0/8\""),
        );
        None
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
                self.at(&c.slug, format!("{entry_name}: slug {slug:?} clashes with the routes /feeds/{slug}.rss and /feeds/{slug}/...; fix: choose another slug"));
            }
            let name = c.name.get_ref().trim().to_string();
            if name.is_empty() {
                self.at(&c.name, format!("{entry_name}: name is empty; fix: give its display name"));
            }
            self.claim_names(&mut cats, &c, idx, &entry_name);
            let max_items = self.int(c.max_items.as_ref(), &defaults::MAX_ITEMS, &entry_name) as usize;
            let ttl_minutes = self.int(c.ttl_minutes.as_ref(), &defaults::TTL_MINUTES, &entry_name) as u32;
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

    /// Claims the category's slug, name and aliases in the tree's one namespace: each may
    /// name one category only.
    fn claim_names(&mut self, cats: &mut Categories, c: &RawCategory, idx: usize, entry_name: &str) {
        let mut claimed = vec![(&c.slug, "slug"), (&c.name, "name")];
        claimed.extend(c.aliases.iter().map(|a| (a, "alias")));
        for (value, kind) in claimed {
            let key = fold(value.get_ref());
            if key.is_empty() {
                self.at(value, format!("{entry_name}: an empty {kind}; fix: remove it"));
                continue;
            }
            match cats.claim(key, idx) {
                None => {}
                Some(other) if other == idx && kind == "alias" => {
                    let msg = format!(
                        "{entry_name}: alias {:?} repeats a name of the same category; fix: remove it",
                        value.get_ref()
                    );
                    self.at(value, msg);
                }
                Some(other) if other == idx => {}
                Some(other) => {
                    let other_slug = cats.list.get(other).map(|o| o.slug.clone()).unwrap_or_default();
                    self.at(value, format!("{entry_name}: {kind} {:?} already names category {other_slug:?}; fix: every slug, name and alias must name one category", value.get_ref()));
                }
            }
        }
    }

    fn link_parents(&mut self, cats: &mut Categories, parents: Vec<Option<Spanned<String>>>) {
        let parent_spans: Vec<_> = parents.iter().map(|p| p.as_ref().map(Spanned::span)).collect();
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
                    // Named at the first member's `parent` line; the others' lines in the text.
                    let names: Vec<_> = cycle.iter().map(|&i| cats.list[i].slug.as_str()).collect();
                    let lines: Vec<String> = cycle
                        .iter()
                        .filter_map(|&i| parent_spans[i].clone().map(|s| (i, s)))
                        .map(|(i, s)| format!("{:?} on line {}", cats.list[i].slug, line_of(self.text, s.start)))
                        .collect();
                    let msg = format!(
                        "[[category]] {:?}: parent makes a cycle of parents: {} -> {} (the parent keys: {}); fix: one of them must have another parent or none",
                        names[0],
                        names.join(" -> "),
                        names[0],
                        lines.join(", ")
                    );
                    self.at_span(parent_spans[idx].clone().unwrap_or(0..0), msg);
                }
            }
        }
    }
}

/// A slug: 1-64 of `a-z0-9`, single dashes inside.
fn is_slug(s: &str) -> bool {
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
pub(super) fn is_tag_authority(s: &str) -> bool {
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

/// The fields serde reads for a table (`""`: the top level), for the test that holds
/// [`schema::TABLES`] to the `Raw*` structs: a deserializer that records the field list
/// serde passes to `deserialize_struct`.
#[cfg(test)]
pub(super) fn serde_fields(table: &str) -> Vec<&'static str> {
    use serde::de::{self, Visitor};

    #[derive(Debug)]
    struct Fields(Vec<&'static str>);
    impl std::fmt::Display for Fields {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }
    impl std::error::Error for Fields {}
    impl de::Error for Fields {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Fields(Vec::new())
        }
    }
    struct Capture;
    impl<'de> de::Deserializer<'de> for Capture {
        type Error = Fields;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fields> {
            Err(Fields(Vec::new()))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Fields> {
            Err(Fields(fields.to_vec()))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let fields = match table {
        "" => RawConfig::deserialize(Capture).err(),
        "site" => RawSite::deserialize(Capture).err(),
        "server" => RawServer::deserialize(Capture).err(),
        "ingest" => RawIngest::deserialize(Capture).err(),
        "websub" => RawWebSub::deserialize(Capture).err(),
        "log" => RawLog::deserialize(Capture).err(),
        "metrics" => RawMetrics::deserialize(Capture).err(),
        "stats" => RawStats::deserialize(Capture).err(),
        "category" => RawCategory::deserialize(Capture).err(),
        _ => None,
    };
    fields.map(|f| f.0).unwrap_or_default()
}
