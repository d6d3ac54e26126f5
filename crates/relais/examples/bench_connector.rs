//! Benchmark: messages through one HTTP provider connector (SMSFactor's
//! shape) to a local stub provider that answers at once and pushes a
//! delivery report per message to the connector's intake route.
//!
//! `cargo run --release -p relais --example bench_connector [-- MESSAGES [SINGLES]]`
//!
//! The gateway is built as `relais serve` builds it (SQLite in a temporary
//! file, `[[connectors]] kind = "smsfactor"` as the only route, its intake
//! served on the gateway's listener); the stub runs on a runtime of its own
//! thread. Two shapes:
//! - one at a time: SINGLES (200 by default) one-recipient sends, each
//!   waited for until its report is stored: the latency of one message
//!   from commit to delivered;
//! - bulk: one campaign of MESSAGES (100,000 by default): submitted/s
//!   (every provider request answered, results persisted) and reports
//!   applied/s (every report pushed, stored and acknowledged).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use relais::config::Config;
use relais::connectors::ConnectorSection;
use relais::wiring;
use relais_core::plan::{Channel, Recipient, SendRequest};
use relais_engine::progress::{Progress, watch_delivery};
use relais_engine::routing::RouteConfig;
use relais_engine::send::SendOptions;
use relais_store::{MessageStatus, NewAccount, Store};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(100_000, |a| a.parse().expect("MESSAGES"));
    let singles: usize = args.next().map_or(200, |a| a.parse().expect("SINGLES"));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let secret = "bench-intake-secret";
    let stub = start_stub(format!("{base}/connectors/provider/{secret}/dlr"));

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        database_url: dir.path().join("bench.db").display().to_string(),
        ..Config::default()
    };
    config.log.level = "warn".into();
    relais::logging::init(&config.log);
    config.connectors = vec![
        toml::from_str::<ConnectorSection>(&format!(
            "name = \"provider\"\nkind = \"smsfactor\"\ntoken = \"bench\"\nbase_url = \"{stub}\"\n\
             public_url = \"{base}\"\nintake_secret = \"{secret}\"\nregister_webhooks = false\n\
             concurrency = 16\n"
        ))
        .expect("connector section"),
    ];
    config.routes = vec![RouteConfig {
        name: "all".into(),
        channel: Channel::Network,
        countries: Vec::new(),
        prefixes: Vec::new(),
        kinds: Vec::new(),
        classes: Vec::new(),
        connectors: vec!["provider".into()],
    }];
    let store = wiring::open_store(&config).await.expect("store");
    let gateway = wiring::start(&config, store.clone(), None).expect("gateway");
    tokio::spawn(axum::serve(listener, gateway.app.clone()).into_future());
    let account = store
        .create_account(
            NewAccount::new("bench", None),
            relais_store::clock::now_ms(),
        )
        .await
        .expect("account");
    let send = |recipients: Vec<Recipient>| {
        let request = SendRequest {
            text: Some("Votre code de confirmation est 123456.".into()),
            recipients,
            sender: Some("Bench".into()),
            ..SendRequest::default()
        };
        let (pipeline, account) = (gateway.pipeline.clone(), account.clone());
        async move {
            pipeline
                .send(&account, &request, SendOptions::default())
                .await
                .expect("send")
        }
    };

    // One at a time.
    let start = Instant::now();
    for i in 0..singles {
        send(vec![Recipient::new(format!("+336{:08}", 20_000_000 + i))]).await;
        wait_delivered(store.as_ref(), i as u64 + 1).await;
    }
    let each = start.elapsed() / singles.max(1) as u32;
    println!(
        "one at a time: {singles} single-recipient sends, each waited for: {:.2} ms from commit to report stored ({:.0} messages/s)",
        each.as_secs_f64() * 1e3,
        1.0 / each.as_secs_f64()
    );

    // Bulk.
    let recipients = (0..n)
        .map(|i| Recipient::new(format!("+336{:08}", 10_000_000 + i)))
        .collect();
    let accept = Instant::now();
    send(recipients).await;
    let start = Instant::now();
    println!(
        "bulk: {n} messages planned and committed in {:.3} s",
        (start - accept).as_secs_f64()
    );
    let Progress {
        dispatched,
        delivered,
    } = watch_delivery(
        store.as_ref(),
        (singles + n) as u64,
        start,
        Duration::from_millis(10),
        Duration::from_secs(600),
    )
    .await
    .expect("every message delivered");
    println!(
        "bulk: submitted through the connector, results persisted, in {:.3} s ({:.0} messages/s)",
        dispatched.as_secs_f64(),
        n as f64 / dispatched.as_secs_f64()
    );
    println!(
        "bulk: every delivery report pushed to the intake and stored after {:.3} s ({:.0} messages/s end to end)",
        delivered.as_secs_f64(),
        n as f64 / delivered.as_secs_f64()
    );
    gateway.engine.shutdown().await;
}

/// Polls until `count` messages are delivered.
async fn wait_delivered(store: &dyn Store, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let totals = store.status_totals().await.expect("totals");
        if totals.get(&MessageStatus::Delivered).copied().unwrap_or(0) >= count {
            return;
        }
        assert!(Instant::now() < deadline, "not delivered: {totals:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The stub provider: answers `POST /send` at once and pushes a delivered
/// report per recipient to `dlr_url`, 64 at a time, from its own thread.
fn start_stub(dlr_url: String) -> String {
    let (address, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("stub runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            address
                .send(format!("http://{}", listener.local_addr().unwrap()))
                .unwrap();
            let pusher = Arc::new((reqwest::Client::new(), dlr_url, Semaphore::new(64)));
            let app = axum::Router::new()
                .route("/send", post(send))
                .with_state(pusher);
            axum::serve(listener, app).await.unwrap();
        });
    });
    ready.recv().expect("stub address")
}

type Pusher = Arc<(reqwest::Client, String, Semaphore)>;

async fn send(State(pusher): State<Pusher>, Json(body): Json<Value>) -> Json<Value> {
    let ids: Vec<String> = body["sms"]["recipients"]["gsm"]
        .as_array()
        .map(|gsm| {
            gsm.iter()
                .filter_map(|g| g["gsmsmsid"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let count = ids.len();
    for id in ids {
        let pusher = pusher.clone();
        tokio::spawn(async move {
            let (client, url, limit) = &*pusher;
            let _permit = limit.acquire().await.unwrap();
            let report = json!({"date": "2026-12-04T10:00:00+01:00", "status": 3,
                "destination": "33600000000", "message_id": id, "campaign_id": "1", "country_code": "FR"});
            loop {
                match client.post(url.as_str()).json(&report).send().await {
                    Ok(answer) if answer.status().is_success() => break,
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
    }
    Json(json!({"status": 1, "message": "OK", "ticket": "1", "sent": count}))
}
