//! The webhook outbox worker: leases due callbacks from the store, renders each
//! in its door's shape, signs it, POSTs it, and records the result, retrying
//! with exponential backoff until the client answers 2xx.
//!
//! It works as a pipeline, so that the cost per callback is a fraction of a
//! store round trip and no batch waits for its slowest member:
//! - a batch is claimed with one statement and what rendering it needs
//!   (accounts, messages, campaigns, replies) read with one more
//!   ([`Store::webhook_facts`]);
//! - its requests go out `concurrency` at a time, and the next batch is
//!   claimed as soon as fewer than `concurrency` requests wait, not when the
//!   whole batch is done;
//! - results are recorded by a task of their own, many per transaction
//!   ([`Store::finish_webhooks`]).
//!
//! A callback is marked delivered only after its client answered 2xx, so a
//! crash at any point re-sends (after the lease) at most what was in flight:
//! every callback arrives at least once.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use relais_store::{
    Account, Campaign, EventKind, Inbound, Message, Millis, Store, StoreError, StoreResult,
    Webhook, WebhookFacts, WebhookResult,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::callback_url::{check_callback_url, is_internal};
use relais_store::clock;

/// The facts a callback is rendered from, loaded when it is delivered.
// Built once per callback and borrowed by the renderer: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum CallbackFacts {
    Status {
        account: Account,
        campaign: Campaign,
        message: Message,
    },
    Inbound {
        account: Account,
        inbound: Inbound,
    },
}

impl CallbackFacts {
    /// The account the event belongs to.
    pub fn account(&self) -> &Account {
        match self {
            CallbackFacts::Status { account, .. } | CallbackFacts::Inbound { account, .. } => {
                account
            }
        }
    }

    /// The facts of `webhook` among those read for its batch; `None` when a
    /// record it names no longer exists (or is another account's). A status
    /// callback reports the status the event was about, not a later one.
    pub fn of(webhook: &Webhook, facts: &WebhookFacts) -> Option<CallbackFacts> {
        let account = facts.accounts.get(&webhook.account_id)?;
        match webhook.kind {
            EventKind::Status => {
                let message = facts.messages.get(&webhook.message_id?)?;
                let campaign = facts.campaigns.get(&message.campaign_id)?;
                if message.account_id != account.id || campaign.account_id != account.id {
                    return None;
                }
                let mut message = message.clone();
                if let Some(status) = webhook.status {
                    message.status = status;
                    message.updated_at = webhook.at;
                }
                Some(CallbackFacts::Status {
                    account: account.clone(),
                    campaign: campaign.clone(),
                    message,
                })
            }
            EventKind::Inbound | EventKind::Stop => {
                let inbound = facts.inbound.get(&webhook.inbound_id?)?;
                (inbound.account_id == account.id).then(|| CallbackFacts::Inbound {
                    account: account.clone(),
                    inbound: inbound.clone(),
                })
            }
        }
    }
}

/// A callback body ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedCallback {
    pub body: Vec<u8>,
    pub content_type: &'static str,
    /// Headers of the door's own, sent besides relais' (e.g. a provider's
    /// signature header).
    pub headers: Vec<(&'static str, String)>,
}

impl RenderedCallback {
    pub fn new(body: Vec<u8>, content_type: &'static str) -> Self {
        RenderedCallback {
            body,
            content_type,
            headers: Vec::new(),
        }
    }
}

/// Renders callbacks in the shape of the door a campaign came through
/// (implemented by `relais-api`, which knows the dialects).
pub trait CallbackRenderer: Send + Sync + 'static {
    /// `None` when that door sends no callback for this event (the outbox entry
    /// is then finished without a request).
    fn render(&self, webhook: &Webhook, facts: &CallbackFacts) -> Option<RenderedCallback>;

    /// One request carrying several events of the door `source` to one URL,
    /// for accounts that ask for batches (`webhooks.batch_max`); `None` when
    /// that door sends one event per request (a provider's own shape).
    fn join(&self, source: &str, events: Vec<RenderedCallback>) -> Option<RenderedCallback> {
        let _ = (source, events);
        None
    }
}

/// Delivery settings of the outbox worker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    pub batch_size: u32,
    /// Callbacks in flight at once.
    pub concurrency: usize,
    pub lease_ms: i64,
    /// Attempts before giving up. With the defaults (8, 60 s doubling, capped at
    /// 1 h) the retries span about 3 hours, the first six about an hour.
    pub max_attempts: u32,
    pub backoff_base_ms: i64,
    pub backoff_max_ms: i64,
    pub timeout_ms: u64,
    /// Allow callbacks to loopback and private addresses (tests, internal hooks).
    pub allow_private: bool,
    pub poll_interval_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            batch_size: 100,
            concurrency: 16,
            lease_ms: 60_000,
            max_attempts: 8,
            backoff_base_ms: 60_000,
            backoff_max_ms: 3_600_000,
            timeout_ms: 10_000,
            allow_private: false,
            poll_interval_ms: 500,
        }
    }
}

impl WebhookConfig {
    /// Refuses a lease no longer than a request's timeout: a request that
    /// could outlast its lease is never started, so no callback would ever
    /// be sent.
    pub fn validate(&self) -> Result<(), String> {
        if self.lease_ms <= i64::try_from(self.timeout_ms).unwrap_or(i64::MAX) {
            return Err(format!(
                "engine.webhooks.lease_ms ({}) must exceed timeout_ms ({}): a callback that \
                 could outlast its lease is never sent",
                self.lease_ms, self.timeout_ms
            ));
        }
        Ok(())
    }
}

/// Header carrying the signature: `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "x-relais-signature";
/// Header carrying the Unix time (seconds) that the signature covers.
pub const TIMESTAMP_HEADER: &str = "x-relais-timestamp";

/// The signature of a callback body at a time, as sent in [`SIGNATURE_HEADER`].
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let signed = hmac_sha256_hex(secret, &[timestamp.to_string().as_bytes(), b".", body]);
    format!("sha256={signed}")
}

/// Hex HMAC-SHA256 with `secret` over the concatenation of `parts`.
pub fn hmac_sha256_hex(secret: &str, parts: &[&[u8]]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Delay before the attempt after `attempts` failed ones: base × 2^(attempts−1), capped.
pub fn backoff_ms(config: &WebhookConfig, attempts: u32) -> i64 {
    let factor = 1i64 << attempts.saturating_sub(1).min(30);
    config
        .backoff_base_ms
        .saturating_mul(factor)
        .min(config.backoff_max_ms)
}

pub struct WebhookWorker {
    store: Arc<dyn Store>,
    renderer: Arc<dyn CallbackRenderer>,
    client: reqwest::Client,
    config: WebhookConfig,
}

/// One request to send: one callback, or several joined (batched webhooks).
struct Delivery {
    /// The callbacks it carries, with their attempts so far.
    webhooks: Vec<(i64, u32)>,
    url: String,
    event: &'static str,
    callback: RenderedCallback,
    secret: String,
    /// The callbacks' lease: a request that could outlast it is not started
    /// (another worker may have the callbacks by then).
    lease_until: Millis,
}

/// What a claim gave: requests to send, and results known without one.
#[derive(Default)]
struct Claimed {
    count: usize,
    deliveries: Vec<Delivery>,
    settled: Vec<(i64, WebhookResult)>,
}

impl WebhookWorker {
    pub fn new(
        store: Arc<dyn Store>,
        renderer: Arc<dyn CallbackRenderer>,
        config: WebhookConfig,
    ) -> Self {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            // A redirect could lead to an address the URL check refused.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("relais/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder.build().expect("HTTP client");
        WebhookWorker {
            store,
            renderer,
            client,
            config,
        }
    }

    /// Delivers due callbacks until `shutdown` turns true, then lets the
    /// requests in flight finish and records their results. Callbacks claimed
    /// but not yet sent stay leased and are sent after their lease ends.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.config.poll_interval_ms);
        let concurrency = self.config.concurrency.max(1);
        let (results, recorded) = mpsc::unbounded_channel();
        let recorder = tokio::spawn(record_results(
            self.store.clone(),
            recorded,
            "webhook outbox",
        ));
        let mut queue: VecDeque<Delivery> = VecDeque::new();
        let mut in_flight = JoinSet::new();
        // After a claim that found fewer than it asked for, the next one waits
        // for the poll interval (or for the queue to run dry).
        let mut next_claim = tokio::time::Instant::now();
        // The engine dropped without saying stop: stop all the same.
        let mut closed = false;
        loop {
            let stopping = closed || *shutdown.borrow();
            if !stopping && queue.len() < concurrency && tokio::time::Instant::now() >= next_claim {
                match self.claim().await {
                    Ok(claimed) => {
                        if claimed.count < self.config.batch_size as usize {
                            next_claim = tokio::time::Instant::now() + poll;
                        }
                        if !claimed.settled.is_empty() {
                            count_results(&claimed.settled);
                            let _ = results.send(claimed.settled);
                        }
                        queue.extend(claimed.deliveries);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "webhook outbox: claiming failed");
                        next_claim = tokio::time::Instant::now() + poll;
                    }
                }
            }
            while !stopping && in_flight.len() < concurrency {
                let Some(delivery) = queue.pop_front() else {
                    break;
                };
                let timeout = i64::try_from(self.config.timeout_ms).unwrap_or(i64::MAX);
                if clock::now_ms().saturating_add(timeout) > delivery.lease_until {
                    tracing::debug!(
                        callbacks = delivery.webhooks.len(),
                        "webhook lease too short for a request: left to be claimed again"
                    );
                    continue;
                }
                let worker = self.clone();
                in_flight.spawn(async move { worker.send(delivery).await });
            }
            if in_flight.is_empty() {
                if stopping {
                    break;
                }
                if queue.is_empty() && tokio::time::Instant::now() < next_claim {
                    tokio::select! {
                        _ = tokio::time::sleep_until(next_claim) => {}
                        changed = shutdown.changed() => closed = changed.is_err(),
                    }
                }
                continue;
            }
            tokio::select! {
                Some(joined) = in_flight.join_next() => {
                    let mut done = joined.expect("webhook task");
                    while let Some(more) = in_flight.try_join_next() {
                        done.extend(more.expect("webhook task"));
                    }
                    count_results(&done);
                    let _ = results.send(done);
                }
                changed = shutdown.changed(), if !stopping => closed = changed.is_err(),
                _ = tokio::time::sleep_until(next_claim), if !stopping && queue.len() < concurrency => {}
            }
        }
        drop(results);
        let _ = recorder.await;
    }

    /// Claims a batch, reads its facts, and turns it into requests.
    #[tracing::instrument(name = "webhook_batch", skip_all, fields(claimed))]
    async fn claim(&self) -> Result<Claimed, StoreError> {
        let now = clock::now_ms();
        let lease_until = now + self.config.lease_ms;
        let webhooks = self
            .store
            .claim_webhooks(now, self.config.batch_size, lease_until)
            .await?;
        tracing::Span::current().record("claimed", webhooks.len());
        if webhooks.is_empty() {
            return Ok(Claimed::default());
        }
        let facts = self.store.webhook_facts(&webhooks).await?;
        let mut claimed = Claimed {
            count: webhooks.len(),
            ..Claimed::default()
        };
        // Joined requests, by account, URL and door, in the order of their
        // first callback.
        let mut groups: HashMap<(i64, String, String), usize> = HashMap::new();
        let mut joined: Vec<(String, u32, Vec<Delivery>)> = Vec::new();
        for webhook in &webhooks {
            let Some(callback_facts) = CallbackFacts::of(webhook, &facts) else {
                claimed.settled.push((
                    webhook.id,
                    WebhookResult::GaveUp {
                        error: "the event's records no longer exist".into(),
                    },
                ));
                continue;
            };
            let Some(rendered) = self.renderer.render(webhook, &callback_facts) else {
                claimed.settled.push((webhook.id, WebhookResult::Delivered));
                continue;
            };
            if let Err(e) = check_callback_url(&webhook.url, self.config.allow_private) {
                claimed.settled.push((
                    webhook.id,
                    WebhookResult::GaveUp {
                        error: e.to_string(),
                    },
                ));
                continue;
            }
            let account = callback_facts.account();
            let delivery = Delivery {
                webhooks: vec![(webhook.id, webhook.attempts)],
                url: webhook.url.clone(),
                event: event_name(webhook.kind),
                callback: rendered,
                secret: account.settings.webhook_secret.clone(),
                lease_until,
            };
            match account.settings.webhooks.batch_max.filter(|&n| n > 1) {
                None => claimed.deliveries.push(delivery),
                Some(batch_max) => {
                    let key = (account.id, webhook.url.clone(), webhook.source.clone());
                    let index = *groups.entry(key).or_insert_with(|| {
                        joined.push((webhook.source.clone(), batch_max, Vec::new()));
                        joined.len() - 1
                    });
                    joined[index].2.push(delivery);
                }
            }
        }
        for (source, batch_max, members) in joined {
            self.join(&source, batch_max, members, &mut claimed.deliveries);
        }
        Ok(claimed)
    }

    /// Joins the requests of one account, URL and door into requests of up to
    /// `batch_max` events each, where the door has a joined shape; else they
    /// go one by one.
    fn join(
        &self,
        source: &str,
        batch_max: u32,
        members: Vec<Delivery>,
        deliveries: &mut Vec<Delivery>,
    ) {
        let mut members = members.into_iter().peekable();
        while members.peek().is_some() {
            let chunk: Vec<Delivery> = members.by_ref().take(batch_max as usize).collect();
            let bodies = chunk.iter().map(|d| d.callback.clone()).collect();
            let Some(callback) = self.renderer.join(source, bodies) else {
                deliveries.extend(chunk);
                continue;
            };
            let first = &chunk[0];
            deliveries.push(Delivery {
                webhooks: chunk.iter().flat_map(|d| d.webhooks.clone()).collect(),
                url: first.url.clone(),
                event: BATCH_EVENT,
                callback,
                secret: first.secret.clone(),
                lease_until: first.lease_until,
            });
        }
    }

    /// Sends one request; answers the result of each callback it carries.
    async fn send(&self, delivery: Delivery) -> Vec<(i64, WebhookResult)> {
        let timestamp = clock::now_ms() / 1000;
        let ids: Vec<String> = delivery
            .webhooks
            .iter()
            .map(|(id, _)| id.to_string())
            .collect();
        let mut request = self
            .client
            .post(&delivery.url)
            .header(
                reqwest::header::CONTENT_TYPE,
                delivery.callback.content_type,
            )
            .header("x-relais-event", delivery.event)
            .header("x-relais-delivery", ids.join(","))
            .header(TIMESTAMP_HEADER, timestamp.to_string());
        if !delivery.secret.is_empty() {
            request = request.header(
                SIGNATURE_HEADER,
                sign(&delivery.secret, timestamp, &delivery.callback.body),
            );
        }
        for (name, value) in delivery.callback.headers {
            request = request.header(name, value);
        }
        let failure = match request.body(delivery.callback.body).send().await {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("HTTP {}", response.status().as_u16())),
            Err(e) => Some(e.without_url().to_string()),
        };
        delivery
            .webhooks
            .iter()
            .map(|&(id, attempts)| {
                let result = match &failure {
                    None => WebhookResult::Delivered,
                    Some(error) => self.retry(attempts, error.clone()),
                };
                (id, result)
            })
            .collect()
    }

    fn retry(&self, attempts_before: u32, error: String) -> WebhookResult {
        let attempts = attempts_before + 1;
        if attempts >= self.config.max_attempts {
            WebhookResult::GaveUp { error }
        } else {
            WebhookResult::Retry {
                retry_at: clock::now_ms() + backoff_ms(&self.config, attempts),
                error,
            }
        }
    }
}

/// The `x-relais-event` of a joined request (each event names its own).
pub const BATCH_EVENT: &str = "batch";

/// Results recorded per transaction at most.
const RECORD_BATCH: usize = 1000;

/// Where delivery results of outbox entries are recorded: the store itself,
/// or a door's queue over it (the SMPP server's receipts).
#[async_trait::async_trait]
pub trait ResultLog: Send + Sync + 'static {
    /// Records how each entry's delivery went, all in one transaction.
    async fn finish(&self, results: &[(i64, WebhookResult)], now: Millis) -> StoreResult<()>;
}

#[async_trait::async_trait]
impl ResultLog for dyn Store {
    async fn finish(&self, results: &[(i64, WebhookResult)], now: Millis) -> StoreResult<()> {
        self.finish_webhooks(results, now).await
    }
}

/// Records delivery results as they come, joining whatever has arrived into
/// one transaction. A failing store is retried a few times; results that
/// still cannot be recorded leave their entries leased, and so sent again
/// after the lease: at least once, never lost. `what` names the worker in
/// logs. Ends when every sender of `results` is gone and all is recorded.
pub async fn record_results<L: ResultLog + ?Sized>(
    log: Arc<L>,
    mut results: mpsc::UnboundedReceiver<Vec<(i64, WebhookResult)>>,
    what: &'static str,
) {
    while let Some(mut batch) = results.recv().await {
        while batch.len() < RECORD_BATCH {
            match results.try_recv() {
                Ok(more) => batch.extend(more),
                Err(_) => break,
            }
        }
        let mut delay = Duration::from_millis(50);
        for attempt in 1.. {
            match log.finish(&batch, clock::now_ms()).await {
                Ok(()) => break,
                Err(StoreError::NotFound) => {
                    tracing::warn!("{what}: a delivered entry no longer exists");
                    break;
                }
                Err(e) if attempt < 6 => {
                    tracing::warn!(error = %e, attempt, "{what}: recording results failed");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => {
                    tracing::error!(
                        error = %e,
                        entries = batch.len(),
                        "{what}: results not recorded; the entries will be sent again"
                    );
                    break;
                }
            }
        }
    }
}

fn count_results(results: &[(i64, WebhookResult)]) {
    for (_, result) in results {
        let label = match result {
            WebhookResult::Delivered => "delivered",
            WebhookResult::Retry { .. } => "retry",
            WebhookResult::GaveUp { .. } => "gave_up",
        };
        metrics::counter!("relais_webhook_attempts_total", "result" => label).increment(1);
    }
}
/// Resolves callback hosts keeping only public addresses: a public name can
/// point at an internal service, which the URL check (it sees names, not
/// addresses) cannot tell. Literal IP URLs are checked by the URL check.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let public: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_internal(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(
                    format!("{host} resolves only to loopback or private addresses").into(),
                );
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn event_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Status => "message.status",
        EventKind::Inbound => "message.inbound",
        EventKind::Stop => "message.stop",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_no_longer_than_a_request_is_refused() {
        assert!(WebhookConfig::default().validate().is_ok());
        let short = WebhookConfig {
            lease_ms: 3_000,
            timeout_ms: 10_000,
            ..WebhookConfig::default()
        };
        let error = short.validate().unwrap_err();
        assert!(
            error.contains("lease_ms (3000) must exceed timeout_ms (10000)"),
            "{error}"
        );
    }

    #[test]
    fn hmac_is_hex_hmac_sha256_over_the_parts() {
        // Computed independently: python3 hmac.new(b"s3cret", b'{"a":1}', sha256).hexdigest()
        assert_eq!(
            hmac_sha256_hex("s3cret", &[b"{\"a\"", b":1}"]),
            "5910e62016ef5034272c926c27071992a465c2335cecf41851bda071577f4f6d"
        );
    }

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_and_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            sign("secret", 1_700_000_000, br#"{"a":1}"#),
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused() {
        use reqwest::dns::Resolve;
        let localhost: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = PublicOnly
            .resolve(localhost)
            .await
            .err()
            .expect("localhost is refused");
        assert!(err.to_string().contains("loopback or private"), "{err}");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let config = WebhookConfig::default();
        let delays: Vec<i64> = (1..=8).map(|a| backoff_ms(&config, a) / 1000).collect();
        assert_eq!(delays, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
        // Six retries reach about an hour after the first attempt.
        assert!(delays[..6].iter().sum::<i64>() >= 3600);
    }
}
