//! What every handler shares: the pipeline, the store, the API configuration,
//! the metrics handle, and the per-key rate limiter built from the configuration.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota};
use metrics_exporter_prometheus::PrometheusHandle;
use relais_connectors::simulator::Simulator;
use relais_engine::send::Pipeline;
use relais_store::Store;

use crate::connectors::ConnectorEntry;

/// How the HTTP API behaves (from configuration).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Bearer token of `/admin`; `None` refuses every admin request.
    pub admin_token: Option<String>,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// Requests per API key; `None` for no limit.
    pub rate_limit: Option<RateLimit>,
    /// Accept callback URLs on loopback and private networks (tests, internal hooks).
    pub allow_private_callbacks: bool,
    /// Most recipients one request may carry (also capped by the pipeline's own limit).
    pub max_recipients: usize,
    /// Bearer token `/metrics` asks for (it shows every tenant's totals);
    /// `None` leaves it open, for a listener only the operator reaches.
    pub metrics_token: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            admin_token: None,
            body_limit: 16 * 1024 * 1024,
            rate_limit: None,
            allow_private_callbacks: false,
            max_recipients: 1_000_000,
            metrics_token: None,
        }
    }
}

/// A token bucket per API key: `per_second` requests on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// Requests per API key id. In memory: each node limits on its own.
pub type KeyLimiter = DefaultKeyedRateLimiter<i64>;

pub struct AppState {
    pub pipeline: Arc<Pipeline>,
    pub store: Arc<dyn Store>,
    pub config: ApiConfig,
    /// Renders `/metrics`; `None` answers 404 there.
    pub metrics: Option<PrometheusHandle>,
    /// The built-in simulator, for injecting replies (`/admin/simulator`).
    pub simulator: Option<Arc<Simulator>>,
    /// The connectors of this node (`/admin/connectors`).
    pub connectors: Vec<ConnectorEntry>,
    limiter: Option<KeyLimiter>,
}

/// The state handlers receive; cloning it is one reference count.
pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn new(
        pipeline: Arc<Pipeline>,
        store: Arc<dyn Store>,
        config: ApiConfig,
        metrics: Option<PrometheusHandle>,
    ) -> Self {
        let limiter = config.rate_limit.map(|limit| {
            let per_second = NonZeroU32::new(limit.per_second).unwrap_or(NonZeroU32::MIN);
            let burst = NonZeroU32::new(limit.burst).unwrap_or(per_second);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
        });
        AppState {
            pipeline,
            store,
            config,
            metrics,
            simulator: None,
            connectors: Vec::new(),
            limiter,
        }
    }

    /// Exposes the simulator's reply injection under `/admin/simulator`.
    pub fn with_simulator(mut self, simulator: Arc<Simulator>) -> Self {
        self.simulator = Some(simulator);
        self
    }

    /// Lists the node's connectors under `/admin/connectors`.
    pub fn with_connectors(mut self, connectors: Vec<ConnectorEntry>) -> Self {
        self.connectors = connectors;
        self
    }

    pub fn limiter(&self) -> Option<&KeyLimiter> {
        self.limiter.as_ref()
    }
}
