//! What the SMSC delivers: receipts and replies (MO), stored through the
//! [`EventSink`] and only then acknowledged with `deliver_sm_resp`, so that a
//! receipt the store did not take is offered again by the SMSC.
//!
//! One worker per connector takes the `deliver_sm` of all its binds, in
//! batches: receipts are matched to submit ids (see [`super::ids`]) and
//! stored in one call per batch. A receipt whose id matches nothing while
//! submits are awaiting their response is held for up to `receipt_hold_ms`:
//! SMSCs may send a receipt before the `submit_sm_resp` of its message, and
//! when they also write the id differently, only the response makes the
//! match possible. Replies cut in parts are reassembled first (UDH or SAR);
//! each part is acknowledged as it comes (an SMSC may wait for that before
//! sending the next), the last one once the whole reply is stored.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use relais_core::number::{self, Country, E164, NumberPolicy};
use relais_store::clock;
use relais_store::{CarrierReport, MessageStatus, NewInbound};
use rusmpp::pdus::{DeliverSm, DeliverSmResp};
use rusmpp::{Command, CommandId, CommandStatus};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use relais_connectors::sink::EventSink;

use super::Shared;
use crate::concat::{Added, Reassembler};
use crate::pdu::{self, Address, Concat, TextCoding, status};
use crate::receipt::{self, ReceiptText};
use crate::wire::Outbox;

/// Acknowledges one `deliver_sm` on the bind it came from.
pub(super) struct Ack {
    pub outbox: Arc<Outbox>,
    pub sequence_number: u32,
}

impl Ack {
    pub fn send(self, code: u32) {
        let command = if code == status::OK {
            Command::new(
                CommandStatus::EsmeRok,
                self.sequence_number,
                DeliverSmResp::new(Default::default(), Vec::new()),
            )
        } else {
            pdu::error_response(u32::from(CommandId::DeliverSm), code, self.sequence_number)
        };
        // A closed bind: the SMSC offers the PDU again on another one.
        self.outbox.send(&command);
    }
}

/// A `deliver_sm`, read.
pub(super) enum Event {
    Receipt {
        id: String,
        /// `None` for intermediate states (ENROUTE, ACCEPTD…).
        status: Option<MessageStatus>,
        error: Option<String>,
    },
    Reply {
        from: Address,
        to: Address,
        coding: TextCoding,
        concat: Option<Concat>,
        payload: Vec<u8>,
    },
    /// Neither a readable receipt nor a text (binary data, no id).
    Unusable(&'static str),
}

pub(super) struct Incoming {
    pub event: Event,
    pub ack: Ack,
}

impl Incoming {
    pub fn new(deliver: &DeliverSm, ack: Ack) -> Incoming {
        Incoming {
            event: read(deliver),
            ack,
        }
    }
}

fn read(deliver: &DeliverSm) -> Event {
    let fields = pdu::ShortMessage::of_deliver(deliver);
    let tlvs = deliver.tlvs();
    let body = pdu::message_body(fields.short_message, tlvs);
    let kind = fields.esm_class & pdu::ESM_TYPE_MASK;
    if kind != 0 {
        // Receipts are ASCII whatever their data_coding says.
        let text: String = body.iter().map(|&b| char::from(b)).collect();
        let parsed = ReceiptText::parse(&text);
        let Some(id) = pdu::receipted_message_id(tlvs)
            .filter(|id| !id.is_empty())
            .or_else(|| parsed.as_ref().map(|r| r.id.clone()))
        else {
            return Event::Unusable("a receipt without message id");
        };
        let stat = parsed.as_ref().map(|r| r.stat.as_str()).unwrap_or("");
        let status = pdu::message_state(tlvs)
            .and_then(receipt::status_of_state)
            .or_else(|| receipt::status_of_stat(stat));
        let error = match (&status, &parsed) {
            (Some(MessageStatus::Delivered) | None, _) => None,
            (_, Some(r)) => Some(format!("stat {} err {}", r.stat, r.err)),
            (_, None) => Some("no receipt text".into()),
        };
        return Event::Receipt { id, status, error };
    }
    let Some(coding) = TextCoding::of(fields.data_coding) else {
        return Event::Unusable("a reply in a binary data_coding");
    };
    let Some((concat, payload)) = pdu::user_data(fields.esm_class, body, tlvs) else {
        return Event::Unusable("a malformed user data header");
    };
    Event::Reply {
        from: fields.source,
        to: fields.destination,
        coding,
        concat: concat.filter(Concat::is_valid),
        payload,
    }
}

/// A receipt waiting for its submit id to be known.
struct Held {
    since: Instant,
    id: String,
    status: MessageStatus,
    error: Option<String>,
    ack: Ack,
}

type PartKey = (String, String, u16, u8);
type PartMeta = (TextCoding, Address, Address);

pub(super) async fn run(
    shared: Arc<Shared>,
    sink: Arc<dyn EventSink>,
    mut rx: mpsc::UnboundedReceiver<Incoming>,
) {
    let config = &shared.config;
    let hold = Duration::from_millis(config.receipt_hold_ms);
    let mut shutdown = shared.shutdown.clone();
    let mut held: Vec<Held> = Vec::new();
    let mut parts: Reassembler<PartKey, PartMeta> =
        Reassembler::new(Duration::from_millis(config.concat_timeout_ms), 10_000);
    let mut batch = Vec::new();
    loop {
        let waiting = !held.is_empty() || !parts.is_empty();
        tokio::select! {
            got = rx.recv() => match got {
                Some(incoming) => {
                    batch.push(incoming);
                    while batch.len() < 2000 {
                        match rx.try_recv() {
                            Ok(incoming) => batch.push(incoming),
                            Err(_) => break,
                        }
                    }
                }
                None => return,
            },
            _ = tokio::time::sleep(Duration::from_millis(20)), if waiting => {}
            _ = shutdown.changed() => return,
        }
        let now = Instant::now();
        let now_ms = clock::now_ms();
        let mut reports: Vec<CarrierReport> = Vec::new();
        let mut acks: Vec<Ack> = Vec::new();
        let in_flight = shared.awaiting_responses.load(Ordering::Acquire) > 0;
        let mut fresh: Vec<Held> = Vec::new();
        let mut replies: Vec<(TextCoding, Address, Address, Vec<u8>, Ack)> = Vec::new();
        for incoming in batch.drain(..) {
            match incoming.event {
                Event::Receipt {
                    id,
                    status: Some(status),
                    error,
                } => fresh.push(Held {
                    since: now,
                    id,
                    status,
                    error,
                    ack: incoming.ack,
                }),
                Event::Receipt { status: None, .. } => incoming.ack.send(status::OK),
                Event::Unusable(what) => {
                    tracing::warn!(connector = %config.name, "{what}: refused");
                    incoming.ack.send(status::PERMANENT_APP_ERROR);
                }
                Event::Reply {
                    from,
                    to,
                    coding,
                    concat: None,
                    payload,
                } => replies.push((coding, from, to, payload, incoming.ack)),
                Event::Reply {
                    from,
                    to,
                    coding,
                    concat: Some(c),
                    payload,
                } => {
                    let key = (from.addr.clone(), to.addr.clone(), c.reference, c.total);
                    match parts.add(key, c, &payload, (coding, from.clone(), to.clone()), now) {
                        Added::Complete {
                            meta: (coding, from, to),
                            payload,
                        } => replies.push((coding, from, to, payload, incoming.ack)),
                        Added::Waiting => incoming.ack.send(status::OK),
                        // Too many replies half-received: keep this part on its own.
                        Added::Full => replies.push((coding, from, to, payload, incoming.ack)),
                    }
                }
            }
        }
        let mut still_held = Vec::new();
        for h in held.drain(..).chain(fresh) {
            let canonical = shared.index.lock().expect("id index").find(&h.id);
            match canonical {
                Some(id) => {
                    reports.push(report(config.name.clone(), id.to_string(), &h, now_ms));
                    acks.push(h.ack);
                }
                None if in_flight && now.duration_since(h.since) < hold => still_held.push(h),
                None => {
                    reports.push(report(config.name.clone(), h.id.clone(), &h, now_ms));
                    acks.push(h.ack);
                }
            }
        }
        held = still_held;
        if !reports.is_empty() {
            if !until_stored(&mut shutdown, sink.reports(&reports)).await {
                return;
            }
            for ack in acks {
                ack.send(status::OK);
            }
        }
        for (coding, from, to, payload, ack) in replies {
            let text = coding.decode(&payload);
            if !store_reply(&shared, &sink, &mut shutdown, &from, &to, text, now_ms).await {
                return;
            }
            ack.send(status::OK);
        }
        for expired in parts.expire(now) {
            let (coding, from, to) = expired.meta;
            tracing::warn!(connector = %config.name, missing = expired.missing, "incomplete reply stored as received");
            let text = coding.decode(&expired.payload);
            if !store_reply(&shared, &sink, &mut shutdown, &from, &to, text, now_ms).await {
                return;
            }
        }
    }
}

fn report(connector: String, carrier_id: String, h: &Held, at: i64) -> CarrierReport {
    CarrierReport {
        connector,
        carrier_id,
        status: h.status,
        error: h.error.clone(),
        at,
    }
}

/// The number a reply comes from: international when the SMSC says so,
/// else read in the connector's default region.
fn sender_number(from: &Address, region: Country) -> Option<E164> {
    let digits = from.addr.trim();
    let input = if from.ton == 1 && !digits.starts_with('+') {
        format!("+{digits}")
    } else {
        digits.to_owned()
    };
    number::normalize(&input, region, NumberPolicy::default())
        .ok()
        .map(|n| n.e164)
}

async fn store_reply(
    shared: &Shared,
    sink: &Arc<dyn EventSink>,
    shutdown: &mut watch::Receiver<bool>,
    from: &Address,
    to: &Address,
    text: String,
    at: i64,
) -> bool {
    let config = &shared.config;
    let Some(from) = sender_number(from, config.default_region) else {
        tracing::warn!(connector = %config.name, from = %from.addr, "reply from an unreadable number; dropped");
        return true;
    };
    let inbound = NewInbound {
        from,
        to: to.addr.clone(),
        text,
        connector: config.name.clone(),
        at,
    };
    until_stored(shutdown, sink.inbound(inbound, None)).await
}

/// Waits for the sink to store (true), or for the connector to stop
/// (false: then nothing is acknowledged, and the SMSC offers it again).
async fn until_stored<T>(
    shutdown: &mut watch::Receiver<bool>,
    stored: impl std::future::Future<Output = T>,
) -> bool {
    tokio::select! {
        _ = stored => true,
        _ = shutdown.changed() => false,
    }
}
