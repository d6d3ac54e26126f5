//! The ESME connector: relais as an SMPP client of a carrier's SMSC, behind
//! the engine's [`Connector`] interface.
//!
//! Built directly on rusmpp's PDUs with tokio rather than on rusmppc, which
//! has neither windowing nor reconnection and answers each request through
//! its own future: here each bind is one task that owns its socket, keeps up
//! to `window` `submit_sm` in flight, writes them in batches (see
//! `crate::wire`) and matches responses by sequence number itself. That is
//! what makes one bind carry tens of thousands of submits per second.
//!
//! - [`Esme::submit`] cuts each message into parts (UDH or SAR), encodes each
//!   part once, queues them for the binds and waits for every part's answer.
//!   The answer is `Accepted` with each part's SMSC id in order, `Permanent`
//!   when the SMSC refused a part for good, `Temporary` when it failed for now
//!   or nothing was answered within `submit_timeout_ms` (the dispatcher then
//!   fails over).
//! - Throttling answers (ESME_RTHROTTLED, ESME_RMSGQFUL) halve the bind's
//!   window and pause it; the part is sent again first on the same bind, in
//!   its original order.
//! - A bind that drops puts the parts it had sent without an answer back at
//!   the head of the queue: they are submitted again (possibly twice to the
//!   SMSC, which is the at-least-once of DESIGN.md); a part that had its
//!   answer is never sent again.
//! - Receipts and replies are handled by the `inbound` worker: matched, stored, then
//!   acknowledged.
//! - With `tls.enabled`, every bind is TLS (see [`EsmeTls`]); a failed
//!   handshake is a failed bind, retried with backoff, never plaintext.
//! - A message with an expiry is submitted with an absolute
//!   `validity_period` (UTC), so that the SMSC stops trying when the
//!   client's deadline passes.

mod ids;
mod inbound;
mod session;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use relais_connectors::contract::{Binds, Connector, ConnectorStatus, SubmitResult};
use relais_connectors::secret::Secret;
use relais_connectors::sink::EventSink;
use relais_core::encoding::Encoding;
use relais_core::number::Country;
use relais_core::segments;
use relais_store::OutboundMessage;
use rusmpp::tlvs::MessageSubmissionRequestTlvValue;
use rusmpp::{Command, CommandStatus};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::pdu::{self, Address, Encoded, ShortMessage, absolute_time};
use crate::tls;

pub use ids::IdIndex;

/// One connector's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EsmeConfig {
    /// The connector's name in routes and in stored messages.
    pub name: String,
    pub host: String,
    pub port: u16,
    /// TLS on every bind; off by default.
    pub tls: EsmeTls,
    pub system_id: String,
    pub password: Secret,
    pub system_type: String,
    pub bind_mode: BindMode,
    pub interface_version: InterfaceVersion,
    /// Binds (connections) of each kind.
    pub binds: usize,
    /// Most `submit_sm` in flight (sent, unanswered) per bind.
    pub window: usize,
    /// Most segments per second over all binds; `None`: as fast as answered.
    pub throughput_per_second: Option<u32>,
    pub enquire_link_interval_ms: u64,
    /// No `enquire_link_resp` within this: the link is dead, reconnect.
    pub enquire_link_timeout_ms: u64,
    /// Connecting (TCP, then TLS) and binding, together.
    pub bind_timeout_ms: u64,
    /// A part unanswered for this long is sent again.
    pub response_timeout_ms: u64,
    /// How long [`Esme::submit`] waits for a batch before answering
    /// `Temporary` for what is still unanswered.
    pub submit_timeout_ms: u64,
    /// Reconnection backoff, doubled at each failure from min to max.
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
    /// Pause of a bind after a throttling answer, doubled while it lasts.
    pub throttle_pause_ms: u64,
    pub service_type: String,
    /// The sender when a message has none.
    pub default_source: Option<String>,
    /// Type of number and numbering plan of alphanumeric senders ("MyShop").
    pub alphanumeric_source: Numbering,
    /// … of numeric senders ("+33612345678", "36180").
    pub numeric_source: Numbering,
    /// … of destinations (E.164 digits).
    pub destination: Numbering,
    /// How long messages are cut.
    pub concatenation: Concatenation,
    /// `data_coding` of GSM-7 texts (sent unpacked, one septet per octet).
    pub data_coding_gsm7: u8,
    /// `data_coding` of UCS-2 texts (UTF-16BE, surrogate pairs included).
    pub data_coding_ucs2: u8,
    pub registered_delivery: u8,
    /// Country of replies whose sender is written in national format.
    pub default_region: Country,
    /// How long a receipt whose id matches no known submit waits for the
    /// `submit_sm_resp` still in flight that may carry it.
    pub receipt_hold_ms: u64,
    /// Recent submit ids remembered to match receipts written differently.
    pub receipt_ids_kept: usize,
    /// How long the parts of a concatenated reply are awaited.
    pub concat_timeout_ms: u64,
    /// How long a submitted message waits for its receipt before it becomes
    /// `expired` ("no delivery report"); 72 h by default.
    pub report_timeout_ms: u64,
}

impl Default for EsmeConfig {
    fn default() -> Self {
        EsmeConfig {
            name: "smpp".into(),
            host: "127.0.0.1".into(),
            port: 2775,
            tls: EsmeTls::default(),
            system_id: String::new(),
            password: Secret::default(),
            system_type: String::new(),
            bind_mode: BindMode::Transceiver,
            interface_version: InterfaceVersion::V34,
            binds: 1,
            window: 64,
            throughput_per_second: None,
            enquire_link_interval_ms: 30_000,
            enquire_link_timeout_ms: 10_000,
            bind_timeout_ms: 10_000,
            response_timeout_ms: 30_000,
            submit_timeout_ms: 60_000,
            reconnect_min_ms: 200,
            reconnect_max_ms: 30_000,
            throttle_pause_ms: 500,
            service_type: String::new(),
            default_source: None,
            alphanumeric_source: Numbering { ton: 5, npi: 0 },
            numeric_source: Numbering { ton: 1, npi: 1 },
            destination: Numbering { ton: 1, npi: 1 },
            concatenation: Concatenation::Udh,
            data_coding_gsm7: 0x00,
            data_coding_ucs2: 0x08,
            registered_delivery: 1,
            default_region: Country::FR,
            receipt_hold_ms: 2_000,
            receipt_ids_kept: 1_000_000,
            concat_timeout_ms: 60_000,
            report_timeout_ms: 72 * 3600 * 1000,
        }
    }
}

/// A connector's `tls` section. The options other than `enabled` are refused
/// while it is off, so that a CA file set without turning TLS on is an error
/// rather than a silently plaintext link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EsmeTls {
    pub enabled: bool,
    /// PEM certificates to trust instead of the system's roots: the
    /// carrier's CA, or its self-signed certificate (trusted when presented
    /// as is, for the names it carries; see `crate::tls`).
    pub ca_file: Option<PathBuf>,
    /// The name the SMSC's certificate must carry (and the SNI); default:
    /// `host`.
    pub server_name: Option<String>,
    /// Accepts any certificate: the link is encrypted but the SMSC is not
    /// authenticated, so whoever sits on the path can pose as it. For test
    /// SMSCs only; excludes `ca_file`.
    pub insecure_skip_verify: bool,
}

impl EsmeTls {
    /// The TLS client of a connector to `host`, `None` when TLS is off.
    fn client(&self, host: &str) -> Result<Option<tls::Client>, String> {
        if !self.enabled {
            if self.ca_file.is_some() || self.server_name.is_some() || self.insecure_skip_verify {
                return Err("tls options are set but tls.enabled is false".into());
            }
            return Ok(None);
        }
        let trust = match (&self.ca_file, self.insecure_skip_verify) {
            (Some(_), true) => {
                return Err("tls.ca_file and tls.insecure_skip_verify exclude each other".into());
            }
            (Some(path), false) => tls::Trust::CaFile(path),
            (None, true) => tls::Trust::Anything,
            (None, false) => tls::Trust::System,
        };
        let server_name = self.server_name.as_deref().unwrap_or(host);
        tls::client(trust, server_name)
            .map(Some)
            .map_err(|e| format!("tls: {e}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindMode {
    /// Each bind submits and receives.
    Transceiver,
    /// Each bind is a transmitter and a receiver (two connections).
    TransmitterReceiver,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InterfaceVersion {
    #[serde(rename = "3.4")]
    V34,
    #[serde(rename = "5.0")]
    V50,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Numbering {
    pub ton: u8,
    pub npi: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Concatenation {
    /// A user data header in each part (8-bit reference).
    Udh,
    /// The sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs.
    Sar,
}

/// What became of one part.
#[derive(Debug)]
enum PartOutcome {
    Accepted(String),
    Temporary(String),
    Permanent(String),
}

/// A message being submitted: the answers of its parts.
struct Job {
    state: Mutex<JobState>,
    /// Set once the message is answered (all parts in, a part failed, or
    /// timed out): its remaining parts are not sent.
    answered: AtomicBool,
}

struct JobState {
    ids: Vec<Option<String>>,
    remaining: usize,
    reply: Option<oneshot::Sender<SubmitResult>>,
}

impl Job {
    fn new(parts: usize) -> (Arc<Job>, oneshot::Receiver<SubmitResult>) {
        let (tx, rx) = oneshot::channel();
        let job = Job {
            state: Mutex::new(JobState {
                ids: vec![None; parts],
                remaining: parts,
                reply: Some(tx),
            }),
            answered: AtomicBool::new(false),
        };
        (Arc::new(job), rx)
    }

    fn is_answered(&self) -> bool {
        self.answered.load(Ordering::Acquire)
    }

    fn resolve(&self, index: usize, outcome: PartOutcome) {
        let mut state = self.state.lock().expect("job state");
        let answer = match outcome {
            PartOutcome::Accepted(id) => {
                if state.ids[index].replace(id).is_none() {
                    state.remaining -= 1;
                }
                (state.remaining == 0).then(|| SubmitResult::Accepted {
                    carrier_ids: state
                        .ids
                        .iter_mut()
                        .map(|id| id.take().unwrap_or_default())
                        .collect(),
                })
            }
            PartOutcome::Temporary(error) => Some(SubmitResult::Temporary { error }),
            PartOutcome::Permanent(error) => Some(SubmitResult::Permanent { error }),
        };
        if let Some(answer) = answer
            && let Some(reply) = state.reply.take()
        {
            self.answered.store(true, Ordering::Release);
            let _ = reply.send(answer);
        }
    }

    /// Stops waiting for the job; false if it was answered in the meantime.
    fn give_up(&self) -> bool {
        let mut state = self.state.lock().expect("job state");
        self.answered.store(true, Ordering::Release);
        state.reply.take().is_some()
    }
}

/// One part to submit.
struct Part {
    job: Arc<Job>,
    index: usize,
    /// Queue position, kept when the part is sent again.
    order: u64,
    pdu: Encoded,
}

/// Parts waiting for a bind with room in its window.
#[derive(Default)]
struct WorkQueue {
    parts: Mutex<VecDeque<Part>>,
    ready: Notify,
}

impl WorkQueue {
    fn push_back(&self, parts: impl IntoIterator<Item = Part>) {
        self.parts.lock().expect("queue").extend(parts);
        self.ready.notify_waiters();
    }

    /// Puts parts back at the head, in their original order.
    fn push_front(&self, mut parts: Vec<Part>) {
        if parts.is_empty() {
            return;
        }
        parts.sort_by_key(|p| p.order);
        let mut queue = self.parts.lock().expect("queue");
        for part in parts.into_iter().rev() {
            queue.push_front(part);
        }
        drop(queue);
        self.ready.notify_waiters();
    }

    fn pop(&self) -> Option<Part> {
        self.parts.lock().expect("queue").pop_front()
    }

    fn drain(&self) -> Vec<Part> {
        self.parts.lock().expect("queue").drain(..).collect()
    }
}

/// What the binds and the inbound worker share.
struct Shared {
    config: EsmeConfig,
    tls: Option<tls::Client>,
    queue: WorkQueue,
    index: Mutex<IdIndex>,
    /// Bound sessions that can submit.
    transmitters_up: AtomicUsize,
    /// Parts sent and not yet answered, over all binds.
    awaiting_responses: AtomicUsize,
    next_order: AtomicU64,
    reference: AtomicU16,
    inbound: mpsc::UnboundedSender<inbound::Incoming>,
    shutdown: watch::Receiver<bool>,
    /// Why the last connection failed or was lost; cleared by a bind.
    last_error: Mutex<Option<String>>,
}

/// The connector. Dropping it does not stop its binds: call [`Esme::shutdown`].
pub struct Esme {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Esme {
    /// Starts the binds (they connect in the background; see [`Esme::is_up`])
    /// and the worker that stores receipts and replies into `sink`. Fails
    /// only on a configuration that cannot work (the TLS options).
    pub fn start(config: EsmeConfig, sink: Arc<dyn EventSink>) -> Result<Arc<Esme>, String> {
        let tls = config.tls.client(&config.host)?;
        if config.tls.insecure_skip_verify {
            tracing::warn!(connector = %config.name, "tls.insecure_skip_verify: the SMSC's certificate is not checked");
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (inbound_tx, inbound_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            index: Mutex::new(IdIndex::new(config.receipt_ids_kept)),
            config,
            tls,
            queue: WorkQueue::default(),
            transmitters_up: AtomicUsize::new(0),
            awaiting_responses: AtomicUsize::new(0),
            next_order: AtomicU64::new(0),
            reference: AtomicU16::new(rand::random()),
            inbound: inbound_tx,
            shutdown: shutdown_rx,
            last_error: Mutex::new(None),
        });
        let mut tasks = vec![tokio::spawn(inbound::run(shared.clone(), sink, inbound_rx))];
        let binds = shared.config.binds.max(1);
        let kinds: &[session::Kind] = match shared.config.bind_mode {
            BindMode::Transceiver => &[session::Kind::Transceiver],
            BindMode::TransmitterReceiver => &[session::Kind::Transmitter, session::Kind::Receiver],
        };
        for _ in 0..binds {
            for &kind in kinds {
                tasks.push(tokio::spawn(session::run(shared.clone(), kind)));
            }
        }
        Ok(Arc::new(Esme {
            shared,
            shutdown,
            tasks: Mutex::new(tasks),
        }))
    }

    /// Why the last connection attempt failed or the last link was lost
    /// (refused bind, TLS handshake, timeout…); `None` once a bind succeeds.
    pub fn last_error(&self) -> Option<String> {
        self.shared.last_error.lock().expect("last error").clone()
    }

    /// Unbinds and stops. Parts not yet sent are answered `Temporary`.
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        self.shared.queue.ready.notify_waiters();
        for part in self.shared.queue.drain() {
            part.job.resolve(
                part.index,
                PartOutcome::Temporary("connector shutting down".into()),
            );
        }
        let tasks: Vec<JoinHandle<()>> = self.tasks.lock().expect("tasks").drain(..).collect();
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Encodes the parts of one message.
    fn encode(&self, m: &OutboundMessage) -> Result<Vec<Encoded>, String> {
        let config = &self.shared.config;
        let reference = self.shared.reference.fetch_add(1, Ordering::Relaxed);
        let segments = segments::split(&m.text, m.encoding, reference as u8)
            .map_err(|e| format!("cannot encode the text: {e}"))?;
        let sender = m.sender.as_deref().or(config.default_source.as_deref());
        let source = match sender {
            None => Address::default(),
            Some(s) => {
                let digits = s.strip_prefix('+').unwrap_or(s);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    let n = config.numeric_source;
                    Address::new(n.ton, n.npi, digits)
                } else {
                    let n = config.alphanumeric_source;
                    Address::new(n.ton, n.npi, s)
                }
            }
        };
        let destination = Address::new(
            config.destination.ton,
            config.destination.npi,
            m.number.digits().to_string(),
        );
        let data_coding = match m.encoding {
            Encoding::Gsm7 => config.data_coding_gsm7,
            Encoding::Ucs2 => config.data_coding_ucs2,
        };
        let validity_period = m.expires_at.map(absolute_time).transpose()?;
        let total = segments.len() as u8;
        segments
            .into_iter()
            .zip(1..=total)
            .map(|(segment, seq)| {
                let mut fields = ShortMessage {
                    service_type: config.service_type.clone(),
                    source: source.clone(),
                    destination: destination.clone(),
                    registered_delivery: config.registered_delivery,
                    data_coding,
                    ..ShortMessage::default()
                };
                let mut tlvs = Vec::new();
                match (segment.udh, config.concatenation) {
                    (Some(udh), Concatenation::Udh) => {
                        fields.esm_class = pdu::ESM_UDHI;
                        fields.short_message = udh.to_vec();
                        fields.short_message.extend_from_slice(&segment.payload);
                    }
                    (Some(_), Concatenation::Sar) => {
                        fields.short_message = segment.payload;
                        tlvs = vec![
                            MessageSubmissionRequestTlvValue::SarMsgRefNum(reference),
                            MessageSubmissionRequestTlvValue::SarTotalSegments(total),
                            MessageSubmissionRequestTlvValue::SarSegmentSeqnum(seq),
                        ];
                    }
                    (None, _) => fields.short_message = segment.payload,
                }
                let mut pdu = fields.submit_sm(tlvs)?;
                if let Some(validity_period) = &validity_period {
                    pdu.validity_period = validity_period.clone();
                }
                Ok(Encoded::new(&Command::new(CommandStatus::EsmeRok, 0, pdu)))
            })
            .collect()
    }
}

/// A message's answer, ready or awaited.
enum Pending {
    Ready(SubmitResult),
    Waiting(Arc<Job>, oneshot::Receiver<SubmitResult>),
}

#[async_trait]
impl Connector for Esme {
    fn name(&self) -> &str {
        &self.shared.config.name
    }

    fn kind(&self) -> &'static str {
        "smpp"
    }

    fn is_up(&self) -> bool {
        self.shared.transmitters_up.load(Ordering::Acquire) > 0
    }

    /// Binds counts the binds that transmit (transceivers, or transmitters
    /// beside their receivers).
    fn status(&self) -> ConnectorStatus {
        let up = self.shared.transmitters_up.load(Ordering::Acquire);
        ConnectorStatus {
            up: up > 0,
            last_error: self.last_error(),
            in_flight: self.shared.awaiting_responses.load(Ordering::Acquire) as u64,
            binds: Some(Binds {
                up: u32::try_from(up).unwrap_or(u32::MAX),
                configured: u32::try_from(self.shared.config.binds.max(1)).unwrap_or(u32::MAX),
            }),
        }
    }

    async fn shutdown(&self) {
        Esme::shutdown(self).await;
    }

    fn report_timeout(&self) -> Duration {
        Duration::from_millis(self.shared.config.report_timeout_ms)
    }

    async fn submit(&self, messages: &[OutboundMessage]) -> Vec<SubmitResult> {
        let deadline = Instant::now() + Duration::from_millis(self.shared.config.submit_timeout_ms);
        let mut pending = Vec::with_capacity(messages.len());
        let mut parts = Vec::new();
        for m in messages {
            match self.encode(m) {
                Ok(pdus) => {
                    let (job, rx) = Job::new(pdus.len());
                    let first = self
                        .shared
                        .next_order
                        .fetch_add(pdus.len() as u64, Ordering::Relaxed);
                    parts.extend(pdus.into_iter().enumerate().map(|(index, pdu)| Part {
                        job: job.clone(),
                        index,
                        order: first + index as u64,
                        pdu,
                    }));
                    pending.push(Pending::Waiting(job, rx));
                }
                Err(error) => pending.push(Pending::Ready(SubmitResult::Permanent { error })),
            }
        }
        self.shared.queue.push_back(parts);
        let mut results = Vec::with_capacity(pending.len());
        for p in pending {
            results.push(match p {
                Pending::Ready(result) => result,
                Pending::Waiting(job, mut rx) => {
                    match tokio::time::timeout_at(deadline, &mut rx).await {
                        Ok(Ok(result)) => result,
                        Ok(Err(_)) => SubmitResult::Temporary {
                            error: "connector stopped".into(),
                        },
                        Err(_) if job.give_up() => SubmitResult::Temporary {
                            error: "no answer from the SMSC in time".into(),
                        },
                        // Answered between the timeout and giving up.
                        Err(_) => rx.await.unwrap_or(SubmitResult::Temporary {
                            error: "connector stopped".into(),
                        }),
                    }
                }
            });
        }
        results
    }
}
