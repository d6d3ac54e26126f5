//! `relais serve`: runs the gateway until SIGINT or SIGTERM, then stops
//! accepting requests, lets in-flight submits finish and leaves queued
//! messages for the next start.

use std::process::ExitCode;

use std::sync::Arc;

use relais_smpp::server::SmppServer;
use relais_smpp::server::store_backed::{StoreAuth, StoreReceipts};
use tokio::net::TcpListener;

use crate::cli::demo;
use relais::config::{self, Overrides};
use relais::wiring;

#[derive(clap::Args)]
pub struct Args {
    /// Address of the HTTP API (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
    /// Bearer token for /admin.
    #[arg(long)]
    admin_token: Option<String>,
    /// On an empty database, create a demo account and print how to send a first SMS.
    #[arg(long)]
    demo: bool,
}

pub fn run(args: Args, overrides: &Overrides) -> ExitCode {
    let mut flags = Vec::new();
    if let Some(listen) = args.listen {
        flags.push(("listen", listen));
    }
    if let Some(token) = args.admin_token {
        flags.push(("admin_token", token));
    }
    let config = match config::load(overrides, &flags) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("relais: {e}");
            return ExitCode::FAILURE;
        }
    };
    relais::logging::init(&config.log);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(serve(config, args.demo)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relais: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: config::Config, demo: bool) -> Result<(), String> {
    let store = wiring::open_store(&config).await?;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let gateway = wiring::start(&config, store, metrics)?;
    let listener = TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("listening on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let base = format!("http://{address}");
    println!(
        "relais {} listening on {base} (database {})",
        env!("CARGO_PKG_VERSION"),
        config.database_url
    );
    if demo {
        demo::prepare(gateway.store.as_ref(), &base).await?;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    for wiring::DialectApp {
        dialect,
        listen,
        app,
    } in gateway.dialect_apps
    {
        let listener = TcpListener::bind(&listen)
            .await
            .map_err(|e| format!("dialect {dialect}: listening on {listen}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("  {dialect} dialect listener on http://{local}");
        tracing::info!(%dialect, address = %local, "dialect listener");
        let mut stopped = stopped.clone();
        servers.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.changed().await;
                })
                .await
        });
    }
    let smpp = match &config.smpp_server {
        Some(smpp_config) => {
            let auth = Arc::new(StoreAuth::new(gateway.store.clone()));
            let receipts = Arc::new(StoreReceipts::new(gateway.store.clone()));
            let server = SmppServer::start(
                smpp_config.clone(),
                gateway.pipeline.clone(),
                auth,
                receipts,
            )
            .await
            .map_err(|e| format!("SMPP server on {}: {e}", smpp_config.listen))?;
            println!("  SMPP server on {}", server.local_addr());
            Some(server)
        }
        None => None,
    };
    tracing::info!(%address, "serving");
    axum::serve(listener, gateway.app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server: {e}"))?;
    let _ = stop.send(true);
    if let Some(server) = smpp {
        server.shutdown().await;
    }
    while let Some(done) = servers.join_next().await {
        done.map_err(|e| e.to_string())?
            .map_err(|e| format!("dialect listener: {e}"))?;
    }
    tracing::info!("stopping: finishing in-flight work");
    gateway.engine.shutdown().await;
    for connector in &gateway.connectors {
        connector.shutdown().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
