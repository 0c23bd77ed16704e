//! Distance and similarity functions, with Milvus's conventions: L2 is the *squared*
//! Euclidean distance (smaller is closer); IP and COSINE are similarities (larger is
//! closer); HAMMING and JACCARD work on bit-packed binary vectors (smaller is closer).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    L2,
    Ip,
    Cosine,
    Hamming,
    Jaccard,
}

#[derive(Debug, thiserror::Error)]
#[error("metric type {0} is not supported; use L2, IP, COSINE, HAMMING or JACCARD")]
pub struct UnknownMetric(pub String);

impl Metric {
    pub fn parse(name: &str) -> Result<Metric, UnknownMetric> {
        match name.to_ascii_uppercase().as_str() {
            "L2" => Ok(Metric::L2),
            "IP" => Ok(Metric::Ip),
            "COSINE" => Ok(Metric::Cosine),
            "HAMMING" => Ok(Metric::Hamming),
            "JACCARD" => Ok(Metric::Jaccard),
            _ => Err(UnknownMetric(name.to_string())),
        }
    }

    /// Whether a larger score means a closer vector (IP, COSINE).
    pub fn higher_is_closer(self) -> bool {
        matches!(self, Metric::Ip | Metric::Cosine)
    }

    /// Whether the metric applies to bit-packed binary vectors.
    pub fn is_binary(self) -> bool {
        matches!(self, Metric::Hamming | Metric::Jaccard)
    }

    /// Score of two float vectors of equal length.
    pub fn float_score(self, a: &[f32], b: &[f32]) -> f32 {
        debug_assert_eq!(a.len(), b.len());
        match self {
            Metric::L2 => squared_l2(a, b),
            Metric::Ip => dot(a, b),
            Metric::Cosine => {
                let norms = (dot(a, a) * dot(b, b)).sqrt();
                if norms == 0.0 { 0.0 } else { dot(a, b) / norms }
            }
            Metric::Hamming | Metric::Jaccard => f32::NAN,
        }
    }

    /// Score of two bit-packed binary vectors of equal byte length.
    pub fn binary_score(self, a: &[u8], b: &[u8]) -> f32 {
        debug_assert_eq!(a.len(), b.len());
        match self {
            Metric::Hamming => hamming(a, b),
            Metric::Jaccard => jaccard(a, b),
            _ => f32::NAN,
        }
    }
}

/// Dot product with eight independent accumulators: the compiler keeps them in SIMD
/// registers (two SSE or one AVX register) without needing to reassociate float sums.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for lane in 0..8 {
            acc[lane] += x[lane] * y[lane];
        }
    }
    sum8(acc) + tail
}

/// Squared Euclidean distance, eight accumulators like [`dot`].
#[inline]
pub(crate) fn squared_l2(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| (x - y) * (x - y)).sum();
    for (x, y) in ca.zip(cb) {
        for lane in 0..8 {
            let d = x[lane] - y[lane];
            acc[lane] += d * d;
        }
    }
    sum8(acc) + tail
}

#[inline]
fn sum8(acc: [f32; 8]) -> f32 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Scales `v` to unit length in place; a zero vector stays zero (its cosine with
/// anything is then 0, as [`Metric::float_score`] reports).
pub(crate) fn normalize(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 && norm.is_finite() {
        let inv = 1.0 / norm;
        v.iter_mut().for_each(|x| *x *= inv);
    }
}

/// Applies `f` to matching 64-bit words of two byte slices (then to the trailing bytes).
#[inline]
fn fold_words(a: &[u8], b: &[u8], mut f: impl FnMut(u64, u64)) {
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        f(*x as u64, *y as u64);
    }
    for (x, y) in ca.zip(cb) {
        f(u64::from_le_bytes(x.try_into().unwrap()), u64::from_le_bytes(y.try_into().unwrap()));
    }
}

/// Number of differing bits.
#[inline]
pub(crate) fn hamming(a: &[u8], b: &[u8]) -> f32 {
    let mut bits = 0u32;
    fold_words(a, b, |x, y| bits += (x ^ y).count_ones());
    bits as f32
}

/// Jaccard distance `1 - |a & b| / |a | b|`; 0 for two empty sets.
#[inline]
pub(crate) fn jaccard(a: &[u8], b: &[u8]) -> f32 {
    let (mut inter, mut union) = (0u32, 0u32);
    fold_words(a, b, |x, y| {
        inter += (x & y).count_ones();
        union += (x | y).count_ones();
    });
    if union == 0 { 0.0 } else { 1.0 - inter as f32 / union as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_metrics_follow_milvus_conventions() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [2.0, 2.0, 1.0, 4.0, 0.0];
        assert_eq!(Metric::L2.float_score(&a, &b), 1.0 + 0.0 + 4.0 + 0.0 + 25.0);
        assert_eq!(Metric::Ip.float_score(&a, &b), 2.0 + 4.0 + 3.0 + 16.0);
        let cos = Metric::Cosine.float_score(&a, &a);
        assert!((cos - 1.0).abs() < 1e-6);
        assert!(Metric::Cosine.higher_is_closer() && !Metric::L2.higher_is_closer());
    }

    #[test]
    fn binary_metrics_count_bits() {
        assert_eq!(Metric::Hamming.binary_score(&[0b1010_1010], &[0b0101_0101]), 8.0);
        assert_eq!(Metric::Jaccard.binary_score(&[0b1100], &[0b1010]), 1.0 - 1.0 / 3.0);
        assert_eq!(Metric::Jaccard.binary_score(&[0], &[0]), 0.0);
    }

    #[test]
    fn unrolled_kernels_match_naive_sums_at_every_length() {
        for len in 0..40 {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive_dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let naive_l2: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((dot(&a, &b) - naive_dot).abs() < 1e-4, "dot at len {len}");
            assert!((squared_l2(&a, &b) - naive_l2).abs() < 1e-4, "l2 at len {len}");
            let x: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let y: Vec<u8> = (0..len).map(|i| (i * 91 + 3) as u8).collect();
            let naive: u32 = x.iter().zip(&y).map(|(p, q)| (p ^ q).count_ones()).sum();
            assert_eq!(hamming(&x, &y), naive as f32, "hamming at len {len}");
        }
    }

    #[test]
    fn normalize_gives_unit_length_and_keeps_zero() {
        let mut v = [3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut z = [0.0f32; 3];
        normalize(&mut z);
        assert_eq!(z, [0.0; 3]);
    }

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!(Metric::parse("cosine").unwrap(), Metric::Cosine);
        assert!(Metric::parse("MANHATTAN").unwrap_err().to_string().contains("MANHATTAN"));
    }
}
