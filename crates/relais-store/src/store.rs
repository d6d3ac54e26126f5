//! The [`Store`] trait: every read and write relais makes, each one atomic.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use relais_core::money::Amount;
use relais_core::number::{Country, E164};

use crate::model::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The debit would take the balance below zero; nothing was stored.
    #[error("not enough credits: {needed} needed, {available} available")]
    InsufficientCredits { needed: Amount, available: Amount },
    #[error("not found")]
    NotFound,
    /// A unique name or key is taken.
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An edit of an account's settings (see [`Store::patch_account_settings`]):
/// `false` stores nothing.
pub type SettingsPatch<'a> = dyn FnMut(&mut AccountSettings) -> bool + Send + 'a;

/// Applies `patch` to the account's current settings with
/// [`Store::patch_account_settings`], answering the settings stored, or the
/// patch's own error (then nothing is stored).
pub async fn patch_settings<E>(
    store: &dyn Store,
    id: AccountId,
    mut patch: impl FnMut(&mut AccountSettings) -> Result<(), E> + Send,
) -> Result<AccountSettings, E>
where
    E: From<StoreError> + Send,
{
    let mut refused = None;
    let settings = store
        .patch_account_settings(id, &mut |settings| match patch(settings) {
            Ok(()) => true,
            Err(e) => {
                refused = Some(e);
                false
            }
        })
        .await?;
    match refused {
        Some(e) => Err(e),
        None => Ok(settings),
    }
}

/// Durable storage. Every method is one transaction; all times are epoch ms.
/// Account-scoped reads take the account id and answer `None`/`NotFound` for
/// another account's records, never their data.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- accounts, keys, credits ---------------------------------------------

    async fn create_account(&self, new: NewAccount, now: Millis) -> StoreResult<Account>;
    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>>;
    /// By `name`, or by `email` (Octopush logs in with an e-mail).
    async fn account_by_login(&self, login: &str) -> StoreResult<Option<Account>>;
    /// The account whose SMPP login (`settings.smpp`) has this `system_id`,
    /// disabled or not. A `system_id` belongs to one account at most:
    /// creating or updating another account's settings with it answers
    /// `Conflict`.
    async fn account_by_smpp_system_id(&self, system_id: &str) -> StoreResult<Option<Account>>;
    async fn accounts(&self) -> StoreResult<Vec<Account>>;
    /// The accounts of `ids` that exist, in no particular order, in one
    /// query (the SMPP server re-reads its bound accounts this way).
    async fn accounts_by_ids(&self, ids: &[AccountId]) -> StoreResult<Vec<Account>>;
    /// Replaces the account's whole settings document (see
    /// [`patch_account_settings`](Self::patch_account_settings) to change
    /// some fields without undoing a concurrent change to the others).
    async fn update_account_settings(
        &self,
        id: AccountId,
        settings: &AccountSettings,
    ) -> StoreResult<()> {
        self.patch_account_settings(id, &mut |current| {
            *current = settings.clone();
            true
        })
        .await
        .map(drop)
    }
    /// Changes the account's settings in one transaction that holds the
    /// account's row from reading the current settings to writing them: no
    /// concurrent change is lost. `patch` edits the current settings; when it
    /// answers `false` nothing is stored. Answers the settings as they are
    /// at the end (stored, or left alone). `NotFound` for an unknown account,
    /// `Conflict` for an SMPP `system_id` another account has. See
    /// [`patch_settings`] for a patch that can fail with an error of its own.
    async fn patch_account_settings(
        &self,
        id: AccountId,
        patch: &mut SettingsPatch<'_>,
    ) -> StoreResult<AccountSettings>;
    async fn set_account_disabled(&self, id: AccountId, disabled: bool) -> StoreResult<()>;
    /// Replaces the SMPP login's `password_hash` if it is still `old`
    /// (nothing else in the settings is written, so a concurrent settings
    /// update is never undone); answers whether it was replaced.
    async fn replace_smpp_password_hash(
        &self,
        id: AccountId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool>;
    /// Adds (or with a negative amount removes) credits, recorded in the ledger
    /// with `reason`; answers the new balance. Refuses to go below zero
    /// (`InsufficientCredits`); a postpaid account, having no balance, answers
    /// `Conflict`.
    async fn credit_account(
        &self,
        id: AccountId,
        amount: Amount,
        reason: &str,
        now: Millis,
    ) -> StoreResult<Amount>;
    /// The account's credit movements, oldest first.
    async fn ledger(&self, account_id: AccountId, page: Page) -> StoreResult<Vec<LedgerEntry>>;
    /// Stores a key by the hash of its token (the token itself is never stored).
    async fn create_api_key(
        &self,
        account_id: AccountId,
        token_hash: &str,
        prefix: &str,
        label: Option<&str>,
        now: Millis,
    ) -> StoreResult<ApiKey>;
    async fn api_keys(&self, account_id: AccountId) -> StoreResult<Vec<ApiKey>>;
    async fn revoke_api_key(&self, key_id: i64, now: Millis) -> StoreResult<()>;
    /// The account of a live (not revoked) key, with the key.
    async fn account_by_key_hash(&self, token_hash: &str)
    -> StoreResult<Option<(Account, ApiKey)>>;

    // --- what planning needs ---------------------------------------------------

    async fn listed_numbers(
        &self,
        account_id: AccountId,
        list: NumberList,
    ) -> StoreResult<HashSet<E164>>;
    /// Which of `numbers` are on the account's blacklist or NPAI list, each
    /// with its list: what planning a small send needs, read through the
    /// lists' index whatever their size.
    async fn listed_among(
        &self,
        account_id: AccountId,
        numbers: &[E164],
    ) -> StoreResult<Vec<(NumberList, E164)>>;
    /// Messages per number accepted since `since` (anti-flood).
    async fn recent_counts(
        &self,
        account_id: AccountId,
        since: Millis,
    ) -> StoreResult<HashMap<E164, u32>>;
    /// Messages per destination country accepted since `since` (monthly limits).
    async fn country_counts(
        &self,
        account_id: AccountId,
        since: Millis,
    ) -> StoreResult<HashMap<Country, u64>>;

    // --- sending ----------------------------------------------------------------

    /// Commits the campaign, its messages (with their first status change) and the
    /// debit in one transaction, and the idempotency record if any. Fails with
    /// `InsufficientCredits` if the balance no longer covers the cost (concurrent
    /// sends), storing nothing. Fails with `Conflict`, storing nothing, when the
    /// idempotency key already has a record created since `record.since` (two
    /// requests with one key: only the first commits); an older record of the
    /// key is replaced. Fails with `NotFound` for an unknown account.
    ///
    /// The batch of one of [`commit_campaigns`](Self::commit_campaigns).
    async fn commit_campaign(&self, new: NewCampaign<'_>) -> StoreResult<CampaignId> {
        let mut results = self.commit_campaigns(std::slice::from_ref(&new)).await;
        results.pop().expect("one result per campaign")
    }
    /// Commits several campaigns in one transaction (group commit: one commit
    /// for many small sends), answering one result per campaign, in order.
    /// Each campaign is committed or refused as
    /// [`commit_campaign`](Self::commit_campaign) would, in batch order: a
    /// refused one (`InsufficientCredits`, `Conflict`, `NotFound`) stores
    /// nothing of itself and leaves the others to commit; of two campaigns that
    /// together exceed the balance, the later one is refused; of two with one
    /// idempotency key, the later one is a `Conflict`. Any other failure fails
    /// every campaign of the batch, storing nothing. Every `Ok` is durable
    /// when this returns.
    async fn commit_campaigns(&self, batch: &[NewCampaign<'_>]) -> Vec<StoreResult<CampaignId>>;
    /// The answer recorded for an idempotency key within `since`.
    async fn idempotent_answer(
        &self,
        account_id: AccountId,
        key: &str,
        since: Millis,
    ) -> StoreResult<Option<IdempotentAnswer>>;
    /// Cancels the campaign's messages not yet submitted and refunds them.
    async fn cancel_campaign(
        &self,
        account_id: AccountId,
        id: CampaignId,
        now: Millis,
    ) -> StoreResult<CancelOutcome>;

    // --- reads ------------------------------------------------------------------

    async fn campaign(
        &self,
        account_id: AccountId,
        id: CampaignId,
    ) -> StoreResult<Option<Campaign>>;
    /// The id of the account's latest campaign with this `tag` (the SMPP
    /// door tags a concatenated submit's campaign with the message_id it
    /// answered, before the campaign existed).
    async fn campaign_id_by_tag(
        &self,
        account_id: AccountId,
        tag: &str,
    ) -> StoreResult<Option<CampaignId>>;
    async fn campaigns(
        &self,
        account_id: AccountId,
        filter: &CampaignFilter,
        page: Page,
    ) -> StoreResult<Vec<Campaign>>;
    async fn campaign_status_counts(
        &self,
        account_id: AccountId,
        id: CampaignId,
    ) -> StoreResult<StatusCounts>;
    /// The campaign and its messages' counts by status, read from one
    /// snapshot: the status shown always agrees with the counts.
    async fn campaign_with_counts(
        &self,
        account_id: AccountId,
        id: CampaignId,
    ) -> StoreResult<Option<(Campaign, StatusCounts)>>;
    async fn campaign_messages(
        &self,
        account_id: AccountId,
        id: CampaignId,
        status: Option<MessageStatus>,
        page: Page,
    ) -> StoreResult<Vec<Message>>;
    async fn message(
        &self,
        account_id: AccountId,
        id: MessageId,
    ) -> StoreResult<Option<(Message, Vec<StatusChange>)>>;
    /// A message by its client reference within a campaign (SMSFactor's gsmsmsid).
    async fn message_by_ref(
        &self,
        account_id: AccountId,
        campaign_id: CampaignId,
        client_ref: &str,
    ) -> StoreResult<Option<Message>>;
    /// Messages per status over the whole store (metrics: queue depth).
    async fn status_totals(&self) -> StoreResult<StatusCounts>;

    // --- dispatch ---------------------------------------------------------------

    /// Moves due `scheduled` messages to `queued`, then leases up to `limit`
    /// queued messages (oldest `send_at` first) until `lease_until`, marking
    /// them `submitting`. Messages whose lease ran out are queued again first.
    async fn claim_due(
        &self,
        now: Millis,
        limit: u32,
        lease_until: Millis,
    ) -> StoreResult<Vec<OutboundMessage>>;
    /// Records what became of leased messages, with their status changes and
    /// callbacks; refunds `Failed` ones. Keeps the carrier id of each part of a
    /// submitted message, and applies in the same transaction the reports
    /// that arrived for those ids before (see `apply_reports`).
    async fn record_submissions(
        &self,
        outcomes: &[(MessageId, SubmitOutcome)],
        now: Millis,
    ) -> StoreResult<()>;
    /// Expires unsent messages whose window closed, refunding them, and
    /// submitted messages whose delivery report is overdue (past the
    /// `report_by` of their submission), keeping their cost: a carrier took
    /// them. Both get detail ("sending window closed", "no delivery report")
    /// and a status callback. Answers how many. Also forgets the reports kept
    /// for unknown carrier ids (see `apply_reports`) whose time (`at`) is more
    /// than 7 days before `now`.
    async fn expire_due(&self, now: Millis) -> StoreResult<u64>;
    /// Applies delivery reports, matched by (connector, carrier id) to the
    /// parts of submitted messages. A message is `delivered` once every part
    /// is, and takes the first failure (`undelivered`, `expired`, `rejected`)
    /// as soon as one part fails; its status change, history entry and
    /// callback happen once. A second report for a part, and reports for
    /// messages already final, are ignored. A report for an id no submission
    /// has given yet (an SMSC's receipt can beat its submit response) is kept
    /// and applied by the `record_submissions` that brings the id, or
    /// forgotten after 7 days. Answers how many messages changed.
    async fn apply_reports(&self, reports: &[CarrierReport]) -> StoreResult<u64>;
    /// The carrier ids (each message's first part) of up to `limit` messages
    /// submitted through `connector` that still await their report and whose
    /// report deadline is at most `due_by`, soonest first: what a connector
    /// that produces its own reports (the simulator) still owes after a
    /// restart.
    async fn awaiting_reports(
        &self,
        connector: &str,
        due_by: Millis,
        limit: u32,
    ) -> StoreResult<Vec<String>>;

    // --- inbound, blacklists ------------------------------------------------------

    /// Stores a reply for the account that last sent to `from` through the
    /// connector (or `account_id` when known), blacklisting the number when
    /// `is_stop`, and enqueues the inbound callback. `None` when no account
    /// can be found for it.
    ///
    /// The reply is linked to the account's last message to `from`, if any.
    /// The callback goes to the linked campaign's `reply_url` when it has
    /// one, rendered for that campaign's door (`source`); else to the
    /// account's `webhooks.inbound`, rendered for the linked campaign's door,
    /// else (no linked campaign) for `webhooks.dialect`, else for "api";
    /// with neither URL nothing is enqueued.
    async fn record_inbound(
        &self,
        inbound: NewInbound,
        account_id: Option<AccountId>,
        is_stop: bool,
    ) -> StoreResult<Option<Inbound>>;
    async fn inbound(&self, account_id: AccountId, page: Page) -> StoreResult<Vec<Inbound>>;
    async fn inbound_by_id(&self, account_id: AccountId, id: i64) -> StoreResult<Option<Inbound>>;
    /// Adds numbers (already on the list: kept, not counted); answers how many were added.
    async fn add_listed(
        &self,
        account_id: AccountId,
        list: NumberList,
        numbers: &[(E164, Vec<String>)],
        source: &str,
        now: Millis,
    ) -> StoreResult<u64>;
    async fn remove_listed(
        &self,
        account_id: AccountId,
        list: NumberList,
        number: E164,
    ) -> StoreResult<bool>;
    async fn remove_listed_by_id(
        &self,
        account_id: AccountId,
        list: NumberList,
        id: i64,
    ) -> StoreResult<bool>;
    async fn listed(
        &self,
        account_id: AccountId,
        list: NumberList,
        page: Page,
    ) -> StoreResult<Vec<ListedNumber>>;

    // --- webhook outbox -------------------------------------------------------------

    /// Leases up to `limit` callbacks due at `now` until `lease_until`, oldest
    /// first, for delivery over HTTP: callbacks whose url starts with `smpp:`
    /// are never claimed here (see `claim_smpp_receipts`). A callback whose
    /// lease ran out (its worker died) is due again.
    async fn claim_webhooks(
        &self,
        now: Millis,
        limit: u32,
        lease_until: Millis,
    ) -> StoreResult<Vec<Webhook>>;
    /// Like `claim_webhooks`, for the status callbacks of campaigns sent
    /// through the SMPP server (url `smpp:`), which go back to the client as
    /// delivery receipts over its binds: only those of `account_ids` (the
    /// accounts bound to the caller), with the same lease and retry rules,
    /// each finished with `finish_webhook`.
    async fn claim_smpp_receipts(
        &self,
        account_ids: &[AccountId],
        now: Millis,
        limit: u32,
        lease_until: Millis,
    ) -> StoreResult<Vec<Webhook>>;
    /// What rendering `webhooks` (leased callbacks) needs, read from one
    /// snapshot with one statement per kind of record for the whole batch
    /// (see [`WebhookFacts`]), not a read per callback.
    async fn webhook_facts(&self, webhooks: &[Webhook]) -> StoreResult<WebhookFacts>;
    /// Records how the delivery of each callback went, in one transaction for
    /// the whole batch. A callback already delivered or given up is left as
    /// it is; `NotFound` (the others recorded) when an id names no callback.
    async fn finish_webhooks(
        &self,
        results: &[(i64, WebhookResult)],
        now: Millis,
    ) -> StoreResult<()>;
    /// The batch of one of [`finish_webhooks`](Self::finish_webhooks).
    async fn finish_webhook(&self, id: i64, result: WebhookResult, now: Millis) -> StoreResult<()> {
        self.finish_webhooks(&[(id, result)], now).await
    }
    /// Callbacks not yet delivered (pending or leased).
    async fn pending_webhooks(&self) -> StoreResult<u64>;
}
