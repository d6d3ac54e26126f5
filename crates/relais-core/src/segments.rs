//! Segments: how many SMS parts a text takes in a given encoding, and cutting it
//! into parts that carry the concatenation header.
//!
//! A single SMS carries 140 octets: 160 GSM-7 septets or 70 UTF-16 code units.
//! A part of a longer message gives 6 of them to the header `05 00 03 ref total
//! seq`, leaving 153 septets or 67 units. An escape pair (GSM-7 extension
//! character) or a surrogate pair (a character outside the BMP) is never cut
//! across two parts, so a part that would end in the middle of one carries one
//! unit less: counting therefore walks the text instead of dividing.

use crate::encoding::Encoding;
use crate::gsm7;

/// Most parts a concatenated message can have: the header counts them in one octet.
pub const MAX_SEGMENTS: usize = 255;

/// Units a message can carry, in septets (GSM-7) or UTF-16 code units (UCS-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A message that fits in one SMS, without header.
    pub single: usize,
    /// Each part of a concatenated message.
    pub part: usize,
}

/// The limits of `encoding`: 160/153 septets for GSM-7, 70/67 units for UCS-2.
pub const fn limits(encoding: Encoding) -> Limits {
    match encoding {
        Encoding::Gsm7 => Limits {
            single: 160,
            part: 153,
        },
        Encoding::Ucs2 => Limits {
            single: 70,
            part: 67,
        },
    }
}

/// Size of a text in an encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentCount {
    /// Septets (escapes count two) or UTF-16 code units.
    pub units: usize,
    /// SMS parts; at least 1, even for an empty text. Saturates at `u16::MAX`.
    pub segments: u16,
}

/// Counts the units and segments of `text` in `encoding`.
///
/// The text is expected to fit the encoding (see [`crate::encoding::analyze`]);
/// a character outside GSM-7 counts as one septet.
pub fn count(text: &str, encoding: Encoding) -> SegmentCount {
    let (units, pairs) = match encoding {
        Encoding::Gsm7 => gsm7_units(text),
        Encoding::Ucs2 => utf16_units(text),
    };
    SegmentCount {
        units,
        segments: segments_for(text, encoding, units, pairs),
    }
}

/// Segments of `text` whose `units` are already known; `pairs` says whether it
/// holds an escape or surrogate pair, the only case that needs a walk.
pub(crate) fn segments_for(text: &str, encoding: Encoding, units: usize, pairs: bool) -> u16 {
    let Limits { single, part } = limits(encoding);
    let segments = if units <= single {
        1
    } else if !pairs {
        units.div_ceil(part)
    } else {
        // Greedy fill, exactly as `split` cuts.
        let mut segments = 1;
        let mut fill = 0;
        for c in text.chars() {
            let cost = unit_cost(c, encoding);
            if fill + cost > part {
                segments += 1;
                fill = 0;
            }
            fill += cost;
        }
        segments
    };
    u16::try_from(segments).unwrap_or(u16::MAX)
}

fn unit_cost(c: char, encoding: Encoding) -> usize {
    match encoding {
        Encoding::Gsm7 => usize::from(gsm7::septets(c).unwrap_or(1)),
        Encoding::Ucs2 => c.len_utf16(),
    }
}

/// Septets of `text`, and whether it holds an extension character.
fn gsm7_units(text: &str) -> (usize, bool) {
    if let Some(septets) = gsm7::ascii_septets(text.as_bytes()) {
        return (septets, septets > text.len());
    }
    let (mut units, mut pairs) = (0, false);
    for c in text.chars() {
        let cost = gsm7::septets(c).unwrap_or(1);
        pairs |= cost == 2;
        units += usize::from(cost);
    }
    (units, pairs)
}

/// UTF-16 code units of `text`, and whether it holds a surrogate pair.
fn utf16_units(text: &str) -> (usize, bool) {
    let (chars, astral) = chars_and_astral(text);
    (chars + astral, astral > 0)
}

/// Characters of `text`, and how many of them lie outside the BMP.
///
/// Read from the UTF-8 bytes, which the compiler vectorizes: every byte that is
/// not a continuation byte starts a character, and a lead byte of 0xF0 or more
/// starts one outside the BMP. `u8` counters over 255-byte chunks cannot overflow.
pub(crate) fn chars_and_astral(text: &str) -> (usize, usize) {
    let (mut chars, mut astral) = (0, 0);
    for chunk in text.as_bytes().chunks(255) {
        let (mut c, mut a) = (0u8, 0u8);
        for &b in chunk {
            c += u8::from(b & 0xC0 != 0x80);
            a += u8::from(b >= 0xF0);
        }
        chars += usize::from(c);
        astral += usize::from(a);
    }
    (chars, astral)
}

/// One SMS of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub encoding: Encoding,
    /// Concatenation header `05 00 03 reference total seq` (8-bit reference,
    /// `seq` from 1); `None` for a single-part message.
    pub udh: Option<[u8; 6]>,
    /// GSM-7: unpacked septets, one per byte (see [`gsm7::pack`] to pack them,
    /// with 1 fill bit after this header). UCS-2: UTF-16BE bytes.
    pub payload: Vec<u8>,
}

impl Segment {
    /// The text this segment carries.
    ///
    /// A UCS-2 payload of odd length, or one holding a lone surrogate, which
    /// [`split`] never produces, decodes with U+FFFD in place of the bad unit.
    pub fn text(&self) -> String {
        match self.encoding {
            Encoding::Gsm7 => gsm7::decode(&self.payload),
            Encoding::Ucs2 => {
                let pairs = self.payload.chunks_exact(2);
                let odd = !pairs.remainder().is_empty();
                let units = pairs.map(|b| u16::from_be_bytes([b[0], b[1]]));
                let mut text: String = char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect();
                if odd {
                    text.push(char::REPLACEMENT_CHARACTER);
                }
                text
            }
        }
    }

    /// Septets or UTF-16 code units in the payload.
    pub fn units(&self) -> usize {
        match self.encoding {
            Encoding::Gsm7 => self.payload.len(),
            Encoding::Ucs2 => self.payload.len() / 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("characters not in the GSM-7 alphabet: {0:?}")]
    NotGsm7(Vec<char>),
    #[error("the text needs {0} segments; a concatenated message has at most 255")]
    TooManySegments(usize),
}

/// Cuts `text` into the SMS that carry it in `encoding`; `reference` identifies
/// the message in the concatenation headers and should differ between
/// consecutive long messages to the same recipient.
///
/// Yields as many segments as [`count`] says, at least one.
pub fn split(text: &str, encoding: Encoding, reference: u8) -> Result<Vec<Segment>, SplitError> {
    let limits = limits(encoding);
    match encoding {
        Encoding::Gsm7 => {
            let septets = gsm7::encode(text).map_err(SplitError::NotGsm7)?;
            // In an encoded text 0x1B only ever opens an escape pair: no
            // extension code is 0x1B, and U+001B is not encodable.
            let parts = cut(&septets, limits, |s| s == gsm7::ESC)?;
            Ok(assemble(encoding, reference, parts, <[u8]>::to_vec))
        }
        Encoding::Ucs2 => {
            let units: Vec<u16> = text.encode_utf16().collect();
            let parts = cut(&units, limits, |u| (0xD800..0xDC00).contains(&u))?;
            Ok(assemble(encoding, reference, parts, |part| {
                part.iter().flat_map(|u| u.to_be_bytes()).collect()
            }))
        }
    }
}

/// Cuts `units` greedily into parts, ending a part one unit early when its last
/// unit would open a pair.
fn cut<T: Copy>(
    units: &[T],
    limits: Limits,
    opens_pair: impl Fn(T) -> bool,
) -> Result<Vec<&[T]>, SplitError> {
    if units.len() <= limits.single {
        return Ok(vec![units]);
    }
    let mut parts = Vec::with_capacity(units.len().div_ceil(limits.part) + 1);
    let mut rest = units;
    while !rest.is_empty() {
        let mut end = rest.len().min(limits.part);
        if end < rest.len() && opens_pair(rest[end - 1]) {
            end -= 1;
        }
        let (part, tail) = rest.split_at(end);
        parts.push(part);
        rest = tail;
    }
    if parts.len() > MAX_SEGMENTS {
        return Err(SplitError::TooManySegments(parts.len()));
    }
    Ok(parts)
}

fn assemble<T>(
    encoding: Encoding,
    reference: u8,
    parts: Vec<&[T]>,
    payload: impl Fn(&[T]) -> Vec<u8>,
) -> Vec<Segment> {
    // `cut` checked that the total fits in an octet.
    let total = parts.len() as u8;
    parts
        .into_iter()
        .zip(1..=total)
        .map(|(part, seq)| Segment {
            encoding,
            udh: (total > 1).then_some([0x05, 0x00, 0x03, reference, total, seq]),
            payload: payload(part),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_one_empty_segment() {
        for encoding in [Encoding::Gsm7, Encoding::Ucs2] {
            assert_eq!(
                count("", encoding),
                SegmentCount {
                    units: 0,
                    segments: 1
                }
            );
            let parts = split("", encoding, 0).unwrap();
            assert_eq!(
                parts,
                vec![Segment {
                    encoding,
                    udh: None,
                    payload: vec![]
                }]
            );
        }
    }

    #[test]
    fn utf16_units_from_bytes() {
        assert_eq!(utf16_units("aé€😀"), (5, true));
        assert_eq!(utf16_units("中文"), (2, false));
        let long = "é😀a".repeat(200);
        assert_eq!(chars_and_astral(&long), (600, 200));
        assert_eq!(utf16_units(&long), (800, true));
    }

    #[test]
    fn too_many_segments() {
        let ok = "a".repeat(153 * 255);
        assert_eq!(split(&ok, Encoding::Gsm7, 1).unwrap().len(), 255);
        let too_long = "a".repeat(153 * 255 + 1);
        assert_eq!(
            split(&too_long, Encoding::Gsm7, 1),
            Err(SplitError::TooManySegments(256))
        );
        assert_eq!(count(&too_long, Encoding::Gsm7).segments, 256);
    }

    #[test]
    fn count_saturates() {
        let huge = "a".repeat(153 * 70_000);
        assert_eq!(count(&huge, Encoding::Gsm7).segments, u16::MAX);
    }

    #[test]
    fn split_rejects_non_gsm_text() {
        assert_eq!(
            split("ça", Encoding::Gsm7, 0),
            Err(SplitError::NotGsm7(vec!['ç']))
        );
    }

    #[test]
    fn lone_surrogate_and_odd_payload_decode_lossily() {
        let segment = Segment {
            encoding: Encoding::Ucs2,
            udh: None,
            payload: vec![0xD8, 0x3D, 0x00],
        };
        assert_eq!(segment.text(), "\u{FFFD}\u{FFFD}");
    }
}
