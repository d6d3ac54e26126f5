//! Status transitions of messages, applied a batch at a time.
//!
//! Every operation that moves messages (claiming, recording submissions,
//! applying reports, expiring, cancelling) works in two steps inside its
//! transaction:
//!
//! 1. it stages the messages that really change — those still in the status
//!    the transition starts from — as rows of the temporary table `changes`,
//!    each with its new status and what goes with it;
//! 2. [`apply`] then carries out the whole batch with a few set-based
//!    statements: the message rows, their status history, the campaigns'
//!    status counts, the parts of submitted messages (which their delivery
//!    reports match, see [`super::reports`]), the refunds (campaign, ledger,
//!    balance) and the status callbacks.
//!
//! So each rule (what a refund touches, where a callback goes) is written
//! once, and a batch of thousands of messages costs a handful of statements.
//! `changes` (with `more_parts`) is a temporary table of the writer
//! connection: no other connection sees it, and the single writer never runs
//! two batches at once.

use sqlx::SqliteConnection;

/// Creates the staging tables on a new writer connection.
pub(super) async fn create_staging(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS changes (
            message_id   INTEGER PRIMARY KEY,
            campaign_id  INTEGER NOT NULL,
            account_id   INTEGER NOT NULL,
            -- The status the message leaves, and the one it reaches.
            from_status  TEXT NOT NULL,
            status       TEXT NOT NULL,
            at           INTEGER NOT NULL,
            -- The event's detail, which also becomes the message's `error`.
            detail       TEXT,
            connector    TEXT,
            -- A submission's carrier id for its first part, and how many
            -- parts it has (the others' ids are in `more_parts`).
            carrier_id   TEXT,
            parts        INTEGER,
            -- A new send time (a retry).
            send_at      INTEGER,
            -- Set when leasing (the lease's end) and when submitted (the
            -- time the report is due by); any other transition clears it.
            lease_until  INTEGER,
            -- 1 when the change ends a submit attempt.
            attempted    INTEGER NOT NULL DEFAULT 0,
            -- Micro-units given back: the message's cost when it never left.
            refund       INTEGER NOT NULL DEFAULT 0,
            -- 1 to enqueue a status callback.
            notify       INTEGER NOT NULL DEFAULT 0
        )",
    )
    .execute(&mut *conn)
    .await?;
    // Kept apart so that the common single-part message costs no more than
    // its `carrier_id`.
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS more_parts (
            message_id  INTEGER NOT NULL,
            part        INTEGER NOT NULL,
            carrier_id  TEXT NOT NULL,
            PRIMARY KEY (message_id, part)
        )",
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Empties the staging tables before a batch is staged.
pub(super) async fn clear(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM temp.changes")
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM temp.more_parts")
        .execute(conn)
        .await?;
    Ok(())
}

/// What a staged batch needs beyond moving messages and recording their
/// history; the statements for the others are skipped.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Effects {
    /// The changes are submit outcomes: they also set the connector, the
    /// carrier id (the first part's; each part, `more_parts` included, gets a
    /// row of `message_parts`), a retry time and count an attempt. Other
    /// changes only set
    /// the status, its time, the error and the lease, and updating fewer
    /// columns costs SQLite less index upkeep.
    pub submissions: bool,
    pub refunds: bool,
    pub callbacks: bool,
}

/// Applies every staged change.
pub(super) async fn apply(
    conn: &mut SqliteConnection,
    effects: Effects,
) -> Result<(), sqlx::Error> {
    // Row values from a correlated subquery rather than `UPDATE … FROM`,
    // for which SQLite may choose to scan `messages` instead of `changes`.
    let update = if effects.submissions {
        "UPDATE messages
         SET (status, updated_at, error, connector, carrier_id, send_at, lease_until, attempts) = (
             SELECT c.status, c.at, COALESCE(c.detail, messages.error),
                    COALESCE(c.connector, messages.connector),
                    COALESCE(c.carrier_id, messages.carrier_id),
                    COALESCE(c.send_at, messages.send_at), c.lease_until,
                    messages.attempts + c.attempted
             FROM temp.changes AS c WHERE c.message_id = messages.id)
         WHERE id IN (SELECT message_id FROM temp.changes)"
    } else {
        "UPDATE messages
         SET (status, updated_at, error, lease_until) = (
             SELECT c.status, c.at, COALESCE(c.detail, messages.error), c.lease_until
             FROM temp.changes AS c WHERE c.message_id = messages.id)
         WHERE id IN (SELECT message_id FROM temp.changes)"
    };
    sqlx::query(update).execute(&mut *conn).await?;
    if effects.submissions {
        record_parts(conn).await?;
    }
    sqlx::query(
        "INSERT INTO message_events (message_id, status, at, detail)
         SELECT message_id, status, at, detail FROM temp.changes ORDER BY message_id",
    )
    .execute(&mut *conn)
    .await?;
    // Grouped by move first: a batch of thousands makes a handful of moves.
    sqlx::query(
        "WITH moves AS MATERIALIZED (
             SELECT campaign_id, from_status, status, COUNT(*) AS n FROM temp.changes
             GROUP BY campaign_id, from_status, status)
         INSERT INTO campaign_counts (campaign_id, status, n)
         SELECT campaign_id, status, SUM(n) FROM (
             SELECT campaign_id, status, n FROM moves
             UNION ALL
             SELECT campaign_id, from_status, -n FROM moves)
         GROUP BY campaign_id, status
         ON CONFLICT (campaign_id, status) DO UPDATE SET n = n + excluded.n",
    )
    .execute(&mut *conn)
    .await?;
    if effects.refunds {
        refund(conn).await?;
    }
    if effects.callbacks {
        enqueue_callbacks(conn).await?;
    }
    Ok(())
}

/// Records the parts of the staged submissions, waiting for their reports. A
/// carrier id the connector gave before (ids wrap around) now names this part.
async fn record_parts(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT OR REPLACE INTO message_parts (connector, carrier_id, message_id, part, parts,
                                               status)
         SELECT connector, carrier_id, message_id, 0, parts, NULL
         FROM temp.changes WHERE carrier_id IS NOT NULL
         UNION ALL
         SELECT c.connector, x.carrier_id, x.message_id, x.part, c.parts, NULL
         FROM temp.more_parts AS x CROSS JOIN temp.changes AS c ON c.message_id = x.message_id",
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives back the staged refunds: to each campaign's `refunded`, to each
/// prepaid account's balance, and as one ledger row per campaign and status.
async fn refund(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE campaigns SET refunded = refunded + r.amount
         FROM (SELECT campaign_id, SUM(refund) AS amount FROM temp.changes
               WHERE refund > 0 GROUP BY campaign_id) AS r
         WHERE campaigns.id = r.campaign_id",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE accounts SET balance = balance + r.amount
         FROM (SELECT account_id, SUM(refund) AS amount FROM temp.changes
               WHERE refund > 0 GROUP BY account_id) AS r
         WHERE accounts.id = r.account_id AND accounts.balance IS NOT NULL",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO ledger (account_id, amount, reason, campaign_id, at)
         SELECT account_id, SUM(refund), 'refund: ' || status, campaign_id, MAX(at)
         FROM temp.changes WHERE refund > 0
         GROUP BY account_id, campaign_id, status
         ORDER BY campaign_id, status",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Enqueues a status callback for each staged change marked `notify`, to the
/// campaign's `callback_url`, else the account's `webhooks.dlr`; none without
/// a URL, and none for a status that is not final when the campaign (else the
/// account) asks for `final` callbacks only. The URL and that choice are
/// worked out once per campaign (`MATERIALIZED`), not once per message: they
/// read the account's settings JSON.
async fn enqueue_callbacks(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH targets AS MATERIALIZED (
            SELECT ca.id AS campaign_id, ca.source,
                   COALESCE(ca.callback_url, a.settings ->> '$.webhooks.dlr') AS url,
                   COALESCE(ca.callback_events, a.settings ->> '$.webhooks.callback_events',
                            'all') = 'final' AS final_only
            FROM campaigns AS ca JOIN accounts AS a ON a.id = ca.account_id
            WHERE ca.id IN (SELECT campaign_id FROM temp.changes WHERE notify)
         )
         INSERT INTO webhooks (account_id, url, kind, source, message_id, status, at,
                               next_attempt_at, state)
         SELECT c.account_id, t.url, 'status', t.source, c.message_id, c.status, c.at,
                c.at, 'pending'
         FROM temp.changes AS c JOIN targets AS t ON t.campaign_id = c.campaign_id
         WHERE c.notify AND t.url IS NOT NULL
           AND (NOT t.final_only OR c.status IN ('delivered', 'undelivered', 'expired',
                                                 'failed', 'rejected', 'cancelled'))
         ORDER BY c.message_id",
    )
    .execute(conn)
    .await?;
    Ok(())
}
