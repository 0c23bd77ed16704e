//! The IVF family: k-means centroids and one inverted list per centroid; a search scores
//! the query against the centroids and scans the `nprobe` closest lists.
//!
//! - IVF_FLAT (and BIN_IVF_FLAT) keeps each list's rows exactly.
//! - IVF_SQ8 and IVF_PQ keep each row as a code (`quant`); a scan scores codes, so scores
//!   are approximate. Built with refine, they keep the exact rows as well, take
//!   `refine_candidates` rows by code and re-score those exactly (hits then carry exact
//!   scores).
//!
//! Rows, codes and exact rows are stored grouped by list, so a probe reads contiguous
//! blocks. A filtered search whose allowed rows are fewer than the rows a probe would scan
//! goes over the allowed rows of every list instead: cheaper, and it cannot miss them
//! (probing could miss most of them); over exact rows that is exact.

use crate::codec::{self, Header, Reader, Writer};
use crate::kmeans::{self, Rng};
use crate::quant::{Pq, Sq8};
use crate::search::{self, Bounds, Hit, SearchParams, TopK};
use crate::vectors::{self, Row, Rows, Store, Vectors};
use crate::{IndexError, IndexKind, Metric, VectorIndex};

/// Lists probed when the search does not say.
pub const DEFAULT_NPROBE: usize = 8;
/// Candidates re-scored exactly per hit wanted, when the search does not say.
const DEFAULT_REFINE_FACTOR: usize = 4;
const KMEANS_SEED: u64 = 0x5155_4956_4552; // "QUIVER"

/// How a quantized index stores its rows: the quantizer and every row's code, in list order.
enum Codes {
    Sq8 {
        quantizer: Sq8,
        codes: Vec<u8>,
    },
    /// Codes of each row's residual (row minus its list's centroid).
    Pq {
        quantizer: Pq,
        codes: Vec<u8>,
    },
}

impl Codes {
    fn width(&self) -> usize {
        match self {
            Codes::Sq8 { quantizer, .. } => quantizer.dim(),
            Codes::Pq { quantizer, .. } => quantizer.m(),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Codes::Sq8 { codes, .. } | Codes::Pq { codes, .. } => codes,
        }
    }
}

pub(crate) struct IvfIndex {
    kind: IndexKind,
    metric: Metric,
    dim: usize,
    binary: bool,
    /// One row per list; `min(nlist, rows)` lists.
    centroids: Store,
    /// List `l` is `ids[offsets[l]..offsets[l + 1]]`; rows and codes at the same positions.
    offsets: Vec<u32>,
    ids: Vec<u32>,
    /// The exact rows in list order: what IVF_FLAT scans; a quantized index keeps them
    /// only when it refines.
    exact: Option<Store>,
    /// IVF_SQ8 / IVF_PQ codes.
    codes: Option<Codes>,
}

/// The list count, and for quantized kinds whether exact rows are kept.
fn ivf_shape(kind: &IndexKind) -> (usize, bool) {
    match *kind {
        IndexKind::IvfFlat { nlist } => (nlist, true),
        IndexKind::IvfSq8 { nlist, refine } | IndexKind::IvfPq { nlist, refine, .. } => (nlist, refine),
        IndexKind::Flat | IndexKind::Hnsw { .. } | IndexKind::SparseInverted { .. } | IndexKind::SparseWand { .. } => {
            unreachable!("{kind:?} is not an IVF kind")
        }
    }
}

fn float_row(row: Row<'_>) -> &[f32] {
    match row {
        Row::Float(v) => v,
        Row::Binary(_) => unreachable!("quantized IVF over binary rows"),
    }
}

fn float_data<'a>(rows: &'a Rows) -> &'a [f32] {
    match rows {
        Rows::Float { data, .. } => data,
        Rows::Binary { .. } => unreachable!("quantized IVF over binary rows"),
    }
}

impl IvfIndex {
    /// `vectors` must have been validated against `metric`.
    pub(crate) fn build(kind: &IndexKind, metric: Metric, vectors: &Vectors, threads: usize) -> Result<IvfIndex, IndexError> {
        let (nlist, keep_exact) = ivf_shape(kind);
        if nlist == 0 {
            return Err(IndexError::param("nlist", "must be at least 1"));
        }
        let quantized = !matches!(kind, IndexKind::IvfFlat { .. });
        if quantized && vectors.is_binary() {
            return Err(IndexError::param("index_type", format!("{} serves float vectors only", kind.milvus_name(false))));
        }
        if let IndexKind::IvfPq { m, nbits, .. } = *kind {
            Pq::check(vectors.dim(), m, nbits)?;
        }
        let rows = Rows::prepared(metric, vectors);
        let n = rows.len();
        let lists = nlist.min(n);
        let mut rng = Rng::new(KMEANS_SEED);
        let sample_rows = kmeans::sample_rows(n, lists * kmeans::SAMPLE_PER_CENTROID, &mut rng);
        let sample = kmeans::gather(&rows, &sample_rows);
        let centroids = if lists == 0 { kmeans::gather(&rows, &[]) } else { kmeans::train(metric, &sample, lists, KMEANS_SEED, threads) };
        let assignment = kmeans::assign(metric, &centroids, &rows, threads);
        let mut offsets = vec![0u32; lists + 1];
        assignment.iter().for_each(|&l| offsets[l as usize + 1] += 1);
        for l in 0..lists {
            offsets[l + 1] += offsets[l];
        }
        let mut fill: Vec<u32> = offsets[..lists].to_vec();
        let mut ids = vec![0u32; n];
        for (row, &l) in assignment.iter().enumerate() {
            ids[fill[l as usize] as usize] = row as u32;
            fill[l as usize] += 1;
        }
        let order: Vec<usize> = ids.iter().map(|&r| r as usize).collect();
        let codes = match *kind {
            IndexKind::IvfSq8 { .. } => {
                let quantizer = Sq8::train(float_data(&rows), vectors.dim());
                let mut codes = Vec::with_capacity(n * vectors.dim());
                order.iter().for_each(|&r| quantizer.encode(float_row(rows.row(r)), &mut codes));
                Some(Codes::Sq8 { quantizer, codes })
            }
            IndexKind::IvfPq { m, nbits, .. } => {
                let dim = vectors.dim();
                let residual = |row: usize, list: usize| -> Vec<f32> {
                    let (v, c) = (float_row(rows.row(row)), float_row(centroids.row(list)));
                    v.iter().zip(c).map(|(v, c)| v - c).collect()
                };
                let training: Vec<f32> = sample_rows.iter().flat_map(|&r| residual(r, assignment[r] as usize)).collect();
                let quantizer = Pq::train(&training, dim, m, nbits, threads)?;
                let mut codes = Vec::with_capacity(n * m);
                order.iter().for_each(|&r| quantizer.encode(&residual(r, assignment[r] as usize), &mut codes));
                Some(Codes::Pq { quantizer, codes })
            }
            _ => None,
        };
        Ok(IvfIndex {
            kind: kind.clone(),
            metric,
            dim: vectors.dim(),
            binary: vectors.is_binary(),
            exact: keep_exact.then(|| kmeans::gather(&rows, &order)),
            centroids,
            offsets,
            ids,
            codes,
        })
    }

    pub(crate) fn load(header: Header, body: &[u8]) -> Result<IvfIndex, IndexError> {
        let (_, keep_exact) = ivf_shape(&header.kind);
        let mut r = Reader::new(body);
        let lists = r.u32()? as usize;
        let centroids = r.rows(header.binary, header.dim, lists)?;
        let offsets = r.u32s(lists + 1)?;
        let ids = r.u32s(header.rows)?;
        let codes = match header.kind {
            IndexKind::IvfSq8 { .. } => {
                let quantizer = Sq8::read(&mut r, header.dim)?;
                Some(Codes::Sq8 { codes: r.take(header.rows * header.dim)?.to_vec(), quantizer })
            }
            IndexKind::IvfPq { .. } => {
                let quantizer = Pq::read(&mut r, header.dim)?;
                let codes = r.take(header.rows * quantizer.m())?.to_vec();
                if !quantizer.codes_valid(&codes) {
                    return Err(IndexError::corrupt("PQ code names no codeword"));
                }
                Some(Codes::Pq { quantizer, codes })
            }
            _ => None,
        };
        if codes.is_some() && header.binary {
            return Err(IndexError::corrupt("quantized IVF over binary vectors"));
        }
        let exact = if keep_exact { Some(r.rows(header.binary, header.dim, header.rows)?) } else { None };
        r.finish()?;
        let monotonic = offsets.windows(2).all(|w| w[0] <= w[1]);
        if offsets[0] != 0 || !monotonic || offsets[lists] as usize != header.rows {
            return Err(IndexError::corrupt("IVF list offsets are inconsistent"));
        }
        if ids.iter().any(|&id| id as usize >= header.rows) {
            return Err(IndexError::corrupt("IVF row number out of range"));
        }
        Ok(IvfIndex {
            kind: header.kind,
            metric: header.metric,
            dim: header.dim,
            binary: header.binary,
            centroids,
            offsets,
            ids,
            exact,
            codes,
        })
    }

    fn lists(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Position ranges (into `ids`) of the lists this query scans: the `nprobe` lists
    /// nearest to it, or every list when the allowed rows are fewer than a probe would scan.
    fn lists_to_scan(&self, query: Row, nprobe: usize, allowed: Option<usize>) -> Vec<(usize, std::ops::Range<usize>)> {
        let list_range = |l: usize| (l, self.offsets[l] as usize..self.offsets[l + 1] as usize);
        let probe_rows = self.ids.len().saturating_mul(nprobe) / self.lists().max(1);
        if allowed.is_some_and(|a| a <= probe_rows) {
            return (0..self.lists()).map(list_range).collect();
        }
        let open = Bounds::new(self.metric, &SearchParams::top_k(nprobe)).expect("no range");
        let mut nearest = TopK::new(nprobe);
        search::scan(self.metric, query, &self.centroids, None, 0, None, &open, &mut nearest);
        nearest.into_hits(self.metric).into_iter().map(|h| list_range(h.row as usize)).collect()
    }

    /// Hits of query `q` over the exact rows of the scanned lists.
    fn search_exact(
        &self,
        exact: &Store,
        query: Row,
        lists: &[(usize, std::ops::Range<usize>)],
        k: usize,
        bounds: &Bounds,
        allow: Option<&[bool]>,
    ) -> Vec<Hit> {
        let mut top = TopK::new(k);
        for (_, range) in lists {
            let block = exact.slice(range.clone());
            search::scan(self.metric, query, &block, Some(&self.ids[range.clone()]), 0, allow, bounds, &mut top);
        }
        top.into_hits(self.metric)
    }

    /// Keys by code of the scanned lists' allowed rows, as positions into `ids`, the best
    /// `want` kept, within `bounds` if given (a refining search gives none: the exact
    /// score decides).
    fn scan_codes(
        &self,
        codes: &Codes,
        query: &[f32],
        lists: &[(usize, std::ops::Range<usize>)],
        want: usize,
        bounds: Option<&Bounds>,
        allow: Option<&[bool]>,
    ) -> TopK {
        let mut top = TopK::new(want);
        let width = codes.width();
        let bytes = codes.bytes();
        let push = |position: usize, key: f32, top: &mut TopK| {
            if bounds.is_none_or(|bounds| bounds.accepts(key)) {
                top.push(position as u32, key);
            }
        };
        let allowed = |position: usize| allow.is_none_or(|allow| allow[self.ids[position] as usize]);
        match codes {
            Codes::Sq8 { quantizer, .. } => {
                let prepared = quantizer.prepare(self.metric, query);
                for (_, range) in lists {
                    for position in range.clone().filter(|&p| allowed(p)) {
                        push(position, prepared.key(&bytes[position * width..(position + 1) * width]), &mut top);
                    }
                }
            }
            Codes::Pq { quantizer, .. } => {
                // L2 tables are of the query's residual to each list's centroid; for inner
                // products <q, c + r> = <q, c> + <q, r>, so one table and a per-list constant.
                let shared = (self.metric != Metric::L2).then(|| quantizer.table(self.metric, query));
                for (list, range) in lists {
                    let centroid = float_row(self.centroids.row(*list));
                    let (table, base) = match &shared {
                        Some(table) => (std::borrow::Cow::Borrowed(table), -crate::metric::dot(query, centroid)),
                        None => {
                            let residual: Vec<f32> = query.iter().zip(centroid).map(|(q, c)| q - c).collect();
                            (std::borrow::Cow::Owned(quantizer.table(self.metric, &residual)), 0.0)
                        }
                    };
                    for position in range.clone().filter(|&p| allowed(p)) {
                        push(position, base + quantizer.key(&table, &bytes[position * width..(position + 1) * width]), &mut top);
                    }
                }
            }
        }
        top
    }

    fn search_one(
        &self,
        query: Row,
        params: &SearchParams,
        nprobe: usize,
        bounds: &Bounds,
        allow: Option<&[bool]>,
        allowed: Option<usize>,
    ) -> Vec<Hit> {
        let k = params.k;
        let lists = self.lists_to_scan(query, nprobe, allowed);
        let (Some(codes), Row::Float(q)) = (&self.codes, query) else {
            let exact = self.exact.as_ref().expect("IVF_FLAT keeps its rows");
            return self.search_exact(exact, query, &lists, k, bounds, allow);
        };
        let Some(exact) = &self.exact else {
            let top = self.scan_codes(codes, q, &lists, k, Some(bounds), allow);
            return top.into_hits(self.metric).into_iter().map(|h| Hit { row: self.ids[h.row as usize], ..h }).collect();
        };
        let want = params.refine_candidates.unwrap_or(k.saturating_mul(DEFAULT_REFINE_FACTOR)).max(k);
        let candidates = self.scan_codes(codes, q, &lists, want, None, allow);
        let mut top = TopK::new(k);
        for candidate in candidates.into_hits(self.metric) {
            let position = candidate.row as usize;
            let key = search::key(self.metric, query, exact.row(position));
            if bounds.accepts(key) {
                top.push(self.ids[position], key);
            }
        }
        top.into_hits(self.metric)
    }
}

impl VectorIndex for IvfIndex {
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
        self.ids.len()
    }

    fn search(&self, queries: &Vectors, params: &SearchParams, allow: Option<&[bool]>) -> Result<Vec<Vec<Hit>>, IndexError> {
        let (nq, queries) = vectors::prepare_queries(self.metric, self.binary, self.dim, queries)?;
        let allowed = search::check_allow(allow, self.len())?;
        let bounds = Bounds::new(self.metric, params)?;
        let nprobe = params.nprobe.unwrap_or(DEFAULT_NPROBE);
        if nprobe == 0 {
            return Err(IndexError::param("nprobe", "must be at least 1"));
        }
        let nprobe = nprobe.min(self.lists());
        search::parallel_map(nq, params.threads, |q| Ok(self.search_one(queries.row(q), params, nprobe, &bounds, allow, allowed)))
    }

    fn to_bytes(&self) -> Result<Vec<u8>, IndexError> {
        let mut w = Writer::default();
        w.u32(self.lists() as u32);
        w.rows(&self.centroids);
        w.u32s(&self.offsets);
        w.u32s(&self.ids);
        match &self.codes {
            Some(Codes::Sq8 { quantizer, codes }) => {
                quantizer.write(&mut w);
                w.bytes(codes);
            }
            Some(Codes::Pq { quantizer, codes }) => {
                quantizer.write(&mut w);
                w.bytes(codes);
            }
            None => {}
        }
        if let Some(exact) = &self.exact {
            w.rows(exact);
        }
        let header = Header { kind: self.kind.clone(), metric: self.metric, binary: self.binary, dim: self.dim, rows: self.len() };
        Ok(codec::encode(&header, &w.buf))
    }
}
