//! `array_contains`, `array_contains_all`, `array_contains_any` (and the `json_`
//! spellings) over Array fields, one pass over the list's offsets and values, and over
//! JSON arrays row by row. A JSON value that is not an array is unknown.

use super::tri::Tri;
use super::vals::{JsonView, Vals, widen};
use crate::error::Result;
use crate::json::json_eq;
use crate::plan::{ColumnRef, Needles};
use arrow_array::{Array, ListArray};
use arrow_buffer::BooleanBuffer;
use quiver_format::schema::DataType;
use serde_json::Value;

pub(crate) fn contains(vals: &Vals, all: bool, needles: &Needles, unmatchable: bool, rows: usize) -> Result<Tri> {
    if let Vals::List { list, element, name } = vals {
        let column = ColumnRef { name: name.to_string(), data_type: DataType::Array, element: Some(*element) };
        let child = widen(list.values().as_ref(), &column, *element)?;
        let scan = ListScan { list, all, unmatchable };
        let typed = match (&child, needles) {
            (Vals::Int(c), Needles::Int(n)) => Some(scan.run(n, |j, x| c.is_valid(j) && c.value(j) == *x)),
            (Vals::Float(c), Needles::Float(n)) => Some(scan.run(n, |j, x| c.is_valid(j) && c.value(j) == *x)),
            (Vals::Str(c), Needles::Str(n)) => Some(scan.run(n, |j, x| c.is_valid(j) && c.value(j) == x.as_str())),
            (Vals::Bool(c), Needles::Bool(n)) => Some(scan.run(n, |j, x| c.is_valid(j) && c.value(j) == *x)),
            _ => None,
        };
        if let Some(tri) = typed {
            return Ok(tri);
        }
    }
    let needles = needles.to_json();
    let view = JsonView::new(vals);
    Ok(Tri::from_fn(rows, |i| {
        let value = view.get(i)?;
        let Value::Array(items) = value.as_ref() else { return None };
        let present = |needle: &Value| items.iter().any(|item| json_eq(item, needle));
        Some(if all { !unmatchable && needles.iter().all(present) } else { needles.iter().any(present) })
    }))
}

struct ListScan<'l> {
    list: &'l ListArray,
    all: bool,
    unmatchable: bool,
}

impl ListScan<'_> {
    /// For each row, whether its elements (child indexes in the row's offset range)
    /// contain all or any of `needles`, by `equal(child_index, needle)`.
    fn run<U>(&self, needles: &[U], equal: impl Fn(usize, &U) -> bool) -> Tri {
        let offsets = self.list.value_offsets();
        let bits = BooleanBuffer::collect_bool(self.list.len(), |i| {
            let range = offsets[i] as usize..offsets[i + 1] as usize;
            let present = |needle: &U| range.clone().any(|j| equal(j, needle));
            if self.all { !self.unmatchable && needles.iter().all(present) } else { needles.iter().any(present) }
        });
        Tri::from_bits(bits, self.list.nulls())
    }
}

impl Needles {
    fn to_json(&self) -> Vec<Value> {
        match self {
            Needles::Int(v) => v.iter().map(|x| Value::from(*x)).collect(),
            Needles::Float(v) => v.iter().map(|x| Value::from(*x)).collect(),
            Needles::Str(v) => v.iter().map(|x| Value::from(x.as_str())).collect(),
            Needles::Bool(v) => v.iter().map(|x| Value::Bool(*x)).collect(),
            Needles::Json(v) => v.clone(),
        }
    }
}
