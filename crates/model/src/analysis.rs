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
    /// without queueing or retries: a lower bound. Averaged over the classes arriving.
    pub min_hold_s: f64,
    /// arrival rate x hold / all workers: a lower bound on utilisation. At 1 or more the queue
    /// grows without bound (or the excess is rejected).
    pub offered_load: f64,
}

/// Services in an order where every caller comes before its callees (the graph is acyclic).
fn callers_first(model: &Model) -> Vec<usize> {
    let n = model.services.len();
    let callees = |s: usize| model.services[s].all_steps().flat_map(Step::callees).map(|(t, _)| t.0 as usize);
    let mut callers = vec![0usize; n];
    for s in 0..n {
        for c in callees(s) {
            callers[c] += 1;
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&s| callers[s] == 0).rev().collect();
    let mut order = Vec::with_capacity(n);
    while let Some(s) = ready.pop() {
        order.push(s);
        let mut next: Vec<usize> = callees(s).collect();
        next.reverse();
        for c in next {
            callers[c] -= 1;
            if callers[c] == 0 {
                ready.push(c);
            }
        }
    }
    order
}

/// The offered load on every service, in model order. Each request class runs its own handler
/// at each service, so rates and holding times are worked out class by class.
#[allow(clippy::needless_range_loop)] // a class indexes two rows of each table at once
pub fn offered_load(model: &Model) -> Vec<ServiceLoad> {
    let n = model.services.len();
    let k = model.classes.len();
    let order = callers_first(model);
    let handler = |s: usize, class: usize| {
        let service = &model.services[s];
        service.handler(service.handler_of(class as u8))
    };
    let mut hold = vec![vec![0.0f64; k]; n];
    for &s in order.iter().rev() {
        for class in 0..k {
            let mut surviving = 1.0;
            let mut total = 0.0;
            for step in handler(s, class) {
                match step {
                    Step::Work(dist) => total += surviving * dist.mean() * 1e-9,
                    Step::Fail(p) => surviving *= 1.0 - p,
                    // Calls made at once last at least as long as the longest of them.
                    _ => {
                        let longest = step.callees().map(|(t, _)| hold[t.0 as usize][class]).fold(0.0, f64::max);
                        total += surviving * longest;
                    }
                }
            }
            hold[s][class] = total;
        }
    }
    // rate[s][class]: visits per second of the class at the service.
    let mut rate = vec![vec![0.0f64; k]; n];
    for c in &model.clients {
        let target = c.target.0 as usize;
        let shares: Vec<(usize, f64)> = if c.classes.is_empty() {
            vec![(0, 1.0)]
        } else {
            let mut below = 0.0;
            c.classes
                .iter()
                .map(|&(class, cumulative)| {
                    let share = cumulative - below;
                    below = cumulative;
                    (usize::from(class), share)
                })
                .collect()
        };
        // A closed loop sends at most users / (think + the least time at its target): the
        // interactive response time law with the response at its floor.
        let client_rate = match &c.closed {
            None => c.rate_per_s,
            Some((users, think)) => {
                let demand: f64 = shares.iter().map(|&(class, share)| share * hold[target][class]).sum();
                let cycle = think.mean() * 1e-9 + demand;
                if cycle > 0.0 { f64::from(*users) / cycle } else { f64::INFINITY }
            }
        };
        for (class, share) in shares {
            rate[target][class] += client_rate * share;
        }
    }
    // A `Fail(p)` step lets only 1 - p of visits go on to the steps after it.
    for &s in &order {
        for class in 0..k {
            let mut surviving = 1.0;
            for step in handler(s, class) {
                if let Step::Fail(p) = step {
                    surviving *= 1.0 - p;
                }
                for (target, calls) in step.callees() {
                    rate[target.0 as usize][class] += rate[s][class] * surviving * f64::from(calls);
                }
            }
        }
    }
    model
        .services
        .iter()
        .enumerate()
        .map(|(s, service)| {
            let workers = f64::from(service.instances) * f64::from(service.workers);
            let arrival_rate: f64 = rate[s].iter().sum();
            let work: f64 = rate[s].iter().zip(&hold[s]).map(|(r, h)| r * h).sum();
            ServiceLoad {
                service: service.name.clone(),
                arrival_rate_per_s: arrival_rate,
                min_hold_s: if arrival_rate > 0.0 { work / arrival_rate } else { hold[s][0] },
                offered_load: work / workers,
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
