//! Entry points for the fuzz targets (`fuzz/` at the repository root),
//! built only with the `fuzzing` feature: each dialect's request parsing,
//! from the body's bytes to the pipeline's [`SendRequest`], without HTTP,
//! authentication or a store. Each answers `None` where the door would
//! refuse the request.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use relais_core::plan::SendRequest;

use crate::dialects::common::body::BodyKind;
use crate::dialects::common::forms::Params;
use crate::dialects::common::numbers::{self, ListRules};
use crate::dialects::common::paris;
use crate::dialects::octopush::{old_api, v1};
use crate::dialects::smsfactor::requests::{Campaign, WebhookBody, contacts};
use crate::dialects::{smsadvert, smspartner};
use crate::extract::parse_json;
use crate::state::ApiConfig;

/// What a fuzz target sends with the body: its `Content-Type`.
fn headers(content_type: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(value) = content_type.and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers
}

/// SMSFactor `POST /send` (JSON or XML, by `Content-Type` or sniffed); the
/// contact lists (`/blacklist`, `/npai`) and webhook bodies are read too.
pub fn smsfactor_send(body: &[u8], content_type: Option<&str>) -> Option<SendRequest> {
    let headers = headers(content_type);
    let bytes = Bytes::copy_from_slice(body);
    let _ = contacts(&headers, &bytes, "blacklist");
    let _ = WebhookBody::parse(&headers, &bytes);
    Campaign::from_body(&headers, &bytes)
        .ok()?
        .into_request(&ApiConfig::default())
        .ok()
}

/// SMSFactor `GET /send?…`.
pub fn smsfactor_query(query: &str) -> Option<SendRequest> {
    let params = Params::from_query(Some(query)).ok()?;
    Campaign::from_query(&params)
        .ok()?
        .into_request(&ApiConfig::default())
        .ok()
}

/// SMSAdvert `POST /api/sms/` (JSON).
pub fn smsadvert_send(body: &[u8]) -> Option<SendRequest> {
    smsadvert::parse(body, &ApiConfig::default())
        .ok()
        .map(|(request, _callback)| request)
}

/// Octopush's old API `POST /api/sms` (a form).
pub fn octopush_old_send(body: &[u8]) -> Option<SendRequest> {
    let params = Params::parse(body).ok()?;
    old_api::parse_send(&params, ApiConfig::default().max_recipients)
        .ok()
        .map(|send| send.request)
}

/// Octopush v1 `POST /v1/public/sms-campaign/send` (JSON).
pub fn octopush_v1_send(body: &[u8]) -> Option<SendRequest> {
    parse_json::<v1::SendBody>(body)
        .ok()?
        .into_send(ApiConfig::default().max_recipients)
        .ok()
        .map(|send| send.request)
}

/// SMS Partner's body (a form, or a JSON object whose scalars become
/// parameters), then the fields `/v1/send` reads with pure rules: the number
/// list and the schedule date. The rest of its translation needs an
/// authenticated caller and is left to the HTTP tests.
pub fn smspartner_body(body: &[u8], form: bool) -> Option<Vec<String>> {
    let kind = if form { BodyKind::Form } else { BodyKind::Json };
    let mut params = Params::default();
    smspartner::input::read_body(kind, body, &mut params).ok()?;
    if let Some(date) = params.get("scheduledDeliveryDate") {
        let _ = paris::parse_dmy(date.trim());
    }
    let rules = ListRules {
        max: smspartner::send::MAX_NUMBERS,
        strict: false,
    };
    let list = params.get("phoneNumbers")?;
    let numbers = numbers::split(list, rules).ok()?;
    Some(numbers.into_iter().map(str::to_owned).collect())
}
