//! Octopush (current API, api.octopush.com/v1/public) as a route.
//!
//! Messages sharing text, sender, kind and route class go in one `POST
//! /v1/public/sms-campaign/send` (headers `api-login`, `api-key`):
//! `recipients: [{phone_number}]` (E.164), `type` `sms_premium` or
//! `sms_low_cost` from the route class, `purpose` `wholesale` for marketing
//! (else `alert`), `sender`, and a `request_id` made of the messages' ids (a digest for several),
//! which Octopush refuses to take twice within 24 h: a retry of a request
//! whose answer was lost (timeout) cannot send twice. Octopush answers one
//! `sms_ticket` per request, and names it with the number in its reports, so
//! a message's carrier id is `<ticket>:<number>`.
//!
//! Answers: 2xx with `sms_ticket` accepted. Error `code`s: login (101, 108,
//! 109), credit (104, 105), disabled account (113), anti-flood (128) and a
//! congested route (153) are temporary, so another route carries the
//! messages meanwhile; 120 (that `request_id` was taken already) means an
//! earlier attempt went through: accepted, but its ticket is unknown, so
//! those messages expire without a report rather than being sent twice;
//! every other code is a refusal of the request, permanent (bad sender,
//! text, numbers, missing STOP mention, country…), unless its HTTP status is
//! 5xx or 429.
//!
//! Intake: Octopush posts every callback to the one URL set in its console
//! (it has no API for it: `GET /admin/connectors` shows the URL to paste),
//! told apart by field: `delivery_date` (report), `answer_date` or
//! `reception_date` (reply), `stop_date` (STOP). Reports name the ticket in
//! `message_id` (relais' own Octopush door names it `sms_ticket`: both are
//! read). It is answered at once with an empty body.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use relais_core::plan::MessageKind;
use relais_core::pricing::RouteClass;
use relais_store::{MessageStatus, OutboundMessage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::push::{self, Pushes};
use super::{HttpOptions, HttpPeer};
use crate::contract::{Connector, ConnectorStatus, Intake, IntakePath, SubmitResult};
use crate::secret::Secret;
use crate::sink::EventSink;

pub const KIND: &str = "octopush";

const BASE_URL: &str = "https://api.octopush.com";

/// Recipients per request at most (Octopush's limit).
const MAX_RECIPIENTS: usize = 500;

/// `[[connectors]] kind = "octopush"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The account's e-mail (`api-login`).
    pub login: String,
    /// The API key (`api-key`).
    pub api_key: Secret,
}

pub struct Octopush {
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
    if config.login.is_empty() || config.api_key.is_empty() {
        return Err("login and api_key are required".into());
    }
    let peer = HttpPeer::new(name, options, BASE_URL, &config.api_key)?;
    Ok(Arc::new(Octopush {
        peer,
        config,
        pushes: Pushes::new(name, sink),
    }))
}

/// A message's carrier id: the request's ticket and its number.
fn carrier_id(ticket: &str, number: &str) -> String {
    format!("{ticket}:{number}")
}

impl Octopush {
    async fn submit_group(&self, group: Vec<&OutboundMessage>) -> Vec<SubmitResult> {
        let first = group[0];
        let recipients: Vec<Value> = group
            .iter()
            .map(|m| json!({"phone_number": m.number.to_string()}))
            .collect();
        let ids: Vec<String> = group.iter().map(|m| m.id.to_string()).collect();
        let mut body = json!({
            "recipients": recipients,
            "text": first.text,
            "type": match first.route_class {
                RouteClass::LowCost => "sms_low_cost",
                _ => "sms_premium",
            },
            "purpose": if first.kind == MessageKind::Marketing { "wholesale" } else { "alert" },
            "request_id": request_id(&ids),
        });
        if let Some(sender) = &first.sender {
            body["sender"] = json!(sender);
        }
        let request = self
            .peer
            .client()
            .post(self.peer.url("/v1/public/sms-campaign/send"))
            .header("api-login", &self.config.login)
            .header("api-key", self.config.api_key.expose())
            .json(&body);
        let answer = match self.peer.send(request).await {
            Err(error) => return vec![SubmitResult::Temporary { error }; group.len()],
            Ok(answer) => answer,
        };
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        if answer.status.is_success()
            && let Some(ticket) = parsed["sms_ticket"].as_str()
        {
            return group
                .iter()
                .map(|m| SubmitResult::Accepted {
                    carrier_ids: vec![carrier_id(ticket, &m.number.to_string())],
                })
                .collect();
        }
        let code = push::integer(&parsed["code"]);
        let error = format!(
            "octopush {}: HTTP {}: {}",
            code.map_or_else(|| "-".to_string(), |c| c.to_string()),
            answer.status.as_u16(),
            parsed["message"]
                .as_str()
                .unwrap_or_else(|| super::excerpt(&answer.body))
        );
        if code == Some(120) {
            tracing::warn!(connector = %self.peer.name(), request_id = %request_id(&ids),
                "Octopush had taken this request already; its messages will expire without a report");
            return group
                .iter()
                .map(|m| SubmitResult::Accepted {
                    carrier_ids: vec![carrier_id(&request_id(&ids), &m.number.to_string())],
                })
                .collect();
        }
        tracing::warn!(connector = %self.peer.name(), error = %error, "Octopush refused a request");
        let temporary = answer.is_temporary()
            || matches!(code, Some(101 | 104 | 105 | 108 | 109 | 113 | 128 | 153));
        let result = if temporary {
            SubmitResult::Temporary { error }
        } else {
            SubmitResult::Permanent { error }
        };
        vec![result; group.len()]
    }
}

/// The `request_id` of a group: its one message's id, or a digest of all
/// its messages' ids (the same group retried has the same one).
fn request_id(ids: &[String]) -> String {
    match ids {
        [one] => format!("relais-{one}"),
        many => {
            let digest = Sha256::digest(many.join(",").as_bytes());
            format!("relais-{}", &hex::encode(digest)[..32])
        }
    }
}

/// A report's status, if final.
fn report_status(status: &str) -> Option<MessageStatus> {
    match status {
        "DELIVERED" => Some(MessageStatus::Delivered),
        "NOT_DELIVERED" | "UNDEFINED" => Some(MessageStatus::Undelivered),
        "UNKNOWN_DELIVERY" => Some(MessageStatus::Expired),
        "NOT_ALLOWED" | "BAD_DESTINATION" | "BLACKLISTED_NUMBER" => Some(MessageStatus::Rejected),
        _ => None,
    }
}

async fn callback(State(pushes): State<Pushes>, Json(body): Json<Value>) -> StatusCode {
    let number = body["number"].as_str().unwrap_or("");
    if let Some(date) = body["delivery_date"].as_str() {
        let ticket = push::id(&body["sms_ticket"]).or_else(|| push::id(&body["message_id"]));
        let status = body["status"].as_str().unwrap_or("");
        match (ticket, push::number(number), report_status(status)) {
            (Some(ticket), Some(number), Some(final_status)) => {
                let error = (final_status != MessageStatus::Delivered)
                    .then(|| format!("octopush {status}"));
                let report = pushes.report(
                    carrier_id(&ticket, &number.to_string()),
                    final_status,
                    error,
                    push::time(Some(date)),
                );
                pushes.reports(&[report]).await;
            }
            (Some(_), Some(_), None) => {
                tracing::debug!(connector = %pushes.connector(), status, "intermediate Octopush status")
            }
            _ => tracing::warn!(connector = %pushes.connector(), body = %body,
                "Octopush report without ticket, number or status; ignored"),
        }
    } else if let Some(date) = body["stop_date"].as_str() {
        let text = body["text"].as_str().unwrap_or("");
        pushes
            .reply(number, "", text, push::time(Some(date)), true)
            .await;
    } else if let Some(date) = body["answer_date"]
        .as_str()
        .or(body["reception_date"].as_str())
    {
        let text = body["text"].as_str().unwrap_or("");
        pushes
            .reply(number, "", text, push::time(Some(date)), false)
            .await;
    } else {
        tracing::warn!(connector = %pushes.connector(), body = %body, "Octopush callback of no known kind; ignored");
    }
    StatusCode::OK
}

#[async_trait]
impl Connector for Octopush {
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
                |m| (m.text.clone(), m.sender.clone(), m.kind, m.route_class),
                |group| self.submit_group(group),
            )
            .await
    }

    fn intake(&self) -> Option<Intake> {
        Some(Intake {
            address: self.peer.address().clone(),
            router: axum::Router::new()
                .route("/callback", post(callback))
                .with_state(self.pushes.clone()),
            paths: vec![IntakePath {
                path: "/callback",
                receives: "delivery reports, replies and STOP",
            }],
        })
    }
}
