//! Static analysis of a model before it runs: the visit rate and offered load of every service,
//! and the warnings they call for.

use crate::compile::{FaultKind, Model, Step, unconditional};
use crate::kinds::{Arrivals, Backoff, Concurrency, Discipline};
use tailsim_scenario::diag::{Diagnostic, Index};

/// The offered load on one service.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceLoad {
    /// The service's name.
    pub service: String,
    /// Visits per second from all clients, through all call paths.
    pub arrival_rate_per_s: f64,
    /// Mean time a visit holds a worker, counting downstream calls at their service times
    /// without queueing or retries (under `concurrency: Async`, its `Work` only: the worker is
    /// free while calls are out): a lower bound. Averaged over the classes arriving.
    pub min_hold_s: f64,
    /// arrival rate x hold / all workers: a lower bound on utilisation. At 1 or more the queue
    /// grows without bound (or the excess is rejected). Under `contention` the workers count
    /// for what they get through at their best concurrency
    /// ([`ServiceModel::worker_capacity`](crate::compile::ServiceModel::worker_capacity)), so
    /// it is the share of the service's best throughput instead.
    pub offered_load: f64,
    /// Under a CPU limit on all its instances (`CpuQuota`): the CPU its `Work` steps need per
    /// instance, over the limit. At 1 or more the quota runs out in every period and the queue
    /// grows, however many workers there are; below, bursts may still spend it.
    pub cpu_load: Option<f64>,
    /// Each batcher's (`Batch` step's, in order) flushes: batches per second per instance x the
    /// mean time a batch of the mean size runs, over its `flushes`. At 1 or more closed batches
    /// queue without bound.
    pub batch_loads: Vec<f64>,
}

/// The services a visit of service `s` sends work to, each with its number per visit: those it
/// calls, and the consumer groups of the topics it publishes to (one message per `Publish`).
fn downstream(model: &Model, s: usize) -> impl Iterator<Item = (usize, u32)> + '_ {
    model.services[s].all_steps().flat_map(move |step| {
        let groups: &[crate::compile::ServiceId] = match step {
            Step::Publish { topic, .. } => &model.topics[*topic as usize].groups,
            _ => &[],
        };
        step.callees().map(|(t, n)| (t.0 as usize, n)).chain(groups.iter().map(|g| (g.0 as usize, 1)))
    })
}

/// What a visit running `steps` at service `s` holds at the least, in seconds, and the part of
/// it spent in `Work` (CPU): its work, and its calls at `hold` of the service called (calls made
/// at once last at least as long as the longest of them). A `Fail(p)` step lets only 1 - p go
/// on. A `Batch` step holds the visit for its batch's steps, with one item's cost.
fn steps_hold(model: &Model, s: usize, steps: &[Step], hold: impl Fn(usize) -> f64 + Copy) -> (f64, f64) {
    let mut surviving = 1.0;
    let (mut total, mut cpu) = (0.0, 0.0);
    for step in unconditional(steps) {
        match step {
            Step::Work(dist) | Step::PerItem(dist) => {
                let work = surviving * dist.mean() * 1e-9;
                total += work;
                cpu += work;
            }
            Step::Fail(p) => surviving *= 1.0 - p,
            Step::Batch(b) => {
                let (batch, _) = steps_hold(model, s, &model.services[s].batches[*b as usize].steps, hold);
                total += surviving * batch;
            }
            Step::Publish { topic, edge: Some(_) } => {
                // An acknowledged publish waits for its append.
                let append = model.topics[*topic as usize].append.as_ref().map_or(0.0, |d| d.mean() * 1e-9);
                total += surviving * append;
            }
            _ => {
                let longest = step.callees().map(|(t, _)| hold(t.0 as usize)).fold(0.0, f64::max);
                total += surviving * longest;
            }
        }
    }
    (total, cpu)
}

/// The visits per second that `rate` visits per second running `steps` send on, pushed to
/// `sent` as `(service, rate)`: through calls, and to the consumer groups of the topics they
/// publish to. A `Fail(p)` step lets only 1 - p go on to the steps after it; a `Batch` step's
/// steps run once per batch, of the mean size at `per_instance` requests per second.
fn send_on(model: &Model, s: usize, steps: &[Step], rate: f64, per_instance: f64, sent: &mut Vec<(usize, f64)>) {
    let mut surviving = 1.0;
    for step in unconditional(steps) {
        if let Step::Fail(p) = step {
            surviving *= 1.0 - p;
        }
        for (target, calls) in step.callees() {
            sent.push((target.0 as usize, rate * surviving * f64::from(calls)));
        }
        match step {
            Step::Publish { topic, .. } => {
                sent.extend(model.topics[*topic as usize].groups.iter().map(|g| (g.0 as usize, rate * surviving)));
            }
            Step::Batch(b) => {
                let batch = &model.services[s].batches[*b as usize];
                let batches = rate * surviving / mean_batch(batch, per_instance);
                send_on(model, s, &batch.steps, batches, per_instance, sent);
            }
            _ => {}
        }
    }
}

/// The mean size of batcher `batch`'s batches when requests reach it as a Poisson stream of
/// `rate` per second: the first request and the others within the linger, up to the size,
/// 1 + sum over k < size of P(Poisson(rate x linger) >= k). Without a linger every batch is
/// full.
pub fn mean_batch(batch: &crate::compile::BatchModel, rate: f64) -> f64 {
    let Some(linger) = batch.linger else { return f64::from(batch.size) };
    let m = rate * linger.as_nanos() as f64 * 1e-9;
    // P(N >= k), from P(N >= 1) = 1 - e^-m down, stopped once it is negligible; the pmf in
    // logarithms, so that a large m does not underflow it.
    let (mut log_pmf, mut at_least, mut mean) = (-m, 1.0, 1.0);
    for k in 1..batch.size {
        at_least -= log_pmf.exp();
        if at_least < 1e-12 {
            break;
        }
        mean += at_least;
        log_pmf += m.ln() - f64::from(k).ln();
    }
    mean
}

/// Services in an order where every caller (and publisher) comes before its callees (and
/// consumer groups). The call graph is acyclic; messages may loop (a group publishing to a
/// topic upstream of it), and the services of such a loop come last, in model order.
fn callers_first(model: &Model) -> Vec<usize> {
    let n = model.services.len();
    let mut callers = vec![0usize; n];
    for s in 0..n {
        for (c, _) in downstream(model, s) {
            callers[c] += 1;
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&s| callers[s] == 0).rev().collect();
    let mut order = Vec::with_capacity(n);
    while let Some(s) = ready.pop() {
        order.push(s);
        let mut next: Vec<usize> = downstream(model, s).map(|(c, _)| c).collect();
        next.reverse();
        for c in next {
            callers[c] -= 1;
            if callers[c] == 0 {
                ready.push(c);
            }
        }
    }
    let mut placed = vec![false; n];
    order.iter().for_each(|&s| placed[s] = true);
    order.extend((0..n).filter(|&s| !placed[s]));
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
    // The part of `hold` spent in `Work` steps: CPU.
    let mut cpu = vec![vec![0.0f64; k]; n];
    for &s in order.iter().rev() {
        for class in 0..k {
            let (total, work) = steps_hold(model, s, handler(s, class), |t| hold[t][class]);
            hold[s][class] = total;
            cpu[s][class] += work;
        }
    }
    // What a visit holds a worker for: all of `hold`, or, where workers are freed while calls
    // are out (`Async`), its `Work` alone.
    let worker: Vec<Vec<f64>> = model
        .services
        .iter()
        .enumerate()
        .map(|(s, service)| if service.concurrency == Concurrency::Async { cpu[s].clone() } else { hold[s].clone() })
        .collect();
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
    for &s in &order {
        let per_instance = per_instance(model, s, &rate[s]);
        for class in 0..k {
            let mut sent = Vec::new();
            send_on(model, s, handler(s, class), rate[s][class], per_instance, &mut sent);
            for (target, r) in sent {
                rate[target][class] += r;
            }
        }
    }
    model
        .services
        .iter()
        .enumerate()
        .map(|(s, service)| {
            // An autoscaled service can grow to its most instances.
            let workers = f64::from(service.max_instances()) * service.worker_capacity();
            // A log's partition is handled one message at a time: a group runs at most as many
            // at once as its topic has partitions.
            let workers = match service.consumes {
                Some(sub) if sub.delivery == crate::kinds::Delivery::Log => {
                    let per_worker = service.worker_capacity() / f64::from(service.workers.max(1));
                    workers.min(f64::from(model.topics[sub.topic as usize].partitions) * per_worker)
                }
                _ => workers,
            };
            let arrival_rate: f64 = rate[s].iter().sum();
            let work: f64 = rate[s].iter().zip(&worker[s]).map(|(r, h)| r * h).sum();
            // The tightest CPU limit on all instances, in CPUs.
            let limit = service
                .faults
                .iter()
                .filter(|f| f.instance.is_none())
                .filter_map(|f| match f.kind {
                    FaultKind::CpuQuota { quota, period } => Some(quota.as_nanos() as f64 / period.as_nanos() as f64),
                    _ => None,
                })
                .reduce(f64::min);
            let cpu_s: f64 = rate[s].iter().zip(&cpu[s]).map(|(r, c)| r * c).sum();
            ServiceLoad {
                service: service.name.clone(),
                arrival_rate_per_s: arrival_rate,
                min_hold_s: if arrival_rate > 0.0 { work / arrival_rate } else { worker[s][0] },
                offered_load: work / workers,
                cpu_load: limit.map(|cpus| cpu_s / (f64::from(service.max_instances()) * cpus)),
                batch_loads: batch_loads(model, s, &rate[s], &hold),
            }
        })
        .collect()
}

/// The requests per second reaching each instance of service `s`'s batchers, from its visits'
/// `rates` by class, as if every visit reached them.
fn per_instance(model: &Model, s: usize, rates: &[f64]) -> f64 {
    rates.iter().sum::<f64>() / f64::from(model.services[s].instances.max(1))
}

/// The load on each of service `s`'s batchers' flushes, from its visits' `rates` by class and
/// the services' `hold` by class: at the mean batch size a Poisson stream gives, its per-item
/// cost for each request and its steps once.
fn batch_loads(model: &Model, s: usize, rates: &[f64], hold: &[Vec<f64>]) -> Vec<f64> {
    let total: f64 = rates.iter().sum();
    if total <= 0.0 {
        return vec![0.0; model.services[s].batches.len()];
    }
    let per_instance = per_instance(model, s, rates);
    model.services[s]
        .batches
        .iter()
        .map(|batch| {
            let size = mean_batch(batch, per_instance);
            let per_item = match batch.steps.first() {
                Some(Step::PerItem(dist)) => dist.mean() * 1e-9,
                _ => 0.0,
            };
            let run: f64 = (0..rates.len())
                .map(|class| rates[class] / total * steps_hold(model, s, &batch.steps, |t| hold[t][class]).0)
                .sum();
            per_instance / size * (run + per_item * (size - 1.0)) / f64::from(batch.flushes)
        })
        .collect()
}

/// Warnings about designs that are legal but almost surely unintended.
/// `source` is the scenario's text, to point at the items warned about.
pub fn warnings(model: &Model, source: &str) -> Vec<Diagnostic> {
    let index = Index::new(source);
    let mut out = Vec::new();
    for (i, (load, service)) in offered_load(model).iter().zip(&model.services).enumerate() {
        if load.offered_load >= 1.0 {
            let consequence = match (service.consumes, service.queue_capacity) {
                (Some(_), _) => {
                    "its consumer group cannot keep up, and its backlog will grow until the topic's capacity"
                }
                (None, None) => "its queue will grow without bound",
                (None, Some(_)) => "its queue will fill and the excess will be rejected",
            };
            out.push(
                Diagnostic::warning(format!(
                    "offered at least {:.0}% of its capacity: {consequence}",
                    load.offered_load * 100.0
                ))
                .at_path(format!("services[{i}] \"{}\"", service.name))
                .at(index.name(&service.name))
                .with_hint("add workers or instances, or lower the rate"),
            );
        }
        for (batch, l) in service.batches.iter().zip(&load.batch_loads).filter(|(_, l)| **l >= 1.0) {
            out.push(
                Diagnostic::warning(format!(
                    "its batcher \"{}\" is offered at least {:.0}% of what its flushes can run: closed batches will queue without bound",
                    batch.name,
                    l * 100.0
                ))
                .at_path(format!("services[{i}] \"{}\"", service.name))
                .at(index.name(&service.name))
                .with_hint("batch more requests (a larger `size` or `linger`), add `flushes` or instances"),
            );
        }
        if let Some(cpu_load) = load.cpu_load.filter(|&l| l >= 1.0) {
            out.push(
                Diagnostic::warning(format!(
                    "its work needs at least {:.0}% of its CPU limit: the quota will run out in every period and the queue will grow",
                    cpu_load * 100.0
                ))
                .at_path(format!("services[{i}] \"{}\"", service.name))
                .at(index.name(&service.name))
                .with_hint("raise the CpuQuota's `cpus`, add instances, or lower the rate"),
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
            let to = edge.callee(model);
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
    out.extend(idle_consumer_warnings(model, &index));
    out.extend(connection_warnings(model, &index));
    out.extend(amplification_warnings(model, &index));
    tailsim_scenario::spans::point_at_items(&mut out, source);
    out
}

/// A `Log` group with more consumers than its topic has partitions: the extra ones never
/// get a message.
fn idle_consumer_warnings(model: &Model, index: &Index<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, service) in model.services.iter().enumerate() {
        let Some(sub) = service.consumes.filter(|s| s.delivery == crate::kinds::Delivery::Log) else { continue };
        let topic = &model.topics[sub.topic as usize];
        if service.instances > topic.partitions {
            out.push(
                Diagnostic::warning(format!(
                    "{} consumers read \"{}\", which has {} partition{}: {} of them will sit idle",
                    service.instances,
                    topic.name,
                    topic.partitions,
                    if topic.partitions == 1 { "" } else { "s" },
                    service.instances - topic.partitions
                ))
                .at_path(format!("services[{i}] \"{}\"", service.name))
                .at(index.name(&service.name))
                .with_hint("a partition is read by one consumer of a group: add partitions, or use `delivery: Queue`"),
            );
        }
    }
    out
}

/// Visits one request may set off beyond which `check` warns: past it, a run is likely to stop
/// at its limits on visits in flight or steps in one event.
pub const MAX_AMPLIFICATION: f64 = 1e6;

/// The attempts and hedges one call on `edge` may make at worst.
fn worst_attempts(model: &Model, edge: u32) -> f64 {
    let policy = &model.edges[edge as usize].policy;
    let attempts = policy.retry.as_ref().map_or(1, |r| r.attempts);
    let hedges = policy.hedge.as_ref().map_or(0, |h| h.max);
    f64::from(attempts) * (1.0 + f64::from(hedges))
}

/// The most visits one visit to each service may set off, itself included: along every path,
/// the product of fan-outs, retry attempts and hedges, summed over the steps of its largest
/// handler (a batch's steps counted once per request, as in a batch of one). Every lookup
/// misses; no failure stops a handler early.
pub fn amplification(model: &Model) -> Vec<f64> {
    let mut visits = vec![1.0f64; model.services.len()];
    for s in callers_first(model).into_iter().rev() {
        let service = &model.services[s];
        let handlers =
            std::iter::once(service.steps.as_slice()).chain(service.class_handlers.iter().map(Vec::as_slice));
        let step_visits = |step: &Step| -> f64 {
            match step {
                Step::Call { edge, target } => worst_attempts(model, *edge) * visits[target.0 as usize],
                Step::FanOut { edge, target, n, .. } => {
                    f64::from(*n) * worst_attempts(model, *edge) * visits[target.0 as usize]
                }
                Step::Parallel { calls, .. } => {
                    calls.iter().map(|&(edge, target)| worst_attempts(model, edge) * visits[target.0 as usize]).sum()
                }
                _ => 0.0,
            }
        };
        // A batch's steps run at most once per request it holds (a batch of one).
        let batch_visits: Vec<f64> =
            service.batches.iter().map(|b| b.steps.iter().map(step_visits).sum::<f64>()).collect();
        let with_batches = |step: &Step| match step {
            Step::Batch(b) => batch_visits[*b as usize],
            _ => step_visits(step),
        };
        let largest = handlers.map(|h| h.iter().map(with_batches).sum::<f64>()).fold(0.0, f64::max);
        visits[s] = 1.0 + largest;
    }
    visits
}

/// A warning for each client one of whose requests may set off more than
/// [`MAX_AMPLIFICATION`] visits.
fn amplification_warnings(model: &Model, index: &Index<'_>) -> Vec<Diagnostic> {
    let visits = amplification(model);
    let mut out = Vec::new();
    for (i, client) in model.clients.iter().enumerate() {
        let worst = worst_attempts(model, client.edge) * visits[client.target.0 as usize];
        if worst > MAX_AMPLIFICATION {
            out.push(
                Diagnostic::warning(format!(
                    "one request can set off up to {worst:.3e} visits: the fan-outs, retry attempts and hedges along its \
                     calls multiply; a run will likely stop at its limit on visits in flight or on steps in one event"
                ))
                .at_path(format!("clients[{i}] \"{}\"", client.name))
                .at(index.name(&client.name))
                .with_hint("fewer attempts deeper in the graph (retry at one layer only), smaller fan-outs, or a retry budget"),
            );
        }
    }
    out
}

/// Warnings on services with `max_connections`: calls that hold no pooled connection (the
/// limit cannot count them), and pools that want more connections than there are, when they
/// start or once their service has scaled to its most instances.
fn connection_warnings(model: &Model, index: &Index<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, service) in model.services.iter().enumerate() {
        let Some(limit) = service.max_connections else { continue };
        let path = format!("services[{i}] \"{}\"", service.name);
        let (mut at_start, mut at_most) = (0u64, 0u64);
        for edge in model.edges.iter().filter(|e| e.service().is_some_and(|to| to.0 as usize == i)) {
            let Some(pool) = edge.policy.bulkhead else {
                out.push(
                    Diagnostic::warning(format!(
                        "the calls from \"{}\" to \"{}\" hold no pooled connection, so its `max_connections` does not count them",
                        edge.from, service.name
                    ))
                    .at_path(&edge.path)
                    .with_hint("give the call its connection pool: bulkhead: (max_concurrent: 10, scope: PerInstance)"),
                );
                continue;
            };
            let (start, most) = match edge.caller {
                Some(caller) if pool.per_instance => {
                    let caller = &model.services[caller.0 as usize];
                    (caller.instances, caller.max_instances())
                }
                _ => (1, 1),
            };
            at_start += u64::from(pool.places) * u64::from(start);
            at_most += u64::from(pool.places) * u64::from(most);
        }
        let limit_64 = u64::from(limit);
        if at_start > limit_64 {
            out.push(
                Diagnostic::warning(format!(
                    "its callers' pools want {at_start} connections when they start, and it accepts {limit}: the last pools to open get what is left, or none, and fail their calls"
                ))
                .at_path(&path)
                .at(index.name(&service.name))
                .with_hint("raise `max_connections`, or make the pools smaller"),
            );
        } else if at_most > limit_64 {
            out.push(
                Diagnostic::warning(format!(
                    "scaled to their most instances, its callers' pools would want {at_most} connections, and it accepts {limit}: instances started beyond that fail their calls"
                ))
                .at_path(&path)
                .at(index.name(&service.name))
                .with_hint("cap the autoscaler's `max`, make the pools smaller, or raise `max_connections`"),
            );
        }
    }
    out
}

/// A service that behaves as an M/M/c queue, and its response time in theory.
#[derive(Clone, Debug, PartialEq)]
pub struct Mmc {
    /// The service's index in the model.
    pub service: usize,
    /// Its workers, c.
    pub workers: u32,
    /// Poisson arrivals per second, lambda.
    pub arrival_rate_per_s: f64,
    /// Mean service time, 1 / mu, in seconds.
    pub mean_service_s: f64,
    /// Erlang C: the probability that an arrival waits.
    pub wait_probability: f64,
    /// Mean response time (wait plus service), seconds.
    pub mean_response_s: f64,
    /// 99th percentile of the response time, seconds.
    pub p99_response_s: f64,
}

/// Every service that is an M/M/c queue and stable, with its theory: one instance with `c`
/// workers, an unbounded FIFO queue without shedding, faults or contention, one handler for every class
/// made of one exponential `Work`, and arrivals only from Poisson clients whose calls neither retry, hedge, limit nor
/// cancel (so what arrives is the sum of Poisson streams: Poisson). `None` for the others.
pub fn mmc(model: &Model) -> Vec<Option<Mmc>> {
    let mut called = vec![false; model.services.len()];
    for service in &model.services {
        for (target, _) in service.all_steps().flat_map(Step::callees) {
            called[target.0 as usize] = true;
        }
    }
    model
        .services
        .iter()
        .enumerate()
        .map(|(s, service)| {
            let [Step::Work(tailsim_engine::Dist::Exponential { mean })] = service.steps.as_slice() else {
                return None;
            };
            if service.instances != 1
                || !service.class_handlers.is_empty()
                || service.queue_capacity.is_some()
                || service.discipline != Discipline::Fifo
                || service.shed_after.is_some()
                || !service.faults.is_empty()
                || service.contention.is_some()
                || called[s]
            {
                return None;
            }
            let mut lambda = 0.0;
            for client in model.clients.iter().filter(|c| c.target.0 as usize == s) {
                let p = &model.edges.get(client.edge as usize)?.policy;
                let plain = p.retry.is_none()
                    && p.hedge.is_none()
                    && p.rate_limit.is_none()
                    && p.bulkhead.is_none()
                    && p.throttle.is_none()
                    && p.breaker.is_none()
                    && !p.cancel_on_timeout;
                if client.arrivals != Arrivals::Poisson || client.trace.is_some() || !plain {
                    return None;
                }
                lambda += client.rate_per_s;
            }
            let mean_service_s = mean * 1e-9;
            let c = service.workers;
            if lambda <= 0.0 || mean_service_s <= 0.0 || lambda * mean_service_s >= f64::from(c) {
                return None;
            }
            let mu = 1.0 / mean_service_s;
            let wait_probability = erlang_c(c, lambda / mu);
            Some(Mmc {
                service: s,
                workers: c,
                arrival_rate_per_s: lambda,
                mean_service_s,
                wait_probability,
                mean_response_s: mean_service_s + wait_probability / (f64::from(c) * mu - lambda),
                p99_response_s: mmc_response_quantile(c, lambda, mu, 0.99),
            })
        })
        .collect()
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load
/// `a = lambda / mu < c`, by the stable recursion on Erlang B: `B(0) = 1`,
/// `B(k) = a B(k-1) / (k + a B(k-1))`, `C = c B / (c - a (1 - B))`.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let c = f64::from(c);
    c * b / (c - a * (1.0 - b))
}

/// P(T > t) for the response time T of an M/M/c queue (FIFO): the service S ~ Exp(mu) plus a
/// wait that is 0 with probability 1 - C and Exp(theta), theta = c mu - lambda, with
/// probability C. The sum of two exponentials has the tail
/// `(theta e^(-mu t) - mu e^(-theta t)) / (theta - mu)`, or `(1 + mu t) e^(-mu t)` when equal.
pub fn mmc_response_tail(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    let wait = erlang_c(c, lambda / mu);
    let theta = f64::from(c) * mu - lambda;
    let service_tail = (-mu * t).exp();
    let sum_tail = if ((theta - mu) / mu).abs() < 1e-6 {
        (1.0 + mu * t) * service_tail
    } else {
        (theta * service_tail - mu * (-theta * t).exp()) / (theta - mu)
    };
    (1.0 - wait) * service_tail + wait * sum_tail
}

/// The `q` quantile of an M/M/c response time, by bisection on [`mmc_response_tail`]
/// (which decreases in t), to a relative precision of about 1e-12.
pub fn mmc_response_quantile(c: u32, lambda: f64, mu: f64, q: f64) -> f64 {
    let target = 1.0 - q;
    let mut high = 1.0 / mu;
    for _ in 0..200 {
        if mmc_response_tail(c, lambda, mu, high) <= target {
            break;
        }
        high *= 2.0;
    }
    let mut low = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if mmc_response_tail(c, lambda, mu, mid) > target {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Erlang C's table values, and M/M/1's response time, exactly exponential with rate
    /// mu - lambda: mean 1/(mu - lambda), p99 ln(100)/(mu - lambda).
    #[test]
    fn erlang_c_and_the_response_time_match_the_textbook() {
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        assert!((erlang_c(10, 8.0) - 0.4092).abs() < 5e-5);
        assert!((erlang_c(1, 0.9) - 0.9).abs() < 1e-12);
        let (lambda, mu) = (900.0, 1000.0);
        let p99 = mmc_response_quantile(1, lambda, mu, 0.99);
        assert!((p99 - 100f64.ln() / 100.0).abs() < 1e-9, "{p99}");
        for t in [0.001, 0.01, 0.05] {
            assert!((mmc_response_tail(1, lambda, mu, t) - (-(mu - lambda) * t).exp()).abs() < 1e-9);
        }
        // theta = mu exactly (c = 2, lambda = mu): the equal-rates branch, continuous with the other.
        let equal = mmc_response_tail(2, 1000.0, 1000.0, 0.002);
        let near = mmc_response_tail(2, 1000.0 * (1.0 - 1e-5), 1000.0, 0.002);
        assert!((equal - near).abs() < 1e-4, "{equal} vs {near}");
    }

    #[test]
    fn finds_mmc_services_and_only_those() {
        let source = r#"Scenario(name: "x", duration: "10s",
            clients: [Client(name: "a", target: "s", rate: 1500.0), Client(name: "b", target: "t", rate: 10.0)],
            services: [
                Service(name: "s", workers: 2, handler: [Work(Exponential(mean: "1ms"))]),
                Service(name: "t", handler: [Work(Exponential(mean: "1ms")), Call("u")]),
                Service(name: "u", handler: [Work(Exponential(mean: "1ms"))]),
            ])"#;
        let (model, _) = crate::load(source, &[]).expect("valid");
        let found = mmc(&model);
        let s = found[0].as_ref().expect("s is M/M/2");
        assert_eq!((s.workers, s.arrival_rate_per_s), (2, 1500.0));
        // A = 1.5, c = 2: C = 1.5^2/2 * 2/(2-1.5) / (1 + 1.5 + 4.5) = 9/14.
        assert!((s.wait_probability - 9.0 / 14.0).abs() < 1e-12);
        assert!((s.mean_response_s - (0.001 + (9.0 / 14.0) / 500.0)).abs() < 1e-12);
        assert!(found[1].is_none(), "t calls u");
        assert!(found[2].is_none(), "u is called by a service");
        // A class with its own handler makes the service's work a mixture: not M/M/c.
        let classes = source
            .replace(
                r#"rate: 1500.0)"#,
                r#"rate: 1500.0, classes: [Class(name: "x", weight: 1), Class(name: "y", weight: 1)])"#,
            )
            .replace(
                r#"handler: [Work(Exponential(mean: "1ms"))]),
                Service(name: "t""#,
                r#"handler: [Work(Exponential(mean: "1ms"))], handlers: {"y": [Work(Exponential(mean: "2ms"))]}),
                Service(name: "t""#,
            );
        let (model, _) = crate::load(&classes, &[]).expect("valid");
        assert!(mmc(&model)[0].is_none(), "{classes}");
        // Work that slows down with concurrency is not M/M/c either.
        let contended = source.replace("workers: 2,", "workers: 2, contention: (sigma: 0.1),");
        let (model, _) = crate::load(&contended, &[]).expect("valid");
        assert!(mmc(&model)[0].is_none(), "{contended}");
    }

    /// Under contention the offered load is the share of the best throughput the USL allows.
    #[test]
    fn contention_counts_workers_at_their_best_concurrency() {
        let source = r#"Scenario(name: "x", duration: "10s",
            clients: [Client(name: "a", target: "db", rate: 4500.0)],
            services: [Service(name: "db", workers: 64, contention: (sigma: 0.05, kappa: 0.001),
                               handler: [Work(Constant("1ms"))])])"#;
        let (model, _) = crate::load(source, &[]).expect("valid");
        let usl = model.services[0].contention.expect("compiled");
        // N* = sqrt(0.95 / 0.001) = 30.8: 31 busy workers do 31 / (1 + 1.5 + 0.93) = 9.038 workers' worth.
        assert!((usl.peak_concurrency() - 30.82).abs() < 0.01);
        assert!((model.services[0].worker_capacity() - 31.0 / 3.43).abs() < 1e-12);
        assert!(usl.best_capacity(31) > usl.best_capacity(30) && usl.best_capacity(30) > usl.best_capacity(29));
        // Below the peak the most workers are the best; beyond it, they are not.
        assert!((usl.best_capacity(10) - 10.0 / 1.54).abs() < 1e-12);
        assert_eq!(usl.best_capacity(1), 1.0);
        assert!((usl.throughput_per_s(64, 0.001) - 64_000.0 / 8.182).abs() < 1e-9);
        let load = &offered_load(&model)[0];
        assert!((load.offered_load - 4.5 / (31.0 / 3.43)).abs() < 1e-12, "{load:?}");
        // Amdahl's law (kappa 0) never peaks: every worker helps, each a little less.
        let amdahl = crate::compile::Usl { sigma: 0.1, kappa: 0.0 };
        assert!((amdahl.best_capacity(64) - 64.0 / 7.3).abs() < 1e-12);
        let serial = crate::compile::Usl { sigma: 1.0, kappa: 0.0 };
        assert_eq!(serial.best_capacity(64), 1.0);
    }
}
