//! Static analysis of a model before it runs: the visit rate and offered load of every service,
//! and the warnings they call for.

use crate::compile::{Model, Step};
use crate::diag::{Diagnostic, locate_name};

/// The offered load on one service.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceLoad {
    /// The service's name.
    pub service: String,
    /// Visits per second from all clients, through all call paths.
    pub arrival_rate_per_s: f64,
    /// Mean time a visit holds a worker, counting downstream calls at their service times
    /// without queueing: a lower bound.
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
            if let Step::Call(id) = step {
                callers[id.0 as usize] += 1;
            }
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&s| callers[s] == 0).rev().collect();
    let mut order = Vec::with_capacity(n);
    while let Some(s) = ready.pop() {
        order.push(s);
        for step in model.services[s].steps.iter().rev() {
            if let Step::Call(id) = step {
                let c = id.0 as usize;
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
    for &s in &order {
        for step in &model.services[s].steps {
            if let Step::Call(id) = step {
                rate[id.0 as usize] += rate[s];
            }
        }
    }
    let mut hold = vec![0.0f64; n];
    for &s in order.iter().rev() {
        hold[s] = model.services[s]
            .steps
            .iter()
            .map(|step| match step {
                Step::Work(dist) => dist.mean() * 1e-9,
                Step::Call(id) => hold[id.0 as usize],
            })
            .sum();
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
    out
}
