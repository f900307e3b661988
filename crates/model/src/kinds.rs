//! The compiled model's small enums: how arrivals are spaced, how a queue is served, how a
//! retry waits, how a failure is named. Each is the twin of a file-format type of the same name
//! with the serde attributes and defaults left behind, so that a run reads only compiled types
//! and the file format can change its spelling without touching the runtime. Each `From` below
//! is the only place a twin is made from its file form; the twins' names and variants are the
//! file's, so `Debug` and the words of the summary stay the same.

use tailsim_engine::SimDuration;

use tailsim_scenario::schema;

/// How a client's requests are spaced in time (see [`schema::Arrivals`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Arrivals {
    /// Exponential gaps.
    #[default]
    Poisson,
    /// Equal gaps.
    Constant,
}

/// The order a queue is served in (see [`schema::Discipline`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Discipline {
    /// First come, first served.
    #[default]
    Fifo,
    /// Last come, first served, non-preemptive.
    Lifo,
    /// Highest class priority first, first come first served within one.
    Priority,
}

/// How a service's workers wait for calls (see [`schema::Concurrency`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Concurrency {
    /// A worker is held for the whole visit, calls included.
    #[default]
    ThreadPerRequest,
    /// A worker is held only while it works.
    Async,
}

/// The wait before a retry (see [`schema::Backoff`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Backoff {
    /// Retry immediately.
    #[default]
    None,
    /// Always the same wait.
    Constant(SimDuration),
    /// `base * 2^k` before retry k, capped, with `jitter`.
    Exponential {
        /// The first wait.
        base: SimDuration,
        /// The largest wait.
        cap: SimDuration,
        /// Randomisation of the wait.
        jitter: Jitter,
    },
}

/// Randomisation of exponential backoff (see [`schema::Jitter`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Jitter {
    /// The capped exponential wait itself.
    #[default]
    None,
    /// Uniform on `[0, wait]`.
    Full,
    /// Half the wait plus uniform on `[0, wait / 2]`.
    Equal,
    /// Uniform on `[base, 3 x previous wait]`, capped.
    Decorrelated,
}

/// The kinds of failure a call can end in (see [`schema::FailureKind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureKind {
    /// The attempt took longer than the timeout (or the deadline passed).
    Timeout,
    /// The server answered with an error.
    Error,
    /// A full queue refused the attempt (or the service was down).
    Rejected,
    /// The caller's circuit breaker was open.
    BreakerOpen,
    /// The caller's adaptive throttling refused the attempt.
    Throttled,
    /// The caller's bulkhead had no free place in time.
    BulkheadFull,
    /// The caller's rate limiter had no token.
    RateLimited,
    /// The caller's connection pool had no connection.
    NoConnection,
}

/// A circuit breaker's sliding window (see [`schema::BreakerWindow`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerWindow {
    /// The last `n` calls.
    Count(u32),
    /// The last `n` whole seconds.
    Time(u32),
}

/// What a rate limiter does with an attempt that finds no token (see [`schema::LimitMode`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LimitMode {
    /// Fail the attempt at once.
    #[default]
    Reject,
    /// Reserve the next token and wait for it.
    Delay,
}

/// A token bucket (see [`schema::RateLimit`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Tokens per second.
    pub rate: f64,
    /// The most tokens stored; the bucket starts full.
    pub burst: f64,
    /// What happens without a token.
    pub mode: LimitMode,
}

/// What a tenant of an admission limit is (see [`schema::Tenant`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tenant {
    /// The request's class.
    Class,
    /// The request's key.
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

/// How keys are placed on nodes (see [`schema::Routing`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Routing {
    /// `hash(key) mod n`.
    #[default]
    ModN,
    /// A consistent-hash ring with this many virtual nodes per node.
    Ring(u32),
    /// Contiguous key ranges.
    Range,
}

/// How a message picks its partition (see [`schema::PartitionBy`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PartitionBy {
    /// Uniformly at random.
    #[default]
    Random,
    /// In turn.
    RoundRobin,
    /// The request's key, hashed.
    Key,
}

/// What a publish to a full backlog does (see [`schema::WhenFull`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WhenFull {
    /// The publish fails.
    #[default]
    Refuse,
    /// The oldest waiting message is dropped.
    DropOldest,
    /// The publish waits for room.
    Block,
}

/// How a consumer group's messages are handed out (see [`schema::Delivery`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delivery {
    /// A partitioned log: one consumer per partition, in order.
    #[default]
    Log,
    /// A shared queue with a visibility timeout.
    Queue,
}

/// Each `From` maps a file-format enum onto its twin, variant by variant.
macro_rules! same_variants {
    ($($name:ident { $($variant:ident),* })*) => {$(
        impl From<schema::$name> for $name {
            fn from(value: schema::$name) -> $name {
                match value {
                    $(schema::$name::$variant => $name::$variant,)*
                }
            }
        }
    )*};
}

same_variants! {
    Arrivals { Poisson, Constant }
    Discipline { Fifo, Lifo, Priority }
    Concurrency { ThreadPerRequest, Async }
    Jitter { None, Full, Equal, Decorrelated }
    FailureKind { Timeout, Error, Rejected, BreakerOpen, Throttled, BulkheadFull, RateLimited, NoConnection }
    LimitMode { Reject, Delay }
    Tenant { Class, Key }
    PartitionBy { Random, RoundRobin, Key }
    WhenFull { Refuse, DropOldest, Block }
    Delivery { Log, Queue }
}

impl From<&schema::Backoff> for Backoff {
    fn from(value: &schema::Backoff) -> Backoff {
        match value {
            schema::Backoff::None => Backoff::None,
            schema::Backoff::Constant(wait) => Backoff::Constant(wait.0),
            schema::Backoff::Exponential { base, cap, jitter } => {
                Backoff::Exponential { base: base.0, cap: cap.0, jitter: (*jitter).into() }
            }
        }
    }
}

impl From<&schema::BreakerWindow> for BreakerWindow {
    fn from(value: &schema::BreakerWindow) -> BreakerWindow {
        match value {
            schema::BreakerWindow::Count(n) => BreakerWindow::Count(*n),
            schema::BreakerWindow::Time(n) => BreakerWindow::Time(*n),
        }
    }
}

impl From<&schema::RateLimit> for RateLimit {
    fn from(value: &schema::RateLimit) -> RateLimit {
        RateLimit { rate: value.rate, burst: value.burst, mode: value.mode.into() }
    }
}

impl From<schema::Routing> for Routing {
    fn from(value: schema::Routing) -> Routing {
        match value {
            schema::Routing::ModN => Routing::ModN,
            schema::Routing::Ring(vnodes) => Routing::Ring(vnodes),
            schema::Routing::Range => Routing::Range,
        }
    }
}
