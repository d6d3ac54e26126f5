//! Paging of list endpoints: `offset` and `limit` query parameters (limit at
//! most [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent) and the `{items, offset,
//! limit}` answer.

use relais_store::Page;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u64 = 100;
pub const MAX_LIMIT: u64 = 1000;

/// The query of an endpoint that only pages.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items to skip (default 0).
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    pub offset: Option<u64>,
    /// Items to return, at most 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

impl PageParams {
    pub fn page(&self) -> Result<Page, ApiError> {
        page(self.offset, self.limit)
    }
}

/// The page asked for; a limit of 0 or above [`MAX_LIMIT`], or an offset
/// beyond `i64::MAX`, is a 400.
pub fn page(offset: Option<u64>, limit: Option<u64>) -> Result<Page, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )
        .with_field("limit"));
    }
    // Both stores count in signed 64 bits.
    let offset = offset.unwrap_or(0);
    if i64::try_from(offset).is_err() {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("offset must be at most {}", i64::MAX),
        )
        .with_field("offset"));
    }
    Ok(Page { offset, limit })
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub offset: u64,
    pub limit: u64,
}

impl<T> Paged<T> {
    /// The page `page` holding `items`, converted for the wire.
    pub fn new<R>(page: &Page, items: impl IntoIterator<Item = R>) -> Self
    where
        T: From<R>,
    {
        Paged {
            items: items.into_iter().map(T::from).collect(),
            offset: page.offset,
            limit: page.limit,
        }
    }
}
