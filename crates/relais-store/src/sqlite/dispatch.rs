//! What the dispatcher does to messages: claiming due ones with a lease,
//! recording submit outcomes, expiring those whose window closed. Each call is
//! one transaction that stages the messages it moves and applies them
//! set-based (see [`super::transitions`]). Delivery reports have a module of
//! their own, [`super::reports`].

use std::collections::{HashMap, HashSet};

use relais_core::encoding::Encoding;
use relais_core::number::{Country, E164};
use relais_core::plan::{ChannelOrder, MessageKind};
use relais_core::pricing::RouteClass;
use serde::Deserialize;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::batch::execute_values;
use super::codec::{self, corrupt, int, to_i64};
use super::reports;
use super::transitions::{self, Effects};
use crate::model::*;
use crate::store::StoreResult;
use crate::submission::Submission;

/// At most this many scheduled messages become queued per claim, so that a
/// million-message campaign reaching its time is queued over several claims
/// rather than in one long write transaction.
const SCHEDULED_PER_CLAIM: i64 = 20_000;

pub(super) async fn claim_due(
    pool: &SqlitePool,
    now: Millis,
    limit: u32,
    lease_until: Millis,
) -> StoreResult<Vec<OutboundMessage>> {
    let mut tx = pool.begin().await?;
    transitions::clear(&mut tx).await?;
    let due = sqlx::query(
        "INSERT INTO temp.changes (message_id, campaign_id, account_id, from_status, status, at)
         SELECT id, campaign_id, account_id, status, 'queued', ?1 FROM messages
         WHERE status = 'scheduled' AND send_at <= ?1
         ORDER BY send_at, id LIMIT ?2",
    )
    .bind(now)
    .bind(SCHEDULED_PER_CLAIM)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let lapsed = sqlx::query(
        "INSERT INTO temp.changes (message_id, campaign_id, account_id, from_status, status, at,
                                   detail)
         SELECT id, campaign_id, account_id, status, 'queued', ?1, 'lease expired' FROM messages
         WHERE status = 'submitting' AND lease_until <= ?1",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if due + lapsed > 0 {
        transitions::apply(&mut tx, Effects::default()).await?;
        transitions::clear(&mut tx).await?;
    }

    // Messages whose window already closed are left for `expire_due`.
    let leased = sqlx::query(
        "INSERT INTO temp.changes (message_id, campaign_id, account_id, from_status, status, at,
                                   lease_until)
         SELECT id, campaign_id, account_id, status, 'submitting', ?1, ?2 FROM messages
         WHERE status = 'queued' AND send_at <= ?1 AND (expires_at IS NULL OR expires_at > ?1)
         ORDER BY send_at, id LIMIT ?3",
    )
    .bind(now)
    .bind(lease_until)
    .bind(i64::from(limit))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if leased == 0 {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    transitions::apply(&mut tx, Effects::default()).await?;
    let leased = leased_messages(&mut tx).await?;
    tx.commit().await?;
    Ok(leased)
}

/// A leased message as [`leased_messages`] reads it, from a JSON array in
/// this order (serde reads a struct from an array too).
#[derive(Deserialize)]
struct LeasedRow {
    id: MessageId,
    campaign_id: CampaignId,
    account_id: AccountId,
    number: E164,
    country: Country,
    text: u32,
    segments: u16,
    expires_at: Option<Millis>,
    attempts: u32,
}

/// What the messages of one campaign text share.
struct TextPart {
    sandbox: bool,
    sender: Option<String>,
    text: String,
    encoding: Encoding,
    kind: MessageKind,
    route_class: RouteClass,
    channels: ChannelOrder,
}

/// The staged (just leased) messages with what a connector needs, oldest
/// `send_at` first.
///
/// sqlx hands rows over one at a time, copying every column, which for a
/// batch of thousands costs more than the claim itself. So the per-message
/// columns come as one JSON array in one row, and what messages share (their
/// campaign and text) once per distinct text.
async fn leased_messages(conn: &mut SqliteConnection) -> StoreResult<Vec<OutboundMessage>> {
    let json: String = sqlx::query_scalar(
        "SELECT json_group_array(
                    json_array(m.id, m.campaign_id, m.account_id, m.number, m.country, m.text_idx,
                               m.segments, m.expires_at, m.attempts)
                    ORDER BY m.send_at, m.id)
         FROM temp.changes AS c CROSS JOIN messages AS m ON m.id = c.message_id",
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows: Vec<LeasedRow> =
        serde_json::from_str(&json).map_err(|e| corrupt("leased messages", e))?;
    let parts = sqlx::query(
        "SELECT t.campaign_id, t.idx, t.text, t.encoding, ca.sender, ca.kind, ca.route_class,
                ca.channels, a.sandbox
         FROM campaign_texts AS t
         JOIN campaigns AS ca ON ca.id = t.campaign_id
         JOIN accounts AS a ON a.id = ca.account_id
         WHERE (t.campaign_id, t.idx) IN (
             SELECT m.campaign_id, m.text_idx
             FROM temp.changes AS c CROSS JOIN messages AS m ON m.id = c.message_id)",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        let part = TextPart {
            sandbox: row.try_get("sandbox")?,
            sender: row.try_get("sender")?,
            text: row.try_get("text")?,
            encoding: codec::encoding(row, "encoding")?,
            kind: codec::kind(row, "kind")?,
            route_class: codec::route_class(row, "route_class")?,
            channels: codec::channels(row, "channels")?,
        };
        Ok(((row.try_get("campaign_id")?, int(row, "idx")?), part))
    })
    .collect::<StoreResult<HashMap<(CampaignId, u32), TextPart>>>()?;
    rows.into_iter()
        .map(|row| {
            let part = parts.get(&(row.campaign_id, row.text)).ok_or_else(|| {
                corrupt("message text", format!("{}/{}", row.campaign_id, row.text))
            })?;
            Ok(OutboundMessage {
                id: row.id,
                account_id: row.account_id,
                campaign_id: row.campaign_id,
                sandbox: part.sandbox,
                number: row.number,
                country: row.country,
                sender: part.sender.clone(),
                text: part.text.clone(),
                encoding: part.encoding,
                segments: row.segments,
                kind: part.kind,
                route_class: part.route_class,
                channels: part.channels,
                expires_at: row.expires_at,
                attempts: row.attempts,
            })
        })
        .collect()
}

/// Only messages still leased (`submitting`) take an outcome; a late one for a
/// message whose lease ran out and that went back to `queued` is ignored.
/// (Leases name no holder: if the message was leased again meanwhile, the
/// outcome applies to it, which at-least-once delivery allows.) Every outcome
/// counts as an attempt; a retry goes back to `queued` at its retry time;
/// `Failed` is refunded; all but retries are reported to the client. Reports
/// that came for the submitted parts before this (see [`super::reports`]) are
/// applied in the same transaction. A submission without a carrier id is
/// recorded, but no report can match it.
pub(super) async fn record_submissions(
    pool: &SqlitePool,
    outcomes: &[(MessageId, SubmitOutcome)],
    now: Millis,
) -> StoreResult<()> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let submissions: Vec<Submission<'_>> = outcomes
        .iter()
        .map(|(id, o)| Submission::of(*id, o))
        .collect();
    let mut tx = pool.begin().await?;
    transitions::clear(&mut tx).await?;
    let staged = execute_values(
        &mut tx,
        "WITH input (message_id, status, connector, carrier_id, parts, detail, send_at,
                     lease_until, at) AS (",
        ") INSERT OR IGNORE INTO temp.changes (message_id, campaign_id, account_id, from_status,
                                              status, at, detail, connector, carrier_id, parts,
                                              send_at, lease_until, attempted, refund, notify)
           SELECT m.id, m.campaign_id, m.account_id, m.status, i.status, i.at, i.detail, i.connector,
                  i.carrier_id, i.parts, i.send_at, i.lease_until, 1,
                  CASE WHEN i.status = 'failed' THEN m.cost ELSE 0 END,
                  i.status <> 'queued'
           FROM input AS i CROSS JOIN messages AS m ON m.id = i.message_id
           WHERE m.status = 'submitting'",
        &submissions,
        |values, s| {
            values
                .push_bind(s.id)
                .push_bind(s.status.as_str())
                .push_bind(s.connector)
                .push_bind(s.carrier_ids.first().map(String::as_str))
                .push_bind(s.parts())
                .push_bind(s.detail)
                .push_bind(s.retry_at)
                .push_bind(s.report_by)
                .push_bind(now);
        },
    )
    .await?;
    // Of two outcomes for one message, the first counts (as staged above).
    let mut seen = HashSet::new();
    let more_parts: Vec<(MessageId, i64, &str)> = submissions
        .iter()
        .filter(|s| seen.insert(s.id))
        .flat_map(|s| {
            let later = s.carrier_ids.iter().enumerate().skip(1);
            later.map(|(part, id)| (s.id, to_i64(part as u64), id.as_str()))
        })
        .collect();
    if staged > 0 && !more_parts.is_empty() {
        execute_values(
            &mut tx,
            "INSERT INTO temp.more_parts (message_id, part, carrier_id) ",
            "",
            &more_parts,
            |values, (id, part, carrier_id)| {
                values
                    .push_bind(*id)
                    .push_bind(*part)
                    .push_bind(*carrier_id);
            },
        )
        .await?;
    }
    if staged > 0 {
        let failed = submissions
            .iter()
            .any(|s| s.status == MessageStatus::Failed);
        transitions::apply(
            &mut tx,
            Effects {
                submissions: true,
                refunds: failed,
                callbacks: true,
            },
        )
        .await?;
        reports::apply_pending(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Unsent messages whose window closed: expired, refunded, reported; and
/// submitted ones past their report deadline: expired, reported. `INDEXED BY`
/// makes sure SQLite reads the expiry and deadline indexes, not every queued
/// or submitted message.
/// Reports that waited too long for their submission are purged with them.
pub(super) async fn expire_due(pool: &SqlitePool, now: Millis) -> StoreResult<u64> {
    let mut tx = pool.begin().await?;
    transitions::clear(&mut tx).await?;
    let expired = sqlx::query(
        "INSERT INTO temp.changes (message_id, campaign_id, account_id, from_status, status, at,
                                   detail, refund, notify)
         SELECT id, campaign_id, account_id, status, 'expired', ?1, 'sending window closed', cost, 1
         FROM messages INDEXED BY messages_scheduled_expiry
         WHERE status = 'scheduled' AND expires_at IS NOT NULL AND expires_at <= ?1
         UNION ALL
         SELECT id, campaign_id, account_id, status, 'expired', ?1, 'sending window closed', cost, 1
         FROM messages INDEXED BY messages_queued_expiry
         WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= ?1
         UNION ALL
         SELECT id, campaign_id, account_id, status, 'expired', ?1, 'no delivery report', 0, 1
         FROM messages INDEXED BY messages_unreported
         WHERE status = 'submitted' AND lease_until <= ?1",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if expired > 0 {
        transitions::apply(
            &mut tx,
            Effects {
                refunds: true,
                callbacks: true,
                ..Effects::default()
            },
        )
        .await?;
    }
    reports::purge_pending(&mut tx, now).await?;
    tx.commit().await?;
    Ok(expired)
}

pub(super) async fn status_totals(pool: &SqlitePool) -> StoreResult<StatusCounts> {
    sqlx::query("SELECT status, SUM(n) AS n FROM campaign_counts GROUP BY status HAVING SUM(n) > 0")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| Ok((codec::status(row, "status")?, int(row, "n")?)))
        .collect()
}
