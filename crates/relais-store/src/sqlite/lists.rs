//! Blacklists and NPAI lists: numbers an account never sends to.

use std::collections::HashSet;

use relais_core::number::E164;
use sqlx::{Row, SqlitePool};

use super::batch::execute_values;
use super::codec::{corrupt, limit_offset, list_str, number_list, parsed};
use crate::model::{AccountId, ListedNumber, Millis, NumberList, Page};
use crate::store::StoreResult;

pub(super) async fn numbers(
    pool: &SqlitePool,
    account_id: AccountId,
    list: NumberList,
) -> StoreResult<HashSet<E164>> {
    sqlx::query("SELECT number FROM listed_numbers WHERE account_id = ? AND list = ?")
        .bind(account_id)
        .bind(list_str(list))
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| parsed(row, "number"))
        .collect()
}

/// The numbers are bound as one JSON array: one statement text whatever
/// their count.
pub(super) async fn among(
    pool: &SqlitePool,
    account_id: AccountId,
    numbers: &[E164],
) -> StoreResult<Vec<(NumberList, E164)>> {
    let numbers: Vec<String> = numbers.iter().map(E164::to_string).collect();
    let numbers = serde_json::to_string(&numbers).map_err(|e| corrupt("numbers", e))?;
    sqlx::query(
        "SELECT list, number FROM listed_numbers
         WHERE account_id = ? AND list IN ('blacklist', 'npai')
           AND number IN (SELECT value FROM json_each(?))",
    )
    .bind(account_id)
    .bind(numbers)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| Ok((number_list(row, "list")?, parsed(row, "number")?)))
    .collect()
}

pub(super) async fn add(
    pool: &SqlitePool,
    account_id: AccountId,
    list: NumberList,
    numbers: &[(E164, Vec<String>)],
    source: &str,
    now: Millis,
) -> StoreResult<u64> {
    let rows = numbers
        .iter()
        .map(|(number, info)| {
            let info = serde_json::to_string(info).map_err(|e| corrupt("info", e))?;
            Ok((number.to_string(), info))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let mut tx = pool.begin().await?;
    let added = execute_values(
        &mut tx,
        "INSERT INTO listed_numbers (account_id, list, number, source, info, added_at) ",
        " ON CONFLICT (account_id, list, number) DO NOTHING",
        &rows,
        |values, (number, info)| {
            values
                .push_bind(account_id)
                .push_bind(list_str(list))
                .push_bind(number.as_str())
                .push_bind(source)
                .push_bind(info.as_str())
                .push_bind(now);
        },
    )
    .await?;
    tx.commit().await?;
    Ok(added)
}

pub(super) async fn remove(
    pool: &SqlitePool,
    account_id: AccountId,
    list: NumberList,
    number: E164,
) -> StoreResult<bool> {
    let done =
        sqlx::query("DELETE FROM listed_numbers WHERE account_id = ? AND list = ? AND number = ?")
            .bind(account_id)
            .bind(list_str(list))
            .bind(number.to_string())
            .execute(pool)
            .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn remove_by_id(
    pool: &SqlitePool,
    account_id: AccountId,
    list: NumberList,
    id: i64,
) -> StoreResult<bool> {
    let done =
        sqlx::query("DELETE FROM listed_numbers WHERE id = ? AND account_id = ? AND list = ?")
            .bind(id)
            .bind(account_id)
            .bind(list_str(list))
            .execute(pool)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// In the order the numbers were added.
pub(super) async fn page(
    pool: &SqlitePool,
    account_id: AccountId,
    list: NumberList,
    page: Page,
) -> StoreResult<Vec<ListedNumber>> {
    let (limit, offset) = limit_offset(&page);
    let rows = sqlx::query(
        "SELECT * FROM listed_numbers WHERE account_id = ? AND list = ?
         ORDER BY id LIMIT ? OFFSET ?",
    )
    .bind(account_id)
    .bind(list_str(list))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let info: &str = row.try_get("info")?;
            Ok(ListedNumber {
                id: row.try_get("id")?,
                number: parsed(row, "number")?,
                source: row.try_get("source")?,
                info: serde_json::from_str(info).map_err(|e| corrupt("info", e))?,
                campaign_id: row.try_get("campaign_id")?,
                added_at: row.try_get("added_at")?,
            })
        })
        .collect()
}
