//! Vonage (the SMS API, rest.nexmo.com) as a route.
//!
//! One form-encoded `POST /sms/json` per message (Vonage takes one
//! recipient per request): `api_key`, `api_secret`, `to` (digits, no `+`),
//! `from` (the message's sender, else the configured one), `text`,
//! `type=unicode` for UCS-2 texts, `client-ref` = relais' message id,
//! `callback` (this connector's `/dlr` route, with a `public_url`) and `ttl`
//! (milliseconds left before the message expires, 20 s to 7 days).
//!
//! Answers: always 200, with one entry per part in `messages`: every part
//! with status `"0"` is accepted, each part's `message-id` a carrier id
//! (reports come per part, as for SMPP). Statuses 1 (throttled), 4
//! (credentials), 5 (Vonage's own error) and 9 (quota) are temporary, so
//! another route carries the message meanwhile; the others (2 and 3
//! missing or bad parameters, 6 unroutable, 7 barred number, 15 bad sender,
//! 29 not whitelisted, 33 the recipient unsubscribed…) are permanent. Parts
//! accepted beside refused ones were sent: the message counts as accepted
//! with those parts (logged).
//!
//! Intake: `/dlr` takes delivery receipts (GET or POST, query, form or
//! JSON: `messageId`, `status` delivered, expired, failed, rejected are
//! final, accepted and buffered intermediate; `err-code`; `scts`
//! YYMMDDHHMM UTC, `client-ref`); `/mo` takes inbound messages (`msisdn`,
//! `to`, `text`), set as the account's or number's inbound URL (shown by
//! `GET /admin/connectors`). Both answer 204.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use relais_core::encoding::Encoding;
use relais_store::{MessageStatus, Millis, OutboundMessage, clock};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::push::{self, Pushes};
use super::{HttpOptions, HttpPeer};
use crate::contract::{Connector, ConnectorStatus, Intake, IntakePath, SubmitResult};
use crate::secret::Secret;
use crate::sink::EventSink;

pub const KIND: &str = "vonage";

const BASE_URL: &str = "https://rest.nexmo.com";

/// The TTL range Vonage takes.
const MIN_TTL: Duration = Duration::from_secs(20);
const MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// `[[connectors]] kind = "vonage"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub api_key: String,
    pub api_secret: Secret,
    /// The sender for messages without one (a number or alphanumeric ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

pub struct Vonage {
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
    if config.api_key.is_empty() || config.api_secret.is_empty() {
        return Err("api_key and api_secret are required".into());
    }
    let peer = HttpPeer::new(name, options, BASE_URL, &config.api_secret)?;
    Ok(Arc::new(Vonage {
        peer,
        config,
        pushes: Pushes::new(name, sink),
    }))
}

impl Vonage {
    async fn submit_one(&self, message: &OutboundMessage) -> SubmitResult {
        let Some(from) = message.sender.clone().or_else(|| self.config.from.clone()) else {
            return SubmitResult::Permanent {
                error: "vonage: no sender (set from)".into(),
            };
        };
        let mut form: Vec<(&str, String)> = vec![
            ("api_key", self.config.api_key.clone()),
            ("api_secret", self.config.api_secret.expose().to_string()),
            ("to", message.number.digits().to_string()),
            ("from", from),
            ("text", message.text.clone()),
            ("client-ref", message.id.to_string()),
        ];
        if message.encoding == Encoding::Ucs2 {
            form.push(("type", "unicode".into()));
        }
        if let Some(url) = self.peer.address().url("/dlr") {
            form.push(("callback", url));
        }
        if let Some(left) = super::remaining_validity(message) {
            let ttl = left.clamp(MIN_TTL, MAX_TTL);
            form.push(("ttl", ttl.as_millis().to_string()));
        }
        let request = self
            .peer
            .client()
            .post(self.peer.url("/sms/json"))
            .form(&form);
        let answer = match self.peer.send(request).await {
            Err(error) => return SubmitResult::Temporary { error },
            Ok(answer) if answer.is_temporary() => return answer.temporary(KIND),
            Ok(answer) => answer,
        };
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        let parts = parsed["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let accepted: Vec<String> = parts
            .iter()
            .filter(|part| push::integer(&part["status"]) == Some(0))
            .filter_map(|part| push::id(&part["message-id"]))
            .collect();
        let refused = parts
            .iter()
            .find(|part| push::integer(&part["status"]) != Some(0));
        if !accepted.is_empty() {
            if let Some(part) = refused {
                tracing::warn!(connector = %self.peer.name(), id = message.id,
                    status = %part["status"], error = %part["error-text"],
                    "Vonage refused some parts of a message and sent the others");
            }
            return SubmitResult::Accepted {
                carrier_ids: accepted,
            };
        }
        let Some(part) = refused else {
            return SubmitResult::Temporary {
                error: format!(
                    "vonage: HTTP {}: no message in the answer: {}",
                    answer.status.as_u16(),
                    super::excerpt(&answer.body)
                ),
            };
        };
        let code = push::integer(&part["status"]);
        let error = format!(
            "vonage {}: {}",
            code.map_or_else(|| "-".to_string(), |c| c.to_string()),
            part["error-text"].as_str().unwrap_or("")
        );
        if matches!(code, Some(1 | 4 | 5 | 9)) {
            SubmitResult::Temporary { error }
        } else {
            tracing::warn!(connector = %self.peer.name(), id = message.id, error = %error, "Vonage refused a message");
            SubmitResult::Permanent { error }
        }
    }
}

/// A receipt's status, if final.
fn report_status(status: &str) -> Option<MessageStatus> {
    match status {
        "delivered" => Some(MessageStatus::Delivered),
        "expired" => Some(MessageStatus::Expired),
        "failed" => Some(MessageStatus::Undelivered),
        "rejected" => Some(MessageStatus::Rejected),
        _ => None,
    }
}

/// A receipt's `scts` (YYMMDDHHMM, UTC); absent or unreadable: now.
fn scts(value: Option<&str>) -> Millis {
    value
        .and_then(|v| jiff::civil::DateTime::strptime("%y%m%d%H%M", v.trim()).ok())
        .and_then(|at| at.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map_or_else(clock::now_ms, |at| at.timestamp().as_millisecond())
}

async fn dlr(State(pushes): State<Pushes>, uri: Uri, body: Bytes) -> StatusCode {
    let fields = push::fields(uri.query(), &body);
    let id = fields.get("messageId").filter(|id| !id.is_empty());
    let word = fields.get("status").map(String::as_str).unwrap_or("");
    match (id, report_status(word)) {
        (Some(id), Some(final_status)) => {
            let error = (final_status != MessageStatus::Delivered).then(|| {
                let code = fields.get("err-code").map(String::as_str).unwrap_or("-");
                format!("vonage {word} {code}")
            });
            let at = scts(fields.get("scts").map(String::as_str));
            let report = pushes.report(id.clone(), final_status, error, at);
            pushes.reports(&[report]).await;
        }
        (Some(id), None) => {
            tracing::debug!(connector = %pushes.connector(), %id, status = word, "intermediate Vonage status")
        }
        (None, _) => {
            tracing::warn!(connector = %pushes.connector(), "Vonage receipt without messageId; ignored")
        }
    }
    StatusCode::NO_CONTENT
}

async fn mo(State(pushes): State<Pushes>, uri: Uri, body: Bytes) -> StatusCode {
    let fields = push::fields(uri.query(), &body);
    let read = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    pushes
        .reply(
            read("msisdn"),
            read("to"),
            read("text"),
            clock::now_ms(),
            false,
        )
        .await;
    StatusCode::NO_CONTENT
}

#[async_trait]
impl Connector for Vonage {
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
        self.peer.each(messages, |m| self.submit_one(m)).await
    }

    fn intake(&self) -> Option<Intake> {
        Some(Intake {
            address: self.peer.address().clone(),
            router: axum::Router::new()
                .route("/dlr", get(dlr).post(dlr))
                .route("/mo", get(mo).post(mo))
                .with_state(self.pushes.clone()),
            paths: vec![
                IntakePath {
                    path: "/dlr",
                    receives: "delivery receipts (given with each message)",
                },
                IntakePath {
                    path: "/mo",
                    receives: "inbound messages (the account's or number's inbound URL)",
                },
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scts_is_read_as_utc_minutes() {
        // 2020-01-01 12:30 UTC
        assert_eq!(scts(Some("2001011230")), 1_577_881_800_000);
        let now = clock::now_ms();
        assert!(scts(Some("garbage")) >= now);
        assert!(scts(None) >= now);
    }

    #[test]
    fn final_statuses_are_mapped_and_the_others_wait() {
        assert_eq!(report_status("delivered"), Some(MessageStatus::Delivered));
        assert_eq!(report_status("expired"), Some(MessageStatus::Expired));
        assert_eq!(report_status("failed"), Some(MessageStatus::Undelivered));
        assert_eq!(report_status("rejected"), Some(MessageStatus::Rejected));
        for word in ["accepted", "buffered", "unknown", ""] {
            assert_eq!(report_status(word), None, "{word}");
        }
    }
}
