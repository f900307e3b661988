//! The call graph of a compiled model for pictures and Graphviz: which client and service calls
//! which, each call labelled with its policy in the words the scenario file uses, and which
//! service publishes to which consumer group.

use tailsim_stats::graph::{CallGraph, GraphEdge, GraphNode, NodeKind};

use crate::compile::{CallPolicy, HedgeDelay, Model, Step};
use crate::kinds::{Arrivals, Backoff, Concurrency, Discipline, Jitter, LimitMode};

/// The model's call graph: clients (in order) then services (in order) as nodes, and one edge
/// per model edge, labelled with the step's shape (fan-out) and the call's policy.
pub fn call_graph(model: &Model) -> CallGraph {
    let n_clients = model.clients.len();
    let mut nodes: Vec<GraphNode> = model.clients.iter().map(|c| client_node(model, c)).collect();
    nodes.extend(model.services.iter().map(service_node));
    let callers = callers(model);
    let edges = model
        .edges
        .iter()
        .zip(callers)
        .filter_map(|(edge, caller)| {
            let (from, shape) = caller?;
            // An acknowledged publish is drawn as its topic's message edges.
            let to = edge.service()?;
            let mut parts: Vec<String> = shape.into_iter().collect();
            parts.extend(policy_words(&edge.policy));
            Some(GraphEdge { from, to: n_clients + to.0 as usize, label: parts.join(", ") })
        })
        .chain(message_edges(model))
        .collect();
    CallGraph { name: model.name.clone(), nodes, edges }
}

/// The messages' edges: from each publisher to every group of the topic it publishes to, and
/// from each group to the groups of its dead-letter topic, labelled with the topic.
fn message_edges(model: &Model) -> Vec<GraphEdge> {
    let n_clients = model.clients.len();
    let mut out: Vec<GraphEdge> = Vec::new();
    let mut to_groups = |from: usize, topic: u32, verb: &str| {
        let t = &model.topics[topic as usize];
        for group in &t.groups {
            let edge = GraphEdge { from, to: n_clients + group.0 as usize, label: format!("{verb} \"{}\"", t.name) };
            if !out.iter().any(|e| e.from == edge.from && e.to == edge.to && e.label == edge.label) {
                out.push(edge);
            }
        }
    };
    for (s, service) in model.services.iter().enumerate() {
        for step in service.all_steps() {
            if let Step::Publish { topic, edge } = step {
                to_groups(
                    n_clients + s,
                    *topic,
                    if edge.is_some() { "publishes (acknowledged) to" } else { "publishes to" },
                );
            }
        }
        if let Some(dead_letter) = service.consumes.and_then(|c| c.dead_letter) {
            to_groups(n_clients + s, dead_letter, "dead letters to");
        }
    }
    out
}

/// A client's node: how it sends, and its classes' shares.
fn client_node(model: &Model, c: &crate::compile::ClientModel) -> GraphNode {
    let arrivals = match c.arrivals {
        Arrivals::Poisson => "Poisson",
        Arrivals::Constant => "constant",
    };
    let mut detail = match &c.closed {
        // Closed loop: users who each wait for an answer, then think.
        Some((users, think)) => {
            format!("{users} users, think {}", tailsim_stats::format::format_ms(think.mean() * 1e-6))
        }
        None if c.traffic.is_some() => format!("{}/s {arrivals}, shaped", c.rate_per_s),
        None if c.trace.is_some() => format!("{:.1}/s replayed", c.rate_per_s),
        None => format!("{}/s {arrivals}", c.rate_per_s),
    };
    // Classes with their shares, from the cumulative probabilities (a trace's own).
    let mut before = 0.0;
    for &(class, cumulative) in c.classes.iter().filter(|_| c.trace.is_none()) {
        let name = model.classes.get(usize::from(class)).map_or("?", |k| k.name.as_str());
        detail.push_str(&format!(", {name} {}%", ((cumulative - before) * 1000.0).round() / 10.0));
        before = cumulative;
    }
    GraphNode { name: c.name.clone(), kind: NodeKind::Client, detail }
}

/// A service's node: its instances and workers, its queue, and what shapes its work.
fn service_node(s: &crate::compile::ServiceModel) -> GraphNode {
    let mut detail = vec![format!("{} x {} worker{}", s.instances, s.workers, if s.workers == 1 { "" } else { "s" })];
    if let Some(capacity) = s.queue_capacity {
        detail.push(format!("queue {capacity}"));
    }
    match s.discipline {
        Discipline::Fifo => {}
        Discipline::Lifo => detail.push("LIFO".into()),
        Discipline::Priority => detail.push("priority queue".into()),
    }
    if let Some(shed) = s.shed_after {
        detail.push(format!("shed after {shed}"));
    }
    if s.concurrency == Concurrency::Async {
        detail.push("async".into());
    }
    if let Some(usl) = &s.contention {
        detail.push(format!("contention sigma {} kappa {}", usl.sigma, usl.kappa));
    }
    if let Some(admission) = &s.admission {
        detail.push(format!("admits {}/s per {}", admission.limit.rate, admission.per.name()));
    }
    if let Some(sub) = &s.consumes {
        detail.push(format!("consumes ({:?})", sub.delivery));
    }
    GraphNode { name: s.name.clone(), kind: NodeKind::Service, detail: detail.join(", ") }
}

/// Each edge's caller node and step shape: clients own their edges; steps name theirs.
fn callers(model: &Model) -> Vec<Option<(usize, Option<String>)>> {
    let n_clients = model.clients.len();
    let mut callers: Vec<Option<(usize, Option<String>)>> = vec![None; model.edges.len()];
    for (i, c) in model.clients.iter().enumerate() {
        if let Some(slot) = callers.get_mut(c.edge as usize) {
            *slot = Some((i, None));
        }
    }
    for (s, service) in model.services.iter().enumerate() {
        // Each handler's steps, those of a class handler named after the classes that run it,
        // and a batch's after its batcher.
        let handlers = (0..=service.class_handlers.len()).map(|h| {
            let classes: Vec<&str> = (0..service.handler_of_class.len())
                .filter(|&class| h > 0 && usize::from(service.handler_of_class[class]) == h)
                .filter_map(|class| model.classes.get(class).map(|k| k.name.as_str()))
                .collect();
            let steps = if h == 0 { &service.steps } else { &service.class_handlers[h - 1] };
            (steps, (!classes.is_empty()).then(|| format!("for {}", classes.join("/"))))
        });
        let batches = service.batches.iter().map(|b| (&b.steps, Some(format!("per batch of \"{}\"", b.name))));
        let handlers = handlers.chain(batches);
        for (step, for_classes) in handlers.flat_map(|(steps, classes)| {
            steps.iter().zip(miss_labels(model, steps)).map(move |(st, miss)| {
                let label = match (&classes, miss) {
                    (Some(classes), Some(miss)) => Some(format!("{classes}, {miss}")),
                    (classes, miss) => classes.clone().or(miss),
                };
                (st, label)
            })
        }) {
            let shaped = step_shapes(step);
            for (edge, shape) in shaped {
                let shape = match (&for_classes, shape) {
                    (Some(classes), Some(shape)) => Some(format!("{classes}, {shape}")),
                    (Some(classes), None) => Some(classes.clone()),
                    (None, shape) => shape,
                };
                if let Some(slot) = callers.get_mut(edge as usize) {
                    *slot = Some((n_clients + s, shape));
                }
            }
        }
    }
    callers
}

/// The edges a step sends on, each with the shape of the step (fan-out, parallel, a wait).
fn step_shapes(step: &Step) -> Vec<(u32, Option<String>)> {
    let wait = |needed: u32, n: u32| {
        if needed >= n {
            String::new()
        } else if needed == 1 {
            ", any".to_string()
        } else {
            format!(", quorum {needed}")
        }
    };
    let cancels = |cancel: bool| if cancel { ", cancels losers" } else { "" };
    match step {
        Step::Call { edge, .. } => vec![(*edge, None)],
        Step::FanOut { edge, n, needed, cancel_losers, .. } => {
            vec![(*edge, Some(format!("fan-out x{n}{}{}", wait(*needed, *n), cancels(*cancel_losers))))]
        }
        Step::Parallel { calls, needed, cancel_losers } => {
            let n = calls.len() as u32;
            let shape = format!("parallel{}{}", wait(*needed, n), cancels(*cancel_losers));
            calls.iter().map(|&(edge, _)| (edge, Some(shape.clone()))).collect()
        }
        Step::Work(_)
        | Step::Fail(_)
        | Step::Lookup { .. }
        | Step::Fill(_)
        | Step::Invalidate(_)
        | Step::Put(_)
        | Step::Publish { .. }
        | Step::Batch(_)
        | Step::PerItem(_) => Vec::new(),
    }
}

/// For each step of a handler, `on miss of "c"` when it runs only on a miss of cache `c` (the
/// innermost, for nested caches).
fn miss_labels(model: &Model, steps: &[Step]) -> Vec<Option<String>> {
    let mut open: Vec<(u32, u32)> = Vec::new(); // (cache, the step after its miss's fill)
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            open.retain(|&(_, end)| (i as u32) < end);
            let label = open.last().map(|&(cache, _)| format!("on miss of {}", model.caches[cache as usize].name));
            if let Step::Lookup { cache, skip } = step {
                open.push((*cache, *skip));
            }
            label
        })
        .collect()
}

/// A policy in short words, in the order the caller applies them: `timeout 200ms`,
/// `retry x4 backoff 50ms..2s full jitter`, `breaker`.
fn policy_words(policy: &CallPolicy) -> Vec<String> {
    let mut words = Vec::new();
    if let Some(timeout) = policy.timeout {
        words.push(format!("timeout {timeout}{}", if policy.cancel_on_timeout { " (cancels)" } else { "" }));
    }
    if let Some(deadline) = policy.deadline {
        words.push(format!("deadline {deadline}"));
    }
    if let Some(retry) = &policy.retry {
        let mut text = format!("retry x{}", retry.attempts);
        match &retry.backoff {
            Backoff::None => {}
            Backoff::Constant(wait) => text.push_str(&format!(" every {}", wait)),
            Backoff::Exponential { base, cap, jitter } => {
                text.push_str(&format!(" backoff {}..{}", base, cap));
                match jitter {
                    Jitter::None => {}
                    Jitter::Full => text.push_str(" full jitter"),
                    Jitter::Equal => text.push_str(" equal jitter"),
                    Jitter::Decorrelated => text.push_str(" decorrelated jitter"),
                }
            }
        }
        if let Some(budget) = &retry.budget {
            text.push_str(&format!(" budget {}%", budget.ratio * 100.0));
        }
        words.push(text);
    }
    if let Some(hedge) = &policy.hedge {
        let after = match hedge.delay {
            HedgeDelay::Fixed(delay) => format!("{delay}"),
            HedgeDelay::Quantile(q) => format!("p{}", q * 100.0),
        };
        let max = if hedge.max > 1 { format!(" x{}", hedge.max) } else { String::new() };
        words.push(format!("hedge after {after}{max}"));
    }
    if policy.throttle.is_some() {
        words.push("throttle".into());
    }
    if policy.breaker.is_some() {
        words.push("breaker".into());
    }
    if let Some(limit) = &policy.rate_limit {
        let mode = match limit.mode {
            LimitMode::Reject => "",
            LimitMode::Delay => " (delays)",
        };
        words.push(format!("rate limit {}/s{mode}", limit.rate));
    }
    if let Some(bulkhead) = policy.bulkhead {
        let each = if bulkhead.per_instance { " per instance" } else { "" };
        words.push(format!("bulkhead {}{each}", bulkhead.places));
    }
    words
}
