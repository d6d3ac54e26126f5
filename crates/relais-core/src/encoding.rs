//! Text analysis: which encoding a text goes out in (after smart encoding if
//! asked), and how many characters, units and segments it takes.
//!
//! [`analyze`] runs once per message text when a campaign is planned, so the
//! common case is cheap: an all-ASCII GSM-7 text takes one vectorized pass over
//! its bytes, and no allocation beyond the returned `String`.

use crate::{gsm7, segments, smart};

/// The encoding a message goes out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// What the client asked for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum EncodingMode {
    #[default]
    Auto,
    Gsm7,
    Ucs2,
}

/// A character replaced by smart encoding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Replacement {
    pub from: char,
    pub to: String,
}

/// Result of analysing a text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TextAnalysis {
    /// The text as it will be sent (after smart encoding, if asked).
    pub text: String,
    pub encoding: Encoding,
    /// Unicode scalar values in `text`.
    pub chars: usize,
    /// Septets (GSM-7, escapes count two) or UTF-16 code units (UCS-2).
    pub units: usize,
    pub segments: u16,
    /// Distinct characters of `text` outside GSM-7, in order of first appearance.
    pub ucs2_chars: Vec<char>,
    /// Distinct replacements made by smart encoding, in order of first appearance.
    pub replacements: Vec<Replacement>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    #[error("characters not in the GSM-7 alphabet: {0:?}")]
    NotGsm7(Vec<char>),
}

/// Analyses `text` for sending in `mode`.
///
/// - `smart`: characters outside GSM-7 are first replaced by their nearest
///   equivalent (see [`smart`]), unless some would remain: a text that needs
///   UCS-2 anyway is sent as written.
/// - [`EncodingMode::Auto`]: GSM-7 if every character fits, UCS-2 otherwise.
/// - [`EncodingMode::Gsm7`]: smart encoding applies even without `smart`; the
///   characters that remain outside GSM-7 fail with [`EncodingError::NotGsm7`].
/// - [`EncodingMode::Ucs2`]: UCS-2 whatever the text.
///
/// `ucs2_chars` lists the characters outside GSM-7 in every mode.
pub fn analyze(text: &str, mode: EncodingMode, smart: bool) -> Result<TextAnalysis, EncodingError> {
    let scan = Scan::of(text);
    // Smart encoding only ever touches characters outside GSM-7: without any,
    // it would change nothing, and the text is not walked again.
    // When replacing cannot bring the text down to GSM-7 it goes out in UCS-2
    // anyway, and the replacements would only degrade it: the original is kept.
    let (text, scan, replacements) = match scan.non_gsm.is_empty() {
        false if smart || mode == EncodingMode::Gsm7 => {
            let (replaced, replacements) = smart::transliterate(text);
            let replaced_scan = Scan::of(&replaced);
            if replaced_scan.non_gsm.is_empty() || mode == EncodingMode::Gsm7 {
                (replaced, replaced_scan, replacements)
            } else {
                (text.to_owned(), scan, Vec::new())
            }
        }
        _ => (text.to_owned(), scan, Vec::new()),
    };
    let encoding = match mode {
        EncodingMode::Auto if scan.non_gsm.is_empty() => Encoding::Gsm7,
        EncodingMode::Auto | EncodingMode::Ucs2 => Encoding::Ucs2,
        EncodingMode::Gsm7 if scan.non_gsm.is_empty() => Encoding::Gsm7,
        EncodingMode::Gsm7 => return Err(EncodingError::NotGsm7(scan.non_gsm)),
    };
    let (units, pairs) = match encoding {
        Encoding::Gsm7 => (scan.septets, scan.escapes),
        Encoding::Ucs2 => (scan.utf16, scan.surrogates),
    };
    let segments = segments::segments_for(&text, encoding, units, pairs);
    Ok(TextAnalysis {
        text,
        encoding,
        chars: scan.chars,
        units,
        segments,
        ucs2_chars: scan.non_gsm,
        replacements,
    })
}

/// What a scan of a text learns, for both encodings.
struct Scan {
    chars: usize,
    /// Septets, counting a character outside GSM-7 as one.
    septets: usize,
    utf16: usize,
    /// Whether the text holds a GSM-7 extension character (an escape pair).
    escapes: bool,
    /// Whether the text holds a character outside the BMP (a surrogate pair).
    surrogates: bool,
    /// Distinct characters outside GSM-7, in order of first appearance.
    non_gsm: Vec<char>,
}

impl Scan {
    fn of(text: &str) -> Scan {
        if let Some(septets) = gsm7::ascii_septets(text.as_bytes()) {
            let len = text.len();
            return Scan {
                chars: len,
                septets,
                utf16: len,
                escapes: septets > len,
                surrogates: false,
                non_gsm: Vec::new(),
            };
        }
        let (chars, astral) = segments::chars_and_astral(text);
        let mut extensions = 0;
        let mut non_gsm = Vec::new();
        for c in text.chars() {
            match gsm7::septets(c) {
                Some(1) => {}
                Some(_) => extensions += 1,
                None => {
                    if !non_gsm.contains(&c) {
                        non_gsm.push(c);
                    }
                }
            }
        }
        Scan {
            chars,
            septets: chars + extensions,
            utf16: chars + astral,
            escapes: extensions > 0,
            surrogates: astral > 0,
            non_gsm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_with_a_non_gsm_byte_takes_the_general_path() {
        let a = analyze("a`b\tc`", EncodingMode::Auto, false).unwrap();
        assert_eq!(a.encoding, Encoding::Ucs2);
        assert_eq!(a.ucs2_chars, vec!['`', '\t']);
        assert_eq!((a.chars, a.units, a.segments), (6, 6, 1));
    }

    #[test]
    fn escapes_in_ascii_count_two() {
        let a = analyze("{x}", EncodingMode::Auto, false).unwrap();
        assert_eq!((a.encoding, a.chars, a.units), (Encoding::Gsm7, 3, 5));
    }
}
