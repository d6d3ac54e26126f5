//! Octopush v1's JSON send body into the pipeline's request: never panics;
//! an accepted one has 1 to 500 recipients, a text within the limit, and
//! personalised texts only where the template has placeholders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relais_api::dialects::octopush::v1::{MAX_RECIPIENTS, MAX_TEXT_CHARS};
use relais_api::fuzzing;
use relais_core::template::{MAX_RENDERED_CHARS, Syntax, Template};

fuzz_target!(|data: &[u8]| {
    let Some(request) = fuzzing::octopush_v1_send(data) else {
        return;
    };
    assert!((1..=MAX_RECIPIENTS).contains(&request.recipients.len()));
    let text = request.text.as_deref().unwrap_or_default();
    assert!(!text.is_empty() && text.chars().count() <= MAX_TEXT_CHARS);
    let has_fields = Template::parse(text, Syntax::BRACES).has_fields();
    for recipient in &request.recipients {
        if let Some(own) = &recipient.text {
            assert!(has_fields, "{text:?} has no placeholder");
            assert_ne!(own, text);
            assert!(own.chars().count() <= MAX_RENDERED_CHARS);
        }
    }
});
