//! LIKE patterns: `%` matches any run of characters, `_` exactly one character, and
//! `\%`, `\_`, `\\` match the character itself. The whole string must match.
//!
//! Patterns are compiled once per plan. The common shapes (`abc`, `abc%`, `%abc`,
//! `%abc%`) become plain string tests; the rest run a backtracking wildcard matcher
//! that is linear for a single `%` and O(n·m) at worst, with no regex engine.

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Part {
    Literal(String),
    AnyChar,
    AnyRun,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LikePattern {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    General(Vec<Part>),
}

impl LikePattern {
    pub fn new(pattern: &str) -> LikePattern {
        let parts = parse(pattern);
        match parts.as_slice() {
            [] => LikePattern::Exact(String::new()),
            [Part::Literal(s)] => LikePattern::Exact(s.clone()),
            [Part::AnyRun] => LikePattern::Prefix(String::new()),
            [Part::Literal(s), Part::AnyRun] => LikePattern::Prefix(s.clone()),
            [Part::AnyRun, Part::Literal(s)] => LikePattern::Suffix(s.clone()),
            [Part::AnyRun, Part::Literal(s), Part::AnyRun] => LikePattern::Contains(s.clone()),
            _ => LikePattern::General(parts),
        }
    }

    pub fn matches(&self, s: &str) -> bool {
        match self {
            LikePattern::Exact(p) => s == p,
            LikePattern::Prefix(p) => s.starts_with(p.as_str()),
            LikePattern::Suffix(p) => s.ends_with(p.as_str()),
            LikePattern::Contains(p) => s.contains(p.as_str()),
            LikePattern::General(parts) => matches_parts(parts, s),
        }
    }
}

/// Splits a pattern into literal runs and wildcards; consecutive `%` collapse.
fn parse(pattern: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let wildcard = match c {
            '\\' => {
                match chars.peek() {
                    Some(&e @ ('%' | '_' | '\\')) => {
                        literal.push(e);
                        chars.next();
                    }
                    // A lone backslash matches itself.
                    _ => literal.push('\\'),
                }
                continue;
            }
            '%' => Part::AnyRun,
            '_' => Part::AnyChar,
            c => {
                literal.push(c);
                continue;
            }
        };
        if !literal.is_empty() {
            parts.push(Part::Literal(std::mem::take(&mut literal)));
        }
        if !(wildcard == Part::AnyRun && parts.last() == Some(&Part::AnyRun)) {
            parts.push(wildcard);
        }
    }
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    parts
}

fn char_len_at(s: &str, i: usize) -> usize {
    s[i..].chars().next().map_or(1, char::len_utf8)
}

/// Classic wildcard matching with one backtrack point: on a mismatch, the last `%`
/// absorbs one more character and matching resumes after it.
fn matches_parts(parts: &[Part], s: &str) -> bool {
    let (mut p, mut i) = (0, 0);
    // (part after the last `%`, byte position that `%` currently extends to)
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        if p < parts.len() {
            match &parts[p] {
                Part::AnyRun => {
                    backtrack = Some((p + 1, i));
                    p += 1;
                    continue;
                }
                Part::AnyChar if i < s.len() => {
                    i += char_len_at(s, i);
                    p += 1;
                    continue;
                }
                Part::Literal(lit) if s[i..].starts_with(lit.as_str()) => {
                    i += lit.len();
                    p += 1;
                    continue;
                }
                _ => {}
            }
        } else if i == s.len() {
            return true;
        }
        match backtrack {
            Some((after, from)) if from < s.len() => {
                let next = from + char_len_at(s, from);
                backtrack = Some((after, next));
                p = after;
                i = next;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(s: &str, pattern: &str) -> bool {
        LikePattern::new(pattern).matches(s)
    }

    #[test]
    fn shapes() {
        assert_eq!(LikePattern::new("ab%"), LikePattern::Prefix("ab".into()));
        assert_eq!(LikePattern::new("%ab"), LikePattern::Suffix("ab".into()));
        assert_eq!(LikePattern::new("%%ab%"), LikePattern::Contains("ab".into()));
        assert_eq!(LikePattern::new("a\\%b"), LikePattern::Exact("a%b".into()));
    }

    #[test]
    fn general_matching() {
        assert!(like("abc", "a_c"));
        assert!(!like("abbc", "a_c"));
        assert!(like("éa", "_a"));
        assert!(like("xaybz", "%a%b%"));
        assert!(like("aab", "%ab"));
        assert!(like("mississippi", "m%iss%pi"));
        assert!(!like("mississippi", "m%iss%pix"));
        assert!(like("", "%"));
        assert!(!like("", "_"));
        assert!(like("abc", "a%_"));
        assert!(!like("a", "a%_"));
        assert!(like("50%", "50\\%"));
        assert!(!like("500", "50\\%"));
        assert!(like("a_b", "a\\_b"));
        assert!(like("a\\b", "a\\b"));
    }
}
