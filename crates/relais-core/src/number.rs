//! Phone numbers: countries, the compact [`E164`] form and [`normalize`], the one
//! function that turns whatever a client sent ("06 12 34 56 78", "0033…",
//! "33612345678", "+262 692…") into a validated E.164 number with its country and
//! kind.
//!
//! This is the only module that touches `rlibphonenumber`; everything else sees
//! [`Country`], [`E164`] and [`NumberError`]. Before the library sees an input,
//! [`normalize`] vets it itself (digits, separators, one leading `+`), because the
//! library is lenient in ways a gateway must not be: it reads letters as keypad
//! digits ("1-800-FLOWERS") and strips extensions ("… ext. 12").

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use rlibphonenumber::{
    PHONE_NUMBER_UTIL, ParseError, PhoneNumber, PhoneNumberType, Region, ValidationError,
};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An ISO 3166-1 alpha-2 country code, stored upper-case ("FR", "RE", "US").
///
/// Only the shape is checked (two ASCII letters), not whether ISO assigned it: a
/// code unknown to the numbering plans simply never matches a number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// France, the default region of most clients.
    pub const FR: Country = Country(*b"FR");

    /// The upper-case code, e.g. "FR".
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a Country holds two ASCII letters")
    }

    fn from_region(region: Region) -> Option<Country> {
        // Non-geographic numbers (+800, +882, …) belong to the pseudo-region "001".
        region.as_region_str().parse().ok()
    }

    fn to_region(self) -> Option<Region> {
        Region::from_code(self.as_str()).ok()
    }
}

/// Why a string is not a [`Country`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid country code {0:?}: expected two ASCII letters (ISO 3166-1 alpha-2, e.g. \"FR\")")]
pub struct InvalidCountry(pub String);

impl FromStr for Country {
    type Err = InvalidCountry;

    /// Case-insensitive: "fr", "Fr" and "FR" are all France.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(InvalidCountry(s.to_owned())),
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.as_str())
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(FromStrVisitor::new("an ISO 3166-1 alpha-2 country code"))
    }
}

/// The most digits an E.164 number has (ITU-T E.164 §6.1).
const E164_MAX_DIGITS: u32 = 15;

/// A phone number in E.164 form, stored as its digits in one `u64`.
///
/// No information is lost: E.164 numbers have at most 15 digits and country codes
/// never start with 0. Being a `u64` makes it `Copy` and makes hashing and
/// comparing (de-duplicating a million recipients) a matter of nanoseconds.
/// `Ord` is numeric order of the digits, which is stable but not the order of
/// the "+…" strings.
///
/// Built by [`normalize`] (validated against the numbering plans) or by
/// [`FromStr`], which only checks the "+digits" shape and is meant for numbers
/// that were normalized before (read back from the store).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(u64);

impl E164 {
    /// The digits without the plus ("33612345678"), as SMSFactor and some SMPP
    /// peers want them. Displaying it does not allocate.
    pub fn digits(self) -> E164Digits {
        E164Digits(self.0)
    }

    /// The E.164 number of a parsed number, refusing the (libphonenumber-valid)
    /// numbers longer than E.164 allows, such as some German extensions.
    fn from_phone_number(number: &PhoneNumber) -> Result<E164, NumberError> {
        // Italian-style numbers keep leading zeros in their national significant
        // number, which the library stores apart from the integer.
        let zeros = match number.italian_leading_zero {
            Some(true) => u32::try_from(number.number_of_leading_zeros()).unwrap_or(0),
            _ => 0,
        };
        let national_len = decimal_len(number.national_number) + zeros;
        // A valid number has a country code, so the first digit is not 0.
        let code = u64::try_from(number.country_code)
            .ok()
            .filter(|&code| code > 0)
            .ok_or(NumberError::UnknownCountryCode)?;
        if decimal_len(code) + national_len > E164_MAX_DIGITS {
            return Err(NumberError::TooLong);
        }
        Ok(E164(
            code * 10u64.pow(national_len) + number.national_number,
        ))
    }
}

fn decimal_len(n: u64) -> u32 {
    n.checked_ilog10().map_or(1, |log| log + 1)
}

impl fmt::Display for E164 {
    /// "+33612345678".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164(+{})", self.0)
    }
}

/// An [`E164`] displayed without its plus: "33612345678". See [`E164::digits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E164Digits(u64);

impl fmt::Display for E164Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a string is not a strict E.164 number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid E.164 number {0:?}: expected \"+\" then 3 to 15 digits, the first not 0")]
pub struct InvalidE164(pub String);

impl FromStr for E164 {
    type Err = InvalidE164;

    /// Strict: "+" then 3 to 15 ASCII digits, the first not 0, nothing else. For
    /// anything a person typed, use [`normalize`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidE164(s.to_owned());
        let digits = s.strip_prefix('+').ok_or_else(invalid)?;
        let well_formed = (3..=E164_MAX_DIGITS as usize).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(invalid());
        }
        digits.parse().map(E164).map_err(|_| invalid())
    }
}

impl Serialize for E164 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for E164 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(FromStrVisitor::new(
            "an E.164 number such as \"+33612345678\"",
        ))
    }
}

/// Deserializes a type from a string through its `FromStr`, without allocating.
struct FromStrVisitor<T> {
    expecting: &'static str,
    target: PhantomData<T>,
}

impl<T> FromStrVisitor<T> {
    fn new(expecting: &'static str) -> Self {
        FromStrVisitor {
            expecting,
            target: PhantomData,
        }
    }
}

impl<T> Visitor<'_> for FromStrVisitor<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }
}

/// Which numbers an account may send to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NumberPolicy {
    /// Accept only numbers that can be mobiles: [`NumberKind::Mobile`] and
    /// [`NumberKind::FixedLineOrMobile`] (the US, where the plan cannot tell).
    /// Fixed lines and every [`NumberKind::Other`] number (VoIP such as French
    /// 09, toll-free, premium-rate, pagers…) are refused with
    /// [`NumberError::NotMobile`].
    pub mobile_only: bool,
}

/// What a number is, according to its country's numbering plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    Mobile,
    FixedLine,
    /// The plan does not distinguish them (the US and the rest of +1).
    FixedLineOrMobile,
    /// VoIP, toll-free, premium-rate, shared-cost, personal, pager, UAN, voicemail.
    Other,
}

impl NumberKind {
    fn from_type(kind: PhoneNumberType) -> NumberKind {
        match kind {
            PhoneNumberType::Mobile => NumberKind::Mobile,
            PhoneNumberType::FixedLine => NumberKind::FixedLine,
            PhoneNumberType::FixedLineOrMobile => NumberKind::FixedLineOrMobile,
            _ => NumberKind::Other,
        }
    }

    fn label(self) -> &'static str {
        match self {
            NumberKind::Mobile => "mobile",
            NumberKind::FixedLine => "fixed-line",
            NumberKind::FixedLineOrMobile => "fixed-line or mobile",
            NumberKind::Other => "VoIP, toll-free and other service",
        }
    }
}

/// A number that passed [`normalize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normalized {
    pub e164: E164,
    /// The country the number belongs to, which is not always the one its country
    /// code suggests: +262 is La Réunion (RE) or Mayotte (YT), +1 is the US,
    /// Canada or a Caribbean country.
    pub country: Country,
    pub kind: NumberKind,
}

/// Why an input is not a number we can send to. [`NumberError::code`] is stable
/// and machine-readable; `Display` is the reason for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Nothing but whitespace and separators.
    #[error("the phone number is empty (no digits)")]
    Empty,
    #[error(
        "the phone number contains {0:?}: only digits, spaces, . - ( ) and a leading + are allowed"
    )]
    InvalidCharacter(char),
    #[error("the phone number is too short")]
    TooShort,
    #[error("the phone number is too long")]
    TooLong,
    #[error("the phone number has an unknown country code")]
    UnknownCountryCode,
    #[error("the phone number is not valid for its country")]
    Invalid,
    /// International services (+800, +882, …) that belong to no country.
    #[error("the phone number belongs to a non-geographic service (+800, +882…), not to a country")]
    NonGeographic,
    #[error("the phone number is not a mobile: {} numbers are refused", .0.label())]
    NotMobile(NumberKind),
}

impl NumberError {
    /// A stable identifier for APIs, logs and counters.
    pub fn code(&self) -> &'static str {
        match self {
            NumberError::Empty => "empty",
            NumberError::InvalidCharacter(_) => "invalid_characters",
            NumberError::TooShort => "too_short",
            NumberError::TooLong => "too_long",
            NumberError::UnknownCountryCode => "unknown_country_code",
            NumberError::Invalid => "invalid_number",
            NumberError::NonGeographic => "non_geographic",
            NumberError::NotMobile(_) => "not_mobile",
        }
    }

    fn from_parse(error: ParseError) -> NumberError {
        match error {
            ParseError::InvalidCountryCode => NumberError::UnknownCountryCode,
            ParseError::TooLongNsn => NumberError::TooLong,
            // The input was vetted before parsing (only digits remain), so "not a
            // number" can only mean too few digits.
            ParseError::TooShortNsn | ParseError::TooShortAfterIdd | ParseError::NotANumber(_) => {
                NumberError::TooShort
            }
        }
    }
}

/// Normalizes a phone number as a person or a client system wrote it.
///
/// Accepted, around the digits: whitespace (including non-breaking spaces),
/// `.`, `-`, `(`, `)`, and one `+` in front. Accepted forms:
/// - national, read in `default_region`: "06 12 34 56 78" with FR;
/// - international: "+33 6 12…", "+33 (0)6 12…", "0033 6 12…", or the default
///   region's own international prefix ("011 33…" with US);
/// - bare country code and number, as SMSFactor sends them: "33612345678". An
///   input without `+` is first read as a national number of `default_region`;
///   only if that is not valid is it read as `+digits` ("00…" as `+…`).
///
/// France and its overseas departments share one national dialling plan
/// (0 + 9 digits) but have their own country codes: with region FR,
/// "0692 12 34 56" is La Réunion (+262 692…, country RE), "0639…" Mayotte (YT),
/// "0690…" Guadeloupe (GP), "0696…" Martinique (MQ), "0694…" French Guiana (GF),
/// "0590 27…" Saint-Barthélemy (BL); and the other way round, "06…" from region
/// RE is mainland France. (Saint-Barthélemy and Saint-Martin share their mobile
/// blocks with Guadeloupe, so their mobiles read as GP.) Saint-Pierre-et-Miquelon, New Caledonia, French
/// Polynesia and Wallis-et-Futuna have closed 6- or 8-digit plans and are only
/// reachable with their own country code.
///
/// The result must have at most 15 digits (E.164) and be valid for its country;
/// `policy` may further refuse numbers that are not mobiles.
pub fn normalize(
    input: &str,
    default_region: Country,
    policy: NumberPolicy,
) -> Result<Normalized, NumberError> {
    let dialled = Dialled::scan(input)?;
    let normalized = match french_plan(&dialled, default_region) {
        Some(normalized) => normalized,
        None if dialled.plus => parse_and_check(dialled.with_plus(), None)?,
        None => parse_national(&dialled, default_region)?,
    };
    let mobile = matches!(
        normalized.kind,
        NumberKind::Mobile | NumberKind::FixedLineOrMobile
    );
    if policy.mobile_only && !mobile {
        return Err(NumberError::NotMobile(normalized.kind));
    }
    Ok(normalized)
}

/// The French national plan: mainland France (33), La Réunion and Mayotte (262),
/// Guadeloupe, Saint-Barthélemy and Saint-Martin (590), French Guiana (594) and
/// Martinique (596) share it. Within it a national number is "0" + a 9-digit
/// national significant number (NSN) that does not start with 0, whatever the
/// country code: 0692… dialled from Paris rings in La Réunion.
const FRENCH_PLAN: [FrenchPlanCode; 5] = [
    FrenchPlanCode {
        code: MAINLAND_CODE,
        prefix: "33",
        regions: &[Country::FR],
    },
    FrenchPlanCode {
        code: 262,
        prefix: "262",
        regions: &[Country(*b"RE"), Country(*b"YT")],
    },
    FrenchPlanCode {
        code: 590,
        prefix: "590",
        regions: &[Country(*b"GP"), Country(*b"BL"), Country(*b"MF")],
    },
    FrenchPlanCode {
        code: 594,
        prefix: "594",
        regions: &[Country(*b"GF")],
    },
    FrenchPlanCode {
        code: 596,
        prefix: "596",
        regions: &[Country(*b"MQ")],
    },
];

const MAINLAND_CODE: i32 = 33;

struct FrenchPlanCode {
    code: i32,
    /// `code` in digits.
    prefix: &'static str,
    regions: &'static [Country],
}

/// Reads a number of the French plan without the library's parser, when its
/// structure leaves no doubt: "0" + NSN from a region of the plan, or country
/// code + NSN after "+", or after "00" or bare (SMSFactor style) from a region of
/// the plan, whose national numbers never have 11 or more digits.
///
/// This is both the fast path for the bulk of the traffic (parsing is two thirds
/// of the library's cost; validation still uses its metadata) and where the
/// overseas departments are found: the library reads a national number only
/// under its default region's country code, so "0692…" with FR would be invalid.
///
/// `None` when the input does not have that structure or is not valid: the
/// general path then parses it, and reports why it is not valid.
fn french_plan(dialled: &Dialled, region: Country) -> Option<Normalized> {
    let digits = dialled.digits();
    let own = FRENCH_PLAN
        .iter()
        .position(|plan| plan.regions.contains(&region));
    let international = if dialled.plus {
        digits
    } else {
        let own = own?;
        if let Some(nsn) = digits.strip_prefix('0').and_then(french_nsn) {
            return french_national(nsn, own);
        }
        digits.strip_prefix("00").unwrap_or(digits)
    };
    FRENCH_PLAN.iter().find_map(|plan| {
        let nsn = french_nsn(international.strip_prefix(plan.prefix)?)?;
        check_parts(plan.code, nsn).map(|(_, normalized)| normalized)
    })
}

/// Reads a national significant number under the codes of the French plan, the
/// region's own (`FRENCH_PLAN[own]`) first.
///
/// Mobile blocks never overlap between codes, and 08 services are national. But
/// the library's mainland metadata is coarse where the overseas metadata lists
/// exact blocks: it takes every 02 6x and 05 9x fixed line and every 09 (VoIP)
/// number for mainland France, though 02 63 is La Réunion, 02 69 Mayotte,
/// 05 96 Martinique and some 09 blocks are overseas VoIP. So a mainland
/// fixed-line or VoIP reading only holds when no overseas code reads the number.
fn french_national(nsn: u64, own: usize) -> Option<Normalized> {
    let (before, after) = FRENCH_PLAN.split_at(own);
    let mut mainland = None;
    for plan in after.iter().chain(before) {
        let Some((kind, normalized)) = check_parts(plan.code, nsn) else {
            continue;
        };
        if plan.code == MAINLAND_CODE
            && matches!(kind, PhoneNumberType::FixedLine | PhoneNumberType::VoIP)
        {
            mainland = Some(normalized);
        } else {
            return Some(normalized);
        }
    }
    mainland
}

/// A French-plan national significant number: 9 digits, the first not 0.
fn french_nsn(digits: &str) -> Option<u64> {
    if digits.len() == 9 && !digits.starts_with('0') {
        digits.parse().ok()
    } else {
        None
    }
}

fn check_parts(country_code: i32, national_number: u64) -> Option<(PhoneNumberType, Normalized)> {
    let (kind, normalized) = classify(&PhoneNumber {
        country_code,
        national_number,
        ..PhoneNumber::default()
    })?;
    Some((kind, normalized.ok()?))
}

/// Reads an input without '+': as a national number of `default_region` first,
/// then as an international one ("0033…", or "33…" as SMSFactor sends them).
fn parse_national(dialled: &Dialled, default_region: Country) -> Result<Normalized, NumberError> {
    let national = dialled.digits();
    let error = match parse_and_check(national, default_region.to_region()) {
        Ok(normalized) => return Ok(normalized),
        Err(error) => error,
    };
    let international = match national.strip_prefix("00") {
        Some(rest) => rest,
        // Country codes never start with 0.
        None if !national.starts_with('0') => national,
        None => return Err(error),
    };
    // Errors of this second reading would be confusing ("unknown country code"
    // for a mistyped national number): report the first one.
    parse_and_check(Dialled::from_digits(international).with_plus(), None).map_err(|_| error)
}

fn parse_and_check(digits: &str, region: Option<Region>) -> Result<Normalized, NumberError> {
    let number = PHONE_NUMBER_UTIL
        .parse(digits, region)
        .map_err(NumberError::from_parse)?;
    match classify(&number) {
        Some((_, normalized)) => normalized,
        None => Err(invalid_reason(&number)),
    }
}

/// Classifies a parsed number valid for its country's plan, with the library's
/// finer type; `None` when it is not valid.
fn classify(number: &PhoneNumber) -> Option<(PhoneNumberType, Result<Normalized, NumberError>)> {
    let kind = PHONE_NUMBER_UTIL.get_number_type(number);
    if kind == PhoneNumberType::Unknown {
        return None;
    }
    let region = PHONE_NUMBER_UTIL.get_region_for_number(number)?;
    let normalized = match Country::from_region(region) {
        None => Err(NumberError::NonGeographic),
        Some(country) => E164::from_phone_number(number).map(|e164| Normalized {
            e164,
            country,
            kind: NumberKind::from_type(kind),
        }),
    };
    Some((kind, normalized))
}

/// Why a parsed number is not valid.
fn invalid_reason(number: &PhoneNumber) -> NumberError {
    match PHONE_NUMBER_UTIL.is_possible_number_with_reason(number) {
        Err(ValidationError::TooShort) => NumberError::TooShort,
        Err(ValidationError::TooLong) => NumberError::TooLong,
        Err(ValidationError::InvalidCountryCode) => NumberError::UnknownCountryCode,
        Err(ValidationError::InvalidLength) | Ok(_) => NumberError::Invalid,
    }
}

/// More digits than any dialled form of an E.164 number needs: an international
/// prefix (up to 4 digits), a trunk "(0)" and 15 digits.
const MAX_DIALLED_DIGITS: usize = 20;

/// The digits of an input, on the stack, with room for a leading '+'.
struct Dialled {
    /// `bytes[0]` is '+', the digits follow.
    bytes: [u8; MAX_DIALLED_DIGITS + 1],
    len: usize,
    /// Whether the input started with '+'.
    plus: bool,
}

impl Dialled {
    fn scan(input: &str) -> Result<Dialled, NumberError> {
        let mut dialled = Dialled {
            bytes: [b'+'; MAX_DIALLED_DIGITS + 1],
            len: 0,
            plus: false,
        };
        let mut too_long = false;
        let mut started = false;
        for c in input.chars() {
            match c {
                '0'..='9' => {
                    if dialled.len == MAX_DIALLED_DIGITS {
                        too_long = true;
                    } else {
                        dialled.len += 1;
                        dialled.bytes[dialled.len] = c as u8;
                    }
                }
                '+' if !started => dialled.plus = true,
                '.' | '-' | '(' | ')' => {}
                c if c.is_whitespace() => continue,
                c => return Err(NumberError::InvalidCharacter(c)),
            }
            started = true;
        }
        if dialled.len == 0 {
            Err(NumberError::Empty)
        } else if too_long {
            Err(NumberError::TooLong)
        } else {
            Ok(dialled)
        }
    }

    fn from_digits(digits: &str) -> Dialled {
        let mut dialled = Dialled {
            bytes: [b'+'; MAX_DIALLED_DIGITS + 1],
            len: digits.len(),
            plus: true,
        };
        dialled.bytes[1..=digits.len()].copy_from_slice(digits.as_bytes());
        dialled
    }

    /// The digits alone: "0612345678".
    fn digits(&self) -> &str {
        Self::ascii(&self.bytes[1..=self.len])
    }

    /// The digits after a '+': "+33612345678".
    fn with_plus(&self) -> &str {
        Self::ascii(&self.bytes[..=self.len])
    }

    fn ascii(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).expect("Dialled holds ASCII only")
    }
}
