//! Account identity rules: what an account name and an e-mail address may be.
//!
//! Both are login identifiers (the Octopush door logs in by name or e-mail), so
//! they are bounded, printable and free of control characters. Uniqueness
//! across names and e-mails is the store's job, inside its create transaction.

/// The longest account name, in characters.
pub const NAME_MAX_CHARS: usize = 64;
/// The longest e-mail address, in bytes (RFC 5321 path limit).
pub const EMAIL_MAX_LEN: usize = 254;

/// Why a name or an e-mail address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the name is empty")]
    EmptyName,
    #[error("the name is longer than {NAME_MAX_CHARS} characters")]
    NameTooLong,
    #[error("the name contains a control or non-printable character")]
    NameNotPrintable,
    #[error("the e-mail address is longer than {EMAIL_MAX_LEN} bytes")]
    EmailTooLong,
    #[error("the e-mail address is not of the form local@domain")]
    EmailShape,
}

/// Checks an account name (already trimmed by the caller): 1 to
/// [`NAME_MAX_CHARS`] characters, none a control character, no `@` (a name must
/// never be mistaken for an e-mail at login).
pub fn validate_name(name: &str) -> Result<(), IdentityError> {
    if name.is_empty() {
        return Err(IdentityError::EmptyName);
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(IdentityError::NameTooLong);
    }
    if name
        .chars()
        .any(|c| c.is_control() || is_invisible(c) || c == '@')
    {
        return Err(IdentityError::NameNotPrintable);
    }
    Ok(())
}

/// Checks an e-mail address: at most [`EMAIL_MAX_LEN`] bytes, one `@` with a
/// non-empty local part and a dotted domain, no whitespace or control character.
pub fn validate_email(email: &str) -> Result<(), IdentityError> {
    if email.len() > EMAIL_MAX_LEN {
        return Err(IdentityError::EmailTooLong);
    }
    let bad_char = |c: char| c.is_control() || c.is_whitespace() || is_invisible(c);
    let Some((local, domain)) = email.split_once('@') else {
        return Err(IdentityError::EmailShape);
    };
    let domain_ok = !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || !domain_ok || email.chars().any(bad_char) {
        return Err(IdentityError::EmailShape);
    }
    Ok(())
}

/// Format characters that print nothing (zero-width spaces, bidi controls).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_and_printable() {
        assert_eq!(validate_name("shop"), Ok(()));
        assert_eq!(validate_name("Café du Nord 2"), Ok(()));
        assert_eq!(validate_name(&"é".repeat(64)), Ok(()));
        assert_eq!(validate_name(""), Err(IdentityError::EmptyName));
        assert_eq!(
            validate_name(&"a".repeat(65)),
            Err(IdentityError::NameTooLong)
        );
        assert_eq!(
            validate_name(&"a".repeat(1 << 20)),
            Err(IdentityError::NameTooLong)
        );
        for bad in [
            "a\0b",
            "a\nb",
            "a\rb",
            "a\tb",
            "a\u{7f}",
            "a\u{200B}b",
            "a@b.fr",
        ] {
            assert_eq!(
                validate_name(bad),
                Err(IdentityError::NameNotPrintable),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn emails_have_a_shape_and_a_bound() {
        assert_eq!(validate_email("ops@shop.fr"), Ok(()));
        for bad in [
            "", "shop", "@shop.fr", "a@", "a@b", "a@@b.fr", "a@.b", "a@b.", "a@b..fr", "a b@c.fr",
            "a\n@c.fr",
        ] {
            assert_eq!(
                validate_email(bad),
                Err(IdentityError::EmailShape),
                "{bad:?}"
            );
        }
        let long = format!("{}@shop.fr", "a".repeat(250));
        assert_eq!(validate_email(&long), Err(IdentityError::EmailTooLong));
    }
}
