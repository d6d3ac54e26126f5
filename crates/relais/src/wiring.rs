//! Building the running parts from the configuration: the store, the sending
//! pipeline, the connectors and routes, the engine and the HTTP app. `serve`
//! uses it, and so do the end-to-end tests through the same functions.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::SignedDuration;
use relais_api::connectors::ConnectorEntry;
use relais_api::state::{ApiConfig, AppState, RateLimit};
use relais_connectors::contract::{Connector, Intake};
use relais_connectors::simulator::Simulator;
use relais_connectors::sink::StoreSink;
use relais_core::calendar::Calendars;
use relais_core::plan::{Channel, Limits};
use relais_core::pricing::PriceTable;
use relais_engine::engine::Engine;
use relais_engine::ratelimit::SegmentRate;
use relais_engine::routing::{RouteConfig, Router};
use relais_engine::send::{Pipeline, SendSettings};
use relais_store::Store;
use relais_store::postgres::{PostgresOptions, PostgresStore};
use relais_store::sqlite::{Durability, SqliteOptions, SqliteStore};
use tokio::sync::Notify;

use crate::config::Config;

/// Opens the configured database — a SQLite file, or PostgreSQL for several
/// nodes — creating and migrating it if needed.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, String> {
    let url = &config.database_url;
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let shown = crate::config::mask_url_password(url);
        let options = PostgresOptions {
            schema: config.postgres.schema.clone(),
            ..PostgresOptions::default()
        };
        let store = PostgresStore::connect(url, options)
            .await
            .map_err(|e| format!("connecting to {shown}: {e}"))?;
        return Ok(Arc::new(store));
    }
    let durability = match config.sqlite.synchronous.as_str() {
        "normal" => Durability::Normal,
        "full" => Durability::Full,
        other => {
            return Err(format!(
                "sqlite.synchronous must be \"normal\" or \"full\", not {other:?}"
            ));
        }
    };
    let options = SqliteOptions {
        durability,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(url, options)
        .await
        .map_err(|e| format!("opening {url}: {e}"))?;
    Ok(Arc::new(store))
}

/// Gateway-wide sending settings.
pub fn send_settings(config: &Config) -> Result<SendSettings, String> {
    let s = &config.sending;
    let prices = match &s.prices {
        Some(entries) => {
            PriceTable::from_entries(entries).map_err(|e| format!("sending.prices: {e}"))?
        }
        None => PriceTable::default_table(),
    };
    let mut calendars = Calendars::france_default();
    for (country, window) in &s.sending_windows {
        let window = window
            .clone()
            .try_into()
            .map_err(|e| format!("sending.sending_windows.{country}: {e}"))?;
        calendars
            .insert(country.as_str(), window)
            .map_err(|e| e.to_string())?;
    }
    let limits = Limits {
        max_segments: s.max_segments,
        max_recipients: s.max_recipients,
        past_tolerance: SignedDuration::from_secs(
            i64::try_from(s.past_tolerance_secs).unwrap_or(i64::MAX),
        ),
    };
    let idempotency_ttl_ms =
        i64::try_from(s.idempotency_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    Ok(SendSettings {
        prices,
        calendars,
        limits,
        idempotency_ttl_ms,
    })
}

/// Everything `serve` runs.
pub struct Gateway {
    pub store: Arc<dyn Store>,
    pub pipeline: Arc<Pipeline>,
    pub simulator: Arc<Simulator>,
    pub engine: Engine,
    /// Every connector, the built-in simulator first, to stop after the engine.
    pub connectors: Vec<Arc<dyn Connector>>,
    /// The main listener's app: `/v1`, `/admin`, `/compat/{dialect}`, operations.
    pub app: axum::Router,
    /// Dialects served at the root of listeners of their own.
    pub dialect_apps: Vec<DialectApp>,
}

/// A dialect served at the root of a listener of its own.
pub struct DialectApp {
    /// The dialect's name, as in `[dialects.NAME]`.
    pub dialect: String,
    /// The address to listen on.
    pub listen: String,
    pub app: axum::Router,
}

/// Builds and starts the gateway on an open store (the HTTP listener is the caller's).
pub fn start(
    config: &Config,
    store: Arc<dyn Store>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> Result<Gateway, String> {
    let wake = Arc::new(Notify::new());
    let pipeline =
        Arc::new(Pipeline::new(store.clone(), send_settings(config)?).with_wake(wake.clone()));
    let sink = Arc::new(StoreSink::new(
        store.clone(),
        config.sending.stop_keywords.clone(),
    ));
    Simulator::validate(&config.simulator)?;
    let simulator = Simulator::start(config.simulator.clone(), sink.clone());

    let (sections, warnings) = config.connector_sections()?;
    for warning in warnings {
        tracing::warn!("configuration: {warning}");
    }
    let mut built: Vec<Arc<dyn Connector>> = vec![simulator.clone()];
    for section in &sections {
        built.push(section.build(sink.clone())?);
    }
    let connectors: HashMap<String, Arc<dyn Connector>> = built
        .iter()
        .map(|c| (c.name().to_string(), c.clone()))
        .collect();
    // Without routes, the simulator carries everything, on either channel.
    let routes = if config.routes.is_empty() {
        [Channel::Network, Channel::Devices]
            .into_iter()
            .map(|channel| RouteConfig {
                name: format!("default-{}", channel.as_str()),
                channel,
                countries: Vec::new(),
                prefixes: Vec::new(),
                kinds: Vec::new(),
                classes: Vec::new(),
                connectors: vec![config.simulator.name.clone()],
            })
            .collect()
    } else {
        config.routes.clone()
    };
    let router = Arc::new(
        Router::new(routes, &connectors, &config.simulator.name)
            .map_err(|e| format!("routes: {e}"))?,
    );
    let rates = sections
        .iter()
        .filter_map(|s| s.rate.map(|r| (s.name.clone(), r)))
        .chain(
            config
                .rates
                .get(&config.simulator.name)
                .map(|r| (config.simulator.name.clone(), *r)),
        )
        .map(|(name, r)| (name, Arc::new(SegmentRate::new(r.per_second, r.burst))))
        .collect();

    let mut engine_config = config.engine.clone();
    engine_config.webhooks.allow_private = config.api.allow_private_callbacks;
    engine_config.webhooks.validate()?;
    let renderer = Arc::new(relais_api::callbacks::DoorCallbacks);
    let engine = Engine::start(store.clone(), router, rates, renderer, engine_config, wake);

    let api = ApiConfig {
        admin_token: config.admin_token.clone(),
        body_limit: config.api.body_limit,
        rate_limit: config.api.rate_limit.map(|r| RateLimit {
            per_second: r.per_second,
            burst: r.burst,
        }),
        allow_private_callbacks: config.api.allow_private_callbacks,
        max_recipients: config.sending.max_recipients,
        metrics_token: config.metrics_token.clone().filter(|t| !t.is_empty()),
    };
    let mut intakes = Vec::new();
    let mut entries = Vec::new();
    for connector in &built {
        let intake = connector.intake();
        entries.push(ConnectorEntry {
            connector: connector.clone(),
            intake: intake.as_ref().map(Intake::routes).unwrap_or_default(),
        });
        intakes.extend(intake);
    }
    let state = Arc::new(
        AppState::new(pipeline.clone(), store.clone(), api, metrics)
            .with_simulator(simulator.clone())
            .with_connectors(entries),
    );
    let app = relais_api::router(state.clone(), intakes);
    let dialect_apps = config
        .dialects
        .iter()
        .map(|(name, section)| {
            relais_api::dialect_router(name, state.clone())
                .map(|app| DialectApp {
                    dialect: name.clone(),
                    listen: section.listen.clone(),
                    app,
                })
                .ok_or_else(|| {
                    format!(
                        "dialects.{name}: unknown dialect (known: {})",
                        relais_api::dialects::NAMES.join(", ")
                    )
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(Gateway {
        store,
        pipeline,
        simulator,
        engine,
        connectors: built,
        app,
        dialect_apps,
    })
}
