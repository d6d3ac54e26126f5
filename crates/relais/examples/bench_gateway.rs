//! Benchmark: one 100,000-recipient campaign through the whole gateway, on
//! SQLite, then on PostgreSQL with one node and with two.
//!
//! `cargo run --release -p relais --example bench_gateway [-- RECIPIENTS [POSTGRES_URL]]`
//!
//! PostgreSQL is the URL argument, else `RELAIS_BENCH_DATABASE_URL`, else
//! `postgres://root@127.0.0.1:5432/test`; each of its runs works in a fresh
//! schema, dropped at the end. SQLite works in a temporary file.
//!
//! A run starts its nodes in this process, each as `relais serve` builds it
//! (its own store and connection pool, dispatcher, webhook worker and
//! simulator as the route), sends the campaign over HTTP to the first node,
//! and prints:
//! - accept: from the request to the answer, which comes after the durable
//!   commit of the campaign, its messages and the debit;
//! - dispatch: from the answer until every message left the queue with its
//!   submit result persisted;
//! - delivered: until every delivery report is stored;
//! - on PostgreSQL, the deadlocks the server broke during the run (each
//!   stalls its transactions for a second): there should be none.
//!
//! The nodes of a run share this machine's cores (and the database server's),
//! so two nodes show what coordinating through PostgreSQL costs or gains on
//! one machine, not what two machines would do.

mod common;

use std::time::{Duration, Instant};

use common::FreshSchema;
use relais::config::{Config, PostgresSection};
use relais::wiring;
use relais_engine::progress::{Progress, watch_delivery};
use relais_store::{NewAccount, Store};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(100_000, |a| a.parse().expect("RECIPIENTS"));
    let postgres = common::postgres_url(args.next());
    let mut base = Config::default();
    base.simulator.report_delay_ms = (5, 50);
    // Statements waiting on each other for over a second are what is measured here.
    base.log.level = "warn,sqlx::query=error".into();
    relais::logging::init(&base.log);
    let numbers: Vec<String> = (0..n)
        .map(|i| format!("+336{:08}", 10_000_000 + i))
        .collect();
    let body =
        serde_json::json!({ "to": numbers, "text": "Votre code de confirmation est 123456." })
            .to_string();

    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Config {
        database_url: dir.path().join("bench.db").display().to_string(),
        ..base.clone()
    };
    run("SQLite, 1 node", &[sqlite], &body, n).await;

    for nodes in [1, 2] {
        let schema = FreshSchema::create(&postgres).await;
        let config = Config {
            database_url: postgres.clone(),
            postgres: PostgresSection {
                schema: Some(schema.name.clone()),
            },
            ..base.clone()
        };
        let label = format!(
            "PostgreSQL, {nodes} node{}",
            if nodes > 1 { "s" } else { "" }
        );
        let deadlocks_before = deadlocks(schema.admin()).await;
        run(&label, &vec![config; nodes], &body, n).await;
        // The server publishes its statistics within a second.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        println!(
            "{label}: deadlocks: {} (in the whole database during the run)",
            deadlocks(schema.admin()).await - deadlocks_before
        );
        schema.drop().await;
    }
}

/// One run: starts a node per configuration, sends the campaign (`body`, `n`
/// recipients) to the first and prints its figures.
async fn run(label: &str, nodes: &[Config], body: &str, n: usize) {
    let mut gateways = Vec::new();
    for config in nodes {
        let store = wiring::open_store(config).await.expect("store");
        gateways.push(wiring::start(config, store, None).expect("gateway"));
    }
    let store = gateways[0].store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(axum::serve(listener, gateways[0].app.clone()).into_future());
    let token = bench_key(store.as_ref()).await;
    let client = reqwest::Client::new();

    let start = Instant::now();
    let response = client
        .post(format!("{base}/v1/messages"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap();
    let accepted = start.elapsed();
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["counters"]["sent"], n as u64);
    println!(
        "{label}: accept: {n} recipients ({:.1} MB of JSON) committed in {:.3} s ({:.0} recipients/s)",
        body.len() as f64 / 1e6,
        accepted.as_secs_f64(),
        n as f64 / accepted.as_secs_f64()
    );

    let dispatch_start = Instant::now();
    let Progress {
        dispatched,
        delivered,
    } = watch_delivery(
        store.as_ref(),
        n as u64,
        dispatch_start,
        Duration::from_millis(20),
        Duration::from_secs(600),
    )
    .await
    .expect("every message delivered");
    println!(
        "{label}: dispatch: {n} messages submitted to the simulator, results persisted, in {:.3} s ({:.0} messages/s)",
        dispatched.as_secs_f64(),
        n as f64 / dispatched.as_secs_f64()
    );
    println!(
        "{label}: delivered: {n} delivery reports stored after {:.3} s ({:.0} messages/s end to end)",
        delivered.as_secs_f64(),
        n as f64 / delivered.as_secs_f64()
    );
    server.abort();
    for gateway in gateways {
        gateway.engine.shutdown().await;
    }
}

/// A postpaid account (no credit limit to run out of) and an API key for it.
async fn bench_key(store: &dyn Store) -> String {
    let account = store
        .create_account(
            NewAccount::new("bench", None),
            relais_store::clock::now_ms(),
        )
        .await
        .unwrap();
    let (token, _) = relais_engine::keys::create_key(store, account.id, None)
        .await
        .unwrap();
    token
}

/// Deadlocks PostgreSQL broke in this database since its statistics were
/// reset: each stalls its transactions for `deadlock_timeout` (1 s by default).
async fn deadlocks(admin: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        .fetch_one(admin)
        .await
        .expect("pg_stat_database")
}
