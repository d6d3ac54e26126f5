//! Sender IDs: the alphanumeric and numeric shapes, their length boundaries,
//! and every refusal with its code.

use std::collections::HashSet;

use relais_core::sender::{SenderError, SenderId};

#[track_caller]
fn assert_valid(input: &str, expected: &str, alphanumeric: bool) {
    let sender =
        SenderId::parse(input).unwrap_or_else(|e| panic!("{input:?} refused: {} ({e})", e.code()));
    assert_eq!(sender.as_str(), expected, "{input:?}");
    assert_eq!(sender.to_string(), expected, "{input:?}");
    assert_eq!(sender.is_alphanumeric(), alphanumeric, "{input:?}");
}

#[track_caller]
fn assert_refused(input: &str, code: &str) {
    match SenderId::parse(input) {
        Ok(sender) => panic!("{input:?} accepted as {sender:?}, expected {code}"),
        Err(e) => assert_eq!(e.code(), code, "{input:?}: {e}"),
    }
}

#[test]
fn alphanumeric_senders() {
    assert_valid("MyShop", "MyShop", true);
    assert_valid("Promo 2025", "Promo 2025", true);
    assert_valid("SMS4YOU", "SMS4YOU", true);
    assert_valid("1A2", "1A2", true);
    assert_valid("  MyShop \n", "MyShop", true);
    // Boundaries: 3 and 11 characters, spaces included.
    assert_valid("abc", "abc", true);
    assert_valid("ABCDEFGHIJK", "ABCDEFGHIJK", true);
    assert_valid("A B C D E F", "A B C D E F", true);
    assert_refused("ab", "too_short");
    assert_refused("a", "too_short");
    assert_refused("ABCDEFGHIJKL", "too_long");
    assert_valid("Promo 20251", "Promo 20251", true);
    assert_refused("Promo 202512", "too_long");
}

#[test]
fn numeric_senders() {
    assert_valid("36180", "36180", false);
    assert_valid("+33612345678", "+33612345678", false);
    assert_valid("0612345678", "0612345678", false);
    assert_valid(" 38100 ", "38100", false);
    // Boundaries: 3 and 15 digits, the + not counted.
    assert_valid("123", "123", false);
    assert_valid("+123", "+123", false);
    assert_valid("123456789012345", "123456789012345", false);
    assert_valid("+123456789012345", "+123456789012345", false);
    assert_refused("12", "too_short");
    assert_refused("+12", "too_short");
    assert_refused("+", "too_short");
    assert_refused("1234567890123456", "too_long");
    assert_refused("+1234567890123456", "too_long");
}

#[test]
fn a_sender_without_letters_must_be_purely_numeric() {
    for input in ["06 12 34 56 78", "123 456", "+33 612345678"] {
        assert_eq!(
            SenderId::parse(input),
            Err(SenderError::NoLetter),
            "{input:?}"
        );
        assert_refused(input, "no_letter");
    }
}

#[test]
fn invalid_characters() {
    let cases = [
        ("My-Shop", '-'),
        ("My.Shop", '.'),
        ("My_Shop", '_'),
        ("Shop&Co", '&'),
        ("Café", 'é'),
        ("+ABC", '+'),
        ("Shop+", '+'),
        ("12-34-56", '-'),
        ("+12-34", '-'),
        ("---", '-'),
        ("Tab\tShop", '\t'),
        ("Shop🙂", '🙂'),
    ];
    for (input, c) in cases {
        assert_eq!(
            SenderId::parse(input),
            Err(SenderError::InvalidCharacter(c)),
            "{input:?}"
        );
        assert_refused(input, "invalid_characters");
    }
    // Characters are checked before the length.
    assert_refused("a-", "invalid_characters");
    assert_refused("My-Shop-Is-Too-Long", "invalid_characters");
}

#[test]
fn empty_senders() {
    for input in ["", " ", "   ", "\t\r\n"] {
        assert_eq!(SenderId::parse(input), Err(SenderError::Empty), "{input:?}");
    }
}

#[test]
fn every_error_has_a_code_and_a_reason() {
    let errors = [
        SenderError::Empty,
        SenderError::InvalidCharacter('-'),
        SenderError::NoLetter,
        SenderError::TooShort,
        SenderError::AlphanumericTooLong,
        SenderError::NumericTooLong,
    ];
    let codes: HashSet<&str> = errors.iter().map(SenderError::code).collect();
    assert_eq!(
        codes,
        HashSet::from([
            "empty",
            "invalid_characters",
            "no_letter",
            "too_short",
            "too_long"
        ])
    );
    for e in errors {
        assert!(e.to_string().starts_with("the sender ID"), "{e}");
    }
    assert!(SenderError::AlphanumericTooLong.to_string().contains("11"));
    assert!(SenderError::NumericTooLong.to_string().contains("15"));
    assert!(
        SenderError::InvalidCharacter('-')
            .to_string()
            .contains("'-'")
    );
}

#[test]
fn serde_uses_the_string_and_validates() {
    let sender = SenderId::parse("MyShop").unwrap();
    assert_eq!(serde_json::to_string(&sender).unwrap(), "\"MyShop\"");
    assert_eq!(
        serde_json::from_str::<SenderId>("\"MyShop\"").unwrap(),
        sender
    );
    assert_eq!(
        serde_json::from_str::<SenderId>("\" MyShop \"").unwrap(),
        sender
    );
    for bad in ["\"My-Shop\"", "\"ABCDEFGHIJKL\"", "\"\"", "12345"] {
        assert!(serde_json::from_str::<SenderId>(bad).is_err(), "{bad}");
    }
    assert_eq!(
        "+33612345678".parse::<SenderId>(),
        SenderId::parse("+33612345678")
    );
}
