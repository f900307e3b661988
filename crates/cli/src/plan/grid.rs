//! `tailsim plan --grid`: the cheapest design meeting every objective on a grid of one to three
//! parameters; prints every design with its cost and latency, the answer, the front of cost
//! against latency, and the evidence at the answer; charts the designs by cost.

use std::fmt::Write as _;

use tailsim_model::params::format_value;
use tailsim_report::chart::{Chart, ChartKind, LoadChart, LoadLine, Stroke};
use tailsim_report::text::{Document, Table, money, with_ci};
use tailsim_sim::plan::Outcome;
use tailsim_sim::plan::grid::{Cheapest, Design};

use super::{PlanArgs, Searched, Setup, evidence, option_failure};
use crate::{Failure, shared};

/// Runs every design of the grid and finds the cheapest meeting every objective.
pub(super) fn search(args: &PlanArgs, setup: &Setup) -> Result<Searched, Failure> {
    let params = tailsim_model::params::grid_params(&setup.source, &setup.overrides, &args.grid)
        .map_err(option_failure("--grid"))?;
    if setup.model.prices.is_empty() {
        return Err(Failure::input(
            "error: there is nothing to price: the scenario has no `prices`, so no design is cheaper than another\n  \
             = hint: add e.g. prices: [Service(service: \"api\", per_instance_hour: 0.17)]",
        ));
    }
    let designs = params.iter().map(|p| p.values.len() as u64).product::<u64>();
    let first = u64::from(setup.budget.first);
    if designs.saturating_mul(first) > setup.budget.max_runs {
        return Err(Failure::input(format!(
            "error: the grid's {designs} designs need {} runs for their first look, and --max-runs allows {}\n  \
             = hint: use fewer values, fewer --replications or a larger --max-runs",
            designs * first,
            setup.budget.max_runs
        )));
    }
    let at = |values: &[f64]| {
        let mut all = setup.overrides.clone();
        all.extend(
            params
                .iter()
                .zip(values)
                .map(|(p, v)| tailsim_model::Override { path: p.path.clone(), value: format_value(*v) }),
        );
        tailsim_model::load_with(&setup.source, &all, &setup.extra, &setup.files)
    };
    let plan = tailsim_sim::plan::grid::cheapest(&setup.model.name, &params, setup.budget, &at)
        .map_err(|errors| shared::scenario_failure(&setup.file, &setup.source, errors))?;
    let threshold = setup.model.slos.iter().find(|o| o.name == plan.latency).map(|o| o.bound.threshold());
    Ok(Searched {
        json: plan.to_json(),
        chart: chart(&plan, threshold),
        text: render(&plan),
        answered: plan.answer.is_some(),
        unsettled: !plan.cheaper_undecided().is_empty(),
        stopped: plan.stopped.clone(),
    })
}

/// A parameter's column: its path without the part kind (`api.instances`).
fn column(path: &str) -> &str {
    match path.split_once('.') {
        Some((_, rest)) if rest.contains('.') => rest,
        _ => path,
    }
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Met => "meets",
        Outcome::Missed => "misses",
        Outcome::Undecided => "undecided",
    }
}

fn values(plan: &Cheapest, d: &Design) -> String {
    let pairs = plan.params.iter().zip(&d.values).map(|(p, v)| format!("{p} = {}", format_value(*v)));
    pairs.collect::<Vec<_>>().join(", ")
}

fn cost(d: &Design) -> String {
    d.cost_per_hour.map_or_else(|| "-".into(), |c| format!("{}±{}", money(c.mean), money(c.ci95_half_width)))
}

/// The designs, the answer, the front and the evidence at the answer.
fn render(plan: &Cheapest) -> Document {
    let mut out = Document::default();
    let _ = writeln!(
        out,
        "{}: the cheapest of {} designs meeting every objective, seed {}\n",
        plan.scenario,
        plan.designs.len(),
        plan.seed
    );
    let mut header = vec!["design"];
    header.extend(plan.params.iter().map(|p| column(p)));
    let latency = plan.latency.clone();
    header.extend(["replications", "outcome", "cost/hour", latency.as_str(), "front"]);
    let mut table = Table::new(&header);
    for (i, d) in plan.designs.iter().enumerate() {
        let mut row = vec![(i + 1).to_string()];
        row.extend(d.values.iter().map(|v| format_value(*v)));
        let front = if d.on_front { "*" } else { "" };
        row.extend([
            d.replications.to_string(),
            outcome(d.outcome).into(),
            cost(d),
            with_ci(d.latency_ms),
            front.into(),
        ]);
        table.row(row);
    }
    out.table(table);
    let _ = match plan.answer() {
        Some(d) => {
            let per_hour = d.cost_per_hour.map_or(0.0, |c| c.mean);
            let (hour, month) = (money(per_hour), money(per_hour * 730.0));
            writeln!(
                out,
                "\nanswer: {}: {hour} an hour, {month} a 730-hour month ({} runs)",
                values(plan, d),
                plan.runs
            )
        }
        None if plan.cheaper_undecided().is_empty() => {
            writeln!(out, "\nanswer: no design of the grid meets every objective ({} runs)", plan.runs)
        }
        None => {
            writeln!(out, "\nanswer: no design of the grid was decided to meet every objective ({} runs)", plan.runs)
        }
    };
    for d in plan.cheaper_undecided() {
        let _ = writeln!(out, "undecided, and cheaper: {} (it may meet them too)", values(plan, d));
    }
    if let Some(why) = &plan.stopped {
        let _ = writeln!(out, "stopped: {why}");
    }
    front(plan, &mut out);
    if let Some(d) = plan.answer() {
        evidence(&mut out, "at the answer", &values(plan, d), d.replications, &d.verdicts);
    }
    out
}

/// The front of cost against latency: each design that no cheaper one beats.
fn front(plan: &Cheapest, out: &mut Document) {
    let front = plan.front();
    if front.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nthe front of cost against {} (what each step of money buys):", plan.latency);
    let mut table = Table::new(&["cost/hour", plan.latency.as_str(), "outcome", "design"]);
    for d in front {
        table.row(vec![cost(d), with_ci(d.latency_ms), outcome(d.outcome).into(), values(plan, d)]);
    }
    out.table(table);
}

/// The designs by cost and latency (those meeting every objective, those missing), the front
/// through them, the latency target dashed and the answer marked; `None` without a design that
/// has both a cost and a latency.
fn chart(plan: &Cheapest, threshold: Option<f64>) -> Option<Chart> {
    let point = |d: &&Design| Some((d.cost_per_hour?.mean, d.latency_ms?.mean));
    let of = |o: Outcome| -> Vec<(f64, f64)> {
        plan.designs.iter().filter(|d| d.outcome == o).filter_map(|d| point(&d)).collect()
    };
    let front: Vec<(f64, f64)> = plan.front().iter().filter_map(point).collect();
    if front.is_empty() {
        return None;
    }
    let costs = plan.designs.iter().filter_map(|d| point(&d)).map(|p| p.0);
    let (low, high) = costs.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), c| (l.min(c), h.max(c)));
    let mut lines = vec![LoadLine { name: "front".into(), points: front, colour: 0, style: Stroke::Measured }];
    let groups = [
        ("designs meeting every objective", Outcome::Met, 2),
        ("designs missing one", Outcome::Missed, 3),
        ("undecided designs", Outcome::Undecided, 4),
    ];
    for (name, o, colour) in groups {
        let points = of(o);
        if !points.is_empty() {
            lines.push(LoadLine { name: name.into(), points, colour, style: Stroke::Dots });
        }
    }
    if let Some(t) = threshold.filter(|t| t.is_finite()) {
        let name = format!("target: {}", tailsim_report::text::format_ms(t));
        lines.push(LoadLine { name, points: vec![(low, t), (high, t)], colour: 1, style: Stroke::Theory });
    }
    if let Some(answer) = plan.answer().as_ref().and_then(point) {
        let name = format!("answer: {} an hour", money(answer.0));
        lines.push(LoadLine { name, points: vec![answer], colour: 5, style: Stroke::Dots });
    }
    Some(Chart {
        file_stem: "plan".into(),
        title: format!("{}: {} against cost, {} designs", plan.scenario, plan.latency, plan.designs.len()),
        kind: ChartKind::Load(LoadChart {
            x_label: "cost per hour".into(),
            x_is_load: false,
            lines,
            groups_left_out: 0,
        }),
    })
}
