//! The webhook outbox: leasing due callbacks to the webhook worker (HTTP) or
//! to the SMPP server (delivery receipts of SMPP clients, url `smpp:`), and
//! recording how their delivery went. Callbacks are enqueued by the
//! transactions of the events they report (`transitions`, `inbound`).

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use super::codec::{self, int};
use super::{accounts, campaigns, inbound};
use crate::model::{AccountId, Millis, Webhook, WebhookFacts, WebhookResult};
use crate::outbox::{self, FactIds};
use crate::store::{StoreError, StoreResult};

fn webhook_from_row(row: &SqliteRow) -> StoreResult<Webhook> {
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
        attempts: int(row, "attempts")?,
    })
}

/// HTTP callbacks: every one but the SMPP receipts.
pub(super) async fn claim(
    pool: &SqlitePool,
    now: Millis,
    limit: u32,
    lease_until: Millis,
) -> StoreResult<Vec<Webhook>> {
    lease(
        pool,
        "UPDATE webhooks SET state = 'leased', lease_until = ?2
         WHERE id IN (SELECT id FROM webhooks
                      WHERE state = 'pending' AND NOT via_smpp AND next_attempt_at <= ?1
                      ORDER BY next_attempt_at, id LIMIT ?3)
         RETURNING *",
        now,
        limit,
        lease_until,
        None,
    )
    .await
}

/// The SMPP receipts of the given accounts (those bound to this node).
pub(super) async fn claim_smpp(
    pool: &SqlitePool,
    account_ids: &[AccountId],
    now: Millis,
    limit: u32,
    lease_until: Millis,
) -> StoreResult<Vec<Webhook>> {
    if account_ids.is_empty() {
        return Ok(Vec::new());
    }
    let accounts =
        serde_json::to_string(account_ids).map_err(|e| codec::corrupt("account ids", e))?;
    lease(
        pool,
        "UPDATE webhooks SET state = 'leased', lease_until = ?2
         WHERE id IN (SELECT id FROM webhooks
                      WHERE state = 'pending' AND via_smpp AND next_attempt_at <= ?1
                        AND account_id IN (SELECT value FROM json_each(?4))
                      ORDER BY next_attempt_at, id LIMIT ?3)
         RETURNING *",
        now,
        limit,
        lease_until,
        Some(&accounts),
    )
    .await
}

/// Callbacks whose lease ran out (their worker died) are pending again first;
/// then `claim` leases the oldest due ones (`?1` now, `?2` the lease's end,
/// `?3` the limit, `?4` the accounts when given).
async fn lease(
    pool: &SqlitePool,
    claim: &'static str,
    now: Millis,
    limit: u32,
    lease_until: Millis,
    accounts: Option<&str>,
) -> StoreResult<Vec<Webhook>> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE webhooks SET state = 'pending', lease_until = NULL
         WHERE state = 'leased' AND lease_until <= ?",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let mut query = sqlx::query(claim)
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit));
    if let Some(accounts) = accounts {
        query = query.bind(accounts);
    }
    let rows = query.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let mut webhooks = rows
        .iter()
        .map(webhook_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    // RETURNING has no order of its own.
    webhooks.sort_by_key(|w| w.id);
    Ok(webhooks)
}

/// What rendering `webhooks` needs (see `Store::webhook_facts`): one read
/// transaction (one WAL snapshot), one statement per kind of record.
pub(super) async fn facts(pool: &SqlitePool, webhooks: &[Webhook]) -> StoreResult<WebhookFacts> {
    if webhooks.is_empty() {
        return Ok(WebhookFacts::default());
    }
    let ids = FactIds::of(webhooks);
    let mut tx = pool.begin().await?;
    let accounts = accounts::by_ids(&mut tx, &json_ids(&ids.accounts)?).await?;
    let messages = campaigns::messages_by_ids(&mut tx, &json_ids(&ids.messages)?).await?;
    let campaign_ids = outbox::campaign_ids(&messages);
    let campaigns = campaigns::by_ids(&mut tx, &json_ids(&campaign_ids)?).await?;
    let inbound = inbound::by_ids(&mut tx, &json_ids(&ids.inbound)?).await?;
    tx.commit().await?;
    Ok(WebhookFacts::gather(accounts, messages, campaigns, inbound))
}

/// Ids as the JSON array that `json_each` reads.
pub(super) fn json_ids(ids: &[i64]) -> StoreResult<String> {
    serde_json::to_string(ids).map_err(|e| codec::corrupt("ids", e))
}

/// Records a batch of delivery results in one statement (see
/// `Store::finish_webhooks`): each result is a JSON row `[id, state,
/// retry_at, error]`.
pub(super) async fn finish(
    pool: &SqlitePool,
    results: &[(i64, WebhookResult)],
    now: Millis,
) -> StoreResult<()> {
    if results.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = results
        .iter()
        .map(|(id, result)| {
            let (state, retry_at, error) = outbox::result_columns(result);
            serde_json::json!([id, state, retry_at, error])
        })
        .collect();
    let rows = serde_json::Value::Array(rows).to_string();
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "WITH r (id, state, retry_at, error) AS (
             SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]'
             FROM json_each(?1))
         UPDATE webhooks SET state = r.state,
                next_attempt_at = COALESCE(r.retry_at, webhooks.next_attempt_at),
                last_error = COALESCE(r.error, webhooks.last_error),
                attempts = webhooks.attempts + 1, lease_until = NULL, last_attempt_at = ?2
         FROM r WHERE webhooks.id = r.id AND webhooks.state IN ('pending', 'leased')",
    )
    .bind(&rows)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let expected = outbox::distinct_ids(results);
    if (done.rows_affected() as usize) < expected {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhooks
             WHERE id IN (SELECT value ->> '$[0]' FROM json_each(?))",
        )
        .bind(&rows)
        .fetch_one(&mut *tx)
        .await?;
        if (found as usize) < expected {
            tx.commit().await?;
            return Err(StoreError::NotFound);
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn pending(pool: &SqlitePool) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM webhooks WHERE state = 'pending')
              + (SELECT COUNT(*) FROM webhooks WHERE state = 'leased')",
    )
    .fetch_one(pool)
    .await?;
    u64::try_from(n).map_err(|_| codec::corrupt("pending webhooks", n))
}
