//! The serialized index: a fixed header followed by a kind-specific body.
//!
//! ```text
//! offset size  field
//!  0      4    magic "QVIX"
//!  4      2    format version (u16 LE); readers refuse versions newer than FORMAT_VERSION
//!  6      1    kind: 0 FLAT, 1 IVF_FLAT, 2 HNSW, 3 IVF_SQ8, 4 IVF_PQ,
//!              5 SPARSE_INVERTED_INDEX, 6 SPARSE_WAND
//!  7      1    metric: 0 L2, 1 IP, 2 COSINE, 3 HAMMING, 4 JACCARD
//!  8      1    vector type: 0 float32, 1 binary (bit-packed), 2 sparse
//!  9      3    zero
//! 12      4    dim (u32 LE): floats per row, bits per row for binary, largest term + 1
//!              for sparse (0 when every row is empty)
//! 16      8    rows (u64 LE)
//! 24      8    param a (u64 LE): IVF nlist, HNSW M, SPARSE_INVERTED_INDEX algorithm
//!              (0 TAAT_NAIVE, 1 DAAT_WAND, 2 DAAT_MAXSCORE), else 0
//! 32      8    param b (u64 LE): HNSW efConstruction; IVF_SQ8 refine (0/1); IVF_PQ
//!              m | nbits << 32 | refine << 40; sparse kinds: drop_ratio_build's f32
//!              bits; else 0
//! 40      8    body length in bytes (u64 LE)
//! 48      4    CRC-32C of the body (u32 LE)
//! 52      ..   body
//! ```
//!
//! Bodies (all integers and floats little-endian):
//! - FLAT: the rows, row-major (COSINE rows stored normalised).
//! - IVF_FLAT: `lists` (u32), the centroids (`lists` rows), list offsets (`lists + 1`
//!   u32), the row numbers of every list concatenated (`rows` u32), then the vectors in
//!   that same order.
//! - IVF_SQ8 / IVF_PQ: as IVF_FLAT up to the row numbers, then the quantizer (SQ8: `dim`
//!   minimums and `dim` steps, f32; PQ: `m` (u32), `ksub` (u32), `m * ksub` codewords of
//!   `dim / m` f32), the codes in list order (`dim` bytes a row for SQ8, `m` for PQ, PQ
//!   codes of the row minus its list's centroid), then, when refine is on, the exact rows
//!   in list order.
//! - HNSW: `M^2` (f32; IP's inner-product reduction, 0 otherwise), the exact rows
//!   (`rows` rows, as FLAT stores them), then usearch's own serialization
//!   (`save_to_buffer`) of the graph, L2 and COSINE rows as bfloat16.
//! - SPARSE_INVERTED_INDEX / SPARSE_WAND: `terms` (u32), the terms ascending (u32),
//!   `terms + 1` posting-list starts (u32), every posting's row (u32, ascending within a
//!   term), then every posting's value (f32), in the same order.
//!
//! Versions: 2 added the HNSW exact rows; 3 added IVF_SQ8 and IVF_PQ; 4 added the sparse
//! kinds. A version 1 HNSW
//! body is `M^2` then usearch's serialization with float32 rows (readers recover the exact
//! rows from it). A file records the oldest version that reads it ([`version_of`]), so an
//! older build still loads the kinds it knows.

use crate::vectors::Rows;
use crate::{IndexError, IndexKind, Metric, SparseAlgo};

pub(crate) const MAGIC: &[u8; 4] = b"QVIX";
/// The newest format this build writes and reads.
pub const FORMAT_VERSION: u16 = 4;

/// The oldest format version that reads an index of `kind`.
pub(crate) fn version_of(kind: &IndexKind) -> u16 {
    match kind {
        IndexKind::Flat | IndexKind::IvfFlat { .. } | IndexKind::Hnsw { .. } => 2,
        IndexKind::IvfSq8 { .. } | IndexKind::IvfPq { .. } => 3,
        IndexKind::SparseInverted { .. } | IndexKind::SparseWand { .. } => 4,
    }
}

const PQ_NBITS_SHIFT: u32 = 32;
const PQ_REFINE_SHIFT: u32 = 40;
const HEADER_LEN: usize = 52;
/// The vector type byte of sparse indexes.
const SPARSE_TYPE: u8 = 2;

/// What the header says.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Header {
    pub kind: IndexKind,
    pub metric: Metric,
    pub binary: bool,
    pub dim: usize,
    pub rows: usize,
}

fn metric_tag(m: Metric) -> u8 {
    match m {
        Metric::L2 => 0,
        Metric::Ip => 1,
        Metric::Cosine => 2,
        Metric::Hamming => 3,
        Metric::Jaccard => 4,
    }
}

fn metric_from_tag(tag: u8) -> Result<Metric, IndexError> {
    Ok(match tag {
        0 => Metric::L2,
        1 => Metric::Ip,
        2 => Metric::Cosine,
        3 => Metric::Hamming,
        4 => Metric::Jaccard,
        _ => return Err(IndexError::corrupt(format!("unknown metric tag {tag}"))),
    })
}

/// Header plus body, ready to store.
pub(crate) fn encode(header: &Header, body: &[u8]) -> Vec<u8> {
    let (tag, a, b) = match header.kind {
        IndexKind::Flat => (0u8, 0u64, 0u64),
        IndexKind::IvfFlat { nlist } => (1, nlist as u64, 0),
        IndexKind::Hnsw { m, ef_construction } => (2, m as u64, ef_construction as u64),
        IndexKind::IvfSq8 { nlist, refine } => (3, nlist as u64, refine as u64),
        IndexKind::IvfPq { nlist, m, nbits, refine } => {
            (4, nlist as u64, m as u64 | (nbits as u64) << PQ_NBITS_SHIFT | (refine as u64) << PQ_REFINE_SHIFT)
        }
        IndexKind::SparseInverted { algo, drop_ratio_build } => (5, algo.tag(), drop_ratio_build.to_bits() as u64),
        IndexKind::SparseWand { drop_ratio_build } => (6, 0, drop_ratio_build.to_bits() as u64),
    };
    let vector_type = if header.kind.is_sparse() { SPARSE_TYPE } else { header.binary as u8 };
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version_of(&header.kind).to_le_bytes());
    out.push(tag);
    out.push(metric_tag(header.metric));
    out.push(vector_type);
    out.extend_from_slice(&[0; 3]);
    out.extend_from_slice(&(header.dim as u32).to_le_bytes());
    out.extend_from_slice(&(header.rows as u64).to_le_bytes());
    out.extend_from_slice(&a.to_le_bytes());
    out.extend_from_slice(&b.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(body).to_le_bytes());
    debug_assert_eq!(out.len(), HEADER_LEN);
    out.extend_from_slice(body);
    out
}

/// Checks magic, version, length and checksum; returns the header, the format version
/// and the body.
pub(crate) fn decode(bytes: &[u8]) -> Result<(Header, u16, &[u8]), IndexError> {
    if bytes.len() < 6 || &bytes[..4] != MAGIC {
        return Err(IndexError::corrupt("not a Quiver index (bad magic)"));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version > FORMAT_VERSION {
        return Err(IndexError::NewerVersion { found: version, supported: FORMAT_VERSION });
    }
    if version == 0 {
        return Err(IndexError::corrupt("format version 0"));
    }
    if bytes.len() < HEADER_LEN {
        return Err(IndexError::corrupt(format!("header truncated at {} bytes", bytes.len())));
    }
    let mut r = Reader::new(&bytes[6..HEADER_LEN]);
    let (tag, metric, binary) = (r.u8()?, r.u8()?, r.u8()?);
    r.take(3)?;
    let dim = r.u32()? as usize;
    let rows = r.usize()?;
    let (a, b) = (r.usize()?, r.usize()?);
    let body_len = r.usize()?;
    let crc = r.u32()?;
    let body = &bytes[HEADER_LEN..];
    if body.len() as u64 != body_len as u64 {
        return Err(IndexError::corrupt(format!("body is {} bytes, header says {body_len}", body.len())));
    }
    if crc32c::crc32c(body) != crc {
        return Err(IndexError::corrupt("body checksum mismatch"));
    }
    let kind = match tag {
        0 => IndexKind::Flat,
        1 => IndexKind::IvfFlat { nlist: a },
        2 => IndexKind::Hnsw { m: a, ef_construction: b },
        3 if version >= 3 && b <= 1 => IndexKind::IvfSq8 { nlist: a, refine: b == 1 },
        4 if version >= 3 && b >> (PQ_REFINE_SHIFT + 1) == 0 => {
            IndexKind::IvfPq { nlist: a, m: b & 0xFFFF_FFFF, nbits: (b >> PQ_NBITS_SHIFT) & 0xFF, refine: b >> PQ_REFINE_SHIFT == 1 }
        }
        5 if version >= 4 && b >> 32 == 0 => IndexKind::SparseInverted {
            algo: SparseAlgo::from_tag(a as u64).ok_or_else(|| IndexError::corrupt(format!("unknown sparse algorithm {a}")))?,
            drop_ratio_build: f32::from_bits(b as u32),
        },
        6 if version >= 4 && b >> 32 == 0 => IndexKind::SparseWand { drop_ratio_build: f32::from_bits(b as u32) },
        _ => return Err(IndexError::corrupt(format!("unknown index kind tag {tag}"))),
    };
    let sparse = kind.is_sparse();
    let binary = match binary {
        0 if !sparse => false,
        1 if !sparse => true,
        SPARSE_TYPE if sparse => false,
        t => return Err(IndexError::corrupt(format!("vector type tag {t} does not fit index kind tag {tag}"))),
    };
    let metric = metric_from_tag(metric)?;
    if sparse {
        if metric != Metric::Ip || rows > u32::MAX as usize {
            return Err(IndexError::corrupt("inconsistent header"));
        }
        return Ok((Header { kind, metric, binary, dim, rows }, version, body));
    }
    if metric.is_binary() != binary || dim == 0 || (binary && !dim.is_multiple_of(8)) || rows > u32::MAX as usize {
        return Err(IndexError::corrupt("inconsistent header"));
    }
    Ok((Header { kind, metric, binary, dim, rows }, version, body))
}

/// Appends little-endian values.
#[derive(Default)]
pub(crate) struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u32s(&mut self, vs: &[u32]) {
        self.buf.reserve(vs.len() * 4);
        vs.iter().for_each(|v| self.u32(*v));
    }

    pub fn f32s(&mut self, vs: &[f32]) {
        self.buf.reserve(vs.len() * 4);
        vs.iter().for_each(|v| self.buf.extend_from_slice(&v.to_le_bytes()));
    }

    pub fn bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn rows(&mut self, rows: &Rows) {
        match rows {
            Rows::Float { data, .. } => self.f32s(data),
            Rows::Binary { data, .. } => self.bytes(data),
        }
    }
}

/// Reads little-endian values, failing with [`IndexError::Corrupt`] past the end.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], IndexError> {
        if n > self.rest.len() {
            return Err(IndexError::corrupt("body truncated"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8, IndexError> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32, IndexError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    pub fn usize(&mut self) -> Result<usize, IndexError> {
        let v = u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes"));
        usize::try_from(v).map_err(|_| IndexError::corrupt("length overflows usize"))
    }

    pub fn u32s(&mut self, n: usize) -> Result<Vec<u32>, IndexError> {
        let bytes = self.take(n.checked_mul(4).ok_or_else(|| IndexError::corrupt("length overflow"))?)?;
        Ok(bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
    }

    pub fn f32s(&mut self, n: usize) -> Result<Vec<f32>, IndexError> {
        let bytes = self.take(n.checked_mul(4).ok_or_else(|| IndexError::corrupt("length overflow"))?)?;
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
    }

    /// `n` rows shaped like the index's vectors (`dim` floats, or `dim` bits).
    pub fn rows(&mut self, binary: bool, dim: usize, n: usize) -> Result<Rows<'static>, IndexError> {
        let overflow = || IndexError::corrupt("length overflow");
        if binary {
            let bytes = dim / 8;
            let data = self.take(n.checked_mul(bytes).ok_or_else(overflow)?)?.to_vec();
            Ok(Rows::Binary { bytes, data: data.into() })
        } else {
            let data = self.f32s(n.checked_mul(dim).ok_or_else(overflow)?)?;
            Ok(Rows::Float { dim, data: data.into() })
        }
    }

    /// Everything not read yet.
    pub fn remaining(self) -> &'a [u8] {
        self.rest
    }

    pub fn finish(self) -> Result<(), IndexError> {
        if self.rest.is_empty() { Ok(()) } else { Err(IndexError::corrupt("trailing bytes after body")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header { kind: IndexKind::Hnsw { m: 16, ef_construction: 200 }, metric: Metric::Cosine, binary: false, dim: 32, rows: 7 }
    }

    #[test]
    fn header_round_trips() {
        let bytes = encode(&header(), b"body");
        let (h, version, body) = decode(&bytes).unwrap();
        assert_eq!(h, header());
        assert_eq!(version, 2, "HNSW files stay readable by version 2 builds");
        assert_eq!(body, b"body");
    }

    #[test]
    fn refuses_bad_magic_truncation_flipped_bits_and_newer_versions() {
        let bytes = encode(&header(), b"body");
        assert!(matches!(decode(b"garbage garbage garbage"), Err(IndexError::Corrupt { .. })));
        assert!(matches!(decode(&bytes[..bytes.len() - 1]), Err(IndexError::Corrupt { .. })));
        assert!(matches!(decode(&bytes[..20]), Err(IndexError::Corrupt { .. })));
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(decode(&flipped).unwrap_err().to_string().contains("checksum"));
        let mut newer = bytes.clone();
        newer[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert!(matches!(decode(&newer), Err(IndexError::NewerVersion { found: 5, supported: 4 })));
    }
}
