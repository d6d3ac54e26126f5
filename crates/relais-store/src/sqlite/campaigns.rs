//! Campaigns: committing one (debit, campaign, texts, messages, history,
//! ledger, idempotency record — one transaction), cancelling, and reading
//! campaigns and their messages.

use relais_core::money::Amount;
use relais_core::plan::Counters;
use relais_core::sender::SenderId;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqliteExecutor, SqlitePool};

use super::batch::execute_values;
use super::codec::{self, corrupt, encoding_str, int, limit_offset, parsed, to_i64};
use super::transitions::{self, Effects};
use crate::model::*;
use crate::store::{StoreError, StoreResult};

/// A campaign with its first text and its status, derived from its messages'
/// counts: `sending` while any is queued or on its way, else `scheduled` while
/// any waits for its time, else `cancelled` if it was cancelled and none went
/// through a connector, else `done`.
macro_rules! campaign_select {
    () => {
        "SELECT c.*,
                COALESCE(t.text, '') AS text,
                COALESCE(t.encoding, 'gsm7') AS encoding,
                COALESCE(t.segments, 0) AS text_segments,
                CASE
                    WHEN EXISTS (SELECT 1 FROM campaign_counts AS k WHERE k.campaign_id = c.id
                                 AND k.status IN ('queued', 'submitting', 'submitted') AND k.n > 0)
                        THEN 'sending'
                    WHEN EXISTS (SELECT 1 FROM campaign_counts AS k WHERE k.campaign_id = c.id
                                 AND k.status = 'scheduled' AND k.n > 0)
                        THEN 'scheduled'
                    WHEN c.cancelled_at IS NOT NULL
                         AND NOT EXISTS (SELECT 1 FROM campaign_counts AS k WHERE k.campaign_id = c.id
                                         AND k.status IN ('delivered', 'undelivered', 'rejected')
                                         AND k.n > 0)
                        THEN 'cancelled'
                    ELSE 'done'
                END AS status
         FROM campaigns AS c
         LEFT JOIN campaign_texts AS t ON t.campaign_id = c.id AND t.idx = 0"
    };
}

/// A message with its text (`m.*`, `t.text`, `t.encoding`).
macro_rules! message_select {
    () => {
        "SELECT m.*, t.text, t.encoding
         FROM messages AS m
         JOIN campaign_texts AS t ON t.campaign_id = m.campaign_id AND t.idx = m.text_idx"
    };
}

fn campaign_from_row(row: &SqliteRow) -> StoreResult<Campaign> {
    let status: &str = row.try_get("status")?;
    Ok(Campaign {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        status: CampaignStatus::parse(status).ok_or_else(|| corrupt("campaign status", status))?,
        source: row.try_get("source")?,
        kind: codec::kind(row, "kind")?,
        route_class: codec::route_class(row, "route_class")?,
        sender: row.try_get("sender")?,
        text: row.try_get("text")?,
        encoding: codec::encoding(row, "encoding")?,
        segments: int(row, "text_segments")?,
        counters: Counters {
            total: int(row, "total")?,
            sent: int(row, "sent")?,
            blacklisted: int(row, "blacklisted")?,
            duplicated: int(row, "duplicated")?,
            npai: int(row, "npai")?,
            invalid: int(row, "invalid")?,
            not_allowed: int(row, "not_allowed")?,
            flood: int(row, "flood")?,
            country_limit: int(row, "country_limit")?,
        },
        cost: Amount::from_micros(row.try_get("cost")?),
        refunded: Amount::from_micros(row.try_get("refunded")?),
        send_at: row.try_get("send_at")?,
        expires_at: row.try_get("expires_at")?,
        callback_url: row.try_get("callback_url")?,
        tag: row.try_get("tag")?,
        created_at: row.try_get("created_at")?,
    })
}

fn message_from_row(row: &SqliteRow) -> StoreResult<Message> {
    Ok(Message {
        id: row.try_get("id")?,
        campaign_id: row.try_get("campaign_id")?,
        account_id: row.try_get("account_id")?,
        number: parsed(row, "number")?,
        country: parsed(row, "country")?,
        client_ref: row.try_get("client_ref")?,
        text: row.try_get("text")?,
        encoding: codec::encoding(row, "encoding")?,
        segments: int(row, "segments")?,
        cost: Amount::from_micros(row.try_get("cost")?),
        status: codec::status(row, "status")?,
        send_at: row.try_get("send_at")?,
        expires_at: row.try_get("expires_at")?,
        connector: row.try_get("connector")?,
        carrier_id: row.try_get("carrier_id")?,
        error: row.try_get("error")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) async fn commit(pool: &SqlitePool, new: NewCampaign<'_>) -> StoreResult<CampaignId> {
    let NewCampaign {
        account_id,
        request,
        plan,
        meta,
        now,
    } = new;
    let mut tx = pool.begin().await?;
    if let Some(record) = &meta.idempotency {
        claim_key(&mut tx, account_id, record).await?;
    }
    debit(&mut tx, account_id, plan.cost).await?;

    let counters = &plan.counters;
    let id: CampaignId = sqlx::query_scalar(
        "INSERT INTO campaigns (account_id, source, kind, route_class, sender, send_at, expires_at,
                                callback_url, reply_url, tag, total, sent, blacklisted, duplicated,
                                npai, invalid, not_allowed, flood, country_limit, cost, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         RETURNING id",
    )
    .bind(account_id)
    .bind(&meta.source)
    .bind(plan.kind.as_str())
    .bind(plan.route_class.as_str())
    .bind(plan.sender.as_ref().map(SenderId::as_str))
    .bind(plan.send_at.as_millisecond())
    .bind(plan.expires_at.map(|t| t.as_millisecond()))
    .bind(&meta.callback_url)
    .bind(&meta.reply_url)
    .bind(&meta.tag)
    .bind(to_i64(counters.total))
    .bind(to_i64(counters.sent))
    .bind(to_i64(counters.blacklisted))
    .bind(to_i64(counters.duplicated))
    .bind(to_i64(counters.npai))
    .bind(to_i64(counters.invalid))
    .bind(to_i64(counters.not_allowed))
    .bind(to_i64(counters.flood))
    .bind(to_i64(counters.country_limit))
    .bind(plan.cost.micros())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;

    let texts: Vec<(usize, _)> = plan.texts.iter().enumerate().collect();
    execute_values(
        &mut tx,
        "INSERT INTO campaign_texts (campaign_id, idx, text, encoding, segments) ",
        "",
        &texts,
        |values, (idx, text)| {
            values
                .push_bind(id)
                .push_bind(to_i64(*idx as u64))
                .push_bind(text.text.as_str())
                .push_bind(encoding_str(text.encoding))
                .push_bind(i64::from(text.segments));
        },
    )
    .await?;

    let expires_at = plan.expires_at.map(|t| t.as_millisecond());
    let queued = plan
        .messages
        .iter()
        .filter(|m| m.send_at.as_millisecond() <= now)
        .count() as u64;
    execute_values(
        &mut tx,
        "INSERT INTO messages (campaign_id, account_id, number, country, client_ref, text_idx,
                               segments, cost, status, send_at, expires_at, created_at, updated_at) ",
        "",
        &plan.messages,
        |values, m| {
            let send_at = m.send_at.as_millisecond();
            let status = if send_at <= now { MessageStatus::Queued } else { MessageStatus::Scheduled };
            let client_ref = request
                .recipients
                .get(m.recipient as usize)
                .and_then(|r| r.client_ref.as_deref());
            values
                .push_bind(id)
                .push_bind(account_id)
                .push_bind(m.number.to_string())
                .push_bind(m.country.as_str())
                .push_bind(client_ref)
                .push_bind(i64::from(m.text))
                .push_bind(i64::from(m.segments))
                .push_bind(m.cost.micros())
                .push_bind(status.as_str())
                .push_bind(send_at)
                .push_bind(expires_at)
                .push_bind(now)
                .push_bind(now);
        },
    )
    .await?;

    sqlx::query(
        "INSERT INTO message_events (message_id, status, at)
         SELECT id, status, ? FROM messages WHERE campaign_id = ?",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO campaign_counts (campaign_id, status, n)
         VALUES (?1, 'queued', ?2), (?1, 'scheduled', ?3)",
    )
    .bind(id)
    .bind(to_i64(queued))
    .bind(to_i64(plan.messages.len() as u64 - queued))
    .execute(&mut *tx)
    .await?;
    if plan.cost != Amount::ZERO {
        sqlx::query("INSERT INTO ledger (account_id, amount, reason, campaign_id, at) VALUES (?, ?, 'campaign', ?, ?)")
            .bind(account_id)
            .bind(-plan.cost.micros())
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(record) = &meta.idempotency {
        // A stale record of the key (`claim_key`) now answers for this campaign.
        sqlx::query(
            "INSERT INTO idempotency (account_id, key, campaign_id, body, created_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (account_id, key) DO UPDATE SET
                 campaign_id = excluded.campaign_id, body = excluded.body,
                 created_at = excluded.created_at",
        )
        .bind(account_id)
        .bind(&record.key)
        .bind(id)
        .bind(
            record
                .answer_template
                .replace("{campaign_id}", &id.to_string()),
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Fails with `Conflict` when the key already answers for a campaign created
/// since `record.since`: of two requests with one key, the second to reach the
/// (single) writer finds the first one's record and stores nothing.
async fn claim_key(
    conn: &mut SqliteConnection,
    account_id: AccountId,
    record: &IdempotencyRecord,
) -> StoreResult<()> {
    let live: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM idempotency
                        WHERE account_id = ? AND key = ? AND created_at >= ?)",
    )
    .bind(account_id)
    .bind(&record.key)
    .bind(record.since)
    .fetch_one(conn)
    .await?;
    if live {
        return Err(StoreError::Conflict(format!(
            "idempotency key {:?}",
            record.key
        )));
    }
    Ok(())
}

/// Takes `cost` from a prepaid account in one guarded update, so concurrent
/// commits can never take the balance below zero; postpaid accounts (NULL
/// balance) always pass.
async fn debit(
    conn: &mut SqliteConnection,
    account_id: AccountId,
    cost: Amount,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE accounts SET balance = balance - ?1
         WHERE id = ?2 AND (balance IS NULL OR balance >= ?1)",
    )
    .bind(cost.micros())
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let balance: Option<i64> = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = ?")
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    Err(StoreError::InsufficientCredits {
        needed: cost,
        available: Amount::from_micros(balance.unwrap_or_default()),
    })
}

pub(super) async fn idempotent_answer(
    pool: &SqlitePool,
    account_id: AccountId,
    key: &str,
    since: Millis,
) -> StoreResult<Option<IdempotentAnswer>> {
    let row = sqlx::query(
        "SELECT campaign_id, body FROM idempotency
         WHERE account_id = ? AND key = ? AND created_at >= ?",
    )
    .bind(account_id)
    .bind(key)
    .bind(since)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(IdempotentAnswer {
            campaign_id: row.try_get("campaign_id")?,
            body: row.try_get("body")?,
        })
    })
    .transpose()
}

/// `NotFound` unless the campaign exists and is the account's.
async fn owned(
    conn: &mut SqliteConnection,
    account_id: AccountId,
    id: CampaignId,
) -> StoreResult<()> {
    sqlx::query("SELECT 1 FROM campaigns WHERE id = ? AND account_id = ?")
        .bind(id)
        .bind(account_id)
        .fetch_optional(conn)
        .await?
        .map(|_| ())
        .ok_or(StoreError::NotFound)
}

/// Cancels the unsent (scheduled or queued) messages, refunded. No status
/// callback is sent for them: the client asked for it and gets the outcome in
/// the answer.
pub(super) async fn cancel(
    pool: &SqlitePool,
    account_id: AccountId,
    id: CampaignId,
    now: Millis,
) -> StoreResult<CancelOutcome> {
    let mut tx = pool.begin().await?;
    owned(&mut tx, account_id, id).await?;
    transitions::clear(&mut tx).await?;
    let cancelled = sqlx::query(
        "INSERT INTO temp.changes (message_id, campaign_id, account_id, from_status, status, at,
                                   refund)
         SELECT id, campaign_id, account_id, status, 'cancelled', ?, cost FROM messages
         WHERE campaign_id = ? AND status IN ('scheduled', 'queued')",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let mut refunded = Amount::ZERO;
    if cancelled > 0 {
        refunded = Amount::from_micros(
            sqlx::query_scalar("SELECT SUM(refund) FROM temp.changes")
                .fetch_one(&mut *tx)
                .await?,
        );
        transitions::apply(
            &mut tx,
            Effects {
                refunds: true,
                ..Effects::default()
            },
        )
        .await?;
        sqlx::query("UPDATE campaigns SET cancelled_at = COALESCE(cancelled_at, ?) WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(CancelOutcome {
        cancelled,
        refunded,
    })
}

pub(super) async fn by_id(
    conn: impl SqliteExecutor<'_>,
    account_id: AccountId,
    id: CampaignId,
) -> StoreResult<Option<Campaign>> {
    sqlx::query(concat!(
        campaign_select!(),
        " WHERE c.id = ? AND c.account_id = ?"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(conn)
    .await?
    .map(|row| campaign_from_row(&row))
    .transpose()
}

/// Newest first.
pub(super) async fn list(
    pool: &SqlitePool,
    account_id: AccountId,
    filter: &CampaignFilter,
    page: Page,
) -> StoreResult<Vec<Campaign>> {
    let (limit, offset) = limit_offset(&page);
    sqlx::query(concat!(
        "SELECT * FROM (",
        campaign_select!(),
        " WHERE c.account_id = ?1 AND (?2 IS NULL OR c.created_at >= ?2)
            AND (?3 IS NULL OR c.created_at < ?3))
         WHERE ?4 IS NULL OR status = ?4
         ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?6"
    ))
    .bind(account_id)
    .bind(filter.created_from)
    .bind(filter.created_to)
    .bind(filter.status.map(CampaignStatus::as_str))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?
    .iter()
    .map(campaign_from_row)
    .collect()
}

pub(super) async fn status_counts(
    pool: &SqlitePool,
    account_id: AccountId,
    id: CampaignId,
) -> StoreResult<StatusCounts> {
    let mut tx = pool.begin().await?;
    owned(&mut tx, account_id, id).await?;
    counts_of(&mut tx, id).await
}

/// One read transaction, which in WAL mode is one snapshot: the campaign's
/// status (derived from the counts) agrees with the counts.
pub(super) async fn with_counts(
    pool: &SqlitePool,
    account_id: AccountId,
    id: CampaignId,
) -> StoreResult<Option<(Campaign, StatusCounts)>> {
    let mut tx = pool.begin().await?;
    let Some(campaign) = by_id(&mut *tx, account_id, id).await? else {
        return Ok(None);
    };
    let counts = counts_of(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Some((campaign, counts)))
}

async fn counts_of(conn: &mut SqliteConnection, id: CampaignId) -> StoreResult<StatusCounts> {
    sqlx::query("SELECT status, n FROM campaign_counts WHERE campaign_id = ? AND n > 0")
        .bind(id)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok((codec::status(row, "status")?, int(row, "n")?)))
        .collect()
}

/// In the order of the request's recipients.
pub(super) async fn messages(
    pool: &SqlitePool,
    account_id: AccountId,
    id: CampaignId,
    status: Option<MessageStatus>,
    page: Page,
) -> StoreResult<Vec<Message>> {
    let (limit, offset) = limit_offset(&page);
    let mut tx = pool.begin().await?;
    owned(&mut tx, account_id, id).await?;
    let rows = sqlx::query(concat!(
        message_select!(),
        " WHERE m.campaign_id = ?1 AND (?2 IS NULL OR m.status = ?2)
         ORDER BY m.id LIMIT ?3 OFFSET ?4"
    ))
    .bind(id)
    .bind(status.map(MessageStatus::as_str))
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *tx)
    .await?;
    rows.iter().map(message_from_row).collect()
}

pub(super) async fn message(
    pool: &SqlitePool,
    account_id: AccountId,
    id: MessageId,
) -> StoreResult<Option<(Message, Vec<StatusChange>)>> {
    // One read transaction: the message and its history from one snapshot.
    let mut tx = pool.begin().await?;
    let Some(row) = sqlx::query(concat!(
        message_select!(),
        " WHERE m.id = ? AND m.account_id = ?"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let message = message_from_row(&row)?;
    let history = sqlx::query(
        "SELECT status, at, detail FROM message_events WHERE message_id = ? ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|row| {
        Ok(StatusChange {
            status: codec::status(row, "status")?,
            at: row.try_get("at")?,
            detail: row.try_get("detail")?,
        })
    })
    .collect::<StoreResult<_>>()?;
    Ok(Some((message, history)))
}

pub(super) async fn message_by_ref(
    pool: &SqlitePool,
    account_id: AccountId,
    campaign_id: CampaignId,
    client_ref: &str,
) -> StoreResult<Option<Message>> {
    sqlx::query(concat!(
        message_select!(),
        " WHERE m.campaign_id = ? AND m.client_ref = ? AND m.account_id = ? ORDER BY m.id LIMIT 1"
    ))
    .bind(campaign_id)
    .bind(client_ref)
    .bind(account_id)
    .fetch_optional(pool)
    .await?
    .map(|row| message_from_row(&row))
    .transpose()
}
