//! After the submit: `query_sm`, `cancel_sm` and `replace_sm`, by the
//! `message_id` that `submit_sm_resp` gave (the campaign id, or for a
//! concatenated submit the tag of its campaign), for the bound
//! account only: another account's id is answered as an unknown one.
//!
//! | command      | answer                                                   |
//! |--------------|----------------------------------------------------------|
//! | `query_sm`   | message_state of the campaign's first message: ENROUTE 1 |
//! |              | (scheduled, queued, submitting, submitted), DELIVERED 2, |
//! |              | EXPIRED 3, DELETED 4 (cancelled), UNDELIVERABLE 5        |
//! |              | (undelivered, failed), REJECTED 8; final_date once final |
//! |              | 0x67 ESME_RQUERYFAIL: unknown id                         |
//! | `cancel_sm`  | cancels and refunds what no carrier has taken yet        |
//! |              | 0x11 ESME_RCANCELFAIL: nothing to cancel, or unknown id  |
//! | `replace_sm` | 0x13 ESME_RREPLACEFAIL, always                           |

use relais_store::clock;
use relais_store::{AccountId, CampaignId, Page, Store, StoreError};
use rusmpp::pdus::QuerySmResp;
use rusmpp::types::EmptyOrFullCOctetString;
use rusmpp::values::MessageState;
use rusmpp::{Command, CommandId, CommandStatus, Pdu};

use crate::pdu::{self, absolute_time, c_string, status};
use crate::receipt::stat_of_status;

/// `query_sm_resp` for campaign `message_id`: the state of its first
/// message, as a receipt would report it (ENROUTE until final), and its
/// final date once final. A `submit_sm`'s campaign has exactly one message;
/// for a `submit_multi` the first destination stands for the others (the
/// query's `source_addr` names the sender, not a destination).
pub async fn query_sm(
    store: &dyn Store,
    account_id: AccountId,
    message_id: &str,
    seq: u32,
) -> Command {
    let refuse = |code| pdu::error_response(u32::from(CommandId::QuerySm), code, seq);
    let id = match campaign_id(store, account_id, message_id).await {
        Ok(Some(id)) => id,
        Ok(None) => return refuse(status::QUERY_FAILED),
        Err(e) => {
            tracing::error!(error = %e, "smpp: query_sm failed");
            return refuse(status::SYSTEM_ERROR);
        }
    };
    let first = Page {
        offset: 0,
        limit: 1,
    };
    let message = match store.campaign_messages(account_id, id, None, first).await {
        Ok(messages) => match messages.into_iter().next() {
            Some(message) => message,
            None => return refuse(status::QUERY_FAILED),
        },
        Err(StoreError::NotFound) => return refuse(status::QUERY_FAILED),
        Err(e) => {
            tracing::error!(error = %e, "smpp: query_sm failed");
            return refuse(status::SYSTEM_ERROR);
        }
    };
    let final_date = if message.status.is_final() {
        absolute_time(message.updated_at).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "smpp: query_sm without its final date");
            EmptyOrFullCOctetString::empty()
        })
    } else {
        EmptyOrFullCOctetString::empty()
    };
    let (_, state) = stat_of_status(message.status);
    Command::new(
        CommandStatus::EsmeRok,
        seq,
        QuerySmResp::new(
            c_string(message_id.trim()).expect("the id was found, so it fits"),
            final_date,
            MessageState::from(state),
            0,
        ),
    )
}

/// `cancel_sm_resp` for campaign `message_id`: the store's cancel, as the
/// HTTP doors call it, cancels and refunds every message not yet handed to
/// a carrier. Cancelling nothing (all sent, already cancelled) or an id
/// unknown to the account is ESME_RCANCELFAIL. A `cancel_sm` without
/// `message_id` (all messages from a source to a destination) names nothing
/// relais keeps, so it fails the same way.
pub async fn cancel_sm(
    store: &dyn Store,
    account_id: AccountId,
    message_id: &str,
    seq: u32,
) -> Command {
    let refuse = |code| pdu::error_response(u32::from(CommandId::CancelSm), code, seq);
    let id = match campaign_id(store, account_id, message_id).await {
        Ok(Some(id)) => id,
        Ok(None) => return refuse(status::CANCEL_FAILED),
        Err(e) => {
            tracing::error!(error = %e, "smpp: cancel_sm failed");
            return refuse(status::SYSTEM_ERROR);
        }
    };
    match store.cancel_campaign(account_id, id, clock::now_ms()).await {
        Ok(outcome) if outcome.cancelled > 0 => {
            tracing::info!(
                account = account_id,
                campaign = id,
                cancelled = outcome.cancelled,
                "smpp: campaign cancelled"
            );
            Command::new(CommandStatus::EsmeRok, seq, Pdu::CancelSmResp)
        }
        Ok(_) | Err(StoreError::NotFound) => refuse(status::CANCEL_FAILED),
        Err(e) => {
            tracing::error!(error = %e, "smpp: cancel_sm failed");
            refuse(status::SYSTEM_ERROR)
        }
    }
}

/// Always ESME_RREPLACEFAIL: a stored message is planned, priced and debited
/// for its text and schedule, so changing either means cancelling it and
/// submitting anew.
pub fn replace_sm(account_id: AccountId, message_id: &str, seq: u32) -> Command {
    tracing::info!(
        account = account_id,
        message_id,
        "smpp: replace_sm refused: relais does not rewrite a stored message \
         (cancel_sm it and submit again)"
    );
    pdu::error_response(u32::from(CommandId::ReplaceSm), status::REPLACE_FAILED, seq)
}

/// The campaign a `submit_sm_resp` message_id names: a campaign id, or the
/// tag of a concatenated submit's campaign (`session::concatenation_id`).
async fn campaign_id(
    store: &dyn Store,
    account_id: AccountId,
    message_id: &str,
) -> Result<Option<CampaignId>, StoreError> {
    let message_id = message_id.trim();
    if let Ok(id) = message_id.parse() {
        return Ok(Some(id));
    }
    if message_id.is_empty() {
        return Ok(None);
    }
    store.campaign_id_by_tag(account_id, message_id).await
}
