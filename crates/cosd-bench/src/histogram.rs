//! A bounded log-linear latency histogram.
//!
//! Every power-of-two range of values is split into [`SUB_BUCKETS`] equal buckets, so any
//! recorded value is known to within 1/64 (1.6 %) whatever its size, in a fixed 30 KB per
//! histogram — cheap enough to give every client its own and merge them at the end, so the
//! hot loop takes no lock. The maximum is kept exactly.

const SUB_BITS: u32 = 6;
/// Buckets per power of two; also the count of values below it that are stored exactly.
const SUB_BUCKETS: usize = 1 << SUB_BITS;
/// Enough buckets for any `u64`.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB_BUCKETS;

#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
            sum: 0,
        }
    }
}

fn index(value: u64) -> usize {
    if value < SUB_BUCKETS as u64 {
        return value as usize;
    }
    let exponent = 63 - value.leading_zeros();
    let shift = exponent - SUB_BITS;
    let sub = (value >> shift) as usize - SUB_BUCKETS;
    (shift as usize + 1) * SUB_BUCKETS + sub
}

/// The largest value that lands in bucket `index`.
fn highest_in(index: usize) -> u64 {
    if index < SUB_BUCKETS {
        return index as u64;
    }
    let shift = (index / SUB_BUCKETS - 1) as u32;
    let lowest = ((SUB_BUCKETS + index % SUB_BUCKETS) as u64) << shift;
    lowest + ((1u64 << shift) - 1)
}

impl Histogram {
    pub fn record(&mut self, value: u64) {
        self.counts[index(value)] += 1;
        self.total += 1;
        self.max = self.max.max(value);
        self.sum += u128::from(value);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at or below which `quantile` (0..=1) of the recorded values lie: the highest
    /// value of the bucket holding that rank, never above the true maximum. 0 when empty.
    pub fn quantile(&self, quantile: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((quantile.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return highest_in(i).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_values_without_gaps() {
        let mut expected_index = 0;
        for value in 0..100_000u64 {
            let i = index(value);
            assert!(
                i == expected_index || i == expected_index + 1,
                "value {value}"
            );
            expected_index = i;
            assert!(highest_in(i) >= value);
            assert!(i == 0 || highest_in(i - 1) < value, "value {value}");
        }
        assert!(index(u64::MAX) < BUCKETS);
        assert_eq!(highest_in(index(u64::MAX)), u64::MAX);
    }

    #[test]
    fn small_values_are_exact_and_large_ones_within_one_sixty_fourth() {
        for value in [0, 1, 63, 64, 127] {
            assert_eq!(highest_in(index(value)), value);
        }
        for value in [1_000u64, 65_537, 10_000_000, 3_600_000_000] {
            let high = highest_in(index(value));
            assert!(high >= value && (high - value) as f64 <= value as f64 / 64.0);
        }
    }

    #[test]
    fn quantiles_of_one_to_a_thousand() {
        let mut h = Histogram::default();
        for v in 1..=1000 {
            h.record(v);
        }
        assert_eq!(h.count(), 1000);
        assert_eq!(h.max(), 1000);
        assert_eq!(h.mean(), 500.5);
        let near = |got: u64, want: u64| {
            assert!(got >= want && got - want <= want / 64, "{got} vs {want}")
        };
        near(h.quantile(0.5), 500);
        near(h.quantile(0.9), 900);
        near(h.quantile(0.99), 990);
        assert_eq!(h.quantile(1.0), 1000);
        assert_eq!(h.quantile(0.0), 1);
    }

    #[test]
    fn a_single_outlier_is_the_max_not_the_p99() {
        let mut h = Histogram::default();
        for _ in 0..999 {
            h.record(10);
        }
        h.record(5_000_000);
        assert_eq!(h.quantile(0.99), 10);
        assert_eq!(h.quantile(0.999), 10);
        assert_eq!(h.max(), 5_000_000);
        assert_eq!(h.quantile(1.0), 5_000_000);
    }

    #[test]
    fn merging_equals_recording_into_one() {
        let (mut a, mut b, mut both) = (
            Histogram::default(),
            Histogram::default(),
            Histogram::default(),
        );
        for v in 0..500 {
            a.record(v * 7);
            both.record(v * 7);
            b.record(v * 13 + 1);
            both.record(v * 13 + 1);
        }
        a.merge(&b);
        assert_eq!(a.count(), both.count());
        assert_eq!(a.max(), both.max());
        for q in [0.1, 0.5, 0.9, 0.99] {
            assert_eq!(a.quantile(q), both.quantile(q));
        }
    }

    #[test]
    fn empty_histogram_reports_zeros() {
        let h = Histogram::default();
        assert_eq!((h.quantile(0.5), h.max(), h.mean()), (0, 0, 0.0));
    }
}
