//! The built-in carrier simulator: a connector that accepts messages, answers a
//! carrier id, and later reports delivered / undelivered / expired in
//! configurable proportions and delays. It refuses configured prefixes, can
//! fail temporarily (to exercise failover) and can reply, STOP included.
//! It is the default route of the embedded setup and the route of sandbox
//! accounts.
//!
//! The reports it owes wait in memory, and the store knows which messages
//! still await one: every few seconds the simulator reports the messages of
//! its connector submitted longer ago than its longest report delay, which no
//! live simulator still holds (this node's before a restart, or a node that
//! died). So a restart finishes them, and past `report_timeout_ms` the
//! dispatcher's sweep expires whatever is left.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relais_core::number::E164;
use relais_store::{
    AccountId, CarrierReport, Inbound, MessageStatus, NewInbound, OutboundMessage, StoreResult,
};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::Instant;

use relais_store::clock;

use crate::contract::{Connector, SubmitResult};
use crate::sink::EventSink;

/// How the simulator behaves. Ratios are fractions of submitted messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatorConfig {
    pub name: String,
    pub delivered_ratio: f64,
    pub undelivered_ratio: f64,
    /// The rest (1 − delivered − undelivered) expires.
    pub report_delay_ms: (u64, u64),
    /// E.164 digit prefixes ("3360") refused for good.
    pub refuse_prefixes: Vec<String>,
    /// E.164 digit prefixes answered with a temporary error (route down).
    pub temporary_prefixes: Vec<String>,
    /// Fraction of delivered messages whose recipient replies `reply_text`.
    pub reply_ratio: f64,
    pub reply_text: String,
    /// Seed for reproducible runs; random when absent.
    pub seed: Option<u64>,
    /// How long a message waits for its report before it is expired ("no
    /// delivery report"); more than the longest report delay.
    pub report_timeout_ms: u64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            name: "simulator".into(),
            delivered_ratio: 1.0,
            undelivered_ratio: 0.0,
            report_delay_ms: (200, 1000),
            refuse_prefixes: Vec::new(),
            temporary_prefixes: Vec::new(),
            reply_ratio: 0.0,
            reply_text: "STOP".into(),
            seed: None,
            report_timeout_ms: 60_000,
        }
    }
}

/// Something due later.
enum Pending {
    Report(CarrierReport),
    Reply {
        inbound: NewInbound,
        account_id: AccountId,
    },
}

struct Due {
    at: Instant,
    seq: u64,
    what: Pending,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

pub struct Simulator {
    config: SimulatorConfig,
    sink: Arc<dyn EventSink>,
    /// Random per instance, so ids stay unique across restarts and nodes.
    id_prefix: String,
    counter: AtomicU64,
    rng: Mutex<StdRng>,
    later: mpsc::UnboundedSender<Due>,
}

impl Simulator {
    /// Creates the simulator and starts its reporting task (on the current runtime).
    pub fn start(config: SimulatorConfig, sink: Arc<dyn EventSink>) -> Arc<Self> {
        let mut rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let id_prefix = format!("sim{:08x}", rng.random::<u32>());
        let (later, rx) = mpsc::unbounded_channel();
        tokio::spawn(report_loop(rx, sink.clone()));
        let simulator = Arc::new(Simulator {
            config,
            sink,
            id_prefix,
            counter: AtomicU64::new(0),
            rng: Mutex::new(rng),
            later,
        });
        tokio::spawn(recover_loop(Arc::downgrade(&simulator)));
        simulator
    }

    /// Checks the configuration: ratios within 0..=1, and a report timeout
    /// longer than the longest report delay.
    pub fn validate(config: &SimulatorConfig) -> Result<(), String> {
        let ratio = |r: f64| (0.0..=1.0).contains(&r);
        if !ratio(config.delivered_ratio)
            || !ratio(config.undelivered_ratio)
            || !ratio(config.delivered_ratio + config.undelivered_ratio)
            || !ratio(config.reply_ratio)
        {
            return Err("simulator: ratios are fractions between 0 and 1".into());
        }
        let longest = config.report_delay_ms.0.max(config.report_delay_ms.1);
        if config.report_timeout_ms <= longest + RECOVER_MARGIN_MS {
            return Err(format!(
                "simulator.report_timeout_ms ({}) must exceed the longest report delay ({longest}) \
                 by more than {RECOVER_MARGIN_MS} ms",
                config.report_timeout_ms
            ));
        }
        Ok(())
    }

    /// Reports, as if now, the messages this connector still owes a report
    /// for and that no live simulator holds: submitted longer ago than the
    /// longest report delay (plus a margin). The store knows their report
    /// deadlines, so the submission time is taken as the deadline less this
    /// configuration's timeout: after a change of `report_timeout_ms`,
    /// messages submitted under the old one are recovered that much later or
    /// sooner (a report twice is ignored), and expire at their deadline in
    /// any case. Answers how many it reported.
    async fn recover(&self) -> StoreResult<usize> {
        let longest = self
            .config
            .report_delay_ms
            .0
            .max(self.config.report_delay_ms.1);
        // Submitted at most `now - longest - margin`: due at most that plus the timeout.
        let due_by =
            clock::now_ms() - ms(longest + RECOVER_MARGIN_MS) + ms(self.config.report_timeout_ms);
        let mut scheduled = 0;
        for _ in 0..RECOVER_PAGES {
            let ids = self
                .sink
                .awaiting_reports(&self.config.name, due_by, RECOVER_PAGE)
                .await?;
            if ids.is_empty() {
                break;
            }
            let reports: Vec<CarrierReport> = {
                let mut rng = self.rng.lock().expect("simulator rng");
                ids.into_iter()
                    .map(|carrier_id| self.report(carrier_id, self.outcome(&mut rng)))
                    .collect()
            };
            scheduled += reports.len();
            self.sink.reports(&reports).await;
            if reports.len() < RECOVER_PAGE as usize {
                break;
            }
        }
        Ok(scheduled)
    }

    fn report(&self, carrier_id: String, status: MessageStatus) -> CarrierReport {
        CarrierReport {
            connector: self.config.name.clone(),
            carrier_id,
            status,
            error: (status != MessageStatus::Delivered)
                .then(|| format!("simulated {}", status.as_str())),
            at: clock::now_ms(),
        }
    }

    /// A reply from `from`, as if a recipient had answered (for demos and tests).
    pub async fn inject_inbound(
        &self,
        from: E164,
        to: &str,
        text: &str,
        account_id: Option<AccountId>,
    ) -> Option<Inbound> {
        let inbound = NewInbound {
            from,
            to: to.to_string(),
            text: text.to_string(),
            connector: self.config.name.clone(),
            at: clock::now_ms(),
        };
        self.sink.inbound(inbound, account_id).await
    }

    fn outcome(&self, rng: &mut StdRng) -> MessageStatus {
        let roll: f64 = rng.random();
        if roll < self.config.delivered_ratio {
            MessageStatus::Delivered
        } else if roll < self.config.delivered_ratio + self.config.undelivered_ratio {
            MessageStatus::Undelivered
        } else {
            MessageStatus::Expired
        }
    }
}

#[async_trait]
impl Connector for Simulator {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn kind(&self) -> &'static str {
        "simulator"
    }

    fn report_timeout(&self) -> Duration {
        Duration::from_millis(self.config.report_timeout_ms)
    }

    async fn submit(&self, messages: &[OutboundMessage]) -> Vec<SubmitResult> {
        let mut rng = self.rng.lock().expect("simulator rng");
        let (min_delay, max_delay) = self.config.report_delay_ms;
        let now = Instant::now();
        let mut results = Vec::with_capacity(messages.len());
        for m in messages {
            let digits = m.number.digits().to_string();
            let has_prefix =
                |prefixes: &[String]| prefixes.iter().any(|p| digits.starts_with(p.as_str()));
            if has_prefix(&self.config.refuse_prefixes) {
                results.push(SubmitResult::Permanent {
                    error: "simulator: destination refused".into(),
                });
                continue;
            }
            if has_prefix(&self.config.temporary_prefixes) {
                results.push(SubmitResult::Temporary {
                    error: "simulator: route temporarily unavailable".into(),
                });
                continue;
            }
            let carrier_id = format!(
                "{}-{}",
                self.id_prefix,
                self.counter.fetch_add(1, Ordering::Relaxed)
            );
            let status = self.outcome(&mut rng);
            let delay =
                Duration::from_millis(rng.random_range(min_delay..=max_delay.max(min_delay)));
            let seq = self.counter.load(Ordering::Relaxed);
            // Stamped again when reported.
            let report = self.report(carrier_id.clone(), status);
            // The receiver lives as long as the runtime; a closed channel means shutdown.
            let _ = self.later.send(Due {
                at: now + delay,
                seq,
                what: Pending::Report(report),
            });
            if status == MessageStatus::Delivered && rng.random::<f64>() < self.config.reply_ratio {
                let inbound = NewInbound {
                    from: m.number,
                    to: m.sender.clone().unwrap_or_default(),
                    text: self.config.reply_text.clone(),
                    connector: self.config.name.clone(),
                    at: 0,
                };
                let _ = self.later.send(Due {
                    at: now + delay * 2,
                    seq,
                    what: Pending::Reply {
                        inbound,
                        account_id: m.account_id,
                    },
                });
            }
            results.push(SubmitResult::Accepted {
                carrier_ids: vec![carrier_id],
            });
        }
        results
    }
}

/// Releases due reports in batches, retrying the store until it takes them.
async fn report_loop(mut rx: mpsc::UnboundedReceiver<Due>, sink: Arc<dyn EventSink>) {
    let mut queue: BinaryHeap<Reverse<Due>> = BinaryHeap::new();
    loop {
        let next = queue.peek().map(|Reverse(d)| d.at);
        tokio::select! {
            received = rx.recv() => match received {
                Some(due) => {
                    queue.push(Reverse(due));
                    while let Ok(due) = rx.try_recv() {
                        queue.push(Reverse(due));
                    }
                }
                None if queue.is_empty() => return,
                None => tokio::time::sleep_until(next.expect("queue not empty")).await,
            },
            _ = tokio::time::sleep_until(next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))), if next.is_some() => {}
        }
        let now = Instant::now();
        let now_ms = clock::now_ms();
        let mut reports = Vec::new();
        let mut replies = Vec::new();
        while queue.peek().is_some_and(|Reverse(d)| d.at <= now) {
            let Reverse(due) = queue.pop().expect("peeked");
            match due.what {
                Pending::Report(mut r) => {
                    r.at = now_ms;
                    reports.push(r);
                }
                Pending::Reply {
                    mut inbound,
                    account_id,
                } => {
                    inbound.at = now_ms;
                    replies.push((inbound, account_id));
                }
            }
        }
        for chunk in reports.chunks(5000) {
            sink.reports(chunk).await;
        }
        for (inbound, account_id) in replies {
            sink.inbound(inbound, Some(account_id)).await;
        }
    }
}

/// How often the simulator looks for reports no live simulator holds.
const RECOVER_EVERY: Duration = Duration::from_secs(5);
/// How much longer than its longest report delay a message must have waited.
const RECOVER_MARGIN_MS: u64 = 5_000;
/// Reports recovered per store read, and reads per round at most.
const RECOVER_PAGE: u32 = 5_000;
const RECOVER_PAGES: usize = 20;

fn ms(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Every [`RECOVER_EVERY`], reports what no live simulator holds (see
/// [`Simulator::recover`]), until the simulator is dropped.
async fn recover_loop(simulator: Weak<Simulator>) {
    loop {
        tokio::time::sleep(RECOVER_EVERY).await;
        let Some(simulator) = simulator.upgrade() else {
            return;
        };
        match simulator.recover().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                connector = %simulator.config.name,
                reports = n,
                "simulator: reported messages no live simulator held (a restart or a lost node)"
            ),
            Err(e) => tracing::warn!(error = %e, "simulator: reading the reports it owes failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_checked() {
        assert!(Simulator::validate(&SimulatorConfig::default()).is_ok());
        let slow = SimulatorConfig {
            report_delay_ms: (1_000, 60_000),
            ..SimulatorConfig::default()
        };
        let error = Simulator::validate(&slow).unwrap_err();
        assert!(error.contains("report_timeout_ms (60000)"), "{error}");
        let ratios = SimulatorConfig {
            delivered_ratio: 0.8,
            undelivered_ratio: 0.5,
            ..SimulatorConfig::default()
        };
        assert!(Simulator::validate(&ratios).is_err());
    }
}
