//! Swept parameters, as `sweep --param` and `plan --grid` give them: `path=from..to:steps`
//! (linear), `path=from..to:steps:log` (geometric) or `path=a,b,c` (a list), checked against
//! the scenario (whole-number fields get whole values), and the grid of their combinations.

use serde_json::Value;

use tailsim_scenario::diag::Diagnostic;
use tailsim_scenario::overrides::{self, Override};
use tailsim_scenario::schema::Scenario;

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
    pub fn resolve(mut self, scenario: &Scenario) -> Result<Param, Diagnostic> {
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

/// The most parameters a grid may have: a grid is small, or it is a sweep.
pub const MAX_PARAMS: usize = 3;

/// Reads `--grid` texts (a sweep's `path=from..to:steps` or `path=a,b,c`) as parameters
/// checked against `source` with `overrides`; whole-number values are rounded, as a sweep's are.
pub fn grid_params(source: &str, overrides: &[Override], texts: &[String]) -> Result<Vec<Param>, Diagnostic> {
    if texts.is_empty() || texts.len() > MAX_PARAMS {
        return Err(Diagnostic::error(format!("a grid has one to {MAX_PARAMS} parameters, not {}", texts.len()))
            .with_hint("fix the others with --set, or sweep them all with tailsim sweep"));
    }
    let scenario = overrides::parse_with(source, overrides)?;
    let rename = |d: Diagnostic| Diagnostic { message: d.message.replacen("--param", "--grid", 1), ..d };
    let mut params: Vec<Param> = Vec::new();
    for text in texts {
        let mut param = Param::parse(text).and_then(|p| p.resolve(&scenario)).map_err(rename)?;
        if params.iter().any(|p| p.path == param.path) {
            return Err(Diagnostic::error(format!("--grid {}: the path is given twice", param.path))
                .with_hint("give each parameter's values in one --grid, e.g. path=1,2,3,4"));
        }
        // A value given twice would be a design run twice under one name.
        let mut seen: Vec<f64> = Vec::new();
        param.values.retain(|v| {
            if seen.contains(v) {
                false
            } else {
                seen.push(*v);
                true
            }
        });
        params.push(param);
    }
    Ok(params)
}

/// Whether the value at `path` in `source` (with `overrides`) is a whole number, as instances
/// and workers are.
pub fn is_whole(source: &str, overrides: &[Override], path: &str) -> Result<bool, Diagnostic> {
    let scenario = overrides::parse_with(source, overrides)?;
    let value = overrides::current(&scenario, path)?;
    Ok(matches!(value, serde_json::Value::Number(n) if n.is_u64() || n.is_i64()))
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
