//! Losing a node in the middle of a campaign. Three `relais serve` nodes share
//! one PostgreSQL schema and send a 50,000-message campaign; once dispatch is
//! under way one of them is killed with SIGKILL. The other two must finish
//! the campaign: the dead node's leased messages come back when their lease
//! runs out, every message reaches one final status, once; the campaign's
//! counts match its messages; the account is charged exactly what it owes;
//! and only messages the dead node had in flight may have gone out twice.
//!
//! The carrier is relais' SMSC simulator, run in this test process so that it
//! outlives the node, as a real carrier does: it hands the delivery receipts
//! it owed the dead node's bind to the binds of the others. (A node's built-in
//! `[simulator]` dies with it, and the reports it still owed with it, which
//! would leave messages `submitted` forever through no fault of the store.)
//!
//! Needs `RELAIS_TEST_DATABASE_URL`; in CI (`CI=true`) its absence or an
//! unreachable server is a failure.

mod common;
#[path = "common/postgres.rs"]
mod postgres;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::Server;
use postgres::TestSchema;
use relais_core::money::Amount;
use relais_smpp::smsc::{ErrorRule, Smsc, SmscAccount, SmscConfig};
use serde_json::{Value, json};

const RECIPIENTS: usize = 50_000;
const NODES: usize = 3;
/// Each node's dispatcher: `WORKERS` loops, each holding at most one batch of
/// `BATCH_SIZE` leased messages. So a node that dies holds at most
/// `WORKERS × BATCH_SIZE` messages, the most that can go out twice.
const WORKERS: usize = 2;
const BATCH_SIZE: usize = 250;
/// Long enough for a live node to submit a batch on a loaded machine (a
/// lapsed lease would let another node send its messages again), short
/// enough to keep the test short.
const LEASE_MS: u64 = 10_000;
/// How long the carrier takes to answer each submit. With the connector's
/// window of 64 submits in flight per bind, it paces each node to about 600
/// messages/s, so that dispatch lasts long enough (about 30 s with three
/// nodes) to kill a node in its middle, and so that a node's batches spend
/// most of their time at the carrier, where a kill leaves them sent but not
/// recorded.
const CARRIER_DELAY_MS: u64 = 100;
/// The dead node is killed once this many messages are past submission.
const KILL_AT: u64 = 10_000;

/// Every 100th recipient is Belgian, for which no route exists: those fail at
/// their first attempt and are refunded. The others are French; the carrier
/// refuses the numbers starting with `REFUSED_PREFIX` for good (rejected,
/// charged).
fn recipients() -> Vec<String> {
    (0..RECIPIENTS)
        .map(|i| {
            if i % 100 == 99 {
                format!("+3247{i:07}")
            } else {
                format!("+336{:08}", 10_000_000 + i)
            }
        })
        .collect()
}
const REFUSED_PREFIX: &str = "33610010";
const BELGIAN: u64 = (RECIPIENTS / 100) as u64;
/// French recipients 10,000..10,999, less the Belgian ones among them.
const REFUSED: u64 = 990;

fn node_config(schema: &TestSchema, carrier: SocketAddr) -> String {
    format!(
        r#"{database}
# Three debug nodes, the carrier and PostgreSQL on a small machine: sqlx's
# warnings about statements over a second would drown the test's output.
[log]
level = "warn,sqlx::query=error"

[engine.dispatcher]
workers = {WORKERS}
batch_size = {BATCH_SIZE}
lease_ms = {LEASE_MS}

[[smpp_connectors]]
name = "carrier"
host = "127.0.0.1"
port = {port}
system_id = "relais"
password = "secret"

[[routes]]
name = "france"
countries = ["FR"]
connectors = ["carrier"]
"#,
        database = schema.config(),
        port = carrier.port(),
    )
}

async fn start_carrier() -> Smsc {
    Smsc::start(SmscConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        accounts: vec![SmscAccount {
            system_id: "relais".into(),
            password: "secret".into(),
        }],
        delivered_ratio: 0.9,
        undelivered_ratio: 0.05,
        receipt_delay_ms: (50, 500),
        response_delay_ms: CARRIER_DELAY_MS,
        error_rules: vec![ErrorRule {
            destination_prefix: REFUSED_PREFIX.into(),
            status: 0x0B, // ESME_RINVDSTADR
        }],
        ..SmscConfig::default()
    })
    .await
    .expect("start the SMSC simulator")
}

const FINAL: [&str; 6] = [
    "delivered",
    "undelivered",
    "expired",
    "failed",
    "cancelled",
    "rejected",
];

/// Messages of the campaign past submission (submitted or final).
fn past_submission(detail: &Value) -> u64 {
    let count = |s: &str| detail["messages"][s].as_u64().unwrap_or(0);
    count("submitted") + FINAL.iter().map(|s| count(s)).sum::<u64>()
}

fn finished(detail: &Value) -> u64 {
    FINAL
        .iter()
        .map(|s| detail["messages"][s].as_u64().unwrap_or(0))
        .sum()
}

async fn scalar(schema: &TestSchema, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&schema.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Message ids that `sql` selects.
async fn ids(schema: &TestSchema, sql: &'static str) -> HashSet<i64> {
    sqlx::query_scalar(sql)
        .fetch_all(&schema.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_node_loses_no_message() {
    let Some(schema) = TestSchema::create("relais_node_loss").await else {
        return;
    };
    let carrier = start_carrier().await;
    let config = node_config(&schema, carrier.local_addr());
    let mut nodes: Vec<Server> = (0..NODES).map(|_| Server::start(&config)).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while carrier.stats().binds < NODES as u64 {
        assert!(Instant::now() < deadline, "the nodes did not all bind");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, key) = nodes[0].account("acme", Some("5000")).await;

    let started = Instant::now();
    let (status, sent) = nodes[0]
        .post(
            &key,
            "/v1/messages",
            json!({ "to": recipients(), "text": "Votre code : 123456" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(
        sent["counters"]["sent"], RECIPIENTS as u64,
        "{}",
        sent["counters"]
    );
    let accepted = started.elapsed();
    let campaign = sent["campaign_id"].as_i64().unwrap();
    let path = format!("/v1/campaigns/{campaign}");

    // Kill the last node while the others keep going.
    let at_kill = nodes[0]
        .wait_for(&key, &path, Duration::from_secs(120), |c| {
            past_submission(c) >= KILL_AT
        })
        .await;
    let killed_at = Instant::now();
    nodes.pop().expect("a node to kill").kill();
    let progress = past_submission(&at_kill);
    assert!(
        progress < RECIPIENTS as u64,
        "dispatch was over before the kill ({progress} messages submitted): slow it down"
    );
    // The dead node's leases, among others: they stay until they run out.
    let leased_at_kill = ids(
        &schema,
        "SELECT message_id FROM message_queue WHERE status = 'submitting'",
    )
    .await;

    let detail = nodes[0]
        .wait_for(&key, &path, Duration::from_secs(180), |c| {
            finished(c) == RECIPIENTS as u64
        })
        .await;
    let recovered = killed_at.elapsed();
    assert_eq!(detail["status"], "done", "{detail}");

    // The campaign's counts are its messages', status by status.
    let counted: BTreeMap<String, u64> = detail["messages"]
        .as_object()
        .expect("messages per status")
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(s, n)| (s.clone(), n.as_u64().expect("a count")))
        .collect();
    let stored: BTreeMap<String, u64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT status, COUNT(*) FROM messages WHERE campaign_id = $1 GROUP BY status",
    )
    .bind(campaign)
    .fetch_all(&schema.pool)
    .await
    .expect("messages per status")
    .into_iter()
    .map(|(s, n)| (s, n as u64))
    .collect();
    assert_eq!(counted, stored);
    assert_eq!(stored.get("failed").copied(), Some(BELGIAN), "{stored:?}");
    assert_eq!(stored.get("rejected").copied(), Some(REFUSED), "{stored:?}");
    assert_eq!(
        scalar(&schema, "SELECT COUNT(*) FROM message_queue").await,
        0
    );

    // Each message reached one final status, once, and is in the last
    // status its history records.
    let (once, more): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE n = 1), COUNT(*) FILTER (WHERE n > 1)
         FROM (SELECT message_id, COUNT(*) AS n FROM message_events
               WHERE status = ANY($1) GROUP BY message_id) AS f",
    )
    .bind(&FINAL[..])
    .fetch_one(&schema.pool)
    .await
    .expect("final events");
    assert_eq!((once, more), (RECIPIENTS as i64, 0));
    let astray = scalar(
        &schema,
        "SELECT COUNT(*) FROM messages AS m
         WHERE m.status <> (SELECT e.status FROM message_events AS e
                            WHERE e.message_id = m.id ORDER BY e.id DESC LIMIT 1)",
    )
    .await;
    assert_eq!(astray, 0, "messages whose history ends elsewhere");

    // Charged for every message but the refunded failures, to the micro-unit.
    let price = |p: &str| p.parse::<Amount>().unwrap();
    let french = RECIPIENTS as i64 - BELGIAN as i64;
    let cost = price("0.045") * french + price("0.075") * BELGIAN as i64;
    let refunded = price("0.075") * BELGIAN as i64;
    assert_eq!(detail["cost"], cost.to_string(), "{detail}");
    assert_eq!(detail["refunded"], refunded.to_string(), "{detail}");
    let (_, balance) = nodes[1].get(&key, "/v1/balance").await;
    let expected = price("5000") - cost + refunded;
    assert_eq!(balance["balance"], expected.to_string(), "{balance}");

    // Only what the dead node held leased may have gone out twice: the
    // messages leased twice (two `submitting` events) were all leased when it
    // died, and there were no more than it could hold; of those, the carrier
    // saw twice the ones it had sent without recording the answer.
    let leased_twice = ids(
        &schema,
        "SELECT message_id FROM message_events WHERE status = 'submitting'
         GROUP BY message_id HAVING COUNT(*) > 1",
    )
    .await;
    let lease_expired = ids(
        &schema,
        "SELECT message_id FROM message_events WHERE detail = 'lease expired'",
    )
    .await;
    let carrier_twice = carrier.stats().submits - (french as u64);
    println!(
        "node loss: {RECIPIENTS} messages accepted in {:.1} s; node killed with {progress} \
         past submission and {} leased on all nodes; all final {:.1} s later; \
         {} leases expired, {} messages leased twice, {carrier_twice} submitted twice \
         to the carrier (bound: {})",
        accepted.as_secs_f64(),
        leased_at_kill.len(),
        recovered.as_secs_f64(),
        lease_expired.len(),
        leased_twice.len(),
        WORKERS * BATCH_SIZE,
    );
    let astray: Vec<_> = leased_twice.difference(&leased_at_kill).collect();
    assert!(
        astray.is_empty(),
        "leased twice, not leased at the kill: {astray:?}"
    );
    let astray: Vec<_> = lease_expired.difference(&leased_at_kill).collect();
    assert!(
        astray.is_empty(),
        "lease expired, not leased at the kill: {astray:?}"
    );
    assert!(leased_twice.len() <= WORKERS * BATCH_SIZE);
    assert!(lease_expired.len() <= WORKERS * BATCH_SIZE);
    assert!(carrier_twice <= leased_twice.len() as u64);

    for node in nodes {
        node.stop();
    }
    carrier.shutdown().await;
    schema.drop().await;
}
