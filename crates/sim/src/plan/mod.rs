//! Capacity search (`tailsim plan`): the smallest value of a parameter at which a design meets
//! every objective (`--vary services.api.instances=1..64`), or the largest it sustains while
//! meeting them (`--max clients.users.rate=100..5000`).
//!
//! A search, not a sweep: bisection over a parameter the objectives are monotone in (more
//! instances never hurt; more load never helps). Each probe is decided by sequential testing:
//! it runs a few replications, and while an objective's 95% interval holds its target (and
//! none is missed) it runs more, up to a cap; a probe still undecided there ends the search,
//! the boundary being within the bracket found so far. Every probe runs replications `0, 1,
//! ...` with one seed, so probes share their random numbers (common random numbers: neighbours
//! differ by the design, not the dice). The total of runs is bounded.

use rayon::prelude::*;
use serde::Serialize;
use tailsim_stats::RunSummary;
use tailsim_stats::slo::{SloVerdict, Verdict};

use crate::world::{self, Limits};
use tailsim_model::Diagnostic;
use tailsim_model::compile::Model;

pub mod grid;

/// What the search looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// The smallest value that meets every objective (capacity: instances, workers, pools).
    Smallest,
    /// The largest value that meets every objective (load: a rate).
    Largest,
}

/// The search's range and how closely to find the boundary.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    /// The parameter's path, as `--set` takes it.
    pub path: String,
    /// The lowest value tried.
    pub from: f64,
    /// The highest.
    pub to: f64,
    /// Whole numbers only (instances, workers): the answer is exact.
    pub whole: bool,
    /// For other numbers, the search stops when the bracket is this narrow.
    pub resolution: f64,
}

/// How many replications a probe may take, and the whole search.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// The master seed of every probe.
    pub seed: u64,
    /// Replications of a probe's first look (at least 2, for an interval).
    pub first: u32,
    /// The most replications of one probe.
    pub most: u32,
    /// The most runs of the whole search.
    pub max_runs: u64,
    /// Each run's limits.
    pub limits: Limits,
}

/// How a probe came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every objective met.
    Met,
    /// One or more missed.
    Missed,
    /// None missed, but one still inconclusive at the most replications.
    Undecided,
}

/// One value tried.
#[derive(Clone, Debug, Serialize)]
pub struct Probe {
    /// The parameter's value.
    pub value: f64,
    /// Replications it took.
    pub replications: u32,
    /// Its outcome.
    pub outcome: Outcome,
    /// Each objective's verdict at its last look.
    pub verdicts: Vec<SloVerdict>,
}

/// The search's result: `plan.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// The scenario's name.
    pub scenario: String,
    /// The parameter searched.
    pub param: String,
    /// `smallest` or `largest`.
    pub goal: Goal,
    /// The range searched.
    pub from: f64,
    /// The range searched.
    pub to: f64,
    /// The master seed.
    pub seed: u64,
    /// The answer: the smallest (largest) value decided to meet every objective; `null` when
    /// none in the range does.
    pub answer: Option<f64>,
    /// The other side of the boundary: the largest (smallest) value decided not to meet them,
    /// when one was probed. The boundary is between it and the answer.
    pub beyond: Option<f64>,
    /// Why the search stopped before narrowing the bracket fully, if it did.
    pub stopped: Option<String>,
    /// Runs made in all.
    pub runs: u64,
    /// The probes, in the order made.
    pub probes: Vec<Probe>,
}

impl Plan {
    /// The probe at `value`, if one was made.
    pub fn probe(&self, value: Option<f64>) -> Option<&Probe> {
        let value = value?;
        self.probes.iter().find(|p| p.value == value)
    }

    /// `plan.json`: pretty-printed with a trailing newline.
    pub fn to_json(&self) -> String {
        pretty_json(self)
    }
}

/// A plan as `plan.json` has it: pretty-printed with a trailing newline.
fn pretty_json(plan: &impl Serialize) -> String {
    let mut json = serde_json::to_string_pretty(plan).expect("a plan always serialises");
    json.push('\n');
    json
}

/// Searches `range` for `goal`, compiling the design at each value with `model_at` (an error
/// there ends the search with it; it is called on the searching thread only, so it may keep a
/// cache of the traces it read).
pub fn search(
    scenario: &str,
    range: &Range,
    goal: Goal,
    budget: Budget,
    model_at: &dyn Fn(f64) -> Result<Model, Vec<Diagnostic>>,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut plan = Plan {
        scenario: scenario.to_string(),
        param: range.path.clone(),
        goal,
        from: range.from,
        to: range.to,
        seed: budget.seed,
        answer: None,
        beyond: None,
        stopped: None,
        runs: 0,
        probes: Vec::new(),
    };
    // `good` is the end where objectives are met if anywhere: the top for capacity, the
    // bottom for load; `bad` the other.
    let (mut good, mut bad) = match goal {
        Goal::Smallest => (range.to, range.from),
        Goal::Largest => (range.from, range.to),
    };
    match probe(&mut plan, good, budget, model_at)? {
        Some(Outcome::Met) => {}
        Some(_) => return Ok(done(plan, None, None, Some("no value in the range meets every objective".into()))),
        None => return Ok(out_of_runs(plan, None, None)),
    }
    match probe(&mut plan, bad, budget, model_at)? {
        Some(Outcome::Met) => return Ok(done(plan, Some(bad), None, None)),
        Some(_) => {}
        None => return Ok(out_of_runs(plan, Some(good), None)),
    }
    while let Some(mid) = midpoint(range, good, bad) {
        match probe(&mut plan, mid, budget, model_at)? {
            Some(Outcome::Met) => good = mid,
            Some(Outcome::Missed) => bad = mid,
            Some(Outcome::Undecided) => {
                let why = format!(
                    "the objectives were still undecided at {} after {} replications: the boundary is about there",
                    tailsim_model::params::format_value(mid),
                    budget.most
                );
                return Ok(done(plan, Some(good), Some(bad), Some(why)));
            }
            None => return Ok(out_of_runs(plan, Some(good), Some(bad))),
        }
    }
    Ok(done(plan, Some(good), Some(bad), None))
}

fn done(mut plan: Plan, answer: Option<f64>, beyond: Option<f64>, stopped: Option<String>) -> Plan {
    plan.answer = answer;
    plan.beyond = beyond;
    plan.stopped = stopped;
    plan
}

fn out_of_runs(plan: Plan, answer: Option<f64>, beyond: Option<f64>) -> Plan {
    let why = plan.stopped.clone().unwrap_or_else(|| "the search used all the runs --max-runs allows".into());
    done(plan, answer, beyond, Some(why))
}

/// The value halfway between `good` and `bad`, or `None` once they are next to each other
/// (whole numbers) or within the resolution.
fn midpoint(range: &Range, good: f64, bad: f64) -> Option<f64> {
    if range.whole {
        let (lo, hi) = (good.min(bad), good.max(bad));
        return (hi - lo > 1.0).then(|| ((lo + hi) / 2.0).floor());
    }
    if (good - bad).abs() <= range.resolution {
        return None;
    }
    // Rounded to the resolution's order of magnitude, so probes read as 768, not 767.5625.
    let step = 10f64.powf(range.resolution.log10().floor());
    let mid = ((good + bad) / 2.0 / step).round() * step;
    (mid != good && mid != bad).then_some(mid)
}

/// Runs one probe at `value`: `first` replications, then more while it is undecided, up to
/// `most`. `None` when the run budget cannot pay for the next look, or a run was cut short
/// (then `plan.stopped` says why).
fn probe(
    plan: &mut Plan,
    value: f64,
    budget: Budget,
    model_at: &dyn Fn(f64) -> Result<Model, Vec<Diagnostic>>,
) -> Result<Option<Outcome>, Vec<Diagnostic>> {
    let model = model_at(value)?;
    let mut runs: Vec<RunSummary> = Vec::new();
    let mut wanted = first_look(budget);
    loop {
        let more = u64::from(wanted) - runs.len() as u64;
        if plan.runs + more > budget.max_runs {
            return Ok(None);
        }
        let start = runs.len() as u32;
        let fresh: Vec<RunSummary> =
            (start..wanted).into_par_iter().map(|r| world::run(&model, budget.seed, r, budget.limits)).collect();
        plan.runs += more;
        // A run cut short (a limit, Ctrl-C) measured less than the design: stop, saying why.
        if let Some(why) = fresh.iter().find_map(|r| r.truncated.clone()) {
            plan.stopped = Some(format!("a run stopped early: {why}"));
            return Ok(None);
        }
        runs.extend(fresh);
        let verdicts = tailsim_stats::slo::judge(&model.slos, &runs);
        match look(&verdicts, wanted, budget) {
            Look::Decided(outcome) => {
                plan.probes.push(Probe { value, replications: wanted, outcome, verdicts });
                return Ok(Some(outcome));
            }
            Look::More(next) => wanted = next,
        }
    }
}

/// What a look at a design's verdicts after `wanted` replications says.
enum Look {
    /// Its outcome (undecided only at the most replications).
    Decided(Outcome),
    /// Look again after this many replications.
    More(u32),
}

/// The first look's replications: `first`, at least two (for an interval), at most `most`.
fn first_look(budget: Budget) -> u32 {
    budget.first.max(2).min(budget.most.max(2))
}

/// Decides a design on its verdicts after `wanted` replications, or asks for more: what the
/// undecided objectives ask for, at least twice as many, at most `budget.most`.
fn look(verdicts: &[SloVerdict], wanted: u32, budget: Budget) -> Look {
    let most = budget.most.max(2);
    if verdicts.iter().any(|v| v.verdict == Verdict::Missed) {
        return Look::Decided(Outcome::Missed);
    }
    if verdicts.iter().all(|v| v.verdict == Verdict::Met) {
        return Look::Decided(Outcome::Met);
    }
    if wanted >= most {
        return Look::Decided(Outcome::Undecided);
    }
    let asked = verdicts.iter().filter_map(|v| v.replications_to_decide).max().unwrap_or(0);
    Look::More(asked.max(wanted.saturating_mul(2)).min(most))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midpoints_narrow_to_neighbours_or_the_resolution() {
        let whole = Range { path: "x".into(), from: 1.0, to: 64.0, whole: true, resolution: 0.0 };
        assert_eq!(midpoint(&whole, 64.0, 1.0), Some(32.0));
        assert_eq!(midpoint(&whole, 33.0, 32.0), None);
        let rate = Range { path: "r".into(), from: 0.0, to: 1000.0, whole: false, resolution: 5.0 };
        assert_eq!(midpoint(&rate, 0.0, 1000.0), Some(500.0));
        assert_eq!(midpoint(&rate, 545.0, 990.0), Some(768.0));
        assert_eq!(midpoint(&rate, 900.0, 904.0), None);
    }
}
