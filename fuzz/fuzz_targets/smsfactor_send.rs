//! SMSFactor's request bodies (JSON or XML) into the pipeline's request:
//! never panics, and what is accepted has at most the configured recipients
//! with a client reference only where one was given.
//! Input: one byte choosing the `Content-Type`, then the body; a body
//! starting with `?` is read as the query of `GET /send`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relais_api::fuzzing;

fuzz_target!(|data: &[u8]| {
    let [kind, body @ ..] = data else {
        return;
    };
    if let Some(query) = body.strip_prefix(b"?") {
        if let Ok(query) = std::str::from_utf8(query) {
            check(fuzzing::smsfactor_query(query));
        }
        return;
    }
    let content_type = match kind % 4 {
        0 => None,
        1 => Some("application/json"),
        2 => Some("application/xml"),
        _ => Some("text/plain"),
    };
    check(fuzzing::smsfactor_send(body, content_type));
});

fn check(request: Option<relais_core::plan::SendRequest>) {
    let Some(request) = request else {
        return;
    };
    assert!(request.recipients.iter().all(|r| r.text.is_none()));
    assert!(
        request
            .recipients
            .iter()
            .all(|r| r.client_ref.as_deref() != Some(""))
    );
    assert!(
        request
            .sender
            .as_deref()
            .is_none_or(|s| !s.trim().is_empty())
    );
}
