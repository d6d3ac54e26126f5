//! SMS Partner (api.smspartner.fr) as a route.
//!
//! Messages sharing text, sender, encoding, kind, route class and sandbox go
//! in one `POST /v1/send` (JSON: `apiKey`, `phoneNumbers` comma-separated,
//! at most 500, `message` with line breaks written `:br:`, `sender`, `gamme`
//! 1 premium / 2 low cost, `isStopSms` 1 for marketing, `isUnicode` 1 for
//! UCS-2, `sandbox`, and with a `public_url` `urlResponse` and `urlDlr` =
//! this connector's `/push` intake). SMS Partner answers one `message_id`
//! per request, and names a message by that id and its number: the carrier
//! id is `{message_id}:{+number}`.
//!
//! Answers: `success: true` accepted. Codes: 9 (a constraint: a field or a
//! number refused) permanent, but a group of several is then sent again one
//! message per request, so that one bad number does not fail the others; 1,
//! 2, 13 (no price for the country), 14 (STOP list) and 30 (blocked)
//! permanent; 10 (API key), 11 (credit), 20 (deactivated account), 22 and
//! 23 (marketing at night, on a Sunday or holiday), 429 and 5xx temporary.
//!
//! Reports: SMS Partner does not document what it pushes to `urlDlr`, so the
//! connector polls. Every `poll_interval_ms` it reads from the store the
//! messages it sent at least one interval ago that still await a report, and
//! asks `POST /v1/multi-status` 500 at a time (`GET /v1/message-status` for
//! a lone message): `Delivered` → delivered, `Not delivered` → undelivered,
//! `ko` → rejected, `Waiting` (and an entry SMS Partner cannot find yet)
//! asked again next time. A round reads at most [`POLL_LIMIT`] messages,
//! oldest first; SMS Partner reports within 48 h, the report timeout is 72 h.
//!
//! Intake: `POST /push` takes replies and STOP
//! (`{"type":"response"|"stop","phone_number","text","message_id"}`), and a
//! delivery report in the shape relais' own SMS Partner door pushes
//! (`{"type":"dlr","message_id","phone_number","status","date"}`); other
//! bodies are logged and acknowledged. A report pushed and then polled is
//! applied once (the store ignores the second).

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use relais_core::encoding::Encoding;
use relais_core::plan::MessageKind;
use relais_core::pricing::RouteClass;
use relais_store::{CarrierReport, MessageStatus, OutboundMessage, clock};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::push::{self, Pushes, integer};
use super::{HttpOptions, HttpPeer};
use crate::contract::{Connector, ConnectorStatus, Intake, IntakePath, SubmitResult};
use crate::secret::Secret;
use crate::sink::EventSink;

pub const KIND: &str = "smspartner";

const BASE_URL: &str = "https://api.smspartner.fr";

/// Numbers per send, and entries per status request, at most.
const MAX_NUMBERS: usize = 500;

/// Messages one polling round asks about at most.
pub const POLL_LIMIT: u32 = 5000;

/// How long a message waits for its report: SMS Partner may take 48 h.
const REPORT_TIMEOUT: Duration = Duration::from_secs(72 * 3600);

/// `[[connectors]] kind = "smspartner"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The API key (SMS Partner console).
    pub api_key: Secret,
    /// How often awaited statuses are asked for.
    #[serde(default = "poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Sends with `sandbox=1`: SMS Partner checks and answers, sends nothing.
    #[serde(default)]
    pub sandbox: bool,
}

fn poll_interval_ms() -> u64 {
    60_000
}

pub struct SmsPartner {
    peer: HttpPeer,
    config: Config,
    pushes: Pushes,
    sink: Arc<dyn EventSink>,
    poller: Mutex<Option<JoinHandle<()>>>,
}

pub fn start(
    name: &str,
    options: &HttpOptions,
    config: Config,
    sink: Arc<dyn EventSink>,
) -> Result<Arc<dyn Connector>, String> {
    if config.api_key.is_empty() {
        return Err("api_key is required".into());
    }
    if config.poll_interval_ms == 0 {
        return Err("poll_interval_ms must be at least 1".into());
    }
    let peer = HttpPeer::new(name, options, BASE_URL, &config.api_key)?;
    let connector = Arc::new(SmsPartner {
        peer,
        config,
        pushes: Pushes::new(name, sink.clone()),
        sink,
        poller: Mutex::new(None),
    });
    let poller = tokio::spawn(poll(Arc::downgrade(&connector)));
    *connector.poller.lock().expect("poller") = Some(poller);
    Ok(connector)
}

/// The carrier id of the message sent to `number` by send `message_id`.
fn carrier_id(message_id: &str, number: &str) -> String {
    format!("{message_id}:{number}")
}

/// A status word, if final.
fn report_status(word: &str) -> Option<MessageStatus> {
    match word.trim().to_ascii_lowercase().as_str() {
        "delivered" => Some(MessageStatus::Delivered),
        "not delivered" => Some(MessageStatus::Undelivered),
        "ko" => Some(MessageStatus::Rejected),
        _ => None,
    }
}

impl SmsPartner {
    async fn submit_group(&self, group: Vec<&OutboundMessage>) -> Vec<SubmitResult> {
        let answer = self.send(&group).await;
        match answer {
            Err(SendError::Constraint(_)) if group.len() > 1 => {
                // One refused number refuses the whole request: find it.
                let alone = group.iter().map(|&m| async move {
                    match self.send(&[m]).await {
                        Ok(id) => accepted(&id, m),
                        Err(e) => e.result(),
                    }
                });
                futures_util::future::join_all(alone).await
            }
            Ok(id) => group.iter().map(|m| accepted(&id, m)).collect(),
            Err(e) => vec![e.result(); group.len()],
        }
    }

    /// One `/v1/send` for messages sharing everything but their number;
    /// answers SMS Partner's `message_id`.
    async fn send(&self, group: &[&OutboundMessage]) -> Result<String, SendError> {
        let first = group[0];
        let numbers: Vec<String> = group.iter().map(|m| m.number.to_string()).collect();
        let mut body = json!({
            "apiKey": self.config.api_key.expose(),
            "phoneNumbers": numbers.join(","),
            "message": first.text.replace("\r\n", "\n").replace('\n', ":br:"),
            "gamme": if first.route_class == RouteClass::LowCost { 2 } else { 1 },
            "isStopSms": i32::from(first.kind == MessageKind::Marketing),
            "isUnicode": i32::from(first.encoding == Encoding::Ucs2),
            "sandbox": i32::from(self.config.sandbox || first.sandbox),
        });
        if let Some(sender) = &first.sender {
            body["sender"] = json!(sender);
        }
        if let Some(url) = self.peer.address().url("/push") {
            body["urlResponse"] = json!(url);
            body["urlDlr"] = json!(url);
        }
        let request = self
            .peer
            .client()
            .post(self.peer.url("/v1/send"))
            .json(&body);
        let answer = self
            .peer
            .send(request)
            .await
            .map_err(SendError::Temporary)?;
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        if parsed["success"] == json!(true) {
            return match push::id(&parsed["message_id"]) {
                Some(id) => Ok(id),
                // A sandbox send is answered without an id: nothing will report.
                None if self.config.sandbox || first.sandbox => Ok(format!("sandbox-{}", first.id)),
                None => Err(SendError::Temporary(format!(
                    "smspartner: accepted without a message_id: {}",
                    super::excerpt(&answer.body)
                ))),
            };
        }
        if answer.is_temporary() {
            return Err(SendError::Temporary(format!(
                "smspartner: HTTP {}: {}",
                answer.status.as_u16(),
                super::excerpt(&answer.body)
            )));
        }
        let code = integer(&parsed["code"]).unwrap_or(0);
        let reason = match &parsed["error"] {
            Value::Array(errors) => errors
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["elementId"].as_str().unwrap_or("?"),
                        e["message"].as_str().unwrap_or("refused")
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            _ => parsed["message"]
                .as_str()
                .map_or_else(|| super::excerpt(&answer.body).to_string(), str::to_string),
        };
        let error = format!("smspartner {code}: {reason}");
        tracing::warn!(connector = %self.peer.name(), code, error = %error, "SMS Partner refused a send");
        Err(match code {
            9 => SendError::Constraint(error),
            10 | 11 | 20 | 22 | 23 => SendError::Temporary(error),
            _ => SendError::Permanent(error),
        })
    }

    /// One polling round: the statuses of what was sent at least one
    /// interval ago and awaits its report. Answers how many were asked.
    async fn poll_once(&self) -> usize {
        let interval = i64::try_from(self.config.poll_interval_ms).unwrap_or(i64::MAX);
        let timeout = i64::try_from(REPORT_TIMEOUT.as_millis()).unwrap_or(i64::MAX);
        let due_by = clock::now_ms()
            .saturating_add(timeout)
            .saturating_sub(interval);
        let awaited = match self
            .sink
            .awaiting_reports(self.peer.name(), due_by, POLL_LIMIT)
            .await
        {
            Ok(awaited) => awaited,
            Err(e) => {
                tracing::warn!(connector = %self.peer.name(), error = %e, "reading the messages awaiting a report failed");
                return 0;
            }
        };
        let entries: Vec<(String, String)> = awaited
            .iter()
            .filter_map(|id| {
                let (message_id, number) = id.split_once(':')?;
                (!message_id.starts_with("sandbox-"))
                    .then(|| (message_id.to_string(), number.to_string()))
            })
            .collect();
        let chunks = entries
            .chunks(MAX_NUMBERS)
            .map(|chunk| self.statuses(chunk));
        let reports: Vec<CarrierReport> = futures_util::future::join_all(chunks)
            .await
            .into_iter()
            .flatten()
            .collect();
        tracing::debug!(connector = %self.peer.name(), asked = entries.len(), reported = reports.len(), "statuses polled");
        self.pushes.reports(&reports).await;
        entries.len()
    }

    /// The final statuses of `(message_id, number)` entries, in one request.
    async fn statuses(&self, entries: &[(String, String)]) -> Vec<CarrierReport> {
        let key = self.config.api_key.expose();
        let request = match entries {
            [(message_id, number)] => {
                let query = form_urlencoded::Serializer::new(String::new())
                    .append_pair("apiKey", key)
                    .append_pair("messageId", message_id)
                    .append_pair("phoneNumber", number)
                    .finish();
                let url = self.peer.url(&format!("/v1/message-status?{query}"));
                self.peer.client().get(url)
            }
            _ => {
                let list: Vec<Value> = entries
                    .iter()
                    .map(|(message_id, number)| json!({"phoneNumber": number, "messageId": message_id}))
                    .collect();
                self.peer
                    .client()
                    .post(self.peer.url("/v1/multi-status"))
                    .json(&json!({"apiKey": key, "SMSStatut_List": list}))
            }
        };
        let answer = match self.peer.send(request).await {
            Ok(answer) if answer.status.is_success() => answer,
            Ok(answer) => {
                tracing::warn!(connector = %self.peer.name(), status = answer.status.as_u16(), body = super::excerpt(&answer.body), "SMS Partner status request refused");
                return Vec::new();
            }
            Err(_) => return Vec::new(), // logged by the peer; asked again next round
        };
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        let items: Vec<&Value> = match &parsed["StatutResponse_List"] {
            Value::Array(items) => items.iter().collect(),
            _ => vec![&parsed],
        };
        // One entry per item, in order.
        entries
            .iter()
            .zip(items)
            .filter_map(|((message_id, number), item)| {
                let word = item["statut"].as_str().or(item["status"].as_str());
                let status = report_status(word?)?;
                let error = (status != MessageStatus::Delivered)
                    .then(|| format!("smspartner {}", word.unwrap_or_default()));
                let at = push::time(push::id(&item["date"]).as_deref());
                Some(
                    self.pushes
                        .report(carrier_id(message_id, number), status, error, at),
                )
            })
            .collect()
    }
}

fn accepted(message_id: &str, message: &OutboundMessage) -> SubmitResult {
    SubmitResult::Accepted {
        carrier_ids: vec![carrier_id(message_id, &message.number.to_string())],
    }
}

/// Why a send was not accepted.
#[derive(Debug, Clone)]
enum SendError {
    /// Code 9: a field or a number refused.
    Constraint(String),
    Temporary(String),
    Permanent(String),
}

impl SendError {
    fn result(self) -> SubmitResult {
        match self {
            SendError::Constraint(error) | SendError::Permanent(error) => {
                SubmitResult::Permanent { error }
            }
            SendError::Temporary(error) => SubmitResult::Temporary { error },
        }
    }
}

/// Polls until the connector is gone or shut down (which aborts the task).
async fn poll(connector: Weak<SmsPartner>) {
    let Some(interval) = connector
        .upgrade()
        .map(|c| Duration::from_millis(c.config.poll_interval_ms))
    else {
        return;
    };
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(connector) = connector.upgrade() else {
            return;
        };
        let span = tracing::debug_span!("smspartner poll", connector = %connector.peer.name());
        tracing::Instrument::instrument(connector.poll_once(), span).await;
    }
}

async fn intake_push(State(pushes): State<Pushes>, Json(body): Json<Value>) -> Json<Value> {
    let kind = body["type"].as_str().unwrap_or("");
    let number = push::id(&body["phone_number"]).unwrap_or_default();
    match kind {
        "response" | "stop" => {
            let text = body["text"].as_str().unwrap_or("");
            pushes
                .reply(&number, "", text, push::time(None), kind == "stop")
                .await;
        }
        "dlr" => {
            let status = body["status"].as_str().and_then(report_status);
            let (Some(message_id), Some(status), Some(e164)) =
                (push::id(&body["message_id"]), status, push::number(&number))
            else {
                tracing::warn!(connector = %pushes.connector(), body = %body, "SMS Partner report without message_id, number or final status; ignored");
                return Json(json!({"success": true}));
            };
            let error = (status != MessageStatus::Delivered)
                .then(|| format!("smspartner {}", body["status"].as_str().unwrap_or("")));
            let at = push::time(push::id(&body["date"]).as_deref());
            let report = pushes.report(
                carrier_id(&message_id, &e164.to_string()),
                status,
                error,
                at,
            );
            pushes.reports(&[report]).await;
        }
        _ => {
            tracing::warn!(connector = %pushes.connector(), body = %body, "SMS Partner push of an unknown type; ignored")
        }
    }
    Json(json!({"success": true}))
}

#[async_trait]
impl Connector for SmsPartner {
    fn name(&self) -> &str {
        self.peer.name()
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn is_up(&self) -> bool {
        self.peer.is_up()
    }

    fn status(&self) -> ConnectorStatus {
        self.peer.status()
    }

    fn report_timeout(&self) -> Duration {
        REPORT_TIMEOUT
    }

    async fn submit(&self, messages: &[OutboundMessage]) -> Vec<SubmitResult> {
        self.peer
            .grouped(
                messages,
                MAX_NUMBERS,
                |m| {
                    (
                        m.text.clone(),
                        m.sender.clone(),
                        m.encoding,
                        m.kind,
                        m.route_class,
                        m.sandbox,
                    )
                },
                |group| self.submit_group(group),
            )
            .await
    }

    fn intake(&self) -> Option<Intake> {
        Some(Intake {
            address: self.peer.address().clone(),
            router: axum::Router::new()
                .route("/push", post(intake_push))
                .with_state(self.pushes.clone()),
            paths: vec![IntakePath {
                path: "/push",
                receives: "replies, STOP and delivery reports",
            }],
        })
    }

    async fn shutdown(&self) {
        if let Some(poller) = self.poller.lock().expect("poller").take() {
            poller.abort();
        }
    }
}
