//! Octopush's old API form (`POST /api/sms`) into the pipeline's request:
//! never panics, and an accepted one has recipients and a text within
//! Octopush's limit; low-cost sends carry no sender.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relais_api::dialects::octopush::old_api::MAX_TEXT_CHARS;
use relais_api::fuzzing;
use relais_core::pricing::RouteClass;

fuzz_target!(|data: &[u8]| {
    let Some(request) = fuzzing::octopush_old_send(data) else {
        return;
    };
    assert!(!request.recipients.is_empty());
    let text = request.text.as_deref().unwrap_or_default();
    assert!(!text.trim().is_empty());
    assert!(text.chars().count() <= MAX_TEXT_CHARS);
    if request.route_class == RouteClass::LowCost {
        assert_eq!(request.sender, None);
    }
});
