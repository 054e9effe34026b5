//! Article dates: the forms publishers send, read into one instant.
//!
//! Accepted: RFC 3339 (`2021-09-03T08:00:00+08:00`, `Z`, a space for `T`), a local
//! date-time `YYYY-MM-DD HH:MM[:SS]` (or with `T`), and a date `YYYY-MM-DD` (00:00). Forms
//! without an offset are in site time. A local time that does not exist (a DST gap) is
//! read with the offset in force just before the gap, so it lands as far after the gap's
//! start as it was written; a local time that exists twice (a DST overlap) is the earlier
//! instant ([`crate::time::local_to_instant`]). Sub-second parts are dropped: feeds print
//! whole seconds.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

use crate::time::{local_to_instant, EARLIEST, LATEST};

/// Reads a date in any accepted form; the error says what was expected.
pub fn parse_instant(text: &str, tz: Tz) -> Result<i64, String> {
    let t = text.trim();
    let instant = if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        dt.timestamp()
    } else if let Some(naive) = parse_local(t) {
        local_to_instant(naive, tz).unwrap_or(i64::MIN)
    } else {
        return Err(format!(
            "{t:?} is not a date: use RFC 3339 (2021-09-03T08:00:00+08:00), \"YYYY-MM-DD HH:MM[:SS]\" or \"YYYY-MM-DD\" (site time)"
        ));
    };
    if !(EARLIEST..LATEST).contains(&instant) {
        return Err(format!("{t:?} is out of range: dates must fall between 1991 and 2099"));
    }
    Ok(instant)
}

fn parse_local(t: &str) -> Option<NaiveDateTime> {
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(dt.with_nanosecond_zero());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
}

trait DropNanos {
    fn with_nanosecond_zero(self) -> Self;
}

impl DropNanos for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        chrono::Timelike::with_nanosecond(&self, 0).unwrap_or(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Asia::Shanghai};

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn every_form_reads_to_the_same_instant() {
        let want = at("2021-09-03T00:00:00+08:00");
        for form in [
            "2021-09-03",
            " 2021-09-03 ",
            "2021-09-03 00:00",
            "2021-09-03 00:00:00",
            "2021-09-03T00:00:00",
            "2021-09-03T00:00",
            "2021-09-03T00:00:00+08:00",
            "2021-09-02T16:00:00Z",
            "2021-09-02t16:00:00z",
            "2021-09-02 16:00:00Z",
            "2021-09-02T16:00:00.999Z",
        ] {
            assert_eq!(parse_instant(form, Shanghai), Ok(want), "{form}");
        }
    }

    #[test]
    fn bad_dates_are_refused_with_the_forms() {
        for bad in ["yesterday", "2021-13-01", "2021-02-30", "03/09/2021", "", "2021-09-03 25:00"] {
            let e = parse_instant(bad, Shanghai).unwrap_err();
            assert!(e.contains("RFC 3339"), "{bad}: {e}");
        }
        assert!(parse_instant("1970-01-01", Shanghai).unwrap_err().contains("out of range"));
        assert!(parse_instant("9999-01-01", Shanghai).unwrap_err().contains("out of range"));
    }

    #[test]
    fn dst_gap_and_overlap_resolve_deterministically() {
        // 2021-03-14 02:30 does not exist in New York: read with EST (-05:00).
        assert_eq!(parse_instant("2021-03-14 02:30", New_York), Ok(at("2021-03-14T02:30:00-05:00")));
        // 2021-11-07 01:30 exists twice: the earlier (EDT, -04:00).
        assert_eq!(parse_instant("2021-11-07 01:30", New_York), Ok(at("2021-11-07T01:30:00-04:00")));
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;
    use chrono_tz::{America::New_York, Asia::Shanghai};

    #[test]
    fn dates_at_the_edges_of_the_calendar_are_refused_not_panics() {
        for text in [
            "-262143-01-01",
            "+262142-12-31",
            "-262143-01-01 00:00",
            "262142-12-31T23:59:59",
            "+262142-12-31T23:59:59+14:00",
            "-9999-01-01",
            "0000-01-01",
            "9999-12-31T23:59:59-23:59",
            "1990-12-31T23:59:59Z",
            "2100-01-01T00:00:00Z",
        ] {
            for tz in [Shanghai, New_York] {
                let e = parse_instant(text, tz).expect_err(text);
                assert!(e.contains("out of range") || e.contains("is not a date"), "{text}: {e}");
            }
        }
        assert!(parse_instant("2099-12-31T23:59:59Z", Shanghai).is_ok());
    }
}
