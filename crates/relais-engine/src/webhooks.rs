//! The webhook outbox worker: leases due callbacks from the store, renders each
//! in its door's shape, signs it, POSTs it, and records the result, retrying
//! with exponential backoff until the client answers 2xx.

use std::sync::Arc;
use std::time::Duration;

use relais_store::{
    Account, Campaign, EventKind, Inbound, Message, Store, StoreResult, Webhook, WebhookResult,
};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::callback_url::{check_callback_url, is_internal};
use crate::clock;

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

    /// Delivers due callbacks until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.config.poll_interval_ms);
        while !*shutdown.borrow() {
            match self.deliver_due().await {
                Ok(0) => {
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "webhook outbox failed");
                    tokio::time::sleep(poll).await;
                }
            }
        }
    }

    /// Claims one batch of due callbacks and delivers them; answers how many.
    /// SMPP clients' receipts (url `smpp:`) are never among them: the store
    /// leaves those to the SMPP server (`Store::claim_smpp_receipts`), and
    /// [`check_callback_url`] would refuse their scheme anyway.
    pub async fn deliver_due(self: &Arc<Self>) -> StoreResult<usize> {
        let now = clock::now_ms();
        let due = self
            .store
            .claim_webhooks(now, self.config.batch_size, now + self.config.lease_ms)
            .await?;
        let count = due.len();
        let permits = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for webhook in due {
            let permit = permits
                .clone()
                .acquire_owned()
                .await
                .expect("semaphore open");
            let worker = self.clone();
            tasks.spawn(async move {
                let result = worker.deliver(&webhook).await;
                let label = match &result {
                    WebhookResult::Delivered => "delivered",
                    WebhookResult::Retry { .. } => "retry",
                    WebhookResult::GaveUp { .. } => "gave_up",
                };
                metrics::counter!("relais_webhook_attempts_total", "result" => label).increment(1);
                drop(permit);
                worker
                    .store
                    .finish_webhook(webhook.id, result, clock::now_ms())
                    .await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.expect("webhook task")?;
        }
        Ok(count)
    }

    async fn deliver(&self, webhook: &Webhook) -> WebhookResult {
        let facts = match self.facts(webhook).await {
            Ok(Some(facts)) => facts,
            Ok(None) => {
                return WebhookResult::GaveUp {
                    error: "the event's records no longer exist".into(),
                };
            }
            Err(e) => return self.retry(webhook, format!("store: {e}")),
        };
        let Some(rendered) = self.renderer.render(webhook, &facts) else {
            return WebhookResult::Delivered;
        };
        if let Err(e) = check_callback_url(&webhook.url, self.config.allow_private) {
            return WebhookResult::GaveUp {
                error: e.to_string(),
            };
        }
        let account = facts.account();
        let timestamp = clock::now_ms() / 1000;
        let mut request = self
            .client
            .post(&webhook.url)
            .header(reqwest::header::CONTENT_TYPE, rendered.content_type)
            .header("x-relais-event", event_name(webhook.kind))
            .header("x-relais-delivery", webhook.id.to_string())
            .header(TIMESTAMP_HEADER, timestamp.to_string());
        if !account.settings.webhook_secret.is_empty() {
            request = request.header(
                SIGNATURE_HEADER,
                sign(&account.settings.webhook_secret, timestamp, &rendered.body),
            );
        }
        for (name, value) in rendered.headers {
            request = request.header(name, value);
        }
        match request.body(rendered.body).send().await {
            Ok(response) if response.status().is_success() => WebhookResult::Delivered,
            Ok(response) => self.retry(webhook, format!("HTTP {}", response.status().as_u16())),
            Err(e) => self.retry(webhook, e.without_url().to_string()),
        }
    }

    fn retry(&self, webhook: &Webhook, error: String) -> WebhookResult {
        let attempts = webhook.attempts + 1;
        if attempts >= self.config.max_attempts {
            WebhookResult::GaveUp { error }
        } else {
            WebhookResult::Retry {
                retry_at: clock::now_ms() + backoff_ms(&self.config, attempts),
                error,
            }
        }
    }

    async fn facts(&self, webhook: &Webhook) -> StoreResult<Option<CallbackFacts>> {
        let Some(account) = self.store.account(webhook.account_id).await? else {
            return Ok(None);
        };
        match webhook.kind {
            EventKind::Status => {
                let Some(message_id) = webhook.message_id else {
                    return Ok(None);
                };
                let Some((mut message, _)) = self.store.message(account.id, message_id).await?
                else {
                    return Ok(None);
                };
                let Some(campaign) = self.store.campaign(account.id, message.campaign_id).await?
                else {
                    return Ok(None);
                };
                // Report the status the event was about, not a later one.
                if let Some(status) = webhook.status {
                    message.status = status;
                    message.updated_at = webhook.at;
                }
                Ok(Some(CallbackFacts::Status {
                    account,
                    campaign,
                    message,
                }))
            }
            EventKind::Inbound | EventKind::Stop => {
                let Some(inbound_id) = webhook.inbound_id else {
                    return Ok(None);
                };
                Ok(self
                    .store
                    .inbound_by_id(account.id, inbound_id)
                    .await?
                    .map(|inbound| CallbackFacts::Inbound { account, inbound }))
            }
        }
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
