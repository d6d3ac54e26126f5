//! The SMPP front door's decoding: frames cut from any byte stream, every
//! decoded PDU re-encodes to bytes that decode to the same command, and a
//! submit's or deliver's fields go through the decode path the server and
//! the ESME share (`pdu::message_body`, `pdu::user_data`: text by
//! `data_coding`, `message_payload`, UDH or SAR; SMPP times, receipt text);
//! undecodable submits and binds get a status.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use relais_smpp::pdu::{self, Frame, FrameDecoder, ShortMessage, TextCoding};
use relais_smpp::receipt::ReceiptText;
use relais_smpp::server::submit::{self, parse_time};
use rusmpp::tlvs::Tlv;
use rusmpp::{Command, Pdu};
use tokio_util::codec::Decoder;

/// 2026-01-01T00:00:00Z: SMPP times are read relative to a fixed "now".
const NOW_S: i64 = 1_767_225_600;

fuzz_target!(|data: &[u8]| {
    let mut decoder = FrameDecoder::default();
    let mut src = BytesMut::from(data);
    while let Ok(Some(frame)) = decoder.decode(&mut src) {
        match frame {
            Frame::Command(command) => check(&command),
            Frame::Invalid {
                command_id, body, ..
            } => match command_id {
                0x01 | 0x02 | 0x09 => {
                    submit::status_of_invalid_bind(&body);
                }
                0x04 => {
                    submit::status_of_invalid_submit(&body);
                }
                _ => {}
            },
            Frame::Garbage { .. } => break,
        }
    }
});

fn check(command: &Command) {
    let mut wire = BytesMut::new();
    pdu::encode(command, &mut wire);
    let again = FrameDecoder::default().decode(&mut wire.clone());
    let again = match again {
        Ok(Some(Frame::Command(again))) => again,
        // rusmpp reads any TLV as a bind response's sc_interface_version but
        // checks the TLV's own type when reading it again: a bind response
        // comes only from a carrier's SMSC and relais never re-encodes one.
        Ok(Some(Frame::Invalid { command_id, .. }))
            if matches!(command_id, 0x8000_0001 | 0x8000_0002 | 0x8000_0009) =>
        {
            return;
        }
        other => panic!("{command:?} re-encoded as {wire:?} decodes as {other:?}"),
    };
    // rusmpp keeps no body (`pdu: None`) for some PDUs that carry unexpected
    // octets; re-encoded, a body-less PDU such as enquire_link decodes with
    // its (empty) body. Everything else comes back as it was.
    assert_eq!(again.id(), command.id());
    assert_eq!(again.status(), command.status());
    assert_eq!(again.sequence_number(), command.sequence_number());
    if command.pdu().is_some() {
        assert_eq!(again.pdu(), command.pdu());
    }
    let mut rewire = BytesMut::new();
    pdu::encode(&again, &mut rewire);
    if command.pdu().is_some() {
        assert_eq!(rewire, wire);
    }
    let now = jiff::Timestamp::from_second(NOW_S).expect("a valid time");
    match command.pdu() {
        Some(Pdu::SubmitSm(s)) => {
            user_data(&ShortMessage::of_submit(s), s.tlvs());
            let _ = parse_time(&s.schedule_delivery_time.to_string(), now);
            let _ = parse_time(&s.validity_period.to_string(), now);
        }
        Some(Pdu::SubmitMulti(m)) => {
            let _ = parse_time(&m.schedule_delivery_time.to_string(), now);
            let _ = parse_time(&m.validity_period.to_string(), now);
        }
        Some(Pdu::DeliverSm(d)) => {
            let fields = ShortMessage::of_deliver(d);
            if let Some(text) = user_data(&fields, d.tlvs()) {
                let _ = ReceiptText::parse(&text);
            }
            let _ = pdu::receipted_message_id(d.tlvs());
            let _ = pdu::message_state(d.tlvs());
        }
        _ => {}
    }
}

/// What the server and the ESME do with a message's octets (the same
/// `pdu` helpers): `None` when they would refuse them.
fn user_data(fields: &ShortMessage, tlvs: &[Tlv]) -> Option<String> {
    let coding = TextCoding::of(fields.data_coding)?;
    let (concat, payload) =
        pdu::user_data(fields.esm_class, pdu::message_body(fields.short_message.clone(), tlvs), tlvs)?;
    if let Some(c) = concat {
        let _ = c.is_valid();
    }
    coding
        .is_well_formed(&payload)
        .then(|| coding.decode(&payload))
}
