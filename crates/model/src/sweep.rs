//! Parameter sweeps (`tailsim sweep`): `--param path=from..to:steps` (linear), `...:log`
//! (geometric) or `path=a,b,c` (a list); several parameters make a grid. Every point runs its
//! replications with the same seed, so neighbouring points share their random numbers and the
//! curve is smooth; points run in parallel.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tailsim_stats::sweep::{Busiest, MmcTheory, Sweep, SweepPoint, SweepRun};

use crate::analysis;
use crate::compile::Model;
use crate::shard::{self, Shard};
use crate::world::{self, Limits};
use tailsim_scenario::diag::Diagnostic;
use tailsim_scenario::overrides::{self, Override};

/// The most points a sweep may have, over the whole grid.
pub const MAX_POINTS: usize = 10_000;

const SYNTAX_HINT: &str = "write path=from..to:steps (linear), path=from..to:steps:log (geometric) or path=a,b,c, \
     e.g. --param clients.users.rate=100..2000:20";

/// One swept parameter: a path as `--set` takes it, and its values in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The path.
    pub path: String,
    /// The values, in sweep order.
    pub values: Vec<f64>,
}

impl Param {
    /// Parses `path=from..to:steps`, `path=from..to:steps:log` or `path=a,b,c`. `steps` counts
    /// the points, both ends included; log steps need positive ends.
    pub fn parse(text: &str) -> Result<Param, Diagnostic> {
        let fail = |why: String| Diagnostic::error(format!("--param {text}: {why}")).with_hint(SYNTAX_HINT);
        let Some((path, spec)) = text.split_once('=') else {
            return Err(fail("no `=` between the path and the values".into()));
        };
        let (path, spec) = (path.trim(), spec.trim());
        if path.is_empty() {
            return Err(fail("the path is empty".into()));
        }
        let number = |s: &str| -> Result<f64, Diagnostic> {
            match s.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => Err(fail(format!("`{}` is not a number", s.trim()))),
            }
        };
        let values = if let Some((from, rest)) = spec.split_once("..") {
            let mut parts = rest.split(':');
            let to = parts.next().unwrap_or_default();
            let Some(steps) = parts.next() else {
                return Err(fail("the number of steps is missing (`:steps`)".into()));
            };
            let log = match parts.next() {
                None => false,
                Some("log") => true,
                Some(other) => return Err(fail(format!("unknown spacing `{other}`; only `log` is known"))),
            };
            if parts.next().is_some() {
                return Err(fail("too many `:` parts".into()));
            }
            let (from, to) = (number(from)?, number(to)?);
            let steps: usize = match steps.trim().parse() {
                Ok(n) if (1..=MAX_POINTS).contains(&n) => n,
                _ => return Err(fail(format!("steps must be a whole number from 1 to {MAX_POINTS}, got `{steps}`"))),
            };
            if log && (from <= 0.0 || to <= 0.0) {
                return Err(fail("log steps need both ends above zero".into()));
            }
            (0..steps)
                .map(|i| {
                    let f = if steps == 1 { 0.0 } else { i as f64 / (steps - 1) as f64 };
                    if i + 1 == steps && steps > 1 {
                        to
                    } else if log {
                        from * (to / from).powf(f)
                    } else {
                        from + (to - from) * f
                    }
                })
                .collect()
        } else {
            let items: Vec<&str> = spec.split(',').collect();
            if items.len() > MAX_POINTS {
                return Err(fail(format!("more than {MAX_POINTS} values")));
            }
            items.into_iter().map(number).collect::<Result<Vec<f64>, _>>()?
        };
        Ok(Param { path: path.to_string(), values })
    }

    /// Checks the path against the scenario and, where the value there is a whole number
    /// (workers, instances), rounds the values to whole numbers and drops repeats.
    pub fn resolve(mut self, scenario: &tailsim_scenario::Scenario) -> Result<Param, Diagnostic> {
        let current = overrides::current(scenario, &self.path)
            .map_err(|d| Diagnostic { message: format!("--param {}: {}", self.path, d.message), ..d })?;
        match current {
            Value::Number(n) if n.is_u64() || n.is_i64() => {
                let mut rounded: Vec<f64> = self.values.iter().map(|v| v.round()).collect();
                rounded.dedup();
                self.values = rounded;
            }
            Value::Number(_) | Value::Null => {}
            other => {
                return Err(Diagnostic::error(format!(
                    "--param {}: only numbers can be swept, and the value here is {other}",
                    self.path
                ))
                .with_hint("use compare with variants to try other kinds of values"));
            }
        }
        Ok(self)
    }
}

/// The text an override gets for a value: whole numbers without a fraction (so they fit
/// integer fields), others in Rust's shortest exact form.
pub fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 9.0e15 { format!("{}", value as i64) } else { format!("{value}") }
}

/// Every combination of the parameters' values, the first parameter varying slowest; an error
/// when there would be more than [`MAX_POINTS`].
pub fn grid(params: &[Param]) -> Result<Vec<Vec<f64>>, Diagnostic> {
    let count = params.iter().try_fold(1usize, |n, p| n.checked_mul(p.values.len()));
    match count {
        Some(n) if n <= MAX_POINTS => {}
        _ => {
            return Err(Diagnostic::error(format!("the grid has more than {MAX_POINTS} points"))
                .with_hint("use fewer steps or fewer parameters"));
        }
    }
    let mut points: Vec<Vec<f64>> = vec![Vec::new()];
    for p in params {
        points = points
            .iter()
            .flat_map(|prefix| p.values.iter().map(move |&v| [prefix.as_slice(), &[v]].concat()))
            .collect();
    }
    Ok(points)
}

/// Loads the scenario once per point: `overrides` (from `--set`), then the point's values.
/// An invalid point stops with that point's errors.
#[allow(clippy::type_complexity)]
pub fn load_points(
    source: &str,
    overrides: &[Override],
    params: &[Param],
) -> Result<Vec<(Vec<f64>, Model)>, Vec<Diagnostic>> {
    load_points_in(source, overrides, params, &crate::Files::default())
}

/// [`load_points`], reading trace files through `files` (each file once for every point).
#[allow(clippy::type_complexity)]
pub fn load_points_in(
    source: &str,
    overrides: &[Override],
    params: &[Param],
    files: &crate::Files,
) -> Result<Vec<(Vec<f64>, Model)>, Vec<Diagnostic>> {
    let scenario = tailsim_scenario::parse::parse(source).map_err(|d| vec![d])?;
    let scenario = overrides::apply(scenario, overrides).map_err(|d| vec![d])?;
    let params: Vec<Param> =
        params.iter().map(|p| p.clone().resolve(&scenario)).collect::<Result<_, _>>().map_err(|d| vec![d])?;
    let mut points = Vec::new();
    for values in grid(&params).map_err(|d| vec![d])? {
        let mut all = overrides.to_vec();
        all.extend(params.iter().zip(&values).map(|(p, v)| Override { path: p.path.clone(), value: format_value(*v) }));
        let at = params
            .iter()
            .zip(&values)
            .map(|(p, v)| format!("{}={}", p.path, format_value(*v)))
            .collect::<Vec<_>>()
            .join(" ");
        let (model, _) = crate::load_in(source, &all, files).map_err(|errors| {
            errors
                .into_iter()
                .map(|d| Diagnostic { message: format!("at the point {at}: {}", d.message), ..d })
                .collect::<Vec<_>>()
        })?;
        points.push((values, model));
    }
    Ok(points)
}

/// The busiest service by offered load (the first of equals).
pub fn busiest(model: &Model) -> Busiest {
    let loads = analysis::offered_load(model);
    let mut best = 0;
    for (i, l) in loads.iter().enumerate() {
        if l.offered_load > loads[best].offered_load {
            best = i;
        }
    }
    Busiest {
        service_index: best,
        service: loads.get(best).map(|l| l.service.clone()).unwrap_or_default(),
        offered_load: loads.get(best).map_or(0.0, |l| l.offered_load),
    }
}

/// The M/M/c theory of the most loaded M/M/c-like service, if there is one.
pub fn theory(model: &Model) -> Option<MmcTheory> {
    let mut best: Option<analysis::Mmc> = None;
    for m in analysis::mmc(model).into_iter().flatten() {
        let load = |m: &analysis::Mmc| m.arrival_rate_per_s * m.mean_service_s / f64::from(m.workers);
        if best.as_ref().is_none_or(|b| load(&m) > load(b)) {
            best = Some(m);
        }
    }
    best.map(|m| MmcTheory {
        service_index: m.service,
        service: model.services[m.service].name.clone(),
        workers: m.workers,
        mean_ms: m.mean_response_s * 1e3,
        p99_ms: m.p99_response_s * 1e3,
    })
}

/// What every shard of a sweep computes alike: its names, options and each point's offered
/// load and theory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Setup {
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
    pub points: Vec<PointSetup>,
}

/// One point of a sweep before it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointSetup {
    /// The parameters' values.
    pub values: Vec<f64>,
    /// The index of the reported client in the point's model.
    pub client: usize,
    /// Its busiest service by offered load.
    pub busiest: Busiest,
    /// Erlang C's figures for its busiest M/M/c-like service, if it has one.
    pub theory: Option<MmcTheory>,
}

/// What one run of a sweep keeps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The figures of the point's statistics.
    pub run: SweepRun,
    /// How it broke conservation of requests, if it did (a bug).
    pub broken: Option<String>,
}

impl Setup {
    /// The setup of sweeping `points` (the parameter paths `params`) with `replications`
    /// (at least one) each, reporting `client`'s latency.
    pub fn new(
        scenario: &str,
        params: Vec<String>,
        points: &[(Vec<f64>, Model)],
        seed: u64,
        replications: u32,
        client: &str,
    ) -> Setup {
        let points = points
            .iter()
            .map(|(values, model)| PointSetup {
                values: values.clone(),
                client: crate::compare::client_index(model, client).unwrap_or(usize::MAX),
                busiest: busiest(model),
                theory: theory(model),
            })
            .collect();
        let replications = replications.max(1);
        Setup { scenario: scenario.to_string(), seed, replications, client: client.to_string(), params, points }
    }

    /// How many runs the sweep makes.
    pub fn runs(&self) -> u64 {
        self.points.len() as u64 * u64::from(self.replications)
    }

    /// Runs job `job` of the sweep: point `job / R`'s replication `job % R`.
    pub fn run(&self, points: &[(Vec<f64>, Model)], job: u64, limits: Limits) -> Outcome {
        let replications = u64::from(self.replications);
        let (p, r) = ((job / replications) as usize, (job % replications) as u32);
        let (values, model) = &points[p];
        let setup = &self.points[p];
        let run = world::run(model, self.seed, r, limits);
        let broken = (!run.conservation.holds)
            .then(|| format!("point {values:?} replication {}: {:?}", run.replication, run.conservation));
        let mmc = setup.theory.as_ref().map(|t| t.service_index);
        Outcome { run: SweepRun::of(&run, setup.client, setup.busiest.service_index, mmc), broken }
    }

    /// The sweep of the runs' outcomes, in job order. The second value describes the first
    /// run that broke conservation of requests, if one did (a bug).
    pub fn finish(&self, outcomes: Vec<Outcome>) -> (Sweep, Option<String>) {
        let broken = outcomes.iter().find_map(|o| o.broken.clone());
        let runs: Vec<SweepRun> = outcomes.into_iter().map(|o| o.run).collect();
        let points = self
            .points
            .iter()
            .zip(runs.chunks(self.replications as usize))
            .map(|(p, runs)| SweepPoint::from_runs(p.values.clone(), runs, p.busiest.clone(), p.theory.clone()))
            .collect();
        let sweep = Sweep {
            scenario: self.scenario.clone(),
            seed: self.seed,
            replications: self.replications,
            client: self.client.clone(),
            params: self.params.clone(),
            points,
        };
        (sweep, broken)
    }
}

/// Runs every point `replications` times, in parallel on rayon's current pool (the result does
/// not depend on the number of threads), keeping of each run only the figures its point's
/// statistics need. The second value describes the first run that broke conservation of
/// requests, if one did (a bug).
pub fn sweep(
    points: &[(Vec<f64>, Model)],
    seed: u64,
    replications: u32,
    client: &str,
    limits: Limits,
) -> (Vec<SweepPoint>, Option<String>) {
    let setup = Setup::new("", Vec::new(), points, seed, replications, client);
    let outcomes = shard::run(Shard::WHOLE, setup.runs(), |job| setup.run(points, job, limits));
    let (sweep, broken) = setup.finish(outcomes);
    (sweep.points, broken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_linear_log_and_list_params() {
        let p = Param::parse("clients.users.rate=100..500:5").unwrap();
        assert_eq!(p.path, "clients.users.rate");
        assert_eq!(p.values, [100.0, 200.0, 300.0, 400.0, 500.0]);
        let p = Param::parse("x=1..1000:4:log").unwrap();
        let expected = [1.0, 10.0, 100.0, 1000.0];
        assert!(p.values.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-9 * b), "{:?}", p.values);
        assert_eq!(Param::parse("x=1,2, 4").unwrap().values, [1.0, 2.0, 4.0]);
        assert_eq!(Param::parse("x=7..9:1").unwrap().values, [7.0]);
        for bad in [
            "x",
            "=1..2:3",
            "x=1..2",
            "x=1..2:0",
            "x=1..2:3:cubic",
            "x=0..2:3:log",
            "x=a..2:3",
            "x=1,,2",
            "x=1..2:99999999",
        ] {
            let d = Param::parse(bad).expect_err(bad);
            assert!(d.message.starts_with(&format!("--param {bad}: ")), "{}", d.message);
            assert!(d.hint.is_some());
        }
    }

    #[test]
    fn grids_are_bounded_and_ordered() {
        let a = Param { path: "a".into(), values: vec![1.0, 2.0] };
        let b = Param { path: "b".into(), values: vec![10.0, 20.0, 30.0] };
        let g = grid(&[a.clone(), b]).unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], [1.0, 10.0]);
        assert_eq!(g[3], [2.0, 10.0]);
        let big = Param { path: "c".into(), values: vec![0.0; 5_001] };
        assert!(grid(&[a, big]).is_err());
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.25), "0.25");
    }
}
