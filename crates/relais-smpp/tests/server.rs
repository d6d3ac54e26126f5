//! The SMPP server front door, driven by a client written here on rusmpp's
//! codec, in front of a real SQLite-backed pipeline.

mod common;

use std::time::Duration;

use common::fixture::{BindAs, Client, Fixture, Options, PASSWORD, SYSTEM_ID};
use relais_connectors::sink::{EventSink, StoreSink};
use relais_core::money::Amount;
use relais_core::number::E164;
use relais_core::plan::{Recipient, SendRequest};
use relais_engine::send::{Pipeline, SendOptions, SendOutcome, SendSettings};
use relais_smpp::pdu::{Address, ShortMessage, c_string, split_udh};
use relais_store::{
    CampaignStatus, Inbound, MessageStatus, NewAccount, NewInbound, NumberList, Page,
};
use rusmpp::pdus::{CancelSm, QuerySm, ReplaceSm, SubmitMulti};
use rusmpp::tlvs::{MessageSubmissionRequestTlvValue, TlvValue};
use rusmpp::types::{AnyOctetString, EmptyOrFullCOctetString};
use rusmpp::values::{DestAddress, MessagePayload, Npi, SmeAddress, Ton};
use rusmpp::{Command, CommandId, CommandStatus, Pdu};

fn status(code: u32) -> CommandStatus {
    CommandStatus::from(code)
}

fn submit(destination: &str, data_coding: u8, short_message: Vec<u8>) -> ShortMessage {
    ShortMessage {
        source: Address::new(5, 0, "Relais"),
        destination: Address::new(1, 1, destination),
        registered_delivery: 1,
        data_coding,
        short_message,
        ..ShortMessage::default()
    }
}

/// Submits, checks it was accepted and answers its message id.
async fn accepted(
    client: &mut Client,
    fields: &ShortMessage,
    tlvs: Vec<MessageSubmissionRequestTlvValue>,
) -> String {
    let (code, id) = send(client, fields, tlvs).await;
    assert_eq!(code, CommandStatus::EsmeRok);
    id.expect("a message id")
}

/// Submits and answers (status, message id).
async fn send(
    client: &mut Client,
    fields: &ShortMessage,
    tlvs: Vec<MessageSubmissionRequestTlvValue>,
) -> (CommandStatus, Option<String>) {
    let response = client.request(fields.submit_sm(tlvs).unwrap()).await;
    assert_eq!(response.id(), CommandId::SubmitSmResp);
    let id = match response.pdu() {
        Some(Pdu::SubmitSmResp(r)) => Some(r.message_id().as_str().to_owned()),
        _ => None,
    };
    (response.status(), id)
}

async fn bound(fixture: &Fixture, as_: BindAs) -> Client {
    let mut client = fixture.client().await;
    assert_eq!(
        client.bind(as_, SYSTEM_ID, PASSWORD).await,
        CommandStatus::EsmeRok
    );
    client
}

/// The text and number of a campaign's single message.
async fn stored(fixture: &Fixture, campaign: &str) -> (String, String) {
    let id: i64 = campaign.parse().unwrap();
    let messages = fixture
        .store
        .campaign_messages(fixture.account.id, id, None, Page::default())
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    (messages[0].number.to_string(), messages[0].text.clone())
}

#[tokio::test]
async fn bind_statuses() {
    let fixture = Fixture::start(Options {
        max_binds: 1,
        ..Options::default()
    })
    .await;
    let mut client = fixture.client().await;
    assert_eq!(
        client.bind(BindAs::Transceiver, "nobody", PASSWORD).await,
        status(0x0D),
        "an unknown system_id answers as a wrong password does"
    );
    assert_eq!(
        client.bind(BindAs::Transceiver, SYSTEM_ID, "wrong").await,
        status(0x0D),
        "a wrong password answers as an unknown system_id does"
    );
    assert_eq!(
        client.bind(BindAs::Transceiver, SYSTEM_ID, PASSWORD).await,
        CommandStatus::EsmeRok
    );
    assert_eq!(
        client.bind(BindAs::Transceiver, SYSTEM_ID, PASSWORD).await,
        status(0x05),
        "already bound"
    );
    let mut second = fixture.client().await;
    assert_eq!(
        second.bind(BindAs::Receiver, SYSTEM_ID, PASSWORD).await,
        status(0x0D),
        "max_binds reached"
    );
    // An over-long system_id cannot even be decoded: still a clear status.
    let mut raw = Vec::new();
    raw.extend_from_slice(b"a-system-id-much-too-long\0pw\0\0\x34\0\0\0");
    let mut frame = Vec::new();
    frame.extend_from_slice(&((16 + raw.len()) as u32).to_be_bytes());
    frame.extend_from_slice(&9u32.to_be_bytes());
    frame.extend_from_slice(&0u32.to_be_bytes());
    frame.extend_from_slice(&5u32.to_be_bytes());
    frame.extend_from_slice(&raw);
    use tokio::io::AsyncWriteExt;
    second.framed.get_mut().write_all(&frame).await.unwrap();
    let response = second.response(5).await;
    assert_eq!(response.id(), CommandId::BindTransceiverResp);
    assert_eq!(response.status(), status(0x0F));
    fixture.stop().await;
}

/// A bind's status and how long it took to come.
async fn timed_bind(client: &mut Client, password: &str) -> (CommandStatus, Duration) {
    let start = tokio::time::Instant::now();
    let code = client.bind(BindAs::Transmitter, SYSTEM_ID, password).await;
    (code, start.elapsed())
}

/// After `bind_failures_before_delay` failures each bind waits, doubling;
/// after `bind_failures_before_lockout` binds are refused, the right
/// password included.
#[tokio::test]
async fn repeated_bind_failures_are_slowed_down_then_locked_out() {
    let mut options = Options::default();
    options.server.bind_failures_before_delay = 5;
    options.server.bind_failure_delay = Duration::from_millis(300);
    options.server.bind_failures_before_lockout = 7;
    let fixture = Fixture::start(options).await;
    let mut client = fixture.client().await;
    for attempt in 1..=5 {
        let (code, took) = timed_bind(&mut client, "wrong").await;
        assert_eq!(code, status(0x0D));
        assert!(
            took < Duration::from_millis(300),
            "attempt {attempt}: {took:?}"
        );
    }
    let (code, took) = timed_bind(&mut client, "wrong").await;
    assert_eq!(code, status(0x0D));
    assert!(
        took >= Duration::from_millis(300),
        "the 6th is delayed: {took:?}"
    );
    let (code, took) = timed_bind(&mut client, "wrong").await;
    assert_eq!(code, status(0x0D));
    assert!(
        took >= Duration::from_millis(600),
        "the 7th twice as long: {took:?}"
    );
    // Locked out: refused at once, whatever the password.
    let (code, took) = timed_bind(&mut client, PASSWORD).await;
    assert_eq!(code, status(0x0D), "the 8th is refused");
    assert!(took < Duration::from_millis(300), "{took:?}");
    fixture.stop().await;
}

/// An account disabled through the store (as an admin on another node
/// would) is unbound within about a second.
#[tokio::test]
async fn a_disabled_account_is_unbound() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transceiver).await;
    let fields = submit("33612345678", 0, b"hi".to_vec());
    accepted(&mut client, &fields, vec![]).await;
    fixture
        .store
        .set_account_disabled(fixture.account.id, true)
        .await
        .unwrap();
    let start = tokio::time::Instant::now();
    let unbind = loop {
        let command = client.next().await.expect("an unbind");
        if command.id() == CommandId::Unbind {
            break command;
        }
    };
    assert!(
        start.elapsed() < Duration::from_millis(2_000),
        "unbound after {:?}: {unbind:?}",
        start.elapsed()
    );
    assert!(client.next().await.is_none(), "closed after the unbind");
    let mut again = fixture.client().await;
    assert_eq!(
        again.bind(BindAs::Transceiver, SYSTEM_ID, PASSWORD).await,
        status(0x0D)
    );
    fixture.stop().await;
}

#[tokio::test]
async fn submits_need_a_transmitting_bind() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = fixture.client().await;
    let fields = submit("33612345678", 0, b"hi".to_vec());
    assert_eq!(send(&mut client, &fields, vec![]).await.0, status(0x04));
    let mut receiver = bound(&fixture, BindAs::Receiver).await;
    assert_eq!(send(&mut receiver, &fields, vec![]).await.0, status(0x04));
    fixture.stop().await;
}

#[tokio::test]
async fn gsm7_ucs2_and_latin1_texts_are_committed() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transmitter).await;

    let gsm = relais_core::gsm7::encode("Hello {relais} 10€").unwrap();
    let id = accepted(&mut client, &submit("33612345678", 0, gsm), vec![]).await;
    assert_eq!(
        stored(&fixture, &id).await,
        ("+33612345678".to_owned(), "Hello {relais} 10€".to_owned())
    );
    let campaign = fixture
        .store
        .campaign(fixture.account.id, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(campaign.source, "smpp");
    assert_eq!(campaign.callback_url.as_deref(), Some("smpp:"));
    assert_eq!(campaign.sender.as_deref(), Some("Relais"));

    let text = "Emoji 😀 et ça 🎉";
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let id = accepted(&mut client, &submit("33612345678", 8, utf16), vec![]).await;
    assert_eq!(stored(&fixture, &id).await.1, text);

    let id = accepted(
        &mut client,
        &submit("33612345678", 3, b"caf\xe9".to_vec()),
        vec![],
    )
    .await;
    assert_eq!(stored(&fixture, &id).await.1, "café");

    // National format, read in the account's region; text in message_payload.
    let mut fields = submit("0612345678", 0, Vec::new());
    fields.destination.ton = 0;
    let payload = MessageSubmissionRequestTlvValue::MessagePayload(MessagePayload::new(
        AnyOctetString::from_static_slice(b"From the payload"),
    ));
    let id = accepted(&mut client, &fields, vec![payload]).await;
    assert_eq!(
        stored(&fixture, &id).await,
        ("+33612345678".to_owned(), "From the payload".to_owned())
    );
    fixture.stop().await;
}

#[tokio::test]
async fn concatenated_submits_become_one_message() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transceiver).await;
    let text: String = (0..300)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let septets = relais_core::gsm7::encode(&text).unwrap();

    // UDH: parts sent without waiting for answers, the last first.
    let chunks: Vec<&[u8]> = septets.chunks(153).collect();
    let mut seqs = Vec::new();
    for (i, chunk) in chunks.iter().enumerate().rev() {
        let mut sm = vec![0x05, 0x00, 0x03, 0x42, 2, (i + 1) as u8];
        sm.extend_from_slice(chunk);
        let mut fields = submit("33612345678", 0, sm);
        fields.esm_class = 0x40;
        let seq = client.sequence();
        client
            .send(Command::new(
                CommandStatus::EsmeRok,
                seq,
                fields.submit_sm(vec![]).unwrap(),
            ))
            .await;
        seqs.push(seq);
    }
    let mut ids = Vec::new();
    for seq in seqs {
        let response = client.response(seq).await;
        assert_eq!(response.status(), CommandStatus::EsmeRok);
        let Some(Pdu::SubmitSmResp(r)) = response.pdu() else {
            panic!("{response:?}");
        };
        ids.push(r.message_id().as_str().to_owned());
    }
    assert_eq!(ids[0], ids[1], "every part answered with the message's id");
    let campaign = reassembled(&fixture, &ids[0]).await;
    assert_eq!(stored(&fixture, &campaign).await.1, text);

    // SAR, UCS-2.
    let text = "Bonjour 😀 ".repeat(12);
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let chunks: Vec<&[u8]> = utf16.chunks(134).collect();
    let total = chunks.len() as u8;
    let mut seqs = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let fields = submit("33612345678", 8, chunk.to_vec());
        let tlvs = vec![
            MessageSubmissionRequestTlvValue::SarMsgRefNum(7),
            MessageSubmissionRequestTlvValue::SarTotalSegments(total),
            MessageSubmissionRequestTlvValue::SarSegmentSeqnum(i as u8 + 1),
        ];
        let seq = client.sequence();
        client
            .send(Command::new(
                CommandStatus::EsmeRok,
                seq,
                fields.submit_sm(tlvs).unwrap(),
            ))
            .await;
        seqs.push(seq);
    }
    let mut ids = Vec::new();
    for seq in seqs {
        let response = client.response(seq).await;
        let Some(Pdu::SubmitSmResp(r)) = response.pdu() else {
            panic!("{response:?}");
        };
        ids.push(r.message_id().as_str().to_owned());
    }
    assert!(ids.iter().all(|id| id == &ids[0]));
    let campaign = reassembled(&fixture, &ids[0]).await;
    assert_eq!(stored(&fixture, &campaign).await.1, text);
    fixture.stop().await;
}

/// The campaign of a concatenated submit answered with `message_id`, once
/// it is committed (after the last part was answered), as a decimal id.
async fn reassembled(fixture: &Fixture, message_id: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let found = fixture
            .store
            .campaign_id_by_tag(fixture.account.id, message_id)
            .await
            .unwrap();
        if let Some(id) = found {
            return id.to_string();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no campaign for {message_id}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Part `seq` of `total` of a concatenated GSM-7 submit (UDH, reference 0x42).
fn part(seq: u8, total: u8, septets: &[u8]) -> ShortMessage {
    let mut sm = vec![0x05, 0x00, 0x03, 0x42, total, seq];
    sm.extend_from_slice(septets);
    ShortMessage {
        esm_class: 0x40,
        ..submit("33612345678", 0, sm)
    }
}

/// A client that sends each part only once the one before is answered
/// (window 1) gets each answer at once, and the message goes out whole;
/// its receipt carries the id every part was answered with.
#[tokio::test]
async fn concatenated_parts_are_answered_one_by_one() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transceiver).await;
    let text: String = (0..200)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let septets = relais_core::gsm7::encode(&text).unwrap();
    let mut ids = Vec::new();
    for (i, chunk) in septets.chunks(153).enumerate() {
        let start = tokio::time::Instant::now();
        let id = accepted(&mut client, &part(i as u8 + 1, 2, chunk), vec![]).await;
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "part {} answered after {:?}",
            i + 1,
            start.elapsed()
        );
        ids.push(id);
    }
    assert_eq!(ids[0], ids[1], "every part answered with the message's id");
    let campaign = reassembled(&fixture, &ids[0]).await;
    assert_eq!(stored(&fixture, &campaign).await.1, text);
    let receipt = client.deliver_sm().await;
    let (_, receipt_text, receipted, state) = receipt_of(&receipt);
    assert!(
        receipt_text.starts_with(&format!("id:{} ", ids[0])),
        "{receipt_text}"
    );
    assert_eq!(receipted.as_deref(), Some(ids[0].as_str()));
    assert_eq!(state, Some(2));
    // query_sm and cancel_sm know the message by that id too.
    let (code, _, state) = query(&mut client, &ids[0]).await;
    assert_eq!((code, state), (CommandStatus::EsmeRok, Some(2)));
    fixture.stop().await;
}

/// A concatenated submit refused once whole (no credit left) is told with
/// a REJECTD receipt, its parts having been answered ESME_ROK.
#[tokio::test]
async fn concatenated_submits_refused_once_whole_get_a_receipt() {
    let fixture = Fixture::start(Options {
        balance: Some(Amount::ZERO),
        ..Options::default()
    })
    .await;
    let mut client = bound(&fixture, BindAs::Transceiver).await;
    let id = accepted(&mut client, &part(1, 2, b"a"), vec![]).await;
    assert_eq!(accepted(&mut client, &part(2, 2, b"b"), vec![]).await, id);
    let (_, text, receipted, state) = receipt_of(&client.deliver_sm().await);
    assert!(text.contains(" stat:REJECTD err:045"), "{text}");
    assert_eq!((receipted.as_deref(), state), (Some(id.as_str()), Some(8)));
    fixture.stop().await;
}

/// A concatenated submit left unfinished by its connection closing is
/// refused with a receipt on another bind of the account.
#[tokio::test]
async fn concatenated_submits_cut_by_an_unbind_get_a_receipt() {
    let fixture = Fixture::start(Options::default()).await;
    let mut receiver = bound(&fixture, BindAs::Receiver).await;
    let mut transmitter = bound(&fixture, BindAs::Transmitter).await;
    let id = accepted(&mut transmitter, &part(1, 2, b"a"), vec![]).await;
    let response = transmitter.request(Pdu::Unbind).await;
    assert_eq!(response.id(), CommandId::UnbindResp);
    let (_, text, receipted, state) = receipt_of(&receiver.deliver_sm().await);
    assert!(text.contains(" stat:REJECTD err:045"), "{text}");
    assert_eq!((receipted.as_deref(), state), (Some(id.as_str()), Some(8)));
    fixture.stop().await;
}

/// A concatenated submit missing a part: its first part is answered at
/// once, and after `concat_timeout_ms` it is refused with a REJECTD
/// receipt; nothing is stored.
#[tokio::test]
async fn incomplete_concatenations_time_out() {
    let mut options = Options::default();
    options.server.concat_timeout_ms = 300;
    let fixture = Fixture::start(options).await;
    let mut client = bound(&fixture, BindAs::Transceiver).await;
    let id = accepted(&mut client, &part(1, 2, b"a"), vec![]).await;
    let receipt = client.deliver_sm().await;
    let (source, text, receipted, state) = receipt_of(&receipt);
    assert_eq!(source, "33612345678");
    assert!(
        text.starts_with(&format!("id:{id} sub:001 dlvrd:000 ")),
        "{text}"
    );
    assert!(text.contains(" stat:REJECTD err:045"), "{text}");
    assert_eq!(receipted.as_deref(), Some(id.as_str()));
    assert_eq!(state, Some(8), "REJECTED");
    let campaigns = fixture
        .store
        .campaigns(fixture.account.id, &Default::default(), Page::default())
        .await
        .unwrap();
    assert!(campaigns.is_empty(), "{campaigns:?}");
    fixture.stop().await;
}

/// Octets that are not text in their `data_coding` (an odd UCS-2 count, a
/// non-ASCII IA5 octet), and texts carrying a control character (NUL and the
/// other C0 controls but LF, CR and form feed) are refused with
/// ESME_RINVMSGLEN, and nothing is stored.
#[tokio::test]
async fn malformed_text_octets_are_refused() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transmitter).await;
    for fields in [
        submit("33612345678", 8, vec![0x00, 0x41, 0x00]),
        submit("33612345678", 1, b"caf\xe9".to_vec()),
        submit("33612345678", 3, b"caf\xe9\x00".to_vec()),
        submit("33612345678", 8, vec![0x00, 0x41, 0x00, 0x00]),
        submit("33612345678", 1, b"red \x1b[31m".to_vec()),
    ] {
        let (code, id) = send(&mut client, &fields, vec![]).await;
        assert_eq!(code, status(0x01), "{fields:?}");
        assert_eq!(id, None);
    }
    let campaigns = fixture
        .store
        .campaigns(
            fixture.account.id,
            &Default::default(),
            Page {
                offset: 0,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert!(campaigns.is_empty(), "{campaigns:?}");
    // IA5 (data_coding 1) is ASCII.
    let id = accepted(
        &mut client,
        &submit("33612345678", 1, b"plain".to_vec()),
        vec![],
    )
    .await;
    assert_eq!(stored(&fixture, &id).await.1, "plain");
    fixture.stop().await;
}

#[tokio::test]
async fn refusals_have_their_statuses() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transmitter).await;
    let now = jiff::Timestamp::now().as_millisecond();
    let blacklisted: E164 = "+33611111111".parse().unwrap();
    fixture
        .store
        .add_listed(
            fixture.account.id,
            NumberList::Blacklist,
            &[(blacklisted, vec![])],
            "stop",
            now,
        )
        .await
        .unwrap();

    let cases: Vec<(ShortMessage, u32)> = vec![
        (submit("1234", 0, b"hi".to_vec()), 0x0B),
        (submit("33611111111", 0, b"hi".to_vec()), 0x400),
        (
            ShortMessage {
                source: Address::new(5, 0, "No!Way"),
                ..submit("33612345678", 0, b"hi".to_vec())
            },
            0x0A,
        ),
        (submit("33612345678", 0, Vec::new()), 0x01),
        (submit("33612345678", 0x04, b"\x01\x02".to_vec()), 0x104),
    ];
    for (fields, expected) in cases {
        let (code, id) = send(&mut client, &fields, vec![]).await;
        assert_eq!(code, status(expected), "{fields:?}");
        assert_eq!(id, None);
    }
    // Refused submits leave no campaign behind, not even an empty one.
    let campaigns = fixture
        .store
        .campaigns(fixture.account.id, &Default::default(), Page::default())
        .await
        .unwrap();
    assert!(campaigns.is_empty(), "{campaigns:?}");
    // An undecodable submit (destination over 20 characters) names the field.
    let mut body = vec![0, 5, 0];
    body.extend_from_slice(b"Relais\0\x01\x01");
    body.extend_from_slice(&[b'3'; 30]);
    body.push(0);
    body.extend_from_slice(&[0; 10]);
    let mut frame = ((16 + body.len()) as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&4u32.to_be_bytes());
    frame.extend_from_slice(&0u32.to_be_bytes());
    frame.extend_from_slice(&99u32.to_be_bytes());
    frame.extend_from_slice(&body);
    use tokio::io::AsyncWriteExt;
    client.framed.get_mut().write_all(&frame).await.unwrap();
    let response = client.response(99).await;
    assert_eq!(response.id(), CommandId::SubmitSmResp);
    assert_eq!(response.status(), status(0x0B));
    fixture.stop().await;
}

#[tokio::test]
async fn no_credit_and_throughput() {
    let fixture = Fixture::start(Options {
        balance: Some(Amount::ZERO),
        throughput_per_second: Some(2),
        ..Options::default()
    })
    .await;
    let mut client = bound(&fixture, BindAs::Transmitter).await;
    let fields = submit("33612345678", 0, b"hi".to_vec());
    assert_eq!(send(&mut client, &fields, vec![]).await.0, status(0x45));
    assert_eq!(send(&mut client, &fields, vec![]).await.0, status(0x45));
    assert_eq!(
        send(&mut client, &fields, vec![]).await.0,
        status(0x58),
        "throttled"
    );
    fixture.stop().await;
}

/// Submits in one window are planned against the bind's snapshot of the
/// balance, which covers each of them; committed together, those the balance
/// no longer covers are refused as without credit.
#[tokio::test]
async fn a_window_of_submits_beyond_the_balance() {
    let fixture = Fixture::start(Options {
        balance: Some(Amount::from_micros(3 * 45_000)),
        ..Options::default()
    })
    .await;
    let mut client = bound(&fixture, BindAs::Transmitter).await;
    for i in 0..10 {
        let fields = submit(&format!("336123456{i:02}"), 0, b"hi".to_vec());
        let seq = client.sequence();
        client
            .send(Command::new(
                CommandStatus::EsmeRok,
                seq,
                fields.submit_sm(vec![]).unwrap(),
            ))
            .await;
    }
    let mut statuses = Vec::new();
    while statuses.len() < 10 {
        let command = client.next().await.expect("connection open");
        if command.id() == CommandId::SubmitSmResp {
            statuses.push(command.status());
        }
    }
    let accepted = statuses
        .iter()
        .filter(|s| **s == CommandStatus::EsmeRok)
        .count();
    let refused = statuses.iter().filter(|s| **s == status(0x45)).count();
    assert_eq!((accepted, refused), (3, 7), "{statuses:?}");
    let account = fixture
        .store
        .account(fixture.account.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.balance, Some(Amount::ZERO));
    fixture.stop().await;
}

#[tokio::test]
async fn submit_multi_lists_the_refused_destinations() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transmitter).await;
    let mut pdu = SubmitMulti::builder()
        .source_addr_ton(Ton::Alphanumeric)
        .source_addr(c_string("Relais").unwrap())
        .short_message(rusmpp::types::OctetString::from_static_slice(b"to you both").unwrap())
        .build();
    for number in ["33612345678", "1234", "33687654321"] {
        pdu.push_dest_address(DestAddress::SmeAddress(SmeAddress::new(
            Ton::International,
            Npi::Isdn,
            c_string(number).unwrap(),
        )));
    }
    let response = client.request(pdu).await;
    assert_eq!(response.status(), CommandStatus::EsmeRok);
    let Some(Pdu::SubmitMultiResp(r)) = response.pdu() else {
        panic!("{response:?}");
    };
    let unsuccessful: Vec<(String, CommandStatus)> = r
        .unsuccess_sme()
        .iter()
        .map(|u| (u.destination_addr.as_str().to_owned(), u.error_status_code))
        .collect();
    assert_eq!(unsuccessful, vec![("1234".to_owned(), status(0x0B))]);
    let messages = fixture
        .store
        .campaign_messages(
            fixture.account.id,
            r.message_id.as_str().parse().unwrap(),
            None,
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(messages.len(), 2);
    fixture.stop().await;
}

#[tokio::test]
async fn session_commands_and_garbage() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transceiver).await;
    let response = client.request(Pdu::EnquireLink).await;
    assert_eq!(response.id(), CommandId::EnquireLinkResp);
    // An unknown command id is not served.
    let seq = client.sequence();
    client
        .send(Command::new(
            CommandStatus::EsmeRok,
            seq,
            Pdu::Other {
                command_id: CommandId::Other(0x0000_0077),
                body: AnyOctetString::empty(),
            },
        ))
        .await;
    let nack = client.response(seq).await;
    assert_eq!(nack.id(), CommandId::GenericNack);
    assert_eq!(nack.status(), status(0x03));
    let response = client.request(Pdu::Unbind).await;
    assert_eq!(response.id(), CommandId::UnbindResp);
    assert!(client.next().await.is_none(), "closed after unbind");

    let mut client = bound(&fixture, BindAs::Transceiver).await;
    use tokio::io::AsyncWriteExt;
    client
        .framed
        .get_mut()
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let nack = client.next().await.expect("a generic_nack");
    assert_eq!(nack.id(), CommandId::GenericNack);
    assert_eq!(nack.status(), status(0x02));
    assert!(client.next().await.is_none(), "closed after garbage");
    fixture.stop().await;
}

fn receipt_of(command: &Command) -> (String, String, Option<String>, Option<u8>) {
    let Some(Pdu::DeliverSm(d)) = command.pdu() else {
        panic!("{command:?}");
    };
    assert_eq!(u8::from(d.esm_class), 0x04);
    let mut receipted = None;
    let mut state = None;
    for tlv in d.tlvs() {
        match tlv.value() {
            Some(TlvValue::ReceiptedMessageId(id)) => receipted = Some(id.as_str().to_owned()),
            Some(TlvValue::MessageState(s)) => state = Some(u8::from(*s)),
            _ => {}
        }
    }
    (
        d.source_addr.as_str().to_owned(),
        String::from_utf8(d.short_message().to_vec()).unwrap(),
        receipted,
        state,
    )
}

#[tokio::test]
async fn receipts_come_back_on_the_transceiver() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transceiver).await;
    let id = accepted(
        &mut client,
        &submit("33612345678", 0, b"hello".to_vec()),
        vec![],
    )
    .await;
    let receipt = client.deliver_sm().await;
    let (source, text, receipted, state) = receipt_of(&receipt);
    assert_eq!(source, "33612345678");
    assert!(
        text.starts_with(&format!("id:{id} sub:001 dlvrd:001 submit date:")),
        "{text}"
    );
    assert!(text.contains(" stat:DELIVRD err:000 text:hello"), "{text}");
    assert_eq!(receipted.as_deref(), Some(id.as_str()));
    assert_eq!(state, Some(2));
    // Acknowledged: nothing left in the outbox.
    let store = fixture.store.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while store.pending_webhooks().await.unwrap() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "receipt not marked delivered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fixture.stop().await;
}

/// Whether the campaign's single message is delivered within 5 s.
async fn delivered(fixture: &Fixture, campaign: &str) -> bool {
    let campaign: i64 = campaign.parse().unwrap();
    for _ in 0..250 {
        let counts = fixture
            .store
            .campaign_status_counts(fixture.account.id, campaign)
            .await
            .unwrap();
        if counts.get(&MessageStatus::Delivered) == Some(&1) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn receipts_wait_for_a_receiver() {
    let fixture = Fixture::start(Options::default()).await;
    let mut transmitter = bound(&fixture, BindAs::Transmitter).await;
    let (_, id) = send(
        &mut transmitter,
        &submit("33612345678", 0, b"hi".to_vec()),
        vec![],
    )
    .await;
    let id = id.unwrap();
    // Delivered in the store, with nobody to tell.
    assert!(delivered(&fixture, &id).await);
    use futures_util::StreamExt;
    let nothing = tokio::time::timeout(Duration::from_millis(300), transmitter.framed.next()).await;
    assert!(nothing.is_err(), "no receipt on a transmitter: {nothing:?}");

    let mut receiver = bound(&fixture, BindAs::Receiver).await;
    let receipt = receiver.deliver_sm().await;
    assert_eq!(receipt_of(&receipt).2.as_deref(), Some(id.as_str()));
    fixture.stop().await;
}

/// The number the client sends from, which replies are addressed to.
const LONG_NUMBER: &str = "33757000001";

/// A reply from `from`, through the engine's inbound entry point (as the
/// ESME and the simulator hand theirs).
async fn reply(fixture: &Fixture, from: &str, text: &str) -> Inbound {
    let sink = StoreSink::new(fixture.store.clone(), vec!["STOP".into()]);
    let inbound = NewInbound {
        from: from.parse().unwrap(),
        to: LONG_NUMBER.into(),
        text: text.into(),
        connector: "simulator".into(),
        at: jiff::Timestamp::now().as_millisecond(),
    };
    sink.inbound(inbound, None)
        .await
        .expect("the reply matches the account")
}

/// Submits "hi" to +33612345678 from [`LONG_NUMBER`], without asking for receipts.
async fn submit_from_long_number(client: &mut Client) -> String {
    let fields = ShortMessage {
        source: Address::new(1, 1, LONG_NUMBER),
        registered_delivery: 0,
        ..submit("33612345678", 0, b"hi".to_vec())
    };
    accepted(client, &fields, vec![]).await
}

/// The fields of an MO `deliver_sm`, checking its addresses.
fn mo_of(command: &Command) -> ShortMessage {
    let Some(Pdu::DeliverSm(d)) = command.pdu() else {
        panic!("{command:?}");
    };
    let fields = ShortMessage::of_deliver(d);
    assert_eq!(fields.source, Address::new(1, 1, "33612345678"));
    assert_eq!(fields.destination, Address::new(1, 1, LONG_NUMBER));
    fields
}

/// Waits until every outbox entry is finished.
async fn outbox_drained(fixture: &Fixture) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while fixture.store.pending_webhooks().await.unwrap() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox entries not finished"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn replies_come_back_as_mo_deliver_sm() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transceiver).await;
    let id = submit_from_long_number(&mut client).await;
    let campaign = fixture
        .store
        .campaign(fixture.account.id, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(campaign.callback_url, None, "no receipts asked for");

    // GSM-7, extension characters included: data_coding 0, unpacked septets.
    let text = "Yes {see you} at 10€";
    let inbound = reply(&fixture, "+33612345678", text).await;
    assert!(
        inbound.message_id.is_some(),
        "linked to the message it answers"
    );
    let mo = mo_of(&client.deliver_sm().await);
    assert_eq!((mo.esm_class, mo.data_coding), (0, 0));
    assert_eq!(mo.short_message, relais_core::gsm7::encode(text).unwrap());

    // UCS-2, emoji included: data_coding 8, UTF-16BE.
    let text = "Merci 😀 à demain";
    reply(&fixture, "+33612345678", text).await;
    let mo = mo_of(&client.deliver_sm().await);
    assert_eq!((mo.esm_class, mo.data_coding), (0, 8));
    assert_eq!(common::utf16(&mo.short_message), text);

    // Longer than one SMS: parts with a concatenation UDH.
    let text = "A long answer that does not fit in one SMS. ".repeat(5);
    reply(&fixture, "+33612345678", &text).await;
    let mut septets = Vec::new();
    for seq in 1..=2u8 {
        let mo = mo_of(&client.deliver_sm().await);
        assert_eq!(
            (mo.esm_class, mo.data_coding),
            (0x40, 0),
            "esm_class: UDHI only"
        );
        let (concat, payload) = split_udh(&mo.short_message).unwrap();
        let concat = concat.unwrap();
        assert_eq!((concat.total, concat.seq), (2, seq));
        septets.extend_from_slice(payload);
    }
    assert_eq!(relais_core::gsm7::decode(&septets), text);

    // A STOP reply is a reply too.
    reply(&fixture, "+33612345678", "STOP").await;
    let mo = mo_of(&client.deliver_sm().await);
    assert_eq!((mo.esm_class, mo.short_message), (0, b"STOP".to_vec()));

    // Each acknowledged: nothing left in the outbox.
    outbox_drained(&fixture).await;
    fixture.stop().await;
}

#[tokio::test]
async fn replies_wait_for_a_receiver_and_an_answer() {
    let mut options = Options::default();
    options.server.receipt_retry_ms = 100;
    let fixture = Fixture::start(options).await;
    let mut transmitter = bound(&fixture, BindAs::Transmitter).await;
    submit_from_long_number(&mut transmitter).await;
    reply(&fixture, "+33612345678", "Later").await;
    use futures_util::StreamExt;
    let nothing = tokio::time::timeout(Duration::from_millis(300), transmitter.framed.next()).await;
    assert!(nothing.is_err(), "no reply on a transmitter: {nothing:?}");
    assert_eq!(fixture.store.pending_webhooks().await.unwrap(), 1);

    // A receiver that leaves without answering: the reply stays queued…
    let mut leaving = bound(&fixture, BindAs::Receiver).await;
    let unanswered = loop {
        let command = leaving.next().await.expect("connection open");
        if command.id() == CommandId::DeliverSm {
            break command;
        }
    };
    assert_eq!(mo_of(&unanswered).short_message, b"Later".to_vec());
    drop(leaving);

    // … and goes to the next bind, which answers it.
    let mut receiver = bound(&fixture, BindAs::Receiver).await;
    let mo = mo_of(&receiver.deliver_sm().await);
    assert_eq!((mo.esm_class, mo.short_message), (0, b"Later".to_vec()));
    outbox_drained(&fixture).await;
    fixture.stop().await;
}

/// The next `deliver_sm` on `client`, not acknowledged.
async fn unanswered_deliver_sm(client: &mut Client) -> Command {
    loop {
        let command = client.next().await.expect("connection open");
        if command.id() == CommandId::DeliverSm {
            return command;
        }
    }
}

async fn acknowledge(client: &mut Client, deliver_sm: &Command) {
    client
        .send(Command::new(
            CommandStatus::EsmeRok,
            deliver_sm.sequence_number(),
            rusmpp::pdus::DeliverSmResp::new(Default::default(), Vec::new()),
        ))
        .await;
}

/// Receipts and replies go out as a pipeline: a client slow to acknowledge
/// one does not hold back the next batch (claimed once fewer than a batch
/// are in flight), and every one is finished once acknowledged.
#[tokio::test]
async fn an_unacknowledged_reply_does_not_hold_back_the_next_batch() {
    let mut options = Options::default();
    options.server.receipt_batch = 2;
    options.server.receipt_poll_ms = 20;
    let fixture = Fixture::start(options).await;
    let mut transmitter = bound(&fixture, BindAs::Transmitter).await;
    submit_from_long_number(&mut transmitter).await;
    let mut receiver = bound(&fixture, BindAs::Receiver).await;

    reply(&fixture, "+33612345678", "one").await;
    let slow = unanswered_deliver_sm(&mut receiver).await;
    assert_eq!(mo_of(&slow).short_message, b"one".to_vec());
    reply(&fixture, "+33612345678", "two").await;
    let second = unanswered_deliver_sm(&mut receiver).await;
    assert_eq!(mo_of(&second).short_message, b"two".to_vec());
    acknowledge(&mut receiver, &second).await;

    // "one" still waits for its answer; "three" goes all the same.
    reply(&fixture, "+33612345678", "three").await;
    let third = unanswered_deliver_sm(&mut receiver).await;
    assert_eq!(mo_of(&third).short_message, b"three".to_vec());
    acknowledge(&mut receiver, &third).await;
    acknowledge(&mut receiver, &slow).await;
    outbox_drained(&fixture).await;
    fixture.stop().await;
}

/// A submit scheduled a day ahead: it stays in the store, cancellable.
async fn send_scheduled(client: &mut Client, destination: &str) -> String {
    let mut pdu = submit(destination, 0, b"later".to_vec())
        .submit_sm(vec![])
        .unwrap();
    pdu.schedule_delivery_time =
        EmptyOrFullCOctetString::from_static_slice(b"000001000000000R\0").unwrap();
    let response = client.request(pdu).await;
    assert_eq!(response.status(), CommandStatus::EsmeRok);
    match response.pdu() {
        Some(Pdu::SubmitSmResp(r)) => r.message_id().as_str().to_owned(),
        other => panic!("not a submit_sm_resp: {other:?}"),
    }
}

/// `query_sm` for `id`: status, final_date and message_state.
async fn query(client: &mut Client, id: &str) -> (CommandStatus, String, Option<u8>) {
    let pdu = QuerySm::builder().message_id(c_string(id).unwrap()).build();
    let response = client.request(pdu).await;
    assert_eq!(response.id(), CommandId::QuerySmResp);
    match response.pdu() {
        Some(Pdu::QuerySmResp(r)) => {
            assert_eq!(r.message_id.as_str(), id);
            assert_eq!(r.error_code, 0);
            (
                response.status(),
                String::from_utf8(r.final_date.as_ref().to_vec()).unwrap(),
                Some(u8::from(r.message_state)),
            )
        }
        _ => (response.status(), String::new(), None),
    }
}

/// `cancel_sm` for `id`: its status.
async fn cancel(client: &mut Client, id: &str) -> CommandStatus {
    let pdu = CancelSm::builder()
        .message_id(c_string(id).unwrap())
        .build();
    let response = client.request(pdu).await;
    assert_eq!(response.id(), CommandId::CancelSmResp);
    response.status()
}

/// A campaign of another account, scheduled a day ahead.
async fn foreign_campaign(fixture: &Fixture) -> String {
    let other = fixture
        .store
        .create_account(
            NewAccount::new("someone-else", None),
            jiff::Timestamp::now().as_millisecond(),
        )
        .await
        .unwrap();
    let request = SendRequest {
        text: Some("not yours".into()),
        recipients: vec![Recipient::new("+33612345678")],
        send_at: Some(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24)),
        ..SendRequest::default()
    };
    let pipeline = Pipeline::new(fixture.store.clone(), SendSettings::default());
    match pipeline
        .send(&other, &request, SendOptions::default())
        .await
        .unwrap()
    {
        SendOutcome::Planned {
            campaign_id: Some(id),
            ..
        } => id.to_string(),
        _ => panic!("not planned"),
    }
}

#[tokio::test]
async fn query_sm_answers_the_message_state() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transmitter).await;
    let id = accepted(
        &mut client,
        &submit("33612345678", 0, b"hi".to_vec()),
        vec![],
    )
    .await;
    assert!(delivered(&fixture, &id).await);
    let (code, final_date, state) = query(&mut client, &id).await;
    assert_eq!(code, CommandStatus::EsmeRok);
    assert_eq!(state, Some(2), "DELIVERED");
    // YYMMDDhhmmsst00+ of today, in UTC.
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%y%m%d")
        .to_string();
    assert_eq!(final_date.len(), 17, "{final_date:?}");
    assert!(final_date.ends_with("00+\0"), "{final_date:?}");
    // Around midnight the delivery may be of the day before.
    let yesterday = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1))
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%y%m%d")
        .to_string();
    assert!(
        final_date.starts_with(&today) || final_date.starts_with(&yesterday),
        "{final_date:?}"
    );

    let scheduled = send_scheduled(&mut client, "33612345679").await;
    assert_eq!(
        query(&mut client, &scheduled).await,
        (CommandStatus::EsmeRok, "\0".to_owned(), Some(1)),
        "ENROUTE, no final date"
    );

    let foreign = foreign_campaign(&fixture).await;
    for unknown in [foreign.as_str(), "999999", "not-an-id"] {
        assert_eq!(
            query(&mut client, unknown).await.0,
            status(0x67),
            "{unknown}"
        );
    }

    // Not on a receiver bind.
    let mut receiver = bound(&fixture, BindAs::Receiver).await;
    assert_eq!(query(&mut receiver, &id).await.0, status(0x04));
    fixture.stop().await;
}

#[tokio::test]
async fn cancel_sm_cancels_and_refunds_a_scheduled_submit() {
    let balance = Amount::from_micros(1_000_000);
    let fixture = Fixture::start(Options {
        balance: Some(balance),
        ..Options::default()
    })
    .await;
    let mut client = bound(&fixture, BindAs::Transceiver).await;
    let id = send_scheduled(&mut client, "33612345678").await;
    let campaign: i64 = id.parse().unwrap();
    let account = |f: &Fixture| {
        let store = f.store.clone();
        let id = f.account.id;
        async move { store.account(id).await.unwrap().unwrap() }
    };
    let debited = account(&fixture).await.balance.unwrap();
    assert!(debited < balance, "the submit was debited");

    let foreign = foreign_campaign(&fixture).await;
    assert_eq!(cancel(&mut client, &foreign).await, status(0x11));
    assert_eq!(cancel(&mut client, "999999").await, status(0x11));

    assert_eq!(cancel(&mut client, &id).await, CommandStatus::EsmeRok);
    let stored = fixture
        .store
        .campaign(fixture.account.id, campaign)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, CampaignStatus::Cancelled);
    assert_eq!(account(&fixture).await.balance, Some(balance), "refunded");
    assert_eq!(
        query(&mut client, &id).await.2,
        Some(4),
        "DELETED once cancelled"
    );

    assert_eq!(cancel(&mut client, &id).await, status(0x11), "nothing left");
    assert_eq!(account(&fixture).await.balance, Some(balance));
    fixture.stop().await;
}

#[tokio::test]
async fn replace_sm_is_refused() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = bound(&fixture, BindAs::Transmitter).await;
    let id = send_scheduled(&mut client, "33612345678").await;
    let pdu = ReplaceSm::builder()
        .message_id(c_string(&id).unwrap())
        .build();
    let response = client.request(pdu).await;
    assert_eq!(response.id(), CommandId::ReplaceSmResp);
    assert_eq!(response.status(), status(0x13));
    fixture.stop().await;
}
