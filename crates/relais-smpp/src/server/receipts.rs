//! Delivery receipts and replies to SMPP clients: claims the outbox entries
//! of bound accounts from the [`ReceiptQueue`](super::ReceiptQueue), sends
//! each final status as a receipt `deliver_sm` and each reply as an MO
//! `deliver_sm` (esm_class 0) on a receiver or transceiver bind of the
//! account, and marks the entry done once the client acknowledged it (else
//! retried later).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use relais_engine::clock;
use std::collections::HashMap;

use relais_store::{
    AccountId, Campaign, EventKind, MessageStatus, Webhook, WebhookFacts, WebhookResult,
};
use rusmpp::pdus::DeliverSm;
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::values::MessageState;
use rusmpp::{Command, CommandStatus};
use tokio::sync::oneshot;
use tokio::time::{Instant, timeout_at};

use super::Inner;
use crate::pdu::{Address, ShortMessage, c_string, status};
use crate::receipt::{ReceiptText, receipt_date, stat_of_status};

/// `message_state` REJECTED.
const REJECTED: u8 = 8;

/// Attempts before a receipt is given up.
const MAX_ATTEMPTS: u32 = 20;

pub(super) async fn run(inner: Arc<Inner>) {
    let config = &inner.config;
    let poll = Duration::from_millis(config.receipt_poll_ms);
    let mut shutdown = inner.shutdown.clone();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let mut busy = false;
        let accounts = inner.registry.receiving_accounts();
        if !accounts.is_empty() {
            let now = clock::now_ms();
            // The lease outlasts a delivery attempt.
            let lease_until = now + config.receipt_timeout_ms as i64 + 30_000;
            match inner
                .receipts
                .claim(&accounts, now, config.receipt_batch, lease_until)
                .await
            {
                Ok(claimed) => {
                    busy = !claimed.is_empty();
                    // What the batch's PDUs are built from, read once for all of them.
                    let facts = if claimed.is_empty() {
                        Ok(WebhookFacts::default())
                    } else {
                        inner.pipeline.store().webhook_facts(&claimed).await
                    };
                    let results: Vec<(i64, WebhookResult)> = match &facts {
                        Ok(facts) => {
                            let sent = join_all(claimed.iter().map(|w| deliver(&inner, w, facts)));
                            claimed.iter().map(|w| w.id).zip(sent.await).collect()
                        }
                        Err(e) => claimed
                            .iter()
                            .map(|w| (w.id, retry(&inner, w, format!("store: {e}"))))
                            .collect(),
                    };
                    if let Err(e) = inner.receipts.finish(&results, clock::now_ms()).await {
                        tracing::warn!(error = %e, "smpp: recording receipts' delivery failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "smpp: claiming receipts failed"),
            }
        }
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = inner.receiver_bound.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Sends one outbox entry (a final status as a receipt, a reply as an MO)
/// and answers what became of it.
async fn deliver(inner: &Inner, w: &Webhook, facts: &WebhookFacts) -> WebhookResult {
    let parts = match w.kind {
        EventKind::Status => receipt(w, facts),
        EventKind::Inbound | EventKind::Stop => reply(w, facts),
    };
    match parts {
        Ok(parts) => match send(inner, w.account_id, parts).await {
            Ok(()) => WebhookResult::Delivered,
            Err(error) => retry(inner, w, error),
        },
        Err(outcome) => outcome,
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
