//! Constant values of a planned expression, and the numeric rules shared by planning
//! and evaluation: integers and floats compare exactly (no rounding of large Int64s
//! through f64), strings compare bytewise, as Milvus's C++ does.

use crate::ast::ArithOp;
use serde_json::{Number, Value};
use std::cmp::Ordering;

/// A literal after templates are substituted and constants are folded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Literal {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Literal>),
    /// A JSON object (or other JSON value) from a template's JSON data.
    Json(Value),
}

impl Literal {
    /// Milvus's name for the literal's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Literal::Bool(_) => "Bool",
            Literal::Int(_) => "Int64",
            Literal::Float(_) => "Double",
            Literal::Str(_) => "VarChar",
            Literal::List(_) => "Array",
            Literal::Json(_) => "JSON",
        }
    }

    /// The literal as a JSON value; NaN and infinities (from templates) become null,
    /// which then compares as unknown.
    pub fn to_json(&self) -> Value {
        match self {
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Int(i) => Value::from(*i),
            Literal::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Literal::Str(s) => Value::String(s.clone()),
            Literal::List(items) => Value::Array(items.iter().map(Literal::to_json).collect()),
            Literal::Json(v) => v.clone(),
        }
    }

    pub fn as_num(&self) -> Option<Num> {
        match self {
            Literal::Int(i) => Some(Num::Int(*i)),
            Literal::Float(f) => Some(Num::Float(*f)),
            _ => None,
        }
    }
}

/// A number of either kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn from_json(number: &Number) -> Num {
        match number.as_i64() {
            Some(i) => Num::Int(i),
            None => Num::Float(number.as_f64().unwrap_or(f64::NAN)),
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// The exact Int64 this number equals, if any.
    pub fn as_exact_i64(self) -> Option<i64> {
        match self {
            Num::Int(i) => Some(i),
            Num::Float(f) => exact_i64(f),
        }
    }

    pub fn to_json(self) -> Value {
        match self {
            Num::Int(i) => Value::from(i),
            Num::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        }
    }
}

/// 2^63 as f64: the first float above every Int64.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// `f` as an Int64 when it is integral and in range.
pub(crate) fn exact_i64(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&f)).then_some(f as i64)
}

/// Exact ordering of an integer against a float (`None` for NaN).
pub(crate) fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= TWO_POW_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_POW_63 {
        return Some(Ordering::Greater);
    }
    let floor = f.floor();
    // In range, so the cast is exact.
    match i.cmp(&(floor as i64)) {
        Ordering::Equal if f > floor => Some(Ordering::Less),
        ordering => Some(ordering),
    }
}

pub(crate) fn cmp_num(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Int(x), Num::Float(y)) => cmp_int_float(x, y),
        (Num::Float(x), Num::Int(y)) => cmp_int_float(y, x).map(Ordering::reverse),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
    }
}

/// `a op b`; `None` when the result has no value: integer overflow or division by
/// zero (the row becomes unknown rather than wrapping), or a non-finite float.
pub(crate) fn arith(op: ArithOp, a: Num, b: Num) -> Option<Num> {
    match (op, a, b) {
        (ArithOp::Pow, _, _) => finite(a.as_f64().powf(b.as_f64())),
        (_, Num::Int(x), Num::Int(y)) => int_arith(op, x, y).map(Num::Int),
        (_, _, _) => {
            let (x, y) = (a.as_f64(), b.as_f64());
            finite(match op {
                ArithOp::Add => x + y,
                ArithOp::Sub => x - y,
                ArithOp::Mul => x * y,
                ArithOp::Div => x / y,
                ArithOp::Mod => x % y,
                ArithOp::Pow => x.powf(y),
            })
        }
    }
}

/// Integer `x op y` (`op` is not `**`); `None` on overflow or division by zero.
pub(crate) fn int_arith(op: ArithOp, x: i64, y: i64) -> Option<i64> {
    match op {
        ArithOp::Add => x.checked_add(y),
        ArithOp::Sub => x.checked_sub(y),
        ArithOp::Mul => x.checked_mul(y),
        ArithOp::Div => x.checked_div(y),
        ArithOp::Mod => x.checked_rem(y),
        ArithOp::Pow => None,
    }
}

fn finite(f: f64) -> Option<Num> {
    f.is_finite().then_some(Num::Float(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_float_ordering_is_exact() {
        assert_eq!(cmp_int_float(1, 1.5), Some(Ordering::Less));
        assert_eq!(cmp_int_float(2, 1.5), Some(Ordering::Greater));
        assert_eq!(cmp_int_float(-1, -1.5), Some(Ordering::Greater));
        assert_eq!(cmp_int_float(3, 3.0), Some(Ordering::Equal));
        assert_eq!(cmp_int_float(i64::MAX, TWO_POW_63), Some(Ordering::Less));
        assert_eq!(cmp_int_float(i64::MIN, -TWO_POW_63), Some(Ordering::Equal));
        assert_eq!(cmp_int_float(0, f64::NAN), None);
        // 2^53 + 1 is not representable as f64, but still compares correctly.
        assert_eq!(cmp_int_float(9_007_199_254_740_993, 9_007_199_254_740_992.0), Some(Ordering::Greater));
    }
}
