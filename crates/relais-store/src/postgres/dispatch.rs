//! What the dispatcher does to messages: claiming due ones with a lease,
//! recording submit outcomes, expiring those whose window closed. Each is one
//! statement applying its batch set-based (see [`super::transitions`]);
//! claims skip the rows other nodes hold locked, so nodes claiming at once
//! get disjoint batches. Delivery reports are [`super::reports`]'.

use std::sync::LazyLock;

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use super::codec::{self, int, int4, parsed, to_i64, to_u64};
use super::reports::{self, PartReport};
use super::retry;
use super::transitions::{self, Effects};
use crate::model::*;
use crate::store::StoreResult;
use crate::submission::Submission;

/// At most this many scheduled messages become queued per claim, so that a
/// million-message campaign reaching its time is queued over several claims
/// rather than in one long statement.
const SCHEDULED_PER_CLAIM: i64 = 20_000;

/// Queues the due scheduled messages and those whose lease ran out (their
/// dispatcher died). `$1` now, `$2` how many scheduled ones at most.
static REQUEUE: LazyLock<String> = LazyLock::new(|| {
    transitions::statement(
        "due AS (
             SELECT message_id, status FROM message_queue
             WHERE status = 'scheduled' AND send_at <= $1
             ORDER BY send_at, message_id LIMIT $2 FOR UPDATE SKIP LOCKED),
         lapsed AS (
             SELECT message_id, status FROM message_queue
             WHERE status = 'submitting' AND lease_until <= $1
             FOR UPDATE SKIP LOCKED)",
        "SELECT m.id AS message_id, m.campaign_id, m.account_id, q.status AS from_status,
                'queued'::text AS status, $1::bigint AS at,
                CASE WHEN q.status = 'submitting' THEN 'lease expired' END AS detail,
                NULL::bigint AS lease_until, 0::bigint AS refund, FALSE AS notify
         FROM (SELECT * FROM due UNION ALL SELECT * FROM lapsed) AS q
         JOIN messages AS m ON m.id = q.message_id",
        Effects::default(),
        "SELECT COUNT(*) FROM moved",
    )
});

/// Leases due queued messages, answering them with what a connector needs.
/// `$1` now, `$2` the lease's end, `$3` how many at most. Messages whose
/// window already closed are left for `expire_due`.
static LEASE: LazyLock<String> = LazyLock::new(|| {
    transitions::statement(
        "due AS (
             SELECT message_id, status FROM message_queue
             WHERE status = 'queued' AND send_at <= $1
               AND (expires_at IS NULL OR expires_at > $1)
             ORDER BY send_at, message_id LIMIT $3 FOR UPDATE SKIP LOCKED)",
        "SELECT m.id AS message_id, m.campaign_id, m.account_id, due.status AS from_status,
                'submitting'::text AS status, $1::bigint AS at, NULL::text AS detail,
                $2::bigint AS lease_until, 0::bigint AS refund, FALSE AS notify
         FROM due JOIN messages AS m ON m.id = due.message_id",
        Effects::default(),
        "SELECT mv.message_id, mv.campaign_id, mv.account_id, mv.number, mv.country, mv.segments,
                mv.expires_at, mv.attempts, t.text, t.encoding, ca.sender, ca.kind,
                ca.route_class, ca.channels, a.sandbox
         FROM moved AS mv
         JOIN campaign_texts AS t ON t.campaign_id = mv.campaign_id AND t.idx = mv.text_idx
         JOIN campaigns AS ca ON ca.id = mv.campaign_id
         JOIN accounts AS a ON a.id = mv.account_id
         ORDER BY mv.send_at, mv.message_id",
    )
});

/// Two statements, each its own transaction: once the first has queued what
/// is due, a crash before the second leaves the messages queued, as they
/// would be anyway.
pub(super) async fn claim_due(
    pool: &PgPool,
    now: Millis,
    limit: u32,
    lease_until: Millis,
) -> StoreResult<Vec<OutboundMessage>> {
    retry(|| async move {
        sqlx::query(REQUEUE.as_str())
            .bind(now)
            .bind(SCHEDULED_PER_CLAIM)
            .execute(pool)
            .await?;
        let rows = sqlx::query(LEASE.as_str())
            .bind(now)
            .bind(lease_until)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
        rows.iter().map(outbound_from_row).collect()
    })
    .await
}

fn outbound_from_row(row: &PgRow) -> StoreResult<OutboundMessage> {
    Ok(OutboundMessage {
        id: row.try_get("message_id")?,
        account_id: row.try_get("account_id")?,
        campaign_id: row.try_get("campaign_id")?,
        sandbox: row.try_get("sandbox")?,
        number: parsed(row, "number")?,
        country: parsed(row, "country")?,
        sender: row.try_get("sender")?,
        text: row.try_get("text")?,
        encoding: codec::encoding(row, "encoding")?,
        segments: int4(row, "segments")?,
        kind: codec::kind(row, "kind")?,
        route_class: codec::route_class(row, "route_class")?,
        channels: codec::channels(row, "channels")?,
        expires_at: row.try_get("expires_at")?,
        attempts: int4(row, "attempts")?,
    })
}

/// Records submit outcomes, the first one of each leased message, answering
/// the reports that came for their parts before them. `$1`..`$8` the outcomes
/// as arrays (message id, status, connector, first carrier id, parts, detail,
/// retry time, outcome number), `$9`..`$11` the later parts' ids as arrays
/// (outcome number, part, id), `$12` now, `$13` the report deadlines (with
/// the outcomes).
static RECORD: LazyLock<String> = LazyLock::new(|| {
    transitions::statement(
        "input AS (
             SELECT DISTINCT ON (id) *
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                         $6::text[], $7::bigint[], $8::bigint[], $13::bigint[])
                  AS i (id, status, connector, carrier_id, parts, detail, send_at, outcome,
                        report_by)
             ORDER BY id, outcome),
         more_parts AS (
             SELECT * FROM unnest($9::bigint[], $10::int[], $11::text[])
                 AS p (outcome, part, carrier_id))",
        "SELECT m.id AS message_id, m.campaign_id, m.account_id, q.status AS from_status,
                i.status, $12::bigint AS at, i.detail, i.report_by AS lease_until, i.connector,
                i.carrier_id, i.parts, i.outcome, i.send_at, 1 AS attempted,
                CASE WHEN i.status = 'failed' THEN m.cost ELSE 0 END AS refund,
                i.status <> 'queued' AS notify
         FROM input AS i
         JOIN message_queue AS q ON q.message_id = i.id
         JOIN messages AS m ON m.id = i.id
         WHERE q.status = 'submitting'
         ORDER BY q.message_id FOR UPDATE OF q",
        Effects {
            submissions: true,
            refunds: true,
            callbacks: true,
        },
        "SELECT message_id, status, detail, at, row_number() OVER (ORDER BY at) AS seq
         FROM parts WHERE status <> 'submitted'",
    )
});

/// Only messages still leased (`submitting`) take an outcome; a late one for a
/// message whose lease ran out and that went back to `queued` is ignored.
/// (Leases name no holder: if the message was leased again meanwhile, the
/// outcome applies to it, which at-least-once delivery allows.) Every outcome
/// counts as an attempt; a retry goes back to `queued` at its retry time;
/// `Failed` is refunded; all but retries are reported to the client. Reports
/// that came for the submitted parts before this (see [`super::reports`]) are
/// applied in the same transaction.
pub(super) async fn record_submissions(
    pool: &PgPool,
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
    let ids: Vec<i64> = submissions.iter().map(|s| s.id).collect();
    let statuses: Vec<&str> = submissions.iter().map(|s| s.status.as_str()).collect();
    let connectors: Vec<Option<&str>> = submissions.iter().map(|s| s.connector).collect();
    let first_parts: Vec<Option<&str>> = submissions
        .iter()
        .map(|s| s.carrier_ids.first().map(String::as_str))
        .collect();
    let parts: Vec<Option<i64>> = submissions.iter().map(|s| s.parts()).collect();
    let details: Vec<Option<&str>> = submissions.iter().map(|s| s.detail).collect();
    let retry_ats: Vec<Option<i64>> = submissions.iter().map(|s| s.retry_at).collect();
    let report_bys: Vec<Option<i64>> = submissions.iter().map(|s| s.report_by).collect();
    let numbers: Vec<i64> = (0..submissions.len()).map(|n| to_i64(n as u64)).collect();
    let (mut later_outcomes, mut later_parts, mut later_ids) = (Vec::new(), Vec::new(), Vec::new());
    for (n, submission) in submissions.iter().enumerate() {
        for (part, carrier_id) in submission.carrier_ids.iter().enumerate().skip(1) {
            later_outcomes.push(to_i64(n as u64));
            later_parts.push(i32::try_from(part).unwrap_or(i32::MAX));
            later_ids.push(carrier_id.as_str());
        }
    }
    let outcome_columns = (&ids, &statuses, &connectors, &first_parts, &parts, &details);
    let (retry_ats, numbers, report_bys) = (&retry_ats, &numbers, &report_bys);
    let later = (&later_outcomes, &later_parts, &later_ids);
    retry(|| async move {
        let mut tx = pool.begin().await?;
        let early = sqlx::query(RECORD.as_str())
            .bind(outcome_columns.0)
            .bind(outcome_columns.1)
            .bind(outcome_columns.2)
            .bind(outcome_columns.3)
            .bind(outcome_columns.4)
            .bind(outcome_columns.5)
            .bind(retry_ats)
            .bind(numbers)
            .bind(later.0)
            .bind(later.1)
            .bind(later.2)
            .bind(now)
            .bind(report_bys)
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
        reports::settle(&mut tx, &early).await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Expires, refunds and reports unsent messages whose window closed, and
/// forgets the reports that waited longer than a week for their submission.
/// `$1` now, `$2` the oldest time an early report is kept from.
static EXPIRE: LazyLock<String> = LazyLock::new(|| {
    transitions::statement(
        "purged AS (
             DELETE FROM message_parts WHERE message_id IS NULL AND at < $2),
         expired AS (
             SELECT message_id, status FROM message_queue
             WHERE status IN ('scheduled', 'queued') AND expires_at IS NOT NULL
               AND expires_at <= $1
             FOR UPDATE SKIP LOCKED),
         unreported AS (
             SELECT m.id AS message_id
             FROM awaiting_reports AS w JOIN messages AS m ON m.id = w.message_id
             WHERE w.report_by <= $1 AND m.status = 'submitted'
             ORDER BY m.id FOR UPDATE OF m SKIP LOCKED)",
        "SELECT m.id AS message_id, m.campaign_id, m.account_id, expired.status AS from_status,
                'expired'::text AS status, $1::bigint AS at,
                'sending window closed'::text AS detail, NULL::bigint AS lease_until,
                m.cost AS refund, TRUE AS notify
         FROM expired JOIN messages AS m ON m.id = expired.message_id
         UNION ALL
         SELECT m.id, m.campaign_id, m.account_id, 'submitted'::text, 'expired'::text, $1::bigint,
                'no delivery report'::text, NULL::bigint, 0::bigint, TRUE
         FROM unreported JOIN messages AS m ON m.id = unreported.message_id",
        Effects {
            refunds: true,
            callbacks: true,
            ..Effects::default()
        },
        "SELECT COUNT(*) FROM moved",
    )
});

/// Messages another transaction holds locked are left for the next call.
pub(super) async fn expire_due(pool: &PgPool, now: Millis) -> StoreResult<u64> {
    retry(|| async move {
        let expired: i64 = sqlx::query_scalar(EXPIRE.as_str())
            .bind(now)
            .bind(now - reports::EARLY_FOR_MS)
            .fetch_one(pool)
            .await?;
        Ok(to_u64(expired))
    })
    .await
}

pub(super) async fn status_totals(pool: &PgPool) -> StoreResult<StatusCounts> {
    sqlx::query(
        "SELECT status, SUM(n)::bigint AS n FROM campaign_counts
         GROUP BY status HAVING SUM(n) > 0",
    )
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| Ok((codec::status(row, "status")?, int(row, "n")?)))
    .collect()
}
