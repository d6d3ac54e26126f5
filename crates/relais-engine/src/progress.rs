//! Watching messages go through: how long until nothing waits to be sent any
//! more, and until every message is delivered, read from the store's status
//! totals. The benchmarks time the dispatcher with it.

use std::time::{Duration, Instant};

use relais_store::{MessageStatus, Store};

/// When the messages left the queue and when they were all delivered,
/// counted from the watch's start.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// No message queued, scheduled or being submitted any more.
    pub dispatched: Duration,
    /// `expected` messages delivered.
    pub delivered: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Store(#[from] relais_store::StoreError),
    #[error("not all delivered after {0:?}: {1}")]
    TimedOut(Duration, String),
}

/// Polls the store every `every` from `start` until `expected` messages are
/// delivered, or fails after `limit`.
pub async fn watch_delivery(
    store: &dyn Store,
    expected: u64,
    start: Instant,
    every: Duration,
    limit: Duration,
) -> Result<Progress, WatchError> {
    let mut dispatched = None;
    loop {
        let totals = store.status_totals().await?;
        let count = |s: MessageStatus| totals.get(&s).copied().unwrap_or(0);
        let waiting = count(MessageStatus::Queued)
            + count(MessageStatus::Scheduled)
            + count(MessageStatus::Submitting);
        if waiting == 0 && dispatched.is_none() {
            dispatched = Some(start.elapsed());
        }
        if count(MessageStatus::Delivered) >= expected {
            let delivered = start.elapsed();
            return Ok(Progress {
                dispatched: dispatched.unwrap_or(delivered),
                delivered,
            });
        }
        if start.elapsed() > limit {
            return Err(WatchError::TimedOut(limit, format!("{totals:?}")));
        }
        tokio::time::sleep(every).await;
    }
}
