//! The ESME connector in the real pipeline: a campaign committed to SQLite,
//! dispatched through the connector to the SMSC simulator, its receipts
//! applied through the engine's `EventSink`, a reply stored.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use relais_connectors::contract::Connector;
use relais_connectors::sink::StoreSink;
use relais_core::plan::{Channel, Recipient, SendRequest};
use relais_engine::dispatcher::{Dispatcher, DispatcherConfig};
use relais_engine::routing::{RouteConfig, Router};
use relais_engine::send::{Pipeline, SendOptions, SendOutcome, SendSettings};
use relais_smpp::esme::{Esme, EsmeConfig};
use relais_smpp::smsc::{IdFormat, Mo, MoConcat, Smsc, SmscConfig};
use relais_store::sqlite::SqliteStore;
use relais_store::{MessageStatus, NewAccount, Page, Store};
use tokio::sync::{Notify, watch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_through_the_connector_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relais.db");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(path.to_str().unwrap(), Default::default())
            .await
            .unwrap(),
    );
    let account = store
        .create_account(NewAccount::new("acme", None), 0)
        .await
        .unwrap();

    // Ids answered in hex, receipts written in zero-padded decimal.
    let smsc = Smsc::start(SmscConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        id_format: IdFormat::Hex,
        receipt_id_format: Some(IdFormat::Decimal),
        receipt_id_width: Some(12),
        receipt_delay_ms: (10, 50),
        ..SmscConfig::default()
    })
    .await
    .unwrap();
    let sink = Arc::new(StoreSink::new(store.clone(), vec!["STOP".into()]));
    let esme = Esme::start(
        EsmeConfig {
            name: "carrier".into(),
            port: smsc.local_addr().port(),
            system_id: "relais".into(),
            password: "secret".into(),
            reconnect_min_ms: 20,
            ..EsmeConfig::default()
        },
        sink,
    )
    .unwrap();
    common::eventually(5, "bound", || esme.is_up()).await;

    let connector: Arc<dyn Connector> = esme.clone();
    let connectors = HashMap::from([("carrier".to_owned(), connector)]);
    let route = RouteConfig {
        name: "all".into(),
        channel: Channel::Network,
        countries: vec![],
        prefixes: vec![],
        kinds: vec![],
        classes: vec![],
        connectors: vec!["carrier".into()],
    };
    let router = Arc::new(Router::new(vec![route], &connectors, "carrier").unwrap());
    let dispatcher = Arc::new(Dispatcher::new(
        store.clone(),
        router,
        HashMap::new(),
        DispatcherConfig {
            poll_interval_ms: 20,
            ..DispatcherConfig::default()
        },
    ));
    let wake = Arc::new(Notify::new());
    let (stop, stop_rx) = watch::channel(false);
    let running = tokio::spawn(dispatcher.run(wake.clone(), stop_rx));
    let pipeline = Pipeline::new(store.clone(), SendSettings::default()).with_wake(wake);

    let numbers: Vec<String> = (0..20).map(|i| format!("+336123456{i:02}")).collect();
    let request = SendRequest {
        text: Some("Votre code est 4242 😀".into()),
        recipients: numbers.iter().map(Recipient::new).collect(),
        sender: Some("Acme".into()),
        ..SendRequest::default()
    };
    let SendOutcome::Planned {
        campaign_id: Some(campaign),
        ..
    } = pipeline
        .send(&account, &request, SendOptions::default())
        .await
        .unwrap()
    else {
        panic!("not committed");
    };

    let mut delivered = 0;
    for _ in 0..500 {
        let counts = store
            .campaign_status_counts(account.id, campaign)
            .await
            .unwrap();
        delivered = counts.get(&MessageStatus::Delivered).copied().unwrap_or(0);
        if delivered == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(delivered, 20, "every message delivered through SMPP");
    let messages = store
        .campaign_messages(account.id, campaign, None, Page::default())
        .await
        .unwrap();
    assert!(messages.iter().all(|m| {
        m.connector.as_deref() == Some("carrier")
            && m.carrier_id
                .as_deref()
                .is_some_and(|id| u64::from_str_radix(id, 16).is_ok())
    }));

    // A reply to one of them is stored for the account.
    smsc.inject_mo(
        "relais",
        &Mo {
            from: numbers[3].trim_start_matches('+').into(),
            to: "Acme".into(),
            text: "STOP".into(),
            concat: MoConcat::Udh,
        },
    )
    .unwrap();
    let mut replies = Vec::new();
    for _ in 0..250 {
        replies = store.inbound(account.id, Page::default()).await.unwrap();
        if !replies.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].from.to_string(), numbers[3]);
    assert!(replies[0].is_stop);

    let _ = stop.send(true);
    running.await.unwrap();
    esme.shutdown().await;
}
