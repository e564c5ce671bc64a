//! The workloads, their defaults, and the operation mix of `mixed`.

use std::fmt;

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;
pub const GIB: u64 = 1024 * MIB;

/// One kind of load, measured on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// PUT of new small objects.
    SmallPut,
    /// GET of small objects from a pre-filled set.
    SmallGet,
    /// PUT of new large objects, streamed.
    LargePut,
    /// GET of large objects from a pre-filled set, streamed.
    LargeGet,
    /// Large objects uploaded in parts (initiate, parts one after the other, complete); one
    /// operation is the whole upload.
    MultipartPut,
    /// warp's mix on a pre-filled set: 45 % GET, 15 % PUT, 10 % DELETE, 30 % STAT (HEAD).
    Mixed,
    /// ListObjectsV2 pages of 1000 keys, from random places in a pre-filled bucket.
    List,
    /// CORS preflight (`OPTIONS` on an object) after the bucket got a CORS rule.
    Preflight,
}

impl Workload {
    pub const ALL: [Workload; 8] = [
        Workload::SmallPut,
        Workload::SmallGet,
        Workload::LargePut,
        Workload::LargeGet,
        Workload::MultipartPut,
        Workload::Mixed,
        Workload::List,
        Workload::Preflight,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::SmallPut => "small-put",
            Workload::SmallGet => "small-get",
            Workload::LargePut => "large-put",
            Workload::LargeGet => "large-get",
            Workload::MultipartPut => "multipart-put",
            Workload::Mixed => "mixed",
            Workload::List => "list",
            Workload::Preflight => "preflight",
        }
    }

    pub fn parse(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// The object size used when `--size` is not given (warp's small default, and a large
    /// object that is far past every buffer in the path).
    pub fn default_size(self) -> u64 {
        match self {
            Workload::LargePut | Workload::LargeGet | Workload::MultipartPut => 64 * MIB,
            Workload::List | Workload::Preflight => 0,
            _ => 4 * KIB,
        }
    }

    /// Whether the workload moves object bodies, so that `--size` applies to it.
    pub fn has_objects(self) -> bool {
        !matches!(self, Workload::List | Workload::Preflight)
    }

    /// How many objects the workload puts before it measures, when `--objects` is not given:
    /// enough that GETs spread over many keys, few enough that a slow peer fills them in
    /// seconds; large ones only a handful (they are read again and again).
    pub fn default_objects(self) -> u64 {
        match self {
            Workload::SmallGet | Workload::Mixed => 256,
            Workload::LargeGet => 4,
            _ => 0,
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One request kind; a workload's results are also broken down by these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpKind {
    Put,
    Get,
    Delete,
    Stat,
    List,
    Options,
}

impl OpKind {
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Put => "PUT",
            OpKind::Get => "GET",
            OpKind::Delete => "DELETE",
            OpKind::Stat => "STAT",
            OpKind::List => "LIST",
            OpKind::Options => "OPTIONS",
        }
    }
}

/// warp's `mixed` distribution, in percent.
pub const WARP_MIX: [(OpKind, u32); 4] = [
    (OpKind::Get, 45),
    (OpKind::Put, 15),
    (OpKind::Delete, 10),
    (OpKind::Stat, 30),
];

/// Picks an operation from a uniformly drawn number in `0..100`: the draw falls in the band of
/// one operation, bands laid out in [`WARP_MIX`] order.
pub fn pick_mixed(draw: u32) -> OpKind {
    let mut upper = 0;
    for (op, percent) in WARP_MIX {
        upper += percent;
        if draw < upper {
            return op;
        }
    }
    panic!("draw {draw} is outside 0..100")
}

/// A small, fast, seedable generator (SplitMix64): each client draws its keys and operations
/// from its own, so runs are repeatable and no client waits on a shared generator.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0); the modulo bias is below 2^-40 for the bounds used.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_adds_up_to_a_hundred_and_bands_are_exact() {
        assert_eq!(WARP_MIX.iter().map(|(_, p)| p).sum::<u32>(), 100);
        let mut counts = std::collections::BTreeMap::new();
        for draw in 0..100 {
            *counts.entry(pick_mixed(draw)).or_insert(0) += 1;
        }
        for (op, percent) in WARP_MIX {
            assert_eq!(counts[&op], percent, "{op:?}");
        }
        assert_eq!(pick_mixed(0), OpKind::Get);
        assert_eq!(pick_mixed(44), OpKind::Get);
        assert_eq!(pick_mixed(45), OpKind::Put);
        assert_eq!(pick_mixed(60), OpKind::Delete);
        assert_eq!(pick_mixed(70), OpKind::Stat);
        assert_eq!(pick_mixed(99), OpKind::Stat);
    }

    #[test]
    fn random_draws_follow_the_mix() {
        let mut rng = Rng::new(7);
        let mut gets = 0;
        let n = 100_000;
        for _ in 0..n {
            if pick_mixed(rng.below(100) as u32) == OpKind::Get {
                gets += 1;
            }
        }
        let share = gets as f64 / n as f64;
        assert!((share - 0.45).abs() < 0.01, "GET share {share}");
    }

    #[test]
    fn names_round_trip() {
        for w in Workload::ALL {
            assert_eq!(Workload::parse(w.name()), Some(w));
        }
        assert_eq!(Workload::parse("small"), None);
    }

    #[test]
    fn the_same_seed_gives_the_same_draws() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
    }
}
