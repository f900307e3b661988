//! The edges' run-time state: for each call edge of the model its stream, its policies' state
//! (retry budget, circuit breaker, adaptive throttling's window, hedging's observed latencies,
//! bulkhead pools, rate limiter) and its counts, built as a run starts.

use tailsim_engine::rng::stream;
use tailsim_engine::{RngStream, SimDuration, SimTime};
use tailsim_model::Model;
use tailsim_model::compile::HedgeDelay;
use tailsim_model::kinds::FailureKind;

use super::{hedge, retry};
use crate::breaker::Breaker;
use crate::bucket::Bucket;
use crate::ids::PoolId;

/// Buckets of the sliding windows of retry budgets and adaptive throttling.
pub(super) const WINDOW_BUCKETS: usize = 10;

/// Two counts over a sliding window of `WINDOW_BUCKETS` buckets: requests and retries for a
/// retry budget, requests and accepts for adaptive throttling.
pub(super) struct PairWindow {
    pub(super) bucket_ns: u64,
    /// Index of the newest bucket since the start of the run.
    pub(super) newest: u64,
    pub(super) counts: [[u64; 2]; WINDOW_BUCKETS],
}

impl PairWindow {
    pub(super) fn new(window: SimDuration) -> PairWindow {
        let bucket_ns = (window.as_nanos() / WINDOW_BUCKETS as u64).max(1);
        PairWindow { bucket_ns, newest: 0, counts: [[0; 2]; WINDOW_BUCKETS] }
    }

    /// Moves the window to `now`, emptying the buckets that fell out of it.
    pub(super) fn roll(&mut self, now: SimTime) {
        let current = now.as_nanos() / self.bucket_ns;
        if current.saturating_sub(self.newest) >= WINDOW_BUCKETS as u64 {
            self.counts = [[0; 2]; WINDOW_BUCKETS];
            self.newest = current;
        }
        while self.newest < current {
            self.newest += 1;
            self.counts[(self.newest % WINDOW_BUCKETS as u64) as usize] = [0; 2];
        }
    }

    /// Adds one to count `which` (0 or 1) at `now`.
    pub(super) fn add(&mut self, now: SimTime, which: usize) {
        self.roll(now);
        self.counts[(self.newest % WINDOW_BUCKETS as u64) as usize][which] += 1;
    }

    /// Both counts over the window ending at `now`.
    pub(super) fn sums(&mut self, now: SimTime) -> (u64, u64) {
        self.roll(now);
        self.counts.iter().fold((0, 0), |(a, b), c| (a + c[0], b + c[1]))
    }
}

#[derive(Default)]
pub(super) struct EdgeCounts {
    pub(super) calls: u64,
    pub(super) attempts: u64,
    pub(super) retries: u64,
    pub(super) denied: u64,
    pub(super) timeouts: u64,
    pub(super) deadlines: u64,
    pub(super) rejections: u64,
    pub(super) errors: u64,
    pub(super) succeeded: u64,
    pub(super) failed: u64,
    /// Attempts made by the calls that completed, for the amplification.
    pub(super) completed_attempts: u64,
    pub(super) breaker_rejections: u64,
    pub(super) throttled: u64,
    pub(super) hedges: u64,
    pub(super) hedges_won: u64,
    pub(super) bulkhead_full: u64,
    pub(super) rate_limited: u64,
    pub(super) no_connection: u64,
    pub(super) cancelled: u64,
}

impl EdgeCounts {
    /// Counts an attempt that came back failed: refused by the callee's queue, or an error.
    /// The other kinds are counted where they happen (timers, local checks).
    pub(super) fn record_answer_failure(&mut self, kind: FailureKind, counted: u64) {
        match kind {
            FailureKind::Rejected => self.rejections += counted,
            FailureKind::Error => self.errors += counted,
            FailureKind::Timeout
            | FailureKind::BreakerOpen
            | FailureKind::Throttled
            | FailureKind::BulkheadFull
            | FailureKind::RateLimited
            | FailureKind::NoConnection => {}
        }
    }
}

pub(super) struct EdgeState {
    pub(super) plain: bool,
    /// The service called, copied from the model to keep the hot path on one cache line
    /// (`u32::MAX` for an acknowledged publish, never plain).
    pub(super) target: u32,
    pub(super) rng: RngStream,
    pub(super) budget: Option<retry::Budget>,
    pub(super) breaker: Option<Breaker>,
    /// Adaptive throttling: requests (count 0) and accepts (count 1) over its window.
    pub(super) throttle: Option<PairWindow>,
    /// Observed call latencies, for hedging at a percentile.
    pub(super) observed: Option<hedge::Observed>,
    /// The edge's first bulkhead pool (`None`: no bulkhead); with one pool per
    /// instance of the caller, instance `k`'s is the `k`-th after it.
    pub(super) pools: Option<PoolId>,
    /// One pool per instance of the calling service.
    pub(super) per_instance: bool,
    /// The rate limiter's bucket.
    pub(super) rate_limit: Option<Bucket>,
    pub(super) counts: EdgeCounts,
}

/// The edges' state as a run starts; `pools` is each edge's first bulkhead pool.
pub(super) fn edges(model: &Model, seed: u64, rep: u64, pools: &[Option<PoolId>]) -> Vec<EdgeState> {
    // An edge's stream is named by its caller, its callee and its rank among the edges
    // between the two, so adding an edge elsewhere changes none of its numbers.
    let mut edges: Vec<EdgeState> = Vec::with_capacity(model.edges.len());
    for (i, e) in model.edges.iter().enumerate() {
        let per_instance = e.policy.bulkhead.is_some_and(|b| b.per_instance) && e.caller.is_some();
        let rank = model.edges[..i].iter().filter(|o| o.from == e.from && o.to == e.to).count();
        // A topic's name is marked, so that it never names a service's stream.
        let to = match e.service() {
            Some(_) => e.callee(model).to_string(),
            None => format!("topic:{}", e.callee(model)),
        };
        edges.push(EdgeState {
            // An acknowledged publish's attempts are appends: never the direct visit.
            plain: e.policy.is_plain() && e.service().is_some(),
            target: e.service().map_or(u32::MAX, |s| s.0),
            rng: stream(seed, rep, &format!("edge/{}->{to}#{rank}", e.from)),
            budget: e.policy.retry.as_ref().and_then(|r| r.budget.as_ref()).map(|b| retry::Budget::new(b.window)),
            breaker: e.policy.breaker.as_ref().map(|b| Breaker::new(b, SimTime::ZERO + model.warmup)),
            throttle: e.policy.throttle.map(|(_, window)| PairWindow::new(window)),
            pools: pools[i],
            per_instance,
            rate_limit: e.policy.rate_limit.as_ref().map(Bucket::full),
            observed: match e.policy.hedge.map(|h| h.delay) {
                Some(HedgeDelay::Quantile(q)) => Some(hedge::Observed::new(q)),
                _ => None,
            },
            counts: EdgeCounts::default(),
        });
    }
    edges
}
