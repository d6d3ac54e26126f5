//! An SMSC simulator: an SMPP server that plays a carrier, to test the ESME
//! connector and to run relais end to end without one.
//!
//! It accepts binds with configured credentials, answers `submit_sm` with
//! message ids (decimal or hex, zero-padded or not, so that id matching is
//! exercised), sends delivery receipts after configurable delays in
//! configurable proportions (possibly writing the id differently from the
//! `submit_sm_resp`), throttles or refuses by rule, and can send replies (MO)
//! on demand. Receipts and replies wait for a receiver or transceiver bind of
//! their system id and are sent again until acknowledged, like a real SMSC.
//! A message whose `validity_period` ends before its delivery is reported
//! expired; an unreadable one is refused (ESME_RINVEXPIRY). With `tls`, the
//! listener speaks TLS only.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relais_core::encoding::Encoding;
use relais_core::{gsm7, segments};
use rusmpp::pdus::{
    BindReceiverResp, BindTransceiverResp, BindTransmitterResp, DeliverSm, SubmitSm, SubmitSmResp,
};
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::types::AnyOctetString;
use rusmpp::values::{MessagePayload, MessageState};
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::pdu::{self, Address, Concat, Frame, ShortMessage, c_string, status};
use crate::receipt::{ReceiptText, receipt_date, stat_of_status};
use crate::server::submit::parse_time;
use crate::tls;
use crate::wire::{self, Outbox};

/// How the simulator behaves. Every field has a default, so a configuration
/// file only names what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmscConfig {
    pub listen: SocketAddr,
    /// Serve TLS (only) with this certificate; absent: plain TCP.
    pub tls: Option<SmscTls>,
    /// Who may bind; empty: anyone, with any password.
    pub accounts: Vec<SmscAccount>,
    /// The `system_id` the simulator answers binds with.
    pub system_id: String,
    /// How `submit_sm_resp` writes message ids, zero-padded to `id_width` digits.
    pub id_format: IdFormat,
    pub id_width: usize,
    /// How receipts write them (by default as in `submit_sm_resp`), as SMSCs
    /// that answer in hex and report in decimal do.
    pub receipt_id_format: Option<IdFormat>,
    pub receipt_id_width: Option<usize>,
    /// Whether receipts carry the `receipted_message_id` and `message_state`
    /// TLVs besides the text (SMPP 3.4 made them optional).
    pub receipt_tlvs: bool,
    /// Fractions of receipts saying delivered and undelivered; the rest expire.
    pub delivered_ratio: f64,
    pub undelivered_ratio: f64,
    /// Receipt delay range after the submit, in milliseconds.
    pub receipt_delay_ms: (u64, u64),
    /// Delay before each `submit_sm_resp` (to hold submits in flight).
    pub response_delay_ms: u64,
    /// Every Nth `submit_sm` is answered `ESME_RTHROTTLED` (0: never).
    pub throttle_every: u64,
    /// Destinations answered with an error status.
    pub error_rules: Vec<ErrorRule>,
    /// Keep every accepted `submit_sm` for [`Smsc::submissions`] (tests).
    pub record_submissions: bool,
    /// Seed for reproducible runs; random when absent.
    pub seed: Option<u64>,
}

impl Default for SmscConfig {
    fn default() -> Self {
        SmscConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 2775)),
            tls: None,
            accounts: Vec::new(),
            system_id: "relais-smsc".into(),
            id_format: IdFormat::Hex,
            id_width: 0,
            receipt_id_format: None,
            receipt_id_width: None,
            receipt_tlvs: true,
            delivered_ratio: 1.0,
            undelivered_ratio: 0.0,
            receipt_delay_ms: (0, 0),
            response_delay_ms: 0,
            throttle_every: 0,
            error_rules: Vec::new(),
            record_submissions: false,
            seed: None,
        }
    }
}

/// The listener's certificate chain and private key, as PEM files.
pub use crate::tls::ListenerTls as SmscTls;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmscAccount {
    pub system_id: String,
    pub password: String,
}

/// A `submit_sm` whose destination starts with `destination_prefix` is
/// answered with `status` (e.g. 0x0B, ESME_RINVDSTADR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRule {
    pub destination_prefix: String,
    pub status: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdFormat {
    Decimal,
    /// Upper-case hexadecimal.
    Hex,
}

impl IdFormat {
    pub fn render(self, id: u64, width: usize) -> String {
        match self {
            IdFormat::Decimal => format!("{id:0width$}"),
            IdFormat::Hex => format!("{id:0width$X}"),
        }
    }
}

/// A `submit_sm` the simulator accepted (kept with `record_submissions`).
#[derive(Debug, Clone)]
pub struct Submission {
    pub system_id: String,
    pub message: ShortMessage,
    /// The SAR TLVs, if any.
    pub sar: Option<Concat>,
    /// As written in the `submit_sm` (empty: the SMSC's default).
    pub validity_period: String,
    pub message_id: String,
}

impl Submission {
    /// The concatenation element (from the UDH or the SAR TLVs).
    pub fn concat(&self) -> Option<Concat> {
        self.sar.or_else(|| {
            (self.message.esm_class & pdu::ESM_UDHI != 0)
                .then(|| pdu::split_udh(&self.message.short_message))
                .flatten()
                .and_then(|(c, _)| c)
        })
    }

    /// The short message without its user data header.
    pub fn payload(&self) -> &[u8] {
        if self.message.esm_class & pdu::ESM_UDHI != 0 {
            pdu::split_udh(&self.message.short_message).map_or(&[][..], |(_, p)| p)
        } else {
            &self.message.short_message
        }
    }
}

/// How an injected reply longer than one SMS is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoConcat {
    Udh,
    Sar,
    /// One `deliver_sm` with the whole text in `message_payload`.
    Payload,
}

/// A reply to inject, as if a handset had sent it.
#[derive(Debug, Clone)]
pub struct Mo {
    /// Digits, sent as an international number.
    pub from: String,
    pub to: String,
    pub text: String,
    pub concat: MoConcat,
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmscStats {
    pub connections: u64,
    /// Connections dropped because their TLS handshake failed.
    pub tls_failures: u64,
    pub binds: u64,
    pub submits: u64,
    pub accepted: u64,
    pub throttled: u64,
    pub refused: u64,
    pub receipts_sent: u64,
    pub receipts_acked: u64,
    pub mo_acked: u64,
    pub generic_nacks_sent: u64,
    /// The most `submit_sm` of one session held without a response at once.
    pub max_outstanding: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    tls_failures: AtomicU64,
    binds: AtomicU64,
    submits: AtomicU64,
    accepted: AtomicU64,
    throttled: AtomicU64,
    refused: AtomicU64,
    receipts_sent: AtomicU64,
    receipts_acked: AtomicU64,
    mo_acked: AtomicU64,
    generic_nacks_sent: AtomicU64,
    max_outstanding: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A `deliver_sm` on its way to a receiver of `system_id`.
#[derive(Clone)]
struct Delivery {
    system_id: String,
    pdu: DeliverSm,
    is_receipt: bool,
}

/// A bound session, as seen by the rest of the simulator.
struct Session {
    system_id: String,
    receives: bool,
    outbox: Arc<Outbox>,
    next_seq: AtomicU32,
    /// Deliveries sent and not yet acknowledged, by sequence number.
    awaiting: Mutex<HashMap<u32, Delivery>>,
}

struct Shared {
    config: SmscConfig,
    next_id: AtomicU64,
    submit_count: AtomicU64,
    counters: Counters,
    sessions: Mutex<Vec<Arc<Session>>>,
    round_robin: AtomicUsize,
    /// Deliveries waiting for a receiver, per system id.
    waiting: Mutex<HashMap<String, VecDeque<Delivery>>>,
    later: mpsc::UnboundedSender<(Instant, Delivery)>,
    rng: Mutex<StdRng>,
    recorded: Mutex<Vec<Submission>>,
    /// Bumped to drop every connection at once.
    kill: watch::Sender<u64>,
    mo_reference: AtomicU32,
}

/// A running simulator.
pub struct Smsc {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Smsc {
    /// Binds `config.listen` (port 0 picks a free one) and starts serving.
    pub async fn start(config: SmscConfig) -> io::Result<Smsc> {
        let tls = config.tls.as_ref().map(SmscTls::acceptor).transpose()?;
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let mut rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let first_id = rng.random_range(1_000_000..2_000_000);
        let (later, later_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config,
            next_id: AtomicU64::new(first_id),
            submit_count: AtomicU64::new(0),
            counters: Counters::default(),
            sessions: Mutex::new(Vec::new()),
            round_robin: AtomicUsize::new(0),
            waiting: Mutex::new(HashMap::new()),
            later,
            rng: Mutex::new(rng),
            recorded: Mutex::new(Vec::new()),
            kill: watch::channel(0).0,
            mo_reference: AtomicU32::new(0),
        });
        let scheduler = tokio::spawn(schedule(later_rx, Arc::downgrade(&shared)));
        let acceptor = tokio::spawn(accept(listener, tls, shared.clone()));
        Ok(Smsc {
            shared,
            local_addr,
            tasks: vec![acceptor, scheduler],
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn stats(&self) -> SmscStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SmscStats {
            connections: get(&c.connections),
            tls_failures: get(&c.tls_failures),
            binds: get(&c.binds),
            submits: get(&c.submits),
            accepted: get(&c.accepted),
            throttled: get(&c.throttled),
            refused: get(&c.refused),
            receipts_sent: get(&c.receipts_sent),
            receipts_acked: get(&c.receipts_acked),
            mo_acked: get(&c.mo_acked),
            generic_nacks_sent: get(&c.generic_nacks_sent),
            max_outstanding: get(&c.max_outstanding),
        }
    }

    /// The accepted submissions, oldest first (with `record_submissions`).
    pub fn submissions(&self) -> Vec<Submission> {
        self.shared.recorded.lock().expect("recorded").clone()
    }

    /// Sends a reply to a receiver of `system_id` (now, or when one binds).
    pub fn inject_mo(&self, system_id: &str, mo: &Mo) -> Result<(), String> {
        let reference = self.shared.mo_reference.fetch_add(1, Ordering::Relaxed) as u16;
        for pdu in mo_pdus(mo, reference)? {
            self.shared.dispatch(Delivery {
                system_id: system_id.to_owned(),
                pdu,
                is_receipt: false,
            });
        }
        Ok(())
    }

    /// Closes every connection at once, without unbinding (a crash, a
    /// network cut); clients may connect again.
    pub fn drop_connections(&self) {
        self.shared.kill.send_modify(|generation| *generation += 1);
    }

    /// Stops accepting and drops every connection.
    pub async fn shutdown(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.drop_connections();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Runs a simulator until Ctrl-C (the `relais smsc-simulator` command).
pub async fn run(config: SmscConfig) -> io::Result<()> {
    let smsc = Smsc::start(config).await?;
    tracing::info!(listen = %smsc.local_addr(), "SMSC simulator listening");
    tokio::signal::ctrl_c().await?;
    smsc.shutdown().await;
    Ok(())
}

async fn accept(listener: TcpListener, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                bump(&shared.counters.connections);
                match &tls {
                    None => match wire::split_tcp(stream) {
                        Ok((reader, writer)) => {
                            tokio::spawn(serve(shared.clone(), reader, writer));
                        }
                        Err(e) => tracing::warn!(error = %e, "smsc: connection setup failed"),
                    },
                    // The handshake runs in the connection's task, so that a
                    // slow client does not hold the others up.
                    Some(tls) => {
                        tokio::spawn(serve_tls(shared.clone(), tls.clone(), stream));
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "smsc: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_tls(shared: Arc<Shared>, acceptor: TlsAcceptor, stream: TcpStream) {
    match tls::accept(&acceptor, stream).await {
        Ok((reader, writer)) => serve(shared, reader, writer).await,
        Err(e) => {
            bump(&shared.counters.tls_failures);
            tracing::warn!(error = %e, "smsc: TLS handshake failed");
        }
    }
}

/// Releases deliveries when they are due.
async fn schedule(
    mut rx: mpsc::UnboundedReceiver<(Instant, Delivery)>,
    shared: std::sync::Weak<Shared>,
) {
    let mut queue: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut items: HashMap<u64, Delivery> = HashMap::new();
    let mut seq = 0u64;
    loop {
        let next = queue.peek().map(|Reverse((at, _))| *at);
        tokio::select! {
            received = rx.recv() => match received {
                Some((at, delivery)) => {
                    seq += 1;
                    queue.push(Reverse((at, seq)));
                    items.insert(seq, delivery);
                }
                None => return,
            },
            _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {}
        }
        let now = Instant::now();
        let Some(shared) = shared.upgrade() else {
            return;
        };
        while let Some(Reverse((at, id))) = queue.peek().copied() {
            if at > now {
                break;
            }
            queue.pop();
            if let Some(delivery) = items.remove(&id) {
                shared.dispatch(delivery);
            }
        }
    }
}

impl Shared {
    /// Sends a delivery to a receiver of its system id, or keeps it until one binds.
    fn dispatch(&self, delivery: Delivery) {
        let session = {
            let sessions = self.sessions.lock().expect("sessions");
            let candidates: Vec<&Arc<Session>> = sessions
                .iter()
                .filter(|s| s.receives && s.system_id == delivery.system_id)
                .filter(|s| !s.outbox.is_closed())
                .collect();
            (!candidates.is_empty()).then(|| {
                let pick = self.round_robin.fetch_add(1, Ordering::Relaxed) % candidates.len();
                candidates[pick].clone()
            })
        };
        match session {
            Some(session) => self.send_delivery(&session, delivery),
            None => self
                .waiting
                .lock()
                .expect("waiting")
                .entry(delivery.system_id.clone())
                .or_default()
                .push_back(delivery),
        }
    }

    fn send_delivery(&self, session: &Session, delivery: Delivery) {
        let seq = session.next_seq.fetch_add(1, Ordering::Relaxed);
        let command = Command::new(CommandStatus::EsmeRok, seq, delivery.pdu.clone());
        if delivery.is_receipt {
            bump(&self.counters.receipts_sent);
        }
        session
            .awaiting
            .lock()
            .expect("awaiting")
            .insert(seq, delivery);
        // A closed outbox means the session is ending: its cleanup gives the
        // awaiting deliveries back to `dispatch`.
        session.outbox.send(&command);
    }

    fn later(&self, delay: Duration, delivery: Delivery) {
        if delay.is_zero() {
            self.dispatch(delivery);
        } else {
            let _ = self.later.send((Instant::now() + delay, delivery));
        }
    }

    fn check_credentials(&self, system_id: &str, password: &str) -> u32 {
        let accounts = &self.config.accounts;
        if accounts.is_empty() {
            return status::OK;
        }
        match accounts.iter().find(|a| a.system_id == system_id) {
            None => status::INVALID_SYSTEM_ID,
            Some(a) if a.password != password => status::INVALID_PASSWORD,
            Some(_) => status::OK,
        }
    }

    /// Decides what to answer a `submit_sm`; schedules its receipt.
    fn submit(&self, system_id: &str, pdu: &SubmitSm) -> Result<String, u32> {
        bump(&self.counters.submits);
        let n = self.submit_count.fetch_add(1, Ordering::Relaxed) + 1;
        let every = self.config.throttle_every;
        if every > 0 && n.is_multiple_of(every) {
            bump(&self.counters.throttled);
            return Err(status::THROTTLED);
        }
        let validity_period = pdu.validity_period.as_str();
        let Ok(expires_at) = parse_time(validity_period, jiff::Timestamp::now()) else {
            bump(&self.counters.refused);
            return Err(status::INVALID_EXPIRY);
        };
        let destination = pdu.destination_addr.as_str();
        if let Some(rule) = self
            .config
            .error_rules
            .iter()
            .find(|r| destination.starts_with(r.destination_prefix.as_str()))
        {
            bump(&self.counters.refused);
            return Err(rule.status);
        }
        bump(&self.counters.accepted);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let message_id = self.config.id_format.render(id, self.config.id_width);
        let message = ShortMessage::of_submit(pdu);
        if self.config.record_submissions {
            self.recorded.lock().expect("recorded").push(Submission {
                system_id: system_id.to_owned(),
                message: message.clone(),
                sar: pdu::sar(pdu.tlvs()),
                validity_period: validity_period.to_owned(),
                message_id: message_id.clone(),
            });
        }
        let requested = message.registered_delivery & 0x03;
        if requested != 0 {
            self.schedule_receipt(system_id, id, &message, requested, expires_at);
        }
        Ok(message_id)
    }

    /// Schedules the receipt of message `id`: expired when its validity ends
    /// before the delay drawn for it, else as the ratios say.
    fn schedule_receipt(
        &self,
        system_id: &str,
        id: u64,
        message: &ShortMessage,
        requested: u8,
        expires_at: Option<jiff::Timestamp>,
    ) {
        let submitted_at = jiff::Timestamp::now();
        let (outcome, delay) = {
            let mut rng = self.rng.lock().expect("rng");
            let roll: f64 = rng.random();
            let outcome = if roll < self.config.delivered_ratio {
                relais_store::MessageStatus::Delivered
            } else if roll < self.config.delivered_ratio + self.config.undelivered_ratio {
                relais_store::MessageStatus::Undelivered
            } else {
                relais_store::MessageStatus::Expired
            };
            let (min, max) = self.config.receipt_delay_ms;
            let delay = rng.random_range(min..=max.max(min));
            let delivered_at = submitted_at + Duration::from_millis(delay);
            if expires_at.is_some_and(|end| end < delivered_at) {
                (relais_store::MessageStatus::Expired, delay)
            } else {
                (outcome, delay)
            }
        };
        // 0x02: a receipt only on failure.
        if requested == 0x02 && outcome == relais_store::MessageStatus::Delivered {
            return;
        }
        let format = self
            .config
            .receipt_id_format
            .unwrap_or(self.config.id_format);
        let width = self.config.receipt_id_width.unwrap_or(self.config.id_width);
        let receipt_id = format.render(id, width);
        let (stat, state) = stat_of_status(outcome);
        let now = submitted_at.as_millisecond();
        let text = ReceiptText {
            id: receipt_id.clone(),
            sub: 1,
            dlvrd: u32::from(outcome == relais_store::MessageStatus::Delivered),
            submit_date: receipt_date(now),
            done_date: receipt_date(now + delay as i64),
            stat: stat.into(),
            err: if stat == "DELIVRD" { "000" } else { "001" }.into(),
            text: String::new(),
        };
        let fields = ShortMessage {
            source: message.destination.clone(),
            destination: message.source.clone(),
            esm_class: pdu::ESM_RECEIPT,
            short_message: text.format().into_bytes(),
            ..ShortMessage::default()
        };
        let tlvs = if self.config.receipt_tlvs {
            let Ok(id) = c_string(&receipt_id) else {
                return;
            };
            vec![
                MessageDeliveryRequestTlvValue::ReceiptedMessageId(id),
                MessageDeliveryRequestTlvValue::MessageState(MessageState::from(state)),
            ]
        } else {
            Vec::new()
        };
        match fields.deliver_sm(tlvs) {
            Ok(pdu) => self.later(
                Duration::from_millis(delay),
                Delivery {
                    system_id: system_id.to_owned(),
                    pdu,
                    is_receipt: true,
                },
            ),
            Err(e) => tracing::warn!(error = %e, "smsc: cannot build a receipt"),
        }
    }

    fn register(&self, session: Arc<Session>) {
        self.sessions
            .lock()
            .expect("sessions")
            .push(session.clone());
        if session.receives {
            let queued = self
                .waiting
                .lock()
                .expect("waiting")
                .remove(&session.system_id)
                .unwrap_or_default();
            for delivery in queued {
                self.send_delivery(&session, delivery);
            }
        }
    }

    /// Forgets a session and sends its unacknowledged deliveries again.
    fn unregister(&self, session: &Arc<Session>) {
        self.sessions
            .lock()
            .expect("sessions")
            .retain(|s| !Arc::ptr_eq(s, session));
        let mut awaiting: Vec<(u32, Delivery)> =
            session.awaiting.lock().expect("awaiting").drain().collect();
        awaiting.sort_by_key(|(seq, _)| *seq);
        for (_, delivery) in awaiting {
            self.dispatch(delivery);
        }
    }

    fn acknowledged(&self, session: &Session, seq: u32, status: u32) {
        let Some(delivery) = session.awaiting.lock().expect("awaiting").remove(&seq) else {
            return;
        };
        if status == status::OK {
            bump(if delivery.is_receipt {
                &self.counters.receipts_acked
            } else {
                &self.counters.mo_acked
            });
        } else {
            // Refused for now: offer it again a little later.
            self.later(Duration::from_millis(200), delivery);
        }
    }
}

/// One connection, from bind to close.
async fn serve(shared: Arc<Shared>, mut reader: wire::Reader, writer: wire::BoxWrite) {
    let outbox = Arc::new(Outbox::default());
    let writer = wire::spawn_writer(writer, outbox.clone());
    let mut kill = shared.kill.subscribe();
    let mut bound: Option<(Arc<Session>, bool)> = None; // (session, may submit)
    let outstanding = Arc::new(AtomicU64::new(0));
    let mut killed = false;
    loop {
        let frame = tokio::select! {
            frame = reader.next() => frame,
            _ = kill.changed() => {
                killed = true;
                break;
            }
        };
        let command = match frame {
            None | Some(Err(_)) => break,
            Some(Ok(Frame::Command(command))) => command,
            Some(Ok(Frame::Garbage { .. })) => {
                bump(&shared.counters.generic_nacks_sent);
                outbox.send(&pdu::generic_nack(status::INVALID_COMMAND_LENGTH, 0));
                break;
            }
            Some(Ok(Frame::Invalid {
                command_id,
                sequence_number,
                ..
            })) => {
                if command_id & 0x8000_0000 == 0 {
                    bump(&shared.counters.generic_nacks_sent);
                    outbox.send(&pdu::generic_nack(
                        status::INVALID_COMMAND_LENGTH,
                        sequence_number,
                    ));
                }
                continue;
            }
        };
        let seq = command.sequence_number();
        let id = command.id();
        match command.pdu() {
            Some(Pdu::BindTransmitter(b)) => {
                let creds = (b.system_id.as_str(), b.password.as_str());
                bind(&shared, &outbox, &mut bound, creds, id, seq, (false, true));
            }
            Some(Pdu::BindReceiver(b)) => {
                let creds = (b.system_id.as_str(), b.password.as_str());
                bind(&shared, &outbox, &mut bound, creds, id, seq, (true, false));
            }
            Some(Pdu::BindTransceiver(b)) => {
                let creds = (b.system_id.as_str(), b.password.as_str());
                bind(&shared, &outbox, &mut bound, creds, id, seq, (true, true));
            }
            Some(Pdu::SubmitSm(submit)) => {
                let Some((session, true)) = &bound else {
                    outbox.send(&pdu::error_response(
                        u32::from(id),
                        status::INVALID_BIND_STATUS,
                        seq,
                    ));
                    continue;
                };
                let response = match shared.submit(&session.system_id, submit) {
                    Ok(message_id) => match c_string(&message_id) {
                        Ok(message_id) => Command::new(
                            CommandStatus::EsmeRok,
                            seq,
                            SubmitSmResp::new(message_id, Vec::new()),
                        ),
                        Err(_) => pdu::error_response(u32::from(id), status::SYSTEM_ERROR, seq),
                    },
                    Err(status) => pdu::error_response(u32::from(id), status, seq),
                };
                respond(&shared, &outbox, &outstanding, response);
            }
            Some(Pdu::DeliverSmResp(_)) | None if id == CommandId::DeliverSmResp => {
                if let Some((session, _)) = &bound {
                    shared.acknowledged(session, seq, pdu::status_code(command.status()));
                }
            }
            Some(Pdu::EnquireLink) => {
                outbox.send(&Command::new(
                    CommandStatus::EsmeRok,
                    seq,
                    Pdu::EnquireLinkResp,
                ));
            }
            Some(Pdu::Unbind) => {
                outbox.send(&Command::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp));
                break;
            }
            Some(Pdu::UnbindResp) => break,
            Some(Pdu::EnquireLinkResp | Pdu::GenericNack) => {}
            _ if id.is_response() => {}
            _ => {
                bump(&shared.counters.generic_nacks_sent);
                outbox.send(&pdu::generic_nack(status::INVALID_COMMAND_ID, seq));
            }
        }
    }
    if let Some((session, _)) = &bound {
        session.outbox.close();
        shared.unregister(session);
    }
    if killed {
        // Drop the connection without flushing anything: a cut, not a goodbye.
        writer.abort();
    } else {
        outbox.close();
        let _ = writer.await;
    }
}

fn bind(
    shared: &Shared,
    outbox: &Arc<Outbox>,
    bound: &mut Option<(Arc<Session>, bool)>,
    (system_id, password): (&str, &str),
    id: CommandId,
    seq: u32,
    (receives, submits): (bool, bool),
) {
    let status = if bound.is_some() {
        status::ALREADY_BOUND
    } else {
        shared.check_credentials(system_id, password)
    };
    if status != status::OK {
        outbox.send(&pdu::error_response(u32::from(id), status, seq));
        return;
    }
    let Ok(our_id) = c_string(&shared.config.system_id) else {
        outbox.send(&pdu::error_response(
            u32::from(id),
            status::SYSTEM_ERROR,
            seq,
        ));
        return;
    };
    let response: Pdu = match id {
        CommandId::BindTransmitter => BindTransmitterResp::new(our_id, None).into(),
        CommandId::BindReceiver => BindReceiverResp::new(our_id, None).into(),
        _ => BindTransceiverResp::new(our_id, None).into(),
    };
    outbox.send(&Command::new(CommandStatus::EsmeRok, seq, response));
    bump(&shared.counters.binds);
    let session = Arc::new(Session {
        system_id: system_id.to_owned(),
        receives,
        outbox: outbox.clone(),
        next_seq: AtomicU32::new(1),
        awaiting: Mutex::new(HashMap::new()),
    });
    *bound = Some((session.clone(), submits));
    shared.register(session);
}

/// Sends a `submit_sm_resp`, after the configured delay.
fn respond(shared: &Shared, outbox: &Arc<Outbox>, outstanding: &Arc<AtomicU64>, response: Command) {
    let delay = shared.config.response_delay_ms;
    if delay == 0 {
        outbox.send(&response);
        return;
    }
    let held = outstanding.fetch_add(1, Ordering::Relaxed) + 1;
    shared
        .counters
        .max_outstanding
        .fetch_max(held, Ordering::Relaxed);
    let (outbox, outstanding) = (outbox.clone(), outstanding.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(delay)).await;
        outstanding.fetch_sub(1, Ordering::Relaxed);
        outbox.send(&response);
    });
}

/// The `deliver_sm` PDUs that carry an injected reply.
fn mo_pdus(mo: &Mo, reference: u16) -> Result<Vec<DeliverSm>, String> {
    let encoding = if gsm7::encode(&mo.text).is_ok() {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    };
    let data_coding = if encoding == Encoding::Gsm7 {
        0x00
    } else {
        0x08
    };
    let base = ShortMessage {
        source: Address::new(1, 1, mo.from.clone()),
        destination: Address::new(0, 0, mo.to.clone()),
        data_coding,
        ..ShortMessage::default()
    };
    let parts = segments::split(&mo.text, encoding, reference as u8).map_err(|e| e.to_string())?;
    if parts.len() == 1 || mo.concat == MoConcat::Payload {
        let payload: Vec<u8> = parts.into_iter().flat_map(|p| p.payload).collect();
        if payload.len() <= 254 {
            let fields = ShortMessage {
                short_message: payload,
                ..base
            };
            return Ok(vec![fields.deliver_sm(Vec::new())?]);
        }
        let tlv = MessageDeliveryRequestTlvValue::MessagePayload(MessagePayload::new(
            AnyOctetString::from_vec(payload),
        ));
        return Ok(vec![base.deliver_sm(vec![tlv])?]);
    }
    let total = parts.len() as u8;
    parts
        .into_iter()
        .zip(1..=total)
        .map(|(part, seq)| match mo.concat {
            MoConcat::Udh => {
                let mut short_message = part.udh.expect("multi-part segments have a UDH").to_vec();
                short_message.extend_from_slice(&part.payload);
                ShortMessage {
                    esm_class: pdu::ESM_UDHI,
                    short_message,
                    ..base.clone()
                }
                .deliver_sm(Vec::new())
            }
            _ => ShortMessage {
                short_message: part.payload,
                ..base.clone()
            }
            .deliver_sm(vec![
                MessageDeliveryRequestTlvValue::SarMsgRefNum(reference),
                MessageDeliveryRequestTlvValue::SarTotalSegments(total),
                MessageDeliveryRequestTlvValue::SarSegmentSeqnum(seq),
            ]),
        })
        .collect()
}
