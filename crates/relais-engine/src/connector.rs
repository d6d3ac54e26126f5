//! The interface every back door implements (simulator, SMPP, HTTP upstreams).
//! Connectors report what they learn after submission through an
//! [`EventSink`](crate::events::EventSink), which stores it before returning, so
//! a connector can acknowledge a receipt to its peer only once it is durable.

use std::time::Duration;

use async_trait::async_trait;
use relais_store::OutboundMessage;

/// How long a submitted message waits for its delivery report, unless its
/// connector says otherwise: 72 h, the validity most carriers apply.
pub const DEFAULT_REPORT_TIMEOUT: Duration = Duration::from_secs(72 * 3600);

/// What a connector answers for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitResult {
    /// Accepted; the peer's id for each part of the message, in order (one for
    /// a single-part message), used to match delivery reports. The message is
    /// delivered when every part is, and fails when any part fails for good.
    Accepted { carrier_ids: Vec<String> },
    /// The peer could not take it now (down, throttled, timeout): another route
    /// may, or this one later.
    Temporary { error: String },
    /// The peer refused it for good (bad number, banned content…).
    Permanent { error: String },
}

/// A back door. Connectors only talk to their peer: routing, retries across
/// routes and persistence are the engine's.
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    /// Unique name, as used in route configuration and stored with each message.
    fn name(&self) -> &str;

    /// False while the connector knows it cannot submit (link down): the
    /// dispatcher then fails over to the next connector without trying.
    fn is_up(&self) -> bool {
        true
    }

    /// How long a message it accepted waits for its delivery report; past
    /// that the message becomes `expired` ("no delivery report"), its cost
    /// kept, its callback sent. A peer that never sends reports still leaves
    /// no message waiting forever.
    fn report_timeout(&self) -> Duration {
        DEFAULT_REPORT_TIMEOUT
    }

    /// Submits a batch; answers one result per message, in order.
    async fn submit(&self, messages: &[OutboundMessage]) -> Vec<SubmitResult>;
}
