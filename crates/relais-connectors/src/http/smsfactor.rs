//! SMSFactor (api.smsfactor.com) as a route.
//!
//! Messages sharing text, sender, encoding and kind go in one `POST /send`
//! (`{"sms":{"message":{…},"recipients":{"gsm":[{"gsmsmsid","value"}]}}}`,
//! `Authorization: Bearer <token>`), each recipient carrying relais' message
//! id as its `gsmsmsid`, which SMSFactor's delivery reports name as
//! `message_id`: that id is the carrier id. `pushtype` is `marketing` for
//! marketing messages (else `alert`), `unicode` 1 for UCS-2.
//!
//! Answers: `status` 1 accepted (SMSFactor only counts invalid numbers, so
//! every recipient is accepted and an invalid one is reported later);
//! negative statuses: −2 (XML), −6 (JSON) and −7 (data) refuse the request
//! for good; −1 (authentication), −3 (credits) and −99 (unknown) are
//! temporary, so another route carries the messages meanwhile.
//!
//! Intake: `POST /dlr` takes delivery reports
//! (`{"date","status","destination","message_id","campaign_id","country_code"}`:
//! 3 delivered, 2 not delivered, 12 expired, 0/4/5/6/7/9/11 refused or
//! failed, 1 sent only acknowledged); `POST /mo` takes replies and STOP
//! (`{"date","message","from","last_message_id"}`). With a `public_url`,
//! the connector registers both with SMSFactor's `/webhook` API at start
//! (DLR, MO and STOP), so nothing is pasted in a console.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use relais_core::encoding::Encoding;
use relais_core::plan::MessageKind;
use relais_store::{MessageStatus, OutboundMessage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::push::{self, Pushes, integer};
use super::{HttpOptions, HttpPeer};
use crate::contract::{Connector, ConnectorStatus, Intake, IntakePath, SubmitResult};
use crate::secret::Secret;
use crate::sink::EventSink;

pub const KIND: &str = "smsfactor";

const BASE_URL: &str = "https://api.smsfactor.com";

/// Recipients per request at most.
const MAX_RECIPIENTS: usize = 500;

/// `[[connectors]] kind = "smsfactor"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The API token (SMSFactor console, "API tokens").
    pub token: Secret,
    /// Registers the intake URLs with SMSFactor at start when `public_url`
    /// is set; off: an operator sets them in the console.
    #[serde(default = "yes")]
    pub register_webhooks: bool,
}

fn yes() -> bool {
    true
}

pub struct SmsFactor {
    peer: HttpPeer,
    config: Config,
    pushes: Pushes,
}

pub fn start(
    name: &str,
    options: &HttpOptions,
    config: Config,
    sink: Arc<dyn EventSink>,
) -> Result<Arc<dyn Connector>, String> {
    if config.token.is_empty() {
        return Err("token is required".into());
    }
    let peer = HttpPeer::new(name, options, BASE_URL, &config.token)?;
    let connector = Arc::new(SmsFactor {
        peer,
        config,
        pushes: Pushes::new(name, sink),
    });
    if connector.config.register_webhooks && connector.peer.address().url("/dlr").is_some() {
        tokio::spawn(register_webhooks(connector.clone()));
    }
    Ok(connector)
}

impl SmsFactor {
    fn request(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request
            .bearer_auth(self.config.token.expose())
            .header("accept", "application/json")
    }

    async fn submit_group(&self, group: Vec<&OutboundMessage>) -> Vec<SubmitResult> {
        let first = group[0];
        let mut message = json!({
            "text": first.text,
            "pushtype": if first.kind == MessageKind::Marketing { "marketing" } else { "alert" },
        });
        if let Some(sender) = &first.sender {
            message["sender"] = json!(sender);
        }
        if first.encoding == Encoding::Ucs2 {
            message["unicode"] = json!(1);
        }
        let gsm: Vec<Value> = group
            .iter()
            .map(|m| json!({"gsmsmsid": m.id.to_string(), "value": m.number.digits().to_string()}))
            .collect();
        let body = json!({"sms": {"message": message, "recipients": {"gsm": gsm}}});
        let request = self.request(self.peer.client().post(self.peer.url("/send")));
        let result = match self.peer.send(request.json(&body)).await {
            Err(error) => return temporary(&group, error),
            Ok(answer) if answer.is_temporary() => {
                return vec![answer.temporary(KIND); group.len()];
            }
            Ok(answer) => answer,
        };
        let parsed: Value = serde_json::from_str(&result.body).unwrap_or(Value::Null);
        let status = integer(&parsed["status"]);
        match status {
            Some(1) => group
                .iter()
                .map(|m| SubmitResult::Accepted {
                    carrier_ids: vec![m.id.to_string()],
                })
                .collect(),
            Some(code) => {
                let error = format!(
                    "smsfactor {code}: {} {}",
                    parsed["message"].as_str().unwrap_or(""),
                    parsed["details"]
                );
                tracing::warn!(connector = %self.peer.name(), code, error = %error, "SMSFactor refused a request");
                let result = match code {
                    -2 | -6 | -7 => SubmitResult::Permanent { error },
                    _ => SubmitResult::Temporary { error },
                };
                vec![result; group.len()]
            }
            None => temporary(
                &group,
                format!(
                    "smsfactor: HTTP {} without a status: {}",
                    result.status.as_u16(),
                    super::excerpt(&result.body)
                ),
            ),
        }
    }
}

fn temporary(group: &[&OutboundMessage], error: String) -> Vec<SubmitResult> {
    vec![SubmitResult::Temporary { error }; group.len()]
}

/// Sets the DLR, MO and STOP webhooks to this connector's intake URLs,
/// retrying every minute until SMSFactor takes them.
async fn register_webhooks(connector: Arc<SmsFactor>) {
    let address = connector.peer.address();
    let (Some(dlr), Some(mo)) = (address.url("/dlr"), address.url("/mo")) else {
        return;
    };
    let wanted = [("DLR", dlr), ("MO", mo.clone()), ("STOP", mo)];
    loop {
        match try_register(&connector, &wanted).await {
            Ok(()) => {
                tracing::info!(connector = %connector.peer.name(), "SMSFactor webhooks registered");
                return;
            }
            Err(error) => {
                tracing::warn!(connector = %connector.peer.name(), %error, "registering SMSFactor webhooks failed; retrying in 60 s");
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        }
    }
}

async fn try_register(connector: &SmsFactor, wanted: &[(&str, String)]) -> Result<(), String> {
    let peer = &connector.peer;
    let listed = peer
        .send(connector.request(peer.client().get(peer.url("/webhook"))))
        .await?;
    let listed: Value = serde_json::from_str(&listed.body).unwrap_or(Value::Null);
    let existing = listed["webhooks"].as_array().cloned().unwrap_or_default();
    for (kind, url) in wanted {
        let same_kind = existing.iter().find(|w| {
            w["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(kind))
        });
        if same_kind.is_some_and(|w| w["url"].as_str() == Some(url)) {
            continue;
        }
        let body = json!({"webhook": {"type": kind, "url": url}});
        let request = match same_kind.and_then(|w| integer(&w["webhook_id"]).or(integer(&w["id"])))
        {
            Some(id) => peer.client().put(peer.url(&format!("/webhook/{id}"))),
            None => peer.client().post(peer.url("/webhook")),
        };
        let answer = peer.send(connector.request(request).json(&body)).await?;
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        if integer(&parsed["status"]) != Some(1) {
            return Err(format!(
                "webhook {kind}: HTTP {}: {}",
                answer.status.as_u16(),
                super::excerpt(&answer.body)
            ));
        }
    }
    Ok(())
}

/// A delivery report's status, if final.
fn report_status(code: i64) -> Option<MessageStatus> {
    match code {
        3 => Some(MessageStatus::Delivered),
        2 => Some(MessageStatus::Undelivered),
        12 => Some(MessageStatus::Expired),
        0 | 4 | 5 | 6 | 7 | 9 | 11 => Some(MessageStatus::Rejected),
        _ => None,
    }
}

/// What SMSFactor calls each status, for the report's error.
fn status_name(code: i64) -> &'static str {
    match code {
        0 => "NOT_SENT",
        2 => "NOT_DELIVERED",
        4 => "NOT_ALLOWED",
        5 => "INVALID_DESTINATION",
        6 => "INVALID_SENDER",
        7 => "ROUTE_NOT_AVAILABLE",
        9 => "REJECTED",
        11 => "NETWORK_ERROR",
        12 => "EXPIRED",
        _ => "UNKNOWN",
    }
}

async fn dlr(State(pushes): State<Pushes>, Json(body): Json<Value>) -> Json<Value> {
    match (push::id(&body["message_id"]), integer(&body["status"])) {
        (Some(id), Some(code)) => match report_status(code) {
            Some(status) => {
                let error = (status != MessageStatus::Delivered)
                    .then(|| format!("smsfactor {code} {}", status_name(code)));
                let at = push::time(body["date"].as_str());
                pushes
                    .reports(&[pushes.report(id, status, error, at)])
                    .await;
            }
            None => {
                tracing::debug!(connector = %pushes.connector(), %id, code, "intermediate SMSFactor status")
            }
        },
        _ => {
            tracing::warn!(connector = %pushes.connector(), body = %body, "SMSFactor report without message_id or status; ignored")
        }
    }
    Json(json!({"status": 1, "message": "OK"}))
}

async fn mo(State(pushes): State<Pushes>, Json(body): Json<Value>) -> Json<Value> {
    let from = push::id(&body["from"]).unwrap_or_default();
    let text = body["message"].as_str().unwrap_or("");
    pushes
        .reply(&from, "", text, push::time(body["date"].as_str()), false)
        .await;
    Json(json!({"status": 1, "message": "OK"}))
}

#[async_trait]
impl Connector for SmsFactor {
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

    async fn submit(&self, messages: &[OutboundMessage]) -> Vec<SubmitResult> {
        self.peer
            .grouped(
                messages,
                MAX_RECIPIENTS,
                |m| (m.text.clone(), m.sender.clone(), m.encoding, m.kind),
                |group| self.submit_group(group),
            )
            .await
    }

    fn intake(&self) -> Option<Intake> {
        Some(Intake {
            address: self.peer.address().clone(),
            router: axum::Router::new()
                .route("/dlr", post(dlr))
                .route("/mo", post(mo))
                .with_state(self.pushes.clone()),
            paths: vec![
                IntakePath {
                    path: "/dlr",
                    receives: "delivery reports",
                },
                IntakePath {
                    path: "/mo",
                    receives: "replies and STOP",
                },
            ],
        })
    }
}
