//! From the schema to the runtime model: names resolved to dense ids, durations to
//! nanoseconds, distributions compiled, and every semantic rule checked with the item's path.

use std::collections::BTreeMap;

use tailsim_engine::{Dist, DistError, SimDuration, SimTime};

use crate::diag::{Diagnostic, locate_name, locate_unique, suggest};
use crate::keys::KeyDist;
use crate::scenario::{self, Arrivals, Backoff, Balancer, BreakerWindow, DistSpec, Losers, Scenario};

/// The longest run: 100 years, far below the 584 years of the u64 nanosecond clock, so that any
/// time inside a run can still be added to.
pub const MAX_DURATION: SimDuration = SimDuration::from_secs(100 * 365 * 24 * 3600);
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
}

/// A compiled cache (see [`scenario::Cache`]).
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
    pub routing: scenario::Routing,
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
    /// The service called.
    pub to: ServiceId,
    /// The calling service; `None` for a client.
    pub caller: Option<ServiceId>,
    /// What the caller does about slow and failed calls.
    pub policy: CallPolicy,
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
    pub rate_limit: Option<scenario::RateLimit>,
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
    /// Whether each kind of failure is retried, indexed by [`FailureKind`](crate::scenario::FailureKind) as `usize`.
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
    pub trace: std::sync::Arc<crate::trace::Trace>,
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
    pub discipline: scenario::Discipline,
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
    pub concurrency: scenario::Concurrency,
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
}

/// An autoscaler's metric and target (see [`scenario::ScaleMetric`]).
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
}

/// A compiled autoscaler (see [`scenario::Autoscale`]).
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
        routing: scenario::Routing,
        /// `(key, instance)`, sorted by key.
        pins: Vec<(u32, u32)>,
        /// The clients' largest key space, for `Range`.
        key_space: u32,
    },
}

/// Gunther's Universal Scalability Law, compiled (see [`scenario::Contention`]).
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
    /// A CPU limit (see [`crate::cpu`]): the instance's `Work` steps together may run `quota`
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
            | Step::Put(_) => None,
        };
        let many: &[(u32, ServiceId)] = match self {
            Step::Parallel { calls, .. } => calls,
            _ => &[],
        };
        single.into_iter().chain(many.iter().map(|&(_, target)| (target, 1)))
    }
}

impl ServiceModel {
    /// Every step of every handler.
    pub fn all_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().chain(self.class_handlers.iter().flatten())
    }

    /// Handler `h`: 0 is the default, then the class handlers.
    #[inline(always)]
    pub fn handler(&self, h: u8) -> &[Step] {
        match h.checked_sub(1) {
            None => &self.steps,
            Some(i) => &self.class_handlers[usize::from(i)],
        }
    }

    /// The handler a visit of class `class` runs.
    #[inline(always)]
    pub fn handler_of(&self, class: u8) -> u8 {
        if self.class_handlers.is_empty() { 0 } else { self.handler_of_class[usize::from(class)] }
    }
}

/// Maps a trace's class names to the client's class slots, and checks that its columns fit
/// the client: classes declared if and only if the trace has them, keys from one place only.
fn replay(
    trace: &crate::trace::Trace,
    c: &scenario::Client,
    path: &str,
    error: &mut impl FnMut(Diagnostic),
) -> Vec<u8> {
    let names: Vec<&str> = c.classes.iter().map(|k| k.name.as_str()).collect();
    if c.classes.is_empty() && trace.has_classes() {
        error(
            Diagnostic::error(format!(
                "the trace \"{}\" has a class column, and the client declares no classes",
                trace.shown_as
            ))
            .at_path(path)
            .with_hint(r#"declare them: classes: [Class(name: "read", weight: 1)] (a trace ignores the weights)"#),
        );
    }
    if !c.classes.is_empty() && !trace.has_classes() {
        error(
            Diagnostic::error(format!(
                "the client declares classes, and its trace \"{}\" has no class column",
                trace.shown_as
            ))
            .at_path(path)
            .with_hint("give the trace a class column (time,class), or drop the client's `classes`"),
        );
    }
    let keyed_classes = c.classes.iter().any(|k| k.keys.is_some());
    if trace.has_keys() && (c.keys.is_some() || keyed_classes) {
        error(
            Diagnostic::error("the trace's key column and the client's `keys` both give the requests keys")
                .at_path(path)
                .with_hint("keep one of the two"),
        );
    }
    trace
        .class_names
        .iter()
        .zip(&trace.class_first_use)
        .map(|(name, (at, line))| match names.iter().position(|n| n == name) {
            Some(slot) => slot as u8,
            None => {
                if !c.classes.is_empty() {
                    error(
                        Diagnostic::error(format!("the trace names a class \"{name}\" the client does not declare"))
                            .at_path(path)
                            .at(Some(*at))
                            .in_file(crate::diag::InFile { file: trace.shown_as.clone(), line: line.clone() })
                            .with_hint(suggest(name, &names, "classes")),
                    );
                }
                0
            }
        })
        .collect()
}

/// The most calls one fan-out may send.
pub const MAX_FAN_OUT: u32 = 10_000;

/// Checks a scenario and builds its model; all errors are returned, not just the first. Trace
/// files are looked for from the current directory.
pub fn compile(scenario: &Scenario, source: &str) -> Result<Model, Vec<Diagnostic>> {
    compile_in(scenario, source, &crate::trace::Files::default())
}

/// [`compile`], reading trace files through `files`.
pub fn compile_in(scenario: &Scenario, source: &str, files: &crate::trace::Files) -> Result<Model, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut error = |d: Diagnostic| errors.push(d);

    if scenario.duration.0 == SimDuration::ZERO || scenario.duration.0 > MAX_DURATION {
        error(
            Diagnostic::error(format!(
                "`duration` must be longer than zero and at most 100 years, got {}",
                scenario.duration.0
            ))
            .at(locate_unique(source, "duration:")),
        );
    }
    if scenario.warmup.0 >= scenario.duration.0 && scenario.duration.0 > SimDuration::ZERO {
        error(
            Diagnostic::error(format!(
                "`warmup` ({}) must be shorter than `duration` ({})",
                scenario.warmup.0, scenario.duration.0
            ))
            .at(locate_unique(source, "warmup:"))
            .with_hint("nothing would be measured"),
        );
    }
    if scenario.clients.is_empty() {
        error(Diagnostic::error("the scenario has no clients").with_hint("add `clients: [Client(...)]`"));
    }

    let mut service_ids = BTreeMap::new();
    for (i, s) in scenario.services.iter().enumerate() {
        if service_ids.insert(s.name.as_str(), ServiceId(i as u32)).is_some() {
            error(
                Diagnostic::error(format!("two services are named \"{}\"", s.name))
                    .at_path(format!("services[{i}]"))
                    .with_hint("service names must be unique"),
            );
        }
    }
    let service_names: Vec<&str> = scenario.services.iter().map(|s| s.name.as_str()).collect();
    let resolve = |name: &str| service_ids.get(name).copied();

    // Class 0 is the default; the others in order of first mention.
    let mut classes = vec![ClassModel { name: "default".to_string(), priority: 0, level: 0 }];
    for (i, c) in scenario.clients.iter().enumerate() {
        for (k, class) in c.classes.iter().enumerate() {
            let path = format!("clients[{i}] \"{}\" .classes[{k}]", c.name);
            if !(class.weight.is_finite() && class.weight > 0.0) {
                error(
                    Diagnostic::error(format!("a class's `weight` must be above zero, got {}", class.weight))
                        .at_path(&path)
                        .with_hint("weights are relative: 90 and 10 send 90% and 10%"),
                );
            }
            match classes.iter().find(|known| known.name == class.name) {
                Some(known) if known.priority != class.priority => error(
                    Diagnostic::error(format!(
                        "class \"{}\" has priority {} here and {} elsewhere",
                        class.name, class.priority, known.priority
                    ))
                    .at_path(&path)
                    .with_hint("a class has one priority; give the two a different name"),
                ),
                Some(_) => {}
                None => classes.push(ClassModel { name: class.name.clone(), priority: class.priority, level: 0 }),
            }
        }
    }
    if classes.len() > MAX_CLASSES {
        error(Diagnostic::error(format!("a scenario may have at most {} request classes", MAX_CLASSES - 1)));
        classes.truncate(MAX_CLASSES);
    }
    let mut priorities: Vec<i32> = classes.iter().map(|c| c.priority).collect();
    priorities.sort_unstable_by(|a, b| b.cmp(a));
    priorities.dedup();
    for class in &mut classes {
        class.level = priorities.iter().position(|&p| p == class.priority).unwrap_or(0) as u32;
    }

    let cache_names: Vec<&str> = scenario.caches.iter().map(|c| c.name.as_str()).collect();
    let mut edges = Vec::new();
    let mut clients = Vec::new();
    let mut client_names = BTreeMap::new();
    for (i, c) in scenario.clients.iter().enumerate() {
        let path = format!("clients[{i}] \"{}\"", c.name);
        let at = locate_name(source, &c.name);
        if client_names.insert(c.name.as_str(), i).is_some() {
            error(Diagnostic::error(format!("two clients are named \"{}\"", c.name)).at_path(&path));
        }
        let think = match c.think.as_ref().map(compile_dist) {
            None => Dist::Constant(0.0),
            Some(Ok(dist)) => dist,
            Some(Err(why)) => {
                error(Diagnostic::error(format!("`think`: {why}")).at_path(&path).at(at));
                Dist::Constant(0.0)
            }
        };
        let trace = c.trace.as_ref().and_then(|file| {
            files
                .trace(file)
                .map_err(|d| {
                    let d = d.at_path(&path);
                    error(if d.in_file.is_some() { d } else { d.at(locate_unique(source, &format!("\"{file}\""))) })
                })
                .ok()
        });
        let (rate, closed) = match (c.rate, c.users) {
            _ if c.trace.is_some() => {
                if c.rate.is_some() || c.users.is_some() || c.think.is_some() || !c.traffic.is_empty() {
                    error(
                        Diagnostic::error("a `trace` replaces `rate`, `users`, `think` and `traffic`")
                            .at_path(&path)
                            .at(at)
                            .with_hint("the trace's rows are the client's arrivals: keep the trace, or the others"),
                    );
                }
                let end = scenario.duration.0.as_nanos();
                let rows = trace.as_ref().map_or(0, |t| t.times_ns.partition_point(|&time| time < end));
                if trace.as_ref().is_some_and(|t| t.times_ns.is_empty()) {
                    error(
                        Diagnostic::error(format!(
                            "the trace \"{}\" has no arrivals",
                            c.trace.as_deref().unwrap_or("")
                        ))
                        .at_path(&path)
                        .at(at)
                        .with_hint("one row per request: time[,class[,key]]"),
                    );
                }
                (rows as f64 / scenario.duration.0.as_secs_f64().max(1e-9), None)
            }
            (Some(rate), None) => {
                if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE_PER_S) {
                    error(
                        Diagnostic::error(format!(
                            "`rate` must be a positive number of requests per second, got {rate}"
                        ))
                        .at_path(&path)
                        .at(at)
                        .with_hint(format!("rates above {MAX_RATE_PER_S:e} per second are refused")),
                    );
                }
                if c.think.is_some() {
                    error(
                        Diagnostic::error("`think` is for closed-loop clients (`users`), not with `rate`")
                            .at_path(&path)
                            .at(at),
                    );
                }
                (rate, None)
            }
            (None, Some(users)) => {
                if users == 0 || users > MAX_USERS {
                    error(
                        Diagnostic::error(format!("`users` must be between 1 and {MAX_USERS}, got {users}"))
                            .at_path(&path)
                            .at(at),
                    );
                }
                let mean_s = think.mean() * 1e-9;
                let rate = if mean_s > 0.0 { f64::from(users) / mean_s } else { f64::INFINITY };
                (rate, Some((users, think)))
            }
            _ => {
                error(
                    Diagnostic::error("a client needs either `rate` (open loop) or `users` (closed loop)")
                        .at_path(&path)
                        .at(at)
                        .with_hint("rate: 100.0 sends 100 requests/s; users: 50, think: Exponential(mean: \"1s\") keeps 50 users busy"),
                );
                (1.0, None)
            }
        };
        let traffic = if c.traffic.is_empty() || c.trace.is_some() {
            None
        } else if closed.is_some() {
            error(
                Diagnostic::error(
                    "`traffic` shapes an open-loop `rate`; a closed-loop client's pace comes from its users",
                )
                .at_path(&path)
                .at(at),
            );
            None
        } else {
            crate::traffic::Traffic::new(rate, &c.traffic, scenario.duration.0)
                .map_err(|why| error(Diagnostic::error(why).at_path(&path).at(at)))
                .ok()
        };
        let policy = compile_policy(&c.policy, &path, &mut error);
        match resolve(&c.target) {
            Some(target) => {
                let edge = edges.len() as u32;
                edges.push(Edge { from: c.name.clone(), path: path.clone(), to: target, caller: None, policy });
                let total: f64 = c.classes.iter().map(|k| k.weight).sum();
                let mut cumulative = 0.0;
                let client_classes = c
                    .classes
                    .iter()
                    .map(|k| {
                        cumulative += k.weight / total;
                        let id = classes.iter().position(|known| known.name == k.name).unwrap_or(0);
                        (id as u8, cumulative)
                    })
                    .collect::<Vec<_>>();
                let mut client_classes = client_classes;
                if let Some(last) = client_classes.last_mut() {
                    last.1 = 1.0; // no rounding gap at the top
                }
                let mut key_dist = |spec: &scenario::Keys, path: &str| {
                    KeyDist::new(spec).map_err(|why| error(Diagnostic::error(why).at_path(path).at(at))).ok()
                };
                let own = c.keys.as_ref().and_then(|spec| key_dist(spec, &path));
                let keys = if c.classes.is_empty() {
                    vec![own]
                } else {
                    c.classes
                        .iter()
                        .enumerate()
                        .map(|(k, class)| match &class.keys {
                            Some(spec) => key_dist(spec, &format!("{path} .classes[{k}]")),
                            None => own.clone(),
                        })
                        .collect()
                };
                let trace = trace.map(|trace| {
                    let replay = replay(&trace, c, &path, &mut error);
                    TraceReplay { trace, slots: replay }
                });
                clients.push(ClientModel {
                    name: c.name.clone(),
                    target,
                    rate_per_s: traffic.as_ref().map_or(rate, |t| t.mean_rate(scenario.duration.0)),
                    closed,
                    traffic,
                    arrivals: c.arrivals,
                    edge,
                    classes: client_classes,
                    keys,
                    trace,
                })
            }
            None => error(
                Diagnostic::error(format!("`target` names an unknown service \"{}\"", c.target))
                    .at_path(&path)
                    .at(locate_unique(source, &format!("\"{}\"", c.target)))
                    .with_hint(suggest(&c.target, &service_names, "services")),
            ),
        }
    }

    let traced_keys = clients.iter().filter_map(|c| c.trace.as_ref()?.trace.max_key()).map(|k| k.saturating_add(1));
    let key_space =
        clients.iter().flat_map(|c| c.keys.iter().flatten()).map(KeyDist::len).chain(traced_keys).max().unwrap_or(1);
    let mut services = Vec::new();
    for (i, s) in scenario.services.iter().enumerate() {
        let path = format!("services[{i}] \"{}\"", s.name);
        let at = locate_name(source, &s.name);
        if s.instances == 0 || s.instances > MAX_INSTANCES {
            error(
                Diagnostic::error(format!("`instances` must be between 1 and {MAX_INSTANCES}, got {}", s.instances))
                    .at_path(&path)
                    .at(at),
            );
        }
        if s.workers == 0 || s.workers > MAX_WORKERS {
            error(
                Diagnostic::error(format!("`workers` must be between 1 and {MAX_WORKERS}, got {}", s.workers))
                    .at_path(&path)
                    .at(at)
                    .with_hint("a service with no workers never serves anything"),
            );
        }
        if s.handler.is_empty() || s.handler.len() > MAX_STEPS {
            error(
                Diagnostic::error(format!("`handler` must have between 1 and {MAX_STEPS} steps"))
                    .at_path(&path)
                    .at(at)
                    .with_hint(r#"add a step such as `Work(Exponential(mean: "5ms"))`"#),
            );
        }
        let cx = HandlerCx { source, ids: &service_ids, names: &service_names, caches: &cache_names };
        let steps = compile_steps(&cx, &s.name, &format!("{path} .handler"), &s.handler, &mut edges, &mut error);
        let mut class_handlers = Vec::new();
        let mut handler_of_class = vec![0u8; classes.len()];
        for (class, steps) in &s.handlers {
            let handler_path = format!("{path} .handlers[\"{class}\"]");
            if steps.is_empty() || steps.len() > MAX_STEPS {
                error(
                    Diagnostic::error(format!("a handler must have between 1 and {MAX_STEPS} steps"))
                        .at_path(&handler_path),
                );
            }
            match classes.iter().position(|c| &c.name == class) {
                Some(id) => handler_of_class[id] = class_handlers.len() as u8 + 1,
                None => {
                    let names: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
                    error(
                        Diagnostic::error(format!("`handlers` names an unknown request class \"{class}\""))
                            .at_path(&handler_path)
                            .at(locate_unique(source, &format!("\"{class}\":")))
                            .with_hint(suggest(class, &names, "classes")),
                    );
                }
            }
            class_handlers.push(compile_steps(&cx, &s.name, &handler_path, steps, &mut edges, &mut error));
        }
        services.push(ServiceModel {
            name: s.name.clone(),
            instances: s.instances,
            workers: s.workers,
            queue_capacity: s.queue.capacity,
            discipline: s.queue.discipline,
            shed_after: s.queue.shed_after.map(|d| d.0),
            balancer: match &s.balancer {
                Balancer::RoundRobin => BalancerPolicy::RoundRobin,
                Balancer::Random => BalancerPolicy::Random,
                Balancer::LeastOutstanding => BalancerPolicy::LeastOutstanding,
                Balancer::PowerOfTwo => BalancerPolicy::PowerOfTwo,
                Balancer::Weighted(weights) => {
                    let total: f64 = weights.iter().sum();
                    let valid = weights.len() == s.instances as usize
                        && weights.iter().all(|w| w.is_finite() && *w >= 0.0)
                        && total > 0.0
                        && total.is_finite();
                    if !valid {
                        error(
                            Diagnostic::error(format!(
                                "`Weighted` needs one weight per instance ({}), none negative and not all zero",
                                s.instances
                            ))
                            .at_path(&path)
                            .at(at)
                            .with_hint("e.g. instances: 3, balancer: Weighted([2, 1, 1])"),
                        );
                    }
                    let mut below = 0.0;
                    let mut cumulative: Vec<f64> = weights
                        .iter()
                        .map(|w| {
                            below += w / total;
                            below
                        })
                        .collect();
                    if let Some(last) = cumulative.last_mut() {
                        *last = 1.0;
                    }
                    BalancerPolicy::Weighted(cumulative)
                }
                Balancer::ByKey { routing, pins } => {
                    // Pinned shards must always be there: below the autoscaler's minimum.
                    let fixed = s.autoscale.as_ref().map_or(s.instances, |a| a.min.min(s.instances));
                    let dedicated: std::collections::BTreeSet<u32> = pins.values().copied().collect();
                    if pins.values().any(|&shard| shard >= fixed) || dedicated.len() as u32 >= s.instances {
                        error(
                            Diagnostic::error(format!(
                                "`pins` must name instances below {fixed} and leave at least one for the other keys"
                            ))
                            .at_path(&path)
                            .at(at)
                            .with_hint("pins: {0: 7} puts key 0 alone on instance 7 of 8"),
                        );
                    }
                    if let scenario::Routing::Ring(v) = routing
                        && (*v == 0 || *v > crate::keys::MAX_VNODES)
                    {
                        error(
                            Diagnostic::error(format!(
                                "a ring needs between 1 and {} virtual nodes per node",
                                crate::keys::MAX_VNODES
                            ))
                            .at_path(&path)
                            .at(at),
                        );
                    }
                    BalancerPolicy::ByKey {
                        routing: *routing,
                        pins: pins.iter().map(|(&k, &shard)| (k, shard)).collect(),
                        key_space,
                    }
                }
            },
            autoscale: s.autoscale.as_ref().map(|a| {
                let metric = match (a.target, a.metric) {
                    (Some(target), None) => Some(ScaleOn::Utilisation(target)).filter(|_| target > 0.0 && target <= 1.0),
                    (None, Some(scenario::ScaleMetric::QueueDepth(n))) => {
                        Some(ScaleOn::QueueDepth(n)).filter(|_| n > 0.0 && n.is_finite())
                    }
                    (None, Some(scenario::ScaleMetric::InFlight(n))) => {
                        Some(ScaleOn::InFlight(n)).filter(|_| n > 0.0 && n.is_finite())
                    }
                    (None, Some(scenario::ScaleMetric::P95(d))) => {
                        Some(ScaleOn::P95(d.0)).filter(|d| *d != ScaleOn::P95(SimDuration::ZERO))
                    }
                    _ => None,
                };
                if metric.is_none() {
                    error(
                        Diagnostic::error(
                            "`autoscale` needs either a `target` utilisation in (0, 1] or a `metric` with a target above zero",
                        )
                        .at_path(&path)
                        .at(at)
                        .with_hint(r#"e.g. autoscale: (target: 0.7, ...), or (metric: QueueDepth(10.0), ...), InFlight(20.0) or P95("200ms")"#),
                    );
                }
                let valid = a.min >= 1
                    && a.min <= a.max
                    && a.max <= MAX_INSTANCES
                    && (a.min..=a.max).contains(&s.instances)
                    && a.interval.0 >= SimDuration::from_millis(100)
                    && (0.0..1.0).contains(&a.tolerance)
                    && a.schedule.iter().all(|m| m.min >= 1 && m.min <= a.max);
                if !valid {
                    error(
                        Diagnostic::error(format!(
                            "`autoscale` needs 1 <= min <= instances ({}) <= max <= {MAX_INSTANCES}, \
                             scheduled mins within max, an `interval` of at least 100ms and a `tolerance` in [0, 1)",
                            s.instances
                        ))
                        .at_path(&path)
                        .at(at)
                        .with_hint("e.g. autoscale: (target: 0.7, min: 2, max: 20)"),
                    );
                }
                if matches!(s.balancer, Balancer::Weighted(_)) {
                    error(
                        Diagnostic::error("`Weighted` balancing has one weight per instance, so it cannot autoscale")
                            .at_path(&path)
                            .at(at),
                    );
                }
                let mut schedule: Vec<(SimTime, u32)> =
                    a.schedule.iter().map(|m| (SimTime::ZERO + m.at.0, m.min)).collect();
                schedule.sort_by_key(|&(t, _)| t);
                AutoscalePolicy {
                    metric: metric.unwrap_or(ScaleOn::Utilisation(1.0)),
                    min: a.min,
                    max: a.max,
                    interval: a.interval.0,
                    tolerance: a.tolerance,
                    up_window: a.up_window.0,
                    down_window: a.down_window.0,
                    startup: a.startup.0,
                    schedule,
                }
            }),
            load_report_every: s.load_report_every.map(|d| d.0).filter(|d| {
                let valid = *d >= SimDuration::from_millis(1);
                if !valid {
                    error(Diagnostic::error("`load_report_every` must be at least 1ms").at_path(&path).at(at));
                }
                valid
            }),
            steps,
            class_handlers,
            handler_of_class,
            concurrency: s.concurrency,
            contention: s.contention.as_ref().map(|c| {
                let fraction = |x: f64| (0.0..=1.0).contains(&x);
                if !fraction(c.sigma) || !fraction(c.kappa) {
                    error(
                        Diagnostic::error(format!(
                            "`contention` takes a `sigma` and a `kappa` between 0 and 1, got sigma {} and kappa {}",
                            c.sigma, c.kappa
                        ))
                        .at_path(&path)
                        .at(at)
                        .with_hint(
                            "the Universal Scalability Law's coefficients, e.g. contention: (sigma: 0.05, kappa: 0.001) \
                             peaks at sqrt((1 - sigma) / kappa) = 31 busy workers",
                        ),
                    );
                }
                Usl { sigma: c.sigma, kappa: c.kappa }
            }),
            faults: Vec::new(),
            statement_timeout: s.statement_timeout.map(|d| d.0).filter(|d| {
                let valid = *d > SimDuration::ZERO;
                if !valid {
                    error(
                        Diagnostic::error("`statement_timeout` must be longer than zero")
                            .at_path(&path)
                            .at(at)
                            .with_hint("leave it out for statements that may run for ever"),
                    );
                }
                valid
            }),
            max_connections: s.max_connections.filter(|&n| {
                let valid = (1..=MAX_CONNECTIONS).contains(&n);
                if !valid {
                    error(
                        Diagnostic::error(format!("`max_connections` must be between 1 and {MAX_CONNECTIONS}, got {n}"))
                            .at_path(&path)
                            .at(at)
                            .with_hint("leave it out for no limit"),
                    );
                }
                valid
            }),
            replication: s.replication.as_ref().map(|r| {
                if s.instances < 2 || !matches!(s.balancer, Balancer::RoundRobin) {
                    error(
                        Diagnostic::error(
                            "a replicated service needs 2 or more instances (the primary and its replicas) \
                             and the default balancer: writes go to the primary, reads to the replicas in turn",
                        )
                        .at_path(&path)
                        .at(at),
                    );
                }
                let mut writes = vec![false; classes.len()];
                for name in &r.writes {
                    match classes.iter().position(|c| &c.name == name) {
                        Some(id) => writes[id] = true,
                        None => {
                            let names: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
                            error(
                                Diagnostic::error(format!("`writes` names an unknown request class \"{name}\""))
                                    .at_path(&path)
                                    .with_hint(suggest(name, &names, "classes")),
                            );
                        }
                    }
                }
                let lag = match r.lag.as_ref().map(compile_dist) {
                    None => Dist::Constant(0.0),
                    Some(Ok(dist)) => dist,
                    Some(Err(why)) => {
                        error(Diagnostic::error(format!("`lag`: {why}")).at_path(&path).at(at));
                        Dist::Constant(0.0)
                    }
                };
                ReplicationModel { writes, lag }
            }),
        });
    }

    let caches = compile_caches(scenario, source, &services, key_space, &mut error);

    for (i, fault) in scenario.faults.iter().enumerate() {
        let (service, instance, at, duration, kind) = match fault {
            // Instants on a cache's timeline, compiled with the caches.
            scenario::Fault::CacheFlush { .. }
            | scenario::Fault::CacheNodes { .. }
            | scenario::Fault::KeyChange { .. } => {
                continue;
            }
            scenario::Fault::Failover { service, at, detection, promotion } => {
                let replicated = resolve(service).is_some_and(|id| services[id.0 as usize].replication.is_some());
                if !replicated {
                    error(
                        Diagnostic::error(format!("`Failover` needs a replicated service; \"{service}\" is not one"))
                            .at_path(format!("faults[{i}]"))
                            .with_hint(r#"give it replication: (writes: ["write"])"#),
                    );
                }
                let down =
                    scenario::Duration(SimDuration(detection.0.as_nanos().saturating_add(promotion.0.as_nanos())));
                (service, &Some(0), at, down, FaultKind::Failover)
            }
            scenario::Fault::Slowdown { service, instance, at, duration, factor } => {
                if !(factor.is_finite() && *factor >= 0.0) {
                    error(
                        Diagnostic::error(format!("`factor` must be zero or more, got {factor}"))
                            .at_path(format!("faults[{i}]")),
                    );
                }
                (service, instance, at, *duration, FaultKind::Slowdown(*factor))
            }
            scenario::Fault::Errors { service, instance, at, duration, probability } => {
                if !(0.0..=1.0).contains(probability) {
                    error(
                        Diagnostic::error(format!("`probability` must be between 0 and 1, got {probability}"))
                            .at_path(format!("faults[{i}]")),
                    );
                }
                (service, instance, at, *duration, FaultKind::Errors(*probability))
            }
            scenario::Fault::Outage { service, instance, at, duration } => {
                (service, instance, at, *duration, FaultKind::Outage)
            }
            scenario::Fault::Crash { service, instance, at, restart_after, detected_after } => {
                let kind = FaultKind::Crash { detected_after: detected_after.0 };
                (service, instance, at, *restart_after, kind)
            }
            scenario::Fault::Pauses { service, instance, at, duration, every, pause } => {
                if pause.0 == SimDuration::ZERO || pause.0 >= every.0 {
                    error(
                        Diagnostic::error("pauses need a `pause` above zero and shorter than `every`")
                            .at_path(format!("faults[{i}]"))
                            .with_hint(r#"e.g. Pauses(service: "api", every: "10s", pause: "200ms")"#),
                    );
                }
                let kind = FaultKind::Freeze { every: every.0, pause: pause.0 };
                (service, instance, at, *duration, kind)
            }
            scenario::Fault::CpuQuota { service, instance, at, duration, cpus, period } => {
                // The kernel's bounds: a period of 1ms to 1s, and a quota of at least 1ms.
                let quota = SimDuration::from_nanos_f64(period.0.as_nanos() as f64 * cpus.clamp(0.0, 1e6));
                let bounded = (SimDuration::from_millis(1)..=SimDuration::from_secs(1)).contains(&period.0);
                if !cpus.is_finite() || !bounded || quota < SimDuration::from_millis(1) {
                    error(
                        Diagnostic::error(format!(
                            "a CPU quota needs a `period` from 1ms to 1s and `cpus x period` of at least 1ms, got cpus: {cpus}, period: {}",
                            period.0
                        ))
                        .at_path(format!("faults[{i}]"))
                        .with_hint(r#"e.g. CpuQuota(service: "api", cpus: 2.0, period: "100ms")"#),
                    );
                }
                (service, instance, at, *duration, FaultKind::CpuQuota { quota, period: period.0 })
            }
        };
        if duration.0 == SimDuration::ZERO {
            let (message, hint) = match kind {
                FaultKind::Crash { .. } => (
                    "a crash's `restart_after` must be longer than zero",
                    r#"a restart takes time: e.g. restart_after: "30s"; leave it out for an instance that stays down"#,
                ),
                _ => ("a fault's `duration` must be longer than zero", r#"e.g. duration: "10s""#),
            };
            error(Diagnostic::error(message).at_path(format!("faults[{i}]")).with_hint(hint));
        }
        match resolve(service) {
            Some(id) => {
                if let Some(target) = services.get_mut(id.0 as usize) {
                    if instance.is_some_and(|k| k >= target.instances) {
                        error(
                            Diagnostic::error(format!(
                                "the fault names instance {} of \"{service}\", which has {} (counted from 0)",
                                instance.unwrap_or(0),
                                target.instances
                            ))
                            .at_path(format!("faults[{i}]")),
                        );
                    }
                    let start = SimTime::ZERO + at.0;
                    let end = start.saturating_add(duration.0);
                    target.faults.push(FaultWindow { start, end, instance: *instance, kind });
                }
            }
            None => error(
                Diagnostic::error(format!("the fault names an unknown service \"{service}\""))
                    .at_path(format!("faults[{i}]"))
                    .with_hint(suggest(service, &service_names, "services")),
            ),
        }
    }
    for (s, service) in services.iter().enumerate() {
        // One account per instance: two CPU limits on one instance at once would fight over it.
        let limits: Vec<&FaultWindow> =
            service.faults.iter().filter(|f| matches!(f.kind, FaultKind::CpuQuota { .. })).collect();
        for (k, a) in limits.iter().enumerate() {
            let lifted = |f: &FaultWindow| match f.kind {
                FaultKind::CpuQuota { period, .. } => {
                    let periods = (f.end.as_nanos() - f.start.as_nanos()).div_ceil(period.as_nanos().max(1));
                    f.start.saturating_add(SimDuration::from_nanos(periods.saturating_mul(period.as_nanos())))
                }
                _ => f.end,
            };
            let clash = limits[k + 1..].iter().any(|b| {
                let same = a.instance.is_none() || b.instance.is_none() || a.instance == b.instance;
                same && a.start < lifted(b) && b.start < lifted(a)
            });
            if clash {
                error(
                    Diagnostic::error(format!("two CPU quotas of \"{}\" overlap on an instance", service.name))
                        .at_path(format!("services[{s}] \"{}\"", service.name))
                        .with_hint("an instance has one CPU limit at a time: give them separate times or instances (a quota lasts to the end of its last period)"),
                );
                break;
            }
        }
    }
    if scenario.window.0 < SimDuration::from_millis(1) {
        error(Diagnostic::error("`window` must be at least 1ms").at(locate_unique(source, "window:")));
    }

    if errors.is_empty() {
        check_keys(&clients, &services, &caches, &mut errors);
    }
    if errors.is_empty()
        && let Some(cycle) = find_cycle(&services)
    {
        let names: Vec<&str> = cycle.iter().map(|id| services[id.0 as usize].name.as_str()).collect();
        errors.push(
            Diagnostic::error(format!("the call graph has a cycle: {}", names.join(" -> ")))
                .at_path(format!("services[{}] \"{}\"", cycle[0].0, names[0]))
                .at(locate_name(source, names[0]))
                .with_hint("a request would call itself forever; remove one of these calls"),
        );
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Model {
        name: scenario.name.clone(),
        description: scenario.description.clone(),
        duration: scenario.duration.0,
        warmup: scenario.warmup.0,
        seed: scenario.seed.unwrap_or(1),
        window: scenario.window.0,
        clients,
        services,
        edges,
        classes,
        priority_levels: priorities.len() as u32,
        caches,
    })
}

/// The most cache entries a scenario may hold, over all its caches' stores: about 1 GB.
pub const MAX_CACHE_ENTRIES: u64 = 10_000_000;

/// Compiles the caches: their settings checked, their scope's service found, and the cache
/// faults put on their timelines.
fn compile_caches(
    scenario: &Scenario,
    source: &str,
    services: &[ServiceModel],
    key_space: u32,
    error: &mut impl FnMut(Diagnostic),
) -> Vec<CacheModel> {
    let mut caches = Vec::with_capacity(scenario.caches.len());
    let mut total_entries = 0u64;
    for (i, c) in scenario.caches.iter().enumerate() {
        let path = format!("caches[{i}] \"{}\"", c.name);
        let at = locate_name(source, &c.name);
        let mut fail = |message: String, hint: &str| {
            let d = Diagnostic::error(message).at_path(&path).at(at);
            error(if hint.is_empty() { d } else { d.with_hint(hint) });
        };
        if scenario.caches[..i].iter().any(|other| other.name == c.name) {
            fail(format!("two caches are named \"{}\"", c.name), "cache names must be unique");
        }
        if c.capacity == 0 {
            fail("a cache's `capacity` must be at least 1 entry".into(), "capacity: 10000 holds 10,000 keys");
        }
        if c.ttl.is_some_and(|t| t.0 == SimDuration::ZERO) {
            fail("`ttl` must be longer than zero".into(), "leave it out for entries that never expire");
        }
        if c.nodes == 0 || c.nodes > crate::keys::MAX_NODES {
            fail(format!("`nodes` must be between 1 and {}", crate::keys::MAX_NODES), "");
        }
        if let scenario::Routing::Ring(v) = c.routing
            && (v == 0 || v > crate::keys::MAX_VNODES)
        {
            fail(
                format!("a ring needs between 1 and {} virtual nodes per node, got {v}", crate::keys::MAX_VNODES),
                "Ring(100) is typical",
            );
        }
        if c.early.is_some_and(|beta| !(beta.is_finite() && beta > 0.0 && beta <= 100.0)) {
            fail("XFetch's `early` beta must be above 0 and at most 100".into(), "the paper's default is 1.0");
        }
        if c.warm > c.capacity.saturating_mul(c.nodes) {
            fail(
                format!("`warm` ({}) fills more keys than the cache holds ({})", c.warm, c.capacity),
                "warm at most `capacity` keys per node",
            );
        }
        let latency = c
            .latency
            .as_ref()
            .and_then(|spec| compile_dist(spec).map_err(|why| fail(format!("`latency`: {why}"), "")).ok());
        let users: Vec<usize> = services
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.all_steps().any(|step| {
                    matches!(step, Step::Lookup { cache, .. } | Step::Invalidate(cache) | Step::Put(cache)
                        if *cache as usize == i)
                })
            })
            .map(|(s, _)| s)
            .collect();
        let per_instance = match c.scope {
            scenario::CacheScope::Shared => None,
            scenario::CacheScope::PerInstance => {
                if c.nodes != 1 || c.routing != scenario::Routing::ModN {
                    fail(
                        "a per-instance cache lives in each instance's memory: it has no `nodes` or `routing`".into(),
                        "",
                    );
                }
                if users.len() > 1 {
                    let names: Vec<&str> = users.iter().map(|&s| services[s].name.as_str()).collect();
                    fail(
                        format!("a per-instance cache belongs to one service, but {} use it", names.join(", ")),
                        "give each service its own cache, or make it `Shared`",
                    );
                }
                users.first().map(|&s| ServiceId(s as u32))
            }
        };
        let mut events = Vec::new();
        for (j, fault) in scenario.faults.iter().enumerate() {
            let (name, when, event) = match fault {
                scenario::Fault::CacheFlush { cache, at, fraction } => (cache, at, CacheEvent::Flush(*fraction)),
                scenario::Fault::CacheNodes { cache, at, nodes } => (cache, at, CacheEvent::Nodes(*nodes)),
                scenario::Fault::KeyChange { cache, at } => (cache, at, CacheEvent::KeyChange),
                _ => continue,
            };
            if *name != c.name {
                continue;
            }
            let fault_path = format!("faults[{j}]");
            match event {
                CacheEvent::Flush(f) if !(0.0..=1.0).contains(&f) => error(
                    Diagnostic::error(format!("a flush's `fraction` must be between 0 and 1, got {f}"))
                        .at_path(&fault_path),
                ),
                CacheEvent::Nodes(n) if per_instance.is_some() || n == 0 || n > crate::keys::MAX_NODES => error(
                    Diagnostic::error(format!(
                        "`CacheNodes` resizes a shared cache to between 1 and {} nodes",
                        crate::keys::MAX_NODES
                    ))
                    .at_path(&fault_path),
                ),
                _ => {}
            }
            events.push((SimTime::ZERO + when.0, event));
        }
        events.sort_by_key(|&(t, _)| t);
        let model = CacheModel {
            name: c.name.clone(),
            capacity: c.capacity,
            ttl: c.ttl.map(|t| t.0),
            ttl_spread: c.ttl_spread.0,
            latency,
            per_instance,
            nodes: c.nodes,
            routing: c.routing,
            coalesce: c.coalesce,
            stale_for: c.stale_for.map(|d| d.0),
            early: c.early,
            warm: c.warm,
            key_space,
            events,
        };
        total_entries += u64::from(model.capacity) * u64::from(model.stores(services));
        caches.push(model);
    }
    if total_entries > MAX_CACHE_ENTRIES {
        error(
            Diagnostic::error(format!(
                "the caches could hold {total_entries} entries in all (capacity x nodes or instances), \
                 more than the {MAX_CACHE_ENTRIES} a run may keep in memory"
            ))
            .with_hint("a smaller key space and capacity, scaled together, keeps the same hit ratios"),
        );
    }
    for (j, fault) in scenario.faults.iter().enumerate() {
        let name = match fault {
            scenario::Fault::CacheFlush { cache, .. }
            | scenario::Fault::CacheNodes { cache, .. }
            | scenario::Fault::KeyChange { cache, .. } => cache,
            _ => continue,
        };
        if !scenario.caches.iter().any(|c| &c.name == name) {
            let names: Vec<&str> = scenario.caches.iter().map(|c| c.name.as_str()).collect();
            error(
                Diagnostic::error(format!("the fault names an unknown cache \"{name}\""))
                    .at_path(format!("faults[{j}]"))
                    .with_hint(suggest(name, &names, "caches")),
            );
        }
    }
    caches
}

/// Every client whose requests reach a cache step must give them keys.
fn check_keys(clients: &[ClientModel], services: &[ServiceModel], caches: &[CacheModel], errors: &mut Vec<Diagnostic>) {
    let uses_cache = |s: usize| {
        services[s].all_steps().find_map(|step| match step {
            Step::Lookup { cache, .. } | Step::Invalidate(cache) | Step::Put(cache) => Some(*cache),
            _ => None,
        })
    };
    for (i, client) in clients.iter().enumerate() {
        if client.keys.iter().all(Option::is_some) || client.trace.as_ref().is_some_and(|t| t.trace.has_keys()) {
            continue;
        }
        let mut seen = vec![false; services.len()];
        let mut stack = vec![client.target.0 as usize];
        while let Some(s) = stack.pop() {
            if std::mem::replace(&mut seen[s], true) {
                continue;
            }
            let needs = match uses_cache(s) {
                Some(cache) => Some(format!("cache \"{}\" (at \"{}\")", caches[cache as usize].name, services[s].name)),
                None => matches!(services[s].balancer, BalancerPolicy::ByKey { .. })
                    .then(|| format!("\"{}\", which routes by key,", services[s].name)),
            };
            if let Some(what) = needs {
                errors.push(
                    Diagnostic::error(format!("the requests of client \"{}\" reach {what} without keys", client.name))
                        .at_path(format!("clients[{i}] \"{}\"", client.name))
                        .with_hint("give the client (or each of its classes) `keys: Zipf(n: 100000, s: 1.0)`"),
                );
                break;
            }
            stack.extend(services[s].all_steps().flat_map(Step::callees).map(|(t, _)| t.0 as usize));
        }
    }
}

/// What a handler's steps need to resolve their calls and caches.
struct HandlerCx<'a> {
    source: &'a str,
    ids: &'a BTreeMap<&'a str, ServiceId>,
    names: &'a [&'a str],
    caches: &'a [&'a str],
}

/// Compiles one handler of service `from`, adding an edge for each call it makes.
fn compile_steps(
    cx: &HandlerCx<'_>,
    from: &str,
    path: &str,
    handler: &[scenario::Step],
    edges: &mut Vec<Edge>,
    error: &mut impl FnMut(Diagnostic),
) -> Vec<Step> {
    let mut steps = Vec::with_capacity(handler.len());
    compile_into(cx, from, path, handler, &mut steps, edges, error);
    if steps.len() > MAX_STEPS {
        error(
            Diagnostic::error(format!("a handler may have at most {MAX_STEPS} steps, misses' steps included"))
                .at_path(path),
        );
    }
    steps
}

/// The index of cache `name`, or an error naming the step.
fn cache_id(cx: &HandlerCx<'_>, name: &str, path: &str, error: &mut impl FnMut(Diagnostic)) -> Option<u32> {
    let found = cx.caches.iter().position(|c| *c == name).map(|i| i as u32);
    if found.is_none() {
        let hint = if cx.caches.is_empty() {
            format!(r#"declare it: caches: [Cache(name: "{name}", capacity: 10000, ttl: "60s")]"#)
        } else {
            suggest(name, cx.caches, "caches")
        };
        error(
            Diagnostic::error(format!("the step names an unknown cache \"{name}\""))
                .at_path(path)
                .at(locate_unique(cx.source, &format!("\"{name}\"")))
                .with_hint(hint),
        );
    }
    found
}

/// Compiles `handler` onto the end of `steps`; a `Cached` step becomes a `Lookup`, its miss's
/// steps and a `Fill`, so indices stay absolute and nested caches need no stack.
#[allow(clippy::too_many_arguments)]
fn compile_into(
    cx: &HandlerCx<'_>,
    from: &str,
    path: &str,
    handler: &[scenario::Step],
    steps: &mut Vec<Step>,
    edges: &mut Vec<Edge>,
    error: &mut impl FnMut(Diagnostic),
) {
    for (j, step) in handler.iter().enumerate() {
        let step_path = format!("{path}[{j}]");
        match step {
            scenario::Step::Work(spec) => match compile_dist(spec) {
                Ok(dist) => steps.push(Step::Work(dist)),
                Err(why) => error(Diagnostic::error(why.to_string()).at_path(step_path)),
            },
            scenario::Step::Call { service: target, policy } => {
                let policy = compile_policy(policy, &step_path, error);
                if let Some((edge, target)) = add_edge(cx, from, &step_path, "Call", target, policy, edges, error) {
                    steps.push(Step::Call { edge, target });
                }
            }
            scenario::Step::FanOut { service: target, n, options } => {
                let policy = compile_policy(&options.policy, &step_path, error);
                if policy.hedge.is_some() {
                    error(Diagnostic::error("hedging works on `Call` steps, not on `FanOut`").at_path(&step_path));
                }
                if *n == 0 || *n > MAX_FAN_OUT {
                    error(
                        Diagnostic::error(format!("`FanOut` sends between 1 and {MAX_FAN_OUT} calls, got {n}"))
                            .at_path(&step_path),
                    );
                }
                let needed = needed(options.wait, *n, &step_path, error);
                if let Some((edge, target)) = add_edge(cx, from, &step_path, "FanOut", target, policy, edges, error) {
                    let cancel_losers = options.losers == Losers::Cancel;
                    steps.push(Step::FanOut { edge, target, n: *n, needed, cancel_losers });
                }
            }
            scenario::Step::Parallel { calls, options } => {
                if calls.is_empty() || calls.len() > MAX_PARALLEL {
                    error(
                        Diagnostic::error(format!("`Parallel` makes between 1 and {MAX_PARALLEL} calls"))
                            .at_path(&step_path),
                    );
                }
                let mut compiled = Vec::with_capacity(calls.len());
                for (k, call) in calls.iter().enumerate() {
                    let call_path = format!("{step_path}[{k}]");
                    let scenario::Step::Call { service: target, policy } = call else {
                        error(
                            Diagnostic::error("`Parallel` holds only `Call` steps")
                                .at_path(&call_path)
                                .with_hint(r#"e.g. Parallel([Call("a"), Call("b")])"#),
                        );
                        continue;
                    };
                    let policy = compile_policy(policy, &call_path, error);
                    if policy.hedge.is_some() {
                        error(
                            Diagnostic::error("hedging works on `Call` steps, not inside `Parallel`")
                                .at_path(&call_path),
                        );
                    }
                    if let Some(call) = add_edge(cx, from, &call_path, "Call", target, policy, edges, error) {
                        compiled.push(call);
                    }
                }
                let needed = needed(options.wait, calls.len() as u32, &step_path, error);
                if compiled.len() == calls.len() && !calls.is_empty() {
                    steps.push(Step::Parallel {
                        calls: compiled,
                        needed,
                        cancel_losers: options.losers == Losers::Cancel,
                    });
                }
            }
            scenario::Step::Fail(p) => {
                if (0.0..=1.0).contains(p) {
                    steps.push(Step::Fail(*p));
                } else {
                    error(
                        Diagnostic::error(format!("`Fail` takes a probability between 0 and 1, got {p}"))
                            .at_path(step_path),
                    );
                }
            }
            scenario::Step::Cached { cache, miss } => {
                let Some(cache) = cache_id(cx, cache, &step_path, error) else { continue };
                if steps.len() > MAX_STEPS {
                    continue; // reported once the handler is done; no deeper
                }
                let lookup = steps.len();
                steps.push(Step::Lookup { cache, skip: 0 });
                compile_into(cx, from, &format!("{step_path}.miss"), miss, steps, edges, error);
                steps.push(Step::Fill(cache));
                let skip = steps.len() as u32;
                steps[lookup] = Step::Lookup { cache, skip };
            }
            scenario::Step::Invalidate(cache) => {
                if let Some(cache) = cache_id(cx, cache, &step_path, error) {
                    steps.push(Step::Invalidate(cache));
                }
            }
            scenario::Step::Put(cache) => {
                if let Some(cache) = cache_id(cx, cache, &step_path, error) {
                    steps.push(Step::Put(cache));
                }
            }
        }
    }
}

/// The successes a wait over `n` calls needs.
fn needed(wait: scenario::Wait, n: u32, path: &str, error: &mut impl FnMut(Diagnostic)) -> u32 {
    let needed = match wait {
        scenario::Wait::All => n,
        scenario::Wait::Any => 1,
        scenario::Wait::Quorum(k) => k,
    };
    if n > 0 && (needed == 0 || needed > n) {
        error(Diagnostic::error(format!("a quorum must be between 1 and the {n} calls, got {needed}")).at_path(path));
    }
    needed
}

/// Adds the edge of a call from `from` to service `target`, or reports the unknown name.
#[allow(clippy::too_many_arguments)]
fn add_edge(
    cx: &HandlerCx<'_>,
    from: &str,
    path: &str,
    step: &str,
    target: &str,
    policy: CallPolicy,
    edges: &mut Vec<Edge>,
    error: &mut impl FnMut(Diagnostic),
) -> Option<(u32, ServiceId)> {
    match cx.ids.get(target) {
        Some(&id) => {
            let caller = cx.ids.get(from).copied();
            edges.push(Edge { from: from.to_string(), path: path.to_string(), to: id, caller, policy });
            Some((edges.len() as u32 - 1, id))
        }
        None => {
            error(
                Diagnostic::error(format!("`{step}` names an unknown service \"{target}\""))
                    .at_path(path)
                    .at(locate_unique(cx.source, &format!("{step}(\"{target}\"")))
                    .with_hint(suggest(target, cx.names, "services")),
            );
            None
        }
    }
}

/// The most attempts a retry policy may make.
pub const MAX_ATTEMPTS: u32 = 100;

/// Compiles a call policy, reporting problems under `path`.
fn compile_policy(policy: &scenario::Policy, path: &str, error: &mut impl FnMut(Diagnostic)) -> CallPolicy {
    let mut positive = |what: &str, d: Option<scenario::Duration>| -> Option<SimDuration> {
        let d = d?;
        if d.0 == SimDuration::ZERO {
            error(Diagnostic::error(format!("`{what}` must be longer than zero")).at_path(path));
        }
        Some(d.0)
    };
    let timeout = positive("timeout", policy.timeout);
    let deadline = positive("deadline", policy.deadline);
    if let (Some(t), Some(d)) = (timeout, deadline)
        && t > d
    {
        error(
            Diagnostic::error(format!("`timeout` ({t}) is longer than `deadline` ({d})"))
                .at_path(path)
                .with_hint("an attempt can never outlive the whole call; shorten the timeout"),
        );
    }
    let retry = policy.retry.as_ref().map(|r| {
        if r.attempts == 0 || r.attempts > MAX_ATTEMPTS {
            error(
                Diagnostic::error(format!("`attempts` must be between 1 and {MAX_ATTEMPTS}, got {}", r.attempts))
                    .at_path(path)
                    .with_hint("attempts count the first call too: 3 means up to 2 retries"),
            );
        }
        if let scenario::Backoff::Exponential { base, cap, .. } = &r.backoff
            && (base.0 == SimDuration::ZERO || cap.0 < base.0)
        {
            error(
                Diagnostic::error("exponential backoff needs `base` above zero and `cap` at least `base`")
                    .at_path(path),
            );
        }
        let budget = r.budget.as_ref().map(|b| {
            if !(b.ratio.is_finite() && b.ratio >= 0.0 && b.min_per_s.is_finite() && b.min_per_s >= 0.0) {
                error(Diagnostic::error("a retry budget's `ratio` and `min_per_s` must be zero or more").at_path(path));
            }
            if b.window.0 < SimDuration::from_millis(10) {
                error(Diagnostic::error("a retry budget's `window` must be at least 10ms").at_path(path));
            }
            BudgetPolicy { ratio: b.ratio, min_per_s: b.min_per_s, window: b.window.0 }
        });
        let mut retry_on = [false; 8];
        for kind in &r.on {
            retry_on[*kind as usize] = true;
        }
        RetryPolicy { attempts: r.attempts, backoff: r.backoff.clone(), retry_on, budget }
    });
    let breaker = policy.breaker.as_ref().map(|b| {
        let size = match b.window {
            BreakerWindow::Count(n) | BreakerWindow::Time(n) => n,
        };
        if size == 0 || size > MAX_BREAKER_WINDOW {
            error(
                Diagnostic::error(format!(
                    "a breaker's `window` must be between 1 and {MAX_BREAKER_WINDOW}, got {size}"
                ))
                .at_path(path),
            );
        }
        for (name, rate) in [("failure_rate", b.failure_rate), ("slow_call_rate", b.slow_call_rate)] {
            if !(rate > 0.0 && rate <= 1.0) {
                error(
                    Diagnostic::error(format!("a breaker's `{name}` must be above 0 and at most 1, got {rate}"))
                        .at_path(path)
                        .with_hint("rates are fractions: 0.5 means half of the calls"),
                );
            }
        }
        for (name, n) in [("minimum_calls", b.minimum_calls), ("half_open_calls", b.half_open_calls)] {
            if n == 0 || n > MAX_BREAKER_WINDOW {
                error(
                    Diagnostic::error(format!(
                        "a breaker's `{name}` must be between 1 and {MAX_BREAKER_WINDOW}, got {n}"
                    ))
                    .at_path(path),
                );
            }
        }
        if b.open_for.0 == SimDuration::ZERO {
            error(Diagnostic::error("a breaker's `open_for` must be longer than zero").at_path(path));
        }
        BreakerPolicy {
            window: b.window.clone(),
            failure_rate: b.failure_rate,
            slow_call_rate: b.slow_call_rate,
            slow_call_duration: b.slow_call_duration.0,
            minimum_calls: b.minimum_calls,
            open_for: b.open_for.0,
            half_open_calls: b.half_open_calls,
        }
    });
    let throttle = policy.throttle.as_ref().map(|t| {
        if !(t.k.is_finite() && t.k > 0.0) {
            error(Diagnostic::error(format!("a throttle's `k` must be above zero, got {}", t.k)).at_path(path));
        }
        if t.window.0 < SimDuration::from_millis(10) {
            error(Diagnostic::error("a throttle's `window` must be at least 10ms").at_path(path));
        }
        (t.k, t.window.0)
    });
    let hedge = policy.hedge.as_ref().and_then(|h| {
        if h.max == 0 || h.max > MAX_HEDGES {
            error(
                Diagnostic::error(format!("a hedge's `max` must be between 1 and {MAX_HEDGES}, got {}", h.max))
                    .at_path(path),
            );
        }
        let delay = match (h.after, h.percentile) {
            (Some(after), None) => HedgeDelay::Fixed(after.0),
            (None, Some(p)) if p > 0.0 && p < 100.0 => HedgeDelay::Quantile(p / 100.0),
            (None, Some(p)) => {
                error(
                    Diagnostic::error(format!("a hedge's `percentile` must lie strictly between 0 and 100, got {p}"))
                        .at_path(path),
                );
                return None;
            }
            _ => {
                error(
                    Diagnostic::error("a hedge needs either `after` or `percentile`")
                        .at_path(path)
                        .with_hint(r#"hedge: (after: "10ms") or hedge: (percentile: 95)"#),
                );
                return None;
            }
        };
        Some(HedgePolicy { delay, max: h.max, cancel_losers: h.losers == Losers::Cancel })
    });
    let bulkhead = policy.bulkhead.as_ref().map(|b| {
        if b.max_concurrent == 0 || b.max_concurrent > MAX_WORKERS {
            error(
                Diagnostic::error(format!(
                    "a bulkhead's `max_concurrent` must be between 1 and {MAX_WORKERS}, got {}",
                    b.max_concurrent
                ))
                .at_path(path),
            );
        }
        BulkheadPolicy {
            places: b.max_concurrent,
            max_wait: b.max_wait.0,
            per_instance: b.scope == scenario::PoolScope::PerInstance,
        }
    });
    CallPolicy {
        timeout,
        deadline,
        cancel_on_timeout: policy.cancel_on_timeout,
        retry,
        breaker,
        throttle,
        hedge,
        bulkhead,
        rate_limit: policy.rate_limit.clone().filter(|limit| {
            let valid = limit.rate.is_finite() && limit.rate > 0.0 && limit.burst.is_finite() && limit.burst >= 1.0;
            if !valid {
                error(
                    Diagnostic::error(format!(
                        "a rate limit needs a positive `rate` and a `burst` of at least 1, got {} and {}",
                        limit.rate, limit.burst
                    ))
                    .at_path(path),
                );
            }
            valid
        }),
    }
}

/// Compiles a distribution, checking its parameters.
pub fn compile_dist(spec: &DistSpec) -> Result<Dist, DistError> {
    let ns = |d: &scenario::Duration| d.0.as_nanos() as f64;
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

/// A cycle in the call graph, as the services on it with the first repeated at the end.
fn find_cycle(services: &[ServiceModel]) -> Option<Vec<ServiceId>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let callees = |s: usize| services[s].all_steps().flat_map(Step::callees).map(|(target, _)| target.0 as usize);
    let mut marks = vec![Mark::New; services.len()];
    for root in 0..services.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (service, index of the next callee to visit).
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::OnPath;
        while let Some(&mut (s, ref mut next)) = path.last_mut() {
            match callees(s).nth(*next) {
                Some(callee) => {
                    *next += 1;
                    match marks[callee] {
                        Mark::New => {
                            marks[callee] = Mark::OnPath;
                            path.push((callee, 0));
                        }
                        Mark::OnPath => {
                            let start = path.iter().position(|&(p, _)| p == callee).unwrap_or(0);
                            let mut cycle: Vec<ServiceId> =
                                path[start..].iter().map(|&(p, _)| ServiceId(p as u32)).collect();
                            cycle.push(ServiceId(callee as u32));
                            return Some(cycle);
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    marks[s] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
    None
}
