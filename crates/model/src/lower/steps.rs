//! A handler's steps: calls and fan-outs resolved to edges, waits to the successes they
//! need, `Cached` blocks laid out flat as a lookup, the miss's steps and a fill, and `Batch`
//! steps' own steps handed to their batchers.

use super::Cx;
use crate::compile::{CallPolicy, Edge, MAX_FAN_OUT, MAX_PARALLEL, MAX_STEPS, ServiceId, Step, Target, compile_dist};
use tailsim_scenario::diag::Diagnostic;
use tailsim_scenario::schema::{self, Losers};

/// Compiles one handler of service `from`, adding an edge for each call it makes.
pub(super) fn compile(cx: &mut Cx<'_>, from: &str, path: &str, handler: &[schema::Step]) -> Vec<Step> {
    let mut steps = Vec::with_capacity(handler.len());
    compile_into(cx, from, path, handler, &mut steps);
    if steps.len() > MAX_STEPS {
        cx.error(
            Diagnostic::error(format!("a handler may have at most {MAX_STEPS} steps, misses' steps included"))
                .at_path(path),
        );
    }
    steps
}

/// The index of cache `name`, or an error naming the step.
fn cache_id(cx: &mut Cx<'_>, name: &str, path: &str) -> Option<u32> {
    let declare = format!(r#"declare it: caches: [Cache(name: "{name}", capacity: 10000, ttl: "60s")]"#);
    let caches = cx.caches.clone();
    cx.named(&caches, name, path, "the step", "caches", &declare)
}

/// Compiles `handler` onto the end of `steps`; a `Cached` step becomes a `Lookup`, its miss's
/// steps and a `Fill`, so indices stay absolute and nested caches need no stack.
fn compile_into(cx: &mut Cx<'_>, from: &str, path: &str, handler: &[schema::Step], steps: &mut Vec<Step>) {
    for (j, step) in handler.iter().enumerate() {
        let step_path = format!("{path}[{j}]");
        match step {
            schema::Step::Work(spec) => match compile_dist(spec) {
                Ok(dist) => steps.push(Step::Work(dist)),
                Err(why) => cx.error(Diagnostic::error(why.to_string()).at_path(step_path)),
            },
            schema::Step::Call { service: target, policy } => {
                let policy = super::policy::compile(cx, policy, &step_path);
                if let Some((edge, target)) = add_edge(cx, from, &step_path, "Call", target, policy) {
                    steps.push(Step::Call { edge, target });
                }
            }
            schema::Step::FanOut { service: target, n, options } => {
                let policy = super::policy::compile(cx, &options.policy, &step_path);
                if policy.hedge.is_some() {
                    cx.error(Diagnostic::error("hedging works on `Call` steps, not on `FanOut`").at_path(&step_path));
                }
                if *n == 0 || *n > MAX_FAN_OUT {
                    cx.error(
                        Diagnostic::error(format!("`FanOut` sends between 1 and {MAX_FAN_OUT} calls, got {n}"))
                            .at_path(&step_path),
                    );
                }
                let needed = needed(cx, options.wait, *n, &step_path);
                if let Some((edge, target)) = add_edge(cx, from, &step_path, "FanOut", target, policy) {
                    let cancel_losers = options.losers == Losers::Cancel;
                    steps.push(Step::FanOut { edge, target, n: *n, needed, cancel_losers });
                }
            }
            schema::Step::Parallel { calls, options } => {
                if calls.is_empty() || calls.len() > MAX_PARALLEL {
                    cx.error(
                        Diagnostic::error(format!("`Parallel` makes between 1 and {MAX_PARALLEL} calls"))
                            .at_path(&step_path),
                    );
                }
                let mut compiled = Vec::with_capacity(calls.len());
                for (k, call) in calls.iter().enumerate() {
                    let call_path = format!("{step_path}[{k}]");
                    let schema::Step::Call { service: target, policy } = call else {
                        cx.error(
                            Diagnostic::error("`Parallel` holds only `Call` steps")
                                .at_path(&call_path)
                                .with_hint(r#"e.g. Parallel([Call("a"), Call("b")])"#),
                        );
                        continue;
                    };
                    let policy = super::policy::compile(cx, policy, &call_path);
                    if policy.hedge.is_some() {
                        cx.error(
                            Diagnostic::error("hedging works on `Call` steps, not inside `Parallel`")
                                .at_path(&call_path),
                        );
                    }
                    if let Some(call) = add_edge(cx, from, &call_path, "Call", target, policy) {
                        compiled.push(call);
                    }
                }
                let needed = needed(cx, options.wait, calls.len() as u32, &step_path);
                if compiled.len() == calls.len() && !calls.is_empty() {
                    steps.push(Step::Parallel {
                        calls: compiled,
                        needed,
                        cancel_losers: options.losers == Losers::Cancel,
                    });
                }
            }
            schema::Step::Fail(p) => {
                if (0.0..=1.0).contains(p) {
                    steps.push(Step::Fail(*p));
                } else {
                    cx.error(
                        Diagnostic::error(format!("`Fail` takes a probability between 0 and 1, got {p}"))
                            .at_path(step_path),
                    );
                }
            }
            schema::Step::Cached { cache, miss } => {
                let Some(cache) = cache_id(cx, cache, &step_path) else { continue };
                if steps.len() > MAX_STEPS {
                    continue; // reported once the handler is done; no deeper
                }
                let lookup = steps.len();
                steps.push(Step::Lookup { cache, skip: 0 });
                compile_into(cx, from, &format!("{step_path}.miss"), miss, steps);
                steps.push(Step::Fill(cache));
                let skip = steps.len() as u32;
                steps[lookup] = Step::Lookup { cache, skip };
            }
            schema::Step::Invalidate(cache) => {
                if let Some(cache) = cache_id(cx, cache, &step_path) {
                    steps.push(Step::Invalidate(cache));
                }
            }
            schema::Step::Put(cache) => {
                if let Some(cache) = cache_id(cx, cache, &step_path) {
                    steps.push(Step::Put(cache));
                }
            }
            schema::Step::Publish { topic, options } => {
                if let Some(step) = publish(cx, from, &step_path, topic, options) {
                    steps.push(step);
                }
            }
            schema::Step::Batch { options, steps: inner } => {
                if let Some(b) = super::batches::compile(cx, from, &step_path, options, inner) {
                    steps.push(Step::Batch(b));
                }
            }
        }
    }
}

/// A `Publish` step of `from` to `topic`: fire and forget, or acknowledged over an edge of its
/// own that holds the policy.
fn publish(cx: &mut Cx<'_>, from: &str, path: &str, topic: &str, options: &schema::PublishOptions) -> Option<Step> {
    let topic = super::topics::topic_id(cx, topic, path, "the step");
    if !options.ack {
        if options.policy != schema::Policy::default() {
            cx.error(
                Diagnostic::error("a fire-and-forget `Publish` waits for nothing, so a policy has nothing to act on")
                    .at_path(path)
                    .with_hint("write `ack: true` beside the policy to wait for the broker's append"),
            );
        }
        return Some(Step::Publish { topic: topic?, edge: None });
    }
    let policy = super::policy::compile(cx, &options.policy, path);
    let refused = [
        (policy.hedge.is_some(), "hedging"),
        (policy.bulkhead.is_some(), "a bulkhead"),
        (policy.cancel_on_timeout, "`cancel_on_timeout`"),
    ];
    for (_, what) in refused.iter().filter(|(given, _)| *given) {
        cx.error(
            Diagnostic::error(format!("an acknowledged `Publish` takes no {what}: the broker's append is not a visit"))
                .at_path(path)
                .with_hint("keep timeout, deadline, retry, breaker, throttle and rate_limit"),
        );
    }
    let topic = topic?;
    let caller = cx.ids.get(from).copied();
    cx.edges.push(Edge { from: from.to_string(), path: path.to_string(), to: Target::Topic(topic), caller, policy });
    Some(Step::Publish { topic, edge: Some(cx.edges.len() as u32 - 1) })
}

/// The successes a wait over `n` calls needs.
fn needed(cx: &mut Cx<'_>, wait: schema::Wait, n: u32, path: &str) -> u32 {
    let needed = match wait {
        schema::Wait::All => n,
        schema::Wait::Any => 1,
        schema::Wait::Quorum(k) => k,
    };
    if n > 0 && (needed == 0 || needed > n) {
        cx.error(
            Diagnostic::error(format!("a quorum must be between 1 and the {n} calls, got {needed}")).at_path(path),
        );
    }
    needed
}

/// Adds the edge of a call from `from` to service `target`, or reports the unknown name.
fn add_edge(
    cx: &mut Cx<'_>,
    from: &str,
    path: &str,
    step: &str,
    target: &str,
    policy: CallPolicy,
) -> Option<(u32, ServiceId)> {
    match cx.ids.get(target) {
        Some(&id) => {
            let caller = cx.ids.get(from).copied();
            let to = Target::Service(id);
            cx.edges.push(Edge { from: from.to_string(), path: path.to_string(), to, caller, policy });
            Some((cx.edges.len() as u32 - 1, id))
        }
        None => {
            cx.error(
                Diagnostic::error(format!("`{step}` names an unknown service \"{target}\""))
                    .at_path(path)
                    .at(cx.index.call(step, target))
                    .with_hint(cx.suggest_service(target)),
            );
            None
        }
    }
}
