//! One client connection: bind, submits into the pipeline, receipts out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use jiff::Timestamp;
use relais_core::plan::{PlanError, SendRequest};
use relais_engine::send::{SendError, SendOptions, SendOutcome};
use relais_store::{Account, AccountId, CampaignMeta};
use rusmpp::pdus::{
    BindReceiverResp, BindTransceiverResp, BindTransmitterResp, SubmitMulti, SubmitMultiResp,
    SubmitSm, SubmitSmResp,
};
use rusmpp::values::{DestAddress, Npi, Ton, UnsuccessSme};
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

use super::bind_guard::Verdict;
use super::submit::{self, Submit};
use super::{AuthError, Bind, Inner};
use super::{query, receipts};
use crate::concat::{Added, Expired, Reassembler};
use crate::pdu::{self, Address, Frame, ShortMessage, TextCoding, c_string, status};
use crate::wire::{self, BoxWrite, Outbox, Reader};

/// A submit waiting for the rest of its parts, or whole.
struct Pending {
    submit: Submit,
    coding: TextCoding,
    want_receipts: bool,
    /// Answered with `submit_multi_resp` (and its unsuccessful destinations).
    multi: bool,
    /// Destinations refused before planning (distribution lists).
    refused: Vec<(Address, u32)>,
}

impl Pending {
    /// Where a receipt telling of its refusal goes (from its first
    /// destination to its sender), if the client asked for receipts.
    fn refusal_receipt(&self) -> Option<(Address, Address)> {
        let recipient = self.submit.destinations.first()?;
        self.want_receipts
            .then(|| (recipient.clone(), self.submit.source.clone()))
    }
}

type PartKey = (String, String, u16, u8);

/// Who is told a whole submit's outcome.
enum Reply {
    /// Its PDU, answered with the outcome.
    Answer(u32),
    /// A concatenated submit, each part answered as it came with this
    /// message_id: only a refusal is told, as a receipt.
    Answered(String),
}

/// The message_id of a concatenated submit, answered before its campaign
/// exists: the campaign is tagged with it, for receipts and `query_sm`.
/// Not a number, so never taken for a campaign id.
fn concatenation_id() -> String {
    format!("c{:016x}", rand::random::<u64>())
}

struct Bound {
    bind: Arc<Bind>,
    submits: bool,
}

struct Session {
    inner: Arc<Inner>,
    outbox: Arc<Outbox>,
    peer: SocketAddr,
    bound: Option<Bound>,
    parts: Reassembler<PartKey, Pending>,
    /// The message_id each concatenated submit being reassembled was answered with.
    part_ids: HashMap<PartKey, String>,
    in_flight: Arc<Semaphore>,
    last_heard: Instant,
}

pub(super) async fn serve(
    inner: Arc<Inner>,
    mut reader: Reader,
    writer: BoxWrite,
    peer: SocketAddr,
) {
    let outbox = Arc::new(Outbox::default());
    let writer = wire::spawn_writer(writer, outbox.clone());
    let config = &inner.config;
    let mut session = Session {
        parts: Reassembler::new(
            Duration::from_millis(config.concat_timeout_ms),
            config.max_pending_concatenations,
        ),
        in_flight: Arc::new(Semaphore::new(config.max_submits_in_flight.max(1))),
        inner: inner.clone(),
        outbox: outbox.clone(),
        peer,
        bound: None,
        part_ids: HashMap::new(),
        last_heard: Instant::now(),
    };
    let mut shutdown = inner.shutdown.clone();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        let bind = session.bound.as_ref().map(|b| b.bind.clone());
        let unbind = async {
            match &bind {
                Some(bind) => bind.unbind.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            frame = reader.next() => match frame {
                Some(Ok(frame)) => {
                    session.last_heard = Instant::now();
                    if !session.on_frame(frame).await {
                        break;
                    }
                }
                _ => break,
            },
            _ = tick.tick() => {
                if !session.on_tick() {
                    break;
                }
            }
            _ = shutdown.changed() => {
                outbox.send(&Command::new(CommandStatus::EsmeRok, 0x7FFF_FFFF, Pdu::Unbind));
                break;
            }
            // The account was disabled or deleted (see `refresh`).
            _ = unbind => {
                tracing::info!(peer = %session.peer, "smpp: unbinding, the account is no longer enabled");
                outbox.send(&Command::new(CommandStatus::EsmeRok, 0x7FFF_FFFF, Pdu::Unbind));
                break;
            }
        }
    }
    session.close().await;
    if tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .is_err()
    {
        tracing::warn!(peer = %session.peer, "smpp: could not flush to a closing client");
    }
}

impl Session {
    /// Handles one PDU; false closes the connection.
    async fn on_frame(&mut self, frame: Frame) -> bool {
        let command = match frame {
            Frame::Command(command) => command,
            Frame::Garbage { .. } => {
                self.outbox
                    .send(&pdu::generic_nack(status::INVALID_COMMAND_LENGTH, 0));
                return false;
            }
            Frame::Invalid {
                command_id,
                command_status,
                sequence_number: seq,
                body,
                error,
            } => {
                tracing::debug!(peer = %self.peer, command_id, %error, "smpp: undecodable PDU");
                let answer = match command_id {
                    0x01 | 0x02 | 0x09 => {
                        pdu::error_response(command_id, submit::status_of_invalid_bind(&body), seq)
                    }
                    0x04 => pdu::error_response(
                        command_id,
                        submit::status_of_invalid_submit(&body),
                        seq,
                    ),
                    0x8000_0005 => {
                        if let Some(bound) = &self.bound {
                            bound.bind.answered(seq, command_status);
                        }
                        return true;
                    }
                    id if id & 0x8000_0000 != 0 => return true,
                    _ => pdu::generic_nack(status::INVALID_COMMAND_LENGTH, seq),
                };
                self.outbox.send(&answer);
                return true;
            }
        };
        let seq = command.sequence_number();
        let id = command.id();
        match command.pdu() {
            Some(Pdu::BindTransmitter(b)) => {
                self.bind(
                    id,
                    seq,
                    b.system_id.as_str(),
                    b.password.as_str(),
                    false,
                    true,
                )
                .await;
            }
            Some(Pdu::BindReceiver(b)) => {
                self.bind(
                    id,
                    seq,
                    b.system_id.as_str(),
                    b.password.as_str(),
                    true,
                    false,
                )
                .await;
            }
            Some(Pdu::BindTransceiver(b)) => {
                self.bind(
                    id,
                    seq,
                    b.system_id.as_str(),
                    b.password.as_str(),
                    true,
                    true,
                )
                .await;
            }
            Some(Pdu::SubmitSm(s)) => self.submit_sm(seq, s).await,
            Some(Pdu::SubmitMulti(m)) => self.submit_multi(seq, m).await,
            Some(pdu @ (Pdu::QuerySm(_) | Pdu::CancelSm(_) | Pdu::ReplaceSm(_))) => {
                self.after_submit(id, seq, pdu).await;
            }
            Some(Pdu::DeliverSmResp(_) | Pdu::GenericNack) | None
                if matches!(id, CommandId::DeliverSmResp | CommandId::GenericNack) =>
            {
                if let Some(bound) = &self.bound {
                    bound.bind.answered(seq, pdu::status_code(command.status()));
                }
            }
            Some(Pdu::EnquireLink) => {
                self.outbox.send(&Command::new(
                    CommandStatus::EsmeRok,
                    seq,
                    Pdu::EnquireLinkResp,
                ));
            }
            Some(Pdu::Unbind) => {
                self.finish_submits().await;
                self.outbox
                    .send(&Command::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp));
                return false;
            }
            Some(Pdu::UnbindResp) => return false,
            _ if id.is_operation() => {
                self.outbox
                    .send(&pdu::generic_nack(status::INVALID_COMMAND_ID, seq));
            }
            _ => {}
        }
        true
    }

    async fn bind(
        &mut self,
        id: CommandId,
        seq: u32,
        system_id: &str,
        password: &str,
        receives: bool,
        submits: bool,
    ) {
        let refuse = |status| pdu::error_response(u32::from(id), status, seq);
        if self.bound.is_some() {
            self.outbox.send(&refuse(status::ALREADY_BOUND));
            return;
        }
        if !self.throttle_bind(system_id).await {
            self.outbox.send(&refuse(status::BIND_FAILED));
            return;
        }
        let account = match self.inner.auth.authenticate(system_id, password).await {
            Ok(account) if !account.account.disabled => account,
            // Unknown system_id, wrong password and disabled account all
            // answer ESME_RBINDFAIL, so that a client cannot tell which
            // logins exist; the log says which it was (never the password).
            Ok(_) => {
                self.failed_bind(system_id, &AuthError::Disabled);
                self.outbox.send(&refuse(status::BIND_FAILED));
                return;
            }
            Err(
                e @ (AuthError::Disabled | AuthError::UnknownSystemId | AuthError::WrongPassword),
            ) => {
                self.failed_bind(system_id, &e);
                self.outbox.send(&refuse(status::BIND_FAILED));
                return;
            }
            Err(AuthError::Unavailable(e)) => {
                tracing::error!(error = %e, "smpp: authentication unavailable");
                self.outbox.send(&refuse(status::SYSTEM_ERROR));
                return;
            }
        };
        self.inner.bind_guard.succeeded(self.peer.ip(), system_id);
        let bind = Arc::new(Bind {
            account_id: account.account.id,
            account: Mutex::new(Arc::new(account.account.clone())),
            unbind: Notify::new(),
            receives,
            outbox: self.outbox.clone(),
            next_seq: AtomicU32::new(0),
            awaiting: Mutex::new(HashMap::new()),
            window: Arc::new(Semaphore::new(self.inner.config.receipt_window.max(1))),
        });
        if !self.inner.registry.add(&account, bind.clone()) {
            tracing::info!(
                account = account.account.id,
                "smpp: bind refused, max_binds reached"
            );
            self.outbox.send(&refuse(status::BIND_FAILED));
            return;
        }
        let Ok(our_id) = c_string(&self.inner.config.system_id) else {
            self.inner.registry.remove(&bind);
            self.outbox.send(&refuse(status::SYSTEM_ERROR));
            return;
        };
        let response: Pdu = match id {
            CommandId::BindTransmitter => BindTransmitterResp::new(our_id, None).into(),
            CommandId::BindReceiver => BindReceiverResp::new(our_id, None).into(),
            _ => BindTransceiverResp::new(our_id, None).into(),
        };
        self.outbox
            .send(&Command::new(CommandStatus::EsmeRok, seq, response));
        tracing::info!(peer = %self.peer, account = account.account.id, ?id, "smpp: bound");
        self.bound = Some(Bound { bind, submits });
        if receives {
            self.inner.receiver_bound.notify_one();
        }
    }

    /// Logs a refused bind (who tried, from where, and why) and counts it
    /// against the peer and the system_id.
    fn failed_bind(&self, system_id: &str, reason: &AuthError) {
        tracing::warn!(peer = %self.peer, system_id, %reason, "smpp: bind refused");
        self.inner
            .bind_guard
            .failed(self.peer.ip(), system_id, Instant::now());
    }

    /// Waits as long as the peer's and system_id's failed binds say; false
    /// when they are locked out (logged), or the server stops meanwhile.
    async fn throttle_bind(&self, system_id: &str) -> bool {
        let peer = self.peer;
        match self
            .inner
            .bind_guard
            .check(peer.ip(), system_id, Instant::now())
        {
            Verdict::Go => true,
            Verdict::Wait(delay) => {
                tracing::info!(%peer, system_id, ?delay, "smpp: bind slowed down after failures");
                let mut shutdown = self.inner.shutdown.clone();
                tokio::select! {
                    _ = tokio::time::sleep(delay) => true,
                    _ = shutdown.wait_for(|&stop| stop) => false,
                }
            }
            Verdict::LockedOut => {
                tracing::warn!(
                    %peer,
                    system_id,
                    "smpp: bind refused, locked out after repeated failures"
                );
                false
            }
        }
    }

    /// The bound account, if the bind may submit (transmitter or
    /// transceiver); answers ESME_RINVBNDSTS otherwise.
    fn transmitting(&self, id: CommandId, seq: u32) -> Option<AccountId> {
        match &self.bound {
            Some(b) if b.submits => Some(b.bind.account_id),
            _ => {
                self.outbox.send(&pdu::error_response(
                    u32::from(id),
                    status::INVALID_BIND_STATUS,
                    seq,
                ));
                None
            }
        }
    }

    /// Whether the bind may submit now; answers the refusal otherwise.
    fn may_submit(&self, id: CommandId, seq: u32) -> bool {
        let Some(account) = self.transmitting(id, seq) else {
            return false;
        };
        if self.inner.registry.allow_submit(account) {
            return true;
        }
        self.outbox
            .send(&pdu::error_response(u32::from(id), status::THROTTLED, seq));
        false
    }

    /// Answers `query_sm`, `cancel_sm` or `replace_sm`, in turn with the
    /// session's other commands (a store read or one cancel).
    async fn after_submit(&self, id: CommandId, seq: u32, request: &Pdu) {
        let Some(account) = self.transmitting(id, seq) else {
            return;
        };
        let store = self.inner.pipeline.store().as_ref();
        let answer = match request {
            Pdu::QuerySm(q) => query::query_sm(store, account, q.message_id.as_str(), seq).await,
            Pdu::CancelSm(c) => query::cancel_sm(store, account, c.message_id.as_str(), seq).await,
            Pdu::ReplaceSm(r) => query::replace_sm(account, r.message_id.as_str(), seq),
            _ => return,
        };
        self.outbox.send(&answer);
    }

    async fn submit_sm(&mut self, seq: u32, pdu: &SubmitSm) {
        if !self.may_submit(CommandId::SubmitSm, seq) {
            return;
        }
        let fields = ShortMessage::of_submit(pdu);
        let submit = Submit {
            source: fields.source.clone(),
            destinations: vec![fields.destination.clone()],
            text: String::new(),
            schedule_delivery_time: pdu.schedule_delivery_time.to_string(),
            validity_period: pdu.validity_period.to_string(),
        };
        let key_destination = fields.destination.addr.clone();
        self.take(
            seq,
            CommandId::SubmitSm,
            fields,
            pdu.tlvs(),
            submit,
            key_destination,
            Vec::new(),
        )
        .await;
    }

    async fn submit_multi(&mut self, seq: u32, pdu: &SubmitMulti) {
        if !self.may_submit(CommandId::SubmitMulti, seq) {
            return;
        }
        let mut destinations = Vec::new();
        let mut refused = Vec::new();
        for d in pdu.dest_address() {
            match d {
                DestAddress::SmeAddress(a) => destinations.push(Address::new(
                    u8::from(a.dest_addr_ton),
                    u8::from(a.dest_addr_npi),
                    a.destination_addr.as_str(),
                )),
                // Distribution lists live on SMSCs; relais has none.
                DestAddress::DistributionListName(l) => refused.push((
                    Address::new(0, 0, l.dl_name.as_str()),
                    status::INVALID_DESTINATION,
                )),
            }
        }
        if destinations.is_empty() {
            let code = if refused.is_empty() {
                status::INVALID_DEST_COUNT
            } else {
                status::INVALID_DESTINATION
            };
            self.outbox.send(&pdu::error_response(
                u32::from(CommandId::SubmitMulti),
                code,
                seq,
            ));
            return;
        }
        let fields = ShortMessage {
            service_type: String::new(),
            source: Address::new(
                u8::from(pdu.source_addr_ton),
                u8::from(pdu.source_addr_npi),
                pdu.source_addr.as_str(),
            ),
            destination: Address::default(),
            esm_class: u8::from(pdu.esm_class),
            registered_delivery: u8::from(pdu.registered_delivery),
            data_coding: u8::from(pdu.data_coding),
            short_message: pdu.short_message().to_vec(),
        };
        let key_destination = destinations
            .iter()
            .map(|d| d.addr.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let submit = Submit {
            source: fields.source.clone(),
            destinations,
            text: String::new(),
            schedule_delivery_time: pdu.schedule_delivery_time.to_string(),
            validity_period: pdu.validity_period.to_string(),
        };
        self.take(
            seq,
            CommandId::SubmitMulti,
            fields,
            pdu.tlvs(),
            submit,
            key_destination,
            refused,
        )
        .await;
    }

    /// Decodes a submit's text, buffers it if it is a part, and sends it
    /// when whole.
    #[allow(clippy::too_many_arguments)]
    async fn take(
        &mut self,
        seq: u32,
        id: CommandId,
        fields: ShortMessage,
        tlvs: &[rusmpp::tlvs::Tlv],
        submit: Submit,
        key_destination: String,
        refused: Vec<(Address, u32)>,
    ) {
        let refuse = |code| pdu::error_response(u32::from(id), code, seq);
        let Some(coding) = TextCoding::of(fields.data_coding) else {
            self.outbox.send(&refuse(status::INVALID_DATA_CODING));
            return;
        };
        let body = pdu::message_body(fields.short_message, tlvs);
        let Some((concat, payload)) = pdu::user_data(fields.esm_class, body, tlvs) else {
            self.outbox.send(&refuse(0x43)); // ESME_RINVESMCLASS
            return;
        };
        let pending = Pending {
            submit,
            coding,
            want_receipts: fields.registered_delivery & 0x03 != 0,
            multi: id == CommandId::SubmitMulti,
            refused,
        };
        match concat.filter(|c| c.is_valid() && c.total > 1) {
            None => self.send(Reply::Answer(seq), pending, payload).await,
            Some(c) => {
                let key = (fields.source.addr, key_destination, c.reference, c.total);
                let message_id = self
                    .part_ids
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(concatenation_id);
                let accepted = Answer::Accepted {
                    id: message_id.clone(),
                    multi: id == CommandId::SubmitMulti,
                    unsuccessful: Vec::new(),
                };
                match self
                    .parts
                    .add(key.clone(), c, &payload, pending, Instant::now())
                {
                    Added::Complete { meta, payload } => {
                        self.part_ids.remove(&key);
                        self.outbox.send(&accepted.command(seq));
                        self.send(Reply::Answered(message_id), meta, payload).await;
                    }
                    Added::Waiting => {
                        self.part_ids.insert(key, message_id);
                        self.outbox.send(&accepted.command(seq));
                    }
                    Added::Full => {
                        self.outbox.send(&refuse(status::QUEUE_FULL));
                    }
                }
            }
        }
    }

    /// Sends a whole submit through the pipeline (in a task of its own, so
    /// that the client's window is used) and tells the client the outcome.
    async fn send(&mut self, reply: Reply, pending: Pending, payload: Vec<u8>) {
        let Some(bound) = &self.bound else {
            return;
        };
        let permit = self
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let inner = self.inner.clone();
        let account = bound.bind.account();
        let outbox = self.outbox.clone();
        tokio::spawn(async move {
            let refusal = pending.refusal_receipt();
            let tag = match &reply {
                Reply::Answer(_) => None,
                Reply::Answered(message_id) => Some(message_id.clone()),
            };
            let answer = if pending.coding.is_well_formed(&payload) {
                let text = pending.coding.decode(&payload);
                submit_to_pipeline(&inner, &account, pending, text, tag).await
            } else {
                tracing::warn!(
                    account = account.id,
                    coding = ?pending.coding,
                    octets = payload.len(),
                    "smpp: submit refused, its octets are not text in its data_coding"
                );
                Answer::Refused {
                    multi: pending.multi,
                    status: status::INVALID_MESSAGE_LENGTH,
                }
            };
            if let Reply::Answer(seq) = &reply {
                outbox.send(&answer.command(*seq));
            }
            // Answered: a refusal receipt may wait for its acknowledgment,
            // which a closing session no longer reads.
            drop(permit);
            match (reply, answer) {
                (Reply::Answer(_), _) | (Reply::Answered(_), Answer::Accepted { .. }) => {}
                (Reply::Answered(message_id), Answer::Refused { status, .. }) => {
                    tracing::warn!(
                        account = account.id,
                        message_id,
                        status,
                        "smpp: a concatenated submit, its parts accepted, was refused once whole"
                    );
                    if let Some((recipient, sender)) = refusal {
                        receipts::refused(
                            &inner,
                            account.id,
                            &message_id,
                            recipient,
                            sender,
                            status,
                        )
                        .await;
                    }
                }
            }
        });
    }

    /// Waits until every submit in progress is answered.
    async fn finish_submits(&self) {
        let all = self.inner.config.max_submits_in_flight.max(1) as u32;
        let _ = self.in_flight.acquire_many(all).await;
    }

    fn on_tick(&mut self) -> bool {
        let now = Instant::now();
        for expired in self.parts.expire(now) {
            self.give_up(expired, "still incomplete after concat_timeout_ms");
        }
        let config = &self.inner.config;
        if now.duration_since(self.last_heard)
            >= Duration::from_millis(config.inactivity_timeout_ms)
        {
            tracing::info!(peer = %self.peer, "smpp: closing an idle connection");
            self.outbox.send(&Command::new(
                CommandStatus::EsmeRok,
                0x7FFF_FFFF,
                Pdu::Unbind,
            ));
            return false;
        }
        true
    }

    /// Refuses a concatenated submit whose parts were answered but which
    /// will not be whole: logged, and told with a REJECTD receipt (on any
    /// receiving bind of the account) if the client asked for receipts.
    fn give_up(&mut self, expired: Expired<PartKey, Pending>, why: &str) {
        let message_id = self.part_ids.remove(&expired.key).unwrap_or_default();
        tracing::warn!(
            peer = %self.peer,
            message_id,
            missing = expired.missing,
            "smpp: a concatenated submit refused, {why}"
        );
        if let (Some((recipient, sender)), Some(bound)) =
            (expired.meta.refusal_receipt(), &self.bound)
        {
            let (inner, account_id) = (self.inner.clone(), bound.bind.account_id);
            tokio::spawn(async move {
                receipts::refused(
                    &inner,
                    account_id,
                    &message_id,
                    recipient,
                    sender,
                    status::SUBMIT_FAILED,
                )
                .await;
            });
        }
    }

    async fn close(&mut self) {
        self.finish_submits().await;
        for unfinished in self.parts.drain() {
            self.give_up(unfinished, "the connection closed before its last part");
        }
        if let Some(bound) = self.bound.take() {
            self.inner.registry.remove(&bound.bind);
            // Receipts awaiting an answer from this bind are offered again.
            bound.bind.awaiting.lock().expect("awaiting").clear();
        }
        self.outbox.close();
    }
}

/// What to answer a submit's PDUs.
enum Answer {
    Accepted {
        id: String,
        multi: bool,
        unsuccessful: Vec<(Address, u32)>,
    },
    Refused {
        multi: bool,
        status: u32,
    },
}

impl Answer {
    fn command(&self, seq: u32) -> Command {
        match self {
            Answer::Refused { multi, status } => {
                let id = if *multi {
                    CommandId::SubmitMulti
                } else {
                    CommandId::SubmitSm
                };
                pdu::error_response(u32::from(id), *status, seq)
            }
            Answer::Accepted {
                id, multi: false, ..
            } => Command::new(
                CommandStatus::EsmeRok,
                seq,
                SubmitSmResp::new(c_string(id).expect("a decimal id"), Vec::new()),
            ),
            Answer::Accepted {
                id,
                multi: true,
                unsuccessful,
            } => {
                let mut resp = SubmitMultiResp::builder()
                    .message_id(c_string(id).expect("a decimal id"))
                    .build();
                for (address, code) in unsuccessful {
                    if let Ok(addr) = c_string(&address.addr) {
                        resp.push_unsuccess_sme(UnsuccessSme::new(
                            Ton::from(address.ton),
                            Npi::from(address.npi),
                            addr,
                            CommandStatus::from(*code),
                        ));
                    }
                }
                Command::new(CommandStatus::EsmeRok, seq, resp)
            }
        }
    }
}

/// Sends one whole submit; `tag` labels its campaign (see [`concatenation_id`]).
async fn submit_to_pipeline(
    inner: &Inner,
    account: &Account,
    pending: Pending,
    text: String,
    tag: Option<String>,
) -> Answer {
    let multi = pending.multi;
    let refused = |status| Answer::Refused { multi, status };
    let template = SendRequest {
        kind: inner.config.kind,
        route_class: inner.config.route_class,
        ..SendRequest::default()
    };
    let submit = Submit {
        text,
        ..pending.submit
    };
    let request = match submit.request(Timestamp::now(), &template) {
        Ok(request) => request,
        Err(status) => return refused(status),
    };
    let options = SendOptions {
        simulate: false,
        meta: CampaignMeta {
            source: "smpp".into(),
            callback_url: pending.want_receipts.then(|| "smpp:".into()),
            callback_events: None,
            // Replies come back over the binds as MO deliver_sm, whatever registered_delivery.
            reply_url: Some("smpp:".into()),
            tag,
            ..CampaignMeta::default()
        },
        ..SendOptions::default()
    };
    match inner.pipeline.send(account, &request, options).await {
        Ok(SendOutcome::Planned {
            campaign_id: Some(id),
            plan,
        }) => {
            let mut unsuccessful = pending.refused;
            unsuccessful.extend(plan.rejections.iter().filter_map(|r| {
                let address = submit.destinations.get(r.recipient as usize)?;
                Some((address.clone(), submit::status_of_rejection(&r.reason)))
            }));
            Answer::Accepted {
                id: id.to_string(),
                multi,
                unsuccessful,
            }
        }
        Ok(SendOutcome::Replayed(answer)) => Answer::Accepted {
            id: answer.campaign_id.to_string(),
            multi,
            unsuccessful: Vec::new(),
        },
        Ok(SendOutcome::Planned {
            campaign_id: None, ..
        }) => refused(status::SYSTEM_ERROR),
        // Every destination left out (nothing stored): the status of the
        // first, those this door refused itself coming first.
        Err(SendError::Plan(PlanError::NoValidRecipient { .. })) if !pending.refused.is_empty() => {
            refused(pending.refused[0].1)
        }
        Err(e) => {
            let status = submit::status_of_error(&e);
            match e {
                _ if status == status::SYSTEM_ERROR => {
                    tracing::error!(error = %e, "smpp: submit failed")
                }
                // The client only sees ESME_RSUBMITFAIL.
                SendError::AccountDisabled => tracing::warn!(
                    account = account.id,
                    "smpp: submit refused, the account is disabled"
                ),
                _ => {}
            }
            refused(status)
        }
    }
}
