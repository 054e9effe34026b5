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

/// `[site] language`.
pub const LANGUAGE: &str = "zh-CN";
/// `[site] timezone`.
pub const TIMEZONE: &str = "Asia/Shanghai";
/// `[server] listen`.
pub const LISTEN: &str = "127.0.0.1:8080";
/// `[server] data_dir`.
pub const DATA_DIR: &str = "./data";
