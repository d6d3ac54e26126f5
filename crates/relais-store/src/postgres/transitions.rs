//! Status transitions of messages, applied a batch at a time, each batch in
//! one statement.
//!
//! Every operation that moves messages (claiming, recording submissions,
//! applying reports, expiring, cancelling) is written as a query producing
//! the changes: the messages that really change — those still in the status
//! the transition starts from, locked `FOR UPDATE` (claims with `SKIP
//! LOCKED`, so that nodes claiming at once take disjoint batches) — each with
//! its new status and what goes with it. [`statement`] wraps that query into
//! one statement whose data-modifying CTEs carry out the whole batch: the
//! message rows and their place in `message_queue` (unsent) or
//! `awaiting_reports` (submitted, with the time the report is due by), their
//! status history,
//! the campaigns' status counts, the parts of submitted messages (which their
//! delivery reports match, see [`super::reports`]), the refunds (campaign,
//! ledger, balance) and the status callbacks.
//!
//! So each rule (what a refund touches, where a callback goes) is written
//! once, and a batch of thousands of messages costs one round trip. This is
//! the SQLite backend's staging design (`sqlite::transitions`) with a CTE in
//! place of its temporary table.
//!
//! An unsent message is locked through its `message_queue` row, a submitted
//! one through its `messages` row. Rows other transactions may also lock are
//! taken in one order — messages, status counts, campaigns and accounts each
//! by key — so concurrent batches rarely deadlock; when they do, PostgreSQL
//! aborts one, and the operation is run again (see [`super::retry`]).
//!
//! A transaction updates status counts in one ordered pass. Recording
//! submissions is the one that goes on to a second batch — settling the
//! reports that came before the submissions (`dispatch::record_submissions`)
//! — so its first pass also locks the counts rows the second will move
//! messages to (see [`Effects::submissions`]). Without that, it would hold
//! the `submitted` row while waiting for `delivered`, which a report's batch
//! takes first, and the two would deadlock, each stalled for PostgreSQL's
//! `deadlock_timeout` (a second by default) before one gives way; with two
//! nodes that happened about once a second and cut dispatch to a third.

use super::reports;

/// What a batch needs beyond moving messages and recording their history;
/// the statements for the others are left out.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Effects {
    /// The changes are submit outcomes: they also set the connector, the
    /// carrier ids (the message keeps the first, each part gets a row of
    /// `message_parts`), a retry time and count an attempt. The counts of
    /// the statuses reports bring are locked too, for each campaign with a
    /// submitted message, ready for the reports settled in the same
    /// transaction.
    pub submissions: bool,
    pub refunds: bool,
    pub callbacks: bool,
}

/// The statement applying the changes that `changes` produces, answering
/// `result`, a query reading the CTE `moved`: the changes applied, with the
/// message's columns after the change (`number`, `country`, `text_idx`,
/// `segments`, `send_at`, `expires_at`, `lease_until`, `attempts`,
/// `connector`). `prelude` are CTEs the
/// changes query reads (e.g. its input), written before it; empty for none.
///
/// `changes` is a query producing these columns, in any order:
///
/// | column | type | meaning |
/// |---|---|---|
/// | `message_id`, `campaign_id`, `account_id` | bigint | the message |
/// | `from_status`, `status` | text | the status it leaves and the one it reaches |
/// | `at` | bigint | when |
/// | `detail` | text | the event's detail, which also becomes the message's `error` |
/// | `lease_until` | bigint | set when leasing (the lease's end) and when submitted (the time the report is due by); any other transition clears it |
/// | `refund` | bigint | micro-units given back: the message's cost when it never left |
/// | `notify` | boolean | enqueue a status callback |
///
/// and with [`Effects::submissions`] also `connector`, `carrier_id` (text,
/// the first part's), `parts` (bigint, how many), `send_at` (bigint, a
/// retry's new time), `attempted` (integer, 1 when the change ends a submit
/// attempt) and `outcome` (bigint, numbering the submissions), with the
/// prelude defining `more_parts (outcome, part, carrier_id)`: the ids of the
/// parts after the first, kept apart so that the common single-part message
/// costs no more than its `carrier_id`. The parts are then recorded in
/// `message_parts`, and `result` may read the CTE `parts`: the rows recorded,
/// with `message_id`, `status`, `detail`, `at` — a status other than
/// `submitted` is a report that came before the submission (see
/// [`super::reports`]).
pub(super) fn statement(prelude: &str, changes: &str, effects: Effects, result: &str) -> String {
    let set = if effects.submissions {
        "status = c.status, updated_at = c.at, error = COALESCE(c.detail, m.error),
         lease_until = c.lease_until, connector = COALESCE(c.connector, m.connector),
         carrier_id = COALESCE(c.carrier_id, m.carrier_id),
         send_at = COALESCE(c.send_at, m.send_at), attempts = m.attempts + c.attempted"
    } else {
        "status = c.status, updated_at = c.at, error = COALESCE(c.detail, m.error),
         lease_until = c.lease_until"
    };
    let prelude = if prelude.is_empty() {
        String::new()
    } else {
        format!("{prelude},\n")
    };
    let parts = if effects.submissions {
        ", c.outcome, c.carrier_id AS first_part, c.parts"
    } else {
        ""
    };
    let reserved = if effects.submissions {
        let reported: Vec<String> = reports::REPORTED
            .iter()
            .map(|s| format!("('{}')", s.as_str()))
            .collect();
        format!(
            "
                 UNION ALL
                 SELECT mv.campaign_id, r.status, 0 FROM moves AS mv
                 CROSS JOIN (VALUES {}) AS r (status)
                 WHERE mv.status = 'submitted'",
            reported.join(", ")
        )
    } else {
        String::new()
    };
    let mut sql = format!(
        "WITH {prelude}changes AS MATERIALIZED ({changes}),
         moved AS (
             UPDATE messages AS m SET {set}
             FROM changes AS c WHERE m.id = c.message_id
             RETURNING c.message_id, c.campaign_id, c.account_id, c.from_status, c.status, c.at,
                       c.detail, c.refund, c.notify, m.number, m.country, m.text_idx, m.segments,
                       m.send_at, m.expires_at, m.lease_until, m.attempts, m.connector{parts}),
         queued AS (
             UPDATE message_queue AS q
             SET status = mv.status, send_at = mv.send_at, lease_until = mv.lease_until
             FROM moved AS mv
             WHERE q.message_id = mv.message_id
               AND mv.status IN ('scheduled', 'queued', 'submitting')),
         dequeued AS (
             DELETE FROM message_queue AS q USING moved AS mv
             WHERE q.message_id = mv.message_id
               AND mv.from_status IN ('scheduled', 'queued', 'submitting')
               AND mv.status NOT IN ('scheduled', 'queued', 'submitting')),
         events AS (
             INSERT INTO message_events (message_id, status, at, detail)
             SELECT message_id, status, at, detail FROM moved ORDER BY message_id),
         moves AS (
             SELECT campaign_id, from_status, status, COUNT(*) AS n FROM moved
             GROUP BY campaign_id, from_status, status),
         counts AS (
             INSERT INTO campaign_counts (campaign_id, status, n)
             SELECT campaign_id, status, SUM(n)::bigint FROM (
                 SELECT campaign_id, status, n FROM moves
                 UNION ALL
                 SELECT campaign_id, from_status, -n FROM moves{reserved}) AS d
             GROUP BY campaign_id, status
             ORDER BY campaign_id, status
             ON CONFLICT (campaign_id, status) DO UPDATE SET n = campaign_counts.n + excluded.n),
         awaited AS (
             INSERT INTO awaiting_reports (message_id, report_by)
             SELECT message_id, lease_until FROM moved
             WHERE status = 'submitted' AND from_status <> 'submitted' AND lease_until IS NOT NULL
             ORDER BY message_id
             ON CONFLICT (message_id) DO UPDATE SET report_by = excluded.report_by),
         settled AS (
             DELETE FROM awaiting_reports AS w USING moved AS mv
             WHERE w.message_id = mv.message_id
               AND mv.from_status = 'submitted' AND mv.status <> 'submitted')"
    );
    if effects.submissions {
        sql.push_str(PARTS);
    }
    if effects.refunds {
        sql.push_str(REFUNDS);
    }
    if effects.callbacks {
        sql.push_str(CALLBACKS);
    }
    sql.push('\n');
    sql.push_str(result);
    sql
}

/// Records the parts of the submissions, waiting for their reports. A carrier
/// id the connector gave before (ids wrap around) now names this part; one
/// an early report holds (no message yet) becomes this part, keeping the
/// report. Of one id given twice in a batch, the last message's part counts.
const PARTS: &str = ",
         parts AS (
             INSERT INTO message_parts AS p (connector, carrier_id, message_id, part, parts, status)
             SELECT DISTINCT ON (connector, carrier_id)
                    connector, carrier_id, message_id, part, parts, 'submitted'
             FROM (SELECT connector, first_part AS carrier_id, message_id, 0 AS part, parts
                   FROM moved WHERE status = 'submitted' AND first_part IS NOT NULL
                   UNION ALL
                   SELECT mv.connector, x.carrier_id, mv.message_id, x.part, mv.parts
                   FROM more_parts AS x JOIN moved AS mv ON mv.outcome = x.outcome
                   WHERE mv.status = 'submitted') AS s
             ORDER BY connector, carrier_id, message_id DESC, part DESC
             ON CONFLICT (connector, carrier_id) DO UPDATE SET
                 message_id = excluded.message_id, part = excluded.part, parts = excluded.parts,
                 status = CASE WHEN p.message_id IS NULL THEN p.status ELSE 'submitted' END,
                 detail = CASE WHEN p.message_id IS NULL THEN p.detail END,
                 at = CASE WHEN p.message_id IS NULL THEN p.at END
             RETURNING p.message_id, p.status, p.detail, p.at)";

/// Gives back the refunds: to each campaign's `refunded`, to each prepaid
/// account's balance, and as one ledger row per campaign and status. The rows
/// are locked in key order before they are updated.
const REFUNDS: &str = ",
         refunds AS (
             SELECT account_id, campaign_id, status, SUM(refund)::bigint AS amount, MAX(at) AS at
             FROM moved WHERE refund > 0 GROUP BY account_id, campaign_id, status),
         refunded_campaigns AS (
             UPDATE campaigns AS ca SET refunded = ca.refunded + r.amount
             FROM (SELECT l.id, r.amount
                   FROM (SELECT campaign_id, SUM(amount)::bigint AS amount FROM refunds
                         GROUP BY campaign_id) AS r
                   JOIN campaigns AS l ON l.id = r.campaign_id
                   ORDER BY l.id FOR NO KEY UPDATE OF l) AS r
             WHERE ca.id = r.id),
         refunded_accounts AS (
             UPDATE accounts AS a SET balance = a.balance + r.amount
             FROM (SELECT l.id, r.amount
                   FROM (SELECT account_id, SUM(amount)::bigint AS amount FROM refunds
                         GROUP BY account_id) AS r
                   JOIN accounts AS l ON l.id = r.account_id
                   WHERE l.balance IS NOT NULL
                   ORDER BY l.id FOR NO KEY UPDATE OF l) AS r
             WHERE a.id = r.id),
         refund_ledger AS (
             INSERT INTO ledger (account_id, amount, reason, campaign_id, at)
             SELECT account_id, amount, 'refund: ' || status, campaign_id, at FROM refunds
             ORDER BY campaign_id, status)";

/// Enqueues a status callback for each change marked `notify`, to the
/// campaign's `callback_url`, else the account's `webhooks.dlr`; none without
/// a URL, and none for a status that is not final when the campaign (else the
/// account) asks for `final` callbacks only. The URL and that choice are
/// worked out once per campaign, not once per message.
const CALLBACKS: &str = ",
         targets AS (
             SELECT ca.id AS campaign_id, ca.source,
                    COALESCE(ca.callback_url, a.settings -> 'webhooks' ->> 'dlr') AS url,
                    COALESCE(ca.callback_events, a.settings -> 'webhooks' ->> 'callback_events',
                             'all') = 'final' AS final_only
             FROM campaigns AS ca JOIN accounts AS a ON a.id = ca.account_id
             WHERE ca.id IN (SELECT campaign_id FROM moved WHERE notify)),
         callbacks AS (
             INSERT INTO webhooks (account_id, url, kind, source, message_id, status, at,
                                   next_attempt_at, state)
             SELECT c.account_id, t.url, 'status', t.source, c.message_id, c.status, c.at, c.at,
                    'pending'
             FROM moved AS c JOIN targets AS t ON t.campaign_id = c.campaign_id
             WHERE c.notify AND t.url IS NOT NULL
               AND (NOT t.final_only OR c.status IN ('delivered', 'undelivered', 'expired',
                                                     'failed', 'rejected', 'cancelled'))
             ORDER BY c.message_id)";
