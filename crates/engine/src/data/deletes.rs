//! Deletes and row visibility.
//!
//! A delete is `(pk, ts)`, optionally limited to one partition. A row inserted at `t` is
//! visible at read time `T` if `t <= T` and no delete of its pk (in scope of its
//! partition) has `t < ts <= T`. Upsert is a delete and an insert at one timestamp, so
//! the new row (same `t` as the delete) stays visible and the old one does not.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt64Type};
use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_buffer::BooleanBuffer;
use imbl::HashMap;
use quiver_base::PartitionId;
use quiver_format::columns::TS_COLUMN;
use quiver_format::logs::PkColumn;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delete {
    pub ts: u64,
    /// `None`: the delete applies in every partition.
    pub partition: Option<PartitionId>,
}

impl Delete {
    fn hides(&self, row_ts: u64, row_partition: PartitionId, read_ts: u64) -> bool {
        row_ts < self.ts && self.ts <= read_ts && self.partition.is_none_or(|p| p == row_partition)
    }
}

/// Every delete of one collection, by primary key. Cloning it is O(1) (persistent maps
/// share structure), so a read takes a snapshot while writers go on adding.
#[derive(Clone, Debug, Default)]
pub struct DeleteIndex {
    ints: HashMap<i64, Vec<Delete>>,
    strs: HashMap<String, Vec<Delete>>,
}

impl DeleteIndex {
    pub fn add(&mut self, pks: &PkColumn, delete: Delete) {
        match pks {
            PkColumn::Int(values) => values.iter().for_each(|pk| self.ints.entry(*pk).or_default().push(delete)),
            PkColumn::Str(values) => values.iter().for_each(|pk| self.strs.entry(pk.clone()).or_default().push(delete)),
        }
    }

    pub fn add_timestamped(&mut self, pks: &PkColumn, timestamps: &[u64], partition: Option<PartitionId>) {
        match pks {
            PkColumn::Int(values) => {
                for (pk, ts) in values.iter().zip(timestamps) {
                    self.ints.entry(*pk).or_default().push(Delete { ts: *ts, partition });
                }
            }
            PkColumn::Str(values) => {
                for (pk, ts) in values.iter().zip(timestamps) {
                    self.strs.entry(pk.clone()).or_default().push(Delete { ts: *ts, partition });
                }
            }
        }
    }

    /// Add every delete of `other`.
    pub fn merge(&mut self, other: DeleteIndex) {
        for (pk, deletes) in other.ints {
            self.ints.entry(pk).or_default().extend(deletes);
        }
        for (pk, deletes) in other.strs {
            self.strs.entry(pk).or_default().extend(deletes);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ints.is_empty() && self.strs.is_empty()
    }

    /// Which rows of `batch` (a segment's rows, pk column `pk_name`) are visible at `read_ts`.
    pub fn visible(&self, batch: &RecordBatch, pk_name: &str, partition: PartitionId, read_ts: u64) -> BooleanArray {
        let ts = batch.column_by_name(TS_COLUMN).expect("stored batches have $ts").as_primitive::<UInt64Type>();
        let pks = batch.column_by_name(pk_name).expect("stored batches have the pk");
        let n = batch.num_rows();
        if self.is_empty() {
            return BooleanArray::new(BooleanBuffer::collect_bool(n, |i| ts.value(i) <= read_ts), None);
        }
        let hidden =
            |i: usize, deletes: Option<&Vec<Delete>>| deletes.is_some_and(|ds| ds.iter().any(|d| d.hides(ts.value(i), partition, read_ts)));
        let bits = match pk_array(pks) {
            Pks::Int(values) => BooleanBuffer::collect_bool(n, |i| ts.value(i) <= read_ts && !hidden(i, self.ints.get(&values[i]))),
            Pks::Str(values) => BooleanBuffer::collect_bool(n, |i| ts.value(i) <= read_ts && !hidden(i, self.strs.get(values.value(i)))),
        };
        BooleanArray::new(bits, None)
    }
}

enum Pks<'a> {
    Int(&'a [i64]),
    Str(&'a arrow_array::StringArray),
}

fn pk_array(array: &ArrayRef) -> Pks<'_> {
    if let Some(ints) = array.as_primitive_opt::<Int64Type>() { Pks::Int(ints.values()) } else { Pks::Str(array.as_string::<i32>()) }
}

/// The pk column of a batch as an owned [`PkColumn`].
pub fn pk_column(array: &ArrayRef) -> PkColumn {
    match pk_array(array) {
        Pks::Int(values) => PkColumn::Int(values.to_vec()),
        Pks::Str(values) => PkColumn::Str(values.iter().map(|s| s.unwrap_or_default().to_string()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, UInt64Array};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(pks: Vec<i64>, ts: Vec<u64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("pk", DataType::Int64, false), Field::new(TS_COLUMN, DataType::UInt64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(pks)), Arc::new(UInt64Array::from(ts))]).unwrap()
    }

    fn bits(mask: BooleanArray) -> Vec<bool> {
        mask.iter().map(|b| b.unwrap()).collect()
    }

    #[test]
    fn deletes_hide_older_rows_only_from_their_time_on() {
        let rows = batch(vec![1, 2, 1], vec![10, 10, 30]);
        let mut index = DeleteIndex::default();
        index.add(&PkColumn::Int(vec![1]), Delete { ts: 20, partition: None });
        let p = PartitionId(7);
        assert_eq!(bits(index.visible(&rows, "pk", p, 15)), [true, true, false]);
        assert_eq!(bits(index.visible(&rows, "pk", p, 25)), [false, true, false]);
        assert_eq!(bits(index.visible(&rows, "pk", p, 35)), [false, true, true]);
    }

    #[test]
    fn upsert_keeps_the_new_row() {
        let rows = batch(vec![5, 5], vec![10, 20]);
        let mut index = DeleteIndex::default();
        index.add(&PkColumn::Int(vec![5]), Delete { ts: 20, partition: None });
        assert_eq!(bits(index.visible(&rows, "pk", PartitionId(1), 100)), [false, true]);
    }

    #[test]
    fn partition_scoped_deletes_leave_other_partitions_alone() {
        let rows = batch(vec![1], vec![10]);
        let mut index = DeleteIndex::default();
        index.add(&PkColumn::Int(vec![1]), Delete { ts: 20, partition: Some(PartitionId(2)) });
        assert_eq!(bits(index.visible(&rows, "pk", PartitionId(1), 100)), [true]);
        assert_eq!(bits(index.visible(&rows, "pk", PartitionId(2), 100)), [false]);
    }
}
