//! sihai (四海): real RSS 2.0 and Atom 1.0 feeds for every section of a news site.
//!
//! Data flows one way, and each stage is a module (ARCHITECTURE.md has the map):
//!
//! - [`config`]: raw TOML -> validated [`config::Config`] (the category tree resolved once)
//! - [`ingest`]: raw inputs (JSON, JSON Lines, article pages) -> normalized [`model::Article`]s
//! - [`store`]: articles, GUIDs, indexes, feed times; only `store/engine.rs` names sled
//! - [`feed`]: stored articles -> a prepared feed -> RSS / Atom / JSON / HTML bytes (no I/O)
//! - [`publish`]: store + feed, rendered once per change and kept ready
//! - [`http`]: hyper server and its one route table over a [`publish::Publisher`]
//!
//! Around them: [`daemon`] assembles the server from a config, a listener and a shutdown
//! future; [`cli`] holds the commands; [`auth`] the ingest tokens; [`websub`] the hub
//! notifications; [`encoding`] gzip, br and `Accept-Encoding`. Leaves any stage may use:
//! [`metrics`] (the Prometheus registry), [`model`] (plain data), [`text`] (XML-legal
//! characters, escaping, excerpts), [`time`] (site time and date forms), [`parallel`]
//! (per-article work on all cores), [`readers`] (readership, no I/O: aggregators' UA
//! counts, today's tally, distinct readers, reports, SVG charts).

pub mod auth;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod encoding;
pub mod feed;
pub mod http;
pub mod ingest;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod parallel;
pub mod publish;
pub mod readers;
pub mod store;
pub mod text;
pub mod time;
pub mod websub;

#[cfg(test)]
mod props;
