//! PostgreSQL's side of [`crate::codec`]: 32-bit integer columns, bigint
//! counts back to `u64`, and `LIMIT NULL` for no limit.

use sqlx::Row;
use sqlx::postgres::PgRow;

pub(super) use crate::codec::*;
use crate::model::Page;
use crate::store::StoreResult;

/// An INTEGER column that must fit `T` (segments, attempts, text indexes).
pub(super) fn int4<T: TryFrom<i32>>(row: &PgRow, column: &str) -> StoreResult<T> {
    let value: i32 = row.try_get(column)?;
    T::try_from(value).map_err(|_| corrupt(column, value))
}

/// A count PostgreSQL answers as `bigint`, never negative.
pub(super) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

/// `LIMIT $ OFFSET $` values for a page; `limit` 0 is no limit (NULL).
pub(super) fn limit_offset(page: &Page) -> (Option<i64>, i64) {
    let limit = (page.limit != 0).then(|| to_i64(page.limit));
    (limit, to_i64(page.offset))
}
