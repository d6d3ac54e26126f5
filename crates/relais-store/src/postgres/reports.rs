//! Delivery reports, matched part by part: each part of a submitted message
//! has the connector's id for it (`message_parts`), and its report brings that
//! part's final status. The message is delivered once every part is, and takes
//! the first failure (undelivered, expired, rejected) as soon as one part
//! fails; its status change, history and callback happen once, through
//! [`super::transitions`].
//!
//! A report for an id no part has yet is kept in `message_parts` too, as a row
//! without a message: an SMSC may send a receipt before its answer to the
//! submit has been recorded. Recording that submission takes the report over
//! in the same transaction. Both meet on the table's key, so neither is lost
//! when they cross, even on two nodes at once; see the migration.
//!
//! Parts of one message may be reported by two nodes at once. So a message is
//! settled only while its row is locked, by a statement started after the
//! lock was taken, which sees every part reported before. Reports lock parts,
//! then their messages; a submission locks its messages, then their new
//! parts, which no report can be holding while it waits for one of those
//! messages (they had no parts yet).

use std::sync::LazyLock;

use sqlx::{PgConnection, PgPool, Row};

use super::codec::to_u64;
use super::retry;
use super::transitions::{self, Effects};
use crate::model::{CarrierReport, MessageId, MessageStatus, Millis};
use crate::store::StoreResult;

/// How long a report for an unknown id waits for its submission.
pub(super) const EARLY_FOR_MS: Millis = 7 * 24 * 3600 * 1000;

/// The statuses a carrier report can bring; reports of any other are ignored.
pub(super) const REPORTED: [MessageStatus; 4] = [
    MessageStatus::Delivered,
    MessageStatus::Undelivered,
    MessageStatus::Expired,
    MessageStatus::Rejected,
];

/// Records the reports on their parts, the first report of each id, and
/// keeps those for unknown ids; answers the reports recorded on a part, with
/// its message. A second report for a part, in the batch or later, is
/// ignored.
///
/// `$1`..`$5` the reports as arrays (connector, carrier id, status, detail,
/// time).
const RECORD_PARTS: &str = "WITH input AS (
         SELECT DISTINCT ON (connector, carrier_id) *
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
              WITH ORDINALITY AS i (connector, carrier_id, status, detail, at, seq)
         ORDER BY connector, carrier_id, seq),
     reported AS (
         INSERT INTO message_parts AS p (connector, carrier_id, status, detail, at)
         SELECT connector, carrier_id, status, detail, at FROM input
         ORDER BY connector, carrier_id
         ON CONFLICT (connector, carrier_id) DO UPDATE SET status = excluded.status
         WHERE p.message_id IS NOT NULL AND p.status = 'submitted'
         RETURNING p.connector, p.carrier_id, p.message_id)
     SELECT r.message_id, i.status, i.detail, i.at, i.seq
     FROM reported AS r JOIN input AS i USING (connector, carrier_id)
     WHERE r.message_id IS NOT NULL";

/// Locks the messages of parts just reported, still `submitted`, in id order.
/// A statement of its own: it sees submissions committed while the reports
/// waited for their parts' rows (a submission recording a part locks its
/// row), and the settling statement after it sees every part reported by
/// others before it got the locks.
const LOCK_MESSAGES: &str = "SELECT id FROM messages WHERE id = ANY($1) AND status = 'submitted'
     ORDER BY id FOR UPDATE";

/// Settles the messages of reported parts (locked by the caller): the first
/// failure (by arrival) when a part failed, else `delivered` at the last
/// report once no part waits any more. `$1`..`$5` the parts' reports as
/// arrays (message id, status, detail, time, arrival order).
static SETTLE: LazyLock<String> = LazyLock::new(|| {
    transitions::statement(
        "batch AS (
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
                 AS b (message_id, status, detail, at, seq))",
        "SELECT DISTINCT ON (m.id) m.id AS message_id, m.campaign_id, m.account_id,
                m.status AS from_status, b.status, b.at, b.detail, NULL::bigint AS lease_until,
                0::bigint AS refund, TRUE AS notify
         FROM batch AS b JOIN messages AS m ON m.id = b.message_id
         WHERE m.status = 'submitted'
           AND (b.status <> 'delivered'
                OR NOT EXISTS (SELECT 1 FROM message_parts AS o
                               WHERE o.message_id = m.id AND o.parts > 1
                                 AND o.status <> 'delivered'))
         ORDER BY m.id, b.status = 'delivered',
                  CASE WHEN b.status = 'delivered' THEN -b.seq ELSE b.seq END",
        Effects {
            callbacks: true,
            ..Effects::default()
        },
        "SELECT COUNT(*) FROM moved",
    )
});

/// The report of one part, to settle its message.
pub(super) struct PartReport {
    pub message_id: MessageId,
    pub status: String,
    pub detail: Option<String>,
    pub at: Millis,
    /// Arrival order: of two failures, the first counts; of deliveries, the
    /// last gives the time.
    pub seq: i64,
}

/// Reports match parts by (connector, carrier id), the pair
/// `record_submissions` stored. A second report for a part, in the same batch
/// or later, is ignored, as is a report for a message already final; one for
/// an unknown id waits for its submission. Answers how many messages changed.
pub(super) async fn apply(pool: &PgPool, reports: &[CarrierReport]) -> StoreResult<u64> {
    let reports: Vec<&CarrierReport> = reports
        .iter()
        .filter(|r| REPORTED.contains(&r.status))
        .collect();
    if reports.is_empty() {
        return Ok(0);
    }
    let connectors: Vec<&str> = reports.iter().map(|r| r.connector.as_str()).collect();
    let carrier_ids: Vec<&str> = reports.iter().map(|r| r.carrier_id.as_str()).collect();
    let statuses: Vec<&str> = reports.iter().map(|r| r.status.as_str()).collect();
    let details: Vec<Option<&str>> = reports.iter().map(|r| r.error.as_deref()).collect();
    let ats: Vec<i64> = reports.iter().map(|r| r.at).collect();
    let (connectors, carrier_ids, statuses) = (&connectors, &carrier_ids, &statuses);
    let (details, ats) = (&details, &ats);
    retry(|| async move {
        let mut tx = pool.begin().await?;
        let parts = sqlx::query(RECORD_PARTS)
            .bind(connectors)
            .bind(carrier_ids)
            .bind(statuses)
            .bind(details)
            .bind(ats)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| {
                Ok(PartReport {
                    message_id: row.try_get("message_id")?,
                    status: row.try_get("status")?,
                    detail: row.try_get("detail")?,
                    at: row.try_get("at")?,
                    seq: row.try_get("seq")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        if parts.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let ids: Vec<MessageId> = parts.iter().map(|p| p.message_id).collect();
        sqlx::query(LOCK_MESSAGES)
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        let changed = settle(&mut tx, &parts).await?;
        tx.commit().await?;
        Ok(changed)
    })
    .await
}

/// Settles the messages of `parts`, which the transaction holds locked (or
/// has just written, which locks them too); answers how many changed.
pub(super) async fn settle(conn: &mut PgConnection, parts: &[PartReport]) -> StoreResult<u64> {
    if parts.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = parts.iter().map(|p| p.message_id).collect();
    let statuses: Vec<&str> = parts.iter().map(|p| p.status.as_str()).collect();
    let details: Vec<Option<&str>> = parts.iter().map(|p| p.detail.as_deref()).collect();
    let ats: Vec<i64> = parts.iter().map(|p| p.at).collect();
    let seqs: Vec<i64> = parts.iter().map(|p| p.seq).collect();
    let changed: i64 = sqlx::query_scalar(SETTLE.as_str())
        .bind(&ids)
        .bind(&statuses)
        .bind(&details)
        .bind(&ats)
        .bind(&seqs)
        .fetch_one(conn)
        .await?;
    Ok(to_u64(changed))
}
