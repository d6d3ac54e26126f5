//! The harness of the API tests: the real router over a real SQLite store in a
//! temporary directory, driven in-process, with one funded account and its key.

#![allow(dead_code)] // each test binary uses a part of it

pub mod fixtures;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use relais_api::{ApiConfig, AppState, router};
use relais_core::money::Amount;
use relais_engine::keys;
use relais_engine::send::{Pipeline, SendSettings};
use relais_store::sqlite::{SqliteOptions, SqliteStore};
use relais_store::{Account, AccountSettings, NewAccount, Store};
use serde_json::Value;
use tower::ServiceExt;

pub const ADMIN_TOKEN: &str = "admin-secret-token";

/// A French mobile number, the `n`th of a series.
pub fn mobile(n: u32) -> String {
    format!("+3361234{n:04}")
}

pub struct TestApp {
    pub router: Router,
    pub store: Arc<SqliteStore>,
    /// The funded account (10 EUR) and its API key.
    pub account: Account,
    pub key: String,
    /// The app's pipeline, whose account cache this node's writes go through.
    pub pipeline: Arc<Pipeline>,
    _dir: tempfile::TempDir,
}

/// The process-wide metrics recorder (a recorder can be installed only once).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("install the metrics recorder")
        })
        .clone()
}

/// The configuration the tests use unless they say otherwise.
pub fn test_config() -> ApiConfig {
    ApiConfig {
        admin_token: Some(ADMIN_TOKEN.into()),
        ..ApiConfig::default()
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_config(test_config()).await
    }

    pub async fn with_config(config: ApiConfig) -> TestApp {
        TestApp::build(config, Some(metrics_handle())).await
    }

    /// An app whose `/metrics` is switched off.
    pub async fn without_metrics() -> TestApp {
        TestApp::build(test_config(), None).await
    }

    async fn build(config: ApiConfig, metrics: Option<PrometheusHandle>) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("relais.db");
        let store = Arc::new(
            SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
                .await
                .expect("open the store"),
        );
        let (account, key) = create_account_in(store.as_ref(), "acme", Some("10")).await;
        let pipeline = Arc::new(Pipeline::new(store.clone(), SendSettings::default()));
        let state = AppState::new(pipeline.clone(), store.clone(), config, metrics);
        TestApp {
            router: router(Arc::new(state), Vec::new()),
            store,
            account,
            key,
            pipeline,
            _dir: dir,
        }
    }

    /// Disables (or enables) an account as this node's administration does:
    /// the next request sees it (a write straight into the store is seen
    /// within the account cache's second).
    pub async fn set_disabled(&self, id: i64, disabled: bool) {
        self.pipeline
            .accounts()
            .set_disabled(id, disabled)
            .await
            .expect("set_disabled");
    }

    /// Creates another account with a key (balance `None`: postpaid).
    pub async fn create_account(&self, name: &str, balance: Option<&str>) -> (Account, String) {
        create_account_in(self.store.as_ref(), name, balance).await
    }

    /// Sends a request; `body` is sent as is (JSON unless stated by `headers`).
    pub async fn raw(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Response {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Response {
            status,
            headers,
            bytes: bytes.to_vec(),
        }
    }

    /// A JSON request with the account's key.
    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Response {
        self.call_as(&self.key.clone(), method, uri, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Response {
        match body {
            Some(body) => {
                self.raw(
                    method,
                    uri,
                    Some(token),
                    &[("content-type", "application/json")],
                    body.to_string(),
                )
                .await
            }
            None => self.raw(method, uri, Some(token), &[], Body::empty()).await,
        }
    }

    pub async fn get(&self, uri: &str) -> Response {
        self.call(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> Response {
        self.call(Method::POST, uri, Some(body)).await
    }

    pub async fn admin(&self, method: Method, uri: &str, body: Option<Value>) -> Response {
        self.call_as(ADMIN_TOKEN, method, uri, body).await
    }

    /// The account's balance as stored now.
    pub async fn balance(&self) -> Option<Amount> {
        self.store
            .account(self.account.id)
            .await
            .unwrap()
            .unwrap()
            .balance
    }

    /// How many campaigns the account has.
    pub async fn campaign_count(&self) -> usize {
        let page = relais_store::Page {
            offset: 0,
            limit: 1000,
        };
        self.store
            .campaigns(self.account.id, &Default::default(), page)
            .await
            .unwrap()
            .len()
    }

    /// Asserts that nothing was stored or debited since the harness started.
    pub async fn assert_untouched(&self) {
        assert_eq!(self.campaign_count().await, 0, "no campaign may be stored");
        assert_eq!(
            self.balance().await,
            Some(amount("10")),
            "the balance must be unchanged"
        );
    }
}

/// Creates an account with a key, directly in the store.
async fn create_account_in(
    store: &dyn Store,
    name: &str,
    balance: Option<&str>,
) -> (Account, String) {
    let new = NewAccount {
        name: name.into(),
        email: None,
        balance: balance.map(amount),
        sandbox: true,
        settings: AccountSettings::default(),
    };
    let account = store.create_account(new, 0).await.expect("create account");
    let (token, _) = keys::create_key(store, account.id, Some("test"))
        .await
        .expect("create key");
    (account, token)
}

pub fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Asserts an error answer: its status and code; answers its `field`.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) -> Value {
        let body = self.json();
        assert_eq!(self.status, status, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        body["error"]["field"].clone()
    }
}

/// An XML answer as JSON, to assert on it like a JSON one: an element with
/// children is an object, a repeated child an array, text a string, an empty
/// element null. The root element is dropped.
pub fn xml_to_json(xml: &str) -> Value {
    use quick_xml::Reader;
    use quick_xml::events::Event;

    fn insert(map: &mut serde_json::Map<String, Value>, name: String, value: Value) {
        match map.get_mut(&name) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                map.insert(name, value);
            }
        }
    }

    // Each open element: its name, its children, its text.
    let mut stack: Vec<(String, serde_json::Map<String, Value>, String)> =
        vec![(String::new(), serde_json::Map::new(), String::new())];
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = e.name().as_ref().to_owned();
                stack.push((name, serde_json::Map::new(), String::new()));
            }
            Event::Empty(e) => {
                let name = e.name().as_ref().to_owned();
                insert(&mut stack.last_mut().unwrap().1, name, Value::Null);
            }
            Event::Text(t) => stack.last_mut().unwrap().2.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let text = match &*r {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "apos" => "'",
                    "quot" => "\"",
                    other => panic!("unexpected entity {other}"),
                };
                stack.last_mut().unwrap().2.push_str(text);
            }
            Event::End(_) => {
                let (name, children, text) = stack.pop().unwrap();
                let value = if !children.is_empty() {
                    Value::Object(children)
                } else {
                    Value::String(text)
                };
                insert(&mut stack.last_mut().unwrap().1, name, value);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let (_, top, _) = stack.pop().unwrap();
    assert_eq!(top.len(), 1, "one root element");
    let (_, root) = top.into_iter().next().unwrap();
    root
}

/// Europe/Paris wall-clock time `days` from now, as `Y-m-d H:i:s` (at 10:00).
pub fn paris_in_days(days: i64) -> String {
    let zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let date = jiff::Timestamp::now().to_zoned(zone).date() + jiff::Span::new().days(days);
    format!("{date} 10:00:00")
}
