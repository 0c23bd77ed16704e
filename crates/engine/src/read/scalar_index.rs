//! Scalar indexes (INVERTED, STL_SORT, AUTOINDEX on scalar fields): for one loaded sealed
//! segment, the rows of every value of an integer, string or bool field, ordered by
//! value. A filter that is one test on an indexed field (`f == v`, `f in [...]`, ranges,
//! `!=`) is answered from the index instead of scanning the column. Built in memory
//! when a segment is loaded (cheap next to reading it); freed on release.

use crate::data::Segment;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType as ArrowType;
use quiver_expr::{Bound, TermMatch, TermValue};
use std::collections::BTreeMap;
use std::ops::Bound as RangeBound;

#[derive(Debug, Default)]
pub struct ScalarIndex {
    /// Value → rows (segment positions) holding it. Nulls are not indexed.
    rows: BTreeMap<TermValue, Vec<u32>>,
    /// Rows with a non-null value.
    non_null: usize,
}

fn value_at(array: &ArrayRef, i: usize) -> Option<TermValue> {
    if array.is_null(i) {
        return None;
    }
    Some(match array.data_type() {
        ArrowType::Int8 => TermValue::Int(array.as_primitive::<Int8Type>().value(i) as i64),
        ArrowType::Int16 => TermValue::Int(array.as_primitive::<Int16Type>().value(i) as i64),
        ArrowType::Int32 => TermValue::Int(array.as_primitive::<Int32Type>().value(i) as i64),
        ArrowType::Int64 => TermValue::Int(array.as_primitive::<Int64Type>().value(i)),
        ArrowType::Boolean => TermValue::Bool(array.as_boolean().value(i)),
        ArrowType::Utf8 => TermValue::Str(array.as_string::<i32>().value(i).to_string()),
        _ => return None,
    })
}

impl ScalarIndex {
    /// Index `field` of a loaded segment; `None` for a type the index does not serve.
    pub fn build(segment: &Segment, field: &str) -> Option<ScalarIndex> {
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
                    index.non_null += 1;
                }
            }
            base += batch.num_rows() as u32;
        }
        Some(index)
    }

    /// Which of the segment's `total` rows the term selects.
    pub fn select(&self, matches: &TermMatch, total: usize) -> Vec<bool> {
        let mut mask = vec![false; total];
        let mut mark = |rows: &Vec<u32>, on: bool| rows.iter().for_each(|&r| mask[r as usize] = on);
        match matches {
            TermMatch::AnyOf(values) => values.iter().filter_map(|v| self.rows.get(v)).for_each(|rows| mark(rows, true)),
            TermMatch::NoneOf(values) => {
                self.rows.values().for_each(|rows| mark(rows, true));
                values.iter().filter_map(|v| self.rows.get(v)).for_each(|rows| mark(rows, false));
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
                        .for_each(|(_, rows)| mark(rows, true));
                }
            }
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, RecordBatch, StringArray};
    use arrow_schema::{Field, Schema};
    use quiver_base::{PartitionId, SegmentId};
    use std::sync::Arc;

    fn segment() -> Segment {
        let schema = Arc::new(Schema::new(vec![Field::new("n", ArrowType::Int64, true), Field::new("s", ArrowType::Utf8, false)]));
        let batch = |n: Vec<Option<i64>>, s: Vec<&str>| {
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(n)), Arc::new(StringArray::from(s))]).unwrap()
        };
        let mut segment = Segment::growing(SegmentId(1), PartitionId(1), 0);
        segment.batches = vec![batch(vec![Some(3), None, Some(1)], vec!["a", "b", "c"]), batch(vec![Some(3), Some(7)], vec!["b", "z"])];
        segment
    }

    #[test]
    fn answers_equality_sets_ranges_and_negation_without_nulls() {
        let segment = segment();
        let n = ScalarIndex::build(&segment, "n").unwrap();
        assert_eq!(n.select(&TermMatch::AnyOf(vec![TermValue::Int(3)]), 5), [true, false, false, true, false]);
        assert_eq!(n.select(&TermMatch::NoneOf(vec![TermValue::Int(3)]), 5), [false, false, true, false, true]);
        let range = TermMatch::Range {
            lower: Some(Bound { value: TermValue::Int(1), inclusive: false }),
            upper: Some(Bound { value: TermValue::Int(7), inclusive: true }),
        };
        assert_eq!(n.select(&range, 5), [true, false, false, true, true]);
        let s = ScalarIndex::build(&segment, "s").unwrap();
        let prefix = TermMatch::Range { lower: Some(Bound { value: TermValue::Str("b".into()), inclusive: true }), upper: None };
        assert_eq!(s.select(&prefix, 5), [false, true, true, true, true]);
        let empty = TermMatch::Range {
            lower: Some(Bound { value: TermValue::Int(5), inclusive: true }),
            upper: Some(Bound { value: TermValue::Int(5), inclusive: false }),
        };
        assert_eq!(n.select(&empty, 5), [false; 5]);
    }
}
