//! Delivery reports, matched part by part: each part of a submitted message
//! has the connector's id for it (`message_parts`), and its report brings that
//! part's final status. The message is delivered once every part is, and takes
//! the first failure (undelivered, expired, rejected) as soon as one part
//! fails; its status change, history and callback happen once, through
//! [`super::transitions`].
//!
//! A report for an id no part has yet is kept in `pending_reports`: an SMSC
//! may send a receipt before its answer to the submit has been recorded.
//! Recording that submission applies the report in the same transaction, so no
//! receipt is lost to the race; one never matched is purged after a week.

use std::collections::HashSet;

use sqlx::{SqliteConnection, SqlitePool};

use super::batch::execute_values;
use super::transitions::{self, Effects};
use crate::model::{CarrierReport, MessageStatus, Millis};
use crate::store::StoreResult;

/// How long a report for an unknown id waits for its submission.
const PENDING_FOR_MS: Millis = 7 * 24 * 3600 * 1000;

/// The statuses a carrier report can bring; reports of any other are ignored.
const REPORTED: [MessageStatus; 4] = [
    MessageStatus::Delivered,
    MessageStatus::Undelivered,
    MessageStatus::Expired,
    MessageStatus::Rejected,
];

/// Creates the staging table of reports on a new writer connection: one row
/// per reported id (rowid: arrival order), with the part it matches.
pub(super) async fn create_staging(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS reports (
            connector    TEXT NOT NULL,
            carrier_id   TEXT NOT NULL,
            status       TEXT NOT NULL,
            detail       TEXT,
            at           INTEGER NOT NULL,
            -- The part with this id (NULL: none yet), and its status before
            -- this report.
            message_id   INTEGER,
            parts        INTEGER,
            part_status  TEXT,
            -- The pending report it was, if it was one.
            pending_id   INTEGER
        )",
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Reports match parts by (connector, carrier id), the pair
/// `record_submissions` stored. A second report for a part, in the same batch
/// or later, is ignored, as is a report for a message already final; one for
/// an unknown id waits for its submission. Answers how many messages changed.
pub(super) async fn apply(pool: &SqlitePool, reports: &[CarrierReport]) -> StoreResult<u64> {
    let mut seen = HashSet::new();
    let reports: Vec<&CarrierReport> = reports
        .iter()
        .filter(|r| REPORTED.contains(&r.status))
        .filter(|r| seen.insert((r.connector.as_str(), r.carrier_id.as_str())))
        .collect();
    if reports.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    clear(&mut tx).await?;
    execute_values(
        &mut tx,
        "WITH input (connector, carrier_id, status, detail, at) AS (",
        ") INSERT INTO temp.reports (connector, carrier_id, status, detail, at, message_id, parts,
                                    part_status)
           SELECT i.connector, i.carrier_id, i.status, i.detail, i.at, p.message_id, p.parts,
                  p.status
           FROM input AS i LEFT JOIN message_parts AS p
                ON p.connector = i.connector AND p.carrier_id = i.carrier_id",
        &reports,
        |values, r| {
            values
                .push_bind(r.connector.as_str())
                .push_bind(r.carrier_id.as_str())
                .push_bind(r.status.as_str())
                .push_bind(r.error.as_deref())
                .push_bind(r.at);
        },
    )
    .await?;
    sqlx::query(
        "INSERT INTO pending_reports (connector, carrier_id, status, detail, at)
         SELECT connector, carrier_id, status, detail, at FROM temp.reports
         WHERE message_id IS NULL ORDER BY rowid
         ON CONFLICT (connector, carrier_id) DO NOTHING",
    )
    .execute(&mut *tx)
    .await?;
    let changed = settle(&mut tx).await?;
    tx.commit().await?;
    Ok(changed)
}

/// Applies the pending reports for the parts of the submissions just applied
/// (still staged in `changes`), then forgets them. Part of the transaction
/// that records those submissions.
pub(super) async fn apply_pending(conn: &mut SqliteConnection) -> StoreResult<()> {
    let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pending_reports)")
        .fetch_one(&mut *conn)
        .await?;
    if !any {
        return Ok(());
    }
    clear(conn).await?;
    // From the batch's ids to the pending reports, not the other way: unknown
    // reports may pile up for a week, a batch is bounded.
    let found = sqlx::query(
        "WITH batch (connector, carrier_id) AS (
             SELECT connector, carrier_id FROM temp.changes WHERE carrier_id IS NOT NULL
             UNION ALL
             SELECT c.connector, x.carrier_id
             FROM temp.more_parts AS x CROSS JOIN temp.changes AS c ON c.message_id = x.message_id)
         INSERT INTO temp.reports (connector, carrier_id, status, detail, at, message_id, parts,
                                  part_status, pending_id)
         SELECT q.connector, q.carrier_id, q.status, q.detail, q.at, p.message_id, p.parts,
                p.status, q.id
         FROM batch AS b
         CROSS JOIN pending_reports AS q ON q.connector = b.connector AND q.carrier_id = b.carrier_id
         CROSS JOIN message_parts AS p ON p.connector = q.connector AND p.carrier_id = q.carrier_id
         ORDER BY q.id",
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if found == 0 {
        return Ok(());
    }
    sqlx::query("DELETE FROM pending_reports WHERE id IN (SELECT pending_id FROM temp.reports)")
        .execute(&mut *conn)
        .await?;
    settle(conn).await?;
    Ok(())
}

/// Forgets the reports that waited longer than a week for their submission.
pub(super) async fn purge_pending(conn: &mut SqliteConnection, now: Millis) -> StoreResult<()> {
    sqlx::query("DELETE FROM pending_reports WHERE at < ?")
        .bind(now - PENDING_FOR_MS)
        .execute(conn)
        .await?;
    Ok(())
}

async fn clear(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM temp.reports")
        .execute(conn)
        .await?;
    Ok(())
}

/// Applies the staged reports: records the status of each part of a long
/// message, then moves the messages they settle — to the first failure (by
/// arrival) when a part failed, else to `delivered` at the last report once
/// no part waits any more — with their history and callbacks. Answers how
/// many messages changed.
async fn settle(conn: &mut SqliteConnection) -> StoreResult<u64> {
    // `reports` has no index: SQLite reads it once and looks each part up by
    // its key, where a correlated subquery would read it once per part.
    sqlx::query(
        "UPDATE message_parts SET status = r.status
         FROM temp.reports AS r
         WHERE r.parts > 1 AND r.part_status IS NULL
           AND message_parts.connector = r.connector AND message_parts.carrier_id = r.carrier_id",
    )
    .execute(&mut *conn)
    .await?;
    transitions::clear(conn).await?;
    // In arrival order, a message's first staged report is replaced only
    // while it is a delivery: by a failure, or by a later delivery.
    sqlx::query(
        "INSERT INTO temp.changes (message_id, campaign_id, account_id, from_status, status, at,
                                  detail, notify)
         SELECT m.id, m.campaign_id, m.account_id, m.status, r.status, r.at, r.detail, 1
         FROM temp.reports AS r CROSS JOIN messages AS m ON m.id = r.message_id
         WHERE r.part_status IS NULL AND m.status = 'submitted'
           AND (r.status <> 'delivered' OR r.parts = 1
                OR NOT EXISTS (SELECT 1 FROM message_parts AS o
                               WHERE o.message_id = r.message_id AND o.parts > 1
                                 AND o.status IS NOT 'delivered'))
         ORDER BY r.rowid
         ON CONFLICT (message_id) DO UPDATE
             SET status = excluded.status, at = excluded.at, detail = excluded.detail
             WHERE changes.status = 'delivered'",
    )
    .execute(&mut *conn)
    .await?;
    let staged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM temp.changes")
        .fetch_one(&mut *conn)
        .await?;
    if staged > 0 {
        transitions::apply(
            conn,
            Effects {
                callbacks: true,
                ..Effects::default()
            },
        )
        .await?;
    }
    Ok(u64::try_from(staged).unwrap_or_default())
}
