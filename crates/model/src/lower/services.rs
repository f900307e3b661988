//! Services: instances and workers, a handler per class, the balancer, the autoscaler, and
//! the settings of one service (contention, statement timeout, connection limit, replication).

use tailsim_engine::{SimDuration, SimTime};

use super::Cx;
use crate::compile::{
    AutoscalePolicy, BalancerPolicy, MAX_CONNECTIONS, MAX_INSTANCES, MAX_STEPS, MAX_WORKERS, ReplicationModel, ScaleOn,
    ServiceModel, Step, Usl,
};
use tailsim_scenario::diag::{Diagnostic, Location, locate_unique, suggest};
use tailsim_scenario::schema::{self, Balancer};

/// Lowers every service; their faults come later, from the faults pass.
pub(super) fn compile(cx: &mut Cx<'_>, key_space: u32) -> Vec<ServiceModel> {
    let scenario = cx.scenario;
    scenario.services.iter().enumerate().map(|(i, s)| service(cx, i, s, key_space)).collect()
}

/// Lowers one service.
fn service(cx: &mut Cx<'_>, i: usize, s: &schema::Service, key_space: u32) -> ServiceModel {
    let path = &format!("services[{i}] \"{}\"", s.name);
    let at = cx.index.name(&s.name);
    if s.instances == 0 || s.instances > MAX_INSTANCES {
        cx.error(
            Diagnostic::error(format!("`instances` must be between 1 and {MAX_INSTANCES}, got {}", s.instances))
                .at_path(path)
                .at(at),
        );
    }
    if s.workers == 0 || s.workers > MAX_WORKERS {
        cx.error(
            Diagnostic::error(format!("`workers` must be between 1 and {MAX_WORKERS}, got {}", s.workers))
                .at_path(path)
                .at(at)
                .with_hint("a service with no workers never serves anything"),
        );
    }
    if s.handler.is_empty() || s.handler.len() > MAX_STEPS {
        cx.error(
            Diagnostic::error(format!("`handler` must have between 1 and {MAX_STEPS} steps"))
                .at_path(path)
                .at(at)
                .with_hint(r#"add a step such as `Work(Exponential(mean: "5ms"))`"#),
        );
    }
    let (steps, class_handlers, handler_of_class) = handlers(cx, s, path);
    let balancer = balancer(cx, s, path, at, key_space);
    let autoscale = s.autoscale.as_ref().map(|a| autoscale(cx, s, a, path, at));
    let load_report_every = s.load_report_every.map(|d| d.0).filter(|d| {
        let valid = *d >= SimDuration::from_millis(1);
        if !valid {
            cx.error(Diagnostic::error("`load_report_every` must be at least 1ms").at_path(path).at(at));
        }
        valid
    });
    let contention = s.contention.as_ref().map(|c| contention(cx, c, path, at));
    let (statement_timeout, max_connections) = database(cx, s, path, at);
    let replication = s.replication.as_ref().map(|r| replication(cx, s, r, path, at));
    let admission = s.admission.as_ref().map(|a| super::admission::compile(cx, a, path, at, key_space));
    ServiceModel {
        name: s.name.clone(),
        instances: s.instances,
        workers: s.workers,
        queue_capacity: s.queue.capacity,
        discipline: s.queue.discipline.into(),
        shed_after: s.queue.shed_after.map(|d| d.0),
        balancer,
        autoscale,
        load_report_every,
        steps,
        class_handlers,
        handler_of_class,
        concurrency: s.concurrency.into(),
        contention,
        faults: Vec::new(),
        statement_timeout,
        max_connections,
        replication,
        admission,
        consumes: None,
        batches: std::mem::take(&mut cx.batches),
    }
}

/// The service's handler, its handlers by class, and the handler each class runs.
fn handlers(cx: &mut Cx<'_>, s: &schema::Service, path: &str) -> (Vec<Step>, Vec<Vec<Step>>, Vec<u8>) {
    let steps = super::steps::compile(cx, &s.name, &format!("{path} .handler"), &s.handler);
    let mut class_handlers = Vec::new();
    let mut handler_of_class = vec![0u8; cx.classes.len()];
    for (class, steps) in &s.handlers {
        let handler_path = format!("{path} .handlers[\"{class}\"]");
        if steps.is_empty() || steps.len() > MAX_STEPS {
            cx.error(
                Diagnostic::error(format!("a handler must have between 1 and {MAX_STEPS} steps"))
                    .at_path(&handler_path),
            );
        }
        match cx.classes.iter().position(|c| &c.name == class) {
            Some(id) => handler_of_class[id] = class_handlers.len() as u8 + 1,
            None => {
                let names = cx.class_names();
                cx.error(
                    Diagnostic::error(format!("`handlers` names an unknown request class \"{class}\""))
                        .at_path(&handler_path)
                        .at(locate_unique(cx.source, &format!("\"{class}\":")))
                        .with_hint(suggest(class, &names, "classes")),
                );
            }
        }
        class_handlers.push(super::steps::compile(cx, &s.name, &handler_path, steps));
    }
    (steps, class_handlers, handler_of_class)
}

/// The balancer, its weights or key routing checked against the instances.
fn balancer(cx: &mut Cx<'_>, s: &schema::Service, path: &str, at: Option<Location>, key_space: u32) -> BalancerPolicy {
    match &s.balancer {
        Balancer::RoundRobin => BalancerPolicy::RoundRobin,
        Balancer::Random => BalancerPolicy::Random,
        Balancer::LeastOutstanding => BalancerPolicy::LeastOutstanding,
        Balancer::PowerOfTwo => BalancerPolicy::PowerOfTwo,
        Balancer::Weighted(weights) => {
            let total: f64 = weights.iter().sum();
            let valid = weights.len() == s.instances as usize
                && weights.iter().all(|w| w.is_finite() && *w >= 0.0)
                && total > 0.0
                && total.is_finite();
            if !valid {
                cx.error(
                    Diagnostic::error(format!(
                        "`Weighted` needs one weight per instance ({}), none negative and not all zero",
                        s.instances
                    ))
                    .at_path(path)
                    .at(at)
                    .with_hint("e.g. instances: 3, balancer: Weighted([2, 1, 1])"),
                );
            }
            let mut below = 0.0;
            let mut cumulative: Vec<f64> = weights
                .iter()
                .map(|w| {
                    below += w / total;
                    below
                })
                .collect();
            if let Some(last) = cumulative.last_mut() {
                *last = 1.0;
            }
            BalancerPolicy::Weighted(cumulative)
        }
        Balancer::ByKey { routing, pins } => {
            // Pinned shards must always be there: below the autoscaler's minimum.
            let fixed = s.autoscale.as_ref().map_or(s.instances, |a| a.min.min(s.instances));
            let dedicated: std::collections::BTreeSet<u32> = pins.values().copied().collect();
            if pins.values().any(|&shard| shard >= fixed) || dedicated.len() as u32 >= s.instances {
                cx.error(
                    Diagnostic::error(format!(
                        "`pins` must name instances below {fixed} and leave at least one for the other keys"
                    ))
                    .at_path(path)
                    .at(at)
                    .with_hint("pins: {0: 7} puts key 0 alone on instance 7 of 8"),
                );
            }
            if let schema::Routing::Ring(v) = routing
                && (*v == 0 || *v > crate::keys::MAX_VNODES)
            {
                cx.error(
                    Diagnostic::error(format!(
                        "a ring needs between 1 and {} virtual nodes per node",
                        crate::keys::MAX_VNODES
                    ))
                    .at_path(path)
                    .at(at),
                );
            }
            BalancerPolicy::ByKey {
                routing: (*routing).into(),
                pins: pins.iter().map(|(&k, &shard)| (k, shard)).collect(),
                key_space,
            }
        }
    }
}

/// The autoscaler: one metric with its target, bounds around the instances, and a schedule.
fn autoscale(
    cx: &mut Cx<'_>,
    s: &schema::Service,
    a: &schema::Autoscale,
    path: &str,
    at: Option<Location>,
) -> AutoscalePolicy {
    let metric = match (a.target, a.metric) {
        (Some(target), None) => Some(ScaleOn::Utilisation(target)).filter(|_| target > 0.0 && target <= 1.0),
        (None, Some(schema::ScaleMetric::QueueDepth(n))) => {
            Some(ScaleOn::QueueDepth(n)).filter(|_| n > 0.0 && n.is_finite())
        }
        (None, Some(schema::ScaleMetric::InFlight(n))) => {
            Some(ScaleOn::InFlight(n)).filter(|_| n > 0.0 && n.is_finite())
        }
        (None, Some(schema::ScaleMetric::P95(d))) => {
            Some(ScaleOn::P95(d.0)).filter(|d| *d != ScaleOn::P95(SimDuration::ZERO))
        }
        (None, Some(schema::ScaleMetric::Lag(n))) => Some(ScaleOn::Lag(n)).filter(|_| n > 0.0 && n.is_finite()),
        _ => None,
    };
    if matches!(metric, Some(ScaleOn::Lag(_))) && s.consumes.is_none() {
        cx.error(
            Diagnostic::error(format!("`Lag` scales a consumer group, and \"{}\" reads no topic", s.name))
                .at_path(path)
                .at(at)
                .with_hint(r#"give it consumes: Some((topic: "...")), or scale on QueueDepth(10.0)"#),
        );
    }
    if metric.is_none() {
        cx.error(
            Diagnostic::error(
                "`autoscale` needs either a `target` utilisation in (0, 1] or a `metric` with a target above zero",
            )
            .at_path(path)
            .at(at)
            .with_hint(r#"e.g. autoscale: (target: 0.7, ...), or (metric: QueueDepth(10.0), ...), InFlight(20.0), P95("200ms") or, for a consumer group, Lag(1000.0)"#),
        );
    }
    let valid = a.min >= 1
        && a.min <= a.max
        && a.max <= MAX_INSTANCES
        && (a.min..=a.max).contains(&s.instances)
        && a.interval.0 >= SimDuration::from_millis(100)
        && (0.0..1.0).contains(&a.tolerance)
        && a.schedule.iter().all(|m| m.min >= 1 && m.min <= a.max);
    if !valid {
        cx.error(
            Diagnostic::error(format!(
                "`autoscale` needs 1 <= min <= instances ({}) <= max <= {MAX_INSTANCES}, \
                 scheduled mins within max, an `interval` of at least 100ms and a `tolerance` in [0, 1)",
                s.instances
            ))
            .at_path(path)
            .at(at)
            .with_hint("e.g. autoscale: (target: 0.7, min: 2, max: 20)"),
        );
    }
    if matches!(s.balancer, Balancer::Weighted(_)) {
        cx.error(
            Diagnostic::error("`Weighted` balancing has one weight per instance, so it cannot autoscale")
                .at_path(path)
                .at(at),
        );
    }
    let mut schedule: Vec<(SimTime, u32)> = a.schedule.iter().map(|m| (SimTime::ZERO + m.at.0, m.min)).collect();
    schedule.sort_by_key(|&(t, _)| t);
    AutoscalePolicy {
        metric: metric.unwrap_or(ScaleOn::Utilisation(1.0)),
        min: a.min,
        max: a.max,
        interval: a.interval.0,
        tolerance: a.tolerance,
        up_window: a.up_window.0,
        down_window: a.down_window.0,
        startup: a.startup.0,
        schedule,
    }
}

/// The Universal Scalability Law's coefficients, each a fraction.
fn contention(cx: &mut Cx<'_>, c: &schema::Contention, path: &str, at: Option<Location>) -> Usl {
    let fraction = |x: f64| (0.0..=1.0).contains(&x);
    if !fraction(c.sigma) || !fraction(c.kappa) {
        cx.error(
            Diagnostic::error(format!(
                "`contention` takes a `sigma` and a `kappa` between 0 and 1, got sigma {} and kappa {}",
                c.sigma, c.kappa
            ))
            .at_path(path)
            .at(at)
            .with_hint(
                "the Universal Scalability Law's coefficients, e.g. contention: (sigma: 0.05, kappa: 0.001) \
                 peaks at sqrt((1 - sigma) / kappa) = 31 busy workers",
            ),
        );
    }
    Usl { sigma: c.sigma, kappa: c.kappa }
}

/// A database's statement timeout and connection limit, each dropped when out of range.
fn database(
    cx: &mut Cx<'_>,
    s: &schema::Service,
    path: &str,
    at: Option<Location>,
) -> (Option<SimDuration>, Option<u32>) {
    let statement_timeout = s.statement_timeout.map(|d| d.0).filter(|d| {
        let valid = *d > SimDuration::ZERO;
        if !valid {
            cx.error(
                Diagnostic::error("`statement_timeout` must be longer than zero")
                    .at_path(path)
                    .at(at)
                    .with_hint("leave it out for statements that may run for ever"),
            );
        }
        valid
    });
    let max_connections = s.max_connections.filter(|&n| {
        let valid = (1..=MAX_CONNECTIONS).contains(&n);
        if !valid {
            cx.error(
                Diagnostic::error(format!("`max_connections` must be between 1 and {MAX_CONNECTIONS}, got {n}"))
                    .at_path(path)
                    .at(at)
                    .with_hint("leave it out for no limit"),
            );
        }
        valid
    });
    (statement_timeout, max_connections)
}

/// Replication: writes by class to the primary, reads to the replicas, and the lag between.
fn replication(
    cx: &mut Cx<'_>,
    s: &schema::Service,
    r: &schema::Replication,
    path: &str,
    at: Option<Location>,
) -> ReplicationModel {
    if s.instances < 2 || !matches!(s.balancer, Balancer::RoundRobin) {
        cx.error(
            Diagnostic::error(
                "a replicated service needs 2 or more instances (the primary and its replicas) \
                 and the default balancer: writes go to the primary, reads to the replicas in turn",
            )
            .at_path(path)
            .at(at),
        );
    }
    let mut writes = vec![false; cx.classes.len()];
    for name in &r.writes {
        match cx.classes.iter().position(|c| &c.name == name) {
            Some(id) => writes[id] = true,
            None => {
                let names = cx.class_names();
                cx.error(
                    Diagnostic::error(format!("`writes` names an unknown request class \"{name}\""))
                        .at_path(path)
                        .with_hint(suggest(name, &names, "classes")),
                );
            }
        }
    }
    let lag = cx.dist_or_zero("lag", r.lag.as_ref(), path, at);
    ReplicationModel { writes, lag }
}
