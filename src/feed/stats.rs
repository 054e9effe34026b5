//! The readership pages (pure: no I/O), in the style of the other pages: the table of
//! every feed, and one feed's page with a 90-day chart (server-rendered SVG, no
//! JavaScript) and the split by aggregator and by format.

use std::fmt::Write as _;

use chrono::NaiveDate;

use super::html::head;
use crate::config::{Config, SITE_SLUG};
use crate::readers::report::{by_aggregator, FeedSummary};
use crate::readers::{daily_chart, FeedDay, Style};
use crate::text::escape_html as esc;

/// Extra rules for tables on the stats pages.
const TABLE_STYLE: &str = "<style>table{border-collapse:collapse;width:100%;font-size:.9rem}\
th,td{padding:.3rem .4rem;border-bottom:1px solid #ddd;text-align:right}th:first-child,td:first-child{text-align:left}\
.up{color:#11772d}.down{color:#b3261e}.wrap{overflow-x:auto}</style>";

/// The name a feed goes by on the pages: the category's name, or the site's.
fn feed_name<'a>(config: &'a Config, feed: &'a str) -> &'a str {
    if feed == SITE_SLUG {
        return config.site.title.as_str();
    }
    config.categories.by_slug(feed).map_or(feed, |i| config.categories.list[i].name.as_str())
}

fn change(out: &mut String, change: Option<i64>) {
    match change {
        None => out.push_str("<td>–</td>"),
        Some(c) if c > 0 => {
            let _ = write!(out, "<td class=\"up\">+{c}</td>");
        }
        Some(c) if c < 0 => {
            let _ = write!(out, "<td class=\"down\">{c}</td>");
        }
        Some(_) => out.push_str("<td>0</td>"),
    }
}

fn stats_url(config: &Config, feed: &str) -> String {
    let segment: String = percent_encoding::utf8_percent_encode(feed, percent_encoding::NON_ALPHANUMERIC).collect();
    format!("{}stats/{segment}", config.site.base_url)
}

/// `/stats`: every feed with today's subscribers, the change over 7 and 30 days, and its
/// top aggregators.
pub fn table_page(config: &Config, today: NaiveDate, rows: &[FeedSummary]) -> String {
    let mut out = String::with_capacity(4096 + rows.len() * 256);
    let title = format!("订阅统计 · Readership — {}", config.site.title);
    head(&mut out, &config.site.language, &title, None, config.site.icon.as_ref().map(|u| u.as_str()));
    out.push_str(TABLE_STYLE);
    let _ = write!(
        out,
        "<p><a href=\"{}\">{}</a></p><h1>订阅统计 · Readership</h1>\
         <p class=\"meta\">{today} (site time). Subscribers = what aggregators report in their User-Agent \
         (latest that day, summed over aggregators; an aggregator polling several URLs of one feed counts once per URL) \
         + distinct direct readers (estimated, about 1.6% error past 128; no address is kept).</p>",
        esc(config.site.base_url.as_str()),
        esc(&config.site.title)
    );
    if rows.is_empty() {
        out.push_str("<p>No feed has been read yet.</p>");
    } else {
        out.push_str(
            "<div class=\"wrap\"><table><thead><tr><th>Feed</th><th>Subscribers</th><th>Aggregators</th>\
             <th>Direct</th><th>7 days</th><th>30 days</th><th>Top aggregators</th></tr></thead><tbody>",
        );
        for row in rows {
            let _ = write!(
                out,
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>",
                esc(&stats_url(config, &row.feed)),
                esc(feed_name(config, &row.feed)),
                row.subscribers,
                row.aggregator_subscribers,
                row.direct_readers
            );
            change(&mut out, row.change_7_days);
            change(&mut out, row.change_30_days);
            let top: Vec<String> = row.top_aggregators.iter().map(|(n, c)| format!("{} {c}", esc(n))).collect();
            let _ = write!(out, "<td>{}</td></tr>", top.join(", "));
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</body></html>\n");
    out
}

/// `/stats/{feed}`: the feed's subscribers over the days of `series` as a chart, and
/// today's split by aggregator and by format.
pub fn feed_page(config: &Config, summary: &FeedSummary, series: &[(NaiveDate, u64)], today: &FeedDay) -> String {
    let name = feed_name(config, &summary.feed);
    let mut out = String::with_capacity(16_384);
    let title = format!("{name} — 订阅统计 · Readership");
    head(&mut out, &config.site.language, &title, None, config.site.icon.as_ref().map(|u| u.as_str()));
    out.push_str(TABLE_STYLE);
    let _ = write!(
        out,
        "<p><a href=\"{}\">订阅统计 · Readership</a></p><h1>{}</h1>\
         <p>{} subscribers today: {} from aggregators, {} direct readers; {} requests.</p>",
        esc(&format!("{}stats", config.site.base_url)),
        esc(name),
        summary.subscribers,
        summary.aggregator_subscribers,
        summary.direct_readers,
        summary.requests
    );
    let chart_title = format!("{name}: subscribers per day, last {} days", series.len());
    out.push_str(&daily_chart(&chart_title, series, Style::Line));
    out.push_str("<h2>By aggregator (today)</h2>");
    let aggregators = by_aggregator(today);
    if aggregators.is_empty() {
        out.push_str("<p class=\"meta\">No aggregator has reported subscribers today.</p>");
    } else {
        out.push_str(
            "<div class=\"wrap\"><table><thead><tr><th>Aggregator</th><th>Subscribers</th></tr></thead><tbody>",
        );
        for (n, c) in aggregators {
            let _ = write!(out, "<tr><td>{}</td><td>{c}</td></tr>", esc(&n));
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("<h2>By format (today)</h2>");
    out.push_str(
        "<div class=\"wrap\"><table><thead><tr><th>Format</th><th>Requests</th><th>304</th><th>Bytes</th>\
         <th>Direct readers</th></tr></thead><tbody>",
    );
    for (variant, v) in &today.variants {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(variant),
            v.requests,
            v.not_modified,
            v.bytes,
            v.readers
        );
    }
    out.push_str("</tbody></table></div></body></html>\n");
    out
}
