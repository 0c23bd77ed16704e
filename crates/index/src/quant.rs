//! Vector quantizers for IVF lists: each row is stored as a short code and scored
//! against the float query without decoding it.
//!
//! - [`Sq8`] (IVF_SQ8): one byte per dimension, uniform steps between that dimension's
//!   minimum and maximum over the indexed rows. 4x smaller than float32.
//! - [`Pq`] (IVF_PQ): the row (an IVF residual, row minus its list's centroid) is cut into
//!   `m` sub-vectors, each replaced by the number of its nearest of `2^nbits` codewords
//!   trained by k-means on that sub-space. `m` bytes per row. A search scores the query
//!   against every codeword once ([`Pq::table`]) and a row's key is then `m` table lookups.
//!
//! Keys follow `search`: smaller is closer (squared L2, or negated inner product; COSINE
//! rows and queries are normalised before they get here, so it is an inner product too).

use crate::codec::{Reader, Writer};
use crate::kmeans;
use crate::metric;
use crate::vectors::Rows;
use crate::{IndexError, Metric};

/// Per-dimension 8-bit scalar quantizer.
#[derive(Clone, Debug)]
pub(crate) struct Sq8 {
    min: Vec<f32>,
    /// Value of one code step; 0 for a dimension that is constant.
    step: Vec<f32>,
}

impl Sq8 {
    /// Learns each dimension's range from `data` (row-major, `dim` wide).
    pub(crate) fn train(data: &[f32], dim: usize) -> Sq8 {
        let mut min = vec![f32::INFINITY; dim];
        let mut max = vec![f32::NEG_INFINITY; dim];
        for row in data.chunks_exact(dim) {
            for (d, &v) in row.iter().enumerate() {
                min[d] = min[d].min(v);
                max[d] = max[d].max(v);
            }
        }
        let step = min.iter().zip(&max).map(|(lo, hi)| if hi > lo { (hi - lo) / 255.0 } else { 0.0 }).collect();
        let min = min.into_iter().map(|v| if v.is_finite() { v } else { 0.0 }).collect();
        Sq8 { min, step }
    }

    pub(crate) fn dim(&self) -> usize {
        self.min.len()
    }

    /// Appends the `dim` code bytes of `row`.
    pub(crate) fn encode(&self, row: &[f32], out: &mut Vec<u8>) {
        out.extend(
            row.iter()
                .zip(self.min.iter().zip(&self.step))
                .map(|(&v, (&lo, &step))| if step == 0.0 { 0 } else { ((v - lo) / step).round().clamp(0.0, 255.0) as u8 }),
        );
    }

    /// What a query needs to score codes: for L2 the query shifted by the minimum (the
    /// key is then `sum (q'_d - step_d * c_d)^2`); for IP the query scaled by the steps
    /// and the constant `q . min` (the key is `-(const + sum q_d step_d c_d)`).
    pub(crate) fn prepare(&self, metric: Metric, query: &[f32]) -> Sq8Query {
        match metric {
            Metric::L2 => Sq8Query::L2 { shifted: query.iter().zip(&self.min).map(|(q, lo)| q - lo).collect(), step: self.step.clone() },
            _ => Sq8Query::Ip { scaled: query.iter().zip(&self.step).map(|(q, s)| q * s).collect(), offset: metric::dot(query, &self.min) },
        }
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.f32s(&self.min);
        w.f32s(&self.step);
    }

    pub(crate) fn read(r: &mut Reader, dim: usize) -> Result<Sq8, IndexError> {
        let (min, step) = (r.f32s(dim)?, r.f32s(dim)?);
        if step.iter().any(|s| !(s.is_finite() && *s >= 0.0)) || min.iter().any(|v| !v.is_finite()) {
            return Err(IndexError::corrupt("SQ8 ranges are not finite"));
        }
        Ok(Sq8 { min, step })
    }
}

/// A query prepared against one [`Sq8`].
pub(crate) enum Sq8Query {
    L2 { shifted: Vec<f32>, step: Vec<f32> },
    Ip { scaled: Vec<f32>, offset: f32 },
}

impl Sq8Query {
    #[inline]
    pub(crate) fn key(&self, code: &[u8]) -> f32 {
        match self {
            Sq8Query::L2 { shifted, step } => {
                shifted.iter().zip(step).zip(code).map(|((q, s), &c)| (q - s * c as f32) * (q - s * c as f32)).sum()
            }
            Sq8Query::Ip { scaled, offset } => -(offset + scaled.iter().zip(code).map(|(q, &c)| q * c as f32).sum::<f32>()),
        }
    }
}

/// Product quantizer: `m` sub-spaces of `dim / m` floats, `ksub` codewords each.
#[derive(Clone, Debug)]
pub(crate) struct Pq {
    m: usize,
    dsub: usize,
    /// Codewords per sub-space: `2^nbits`, or fewer when trained on fewer rows.
    ksub: usize,
    /// `m * ksub` codewords of `dsub` floats, sub-space by sub-space.
    codebooks: Vec<f32>,
}

const PQ_SEED: u64 = 0x5051_5549_5645; // "PQUIVE"

impl Pq {
    /// Checks the parameters a PQ over `dim` floats takes (Milvus's rules, and the code
    /// width this build stores: one byte per sub-vector).
    pub(crate) fn check(dim: usize, m: usize, nbits: usize) -> Result<(), IndexError> {
        if m == 0 || !dim.is_multiple_of(m) {
            return Err(IndexError::param(
                "m",
                format!("the dimension of a vector ({dim}) should be a multiple of the number of subquantizers (m = {m})"),
            ));
        }
        if !(1..=8).contains(&nbits) {
            return Err(IndexError::param("nbits", format!("{nbits} is out of range [1, 8]")));
        }
        Ok(())
    }

    /// Trains the codebooks on `sample` (row-major, `dim` wide).
    pub(crate) fn train(sample: &[f32], dim: usize, m: usize, nbits: usize, threads: usize) -> Result<Pq, IndexError> {
        Pq::check(dim, m, nbits)?;
        let dsub = dim / m;
        let n = sample.len() / dim;
        let ksub = (1usize << nbits).min(n.max(1));
        let mut codebooks = Vec::with_capacity(m * ksub * dsub);
        for s in 0..m {
            let sub: Vec<f32> = sample.chunks_exact(dim).flat_map(|row| row[s * dsub..(s + 1) * dsub].iter().copied()).collect();
            if n == 0 {
                codebooks.extend(std::iter::repeat_n(0.0, ksub * dsub));
                continue;
            }
            let rows = Rows::Float { dim: dsub, data: sub.into() };
            match kmeans::train(Metric::L2, &rows, ksub, PQ_SEED ^ s as u64, threads) {
                Rows::Float { data, .. } => codebooks.extend_from_slice(&data),
                Rows::Binary { .. } => unreachable!("float k-means returned binary rows"),
            }
        }
        Ok(Pq { m, dsub, ksub, codebooks })
    }

    /// Bytes per code.
    pub(crate) fn m(&self) -> usize {
        self.m
    }

    fn codeword(&self, s: usize, c: usize) -> &[f32] {
        let at = (s * self.ksub + c) * self.dsub;
        &self.codebooks[at..at + self.dsub]
    }

    /// Appends the `m` code bytes of `row`: each sub-vector's nearest codeword.
    pub(crate) fn encode(&self, row: &[f32], out: &mut Vec<u8>) {
        for s in 0..self.m {
            let sub = &row[s * self.dsub..(s + 1) * self.dsub];
            let best = (0..self.ksub)
                .map(|c| (c, metric::squared_l2(sub, self.codeword(s, c))))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(0, |(c, _)| c);
            out.push(best as u8);
        }
    }

    /// Every codeword's key against `query`'s sub-vectors (`m * ksub` entries): squared L2
    /// for L2, negated inner product otherwise. A code's key is the sum of its entries.
    pub(crate) fn table(&self, metric: Metric, query: &[f32]) -> Vec<f32> {
        let mut table = Vec::with_capacity(self.m * self.ksub);
        for s in 0..self.m {
            let sub = &query[s * self.dsub..(s + 1) * self.dsub];
            for c in 0..self.ksub {
                let word = self.codeword(s, c);
                table.push(if metric == Metric::L2 { metric::squared_l2(sub, word) } else { -metric::dot(sub, word) });
            }
        }
        table
    }

    #[inline]
    pub(crate) fn key(&self, table: &[f32], code: &[u8]) -> f32 {
        code.iter().enumerate().map(|(s, &c)| table[s * self.ksub + c as usize]).sum()
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.u32(self.m as u32);
        w.u32(self.ksub as u32);
        w.f32s(&self.codebooks);
    }

    pub(crate) fn read(r: &mut Reader, dim: usize) -> Result<Pq, IndexError> {
        let (m, ksub) = (r.u32()? as usize, r.u32()? as usize);
        if m == 0 || !dim.is_multiple_of(m) || ksub == 0 || ksub > 256 {
            return Err(IndexError::corrupt(format!("PQ shape m={m} ksub={ksub} does not fit dim {dim}")));
        }
        let codebooks = r.f32s(ksub * dim)?;
        Ok(Pq { m, dsub: dim / m, ksub, codebooks })
    }

    /// Whether every code byte names a trained codeword.
    pub(crate) fn codes_valid(&self, codes: &[u8]) -> bool {
        codes.iter().all(|&c| (c as usize) < self.ksub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, dim: usize) -> Vec<f32> {
        (0..n * dim).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    #[test]
    fn sq8_keys_are_close_to_exact_keys() {
        let (dim, data) = (16, rows(200, 16));
        let sq = Sq8::train(&data, dim);
        let query = &data[dim..2 * dim];
        for metric in [Metric::L2, Metric::Ip] {
            let prepared = sq.prepare(metric, query);
            for row in data.chunks_exact(dim).take(50) {
                let mut code = Vec::new();
                sq.encode(row, &mut code);
                let exact = if metric == Metric::L2 { metric::squared_l2(query, row) } else { -metric::dot(query, row) };
                let approx = prepared.key(&code);
                assert!((approx - exact).abs() < 0.05, "{metric:?}: {approx} vs {exact}");
            }
        }
    }

    #[test]
    fn sq8_constant_dimension_encodes_to_zero_and_decodes_exactly() {
        let data = vec![3.0, 1.0, 3.0, 2.0];
        let sq = Sq8::train(&data, 2);
        let mut code = Vec::new();
        sq.encode(&[3.0, 2.0], &mut code);
        assert_eq!(code, vec![0, 255]);
        assert_eq!(sq.prepare(Metric::L2, &[3.0, 2.0]).key(&code), 0.0);
    }

    #[test]
    fn pq_table_lookup_equals_decoded_distance() {
        let (dim, data) = (8, rows(300, 8));
        let pq = Pq::train(&data, dim, 4, 4, 1).unwrap();
        let query = &data[..dim];
        let table = pq.table(Metric::L2, query);
        let mut code = Vec::new();
        pq.encode(&data[5 * dim..6 * dim], &mut code);
        let decoded: Vec<f32> = code.iter().enumerate().flat_map(|(s, &c)| pq.codeword(s, c as usize).to_vec()).collect();
        assert!((pq.key(&table, &code) - metric::squared_l2(query, &decoded)).abs() < 1e-4);
    }

    #[test]
    fn pq_refuses_m_that_does_not_divide_dim_and_wide_codes() {
        assert!(Pq::check(10, 3, 8).unwrap_err().to_string().contains("multiple of the number of subquantizers"));
        assert!(Pq::check(8, 0, 8).is_err());
        assert!(Pq::check(8, 4, 9).unwrap_err().to_string().contains("nbits"));
        assert!(Pq::check(8, 4, 8).is_ok());
    }
}
