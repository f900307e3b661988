//! Parameter sweeps (`tailsim sweep`): `--param path=from..to:steps` (linear), `...:log`
//! (geometric) or `path=a,b,c` (a list); several parameters make a grid. Every point runs its
//! replications with the same seed, so neighbouring points share their random numbers and the
//! curve is smooth; points run in parallel.

use rayon::prelude::*;
use serde_json::Value;
use tailsim_stats::RunSummary;
use tailsim_stats::sweep::{Busiest, MmcTheory, SweepPoint};

use crate::analysis;
use crate::compile::Model;
use crate::diag::Diagnostic;
use crate::overrides::{self, Override};
use crate::world::{self, Limits};

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
    pub fn resolve(mut self, scenario: &crate::Scenario) -> Result<Param, Diagnostic> {
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
    let scenario = crate::parse::parse(source).map_err(|d| vec![d])?;
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

/// Runs every point `replications` times, in parallel on rayon's current pool (the result does
/// not depend on the number of threads), and summarises each point as its runs finish, so
/// memory holds no more than the runs in progress. The second value describes the first run
/// that broke conservation of requests, if one did (a bug).
pub fn sweep(
    points: &[(Vec<f64>, Model)],
    seed: u64,
    replications: u32,
    client: &str,
    limits: Limits,
) -> (Vec<SweepPoint>, Option<String>) {
    let results: Vec<(SweepPoint, Option<String>)> = points
        .par_iter()
        .map(|(values, model)| {
            let runs: Vec<RunSummary> =
                (0..replications.max(1)).into_par_iter().map(|r| world::run(model, seed, r, limits)).collect();
            let broken = runs
                .iter()
                .find(|r| !r.conservation.holds)
                .map(|r| format!("point {values:?} replication {}: {:?}", r.replication, r.conservation));
            let client = crate::compare::client_index(model, client).unwrap_or(usize::MAX);
            (SweepPoint::from_runs(values.clone(), &runs, client, busiest(model), theory(model)), broken)
        })
        .collect();
    let broken = results.iter().find_map(|(_, b)| b.clone());
    (results.into_iter().map(|(p, _)| p).collect(), broken)
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
