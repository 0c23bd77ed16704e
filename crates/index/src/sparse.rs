//! Sparse float vectors (Milvus's SPARSE_FLOAT_VECTOR) and their inverted index
//! (SPARSE_INVERTED_INDEX, SPARSE_WAND), scored by inner product.
//!
//! Terms:
//! - *term*: a sparse dimension (`u32`, below `u32::MAX`); a row holds `(term, value)`
//!   pairs, terms strictly ascending, values finite and non-negative (Milvus's rules,
//!   checked by the caller at insert).
//! - *posting list*: for one term, the `(row, value)` pairs of every row that holds it,
//!   rows ascending.
//!
//! Search is term-at-a-time: each query term adds `query value × row value` to the
//! accumulator of every row in its posting list. Rows that share no term with the query
//! score 0, as their inner product is: they rank after every row that shares one (ties
//! by lower row), so a search returns `k` hits whenever `k` rows are allowed, as Milvus
//! does. The scores are therefore the exact inner products over the terms kept, and
//! equal [`brute_force`]'s when nothing is dropped. `drop_ratio_build` drops, at build, the smallest of all stored values
//! (that fraction of them); `drop_ratio_search` drops the smallest values of each query.
//! The document-at-a-time algorithms Milvus names (`DAAT_WAND`, `DAAT_MAXSCORE`) prune
//! without changing results; they are accepted and served by the same exact scan.

use crate::codec::{self, Header, Reader, Writer};
use crate::search::{self, Bounds, Hit, SearchParams, TopK};
use crate::{IndexError, IndexKind, Metric, VectorIndex, Vectors};

/// Borrowed sparse rows in CSR form: row `i` is `indices[offsets[i]..offsets[i + 1]]`
/// with `values` alongside (Arrow list offsets, so they need not start at 0).
#[derive(Clone, Copy, Debug)]
pub struct SparseRows<'a> {
    pub offsets: &'a [i32],
    pub indices: &'a [u32],
    pub values: &'a [f32],
}

impl<'a> SparseRows<'a> {
    /// Number of rows, after checking that the offsets fit the value lists.
    pub fn rows(&self) -> Result<usize, IndexError> {
        let bad = |reason: &str| IndexError::param("sparse", reason.to_string());
        if self.offsets.is_empty() {
            return Err(bad("sparse rows need at least one offset"));
        }
        if self.indices.len() != self.values.len() {
            return Err(bad("sparse indices and values differ in length"));
        }
        if self.offsets.windows(2).any(|w| w[0] > w[1]) || self.offsets[0] < 0 {
            return Err(bad("sparse offsets must ascend"));
        }
        if *self.offsets.last().expect("checked non-empty") as usize > self.indices.len() {
            return Err(bad("sparse offsets run past the values"));
        }
        Ok(self.offsets.len() - 1)
    }

    /// Row `i`'s terms and values.
    pub fn row(&self, i: usize) -> (&'a [u32], &'a [f32]) {
        let (start, end) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        (&self.indices[start..end], &self.values[start..end])
    }

    /// One more than the largest term (Milvus's `dim` of a sparse batch); 0 when empty.
    pub fn dim(&self) -> usize {
        let (start, end) = (self.offsets[0] as usize, *self.offsets.last().unwrap_or(&0) as usize);
        self.indices[start..end].iter().max().map_or(0, |&t| t as usize + 1)
    }
}

/// Inner product of two rows with ascending terms.
fn sparse_dot(a: (&[u32], &[f32]), b: (&[u32], &[f32])) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0f32);
    while i < a.0.len() && j < b.0.len() {
        match a.0[i].cmp(&b.0[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a.1[i] * b.1[j];
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

/// The key of a row that shares no term with the query: a score of 0.
const NO_SHARED_TERM: f32 = -0.0;

fn sparse_of<'a>(vectors: &Vectors<'a>) -> Result<SparseRows<'a>, IndexError> {
    match vectors {
        Vectors::Sparse(rows) => Ok(*rows),
        other => Err(IndexError::VectorTypeMismatch { expected: "sparse", got: other.type_name() }),
    }
}

fn check_metric(metric: Metric) -> Result<(), IndexError> {
    if metric == Metric::Ip { Ok(()) } else { Err(IndexError::UnsupportedMetric { metric, vector_type: "sparse" }) }
}

/// A query's terms with the smallest `drop_ratio` of its values left out.
fn kept_terms(query: (&[u32], &[f32]), drop_ratio: f32) -> Vec<(u32, f32)> {
    let mut pairs: Vec<(u32, f32)> = query.0.iter().copied().zip(query.1.iter().copied()).collect();
    let drop = ((pairs.len() as f32) * drop_ratio.clamp(0.0, 1.0)).floor() as usize;
    if drop > 0 {
        pairs.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        pairs.truncate(pairs.len() - drop);
        pairs.sort_by_key(|p| p.0);
    }
    pairs
}

fn check_drop_ratio(name: &'static str, ratio: Option<f32>) -> Result<f32, IndexError> {
    match ratio {
        None => Ok(0.0),
        Some(r) if (0.0..1.0).contains(&r) => Ok(r),
        Some(r) => Err(IndexError::param(name, format!("{r} must be in range [0, 1)"))),
    }
}

/// Exact inner-product search of sparse `queries` over sparse `base` (no index),
/// honouring `allow`, the range in `params` and `params.drop_ratio_search`.
pub(crate) fn brute_force(
    base: SparseRows,
    queries: &Vectors,
    params: &SearchParams,
    allow: Option<&[bool]>,
) -> Result<Vec<Vec<Hit>>, IndexError> {
    let n = base.rows()?;
    let queries = sparse_of(queries)?;
    let nq = queries.rows()?;
    search::check_allow(allow, n)?;
    let bounds = Bounds::new(Metric::Ip, params)?;
    let drop = check_drop_ratio("drop_ratio_search", params.drop_ratio_search)?;
    Ok((0..nq)
        .map(|q| {
            let kept = kept_terms(queries.row(q), drop);
            let (terms, values): (Vec<u32>, Vec<f32>) = kept.into_iter().unzip();
            let mut top = TopK::new(params.k);
            for row in 0..n {
                if allow.is_some_and(|a| !a[row]) {
                    continue;
                }
                let key = -sparse_dot((&terms, &values), base.row(row));
                if bounds.accepts(key) {
                    top.push(row as u32, key);
                }
            }
            top.into_hits(Metric::Ip)
        })
        .collect())
}

/// How a SPARSE_INVERTED_INDEX searches (Milvus's `inverted_index_algo`). Every
/// algorithm returns the same exact scores here (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparseAlgo {
    TaatNaive,
    DaatWand,
    DaatMaxscore,
}

impl SparseAlgo {
    pub fn parse(name: &str) -> Option<SparseAlgo> {
        match name.trim().to_ascii_uppercase().as_str() {
            "TAAT_NAIVE" => Some(SparseAlgo::TaatNaive),
            "DAAT_WAND" => Some(SparseAlgo::DaatWand),
            "DAAT_MAXSCORE" => Some(SparseAlgo::DaatMaxscore),
            _ => None,
        }
    }

    pub(crate) fn tag(self) -> u64 {
        match self {
            SparseAlgo::TaatNaive => 0,
            SparseAlgo::DaatWand => 1,
            SparseAlgo::DaatMaxscore => 2,
        }
    }

    pub(crate) fn from_tag(tag: u64) -> Option<SparseAlgo> {
        [SparseAlgo::TaatNaive, SparseAlgo::DaatWand, SparseAlgo::DaatMaxscore].into_iter().find(|a| a.tag() == tag)
    }
}

/// The inverted index: per term, its posting list.
pub(crate) struct SparseIndex {
    kind: IndexKind,
    rows: usize,
    /// Largest term + 1 over the indexed rows.
    dim: usize,
    /// Terms ascending; `starts[i]..starts[i + 1]` are term `terms[i]`'s postings.
    terms: Vec<u32>,
    starts: Vec<u32>,
    posting_rows: Vec<u32>,
    posting_values: Vec<f32>,
}

impl SparseIndex {
    pub(crate) fn build(kind: &IndexKind, metric: Metric, vectors: &Vectors) -> Result<SparseIndex, IndexError> {
        check_metric(metric)?;
        let base = sparse_of(vectors)?;
        let rows = base.rows()?;
        let drop_ratio = match kind {
            IndexKind::SparseInverted { drop_ratio_build, .. } | IndexKind::SparseWand { drop_ratio_build } => *drop_ratio_build,
            other => unreachable!("{other:?} is not a sparse kind"),
        };
        let drop_ratio = check_drop_ratio("drop_ratio_build", Some(drop_ratio))?;
        // Values below the threshold are dropped: the `drop_ratio` quantile of all values.
        let threshold = if drop_ratio > 0.0 {
            let (start, end) = (base.offsets[0] as usize, base.offsets[rows] as usize);
            let mut all: Vec<f32> = base.values[start..end].iter().map(|v| v.abs()).collect();
            let at = ((all.len() as f32) * drop_ratio) as usize;
            if at < all.len() {
                all.select_nth_unstable_by(at, f32::total_cmp);
                all[at]
            } else {
                f32::INFINITY
            }
        } else {
            f32::NEG_INFINITY
        };
        let mut pairs: Vec<(u32, u32, f32)> = Vec::new();
        for row in 0..rows {
            let (terms, values) = base.row(row);
            pairs.extend(terms.iter().zip(values).filter(|(_, v)| v.abs() >= threshold).map(|(&t, &v)| (t, row as u32, v)));
        }
        pairs.sort_by_key(|&(term, row, _)| (term, row));
        let mut index = SparseIndex {
            kind: kind.clone(),
            rows,
            dim: base.dim(),
            terms: Vec::new(),
            starts: vec![0],
            posting_rows: Vec::with_capacity(pairs.len()),
            posting_values: Vec::with_capacity(pairs.len()),
        };
        for (term, row, value) in pairs {
            if index.terms.last() != Some(&term) {
                if !index.terms.is_empty() {
                    index.starts.push(index.posting_rows.len() as u32);
                }
                index.terms.push(term);
            }
            index.posting_rows.push(row);
            index.posting_values.push(value);
        }
        if !index.terms.is_empty() {
            index.starts.push(index.posting_rows.len() as u32);
        }
        Ok(index)
    }

    fn postings(&self, term: u32) -> (&[u32], &[f32]) {
        match self.terms.binary_search(&term) {
            Ok(i) => {
                let range = self.starts[i] as usize..self.starts[i + 1] as usize;
                (&self.posting_rows[range.clone()], &self.posting_values[range])
            }
            Err(_) => (&[], &[]),
        }
    }

    /// Body: `terms` (u32), the terms, `terms + 1` posting starts (u32), then every
    /// posting's row (u32) and value (f32), term after term.
    pub(crate) fn load(header: Header, body: &[u8]) -> Result<SparseIndex, IndexError> {
        let mut r = Reader::new(body);
        let count = r.u32()? as usize;
        let terms = r.u32s(count)?;
        let starts = r.u32s(count + 1)?;
        let total = *starts.last().expect("count + 1 starts") as usize;
        if starts.windows(2).any(|w| w[0] > w[1]) || starts[0] != 0 || terms.windows(2).any(|w| w[0] >= w[1]) {
            return Err(IndexError::corrupt("sparse posting lists out of order"));
        }
        let posting_rows = r.u32s(total)?;
        let posting_values = r.f32s(total)?;
        r.finish()?;
        if posting_rows.iter().any(|&row| row as usize >= header.rows) {
            return Err(IndexError::corrupt("sparse posting names a row past the index"));
        }
        Ok(SparseIndex { kind: header.kind, rows: header.rows, dim: header.dim, terms, starts, posting_rows, posting_values })
    }
}

impl VectorIndex for SparseIndex {
    fn kind(&self) -> &IndexKind {
        &self.kind
    }

    fn metric(&self) -> Metric {
        Metric::Ip
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn is_binary(&self) -> bool {
        false
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn search(&self, queries: &Vectors, params: &SearchParams, allow: Option<&[bool]>) -> Result<Vec<Vec<Hit>>, IndexError> {
        let queries = sparse_of(queries)?;
        let nq = queries.rows()?;
        search::check_allow(allow, self.rows)?;
        let bounds = Bounds::new(Metric::Ip, params)?;
        let drop = check_drop_ratio("drop_ratio_search", params.drop_ratio_search)?;
        let mut scores = vec![0f32; self.rows];
        let mut touched = vec![false; self.rows];
        let mut rows: Vec<u32> = Vec::new();
        let mut hits = Vec::with_capacity(nq);
        for q in 0..nq {
            for (term, weight) in kept_terms(queries.row(q), drop) {
                let (posting_rows, posting_values) = self.postings(term);
                for (&row, &value) in posting_rows.iter().zip(posting_values) {
                    let at = row as usize;
                    if !touched[at] {
                        touched[at] = true;
                        rows.push(row);
                    }
                    scores[at] += weight * value;
                }
            }
            let mut top = TopK::new(params.k);
            for &row in &rows {
                let at = row as usize;
                let key = -scores[at];
                if allow.is_none_or(|a| a[at]) && bounds.accepts(key) {
                    top.push(row, key);
                }
            }
            // Too few rows share a term: the lowest allowed other rows, at score 0.
            if top.len() < params.k && bounds.accepts(NO_SHARED_TERM) {
                for at in (0..self.rows).filter(|&at| !touched[at] && allow.is_none_or(|a| a[at])) {
                    if top.len() == params.k {
                        break;
                    }
                    top.push(at as u32, NO_SHARED_TERM);
                }
            }
            for &row in &rows {
                scores[row as usize] = 0.0;
                touched[row as usize] = false;
            }
            rows.clear();
            hits.push(top.into_hits(Metric::Ip));
        }
        Ok(hits)
    }

    fn to_bytes(&self) -> Result<Vec<u8>, IndexError> {
        let mut w = Writer::default();
        w.u32(self.terms.len() as u32);
        w.u32s(&self.terms);
        w.u32s(&self.starts);
        w.u32s(&self.posting_rows);
        w.f32s(&self.posting_values);
        let header = Header { kind: self.kind.clone(), metric: Metric::Ip, binary: false, dim: self.dim, rows: self.rows };
        Ok(codec::encode(&header, &w.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_counts_only_shared_terms() {
        assert_eq!(sparse_dot((&[1, 3, 7], &[1.0, 2.0, 3.0]), (&[3, 7, 9], &[0.5, 2.0, 1.0])), 7.0);
        assert_eq!(sparse_dot((&[1], &[1.0]), (&[2], &[1.0])), 0.0);
    }

    #[test]
    fn drop_ratio_search_keeps_the_largest_values() {
        let kept = kept_terms((&[1, 2, 3, 4], &[0.1, 0.9, 0.5, 0.2]), 0.5);
        assert_eq!(kept, vec![(2, 0.9), (3, 0.5)]);
        assert_eq!(kept_terms((&[1, 2], &[0.1, 0.9]), 0.0).len(), 2);
    }
}
