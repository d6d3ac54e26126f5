//! Where connectors hand what their peer reports: delivery reports update
//! messages (and enqueue callbacks in the same transaction); replies are
//! stored, and a STOP reply blacklists its sender at once.
//!
//! Every call returns once what it was given is durable: [`StoreSink`]
//! retries the store (with a growing pause, each failure logged) until it
//! takes it. A connector that must stop meanwhile drops the call's future,
//! and then does not acknowledge to its peer, which offers it again.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use relais_core::optout;
use relais_store::{AccountId, CarrierReport, Inbound, Millis, NewInbound, Store, StoreResult};

/// What a connector reports into.
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// Applies delivery reports, once durable; answers how many messages
    /// changed (a report twice, or for a final message, changes none; one
    /// for an id not known yet waits for its submission).
    async fn reports(&self, reports: &[CarrierReport]) -> u64;

    /// Stores a reply (for `account_id` when the connector knows it, else for
    /// the account that last sent to the number), once durable. `None` when
    /// no account matches (logged).
    async fn inbound(&self, inbound: NewInbound, account_id: Option<AccountId>) -> Option<Inbound>;

    /// The carrier ids of messages `connector` still owes a report for,
    /// whose report deadline is at most `due_by` (see
    /// [`Store::awaiting_reports`]).
    async fn awaiting_reports(
        &self,
        connector: &str,
        due_by: Millis,
        limit: u32,
    ) -> StoreResult<Vec<String>>;
}

/// The sink of a running gateway: the store.
pub struct StoreSink {
    store: Arc<dyn Store>,
    stop_keywords: Vec<String>,
}

impl StoreSink {
    pub fn new(store: Arc<dyn Store>, stop_keywords: Vec<String>) -> Self {
        StoreSink {
            store,
            stop_keywords,
        }
    }
}

#[async_trait]
impl EventSink for StoreSink {
    async fn reports(&self, reports: &[CarrierReport]) -> u64 {
        if reports.is_empty() {
            return 0;
        }
        let changed = until_stored("delivery reports", || self.store.apply_reports(reports)).await;
        metrics::counter!("relais_reports_total").increment(reports.len() as u64);
        changed
    }

    async fn inbound(&self, inbound: NewInbound, account_id: Option<AccountId>) -> Option<Inbound> {
        let is_stop = optout::is_stop_reply(&inbound.text, &self.stop_keywords);
        let stored = until_stored("a reply", || {
            self.store
                .record_inbound(inbound.clone(), account_id, is_stop)
        })
        .await;
        metrics::counter!("relais_inbound_total", "stop" => if is_stop { "true" } else { "false" })
            .increment(1);
        if stored.is_none() {
            tracing::warn!(
                connector = %inbound.connector,
                from = %inbound.from,
                "reply from a number no account sent to; dropped"
            );
        }
        stored
    }

    async fn awaiting_reports(
        &self,
        connector: &str,
        due_by: Millis,
        limit: u32,
    ) -> StoreResult<Vec<String>> {
        self.store.awaiting_reports(connector, due_by, limit).await
    }
}

/// The first pause after a failed store call, and the longest.
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// Calls `attempt` until the store takes it. What a peer reported is never
/// dropped: a store that fails is retried, each failure logged.
async fn until_stored<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut pause = FIRST_PAUSE;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(e) => {
                tracing::warn!(error = %e, "storing {what} failed; retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use relais_store::StoreError;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_failing_store_is_retried_until_it_takes_the_events() {
        let calls = AtomicU32::new(0);
        let value = until_stored("a test", || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    Err(StoreError::Corrupt("refused by the test".into()))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!((value, calls.load(Ordering::SeqCst)), (3, 4));
    }
}
