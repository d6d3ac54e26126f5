//! Octopush's old API (`www.octopush-dm.com/api/…`): parameters in the query
//! string or a form-encoded body (UTF-8), answers in XML under `<octopush>`,
//! or in JSON at the same path followed by `/json`.
//!
//! ```text
//! POST /api/sms            user_login, api_key, sms_recipients, sms_text, sms_type,
//!                          sms_sender, sms_mode, sending_date (or sending_time),
//!                          request_mode, request_id, transactional, with_replies,
//!                          request_keys, request_sha1
//! POST /api/balance        SMS the balance buys, per type: <balance type="FR">…
//! POST /api/credit         the balance in euros: <credit>…</credit>
//! ```
//! (GET works the same, and a trailing `/` is accepted.)
//!
//! Answers are HTTP 200, errors included — the official SDKs read
//! `error_code` only from 2xx answers — but for a body over the size limit
//! (413), rate limiting (429, `Retry-After`) and relais' own failures (500),
//! which still carry an `error_code`.
//!
//! Decisions where Octopush documents nothing or relais differs:
//! - `sms_type` is required (112 when absent, 208 when unknown); `sms_sender`
//!   is used for `FR` and `WWW` only (low cost has no custom sender), the
//!   account's default sender otherwise.
//! - `transactional=1` sends a transactional campaign; absent or `0` a
//!   marketing one (quiet hours, STOP mention required: 121), as the SDKs
//!   describe the option.
//! - A sending date (`sending_date`, or `sending_time` as the PHP SDK names
//!   it: Unix seconds, an instant whatever "GMT+1" the docs add) schedules the
//!   campaign; `sms_mode=2` without one is refused (500).
//! - `request_keys`/`request_sha1`: when `request_keys` is given, the SHA-1 of
//!   the values of the fields its letters name (the SDK's table, in the
//!   letters' order, absent fields skipped) must equal `request_sha1`.
//! - `ticket` is `api<campaign id>` (empty when simulated); `balance` is the
//!   balance after the send (unchanged when simulated; empty for a postpaid
//!   account); `number_of_sendings` counts SMS (segments); each `success`
//!   adds `sms_needed`; `failures` list the numbers left out with their code
//!   (see [`super::errors`]). In JSON, `successs` and `failures` are arrays of
//!   those objects and numbers keep their `+`.
//! - `/api/balance` tells, per type (`FR` premium, `XXX` low cost), how many
//!   SMS to the account's default region the balance buys (2 decimals,
//!   rounded down); `/api/credit` the balance itself. Both are empty for a
//!   postpaid account.
//! - Personalisation fields (`recipients_first_names`, `sms_fields_1`…) and
//!   `msisdn_sender` are ignored.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use jiff::Timestamp;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use relais_core::money::Amount;
use relais_core::plan::{self, MessageKind, Recipient, SendRequest};
use relais_core::pricing::RouteClass;
use relais_store::Account;
use sha1::{Digest, Sha1};

use super::errors::{Code, Failure, recipient_code};
use super::{Send, Sent};
use crate::auth::Caller;
use crate::dialects::common::body;
use crate::dialects::common::credits;
use crate::dialects::common::format::{Format, Object, Value};
use crate::dialects::common::forms::{FormError, Params};
use crate::dialects::common::numbers::{self, ListError, ListRules};
use crate::state::{AppState, SharedState};

/// The root element of every XML answer.
const ROOT: &str = "octopush";
/// Most characters in `sms_text`.
pub const MAX_TEXT_CHARS: usize = 459;
const CURRENCY: &str = "€";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Sms,
    Balance,
    Credit,
}

pub fn router() -> Router<SharedState> {
    let mut router = Router::new();
    for (path, endpoint) in [
        ("/api/sms", Endpoint::Sms),
        ("/api/balance", Endpoint::Balance),
        ("/api/credit", Endpoint::Credit),
    ] {
        for (suffix, format) in [
            ("", Format::Xml),
            ("/", Format::Xml),
            ("/json", Format::Json),
            ("/json/", Format::Json),
        ] {
            let handler = move |State(state): State<SharedState>, request: Request| async move {
                match answer(&state, endpoint, format, request).await {
                    Ok(response) => response,
                    Err(failure) => refusal(&failure, format),
                }
            };
            router = router.route(
                &format!("{path}{suffix}"),
                on(MethodFilter::GET.or(MethodFilter::POST), handler),
            );
        }
    }
    router
}

/// An error answer: `<octopush><error_code>101</error_code></octopush>`.
fn refusal(failure: &Failure, format: Format) -> Response {
    let status = match failure.status {
        s @ (StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::TOO_MANY_REQUESTS
        | StatusCode::INTERNAL_SERVER_ERROR) => s,
        _ => StatusCode::OK,
    };
    let tree = Value::from(Object::new().field("error_code", failure.code.text()));
    failure.with_retry_after(tree.respond(format, status, ROOT))
}

async fn answer(
    state: &AppState,
    endpoint: Endpoint,
    format: Format,
    request: Request,
) -> Result<Response, Failure> {
    let params = params(request).await?;
    if params == Params::default() {
        return Err(Failure::invalid(Code::NO_PARAMETERS, "no parameter given"));
    }
    let caller = super::caller(state, params.get("user_login"), params.get("api_key")).await?;
    match endpoint {
        Endpoint::Sms => {
            check_signature(&params)?;
            let send = parse_send(&params, state.config.max_recipients)?;
            let sent = super::send(state, &caller, &send).await?;
            Ok(sms_answer(&caller, &send, &sent, format).respond(format, StatusCode::OK, ROOT))
        }
        Endpoint::Balance => {
            let caller = caller.reread(state).await.map_err(Failure::internal)?;
            balance(state, &caller.account, format)
        }
        Endpoint::Credit => {
            let caller = caller.reread(state).await.map_err(Failure::internal)?;
            let credit = caller.account.balance.map(|b| b.to_decimal_string(2));
            let tree = Object::new()
                .field("error_code", Code::OK.text())
                .field("credit", credit);
            Ok(Value::from(tree).respond(format, StatusCode::OK, ROOT))
        }
    }
}

/// The query's parameters, then the body's (which win when repeated).
async fn params(request: Request) -> Result<Params, Failure> {
    let bad_encoding = |e: FormError| Failure::invalid(Code::CANNOT_PROCESS, e.to_string());
    let mut params = Params::from_query(request.uri().query()).map_err(bad_encoding)?;
    let body = body::read(request).await?;
    params.extend(Params::parse(&body).map_err(bad_encoding)?);
    Ok(params)
}

/// The fields the letters of `request_keys` stand for (the SDK's table).
const SIGNED_FIELDS: [(char, &str); 14] = [
    ('T', "sms_text"),
    ('R', "sms_recipients"),
    ('M', "sms_mode"),
    ('Y', "sms_type"),
    ('S', "sms_sender"),
    ('D', "sms_date"),
    ('a', "recipients_first_names"),
    ('b', "recipients_last_names"),
    ('c', "sms_fields_1"),
    ('d', "sms_fields_2"),
    ('e', "sms_fields_3"),
    ('W', "with_replies"),
    ('N', "transactional"),
    ('Q', "request_id"),
];

/// The SHA-1 (hex) of the values the letters of `keys` name, in order.
pub fn request_sha1(keys: &str, params: &Params) -> String {
    let mut hasher = Sha1::new();
    for letter in keys.chars() {
        let value = SIGNED_FIELDS
            .iter()
            .find(|(l, _)| *l == letter)
            .and_then(|(_, field)| params.get(field));
        if let Some(value) = value {
            hasher.update(value.as_bytes());
        }
    }
    hex::encode(hasher.finalize())
}

/// With `request_keys`, `request_sha1` must be there (123) and match (124).
fn check_signature(params: &Params) -> Result<(), Failure> {
    let Some(keys) = params.get("request_keys").filter(|k| !k.is_empty()) else {
        return Ok(());
    };
    let given = params
        .get("request_sha1")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Failure::invalid(Code::MISSING_SHA1, Code::MISSING_SHA1.message()))?;
    if !request_sha1(keys, params).eq_ignore_ascii_case(given) {
        return Err(Failure::invalid(Code::BAD_SHA1, Code::BAD_SHA1.message()));
    }
    Ok(())
}

/// A `0`/`1` flag (absent or empty: 0).
fn flag(params: &Params, name: &str) -> Result<bool, Failure> {
    match params.get(name).map(str::trim) {
        None | Some("" | "0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(Failure::invalid(
            Code::CANNOT_PROCESS,
            format!("{name} must be 0 or 1, not {other:?}"),
        )),
    }
}

pub(crate) fn parse_send(params: &Params, max_recipients: usize) -> Result<Send, Failure> {
    let no_recipients = || Failure::invalid(Code::NO_RECIPIENTS, Code::NO_RECIPIENTS.message());
    let list = params.get("sms_recipients").ok_or_else(no_recipients)?;
    let rules = ListRules {
        max: max_recipients,
        strict: false,
    };
    let numbers = numbers::split(list, rules).map_err(|e| match e {
        ListError::TooMany { .. } => Failure::invalid(Code::TOO_MANY_CONTACTS, e.to_string()),
        _ => no_recipients(),
    })?;

    let text = params
        .get("sms_text")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| Failure::invalid(Code::NO_TEXT, Code::NO_TEXT.message()))?;
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Failure::invalid(
            Code::TEXT_TOO_LONG,
            format!("sms_text has more than {MAX_TEXT_CHARS} characters"),
        ));
    }

    let route_class = match params.get("sms_type").map(str::trim) {
        None | Some("") => {
            return Err(Failure::invalid(
                Code::NO_SMS_TYPE,
                Code::NO_SMS_TYPE.message(),
            ));
        }
        Some("XXX") => RouteClass::LowCost,
        Some("FR" | "WWW") => RouteClass::Premium,
        Some(other) => {
            return Err(Failure::invalid(
                Code::BAD_SMS_TYPE,
                format!("sms_type must be XXX, FR or WWW, not {other:?}"),
            ));
        }
    };
    let sender = match route_class {
        RouteClass::LowCost => None,
        RouteClass::Premium => params
            .get("sms_sender")
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned),
    };

    let send_at = super::present(params.get("sending_date"))
        .or_else(|| super::present(params.get("sending_time")))
        .map(|d| {
            d.parse::<i64>()
                .ok()
                .and_then(|s| Timestamp::from_second(s).ok())
                .ok_or_else(|| {
                    Failure::invalid(
                        Code::CANNOT_PROCESS,
                        format!("the sending date {d:?} is not a Unix timestamp"),
                    )
                })
        })
        .transpose()?;
    match params.get("sms_mode").map(str::trim) {
        None | Some("" | "1") => {}
        Some("2") if send_at.is_some() => {}
        Some("2") => {
            return Err(Failure::invalid(
                Code::CANNOT_PROCESS,
                "sms_mode 2 (deferred) needs a sending_date",
            ));
        }
        Some(other) => {
            return Err(Failure::invalid(
                Code::CANNOT_PROCESS,
                format!("sms_mode must be 1 or 2, not {other:?}"),
            ));
        }
    }

    let simulate = match params.get("request_mode").map(str::trim) {
        None | Some("" | "real") => false,
        Some("simu") => true,
        Some(other) => {
            return Err(Failure::invalid(
                Code::CANNOT_PROCESS,
                format!("request_mode must be real or simu, not {other:?}"),
            ));
        }
    };
    let kind = if flag(params, "transactional")? {
        MessageKind::Transactional
    } else {
        MessageKind::Marketing
    };
    flag(params, "with_replies")?;

    Ok(Send {
        request: SendRequest {
            text: Some(text.to_owned()),
            recipients: numbers.into_iter().map(Recipient::new).collect(),
            sender,
            kind,
            send_at,
            route_class,
            ..SendRequest::default()
        },
        simulate,
        request_id: super::present(params.get("request_id")).map(str::to_owned),
    })
}

/// The answer to a send (see the module documentation).
fn sms_answer(caller: &Caller, send: &Send, sent: &Sent, format: Format) -> Value {
    let plan = &sent.plan;
    let successes: Vec<Value> = plan
        .messages
        .iter()
        .map(|m| {
            Object::new()
                .field("recipient", m.number.to_string())
                .field("country_code", m.country.as_str())
                .field("cost", Value::amount(m.cost))
                .field("sms_needed", m.segments)
                .into()
        })
        .collect();
    let failures: Vec<Value> = plan::listed_rejections(&plan.rejections)
        .iter()
        .filter_map(|r| {
            let code = recipient_code(&r.reason, plan.route_class)?;
            let given = &send.request.recipients[r.recipient as usize].number;
            Some(
                Object::new()
                    .field("error_code", code.text())
                    .field("recipient", given.as_str())
                    .into(),
            )
        })
        .collect();
    let balance = match sent.campaign_id {
        Some(_) => plan.balance_after,
        None => caller.account.balance,
    };
    let sendings: u64 = plan.messages.iter().map(|m| u64::from(m.segments)).sum();
    Object::new()
        .field("error_code", Code::OK.text())
        .field("cost", Value::amount(plan.cost))
        .field("balance", balance.map(Value::amount))
        .field(
            "ticket",
            sent.campaign_id
                .map_or_else(String::new, |id| format!("api{id}")),
        )
        .field("sending_date", plan.send_at.as_second())
        .field("number_of_sendings", sendings)
        .field("currency_code", CURRENCY)
        .field("successs", wrap(format, "success", successes))
        .field("failures", wrap(format, "failure", failures))
        .into()
}

/// A list as Octopush writes it: in XML one `<item>` per entry inside the
/// list's element (`<successs><success>…`), nothing inside when empty; in
/// JSON an array.
fn wrap(format: Format, item: &'static str, items: Vec<Value>) -> Value {
    match format {
        Format::Json => Value::List(items),
        Format::Xml if items.is_empty() => Value::Null,
        Format::Xml => Object::new().field(item, items).into(),
    }
}

/// `/api/balance`: SMS the balance buys per type, as
/// `<balance type="FR">1251.80</balance>` or `{"balance": {"FR": "1251.80"}}`.
fn balance(state: &AppState, account: &Account, format: Format) -> Result<Response, Failure> {
    let mut balances = Vec::new();
    for (sms_type, class) in [("FR", RouteClass::Premium), ("XXX", RouteClass::LowCost)] {
        let unit =
            credits::unit_price(state, account, class).map_err(|e| Failure::internal(e.message))?;
        let count = account.balance.zip(unit).map(|(balance, unit)| {
            // Hundredths of SMS, rounded down.
            let hundredths = credits::whole(balance * 100, unit);
            let micros = i64::try_from(hundredths).unwrap_or(i64::MAX / 10_000) * 10_000;
            Amount::from_micros(micros).to_decimal_string(2)
        });
        balances.push((sms_type, count));
    }
    let body = match format {
        Format::Json => {
            let mut per_type = Object::new();
            for (sms_type, count) in balances {
                per_type.push(sms_type, count);
            }
            let tree = Object::new()
                .field("error_code", Code::OK.text())
                .field("balance", per_type);
            return Ok(Value::from(tree).respond(format, StatusCode::OK, ROOT));
        }
        Format::Xml => balance_xml(&balances),
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(Format::Xml.content_type()),
        )],
        body,
    )
        .into_response())
}

/// The XML balance answer, whose `type` attributes the shared answer tree
/// does not express.
fn balance_xml(balances: &[(&str, Option<String>)]) -> String {
    let mut writer = Writer::new(Vec::new());
    // Writing into a Vec cannot fail: the results are ignored.
    let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let _ = writer.write_event(Event::Start(BytesStart::new(ROOT)));
    let code = Code::OK.text();
    let _ = writer.write_event(Event::Start(BytesStart::new("error_code")));
    let _ = writer.write_event(Event::Text(BytesText::new(&code)));
    let _ = writer.write_event(Event::End(BytesEnd::new("error_code")));
    for (sms_type, count) in balances {
        let start = BytesStart::new("balance").with_attributes([("type", *sms_type)]);
        match count {
            Some(count) => {
                let _ = writer.write_event(Event::Start(start));
                let _ = writer.write_event(Event::Text(BytesText::new(count)));
                let _ = writer.write_event(Event::End(BytesEnd::new("balance")));
            }
            None => {
                let _ = writer.write_event(Event::Empty(start));
            }
        }
    }
    let _ = writer.write_event(Event::End(BytesEnd::new(ROOT)));
    String::from_utf8(writer.into_inner()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        Params::parse(query.as_bytes()).unwrap()
    }

    #[test]
    fn signatures_follow_the_sdk_table() {
        let p = params("sms_text=Hello&sms_recipients=%2B33601010101&sms_type=FR&sms_sender=Shop");
        // sha1("Hello+33601010101FRShop"); D (sms_date) is absent and skipped.
        assert_eq!(
            request_sha1("TRYSD", &p),
            "f2980f706a609d8f39c3f4fe2ad3ae8d6584239c"
        );
        let mut signed = p.clone();
        signed.push("request_keys", "TRYSD");
        assert_eq!(
            check_signature(&signed).unwrap_err().code,
            Code::MISSING_SHA1
        );
        signed.push("request_sha1", request_sha1("TRYSD", &p).to_uppercase());
        assert!(check_signature(&signed).is_ok());
        signed.push("request_sha1", "0".repeat(40));
        assert_eq!(check_signature(&signed).unwrap_err().code, Code::BAD_SHA1);
    }

    #[test]
    fn the_documented_deferred_send_translates() {
        let send = parse_send(
            &params(
                "user_login=a%40b.com&api_key=k&sms_text=un+exemple+de+texte&sms_recipients=0033601010101\
                 &sms_type=FR&sms_sender=Octopush&sms_mode=2&sending_date=1455975613",
            ),
            1000,
        )
        .unwrap();
        assert_eq!(send.request.recipients, [Recipient::new("0033601010101")]);
        assert_eq!(send.request.text.as_deref(), Some("un exemple de texte"));
        assert_eq!(send.request.sender.as_deref(), Some("Octopush"));
        assert_eq!(send.request.route_class, RouteClass::Premium);
        assert_eq!(send.request.kind, MessageKind::Marketing);
        assert_eq!(send.request.send_at.unwrap().as_second(), 1_455_975_613);
        assert!(!send.simulate);
        assert_eq!(send.request_id, None);
    }

    #[test]
    fn options() {
        let send = parse_send(
            &params(
                "sms_text=Code+1234&sms_recipients=%2B33601010101,+%2B33601010102&sms_type=XXX\
                 &sms_sender=Shop&sending_time=1455975613&request_mode=simu&request_id=abc\
                 &transactional=1&with_replies=1",
            ),
            1000,
        )
        .unwrap();
        assert_eq!(send.request.recipients.len(), 2);
        assert_eq!(send.request.route_class, RouteClass::LowCost);
        assert_eq!(send.request.sender, None, "low cost has no custom sender");
        assert_eq!(send.request.kind, MessageKind::Transactional);
        assert_eq!(send.request.send_at.unwrap().as_second(), 1_455_975_613);
        assert!(send.simulate);
        assert_eq!(send.request_id.as_deref(), Some("abc"));
    }

    #[test]
    fn refusals() {
        let code = |query: &str| parse_send(&params(query), 2).unwrap_err().code;
        let ok = "sms_text=Hi&sms_recipients=%2B33601010101&sms_type=FR";
        assert_eq!(code("sms_text=Hi&sms_type=FR"), Code::NO_RECIPIENTS);
        assert_eq!(
            code("sms_text=Hi&sms_type=FR&sms_recipients=,"),
            Code::NO_RECIPIENTS
        );
        assert_eq!(
            code("sms_text=Hi&sms_type=FR&sms_recipients=1,2,3"),
            Code::TOO_MANY_CONTACTS
        );
        assert_eq!(
            code("sms_recipients=1&sms_type=FR&sms_text=+"),
            Code::NO_TEXT
        );
        let long = format!("sms_recipients=1&sms_type=FR&sms_text={}", "a".repeat(460));
        assert_eq!(code(&long), Code::TEXT_TOO_LONG);
        assert_eq!(code("sms_recipients=1&sms_text=Hi"), Code::NO_SMS_TYPE);
        assert_eq!(
            code("sms_recipients=1&sms_text=Hi&sms_type=SMS"),
            Code::BAD_SMS_TYPE
        );
        for bad in [
            "&sms_mode=2",
            "&sms_mode=3",
            "&sending_date=tomorrow",
            "&request_mode=test",
            "&transactional=yes",
            "&with_replies=2",
        ] {
            assert_eq!(code(&format!("{ok}{bad}")), Code::CANNOT_PROCESS, "{bad}");
        }
        let text = format!("sms_recipients=1&sms_type=FR&sms_text={}", "é".repeat(459));
        assert!(parse_send(&params(&text), 2).is_ok());
    }

    #[test]
    fn balance_xml_has_type_attributes() {
        assert_eq!(
            balance_xml(&[("FR", Some("1251.80".into())), ("XXX", None)]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><octopush><error_code>000</error_code>\
             <balance type=\"FR\">1251.80</balance><balance type=\"XXX\"/></octopush>"
        );
    }
}
