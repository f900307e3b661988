//! What a design is judged by: its objectives (`slos`, each met, missed or undecided over the
//! replications) and the prices its resources cost.

use serde::{Deserialize, Serialize};

use super::Duration;

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
