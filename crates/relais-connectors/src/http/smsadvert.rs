//! SMSAdvert (smsadvert.io) as a route.
//!
//! One `POST /api/sms/` per message (`Authorization: <token>`, no scheme):
//! `phone` (E.164), `shortTextMessage`, `sendAsShort`, `endDate` (Unix ms)
//! from the message's expiry, and `callback` = this connector's `/dlr`
//! intake URL (with a `public_url`; without one SMSAdvert reports nothing
//! and messages expire at the report timeout, which `start` warns about).
//! SMSAdvert answers one `msgId` per request and its reports carry only
//! that id (`{"status", "msgId"}`), so each message goes alone: its
//! `msgId` is its carrier id.
//!
//! Channels: SMSAdvert sends through the customer's phones unless
//! `sendAsShort` is true. From the message's channel order: network →
//! `sendAsShort: true`; devices → false; devices then network → false with
//! `failover: "short"` (SMSAdvert falls back to its network itself). The
//! `send_as_short` setting overrides it.
//!
//! Answers: `{"successMessage","msgId"}` accepted; `{"errors":{field:…}}`
//! (a refused field), 413 and 422 permanent; `{"errorMessage"}` with 401
//! (token), 402 (credit), 403 (disabled account), 429 or 5xx temporary.
//! Reports: `delivered` → delivered, `failed` → undelivered.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use relais_core::plan::ChannelOrder;
use relais_store::{MessageStatus, OutboundMessage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::push::{self, Pushes};
use super::{HttpOptions, HttpPeer};
use crate::contract::{Connector, ConnectorStatus, Intake, IntakePath, SubmitResult};
use crate::secret::Secret;
use crate::sink::EventSink;

pub const KIND: &str = "smsadvert";

const BASE_URL: &str = "https://www.smsadvert.io";

/// `[[connectors]] kind = "smsadvert"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The API token (sent as the raw `Authorization` header).
    pub token: Secret,
    /// Forces `sendAsShort` (true: SMSAdvert's network; false: the
    /// customer's phones); absent: from each message's channel order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_as_short: Option<bool>,
}

pub struct SmsAdvert {
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
    if peer.address().url("/dlr").is_none() {
        tracing::warn!(
            connector = name,
            "no public_url: SMSAdvert cannot report deliveries, messages will expire at the report timeout"
        );
    }
    Ok(Arc::new(SmsAdvert {
        peer,
        config,
        pushes: Pushes::new(name, sink),
    }))
}

impl SmsAdvert {
    async fn submit_one(&self, message: &OutboundMessage) -> SubmitResult {
        let (send_as_short, failover) = match (self.config.send_as_short, message.channels) {
            (Some(forced), _) => (forced, false),
            (None, ChannelOrder::Network) => (true, false),
            (None, ChannelOrder::Devices) => (false, false),
            (None, ChannelOrder::DevicesThenNetwork) => (false, true),
        };
        let mut body = json!({
            "phone": message.number.to_string(),
            "shortTextMessage": message.text,
            "sendAsShort": send_as_short,
        });
        if failover {
            body["failover"] = json!("short");
        }
        if let Some(end) = message.expires_at {
            body["endDate"] = json!(end);
        }
        if let Some(url) = self.peer.address().url("/dlr") {
            body["callback"] = json!(url);
        }
        let request = self
            .peer
            .client()
            .post(self.peer.url("/api/sms/"))
            .header("authorization", self.config.token.expose())
            .json(&body);
        let answer = match self.peer.send(request).await {
            Err(error) => return SubmitResult::Temporary { error },
            Ok(answer) => answer,
        };
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        if answer.status.is_success()
            && let Some(id) = push::id(&parsed["msgId"])
        {
            return SubmitResult::Accepted {
                carrier_ids: vec![id],
            };
        }
        let reason = match (&parsed["errors"], &parsed["errorMessage"]) {
            (Value::Object(fields), _) => fields
                .iter()
                .map(|(field, why)| format!("{field}: {}", why.as_str().unwrap_or("refused")))
                .collect::<Vec<_>>()
                .join("; "),
            (_, Value::String(message)) => message.clone(),
            _ => super::excerpt(&answer.body).to_string(),
        };
        let error = format!("smsadvert: HTTP {}: {reason}", answer.status.as_u16());
        tracing::warn!(connector = %self.peer.name(), error = %error, "SMSAdvert refused a message");
        if answer.is_temporary() || matches!(answer.status.as_u16(), 401..=403) {
            SubmitResult::Temporary { error }
        } else {
            SubmitResult::Permanent { error }
        }
    }
}

async fn dlr(State(pushes): State<Pushes>, Json(body): Json<Value>) -> Json<Value> {
    let status = match body["status"].as_str() {
        Some("delivered") => Some(MessageStatus::Delivered),
        Some("failed") => Some(MessageStatus::Undelivered),
        _ => None,
    };
    match (push::id(&body["msgId"]), status) {
        (Some(id), Some(status)) => {
            let error = (status != MessageStatus::Delivered).then(|| "smsadvert failed".into());
            let report = pushes.report(id, status, error, push::time(None));
            pushes.reports(&[report]).await;
        }
        _ => tracing::warn!(connector = %pushes.connector(), body = %body,
            "SMSAdvert report without msgId or a known status; ignored"),
    }
    Json(json!({"success": true}))
}

#[async_trait]
impl Connector for SmsAdvert {
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
                .route("/dlr", post(dlr))
                .with_state(self.pushes.clone()),
            paths: vec![IntakePath {
                path: "/dlr",
                receives: "delivery reports",
            }],
        })
    }
}
