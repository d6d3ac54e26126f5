//! Cancelling a campaign for a dialect: what the store cancels (every message
//! not yet handed to a carrier, refunded), and the refusals providers report
//! as errors of their own.

use relais_store::{Account, CampaignId, CampaignStatus, CancelOutcome};

use crate::error::ApiError;
use crate::state::AppState;

/// Why nothing was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such campaign for this account.
    NotFound,
    AlreadyCancelled,
    /// Every message already left (or the campaign had none).
    NothingLeft,
}

/// Cancels what is left of campaign `id`.
pub async fn cancel(
    state: &AppState,
    account: &Account,
    id: CampaignId,
) -> Result<Result<CancelOutcome, Refusal>, ApiError> {
    let Some(campaign) = state.store.campaign(account.id, id).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    if campaign.status == CampaignStatus::Cancelled {
        return Ok(Err(Refusal::AlreadyCancelled));
    }
    let outcome = state
        .store
        .cancel_campaign(account.id, id, relais_store::clock::now_ms())
        .await?;
    // The refund changed the balance the node's cache holds.
    state.pipeline.accounts().forget_account(account.id);
    Ok(if outcome.cancelled == 0 {
        Err(Refusal::NothingLeft)
    } else {
        Ok(outcome)
    })
}
