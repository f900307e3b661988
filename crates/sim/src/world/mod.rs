//! The simulated world at run time: clients sending requests, services with instances, queues
//! and worker pools running their handlers, call policies (timeouts, deadlines, retries), and
//! the collectors recording what happens.
//!
//! A client's request, and every `Call` step, is a *call* on an *edge*. An edge without a policy
//! sends one *visit* to the callee, which answers the caller directly. An edge with a
//! policy keeps a call record that owns the timers and sends attempts, each a visit; a visit
//! whose call has moved on (timed out, or finished) is an orphan: it runs on, its answer is
//! dropped, and its worker time counts as wasted. The caller's visit waits for its call,
//! holding its worker (thread-per-request).
//!
//! Visits, calls and requests live in slabs and are reused, so the hot loop does not allocate
//! once queues have reached their largest size. Work that would otherwise recurse (a finished
//! visit starting the next queued one, a failure travelling up a call chain) goes through a small
//! agenda instead, so no input can overflow the stack.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use rand::RngExt;
use slab::Slab;
use tailsim_engine::rng::stream;
use tailsim_engine::{Dist, EventKey, EventQueue, RngStream, SimDuration, SimTime};
use tailsim_stats::{
    BreakerTransition, CacheResize, ClassSummary, ClientSummary, Conservation, EdgeSummary, Failures, FaultSummary,
    LatencyRecorder, LittlesLaw, Occupancy, ReplicationSummary, RunSummary, Series, ServiceSummary, Throttling,
    WindowRecorder,
};

use crate::admission::Admission;
use crate::cache::{CacheState, Fetch, Found};
use crate::cpu::Account;
use crate::ids::{CallId, FetchId, ListId, PoolId, VisitId};
use crate::recovery::{self, Recovery};
use tailsim_model::compile::{
    BalancerPolicy, BudgetPolicy, CacheModel, FaultKind, FaultWindow, HedgeDelay, Model, RetryPolicy, ScaleOn, Step,
    Target,
};
use tailsim_model::keys::Placement;
use tailsim_model::kinds::{Arrivals, Backoff, Concurrency, Discipline, FailureKind, Jitter};
use tailsim_model::traffic::Bursts;

mod arrivals;
mod balance;
mod batch;
mod broker;
mod calls;
mod cancel;
mod data;
mod edges;
mod faults;
mod fleet;
mod hedge;
mod invariants;
mod pools;
mod quotas;
mod replicas;
mod report;
mod retry;
mod scaling;
mod shards;
mod stats;
mod visits;
mod wait;

use edges::{EdgeState, PairWindow, edges};

use faults::frozen_end;
use wait::Wait;

/// Bounds that stop a run cleanly, marked as truncated, instead of exhausting the machine.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most client requests in flight at once.
    pub max_in_flight: u64,
    /// The most events one replication may process.
    pub max_events: u64,
    /// The most wall-clock time one replication may take.
    pub max_wall: Option<std::time::Duration>,
    /// Set from outside (Ctrl-C) to stop every replication at its next check.
    pub stop: Option<&'static AtomicBool>,
    /// Where to report progress, for a progress bar; `None` reports nothing.
    pub progress: Option<&'static Progress>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_in_flight: 1_000_000, max_events: u64::MAX, max_wall: None, stop: None, progress: None }
    }
}

/// Counters that runs report their progress through, for a progress bar. A run adds to them
/// only at its periodic checks (every few thousand events) and never reads them, so progress
/// costs the hot loop nothing measurable and cannot change a result.
#[derive(Debug, Default)]
pub struct Progress {
    /// Simulated nanoseconds done, summed over every run reporting here; a finished run has
    /// added its whole duration (a truncated one too).
    pub simulated_ns: AtomicU64,
    /// Runs finished.
    pub runs_done: AtomicU64,
}

impl Progress {
    /// Counters at zero (usable in a `static`).
    pub const fn new() -> Progress {
        Progress { simulated_ns: AtomicU64::new(0), runs_done: AtomicU64::new(0) }
    }

    /// Sets both counters back to zero, before a new batch of runs.
    pub fn reset(&self) {
        self.simulated_ns.store(0, Ordering::Relaxed);
        self.runs_done.store(0, Ordering::Relaxed);
    }
}

/// Events between two looks at the wall clock and the stop flag: rare enough to cost nothing,
/// frequent enough (well under a millisecond apart) to stop promptly.
const CHECK_EVERY_EVENTS: u64 = 1 << 14;

/// Events at one simulated instant beyond which a run is stuck there (closed-loop users that
/// neither think nor wait for anything answer and ask again for ever), on top of 20 per user:
/// every user's first request may legitimately start at time zero.
const MAX_EVENTS_AT_ONE_INSTANT: u64 = 10_000_000;

/// Steps of one event's agenda between two looks at the wall clock and the stop flag.
const CHECK_EVERY_STEPS: u64 = 1 << 14;

/// Steps of one event's agenda between two counts of the visits and calls in flight: a step
/// makes at most a fan-out's 10,000 visits, so a run stops within 64 of them past its limit.
const LOOK_EVERY_STEPS: u64 = 64;

/// The most agenda steps one event may set off: immediate retries and fan-outs multiply
/// through a call graph inside one event (100 attempts at each of four levels is 10^8 steps),
/// where the limits between events never look.
const MAX_STEPS_IN_ONE_EVENT: u64 = 10_000_000;

/// Visits and calls in flight allowed per request of `--max-in-flight`: a fan-out of fan-outs
/// makes them by the million inside one event.
const LIVE_PER_REQUEST: u64 = 16;

/// The combined effect of the fault windows open at one instant.
#[derive(Clone, Copy, Debug)]
struct ActiveFaults {
    slowdown: f64,
    error_probability: f64,
    outage: bool,
}

impl ActiveFaults {
    const NONE: ActiveFaults = ActiveFaults { slowdown: 1.0, error_probability: 0.0, outage: false };
}

/// Up to this many clients keep their next arrival beside the event queue instead of in it.
const ARRIVAL_LANE_MAX: usize = 8;

/// The clients' next arrivals, beside the event queue: one `(time, sequence)` per client and the
/// earliest of them. It saves a heap push and pop per request (measured: ~10% of an M/M/1 run),
/// and orders exactly as the heap would, since the sequence numbers come from the queue.
struct ArrivalLane {
    next: Vec<(SimTime, u64)>,
    earliest: usize,
}

impl ArrivalLane {
    fn key(&self) -> (SimTime, u64) {
        self.next[self.earliest]
    }

    fn set(&mut self, client: usize, key: (SimTime, u64)) {
        self.next[client] = key;
        self.earliest = (0..self.next.len()).min_by_key(|&i| self.next[i]).unwrap_or(0);
    }
}

#[derive(Clone, Copy, Debug)]
enum Event {
    /// The next request of a client.
    Arrival(u32),
    /// A visit's `Work` step finished.
    StepDone(VisitId),
    /// A call's timer: see [`calls::CallEvent`].
    Call(calls::CallEvent),
    /// A fault's moment: see [`faults::FaultEvent`].
    Fault(faults::FaultEvent),
    /// The autoscaler's moments: see [`scaling::ScaleEvent`].
    Scale(scaling::ScaleEvent),
    /// The message broker's timers: see [`broker::BrokerEvent`].
    Broker(broker::BrokerEvent),
    /// An append to a topic's broker comes due (flat, not in `BrokerEvent`, to keep an event
    /// at 12 bytes).
    Appended(u32),
    /// An outage of topic `i`'s broker ends.
    BrokerUp(u32),
    /// A rebalance pause of group `i` (in the broker) ends.
    Rebalanced(u32),
    /// The warm-up is over: statistics start from here.
    WarmupEnd,
    /// A visit's call has not answered yet: send a hedge. `token` names the wait.
    HedgeVisit { visit: VisitId, token: u32 },
    /// A hedged client request has not been answered yet: send a hedge.
    HedgeRequest { request: u32, token: u32 },
    /// A time-series window ends.
    WindowEnd,
    /// A shaped client's search for its next arrival goes on from here.
    TrafficWakeup(u32),
    /// Something happens to a cache (a flush, a resize, a key change).
    Cache(u32),
    /// A visit's `Work` step reached its service's statement timeout: it stops and fails.
    StatementTimeout(VisitId),
    /// An async visit's cache lookup answered after the cache's latency; `token` names its wait.
    LookupDone { visit: VisitId, token: u32 },
    /// An open batch's linger has passed: it closes.
    Linger(u32),
}

// Events live inside the event queue's heap entries, visits and calls in slabs walked on every
// step: their sizes are part of the hot loop's speed (and bound the memory of a run stopped by
// the limit on visits in flight), so growing one is a decision. An event stays 12 bytes with
// the subsystems' events nested in it: `FaultEvent`, the one of 12, lends its tag's spare values
// to the outer tag, and every other payload fits in the 8 bytes beside it (so a hedge is two
// flat variants, not one holding an `Owner`). At 16 bytes the queue's entries stayed 40 bytes,
// yet M/M/1 through the command line ran about 3% slower for slightly fewer instructions.
const _: () = assert!(size_of::<Event>() <= 12);
const _: () = assert!(size_of::<Visit>() <= 104);
const _: () = assert!(size_of::<CallState>() <= 104);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Success,
    Failed(FailureKind),
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Advance(VisitId),
    Finish(VisitId, Outcome),
}

/// What a request carries down the call graph: its class and its key.
#[derive(Clone, Copy, Debug)]
struct Tag {
    class: u8,
    key: u32,
}

/// Who waits for a call's answer.
#[derive(Clone, Copy, Debug)]
enum Caller {
    Request(u32),
    /// A visit waiting for its calls; `token` names this wait, so answers that arrive after
    /// the visit moved on (a fan-out's losers) are recognised and dropped.
    Visit {
        visit: VisitId,
        token: u32,
    },
    /// A client request whose edge hedges: `token` names the request's wait, as for visits.
    HedgedRequest {
        request: u32,
        token: u32,
    },
}

/// Whom a visit answers.
#[derive(Clone, Copy, Debug)]
enum Parent {
    /// The caller itself, on an edge without a policy.
    Direct { caller: Caller, edge: u32 },
    /// An attempt of a call with a policy; stale once the call has moved on.
    Attempt { call: CallId, incarnation: u32, attempt: u32 },
    /// Nobody: a cache's background refresh.
    Background,
    /// The broker: the visit handles the `receive`-th delivery of message `message`.
    Message { message: u32, receive: u32 },
    /// Its batcher: the visit runs batch `batch`'s steps.
    Batch { batch: u32 },
}

/// Where a visit is in its life at its service. Its accounting (`admitted`, `counted`) and
/// its caller's wish to stop (`cancelled`) are kept apart: a cancelled visit stays in its
/// queue until it reaches the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VisitState {
    /// Neither a worker nor a place in a queue: arriving (a refused visit finishes from here,
    /// and a shed one comes back here), or a background refresh, which runs without a worker.
    Unplaced,
    /// In its instance's queue, never served yet.
    Queued,
    /// Served, back in its instance's queue for a worker after its calls (async).
    Requeued,
    /// Holding a worker.
    Running,
    /// Served, its worker given back while it waits for its calls (async).
    Awaiting,
    /// Lost in a crash while its `Work` step ran: accounted for, kept only until that step's
    /// `StepDone` event comes, then removed (with `cancelled` set, so nothing else touches it).
    Lost,
}

/// What a visit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VisitKind {
    /// A visit its caller (a client, a call) waits for.
    Request,
    /// A background refresh (stale-while-revalidate): it runs a miss's steps without a
    /// worker, fills the cache and ends; nobody waits for it.
    Refresh,
    /// A delivery of a message to a consumer: it takes a worker at once (the broker hands a
    /// message only to a consumer with one free) and its end settles the message.
    Message,
    /// A batch's run of its steps: on the batcher's own flush, without a worker; its end
    /// answers the requests in the batch.
    Batch,
}

impl VisitKind {
    /// Whether a visit of this kind takes a worker (and a place in the queue) of the service
    /// it visits: a refresh runs its steps without one.
    #[inline(always)]
    const fn uses_workers(self) -> bool {
        match self {
            VisitKind::Request | VisitKind::Message => true,
            VisitKind::Refresh | VisitKind::Batch => false,
        }
    }

    /// Whether a visit of this kind is one of the service's visits: counted and summarised as
    /// the service's, answered to a caller (a message's to the broker), lost as the service's
    /// in a crash. A refresh is the cache's own work, in the process, and nobody waits for it;
    /// a batch is its batcher's, which counts it.
    #[inline(always)]
    const fn of_the_service(self) -> bool {
        match self {
            VisitKind::Request | VisitKind::Message => true,
            VisitKind::Refresh | VisitKind::Batch => false,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Visit {
    service: u32,
    instance: u32,
    step: u32,
    parent: Parent,
    arrived: SimTime,
    worker_since: SimTime,
    /// Where it is in its life at its service.
    state: VisitState,
    /// What it is: a visit for a caller, or a background refresh.
    kind: VisitKind,
    counted: bool,
    /// When it entered the queue, or began waiting for its calls (with or without a worker).
    queued_since: SimTime,
    /// The caller gave up and asked the server to stop (cancel_on_timeout).
    cancelled: bool,
    /// The wait for calls this visit is in, if it is in one.
    wait: Wait,
    /// The pool whose place (connection) this visit holds, if it holds one.
    place_pool: Option<PoolId>,
    /// The request's class.
    class: u8,
    /// The handler it runs (see [`ServiceModel::handler`](tailsim_model::compile::ServiceModel::handler)).
    handler: u8,
    /// Counted in its instance's outstanding visits (admitted, not yet finished or dropped).
    admitted: bool,
    /// The request's key, for caches.
    key: u32,
    /// The innermost cache fetch this visit makes, if any: the top of a stack linked through
    /// [`Fetch::below`].
    fetch: Option<FetchId>,
}

impl Visit {
    /// Whether it holds a worker.
    #[inline(always)]
    fn holds_worker(&self) -> bool {
        self.state == VisitState::Running
    }

    /// Whether it is in its instance's queue (first admission, or an async visit resuming).
    #[inline(always)]
    fn in_queue(&self) -> bool {
        matches!(self.state, VisitState::Queued | VisitState::Requeued)
    }

    /// Whether it has had a worker at least once (was served, not refused or dropped).
    #[inline(always)]
    fn served(&self) -> bool {
        matches!(self.state, VisitState::Running | VisitState::Awaiting | VisitState::Requeued)
    }

    /// Whether it is a background refresh.
    #[inline(always)]
    fn refresh(&self) -> bool {
        self.kind == VisitKind::Refresh
    }

    /// Whether it was lost in a crash and waits only for its step's end.
    #[inline(always)]
    fn lost(&self) -> bool {
        self.state == VisitState::Lost
    }

    /// A visit of `instance` of service `service` arriving at `now`, at its first step, running
    /// `handler`: no worker yet, no wait, no place, no fetch.
    #[inline(always)]
    fn new(service: u32, instance: u32, parent: Parent, now: SimTime, counted: bool, tag: Tag, handler: u8) -> Visit {
        Visit {
            service,
            instance,
            step: 0,
            parent,
            arrived: now,
            worker_since: now,
            counted,
            queued_since: now,
            cancelled: false,
            wait: Wait::NONE,
            place_pool: None,
            class: tag.class,
            handler,
            admitted: false,
            key: tag.key,
            fetch: None,
            state: VisitState::Unplaced,
            kind: VisitKind::Request,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Request {
    client: u32,
    arrived: SimTime,
    counted: bool,
    /// The request's class as its place in the client's list, for the class's statistics.
    class_slot: u8,
    /// Its key.
    key: u32,
    /// On a hedging client edge: the wait for its calls.
    wait: Wait,
}

/// Who made the calls of a list: a visit in a wait, or a hedged client request.
#[derive(Clone, Copy, Debug)]
enum Owner {
    Visit(VisitId),
    Request(u32),
}

impl Owner {
    /// The event of a hedge due on this owner's wait `token` (two flat variants rather than
    /// one with an `Owner`, which would make every event 16 bytes).
    fn hedge(self, token: u32) -> Event {
        match self {
            Owner::Visit(visit) => Event::HedgeVisit { visit, token },
            Owner::Request(request) => Event::HedgeRequest { request, token },
        }
    }
}

/// One call of a wait, to cancel when the wait is decided without it.
#[derive(Clone, Copy, Debug)]
enum Branch {
    /// A visit on an edge without policy; its parent's wait token tells it from a reused slot.
    Visit { visit: VisitId, token: u32 },
    /// A call with a policy, named by its incarnation.
    Call { call: CallId, incarnation: u32 },
}

/// A call on an edge with a policy.
#[derive(Clone, Copy, Debug)]
struct CallState {
    caller: Caller,
    edge: u32,
    incarnation: u32,
    attempts: u32,
    /// The outstanding attempt, if one is.
    visit: Option<VisitId>,
    counted: bool,
    /// The outstanding attempt is an append to a topic's broker (an acknowledged publish).
    appending: bool,
    attempt_timer: Option<EventKey>,
    deadline_timer: Option<EventKey>,
    retry_timer: Option<EventKey>,
    /// The previous wait, for decorrelated jitter.
    previous_sleep_ns: f64,
    /// When the current attempt was sent.
    attempt_started: SimTime,
    /// Attempts actually sent (those the breaker refused are not).
    sent: u32,
    /// Set while the current attempt waits for a bulkhead place.
    place_timer: Option<EventKey>,
    /// The pool its attempts take their places from, if the edge has one.
    pool: Option<PoolId>,
    /// The request's class and key, passed on to each attempt.
    tag: Tag,
}

struct ClientState {
    /// Closed loop: each answer schedules the user's next request.
    closed: bool,
    /// Open loop with a traffic shape: arrivals by thinning.
    shaped: bool,
    rng: RngStream,
    /// Exponential gaps for Poisson arrivals.
    gap: Dist,
    mean_gap_ns: f64,
    sent: u64,
    arrivals: u64,
    succeeded: u64,
    failures: Failures,
    latency: LatencyRecorder,
    failure_latency: LatencyRecorder,
    in_flight: Occupancy,
    /// The time series, one element per window so far (the last one open).
    series: Series,
    /// Successful latencies of the open window (counted requests), for its percentiles.
    window_latency: WindowRecorder,
    /// Draws each request's class (clients with classes only).
    class_rng: RngStream,
    /// Draws each request's key (clients with keys only).
    key_rng: RngStream,
    /// Keeps or drops thinning candidates and times bursts (clients with `traffic` only).
    traffic_rng: RngStream,
    bursts: Bursts,
    /// Per class, in the client's order.
    classes: Vec<ClassStats>,
}

/// A client's results for one request class.
#[derive(Default)]
struct ClassStats {
    arrivals: u64,
    succeeded: u64,
    failed: u64,
    latency: LatencyRecorder,
    failure_latency: LatencyRecorder,
}

struct ServiceState {
    rng: RngStream,
    /// Whether any fault is on this service's timeline: the slow path of `advance`.
    has_faults: bool,
    /// Its balancer's state.
    balancer: balance::Balancer,
    /// Its instances: which slots, how many active and wanted, their instance-time.
    fleet: fleet::Fleet,
    /// What its visits added up to.
    stats: stats::ServiceStats,
}

impl ClientState {
    /// Client `c`'s state as a run starts: its own random streams, no requests, one open window.
    fn new(c: &tailsim_model::compile::ClientModel, seed: u64, rep: u64, window_s: f64) -> ClientState {
        ClientState {
            closed: c.closed.is_some(),
            shaped: c.traffic.is_some() || c.trace.is_some(),
            rng: stream(seed, rep, &format!("client/{}", c.name)),
            gap: Dist::Exponential { mean: 1e9 / c.rate_per_s },
            mean_gap_ns: 1e9 / c.rate_per_s,
            sent: 0,
            arrivals: 0,
            succeeded: 0,
            failures: Failures::default(),
            latency: LatencyRecorder::new(),
            failure_latency: LatencyRecorder::new(),
            in_flight: Occupancy::default(),
            series: Series {
                window_s,
                arrivals: vec![0],
                succeeded: vec![0],
                failed: vec![0],
                timeout: vec![0],
                rejected: vec![0],
                error: vec![0],
                refused_locally: vec![0],
                p50_ms: Vec::new(),
                p99_ms: Vec::new(),
            },
            window_latency: WindowRecorder::new(),
            class_rng: stream(seed, rep, &format!("client/{}/class", c.name)),
            key_rng: stream(seed, rep, &format!("client/{}/keys", c.name)),
            traffic_rng: stream(seed, rep, &format!("client/{}/traffic", c.name)),
            bursts: Bursts::default(),
            classes: c.classes.iter().map(|_| ClassStats::default()).collect(),
        }
    }
}

impl ServiceState {
    /// Service `s`'s state as a run starts: its own random streams, its first `instances`
    /// active from `first_instance` on, nothing counted.
    fn new(
        s: &tailsim_model::compile::ServiceModel,
        model: &Model,
        seed: u64,
        rep: u64,
        first_instance: u32,
        window_s: f64,
    ) -> ServiceState {
        ServiceState {
            rng: stream(seed, rep, &format!("service/{}", s.name)),
            has_faults: !s.faults.is_empty(),
            balancer: balance::Balancer::new(&s.name, seed, rep),
            fleet: fleet::Fleet::new(first_instance, s.instances, model.warmup == SimDuration::ZERO),
            stats: stats::ServiceStats::new(s.faults.len(), window_s),
        }
    }
}

impl Instance {
    /// An idle instance slot with `levels` priority levels in its queue.
    fn new(levels: usize) -> Instance {
        Instance {
            outstanding: 0,
            arrivals: 0,
            busy: 0,
            busy_base: 0,
            busy_at_warmup: 0,
            finished: 0,
            finished_ns: 0,
            queue: VecDeque::new(),
            lower: vec![VecDeque::new(); levels.saturating_sub(1)],
            cancelled_in_queue: 0,
            skipped: 0,
            draining: false,
        }
    }

    /// A worker starts on a visit at `now`.
    #[inline(always)]
    fn take_worker(&mut self, now: SimTime) {
        self.busy += 1;
        self.busy_base -= i128::from(now.as_nanos());
    }

    /// A worker is freed at `now`.
    #[inline(always)]
    fn free_worker(&mut self, now: SimTime) {
        self.busy -= 1;
        self.busy_base += i128::from(now.as_nanos());
    }

    /// Worker-nanoseconds busy from the start of the run to `now`.
    fn busy_integral(&self, now: SimTime) -> i128 {
        self.busy_base + i128::from(self.busy) * i128::from(now.as_nanos())
    }

    /// Visits waiting that still want service.
    #[inline(always)]
    fn waiting(&self) -> u64 {
        let lower: usize = if self.lower.is_empty() { 0 } else { self.lower.iter().map(VecDeque::len).sum() };
        (self.queue.len() + lower - self.cancelled_in_queue as usize) as u64
    }

    /// Queues visit `f` of class `class` (its priority level matters under `Priority` only).
    #[inline(always)]
    fn push(&mut self, f: VisitId, class: u8, model: &Model) {
        if self.lower.is_empty() {
            return self.queue.push_back(f);
        }
        let level = model.classes[usize::from(class)].level as usize;
        match level.checked_sub(1).and_then(|l| self.lower.get_mut(l)) {
            Some(queue) => queue.push_back(f),
            None => self.queue.push_back(f),
        }
    }

    /// Takes the next waiting visit under `discipline`.
    #[inline(always)]
    fn pop(&mut self, discipline: Discipline) -> Option<VisitId> {
        match discipline {
            Discipline::Fifo => self.queue.pop_front(),
            Discipline::Lifo => self.queue.pop_back(),
            Discipline::Priority => {
                self.queue.pop_front().or_else(|| self.lower.iter_mut().find_map(VecDeque::pop_front))
            }
        }
    }
}

struct Instance {
    /// Visits admitted and not finished: queued, served, or (async) waiting for calls.
    outstanding: u32,
    /// Visits that arrived after the warm-up.
    arrivals: u64,
    busy: u32,
    /// `busy`'s integral over time is `busy_base + busy x now` (see [`Occupancy`]), and its
    /// value at the warm-up's end.
    busy_base: i128,
    busy_at_warmup: i128,
    /// Visits served that arrived after the warm-up and finished, and their summed time in
    /// the instance.
    finished: u64,
    finished_ns: u128,
    /// Waiting visits; under `Priority`, those of the highest level.
    queue: VecDeque<VisitId>,
    /// Under `Priority`, the waiting visits of levels 1, 2, ...
    lower: Vec<VecDeque<VisitId>>,
    /// Visits in `queue` already cancelled and accounted as dropped; they no longer take a
    /// place and are skipped when they reach the head.
    cancelled_in_queue: u32,
    /// Crashes that balancers route around now (noticed, not yet restarted); 0: taking traffic.
    skipped: u32,
    /// Stopped by the autoscaler with visits still inside: its pools keep their connections
    /// until it has finished them.
    draining: bool,
}

/// One replication of a model.
struct World<'m> {
    model: &'m Model,
    limits: Limits,
    now: SimTime,
    warmup_end: SimTime,
    events: EventQueue<Event>,
    /// Clients' next arrivals, when there are few clients.
    lane: Option<ArrivalLane>,
    visits: Slab<Visit>,
    requests: Slab<Request>,
    calls: Slab<CallState>,
    next_incarnation: u32,
    /// The next wait token (never 0).
    next_token: u32,
    agenda: Vec<Action>,
    /// When the run started, on the wall clock.
    started: Instant,
    /// The most visits and calls in flight at once.
    max_live: u64,
    /// Lists of the calls of waits whose losers are cancelled, reused through `free_lists`.
    branch_lists: Vec<Vec<Branch>>,
    free_lists: Vec<ListId>,
    /// Scratch stack of visits to cancel.
    cancel_stack: Vec<VisitId>,
    caches: Vec<CacheState>,
    /// Bulkheads and connection limits.
    pools: pools::Pools,
    /// Each service's autoscaler, where it has one.
    autoscalers: Vec<Option<scaling::Autoscaler>>,
    /// Each key-routed service's shards.
    shards: Vec<Option<shards::Shards>>,
    /// Each replicated service's replicas.
    replicated: Vec<Option<replicas::Replicas>>,
    /// The cache fetches visits are running.
    fetches: Slab<Fetch>,
    /// Scratch list of the visits a finished fetch wakes.
    wake: Vec<(VisitId, u32)>,
    clients: Vec<ClientState>,
    services: Vec<ServiceState>,
    /// Each service's per-tenant admission limit, where it has one.
    admission: Vec<Option<Admission>>,
    /// Each service's fault timeline as the clock plays it (empty without faults).
    timelines: Vec<faults::Timeline>,
    instances: Vec<Instance>,
    edges: Vec<EdgeState>,
    n_events: u64,
    arrived_total: u64,
    succeeded_total: u64,
    failed_total: u64,
    truncated: Option<String>,
    /// The time-series window actually used (widened for very long runs).
    window_ns: u64,
    /// The window `now` falls in, and when it ends: kept current without a division per answer.
    window_index: usize,
    window_end: SimTime,
    /// The CPU quotas, in a run with any.
    quotas: Option<quotas::Quotas>,
    /// In runs with faults: the successes' latencies the fault summaries judge recovery by.
    recovery: Option<Recovery>,
    /// The message broker, in a run with topics.
    broker: Option<broker::Broker>,
    /// The batchers, in a run with `Batch` steps.
    batchers: Option<batch::Batchers>,
}

/// The most windows a time series may have: longer runs get wider windows.
pub const MAX_WINDOWS: u64 = 100_000;

/// The most windows all the time series of a run may have together, over its clients, services,
/// edges and caches: each window of a component holds a few hundred bytes in memory and a few
/// rows of `timeseries.csv`, so 150 services over 100,000 s would otherwise take gigabytes.
pub const WINDOW_BUDGET: u64 = 2_000_000;

/// The windows each time series of one replication of `model` has, and the most rows its
/// series give `timeseries.csv` (every metric of every window; sparse ones give fewer), for
/// `check` to say what a run will write.
pub fn timeseries_size(model: &Model) -> (u64, u64) {
    use tailsim_stats::summary::{CacheSeries, Series, ServiceSeries};
    let windows = model.duration.as_nanos().div_ceil(window_of(model).as_nanos());
    let per_window = model.clients.len() * Series::METRICS
        + model.services.len() * ServiceSeries::METRICS
        + model.caches.len() * CacheSeries::METRICS
        + groups(model) * tailsim_stats::GroupSeries::METRICS
        + model.edges.len();
    (windows, windows.saturating_mul(per_window as u64))
}

/// The consumer groups of `model`, over all its topics: each keeps a time series.
fn groups(model: &Model) -> usize {
    model.topics.iter().map(|t| t.groups.len()).sum()
}

/// The time-series window a run of `model` uses: its `window`, widened to a whole multiple of
/// it so that no series has more than [`MAX_WINDOWS`] windows and all of them together at most
/// [`WINDOW_BUDGET`].
pub fn window_of(model: &Model) -> SimDuration {
    let components =
        (model.clients.len() + model.services.len() + model.edges.len() + model.caches.len() + groups(model)).max(1);
    let most = MAX_WINDOWS.min((WINDOW_BUDGET / components as u64).max(1));
    // A whole multiple of the scenario's window, so that widened windows still line up with it.
    let base = model.window.as_nanos().max(1);
    let needed = model.duration.as_nanos().div_ceil(most);
    SimDuration(base.saturating_mul(needed.div_ceil(base).max(1)))
}

/// Runs replication `replication` of `model` with master seed `seed`.
pub fn run(model: &Model, seed: u64, replication: u32, limits: Limits) -> RunSummary {
    let mut world = World::new(model, seed, replication, limits);
    world.start();
    let end = SimTime::ZERO + model.duration;
    // Simulated time already reported to `limits.progress`.
    let mut reported = SimTime::ZERO;
    // The instant of the last check, and the events seen at it since.
    let (mut instant, mut at_instant) = (SimTime::ZERO, 0u64);
    let users: u64 = model.clients.iter().filter_map(|c| c.closed.as_ref()).map(|(n, _)| u64::from(*n)).sum();
    let stuck_after = MAX_EVENTS_AT_ONE_INSTANT + 20 * users;
    while let Some((time, event)) = world.next_event() {
        // A run covers [0, duration): what would happen at `duration` is after it.
        if time >= end {
            world.now = end;
            break;
        }
        world.now = time;
        world.n_events += 1;
        world.handle(event);
        if world.truncated.is_some() {
            break;
        }
        if world.n_events >= limits.max_events {
            world.truncated = Some(format!(
                "the run reached its limit of {} events at {}; raise it with --max-events",
                limits.max_events, world.now
            ));
            break;
        }
        if world.n_events.is_multiple_of(CHECK_EVERY_EVENTS) {
            if cfg!(debug_assertions) {
                world.check_invariants();
            }
            if world.too_many_live() {
                break;
            }
            if world.now == instant {
                at_instant += CHECK_EVERY_EVENTS;
                if at_instant >= stuck_after {
                    world.truncated = Some(format!(
                        "simulated time stopped advancing at {}: {at_instant} events happened at that instant; \
                         closed-loop users with no `think` time whose answers take no time ask again for ever \
                         (give them a think time, or the handler some work or cache latency)",
                        world.now
                    ));
                    break;
                }
            } else {
                (instant, at_instant) = (world.now, 0);
            }
            if let Some(progress) = limits.progress {
                progress.simulated_ns.fetch_add(world.now.0.saturating_sub(reported.0), Ordering::Relaxed);
                reported = world.now;
            }
            if let Some(why) = world.stopped_from_outside() {
                world.truncated = Some(why);
                break;
            }
        }
    }
    if cfg!(debug_assertions) {
        world.check_invariants();
    }
    if world.truncated.is_none() {
        world.now = end;
    }
    world.finish_windows();
    if let Some(progress) = limits.progress {
        progress.simulated_ns.fetch_add(end.0.saturating_sub(reported.0), Ordering::Relaxed);
        progress.runs_done.fetch_add(1, Ordering::Relaxed);
    }
    world.summary(replication)
}

impl<'m> World<'m> {
    /// The next event and its time: the earliest of the arrival lane's and the queue's.
    #[inline(always)]
    fn next_event(&mut self) -> Option<(SimTime, Event)> {
        let from_lane = match (&self.lane, self.events.peek_key()) {
            (Some(lane), Some(key)) => lane.key() < key,
            (Some(lane), None) => !lane.next.is_empty(),
            (None, _) => false,
        };
        match &self.lane {
            Some(lane) if from_lane => Some((lane.key().0, Event::Arrival(lane.earliest as u32))),
            _ => self.events.pop(),
        }
    }

    fn new(model: &'m Model, seed: u64, replication: u32, limits: Limits) -> World<'m> {
        let rep = u64::from(replication);
        let window_ns = window_of(model).as_nanos();
        let window_s = window_ns as f64 / 1e9;
        let clients = model.clients.iter().map(|c| ClientState::new(c, seed, rep, window_s)).collect();
        let mut instances = Vec::new();
        let services: Vec<ServiceState> = model
            .services
            .iter()
            .map(|s| {
                let first_instance = instances.len() as u32;
                let levels = if s.discipline == Discipline::Priority { model.priority_levels as usize } else { 1 };
                instances.extend((0..s.max_instances()).map(|_| Instance::new(levels)));
                ServiceState::new(s, model, seed, rep, first_instance, window_s)
            })
            .collect();
        let (pools, firsts) = pools::Pools::new(model);
        let edges = edges(model, seed, rep, &firsts);
        let quotas = quotas::Quotas::new(model, instances.len());
        // The level before a fault is taken at the close of the last window before the one it
        // starts in, as for goodput.
        let faults = model.services.iter().flat_map(|s| &s.faults);
        let recovery = (faults.clone().next().is_some()).then(|| {
            Recovery::new(faults.filter_map(|f| (f.start.as_nanos() / window_ns).checked_sub(1).map(|w| w as usize)))
        });
        World {
            model,
            limits,
            now: SimTime::ZERO,
            warmup_end: SimTime::ZERO + model.warmup,
            events: EventQueue::new(),
            lane: (model.clients.len() <= ARRIVAL_LANE_MAX)
                .then(|| ArrivalLane { next: vec![(SimTime(u64::MAX), u64::MAX); model.clients.len()], earliest: 0 }),
            visits: Slab::new(),
            requests: Slab::new(),
            calls: Slab::new(),
            next_incarnation: 0,
            next_token: 1,
            agenda: Vec::new(),
            started: Instant::now(),
            max_live: limits.max_in_flight.saturating_mul(LIVE_PER_REQUEST),
            branch_lists: Vec::new(),
            free_lists: Vec::new(),
            cancel_stack: Vec::new(),
            caches: model
                .caches
                .iter()
                .map(|c| {
                    let rng = stream(seed, rep, &format!("cache/{}", c.name));
                    let mut cache = CacheState::new(c, &model.services, rng, window_s);
                    cache.counting = model.warmup == SimDuration::ZERO;
                    cache
                })
                .collect(),
            fetches: Slab::new(),
            pools,
            autoscalers: model.services.iter().map(scaling::Autoscaler::new).collect(),
            shards: model.services.iter().map(shards::Shards::new).collect(),
            replicated: model.services.iter().map(replicas::Replicas::new).collect(),
            wake: Vec::new(),
            clients,
            services,
            admission: model.services.iter().map(|s| s.admission.as_ref().map(Admission::new)).collect(),
            timelines: model.services.iter().map(|s| faults::Timeline::new(&s.faults)).collect(),
            instances,
            edges,
            n_events: 0,
            arrived_total: 0,
            succeeded_total: 0,
            failed_total: 0,
            truncated: None,
            window_ns,
            window_index: 0,
            window_end: SimTime(window_ns),
            quotas,
            recovery,
            broker: broker::Broker::new(model, seed, rep, window_s),
            batchers: batch::Batchers::new(model),
        }
    }

    fn start(&mut self) {
        self.open_pools();
        self.start_quotas();
        for c in 0..self.clients.len() {
            match &self.model.clients[c].closed {
                None => self.schedule_arrival(c as u32),
                Some((users, _)) => {
                    for _ in 0..*users {
                        self.schedule_think(c as u32);
                    }
                }
            }
        }
        if self.warmup_end > SimTime::ZERO {
            self.events.schedule(self.warmup_end, Event::WarmupEnd);
        }
        if self.window_end < SimTime::ZERO + self.model.duration {
            self.events.schedule(self.window_end, Event::WindowEnd);
        }
        for (c, model) in self.model.caches.iter().enumerate() {
            for &(at, _) in &model.events {
                self.events.schedule(at, Event::Cache(c as u32));
            }
        }
        // Per service, its crashes then its autoscaler: events at one instant run in the
        // order they were scheduled.
        for s in 0..self.services.len() as u32 {
            self.start_crashes(s);
            self.start_autoscaler(s);
        }
        self.schedule_broker_faults();
    }

    #[inline]
    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrival(c) => self.on_arrival(c),
            Event::StepDone(f) => {
                if self.quotas.is_none() || self.cpu_done(f, event) {
                    self.advance(f);
                }
            }
            Event::StatementTimeout(f) => self.on_statement_timeout(f),
            Event::WarmupEnd => self.on_warmup_end(),
            Event::WindowEnd => self.on_window_end(),
            Event::TrafficWakeup(c) => self.schedule_shaped_arrival(c),
            Event::Cache(c) => self.caches[c as usize].apply_events(&self.model.caches[c as usize], self.now),
            Event::LookupDone { visit, token } => self.call_returned(Caller::Visit { visit, token }, Outcome::Success),
            Event::HedgeVisit { visit, token } => self.on_hedge(Owner::Visit(visit), token),
            Event::HedgeRequest { request, token } => self.on_hedge(Owner::Request(request), token),
            Event::Call(e) => self.on_call_event(e),
            Event::Fault(e) => self.on_fault_event(e),
            Event::Scale(e) => self.on_scale_event(e),
            Event::Broker(e) => self.on_broker_event(e),
            Event::Appended(id) => self.on_appended(id),
            Event::BrokerUp(topic) => self.broker_up(topic),
            Event::Rebalanced(g) => self.on_rebalanced(g),
            Event::Linger(batch) => self.on_linger(batch),
        }
        self.drain_agenda();
    }

    /// Runs the agenda to its end, unless the run is truncated on the way: by too many visits
    /// and calls in flight, too many steps in one event, the wall clock or Ctrl-C. What is
    /// left is then dropped: the run stops here, and what was measured is reported.
    #[inline(always)]
    fn drain_agenda(&mut self) {
        let mut steps = 0u64;
        while let Some(action) = self.agenda.pop() {
            match action {
                Action::Advance(f) => self.advance(f),
                Action::Finish(f, outcome) => self.finish(f, outcome),
            }
            steps += 1;
            if steps.is_multiple_of(LOOK_EVERY_STEPS) && self.one_event_too_long(steps) {
                return self.cut_agenda();
            }
        }
    }

    /// Drops what is left of the agenda of an event that stops the run, counting the visits
    /// it refused (their ends among what is dropped) so that every arrival stays accounted for.
    #[cold]
    fn cut_agenda(&mut self) {
        for action in std::mem::take(&mut self.agenda) {
            if let Action::Finish(f, _) = action
                && let Some(visit) = self.visits.get(f.index())
                && visit.state == VisitState::Unplaced
                && visit.kind.of_the_service()
            {
                self.services[visit.service as usize].stats.refused_unended += 1;
            }
        }
    }

    /// Whether an event that has run `steps` agenda steps must stop the run, and why: too many
    /// visits and calls in flight (looked at every [`LOOK_EVERY_STEPS`] steps, so at most that
    /// many fan-outs past the limit), then, every [`CHECK_EVERY_STEPS`], too many steps, Ctrl-C
    /// or the wall clock.
    #[cold]
    #[inline(never)]
    fn one_event_too_long(&mut self, steps: u64) -> bool {
        if self.too_many_live() {
            return true;
        }
        if !steps.is_multiple_of(CHECK_EVERY_STEPS) {
            return false;
        }
        let why = if steps >= MAX_STEPS_IN_ONE_EVENT {
            format!(
                "one event at {} set off more than {MAX_STEPS_IN_ONE_EVENT} steps: retries without backoff or \
                 fan-outs multiply through the call graph (`tailsim check` shows the worst case), or messages go \
                 round a loop of topics in no time; give the retries a backoff, or fewer attempts, and a loop's \
                 consumers some work",
                self.now
            )
        } else {
            match self.stopped_from_outside() {
                Some(why) => why,
                None => return false,
            }
        };
        self.truncated = Some(why);
        true
    }

    /// Why the run must stop now for a reason from outside it, if it must: Ctrl-C, or its
    /// wall-clock limit. Asked between events and inside long events alike.
    fn stopped_from_outside(&self) -> Option<String> {
        if self.limits.stop.is_some_and(|stop| stop.load(Ordering::Relaxed)) {
            return Some(format!("interrupted at {}", self.now));
        }
        let max_wall = self.limits.max_wall.filter(|&wall| self.started.elapsed() >= wall)?;
        Some(format!(
            "the run reached its wall-clock limit of {:.1}s at {}; raise it with --max-wall-time",
            max_wall.as_secs_f64(),
            self.now
        ))
    }

    /// Whether more than [`World::max_live`] visits and calls are in flight; if so the run is
    /// truncated, saying so.
    #[cold]
    #[inline(never)]
    fn too_many_live(&mut self) -> bool {
        let live = (self.visits.len() + self.calls.len()) as u64;
        let messages = self.broker.as_ref().map_or(0, |b| b.held() as u64);
        if messages > self.limits.max_in_flight {
            if self.truncated.is_none() {
                self.truncated = Some(format!(
                    "{messages} messages were held by the broker at {}, more than the --max-in-flight limit of {}; \
                     a consumer group that cannot keep up grows its backlog without end (`tailsim check` shows each \
                     group's load): give the topic a `capacity`, or the group more consumers",
                    self.now, self.limits.max_in_flight
                ));
            }
            return true;
        }
        if live <= self.max_live {
            return false;
        }
        if self.truncated.is_none() {
            self.truncated = Some(format!(
                "{live} visits and calls were in flight at {}, more than the {} allowed ({LIVE_PER_REQUEST} per \
                 request of the --max-in-flight limit); fan-outs and retries multiply them (`tailsim check` shows \
                 the worst case)",
                self.now, self.max_live
            ));
        }
        true
    }

    #[cold]
    #[inline(never)]
    fn on_warmup_end(&mut self) {
        // Occupancies count only the part of each stay after the warm-up, so there is nothing
        // to reset for them; caches count from here on.
        for cache in &mut self.caches {
            cache.counting = true;
        }
        let now = self.now;
        for inst in &mut self.instances {
            inst.busy_at_warmup = inst.busy_integral(now);
        }
    }

    /// Why too many requests are in flight: the service with the longest queue.
    #[cold]
    #[inline(never)]
    fn overload_reason(&self) -> String {
        let worst = self
            .services
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.stats.queued.inside())
            .map(|(i, s)| (self.model.services[i].name.as_str(), s.stats.queued.inside()));
        let mut why = format!(
            "{} requests were in flight at {}, the limit (raise it with --max-in-flight)",
            self.requests.len(),
            self.now
        );
        if let Some((name, queued)) = worst {
            let load = tailsim_model::analysis::offered_load(self.model)
                .into_iter()
                .find(|l| l.service == name)
                .map(|l| l.offered_load)
                .unwrap_or(0.0);
            why.push_str(&format!("; service \"{name}\" had {queued} requests queued"));
            if load >= 1.0 {
                why.push_str(&format!(": its offered load is {:.0}% of capacity", load * 100.0));
            } else {
                why.push_str(": it cannot keep up with its offered load");
            }
        }
        why
    }

    /// A client request is answered.
    #[inline(always)]
    fn answer(&mut self, r: u32, outcome: Outcome) {
        let now = self.now;
        let request = self.requests.remove(r as usize);
        let client = &mut self.clients[request.client as usize];
        client.in_flight.leave(request.arrived, now, self.warmup_end);
        let latency = now - request.arrived;
        if now >= self.window_end {
            self.roll_windows();
        }
        if self.clients[request.client as usize].closed {
            self.schedule_think(request.client);
        }
        let window = self.window_index;
        let client = &mut self.clients[request.client as usize];
        match outcome {
            Outcome::Success => {
                self.succeeded_total += 1;
                client.series.succeeded[window] += 1;
                if request.counted {
                    client.succeeded += 1;
                    client.latency.record(latency);
                    client.window_latency.record(latency);
                    if let Some(recovery) = &mut self.recovery {
                        recovery.record(window, latency);
                    }
                }
            }
            Outcome::Failed(kind) => {
                self.failed_total += 1;
                let series = &mut client.series;
                series.failed[window] += 1;
                let cause = match kind {
                    FailureKind::Timeout => &mut series.timeout,
                    FailureKind::Rejected => &mut series.rejected,
                    FailureKind::Error => &mut series.error,
                    FailureKind::BreakerOpen
                    | FailureKind::Throttled
                    | FailureKind::BulkheadFull
                    | FailureKind::RateLimited
                    | FailureKind::NoConnection => &mut series.refused_locally,
                };
                cause[window] += 1;
                if request.counted {
                    match kind {
                        FailureKind::Rejected => client.failures.rejected += 1,
                        FailureKind::Timeout => client.failures.timeout += 1,
                        FailureKind::Error => client.failures.error += 1,
                        FailureKind::BreakerOpen => client.failures.breaker_open += 1,
                        FailureKind::Throttled => client.failures.throttled += 1,
                        FailureKind::BulkheadFull => client.failures.bulkhead_full += 1,
                        FailureKind::RateLimited => client.failures.rate_limited += 1,
                        FailureKind::NoConnection => client.failures.no_connection += 1,
                    }
                    client.failure_latency.record(latency);
                }
            }
        }
        if request.counted
            && let Some(stats) = client.classes.get_mut(usize::from(request.class_slot))
        {
            match outcome {
                Outcome::Success => {
                    stats.succeeded += 1;
                    stats.latency.record(latency);
                }
                Outcome::Failed(_) => {
                    stats.failed += 1;
                    stats.failure_latency.record(latency);
                }
            }
        }
    }
}
