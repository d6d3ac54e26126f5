//! What every backend shares to commit a batch of campaigns (group commit,
//! see [`Store::commit_campaigns`](crate::Store::commit_campaigns)): which
//! errors refuse one campaign and which fail the whole batch, and the values
//! each campaign's rows are written with.

use relais_core::plan::PlannedMessage;

use crate::model::{CampaignId, MessageStatus, NewCampaign};
use crate::store::{StoreError, StoreResult};

/// True for the errors that refuse one campaign of a batch and leave the
/// others to commit: not enough credits, a live idempotency key, an unknown
/// account. Any other error fails the whole batch.
pub(crate) fn is_refusal(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::InsufficientCredits { .. } | StoreError::Conflict(_) | StoreError::NotFound
    )
}

/// The results of a batch that failed as a whole, nothing of it stored: the
/// first campaign gets `error`, each other one a copy of it.
pub(crate) fn fail_all(error: StoreError, campaigns: usize) -> Vec<StoreResult<CampaignId>> {
    let mut results: Vec<_> = (1..campaigns).map(|_| Err(copy(&error))).collect();
    results.insert(0, Err(error));
    results
}

/// The same error again. Database errors cannot be cloned: their copy
/// carries their message.
fn copy(error: &StoreError) -> StoreError {
    match error {
        StoreError::InsufficientCredits { needed, available } => StoreError::InsufficientCredits {
            needed: *needed,
            available: *available,
        },
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict(what) => StoreError::Conflict(what.clone()),
        StoreError::Corrupt(what) => StoreError::Corrupt(what.clone()),
        StoreError::Database(_) | StoreError::Migrate(_) => {
            StoreError::Database(sqlx::Error::Io(std::io::Error::other(error.to_string())))
        }
    }
}

/// The client's reference of a planned message (SMSFactor's `gsmsmsid`).
pub(crate) fn client_ref<'a>(new: &NewCampaign<'a>, message: &PlannedMessage) -> Option<&'a str> {
    new.request
        .recipients
        .get(message.recipient as usize)
        .and_then(|r| r.client_ref.as_deref())
}

/// A new message is `queued` when due at the commit, else `scheduled`.
pub(crate) fn first_status(new: &NewCampaign<'_>, message: &PlannedMessage) -> MessageStatus {
    if message.send_at.as_millisecond() <= new.now {
        MessageStatus::Queued
    } else {
        MessageStatus::Scheduled
    }
}

/// How many of a campaign's messages are queued at once, and how many scheduled.
pub(crate) fn queued_and_scheduled(new: &NewCampaign<'_>) -> (u64, u64) {
    let messages = &new.plan.messages;
    let queued = messages
        .iter()
        .filter(|m| first_status(new, m) == MessageStatus::Queued)
        .count() as u64;
    (queued, messages.len() as u64 - queued)
}
