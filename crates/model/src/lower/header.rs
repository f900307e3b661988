//! The scenario's own settings: a duration that a run can have, a warm-up shorter than it,
//! some clients, a time-series window of at least a millisecond, and names that are safe to
//! print, to use in a file name and to put in a spreadsheet.

use tailsim_engine::SimDuration;

use super::Cx;
use tailsim_scenario::diag::{Diagnostic, locate_unique};
use tailsim_scenario::schema::{MAX_DURATION, refuse_name};

/// Checks the duration, the warm-up and that there are clients.
pub(super) fn check(cx: &mut Cx<'_>) {
    let scenario = cx.scenario;
    if scenario.duration.0 == SimDuration::ZERO || scenario.duration.0 > MAX_DURATION {
        cx.error(
            Diagnostic::error(format!(
                "`duration` must be longer than zero and at most 100 years, got {}",
                scenario.duration.0
            ))
            .at(locate_unique(cx.source, "duration:")),
        );
    }
    if scenario.warmup.0 >= scenario.duration.0 && scenario.duration.0 > SimDuration::ZERO {
        cx.error(
            Diagnostic::error(format!(
                "`warmup` ({}) must be shorter than `duration` ({})",
                scenario.warmup.0, scenario.duration.0
            ))
            .at(locate_unique(cx.source, "warmup:"))
            .with_hint("nothing would be measured"),
        );
    }
    if scenario.clients.is_empty() {
        cx.error(Diagnostic::error("the scenario has no clients").with_hint("add `clients: [Client(...)]`"));
    }
}

/// Checks the time-series window.
pub(super) fn check_window(cx: &mut Cx<'_>) {
    let scenario = cx.scenario;
    if scenario.window.0 < SimDuration::from_millis(1) {
        cx.error(Diagnostic::error("`window` must be at least 1ms").at(locate_unique(cx.source, "window:")));
    }
}

/// Checks every name the scenario gives: the scenario's, its clients', classes', services',
/// caches' and variants'.
pub(super) fn check_names(cx: &mut Cx<'_>) {
    let scenario = cx.scenario;
    let mut names: Vec<(String, &str)> = vec![("name".into(), scenario.name.as_str())];
    for (i, c) in scenario.clients.iter().enumerate() {
        names.push((format!("clients[{i}]"), &c.name));
        for (k, class) in c.classes.iter().enumerate() {
            names.push((format!("clients[{i}] .classes[{k}]"), &class.name));
        }
    }
    names.extend(scenario.services.iter().enumerate().map(|(i, s)| (format!("services[{i}]"), s.name.as_str())));
    names.extend(scenario.caches.iter().enumerate().map(|(i, c)| (format!("caches[{i}]"), c.name.as_str())));
    names.extend(scenario.variants.iter().enumerate().map(|(i, v)| (format!("variants[{i}]"), v.name.as_str())));
    for (path, name) in names {
        if let Some(why) = refuse_name(name) {
            cx.error(
                Diagnostic::error(format!("the name {:?} cannot be used: {why}", tailsim_scenario::diag::clipped(name, 40)))
                    .at_path(path)
                    .at(cx.index.name(name))
                    .with_hint("names are printed in tables, used in file names and written to CSV: letters, digits, spaces and punctuation"),
            );
        }
    }
}
