//! The webhook outbox's backend-neutral half: which records a batch of
//! leased callbacks needs read ([`FactIds`]), how those records are gathered
//! into [`WebhookFacts`], and how a delivery's result is written
//! ([`result_columns`]). Each backend's `outbox` module holds the SQL.

use std::collections::BTreeSet;

use crate::model::*;

/// The ids of the records that rendering a batch of callbacks reads: their
/// accounts, the messages of status callbacks, the replies of inbound ones.
/// Sorted and without repeats, so each is read once.
pub(crate) struct FactIds {
    pub accounts: Vec<AccountId>,
    pub messages: Vec<MessageId>,
    pub inbound: Vec<i64>,
}

impl FactIds {
    pub fn of(webhooks: &[Webhook]) -> FactIds {
        let mut accounts = BTreeSet::new();
        let mut messages = BTreeSet::new();
        let mut inbound = BTreeSet::new();
        for w in webhooks {
            accounts.insert(w.account_id);
            match w.kind {
                EventKind::Status => messages.extend(w.message_id),
                EventKind::Inbound | EventKind::Stop => inbound.extend(w.inbound_id),
            }
        }
        FactIds {
            accounts: accounts.into_iter().collect(),
            messages: messages.into_iter().collect(),
            inbound: inbound.into_iter().collect(),
        }
    }
}

/// The campaigns of `messages`, each once.
pub(crate) fn campaign_ids(messages: &[Message]) -> Vec<CampaignId> {
    let ids: BTreeSet<CampaignId> = messages.iter().map(|m| m.campaign_id).collect();
    ids.into_iter().collect()
}

impl WebhookFacts {
    /// Gathers the records read for a batch by id.
    pub(crate) fn gather(
        accounts: Vec<Account>,
        messages: Vec<Message>,
        campaigns: Vec<Campaign>,
        inbound: Vec<Inbound>,
    ) -> WebhookFacts {
        WebhookFacts {
            accounts: accounts.into_iter().map(|a| (a.id, a)).collect(),
            messages: messages.into_iter().map(|m| (m.id, m)).collect(),
            campaigns: campaigns.into_iter().map(|c| (c.id, c)).collect(),
            inbound: inbound.into_iter().map(|i| (i.id, i)).collect(),
        }
    }
}

/// The row a delivery's result leaves: its state, when to try again, the error.
pub(crate) fn result_columns(
    result: &WebhookResult,
) -> (&'static str, Option<Millis>, Option<&str>) {
    match result {
        WebhookResult::Delivered => ("delivered", None, None),
        WebhookResult::Retry { retry_at, error } => ("pending", Some(*retry_at), Some(error)),
        WebhookResult::GaveUp { error } => ("failed", None, Some(error)),
    }
}

/// How many distinct callbacks `results` names (a finish must find them all).
pub(crate) fn distinct_ids(results: &[(i64, WebhookResult)]) -> usize {
    results
        .iter()
        .map(|(id, _)| *id)
        .collect::<BTreeSet<_>>()
        .len()
}
