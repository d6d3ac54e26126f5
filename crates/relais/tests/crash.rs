//! Crash tests on SQLite: five SIGKILLs at random moments of a 20,000-message
//! campaign — during the accept, the dispatch, the delivery reports and the
//! callbacks — each followed by a restart on the same database. The carrier
//! is a `relais smsc-simulator` process, which outlives the node as a real
//! carrier does and hands the receipts it owed a dead bind to the next one;
//! the client's callback receiver lives in this test process.
//!
//! After the last restart: every acknowledged campaign is complete, every
//! message final within its report deadline, the balance exact to the
//! micro-unit, every message's final callback delivered at least once; and
//! the messages that may have gone to the carrier twice (leased twice: sent,
//! then killed before the answer was recorded) are printed and bounded by
//! what a node holds leased (`WORKERS × BATCH_SIZE`) per kill.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Listener, Server, SmscProcess};
use relais_core::money::Amount;
use serde_json::{Value, json};

const RECIPIENTS: usize = 20_000;
const KILLS: usize = 5;
/// Each dispatcher loop holds at most one batch of `BATCH_SIZE` leased
/// messages: a kill can leave at most `WORKERS × BATCH_SIZE` sent but not
/// recorded.
const WORKERS: usize = 2;
const BATCH_SIZE: usize = 250;
/// Short, so that the batches (and callbacks) a kill left leased come back soon.
const LEASE_MS: u64 = 3_000;
/// Callbacks a kill left leased are posted again after this (more than a
/// request's timeout, else none would be started).
const CALLBACK_LEASE_MS: u64 = 5_000;
/// The connector's report deadline: every message is final by then.
const REPORT_TIMEOUT_MS: u64 = 60_000;
const WAIT: Duration = Duration::from_secs(180);

const FINAL: [&str; 6] = [
    "delivered",
    "undelivered",
    "expired",
    "failed",
    "cancelled",
    "rejected",
];

fn config(carrier: &SmscProcess) -> String {
    format!(
        r#"
[engine.dispatcher]
workers = {WORKERS}
batch_size = {BATCH_SIZE}
lease_ms = {LEASE_MS}

[engine.webhooks]
lease_ms = {CALLBACK_LEASE_MS}
timeout_ms = 2000
{connector}report_timeout_ms = {REPORT_TIMEOUT_MS}

[[routes]]
name = "france"
countries = ["FR"]
connectors = ["carrier"]
"#,
        connector = carrier.connector("carrier"),
    )
}

fn recipients() -> Vec<String> {
    (0..RECIPIENTS)
        .map(|i| format!("+336{:08}", 20_000_000 + i))
        .collect()
}

fn count(detail: &Value, statuses: &[&str]) -> u64 {
    statuses
        .iter()
        .map(|s| detail["messages"][s].as_u64().unwrap_or(0))
        .sum()
}

fn past_submission(detail: &Value) -> u64 {
    count(detail, &["submitted"]) + count(detail, &FINAL)
}

/// A pseudo-random fraction in [0, 1) from the clock: each run kills at
/// other moments, and the moments are printed.
fn random() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    f64::from(nanos.wrapping_mul(2_654_435_761) % 1_000_000) / 1_000_000.0
}

/// Waits until the campaign's detail satisfies `done`, polling every 20 ms.
async fn until(server: &Server, key: &str, campaign: i64, done: impl Fn(&Value) -> bool) -> Value {
    server
        .wait_for(key, &format!("/v1/campaigns/{campaign}"), WAIT, done)
        .await
}

/// Final callbacks received, by message id.
fn finals(hook: &Listener) -> HashSet<i64> {
    hook.received()
        .iter()
        .map(|r| r.json())
        .filter(|c| FINAL.contains(&c["status"].as_str().unwrap_or("")))
        .filter_map(|c| c["message_id"].as_i64())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn five_kills_lose_no_message_no_cent_and_no_callback() {
    let carrier = SmscProcess::start();
    let hook = Listener::start().await;
    let config = config(&carrier);
    let server = Server::start(&config);
    let dir = server.dir.clone();
    let (_, key) = server.account("acme", Some("2000")).await;
    let body = json!({ "to": recipients(), "text": "Votre code : 123456",
                       "callback_url": hook.url, "callback_events": "final" });
    let mut moments = Vec::new();

    // 1. During the accept: the answer may or may not have come back.
    let post = {
        let http = server.http.clone();
        let url = format!("{}/v1/messages", server.base);
        let (key, body) = (key.clone(), body.clone());
        tokio::spawn(async move {
            let response = http.post(url).bearer_auth(key).json(&body).send().await;
            match response {
                Ok(r) if r.status() == 201 => r.json::<Value>().await.ok(),
                _ => None,
            }
        })
    };
    let delay = Duration::from_millis((random() * 400.0) as u64);
    tokio::time::sleep(delay).await;
    server.kill();
    moments.push(format!("accept +{} ms", delay.as_millis()));
    let mut acknowledged: Vec<i64> = post
        .await
        .unwrap()
        .and_then(|answer| answer["campaign_id"].as_i64())
        .into_iter()
        .collect();

    let mut server = Server::start_in(dir.clone(), &config);
    if acknowledged.is_empty() {
        // Killed before the answer: send it again, this time to the end.
        let (status, answer) = server.post(&key, "/v1/messages", body.clone()).await;
        assert_eq!(status, 201, "{answer}");
        acknowledged.push(answer["campaign_id"].as_i64().unwrap());
    }
    let campaign = *acknowledged.last().unwrap();

    // 2. During the dispatch, 3. during the reports, 4. and 5. during the callbacks.
    for kill in 2..=KILLS {
        let share = 0.1 + 0.6 * random();
        let target = (share * RECIPIENTS as f64) as u64;
        let (what, detail) = match kill {
            2 => (
                "dispatch",
                until(&server, &key, campaign, |c| past_submission(c) >= target).await,
            ),
            3 => (
                "reports",
                until(&server, &key, campaign, |c| {
                    count(c, &["delivered"]) >= target
                })
                .await,
            ),
            _ => {
                // Some share of the callbacks still to come.
                let before = finals(&hook).len() as u64;
                let wanted = before + ((RECIPIENTS as u64 - before) as f64 * share * 0.5) as u64;
                let deadline = Instant::now() + WAIT;
                while (finals(&hook).len() as u64) < wanted {
                    assert!(Instant::now() < deadline, "callbacks stalled");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                ("callbacks", until(&server, &key, campaign, |_| true).await)
            }
        };
        server.kill();
        moments.push(format!(
            "{what} ({} past submission, {} delivered, {} callbacks)",
            past_submission(&detail),
            count(&detail, &["delivered"]),
            finals(&hook).len()
        ));
        server = Server::start_in(dir.clone(), &config);
    }

    // Every acknowledged campaign complete: each message final, within the
    // report deadline of its submission (plus the time the lease takes).
    let started = Instant::now();
    let mut total = 0;
    for &id in &acknowledged {
        let detail = until(&server, &key, id, |c| count(c, &FINAL) == RECIPIENTS as u64).await;
        assert_eq!(detail["status"], "done", "{detail}");
        total += RECIPIENTS;
    }
    assert!(
        started.elapsed() < Duration::from_millis(REPORT_TIMEOUT_MS + 2 * LEASE_MS),
        "messages took longer than their report deadline"
    );

    // The balance: what every stored campaign cost, less its refunds, to the
    // micro-unit (a campaign committed but not acknowledged by the first
    // kill is charged too, and complete as well).
    let (_, campaigns) = server.get(&key, "/v1/campaigns?limit=100").await;
    let campaigns = campaigns["items"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("a list of campaigns: {campaigns}"));
    let amount = |v: &Value| v.as_str().unwrap().parse::<Amount>().unwrap();
    let mut spent = Amount::ZERO;
    for c in &campaigns {
        let id = c["id"].as_i64().unwrap();
        let detail = until(&server, &key, id, |c| count(c, &FINAL) == RECIPIENTS as u64).await;
        spent = spent + amount(&detail["cost"]) - amount(&detail["refunded"]);
    }
    let (_, balance) = server.get(&key, "/v1/balance").await;
    assert_eq!(
        amount(&balance["balance"]),
        "2000".parse::<Amount>().unwrap() - spent,
        "{balance}"
    );

    // Every message's final callback, at least once.
    let deadline = Instant::now() + WAIT;
    let expected = campaigns.len() * RECIPIENTS;
    while finals(&hook).len() < expected {
        assert!(
            Instant::now() < deadline,
            "{} of {expected} final callbacks",
            finals(&hook).len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let callbacks = hook.received().len();
    let db = server.db_path();
    server.stop();

    // What may have gone to the carrier twice: messages leased twice.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .expect("open the database");
    let leased_twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT message_id FROM message_events WHERE status = 'submitting'
                               GROUP BY message_id HAVING COUNT(*) > 1)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let not_final: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM messages
         WHERE status NOT IN ('delivered', 'undelivered', 'expired', 'failed', 'cancelled',
                              'rejected')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    println!(
        "crash test: kills at {moments:?}; {total} acknowledged messages final {:.1} s after \
         the last restart; {callbacks} callbacks for {expected} messages; {leased_twice} \
         messages leased twice, possibly submitted twice (bound {} per kill)",
        started.elapsed().as_secs_f64(),
        WORKERS * BATCH_SIZE,
    );
    assert_eq!(not_final, 0);
    assert!(
        leased_twice <= (KILLS * WORKERS * BATCH_SIZE) as i64,
        "{leased_twice} messages leased twice"
    );
    drop(carrier);
}
