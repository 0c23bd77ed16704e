//! HNSW over the `usearch` library (float vectors: L2, IP, COSINE; binary: HAMMING,
//! JACCARD). Keys are row numbers.
//!
//! - The graph holds L2 and COSINE rows as bfloat16 (see [`graph_scalar`]) and the index
//!   keeps the exact rows beside it: the graph only proposes candidates, every candidate is rescored exactly, and
//!   exact searches (filters, small graphs) run over the exact rows. Half-width vectors
//!   halve the memory traffic of the build's distance evaluations (measured on 100k x 128
//!   clustered, M=16, efConstruction=200, 2 threads: 10.0 s vs 15.8 s with float32
//!   graph vectors), and the exact rescoring of the `ef` candidates keeps recall@10 at
//!   ef=64 where float32 had it (0.988 vs 0.988). Distances returned are always exact.
//!   Binary rows are stored as bits in the graph, which is exact already.
//! - COSINE is IP over vectors normalised at build and queries normalised at search.
//! - IP (unnormalised) is not a metric, and an HNSW graph built on it strands rows that
//!   are never anyone's best inner product (measured: 7% of 2,000 clustered rows
//!   unreachable, range-search recall 0.83). So IP uses the standard reduction of maximum
//!   inner product to nearest neighbour: graph rows get one extra coordinate
//!   `sqrt(M^2 - |x|^2)` (M the largest row norm), queries a 0, and the graph is built
//!   under L2, where `|q' - x'|^2 = |q|^2 + M^2 - 2 q.x` orders rows exactly by inner
//!   product.
//! - `ef` is passed per call as the requested count (usearch searches with
//!   `max(expansion_search, count)` candidates and the index's own `expansion_search` is
//!   kept at 1), then the best `k` are kept: the same as a search with `ef` candidates,
//!   without a shared setting that concurrent searches would race on.
//! - usearch serves at most as many concurrent searches as it reserved thread contexts;
//!   [`Slots`] makes extra callers wait instead of failing.
//! - Filtered search: when few rows are allowed, graph search is slow (most visited nodes
//!   are rejected) and loses recall, so below [`brute_force_limit`] the allowed rows are
//!   searched exactly, as Milvus's planner does. Above it,
//!   usearch's predicate search; if that finds fewer than `k` hits while more rows are
//!   allowed, the query is redone exactly.
//! - Range search asks for more and more candidates until enough fall within range, the
//!   last one lies beyond the radius, or the graph is exhausted.

use std::sync::{Condvar, Mutex};

use usearch::{IndexOptions, MetricKind, ScalarKind, b1x8};

use crate::codec::{self, Header, Reader, Writer};
use crate::search::{self, Bounds, Hit, SearchParams, TopK};
use crate::vectors::{self, Row, Rows, Store, Vectors};
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
    /// The rows as scored (COSINE normalised, IP not augmented), row `i` = key `i`.
    exact: Store,
    index: usearch::Index,
    slots: Slots,
}

/// usearch's dimension for our `dim`: one more for IP (the reduction's extra coordinate).
fn usearch_dim(metric: Metric, dim: usize) -> usize {
    if metric == Metric::Ip { dim + 1 } else { dim }
}

/// How a graph written in format `version` stores its rows: bits for binary metrics;
/// bfloat16 for L2 and COSINE; float32 for IP, whose reduction gives every graph row the
/// same norm `M`, so inner-product differences are small next to `M^2` and bfloat16's
/// 8-bit mantissa rounds them away (measured: up to 1.5% of 2,000 rows unreachable, vs
/// at most 0.4% with float32); and float32 for every float metric in version 1.
fn graph_scalar(metric: Metric, version: u16) -> ScalarKind {
    match metric {
        Metric::Hamming | Metric::Jaccard => ScalarKind::B1,
        Metric::L2 | Metric::Cosine if version >= 2 => ScalarKind::BF16,
        _ => ScalarKind::F32,
    }
}

fn options(metric: Metric, dim: usize, m: usize, ef_construction: usize, version: u16) -> IndexOptions {
    IndexOptions {
        dimensions: usearch_dim(metric, dim),
        metric: match metric {
            Metric::L2 | Metric::Ip => MetricKind::L2sq,
            Metric::Cosine => MetricKind::IP,
            Metric::Hamming => MetricKind::Hamming,
            Metric::Jaccard => MetricKind::Tanimoto,
        },
        quantization: graph_scalar(metric, version),
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
        let exact = Rows::prepared(metric, vectors).into_owned();
        let (graph_rows, mips_sq_norm) = match (metric, &exact) {
            (Metric::Ip, Rows::Float { dim, data }) => {
                let (augmented, sq_norm) = augment_rows(*dim, data);
                (Rows::Float { dim: dim + 1, data: augmented.into() }, Some(sq_norm))
            }
            _ => (exact.slice(0..exact.len()), None),
        };
        let n = exact.len();
        let threads = threads.clamp(1, n.max(1));
        let index =
            usearch::Index::new(&options(metric, vectors.dim(), m, ef_construction, codec::FORMAT_VERSION)).map_err(IndexError::usearch)?;
        index.reserve_capacity_and_threads(n, threads.max(SEARCH_SLOTS)).map_err(IndexError::usearch)?;
        let add_rows = |first: usize| -> Result<(), IndexError> {
            for i in (first..n).step_by(threads) {
                match graph_rows.row(i) {
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
        drop(graph_rows);
        Ok(HnswIndex {
            kind: IndexKind::Hnsw { m, ef_construction },
            metric,
            dim: vectors.dim(),
            binary: vectors.is_binary(),
            m,
            mips_sq_norm,
            exact,
            index,
            slots: Slots::new(SEARCH_SLOTS),
        })
    }

    /// Reads a body written by [`VectorIndex::to_bytes`] in format `version`.
    pub(crate) fn load(header: Header, version: u16, body: &[u8]) -> Result<HnswIndex, IndexError> {
        let IndexKind::Hnsw { m, ef_construction } = header.kind else { unreachable!("HNSW body with a {:?} header", header.kind) };
        let mut r = Reader::new(body);
        let sq_norm = f32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes"));
        // Version 1 kept no exact rows: its graph holds them (float32 or bits).
        let stored_rows = if version >= 2 { Some(r.rows(header.binary, header.dim, header.rows)?) } else { None };
        let graph = r.remaining();
        let index = usearch::Index::new(&options(header.metric, header.dim, m, ef_construction, version)).map_err(IndexError::usearch)?;
        index.load_from_buffer(graph).map_err(|e| IndexError::corrupt(format!("usearch: {}", e.what())))?;
        if index.size() != header.rows || index.dimensions() != usearch_dim(header.metric, header.dim) {
            return Err(IndexError::corrupt(format!(
                "usearch body holds {} rows of dimension {}, header says {} of {}",
                index.size(),
                index.dimensions(),
                header.rows,
                header.dim
            )));
        }
        let exact = match stored_rows {
            Some(rows) => rows,
            None => rows_from_graph(&index, &header)?,
        };
        index.change_expansion_search(1);
        index.reserve_capacity_and_threads(header.rows, SEARCH_SLOTS).map_err(IndexError::usearch)?;
        Ok(HnswIndex {
            kind: header.kind,
            metric: header.metric,
            dim: header.dim,
            binary: header.binary,
            m,
            mips_sq_norm: (header.metric == Metric::Ip).then_some(sq_norm),
            exact,
            index,
            slots: Slots::new(SEARCH_SLOTS),
        })
    }

    /// Graph search for `count` candidates, rescored exactly: (row, key) best first.
    pub(crate) fn graph_search(&self, query: Row, count: usize, allow: Option<&[bool]>) -> Result<Vec<(u32, f32)>, IndexError> {
        let augmented: Vec<f32>;
        let graph_query = match (query, self.mips_sq_norm) {
            (Row::Float(q), Some(_)) => {
                augmented = q.iter().copied().chain([0.0]).collect();
                Row::Float(&augmented)
            }
            _ => query,
        };
        let matches = {
            let _slot = self.slots.acquire();
            let pass = |key: u64| allow.is_none_or(|a| a.get(key as usize).copied().unwrap_or(false));
            match (graph_query, allow) {
                (Row::Float(q), None) => self.index.search(q, count),
                (Row::Binary(q), None) => self.index.search(b1x8::from_u8s(q), count),
                (Row::Float(q), Some(_)) => self.index.filtered_search(q, count, pass),
                (Row::Binary(q), Some(_)) => self.index.filtered_search(b1x8::from_u8s(q), count, pass),
            }
            .map_err(IndexError::usearch)?
        };
        let mut found: Vec<(u32, f32)> =
            matches.keys.iter().map(|&key| (key as u32, search::key(self.metric, query, self.exact.row(key as usize)))).collect();
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
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
}

/// The exact rows of a format version 1 index, read back from its graph (which held
/// float32 or bit rows; IP rows carry the reduction's extra coordinate, dropped here).
fn rows_from_graph(index: &usearch::Index, header: &Header) -> Result<Store, IndexError> {
    let width = usearch_dim(header.metric, header.dim);
    if header.binary {
        let bytes = header.dim / 8;
        let mut data = vec![0u8; header.rows * bytes];
        // usearch 2.26's `get_b1x8` checks the buffer length in *bits* (`len % dims`)
        // but writes `dims / 8` bytes: hand it a `dims`-byte scratch buffer.
        let mut scratch = vec![0u8; header.dim];
        for (key, out) in data.chunks_exact_mut(bytes).enumerate() {
            index.get(key as u64, b1x8::from_mut_u8s(&mut scratch)).map_err(IndexError::usearch)?;
            out.copy_from_slice(&scratch[..bytes]);
        }
        Ok(Rows::Binary { bytes, data: data.into() })
    } else {
        let mut data = vec![0f32; header.rows * header.dim];
        let mut scratch = vec![0f32; width];
        for (key, out) in data.chunks_exact_mut(header.dim).enumerate() {
            index.get(key as u64, &mut scratch[..]).map_err(IndexError::usearch)?;
            out.copy_from_slice(&scratch[..header.dim]);
        }
        Ok(Rows::Float { dim: header.dim, data: data.into() })
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
        self.exact.len()
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
        let exact = |queries: &Rows, allow: Option<&[bool]>| {
            search::exact(self.metric, &self.exact, None, queries, k, &bounds, allow, params.threads)
        };
        // A small graph, or few allowed rows, are searched exactly: as cheap as the graph
        // walk, and the answer does not depend on how the graph happened to be built.
        let few_allowed = allowed.is_some_and(|allowed| allowed <= brute_force_limit(self.len(), ef, self.m));
        if few_allowed || (allow.is_none() && self.len() <= EXACT_FLOOR) {
            return Ok(exact(&queries, allow));
        }
        search::parallel_map(nq, params.threads, |q| {
            let hits = self.search_graph(queries.row(q), k, ef, &bounds, params.is_range(), allow)?;
            // Predicate search can strand itself in a rejected region: redo it exactly.
            if let Some(allowed) = allowed
                && !params.is_range()
                && hits.len() < k.min(allowed)
            {
                return Ok(exact(&queries.slice(q..q + 1), allow).pop().unwrap_or_default());
            }
            Ok(hits)
        })
    }

    fn to_bytes(&self) -> Result<Vec<u8>, IndexError> {
        let mut w = Writer::default();
        w.buf.extend_from_slice(&self.mips_sq_norm.unwrap_or(0.0).to_le_bytes());
        w.rows(&self.exact);
        let graph_at = w.buf.len();
        w.buf.resize(graph_at + self.index.serialized_length(), 0);
        self.index.save_to_buffer(&mut w.buf[graph_at..]).map_err(IndexError::usearch)?;
        let header = Header { kind: self.kind.clone(), metric: self.metric, binary: self.binary, dim: self.dim, rows: self.len() };
        Ok(codec::encode(&header, &w.buf))
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
