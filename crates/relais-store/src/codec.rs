//! How relais values are written to and read from columns, the same for
//! every backend: enums as their text names, numbers and countries as
//! strings, counts as integers. A value that does not read back is a
//! [`StoreError::Corrupt`]. Each backend's `codec` adds what is its own
//! (integer widths, how "no limit" is written).

use std::fmt::Display;
use std::str::FromStr;

use relais_core::encoding::Encoding;
use relais_core::plan::{ChannelOrder, MessageKind};
use relais_core::pricing::RouteClass;
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::model::{CallbackEvents, EventKind, MessageStatus, NumberList};
use crate::store::{StoreError, StoreResult};

pub(crate) fn corrupt(what: &str, value: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value}"))
}

/// A column read as `T`, for any backend's row.
fn get<'r, R, T>(row: &'r R, column: &str) -> StoreResult<T>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(row.try_get(column)?)
}

/// A text column parsed with `FromStr` (E.164 numbers, countries).
pub(crate) fn parsed<'r, R, T>(row: &'r R, column: &str) -> StoreResult<T>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    T: FromStr,
{
    let text: &str = get(row, column)?;
    text.parse().map_err(|_| corrupt(column, text))
}

/// A 64-bit integer column that must fit `T` (counts).
pub(crate) fn int<'r, R, T>(row: &'r R, column: &str) -> StoreResult<T>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    T: TryFrom<i64>,
{
    let value: i64 = get(row, column)?;
    T::try_from(value).map_err(|_| corrupt(column, value))
}

/// Counts come from Rust as `u64` and go to the database as `i64`; no real
/// count comes near the difference.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A text column naming one of `values` by `name`.
fn named<'r, R, T: Copy>(
    row: &'r R,
    column: &str,
    values: impl IntoIterator<Item = T>,
    name: impl Fn(T) -> &'static str,
) -> StoreResult<T>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
{
    let text: &str = get(row, column)?;
    values
        .into_iter()
        .find(|v| name(*v) == text)
        .ok_or_else(|| corrupt(column, text))
}

/// Declares a reader of a text column holding one of an enum's names.
macro_rules! text_enum {
    ($(#[$doc:meta])* $fn:ident -> $ty:ty, $values:expr, $name:expr) => {
        $(#[$doc])*
        pub(crate) fn $fn<'r, R>(row: &'r R, column: &str) -> StoreResult<$ty>
        where
            R: Row,
            for<'c> &'c str: ColumnIndex<R>,
            &'r str: Decode<'r, R::Database> + Type<R::Database>,
        {
            named(row, column, $values, $name)
        }
    };
}

text_enum!(status -> MessageStatus, MessageStatus::ALL, MessageStatus::as_str);
text_enum!(encoding -> Encoding, [Encoding::Gsm7, Encoding::Ucs2], encoding_str);
text_enum!(
    kind -> MessageKind,
    [MessageKind::Transactional, MessageKind::Marketing],
    MessageKind::as_str
);
text_enum!(route_class -> RouteClass, RouteClass::ALL, RouteClass::as_str);
text_enum!(channels -> ChannelOrder, ChannelOrder::ALL, ChannelOrder::as_str);
text_enum!(
    number_list -> NumberList,
    [NumberList::Blacklist, NumberList::Npai],
    list_str
);
text_enum!(
    event_kind -> EventKind,
    [EventKind::Status, EventKind::Inbound, EventKind::Stop],
    event_kind_str
);

pub(crate) fn encoding_str(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Gsm7 => "gsm7",
        Encoding::Ucs2 => "ucs2",
    }
}

pub(crate) fn event_kind_str(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Status => "status",
        EventKind::Inbound => "inbound",
        EventKind::Stop => "stop",
    }
}

pub(crate) fn list_str(list: NumberList) -> &'static str {
    match list {
        NumberList::Blacklist => "blacklist",
        NumberList::Npai => "npai",
    }
}

/// A constraint error as the caller should see it: a unique violation as
/// [`StoreError::Conflict`] naming `what`, a missing parent row (foreign key)
/// as [`StoreError::NotFound`]; any other error as it is.
pub(crate) fn constraint_error(
    what: impl FnOnce() -> String,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what()),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Database(error),
    }
}

/// A nullable `callback_events` column (`NULL`: the account's setting).
pub(crate) fn callback_events<'r, R>(
    row: &'r R,
    column: &str,
) -> StoreResult<Option<CallbackEvents>>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    Option<&'r str>: Decode<'r, R::Database> + Type<R::Database>,
{
    let text: Option<&str> = get(row, column)?;
    text.map(|t| CallbackEvents::parse(t).ok_or_else(|| corrupt(column, t)))
        .transpose()
}
