//! Service-level objectives and their verdicts: what "good" means for a design, and whether
//! its runs meet it, with the confidence to back the verdict.
//!
//! Each replication gives one value of an objective's measure (a client's p99, its error
//! ratio, a service's utilisation). Over two or more replications the verdict comes from the
//! 95% Student-t interval of their mean: **met** when the whole interval is on the good side of
//! the threshold, **missed** when it is all on the bad side, **inconclusive** when it holds the
//! threshold (a design exactly at its threshold is never called met), with the number of
//! replications that would make the interval narrow enough to decide. One replication has no
//! interval: its value alone decides, and only a value at the threshold is inconclusive.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::summary::{LatencySummary, RunSummary};

/// The most replications a verdict asks for; beyond, "more than this" is the answer.
pub const MAX_REPLICATIONS_TO_DECIDE: u32 = 10_000;

/// A latency statistic an objective bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LatencyStat {
    /// The exact mean.
    Mean,
    /// The median.
    P50,
    /// The 90th percentile.
    P90,
    /// The 99th percentile.
    P99,
    /// The 99.9th percentile.
    P999,
    /// The exact maximum.
    Max,
}

impl LatencyStat {
    /// Its name in tables: `p99`, `mean`.
    pub fn name(self) -> &'static str {
        match self {
            LatencyStat::Mean => "mean",
            LatencyStat::P50 => "p50",
            LatencyStat::P90 => "p90",
            LatencyStat::P99 => "p99",
            LatencyStat::P999 => "p99.9",
            LatencyStat::Max => "max",
        }
    }

    /// Its value in `latency`, ms.
    pub fn of(self, latency: &LatencySummary) -> Option<f64> {
        match self {
            LatencyStat::Mean => latency.mean_ms,
            LatencyStat::P50 => latency.p50_ms,
            LatencyStat::P90 => latency.p90_ms,
            LatencyStat::P99 => latency.p99_ms,
            LatencyStat::P999 => latency.p999_ms,
            LatencyStat::Max => latency.max_ms,
        }
    }
}

/// What an objective measures in one replication, by the indices of the model's parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Measure {
    /// A latency statistic of a client's successful requests, or of one of its classes', ms.
    Latency {
        /// The client's index.
        client: usize,
        /// The class's index among the client's classes, if one.
        class: Option<usize>,
        /// Which statistic.
        stat: LatencyStat,
    },
    /// Failed over answered requests of a client (or class), 0 to 1.
    Errors {
        /// The client's index.
        client: usize,
        /// The class's index among the client's classes, if one.
        class: Option<usize>,
    },
    /// Successful requests per second of a client (or class).
    Goodput {
        /// The client's index.
        client: usize,
        /// The class's index among the client's classes, if one.
        class: Option<usize>,
    },
    /// The share of time-series windows after the warm-up in which the client's p99 was at
    /// most `p99_ms` and its failed share of answers at most `errors` (a window without
    /// answers meets both): an availability SLI over windows.
    Availability {
        /// The client's index.
        client: usize,
        /// The most p99 a good window may have, ms.
        p99_ms: Option<f64>,
        /// The most failed share of answers a good window may have.
        errors: Option<f64>,
    },
    /// A service's utilisation, 0 to 1.
    Utilisation {
        /// The service's index.
        service: usize,
    },
    /// A statistic of a service's queue wait (`Max`: the oldest a visit got in its queue), ms.
    QueueWait {
        /// The service's index.
        service: usize,
        /// Which statistic.
        stat: LatencyStat,
    },
    /// The share of a service's admitted visits that waited for a worker (Erlang C's P(wait)).
    WaitProbability {
        /// The service's index.
        service: usize,
    },
    /// The longest a service's queues were, all instances.
    Backlog {
        /// The service's index.
        service: usize,
    },
    /// The longest any fault of a service took to recover after it ended, s; a fault that did
    /// not recover before the run ended counts as never, one that had not begun not at all.
    Recovery {
        /// The service's name, as its faults' summaries name it.
        service: String,
    },
    /// A cache's hit ratio, 0 to 1.
    HitRatio {
        /// The cache's index.
        cache: usize,
    },
}

/// Which side of its threshold an objective wants.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Bound {
    /// The value must stay under the threshold.
    Below(f64),
    /// The value must be at least the threshold.
    AtLeast(f64),
}

impl Bound {
    /// The threshold.
    pub fn threshold(self) -> f64 {
        match self {
            Bound::Below(t) | Bound::AtLeast(t) => t,
        }
    }

    /// How far `value` is on the good side of the threshold (negative: the bad side).
    fn margin(self, value: f64) -> f64 {
        match self {
            Bound::Below(t) => t - value,
            Bound::AtLeast(t) => value - t,
        }
    }
}

/// How an objective's values read: the unit its table shows them in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Milliseconds.
    Ms,
    /// Seconds.
    Seconds,
    /// A share, 0 to 1, shown in percent.
    Share,
    /// Per second.
    PerSecond,
    /// A count.
    Count,
}

/// One objective, ready to judge runs by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// What it is about, in the scenario's words: `shoppers p99`, `db utilisation`.
    pub name: String,
    /// What it measures.
    pub measure: Measure,
    /// The side of the threshold it wants.
    pub bound: Bound,
    /// The unit of its values.
    pub unit: Unit,
}

/// Whether the runs meet an objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Met, with 95% confidence (or by the one replication's value).
    Met,
    /// Missed, likewise.
    Missed,
    /// The interval holds the threshold: more replications would tell.
    Inconclusive,
    /// No replication had a value (no answers, no lookups).
    NoData,
}

/// An objective's verdict and the evidence for it: one entry of `slos` in `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloVerdict {
    /// What the objective is about.
    pub objective: String,
    /// `below` or `at_least`.
    pub bound: &'static str,
    /// The threshold, in the unit of `mean`.
    pub threshold: f64,
    /// `ms`, `s`, `share` (0 to 1), `per_s` or `count`.
    pub unit: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// The mean of the replications' values; `null` without any.
    pub mean: Option<f64>,
    /// The half-width of its 95% interval; `null` with fewer than two values.
    pub ci95_half_width: Option<f64>,
    /// Replications that had a value.
    pub n: u32,
    /// For an inconclusive verdict, about how many replications would decide it (the
    /// interval shrinking as 1/sqrt(n) at the spread seen so far); `null` when none would
    /// (the mean is at the threshold) or more than 10,000 would.
    pub replications_to_decide: Option<u32>,
    /// For an availability objective, its error budget: what the target allows of bad
    /// windows and what the runs spent (absent for other objectives).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_budget: Option<ErrorBudget>,
}

/// An availability objective's error budget: a target of 99% good windows allows 1% bad ones.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorBudget {
    /// Windows after the warm-up, per replication.
    pub windows: u32,
    /// Bad windows the target allows: `(1 - at_least) x windows`.
    pub allowed_bad_windows: f64,
    /// Bad windows, mean over the replications.
    pub bad_windows: f64,
    /// The share of the budget spent, mean over the replications (above 1: overspent).
    pub spent: f64,
    /// The burn rate over the run: the bad share of windows over the share the target allows,
    /// mean over the replications (1 spends the budget exactly by the run's end).
    pub burn_rate: f64,
    /// The width of a window, s.
    pub window_s: f64,
    /// The first replication's share of the budget spent by the end of each window, from the
    /// start of the run (`null` in the warm-up): the budget's burn over time.
    pub spent_over_time: Vec<Option<f64>>,
    /// The windows a trailing burn rate looks back over: [`BURN_SPAN_WINDOWS`].
    pub burn_span_windows: u32,
    /// The first replication's burn rate over the trailing `burn_span_windows` windows (fewer
    /// at the start of the measured span), at the end of each window, from the start of the
    /// run (`null` in the warm-up, and when the target allows no bad window): the short window
    /// of burn-rate alerting, which a fault drives up and a recovery brings down.
    pub burn_rate_over_time: Vec<Option<f64>>,
}

/// The windows a trailing burn rate looks back over.
pub const BURN_SPAN_WINDOWS: usize = 10;

impl Objective {
    /// The objective's value in one replication, if it has one.
    pub fn value(&self, run: &RunSummary) -> Option<f64> {
        let client = |c: usize| run.clients.get(c);
        match &self.measure {
            Measure::Latency { client: c, class, stat } => match class {
                Some(k) => client(*c)?.classes.get(*k).and_then(|k| stat.of(&k.latency)),
                None => stat.of(&client(*c)?.latency),
            },
            Measure::Errors { client: c, class } => {
                let (ok, failed) = answers(run, *c, *class)?;
                (ok + failed > 0).then(|| failed as f64 / (ok + failed) as f64)
            }
            Measure::Goodput { client: c, class } => {
                let (ok, _) = answers(run, *c, *class)?;
                (run.measured_s > 0.0).then(|| ok as f64 / run.measured_s)
            }
            Measure::Availability { client: c, p99_ms, errors } => availability(run, *c, *p99_ms, *errors),
            Measure::Utilisation { service } => run.services.get(*service).map(|s| s.utilisation),
            Measure::QueueWait { service, stat } => stat.of(&run.services.get(*service)?.queue_wait),
            Measure::WaitProbability { service } => run.services.get(*service).map(|s| s.wait_probability),
            Measure::Backlog { service } => run.services.get(*service).map(|s| s.max_queue_length as f64),
            Measure::Recovery { service } => {
                // Only the faults that began before the run ended have anything to recover from.
                let end_s = run
                    .clients
                    .iter()
                    .map(|c| c.per_window.window_s * c.per_window.arrivals.len() as f64)
                    .fold(0.0, f64::max);
                let faults: Vec<_> = run.faults.iter().filter(|f| &f.service == service && f.start_s < end_s).collect();
                let worst = faults.iter().map(|f| f.recovered_after_s.unwrap_or(f64::INFINITY)).fold(0.0, f64::max);
                (!faults.is_empty()).then_some(worst)
            }
            Measure::HitRatio { cache } => run.caches.get(*cache)?.hit_ratio(),
        }
    }

    /// The verdict on the replications' values (`None` where a replication had none).
    pub fn verdict(&self, values: &[Option<f64>]) -> SloVerdict {
        let values: Vec<f64> = values.iter().flatten().copied().collect();
        let n = values.len();
        let mean = (n > 0).then(|| values.iter().sum::<f64>() / n as f64);
        let spread = (n > 1).then(|| {
            let m = mean.unwrap_or(0.0);
            (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        });
        let half = spread.map(|s| t975(n) * s / (n as f64).sqrt());
        let (verdict, to_decide) = match mean {
            None => (Verdict::NoData, None),
            // A value that never came (a fault that did not recover) decides at once.
            Some(_) if values.iter().any(|v| v.is_infinite()) => (Verdict::Missed, None),
            Some(m) => {
                let margin = self.bound.margin(m);
                let h = half.unwrap_or(0.0);
                if margin > h {
                    (Verdict::Met, None)
                } else if margin < -h {
                    (Verdict::Missed, None)
                } else {
                    (Verdict::Inconclusive, spread.and_then(|s| replications_to_decide(s, margin.abs())))
                }
            }
        };
        let finite = |x: Option<f64>| x.filter(|x| x.is_finite());
        SloVerdict {
            objective: self.name.clone(),
            bound: match self.bound {
                Bound::Below(_) => "below",
                Bound::AtLeast(_) => "at_least",
            },
            threshold: self.bound.threshold(),
            unit: match self.unit {
                Unit::Ms => "ms",
                Unit::Seconds => "s",
                Unit::Share => "share",
                Unit::PerSecond => "per_s",
                Unit::Count => "count",
            },
            verdict,
            mean: finite(mean),
            ci95_half_width: finite(half),
            n: n as u32,
            replications_to_decide: to_decide,
            error_budget: None,
        }
    }
}

/// The exit code of a set of verdicts: 0 all met (or none to meet), 4 one or more missed, 5
/// none missed but one or more inconclusive or without data.
pub fn exit_code(verdicts: &[SloVerdict]) -> u8 {
    if verdicts.iter().any(|v| v.verdict == Verdict::Missed) {
        4
    } else if verdicts.iter().any(|v| v.verdict != Verdict::Met) {
        5
    } else {
        0
    }
}

/// The verdicts of `objectives` on `runs`, availability objectives with their error budgets.
pub fn judge(objectives: &[Objective], runs: &[RunSummary]) -> Vec<SloVerdict> {
    objectives
        .iter()
        .map(|o| {
            let mut verdict = o.verdict(&runs.iter().map(|r| o.value(r)).collect::<Vec<_>>());
            verdict.error_budget = o.error_budget(runs);
            verdict
        })
        .collect()
}

impl Objective {
    /// An availability objective's error budget over `runs`; `None` for other objectives, or
    /// without windows.
    pub fn error_budget(&self, runs: &[RunSummary]) -> Option<ErrorBudget> {
        let Measure::Availability { client, p99_ms, errors } = &self.measure else { return None };
        let allowed_share = 1.0 - self.bound.threshold();
        let per_run: Vec<(usize, Vec<bool>)> =
            runs.iter().filter_map(|r| good_windows(r, *client, *p99_ms, *errors)).collect();
        let (first, good) = per_run.first()?;
        let windows = good.len();
        if windows == 0 {
            return None;
        }
        let allowed = allowed_share * windows as f64;
        let bad = |g: &[bool]| g.iter().filter(|ok| !**ok).count() as f64;
        let spent_of = |b: f64| {
            if allowed > 0.0 {
                b / allowed
            } else if b > 0.0 {
                f64::INFINITY
            } else {
                0.0
            }
        };
        let mean = |f: &dyn Fn(&[bool]) -> f64| per_run.iter().map(|(_, g)| f(g)).sum::<f64>() / per_run.len() as f64;
        let mut so_far = 0.0;
        let spent_over_time = (0..first + windows)
            .map(|i| {
                let k = i.checked_sub(*first)?;
                so_far += if good[k] { 0.0 } else { 1.0 };
                Some(spent_of(so_far)).filter(|x| x.is_finite())
            })
            .collect();
        let burn_rate_over_time = (0..first + windows)
            .map(|i| {
                let end = i.checked_sub(*first)? + 1;
                let span = &good[end.saturating_sub(BURN_SPAN_WINDOWS)..end];
                (allowed_share > 0.0).then(|| bad(span) / span.len() as f64 / allowed_share)
            })
            .collect();
        Some(ErrorBudget {
            windows: windows as u32,
            allowed_bad_windows: allowed,
            bad_windows: mean(&|g| bad(g)),
            spent: mean(&|g| spent_of(bad(g))),
            burn_rate: mean(&|g| if allowed_share > 0.0 { bad(g) / g.len() as f64 / allowed_share } else { 0.0 }),
            window_s: runs.first().and_then(|r| r.clients.get(*client)).map_or(0.0, |c| c.per_window.window_s),
            spent_over_time,
            burn_span_windows: BURN_SPAN_WINDOWS as u32,
            burn_rate_over_time,
        })
    }
}

/// The 0.975 quantile of Student's t with `n - 1` degrees of freedom.
fn t975(n: usize) -> f64 {
    StudentsT::new(0.0, 1.0, (n.max(2) - 1) as f64).map(|d| d.inverse_cdf(0.975)).unwrap_or(f64::NAN)
}

/// The fewest replications whose 95% interval, at standard deviation `spread`, is narrower
/// than `margin`; `None` if there is no margin or more than [`MAX_REPLICATIONS_TO_DECIDE`]
/// would be needed.
fn replications_to_decide(spread: f64, margin: f64) -> Option<u32> {
    if margin <= 0.0 || !margin.is_finite() {
        return None;
    }
    // The interval narrows as 1/sqrt(n): start from the normal approximation, then step up
    // with t's own quantile until it fits.
    let start = ((1.96 * spread / margin).powi(2).ceil() as u32).clamp(2, MAX_REPLICATIONS_TO_DECIDE + 1);
    (start..=MAX_REPLICATIONS_TO_DECIDE).find(|&n| t975(n as usize) * spread / f64::from(n).sqrt() < margin)
}

/// A client's (or one of its classes') successful and failed answers in a run.
fn answers(run: &RunSummary, client: usize, class: Option<usize>) -> Option<(u64, u64)> {
    let c = run.clients.get(client)?;
    match class {
        Some(k) => c.classes.get(k).map(|k| (k.succeeded, k.failed)),
        None => Some((c.succeeded, c.failed)),
    }
}

/// The share of a client's windows after the warm-up that were good (see
/// [`Measure::Availability`]).
fn availability(run: &RunSummary, client: usize, p99_ms: Option<f64>, errors: Option<f64>) -> Option<f64> {
    let (_, good) = good_windows(run, client, p99_ms, errors)?;
    (!good.is_empty()).then(|| good.iter().filter(|ok| **ok).count() as f64 / good.len() as f64)
}

/// The index of a client's first window after the warm-up, and whether each window from there
/// was good: its p99 at most `p99_ms`, its failed share of answers at most `errors`.
fn good_windows(
    run: &RunSummary,
    client: usize,
    p99_ms: Option<f64>,
    errors: Option<f64>,
) -> Option<(usize, Vec<bool>)> {
    let w = &run.clients.get(client)?.per_window;
    if w.window_s <= 0.0 {
        return None;
    }
    // The windows that start at or after the warm-up: the run's end less the measured span.
    let end_s = w.window_s * w.arrivals.len() as f64;
    let first = (((end_s - run.measured_s).max(0.0) / w.window_s) - 1e-9).ceil().max(0.0) as usize;
    let good = (first..w.succeeded.len().min(w.failed.len()))
        .map(|i| {
            let (ok, failed) = (w.succeeded[i], w.failed[i]);
            let latency_ok = p99_ms.is_none_or(|bound| w.p99_ms.get(i).copied().flatten().is_none_or(|p| p <= bound));
            let errors_ok =
                errors.is_none_or(|bound| ok + failed == 0 || failed as f64 / (ok + failed) as f64 <= bound);
            latency_ok && errors_ok
        })
        .collect();
    Some((first, good))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p99_below(ms: f64) -> Objective {
        Objective {
            name: "users p99".into(),
            measure: Measure::Latency { client: 0, class: None, stat: LatencyStat::P99 },
            bound: Bound::Below(ms),
            unit: Unit::Ms,
        }
    }

    #[test]
    fn the_interval_decides_and_the_threshold_itself_is_never_met() {
        // Values 10, 12, 14: mean 12, s = 2, t(0.975, 2) = 4.302653 (any t table): the 95%
        // interval is 12 ± 4.969, from 7.03 to 16.97.
        let values = [Some(10.0), Some(12.0), Some(14.0)];
        let v = p99_below(20.0).verdict(&values);
        assert_eq!((v.verdict, v.n), (Verdict::Met, 3));
        assert!((v.ci95_half_width.unwrap() - 4.302_653 * 2.0 / 3f64.sqrt()).abs() < 1e-5);
        assert_eq!(p99_below(5.0).verdict(&values).verdict, Verdict::Missed);
        assert_eq!(p99_below(16.0).verdict(&values).verdict, Verdict::Inconclusive);
        // Exactly at the threshold: inconclusive, and no number of replications decides it.
        let at = p99_below(12.0).verdict(&values);
        assert_eq!((at.verdict, at.replications_to_decide), (Verdict::Inconclusive, None));
        // Even with no spread at all.
        assert_eq!(p99_below(12.0).verdict(&[Some(12.0), Some(12.0)]).verdict, Verdict::Inconclusive);
        // One replication: its value decides; none at all is no data.
        assert_eq!(p99_below(20.0).verdict(&[Some(12.0)]).verdict, Verdict::Met);
        assert_eq!(p99_below(20.0).verdict(&[None, None]).verdict, Verdict::NoData);
    }

    #[test]
    fn replications_to_decide_narrow_the_interval_past_the_margin() {
        // At threshold 16 the margin is 4 and s = 2: the fewest n with t(0.975, n-1) * 2 /
        // sqrt(n) < 4 is 4 (t(0.975, 3) = 3.182446: 3.18 < 4; at n = 3, 4.97 > 4).
        let v = p99_below(16.0).verdict(&[Some(10.0), Some(12.0), Some(14.0)]);
        assert_eq!(v.replications_to_decide, Some(4));
        // A far objective is decided with two replications.
        assert_eq!(p99_below(1000.0).verdict(&[Some(10.0), Some(14.0)]).verdict, Verdict::Met);
        // A tiny margin needs more than the cap.
        assert_eq!(replications_to_decide(1.0, 1e-4), None);
    }
}
