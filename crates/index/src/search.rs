//! What every index shares at search time: parameters, hits, the bounded top-k
//! collector, range (radius) bounds, the exact scan kernel and the per-query thread split.
//!
//! Internally every score is turned into a *key* where smaller is closer: the score
//! itself for L2/HAMMING/JACCARD, its negation for IP/COSINE. Hits report the score in
//! Milvus's convention again.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::vectors::{Row, Rows};
use crate::{IndexError, Metric, metric};

/// Parameters of one search call.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchParams {
    /// Hits wanted per query (Milvus `limit`/`topk`); for a range search, the most returned.
    pub k: usize,
    /// HNSW candidate list size (Milvus `ef`). Default `max(k, 16)`; must be `>= k`.
    pub ef: Option<usize>,
    /// IVF lists probed (Milvus `nprobe`). Default 8, capped at `nlist`.
    pub nprobe: Option<usize>,
    /// Quantized indexes built with refine: candidates taken by their approximate score
    /// and re-scored exactly (Milvus `reorder_k`, or `refine_k` times the limit). Default
    /// four times `k`; never fewer than `k`.
    pub refine_candidates: Option<usize>,
    /// Range search: the outer bound. L2/HAMMING/JACCARD: `score < radius`;
    /// IP/COSINE: `score > radius`.
    pub radius: Option<f32>,
    /// Range search: the inner bound. L2/HAMMING/JACCARD: `range_filter <= score`;
    /// IP/COSINE: `score <= range_filter`.
    pub range_filter: Option<f32>,
    /// Sparse search: the fraction of each query's smallest values left out (Milvus
    /// `drop_ratio_search`, in `[0, 1)`).
    pub drop_ratio_search: Option<f32>,
    /// Threads this call may use (over queries, or over rows for brute force); 0 or 1 =
    /// the calling thread only.
    pub threads: usize,
}

impl SearchParams {
    /// Plain top-`k` search with defaults for everything else.
    pub fn top_k(k: usize) -> SearchParams {
        SearchParams {
            k,
            ef: None,
            nprobe: None,
            refine_candidates: None,
            radius: None,
            range_filter: None,
            drop_ratio_search: None,
            threads: 1,
        }
    }

    /// Whether this is a range search (a `radius` is given).
    pub fn is_range(&self) -> bool {
        self.radius.is_some()
    }
}

impl Default for SearchParams {
    fn default() -> SearchParams {
        SearchParams::top_k(10)
    }
}

/// One result: `row` is the vector's position in the indexed batch (the segment offset).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub row: u32,
    /// Milvus convention: L2 squared distance, HAMMING, JACCARD ascending (smaller is
    /// closer); IP and COSINE similarity descending.
    pub score: f32,
}

/// Turns a score into a key (smaller is closer) and back.
#[inline]
pub(crate) fn to_key(metric: Metric, score: f32) -> f32 {
    if metric.higher_is_closer() { -score } else { score }
}

/// Range-search bounds in key space: `lower <= key < upper`. Unbounded for plain search.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    lower: f32,
    upper: f32,
}

impl Bounds {
    pub(crate) fn new(metric: Metric, params: &SearchParams) -> Result<Bounds, IndexError> {
        let mut bounds = Bounds { lower: f32::NEG_INFINITY, upper: f32::INFINITY };
        if let Some(radius) = params.radius {
            if radius.is_nan() {
                return Err(IndexError::param("radius", "must be a number"));
            }
            bounds.upper = to_key(metric, radius);
        }
        if let Some(filter) = params.range_filter {
            if filter.is_nan() {
                return Err(IndexError::param("range_filter", "must be a number"));
            }
            bounds.lower = to_key(metric, filter);
        }
        if let (Some(radius), Some(filter)) = (params.radius, params.range_filter)
            && bounds.lower >= bounds.upper
        {
            let want = if metric.higher_is_closer() { "greater" } else { "less" };
            return Err(IndexError::param(
                "range_filter",
                format!("range_filter ({filter}) must be {want} than radius ({radius}) for {metric:?}"),
            ));
        }
        Ok(bounds)
    }

    #[inline]
    pub(crate) fn accepts(&self, key: f32) -> bool {
        key < self.upper && key >= self.lower
    }

    /// Whether `key` lies past the radius (so everything farther does too).
    #[inline]
    pub(crate) fn beyond(&self, key: f32) -> bool {
        key >= self.upper
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: f32,
    row: u32,
}

impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> Ordering {
        self.key.total_cmp(&other.key).then(self.row.cmp(&other.row))
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}

/// The `k` smallest keys seen; ties go to the lower row, so results are deterministic.
#[derive(Debug)]
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
    /// Key of the worst kept entry once full; +inf before.
    cutoff: f32,
}

impl TopK {
    pub(crate) fn new(k: usize) -> TopK {
        TopK { k, heap: BinaryHeap::with_capacity(k.min(4096) + 1), cutoff: f32::INFINITY }
    }

    #[inline]
    pub(crate) fn push(&mut self, row: u32, key: f32) {
        if key > self.cutoff || self.k == 0 || key.is_nan() {
            return;
        }
        let entry = Entry { key, row };
        if self.heap.len() < self.k {
            self.heap.push(entry);
        } else if entry < *self.heap.peek().expect("full heap") {
            self.heap.pop();
            self.heap.push(entry);
        } else {
            return;
        }
        if self.heap.len() == self.k {
            self.cutoff = self.heap.peek().expect("full heap").key;
        }
    }

    pub(crate) fn merge(&mut self, other: TopK) {
        for e in other.heap {
            self.push(e.row, e.key);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Best first, scores in Milvus convention.
    pub(crate) fn into_hits(self, metric: Metric) -> Vec<Hit> {
        self.heap.into_sorted_vec().into_iter().map(|e| Hit { row: e.row, score: to_key(metric, e.key) }).collect()
    }
}

/// The key of `row` for `query` (smaller is closer; see the module doc).
#[inline(always)]
pub(crate) fn key(metric: Metric, query: Row, row: Row) -> f32 {
    match (query, row) {
        (Row::Float(q), Row::Float(r)) => match metric {
            Metric::L2 => metric::squared_l2(q, r),
            Metric::Ip => -metric::dot(q, r),
            // Both sides are normalised; clamp the rounding error past +-1.
            Metric::Cosine => -metric::dot(q, r).clamp(-1.0, 1.0),
            Metric::Hamming | Metric::Jaccard => unreachable!("binary metric on float rows"),
        },
        (Row::Binary(q), Row::Binary(r)) => match metric {
            Metric::Hamming => metric::hamming(q, r),
            Metric::Jaccard => metric::jaccard(q, r),
            _ => unreachable!("float metric on binary rows"),
        },
        _ => unreachable!("query and rows of different vector types"),
    }
}

/// Scores `query` against every row of `block` that `allow` lets through and whose score
/// is within `bounds`, into `top`. Block row `i` is indexed row `ids[i]` when `ids` is
/// given, else `first_row + i`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn scan(
    metric: Metric,
    query: Row,
    block: &Rows,
    ids: Option<&[u32]>,
    first_row: usize,
    allow: Option<&[bool]>,
    bounds: &Bounds,
    top: &mut TopK,
) {
    let row_of = |i: usize| match ids {
        Some(ids) => ids[i],
        None => (first_row + i) as u32,
    };
    match block {
        Rows::Float { dim, data } => scan_rows(data, *dim, |r| key(metric, query, Row::Float(r)), row_of, allow, bounds, top),
        Rows::Binary { bytes, data } => scan_rows(data, *bytes, |r| key(metric, query, Row::Binary(r)), row_of, allow, bounds, top),
    }
}

#[inline(always)]
fn scan_rows<T>(
    data: &[T],
    width: usize,
    key_of: impl Fn(&[T]) -> f32,
    row_of: impl Fn(usize) -> u32,
    allow: Option<&[bool]>,
    bounds: &Bounds,
    top: &mut TopK,
) {
    for (i, r) in data.chunks_exact(width).enumerate() {
        let row = row_of(i);
        if allow.is_some_and(|allow| !allow[row as usize]) {
            continue;
        }
        let key = key_of(r);
        if bounds.accepts(key) {
            top.push(row, key);
        }
    }
}

/// Below this many scalar operations (rows × queries × width) brute force stays on the
/// calling thread: spawning costs more than it saves.
const PARALLEL_MIN_WORK: usize = 1 << 20;
/// Base rows scanned per tile by [`exact`]: about half of a typical L2 cache.
const TILE_BYTES: usize = 128 << 10;

/// Exact search of every query over `base` (rows numbered by `ids` or from 0), split over
/// up to `threads` threads by base rows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn exact(
    metric: Metric,
    base: &Rows,
    ids: Option<&[u32]>,
    queries: &Rows,
    k: usize,
    bounds: &Bounds,
    allow: Option<&[bool]>,
    threads: usize,
) -> Vec<Vec<Hit>> {
    let (n, nq) = (base.len(), queries.len());
    // Rows are visited in cache-sized tiles, every query per tile, so a batch of queries
    // streams the base from memory once instead of once per query.
    let tile_rows = (TILE_BYTES / (base.width() * 4).max(1)).max(1);
    let scan_part = |range: std::ops::Range<usize>| -> Vec<TopK> {
        let mut tops: Vec<TopK> = (0..nq).map(|_| TopK::new(k)).collect();
        let mut start = range.start;
        while start < range.end {
            let tile = start..(start + tile_rows).min(range.end);
            let block = base.slice(tile.clone());
            let tile_ids = ids.map(|ids| &ids[tile.clone()]);
            for (q, top) in tops.iter_mut().enumerate() {
                scan(metric, queries.row(q), &block, tile_ids, tile.start, allow, bounds, top);
            }
            start = tile.end;
        }
        tops
    };
    let threads = threads.max(1).min(n.max(1));
    let tops = if threads > 1 && n.saturating_mul(nq).saturating_mul(base.width()) >= PARALLEL_MIN_WORK {
        let chunk = n.div_ceil(threads);
        let parts: Vec<Vec<TopK>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let range = (t * chunk).min(n)..((t + 1) * chunk).min(n);
                    let scan_part = &scan_part;
                    s.spawn(move || scan_part(range))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("brute-force worker panicked")).collect()
        });
        let mut parts = parts.into_iter();
        let mut merged = parts.next().expect("at least one part");
        for part in parts {
            for (into, from) in merged.iter_mut().zip(part) {
                into.merge(from);
            }
        }
        merged
    } else {
        scan_part(0..n)
    };
    tops.into_iter().map(|t| t.into_hits(metric)).collect()
}

/// Runs `f` for every index in `0..n` (queries, segments), split into contiguous chunks
/// over up to `threads` scoped threads; results in index order, the first error wins.
pub fn parallel_map<T, E, F>(n: usize, threads: usize, f: F) -> Result<Vec<T>, E>
where
    T: Send,
    E: Send,
    F: Fn(usize) -> Result<T, E> + Sync,
{
    let threads = threads.max(1).min(n.max(1));
    if threads == 1 {
        return (0..n).map(f).collect();
    }
    let chunk = n.div_ceil(threads);
    let f = &f;
    let parts: Vec<Result<Vec<T>, E>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * chunk).min(n)..((t + 1) * chunk).min(n);
                s.spawn(move || range.map(f).collect::<Result<Vec<T>, E>>())
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("parallel worker panicked")).collect()
    });
    let mut out = Vec::with_capacity(n);
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// Checks that an allow bitmap has one entry per row and counts the allowed rows.
pub(crate) fn check_allow(allow: Option<&[bool]>, rows: usize) -> Result<Option<usize>, IndexError> {
    match allow {
        None => Ok(None),
        Some(a) if a.len() != rows => Err(IndexError::AllowLength { expected: rows, got: a.len() }),
        Some(a) => Ok(Some(a.iter().filter(|&&x| x).count())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_smallest_keys_with_ties_to_the_lower_row() {
        let mut top = TopK::new(3);
        for (row, key) in [(5, 2.0), (1, 9.0), (2, 1.0), (7, 2.0), (3, 2.0), (4, f32::NAN), (0, 0.5)] {
            top.push(row, key);
        }
        let hits = top.into_hits(Metric::L2);
        let rows: Vec<u32> = hits.iter().map(|h| h.row).collect();
        assert_eq!(rows, vec![0, 2, 3]);
        assert_eq!(hits[0].score, 0.5);
    }

    #[test]
    fn similarity_metrics_report_descending_scores() {
        let mut top = TopK::new(2);
        for (row, score) in [(0, 0.1f32), (1, 0.9), (2, 0.5)] {
            top.push(row, to_key(Metric::Ip, score));
        }
        let hits = top.into_hits(Metric::Ip);
        assert_eq!(hits, vec![Hit { row: 1, score: 0.9 }, Hit { row: 2, score: 0.5 }]);
    }

    #[test]
    fn bounds_follow_milvus_range_semantics() {
        let p = |radius, range_filter| SearchParams { radius, range_filter, ..SearchParams::top_k(5) };
        let l2 = Bounds::new(Metric::L2, &p(Some(4.0), Some(1.0))).unwrap();
        assert!(l2.accepts(1.0) && l2.accepts(3.9) && !l2.accepts(4.0) && !l2.accepts(0.9));
        assert!(l2.beyond(4.0) && !l2.beyond(0.0));
        let ip = Bounds::new(Metric::Ip, &p(Some(0.2), Some(0.8))).unwrap();
        let k = |s| to_key(Metric::Ip, s);
        assert!(ip.accepts(k(0.8)) && ip.accepts(k(0.21)) && !ip.accepts(k(0.2)) && !ip.accepts(k(0.81)));
        assert!(Bounds::new(Metric::L2, &p(Some(1.0), Some(2.0))).is_err());
        assert!(Bounds::new(Metric::Cosine, &p(Some(0.8), Some(0.2))).is_err());
        let open = Bounds::new(Metric::L2, &SearchParams::top_k(1)).unwrap();
        assert!(open.accepts(f32::MAX) && !open.accepts(f32::NAN));
    }

    #[test]
    fn parallel_map_keeps_order_and_propagates_errors() {
        let out: Vec<usize> = parallel_map(10, 3, |q| Ok::<_, IndexError>(q * 2)).unwrap();
        assert_eq!(out, (0..10).map(|q| q * 2).collect::<Vec<_>>());
        let err = parallel_map(10, 2, |q| if q == 7 { Err(IndexError::param("x", "y")) } else { Ok(q) });
        assert!(err.is_err());
    }
}
