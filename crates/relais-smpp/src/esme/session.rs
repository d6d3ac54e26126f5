//! One bind of the connector: connect, bind, then submit from the shared
//! queue within the window while answering the SMSC; reconnect with backoff
//! when the link is lost.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use rusmpp::pdus::{BindReceiver, BindTransceiver, BindTransmitter};
use rusmpp::values::{InterfaceVersion as Version, Npi, Ton};
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::inbound::{Ack, Incoming};
use super::{InterfaceVersion, Part, PartOutcome, Shared};
use crate::pdu::{self, Frame, c_string, status};
use crate::wire::{self, BoxWrite, Outbox, Reader};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Transceiver,
    Transmitter,
    Receiver,
}

impl Kind {
    fn submits(self) -> bool {
        self != Kind::Receiver
    }

    fn receives(self) -> bool {
        self != Kind::Transmitter
    }
}

/// What keeps a session from sending more for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A receiver never sends.
    Receiver,
    /// The window is full: wait for responses.
    Window,
    /// Nothing queued: wait for work.
    Empty,
    /// Throttled by the SMSC, until then.
    Paused(Instant),
    /// Over the configured throughput, until then.
    Pacer(Instant),
}

/// Why a session ended.
enum End {
    Shutdown,
    Lost(String),
}

/// Keeps one bind of `kind` up until shutdown.
pub(super) async fn run(shared: Arc<Shared>, kind: Kind) {
    let config = &shared.config;
    let min = Duration::from_millis(config.reconnect_min_ms.max(1));
    let max = Duration::from_millis(config.reconnect_max_ms).max(min);
    let mut backoff = min;
    let mut shutdown = shared.shutdown.clone();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let wait = match connect_and_bind(&shared, kind).await {
            Ok((reader, outbox, writer)) => {
                backoff = min;
                tracing::info!(connector = %config.name, ?kind, "bound");
                *shared.last_error.lock().expect("last error") = None;
                match Session::new(shared.clone(), kind, reader, outbox, writer)
                    .run()
                    .await
                {
                    End::Shutdown => return,
                    End::Lost(reason) => {
                        tracing::warn!(connector = %config.name, ?kind, %reason, "link lost; reconnecting");
                        *shared.last_error.lock().expect("last error") = Some(reason);
                    }
                }
                min
            }
            Err(reason) => {
                tracing::warn!(connector = %config.name, ?kind, %reason, "bind failed; retrying");
                *shared.last_error.lock().expect("last error") = Some(reason);
                let wait = backoff;
                backoff = (backoff * 2).min(max);
                wait
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn connect_and_bind(
    shared: &Shared,
    kind: Kind,
) -> Result<(Reader, Arc<Outbox>, JoinHandle<()>), String> {
    let config = &shared.config;
    let deadline = Instant::now() + Duration::from_millis(config.bind_timeout_ms);
    let address = format!("{}:{}", config.host, config.port);
    let (mut reader, writer) = tokio::time::timeout_at(deadline, connect(shared, &address))
        .await
        .map_err(|_| format!("connecting to {address} timed out"))??;
    let outbox = Arc::new(Outbox::default());
    let writer = wire::spawn_writer(writer, outbox.clone());
    let bind = bind_command(shared, kind)?;
    outbox.send(&bind);
    let result = loop {
        let frame = match tokio::time::timeout_at(deadline, reader.next()).await {
            Err(_) => break Err("no bind response in time".to_owned()),
            Ok(None | Some(Err(_))) => break Err("connection closed during bind".to_owned()),
            Ok(Some(Ok(frame))) => frame,
        };
        match frame {
            Frame::Command(c) if c.sequence_number() == 1 && c.id().is_response() => {
                let code = pdu::status_code(c.status());
                break if code == status::OK {
                    Ok(())
                } else {
                    Err(format!("bind refused: smpp status 0x{code:08X}"))
                };
            }
            Frame::Command(c) if c.id() == CommandId::EnquireLink => {
                outbox.send(&Command::new(
                    CommandStatus::EsmeRok,
                    c.sequence_number(),
                    Pdu::EnquireLinkResp,
                ));
            }
            Frame::Command(_) => {}
            Frame::Invalid { .. } | Frame::Garbage { .. } => {
                break Err("undecodable bind response".to_owned());
            }
        }
    };
    match result {
        Ok(()) => Ok((reader, outbox, writer)),
        Err(e) => {
            writer.abort();
            Err(e)
        }
    }
}

/// Opens the connection, over TLS when configured.
async fn connect(shared: &Shared, address: &str) -> Result<(Reader, BoxWrite), String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connecting to {address}: {e}"))?;
    let Some(tls) = &shared.tls else {
        return wire::split_tcp(stream).map_err(|e| e.to_string());
    };
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let stream = tls
        .connector
        .connect(tls.server_name.clone(), stream)
        .await
        .map_err(|e| format!("TLS handshake with {address} failed: {e}"))?;
    Ok(wire::split(stream))
}

fn bind_command(shared: &Shared, kind: Kind) -> Result<Command, String> {
    let config = &shared.config;
    let version = match config.interface_version {
        InterfaceVersion::V34 => Version::Smpp3_4,
        InterfaceVersion::V50 => Version::Smpp5_0,
    };
    let (system_id, password, system_type) = (
        c_string(&config.system_id)?,
        c_string(config.password.expose())?,
        c_string(&config.system_type)?,
    );
    let pdu: Pdu = match kind {
        Kind::Transceiver => BindTransceiver::builder()
            .system_id(system_id)
            .password(password)
            .system_type(system_type)
            .interface_version(version)
            .addr_ton(Ton::Unknown)
            .addr_npi(Npi::Unknown)
            .build()
            .into(),
        Kind::Transmitter => BindTransmitter::builder()
            .system_id(system_id)
            .password(password)
            .system_type(system_type)
            .interface_version(version)
            .addr_ton(Ton::Unknown)
            .addr_npi(Npi::Unknown)
            .build()
            .into(),
        Kind::Receiver => BindReceiver::builder()
            .system_id(system_id)
            .password(password)
            .system_type(system_type)
            .interface_version(version)
            .addr_ton(Ton::Unknown)
            .addr_npi(Npi::Unknown)
            .build()
            .into(),
    };
    Ok(Command::new(CommandStatus::EsmeRok, 1, pdu))
}

/// Spreads submits evenly: a token bucket holding a tenth of a second.
struct Pacer {
    per_second: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Pacer {
    fn new(per_second: f64) -> Pacer {
        let burst = (per_second / 10.0).max(1.0);
        Pacer {
            per_second,
            burst,
            tokens: burst,
            at: Instant::now(),
        }
    }

    /// Whether a token is there (refilling first).
    fn ready(&mut self, now: Instant) -> bool {
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.per_second)
            .min(self.burst);
        self.at = now;
        self.tokens >= 1.0
    }

    fn take(&mut self) {
        self.tokens -= 1.0;
    }

    /// When the next token is there.
    fn next_at(&self) -> Instant {
        let missing = (1.0 - self.tokens).max(0.0);
        self.at + Duration::from_secs_f64(missing / self.per_second)
    }
}

struct InFlight {
    part: Part,
    sent: Instant,
}

struct Session {
    shared: Arc<Shared>,
    kind: Kind,
    reader: Reader,
    outbox: Arc<Outbox>,
    writer: JoinHandle<()>,
    next_seq: u32,
    in_flight: HashMap<u32, InFlight>,
    /// Throttled parts, sent again first, in queue order.
    retry: VecDeque<Part>,
    /// The window now: halved by throttling, regrown by successes.
    window: usize,
    paused_until: Option<Instant>,
    throttle_streak: u32,
    pacer: Option<Pacer>,
    /// The enquire_link awaiting its response, and its deadline.
    enquire: Option<(u32, Instant)>,
    next_enquire: Instant,
}

impl Session {
    fn new(
        shared: Arc<Shared>,
        kind: Kind,
        reader: Reader,
        outbox: Arc<Outbox>,
        writer: JoinHandle<()>,
    ) -> Session {
        let config = &shared.config;
        let transmitters = config.binds.max(1) as f64;
        let pacer = config
            .throughput_per_second
            .map(|rate| Pacer::new(f64::from(rate.max(1)) / transmitters));
        let next_enquire = Instant::now() + Duration::from_millis(config.enquire_link_interval_ms);
        Session {
            window: config.window.max(1),
            shared,
            kind,
            reader,
            outbox,
            writer,
            next_seq: 2,
            in_flight: HashMap::new(),
            retry: VecDeque::new(),
            paused_until: None,
            throttle_streak: 0,
            pacer,
            enquire: None,
            next_enquire,
        }
    }

    async fn run(mut self) -> End {
        if self.kind.submits() {
            self.shared.transmitters_up.fetch_add(1, Ordering::AcqRel);
        }
        let end = self.serve().await;
        if self.kind.submits() {
            self.shared.transmitters_up.fetch_sub(1, Ordering::AcqRel);
        }
        // What was sent without an answer goes back to the head of the queue.
        let unanswered = self.in_flight.len();
        self.shared
            .awaiting_responses
            .fetch_sub(unanswered, Ordering::AcqRel);
        let mut back: Vec<Part> = self.in_flight.drain().map(|(_, f)| f.part).collect();
        back.extend(self.retry.drain(..));
        self.shared.queue.push_front(back);
        // Let the last PDUs (unbind_resp, generic_nack) out, briefly: a dead
        // connection fails the write at once anyway.
        self.outbox.close();
        let grace = match end {
            End::Shutdown => Duration::from_secs(2),
            End::Lost(_) => Duration::from_millis(200),
        };
        if tokio::time::timeout(grace, &mut self.writer).await.is_err() {
            self.writer.abort();
        }
        end
    }

    fn sequence(&mut self) -> u32 {
        let seq = self.next_seq;
        self.next_seq = if seq >= 0x7FFF_FFFF { 1 } else { seq + 1 };
        seq
    }

    async fn serve(&mut self) -> End {
        let mut shutdown = self.shared.shutdown.clone();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            if *shutdown.borrow() {
                return self.unbind().await;
            }
            let shared = self.shared.clone();
            let notified = shared.queue.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let stop = self.fill();
            let wake = match stop {
                Stop::Paused(until) | Stop::Pacer(until) => Some(until),
                _ => None,
            };
            tokio::select! {
                frame = self.reader.next() => {
                    let frame = match frame {
                        Some(Ok(frame)) => frame,
                        _ => return End::Lost("connection closed by the SMSC".into()),
                    };
                    if let Some(end) = self.on_frame(frame) {
                        return end;
                    }
                }
                _ = &mut notified, if stop == Stop::Empty => {}
                _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {}
                _ = tick.tick() => {
                    if let Some(end) = self.on_tick() {
                        return end;
                    }
                }
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Sends queued parts while the window, the pause and the pacer allow;
    /// answers what stopped it.
    fn fill(&mut self) -> Stop {
        if !self.kind.submits() {
            return Stop::Receiver;
        }
        let now = Instant::now();
        if let Some(until) = self.paused_until {
            if until > now {
                return Stop::Paused(until);
            }
            self.paused_until = None;
        }
        loop {
            if self.in_flight.len() >= self.window {
                return Stop::Window;
            }
            if let Some(pacer) = &mut self.pacer
                && !pacer.ready(now)
            {
                return Stop::Pacer(pacer.next_at());
            }
            let Some(part) = self.retry.pop_front().or_else(|| self.shared.queue.pop()) else {
                return Stop::Empty;
            };
            // The message was answered already (a part failed, or it timed out).
            if part.job.is_answered() {
                continue;
            }
            let seq = self.sequence();
            if !self.outbox.send_encoded(&part.pdu, seq) {
                self.retry.push_front(part);
                return Stop::Window;
            }
            if let Some(pacer) = &mut self.pacer {
                pacer.take();
            }
            self.shared
                .awaiting_responses
                .fetch_add(1, Ordering::AcqRel);
            self.in_flight.insert(seq, InFlight { part, sent: now });
        }
    }

    fn on_frame(&mut self, frame: Frame) -> Option<End> {
        let command = match frame {
            Frame::Command(command) => command,
            Frame::Garbage { .. } => {
                self.outbox
                    .send(&pdu::generic_nack(status::INVALID_COMMAND_LENGTH, 0));
                return Some(End::Lost("the SMSC sent garbage".into()));
            }
            Frame::Invalid {
                command_id,
                command_status,
                sequence_number,
                body,
                error,
            } => {
                tracing::warn!(connector = %self.shared.config.name, command_id, %error, "undecodable PDU");
                if command_id == u32::from(CommandId::SubmitSmResp) {
                    // Read the id leniently (some SMSCs write non-ASCII or
                    // unterminated ids): losing it would send the part twice.
                    let id = body.split(|&b| b == 0).next().unwrap_or(&[]);
                    let id = String::from_utf8_lossy(id).into_owned();
                    self.on_submit_response(sequence_number, command_status, Some(id));
                } else if command_id == u32::from(CommandId::DeliverSm) {
                    // Refused for good so that the SMSC does not offer it forever.
                    self.outbox.send(&pdu::error_response(
                        command_id,
                        status::PERMANENT_APP_ERROR,
                        sequence_number,
                    ));
                } else if command_id & 0x8000_0000 == 0 {
                    self.outbox.send(&pdu::generic_nack(
                        status::INVALID_COMMAND_LENGTH,
                        sequence_number,
                    ));
                }
                return None;
            }
        };
        let seq = command.sequence_number();
        let code = pdu::status_code(command.status());
        match command.pdu() {
            Some(Pdu::SubmitSmResp(resp)) => {
                self.on_submit_response(seq, code, Some(resp.message_id().as_str().to_owned()));
            }
            None if command.id() == CommandId::SubmitSmResp => {
                self.on_submit_response(seq, code, None);
            }
            Some(Pdu::GenericNack) => {
                if self.enquire.is_some_and(|(s, _)| s == seq) {
                    self.enquire = None;
                } else {
                    self.on_submit_response(seq, code, None);
                }
            }
            Some(Pdu::DeliverSm(deliver)) => {
                let ack = Ack {
                    outbox: self.outbox.clone(),
                    sequence_number: seq,
                };
                if !self.kind.receives() {
                    ack.send(status::INVALID_BIND_STATUS);
                } else if let Err(e) = self.shared.inbound.send(Incoming::new(deliver, ack)) {
                    e.0.ack.send(status::SYSTEM_ERROR);
                }
            }
            Some(Pdu::EnquireLink) => {
                self.outbox.send(&Command::new(
                    CommandStatus::EsmeRok,
                    seq,
                    Pdu::EnquireLinkResp,
                ));
            }
            Some(Pdu::EnquireLinkResp) if self.enquire.is_some_and(|(s, _)| s == seq) => {
                self.enquire = None;
            }
            Some(Pdu::Unbind) => {
                self.outbox
                    .send(&Command::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp));
                return Some(End::Lost("the SMSC unbound".into()));
            }
            _ if command.id().is_operation() => {
                self.outbox
                    .send(&pdu::generic_nack(status::INVALID_COMMAND_ID, seq));
            }
            _ => {}
        }
        None
    }

    fn on_submit_response(&mut self, seq: u32, code: u32, id: Option<String>) {
        // Unknown: answered after its timeout (it was sent again), or never ours.
        let Some(InFlight { part, .. }) = self.in_flight.remove(&seq) else {
            return;
        };
        self.shared
            .awaiting_responses
            .fetch_sub(1, Ordering::AcqRel);
        let outcome = match id {
            _ if status::is_throttling(code) => {
                self.throttled(part);
                return;
            }
            Some(id) if code == status::OK && !id.is_empty() => {
                // Known to the receipt matching before anyone can report it.
                self.shared.index.lock().expect("id index").insert(&id);
                self.throttle_streak = 0;
                self.window = (self.window + 1).min(self.shared.config.window.max(1));
                PartOutcome::Accepted(id)
            }
            _ if code == status::OK => {
                PartOutcome::Temporary("submit_sm_resp without a message id".into())
            }
            _ if status::is_temporary(code) => {
                PartOutcome::Temporary(format!("smpp status 0x{code:08X}"))
            }
            _ => PartOutcome::Permanent(format!("smpp status 0x{code:08X}")),
        };
        part.job.resolve(part.index, outcome);
    }

    /// Slows down: halves the window, pauses, and keeps the part first in line.
    fn throttled(&mut self, part: Part) {
        let at = self.retry.partition_point(|p| p.order < part.order);
        self.retry.insert(at, part);
        self.window = (self.window / 2).max(1);
        self.throttle_streak += 1;
        let factor = 1u32 << (self.throttle_streak - 1).min(5);
        let pause = Duration::from_millis(self.shared.config.throttle_pause_ms) * factor;
        self.paused_until = Some(Instant::now() + pause.min(Duration::from_secs(10)));
    }

    /// Keep-alive and response timeouts.
    fn on_tick(&mut self) -> Option<End> {
        let now = Instant::now();
        let shared = self.shared.clone();
        let config = &shared.config;
        if let Some((_, deadline)) = self.enquire {
            if now >= deadline {
                return Some(End::Lost("no enquire_link_resp in time".into()));
            }
        } else if now >= self.next_enquire {
            let seq = self.sequence();
            self.outbox
                .send(&Command::new(CommandStatus::EsmeRok, seq, Pdu::EnquireLink));
            self.enquire = Some((
                seq,
                now + Duration::from_millis(config.enquire_link_timeout_ms),
            ));
            self.next_enquire = now + Duration::from_millis(config.enquire_link_interval_ms);
        }
        let timeout = Duration::from_millis(config.response_timeout_ms);
        let late: Vec<u32> = self
            .in_flight
            .iter()
            .filter(|(_, f)| now.duration_since(f.sent) >= timeout)
            .map(|(&seq, _)| seq)
            .collect();
        if !late.is_empty() {
            tracing::warn!(connector = %config.name, parts = late.len(), "no submit_sm_resp in time; sending again");
            self.shared
                .awaiting_responses
                .fetch_sub(late.len(), Ordering::AcqRel);
            for seq in late {
                let part = self.in_flight.remove(&seq).expect("listed above").part;
                let at = self.retry.partition_point(|p| p.order < part.order);
                self.retry.insert(at, part);
            }
        }
        None
    }

    /// Lets in-flight submits finish (briefly), then unbinds.
    async fn unbind(&mut self) -> End {
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.in_flight.is_empty() {
            match tokio::time::timeout_at(deadline, self.reader.next()).await {
                Ok(Some(Ok(frame))) => {
                    if self.on_frame(frame).is_some() {
                        return End::Shutdown;
                    }
                }
                _ => return End::Shutdown,
            }
        }
        let seq = self.sequence();
        self.outbox
            .send(&Command::new(CommandStatus::EsmeRok, seq, Pdu::Unbind));
        let deadline = Instant::now() + Duration::from_secs(1);
        while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, self.reader.next()).await
        {
            if let Frame::Command(c) = &frame
                && c.id() == CommandId::UnbindResp
            {
                break;
            }
            if self.on_frame(frame).is_some() {
                break;
            }
        }
        End::Shutdown
    }
}
