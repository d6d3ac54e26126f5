//! The webhook outbox: leasing due callbacks to the webhook workers (HTTP) or
//! the SMPP servers (delivery receipts of SMPP clients, url `smpp:`) of every
//! node, and recording how their delivery went. Callbacks are enqueued by the
//! statements of the events they report (`transitions`, `inbound`).

use std::sync::LazyLock;

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use super::codec::{self, int4, to_u64};
use super::{accounts, campaigns, inbound};
use crate::model::{AccountId, Millis, Webhook, WebhookFacts, WebhookResult};
use crate::outbox::{self, FactIds};
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

/// What rendering `webhooks` needs (see `Store::webhook_facts`): one
/// repeatable-read transaction (one snapshot), one statement per kind of record.
pub(super) async fn facts(pool: &PgPool, webhooks: &[Webhook]) -> StoreResult<WebhookFacts> {
    if webhooks.is_empty() {
        return Ok(WebhookFacts::default());
    }
    let ids = FactIds::of(webhooks);
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let accounts = accounts::by_ids(&mut tx, &ids.accounts).await?;
    let messages = campaigns::messages_by_ids(&mut tx, &ids.messages).await?;
    let campaigns = campaigns::by_ids(&mut tx, &outbox::campaign_ids(&messages)).await?;
    let inbound = inbound::by_ids(&mut tx, &ids.inbound).await?;
    tx.commit().await?;
    Ok(WebhookFacts::gather(accounts, messages, campaigns, inbound))
}

/// Records a batch of delivery results in one statement (see
/// `Store::finish_webhooks`), and counts how many of the ids exist.
pub(super) async fn finish(
    pool: &PgPool,
    results: &[(i64, WebhookResult)],
    now: Millis,
) -> StoreResult<()> {
    if results.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(results.len());
    let mut states = Vec::with_capacity(results.len());
    let mut retry_ats = Vec::with_capacity(results.len());
    let mut errors = Vec::with_capacity(results.len());
    for (id, result) in results {
        let (state, retry_at, error) = outbox::result_columns(result);
        ids.push(*id);
        states.push(state);
        retry_ats.push(retry_at);
        errors.push(error);
    }
    let found: i64 = sqlx::query_scalar(
        "WITH r AS (
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[])
                    AS r (id, state, retry_at, error)),
         finished AS (
             UPDATE webhooks AS w SET state = r.state,
                    next_attempt_at = COALESCE(r.retry_at, w.next_attempt_at),
                    last_error = COALESCE(r.error, w.last_error), attempts = w.attempts + 1,
                    lease_until = NULL, last_attempt_at = $5
             FROM r WHERE w.id = r.id AND w.state IN ('pending', 'leased'))
         SELECT COUNT(*) FROM webhooks WHERE id = ANY($1)",
    )
    .bind(&ids)
    .bind(&states)
    .bind(&retry_ats)
    .bind(&errors)
    .bind(now)
    .fetch_one(pool)
    .await?;
    if (found as usize) < outbox::distinct_ids(results) {
        return Err(StoreError::NotFound);
    }
    Ok(())
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
