//! The commercial sending calendar: Easter and French holidays, quiet hours at
//! their edges, holidays, DST changes, config validation and the per-country
//! lookup, plus properties of `next_allowed` over several years.

use jiff::civil::{Date, DateTime, Time, Weekday, date, time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use relais_core::calendar::{
    CalendarError, Calendars, HolidayCalendar, Holidays, SendingWindow, SendingWindowConfig,
    Weekdays, easter_sunday, french_holidays,
};

/// The instant the clock shows `civil` in `zone`. Test inputs avoid DST
/// gaps and folds, so the disambiguation does not matter here.
fn local(zone: &str, civil: &str) -> Timestamp {
    let dt: DateTime = civil.parse().unwrap();
    dt.to_zoned(TimeZone::get(zone).unwrap())
        .unwrap()
        .timestamp()
}

fn paris(civil: &str) -> Timestamp {
    local("Europe/Paris", civil)
}

fn utc(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

/// Asserts `next_allowed(from) == expected` and that `expected` is allowed.
#[track_caller]
fn assert_next(window: &SendingWindow, from: Timestamp, expected: Timestamp) {
    let next = window.next_allowed(from).expect("the window opens");
    assert_eq!(next, expected, "next_allowed({from})");
    assert!(window.is_allowed(expected), "{expected} should be allowed");
    assert_eq!(
        window.is_allowed(from),
        from == expected,
        "is_allowed({from})"
    );
}

fn config(json: serde_json::Value) -> SendingWindowConfig {
    serde_json::from_value(json).unwrap()
}

fn france_config() -> serde_json::Value {
    serde_json::json!({
        "time_zone": "Europe/Paris",
        "days": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday"],
        "start": "08:00",
        "end": "20:00",
        "holidays": "france",
    })
}

/// Every day, `start`–`end` in Paris, no holidays: for DST edge cases.
fn paris_daily(start: Time, end: Time) -> SendingWindow {
    SendingWindow::new(
        zone("Europe/Paris"),
        Weekdays::ALL,
        start,
        end,
        Holidays::None,
    )
    .unwrap()
}

// ---------------------------------------------------------------- holidays

#[test]
fn easter_sunday_matches_known_dates() {
    let known = [
        date(2008, 3, 23),
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
        date(2038, 4, 25),
        date(2285, 3, 22),
        date(1818, 3, 22),
        date(2000, 4, 23),
    ];
    for expected in known {
        assert_eq!(easter_sunday(expected.year()), expected);
        assert_eq!(expected.weekday(), Weekday::Sunday);
    }
}

#[test]
fn easter_is_a_sunday_between_march_22_and_april_25() {
    for year in 1583..=4099 {
        let easter = easter_sunday(year);
        assert_eq!(easter.year(), year);
        assert_eq!(easter.weekday(), Weekday::Sunday, "{easter}");
        assert!(
            easter >= date(year, 3, 22) && easter <= date(year, 4, 25),
            "{easter}"
        );
    }
}

#[test]
fn french_holidays_2026() {
    let expected = [
        date(2026, 1, 1),
        date(2026, 4, 6),
        date(2026, 5, 1),
        date(2026, 5, 8),
        date(2026, 5, 14),
        date(2026, 5, 25),
        date(2026, 7, 14),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 25),
    ];
    assert_eq!(french_holidays(2026), expected);
}

#[test]
fn french_holidays_2027() {
    let expected = [
        date(2027, 1, 1),
        date(2027, 3, 29),
        date(2027, 5, 1),
        date(2027, 5, 6),
        date(2027, 5, 8),
        date(2027, 5, 17),
        date(2027, 7, 14),
        date(2027, 8, 15),
        date(2027, 11, 1),
        date(2027, 11, 11),
        date(2027, 12, 25),
    ];
    assert_eq!(french_holidays(2027), expected);
}

#[test]
fn french_holidays_list_a_shared_date_once() {
    // Ascension 2008 fell on 1 May.
    let holidays = french_holidays(2008);
    assert_eq!(holidays.len(), 10);
    assert!(holidays.contains(&date(2008, 5, 1)));
    assert!(holidays.is_sorted());
}

#[test]
fn holidays_france_contains_exactly_the_listed_dates() {
    for year in [1999, 2008, 2024, 2026, 2027, 2038] {
        let listed = french_holidays(year);
        let mut day = date(year, 1, 1);
        while day.year() == year {
            assert_eq!(
                Holidays::France.contains(day),
                listed.contains(&day),
                "{day}"
            );
            day = day.tomorrow().unwrap();
        }
    }
}

#[test]
fn holidays_combine_with_extra_dates() {
    let extra = Holidays::dates([date(2026, 12, 24), date(2026, 12, 31)]);
    let combined = Holidays::France.and(extra.clone());
    assert!(combined.contains(date(2026, 12, 24)));
    assert!(combined.contains(date(2026, 12, 25)));
    assert!(combined.contains(date(2026, 12, 31)));
    assert!(!combined.contains(date(2026, 12, 26)));
    assert!(!Holidays::None.contains(date(2026, 12, 25)));
    assert!(!extra.contains(date(2026, 12, 25)));

    assert_eq!(Holidays::None.and(Holidays::France), Holidays::France);
    assert_eq!(Holidays::France.and(Holidays::None), Holidays::France);
    assert_eq!(
        Holidays::dates([date(2026, 1, 2)]).and(Holidays::dates([date(2026, 1, 3)])),
        Holidays::dates([date(2026, 1, 2), date(2026, 1, 3)])
    );
    let more = combined.and(Holidays::dates([date(2027, 1, 2)]));
    assert!(more.contains(date(2027, 1, 2)));
    assert!(more.contains(date(2027, 5, 6)));
    assert!(more.contains(date(2026, 12, 24)));
}

#[test]
fn weekdays_set() {
    let set: Weekdays = [Weekday::Monday, Weekday::Sunday].into_iter().collect();
    assert!(set.contains(Weekday::Monday));
    assert!(set.contains(Weekday::Sunday));
    assert!(!set.contains(Weekday::Tuesday));
    assert!(Weekdays::NONE.is_empty());
    assert!(!Weekdays::MONDAY_TO_SATURDAY.contains(Weekday::Sunday));
    assert!(Weekdays::MONDAY_TO_SATURDAY.contains(Weekday::Saturday));
    assert_eq!(
        Weekdays::NONE.with(Weekday::Monday).with(Weekday::Sunday),
        set
    );
    assert_eq!(format!("{set:?}"), "{Monday, Sunday}");
}

// ---------------------------------------------------------- window edges

#[test]
fn window_edges_in_paris() {
    let france = SendingWindow::france();
    // Tuesday 2026-06-09.
    assert_next(
        &france,
        paris("2026-06-09T07:59:59"),
        paris("2026-06-09T08:00"),
    );
    assert_next(
        &france,
        paris("2026-06-09T00:00"),
        paris("2026-06-09T08:00"),
    );
    assert_next(
        &france,
        paris("2026-06-09T08:00"),
        paris("2026-06-09T08:00"),
    );
    assert_next(
        &france,
        paris("2026-06-09T12:34:56"),
        paris("2026-06-09T12:34:56"),
    );
    assert_next(
        &france,
        paris("2026-06-09T19:59:59"),
        paris("2026-06-09T19:59:59"),
    );
    let almost = paris("2026-06-09T19:59:59.999999999");
    assert_next(&france, almost, almost);
    assert_next(
        &france,
        paris("2026-06-09T20:00"),
        paris("2026-06-10T08:00"),
    );
    assert_next(
        &france,
        paris("2026-06-09T21:00"),
        paris("2026-06-10T08:00"),
    );
    assert_next(
        &france,
        paris("2026-06-09T23:59:59"),
        paris("2026-06-10T08:00"),
    );
    // 08:00 Paris in summer is 06:00 UTC.
    assert_eq!(paris("2026-06-10T08:00"), utc("2026-06-10T06:00:00Z"));
}

#[test]
fn weekend_goes_to_monday() {
    let france = SendingWindow::france();
    // Saturday 2026-06-13 is open until 20:00.
    assert_next(
        &france,
        paris("2026-06-13T10:00"),
        paris("2026-06-13T10:00"),
    );
    assert_next(
        &france,
        paris("2026-06-13T20:30"),
        paris("2026-06-15T08:00"),
    );
    assert_next(
        &france,
        paris("2026-06-13T20:00"),
        paris("2026-06-15T08:00"),
    );
    assert_next(
        &france,
        paris("2026-06-14T00:00"),
        paris("2026-06-15T08:00"),
    );
    assert_next(
        &france,
        paris("2026-06-14T12:00"),
        paris("2026-06-15T08:00"),
    );
    assert_next(
        &france,
        paris("2026-06-14T23:59:59"),
        paris("2026-06-15T08:00"),
    );
}

#[test]
fn holidays_defer_to_the_next_working_day() {
    let france = SendingWindow::france();
    // Easter Sunday 2027, then Easter Monday: Tuesday.
    assert_next(
        &france,
        paris("2027-03-28T10:00"),
        paris("2027-03-30T08:00"),
    );
    assert_next(
        &france,
        paris("2027-03-27T20:00"),
        paris("2027-03-30T08:00"),
    );
    assert_next(
        &france,
        paris("2027-03-29T12:00"),
        paris("2027-03-30T08:00"),
    );
    // Ascension 2026, Thursday 14 May: Friday.
    assert_next(
        &france,
        paris("2026-05-14T10:00"),
        paris("2026-05-15T08:00"),
    );
    assert_next(
        &france,
        paris("2026-05-13T21:00"),
        paris("2026-05-15T08:00"),
    );
    // 1 May 2026 is a Friday: Saturday is open.
    assert_next(
        &france,
        paris("2026-04-30T21:00"),
        paris("2026-05-02T08:00"),
    );
    assert_next(
        &france,
        paris("2026-05-01T09:00"),
        paris("2026-05-02T08:00"),
    );
    // 8 May 2026 is a Friday too.
    assert_next(
        &france,
        paris("2026-05-07T20:00"),
        paris("2026-05-09T08:00"),
    );
    // 1 May 2027 is a Saturday: Friday evening goes to Monday.
    assert_next(
        &france,
        paris("2027-04-30T21:00"),
        paris("2027-05-03T08:00"),
    );
    // Ascension 2027 (Thursday 6 May), Friday open, 8 May a Saturday.
    assert_next(
        &france,
        paris("2027-05-05T21:00"),
        paris("2027-05-07T08:00"),
    );
    assert_next(
        &france,
        paris("2027-05-07T20:00"),
        paris("2027-05-10T08:00"),
    );
    // Whit Monday 2026 (25 May): Saturday evening goes to Tuesday.
    assert_next(
        &france,
        paris("2026-05-23T20:00"),
        paris("2026-05-26T08:00"),
    );
    // Christmas 2027 is a Saturday.
    assert_next(
        &france,
        paris("2027-12-24T20:00"),
        paris("2027-12-27T08:00"),
    );
    // New Year's Day 2026 is a Thursday.
    assert_next(
        &france,
        paris("2025-12-31T20:00"),
        paris("2026-01-02T08:00"),
    );
}

#[test]
fn extra_dates_close_the_window() {
    let holidays = Holidays::France.and(Holidays::dates([date(2026, 6, 15)]));
    let window = SendingWindow::new(
        zone("Europe/Paris"),
        Weekdays::MONDAY_TO_SATURDAY,
        time(8, 0, 0, 0),
        time(20, 0, 0, 0),
        holidays,
    )
    .unwrap();
    assert_next(
        &window,
        paris("2026-06-13T20:30"),
        paris("2026-06-16T08:00"),
    );
}

// ------------------------------------------------------------------- DST

#[test]
fn spring_forward_weekend() {
    let france = SendingWindow::france();
    // Saturday 2026-03-28 21:00 CET is 20:00 UTC; Sunday 29 March is the change.
    assert_eq!(paris("2026-03-28T21:00"), utc("2026-03-28T20:00:00Z"));
    assert_next(
        &france,
        utc("2026-03-28T20:00:00Z"),
        utc("2026-03-30T06:00:00Z"),
    );
    // Sunday during and after the skipped hour.
    assert_next(
        &france,
        utc("2026-03-29T01:30:00Z"),
        utc("2026-03-30T06:00:00Z"),
    );
}

#[test]
fn fall_back_weekend() {
    let france = SendingWindow::france();
    // Saturday 2026-10-24 22:00 CEST is 20:00 UTC; Sunday 25 October is the change.
    assert_eq!(paris("2026-10-24T22:00"), utc("2026-10-24T20:00:00Z"));
    assert_next(
        &france,
        utc("2026-10-24T20:00:00Z"),
        utc("2026-10-26T07:00:00Z"),
    );
    // Both 02:30 of that Sunday.
    assert_next(
        &france,
        utc("2026-10-25T00:30:00Z"),
        utc("2026-10-26T07:00:00Z"),
    );
    assert_next(
        &france,
        utc("2026-10-25T01:30:00Z"),
        utc("2026-10-26T07:00:00Z"),
    );
}

#[test]
fn window_start_in_the_spring_forward_gap_opens_after_the_gap() {
    // 02:30 does not exist on 2026-03-29 in Paris: the clock jumps from
    // 02:00 CET (01:00 UTC) to 03:00 CEST (01:00 UTC).
    let window = paris_daily(time(2, 30, 0, 0), time(5, 0, 0, 0));
    assert_next(
        &window,
        utc("2026-03-28T23:30:00Z"),
        utc("2026-03-29T01:00:00Z"),
    );
    assert!(!window.is_allowed(utc("2026-03-29T00:59:59Z")));
    // The previous and next days open at 02:30 local time as usual.
    assert_next(
        &window,
        utc("2026-03-27T23:00:00Z"),
        utc("2026-03-28T01:30:00Z"),
    );
    assert_next(
        &window,
        utc("2026-03-29T03:00:00Z"),
        utc("2026-03-30T00:30:00Z"),
    );
}

#[test]
fn window_inside_the_gap_skips_that_day() {
    let window = paris_daily(time(2, 10, 0, 0), time(2, 50, 0, 0));
    // Nothing is open on 2026-03-29: next is 02:10 CEST on Monday.
    assert_next(
        &window,
        utc("2026-03-28T23:00:00Z"),
        utc("2026-03-30T00:10:00Z"),
    );
}

#[test]
fn window_start_in_the_fall_back_fold() {
    // 02:00–03:00 happens twice on 2026-10-25: CEST (00:00–01:00 UTC), then
    // CET (01:00–02:00 UTC).
    let window = paris_daily(time(2, 30, 0, 0), time(2, 45, 0, 0));
    // Before the first pass: its first occurrence.
    assert_next(
        &window,
        utc("2026-10-24T23:00:00Z"),
        utc("2026-10-25T00:30:00Z"),
    );
    // Between both passes: the second occurrence.
    assert_next(
        &window,
        utc("2026-10-25T00:50:00Z"),
        utc("2026-10-25T01:30:00Z"),
    );
    assert_next(
        &window,
        utc("2026-10-25T01:10:00Z"),
        utc("2026-10-25T01:30:00Z"),
    );
    // After both: the next day.
    assert_next(
        &window,
        utc("2026-10-25T01:50:00Z"),
        utc("2026-10-26T01:30:00Z"),
    );
}

#[test]
fn window_ending_in_the_fold_reopens_when_the_clock_goes_back() {
    let window = paris_daily(time(1, 0, 0, 0), time(2, 30, 0, 0));
    // 02:45 CEST is past the end, but at 03:00 CEST the clock shows 02:00 CET.
    assert_next(
        &window,
        utc("2026-10-25T00:45:00Z"),
        utc("2026-10-25T01:00:00Z"),
    );
    assert!(window.is_allowed(utc("2026-10-25T01:29:59Z")));
    assert_next(
        &window,
        utc("2026-10-25T01:30:00Z"),
        utc("2026-10-26T00:00:00Z"),
    );
}

/// Around both 2026 changes in Paris, with windows whose edges sit in the gap
/// and in the fold, `next_allowed` matches a minute-by-minute scan. Openings
/// are on whole minutes there (whole-hour offsets and transitions).
#[test]
fn next_allowed_matches_a_minute_scan_around_dst_changes() {
    let windows = [
        (time(2, 30, 0, 0), time(5, 0, 0, 0)),
        (time(2, 10, 0, 0), time(2, 50, 0, 0)),
        (time(1, 0, 0, 0), time(2, 30, 0, 0)),
        (time(2, 0, 0, 0), time(3, 0, 0, 0)),
        (time(0, 0, 0, 0), time(2, 0, 0, 0)),
        (time(3, 0, 0, 0), time(23, 59, 0, 0)),
    ];
    for (start, end) in windows {
        let window = paris_daily(start, end);
        for from in ["2026-03-27T12:00:00Z", "2026-10-23T12:00:00Z"] {
            let first = utc(from);
            let grid: Vec<Timestamp> = (0..4 * 24 * 60)
                .map(|minute| first + SignedDuration::from_mins(minute))
                .collect();
            let mut expected = None;
            for &t in grid.iter().rev() {
                if window.is_allowed(t) {
                    expected = Some(t);
                }
                if let Some(expected) = expected {
                    assert_eq!(
                        window.next_allowed(t),
                        Some(expected),
                        "{start}–{end} from {t}"
                    );
                }
            }
        }
    }
}

// ------------------------------------------------------ other zones, always

#[test]
fn custom_window_in_new_york() {
    let window = SendingWindow::new(
        zone("America/New_York"),
        [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ]
        .into_iter()
        .collect(),
        time(9, 0, 0, 0),
        time(17, 0, 0, 0),
        Holidays::dates([date(2026, 7, 3)]),
    )
    .unwrap();
    let ny = |civil| local("America/New_York", civil);
    assert_next(&window, ny("2026-07-02T16:59"), ny("2026-07-02T16:59"));
    assert_next(&window, ny("2026-07-02T18:00"), ny("2026-07-06T09:00"));
    assert_eq!(ny("2026-07-06T09:00"), utc("2026-07-06T13:00:00Z"));
    // US spring forward on Sunday 2026-03-08: 09:00 EST on Friday, EDT on Monday.
    assert_next(
        &window,
        utc("2026-03-06T22:00:00Z"),
        utc("2026-03-09T13:00:00Z"),
    );
    assert_next(
        &window,
        utc("2026-03-06T13:59:00Z"),
        utc("2026-03-06T14:00:00Z"),
    );
    // The same instant is 09:00 in Paris but 03:00 in New York.
    let instant = utc("2026-06-09T07:00:00Z");
    assert!(SendingWindow::france().is_allowed(instant));
    assert!(!window.is_allowed(instant));
}

#[test]
fn always_allows_everything() {
    let always = SendingWindow::always();
    assert!(always.is_unrestricted());
    assert!(!SendingWindow::france().is_unrestricted());
    for t in [
        utc("2026-06-14T03:00:00Z"),
        utc("2026-12-25T23:59:59Z"),
        Timestamp::MIN,
        Timestamp::MAX,
    ] {
        assert!(always.is_allowed(t));
        assert_eq!(always.next_allowed(t), Some(t));
    }
}

#[test]
fn window_closed_for_over_a_year_never_opens() {
    let sundays: Vec<Date> = (0..60)
        .map(|week| date(2026, 6, 14) + SignedDuration::from_hours(24 * 7 * week))
        .collect();
    let window = SendingWindow::new(
        zone("Europe/Paris"),
        Weekdays::NONE.with(Weekday::Sunday),
        time(8, 0, 0, 0),
        time(20, 0, 0, 0),
        Holidays::dates(sundays),
    )
    .unwrap();
    assert_eq!(window.next_allowed(paris("2026-06-13T12:00")), None);
    // Once the listed Sundays are over, it opens again.
    assert_next(
        &window,
        paris("2027-08-01T12:00"),
        paris("2027-08-08T08:00"),
    );
}

// ---------------------------------------------------------------- config

#[test]
fn config_builds_the_french_window() {
    let window = SendingWindow::try_from(config(france_config())).unwrap();
    assert_eq!(window, SendingWindow::france());
    // The window deserializes directly too, validated.
    let direct: SendingWindow = serde_json::from_value(france_config()).unwrap();
    assert_eq!(direct, SendingWindow::france());
}

#[test]
fn config_accepts_abbreviations_seconds_and_extra_dates() {
    let mut json = france_config();
    json["days"] = serde_json::json!(["Mon", "TUE", "wed", "thursday", "Fri", "sat"]);
    json["start"] = serde_json::json!("08:00:00");
    json["extra_dates"] = serde_json::json!(["2026-06-15"]);
    let window = SendingWindow::try_from(config(json)).unwrap();
    assert_next(
        &window,
        paris("2026-06-13T20:30"),
        paris("2026-06-16T08:00"),
    );
    assert!(!window.is_allowed(paris("2027-03-29T12:00")));
}

#[test]
fn config_round_trips_through_json() {
    let original = SendingWindowConfig {
        time_zone: "Indian/Reunion".to_owned(),
        days: vec!["monday".to_owned()],
        start: "09:30".to_owned(),
        end: "18:00".to_owned(),
        holidays: HolidayCalendar::None,
        extra_dates: vec!["2026-12-20".to_owned()],
    };
    let json = serde_json::to_value(&original).unwrap();
    assert_eq!(json["holidays"], "none");
    assert_eq!(config(json), original);
}

#[test]
fn config_validation_errors() {
    let check = |field: &str, value: serde_json::Value, expected: CalendarError| {
        let mut json = france_config();
        json[field] = value;
        let error = SendingWindow::try_from(config(json)).unwrap_err();
        assert_eq!(error, expected);
        assert!(!error.to_string().is_empty());
    };
    check(
        "time_zone",
        "Europe/Pariss".into(),
        CalendarError::UnknownTimeZone("Europe/Pariss".into()),
    );
    check(
        "start",
        "20:00".into(),
        CalendarError::EmptyWindow {
            start: time(20, 0, 0, 0),
            end: time(20, 0, 0, 0),
        },
    );
    check(
        "start",
        "22:00".into(),
        CalendarError::EmptyWindow {
            start: time(22, 0, 0, 0),
            end: time(20, 0, 0, 0),
        },
    );
    check("days", serde_json::json!([]), CalendarError::NoWeekday);
    check(
        "days",
        serde_json::json!(["monday", "mondy"]),
        CalendarError::UnknownWeekday("mondy".into()),
    );
    check(
        "days",
        serde_json::json!(["mo"]),
        CalendarError::UnknownWeekday("mo".into()),
    );
    for bad in [
        "8:00",
        "08h00",
        "24:00",
        "08:60",
        "",
        "08:00:00:00",
        "+8:00",
    ] {
        check("end", bad.into(), CalendarError::InvalidTime(bad.into()));
    }
    check(
        "extra_dates",
        serde_json::json!(["2026-02-30"]),
        CalendarError::InvalidDate("2026-02-30".into()),
    );

    let error = CalendarError::EmptyWindow {
        start: time(22, 0, 0, 0),
        end: time(20, 0, 0, 0),
    };
    assert!(error.to_string().contains("22:00"), "{error}");
}

#[test]
fn config_rejects_unknown_fields_and_calendars() {
    let mut json = france_config();
    json["holidays"] = "germany".into();
    assert!(serde_json::from_value::<SendingWindowConfig>(json).is_err());
    let mut json = france_config();
    json["timezone"] = "Europe/Paris".into();
    assert!(serde_json::from_value::<SendingWindowConfig>(json).is_err());
    let mut json = france_config();
    json["end"] = "07:00".into();
    let error = serde_json::from_value::<SendingWindow>(json).unwrap_err();
    assert!(error.to_string().contains("before it ends"), "{error}");
}

#[test]
fn new_validates_its_arguments() {
    let paris_zone = zone("Europe/Paris");
    let eight = time(8, 0, 0, 0);
    let twenty = time(20, 0, 0, 0);
    assert_eq!(
        SendingWindow::new(
            paris_zone.clone(),
            Weekdays::NONE,
            eight,
            twenty,
            Holidays::None
        ),
        Err(CalendarError::NoWeekday)
    );
    assert_eq!(
        SendingWindow::new(paris_zone, Weekdays::ALL, twenty, eight, Holidays::None),
        Err(CalendarError::EmptyWindow {
            start: twenty,
            end: eight
        })
    );
}

// ------------------------------------------------------------- calendars

#[test]
fn french_calendars() {
    let calendars = Calendars::france_default();
    assert_eq!(calendars.for_country("FR"), &SendingWindow::france());
    assert_eq!(calendars.for_country("fr"), &SendingWindow::france());
    for other in ["DE", "US", "", "FRA", "F1"] {
        assert!(calendars.for_country(other).is_unrestricted(), "{other}");
    }
    assert!(calendars.default_window().is_unrestricted());

    // Tuesday 2026-06-09 03:00 UTC: 05:00 in Paris, 07:00 in La Réunion.
    let instant = utc("2026-06-09T03:00:00Z");
    assert_next(
        calendars.for_country("FR"),
        instant,
        utc("2026-06-09T06:00:00Z"),
    );
    assert_next(
        calendars.for_country("RE"),
        instant,
        utc("2026-06-09T04:00:00Z"),
    );
    assert_next(
        calendars.for_country("YT"),
        instant,
        utc("2026-06-09T05:00:00Z"),
    );
    // Guadeloupe and Martinique are UTC-4, French Guiana UTC-3.
    assert_next(
        calendars.for_country("GP"),
        instant,
        utc("2026-06-09T12:00:00Z"),
    );
    assert_next(
        calendars.for_country("MQ"),
        instant,
        utc("2026-06-09T12:00:00Z"),
    );
    assert_next(
        calendars.for_country("GF"),
        instant,
        utc("2026-06-09T11:00:00Z"),
    );
    // French holidays and Sundays apply overseas, in local time.
    let reunion = |civil| local("Indian/Reunion", civil);
    assert_next(
        calendars.for_country("re"),
        reunion("2026-07-13T20:00"),
        reunion("2026-07-15T08:00"),
    );
    assert_next(
        calendars.for_country("GP"),
        local("America/Guadeloupe", "2026-06-13T20:00"),
        local("America/Guadeloupe", "2026-06-15T08:00"),
    );
}

#[test]
fn calendars_insert_and_default() {
    let mut calendars = Calendars::default();
    assert!(calendars.for_country("FR").is_unrestricted());
    assert_eq!(calendars.insert("fr", SendingWindow::france()), Ok(None));
    assert_eq!(calendars.for_country("FR"), &SendingWindow::france());
    let replaced = calendars.insert("FR", SendingWindow::always()).unwrap();
    assert_eq!(replaced, Some(SendingWindow::france()));
    assert_eq!(
        calendars.insert("FRA", SendingWindow::france()),
        Err(CalendarError::InvalidCountry("FRA".into()))
    );

    let strict = Calendars::new(SendingWindow::france());
    assert_eq!(strict.for_country("DE"), &SendingWindow::france());
}

// -------------------------------------------------------------- property

fn any_instant() -> impl Strategy<Value = Timestamp> {
    let from = utc("2024-01-01T00:00:00Z").as_second();
    let to = utc("2031-01-01T00:00:00Z").as_second();
    (from..to).prop_map(|second| Timestamp::from_second(second).unwrap())
}

fn windows() -> Vec<SendingWindow> {
    let calendars = Calendars::france_default();
    vec![
        SendingWindow::france(),
        calendars.for_country("RE").clone(),
        calendars.for_country("GF").clone(),
        paris_daily(time(2, 30, 0, 0), time(5, 0, 0, 0)),
        paris_daily(time(1, 0, 0, 0), time(2, 30, 0, 0)),
    ]
}

proptest! {
    #[test]
    fn next_allowed_is_the_first_allowed_instant(t in any_instant(), which in 0..5usize) {
        let window = &windows()[which];
        let next = window.next_allowed(t).expect("the window opens");
        prop_assert!(next >= t);
        prop_assert!(window.is_allowed(next));
        prop_assert_eq!(window.next_allowed(next), Some(next));
        if next > t {
            prop_assert!(!window.is_allowed(t));
            prop_assert!(!window.is_allowed(next - SignedDuration::from_secs(1)));
            // Sampled every 7 minutes: nothing allowed is skipped.
            let mut step = t;
            while step < next {
                prop_assert!(!window.is_allowed(step), "{} is allowed before {}", step, next);
                step += SignedDuration::from_mins(7);
            }
        }
    }
}
