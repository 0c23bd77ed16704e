//! Row-major vector batches: the borrowed [`Vectors`] callers pass in, and the owned
//! [`Store`] that FLAT and IVF_FLAT keep. Float vectors are `f32` (FLOAT16/BFLOAT16 are
//! widened by the caller); binary vectors are bit-packed, 8 bits a byte, `dim_bits / 8`
//! bytes a row, as Milvus sends them.

use std::borrow::Cow;

use crate::{IndexError, Metric, SparseRows, metric};

/// A borrowed batch of row-major vectors, all of one dimension.
#[derive(Clone, Copy, Debug)]
pub enum Vectors<'a> {
    Float {
        dim: usize,
        data: &'a [f32],
    },
    Binary {
        dim_bits: usize,
        data: &'a [u8],
    },
    /// Sparse rows (inner product only); served by the sparse module alone.
    Sparse(SparseRows<'a>),
}

impl<'a> Vectors<'a> {
    /// The dimension: floats per row, bits per row for binary vectors, one more than the
    /// largest term for sparse ones.
    pub fn dim(&self) -> usize {
        match *self {
            Vectors::Float { dim, .. } => dim,
            Vectors::Binary { dim_bits, .. } => dim_bits,
            Vectors::Sparse(rows) => rows.dim(),
        }
    }

    pub fn is_binary(&self) -> bool {
        matches!(self, Vectors::Binary { .. })
    }

    /// Number of rows, after checking that the buffer holds whole rows of a valid dimension.
    pub fn rows(&self) -> Result<usize, IndexError> {
        let (len, width) = match *self {
            Vectors::Float { dim, data } => (data.len(), dim),
            Vectors::Binary { dim_bits, data } => {
                if dim_bits % 8 != 0 {
                    return Err(IndexError::param("dim", format!("binary vector dimension {dim_bits} is not a multiple of 8")));
                }
                (data.len(), dim_bits / 8)
            }
            Vectors::Sparse(rows) => return rows.rows(),
        };
        if width == 0 {
            return Err(IndexError::param("dim", "vector dimension must be positive"));
        }
        if len % width != 0 {
            return Err(IndexError::RaggedVectors { len, dim: width });
        }
        Ok(len / width)
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Vectors::Sparse(_) => "sparse",
            _ => type_name(self.is_binary()),
        }
    }
}

pub(crate) fn type_name(binary: bool) -> &'static str {
    if binary { "binary" } else { "float" }
}

/// Checks that `metric` applies to vectors of this kind.
pub(crate) fn check_metric(metric: Metric, binary: bool) -> Result<(), IndexError> {
    if metric.is_binary() == binary { Ok(()) } else { Err(IndexError::UnsupportedMetric { metric, vector_type: type_name(binary) }) }
}

/// Checks queries against an index over `binary` vectors of dimension `dim` and returns
/// them ready to score: for COSINE, normalised (so that a dot product is the cosine).
pub(crate) fn prepare_queries<'a>(
    metric: Metric,
    binary: bool,
    dim: usize,
    queries: &Vectors<'a>,
) -> Result<(usize, Rows<'a>), IndexError> {
    if queries.is_binary() != binary || matches!(queries, Vectors::Sparse(_)) {
        return Err(IndexError::VectorTypeMismatch { expected: type_name(binary), got: queries.type_name() });
    }
    if queries.dim() != dim {
        return Err(IndexError::DimensionMismatch { expected: dim, got: queries.dim() });
    }
    let n = queries.rows()?;
    Ok((n, Rows::prepared(metric, queries)))
}

/// Row-major vectors as scored: owned or borrowed, COSINE rows already normalised.
#[derive(Clone, Debug)]
pub(crate) enum Rows<'a> {
    Float { dim: usize, data: Cow<'a, [f32]> },
    Binary { bytes: usize, data: Cow<'a, [u8]> },
}

/// Owned rows, as FLAT and IVF_FLAT keep them.
pub(crate) type Store = Rows<'static>;

impl<'a> Rows<'a> {
    /// Borrows `v`, copying and normalising only for COSINE. `v` must have been validated.
    pub(crate) fn prepared(metric: Metric, v: &Vectors<'a>) -> Rows<'a> {
        match *v {
            Vectors::Float { dim, data } if metric == Metric::Cosine => {
                let mut owned = data.to_vec();
                owned.chunks_exact_mut(dim).for_each(metric::normalize);
                Rows::Float { dim, data: Cow::Owned(owned) }
            }
            Vectors::Float { dim, data } => Rows::Float { dim, data: Cow::Borrowed(data) },
            Vectors::Binary { dim_bits, data } => Rows::Binary { bytes: dim_bits / 8, data: Cow::Borrowed(data) },
            Vectors::Sparse(_) => unreachable!("sparse rows never reach the dense kernels"),
        }
    }

    pub(crate) fn into_owned(self) -> Store {
        match self {
            Rows::Float { dim, data } => Rows::Float { dim, data: Cow::Owned(data.into_owned()) },
            Rows::Binary { bytes, data } => Rows::Binary { bytes, data: Cow::Owned(data.into_owned()) },
        }
    }

    /// Elements (floats or bytes) per row.
    pub(crate) fn width(&self) -> usize {
        match self {
            Rows::Float { dim, .. } => *dim,
            Rows::Binary { bytes, .. } => *bytes,
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Rows::Float { dim, data } => data.len() / dim,
            Rows::Binary { bytes, data } => data.len() / bytes,
        }
    }

    pub(crate) fn row(&self, i: usize) -> Row<'_> {
        match self {
            Rows::Float { dim, data } => Row::Float(&data[i * dim..(i + 1) * dim]),
            Rows::Binary { bytes, data } => Row::Binary(&data[i * bytes..(i + 1) * bytes]),
        }
    }

    /// Rows `range` as a borrowed block.
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Rows<'_> {
        match self {
            Rows::Float { dim, data } => Rows::Float { dim: *dim, data: Cow::Borrowed(&data[range.start * dim..range.end * dim]) },
            Rows::Binary { bytes, data } => {
                Rows::Binary { bytes: *bytes, data: Cow::Borrowed(&data[range.start * bytes..range.end * bytes]) }
            }
        }
    }
}

/// One row of [`Rows`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Row<'a> {
    Float(&'a [f32]),
    Binary(&'a [u8]),
}
