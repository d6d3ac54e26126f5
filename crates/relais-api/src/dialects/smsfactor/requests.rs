//! SMSFactor request bodies and queries, read from JSON or XML (by
//! `Content-Type`; an unlabelled body is XML when it starts with `<`) into
//! one shape per request, then translated into the pipeline's terms.
//!
//! Fields SMSFactor accepts that relais does not use (`links`, `lists`, …)
//! are ignored rather than refused, as the provider ignores unknown ones.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::HeaderMap;
use relais_core::encoding::EncodingMode;
use relais_core::plan::{MessageKind, PlanError, Recipient, SendRequest};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::errors::{Failure, Status};
use crate::dialects::common::body::BodyKind;
use crate::dialects::common::forms::Params;
use crate::dialects::common::numbers::{self, ListRules};
use crate::dialects::common::paris;
use crate::dialects::common::scalar::Scalar;
use crate::dialects::common::xml;
use crate::error::ApiError;
use crate::extract::parse_json;
use crate::state::ApiConfig;

/// A campaign as SMSFactor describes it, from `POST /send` or `GET /send`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Campaign {
    pub text: Option<String>,
    pub pushtype: Option<String>,
    pub sender: Option<String>,
    pub delay: Option<String>,
    pub unicode: Option<String>,
    pub recipients: Vec<Gsm>,
}

/// One recipient: the number (country code, no `+`) and the client's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gsm {
    pub value: String,
    pub gsmsmsid: Option<String>,
}

/// A body in one of the two formats.
enum Decoded<J, X> {
    Json(J),
    Xml(X),
}

fn decode<J: DeserializeOwned, X: DeserializeOwned>(
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<Decoded<J, X>, Failure> {
    let kind = match BodyKind::of(headers) {
        kind @ (BodyKind::Json | BodyKind::Xml) => kind,
        _ => BodyKind::sniff(bytes),
    };
    if kind == BodyKind::Xml {
        Ok(Decoded::Xml(xml::parse(bytes)?))
    } else {
        parse_json(bytes).map(Decoded::Json).map_err(json_failure)
    }
}

/// Unreadable JSON is SMSFactor's JSON error (-6); JSON of the wrong shape
/// (a missing or mistyped field) its data error (-7).
fn json_failure(e: ApiError) -> Failure {
    let details = match &e.field {
        Some(field) => format!("{} (at {field})", e.message),
        None => e.message.clone(),
    };
    match e.code.as_ref() {
        "malformed_json" | "invalid_utf8" => Failure::new(Status::Json, details),
        _ => Failure::new(Status::Data, details),
    }
}

fn text(s: Option<Scalar>) -> Option<String> {
    s.map(|Scalar(s)| s)
}

#[derive(Deserialize)]
struct JsonCampaign {
    sms: JsonSms,
}

#[derive(Deserialize)]
struct JsonSms {
    message: JsonMessage,
    recipients: Option<JsonRecipients>,
}

#[derive(Deserialize)]
struct JsonMessage {
    text: Option<Scalar>,
    pushtype: Option<Scalar>,
    sender: Option<Scalar>,
    delay: Option<Scalar>,
    unicode: Option<Scalar>,
}

#[derive(Deserialize)]
struct JsonRecipients {
    #[serde(default)]
    gsm: Vec<JsonGsm>,
}

#[derive(Deserialize)]
struct JsonGsm {
    value: Scalar,
    gsmsmsid: Option<Scalar>,
}

#[derive(Deserialize)]
struct XmlSms {
    message: XmlMessage,
    recipients: Option<XmlRecipients>,
}

#[derive(Deserialize)]
struct XmlMessage {
    text: Option<String>,
    pushtype: Option<String>,
    sender: Option<String>,
    delay: Option<String>,
    unicode: Option<String>,
}

#[derive(Deserialize)]
struct XmlRecipients {
    #[serde(default)]
    gsm: Vec<XmlGsm>,
}

#[derive(Deserialize)]
struct XmlGsm {
    #[serde(rename = "@gsmsmsid")]
    gsmsmsid: Option<String>,
    #[serde(rename = "$text")]
    value: String,
}

impl Campaign {
    /// `{"sms": {"message": {…}, "recipients": {"gsm": [{"gsmsmsid", "value"}]}}}`
    /// or `<sms><message>…</message><recipients><gsm gsmsmsid="…">…</gsm></recipients></sms>`.
    pub fn from_body(headers: &HeaderMap, bytes: &Bytes) -> Result<Campaign, Failure> {
        Ok(match decode::<JsonCampaign, XmlSms>(headers, bytes)? {
            Decoded::Json(JsonCampaign { sms }) => Campaign {
                text: text(sms.message.text),
                pushtype: text(sms.message.pushtype),
                sender: text(sms.message.sender),
                delay: text(sms.message.delay),
                unicode: text(sms.message.unicode),
                recipients: sms
                    .recipients
                    .map(|r| r.gsm)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|g| Gsm {
                        value: g.value.0,
                        gsmsmsid: text(g.gsmsmsid),
                    })
                    .collect(),
            },
            Decoded::Xml(sms) => Campaign {
                text: sms.message.text,
                pushtype: sms.message.pushtype,
                sender: sms.message.sender,
                delay: sms.message.delay,
                unicode: sms.message.unicode,
                recipients: sms
                    .recipients
                    .map(|r| r.gsm)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|g| Gsm {
                        value: g.value,
                        gsmsmsid: g.gsmsmsid,
                    })
                    .collect(),
            },
        })
    }

    /// `GET /send?text=…&to=…&pushtype=…&delay=…&sender=…&gsmsmsid=…`; `to`
    /// may list several numbers, comma-separated or repeated, which then
    /// share `gsmsmsid`.
    pub fn from_query(query: &Params) -> Result<Campaign, Failure> {
        // The number of recipients is checked with the body's, in `into_request`.
        let rules = ListRules {
            max: usize::MAX,
            strict: false,
        };
        let mut recipients = Vec::new();
        for to in query.all("to") {
            let numbers =
                numbers::split(to, rules).map_err(|e| Failure::data(format!("to: {e}")))?;
            recipients.extend(numbers.into_iter().map(|n| Gsm {
                value: n.to_owned(),
                gsmsmsid: query.get("gsmsmsid").map(str::to_owned),
            }));
        }
        let field = |name: &str| query.get(name).map(str::to_owned);
        Ok(Campaign {
            text: field("text"),
            pushtype: field("pushtype"),
            sender: field("sender"),
            delay: field("delay"),
            unicode: field("unicode"),
            recipients,
        })
    }

    /// The pipeline's request.
    pub fn into_request(self, config: &ApiConfig) -> Result<SendRequest, Failure> {
        if self.recipients.len() > config.max_recipients {
            return Err(PlanError::TooManyRecipients {
                max: config.max_recipients,
            }
            .into());
        }
        let kind = match self.pushtype.as_deref().map(str::trim) {
            None | Some("") | Some("alert") => MessageKind::Transactional,
            Some("marketing") => MessageKind::Marketing,
            Some(other) => {
                return Err(Failure::data(format!(
                    "pushtype must be alert or marketing, not {other:?}"
                )));
            }
        };
        let encoding = match self.unicode.as_deref().map(str::trim) {
            None | Some("") | Some("0") => EncodingMode::Auto,
            Some("1") => EncodingMode::Ucs2,
            Some(other) => {
                return Err(Failure::data(format!(
                    "unicode must be 0 or 1, not {other:?}"
                )));
            }
        };
        let send_at = match self.delay.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(delay) => Some(
                paris::parse_datetime(delay)
                    .map_err(|e| Failure::new(Status::BadDelay, e.to_string()))?,
            ),
        };
        Ok(SendRequest {
            text: self.text,
            recipients: self
                .recipients
                .into_iter()
                .map(|g| Recipient {
                    number: g.value,
                    client_ref: g.gsmsmsid.filter(|id| !id.is_empty()),
                    text: None,
                })
                .collect(),
            sender: self.sender.filter(|s| !s.trim().is_empty()),
            kind,
            send_at,
            encoding,
            ..SendRequest::default()
        })
    }
}

/// A number for the blacklist or the NPAI list, with its free fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub value: String,
    /// `info1` to `info4`, absent ones empty.
    pub info: Vec<String>,
}

#[derive(Deserialize)]
struct JsonContactsDoc {
    contacts: JsonContacts,
}

#[derive(Deserialize)]
struct JsonContacts {
    #[serde(default)]
    gsm: Vec<JsonContact>,
}

#[derive(Deserialize)]
struct JsonContact {
    value: Scalar,
    info1: Option<Scalar>,
    info2: Option<Scalar>,
    info3: Option<Scalar>,
    info4: Option<Scalar>,
}

#[derive(Deserialize)]
struct XmlContactsDoc {
    contacts: XmlContacts,
}

#[derive(Deserialize)]
struct XmlContacts {
    #[serde(default)]
    gsm: Vec<XmlContact>,
}

#[derive(Deserialize)]
struct XmlContact {
    #[serde(rename = "$text")]
    value: String,
    #[serde(rename = "@info1")]
    info1: Option<String>,
    #[serde(rename = "@info2")]
    info2: Option<String>,
    #[serde(rename = "@info3")]
    info3: Option<String>,
    #[serde(rename = "@info4")]
    info4: Option<String>,
}

/// `{"<root>": {"contacts": {"gsm": [{"value", "info1"…}]}}}` or
/// `<root><contacts><gsm info1="…">336…</gsm></contacts></root>`, `root`
/// being `blacklist` or `npai`.
pub fn contacts(headers: &HeaderMap, bytes: &Bytes, root: &str) -> Result<Vec<Contact>, Failure> {
    let info = |fields: [Option<String>; 4]| -> Vec<String> {
        fields.into_iter().map(Option::unwrap_or_default).collect()
    };
    Ok(
        match decode::<BTreeMap<String, JsonContactsDoc>, XmlContactsDoc>(headers, bytes)? {
            Decoded::Json(mut docs) => docs
                .remove(root)
                .ok_or_else(|| Failure::data(format!("missing field `{root}`")))?
                .contacts
                .gsm
                .into_iter()
                .map(|c| Contact {
                    value: c.value.0,
                    info: info([text(c.info1), text(c.info2), text(c.info3), text(c.info4)]),
                })
                .collect(),
            Decoded::Xml(doc) => doc
                .contacts
                .gsm
                .into_iter()
                .map(|c| Contact {
                    value: c.value,
                    info: info([c.info1, c.info2, c.info3, c.info4]),
                })
                .collect(),
        },
    )
}

/// `{"webhook": {"type", "url", "signature"}}` or its XML form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookBody {
    pub kind: Option<String>,
    pub url: Option<String>,
    pub signature: Option<String>,
}

#[derive(Deserialize)]
struct JsonWebhookDoc {
    webhook: JsonWebhook,
}

#[derive(Deserialize)]
struct JsonWebhook {
    #[serde(rename = "type")]
    kind: Option<Scalar>,
    url: Option<Scalar>,
    signature: Option<Scalar>,
}

#[derive(Deserialize)]
struct XmlWebhook {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
    signature: Option<String>,
}

impl WebhookBody {
    pub fn parse(headers: &HeaderMap, bytes: &Bytes) -> Result<WebhookBody, Failure> {
        Ok(
            match decode::<JsonWebhookDoc, XmlWebhook>(headers, bytes)? {
                Decoded::Json(JsonWebhookDoc { webhook }) => WebhookBody {
                    kind: text(webhook.kind),
                    url: text(webhook.url),
                    signature: text(webhook.signature),
                },
                Decoded::Xml(webhook) => WebhookBody {
                    kind: webhook.kind,
                    url: webhook.url,
                    signature: webhook.signature,
                },
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::CONTENT_TYPE;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    fn seed_campaign() -> Campaign {
        Campaign {
            text: Some("Message via API".into()),
            pushtype: Some("alert".into()),
            sender: Some("Illidan".into()),
            delay: Some("2024-12-01 10:38:06".into()),
            unicode: Some("0".into()),
            recipients: vec![
                Gsm {
                    value: "33612345678".into(),
                    gsmsmsid: Some("100".into()),
                },
                Gsm {
                    value: "33612345677".into(),
                    gsmsmsid: Some("101".into()),
                },
            ],
        }
    }

    #[test]
    fn the_seed_campaign_reads_alike_in_json_and_xml() {
        let json = br#"{"sms":{"message":{"text":"Message via API","pushtype":"alert","sender":"Illidan",
            "delay":"2024-12-01 10:38:06","unicode":0},"recipients":{"gsm":[{"gsmsmsid":"100","value":"33612345678"},
            {"gsmsmsid":"101","value":"33612345677"}]}}}"#;
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<sms>
  <message>
    <text>Message via API</text>
    <pushtype>alert</pushtype>
    <sender>Illidan</sender>
    <delay>2024-12-01 10:38:06</delay>
    <unicode>0</unicode>
  </message>
  <recipients>
    <gsm gsmsmsid="100">33612345678</gsm>
    <gsm gsmsmsid="101">33612345677</gsm>
  </recipients>
</sms>"#;
        let from_json =
            Campaign::from_body(&headers("application/json"), &Bytes::from_static(json));
        assert_eq!(from_json.unwrap(), seed_campaign());
        let from_xml = Campaign::from_body(&headers("application/xml"), &Bytes::from_static(xml));
        assert_eq!(from_xml.unwrap(), seed_campaign());
        // Unlabelled bodies are sniffed.
        let sniffed = Campaign::from_body(&HeaderMap::new(), &Bytes::from_static(xml));
        assert_eq!(sniffed.unwrap(), seed_campaign());
    }

    #[test]
    fn the_seed_campaign_translates() {
        let request = seed_campaign().into_request(&ApiConfig::default()).unwrap();
        assert_eq!(request.kind, MessageKind::Transactional);
        assert_eq!(request.encoding, EncodingMode::Auto);
        assert_eq!(request.send_at.unwrap().to_string(), "2024-12-01T09:38:06Z");
        assert_eq!(request.recipients[1].client_ref.as_deref(), Some("101"));
        let marketing = Campaign {
            pushtype: Some("marketing".into()),
            unicode: Some("1".into()),
            ..seed_campaign()
        };
        let request = marketing.into_request(&ApiConfig::default()).unwrap();
        assert_eq!(
            (request.kind, request.encoding),
            (MessageKind::Marketing, EncodingMode::Ucs2)
        );
    }

    #[test]
    fn bad_bodies_get_the_format_s_own_status() {
        let status = |ct: &str, body: &'static [u8]| {
            Campaign::from_body(&headers(ct), &Bytes::from_static(body))
                .unwrap_err()
                .status
        };
        assert_eq!(status("application/json", b"{\"sms\":"), Status::Json);
        assert_eq!(status("application/json", b"{\"sms\":{}}"), Status::Data);
        assert_eq!(
            status(
                "application/json",
                b"{\"sms\":{\"message\":{\"text\":[1]}}}"
            ),
            Status::Data
        );
        assert_eq!(status("application/xml", b"<sms><message>"), Status::Xml);
        assert_eq!(status("text/xml", b"<!DOCTYPE sms><sms/>"), Status::Xml);
        assert_eq!(
            status("text/xml", b"<sms><recipients/></sms>"),
            Status::Data
        );
    }

    #[test]
    fn bad_values_are_refused() {
        let bad = |c: Campaign| c.into_request(&ApiConfig::default()).unwrap_err().status;
        assert_eq!(
            bad(Campaign {
                pushtype: Some("promo".into()),
                ..seed_campaign()
            }),
            Status::Data
        );
        assert_eq!(
            bad(Campaign {
                unicode: Some("2".into()),
                ..seed_campaign()
            }),
            Status::Data
        );
        assert_eq!(
            bad(Campaign {
                delay: Some("2024-02-30 10:00:00".into()),
                ..seed_campaign()
            }),
            Status::BadDelay
        );
    }

    #[test]
    fn query_sends_list_numbers() {
        let query =
            Params::parse(b"text=Hi&to=33612345678,33612345677&to=33612345676&gsmsmsid=9").unwrap();
        let campaign = Campaign::from_query(&query).unwrap();
        assert_eq!(campaign.recipients.len(), 3);
        assert!(
            campaign
                .recipients
                .iter()
                .all(|g| g.gsmsmsid.as_deref() == Some("9"))
        );
        let config = ApiConfig {
            max_recipients: 2,
            ..ApiConfig::default()
        };
        assert_eq!(
            campaign.into_request(&config).unwrap_err().status,
            Status::Data
        );
        let empty = Params::parse(b"text=Hi&to=").unwrap();
        assert_eq!(
            Campaign::from_query(&empty).unwrap_err().status,
            Status::Data
        );
    }

    #[test]
    fn contacts_and_webhooks() {
        let json = br#"{"blacklist":{"contacts":{"gsm":[{"value":"33612345678","info1":"a"},{"value":33612345677}]}}}"#;
        let list = contacts(
            &headers("application/json"),
            &Bytes::from_static(json),
            "blacklist",
        )
        .unwrap();
        assert_eq!(
            list[0],
            Contact {
                value: "33612345678".into(),
                info: vec!["a".into(), "".into(), "".into(), "".into()]
            }
        );
        assert_eq!(list[1].value, "33612345677");
        assert_eq!(
            contacts(
                &headers("application/json"),
                &Bytes::from_static(json),
                "npai"
            )
            .unwrap_err()
            .status,
            Status::Data
        );
        let xml = br#"<npai><contacts><gsm info2="b">33612345678</gsm></contacts></npai>"#;
        let list = contacts(&headers("text/xml"), &Bytes::from_static(xml), "npai").unwrap();
        assert_eq!(list[0].info[1], "b");
        let hook = WebhookBody::parse(
            &headers("application/json"),
            &Bytes::from_static(br#"{"webhook":{"type":"DLR","url":"https://example.com/dlr"}}"#),
        )
        .unwrap();
        assert_eq!((hook.kind.as_deref(), hook.signature), (Some("DLR"), None));
    }
}
