//! Campaign planning: from a [`SendRequest`] and a [`PlanContext`] to the
//! [`Plan`] the store commits — the accepted messages, SMSFactor-style counters,
//! the exact cost and when each message goes — or one request-level [`PlanError`].
//!
//! Planning is pure: the context carries the time and every lookup.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use jiff::{SignedDuration, Timestamp};

use crate::calendar::Calendars;
use crate::encoding::{self, EncodingError, EncodingMode, TextAnalysis};
use crate::money::Amount;
use crate::number::{self, Country, E164, NumberError, NumberPolicy};
use crate::optout::{self, OptOutPolicy};
use crate::pricing::{self, PriceTable, RouteClass};
use crate::sender::{SenderError, SenderId};

/// Transactional messages (alerts, codes) go at once, whatever the hour;
/// marketing ones obey quiet hours and the STOP-mention rule.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    #[default]
    Transactional,
    Marketing,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Transactional => "transactional",
            MessageKind::Marketing => "marketing",
        }
    }
}

/// Where a message goes out: the provider's network (carriers, SMPP), or the
/// customer's own connected devices (phones).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    Network,
    Devices,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Network => "network",
            Channel::Devices => "devices",
        }
    }
}

/// The channels a campaign's messages may take, in failover order (SMSAdvert's
/// `sendAsShort` and `failover: "short"`). Only these orders exist: a client
/// that falls back does so from its own devices to the network.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ChannelOrder {
    #[default]
    Network,
    Devices,
    DevicesThenNetwork,
}

impl ChannelOrder {
    pub const ALL: [ChannelOrder; 3] = [
        ChannelOrder::Network,
        ChannelOrder::Devices,
        ChannelOrder::DevicesThenNetwork,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelOrder::Network => "network",
            ChannelOrder::Devices => "devices",
            ChannelOrder::DevicesThenNetwork => "devices_then_network",
        }
    }

    /// The channels, in the order they are tried.
    pub fn channels(self) -> &'static [Channel] {
        match self {
            ChannelOrder::Network => &[Channel::Network],
            ChannelOrder::Devices => &[Channel::Devices],
            ChannelOrder::DevicesThenNetwork => &[Channel::Devices, Channel::Network],
        }
    }

    /// The order trying exactly these channels; `None` for any other list
    /// (empty, repeated, or the network before devices).
    pub fn from_channels(channels: &[Channel]) -> Option<ChannelOrder> {
        ChannelOrder::ALL
            .into_iter()
            .find(|order| order.channels() == channels)
    }
}

/// One recipient as the client wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipient {
    /// The number in any format [`number::normalize`] accepts.
    pub number: String,
    /// The client's own id for this message (SMSFactor's `gsmsmsid`).
    pub client_ref: Option<String>,
    /// A text for this recipient only, replacing the request's text.
    pub text: Option<String>,
}

impl Recipient {
    pub fn new(number: impl Into<String>) -> Self {
        Recipient {
            number: number.into(),
            ..Recipient::default()
        }
    }
}

/// A send as every front door translates it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendRequest {
    /// The text for every recipient without a text of its own.
    pub text: Option<String>,
    pub recipients: Vec<Recipient>,
    pub sender: Option<String>,
    pub kind: MessageKind,
    /// When to send; `None` is now.
    pub send_at: Option<Timestamp>,
    /// End of the sending window: messages not submitted by then expire.
    pub expires_at: Option<Timestamp>,
    pub encoding: EncodingMode,
    /// `None` takes the account's default.
    pub smart_encoding: Option<bool>,
    pub route_class: RouteClass,
    /// Own devices, the network, or both in turn.
    pub channels: ChannelOrder,
}

/// A set of numbers the planner filters on (blacklist, NPAI).
pub trait NumberSet {
    fn contains(&self, number: E164) -> bool;
}

impl<S: std::hash::BuildHasher> NumberSet for HashSet<E164, S> {
    fn contains(&self, number: E164) -> bool {
        HashSet::contains(self, &number)
    }
}

/// The empty set.
pub struct NoNumbers;

impl NumberSet for NoNumbers {
    fn contains(&self, _: E164) -> bool {
        false
    }
}

/// Anti-flood: how many messages each number already received in the rule's
/// period (the store counts them), and the most it may receive.
pub struct FloodRule<'a> {
    pub recent: &'a dyn Fn(E164) -> u32,
    pub max_per_period: u32,
}

/// A monthly per-country limit: how many were sent this month and the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountryQuota {
    pub used: u64,
    pub limit: u64,
}

/// Request-size and timing limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_segments: u16,
    pub max_recipients: usize,
    /// How far in the past a `send_at` may be and still mean "now" (clock skew).
    pub past_tolerance: SignedDuration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_segments: 10,
            max_recipients: 1_000_000,
            past_tolerance: SignedDuration::from_secs(300),
        }
    }
}

/// Everything planning needs to know about the world.
pub struct PlanContext<'a> {
    pub now: Timestamp,
    /// Region for national-format numbers.
    pub default_region: Country,
    pub number_policy: NumberPolicy,
    pub blacklist: &'a dyn NumberSet,
    pub npai: &'a dyn NumberSet,
    /// `None` allows every country.
    pub allowed_countries: Option<&'a HashSet<Country>>,
    pub flood: Option<FloodRule<'a>>,
    pub country_quotas: Option<&'a HashMap<Country, CountryQuota>>,
    pub prices: &'a PriceTable,
    /// `None` is an account without a credit limit (postpaid).
    pub balance: Option<Amount>,
    pub calendars: &'a Calendars,
    pub opt_out: OptOutPolicy,
    pub smart_default: bool,
    pub limits: Limits,
}

impl<'a> PlanContext<'a> {
    /// A context for France with no filters, no credit limit and default limits.
    pub fn new(now: Timestamp, prices: &'a PriceTable, calendars: &'a Calendars) -> Self {
        PlanContext {
            now,
            default_region: Country::FR,
            number_policy: NumberPolicy::default(),
            blacklist: &NoNumbers,
            npai: &NoNumbers,
            allowed_countries: None,
            flood: None,
            country_quotas: None,
            prices,
            balance: None,
            calendars,
            opt_out: OptOutPolicy::default(),
            smart_default: false,
            limits: Limits::default(),
        }
    }
}

/// The counters as SMSFactor reports them: `total` before filtering, `sent`
/// after, and one counter per filter reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    pub total: u64,
    pub sent: u64,
    pub blacklisted: u64,
    pub duplicated: u64,
    pub npai: u64,
    pub invalid: u64,
    pub not_allowed: u64,
    pub flood: u64,
    pub country_limit: u64,
}

impl Counters {
    /// The non-zero filter counters, "3 invalid, 1 blacklisted" (or
    /// "none filtered").
    pub fn filtered_summary(&self) -> String {
        let parts: Vec<String> = [
            (self.invalid, "invalid"),
            (self.duplicated, "duplicated"),
            (self.not_allowed, "not allowed"),
            (self.blacklisted, "blacklisted"),
            (self.npai, "npai"),
            (self.flood, "flood"),
            (self.country_limit, "country limit"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, name)| format!("{n} {name}"))
        .collect();
        if parts.is_empty() {
            "none filtered".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Why a recipient was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterReason {
    Invalid(NumberError),
    Duplicated,
    /// The country is not allowed for the account, or has no price.
    NotAllowed,
    Blacklisted,
    Npai,
    Flood,
    CountryLimit,
}

impl FilterReason {
    /// The stable machine code, the name of the counter it increments.
    pub fn code(&self) -> &'static str {
        match self {
            FilterReason::Invalid(_) => "invalid",
            FilterReason::Duplicated => "duplicated",
            FilterReason::NotAllowed => "not_allowed",
            FilterReason::Blacklisted => "blacklisted",
            FilterReason::Npai => "npai",
            FilterReason::Flood => "flood",
            FilterReason::CountryLimit => "country_limit",
        }
    }
}

/// A recipient left out, by its index in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub recipient: u32,
    pub reason: FilterReason,
}

/// One accepted message. Its client reference is the request's
/// `recipients[recipient].client_ref` (not copied, to keep a million-recipient
/// plan small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedMessage {
    pub recipient: u32,
    pub number: E164,
    pub country: Country,
    /// Index into [`Plan::texts`].
    pub text: u32,
    pub segments: u16,
    pub cost: Amount,
    pub send_at: Timestamp,
}

/// The outcome of planning a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub counters: Counters,
    pub messages: Vec<PlannedMessage>,
    /// The distinct texts as they will be sent (STOP mention and smart encoding applied).
    pub texts: Vec<TextAnalysis>,
    pub rejections: Vec<Rejection>,
    pub cost: Amount,
    /// When the first message goes (the requested time, or later for marketing
    /// messages deferred by quiet hours).
    pub send_at: Timestamp,
    /// The time the request asked for (its `send_at`, or now).
    pub requested_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub sender: Option<SenderId>,
    pub kind: MessageKind,
    pub route_class: RouteClass,
    pub channels: ChannelOrder,
    /// Balance after the debit; `None` for accounts without a credit limit.
    pub balance_after: Option<Amount>,
}

/// The most rejections an answer lists: a request of a million invalid
/// numbers must not get a million-entry answer. The counters count them all.
pub const MAX_LISTED_REJECTIONS: usize = 1_000;

/// The first [`MAX_LISTED_REJECTIONS`] of `rejections`, those an answer lists.
pub fn listed_rejections(rejections: &[Rejection]) -> &[Rejection] {
    &rejections[..rejections.len().min(MAX_LISTED_REJECTIONS)]
}

impl Plan {
    /// The plan, if it sends anything: a plan every recipient was filtered
    /// out of is refused ([`PlanError::NoValidRecipient`]) rather than
    /// stored as an empty campaign. Applied to every send that commits;
    /// a simulation may show an empty plan with its counters.
    pub fn into_sendable(self) -> Result<Plan, PlanError> {
        if self.messages.is_empty() {
            return Err(PlanError::NoValidRecipient {
                counters: self.counters,
                rejections: self.rejections,
            });
        }
        Ok(self)
    }

    /// True when quiet hours made any message wait past the time requested.
    pub fn is_deferred(&self) -> bool {
        self.messages.iter().any(|m| m.send_at > self.requested_at)
    }
}

/// A request that cannot be planned at all. Each has a stable machine
/// [`code`](PlanError::code) that front doors map to their dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no recipient given")]
    NoRecipients,
    #[error("too many recipients: at most {max} per request")]
    TooManyRecipients { max: usize },
    #[error("no text given")]
    MissingText,
    #[error("the text is empty")]
    EmptyText,
    #[error("the text takes {segments} segments; at most {max} are allowed")]
    TextTooLong { segments: u16, max: u16 },
    #[error("{0}")]
    NotGsm7(EncodingError),
    #[error(
        "the text contains the control character U+{code:04X} at character {position}; \
         only line feed, carriage return and form feed are allowed"
    )]
    ControlCharacter { position: usize, code: u32 },
    #[error("invalid sender: {0}")]
    InvalidSender(SenderError),
    #[error("the send time is in the past")]
    SendTimeInPast,
    #[error("the sending window ends before it starts")]
    WindowEndBeforeStart,
    #[error("the sending window closes before quiet hours allow a marketing send")]
    WindowClosedByQuietHours,
    #[error("{0}")]
    MissingStopMention(optout::MissingMention),
    #[error("not enough credits: {needed} needed, {available} available")]
    InsufficientCredits { needed: Amount, available: Amount },
    /// Every recipient was filtered out: nothing would be sent (see
    /// [`Plan::into_sendable`]). Carries what planning found, for the door
    /// to say why (each rejection, by the recipient's index).
    #[error("no recipient can be sent to ({})", counters.filtered_summary())]
    NoValidRecipient {
        counters: Counters,
        rejections: Vec<Rejection>,
    },
}

impl PlanError {
    /// The stable machine code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            PlanError::NoRecipients => "no_recipients",
            PlanError::TooManyRecipients { .. } => "too_many_recipients",
            PlanError::MissingText => "missing_text",
            PlanError::EmptyText => "empty_text",
            PlanError::TextTooLong { .. } => "text_too_long",
            PlanError::NotGsm7(_) => "not_gsm7",
            PlanError::ControlCharacter { .. } => "control_character",
            PlanError::InvalidSender(_) => "invalid_sender",
            PlanError::SendTimeInPast => "send_time_in_past",
            PlanError::WindowEndBeforeStart => "window_end_before_start",
            PlanError::WindowClosedByQuietHours => "window_closed_by_quiet_hours",
            PlanError::MissingStopMention(_) => "missing_stop_mention",
            PlanError::InsufficientCredits { .. } => "insufficient_credits",
            PlanError::NoValidRecipient { .. } => "no_valid_recipient",
        }
    }

    /// The request field the error is about, when there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            PlanError::NoRecipients
            | PlanError::TooManyRecipients { .. }
            | PlanError::NoValidRecipient { .. } => Some("recipients"),
            PlanError::MissingText
            | PlanError::EmptyText
            | PlanError::TextTooLong { .. }
            | PlanError::NotGsm7(_)
            | PlanError::ControlCharacter { .. }
            | PlanError::MissingStopMention(_) => Some("text"),
            PlanError::InvalidSender(_) => Some("sender"),
            PlanError::SendTimeInPast => Some("send_at"),
            PlanError::WindowEndBeforeStart | PlanError::WindowClosedByQuietHours => {
                Some("expires_at")
            }
            PlanError::InsufficientCredits { .. } => None,
        }
    }
}

/// The first C0 control character `text` may not carry, with its position in
/// characters (from 0). Line feed and carriage return are text; form feed is
/// GSM-7's page break (an extension character). Any other, NUL above all, is
/// refused: handsets show it as garbage or cut the text there, and carriers
/// refuse it in their own way.
pub fn control_character(text: &str) -> Option<(usize, char)> {
    let byte = text
        .bytes()
        .position(|b| b < 0x20 && !matches!(b, b'\n' | b'\r' | 0x0C))?;
    let position = text[..byte].chars().count();
    Some((position, char::from(text.as_bytes()[byte])))
}

/// Prepares one text: control characters, STOP mention for marketing,
/// encoding, segment limit.
pub fn prepare_text(
    text: &str,
    kind: MessageKind,
    class: RouteClass,
    mode: EncodingMode,
    smart: bool,
    opt_out: &OptOutPolicy,
    max_segments: u16,
) -> Result<TextAnalysis, PlanError> {
    if text.trim().is_empty() {
        return Err(PlanError::EmptyText);
    }
    if let Some((position, c)) = control_character(text) {
        return Err(PlanError::ControlCharacter {
            position,
            code: u32::from(c),
        });
    }
    let text = match kind {
        MessageKind::Marketing => {
            optout::apply(text, opt_out, class).map_err(PlanError::MissingStopMention)?
        }
        MessageKind::Transactional => text.into(),
    };
    let analysis = encoding::analyze(&text, mode, smart).map_err(PlanError::NotGsm7)?;
    if analysis.segments > max_segments {
        return Err(PlanError::TextTooLong {
            segments: analysis.segments,
            max: max_segments,
        });
    }
    Ok(analysis)
}

/// What planning learns once per destination country.
#[derive(Clone, Copy)]
struct CountryRule {
    unit_price: Option<Amount>,
    allowed: bool,
    send_at: Timestamp,
    /// Messages this country can still take this month (`u64::MAX`: no limit).
    quota_left: u64,
}

/// Hashes an [`E164`] (a u64 of digits) by multiplication: a million inserts in
/// the duplicate check cost a few milliseconds instead of SipHash's tens.
#[derive(Default)]
struct NumberHasher(u64);

impl Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Plans a request. See the module documentation.
pub fn plan(req: &SendRequest, ctx: &PlanContext<'_>) -> Result<Plan, PlanError> {
    if req.recipients.is_empty() {
        return Err(PlanError::NoRecipients);
    }
    if req.recipients.len() > ctx.limits.max_recipients {
        return Err(PlanError::TooManyRecipients {
            max: ctx.limits.max_recipients,
        });
    }
    let sender = req
        .sender
        .as_deref()
        .map(SenderId::parse)
        .transpose()
        .map_err(PlanError::InvalidSender)?;

    let requested = match req.send_at {
        Some(t) if t < ctx.now - ctx.limits.past_tolerance => {
            return Err(PlanError::SendTimeInPast);
        }
        Some(t) => t.max(ctx.now),
        None => ctx.now,
    };
    if req.expires_at.is_some_and(|end| end <= requested) {
        return Err(PlanError::WindowEndBeforeStart);
    }

    if req.text.is_none() && req.recipients.iter().any(|r| r.text.is_none()) {
        return Err(PlanError::MissingText);
    }
    let smart = req.smart_encoding.unwrap_or(ctx.smart_default);
    let prepare = |text: &str| {
        prepare_text(
            text,
            req.kind,
            req.route_class,
            req.encoding,
            smart,
            &ctx.opt_out,
            ctx.limits.max_segments,
        )
    };
    let mut texts = Vec::new();
    let shared_text = req.text.as_deref().map(prepare).transpose()?;
    if let Some(analysis) = shared_text {
        texts.push(analysis);
    }

    let mut counters = Counters {
        total: req.recipients.len() as u64,
        ..Counters::default()
    };
    let mut messages = Vec::with_capacity(req.recipients.len());
    let mut rejections = Vec::new();
    let mut seen: HashSet<E164, BuildHasherDefault<NumberHasher>> =
        HashSet::with_capacity_and_hasher(req.recipients.len(), Default::default());
    let mut countries: HashMap<Country, CountryRule> = HashMap::new();
    let mut cost = Amount::ZERO;

    for (index, recipient) in req.recipients.iter().enumerate() {
        let index = index as u32;
        let mut reject = |reason: FilterReason, counter: &mut u64| {
            *counter += 1;
            rejections.push(Rejection {
                recipient: index,
                reason,
            });
        };
        let normalized =
            match number::normalize(&recipient.number, ctx.default_region, ctx.number_policy) {
                Ok(n) => n,
                Err(e) => {
                    reject(FilterReason::Invalid(e), &mut counters.invalid);
                    continue;
                }
            };
        let e164 = normalized.e164;
        if !seen.insert(e164) {
            reject(FilterReason::Duplicated, &mut counters.duplicated);
            continue;
        }
        let rule = match countries.get_mut(&normalized.country) {
            Some(rule) => rule,
            None => {
                let rule = country_rule(normalized.country, requested, req, ctx)?;
                countries.entry(normalized.country).or_insert(rule)
            }
        };
        let Some(unit_price) = rule.unit_price.filter(|_| rule.allowed) else {
            reject(FilterReason::NotAllowed, &mut counters.not_allowed);
            continue;
        };
        if ctx.blacklist.contains(e164) {
            reject(FilterReason::Blacklisted, &mut counters.blacklisted);
            continue;
        }
        if ctx.npai.contains(e164) {
            reject(FilterReason::Npai, &mut counters.npai);
            continue;
        }
        if let Some(flood) = &ctx.flood
            && (flood.recent)(e164) >= flood.max_per_period
        {
            reject(FilterReason::Flood, &mut counters.flood);
            continue;
        }
        if rule.quota_left == 0 {
            reject(FilterReason::CountryLimit, &mut counters.country_limit);
            continue;
        }
        rule.quota_left = rule.quota_left.saturating_sub(1);

        let (text, segments) = match &recipient.text {
            Some(own) => {
                let analysis = prepare(own)?;
                let segments = analysis.segments;
                texts.push(analysis);
                ((texts.len() - 1) as u32, segments)
            }
            // Checked above: without a text of its own, the shared one is texts[0].
            None => (0, texts[0].segments),
        };
        let message_cost = pricing::message_cost(segments, unit_price);
        cost += message_cost;
        counters.sent += 1;
        messages.push(PlannedMessage {
            recipient: index,
            number: e164,
            country: normalized.country,
            text,
            segments,
            cost: message_cost,
            send_at: rule.send_at,
        });
    }

    let balance_after = match ctx.balance {
        Some(balance) if cost > balance => {
            return Err(PlanError::InsufficientCredits {
                needed: cost,
                available: balance,
            });
        }
        Some(balance) => Some(balance - cost),
        None => None,
    };
    let send_at = messages
        .iter()
        .map(|m| m.send_at)
        .min()
        .unwrap_or(requested);
    Ok(Plan {
        counters,
        messages,
        texts,
        rejections,
        cost,
        send_at,
        requested_at: requested,
        expires_at: req.expires_at,
        sender,
        kind: req.kind,
        route_class: req.route_class,
        channels: req.channels,
        balance_after,
    })
}

fn country_rule(
    country: Country,
    requested: Timestamp,
    req: &SendRequest,
    ctx: &PlanContext<'_>,
) -> Result<CountryRule, PlanError> {
    let send_at = match req.kind {
        MessageKind::Transactional => requested,
        MessageKind::Marketing => ctx
            .calendars
            .for_country(country.as_str())
            .next_allowed(requested)
            .ok_or(PlanError::WindowClosedByQuietHours)?,
    };
    if req.expires_at.is_some_and(|end| end <= send_at) {
        return Err(PlanError::WindowClosedByQuietHours);
    }
    let quota_left = ctx
        .country_quotas
        .and_then(|q| q.get(&country))
        .map_or(u64::MAX, |q| q.limit.saturating_sub(q.used));
    Ok(CountryRule {
        unit_price: ctx.prices.unit_price(country, req.route_class),
        allowed: ctx
            .allowed_countries
            .is_none_or(|allowed| allowed.contains(&country)),
        send_at,
        quota_left,
    })
}
