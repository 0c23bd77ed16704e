//! Recognises filters a scalar index can answer on its own: one test of one indexed
//! target against literals (`x == v`, `x != v`, `x < v`, `lo < x <= hi`, `x in [...]`,
//! and for JSON paths `json_contains*`). A target is an integer, string or bool field,
//! or a path in a JSON field or `$meta`. Float fields are left to evaluation, whose f32
//! rounding rules an index would have to repeat.
//!
//! The values are compared as evaluation compares them (`crate::json`): numbers exactly
//! and by value (`1` and `1.0` are one value), strings bytewise, bools only by equality,
//! and values of different types never equal. An index that holds every value of the
//! literals' types at its target therefore selects exactly the rows evaluation would.

use super::node::{InList, Needles, Operand, Pred};
use crate::ast::{CmpOp, PathStep};
use crate::value::{Literal, Num, cmp_num};
use quiver_format::schema::DataType;
use serde_json::Value;
use std::cmp::Ordering;

/// A number as an index orders it: exactly, by value, so `1` and `1.0` are one key.
/// Never NaN (no JSON number and no comparable literal is), and `-0.0` is `0`.
#[derive(Clone, Copy, Debug)]
pub struct NumKey(Num);

impl NumKey {
    fn of(num: Num) -> Option<NumKey> {
        match num {
            Num::Float(f) if f.is_nan() => None,
            // IEEE equality holds -0.0 == 0.0; one spelling keeps the order total.
            Num::Float(0.0) => Some(NumKey(Num::Int(0))),
            num => Some(NumKey(num)),
        }
    }
}

impl From<i64> for NumKey {
    fn from(i: i64) -> NumKey {
        NumKey(Num::Int(i))
    }
}

impl Ord for NumKey {
    fn cmp(&self, other: &NumKey) -> Ordering {
        cmp_num(self.0, other.0).expect("a NumKey is never NaN")
    }
}

impl PartialOrd for NumKey {
    fn partial_cmp(&self, other: &NumKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for NumKey {
    fn eq(&self, other: &NumKey) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NumKey {}

/// A literal an index compares with. Values of different variants never equal, and
/// within a variant the order is evaluation's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TermValue {
    Bool(bool),
    Num(NumKey),
    Str(String),
}

impl TermValue {
    /// A JSON scalar as a term value; `None` for null, arrays and objects.
    pub fn of_json(value: &Value) -> Option<TermValue> {
        match value {
            Value::Bool(b) => Some(TermValue::Bool(*b)),
            Value::Number(n) => NumKey::of(Num::from_json(n)).map(TermValue::Num),
            Value::String(s) => Some(TermValue::Str(s.clone())),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }
}

/// One bound of a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    pub value: TermValue,
    pub inclusive: bool,
}

/// What an index must select.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermMatch {
    /// Rows whose value is one of these (`==` or `in`).
    AnyOf(Vec<TermValue>),
    /// Rows with a value that is none of these (`!=` or `not in`); nulls and missing
    /// JSON keys never match.
    NoneOf(Vec<TermValue>),
    /// Rows whose value lies in the range (values of the bounds' type only).
    Range { lower: Option<Bound>, upper: Option<Bound> },
    /// Rows whose JSON array holds all (`all`) or any of these elements
    /// (`json_contains`, `json_contains_all`, `json_contains_any` and the `array_`
    /// spellings on a JSON path).
    Contains { all: bool, values: Vec<TermValue> },
}

impl TermMatch {
    /// Every value the match compares with.
    pub fn values(&self) -> Vec<&TermValue> {
        match self {
            TermMatch::AnyOf(values) | TermMatch::NoneOf(values) | TermMatch::Contains { values, .. } => values.iter().collect(),
            TermMatch::Range { lower, upper } => lower.iter().chain(upper.iter()).map(|b| &b.value).collect(),
        }
    }
}

/// What an index term tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermTarget {
    /// A scalar field, by name.
    Field(String),
    /// A path in a JSON field or in `$meta` (`column`), possibly empty.
    Json { column: String, path: Vec<PathStep> },
}

/// A whole filter that is one indexable test on one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexTerm {
    pub target: TermTarget,
    pub matches: TermMatch,
}

/// How the literals compared with a target become term values.
type TermValueOf = fn(&Literal) -> Option<TermValue>;

/// The target an operand is, and how its literals become term values.
fn target(operand: &Operand) -> Option<(TermTarget, TermValueOf)> {
    match operand {
        Operand::Column(c)
            if matches!(
                c.data_type,
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::VarChar | DataType::Bool
            ) =>
        {
            Some((TermTarget::Field(c.name.clone()), field_value))
        }
        Operand::Json { column, path } => Some((TermTarget::Json { column: column.clone(), path: path.clone() }, json_value)),
        _ => None,
    }
}

/// A literal compared with a scalar field. Floats are left to evaluation.
fn field_value(literal: &Literal) -> Option<TermValue> {
    match literal {
        Literal::Bool(b) => Some(TermValue::Bool(*b)),
        Literal::Int(i) => Some(TermValue::Num(NumKey::from(*i))),
        Literal::Str(s) => Some(TermValue::Str(s.clone())),
        _ => None,
    }
}

/// A literal compared with a JSON value: any scalar (a NaN compares with nothing, so it
/// is left to evaluation).
fn json_value(literal: &Literal) -> Option<TermValue> {
    match literal {
        Literal::Float(f) => NumKey::of(Num::Float(*f)).map(TermValue::Num),
        other => field_value(other),
    }
}

fn compare(target: TermTarget, op: CmpOp, v: TermValue) -> Option<IndexTerm> {
    let json = matches!(target, TermTarget::Json { .. });
    let bound = |inclusive| Some(Bound { value: v.clone(), inclusive });
    let matches = match op {
        CmpOp::Eq => TermMatch::AnyOf(vec![v.clone()]),
        CmpOp::Ne => TermMatch::NoneOf(vec![v.clone()]),
        // JSON bools are unordered (`<` on them is unknown): evaluation answers that.
        _ if json && matches!(v, TermValue::Bool(_)) => return None,
        CmpOp::Lt => TermMatch::Range { lower: None, upper: bound(false) },
        CmpOp::Le => TermMatch::Range { lower: None, upper: bound(true) },
        CmpOp::Gt => TermMatch::Range { lower: bound(false), upper: None },
        CmpOp::Ge => TermMatch::Range { lower: bound(true), upper: None },
    };
    Some(IndexTerm { target, matches })
}

/// JSON values of a list or of needles as term values. JSON null equals no present
/// value, so it is dropped from `in` lists; arrays and objects (and null needles,
/// which a JSON array can hold) leave the test to evaluation.
fn json_values(values: &[Value], drop_nulls: bool) -> Option<Vec<TermValue>> {
    let mut out = Vec::with_capacity(values.len());
    for value in values.iter().filter(|v| !(drop_nulls && v.is_null())) {
        out.push(TermValue::of_json(value)?);
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// The index term `pred` is, if it is one.
pub(crate) fn index_term(pred: &Pred) -> Option<IndexTerm> {
    match pred {
        Pred::Compare { left, op, right: Operand::Literal(literal) } => {
            let (target, value) = target(left)?;
            compare(target, *op, value(literal)?)
        }
        Pred::In { operand, list, negated } => {
            let (target, _) = target(operand)?;
            let mut values: Vec<TermValue> = match list {
                InList::Int(set) => set.iter().map(|i| TermValue::Num(NumKey::from(*i))).collect(),
                InList::Str(set) => set.iter().map(|s| TermValue::Str(s.clone())).collect(),
                InList::Bool { has_true, has_false } => {
                    [(*has_true, true), (*has_false, false)].iter().filter(|(has, _)| *has).map(|(_, b)| TermValue::Bool(*b)).collect()
                }
                InList::Json(values) => json_values(values, true)?,
                InList::Float(_) => return None,
            };
            values.sort();
            let matches = if *negated { TermMatch::NoneOf(values) } else { TermMatch::AnyOf(values) };
            Some(IndexTerm { target, matches })
        }
        Pred::Contains { operand: operand @ Operand::Json { .. }, all, needles: Needles::Json(needles), unmatchable: false } => {
            let (target, _) = target(operand)?;
            Some(IndexTerm { target, matches: TermMatch::Contains { all: *all, values: json_values(needles, false)? } })
        }
        // A chained range (`lo < x <= hi`) plans as an AND of two compares on one target.
        Pred::And(children) if children.len() == 2 => {
            let a = index_term(&children[0])?;
            let b = index_term(&children[1])?;
            match (a.matches, b.matches) {
                (TermMatch::Range { lower: Some(lower), upper: None }, TermMatch::Range { lower: None, upper: Some(upper) })
                | (TermMatch::Range { lower: None, upper: Some(upper) }, TermMatch::Range { lower: Some(lower), upper: None })
                    if a.target == b.target =>
                {
                    Some(IndexTerm { target: a.target, matches: TermMatch::Range { lower: Some(lower), upper: Some(upper) } })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(n: Num) -> NumKey {
        NumKey::of(n).unwrap()
    }

    #[test]
    fn numbers_are_one_key_per_value_and_ordered_exactly() {
        assert_eq!(num(Num::Int(1)), num(Num::Float(1.0)));
        assert_eq!(num(Num::Float(-0.0)), num(Num::Int(0)));
        assert!(num(Num::Int(9_007_199_254_740_993)) > num(Num::Float(9_007_199_254_740_992.0)));
        assert!(num(Num::Float(2.5)) < num(Num::Int(3)));
        assert!(NumKey::of(Num::Float(f64::NAN)).is_none());
        assert_eq!(TermValue::of_json(&serde_json::json!(2.0)), Some(TermValue::Num(NumKey::from(2))));
        assert_eq!(TermValue::of_json(&serde_json::json!([1])), None);
    }
}
