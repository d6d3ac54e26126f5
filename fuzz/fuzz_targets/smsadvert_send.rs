//! SMSAdvert's JSON send body into the pipeline's request: never panics, and
//! an accepted one has 1 to 1000 E.164 numbers and a 3 to 480 character text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relais_api::dialects::smsadvert::{MAX_PHONES, TEXT_CHARS};
use relais_api::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Some(request) = fuzzing::smsadvert_send(data) else {
        return;
    };
    let n = request.recipients.len();
    assert!((1..=MAX_PHONES).contains(&n), "{n} recipients");
    assert!(
        request
            .recipients
            .iter()
            .all(|r| r.number.starts_with('+') && r.number[1..].bytes().all(|b| b.is_ascii_digit())),
        "{:?}",
        request.recipients
    );
    let text = request.text.as_deref().unwrap_or_default();
    assert!(TEXT_CHARS.contains(&text.chars().count()), "{text:?}");
});
