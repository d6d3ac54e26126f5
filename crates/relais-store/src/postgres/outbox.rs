//! The webhook outbox: leasing due callbacks to the webhook workers (HTTP) or
//! the SMPP servers (delivery receipts of SMPP clients, url `smpp:`) of every
//! node, and recording how their delivery went. Callbacks are enqueued by the
//! statements of the events they report (`transitions`, `inbound`).

use std::sync::LazyLock;

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use super::codec::{self, int4, to_u64};
use crate::model::{AccountId, Millis, Webhook, WebhookResult};
use crate::store::{StoreError, StoreResult};

fn webhook_from_row(row: &PgRow) -> StoreResult<Webhook> {
    let status = match row.try_get::<Option<&str>, _>("status")? {
        Some(_) => Some(codec::status(row, "status")?),
        None => None,
    };
    Ok(Webhook {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        url: row.try_get("url")?,
        kind: codec::event_kind(row, "kind")?,
        source: row.try_get("source")?,
        message_id: row.try_get("message_id")?,
        status,
        inbound_id: row.try_get("inbound_id")?,
        at: row.try_get("at")?,
        attempts: int4(row, "attempts")?,
    })
}

/// The statement leasing the oldest due callbacks that `filter` selects:
/// pending ones whose time came, and leased ones whose lease ran out (their
/// worker died), each read from its own partial index and locked `SKIP
/// LOCKED`, so that workers on several nodes lease disjoint batches. `$1`
/// now, `$2` the lease's end, `$3` the limit.
fn claim_statement(filter: &str) -> String {
    format!(
        "WITH due AS (
             SELECT id, next_attempt_at FROM webhooks
             WHERE state = 'pending' AND {filter} AND next_attempt_at <= $1
             ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED),
         lapsed AS (
             SELECT id, next_attempt_at FROM webhooks
             WHERE state = 'leased' AND {filter} AND lease_until <= $1
             ORDER BY lease_until LIMIT $3 FOR UPDATE SKIP LOCKED),
         picked AS (
             SELECT id FROM (SELECT * FROM due UNION ALL SELECT * FROM lapsed) AS p
             ORDER BY next_attempt_at, id LIMIT $3)
         UPDATE webhooks AS w SET state = 'leased', lease_until = $2
         FROM picked WHERE w.id = picked.id
         RETURNING w.*"
    )
}

/// HTTP callbacks: every one but the SMPP receipts.
static CLAIM_HTTP: LazyLock<String> = LazyLock::new(|| claim_statement("NOT via_smpp"));

/// The SMPP receipts of the accounts `$4`.
static CLAIM_SMPP: LazyLock<String> =
    LazyLock::new(|| claim_statement("via_smpp AND account_id = ANY($4)"));

pub(super) async fn claim(
    pool: &PgPool,
    now: Millis,
    limit: u32,
    lease_until: Millis,
) -> StoreResult<Vec<Webhook>> {
    let rows = sqlx::query(CLAIM_HTTP.as_str())
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    in_order(&rows)
}

/// The SMPP receipts of the given accounts (those bound to this node).
pub(super) async fn claim_smpp(
    pool: &PgPool,
    account_ids: &[AccountId],
    now: Millis,
    limit: u32,
    lease_until: Millis,
) -> StoreResult<Vec<Webhook>> {
    if account_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(CLAIM_SMPP.as_str())
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .bind(account_ids)
        .fetch_all(pool)
        .await?;
    in_order(&rows)
}

/// The leased callbacks by id: RETURNING has no order of its own.
fn in_order(rows: &[PgRow]) -> StoreResult<Vec<Webhook>> {
    let mut webhooks = rows
        .iter()
        .map(webhook_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    webhooks.sort_by_key(|w| w.id);
    Ok(webhooks)
}

/// A callback already delivered or given up is left as it is.
pub(super) async fn finish(
    pool: &PgPool,
    id: i64,
    result: WebhookResult,
    now: Millis,
) -> StoreResult<()> {
    let (state, retry_at, error) = match &result {
        WebhookResult::Delivered => ("delivered", None, None),
        WebhookResult::Retry { retry_at, error } => {
            ("pending", Some(*retry_at), Some(error.as_str()))
        }
        WebhookResult::GaveUp { error } => ("failed", None, Some(error.as_str())),
    };
    let found: bool = sqlx::query_scalar(
        "WITH finished AS (
             UPDATE webhooks SET state = $1, next_attempt_at = COALESCE($2, next_attempt_at),
                    last_error = COALESCE($3, last_error), attempts = attempts + 1,
                    lease_until = NULL, last_attempt_at = $4
             WHERE id = $5 AND state IN ('pending', 'leased'))
         SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $5)",
    )
    .bind(state)
    .bind(retry_at)
    .bind(error)
    .bind(now)
    .bind(id)
    .fetch_one(pool)
    .await?;
    if found {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

pub(super) async fn pending(pool: &PgPool) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM webhooks WHERE state = 'pending')
              + (SELECT COUNT(*) FROM webhooks WHERE state = 'leased')",
    )
    .fetch_one(pool)
    .await?;
    Ok(to_u64(n))
}
