//! The ESME connector against the SMSC simulator, over loopback.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Recorder, eventually, message, utf16};
use futures_util::{SinkExt, StreamExt};
use relais_connectors::contract::{Connector, SubmitResult};
use relais_core::encoding::Encoding;
use relais_core::gsm7;
use relais_smpp::esme::{BindMode, Concatenation, Esme, EsmeConfig};
use relais_smpp::pdu::{Address, ShortMessage, c_string};
use relais_smpp::server::submit::parse_time;
use relais_smpp::smsc::{ErrorRule, IdFormat, Mo, MoConcat, Smsc, SmscAccount, SmscConfig};
use relais_store::MessageStatus;
use rusmpp::pdus::BindTransceiver;
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::{Command, CommandId, CommandStatus};

fn smsc_config() -> SmscConfig {
    SmscConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        accounts: vec![SmscAccount {
            system_id: "relais".into(),
            password: "secret".into(),
        }],
        record_submissions: true,
        seed: Some(7),
        ..SmscConfig::default()
    }
}

fn esme_config(smsc: &Smsc) -> EsmeConfig {
    EsmeConfig {
        name: "carrier".into(),
        host: "127.0.0.1".into(),
        port: smsc.local_addr().port(),
        system_id: "relais".into(),
        password: "secret".into(),
        window: 16,
        reconnect_min_ms: 20,
        reconnect_max_ms: 200,
        throttle_pause_ms: 20,
        ..EsmeConfig::default()
    }
}

async fn start(
    smsc: SmscConfig,
    tweak: impl FnOnce(&mut EsmeConfig),
) -> (Smsc, Arc<Esme>, Arc<Recorder>) {
    let smsc = Smsc::start(smsc).await.unwrap();
    let mut config = esme_config(&smsc);
    tweak(&mut config);
    let sink = Arc::new(Recorder::default());
    let esme = Esme::start(config, sink.clone()).unwrap();
    eventually(5, "the connector binds", || esme.is_up()).await;
    (smsc, esme, sink)
}

fn accepted(result: &SubmitResult) -> Vec<String> {
    match result {
        SubmitResult::Accepted { carrier_ids } => carrier_ids.clone(),
        other => panic!("expected Accepted, got {other:?}"),
    }
}

#[tokio::test]
async fn gsm7_message_is_submitted_and_its_receipt_matched() {
    let (smsc, esme, sink) = start(smsc_config(), |_| {}).await;
    let text = "Hello relais: 10€ [ok] @home";
    let results = esme
        .submit(&[message(1, "+33612345678", text, Encoding::Gsm7)])
        .await;
    let ids = accepted(&results[0]);
    assert_eq!(ids.len(), 1);

    let submissions = smsc.submissions();
    assert_eq!(submissions.len(), 1);
    let s = &submissions[0].message;
    assert_eq!(s.data_coding, 0x00);
    assert_eq!(s.esm_class, 0x00);
    assert_eq!(s.registered_delivery, 1);
    assert_eq!(
        (s.source.ton, s.source.npi, s.source.addr.as_str()),
        (5, 0, "Relais")
    );
    assert_eq!(
        (
            s.destination.ton,
            s.destination.npi,
            s.destination.addr.as_str()
        ),
        (1, 1, "33612345678")
    );
    // Unpacked septets, extension characters escaped.
    assert_eq!(s.short_message, gsm7::encode(text).unwrap());
    assert_eq!(gsm7::decode(&s.short_message), text);

    eventually(5, "the receipt", || !sink.reports().is_empty()).await;
    let report = &sink.reports()[0];
    assert_eq!(report.connector, "carrier");
    assert_eq!(report.carrier_id, ids[0]);
    assert_eq!(report.status, MessageStatus::Delivered);
    assert_eq!(report.error, None);
    eventually(5, "the receipt acknowledged", || {
        smsc.stats().receipts_acked == 1
    })
    .await;
    esme.shutdown().await;
}

#[tokio::test]
async fn ucs2_with_emoji_goes_as_utf16_with_surrogate_pairs() {
    let (smsc, esme, _sink) = start(smsc_config(), |_| {}).await;
    let text = "Bonjour 😀 ça va ? 🎉";
    let results = esme
        .submit(&[message(1, "+33612345678", text, Encoding::Ucs2)])
        .await;
    accepted(&results[0]);
    let s = &smsc.submissions()[0].message;
    assert_eq!(s.data_coding, 0x08);
    assert_eq!(s.short_message.len(), text.encode_utf16().count() * 2);
    assert_eq!(utf16(&s.short_message), text);
    esme.shutdown().await;
}

#[tokio::test]
async fn long_message_with_udh_gives_every_part_id_in_order() {
    let (smsc, esme, sink) = start(smsc_config(), |_| {}).await;
    let text: String = (0..400)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let results = esme
        .submit(&[message(1, "+33612345678", &text, Encoding::Gsm7)])
        .await;
    let ids = accepted(&results[0]);
    assert_eq!(ids.len(), 3);

    let submissions = smsc.submissions();
    assert_eq!(submissions.len(), 3);
    let mut joined = Vec::new();
    let mut references = Vec::new();
    for (i, s) in submissions.iter().enumerate() {
        assert_eq!(s.message.esm_class & 0x40, 0x40, "UDHI set");
        assert_eq!(s.sar, None);
        let concat = s.concat().expect("a concatenation header");
        assert_eq!((concat.total, usize::from(concat.seq)), (3, i + 1));
        references.push(concat.reference);
        assert_eq!(s.message_id, ids[i], "ids in part order");
        joined.extend_from_slice(s.payload());
    }
    assert!(references.iter().all(|&r| r == references[0]));
    assert_eq!(gsm7::decode(&joined), text);

    eventually(5, "three receipts", || sink.reports().len() == 3).await;
    let mut reported: Vec<String> = sink.reports().into_iter().map(|r| r.carrier_id).collect();
    reported.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(reported, expected);
    esme.shutdown().await;
}

#[tokio::test]
async fn long_message_with_sar_tlvs() {
    let (smsc, esme, _sink) = start(smsc_config(), |c| c.concatenation = Concatenation::Sar).await;
    let text = "Emoji 😀 ".repeat(20); // 160 UTF-16 units: 3 parts
    let results = esme
        .submit(&[message(1, "+33612345678", &text, Encoding::Ucs2)])
        .await;
    let ids = accepted(&results[0]);
    assert_eq!(ids.len(), 3);
    let submissions = smsc.submissions();
    let mut joined = Vec::new();
    for (i, s) in submissions.iter().enumerate() {
        assert_eq!(s.message.esm_class & 0x40, 0, "no UDH with SAR");
        let sar = s.sar.expect("SAR TLVs");
        assert_eq!((sar.total, usize::from(sar.seq)), (3, i + 1));
        assert_eq!(sar.reference, submissions[0].sar.unwrap().reference);
        joined.extend_from_slice(s.payload());
    }
    assert_eq!(utf16(&joined), text);
    esme.shutdown().await;
}

/// Receipts writing the id otherwise than the submit_sm_resp are reported
/// with the submit's id.
#[tokio::test]
async fn receipts_match_ids_written_in_another_base_or_padding() {
    let cases = [
        (IdFormat::Hex, 0, IdFormat::Decimal, 0, true),
        (IdFormat::Decimal, 0, IdFormat::Hex, 0, true),
        (IdFormat::Hex, 12, IdFormat::Hex, 0, false),
        (IdFormat::Decimal, 0, IdFormat::Decimal, 15, false),
        (IdFormat::Decimal, 10, IdFormat::Hex, 16, false),
    ];
    for (format, width, receipt_format, receipt_width, tlvs) in cases {
        let smsc = SmscConfig {
            id_format: format,
            id_width: width,
            receipt_id_format: Some(receipt_format),
            receipt_id_width: Some(receipt_width),
            receipt_tlvs: tlvs,
            ..smsc_config()
        };
        let (_smsc, esme, sink) = start(smsc, |_| {}).await;
        let batch: Vec<_> = (0..5)
            .map(|i| message(i, &format!("+3361234567{i}"), "hi", Encoding::Gsm7))
            .collect();
        let results = esme.submit(&batch).await;
        let mut ids: Vec<String> = results.iter().flat_map(accepted).collect();
        eventually(5, "five receipts", || sink.reports().len() == 5).await;
        let mut reported: Vec<String> = sink.reports().into_iter().map(|r| r.carrier_id).collect();
        ids.sort();
        reported.sort();
        assert_eq!(
            reported, ids,
            "{format:?}/{width} vs {receipt_format:?}/{receipt_width}"
        );
        esme.shutdown().await;
    }
}

#[tokio::test]
async fn undelivered_and_expired_receipts() {
    let smsc = SmscConfig {
        delivered_ratio: 0.0,
        undelivered_ratio: 0.5,
        ..smsc_config()
    };
    let (_smsc, esme, sink) = start(smsc, |_| {}).await;
    let batch: Vec<_> = (0..20)
        .map(|i| message(i, "+33612345678", "hi", Encoding::Gsm7))
        .collect();
    esme.submit(&batch).await;
    eventually(5, "twenty receipts", || sink.reports().len() == 20).await;
    let reports = sink.reports();
    assert!(reports.iter().all(|r| matches!(
        r.status,
        MessageStatus::Undelivered | MessageStatus::Expired
    )));
    assert!(
        reports
            .iter()
            .any(|r| r.status == MessageStatus::Undelivered)
    );
    assert!(reports.iter().any(|r| r.status == MessageStatus::Expired));
    let undelivered = reports
        .iter()
        .find(|r| r.status == MessageStatus::Undelivered)
        .unwrap();
    assert_eq!(undelivered.error.as_deref(), Some("stat UNDELIV err 001"));
    esme.shutdown().await;
}

#[tokio::test]
async fn a_receipt_is_acknowledged_only_once_stored() {
    let (smsc, esme, sink) = start(smsc_config(), |_| {}).await;
    sink.hold_reports.store(true, Ordering::SeqCst);
    let results = esme
        .submit(&[message(1, "+33612345678", "hi", Encoding::Gsm7)])
        .await;
    let ids = accepted(&results[0]);
    eventually(5, "the receipt handed to the sink", || {
        sink.report_calls.load(Ordering::SeqCst) >= 1
    })
    .await;
    // The store has not taken it: the SMSC has no acknowledgement.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smsc.stats().receipts_acked, 0);
    assert!(sink.reports().is_empty());
    sink.hold_reports.store(false, Ordering::SeqCst);
    eventually(5, "the receipt stored", || sink.reports().len() == 1).await;
    assert_eq!(sink.reports()[0].carrier_id, ids[0]);
    eventually(5, "the ack", || smsc.stats().receipts_acked == 1).await;
    esme.shutdown().await;
}

#[tokio::test]
async fn replies_are_decoded_and_reassembled() {
    let (smsc, esme, sink) = start(smsc_config(), |_| {}).await;
    let long = "This reply is long enough to need several parts, ".repeat(5);
    let long_ucs2 = "Réponse 😀 en plusieurs parties. ".repeat(4);
    let mos = [
        ("33611111111", "STOP", MoConcat::Udh),
        ("33622222222", long.as_str(), MoConcat::Udh),
        ("33633333333", long_ucs2.as_str(), MoConcat::Sar),
        ("33644444444", long.as_str(), MoConcat::Payload),
    ];
    for (from, text, concat) in mos {
        smsc.inject_mo(
            "relais",
            &Mo {
                from: from.into(),
                to: "Relais".into(),
                text: text.into(),
                concat,
            },
        )
        .unwrap();
    }
    eventually(5, "four replies", || sink.inbound().len() == 4).await;
    let mut got: Vec<(String, String)> = sink
        .inbound()
        .into_iter()
        .map(|i| (i.from.to_string(), i.text))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("+33611111111".to_owned(), "STOP".to_owned()),
            ("+33622222222".to_owned(), long.clone()),
            ("+33633333333".to_owned(), long_ucs2.clone()),
            ("+33644444444".to_owned(), long.clone()),
        ]
    );
    assert!(
        sink.inbound()
            .iter()
            .all(|i| i.to == "Relais" && i.connector == "carrier")
    );
    esme.shutdown().await;
}

#[tokio::test]
async fn reconnects_after_the_smsc_drops_the_connection() {
    let (smsc, esme, _sink) = start(smsc_config(), |_| {}).await;
    accepted(
        &esme
            .submit(&[message(1, "+33612345678", "one", Encoding::Gsm7)])
            .await[0],
    );
    smsc.drop_connections();
    eventually(5, "the link seen down", || !esme.is_up()).await;
    eventually(5, "the connector binds again", || esme.is_up()).await;
    accepted(
        &esme
            .submit(&[message(2, "+33612345678", "two", Encoding::Gsm7)])
            .await[0],
    );
    assert_eq!(smsc.stats().binds, 2);
    assert_eq!(smsc.submissions().len(), 2);
    esme.shutdown().await;
}

#[tokio::test]
async fn throttled_submits_are_retried_in_order() {
    let smsc = SmscConfig {
        throttle_every: 3,
        ..smsc_config()
    };
    let (smsc, esme, _sink) = start(smsc, |c| c.window = 1).await;
    let batch: Vec<_> = (0..10)
        .map(|i| message(i, &format!("+3361234560{i}"), "hi", Encoding::Gsm7))
        .collect();
    let results = esme.submit(&batch).await;
    let ids: Vec<String> = results.iter().flat_map(accepted).collect();
    assert_eq!(ids.len(), 10);
    let stats = smsc.stats();
    assert!(stats.throttled >= 4, "{stats:?}");
    assert_eq!(stats.accepted, 10);
    // Each message kept its place: accepted in the order submitted.
    let destinations: Vec<String> = smsc
        .submissions()
        .iter()
        .map(|s| s.message.destination.addr.clone())
        .collect();
    let expected: Vec<String> = (0..10).map(|i| format!("3361234560{i}")).collect();
    assert_eq!(destinations, expected);
    let recorded: Vec<String> = smsc
        .submissions()
        .iter()
        .map(|s| s.message_id.clone())
        .collect();
    assert_eq!(recorded, ids);
    esme.shutdown().await;
}

#[tokio::test]
async fn the_window_caps_submits_in_flight() {
    let smsc = SmscConfig {
        response_delay_ms: 30,
        ..smsc_config()
    };
    let (smsc, esme, _sink) = start(smsc, |c| c.window = 5).await;
    let batch: Vec<_> = (0..40)
        .map(|i| message(i, "+33612345678", "hi", Encoding::Gsm7))
        .collect();
    let results = esme.submit(&batch).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, SubmitResult::Accepted { .. }))
    );
    assert_eq!(smsc.stats().max_outstanding, 5);
    esme.shutdown().await;
}

#[tokio::test]
async fn refused_destinations_fail_for_good() {
    let smsc = SmscConfig {
        error_rules: vec![ErrorRule {
            destination_prefix: "33699".into(),
            status: 0x0B,
        }],
        ..smsc_config()
    };
    let (_smsc, esme, _sink) = start(smsc, |_| {}).await;
    let results = esme
        .submit(&[
            message(1, "+33699123456", "hi", Encoding::Gsm7),
            message(2, "+33612345678", "hi", Encoding::Gsm7),
        ])
        .await;
    assert_eq!(
        results[0],
        SubmitResult::Permanent {
            error: "smpp status 0x0000000B".into()
        }
    );
    accepted(&results[1]);
    esme.shutdown().await;
}

#[tokio::test]
async fn transmitter_and_receiver_binds() {
    let (smsc, esme, sink) = start(smsc_config(), |c| {
        c.bind_mode = BindMode::TransmitterReceiver;
        c.binds = 2;
    })
    .await;
    eventually(5, "four binds", || smsc.stats().binds == 4).await;
    let batch: Vec<_> = (0..10)
        .map(|i| message(i, "+33612345678", "hi", Encoding::Gsm7))
        .collect();
    let results = esme.submit(&batch).await;
    let mut ids: Vec<String> = results.iter().flat_map(accepted).collect();
    eventually(5, "ten receipts over the receivers", || {
        sink.reports().len() == 10
    })
    .await;
    let mut reported: Vec<String> = sink.reports().into_iter().map(|r| r.carrier_id).collect();
    ids.sort();
    reported.sort();
    assert_eq!(reported, ids);
    esme.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_keep_the_connector_down() {
    let smsc = Smsc::start(smsc_config()).await.unwrap();
    let config = EsmeConfig {
        password: "wrong".into(),
        ..esme_config(&smsc)
    };
    let esme = Esme::start(config, Arc::new(Recorder::default())).unwrap();
    eventually(5, "a refused bind", || smsc.stats().connections >= 2).await;
    assert!(!esme.is_up());
    assert_eq!(smsc.stats().binds, 0);
    esme.shutdown().await;
}

#[tokio::test]
async fn throughput_limit_paces_submits() {
    let (_smsc, esme, _sink) = start(smsc_config(), |c| c.throughput_per_second = Some(100)).await;
    let batch: Vec<_> = (0..60)
        .map(|i| message(i, "+33612345678", "hi", Encoding::Gsm7))
        .collect();
    let started = std::time::Instant::now();
    let results = esme.submit(&batch).await;
    let elapsed = started.elapsed();
    assert!(
        results
            .iter()
            .all(|r| matches!(r, SubmitResult::Accepted { .. }))
    );
    // A burst of 10, then 50 more at 100/s: about half a second.
    assert!(elapsed.as_millis() >= 450, "{elapsed:?}");
    esme.shutdown().await;
}

/// A message's expiry goes as an absolute `validity_period` in UTC, which
/// the simulator reads back, and by which it expires what it could not
/// deliver in time.
#[tokio::test]
async fn expiry_is_submitted_as_an_absolute_validity_period() {
    let smsc = SmscConfig {
        receipt_delay_ms: (300, 300),
        ..smsc_config()
    };
    let (smsc, esme, sink) = start(smsc, |_| {}).await;
    let deadline: jiff::Timestamp = "2031-05-06T07:08:09.876Z".parse().unwrap();
    let mut far = message(1, "+33612345671", "valid until 2031", Encoding::Gsm7);
    far.expires_at = Some(deadline.as_millisecond());
    let mut soon = message(2, "+33612345672", "valid 100 ms", Encoding::Gsm7);
    soon.expires_at = Some(jiff::Timestamp::now().as_millisecond() + 100);
    let open = message(3, "+33612345673", "no expiry", Encoding::Gsm7);
    let results = esme.submit(&[far, soon, open]).await;
    let ids: Vec<String> = results.iter().flat_map(accepted).collect();

    let submissions = smsc.submissions();
    let validity = |id: &str| {
        submissions
            .iter()
            .find(|s| s.message_id == id)
            .map(|s| s.validity_period.clone())
            .unwrap()
    };
    // Tenths of a second rounded down, no offset from UTC.
    assert_eq!(validity(&ids[0]), "310506070809800+");
    assert_eq!(
        parse_time(&validity(&ids[0]), jiff::Timestamp::now()),
        Ok(Some("2031-05-06T07:08:09.8Z".parse().unwrap()))
    );
    assert!(validity(&ids[1]).ends_with("00+"));
    assert_eq!(validity(&ids[2]), "");

    eventually(5, "three receipts", || sink.reports().len() == 3).await;
    let status = |id: &str| {
        sink.reports()
            .into_iter()
            .find(|r| r.carrier_id == id)
            .map(|r| r.status)
            .unwrap()
    };
    assert_eq!(status(&ids[0]), MessageStatus::Delivered);
    assert_eq!(status(&ids[1]), MessageStatus::Expired);
    assert_eq!(status(&ids[2]), MessageStatus::Delivered);
    esme.shutdown().await;
}

#[tokio::test]
async fn an_unreadable_validity_period_is_refused() {
    let smsc = Smsc::start(smsc_config()).await.unwrap();
    let mut stream = tokio::net::TcpStream::connect(smsc.local_addr())
        .await
        .unwrap();
    let mut peer = tokio_util::codec::Framed::new(&mut stream, CommandCodec::new());
    let bind = BindTransceiver::builder()
        .system_id(c_string("relais").unwrap())
        .password(c_string("secret").unwrap())
        .build();
    peer.send(Command::new(CommandStatus::EsmeRok, 1, bind))
        .await
        .unwrap();
    assert_eq!(
        peer.next().await.unwrap().unwrap().status(),
        CommandStatus::EsmeRok
    );
    let mut submit = ShortMessage {
        destination: Address::new(1, 1, "33612345678"),
        short_message: b"hi".to_vec(),
        ..ShortMessage::default()
    }
    .submit_sm(Vec::new())
    .unwrap();
    submit.validity_period = "311306070809800+".parse().unwrap(); // month 13
    peer.send(Command::new(CommandStatus::EsmeRok, 2, submit))
        .await
        .unwrap();
    let answer = peer.next().await.unwrap().unwrap();
    assert_eq!(
        (answer.id(), answer.status()),
        (CommandId::SubmitSmResp, CommandStatus::EsmeRinvexpiry)
    );
    assert_eq!(smsc.stats().accepted, 0);
}
