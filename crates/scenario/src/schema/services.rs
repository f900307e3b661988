//! Services: their instances, workers and queues, balancers, autoscalers, admission limits and
//! contention.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Consumes, Duration, Replication, Routing, Step, a_tenth, fifteen_seconds, five_minutes, one, one_f64};

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
    /// The topic this service reads as a consumer group (each instance a consumer, its handler
    /// run once per message). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumes: Option<Consumes>,
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
    /// A consumer group's lag (messages published and not yet received) per consumer, read at
    /// each look, as KEDA's Kafka scaler reads it: the autoscaler wants `ceil(lag / target)`
    /// consumers, and a `Log` group never more than its partitions (KEDA's default, as a
    /// consumer beyond them would sit idle). Only on a service that `consumes`.
    Lag(f64),
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
