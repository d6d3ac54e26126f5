//! The records the store keeps and hands back, independent of any backend.

use std::collections::{BTreeMap, HashMap};

use relais_core::calendar::SendingWindowConfig;
use relais_core::encoding::Encoding;
use relais_core::money::Amount;
use relais_core::number::{Country, E164};
use relais_core::optout::OptOutPolicy;
use relais_core::plan::{ChannelOrder, Counters, MessageKind, Plan, SendRequest};
use relais_core::pricing::{PriceEntry, RouteClass};
use serde::{Deserialize, Serialize};

/// Epoch milliseconds (UTC).
pub type Millis = i64;
pub type AccountId = i64;
pub type CampaignId = i64;
pub type MessageId = i64;

/// Where a message is in its life (DESIGN.md, "Message lifecycle").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Planned and stored, send time in the future (incl. quiet-hours deferral).
    Scheduled,
    /// Due, waiting for a dispatcher.
    Queued,
    /// Leased by a dispatcher, being handed to a connector.
    Submitting,
    /// A connector accepted it and gave its id.
    Submitted,
    Delivered,
    Undelivered,
    Expired,
    /// Could not be sent (no route took it before giving up).
    Failed,
    Cancelled,
    /// A connector refused it for good.
    Rejected,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 10] = [
        MessageStatus::Scheduled,
        MessageStatus::Queued,
        MessageStatus::Submitting,
        MessageStatus::Submitted,
        MessageStatus::Delivered,
        MessageStatus::Undelivered,
        MessageStatus::Expired,
        MessageStatus::Failed,
        MessageStatus::Cancelled,
        MessageStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Scheduled => "scheduled",
            MessageStatus::Queued => "queued",
            MessageStatus::Submitting => "submitting",
            MessageStatus::Submitted => "submitted",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Undelivered => "undelivered",
            MessageStatus::Expired => "expired",
            MessageStatus::Failed => "failed",
            MessageStatus::Cancelled => "cancelled",
            MessageStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        MessageStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No transition leaves a final status.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            MessageStatus::Delivered
                | MessageStatus::Undelivered
                | MessageStatus::Expired
                | MessageStatus::Failed
                | MessageStatus::Cancelled
                | MessageStatus::Rejected
        )
    }

    /// Not yet handed to any connector: cancelling or expiring it refunds it.
    pub fn is_unsent(self) -> bool {
        matches!(self, MessageStatus::Scheduled | MessageStatus::Queued)
    }
}

/// Campaign status, derived from its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Some messages wait for their send time.
    Scheduled,
    /// Some messages are queued or on their way.
    Sending,
    /// Every message reached a final status.
    Done,
    /// Cancelled before anything was sent.
    Cancelled,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Scheduled => "scheduled",
            CampaignStatus::Sending => "sending",
            CampaignStatus::Done => "done",
            CampaignStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Scheduled, Self::Sending, Self::Done, Self::Cancelled]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

/// Anti-flood setting: at most `max` messages to one number per `period_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloodSetting {
    pub max: u32,
    pub period_secs: u64,
}

/// Where an account's callbacks go (a request's `callback_url` overrides `dlr`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookUrls {
    /// Delivery reports (status changes).
    pub dlr: Option<String>,
    /// Replies (MO), STOP replies included.
    pub inbound: Option<String>,
    /// The door that registered these URLs ("smsfactor", …; `None`: the native
    /// API). Inbound callbacks that answer no campaign are rendered for it
    /// (see [`Store::record_inbound`](crate::Store::record_inbound)).
    pub dialect: Option<String>,
    /// Which status changes are pushed, for campaigns that do not say.
    pub callback_events: CallbackEvents,
    /// Native status callbacks to one URL are sent as one signed POST of a
    /// JSON array of up to this many events; `None` (or 1): one event per
    /// request.
    pub batch_max: Option<u32>,
}

/// Which status changes of a campaign's messages are pushed to its callback
/// URL (Kannel's dlr-mask, SMSFactor's one report per message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackEvents {
    /// Every status a message reaches (submitted, delivered, …).
    #[default]
    All,
    /// Only the final one (delivered, undelivered, expired, failed, rejected,
    /// cancelled): exactly one callback per message.
    Final,
}

impl CallbackEvents {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackEvents::All => "all",
            CallbackEvents::Final => "final",
        }
    }

    pub fn parse(s: &str) -> Option<CallbackEvents> {
        match s {
            "all" => Some(CallbackEvents::All),
            "final" => Some(CallbackEvents::Final),
            _ => None,
        }
    }
}

/// An account's login to the SMPP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmppLogin {
    /// The bind's `system_id`; unique across accounts
    /// (see [`Store::account_by_smpp_system_id`](crate::Store::account_by_smpp_system_id)).
    pub system_id: String,
    /// The hash of the bind password (never the password itself).
    pub password_hash: String,
    /// Binds the account may hold at once.
    pub max_binds: u32,
    /// submit_sm per second across the account's binds.
    pub throughput_per_second: u32,
}

/// Per-account settings, stored as one JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountSettings {
    pub default_sender: Option<String>,
    /// Region for national-format numbers (ISO alpha-2).
    pub default_region: Country,
    /// IANA zone the account's dialects read local times in.
    pub time_zone: String,
    /// `None`: every priced country.
    pub allowed_countries: Option<Vec<Country>>,
    pub mobile_only: bool,
    pub flood: Option<FloodSetting>,
    /// Monthly message cap per destination country.
    pub monthly_limits: BTreeMap<Country, u64>,
    pub opt_out: OptOutPolicy,
    pub smart_encoding: bool,
    /// Quiet hours per destination country, replacing the defaults for those countries.
    pub sending_windows: BTreeMap<Country, SendingWindowConfig>,
    pub webhooks: WebhookUrls,
    /// `None`: the gateway's default price table.
    pub prices: Option<Vec<PriceEntry>>,
    /// Secret for signing callbacks (HMAC-SHA256).
    pub webhook_secret: String,
    /// `None`: the account cannot bind to the SMPP server.
    pub smpp: Option<SmppLogin>,
}

impl Default for AccountSettings {
    fn default() -> Self {
        AccountSettings {
            default_sender: None,
            default_region: Country::FR,
            time_zone: "Europe/Paris".into(),
            allowed_countries: None,
            mobile_only: false,
            flood: None,
            monthly_limits: BTreeMap::new(),
            opt_out: OptOutPolicy::default(),
            smart_encoding: false,
            sending_windows: BTreeMap::new(),
            webhooks: WebhookUrls::default(),
            prices: None,
            webhook_secret: String::new(),
            smpp: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    /// Unique login name (Octopush's `user_login` matches it, or `email`).
    pub name: String,
    pub email: Option<String>,
    /// `None`: postpaid, no credit limit.
    pub balance: Option<Amount>,
    /// Sandbox accounts only ever send through the simulator.
    pub sandbox: bool,
    pub disabled: bool,
    pub settings: AccountSettings,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub name: String,
    pub email: Option<String>,
    pub balance: Option<Amount>,
    pub sandbox: bool,
    pub settings: AccountSettings,
}

impl NewAccount {
    /// A live (not sandbox) account with the default settings and no e-mail;
    /// `balance` `None` is postpaid.
    pub fn new(name: impl Into<String>, balance: Option<Amount>) -> Self {
        NewAccount {
            name: name.into(),
            email: None,
            balance,
            sandbox: false,
            settings: AccountSettings::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: i64,
    pub account_id: AccountId,
    /// The first characters of the token, shown to tell keys apart.
    pub prefix: String,
    pub label: Option<String>,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// One credit movement of an account: a campaign's debit (negative), a
/// refund, a top-up or a manual correction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: i64,
    pub account_id: AccountId,
    pub amount: Amount,
    /// "campaign", "refund: cancelled", "opening balance", or the reason given
    /// to [`Store::credit_account`](crate::Store::credit_account).
    pub reason: String,
    pub campaign_id: Option<CampaignId>,
    pub at: Millis,
}

/// Everything about a send that is not in the plan itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CampaignMeta {
    /// Which door it came through: "api", "smsfactor", "smpp", …
    pub source: String,
    /// Where its status callbacks go, overriding the account's `webhooks.dlr`.
    /// `smpp:` sends them as SMPP delivery receipts instead of HTTP requests
    /// (see [`Store::claim_smpp_receipts`](crate::Store::claim_smpp_receipts)).
    pub callback_url: Option<String>,
    /// Where replies to its messages go, overriding the account's
    /// `webhooks.inbound` (SMS Partner's `urlResponse`).
    pub reply_url: Option<String>,
    /// Which status changes go to the callback; `None`: the account's
    /// `webhooks.callback_events`.
    pub callback_events: Option<CallbackEvents>,
    /// A client label (SMS Partner's `tag`).
    pub tag: Option<String>,
    /// Idempotency key and the answer to replay for it (see [`Store::idempotent_answer`](crate::Store::idempotent_answer)).
    pub idempotency: Option<IdempotencyRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub key: String,
    /// The answer body to replay; `{campaign_id}` in it is replaced by the new id.
    pub answer_template: String,
    /// Start of the idempotency window: a record of the key created before it
    /// is stale and is replaced; one created since makes the commit fail with
    /// [`StoreError::Conflict`](crate::StoreError::Conflict). Doors leave it 0:
    /// the sending pipeline sets it from its configured window.
    pub since: Millis,
    /// What the request was (hex SHA-256 of its canonical form), so that the
    /// key reused for another request is told apart from a retry. Doors leave
    /// it empty: the sending pipeline sets it.
    pub request_hash: String,
}

/// What [`Store::commit_campaign`](crate::Store::commit_campaign) commits: the request (for client references)
/// and its plan.
pub struct NewCampaign<'a> {
    pub account_id: AccountId,
    pub request: &'a SendRequest,
    pub plan: &'a Plan,
    pub meta: CampaignMeta,
    /// Messages whose `send_at` ≤ `now` are stored `queued`, the others `scheduled`.
    pub now: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub account_id: AccountId,
    pub status: CampaignStatus,
    pub source: String,
    pub kind: MessageKind,
    pub route_class: RouteClass,
    pub channels: ChannelOrder,
    pub sender: Option<String>,
    /// The first text (the shared one, or the first recipient's).
    pub text: String,
    pub encoding: Encoding,
    pub segments: u16,
    pub counters: Counters,
    pub cost: Amount,
    pub refunded: Amount,
    pub send_at: Millis,
    pub expires_at: Option<Millis>,
    pub callback_url: Option<String>,
    /// As the request said (`None`: the account's setting applies).
    pub callback_events: Option<CallbackEvents>,
    pub tag: Option<String>,
    pub created_at: Millis,
}

/// Messages of a campaign per status.
pub type StatusCounts = BTreeMap<MessageStatus, u64>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub campaign_id: CampaignId,
    pub account_id: AccountId,
    pub number: E164,
    pub country: Country,
    pub client_ref: Option<String>,
    pub text: String,
    pub encoding: Encoding,
    pub segments: u16,
    pub cost: Amount,
    pub status: MessageStatus,
    pub send_at: Millis,
    pub expires_at: Option<Millis>,
    /// The connector that took it and the id it gave: for a message sent in
    /// several parts, the id of the first part (each part's id is kept, to
    /// match its report, but not shown here).
    pub connector: Option<String>,
    pub carrier_id: Option<String>,
    /// Last error code or reason (connector status, "expired", …).
    pub error: Option<String>,
    pub updated_at: Millis,
}

/// One recorded transition of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: MessageStatus,
    pub at: Millis,
    pub detail: Option<String>,
}

/// A slice of a listing; `limit` 0 means no limit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CampaignFilter {
    /// Created at or after.
    pub created_from: Option<Millis>,
    /// Created before.
    pub created_to: Option<Millis>,
    pub status: Option<CampaignStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelOutcome {
    pub cancelled: u64,
    pub refunded: Amount,
}

/// A message leased for sending, with what a connector needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    pub id: MessageId,
    pub account_id: AccountId,
    pub campaign_id: CampaignId,
    pub sandbox: bool,
    pub number: E164,
    pub country: Country,
    pub sender: Option<String>,
    pub text: String,
    pub encoding: Encoding,
    pub segments: u16,
    pub kind: MessageKind,
    pub route_class: RouteClass,
    /// The channels the router tries, in order.
    pub channels: ChannelOrder,
    pub expires_at: Option<Millis>,
    /// Submit attempts before this one.
    pub attempts: u32,
}

/// What became of a leased message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Accepted by `connector`, which gave one id per part of the message, in
    /// order (at least one). Delivery reports match the parts by these ids;
    /// [`Message::carrier_id`] keeps the first.
    Submitted {
        connector: String,
        carrier_ids: Vec<String>,
        /// When its delivery report is due at the latest (the connector's
        /// report timeout): past it, `expire_unreported` makes the message
        /// `expired` ("no delivery report").
        report_by: Millis,
    },
    /// Temporary failure on every route: queue again at `retry_at`.
    Retry { retry_at: Millis, error: String },
    /// Refused for good by a connector.
    Rejected { connector: String, error: String },
    /// Gave up (retries exhausted, no route): refunded.
    Failed { error: String },
}

/// A status report from a connector, matched by (connector, carrier id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierReport {
    pub connector: String,
    pub carrier_id: String,
    /// `Delivered`, `Undelivered`, `Expired` or `Rejected`.
    pub status: MessageStatus,
    pub error: Option<String>,
    pub at: Millis,
}

/// A reply received from a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInbound {
    pub from: E164,
    /// The number or sender it was sent to.
    pub to: String,
    pub text: String,
    pub connector: String,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbound {
    pub id: i64,
    pub account_id: AccountId,
    pub from: E164,
    pub to: String,
    pub text: String,
    pub is_stop: bool,
    /// The last message sent to this number by the account, if any.
    pub message_id: Option<MessageId>,
    pub campaign_id: Option<CampaignId>,
    pub received_at: Millis,
}

/// Blacklist or NPAI entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedNumber {
    pub id: i64,
    pub number: E164,
    /// "api", "stop", "smsfactor", …
    pub source: String,
    /// Free client fields (SMSFactor's info1..info4).
    pub info: Vec<String>,
    pub campaign_id: Option<CampaignId>,
    pub added_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberList {
    Blacklist,
    Npai,
}

/// What a client callback is about; the dialect that renders it picks the shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Status,
    Inbound,
    Stop,
}

/// A callback waiting in the outbox. It is enqueued in the same transaction as
/// the event it reports, and rendered in its campaign's dialect (`source`) by the
/// webhook worker when delivered.
///
/// Status callbacks go to the campaign's `callback_url`, else to the account's
/// `webhooks.dlr` (`smpp:` ones are SMPP delivery receipts, claimed by
/// [`Store::claim_smpp_receipts`](crate::Store::claim_smpp_receipts), never
/// sent over HTTP); inbound and STOP callbacks to the campaign's `reply_url`,
/// else the account's `webhooks.inbound` (see
/// [`Store::record_inbound`](crate::Store::record_inbound)); with no URL
/// nothing is enqueued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub account_id: AccountId,
    pub url: String,
    pub kind: EventKind,
    /// The door of the campaign ("api", "smsfactor", …); for inbound, the door
    /// of the campaign the reply answers, else the account's
    /// `webhooks.dialect`, else "api".
    pub source: String,
    /// For `Status`: the message and the status it reached.
    pub message_id: Option<MessageId>,
    pub status: Option<MessageStatus>,
    /// For `Inbound` and `Stop`.
    pub inbound_id: Option<i64>,
    /// When the event happened.
    pub at: Millis,
    pub attempts: u32,
}

/// After a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookResult {
    Delivered,
    /// Try again at `retry_at`.
    Retry {
        retry_at: Millis,
        error: String,
    },
    /// Attempts exhausted.
    GaveUp {
        error: String,
    },
}

/// What rendering a batch of leased callbacks needs, read together from one
/// snapshot (see [`Store::webhook_facts`](crate::Store::webhook_facts)): the
/// callbacks' accounts, the messages and campaigns of status callbacks, and
/// the replies of inbound ones, each by id. A record that no longer exists
/// is absent.
#[derive(Debug, Clone, Default)]
pub struct WebhookFacts {
    pub accounts: HashMap<AccountId, Account>,
    pub messages: HashMap<MessageId, Message>,
    pub campaigns: HashMap<CampaignId, Campaign>,
    pub inbound: HashMap<i64, Inbound>,
}

/// The answer recorded for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentAnswer {
    pub campaign_id: CampaignId,
    pub body: String,
    /// The [`IdempotencyRecord::request_hash`] of the request answered; empty
    /// for a record kept from before hashes were stored.
    pub request_hash: String,
}
