//! Faults: what goes wrong with a service or a topic's broker, from when and for how long.

use serde::{Deserialize, Serialize};

use super::{Duration, forever, hundred_ms, one_f64};

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
    /// A topic's broker is down: appends that come due inside the window (fire and forget,
    /// or acknowledged) are held by their producers and taken when it is back, and its
    /// consumers receive nothing until then (deliveries under way carry on).
    BrokerOutage {
        /// The topic.
        topic: String,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        duration: Duration,
    },
    /// A topic's broker is slow: appends started inside the window take `factor` times their
    /// append latency.
    BrokerSlowdown {
        /// The topic.
        topic: String,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        duration: Duration,
        /// The multiplier of the append latency, e.g. 10.0.
        factor: f64,
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
