//! Replies (MO) and STOP replies: matched to the account and the message they
//! answer, stored, turned into a blacklist entry for STOP, and reported to the
//! campaign's reply URL or the account's inbound callback.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::codec::{event_kind_str, limit_offset, list_str, parsed};
use crate::model::{
    AccountId, CampaignId, EventKind, Inbound, MessageId, NewInbound, NumberList, Page,
};
use crate::store::StoreResult;

fn inbound_from_row(row: &SqliteRow) -> StoreResult<Inbound> {
    Ok(Inbound {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        from: parsed(row, "from_number")?,
        to: row.try_get("to_address")?,
        text: row.try_get("text")?,
        is_stop: row.try_get("is_stop")?,
        message_id: row.try_get("message_id")?,
        campaign_id: row.try_get("campaign_id")?,
        received_at: row.try_get("received_at")?,
    })
}

/// The last message sent to a number, which a reply answers.
struct LastSent {
    account_id: AccountId,
    message_id: MessageId,
    campaign_id: CampaignId,
    /// The door of its campaign, which the callback is rendered for.
    source: String,
    /// Where its campaign wants replies (SMS Partner's `urlResponse`).
    reply_url: Option<String>,
}

/// The last message to `number`, from `account_id` or from any account.
async fn last_sent(
    conn: &mut SqliteConnection,
    number: &str,
    account_id: Option<AccountId>,
) -> StoreResult<Option<LastSent>> {
    let row = sqlx::query(
        "SELECT m.account_id, m.id, m.campaign_id, ca.source, ca.reply_url
         FROM messages AS m JOIN campaigns AS ca ON ca.id = m.campaign_id
         WHERE m.number = ?1 AND (?2 IS NULL OR m.account_id = ?2)
         ORDER BY m.created_at DESC, m.id DESC LIMIT 1",
    )
    .bind(number)
    .bind(account_id)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(LastSent {
            account_id: row.try_get("account_id")?,
            message_id: row.try_get("id")?,
            campaign_id: row.try_get("campaign_id")?,
            source: row.try_get("source")?,
            reply_url: row.try_get("reply_url")?,
        })
    })
    .transpose()
}

pub(super) async fn record(
    pool: &SqlitePool,
    new: NewInbound,
    account_id: Option<AccountId>,
    is_stop: bool,
) -> StoreResult<Option<Inbound>> {
    let from = new.from.to_string();
    let mut tx = pool.begin().await?;
    let last = last_sent(&mut tx, &from, account_id).await?;
    // The account: the one given if it exists, else the last sender's.
    let Some(account_id) = (match account_id {
        Some(id) => {
            sqlx::query_scalar("SELECT id FROM accounts WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
        }
        None => last.as_ref().map(|l| l.account_id),
    }) else {
        return Ok(None);
    };

    let id: i64 = sqlx::query_scalar(
        "INSERT INTO inbound (account_id, from_number, to_address, text, connector, is_stop,
                              message_id, campaign_id, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(account_id)
    .bind(&from)
    .bind(&new.to)
    .bind(&new.text)
    .bind(&new.connector)
    .bind(is_stop)
    .bind(last.as_ref().map(|l| l.message_id))
    .bind(last.as_ref().map(|l| l.campaign_id))
    .bind(new.at)
    .fetch_one(&mut *tx)
    .await?;

    if is_stop {
        sqlx::query(
            "INSERT INTO listed_numbers (account_id, list, number, source, campaign_id, added_at)
             VALUES (?, ?, ?, 'stop', ?, ?)
             ON CONFLICT (account_id, list, number) DO NOTHING",
        )
        .bind(account_id)
        .bind(list_str(NumberList::Blacklist))
        .bind(&from)
        .bind(last.as_ref().map(|l| l.campaign_id))
        .bind(new.at)
        .execute(&mut *tx)
        .await?;
    }

    let kind = if is_stop {
        EventKind::Stop
    } else {
        EventKind::Inbound
    };
    // The rule of `Store::record_inbound`: the campaign's reply URL, else the
    // account's; rendered for the campaign's door, else the door that
    // registered the account's URLs, else the native API.
    sqlx::query(
        "INSERT INTO webhooks (account_id, url, kind, source, inbound_id, at, next_attempt_at, state)
         SELECT id, COALESCE(?2, settings ->> '$.webhooks.inbound'), ?1,
                COALESCE(?3, settings ->> '$.webhooks.dialect', 'api'), ?4, ?5, ?5, 'pending'
         FROM accounts
         WHERE id = ?6 AND COALESCE(?2, settings ->> '$.webhooks.inbound') IS NOT NULL",
    )
    .bind(event_kind_str(kind))
    .bind(last.as_ref().and_then(|l| l.reply_url.as_deref()))
    .bind(last.as_ref().map(|l| l.source.as_str()))
    .bind(id)
    .bind(new.at)
    .bind(account_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    Ok(Some(Inbound {
        id,
        account_id,
        from: new.from,
        to: new.to,
        text: new.text,
        is_stop,
        message_id: last.as_ref().map(|l| l.message_id),
        campaign_id: last.as_ref().map(|l| l.campaign_id),
        received_at: new.at,
    }))
}

/// Newest first.
pub(super) async fn list(
    pool: &SqlitePool,
    account_id: AccountId,
    page: Page,
) -> StoreResult<Vec<Inbound>> {
    let (limit, offset) = limit_offset(&page);
    sqlx::query("SELECT * FROM inbound WHERE account_id = ? ORDER BY id DESC LIMIT ? OFFSET ?")
        .bind(account_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?
        .iter()
        .map(inbound_from_row)
        .collect()
}

pub(super) async fn by_id(
    pool: &SqlitePool,
    account_id: AccountId,
    id: i64,
) -> StoreResult<Option<Inbound>> {
    sqlx::query("SELECT * FROM inbound WHERE id = ? AND account_id = ?")
        .bind(id)
        .bind(account_id)
        .fetch_optional(pool)
        .await?
        .map(|row| inbound_from_row(&row))
        .transpose()
}

/// The replies of `ids` (a JSON array), in one statement.
pub(super) async fn by_ids(conn: &mut SqliteConnection, ids: &str) -> StoreResult<Vec<Inbound>> {
    sqlx::query("SELECT * FROM inbound WHERE id IN (SELECT value FROM json_each(?))")
        .bind(ids)
        .fetch_all(conn)
        .await?
        .iter()
        .map(inbound_from_row)
        .collect()
}
