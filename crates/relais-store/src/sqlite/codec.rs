//! SQLite's side of [`crate::codec`]: `LIMIT -1` for no limit.

pub(super) use crate::codec::*;
use crate::model::Page;

/// `LIMIT ? OFFSET ?` values for a page; `limit` 0 is no limit (-1 in SQLite).
pub(super) fn limit_offset(page: &Page) -> (i64, i64) {
    let limit = if page.limit == 0 {
        -1
    } else {
        to_i64(page.limit)
    };
    (limit, to_i64(page.offset))
}
