//! Where rows go: to a partition (the requested one, or by partition key) and to a shard
//! (by primary key). Hashes are stable across restarts and platforms.

use crate::catalog::model::{Collection, DEFAULT_PARTITION};
use crate::error::{EngineError, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_select::take::take_record_batch;
use quiver_base::PartitionId;
use std::collections::BTreeMap;

/// A stable 32-bit hash of row `i` of an Int64 or VarChar column.
fn hash_at(array: &ArrayRef, i: usize) -> u32 {
    if let Some(ints) = array.as_primitive_opt::<Int64Type>() {
        let mixed = (ints.value(i) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> 32) as u32
    } else {
        crc32c::crc32c(array.as_string::<i32>().value(i).as_bytes())
    }
}

/// Split `batch` into groups by `key(i)`, keeping row order inside each group.
fn split_by<K: Ord + Copy>(batch: RecordBatch, key: impl Fn(usize) -> K) -> Result<Vec<(K, RecordBatch)>> {
    let mut groups: BTreeMap<K, Vec<u32>> = BTreeMap::new();
    for i in 0..batch.num_rows() {
        groups.entry(key(i)).or_default().push(i as u32);
    }
    if groups.len() == 1 {
        let key = *groups.keys().next().expect("one group");
        return Ok(vec![(key, batch)]);
    }
    groups.into_iter().map(|(k, rows)| Ok((k, take_record_batch(&batch, &UInt32Array::from(rows))?))).collect()
}

/// The partitions the rows of `batch` belong to.
pub fn by_partition(
    collection: &Collection,
    requested: Option<PartitionId>,
    batch: RecordBatch,
) -> Result<Vec<(PartitionId, RecordBatch)>> {
    match collection.schema.partition_key_field() {
        Some(key_field) => {
            if requested.is_some() {
                return Err(EngineError::InvalidParameter(
                    "not support manually specifying the partition names if partition key mode is used".to_string(),
                ));
            }
            let keys = batch.column_by_name(&key_field.name).expect("partition key column").clone();
            let partitions: Vec<PartitionId> = collection.partitions.iter().map(|p| p.id).collect();
            let count = partitions.len() as u32;
            split_by(batch, |i| partitions[(hash_at(&keys, i) % count) as usize])
        }
        None => {
            let partition = match requested {
                Some(p) => p,
                None => collection.partition(DEFAULT_PARTITION).map(|p| p.id).ok_or_else(|| EngineError::PartitionNotFound {
                    collection: collection.name.clone(),
                    name: DEFAULT_PARTITION.to_string(),
                })?,
            };
            Ok(vec![(partition, batch)])
        }
    }
}

/// The shards the rows of `batch` belong to, by primary key.
pub fn by_shard(collection: &Collection, pk_name: &str, batch: RecordBatch) -> Result<Vec<(u32, RecordBatch)>> {
    let shards = collection.shards_num.max(1) as u32;
    if shards == 1 {
        return Ok(vec![(0, batch)]);
    }
    let pks = batch.column_by_name(pk_name).expect("pk column").clone();
    split_by(batch, |i| hash_at(&pks, i) % shards)
}
