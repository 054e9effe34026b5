//! A daily series (subscribers, readers, requests) -> an SVG chart for the stats pages.
//!
//! Server-rendered, no JavaScript: one `<svg>` element to put inline in a page. It scales
//! to the page's width (`viewBox` with `width="100%"`, so a phone shows it whole), labels
//! a few dates and the top of the scale, and is accessible (`role="img"`, an `aria-label`,
//! `<title>` and a `<desc>` that says the figures in words). Colours are the pages' own
//! (`feed/html.rs`: links `#0645ad`, secondary text `#666`). Every text is made
//! XML-legal and escaped with `text`'s helpers, so a title from the config cannot break
//! the page. Pure: a function from values to a string.

use std::fmt::Write;

use chrono::NaiveDate;

use crate::text::{escape_html, strip_xml_illegal};

/// How the series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A line through the days (long series: 90 days of subscribers).
    Line,
    /// A bar per day (short series: a week of requests).
    Bars,
}

// The drawing's own units; the SVG scales them to the page.
// 480 units wide: on a 390-pixel phone the 14-unit labels are about 10 pixels, still
// readable (at 640 units they were 7).
const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 30.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;
const INK: &str = "#0645ad";
const MUTED: &str = "#666";
const GRID: &str = "#ddd";

/// The chart of `series` (one value a day; any order, gaps allowed: days are placed by
/// date) titled `title`, as an `<svg>` element.
pub fn daily_chart(title: &str, series: &[(NaiveDate, u64)], style: Style) -> String {
    let title = escape_html(&strip_xml_illegal(title));
    let mut points = series.to_vec();
    points.sort_by_key(|&(d, _)| d);
    let summary = escape_html(&summary(&points));
    let mut svg = String::with_capacity(1024 + points.len() * 24);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" \
         role=\"img\" aria-label=\"{title}. {summary}\" font-family=\"system-ui,sans-serif\" font-size=\"14\">\
         <title>{title}</title><desc>{summary}</desc>\
         <text x=\"{LEFT}\" y=\"20\" font-size=\"16\" fill=\"#222\">{title}</text>"
    );
    let max = points.iter().map(|&(_, v)| v).max().unwrap_or(0);
    let top = nice_ceiling(max);
    // Grid and the value axis: 0, the middle when it is whole, the top.
    let mut marks = vec![0u128, top];
    if top % 2 == 0 {
        marks.push(top / 2);
    }
    for m in marks {
        let y = y_of(m as f64, top);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{MUTED}\">{}</text>",
            LEFT + PLOT_W,
            LEFT - 6.0,
            y + 4.0,
            compact(m)
        );
    }
    let (Some(&(first, _)), Some(&(last, _))) = (points.first(), points.last()) else {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{MUTED}\">No data yet</text></svg>",
            LEFT + PLOT_W / 2.0,
            TOP + PLOT_H / 2.0
        );
        return svg;
    };
    let span = (last - first).num_days().max(0) as f64;
    // Day d's centre: the whole width for a line, a slot per day for bars.
    let slot = PLOT_W / (span + 1.0);
    let x_of = |d: NaiveDate| -> f64 {
        let i = (d - first).num_days().max(0) as f64;
        match style {
            Style::Line if span > 0.0 => LEFT + PLOT_W * i / span,
            Style::Line => LEFT + PLOT_W / 2.0,
            Style::Bars => LEFT + slot * (i + 0.5),
        }
    };
    match style {
        Style::Line => {
            svg.push_str("<polyline fill=\"none\" stroke=\"");
            svg.push_str(INK);
            svg.push_str("\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"");
            for (i, &(d, v)) in points.iter().enumerate() {
                let sep = if i == 0 { "" } else { " " };
                let _ = write!(svg, "{sep}{:.1},{:.1}", x_of(d), y_of(v as f64, top));
            }
            svg.push_str("\"/>");
            if let Some(&(d, v)) = points.last() {
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{INK}\"/>",
                    x_of(d),
                    y_of(v as f64, top)
                );
            }
        }
        Style::Bars => {
            let w = (slot * 0.8).max(0.5);
            for &(d, v) in &points {
                let y = y_of(v as f64, top);
                let _ = write!(
                    svg,
                    "<rect x=\"{:.2}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{:.1}\" fill=\"{INK}\"/>",
                    x_of(d) - w / 2.0,
                    (TOP + PLOT_H - y).max(0.0)
                );
            }
        }
    }
    // A few dates: the first, the middle and the last day shown.
    let mut labels = vec![(first, "start"), (last, "end")];
    let middle = points[points.len() / 2].0;
    if middle != first && middle != last {
        labels.push((middle, "middle"));
    }
    if first == last {
        labels = vec![(first, "middle")];
    }
    for (d, anchor) in labels {
        let x = match anchor {
            "start" => LEFT,
            "end" => LEFT + PLOT_W,
            _ => x_of(d),
        };
        let _ = write!(
            svg,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"{MUTED}\">{}</text>",
            HEIGHT - 10.0,
            d.format("%Y-%m-%d")
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The figures in words, for screen readers and the `<desc>`.
fn summary(points: &[(NaiveDate, u64)]) -> String {
    let (Some(&(first, _)), Some(&(last, latest))) = (points.first(), points.last()) else {
        return "No data yet.".to_string();
    };
    let Some(&(peak_day, peak)) = points.iter().max_by_key(|&&(d, v)| (v, std::cmp::Reverse(d))) else {
        return "No data yet.".to_string();
    };
    let days = if points.len() == 1 { "1 day".to_string() } else { format!("{} days", points.len()) };
    format!(
        "{days} from {first} to {last}; latest {}; highest {} on {peak_day}.",
        grouped(latest as u128),
        grouped(peak as u128)
    )
}

/// The y coordinate of `v` on a scale from 0 to `top`.
fn y_of(v: f64, top: u128) -> f64 {
    let top = top.max(1) as f64;
    TOP + PLOT_H - (v / top).clamp(0.0, 1.0) * PLOT_H
}

/// The smallest 1, 2 or 5 x 10^k at or above `max` (1 for an all-zero series), in u128 so
/// `u64::MAX` has one (2 x 10^19).
fn nice_ceiling(max: u64) -> u128 {
    let max = u128::from(max).max(1);
    let mut p: u128 = 1;
    loop {
        for m in [1, 2, 5] {
            if m * p >= max {
                return m * p;
            }
        }
        p *= 10;
    }
}

/// `n` short enough for the value axis: 9,999, 10k, 2.5M, 20E.
fn compact(n: u128) -> String {
    if n < 10_000 {
        return grouped(n);
    }
    let units = ["k", "M", "G", "T", "P", "E", "Z"];
    let mut scaled = n as f64;
    for unit in units {
        scaled /= 1000.0;
        if scaled < 1000.0 {
            return if scaled.fract() == 0.0 || scaled >= 10.0 {
                format!("{scaled:.0}{unit}")
            } else {
                format!("{scaled:.1}{unit}")
            };
        }
    }
    grouped(n)
}

/// `n` with thousands separators: 1,234,567.
fn grouped(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Duration::days(n)
    }

    /// Parses `svg` strictly and returns its texts (title, desc, labels).
    #[track_caller]
    fn well_formed(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.attribute("role"), Some("img"));
        assert!(root.attribute("aria-label").is_some_and(|l| !l.is_empty()));
        assert_eq!(root.attribute("width"), Some("100%"));
        assert!(root.attribute("viewBox").is_some());
        assert!(root.children().any(|n| n.has_tag_name("title")));
        assert!(!svg.contains("<script"), "no script");
        let handlers = doc.descendants().flat_map(|n| n.attributes()).any(|a| a.name().starts_with("on"));
        assert!(!handlers, "no event handlers");
        doc.descendants().filter(|n| n.is_text()).map(|n| n.text().unwrap_or("").to_string()).collect()
    }

    #[test]
    fn empty_one_point_and_400_points_are_well_formed() {
        for style in [Style::Line, Style::Bars] {
            let texts = well_formed(&daily_chart("Subscribers", &[], style));
            assert!(texts.iter().any(|t| t == "No data yet"));

            let texts = well_formed(&daily_chart("Subscribers", &[(day(0), 7)], style));
            assert!(texts.iter().any(|t| t == "2025-01-01"), "{texts:?}");

            let series: Vec<_> = (0..400).map(|i| (day(i), (i * 37 % 1000) as u64)).collect();
            let svg = daily_chart("Subscribers", &series, style);
            let texts = well_formed(&svg);
            for date in ["2025-01-01", "2026-02-04"] {
                assert!(texts.iter().any(|t| t == date), "{date} in {texts:?}");
            }
            assert!(texts.iter().any(|t| t == "1,000"), "the top of the scale: {texts:?}");
        }
    }

    #[test]
    fn huge_values_are_well_formed_and_on_the_chart() {
        let series = [(day(0), 0), (day(1), u64::MAX), (day(2), u64::MAX / 2)];
        for style in [Style::Line, Style::Bars] {
            let svg = daily_chart("Huge", &series, style);
            let texts = well_formed(&svg);
            assert!(texts.iter().any(|t| t == "20E"), "{texts:?}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            assert!(svg.contains("18,446,744,073,709,551,615"));
        }
        assert_eq!(nice_ceiling(u64::MAX), 20_000_000_000_000_000_000);
    }

    #[test]
    fn every_text_is_escaped_and_xml_legal() {
        let title = "<script>alert(1)</script> & \"q\" 'a' \u{1}\u{b}\u{fffe}订阅";
        let svg = daily_chart(title, &[(day(0), 1), (day(3), 2)], Style::Line);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let t = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
        assert_eq!(t.text(), Some("<script>alert(1)</script> & \"q\" 'a' 订阅"));
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn days_are_placed_by_date_and_summarized() {
        // Unsorted, with a gap: sorted by date, the summary names the peak.
        let series = [(day(9), 5), (day(0), 1), (day(2), 9)];
        let svg = daily_chart("Readers", &series, Style::Line);
        assert!(svg.contains("3 days from 2025-01-01 to 2025-01-10; latest 5; highest 9 on 2025-01-03."), "{svg}");
        assert!(svg.contains("points=\"56.0,"), "{svg}");
    }

    #[test]
    fn scale_labels() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(1000), 1000);
        assert_eq!(compact(9_999), "9,999");
        assert_eq!(compact(20_000), "20k");
        assert_eq!(compact(2_500_000), "2.5M");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
