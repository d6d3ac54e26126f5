//! The scheduler and dispatcher: leases due messages from the store, sends each
//! through its route (connectors in failover order, each within its segment
//! rate), and records what became of them. Expired windows are swept here too.
//!
//! Delivery is at-least-once towards the carrier: a lease that runs out (a
//! crashed node) puts its messages back in the queue.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use relais_store::{MessageId, OutboundMessage, Store, SubmitOutcome};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::ratelimit::SegmentRate;
use crate::routing::{Chain, Router};
use relais_connectors::contract::SubmitResult;
use relais_store::clock;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatcherConfig {
    /// Messages leased per claim.
    pub batch_size: u32,
    /// How long a lease lasts; a node that dies releases its messages after it.
    pub lease_ms: i64,
    /// Sleep when nothing is due (a commit wakes the dispatcher earlier).
    pub poll_interval_ms: u64,
    /// Concurrent claim-and-submit loops.
    pub workers: usize,
    /// Submit attempts (across routes) before a message fails and is refunded.
    pub max_attempts: u32,
    /// First retry delay; doubled at each attempt.
    pub retry_base_ms: i64,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            batch_size: 1000,
            lease_ms: 60_000,
            poll_interval_ms: 250,
            workers: 2,
            max_attempts: 5,
            retry_base_ms: 30_000,
        }
    }
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    router: Arc<Router>,
    rates: HashMap<String, Arc<SegmentRate>>,
    config: DispatcherConfig,
}

impl Dispatcher {
    /// `rates`: segment rate per connector name (connectors without one are unlimited).
    pub fn new(
        store: Arc<dyn Store>,
        router: Arc<Router>,
        rates: HashMap<String, Arc<SegmentRate>>,
        config: DispatcherConfig,
    ) -> Self {
        Dispatcher {
            store,
            router,
            rates,
            config,
        }
    }

    /// Claims and dispatches until `shutdown` turns true, then finishes the
    /// batch in hand (messages still queued wait for the next start).
    pub async fn run(self: Arc<Self>, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.config.poll_interval_ms);
        let mut last_sweep = 0;
        while !*shutdown.borrow() {
            let now = clock::now_ms();
            if now - last_sweep >= 1000 {
                last_sweep = now;
                match self.store.expire_due(now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        expired = n,
                        "messages expired: sending window closed, or no delivery report in time"
                    ),
                    Err(e) => tracing::error!(error = %e, "expiry sweep failed"),
                }
            }
            match self.dispatch_once().await {
                Ok(0) => {
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => {}
                        _ = wake.notified() => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "dispatch failed");
                    tokio::time::sleep(poll).await;
                }
            }
        }
    }

    /// Claims one batch and dispatches it; answers how many messages it handled.
    pub async fn dispatch_once(&self) -> relais_store::StoreResult<usize> {
        let now = clock::now_ms();
        let batch = self
            .store
            .claim_due(now, self.config.batch_size, now + self.config.lease_ms)
            .await?;
        if batch.is_empty() {
            return Ok(0);
        }
        let outcomes = self.dispatch(&batch).await;
        self.store
            .record_submissions(&outcomes, clock::now_ms())
            .await?;
        Ok(batch.len())
    }

    async fn dispatch(&self, batch: &[OutboundMessage]) -> Vec<(MessageId, SubmitOutcome)> {
        let mut outcomes = Vec::with_capacity(batch.len());
        // Group by route, keeping each group's order.
        let mut groups: Vec<(Chain, Vec<&OutboundMessage>)> = Vec::new();
        for m in batch {
            match self.router.chain(m) {
                Some(chain) => match groups.iter_mut().find(|(c, _)| same_chain(c, &chain)) {
                    Some((_, members)) => members.push(m),
                    None => groups.push((chain, vec![m])),
                },
                None => outcomes.push((
                    m.id,
                    SubmitOutcome::Failed {
                        error: "no route for this destination".into(),
                    },
                )),
            }
        }
        for (chain, members) in groups {
            outcomes.extend(self.through_chain(&chain, members).await);
        }
        outcomes
    }

    /// Tries each connector of the chain in turn with what the previous ones
    /// could not take for now.
    async fn through_chain(
        &self,
        chain: &Chain,
        mut pending: Vec<&OutboundMessage>,
    ) -> Vec<(MessageId, SubmitOutcome)> {
        let mut outcomes = Vec::with_capacity(pending.len());
        let mut last_error = String::from("no connector available");
        for connector in chain.iter() {
            if pending.is_empty() {
                break;
            }
            if !connector.is_up() {
                last_error = format!("{} is down", connector.name());
                continue;
            }
            if let Some(rate) = self.rates.get(connector.name()) {
                rate.acquire(pending.iter().map(|m| u32::from(m.segments)).sum())
                    .await;
            }
            let owned: Vec<OutboundMessage> = pending.iter().map(|m| (*m).clone()).collect();
            let started = std::time::Instant::now();
            let results = connector.submit(&owned).await;
            metrics::histogram!("relais_submit_latency_seconds", "connector" => connector.name().to_string())
                .record(started.elapsed().as_secs_f64());
            let report_by = clock::now_ms().saturating_add(
                i64::try_from(connector.report_timeout().as_millis()).unwrap_or(i64::MAX),
            );
            let mut still = Vec::new();
            for (m, result) in pending.into_iter().zip(results) {
                match result {
                    SubmitResult::Accepted { carrier_ids } => outcomes.push((
                        m.id,
                        SubmitOutcome::Submitted {
                            connector: connector.name().to_string(),
                            carrier_ids,
                            report_by,
                        },
                    )),
                    SubmitResult::Permanent { error } => outcomes.push((
                        m.id,
                        SubmitOutcome::Rejected {
                            connector: connector.name().to_string(),
                            error,
                        },
                    )),
                    SubmitResult::Temporary { error } => {
                        last_error = format!("{}: {error}", connector.name());
                        still.push(m);
                    }
                }
            }
            pending = still;
        }
        let now = clock::now_ms();
        for m in pending {
            let attempts = m.attempts + 1;
            let outcome = if attempts >= self.config.max_attempts {
                SubmitOutcome::Failed {
                    error: last_error.clone(),
                }
            } else {
                let delay = self
                    .config
                    .retry_base_ms
                    .saturating_mul(1 << (attempts - 1).min(20));
                SubmitOutcome::Retry {
                    retry_at: now + delay,
                    error: last_error.clone(),
                }
            };
            outcomes.push((m.id, outcome));
        }
        metrics::counter!("relais_messages_dispatched_total").increment(outcomes.len() as u64);
        outcomes
    }
}

/// Whether two chains are the same connectors in the same order (a chain
/// spanning two channels is built for each message that takes it).
fn same_chain(a: &Chain, b: &Chain) -> bool {
    a.len() == b.len() && a.iter().zip(b.iter()).all(|(a, b)| Arc::ptr_eq(a, b))
}
