//! Starting and stopping the engine's background work: dispatcher loops and the
//! webhook outbox worker, with a graceful shutdown that finishes in-flight
//! batches and leaves queued messages for the next start.

use std::collections::HashMap;
use std::sync::Arc;

use relais_store::Store;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::dispatcher::{Dispatcher, DispatcherConfig};
use crate::ratelimit::SegmentRate;
use crate::routing::Router;
use crate::webhooks::{CallbackRenderer, WebhookConfig, WebhookWorker};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    pub dispatcher: DispatcherConfig,
    pub webhooks: WebhookConfig,
}

/// The running background tasks.
pub struct Engine {
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Engine {
    /// Starts the dispatcher workers and the webhook worker. `wake` is notified
    /// by the pipeline after each commit so due messages leave at once.
    pub fn start(
        store: Arc<dyn Store>,
        router: Arc<Router>,
        rates: HashMap<String, Arc<SegmentRate>>,
        renderer: Arc<dyn CallbackRenderer>,
        config: EngineConfig,
        wake: Arc<Notify>,
    ) -> Engine {
        let (shutdown, watch) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let workers = config.dispatcher.workers.max(1);
        let dispatcher = Arc::new(Dispatcher::new(
            store.clone(),
            router,
            rates,
            config.dispatcher,
        ));
        for _ in 0..workers {
            tasks.spawn(dispatcher.clone().run(wake.clone(), watch.clone()));
        }
        let webhooks = Arc::new(WebhookWorker::new(store, renderer, config.webhooks));
        tasks.spawn(webhooks.run(watch));
        Engine { shutdown, tasks }
    }

    /// Stops claiming, lets in-flight batches finish, and waits for the tasks.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "engine task ended abnormally");
            }
        }
    }
}
