//! Message templates: a text with placeholders rendered once per recipient.
//!
//! This module owns the one rendering rule every door shares:
//! - placeholders are found in ONE pass over the template; a substituted value
//!   is copied as is and never scanned again, so a value holding another
//!   placeholder (`{param2}` inside `param1`) stays literal text and cannot
//!   multiply the output;
//! - the rendered length is computed from the parsed template and the values
//!   BEFORE anything is allocated, and refused past [`MAX_RENDERED_CHARS`];
//! - [`Budget`] adds the rendered lengths of a whole request up, so the
//!   request's limits count what rendering costs.
//!
//! The placeholder syntax belongs to the door ([`Syntax`]: Octopush's
//! `{param1}`, a later `%name%`…); what a name resolves to is the caller's
//! lookup, so contact lists or `{field|default}` can reuse the same renderer.

use crate::segments;

/// Septets in one part of a concatenated GSM-7 message.
const SEPTETS_PER_PART: usize = 153;

/// Most characters a rendered text may have: the most parts a message can be
/// split into ([`segments::MAX_SEGMENTS`]) × 153 septets. A longer text could
/// never be planned, so it is refused before it is built; the planner's
/// per-account segment limit then applies to what is left.
pub const MAX_RENDERED_CHARS: usize = segments::MAX_SEGMENTS * SEPTETS_PER_PART;

/// How a door writes a placeholder: `open`, a name, `close` (`{` `}` for
/// `{param1}`, `%` `%` for `%param1%`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    pub open: &'static str,
    pub close: &'static str,
}

impl Syntax {
    /// `{name}`.
    pub const BRACES: Syntax = Syntax {
        open: "{",
        close: "}",
    };
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text copied as is.
    Literal(String),
    /// A placeholder: the name between the delimiters, and the placeholder as
    /// written (kept when the lookup has no value for the name).
    Field { name: String, written: String },
}

/// A template parsed once for a request and rendered for each recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// Why a text was not rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The rendered text (or the request's total) would exceed `max` characters.
    #[error("the personalised text would have {chars} characters, more than {max}")]
    TooLong { chars: usize, max: usize },
}

impl Template {
    /// Splits `text` into literals and placeholders. A placeholder's name is
    /// non-empty and holds neither delimiter nor white space; anything else
    /// (an unclosed `{`, `{ }`) stays literal text.
    pub fn parse(text: &str, syntax: Syntax) -> Template {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(start) = rest.find(syntax.open) {
            let after = &rest[start + syntax.open.len()..];
            let name_end = after.find(syntax.close);
            let name = name_end.map(|end| &after[..end]);
            match name.filter(|n| is_name(n, syntax)) {
                Some(name) => {
                    literal.push_str(&rest[..start]);
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    let written_len = syntax.open.len() + name.len() + syntax.close.len();
                    pieces.push(Piece::Field {
                        name: name.to_owned(),
                        written: rest[start..start + written_len].to_owned(),
                    });
                    rest = &rest[start + written_len..];
                }
                None => {
                    literal.push_str(&rest[..start + syntax.open.len()]);
                    rest = after;
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Template { pieces }
    }

    /// Whether the template has any placeholder.
    pub fn has_fields(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Field { .. }))
    }

    /// The rendered text's length in characters, computed without building it.
    pub fn rendered_chars<'v>(&self, lookup: impl Fn(&str) -> Option<&'v str>) -> usize {
        self.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Literal(text) => text.chars().count(),
                Piece::Field { name, written } => lookup(name).unwrap_or(written).chars().count(),
            })
            .sum()
    }

    /// The text with each placeholder replaced by `lookup(name)` (kept as
    /// written when `None`), in one pass. Refused before allocating when it
    /// would exceed [`MAX_RENDERED_CHARS`].
    pub fn render<'v>(
        &self,
        lookup: impl Fn(&str) -> Option<&'v str>,
    ) -> Result<String, TemplateError> {
        let chars = self.rendered_chars(&lookup);
        if chars > MAX_RENDERED_CHARS {
            return Err(TemplateError::TooLong {
                chars,
                max: MAX_RENDERED_CHARS,
            });
        }
        let mut out = String::with_capacity(chars);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Field { name, written } => out.push_str(lookup(name).unwrap_or(written)),
            }
        }
        Ok(out)
    }
}

fn is_name(name: &str, syntax: Syntax) -> bool {
    !name.is_empty()
        && !name.contains(syntax.open)
        && !name.contains(syntax.close)
        && !name.chars().any(char::is_whitespace)
}

/// The characters a whole request may render: each recipient's text counted
/// against one total, so a request's limits bound what rendering allocates.
#[derive(Debug, Clone)]
pub struct Budget {
    left: usize,
    max: usize,
}

impl Budget {
    /// A budget of `max` rendered characters for the whole request.
    pub fn new(max: usize) -> Budget {
        Budget { left: max, max }
    }

    /// A budget for `recipients` texts of at most [`MAX_RENDERED_CHARS`] each.
    pub fn for_recipients(recipients: usize) -> Budget {
        Budget::new(recipients.saturating_mul(MAX_RENDERED_CHARS))
    }

    /// Renders `template` for one recipient, charging its length to the
    /// budget before allocating.
    pub fn render<'v>(
        &mut self,
        template: &Template,
        lookup: impl Fn(&str) -> Option<&'v str>,
    ) -> Result<String, TemplateError> {
        let chars = template.rendered_chars(&lookup);
        if chars > self.left {
            return Err(TemplateError::TooLong {
                chars: self.max - self.left + chars,
                max: self.max,
            });
        }
        let text = template.render(&lookup)?;
        self.left -= chars;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn render(text: &str, fields: &[(&str, &str)]) -> Result<String, TemplateError> {
        let fields: HashMap<&str, &str> = fields.iter().copied().collect();
        Template::parse(text, Syntax::BRACES).render(|n| fields.get(n).copied())
    }

    #[test]
    fn placeholders_are_replaced() {
        assert_eq!(
            render(
                "Hello {first_name} {param1}!",
                &[("first_name", "Ann"), ("param1", "42")]
            ),
            Ok("Hello Ann 42!".into())
        );
    }

    #[test]
    fn a_value_is_never_scanned_again() {
        // Replacing field after field would turn {a} into "{b}" and then "x".
        assert_eq!(render("{a}", &[("a", "{b}"), ("b", "x")]), Ok("{b}".into()));
        assert_eq!(
            render("{b}{a}", &[("a", "{b}"), ("b", "{a}")]),
            Ok("{a}{b}".into())
        );
    }

    #[test]
    fn unknown_fields_and_stray_braces_stay_as_written() {
        assert_eq!(render("{x} {y", &[("y", "no")]), Ok("{x} {y".into()));
        assert_eq!(render("{ } {} }{", &[]), Ok("{ } {} }{".into()));
        assert_eq!(render("{{a}}", &[("a", "1")]), Ok("{1}".into()));
        assert_eq!(render("é{a}ü", &[("a", "ö")]), Ok("éöü".into()));
    }

    #[test]
    fn another_syntax() {
        let t = Template::parse(
            "Hi %name%, 100% %",
            Syntax {
                open: "%",
                close: "%",
            },
        );
        assert_eq!(
            t.render(|n| (n == "name").then_some("Bo")),
            Ok("Hi Bo, 100% %".into())
        );
    }

    #[test]
    fn a_text_past_the_bound_is_refused_before_it_is_built() {
        let big = "x".repeat(1000);
        let text = "{a}".repeat(40);
        let template = Template::parse(&text, Syntax::BRACES);
        assert_eq!(template.rendered_chars(|_| Some(&big)), 40_000);
        assert_eq!(
            template.render(|_| Some(&big)),
            Err(TemplateError::TooLong {
                chars: 40_000,
                max: MAX_RENDERED_CHARS
            })
        );
        let text = "{a}".repeat(39);
        assert_eq!(template_len(&text, &big), Ok(39_000));
    }

    fn template_len(text: &str, value: &str) -> Result<usize, TemplateError> {
        let t = Template::parse(text, Syntax::BRACES);
        t.render(|_| Some(value)).map(|s| s.chars().count())
    }

    #[test]
    fn the_budget_counts_the_whole_request() {
        let template = Template::parse("{a}", Syntax::BRACES);
        let mut budget = Budget::new(10);
        assert_eq!(
            budget.render(&template, |_| Some("123456")),
            Ok("123456".into())
        );
        assert_eq!(
            budget.render(&template, |_| Some("12345")),
            Err(TemplateError::TooLong { chars: 11, max: 10 })
        );
        assert_eq!(
            budget.render(&template, |_| Some("1234")),
            Ok("1234".into())
        );
    }
}
