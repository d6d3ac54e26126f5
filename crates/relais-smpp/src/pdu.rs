//! PDU helpers shared by the ESME, the server and the simulator: framing that
//! survives undecodable PDUs, encoding, status codes, addresses, user data
//! headers, TLV lookups and text decoding by `data_coding`.
//!
//! rusmpp's own `CommandCodec` gives up on a connection at the first PDU it
//! cannot decode: it has already consumed part of the frame, and
//! `FramedRead` ends the stream after an error. SMPP wants the peer told
//! (`generic_nack`, or the command's response with a status) and the session
//! kept, so [`FrameDecoder`] cuts whole frames by their length first and only
//! then asks rusmpp to decode one, keeping its header when that fails.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use relais_core::encoding::Encoding;
use relais_core::{gsm7, segments};
use rusmpp::decode::DecodeWithLength;
use rusmpp::encode::Length;
use rusmpp::encode::owned::Encode;
use rusmpp::pdus::{DeliverSm, SubmitSm};
use rusmpp::tlvs::{
    MessageDeliveryRequestTlvValue, MessageSubmissionRequestTlvValue, Tlv, TlvValue,
};
use rusmpp::types::{AnyOctetString, COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, Npi, RegisteredDelivery, ServiceType, Ton};
use rusmpp::{Command, CommandId, CommandStatus};

/// Command ids and statuses as numbers, for matching and messages.
pub mod status {
    pub const OK: u32 = 0x00;
    pub const INVALID_MESSAGE_LENGTH: u32 = 0x01;
    pub const INVALID_COMMAND_LENGTH: u32 = 0x02;
    pub const INVALID_COMMAND_ID: u32 = 0x03;
    pub const INVALID_BIND_STATUS: u32 = 0x04;
    pub const ALREADY_BOUND: u32 = 0x05;
    pub const SYSTEM_ERROR: u32 = 0x08;
    pub const INVALID_SOURCE: u32 = 0x0A;
    pub const INVALID_DESTINATION: u32 = 0x0B;
    pub const BIND_FAILED: u32 = 0x0D;
    pub const CANCEL_FAILED: u32 = 0x11;
    pub const REPLACE_FAILED: u32 = 0x13;
    pub const INVALID_PASSWORD: u32 = 0x0E;
    pub const INVALID_SYSTEM_ID: u32 = 0x0F;
    pub const QUEUE_FULL: u32 = 0x14;
    pub const INVALID_DEST_COUNT: u32 = 0x33;
    pub const SUBMIT_FAILED: u32 = 0x45;
    pub const THROTTLED: u32 = 0x58;
    pub const INVALID_SCHEDULE: u32 = 0x61;
    pub const INVALID_EXPIRY: u32 = 0x62;
    pub const TEMPORARY_APP_ERROR: u32 = 0x64;
    pub const QUERY_FAILED: u32 = 0x67;
    pub const PERMANENT_APP_ERROR: u32 = 0x65;
    pub const INVALID_TLV_STREAM: u32 = 0xC0;
    pub const INVALID_DATA_CODING: u32 = 0x104;

    /// The peer asks us to slow down: try the same PDU again later.
    pub fn is_throttling(status: u32) -> bool {
        matches!(status, THROTTLED | QUEUE_FULL)
    }

    /// Errors an SMSC reports for its own trouble rather than the message's:
    /// another route (or this one later) may take the message.
    pub fn is_temporary(status: u32) -> bool {
        matches!(
            status,
            SYSTEM_ERROR | INVALID_BIND_STATUS | TEMPORARY_APP_ERROR
        )
    }
}

/// Largest PDU accepted: a `submit_multi` to 255 destinations or a long
/// `message_payload` stays well below it; anything larger is garbage.
pub const MAX_PDU_LENGTH: usize = 70_000;
const HEADER_LENGTH: usize = 16;

/// One PDU read from the wire.
#[derive(Debug)]
// Frames are moved once from the decoder to their handler; boxing the common
// variant would cost an allocation per PDU to save a copy of a few hundred bytes.
#[allow(clippy::large_enum_variant)]
pub enum Frame {
    Command(Command),
    /// A frame rusmpp could not decode, with what its header says.
    Invalid {
        command_id: u32,
        command_status: u32,
        sequence_number: u32,
        /// The body after the header, for a closer look at what is wrong.
        body: Bytes,
        error: String,
    },
    /// A length that cannot be a PDU: the stream cannot be resynchronised,
    /// so the session answers `generic_nack` and closes.
    Garbage {
        length: u32,
    },
}

/// Cuts the byte stream into [`Frame`]s (see the module documentation).
#[derive(Debug, Default)]
pub struct FrameDecoder {
    /// Set after [`Frame::Garbage`]: nothing more is read.
    poisoned: bool,
}

impl tokio_util::codec::Decoder for FrameDecoder {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        if self.poisoned {
            src.clear();
            return Ok(None);
        }
        if src.len() < 4 {
            return Ok(None);
        }
        let length = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        let len = length as usize;
        if !(HEADER_LENGTH..=MAX_PDU_LENGTH).contains(&len) {
            self.poisoned = true;
            src.clear();
            return Ok(Some(Frame::Garbage { length }));
        }
        if src.len() < len {
            src.reserve(len - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(len);
        frame.advance(4);
        let header = |at: usize| {
            u32::from_be_bytes([frame[at], frame[at + 1], frame[at + 2], frame[at + 3]])
        };
        let (command_id, command_status, sequence_number) = (header(0), header(4), header(8));
        let body = Bytes::copy_from_slice(&frame[12..]);
        match Command::decode(&mut frame, len - 4) {
            Ok((command, _)) => Ok(Some(Frame::Command(command))),
            Err(e) => Ok(Some(Frame::Invalid {
                command_id,
                command_status,
                sequence_number,
                body,
                error: e.to_string(),
            })),
        }
    }
}

/// Appends `command` to `dst` as it goes on the wire.
pub fn encode(command: &Command, dst: &mut BytesMut) {
    let length = 4 + command.length();
    dst.reserve(length);
    dst.put_u32(length as u32);
    command.encode(dst);
}

/// A command encoded once, to be sent (and maybe sent again) with a fresh
/// sequence number each time.
#[derive(Debug, Clone)]
pub struct Encoded(Bytes);

impl Encoded {
    pub fn new(command: &Command) -> Self {
        let mut buf = BytesMut::new();
        encode(command, &mut buf);
        Encoded(buf.freeze())
    }

    /// Appends the PDU to `dst` with `sequence_number`.
    pub fn write(&self, sequence_number: u32, dst: &mut BytesMut) {
        let start = dst.len();
        dst.extend_from_slice(&self.0);
        dst[start + 12..start + 16].copy_from_slice(&sequence_number.to_be_bytes());
    }
}

pub fn status_code(status: CommandStatus) -> u32 {
    u32::from(status)
}

/// The response to request `request_id` with an error `status` and no body
/// (SMPP lets error responses omit it).
pub fn error_response(request_id: u32, status: u32, sequence_number: u32) -> Command {
    Command::new(
        CommandStatus::from(status),
        sequence_number,
        rusmpp::Pdu::Other {
            command_id: CommandId::from(request_id | 0x8000_0000),
            body: AnyOctetString::empty(),
        },
    )
}

/// `generic_nack` with `status` for `sequence_number`.
pub fn generic_nack(status: u32, sequence_number: u32) -> Command {
    Command::new(
        CommandStatus::from(status),
        sequence_number,
        rusmpp::Pdu::GenericNack,
    )
}

/// `at_ms` (since the epoch) as an absolute SMPP time in UTC,
/// `YYMMDDhhmmsst00+` (t: tenths of a second, rounded down so as never to
/// extend a client's deadline; `00+`: no offset from UTC).
pub fn absolute_time(at_ms: i64) -> Result<EmptyOrFullCOctetString<17>, String> {
    let utc = jiff::Timestamp::from_millisecond(at_ms)
        .map_err(|e| format!("time {at_ms} ms: {e}"))?
        .to_zoned(jiff::tz::TimeZone::UTC);
    let tenths = utc.subsec_nanosecond() / 100_000_000;
    let text = format!("{}{tenths}00+", utc.strftime("%y%m%d%H%M%S"));
    EmptyOrFullCOctetString::from_string(text).map_err(|e| format!("absolute time: {e}"))
}

/// A C-octet string of at most `MAX - 1` ASCII characters.
pub fn c_string<const MIN: usize, const MAX: usize>(
    value: &str,
) -> Result<COctetString<MIN, MAX>, String> {
    let mut bytes = Vec::with_capacity(value.len() + 1);
    bytes.extend_from_slice(value.as_bytes());
    bytes.push(0);
    COctetString::from_vec(bytes).map_err(|e| format!("{value:?}: {e}"))
}

/// The concatenation information element of a part: reference, total, sequence (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concat {
    pub reference: u16,
    pub total: u8,
    pub seq: u8,
}

/// Splits a short message that starts with a user data header into the
/// concatenation element (8-bit IEI 0x00 or 16-bit IEI 0x08, if present) and
/// the payload after the header. `None` when the header is malformed.
pub fn split_udh(message: &[u8]) -> Option<(Option<Concat>, &[u8])> {
    let udhl = usize::from(*message.first()?);
    let header = message.get(1..1 + udhl)?;
    let payload = &message[1 + udhl..];
    let mut concat = None;
    let mut rest = header;
    while rest.len() >= 2 {
        let (iei, len) = (rest[0], usize::from(rest[1]));
        let value = rest.get(2..2 + len)?;
        match (iei, value) {
            (0x00, &[reference, total, seq]) => {
                concat = Some(Concat {
                    reference: u16::from(reference),
                    total,
                    seq,
                });
            }
            (0x08, &[hi, lo, total, seq]) => {
                concat = Some(Concat {
                    reference: u16::from_be_bytes([hi, lo]),
                    total,
                    seq,
                });
            }
            _ => {}
        }
        rest = &rest[2 + len..];
    }
    Some((concat, payload))
}

/// The SAR TLVs of a PDU, when all three are present.
pub fn sar(tlvs: &[Tlv]) -> Option<Concat> {
    let (mut reference, mut total, mut seq) = (None, None, None);
    for tlv in tlvs {
        match tlv.value() {
            Some(TlvValue::SarMsgRefNum(v)) => reference = Some(*v),
            Some(TlvValue::SarTotalSegments(v)) => total = Some(*v),
            Some(TlvValue::SarSegmentSeqnum(v)) => seq = Some(*v),
            _ => {}
        }
    }
    Some(Concat {
        reference: reference?,
        total: total?,
        seq: seq?,
    })
}

/// The `message_payload` TLV, which replaces `short_message` when present.
pub fn message_payload(tlvs: &[Tlv]) -> Option<&[u8]> {
    tlvs.iter().find_map(|tlv| match tlv.value() {
        Some(TlvValue::MessagePayload(p)) => Some(p.value.as_ref()),
        _ => None,
    })
}

/// A message's octets: its `message_payload` TLV when `short_message` is
/// empty (SMPP 3.4 §5.3.2.32), else `short_message`.
pub fn message_body(short_message: Vec<u8>, tlvs: &[Tlv]) -> Vec<u8> {
    match message_payload(tlvs) {
        Some(payload) if short_message.is_empty() => payload.to_vec(),
        _ => short_message,
    }
}

/// A message's octets cut into its concatenation (the user data header's
/// when `esm_class` says there is one, else the SAR TLVs') and its text
/// octets. `None` when the header is malformed.
pub fn user_data(esm_class: u8, body: Vec<u8>, tlvs: &[Tlv]) -> Option<(Option<Concat>, Vec<u8>)> {
    if esm_class & ESM_UDHI != 0 {
        let (concat, payload) = split_udh(&body)?;
        Some((concat, payload.to_vec()))
    } else {
        Some((sar(tlvs), body))
    }
}

/// The `receipted_message_id` TLV of a delivery receipt.
pub fn receipted_message_id(tlvs: &[Tlv]) -> Option<String> {
    tlvs.iter().find_map(|tlv| match tlv.value() {
        Some(TlvValue::ReceiptedMessageId(id)) => Some(id.as_str().to_owned()),
        _ => None,
    })
}

/// The `message_state` TLV of a delivery receipt.
pub fn message_state(tlvs: &[Tlv]) -> Option<u8> {
    tlvs.iter().find_map(|tlv| match tlv.value() {
        Some(TlvValue::MessageState(state)) => Some(u8::from(*state)),
        _ => None,
    })
}

/// `esm_class` bit: the short message starts with a user data header.
pub const ESM_UDHI: u8 = 0x40;
/// `esm_class` message type bits (0x3C): a delivery receipt is 0x04, an
/// intermediate notification 0x20; plain messages have none of them.
pub const ESM_TYPE_MASK: u8 = 0x3C;
pub const ESM_RECEIPT: u8 = 0x04;

/// Text encodings SMPP peers use, by `data_coding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCoding {
    /// 0: the SMSC default alphabet, GSM-7 unpacked (one septet per octet).
    Gsm7,
    /// 1: IA5 (ASCII), seven bits in one octet.
    Ia5,
    /// 3: Latin-1, one octet per character.
    Latin1,
    /// 8: UTF-16BE, surrogate pairs included.
    Ucs2,
}

impl TextCoding {
    /// The coding of a `data_coding` value; `None` for binary and the rest.
    pub fn of(data_coding: u8) -> Option<TextCoding> {
        match data_coding {
            0x00 => Some(TextCoding::Gsm7),
            0x01 => Some(TextCoding::Ia5),
            0x03 => Some(TextCoding::Latin1),
            0x08 => Some(TextCoding::Ucs2),
            // GSM data coding groups: 0xF0–0xFF "data coding/message class",
            // bit 2 says 8-bit data (not text) when set.
            0xF0..=0xF3 => Some(TextCoding::Gsm7),
            _ => None,
        }
    }

    /// Whether `bytes` can be text in this coding: UCS-2 takes whole
    /// 16-bit units (an odd byte count is not text), IA5 seven-bit octets.
    /// A submit failing this is refused (ESME_RINVMSGLEN), never padded.
    pub fn is_well_formed(self, bytes: &[u8]) -> bool {
        match self {
            TextCoding::Ucs2 => bytes.len().is_multiple_of(2),
            TextCoding::Ia5 => bytes.is_ascii(),
            TextCoding::Gsm7 | TextCoding::Latin1 => true,
        }
    }

    /// Decodes a payload (without header). Bad UTF-16, and IA5 octets
    /// above 0x7F, decode as U+FFFD (see [`is_well_formed`](Self::is_well_formed)).
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            TextCoding::Gsm7 => gsm7::decode(bytes),
            TextCoding::Ia5 => bytes
                .iter()
                .map(|&b| {
                    if b.is_ascii() {
                        char::from(b)
                    } else {
                        char::REPLACEMENT_CHARACTER
                    }
                })
                .collect(),
            TextCoding::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
            TextCoding::Ucs2 => {
                let units = bytes
                    .chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect()
            }
        }
    }
}

/// An address with its type of number and numbering plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub ton: u8,
    pub npi: u8,
    pub addr: String,
}

impl Address {
    pub fn new(ton: u8, npi: u8, addr: impl Into<String>) -> Self {
        Address {
            ton,
            npi,
            addr: addr.into(),
        }
    }
}

/// The fields `submit_sm` and `deliver_sm` share, as plain values.
#[derive(Debug, Clone, Default)]
pub struct ShortMessage {
    pub service_type: String,
    pub source: Address,
    pub destination: Address,
    pub esm_class: u8,
    pub registered_delivery: u8,
    pub data_coding: u8,
    /// At most 255 octets (longer texts go in `message_payload`).
    pub short_message: Vec<u8>,
}

impl ShortMessage {
    /// A `submit_sm` with these fields and TLVs.
    pub fn submit_sm(
        &self,
        tlvs: Vec<MessageSubmissionRequestTlvValue>,
    ) -> Result<SubmitSm, String> {
        let mut pdu = SubmitSm::builder()
            .service_type(ServiceType::new(c_string(&self.service_type)?))
            .source_addr_ton(Ton::from(self.source.ton))
            .source_addr_npi(Npi::from(self.source.npi))
            .source_addr(c_string(&self.source.addr)?)
            .dest_addr_ton(Ton::from(self.destination.ton))
            .dest_addr_npi(Npi::from(self.destination.npi))
            .destination_addr(c_string(&self.destination.addr)?)
            .esm_class(EsmClass::from(self.esm_class))
            .registered_delivery(RegisteredDelivery::from(self.registered_delivery))
            .data_coding(DataCoding::from(self.data_coding))
            .short_message(octets(&self.short_message)?)
            .build();
        pdu.set_tlvs(tlvs);
        Ok(pdu)
    }

    /// A `deliver_sm` with these fields and TLVs.
    pub fn deliver_sm(
        &self,
        tlvs: Vec<MessageDeliveryRequestTlvValue>,
    ) -> Result<DeliverSm, String> {
        let mut pdu = DeliverSm::builder()
            .service_type(ServiceType::new(c_string(&self.service_type)?))
            .source_addr_ton(Ton::from(self.source.ton))
            .source_addr_npi(Npi::from(self.source.npi))
            .source_addr(c_string(&self.source.addr)?)
            .dest_addr_ton(Ton::from(self.destination.ton))
            .dest_addr_npi(Npi::from(self.destination.npi))
            .destination_addr(c_string(&self.destination.addr)?)
            .esm_class(EsmClass::from(self.esm_class))
            .registered_delivery(RegisteredDelivery::from(self.registered_delivery))
            .data_coding(DataCoding::from(self.data_coding))
            .short_message(octets(&self.short_message)?)
            .build();
        pdu.set_tlvs(tlvs);
        Ok(pdu)
    }

    /// These fields carrying `text` as a handset would send it: GSM-7
    /// (`data_coding` 0, unpacked septets) when the text allows, else UCS-2
    /// (8); a text longer than one SMS is cut by [`segments::split`] into
    /// parts with a concatenation UDH (`reference`, 8-bit), as the ESME does.
    pub fn with_text(&self, text: &str, reference: u8) -> Result<Vec<ShortMessage>, String> {
        let (encoding, data_coding) = if gsm7::encode(text).is_ok() {
            (Encoding::Gsm7, 0x00)
        } else {
            (Encoding::Ucs2, 0x08)
        };
        let parts = segments::split(text, encoding, reference).map_err(|e| e.to_string())?;
        Ok(parts
            .into_iter()
            .map(|part| {
                let mut fields = ShortMessage {
                    data_coding,
                    ..self.clone()
                };
                match part.udh {
                    Some(udh) => {
                        fields.esm_class |= ESM_UDHI;
                        fields.short_message = udh.to_vec();
                        fields.short_message.extend_from_slice(&part.payload);
                    }
                    None => fields.short_message = part.payload,
                }
                fields
            })
            .collect())
    }

    /// The fields of a received `submit_sm`.
    pub fn of_submit(pdu: &SubmitSm) -> ShortMessage {
        ShortMessage {
            service_type: pdu.service_type.value().as_str().to_owned(),
            source: Address::new(
                u8::from(pdu.source_addr_ton),
                u8::from(pdu.source_addr_npi),
                pdu.source_addr.as_str(),
            ),
            destination: Address::new(
                u8::from(pdu.dest_addr_ton),
                u8::from(pdu.dest_addr_npi),
                pdu.destination_addr.as_str(),
            ),
            esm_class: u8::from(pdu.esm_class),
            registered_delivery: u8::from(pdu.registered_delivery),
            data_coding: u8::from(pdu.data_coding),
            short_message: pdu.short_message().to_vec(),
        }
    }

    /// The fields of a received `deliver_sm`.
    pub fn of_deliver(pdu: &DeliverSm) -> ShortMessage {
        ShortMessage {
            service_type: pdu.service_type.value().as_str().to_owned(),
            source: Address::new(
                u8::from(pdu.source_addr_ton),
                u8::from(pdu.source_addr_npi),
                pdu.source_addr.as_str(),
            ),
            destination: Address::new(
                u8::from(pdu.dest_addr_ton),
                u8::from(pdu.dest_addr_npi),
                pdu.destination_addr.as_str(),
            ),
            esm_class: u8::from(pdu.esm_class),
            registered_delivery: u8::from(pdu.registered_delivery),
            data_coding: u8::from(pdu.data_coding),
            short_message: pdu.short_message().to_vec(),
        }
    }
}

fn octets(bytes: &[u8]) -> Result<OctetString<0, 255>, String> {
    OctetString::from_slice(bytes).map_err(|e| format!("short message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusmpp::Pdu;
    use tokio_util::codec::Decoder;

    #[test]
    fn decodes_whole_frames_and_survives_bad_ones() {
        let mut buf = BytesMut::new();
        encode(
            &Command::new(CommandStatus::EsmeRok, 7, Pdu::EnquireLink),
            &mut buf,
        );
        // A submit_sm whose source address has no terminating NUL within its 21 octets.
        let mut bad = BytesMut::new();
        bad.put_u32(16 + 30);
        bad.put_u32(0x04);
        bad.put_u32(0);
        bad.put_u32(9);
        bad.extend_from_slice(&[0, 1, 1]);
        bad.extend_from_slice(&[b'1'; 27]);
        buf.extend_from_slice(&bad);
        encode(
            &Command::new(CommandStatus::EsmeRok, 8, Pdu::EnquireLink),
            &mut buf,
        );

        let mut decoder = FrameDecoder::default();
        let first = decoder.decode(&mut buf).unwrap().unwrap();
        assert!(matches!(first, Frame::Command(c) if c.sequence_number() == 7));
        let second = decoder.decode(&mut buf).unwrap().unwrap();
        assert!(
            matches!(
                second,
                Frame::Invalid {
                    command_id: 4,
                    sequence_number: 9,
                    ..
                }
            ),
            "{second:?}"
        );
        let third = decoder.decode(&mut buf).unwrap().unwrap();
        assert!(matches!(third, Frame::Command(c) if c.sequence_number() == 8));
        assert!(decoder.decode(&mut buf).unwrap().is_none());
    }

    #[test]
    fn garbage_length_poisons_the_stream() {
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n\r\n"[..]);
        let mut decoder = FrameDecoder::default();
        assert!(matches!(
            decoder.decode(&mut buf).unwrap(),
            Some(Frame::Garbage { .. })
        ));
        assert!(decoder.decode(&mut buf).unwrap().is_none());
    }

    #[test]
    fn encoded_commands_take_a_new_sequence_number() {
        let once = Encoded::new(&Command::new(CommandStatus::EsmeRok, 0, Pdu::EnquireLink));
        let mut buf = BytesMut::new();
        once.write(42, &mut buf);
        let frame = FrameDecoder::default().decode(&mut buf).unwrap().unwrap();
        assert!(matches!(frame, Frame::Command(c) if c.sequence_number() == 42));
    }

    #[test]
    fn user_data_headers() {
        let eight = [0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, b'h', b'i'];
        assert_eq!(
            split_udh(&eight),
            Some((
                Some(Concat {
                    reference: 0x2A,
                    total: 2,
                    seq: 1
                }),
                &b"hi"[..]
            ))
        );
        let sixteen = [0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x03, b'x'];
        assert_eq!(
            split_udh(&sixteen).unwrap().0,
            Some(Concat {
                reference: 0x1234,
                total: 3,
                seq: 3
            })
        );
        // Another element only (a port address): no concatenation.
        let ports = [0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, b'x'];
        assert_eq!(split_udh(&ports), Some((None, &b"x"[..])));
        assert_eq!(split_udh(&[0x05, 0x00, 0x03]), None);
    }

    #[test]
    fn texts_as_handsets_send_them() {
        let base = ShortMessage {
            source: Address::new(1, 1, "33612345678"),
            ..ShortMessage::default()
        };
        let short = base.with_text("Hi {you}", 7).unwrap();
        assert_eq!(short.len(), 1);
        assert_eq!((short[0].data_coding, short[0].esm_class), (0, 0));
        assert_eq!(TextCoding::Gsm7.decode(&short[0].short_message), "Hi {you}");
        assert_eq!(short[0].source, base.source);
        let emoji = base.with_text("A😀", 7).unwrap();
        assert_eq!(emoji[0].data_coding, 8);
        assert_eq!(emoji[0].short_message, [0x00, 0x41, 0xD8, 0x3D, 0xDE, 0x00]);
        let long = base.with_text(&"x".repeat(200), 7).unwrap();
        assert_eq!(long.len(), 2);
        for (part, seq) in long.iter().zip(1..) {
            assert_eq!(part.esm_class, ESM_UDHI);
            let (concat, _) = split_udh(&part.short_message).unwrap();
            assert_eq!(
                concat,
                Some(Concat {
                    reference: 7,
                    total: 2,
                    seq
                })
            );
        }
    }

    #[test]
    fn text_codings() {
        assert_eq!(
            TextCoding::of(0).unwrap().decode(&[0x48, 0x69, 0x1B, 0x65]),
            "Hi€"
        );
        assert_eq!(TextCoding::of(3).unwrap().decode(&[0x63, 0xE9]), "cé");
        // 1 is IA5 (ASCII), not Latin-1: 0xE9 is no IA5 character.
        let ia5 = TextCoding::of(1).unwrap();
        assert_eq!(ia5, TextCoding::Ia5);
        assert_eq!(ia5.decode(b"ok"), "ok");
        assert!(!ia5.is_well_formed(&[0x63, 0xE9]));
        assert_eq!(ia5.decode(&[0x63, 0xE9]), "c\u{FFFD}");
        // UCS-2 takes whole 16-bit units.
        let ucs2 = TextCoding::of(8).unwrap();
        assert!(ucs2.is_well_formed(&[0x00, 0x41]));
        assert!(!ucs2.is_well_formed(&[0x00, 0x41, 0x00]));
        assert_eq!(
            TextCoding::of(8)
                .unwrap()
                .decode(&[0x00, 0x41, 0xD8, 0x3D, 0xDE, 0x00]),
            "A😀"
        );
        assert_eq!(TextCoding::of(4), None);
    }
}
