//! `sihai stats`: the readership table in a terminal, read from the running daemon's
//! `/api/stats/feeds` (the daemon holds the store and today's counts are in its memory).

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::outcome::Outcome;
use crate::config::Config;

/// Prints every feed's subscribers today, the change over 7, 30 and `days` days, and the
/// top aggregators.
pub fn stats(config: &Config, server: Option<String>, token_file: Option<&Path>, days: u64) -> Outcome {
    match fetch(config, server, token_file, days) {
        Ok(v) => {
            print!("{}", table(&v, days));
            Outcome::Ok
        }
        Err(e) => {
            eprintln!("sihai: stats: {e}");
            Outcome::StoreUnavailable
        }
    }
}

fn fetch(config: &Config, server: Option<String>, token_file: Option<&Path>, days: u64) -> Result<Value, String> {
    let server = server.unwrap_or_else(|| super::ingest::default_server(config));
    let url = format!("{}/api/stats/feeds?days={days}", server.trim_end_matches('/'));
    let mut request = super::client::agent(Some(Duration::from_secs(30))).get(&url);
    // A public stats page needs no token; send one when there is one.
    let token = crate::auth::client_token(config, token_file).ok();
    let auth = token.map(|t| format!("Bearer {t}"));
    if let Some(auth) = &auth {
        request = request.header("Authorization", auth);
    }
    let mut resp = request.call().map_err(|e| super::client::unreachable(&server, &e))?;
    let status = resp.status();
    let body = resp.body_mut().read_to_string().map_err(|e| format!("reading the answer: {e}"))?;
    if status != 200 {
        return Err(format!(
            "the daemon answered {status}: {}; for 401, pass the stats or an ingest token (--token-file or SIHAI_TOKEN)",
            body.trim()
        ));
    }
    serde_json::from_str(&body).map_err(|e| format!("the answer is not the stats JSON: {e}"))
}

/// The table as text, one feed a line, aligned.
fn table(v: &Value, days: u64) -> String {
    // A --days of 7 or 30 is a column already there.
    let extra = days != 7 && days != 30;
    let mut header = vec![
        "feed".to_string(),
        "subscribers".into(),
        "aggregators".into(),
        "direct".into(),
        "7d".into(),
        "30d".into(),
    ];
    if extra {
        header.push(format!("{days}d"));
    }
    header.push("top aggregators".into());
    let mut rows = vec![header];
    let change =
        |c: &Value| c.as_i64().map_or("-".to_string(), |n| if n > 0 { format!("+{n}") } else { n.to_string() });
    for f in v["feeds"].as_array().into_iter().flatten() {
        let s = &f["summary"];
        let series: Vec<u64> =
            f["series"].as_array().into_iter().flatten().filter_map(|p| p["subscribers"].as_u64()).collect();
        let over_days = match (series.first(), series.last()) {
            (Some(&a), Some(&b)) if series.len() > 1 => {
                let n = b as i64 - a as i64;
                if n > 0 {
                    format!("+{n}")
                } else {
                    n.to_string()
                }
            }
            _ => "-".into(),
        };
        let top: Vec<String> = s["top_aggregators"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| format!("{} {}", p[0].as_str().unwrap_or("?"), p[1].as_u64().unwrap_or(0)))
            .collect();
        let mut row = vec![
            s["feed"].as_str().unwrap_or("?").to_string(),
            s["subscribers"].to_string(),
            s["aggregator_subscribers"].to_string(),
            s["direct_readers"].to_string(),
            change(&s["change_7_days"]),
            change(&s["change_30_days"]),
        ];
        if extra {
            row.push(over_days);
        }
        row.push(top.join(", "));
        rows.push(row);
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = format!("readership on {} (site time)\n", v["today"].as_str().unwrap_or("?"));
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths[i].saturating_sub(c.chars().count());
                if i == 0 || i + 1 == r.len() {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
