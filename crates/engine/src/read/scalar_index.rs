//! Scalar indexes (INVERTED, STL_SORT, AUTOINDEX on scalar fields and on JSON paths):
//! for one loaded sealed segment, the rows of every value of an integer, string or bool
//! field, or of the values at one path of a JSON field or `$meta` that are of the
//! index's cast type (for array casts: the rows of every element of the arrays there).
//! A filter that is one test on an indexed target (`x == v`, `x in [...]`, ranges, `!=`,
//! `json_contains*`) is answered from the index instead of scanning the column.
//!
//! Built in memory when a segment is loaded, from the column load has just read, and
//! freed on release. Nothing about them is durable: they are a function of a sealed
//! (immutable) segment and an index definition, so there is no build record, file, GC
//! reference, snapshot entry or restore step to keep consistent, and a restored or
//! restarted collection gets them back by loading.
//!
//! Invariant that makes results independent of the index: an index answers a test only
//! when it holds every row the test could select (`JsonCast::answers`), and it reads
//! JSON values through the same parser and path lookup as evaluation
//! (`quiver_expr::json_path_values`). Other tests are evaluated.

use crate::catalog::json_index::JsonCast;
use crate::data::Segment;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType as ArrowType;
use quiver_expr::{Bound, NumKey, PathStep, TermMatch, TermTarget, TermValue};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::Bound as RangeBound;

/// What a scalar index covers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScalarTarget {
    /// A scalar field, by name.
    Field(String),
    /// A path in a JSON column (a JSON field or `$meta`) and the type it holds.
    JsonPath { column: String, path: Vec<PathStep>, cast: JsonCast },
}

impl ScalarTarget {
    /// Whether an index on this target selects exactly the rows the term does.
    pub fn answers(&self, target: &TermTarget, matches: &TermMatch) -> bool {
        match (self, target) {
            (ScalarTarget::Field(a), TermTarget::Field(b)) => a == b && !matches!(matches, TermMatch::Contains { .. }),
            (ScalarTarget::JsonPath { column, path, cast }, TermTarget::Json { column: c, path: p }) => {
                column == c && path == p && cast.answers(matches)
            }
            _ => false,
        }
    }
}

#[derive(Debug, Default)]
pub struct ScalarIndex {
    /// Value (for array casts: element) → rows (segment positions) holding it, each row
    /// once. Nulls are not indexed.
    rows: BTreeMap<TermValue, Vec<u32>>,
    /// JSON paths only: the rows with a value there, including values `rows` does not
    /// key (other types than the cast; for array casts, every array). A field's rows
    /// with a value are exactly those `rows` keys.
    present: Option<Vec<u32>>,
}

fn value_at(array: &ArrayRef, i: usize) -> Option<TermValue> {
    if array.is_null(i) {
        return None;
    }
    let int = |v: i64| TermValue::Num(NumKey::from(v));
    Some(match array.data_type() {
        ArrowType::Int8 => int(array.as_primitive::<Int8Type>().value(i) as i64),
        ArrowType::Int16 => int(array.as_primitive::<Int16Type>().value(i) as i64),
        ArrowType::Int32 => int(array.as_primitive::<Int32Type>().value(i) as i64),
        ArrowType::Int64 => int(array.as_primitive::<Int64Type>().value(i)),
        ArrowType::Boolean => TermValue::Bool(array.as_boolean().value(i)),
        ArrowType::Utf8 => TermValue::Str(array.as_string::<i32>().value(i).to_string()),
        _ => return None,
    })
}

impl ScalarIndex {
    /// Index `target` of a loaded segment; `None` for a type the index does not serve.
    pub fn build(segment: &Segment, target: &ScalarTarget) -> Option<ScalarIndex> {
        match target {
            ScalarTarget::Field(field) => ScalarIndex::build_field(segment, field),
            ScalarTarget::JsonPath { column, path, cast } => {
                ScalarIndex::build_json(segment, column, &[(path.clone(), *cast)]).and_then(|mut built| built.pop())
            }
        }
    }

    fn build_field(segment: &Segment, field: &str) -> Option<ScalarIndex> {
        let mut index = ScalarIndex::default();
        let mut base = 0u32;
        for batch in &segment.batches {
            let column = batch.column_by_name(field)?;
            if !matches!(
                column.data_type(),
                ArrowType::Int8 | ArrowType::Int16 | ArrowType::Int32 | ArrowType::Int64 | ArrowType::Boolean | ArrowType::Utf8
            ) {
                return None;
            }
            for i in 0..column.len() {
                if let Some(value) = value_at(column, i) {
                    index.rows.entry(value).or_default().push(base + i as u32);
                }
            }
            base += batch.num_rows() as u32;
        }
        Some(index)
    }

    /// Index several paths of one JSON column at once (each row is parsed once), one
    /// index per `(path, cast)`; `None` if the column is missing or holds a row that is
    /// not JSON (a filter on it fails the same way, so it is left to evaluation).
    pub fn build_json(segment: &Segment, column: &str, targets: &[(Vec<PathStep>, JsonCast)]) -> Option<Vec<ScalarIndex>> {
        let mut indexes: Vec<ScalarIndex> =
            targets.iter().map(|_| ScalarIndex { present: Some(Vec::new()), ..Default::default() }).collect();
        let paths: Vec<Vec<PathStep>> = targets.iter().map(|(path, _)| path.clone()).collect();
        let mut base = 0u32;
        for batch in &segment.batches {
            let cells = batch.column_by_name(column)?.as_string_opt::<i32>()?;
            quiver_expr::json_path_values(column, cells, &paths, |row, at, value| {
                indexes[at].add_json(targets[at].1, base + row as u32, value);
            })
            .ok()?;
            base += batch.num_rows() as u32;
        }
        Some(indexes)
    }

    fn add_json(&mut self, cast: JsonCast, row: u32, value: &Value) {
        let mut add = |v: &Value| {
            if let Some(key) = TermValue::of_json(v).filter(|k| cast.holds(k)) {
                let rows = self.rows.entry(key).or_default();
                // An array holding an element twice lists its row once.
                if rows.last() != Some(&row) {
                    rows.push(row);
                }
            }
        };
        match (cast.is_array(), value) {
            (true, Value::Array(items)) => items.iter().for_each(&mut add),
            (true, _) => return,
            (false, v) => add(v),
        }
        self.present.get_or_insert_default().push(row);
    }

    /// Which of the segment's `total` rows the term selects. The caller has checked
    /// that the index answers it ([`ScalarTarget::answers`]).
    pub fn select(&self, matches: &TermMatch, total: usize) -> Vec<bool> {
        let mut mask = vec![false; total];
        let mark = |mask: &mut Vec<bool>, rows: &[u32], on: bool| rows.iter().for_each(|&r| mask[r as usize] = on);
        match matches {
            TermMatch::AnyOf(values) | TermMatch::Contains { all: false, values } => {
                values.iter().filter_map(|v| self.rows.get(v)).for_each(|rows| mark(&mut mask, rows, true))
            }
            TermMatch::NoneOf(values) => {
                match &self.present {
                    Some(present) => mark(&mut mask, present, true),
                    None => self.rows.values().for_each(|rows| mark(&mut mask, rows, true)),
                }
                values.iter().filter_map(|v| self.rows.get(v)).for_each(|rows| mark(&mut mask, rows, false));
            }
            TermMatch::Contains { all: true, values } => {
                // Every array holds all of no elements.
                mark(&mut mask, self.present.as_deref().unwrap_or_default(), true);
                for value in values {
                    let mut holding = vec![false; total];
                    mark(&mut holding, self.rows.get(value).map_or(&[], Vec::as_slice), true);
                    mask.iter_mut().zip(holding).for_each(|(m, h)| *m &= h);
                }
            }
            TermMatch::Range { lower, upper } => {
                let convert = |b: &Option<Bound>| match b {
                    None => RangeBound::Unbounded,
                    Some(Bound { value, inclusive: true }) => RangeBound::Included(value.clone()),
                    Some(Bound { value, inclusive: false }) => RangeBound::Excluded(value.clone()),
                };
                let (lo, hi) = (convert(lower), convert(upper));
                let empty = match (&lo, &hi) {
                    (RangeBound::Included(a) | RangeBound::Excluded(a), RangeBound::Included(b) | RangeBound::Excluded(b)) => {
                        a > b || (a == b && !(matches!(lo, RangeBound::Included(_)) && matches!(hi, RangeBound::Included(_))))
                    }
                    _ => false,
                };
                if !empty {
                    // A bound of another type than the values selects nothing of them.
                    self.rows
                        .range((lo, hi))
                        .filter(|(v, _)| {
                            lower.iter().chain(upper.iter()).all(|b| std::mem::discriminant(&b.value) == std::mem::discriminant(*v))
                        })
                        .for_each(|(_, rows)| mark(&mut mask, rows, true));
                }
            }
        }
        mask
    }
}

#[cfg(test)]
mod tests;
