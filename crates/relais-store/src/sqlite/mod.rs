//! The SQLite backend: [`SqliteStore`], the embedded database a single relais
//! node starts with.
//!
//! SQLite has one writer at a time. Rather than letting several connections
//! race for the write lock (and answer `SQLITE_BUSY` under load), every write
//! goes through a pool of exactly one connection, where writers queue in
//! order; reads use a small pool of their own, which WAL mode lets run beside
//! the writer. The single writer is also what makes claiming safe without
//! `SKIP LOCKED`: a claim's select-then-update cannot interleave with another.
//!
//! Each submodule holds the SQL of one area; [`Store`] methods only dispatch
//! to them. Batch operations are set-based (see [`transitions`]), so their cost
//! is a handful of statements per batch, not per message.

mod accounts;
mod batch;
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
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::model::*;
use crate::store::{SettingsPatch, Store, StoreResult};

/// How much a commit survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// WAL with `synchronous=NORMAL`: a commit survives the process crashing
    /// (it is in the WAL file when the commit returns), but the commits since
    /// the last checkpoint (see [`SqliteOptions::checkpoint_pages`]) may be
    /// lost if the machine loses power or the OS crashes, for the WAL is only
    /// fsynced at checkpoints. The database itself is never corrupted. Much
    /// faster: no fsync per commit.
    #[default]
    Normal,
    /// WAL with `synchronous=FULL`: every commit is fsynced and survives power
    /// loss too.
    Full,
}

/// How [`SqliteStore::open`] opens the database.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub durability: Durability,
    /// Connections for reads (writes always use one connection of their own).
    pub read_connections: u32,
    /// How long a statement waits for a lock held by another process.
    pub busy_timeout: Duration,
    /// Page cache per connection, in KiB. Committing a large campaign touches
    /// many index pages; keeping them cached saves re-reading them.
    pub cache_kib: u32,
    /// WAL pages (4 KiB each) after which a commit copies the WAL back into
    /// the database (a checkpoint, with its fsyncs). SQLite's default, 1000,
    /// makes every tenth dispatch batch pay for one; fewer, larger checkpoints
    /// cost less in all, for a larger WAL file between them.
    pub checkpoint_pages: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Normal,
            read_connections: 4,
            busy_timeout: Duration::from_secs(5),
            cache_kib: 64 * 1024,
            checkpoint_pages: 10_000,
        }
    }
}

/// The [`Store`] on one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write transaction.
    writer: SqlitePool,
    /// Reads outside transactions. The same pool as `writer` for an in-memory
    /// database, which exists only inside its one connection.
    readers: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `path_or_url`, either a
    /// file path or a `sqlite:` URL, and brings its schema up to date.
    pub async fn open(path_or_url: &str, options: SqliteOptions) -> StoreResult<SqliteStore> {
        let base = if path_or_url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(path_or_url)?
        } else {
            SqliteConnectOptions::new().filename(path_or_url)
        };
        let synchronous = match options.durability {
            Durability::Normal => SqliteSynchronous::Normal,
            Durability::Full => SqliteSynchronous::Full,
        };
        let base = base
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            .pragma("cache_size", format!("-{}", options.cache_kib))
            .pragma("temp_store", "memory")
            .pragma("wal_autocheckpoint", options.checkpoint_pages.to_string());
        let in_memory = path_or_url.contains(":memory:") || path_or_url.contains("mode=memory");

        // The writer's connection is never closed behind our back: an
        // in-memory database would vanish with it.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    transitions::create_staging(conn).await?;
                    reports::create_staging(conn).await
                })
            })
            .connect_with(base.clone())
            .await?;
        // Before any reader connects: a connection that loaded the old schema
        // would read a table a migration altered with stale columns (`c.*`).
        migrate(&writer).await?;
        let readers = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(options.read_connections.max(1))
                .connect_with(base.pragma("query_only", "on"))
                .await?
        };
        Ok(SqliteStore { writer, readers })
    }

    /// Applies the migrations not yet applied (also done by [`open`](Self::open)).
    pub async fn migrate(&self) -> StoreResult<()> {
        migrate(&self.writer).await
    }

    /// Closes both pools, waiting for running queries.
    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close().await;
    }
}

async fn migrate(writer: &SqlitePool) -> StoreResult<()> {
    sqlx::migrate!("./migrations/sqlite").run(writer).await?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_account(&self, new: NewAccount, now: Millis) -> StoreResult<Account> {
        accounts::create(&self.writer, new, now).await
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        accounts::by_id(&self.readers, id).await
    }

    async fn account_by_login(&self, login: &str) -> StoreResult<Option<Account>> {
        accounts::by_login(&self.readers, login).await
    }

    async fn account_by_smpp_system_id(&self, system_id: &str) -> StoreResult<Option<Account>> {
        accounts::by_smpp_system_id(&self.readers, system_id).await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        accounts::all(&self.readers).await
    }

    async fn accounts_by_ids(&self, ids: &[AccountId]) -> StoreResult<Vec<Account>> {
        let mut conn = self.readers.acquire().await?;
        accounts::by_ids(&mut conn, &outbox::json_ids(ids)?).await
    }

    async fn patch_account_settings(
        &self,
        id: AccountId,
        patch: &mut SettingsPatch<'_>,
    ) -> StoreResult<AccountSettings> {
        accounts::patch_settings(&self.writer, id, patch).await
    }

    async fn set_account_disabled(&self, id: AccountId, disabled: bool) -> StoreResult<()> {
        accounts::set_disabled(&self.writer, id, disabled).await
    }

    async fn replace_smpp_password_hash(
        &self,
        id: AccountId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET settings = json_set(settings, '$.smpp.password_hash', ?) \
             WHERE id = ? AND settings ->> '$.smpp.password_hash' = ?",
        )
        .bind(new)
        .bind(id)
        .bind(old)
        .execute(&self.writer)
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
        accounts::credit(&self.writer, id, amount, reason, now).await
    }

    async fn ledger(&self, account_id: AccountId, page: Page) -> StoreResult<Vec<LedgerEntry>> {
        accounts::ledger(&self.readers, account_id, page).await
    }

    async fn create_api_key(
        &self,
        account_id: AccountId,
        token_hash: &str,
        prefix: &str,
        label: Option<&str>,
        now: Millis,
    ) -> StoreResult<ApiKey> {
        accounts::create_key(&self.writer, account_id, token_hash, prefix, label, now).await
    }

    async fn api_keys(&self, account_id: AccountId) -> StoreResult<Vec<ApiKey>> {
        accounts::keys(&self.readers, account_id).await
    }

    async fn revoke_api_key(&self, key_id: i64, now: Millis) -> StoreResult<()> {
        accounts::revoke_key(&self.writer, key_id, now).await
    }

    async fn account_by_key_hash(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(Account, ApiKey)>> {
        accounts::by_key_hash(&self.readers, token_hash).await
    }

    async fn listed_numbers(
        &self,
        account_id: AccountId,
        list: NumberList,
    ) -> StoreResult<HashSet<E164>> {
        lists::numbers(&self.readers, account_id, list).await
    }

    async fn listed_among(
        &self,
        account_id: AccountId,
        numbers: &[E164],
    ) -> StoreResult<Vec<(NumberList, E164)>> {
        lists::among(&self.readers, account_id, numbers).await
    }

    async fn recent_counts(
        &self,
        account_id: AccountId,
        since: Millis,
    ) -> StoreResult<HashMap<E164, u32>> {
        planning::recent_counts(&self.readers, account_id, since).await
    }

    async fn country_counts(
        &self,
        account_id: AccountId,
        since: Millis,
    ) -> StoreResult<HashMap<Country, u64>> {
        planning::country_counts(&self.readers, account_id, since).await
    }

    async fn commit_campaigns(&self, batch: &[NewCampaign<'_>]) -> Vec<StoreResult<CampaignId>> {
        campaigns::commit(&self.writer, batch).await
    }

    async fn idempotent_answer(
        &self,
        account_id: AccountId,
        key: &str,
        since: Millis,
    ) -> StoreResult<Option<IdempotentAnswer>> {
        campaigns::idempotent_answer(&self.readers, account_id, key, since).await
    }

    async fn cancel_campaign(
        &self,
        account_id: AccountId,
        id: CampaignId,
        now: Millis,
    ) -> StoreResult<CancelOutcome> {
        campaigns::cancel(&self.writer, account_id, id, now).await
    }

    async fn campaign(
        &self,
        account_id: AccountId,
        id: CampaignId,
    ) -> StoreResult<Option<Campaign>> {
        campaigns::by_id(&self.readers, account_id, id).await
    }

    async fn campaign_id_by_tag(
        &self,
        account_id: AccountId,
        tag: &str,
    ) -> StoreResult<Option<CampaignId>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM campaigns WHERE account_id = ? AND tag = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(account_id)
        .bind(tag)
        .fetch_optional(&self.readers)
        .await?)
    }

    async fn campaigns(
        &self,
        account_id: AccountId,
        filter: &CampaignFilter,
        page: Page,
    ) -> StoreResult<Vec<Campaign>> {
        campaigns::list(&self.readers, account_id, filter, page).await
    }

    async fn campaign_status_counts(
        &self,
        account_id: AccountId,
        id: CampaignId,
    ) -> StoreResult<StatusCounts> {
        campaigns::status_counts(&self.readers, account_id, id).await
    }

    async fn campaign_with_counts(
        &self,
        account_id: AccountId,
        id: CampaignId,
    ) -> StoreResult<Option<(Campaign, StatusCounts)>> {
        campaigns::with_counts(&self.readers, account_id, id).await
    }

    async fn campaign_messages(
        &self,
        account_id: AccountId,
        id: CampaignId,
        status: Option<MessageStatus>,
        page: Page,
    ) -> StoreResult<Vec<Message>> {
        campaigns::messages(&self.readers, account_id, id, status, page).await
    }

    async fn message(
        &self,
        account_id: AccountId,
        id: MessageId,
    ) -> StoreResult<Option<(Message, Vec<StatusChange>)>> {
        campaigns::message(&self.readers, account_id, id).await
    }

    async fn message_by_ref(
        &self,
        account_id: AccountId,
        campaign_id: CampaignId,
        client_ref: &str,
    ) -> StoreResult<Option<Message>> {
        campaigns::message_by_ref(&self.readers, account_id, campaign_id, client_ref).await
    }

    async fn status_totals(&self) -> StoreResult<StatusCounts> {
        dispatch::status_totals(&self.readers).await
    }

    async fn claim_due(
        &self,
        now: Millis,
        limit: u32,
        lease_until: Millis,
    ) -> StoreResult<Vec<OutboundMessage>> {
        dispatch::claim_due(&self.writer, now, limit, lease_until).await
    }

    async fn record_submissions(
        &self,
        outcomes: &[(MessageId, SubmitOutcome)],
        now: Millis,
    ) -> StoreResult<()> {
        dispatch::record_submissions(&self.writer, outcomes, now).await
    }

    async fn expire_due(&self, now: Millis) -> StoreResult<u64> {
        dispatch::expire_due(&self.writer, now).await
    }

    async fn apply_reports(&self, reports: &[CarrierReport]) -> StoreResult<u64> {
        reports::apply(&self.writer, reports).await
    }

    async fn awaiting_reports(
        &self,
        connector: &str,
        due_by: Millis,
        limit: u32,
    ) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT carrier_id FROM messages INDEXED BY messages_unreported
             WHERE status = 'submitted' AND lease_until <= ?2 AND connector = ?1
               AND carrier_id IS NOT NULL
             ORDER BY lease_until LIMIT ?3",
        )
        .bind(connector)
        .bind(due_by)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?)
    }

    async fn record_inbound(
        &self,
        new: NewInbound,
        account_id: Option<AccountId>,
        is_stop: bool,
    ) -> StoreResult<Option<Inbound>> {
        inbound::record(&self.writer, new, account_id, is_stop).await
    }

    async fn inbound(&self, account_id: AccountId, page: Page) -> StoreResult<Vec<Inbound>> {
        inbound::list(&self.readers, account_id, page).await
    }

    async fn inbound_by_id(&self, account_id: AccountId, id: i64) -> StoreResult<Option<Inbound>> {
        inbound::by_id(&self.readers, account_id, id).await
    }

    async fn add_listed(
        &self,
        account_id: AccountId,
        list: NumberList,
        numbers: &[(E164, Vec<String>)],
        source: &str,
        now: Millis,
    ) -> StoreResult<u64> {
        lists::add(&self.writer, account_id, list, numbers, source, now).await
    }

    async fn remove_listed(
        &self,
        account_id: AccountId,
        list: NumberList,
        number: E164,
    ) -> StoreResult<bool> {
        lists::remove(&self.writer, account_id, list, number).await
    }

    async fn remove_listed_by_id(
        &self,
        account_id: AccountId,
        list: NumberList,
        id: i64,
    ) -> StoreResult<bool> {
        lists::remove_by_id(&self.writer, account_id, list, id).await
    }

    async fn listed(
        &self,
        account_id: AccountId,
        list: NumberList,
        page: Page,
    ) -> StoreResult<Vec<ListedNumber>> {
        lists::page(&self.readers, account_id, list, page).await
    }

    async fn claim_webhooks(
        &self,
        now: Millis,
        limit: u32,
        lease_until: Millis,
    ) -> StoreResult<Vec<Webhook>> {
        outbox::claim(&self.writer, now, limit, lease_until).await
    }

    async fn claim_smpp_receipts(
        &self,
        account_ids: &[AccountId],
        now: Millis,
        limit: u32,
        lease_until: Millis,
    ) -> StoreResult<Vec<Webhook>> {
        outbox::claim_smpp(&self.writer, account_ids, now, limit, lease_until).await
    }

    async fn webhook_facts(&self, webhooks: &[Webhook]) -> StoreResult<WebhookFacts> {
        outbox::facts(&self.readers, webhooks).await
    }

    async fn finish_webhooks(
        &self,
        results: &[(i64, WebhookResult)],
        now: Millis,
    ) -> StoreResult<()> {
        outbox::finish(&self.writer, results, now).await
    }

    async fn pending_webhooks(&self) -> StoreResult<u64> {
        outbox::pending(&self.readers).await
    }
}
