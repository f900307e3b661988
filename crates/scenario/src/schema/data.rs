//! The data layer: caches (where they live, how keys are placed on nodes) and replicated
//! services.

use serde::{Deserialize, Serialize};

use super::{DistSpec, Duration, one};

/// A cache, looked up by `Cached("name", [miss steps])` steps: keyed by the request's key, with
/// exact LRU eviction at `capacity` entries (per node, or per instance), a time to live, and
/// the protections against stampedes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cache {
    /// The cache's name, unique among caches.
    pub name: String,
    /// Entries each node (or each instance, with `scope: PerInstance`) holds.
    pub capacity: u32,
    /// How long an entry stays fresh after it is filled. Default: for ever.
    #[serde(default)]
    pub ttl: Option<Duration>,
    /// A random extra on each entry's TTL, uniform from 0 to this, so that entries filled
    /// together do not expire together. Default 0.
    #[serde(default)]
    pub ttl_spread: Duration,
    /// The time a lookup takes, hit or miss (a Redis round trip, or next to nothing
    /// in-process). Default 0.
    #[serde(default)]
    pub latency: Option<DistSpec>,
    /// One cache shared by every caller (Redis, Memcached), or one per instance of the service
    /// that looks it up (an in-process cache). Default `Shared`.
    #[serde(default)]
    pub scope: CacheScope,
    /// The nodes of a shared cache; each key lives on one of them. Default 1.
    #[serde(default = "one")]
    pub nodes: u32,
    /// How keys are placed on the nodes. Default `ModN`.
    #[serde(default)]
    pub routing: Routing,
    /// Request coalescing (single flight): concurrent misses on one key make one fetch, and
    /// the others wait for it. Default false: every miss fetches (what most code does).
    #[serde(default)]
    pub coalesce: bool,
    /// Stale-while-revalidate: for this long after its expiry an entry is still served, while
    /// one background fetch refreshes it. Default: never stale.
    #[serde(default)]
    pub stale_for: Option<Duration>,
    /// Probabilistic early expiration (XFetch, Vattani et al. 2015) with this `beta` (1 is
    /// the paper's default): a hit refreshes the entry when
    /// `now - delta x beta x ln(rand) >= expiry`, `delta` being its last recompute time.
    #[serde(default)]
    pub early: Option<f64>,
    /// The most popular keys (`0 .. warm`) filled before traffic starts. Default 0.
    #[serde(default)]
    pub warm: u32,
}

/// Where a cache lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CacheScope {
    /// One cache for all callers, on `nodes` nodes.
    #[default]
    Shared,
    /// One cache per instance of the service that looks it up, in its memory.
    PerInstance,
}

/// How keys are placed on nodes (cache nodes, or a key-routed service's instances).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Routing {
    /// `hash(key) mod nodes`: adding an eleventh node to ten moves about 10/11 of the keys.
    #[default]
    ModN,
    /// A consistent-hash ring with this many virtual nodes per node (Karger et al. 1997):
    /// adding a node moves about `1 / nodes` of the keys.
    Ring(u32),
    /// Contiguous ranges of the key space, one per node, in key order. Keys are popularity
    /// ranks, so the first node holds the hottest keys: the hot range of range partitioning on
    /// an ordered key (a timestamp, an auto-increment id).
    Range,
}

/// Primary and read replicas: instance 0 is the primary and takes the writes; the other
/// instances are read replicas, which apply each write `lag` after the primary committed it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    /// The request classes that write (they go to the primary); the others read (they go to the
    /// replicas, in turn).
    pub writes: Vec<String>,
    /// The replication lag. Default 0.
    #[serde(default)]
    pub lag: Option<DistSpec>,
}
