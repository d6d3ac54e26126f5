//! UDH parsing and reassembly of concatenated parts: parts cut from one
//! message by relais's own splitter and fed in any order (with repeats and
//! noise parts) come back whole, and `split_udh` never reads past its input.
//! Any parts, too (the input read as length-prefixed short messages with a
//! UDH), are reassembled without panicking, and what is left pending drains
//! with its missing parts counted.
//! Input: options byte, then the text; the same bytes are read as parts.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use relais_smpp::concat::{Added, Reassembler};
use relais_smpp::pdu::{Address, ShortMessage, split_udh};
use tokio::time::Instant;

fuzz_target!(|data: &[u8]| {
    if let Some((concat, payload)) = split_udh(data) {
        assert!(payload.len() < data.len());
        if let Some(c) = concat {
            let _ = c.is_valid();
        }
    }
    arbitrary_parts(data);
    let [options, rest @ ..] = data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let fields = ShortMessage {
        source: Address::new(1, 1, "33612345678"),
        ..ShortMessage::default()
    };
    let Ok(parts) = fields.with_text(text, *options) else {
        return;
    };
    let mut whole = Vec::new();
    let mut reassembler: Reassembler<(u16, u8), ()> = Reassembler::new(Duration::from_secs(60), 4);
    let now = Instant::now();
    let mut completed = None;
    // Every other part first, then the rest; the first part twice.
    let order = (0..parts.len())
        .step_by(2)
        .chain((1..parts.len()).step_by(2))
        .chain(std::iter::once(0));
    for i in order {
        let part = &parts[i];
        let (concat, payload) = if part.esm_class & 0x40 != 0 {
            let (concat, payload) = split_udh(&part.short_message).expect("our own UDH parses");
            (concat.expect("our UDH has a concat element"), payload)
        } else {
            assert_eq!(parts.len(), 1);
            continue;
        };
        assert!(concat.is_valid());
        assert_eq!(usize::from(concat.total), parts.len());
        if completed.is_some() {
            break;
        }
        match reassembler.add((concat.reference, concat.total), concat, payload, (), now) {
            Added::Complete { payload, .. } => completed = Some(payload),
            Added::Waiting => {}
            Added::Full => panic!("one message cannot fill the reassembler"),
        }
    }
    if parts.len() > 1 {
        for part in &parts {
            let (_, payload) = split_udh(&part.short_message).expect("our own UDH parses");
            whole.extend_from_slice(payload);
        }
        assert_eq!(completed.as_deref(), Some(whole.as_slice()));
        assert!(reassembler.is_empty());
    }
});

fn arbitrary_parts(data: &[u8]) {
    let mut reassembler: Reassembler<(u16, u8), usize> =
        Reassembler::new(Duration::from_secs(60), 8);
    let now = Instant::now();
    let mut rest = data;
    let mut index = 0;
    while let [len, tail @ ..] = rest {
        let (message, tail) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = tail;
        index += 1;
        let Some((Some(concat), payload)) = split_udh(message) else {
            continue;
        };
        if !concat.is_valid() {
            continue;
        }
        let key = (concat.reference, concat.total);
        if let Added::Complete { payload: whole, .. } =
            reassembler.add(key, concat, payload, index, now)
        {
            assert!(whole.len() <= data.len());
        }
    }
    for expired in reassembler.drain() {
        assert!(expired.missing >= 1 && expired.missing < usize::from(expired.key.1));
    }
    assert!(reassembler.is_empty());
}
