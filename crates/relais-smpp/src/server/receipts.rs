//! Delivery receipts and replies to SMPP clients: claims the outbox entries
//! of bound accounts from the [`ReceiptQueue`](super::ReceiptQueue), sends
//! each final status as a receipt `deliver_sm` and each reply as an MO
//! `deliver_sm` (esm_class 0) on a receiver or transceiver bind of the
//! account, and marks the entry done once the client acknowledged it (else
//! retried later).
//!
//! A pipeline, like the webhook worker (`relais_engine::webhooks`): a batch's
//! PDUs are built from one read of its facts, each entry is sent by a task of
//! its own, the next batch is claimed as soon as fewer than a batch are in
//! flight (not when the slowest client of the last one has answered), and
//! results are recorded by a task of their own, many per transaction. An
//! entry is marked done only once its client acknowledged it, so a crash
//! re-sends (after the lease) at most what was in flight: every receipt
//! arrives at least once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use relais_engine::webhooks::{ResultLog, record_results};
use relais_store::clock;
use relais_store::{
    AccountId, Campaign, EventKind, MessageStatus, Millis, StoreResult, Webhook, WebhookFacts,
    WebhookResult,
};
use rusmpp::pdus::DeliverSm;
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::values::MessageState;
use rusmpp::{Command, CommandStatus};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};

use super::Inner;
use crate::pdu::{Address, ShortMessage, c_string, status};
use crate::receipt::{ReceiptText, receipt_date, stat_of_status};

/// `message_state` REJECTED.
const REJECTED: u8 = 8;

/// Attempts before a receipt is given up.
const MAX_ATTEMPTS: u32 = 20;

/// The entry results of one delivery task, or of a claim's entries that
/// needed no request.
type Results = Vec<(i64, WebhookResult)>;

pub(super) async fn run(inner: Arc<Inner>) {
    let poll = Duration::from_millis(inner.config.receipt_poll_ms);
    let batch = inner.config.receipt_batch.max(1);
    let mut shutdown = inner.shutdown.clone();
    let (results, recorded) = mpsc::unbounded_channel::<Results>();
    let recorder = tokio::spawn(record_results(inner.clone(), recorded, "smpp receipts"));
    let mut in_flight: JoinSet<(i64, WebhookResult)> = JoinSet::new();
    // After a claim that found fewer than it asked for (or no receiving
    // bind), the next one waits for the poll interval or a new receiver.
    let mut next_claim = Instant::now();
    // The server dropped without saying stop: stop all the same.
    let mut closed = false;
    loop {
        if closed || *shutdown.borrow() {
            break;
        }
        if in_flight.len() < batch as usize && Instant::now() >= next_claim {
            let claimed = claim(&inner, batch).await;
            if claimed.count < batch as usize {
                next_claim = Instant::now() + poll;
            }
            if !claimed.settled.is_empty() {
                let _ = results.send(claimed.settled);
            }
            for (w, parts) in claimed.deliveries {
                let inner = inner.clone();
                in_flight.spawn(async move {
                    let result = match send(&inner, w.account_id, parts).await {
                        Ok(()) => WebhookResult::Delivered,
                        Err(error) => retry(&inner, &w, error),
                    };
                    (w.id, result)
                });
            }
            continue;
        }
        tokio::select! {
            Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                let mut done = vec![joined.expect("receipt task")];
                while let Some(more) = in_flight.try_join_next() {
                    done.push(more.expect("receipt task"));
                }
                let _ = results.send(done);
            }
            _ = tokio::time::sleep_until(next_claim), if in_flight.len() < batch as usize => {}
            _ = inner.receiver_bound.notified() => next_claim = Instant::now(),
            changed = shutdown.changed() => closed = changed.is_err(),
        }
    }
    // Binds close at shutdown, which answers the receipts awaiting them:
    // their results are recorded before the server is gone.
    while let Some(joined) = in_flight.join_next().await {
        let _ = results.send(vec![joined.expect("receipt task")]);
    }
    drop(results);
    let _ = recorder.await;
}

#[async_trait]
impl ResultLog for Inner {
    async fn finish(&self, results: &[(i64, WebhookResult)], now: Millis) -> StoreResult<()> {
        self.receipts.finish(results, now).await
    }
}

/// What a claim gave: PDUs to send per entry, and results known without
/// sending.
#[derive(Default)]
struct Claimed {
    count: usize,
    deliveries: Vec<(Webhook, Vec<DeliverSm>)>,
    settled: Results,
}

/// Claims up to `limit` entries of the accounts with a receiving bind and
/// builds their PDUs from one read of their facts.
async fn claim(inner: &Inner, limit: u32) -> Claimed {
    let accounts = inner.registry.receiving_accounts();
    if accounts.is_empty() {
        return Claimed::default();
    }
    let now = clock::now_ms();
    // The lease outlasts a delivery attempt.
    let lease_until = now + inner.config.receipt_timeout_ms as i64 + 30_000;
    let claimed = match inner
        .receipts
        .claim(&accounts, now, limit, lease_until)
        .await
    {
        Ok(claimed) if claimed.is_empty() => return Claimed::default(),
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(error = %e, "smpp: claiming receipts failed");
            return Claimed::default();
        }
    };
    let mut out = Claimed {
        count: claimed.len(),
        ..Claimed::default()
    };
    // What the batch's PDUs are built from, read once for all of them.
    let facts = match inner.pipeline.store().webhook_facts(&claimed).await {
        Ok(facts) => facts,
        Err(e) => {
            out.settled = claimed
                .iter()
                .map(|w| (w.id, retry(inner, w, format!("store: {e}"))))
                .collect();
            return out;
        }
    };
    for w in claimed {
        match pdus(&w, &facts) {
            Ok(parts) => out.deliveries.push((w, parts)),
            Err(outcome) => out.settled.push((w.id, outcome)),
        }
    }
    out
}

/// The PDUs of one outbox entry (a final status as a receipt, a reply as an
/// MO), or its outcome when there is nothing to send.
fn pdus(w: &Webhook, facts: &WebhookFacts) -> Result<Vec<DeliverSm>, WebhookResult> {
    match w.kind {
        EventKind::Status => receipt(w, facts),
        EventKind::Inbound | EventKind::Stop => reply(w, facts),
    }
}

/// Offered again later, or given up after [`MAX_ATTEMPTS`].
fn retry(inner: &Inner, w: &Webhook, error: String) -> WebhookResult {
    if w.attempts + 1 >= MAX_ATTEMPTS {
        WebhookResult::GaveUp { error }
    } else {
        WebhookResult::Retry {
            retry_at: clock::now_ms() + inner.config.receipt_retry_ms as i64,
            error,
        }
    }
}

/// A record of the batch's facts, or the entry's outcome when it is gone.
fn found<'a, K: std::hash::Hash + Eq, T>(
    records: &'a HashMap<K, T>,
    key: K,
    what: &str,
) -> Result<&'a T, WebhookResult> {
    records.get(&key).ok_or_else(|| WebhookResult::GaveUp {
        error: format!("{what} not found"),
    })
}

/// The receipt of a status event; nothing to send (`Err(Delivered)`) unless
/// the status is final.
fn receipt(w: &Webhook, facts: &WebhookFacts) -> Result<Vec<DeliverSm>, WebhookResult> {
    let (Some(message_id), Some(message_status)) = (w.message_id, w.status) else {
        return Err(WebhookResult::Delivered);
    };
    if !message_status.is_final() {
        return Err(WebhookResult::Delivered);
    }
    let message = found(&facts.messages, message_id, "message")?;
    let campaign = found(&facts.campaigns, message.campaign_id, "campaign")?;
    if message.account_id != w.account_id {
        return Err(WebhookResult::GaveUp {
            error: "message not found".into(),
        });
    }
    let id = message_id_of(campaign);
    let (stat, state) = stat_of_status(message_status);
    let delivered = message_status == MessageStatus::Delivered;
    let text = ReceiptText {
        id: id.clone(),
        sub: 1,
        dlvrd: u32::from(delivered),
        submit_date: receipt_date(campaign.created_at),
        done_date: receipt_date(w.at),
        stat: stat.into(),
        err: if delivered { "000" } else { "001" }.into(),
        // The text's start, in ASCII: receipts are read as such.
        text: message
            .text
            .chars()
            .take(20)
            .map(|c| if c.is_ascii() { c } else { '?' })
            .collect(),
    };
    let recipient = Address::new(1, 1, message.number.digits().to_string());
    let sender = campaign
        .sender
        .as_deref()
        .map_or_else(Address::default, sender_address);
    match receipt_pdu(&text, state, recipient, sender) {
        Ok(pdu) => Ok(vec![pdu]),
        Err(error) => Err(WebhookResult::GaveUp { error }),
    }
}

/// The message_id the client was answered for a campaign: its id, or the
/// tag a concatenated submit's campaign got (see `session::concatenation_id`).
fn message_id_of(campaign: &Campaign) -> String {
    match &campaign.tag {
        Some(tag) if campaign.source == "smpp" => tag.clone(),
        _ => campaign.id.to_string(),
    }
}

/// A receipt `deliver_sm`, from the recipient to the sender.
fn receipt_pdu(
    text: &ReceiptText,
    state: u8,
    recipient: Address,
    sender: Address,
) -> Result<DeliverSm, String> {
    let fields = ShortMessage {
        source: recipient,
        destination: sender,
        esm_class: crate::pdu::ESM_RECEIPT,
        short_message: text.format().into_bytes(),
        ..ShortMessage::default()
    };
    let tlvs = vec![
        MessageDeliveryRequestTlvValue::ReceiptedMessageId(c_string(&text.id)?),
        MessageDeliveryRequestTlvValue::MessageState(MessageState::from(state)),
    ];
    fields.deliver_sm(tlvs)
}

/// Tells the client, with a REJECTD receipt, that a submit it was answered
/// ESME_ROK for (a concatenated one, whose parts are answered as they
/// come) was refused once whole or never completed: `err` is the SMPP
/// status it would have been answered, in three hex digits (`045`:
/// ESME_RSUBMITFAIL, `400`: blacklisted…). Sent on a receiving bind of the
/// account, once; logged at `warn` when it cannot be.
pub(super) async fn refused(
    inner: &Inner,
    account_id: AccountId,
    message_id: &str,
    recipient: Address,
    sender: Address,
    status: u32,
) {
    let now = receipt_date(clock::now_ms());
    let text = ReceiptText {
        id: message_id.to_owned(),
        sub: 1,
        dlvrd: 0,
        submit_date: now.clone(),
        done_date: now,
        stat: "REJECTD".into(),
        err: format!("{:03X}", status & 0xFFF),
        text: String::new(),
    };
    let sent = match receipt_pdu(&text, REJECTED, recipient, sender) {
        Ok(pdu) => send(inner, account_id, vec![pdu]).await,
        Err(error) => Err(error),
    };
    if let Err(error) = sent {
        tracing::warn!(
            account = account_id,
            message_id,
            error,
            "smpp: the receipt of a refused submit was not delivered"
        );
    }
}

/// A reply (STOP ones included) as a mobile-originated `deliver_sm`, in
/// parts with a concatenation UDH when longer than one SMS.
fn reply(w: &Webhook, facts: &WebhookFacts) -> Result<Vec<DeliverSm>, WebhookResult> {
    let Some(inbound_id) = w.inbound_id else {
        return Err(WebhookResult::GaveUp {
            error: "a reply without its inbound id".into(),
        });
    };
    let inbound = found(&facts.inbound, inbound_id, "reply")?;
    if inbound.account_id != w.account_id {
        return Err(WebhookResult::GaveUp {
            error: "reply not found".into(),
        });
    }
    let fields = ShortMessage {
        source: Address::new(1, 1, inbound.from.digits().to_string()),
        destination: sender_address(&inbound.to),
        ..ShortMessage::default()
    };
    // The id's low byte tells consecutive long replies apart.
    fields
        .with_text(&inbound.text, inbound.id as u8)
        .and_then(|parts| parts.iter().map(|p| p.deliver_sm(Vec::new())).collect())
        .map_err(|error| WebhookResult::GaveUp { error })
}

/// A sender (or the number a reply was sent to) as an address: digits,
/// with or without their plus, as an international number; anything else
/// as alphanumeric.
fn sender_address(sender: &str) -> Address {
    let digits = sender.trim_start_matches('+');
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        Address::new(1, 1, digits)
    } else {
        Address::new(5, 0, sender)
    }
}

/// Sends `parts` in order on a receiving bind of the account, each once the
/// one before is acknowledged. The whole takes at most `receipt_timeout_ms`,
/// which the claim's lease outlasts.
async fn send(inner: &Inner, account_id: AccountId, parts: Vec<DeliverSm>) -> Result<(), String> {
    let Some(bind) = inner.registry.receiver(account_id) else {
        return Err("no receiver bound".into());
    };
    let deadline = Instant::now() + Duration::from_millis(inner.config.receipt_timeout_ms);
    for pdu in parts {
        let Ok(Ok(_permit)) = timeout_at(deadline, bind.window.clone().acquire_owned()).await
        else {
            return Err("the client's receipt window stayed full".into());
        };
        let seq = bind.sequence();
        let (tx, rx) = oneshot::channel();
        bind.awaiting.lock().expect("awaiting").insert(seq, tx);
        if !bind
            .outbox
            .send(&Command::new(CommandStatus::EsmeRok, seq, pdu))
        {
            bind.awaiting.lock().expect("awaiting").remove(&seq);
            return Err("the bind closed".into());
        }
        match timeout_at(deadline, rx).await {
            Ok(Ok(status::OK)) => {}
            Ok(Ok(code)) => return Err(format!("the client answered status 0x{code:08X}")),
            Ok(Err(_)) => return Err("the bind closed".into()),
            Err(_) => {
                bind.awaiting.lock().expect("awaiting").remove(&seq);
                return Err("no deliver_sm_resp in time".into());
            }
        }
    }
    Ok(())
}
