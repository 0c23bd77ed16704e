//! IVF_FLAT (and BIN_IVF_FLAT): k-means centroids, one inverted list of full vectors per
//! centroid; a search scores the query against the centroids and scans the `nprobe`
//! closest lists exactly.
//!
//! Vectors are stored grouped by list, so a probe reads one contiguous block. A filtered
//! search whose allowed rows are fewer than the rows a probe would scan goes exact over
//! the allowed rows instead: cheaper, and exact (probing could miss most of them).

use crate::codec::{self, Header, Reader, Writer};
use crate::kmeans::{self, Rng};
use crate::search::{self, Bounds, Hit, SearchParams, TopK};
use crate::vectors::{self, Rows, Store, Vectors};
use crate::{IndexError, IndexKind, Metric, VectorIndex};

/// Lists probed when the search does not say.
pub const DEFAULT_NPROBE: usize = 8;
const KMEANS_SEED: u64 = 0x5155_4956_4552; // "QUIVER"

pub(crate) struct IvfIndex {
    kind: IndexKind,
    metric: Metric,
    dim: usize,
    binary: bool,
    /// One row per list; `min(nlist, rows)` lists.
    centroids: Store,
    /// List `l` is `ids[offsets[l]..offsets[l + 1]]`, with its vectors at the same positions.
    offsets: Vec<u32>,
    ids: Vec<u32>,
    vectors: Store,
}

impl IvfIndex {
    /// `vectors` must have been validated against `metric`.
    pub(crate) fn build(nlist: usize, metric: Metric, vectors: &Vectors, threads: usize) -> Result<IvfIndex, IndexError> {
        if nlist == 0 {
            return Err(IndexError::param("nlist", "must be at least 1"));
        }
        let rows = Rows::prepared(metric, vectors);
        let n = rows.len();
        let lists = nlist.min(n);
        let mut rng = Rng::new(KMEANS_SEED);
        let sample = kmeans::gather(&rows, &kmeans::sample_rows(n, lists * kmeans::SAMPLE_PER_CENTROID, &mut rng));
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
        Ok(IvfIndex {
            kind: IndexKind::IvfFlat { nlist },
            metric,
            dim: vectors.dim(),
            binary: vectors.is_binary(),
            vectors: kmeans::gather(&rows, &order),
            centroids,
            offsets,
            ids,
        })
    }

    pub(crate) fn load(header: Header, body: &[u8]) -> Result<IvfIndex, IndexError> {
        let mut r = Reader::new(body);
        let lists = r.u32()? as usize;
        let centroids = r.rows(header.binary, header.dim, lists)?;
        let offsets = r.u32s(lists + 1)?;
        let ids = r.u32s(header.rows)?;
        let vectors = r.rows(header.binary, header.dim, header.rows)?;
        r.finish()?;
        let monotonic = offsets.windows(2).all(|w| w[0] <= w[1]);
        if offsets[0] != 0 || !monotonic || offsets[lists] as usize != header.rows {
            return Err(IndexError::corrupt("IVF list offsets are inconsistent"));
        }
        if ids.iter().any(|&id| id as usize >= header.rows) {
            return Err(IndexError::corrupt("IVF row number out of range"));
        }
        Ok(IvfIndex { kind: header.kind, metric: header.metric, dim: header.dim, binary: header.binary, centroids, offsets, ids, vectors })
    }

    fn lists(&self) -> usize {
        self.offsets.len() - 1
    }

    #[allow(clippy::too_many_arguments)]
    fn search_one(
        &self,
        query: &Rows,
        q: usize,
        k: usize,
        nprobe: usize,
        bounds: &Bounds,
        allow: Option<&[bool]>,
        allowed: Option<usize>,
    ) -> Vec<Hit> {
        let n = self.ids.len();
        let lists = self.lists();
        let probe_rows = n.saturating_mul(nprobe) / lists.max(1);
        let mut top = TopK::new(k);
        if allowed.is_some_and(|a| a <= probe_rows) {
            search::scan(self.metric, query.row(q), &self.vectors, Some(&self.ids), 0, allow, bounds, &mut top);
            return top.into_hits(self.metric);
        }
        let open = Bounds::new(self.metric, &SearchParams::top_k(nprobe)).expect("no range");
        let mut nearest = TopK::new(nprobe);
        search::scan(self.metric, query.row(q), &self.centroids, None, 0, None, &open, &mut nearest);
        for list in nearest.into_hits(self.metric) {
            let range = self.offsets[list.row as usize] as usize..self.offsets[list.row as usize + 1] as usize;
            let block = self.vectors.slice(range.clone());
            let ids = &self.ids[range];
            search::scan(self.metric, query.row(q), &block, Some(ids), 0, allow, bounds, &mut top);
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
        search::parallel_map(nq, params.threads, |q| Ok(self.search_one(&queries, q, params.k, nprobe, &bounds, allow, allowed)))
    }

    fn to_bytes(&self) -> Result<Vec<u8>, IndexError> {
        let mut w = Writer::default();
        w.u32(self.lists() as u32);
        w.rows(&self.centroids);
        w.u32s(&self.offsets);
        w.u32s(&self.ids);
        w.rows(&self.vectors);
        let header = Header { kind: self.kind.clone(), metric: self.metric, binary: self.binary, dim: self.dim, rows: self.len() };
        Ok(codec::encode(&header, &w.buf))
    }
}
