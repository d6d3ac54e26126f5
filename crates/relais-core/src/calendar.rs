//! The commercial sending calendar: when a marketing SMS may be sent.
//!
//! This module owns public holidays ([`Holidays`], with the French ones computed
//! for any year), the per-zone sending window ([`SendingWindow`]: allowed
//! weekdays, a daily `[start, end)` window in a time zone, holidays), its
//! serde config form ([`SendingWindowConfig`]) and the per-country lookup
//! ([`Calendars`]).
//!
//! Everything is evaluated in *civil* time in the window's zone: an instant is
//! allowed when its local date is an open day and its local time of day is in
//! `[start, end)`. [`SendingWindow::next_allowed`] returns the earliest allowed
//! instant at or after a given one, which stays exact across DST changes (see
//! its documentation). Nothing here reads a clock: the current time is passed
//! in. The only outside data used is the time-zone database, through jiff.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How far [`SendingWindow::next_allowed`] looks ahead before giving up.
///
/// More than a year, so that any window with at least one open day a year is
/// found; a window that stays closed that long (every allowed day listed as a
/// holiday) is a configuration mistake, reported as `None`.
const HORIZON_DAYS: i64 = 400;

/// Why a sending window or calendar could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    #[error("invalid time of day {0:?}: expected HH:MM")]
    InvalidTime(String),
    #[error("invalid date {0:?}: expected YYYY-MM-DD")]
    InvalidDate(String),
    #[error("unknown weekday {0:?}: expected monday..sunday or mon..sun")]
    UnknownWeekday(String),
    #[error("the sending window has no allowed weekday")]
    NoWeekday,
    /// Windows crossing midnight (e.g. 22:00–06:00) are not supported.
    #[error("the sending window must start before it ends (start {start}, end {end})")]
    EmptyWindow { start: Time, end: Time },
    #[error("invalid country code {0:?}: expected two ASCII letters")]
    InvalidCountry(String),
}

/// Easter Sunday of `year` in the proleptic Gregorian calendar, by the
/// anonymous Gregorian (Meeus/Jones/Butcher) algorithm.
///
/// Meaningful from 1583; for earlier years it still returns a valid date in
/// March or April, computed by the same arithmetic.
pub fn easter_sunday(year: i16) -> Date {
    let y = i32::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    // h ∈ 0..30, l ∈ 0..7, m ∈ {0, 1}: n ∈ 107..=149, so month is 3 or 4
    // and the day is valid for it; the casts cannot truncate.
    let n = h + l - 7 * m + 114;
    Date::constant(year, (n / 31) as i8, (n % 31 + 1) as i8)
}

/// Days after Easter Sunday of the French movable holidays: Easter Monday,
/// Ascension Thursday and Whit Monday.
const FRENCH_EASTER_OFFSETS: [i16; 3] = [1, 39, 50];

/// The eight fixed French public holidays, as (month, day).
const FRENCH_FIXED: [(i8, i8); 8] = [
    (1, 1),
    (5, 1),
    (5, 8),
    (7, 14),
    (8, 15),
    (11, 1),
    (11, 11),
    (12, 25),
];

/// The French public holidays of `year`, sorted.
///
/// Usually eleven dates; fewer when Ascension falls on 1 or 8 May (as in 2008),
/// since each date is listed once.
pub fn french_holidays(year: i16) -> Vec<Date> {
    let easter = easter_sunday(year);
    let mut dates: Vec<Date> = FRENCH_FIXED
        .iter()
        .map(|&(month, day)| Date::constant(year, month, day))
        .chain(
            FRENCH_EASTER_OFFSETS
                .iter()
                .filter_map(|&days| easter.checked_add(jiff::Span::new().days(days)).ok()),
        )
        .collect();
    dates.sort_unstable();
    dates.dedup();
    dates
}

/// Allocation-free membership test behind [`Holidays::France`].
fn is_french_holiday(date: Date) -> bool {
    if FRENCH_FIXED.contains(&(date.month(), date.day())) {
        return true;
    }
    // The movable holidays all fall between late March and mid June of the
    // same year as their Easter, so day-of-year differences are exact.
    let since_easter = date.day_of_year() - easter_sunday(date.year()).day_of_year();
    FRENCH_EASTER_OFFSETS.contains(&since_easter)
}

/// Which dates are public holidays (no commercial sending).
///
/// Calendars combine with [`Holidays::and`], so an account can add its own
/// dates (a local holiday, a company closure) to a country's calendar:
/// `Holidays::France.and(Holidays::dates([...]))`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Holidays {
    /// No holiday.
    #[default]
    None,
    /// The eleven French public holidays, computed for any year.
    France,
    /// A fixed list of dates.
    Dates(BTreeSet<Date>),
    /// A date is a holiday when it is one in any of these calendars.
    Union(Vec<Holidays>),
}

impl Holidays {
    /// A calendar made of exactly these dates.
    pub fn dates(dates: impl IntoIterator<Item = Date>) -> Self {
        Holidays::Dates(dates.into_iter().collect())
    }

    /// Whether `date` is a holiday. No allocation; a few integer operations
    /// per computed calendar and a tree lookup per date list.
    pub fn contains(&self, date: Date) -> bool {
        match self {
            Holidays::None => false,
            Holidays::France => is_french_holiday(date),
            Holidays::Dates(dates) => dates.contains(&date),
            Holidays::Union(all) => all.iter().any(|holidays| holidays.contains(date)),
        }
    }

    /// The union of both calendars, kept flat.
    pub fn and(self, other: Holidays) -> Holidays {
        match (self, other) {
            (Holidays::None, only) | (only, Holidays::None) => only,
            (Holidays::Dates(mut a), Holidays::Dates(b)) => {
                a.extend(b);
                Holidays::Dates(a)
            }
            (Holidays::Union(mut a), Holidays::Union(b)) => {
                a.extend(b);
                Holidays::Union(a)
            }
            (Holidays::Union(mut all), one) | (one, Holidays::Union(mut all)) => {
                all.push(one);
                Holidays::Union(all)
            }
            (a, b) => Holidays::Union(vec![a, b]),
        }
    }
}

/// A set of weekdays (a 7-bit mask, Monday is bit 0).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(u8);

impl Weekdays {
    pub const NONE: Weekdays = Weekdays(0);
    pub const ALL: Weekdays = Weekdays(0b111_1111);
    /// The French commercial week: every day but Sunday.
    pub const MONDAY_TO_SATURDAY: Weekdays = Weekdays(0b011_1111);

    /// This set plus `day`.
    pub fn with(self, day: Weekday) -> Weekdays {
        Weekdays(self.0 | Self::bit(day))
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & Self::bit(day) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn bit(day: Weekday) -> u8 {
        1 << day.to_monday_zero_offset()
    }
}

impl FromIterator<Weekday> for Weekdays {
    fn from_iter<I: IntoIterator<Item = Weekday>>(days: I) -> Self {
        days.into_iter().fold(Weekdays::NONE, Weekdays::with)
    }
}

impl fmt::Debug for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = (0..7)
            .filter_map(|offset| Weekday::from_monday_zero_offset(offset).ok())
            .filter(|&day| self.contains(day));
        f.debug_set().entries(days).finish()
    }
}

/// When commercial SMS may be sent in one place: quiet hours, closed weekdays
/// and public holidays.
///
/// Either unrestricted ([`SendingWindow::always`]) or a daily window
/// `[start, end)` (end exclusive: with 08:00–20:00, 20:00:00 is outside) on the
/// allowed weekdays that are not holidays, all in civil time of one zone.
/// Windows crossing midnight are not supported (start must be before end).
///
/// Deserializes from a [`SendingWindowConfig`], validated.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "SendingWindowConfig")]
pub struct SendingWindow {
    /// `None`: no restriction at all.
    restriction: Option<Restriction>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Restriction {
    time_zone: TimeZone,
    days: Weekdays,
    start: Time,
    end: Time,
    holidays: Holidays,
}

impl SendingWindow {
    /// A window open on `days` from `start` (inclusive) to `end` (exclusive),
    /// local time in `time_zone`, except on `holidays`.
    pub fn new(
        time_zone: TimeZone,
        days: Weekdays,
        start: Time,
        end: Time,
        holidays: Holidays,
    ) -> Result<Self, CalendarError> {
        if days.is_empty() {
            return Err(CalendarError::NoWeekday);
        }
        if start >= end {
            return Err(CalendarError::EmptyWindow { start, end });
        }
        let restriction = Restriction {
            time_zone,
            days,
            start,
            end,
            holidays,
        };
        Ok(SendingWindow {
            restriction: Some(restriction),
        })
    }

    /// No restriction: every instant is allowed.
    pub fn always() -> Self {
        SendingWindow { restriction: None }
    }

    /// Metropolitan France: Europe/Paris, Monday to Saturday, 08:00–20:00,
    /// French public holidays.
    pub fn france() -> Self {
        Self::france_in(known_zone("Europe/Paris", "CET-1CEST,M3.5.0,M10.5.0/3"))
    }

    /// The French rules (Monday to Saturday, 08:00–20:00 local time, French
    /// public holidays) in another zone, for the overseas departments.
    pub fn france_in(time_zone: TimeZone) -> Self {
        let restriction = Restriction {
            time_zone,
            days: Weekdays::MONDAY_TO_SATURDAY,
            start: Time::constant(8, 0, 0, 0),
            end: Time::constant(20, 0, 0, 0),
            holidays: Holidays::France,
        };
        SendingWindow {
            restriction: Some(restriction),
        }
    }

    /// Whether nothing is ever deferred, so callers can skip the checks.
    pub fn is_unrestricted(&self) -> bool {
        self.restriction.is_none()
    }

    /// Whether a commercial SMS may be sent at `at`.
    pub fn is_allowed(&self, at: Timestamp) -> bool {
        self.restriction.as_ref().is_none_or(|r| r.allows(at))
    }

    /// The earliest allowed instant at or after `at`: `at` itself when it is
    /// allowed, otherwise the next opening of the window.
    ///
    /// Openings are computed in civil time in the zone, then converted, with
    /// both DST ambiguities handled explicitly rather than by a jiff
    /// [`Disambiguation`](jiff::tz::Disambiguation) default:
    /// - a window start in a *gap* (02:30 on the spring-forward day in Paris)
    ///   opens at the first instant after the gap (03:00 CEST), which is the
    ///   earliest instant whose local time is past the start; jiff's
    ///   `Compatible` and `Later` would give 03:30 and skip half an hour;
    /// - a window start in a *fold* (02:30 on the fall-back day) opens at its
    ///   first occurrence (`Earlier`), or at the second one when `at` is
    ///   already past the first;
    /// - a transition that moves the local time back into the window (a
    ///   window ending inside a fold) reopens it at the transition.
    ///
    /// `None` when the window does not open within 400 days (only possible
    /// when holidays cover every allowed day for over a year) or the search
    /// runs past the range of [`Timestamp`].
    pub fn next_allowed(&self, at: Timestamp) -> Option<Timestamp> {
        match &self.restriction {
            None => Some(at),
            Some(restriction) => restriction.next_allowed(at),
        }
    }
}

impl Restriction {
    fn is_open_day(&self, date: Date) -> bool {
        self.days.contains(date.weekday()) && !self.holidays.contains(date)
    }

    fn allows(&self, at: Timestamp) -> bool {
        let local = self.time_zone.to_datetime(at);
        let time = local.time();
        self.start <= time && time < self.end && self.is_open_day(local.date())
    }

    /// Allowed instants start either where the local time reaches `start` on
    /// an open day, or at a zone transition (a gap jumping over `start`, a fold
    /// moving back into the window). Hop from `at` to the nearer of the two
    /// kinds of candidates until one is allowed; transitions are rare, so this
    /// takes one or two hops in practice.
    fn next_allowed(&self, at: Timestamp) -> Option<Timestamp> {
        let limit = at
            .checked_add(SignedDuration::from_hours(24 * HORIZON_DAYS))
            .unwrap_or(Timestamp::MAX);
        let last_date = self.time_zone.to_datetime(limit).date();
        let mut t = at;
        while t <= limit {
            if self.allows(t) {
                return Some(t);
            }
            let opening = self.next_start(t, last_date);
            let transition = self.time_zone.following(t).next().map(|tr| tr.timestamp());
            t = opening.into_iter().chain(transition).min()?;
        }
        None
    }

    /// The earliest instant at or after `t` whose local time is exactly
    /// `start` on an open day no later than `last_date`. Until the next zone
    /// transition, local time only moves forward, so the search can start at
    /// the local date of `t`.
    fn next_start(&self, t: Timestamp, last_date: Date) -> Option<Timestamp> {
        let mut date = self.time_zone.to_datetime(t).date();
        while date <= last_date {
            if self.is_open_day(date) {
                let start = date.to_datetime(self.start);
                if let Some(found) = self.occurrences(start).find(|&ts| ts >= t) {
                    return Some(found);
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// The instants at which the local clock shows `dt`, in increasing order:
    /// one normally, two in a fold, none in a gap (where the opening is the
    /// transition instant, found by the caller).
    fn occurrences(&self, dt: DateTime) -> impl Iterator<Item = Timestamp> {
        let offsets = match self.time_zone.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => [Some(offset), None],
            AmbiguousOffset::Gap { .. } => [None, None],
            // In a fold the clock goes back, so `before` is the larger offset
            // and gives the earlier instant.
            AmbiguousOffset::Fold { before, after } => [Some(before), Some(after)],
        };
        offsets
            .into_iter()
            .flatten()
            .filter_map(move |offset| offset.to_timestamp(dt).ok())
    }
}

/// A built-in zone. jiff reads the system time-zone database, which a minimal
/// container image may lack; the built-in calendars then fall back to the
/// POSIX TZ rule equivalent to the zone's current rules, so they still work.
fn known_zone(name: &str, posix_rule: &str) -> TimeZone {
    TimeZone::get(name)
        .unwrap_or_else(|_| TimeZone::posix(posix_rule).expect("built-in POSIX TZ rules are valid"))
}

/// Which computed holiday calendar a [`SendingWindowConfig`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HolidayCalendar {
    None,
    France,
}

/// The serde form of a [`SendingWindow`], as written in configuration:
///
/// ```json
/// { "time_zone": "Europe/Paris",
///   "days": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday"],
///   "start": "08:00", "end": "20:00",
///   "holidays": "france", "extra_dates": ["2026-12-24"] }
/// ```
///
/// Days are English weekday names or their three-letter abbreviations, in any
/// case. Converting with [`SendingWindow::try_from`] validates everything.
/// An unrestricted window has no config form: leave the country out of the
/// [`Calendars`] instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendingWindowConfig {
    /// IANA name, e.g. `Europe/Paris`.
    pub time_zone: String,
    pub days: Vec<String>,
    /// `HH:MM`, inclusive.
    pub start: String,
    /// `HH:MM`, exclusive.
    pub end: String,
    pub holidays: HolidayCalendar,
    /// `YYYY-MM-DD` dates closed in addition to `holidays`.
    #[serde(default)]
    pub extra_dates: Vec<String>,
}

impl TryFrom<SendingWindowConfig> for SendingWindow {
    type Error = CalendarError;

    fn try_from(config: SendingWindowConfig) -> Result<Self, CalendarError> {
        let time_zone = TimeZone::get(&config.time_zone)
            .map_err(|_| CalendarError::UnknownTimeZone(config.time_zone.clone()))?;
        let days = config
            .days
            .iter()
            .map(|day| parse_weekday(day).ok_or_else(|| CalendarError::UnknownWeekday(day.clone())))
            .collect::<Result<Weekdays, _>>()?;
        let start = parse_time(&config.start)?;
        let end = parse_time(&config.end)?;
        let extra = config
            .extra_dates
            .iter()
            .map(|date| {
                date.parse()
                    .map_err(|_| CalendarError::InvalidDate(date.clone()))
            })
            .collect::<Result<BTreeSet<Date>, _>>()?;
        let computed = match config.holidays {
            HolidayCalendar::None => Holidays::None,
            HolidayCalendar::France => Holidays::France,
        };
        let holidays = if extra.is_empty() {
            computed
        } else {
            computed.and(Holidays::Dates(extra))
        };
        SendingWindow::new(time_zone, days, start, end, holidays)
    }
}

fn parse_weekday(name: &str) -> Option<Weekday> {
    const NAMES: [(&str, Weekday); 7] = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    let name = name.trim().to_ascii_lowercase();
    NAMES
        .iter()
        .find(|(full, _)| name == *full || (name.len() == 3 && full.starts_with(name.as_str())))
        .map(|&(_, day)| day)
}

/// `HH:MM` (seconds allowed, as `HH:MM:SS`).
fn parse_time(text: &str) -> Result<Time, CalendarError> {
    let invalid = || CalendarError::InvalidTime(text.to_owned());
    let (hour, rest) = text.split_once(':').ok_or_else(invalid)?;
    let (minute, second) = rest.split_once(':').unwrap_or((rest, "00"));
    let field = |digits: &str| -> Result<i8, CalendarError> {
        if digits.len() == 2 && digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse().map_err(|_| invalid())
        } else {
            Err(invalid())
        }
    };
    Time::new(field(hour)?, field(minute)?, field(second)?, 0).map_err(|_| invalid())
}

/// An ISO 3166 alpha-2 code as an uppercase key, `None` unless two ASCII
/// letters.
fn country_key(code: &str) -> Option<[u8; 2]> {
    match code.as_bytes() {
        &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

/// The sending window of each destination country, with a default for the
/// countries without one of their own.
///
/// Countries are ISO 3166 alpha-2 codes, in any case (`"FR"`, `"fr"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendars {
    default: SendingWindow,
    by_country: BTreeMap<[u8; 2], SendingWindow>,
}

impl Default for Calendars {
    /// No restriction anywhere.
    fn default() -> Self {
        Calendars::new(SendingWindow::always())
    }
}

impl Calendars {
    /// Every country uses `default` until given its own window.
    pub fn new(default: SendingWindow) -> Self {
        Calendars {
            default,
            by_country: BTreeMap::new(),
        }
    }

    /// Metropolitan France ([`SendingWindow::france`]) and the overseas
    /// departments with a number range of their own (RE, GP, MQ, GF, YT).
    /// French law on commercial SMS applies there too, so they get the same
    /// rules, read in their own local time (a 08:00 limit means 08:00 in
    /// Saint-Denis, not in Paris). Their local holidays (the abolition of
    /// slavery: e.g. 20 December in La Réunion) are not included; an account
    /// adds them with [`Holidays::and`]. Every other country is unrestricted.
    pub fn france_default() -> Self {
        let mut calendars = Calendars::default();
        calendars.by_country.insert(*b"FR", SendingWindow::france());
        let overseas = [
            (*b"RE", "Indian/Reunion", "<+04>-4"),
            (*b"GP", "America/Guadeloupe", "AST4"),
            (*b"MQ", "America/Martinique", "AST4"),
            (*b"GF", "America/Cayenne", "<-03>3"),
            (*b"YT", "Indian/Mayotte", "EAT-3"),
        ];
        for (country, zone, posix_rule) in overseas {
            let window = SendingWindow::france_in(known_zone(zone, posix_rule));
            calendars.by_country.insert(country, window);
        }
        calendars
    }

    /// Gives `country` its own window, returning the one it replaces.
    pub fn insert(
        &mut self,
        country: &str,
        window: SendingWindow,
    ) -> Result<Option<SendingWindow>, CalendarError> {
        let key = country_key(country)
            .ok_or_else(|| CalendarError::InvalidCountry(country.to_owned()))?;
        Ok(self.by_country.insert(key, window))
    }

    /// The window for `country`, or the default one (also for a code that is
    /// not two letters).
    pub fn for_country(&self, country: &str) -> &SendingWindow {
        country_key(country)
            .and_then(|key| self.by_country.get(&key))
            .unwrap_or(&self.default)
    }

    /// The window for countries without their own.
    pub fn default_window(&self) -> &SendingWindow {
        &self.default
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The POSIX fallbacks must agree with the time-zone database on the
    /// offset at every instant from 2000 to 2040: both are step functions, so
    /// comparing them at and just before every step of either is enough.
    #[test]
    fn posix_fallbacks_match_the_database() {
        let zones = [
            ("Europe/Paris", "CET-1CEST,M3.5.0,M10.5.0/3"),
            ("Indian/Reunion", "<+04>-4"),
            ("America/Guadeloupe", "AST4"),
            ("America/Martinique", "AST4"),
            ("America/Cayenne", "<-03>3"),
            ("Indian/Mayotte", "EAT-3"),
        ];
        let from: Timestamp = "2000-01-01T00:00:00Z".parse().unwrap();
        let to: Timestamp = "2040-01-01T00:00:00Z".parse().unwrap();
        for (name, rule) in zones {
            let db = TimeZone::get(name).unwrap();
            let posix = TimeZone::posix(rule).unwrap();
            let steps: Vec<Timestamp> = [&db, &posix]
                .into_iter()
                .flat_map(|tz| tz.following(from).take_while(|tr| tr.timestamp() < to))
                .map(|tr| tr.timestamp())
                .collect();
            let one_second = SignedDuration::from_secs(1);
            for t in steps
                .into_iter()
                .flat_map(|t| [t, t - one_second])
                .chain([from])
            {
                assert_eq!(db.to_offset(t), posix.to_offset(t), "{name} at {t}");
            }
        }
    }
}
