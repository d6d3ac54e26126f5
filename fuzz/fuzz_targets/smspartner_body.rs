//! SMS Partner's request bodies (a form, or a JSON object whose scalars
//! become parameters), its `phoneNumbers` list and schedule date: never
//! panics, and a list read has 1 to 500 trimmed, non-empty numbers.
//! Input: one byte choosing form or JSON, then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relais_api::fuzzing;

fuzz_target!(|data: &[u8]| {
    let [kind, body @ ..] = data else {
        return;
    };
    let Some(numbers) = fuzzing::smspartner_body(body, kind & 1 == 1) else {
        return;
    };
    assert!((1..=500).contains(&numbers.len()));
    assert!(numbers.iter().all(|n| !n.is_empty() && n.trim() == n));
});
