//! Comparison, `in`, `like`, `is null` and truthiness kernels.
//!
//! Typed columns against constants (and against each other) run as one tight loop
//! over the Arrow values buffer producing a bitmap; nulls are applied afterwards from
//! the validity bitmap. Everything involving JSON goes row by row through
//! [`crate::json`].

use super::tri::Tri;
use super::vals::{JsonView, Vals};
use crate::ast::CmpOp;
use crate::hash::FastSet;
use crate::json;
use crate::like::LikePattern;
use crate::plan::InList;
use crate::value::{Literal, cmp_int_float, exact_i64};
use arrow_array::types::{ArrowPrimitiveType, Int8Type, Int16Type, Int32Type};
use arrow_array::{Array, Float32Array, PrimitiveArray};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use quiver_format::schema::DataType;
use serde_json::Value;
use std::cmp::Ordering;

/// 2^63 as f64.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// `f(values[i]) op b` for every row; the operator is matched once, outside the loop,
/// and `f` widens narrow types inside it, so no widened copy is allocated.
fn scalar<T: Copy, U: PartialOrd + Copy>(values: &[T], op: CmpOp, b: U, f: impl Fn(T) -> U) -> BooleanBuffer {
    let n = values.len();
    match op {
        CmpOp::Eq => BooleanBuffer::collect_bool(n, |i| f(values[i]) == b),
        CmpOp::Ne => BooleanBuffer::collect_bool(n, |i| f(values[i]) != b),
        CmpOp::Lt => BooleanBuffer::collect_bool(n, |i| f(values[i]) < b),
        CmpOp::Le => BooleanBuffer::collect_bool(n, |i| f(values[i]) <= b),
        CmpOp::Gt => BooleanBuffer::collect_bool(n, |i| f(values[i]) > b),
        CmpOp::Ge => BooleanBuffer::collect_bool(n, |i| f(values[i]) >= b),
    }
}

fn pairwise<T: PartialOrd + Copy>(a: &[T], b: &[T], op: CmpOp) -> BooleanBuffer {
    let n = a.len();
    match op {
        CmpOp::Eq => BooleanBuffer::collect_bool(n, |i| a[i] == b[i]),
        CmpOp::Ne => BooleanBuffer::collect_bool(n, |i| a[i] != b[i]),
        CmpOp::Lt => BooleanBuffer::collect_bool(n, |i| a[i] < b[i]),
        CmpOp::Le => BooleanBuffer::collect_bool(n, |i| a[i] <= b[i]),
        CmpOp::Gt => BooleanBuffer::collect_bool(n, |i| a[i] > b[i]),
        CmpOp::Ge => BooleanBuffer::collect_bool(n, |i| a[i] >= b[i]),
    }
}

fn constant_bits(value: bool, n: usize) -> BooleanBuffer {
    if value { BooleanBuffer::new_set(n) } else { BooleanBuffer::new_unset(n) }
}

/// An ordering that may be undefined (NaN): only `!=` holds then, as in IEEE.
fn test(op: CmpOp, ordering: Option<Ordering>) -> bool {
    ordering.map_or(op == CmpOp::Ne, |o| op.test(o))
}

/// Integer values against a float that is not an exact Int64: rewritten as an integer
/// bound (`x < 2.5` ⇔ `x <= 2`), so the loop stays integer-only and exact.
fn int_vs_float<T: Copy>(values: &[T], op: CmpOp, b: f64, f: impl Fn(T) -> i64) -> BooleanBuffer {
    let n = values.len();
    if let Some(i) = exact_i64(b) {
        return scalar(values, op, i, f);
    }
    if b.is_nan() {
        return constant_bits(op == CmpOp::Ne, n);
    }
    let floor = b.floor();
    match op {
        CmpOp::Eq => constant_bits(false, n),
        CmpOp::Ne => constant_bits(true, n),
        CmpOp::Lt | CmpOp::Le if floor >= TWO_POW_63 => constant_bits(true, n),
        CmpOp::Lt | CmpOp::Le if floor < -TWO_POW_63 => constant_bits(false, n),
        CmpOp::Lt | CmpOp::Le => scalar(values, CmpOp::Le, floor as i64, f),
        _ if floor >= TWO_POW_63 => constant_bits(false, n),
        _ if floor < -TWO_POW_63 => constant_bits(true, n),
        _ => scalar(values, CmpOp::Gt, floor as i64, f),
    }
}

/// `column op literal` read at the column's native width (Int8/16/32, Float32), for
/// the columns whose general path would first allocate a widened copy. `None` when
/// the case is not one of these.
pub(crate) fn compare_native(array: &dyn Array, data_type: DataType, op: CmpOp, literal: &Literal) -> Option<Tri> {
    fn ints<T: ArrowPrimitiveType>(array: &dyn Array, op: CmpOp, literal: &Literal) -> Option<Tri>
    where
        T::Native: Into<i64>,
    {
        let a = array.as_any().downcast_ref::<PrimitiveArray<T>>()?;
        let bits = match literal {
            Literal::Int(b) => scalar(a.values(), op, *b, Into::into),
            Literal::Float(b) => int_vs_float(a.values(), op, *b, Into::into),
            _ => return None,
        };
        Some(Tri::from_bits(bits, a.nulls()))
    }
    match data_type {
        DataType::Int8 => ints::<Int8Type>(array, op, literal),
        DataType::Int16 => ints::<Int16Type>(array, op, literal),
        DataType::Int32 => ints::<Int32Type>(array, op, literal),
        DataType::Float => {
            let a = array.as_any().downcast_ref::<Float32Array>()?;
            let b = literal.as_num()?.as_f64();
            Some(Tri::from_bits(scalar(a.values(), op, b, f64::from), a.nulls()))
        }
        _ => None,
    }
}

/// `column in list` at native width, like [`compare_native`].
pub(crate) fn in_native(array: &dyn Array, data_type: DataType, list: &InList) -> Option<Tri> {
    fn ints<T: ArrowPrimitiveType>(array: &dyn Array, list: &InList) -> Option<Tri>
    where
        T::Native: Into<i64>,
    {
        let (a, InList::Int(set)) = (array.as_any().downcast_ref::<PrimitiveArray<T>>()?, list) else { return None };
        Some(Tri::from_bits(int_member(a.values(), set, |x| x.into()), a.nulls()))
    }
    match data_type {
        DataType::Int8 => ints::<Int8Type>(array, list),
        DataType::Int16 => ints::<Int16Type>(array, list),
        DataType::Int32 => ints::<Int32Type>(array, list),
        DataType::Float => {
            let (a, InList::Float(sorted)) = (array.as_any().downcast_ref::<Float32Array>()?, list) else { return None };
            let v = a.values();
            let bits = BooleanBuffer::collect_bool(v.len(), |i| float_in(sorted, f64::from(v[i])));
            Some(Tri::from_bits(bits, a.nulls()))
        }
        _ => None,
    }
}

/// Below this many values a linear scan beats hashing.
const SMALL_LIST: usize = 8;

fn int_member<T: Copy>(values: &[T], set: &FastSet<i64>, f: impl Fn(T) -> i64) -> BooleanBuffer {
    if set.len() <= SMALL_LIST {
        let small: Vec<i64> = set.iter().copied().collect();
        return BooleanBuffer::collect_bool(values.len(), |i| small.contains(&f(values[i])));
    }
    BooleanBuffer::collect_bool(values.len(), |i| set.contains(&f(values[i])))
}

/// Membership in a sorted, NaN-free list; `+ 0.0` turns -0.0 into 0.0, which the
/// planner also did to the list.
fn float_in(sorted: &[f64], x: f64) -> bool {
    sorted.binary_search_by(|p| p.total_cmp(&(x + 0.0))).is_ok()
}

fn union(a: Option<&NullBuffer>, b: Option<&NullBuffer>) -> Option<NullBuffer> {
    NullBuffer::union(a, b)
}

pub(crate) fn compare(left: &Vals, op: CmpOp, right: &Vals, rows: usize) -> Tri {
    use Vals as V;
    match (left, right) {
        (V::Const(_), r) if !matches!(r, V::Const(_)) => compare(right, op.flip(), left, rows),
        (V::Int(a), V::Const(Literal::Int(b))) => Tri::from_bits(scalar(a.values(), op, *b, |x| x), a.nulls()),
        (V::Int(a), V::Const(Literal::Float(b))) => Tri::from_bits(int_vs_float(a.values(), op, *b, |x| x), a.nulls()),
        (V::Float(a), V::Const(Literal::Int(b))) => Tri::from_bits(scalar(a.values(), op, *b as f64, |x| x), a.nulls()),
        (V::Float(a), V::Const(Literal::Float(b))) => Tri::from_bits(scalar(a.values(), op, *b, |x| x), a.nulls()),
        (V::Str(a), V::Const(Literal::Str(b))) => {
            let b = b.as_bytes();
            let bits = match op {
                // Equality can reject on length alone.
                CmpOp::Eq => BooleanBuffer::collect_bool(a.len(), |i| a.value(i).as_bytes() == b),
                CmpOp::Ne => BooleanBuffer::collect_bool(a.len(), |i| a.value(i).as_bytes() != b),
                _ => BooleanBuffer::collect_bool(a.len(), |i| op.test(a.value(i).as_bytes().cmp(b))),
            };
            Tri::from_bits(bits, a.nulls())
        }
        (V::Bool(a), V::Const(Literal::Bool(b))) if op.is_equality() => {
            let keep = (op == CmpOp::Eq) == *b;
            Tri::from_bits(if keep { a.values().clone() } else { !a.values() }, a.nulls())
        }
        (V::Int(a), V::Int(b)) => Tri::from_bits(pairwise(a.values(), b.values(), op), union(a.nulls(), b.nulls()).as_ref()),
        (V::Float(a), V::Float(b)) => Tri::from_bits(pairwise(a.values(), b.values(), op), union(a.nulls(), b.nulls()).as_ref()),
        (V::Int(a), V::Float(b)) => {
            let (x, y) = (a.values(), b.values());
            let bits = BooleanBuffer::collect_bool(x.len(), |i| test(op, cmp_int_float(x[i], y[i])));
            Tri::from_bits(bits, union(a.nulls(), b.nulls()).as_ref())
        }
        (V::Float(_), V::Int(_)) => compare(right, op.flip(), left, rows),
        (V::Str(a), V::Str(b)) => {
            let bits = BooleanBuffer::collect_bool(a.len(), |i| op.test(a.value(i).as_bytes().cmp(b.value(i).as_bytes())));
            Tri::from_bits(bits, union(a.nulls(), b.nulls()).as_ref())
        }
        (V::Bool(a), V::Bool(b)) if op.is_equality() => {
            let differ = a.values() ^ b.values();
            let bits = if op == CmpOp::Ne { differ } else { !&differ };
            Tri::from_bits(bits, union(a.nulls(), b.nulls()).as_ref())
        }
        _ => {
            let (l, r) = (JsonView::new(left), JsonView::new(right));
            Tri::from_fn(rows, |i| json::compare(l.get(i).as_deref(), op, r.get(i).as_deref()))
        }
    }
}

impl InList {
    fn to_json(&self) -> Vec<Value> {
        match self {
            InList::Int(set) => set.iter().map(|i| Value::from(*i)).collect(),
            InList::Float(values) => values.iter().map(|f| Value::from(*f)).collect(),
            InList::Str(set) => set.iter().map(|s| Value::from(s.as_str())).collect(),
            InList::Bool { has_true, has_false } => {
                [(*has_true, true), (*has_false, false)].into_iter().filter(|(has, _)| *has).map(|(_, b)| Value::Bool(b)).collect()
            }
            InList::Json(values) => values.clone(),
        }
    }
}

pub(crate) fn in_list(vals: &Vals, list: &InList, rows: usize) -> Tri {
    match (vals, list) {
        (Vals::Int(a), InList::Int(set)) => Tri::from_bits(int_member(a.values(), set, |x| x), a.nulls()),
        (Vals::Float(a), InList::Float(sorted)) => {
            let v = a.values();
            let bits = BooleanBuffer::collect_bool(v.len(), |i| float_in(sorted, v[i]));
            Tri::from_bits(bits, a.nulls())
        }
        (Vals::Str(a), InList::Str(set)) => {
            let bits = if set.len() <= SMALL_LIST {
                let small: Vec<&str> = set.iter().map(String::as_str).collect();
                BooleanBuffer::collect_bool(a.len(), |i| small.contains(&a.value(i)))
            } else {
                BooleanBuffer::collect_bool(a.len(), |i| set.contains(a.value(i)))
            };
            Tri::from_bits(bits, a.nulls())
        }
        (Vals::Bool(a), InList::Bool { has_true, has_false }) => {
            let bits = match (has_true, has_false) {
                (true, true) => constant_bits(true, a.len()),
                (false, false) => constant_bits(false, a.len()),
                (true, false) => a.values().clone(),
                (false, true) => !a.values(),
            };
            Tri::from_bits(bits, a.nulls())
        }
        _ => {
            let values = list.to_json();
            let view = JsonView::new(vals);
            Tri::from_fn(rows, |i| {
                let v = view.get(i)?;
                Some(values.iter().any(|x| json::json_eq(&v, x)))
            })
        }
    }
}

/// `like` on strings; JSON values that are not strings are unknown.
pub(crate) fn like(vals: &Vals, pattern: &LikePattern, rows: usize) -> Tri {
    if let Vals::Str(a) = vals {
        let bits = BooleanBuffer::collect_bool(a.len(), |i| pattern.matches(a.value(i)));
        return Tri::from_bits(bits, a.nulls());
    }
    let view = JsonView::new(vals);
    Tri::from_fn(rows, |i| match view.get(i)?.as_ref() {
        Value::String(s) => Some(pattern.matches(s)),
        _ => None,
    })
}

/// `is null`: always known.
pub(crate) fn is_null(vals: &Vals, rows: usize) -> Tri {
    let bits = match vals {
        Vals::Json(values) => BooleanBuffer::collect_bool(values.len(), |i| values[i].is_none()),
        Vals::Const(_) => constant_bits(false, rows),
        other => match other.nulls() {
            Some(nulls) => !nulls.inner(),
            None => constant_bits(false, other.len(rows)),
        },
    };
    Tri::from_bits(bits, None)
}

/// A Bool value or JSON `true`/`false` used as a predicate; other JSON is unknown.
pub(crate) fn truthy(vals: &Vals, rows: usize) -> Tri {
    if let Vals::Bool(a) = vals {
        return Tri::from_bits(a.values().clone(), a.nulls());
    }
    let view = JsonView::new(vals);
    Tri::from_fn(rows, |i| view.get(i)?.as_bool())
}
