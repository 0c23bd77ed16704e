//! Seeded, deterministic k-means for IVF: k-means++ initialisation and a few Lloyd
//! iterations on a sample, with the index metric as the assignment rule.
//!
//! - L2: plain k-means. IP: points go to the centroid of largest inner product (as
//!   faiss's IVF with an inner-product quantizer does), centroids are means. COSINE:
//!   rows are normalised already and centroids are re-normalised (spherical k-means).
//! - HAMMING/JACCARD (binary): assignment by the metric, centroids by a per-bit majority
//!   vote, the usual stand-in for a binary mean.

use crate::Metric;
use crate::metric::normalize;
use crate::search::{self, Bounds, SearchParams, TopK};
use crate::vectors::{Row, Rows, Store};

/// Training points per centroid, at most (faiss uses 256 as well).
pub(crate) const SAMPLE_PER_CENTROID: usize = 256;
const ITERATIONS: usize = 10;

/// xorshift64*: tiny, seeded, good enough for sampling.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize % n
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `m` distinct row numbers out of `n`, ascending.
pub(crate) fn sample_rows(n: usize, m: usize, rng: &mut Rng) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    let mut all: Vec<usize> = (0..n).collect();
    for i in 0..m {
        let j = i + rng.below(n - i);
        all.swap(i, j);
    }
    all.truncate(m);
    all.sort_unstable();
    all
}

/// Copies the given rows out of `rows`.
pub(crate) fn gather(rows: &Rows, which: &[usize]) -> Store {
    match rows {
        Rows::Float { dim, data } => {
            let mut out = Vec::with_capacity(which.len() * dim);
            which.iter().for_each(|&i| out.extend_from_slice(&data[i * dim..(i + 1) * dim]));
            Rows::Float { dim: *dim, data: out.into() }
        }
        Rows::Binary { bytes, data } => {
            let mut out = Vec::with_capacity(which.len() * bytes);
            which.iter().for_each(|&i| out.extend_from_slice(&data[i * bytes..(i + 1) * bytes]));
            Rows::Binary { bytes: *bytes, data: out.into() }
        }
    }
}

/// The nearest centroid of every row, by the index metric, over up to `threads` threads.
pub(crate) fn assign(metric: Metric, centroids: &Rows, rows: &Rows, threads: usize) -> Vec<u32> {
    let open = Bounds::new(metric, &SearchParams::top_k(1)).expect("no range");
    let nearest = |i: usize| {
        let mut top = TopK::new(1);
        search::scan(metric, rows.row(i), centroids, None, 0, None, &open, &mut top);
        top.into_hits(metric).first().map_or(0, |h| h.row)
    };
    let n = rows.len();
    let threads = threads.max(1);
    if threads == 1 || n * centroids.len() * rows.width() < (1 << 20) {
        return (0..n).map(nearest).collect();
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let nearest = &nearest;
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || ((t * chunk).min(n)..((t + 1) * chunk).min(n)).map(nearest).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("k-means worker panicked")).collect()
    })
}

/// Trains `k` centroids (`k <= sample.len()`) on `sample`.
pub(crate) fn train(metric: Metric, sample: &Rows, k: usize, seed: u64, threads: usize) -> Store {
    let mut rng = Rng::new(seed);
    let mut centroids = init_plus_plus(sample, k, &mut rng);
    for _ in 0..ITERATIONS {
        let assignment = assign(metric, &centroids, sample, threads);
        centroids = update(metric, sample, &assignment, k, &mut rng);
    }
    centroids
}

/// Squared-distance-weighted seeding (k-means++); Hamming-type distance for binary rows.
fn init_plus_plus(sample: &Rows, k: usize, rng: &mut Rng) -> Store {
    let n = sample.len();
    let dist = |a: Row, b: Row| -> f64 {
        match (a, b) {
            (Row::Float(a), Row::Float(b)) => crate::metric::squared_l2(a, b) as f64,
            (Row::Binary(a), Row::Binary(b)) => {
                let d = crate::metric::hamming(a, b) as f64;
                d * d
            }
            _ => unreachable!("mixed vector types"),
        }
    };
    let mut chosen = vec![rng.below(n)];
    let mut min_dist: Vec<f64> = (0..n).map(|i| dist(sample.row(i), sample.row(chosen[0]))).collect();
    while chosen.len() < k {
        let total: f64 = min_dist.iter().sum();
        let next = if total > 0.0 {
            let mut target = rng.unit() * total;
            let mut pick = n - 1;
            for (i, d) in min_dist.iter().enumerate() {
                if target < *d {
                    pick = i;
                    break;
                }
                target -= d;
            }
            pick
        } else {
            rng.below(n) // every point coincides with a centre already
        };
        chosen.push(next);
        for (i, d) in min_dist.iter_mut().enumerate() {
            *d = d.min(dist(sample.row(i), sample.row(next)));
        }
    }
    gather(sample, &chosen)
}

fn update(metric: Metric, sample: &Rows, assignment: &[u32], k: usize, rng: &mut Rng) -> Store {
    let mut counts = vec![0usize; k];
    assignment.iter().for_each(|&c| counts[c as usize] += 1);
    match sample {
        Rows::Float { dim, data } => {
            let dim = *dim;
            let mut sums = vec![0f64; k * dim];
            for (row, &c) in data.chunks_exact(dim).zip(assignment) {
                let sum = &mut sums[c as usize * dim..(c as usize + 1) * dim];
                sum.iter_mut().zip(row).for_each(|(s, x)| *s += *x as f64);
            }
            let mut centroids: Vec<f32> = sums
                .chunks_exact(dim)
                .zip(&counts)
                .flat_map(|(sum, &count)| sum.iter().map(move |s| (s / count.max(1) as f64) as f32))
                .collect();
            // An empty cluster takes half of the largest one: both get its centroid, nudged
            // apart (as faiss does).
            for empty in 0..k {
                if counts[empty] > 0 {
                    continue;
                }
                let big = (0..k).max_by_key(|&c| counts[c]).expect("k > 0");
                for j in 0..dim {
                    let v = centroids[big * dim + j];
                    let nudge = if rng.next_u64() & 1 == 0 { 1.0 / 1024.0 } else { -1.0 / 1024.0 };
                    centroids[empty * dim + j] = v * (1.0 + nudge);
                    centroids[big * dim + j] = v * (1.0 - nudge);
                }
                counts[empty] = counts[big] / 2;
                counts[big] -= counts[empty];
            }
            if metric == Metric::Cosine {
                centroids.chunks_exact_mut(dim).for_each(normalize);
            }
            Rows::Float { dim, data: centroids.into() }
        }
        Rows::Binary { bytes, data } => {
            let bytes = *bytes;
            let bits = bytes * 8;
            let mut ones = vec![0u32; k * bits];
            for (row, &c) in data.chunks_exact(bytes).zip(assignment) {
                let ones = &mut ones[c as usize * bits..(c as usize + 1) * bits];
                for (b, byte) in row.iter().enumerate() {
                    for bit in 0..8 {
                        ones[b * 8 + bit] += ((byte >> bit) & 1) as u32;
                    }
                }
            }
            let mut centroids = vec![0u8; k * bytes];
            for c in 0..k {
                if counts[c] == 0 {
                    // Empty: restart from a random member of the largest cluster.
                    let big = (0..k).max_by_key(|&c| counts[c]).expect("k > 0") as u32;
                    let members: Vec<usize> = (0..assignment.len()).filter(|&i| assignment[i] == big).collect();
                    let pick = members[rng.below(members.len())];
                    centroids[c * bytes..(c + 1) * bytes].copy_from_slice(&data[pick * bytes..(pick + 1) * bytes]);
                    continue;
                }
                for bit in 0..bits {
                    if ones[c * bits + bit] as usize * 2 > counts[c] {
                        centroids[c * bytes + bit / 8] |= 1 << (bit % 8);
                    }
                }
            }
            Rows::Binary { bytes, data: centroids.into() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_obvious_clusters() {
        // Two tight clusters around (0,0) and (10,10).
        let mut data = Vec::new();
        for i in 0..50 {
            let e = (i % 5) as f32 * 0.01;
            data.extend_from_slice(&[e, -e]);
            data.extend_from_slice(&[10.0 + e, 10.0 - e]);
        }
        let rows = Rows::Float { dim: 2, data: data.into() };
        let centroids = train(Metric::L2, &rows, 2, 7, 1);
        let a = assign(Metric::L2, &centroids, &rows, 1);
        assert!(a.chunks_exact(2).all(|pair| pair[0] != pair[1]));
        assert!(a.iter().step_by(2).all(|&c| c == a[0]));
    }

    #[test]
    fn majority_vote_centroids_for_binary() {
        let rows = Rows::Binary { bytes: 1, data: vec![0b1111_0000, 0b1110_0000, 0b1111_0001, 0b0000_1111, 0b0000_0111].into() };
        let centroids = train(Metric::Hamming, &rows, 2, 1, 1);
        let a = assign(Metric::Hamming, &centroids, &rows, 1);
        assert!(a[0] == a[1] && a[1] == a[2] && a[3] == a[4] && a[0] != a[3]);
    }

    #[test]
    fn sampling_is_deterministic_and_distinct() {
        let a = sample_rows(1000, 100, &mut Rng::new(3));
        let b = sample_rows(1000, 100, &mut Rng::new(3));
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample_rows(5, 10, &mut Rng::new(1)), vec![0, 1, 2, 3, 4]);
    }
}
