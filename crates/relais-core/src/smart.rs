//! Smart encoding: replacing characters outside GSM-7 by their nearest GSM-7
//! equivalent, so that a text typed on a modern keyboard (typographic quotes,
//! non-breaking spaces, accents GSM-7 lacks) goes out in the cheaper alphabet.
//!
//! Only characters outside GSM-7 are touched: é è ù à ì ò Ç É Ä Ö Ü ä ö ü ñ Ñ
//! ß Å å Æ æ Ø ø and the Greek capitals of the alphabet stay as they are.
//! Characters with no equivalent (emoji, CJK, Cyrillic, other Greek letters…)
//! are kept, and the text then needs UCS-2.
//!
//! Choices worth knowing:
//! - `ç` becomes `c`, not `Ç`: GSM-7 only has the capital, and a capital in the
//!   middle of a word (`franÇais`) reads worse than a missing cedilla.
//! - A letter whose accent GSM-7 lacks loses it (`ê` → `e`, `Ș` → `S`, `È` →
//!   `E`), except Hungarian `ő ű Ő Ű`, which become `ö ü Ö Ü`, their short forms.
//! - Ligatures and letters without a single base spell out: `œ` → `oe`, `Œ` →
//!   `OE`, `Þ` → `Th`, `ĳ` → `ij`.
//! - Invisible characters (zero-width space, word joiner, BOM, soft hyphen) are
//!   removed. Joiners, variation selectors and combining marks are removed after
//!   a GSM-7 character, where they only add noise (a decomposed `e` + U+0301
//!   becomes `e`), and kept after any other character, where they shape an emoji
//!   sequence or a script.
//! - Latin Extended Additional (Vietnamese) is not covered.

use crate::encoding::Replacement;
use crate::gsm7;

/// Replaces the characters of `text` outside GSM-7 that have an equivalent,
/// returning the new text and the distinct replacements made, in order of first
/// appearance.
pub fn transliterate(text: &str) -> (String, Vec<Replacement>) {
    let mut out = String::new();
    // `text[..copied]` has been written to `out`, from the first replacement on.
    let mut copied = 0;
    let mut replacements: Vec<Replacement> = Vec::new();
    // Whether the last character written is GSM-7 (true at the start, where a
    // joiner or combining mark has nothing to attach to).
    let mut after_gsm = true;
    for (i, c) in text.char_indices() {
        let gsm = gsm7::is_gsm7(c);
        let Some(to) = (if gsm { None } else { equivalent(c, after_gsm) }) else {
            after_gsm = gsm;
            continue;
        };
        if replacements.is_empty() {
            out.reserve(text.len());
        }
        out.push_str(&text[copied..i]);
        out.push_str(to);
        copied = i + c.len_utf8();
        after_gsm |= !to.is_empty();
        if !replacements.iter().any(|r| r.from == c) {
            replacements.push(Replacement {
                from: c,
                to: to.to_owned(),
            });
        }
    }
    if replacements.is_empty() {
        return (text.to_owned(), replacements);
    }
    out.push_str(&text[copied..]);
    (out, replacements)
}

/// The GSM-7 replacement of `c`, a character outside GSM-7, or `None` to keep it.
fn equivalent(c: char, after_gsm: bool) -> Option<&'static str> {
    let to = match c {
        // Latin-1 Supplement letters.
        'À' | 'Á' | 'Â' | 'Ã' => "A",
        'È' | 'Ê' | 'Ë' => "E",
        'Ì' | 'Í' | 'Î' | 'Ï' => "I",
        'Ð' => "D",
        'Ò' | 'Ó' | 'Ô' | 'Õ' => "O",
        'Ù' | 'Ú' | 'Û' => "U",
        'Ý' => "Y",
        'Þ' => "Th",
        'á' | 'â' | 'ã' => "a",
        'ç' => "c",
        'ê' | 'ë' => "e",
        'í' | 'î' | 'ï' => "i",
        'ð' => "d",
        'ó' | 'ô' | 'õ' => "o",
        'ú' | 'û' => "u",
        'ý' | 'ÿ' => "y",
        'þ' => "th",
        // Latin Extended-A.
        'Ā' | 'Ă' | 'Ą' => "A",
        'ā' | 'ă' | 'ą' => "a",
        'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'Ď' | 'Đ' => "D",
        'ď' | 'đ' => "d",
        'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'Ĥ' | 'Ħ' => "H",
        'ĥ' | 'ħ' => "h",
        'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'Ĳ' => "IJ",
        'ĳ' => "ij",
        'Ĵ' => "J",
        'ĵ' => "j",
        'Ķ' => "K",
        'ķ' | 'ĸ' => "k",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "L",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'Ń' | 'Ņ' | 'Ň' | 'Ŋ' => "N",
        'ń' | 'ņ' | 'ň' | 'ŋ' => "n",
        'ŉ' => "'n",
        'Ō' | 'Ŏ' => "O",
        'ō' | 'ŏ' => "o",
        'Ő' => "Ö",
        'ő' => "ö",
        'Œ' => "OE",
        'œ' => "oe",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' => "S",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ſ' => "s",
        'Ţ' | 'Ť' | 'Ŧ' => "T",
        'ţ' | 'ť' | 'ŧ' => "t",
        'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ų' => "U",
        'ũ' | 'ū' | 'ŭ' | 'ů' | 'ų' => "u",
        'Ű' => "Ü",
        'ű' => "ü",
        'Ŵ' => "W",
        'ŵ' => "w",
        'Ŷ' | 'Ÿ' => "Y",
        'ŷ' => "y",
        'Ź' | 'Ż' | 'Ž' => "Z",
        'ź' | 'ż' | 'ž' => "z",
        // Romanian comma-below letters (Latin Extended-B).
        'Ș' => "S",
        'ș' => "s",
        'Ț' => "T",
        'ț' => "t",
        // Lookalikes of GSM-7 Greek capitals.
        '\u{2126}' => "Ω", // OHM SIGN
        '\u{2206}' => "Δ", // INCREMENT
        // Spaces and line breaks.
        '\t' | '\u{A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{2028}' | '\u{2029}' => "\n",
        // Invisible characters.
        '\u{AD}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' => "",
        // Joiners, variation selectors, combining marks: see the module doc.
        '\u{200C}' | '\u{200D}' | '\u{FE0E}' | '\u{FE0F}' | '\u{300}'..='\u{36F}' => {
            return after_gsm.then_some("");
        }
        // Punctuation.
        '‘' | '’' | '‚' | '‛' | '′' | '‹' | '›' | '´' | '`' => "'",
        '“' | '”' | '„' | '‟' | '″' | '«' | '»' => "\"",
        '\u{2010}'..='\u{2015}' | '\u{2212}' => "-",
        '…' => "...",
        '•' | '‣' | '◦' | '⁃' => "-",
        '·' => ".",
        // Symbols.
        '©' => "(C)",
        '®' => "(R)",
        '™' => "TM",
        '×' => "x",
        '¹' => "1",
        '²' => "2",
        '³' => "3",
        _ => return None,
    };
    Some(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_replacement_is_gsm7() {
        for cp in 0..=0x10FFFF {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            if gsm7::is_gsm7(c) {
                continue;
            }
            for after_gsm in [false, true] {
                if let Some(to) = equivalent(c, after_gsm) {
                    assert!(to.chars().all(gsm7::is_gsm7), "{c:?} -> {to:?}");
                }
            }
        }
    }

    #[test]
    fn unchanged_text_is_returned_as_is() {
        assert_eq!(
            transliterate("Hello {world} €5"),
            ("Hello {world} €5".into(), vec![])
        );
        assert_eq!(transliterate("Привет 😀"), ("Привет 😀".into(), vec![]));
        assert_eq!(transliterate(""), (String::new(), vec![]));
    }

    #[test]
    fn joiners_are_kept_in_emoji_sequences_only() {
        // Family emoji: ZWJs between non-GSM characters stay.
        let family = "👨\u{200D}👩\u{200D}👧";
        assert_eq!(transliterate(family).0, family);
        // Red heart: the variation selector follows ❤, it stays.
        assert_eq!(transliterate("\u{2764}\u{FE0F}").0, "\u{2764}\u{FE0F}");
        // After a GSM-7 letter, or at the start, they go.
        let (text, replacements) = transliterate("\u{200D}ok\u{200D}\u{FE0F}");
        assert_eq!(text, "ok");
        assert_eq!(
            replacements,
            vec![
                Replacement {
                    from: '\u{200D}',
                    to: String::new()
                },
                Replacement {
                    from: '\u{FE0F}',
                    to: String::new()
                },
            ]
        );
    }

    #[test]
    fn combining_marks() {
        // Decomposed é: the mark goes, the base letter stays.
        assert_eq!(transliterate("e\u{301}te\u{301}").0, "ete");
        // After a replaced letter too.
        assert_eq!(transliterate("ê\u{301}").0, "e");
        // After a kept non-GSM letter (Cyrillic й decomposed), the mark stays.
        assert_eq!(transliterate("и\u{306}").0, "и\u{306}");
    }

    #[test]
    fn replacements_are_listed_once() {
        let (text, replacements) = transliterate("“a” “b”");
        assert_eq!(text, "\"a\" \"b\"");
        assert_eq!(
            replacements,
            vec![
                Replacement {
                    from: '“',
                    to: "\"".into()
                },
                Replacement {
                    from: '”',
                    to: "\"".into()
                },
            ]
        );
    }
}
