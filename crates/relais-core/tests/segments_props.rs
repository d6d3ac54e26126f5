//! Properties of segmentation, GSM-7 coding and smart encoding over arbitrary
//! texts mixing ASCII, GSM-7 extension characters, accented letters, emoji and CJK.

use proptest::prelude::*;
use relais_core::encoding::{Encoding, EncodingMode, analyze};
use relais_core::gsm7;
use relais_core::segments::{self, limits};
use relais_core::smart::transliterate;

/// Characters texts are drawn from: ASCII (weighted by repetition), GSM-7
/// extension characters, accented letters in and out of GSM-7, typographic
/// punctuation, emoji and their joiners, CJK, Cyrillic and Greek.
const ALPHABET: &str = concat!(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_`abcdefghijklmnopqrstuvwxyz",
    "    eeeeaaaaoooottttnnnn....",
    "^{}\\[]~|€€€€\u{0C}",
    "éèàÄßΔΩñ\n\rçôș’…\u{A0}",
    "😀🎉👍𝄞\u{200D}\u{FE0F}\u{301}",
    "中文жω\u{FFFD}\u{FFFF}",
);

/// Mostly [`ALPHABET`], sometimes any scalar value. Picking by index keeps
/// generation cheap enough for long texts in a debug build.
fn any_char() -> impl Strategy<Value = char> {
    let alphabet: Vec<char> = ALPHABET.chars().collect();
    (0..alphabet.len() + alphabet.len() / 8, any::<u32>()).prop_map(move |(i, wild)| {
        alphabet
            .get(i)
            .copied()
            .unwrap_or_else(|| char::from_u32(wild % 0x11_0000).unwrap_or('\u{D7FF}'))
    })
}

/// Up to ~8 GSM-7 parts or ~17 UCS-2 parts.
fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any_char(), 0..1200).prop_map(String::from_iter)
}

fn gsm_text() -> impl Strategy<Value = String> {
    any_text().prop_map(|text| text.chars().filter(|&c| gsm7::is_gsm7(c)).collect())
}

fn unit_cost(c: char, encoding: Encoding) -> usize {
    match encoding {
        Encoding::Gsm7 => usize::from(gsm7::septets(c).unwrap()),
        Encoding::Ucs2 => c.len_utf16(),
    }
}

/// Checks every property of `split` and `count` on a text that fits `encoding`.
fn check_split(text: &str, encoding: Encoding, reference: u8) -> Result<(), TestCaseError> {
    let parts = segments::split(text, encoding, reference).unwrap();
    let count = segments::count(text, encoding);
    let limits = limits(encoding);

    prop_assert_eq!(parts.len(), usize::from(count.segments));
    prop_assert_eq!(parts.iter().map(|p| p.units()).sum::<usize>(), count.units);

    // Each part decodes on its own, and the parts give back the text.
    let texts: Vec<String> = parts.iter().map(|p| p.text()).collect();
    prop_assert_eq!(texts.concat(), text);

    if parts.len() == 1 {
        prop_assert_eq!(parts[0].udh, None);
        prop_assert!(parts[0].units() <= limits.single);
        // 140 octets once packed (GSM-7) or as UTF-16BE.
        let octets = match encoding {
            Encoding::Gsm7 => gsm7::pack(&parts[0].payload, 0).len(),
            Encoding::Ucs2 => parts[0].payload.len(),
        };
        prop_assert!(octets <= 140);
        return Ok(());
    }
    let total = parts.len() as u8;
    for (i, part) in parts.iter().enumerate() {
        prop_assert_eq!(part.encoding, encoding);
        prop_assert_eq!(
            part.udh,
            Some([0x05, 0x00, 0x03, reference, total, i as u8 + 1])
        );
        prop_assert!(part.units() <= limits.part);
        prop_assert!(!part.payload.is_empty());
        // Header and payload fit in 140 octets: 6 + 134, the GSM-7 septets
        // packed after one fill bit.
        let octets = match encoding {
            Encoding::Gsm7 => gsm7::pack(&part.payload, 1).len(),
            Encoding::Ucs2 => part.payload.len(),
        };
        prop_assert!(6 + octets <= 140, "part {} takes {} octets", i, octets);
        // No pair is cut: a GSM-7 part never ends with an escape, a UCS-2 part
        // never ends with a high surrogate nor starts with a low one.
        match encoding {
            Encoding::Gsm7 => prop_assert_ne!(part.payload.last(), Some(&gsm7::ESC)),
            Encoding::Ucs2 => {
                let first = u16::from_be_bytes([part.payload[0], part.payload[1]]);
                let n = part.payload.len();
                let last = u16::from_be_bytes([part.payload[n - 2], part.payload[n - 1]]);
                prop_assert!(!(0xDC00..0xE000).contains(&first));
                prop_assert!(!(0xD800..0xDC00).contains(&last));
            }
        }
        // Parts are filled greedily: the next character would not have fit,
        // so no fewer parts are possible.
        if let Some(next) = texts.get(i + 1).and_then(|t| t.chars().next()) {
            prop_assert!(part.units() + unit_cost(next, encoding) > limits.part);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn ucs2_split_matches_count_and_round_trips(text in any_text(), reference: u8) {
        check_split(&text, Encoding::Ucs2, reference)?;
    }

    #[test]
    fn gsm7_split_matches_count_and_round_trips(text in gsm_text(), reference: u8) {
        check_split(&text, Encoding::Gsm7, reference)?;
    }

    /// Long runs of extension characters put escape pairs on many boundaries.
    #[test]
    fn gsm7_escape_heavy_split(
        chunks in prop::collection::vec(("a{0,160}", prop::sample::select(vec!["€", "{", "\u{0C}"])), 1..8),
        reference: u8,
    ) {
        let text: String = chunks.iter().flat_map(|(a, e)| [a.as_str(), e]).collect();
        check_split(&text, Encoding::Gsm7, reference)?;
    }

    #[test]
    fn gsm7_encode_decode_round_trip(text in gsm_text()) {
        let septets = gsm7::encode(&text).unwrap();
        prop_assert!(septets.iter().all(|&s| s < 0x80));
        prop_assert_eq!(gsm7::decode(&septets), text);
    }

    #[test]
    fn gsm7_encode_reports_exactly_the_missing_chars(text in any_text()) {
        let mut missing: Vec<char> = Vec::new();
        for c in text.chars().filter(|&c| !gsm7::is_gsm7(c)) {
            if !missing.contains(&c) {
                missing.push(c);
            }
        }
        match gsm7::encode(&text) {
            Ok(_) => prop_assert!(missing.is_empty()),
            Err(chars) => prop_assert_eq!(chars, missing),
        }
    }

    #[test]
    fn pack_unpack_round_trip(septets in prop::collection::vec(0u8..0x80, 0..400), fill_bits in 0u8..7) {
        let packed = gsm7::pack(&septets, fill_bits);
        prop_assert_eq!(packed.len(), (usize::from(fill_bits) + 7 * septets.len()).div_ceil(8));
        prop_assert_eq!(gsm7::unpack(&packed, fill_bits, septets.len()), septets);
    }

    #[test]
    fn analyze_agrees_with_count(text in any_text()) {
        let a = analyze(&text, EncodingMode::Auto, false).unwrap();
        prop_assert_eq!(&a.text, &text);
        let all_gsm = text.chars().all(gsm7::is_gsm7);
        prop_assert_eq!(a.encoding, if all_gsm { Encoding::Gsm7 } else { Encoding::Ucs2 });
        prop_assert_eq!(a.ucs2_chars.is_empty(), all_gsm);
        prop_assert_eq!(a.chars, text.chars().count());
        let count = segments::count(&text, a.encoding);
        prop_assert_eq!((a.units, a.segments), (count.units, count.segments));
        let ucs2 = analyze(&text, EncodingMode::Ucs2, false).unwrap();
        prop_assert_eq!(ucs2.units, text.encode_utf16().count());
        prop_assert_eq!(ucs2.ucs2_chars, a.ucs2_chars);
    }

    #[test]
    fn smart_encoding_is_stable_and_only_touches_non_gsm(text in any_text()) {
        let (once, replacements) = transliterate(&text);
        let (twice, again) = transliterate(&once);
        prop_assert_eq!(&twice, &once);
        prop_assert!(again.is_empty());
        for r in &replacements {
            prop_assert!(!gsm7::is_gsm7(r.from));
            prop_assert!(r.to.chars().all(gsm7::is_gsm7));
        }
        // Every GSM-7 character of the input survives, in order.
        let kept: String = text.chars().filter(|&c| gsm7::is_gsm7(c)).collect();
        let mut rest = once.chars();
        prop_assert!(kept.chars().all(|c| rest.any(|o| o == c)));
        // The smart analysis is the plain analysis of the transliterated text
        // when that is GSM-7, else of the original text (which needs UCS-2 anyway).
        let smart = analyze(&text, EncodingMode::Auto, true).unwrap();
        let becomes_gsm7 = once.chars().all(gsm7::is_gsm7);
        let sent = if becomes_gsm7 { &once } else { &text };
        let plain = analyze(sent, EncodingMode::Auto, false).unwrap();
        prop_assert_eq!(&smart.text, &plain.text);
        prop_assert_eq!((smart.encoding, smart.units, smart.segments), (plain.encoding, plain.units, plain.segments));
        if becomes_gsm7 {
            prop_assert_eq!(smart.replacements, replacements);
        } else {
            prop_assert!(smart.replacements.is_empty());
        }
    }
}
