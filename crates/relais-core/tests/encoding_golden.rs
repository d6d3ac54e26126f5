//! Golden vectors for the GSM-7 alphabet, septet packing, segment boundaries,
//! smart encoding and text analysis. The expected values are written out here,
//! independently of the tables in the crate.

use relais_core::encoding::{Encoding, EncodingError, EncodingMode, Replacement, analyze};
use relais_core::gsm7;
use relais_core::segments::{self, SegmentCount};
use relais_core::smart::transliterate;

/// GSM 03.38 basic table, row by row (septet, character); 0x1B is the escape.
const BASIC: [(u8, char); 127] = [
    (0x00, '@'),
    (0x01, '£'),
    (0x02, '$'),
    (0x03, '¥'),
    (0x04, 'è'),
    (0x05, 'é'),
    (0x06, 'ù'),
    (0x07, 'ì'),
    (0x08, 'ò'),
    (0x09, 'Ç'),
    (0x0A, '\n'),
    (0x0B, 'Ø'),
    (0x0C, 'ø'),
    (0x0D, '\r'),
    (0x0E, 'Å'),
    (0x0F, 'å'),
    (0x10, 'Δ'),
    (0x11, '_'),
    (0x12, 'Φ'),
    (0x13, 'Γ'),
    (0x14, 'Λ'),
    (0x15, 'Ω'),
    (0x16, 'Π'),
    (0x17, 'Ψ'),
    (0x18, 'Σ'),
    (0x19, 'Θ'),
    (0x1A, 'Ξ'),
    (0x1C, 'Æ'),
    (0x1D, 'æ'),
    (0x1E, 'ß'),
    (0x1F, 'É'),
    (0x20, ' '),
    (0x21, '!'),
    (0x22, '"'),
    (0x23, '#'),
    (0x24, '¤'),
    (0x25, '%'),
    (0x26, '&'),
    (0x27, '\''),
    (0x28, '('),
    (0x29, ')'),
    (0x2A, '*'),
    (0x2B, '+'),
    (0x2C, ','),
    (0x2D, '-'),
    (0x2E, '.'),
    (0x2F, '/'),
    (0x30, '0'),
    (0x31, '1'),
    (0x32, '2'),
    (0x33, '3'),
    (0x34, '4'),
    (0x35, '5'),
    (0x36, '6'),
    (0x37, '7'),
    (0x38, '8'),
    (0x39, '9'),
    (0x3A, ':'),
    (0x3B, ';'),
    (0x3C, '<'),
    (0x3D, '='),
    (0x3E, '>'),
    (0x3F, '?'),
    (0x40, '¡'),
    (0x41, 'A'),
    (0x42, 'B'),
    (0x43, 'C'),
    (0x44, 'D'),
    (0x45, 'E'),
    (0x46, 'F'),
    (0x47, 'G'),
    (0x48, 'H'),
    (0x49, 'I'),
    (0x4A, 'J'),
    (0x4B, 'K'),
    (0x4C, 'L'),
    (0x4D, 'M'),
    (0x4E, 'N'),
    (0x4F, 'O'),
    (0x50, 'P'),
    (0x51, 'Q'),
    (0x52, 'R'),
    (0x53, 'S'),
    (0x54, 'T'),
    (0x55, 'U'),
    (0x56, 'V'),
    (0x57, 'W'),
    (0x58, 'X'),
    (0x59, 'Y'),
    (0x5A, 'Z'),
    (0x5B, 'Ä'),
    (0x5C, 'Ö'),
    (0x5D, 'Ñ'),
    (0x5E, 'Ü'),
    (0x5F, '§'),
    (0x60, '¿'),
    (0x61, 'a'),
    (0x62, 'b'),
    (0x63, 'c'),
    (0x64, 'd'),
    (0x65, 'e'),
    (0x66, 'f'),
    (0x67, 'g'),
    (0x68, 'h'),
    (0x69, 'i'),
    (0x6A, 'j'),
    (0x6B, 'k'),
    (0x6C, 'l'),
    (0x6D, 'm'),
    (0x6E, 'n'),
    (0x6F, 'o'),
    (0x70, 'p'),
    (0x71, 'q'),
    (0x72, 'r'),
    (0x73, 's'),
    (0x74, 't'),
    (0x75, 'u'),
    (0x76, 'v'),
    (0x77, 'w'),
    (0x78, 'x'),
    (0x79, 'y'),
    (0x7A, 'z'),
    (0x7B, 'ä'),
    (0x7C, 'ö'),
    (0x7D, 'ñ'),
    (0x7E, 'ü'),
    (0x7F, 'à'),
];

/// GSM 03.38 extension table (code after the escape, character).
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

#[test]
fn basic_table_maps_every_septet() {
    let mut seen = [false; 128];
    for (code, c) in BASIC {
        assert!(!seen[usize::from(code)], "septet {code:#04x} listed twice");
        seen[usize::from(code)] = true;
        assert_eq!(gsm7::septets(c), Some(1), "{c:?}");
        assert!(gsm7::is_gsm7(c));
        assert_eq!(gsm7::encode(&c.to_string()), Ok(vec![code]), "{c:?}");
        assert_eq!(gsm7::decode(&[code]), c.to_string(), "septet {code:#04x}");
    }
    // Every septet but the escape is a character.
    assert_eq!(seen.iter().filter(|&&s| !s).count(), 1);
    assert!(!seen[0x1B]);
}

#[test]
fn extension_table_maps_to_escape_pairs() {
    for (code, c) in EXTENSION {
        assert_eq!(gsm7::septets(c), Some(2), "{c:?}");
        assert_eq!(gsm7::encode(&c.to_string()), Ok(vec![0x1B, code]), "{c:?}");
        assert_eq!(
            gsm7::decode(&[0x1B, code]),
            c.to_string(),
            "code {code:#04x}"
        );
    }
}

#[test]
fn whole_alphabet_round_trips() {
    let text: String = BASIC
        .iter()
        .map(|&(_, c)| c)
        .chain(EXTENSION.iter().map(|&(_, c)| c))
        .collect();
    let septets = gsm7::encode(&text).unwrap();
    assert_eq!(septets.len(), 127 + 2 * 10);
    assert_eq!(gsm7::decode(&septets), text);
}

#[test]
fn characters_outside_the_alphabet() {
    // Lowercase ç, the backtick, tab, ESC as text, and common lookalikes.
    for c in [
        'ç', '`', '\t', '\u{1B}', 'ê', 'á', 'ω', '’', '\u{A0}', '😀', '中', 'ж',
    ] {
        assert_eq!(gsm7::septets(c), None, "{c:?}");
        assert!(!gsm7::is_gsm7(c));
    }
    assert_eq!(gsm7::encode("façade `ok` ç"), Err(vec!['ç', '`']));
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn pack_golden_vectors() {
    let hello = gsm7::encode("hellohello").unwrap();
    assert_eq!(hex(&gsm7::pack(&hello, 0)), "E8 32 9B FD 46 97 D9 EC 37");
    assert_eq!(gsm7::unpack(&gsm7::pack(&hello, 0), 0, 10), hello);

    let question = gsm7::encode("How are you?").unwrap();
    assert_eq!(
        hex(&gsm7::pack(&question, 0)),
        "C8 F7 1D 14 96 97 41 F9 77 FD 07"
    );

    // One fill bit, as after a 6-octet concatenation header: every bit moves up one.
    assert_eq!(hex(&gsm7::pack(&hello, 1)), "D0 65 36 FB 8D 2E B3 D9 6F");
    assert_eq!(gsm7::unpack(&gsm7::pack(&hello, 1), 1, 10), hello);

    // Seven septets leave seven spare bits: the count tells them from an '@'.
    let seven = gsm7::encode("1234567").unwrap();
    let packed = gsm7::pack(&seven, 0);
    assert_eq!(hex(&packed), "31 D9 8C 56 B3 DD 00");
    assert_eq!(gsm7::unpack(&packed, 0, 7), seven);
    assert_eq!(
        gsm7::unpack(&packed, 0, 8),
        gsm7::encode("1234567@").unwrap()
    );

    // Escape pairs pack like any septets.
    let euro = gsm7::encode("€").unwrap();
    assert_eq!(hex(&gsm7::pack(&euro, 0)), "9B 32");
}

fn gsm(text: &str) -> SegmentCount {
    segments::count(text, Encoding::Gsm7)
}

fn ucs2(text: &str) -> SegmentCount {
    segments::count(text, Encoding::Ucs2)
}

fn payload_units(text: &str, encoding: Encoding) -> Vec<usize> {
    segments::split(text, encoding, 7)
        .unwrap()
        .iter()
        .map(|s| s.units())
        .collect()
}

#[test]
fn gsm7_segment_boundaries() {
    let a = |n| "a".repeat(n);
    assert_eq!(
        gsm(&a(160)),
        SegmentCount {
            units: 160,
            segments: 1
        }
    );
    assert_eq!(
        gsm(&a(161)),
        SegmentCount {
            units: 161,
            segments: 2
        }
    );
    assert_eq!(
        gsm(&a(306)),
        SegmentCount {
            units: 306,
            segments: 2
        }
    );
    assert_eq!(
        gsm(&a(307)),
        SegmentCount {
            units: 307,
            segments: 3
        }
    );
    assert_eq!(payload_units(&a(160), Encoding::Gsm7), [160]);
    assert_eq!(payload_units(&a(161), Encoding::Gsm7), [153, 8]);
    assert_eq!(payload_units(&a(307), Encoding::Gsm7), [153, 153, 1]);

    // An extension character costs two septets, also in a single message.
    assert_eq!(
        gsm(&format!("{}€", a(158))),
        SegmentCount {
            units: 160,
            segments: 1
        }
    );
    assert_eq!(
        gsm(&format!("{}€", a(159))),
        SegmentCount {
            units: 161,
            segments: 2
        }
    );

    // € at septets 153/154 would straddle the first boundary: part 1 carries
    // 152 septets, and 306 septets need 3 parts instead of 2.
    let straddling = format!("{}€{}", a(152), a(152));
    assert_eq!(
        gsm(&straddling),
        SegmentCount {
            units: 306,
            segments: 3
        }
    );
    assert_eq!(payload_units(&straddling, Encoding::Gsm7), [152, 153, 1]);
    // One character earlier, € ends the first part exactly.
    let fitting = format!("{}€{}", a(151), a(153));
    assert_eq!(
        gsm(&fitting),
        SegmentCount {
            units: 306,
            segments: 2
        }
    );
    assert_eq!(payload_units(&fitting, Encoding::Gsm7), [153, 153]);
    // At the second boundary (septets 306/307).
    let second = format!("{}€{}", a(305), a(100));
    assert_eq!(payload_units(&second, Encoding::Gsm7), [153, 152, 102]);
    assert_eq!(gsm(&second).segments, 3);
    // Only escapes: every part carries 76 pairs (152 septets).
    let euros = "€".repeat(153);
    assert_eq!(
        gsm(&euros),
        SegmentCount {
            units: 306,
            segments: 3
        }
    );
    assert_eq!(payload_units(&euros, Encoding::Gsm7), [152, 152, 2]);
}

#[test]
fn ucs2_segment_boundaries() {
    let zh = |n| "ж".repeat(n);
    assert_eq!(
        ucs2(&zh(70)),
        SegmentCount {
            units: 70,
            segments: 1
        }
    );
    assert_eq!(
        ucs2(&zh(71)),
        SegmentCount {
            units: 71,
            segments: 2
        }
    );
    assert_eq!(
        ucs2(&zh(134)),
        SegmentCount {
            units: 134,
            segments: 2
        }
    );
    assert_eq!(
        ucs2(&zh(135)),
        SegmentCount {
            units: 135,
            segments: 3
        }
    );
    assert_eq!(payload_units(&zh(71), Encoding::Ucs2), [67, 4]);

    // An emoji is a surrogate pair: two units.
    assert_eq!(
        ucs2(&format!("{}😀", zh(68))),
        SegmentCount {
            units: 70,
            segments: 1
        }
    );
    assert_eq!(
        ucs2(&format!("{}😀", zh(69))),
        SegmentCount {
            units: 71,
            segments: 2
        }
    );

    // The emoji at units 67/68 is not split: part 1 carries 66 units.
    let straddling = format!("{}😀{}", zh(66), zh(66));
    assert_eq!(
        ucs2(&straddling),
        SegmentCount {
            units: 134,
            segments: 3
        }
    );
    assert_eq!(payload_units(&straddling, Encoding::Ucs2), [66, 67, 1]);
    let fitting = format!("{}😀{}", zh(65), zh(67));
    assert_eq!(
        ucs2(&fitting),
        SegmentCount {
            units: 134,
            segments: 2
        }
    );
    assert_eq!(payload_units(&fitting, Encoding::Ucs2), [67, 67]);
}

#[test]
fn split_headers_and_payloads() {
    let parts = segments::split(&"a".repeat(161), Encoding::Gsm7, 0xAB).unwrap();
    assert_eq!(parts[0].udh, Some([0x05, 0x00, 0x03, 0xAB, 2, 1]));
    assert_eq!(parts[1].udh, Some([0x05, 0x00, 0x03, 0xAB, 2, 2]));
    assert_eq!(parts[1].payload, vec![0x61; 8]);

    let single = segments::split("Hi €", Encoding::Gsm7, 1).unwrap();
    assert_eq!(single.len(), 1);
    assert_eq!(single[0].udh, None);
    assert_eq!(single[0].payload, vec![0x48, 0x69, 0x20, 0x1B, 0x65]);
    assert_eq!(single[0].text(), "Hi €");

    let emoji = segments::split("é😀", Encoding::Ucs2, 1).unwrap();
    assert_eq!(emoji[0].payload, vec![0x00, 0xE9, 0xD8, 0x3D, 0xDE, 0x00]);
    assert_eq!(emoji[0].text(), "é😀");
}

fn replacements(pairs: &[(char, &str)]) -> Vec<Replacement> {
    pairs
        .iter()
        .map(|&(from, to)| Replacement {
            from,
            to: to.to_owned(),
        })
        .collect()
}

/// Transliterates `input`, checks the exact output and replacements, and that
/// the result goes out in GSM-7 with the same replacements.
fn check_smart(input: &str, expected: &str, expected_replacements: &[(char, &str)]) {
    let (text, made) = transliterate(input);
    assert_eq!(text, expected);
    assert_eq!(made, replacements(expected_replacements));
    assert!(gsm7::encode(&text).is_ok(), "{text:?} is not GSM-7");
    let analysis = analyze(input, EncodingMode::Auto, true).unwrap();
    assert_eq!(analysis.encoding, Encoding::Gsm7);
    assert_eq!(analysis.text, expected);
    assert_eq!(analysis.replacements, made);
    assert!(analysis.ucs2_chars.is_empty());
}

#[test]
fn smart_french() {
    check_smart(
        "Ça coûte 5\u{A0}€ : rendez-vous à l’hôtel «\u{A0}Le Château\u{A0}» à 19\u{202F}h — Noël, façade, œuvre…",
        "Ça coute 5 € : rendez-vous à l'hotel \" Le Chateau \" à 19 h - Noel, facade, oeuvre...",
        &[
            ('û', "u"),
            ('\u{A0}', " "),
            ('’', "'"),
            ('ô', "o"),
            ('«', "\""),
            ('â', "a"),
            ('»', "\""),
            ('\u{202F}', " "),
            ('—', "-"),
            ('ë', "e"),
            ('ç', "c"),
            ('œ', "oe"),
            ('…', "..."),
        ],
    );
    check_smart(
        "Œuvres d’ÉTÉ : « À BIENTÔT » – L’équipe • Île, Ève, Ÿ, ÇA",
        "OEuvres d'ÉTÉ : \" A BIENTOT \" - L'équipe - Ile, Eve, Y, ÇA",
        &[
            ('Œ', "OE"),
            ('’', "'"),
            ('«', "\""),
            ('À', "A"),
            ('Ô', "O"),
            ('»', "\""),
            ('–', "-"),
            ('•', "-"),
            ('Î', "I"),
            ('È', "E"),
            ('Ÿ', "Y"),
        ],
    );
}

#[test]
fn smart_german() {
    check_smart(
        "Schöne Grüße aus Köln – „Die Straße ist gesperrt“, sagte Jürgen… Ärger? Öfter! Übermorgen.",
        "Schöne Grüße aus Köln - \"Die Straße ist gesperrt\", sagte Jürgen... Ärger? Öfter! Übermorgen.",
        &[('–', "-"), ('„', "\""), ('“', "\""), ('…', "...")],
    );
}

#[test]
fn smart_spanish() {
    check_smart(
        "¡Hola, Ángel! ¿Cómo estás? La canción está aquí: mañana, ÚLTIMA sesión con José Núñez. ¡ÓRALE, ÍÑIGO!",
        "¡Hola, Angel! ¿Como estas? La cancion esta aqui: mañana, ULTIMA sesion con José Nuñez. ¡ORALE, IÑIGO!",
        &[
            ('Á', "A"),
            ('ó', "o"),
            ('á', "a"),
            ('í', "i"),
            ('Ú', "U"),
            ('ú', "u"),
            ('Ó', "O"),
            ('Í', "I"),
        ],
    );
}

#[test]
fn smart_romanian() {
    // Both the comma-below letters (ș ț, correct) and the cedilla ones (ş ţ,
    // common on old keyboards).
    check_smart(
        "Bună ziua! \u{218}tia\u{21B}i că în România \u{21B}ara are \u{219}i \u{163}ărani cu \u{15F}? \
         ÎNTÂLNIRE ÎN \u{21A}ARĂ, \u{15E} \u{15F}i \u{162}.",
        "Buna ziua! Stiati ca in Romania tara are si tarani cu s? INTALNIRE IN TARA, S si T.",
        &[
            ('ă', "a"),
            ('\u{218}', "S"),
            ('\u{21B}', "t"),
            ('î', "i"),
            ('â', "a"),
            ('\u{219}', "s"),
            ('\u{163}', "t"),
            ('\u{15F}', "s"),
            ('Î', "I"),
            ('Â', "A"),
            ('\u{21A}', "T"),
            ('Ă', "A"),
            ('\u{15E}', "S"),
            ('\u{162}', "T"),
        ],
    );
}

#[test]
fn smart_other_latin_languages() {
    let out = |text| transliterate(text).0;
    assert_eq!(out("Zażółć gęślą jaźń. ŁÓDŹ"), "Zazolc gesla jazn. LODZ");
    assert_eq!(
        out("Příliš žluťoučký kůň úpěl ďábelské ódy"),
        "Prilis zlutoucky kun upel dabelské ody"
    );
    // Hungarian long umlauts become the GSM-7 short ones.
    assert_eq!(
        out("Árvíztűrő tükörfúrógép, ŐSZ, ŰR"),
        "Arviztürö tükörfurogép, ÖSZ, ÜR"
    );
    assert_eq!(
        out("Ærøskøbing, Åland, Þórður, İstanbul"),
        "Ærøskøbing, Åland, Thordur, Istanbul"
    );
}

#[test]
fn smart_spaces_quotes_and_invisibles() {
    let (text, made) = transliterate("a\u{2009}b\u{3000}c\u{200B}d\u{FEFF}e\u{AD}f\tg‘h’‚′ “i” „″");
    assert_eq!(text, "a b cdef g'h'''\u{20}\"i\" \"\"");
    assert_eq!(made.len(), 14);
    assert_eq!(
        made[2],
        Replacement {
            from: '\u{200B}',
            to: String::new()
        }
    );
}

#[test]
fn smart_keeps_what_has_no_equivalent() {
    let (text, made) = transliterate("Привет — 😀 中文 ω “ok”");
    assert_eq!(text, "Привет - 😀 中文 ω \"ok\"");
    assert_eq!(made, replacements(&[('—', "-"), ('“', "\""), ('”', "\"")]));
    // The text needs UCS-2 even after replacing: it is sent as written.
    let analysis = analyze("Привет — 😀", EncodingMode::Auto, true).unwrap();
    assert_eq!(analysis.encoding, Encoding::Ucs2);
    assert_eq!(analysis.text, "Привет — 😀");
    assert!(analysis.replacements.is_empty());
    assert_eq!(
        analysis.ucs2_chars,
        ['П', 'р', 'и', 'в', 'е', 'т', '—', '😀']
    );
    // Forcing GSM-7 still reports what cannot be replaced.
    assert_eq!(
        analyze("Привет — 😀", EncodingMode::Gsm7, true),
        Err(EncodingError::NotGsm7(vec![
            'П', 'р', 'и', 'в', 'е', 'т', '😀'
        ]))
    );
}

#[test]
fn analyze_auto() {
    let a = analyze("Hello {name}, 5€!", EncodingMode::Auto, false).unwrap();
    assert_eq!(a.text, "Hello {name}, 5€!");
    assert_eq!(a.encoding, Encoding::Gsm7);
    assert_eq!((a.chars, a.units, a.segments), (17, 20, 1));
    assert!(a.ucs2_chars.is_empty());
    assert!(a.replacements.is_empty());

    // Without smart encoding, one ç forces UCS-2; the emoji takes two units.
    let a = analyze("Merci 😀, à bientôt ç ô", EncodingMode::Auto, false).unwrap();
    assert_eq!(a.text, "Merci 😀, à bientôt ç ô");
    assert_eq!(a.encoding, Encoding::Ucs2);
    assert_eq!(a.ucs2_chars, ['😀', 'ô', 'ç']);
    assert_eq!((a.chars, a.units, a.segments), (22, 23, 1));

    // With it, the text fits GSM-7.
    let a = analyze("à bientôt ç", EncodingMode::Auto, true).unwrap();
    assert_eq!(a.text, "à bientot c");
    assert_eq!(a.encoding, Encoding::Gsm7);
    assert_eq!(a.replacements, replacements(&[('ô', "o"), ('ç', "c")]));
    assert!(a.ucs2_chars.is_empty());

    // Long texts.
    let a = analyze(&"é".repeat(161), EncodingMode::Auto, false).unwrap();
    assert_eq!((a.encoding, a.units, a.segments), (Encoding::Gsm7, 161, 2));
    let a = analyze(&"ê".repeat(71), EncodingMode::Auto, false).unwrap();
    assert_eq!((a.encoding, a.units, a.segments), (Encoding::Ucs2, 71, 2));
    let a = analyze(&"ê".repeat(71), EncodingMode::Auto, true).unwrap();
    assert_eq!((a.encoding, a.units, a.segments), (Encoding::Gsm7, 71, 1));
    let a = analyze(
        &format!("{}€{}", "a".repeat(152), "a".repeat(152)),
        EncodingMode::Auto,
        false,
    )
    .unwrap();
    assert_eq!((a.units, a.segments), (306, 3));
}

#[test]
fn analyze_gsm7_mode_transliterates_or_fails() {
    let a = analyze("L’été ç", EncodingMode::Gsm7, false).unwrap();
    assert_eq!(a.text, "L'été c");
    assert_eq!(a.encoding, Encoding::Gsm7);
    assert_eq!(a.replacements, replacements(&[('’', "'"), ('ç', "c")]));

    assert_eq!(
        analyze("Bravo 😀 ça 中 😀", EncodingMode::Gsm7, false),
        Err(EncodingError::NotGsm7(vec!['😀', '中']))
    );
    assert_eq!(
        analyze("Bravo 😀", EncodingMode::Gsm7, true),
        Err(EncodingError::NotGsm7(vec!['😀']))
    );
}

#[test]
fn analyze_ucs2_mode() {
    let a = analyze("Hello", EncodingMode::Ucs2, false).unwrap();
    assert_eq!(a.encoding, Encoding::Ucs2);
    assert_eq!((a.chars, a.units, a.segments), (5, 5, 1));
    assert!(a.ucs2_chars.is_empty());

    let a = analyze("Hello ç “x”", EncodingMode::Ucs2, false).unwrap();
    assert_eq!(a.text, "Hello ç “x”");
    assert_eq!(a.ucs2_chars, ['ç', '“', '”']);
    assert!(a.replacements.is_empty());

    // Smart encoding still applies when asked; the encoding stays UCS-2.
    let a = analyze("Hello ç “x”", EncodingMode::Ucs2, true).unwrap();
    assert_eq!(a.text, "Hello c \"x\"");
    assert_eq!(a.encoding, Encoding::Ucs2);
    assert!(a.ucs2_chars.is_empty());
    assert_eq!(a.replacements.len(), 3);

    let a = analyze(&"a".repeat(71), EncodingMode::Ucs2, false).unwrap();
    assert_eq!((a.units, a.segments), (71, 2));
}

#[test]
fn analysis_serializes() {
    let a = analyze("Salut ç", EncodingMode::Auto, true).unwrap();
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "text": "Salut c",
            "encoding": "gsm7",
            "chars": 7,
            "units": 7,
            "segments": 1,
            "ucs2_chars": [],
            "replacements": [{ "from": "ç", "to": "c" }],
        })
    );
}
