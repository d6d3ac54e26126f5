//! Sending: turns a door's [`SendRequest`] into a committed campaign.
//!
//! [`Pipeline::send`] loads what planning needs about the account (settings,
//! blacklist, NPAI, anti-flood and monthly counters, balance), plans with
//! `relais-core`, and commits campaign, messages and debit in one transaction
//! before answering: an acknowledged send is durable. Small sends made at the
//! same time share that transaction (group commit, see `commit_batch`), each
//! still refused on its own when the balance no longer covers it. Every door
//! calls it; none plans or stores on its own.
//!
//! The account a door hands in may come from the node's
//! [`AccountCache`](crate::account_cache::AccountCache), up to a second old:
//! a send refused for credits is planned again once with the stored balance,
//! and the store's guarded debit decides in the end.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jiff::Timestamp;
use relais_core::calendar::{CalendarError, Calendars};
use relais_core::encoding::{EncodingMode, TextAnalysis};
use relais_core::money::Amount;
use relais_core::number::{self, Country, E164, NumberPolicy};
use relais_core::optout::OptOutPolicy;
use relais_core::plan::{
    self, CountryQuota, FloodRule, Limits, MessageKind, Plan, PlanContext, PlanError, SendRequest,
};
use relais_core::pricing::{self, PriceError, PriceTable, RouteClass};
use relais_store::{
    Account, CampaignId, CampaignMeta, IdempotencyRecord, IdempotentAnswer, NewCampaign,
    NumberList, Store, StoreError,
};
use tokio::sync::Notify;

use crate::account_cache::AccountCache;
use crate::commit_batch::{CommitBatcher, MAX_BATCH_MESSAGES, PlannedCampaign};
use crate::request_hash::request_hash;
use relais_store::clock;

/// Recipients up to which planning reads, of the account's blacklist and
/// NPAI list, only the request's numbers (see [`Pipeline::listed`]).
const LOOKUP_MAX_RECIPIENTS: usize = 100;

/// Gateway-wide sending settings (from configuration).
#[derive(Debug, Clone)]
pub struct SendSettings {
    /// Prices for accounts without their own table.
    pub prices: PriceTable,
    /// Quiet hours per country, before account overrides.
    pub calendars: Calendars,
    pub limits: Limits,
    /// How long an idempotency key is remembered.
    pub idempotency_ttl_ms: i64,
}

impl Default for SendSettings {
    fn default() -> Self {
        SendSettings {
            prices: PriceTable::default_table(),
            calendars: Calendars::france_default(),
            limits: Limits::default(),
            idempotency_ttl_ms: 24 * 3600 * 1000,
        }
    }
}

/// How a door wants a request handled.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// Plan only: nothing stored, nothing debited.
    pub simulate: bool,
    pub meta: CampaignMeta,
    /// The door's own rule for the STOP mention of marketing texts, in place
    /// of the account's (a provider that refuses texts without it).
    pub opt_out: Option<OptOutPolicy>,
}

/// The result of a send.
// Planned is the common case and is moved once into the door's answer.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum SendOutcome {
    /// Planned, and committed unless simulated (`campaign_id` is then `None`).
    Planned {
        campaign_id: Option<CampaignId>,
        plan: Plan,
    },
    /// The idempotency key was seen before: the first answer, nothing sent again.
    Replayed(IdempotentAnswer),
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("the account is disabled")]
    AccountDisabled,
    /// The account's stored settings are unusable (an operator must fix them).
    #[error("account settings: {0}")]
    Settings(String),
    #[error(transparent)]
    Store(StoreError),
    /// The idempotency key answered another request within the window: the
    /// client reused a key rather than retried a request. Nothing is sent.
    #[error("idempotency key {0:?} was used for another request")]
    IdempotencyKeyReused(String),
}

impl From<StoreError> for SendError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InsufficientCredits { needed, available } => {
                SendError::Plan(PlanError::InsufficientCredits { needed, available })
            }
            other => SendError::Store(other),
        }
    }
}

impl From<PriceError> for SendError {
    fn from(e: PriceError) -> Self {
        SendError::Settings(e.to_string())
    }
}

impl From<CalendarError> for SendError {
    fn from(e: CalendarError) -> Self {
        SendError::Settings(e.to_string())
    }
}

/// What a text costs and how it is encoded, per destination.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Quote {
    pub analysis: TextAnalysis,
    pub destinations: Vec<QuotedDestination>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuotedDestination {
    pub country: Country,
    /// `None`: the account cannot send there.
    pub unit_price: Option<Amount>,
    pub cost: Option<Amount>,
}

/// The text-only part of a request, for quoting.
#[derive(Debug, Clone, Default)]
pub struct QuoteRequest {
    pub text: String,
    pub kind: MessageKind,
    pub encoding: EncodingMode,
    pub smart_encoding: Option<bool>,
    pub route_class: RouteClass,
    pub countries: Vec<Country>,
}

/// The sending pipeline, shared by every door.
pub struct Pipeline {
    store: Arc<dyn Store>,
    /// Commits the sends of up to [`MAX_BATCH_MESSAGES`] messages, together
    /// with the others made at the same time; larger ones are committed alone.
    batcher: CommitBatcher,
    settings: SendSettings,
    /// Keys and accounts as the doors authenticate them; debits committed
    /// here lower the balances it holds.
    accounts: AccountCache,
    /// Woken after a commit so the dispatcher sends due messages at once.
    wake: Option<Arc<Notify>>,
}

impl Pipeline {
    pub fn new(store: Arc<dyn Store>, settings: SendSettings) -> Self {
        Pipeline {
            batcher: CommitBatcher::new(store.clone()),
            accounts: AccountCache::new(store.clone()),
            store,
            settings,
            wake: None,
        }
    }

    /// Notifies `wake` after each committed send.
    pub fn with_wake(mut self, wake: Arc<Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn settings(&self) -> &SendSettings {
        &self.settings
    }

    /// The node's cache of API keys and accounts, which every door
    /// authenticates through and writes account changes through.
    pub fn accounts(&self) -> &AccountCache {
        &self.accounts
    }

    /// The price table that applies to an account.
    pub fn prices_for<'a>(&'a self, account: &Account) -> Result<Cow<'a, PriceTable>, SendError> {
        Ok(match &account.settings.prices {
            Some(entries) => Cow::Owned(PriceTable::from_entries(entries)?),
            None => Cow::Borrowed(&self.settings.prices),
        })
    }

    /// Plans `request` for `account` and, unless simulating, commits it. A
    /// plan every recipient was filtered out of is refused
    /// ([`PlanError::NoValidRecipient`], see [`Plan::into_sendable`]) and
    /// stores nothing; a simulation answers it with its counters.
    ///
    /// With `options.meta.idempotency`, a key seen within the idempotency
    /// window answers [`SendOutcome::Replayed`] and sends nothing, one seen
    /// for another request fails with [`SendError::IdempotencyKeyReused`]
    /// (the request's hash is set on the record and stored); the record's
    /// `answer_template` is stored as given, its `since` set from the window
    /// (so that of two requests racing with one key only one commits).
    pub async fn send(
        &self,
        account: &Account,
        request: &SendRequest,
        options: SendOptions,
    ) -> Result<SendOutcome, SendError> {
        self.send_inner(account, request, options, None).await
    }

    /// Like [`send`](Self::send), for doors that replay their exact answer to a
    /// retried idempotency key: `answer` renders that answer from the plan
    /// being committed (with `{campaign_id}` where the id goes), so what is
    /// stored for the key is what the first request is answered.
    pub async fn send_with_answer(
        &self,
        account: &Account,
        request: &SendRequest,
        options: SendOptions,
        answer: &(dyn Fn(&Plan) -> String + Sync),
    ) -> Result<SendOutcome, SendError> {
        self.send_inner(account, request, options, Some(answer))
            .await
    }

    async fn send_inner(
        &self,
        account: &Account,
        request: &SendRequest,
        mut options: SendOptions,
        answer: Option<&(dyn Fn(&Plan) -> String + Sync)>,
    ) -> Result<SendOutcome, SendError> {
        if account.disabled {
            return Err(SendError::AccountDisabled);
        }
        let now_ms = clock::now_ms();
        if let Some(mut record) = options.meta.idempotency.take() {
            record.request_hash = request_hash(request, &options.meta);
            if let Some(answer) = self.replay(account, &record, now_ms).await? {
                return Ok(SendOutcome::Replayed(answer));
            }
            options.meta.idempotency = Some(record);
        }

        let mut request = Cow::Borrowed(request);
        if request.sender.is_none() && account.settings.default_sender.is_some() {
            request
                .to_mut()
                .sender
                .clone_from(&account.settings.default_sender);
        }
        let opt_out = options
            .opt_out
            .as_ref()
            .unwrap_or(&account.settings.opt_out);
        let plan = self.plan_funded(account, &request, opt_out, now_ms).await?;
        if plan.is_deferred() {
            let last = plan.messages.iter().map(|m| m.send_at).max();
            tracing::info!(
                account = %account.id,
                requested = %plan.requested_at,
                first = %plan.send_at,
                last = ?last,
                simulate = options.simulate,
                "marketing send deferred by quiet hours"
            );
        }
        if options.simulate {
            return Ok(SendOutcome::Planned {
                campaign_id: None,
                plan,
            });
        }
        // Nothing to send is refused, not stored as an empty campaign.
        let plan = plan.into_sendable()?;
        if let Some(record) = &mut options.meta.idempotency {
            // A record of the key older than the window may be replaced.
            record.since = now_ms - self.settings.idempotency_ttl_ms;
            if let Some(answer) = answer {
                record.answer_template = answer(&plan);
            }
        }

        let idempotency = options.meta.idempotency.clone();
        let committed = if plan.messages.len() > MAX_BATCH_MESSAGES {
            // A transaction of its own, and no copy of the request.
            self.store
                .commit_campaign(NewCampaign {
                    account_id: account.id,
                    request: &request,
                    plan: &plan,
                    meta: options.meta,
                    now: now_ms,
                })
                .await
                .map(|id| (id, plan))
        } else {
            self.batcher
                .commit(PlannedCampaign {
                    account_id: account.id,
                    request: request.into_owned(),
                    plan,
                    meta: options.meta,
                    now: now_ms,
                })
                .await
        };
        match committed {
            Ok((id, plan)) => {
                self.accounts.debited(account.id, plan.cost);
                if let Some(wake) = &self.wake {
                    wake.notify_waiters();
                }
                Ok(SendOutcome::Planned {
                    campaign_id: Some(id),
                    plan,
                })
            }
            // Two requests with one idempotency key raced: the other one committed.
            Err(StoreError::Conflict(_)) if idempotency.is_some() => {
                let record = idempotency.expect("checked above");
                match self.replay(account, &record, now_ms).await? {
                    Some(answer) => Ok(SendOutcome::Replayed(answer)),
                    None => Err(StoreError::Conflict(record.key).into()),
                }
            }
            Err(e) => {
                if matches!(e, StoreError::InsufficientCredits { .. }) {
                    // The balance planning saw was not the stored one.
                    self.accounts.forget_account(account.id);
                }
                Err(e.into())
            }
        }
    }

    /// The answer recorded for the key of `record` within the window, if
    /// any and if it answered the same request (a record without a hash, kept
    /// from before hashes were stored, is taken to).
    async fn replay(
        &self,
        account: &Account,
        record: &IdempotencyRecord,
        now_ms: i64,
    ) -> Result<Option<IdempotentAnswer>, SendError> {
        let since = now_ms - self.settings.idempotency_ttl_ms;
        let answer = self
            .store
            .idempotent_answer(account.id, &record.key, since)
            .await?;
        match answer {
            Some(answer)
                if !answer.request_hash.is_empty()
                    && answer.request_hash != record.request_hash =>
            {
                tracing::warn!(
                    account = account.id,
                    key = %record.key,
                    "idempotency key reused for another request: refused"
                );
                Err(SendError::IdempotencyKeyReused(record.key.clone()))
            }
            answer => Ok(answer),
        }
    }

    /// Plans; a refusal for credits is checked once against the stored
    /// balance, since the door's account may be a cached copy that has not
    /// seen a credit yet (see [`AccountCache`]).
    async fn plan_funded(
        &self,
        account: &Account,
        request: &SendRequest,
        opt_out: &OptOutPolicy,
        now_ms: i64,
    ) -> Result<Plan, SendError> {
        match self.plan(account, request, opt_out, now_ms).await {
            Err(refused @ SendError::Plan(PlanError::InsufficientCredits { .. })) => {
                let Some(stored) = self.accounts.reread(account.id).await? else {
                    return Err(StoreError::NotFound.into());
                };
                if stored.disabled {
                    return Err(SendError::AccountDisabled);
                }
                if stored.balance == account.balance {
                    return Err(refused);
                }
                let funded = Account {
                    balance: stored.balance,
                    ..account.clone()
                };
                self.plan(&funded, request, opt_out, now_ms).await
            }
            planned => planned,
        }
    }

    /// Builds the planning context from the account and the store, and plans.
    async fn plan(
        &self,
        account: &Account,
        request: &SendRequest,
        opt_out: &OptOutPolicy,
        now_ms: i64,
    ) -> Result<Plan, SendError> {
        let settings = &account.settings;
        let now = clock::to_timestamp(now_ms);
        let prices = self.prices_for(account)?;
        let calendars = self.calendars_for(account)?;
        let (blacklist, npai) = self.listed(account, request).await?;
        let allowed: Option<HashSet<Country>> = settings
            .allowed_countries
            .as_ref()
            .map(|c| c.iter().copied().collect());

        let recent: HashMap<E164, u32> = match settings.flood {
            Some(flood) => {
                let since = now_ms - i64::try_from(flood.period_secs * 1000).unwrap_or(i64::MAX);
                self.store.recent_counts(account.id, since).await?
            }
            None => HashMap::new(),
        };
        let recent_count = |n: E164| recent.get(&n).copied().unwrap_or(0);

        let quotas: HashMap<Country, CountryQuota> = if settings.monthly_limits.is_empty() {
            HashMap::new()
        } else {
            let since = month_start(now, &settings.time_zone)?;
            let used = self.store.country_counts(account.id, since).await?;
            settings
                .monthly_limits
                .iter()
                .map(|(&country, &limit)| {
                    (
                        country,
                        CountryQuota {
                            used: used.get(&country).copied().unwrap_or(0),
                            limit,
                        },
                    )
                })
                .collect()
        };

        let mut ctx = PlanContext::new(now, &prices, &calendars);
        ctx.default_region = settings.default_region;
        ctx.number_policy = NumberPolicy {
            mobile_only: settings.mobile_only,
        };
        ctx.blacklist = &blacklist;
        ctx.npai = &npai;
        ctx.allowed_countries = allowed.as_ref();
        ctx.flood = settings.flood.map(|f| FloodRule {
            recent: &recent_count,
            max_per_period: f.max,
        });
        ctx.country_quotas = Some(&quotas);
        ctx.balance = account.balance;
        ctx.opt_out = opt_out.clone();
        ctx.smart_default = settings.smart_encoding;
        ctx.limits = self.settings.limits;
        Ok(plan::plan(request, &ctx)?)
    }

    /// The account's blacklisted and NPAI numbers, as far as `request`
    /// needs them: for a small request only those among its own numbers (one
    /// indexed read, however long the lists), else the whole lists.
    async fn listed(
        &self,
        account: &Account,
        request: &SendRequest,
    ) -> Result<(HashSet<E164>, HashSet<E164>), SendError> {
        if request.recipients.len() > LOOKUP_MAX_RECIPIENTS {
            let blacklist = self
                .store
                .listed_numbers(account.id, NumberList::Blacklist)
                .await?;
            let npai = self
                .store
                .listed_numbers(account.id, NumberList::Npai)
                .await?;
            return Ok((blacklist, npai));
        }
        // Normalized as the planner will: invalid numbers are its to refuse.
        let settings = &account.settings;
        let policy = NumberPolicy {
            mobile_only: settings.mobile_only,
        };
        let numbers: Vec<E164> = request
            .recipients
            .iter()
            .filter_map(|r| number::normalize(&r.number, settings.default_region, policy).ok())
            .map(|n| n.e164)
            .collect();
        let (mut blacklist, mut npai) = (HashSet::new(), HashSet::new());
        if !numbers.is_empty() {
            for (list, number) in self.store.listed_among(account.id, &numbers).await? {
                match list {
                    NumberList::Blacklist => blacklist.insert(number),
                    NumberList::Npai => npai.insert(number),
                };
            }
        }
        Ok((blacklist, npai))
    }

    fn calendars_for<'a>(&'a self, account: &Account) -> Result<Cow<'a, Calendars>, SendError> {
        let windows = &account.settings.sending_windows;
        if windows.is_empty() {
            return Ok(Cow::Borrowed(&self.settings.calendars));
        }
        let mut calendars = self.settings.calendars.clone();
        for (country, config) in windows {
            calendars.insert(country.as_str(), config.clone().try_into()?)?;
        }
        Ok(Cow::Owned(calendars))
    }

    /// Encoding, segments and cost per destination of a text for an account.
    pub fn quote(&self, account: &Account, request: &QuoteRequest) -> Result<Quote, SendError> {
        let settings = &account.settings;
        let smart = request.smart_encoding.unwrap_or(settings.smart_encoding);
        let analysis = plan::prepare_text(
            &request.text,
            request.kind,
            request.route_class,
            request.encoding,
            smart,
            &settings.opt_out,
            self.settings.limits.max_segments,
        )?;
        let prices = self.prices_for(account)?;
        let allowed = |c: &Country| {
            settings
                .allowed_countries
                .as_ref()
                .is_none_or(|list| list.contains(c))
        };
        let destinations = request
            .countries
            .iter()
            .map(|&country| {
                let unit_price = prices
                    .unit_price(country, request.route_class)
                    .filter(|_| allowed(&country));
                QuotedDestination {
                    country,
                    unit_price,
                    cost: unit_price.map(|p| pricing::message_cost(analysis.segments, p)),
                }
            })
            .collect();
        Ok(Quote {
            analysis,
            destinations,
        })
    }
}

/// Start of the current calendar month in the account's zone, in epoch ms.
fn month_start(now: Timestamp, time_zone: &str) -> Result<i64, SendError> {
    let tz = jiff::tz::TimeZone::get(time_zone)
        .map_err(|_| SendError::Settings(format!("unknown time zone {time_zone:?}")))?;
    let local = now.to_zoned(tz);
    let first = local
        .date()
        .first_of_month()
        .to_zoned(local.time_zone().clone())
        .map_err(|e| SendError::Settings(e.to_string()))?;
    Ok(first.timestamp().as_millisecond())
}
