//! Name rules and their refusals, in Milvus's words. Milvus checks each kind of name with
//! its own rule and its own text, and clients (and Milvus's own tests) match those texts,
//! so each kind is spelled here as Milvus spells it:
//!
//! | kind | first character | other characters | trimmed | empty |
//! | --- | --- | --- | --- | --- |
//! | collection, alias | letter or `_` | letters, digits, `_`, `$` | no | refused |
//! | database | letter or `_` | letters, digits, `_` | no | refused |
//! | partition | letter, digit or `_` | letters, digits, `_`, `-` | yes | refused |
//! | field | letter or `_` | letters, digits, `_`; not a filter keyword | yes | refused |
//! | index | letter or `_` | letters, digits, `_` | yes | allowed (named after the field) |
//! | snapshot | letter or `_` | letters, digits, `_`, `$` | yes | refused |
//!
//! Lengths are counted in bytes, as Milvus does (at most 255), and characters are checked
//! byte by byte, so any non-ASCII character is refused.

use crate::error::{NameKind, Result, SchemaError};

/// The longest name Milvus accepts, in bytes.
pub const MAX_NAME_LENGTH: usize = 255;

/// Words of the filter language that cannot name a field (a filter could not refer to it).
/// `null` is refused in any casing; the others in the casings listed.
const FIELD_KEYWORDS: &[&str] = &[
    "$meta",
    "like",
    "exists",
    "EXISTS",
    "and",
    "or",
    "not",
    "in",
    "json_contains",
    "JSON_CONTAINS",
    "json_contains_all",
    "JSON_CONTAINS_ALL",
    "json_contains_any",
    "JSON_CONTAINS_ANY",
    "array_contains",
    "ARRAY_CONTAINS",
    "array_contains_all",
    "ARRAY_CONTAINS_ALL",
    "array_contains_any",
    "ARRAY_CONTAINS_ANY",
    "array_length",
    "ARRAY_LENGTH",
    "true",
    "True",
    "TRUE",
    "false",
    "False",
    "FALSE",
    "text_match",
    "TEXT_MATCH",
    "phrase_match",
    "PHRASE_MATCH",
    "random_sample",
    "RANDOM_SAMPLE",
];

/// Whether `name` is a filter keyword that cannot name a field.
pub fn is_field_keyword(name: &str) -> bool {
    FIELD_KEYWORDS.contains(&name) || name.eq_ignore_ascii_case("null")
}

/// What is wrong with a name, before it is put in a kind's words.
enum Flaw {
    Empty,
    TooLong,
    FirstCharacter,
    /// The byte and its position.
    Character(u8, usize),
}

/// The rule of one kind: which bytes may start and continue a name.
struct Rule {
    first: fn(u8) -> bool,
    rest: fn(u8) -> bool,
}

fn letter_or_underscore(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

fn word(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

fn word_or_dollar(c: u8) -> bool {
    word(c) || c == b'$'
}

fn flaw(rule: Rule, name: &str) -> Option<Flaw> {
    let bytes = name.as_bytes();
    let first = *bytes.first()?;
    if bytes.len() > MAX_NAME_LENGTH {
        return Some(Flaw::TooLong);
    }
    if !(rule.first)(first) {
        return Some(Flaw::FirstCharacter);
    }
    bytes.iter().enumerate().skip(1).find(|(_, c)| !(rule.rest)(**c)).map(|(i, c)| Flaw::Character(*c, i))
}

/// Check a name of `kind`; the refusal carries Milvus's text for that kind.
pub fn validate(kind: NameKind, name: &str) -> Result<()> {
    let trimmed = match kind {
        NameKind::Partition | NameKind::Field | NameKind::Index | NameKind::Snapshot => name.trim(),
        NameKind::Collection | NameKind::Alias | NameKind::Database => name,
    };
    let rule = match kind {
        NameKind::Collection | NameKind::Alias | NameKind::Snapshot => Rule { first: letter_or_underscore, rest: word_or_dollar },
        NameKind::Database | NameKind::Field | NameKind::Index => Rule { first: letter_or_underscore, rest: word },
        NameKind::Partition => Rule { first: |c| c.is_ascii_digit() || letter_or_underscore(c), rest: |c| word(c) || c == b'-' },
    };
    let refuse = |reason: String| Err(SchemaError::InvalidName { kind, name: name.to_string(), reason });
    match flaw(rule, trimmed) {
        Some(flaw) => refuse(reason(kind, trimmed, flaw)),
        None if trimmed.is_empty() && kind != NameKind::Index => refuse(reason(kind, trimmed, Flaw::Empty)),
        None if kind == NameKind::Field && is_field_keyword(trimmed) => {
            refuse(format!("Invalid field name: {trimmed}. {trimmed} is keyword in milvus.: field name invalid[field={trimmed}]"))
        }
        None => Ok(()),
    }
}

/// Milvus's text for a flawed name of `kind`.
fn reason(kind: NameKind, name: &str, flaw: Flaw) -> String {
    match kind {
        NameKind::Collection | NameKind::Alias => {
            let what = if kind == NameKind::Collection { "name" } else { "alias" };
            let detail = match flaw {
                Flaw::Empty => return format!("collection {what} should not be empty: invalid parameter"),
                Flaw::TooLong => format!("the length of a collection {what} must be less than {MAX_NAME_LENGTH} characters"),
                Flaw::FirstCharacter => format!("the first character of a collection {what} must be an underscore or letter"),
                Flaw::Character(..) => format!("collection {what} can only contain numbers, letters and underscores"),
            };
            format!("Invalid collection {what}: {name}. {detail}: invalid parameter")
        }
        NameKind::Database => {
            let detail = match flaw {
                Flaw::Empty => "database name couldn't be empty".to_string(),
                Flaw::TooLong => format!("the length of a database name must be less than {MAX_NAME_LENGTH} characters"),
                Flaw::FirstCharacter => "the first character of a database name must be an underscore or letter".to_string(),
                Flaw::Character(..) => "database name can only contain numbers, letters and underscores".to_string(),
            };
            format!("{detail}: invalid database name[database={name}]")
        }
        NameKind::Partition => {
            let detail = match flaw {
                Flaw::Empty => "Partition name should not be empty.".to_string(),
                Flaw::TooLong => format!("The length of a partition name must be less than {MAX_NAME_LENGTH} characters."),
                Flaw::FirstCharacter => "The first character of a partition name must be an underscore or letter.".to_string(),
                Flaw::Character(..) => "Partition name can only contain numbers, letters and underscores.".to_string(),
            };
            format!("Invalid partition name: {name}. {detail}: invalid parameter")
        }
        NameKind::Field => {
            let detail = match flaw {
                Flaw::Empty => return "field name should not be empty: field name invalid[field=]".to_string(),
                Flaw::TooLong => format!("The length of a field name must be less than {MAX_NAME_LENGTH} characters."),
                Flaw::FirstCharacter => "The first character of a field name must be an underscore or letter.".to_string(),
                Flaw::Character(..) => "Field name can only contain numbers, letters, and underscores.".to_string(),
            };
            format!("Invalid field name: {name}. {detail}: field name invalid[field={name}]")
        }
        NameKind::Index => {
            let detail = match flaw {
                Flaw::TooLong => format!("The length of a index name must be less than {MAX_NAME_LENGTH} characters."),
                Flaw::Empty | Flaw::FirstCharacter => "The first character of a index name must be an underscore or letter.".to_string(),
                Flaw::Character(..) => "Index name can only contain numbers, letters, and underscores.".to_string(),
            };
            format!("Invalid index name: {name}. {detail}: invalid parameter")
        }
        NameKind::Snapshot => match flaw {
            Flaw::Empty => "snapshot name should be not empty: invalid parameter[expected=not empty][actual=]".to_string(),
            Flaw::TooLong => format!(
                "the length of snapshot name must be not greater than limit: invalid parameter[{} out of range 0 <= value <= {MAX_NAME_LENGTH}]",
                name.len()
            ),
            // Milvus prints the expected and the actual first byte as numbers.
            Flaw::FirstCharacter => format!(
                "the first character of snapshot name must be an underscore or letter: invalid parameter[expected={}][actual={}]",
                b'_',
                name.as_bytes().first().copied().unwrap_or_default()
            ),
            Flaw::Character(c, at) => format!(
                "snapshot name can only contain numbers, letters, underscores, and allowed characters ($), found {} at {at}: invalid parameter",
                char::from(c)
            ),
        },
    }
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
        // Partitions may start with a digit and hold hyphens; spaces around are ignored.
        for name in ["12name", "n-ame", " p1 "] {
            validate(NameKind::Partition, name).unwrap();
        }
        validate(NameKind::Index, "").unwrap();
        validate(NameKind::Field, "nullable").unwrap();
    }

    #[test]
    fn refuses_in_milvus_words() {
        assert_eq!(reason(NameKind::Collection, ""), "collection name should not be empty: invalid parameter");
        assert_eq!(
            reason(NameKind::Collection, "12-s"),
            "Invalid collection name: 12-s. the first character of a collection name must be an underscore or letter: invalid parameter"
        );
        assert_eq!(
            reason(NameKind::Collection, "español"),
            "Invalid collection name: español. collection name can only contain numbers, letters and underscores: invalid parameter"
        );
        assert!(
            reason(NameKind::Collection, &"a".repeat(256)).contains("the length of a collection name must be less than 255 characters")
        );
        assert!(reason(NameKind::Alias, "中文").starts_with("Invalid collection alias: 中文. the first character of a collection alias"));
        assert_eq!(reason(NameKind::Alias, ""), "collection alias should not be empty: invalid parameter");
        assert_eq!(
            reason(NameKind::Database, "  "),
            "the first character of a database name must be an underscore or letter: invalid database name[database=  ]"
        );
        assert!(reason(NameKind::Database, "a$b").starts_with("database name can only contain numbers, letters and underscores"));
        assert_eq!(reason(NameKind::Partition, " "), "Invalid partition name: . Partition name should not be empty.: invalid parameter");
        assert!(reason(NameKind::Partition, "(mn)").contains("The first character of a partition name must be an underscore or letter."));
        assert!(reason(NameKind::Partition, "12 s").starts_with("Invalid partition name: 12 s. Partition name can only contain"));
        assert_eq!(
            reason(NameKind::Field, "123abc"),
            "Invalid field name: 123abc. The first character of a field name must be an underscore or letter.: field name invalid[field=123abc]"
        );
        assert!(reason(NameKind::Field, "like").contains("Invalid field name: like. like is keyword in milvus."));
        assert!(reason(NameKind::Field, "NuLL").contains("is keyword in milvus."));
        assert!(reason(NameKind::Index, "1x").starts_with("Invalid index name: 1x. The first character of a index name"));
        assert!(reason(NameKind::Snapshot, "").starts_with("snapshot name should be not empty"));
        assert!(reason(NameKind::Snapshot, "snapshot-1").contains("found - at 8"));
    }
}
