//! Phone numbers: every accepted input format, France and its overseas
//! departments, foreign countries read internationally and nationally, the
//! mobile-only policy, every refusal with its code, and the `E164` and `Country`
//! types.

use std::collections::HashSet;
use std::str::FromStr;

use proptest::prelude::*;
use relais_core::number::{Country, E164, NumberError, NumberKind, NumberPolicy, normalize};

const ANY: NumberPolicy = NumberPolicy { mobile_only: false };
const MOBILE_ONLY: NumberPolicy = NumberPolicy { mobile_only: true };

fn country(code: &str) -> Country {
    code.parse().unwrap()
}

#[track_caller]
fn assert_number(input: &str, region: &str, e164: &str, expected_country: &str, kind: NumberKind) {
    let n = normalize(input, country(region), ANY)
        .unwrap_or_else(|e| panic!("{input:?} (region {region}) refused: {} ({e})", e.code()));
    assert_eq!(n.e164.to_string(), e164, "{input:?} (region {region})");
    assert_eq!(
        n.country,
        country(expected_country),
        "{input:?} (region {region})"
    );
    assert_eq!(n.kind, kind, "{input:?} (region {region})");
}

#[track_caller]
fn assert_refused(input: &str, region: &str, policy: NumberPolicy, code: &str) {
    match normalize(input, country(region), policy) {
        Ok(n) => panic!("{input:?} (region {region}) accepted as {n:?}, expected {code}"),
        Err(e) => assert_eq!(e.code(), code, "{input:?} (region {region}): {e}"),
    }
}

#[test]
fn french_mobile_in_every_accepted_format() {
    for input in [
        "0612345678",
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "(06) 12 34 56 78",
        "06 12-34.56 78",
        "612345678",
        "+33612345678",
        "+33 6 12 34 56 78",
        "+33-6-12-34-56-78",
        "+33 (0)6 12 34 56 78",
        "+33 (0) 6.12.34.56.78",
        "+33 0 6 12 34 56 78",
        "0033612345678",
        "00 33 6 12 34 56 78",
        "33612345678",
        "33 6 12 34 56 78",
        "  0612345678\r\n",
        "\t+33612345678 ",
        // Non-breaking and narrow non-breaking spaces, as French typography writes them.
        "06\u{a0}12\u{a0}34\u{a0}56\u{a0}78",
        "06\u{202f}12\u{202f}34\u{202f}56\u{202f}78",
    ] {
        assert_number(input, "FR", "+33612345678", "FR", NumberKind::Mobile);
    }
}

#[test]
fn french_mainland_kinds() {
    assert_number(
        "07 45 12 34 56",
        "FR",
        "+33745123456",
        "FR",
        NumberKind::Mobile,
    );
    assert_number(
        "01 23 45 67 89",
        "FR",
        "+33123456789",
        "FR",
        NumberKind::FixedLine,
    );
    assert_number(
        "+33 1 23 45 67 89",
        "DE",
        "+33123456789",
        "FR",
        NumberKind::FixedLine,
    );
    // 05 is south-west France, not Saint-Pierre-et-Miquelon (+508).
    assert_number(
        "05 08 55 12 34",
        "FR",
        "+33508551234",
        "FR",
        NumberKind::FixedLine,
    );
    // 09: VoIP lines (internet boxes); 08: toll-free and shared-cost services.
    assert_number(
        "09 12 34 56 78",
        "FR",
        "+33912345678",
        "FR",
        NumberKind::Other,
    );
    assert_number(
        "0800 12 34 56",
        "FR",
        "+33800123456",
        "FR",
        NumberKind::Other,
    );
    // Blocks of 02 and 09 that are not overseas stay in mainland France.
    assert_number(
        "02 61 12 34 56",
        "FR",
        "+33261123456",
        "FR",
        NumberKind::FixedLine,
    );
    assert_number(
        "02 99 12 34 56",
        "FR",
        "+33299123456",
        "FR",
        NumberKind::FixedLine,
    );
    assert_number(
        "09 51 23 45 67",
        "FR",
        "+33951234567",
        "FR",
        NumberKind::Other,
    );
}

#[test]
fn french_overseas_numbers_dialled_nationally_from_france() {
    let cases = [
        ("0692 12 34 56", "+262692123456", "RE", NumberKind::Mobile),
        ("0693 00 12 34", "+262693001234", "RE", NumberKind::Mobile),
        (
            "0262 16 12 34",
            "+262262161234",
            "RE",
            NumberKind::FixedLine,
        ),
        (
            "0263 10 12 34",
            "+262263101234",
            "RE",
            NumberKind::FixedLine,
        ),
        (
            "0269 60 12 34",
            "+262269601234",
            "YT",
            NumberKind::FixedLine,
        ),
        ("0639 01 23 45", "+262639012345", "YT", NumberKind::Mobile),
        ("0690 00 12 34", "+590690001234", "GP", NumberKind::Mobile),
        (
            "0590 20 12 34",
            "+590590201234",
            "GP",
            NumberKind::FixedLine,
        ),
        (
            "0590 27 12 34",
            "+590590271234",
            "BL",
            NumberKind::FixedLine,
        ),
        ("0696 20 12 34", "+596696201234", "MQ", NumberKind::Mobile),
        (
            "0596 30 12 34",
            "+596596301234",
            "MQ",
            NumberKind::FixedLine,
        ),
        ("0694 20 12 34", "+594694201234", "GF", NumberKind::Mobile),
        // Overseas VoIP blocks.
        ("0976 22 12 34", "+262976221234", "RE", NumberKind::Other),
        ("0976 01 23 45", "+590976012345", "GP", NumberKind::Other),
        (
            "0594 10 12 34",
            "+594594101234",
            "GF",
            NumberKind::FixedLine,
        ),
    ];
    for (input, e164, expected, kind) in cases {
        assert_number(input, "FR", e164, expected, kind);
    }
}

#[test]
fn french_overseas_numbers_dialled_internationally() {
    for region in ["FR", "US", "RE"] {
        assert_number(
            "+262692123456",
            region,
            "+262692123456",
            "RE",
            NumberKind::Mobile,
        );
        assert_number(
            "+262 639 01 23 45",
            region,
            "+262639012345",
            "YT",
            NumberKind::Mobile,
        );
        assert_number(
            "+590690001234",
            region,
            "+590690001234",
            "GP",
            NumberKind::Mobile,
        );
        assert_number(
            "+596 696 20 12 34",
            region,
            "+596696201234",
            "MQ",
            NumberKind::Mobile,
        );
        assert_number(
            "+594694201234",
            region,
            "+594694201234",
            "GF",
            NumberKind::Mobile,
        );
        assert_number(
            "+262 (0)692 12 34 56",
            region,
            "+262692123456",
            "RE",
            NumberKind::Mobile,
        );
        assert_number(
            "+262 269 60 12 34",
            region,
            "+262269601234",
            "YT",
            NumberKind::FixedLine,
        );
    }
    assert_number(
        "00262 692 12 34 56",
        "FR",
        "+262692123456",
        "RE",
        NumberKind::Mobile,
    );
    assert_number(
        "262692123456",
        "FR",
        "+262692123456",
        "RE",
        NumberKind::Mobile,
    );
    assert_number(
        "590690001234",
        "FR",
        "+590690001234",
        "GP",
        NumberKind::Mobile,
    );
}

#[test]
fn the_french_plan_works_from_every_region_sharing_it() {
    assert_number(
        "0692123456",
        "RE",
        "+262692123456",
        "RE",
        NumberKind::Mobile,
    );
    assert_number("0612345678", "RE", "+33612345678", "FR", NumberKind::Mobile);
    assert_number(
        "0639012345",
        "YT",
        "+262639012345",
        "YT",
        NumberKind::Mobile,
    );
    assert_number(
        "0692123456",
        "YT",
        "+262692123456",
        "RE",
        NumberKind::Mobile,
    );
    assert_number(
        "0696201234",
        "GP",
        "+596696201234",
        "MQ",
        NumberKind::Mobile,
    );
    assert_number(
        "0690001234",
        "MQ",
        "+590690001234",
        "GP",
        NumberKind::Mobile,
    );
    assert_number(
        "0123456789",
        "GF",
        "+33123456789",
        "FR",
        NumberKind::FixedLine,
    );
    assert_number(
        "0596 30 12 34",
        "RE",
        "+596596301234",
        "MQ",
        NumberKind::FixedLine,
    );
    assert_number(
        "33612345678",
        "RE",
        "+33612345678",
        "FR",
        NumberKind::Mobile,
    );
    // Outside the French plan, 0692… is a national number of that country.
    assert_refused("0692123456", "BE", ANY, "invalid_number");
}

#[test]
fn french_territories_with_their_own_plan_need_their_country_code() {
    assert_number(
        "+508 55 12 34",
        "FR",
        "+508551234",
        "PM",
        NumberKind::Mobile,
    );
    assert_number(
        "+687 75 12 34",
        "FR",
        "+687751234",
        "NC",
        NumberKind::Mobile,
    );
    assert_number(
        "+689 87 12 34 56",
        "FR",
        "+68987123456",
        "PF",
        NumberKind::Mobile,
    );
    assert_number(
        "+681 82 12 34",
        "FR",
        "+681821234",
        "WF",
        NumberKind::Mobile,
    );
}

#[test]
fn foreign_numbers_internationally_and_in_their_own_region() {
    use NumberKind::{FixedLine, FixedLineOrMobile, Mobile};
    // (E.164, country, kind, international forms, national form)
    let cases: [(&str, &str, NumberKind, &[&str], &str); 9] = [
        (
            "+32450001234",
            "BE",
            Mobile,
            &["+32 450 00 12 34", "0032 450 00 12 34", "32450001234"],
            "0450 00 12 34",
        ),
        (
            "+41781234567",
            "CH",
            Mobile,
            &["+41 78 123 45 67", "0041781234567", "41781234567"],
            "078 123 45 67",
        ),
        (
            "+4915123456789",
            "DE",
            Mobile,
            &["+49 1512 3456789", "00491512 3456789"],
            "01512 3456789",
        ),
        (
            "+4930123456",
            "DE",
            FixedLine,
            &["+49 30 123456", "0049 30 123456"],
            "030 123456",
        ),
        (
            "+34612345678",
            "ES",
            Mobile,
            &["+34 612 34 56 78", "0034612345678", "34612345678"],
            "612 34 56 78",
        ),
        (
            "+40712034567",
            "RO",
            Mobile,
            &["+40 712 034 567", "0040712034567", "40712034567"],
            "0712 034 567",
        ),
        (
            "+447400123456",
            "GB",
            Mobile,
            &["+44 7400 123456", "+44 (0)7400 123456", "447400123456"],
            "07400 123456",
        ),
        (
            "+442071838750",
            "GB",
            FixedLine,
            &["+44 20 7183 8750"],
            "020 7183 8750",
        ),
        (
            "+12015550123",
            "US",
            FixedLineOrMobile,
            &["+1 201-555-0123", "001 201 555 0123", "12015550123"],
            "(201) 555-0123",
        ),
    ];
    for (e164, expected, kind, international, national) in cases {
        for input in international {
            assert_number(input, "FR", e164, expected, kind);
        }
        assert_number(e164, expected, e164, expected, kind);
        assert_number(national, expected, e164, expected, kind);
    }
    assert_number(
        "1 201 555 0123",
        "US",
        "+12015550123",
        "US",
        FixedLineOrMobile,
    );
    // Leading zeros that belong to the number (Italy) are kept.
    assert_number("+39 02 1234 5678", "FR", "+390212345678", "IT", FixedLine);
    assert_number("+39 312 345 6789", "FR", "+393123456789", "IT", Mobile);
}

#[test]
fn international_prefixes_other_than_00() {
    // The region's own prefix is understood, and 00 everywhere.
    assert_number(
        "011 33 6 12 34 56 78",
        "US",
        "+33612345678",
        "FR",
        NumberKind::Mobile,
    );
    assert_number(
        "0033 6 12 34 56 78",
        "US",
        "+33612345678",
        "FR",
        NumberKind::Mobile,
    );
    assert_number(
        "0011 33 6 12 34 56 78",
        "AU",
        "+33612345678",
        "FR",
        NumberKind::Mobile,
    );
}

#[test]
fn mobile_only_refuses_everything_that_cannot_be_a_mobile() {
    let refused = [
        ("01 23 45 67 89", "FR", NumberKind::FixedLine),
        ("+262 262 16 12 34", "FR", NumberKind::FixedLine),
        ("030 123456", "DE", NumberKind::FixedLine),
        ("09 12 34 56 78", "FR", NumberKind::Other),
        ("0800 12 34 56", "FR", NumberKind::Other),
    ];
    for (input, region, kind) in refused {
        assert_eq!(
            normalize(input, country(region), MOBILE_ONLY),
            Err(NumberError::NotMobile(kind)),
            "{input}"
        );
        assert_refused(input, region, MOBILE_ONLY, "not_mobile");
        assert!(
            normalize(input, country(region), ANY).is_ok(),
            "{input} is refused without the policy"
        );
    }
    let message = normalize("0123456789", Country::FR, MOBILE_ONLY)
        .unwrap_err()
        .to_string();
    assert!(message.contains("fixed-line"), "{message}");

    for (input, region) in [
        ("06 12 34 56 78", "FR"),
        ("0692 12 34 56", "FR"),
        ("+1 201 555 0123", "FR"),
        ("07400 123456", "GB"),
    ] {
        let n = normalize(input, country(region), MOBILE_ONLY)
            .unwrap_or_else(|e| panic!("{input}: {e}"));
        assert!(matches!(
            n.kind,
            NumberKind::Mobile | NumberKind::FixedLineOrMobile
        ));
    }
    assert_eq!(NumberPolicy::default(), ANY);
}

#[test]
fn refusals_carry_their_code() {
    let cases = [
        ("", "FR", "empty"),
        ("   ", "FR", "empty"),
        ("\r\n", "FR", "empty"),
        ("-- . ()", "FR", "empty"),
        ("+", "FR", "empty"),
        ("06 12 AB 56 78", "FR", "invalid_characters"),
        ("1-800-FLOWERS", "US", "invalid_characters"),
        ("0612345678 ext. 12", "FR", "invalid_characters"),
        ("06/12/34/56/78", "FR", "invalid_characters"),
        ("06 12 34 56 78#", "FR", "invalid_characters"),
        ("*0612345678", "FR", "invalid_characters"),
        ("+33 6+12 34 56 78", "FR", "invalid_characters"),
        ("++33612345678", "FR", "invalid_characters"),
        ("0612345678+", "FR", "invalid_characters"),
        ("(+33) 6 12 34 56 78", "FR", "invalid_characters"),
        ("tel:+33612345678", "FR", "invalid_characters"),
        ("０６１２３４５６７８", "FR", "invalid_characters"),
        ("1", "FR", "too_short"),
        ("12", "FR", "too_short"),
        ("0612", "FR", "too_short"),
        ("06 12", "FR", "too_short"),
        ("+33 6 12", "FR", "too_short"),
        ("+33 6 12 34 56 7", "FR", "too_short"),
        ("06 12 34 56 78 9", "FR", "too_long"),
        ("+33 6 12 34 56 78 9", "FR", "too_long"),
        ("123456789012345678901234567890", "FR", "too_long"),
        ("+999 123 456 789", "FR", "unknown_country_code"),
        ("00999 123 456 789", "FR", "unknown_country_code"),
        ("+0612345678", "FR", "unknown_country_code"),
        ("0612345678", "ZZ", "unknown_country_code"),
        ("+1 123 456 7890", "FR", "invalid_number"),
        ("07 12 34 56 78", "FR", "invalid_number"),
        ("+33 6 39 12 34 56", "FR", "invalid_number"),
        ("+800 1234 5678", "FR", "non_geographic"),
    ];
    for (input, region, code) in cases {
        assert_refused(input, region, ANY, code);
    }
    assert_eq!(
        normalize("06 12 AB", Country::FR, ANY),
        Err(NumberError::InvalidCharacter('A'))
    );
    assert_eq!(
        normalize("06+12", Country::FR, ANY),
        Err(NumberError::InvalidCharacter('+'))
    );
}

#[test]
fn e164_is_at_most_15_digits() {
    // Germany has valid fixed lines longer than E.164 allows.
    assert_number(
        "+49 30 12345678901",
        "FR",
        "+493012345678901",
        "DE",
        NumberKind::FixedLine,
    );
    assert_refused("+49 30 123456789012", "FR", ANY, "too_long");
}

#[test]
fn every_error_has_a_distinct_code_and_a_reason() {
    let errors = [
        NumberError::Empty,
        NumberError::InvalidCharacter('x'),
        NumberError::TooShort,
        NumberError::TooLong,
        NumberError::UnknownCountryCode,
        NumberError::Invalid,
        NumberError::NonGeographic,
        NumberError::NotMobile(NumberKind::FixedLine),
    ];
    let codes: HashSet<&str> = errors.iter().map(NumberError::code).collect();
    assert_eq!(codes.len(), errors.len());
    for e in errors {
        assert!(e.to_string().starts_with("the phone number"), "{e}");
    }
    assert!(
        NumberError::InvalidCharacter('x')
            .to_string()
            .contains("'x'")
    );
}

#[test]
fn every_way_of_writing_a_number_deduplicates_to_one_e164() {
    let inputs = [
        "0612345678",
        "+33612345678",
        "0033612345678",
        "33612345678",
        "06 12 34 56 78",
        "06.12.34.56.78",
    ];
    let numbers: HashSet<E164> = inputs
        .iter()
        .map(|s| normalize(s, Country::FR, ANY).unwrap().e164)
        .collect();
    assert_eq!(numbers.len(), 1);
    assert_eq!(
        numbers.into_iter().next(),
        Some("+33612345678".parse().unwrap())
    );
}

#[test]
fn e164_formats_and_parses_strictly() {
    let n = normalize("06 12 34 56 78", Country::FR, ANY).unwrap().e164;
    assert_eq!(n.to_string(), "+33612345678");
    assert_eq!(n.digits().to_string(), "33612345678");
    assert_eq!(format!("{n:?}"), "E164(+33612345678)");
    assert_eq!(E164::from_str("+33612345678"), Ok(n));
    assert_eq!(std::mem::size_of::<E164>(), 8);

    assert!(E164::from_str("+123").is_ok());
    assert!(E164::from_str("+123456789012345").is_ok());
    for bad in [
        "",
        "+",
        "+12",
        "+1234567890123456",
        "33612345678",
        "+033612345678",
        "+33 612345678",
        "+33612345678 ",
        "++33612345678",
        "+3361234567a",
        "0612345678",
    ] {
        let error = E164::from_str(bad).expect_err(bad);
        assert!(error.to_string().contains("E.164"), "{error}");
    }
}

#[test]
fn e164_orders_and_serializes_as_its_string() {
    let a: E164 = "+33612345678".parse().unwrap();
    let b: E164 = "+33612345679".parse().unwrap();
    assert!(a < b);
    assert_eq!(serde_json::to_string(&a).unwrap(), "\"+33612345678\"");
    assert_eq!(serde_json::from_str::<E164>("\"+33612345678\"").unwrap(), a);
    assert_eq!(
        serde_json::from_str::<Vec<E164>>("[\"+33612345678\",\"+33612345679\"]").unwrap(),
        vec![a, b]
    );
    for bad in [
        "\"0612345678\"",
        "\"+33 6 12 34 56 78\"",
        "33612345678",
        "null",
    ] {
        assert!(serde_json::from_str::<E164>(bad).is_err(), "{bad}");
    }
}

#[test]
fn country_codes() {
    for input in ["fr", "Fr", "fR", "FR"] {
        assert_eq!(country(input), Country::FR);
    }
    assert_eq!(Country::FR.as_str(), "FR");
    assert_eq!(country("re").to_string(), "RE");
    assert_eq!(format!("{:?}", Country::FR), "Country(FR)");
    assert_eq!(std::mem::size_of::<Country>(), 2);
    for bad in ["", "F", "FRA", "F1", "12", "é", " FR", "F-"] {
        let error = Country::from_str(bad).expect_err(bad);
        assert!(error.to_string().contains("two ASCII letters"), "{error}");
    }
    assert_eq!(serde_json::to_string(&Country::FR).unwrap(), "\"FR\"");
    assert_eq!(
        serde_json::from_str::<Country>("\"re\"").unwrap(),
        country("RE")
    );
    assert!(serde_json::from_str::<Country>("\"FRA\"").is_err());
    assert!(serde_json::from_str::<Country>("33").is_err());
}

#[test]
fn number_kinds_serialize_in_snake_case() {
    assert_eq!(
        serde_json::to_string(&NumberKind::Mobile).unwrap(),
        "\"mobile\""
    );
    assert_eq!(
        serde_json::to_string(&NumberKind::FixedLineOrMobile).unwrap(),
        "\"fixed_line_or_mobile\""
    );
    assert_eq!(
        serde_json::from_str::<NumberKind>("\"fixed_line\"").unwrap(),
        NumberKind::FixedLine
    );
}

/// Numbers from ranges that are mostly valid: a prefix in E.164 form and how many
/// random digits follow it.
fn mostly_valid_e164() -> impl Strategy<Value = String> {
    const RANGES: [(&str, usize); 12] = [
        ("+336", 8),
        ("+3374", 7),
        ("+3312", 7),
        ("+262692", 6),
        ("+590690", 6),
        ("+32470", 6),
        ("+4179", 7),
        ("+49151", 8),
        ("+34612", 6),
        ("+4474", 8),
        ("+1201", 7),
        ("+393", 9),
    ];
    (prop::sample::select(&RANGES[..]), any::<u64>())
        .prop_map(|((prefix, len), n)| format!("{prefix}{:0len$}", n % 10u64.pow(len as u32)))
}

const SEPARATORS: [&str; 5] = ["", " ", ".", "-", "  "];

proptest! {
    #[test]
    fn valid_numbers_round_trip_and_normalizing_is_idempotent(
        input in mostly_valid_e164(),
        region in prop::sample::select(&["FR", "RE", "US", "DE", "GB"][..]),
    ) {
        let Ok(n) = normalize(&input, Country::FR, ANY) else {
            return Err(TestCaseError::reject("not a valid number"));
        };
        let text = n.e164.to_string();
        prop_assert_eq!(E164::from_str(&text), Ok(n.e164));
        let json = serde_json::to_string(&n.e164).unwrap();
        prop_assert_eq!(serde_json::from_str::<E164>(&json).unwrap(), n.e164);
        prop_assert_eq!(normalize(&text, country(region), ANY), Ok(n));
        // Bare digits, as SMSFactor sends them, are the same number for French clients.
        prop_assert_eq!(normalize(&n.e164.digits().to_string(), Country::FR, ANY), Ok(n));
    }

    #[test]
    fn separators_do_not_change_the_number(
        significant in 600_000_000u64..800_000_000,
        separators in prop::collection::vec(prop::sample::select(&SEPARATORS[..]), 10),
    ) {
        let national = format!("0{significant}");
        let spaced: String = national
            .chars()
            .zip(&separators)
            .flat_map(|(digit, separator)| std::iter::once(digit).chain(separator.chars()))
            .collect();
        let expected = normalize(&national, Country::FR, ANY);
        prop_assert_eq!(normalize(&spaced, Country::FR, ANY), expected);
    }

    #[test]
    fn any_input_is_refused_cleanly_or_gives_a_well_formed_number(
        input in prop_oneof!["[0-9+ ().-]{0,25}", "\\PC{0,30}"],
        region in prop::sample::select(&["FR", "RE", "US", "DE", "ZZ"][..]),
    ) {
        if let Ok(n) = normalize(&input, country(region), ANY) {
            let text = n.e164.to_string();
            prop_assert!(text.len() <= 16, "{}", text);
            prop_assert_eq!(E164::from_str(&text), Ok(n.e164));
            prop_assert!(n.country.as_str().bytes().all(|b| b.is_ascii_uppercase()));
        }
    }
}
