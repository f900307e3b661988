//! The cheapest design on a grid (`tailsim plan --grid a=... --grid b=...`): every combination
//! of the parameters' values is run, each decided by the same sequential testing as a
//! bisection's probe, and the cheapest design that meets every objective is the answer. The
//! designs that no cheaper one beats on latency make the front of cost against latency: what
//! each step of money buys.
//!
//! Every design is run (a small grid, not a search): the front needs the designs dearer than
//! the answer as well as those that miss. Looks go in rounds over all undecided designs, so the
//! runs of a round go in parallel and the result does not depend on the thread count; runs are
//! funded in the grid's order while the budget lasts.

use rayon::prelude::*;
use serde::Serialize;
use tailsim_stats::RunSummary;
use tailsim_stats::aggregate::Estimate;
use tailsim_stats::slo::{Bound, LatencyStat, Measure, Objective, SloVerdict, Unit};

use super::{Budget, Look, Outcome, first_look, look};
use crate::world;
use tailsim_model::Diagnostic;
use tailsim_model::compile::Model;
use tailsim_model::params::Param;

/// One design of the grid: a value of each parameter, and how it did.
#[derive(Clone, Debug, Serialize)]
pub struct Design {
    /// The parameters' values, in the order of `params`.
    pub values: Vec<f64>,
    /// Replications it took.
    pub replications: u32,
    /// Its outcome.
    pub outcome: Outcome,
    /// Money per hour over its replications (`null` without priced parts or runs).
    pub cost_per_hour: Option<Estimate>,
    /// The front's latency measure over its replications, ms.
    pub latency_ms: Option<Estimate>,
    /// Whether no cheaper or equally dear design has a lower or equal latency (of equals, the
    /// first in the grid is kept).
    pub on_front: bool,
    /// Each objective's verdict at its last look.
    pub verdicts: Vec<SloVerdict>,
}

/// The grid's result: `plan.json` of `plan --grid`.
#[derive(Clone, Debug, Serialize)]
pub struct Cheapest {
    /// The scenario's name.
    pub scenario: String,
    /// Always `cheapest`.
    pub goal: &'static str,
    /// The parameters' paths.
    pub params: Vec<String>,
    /// The master seed.
    pub seed: u64,
    /// The latency the front is drawn against: the first latency objective's measure, else
    /// the first client's p99.
    pub latency: String,
    /// The cheapest design meeting every objective (its values); `null` when none does.
    pub answer: Option<Vec<f64>>,
    /// Why the designs were not all decided, if they were not.
    pub stopped: Option<String>,
    /// Runs made in all.
    pub runs: u64,
    /// Every design, in the grid's order (the first parameter varying slowest).
    pub designs: Vec<Design>,
}

impl Cheapest {
    /// The answer's design.
    pub fn answer(&self) -> Option<&Design> {
        let values = self.answer.as_ref()?;
        self.designs.iter().find(|d| &d.values == values)
    }

    /// Designs cheaper than the answer (or any, without one) still undecided: they might meet
    /// every objective too.
    pub fn cheaper_undecided(&self) -> Vec<&Design> {
        let bar = self.answer().and_then(|a| a.cost_per_hour).map_or(f64::INFINITY, |c| c.mean);
        self.designs
            .iter()
            .filter(|d| d.outcome == Outcome::Undecided && d.cost_per_hour.is_none_or(|c| c.mean < bar))
            .collect()
    }

    /// The front's designs, cheapest first.
    pub fn front(&self) -> Vec<&Design> {
        let mut front: Vec<&Design> = self.designs.iter().filter(|d| d.on_front).collect();
        front.sort_by(|a, b| by_cost(a).total_cmp(&by_cost(b)));
        front
    }

    /// `plan.json`: pretty-printed with a trailing newline.
    pub fn to_json(&self) -> String {
        super::pretty_json(self)
    }
}

fn by_cost(d: &Design) -> f64 {
    d.cost_per_hour.map_or(f64::INFINITY, |c| c.mean)
}

/// Compiles the design at a grid point's values (called on the searching thread only, so it
/// may keep a cache of the traces it read).
pub type ModelAt<'a> = dyn Fn(&[f64]) -> Result<Model, Vec<Diagnostic>> + 'a;

/// A design being decided.
struct Cell {
    values: Vec<f64>,
    model: Model,
    runs: Vec<RunSummary>,
    wanted: u32,
    outcome: Option<Outcome>,
    verdicts: Vec<SloVerdict>,
}

/// Runs every design of the grid over `params` (each resolved against the scenario), compiling
/// each with `model_at` (an error there ends the search with it), and finds the cheapest that
/// meets every objective.
pub fn cheapest(
    scenario: &str,
    params: &[Param],
    budget: Budget,
    model_at: &ModelAt<'_>,
) -> Result<Cheapest, Vec<Diagnostic>> {
    let mut cells = Vec::new();
    for values in tailsim_model::params::grid(params).map_err(|d| vec![d])? {
        let model = model_at(&values)?;
        cells.push(Cell {
            values,
            model,
            runs: Vec::new(),
            wanted: first_look(budget),
            outcome: None,
            verdicts: Vec::new(),
        });
    }
    let measure = cells.first().map(|c| front_measure(&c.model));
    let mut runs = 0;
    let mut stopped = None;
    while cells.iter().any(|c| c.outcome.is_none()) && stopped.is_none() {
        stopped = round(&mut cells, budget, &mut runs);
    }
    let designs = cells.iter().map(|c| design(c, measure.as_ref())).collect();
    let mut plan = Cheapest {
        scenario: scenario.to_string(),
        goal: "cheapest",
        params: params.iter().map(|p| p.path.clone()).collect(),
        seed: budget.seed,
        latency: measure.map(|m| m.name).unwrap_or_default(),
        answer: None,
        stopped,
        runs,
        designs,
    };
    mark_front(&mut plan.designs);
    plan.answer = answer(&plan.designs);
    Ok(plan)
}

/// One round of looks: the runs every undecided design's next look wants, funded in the grid's
/// order while `budget.max_runs` lasts, run in parallel, then judged. `Some(why)` when the
/// search must stop (out of runs, a run cut short).
fn round(cells: &mut [Cell], budget: Budget, runs: &mut u64) -> Option<String> {
    let mut jobs: Vec<(usize, u32)> = Vec::new();
    for (i, cell) in cells.iter().enumerate().filter(|(_, c)| c.outcome.is_none()) {
        let start = cell.runs.len() as u32;
        if *runs + jobs.len() as u64 + u64::from(cell.wanted - start) > budget.max_runs {
            break;
        }
        jobs.extend((start..cell.wanted).map(|r| (i, r)));
    }
    if jobs.is_empty() {
        return Some("the search used all the runs --max-runs allows".into());
    }
    let shared: &[Cell] = cells;
    let fresh: Vec<(usize, RunSummary)> =
        jobs.par_iter().map(|&(i, r)| (i, world::run(&shared[i].model, budget.seed, r, budget.limits))).collect();
    *runs += jobs.len() as u64;
    // A run cut short (a limit, Ctrl-C) measured less than the design: stop, saying why.
    if let Some(why) = fresh.iter().find_map(|(_, r)| r.truncated.clone()) {
        return Some(format!("a run stopped early: {why}"));
    }
    // Jobs are in the order of (design, replication): each design's runs land in order.
    for (i, run) in fresh {
        cells[i].runs.push(run);
    }
    for cell in cells.iter_mut().filter(|c| c.outcome.is_none() && c.runs.len() as u32 == c.wanted) {
        cell.verdicts = tailsim_stats::slo::judge(&cell.model.slos, &cell.runs);
        match look(&cell.verdicts, cell.wanted, budget) {
            Look::Decided(outcome) => cell.outcome = Some(outcome),
            Look::More(next) => cell.wanted = next,
        }
    }
    None
}

/// The latency the front is drawn against: the first latency objective's, else the first
/// client's p99.
fn front_measure(model: &Model) -> Objective {
    let first = model.slos.iter().find(|o| matches!(o.measure, Measure::Latency { .. }));
    first.cloned().unwrap_or_else(|| Objective {
        name: format!("{} p99", model.clients.first().map_or("", |c| c.name.as_str())),
        measure: Measure::Latency { client: 0, class: None, stat: LatencyStat::P99 },
        bound: Bound::Below(f64::INFINITY),
        unit: Unit::Ms,
    })
}

/// A cell's result: its outcome (undecided when its looks were cut off), cost and latency.
fn design(cell: &Cell, measure: Option<&Objective>) -> Design {
    let costs: Vec<f64> = cell.runs.iter().filter_map(|r| r.cost.as_ref().map(|c| c.per_hour)).collect();
    let latencies: Vec<f64> =
        measure.map(|m| cell.runs.iter().filter_map(|r| m.value(r)).collect()).unwrap_or_default();
    Design {
        values: cell.values.clone(),
        replications: cell.runs.len() as u32,
        outcome: cell.outcome.unwrap_or(Outcome::Undecided),
        cost_per_hour: Estimate::from_values(&costs),
        latency_ms: Estimate::from_values(&latencies),
        on_front: false,
        verdicts: cell.verdicts.clone(),
    }
}

/// Marks the designs no cheaper or equally dear design beats on latency (by the means), among
/// those with both a cost and a latency.
fn mark_front(designs: &mut [Design]) {
    let key = |d: &Design| Some((d.cost_per_hour?.mean, d.latency_ms?.mean));
    let mut order: Vec<(usize, (f64, f64))> =
        designs.iter().enumerate().filter_map(|(i, d)| Some((i, key(d)?))).collect();
    order.sort_by(|(i, a), (j, b)| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)).then(i.cmp(j)));
    let mut best = f64::INFINITY;
    for (i, (_, latency)) in order {
        if latency < best {
            best = latency;
            designs[i].on_front = true;
        }
    }
}

/// The cheapest design meeting every objective (by mean cost; among equals, the lower
/// latency, then the first in the grid).
fn answer(designs: &[Design]) -> Option<Vec<f64>> {
    let latency = |d: &Design| d.latency_ms.map_or(f64::INFINITY, |l| l.mean);
    designs
        .iter()
        .filter(|d| d.outcome == Outcome::Met && d.cost_per_hour.is_some())
        .min_by(|a, b| by_cost(a).total_cmp(&by_cost(b)).then(latency(a).total_cmp(&latency(b))))
        .map(|d| d.values.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design(cost: f64, latency: f64, outcome: Outcome) -> Design {
        let estimate = |mean| Some(Estimate { mean, ci95_half_width: 0.0, n: 2 });
        Design {
            values: vec![cost, latency],
            replications: 2,
            outcome,
            cost_per_hour: estimate(cost),
            latency_ms: estimate(latency),
            on_front: false,
            verdicts: Vec::new(),
        }
    }

    #[test]
    fn the_front_keeps_each_design_no_cheaper_one_beats() {
        use Outcome::{Met, Missed};
        let mut designs = vec![
            design(3.0, 20.0, Met),
            design(1.0, 90.0, Missed),
            design(2.0, 95.0, Missed),
            design(2.0, 40.0, Met),
            design(4.0, 20.0, Met),
            design(5.0, 10.0, Met),
        ];
        mark_front(&mut designs);
        let front: Vec<bool> = designs.iter().map(|d| d.on_front).collect();
        assert_eq!(front, [true, true, false, true, false, true]);
        assert_eq!(answer(&designs), Some(vec![2.0, 40.0]));
    }

    #[test]
    fn without_a_met_design_there_is_no_answer() {
        let designs = vec![design(1.0, 90.0, Outcome::Missed), design(2.0, 80.0, Outcome::Undecided)];
        assert_eq!(answer(&designs), None);
    }
}
