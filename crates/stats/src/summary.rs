//! The stable shape of a run's results, serialised as `summary.json`. Field names carry their
//! units (`_ms`, `_s`, `_per_s`); a field added later never changes the meaning of one already
//! here. `docs/summary-json.md` documents every field.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;

/// The version of the `summary.json` schema; bumped only when a field changes meaning or goes.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything `tailsim run` reports: the scenario, every replication, and the aggregate across
/// replications when there is more than one.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The scenario's name.
    pub scenario: String,
    /// The master seed.
    pub seed: u64,
    /// Simulated time of each replication, warm-up included, in seconds.
    pub duration_s: f64,
    /// Warm-up excluded from every statistic, in seconds.
    pub warmup_s: f64,
    /// The number of independent replications.
    pub replications: u32,
    /// Why the first truncated replication stopped early, if any did.
    pub truncated: Option<String>,
    /// One summary per replication, in replication order.
    pub runs: Vec<RunSummary>,
    /// Means and 95% confidence intervals across replications (two or more).
    pub aggregate: Option<Aggregate>,
    /// The scenario's objectives and their verdicts over the replications (absent when it
    /// declares none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<crate::slo::SloVerdict>,
}

impl Report {
    /// The exit code the objectives call for: 0 when every one is met (or there are none),
    /// 4 when one is missed, 5 when none is missed but one is undecided.
    pub fn slo_code(&self) -> u8 {
        crate::slo::exit_code(&self.slos)
    }
}

/// The results of one replication.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSummary {
    /// The replication's index, from 0.
    pub replication: u32,
    /// The measured span (duration minus warm-up, or less when truncated), in seconds.
    pub measured_s: f64,
    /// Events processed, warm-up included.
    pub events: u64,
    /// Why the run stopped before its end, if it did.
    pub truncated: Option<String>,
    /// One entry per client, in scenario order.
    pub clients: Vec<ClientSummary>,
    /// One entry per service, in scenario order.
    pub services: Vec<ServiceSummary>,
    /// One entry per call edge: clients first, then `Call` steps in file order.
    pub edges: Vec<EdgeSummary>,
    /// One entry per fault: service by service, each service's in file order.
    pub faults: Vec<FaultSummary>,
    /// One entry per cache, in file order (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caches: Vec<CacheSummary>,
    /// One entry per topic, in file order (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<TopicSummary>,
    /// One entry per batcher (a `Batch` step), by service and then step order (absent when
    /// there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<BatchSummary>,
    /// The request count identity, checked at the end of the run.
    pub conservation: Conservation,
    /// What the run cost at the scenario's `prices` (absent when it has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::cost::CostSummary>,
}

/// End-to-end results of one client's requests that arrived after the warm-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientSummary {
    /// The client's name.
    pub name: String,
    /// The service it calls.
    pub target: String,
    /// Requests sent.
    pub arrivals: u64,
    /// Requests answered with success.
    pub succeeded: u64,
    /// Requests answered with a failure.
    pub failed: u64,
    /// Failures by cause.
    pub failures: Failures,
    /// Attempts per answered request (1 without retries): the retry amplification.
    pub attempts_per_request: f64,
    /// Requests still unanswered when the run ended.
    pub in_flight_at_end: u64,
    /// Answered requests (success or failure) per second.
    pub throughput_per_s: f64,
    /// Successful requests per second.
    pub goodput_per_s: f64,
    /// Latency of successful requests.
    pub latency: LatencySummary,
    /// Latency of failed requests (time until the failure was known).
    pub failure_latency: LatencySummary,
    /// Little's law over the client's requests in flight.
    pub littles_law: LittlesLaw,
    /// Answers per time window over the whole run, warm-up included.
    pub per_window: Series,
    /// The same, class by class, in the client's order; empty when it has no classes.
    pub classes: Vec<ClassSummary>,
    /// The distribution of `latency` in log-spaced buckets, for histograms and CDFs.
    pub latency_histogram: Distribution,
    /// The distribution of `failure_latency` in log-spaced buckets.
    pub failure_latency_histogram: Distribution,
}

/// End-to-end results of one request class of a client, after the warm-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClassSummary {
    /// The class's name.
    pub name: String,
    /// Its priority (larger is served first by `Priority` queues).
    pub priority: i32,
    /// Requests of the class sent.
    pub arrivals: u64,
    /// Answered with success.
    pub succeeded: u64,
    /// Answered with a failure.
    pub failed: u64,
    /// Latency of successful requests.
    pub latency: LatencySummary,
    /// Latency of failed requests.
    pub failure_latency: LatencySummary,
    /// The distribution of `latency` in log-spaced buckets, for histograms and CDFs.
    pub latency_histogram: Distribution,
    /// The distribution of `failure_latency` in log-spaced buckets.
    pub failure_latency_histogram: Distribution,
}

/// A latency distribution in log-spaced buckets: bucket `i` counts the latencies in
/// `[edges_ms[i], edges_ms[i + 1])`. Only the span from the first bucket with a count to the
/// last is kept (empty inside it stay, as zeros), so `counts` is short and bounded: at most
/// 20 buckets per factor of ten between the smallest and the largest latency.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Distribution {
    /// Buckets per factor of ten: edges are 10^(i / 20) ns, rounded to four significant digits.
    pub buckets_per_decade: u32,
    /// Bucket edges in milliseconds, one more than `counts`; empty when nothing was recorded.
    pub edges_ms: Vec<f64>,
    /// Latencies per bucket.
    pub counts: Vec<u64>,
}

/// A client's requests per fixed time window, from the start of the run; window `i` covers
/// `[i * window_s, (i + 1) * window_s)`. The last window may be partial.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Series {
    /// The window's width in seconds.
    pub window_s: f64,
    /// Requests sent per window.
    pub arrivals: Vec<u64>,
    /// Successful answers per window.
    pub succeeded: Vec<u64>,
    /// Failed answers per window.
    pub failed: Vec<u64>,
    /// Failed answers per window whose cause was a timeout or deadline.
    pub timeout: Vec<u64>,
    /// ... a refusal by the service (full queue, outage, shedding).
    pub rejected: Vec<u64>,
    /// ... an error answered by the service.
    pub error: Vec<u64>,
    /// ... a refusal by the client's own breaker, throttle, bulkhead or rate limiter.
    pub refused_locally: Vec<u64>,
    /// Median latency of the successful answers in the window, of requests sent after the
    /// warm-up; `null` for a window without any.
    pub p50_ms: Vec<Option<f64>>,
    /// 99th percentile, likewise.
    pub p99_ms: Vec<Option<f64>>,
}

impl Series {
    /// How many metrics a client's window has: rows of `timeseries.csv` per window, at most.
    pub const METRICS: usize = 9;

    /// Every per-window metric, in the order `timeseries.csv` lists them.
    pub fn metrics(&self) -> [Metric<'_>; Self::METRICS] {
        [
            Metric::counts("arrivals", &self.arrivals),
            Metric::counts("succeeded", &self.succeeded),
            Metric::counts("failed", &self.failed),
            Metric::counts("timeout", &self.timeout),
            Metric::counts("rejected", &self.rejected),
            Metric::counts("error", &self.error),
            Metric::counts("refused_locally", &self.refused_locally),
            Metric::new("p50_ms", Values::Maybe(Cow::Borrowed(&self.p50_ms))),
            Metric::new("p99_ms", Values::Maybe(Cow::Borrowed(&self.p99_ms))),
        ]
    }

    /// The per-window counts, each with one element per window (the open one included while
    /// a run goes on).
    pub fn counts_mut(&mut self) -> [&mut Vec<u64>; 7] {
        [
            &mut self.arrivals,
            &mut self.succeeded,
            &mut self.failed,
            &mut self.timeout,
            &mut self.rejected,
            &mut self.error,
            &mut self.refused_locally,
        ]
    }
}

/// A service's load per fixed time window (the windows of [`Series`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ServiceSeries {
    /// The window's width in seconds.
    pub window_s: f64,
    /// Visits that arrived per window.
    pub arrivals: Vec<u64>,
    /// Time-averaged busy workers over all workers, 0 to 1.
    pub utilisation: Vec<f64>,
    /// Time-averaged visits waiting in queues, all instances.
    pub mean_queue_length: Vec<f64>,
    /// Instances serving at the end of the window.
    pub instances: Vec<u32>,
    /// Under a CPU quota (`CpuQuota`): the share of instance-time spent throttled, 0 to 1;
    /// empty for a service never under one.
    pub throttled: Vec<f64>,
    /// A replicated service's reads that found a key whose last write had not reached the
    /// replica yet, per window (the warm-up's included); empty for other services.
    pub stale_reads: Vec<u64>,
}

impl ServiceSeries {
    /// How many metrics a service's window has: rows of `timeseries.csv` per window, at most.
    pub const METRICS: usize = 6;

    /// Every per-window metric, in the order `timeseries.csv` lists them.
    pub fn metrics(&self) -> [Metric<'_>; Self::METRICS] {
        [
            Metric::counts("arrivals", &self.arrivals),
            Metric::new("utilisation", Values::Gauges(Cow::Borrowed(&self.utilisation))),
            Metric::new("mean_queue_length", Values::Gauges(Cow::Borrowed(&self.mean_queue_length))),
            Metric::new("instances", Values::Instances(&self.instances)),
            Metric::new("throttled", Values::Gauges(Cow::Borrowed(&self.throttled))).sparse(),
            Metric::counts("stale_reads", &self.stale_reads).sparse(),
        ]
    }
}

/// The values of one per-window metric, one per window.
#[derive(Clone, Debug)]
pub enum Values<'a> {
    /// Counts of events in each window.
    Counts(&'a [u64]),
    /// Levels, shares and rates.
    Gauges(Cow<'a, [f64]>),
    /// Instances serving.
    Instances(&'a [u32]),
    /// Values that a window may lack (a percentile without answers, a ratio without lookups).
    Maybe(Cow<'a, [Option<f64>]>),
}

impl Values<'_> {
    /// Window `i`'s value as `timeseries.csv` writes it: `None` past the end of the series,
    /// an empty text for a window without a value.
    pub fn text(&self, i: usize) -> Option<String> {
        match self {
            Values::Counts(v) => v.get(i).map(u64::to_string),
            Values::Gauges(v) => v.get(i).map(f64::to_string),
            Values::Instances(v) => v.get(i).map(u32::to_string),
            Values::Maybe(v) => v.get(i).map(|x| x.map(|x| x.to_string()).unwrap_or_default()),
        }
    }
}

/// One per-window metric of a component's time series: declared once, with the series, so the
/// CSV writer lists every metric without naming any.
#[derive(Clone, Debug)]
pub struct Metric<'a> {
    /// Its name in `timeseries.csv`.
    pub name: &'static str,
    /// Its values.
    pub values: Values<'a>,
    /// Kept only by the components it applies to (empty for the others, which then have no
    /// rows for it); a metric that is not sparse has a row in every window, empty if need be.
    pub sparse: bool,
}

impl<'a> Metric<'a> {
    /// A metric named `name` with `values`.
    pub fn new(name: &'static str, values: Values<'a>) -> Metric<'a> {
        Metric { name, values, sparse: false }
    }

    /// A count per window.
    pub fn counts(name: &'static str, values: &'a [u64]) -> Metric<'a> {
        Metric::new(name, Values::Counts(values))
    }

    /// The metric, kept only by the components it applies to.
    pub fn sparse(self) -> Metric<'a> {
        Metric { sparse: true, ..self }
    }

    /// Window `i`'s row value: `None` when the metric has no row there.
    pub fn row(&self, i: usize) -> Option<String> {
        match self.values.text(i) {
            None if self.sparse => None,
            value => Some(value.unwrap_or_default()),
        }
    }
}

/// A topic's results: what was published to it after the warm-up, and each consumer group's
/// part.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TopicSummary {
    /// The topic's name.
    pub name: String,
    /// Its partitions.
    pub partitions: u32,
    /// Messages published and accepted.
    pub published: u64,
    /// Publishes refused because a backlog was full (`when_full: Refuse`).
    pub refused: u64,
    /// Appends that came due while its broker was down and waited for it to be back; only for
    /// a topic with a `BrokerOutage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage_held: Option<u64>,
    /// Appends of acknowledged publishes that the broker took after their producer had given
    /// up on them (a timeout, a deadline): each one a retry sends again is a duplicate. Only
    /// for a topic with acknowledged publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unacknowledged: Option<u64>,
    /// Each group reading it, in file order.
    pub groups: Vec<GroupSummary>,
}

/// One consumer group's results on one topic. Counts are of messages published after the
/// warm-up (and of deliveries of them), except `messages`, which covers the whole run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupSummary {
    /// The consumer service's name.
    pub name: String,
    /// `Log` or `Queue`.
    pub delivery: String,
    /// Deliveries: a message handed to a consumer, the first time or again.
    pub received: u64,
    /// Deliveries past a message's first (after a failure, or a visibility timeout).
    pub redeliveries: u64,
    /// Messages handled successfully (committed, or deleted), each once.
    pub consumed: u64,
    /// Successful deliveries of a message already consumed or dead-lettered (at-least-once).
    pub duplicates: u64,
    /// Deliveries whose handler failed.
    pub failed_deliveries: u64,
    /// Messages that reached `max_receives` without success, sent to the dead-letter topic (or
    /// dropped without one).
    pub dead_lettered: u64,
    /// Messages dropped from a full backlog to make room (`when_full: DropOldest`).
    pub dropped: u64,
    /// Rebalances (the group's consumers changed), for a group with a `rebalance_pause`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebalances: Option<u64>,
    /// Seconds the group handed out nothing for its rebalances, for a group with a
    /// `rebalance_pause`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_s: Option<f64>,
    /// Messages that waited in the backlog past their topic's `ttl` and were discarded unread;
    /// only for a topic with a `ttl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<u64>,
    /// Time from publish to the end of the successful handling of each consumed message.
    pub latency: LatencySummary,
    /// Time from the arrival of the client request whose handling published the message
    /// (through any topics before this one) to the end of its successful handling here: the
    /// request's asynchronous end-to-end latency.
    pub end_to_end: LatencySummary,
    /// Time a message waited in the backlog before its first delivery.
    pub wait: LatencySummary,
    /// The time-averaged backlog (messages published and waiting to be received) after the
    /// warm-up, and its largest value.
    pub mean_backlog: f64,
    /// The largest backlog after the warm-up.
    pub max_backlog: u64,
    /// Consumers (active instances) with no partition to read at the end: a `Log` group's
    /// consumers beyond the partition count.
    pub idle_consumers: u32,
    /// Every message given to this group over the whole run, and where each one is at its end.
    pub messages: MessageCount,
    /// A `Log` group's partitions, in order (empty for a `Queue` group, which has none).
    pub partitions: Vec<PartitionSummary>,
    /// The group's time series, warm-up included.
    pub series: GroupSeries,
}

/// One batcher's results: a `Batch` step of a service, over all its instances (each keeps its
/// own). Counts are of batches opened after the warm-up, and of the requests in them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchSummary {
    /// The service's name.
    pub service: String,
    /// The batcher's name within the service.
    pub name: String,
    /// Batches closed.
    pub batches: u64,
    /// Batches closed because they were full (`size` requests).
    pub full: u64,
    /// Batches closed by their `linger`, before they were full.
    pub lingered: u64,
    /// Requests in the batches closed.
    pub items: u64,
    /// `items / batches`: the mean batch size (0 with no batch).
    pub mean_size: f64,
    /// Batches run to their end.
    pub ran: u64,
    /// Batches whose steps failed (failing every request in them).
    pub failed: u64,
    /// Time from a request's arrival at the step to its batch's close.
    pub wait: LatencySummary,
    /// Time from a request's arrival at the step to the end of its batch's run: what the step
    /// adds to its latency.
    pub latency: LatencySummary,
}

/// One partition of a `Log` group: counts of messages published after the warm-up.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PartitionSummary {
    /// Messages it was given.
    pub published: u64,
    /// Messages handled successfully.
    pub consumed: u64,
    /// Messages waiting at the end.
    pub backlog: u64,
}

/// A consumer group's activity per window (the windows of [`Series`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GroupSeries {
    /// The window's width in seconds.
    pub window_s: f64,
    /// Messages the group was given per window.
    pub published: Vec<u64>,
    /// Messages handled successfully per window.
    pub consumed: Vec<u64>,
    /// Deliveries past a message's first per window.
    pub redelivered: Vec<u64>,
    /// The time-averaged backlog over each window.
    pub mean_backlog: Vec<f64>,
    /// The backlog at each window's end.
    pub backlog: Vec<u64>,
    /// How long the oldest message waiting at each window's end had waited since it was
    /// published, in seconds (0 with none waiting): the group's lag in time.
    pub oldest_s: Vec<f64>,
}

impl GroupSeries {
    /// How many metrics a group's window has: rows of `timeseries.csv` per window.
    pub const METRICS: usize = 6;

    /// Every per-window metric, in the order `timeseries.csv` lists them.
    pub fn metrics(&self) -> [Metric<'_>; Self::METRICS] {
        [
            Metric::counts("published", &self.published),
            Metric::counts("consumed", &self.consumed),
            Metric::counts("redelivered", &self.redelivered),
            Metric::new("mean_backlog", Values::Gauges(Cow::Borrowed(&self.mean_backlog))),
            Metric::counts("backlog", &self.backlog),
            Metric::new("oldest_s", Values::Gauges(Cow::Borrowed(&self.oldest_s))),
        ]
    }
}

/// The fate of every message a group was given over a whole run, warm-up included: `accepted`
/// equals the sum of the others, or a message was lost or made up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCount {
    /// Messages given to the group.
    pub accepted: u64,
    /// Handled successfully.
    pub consumed: u64,
    /// Dead-lettered.
    pub dead_lettered: u64,
    /// Dropped from a full backlog.
    pub dropped: u64,
    /// Expired in the backlog (its topic's `ttl`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub expired: u64,
    /// Waiting in the backlog at the end.
    pub waiting: u64,
    /// Received and not yet settled at the end.
    pub in_flight: u64,
}

impl MessageCount {
    /// Whether every accepted message is accounted for exactly once.
    pub fn balanced(&self) -> bool {
        self.accepted
            == self.consumed + self.dead_lettered + self.dropped + self.expired + self.waiting + self.in_flight
    }
}

/// Whether a count is zero: a field absent from the JSON when nothing happened.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A cache's results after the warm-up. A lookup finds a fresh entry (`hits`), a stale one
/// served under stale-while-revalidate (`stale`), or nothing: then it fetches (`misses`) or,
/// with single flight, waits for the fetch of the key already running (`coalesced`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CacheSummary {
    /// The cache's name.
    pub name: String,
    /// Lookups.
    pub lookups: u64,
    /// Lookups that found a fresh entry (XFetch's early refreshes included).
    pub hits: u64,
    /// Lookups answered with an expired entry (stale-while-revalidate).
    pub stale: u64,
    /// Lookups that found nothing and fetched the value themselves.
    pub misses: u64,
    /// Lookups that found nothing and waited for another's fetch (single flight).
    pub coalesced: u64,
    /// Hits that XFetch turned into a recompute before the expiry.
    pub early_refreshes: u64,
    /// Of those, the ones that began at least one recompute time (the entry's last fetch
    /// time) before the expiry: the refresh was done in time.
    pub early_ahead: u64,
    /// Background refreshes started by stale hits.
    pub background_refreshes: u64,
    /// Fetches that filled the cache.
    pub fills: u64,
    /// Fetches that failed, and so filled nothing.
    pub failed_fetches: u64,
    /// Entries evicted by LRU to make room.
    pub evictions: u64,
    /// `Invalidate` steps run.
    pub invalidations: u64,
    /// `Put` steps run.
    pub puts: u64,
    /// The most fetches of one key running at once: the size of the worst stampede.
    pub max_fetches_per_key: u32,
    /// Entries held at the end of the run, all stores.
    pub entries: u64,
    /// Each change of the number of nodes, with the share of keys it moved.
    pub resizes: Vec<CacheResize>,
    /// What happened to the cache at an instant (flushes, changes of nodes, key changes), in
    /// time order, warm-up included: the faults its charts mark.
    pub events: Vec<CacheEventSummary>,
    /// Lookups, hits and fetches per window, over the whole run (warm-up included).
    pub series: CacheSeries,
}

impl CacheSummary {
    /// The share of lookups answered from the cache, fresh or stale; `None` without lookups.
    pub fn hit_ratio(&self) -> Option<f64> {
        (self.lookups > 0).then(|| (self.hits + self.stale) as f64 / self.lookups as f64)
    }

    /// Fetches started: what reached the backend (misses, XFetch's early refreshes and
    /// stale-while-revalidate's background refreshes).
    pub fn fetches(&self) -> u64 {
        self.misses + self.early_refreshes + self.background_refreshes
    }
}

/// Something that happened to a cache at an instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheEventSummary {
    /// When, in seconds from the start of the run.
    pub at_s: f64,
    /// What: `flush`, `flush 30%` (a share of the entries), `nodes 10 -> 11`, `key change`.
    pub kind: String,
}

/// A change of the number of nodes keys are spread over: a cache's nodes, or a key-routed
/// service's shards.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CacheResize {
    /// When, in seconds.
    pub at_s: f64,
    /// Nodes before.
    pub from: u32,
    /// Nodes after.
    pub to: u32,
    /// The share of the clients' key space whose node changed.
    pub moved_fraction: f64,
}

/// A cache's activity per window (the windows of [`Series`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CacheSeries {
    /// The window's width in seconds.
    pub window_s: f64,
    /// Lookups per window.
    pub lookups: Vec<u64>,
    /// Lookups answered from the cache (fresh or stale) per window.
    pub hits: Vec<u64>,
    /// Of those, the answers with an expired entry (stale-while-revalidate) per window.
    pub stale: Vec<u64>,
    /// Fetches started per window: what reaches the backend.
    pub fetches: Vec<u64>,
}

impl CacheSeries {
    /// The share of each window's lookups answered from the cache, 0 to 1; `None` for a
    /// window without lookups.
    pub fn hit_ratio(&self) -> Vec<Option<f64>> {
        self.lookups.iter().zip(&self.hits).map(|(&n, &hits)| (n > 0).then(|| hits as f64 / n as f64)).collect()
    }

    /// The share of each window's lookups answered with a fresh entry, 0 to 1; `None` for a
    /// window without lookups.
    pub fn fresh_ratio(&self) -> Vec<Option<f64>> {
        let fresh = self.hits.iter().zip(&self.stale).map(|(&hits, &stale)| hits - stale);
        self.lookups.iter().zip(fresh).map(|(&n, fresh)| (n > 0).then(|| fresh as f64 / n as f64)).collect()
    }

    /// How many metrics a cache's window has: rows of `timeseries.csv` per window, at most.
    pub const METRICS: usize = 6;

    /// Every per-window metric, in the order `timeseries.csv` lists them, for a run that ends
    /// at `end_s`.
    pub fn metrics(&self, end_s: f64) -> [Metric<'_>; Self::METRICS] {
        [
            Metric::counts("lookups", &self.lookups),
            Metric::counts("hits", &self.hits),
            Metric::counts("stale", &self.stale),
            Metric::new("hit_ratio", Values::Maybe(Cow::Owned(self.hit_ratio()))),
            Metric::counts("fetches", &self.fetches),
            Metric::new("fetches_per_s", Values::Gauges(Cow::Owned(self.fetches_per_s(end_s)))),
        ]
    }

    /// Fetches per second in each window, over the window's own width: the last window of a
    /// run that ends at `end_s` (in seconds) may be cut short.
    pub fn fetches_per_s(&self, end_s: f64) -> Vec<f64> {
        self.fetches
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let start = i as f64 * self.window_s;
                let width = (start + self.window_s).min(end_s) - start;
                let width = if width > 0.0 { width } else { self.window_s };
                if width > 0.0 { n as f64 / width } else { f64::NAN }
            })
            .collect()
    }
}

/// What a service's per-tenant admission limit let in and turned away, after the warm-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdmissionSummary {
    /// What a tenant is: `class` or `key`.
    pub per: String,
    /// Requests admitted through the door.
    pub admitted: u64,
    /// Requests rejected at the door, their tenant's bucket empty (also in the service's
    /// `rejected`).
    pub rejected: u64,
    /// Per request class, for a limit per class: what each was admitted and refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<TenantCounts>,
}

/// One tenant's admissions and rejections.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TenantCounts {
    /// The tenant: a class name.
    pub name: String,
    /// Requests admitted.
    pub admitted: u64,
    /// Requests rejected.
    pub rejected: u64,
}

/// A replicated service's reads at its replicas, after the warm-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplicationSummary {
    /// Reads sent to a replica.
    pub replica_reads: u64,
    /// Of those, reads of a key whose last committed write the replica had not applied yet
    /// (the write's commit plus its replication lag was still ahead).
    pub stale_reads: u64,
}

/// A fault on the timeline and whether the system got over it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FaultSummary {
    /// The service affected.
    pub service: String,
    /// What happened: `slowdown x5`, `errors 50%`, `outage`, `crash`, `frozen 300ms every 10s`.
    pub kind: String,
    /// When it started, in seconds.
    pub start_s: f64,
    /// When it ended, in seconds (possibly after the run).
    pub end_s: f64,
    /// Whether it strikes now and then inside its window (pauses, a CPU quota) rather than
    /// all through it.
    pub periodic: bool,
    /// The instance it hits, or `null` for all.
    pub instance: Option<u32>,
    /// Goodput of all clients between the warm-up and the fault, per second; `null` if the
    /// fault starts before any window was measured.
    pub goodput_before_per_s: Option<f64>,
    /// Goodput in the last five complete windows of the run, per second.
    pub goodput_at_end_per_s: f64,
    /// The p99 of all clients' successful answers between the warm-up and the fault (the same
    /// windows as `goodput_before_per_s`), in milliseconds; `null` if there were none.
    pub p99_before_ms: Option<f64>,
    /// The p99 of all clients' successful answers in the last five complete windows of the run,
    /// in milliseconds; `null` if there were none (or fewer than five windows after the warm-up).
    pub p99_at_end_ms: Option<f64>,
    /// Seconds after the fault ended until, for five whole windows in a row, goodput was back
    /// within 10% of its level before the fault in each and their p99 (pooled) within 10% of
    /// the p99 before it; `null` if that never happened (a failure that outlives its trigger),
    /// or if goodput before the fault was zero.
    pub recovered_after_s: Option<f64>,
    /// Visits a crash lost (whenever they arrived, the warm-up included); 0 for other faults.
    pub lost: u64,
    /// A CPU quota's throttling, after the warm-up; `null` for other faults.
    pub throttling: Option<Throttling>,
}

/// How often a CPU quota throttled its instances, as the kernel's `cpu.stat` counts it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Throttling {
    /// Periods that ended, summed over the instances taking traffic (`nr_periods`).
    pub periods: u64,
    /// Those in which the quota ran out (`nr_throttled`).
    pub throttled_periods: u64,
    /// Time the instances spent throttled, in seconds (`throttled_time`).
    pub throttled_s: f64,
}

/// Failed requests by the cause the caller saw.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Failures {
    /// Refused by a full queue at the service called.
    pub rejected: u64,
    /// The caller's timeout or deadline ran out.
    pub timeout: u64,
    /// The service answered with an error (a `Fail` step, or a failed call of its own), or
    /// lost the request in a crash.
    pub error: u64,
    /// The client's own circuit breaker refused to send it.
    pub breaker_open: u64,
    /// The client's adaptive throttling refused to send it.
    pub throttled: u64,
    /// The client's bulkhead had no place for it in time.
    pub bulkhead_full: u64,
    /// The client's rate limiter had no token for it.
    pub rate_limited: u64,
    /// The client's connection pool had no connection: the service's `max_connections` were
    /// taken by other pools when it started.
    pub no_connection: u64,
}

impl Failures {
    /// Failed requests of every cause.
    pub fn total(&self) -> u64 {
        self.rejected
            + self.timeout
            + self.error
            + self.breaker_open
            + self.throttled
            + self.bulkhead_full
            + self.rate_limited
            + self.no_connection
    }
}

/// A circuit breaker changing state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BreakerTransition {
    /// When, in seconds from the start of the run.
    pub at_s: f64,
    /// The state left: `closed`, `open` or `half_open`.
    pub from: Cow<'static, str>,
    /// The state entered.
    pub to: Cow<'static, str>,
}

/// What happened on one call edge (a client's calls, or one `Call` step), over calls that
/// started after the warm-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EdgeSummary {
    /// The caller: a client's or a service's name.
    pub from: String,
    /// The service called, or the topic of an acknowledged publish.
    pub to: String,
    /// Whether `to` is a topic (its attempts are appends to the broker).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub to_topic: bool,
    /// Calls started.
    pub calls: u64,
    /// Attempts sent, first tries and retries.
    pub attempts: u64,
    /// Retries sent.
    pub retries: u64,
    /// Retries the budget refused.
    pub retries_denied_by_budget: u64,
    /// Attempts that ran past the timeout.
    pub timeouts: u64,
    /// Calls that ran past the deadline.
    pub deadlines_exceeded: u64,
    /// Attempts refused by a full queue.
    pub rejections: u64,
    /// Attempts answered with an error.
    pub errors: u64,
    /// Calls that ended in success.
    pub succeeded: u64,
    /// Calls that ended in failure.
    pub failed: u64,
    /// Attempts sent per completed call: the retry amplification.
    pub attempts_per_call: f64,
    /// Attempts the caller's circuit breaker refused (not sent, not counted in `attempts`).
    pub breaker_rejections: u64,
    /// Times the breaker opened.
    pub breaker_opens: u64,
    /// Seconds the breaker spent open after the warm-up.
    pub breaker_open_s: f64,
    /// Every state change of the breaker (the first 10,000), warm-up included.
    pub breaker_transitions: Vec<BreakerTransition>,
    /// The share of each time-series window the breaker spent open, 0 to 1 (warm-up included;
    /// empty without a breaker).
    pub breaker_open_per_window: Vec<f64>,
    /// Attempts adaptive throttling refused (not sent, not counted in `attempts`).
    pub throttled: u64,
    /// Hedges sent (extra calls on a `Call` step whose first call was slow).
    pub hedges: u64,
    /// Waits won by a hedge rather than by the first call.
    pub hedges_won: u64,
    /// Attempts the bulkhead refused: no place free, or none within `max_wait`.
    pub bulkhead_full: u64,
    /// Attempts the rate limiter refused (`Reject` mode).
    pub rate_limited: u64,
    /// Attempts refused because the caller's pool holds no connection (the service's
    /// `max_connections` were all taken when it started).
    pub no_connection: u64,
    /// Calls cancelled by their caller once its wait was decided without them (the losers of
    /// a hedge, a fan-out or a `Parallel` step with `losers: Cancel`); neither succeeded nor
    /// failed.
    pub cancelled: u64,
}

/// A service's load and latency, over visits that arrived after the warm-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceSummary {
    /// The service's name.
    pub name: String,
    /// Instances behind the load balancer.
    pub instances: u32,
    /// Workers per instance.
    pub workers: u32,
    /// Visits that arrived.
    pub arrivals: u64,
    /// Visits refused because the chosen instance's queue was full.
    pub rejected: u64,
    /// Visits that finished (with success or failure).
    pub completed: u64,
    /// Visits dropped from the queue because their caller had cancelled them.
    pub dropped: u64,
    /// Visits shed for waiting longer than the queue's `shed_after`: answered with a fast
    /// rejection when they reach the head, never served (not in `completed`).
    pub shed: u64,
    /// Visits lost in a crash of their instance (queued, running or waiting for calls): their
    /// callers got an error; not in `completed`.
    pub lost: u64,
    /// The most connections callers' pools may hold to the service (`max_connections`);
    /// `null`: no limit.
    pub max_connections: Option<u32>,
    /// The most connections the callers' pools held at once (0 without a limit).
    pub connections_peak: u32,
    /// Connections pools asked for when their instance started and did not get, the limit being
    /// reached (whenever they started, the warm-up included).
    pub connections_refused: u64,
    /// Worker-seconds spent on visits whose answer nobody used: when the visit finished, its
    /// caller, or a caller further up the chain, had already given up (timeout, deadline), or
    /// the visit was lost in a crash.
    /// Work that finished before the give-up is not counted, even if the answer it fed was
    /// later dropped.
    pub wasted_work_s: f64,
    /// Mean busy workers divided by all workers, 0 to 1.
    pub utilisation: f64,
    /// Time-averaged number of busy workers, all instances.
    pub mean_busy_workers: f64,
    /// Time-averaged number of visits waiting in queues, all instances.
    pub mean_queue_length: f64,
    /// The longest total queue seen after the warm-up.
    pub max_queue_length: u64,
    /// The fraction of admitted visits that had to wait for a worker (Erlang C's P(wait)).
    pub wait_probability: f64,
    /// Time from arrival at the service to getting a worker.
    pub queue_wait: LatencySummary,
    /// Time from arrival at the service to the end of its handler (downstream calls included).
    pub latency: LatencySummary,
    /// Little's law over visits in the service (queued or holding a worker).
    pub littles_law: LittlesLaw,
    /// Load per time window over the whole run, warm-up included.
    pub per_window: ServiceSeries,
    /// Visits that arrived at each instance after the warm-up, in instance order: how evenly
    /// the balancer spread them.
    pub instance_arrivals: Vec<u64>,
    /// Each instance's busy workers over its workers, time-averaged over the measured span
    /// (an instance that took traffic for part of it, under an autoscaler, reads lower).
    pub instance_utilisation: Vec<f64>,
    /// Each instance's mean time in the instance of the visits it served (queueing included),
    /// in milliseconds; `null` for an instance that finished none.
    pub instance_mean_latency_ms: Vec<Option<f64>>,
    /// Instances taking traffic, time-averaged after the warm-up (with an autoscaler it moves;
    /// without, it is `instances`).
    pub mean_instances: f64,
    /// Instance-seconds after the warm-up: the cost proxy.
    pub instance_seconds: f64,
    /// A key-routed service's changes of its number of shards (as it scaled), with the share of
    /// keys each moved (absent when there were none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resizes: Vec<CacheResize>,
    /// Visits stopped by the service's statement timeout (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_timeouts: Option<u64>,
    /// Reads and stale reads at the replicas of a replicated service (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<ReplicationSummary>,
    /// Its per-tenant admission limit's counts; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<AdmissionSummary>,
}

/// Mean, quantiles and maximum of a latency distribution; `null` when nothing was recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LatencySummary {
    /// The number of latencies recorded.
    pub count: u64,
    /// Exact mean.
    pub mean_ms: Option<f64>,
    /// Median.
    pub p50_ms: Option<f64>,
    /// 90th percentile.
    pub p90_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// 99.9th percentile.
    pub p999_ms: Option<f64>,
    /// Exact maximum.
    pub max_ms: Option<f64>,
}

/// The self-check L = lambda x W: the time-averaged number in the system against the arrival
/// rate times the mean time in the system. Far apart means the run is too short for its
/// warm-up, or the system is not in steady state (a queue still growing).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LittlesLaw {
    /// L: time-averaged number in the system.
    pub mean_in_system: f64,
    /// lambda: admitted arrivals per second.
    pub arrival_rate_per_s: f64,
    /// W: mean time in the system of finished visits, in seconds.
    pub mean_time_in_system_s: f64,
    /// lambda x W.
    pub predicted_in_system: f64,
    /// |L - lambda W| / L, or 0 when both are 0.
    pub relative_error: f64,
}

impl LittlesLaw {
    /// Builds the check from L, lambda and W.
    pub fn new(mean_in_system: f64, arrival_rate_per_s: f64, mean_time_in_system_s: f64) -> LittlesLaw {
        let predicted = arrival_rate_per_s * mean_time_in_system_s;
        let scale = mean_in_system.max(predicted);
        let relative_error = if scale > 0.0 { (mean_in_system - predicted).abs() / scale } else { 0.0 };
        LittlesLaw {
            mean_in_system,
            arrival_rate_per_s,
            mean_time_in_system_s,
            predicted_in_system: predicted,
            relative_error,
        }
    }
}

/// Conservation of requests over the whole run, warm-up included:
/// `arrived = succeeded + failed + in_flight`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Conservation {
    /// Client requests created.
    pub arrived: u64,
    /// Answered with success.
    pub succeeded: u64,
    /// Answered with failure.
    pub failed: u64,
    /// Live requests counted in the request table at the end.
    pub in_flight: u64,
    /// Whether the identity holds (and, checked with it, every visit is accounted at its service
    /// and every connection of a service with a limit is free or held by a pool).
    pub holds: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window without a percentile still has its row, empty; a sparse metric that a service
    /// does not keep has none; every metric of a series is listed once, by name.
    #[test]
    fn metrics_list_every_series_once_and_rows_follow_sparseness() {
        let clients = Series { p50_ms: vec![None, Some(2.5)], arrivals: vec![3, 4], ..Series::default() };
        let metrics = clients.metrics();
        let p50 = metrics.iter().find(|m| m.name == "p50_ms").expect("p50_ms");
        assert_eq!(
            (p50.row(0), p50.row(1), p50.row(2)),
            (Some(String::new()), Some("2.5".into()), Some(String::new()))
        );
        let names: std::collections::BTreeSet<&str> = metrics.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), metrics.len());

        let service = ServiceSeries { utilisation: vec![0.5], ..ServiceSeries::default() };
        let metrics = service.metrics();
        let throttled = metrics.iter().find(|m| m.name == "throttled").expect("throttled");
        assert_eq!(throttled.row(0), None, "no CPU quota, no rows");
        let arrivals = metrics.iter().find(|m| m.name == "arrivals").expect("arrivals");
        assert_eq!(arrivals.row(0), Some(String::new()));
    }
}
