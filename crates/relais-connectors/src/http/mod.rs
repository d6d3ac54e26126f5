//! The HTTP provider connectors (relais as an aggregator: another provider's
//! API as a route), one module each, and what they share: [`HttpOptions`]
//! (base URL, timeout, concurrency, intake address) and [`HttpPeer`], the
//! client that sends one provider request at a time per message within a
//! concurrency limit over keep-alive connections, and sorts what cannot be
//! answered (timeouts, refused connections, 5xx, 429) as temporary.
//!
//! A provider module holds its configuration keys, its request and answer
//! shapes, its error mapping and its intake routes; the registry (the
//! binary's `connectors` module) builds it from `[[connectors]]`.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use relais_store::OutboundMessage;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::contract::{ConnectorStatus, SubmitResult};
use crate::intake::{self, IntakeAddress};
use crate::secret::Secret;

pub mod generic;
pub mod octopush;
pub mod push;
pub mod smsadvert;
pub mod smsfactor;
pub mod smspartner;
pub mod twilio;
pub mod vonage;

/// What every HTTP connector is configured with, beside its provider's keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpOptions {
    /// The provider's API root; absent: the provider's public one.
    pub base_url: Option<String>,
    /// How long one request may take, connection included.
    pub timeout_ms: Option<u64>,
    /// Requests in flight to the provider at most.
    pub concurrency: Option<usize>,
    /// Where the provider reaches relais (`https://relais.example.com`): the
    /// base of the intake URLs given to it as callbacks.
    pub public_url: Option<String>,
    /// The secret in the intake path; absent: derived from the credential.
    pub intake_secret: Option<Secret>,
}

impl HttpOptions {
    /// The configuration keys these options take, for the registry to tell
    /// them from the provider's own.
    pub const KEYS: [&'static str; 5] = [
        "base_url",
        "timeout_ms",
        "concurrency",
        "public_url",
        "intake_secret",
    ];
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_CONCURRENCY: usize = 16;

/// A provider's answer to one request.
#[derive(Debug)]
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub body: String,
}

impl Answer {
    /// 5xx and 429 (throttled): the provider could not take it now.
    pub fn is_temporary(&self) -> bool {
        self.status.is_server_error() || self.status == reqwest::StatusCode::TOO_MANY_REQUESTS
    }

    /// A temporary result naming the provider's status and the start of its body.
    pub fn temporary(&self, provider: &str) -> SubmitResult {
        SubmitResult::Temporary {
            error: format!(
                "{provider}: HTTP {}: {}",
                self.status.as_u16(),
                excerpt(&self.body)
            ),
        }
    }
}

/// The start of a body, for error messages and logs.
pub fn excerpt(body: &str) -> &str {
    match body.char_indices().nth(200) {
        Some((end, _)) => &body[..end],
        None => body,
    }
}

/// The indexes of `messages` grouped by `key`, groups in first-seen order and
/// split at `max` messages.
pub fn groups<K: Eq + Hash>(
    messages: &[OutboundMessage],
    max: usize,
    key: impl Fn(&OutboundMessage) -> K,
) -> Vec<Vec<usize>> {
    let max = max.max(1);
    let mut open: HashMap<K, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let k = key(message);
        match open.get(&k) {
            Some(&g) if groups[g].len() < max => groups[g].push(i),
            _ => {
                open.insert(k, groups.len());
                groups.push(vec![i]);
            }
        }
    }
    groups
}

/// One provider, as the connector reaches it.
pub struct HttpPeer {
    name: String,
    base_url: String,
    client: reqwest::Client,
    limit: Semaphore,
    address: IntakeAddress,
    in_flight: AtomicU64,
    /// The last failure (5xx, 429, no answer) and when, until a request succeeds.
    last_error: Mutex<Option<(String, Instant)>>,
}

/// How long a provider that failed counts as down before the next message
/// tries it again (meanwhile the dispatcher uses the route's next connector).
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

impl HttpPeer {
    /// `default_base_url`: the provider's public API root; `credential`: what
    /// the intake secret is derived from when none is configured.
    pub fn new(
        name: &str,
        options: &HttpOptions,
        default_base_url: &str,
        credential: &Secret,
    ) -> Result<HttpPeer, String> {
        let secret = match &options.intake_secret {
            Some(secret) if intake::is_url_safe(secret) => secret.clone(),
            Some(_) => {
                return Err("intake_secret takes letters, digits, '-' and '_' only".into());
            }
            None => intake::derived_secret(name, credential),
        };
        let base_url = options
            .base_url
            .as_deref()
            .unwrap_or(default_base_url)
            .trim_end_matches('/')
            .to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(format!("base_url must be an http(s) URL, not {base_url:?}"));
        }
        let concurrency = options.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 {
            return Err("concurrency must be at least 1".into());
        }
        let timeout = options
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_TIMEOUT);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(concurrency)
            .user_agent(concat!("relais/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(HttpPeer {
            name: name.to_string(),
            base_url,
            client,
            limit: Semaphore::new(concurrency),
            address: IntakeAddress::new(name, options.public_url.as_deref(), &secret),
            in_flight: AtomicU64::new(0),
            last_error: Mutex::new(None),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `path` under the provider's base URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Where the provider reaches this connector's intake routes.
    pub fn address(&self) -> &IntakeAddress {
        &self.address
    }

    /// Sends one request within the concurrency limit. `Err` is what no
    /// answer came for (timeout, refused connection): always temporary.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, String> {
        let _permit = self
            .limit
            .acquire()
            .await
            .expect("the limit is never closed");
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let answer = async {
            let response = request.send().await?;
            let status = response.status();
            let body = response.text().await?;
            Ok::<_, reqwest::Error>(Answer { status, body })
        }
        .await;
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let mut last_error = self.last_error.lock().expect("last error");
        match answer {
            Ok(answer) if answer.is_temporary() => {
                let error = format!("HTTP {}", answer.status.as_u16());
                tracing::warn!(connector = %self.name, %error, "provider could not take a request");
                *last_error = Some((error, Instant::now()));
                Ok(answer)
            }
            Ok(answer) => {
                *last_error = None;
                Ok(answer)
            }
            Err(e) => {
                let error = if e.is_timeout() {
                    format!("{}: no answer in time", self.name)
                } else {
                    format!("{}: {e}", self.name)
                };
                tracing::warn!(connector = %self.name, error = %error, "provider unreachable");
                *last_error = Some((error.clone(), Instant::now()));
                Err(error)
            }
        }
    }

    /// Submits each message through `one`, up to the concurrency limit at a
    /// time (each request takes a permit in [`HttpPeer::send`]); answers in order.
    pub async fn each<'a, F, Fut>(
        &self,
        messages: &'a [OutboundMessage],
        one: F,
    ) -> Vec<SubmitResult>
    where
        F: Fn(&'a OutboundMessage) -> Fut,
        Fut: Future<Output = SubmitResult>,
    {
        futures_util::future::join_all(messages.iter().map(one)).await
    }

    /// Submits the messages one request per group of those sharing `key`
    /// (what the provider takes once for many recipients: text, sender,
    /// encoding…), at most `max` per group; `one` answers a result per
    /// message of its group, in order. Answers in the messages' order.
    pub async fn grouped<'a, K, F, Fut>(
        &self,
        messages: &'a [OutboundMessage],
        max: usize,
        key: impl Fn(&OutboundMessage) -> K,
        one: F,
    ) -> Vec<SubmitResult>
    where
        K: Eq + Hash,
        F: Fn(Vec<&'a OutboundMessage>) -> Fut,
        Fut: Future<Output = Vec<SubmitResult>>,
    {
        let groups = groups(messages, max, key);
        let answers = futures_util::future::join_all(
            groups
                .iter()
                .map(|group| one(group.iter().map(|&i| &messages[i]).collect())),
        )
        .await;
        let mut results = vec![None; messages.len()];
        for (group, answer) in groups.iter().zip(answers) {
            debug_assert_eq!(group.len(), answer.len(), "one result per message");
            for (&i, result) in group.iter().zip(answer) {
                results[i] = Some(result);
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| SubmitResult::Temporary {
                    error: "the provider request answered no result for it".into(),
                })
            })
            .collect()
    }

    /// Down for [`RETRY_AFTER`] after a request got no answer, a 5xx or a
    /// 429; up again after that (the next message probes the provider).
    pub fn is_up(&self) -> bool {
        self.last_error
            .lock()
            .expect("last error")
            .as_ref()
            .is_none_or(|(_, at)| at.elapsed() >= RETRY_AFTER)
    }

    /// Up or down as [`HttpPeer::is_up`], the last failure shown until a
    /// request succeeds.
    pub fn status(&self) -> ConnectorStatus {
        let last_error = self
            .last_error
            .lock()
            .expect("last error")
            .as_ref()
            .map(|(error, _)| error.clone());
        ConnectorStatus {
            up: self.is_up(),
            last_error,
            in_flight: self.in_flight.load(Ordering::Relaxed),
            binds: None,
        }
    }
}

/// How long `message` may still wait for delivery, from its expiry (what
/// providers take as a validity period or TTL); `None` without one.
pub fn remaining_validity(message: &OutboundMessage) -> Option<Duration> {
    message.expires_at.map(|at| {
        let left = at.saturating_sub(relais_store::clock::now_ms());
        Duration::from_millis(u64::try_from(left).unwrap_or(0))
    })
}
