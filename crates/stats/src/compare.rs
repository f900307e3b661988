//! Comparing designs (`tailsim compare`): each variant's statistics with 95% intervals, and its
//! difference to the first variant as a paired t-interval.
//!
//! Replication `i` of every variant draws from the same random streams (they are keyed by seed,
//! replication and component name), so the arrivals and service draws are shared: common random
//! numbers. The differences `d_i = x_i(variant) - x_i(first)` then cancel most of the noise that
//! the two runs share, and `mean(d) ± t(0.975, n-1) s_d / sqrt(n)` is the paired interval. A
//! difference is *significant* when that interval excludes zero.
//!
//! The types are plain data: they serialise as `compare.json`, and `tailsim-report` draws the
//! compare charts and the terminal tables from them.

use serde::{Deserialize, Serialize};

use crate::aggregate::Estimate;
use crate::slo::SloVerdict;
use crate::summary::{Distribution, RunSummary};
use crate::timeline::{Band, Marker};

/// The version of the `compare.json` schema; bumped only when a field changes meaning or goes.
pub const COMPARE_SCHEMA_VERSION: u32 = 1;

/// A statistic compared between variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Median latency of the client's successful requests, ms.
    P50,
    /// 99th percentile, ms.
    P99,
    /// 99.9th percentile, ms.
    P999,
    /// Successful requests per second, all clients.
    Goodput,
    /// Failed requests per second, all clients.
    Errors,
    /// Instances x measured seconds, all services: a proxy for what the design costs.
    InstanceSeconds,
    /// The share of the compared cache's lookups answered from it (fresh or stale), 0 to 1.
    CacheHitRatio,
    /// The most fetches of one key of the compared cache at once: the worst stampede.
    MaxFetchesPerKey,
    /// Money per hour at the scenario's `prices`.
    CostPerHour,
    /// Money per million successful requests.
    CostPerMillion,
}

impl Metric {
    /// Every metric, in table order.
    pub const ALL: [Metric; 10] = [
        Metric::P50,
        Metric::P99,
        Metric::P999,
        Metric::Goodput,
        Metric::Errors,
        Metric::InstanceSeconds,
        Metric::CacheHitRatio,
        Metric::MaxFetchesPerKey,
        Metric::CostPerHour,
        Metric::CostPerMillion,
    ];

    /// The field name in `compare.json`.
    pub fn key(self) -> &'static str {
        match self {
            Metric::P50 => "p50_ms",
            Metric::P99 => "p99_ms",
            Metric::P999 => "p999_ms",
            Metric::Goodput => "goodput_per_s",
            Metric::Errors => "errors_per_s",
            Metric::InstanceSeconds => "instance_s",
            Metric::CacheHitRatio => "cache_hit_ratio",
            Metric::MaxFetchesPerKey => "max_fetches_per_key",
            Metric::CostPerHour => "cost_per_hour",
            Metric::CostPerMillion => "cost_per_million_successes",
        }
    }

    /// The column header in the terminal table.
    pub fn label(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P99 => "p99",
            Metric::P999 => "p99.9",
            Metric::Goodput => "goodput/s",
            Metric::Errors => "errors/s",
            Metric::InstanceSeconds => "instance-s",
            Metric::CacheHitRatio => "hit ratio",
            Metric::MaxFetchesPerKey => "fetches/key",
            Metric::CostPerHour => "cost/h",
            Metric::CostPerMillion => "cost/1M ok",
        }
    }

    /// Whether the metric is a latency, in milliseconds.
    pub fn is_latency(self) -> bool {
        matches!(self, Metric::P50 | Metric::P99 | Metric::P999)
    }

    /// Whether it is a cost (`null` without prices).
    pub fn is_cost(self) -> bool {
        matches!(self, Metric::CostPerHour | Metric::CostPerMillion)
    }

    /// Whether it is a statistic of the compared cache (`null` without one).
    pub fn is_cache(self) -> bool {
        matches!(self, Metric::CacheHitRatio | Metric::MaxFetchesPerKey)
    }
}

/// One value per [`Metric`], by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricSet<T> {
    /// [`Metric::P50`].
    pub p50_ms: T,
    /// [`Metric::P99`].
    pub p99_ms: T,
    /// [`Metric::P999`].
    pub p999_ms: T,
    /// [`Metric::Goodput`].
    pub goodput_per_s: T,
    /// [`Metric::Errors`].
    pub errors_per_s: T,
    /// [`Metric::InstanceSeconds`].
    pub instance_s: T,
    /// [`Metric::CacheHitRatio`].
    pub cache_hit_ratio: T,
    /// [`Metric::MaxFetchesPerKey`].
    pub max_fetches_per_key: T,
    /// [`Metric::CostPerHour`].
    pub cost_per_hour: T,
    /// [`Metric::CostPerMillion`].
    pub cost_per_million_successes: T,
}

impl<T> MetricSet<T> {
    /// Builds a set from a function of the metric.
    pub fn from_fn(mut f: impl FnMut(Metric) -> T) -> MetricSet<T> {
        MetricSet {
            p50_ms: f(Metric::P50),
            p99_ms: f(Metric::P99),
            p999_ms: f(Metric::P999),
            goodput_per_s: f(Metric::Goodput),
            errors_per_s: f(Metric::Errors),
            instance_s: f(Metric::InstanceSeconds),
            cache_hit_ratio: f(Metric::CacheHitRatio),
            max_fetches_per_key: f(Metric::MaxFetchesPerKey),
            cost_per_hour: f(Metric::CostPerHour),
            cost_per_million_successes: f(Metric::CostPerMillion),
        }
    }

    /// The value of one metric.
    pub fn get(&self, metric: Metric) -> &T {
        match metric {
            Metric::P50 => &self.p50_ms,
            Metric::P99 => &self.p99_ms,
            Metric::P999 => &self.p999_ms,
            Metric::Goodput => &self.goodput_per_s,
            Metric::Errors => &self.errors_per_s,
            Metric::InstanceSeconds => &self.instance_s,
            Metric::CacheHitRatio => &self.cache_hit_ratio,
            Metric::MaxFetchesPerKey => &self.max_fetches_per_key,
            Metric::CostPerHour => &self.cost_per_hour,
            Metric::CostPerMillion => &self.cost_per_million_successes,
        }
    }
}

/// One replication's values: latency of client `client` (`None` when none of its requests
/// succeeded), rates of all clients, cost of all services, and the hit ratio and largest
/// stampede of the cache named `cache` (`None` when the run has no such cache; the hit ratio
/// is also `None` when the cache had no lookups).
pub fn run_metrics(run: &RunSummary, client: usize, cache: Option<&str>) -> MetricSet<Option<f64>> {
    let latency = run.clients.get(client).map(|c| &c.latency);
    let goodput: f64 = run.clients.iter().map(|c| c.goodput_per_s).sum();
    // From the count, not throughput minus goodput, so that no failures is exactly zero.
    let failed: u64 = run.clients.iter().map(|c| c.failed).sum();
    let errors = if run.measured_s > 0.0 { failed as f64 / run.measured_s } else { 0.0 };
    let instance_seconds: f64 = run.services.iter().map(|s| s.instance_seconds).sum();
    let cache = cache.and_then(|name| run.caches.iter().find(|c| c.name == name));
    MetricSet::from_fn(|m| match m {
        Metric::P50 => latency.and_then(|l| l.p50_ms),
        Metric::P99 => latency.and_then(|l| l.p99_ms),
        Metric::P999 => latency.and_then(|l| l.p999_ms),
        Metric::Goodput => Some(goodput),
        Metric::Errors => Some(errors),
        Metric::InstanceSeconds => Some(instance_seconds),
        Metric::CacheHitRatio => cache.and_then(|c| c.hit_ratio()),
        Metric::MaxFetchesPerKey => cache.map(|c| f64::from(c.max_fetches_per_key)),
        Metric::CostPerHour => run.cost.as_ref().map(|c| c.per_hour),
        Metric::CostPerMillion => run.cost.as_ref().and_then(|c| c.per_million_successes),
    })
}

/// A variant's difference to the first variant over the replications where both have a value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// Mean of the paired differences (this variant minus the first).
    pub mean: f64,
    /// Half-width of the 95% paired t-interval.
    pub ci95_half_width: f64,
    /// Pairs used.
    pub n: u32,
    /// `mean` over the first variant's mean on the same pairs; `null` when that is zero.
    pub relative: Option<f64>,
    /// Whether the interval excludes zero.
    pub significant: bool,
}

impl Difference {
    /// The paired difference `variant - first`, over replications where both are known;
    /// `None` with fewer than two pairs.
    pub fn paired(first: &[Option<f64>], variant: &[Option<f64>]) -> Option<Difference> {
        let pairs: Vec<(f64, f64)> = first.iter().zip(variant).filter_map(|(a, b)| Some(((*a)?, (*b)?))).collect();
        let differences: Vec<f64> = pairs.iter().map(|(a, b)| b - a).collect();
        let estimate = Estimate::from_values(&differences)?;
        let first_mean = pairs.iter().map(|(a, _)| a).sum::<f64>() / pairs.len() as f64;
        Some(Difference {
            mean: estimate.mean,
            ci95_half_width: estimate.ci95_half_width,
            n: estimate.n,
            relative: (first_mean != 0.0).then(|| estimate.mean / first_mean),
            significant: estimate.ci95_half_width.is_finite() && estimate.mean.abs() > estimate.ci95_half_width,
        })
    }
}

/// One variant's results.
#[derive(Clone, Debug, Serialize)]
pub struct VariantResult {
    /// The variant's name (`base` for a scenario's own design).
    pub name: String,
    /// Why its first truncated replication stopped early, if any did.
    pub truncated: Option<String>,
    /// Mean and 95% interval of each metric across replications.
    pub estimates: MetricSet<Option<Estimate>>,
    /// The paired difference to the first variant; `null` for the first itself.
    pub vs_first: Option<MetricSet<Option<Difference>>>,
    /// Each replication's values, in replication order (for charts).
    pub runs: Vec<MetricSet<Option<f64>>>,
    /// Each client's latency distribution and time series, in the variant's client order.
    pub clients: Vec<VariantClient>,
    /// What its time charts shade: the warm-up, and the faults of its first replication.
    pub bands: Vec<Band>,
    /// The instants its time charts mark: its first replication's cache events.
    pub markers: Vec<Marker>,
    /// Its objectives' verdicts over its replications (absent when it has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<SloVerdict>,
}

/// What the compare charts draw of one client of one variant.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VariantClient {
    /// The client's name.
    pub name: String,
    /// The latencies of its successful requests, every replication pooled.
    pub latency_histogram: Distribution,
    /// The width of a time-series window, in seconds.
    pub window_s: f64,
    /// Successful answers per second in each window of the first replication.
    pub goodput_per_s: Vec<f64>,
    /// The 99th percentile latency of successes in each window of the first replication;
    /// `null` for a window without any.
    pub p99_ms: Vec<Option<f64>>,
}

impl VariantClient {
    /// A client's time series from one replication, its distribution still to be pooled.
    pub fn of_run(run: &RunSummary) -> Vec<VariantClient> {
        run.clients
            .iter()
            .map(|c| {
                let w = &c.per_window;
                let rate = |n: &u64| if w.window_s > 0.0 { *n as f64 / w.window_s } else { 0.0 };
                VariantClient {
                    name: c.name.clone(),
                    latency_histogram: Distribution::default(),
                    window_s: w.window_s,
                    goodput_per_s: w.succeeded.iter().map(rate).collect(),
                    p99_ms: w.p99_ms.clone(),
                }
            })
            .collect()
    }
}

/// Everything `tailsim compare` reports; serialised as `compare.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// [`COMPARE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The first variant's scenario name.
    pub scenario: String,
    /// The master seed every variant ran with.
    pub seed: u64,
    /// Replications per variant.
    pub replications: u32,
    /// The client whose latency is compared.
    pub client: String,
    /// The cache whose hit ratio and largest stampede are compared: the first variant's first
    /// cache; `null` when it has none.
    pub cache: Option<String>,
    /// Why the first truncated run stopped early, if any did.
    pub truncated: Option<String>,
    /// The variants in order; differences are to the first.
    pub variants: Vec<VariantResult>,
}

/// One variant's input to [`Comparison::new`].
#[derive(Clone, Debug, Default)]
pub struct VariantRuns {
    /// The variant's name.
    pub name: String,
    /// Each replication's values, in replication order.
    pub runs: Vec<MetricSet<Option<f64>>>,
    /// Why a run was truncated, if one was.
    pub truncated: Option<String>,
    /// Its clients' charts' data ([`VariantClient`]), distributions pooled.
    pub clients: Vec<VariantClient>,
    /// What its time charts shade.
    pub bands: Vec<Band>,
    /// The instants its time charts mark.
    pub markers: Vec<Marker>,
    /// Its objectives' verdicts.
    pub slos: Vec<SloVerdict>,
}

impl Comparison {
    /// Estimates and paired differences of the variants' runs, whose latency is `client`'s and
    /// whose cache statistics are `cache`'s.
    pub fn new(scenario: &str, seed: u64, client: &str, cache: Option<&str>, variants: Vec<VariantRuns>) -> Comparison {
        let replications = variants.first().map_or(0, |v| v.runs.len() as u32);
        let column = |runs: &[MetricSet<Option<f64>>], m: Metric| -> Vec<Option<f64>> {
            runs.iter().map(|r| *r.get(m)).collect()
        };
        let first_runs = variants.first().map(|v| v.runs.clone()).unwrap_or_default();
        let results: Vec<VariantResult> = variants
            .into_iter()
            .enumerate()
            .map(|(i, VariantRuns { name, runs, truncated, clients, bands, markers, slos })| {
                let estimates = MetricSet::from_fn(|m| {
                    let values: Vec<f64> = column(&runs, m).into_iter().flatten().collect();
                    Estimate::from_values(&values)
                });
                let vs_first = (i > 0)
                    .then(|| MetricSet::from_fn(|m| Difference::paired(&column(&first_runs, m), &column(&runs, m))));
                VariantResult { name, truncated, estimates, vs_first, runs, clients, bands, markers, slos }
            })
            .collect();
        Comparison {
            schema_version: COMPARE_SCHEMA_VERSION,
            scenario: scenario.to_string(),
            seed,
            replications,
            client: client.to_string(),
            cache: cache.map(str::to_string),
            truncated: results.iter().find_map(|v| v.truncated.clone()),
            variants: results,
        }
    }

    /// The exit code the variants' objectives call for: 4 when a variant misses one, else 5
    /// when one is undecided, else 0.
    pub fn slo_code(&self) -> u8 {
        let all: Vec<SloVerdict> = self.variants.iter().flat_map(|v| v.slos.iter().cloned()).collect();
        crate::slo::exit_code(&all)
    }

    /// The comparison as pretty-printed JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("a comparison always serialises");
        json.push('\n');
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_differences_cancel_shared_noise() {
        // Noise shared by the pair (±50) cancels; the paired differences are 10, 11, 9, 10, 10:
        // mean 10, s = sqrt(0.5), t(0.975, 4) = 2.776445.
        let first = [Some(100.0), Some(150.0), Some(50.0), Some(120.0), Some(80.0)];
        let second = [Some(110.0), Some(161.0), Some(59.0), Some(130.0), Some(90.0)];
        let d = Difference::paired(&first, &second).unwrap();
        assert!((d.mean - 10.0).abs() < 1e-12);
        assert!((d.ci95_half_width - 2.776_445 * (0.5f64 / 5.0).sqrt()).abs() < 1e-5);
        assert!(d.significant);
        assert!((d.relative.unwrap() - 0.1).abs() < 1e-12);
        // Equal values: a zero difference with a zero interval is not significant.
        let same = Difference::paired(&first, &first).unwrap();
        assert_eq!((same.mean, same.ci95_half_width, same.significant), (0.0, 0.0, false));
        // Pairs with a missing side are left out.
        let gappy = [None, Some(161.0), Some(59.0), Some(130.0), None];
        assert_eq!(Difference::paired(&first, &gappy).unwrap().n, 3);
        assert!(Difference::paired(&first[..1], &second[..1]).is_none());
    }
}
