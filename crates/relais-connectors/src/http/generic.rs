//! A generic HTTP provider (Kannel's `smsc=http` "generic" system): any
//! API that takes one message per request, described by configuration.
//!
//! The request: `url` (and an optional `body`) are templates whose
//! placeholders are replaced per message: `{id}` (relais' message id),
//! `{to}` (+E.164), `{to_digits}` (without the plus), `{from}` (the sender,
//! empty when none), `{text}`, `{unicode}` (1 for UCS-2, else 0), `{coding}`
//! (`gsm7` or `ucs2`), `{dlr_url}` (this connector's `/dlr` intake URL, empty
//! without a `public_url`); other braces, as in a JSON body, are literal.
//! Values are URL-encoded in the URL and in a form body, JSON-escaped in a
//! JSON body (`content_type` containing `json`), as they are otherwise. `method` is GET without a body, POST
//! with one, unless set. `authorization` is sent as the `Authorization`
//! header, as written (`Bearer …`, `Basic …`).
//!
//! The answer: `temporary_regex` then `permanent_regex` then
//! `success_regex` on the body decide; when none matches, a 2xx is
//! accepted unless a `success_regex` is set (then it is permanent), 5xx and
//! 429 are temporary, other statuses permanent. `id_regex`'s first group
//! is the provider's id for the message (the carrier id its reports name);
//! without it, the carrier id is relais' `{id}`, which the provider must
//! echo in its reports.
//!
//! Reports: `GET` or `POST` (query, form or JSON) on `/dlr`, the id in the
//! `dlr_id_field` field and the status in `dlr_status_field`, matched
//! (case-insensitively) against `delivered`, `undelivered`, `expired` and
//! `rejected` value lists; other values are intermediate and acknowledged.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::routing::get;
use regex::Regex;
use relais_core::encoding::Encoding;
use relais_store::{MessageStatus, OutboundMessage};
use serde::{Deserialize, Serialize};

use super::push::{self, Pushes};
use super::{HttpOptions, HttpPeer};
use crate::contract::{Connector, ConnectorStatus, Intake, IntakePath, SubmitResult};
use crate::secret::Secret;
use crate::sink::EventSink;

pub const KIND: &str = "http";

/// The placeholders a template may name.
const PLACEHOLDERS: [&str; 8] = [
    "id",
    "to",
    "to_digits",
    "from",
    "text",
    "unicode",
    "coding",
    "dlr_url",
];

/// `[[connectors]] kind = "http"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The request URL template, absolute (`base_url` is not used).
    pub url: String,
    /// `GET` or `POST`; absent: GET without a body, POST with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The body template; absent: no body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body's content type.
    #[serde(default = "form")]
    pub content_type: String,
    /// Sent as the `Authorization` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permanent_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_regex: Option<String>,
    #[serde(default = "id_field")]
    pub dlr_id_field: String,
    #[serde(default = "status_field")]
    pub dlr_status_field: String,
    #[serde(default = "delivered")]
    pub delivered: Vec<String>,
    #[serde(default = "undelivered")]
    pub undelivered: Vec<String>,
    #[serde(default = "expired")]
    pub expired: Vec<String>,
    #[serde(default = "rejected")]
    pub rejected: Vec<String>,
}

fn form() -> String {
    "application/x-www-form-urlencoded".into()
}
fn id_field() -> String {
    "id".into()
}
fn status_field() -> String {
    "status".into()
}
fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}
fn delivered() -> Vec<String> {
    strings(&["delivered", "DELIVRD", "1"])
}
fn undelivered() -> Vec<String> {
    strings(&["undelivered", "failed", "UNDELIV", "2"])
}
fn expired() -> Vec<String> {
    strings(&["expired", "EXPIRED"])
}
fn rejected() -> Vec<String> {
    strings(&["rejected", "REJECTD", "16"])
}

/// How a placeholder's value is escaped where it stands.
#[derive(Clone, Copy)]
enum Escape {
    Url,
    Json,
    None,
}

pub struct Generic {
    peer: HttpPeer,
    config: Config,
    method: reqwest::Method,
    body_escape: Escape,
    success: Option<Regex>,
    permanent: Option<Regex>,
    temporary: Option<Regex>,
    id: Option<Regex>,
    reports: Arc<Reports>,
}

/// What the `/dlr` route needs: the fields and values it reads.
struct Reports {
    config: Config,
    pushes: Pushes,
}

pub fn start(
    name: &str,
    options: &HttpOptions,
    config: Config,
    sink: Arc<dyn EventSink>,
) -> Result<Arc<dyn Connector>, String> {
    check_template("url", &config.url)?;
    if let Some(body) = &config.body {
        check_template("body", body)?;
    }
    let regex = |key: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(Regex::new)
            .transpose()
            .map_err(|e| format!("{key}: {e}"))
    };
    let id = regex("id_regex", &config.id_regex)?;
    if id.as_ref().is_some_and(|r| r.captures_len() < 2) {
        return Err("id_regex needs a capture group for the id".into());
    }
    let method = match config.method.as_deref().map(str::to_ascii_uppercase) {
        Some(m) if m == "GET" => reqwest::Method::GET,
        Some(m) if m == "POST" => reqwest::Method::POST,
        Some(other) => return Err(format!("method must be GET or POST, not {other:?}")),
        None if config.body.is_some() => reqwest::Method::POST,
        None => reqwest::Method::GET,
    };
    let body_escape = if config.content_type.contains("json") {
        Escape::Json
    } else if config.content_type.contains("x-www-form-urlencoded") {
        Escape::Url
    } else {
        Escape::None
    };
    let credential = config
        .authorization
        .clone()
        .unwrap_or_else(|| Secret::new(config.url.clone()));
    let options = HttpOptions {
        base_url: Some(config.url.clone()),
        ..options.clone()
    };
    let peer = HttpPeer::new(name, &options, &config.url, &credential)?;
    Ok(Arc::new(Generic {
        peer,
        method,
        body_escape,
        success: regex("success_regex", &config.success_regex)?,
        permanent: regex("permanent_regex", &config.permanent_regex)?,
        temporary: regex("temporary_regex", &config.temporary_regex)?,
        id,
        reports: Arc::new(Reports {
            config: config.clone(),
            pushes: Pushes::new(name, sink),
        }),
        config,
    }))
}

/// The placeholders of `template`: `{name}` with `name` of lowercase
/// letters, digits and `_`, as (start, end, name). Other braces (a JSON
/// body's) are literal.
fn placeholders(template: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    let bytes = template.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while let Some(open) = template[at..].find('{').map(|i| at + i) {
            let name_len = bytes[open + 1..]
                .iter()
                .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || **b == b'_')
                .count();
            let close = open + 1 + name_len;
            if name_len > 0 && bytes.get(close) == Some(&b'}') {
                at = close + 1;
                return Some((open, close + 1, &template[open + 1..close]));
            }
            at = open + 1;
        }
        None
    })
}

/// Refuses a template naming a placeholder that does not exist.
fn check_template(key: &str, template: &str) -> Result<(), String> {
    match placeholders(template).find(|(_, _, name)| !PLACEHOLDERS.contains(name)) {
        Some((_, _, name)) => Err(format!(
            "{key}: unknown placeholder {{{name}}} (known: {})",
            PLACEHOLDERS.join(", ")
        )),
        None => Ok(()),
    }
}

/// `template` with each placeholder replaced by its value, escaped.
fn render(template: &str, values: &HashMap<&str, String>, escape: Escape) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut copied = 0;
    for (start, end, name) in placeholders(template) {
        out.push_str(&template[copied..start]);
        let value = values.get(name).map_or("", String::as_str);
        match escape {
            Escape::Url => out.extend(form_urlencoded::byte_serialize(value.as_bytes())),
            Escape::Json => {
                let quoted = serde_json::to_string(value).expect("a string serialises");
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
            Escape::None => out.push_str(value),
        }
        copied = end;
    }
    out.push_str(&template[copied..]);
    out
}

impl Generic {
    fn values(&self, message: &OutboundMessage) -> HashMap<&'static str, String> {
        let ucs2 = message.encoding == Encoding::Ucs2;
        HashMap::from([
            ("id", message.id.to_string()),
            ("to", message.number.to_string()),
            ("to_digits", message.number.digits().to_string()),
            ("from", message.sender.clone().unwrap_or_default()),
            ("text", message.text.clone()),
            ("unicode", if ucs2 { "1" } else { "0" }.to_string()),
            ("coding", if ucs2 { "ucs2" } else { "gsm7" }.to_string()),
            (
                "dlr_url",
                self.peer.address().url("/dlr").unwrap_or_default(),
            ),
        ])
    }

    async fn submit_one(&self, message: &OutboundMessage) -> SubmitResult {
        let values = self.values(message);
        let url = render(&self.config.url, &values, Escape::Url);
        let mut request = self.peer.client().request(self.method.clone(), url);
        if let Some(body) = &self.config.body {
            request = request
                .header("content-type", &self.config.content_type)
                .body(render(body, &values, self.body_escape));
        }
        if let Some(authorization) = &self.config.authorization {
            request = request.header("authorization", authorization.expose());
        }
        let answer = match self.peer.send(request).await {
            Err(error) => return SubmitResult::Temporary { error },
            Ok(answer) => answer,
        };
        let error = || {
            format!(
                "http: HTTP {}: {}",
                answer.status.as_u16(),
                super::excerpt(&answer.body)
            )
        };
        let matches =
            |regex: &Option<Regex>| regex.as_ref().is_some_and(|r| r.is_match(&answer.body));
        if matches(&self.temporary) {
            return SubmitResult::Temporary { error: error() };
        }
        if matches(&self.permanent) {
            return SubmitResult::Permanent { error: error() };
        }
        let success = match &self.success {
            Some(_) => matches(&self.success),
            None => answer.status.is_success(),
        };
        if success {
            let carrier_id = match &self.id {
                None => message.id.to_string(),
                Some(regex) => match regex.captures(&answer.body).and_then(|c| c.get(1)) {
                    Some(id) => id.as_str().to_string(),
                    None => {
                        return SubmitResult::Temporary {
                            error: format!("http: no id in the answer: {}", error()),
                        };
                    }
                },
            };
            return SubmitResult::Accepted {
                carrier_ids: vec![carrier_id],
            };
        }
        if answer.is_temporary() {
            SubmitResult::Temporary { error: error() }
        } else {
            SubmitResult::Permanent { error: error() }
        }
    }
}

impl Reports {
    fn report_status(&self, value: &str) -> Option<MessageStatus> {
        let lists = [
            (&self.config.delivered, MessageStatus::Delivered),
            (&self.config.undelivered, MessageStatus::Undelivered),
            (&self.config.expired, MessageStatus::Expired),
            (&self.config.rejected, MessageStatus::Rejected),
        ];
        lists
            .into_iter()
            .find(|(values, _)| values.iter().any(|v| v.eq_ignore_ascii_case(value)))
            .map(|(_, status)| status)
    }
}

async fn dlr(State(reports): State<Arc<Reports>>, uri: Uri, body: Bytes) -> &'static str {
    let fields = push::fields(uri.query(), &body);
    let config = &reports.config;
    let pushes = &reports.pushes;
    match (
        fields.get(&config.dlr_id_field),
        fields.get(&config.dlr_status_field),
    ) {
        (Some(id), Some(value)) => match reports.report_status(value) {
            Some(status) => {
                let error = (status != MessageStatus::Delivered).then(|| format!("http {value}"));
                let report = pushes.report(id.clone(), status, error, push::time(None));
                pushes.reports(&[report]).await;
            }
            None => {
                tracing::debug!(connector = %pushes.connector(), %id, value, "intermediate status")
            }
        },
        _ => {
            tracing::warn!(connector = %pushes.connector(), ?fields, "report without its id or status field; ignored")
        }
    }
    "OK"
}

#[async_trait]
impl Connector for Generic {
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
                .with_state(self.reports.clone()),
            paths: vec![IntakePath {
                path: "/dlr",
                receives: "delivery reports",
            }],
        })
    }
}
