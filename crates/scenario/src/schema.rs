//! The scenario file's schema: a serde mirror of the RON text, as the user writes it. Names are
//! still strings and durations are checked but not yet resolved; `tailsim-model` lowers this
//! into the compiled `Model` a run reads.
//!
//! Every struct denies unknown fields, so a typo is an error with its line and column, never a
//! silently ignored setting. The types also serialise, which is how `--set path=value`
//! overrides are applied (see [`crate::overrides`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tailsim_engine::SimDuration;

/// A duration as written in a scenario file: a string such as `"250us"`, `"15ms"`, `"2s"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Duration(pub SimDuration);

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a duration string such as "250us", "15ms", "2s" or "5m""#)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
                SimDuration::parse(text).map(Duration).map_err(|why| {
                    E::custom(format!(
                        r#"invalid duration "{text}": {why}; write a number and a unit: ns, us, ms, s, m or h, as in "250us", "15ms", "2s""#
                    ))
                })
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Duration, E> {
                Err(E::custom(format!(r#"a duration needs a unit: write "{n}ms" or "{n}s", in quotes"#)))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Duration, E> {
                Err(E::custom(format!(r#"a duration needs a unit and quotes, as in "{n}ms""#)))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Duration, E> {
                Err(E::custom(format!(r#"a duration needs a unit: write "{n}s" or "{n}ms", in quotes"#)))
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

/// A whole scenario: what runs, for how long, and what is measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The scenario's name; names the output folder.
    pub name: String,
    /// A sentence or two on what the scenario shows.
    #[serde(default)]
    pub description: Option<String>,
    /// Simulated time of one replication, warm-up included.
    pub duration: Duration,
    /// Initial period excluded from all statistics.
    #[serde(default)]
    pub warmup: Duration,
    /// Master seed; `--seed` overrides it. Default 1.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Traffic sources.
    pub clients: Vec<Client>,
    /// Services, each with instances, workers, a queue and a handler.
    pub services: Vec<Service>,
    /// Caches, looked up by `Cached` steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caches: Vec<Cache>,
    /// Faults on a timeline.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// The width of the windows of the time series. Default 1s.
    #[serde(default = "one_second")]
    pub window: Duration,
    /// Named alternatives to compare with the scenario itself (`tailsim compare`): each a set of
    /// overrides applied on top of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// What the design must meet: objectives judged over the replications, each met, missed
    /// or inconclusive (`run` and `compare` exit with 4 when one is missed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<Slo>,
    /// What the design's parts cost, for the summaries' cost per hour and per million
    /// successful requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prices: Vec<Price>,
}

/// The price of a part of the design.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Price {
    /// A service: per instance-hour (as it runs them, autoscaled or not), and per million
    /// visits for a managed service billed by request.
    Service {
        /// The service.
        service: String,
        /// Money per instance-hour. Default 0.
        #[serde(default)]
        per_instance_hour: f64,
        /// Money per million visits. Default 0.
        #[serde(default)]
        per_million_requests: f64,
    },
    /// A shared cache: per node-hour (a Redis or Memcached node), and per GB-hour of the memory
    /// its nodes hold (`capacity` entries of `entry_bytes` each, a GB being 2^30 bytes as
    /// memory is priced).
    Cache {
        /// The cache.
        cache: String,
        /// Money per node-hour. Default 0.
        #[serde(default)]
        per_node_hour: f64,
        /// Money per GB-hour of the nodes' memory. Default 0; needs `entry_bytes`.
        #[serde(default)]
        per_gb_hour: f64,
        /// The bytes one entry takes (key, value and the store's overhead), for `per_gb_hour`.
        #[serde(default)]
        entry_bytes: Option<u64>,
    },
}

/// An objective the design must meet, judged over the replications (`slos: [...]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Slo {
    /// A client's successful requests (or one class's) under latency bounds:
    /// `Latency(client: "shoppers", p99: "200ms", p999: "1s")`.
    Latency {
        /// The client.
        client: String,
        /// Only this request class of it.
        #[serde(default)]
        class: Option<String>,
        /// The exact mean under this.
        #[serde(default)]
        mean: Option<Duration>,
        /// The median under this.
        #[serde(default)]
        p50: Option<Duration>,
        /// The 90th percentile under this.
        #[serde(default)]
        p90: Option<Duration>,
        /// The 99th percentile under this.
        #[serde(default)]
        p99: Option<Duration>,
        /// The 99.9th percentile under this.
        #[serde(default)]
        p999: Option<Duration>,
        /// The exact maximum under this.
        #[serde(default)]
        max: Option<Duration>,
    },
    /// The failed share of a client's answered requests under `below` (0.001 is 0.1%).
    Errors {
        /// The client.
        client: String,
        /// Only this request class of it.
        #[serde(default)]
        class: Option<String>,
        /// The largest share, 0 to 1, not included.
        below: f64,
    },
    /// A client's successful requests per second at least `at_least`.
    Goodput {
        /// The client.
        client: String,
        /// Only this request class of it.
        #[serde(default)]
        class: Option<String>,
        /// The fewest per second.
        at_least: f64,
    },
    /// The share of time-series windows after the warm-up (see `window`) in which the client's
    /// p99 is at most `p99` and its failed share at most `errors` is at least `at_least`: an
    /// availability SLI over windows (`window: "1m"` for one-minute windows).
    Availability {
        /// The client.
        client: String,
        /// The most p99 a good window has.
        #[serde(default)]
        p99: Option<Duration>,
        /// The most failed share of answers a good window has, 0 to 1.
        #[serde(default)]
        errors: Option<f64>,
        /// The least share of good windows, 0 to 1.
        at_least: f64,
    },
    /// A service's utilisation (busy over all workers) under `below`, 0 to 1.
    Utilisation {
        /// The service.
        service: String,
        /// The ceiling, not included.
        below: f64,
    },
    /// A service's queue wait under bounds (`max`: the oldest a visit gets in its queue).
    QueueWait {
        /// The service.
        service: String,
        /// The exact mean under this.
        #[serde(default)]
        mean: Option<Duration>,
        /// The median under this.
        #[serde(default)]
        p50: Option<Duration>,
        /// The 90th percentile under this.
        #[serde(default)]
        p90: Option<Duration>,
        /// The 99th percentile under this.
        #[serde(default)]
        p99: Option<Duration>,
        /// The 99.9th percentile under this.
        #[serde(default)]
        p999: Option<Duration>,
        /// The exact maximum under this.
        #[serde(default)]
        max: Option<Duration>,
    },
    /// The share of a service's admitted visits that wait for a worker (Erlang C's P(wait))
    /// under `below`, 0 to 1.
    WaitProbability {
        /// The service.
        service: String,
        /// The ceiling, not included.
        below: f64,
    },
    /// A service's longest queue, all instances, under `below` visits.
    Backlog {
        /// The service.
        service: String,
        /// The ceiling, not included.
        below: u64,
    },
    /// Every fault of a service recovered (goodput and p99 back to before it) within
    /// `within` of its end.
    Recovery {
        /// The service whose faults are judged.
        service: String,
        /// The longest a recovery may take.
        within: Duration,
    },
    /// A cache's hit ratio at least `at_least`, 0 to 1.
    HitRatio {
        /// The cache.
        cache: String,
        /// The floor.
        at_least: f64,
    },
}

/// A named alternative design: the scenario with some values changed, written
/// `Variant(name: "budget", set: {"clients.users.policy.retry.budget": "(ratio: 0.1)"})`.
/// Each key is a path as `--set` takes it; the overrides apply in the order of their paths, so
/// a structure is set before a field inside it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The variant's name, unique among the variants and not `base`.
    pub name: String,
    /// Path to new value, as `--set path=value` would give them.
    pub set: BTreeMap<String, SetValue>,
}

/// A value in a variant's `set`: a number, `true`/`false`, or a string holding a scalar or a
/// structure in RON (`"Exponential(base: \"50ms\", cap: \"2s\")"`, or with a raw string
/// `r#"Exponential(base: "50ms", cap: "2s")"#`). Kept as the text `--set` would have seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetValue(pub String);

impl Serialize for SetValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SetValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SetValue, D::Error> {
        struct SetValueVisitor;
        impl Visitor<'_> for SetValueVisitor {
            type Value = SetValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a number, true or false, or a string such as "15ms" or "Exponential(base: \"50ms\", cap: \"2s\")""#)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<SetValue, E> {
                Ok(SetValue(text.to_string()))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<SetValue, E> {
                Ok(SetValue(b.to_string()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<SetValue, E> {
                Ok(SetValue(n.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<SetValue, E> {
                Ok(SetValue(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<SetValue, E> {
                Ok(SetValue(n.to_string()))
            }
        }
        deserializer.deserialize_any(SetValueVisitor)
    }
}

fn one_second() -> Duration {
    Duration(SimDuration::from_secs(1))
}

/// Something going wrong with a service from `at` for `duration`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Fault {
    /// Work takes `factor` times longer (work started inside the window).
    Slowdown {
        /// The service affected.
        service: String,
        /// Only this instance (from 0): a noisy neighbour. Default: all.
        #[serde(default)]
        instance: Option<u32>,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        duration: Duration,
        /// The multiplier of every `Work` duration, e.g. 5.0.
        factor: f64,
    },
    /// Visits that get a worker inside the window fail at once with this probability.
    Errors {
        /// The service affected.
        service: String,
        /// Only this instance (from 0). Default: all.
        #[serde(default)]
        instance: Option<u32>,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        duration: Duration,
        /// The probability of failing, 0 to 1.
        probability: f64,
    },
    /// The service refuses every visit that arrives inside the window; visits already inside
    /// carry on.
    Outage {
        /// The service affected.
        service: String,
        /// Only this instance (from 0): a crashed node. Default: all.
        #[serde(default)]
        instance: Option<u32>,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        duration: Duration,
    },
    /// The instance crashes at `at` and restarts `restart_after` later. The visits inside it
    /// (queued, running, or waiting for their calls) are lost: their callers see an error at
    /// once, as on a connection reset, and their own timeouts and retries act on it; the calls
    /// they had out are abandoned (cancelled where the edge says `cancel_on_timeout` or the wait
    /// cancels its losers). Until the restart it refuses every visit sent to it; balancers
    /// stop sending it any `detected_after` the crash, as a health check would, while another
    /// instance can take the visit. It restarts with an empty queue and idle workers.
    Crash {
        /// The service affected.
        service: String,
        /// Only this instance (from 0). Default: all of them at once.
        #[serde(default)]
        instance: Option<u32>,
        /// When it crashes.
        at: Duration,
        /// How long until it takes traffic again. Default: never (the rest of the run).
        #[serde(default = "forever")]
        restart_after: Duration,
        /// How long the balancer takes to notice and route around it (a health check's
        /// interval times its failure threshold); until then the visits it gets are refused.
        /// Default 0s: at once.
        #[serde(default)]
        detected_after: Duration,
    },
    /// Stop-the-world pauses, as a garbage collector makes: every `every` from `at`, all the
    /// workers freeze for `pause`; work in progress, and work that starts then, makes no
    /// progress until the pause ends.
    Pauses {
        /// The service affected.
        service: String,
        /// Only this instance (from 0). Default: all.
        #[serde(default)]
        instance: Option<u32>,
        /// The first pause. Default 0.
        #[serde(default)]
        at: Duration,
        /// How long the pauses go on. Default: the whole run.
        #[serde(default = "forever")]
        duration: Duration,
        /// Time from one pause's start to the next's.
        every: Duration,
        /// How long each pause lasts.
        pause: Duration,
    },
    /// A CPU limit (Linux CFS bandwidth control, a container's `resources.limits.cpu`): in each
    /// `period` the instance's workers together may run `cpus x period` of work; once they
    /// have, every one of them is throttled until the period ends. Eight workers under a limit
    /// of 2 spend a 100 ms period's quota in 25 ms when all are busy, and wait 75 ms.
    CpuQuota {
        /// The service affected.
        service: String,
        /// Only this instance (from 0). Default: all.
        #[serde(default)]
        instance: Option<u32>,
        /// When it starts. Default 0.
        #[serde(default)]
        at: Duration,
        /// How long it lasts. Default: the whole run.
        #[serde(default = "forever")]
        duration: Duration,
        /// CPUs' worth of work per period: 0.5 is 50 ms of each 100 ms, 2 is 200 ms.
        cpus: f64,
        /// The accounting period, 1ms to 1s. Default 100ms (the kernel's default).
        #[serde(default = "hundred_ms")]
        period: Duration,
    },
    /// The primary of a replicated service fails at `at`: writes are refused until a replica has
    /// been promoted, `detection + promotion` later; reads go on at the replicas, which are one
    /// fewer from then on.
    Failover {
        /// The replicated service.
        service: String,
        /// When the primary fails.
        at: Duration,
        /// Until the failure is noticed.
        detection: Duration,
        /// From then until a replica is the new primary.
        promotion: Duration,
    },
    /// At `at` the cache loses a random `fraction` of its entries (a restart, a `FLUSHALL`).
    CacheFlush {
        /// The cache affected.
        cache: String,
        /// When.
        at: Duration,
        /// The share of entries lost, 0 to 1. Default 1: all.
        #[serde(default = "one_f64")]
        fraction: f64,
    },
    /// At `at` a shared cache has `nodes` nodes: one added, or lost (the last ones go). The
    /// keys whose node changed miss until they are fetched again.
    CacheNodes {
        /// The cache affected.
        cache: String,
        /// When.
        at: Duration,
        /// The new number of nodes.
        nodes: u32,
    },
    /// At `at` a deploy changes the cache's key format: no entry is found again, and the old
    /// ones wait to be evicted.
    KeyChange {
        /// The cache affected.
        cache: String,
        /// When.
        at: Duration,
    },
}

/// How long a periodic fault lasts when no `duration` is given: the whole run.
fn forever() -> Duration {
    Duration(SimDuration::from_secs(100 * 365 * 24 * 3600))
}

fn hundred_ms() -> Duration {
    Duration(SimDuration::from_millis(100))
}

/// A traffic source. Open loop (`rate`): requests arrive at `rate` per second whatever the
/// answers do, as many independent users would. Closed loop (`users`): each of N users sends a
/// request, waits for its answer (or its failure, a timeout included), thinks for `think`, and
/// sends the next, as load tests and batch workers do. Give `rate` or `users`, not both.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// The client's name, unique among clients.
    pub name: String,
    /// The service every request goes to.
    pub target: String,
    /// Requests per second (open loop).
    #[serde(default)]
    pub rate: Option<f64>,
    /// Users, each with one request at a time (closed loop).
    #[serde(default)]
    pub users: Option<u32>,
    /// A closed-loop user's pause between an answer and its next request; each user also
    /// waits one think time before its first request. Default none: back to back.
    #[serde(default)]
    pub think: Option<DistSpec>,
    /// The arrival process; default `Poisson`.
    #[serde(default)]
    pub arrivals: Arrivals,
    /// How an open-loop rate changes over the run, shape after shape from `rate`:
    /// `[Step(at: "30s", rate: 2000), Spike(at: "60s", duration: "10s", rate: 5000)]`.
    /// Poisson arrivals stay Poisson at the changing rate (by thinning).
    #[serde(default)]
    pub traffic: Vec<Shape>,
    /// Timeouts and retries on the client's calls.
    #[serde(default)]
    pub policy: Policy,
    /// Kinds of request the client sends, e.g. 90% reads and 10% writes. Default: one kind.
    #[serde(default)]
    pub classes: Vec<Class>,
    /// Which item each request is about, for caches and key-routed services:
    /// `Zipf(n: 100000, s: 1.1)`. A class may draw from its own. Default: none.
    #[serde(default)]
    pub keys: Option<Keys>,
    /// Recorded arrivals to replay, in place of `rate` or `users`: a CSV file (its path
    /// relative to the scenario file's folder), one row per request, `time[,class[,key]]`.
    #[serde(default)]
    pub trace: Option<String>,
}

/// How a request's key is drawn. Keys are ranks from 0, the most popular first, so the top `k`
/// keys are `0 .. k`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Keys {
    /// Zipf's law over `n` keys: key `k` (from 0) drawn with probability proportional to
    /// `1 / (k + 1)^s`. Web objects and database rows typically have `s` between 0.6 and 1.3.
    Zipf {
        /// How many keys.
        n: u32,
        /// The exponent, 0 or more (0 is uniform).
        s: f64,
    },
    /// Every one of `n` keys equally likely.
    Uniform {
        /// How many keys.
        n: u32,
    },
    /// A hot set: `share` of the requests on the `hot` first keys, the rest on the others, each
    /// part uniform.
    HotSet {
        /// How many keys.
        n: u32,
        /// How many of them are hot.
        hot: u32,
        /// The share of requests on the hot keys, 0 to 1.
        share: f64,
    },
}

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

/// A kind of request. Its name follows the request down the call graph: every service runs its
/// handler for the class (from `handlers`) if it has one, else its default `handler`, and a
/// `Priority` queue serves it by the class's `priority`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    /// The class's name; the same name in two clients is the same class.
    pub name: String,
    /// The share of the client's requests, relative to the other classes' weights.
    pub weight: f64,
    /// Larger is served first by `Priority` queues. Default 0.
    #[serde(default)]
    pub priority: i32,
    /// The class's own key distribution, in place of the client's.
    #[serde(default)]
    pub keys: Option<Keys>,
}

/// A change of an open-loop client's rate over time. Shapes apply in order: each starts from
/// the rate the ones before it give.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Shape {
    /// From `at` on, the rate is `rate`.
    Step {
        /// When.
        at: Duration,
        /// The new rate, per second.
        rate: f64,
    },
    /// From `from` to `to` the rate moves in a straight line to `rate`, and stays there.
    Ramp {
        /// When the ramp starts.
        from: Duration,
        /// When it reaches `rate`.
        to: Duration,
        /// The rate at the end, per second.
        rate: f64,
    },
    /// From `at` for `duration` the rate is `rate`, then back to what it was.
    Spike {
        /// When.
        at: Duration,
        /// How long.
        duration: Duration,
        /// The rate during the spike, per second.
        rate: f64,
    },
    /// The rate times `1 + amplitude x sin(2 pi t / period)`: a day's rhythm.
    Diurnal {
        /// The period, e.g. "24h".
        period: Duration,
        /// Between 0 and 1.
        amplitude: f64,
    },
    /// The rate times `(1 + per_hour)^(t / 1h)`: steady growth (or decline, below 0).
    Growth {
        /// The growth per hour, e.g. 0.1 for 10%; above -1.
        per_hour: f64,
    },
    /// Bursts: on for an exponential time of mean `on`, off (no traffic) for one of mean `off`,
    /// starting on (a Markov-modulated Poisson process).
    OnOff {
        /// The mean length of a burst.
        on: Duration,
        /// The mean pause between bursts.
        off: Duration,
    },
}

/// How requests are spaced in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arrivals {
    /// Exponential gaps: independent arrivals, the usual model of many users.
    #[default]
    Poisson,
    /// Equal gaps of exactly `1 / rate`.
    Constant,
}

/// A service: instances behind a load balancer, each with a queue and a pool of workers, all
/// running the same handler.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The service's name, unique among services.
    pub name: String,
    /// Instances behind the load balancer. Default 1.
    #[serde(default = "one")]
    pub instances: u32,
    /// Workers (threads) per instance. Default 1.
    #[serde(default = "one")]
    pub workers: u32,
    /// Each instance's waiting queue. Default unbounded.
    #[serde(default)]
    pub queue: Queue,
    /// How requests are spread over instances. Default `RoundRobin`.
    #[serde(default)]
    pub balancer: Balancer,
    /// How often the balancer learns each instance's outstanding visits: omitted, it always
    /// knows; `"5s"`, it works from a snapshot taken every 5 s (stale load information, which
    /// makes least-outstanding balancers herd onto the instance that looked idlest).
    #[serde(default)]
    pub load_report_every: Option<Duration>,
    /// Whether a worker is held while the handler waits for its calls. Default
    /// `ThreadPerRequest`.
    #[serde(default)]
    pub concurrency: Concurrency,
    /// Work that slows down as more of it runs at once, by Gunther's Universal Scalability Law.
    /// Default: none (work takes what its distribution draws, however busy the instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contention: Option<Contention>,
    /// What a worker does with a request, step by step.
    pub handler: Vec<Step>,
    /// Handlers for particular request classes, by class name, in place of `handler`.
    #[serde(default)]
    pub handlers: BTreeMap<String, Vec<Step>>,
    /// Target tracking on worker utilisation, as the Kubernetes Horizontal Pod Autoscaler does;
    /// `instances` is where it starts.
    #[serde(default)]
    pub autoscale: Option<Autoscale>,
    /// A statement timeout: a `Work` step that would run longer is stopped at this limit, its
    /// worker freed, and the visit fails with an error (as a database cancels a query that ran
    /// past `statement_timeout`). Default: none.
    #[serde(default)]
    pub statement_timeout: Option<Duration>,
    /// A primary (instance 0) and read replicas (the others). Default: none.
    #[serde(default)]
    pub replication: Option<Replication>,
    /// The most connections the service accepts, all callers together (a database's
    /// `max_connections`). Connections are held by the callers' pools (a `bulkhead` on the
    /// call): each takes its `max_concurrent` when its instance starts, as many as are left, and
    /// gives them back when its instance stops or crashes; a pool that got none fails its calls
    /// at once (`NoConnection`). Default: no limit.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// A rate limit at the service's door, one token bucket per tenant. Default: none.
    #[serde(default)]
    pub admission: Option<Admission>,
}

/// Admission control by tenant, as an API gateway's per-tenant quota: each tenant (a request
/// class, or a request key) has its own token bucket of `rate` tokens per second holding at most
/// `burst`; a request that finds its tenant's bucket empty is rejected at the door, before it
/// takes a worker or a place in the queue, so one tenant's flood does not crowd out the others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admission {
    /// What a tenant is.
    pub per: Tenant,
    /// Tokens per second, for each tenant.
    pub rate: f64,
    /// The most tokens a tenant's bucket stores (it starts full). Default 1.
    #[serde(default = "one_f64")]
    pub burst: f64,
}

/// What a tenant of an [`Admission`] limit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tenant {
    /// The request's class: one bucket per class.
    Class,
    /// The request's key: one bucket per key of the key space.
    Key,
}

impl Tenant {
    /// Its name in the scenario's words, as the summary and the call graph give it.
    pub fn name(self) -> &'static str {
        match self {
            Tenant::Class => "class",
            Tenant::Key => "key",
        }
    }
}

/// The Kubernetes HPA's rule: every `interval`, `desired = ceil(current x metric / target)`,
/// left alone within `tolerance` of the target; a scale-up follows the lowest recommendation of
/// the last `up_window`, a scale-down the highest of the last `down_window`; new instances take
/// traffic after `startup`. The metric is the workers' utilisation (`target`, in whole percent
/// as Kubernetes rounds it) or another `metric`. Each default is Kubernetes'.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    /// The workers' utilisation aimed at, 0 to 1 (a CPU target). Give this or `metric`.
    #[serde(default)]
    pub target: Option<f64>,
    /// Another metric to track, with its target. Give this or `target`.
    #[serde(default)]
    pub metric: Option<ScaleMetric>,
    /// The fewest instances. Default 1.
    #[serde(default = "one")]
    pub min: u32,
    /// The most instances.
    pub max: u32,
    /// How often it looks. Default 15s.
    #[serde(default = "fifteen_seconds")]
    pub interval: Duration,
    /// No change while |utilisation / target - 1| is at most this. Default 0.1.
    #[serde(default = "a_tenth")]
    pub tolerance: f64,
    /// Scale-up stabilisation window. Default 0s.
    #[serde(default)]
    pub up_window: Duration,
    /// Scale-down stabilisation window. Default 300s.
    #[serde(default = "five_minutes")]
    pub down_window: Duration,
    /// Time from a scale-up until the new instance takes traffic (a native binary starts in
    /// seconds, a JVM in 30-90s). Default 0s.
    #[serde(default)]
    pub startup: Duration,
    /// Scheduled scaling: at each time, the fewest instances becomes `min`.
    #[serde(default)]
    pub schedule: Vec<ScheduledMin>,
}

/// What an autoscaler tracks other than utilisation, averaged over its `interval`, and the
/// value it aims at.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ScaleMetric {
    /// Visits waiting in the queue, per instance (a queue-length or backlog metric).
    QueueDepth(f64),
    /// Visits inside an instance (queued, served, or waiting for their calls), per instance
    /// (a concurrency metric, as Knative scales on).
    InFlight(f64),
    /// The 95th percentile of the service's visits that finished in the interval (a latency
    /// metric of the whole service, as an HPA's object metric: replicas follow the ready
    /// instances, with no allowance for those still starting).
    P95(Duration),
}

/// At `at`, the autoscaler's `min` becomes `min` (and it scales up to it at once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledMin {
    /// When.
    pub at: Duration,
    /// The new minimum.
    pub min: u32,
}

fn fifteen_seconds() -> Duration {
    Duration(SimDuration::from_secs(15))
}

fn a_tenth() -> f64 {
    0.1
}

fn five_minutes() -> Duration {
    Duration(SimDuration::from_secs(300))
}

fn one() -> u32 {
    1
}

/// An instance's queue of requests waiting for a worker.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// Waiting places per instance; arrivals beyond it are rejected. 0 means no waiting at all
    /// (a loss system). Omitted means unbounded.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// Which waiting visit a free worker takes. Default `Fifo`.
    #[serde(default)]
    pub discipline: Discipline,
    /// Load shedding by time in queue: a visit that waited longer is dropped when it reaches a
    /// worker, with a fast rejection, instead of being served for a caller that has likely
    /// given up (CoDel-like "drop old work").
    #[serde(default)]
    pub shed_after: Option<Duration>,
}

/// Queue discipline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Discipline {
    /// First come, first served.
    #[default]
    Fifo,
    /// Last come, first served (non-preemptive): fresh requests first, which keeps most answers
    /// fast under overload while the oldest wait longest.
    Lifo,
    /// The waiting visit of the highest class `priority` first, first come first served within
    /// a priority (non-preemptive: a visit being served is never interrupted).
    Priority,
}

/// How a service's workers wait for calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Concurrency {
    /// The worker is held for the whole handler, calls included: a slow dependency ties up
    /// the pool (Java servlet threads, Rails processes, most synchronous code).
    #[default]
    ThreadPerRequest,
    /// The worker is held only for `Work`: it is freed while the handler waits for a call, and
    /// the visit queues again for a worker to run the steps after the call (event loops,
    /// async/await).
    Async,
}

/// Load-balancing policy across a service's instances. "Outstanding" visits of an instance are
/// those it admitted and has not finished: waiting or being served.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Balancer {
    /// Instances in turn.
    #[default]
    RoundRobin,
    /// An instance chosen uniformly at random.
    Random,
    /// The instance with the fewest outstanding visits (ties: the first after a random start),
    /// as AWS ALB's "least outstanding requests".
    LeastOutstanding,
    /// Two instances drawn at random, the one with fewer outstanding visits chosen ("the power
    /// of two choices", Mitzenmacher; Envoy's default least-request balancer).
    PowerOfTwo,
    /// An instance chosen at random in proportion to its weight: `Weighted([3, 1, 1])`, one
    /// weight per instance.
    Weighted(Vec<f64>),
    /// Each request goes to the instance that owns its key: the instances are the shards of a
    /// partitioned store. `ByKey(routing: Ring(100), pins: {0: 7})`: keys placed by `routing`
    /// over the instances, except the pinned keys (hot tenants), each on its own instance, which
    /// then holds only pinned keys.
    ByKey {
        /// How keys are placed. Default `ModN`.
        #[serde(default)]
        routing: Routing,
        /// Key to instance (from 0), for keys that get a dedicated shard.
        #[serde(default)]
        pins: BTreeMap<u32, u32>,
    },
}

/// Gunther's Universal Scalability Law (USL) for a service whose work slows down with
/// concurrency, as a database's does under lock contention and cache-line or latch traffic.
/// Each `Work` step that starts on an instance with `n` busy workers (its own included) takes
/// `1 + sigma (n - 1) + kappa n (n - 1)` times what its distribution draws, so that `N` workers
/// kept busy with work of mean `S` complete `X(N) = N / (S (1 + sigma (N - 1) + kappa N (N - 1)))`
/// per second: the USL's throughput. With `kappa > 0` it peaks at `N* = sqrt((1 - sigma) / kappa)`
/// busy workers and falls beyond (retrograde scaling); `kappa: 0` is Amdahl's law. The names are
/// Gunther's (older papers call them alpha and beta), and fitted values from a load test can be
/// used as they are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contention {
    /// Contention (serialisation): the share of the work that queues for something shared, such
    /// as a lock, 0 to 1. Default 0.
    #[serde(default)]
    pub sigma: f64,
    /// Coherency (crosstalk): the cost of every pair of busy workers keeping each other's data
    /// consistent, 0 to 1. Default 0.
    #[serde(default)]
    pub kappa: f64,
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

/// One step of a handler.
#[derive(Clone, Debug)]
pub enum Step {
    /// Hold the worker for a duration drawn from the distribution.
    Work(DistSpec),
    /// Call another service and wait for its answer; a failed call fails this request.
    /// Written `Call("db")` or, with a policy, `Call("db", (timeout: "200ms", retry: ...))`.
    Call {
        /// The service called.
        service: String,
        /// Timeouts and retries on this edge.
        policy: Policy,
    },
    /// Fail the request here with the given probability (an application error).
    Fail(f64),
    /// Call a service `n` times at once and wait for all, any, or a quorum of the answers:
    /// `FanOut("leaf", 100)` or `FanOut("leaf", 100, (wait: Quorum(2), policy: (...)))`.
    /// Losing calls run on; their answers are dropped (and their work counted as wasted).
    FanOut {
        /// The service called.
        service: String,
        /// How many calls.
        n: u32,
        /// What to wait for, and the policy of each call.
        options: FanOutOptions,
    },
    /// Make several different calls at once and wait for all, any, or a quorum of them:
    /// `Parallel([Call("a"), Call("b", (timeout: "50ms"))])` or
    /// `Parallel([Call("a"), Call("b")], (wait: Any, losers: Cancel))`. Only `Call` steps.
    Parallel {
        /// The calls, each a `Call` step.
        calls: Vec<Step>,
        /// What to wait for, and what happens to the losers.
        options: ParallelOptions,
    },
    /// Look the request's key up in a cache: a hit goes on after the step; a miss runs the
    /// `miss` steps (typically a `Call` to the database) and fills the cache:
    /// `Cached("products", [Call("db")])`. Caches nest: `Cached("l1", [Cached("l2", [...])])`.
    Cached {
        /// The cache.
        cache: String,
        /// What a miss does before the fill.
        miss: Vec<Step>,
    },
    /// Remove the request's key from a cache (cache-aside writes: update the database, then
    /// invalidate).
    Invalidate(String),
    /// Write the request's key into a cache, fresh (write-through).
    Put(String),
}

/// What a `Parallel` step waits for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParallelOptions {
    /// Default `All`.
    #[serde(default)]
    pub wait: Wait,
    /// What happens to the calls still out once the wait is decided. Default `Finish`.
    #[serde(default)]
    pub losers: Losers,
}

/// What happens to the calls still out once a wait is decided (the first answer of a hedge,
/// the quorum of a fan-out reached, or the wait failed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Losers {
    /// They run on; their answers are dropped and their work counted as wasted (what most code
    /// does: a `CompletableFuture.anyOf` or an unwatched goroutine).
    #[default]
    Finish,
    /// The caller cancels them: a queued visit is dropped at once, and a running one stops
    /// before its next step (gRPC and Go context cancellation).
    Cancel,
}

/// What a fan-out waits for, and the policy of each of its calls.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanOutOptions {
    /// Default `All`.
    #[serde(default)]
    pub wait: Wait,
    /// Timeouts, retries, breaker and throttling of each call.
    #[serde(default)]
    pub policy: Policy,
    /// What happens to the calls still out once the wait is decided. Default `Finish`.
    #[serde(default)]
    pub losers: Losers,
}

/// How many answers a fan-out waits for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wait {
    /// Every call must succeed; one failure fails the step.
    #[default]
    All,
    /// The first success wins; the step fails only if every call fails.
    Any,
    /// `k` successes are enough; the step fails once too many calls failed for `k`.
    Quorum(u32),
}

/// What a caller does about slow and failed calls on one edge. The defaults are the absence of
/// each mechanism: no timeout, no deadline, no retry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Give up on one attempt after this long.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Give up on the whole call, retries included, after this long.
    #[serde(default)]
    pub deadline: Option<Duration>,
    /// Whether the server stops working on an attempt the caller gave up on: a queued visit is
    /// dropped, and a running one stops before its next step (as with gRPC cancellation).
    /// Default false: abandoned work runs to the end, which is what most code does.
    #[serde(default)]
    pub cancel_on_timeout: bool,
    /// Retrying failed attempts.
    #[serde(default)]
    pub retry: Option<Retry>,
    /// A circuit breaker in front of every attempt.
    #[serde(default)]
    pub breaker: Option<Breaker>,
    /// Client-side adaptive throttling (Google SRE book, "Handling Overload").
    #[serde(default)]
    pub throttle: Option<Throttle>,
    /// Hedged requests ("The Tail at Scale"): on a client's calls or a `Call` step (not in a
    /// `FanOut` or `Parallel`), send another call when the
    /// first has not answered in time; the first success wins.
    #[serde(default)]
    pub hedge: Option<Hedge>,
    /// A bulkhead (connection pool) on the edge: at most `max_concurrent` attempts in flight.
    #[serde(default)]
    pub bulkhead: Option<Bulkhead>,
    /// A token-bucket rate limiter on the caller's side of the edge.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
}

/// A token bucket: `rate` tokens per second, at most `burst` stored; an attempt takes one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Tokens per second.
    pub rate: f64,
    /// The most tokens stored (the bucket starts full). Default 1.
    #[serde(default = "one_f64")]
    pub burst: f64,
    /// What happens without a token: `Reject` fails the attempt at once (default); `Delay`
    /// reserves the next token and sends the attempt when it comes (Guava's RateLimiter).
    #[serde(default)]
    pub mode: LimitMode,
}

/// What a rate limiter does with an attempt that finds no token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LimitMode {
    /// Fail it at once.
    #[default]
    Reject,
    /// Send it when its token comes.
    Delay,
}

/// A bulkhead as Resilience4j's `SemaphoreBulkhead` defines it, or a client connection pool:
/// an attempt takes a place until its answer comes back (even if the caller gave up on it) or
/// it is dropped from the server's queue, waits up to `max_wait` for one, and fails when none
/// came.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bulkhead {
    /// Places (connections). Resilience4j's default: 25.
    #[serde(default = "twenty_five")]
    pub max_concurrent: u32,
    /// How long an attempt may wait for a place. Resilience4j's default: 0.
    #[serde(default)]
    pub max_wait: Duration,
    /// One pool for every instance of the caller (`Shared`, the default), or one in each
    /// instance (`PerInstance`), as a connection pool or a bulkhead lives in each process.
    #[serde(default)]
    pub scope: PoolScope,
}

/// Where a bulkhead (a connection pool) lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PoolScope {
    /// One pool shared by every instance of the caller.
    #[default]
    Shared,
    /// One pool in each instance of the calling service, each with `max_concurrent` places (a
    /// client is one process: it has one pool either way).
    PerInstance,
}

fn twenty_five() -> u32 {
    25
}

/// When and how often to hedge. Give either `after` or `percentile`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hedge {
    /// A fixed delay before each hedge.
    #[serde(default)]
    pub after: Option<Duration>,
    /// The delay is this percentile (0 to 100, exclusive) of the edge's observed call latency
    /// (no hedging until 100 calls have been seen).
    #[serde(default)]
    pub percentile: Option<f64>,
    /// The most hedges per call. Default 1.
    #[serde(default = "one")]
    pub max: u32,
    /// What happens to the calls still out once one answered. Default `Cancel`: "The Tail at
    /// Scale" cancels the other copies.
    #[serde(default = "cancel")]
    pub losers: Losers,
}

fn cancel() -> Losers {
    Losers::Cancel
}

/// Adaptive throttling from the Google SRE book: each attempt is refused locally with
/// probability `max(0, (requests - k x accepts) / (requests + 1))`, over the last `window`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// The multiplier K; the book suggests 2. Default 2.
    #[serde(default = "two")]
    pub k: f64,
    /// The window requests and accepts are counted over; the book uses two minutes. Default 2m.
    #[serde(default = "two_minutes")]
    pub window: Duration,
}

fn two() -> f64 {
    2.0
}

fn two_minutes() -> Duration {
    Duration(SimDuration::from_secs(120))
}

/// A circuit breaker as Resilience4j defines it; each default is Resilience4j's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Breaker {
    /// The sliding window of recorded calls: the last N calls, or the last N seconds.
    /// Default `Count(100)`.
    #[serde(default = "count_100")]
    pub window: BreakerWindow,
    /// Open when at least this fraction of the window's calls failed. Default 0.5.
    #[serde(default = "half")]
    pub failure_rate: f64,
    /// Open when at least this fraction of the window's calls were slow. Default 1.0.
    #[serde(default = "one_f64")]
    pub slow_call_rate: f64,
    /// A call slower than this is slow. Default 60s.
    #[serde(default = "sixty_seconds")]
    pub slow_call_duration: Duration,
    /// No decision before the window holds this many calls. Default 100.
    #[serde(default = "hundred")]
    pub minimum_calls: u32,
    /// How long the breaker stays open before letting probes through. Default 60s.
    #[serde(default = "sixty_seconds")]
    pub open_for: Duration,
    /// Probes let through when half open; their failure rate decides. Default 10.
    #[serde(default = "ten_u32")]
    pub half_open_calls: u32,
}

/// A circuit breaker's sliding window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BreakerWindow {
    /// The last N calls.
    Count(u32),
    /// The calls of the last N seconds (whole seconds, as in Resilience4j).
    Time(u32),
}

fn count_100() -> BreakerWindow {
    BreakerWindow::Count(100)
}
fn half() -> f64 {
    0.5
}
fn one_f64() -> f64 {
    1.0
}
fn sixty_seconds() -> Duration {
    Duration(SimDuration::from_secs(60))
}
fn hundred() -> u32 {
    100
}
fn ten_u32() -> u32 {
    10
}

/// Retrying failed attempts, as in Resilience4j and gRPC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Attempts in all, the first included (Resilience4j's and gRPC's `maxAttempts`).
    pub attempts: u32,
    /// The wait before each retry. Default `None`: retry at once.
    #[serde(default)]
    pub backoff: Backoff,
    /// Which failures are retried. Default all: `[Timeout, Error, Rejected]`.
    #[serde(default = "all_failures")]
    pub on: Vec<FailureKind>,
    /// A limit on retries relative to recent requests.
    #[serde(default)]
    pub budget: Option<Budget>,
}

fn all_failures() -> Vec<FailureKind> {
    vec![FailureKind::Timeout, FailureKind::Error, FailureKind::Rejected]
}

/// The wait before a retry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Backoff {
    /// Retry immediately.
    #[default]
    None,
    /// Always the same wait.
    Constant(Duration),
    /// `base * 2^k` before retry k (from 0), capped, with optional jitter; the four variants of
    /// the AWS Architecture Blog's "Exponential Backoff And Jitter".
    Exponential {
        /// The first wait.
        base: Duration,
        /// The largest wait.
        cap: Duration,
        /// Randomisation of the wait. Default `None`.
        #[serde(default)]
        jitter: Jitter,
    },
}

/// Randomisation of exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Jitter {
    /// `min(cap, base * 2^k)`.
    #[default]
    None,
    /// `uniform(0, min(cap, base * 2^k))`.
    Full,
    /// `t / 2 + uniform(0, t / 2)` with `t = min(cap, base * 2^k)`.
    Equal,
    /// `min(cap, uniform(base, previous * 3))`, starting from `previous = base`.
    Decorrelated,
}

/// The kinds of failure a call can end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FailureKind {
    /// The attempt took longer than the timeout (or the deadline passed).
    Timeout,
    /// The server answered with an error (a `Fail` step, or a failed call of its own).
    Error,
    /// A full queue refused the attempt (or the service was down).
    Rejected,
    /// The caller's own circuit breaker was open and refused to send the attempt.
    BreakerOpen,
    /// The caller's adaptive throttling refused to send the attempt.
    Throttled,
    /// The caller's bulkhead had no free place and the wait for one ran out.
    BulkheadFull,
    /// The caller's rate limiter had no token (in `Reject` mode).
    RateLimited,
    /// The caller's connection pool has no connection: when it started, the service's
    /// `max_connections` were all taken by other pools.
    NoConnection,
}

/// A retry budget in the manner of Finagle's `RetryBudget`: retries are allowed while those in
/// the last `window` stay below `ratio` of the requests in it plus `min_per_s` per second.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Retries allowed per request, e.g. 0.1 (Finagle's `percentCanRetry`, default 0.2).
    pub ratio: f64,
    /// Retries always allowed per second (Finagle's `minRetriesPerSec`, default 10).
    #[serde(default = "ten")]
    pub min_per_s: f64,
    /// The window requests and retries are counted over (Finagle's `ttl`, default 10s).
    #[serde(default = "ten_seconds")]
    pub window: Duration,
}

fn ten() -> f64 {
    10.0
}

fn ten_seconds() -> Duration {
    Duration(SimDuration::from_secs(10))
}

/// Step's serde, generated from one declaration per step: its name, the fields it binds, the
/// text a list of steps shows it as and, for a step written as a tuple, its elements' types
/// (those marked `= default` optional at the end) and what it expects when the input is not
/// that. From the list come the tag and its names, the dispatch, each tuple's reader and
/// `Serialize`. A missing element is refused by its position, one too many by the position
/// after the last.
macro_rules! step_forms {
    ($($name:ident $bind:tt, shown $shown:literal $(, read as $types:tt, expecting $expecting:literal)?;)*) => {
        /// A step's name, as its tag.
        #[derive(Clone, Copy)]
        enum StepTag {
            $($name,)*
        }

        const STEP_NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Writes "a step: " and `items`, the last after "or".
        fn one_of(f: &mut fmt::Formatter<'_>, items: &[&str]) -> fmt::Result {
            f.write_str("a step: ")?;
            for (i, item) in items.iter().enumerate() {
                let gap = if i == 0 { "" } else if i + 1 == items.len() { " or " } else { ", " };
                write!(f, "{gap}{item}")?;
            }
            Ok(())
        }

        impl Serialize for Step {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Step::$name $bind => step_forms!(@write serializer, $name, $bind),)*
                }
            }
        }

        impl<'de> Deserialize<'de> for StepTag {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StepTag, D::Error> {
                struct TagVisitor;
                impl Visitor<'_> for TagVisitor {
                    type Value = StepTag;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        one_of(f, STEP_NAMES)
                    }
                    fn visit_str<E: de::Error>(self, name: &str) -> Result<StepTag, E> {
                        match name {
                            $(stringify!($name) => Ok(StepTag::$name),)*
                            other => Err(E::unknown_variant(other, STEP_NAMES)),
                        }
                    }
                }
                deserializer.deserialize_identifier(TagVisitor)
            }
        }

        impl<'de> Deserialize<'de> for Step {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Step, D::Error> {
                struct StepVisitor;
                impl<'de> Visitor<'de> for StepVisitor {
                    type Value = Step;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        one_of(f, &[$($shown),*])
                    }
                    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Step, A::Error> {
                        use serde::de::VariantAccess;
                        let (tag, variant) = data.variant::<StepTag>()?;
                        match tag {
                            $(StepTag::$name => step_forms!(@read variant, $name, $bind $(, $types, $expecting)?),)*
                        }
                    }
                }
                deserializer.deserialize_enum("Step", STEP_NAMES, StepVisitor)
            }
        }
    };
    (@write $s:ident, $name:ident, ($value:ident)) => {
        $s.serialize_newtype_variant("Step", StepTag::$name as u32, stringify!($name), $value)
    };
    (@write $s:ident, $name:ident, { $($field:ident),* }) => {{
        use serde::ser::SerializeTupleVariant;
        let len = [$(stringify!($field)),*].len();
        let mut tuple = $s.serialize_tuple_variant("Step", StepTag::$name as u32, stringify!($name), len)?;
        $(tuple.serialize_field($field)?;)*
        tuple.end()
    }};
    (@read $variant:ident, $name:ident, ($value:ident)) => {
        $variant.newtype_variant().map(Step::$name)
    };
    (@read $variant:ident, $name:ident, { $($field:ident),* },
     ($($ty:ty $(= $default:ident)?),*), $expecting:literal) => {{
        struct Elements;
        impl<'de> Visitor<'de> for Elements {
            type Value = Step;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($expecting)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Step, A::Error> {
                let mut read = 0;
                $(
                    let $field: $ty = step_forms!(@element seq, self, read $(, $default)?);
                    read += 1;
                )*
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(read + 1, &self));
                }
                Ok(Step::$name { $($field),* })
            }
        }
        $variant.tuple_variant([$(stringify!($field)),*].len(), Elements)
    }};
    (@element $seq:ident, $me:ident, $at:ident) => {
        $seq.next_element()?.ok_or_else(|| de::Error::invalid_length($at, &$me))?
    };
    (@element $seq:ident, $me:ident, $at:ident, default) => {
        $seq.next_element()?.unwrap_or_default()
    };
}

step_forms! {
    Work(dist), shown "Work(...)";
    Call { service, policy }, shown "Call(...)",
        read as (String, Policy = default),
        expecting r#"a service name and an optional policy: Call("db") or Call("db", (timeout: "200ms"))"#;
    Fail(probability), shown "Fail(...)";
    FanOut { service, n, options }, shown "FanOut(...)",
        read as (String, u32, FanOutOptions = default),
        expecting r#"a service, a count and optional options: FanOut("leaf", 100, (wait: Any))"#;
    Parallel { calls, options }, shown "Parallel([...])",
        read as (Vec<Step>, ParallelOptions = default),
        expecting r#"a list of calls and optional options: Parallel([Call("a"), Call("b")], (wait: Any))"#;
    Cached { cache, miss }, shown "Cached(...)",
        read as (String, Vec<Step>),
        expecting r#"a cache and the steps of a miss: Cached("products", [Call("db")])"#;
    Invalidate(cache), shown "Invalidate(...)";
    Put(cache), shown "Put(...)";
}

/// A distribution of durations as written in the file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum DistSpec {
    /// Always this duration.
    Constant(Duration),
    /// Uniform between `min` and `max`.
    Uniform {
        /// Smallest value.
        min: Duration,
        /// Largest value.
        max: Duration,
    },
    /// Exponential with this mean.
    Exponential {
        /// The mean.
        mean: Duration,
    },
    /// Normal, truncated at zero.
    Normal {
        /// The mean.
        mean: Duration,
        /// The standard deviation.
        std_dev: Duration,
    },
    /// Log-normal, given either `median` and `p99`, or `mean` and `std_dev`.
    LogNormal {
        /// The median (with `p99`).
        #[serde(default)]
        median: Option<Duration>,
        /// The 99th percentile (with `median`).
        #[serde(default)]
        p99: Option<Duration>,
        /// The mean (with `std_dev`).
        #[serde(default)]
        mean: Option<Duration>,
        /// The standard deviation (with `mean`).
        #[serde(default)]
        std_dev: Option<Duration>,
    },
    /// Pareto: at least `scale`, with tail index `shape`.
    Pareto {
        /// The minimum.
        scale: Duration,
        /// The tail index; at most 1 has an infinite mean.
        shape: f64,
    },
    /// Weibull with `scale` and `shape`.
    Weibull {
        /// The scale.
        scale: Duration,
        /// The shape; 1 is exponential.
        shape: f64,
    },
    /// Quantile points `(probability, duration)` from probability 0 to 1, interpolated.
    Empirical(Vec<(f64, Duration)>),
    /// A weighted mixture `(weight, distribution)`: `[(99, Constant("1ms")), (1, ...)]`.
    Mixture(Vec<(f64, DistSpec)>),
}

/// The longest run: 100 years, far below the 584 years of the u64 nanosecond clock, so that any
/// time inside a run can still be added to.
pub const MAX_DURATION: SimDuration = SimDuration::from_secs(100 * 365 * 24 * 3600);

/// The longest name a scenario, client, service, cache, class or variant may have, in
/// characters: every time-series row repeats it.
pub const MAX_NAME: usize = 100;

/// Why `name` cannot be a name, if it cannot: empty, too long, or holding a character that
/// would act on a terminal (a control character) or reorder the text shown around it (a
/// bidirectional override).
pub fn refuse_name(name: &str) -> Option<String> {
    let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
    if name.trim().is_empty() {
        Some("a name must not be empty".into())
    } else if name.chars().count() > MAX_NAME {
        Some(format!("a name may have at most {MAX_NAME} characters, this one has {}", name.chars().count()))
    } else {
        let c = name.chars().find(|&c| c.is_control() || bidi(c))?;
        Some(format!("a name must hold printable characters only, and this one holds {c:?}"))
    }
}
