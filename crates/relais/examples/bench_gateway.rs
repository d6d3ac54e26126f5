//! Benchmark: one 100,000-recipient campaign through the whole gateway.
//!
//! `cargo run --release -p relais --example bench_gateway [-- RECIPIENTS]`
//!
//! Starts relais in-process on a temporary SQLite database with the simulator
//! as its route, sends the campaign over HTTP, and prints:
//! - accept: from the request to the answer, which comes after the durable
//!   commit of the campaign, its messages and the debit;
//! - dispatch: from the answer until every message left the queue with its
//!   submit result persisted;
//! - delivered: until every delivery report is stored.

use std::time::{Duration, Instant};

use relais::config::Config;
use relais::wiring;
use relais_store::MessageStatus;
use relais_store::{AccountSettings, NewAccount};

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().expect("RECIPIENTS"));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        database_url: dir.path().join("bench.db").display().to_string(),
        ..Config::default()
    };
    config.simulator.report_delay_ms = (5, 50);
    config.log.level = "warn".into();
    relais::logging::init(&config.log);

    let store = wiring::open_store(&config).await.expect("store");
    let gateway = wiring::start(&config, store.clone(), None).expect("gateway");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, gateway.app).into_future());

    let account = store
        .create_account(
            NewAccount {
                name: "bench".into(),
                email: None,
                balance: None,
                sandbox: false,
                settings: AccountSettings::default(),
            },
            relais_engine::clock::now_ms(),
        )
        .await
        .unwrap();
    let (token, _) = relais_engine::keys::create_key(store.as_ref(), account.id, None)
        .await
        .unwrap();

    let numbers: Vec<String> = (0..n)
        .map(|i| format!("+336{:08}", 10_000_000 + i))
        .collect();
    let body =
        serde_json::json!({ "to": numbers, "text": "Votre code de confirmation est 123456." })
            .to_string();
    let client = reqwest::Client::new();

    let start = Instant::now();
    let response = client
        .post(format!("{base}/v1/messages"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap();
    let accepted = start.elapsed();
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["counters"]["sent"], n as u64);
    println!(
        "accept: {n} recipients ({:.1} MB of JSON) committed in {:.3} s ({:.0} recipients/s)",
        body.len() as f64 / 1e6,
        accepted.as_secs_f64(),
        n as f64 / accepted.as_secs_f64()
    );

    let dispatch_start = Instant::now();
    let mut dispatched = None;
    loop {
        let totals = store.status_totals().await.unwrap();
        let count = |s: MessageStatus| totals.get(&s).copied().unwrap_or(0);
        let waiting = count(MessageStatus::Queued)
            + count(MessageStatus::Scheduled)
            + count(MessageStatus::Submitting);
        if waiting == 0 && dispatched.is_none() {
            dispatched = Some(dispatch_start.elapsed());
        }
        if count(MessageStatus::Delivered) == n as u64 {
            break;
        }
        assert!(
            dispatch_start.elapsed() < Duration::from_secs(600),
            "not delivered after 10 minutes: {totals:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = dispatch_start.elapsed();
    let dispatched = dispatched.expect("dispatch finished before delivery");
    println!(
        "dispatch: {n} messages submitted to the simulator, results persisted, in {:.3} s ({:.0} messages/s)",
        dispatched.as_secs_f64(),
        n as f64 / dispatched.as_secs_f64()
    );
    println!(
        "delivered: {n} delivery reports stored after {:.3} s ({:.0} messages/s end to end)",
        delivered.as_secs_f64(),
        n as f64 / delivered.as_secs_f64()
    );
    gateway.engine.shutdown().await;
}
