//! HNSW over the `usearch` library (float vectors: L2, IP, COSINE; binary: HAMMING,
//! JACCARD). Keys are row numbers.
//!
//! - COSINE is IP over vectors normalised at build and queries normalised at search.
//! - IP (unnormalised) is not a metric, and an HNSW graph built on it strands rows that
//!   are never anyone's best inner product (measured: 7% of 2,000 clustered rows
//!   unreachable, range-search recall 0.83). So IP uses the standard reduction of maximum
//!   inner product to nearest neighbour: rows get one extra coordinate
//!   `sqrt(M^2 - |x|^2)` (M the largest row norm), queries a 0, and the graph is built
//!   under L2, where `|q' - x'|^2 = |q|^2 + M^2 - 2 q.x` orders rows exactly by inner
//!   product. The returned candidates are rescored exactly.
//! - `ef` is passed per call as the requested count (usearch searches with
//!   `max(expansion_search, count)` candidates and the index's own `expansion_search` is
//!   kept at 1), then the best `k` are kept: the same as a search with `ef` candidates,
//!   without a shared setting that concurrent searches would race on.
//! - usearch serves at most as many concurrent searches as it reserved thread contexts;
//!   [`Slots`] makes extra callers wait instead of failing.
//! - Filtered search: when few rows are allowed, graph search is slow (most visited nodes
//!   are rejected) and loses recall, so below [`brute_force_limit`] the allowed rows are
//!   fetched from the index and searched exactly, as Milvus's planner does. Above it,
//!   usearch's predicate search; if that finds fewer than `k` hits while more rows are
//!   allowed, the query is redone exactly.
//! - Range search asks for more and more candidates until enough fall within range, the
//!   last one lies beyond the radius, or the graph is exhausted.

use std::sync::{Condvar, Mutex};

use usearch::{IndexOptions, MetricKind, ScalarKind, b1x8};

use crate::codec::{self, Header, Reader};
use crate::search::{self, Bounds, Hit, SearchParams, TopK};
use crate::vectors::{self, Row, Rows, Vectors};
use crate::{IndexError, IndexKind, Metric, VectorIndex};

/// Concurrent searches one index serves at once (usearch thread contexts reserved).
const SEARCH_SLOTS: usize = 64;
/// Default `ef` floor (Milvus's default is `max(k, 16)`).
pub const MIN_DEFAULT_EF: usize = 16;

/// Allowed-row count at or below which a filtered search is exact over the allowed rows.
///
/// A predicate graph search costs about `ef * M / selectivity` distance evaluations (it
/// walks through rejected nodes to reach allowed ones); the exact path costs one usearch
/// lookup (~0.5 us: the vectors live only in the graph) and one distance per allowed row.
/// The two balance at `allowed = sqrt(ef * M * rows / c)`; c = 8 is measured on 100k x 128
/// clustered, M=16, ef=64 (exact vs graph QPS: 2% allowed 2768 vs 239, 5% 441 vs 771),
/// putting the switch at ~3.5%. Below the floor of 2048 rows exact search is always cheap.
pub fn brute_force_limit(rows: usize, ef: usize, m: usize) -> usize {
    let balance = ((ef * m) as f64 * rows as f64 / 8.0).sqrt() as usize;
    balance.max(EXACT_FLOOR)
}

/// Rows at or below which exact search is always cheap.
const EXACT_FLOOR: usize = 2048;

/// A counting semaphore over usearch's reserved search contexts.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

struct Slot<'a>(&'a Slots);

impl Slots {
    fn new(n: usize) -> Slots {
        Slots { free: Mutex::new(n), freed: Condvar::new() }
    }

    fn acquire(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

pub(crate) struct HnswIndex {
    kind: IndexKind,
    metric: Metric,
    dim: usize,
    binary: bool,
    m: usize,
    /// IP only: `M^2`, the largest squared row norm (see the module doc).
    mips_sq_norm: Option<f32>,
    index: usearch::Index,
    slots: Slots,
}

/// usearch's dimension for our `dim`: one more for IP (the reduction's extra coordinate).
fn usearch_dim(metric: Metric, dim: usize) -> usize {
    if metric == Metric::Ip { dim + 1 } else { dim }
}

fn options(metric: Metric, dim: usize, m: usize, ef_construction: usize) -> IndexOptions {
    IndexOptions {
        dimensions: usearch_dim(metric, dim),
        metric: match metric {
            Metric::L2 | Metric::Ip => MetricKind::L2sq,
            Metric::Cosine => MetricKind::IP,
            Metric::Hamming => MetricKind::Hamming,
            Metric::Jaccard => MetricKind::Tanimoto,
        },
        quantization: if metric.is_binary() { ScalarKind::B1 } else { ScalarKind::F32 },
        connectivity: m,
        expansion_add: ef_construction,
        expansion_search: 1,
        multi: false,
    }
}

impl HnswIndex {
    /// `vectors` must have been validated against `metric`.
    pub(crate) fn build(
        m: usize,
        ef_construction: usize,
        metric: Metric,
        vectors: &Vectors,
        threads: usize,
    ) -> Result<HnswIndex, IndexError> {
        if m < 2 {
            return Err(IndexError::param("M", format!("must be at least 2, got {m}")));
        }
        if ef_construction == 0 {
            return Err(IndexError::param("efConstruction", "must be at least 1"));
        }
        let mut rows = Rows::prepared(metric, vectors);
        let mut mips_sq_norm = None;
        if let (Metric::Ip, Rows::Float { dim, data }) = (metric, &rows) {
            let (augmented, sq_norm) = augment_rows(*dim, data);
            rows = Rows::Float { dim: dim + 1, data: augmented.into() };
            mips_sq_norm = Some(sq_norm);
        }
        let n = rows.len();
        let threads = threads.clamp(1, n.max(1));
        let index = usearch::Index::new(&options(metric, vectors.dim(), m, ef_construction)).map_err(IndexError::usearch)?;
        index.reserve_capacity_and_threads(n, threads.max(SEARCH_SLOTS)).map_err(IndexError::usearch)?;
        let add_rows = |first: usize| -> Result<(), IndexError> {
            for i in (first..n).step_by(threads) {
                match rows.row(i) {
                    Row::Float(v) => index.add(i as u64, v),
                    Row::Binary(v) => index.add(i as u64, b1x8::from_u8s(v)),
                }
                .map_err(IndexError::usearch)?;
            }
            Ok(())
        };
        if threads == 1 {
            add_rows(0)?;
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads).map(|t| s.spawn(move || add_rows(t))).collect();
                handles.into_iter().try_for_each(|h| h.join().expect("HNSW build worker panicked"))
            })?;
        }
        Ok(HnswIndex {
            kind: IndexKind::Hnsw { m, ef_construction },
            metric,
            dim: vectors.dim(),
            binary: vectors.is_binary(),
            m,
            mips_sq_norm,
            index,
            slots: Slots::new(SEARCH_SLOTS),
        })
    }

    pub(crate) fn load(header: Header, body: &[u8]) -> Result<HnswIndex, IndexError> {
        let IndexKind::Hnsw { m, ef_construction } = header.kind else { unreachable!("HNSW body with a {:?} header", header.kind) };
        let mut r = Reader::new(body);
        let sq_norm = f32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes"));
        let body = r.take(body.len() - 4)?;
        let mips_sq_norm = (header.metric == Metric::Ip).then_some(sq_norm);
        let index = usearch::Index::new(&options(header.metric, header.dim, m, ef_construction)).map_err(IndexError::usearch)?;
        index.load_from_buffer(body).map_err(|e| IndexError::corrupt(format!("usearch: {}", e.what())))?;
        if index.size() != header.rows || index.dimensions() != usearch_dim(header.metric, header.dim) {
            return Err(IndexError::corrupt(format!(
                "usearch body holds {} rows of dimension {}, header says {} of {}",
                index.size(),
                index.dimensions(),
                header.rows,
                header.dim
            )));
        }
        index.change_expansion_search(1);
        index.reserve_capacity_and_threads(header.rows, SEARCH_SLOTS).map_err(IndexError::usearch)?;
        Ok(HnswIndex {
            kind: header.kind,
            metric: header.metric,
            dim: header.dim,
            binary: header.binary,
            m,
            mips_sq_norm,
            index,
            slots: Slots::new(SEARCH_SLOTS),
        })
    }

    /// Graph search for `count` candidates, as (row, key) best first, keys exact.
    pub(crate) fn graph_search(&self, query: Row, count: usize, allow: Option<&[bool]>) -> Result<Vec<(u32, f32)>, IndexError> {
        let augmented: Vec<f32>;
        let query = match (query, self.mips_sq_norm) {
            (Row::Float(q), Some(_)) => {
                augmented = q.iter().copied().chain([0.0]).collect();
                Row::Float(&augmented)
            }
            _ => query,
        };
        let matches = {
            let _slot = self.slots.acquire();
            let pass = |key: u64| allow.is_none_or(|a| a.get(key as usize).copied().unwrap_or(false));
            match (query, allow) {
                (Row::Float(q), None) => self.index.search(q, count),
                (Row::Binary(q), None) => self.index.search(b1x8::from_u8s(q), count),
                (Row::Float(q), Some(_)) => self.index.filtered_search(q, count, pass),
                (Row::Binary(q), Some(_)) => self.index.filtered_search(b1x8::from_u8s(q), count, pass),
            }
            .map_err(IndexError::usearch)?
        };
        let mut found: Vec<(u32, f32)> = Vec::with_capacity(matches.keys.len());
        let mut scratch = Vec::new();
        for (&key, &distance) in matches.keys.iter().zip(&matches.distances) {
            let key_score = match (self.metric, query) {
                // Reduced IP: rescore exactly from the stored row (its first `dim` values).
                (Metric::Ip, Row::Float(q)) => {
                    scratch.resize(self.dim + 1, 0.0);
                    self.index.get(key, &mut scratch[..]).map_err(IndexError::usearch)?;
                    -crate::metric::dot(&q[..self.dim], &scratch[..self.dim])
                }
                // usearch's IP distance is `1 - dot`.
                (Metric::Cosine, _) => (distance - 1.0).clamp(-1.0, 1.0),
                _ => distance,
            };
            found.push((key as u32, key_score));
        }
        if self.mips_sq_norm.is_some() {
            // Exact keys may reorder near-ties.
            found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        }
        Ok(found)
    }

    /// Top-`k` (within `bounds`) for one query via the graph.
    fn search_graph(
        &self,
        query: Row,
        k: usize,
        ef: usize,
        bounds: &Bounds,
        range: bool,
        allow: Option<&[bool]>,
    ) -> Result<Vec<Hit>, IndexError> {
        let n = self.len();
        let mut count = ef.max(k).min(n);
        loop {
            let found = self.graph_search(query, count, allow)?;
            let mut top = TopK::new(k);
            found.iter().filter(|(_, key)| bounds.accepts(*key)).for_each(|&(row, key)| top.push(row, key));
            let done =
                !range || top.len() >= k || found.len() < count || count >= n || found.last().is_none_or(|(_, key)| bounds.beyond(*key));
            if done {
                return Ok(top.into_hits(self.metric));
            }
            count = count.saturating_mul(4).min(n);
        }
    }

    /// Copies the allowed rows' vectors out of the index, with their row numbers.
    fn fetch_allowed(&self, allow: &[bool], allowed: usize) -> Result<(Vec<u32>, Rows<'static>), IndexError> {
        let ids: Vec<u32> = (0..allow.len() as u32).filter(|&r| allow[r as usize]).collect();
        debug_assert_eq!(ids.len(), allowed);
        let rows = if self.binary {
            let bytes = self.dim / 8;
            let mut data = vec![0u8; ids.len() * bytes];
            // usearch 2.26's `get_b1x8` checks the buffer length in *bits* (`len % dims`)
            // but writes `dims / 8` bytes: hand it a `dims`-byte scratch buffer.
            let mut scratch = vec![0u8; self.dim];
            for (id, out) in ids.iter().zip(data.chunks_exact_mut(bytes)) {
                self.index.get(*id as u64, b1x8::from_mut_u8s(&mut scratch)).map_err(IndexError::usearch)?;
                out.copy_from_slice(&scratch[..bytes]);
            }
            Rows::Binary { bytes, data: data.into() }
        } else {
            let mut data = vec![0f32; ids.len() * self.dim];
            let mut scratch = vec![0f32; usearch_dim(self.metric, self.dim)];
            for (id, out) in ids.iter().zip(data.chunks_exact_mut(self.dim)) {
                self.index.get(*id as u64, &mut scratch[..]).map_err(IndexError::usearch)?;
                out.copy_from_slice(&scratch[..self.dim]);
            }
            Rows::Float { dim: self.dim, data: data.into() }
        };
        Ok((ids, rows))
    }
}

impl VectorIndex for HnswIndex {
    fn kind(&self) -> &IndexKind {
        &self.kind
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn is_binary(&self) -> bool {
        self.binary
    }

    fn len(&self) -> usize {
        self.index.size()
    }

    fn search(&self, queries: &Vectors, params: &SearchParams, allow: Option<&[bool]>) -> Result<Vec<Vec<Hit>>, IndexError> {
        let (nq, queries) = vectors::prepare_queries(self.metric, self.binary, self.dim, queries)?;
        let allowed = search::check_allow(allow, self.len())?;
        let bounds = Bounds::new(self.metric, params)?;
        let k = params.k;
        let ef = match params.ef {
            Some(ef) if ef < k && !params.is_range() => {
                return Err(IndexError::param("ef", format!("ef ({ef}) must be at least k ({k})")));
            }
            Some(0) => return Err(IndexError::param("ef", "must be at least 1")),
            Some(ef) => ef,
            None => k.max(MIN_DEFAULT_EF),
        };
        if k == 0 || self.len() == 0 || allowed == Some(0) {
            return Ok(vec![Vec::new(); nq]);
        }
        let exact_over_allowed = |allow: &[bool], allowed: usize, queries: &Rows| -> Result<_, IndexError> {
            let (ids, rows) = self.fetch_allowed(allow, allowed)?;
            Ok(search::exact(self.metric, &rows, Some(&ids), queries, k, &bounds, None, params.threads))
        };
        if let (Some(a), Some(allowed)) = (allow, allowed)
            && allowed <= brute_force_limit(self.len(), ef, self.m)
        {
            return exact_over_allowed(a, allowed, &queries);
        }
        // A small graph is searched exactly: as cheap as the graph walk, and the answer
        // does not depend on how the graph happened to be built.
        if allow.is_none() && self.len() <= EXACT_FLOOR {
            return exact_over_allowed(&vec![true; self.len()], self.len(), &queries);
        }
        search::per_query(nq, params.threads, |q| {
            let hits = self.search_graph(queries.row(q), k, ef, &bounds, params.is_range(), allow)?;
            // Predicate search can strand itself in a rejected region: redo it exactly.
            if let (Some(a), Some(allowed)) = (allow, allowed)
                && !params.is_range()
                && hits.len() < k.min(allowed)
            {
                let one = queries.slice(q..q + 1);
                return Ok(exact_over_allowed(a, allowed, &one)?.pop().unwrap_or_default());
            }
            Ok(hits)
        })
    }

    fn to_bytes(&self) -> Result<Vec<u8>, IndexError> {
        let mut body = vec![0u8; 4 + self.index.serialized_length()];
        body[..4].copy_from_slice(&self.mips_sq_norm.unwrap_or(0.0).to_le_bytes());
        self.index.save_to_buffer(&mut body[4..]).map_err(IndexError::usearch)?;
        let header = Header { kind: self.kind.clone(), metric: self.metric, binary: self.binary, dim: self.dim, rows: self.len() };
        Ok(codec::encode(&header, &body))
    }
}

/// The maximum-inner-product reduction: each row gets `sqrt(M^2 - |x|^2)` appended, so
/// every augmented row has norm M. Returns the rows and `M^2`.
fn augment_rows(dim: usize, data: &[f32]) -> (Vec<f32>, f32) {
    let sq_norms: Vec<f32> = data.chunks_exact(dim).map(|r| crate::metric::dot(r, r)).collect();
    let max = sq_norms.iter().copied().fold(0f32, f32::max);
    let mut out = Vec::with_capacity(data.len() + sq_norms.len());
    for (row, sq) in data.chunks_exact(dim).zip(&sq_norms) {
        out.extend_from_slice(row);
        out.push((max - sq).max(0.0).sqrt());
    }
    (out, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::kmeans::Rng::new(seed);
        (0..n * dim).map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0).collect()
    }

    #[test]
    fn ip_reduction_keeps_every_row_reachable_and_scores_exact() {
        let (n, dim) = (2000, 16);
        let data = random(n, dim, 5);
        let index = HnswIndex::build(16, 100, Metric::Ip, &Vectors::Float { dim, data: &data }, 2).unwrap();
        let q = &random(1, dim, 6);
        let all = index.graph_search(Row::Float(q), n, None).unwrap();
        // A plain IP graph stranded 7% of 2,000 clustered rows; the reduction leaves a few
        // strays at most (multi-threaded builds vary: 0.1-0.4% seen).
        assert!(all.len() >= n * 99 / 100, "only {} of {n} rows reachable", all.len());
        for (row, key) in all.iter().take(20) {
            let exact = crate::metric::dot(q, &data[*row as usize * dim..(*row as usize + 1) * dim]);
            assert_eq!(*key, -exact);
        }
        assert!(all.windows(2).all(|w| w[0].1 <= w[1].1), "best first");
    }

    #[test]
    fn graph_filtered_search_keeps_to_allowed_rows() {
        let (n, dim) = (4000, 16);
        let data = random(n, dim, 9);
        let vectors = Vectors::Float { dim, data: &data };
        let index = HnswIndex::build(16, 100, Metric::L2, &vectors, 2).unwrap();
        let queries = random(20, dim, 10);
        let qv = Vectors::Float { dim, data: &queries };
        let p = SearchParams { ef: Some(64), ..SearchParams::top_k(10) };
        let open = Bounds::new(Metric::L2, &p).unwrap();
        for keep_every in [2usize, 5, 20] {
            let allow: Vec<bool> = (0..n).map(|r| r % keep_every == 0).collect();
            let truth = crate::brute_force(Metric::L2, &vectors, &qv, &p, Some(&allow)).unwrap();
            let mut hit = 0;
            for (q, t) in truth.iter().enumerate() {
                // The graph path itself, whatever brute_force_limit would choose.
                let query = Row::Float(&queries[q * dim..(q + 1) * dim]);
                let g = index.search_graph(query, 10, 64, &open, false, Some(&allow)).unwrap();
                assert_eq!(g.len(), 10);
                assert!(g.iter().all(|h| allow[h.row as usize]));
                hit += g.iter().filter(|h| t.iter().any(|x| x.row == h.row)).count();
            }
            let recall = hit as f64 / 200.0;
            assert!(recall >= 0.9, "1/{keep_every} allowed: filtered graph recall {recall}");
        }
    }

    #[test]
    fn brute_force_limit_has_a_floor_and_grows_with_rows() {
        assert_eq!(brute_force_limit(1000, 16, 16), 2048);
        assert!(brute_force_limit(1_000_000, 64, 16) > brute_force_limit(100_000, 64, 16));
    }
}
