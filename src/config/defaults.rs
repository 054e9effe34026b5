//! Every setting that has a default, written once: its key, its default, and what it
//! accepts (miniflux's table of key, default and validator). The validator reads its
//! defaults and ranges from here and its messages name them from here, so a default
//! changes in one line.

use std::ops::RangeInclusive;

/// A whole-number setting: where it lives, its default and the values it accepts.
pub struct IntSetting {
    /// The key as messages name it (`max_items`; the table is added where it is checked).
    pub key: &'static str,
    /// Its value when the config does not give one.
    pub default: i64,
    /// The values it accepts.
    pub range: RangeInclusive<i64>,
    /// What to write instead, for the message of a value out of range.
    pub fix: &'static str,
}

/// `[site] max_items` and `[[category]] max_items`: items in a feed.
pub const MAX_ITEMS: IntSetting =
    IntSetting { key: "max_items", default: 50, range: 1..=10_000, fix: "a number from 1 to 10000" };
/// `[site] ttl_minutes` and `[[category]] ttl_minutes`: minutes a reader may cache a feed.
pub const TTL_MINUTES: IntSetting =
    IntSetting { key: "ttl_minutes", default: 30, range: 1..=10_080, fix: "whole minutes from 1 to 10080 (a week)" };
/// `[server] shutdown_seconds`: how long in-flight requests may run after SIGTERM/SIGINT.
pub const SHUTDOWN_SECONDS: IntSetting =
    IntSetting { key: "shutdown_seconds", default: 10, range: 0..=3600, fix: "seconds from 0 to 3600" };
/// `[server] min_free_bytes`: free disk space writes always leave (64 MiB).
pub const MIN_FREE_BYTES: IntSetting =
    IntSetting { key: "min_free_bytes", default: 64 * 1024 * 1024, range: 0..=i64::MAX, fix: "bytes, 0 or more" };
/// `[ingest] max_body_bytes`: the largest request body the API reads (10 MiB).
pub const MAX_BODY_BYTES: IntSetting =
    IntSetting { key: "max_body_bytes", default: 10 * 1024 * 1024, range: 1024..=i64::MAX, fix: "at least 1024" };

/// `[server] header_timeout_seconds`: a request's header must arrive within this.
/// hyper counts the wait for the next request on a kept-alive HTTP/1 connection as header
/// time, so it also bounds that wait. nginx: `client_header_timeout` 60 s.
pub const HEADER_TIMEOUT: IntSetting =
    IntSetting { key: "header_timeout_seconds", default: 20, range: 1..=60, fix: "seconds from 1 to 60" };
/// `[server] idle_timeout_seconds`: a connection with no request in flight and nothing
/// sent for this long is closed (HTTP/2 included). nginx: `keepalive_timeout` 75 s.
pub const IDLE_TIMEOUT: IntSetting =
    IntSetting { key: "idle_timeout_seconds", default: 60, range: 1..=75, fix: "seconds from 1 to 75" };
/// `[server] body_timeout_seconds`: a request body must arrive whole within this.
/// nginx: `client_body_timeout` 60 s (between reads; here for the whole body).
pub const BODY_TIMEOUT: IntSetting =
    IntSetting { key: "body_timeout_seconds", default: 60, range: 1..=60, fix: "seconds from 1 to 60" };
/// `[server] write_timeout_seconds`: a client that accepts no byte of its response for
/// this long is dropped. nginx: `send_timeout` 60 s.
pub const WRITE_TIMEOUT: IntSetting =
    IntSetting { key: "write_timeout_seconds", default: 60, range: 1..=60, fix: "seconds from 1 to 60" };
/// `[server] max_connections`: open connections at once (lowered to fit the process's
/// file-descriptor limit at start).
pub const MAX_CONNECTIONS: IntSetting =
    IntSetting { key: "max_connections", default: 2048, range: 2..=1_000_000, fix: "a number from 2 to 1000000" };
/// `[server] max_connections_per_address`: open connections from one client address.
pub const MAX_CONNECTIONS_PER_ADDRESS: IntSetting = IntSetting {
    key: "max_connections_per_address",
    default: 64,
    range: 1..=1_000_000,
    fix: "a number from 1 to 1000000",
};
/// `[server] auth_failures_per_minute`: failed authentications one client address may make
/// in a minute before it is answered 429 until the minute is over.
pub const AUTH_FAILURES_PER_MINUTE: IntSetting =
    IntSetting { key: "auth_failures_per_minute", default: 30, range: 1..=100_000, fix: "a number from 1 to 100000" };
/// `[server] cache_bytes`: the most bytes of ready representations (feeds, pages,
/// archives, `?limit` variants, their codings) kept at once; least recently used out first.
pub const CACHE_BYTES: IntSetting = IntSetting {
    key: "cache_bytes",
    default: 256 * 1024 * 1024,
    range: 1024 * 1024..=i64::MAX,
    fix: "bytes, at least 1048576",
};
/// `[ingest] requests_per_minute`: write requests one token may make in a minute (0: no
/// limit, the default: publishing systems are trusted with their own tokens).
pub const REQUESTS_PER_MINUTE: IntSetting = IntSetting {
    key: "requests_per_minute",
    default: 0,
    range: 0..=1_000_000,
    fix: "a number from 0 (no limit) to 1000000",
};

/// `[ingest] max_articles_per_request`: articles one API request may carry. A write costs
/// about 14 KB of memory per article besides its bytes (measured: 1,000 small articles
/// +14.5 MB, 10,000 +142 MB, 50,000 +600 MB), so the bound is on the count; `sihai ingest`
/// sends 1,000.
pub const MAX_ARTICLES_PER_REQUEST: IntSetting = IntSetting {
    key: "max_articles_per_request",
    default: 2_000,
    range: 1..=1_000_000,
    fix: "a number from 1 to 1000000",
};
/// `[ingest] max_html_depth`: how deeply `content_html` may nest elements (100,000 nested
/// `<div>` took over a minute of CPU to sanitize; real articles nest a dozen deep).
pub const MAX_HTML_DEPTH: IntSetting =
    IntSetting { key: "max_html_depth", default: 100, range: 8..=10_000, fix: "a number from 8 to 10000" };
/// `[ingest] max_authors`: authors per article.
pub const MAX_AUTHORS: IntSetting =
    IntSetting { key: "max_authors", default: 50, range: 1..=10_000, fix: "a number from 1 to 10000" };
/// `[ingest] max_tags`: tags per article.
pub const MAX_TAGS: IntSetting =
    IntSetting { key: "max_tags", default: 100, range: 1..=10_000, fix: "a number from 1 to 10000" };
/// `[ingest] max_categories`: categories per article.
pub const MAX_CATEGORIES: IntSetting =
    IntSetting { key: "max_categories", default: 20, range: 1..=1_000, fix: "a number from 1 to 1000" };
/// `[ingest] max_title_chars`: characters of a title.
pub const MAX_TITLE_CHARS: IntSetting =
    IntSetting { key: "max_title_chars", default: 1_000, range: 10..=100_000, fix: "a number from 10 to 100000" };
/// `[ingest] max_summary_chars`: characters of a summary.
pub const MAX_SUMMARY_CHARS: IntSetting =
    IntSetting { key: "max_summary_chars", default: 10_000, range: 10..=1_000_000, fix: "a number from 10 to 1000000" };
/// `[ingest] max_name_chars`: characters of an author's name or of a tag.
pub const MAX_NAME_CHARS: IntSetting =
    IntSetting { key: "max_name_chars", default: 200, range: 10..=10_000, fix: "a number from 10 to 10000" };

/// `[log] ready_hits_every`: one access line for every this many requests answered
/// from ready bytes with 200 or 304 (the hot path); every other request always has its line.
/// A line costs a request about 7 µs of formatting (measured: a 304 went from 11.4 to
/// 18.3 µs of CPU), more than the rest of a 304: logging 1 in 64 keeps the cost near 1%.
pub const READY_HITS_EVERY: IntSetting = IntSetting {
    key: "ready_hits_every",
    default: 64,
    range: 1..=1_000_000,
    fix: "a number from 1 (every request) to 1000000",
};

/// `[log] level`.
pub const LOG_LEVEL: &str = "info";
/// `[log] format`.
pub const LOG_FORMAT: &str = "text";

/// `[site] language`.
pub const LANGUAGE: &str = "zh-CN";
/// `[site] traditional` of a site whose `language` is Chinese (`zh`, `zh-*`): the
/// Traditional Chinese edition with OpenCC's Taiwan phrases (软件 -> 軟體). Other sites
/// have no edition unless they name a converter.
pub const TRADITIONAL: &str = "s2twp";
/// `[site] traditional`: what turns the edition off.
pub const TRADITIONAL_OFF: &str = "off";

/// `[site] timezone`.
pub const TIMEZONE: &str = "Asia/Shanghai";
/// `[server] listen`.
pub const LISTEN: &str = "127.0.0.1:8080";
/// `[server] data_dir`.
pub const DATA_DIR: &str = "./data";

/// `[metrics] allowed_networks`: loopback only. Behind a proxy on the same host the client
/// address is the forwarded one (with `[server] trusted_proxies` set), so the proxy does
/// not open `/metrics` to the world.
pub const METRICS_ALLOWED_NETWORKS: &[&str] = &["127.0.0.0/8", "::1/128"];

/// `[stats] flush_seconds`: how often today's readership counts are written to the store
/// (a crash loses at most this much counting).
pub const STATS_FLUSH_SECONDS: IntSetting =
    IntSetting { key: "flush_seconds", default: 60, range: 1..=3600, fix: "seconds from 1 to 3600" };
/// `[stats] keep_days`: days of daily readership kept; older days are summarized per month.
pub const STATS_KEEP_DAYS: IntSetting =
    IntSetting { key: "keep_days", default: 400, range: 400..=3650, fix: "days from 400 to 3650" };
/// `[stats] access`: who may read `/stats` (`token`: an ingest token, or the stats token).
pub const STATS_ACCESS: &str = "token";
