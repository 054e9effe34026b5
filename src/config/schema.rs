//! The shape of a config file: every table, the keys it takes and the kind of value each
//! key holds. It is checked on the parsed TOML (with spans) before anything is
//! deserialized, so that one run names every unknown key, wrong type and missing key, each
//! with its line and fix; serde's `deny_unknown_fields` and typed fields would stop at the
//! first one (`invalid type: string "100", expected i64`, with no key).
//!
//! What it hands on is the same document without the problems: unknown keys and values of
//! the wrong kind removed, a `[[category]]` without a usable slug or name dropped, and a
//! `[site]` without its required strings given placeholders (never used: the config is
//! refused anyway), so the deserializing that follows cannot fail and the validator checks
//! every value that is left.

use std::borrow::Cow;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::defaults::{self, IntSetting};

/// What a key's value must be.
pub(super) enum Kind {
    /// A string; an example value as written in TOML.
    Str(&'static str),
    /// A whole number, with its default and range.
    Int(&'static IntSetting),
    /// An array of strings; an example value as written in TOML.
    Strs(&'static str),
}

/// One key of a table.
pub(super) struct Key {
    /// The key as written.
    pub name: &'static str,
    /// The kind of value it takes.
    pub kind: Kind,
    /// Whether the table is unusable without it.
    pub required: bool,
}

/// One table of the file: `[name]`, or `[[name]]` when `many`.
pub(super) struct Table {
    /// The table's name (`site`, `category`).
    pub name: &'static str,
    /// An array of tables (`[[category]]`).
    pub many: bool,
    /// Whether the file must have it.
    pub required: bool,
    /// Every key it takes, in the order `config/README.md` lists them.
    pub keys: &'static [Key],
}

const fn key(name: &'static str, kind: Kind) -> Key {
    Key { name, kind, required: false }
}

const fn required(name: &'static str, kind: Kind) -> Key {
    Key { name, kind, required: true }
}

/// Every table and key the config accepts.
pub(super) const TABLES: &[Table] = &[
    Table {
        name: "site",
        many: false,
        required: true,
        keys: &[
            required("title", Kind::Str("\"四海资讯\"")),
            key("description", Kind::Str("\"国内、国际新闻\"")),
            required("base_url", Kind::Str("\"https://news.example.com/\"")),
            key("language", Kind::Str("\"zh-CN\"")),
            key("timezone", Kind::Str("\"Asia/Shanghai\"")),
            required("tag_authority", Kind::Str("\"news.example.com,2026\"")),
            key("max_items", Kind::Int(&defaults::MAX_ITEMS)),
            key("ttl_minutes", Kind::Int(&defaults::TTL_MINUTES)),
            key("image_base_url", Kind::Str("\"https://img.example.com/\"")),
            key("logo", Kind::Str("\"https://news.example.com/logo.png\"")),
            key("icon", Kind::Str("\"https://news.example.com/icon.png\"")),
            key("traditional", Kind::Str("\"s2twp\"")),
        ],
    },
    Table {
        name: "server",
        many: false,
        required: false,
        keys: &[
            key("listen", Kind::Str("\"127.0.0.1:8080\"")),
            key("data_dir", Kind::Str("\"/var/lib/sihai\"")),
            key("shutdown_seconds", Kind::Int(&defaults::SHUTDOWN_SECONDS)),
            key("min_free_bytes", Kind::Int(&defaults::MIN_FREE_BYTES)),
            key("header_timeout_seconds", Kind::Int(&defaults::HEADER_TIMEOUT)),
            key("idle_timeout_seconds", Kind::Int(&defaults::IDLE_TIMEOUT)),
            key("body_timeout_seconds", Kind::Int(&defaults::BODY_TIMEOUT)),
            key("write_timeout_seconds", Kind::Int(&defaults::WRITE_TIMEOUT)),
            key("max_connections", Kind::Int(&defaults::MAX_CONNECTIONS)),
            key("max_connections_per_address", Kind::Int(&defaults::MAX_CONNECTIONS_PER_ADDRESS)),
            key("trusted_proxies", Kind::Strs("[\"127.0.0.1\"]")),
            key("auth_failures_per_minute", Kind::Int(&defaults::AUTH_FAILURES_PER_MINUTE)),
            key("cache_bytes", Kind::Int(&defaults::CACHE_BYTES)),
        ],
    },
    Table {
        name: "ingest",
        many: false,
        required: false,
        keys: &[
            key("token_file", Kind::Str("\"/etc/sihai/tokens\"")),
            key("max_body_bytes", Kind::Int(&defaults::MAX_BODY_BYTES)),
            key("requests_per_minute", Kind::Int(&defaults::REQUESTS_PER_MINUTE)),
            key("max_articles_per_request", Kind::Int(&defaults::MAX_ARTICLES_PER_REQUEST)),
            key("max_html_depth", Kind::Int(&defaults::MAX_HTML_DEPTH)),
            key("max_authors", Kind::Int(&defaults::MAX_AUTHORS)),
            key("max_tags", Kind::Int(&defaults::MAX_TAGS)),
            key("max_categories", Kind::Int(&defaults::MAX_CATEGORIES)),
            key("max_title_chars", Kind::Int(&defaults::MAX_TITLE_CHARS)),
            key("max_summary_chars", Kind::Int(&defaults::MAX_SUMMARY_CHARS)),
            key("max_name_chars", Kind::Int(&defaults::MAX_NAME_CHARS)),
        ],
    },
    Table {
        name: "websub",
        many: false,
        required: false,
        keys: &[key("hubs", Kind::Strs("[\"https://pubsubhubbub.appspot.com/\"]"))],
    },
    Table {
        name: "log",
        many: false,
        required: false,
        keys: &[
            key("level", Kind::Str("\"info\"")),
            key("format", Kind::Str("\"text\"")),
            key("ready_hits_every", Kind::Int(&defaults::READY_HITS_EVERY)),
        ],
    },
    Table {
        name: "metrics",
        many: false,
        required: false,
        keys: &[
            key("allowed_networks", Kind::Strs("[\"127.0.0.0/8\", \"::1/128\"]")),
            key("token_file", Kind::Str("\"/etc/sihai/metrics.token\"")),
        ],
    },
    Table {
        name: "stats",
        many: false,
        required: false,
        keys: &[
            key("access", Kind::Str("\"token\"")),
            key("token_file", Kind::Str("\"/etc/sihai/stats.token\"")),
            key("flush_seconds", Kind::Int(&defaults::STATS_FLUSH_SECONDS)),
            key("keep_days", Kind::Int(&defaults::STATS_KEEP_DAYS)),
        ],
    },
    Table {
        name: "category",
        many: true,
        required: false,
        keys: &[
            required("slug", Kind::Str("\"hunan\"")),
            required("name", Kind::Str("\"湖南新闻\"")),
            key("parent", Kind::Str("\"domestic\"")),
            key("description", Kind::Str("\"湖南省内新闻\"")),
            key("aliases", Kind::Strs("[\"湖南\"]")),
            key("max_items", Kind::Int(&defaults::MAX_ITEMS)),
            key("ttl_minutes", Kind::Int(&defaults::TTL_MINUTES)),
            key("language", Kind::Str("\"zh-CN\"")),
        ],
    },
];

/// A problem: where (a byte span of the text; empty at 0 for the whole file) and what.
pub(super) type Found = (Range<usize>, String);

/// Checks the parsed document against [`TABLES`]: every problem found, and the document
/// without them (see the module doc).
pub(super) fn check<'i>(text: &str, root: Spanned<DeTable<'i>>) -> (Spanned<DeTable<'i>>, Vec<Found>) {
    let span = root.span();
    let mut found = Vec::new();
    let mut out = DeTable::new();
    for (name, value) in root.into_inner() {
        let Some(table) = TABLES.iter().find(|t| t.name == name.get_ref().as_ref()) else {
            found.push((name.span(), top_level_unknown(name.get_ref(), value.get_ref())));
            continue;
        };
        let value_span = value.span();
        match (table.many, value.into_inner()) {
            (false, DeValue::Table(entry)) => {
                let label = format!("[{}]", table.name);
                let entry = check_entry(text, table, &label, Spanned::new(value_span.clone(), entry), &mut found);
                out.insert(name, Spanned::new(value_span, DeValue::Table(entry)));
            }
            (true, DeValue::Array(entries)) => {
                let mut kept = Vec::new();
                for (i, entry) in entries.iter().enumerate() {
                    let DeValue::Table(t) = entry.get_ref() else {
                        let msg = format!(
                            "[[{}]] entry {}: not a table; fix: write each as a [[{}]] section with its keys",
                            table.name,
                            i + 1,
                            table.name
                        );
                        found.push((entry.span(), msg));
                        continue;
                    };
                    let label = match t.get("slug").map(|s| s.get_ref()) {
                        Some(DeValue::String(slug)) => format!("[[{}]] {:?}", table.name, slug.trim()),
                        _ => format!("[[{}]] number {}", table.name, i + 1),
                    };
                    let checked = check_entry(text, table, &label, Spanned::new(entry.span(), t.clone()), &mut found);
                    // An entry without its slug or name cannot take part in the tree: dropped,
                    // its problems already said.
                    if table.keys.iter().all(|k| !k.required || checked.contains_key(k.name)) {
                        kept.push(Spanned::new(entry.span(), DeValue::Table(checked)));
                    }
                }
                out.insert(name, Spanned::new(value_span, DeValue::Array(kept.into_iter().collect())));
            }
            (many, other) => {
                let fix = if many {
                    format!("write each as a section headed [[{0}]] (double brackets), one per {0}", table.name)
                } else {
                    format!("write it as a section headed [{}] on a line of its own, its keys below", table.name)
                };
                found.push((value_span, format!("{}: is a {}; fix: {fix}", table.name, other.type_str())));
            }
        }
    }
    let absent: Vec<&Table> = TABLES.iter().filter(|t| t.required && !out.contains_key(t.name)).collect();
    for table in absent {
        let keys: Vec<_> = table.keys.iter().filter(|k| k.required).map(|k| k.name).collect();
        let msg = format!("[{}] is missing; fix: add a [{}] section with {}", table.name, table.name, keys.join(", "));
        found.push((0..0, msg));
        let empty = check_entry(text, table, "", Spanned::new(0..0, DeTable::new()), &mut Vec::new());
        out.insert(Spanned::new(0..0, Cow::Borrowed(table.name)), Spanned::new(0..0, DeValue::Table(empty)));
    }
    (Spanned::new(span, out), found)
}

/// The message for a key of the top level that names no table.
fn top_level_unknown(name: &str, value: &DeValue) -> String {
    let tables: Vec<String> = TABLES.iter().map(|t| format!("`{}`", t.name)).collect();
    if matches!(value, DeValue::Table(_)) {
        let hint = suggestion(name, TABLES.iter().map(|t| t.name));
        return format!("[{name}]: unknown table; fix: {hint}remove it; expected one of {}", tables.join(", "));
    }
    match TABLES.iter().find(|t| t.keys.iter().any(|k| k.name == name)) {
        Some(t) => format!(
            "{name}: a key outside any table; fix: move it below the [{}] line (keys belong to the section above them)",
            t.name
        ),
        None => format!("{name}: unknown key outside any table; fix: remove it"),
    }
}

/// One table's keys: problems into `found`; the keys that are fine (plus placeholders for
/// `[site]`'s missing required strings) returned.
fn check_entry<'i>(
    text: &str,
    table: &Table,
    label: &str,
    entry: Spanned<DeTable<'i>>,
    found: &mut Vec<Found>,
) -> DeTable<'i> {
    let entry_span = entry.span();
    let mut out = DeTable::new();
    let mut wrong = Vec::new();
    for (name, value) in entry.into_inner() {
        let Some(key) = table.keys.iter().find(|k| k.name == name.get_ref().as_ref()) else {
            found.push((name.span(), unknown_key(table, label, name.get_ref())));
            continue;
        };
        match kind_problem(&key.kind, value.get_ref()) {
            None => {
                out.insert(name, value);
            }
            Some(problem) => {
                let shown = shown(text, value.span());
                found.push((value.span(), format!("{label} {} = {shown}: {problem}", key.name)));
                wrong.push(key.name);
            }
        }
    }
    let absent: Vec<&Key> = table.keys.iter().filter(|k| k.required && !out.contains_key(k.name)).collect();
    for key in absent {
        let Kind::Str(example) = key.kind else { continue };
        if !wrong.contains(&key.name) {
            let msg = format!("{label}: {} is missing; fix: add {} = {example}", key.name, key.name);
            found.push((entry_span.clone(), msg));
        }
        if !table.many {
            let placeholder = match key.name {
                "base_url" => "https://placeholder.invalid/",
                "tag_authority" => "placeholder.invalid,2026",
                _ => "placeholder",
            };
            out.insert(
                Spanned::new(0..0, Cow::Borrowed(key.name)),
                Spanned::new(0..0, DeValue::String(Cow::Borrowed(placeholder))),
            );
        }
    }
    out
}

/// The message for a key the table does not take: a likely meant key, and every key it takes.
fn unknown_key(table: &Table, label: &str, name: &str) -> String {
    let keys: Vec<String> = table.keys.iter().map(|k| format!("`{}`", k.name)).collect();
    let expected =
        if keys.len() == 1 { format!("expected {}", keys[0]) } else { format!("expected one of {}", keys.join(", ")) };
    let hint = suggestion(name, table.keys.iter().map(|k| k.name));
    format!("{label} {name}: unknown key; fix: {hint}remove it; {expected}")
}

/// `did you mean `x`? else ` for the known name closest to `name`, if one is close.
fn suggestion<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    let best = known.map(|k| (edit_distance(name, k), k)).min();
    match best {
        Some((d, k)) if d <= 2.max(name.chars().count() / 4) => format!("did you mean `{k}`? else "),
        _ => String::new(),
    }
}

/// Levenshtein distance in characters (key names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The value as written (at most 40 characters), for messages.
fn shown(text: &str, span: Range<usize>) -> String {
    let raw = text.get(span).unwrap_or("").trim();
    let mut s: String = raw.chars().take(40).collect();
    if raw.chars().count() > 40 {
        s.push('…');
    }
    s
}

/// What is wrong with `value` for a key of this kind, with the fix; `None` if it fits.
fn kind_problem(kind: &Kind, value: &DeValue) -> Option<String> {
    match (kind, value) {
        (Kind::Str(_), DeValue::String(_)) => None,
        (Kind::Str(example), other) => {
            Some(format!("expected a string, found {}; fix: put it in quotes, e.g. {example}", a(other)))
        }
        (Kind::Int(setting), DeValue::Integer(n)) => match i64::from_str_radix(n.as_str(), n.radix()) {
            Ok(_) => None,
            Err(_) => Some(format!("is too large; fix: {} (default {})", setting.fix, setting.default)),
        },
        (Kind::Int(setting), DeValue::String(s)) if s.trim().replace('_', "").parse::<i64>().is_ok() => Some(format!(
            "expected a whole number, found a string; fix: write it without quotes, {} (default {})",
            setting.fix, setting.default
        )),
        (Kind::Int(setting), other) => Some(format!(
            "expected a whole number, found {}; fix: {} (default {})",
            a(other),
            setting.fix,
            setting.default
        )),
        (Kind::Strs(example), DeValue::Array(items)) => {
            let bad = items.iter().position(|v| !matches!(v.get_ref(), DeValue::String(_)))?;
            Some(format!(
                "entry {} is {}, expected a string; fix: a list of quoted strings, e.g. {example}",
                bad + 1,
                a(items[bad].get_ref())
            ))
        }
        (Kind::Strs(example), other) => {
            Some(format!("expected a list of strings, found {}; fix: e.g. {example}", a(other)))
        }
    }
}

/// "a string", "an integer", ... for messages.
fn a(value: &DeValue) -> String {
    let t = value.type_str();
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {t}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_names_only() {
        assert_eq!(edit_distance("max_conections", "max_connections"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            suggestion("max_conections", ["listen", "max_connections"].into_iter()),
            "did you mean `max_connections`? else "
        );
        assert_eq!(suggestion("zzz_unknown", ["listen", "data_dir"].into_iter()), "");
    }
}
