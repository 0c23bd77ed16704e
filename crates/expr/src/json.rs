//! How JSON values behave in expressions: path lookup, equality and ordering.
//!
//! JSON is dynamically typed, so the rules are per value:
//! - a missing key, an out-of-range index and JSON `null` are *unknown*: every
//!   comparison with them is unknown, and so is its negation;
//! - numbers compare numerically whatever their JSON spelling (`1 == 1.0`);
//! - values of different types are unequal (`==` false, `!=` true) and unordered
//!   (`<` etc. unknown), so a row whose value has the wrong type never matches an
//!   ordering comparison;
//! - arrays and objects support only `==`/`!=`, structurally.
//!
//! [`json_eq`] recurses once per nesting level. Its values come from serde_json's
//! parser, which refuses documents nested deeper than 128 levels, and from literals and
//! templates, which are held to [`crate::MAX_DEPTH`].

use crate::ast::{CmpOp, PathStep};
use crate::value::{Num, cmp_num};
use serde_json::Value;
use std::cmp::Ordering;

/// Follows `path` from `root`. Keys and indexes are interchangeable, as in a JSON
/// pointer: `["0"]` indexes an array and `[0]` looks up key `"0"` in an object.
pub(crate) fn lookup<'v>(root: &'v Value, path: &[PathStep]) -> Option<&'v Value> {
    let mut current = root;
    for step in path {
        current = match (current, step) {
            (Value::Object(map), PathStep::Key(key)) => map.get(key)?,
            (Value::Object(map), PathStep::Index(i)) => map.get(&i.to_string())?,
            (Value::Array(items), PathStep::Index(i)) => items.get(usize::try_from(*i).ok()?)?,
            (Value::Array(items), PathStep::Key(key)) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Structural equality with numbers compared by value.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => cmp_num(Num::from_json(x), Num::from_json(y)) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w))),
        _ => a == b,
    }
}

/// `a op b` under the rules above: `None` is unknown.
pub(crate) fn compare(a: Option<&Value>, op: CmpOp, b: Option<&Value>) -> Option<bool> {
    let (a, b) = (a.filter(|v| !v.is_null())?, b.filter(|v| !v.is_null())?);
    let ordering = match (a, b) {
        (Value::Number(x), Value::Number(y)) => cmp_num(Num::from_json(x), Num::from_json(y)),
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ if op.is_equality() => {
            let same_type = std::mem::discriminant(a) == std::mem::discriminant(b);
            let equal = same_type && json_eq(a, b);
            return Some(equal == (op == CmpOp::Eq));
        }
        _ => None,
    };
    ordering.map(|o| op.test(o))
}

/// The number a JSON value holds, if it is one.
pub(crate) fn number(value: &Value) -> Option<Num> {
    match value {
        Value::Number(n) => Some(Num::from_json(n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        let doc = json!({"a": {"b": [10, {"c": 1}]}, "0": "zero"});
        let key = |k: &str| PathStep::Key(k.into());
        assert_eq!(lookup(&doc, &[key("a"), key("b"), PathStep::Index(0)]), Some(&json!(10)));
        assert_eq!(lookup(&doc, &[key("a"), key("b"), key("1"), key("c")]), Some(&json!(1)));
        assert_eq!(lookup(&doc, &[PathStep::Index(0)]), Some(&json!("zero")));
        assert_eq!(lookup(&doc, &[key("a"), key("x")]), None);
        assert_eq!(lookup(&doc, &[key("a"), key("b"), PathStep::Index(5)]), None);
    }

    #[test]
    fn comparisons() {
        let v = |x: Value| Some(x);
        assert_eq!(compare(v(json!(1)).as_ref(), CmpOp::Eq, v(json!(1.0)).as_ref()), Some(true));
        assert_eq!(compare(v(json!("a")).as_ref(), CmpOp::Lt, v(json!("b")).as_ref()), Some(true));
        assert_eq!(compare(v(json!("a")).as_ref(), CmpOp::Eq, v(json!(1)).as_ref()), Some(false));
        assert_eq!(compare(v(json!("a")).as_ref(), CmpOp::Ne, v(json!(1)).as_ref()), Some(true));
        assert_eq!(compare(v(json!("a")).as_ref(), CmpOp::Gt, v(json!(1)).as_ref()), None);
        assert_eq!(compare(v(json!(null)).as_ref(), CmpOp::Ne, v(json!(1)).as_ref()), None);
        assert_eq!(compare(None, CmpOp::Eq, v(json!(1)).as_ref()), None);
        assert_eq!(compare(v(json!([1, 2])).as_ref(), CmpOp::Eq, v(json!([1.0, 2])).as_ref()), Some(true));
        assert_eq!(compare(v(json!(true)).as_ref(), CmpOp::Lt, v(json!(false)).as_ref()), None);
    }
}
