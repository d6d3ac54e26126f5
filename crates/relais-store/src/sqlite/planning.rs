//! The counts planning asks for before a send: messages per number (anti-flood)
//! and per destination country (monthly limits) since a time.

use std::collections::HashMap;

use relais_core::number::{Country, E164};
use sqlx::SqlitePool;

use super::codec::{int, parsed};
use crate::model::{AccountId, Millis};
use crate::store::StoreResult;

pub(super) async fn recent_counts(
    pool: &SqlitePool,
    account_id: AccountId,
    since: Millis,
) -> StoreResult<HashMap<E164, u32>> {
    sqlx::query(
        "SELECT number, COUNT(*) AS n FROM messages
         WHERE account_id = ? AND created_at >= ? GROUP BY number",
    )
    .bind(account_id)
    .bind(since)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| Ok((parsed(row, "number")?, int(row, "n")?)))
    .collect()
}

pub(super) async fn country_counts(
    pool: &SqlitePool,
    account_id: AccountId,
    since: Millis,
) -> StoreResult<HashMap<Country, u64>> {
    sqlx::query(
        "SELECT country, COUNT(*) AS n FROM messages
         WHERE account_id = ? AND created_at >= ? GROUP BY country",
    )
    .bind(account_id)
    .bind(since)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| Ok((parsed(row, "country")?, int(row, "n")?)))
    .collect()
}
