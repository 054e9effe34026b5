//! Time: "now", the instants sihai accepts, site time in both directions, and every date
//! form sihai writes or reads on the wire (RFC 822 for RSS, RFC 3339 for Atom, JSON Feed
//! and the API, HTTP dates for `Last-Modified` / `If-Modified-Since`).
//!
//! Instants are Unix seconds (`i64`) everywhere; a date becomes site time only when it is
//! shown. A leaf: it imports nothing from sihai, so every stage can use it.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// Earliest instant accepted (1991-01-01T00:00:00Z): before the web, validators call it
/// implausible.
pub const EARLIEST: i64 = 662_688_000;
/// Latest instant accepted (2100-01-01T00:00:00Z).
pub const LATEST: i64 = 4_102_444_800;

/// Now, in Unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An instant in the site's time zone (the epoch for an instant chrono cannot represent).
pub fn site_time(tz: Tz, t: i64) -> DateTime<Tz> {
    tz.timestamp_opt(t, 0).single().unwrap_or_else(|| tz.timestamp_opt(0, 0).unwrap())
}

/// The site-time day of an instant.
pub fn site_day(tz: Tz, t: i64) -> NaiveDate {
    site_time(tz, t).date_naive()
}

/// The instant a site-time day begins (its midnight, by the DST rules of
/// [`local_to_instant`]); `None` at the edges of the calendar.
pub fn day_start(tz: Tz, day: NaiveDate) -> Option<i64> {
    local_to_instant(day.and_time(chrono::NaiveTime::MIN), tz)
}

/// A site-time wall clock reading as an instant. A local time that does not exist (a DST
/// gap) is read with the offset in force just before the gap, so it lands as far after
/// the gap's start as it was written; a local time that exists twice (a DST overlap) is
/// the earlier instant. `None` for a reading at the edges of chrono's calendar (years
/// around ±262,000), where no offset can be applied: input can carry such dates, so this
/// never panics on them.
pub fn local_to_instant(naive: NaiveDateTime, tz: Tz) -> Option<i64> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) => Some(dt.timestamp()),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.timestamp()),
        LocalResult::None => {
            // In a gap: find the offset just before it (gaps last at most a few hours).
            let mut back = Duration::minutes(15);
            while back <= Duration::hours(26) {
                let before = naive.checked_sub_signed(back)?;
                if let LocalResult::Single(before) = tz.from_local_datetime(&before) {
                    let offset = chrono::Offset::fix(before.offset()).local_minus_utc();
                    return naive.and_utc().timestamp().checked_sub(i64::from(offset));
                }
                back += Duration::minutes(15);
            }
            Some(naive.and_utc().timestamp())
        }
    }
}

/// RSS's date form: `Fri, 03 Sep 2021 00:00:00 +0800`.
pub fn rfc822(t: &DateTime<Tz>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

/// An instant as RFC 3339 in site time: `2021-09-03T00:00:00+08:00`.
pub fn rfc3339(tz: Tz, t: i64) -> String {
    site_time(tz, t).to_rfc3339()
}

/// An instant as an HTTP date (`Fri, 03 Sep 2021 00:00:00 GMT`).
pub fn http_date(t: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64);
    httpdate::fmt_http_date(t)
}

/// An HTTP date in any of RFC 9110's three forms, as an instant; `None` if it is not one.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(s).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    #[test]
    fn every_written_form_of_one_instant() {
        let t = 1_630_598_400; // 2021-09-03T00:00:00+08:00
        assert_eq!(rfc822(&site_time(Shanghai, t)), "Fri, 03 Sep 2021 00:00:00 +0800");
        assert_eq!(rfc3339(Shanghai, t), "2021-09-03T00:00:00+08:00");
        assert_eq!(http_date(t), "Thu, 02 Sep 2021 16:00:00 GMT");
        for form in ["Thu, 02 Sep 2021 16:00:00 GMT", "Thursday, 02-Sep-21 16:00:00 GMT", "Thu Sep  2 16:00:00 2021"] {
            assert_eq!(parse_http_date(form), Some(t), "{form}");
        }
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(site_day(Shanghai, t).to_string(), "2021-09-03");
        assert_eq!(day_start(Shanghai, site_day(Shanghai, t + 3600)), Some(t));
        assert_eq!(day_start(Shanghai, NaiveDate::MIN), None, "the first day of the calendar has no midnight instant");
        assert!(day_start(Shanghai, NaiveDate::MAX).is_some());
    }
}
