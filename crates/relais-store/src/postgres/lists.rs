//! Blacklists and NPAI lists: numbers an account never sends to.

use std::collections::HashSet;

use relais_core::number::E164;
use sqlx::{PgPool, Row};

use super::codec::{corrupt, limit_offset, list_str, number_list, parsed, to_u64};
use crate::model::{AccountId, ListedNumber, Millis, NumberList, Page};
use crate::store::StoreResult;

pub(super) async fn numbers(
    pool: &PgPool,
    account_id: AccountId,
    list: NumberList,
) -> StoreResult<HashSet<E164>> {
    sqlx::query("SELECT number FROM listed_numbers WHERE account_id = $1 AND list = $2")
        .bind(account_id)
        .bind(list_str(list))
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| parsed(row, "number"))
        .collect()
}

pub(super) async fn among(
    pool: &PgPool,
    account_id: AccountId,
    numbers: &[E164],
) -> StoreResult<Vec<(NumberList, E164)>> {
    let numbers: Vec<String> = numbers.iter().map(E164::to_string).collect();
    sqlx::query(
        "SELECT list, number FROM listed_numbers
         WHERE account_id = $1 AND list IN ('blacklist', 'npai') AND number = ANY($2)",
    )
    .bind(account_id)
    .bind(&numbers)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| Ok((number_list(row, "list")?, parsed(row, "number")?)))
    .collect()
}

/// One statement for the whole batch; a number given twice is added once, as
/// first given (`ORDER BY ord`: rows are inserted in the order given, and the
/// later duplicate finds the first in place).
pub(super) async fn add(
    pool: &PgPool,
    account_id: AccountId,
    list: NumberList,
    numbers: &[(E164, Vec<String>)],
    source: &str,
    now: Millis,
) -> StoreResult<u64> {
    let mut texts = Vec::with_capacity(numbers.len());
    let mut infos = Vec::with_capacity(numbers.len());
    for (number, info) in numbers {
        texts.push(number.to_string());
        infos.push(serde_json::to_string(info).map_err(|e| corrupt("info", e))?);
    }
    let added: i64 = sqlx::query_scalar(
        "WITH added AS (
             INSERT INTO listed_numbers (account_id, list, number, source, info, added_at)
             SELECT $1, $2, n.number, $3, n.info, $4
             FROM unnest($5::text[], $6::text[]) WITH ORDINALITY AS n (number, info, ord)
             ORDER BY n.ord
             ON CONFLICT (account_id, list, number) DO NOTHING
             RETURNING 1)
         SELECT COUNT(*) FROM added",
    )
    .bind(account_id)
    .bind(list_str(list))
    .bind(source)
    .bind(now)
    .bind(&texts)
    .bind(&infos)
    .fetch_one(pool)
    .await?;
    Ok(to_u64(added))
}

pub(super) async fn remove(
    pool: &PgPool,
    account_id: AccountId,
    list: NumberList,
    number: E164,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "DELETE FROM listed_numbers WHERE account_id = $1 AND list = $2 AND number = $3",
    )
    .bind(account_id)
    .bind(list_str(list))
    .bind(number.to_string())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn remove_by_id(
    pool: &PgPool,
    account_id: AccountId,
    list: NumberList,
    id: i64,
) -> StoreResult<bool> {
    let done =
        sqlx::query("DELETE FROM listed_numbers WHERE id = $1 AND account_id = $2 AND list = $3")
            .bind(id)
            .bind(account_id)
            .bind(list_str(list))
            .execute(pool)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// In the order the numbers were added.
pub(super) async fn page(
    pool: &PgPool,
    account_id: AccountId,
    list: NumberList,
    page: Page,
) -> StoreResult<Vec<ListedNumber>> {
    let (limit, offset) = limit_offset(&page);
    let rows = sqlx::query(
        "SELECT * FROM listed_numbers WHERE account_id = $1 AND list = $2
         ORDER BY id LIMIT $3 OFFSET $4",
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
