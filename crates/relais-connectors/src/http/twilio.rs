//! Twilio (Programmable Messaging, api.twilio.com) as a route.
//!
//! One form-encoded `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`
//! per message (Twilio takes one recipient per request), HTTP Basic auth
//! with the account SID and auth token: `To`, `From` (the message's sender,
//! else the configured `from`) or `MessagingServiceSid`, `Body`,
//! `StatusCallback` (this connector's `/status` route, with a `public_url`)
//! and `ValidityPeriod` (seconds left before the message expires, 1 to
//! 36,000). Twilio splits long bodies itself and reports the message once:
//! the answer's `sid` is the one carrier id.
//!
//! Answers: 201 with a `sid` accepted. Error `code`s: 20429 (too many
//! requests), 21611 (the sender's queue is full) and 20003 or HTTP 401
//! (credentials) are temporary, so another route carries the messages
//! meanwhile; every other 4xx is a refusal of the message (21211 invalid
//! number, 21610 the recipient unsubscribed, 21612 and 21614 not
//! reachable…), permanent; 5xx and 429 are temporary.
//!
//! Intake: `POST /status` takes status callbacks (`MessageSid`,
//! `MessageStatus`: delivered, undelivered, failed, canceled are final,
//! the others intermediate; `ErrorCode`); `POST /mo` takes replies (`From`,
//! `To`, `Body`; set as the number's or service's incoming-message URL,
//! shown by `GET /admin/connectors`), answered with an empty TwiML
//! `<Response/>` (no automatic answer). Both check `X-Twilio-Signature`
//! (HMAC-SHA1 of the URL Twilio called and its sorted form fields, keyed by
//! the auth token) and answer 403 to a request Twilio did not sign.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use relais_store::{MessageStatus, OutboundMessage, clock};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha1::Sha1;

use super::push::{self, Pushes};
use super::{HttpOptions, HttpPeer};
use crate::contract::{Connector, ConnectorStatus, Intake, IntakePath, SubmitResult};
use crate::intake::IntakeAddress;
use crate::secret::Secret;
use crate::sink::EventSink;

pub const KIND: &str = "twilio";

const BASE_URL: &str = "https://api.twilio.com";

/// The longest validity Twilio takes, in seconds.
const MAX_VALIDITY: u64 = 36_000;

/// `[[connectors]] kind = "twilio"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The account SID (`AC…`).
    pub account_sid: String,
    /// The auth token: the Basic auth password, and the key Twilio signs
    /// its callbacks with.
    pub auth_token: Secret,
    /// The sender for messages without one (a Twilio number or an
    /// alphanumeric sender ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A Messaging Service (`MG…`) that picks the sender instead; a
    /// message's own sender still goes as `From`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_service_sid: Option<String>,
}

pub struct Twilio {
    peer: HttpPeer,
    config: Config,
    intake: Arc<Callbacks>,
}

/// What the intake routes need: where reports go and how to check a signature.
struct Callbacks {
    pushes: Pushes,
    auth_token: Secret,
    address: IntakeAddress,
}

pub fn start(
    name: &str,
    options: &HttpOptions,
    config: Config,
    sink: Arc<dyn EventSink>,
) -> Result<Arc<dyn Connector>, String> {
    if config.account_sid.is_empty() || config.auth_token.is_empty() {
        return Err("account_sid and auth_token are required".into());
    }
    if !config
        .account_sid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric())
    {
        return Err("account_sid takes letters and digits only".into());
    }
    let peer = HttpPeer::new(name, options, BASE_URL, &config.auth_token)?;
    let intake = Arc::new(Callbacks {
        pushes: Pushes::new(name, sink),
        auth_token: config.auth_token.clone(),
        address: peer.address().clone(),
    });
    Ok(Arc::new(Twilio {
        peer,
        config,
        intake,
    }))
}

impl Twilio {
    async fn submit_one(&self, message: &OutboundMessage) -> SubmitResult {
        let mut form: Vec<(&str, String)> = vec![
            ("To", message.number.to_string()),
            ("Body", message.text.clone()),
        ];
        let from = message.sender.clone().or_else(|| self.config.from.clone());
        match (&self.config.messaging_service_sid, from) {
            (Some(service), from) => {
                form.push(("MessagingServiceSid", service.clone()));
                form.extend(from.map(|from| ("From", from)));
            }
            (None, Some(from)) => form.push(("From", from)),
            (None, None) => {
                return SubmitResult::Permanent {
                    error: "twilio: no sender (set from or messaging_service_sid)".into(),
                };
            }
        }
        if let Some(url) = self.peer.address().url("/status") {
            form.push(("StatusCallback", url));
        }
        if let Some(left) = super::remaining_validity(message) {
            let seconds = left.as_secs().clamp(1, MAX_VALIDITY);
            form.push(("ValidityPeriod", seconds.to_string()));
        }
        let path = format!(
            "/2010-04-01/Accounts/{}/Messages.json",
            self.config.account_sid
        );
        let request = self
            .peer
            .client()
            .post(self.peer.url(&path))
            .basic_auth(
                &self.config.account_sid,
                Some(self.config.auth_token.expose()),
            )
            .form(&form);
        let answer = match self.peer.send(request).await {
            Err(error) => return SubmitResult::Temporary { error },
            Ok(answer) => answer,
        };
        let parsed: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        if answer.status.is_success()
            && let Some(sid) = push::id(&parsed["sid"])
        {
            return SubmitResult::Accepted {
                carrier_ids: vec![sid],
            };
        }
        let code = push::integer(&parsed["code"]);
        let error = format!(
            "twilio {}: HTTP {}: {}",
            code.map_or_else(|| "-".to_string(), |c| c.to_string()),
            answer.status.as_u16(),
            parsed["message"]
                .as_str()
                .unwrap_or_else(|| super::excerpt(&answer.body))
        );
        let temporary = answer.is_temporary()
            || answer.status == reqwest::StatusCode::UNAUTHORIZED
            || matches!(code, Some(20003 | 20429 | 21611))
            || !answer.status.is_client_error();
        if temporary {
            SubmitResult::Temporary { error }
        } else {
            tracing::warn!(connector = %self.peer.name(), id = message.id, error = %error, "Twilio refused a message");
            SubmitResult::Permanent { error }
        }
    }
}

/// A callback's status, if final.
fn report_status(status: &str) -> Option<MessageStatus> {
    match status {
        "delivered" => Some(MessageStatus::Delivered),
        "undelivered" => Some(MessageStatus::Undelivered),
        "failed" | "canceled" => Some(MessageStatus::Rejected),
        _ => None,
    }
}

/// Twilio's signature of a request: Base64 of the HMAC-SHA1, keyed by the
/// auth token, of the URL it called followed by each form field's name and
/// value, sorted by name.
fn signature(auth_token: &str, url: &str, fields: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = fields.iter().collect();
    sorted.sort();
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

impl Callbacks {
    /// The form fields of a request Twilio signed; `None` (logged) otherwise.
    /// The URL is the one Twilio was given (`public_url` and the intake
    /// path); without a `public_url`, the request's own host.
    fn signed_fields(
        &self,
        path: &str,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Vec<(String, String)>> {
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        let url = match self.address.url(path) {
            Some(url) => format!("{url}{query}"),
            None => {
                let host = headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("");
                let scheme = headers
                    .get("x-forwarded-proto")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("http");
                format!("{scheme}://{host}{}{path}{query}", self.address.prefix())
            }
        };
        let fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let given = headers
            .get("x-twilio-signature")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| base64::engine::general_purpose::STANDARD.decode(h).ok());
        let valid = given.is_some_and(|given| {
            signature(self.auth_token.expose(), &url, &fields)
                .verify_slice(&given)
                .is_ok()
        });
        if !valid {
            tracing::warn!(connector = %self.pushes.connector(), %url,
                "Twilio callback without a valid X-Twilio-Signature; refused");
        }
        valid.then_some(fields)
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn status(
    State(callbacks): State<Arc<Callbacks>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Some(fields) = callbacks.signed_fields("/status", &uri, &headers, &body) else {
        return StatusCode::FORBIDDEN;
    };
    let pushes = &callbacks.pushes;
    let sid = field(&fields, "MessageSid").or(field(&fields, "SmsSid"));
    let word = field(&fields, "MessageStatus")
        .or(field(&fields, "SmsStatus"))
        .unwrap_or("");
    match (sid, report_status(word)) {
        (Some(sid), Some(final_status)) => {
            let error = (final_status != MessageStatus::Delivered).then(|| {
                match field(&fields, "ErrorCode").filter(|c| !c.is_empty()) {
                    Some(code) => format!("twilio {word} {code}"),
                    None => format!("twilio {word}"),
                }
            });
            let report = pushes.report(sid.to_string(), final_status, error, clock::now_ms());
            pushes.reports(&[report]).await;
        }
        (Some(sid), None) => {
            tracing::debug!(connector = %pushes.connector(), sid, status = word, "intermediate Twilio status")
        }
        (None, _) => {
            tracing::warn!(connector = %pushes.connector(), "Twilio status callback without MessageSid; ignored")
        }
    }
    StatusCode::OK
}

async fn mo(
    State(callbacks): State<Arc<Callbacks>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(fields) = callbacks.signed_fields("/mo", &uri, &headers, &body) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let from = field(&fields, "From").unwrap_or("");
    let to = field(&fields, "To").unwrap_or("");
    let text = field(&fields, "Body").unwrap_or("");
    callbacks
        .pushes
        .reply(from, to, text, clock::now_ms(), false)
        .await;
    (
        [("content-type", "text/xml")],
        r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#,
    )
        .into_response()
}

#[async_trait]
impl Connector for Twilio {
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
                .route("/status", post(status))
                .route("/mo", post(mo))
                .with_state(self.intake.clone()),
            paths: vec![
                IntakePath {
                    path: "/status",
                    receives: "status callbacks (given with each message)",
                },
                IntakePath {
                    path: "/mo",
                    receives: "replies (the number's or messaging service's incoming URL)",
                },
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twilio's documented example of a signed request.
    #[test]
    fn signature_matches_twilios_documented_example() {
        let fields: Vec<(String, String)> = [
            ("Digits", "1234"),
            ("To", "+18005551212"),
            ("From", "+12349013030"),
            ("Caller", "+12349013030"),
            ("CallSid", "CA1234567890ABCDE"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        let mac = signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &fields,
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(encoded, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    }

    #[test]
    fn final_statuses_are_mapped_and_the_others_wait() {
        assert_eq!(report_status("delivered"), Some(MessageStatus::Delivered));
        assert_eq!(
            report_status("undelivered"),
            Some(MessageStatus::Undelivered)
        );
        assert_eq!(report_status("failed"), Some(MessageStatus::Rejected));
        for word in ["queued", "sending", "sent", "accepted", "scheduled", ""] {
            assert_eq!(report_status(word), None, "{word}");
        }
    }
}
