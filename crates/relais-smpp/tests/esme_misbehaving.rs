//! The ESME connector against SMSCs that misbehave, scripted here on rusmpp's
//! own codec: responses out of order, receipts before responses, throttling,
//! dropped connections, silent links.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Recorder, eventually, message};
use futures_util::{SinkExt, StreamExt};
use relais_connectors::contract::{Connector, SubmitResult};
use relais_core::encoding::Encoding;
use relais_smpp::esme::{Esme, EsmeConfig};
use relais_smpp::pdu::{ShortMessage, c_string};
use relais_store::MessageStatus;
use rusmpp::pdus::{BindTransceiverResp, SubmitSmResp};
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::values::MessageState;
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

type Peer = Framed<TcpStream, CommandCodec>;

async fn listen() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

fn connector(
    listener: &TcpListener,
    tweak: impl FnOnce(&mut EsmeConfig),
) -> (Arc<Esme>, Arc<Recorder>) {
    let mut config = EsmeConfig {
        name: "odd".into(),
        port: listener.local_addr().unwrap().port(),
        system_id: "relais".into(),
        password: "secret".into(),
        window: 8,
        reconnect_min_ms: 20,
        reconnect_max_ms: 100,
        throttle_pause_ms: 10,
        ..EsmeConfig::default()
    };
    tweak(&mut config);
    let sink = Arc::new(Recorder::default());
    (Esme::start(config, sink.clone()).unwrap(), sink)
}

/// Accepts a connection and its bind.
async fn accept_bound(listener: &TcpListener) -> Peer {
    let (stream, _) = listener.accept().await.unwrap();
    let mut peer = Framed::new(stream, CommandCodec::new());
    let bind = peer.next().await.unwrap().unwrap();
    assert_eq!(bind.id(), CommandId::BindTransceiver);
    let Some(Pdu::BindTransceiver(b)) = bind.pdu() else {
        panic!("not a bind: {bind:?}");
    };
    assert_eq!(b.system_id.as_str(), "relais");
    assert_eq!(b.password.as_str(), "secret");
    peer.send(Command::new(
        CommandStatus::EsmeRok,
        bind.sequence_number(),
        BindTransceiverResp::new(c_string("odd").unwrap(), None),
    ))
    .await
    .unwrap();
    peer
}

/// The next `submit_sm`: its sequence number and destination.
async fn next_submit(peer: &mut Peer) -> (u32, String) {
    loop {
        let command = peer
            .next()
            .await
            .expect("connection open")
            .expect("decodable");
        if let Some(Pdu::SubmitSm(s)) = command.pdu() {
            return (
                command.sequence_number(),
                s.destination_addr.as_str().to_owned(),
            );
        }
    }
}

async fn answer(peer: &mut Peer, seq: u32, id: &str) {
    peer.send(Command::new(
        CommandStatus::EsmeRok,
        seq,
        SubmitSmResp::new(c_string(id).unwrap(), Vec::new()),
    ))
    .await
    .unwrap();
}

async fn refuse(peer: &mut Peer, seq: u32, status: u32) {
    peer.send(relais_smpp::pdu::error_response(0x04, status, seq))
        .await
        .unwrap();
}

/// A delivery receipt for `id`, with the TLVs and the text.
fn receipt(seq: u32, id: &str) -> Command {
    let fields = ShortMessage {
        esm_class: 0x04,
        short_message: format!(
            "id:{id} sub:001 dlvrd:001 submit date:2501010000 done date:2501010001 stat:DELIVRD err:000 text:"
        )
        .into_bytes(),
        ..ShortMessage::default()
    };
    let pdu = fields
        .deliver_sm(vec![
            MessageDeliveryRequestTlvValue::ReceiptedMessageId(c_string(id).unwrap()),
            MessageDeliveryRequestTlvValue::MessageState(MessageState::Delivered),
        ])
        .unwrap();
    Command::new(CommandStatus::EsmeRok, seq, pdu)
}

fn ids(result: &SubmitResult) -> Vec<String> {
    match result {
        SubmitResult::Accepted { carrier_ids } => carrier_ids.clone(),
        other => panic!("expected Accepted, got {other:?}"),
    }
}

fn batch(n: usize) -> Vec<relais_store::OutboundMessage> {
    (0..n)
        .map(|i| message(i as i64, &format!("+3361234567{i}"), "hi", Encoding::Gsm7))
        .collect()
}

#[tokio::test]
async fn responses_out_of_order_are_matched_by_sequence() {
    let listener = listen().await;
    let (esme, _) = connector(&listener, |_| {});
    let mut peer = accept_bound(&listener).await;
    eventually(5, "bound", || esme.is_up()).await;
    let submitting = tokio::spawn({
        let esme = esme.clone();
        async move { esme.submit(&batch(5)).await }
    });
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(next_submit(&mut peer).await);
    }
    for (seq, destination) in got.iter().rev() {
        answer(&mut peer, *seq, &format!("id-{destination}")).await;
    }
    let results = submitting.await.unwrap();
    for (i, result) in results.iter().enumerate() {
        assert_eq!(ids(result), vec![format!("id-3361234567{i}")]);
    }
    esme.shutdown().await;
}

#[tokio::test]
async fn a_receipt_before_its_response_is_matched_once_the_response_comes() {
    let listener = listen().await;
    let (esme, sink) = connector(&listener, |_| {});
    let mut peer = accept_bound(&listener).await;
    eventually(5, "bound", || esme.is_up()).await;
    let submitting = tokio::spawn({
        let esme = esme.clone();
        async move { esme.submit(&batch(1)).await }
    });
    let (seq, _) = next_submit(&mut peer).await;
    // The receipt writes the id in decimal; the response will write it in hex.
    peer.send(receipt(900, "1000")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(sink.reports().is_empty(), "held until the response");
    answer(&mut peer, seq, "3E8").await;
    let results = submitting.await.unwrap();
    assert_eq!(ids(&results[0]), vec!["3E8".to_owned()]);
    // Acknowledged only after it was stored.
    let ack = loop {
        let command = peer.next().await.unwrap().unwrap();
        if command.id() == CommandId::DeliverSmResp {
            break command;
        }
    };
    assert_eq!(ack.sequence_number(), 900);
    assert_eq!(ack.status(), CommandStatus::EsmeRok);
    let reports = sink.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].carrier_id, "3E8");
    assert_eq!(reports[0].status, MessageStatus::Delivered);

    // With nothing in flight, an unknown id is reported as written at once.
    peer.send(receipt(901, "00777")).await.unwrap();
    eventually(5, "the unknown receipt", || sink.reports().len() == 2).await;
    assert_eq!(sink.reports()[1].carrier_id, "00777");
    esme.shutdown().await;
}

#[tokio::test]
async fn throttling_answers_are_retried_on_the_same_bind() {
    let listener = listen().await;
    let (esme, _) = connector(&listener, |_| {});
    let mut peer = accept_bound(&listener).await;
    eventually(5, "bound", || esme.is_up()).await;
    let submitting = tokio::spawn({
        let esme = esme.clone();
        async move { esme.submit(&batch(1)).await }
    });
    let (seq, first) = next_submit(&mut peer).await;
    refuse(&mut peer, seq, 0x58).await; // ESME_RTHROTTLED
    let (seq, again) = next_submit(&mut peer).await;
    assert_eq!(again, first);
    refuse(&mut peer, seq, 0x14).await; // ESME_RMSGQFUL
    let (seq, again) = next_submit(&mut peer).await;
    assert_eq!(again, first);
    answer(&mut peer, seq, "42").await;
    assert_eq!(ids(&submitting.await.unwrap()[0]), vec!["42".to_owned()]);
    esme.shutdown().await;
}

#[tokio::test]
async fn error_statuses_are_temporary_or_permanent() {
    let listener = listen().await;
    let (esme, _) = connector(&listener, |_| {});
    let mut peer = accept_bound(&listener).await;
    eventually(5, "bound", || esme.is_up()).await;
    let submitting = tokio::spawn({
        let esme = esme.clone();
        async move { esme.submit(&batch(2)).await }
    });
    let (a, _) = next_submit(&mut peer).await;
    let (b, _) = next_submit(&mut peer).await;
    refuse(&mut peer, a, 0x08).await; // ESME_RSYSERR
    refuse(&mut peer, b, 0x45).await; // ESME_RSUBMITFAIL
    let results = submitting.await.unwrap();
    assert_eq!(
        results,
        vec![
            SubmitResult::Temporary {
                error: "smpp status 0x00000008".into()
            },
            SubmitResult::Permanent {
                error: "smpp status 0x00000045".into()
            },
        ]
    );
    esme.shutdown().await;
}

#[tokio::test]
async fn after_a_dropped_connection_only_unanswered_submits_are_sent_again() {
    let listener = listen().await;
    let (esme, _) = connector(&listener, |_| {});
    let mut peer = accept_bound(&listener).await;
    eventually(5, "bound", || esme.is_up()).await;
    let submitting = tokio::spawn({
        let esme = esme.clone();
        async move { esme.submit(&batch(3)).await }
    });
    let mut first = Vec::new();
    for _ in 0..3 {
        first.push(next_submit(&mut peer).await);
    }
    answer(&mut peer, first[0].0, "first").await;
    // Let the answer through before the cut.
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(peer);

    let mut peer = accept_bound(&listener).await;
    let (s1, d1) = next_submit(&mut peer).await;
    let (s2, d2) = next_submit(&mut peer).await;
    assert_eq!(
        (d1.as_str(), d2.as_str()),
        (first[1].1.as_str(), first[2].1.as_str()),
        "the unanswered ones, in order"
    );
    answer(&mut peer, s1, "second").await;
    answer(&mut peer, s2, "third").await;
    let results = submitting.await.unwrap();
    let all: Vec<Vec<String>> = results.iter().map(ids).collect();
    assert_eq!(
        all,
        vec![
            vec!["first".to_owned()],
            vec!["second".to_owned()],
            vec!["third".to_owned()]
        ]
    );
    // Nothing else is submitted: the answered one is not sent twice.
    let extra = tokio::time::timeout(Duration::from_millis(200), next_submit(&mut peer)).await;
    assert!(extra.is_err(), "unexpected submit {extra:?}");
    esme.shutdown().await;
}

#[tokio::test]
async fn a_silent_link_is_replaced() {
    let listener = listen().await;
    let (esme, _) = connector(&listener, |c| {
        c.enquire_link_interval_ms = 50;
        c.enquire_link_timeout_ms = 100;
    });
    let mut peer = accept_bound(&listener).await;
    // The SMSC reads an enquire_link and never answers it.
    loop {
        let command = peer.next().await.unwrap().unwrap();
        if command.id() == CommandId::EnquireLink {
            break;
        }
    }
    let mut second = tokio::time::timeout(Duration::from_secs(5), accept_bound(&listener))
        .await
        .expect("the connector reconnects");
    // This one answers, and is kept.
    let enquire = loop {
        let command = second.next().await.unwrap().unwrap();
        if command.id() == CommandId::EnquireLink {
            break command;
        }
    };
    second
        .send(Command::new(
            CommandStatus::EsmeRok,
            enquire.sequence_number(),
            Pdu::EnquireLinkResp,
        ))
        .await
        .unwrap();
    eventually(5, "bound again", || esme.is_up()).await;
    esme.shutdown().await;
}

#[tokio::test]
async fn the_smsc_unbinding_or_sending_garbage_leads_to_a_new_bind() {
    let listener = listen().await;
    let (esme, _) = connector(&listener, |_| {});
    let mut peer = accept_bound(&listener).await;
    peer.send(Command::new(CommandStatus::EsmeRok, 77, Pdu::Unbind))
        .await
        .unwrap();
    let resp = peer.next().await.unwrap().unwrap();
    assert_eq!(resp.id(), CommandId::UnbindResp);
    assert_eq!(resp.sequence_number(), 77);

    let mut peer = accept_bound(&listener).await;
    use tokio::io::AsyncWriteExt;
    peer.get_mut()
        .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        .await
        .unwrap();
    let nack = peer.next().await.unwrap().unwrap();
    assert_eq!(nack.id(), CommandId::GenericNack);
    assert_eq!(u32::from(nack.status()), 0x02); // ESME_RINVCMDLEN

    let _third = accept_bound(&listener).await;
    eventually(5, "bound again", || esme.is_up()).await;
    esme.shutdown().await;
}
