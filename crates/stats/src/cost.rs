//! Cost in money: a scenario's prices (per instance-hour and per million requests of a
//! service, per node-hour of a shared cache) applied to what a run measured, so the
//! instance-seconds an autoscaler spends become money; and to a design's offered load, for
//! `check`'s static cost.

use serde::{Deserialize, Serialize};

use crate::summary::RunSummary;

/// One priced part of the design.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// The service's or cache's name.
    pub name: String,
    /// What is priced.
    pub part: Part,
    /// Money per instance-hour (a service) or node-hour (a cache).
    pub per_hour: f64,
    /// Money per million visits that arrive at a service (managed services).
    pub per_million_requests: f64,
}

/// The part of the design a price is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Part {
    /// Service `index`: its instances, as it runs them.
    Service(usize),
    /// A shared cache of `nodes` nodes.
    Cache {
        /// The nodes it runs on.
        nodes: u32,
    },
}

/// What a run cost: `cost` in `summary.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostSummary {
    /// Money over the measured span (after the warm-up).
    pub total: f64,
    /// Money per hour: `total` over the measured hours.
    pub per_hour: f64,
    /// Money per million successful requests of all clients; `null` without any.
    pub per_million_successes: Option<f64>,
    /// Each priced part's money over the measured span, in the order of `prices`.
    pub parts: Vec<PartCost>,
}

/// One part's share of the cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartCost {
    /// The service's or cache's name.
    pub name: String,
    /// Its money over the measured span.
    pub total: f64,
}

/// What `run` cost at `prices`; `None` without prices.
pub fn summarize(prices: &[Price], run: &RunSummary) -> Option<CostSummary> {
    if prices.is_empty() {
        return None;
    }
    let hours = run.measured_s / 3600.0;
    let parts: Vec<PartCost> = prices
        .iter()
        .map(|p| {
            let total = match p.part {
                Part::Service(i) => run.services.get(i).map_or(0.0, |s| {
                    s.instance_seconds / 3600.0 * p.per_hour + s.arrivals as f64 / 1e6 * p.per_million_requests
                }),
                Part::Cache { nodes } => f64::from(nodes) * hours * p.per_hour,
            };
            PartCost { name: p.name.clone(), total }
        })
        .collect();
    let total: f64 = parts.iter().map(|p| p.total).sum();
    let successes: u64 = run.clients.iter().map(|c| c.succeeded).sum();
    Some(CostSummary {
        total,
        per_hour: if hours > 0.0 { total / hours } else { 0.0 },
        per_million_successes: (successes > 0).then(|| total / (successes as f64 / 1e6)),
        parts,
    })
}

/// The cost per hour of a design at its offered load: every service's configured instances
/// for the hour, `visits_per_s[i]` visits a second at service `i`, and every cache's nodes.
pub fn static_per_hour(prices: &[Price], instances: &[u32], visits_per_s: &[f64]) -> f64 {
    prices
        .iter()
        .map(|p| match p.part {
            Part::Service(i) => {
                let n = f64::from(instances.get(i).copied().unwrap_or(0));
                n * p.per_hour + visits_per_s.get(i).copied().unwrap_or(0.0) * 3600.0 / 1e6 * p.per_million_requests
            }
            Part::Cache { nodes } => f64::from(nodes) * p.per_hour,
        })
        .sum()
}
