//! Hybrid search (Milvus's HybridSearch): several searches of one collection, each over
//! its own vector field with its own queries, filter, parameters and limit, read at one
//! timestamp, then fused per query by a ranker into one ranked list.
//!
//! The rankers compute what Milvus's (`internal/util/function/rerank`) compute:
//! - RRF: `Σ 1 / (k + rank)` over the searches that found the row, rank counted from 1.
//! - Weighted: `Σ weight × f(score)`. With `norm_score`, `f` maps every metric onto
//!   `[0, 1]`, larger better: COSINE `(1 + s) / 2`, IP `1/2 + atan(s) / π`, BM25
//!   `2 atan(s) / π`, distances (L2, …) `1 − 2 atan(d) / π`. Without it `f` is the score
//!   itself, except that distances are mapped as above when the searches mix distances
//!   with similarities (so one direction ranks them all).
//!
//! Fused rows are ordered best first (ties by the lower primary key); only weighted
//! fusion of distances alone without `norm_score` ranks ascending. With group-by, each
//! row takes the group of the search that found it first, groups keep `group_size` rows
//! and rank by their best (or summed, or mean) fused score. A fused row's output fields
//! are those of the first search that returned it.

use super::search::{SearchOutput, SearchRequest, search};
use crate::catalog::model::Collection;
use crate::data::CollectionView;
use crate::error::{EngineError, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef};
use quiver_index::Metric;
use std::collections::HashMap;

/// How the searches' hits are fused.
#[derive(Clone, Debug, PartialEq)]
pub enum Ranker {
    /// Reciprocal rank fusion with smoothing `k` (Milvus's default 60).
    Rrf { k: f32 },
    /// One weight per search, in `[0, 1]`; `normalize` is Milvus's `norm_score`.
    Weighted { weights: Vec<f32>, normalize: bool },
}

/// How a group's fused score comes from its rows' (Milvus's `rank_group_scorer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupScorer {
    #[default]
    Max,
    Sum,
    Avg,
}

#[derive(Clone, Debug)]
pub struct HybridRequest {
    /// The searches, each with its own `limit`; their `output_fields`, `group_by`,
    /// `group_size` and `partitions` are set from this request.
    pub searches: Vec<SearchRequest>,
    pub ranker: Ranker,
    pub limit: usize,
    pub offset: usize,
    pub output_fields: Vec<String>,
    pub group_by: Option<String>,
    pub group_size: usize,
    /// Leave out groups with fewer than `group_size` rows.
    pub strict_group_size: bool,
    pub group_scorer: GroupScorer,
}

/// A primary key, ordered as Milvus breaks score ties.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Int(i64),
    Str(String),
}

fn key_at(pks: &ArrayRef, i: usize) -> Key {
    match pks.as_primitive_opt::<Int64Type>() {
        Some(ints) => Key::Int(ints.value(i)),
        None => Key::Str(pks.as_string::<i32>().value(i).to_string()),
    }
}

/// One fused row: its key, fused score, and where its columns come from (search, hit).
struct Fused {
    key: Key,
    score: f32,
    source: (usize, usize),
}

/// Weighted fusion's per-search score map (see the module doc).
fn weight_function(metric: Metric, normalize: bool, mixed: bool) -> fn(f32) -> f32 {
    let distance: fn(f32) -> f32 = |d| 1.0 - 2.0 * d.atan() / std::f32::consts::PI;
    match (normalize, metric) {
        (true, Metric::Cosine) => |s| (1.0 + s) * 0.5,
        (true, Metric::Ip) => |s| 0.5 + s.atan() / std::f32::consts::PI,
        (true, _) => distance,
        (false, m) if mixed && !m.higher_is_closer() => distance,
        (false, _) => |s| s,
    }
}

pub fn hybrid_search(collection: &Collection, view: &CollectionView, request: &HybridRequest, read_ts: u64) -> Result<SearchOutput> {
    let first = request.searches.first().ok_or_else(|| EngineError::InvalidParameter("hybrid search holds no search requests".into()))?;
    let nq = first.nq.max(1);
    if request.searches.iter().any(|s| s.nq.max(1) != nq) {
        return Err(EngineError::InvalidParameter("the nq of every search request of a hybrid search must be the same".into()));
    }
    if let Ranker::Weighted { weights, .. } = &request.ranker
        && weights.len() != request.searches.len()
    {
        return Err(EngineError::InvalidParameter(format!(
            "the length of weights param mismatch with ann search requests: invalid parameter[expected={}][actual={}]",
            request.searches.len(),
            weights.len()
        )));
    }
    let outputs: Vec<SearchOutput> = request
        .searches
        .iter()
        .map(|sub| {
            let sub = SearchRequest {
                offset: 0,
                output_fields: request.output_fields.clone(),
                group_by: request.group_by.clone(),
                group_size: request.group_size,
                ..sub.clone()
            };
            search(collection, view, &sub, read_ts)
        })
        .collect::<Result<_>>()?;
    let higher: Vec<bool> = outputs.iter().map(|o| o.metric.higher_is_closer()).collect();
    let mixed = higher.iter().any(|&h| h) && higher.iter().any(|&h| !h);
    let descending = match &request.ranker {
        Ranker::Rrf { .. } => true,
        Ranker::Weighted { normalize, .. } => *normalize || mixed || higher.iter().all(|&h| h),
    };
    // Where each query's hits start in each search's flat lists.
    let starts: Vec<Vec<usize>> = outputs
        .iter()
        .map(|o| {
            o.topks
                .iter()
                .scan(0, |at, &n| {
                    *at += n;
                    Some(*at - n)
                })
                .collect()
        })
        .collect();
    let mut topks = Vec::with_capacity(nq);
    let mut scores = Vec::new();
    let mut picks: Vec<(usize, usize)> = Vec::new();
    for q in 0..nq {
        let mut fused: Vec<Fused> = Vec::new();
        let mut position: HashMap<Key, usize> = HashMap::new();
        for (i, output) in outputs.iter().enumerate() {
            let map = match &request.ranker {
                Ranker::Weighted { weights, normalize } => Some((weights[i], weight_function(output.metric, *normalize, mixed))),
                Ranker::Rrf { .. } => None,
            };
            let start = starts[i].get(q).copied().unwrap_or(0);
            for rank in 0..output.topks.get(q).copied().unwrap_or(0) {
                let hit = start + rank;
                let part = match (&request.ranker, map) {
                    (Ranker::Rrf { k }, _) => 1.0 / (k + (rank + 1) as f32),
                    (_, Some((weight, f))) => weight * f(output.scores[hit]),
                    _ => unreachable!("weighted fusion has a score map"),
                };
                let key = key_at(&output.pks, hit);
                match position.get(&key) {
                    Some(&at) => fused[at].score += part,
                    None => {
                        position.insert(key.clone(), fused.len());
                        fused.push(Fused { key, score: part, source: (i, hit) });
                    }
                }
            }
        }
        let order = |a: &Fused, b: &Fused| {
            let by_score = if descending { b.score.total_cmp(&a.score) } else { a.score.total_cmp(&b.score) };
            by_score.then_with(|| a.key.cmp(&b.key))
        };
        fused.sort_by(order);
        let chosen: Vec<Fused> = match &request.group_by {
            None => fused.into_iter().skip(request.offset).take(request.limit).collect(),
            Some(_) => group(fused, &outputs, request)?,
        };
        topks.push(chosen.len());
        for row in chosen {
            scores.push(row.score);
            picks.push(row.source);
        }
    }
    let gather = |column: &dyn Fn(&SearchOutput) -> &ArrayRef| -> Result<ArrayRef> {
        let arrays: Vec<&dyn Array> = outputs.iter().map(|o| column(o).as_ref()).collect();
        if picks.is_empty() {
            return Ok(arrow_array::new_empty_array(arrays[0].data_type()));
        }
        Ok(arrow_select::interleave::interleave(&arrays, &picks)?)
    };
    let pks = gather(&|o| &o.pks)?;
    let mut columns = outputs[0].columns.clone();
    for (c, column) in columns.iter_mut().enumerate() {
        column.array = gather(&|o| &o.columns[c].array)?;
    }
    let group_by = match outputs[0].group_by.clone() {
        Some(mut column) => {
            column.array = gather(&|o| &o.group_by.as_ref().expect("every search groups").array)?;
            Some(column)
        }
        None => None,
    };
    Ok(SearchOutput {
        topks,
        scores,
        pks,
        columns,
        output_fields: outputs[0].output_fields.clone(),
        group_by,
        read_ts,
        metric: outputs[0].metric,
    })
}

/// Milvus's grouping of fused rows: rows (best first) fill their group up to
/// `group_size`; groups rank by their score, then by size, then by first key.
fn group(fused: Vec<Fused>, outputs: &[SearchOutput], request: &HybridRequest) -> Result<Vec<Fused>> {
    struct Group {
        rows: Vec<Fused>,
        best: f32,
        sum: f32,
    }
    let per_group = request.group_size.max(1);
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in fused {
        let (search, hit) = row.source;
        let values =
            &outputs[search].group_by.as_ref().ok_or_else(|| EngineError::Internal("a grouped search without groups".into()))?.array;
        let value = super::search::value_key(values, hit);
        let at = *index.entry(value).or_insert_with(|| {
            groups.push(Group { rows: Vec::new(), best: f32::NEG_INFINITY, sum: 0.0 });
            groups.len() - 1
        });
        let group = &mut groups[at];
        if group.rows.len() < per_group {
            group.best = group.best.max(row.score);
            group.sum += row.score;
            group.rows.push(row);
        }
    }
    let score = |g: &Group| match request.group_scorer {
        GroupScorer::Max => g.best,
        GroupScorer::Sum => g.sum,
        GroupScorer::Avg => g.sum / g.rows.len() as f32,
    };
    groups.sort_by(|a, b| {
        score(b).total_cmp(&score(a)).then_with(|| b.rows.len().cmp(&a.rows.len())).then_with(|| a.rows[0].key.cmp(&b.rows[0].key))
    });
    Ok(groups
        .into_iter()
        .take(request.offset + request.limit)
        .skip(request.offset)
        .filter(|g| !request.strict_group_size || g.rows.len() >= per_group)
        .flat_map(|g| g.rows)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_maps_follow_milvus() {
        let pi = std::f32::consts::PI;
        assert_eq!(weight_function(Metric::Cosine, true, false)(0.5), 0.75);
        assert_eq!(weight_function(Metric::Ip, true, false)(1.0), 0.5 + 1f32.atan() / pi);
        assert_eq!(weight_function(Metric::L2, true, false)(1.0), 1.0 - 2.0 * 1f32.atan() / pi);
        assert_eq!(weight_function(Metric::L2, false, false)(3.0), 3.0);
        assert_eq!(weight_function(Metric::L2, false, true)(1.0), 1.0 - 2.0 * 1f32.atan() / pi);
        assert_eq!(weight_function(Metric::Ip, false, true)(3.0), 3.0);
    }
}
