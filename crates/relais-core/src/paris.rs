//! Provider local time: the French providers write times as Europe/Paris
//! wall-clock time without an offset, in their doors' requests and in the
//! reports their APIs push to the connectors. This module reads them into
//! timestamps and writes timestamps back in their formats.
//!
//! Reading is strict: impossible dates (`2026-02-30`) are refused, and so is
//! a wall-clock time that does not exist because the clocks jump forward
//! (02:30 on the last Sunday of March). A time that happens twice when the
//! clocks go back (02:30 on the last Sunday of October) is the first one.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, Zoned};

/// Milliseconds since the Unix epoch, as the store keeps times.
type Millis = i64;

/// A local time that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    #[error("{0:?} is not a date in the expected format ({1})")]
    Malformed(String, &'static str),
    #[error("{0:?} is not a real date or time")]
    Impossible(String),
    #[error("{0} does not exist in Europe/Paris (the clocks jump forward then)")]
    Skipped(DateTime),
}

/// The providers' zone.
pub fn zone() -> TimeZone {
    // jiff ships the time zone database it falls back to, so the lookup
    // cannot fail for this name; UTC is a last resort that keeps us running.
    TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC)
}

/// `Y-m-d H:i:s`, as SMSFactor writes dates.
pub const DATETIME_FORMAT: &str = "Y-m-d H:i:s";

/// Reads `2024-12-01 10:38:06` (Europe/Paris).
pub fn parse_datetime(value: &str) -> Result<Timestamp, LocalTimeError> {
    let value = value.trim();
    let (date, time) = value
        .split_once(' ')
        .ok_or_else(|| LocalTimeError::Malformed(value.into(), DATETIME_FORMAT))?;
    let date = ymd(date).ok_or_else(|| LocalTimeError::Malformed(value.into(), DATETIME_FORMAT))?;
    let fields: Vec<&str> = time.trim().split(':').collect();
    let [h, m, s] = fields[..] else {
        return Err(LocalTimeError::Malformed(value.into(), DATETIME_FORMAT));
    };
    let number = |f: &str| {
        (f.len() == 2 && f.bytes().all(|b| b.is_ascii_digit()))
            .then(|| f.parse::<i8>().ok())
            .flatten()
            .ok_or_else(|| LocalTimeError::Malformed(value.into(), DATETIME_FORMAT))
    };
    let (h, m, s) = (number(h)?, number(m)?, number(s)?);
    let date =
        Date::new(date.0, date.1, date.2).map_err(|_| LocalTimeError::Impossible(value.into()))?;
    let time = Time::new(h, m, s, 0).map_err(|_| LocalTimeError::Impossible(value.into()))?;
    to_timestamp(date.to_datetime(time))
}

/// Reads a date only, `2024-12-01`, as the start of that day (Europe/Paris).
pub fn parse_date_start(value: &str) -> Result<Timestamp, LocalTimeError> {
    let value = value.trim();
    let (y, m, d) = ymd(value).ok_or_else(|| LocalTimeError::Malformed(value.into(), "Y-m-d"))?;
    let date = Date::new(y, m, d).map_err(|_| LocalTimeError::Impossible(value.into()))?;
    start_of_day(date)
}

/// Reads `dd/mm/YYYY` (SMS Partner's dates).
pub fn parse_dmy(value: &str) -> Result<Date, LocalTimeError> {
    let value = value.trim();
    let malformed = || LocalTimeError::Malformed(value.into(), "dd/mm/YYYY");
    let parts: Vec<&str> = value.split('/').collect();
    let [d, m, y] = parts[..] else {
        return Err(malformed());
    };
    let digits = |f: &str, len: usize| f.len() == len && f.bytes().all(|b| b.is_ascii_digit());
    if !(digits(d, 2) && digits(m, 2) && digits(y, 4)) {
        return Err(malformed());
    }
    let (Ok(d), Ok(m), Ok(y)) = (d.parse(), m.parse(), y.parse()) else {
        return Err(malformed());
    };
    Date::new(y, m, d).map_err(|_| LocalTimeError::Impossible(value.into()))
}

/// The instant of a local date and wall-clock time.
pub fn at(date: Date, hour: i8, minute: i8) -> Result<Timestamp, LocalTimeError> {
    let time = Time::new(hour, minute, 0, 0)
        .map_err(|_| LocalTimeError::Impossible(format!("{hour:02}:{minute:02}")))?;
    to_timestamp(date.to_datetime(time))
}

/// The first instant of a local date (midnight, or later if it was skipped).
pub fn start_of_day(date: Date) -> Result<Timestamp, LocalTimeError> {
    date.to_zoned(zone())
        .map(|z| z.timestamp())
        .map_err(|_| LocalTimeError::Impossible(date.to_string()))
}

fn to_timestamp(local: DateTime) -> Result<Timestamp, LocalTimeError> {
    let offset = match zone().to_ambiguous_zoned(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset,
        AmbiguousOffset::Gap { .. } => return Err(LocalTimeError::Skipped(local)),
        AmbiguousOffset::Fold { before, .. } => before,
    };
    offset
        .to_timestamp(local)
        .map_err(|_| LocalTimeError::Impossible(local.to_string()))
}

/// `(year, month, day)` of `YYYY-MM-DD`, digits checked, not the calendar.
fn ymd(value: &str) -> Option<(i16, i8, i8)> {
    let parts: Vec<&str> = value.split('-').collect();
    let [y, m, d] = parts[..] else { return None };
    let digits = |f: &str, len: usize| f.len() == len && f.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
        return None;
    }
    Some((y.parse().ok()?, m.parse().ok()?, d.parse().ok()?))
}

fn zoned(ms: Millis) -> Zoned {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(zone())
}

/// `2024-07-25 06:23:06` in Europe/Paris.
pub fn format_datetime(ms: Millis) -> String {
    zoned(ms).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// `2024-07-25T06:23:06+02:00`: Europe/Paris with its offset.
pub fn format_offset(ms: Millis) -> String {
    zoned(ms).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn reads_paris_wall_clock_time_in_winter_and_summer() {
        assert_eq!(
            parse_datetime("2024-12-01 10:38:06").unwrap(),
            ts("2024-12-01T09:38:06Z")
        );
        assert_eq!(
            parse_datetime(" 2024-07-25 06:23:06 ").unwrap(),
            ts("2024-07-25T04:23:06Z")
        );
    }

    #[test]
    fn dst_gap_is_refused_and_fold_takes_the_first() {
        assert!(matches!(
            parse_datetime("2025-03-30 02:30:00"),
            Err(LocalTimeError::Skipped(_))
        ));
        assert_eq!(
            parse_datetime("2025-10-26 02:30:00").unwrap(),
            ts("2025-10-26T00:30:00Z")
        );
        assert_eq!(
            parse_datetime("2025-03-30 03:00:00").unwrap(),
            ts("2025-03-30T01:00:00Z")
        );
    }

    #[test]
    fn impossible_and_malformed_dates() {
        for bad in [
            "2026-02-30 10:00:00",
            "2026-01-01 24:00:00",
            "2026-01-01 10:61:00",
        ] {
            assert!(
                matches!(parse_datetime(bad), Err(LocalTimeError::Impossible(_))),
                "{bad}"
            );
        }
        for bad in [
            "2026-01-01",
            "2026-1-01 10:00:00",
            "01/02/2026 10:00:00",
            "",
            "2026-01-01T10:00:00",
        ] {
            assert!(
                matches!(parse_datetime(bad), Err(LocalTimeError::Malformed(..))),
                "{bad}"
            );
        }
    }

    #[test]
    fn day_month_year_dates() {
        let date = parse_dmy("18/08/2018").unwrap();
        assert_eq!(at(date, 20, 0).unwrap(), ts("2018-08-18T18:00:00Z"));
        assert!(matches!(
            parse_dmy("31/02/2026"),
            Err(LocalTimeError::Impossible(_))
        ));
        assert!(matches!(
            parse_dmy("2026-02-01"),
            Err(LocalTimeError::Malformed(..))
        ));
        assert!(matches!(
            parse_dmy("1/2/2026"),
            Err(LocalTimeError::Malformed(..))
        ));
        assert!(matches!(
            at(date, 24, 0),
            Err(LocalTimeError::Impossible(_))
        ));
    }

    #[test]
    fn date_starts() {
        assert_eq!(
            parse_date_start("2024-07-25").unwrap(),
            ts("2024-07-24T22:00:00Z")
        );
        assert!(parse_date_start("2024-13-01").is_err());
    }

    #[test]
    fn writes_paris_time() {
        let ms = ts("2024-07-25T04:23:06Z").as_millisecond();
        assert_eq!(format_datetime(ms), "2024-07-25 06:23:06");
        assert_eq!(format_offset(ms), "2024-07-25T06:23:06+02:00");
        let winter = ts("2024-12-01T09:38:06Z").as_millisecond();
        assert_eq!(format_offset(winter), "2024-12-01T10:38:06+01:00");
    }
}
