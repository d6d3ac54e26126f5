//! Delivery receipts to SMPP clients: claims the status events of bound
//! accounts from the [`ReceiptQueue`](super::ReceiptQueue), sends each final
//! one as a `deliver_sm` on a receiver or transceiver bind of the account,
//! and marks it done once the client acknowledged it (else retried later).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use relais_engine::clock;
use relais_store::{MessageStatus, Webhook, WebhookResult};
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::values::MessageState;
use rusmpp::{Command, CommandStatus};
use tokio::sync::oneshot;

use super::Inner;
use crate::pdu::{Address, ShortMessage, c_string, status};
use crate::receipt::{ReceiptText, receipt_date, stat_of_status};

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
                    let results = join_all(claimed.iter().map(|w| deliver(&inner, w))).await;
                    let now = clock::now_ms();
                    for (w, result) in claimed.iter().zip(results) {
                        if let Err(e) = inner.receipts.finish(w.id, result, now).await {
                            tracing::warn!(error = %e, "smpp: recording a receipt's delivery failed");
                        }
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

/// Sends one status event as a receipt; answers what became of it.
async fn deliver(inner: &Inner, w: &Webhook) -> WebhookResult {
    let now = clock::now_ms();
    let retry = |error: String| {
        if w.attempts + 1 >= MAX_ATTEMPTS {
            WebhookResult::GaveUp { error }
        } else {
            WebhookResult::Retry {
                retry_at: now + inner.config.receipt_retry_ms as i64,
                error,
            }
        }
    };
    // Only final statuses make a receipt; the rest needs no delivery.
    let (Some(message_id), Some(message_status)) = (w.message_id, w.status) else {
        return WebhookResult::Delivered;
    };
    if !message_status.is_final() {
        return WebhookResult::Delivered;
    }
    let store = inner.pipeline.store();
    let message = match store.message(w.account_id, message_id).await {
        Ok(Some((message, _))) => message,
        Ok(None) => {
            return WebhookResult::GaveUp {
                error: "message not found".into(),
            };
        }
        Err(e) => return retry(e.to_string()),
    };
    let campaign = match store.campaign(w.account_id, message.campaign_id).await {
        Ok(Some(campaign)) => campaign,
        Ok(None) => {
            return WebhookResult::GaveUp {
                error: "campaign not found".into(),
            };
        }
        Err(e) => return retry(e.to_string()),
    };
    let id = message.campaign_id.to_string();
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
    let destination = match campaign.sender.as_deref() {
        None => Address::default(),
        Some(s)
            if s.trim_start_matches('+')
                .bytes()
                .all(|b| b.is_ascii_digit()) =>
        {
            Address::new(1, 1, s.trim_start_matches('+'))
        }
        Some(s) => Address::new(5, 0, s),
    };
    let fields = ShortMessage {
        source: Address::new(1, 1, message.number.digits().to_string()),
        destination,
        esm_class: crate::pdu::ESM_RECEIPT,
        short_message: text.format().into_bytes(),
        ..ShortMessage::default()
    };
    let tlvs = vec![
        MessageDeliveryRequestTlvValue::ReceiptedMessageId(c_string(&id).expect("a decimal id")),
        MessageDeliveryRequestTlvValue::MessageState(MessageState::from(state)),
    ];
    let pdu = match fields.deliver_sm(tlvs) {
        Ok(pdu) => pdu,
        Err(e) => return WebhookResult::GaveUp { error: e },
    };

    let Some(bind) = inner.registry.receiver(w.account_id) else {
        return retry("no receiver bound".into());
    };
    let timeout = Duration::from_millis(inner.config.receipt_timeout_ms);
    let Ok(Ok(_permit)) = tokio::time::timeout(timeout, bind.window.clone().acquire_owned()).await
    else {
        return retry("the client's receipt window stayed full".into());
    };
    let seq = bind.sequence();
    let (tx, rx) = oneshot::channel();
    bind.awaiting.lock().expect("awaiting").insert(seq, tx);
    if !bind
        .outbox
        .send(&Command::new(CommandStatus::EsmeRok, seq, pdu))
    {
        bind.awaiting.lock().expect("awaiting").remove(&seq);
        return retry("the bind closed".into());
    }
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(status::OK)) => WebhookResult::Delivered,
        Ok(Ok(code)) => retry(format!("the client answered status 0x{code:08X}")),
        Ok(Err(_)) => retry("the bind closed".into()),
        Err(_) => {
            bind.awaiting.lock().expect("awaiting").remove(&seq);
            retry("no deliver_sm_resp in time".into())
        }
    }
}
