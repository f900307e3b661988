//! Lowering: from the parsed [`Scenario`] to the runtime [`Model`], as passes over
//! one context. Each pass owns one part of the scenario (the header, classes, clients,
//! services, caches, faults) and reports what is wrong with it through [`Cx::error`]; the
//! cross-checks run last, on a model without errors. The passes run in a fixed order, so the
//! diagnostics come out in the order the scenario is read.

mod admission;
mod batches;
mod caches;
mod checks;
mod classes;
mod clients;
mod faults;
mod header;

mod policy;
mod prices;
mod services;
mod slos;
mod steps;
mod topics;

use std::cell::Cell;
use std::collections::BTreeMap;

use tailsim_engine::Dist;

use crate::compile::{ClassModel, Edge, Model, ServiceId, compile_dist};
use tailsim_scenario::diag::{Diagnostic, Index, Location, listed, suggest};
use tailsim_scenario::schema::{DistSpec, Scenario};
use tailsim_scenario::trace::Files;

/// What every pass reads and writes: the scenario and its text, the name tables, the model's
/// shared parts as they are built, and the errors found so far.
pub(crate) struct Cx<'a> {
    /// The scenario being lowered.
    scenario: &'a Scenario,
    /// Its text, to point diagnostics at a line and column.
    source: &'a str,
    /// Where its names and strings stand in the text, read once.
    index: Index<'a>,
    /// Where trace files are read from.
    files: &'a Files,
    /// Each service's id by name.
    ids: BTreeMap<&'a str, ServiceId>,
    /// The services' names in order, for suggestions.
    names: Vec<&'a str>,
    /// The caches' names in order.
    caches: Vec<&'a str>,
    /// The topics' names in order.
    topics: Vec<&'a str>,
    /// The request classes, once the classes pass has run.
    classes: Vec<ClassModel>,
    /// The batchers of the service being lowered, taken by it once its handlers are done.
    batches: Vec<crate::compile::BatchModel>,
    /// Whether the steps being lowered are a batch's (where no `Batch` may nest).
    in_batch: bool,
    /// Every call edge, from clients and from handlers' steps, in order of declaration.
    edges: Vec<Edge>,
    /// The errors found, in the order found.
    errors: Vec<Diagnostic>,
    /// How many more names did-you-mean hints may compare a word with (see
    /// [`SUGGESTION_BUDGET`]).
    comparisons_left: Cell<usize>,
}

/// The most name comparisons the did-you-mean hints of one scenario may make. Each unknown
/// name is compared with every service (or cache): thousands of each would cost their product,
/// and 20,000 of each took 19 s. Within the budget the hints are as they always were; past it,
/// the later errors (those past the first shown) list the valid names without a closest one.
const SUGGESTION_BUDGET: usize = 2_000_000;

impl<'a> Cx<'a> {
    /// Reports an error; lowering goes on to find the others.
    fn error(&mut self, diagnostic: Diagnostic) {
        self.errors.push(diagnostic);
    }

    /// The id of the service named `name`, if there is one.
    fn service(&self, name: &str) -> Option<ServiceId> {
        self.ids.get(name).copied()
    }

    /// An optional distribution such as a think time or a lag: zero when absent, and when it
    /// is refused (reported as `what`, under `path` at `at`).
    fn dist_or_zero(&mut self, what: &str, spec: Option<&DistSpec>, path: &str, at: Option<Location>) -> Dist {
        match spec.map(compile_dist) {
            None => Dist::Constant(0.0),
            Some(Ok(dist)) => dist,
            Some(Err(why)) => {
                self.error(Diagnostic::error(format!("`{what}`: {why}")).at_path(path).at(at));
                Dist::Constant(0.0)
            }
        }
    }

    /// The hint for `word`, an unknown name among `names` (the services' or the caches',
    /// called `what`): the closest name while the budget of comparisons lasts, else the list.
    fn suggest_among(&self, word: &str, names: &[&str], what: &str) -> String {
        match self.comparisons_left.get().checked_sub(names.len()) {
            Some(left) => {
                self.comparisons_left.set(left);
                suggest(word, names, what)
            }
            None => listed(names, what),
        }
    }

    /// The index of `name` among `names` (the caches' or the topics', called `what`), or an
    /// error at `path` that `who` names an unknown one, with a did-you-mean hint, or without
    /// any of them, how to `declare` one.
    fn named(&mut self, names: &[&str], name: &str, path: &str, who: &str, what: &str, declare: &str) -> Option<u32> {
        let found = names.iter().position(|n| *n == name).map(|i| i as u32);
        if found.is_none() {
            let hint = if names.is_empty() { declare.to_string() } else { self.suggest_among(name, names, what) };
            let singular = what.strip_suffix('s').unwrap_or(what);
            self.error(
                Diagnostic::error(format!("{who} names an unknown {singular} \"{name}\""))
                    .at_path(path)
                    .at(self.index.quoted(name))
                    .with_hint(hint),
            );
        }
        found
    }

    /// The hint for `word`, an unknown service's name.
    fn suggest_service(&self, word: &str) -> String {
        self.suggest_among(word, &self.names, "services")
    }

    /// The request classes' names, for suggestions.
    fn class_names(&self) -> Vec<&str> {
        self.classes.iter().map(|c| c.name.as_str()).collect()
    }
}

/// Checks a scenario and builds its model; all errors are returned, not just the first.
pub(crate) fn lower(scenario: &Scenario, source: &str, files: &Files) -> Result<Model, Vec<Diagnostic>> {
    let mut cx = Cx {
        scenario,
        source,
        index: Index::new(source),
        files,
        ids: BTreeMap::new(),
        names: scenario.services.iter().map(|s| s.name.as_str()).collect(),
        caches: scenario.caches.iter().map(|c| c.name.as_str()).collect(),
        topics: scenario.topics.iter().map(|t| t.name.as_str()).collect(),
        classes: Vec::new(),
        batches: Vec::new(),
        in_batch: false,
        edges: Vec::new(),
        errors: Vec::new(),
        comparisons_left: Cell::new(SUGGESTION_BUDGET),
    };
    header::check(&mut cx);
    header::check_names(&mut cx);
    name_services(&mut cx);
    let levels = classes::compile(&mut cx);
    let (clients, key_space) = clients::compile(&mut cx);
    let mut services = services::compile(&mut cx, key_space);
    let caches = caches::compile(&mut cx, &services, key_space);
    let mut topics = topics::compile(&mut cx, &mut services);
    faults::compile(&mut cx, &mut services);
    faults::broker(&mut cx, &mut topics);
    faults::check_cpu_quotas(&mut cx, &services);
    header::check_window(&mut cx);
    let slos = slos::compile(&mut cx, &clients, &services, &caches);
    let prices = prices::compile(&mut cx, &caches);
    if cx.errors.is_empty() {
        checks::check_keys(&mut cx, &clients, &services, &caches);
    }
    if cx.errors.is_empty()
        && let Some(cycle) = checks::find_cycle(&services)
    {
        let names: Vec<&str> = cycle.iter().map(|id| services[id.0 as usize].name.as_str()).collect();
        cx.error(
            Diagnostic::error(format!("the call graph has a cycle: {}", names.join(" -> ")))
                .at_path(format!("services[{}] \"{}\"", cycle[0].0, names[0]))
                .at(cx.index.name(names[0]))
                .with_hint("a request would call itself forever; remove one of these calls"),
        );
    }
    if !cx.errors.is_empty() {
        tailsim_scenario::spans::point_at_items(&mut cx.errors, source);
        return Err(cx.errors);
    }
    Ok(Model {
        name: scenario.name.clone(),
        description: scenario.description.clone(),
        duration: scenario.duration.0,
        warmup: scenario.warmup.0,
        seed: scenario.seed.unwrap_or(1),
        window: scenario.window.0,
        clients,
        services,
        edges: cx.edges,
        classes: cx.classes,
        priority_levels: levels,
        caches,
        topics,
        slos,
        prices,
    })
}

/// Gives each service its id, and reports a name used twice.
fn name_services(cx: &mut Cx<'_>) {
    let scenario = cx.scenario;
    for (i, s) in scenario.services.iter().enumerate() {
        if cx.ids.insert(s.name.as_str(), ServiceId(i as u32)).is_some() {
            cx.error(
                Diagnostic::error(format!("two services are named \"{}\"", s.name))
                    .at_path(format!("services[{i}]"))
                    .with_hint("service names must be unique"),
            );
        }
    }
}
