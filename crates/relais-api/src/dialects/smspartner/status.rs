//! Statuses: `GET /v1/message-status`, `POST /v1/multi-status` and
//! `GET /v1/bulk-status`. A `messageId` is a campaign id, as `/send`
//! answers it; a message is found in it by its number, in any usual format.
//!
//! Status words from relais' statuses: delivered `Delivered`; undelivered
//! and expired `Not delivered`; not yet reported on (scheduled, queued,
//! being submitted, submitted) `Waiting`; failed, rejected and cancelled
//! `ko`. `date` is the time of the message's last change, in Unix seconds
//! written as a string, and `stopSms` whether its number is now on the STOP
//! list (the blacklist), as the API's own answers show them.

use std::collections::HashSet;

use axum::extract::State;
use axum::response::Response;
use relais_core::number::{self, E164, NumberPolicy};
use relais_store::{Account, CampaignId, Message, MessageStatus, NumberList, Page};

use super::errors::{Failure, FieldError};
use super::input::{Input, success};
use super::send::MAX_NUMBERS;
use crate::dialects::common::format::{Object, Value};
use crate::dialects::common::scalar;
use crate::state::{AppState, SharedState};
use crate::v1::balance::CURRENCY;

/// SMS Partner's word for a status.
pub fn word(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::Delivered => "Delivered",
        MessageStatus::Undelivered | MessageStatus::Expired => "Not delivered",
        MessageStatus::Scheduled
        | MessageStatus::Queued
        | MessageStatus::Submitting
        | MessageStatus::Submitted => "Waiting",
        MessageStatus::Failed | MessageStatus::Rejected | MessageStatus::Cancelled => "ko",
    }
}

/// Unix seconds, as a string.
pub fn unix_date(ms: i64) -> String {
    ms.div_euclid(1000).to_string()
}

/// The `messageId` parameter: 3 when missing, 4 (not found) when not a number.
pub fn message_id(input: &Input) -> Result<CampaignId, Failure> {
    input
        .param("messageId")
        .ok_or_else(|| Failure::new(3, "L'identifiant du message est requis"))?
        .parse()
        .map_err(|_| Failure::not_found())
}

/// Page size when reading a campaign's messages.
const PAGE: u64 = 1000;

/// Every message of a campaign, or `None` when it is not the account's.
async fn all_messages(
    state: &AppState,
    account: &Account,
    id: CampaignId,
) -> Result<Option<Vec<Message>>, Failure> {
    if state.store.campaign(account.id, id).await?.is_none() {
        return Ok(None);
    }
    let page = Page {
        offset: 0,
        limit: 0,
    };
    Ok(Some(
        state
            .store
            .campaign_messages(account.id, id, None, page)
            .await?,
    ))
}

/// The message of campaign `id` sent to `number`, read a page at a time;
/// `None` when the campaign is not the account's or holds no such number
/// (an unknown id is one item's failure in `multi-status`, not the batch's).
async fn find(
    state: &AppState,
    account: &Account,
    id: CampaignId,
    number: &str,
) -> Result<Option<Message>, Failure> {
    if state.store.campaign(account.id, id).await?.is_none() {
        return Ok(None);
    }
    let Ok(number) = number::normalize(
        number,
        account.settings.default_region,
        NumberPolicy::default(),
    ) else {
        return Ok(None);
    };
    let mut offset = 0;
    loop {
        let page = Page {
            offset,
            limit: PAGE,
        };
        let messages = state
            .store
            .campaign_messages(account.id, id, None, page)
            .await?;
        if let Some(found) = messages.iter().find(|m| m.number == number.e164) {
            return Ok(Some(found.clone()));
        }
        if (messages.len() as u64) < PAGE {
            return Ok(None);
        }
        offset += PAGE;
    }
}

async fn stop_list(state: &AppState, account: &Account) -> Result<HashSet<E164>, Failure> {
    Ok(state
        .store
        .listed_numbers(account.id, NumberList::Blacklist)
        .await?)
}

/// `GET /v1/message-status?apiKey&messageId&phoneNumber`:
/// `{…,"number","messageId","stopSms","date","statut","cost","countryCode","currency"}`.
pub async fn message_status(State(state): State<SharedState>, input: Input) -> Response {
    let result = async {
        let id = message_id(&input)?;
        let number = input
            .param("phoneNumber")
            .ok_or_else(|| Failure::new(2, "Le numéro de téléphone est requis"))?;
        let account = &input.caller.account;
        let message = find(&state, account, id, number)
            .await?
            .ok_or_else(Failure::not_found)?;
        let stop = stop_list(&state, account).await?.contains(&message.number);
        Ok(success()
            .field("number", message.number.to_string())
            .field("messageId", id.to_string())
            .field("stopSms", stop)
            .field("date", unix_date(message.updated_at))
            .field("statut", word(message.status))
            .field("cost", Value::amount(message.cost))
            .field("countryCode", message.country.as_str())
            .field("currency", CURRENCY)
            .into())
    };
    input.reply(result.await)
}

/// `POST /v1/multi-status` with `SMSStatut_List` (or `SMSStatus_List`):
/// `[{"phoneNumber","messageId"}]` → `StatutResponse_List`, one entry per
/// item, in order: `{"success":true,"code":200,"phoneNumber","messageId",
/// "status","date","stopSms":"0"|"1","isSpam":"0"}`, or for a message not
/// found `{"success":false,"code":4,"phoneNumber","messageId","status":"Numéro introuvable"}`.
pub async fn multi_status(State(state): State<SharedState>, input: Input) -> Response {
    let result = async {
        let items = input
            .list(&["SMSStatut_List", "SMSStatus_List"])
            .ok_or_else(|| {
                Failure::constraints(vec![FieldError::new(
                    "SMSStatut_List",
                    "La liste SMSStatut_List est requise",
                )])
            })?;
        if items.len() > MAX_NUMBERS {
            return Err(Failure::new(
                50,
                format!("Plus de {MAX_NUMBERS} numéros de téléphone"),
            ));
        }
        let account = &input.caller.account;
        let stops = stop_list(&state, account).await?;
        let mut statuses = Vec::with_capacity(items.len());
        for item in items {
            let field = |name: &str| item.get(name).and_then(scalar::text).unwrap_or_default();
            let (number, raw_id) = (field("phoneNumber"), field("messageId"));
            let id_value: Value = match raw_id.parse::<i64>() {
                Ok(id) => id.into(),
                Err(_) => raw_id.clone().into(),
            };
            let found = match raw_id.parse::<CampaignId>() {
                Ok(id) => find(&state, account, id, &number).await?,
                Err(_) => None,
            };
            statuses.push(match found {
                Some(message) => success()
                    .field("phoneNumber", message.number.to_string())
                    .field("messageId", id_value)
                    .field("status", word(message.status))
                    .field("date", unix_date(message.updated_at))
                    .field(
                        "stopSms",
                        if stops.contains(&message.number) {
                            "1"
                        } else {
                            "0"
                        },
                    )
                    .field("isSpam", "0"),
                None => Object::new()
                    .field("success", false)
                    .field("code", 4)
                    .field("phoneNumber", number)
                    .field("messageId", id_value)
                    .field("status", "Numéro introuvable"),
            });
        }
        Ok(success().field("StatutResponse_List", statuses).into())
    };
    input.reply(result.await)
}

/// `GET /v1/bulk-status?apiKey&messageId`: `{"success":true,"code":200,
/// "message_id":"307","StatutResponse_List":[{"phoneNumber","status","stopSMS","date"}]}`.
pub async fn bulk_status(State(state): State<SharedState>, input: Input) -> Response {
    let result = async {
        let id = message_id(&input)?;
        let account = &input.caller.account;
        let messages = all_messages(&state, account, id)
            .await?
            .ok_or_else(Failure::not_found)?;
        let stops = stop_list(&state, account).await?;
        let statuses: Vec<Object> = messages
            .iter()
            .map(|m| {
                Object::new()
                    .field("phoneNumber", m.number.to_string())
                    .field("status", word(m.status))
                    .field("stopSMS", stops.contains(&m.number))
                    .field("date", unix_date(m.updated_at))
            })
            .collect();
        Ok(success()
            .field("message_id", id.to_string())
            .field("StatutResponse_List", statuses)
            .into())
    };
    input.reply(result.await)
}
