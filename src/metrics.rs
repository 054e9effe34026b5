//! The daemon's Prometheus metrics: every counter, histogram and gauge in one registry,
//! encoded by `prometheus-client` (never formatted by hand) for `GET /metrics`.
//!
//! A leaf: the stages that do the work (`http`, `publish`, `websub`) hold an
//! `Arc<Metrics>` and count; nothing here reads the store or the config. Gauges that
//! describe state (store size, articles, scheduled, cache bytes, open connections) are set
//! by the scrape itself, just before encoding, so no request pays for them.
//!
//! Counting costs a request one read-locked hash lookup per labelled family (measured in
//! BENCHMARKS.md, "metrics"); label values are static strings or status codes, so no
//! request can add a series (a client-chosen path never becomes a label).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `sihai_http_requests_total` | counter | `route` (feed, archive, page, home, opml, article, api, health, metrics, stats, other), `status` |
//! | `sihai_http_response_bytes_total` | counter | `coding` (identity, gzip, br) |
//! | `sihai_ready_cache_hits_total`, `sihai_ready_cache_misses_total` | counter | |
//! | `sihai_render_seconds` | histogram | |
//! | `sihai_compression_seconds` | histogram | `coding` |
//! | `sihai_ingest_articles_total` | counter | `outcome` (created, updated, unchanged, refused) |
//! | `sihai_deletes_total` | counter | `outcome` (deleted, absent) |
//! | `sihai_websub_notifications_total` | counter | `outcome` (accepted, retried, abandoned) |
//! | `sihai_reloads_total` | counter | `outcome` (applied, refused) |
//! | `sihai_store_size_bytes`, `sihai_store_articles`, `sihai_scheduled_articles` | gauge | |
//! | `sihai_ready_cache_bytes`, `sihai_connections_open` | gauge | |
//! | `sihai_feed_subscribers`, `sihai_feed_aggregator_subscribers`, `sihai_feed_direct_readers` | gauge | `feed` |
//! | `sihai_build_info` | info | `version` |

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The media type of the OpenMetrics text format (what Prometheus asks for first).
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The media type of the classic Prometheus text format (0.0.4), for other scrapers.
pub const PROMETHEUS_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A request's labels: the class of its route and its status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route class ([`route_class`]).
    pub route: &'static str,
    /// The status code answered.
    pub status: u16,
}

/// One label: a content coding.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodingLabel {
    /// `identity`, `gzip` or `br`.
    pub coding: &'static str,
}

/// One label: what became of a unit of work.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// A fixed word per outcome.
    pub outcome: &'static str,
}

/// One label: a feed's name (`all`, a category slug).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeedLabel {
    /// The feed.
    pub feed: String,
}

/// `sihai_build_info`'s labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type Histograms = Family<CodingLabel, Histogram, fn() -> Histogram>;

/// The route classes of `sihai_http_requests_total` ([`route_class`] gives the index).
pub const ROUTES: [&str; 11] =
    ["feed", "archive", "page", "home", "opml", "article", "api", "health", "metrics", "stats", "other"];
/// Statuses whose counters exist from the start (the rest are made when first answered):
/// a request adds to a counter it holds, with no lock.
const STATUSES: [u16; 16] = [200, 204, 301, 304, 400, 401, 403, 404, 405, 406, 413, 415, 422, 429, 500, 503];
/// The codings of `sihai_http_response_bytes_total`.
const CODINGS: [&str; 4] = ["identity", "gzip", "br", "other"];

/// Every metric of the daemon, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests by route class and status.
    pub requests: Family<RequestLabels, Counter>,
    /// The counters of `requests` for every route class and the statuses of [`STATUSES`],
    /// held here so that counting a request takes no lock.
    request_counters: Vec<Counter>,
    /// The counters of `response_bytes` by [`CODINGS`].
    byte_counters: Vec<Counter>,
    /// Response body bytes by content coding.
    pub response_bytes: Family<CodingLabel, Counter>,
    /// Requests answered from ready bytes (no render, no compression).
    pub cache_hits: Counter,
    /// Requests that had to render or compress first.
    pub cache_misses: Counter,
    /// Duration of each render from the store.
    pub render_seconds: Histogram,
    /// Renders counted for `/api/stats` (also the histogram's count).
    pub renders: AtomicU64,
    /// Compressions counted for `/api/stats`.
    pub compressions: AtomicU64,
    /// Duration of each compression, by coding.
    compression_seconds: Histograms,
    /// Articles sent to the API or `sihai ingest`, by outcome.
    pub ingested: Family<OutcomeLabel, Counter>,
    /// Delete requests by outcome.
    pub deletes: Family<OutcomeLabel, Counter>,
    /// WebSub hub notifications by outcome.
    pub websub: Family<OutcomeLabel, Counter>,
    /// Configuration reloads (SIGHUP) by outcome.
    pub reloads: Family<OutcomeLabel, Counter>,
    /// Bytes of the store on disk (set at scrape).
    pub store_bytes: Gauge,
    /// Articles stored, scheduled ones included (set at scrape).
    pub store_articles: Gauge,
    /// Articles stored with a future publication time (set at scrape).
    pub scheduled_articles: Gauge,
    /// Bytes of ready representations kept (set at scrape).
    pub cache_bytes: Gauge,
    /// Connections open (set at scrape).
    pub connections_open: Gauge,
    /// Today's subscribers per feed, aggregators' reports plus direct readers (set at
    /// scrape).
    pub feed_subscribers: Family<FeedLabel, Gauge>,
    /// Today's subscribers per feed reported by aggregators (set at scrape).
    pub feed_aggregator_subscribers: Family<FeedLabel, Gauge>,
    /// Today's distinct direct readers per feed, estimated (set at scrape).
    pub feed_direct_readers: Family<FeedLabel, Gauge>,
}

/// Histogram buckets of a render or a compression: 0.25 ms to about 4 s.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// The registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sihai");
        let m = Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            request_counters: Vec::new(),
            byte_counters: Vec::new(),
            response_bytes: Family::default(),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            render_seconds: duration_histogram(),
            renders: AtomicU64::new(0),
            compressions: AtomicU64::new(0),
            compression_seconds: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
            ingested: Family::default(),
            deletes: Family::default(),
            websub: Family::default(),
            reloads: Family::default(),
            store_bytes: Gauge::default(),
            store_articles: Gauge::default(),
            scheduled_articles: Gauge::default(),
            cache_bytes: Gauge::default(),
            connections_open: Gauge::default(),
            feed_subscribers: Family::default(),
            feed_aggregator_subscribers: Family::default(),
            feed_direct_readers: Family::default(),
        };
        let r = &mut registry;
        r.register("http_requests", "HTTP requests answered, by route class and status", m.requests.clone());
        r.register("http_response_bytes", "Response body bytes sent, by content coding", m.response_bytes.clone());
        r.register("ready_cache_hits", "Feed and page requests answered from ready bytes", m.cache_hits.clone());
        r.register(
            "ready_cache_misses",
            "Feed and page requests that waited for a render or a compression",
            m.cache_misses.clone(),
        );
        r.register("render_seconds", "Time to render a feed, page or archive from the store", m.render_seconds.clone());
        r.register(
            "compression_seconds",
            "Time to compress a representation, by coding",
            m.compression_seconds.clone(),
        );
        r.register("ingest_articles", "Articles received for storing, by outcome", m.ingested.clone());
        r.register("deletes", "Delete requests, by outcome", m.deletes.clone());
        r.register("websub_notifications", "WebSub hub notifications, by outcome", m.websub.clone());
        r.register("reloads", "Configuration reloads (SIGHUP), by outcome", m.reloads.clone());
        r.register("store_size_bytes", "Bytes the store takes on disk", m.store_bytes.clone());
        r.register("store_articles", "Articles stored, scheduled ones included", m.store_articles.clone());
        r.register(
            "scheduled_articles",
            "Articles stored with a publication time still to come",
            m.scheduled_articles.clone(),
        );
        r.register("ready_cache_bytes", "Bytes of ready representations kept", m.cache_bytes.clone());
        r.register("connections_open", "HTTP connections open", m.connections_open.clone());
        r.register(
            "feed_subscribers",
            "Today's subscribers per feed (aggregators + direct readers)",
            m.feed_subscribers.clone(),
        );
        r.register(
            "feed_aggregator_subscribers",
            "Today's subscribers per feed as aggregators report them",
            m.feed_aggregator_subscribers.clone(),
        );
        r.register(
            "feed_direct_readers",
            "Today's distinct direct readers per feed (estimated)",
            m.feed_direct_readers.clone(),
        );
        r.register("build", "The running build", Info::new(BuildLabels { version: env!("CARGO_PKG_VERSION") }));
        // Every known outcome is a series from the start (at 0), so a rate over the
        // first event is right and a dashboard never shows "no data" for "none yet".
        let outcomes: [(&Family<OutcomeLabel, Counter>, &[&'static str]); 4] = [
            (&m.ingested, &["created", "updated", "unchanged", "refused"]),
            (&m.deletes, &["deleted", "absent"]),
            (&m.websub, &["accepted", "retried", "abandoned"]),
            (&m.reloads, &["applied", "refused"]),
        ];
        for (family, words) in outcomes {
            for &outcome in words {
                family.get_or_create(&OutcomeLabel { outcome }).inc_by(0);
            }
        }
        let request_counters = ROUTES
            .iter()
            .flat_map(|&route| STATUSES.iter().map(move |&status| RequestLabels { route, status }))
            .map(|labels| m.requests.get_or_create_owned(&labels))
            .collect();
        let byte_counters =
            CODINGS.iter().map(|&coding| m.response_bytes.get_or_create_owned(&CodingLabel { coding })).collect();
        Metrics { registry, request_counters, byte_counters, ..m }
    }

    /// Counts one answered request of route class `route` (an index of [`ROUTES`]) and its
    /// body bytes in `coding` (an index of the codings: identity, gzip, br, other).
    pub fn request(&self, route: usize, status: u16, coding: usize, bytes: u64) {
        let route = route.min(ROUTES.len() - 1);
        match STATUSES.iter().position(|&s| s == status) {
            Some(i) => self.request_counters[route * STATUSES.len() + i].inc(),
            None => self.requests.get_or_create(&RequestLabels { route: ROUTES[route], status }).inc(),
        };
        if bytes > 0 {
            self.byte_counters[coding.min(CODINGS.len() - 1)].inc_by(bytes);
        }
    }

    /// Records one render and its duration.
    pub fn rendered(&self, took: Duration) {
        self.renders.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.render_seconds.observe(took.as_secs_f64());
    }

    /// Records one compression to `coding` and its duration.
    pub fn compressed(&self, coding: &'static str, took: Duration) {
        self.compressions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.compression_seconds.get_or_create(&CodingLabel { coding }).observe(took.as_secs_f64());
    }

    /// Adds `n` to the counter of `outcome` in `family`.
    pub fn count(family: &Family<OutcomeLabel, Counter>, outcome: &'static str, n: u64) {
        family.get_or_create(&OutcomeLabel { outcome }).inc_by(n);
    }

    /// The metrics in the OpenMetrics text format (`openmetrics`) or the Prometheus text
    /// format 0.0.4, with the media type to send.
    pub fn encode(&self, openmetrics: bool) -> (String, &'static str) {
        let mut out = String::with_capacity(8192);
        if openmetrics {
            // Writing to a String cannot fail.
            let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
            (out, OPENMETRICS_CONTENT_TYPE)
        } else {
            let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
            (out, PROMETHEUS_CONTENT_TYPE)
        }
    }
}

/// The route class of a request path (an index of [`ROUTES`]), decided from the path's
/// shape alone (a prefix or two compared, no allocation).
pub fn route_class(path: &str) -> usize {
    let p = path.strip_prefix('/').unwrap_or(path);
    // The Traditional Chinese edition of a document is the same route class.
    let p = p.strip_prefix("zh-hant/").unwrap_or(p);
    let name = if let Some(rest) = p.strip_prefix("feeds/") {
        if rest.contains("/archive/") {
            "archive"
        } else {
            "feed"
        }
    } else {
        match p {
            "" => "home",
            "feeds.opml" => "opml",
            "healthz" | "readyz" => "health",
            "metrics" => "metrics",
            "stats" => "stats",
            _ if p.starts_with("stats/") => "stats",
            _ if p == "api" || p.starts_with("api/") => "api",
            _ if p.starts_with("c/") => "page",
            _ if p.starts_with("articles/") => "article",
            _ => "other",
        }
    };
    ROUTES.iter().position(|&r| r == name).unwrap_or(ROUTES.len() - 1)
}

/// The index of a `Content-Encoding` value for [`Metrics::request`].
pub fn coding_class(content_encoding: Option<&[u8]>) -> usize {
    match content_encoding {
        None => 0,
        Some(b"gzip") => 1,
        Some(b"br") => 2,
        Some(_) => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_classes_are_a_few_fixed_words() {
        let cases = [
            ("/", "home"),
            ("/feeds/all.rss", "feed"),
            ("/feeds/hunan/archive/2026-01-02.atom", "archive"),
            ("/feeds.opml", "opml"),
            ("/c/hunan", "page"),
            ("/articles/x", "article"),
            ("/api/articles", "api"),
            ("/healthz", "health"),
            ("/metrics", "metrics"),
            ("/stats/hunan", "stats"),
            ("/zh-hant/feeds/hunan.atom", "feed"),
            ("/zh-hant/", "home"),
            ("/wp-login.php", "other"),
        ];
        for (path, class) in cases {
            assert_eq!(ROUTES[route_class(path)], class, "{path}");
        }
    }

    #[test]
    fn encoding_names_every_family_and_counts_what_was_recorded() {
        let m = Metrics::new();
        m.request(route_class("/feeds/a.rss"), 304, 0, 0);
        m.request(route_class("/feeds/a.rss"), 200, coding_class(Some(b"gzip")), 1000);
        m.request(route_class("/x"), 418, 0, 0);
        m.rendered(Duration::from_millis(3));
        Metrics::count(&m.ingested, "created", 5);
        let (text, ty) = m.encode(true);
        assert!(ty.starts_with("application/openmetrics-text"));
        assert!(text.contains("sihai_http_requests_total{route=\"feed\",status=\"304\"} 1"), "{text}");
        assert!(text.contains("sihai_http_response_bytes_total{coding=\"gzip\"} 1000"), "{text}");
        assert!(text.contains("sihai_http_requests_total{route=\"other\",status=\"418\"} 1"), "{text}");
        assert!(text.contains("sihai_ingest_articles_total{outcome=\"created\"} 5"), "{text}");
        assert!(text.contains("sihai_render_seconds_count 1"), "{text}");
        assert!(text.contains("sihai_build_info{version="), "{text}");
        assert!(text.ends_with("# EOF\n"));
        let (plain, ty) = m.encode(false);
        assert!(ty.starts_with("text/plain; version=0.0.4"));
        assert!(plain.contains("sihai_http_requests_total{route=\"feed\",status=\"200\"} 1"), "{plain}");
    }
}
