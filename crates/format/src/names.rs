//! Name rules, as Milvus applies them: not empty, at most 255 characters, the first
//! character a letter or `_`, the rest letters, digits, `_` (and `$`, except in database
//! names).

use crate::error::{NameKind, Result, SchemaError};

/// The longest name Milvus accepts.
pub const MAX_NAME_LENGTH: usize = 255;

pub fn validate(kind: NameKind, name: &str) -> Result<()> {
    let what = kind.as_str();
    let fail = |reason: String| Err(SchemaError::InvalidName { kind, name: name.to_string(), reason });
    if name.trim().is_empty() {
        return fail(format!("Invalid {what} name: {name:?}. {what} name should be not empty"));
    }
    if name.chars().count() > MAX_NAME_LENGTH {
        return fail(format!(
            "Invalid {what} name: {name}. the length of a {what} name must be not greater than {MAX_NAME_LENGTH} characters"
        ));
    }
    let first = name.chars().next().expect("checked non-empty");
    if !(first == '_' || first.is_ascii_alphabetic()) {
        return fail(format!("Invalid {what} name: {name}. the first character of a {what} name must be an underscore or letter"));
    }
    let allows_dollar = kind != NameKind::Database;
    if let Some((position, bad)) =
        name.chars().enumerate().find(|&(_, c)| !(c == '_' || c.is_ascii_alphanumeric() || (allows_dollar && c == '$')))
    {
        let allowed = if allows_dollar { "numbers, letters, underscores and $" } else { "numbers, letters and underscores" };
        return fail(format!("Invalid {what} name: {name}. {what} name can only contain {allowed}, found {bad:?} at {position}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(kind: NameKind, name: &str) -> String {
        validate(kind, name).unwrap_err().to_string()
    }

    #[test]
    fn accepts_milvus_names() {
        for name in ["a", "_x", "Abc_123", "a$b", &"x".repeat(255)] {
            validate(NameKind::Collection, name).unwrap();
        }
        validate(NameKind::Database, "my_db2").unwrap();
    }

    #[test]
    fn rejects_with_a_reason_that_says_why() {
        assert!(reason(NameKind::Collection, "").contains("should be not empty"));
        assert!(reason(NameKind::Collection, "  ").contains("should be not empty"));
        assert!(reason(NameKind::Collection, "1abc").contains("first character of a collection name"));
        assert!(reason(NameKind::Alias, "a-b").contains("found '-' at 1"));
        assert!(reason(NameKind::Collection, &"x".repeat(256)).contains("not greater than 255"));
        assert!(reason(NameKind::Database, "a$b").contains("numbers, letters and underscores"));
        assert!(reason(NameKind::Partition, "é").contains("first character of a partition name"));
    }
}
