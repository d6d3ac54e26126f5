//! The template renderer: one pass, values never rescanned, the announced
//! length is the rendered one, and a budget is never overdrawn.
//! Input: the template, then `\0`-separated `name=value` fields.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use relais_core::template::{Budget, MAX_RENDERED_CHARS, Syntax, Template};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = input.split('\0');
    let text = parts.next().unwrap_or_default();
    let fields: HashMap<&str, &str> = parts.filter_map(|f| f.split_once('=')).collect();
    let lookup = |name: &str| fields.get(name).copied();

    let template = Template::parse(text, Syntax::BRACES);
    let chars = template.rendered_chars(lookup);
    match template.render(lookup) {
        Ok(rendered) => {
            assert!(chars <= MAX_RENDERED_CHARS);
            assert_eq!(rendered.chars().count(), chars);
            if !template.has_fields() {
                assert_eq!(rendered, text);
            }
            // Without values every placeholder stays as written.
            if text.chars().count() <= MAX_RENDERED_CHARS {
                assert_eq!(template.render(|_| None).as_deref(), Ok(text));
            }
        }
        Err(_) => assert!(chars > MAX_RENDERED_CHARS),
    }
    let mut budget = Budget::new(chars.saturating_mul(2).min(MAX_RENDERED_CHARS));
    let first = budget.render(&template, lookup);
    let second = budget.render(&template, lookup);
    if chars > 0 && first.is_ok() && second.is_ok() {
        assert!(chars * 2 <= MAX_RENDERED_CHARS);
    }
});
