//! One row per primary key. Milvus does not deduplicate inserts, so several rows may hold
//! one key; reads return only the latest of them, as Milvus's result merge does: among
//! the rows a read selected, the one with the highest `$ts`, and of rows written by one
//! request (one `$ts`), the last written. `count(*)` is not deduplicated, in Milvus
//! either: it counts stored rows.
//!
//! Both functions cost nothing extra when no key repeats beyond what the read already
//! does (a sort of the query's keys; a pass over a search's candidates).

use crate::error::Result;
use arrow_array::{Array, ArrayRef};
use arrow_ord::ord::make_comparator;
use arrow_schema::SortOptions;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::Hash;

/// The positions of `keys` in key order with one position per key (the latest row by
/// `timestamp(position)`, later positions written later), the first `wanted` of them when
/// given. Timestamps are read only for repeated keys.
pub(crate) fn latest_in_key_order(keys: &ArrayRef, timestamp: impl Fn(u32) -> u64, wanted: Option<usize>) -> Result<Vec<u32>> {
    let compare = make_comparator(keys.as_ref(), keys.as_ref(), SortOptions::default())?;
    let same = |a: u32, b: u32| compare(a as usize, b as usize) == Ordering::Equal;
    // The first `wanted + 1` keys in order hold a repeat among the first `wanted` exactly
    // when two neighbours are equal; without one, the partial sort is the answer.
    let probe = arrow_ord::sort::sort_to_indices(keys, None, wanted.map(|w| w.saturating_add(1)))?;
    let probe = probe.values();
    if !probe.windows(2).any(|pair| same(pair[0], pair[1])) {
        return Ok(probe.iter().take(wanted.unwrap_or(usize::MAX)).copied().collect());
    }
    let order = arrow_ord::sort::sort_to_indices(keys, None, None)?;
    let later = |a: u32, b: u32| (timestamp(a), a) > (timestamp(b), b);
    let mut out: Vec<u32> = Vec::new();
    for &position in order.values() {
        match out.last().copied() {
            Some(kept) if same(kept, position) => {
                if later(position, kept) {
                    *out.last_mut().expect("kept is the last") = position;
                }
            }
            _ if wanted == Some(out.len()) => break,
            _ => out.push(position),
        }
    }
    Ok(out)
}

/// Which of `keys` to keep, in their order, so each key appears once: the latest of its
/// rows by `stamps` (`$ts`, then any tie-breaker the caller orders writes by).
fn keep_latest<K: Hash + Eq, S: Ord + Copy>(keys: &[K], stamps: &[S]) -> Vec<bool> {
    let mut latest: HashMap<&K, usize> = HashMap::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        latest
            .entry(key)
            .and_modify(|kept| {
                if stamps[i] > stamps[*kept] {
                    *kept = i
                }
            })
            .or_insert(i);
    }
    if latest.len() == keys.len() {
        return vec![true; keys.len()];
    }
    let mut keep = vec![false; keys.len()];
    latest.into_values().for_each(|i| keep[i] = true);
    keep
}

/// `keys` (an Int64 or Utf8 primary key column) as [`keep_latest`] takes them.
pub(crate) fn keep_latest_of(keys: &dyn Array, stamps: &[(u64, usize, u32)]) -> Vec<bool> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    match keys.as_primitive_opt::<Int64Type>() {
        Some(ints) => keep_latest(ints.values(), stamps),
        None => keep_latest(&keys.as_string::<i32>().iter().collect::<Vec<_>>(), stamps),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn distinct_keys_come_back_sorted_and_limited() {
        let keys: ArrayRef = Arc::new(Int64Array::from(vec![5, 1, 3, 2]));
        assert_eq!(latest_in_key_order(&keys, |_| 1, None).unwrap(), [1, 3, 2, 0]);
        assert_eq!(latest_in_key_order(&keys, |_| 1, Some(2)).unwrap(), [1, 3]);
    }

    #[test]
    fn a_repeated_key_keeps_its_latest_row() {
        // key 1 at positions 0 (ts 9), 2 (ts 5) and 4 (ts 9, written after position 0).
        let keys: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 1, 3, 1]));
        let ts = [9, 1, 5, 1, 9];
        assert_eq!(latest_in_key_order(&keys, |p| ts[p as usize], None).unwrap(), [4, 1, 3]);
        assert_eq!(latest_in_key_order(&keys, |p| ts[p as usize], Some(2)).unwrap(), [4, 1]);
        assert_eq!(latest_in_key_order(&keys, |p| ts[p as usize], Some(1)).unwrap(), [4], "the repeat lies just past the window");
    }

    #[test]
    fn string_keys_dedupe_too() {
        let keys: ArrayRef = Arc::new(StringArray::from(vec!["b", "a", "b"]));
        assert_eq!(latest_in_key_order(&keys, |p| [2, 1, 1][p as usize], None).unwrap(), [1, 0]);
    }

    #[test]
    fn search_candidates_keep_the_latest_row_of_each_key_in_place() {
        let keys = Int64Array::from(vec![7, 8, 7, 9]);
        let stamps = [(10, 0, 0), (10, 0, 1), (20, 1, 0), (10, 0, 2)];
        assert_eq!(keep_latest_of(&keys, &stamps), [false, true, true, true]);
        let distinct = StringArray::from(vec!["x", "y"]);
        assert_eq!(keep_latest_of(&distinct, &[(1, 0, 0), (1, 0, 1)]), [true, true]);
    }
}
