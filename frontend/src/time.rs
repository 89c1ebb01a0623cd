//! Times as people read them: in the browser's own time zone, "5 min ago" for the last day, and the exact
//! instant (to the second, with the zone) on hover and in the audit log.
//!
//! The API speaks UTC (RFC 3339); the browser's `Date` knows the zone the person is in, so the conversion
//! happens here, in the few lines that ask `Date`, and everything else is plain functions with tests.

use js_sys::Date;
use wasm_bindgen::JsValue;

/// An instant broken down in the browser's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Minutes east of UTC (`60` in Paris in winter).
    pub offset_minutes: i32,
}

/// How a time from the API is shown: `text` in the page, `exact` on hover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownTime {
    pub text: String,
    pub exact: String,
}

/// `rfc3339` as this browser's local time, or `None` when it is not a time.
pub fn shown_time(rfc3339: &str, with_seconds: bool) -> Option<ShownTime> {
    let millis = Date::parse(rfc3339);
    if millis.is_nan() {
        return None;
    }
    let date = Date::new(&JsValue::from_f64(millis));
    let local = LocalTime {
        year: date.get_full_year() as i32,
        month: date.get_month() + 1,
        day: date.get_date(),
        hour: date.get_hours(),
        minute: date.get_minutes(),
        second: date.get_seconds(),
        // `getTimezoneOffset` counts minutes west of UTC.
        offset_minutes: -(date.get_timezone_offset() as i32),
    };
    let seconds_ago = (Date::now() - millis) / 1000.0;
    Some(describe(&local, seconds_ago, with_seconds))
}

/// The text and the exact time of `at`, which was `seconds_ago` seconds before now: within the last day
/// relative (`just now`, `5 min ago`, `3 h ago`), before that (or in the future, when clocks disagree) the
/// local date and time; `with_seconds` always shows the date and time to the second (the audit log).
pub fn describe(at: &LocalTime, seconds_ago: f64, with_seconds: bool) -> ShownTime {
    let date = format!("{:04}-{:02}-{:02}", at.year, at.month, at.day);
    let exact = format!(
        "{date} {:02}:{:02}:{:02} {}",
        at.hour,
        at.minute,
        at.second,
        offset_label(at.offset_minutes)
    );
    let text = if with_seconds {
        format!("{date} {:02}:{:02}:{:02}", at.hour, at.minute, at.second)
    } else if (0.0..60.0).contains(&seconds_ago) {
        "just now".to_owned()
    } else if (60.0..3600.0).contains(&seconds_ago) {
        format!("{} min ago", (seconds_ago / 60.0).floor())
    } else if (3600.0..86_400.0).contains(&seconds_ago) {
        format!("{} h ago", (seconds_ago / 3600.0).floor())
    } else {
        format!("{date} {:02}:{:02}", at.hour, at.minute)
    };
    ShownTime { text, exact }
}

/// `UTC`, `UTC+01:00`, `UTC-05:30`.
pub fn offset_label(offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return "UTC".to_owned();
    }
    let sign = if offset_minutes > 0 { '+' } else { '-' };
    let minutes = offset_minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The first (or, with `end`, the last) instant of a day picked in a date field (`2025-06-01`), in this
/// browser's time zone, as the RFC 3339 UTC time the API filters by; `None` for an empty or malformed field.
pub fn local_day_bound(day: &str, end: bool) -> Option<String> {
    let (year, month, date) = parse_day(day)?;
    let bound = if end {
        Date::new_with_year_month_day_hr_min_sec_milli(
            year,
            month as i32 - 1,
            date as i32,
            23,
            59,
            59,
            999,
        )
    } else {
        Date::new_with_year_month_day(year, month as i32 - 1, date as i32)
    };
    (!bound.get_time().is_nan()).then(|| String::from(bound.to_iso_string()))
}

/// `2025-06-01` → `(2025, 6, 1)`.
pub fn parse_day(day: &str) -> Option<(u32, u32, u32)> {
    let well_formed = day.len() == 10
        && day.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !well_formed {
        return None;
    }
    let year = day[..4].parse().ok()?;
    let month = day[5..7].parse().ok()?;
    let date = day[8..].parse().ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&date)).then_some((year, month, date))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32, minute: u32, second: u32, offset_minutes: i32) -> LocalTime {
        LocalTime {
            year: 2026,
            month: 12,
            day: 2,
            hour,
            minute,
            second,
            offset_minutes,
        }
    }

    #[test]
    fn recent_times_read_relative_and_older_ones_as_the_local_date_and_time() {
        let time = at(14, 5, 31, 60);
        assert_eq!(describe(&time, 12.0, false).text, "just now");
        assert_eq!(describe(&time, 5.0 * 60.0 + 3.0, false).text, "5 min ago");
        assert_eq!(describe(&time, 3.0 * 3600.0 + 10.0, false).text, "3 h ago");
        assert_eq!(
            describe(&time, 2.0 * 86_400.0, false).text,
            "2026-12-02 14:05"
        );
        // A clock ahead of the browser's: the time itself, never "in -3 min".
        assert_eq!(describe(&time, -180.0, false).text, "2026-12-02 14:05");
    }

    #[test]
    fn the_exact_time_has_seconds_and_the_zone_and_the_audit_log_shows_seconds() {
        let shown = describe(&at(9, 7, 3, 60), 30.0, true);
        assert_eq!(shown.text, "2026-12-02 09:07:03");
        assert_eq!(shown.exact, "2026-12-02 09:07:03 UTC+01:00");
        assert_eq!(offset_label(0), "UTC");
        assert_eq!(offset_label(-330), "UTC-05:30");
    }

    #[test]
    fn only_well_formed_days_are_parsed() {
        assert_eq!(parse_day("2025-06-01"), Some((2025, 6, 1)));
        for bad in ["", "06/01/2025", "2025-13-01", "2025-06-00", "2025-6-1"] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }
}
