//! sihai (四海): real RSS 2.0 and Atom 1.0 feeds for every section of a news site.
//!
//! Data flows one way, and each stage is a module:
//!
//! - [`config`]: raw TOML -> validated [`config::Config`] (the category tree resolved once)
//! - [`ingest`]: raw inputs (JSON, JSON Lines, article pages) -> normalized [`model::Article`]s
//! - [`store`]: the only module that knows sled: articles, GUIDs, indexes, feed times
//! - [`feed`]: stored articles -> a prepared feed -> RSS / Atom / HTML bytes (no I/O)
//! - [`publish`]: store + feed, rendered once per change and kept ready
//! - [`encoding`]: gzip and br, and Accept-Encoding negotiation
//! - [`http`]: hyper server and routes over a [`publish::Publisher`]
//! - [`websub`]: background publish notifications to WebSub hubs
//! - [`auth`]: ingest tokens
//! - [`backup`]: `sihai export` and `sihai import --restore`
//! - [`client`]: `sihai ingest`, the API client
//! - [`cli`]: the `sihai` commands (`serve`, `import`, `ingest`, `check-config`)

pub mod auth;
pub mod backup;
pub mod cli;
pub mod client;
pub mod config;
pub mod encoding;
pub mod feed;
pub mod http;
pub mod ingest;
pub mod model;
pub mod parallel;
pub mod publish;
pub mod store;
pub mod text;
pub mod time;
pub mod websub;
