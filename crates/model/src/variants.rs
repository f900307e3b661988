//! A scenario's `variants`: named sets of overrides, each compiled into its own [`Model`] beside
//! the scenario itself (the `base`), for `tailsim compare`.
//!
//! A variant's errors point at its entry in the file: a bad path or value at the key that
//! holds it, a semantic error of the result (say `workers: 0`) at the `Variant(`.

use crate::compile::{self, Model};
use tailsim_scenario::diag::{Diagnostic, Index};
use tailsim_scenario::overrides::{self, Override};
use tailsim_scenario::schema::Scenario;
use tailsim_scenario::trace::Files;

/// The name the scenario itself goes by among its variants.
pub const BASE_NAME: &str = "base";

/// The most variants a scenario may declare.
pub const MAX_VARIANTS: usize = 64;

/// The most overrides one variant may carry.
pub const MAX_SETTINGS: usize = 1_000;

/// Compiles every variant of `scenario` (whose own overrides, `--set`, are already applied),
/// in file order: the name and the model of each, or every error found.
pub fn compile_variants(scenario: &Scenario, source: &str) -> Result<Vec<(String, Model)>, Vec<Diagnostic>> {
    compile_variants_in(scenario, source, &Files::default())
}

/// [`compile_variants`], reading trace files through `files`.
pub fn compile_variants_in(
    scenario: &Scenario,
    source: &str,
    files: &Files,
) -> Result<Vec<(String, Model)>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let index = Index::new(source);
    if scenario.variants.len() > MAX_VARIANTS {
        errors.push(
            Diagnostic::error(format!(
                "the scenario has {} variants; at most {MAX_VARIANTS} are allowed",
                scenario.variants.len()
            ))
            .at(index.variant(MAX_VARIANTS, None))
            .with_hint("split the comparison into several files"),
        );
        return Err(errors);
    }
    let mut base = scenario.clone();
    base.variants.clear();
    for (i, variant) in scenario.variants.iter().enumerate() {
        let path = format!("variants[{i}] \"{}\"", variant.name);
        let here = index.variant(i, None);
        let name_error = if variant.name.trim().is_empty() {
            Some("a variant needs a name".to_string())
        } else if variant.name == BASE_NAME {
            Some(format!("`{BASE_NAME}` is the name of the scenario itself"))
        } else if scenario.variants[..i].iter().any(|v| v.name == variant.name) {
            Some(format!("the name \"{}\" is used by an earlier variant", variant.name))
        } else if variant.set.len() > MAX_SETTINGS {
            Some(format!("{} settings; at most {MAX_SETTINGS} are allowed", variant.set.len()))
        } else {
            None
        };
        if let Some(message) = name_error {
            errors.push(
                Diagnostic::error(message).at_path(&path).at(here).with_hint("give each variant its own short name"),
            );
            continue;
        }
        let set: Vec<Override> =
            variant.set.iter().map(|(path, value)| Override { path: path.clone(), value: value.0.clone() }).collect();
        let changed = match overrides::apply_each(base.clone(), &set) {
            Ok(changed) => changed,
            Err(e) => {
                let o = &set[e.index as usize];
                let what = if e.bad_value { format!("{}={}", o.path, o.value) } else { o.path.clone() };
                let hint = e.diagnostic.hint.clone().unwrap_or_else(|| {
                    "a key is a path as `--set` takes it, e.g. \"services.db.workers\"; a value is what `--set` would take after `=`".to_string()
                });
                errors.push(
                    Diagnostic::error(format!("{what}: {}", e.diagnostic.message))
                        .at_path(&path)
                        .at(index.variant(i, Some(&o.path)))
                        .with_hint(hint),
                );
                continue;
            }
        };
        match compile::compile_in(&changed, "", files) {
            Ok(model) => out.push((variant.name.clone(), model)),
            Err(found) => errors.extend(found.into_iter().map(|d| {
                let message = match &d.path {
                    Some(item) => format!("{item}: {}", d.message),
                    None => d.message.clone(),
                };
                // A bad row of a trace keeps its place in the trace's file.
                let location = if d.in_file.is_some() { d.location } else { here };
                Diagnostic { message, path: Some(path.clone()), location, ..d }
            })),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"Scenario(
    name: "v",
    duration: "10s",
    clients: [Client(name: "users", target: "s", rate: 100.0)],
    services: [Service(name: "s", handler: [Work(Exponential(mean: "1ms"))])],
    variants: [
        Variant(name: "two", set: {"services.s.workers": 2}),
        Variant(name: "bad", set: {
            "services.s.wrokers": 2,
        }),
        Variant(name: "none", set: {"services.s.workers": 0}),
    ],
)"#;

    #[test]
    fn compiles_good_variants_and_points_at_bad_ones() {
        let scenario = tailsim_scenario::parse::parse(SOURCE).expect("parses");
        let errors = compile_variants(&scenario, SOURCE).expect_err("two variants are bad");
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert_eq!(errors[0].path.as_deref(), Some(r#"variants[1] "bad""#));
        assert_eq!(errors[0].message, "services.s.wrokers: no field `wrokers` here");
        assert_eq!(errors[0].location, Some(crate::Location { line: 9, column: 13 }));
        assert_eq!(errors[0].hint.as_deref(), Some("did you mean `workers`?"));
        assert_eq!(errors[1].path.as_deref(), Some(r#"variants[2] "none""#));
        assert!(errors[1].message.starts_with(r#"services[0] "s": `workers` must be"#), "{}", errors[1].message);
        assert_eq!(errors[1].location, Some(crate::Location { line: 11, column: 9 }));

        let good = SOURCE.replace("wrokers", "workers").replace("workers\": 0", "workers\": 3");
        let scenario = tailsim_scenario::parse::parse(&good).expect("parses");
        let variants = compile_variants(&scenario, &good).expect("valid");
        let workers: Vec<(&str, u32)> = variants.iter().map(|(n, m)| (n.as_str(), m.services[0].workers)).collect();
        assert_eq!(workers, [("two", 2), ("bad", 2), ("none", 3)]);
    }
}
