//! Delivery receipt texts: parsing never panics (any case, order, missing
//! fields, multi-byte characters next to keys), and a parsed receipt
//! formats to a text that parses back to the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relais_smpp::receipt::{ReceiptText, status_of_stat};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(receipt) = ReceiptText::parse(text) else {
        return;
    };
    let _ = status_of_stat(&receipt.stat);
    let formatted = receipt.format();
    let Some(again) = ReceiptText::parse(&formatted) else {
        panic!("{receipt:?} formats as {formatted:?}, which does not parse");
    };
    // A field holding a colon may hold a key, which the text format cannot
    // tell from the real one; the others must come back as they were.
    let fields = [
        &receipt.id,
        &receipt.submit_date,
        &receipt.done_date,
        &receipt.stat,
        &receipt.err,
    ];
    if fields.iter().all(|f| !f.contains(':')) {
        assert_eq!(again, receipt, "{formatted:?}");
    }
});
