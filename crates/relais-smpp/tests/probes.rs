//! The SMPP server door probed with what a scanner or a broken client sends:
//! impossible command_lengths, truncated PDUs, commands before a bind, bind
//! floods. Each is answered as SMPP says (a `generic_nack`, the command's
//! own response with an error status, or a close), no session panics, and
//! the server still serves a good client afterwards.

mod common;

use std::time::Duration;

use common::fixture::{BindAs, Client, Fixture, Options, PASSWORD, SYSTEM_ID};
use relais_smpp::pdu::{Address, ShortMessage, c_string};
use rusmpp::pdus::QuerySm;
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use tokio::io::AsyncWriteExt;

/// A PDU as raw octets: header (with `length` as command_length) and body.
fn raw(length: u32, command_id: u32, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut frame = length.to_be_bytes().to_vec();
    frame.extend_from_slice(&command_id.to_be_bytes());
    frame.extend_from_slice(&0u32.to_be_bytes());
    frame.extend_from_slice(&seq.to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

async fn write_raw(client: &mut Client, octets: &[u8]) {
    client.framed.get_mut().write_all(octets).await.unwrap();
}

fn hello() -> ShortMessage {
    ShortMessage {
        source: Address::new(5, 0, "Relais"),
        destination: Address::new(1, 1, "33612345678"),
        short_message: b"still here".to_vec(),
        ..ShortMessage::default()
    }
}

/// A client that binds and gets a submit accepted: the server still serves.
async fn serves_a_good_client(fixture: &Fixture) {
    let mut client = fixture.client().await;
    assert_eq!(
        client.bind(BindAs::Transceiver, SYSTEM_ID, PASSWORD).await,
        CommandStatus::EsmeRok
    );
    let response = client.request(hello().submit_sm(vec![]).unwrap()).await;
    assert_eq!(response.id(), CommandId::SubmitSmResp);
    assert_eq!(response.status(), CommandStatus::EsmeRok);
}

#[tokio::test]
async fn command_lengths_that_cannot_be_pdus_are_nacked_and_closed() {
    let fixture = Fixture::start(Options::default()).await;
    for length in [0u32, 15, 1 << 31, u32::MAX] {
        let mut client = fixture.client().await;
        write_raw(&mut client, &raw(length, 0x15, 1, &[])).await;
        let nack = client.next().await.expect("a generic_nack");
        assert_eq!(nack.id(), CommandId::GenericNack, "length {length}");
        assert_eq!(nack.status(), CommandStatus::from(0x02), "ESME_RINVCMDLEN");
        assert!(
            client.next().await.is_none(),
            "closed after length {length}"
        );
    }
    serves_a_good_client(&fixture).await;
    fixture.stop().await;
}

#[tokio::test]
async fn truncated_pdus() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = fixture.client().await;
    assert_eq!(
        client.bind(BindAs::Transmitter, SYSTEM_ID, PASSWORD).await,
        CommandStatus::EsmeRok
    );
    // A submit_sm whose body stops after its source address: its own
    // response, with the status of the first field missing.
    let body = b"\0\x05\0Relais\0\x01\x01";
    write_raw(&mut client, &raw(16 + body.len() as u32, 0x04, 7, body)).await;
    let response = client.response(7).await;
    assert_eq!(response.id(), CommandId::SubmitSmResp);
    assert_eq!(
        response.status(),
        CommandStatus::from(0x0B),
        "ESME_RINVDSTADR"
    );
    // A bind_transmitter with no body at all, on the bound session.
    write_raw(&mut client, &raw(16, 0x02, 8, &[])).await;
    let response = client.response(8).await;
    assert!(
        matches!(
            response.id(),
            CommandId::BindTransmitterResp | CommandId::GenericNack
        ),
        "{response:?}"
    );
    assert_ne!(response.status(), CommandStatus::EsmeRok);
    // An enquire_link with a body it should not have is still answered.
    write_raw(&mut client, &raw(20, 0x15, 9, b"junk")).await;
    let response = client.response(9).await;
    assert!(
        matches!(
            response.id(),
            CommandId::EnquireLinkResp | CommandId::GenericNack
        ),
        "{response:?}"
    );
    // The session goes on.
    let response = client.request(hello().submit_sm(vec![]).unwrap()).await;
    assert_eq!(response.status(), CommandStatus::EsmeRok);

    // A PDU cut by the connection closing: half a header, then half a body.
    for cut in [
        &raw(64, 0x04, 10, &[])[..2],
        &raw(64, 0x04, 10, b"\0\x05\0Rel"),
    ] {
        let mut client = fixture.client().await;
        write_raw(&mut client, cut).await;
        client.framed.get_mut().shutdown().await.unwrap();
        assert!(client.next().await.is_none(), "closed without an answer");
    }
    serves_a_good_client(&fixture).await;
    fixture.stop().await;
}

#[tokio::test]
async fn commands_before_a_bind() {
    let fixture = Fixture::start(Options::default()).await;
    let mut client = fixture.client().await;
    let response = client.request(hello().submit_sm(vec![]).unwrap()).await;
    assert_eq!(response.id(), CommandId::SubmitSmResp);
    assert_eq!(
        response.status(),
        CommandStatus::from(0x04),
        "ESME_RINVBNDSTS"
    );
    let query = QuerySm::builder()
        .message_id(c_string("1").unwrap())
        .build();
    let response = client.request(query).await;
    assert_eq!(response.id(), CommandId::QuerySmResp);
    assert_eq!(response.status(), CommandStatus::from(0x04));
    let response = client.request(Pdu::EnquireLink).await;
    assert_eq!(response.id(), CommandId::EnquireLinkResp);
    // A response to nothing is ignored; the session still answers.
    let seq = client.sequence();
    client
        .send(Command::new(
            CommandStatus::EsmeRok,
            seq,
            Pdu::EnquireLinkResp,
        ))
        .await;
    let response = client.request(Pdu::EnquireLink).await;
    assert_eq!(response.id(), CommandId::EnquireLinkResp);
    let response = client.request(Pdu::Unbind).await;
    assert_eq!(response.id(), CommandId::UnbindResp);
    assert!(client.next().await.is_none(), "closed after unbind");
    serves_a_good_client(&fixture).await;
    fixture.stop().await;
}

/// Many connections binding wrong at once, and one connection pipelining
/// binds: every bind is answered, and the server serves on. (The bind
/// guard is off here: from one address, the flood would lock the good
/// client out too, which `server.rs` checks.)
#[tokio::test]
async fn bind_floods() {
    let mut options = Options::default();
    options.server.bind_failures_before_delay = 0;
    options.server.bind_failures_before_lockout = 0;
    let fixture = Fixture::start(options).await;
    let addr = fixture.server.local_addr();
    let flood: Vec<_> = (0..100)
        .map(|_| {
            tokio::spawn(async move {
                let mut client = Client::connect(addr).await;
                client.bind(BindAs::Transceiver, SYSTEM_ID, "wrong").await
            })
        })
        .collect();
    for bind in flood {
        assert_eq!(bind.await.unwrap(), CommandStatus::from(0x0D));
    }

    let mut client = fixture.client().await;
    let mut seqs = Vec::new();
    for _ in 0..50 {
        let seq = client.sequence();
        let pdu = rusmpp::pdus::BindTransmitter::builder()
            .system_id(c_string(SYSTEM_ID).unwrap())
            .password(c_string(PASSWORD).unwrap())
            .build();
        client
            .send(Command::new(CommandStatus::EsmeRok, seq, pdu))
            .await;
        seqs.push(seq);
    }
    let mut statuses = Vec::new();
    for seq in seqs {
        statuses.push(client.response(seq).await.status());
    }
    assert_eq!(statuses[0], CommandStatus::EsmeRok);
    assert!(
        statuses[1..]
            .iter()
            .all(|s| *s == CommandStatus::from(0x05)),
        "ESME_RALYBND: {statuses:?}"
    );
    tokio::time::timeout(Duration::from_secs(10), serves_a_good_client(&fixture))
        .await
        .expect("served in time");
    fixture.stop().await;
}

/// A flood of wrong binds against stored (Argon2) logins: each is refused,
/// a bound session keeps being answered meanwhile, and the right password
/// still binds after.
#[tokio::test]
async fn a_bind_flood_on_stored_logins() {
    let mut options = Options {
        store_auth: true,
        ..Options::default()
    };
    options.server.bind_failures_before_delay = 0;
    options.server.bind_failures_before_lockout = 0;
    let fixture = Fixture::start(options).await;
    let mut bound = fixture.client().await;
    assert_eq!(
        bound.bind(BindAs::Transceiver, SYSTEM_ID, PASSWORD).await,
        CommandStatus::EsmeRok,
        "the stored Argon2 login binds"
    );
    let addr = fixture.server.local_addr();
    let flood: Vec<_> = (0..20)
        .map(|i| {
            tokio::spawn(async move {
                let mut client = Client::connect(addr).await;
                let system_id = if i % 2 == 0 { SYSTEM_ID } else { "nobody" };
                client.bind(BindAs::Transmitter, system_id, "wrong").await
            })
        })
        .collect();
    let response = bound.request(Pdu::EnquireLink).await;
    assert_eq!(response.id(), CommandId::EnquireLinkResp);
    for bind in flood {
        assert_eq!(bind.await.unwrap(), CommandStatus::from(0x0D));
    }
    serves_a_good_client(&fixture).await;
    fixture.stop().await;
}
