//! `relais_core::number::normalize`: never panics, and what it accepts is a
//! fixed point: the E.164 form normalises to itself, in the same country.
//! Input: two bytes of region, one of policy, then the number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relais_core::number::{Country, NumberKind, NumberPolicy, normalize};

fuzz_target!(|data: &[u8]| {
    let [a, b, flags, rest @ ..] = data else {
        return;
    };
    let Ok(input) = std::str::from_utf8(rest) else {
        return;
    };
    let region: Country = std::str::from_utf8(&[*a, *b])
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(Country::FR);
    let policy = NumberPolicy {
        mobile_only: flags & 1 == 1,
    };
    let Ok(number) = normalize(input, region, policy) else {
        return;
    };
    let e164 = number.e164.to_string();
    assert!(e164.starts_with('+') && e164.len() <= 16, "{e164}");
    if policy.mobile_only {
        assert!(matches!(
            number.kind,
            NumberKind::Mobile | NumberKind::FixedLineOrMobile
        ));
    }
    let again = normalize(&e164, region, policy)
        .unwrap_or_else(|e| panic!("{input:?} gave {e164}, which is refused: {e}"));
    assert_eq!(again.e164, number.e164, "{input:?}");
    assert_eq!(again.country, number.country, "{input:?}");
});
