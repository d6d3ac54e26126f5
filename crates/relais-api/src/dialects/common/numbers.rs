//! Comma-separated lists of phone numbers (`"0612…,+33612…"`), as several
//! providers take them in one parameter.
//!
//! Only the list is read here; each number is normalised, deduplicated and
//! filtered by the pipeline like any recipient.

/// How strict a provider is with a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListRules {
    /// Most numbers in one list.
    pub max: usize,
    /// Refuse an empty item anywhere, a trailing comma included; otherwise
    /// empty items are skipped.
    pub strict: bool,
}

/// Why a list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("no phone number given")]
    Empty,
    #[error("too many phone numbers: {given} given, at most {max}")]
    TooMany { max: usize, given: usize },
    #[error("the list ends with a comma")]
    TrailingComma,
    #[error("the list has an empty item at position {index}")]
    EmptyItem { index: usize },
}

/// The numbers of `list`, trimmed, in order.
pub fn split(list: &str, rules: ListRules) -> Result<Vec<&str>, ListError> {
    let items: Vec<&str> = list.split(',').map(str::trim).collect();
    if rules.strict
        && let Some(index) = items.iter().position(|i| i.is_empty())
    {
        if items.iter().all(|i| i.is_empty()) {
            return Err(ListError::Empty);
        }
        return Err(if index == items.len() - 1 {
            ListError::TrailingComma
        } else {
            ListError::EmptyItem { index }
        });
    }
    let numbers: Vec<&str> = items.into_iter().filter(|i| !i.is_empty()).collect();
    if numbers.is_empty() {
        return Err(ListError::Empty);
    }
    if numbers.len() > rules.max {
        return Err(ListError::TooMany {
            max: rules.max,
            given: numbers.len(),
        });
    }
    Ok(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LENIENT: ListRules = ListRules {
        max: 3,
        strict: false,
    };
    const STRICT: ListRules = ListRules {
        max: 3,
        strict: true,
    };

    #[test]
    fn lenient_lists_skip_empty_items() {
        assert_eq!(split(" 0612, +3361 ,", LENIENT).unwrap(), ["0612", "+3361"]);
        assert_eq!(split("a,,b", LENIENT).unwrap(), ["a", "b"]);
        assert_eq!(split(" , ", LENIENT).unwrap_err(), ListError::Empty);
        assert_eq!(
            split("a,b,c,d", LENIENT).unwrap_err(),
            ListError::TooMany { max: 3, given: 4 }
        );
    }

    #[test]
    fn strict_lists_refuse_empty_items() {
        assert_eq!(split("a,b", STRICT).unwrap(), ["a", "b"]);
        assert_eq!(split("a,b,", STRICT).unwrap_err(), ListError::TrailingComma);
        assert_eq!(
            split("a,,b", STRICT).unwrap_err(),
            ListError::EmptyItem { index: 1 }
        );
        assert_eq!(split("", STRICT).unwrap_err(), ListError::Empty);
    }
}
