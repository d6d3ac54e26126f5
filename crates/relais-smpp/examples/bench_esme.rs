//! A campaign through the ESME connector, receipts stored: messages per
//! second from the committed campaign until every delivery receipt is in
//! the store.
//!
//! `cargo run --release -p relais-smpp --example bench_esme [-- [--tls] [MESSAGES [WINDOW]]]`
//!
//! The real path end to end: the campaign (100,000 messages by default) is
//! planned and committed by the pipeline into SQLite (a file in a temporary
//! directory); the dispatcher claims it and submits through one transceiver
//! bind (window 256 by default) to the SMSC simulator over loopback, which
//! sends a receipt for each message; the connector matches them and stores
//! them through the engine's `EventSink` before acknowledging them. With
//! `--tls`, the bind is TLS (a self-signed certificate generated at start).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use relais_connectors::contract::Connector;
use relais_connectors::sink::StoreSink;
use relais_core::plan::{Channel, Recipient, SendRequest};
use relais_engine::dispatcher::{Dispatcher, DispatcherConfig};
use relais_engine::progress::{Progress, watch_delivery};
use relais_engine::routing::{RouteConfig, Router};
use relais_engine::send::{Pipeline, SendOptions, SendOutcome, SendSettings};
use relais_smpp::esme::{Esme, EsmeConfig, EsmeTls};
use relais_smpp::smsc::{Smsc, SmscConfig, SmscTls};
use relais_store::sqlite::SqliteStore;
use relais_store::{NewAccount, Store};
use tokio::sync::{Notify, watch};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let tls = args.next_if_eq("--tls").is_some();
    let n: usize = args
        .next()
        .map_or(100_000, |a| a.parse().expect("MESSAGES"));
    let window: usize = args.next().map_or(256, |a| a.parse().expect("WINDOW"));

    let dir = tempfile::tempdir().expect("temporary directory");
    let (smsc_tls, esme_tls) = if tls {
        self_signed(dir.path())
    } else {
        (None, EsmeTls::default())
    };
    let path = dir.path().join("bench.db");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(path.to_str().expect("utf-8 path"), Default::default())
            .await
            .expect("store"),
    );
    let account = store
        .create_account(
            NewAccount::new("bench", None),
            relais_store::clock::now_ms(),
        )
        .await
        .expect("account");

    let smsc = Smsc::start(SmscConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        receipt_delay_ms: (5, 50),
        tls: smsc_tls,
        ..SmscConfig::default()
    })
    .await
    .expect("simulator");
    let sink = Arc::new(StoreSink::new(store.clone(), Vec::new()));
    let esme = Esme::start(
        EsmeConfig {
            name: "carrier".into(),
            port: smsc.local_addr().port(),
            tls: esme_tls,
            system_id: "bench".into(),
            password: "bench".into(),
            window,
            ..EsmeConfig::default()
        },
        sink,
    )
    .expect("connector");
    while !esme.is_up() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let connector: Arc<dyn Connector> = esme.clone();
    let connectors = HashMap::from([("carrier".to_owned(), connector)]);
    let route = RouteConfig {
        name: "all".into(),
        channel: Channel::Network,
        countries: Vec::new(),
        prefixes: Vec::new(),
        kinds: Vec::new(),
        classes: Vec::new(),
        connectors: vec!["carrier".into()],
    };
    let router = Arc::new(Router::new(vec![route], &connectors, "carrier").expect("router"));
    let dispatcher = Arc::new(Dispatcher::new(
        store.clone(),
        router,
        HashMap::new(),
        DispatcherConfig::default(),
    ));
    let wake = Arc::new(Notify::new());
    let (stop, stop_rx) = watch::channel(false);
    let running = tokio::spawn(dispatcher.run(wake.clone(), stop_rx));
    let pipeline = Pipeline::new(store.clone(), SendSettings::default()).with_wake(wake);

    let request = SendRequest {
        text: Some("Votre code de confirmation est 123456.".into()),
        recipients: (0..n)
            .map(|i| Recipient::new(format!("+336{:08}", 10_000_000 + i)))
            .collect(),
        sender: Some("Bench".into()),
        ..SendRequest::default()
    };
    let accept_start = Instant::now();
    let outcome = pipeline
        .send(&account, &request, SendOptions::default())
        .await
        .expect("send");
    assert!(
        matches!(
            outcome,
            SendOutcome::Planned {
                campaign_id: Some(_),
                ..
            }
        ),
        "not committed"
    );
    let start = Instant::now();
    println!(
        "campaign: {n} messages planned and committed in {:.3} s",
        (start - accept_start).as_secs_f64()
    );

    let Progress {
        dispatched: submitted,
        delivered,
    } = watch_delivery(
        store.as_ref(),
        n as u64,
        start,
        Duration::from_millis(10),
        Duration::from_secs(600),
    )
    .await
    .expect("every message delivered");
    println!(
        "submitted: {n} submit_sm accepted by the SMSC, results persisted, in {:.3} s ({:.0} messages/s)",
        submitted.as_secs_f64(),
        n as f64 / submitted.as_secs_f64()
    );
    println!(
        "receipts: {n} delivery receipts matched, stored and acknowledged after {:.3} s \
         ({:.0} messages/s end to end; one {}bind, window {window})",
        delivered.as_secs_f64(),
        n as f64 / delivered.as_secs_f64(),
        if tls { "TLS " } else { "" }
    );

    let _ = stop.send(true);
    running.await.expect("dispatcher");
    esme.shutdown().await;
    smsc.shutdown().await;
}

/// The simulator's TLS listener with a self-signed certificate for
/// 127.0.0.1, written in `dir`, and the connector trusting it.
fn self_signed(dir: &Path) -> (Option<SmscTls>, EsmeTls) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
    let (cert_file, key_file) = (dir.join("smsc.pem"), dir.join("smsc.key"));
    std::fs::write(&cert_file, certified.cert.pem()).expect("write the certificate");
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).expect("write the key");
    let connector = EsmeTls {
        enabled: true,
        ca_file: Some(cert_file.clone()),
        ..EsmeTls::default()
    };
    (
        Some(SmscTls {
            cert_file,
            key_file,
        }),
        connector,
    )
}
