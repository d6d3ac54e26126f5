//! What the connector contract tests share: a sink that records what a
//! connector reports, a local stub provider that records every request and
//! answers what the test scripts, and a server for a connector's intake
//! routes.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use relais_connectors::contract::Intake;
use relais_connectors::sink::EventSink;
use relais_core::encoding::Encoding;
use relais_core::number::Country;
use relais_core::plan::{ChannelOrder, MessageKind};
use relais_core::pricing::RouteClass;
use relais_store::{
    AccountId, CarrierReport, Inbound, Millis, NewInbound, OutboundMessage, StoreResult,
};

/// Records reports and replies; `awaiting` is what `awaiting_reports` answers.
#[derive(Default)]
pub struct Recorder {
    pub reports: Mutex<Vec<CarrierReport>>,
    pub inbound: Mutex<Vec<NewInbound>>,
    pub awaiting: Mutex<Vec<String>>,
}

#[async_trait]
impl EventSink for Recorder {
    async fn reports(&self, reports: &[CarrierReport]) -> u64 {
        self.reports.lock().unwrap().extend_from_slice(reports);
        reports.len() as u64
    }

    async fn inbound(&self, inbound: NewInbound, _: Option<AccountId>) -> Option<Inbound> {
        self.inbound.lock().unwrap().push(inbound);
        None
    }

    async fn awaiting_reports(&self, _: &str, _: Millis, limit: u32) -> StoreResult<Vec<String>> {
        let awaiting = self.awaiting.lock().unwrap();
        Ok(awaiting.iter().take(limit as usize).cloned().collect())
    }
}

impl Recorder {
    pub fn reports(&self) -> Vec<CarrierReport> {
        self.reports.lock().unwrap().clone()
    }

    pub fn inbound(&self) -> Vec<NewInbound> {
        self.inbound.lock().unwrap().clone()
    }
}

/// One request the stub received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Path and query, as sent.
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Request {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// The body as form fields.
    pub fn form(&self) -> HashMap<String, String> {
        url_pairs(std::str::from_utf8(&self.body).expect("a UTF-8 body"))
    }

    /// The query string's fields.
    pub fn query(&self) -> HashMap<String, String> {
        url_pairs(self.uri.query().unwrap_or(""))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn url_pairs(s: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str(s).expect("URL-encoded fields")
}

/// What the stub answers: status, content type and body.
pub type Reply = (u16, &'static str, String);

type Script = Box<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A local provider: records every request, answers through the script
/// (changeable while running), optionally after a delay.
pub struct Stub {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    script: Arc<Mutex<Script>>,
    delay: Arc<Mutex<Duration>>,
}

impl Stub {
    pub async fn start(script: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Stub {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Mutex<Script>> = Arc::new(Mutex::new(Box::new(script)));
        let delay = Arc::new(Mutex::new(Duration::ZERO));
        let state = (requests.clone(), script.clone(), delay.clone());
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (requests, script, delay) = state.clone();
                async move {
                    let request = Request {
                        method,
                        uri,
                        headers,
                        body,
                    };
                    requests.lock().unwrap().push(request.clone());
                    let pause = *delay.lock().unwrap();
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                    let (status, content_type, body) = (script.lock().unwrap())(&request);
                    (
                        StatusCode::from_u16(status).unwrap(),
                        [("content-type", content_type)],
                        body,
                    )
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Stub {
            addr,
            requests,
            script,
            delay,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn script(&self, script: impl Fn(&Request) -> Reply + Send + Sync + 'static) {
        *self.script.lock().unwrap() = Box::new(script);
    }

    pub fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }
}

/// A JSON answer for a stub script.
pub fn json(status: u16, body: serde_json::Value) -> Reply {
    (status, "application/json", body.to_string())
}

/// Serves a connector's intake routes on a local port, mounted under their
/// prefix as the binary mounts them; answers the base URL.
pub async fn serve_intake(intake: Intake) -> String {
    let app = intake.mount(axum::Router::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A message as the dispatcher hands it to a connector.
pub fn message(id: i64, number: &str, text: &str) -> OutboundMessage {
    // Enough for tests: ASCII texts are GSM-7 here, anything else UCS-2.
    let encoding = if text.is_ascii() {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    };
    OutboundMessage {
        id,
        account_id: 1,
        campaign_id: 1,
        sandbox: false,
        number: number.parse().unwrap(),
        country: Country::FR,
        sender: Some("Relais".into()),
        text: text.into(),
        encoding,
        segments: 1,
        kind: MessageKind::Transactional,
        route_class: RouteClass::Premium,
        channels: ChannelOrder::default(),
        expires_at: None,
        attempts: 0,
    }
}

/// Waits up to `secs` for `check`, panicking with `what` after that.
pub async fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
