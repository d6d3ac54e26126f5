//! The GSM 03.38 (3GPP TS 23.038) default alphabet and its extension table:
//! which characters exist, what they cost in septets, and how septets are
//! encoded, decoded and packed.
//!
//! SMPP typically carries GSM-7 *unpacked* (one septet per octet, `data_coding`
//! 0); packing eight septets into seven octets is for the air interface and for
//! 8-bit bearers that want it, so [`pack`] and [`unpack`] are separate steps.

/// The escape septet: the next septet is read from the extension table.
pub const ESC: u8 = 0x1B;

/// The basic table, indexed by septet. Slot 0x1B is the escape code, not a text
/// character: [`septets`] never maps U+001B to it.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table: each character is sent as [`ESC`] followed by its code.
const EXTENSION: [(char, u8); 10] = [
    ('\u{0C}', 0x0A), // form feed (page break)
    ('^', 0x14),
    ('{', 0x28),
    ('}', 0x29),
    ('\\', 0x2F),
    ('[', 0x3C),
    ('~', 0x3D),
    (']', 0x3E),
    ('|', 0x40),
    ('€', 0x65),
];

/// Lookup entry meaning "not in GSM-7".
const NONE: u8 = 0xFF;
/// Flag set on the entry of an extension character (codes are all < 0x80).
const EXT: u8 = 0x80;

/// Entries for U+0000..=U+00FF: the septet, `EXT | code`, or `NONE`. Characters
/// above U+00FF (ten Greek capitals and €) are matched in [`entry`].
const LATIN: [u8; 256] = {
    let mut table = [NONE; 256];
    let mut code = 0;
    while code < 128 {
        let c = BASIC[code] as u32;
        if code != ESC as usize && c < 256 {
            table[c as usize] = code as u8;
        }
        code += 1;
    }
    let mut i = 0;
    while i < EXTENSION.len() {
        let (c, code) = EXTENSION[i];
        if (c as u32) < 256 {
            table[c as usize] = EXT | code;
        }
        i += 1;
    }
    table
};

/// Extension table by code, for decoding.
const EXTENSION_BY_CODE: [Option<char>; 128] = {
    let mut table = [None; 128];
    let mut i = 0;
    while i < EXTENSION.len() {
        let (c, code) = EXTENSION[i];
        table[code as usize] = Some(c);
        i += 1;
    }
    table
};

/// The lookup entry of `c`: a table read for U+0000..=U+00FF, a match otherwise.
#[inline]
fn entry(c: char) -> u8 {
    let cp = c as u32;
    if cp < 256 {
        return LATIN[cp as usize];
    }
    match c {
        'Δ' => 0x10,
        'Φ' => 0x12,
        'Γ' => 0x13,
        'Λ' => 0x14,
        'Ω' => 0x15,
        'Π' => 0x16,
        'Ψ' => 0x17,
        'Σ' => 0x18,
        'Θ' => 0x19,
        'Ξ' => 0x1A,
        '€' => EXT | 0x65,
        _ => NONE,
    }
}

/// Septets `c` takes in GSM-7: 1 (basic table), 2 (extension table: escape and
/// code), or `None` when it is not in the alphabet.
#[inline]
pub fn septets(c: char) -> Option<u8> {
    match entry(c) {
        NONE => None,
        e => Some(1 + (e >> 7)),
    }
}

/// Whether `c` is in the GSM-7 alphabet (basic or extension table).
#[inline]
pub fn is_gsm7(c: char) -> bool {
    entry(c) != NONE
}

/// Septets of `text` if it is all ASCII and all GSM-7; `None` otherwise (a
/// non-ASCII byte, the backtick, DEL, or a control character other than LF, CR
/// and form feed).
///
/// This is the hot path of text analysis. It tests byte ranges instead of
/// reading the lookup table so that the compiler vectorizes the loop (three to
/// four times faster here); `u8` counters over 255-byte chunks cannot overflow.
pub(crate) fn ascii_septets(text: &[u8]) -> Option<usize> {
    if !text.is_ascii() {
        return None;
    }
    let mut extensions = 0;
    for chunk in text.chunks(255) {
        let (mut ext, mut bad) = (0u8, 0u8);
        for &b in chunk {
            // [ \ ] ^ { | } ~ and form feed.
            ext += u8::from(matches!(b, 0x5B..=0x5E | 0x7B..=0x7E | 0x0C));
            bad |= u8::from(
                (b < 0x20 && !matches!(b, b'\n' | b'\r' | 0x0C)) || b == b'`' || b == 0x7F,
            );
        }
        if bad != 0 {
            return None;
        }
        extensions += usize::from(ext);
    }
    Some(text.len() + extensions)
}

/// Encodes `text` as unpacked septets, one per byte; an extension character
/// takes two bytes, [`ESC`] then its code.
///
/// Fails with the distinct characters that are not GSM-7, in order of first
/// appearance.
pub fn encode(text: &str) -> Result<Vec<u8>, Vec<char>> {
    let mut out = Vec::with_capacity(text.len());
    let mut missing = Vec::new();
    for c in text.chars() {
        match entry(c) {
            NONE => {
                if !missing.contains(&c) {
                    missing.push(c);
                }
            }
            e if e & EXT != 0 => out.extend_from_slice(&[ESC, e & !EXT]),
            e => out.push(e),
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

/// Decodes unpacked septets.
///
/// Following TS 23.038, an escape followed by a code the extension table does
/// not define shows the basic character of that code; an escape followed by
/// another escape (reserved for a further table), or ending the input, shows a
/// space. A byte above 0x7F is not a septet and decodes to U+FFFD.
pub fn decode(septets: &[u8]) -> String {
    let mut out = String::with_capacity(septets.len());
    let mut bytes = septets.iter().copied();
    while let Some(b) = bytes.next() {
        let c = match b {
            ESC => match bytes.next() {
                None | Some(ESC) => ' ',
                Some(code) if code < 128 => {
                    EXTENSION_BY_CODE[usize::from(code)].unwrap_or(BASIC[usize::from(code)])
                }
                Some(_) => char::REPLACEMENT_CHARACTER,
            },
            b if b < 128 => BASIC[usize::from(b)],
            _ => char::REPLACEMENT_CHARACTER,
        };
        out.push(c);
    }
    out
}

/// Packs septets into octets, least significant bit first (TS 23.038 §6.1.2.1),
/// after `fill_bits` zero bits (0..=6).
///
/// The fill bits align the first septet on a septet boundary when a user data
/// header precedes it: a 6-octet concatenation header (48 bits) needs 1.
/// Only the low 7 bits of each septet are used.
///
/// # Panics
/// If `fill_bits` is above 6.
pub fn pack(septets: &[u8], fill_bits: u8) -> Vec<u8> {
    assert!(fill_bits < 7, "fill_bits must be 0..=6, got {fill_bits}");
    let bits = usize::from(fill_bits) + 7 * septets.len();
    let mut out = vec![0u8; bits.div_ceil(8)];
    let mut pos = usize::from(fill_bits);
    for &s in septets {
        let s = u16::from(s & 0x7F) << (pos % 8);
        out[pos / 8] |= s as u8;
        if s > 0xFF {
            out[pos / 8 + 1] |= (s >> 8) as u8;
        }
        pos += 7;
    }
    out
}

/// Unpacks `count` septets from `octets`, skipping `fill_bits` leading bits.
///
/// The septet count is needed because the last octet may end with 7 unused zero
/// bits that would otherwise read as an extra `@`; in SMS it is the user data
/// length. Septets past the end of `octets` are not produced.
///
/// # Panics
/// If `fill_bits` is above 6.
pub fn unpack(octets: &[u8], fill_bits: u8, count: usize) -> Vec<u8> {
    assert!(fill_bits < 7, "fill_bits must be 0..=6, got {fill_bits}");
    let available = (octets.len() * 8).saturating_sub(usize::from(fill_bits)) / 7;
    let mut out = Vec::with_capacity(count.min(available));
    let mut pos = usize::from(fill_bits);
    for _ in 0..count.min(available) {
        let low = u16::from(octets[pos / 8]);
        let high = octets.get(pos / 8 + 1).copied().map_or(0, u16::from);
        out.push((((high << 8 | low) >> (pos % 8)) & 0x7F) as u8);
        pos += 7;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_is_not_a_text_character() {
        assert_eq!(septets('\u{1B}'), None);
        assert_eq!(encode("\u{1B}"), Err(vec!['\u{1B}']));
    }

    #[test]
    fn lookalikes_outside_the_alphabet() {
        for c in ['ç', '`', '\t', 'µ', 'ê', 'ω', '\u{2126}', '\u{2206}'] {
            assert_eq!(septets(c), None, "{c:?}");
        }
    }

    #[test]
    fn ascii_fast_path_agrees_with_septets() {
        for b in 0u8..128 {
            let expected = septets(char::from(b)).map(usize::from);
            assert_eq!(ascii_septets(&[b]), expected, "byte {b:#04x}");
        }
        assert_eq!(ascii_septets(b"a{b}"), Some(6));
        assert_eq!(ascii_septets(b"a`b"), None);
        assert_eq!(ascii_septets(b""), Some(0));
        assert_eq!(ascii_septets("é".as_bytes()), None);
        // Past the first 255-byte chunk.
        let long = format!("{}{}", "{".repeat(300), "x".repeat(300));
        assert_eq!(ascii_septets(long.as_bytes()), Some(900));
        assert_eq!(ascii_septets(format!("{long}`").as_bytes()), None);
    }

    #[test]
    fn encode_lists_missing_characters_once_in_order() {
        assert_eq!(encode("ça ω ç ☺"), Err(vec!['ç', 'ω', '☺']));
    }

    #[test]
    fn decode_unusual_escapes() {
        // Unknown extension code: the basic character of that code.
        assert_eq!(decode(&[ESC, 0x41]), "A");
        // Escape escape, and a trailing escape: a space.
        assert_eq!(decode(&[ESC, ESC, 0x41]), " A");
        assert_eq!(decode(&[0x41, ESC]), "A ");
        // Not a septet.
        assert_eq!(decode(&[0x80, ESC, 0xFF]), "\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn pack_edges() {
        assert_eq!(pack(&[], 0), Vec::<u8>::new());
        assert_eq!(pack(&[], 1), vec![0]);
        assert_eq!(pack(&[0x7F], 0), vec![0x7F]);
        assert_eq!(pack(&[0x7F], 6), vec![0xC0, 0x1F]);
        // Eight septets fill exactly seven octets.
        assert_eq!(pack(&[0x7F; 8], 0), vec![0xFF; 7]);
        assert_eq!(unpack(&[0xFF; 7], 0, 8), vec![0x7F; 8]);
        // Asking for more septets than the octets hold stops at what is there.
        assert_eq!(unpack(&[0x41], 0, 5), vec![0x41]);
    }

    #[test]
    #[should_panic(expected = "fill_bits")]
    fn pack_rejects_seven_fill_bits() {
        pack(&[0], 7);
    }
}
