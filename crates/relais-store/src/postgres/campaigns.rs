//! Campaigns: committing them (campaign, texts, messages, history, ledger,
//! idempotency record, debit — one savepoint per campaign, one transaction
//! per batch), cancelling, and reading campaigns and their messages.

use std::sync::LazyLock;

use relais_core::money::Amount;
use relais_core::plan::Counters;
use relais_core::sender::SenderId;
use sqlx::postgres::PgRow;
use sqlx::{Connection, PgConnection, PgExecutor, PgPool, Row};

use super::codec::{
    self, constraint_error, corrupt, encoding_str, int, int4, limit_offset, parsed, to_i64, to_u64,
};
use super::retry;
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

fn campaign_from_row(row: &PgRow) -> StoreResult<Campaign> {
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
        segments: int4(row, "text_segments")?,
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

fn message_from_row(row: &PgRow) -> StoreResult<Message> {
    Ok(Message {
        id: row.try_get("id")?,
        campaign_id: row.try_get("campaign_id")?,
        account_id: row.try_get("account_id")?,
        number: parsed(row, "number")?,
        country: parsed(row, "country")?,
        client_ref: row.try_get("client_ref")?,
        text: row.try_get("text")?,
        encoding: codec::encoding(row, "encoding")?,
        segments: int4(row, "segments")?,
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

/// Everything of a campaign but the debit, in one statement: the messages
/// come as one array per column (`unnest`), so 100,000 of them cost one
/// round trip and one insert. Answers the campaign id and whether the
/// idempotency record (if any) was written.
///
/// `$1` account, `$2`..`$20` the campaign's columns, `$21`..`$23` the texts,
/// `$24`..`$30` the messages, `$31`/`$32` how many are queued and scheduled,
/// `$33`..`$35` the idempotency key, answer and window start (NULL key: none),
/// `$36` the reply URL, `$37` the channel order, `$38` the callback events,
/// `$39` the request hash of the idempotency record.
///
/// A live record of the idempotency key (created since the window start)
/// makes the commit fail; a stale one is replaced. Of two sends with one key
/// on two nodes at once, the second waits for the first's record (the
/// table's unique key), then finds it live.
const INSERT_CAMPAIGN: &str = "WITH campaign AS (
         INSERT INTO campaigns (account_id, source, kind, route_class, sender, send_at,
                                expires_at, callback_url, tag, total, sent, blacklisted,
                                duplicated, npai, invalid, not_allowed, flood, country_limit,
                                cost, created_at, reply_url, channels, callback_events)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $36, $37, $38)
         RETURNING id),
     texts AS (
         INSERT INTO campaign_texts (campaign_id, idx, text, encoding, segments)
         SELECT campaign.id, t.ord - 1, t.text, t.encoding, t.segments
         FROM campaign, unnest($21::text[], $22::text[], $23::int[])
                        WITH ORDINALITY AS t (text, encoding, segments, ord)),
     inserted AS (
         INSERT INTO messages (campaign_id, account_id, number, country, client_ref, text_idx,
                               segments, cost, status, send_at, expires_at, created_at,
                               updated_at)
         SELECT campaign.id, $1, m.number, m.country, m.client_ref, m.text_idx, m.segments,
                m.cost, CASE WHEN m.send_at <= $20 THEN 'queued' ELSE 'scheduled' END,
                m.send_at, $7, $20, $20
         FROM campaign, unnest($24::text[], $25::text[], $26::text[], $27::int[], $28::int[],
                               $29::bigint[], $30::bigint[])
                        WITH ORDINALITY AS m (number, country, client_ref, text_idx, segments,
                                              cost, send_at, ord)
         ORDER BY m.ord
         RETURNING id, status, send_at),
     queue AS (
         INSERT INTO message_queue (message_id, send_at, expires_at, status)
         SELECT id, send_at, $7, status FROM inserted),
     events AS (
         INSERT INTO message_events (message_id, status, at)
         SELECT id, status, $20 FROM inserted),
     counts AS (
         INSERT INTO campaign_counts (campaign_id, status, n)
         SELECT campaign.id, s.status, s.n
         FROM campaign, (VALUES ('queued', $31::bigint), ('scheduled', $32::bigint)) AS s (status, n)),
     debit_entry AS (
         INSERT INTO ledger (account_id, amount, reason, campaign_id, at)
         SELECT $1, -$19::bigint, 'campaign', campaign.id, $20 FROM campaign WHERE $19 <> 0),
     idempotent AS (
         INSERT INTO idempotency (account_id, key, campaign_id, body, created_at, request_hash)
         SELECT $1, $33, campaign.id, replace($34, '{campaign_id}', campaign.id::text), $20, $39
         FROM campaign WHERE $33::text IS NOT NULL
         ON CONFLICT (account_id, key) DO UPDATE SET
             campaign_id = excluded.campaign_id, body = excluded.body,
             created_at = excluded.created_at, request_hash = excluded.request_hash
         WHERE idempotency.created_at < $35
         RETURNING 1)
     SELECT id, EXISTS (SELECT 1 FROM idempotent) AS recorded FROM campaign";

/// Commits a batch of campaigns (see [`Store::commit_campaigns`]) in one
/// transaction, each campaign inside a savepoint of its own: a refused one
/// is rolled back to its savepoint, and the others stay.
///
/// Campaigns are written in the order of their accounts (batch order within
/// one account), so that concurrent batches, on this node or others, lock
/// account rows by their debits in one order, as dispatch batches do (see
/// `transitions`); the results answer in batch order. A deadlock or
/// serialization failure all the same runs the whole batch again (`retry`).
///
/// [`Store::commit_campaigns`]: crate::Store::commit_campaigns
pub(super) async fn commit(
    pool: &PgPool,
    batch: &[NewCampaign<'_>],
) -> Vec<StoreResult<CampaignId>> {
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| batch[i].account_id);
    match retry(|| commit_batch(pool, batch, &order)).await {
        Ok(results) => results,
        Err(error) => commit::fail_all(error, batch.len()),
    }
}

async fn commit_batch(
    pool: &PgPool,
    batch: &[NewCampaign<'_>],
    order: &[usize],
) -> StoreResult<Vec<StoreResult<CampaignId>>> {
    let mut results: Vec<Option<StoreResult<CampaignId>>> = batch.iter().map(|_| None).collect();
    let mut tx = pool.begin().await?;
    for &i in order {
        let mut savepoint = tx.begin().await?;
        let result = match commit_one(&mut savepoint, &batch[i]).await {
            Ok(id) => {
                savepoint.commit().await?;
                Ok(id)
            }
            Err(refusal) if commit::is_refusal(&refusal) => {
                savepoint.rollback().await?;
                Err(refusal)
            }
            Err(error) => return Err(error),
        };
        results[i] = Some(result);
    }
    tx.commit().await?;
    Ok(results
        .into_iter()
        .map(|result| result.expect("every campaign is in `order`"))
        .collect())
}

/// One campaign of a batch. Its debit is taken last, so that the account
/// row stays locked only from the debit on, not while the first campaign's
/// messages are written: concurrent sends of the account (and refunds by
/// dispatchers) wait for that much less.
async fn commit_one(conn: &mut PgConnection, new: &NewCampaign<'_>) -> StoreResult<CampaignId> {
    let NewCampaign {
        account_id,
        plan,
        meta,
        now,
        ..
    } = new;
    let (account_id, now) = (*account_id, *now);
    let counters = &plan.counters;

    let texts: Vec<&str> = plan.texts.iter().map(|t| t.text.as_str()).collect();
    let encodings: Vec<&str> = plan
        .texts
        .iter()
        .map(|t| encoding_str(t.encoding))
        .collect();
    let text_segments: Vec<i32> = plan.texts.iter().map(|t| i32::from(t.segments)).collect();

    let n = plan.messages.len();
    let mut numbers = Vec::with_capacity(n);
    let mut countries = Vec::with_capacity(n);
    let mut client_refs = Vec::with_capacity(n);
    let mut text_idx = Vec::with_capacity(n);
    let mut segments = Vec::with_capacity(n);
    let mut costs = Vec::with_capacity(n);
    let mut send_ats = Vec::with_capacity(n);
    for m in &plan.messages {
        numbers.push(m.number.to_string());
        countries.push(m.country.as_str());
        client_refs.push(commit::client_ref(new, m));
        text_idx.push(i32::try_from(m.text).map_err(|_| corrupt("text index", m.text))?);
        segments.push(i32::from(m.segments));
        costs.push(m.cost.micros());
        send_ats.push(m.send_at.as_millisecond());
    }
    let (queued, scheduled) = commit::queued_and_scheduled(new);
    let idempotency = meta.idempotency.as_ref();

    let row = sqlx::query(INSERT_CAMPAIGN)
        .bind(account_id)
        .bind(&meta.source)
        .bind(plan.kind.as_str())
        .bind(plan.route_class.as_str())
        .bind(plan.sender.as_ref().map(SenderId::as_str))
        .bind(plan.send_at.as_millisecond())
        .bind(plan.expires_at.map(|t| t.as_millisecond()))
        .bind(&meta.callback_url)
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
        .bind(&texts)
        .bind(&encodings)
        .bind(&text_segments)
        .bind(&numbers)
        .bind(&countries)
        .bind(&client_refs)
        .bind(&text_idx)
        .bind(&segments)
        .bind(&costs)
        .bind(&send_ats)
        .bind(to_i64(queued))
        .bind(to_i64(scheduled))
        .bind(idempotency.map(|r| r.key.as_str()))
        .bind(idempotency.map(|r| r.answer_template.as_str()))
        .bind(idempotency.map_or(0, |r| r.since))
        .bind(&meta.reply_url)
        .bind(plan.channels.as_str())
        .bind(meta.callback_events.map(CallbackEvents::as_str))
        .bind(idempotency.map_or("", |r| r.request_hash.as_str()))
        .fetch_one(&mut *conn)
        .await
        .map_err(constraint_error(|| "a campaign".into()))?;
    let id: CampaignId = row.try_get("id")?;
    if let Some(record) = idempotency
        && !row.try_get::<bool, _>("recorded")?
    {
        return Err(StoreError::Conflict(format!(
            "idempotency key {:?}",
            record.key
        )));
    }
    debit(conn, account_id, plan.cost).await?;
    Ok(id)
}

/// Takes `cost` from a prepaid account in one guarded update, so concurrent
/// commits (on any node) can never take the balance below zero: the update
/// waits for the account row, then checks the balance it reads after the
/// other commit. Postpaid accounts (NULL balance) always pass.
async fn debit(conn: &mut PgConnection, account_id: AccountId, cost: Amount) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE accounts SET balance = balance - $1
         WHERE id = $2 AND (balance IS NULL OR balance >= $1)",
    )
    .bind(cost.micros())
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let balance: Option<i64> = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
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
    pool: &PgPool,
    account_id: AccountId,
    key: &str,
    since: Millis,
) -> StoreResult<Option<IdempotentAnswer>> {
    let row = sqlx::query(
        "SELECT campaign_id, body, request_hash FROM idempotency
         WHERE account_id = $1 AND key = $2 AND created_at >= $3",
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

/// `NotFound` unless the campaign exists and is the account's (which never
/// changes, so the check needs no transaction with what follows it).
async fn owned(
    conn: impl PgExecutor<'_>,
    account_id: AccountId,
    id: CampaignId,
) -> StoreResult<()> {
    sqlx::query("SELECT 1 FROM campaigns WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .fetch_optional(conn)
        .await?
        .map(|_| ())
        .ok_or(StoreError::NotFound)
}

/// Cancels a campaign's unsent messages, refunded. `$1` the campaign, `$2` now.
/// It waits for messages other transactions hold locked (a claim queuing or
/// leasing them) and takes those still unsent after.
static CANCEL: LazyLock<String> = LazyLock::new(|| {
    transitions::statement(
        "",
        "SELECT m.id AS message_id, m.campaign_id, m.account_id, q.status AS from_status,
                'cancelled'::text AS status, $2::bigint AS at, NULL::text AS detail,
                NULL::bigint AS lease_until, m.cost AS refund, FALSE AS notify
         FROM messages AS m JOIN message_queue AS q ON q.message_id = m.id
         WHERE m.campaign_id = $1 AND q.status IN ('scheduled', 'queued')
         ORDER BY q.message_id FOR UPDATE OF q",
        Effects {
            refunds: true,
            ..Effects::default()
        },
        "SELECT COUNT(*) AS cancelled, COALESCE(SUM(refund), 0)::bigint AS refunded FROM moved",
    )
});

/// Cancels the unsent (scheduled or queued) messages, refunded. No status
/// callback is sent for them: the client asked for it and gets the outcome in
/// the answer.
pub(super) async fn cancel(
    pool: &PgPool,
    account_id: AccountId,
    id: CampaignId,
    now: Millis,
) -> StoreResult<CancelOutcome> {
    retry(|| async move {
        let mut tx = pool.begin().await?;
        owned(&mut *tx, account_id, id).await?;
        let row = sqlx::query(CANCEL.as_str())
            .bind(id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let cancelled = to_u64(row.try_get("cancelled")?);
        if cancelled > 0 {
            sqlx::query(
                "UPDATE campaigns SET cancelled_at = COALESCE(cancelled_at, $1) WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(CancelOutcome {
            cancelled,
            refunded: Amount::from_micros(row.try_get("refunded")?),
        })
    })
    .await
}

pub(super) async fn by_id(
    conn: impl PgExecutor<'_>,
    account_id: AccountId,
    id: CampaignId,
) -> StoreResult<Option<Campaign>> {
    sqlx::query(concat!(
        campaign_select!(),
        " WHERE c.id = $1 AND c.account_id = $2"
    ))
    .bind(id)
    .bind(account_id)
    .fetch_optional(conn)
    .await?
    .map(|row| campaign_from_row(&row))
    .transpose()
}

/// The campaigns of `ids`, in one statement.
pub(super) async fn by_ids(
    conn: &mut PgConnection,
    ids: &[CampaignId],
) -> StoreResult<Vec<Campaign>> {
    sqlx::query(concat!(campaign_select!(), " WHERE c.id = ANY($1)"))
        .bind(ids)
        .fetch_all(conn)
        .await?
        .iter()
        .map(campaign_from_row)
        .collect()
}

/// The messages of `ids`, in one statement.
pub(super) async fn messages_by_ids(
    conn: &mut PgConnection,
    ids: &[MessageId],
) -> StoreResult<Vec<Message>> {
    sqlx::query(concat!(message_select!(), " WHERE m.id = ANY($1)"))
        .bind(ids)
        .fetch_all(conn)
        .await?
        .iter()
        .map(message_from_row)
        .collect()
}

/// Newest first.
pub(super) async fn list(
    pool: &PgPool,
    account_id: AccountId,
    filter: &CampaignFilter,
    page: Page,
) -> StoreResult<Vec<Campaign>> {
    let (limit, offset) = limit_offset(&page);
    sqlx::query(concat!(
        "SELECT * FROM (",
        campaign_select!(),
        " WHERE c.account_id = $1 AND ($2::bigint IS NULL OR c.created_at >= $2)
            AND ($3::bigint IS NULL OR c.created_at < $3)) AS c
         WHERE $4::text IS NULL OR status = $4
         ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
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
    pool: &PgPool,
    account_id: AccountId,
    id: CampaignId,
) -> StoreResult<StatusCounts> {
    owned(pool, account_id, id).await?;
    counts_of(pool, id).await
}

/// One repeatable-read transaction, so that the campaign's status (derived
/// from the counts) and the counts come from the same snapshot.
pub(super) async fn with_counts(
    pool: &PgPool,
    account_id: AccountId,
    id: CampaignId,
) -> StoreResult<Option<(Campaign, StatusCounts)>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let Some(campaign) = by_id(&mut *tx, account_id, id).await? else {
        return Ok(None);
    };
    let counts = counts_of(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(Some((campaign, counts)))
}

async fn counts_of(conn: impl PgExecutor<'_>, id: CampaignId) -> StoreResult<StatusCounts> {
    sqlx::query("SELECT status, n FROM campaign_counts WHERE campaign_id = $1 AND n > 0")
        .bind(id)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok((codec::status(row, "status")?, int(row, "n")?)))
        .collect()
}

/// In the order of the request's recipients.
pub(super) async fn messages(
    pool: &PgPool,
    account_id: AccountId,
    id: CampaignId,
    status: Option<MessageStatus>,
    page: Page,
) -> StoreResult<Vec<Message>> {
    let (limit, offset) = limit_offset(&page);
    owned(pool, account_id, id).await?;
    let rows = sqlx::query(concat!(
        message_select!(),
        " WHERE m.campaign_id = $1 AND ($2::text IS NULL OR m.status = $2)
         ORDER BY m.id LIMIT $3 OFFSET $4"
    ))
    .bind(id)
    .bind(status.map(MessageStatus::as_str))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    rows.iter().map(message_from_row).collect()
}

pub(super) async fn message(
    pool: &PgPool,
    account_id: AccountId,
    id: MessageId,
) -> StoreResult<Option<(Message, Vec<StatusChange>)>> {
    // One repeatable-read transaction: the message and its history from one
    // snapshot, even if a dispatcher moves it in between.
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let Some(row) = sqlx::query(concat!(
        message_select!(),
        " WHERE m.id = $1 AND m.account_id = $2"
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
        "SELECT status, at, detail FROM message_events WHERE message_id = $1 ORDER BY id",
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
    tx.commit().await?;
    Ok(Some((message, history)))
}

pub(super) async fn message_by_ref(
    pool: &PgPool,
    account_id: AccountId,
    campaign_id: CampaignId,
    client_ref: &str,
) -> StoreResult<Option<Message>> {
    sqlx::query(concat!(
        message_select!(),
        " WHERE m.campaign_id = $1 AND m.client_ref = $2 AND m.account_id = $3
         ORDER BY m.id LIMIT 1"
    ))
    .bind(campaign_id)
    .bind(client_ref)
    .bind(account_id)
    .fetch_optional(pool)
    .await?
    .map(|row| message_from_row(&row))
    .transpose()
}
