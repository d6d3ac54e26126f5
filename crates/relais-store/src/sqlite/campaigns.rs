//! Campaigns: committing them (debits, campaigns, texts, messages, history,
//! ledger, idempotency records — one transaction per batch), cancelling, and
//! reading campaigns and their messages.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use relais_core::money::Amount;
use relais_core::plan::Counters;
use relais_core::sender::SenderId;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqliteExecutor, SqlitePool};

use super::batch::execute_values;
use super::codec::{self, corrupt, encoding_str, int, limit_offset, parsed, to_i64};
use super::transitions::{self, Effects};
use crate::commit;
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
        channels: codec::channels(row, "channels")?,
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
        callback_events: codec::callback_events(row, "callback_events")?,
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

/// Commits a batch of campaigns (see [`Store::commit_campaigns`]) in one
/// transaction: first what is refused and the debits of the rest, decided in
/// batch order; then the rows of every accepted campaign, a few multi-row
/// statements for the whole batch, so a batch of many one-message campaigns
/// costs about what one campaign costs.
///
/// [`Store::commit_campaigns`]: crate::Store::commit_campaigns
pub(super) async fn commit(
    pool: &SqlitePool,
    batch: &[NewCampaign<'_>],
) -> Vec<StoreResult<CampaignId>> {
    match commit_batch(pool, batch).await {
        Ok(results) => results,
        Err(error) => commit::fail_all(error, batch.len()),
    }
}

async fn commit_batch(
    pool: &SqlitePool,
    batch: &[NewCampaign<'_>],
) -> StoreResult<Vec<StoreResult<CampaignId>>> {
    // The write lock from the start: the balances and keys read while
    // deciding cannot change before the writes.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let refusals = take_debits(&mut tx, batch).await?;
    // The writer is alone: the ids after the largest are free, and the
    // accepted campaigns take them in order.
    let first: CampaignId = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM campaigns")
        .fetch_one(&mut *tx)
        .await?;
    let mut accepted = Vec::with_capacity(batch.len());
    let results = batch
        .iter()
        .zip(refusals)
        .map(|(new, refusal)| match refusal {
            Some(error) => Err(error),
            None => {
                let id = first + accepted.len() as CampaignId;
                accepted.push((id, new));
                Ok(id)
            }
        })
        .collect();
    if !accepted.is_empty() {
        insert(&mut tx, &accepted, first).await?;
    }
    tx.commit().await?;
    Ok(results)
}

/// What is left of an account's balance while a batch is decided.
enum Funds {
    /// No such account.
    Unknown,
    /// No credit limit.
    Postpaid,
    /// What the account had, and what the batch takes from it.
    Prepaid { balance: Amount, taken: Amount },
}

/// Decides in batch order which campaigns are refused — a live idempotency
/// key (in the store or earlier in the batch), an unknown account, a balance
/// the campaigns before left too low — and takes the debits of the others,
/// one update per account. Answers the refusal of each campaign, if any.
async fn take_debits(
    conn: &mut SqliteConnection,
    batch: &[NewCampaign<'_>],
) -> StoreResult<Vec<Option<StoreError>>> {
    let mut funds: HashMap<AccountId, Funds> = HashMap::new();
    let mut keys: HashSet<(AccountId, &str)> = HashSet::new();
    let mut refusals = Vec::with_capacity(batch.len());
    for new in batch {
        let key = new.meta.idempotency.as_ref();
        if let Some(record) = key
            && (keys.contains(&(new.account_id, record.key.as_str()))
                || key_is_live(&mut *conn, new.account_id, record).await?)
        {
            refusals.push(Some(key_conflict(record)));
            continue;
        }
        let account = match funds.entry(new.account_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new_account) => new_account.insert(funds_of(conn, new.account_id).await?),
        };
        let refusal = match account {
            Funds::Unknown => Some(StoreError::NotFound),
            Funds::Postpaid => None,
            Funds::Prepaid { balance, taken } => {
                let available = *balance - *taken;
                if available < new.plan.cost {
                    Some(StoreError::InsufficientCredits {
                        needed: new.plan.cost,
                        available,
                    })
                } else {
                    *taken += new.plan.cost;
                    None
                }
            }
        };
        if refusal.is_none()
            && let Some(record) = key
        {
            keys.insert((new.account_id, record.key.as_str()));
        }
        refusals.push(refusal);
    }
    for (account_id, account) in funds {
        if let Funds::Prepaid { taken, .. } = account
            && taken != Amount::ZERO
        {
            sqlx::query("UPDATE accounts SET balance = balance - ? WHERE id = ?")
                .bind(taken.micros())
                .bind(account_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(refusals)
}

/// An account's funds before the batch.
async fn funds_of(conn: &mut SqliteConnection, account_id: AccountId) -> StoreResult<Funds> {
    let balance: Option<Option<i64>> =
        sqlx::query_scalar("SELECT balance FROM accounts WHERE id = ?")
            .bind(account_id)
            .fetch_optional(conn)
            .await?;
    Ok(match balance {
        None => Funds::Unknown,
        Some(None) => Funds::Postpaid,
        Some(Some(micros)) => Funds::Prepaid {
            balance: Amount::from_micros(micros),
            taken: Amount::ZERO,
        },
    })
}

/// True when the key already answers for a campaign created since
/// `record.since`: of two requests with one key, the second to reach the
/// (single) writer finds the first one's record and stores nothing.
async fn key_is_live(
    conn: &mut SqliteConnection,
    account_id: AccountId,
    record: &IdempotencyRecord,
) -> StoreResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM idempotency
                        WHERE account_id = ? AND key = ? AND created_at >= ?)",
    )
    .bind(account_id)
    .bind(&record.key)
    .bind(record.since)
    .fetch_one(conn)
    .await?)
}

fn key_conflict(record: &IdempotencyRecord) -> StoreError {
    StoreError::Conflict(format!("idempotency key {:?}", record.key))
}

/// Writes the accepted campaigns (`(id, campaign)`, ids from `first` on),
/// their texts, messages, first status changes and counts, debit entries and
/// idempotency records.
async fn insert(
    conn: &mut SqliteConnection,
    accepted: &[(CampaignId, &NewCampaign<'_>)],
    first: CampaignId,
) -> StoreResult<()> {
    execute_values(
        &mut *conn,
        "INSERT INTO campaigns (id, account_id, source, kind, route_class, channels, sender,
                                send_at, expires_at, callback_url, reply_url, tag, total, sent,
                                blacklisted, duplicated, npai, invalid, not_allowed, flood,
                                country_limit, cost, created_at, callback_events) ",
        "",
        accepted,
        |values, (id, new)| {
            let (plan, meta, counters) = (new.plan, &new.meta, &new.plan.counters);
            values
                .push_bind(*id)
                .push_bind(new.account_id)
                .push_bind(meta.source.as_str())
                .push_bind(plan.kind.as_str())
                .push_bind(plan.route_class.as_str())
                .push_bind(plan.channels.as_str())
                .push_bind(plan.sender.as_ref().map(SenderId::as_str))
                .push_bind(plan.send_at.as_millisecond())
                .push_bind(plan.expires_at.map(|t| t.as_millisecond()))
                .push_bind(meta.callback_url.as_deref())
                .push_bind(meta.reply_url.as_deref())
                .push_bind(meta.tag.as_deref())
                .push_bind(to_i64(counters.total))
                .push_bind(to_i64(counters.sent))
                .push_bind(to_i64(counters.blacklisted))
                .push_bind(to_i64(counters.duplicated))
                .push_bind(to_i64(counters.npai))
                .push_bind(to_i64(counters.invalid))
                .push_bind(to_i64(counters.not_allowed))
                .push_bind(to_i64(counters.flood))
                .push_bind(to_i64(counters.country_limit))
                .push_bind(plan.cost.micros())
                .push_bind(new.now)
                .push_bind(meta.callback_events.map(CallbackEvents::as_str));
        },
    )
    .await?;

    let texts: Vec<_> = accepted
        .iter()
        .flat_map(|(id, new)| new.plan.texts.iter().enumerate().map(|t| (*id, t)))
        .collect();
    execute_values(
        &mut *conn,
        "INSERT INTO campaign_texts (campaign_id, idx, text, encoding, segments) ",
        "",
        &texts,
        |values, (id, (idx, text))| {
            values
                .push_bind(*id)
                .push_bind(to_i64(*idx as u64))
                .push_bind(text.text.as_str())
                .push_bind(encoding_str(text.encoding))
                .push_bind(i64::from(text.segments));
        },
    )
    .await?;

    let messages: Vec<_> = accepted
        .iter()
        .flat_map(|(id, new)| new.plan.messages.iter().map(move |m| (*id, *new, m)))
        .collect();
    execute_values(
        &mut *conn,
        "INSERT INTO messages (campaign_id, account_id, number, country, client_ref, text_idx,
                               segments, cost, status, send_at, expires_at, created_at, updated_at) ",
        "",
        &messages,
        |values, (id, new, m)| {
            values
                .push_bind(*id)
                .push_bind(new.account_id)
                .push_bind(m.number.to_string())
                .push_bind(m.country.as_str())
                .push_bind(commit::client_ref(new, m))
                .push_bind(i64::from(m.text))
                .push_bind(i64::from(m.segments))
                .push_bind(m.cost.micros())
                .push_bind(commit::first_status(new, m).as_str())
                .push_bind(m.send_at.as_millisecond())
                .push_bind(new.plan.expires_at.map(|t| t.as_millisecond()))
                .push_bind(new.now)
                .push_bind(new.now);
        },
    )
    .await?;
    // Every message of a campaign from `first` on is one of this batch's.
    sqlx::query(
        "INSERT INTO message_events (message_id, status, at)
         SELECT id, status, created_at FROM messages WHERE campaign_id >= ?",
    )
    .bind(first)
    .execute(&mut *conn)
    .await?;

    let counts: Vec<_> = accepted
        .iter()
        .flat_map(|(id, new)| {
            let (queued, scheduled) = commit::queued_and_scheduled(new);
            [
                (*id, MessageStatus::Queued, queued),
                (*id, MessageStatus::Scheduled, scheduled),
            ]
        })
        .collect();
    execute_values(
        &mut *conn,
        "INSERT INTO campaign_counts (campaign_id, status, n) ",
        "",
        &counts,
        |values, (id, status, n)| {
            values
                .push_bind(*id)
                .push_bind(status.as_str())
                .push_bind(to_i64(*n));
        },
    )
    .await?;

    let debits: Vec<_> = accepted
        .iter()
        .filter(|(_, new)| new.plan.cost != Amount::ZERO)
        .collect();
    execute_values(
        &mut *conn,
        "INSERT INTO ledger (account_id, amount, reason, campaign_id, at) ",
        "",
        &debits,
        |values, (id, new)| {
            values
                .push_bind(new.account_id)
                .push_bind(-new.plan.cost.micros())
                .push_bind("campaign")
                .push_bind(*id)
                .push_bind(new.now);
        },
    )
    .await?;

    let keyed: Vec<_> = accepted
        .iter()
        .filter_map(|(id, new)| Some((*id, *new, new.meta.idempotency.as_ref()?)))
        .collect();
    // A stale record of a key (see `key_is_live`) now answers for its new campaign.
    execute_values(
        &mut *conn,
        "INSERT INTO idempotency (account_id, key, campaign_id, body, created_at, request_hash) ",
        " ON CONFLICT (account_id, key) DO UPDATE SET
              campaign_id = excluded.campaign_id, body = excluded.body,
              created_at = excluded.created_at, request_hash = excluded.request_hash",
        &keyed,
        |values, (id, new, record)| {
            values
                .push_bind(new.account_id)
                .push_bind(record.key.as_str())
                .push_bind(*id)
                .push_bind(
                    record
                        .answer_template
                        .replace("{campaign_id}", &id.to_string()),
                )
                .push_bind(new.now)
                .push_bind(record.request_hash.as_str());
        },
    )
    .await?;
    Ok(())
}

pub(super) async fn idempotent_answer(
    pool: &SqlitePool,
    account_id: AccountId,
    key: &str,
    since: Millis,
) -> StoreResult<Option<IdempotentAnswer>> {
    let row = sqlx::query(
        "SELECT campaign_id, body, request_hash FROM idempotency
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
            request_hash: row.try_get("request_hash")?,
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

/// The campaigns of `ids` (a JSON array), in one statement.
pub(super) async fn by_ids(conn: &mut SqliteConnection, ids: &str) -> StoreResult<Vec<Campaign>> {
    sqlx::query(concat!(
        campaign_select!(),
        " WHERE c.id IN (SELECT value FROM json_each(?))"
    ))
    .bind(ids)
    .fetch_all(conn)
    .await?
    .iter()
    .map(campaign_from_row)
    .collect()
}

/// The messages of `ids` (a JSON array), in one statement.
pub(super) async fn messages_by_ids(
    conn: &mut SqliteConnection,
    ids: &str,
) -> StoreResult<Vec<Message>> {
    sqlx::query(concat!(
        message_select!(),
        " WHERE m.id IN (SELECT value FROM json_each(?))"
    ))
    .bind(ids)
    .fetch_all(conn)
    .await?
    .iter()
    .map(message_from_row)
    .collect()
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
