//! The PostgreSQL backend: [`PostgresStore`], for several relais nodes
//! sharing one database.
//!
//! Every node holds a pool of connections to the same database, and nodes
//! coordinate through it alone: claims lease messages and callbacks with
//! `FOR UPDATE SKIP LOCKED`, so nodes claiming at once take disjoint batches
//! and none waits for another; a scheduled message is queued by whichever
//! claim locks it first, exactly once; a debit is a guarded update of the
//! account row, which concurrent debits of the account (on any node) wait
//! for, so credits stay exact; a delivery report and the submission it
//! answers meet on a unique key, whichever comes first (see `reports`).
//!
//! Each submodule holds the SQL of one area; [`Store`] methods only dispatch
//! to them. Batches are set-based: arrays bound as parameters and expanded
//! with `unnest`, and status changes applied by one statement per batch (see
//! `transitions`), so their cost is a round trip per batch, not per message.
//!
//! The tables are the SQLite backend's, with the same columns and meanings
//! (times BIGINT epoch milliseconds, money BIGINT micro-units), and this
//! backend shares its semantics method for method. Two additions suit
//! PostgreSQL: unsent messages are found through `message_queue`, so that a
//! status change rewrites a message in place without touching its indexes;
//! and early delivery reports wait in `message_parts` (see the migration).

mod accounts;
mod campaigns;
mod codec;
mod dispatch;
mod inbound;
mod lists;
mod outbox;
mod planning;
mod reports;
mod transitions;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use relais_core::money::Amount;
use relais_core::number::{Country, E164};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor};

use crate::model::*;
use crate::store::{SettingsPatch, Store, StoreError, StoreResult};

/// How [`PostgresStore::connect`] connects.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Connections of this node's pool.
    pub max_connections: u32,
    /// How long an operation waits for a free connection before failing.
    pub acquire_timeout: Duration,
    /// The schema relais' tables live in, set as the `search_path` of every
    /// connection (it must exist); `None`: the server's `search_path`, normally
    /// `public`. Lets several relais installations (or test runs) share a
    /// database.
    pub schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(30),
            schema: None,
        }
    }
}

/// The [`Store`] on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`) and
    /// brings its schema up to date.
    pub async fn connect(url: &str, options: PostgresOptions) -> StoreResult<PostgresStore> {
        let connect = PgConnectOptions::from_str(url)?.application_name("relais");
        let search_path = options
            .schema
            .as_deref()
            .map(|schema| format!("SET search_path TO {}", quote_identifier(schema)));
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .after_connect(move |conn, _| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    if let Some(sql) = search_path {
                        conn.execute(AssertSqlSafe(sql)).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations not yet applied (also done by
    /// [`connect`](Self::connect)). Nodes starting at once take turns: sqlx
    /// holds an advisory lock while it migrates.
    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the pool, waiting for running queries.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `name` as a quoted SQL identifier.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// How many times an operation is tried when PostgreSQL aborts it to break a
/// deadlock or a serialization conflict.
const ATTEMPTS: u32 = 5;

/// Runs `operation` (one or more whole transactions) again when PostgreSQL
/// aborted it for a deadlock (`40P01`) or a serialization failure (`40001`):
/// nothing of it was committed, and trying again is the remedy PostgreSQL
/// documents. Batches of different nodes lock rows in one order (see
/// [`transitions`]), which makes this rare.
async fn retry<T, F, Fut>(mut operation: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut attempt = 1;
    loop {
        match operation().await {
            Err(StoreError::Database(sqlx::Error::Database(error)))
                if attempt < ATTEMPTS
                    && matches!(error.code().as_deref(), Some("40P01" | "40001")) =>
            {
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_account(&self, new: NewAccount, now: Millis) -> StoreResult<Account> {
        accounts::create(&self.pool, new, now).await
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        accounts::by_id(&self.pool, id).await
    }

    async fn account_by_login(&self, login: &str) -> StoreResult<Option<Account>> {
        accounts::by_login(&self.pool, login).await
    }

    async fn account_by_smpp_system_id(&self, system_id: &str) -> StoreResult<Option<Account>> {
        accounts::by_smpp_system_id(&self.pool, system_id).await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        accounts::all(&self.pool).await
    }

    async fn accounts_by_ids(&self, ids: &[AccountId]) -> StoreResult<Vec<Account>> {
        let mut conn = self.pool.acquire().await?;
        accounts::by_ids(&mut conn, ids).await
    }

    async fn patch_account_settings(
        &self,
        id: AccountId,
        patch: &mut SettingsPatch<'_>,
    ) -> StoreResult<AccountSettings> {
        accounts::patch_settings(&self.pool, id, patch).await
    }

    async fn set_account_disabled(&self, id: AccountId, disabled: bool) -> StoreResult<()> {
        accounts::set_disabled(&self.pool, id, disabled).await
    }

    async fn replace_smpp_password_hash(
        &self,
        id: AccountId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET settings = jsonb_set(settings, '{smpp,password_hash}', to_jsonb($1::text)) \
             WHERE id = $2 AND settings -> 'smpp' ->> 'password_hash' = $3",
        )
        .bind(new)
        .bind(id)
        .bind(old)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn credit_account(
        &self,
        id: AccountId,
        amount: Amount,
        reason: &str,
        now: Millis,
    ) -> StoreResult<Amount> {
        accounts::credit(&self.pool, id, amount, reason, now).await
    }

    async fn ledger(&self, account_id: AccountId, page: Page) -> StoreResult<Vec<LedgerEntry>> {
        accounts::ledger(&self.pool, account_id, page).await
    }

    async fn create_api_key(
        &self,
        account_id: AccountId,
        token_hash: &str,
        prefix: &str,
        label: Option<&str>,
        now: Millis,
    ) -> StoreResult<ApiKey> {
        accounts::create_key(&self.pool, account_id, token_hash, prefix, label, now).await
    }

    async fn api_keys(&self, account_id: AccountId) -> StoreResult<Vec<ApiKey>> {
        accounts::keys(&self.pool, account_id).await
    }

    async fn revoke_api_key(&self, key_id: i64, now: Millis) -> StoreResult<()> {
        accounts::revoke_key(&self.pool, key_id, now).await
    }

    async fn account_by_key_hash(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(Account, ApiKey)>> {
        accounts::by_key_hash(&self.pool, token_hash).await
    }

    async fn listed_numbers(
        &self,
        account_id: AccountId,
        list: NumberList,
    ) -> StoreResult<HashSet<E164>> {
        lists::numbers(&self.pool, account_id, list).await
    }

    async fn listed_among(
        &self,
        account_id: AccountId,
        numbers: &[E164],
    ) -> StoreResult<Vec<(NumberList, E164)>> {
        lists::among(&self.pool, account_id, numbers).await
    }

    async fn recent_counts(
        &self,
        account_id: AccountId,
        since: Millis,
    ) -> StoreResult<HashMap<E164, u32>> {
        planning::recent_counts(&self.pool, account_id, since).await
    }

    async fn country_counts(
        &self,
        account_id: AccountId,
        since: Millis,
    ) -> StoreResult<HashMap<Country, u64>> {
        planning::country_counts(&self.pool, account_id, since).await
    }

    async fn commit_campaigns(&self, batch: &[NewCampaign<'_>]) -> Vec<StoreResult<CampaignId>> {
        campaigns::commit(&self.pool, batch).await
    }

    async fn idempotent_answer(
        &self,
        account_id: AccountId,
        key: &str,
        since: Millis,
    ) -> StoreResult<Option<IdempotentAnswer>> {
        campaigns::idempotent_answer(&self.pool, account_id, key, since).await
    }

    async fn cancel_campaign(
        &self,
        account_id: AccountId,
        id: CampaignId,
        now: Millis,
    ) -> StoreResult<CancelOutcome> {
        campaigns::cancel(&self.pool, account_id, id, now).await
    }

    async fn campaign(
        &self,
        account_id: AccountId,
        id: CampaignId,
    ) -> StoreResult<Option<Campaign>> {
        campaigns::by_id(&self.pool, account_id, id).await
    }

    async fn campaign_id_by_tag(
        &self,
        account_id: AccountId,
        tag: &str,
    ) -> StoreResult<Option<CampaignId>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM campaigns WHERE account_id = $1 AND tag = $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(account_id)
        .bind(tag)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn campaigns(
        &self,
        account_id: AccountId,
        filter: &CampaignFilter,
        page: Page,
    ) -> StoreResult<Vec<Campaign>> {
        campaigns::list(&self.pool, account_id, filter, page).await
    }

    async fn campaign_status_counts(
        &self,
        account_id: AccountId,
        id: CampaignId,
    ) -> StoreResult<StatusCounts> {
        campaigns::status_counts(&self.pool, account_id, id).await
    }

    async fn campaign_with_counts(
        &self,
        account_id: AccountId,
        id: CampaignId,
    ) -> StoreResult<Option<(Campaign, StatusCounts)>> {
        campaigns::with_counts(&self.pool, account_id, id).await
    }

    async fn campaign_messages(
        &self,
        account_id: AccountId,
        id: CampaignId,
        status: Option<MessageStatus>,
        page: Page,
    ) -> StoreResult<Vec<Message>> {
        campaigns::messages(&self.pool, account_id, id, status, page).await
    }

    async fn message(
        &self,
        account_id: AccountId,
        id: MessageId,
    ) -> StoreResult<Option<(Message, Vec<StatusChange>)>> {
        campaigns::message(&self.pool, account_id, id).await
    }

    async fn message_by_ref(
        &self,
        account_id: AccountId,
        campaign_id: CampaignId,
        client_ref: &str,
    ) -> StoreResult<Option<Message>> {
        campaigns::message_by_ref(&self.pool, account_id, campaign_id, client_ref).await
    }

    async fn status_totals(&self) -> StoreResult<StatusCounts> {
        dispatch::status_totals(&self.pool).await
    }

    async fn claim_due(
        &self,
        now: Millis,
        limit: u32,
        lease_until: Millis,
    ) -> StoreResult<Vec<OutboundMessage>> {
        dispatch::claim_due(&self.pool, now, limit, lease_until).await
    }

    async fn record_submissions(
        &self,
        outcomes: &[(MessageId, SubmitOutcome)],
        now: Millis,
    ) -> StoreResult<()> {
        dispatch::record_submissions(&self.pool, outcomes, now).await
    }

    async fn expire_due(&self, now: Millis) -> StoreResult<u64> {
        dispatch::expire_due(&self.pool, now).await
    }

    async fn apply_reports(&self, reports: &[CarrierReport]) -> StoreResult<u64> {
        reports::apply(&self.pool, reports).await
    }

    async fn awaiting_reports(
        &self,
        connector: &str,
        due_by: Millis,
        limit: u32,
    ) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT m.carrier_id FROM awaiting_reports AS w JOIN messages AS m ON m.id = w.message_id
             WHERE w.report_by <= $2 AND m.connector = $1 AND m.status = 'submitted'
               AND m.carrier_id IS NOT NULL
             ORDER BY w.report_by LIMIT $3",
        )
        .bind(connector)
        .bind(due_by)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_inbound(
        &self,
        new: NewInbound,
        account_id: Option<AccountId>,
        is_stop: bool,
    ) -> StoreResult<Option<Inbound>> {
        inbound::record(&self.pool, new, account_id, is_stop).await
    }

    async fn inbound(&self, account_id: AccountId, page: Page) -> StoreResult<Vec<Inbound>> {
        inbound::list(&self.pool, account_id, page).await
    }

    async fn inbound_by_id(&self, account_id: AccountId, id: i64) -> StoreResult<Option<Inbound>> {
        inbound::by_id(&self.pool, account_id, id).await
    }

    async fn add_listed(
        &self,
        account_id: AccountId,
        list: NumberList,
        numbers: &[(E164, Vec<String>)],
        source: &str,
        now: Millis,
    ) -> StoreResult<u64> {
        lists::add(&self.pool, account_id, list, numbers, source, now).await
    }

    async fn remove_listed(
        &self,
        account_id: AccountId,
        list: NumberList,
        number: E164,
    ) -> StoreResult<bool> {
        lists::remove(&self.pool, account_id, list, number).await
    }

    async fn remove_listed_by_id(
        &self,
        account_id: AccountId,
        list: NumberList,
        id: i64,
    ) -> StoreResult<bool> {
        lists::remove_by_id(&self.pool, account_id, list, id).await
    }

    async fn listed(
        &self,
        account_id: AccountId,
        list: NumberList,
        page: Page,
    ) -> StoreResult<Vec<ListedNumber>> {
        lists::page(&self.pool, account_id, list, page).await
    }

    async fn claim_webhooks(
        &self,
        now: Millis,
        limit: u32,
        lease_until: Millis,
    ) -> StoreResult<Vec<Webhook>> {
        outbox::claim(&self.pool, now, limit, lease_until).await
    }

    async fn claim_smpp_receipts(
        &self,
        account_ids: &[AccountId],
        now: Millis,
        limit: u32,
        lease_until: Millis,
    ) -> StoreResult<Vec<Webhook>> {
        outbox::claim_smpp(&self.pool, account_ids, now, limit, lease_until).await
    }

    async fn webhook_facts(&self, webhooks: &[Webhook]) -> StoreResult<WebhookFacts> {
        outbox::facts(&self.pool, webhooks).await
    }

    async fn finish_webhooks(
        &self,
        results: &[(i64, WebhookResult)],
        now: Millis,
    ) -> StoreResult<()> {
        outbox::finish(&self.pool, results, now).await
    }

    async fn pending_webhooks(&self) -> StoreResult<u64> {
        outbox::pending(&self.pool).await
    }
}
