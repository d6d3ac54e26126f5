//! The account: `GET /v1/me` (credits) and `GET /v1/message-cancel`.
//!
//! `/me` answers `{"success":true,"code":200,"user":{"username"},
//! "credits":{"balance":"0.900","solde":"0.900","creditSms":20,
//! "creditSmsLowCost":37,"creditSmsECO":37,"toSend":0,"currency":"EUR"}}`:
//! the balance as a string with three decimals (as the API writes it; null
//! for a postpaid account); `creditSms` and `creditSmsLowCost` the whole SMS
//! it buys to the account's default region on the premium and low-cost
//! routes (`creditSmsECO`, the documentation's name, repeats the latter);
//! `toSend` the messages not yet handed to a carrier.
//!
//! `/message-cancel` cancels what is left of a campaign: code 3 without
//! `messageId`, 4 for an unknown one, 5 when already cancelled, 7 when
//! everything was sent. Code 6 (less than 5 minutes before sending) is never
//! answered: relais can cancel a message until a carrier takes it.

use axum::extract::State;
use axum::response::Response;
use relais_core::pricing::RouteClass;
use relais_store::{Account, CampaignFilter, CampaignStatus, MessageStatus, Page};

use super::errors::Failure;
use super::input::{Input, success};
use super::status::message_id;
use crate::dialects::common::cancel::{self, Refusal};
use crate::dialects::common::credits;
use crate::dialects::common::format::{Object, Value};
use crate::state::{AppState, SharedState};
use crate::v1::balance::CURRENCY;

/// Whole SMS the balance buys on `class` (0 without a balance or a price).
fn sms_credits(state: &AppState, account: &Account, class: RouteClass) -> Result<u64, Failure> {
    let unit = credits::unit_price(state, account, class)?;
    Ok(match (account.balance, unit) {
        (Some(balance), Some(unit)) => credits::whole(balance, unit),
        _ => 0,
    })
}

/// Messages of the account not yet handed to a carrier.
async fn to_send(state: &AppState, account: &Account) -> Result<u64, Failure> {
    let mut total = 0;
    for status in [CampaignStatus::Scheduled, CampaignStatus::Sending] {
        let filter = CampaignFilter {
            status: Some(status),
            ..CampaignFilter::default()
        };
        let page = Page {
            offset: 0,
            limit: 0,
        };
        for campaign in state.store.campaigns(account.id, &filter, page).await? {
            let counts = state
                .store
                .campaign_status_counts(account.id, campaign.id)
                .await?;
            total += [
                MessageStatus::Scheduled,
                MessageStatus::Queued,
                MessageStatus::Submitting,
            ]
            .iter()
            .filter_map(|s| counts.get(s))
            .sum::<u64>();
        }
    }
    Ok(total)
}

pub async fn me(State(state): State<SharedState>, input: Input) -> Response {
    let result = async {
        let caller = input.caller.clone().reread(&state).await?;
        let account = &caller.account;
        let balance = account.balance.map(|b| b.to_decimal_string(3));
        let low_cost = sms_credits(&state, account, RouteClass::LowCost)?;
        let credits = Object::new()
            .field("balance", balance.clone())
            .field("solde", balance)
            .field(
                "creditSms",
                sms_credits(&state, account, RouteClass::Premium)?,
            )
            .field("creditSmsLowCost", low_cost)
            .field("creditSmsECO", low_cost)
            .field("toSend", to_send(&state, account).await?)
            .field("currency", CURRENCY);
        Ok(success()
            .field(
                "user",
                Object::new()
                    .field("username", account.name.as_str())
                    .field("email", account.email.clone()),
            )
            .field("credits", credits)
            .into())
    };
    input.reply(result.await)
}

pub async fn message_cancel(State(state): State<SharedState>, input: Input) -> Response {
    let result = async {
        let id = message_id(&input)?;
        match cancel::cancel(&state, &input.caller.account, id).await? {
            Ok(_) => Ok(Value::from(
                success().field("message", "L'envoi du SMS a été annulé."),
            )),
            Err(Refusal::NotFound) => Err(Failure::not_found()),
            Err(Refusal::AlreadyCancelled) => {
                Err(Failure::new(5, "L'envoi du SMS a déjà été annulé"))
            }
            Err(Refusal::NothingLeft) => Err(Failure::new(7, "Le SMS a déjà été envoyé")),
        }
    };
    input.reply(result.await)
}
