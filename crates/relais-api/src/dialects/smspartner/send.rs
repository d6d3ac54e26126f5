//! Sending: `POST /v1/send` (one text to up to 500 numbers) and
//! `POST /v1/bulk-send` (a text per number, `SMSList`), each translated into
//! one [`SendRequest`] for the pipeline.
//!
//! Parameters: `gamme` 1/2 is the premium or low-cost route; `isStopSms=1`
//! makes a marketing message, to which the pipeline appends the STOP mention
//! by account policy (on either route) and applies quiet hours;
//! `isUnicode=1` forces UCS-2; `sandbox=1` plans without storing or charging
//! (the answer then has no `message_id`); `scheduledDeliveryDate`
//! (`dd/mm/YYYY`, Europe/Paris) needs `time` (0–23) and `minute` (0–55, a
//! multiple of 5); `tag` (at most 20 characters) is kept with the campaign;
//! `urlDlr` receives the campaign's delivery reports and `urlResponse` the
//! replies to its messages; `:br:` in a message is a line break.
//!
//! SMS Partner refuses what relais would filter in some cases, so a send is
//! planned once without storing (a probe) before it is sent: `/send` with an
//! invalid number is refused (9); a send where no recipient is left is
//! refused, with 13 when every recipient's country has no price (is not
//! allowed), 14 when every recipient is on the STOP list (blacklist), 9
//! otherwise. In `/bulk-send` each rejected entry has its own code in
//! `SMSResponse_List`.
//!
//! Codes 22 and 23 (marketing refused at night or on a Sunday or holiday)
//! are never answered: relais defers such a message to the next allowed time
//! instead, as the provider's own documentation says it does ("paused until
//! 08:00 of the next working day"); the answer's `scheduledDeliveryDate`
//! then says when it goes.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use relais_core::encoding::EncodingMode;
use relais_core::plan::{
    FilterReason, MessageKind, Plan, PlanError, Recipient, Rejection, SendRequest,
};
use relais_core::pricing::RouteClass;
use relais_engine::callback_url::check_callback_url;
use relais_engine::send::{SendError, SendOptions, SendOutcome};
use relais_store::{Account, CampaignId, CampaignMeta};

use super::errors::{Failure, FieldError};
use super::input::{Input, success};
use crate::dialects::common::format::{Object, Value};
use crate::dialects::common::numbers::{self, ListError, ListRules};
use crate::dialects::common::paris;
use crate::dialects::common::scalar;
use crate::error::ApiError;
use crate::state::AppState;
use crate::v1::balance::CURRENCY;

/// Most numbers in one send.
pub const MAX_NUMBERS: usize = 500;
/// Longest `tag`.
const MAX_TAG: usize = 20;

/// What both sends share besides recipients and text.
struct Options {
    sender: Option<String>,
    kind: MessageKind,
    route_class: RouteClass,
    encoding: EncodingMode,
    send_at: Option<jiff::Timestamp>,
    sandbox: bool,
    meta: CampaignMeta,
}

/// `:br:` is SMS Partner's line break.
fn message_text(raw: &str) -> String {
    raw.replace(":br:", "\n")
}

/// A `0`/`1` flag; `None` when absent.
fn flag(input: &Input, name: &str, errors: &mut Vec<FieldError>) -> bool {
    match input.param(name) {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => {
            errors.push(FieldError::new(
                name,
                format!("{name} doit valoir 0 ou 1, pas {other:?}"),
            ));
            false
        }
    }
}

/// A whole number in `range`, stepping by `step`; the error names the field.
fn clock_field(
    input: &Input,
    name: &str,
    range: std::ops::RangeInclusive<i8>,
    step: i8,
    required: &str,
    errors: &mut Vec<FieldError>,
) -> Option<i8> {
    let Some(raw) = input.param(name) else {
        errors.push(FieldError::new(name, required));
        return None;
    };
    match raw.parse::<i8>() {
        Ok(n) if range.contains(&n) && n % step == 0 => Some(n),
        _ => {
            errors.push(FieldError::new(
                name,
                format!(
                    "{name} doit être compris entre {} et {} (pas de {step}), pas {raw:?}",
                    range.start(),
                    range.end()
                ),
            ));
            None
        }
    }
}

fn schedule(input: &Input, errors: &mut Vec<FieldError>) -> Option<jiff::Timestamp> {
    let raw = input.param("scheduledDeliveryDate")?;
    let date = paris::parse_dmy(raw)
        .map_err(|e| errors.push(FieldError::new("scheduledDeliveryDate", e.to_string())))
        .ok();
    let hour = clock_field(input, "time", 0..=23, 1, "L'heure est requise", errors);
    let minute = clock_field(input, "minute", 0..=55, 5, "La minute est requise", errors);
    let (date, hour, minute) = (date?, hour?, minute?);
    paris::at(date, hour, minute)
        .map_err(|e| errors.push(FieldError::new("time", e.to_string())))
        .ok()
}

fn options(state: &AppState, input: &Input) -> Result<Options, Vec<FieldError>> {
    let mut errors = Vec::new();
    let route_class = match input.param("gamme") {
        None | Some("1") => RouteClass::Premium,
        Some("2") => RouteClass::LowCost,
        Some(other) => {
            errors.push(FieldError::new(
                "gamme",
                format!("La gamme doit valoir 1 ou 2, pas {other:?}"),
            ));
            RouteClass::Premium
        }
    };
    let kind = if flag(input, "isStopSms", &mut errors) {
        MessageKind::Marketing
    } else {
        MessageKind::Transactional
    };
    let encoding = if flag(input, "isUnicode", &mut errors) {
        EncodingMode::Ucs2
    } else {
        EncodingMode::Auto
    };
    let sandbox = flag(input, "sandbox", &mut errors);
    let send_at = schedule(input, &mut errors);
    let tag = input.param("tag").map(str::to_owned);
    if tag.as_ref().is_some_and(|t| t.chars().count() > MAX_TAG) {
        errors.push(FieldError::new(
            "tag",
            format!("Le tag ne peut pas dépasser {MAX_TAG} caractères"),
        ));
    }
    let allow_private = state.config.allow_private_callbacks;
    let mut url = |name: &str| {
        let url = input.param(name)?;
        match check_callback_url(url, allow_private) {
            Ok(()) => Some(url.to_owned()),
            Err(e) => {
                errors.push(FieldError::new(name, e.to_string()));
                None
            }
        }
    };
    let callback_url = url("urlDlr");
    let reply_url = url("urlResponse");
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Options {
        sender: input.param("sender").map(str::to_owned),
        kind,
        route_class,
        encoding,
        send_at,
        sandbox,
        meta: CampaignMeta {
            source: super::NAME.into(),
            callback_url,
            reply_url,
            tag,
            ..CampaignMeta::default()
        },
    })
}

impl Options {
    fn request(&self, text: Option<String>, recipients: Vec<Recipient>) -> SendRequest {
        SendRequest {
            text,
            recipients,
            sender: self.sender.clone(),
            kind: self.kind,
            send_at: self.send_at,
            encoding: self.encoding,
            route_class: self.route_class,
            ..SendRequest::default()
        }
    }
}

/// The options, or none and the errors to report with the request's own.
fn split_errors(result: Result<Options, Vec<FieldError>>) -> (Option<Options>, Vec<FieldError>) {
    match result {
        Ok(options) => (Some(options), Vec::new()),
        Err(errors) => (None, errors),
    }
}

fn list_failure(e: ListError) -> Failure {
    match e {
        ListError::TooMany { max, given } => {
            Failure::new(50, format!("Plus de {max} numéros de téléphone ({given})"))
        }
        ListError::Empty | ListError::TrailingComma | ListError::EmptyItem { .. } => {
            Failure::new(2, "Le numéro de téléphone est requis")
        }
    }
}

/// SMS Partner's code and message for a recipient relais filtered out.
fn rejection(reason: &FilterReason, number: &str) -> (u16, String) {
    match reason {
        FilterReason::Invalid(_) => (
            9,
            format!("Ce numéro de téléphone n'est pas valide ({number})"),
        ),
        FilterReason::NotAllowed => (13, format!("Aucun prix pour la destination de {number}")),
        FilterReason::Blacklisted => (14, format!("Le numéro {number} est dans la liste STOP")),
        FilterReason::Duplicated => (9, format!("Le numéro {number} est en double")),
        FilterReason::Npai => (9, format!("Le numéro {number} n'est plus attribué (NPAI)")),
        FilterReason::Flood => (
            9,
            format!("Trop de SMS envoyés récemment au numéro {number}"),
        ),
        FilterReason::CountryLimit => (
            9,
            format!("Limite mensuelle atteinte pour le pays de {number}"),
        ),
    }
}

/// What SMS Partner refuses in a plan (see the module documentation).
fn refusal(plan: &Plan, request: &SendRequest, refuse_invalid: bool) -> Result<(), Failure> {
    if refuse_invalid && plan.counters.invalid > 0 {
        let invalid = plan
            .rejections
            .iter()
            .filter(|r| matches!(r.reason, FilterReason::Invalid(_)));
        return Err(Failure::constraints(field_errors(invalid, request)));
    }
    if plan.counters.sent > 0 {
        return Ok(());
    }
    Err(nothing_left(&plan.rejections, request))
}

/// A send every recipient was left out of: 13 when no country has a
/// price, 14 when every number is on the STOP list, else 9 with each.
fn nothing_left(rejections: &[Rejection], request: &SendRequest) -> Failure {
    let all = |pred: fn(&FilterReason) -> bool| rejections.iter().all(|r| pred(&r.reason));
    if all(|r| matches!(r, FilterReason::NotAllowed)) {
        return Failure::new(13, "Aucun prix pour cette destination");
    }
    if all(|r| matches!(r, FilterReason::Blacklisted)) {
        return Failure::new(14, "Le numéro est dans la liste STOP");
    }
    Failure::constraints(field_errors(rejections.iter(), request))
}

fn field_errors<'a>(
    rejections: impl Iterator<Item = &'a Rejection>,
    request: &SendRequest,
) -> Vec<FieldError> {
    rejections
        .map(|r| {
            let number = &request.recipients[r.recipient as usize].number;
            FieldError::new("phoneNumbers", rejection(&r.reason, number).1)
        })
        .collect()
}

fn planned(
    outcome: Result<SendOutcome, SendError>,
    request: &SendRequest,
) -> Result<(Option<CampaignId>, Plan), Failure> {
    match outcome {
        Ok(SendOutcome::Planned { campaign_id, plan }) => Ok((campaign_id, plan)),
        Ok(SendOutcome::Replayed(_)) => {
            Err(ApiError::internal("a send without idempotency key was replayed").into())
        }
        Err(SendError::Plan(PlanError::NoValidRecipient { rejections, .. })) => {
            Err(nothing_left(&rejections, request))
        }
        Err(e) => Err(e.into()),
    }
}

/// Probes, refuses, then sends unless in the sandbox.
async fn deliver(
    state: &AppState,
    account: &Account,
    request: &SendRequest,
    options: Options,
    refuse_invalid: bool,
) -> Result<(Option<CampaignId>, Plan), Failure> {
    let probe = SendOptions {
        simulate: true,
        ..SendOptions::default()
    };
    let (_, plan) = planned(state.pipeline.send(account, request, probe).await, request)?;
    refusal(&plan, request, refuse_invalid)?;
    if options.sandbox {
        return Ok((None, plan));
    }
    let real = SendOptions {
        simulate: false,
        meta: options.meta,
        ..SendOptions::default()
    };
    planned(state.pipeline.send(account, request, real).await, request)
}

fn segments(plan: &Plan) -> u64 {
    plan.messages.iter().map(|m| u64::from(m.segments)).sum()
}

/// `POST /v1/send`: `{"success":true,"code":200,"message_id":307,"nb_sms":1,"cost":0.038,"currency":"EUR"}`,
/// with `scheduledDeliveryDate` (`Y-m-d H:i:s`) when the first message goes later.
pub async fn send(State(state): State<crate::state::SharedState>, input: Input) -> Response {
    input.reply(send_one(&state, &input).await)
}

async fn send_one(state: &AppState, input: &Input) -> Result<Value, Failure> {
    let list = input
        .param("phoneNumbers")
        .ok_or_else(|| list_failure(ListError::Empty))?;
    let rules = ListRules {
        max: MAX_NUMBERS,
        strict: false,
    };
    let numbers = numbers::split(list, rules).map_err(list_failure)?;
    let text = input.params.get("message").filter(|m| !m.trim().is_empty());
    let (options, mut errors) = split_errors(options(state, input));
    if text.is_none() {
        errors.insert(0, FieldError::new("message", "Le message est requis"));
    }
    let (Some(options), true) = (options, errors.is_empty()) else {
        return Err(Failure::constraints(errors));
    };
    let request = options.request(
        text.map(message_text),
        numbers.into_iter().map(Recipient::new).collect(),
    );
    let (campaign_id, plan) =
        deliver(state, &input.caller.account, &request, options, true).await?;
    let mut answer = success();
    if let Some(id) = campaign_id {
        answer.push("message_id", id);
    }
    answer.push("nb_sms", segments(&plan));
    answer.push("cost", Value::amount(plan.cost));
    answer.push("currency", CURRENCY);
    let send_at = plan.send_at.as_millisecond();
    if send_at > relais_store::clock::now_ms() {
        answer.push("scheduledDeliveryDate", paris::format_datetime(send_at));
    }
    Ok(answer.into())
}

/// `POST /v1/bulk-send`: a text per number in `SMSList`
/// (`[{"phoneNumber","message"}]`; an entry without a message takes the
/// request's `message`). Answers `message_id`, `currency`, `cost`, `nbSMS`
/// and `SMSResponse_List`, one entry per `SMSList` entry, in order:
/// `{"success":true,"code":200,"nbSms","cost","phoneNumber"}` or
/// `{"success":false,"code","message","phoneNumber"}`.
pub async fn bulk_send(State(state): State<crate::state::SharedState>, input: Input) -> Response {
    input.reply(send_bulk(&state, &input).await)
}

async fn send_bulk(state: &AppState, input: &Input) -> Result<Value, Failure> {
    let entries = input
        .list(&["SMSList"])
        .filter(|l| !l.is_empty())
        .ok_or_else(|| list_failure(ListError::Empty))?;
    if entries.len() > MAX_NUMBERS {
        return Err(list_failure(ListError::TooMany {
            max: MAX_NUMBERS,
            given: entries.len(),
        }));
    }
    let shared_text = input.params.get("message").filter(|m| !m.trim().is_empty());
    let (options, mut errors) = split_errors(options(state, input));
    let mut recipients = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let field = |name: &str| entry.get(name).and_then(scalar::text);
        let number = field("phoneNumber").filter(|n| !n.trim().is_empty());
        let text = field("message").filter(|m| !m.trim().is_empty());
        if number.is_none() {
            errors.push(FieldError::new(
                format!("SMSList][{i}][phoneNumber"),
                "Le numéro de téléphone est requis",
            ));
        }
        if text.is_none() && shared_text.is_none() {
            errors.push(FieldError::new(
                format!("SMSList][{i}][message"),
                "Le message est requis",
            ));
        }
        recipients.push(Recipient {
            number: number.unwrap_or_default(),
            client_ref: None,
            text: text.as_deref().map(message_text),
        });
    }
    let (Some(options), true) = (options, errors.is_empty()) else {
        return Err(Failure::constraints(errors));
    };
    let request = options.request(shared_text.map(message_text), recipients);
    let (campaign_id, plan) =
        deliver(state, &input.caller.account, &request, options, false).await?;

    let sent: HashMap<u32, _> = plan.messages.iter().map(|m| (m.recipient, m)).collect();
    let rejected: HashMap<u32, _> = plan
        .rejections
        .iter()
        .map(|r| (r.recipient, &r.reason))
        .collect();
    let responses: Vec<Object> = (0..request.recipients.len() as u32)
        .map(|i| {
            let given = request.recipients[i as usize].number.as_str();
            match (sent.get(&i), rejected.get(&i)) {
                (Some(m), _) => success()
                    .field("nbSms", m.segments)
                    .field("cost", Value::amount(m.cost))
                    .field("phoneNumber", m.number.to_string()),
                (None, reason) => {
                    let (code, message) =
                        reason.map_or((9, String::new()), |r| rejection(r, given));
                    Object::new()
                        .field("success", false)
                        .field("code", code)
                        .field("message", message)
                        .field("phoneNumber", given)
                }
            }
        })
        .collect();
    let mut answer = success();
    if let Some(id) = campaign_id {
        answer.push("message_id", id);
    }
    Ok(answer
        .field("currency", CURRENCY)
        .field("cost", Value::amount(plan.cost))
        .field("nbSMS", segments(&plan))
        .field("SMSResponse_List", responses)
        .into())
}
