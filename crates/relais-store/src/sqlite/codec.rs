//! How relais values are written to and read from SQLite columns: enums as
//! their `as_str()` text, numbers and countries as strings, counts as
//! integers. A value that does not read back is a [`StoreError::Corrupt`].

use std::fmt::Display;
use std::str::FromStr;

use relais_core::encoding::Encoding;
use relais_core::plan::MessageKind;
use relais_core::pricing::RouteClass;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::model::{EventKind, MessageStatus, NumberList, Page};
use crate::store::{StoreError, StoreResult};

pub(super) fn corrupt(what: &str, value: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value}"))
}

/// A text column parsed with `FromStr` (E.164 numbers, countries).
pub(super) fn parsed<T: FromStr>(row: &SqliteRow, column: &str) -> StoreResult<T> {
    let text: &str = row.try_get(column)?;
    text.parse().map_err(|_| corrupt(column, text))
}

/// An integer column that must fit `T` (counts, segments, attempts).
pub(super) fn int<T: TryFrom<i64>>(row: &SqliteRow, column: &str) -> StoreResult<T> {
    let value: i64 = row.try_get(column)?;
    T::try_from(value).map_err(|_| corrupt(column, value))
}

/// Counts come from Rust as `u64` and go to SQLite as `i64`; no real count
/// comes near the difference.
pub(super) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `LIMIT ? OFFSET ?` values for a page; `limit` 0 is no limit (-1 in SQLite).
pub(super) fn limit_offset(page: &Page) -> (i64, i64) {
    let limit = if page.limit == 0 {
        -1
    } else {
        to_i64(page.limit)
    };
    (limit, to_i64(page.offset))
}

pub(super) fn status(row: &SqliteRow, column: &str) -> StoreResult<MessageStatus> {
    let text: &str = row.try_get(column)?;
    MessageStatus::parse(text).ok_or_else(|| corrupt(column, text))
}

pub(super) fn encoding_str(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Gsm7 => "gsm7",
        Encoding::Ucs2 => "ucs2",
    }
}

pub(super) fn encoding(row: &SqliteRow, column: &str) -> StoreResult<Encoding> {
    match row.try_get(column)? {
        "gsm7" => Ok(Encoding::Gsm7),
        "ucs2" => Ok(Encoding::Ucs2),
        other => Err(corrupt(column, other)),
    }
}

pub(super) fn kind(row: &SqliteRow, column: &str) -> StoreResult<MessageKind> {
    let text: &str = row.try_get(column)?;
    [MessageKind::Transactional, MessageKind::Marketing]
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| corrupt(column, text))
}

pub(super) fn route_class(row: &SqliteRow, column: &str) -> StoreResult<RouteClass> {
    let text: &str = row.try_get(column)?;
    RouteClass::ALL
        .into_iter()
        .find(|c| c.as_str() == text)
        .ok_or_else(|| corrupt(column, text))
}

pub(super) fn event_kind_str(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Status => "status",
        EventKind::Inbound => "inbound",
        EventKind::Stop => "stop",
    }
}

pub(super) fn event_kind(row: &SqliteRow, column: &str) -> StoreResult<EventKind> {
    let text: &str = row.try_get(column)?;
    [EventKind::Status, EventKind::Inbound, EventKind::Stop]
        .into_iter()
        .find(|k| event_kind_str(*k) == text)
        .ok_or_else(|| corrupt(column, text))
}

pub(super) fn list_str(list: NumberList) -> &'static str {
    match list {
        NumberList::Blacklist => "blacklist",
        NumberList::Npai => "npai",
    }
}

/// A constraint error as the caller should see it: a unique violation as
/// [`StoreError::Conflict`] naming `what`, a missing parent row (foreign key)
/// as [`StoreError::NotFound`]; any other error as it is.
pub(super) fn constraint_error(
    what: impl FnOnce() -> String,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what()),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Database(error),
    }
}
