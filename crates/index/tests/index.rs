//! quiver-index integration tests: every index kind and metric against exact search on
//! seeded clustered data, filtered and range search, serialization, errors. The
//! `#[ignore]`d `benchmark_hnsw_100k` prints build time, QPS and recall (run it in
//! release).
//!
//! Golden files live in `tests/golden/`: indexes saved by each format version, which
//! every later build must still load and search exactly. They are written once per
//! format version (run `QUIVER_BLESS_GOLDEN=1 cargo test -p quiver-index --test index --
//! --ignored bless` when a new version is introduced, after adding its files to a
//! `bless_version_N_golden_files` test) and never rewritten. The version 1 files were
//! saved by the last version 1 build.

use std::collections::HashSet;
use std::time::Instant;

use quiver_index::{
    FORMAT_VERSION, Hit, IndexError, IndexKind, Metric, SearchParams, SparseAlgo, SparseRows, VectorIndex, Vectors, brute_force, build,
    load,
};

// ---------------------------------------------------------------------------------------
// Seeded data

/// xorshift64*, so the tests need no `rand`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn gauss(&mut self) -> f32 {
        let (u, v) = (self.unit().max(1e-7), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// `n` points around `centres` random centres in [-1, 1]^dim, Gaussian noise `sigma`.
fn clustered(n: usize, dim: usize, centres: usize, sigma: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let c: Vec<f32> = (0..centres * dim).map(|_| rng.unit() * 2.0 - 1.0).collect();
    let mut rng = Rng::new(seed ^ 0xABCD);
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let at = rng.below(centres) * dim;
        out.extend((0..dim).map(|j| c[at + j] + sigma * rng.gauss()));
    }
    out
}

/// Binary points: random centre bit patterns, each bit flipped with probability `flip`.
fn clustered_bits(n: usize, bits: usize, centres: usize, flip: f32, seed: u64) -> Vec<u8> {
    let bytes = bits / 8;
    let mut rng = Rng::new(seed);
    let c: Vec<u8> = (0..centres * bytes).map(|_| rng.next_u64() as u8).collect();
    let mut rng = Rng::new(seed ^ 0x1234);
    let mut out = Vec::with_capacity(n * bytes);
    for _ in 0..n {
        let at = rng.below(centres) * bytes;
        for j in 0..bytes {
            let mut mask = 0u8;
            for bit in 0..8 {
                if rng.unit() < flip {
                    mask |= 1 << bit;
                }
            }
            out.push(c[at + j] ^ mask);
        }
    }
    out
}

const N: usize = 2000;
const DIM: usize = 32;
const BITS: usize = 128;
const NQ: usize = 50;
const K: usize = 10;

/// The test corpus: base and query vectors of one type, with a naive scorer.
struct Data {
    base_f: Vec<f32>,
    queries_f: Vec<f32>,
    base_b: Vec<u8>,
    queries_b: Vec<u8>,
}

impl Data {
    fn new() -> Data {
        // Queries come from the same clusters (same centre seed), different noise.
        let mut all = clustered(N + NQ, DIM, 20, 0.35, 42);
        let queries_f = all.split_off(N * DIM);
        let mut all_b = clustered_bits(N + NQ, BITS, 20, 0.12, 7);
        let queries_b = all_b.split_off(N * BITS / 8);
        Data { base_f: all, queries_f, base_b: all_b, queries_b }
    }

    fn base(&self, metric: Metric) -> Vectors<'_> {
        if metric.is_binary() {
            Vectors::Binary { dim_bits: BITS, data: &self.base_b }
        } else {
            Vectors::Float { dim: DIM, data: &self.base_f }
        }
    }

    fn queries(&self, metric: Metric) -> Vectors<'_> {
        if metric.is_binary() {
            Vectors::Binary { dim_bits: BITS, data: &self.queries_b }
        } else {
            Vectors::Float { dim: DIM, data: &self.queries_f }
        }
    }

    /// Naive score of query `q` and base row `r` through `Metric`'s own functions.
    fn naive(&self, metric: Metric, q: usize, r: usize) -> f32 {
        if metric.is_binary() {
            let b = BITS / 8;
            metric.binary_score(&self.queries_b[q * b..(q + 1) * b], &self.base_b[r * b..(r + 1) * b])
        } else {
            metric.float_score(&self.queries_f[q * DIM..(q + 1) * DIM], &self.base_f[r * DIM..(r + 1) * DIM])
        }
    }
}

const FLOAT_METRICS: [Metric; 3] = [Metric::L2, Metric::Ip, Metric::Cosine];
const BINARY_METRICS: [Metric; 2] = [Metric::Hamming, Metric::Jaccard];

fn kinds() -> Vec<IndexKind> {
    vec![IndexKind::Flat, IndexKind::IvfFlat { nlist: 32 }, IndexKind::Hnsw { m: 16, ef_construction: 100 }]
}

/// Every (kind, metric) pair the tests cover.
fn combos() -> Vec<(IndexKind, Metric)> {
    let mut out = Vec::new();
    for kind in kinds() {
        for m in FLOAT_METRICS.into_iter().chain(BINARY_METRICS) {
            out.push((kind.clone(), m));
        }
    }
    out
}

fn params(k: usize) -> SearchParams {
    SearchParams { ef: Some(64), nprobe: Some(8), ..SearchParams::top_k(k) }
}

fn better_or_equal(metric: Metric, a: f32, b: f32) -> bool {
    let eps = 1e-4 * (1.0 + a.abs().max(b.abs()));
    if metric.higher_is_closer() { a >= b - eps } else { a <= b + eps }
}

/// Tie-tolerant recall: the share of the true top-k's size that the hits fill with rows
/// scoring at least as well as the true k-th hit.
fn recall(metric: Metric, got: &[Vec<Hit>], truth: &[Vec<Hit>]) -> f64 {
    let (mut found, mut wanted) = (0usize, 0usize);
    for (g, t) in got.iter().zip(truth) {
        wanted += t.len();
        let Some(kth) = t.last() else { continue };
        found += g.iter().filter(|h| better_or_equal(metric, h.score, kth.score)).count().min(t.len());
    }
    if wanted == 0 { 1.0 } else { found as f64 / wanted as f64 }
}

fn assert_sorted(metric: Metric, hits: &[Hit], what: &str) {
    for w in hits.windows(2) {
        assert!(better_or_equal(metric, w[0].score, w[1].score), "{what}: hits out of order: {w:?}");
    }
    let rows: HashSet<u32> = hits.iter().map(|h| h.row).collect();
    assert_eq!(rows.len(), hits.len(), "{what}: duplicate rows");
}

fn allow_bitmap(fraction: f64, seed: u64) -> Vec<bool> {
    let mut rng = Rng::new(seed);
    (0..N).map(|_| (rng.unit() as f64) < fraction).collect()
}

fn build_all(data: &Data) -> Vec<(IndexKind, Metric, Box<dyn VectorIndex>)> {
    combos()
        .into_iter()
        .map(|(kind, metric)| {
            let index = build(&kind, metric, &data.base(metric), 2).unwrap();
            (kind, metric, index)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Search quality

#[test]
fn brute_force_agrees_with_naive_scores() {
    let data = Data::new();
    for metric in FLOAT_METRICS.into_iter().chain(BINARY_METRICS) {
        let hits = brute_force(metric, &data.base(metric), &data.queries(metric), &params(K), None).unwrap();
        assert_eq!(hits.len(), NQ);
        for (q, hits) in hits.iter().enumerate() {
            assert_eq!(hits.len(), K);
            let mut all: Vec<f32> = (0..N).map(|r| data.naive(metric, q, r)).collect();
            all.sort_by(|a, b| if metric.higher_is_closer() { b.total_cmp(a) } else { a.total_cmp(b) });
            for (i, h) in hits.iter().enumerate() {
                let naive = data.naive(metric, q, h.row as usize);
                assert!((h.score - naive).abs() < 1e-4, "{metric:?}: score {} vs naive {naive}", h.score);
                assert!((h.score - all[i]).abs() < 1e-4, "{metric:?}: rank {i} is {} not {}", h.score, all[i]);
            }
        }
    }
}

#[test]
fn every_kind_and_metric_reaches_its_recall_and_sorts_hits() {
    let data = Data::new();
    for (kind, metric, index) in build_all(&data) {
        let what = format!("{kind:?}/{metric:?}");
        assert_eq!((index.kind(), index.metric(), index.len()), (&kind, metric, N), "{what}");
        let truth = brute_force(metric, &data.base(metric), &data.queries(metric), &params(K), None).unwrap();
        let got = index.search(&data.queries(metric), &params(K), None).unwrap();
        got.iter().for_each(|h| assert_sorted(metric, h, &what));
        assert!(got.iter().all(|h| h.len() == K), "{what}: fewer than k hits");
        let r = recall(metric, &got, &truth);
        if kind == IndexKind::Flat {
            assert_eq!(got, truth, "{what}: FLAT must equal brute force");
        } else {
            assert!(r >= 0.95, "{what}: recall@10 {r:.3} < 0.95");
        }
        // Scores are true scores, not a library's internal distances.
        for (q, hits) in got.iter().enumerate() {
            for h in hits {
                let naive = data.naive(metric, q, h.row as usize);
                assert!((h.score - naive).abs() < 1e-3 * (1.0 + naive.abs()), "{what}: score {} vs {naive}", h.score);
            }
        }
    }
}

#[test]
fn filtered_search_returns_only_allowed_rows_with_high_recall() {
    let data = Data::new();
    for (kind, metric, index) in build_all(&data) {
        for (i, fraction) in [0.5, 0.1, 0.01].into_iter().enumerate() {
            let what = format!("{kind:?}/{metric:?} at {fraction}");
            let allow = allow_bitmap(fraction, 100 + i as u64);
            let truth = brute_force(metric, &data.base(metric), &data.queries(metric), &params(K), Some(&allow)).unwrap();
            let got = index.search(&data.queries(metric), &params(K), Some(&allow)).unwrap();
            for hits in &got {
                assert!(hits.iter().all(|h| allow[h.row as usize]), "{what}: a disallowed row came back");
                assert_sorted(metric, hits, &what);
            }
            let r = recall(metric, &got, &truth);
            assert!(r >= 0.9, "{what}: filtered recall {r:.3} < 0.9");
        }
        let none = vec![false; N];
        let got = index.search(&data.queries(metric), &params(K), Some(&none)).unwrap();
        assert!(got.iter().all(|h| h.is_empty()), "{kind:?}/{metric:?}: nothing allowed, something returned");
    }
}

/// Bounds for a range search that keeps roughly the 3rd..40th neighbours of a query.
fn range_bounds(metric: Metric, data: &Data) -> (f32, f32) {
    let truth = brute_force(metric, &data.base(metric), &data.queries(metric), &params(40), None).unwrap();
    let median = |rank: usize| {
        let mut v: Vec<f32> = truth.iter().map(|h| h[rank].score).collect();
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    (median(39), median(2)) // (radius, range_filter)
}

fn in_range(metric: Metric, score: f32, radius: f32, range_filter: f32) -> bool {
    if metric.higher_is_closer() { score > radius && score <= range_filter } else { score < radius && score >= range_filter }
}

#[test]
fn range_search_returns_the_rows_within_range() {
    let data = Data::new();
    for (kind, metric, index) in build_all(&data) {
        let (radius, range_filter) = range_bounds(metric, &data);
        let what = format!("{kind:?}/{metric:?} range ({range_filter}, {radius})");
        let p = SearchParams { radius: Some(radius), range_filter: Some(range_filter), ..params(N) };
        let got = index.search(&data.queries(metric), &p, None).unwrap();
        let (mut found, mut wanted) = (0usize, 0usize);
        for (q, hits) in got.iter().enumerate() {
            assert_sorted(metric, hits, &what);
            for h in hits {
                assert!(in_range(metric, h.score, radius, range_filter), "{what}: {h:?} out of range");
            }
            // Rows within range by the naive scorer, away from the boundaries (rounding).
            let near = |a: f32, b: f32| (a - b).abs() <= 1e-4 * (1.0 + b.abs());
            let expected: HashSet<u32> = (0..N)
                .filter(|&r| {
                    let s = data.naive(metric, q, r);
                    in_range(metric, s, radius, range_filter) && !near(s, radius) && !near(s, range_filter)
                })
                .map(|r| r as u32)
                .collect();
            let rows: HashSet<u32> = hits.iter().map(|h| h.row).collect();
            wanted += expected.len();
            found += expected.intersection(&rows).count();
            if kind == IndexKind::Flat {
                assert!(expected.is_subset(&rows), "{what}: query {q} misses in-range rows");
            }
        }
        assert!(wanted > NQ * 10, "{what}: range too narrow to test ({wanted})");
        let r = found as f64 / wanted as f64;
        let min = match kind {
            IndexKind::Flat => 1.0,
            IndexKind::Hnsw { .. } => 0.95,
            IndexKind::IvfFlat { .. } => 0.9,
            IndexKind::IvfSq8 { .. } | IndexKind::IvfPq { .. } => unreachable!("quantized kinds have their own tests"),
            IndexKind::SparseInverted { .. } | IndexKind::SparseWand { .. } => unreachable!("sparse kinds have their own tests"),
        };
        assert!(r >= min, "{what}: range recall {r:.3} < {min}");

        // At most k, and the best k of the in-range rows.
        let p5 = SearchParams { k: 5, ..p.clone() };
        let top5 = index.search(&data.queries(metric), &p5, None).unwrap();
        for (q, hits) in top5.iter().enumerate() {
            assert!(hits.len() <= 5);
            if kind == IndexKind::Flat {
                assert_eq!(hits[..], got[q][..hits.len()], "{what}: top-5 of the range");
            }
        }
        // Range search with a filter.
        let allow = allow_bitmap(0.3, 9);
        let filtered = index.search(&data.queries(metric), &p, Some(&allow)).unwrap();
        for hits in &filtered {
            assert!(hits.iter().all(|h| allow[h.row as usize] && in_range(metric, h.score, radius, range_filter)));
        }
    }
}

#[test]
fn flat_range_search_matches_brute_force_exactly_and_radius_alone_works() {
    let data = Data::new();
    for metric in FLOAT_METRICS.into_iter().chain(BINARY_METRICS) {
        let index = build(&IndexKind::Flat, metric, &data.base(metric), 1).unwrap();
        let (radius, _) = range_bounds(metric, &data);
        let p = SearchParams { radius: Some(radius), ..params(N) };
        let got = index.search(&data.queries(metric), &p, None).unwrap();
        let truth = brute_force(metric, &data.base(metric), &data.queries(metric), &p, None).unwrap();
        assert_eq!(got, truth, "{metric:?}");
        for hits in &got {
            let beyond = |s: f32| if metric.higher_is_closer() { s <= radius } else { s >= radius };
            assert!(hits.iter().all(|h| !beyond(h.score)), "{metric:?}: radius is exclusive");
        }
    }
}

#[test]
fn threads_do_not_change_results() {
    let data = Data::new();
    for (kind, metric, index) in build_all(&data) {
        let one = index.search(&data.queries(metric), &params(K), None).unwrap();
        let four = index.search(&data.queries(metric), &SearchParams { threads: 4, ..params(K) }, None).unwrap();
        assert_eq!(one, four, "{kind:?}/{metric:?}");
    }
    // Brute force splits over rows: same answer.
    let base = Vectors::Float { dim: DIM, data: &data.base_f };
    let queries = Vectors::Float { dim: DIM, data: &data.queries_f };
    let a = brute_force(Metric::L2, &base, &queries, &params(K), None).unwrap();
    let b = brute_force(Metric::L2, &base, &queries, &SearchParams { threads: 3, ..params(K) }, None).unwrap();
    assert_eq!(a, b);
}

#[test]
fn concurrent_searches_on_one_index_agree() {
    let data = Data::new();
    let index = build(&IndexKind::Hnsw { m: 16, ef_construction: 100 }, Metric::L2, &data.base(Metric::L2), 2).unwrap();
    let expected = index.search(&data.queries(Metric::L2), &params(K), None).unwrap();
    // More threads than usearch reserved contexts for (64): the extra ones wait.
    std::thread::scope(|s| {
        for _ in 0..80 {
            s.spawn(|| {
                let got = index.search(&data.queries(Metric::L2), &params(K), None).unwrap();
                assert_eq!(got, expected);
            });
        }
    });
}

#[test]
fn ivf_probing_more_lists_does_not_lose_recall() {
    let data = Data::new();
    let metric = Metric::L2;
    let index = build(&IndexKind::IvfFlat { nlist: 32 }, metric, &data.base(metric), 1).unwrap();
    let truth = brute_force(metric, &data.base(metric), &data.queries(metric), &params(K), None).unwrap();
    let all = SearchParams { nprobe: Some(32), ..params(K) };
    let got = index.search(&data.queries(metric), &all, None).unwrap();
    assert_eq!(recall(metric, &got, &truth), 1.0, "probing every list is exhaustive");
    let one = SearchParams { nprobe: Some(1), ..params(K) };
    let r1 = recall(metric, &index.search(&data.queries(metric), &one, None).unwrap(), &truth);
    assert!(r1 < 1.0 && r1 > 0.3, "nprobe=1 recall {r1}");
}

// ---------------------------------------------------------------------------------------
// Serialization

#[test]
fn round_trip_gives_identical_results() {
    let data = Data::new();
    let allow = allow_bitmap(0.5, 3);
    for (kind, metric, index) in build_all(&data) {
        let what = format!("{kind:?}/{metric:?}");
        let bytes = index.to_bytes().unwrap();
        let loaded = load(&bytes).unwrap();
        assert_eq!(loaded.kind(), &kind, "{what}");
        assert_eq!(
            (loaded.metric(), loaded.len(), loaded.dim(), loaded.is_binary()),
            (metric, N, index.dim(), metric.is_binary()),
            "{what}"
        );
        for allow in [None, Some(&allow[..])] {
            let a = index.search(&data.queries(metric), &params(K), allow).unwrap();
            let b = loaded.search(&data.queries(metric), &params(K), allow).unwrap();
            assert_eq!(a, b, "{what}");
        }
        assert_eq!(loaded.to_bytes().unwrap(), bytes, "{what}: re-serialization differs");
    }
}

#[test]
fn load_refuses_garbage_damage_and_future_versions() {
    let data = Data::new();
    for kind in kinds().into_iter().chain(quantized_kinds()) {
        let bytes = build(&kind, Metric::L2, &data.base(Metric::L2), 1).unwrap().to_bytes().unwrap();
        assert_eq!(&bytes[..4], b"QVIX");
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        // Kinds an older format knows are written in it, so older builds still read them.
        assert_eq!(version, if quantized_kinds().contains(&kind) { 3 } else { 2 }, "{kind:?}");

        let corrupt = |b: &[u8]| matches!(load(b), Err(IndexError::Corrupt { .. }));
        assert!(corrupt(b""), "{kind:?}: empty");
        assert!(corrupt(b"definitely not an index, just some bytes"), "{kind:?}: garbage");
        assert!(corrupt(&bytes[..bytes.len() / 2]), "{kind:?}: truncated");
        let mut flipped = bytes.clone();
        let at = bytes.len() - 17;
        flipped[at] ^= 0x40;
        assert!(corrupt(&flipped), "{kind:?}: flipped bit");
        let mut grown = bytes.clone();
        grown.push(0);
        assert!(corrupt(&grown), "{kind:?}: trailing byte");

        let mut newer = bytes.clone();
        newer[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        match load(&newer) {
            Err(e @ IndexError::NewerVersion { .. }) => assert!(e.to_string().contains("newer")),
            other => panic!("{kind:?}: expected NewerVersion, got {:?}", other.err()),
        }
    }
}

/// Rows of the golden files of every version: a fixed formula, so the tests can
/// regenerate what was indexed.
fn golden_float_rows(n: usize, dim: usize) -> Vec<f32> {
    (0..n * dim).map(|x| ((x * 7919 + (x / dim) * 104_729) % 1009) as f32 / 1009.0 - 0.5).collect()
}

fn golden_bit_rows(n: usize, bytes: usize) -> Vec<u8> {
    (0..n * bytes).map(|x| ((x * 7919 + (x / bytes) * 104_729) % 251) as u8).collect()
}

fn golden_file(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

#[test]
fn version_1_hnsw_files_still_load_and_search_exactly() {
    let (n, dim) = (2500, 8);
    let floats = golden_float_rows(n, dim);
    let bits = golden_bit_rows(n, 8);
    for (file, metric) in [("l2", Metric::L2), ("ip", Metric::Ip), ("hamming", Metric::Hamming)] {
        let bytes = std::fs::read(golden_file(&format!("hnsw_v1_{file}.qvix"))).unwrap();
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 1);
        let index = load(&bytes).unwrap();
        assert_eq!((index.kind(), index.len()), (&IndexKind::Hnsw { m: 8, ef_construction: 64 }, n), "{file}");
        let (base, queries) = if metric.is_binary() {
            (Vectors::Binary { dim_bits: 64, data: &bits }, Vectors::Binary { dim_bits: 64, data: &bits[..80] })
        } else {
            (Vectors::Float { dim, data: &floats }, Vectors::Float { dim, data: &floats[..10 * dim] })
        };
        let p = params(K);
        let truth = brute_force(metric, &base, &queries, &p, None).unwrap();
        // The graph path: candidates rescored against the rows recovered from the graph.
        let got = index.search(&queries, &p, None).unwrap();
        assert!(recall(metric, &got, &truth) >= 0.9, "{file}: recall {}", recall(metric, &got, &truth));
        // The exact path over the recovered rows gives brute force's answer exactly.
        let allow: Vec<bool> = (0..n).map(|r| r % 10 == 0).collect();
        let exact = brute_force(metric, &base, &queries, &p, Some(&allow)).unwrap();
        assert_eq!(index.search(&queries, &p, Some(&allow)).unwrap(), exact, "{file}");
        // Saved again, it is a current-version file with the same answers.
        let again = load(&index.to_bytes().unwrap()).unwrap();
        assert_eq!(again.search(&queries, &p, Some(&allow)).unwrap(), exact, "{file}");
    }
}

/// Top-5 rows for each of the four queries of [`V2Data`].
type Nearest = [[u32; 5]; 4];

/// The version 2 golden files (HNSW stores exact rows beside its graph, bfloat16 graph
/// rows for L2 and COSINE): name, kind, metric and the rows their searches must return,
/// over [`V2_ROWS`] rows of [`V2_DIM`] floats or [`V2_BITS`] bits.
const V2_GOLDEN: [(&str, IndexKind, Metric, Nearest); 6] = [
    (
        "hnsw_v2_l2.qvix",
        IndexKind::Hnsw { m: 8, ef_construction: 32 },
        Metric::L2,
        [[0, 16, 11, 6, 22], [5, 21, 10, 15, 20], [9, 4, 14, 17, 1], [0, 13, 16, 18, 11]],
    ),
    (
        "hnsw_v2_ip.qvix",
        IndexKind::Hnsw { m: 8, ef_construction: 32 },
        Metric::Ip,
        [[22, 6, 11, 16, 0], [21, 5, 10, 15, 20], [1, 17, 12, 7, 23], [6, 23, 0, 7, 11]],
    ),
    (
        "hnsw_v2_cosine.qvix",
        IndexKind::Hnsw { m: 8, ef_construction: 32 },
        Metric::Cosine,
        [[0, 16, 11, 6, 22], [5, 21, 10, 15, 20], [1, 17, 12, 7, 23], [0, 13, 16, 18, 11]],
    ),
    (
        "hnsw_v2_hamming.qvix",
        IndexKind::Hnsw { m: 8, ef_construction: 32 },
        Metric::Hamming,
        [[0, 9, 18, 23, 7], [5, 14, 23, 12, 21], [14, 18, 7, 0, 9], [19, 12, 7, 8, 10]],
    ),
    (
        "ivf_flat_v2_l2.qvix",
        IndexKind::IvfFlat { nlist: 4 },
        Metric::L2,
        [[0, 16, 11, 6, 22], [5, 21, 10, 15, 20], [9, 4, 14, 17, 1], [0, 13, 16, 18, 11]],
    ),
    (
        "flat_v2_cosine.qvix",
        IndexKind::Flat,
        Metric::Cosine,
        [[0, 16, 11, 6, 22], [5, 21, 10, 15, 20], [1, 17, 12, 7, 23], [0, 13, 16, 18, 11]],
    ),
];
const V2_ROWS: usize = 24;
const V2_DIM: usize = 4;
const V2_BITS: usize = 32;

/// What the version 2 golden files index, each followed by four queries: rows 0 and 5
/// as they are, and two vectors that are no row.
struct V2Data {
    floats: Vec<f32>,
    bits: Vec<u8>,
}

impl V2Data {
    fn new() -> V2Data {
        let mut floats = golden_float_rows(V2_ROWS, V2_DIM);
        floats.extend_from_within(..V2_DIM);
        floats.extend_from_within(5 * V2_DIM..6 * V2_DIM);
        floats.extend([0.25, -0.5, 0.125, 0.0, -0.3, 0.3, -0.3, 0.3]);
        let bytes = V2_BITS / 8;
        let mut bits = golden_bit_rows(V2_ROWS, bytes);
        bits.extend_from_within(..bytes);
        bits.extend_from_within(5 * bytes..6 * bytes);
        bits.extend([0x0f, 0xf0, 0x55, 0xaa, 0xff, 0x00, 0x00, 0x01]);
        V2Data { floats, bits }
    }

    /// Rows `range` (the base is `0..V2_ROWS`, the queries `V2_ROWS..V2_ROWS + 4`) in
    /// `metric`'s vector type.
    fn vectors(&self, metric: Metric, range: std::ops::Range<usize>) -> Vectors<'_> {
        if metric.is_binary() {
            let bytes = V2_BITS / 8;
            Vectors::Binary { dim_bits: V2_BITS, data: &self.bits[range.start * bytes..range.end * bytes] }
        } else {
            Vectors::Float { dim: V2_DIM, data: &self.floats[range.start * V2_DIM..range.end * V2_DIM] }
        }
    }
}

/// The version 2 files load and answer searches exactly: the known nearest rows, with
/// brute force's scores over the known rows (which pins the stored rows), on the graph
/// and list paths and on the exact path of a filtered search.
#[test]
fn version_2_files_still_load_and_search_exactly() {
    let data = V2Data::new();
    for (file, kind, metric, nearest) in V2_GOLDEN {
        let bytes = std::fs::read(golden_file(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 2, "{file}");
        let index = load(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let dim = if metric.is_binary() { V2_BITS } else { V2_DIM };
        assert_eq!((index.kind(), index.metric(), index.dim(), index.len()), (&kind, metric, dim, V2_ROWS), "{file}");
        let (base, queries) = (data.vectors(metric, 0..V2_ROWS), data.vectors(metric, V2_ROWS..V2_ROWS + 4));
        let p = SearchParams { ef: Some(V2_ROWS), nprobe: Some(4), ..SearchParams::top_k(5) };
        let truth = brute_force(metric, &base, &queries, &p, None).unwrap();
        assert_eq!(index.search(&queries, &p, None).unwrap(), truth, "{file}");
        let allow: Vec<bool> = (0..V2_ROWS).map(|r| r % 3 != 0).collect();
        let exact = brute_force(metric, &base, &queries, &p, Some(&allow)).unwrap();
        assert_eq!(index.search(&queries, &p, Some(&allow)).unwrap(), exact, "{file}");
        let rows: Vec<Vec<u32>> = truth.iter().map(|hits| hits.iter().map(|h| h.row).collect()).collect();
        assert_eq!(rows, nearest.map(Vec::from), "{file}");
    }
}

/// The kinds version 2 knows are still written in version 2, so a loaded version 2 file
/// saves back byte for byte.
#[test]
fn current_writer_reproduces_the_v2_golden_files() {
    for (file, ..) in V2_GOLDEN {
        let bytes = std::fs::read(golden_file(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(load(&bytes).unwrap().to_bytes().unwrap() == bytes, "{file}: saved again, the bytes differ");
    }
}

/// Writes the version 2 golden files. Only for introducing them: an existing file is
/// never overwritten (re-blessing would hide a format change).
#[test]
#[ignore]
fn bless_version_2_golden_files() {
    if std::env::var("QUIVER_BLESS_GOLDEN").as_deref() != Ok("1") {
        eprintln!("set QUIVER_BLESS_GOLDEN=1 to write golden files");
        return;
    }
    let data = V2Data::new();
    for (file, kind, metric, _) in V2_GOLDEN {
        let base = data.vectors(metric, 0..V2_ROWS);
        let bytes = build(&kind, metric, &base, 1).unwrap().to_bytes().unwrap();
        write_golden(file, &bytes);
    }
}

/// The version 3 golden files (IVF_SQ8 and IVF_PQ), over the same rows as version 2:
/// name, kind, metric and the rows their searches return (top 5 of the four queries,
/// nprobe 4). Quantized scores are approximate, so the rows, not brute force, pin them.
const V3_GOLDEN: [(&str, IndexKind, Metric, Nearest); 2] = [
    (
        "ivf_sq8_v3_l2.qvix",
        IndexKind::IvfSq8 { nlist: 4, refine: false },
        Metric::L2,
        [[0, 16, 11, 6, 22], [5, 21, 10, 15, 20], [9, 4, 14, 17, 20], [0, 16, 13, 18, 11]],
    ),
    (
        "ivf_pq_v3_ip.qvix",
        IndexKind::IvfPq { nlist: 4, m: 2, nbits: 3, refine: true },
        Metric::Ip,
        [[22, 6, 11, 16, 0], [21, 5, 10, 15, 20], [1, 17, 12, 7, 23], [6, 23, 0, 7, 11]],
    ),
];

#[test]
fn version_3_files_still_load_and_search_the_same() {
    let data = V2Data::new();
    for (file, kind, metric, nearest) in V3_GOLDEN {
        let bytes = std::fs::read(golden_file(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 3, "{file}");
        let index = load(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((index.kind(), index.metric(), index.dim(), index.len()), (&kind, metric, V2_DIM, V2_ROWS), "{file}");
        let queries = data.vectors(metric, V2_ROWS..V2_ROWS + 4);
        let p = SearchParams { nprobe: Some(4), ..SearchParams::top_k(5) };
        let hits = index.search(&queries, &p, None).unwrap();
        let rows: Vec<Vec<u32>> = hits.iter().map(|hits| hits.iter().map(|h| h.row).collect()).collect();
        assert_eq!(rows, nearest.map(Vec::from), "{file}");
        if refines(&kind) {
            let truth = brute_force(metric, &data.vectors(metric, 0..V2_ROWS), &queries, &p, None).unwrap();
            assert_eq!(hits, truth, "{file}: refined over every list is exact");
        }
    }
}

/// While version 3 is the current version, a loaded version 3 file saves back byte for
/// byte.
#[test]
fn current_writer_reproduces_the_v3_golden_files() {
    for (file, ..) in V3_GOLDEN {
        let bytes = std::fs::read(golden_file(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(load(&bytes).unwrap().to_bytes().unwrap() == bytes, "{file}: saved again, the bytes differ");
    }
}

/// Writes the version 3 golden files; as for version 2, never over an existing file.
#[test]
#[ignore]
fn bless_version_3_golden_files() {
    if std::env::var("QUIVER_BLESS_GOLDEN").as_deref() != Ok("1") {
        eprintln!("set QUIVER_BLESS_GOLDEN=1 to write golden files");
        return;
    }
    assert_eq!(FORMAT_VERSION, 3, "only a version 3 build writes version 3 files");
    let data = V2Data::new();
    for (file, kind, metric, _) in V3_GOLDEN {
        let bytes = build(&kind, metric, &data.vectors(metric, 0..V2_ROWS), 1).unwrap().to_bytes().unwrap();
        write_golden(file, &bytes);
    }
}

fn write_golden(file: &str, bytes: &[u8]) {
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(golden_file(file))
        .unwrap_or_else(|e| panic!("{file}: {e} (golden files are written once, never rewritten)"));
    std::io::Write::write_all(&mut out, bytes).unwrap();
}

// ---------------------------------------------------------------------------------------
// Errors and edge cases

#[test]
fn invalid_inputs_are_typed_errors() {
    let data = Data::new();
    let float = data.base(Metric::L2);
    let binary = data.base(Metric::Hamming);
    for kind in kinds() {
        assert!(matches!(build(&kind, Metric::Hamming, &float, 1), Err(IndexError::UnsupportedMetric { .. })));
        assert!(matches!(build(&kind, Metric::L2, &binary, 1), Err(IndexError::UnsupportedMetric { .. })));
        let index = build(&kind, Metric::L2, &float, 1).unwrap();
        let short = Vectors::Float { dim: DIM - 1, data: &data.queries_f[..(DIM - 1) * 2] };
        assert!(matches!(index.search(&short, &params(K), None), Err(IndexError::DimensionMismatch { expected: DIM, got: 31 })));
        let bin_q = Vectors::Binary { dim_bits: BITS, data: &data.queries_b };
        assert!(matches!(index.search(&bin_q, &params(K), None), Err(IndexError::VectorTypeMismatch { .. })));
        assert!(matches!(
            index.search(&data.queries(Metric::L2), &params(K), Some(&[true; 3])),
            Err(IndexError::AllowLength { expected: N, got: 3 })
        ));
        let bad_range = SearchParams { radius: Some(1.0), range_filter: Some(2.0), ..params(K) };
        assert!(matches!(
            index.search(&data.queries(Metric::L2), &bad_range, None),
            Err(IndexError::InvalidParam { name: "range_filter", .. })
        ));
    }
    let ragged = Vectors::Float { dim: DIM, data: &data.base_f[..DIM + 1] };
    assert!(matches!(build(&IndexKind::Flat, Metric::L2, &ragged, 1), Err(IndexError::RaggedVectors { .. })));
    let odd_bits = Vectors::Binary { dim_bits: 12, data: &data.base_b[..4] };
    assert!(matches!(build(&IndexKind::Flat, Metric::Hamming, &odd_bits, 1), Err(IndexError::InvalidParam { .. })));
    assert!(matches!(build(&IndexKind::IvfFlat { nlist: 0 }, Metric::L2, &float, 1), Err(IndexError::InvalidParam { .. })));
    assert!(matches!(build(&IndexKind::Hnsw { m: 0, ef_construction: 10 }, Metric::L2, &float, 1), Err(IndexError::InvalidParam { .. })));
    let ivf = build(&IndexKind::IvfFlat { nlist: 8 }, Metric::L2, &float, 1).unwrap();
    let p = SearchParams { nprobe: Some(0), ..params(K) };
    assert!(matches!(ivf.search(&data.queries(Metric::L2), &p, None), Err(IndexError::InvalidParam { .. })));
    let hnsw = build(&IndexKind::Hnsw { m: 8, ef_construction: 40 }, Metric::L2, &float, 1).unwrap();
    let p = SearchParams { ef: Some(5), ..params(K) };
    assert!(matches!(hnsw.search(&data.queries(Metric::L2), &p, None), Err(IndexError::InvalidParam { name: "ef", .. })));
    let default_ef = SearchParams { ef: None, ..params(K) };
    assert_eq!(hnsw.search(&data.queries(Metric::L2), &default_ef, None).unwrap()[0].len(), K);
}

#[test]
fn small_empty_and_degenerate_inputs() {
    for kind in kinds() {
        // Empty index.
        let empty = Vectors::Float { dim: 4, data: &[] };
        let index = build(&kind, Metric::L2, &empty, 2).unwrap();
        assert!(index.is_empty());
        let q = Vectors::Float { dim: 4, data: &[1.0, 0.0, 0.0, 0.0] };
        assert_eq!(index.search(&q, &params(K), None).unwrap(), vec![Vec::<Hit>::new()]);
        let reloaded = load(&index.to_bytes().unwrap()).unwrap();
        assert!(reloaded.is_empty());

        // Fewer rows than k and than nlist; a zero vector under COSINE scores 0.
        let data = [1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let index = build(&kind, Metric::Cosine, &Vectors::Float { dim: 4, data: &data }, 1).unwrap();
        let hits = index.search(&q, &params(K), None).unwrap().remove(0);
        assert_eq!(hits.len(), 3, "{kind:?}");
        assert_eq!(hits[0], Hit { row: 0, score: 1.0 });
        assert!(hits[1..].iter().all(|h| h.score.abs() < 1e-6), "{kind:?}: {hits:?}");
        assert!(index.search(&q, &params(0), None).unwrap()[0].is_empty());
        // No queries.
        assert!(index.search(&Vectors::Float { dim: 4, data: &[] }, &params(K), None).unwrap().is_empty());
    }
}

#[test]
fn ip_scores_unnormalised_vectors() {
    let data = [1.0, 1.0, 3.0, 3.0, -1.0, 0.5];
    for kind in kinds() {
        let index = build(&kind, Metric::Ip, &Vectors::Float { dim: 2, data: &data }, 1).unwrap();
        let q = Vectors::Float { dim: 2, data: &[2.0, 1.0] };
        let hits = index.search(&q, &params(3), None).unwrap().remove(0);
        assert_eq!(hits, vec![Hit { row: 1, score: 9.0 }, Hit { row: 0, score: 3.0 }, Hit { row: 2, score: -1.5 }]);
    }
}

// ---------------------------------------------------------------------------------------
// Benchmark (release only):
// cargo test --release -j2 -p quiver-index -- --ignored --nocapture

#[test]
#[ignore = "benchmark: 100k x 128 HNSW, run in release with --nocapture"]
fn benchmark_hnsw_100k() {
    let (n, dim, nq) = (100_000, 128, 1_000);
    let mut all = clustered(n + nq, dim, 100, 0.1, 2024);
    let queries = all.split_off(n * dim);
    let base = Vectors::Float { dim, data: &all };
    let qv = Vectors::Float { dim, data: &queries };
    let metric = Metric::L2;
    println!("\n100k x 128 clustered (100 centres, sigma 0.1), L2, top-10");

    let t = Instant::now();
    let truth = brute_force(metric, &base, &qv, &SearchParams { threads: 2, ..SearchParams::top_k(K) }, None).unwrap();
    let bf = t.elapsed().as_secs_f64();
    println!("brute force, batch of {nq}, 2 threads: {:.0} QPS", nq as f64 / bf);
    let (t, cpu) = (Instant::now(), thread_cpu_secs());
    for q in 0..100 {
        let one = Vectors::Float { dim, data: &queries[q * dim..(q + 1) * dim] };
        brute_force(metric, &base, &one, &SearchParams::top_k(K), None).unwrap();
    }
    println!(
        "brute force, 1 query at a time: {:.0} QPS ({:.0}/CPU-s)",
        100.0 / t.elapsed().as_secs_f64(),
        100.0 / (thread_cpu_secs() - cpu).max(0.01)
    );

    let kind = IndexKind::Hnsw { m: 16, ef_construction: 200 };
    let mut index = None;
    for threads in [1, 2] {
        let (t, cpu) = (Instant::now(), process_cpu_secs());
        index = Some(build(&kind, metric, &base, threads).unwrap());
        println!(
            "HNSW M=16 efConstruction=200 build, {threads} thread(s): {:.1} s ({:.1} CPU-s)",
            t.elapsed().as_secs_f64(),
            process_cpu_secs() - cpu
        );
    }
    let index = index.unwrap();

    // Wall-clock QPS, and QPS per CPU-second of the searching thread (the machine is
    // shared, so the second is the steadier number).
    let per_query = |index: &dyn VectorIndex, p: &SearchParams, allow: Option<&[bool]>| {
        let (t, cpu) = (Instant::now(), thread_cpu_secs());
        let got: Vec<Vec<Hit>> = (0..nq)
            .map(|q| {
                let one = Vectors::Float { dim, data: &queries[q * dim..(q + 1) * dim] };
                index.search(&one, p, allow).unwrap().remove(0)
            })
            .collect();
        let qps =
            format!("{:>5.0} QPS ({:>5.0}/CPU-s)", nq as f64 / t.elapsed().as_secs_f64(), nq as f64 / (thread_cpu_secs() - cpu).max(0.01));
        (qps, got)
    };
    for ef in [16, 32, 64, 128] {
        let p = SearchParams { ef: Some(ef), ..SearchParams::top_k(K) };
        let (qps, got) = per_query(index.as_ref(), &p, None);
        println!("HNSW ef={ef:>3}: {qps}, 1 query thread, recall@10 {:.3}", recall(metric, &got, &truth));
    }

    let t = Instant::now();
    let bytes = index.to_bytes().unwrap();
    let ser = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let loaded = load(&bytes).unwrap();
    println!("serialize {:.0} MB in {ser:.2} s, load in {:.2} s", bytes.len() as f64 / 1e6, t.elapsed().as_secs_f64());
    let p64 = SearchParams { ef: Some(64), ..SearchParams::top_k(K) };
    let (qps, got) = per_query(loaded.as_ref(), &p64, None);
    println!("loaded HNSW ef=64: {qps}, recall@10 {:.3}", recall(metric, &got, &truth));

    // Filtered search across selectivities (the exact path below brute_force_limit).
    println!("filtered HNSW ef=64 (exact below {} allowed rows):", quiver_index::brute_force_limit(n, 64, 16));
    for fraction in [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5] {
        let mut rng = Rng::new(77);
        let allow: Vec<bool> = (0..n).map(|_| (rng.unit() as f64) < fraction).collect();
        let truth = brute_force(metric, &base, &qv, &SearchParams { threads: 2, ..SearchParams::top_k(K) }, Some(&allow)).unwrap();
        let (qps, got) = per_query(index.as_ref(), &p64, Some(&allow));
        println!("  {:>5.1}% allowed: {qps}, recall@10 {:.3}", fraction * 100.0, recall(metric, &got, &truth));
    }

    let t = Instant::now();
    let ivf = build(&IndexKind::IvfFlat { nlist: 256 }, metric, &base, 2).unwrap();
    println!("IVF_FLAT nlist=256 build, 2 threads: {:.1} s", t.elapsed().as_secs_f64());
    for nprobe in [8, 16, 32] {
        let p = SearchParams { nprobe: Some(nprobe), ..SearchParams::top_k(K) };
        let (qps, got) = per_query(ivf.as_ref(), &p, None);
        println!("IVF_FLAT nprobe={nprobe:>2}: {qps}, recall@10 {:.3}", recall(metric, &got, &truth));
    }
}

/// User + system CPU seconds from a `/proc/.../stat` line (Linux; 0 elsewhere).
fn cpu_secs(path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(path) else { return 0.0 };
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0 // USER_HZ is 100 on Linux
}

fn thread_cpu_secs() -> f64 {
    cpu_secs("/proc/thread-self/stat")
}

fn process_cpu_secs() -> f64 {
    cpu_secs("/proc/self/stat")
}

// ---------------------------------------------------------------------------------------
// Quantized IVF (IVF_SQ8, IVF_PQ)

fn quantized_kinds() -> Vec<IndexKind> {
    let mut out = Vec::new();
    for refine in [false, true] {
        out.push(IndexKind::IvfSq8 { nlist: 32, refine });
        out.push(IndexKind::IvfPq { nlist: 32, m: 8, nbits: 8, refine });
    }
    out
}

/// Recall@10 each quantized kind reaches here with nprobe 8: codes lose a little to
/// IVF_FLAT (0.95), refine wins it back.
fn quantized_min_recall(kind: &IndexKind) -> f64 {
    match kind {
        IndexKind::IvfSq8 { refine: false, .. } => 0.9,
        IndexKind::IvfPq { refine: false, .. } => 0.6,
        _ => 0.93,
    }
}

fn refines(kind: &IndexKind) -> bool {
    matches!(kind, IndexKind::IvfSq8 { refine: true, .. } | IndexKind::IvfPq { refine: true, .. })
}

#[test]
fn quantized_ivf_reaches_its_recall_and_refine_reports_exact_scores() {
    let data = Data::new();
    for kind in quantized_kinds() {
        for metric in FLOAT_METRICS {
            let what = format!("{kind:?}/{metric:?}");
            let index = build(&kind, metric, &data.base(metric), 2).unwrap();
            assert_eq!((index.kind(), index.len()), (&kind, N), "{what}");
            let truth = brute_force(metric, &data.base(metric), &data.queries(metric), &params(K), None).unwrap();
            let got = index.search(&data.queries(metric), &params(K), None).unwrap();
            got.iter().for_each(|h| assert_sorted(metric, h, &what));
            assert!(got.iter().all(|h| h.len() == K), "{what}: fewer than k hits");
            let r = recall(metric, &got, &truth);
            println!("{what}: recall@10 {r:.3}");
            assert!(r >= quantized_min_recall(&kind), "{what}: recall@10 {r:.3}");
            if refines(&kind) {
                for (q, hits) in got.iter().enumerate() {
                    for h in hits {
                        let naive = data.naive(metric, q, h.row as usize);
                        assert!((h.score - naive).abs() < 1e-3 * (1.0 + naive.abs()), "{what}: refined score {} vs {naive}", h.score);
                    }
                }
            }
            // Filtered: only allowed rows, and a sparse filter still finds them.
            for (i, fraction) in [0.5, 0.01].into_iter().enumerate() {
                let allow = allow_bitmap(fraction, 200 + i as u64);
                let truth = brute_force(metric, &data.base(metric), &data.queries(metric), &params(K), Some(&allow)).unwrap();
                let got = index.search(&data.queries(metric), &params(K), Some(&allow)).unwrap();
                assert!(got.iter().flatten().all(|h| allow[h.row as usize]), "{what}: a disallowed row came back");
                let r = recall(metric, &got, &truth);
                assert!(r >= quantized_min_recall(&kind) - 0.1, "{what} at {fraction}: filtered recall {r:.3}");
            }
        }
    }
}

#[test]
fn quantized_ivf_round_trips_and_is_written_as_format_3() {
    let data = Data::new();
    let allow = allow_bitmap(0.5, 3);
    for kind in quantized_kinds() {
        let metric = Metric::Cosine;
        let index = build(&kind, metric, &data.base(metric), 1).unwrap();
        let bytes = index.to_bytes().unwrap();
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 3, "{kind:?}: the version that introduced it");
        let loaded = load(&bytes).unwrap();
        assert_eq!(loaded.kind(), &kind);
        for allow in [None, Some(&allow[..])] {
            let a = index.search(&data.queries(metric), &params(K), allow).unwrap();
            assert_eq!(a, loaded.search(&data.queries(metric), &params(K), allow).unwrap(), "{kind:?}");
        }
        // Damage anywhere in the body is caught by the checksum.
        let mut damaged = bytes.clone();
        let at = damaged.len() - 3;
        damaged[at] ^= 0x40;
        assert!(matches!(load(&damaged), Err(IndexError::Corrupt { .. })), "{kind:?}");
    }
}

#[test]
fn quantized_ivf_range_search_keeps_to_the_range() {
    let data = Data::new();
    for kind in quantized_kinds() {
        for metric in FLOAT_METRICS {
            let (radius, range_filter) = range_bounds(metric, &data);
            let index = build(&kind, metric, &data.base(metric), 1).unwrap();
            let p = SearchParams { radius: Some(radius), range_filter: Some(range_filter), refine_candidates: Some(N), ..params(N) };
            let got = index.search(&data.queries(metric), &p, None).unwrap();
            assert!(got.iter().map(Vec::len).sum::<usize>() > NQ * 10, "{kind:?}/{metric:?}: range found little");
            for hits in &got {
                assert!(hits.iter().all(|h| in_range(metric, h.score, radius, range_filter)), "{kind:?}/{metric:?}");
            }
        }
    }
}

#[test]
fn quantized_ivf_refuses_binary_vectors_and_a_bad_pq_shape() {
    let data = Data::new();
    let refused = |kind: IndexKind, metric: Metric| build(&kind, metric, &data.base(metric), 1).err().expect("refused").to_string();
    let err = refused(IndexKind::IvfSq8 { nlist: 8, refine: false }, Metric::Hamming);
    assert!(err.contains("float vectors only"), "{err}");
    let err = refused(IndexKind::IvfPq { nlist: 8, m: 5, nbits: 8, refine: false }, Metric::L2);
    assert!(err.contains("multiple of the number of subquantizers"), "{err}");
    let err = refused(IndexKind::IvfPq { nlist: 8, m: 8, nbits: 12, refine: false }, Metric::L2);
    assert!(err.contains("nbits"), "{err}");
}

#[test]
fn more_refine_candidates_do_not_lose_recall() {
    let data = Data::new();
    let metric = Metric::L2;
    let index = build(&IndexKind::IvfPq { nlist: 32, m: 4, nbits: 4, refine: true }, metric, &data.base(metric), 1).unwrap();
    let truth = brute_force(metric, &data.base(metric), &data.queries(metric), &params(K), None).unwrap();
    let recall_with = |candidates: usize| {
        let p = SearchParams { nprobe: Some(32), refine_candidates: Some(candidates), ..params(K) };
        recall(metric, &index.search(&data.queries(metric), &p, None).unwrap(), &truth)
    };
    let (few, many) = (recall_with(K), recall_with(N));
    assert_eq!(many, 1.0, "re-scoring every row of every list is exhaustive");
    assert!(few <= many, "{few} > {many}");
}

// ---------------------------------------------------------------------------------------
// Sparse vectors

/// Sparse rows in CSR form: offsets, indices, values.
type Csr = (Vec<i32>, Vec<u32>, Vec<f32>);

/// Seeded sparse rows in CSR form: `nnz` distinct terms below `dim` per row, values in
/// (0, 1].
fn sparse_rows(n: usize, dim: u32, nnz: usize, seed: u64) -> Csr {
    let mut rng = Rng::new(seed);
    let (mut offsets, mut indices, mut values) = (vec![0i32], Vec::new(), Vec::new());
    for _ in 0..n {
        let mut terms: Vec<u32> = Vec::new();
        while terms.len() < nnz {
            let t = rng.below(dim as usize) as u32;
            if !terms.contains(&t) {
                terms.push(t);
            }
        }
        terms.sort_unstable();
        for t in terms {
            indices.push(t);
            values.push(rng.unit().max(1e-3));
        }
        offsets.push(indices.len() as i32);
    }
    (offsets, indices, values)
}

fn sparse_kinds() -> Vec<IndexKind> {
    vec![
        IndexKind::SparseInverted { algo: SparseAlgo::TaatNaive, drop_ratio_build: 0.0 },
        IndexKind::SparseInverted { algo: SparseAlgo::DaatMaxscore, drop_ratio_build: 0.0 },
        IndexKind::SparseWand { drop_ratio_build: 0.0 },
    ]
}

#[test]
fn sparse_index_search_equals_brute_force_with_filters_and_ranges() {
    let (bo, bi, bv) = sparse_rows(2000, 500, 12, 41);
    let (qo, qi, qv) = sparse_rows(8, 500, 6, 42);
    let base = Vectors::Sparse(SparseRows { offsets: &bo, indices: &bi, values: &bv });
    let queries = Vectors::Sparse(SparseRows { offsets: &qo, indices: &qi, values: &qv });
    let allow = allow_bitmap(0.3, 43);
    for kind in sparse_kinds() {
        let index = build(&kind, Metric::Ip, &base, 1).unwrap();
        let again = load(&index.to_bytes().unwrap()).unwrap();
        for p in [params(10), SearchParams { radius: Some(0.2), range_filter: Some(0.9), ..params(50) }] {
            let truth = brute_force(Metric::Ip, &base, &queries, &p, None).unwrap();
            assert!(truth.iter().all(|hits| !hits.is_empty()), "{kind:?}: the queries share terms with some rows");
            assert_eq!(index.search(&queries, &p, None).unwrap(), truth, "{kind:?}");
            assert_eq!(again.search(&queries, &p, None).unwrap(), truth, "{kind:?} after a round trip");
            let filtered = brute_force(Metric::Ip, &base, &queries, &p, Some(&allow)).unwrap();
            assert_eq!(index.search(&queries, &p, Some(&allow)).unwrap(), filtered, "{kind:?}");
        }
    }
    // The exact score of one hit, by hand.
    let hit = brute_force(Metric::Ip, &base, &queries, &params(1), None).unwrap()[0][0];
    let row = hit.row as usize;
    let (terms, values) = (&bi[bo[row] as usize..bo[row + 1] as usize], &bv[bo[row] as usize..bo[row + 1] as usize]);
    let want: f32 =
        (qo[0] as usize..qo[1] as usize).filter_map(|i| terms.iter().position(|&t| t == qi[i]).map(|at| qv[i] * values[at])).sum();
    assert!((hit.score - want).abs() < 1e-5, "{} vs {want}", hit.score);
}

#[test]
fn sparse_drop_ratios_leave_out_the_smallest_values() {
    let offsets = [0, 2, 4];
    let (indices, values) = ([1, 2, 1, 2], [0.9, 0.1, 0.2, 0.8]);
    let base = Vectors::Sparse(SparseRows { offsets: &offsets, indices: &indices, values: &values });
    let query_offsets = [0, 2];
    let query = Vectors::Sparse(SparseRows { offsets: &query_offsets, indices: &[1, 2], values: &[1.0, 1.0] });
    // Half of all stored values (0.1 and 0.2) are dropped at build.
    let index = build(&IndexKind::SparseWand { drop_ratio_build: 0.5 }, Metric::Ip, &base, 1).unwrap();
    let hits = index.search(&query, &params(2), None).unwrap();
    assert_eq!(hits[0], vec![Hit { row: 0, score: 0.9 }, Hit { row: 1, score: 0.8 }]);
    // Half of the query's values (term 2's, the smaller) are dropped at search.
    let skewed = Vectors::Sparse(SparseRows { offsets: &query_offsets, indices: &[1, 2], values: &[1.0, 0.5] });
    let p = SearchParams { drop_ratio_search: Some(0.5), ..params(2) };
    let hits = brute_force(Metric::Ip, &base, &skewed, &p, None).unwrap();
    assert_eq!(hits[0].iter().map(|h| h.row).collect::<Vec<_>>(), [0, 1]);
    assert!((hits[0][1].score - 0.2).abs() < 1e-6);
    assert!(build(&IndexKind::Flat, Metric::Ip, &base, 1).is_err(), "dense kinds refuse sparse rows");
    assert!(build(&IndexKind::SparseWand { drop_ratio_build: 0.0 }, Metric::L2, &base, 1).is_err(), "sparse is IP only");
}

/// The version 4 golden files (the sparse kinds) over 60 seeded rows: name, kind and
/// the rows the two queries' top 5 are.
const V4_GOLDEN: [(&str, IndexKind); 2] = [
    ("sparse_inverted_v4_ip.qvix", IndexKind::SparseInverted { algo: SparseAlgo::DaatWand, drop_ratio_build: 0.0 }),
    ("sparse_wand_v4_ip.qvix", IndexKind::SparseWand { drop_ratio_build: 0.0 }),
];

fn v4_data() -> (Csr, Csr) {
    (sparse_rows(60, 40, 5, 404), sparse_rows(2, 40, 4, 405))
}

#[test]
fn version_4_files_still_load_and_search_exactly() {
    let ((bo, bi, bv), (qo, qi, qv)) = v4_data();
    let base = Vectors::Sparse(SparseRows { offsets: &bo, indices: &bi, values: &bv });
    let queries = Vectors::Sparse(SparseRows { offsets: &qo, indices: &qi, values: &qv });
    for (file, kind) in V4_GOLDEN {
        let bytes = std::fs::read(golden_file(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 4, "{file}");
        let index = load(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((index.kind(), index.metric(), index.len()), (&kind, Metric::Ip, 60), "{file}");
        let p = params(5);
        assert_eq!(index.search(&queries, &p, None).unwrap(), brute_force(Metric::Ip, &base, &queries, &p, None).unwrap(), "{file}");
        assert!(index.to_bytes().unwrap() == bytes, "{file}: saved again, the bytes differ");
    }
}

/// Writes the version 4 golden files; never over an existing file.
#[test]
#[ignore]
fn bless_version_4_golden_files() {
    if std::env::var("QUIVER_BLESS_GOLDEN").as_deref() != Ok("1") {
        eprintln!("set QUIVER_BLESS_GOLDEN=1 to write golden files");
        return;
    }
    assert_eq!(FORMAT_VERSION, 4, "only a version 4 build writes version 4 files");
    let ((bo, bi, bv), _) = v4_data();
    let base = Vectors::Sparse(SparseRows { offsets: &bo, indices: &bi, values: &bv });
    for (file, kind) in V4_GOLDEN {
        write_golden(file, &build(&kind, Metric::Ip, &base, 1).unwrap().to_bytes().unwrap());
    }
}
