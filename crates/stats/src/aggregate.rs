//! Means and 95% confidence intervals across independent replications, by Student's t.
//!
//! Each replication gives one value of a statistic (a p99, a utilisation); replications are
//! independent by construction (separate random streams), so the usual t interval
//! `mean ± t(0.975, R-1) * s / sqrt(R)` applies.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::summary::{CacheSummary, LatencySummary, RunSummary};

/// A statistic's mean over replications with its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// Mean over replications.
    pub mean: f64,
    /// Half-width of the 95% confidence interval.
    pub ci95_half_width: f64,
    /// Number of replications that had a value.
    pub n: u32,
}

impl Estimate {
    /// The mean and 95% t-interval of `values`; `None` for fewer than two values.
    pub fn from_values(values: &[f64]) -> Option<Estimate> {
        let n = values.len();
        if n < 2 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).map(|dist| dist.inverse_cdf(0.975)).unwrap_or(f64::NAN);
        Some(Estimate { mean, ci95_half_width: t * (variance / n as f64).sqrt(), n: n as u32 })
    }

    /// Whether `value` lies inside the interval.
    pub fn contains(&self, value: f64) -> bool {
        (value - self.mean).abs() <= self.ci95_half_width
    }
}

/// Estimates of a latency distribution's summary statistics across replications.
#[derive(Clone, Debug, Serialize)]
pub struct LatencyEstimates {
    /// Mean latency.
    pub mean_ms: Option<Estimate>,
    /// Median.
    pub p50_ms: Option<Estimate>,
    /// 90th percentile.
    pub p90_ms: Option<Estimate>,
    /// 99th percentile.
    pub p99_ms: Option<Estimate>,
    /// 99.9th percentile.
    pub p999_ms: Option<Estimate>,
}

impl LatencyEstimates {
    fn from_runs<'a>(runs: impl Iterator<Item = &'a LatencySummary> + Clone) -> LatencyEstimates {
        let pick = |f: fn(&LatencySummary) -> Option<f64>| {
            let values: Vec<f64> = runs.clone().filter_map(f).collect();
            Estimate::from_values(&values)
        };
        LatencyEstimates {
            mean_ms: pick(|l| l.mean_ms),
            p50_ms: pick(|l| l.p50_ms),
            p90_ms: pick(|l| l.p90_ms),
            p99_ms: pick(|l| l.p99_ms),
            p999_ms: pick(|l| l.p999_ms),
        }
    }
}

/// A client's statistics across replications.
#[derive(Clone, Debug, Serialize)]
pub struct ClientAggregate {
    /// The client's name.
    pub name: String,
    /// Answered requests per second.
    pub throughput_per_s: Option<Estimate>,
    /// Successful requests per second.
    pub goodput_per_s: Option<Estimate>,
    /// Latency of successful requests.
    pub latency: LatencyEstimates,
}

/// A service's statistics across replications.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceAggregate {
    /// The service's name.
    pub name: String,
    /// Utilisation, 0 to 1.
    pub utilisation: Option<Estimate>,
    /// Mean total queue length.
    pub mean_queue_length: Option<Estimate>,
    /// Queue wait.
    pub queue_wait: LatencyEstimates,
    /// Time in the service.
    pub latency: LatencyEstimates,
}

/// A cache's statistics across replications.
#[derive(Clone, Debug, Serialize)]
pub struct CacheAggregate {
    /// The cache's name.
    pub name: String,
    /// The share of lookups answered from the cache (fresh or stale), 0 to 1.
    pub hit_ratio: Option<Estimate>,
    /// Fetches that reached the backend per measured second.
    pub fetches_per_s: Option<Estimate>,
    /// The most fetches of one key at once: the worst stampede of a replication.
    pub max_fetches_per_key: Option<Estimate>,
}

/// A consumer group's statistics across replications.
#[derive(Clone, Debug, Serialize)]
pub struct GroupAggregate {
    /// The topic it reads.
    pub topic: String,
    /// The consumer service's name.
    pub name: String,
    /// Messages consumed per measured second.
    pub consumed_per_s: Option<Estimate>,
    /// The time-averaged backlog.
    pub mean_backlog: Option<Estimate>,
    /// The largest backlog of a replication.
    pub max_backlog: Option<Estimate>,
    /// Publish to done.
    pub latency: LatencyEstimates,
}

impl GroupAggregate {
    /// Every group of every topic of `runs`, in the summary's order.
    fn from_runs(runs: &[RunSummary]) -> Vec<GroupAggregate> {
        let Some(first) = runs.first() else { return Vec::new() };
        let mut out = Vec::new();
        for (t, topic) in first.topics.iter().enumerate() {
            for (g, group) in topic.groups.iter().enumerate() {
                let groups: Vec<(f64, &crate::summary::GroupSummary)> = runs
                    .iter()
                    .filter_map(|r| r.topics.get(t).and_then(|t| t.groups.get(g)).map(|g| (r.measured_s, g)))
                    .collect();
                let values = |f: &dyn Fn(f64, &crate::summary::GroupSummary) -> f64| {
                    Estimate::from_values(&groups.iter().map(|(span, g)| f(*span, g)).collect::<Vec<_>>())
                };
                out.push(GroupAggregate {
                    topic: topic.name.clone(),
                    name: group.name.clone(),
                    consumed_per_s: values(&|span, g| if span > 0.0 { g.consumed as f64 / span } else { 0.0 }),
                    mean_backlog: values(&|_, g| g.mean_backlog),
                    max_backlog: values(&|_, g| g.max_backlog as f64),
                    latency: LatencyEstimates::from_runs(groups.iter().map(|(_, g)| &g.latency)),
                });
            }
        }
        out
    }
}

/// Every client's, service's and cache's statistics across replications.
#[derive(Clone, Debug, Serialize)]
pub struct Aggregate {
    /// One entry per client, in scenario order.
    pub clients: Vec<ClientAggregate>,
    /// One entry per service, in scenario order.
    pub services: Vec<ServiceAggregate>,
    /// One entry per cache, in file order (absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caches: Vec<CacheAggregate>,
    /// One entry per consumer group, topic by topic (absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupAggregate>,
    /// Cost per hour and per million successful requests (absent without prices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostAggregate>,
}

/// The cost of replications: means and 95% intervals.
#[derive(Clone, Debug, Serialize)]
pub struct CostAggregate {
    /// Money per hour.
    pub per_hour: Option<Estimate>,
    /// Money per million successful requests.
    pub per_million_successes: Option<Estimate>,
}

impl Aggregate {
    /// Aggregates two or more replications of the same scenario; `None` for fewer.
    pub fn from_runs(runs: &[RunSummary]) -> Option<Aggregate> {
        let first = runs.first()?;
        if runs.len() < 2 {
            return None;
        }
        let values = |f: &dyn Fn(&RunSummary) -> f64| -> Option<Estimate> {
            Estimate::from_values(&runs.iter().map(f).collect::<Vec<_>>())
        };
        let clients = first
            .clients
            .iter()
            .enumerate()
            .map(|(i, c)| ClientAggregate {
                name: c.name.clone(),
                throughput_per_s: values(&|r| r.clients[i].throughput_per_s),
                goodput_per_s: values(&|r| r.clients[i].goodput_per_s),
                latency: LatencyEstimates::from_runs(runs.iter().map(|r| &r.clients[i].latency)),
            })
            .collect();
        let services = first
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| ServiceAggregate {
                name: s.name.clone(),
                utilisation: values(&|r| r.services[i].utilisation),
                mean_queue_length: values(&|r| r.services[i].mean_queue_length),
                queue_wait: LatencyEstimates::from_runs(runs.iter().map(|r| &r.services[i].queue_wait)),
                latency: LatencyEstimates::from_runs(runs.iter().map(|r| &r.services[i].latency)),
            })
            .collect();
        let caches = first
            .caches
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let known = |f: &dyn Fn(&CacheSummary) -> Option<f64>| -> Option<Estimate> {
                    Estimate::from_values(&runs.iter().filter_map(|r| r.caches.get(i).and_then(f)).collect::<Vec<_>>())
                };
                CacheAggregate {
                    name: c.name.clone(),
                    hit_ratio: known(&|c| c.hit_ratio()),
                    fetches_per_s: values(&|r| {
                        let fetches = r.caches.get(i).map_or(0, CacheSummary::fetches);
                        if r.measured_s > 0.0 { fetches as f64 / r.measured_s } else { 0.0 }
                    }),
                    max_fetches_per_key: known(&|c| Some(f64::from(c.max_fetches_per_key))),
                }
            })
            .collect();
        let cost = first.cost.as_ref().map(|_| CostAggregate {
            per_hour: Estimate::from_values(
                &runs.iter().filter_map(|r| r.cost.as_ref().map(|c| c.per_hour)).collect::<Vec<_>>(),
            ),
            per_million_successes: Estimate::from_values(
                &runs.iter().filter_map(|r| r.cost.as_ref().and_then(|c| c.per_million_successes)).collect::<Vec<_>>(),
            ),
        });
        Some(Aggregate { clients, services, caches, groups: GroupAggregate::from_runs(runs), cost })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// t(0.975, 4) = 2.776445 (any t table); values 1..5 have mean 3 and s = sqrt(2.5).
    #[test]
    fn t_interval_matches_the_table() {
        let e = Estimate::from_values(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(e.mean, 3.0);
        let expected = 2.776_445 * (2.5f64 / 5.0).sqrt();
        assert!((e.ci95_half_width - expected).abs() < 1e-5, "{}", e.ci95_half_width);
        assert!(Estimate::from_values(&[1.0]).is_none());
    }
}
