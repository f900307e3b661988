//! Static analysis of a model before it runs: the visit rate and offered load of every service,
//! and the warnings they call for.

use crate::compile::{Model, Step};
use crate::diag::{Diagnostic, locate_name};
use crate::scenario::Backoff;

/// The offered load on one service.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceLoad {
    /// The service's name.
    pub service: String,
    /// Visits per second from all clients, through all call paths.
    pub arrival_rate_per_s: f64,
    /// Mean time a visit holds a worker, counting downstream calls at their service times
    /// without queueing or retries: a lower bound.
    pub min_hold_s: f64,
    /// arrival rate x hold / all workers: a lower bound on utilisation. At 1 or more the queue
    /// grows without bound (or the excess is rejected).
    pub offered_load: f64,
}

/// Services in an order where every caller comes before its callees (the graph is acyclic).
fn callers_first(model: &Model) -> Vec<usize> {
    let n = model.services.len();
    let mut callers = vec![0usize; n];
    for s in &model.services {
        for step in &s.steps {
            if let Step::Call { target, .. } | Step::FanOut { target, .. } = step {
                callers[target.0 as usize] += 1;
            }
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&s| callers[s] == 0).rev().collect();
    let mut order = Vec::with_capacity(n);
    while let Some(s) = ready.pop() {
        order.push(s);
        for step in model.services[s].steps.iter().rev() {
            if let Step::Call { target, .. } | Step::FanOut { target, .. } = step {
                let c = target.0 as usize;
                callers[c] -= 1;
                if callers[c] == 0 {
                    ready.push(c);
                }
            }
        }
    }
    order
}

/// The offered load on every service, in model order.
pub fn offered_load(model: &Model) -> Vec<ServiceLoad> {
    let n = model.services.len();
    let order = callers_first(model);
    let mut rate = vec![0.0f64; n];
    for c in &model.clients {
        rate[c.target.0 as usize] += c.rate_per_s;
    }
    // A `Fail(p)` step lets only 1 - p of visits go on to the steps after it.
    for &s in &order {
        let mut surviving = 1.0;
        for step in &model.services[s].steps {
            match step {
                Step::Call { target, .. } => rate[target.0 as usize] += rate[s] * surviving,
                Step::FanOut { target, n, .. } => rate[target.0 as usize] += rate[s] * surviving * f64::from(*n),
                Step::Fail(p) => surviving *= 1.0 - p,
                Step::Work(_) => {}
            }
        }
    }
    let mut hold = vec![0.0f64; n];
    for &s in order.iter().rev() {
        let mut surviving = 1.0;
        let mut total = 0.0;
        for step in &model.services[s].steps {
            match step {
                Step::Work(dist) => total += surviving * dist.mean() * 1e-9,
                Step::Call { target, .. } => total += surviving * hold[target.0 as usize],
                // The fan-out lasts at least as long as one call.
                Step::FanOut { target, .. } => total += surviving * hold[target.0 as usize],
                Step::Fail(p) => surviving *= 1.0 - p,
            }
        }
        hold[s] = total;
    }
    model
        .services
        .iter()
        .enumerate()
        .map(|(s, service)| {
            let workers = f64::from(service.instances) * f64::from(service.workers);
            ServiceLoad {
                service: service.name.clone(),
                arrival_rate_per_s: rate[s],
                min_hold_s: hold[s],
                offered_load: rate[s] * hold[s] / workers,
            }
        })
        .collect()
}

/// Warnings about designs that are legal but almost surely unintended.
/// `source` is the scenario's text, to point at the items warned about.
pub fn warnings(model: &Model, source: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, (load, service)) in offered_load(model).iter().zip(&model.services).enumerate() {
        if load.offered_load >= 1.0 {
            let consequence = match service.queue_capacity {
                None => "its queue will grow without bound",
                Some(_) => "its queue will fill and the excess will be rejected",
            };
            out.push(
                Diagnostic::warning(format!(
                    "offered at least {:.0}% of its capacity: {consequence}",
                    load.offered_load * 100.0
                ))
                .at_path(format!("services[{i}] \"{}\"", service.name))
                .at(locate_name(source, &service.name))
                .with_hint("add workers or instances, or lower the rate"),
            );
        }
    }
    for edge in &model.edges {
        let policy = &edge.policy;
        if let Some(retry) = &policy.retry
            && retry.attempts > 1
            && matches!(retry.backoff, Backoff::None)
            && (policy.timeout.is_some() || policy.deadline.is_some())
        {
            let to = &model.services[edge.to.0 as usize].name;
            out.push(
                Diagnostic::warning(format!(
                    "the call from \"{}\" to \"{to}\" retries at once after a timeout: retries arrive just when \"{to}\" is slowest",
                    edge.from
                ))
                .at_path(&edge.path)
                .with_hint(r#"add a backoff with jitter, e.g. backoff: Exponential(base: "50ms", cap: "2s", jitter: Full)"#),
            );
        }
    }
    out
}
