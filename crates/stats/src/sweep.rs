//! Parameter sweeps (`tailsim sweep`): one [`SweepPoint`] per point of the grid, with the
//! simulated statistics and, where the busiest queue is M/M/c-like, the analytic M/M/c values
//! beside them, so a chart can lay the theory's hockey stick over the simulated one.
//! [`Sweep::csv`] gives `sweep.csv`; `tailsim-report` draws the charts and the terminal table.

use serde::{Deserialize, Serialize};

use crate::aggregate::Estimate;
use crate::format::csv_field;
use crate::summary::RunSummary;

/// A statistic over a point's replications: the mean, and the 95% interval's half-width when
/// there were two or more.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stat {
    /// Mean over the replications that had a value.
    pub mean: f64,
    /// Half-width of the 95% Student-t interval; `None` for a single replication.
    pub ci95_half_width: Option<f64>,
    /// Replications that had a value.
    pub n: u32,
}

impl Stat {
    /// The mean (and interval) of `values`; `None` when there are none.
    pub fn from_values(values: &[f64]) -> Option<Stat> {
        match values {
            [] => None,
            [one] => Some(Stat { mean: *one, ci95_half_width: None, n: 1 }),
            _ => Estimate::from_values(values).map(|e| Stat {
                mean: e.mean,
                ci95_half_width: Some(e.ci95_half_width),
                n: e.n,
            }),
        }
    }
}

/// The analytic M/M/c response time of a service, to set beside the simulated one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MmcTheory {
    /// The service's index in the scenario.
    pub service_index: usize,
    /// The service's name.
    pub service: String,
    /// Its workers, c.
    pub workers: u32,
    /// Erlang C's mean response time (queue wait plus service), ms.
    pub mean_ms: f64,
    /// The 99th percentile of the response time, ms.
    pub p99_ms: f64,
}

/// An M/M/c-like service's analytic and simulated response times at one point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MmcPoint {
    /// The theory.
    pub theory: MmcTheory,
    /// Simulated mean time in the service, ms.
    pub simulated_mean_ms: Option<Stat>,
    /// Simulated 99th percentile of the time in the service, ms.
    pub simulated_p99_ms: Option<Stat>,
}

/// The busiest service at a point, by offered load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Busiest {
    /// The service's index in the scenario.
    pub service_index: usize,
    /// The service's name.
    pub service: String,
    /// Its offered load (`tailsim check`): a lower bound on its utilisation; 1 or more is
    /// overload.
    pub offered_load: f64,
}

/// One point of a sweep: the parameter values and what the runs there measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepPoint {
    /// The value of each parameter, in the order of [`Sweep::params`].
    pub values: Vec<f64>,
    /// The busiest service and its offered load.
    pub busiest: Busiest,
    /// The busiest service's simulated utilisation, 0 to 1.
    pub utilisation: Option<Stat>,
    /// Mean latency of the client's successful requests, ms.
    pub mean_ms: Option<Stat>,
    /// Median, ms.
    pub p50_ms: Option<Stat>,
    /// 99th percentile, ms.
    pub p99_ms: Option<Stat>,
    /// 99.9th percentile, ms.
    pub p999_ms: Option<Stat>,
    /// Successful requests per second, all clients.
    pub goodput_per_s: Option<Stat>,
    /// Failed requests per second, all clients.
    pub errors_per_s: Option<Stat>,
    /// The M/M/c theory beside the simulation, when the busiest M/M/c-like service has one.
    pub mmc: Option<MmcPoint>,
    /// Why a replication at this point stopped early, if one did.
    pub truncated: Option<String>,
}

/// What a sweep keeps of one run: the figures its point's statistics are made of. Small
/// (a hundred bytes or so), so a shard of a sweep carries these rather than whole summaries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepRun {
    /// The busiest service's utilisation, 0 to 1.
    pub utilisation: Option<f64>,
    /// The client's mean, median, 99th and 99.9th percentile latency of successes, ms.
    pub latency_ms: [Option<f64>; 4],
    /// Successful requests per second, all clients.
    pub goodput_per_s: f64,
    /// Failed requests per second, all clients.
    pub errors_per_s: f64,
    /// The M/M/c-like service's mean and 99th percentile time inside it, ms.
    pub service_ms: [Option<f64>; 2],
    /// Why the run stopped early, if it did.
    pub truncated: Option<String>,
}

impl SweepRun {
    /// One run's figures: latency of client `client`, rates of all clients, utilisation of
    /// service `busiest`, and the time inside service `mmc` (the one with a theory), if any.
    pub fn of(run: &RunSummary, client: usize, busiest: usize, mmc: Option<usize>) -> SweepRun {
        let latency = run.clients.get(client).map(|c| &c.latency);
        let service = mmc.and_then(|i| run.services.get(i)).map(|s| &s.latency);
        let failed: u64 = run.clients.iter().map(|c| c.failed).sum();
        SweepRun {
            utilisation: run.services.get(busiest).map(|s| s.utilisation),
            latency_ms: [
                latency.and_then(|l| l.mean_ms),
                latency.and_then(|l| l.p50_ms),
                latency.and_then(|l| l.p99_ms),
                latency.and_then(|l| l.p999_ms),
            ],
            goodput_per_s: run.clients.iter().map(|c| c.goodput_per_s).sum(),
            errors_per_s: if run.measured_s > 0.0 { failed as f64 / run.measured_s } else { 0.0 },
            service_ms: [service.and_then(|l| l.mean_ms), service.and_then(|l| l.p99_ms)],
            truncated: run.truncated.clone(),
        }
    }
}

impl SweepPoint {
    /// Summarises one point's replications, each as [`SweepRun::of`] read it.
    pub fn from_runs(values: Vec<f64>, runs: &[SweepRun], busiest: Busiest, theory: Option<MmcTheory>) -> SweepPoint {
        let stat =
            |f: &dyn Fn(&SweepRun) -> Option<f64>| Stat::from_values(&runs.iter().filter_map(f).collect::<Vec<_>>());
        SweepPoint {
            values,
            utilisation: stat(&|r| r.utilisation),
            busiest,
            mean_ms: stat(&|r| r.latency_ms[0]),
            p50_ms: stat(&|r| r.latency_ms[1]),
            p99_ms: stat(&|r| r.latency_ms[2]),
            p999_ms: stat(&|r| r.latency_ms[3]),
            goodput_per_s: stat(&|r| Some(r.goodput_per_s)),
            errors_per_s: stat(&|r| Some(r.errors_per_s)),
            mmc: theory.map(|theory| MmcPoint {
                simulated_mean_ms: stat(&|r| r.service_ms[0]),
                simulated_p99_ms: stat(&|r| r.service_ms[1]),
                theory,
            }),
            truncated: runs.iter().find_map(|r| r.truncated.clone()),
        }
    }
}

/// A whole sweep: the parameters and one point per combination of their values, the first
/// parameter varying slowest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sweep {
    /// The scenario's name.
    pub scenario: String,
    /// The master seed of every point.
    pub seed: u64,
    /// Replications per point.
    pub replications: u32,
    /// The client whose latency is reported.
    pub client: String,
    /// The parameters' paths, as `--param` named them.
    pub params: Vec<String>,
    /// The points, in grid order.
    pub points: Vec<SweepPoint>,
}

impl Sweep {
    /// Why the first truncated point stopped early, if any did.
    pub fn truncated(&self) -> Option<&str> {
        self.points.iter().find_map(|p| p.truncated.as_deref())
    }

    /// `sweep.csv`: a header, then one row per point. Missing values are empty cells; `_ci95`
    /// columns are half-widths of 95% intervals (empty with one replication).
    pub fn csv(&self) -> String {
        let mut header: Vec<String> = self.params.iter().map(|p| csv_field(p)).collect();
        header.extend(
            [
                "busiest_service",
                "offered_load",
                "utilisation",
                "utilisation_ci95",
                "mean_ms",
                "mean_ms_ci95",
                "p50_ms",
                "p50_ms_ci95",
                "p99_ms",
                "p99_ms_ci95",
                "p999_ms",
                "p999_ms_ci95",
                "goodput_per_s",
                "goodput_per_s_ci95",
                "errors_per_s",
                "errors_per_s_ci95",
                "mmc_service",
                "service_mean_ms",
                "service_mean_ms_ci95",
                "service_p99_ms",
                "service_p99_ms_ci95",
                "mmc_mean_ms",
                "mmc_p99_ms",
                "truncated",
            ]
            .map(String::from),
        );
        let mut out = header.join(",");
        out.push('\n');
        for p in &self.points {
            let mut row: Vec<String> = p.values.iter().map(|v| v.to_string()).collect();
            row.push(csv_field(&p.busiest.service));
            row.push(p.busiest.offered_load.to_string());
            for s in [p.utilisation, p.mean_ms, p.p50_ms, p.p99_ms, p.p999_ms, p.goodput_per_s, p.errors_per_s] {
                push_stat(&mut row, s);
            }
            match &p.mmc {
                Some(m) => {
                    row.push(csv_field(&m.theory.service));
                    push_stat(&mut row, m.simulated_mean_ms);
                    push_stat(&mut row, m.simulated_p99_ms);
                    row.push(m.theory.mean_ms.to_string());
                    row.push(m.theory.p99_ms.to_string());
                }
                None => row.extend(std::iter::repeat_n(String::new(), 7)),
            }
            row.push(p.truncated.as_deref().map(csv_field).unwrap_or_default());
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }
}

fn push_stat(row: &mut Vec<String>, stat: Option<Stat>) {
    row.push(stat.map(|s| s.mean.to_string()).unwrap_or_default());
    row.push(stat.and_then(|s| s.ci95_half_width).map(|h| h.to_string()).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("db"), "db");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_field("@sum"), "\"'@sum\"");
        assert_eq!(Stat::from_values(&[]), None);
        assert_eq!(Stat::from_values(&[2.0]), Some(Stat { mean: 2.0, ci95_half_width: None, n: 1 }));
    }
}
