//! Clients: how each one sends (a rate, users who think, or a replayed trace), the traffic
//! shape, its classes and keys, and the edge to the service it calls.

use std::collections::BTreeMap;

use tailsim_engine::Dist;

use super::Cx;
use crate::compile::{ClientModel, Edge, MAX_RATE_PER_S, MAX_USERS, Target, TraceReplay};
use crate::keys::KeyDist;
use tailsim_scenario::diag::{Diagnostic, Location, suggest};
use tailsim_scenario::schema;
use tailsim_scenario::trace::Trace;

/// Lowers every client, and returns them with the key space their keys span.
pub(super) fn compile(cx: &mut Cx<'_>) -> (Vec<ClientModel>, u32) {
    let scenario = cx.scenario;
    let mut clients = Vec::new();
    let mut client_names = BTreeMap::new();
    for (i, c) in scenario.clients.iter().enumerate() {
        let path = format!("clients[{i}] \"{}\"", c.name);
        if client_names.insert(c.name.as_str(), i).is_some() {
            cx.error(Diagnostic::error(format!("two clients are named \"{}\"", c.name)).at_path(&path));
        }
        if let Some(client) = client(cx, c, &path) {
            clients.push(client);
        }
    }
    let traced_keys = clients.iter().filter_map(|c| c.trace.as_ref()?.trace.max_key()).map(|k| k.saturating_add(1));
    let key_space =
        clients.iter().flat_map(|c| c.keys.iter().flatten()).map(KeyDist::len).chain(traced_keys).max().unwrap_or(1);
    (clients, key_space)
}

/// Lowers one client; `None` when its target is unknown.
fn client(cx: &mut Cx<'_>, c: &schema::Client, path: &str) -> Option<ClientModel> {
    let at = cx.index.name(&c.name);
    let think = cx.dist_or_zero("think", c.think.as_ref(), path, at);
    let trace = c.trace.as_ref().and_then(|file| {
        cx.files
            .trace(file)
            .map_err(|d| {
                let d = d.at_path(path);
                let d = if d.in_file.is_some() { d } else { d.at(cx.index.quoted(file)) };
                cx.error(d);
            })
            .ok()
    });
    let (rate, closed) = arrivals(cx, c, path, at, trace.as_deref(), think);
    let traffic = if c.traffic.is_empty() || c.trace.is_some() {
        None
    } else if closed.is_some() {
        cx.error(
            Diagnostic::error("`traffic` shapes an open-loop `rate`; a closed-loop client's pace comes from its users")
                .at_path(path)
                .at(at),
        );
        None
    } else {
        crate::traffic::Traffic::new(rate, &c.traffic, cx.scenario.duration.0)
            .map_err(|why| cx.error(Diagnostic::error(why).at_path(path).at(at)))
            .ok()
    };
    let policy = super::policy::compile(cx, &c.policy, path);
    let Some(target) = cx.service(&c.target) else {
        cx.error(
            Diagnostic::error(format!("`target` names an unknown service \"{}\"", c.target))
                .at_path(path)
                .at(cx.index.quoted(&c.target))
                .with_hint(cx.suggest_service(&c.target)),
        );
        return None;
    };
    let edge = cx.edges.len() as u32;
    cx.edges.push(Edge {
        from: c.name.clone(),
        path: path.to_string(),
        to: Target::Service(target),
        caller: None,
        policy,
    });
    let classes = class_mix(cx, c);
    let keys = keys(cx, c, path, at);
    let trace = trace.map(|trace| {
        let slots = replay(cx, &trace, c, path);
        TraceReplay { trace, slots }
    });
    Some(ClientModel {
        name: c.name.clone(),
        target,
        rate_per_s: traffic.as_ref().map_or(rate, |t| t.mean_rate(cx.scenario.duration.0)),
        closed,
        traffic,
        arrivals: c.arrivals.into(),
        edge,
        classes,
        keys,
        trace,
    })
}

/// How the client sends: its (mean) rate, and a closed loop's users and think time.
fn arrivals(
    cx: &mut Cx<'_>,
    c: &schema::Client,
    path: &str,
    at: Option<Location>,
    trace: Option<&Trace>,
    think: Dist,
) -> (f64, Option<(u32, Dist)>) {
    match (c.rate, c.users) {
        _ if c.trace.is_some() => {
            if c.rate.is_some() || c.users.is_some() || c.think.is_some() || !c.traffic.is_empty() {
                cx.error(
                    Diagnostic::error("a `trace` replaces `rate`, `users`, `think` and `traffic`")
                        .at_path(path)
                        .at(at)
                        .with_hint("the trace's rows are the client's arrivals: keep the trace, or the others"),
                );
            }
            let duration = cx.scenario.duration.0;
            let end = duration.as_nanos();
            let rows = trace.map_or(0, |t| t.times_ns.partition_point(|&time| time < end));
            if trace.is_some_and(|t| t.times_ns.is_empty()) {
                cx.error(
                    Diagnostic::error(format!("the trace \"{}\" has no arrivals", c.trace.as_deref().unwrap_or("")))
                        .at_path(path)
                        .at(at)
                        .with_hint("one row per request: time[,class[,key]]"),
                );
            }
            (rows as f64 / duration.as_secs_f64().max(1e-9), None)
        }
        (Some(rate), None) => {
            if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE_PER_S) {
                cx.error(
                    Diagnostic::error(format!("`rate` must be a positive number of requests per second, got {rate}"))
                        .at_path(path)
                        .at(at)
                        .with_hint(format!("rates above {MAX_RATE_PER_S:e} per second are refused")),
                );
            }
            if c.think.is_some() {
                cx.error(
                    Diagnostic::error("`think` is for closed-loop clients (`users`), not with `rate`")
                        .at_path(path)
                        .at(at),
                );
            }
            (rate, None)
        }
        (None, Some(users)) => {
            if users == 0 || users > MAX_USERS {
                cx.error(
                    Diagnostic::error(format!("`users` must be between 1 and {MAX_USERS}, got {users}"))
                        .at_path(path)
                        .at(at),
                );
            }
            let mean_s = think.mean() * 1e-9;
            let rate = if mean_s > 0.0 { f64::from(users) / mean_s } else { f64::INFINITY };
            (rate, Some((users, think)))
        }
        _ => {
            cx.error(
                Diagnostic::error("a client needs either `rate` (open loop) or `users` (closed loop)")
                    .at_path(path)
                    .at(at)
                    .with_hint("rate: 100.0 sends 100 requests/s; users: 50, think: Exponential(mean: \"1s\") keeps 50 users busy"),
            );
            (1.0, None)
        }
    }
}

/// The client's classes as `(class, cumulative probability)`, the last at exactly 1.
fn class_mix(cx: &Cx<'_>, c: &schema::Client) -> Vec<(u8, f64)> {
    let total: f64 = c.classes.iter().map(|k| k.weight).sum();
    let mut cumulative = 0.0;
    let mut mix: Vec<(u8, f64)> = c
        .classes
        .iter()
        .map(|k| {
            cumulative += k.weight / total;
            let id = cx.classes.iter().position(|known| known.name == k.name).unwrap_or(0);
            (id as u8, cumulative)
        })
        .collect();
    if let Some(last) = mix.last_mut() {
        last.1 = 1.0; // no rounding gap at the top
    }
    mix
}

/// The keys of the client's requests: one entry, or one per class slot.
fn keys(cx: &mut Cx<'_>, c: &schema::Client, path: &str, at: Option<Location>) -> Vec<Option<KeyDist>> {
    let mut key_dist = |spec: &schema::Keys, path: &str| {
        KeyDist::new(spec).map_err(|why| cx.error(Diagnostic::error(why).at_path(path).at(at))).ok()
    };
    let own = c.keys.as_ref().and_then(|spec| key_dist(spec, path));
    if c.classes.is_empty() {
        return vec![own];
    }
    c.classes
        .iter()
        .enumerate()
        .map(|(k, class)| match &class.keys {
            Some(spec) => key_dist(spec, &format!("{path} .classes[{k}]")),
            None => own.clone(),
        })
        .collect()
}

/// Maps a trace's class names to the client's class slots, and checks that its columns fit
/// the client: classes declared if and only if the trace has them, keys from one place only.
fn replay(cx: &mut Cx<'_>, trace: &Trace, c: &schema::Client, path: &str) -> Vec<u8> {
    let names: Vec<&str> = c.classes.iter().map(|k| k.name.as_str()).collect();
    if c.classes.is_empty() && trace.has_classes() {
        cx.error(
            Diagnostic::error(format!(
                "the trace \"{}\" has a class column, and the client declares no classes",
                trace.shown_as
            ))
            .at_path(path)
            .with_hint(r#"declare them: classes: [Class(name: "read", weight: 1)] (a trace ignores the weights)"#),
        );
    }
    if !c.classes.is_empty() && !trace.has_classes() {
        cx.error(
            Diagnostic::error(format!(
                "the client declares classes, and its trace \"{}\" has no class column",
                trace.shown_as
            ))
            .at_path(path)
            .with_hint("give the trace a class column (time,class), or drop the client's `classes`"),
        );
    }
    let keyed_classes = c.classes.iter().any(|k| k.keys.is_some());
    if trace.has_keys() && (c.keys.is_some() || keyed_classes) {
        cx.error(
            Diagnostic::error("the trace's key column and the client's `keys` both give the requests keys")
                .at_path(path)
                .with_hint("keep one of the two"),
        );
    }
    trace
        .class_names
        .iter()
        .zip(&trace.class_first_use)
        .map(|(name, (at, line))| match names.iter().position(|n| n == name) {
            Some(slot) => slot as u8,
            None => {
                if !c.classes.is_empty() {
                    cx.error(
                        Diagnostic::error(format!("the trace names a class \"{name}\" the client does not declare"))
                            .at_path(path)
                            .at(Some(*at))
                            .in_file(tailsim_scenario::diag::InFile {
                                file: trace.shown_as.clone(),
                                line: line.clone(),
                            })
                            .with_hint(suggest(name, &names, "classes")),
                    );
                }
                0
            }
        })
        .collect()
}
