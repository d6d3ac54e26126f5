//! The dispatcher over a real SQLite store: routes chosen by country, failover
//! on temporary errors and down connectors, permanent refusals, no route, and
//! retries until the attempts run out (then refunded).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use relais_connectors::contract::{Connector, DEFAULT_REPORT_TIMEOUT, SubmitResult};
use relais_core::money::Amount;
use relais_core::plan::{Channel, Recipient, SendRequest};
use relais_engine::dispatcher::{Dispatcher, DispatcherConfig};
use relais_engine::routing::{RouteConfig, Router};
use relais_engine::send::{Pipeline, SendOptions, SendOutcome, SendSettings};
use relais_store::sqlite::{SqliteOptions, SqliteStore};
use relais_store::{AccountSettings, MessageStatus, NewAccount, OutboundMessage, Page, Store};

/// A connector that answers the same thing for every message and counts calls.
struct Fake {
    name: &'static str,
    up: bool,
    answer: fn(&OutboundMessage) -> SubmitResult,
    seen: Mutex<Vec<String>>,
    calls: AtomicU32,
    /// How long its messages wait for a report (it never sends one).
    report_timeout: Duration,
}

impl Fake {
    fn new(
        name: &'static str,
        up: bool,
        answer: fn(&OutboundMessage) -> SubmitResult,
    ) -> Arc<Fake> {
        Arc::new(Fake {
            name,
            up,
            answer,
            seen: Mutex::new(Vec::new()),
            calls: AtomicU32::new(0),
            report_timeout: DEFAULT_REPORT_TIMEOUT,
        })
    }

    fn reporting_within(mut self: Arc<Self>, timeout: Duration) -> Arc<Fake> {
        Arc::get_mut(&mut self)
            .expect("not shared yet")
            .report_timeout = timeout;
        self
    }
}

#[async_trait]
impl Connector for Fake {
    fn name(&self) -> &str {
        self.name
    }
    fn kind(&self) -> &'static str {
        "test"
    }
    fn is_up(&self) -> bool {
        self.up
    }
    fn report_timeout(&self) -> Duration {
        self.report_timeout
    }
    async fn submit(&self, messages: &[OutboundMessage]) -> Vec<SubmitResult> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.seen
            .lock()
            .unwrap()
            .extend(messages.iter().map(|m| m.number.to_string()));
        messages.iter().map(self.answer).collect()
    }
}

fn accept(m: &OutboundMessage) -> SubmitResult {
    SubmitResult::Accepted {
        carrier_ids: vec![format!("id-{}", m.id)],
    }
}
fn temporary(_: &OutboundMessage) -> SubmitResult {
    SubmitResult::Temporary {
        error: "busy".into(),
    }
}
fn permanent(_: &OutboundMessage) -> SubmitResult {
    SubmitResult::Permanent {
        error: "banned".into(),
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    account: relais_store::Account,
    pipeline: Pipeline,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relais.db");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
            .await
            .unwrap(),
    );
    let account = store
        .create_account(
            NewAccount::new("acme", Some(Amount::from_units(10))),
            relais_store::clock::now_ms(),
        )
        .await
        .unwrap();
    let pipeline = Pipeline::new(store.clone(), SendSettings::default());
    Setup {
        _dir: dir,
        store,
        account,
        pipeline,
    }
}

fn route(name: &str, countries: &[&str], connectors: &[&str]) -> RouteConfig {
    RouteConfig {
        name: name.into(),
        channel: Channel::Network,
        countries: countries.iter().map(|c| c.parse().unwrap()).collect(),
        prefixes: Vec::new(),
        kinds: Vec::new(),
        classes: Vec::new(),
        connectors: connectors.iter().map(|c| c.to_string()).collect(),
    }
}

async fn send(setup: &Setup, numbers: &[&str]) -> i64 {
    let request = SendRequest {
        text: Some("Hello".into()),
        recipients: numbers.iter().map(|n| Recipient::new(*n)).collect(),
        ..SendRequest::default()
    };
    match setup
        .pipeline
        .send(&setup.account, &request, SendOptions::default())
        .await
        .unwrap()
    {
        SendOutcome::Planned {
            campaign_id: Some(id),
            ..
        } => id,
        other => panic!("not committed: {other:?}"),
    }
}

/// Status, connector and error of each message of a campaign, by number.
async fn statuses(
    setup: &Setup,
    campaign: i64,
) -> HashMap<String, (MessageStatus, Option<String>, Option<String>)> {
    let messages = setup
        .store
        .campaign_messages(
            setup.account.id,
            campaign,
            None,
            Page {
                offset: 0,
                limit: 100,
            },
        )
        .await
        .unwrap();
    messages
        .into_iter()
        .map(|m| (m.number.to_string(), (m.status, m.connector, m.error)))
        .collect()
}

async fn balance(setup: &Setup) -> Amount {
    setup
        .store
        .account(setup.account.id)
        .await
        .unwrap()
        .unwrap()
        .balance
        .unwrap()
}

#[tokio::test]
async fn routes_fail_over_refuse_and_refund() {
    let setup = setup().await;
    let down = Fake::new("down", false, accept);
    let busy = Fake::new("busy", true, temporary);
    let good = Fake::new("good", true, accept);
    let strict = Fake::new("strict", true, permanent);
    let connectors: HashMap<String, Arc<dyn Connector>> = [
        ("down", down.clone() as Arc<dyn Connector>),
        ("busy", busy.clone()),
        ("good", good.clone()),
        ("strict", strict.clone()),
    ]
    .into_iter()
    .map(|(n, c)| (n.to_string(), c))
    .collect();
    let routes = vec![
        route("fr", &["FR"], &["down", "busy", "good"]),
        route("de", &["DE"], &["strict"]),
    ];
    let router = Arc::new(Router::new(routes, &connectors, "good").unwrap());
    let dispatcher = Dispatcher::new(
        setup.store.clone(),
        router,
        HashMap::new(),
        DispatcherConfig::default(),
    );

    // FR fails over to "good"; DE is refused for good; GB has no route.
    let campaign = send(&setup, &["0612345678", "+4915112345678", "+447400123456"]).await;
    let cost = Amount::from_micros(45_000 + 80_000 + 45_000);
    assert_eq!(balance(&setup).await, Amount::from_units(10) - cost);
    assert_eq!(dispatcher.dispatch_once().await.unwrap(), 3);

    let s = statuses(&setup, campaign).await;
    assert_eq!(s["+33612345678"].0, MessageStatus::Submitted);
    assert_eq!(s["+33612345678"].1.as_deref(), Some("good"));
    assert_eq!(s["+4915112345678"].0, MessageStatus::Rejected);
    assert_eq!(s["+4915112345678"].2.as_deref(), Some("banned"));
    assert_eq!(s["+447400123456"].0, MessageStatus::Failed);
    // The down connector was never asked; the busy one was, before failing over.
    assert!(down.seen.lock().unwrap().is_empty());
    assert_eq!(busy.seen.lock().unwrap().as_slice(), ["+33612345678"]);
    assert_eq!(good.seen.lock().unwrap().as_slice(), ["+33612345678"]);
    // Only the message that never left is refunded; a refusal by the carrier is not.
    assert_eq!(
        balance(&setup).await,
        Amount::from_units(10) - cost + Amount::from_micros(45_000)
    );
}

#[tokio::test]
async fn temporary_failures_retry_later_then_fail_and_refund() {
    let setup = setup().await;
    let busy = Fake::new("busy", true, temporary);
    let connectors: HashMap<String, Arc<dyn Connector>> =
        [("busy".to_string(), busy.clone() as Arc<dyn Connector>)].into();
    let router =
        Arc::new(Router::new(vec![route("all", &[], &["busy"])], &connectors, "busy").unwrap());
    let config = DispatcherConfig {
        max_attempts: 3,
        retry_base_ms: 0,
        ..DispatcherConfig::default()
    };
    let dispatcher = Dispatcher::new(setup.store.clone(), router, HashMap::new(), config);

    let campaign = send(&setup, &["0612345678"]).await;
    for attempt in 1..=3 {
        assert_eq!(
            dispatcher.dispatch_once().await.unwrap(),
            1,
            "attempt {attempt}"
        );
        let expected = if attempt < 3 {
            MessageStatus::Queued
        } else {
            MessageStatus::Failed
        };
        assert_eq!(
            statuses(&setup, campaign).await["+33612345678"].0,
            expected,
            "after attempt {attempt}"
        );
    }
    assert_eq!(dispatcher.dispatch_once().await.unwrap(), 0);
    assert_eq!(busy.calls.load(Ordering::Relaxed), 3);
    assert_eq!(balance(&setup).await, Amount::from_units(10));
}

#[tokio::test]
async fn sandbox_accounts_only_use_the_sandbox_connector() {
    let mut setup = setup().await;
    let real = Fake::new("real", true, accept);
    let sim = Fake::new("sim", true, accept);
    let connectors: HashMap<String, Arc<dyn Connector>> = [
        ("real".to_string(), real.clone() as Arc<dyn Connector>),
        ("sim".to_string(), sim.clone()),
    ]
    .into();
    let router =
        Arc::new(Router::new(vec![route("all", &[], &["real"])], &connectors, "sim").unwrap());
    let dispatcher = Dispatcher::new(
        setup.store.clone(),
        router,
        HashMap::new(),
        DispatcherConfig::default(),
    );
    // The router reads the account's sandbox flag from each claimed message.
    let sandbox = setup
        .store
        .create_account(
            NewAccount {
                name: "sandbox".into(),
                email: None,
                balance: None,
                sandbox: true,
                settings: AccountSettings::default(),
            },
            relais_store::clock::now_ms(),
        )
        .await
        .unwrap();
    setup.account = sandbox;
    send(&setup, &["0612345678"]).await;
    dispatcher.dispatch_once().await.unwrap();
    assert!(real.seen.lock().unwrap().is_empty());
    assert_eq!(sim.seen.lock().unwrap().as_slice(), ["+33612345678"]);
}

/// A carrier that loses its receipts leaves no message waiting forever: past
/// its connector's report timeout the message expires ("no delivery report"),
/// its cost kept; a connector with the default 72 h is not touched.
#[tokio::test]
async fn a_message_whose_report_never_comes_expires_at_its_connectors_deadline() {
    let setup = setup().await;
    let silent = Fake::new("silent", true, accept).reporting_within(Duration::from_millis(300));
    let patient = Fake::new("patient", true, accept);
    let connectors: HashMap<String, Arc<dyn Connector>> = [
        ("silent".to_string(), silent as Arc<dyn Connector>),
        ("patient".to_string(), patient as Arc<dyn Connector>),
    ]
    .into();
    let routes = vec![
        route("fr", &["FR"], &["silent"]),
        route("de", &["DE"], &["patient"]),
    ];
    let router = Arc::new(Router::new(routes, &connectors, "patient").unwrap());
    let dispatcher = Dispatcher::new(
        setup.store.clone(),
        router,
        HashMap::new(),
        DispatcherConfig::default(),
    );
    let campaign = send(&setup, &["0612345678", "+4915112345678"]).await;
    assert_eq!(dispatcher.dispatch_once().await.unwrap(), 2);
    let after_debit = balance(&setup).await;
    let now = relais_store::clock::now_ms();
    assert_eq!(setup.store.expire_due(now).await.unwrap(), 0, "not yet due");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let now = relais_store::clock::now_ms();
    assert_eq!(setup.store.expire_due(now).await.unwrap(), 1);
    let s = statuses(&setup, campaign).await;
    assert_eq!(s["+33612345678"].0, MessageStatus::Expired);
    assert_eq!(s["+33612345678"].2.as_deref(), Some("no delivery report"));
    assert_eq!(s["+4915112345678"].0, MessageStatus::Submitted);
    assert_eq!(
        balance(&setup).await,
        after_debit,
        "a carrier took it: no refund"
    );
}
