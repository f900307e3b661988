//! Loading: scenario text parsed, `--set` overrides applied, compiled into a [`Model`] with its
//! warnings, or every error. Variants, sweep points and extra objectives are loaded here too, so
//! that nothing above the model handles the file format's types.

use tailsim_scenario::schema::Slo;
use tailsim_scenario::{Diagnostic, Files, Override, Scenario, overrides};

use crate::compile::{self, Model};
use crate::params::{Param, format_value, grid};
use crate::{analysis, variants};

/// Parses, overrides and compiles scenario text: the model and its warnings, or every error.
/// The scenario's variants are compiled too, so that an error in one is found by `run` and
/// `check` as well as by `compare`.
/// Trace files are looked for from the current directory; [`load_in`] says where.
pub fn load(source: &str, overrides: &[Override]) -> Result<(Model, Vec<Diagnostic>), Vec<Diagnostic>> {
    load_in(source, overrides, &Files::default())
}

/// [`load`], reading trace files through `files` (from the scenario file's folder).
pub fn load_in(
    source: &str,
    overrides: &[Override],
    files: &Files,
) -> Result<(Model, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (scenario, model) = load_base(source, overrides, files)?;
    variants::compile_variants_in(&scenario, source, files)?;
    let warnings = analysis::warnings(&model, source);
    Ok((model, warnings))
}

/// Like [`load`], for `compare`: the scenario itself, named [`variants::BASE_NAME`], then each
/// of its variants (with `overrides` applied under every one), and the base's warnings.
#[allow(clippy::type_complexity)]
pub fn load_variants(
    source: &str,
    overrides: &[Override],
) -> Result<(Vec<(String, Model)>, Vec<Diagnostic>), Vec<Diagnostic>> {
    load_variants_in(source, overrides, &Files::default())
}

/// [`load_variants`], reading trace files through `files`.
#[allow(clippy::type_complexity)]
pub fn load_variants_in(
    source: &str,
    overrides: &[Override],
    files: &Files,
) -> Result<(Vec<(String, Model)>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (scenario, model) = load_base(source, overrides, files)?;
    let warnings = analysis::warnings(&model, source);
    let mut all = vec![(variants::BASE_NAME.to_string(), model)];
    all.extend(variants::compile_variants_in(&scenario, source, files)?);
    Ok((all, warnings))
}

fn load_base(source: &str, overrides: &[Override], files: &Files) -> Result<(Scenario, Model), Vec<Diagnostic>> {
    let scenario = overrides::parse_with(source, overrides).map_err(|d| vec![d])?;
    let model = compile::compile_in(&scenario, source, files)?;
    Ok((scenario, model))
}

/// Loads the scenario once per point: `overrides` (from `--set`), then the point's values.
/// An invalid point stops with that point's errors.
#[allow(clippy::type_complexity)]
pub fn load_points(
    source: &str,
    overrides: &[Override],
    params: &[Param],
) -> Result<Vec<(Vec<f64>, Model)>, Vec<Diagnostic>> {
    load_points_in(source, overrides, params, &Files::default())
}

/// [`load_points`], reading trace files through `files` (each file once for every point).
#[allow(clippy::type_complexity)]
pub fn load_points_in(
    source: &str,
    overrides: &[Override],
    params: &[Param],
    files: &Files,
) -> Result<Vec<(Vec<f64>, Model)>, Vec<Diagnostic>> {
    let scenario = overrides::parse_with(source, overrides).map_err(|d| vec![d])?;
    let params: Vec<Param> =
        params.iter().map(|p| p.clone().resolve(&scenario)).collect::<Result<_, _>>().map_err(|d| vec![d])?;
    let mut points = Vec::new();
    for values in grid(&params).map_err(|d| vec![d])? {
        let mut all = overrides.to_vec();
        all.extend(params.iter().zip(&values).map(|(p, v)| Override { path: p.path.clone(), value: format_value(*v) }));
        let at = all[overrides.len()..].iter().map(|o| format!("{}={}", o.path, o.value)).collect::<Vec<_>>().join(" ");
        let (model, _) = load_in(source, &all, files).map_err(|errors| {
            errors
                .into_iter()
                .map(|d| Diagnostic { message: format!("at the point {at}: {}", d.message), ..d })
                .collect::<Vec<_>>()
        })?;
        points.push((values, model));
    }
    Ok(points)
}

/// Compiles `source` with `overrides`, and `extra` objectives beside the scenario's own.
pub fn load_with(source: &str, overrides: &[Override], extra: &[Slo], files: &Files) -> Result<Model, Vec<Diagnostic>> {
    let mut scenario = overrides::parse_with(source, overrides).map_err(|d| vec![d])?;
    scenario.slos.extend_from_slice(extra);
    compile::compile_in(&scenario, source, files)
}
