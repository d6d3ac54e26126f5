//! Opt-out: the STOP mention that French rules require on marketing SMS
//! (detecting it, appending it or refusing the text per account policy), and
//! recognising a recipient's STOP reply.

use std::borrow::Cow;

use crate::pricing::RouteClass;

/// The mention appended when an account does not configure its own.
pub const DEFAULT_MENTION: &str = "STOP au 36180";

/// The wording low-cost ("standard") routes use instead of a STOP number:
/// they carry no reply path, so the mention points at the operator's own
/// opt-out ("no PUB=STOP", Octopush's error 122 asks for it verbatim).
pub const LOW_COST_MENTION: &str = "no PUB=STOP";

/// What to do with a marketing text that has no STOP mention.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum OptOutPolicy {
    /// Append `mention` on a new line (it then counts in segments and cost), as
    /// SMSFactor and SMS Partner do.
    Append { mention: String },
    /// Refuse the text, as Octopush does (its error 121).
    Refuse,
}

impl Default for OptOutPolicy {
    fn default() -> Self {
        OptOutPolicy::Append {
            mention: DEFAULT_MENTION.to_string(),
        }
    }
}

/// A marketing text without a STOP mention under the `Refuse` policy, on a
/// route of this class (doors with one code per class tell them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a marketing text must carry the mention \"{}\"", example_mention(*class))]
pub struct MissingMention {
    pub class: RouteClass,
}

/// The mention a route class expects, as an error message quotes it.
pub fn example_mention(class: RouteClass) -> &'static str {
    match class {
        RouteClass::Premium => "STOP au XXXXX",
        RouteClass::LowCost => LOW_COST_MENTION,
    }
}

/// True when `text` carries an opt-out mention valid on a route of `class`:
/// a STOP number on every class ([`has_mention`]), and on low-cost routes
/// also [`LOW_COST_MENTION`] (its letters in any case, spaces around `=` allowed).
pub fn has_mention_for(text: &str, class: RouteClass) -> bool {
    has_mention(text) || (class == RouteClass::LowCost && has_low_cost_mention(text))
}

fn has_low_cost_mention(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = find_ascii_ci(&bytes[from..], b"no pub") {
        let start = from + pos;
        let rest = &bytes[start + 6..];
        let word_start = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let spaces = |s: &[u8]| s.iter().take_while(|b| **b == b' ').count();
        let mut i = spaces(rest);
        if word_start && rest.get(i) == Some(&b'=') {
            i += 1;
            i += spaces(&rest[i..]);
            let stop = &rest[i..];
            if stop.len() >= 4
                && stop[..4].eq_ignore_ascii_case(b"stop")
                && stop.get(4).is_none_or(|b| !b.is_ascii_alphanumeric())
            {
                return true;
            }
        }
        from = start + 6;
    }
    false
}

/// True when `text` carries a STOP mention: the word STOP in any case, then
/// optional separators (`:`, `-`, spaces) and an optional linking word (au, at,
/// to, al, an), then a number of at least 3 digits (spaces between digits allowed,
/// "36 180"). "Stop au 36180", "STOP: 36180" and "stop 36 180" all count; "stopper"
/// or a lone "STOP" do not.
pub fn has_mention(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = find_ascii_ci(&bytes[from..], b"stop") {
        let start = from + pos;
        let end = start + 4;
        let word_start = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        if word_start && followed_by_number(&bytes[end..]) {
            return true;
        }
        from = end;
    }
    false
}

/// Applies the policy to a marketing text bound for a route of `class`:
/// unchanged when it already has a mention valid there, else with the
/// account's mention appended, or refused.
pub fn apply<'t>(
    text: &'t str,
    policy: &OptOutPolicy,
    class: RouteClass,
) -> Result<Cow<'t, str>, MissingMention> {
    if has_mention_for(text, class) {
        return Ok(Cow::Borrowed(text));
    }
    match policy {
        OptOutPolicy::Append { mention } => {
            let sep = if text.ends_with(['\n', ' ']) {
                ""
            } else {
                "\n"
            };
            Ok(Cow::Owned(format!("{text}{sep}{mention}")))
        }
        OptOutPolicy::Refuse => Err(MissingMention { class }),
    }
}

/// Reply keywords that unsubscribe, unless the gateway configures its own.
pub const DEFAULT_STOP_KEYWORDS: &[&str] = &[
    "STOP",
    "STOP SMS",
    "STOPSMS",
    "STOP ALL",
    "STOPALL",
    "ARRET",
    "ARRÊT",
    "UNSUBSCRIBE",
    "DESABONNER",
    "DÉSABONNER",
    "DESINSCRIPTION",
    "DÉSINSCRIPTION",
];

/// True when a reply asks to unsubscribe: once trimmed, folded to upper case
/// without accents and with runs of spaces collapsed, it is one of `keywords`
/// (folded the same way), or starts with one followed by a space or
/// punctuation ("Stop.", "STOP merci", "arrêt !"). "Stopper" or "Non stop" do not.
pub fn is_stop_reply<K: AsRef<str>>(reply: &str, keywords: &[K]) -> bool {
    let reply = fold(reply);
    keywords.iter().any(|k| {
        let k = fold(k.as_ref());
        !k.is_empty()
            && reply.starts_with(&k)
            && reply[k.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// Upper case, accents removed from Latin letters, whitespace runs collapsed, trimmed.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars().flat_map(char::to_uppercase) {
            out.push(match c {
                'À' | 'Â' | 'Ä' | 'Á' => 'A',
                'É' | 'È' | 'Ê' | 'Ë' => 'E',
                'Î' | 'Ï' | 'Í' => 'I',
                'Ô' | 'Ö' | 'Ó' => 'O',
                'Ù' | 'Û' | 'Ü' | 'Ú' => 'U',
                'Ç' => 'C',
                other => other,
            });
        }
    }
    out
}

fn find_ascii_ci(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn followed_by_number(rest: &[u8]) -> bool {
    let skip_separators = |s: &[u8]| -> usize {
        s.iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b':' | b'-' | b'\n'))
            .count()
    };
    let mut i = skip_separators(rest);
    if i == 0 && rest.first().is_some_and(u8::is_ascii_alphanumeric) {
        return false; // "stopper", "stop123" without a separator is not the word STOP
    }
    for word in [b"au".as_slice(), b"at", b"to", b"al", b"an"] {
        let after = i + word.len();
        if rest.len() > after
            && rest[i..after].eq_ignore_ascii_case(word)
            && !rest[after].is_ascii_alphanumeric()
        {
            i = after + skip_separators(&rest[after..]);
            break;
        }
    }
    let mut digits = 0;
    while i < rest.len() {
        match rest[i] {
            b'0'..=b'9' => digits += 1,
            b' ' if rest.get(i + 1).is_some_and(u8::is_ascii_digit) && digits > 0 => {}
            _ => break,
        }
        i += 1;
    }
    digits >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_mentions_tolerantly() {
        for text in [
            "Soldes -50% ! STOP au 36180",
            "Soldes\nstop au 36180",
            "Promo Stop  Au  36180",
            "Promo STOP: 36180",
            "Promo STOP 36 180",
            "Promo STOP-36180 merci",
            "STOP at 12345",
            "(STOP au 36180)",
        ] {
            assert!(has_mention(text), "{text:?}");
        }
        for text in [
            "Soldes -50% !",
            "STOP",
            "Ne vous arrêtez pas, stopper au 36180", // "stopper" is not STOP
            "STOP au 12",                            // too short for a number
            "nonstop au 36180",
            "STOP au telephone",
        ] {
            assert!(!has_mention(text), "{text:?}");
        }
    }

    #[test]
    fn appends_or_refuses_by_policy() {
        let premium = RouteClass::Premium;
        let append = OptOutPolicy::default();
        assert_eq!(
            apply("Soldes", &append, premium).unwrap(),
            "Soldes\nSTOP au 36180"
        );
        assert_eq!(
            apply("Soldes\n", &append, premium).unwrap(),
            "Soldes\nSTOP au 36180"
        );
        assert!(matches!(
            apply("Soldes STOP au 36180", &append, premium).unwrap(),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            apply("Soldes", &OptOutPolicy::Refuse, premium),
            Err(MissingMention { class: premium })
        );
        assert_eq!(
            apply("Soldes stop au 36180", &OptOutPolicy::Refuse, premium).unwrap(),
            "Soldes stop au 36180"
        );
    }

    #[test]
    fn low_cost_routes_also_take_no_pub_stop() {
        let low = RouteClass::LowCost;
        for text in [
            "Soldes -50% no PUB=STOP",
            "Soldes\nNo Pub = Stop",
            "(no PUB=STOP)",
            "no PUB=STOP, merci",
            "Soldes STOP au 36180",
        ] {
            assert!(has_mention_for(text, low), "{text:?}");
        }
        for text in [
            "Soldes no PUB",
            "Soldes no PUB=STOPPER",
            "Soldes casino PUB=STOP",
            "Soldes no PUB STOP",
        ] {
            assert!(!has_mention_for(text, low), "{text:?}");
        }
        // Premium routes keep the STOP-number rule only.
        assert!(!has_mention_for("Soldes no PUB=STOP", RouteClass::Premium));
        let refused = apply("Soldes", &OptOutPolicy::Refuse, low).unwrap_err();
        assert_eq!(refused, MissingMention { class: low });
        assert!(refused.to_string().contains("no PUB=STOP"), "{refused}");
        assert!(
            MissingMention {
                class: RouteClass::Premium
            }
            .to_string()
            .contains("STOP au XXXXX")
        );
        assert!(matches!(
            apply("Soldes no PUB=STOP", &OptOutPolicy::Refuse, low).unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn recognises_stop_replies() {
        for reply in [
            "STOP",
            "stop",
            " Stop. ",
            "STOP SMS",
            "stop   sms",
            "Arrêt",
            "ARRET !",
            "arret merci",
            "unsubscribe",
            "Désinscription",
        ] {
            assert!(is_stop_reply(reply, DEFAULT_STOP_KEYWORDS), "{reply:?}");
        }
        for reply in ["Stopper", "Non stop", "Oui", "", "STOPS", "arrêtez"] {
            assert!(!is_stop_reply(reply, DEFAULT_STOP_KEYWORDS), "{reply:?}");
        }
        assert!(is_stop_reply("fin", &["FIN"]));
        assert!(!is_stop_reply("stop", &["FIN"]));
    }

    #[test]
    fn policy_reads_from_config() {
        let p: OptOutPolicy =
            serde_json::from_str(r#"{"mode":"append","mention":"STOP 36111"}"#).unwrap();
        assert_eq!(
            p,
            OptOutPolicy::Append {
                mention: "STOP 36111".into()
            }
        );
        let r: OptOutPolicy = serde_json::from_str(r#"{"mode":"refuse"}"#).unwrap();
        assert_eq!(r, OptOutPolicy::Refuse);
    }
}
