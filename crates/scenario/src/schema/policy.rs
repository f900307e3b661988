//! A call's policy: timeouts, retries and their backoff and budget, circuit breaker, adaptive
//! throttling, hedging, bulkhead and rate limit.

use serde::{Deserialize, Serialize};

use super::{
    Duration, Losers, all_failures, cancel, count_100, half, hundred, one, one_f64, sixty_seconds, ten, ten_seconds,
    ten_u32, twenty_five, two, two_minutes,
};

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
