//! FLAT (and BIN_FLAT): the rows themselves, searched exactly. Also the exact
//! [`brute_force`] used for growing segments, where no index is built (sparse rows go to
//! the sparse module's own exact scan).

use crate::codec::{self, Header, Reader, Writer};
use crate::search::{self, Bounds, Hit, SearchParams};
use crate::vectors::{self, Store, Vectors};
use crate::{IndexError, IndexKind, Metric, VectorIndex};

/// Exact search of `queries` over `base` (no index), honouring `allow` and the range in
/// `params`. COSINE normalises both sides (on a copy).
pub fn brute_force(
    metric: Metric,
    base: &Vectors,
    queries: &Vectors,
    params: &SearchParams,
    allow: Option<&[bool]>,
) -> Result<Vec<Vec<Hit>>, IndexError> {
    if let Vectors::Sparse(rows) = base {
        if metric != Metric::Ip {
            return Err(IndexError::UnsupportedMetric { metric, vector_type: "sparse" });
        }
        return crate::sparse::brute_force(*rows, queries, params, allow);
    }
    let n = base.rows()?;
    vectors::check_metric(metric, base.is_binary())?;
    let (_, queries) = vectors::prepare_queries(metric, base.is_binary(), base.dim(), queries)?;
    search::check_allow(allow, n)?;
    let bounds = Bounds::new(metric, params)?;
    let base = vectors::Rows::prepared(metric, base);
    Ok(search::exact(metric, &base, None, &queries, params.k, &bounds, allow, params.threads))
}

pub(crate) struct FlatIndex {
    kind: IndexKind,
    metric: Metric,
    dim: usize,
    binary: bool,
    rows: Store,
}

impl FlatIndex {
    /// `vectors` must have been validated against `metric`.
    pub(crate) fn build(metric: Metric, vectors: &Vectors) -> FlatIndex {
        FlatIndex {
            kind: IndexKind::Flat,
            metric,
            dim: vectors.dim(),
            binary: vectors.is_binary(),
            rows: vectors::Rows::prepared(metric, vectors).into_owned(),
        }
    }

    pub(crate) fn load(header: Header, body: &[u8]) -> Result<FlatIndex, IndexError> {
        let mut r = Reader::new(body);
        let rows = r.rows(header.binary, header.dim, header.rows)?;
        r.finish()?;
        Ok(FlatIndex { kind: IndexKind::Flat, metric: header.metric, dim: header.dim, binary: header.binary, rows })
    }
}

impl VectorIndex for FlatIndex {
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
        self.rows.len()
    }

    fn search(&self, queries: &Vectors, params: &SearchParams, allow: Option<&[bool]>) -> Result<Vec<Vec<Hit>>, IndexError> {
        let (_, queries) = vectors::prepare_queries(self.metric, self.binary, self.dim, queries)?;
        search::check_allow(allow, self.len())?;
        let bounds = Bounds::new(self.metric, params)?;
        Ok(search::exact(self.metric, &self.rows, None, &queries, params.k, &bounds, allow, params.threads))
    }

    fn to_bytes(&self) -> Result<Vec<u8>, IndexError> {
        let mut w = Writer::default();
        w.rows(&self.rows);
        let header = Header { kind: self.kind.clone(), metric: self.metric, binary: self.binary, dim: self.dim, rows: self.len() };
        Ok(codec::encode(&header, &w.buf))
    }
}
