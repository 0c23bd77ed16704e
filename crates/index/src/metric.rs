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
            Metric::Hamming => a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum::<u32>() as f32,
            Metric::Jaccard => {
                let (mut inter, mut union) = (0u32, 0u32);
                for (x, y) in a.iter().zip(b) {
                    inter += (x & y).count_ones();
                    union += (x | y).count_ones();
                }
                if union == 0 { 0.0 } else { 1.0 - inter as f32 / union as f32 }
            }
            _ => f32::NAN,
        }
    }
}

/// Dot product with four independent accumulators, which lets the compiler vectorise.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 4];
    let chunks = a.len() / 4;
    for i in 0..chunks {
        for lane in 0..4 {
            acc[lane] += a[i * 4 + lane] * b[i * 4 + lane];
        }
    }
    let tail: f32 = (chunks * 4..a.len()).map(|i| a[i] * b[i]).sum();
    acc.iter().sum::<f32>() + tail
}

fn squared_l2(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 4];
    let chunks = a.len() / 4;
    for i in 0..chunks {
        for lane in 0..4 {
            let d = a[i * 4 + lane] - b[i * 4 + lane];
            acc[lane] += d * d;
        }
    }
    let tail: f32 = (chunks * 4..a.len()).map(|i| (a[i] - b[i]) * (a[i] - b[i])).sum();
    acc.iter().sum::<f32>() + tail
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
    fn parses_names_case_insensitively() {
        assert_eq!(Metric::parse("cosine").unwrap(), Metric::Cosine);
        assert!(Metric::parse("MANHATTAN").unwrap_err().to_string().contains("MANHATTAN"));
    }
}
