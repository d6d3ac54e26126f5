//! Status events and inbound messages from connectors into the store: delivery
//! reports update messages (and enqueue callbacks in the same transaction);
//! replies are stored, and a STOP reply blacklists its sender at once.

use std::sync::Arc;

use relais_core::optout;
use relais_store::{AccountId, CarrierReport, Inbound, Millis, NewInbound, Store, StoreResult};

/// Where connectors hand what they learn. Each call returns once it is committed.
pub struct EventSink {
    store: Arc<dyn Store>,
    stop_keywords: Vec<String>,
}

impl EventSink {
    pub fn new(store: Arc<dyn Store>, stop_keywords: Vec<String>) -> Self {
        EventSink {
            store,
            stop_keywords,
        }
    }

    /// Applies delivery reports; answers how many messages changed.
    pub async fn reports(&self, reports: &[CarrierReport]) -> StoreResult<u64> {
        if reports.is_empty() {
            return Ok(0);
        }
        let changed = self.store.apply_reports(reports).await?;
        metrics::counter!("relais_reports_total").increment(reports.len() as u64);
        Ok(changed)
    }

    /// The carrier ids of messages `connector` still owes a report for,
    /// whose report deadline is at most `due_by` (see
    /// [`Store::awaiting_reports`]).
    pub async fn awaiting_reports(
        &self,
        connector: &str,
        due_by: Millis,
        limit: u32,
    ) -> StoreResult<Vec<String>> {
        self.store.awaiting_reports(connector, due_by, limit).await
    }

    /// Stores a reply (for `account_id` when the connector knows it, else for the
    /// account that last sent to the number). `None` when no account matches.
    pub async fn inbound(
        &self,
        inbound: NewInbound,
        account_id: Option<AccountId>,
    ) -> StoreResult<Option<Inbound>> {
        let is_stop = optout::is_stop_reply(&inbound.text, &self.stop_keywords);
        let stored = self
            .store
            .record_inbound(inbound, account_id, is_stop)
            .await?;
        metrics::counter!("relais_inbound_total", "stop" => if is_stop { "true" } else { "false" })
            .increment(1);
        Ok(stored)
    }
}
