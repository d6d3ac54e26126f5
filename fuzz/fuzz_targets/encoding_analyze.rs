//! Encoding analysis, smart encoding, segmentation and GSM-7 packing agree:
//! the analysis counts the segments `split` cuts, the segments carry the
//! text back, and GSM-7 encode/decode and pack/unpack round-trip.
//! Input: one byte of options (mode, smart, reference), then the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relais_core::encoding::{Encoding, EncodingMode, analyze};
use relais_core::{gsm7, segments, smart};

fuzz_target!(|data: &[u8]| {
    let &[options, ref rest @ ..] = data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mode = match options & 3 {
        0 => EncodingMode::Auto,
        1 => EncodingMode::Gsm7,
        _ => EncodingMode::Ucs2,
    };
    let smart = options & 4 != 0;

    let (replaced, _) = smart::transliterate(text);
    let _ = gsm7::encode(&replaced);

    let Ok(analysis) = analyze(text, mode, smart) else {
        assert_eq!(mode, EncodingMode::Gsm7, "only GSM-7 may refuse a text");
        return;
    };
    let sent = &analysis.text;
    assert_eq!(analysis.chars, sent.chars().count());
    let count = segments::count(sent, analysis.encoding);
    assert_eq!(analysis.units, count.units);
    assert_eq!(analysis.segments, count.segments);
    assert!(analysis.ucs2_chars.iter().all(|&c| !gsm7::is_gsm7(c)));
    if analysis.encoding == Encoding::Gsm7 {
        assert!(analysis.ucs2_chars.is_empty());
        let septets = gsm7::encode(sent).expect("a GSM-7 analysis encodes");
        assert_eq!(septets.len(), analysis.units);
        assert_eq!(&gsm7::decode(&septets), sent);
        let fill = (options >> 5) % 7;
        let packed = gsm7::pack(&septets, fill);
        assert_eq!(gsm7::unpack(&packed, fill, septets.len()), septets);
    }
    match segments::split(sent, analysis.encoding, options) {
        Ok(parts) => {
            assert_eq!(parts.len(), usize::from(analysis.segments));
            let joined: String = parts.iter().map(|p| p.text()).collect();
            assert_eq!(&joined, sent);
            let units: usize = parts.iter().map(|p| p.units()).sum();
            assert_eq!(units, analysis.units);
        }
        Err(segments::SplitError::TooManySegments(n)) => {
            assert!(n > segments::MAX_SEGMENTS);
            assert!(usize::from(analysis.segments) > segments::MAX_SEGMENTS);
        }
        Err(e) => panic!("an analysed text does not split: {e}"),
    }
});
