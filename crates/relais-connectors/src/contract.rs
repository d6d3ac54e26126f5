//! The contract between the engine and every back door (simulator, SMPP
//! carriers, HTTP providers): what a connector submits and answers, what it
//! shows an operator, how it stops, and the optional HTTP routes its peer
//! pushes reports and replies to. What a connector learns after submission
//! goes to an [`EventSink`](crate::sink::EventSink), which stores it before
//! returning, so a connector acknowledges a report to its peer only once it
//! is durable.

use std::time::Duration;

use async_trait::async_trait;
use relais_store::OutboundMessage;
use serde::Serialize;

use crate::intake::IntakeAddress;

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

/// What an operator (and the dashboard) sees of a connector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConnectorStatus {
    /// False while the connector knows it cannot submit.
    pub up: bool,
    /// Why the last attempt to reach the peer failed, until one succeeds.
    pub last_error: Option<String>,
    /// Submits sent to the peer and not answered yet.
    pub in_flight: u64,
    /// Connections to the peer: SMPP binds, up and configured; `None` for
    /// kinds without lasting connections.
    pub binds: Option<Binds>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Binds {
    pub up: u32,
    pub configured: u32,
}

/// The HTTP routes a connector's peer pushes to (delivery reports, replies,
/// STOP), mounted by the binary under the connector's intake prefix
/// (`/connectors/{name}/{secret}`, see [`IntakeAddress`]).
pub struct Intake {
    pub address: IntakeAddress,
    /// Paths relative to the prefix (`/dlr`), answering what the peer expects.
    pub router: axum::Router,
    /// What each path receives, for `GET /admin/connectors`.
    pub paths: Vec<IntakePath>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IntakePath {
    /// Relative to the intake prefix, starting with `/`.
    pub path: &'static str,
    /// What the peer pushes there ("delivery reports", "replies and STOP").
    pub receives: &'static str,
}

/// A back door. Connectors only talk to their peer: routing, retries across
/// routes and persistence are the engine's.
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    /// Unique name, as used in route configuration and stored with each message.
    fn name(&self) -> &str;

    /// The configuration kind it was built from (`smpp`, `smsfactor`…).
    fn kind(&self) -> &'static str;

    /// False while the connector knows it cannot submit (link down): the
    /// dispatcher then fails over to the next connector without trying.
    fn is_up(&self) -> bool {
        true
    }

    /// Its state for an operator; by default only whether it is up.
    fn status(&self) -> ConnectorStatus {
        ConnectorStatus {
            up: self.is_up(),
            ..ConnectorStatus::default()
        }
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

    /// The routes its peer pushes to, if it has any.
    fn intake(&self) -> Option<Intake> {
        None
    }

    /// Stops: submits in flight are answered (accepted, or temporary so the
    /// engine requeues them), links closed. Called once, at shutdown, after
    /// the dispatcher has stopped handing it messages.
    async fn shutdown(&self) {}
}
