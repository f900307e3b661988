//! From the schema to the runtime model: names resolved to dense ids, durations to
//! nanoseconds, distributions compiled, and every semantic rule checked with the item's path.

use tailsim_engine::{Dist, DistError, SimDuration, SimTime};

use crate::kinds::{Arrivals, Backoff, BreakerWindow, Concurrency, Discipline, RateLimit, Routing};
use tailsim_scenario::diag::Diagnostic;
use tailsim_scenario::schema::{self, DistSpec, Scenario};

/// The most instances one service may have.
pub const MAX_INSTANCES: u32 = 100_000;
/// The most workers one instance may have.
pub const MAX_WORKERS: u32 = 1_000_000;
/// The most steps one handler may have.
pub const MAX_STEPS: usize = 10_000;
/// The highest request rate a client may have, per second.
pub const MAX_RATE_PER_S: f64 = 1e9;
/// The most users a closed-loop client may have.
pub const MAX_USERS: u32 = 10_000_000;
/// The most request classes a scenario may have (the default class included).
pub const MAX_CLASSES: usize = 64;
/// The most connections a service may accept (`max_connections`).
pub const MAX_CONNECTIONS: u32 = 10_000_000;
/// The most calls one `Parallel` step may make.
pub const MAX_PARALLEL: usize = 100;

/// Index of a service in [`Model::services`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId(pub u32);

/// A validated scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Model {
    /// The scenario's name.
    pub name: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// Simulated time of one replication.
    pub duration: SimDuration,
    /// Warm-up excluded from statistics.
    pub warmup: SimDuration,
    /// Master seed from the file (default 1).
    pub seed: u64,
    /// Width of the time-series windows.
    pub window: SimDuration,
    /// Clients in file order.
    pub clients: Vec<ClientModel>,
    /// Services in file order; `ServiceId(i)` is `services[i]`.
    pub services: Vec<ServiceModel>,
    /// Call edges: one per client and one per call of a step, clients first, in file order.
    pub edges: Vec<Edge>,
    /// Request classes; class 0 is `default`, the class of requests from clients without
    /// classes.
    pub classes: Vec<ClassModel>,
    /// The number of distinct class priorities: the levels of a `Priority` queue.
    pub priority_levels: u32,
    /// Caches in file order; `Lookup { cache: i, .. }` is `caches[i]`.
    pub caches: Vec<CacheModel>,
    /// Topics in file order; `Publish { topic: i, .. }` is `topics[i]`.
    pub topics: Vec<TopicModel>,
    /// The objectives the runs are judged by (`slos`), one per bound.
    pub slos: Vec<tailsim_stats::slo::Objective>,
    /// What the design's parts cost (`prices`).
    pub prices: Vec<tailsim_stats::cost::Price>,
}

/// A compiled topic (see [`schema::Topic`]).
#[derive(Clone, Debug)]
pub struct TopicModel {
    /// Its name.
    pub name: String,
    /// Its partitions, at least 1.
    pub partitions: u32,
    /// How a message picks its partition.
    pub partition_by: crate::kinds::PartitionBy,
    /// The most messages a group's backlog holds; `None`: no bound.
    pub capacity: Option<u32>,
    /// What a publish to a full backlog does.
    pub when_full: crate::kinds::WhenFull,
    /// How long an append takes; `None`: at once.
    pub append: Option<Dist>,
    /// How long a message may wait in a backlog before it expires; `None`: for ever.
    pub ttl: Option<SimDuration>,
    /// Its broker's outages and slowdowns (kinds `Outage` and `Slowdown`, every instance), in
    /// the scenario's order.
    pub faults: Vec<FaultWindow>,
    /// The consumer groups reading it (services with `consumes`), in file order.
    pub groups: Vec<ServiceId>,
}

/// What a consumer group reads, compiled (see [`schema::Consumes`]).
#[derive(Clone, Copy, Debug)]
pub struct Subscription {
    /// The topic in [`Model::topics`].
    pub topic: u32,
    /// How its messages are handed out.
    pub delivery: crate::kinds::Delivery,
    /// `Queue` only: how long a received message stays invisible.
    pub visibility_timeout: SimDuration,
    /// `Queue` only: the invisibility is extended while a delivery of the message runs.
    pub heartbeat: bool,
    /// The most times a message is received before it is dead-lettered (`u32::MAX`: no limit).
    pub max_receives: u32,
    /// Where a message goes after `max_receives`, a topic in [`Model::topics`].
    pub dead_letter: Option<u32>,
    /// `Log` only: how long the group hands out nothing after its consumers change (zero: at
    /// once).
    pub rebalance_pause: SimDuration,
}

/// A service's batcher, compiled from a `Batch` step (see [`schema::BatchOptions`]).
#[derive(Clone, Debug)]
pub struct BatchModel {
    /// Its name in the outputs, unique within the service.
    pub name: String,
    /// A batch closes when it holds this many requests.
    pub size: u32,
    /// A batch closes this long after its first request, however few it holds.
    pub linger: Option<SimDuration>,
    /// How many closed batches an instance runs at once.
    pub flushes: u32,
    /// What a batch runs, once: a `PerItem` step first if the batch has a cost per item.
    pub steps: Vec<Step>,
}

/// The most requests one batch may hold.
pub const MAX_BATCH: u32 = 100_000;

/// A compiled cache (see [`schema::Cache`]).
#[derive(Clone, Debug)]
pub struct CacheModel {
    /// Its name.
    pub name: String,
    /// Entries per store (a node, or an instance).
    pub capacity: u32,
    /// Time to live; `None`: entries never expire.
    pub ttl: Option<SimDuration>,
    /// The most random extra on a TTL.
    pub ttl_spread: SimDuration,
    /// A lookup's duration, hit or miss.
    pub latency: Option<Dist>,
    /// `Some(service)`: one store per instance of that service; `None`: shared, one per node.
    pub per_instance: Option<ServiceId>,
    /// Nodes of a shared cache at the start.
    pub nodes: u32,
    /// How keys are placed on the nodes.
    pub routing: Routing,
    /// Single flight: concurrent misses on a key make one fetch.
    pub coalesce: bool,
    /// Stale-while-revalidate: how long past its expiry an entry is still served.
    pub stale_for: Option<SimDuration>,
    /// XFetch's `beta`.
    pub early: Option<f64>,
    /// Keys `0 .. warm` filled before traffic.
    pub warm: u32,
    /// The largest key space of the clients, for the share of keys a change of nodes moves.
    pub key_space: u32,
    /// What happens to it over the run, in time order.
    pub events: Vec<(SimTime, CacheEvent)>,
}

/// Something that happens to a cache at an instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CacheEvent {
    /// This share of the entries is lost.
    Flush(f64),
    /// The cache now has this many nodes.
    Nodes(u32),
    /// Every key is new.
    KeyChange,
}

impl CacheModel {
    /// How many stores it has at most: one per node, or one per instance slot.
    pub fn stores(&self, services: &[ServiceModel]) -> u32 {
        match self.per_instance {
            Some(s) => services[s.0 as usize].max_instances(),
            None => self.events.iter().fold(self.nodes, |most, &(_, event)| match event {
                CacheEvent::Nodes(n) => most.max(n),
                _ => most,
            }),
        }
    }
}

/// A compiled request class.
#[derive(Clone, Debug)]
pub struct ClassModel {
    /// Its name.
    pub name: String,
    /// Larger is served first by `Priority` queues.
    pub priority: i32,
    /// Its level in a `Priority` queue: 0 is served first.
    pub level: u32,
}

/// One place that calls a service: a client, or a `Call` step of a handler.
#[derive(Clone, Debug)]
pub struct Edge {
    /// The caller as people name it: `users` for a client, `api` for a service.
    pub from: String,
    /// Where the edge is written: `clients[0] "users"` or `services[1] "api" .handler[2]`.
    pub path: String,
    /// What is called: a service, or a topic's broker (an acknowledged publish).
    pub to: Target,
    /// The calling service; `None` for a client.
    pub caller: Option<ServiceId>,
    /// What the caller does about slow and failed calls.
    pub policy: CallPolicy,
}

/// What an edge calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A service: each attempt is a visit there.
    Service(ServiceId),
    /// Topic `i` in [`Model::topics`]: each attempt is an append to its broker.
    Topic(u32),
}

impl Edge {
    /// The service called, if the edge calls one.
    pub fn service(&self) -> Option<ServiceId> {
        match self.to {
            Target::Service(s) => Some(s),
            Target::Topic(_) => None,
        }
    }

    /// The name of what the edge calls: the service's, or the topic's.
    pub fn callee<'m>(&self, model: &'m Model) -> &'m str {
        match self.to {
            Target::Service(s) => &model.services[s.0 as usize].name,
            Target::Topic(t) => &model.topics[t as usize].name,
        }
    }
}

/// A compiled call policy.
#[derive(Clone, Debug, Default)]
pub struct CallPolicy {
    /// Per-attempt timeout.
    pub timeout: Option<SimDuration>,
    /// Overall deadline, retries included.
    pub deadline: Option<SimDuration>,
    /// Whether abandoned attempts are cancelled at the server.
    pub cancel_on_timeout: bool,
    /// Retries.
    pub retry: Option<RetryPolicy>,
    /// The circuit breaker.
    pub breaker: Option<BreakerPolicy>,
    /// Adaptive throttling: the multiplier K and the window.
    pub throttle: Option<(f64, SimDuration)>,
    /// Hedging, on `Call` steps only.
    pub hedge: Option<HedgePolicy>,
    /// The bulkhead (connection pool).
    pub bulkhead: Option<BulkheadPolicy>,
    /// The rate limiter.
    pub rate_limit: Option<RateLimit>,
}

/// A compiled bulkhead: a connection pool on an edge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BulkheadPolicy {
    /// Places (connections) of one pool.
    pub places: u32,
    /// The longest an attempt waits for a place.
    pub max_wait: SimDuration,
    /// One pool per instance of the calling service, rather than one for the edge.
    pub per_instance: bool,
}

/// A compiled hedging policy.
#[derive(Clone, Copy, Debug)]
pub struct HedgePolicy {
    /// The delay before each hedge.
    pub delay: HedgeDelay,
    /// The most hedges per call.
    pub max: u32,
    /// Whether the calls still out are cancelled once one answered.
    pub cancel_losers: bool,
}

/// How a hedge's delay is chosen.
#[derive(Clone, Copy, Debug)]
pub enum HedgeDelay {
    /// Always this long.
    Fixed(SimDuration),
    /// This quantile (0 to 1) of the edge's observed call latency.
    Quantile(f64),
}

/// The most hedges per call.
pub const MAX_HEDGES: u32 = 10;

/// A compiled circuit breaker (Resilience4j semantics).
#[derive(Clone, Debug)]
pub struct BreakerPolicy {
    /// The sliding window.
    pub window: BreakerWindow,
    /// Failure-rate threshold, 0 to 1.
    pub failure_rate: f64,
    /// Slow-call-rate threshold, 0 to 1.
    pub slow_call_rate: f64,
    /// What counts as slow.
    pub slow_call_duration: SimDuration,
    /// Calls in the window before any decision.
    pub minimum_calls: u32,
    /// Time spent open before half-opening.
    pub open_for: SimDuration,
    /// Probes admitted when half open.
    pub half_open_calls: u32,
}

/// The largest sliding window or number of half-open probes a breaker may have.
pub const MAX_BREAKER_WINDOW: u32 = 100_000;

impl CallPolicy {
    /// Whether the policy does nothing at all: such edges skip the call bookkeeping.
    pub fn is_plain(&self) -> bool {
        self.timeout.is_none()
            && self.deadline.is_none()
            && self.retry.is_none()
            && self.breaker.is_none()
            && self.throttle.is_none()
            && self.bulkhead.is_none()
            && self.rate_limit.is_none()
    }
}

/// A compiled retry policy.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before each retry.
    pub backoff: Backoff,
    /// Whether each kind of failure is retried, indexed by [`FailureKind`](crate::kinds::FailureKind) as `usize`.
    pub retry_on: [bool; 8],
    /// The retry budget, if any.
    pub budget: Option<BudgetPolicy>,
}

/// A compiled retry budget.
#[derive(Clone, Debug)]
pub struct BudgetPolicy {
    /// Retries allowed per request in the window.
    pub ratio: f64,
    /// Retries always allowed per second.
    pub min_per_s: f64,
    /// The window.
    pub window: SimDuration,
}

/// A compiled client.
#[derive(Clone, Debug)]
pub struct ClientModel {
    /// Its name.
    pub name: String,
    /// The service it calls.
    pub target: ServiceId,
    /// Requests per second for an open-loop client; for a closed-loop one, the most it can
    /// send: users / mean think time (infinite without thinking).
    pub rate_per_s: f64,
    /// A closed-loop client's users and think time.
    pub closed: Option<(u32, Dist)>,
    /// How an open-loop client's rate changes over the run.
    pub traffic: Option<crate::traffic::Traffic>,
    /// The arrival process.
    pub arrivals: Arrivals,
    /// Its edge in [`Model::edges`].
    pub edge: u32,
    /// Its classes as `(class, cumulative probability)`, the last at 1; empty: all class 0.
    pub classes: Vec<(u8, f64)>,
    /// The keys of its requests: per class slot (its own or the client's), or one entry for a
    /// client without classes; `None`: the requests carry key 0.
    pub keys: Vec<Option<crate::keys::KeyDist>>,
    /// Recorded arrivals it replays, in place of a rate.
    pub trace: Option<TraceReplay>,
}

/// A trace a client replays, and where its classes stand among the client's.
#[derive(Clone, Debug)]
pub struct TraceReplay {
    /// The rows.
    pub trace: std::sync::Arc<tailsim_scenario::trace::Trace>,
    /// For each of the trace's class names, the client's class slot.
    pub slots: Vec<u8>,
}

/// A compiled service.
#[derive(Clone, Debug)]
pub struct ServiceModel {
    /// Its name.
    pub name: String,
    /// Instances behind the balancer.
    pub instances: u32,
    /// Workers per instance.
    pub workers: u32,
    /// Waiting places per instance; `None` is unbounded.
    pub queue_capacity: Option<u32>,
    /// Which waiting visit a free worker takes.
    pub discipline: Discipline,
    /// Shed visits that waited longer than this.
    pub shed_after: Option<SimDuration>,
    /// The balancing policy.
    pub balancer: BalancerPolicy,
    /// The period of the balancer's load snapshots; `None`: always current.
    pub load_report_every: Option<SimDuration>,
    /// The autoscaler, if any; `instances` is the starting count.
    pub autoscale: Option<AutoscalePolicy>,
    /// The default handler: handler 0.
    pub steps: Vec<Step>,
    /// The handlers of particular classes (`handlers` in the file, in name order): handlers
    /// 1, 2, ...
    pub class_handlers: Vec<Vec<Step>>,
    /// The handler each class runs, by class id.
    pub handler_of_class: Vec<u8>,
    /// Whether workers are freed while waiting for calls.
    pub concurrency: Concurrency,
    /// The Universal Scalability Law's slowdown of work with concurrency, if any.
    pub contention: Option<Usl>,
    /// Fault windows on this service, in file order.
    pub faults: Vec<FaultWindow>,
    /// Primary and read replicas, if any.
    pub replication: Option<ReplicationModel>,
    /// The longest a `Work` step may run before it is stopped and the visit fails.
    pub statement_timeout: Option<SimDuration>,
    /// The most connections callers' pools may hold to it; `None`: no limit.
    pub max_connections: Option<u32>,
    /// The per-tenant rate limit at its door.
    pub admission: Option<crate::admission::AdmissionPolicy>,
    /// The topic it reads as a consumer group, if it is one.
    pub consumes: Option<Subscription>,
    /// Its batchers, one per `Batch` step, in the order the steps are written.
    pub batches: Vec<BatchModel>,
}

/// An autoscaler's metric and target (see [`schema::ScaleMetric`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScaleOn {
    /// Busy workers over all workers, 0 to 1.
    Utilisation(f64),
    /// Visits waiting per instance.
    QueueDepth(f64),
    /// Visits inside per instance.
    InFlight(f64),
    /// The p95 of the visits finished in the interval.
    P95(SimDuration),
    /// A consumer group's lag per consumer at the look.
    Lag(f64),
}

/// A compiled autoscaler (see [`schema::Autoscale`]).
#[derive(Clone, Debug)]
pub struct AutoscalePolicy {
    /// What it tracks and the value aimed at.
    pub metric: ScaleOn,
    /// Fewest instances.
    pub min: u32,
    /// Most instances.
    pub max: u32,
    /// Time between looks.
    pub interval: SimDuration,
    /// The band around the target with no change.
    pub tolerance: f64,
    /// Scale-up stabilisation window.
    pub up_window: SimDuration,
    /// Scale-down stabilisation window.
    pub down_window: SimDuration,
    /// Time before a new instance takes traffic.
    pub startup: SimDuration,
    /// `(when, new min)`, in time order.
    pub schedule: Vec<(SimTime, u32)>,
}

impl ServiceModel {
    /// Instance slots the service may use: its most instances.
    pub fn max_instances(&self) -> u32 {
        self.autoscale.as_ref().map_or(self.instances, |a| a.max.max(self.instances))
    }

    /// What one instance's workers get through together, in workers' worth of work: `workers`,
    /// or under `contention` the fewer that the Universal Scalability Law gives at its best
    /// concurrency.
    pub fn worker_capacity(&self) -> f64 {
        match &self.contention {
            None => f64::from(self.workers),
            Some(usl) => usl.best_capacity(self.workers),
        }
    }
}

/// A compiled balancing policy.
#[derive(Clone, Debug, PartialEq)]
pub enum BalancerPolicy {
    /// Instances in turn.
    RoundRobin,
    /// Uniformly at random.
    Random,
    /// The fewest outstanding visits.
    LeastOutstanding,
    /// The better of two random instances.
    PowerOfTwo,
    /// At random by weight: cumulative probabilities, the last 1.
    Weighted(Vec<f64>),
    /// The instance that owns the request's key.
    ByKey {
        /// How keys are placed over the instances that are not dedicated to pinned keys.
        routing: Routing,
        /// `(key, instance)`, sorted by key.
        pins: Vec<(u32, u32)>,
        /// The clients' largest key space, for `Range`.
        key_space: u32,
    },
}

/// Gunther's Universal Scalability Law, compiled (see [`schema::Contention`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Usl {
    /// Contention, 0 to 1.
    pub sigma: f64,
    /// Coherency, 0 to 1.
    pub kappa: f64,
}

impl Usl {
    /// How many times longer work takes with `n` busy workers, its own included:
    /// `1 + sigma (n - 1) + kappa n (n - 1)`, 1 for a worker alone.
    #[inline]
    pub fn slowdown(&self, n: u32) -> f64 {
        let n = f64::from(n.max(1));
        1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0)
    }

    /// The USL's throughput with `n` busy workers at mean work `work_s` seconds, per second:
    /// `n / (work_s x slowdown(n))`.
    pub fn throughput_per_s(&self, n: u32, work_s: f64) -> f64 {
        f64::from(n) / (work_s * self.slowdown(n))
    }

    /// The busy workers at which throughput peaks, `sqrt((1 - sigma) / kappa)` (real-valued;
    /// the best whole number is one of its two neighbours); infinite when `kappa` is 0.
    pub fn peak_concurrency(&self) -> f64 {
        ((1.0 - self.sigma) / self.kappa).sqrt()
    }

    /// The most work `workers` workers get through together, in workers' worth:
    /// the largest `n / slowdown(n)` for `n` from 1 to `workers` (it rises to the peak and falls
    /// after it, so the peak's neighbours and the ends are the only candidates).
    pub fn best_capacity(&self, workers: u32) -> f64 {
        let peak = self.peak_concurrency(); // NaN when sigma is 1 and kappa 0: `as` makes it 0
        let top = workers.max(1);
        [1, top, (peak.floor() as u32).clamp(1, top), (peak.ceil() as u32).clamp(1, top)]
            .into_iter()
            .map(|n| f64::from(n) / self.slowdown(n))
            .fold(0.0, f64::max)
    }
}

/// A compiled primary-and-replicas setting.
#[derive(Clone, Debug)]
pub struct ReplicationModel {
    /// Whether each class (by id) writes.
    pub writes: Vec<bool>,
    /// The replication lag.
    pub lag: Dist,
}

/// A compiled fault: what happens to a service between `start` and `end`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultWindow {
    /// When it starts.
    pub start: SimTime,
    /// When it ends (exclusive).
    pub end: SimTime,
    /// The instance affected (its index within the service), or all.
    pub instance: Option<u32>,
    /// What happens.
    pub kind: FaultKind,
}

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// Work durations are multiplied by this factor.
    Slowdown(f64),
    /// Visits fail at once with this probability when they get a worker.
    Errors(f64),
    /// Arriving visits are refused.
    Outage,
    /// The primary (instance 0) is down until a replica is promoted: arriving visits are
    /// refused, and from its end the service has one replica fewer.
    Failover,
    /// The instance loses what it holds at `start`, refuses arriving visits until `end`, and
    /// balancers route around it from `start + detected_after`.
    Crash {
        /// How long until balancers skip it.
        detected_after: SimDuration,
    },
    /// The workers make no progress during `[start + k x every, ... + pause)`.
    Freeze {
        /// Time between freezes.
        every: SimDuration,
        /// How long each lasts.
        pause: SimDuration,
    },
    /// A CPU limit (run by the simulator's `cpu` module, CFS bandwidth control): the instance's `Work` steps together may run `quota`
    /// in each `period`, counted from the fault's start; it is lifted at the first period's end
    /// at or after the fault's end.
    CpuQuota {
        /// Work allowed per period, over all workers.
        quota: SimDuration,
        /// The accounting period.
        period: SimDuration,
    },
}

/// A compiled handler step.
#[derive(Clone, Debug)]
pub enum Step {
    /// Hold the worker for a drawn duration.
    Work(Dist),
    /// Call a service and wait.
    Call {
        /// The edge in [`Model::edges`], which holds the policy.
        edge: u32,
        /// The service called.
        target: ServiceId,
    },
    /// Fail with this probability.
    Fail(f64),
    /// `n` calls at once on one edge; done after `needed` successes, failed after more than
    /// `n - needed` failures.
    FanOut {
        /// The edge in [`Model::edges`], which holds the policy.
        edge: u32,
        /// The service called.
        target: ServiceId,
        /// Calls sent.
        n: u32,
        /// Successes needed.
        needed: u32,
        /// Whether the calls still out are cancelled once the wait is decided.
        cancel_losers: bool,
    },
    /// One call on each of several edges at once; done after `needed` successes, failed after
    /// more than `calls.len() - needed` failures.
    Parallel {
        /// `(edge, service called)` of each call.
        calls: Vec<(u32, ServiceId)>,
        /// Successes needed.
        needed: u32,
        /// Whether the calls still out are cancelled once the wait is decided.
        cancel_losers: bool,
    },
    /// Look the request's key up in cache `cache`: a hit goes on at step `skip` (after the
    /// `Fill`), a miss at the next step, the first of the miss's.
    Lookup {
        /// The cache in [`Model::caches`].
        cache: u32,
        /// The step after the miss's `Fill`.
        skip: u32,
    },
    /// The end of a miss: fill cache `cache` with the key.
    Fill(u32),
    /// Remove the key from a cache.
    Invalidate(u32),
    /// Write the key into a cache, fresh.
    Put(u32),
    /// Hand a message to a topic and go on, at once or (acknowledged) once it is appended.
    Publish {
        /// The topic in [`Model::topics`].
        topic: u32,
        /// An acknowledged publish's edge in [`Model::edges`], which holds its policy; `None`:
        /// fire and forget.
        edge: Option<u32>,
    },
    /// Join the instance's open batch of batcher `i` in [`ServiceModel::batches`] and wait
    /// until the batch has run.
    Batch(u32),
    /// The first step of a batch with a cost per item: hold the batch for one draw per
    /// request it holds, summed.
    PerItem(Dist),
}

/// The steps of `handler` that every visit runs: a `Lookup`'s miss steps are skipped, as if
/// every lookup hit (the floor of the load).
pub fn unconditional(handler: &[Step]) -> impl Iterator<Item = &Step> {
    let mut next = 0usize;
    handler.iter().enumerate().filter_map(move |(i, step)| {
        if i < next {
            return None;
        }
        if let Step::Lookup { skip, .. } = step {
            next = *skip as usize;
        }
        Some(step)
    })
}

impl Step {
    /// The services this step calls, each with the number of calls a visit makes to it.
    pub fn callees(&self) -> impl Iterator<Item = (ServiceId, u32)> + '_ {
        let single = match self {
            Step::Call { target, .. } => Some((*target, 1)),
            Step::FanOut { target, n, .. } => Some((*target, *n)),
            Step::Parallel { .. }
            | Step::Work(_)
            | Step::Fail(_)
            | Step::Lookup { .. }
            | Step::Fill(_)
            | Step::Invalidate(_)
            | Step::Put(_)
            | Step::Publish { .. }
            | Step::Batch(_)
            | Step::PerItem(_) => None,
        };
        let many: &[(u32, ServiceId)] = match self {
            Step::Parallel { calls, .. } => calls,
            _ => &[],
        };
        single.into_iter().chain(many.iter().map(|&(_, target)| (target, 1)))
    }
}

impl ServiceModel {
    /// Every step of every handler, the batches' included.
    pub fn all_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().chain(self.class_handlers.iter().flatten()).chain(self.batches.iter().flat_map(|b| &b.steps))
    }

    /// Handler `h`: 0 is the default, then the class handlers, then the batches' steps.
    #[inline(always)]
    pub fn handler(&self, h: u8) -> &[Step] {
        match h.checked_sub(1) {
            None => &self.steps,
            Some(i) => match self.class_handlers.get(usize::from(i)) {
                Some(steps) => steps,
                None => &self.batches[usize::from(i) - self.class_handlers.len()].steps,
            },
        }
    }

    /// The handler that runs batcher `b`'s batches.
    pub fn batch_handler(&self, b: u32) -> u8 {
        (1 + self.class_handlers.len() + b as usize) as u8
    }

    /// The handler a visit of class `class` runs.
    #[inline(always)]
    pub fn handler_of(&self, class: u8) -> u8 {
        if self.class_handlers.is_empty() { 0 } else { self.handler_of_class[usize::from(class)] }
    }
}

/// The most calls one fan-out may send.
pub const MAX_FAN_OUT: u32 = 10_000;

/// The most cache entries a scenario may hold, over all its caches' stores: about 1 GB.
pub const MAX_CACHE_ENTRIES: u64 = 10_000_000;

/// The most attempts a retry policy may make.
pub const MAX_ATTEMPTS: u32 = 100;

/// Checks a scenario and builds its model; all errors are returned, not just the first. Trace
/// files are looked for from the current directory.
pub fn compile(scenario: &Scenario, source: &str) -> Result<Model, Vec<Diagnostic>> {
    compile_in(scenario, source, &tailsim_scenario::trace::Files::default())
}

/// [`compile`], reading trace files through `files`; the passes are in the `lower` module.
pub fn compile_in(
    scenario: &Scenario,
    source: &str,
    files: &tailsim_scenario::trace::Files,
) -> Result<Model, Vec<Diagnostic>> {
    crate::lower::lower(scenario, source, files)
}

/// Compiles a distribution, checking its parameters.
pub fn compile_dist(spec: &DistSpec) -> Result<Dist, DistError> {
    let ns = |d: &schema::Duration| d.0.as_nanos() as f64;
    match spec {
        DistSpec::Constant(value) => Dist::constant(ns(value)),
        DistSpec::Uniform { min, max } => Dist::uniform(ns(min), ns(max)),
        DistSpec::Exponential { mean } => Dist::exponential(ns(mean)),
        DistSpec::Normal { mean, std_dev } => Dist::normal(ns(mean), ns(std_dev)),
        DistSpec::LogNormal { median, p99, mean, std_dev } => match (median, p99, mean, std_dev) {
            (Some(median), Some(p99), None, None) => Dist::log_normal_median_p99(ns(median), ns(p99)),
            (None, None, Some(mean), Some(std_dev)) => Dist::log_normal_mean_std_dev(ns(mean), ns(std_dev)),
            _ => Err(DistError::Order { rule: "`LogNormal` takes either `median` and `p99`, or `mean` and `std_dev`" }),
        },
        DistSpec::Pareto { scale, shape } => Dist::pareto(ns(scale), *shape),
        DistSpec::Weibull { scale, shape } => Dist::weibull(ns(scale), *shape),
        DistSpec::Empirical(points) => Dist::empirical(points.iter().map(|(p, d)| (*p, ns(d))).collect()),
        DistSpec::Mixture(parts) => {
            let mut compiled = Vec::with_capacity(parts.len());
            for (weight, part) in parts {
                compiled.push((*weight, compile_dist(part)?));
            }
            Dist::mixture(compiled)
        }
    }
}
