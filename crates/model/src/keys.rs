//! Keys: which item a request is about, and where an item lives.
//!
//! A request's key is a popularity rank drawn from its client's (or class's) [`KeyDist`]: key 0
//! is the most popular, so "the top `k` keys" are `0 .. k` whatever the distribution. A
//! [`Placement`] maps keys to nodes by `hash mod n` or on a consistent-hash ring with virtual
//! nodes, and tells what share of the keys a change of nodes moves.

use rand::RngExt;
use rand_distr::{Distribution, Zipf};
use tailsim_engine::RngStream;

use crate::kinds::Routing;
use tailsim_scenario::schema::Keys;

/// The most keys a distribution may have.
pub const MAX_KEYS: u32 = 100_000_000;
/// The most virtual nodes per node of a ring.
pub const MAX_VNODES: u32 = 10_000;
/// The most nodes of a placement.
pub const MAX_NODES: u32 = 10_000;

/// A compiled key distribution.
#[derive(Clone, Debug)]
pub enum KeyDist {
    /// Zipf's law over `n` keys (rejection-inversion, exact).
    Zipf {
        /// The sampler over ranks `1 ..= n`.
        zipf: Zipf<f64>,
        /// How many keys.
        n: u32,
        /// The exponent.
        s: f64,
    },
    /// Uniform over `n` keys.
    Uniform(u32),
    /// `share` of the draws uniform over `0 .. hot`, the rest uniform over `hot .. n`.
    HotSet {
        /// How many keys.
        n: u32,
        /// The hot keys, the first ones.
        hot: u32,
        /// The share of draws on them.
        share: f64,
    },
}

impl KeyDist {
    /// Compiles a distribution, or says what is wrong with it.
    pub fn new(spec: &Keys) -> Result<KeyDist, String> {
        let n = match spec {
            Keys::Zipf { n, .. } | Keys::Uniform { n } | Keys::HotSet { n, .. } => *n,
        };
        if n == 0 || n > MAX_KEYS {
            return Err(format!("a key distribution needs between 1 and {MAX_KEYS} keys, got {n}"));
        }
        match *spec {
            Keys::Zipf { n, s } => {
                if !(s.is_finite() && (0.0..=100.0).contains(&s)) {
                    return Err(format!("Zipf's exponent `s` must be between 0 and 100, got {s}"));
                }
                let zipf = Zipf::new(f64::from(n), s).map_err(|e| e.to_string())?;
                Ok(KeyDist::Zipf { zipf, n, s })
            }
            Keys::Uniform { n } => Ok(KeyDist::Uniform(n)),
            Keys::HotSet { n, hot, share } => {
                if hot == 0 || hot > n || !(0.0..=1.0).contains(&share) || (hot == n && share < 1.0) {
                    return Err(format!(
                        "a hot set needs 1 <= hot <= n ({n}) and a share from 0 to 1 (1 when every key is hot), \
                         got hot {hot} and share {share}"
                    ));
                }
                Ok(KeyDist::HotSet { n, hot, share })
            }
        }
    }

    /// How many keys.
    pub fn len(&self) -> u32 {
        match self {
            KeyDist::Zipf { n, .. } | KeyDist::Uniform(n) | KeyDist::HotSet { n, .. } => *n,
        }
    }

    /// Whether there are no keys (never, once compiled).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Draws a key.
    #[inline]
    pub fn sample(&self, rng: &mut RngStream) -> u32 {
        match self {
            KeyDist::Zipf { zipf, n, .. } => (zipf.sample(rng) as u32).clamp(1, *n) - 1,
            KeyDist::Uniform(n) => rng.random_range(0..*n),
            KeyDist::HotSet { n, hot, share } => {
                if *hot == *n || rng.random::<f64>() < *share {
                    rng.random_range(0..*hot)
                } else {
                    rng.random_range(*hot..*n)
                }
            }
        }
    }

    /// The probability of key `k`.
    pub fn probability(&self, k: u32) -> f64 {
        match self {
            KeyDist::Zipf { n, s, .. } => {
                if k >= *n {
                    return 0.0;
                }
                let norm: f64 = (1..=*n).map(|i| f64::from(i).powf(-s)).sum();
                f64::from(k + 1).powf(-s) / norm
            }
            KeyDist::Uniform(n) => {
                if k < *n {
                    1.0 / f64::from(*n)
                } else {
                    0.0
                }
            }
            KeyDist::HotSet { n, hot, share } => {
                if k < *hot {
                    share / f64::from(*hot)
                } else if k < *n {
                    (1.0 - share) / f64::from(n - hot)
                } else {
                    0.0
                }
            }
        }
    }
}

/// A 64-bit mix of `x` (SplitMix64's finaliser): consecutive keys get unrelated hashes.
#[inline]
pub fn hash(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Where keys live among `nodes` nodes.
#[derive(Clone, Debug)]
pub struct Placement {
    routing: Routing,
    nodes: u32,
    /// The ring's points `(position, node)`, sorted by position (`Ring` only).
    ring: Vec<(u64, u32)>,
    salt: u64,
    /// The keys `Range` splits: `0 .. key_space`.
    key_space: u32,
}

/// The salt of the placement of a component named `name` (a cache, a service): each its own.
pub fn salt(name: &str) -> u64 {
    name.bytes().fold(0, |h, b| hash(h ^ u64::from(b)))
}

impl Placement {
    /// A placement on `nodes` nodes; `salt` varies the hash (each ring is its own); `Range`
    /// splits the keys `0 .. key_space`.
    pub fn new(routing: Routing, nodes: u32, salt: u64, key_space: u32) -> Placement {
        let mut placement = Placement { routing, nodes: 0, ring: Vec::new(), salt, key_space: key_space.max(1) };
        placement.resize(nodes);
        placement
    }

    /// How many nodes.
    pub fn nodes(&self) -> u32 {
        self.nodes
    }

    /// Changes the number of nodes: new ones are added after the others, and lost ones are the
    /// last. On a ring, the remaining nodes keep their points.
    pub fn resize(&mut self, nodes: u32) {
        let nodes = nodes.max(1);
        if let Routing::Ring(vnodes) = self.routing {
            let vnodes = vnodes.max(1);
            self.ring.retain(|&(_, node)| node < nodes);
            for node in self.nodes..nodes {
                for v in 0..vnodes {
                    let point = hash(self.salt ^ hash((u64::from(node) << 32) | u64::from(v)));
                    self.ring.push((point, node));
                }
            }
            self.ring.sort_unstable();
        }
        self.nodes = nodes;
    }

    /// The node of `key`.
    #[inline]
    pub fn node(&self, key: u32) -> u32 {
        if self.nodes == 1 {
            return 0;
        }
        let h = hash(self.salt ^ u64::from(key));
        match self.routing {
            Routing::ModN => (h % u64::from(self.nodes)) as u32,
            Routing::Range => {
                let node = u64::from(key) * u64::from(self.nodes) / u64::from(self.key_space);
                node.min(u64::from(self.nodes - 1)) as u32
            }
            Routing::Ring(_) => {
                // The first point at or after the key's position, wrapping round.
                let i = self.ring.partition_point(|&(point, _)| point < h);
                self.ring.get(i).or(self.ring.first()).map_or(0, |&(_, node)| node)
            }
        }
    }

    /// The share of keys `0 .. keys` whose node differs between `self` and `other`.
    pub fn moved_fraction(&self, other: &Placement, keys: u32) -> f64 {
        if keys == 0 {
            return 0.0;
        }
        let moved = (0..keys).filter(|&k| self.node(k) != other.node(k)).count();
        moved as f64 / f64::from(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod_n_from_ten_to_eleven_moves_ten_elevenths() {
        // A key stays only when h mod 10 = h mod 11, i.e. h mod 110 < 10: 1/11 of the keys.
        let ten = Placement::new(Routing::ModN, 10, 7, 1);
        let mut eleven = ten.clone();
        eleven.resize(11);
        let moved = ten.moved_fraction(&eleven, 1_000_000);
        // Binomial: sd = sqrt(0.909 x 0.091 / 1e6) = 0.0003; 5 sd.
        assert!((moved - 10.0 / 11.0).abs() < 0.0015, "moved {moved}");
    }

    #[test]
    fn ring_moves_only_keys_to_the_new_node() {
        let ten = Placement::new(Routing::Ring(100), 10, 7, 1);
        let mut eleven = ten.clone();
        eleven.resize(11);
        for k in 0..100_000 {
            let (a, b) = (ten.node(k), eleven.node(k));
            assert!(a == b || b == 10, "key {k} moved from {a} to {b}, not to the new node");
        }
        let mut back = eleven.clone();
        back.resize(10);
        assert_eq!(back.moved_fraction(&ten, 100_000), 0.0, "losing the new node restores the ring");
    }

    #[test]
    fn keys_are_drawn_with_their_probabilities() {
        let dist = KeyDist::new(&Keys::HotSet { n: 100, hot: 10, share: 0.9 }).unwrap();
        let mut rng = tailsim_engine::rng::stream(1, 0, "keys");
        let draws = 200_000;
        let hot = (0..draws).filter(|_| dist.sample(&mut rng) < 10).count();
        // Binomial(200000, 0.9): sd = 134; 5 sd = 670.
        assert!((hot as f64 - 180_000.0).abs() < 670.0, "hot draws {hot}");
        let total: f64 = (0..100).map(|k| dist.probability(k)).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
}
