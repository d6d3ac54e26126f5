//! Replies (MO) and STOP replies: matched to the account and the message they
//! answer, stored, turned into a blacklist entry for STOP, and reported to the
//! campaign's reply URL or the account's inbound callback.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::codec::{event_kind_str, limit_offset, parsed};
use crate::model::{AccountId, EventKind, Inbound, NewInbound, Page};
use crate::store::StoreResult;

fn inbound_from_row(row: &PgRow) -> StoreResult<Inbound> {
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

/// The whole of a reply in one statement. `last` is the message it answers:
/// the last one sent to the number by the account given (`$2`), or by any
/// account. The account is the one given if it exists, else the last
/// sender's; without one nothing is stored and no row comes back. The
/// callback follows the rule of `Store::record_inbound`: to the campaign's
/// reply URL, else the account's; rendered for the campaign's door, else the
/// door that registered the account's URLs, else the native API.
///
/// `$1` from, `$2` account, `$3` to, `$4` text, `$5` connector, `$6` is_stop,
/// `$7` received at, `$8` the callback's kind.
const RECORD: &str = "WITH last AS (
         SELECT m.account_id, m.id, m.campaign_id, ca.source, ca.reply_url
         FROM messages AS m JOIN campaigns AS ca ON ca.id = m.campaign_id
         WHERE m.number = $1 AND ($2::bigint IS NULL OR m.account_id = $2)
         ORDER BY m.created_at DESC, m.id DESC LIMIT 1),
     account AS (
         SELECT id, settings FROM accounts
         WHERE id = COALESCE($2, (SELECT account_id FROM last))),
     stored AS (
         INSERT INTO inbound (account_id, from_number, to_address, text, connector, is_stop,
                              message_id, campaign_id, received_at)
         SELECT account.id, $1, $3, $4, $5, $6, last.id, last.campaign_id, $7
         FROM account LEFT JOIN last ON TRUE
         RETURNING *),
     stop AS (
         INSERT INTO listed_numbers (account_id, list, number, source, campaign_id, added_at)
         SELECT account_id, 'blacklist', from_number, 'stop', campaign_id, received_at
         FROM stored WHERE is_stop
         ON CONFLICT (account_id, list, number) DO NOTHING),
     target AS (
         SELECT COALESCE(last.reply_url, a.settings -> 'webhooks' ->> 'inbound') AS url,
                COALESCE(last.source, a.settings -> 'webhooks' ->> 'dialect', 'api') AS source
         FROM account AS a LEFT JOIN last ON TRUE),
     callback AS (
         INSERT INTO webhooks (account_id, url, kind, source, inbound_id, at, next_attempt_at,
                               state)
         SELECT s.account_id, t.url, $8, t.source, s.id, s.received_at, s.received_at, 'pending'
         FROM stored AS s, target AS t
         WHERE t.url IS NOT NULL)
     SELECT * FROM stored";

pub(super) async fn record(
    pool: &PgPool,
    new: NewInbound,
    account_id: Option<AccountId>,
    is_stop: bool,
) -> StoreResult<Option<Inbound>> {
    let kind = if is_stop {
        EventKind::Stop
    } else {
        EventKind::Inbound
    };
    sqlx::query(RECORD)
        .bind(new.from.to_string())
        .bind(account_id)
        .bind(&new.to)
        .bind(&new.text)
        .bind(&new.connector)
        .bind(is_stop)
        .bind(new.at)
        .bind(event_kind_str(kind))
        .fetch_optional(pool)
        .await?
        .map(|row| inbound_from_row(&row))
        .transpose()
}

/// Newest first.
pub(super) async fn list(
    pool: &PgPool,
    account_id: AccountId,
    page: Page,
) -> StoreResult<Vec<Inbound>> {
    let (limit, offset) = limit_offset(&page);
    sqlx::query("SELECT * FROM inbound WHERE account_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3")
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
    pool: &PgPool,
    account_id: AccountId,
    id: i64,
) -> StoreResult<Option<Inbound>> {
    sqlx::query("SELECT * FROM inbound WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .fetch_optional(pool)
        .await?
        .map(|row| inbound_from_row(&row))
        .transpose()
}

/// The replies of `ids`, in one statement.
pub(super) async fn by_ids(conn: &mut PgConnection, ids: &[i64]) -> StoreResult<Vec<Inbound>> {
    sqlx::query("SELECT * FROM inbound WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(conn)
        .await?
        .iter()
        .map(inbound_from_row)
        .collect()
}
