//! Faults on services: each checked, resolved to its service and instance, and put on that
//! service's timeline; CPU quotas checked for overlap. Broker faults go on their topics' own
//! timelines; cache faults go with the caches.

use tailsim_engine::{SimDuration, SimTime};

use super::Cx;
use crate::compile::{FaultKind, FaultWindow, ServiceModel, TopicModel};
use tailsim_scenario::diag::Diagnostic;
use tailsim_scenario::schema;

/// A fault as the runtime sees it: the service's name, the instance, start, length and kind.
type Window<'s> = (&'s String, &'s Option<u32>, &'s schema::Duration, schema::Duration, FaultKind);

/// Lowers every service fault onto its service's `faults`.
pub(super) fn compile(cx: &mut Cx<'_>, services: &mut [ServiceModel]) {
    let scenario = cx.scenario;
    for (i, fault) in scenario.faults.iter().enumerate() {
        if let Some(window) = window(cx, i, fault, services) {
            place(cx, i, window, services);
        }
    }
}

/// The fault's window, its settings checked; `None` for a cache's fault.
fn window<'s>(cx: &mut Cx<'_>, i: usize, fault: &'s schema::Fault, services: &[ServiceModel]) -> Option<Window<'s>> {
    let window = match fault {
        // Instants on a cache's timeline, compiled with the caches.
        schema::Fault::CacheFlush { .. } | schema::Fault::CacheNodes { .. } | schema::Fault::KeyChange { .. } => {
            return None;
        }
        // On a topic's timeline: see `broker`.
        schema::Fault::BrokerOutage { .. } | schema::Fault::BrokerSlowdown { .. } => return None,
        schema::Fault::Failover { service, at, detection, promotion } => {
            let replicated = cx.service(service).is_some_and(|id| services[id.0 as usize].replication.is_some());
            if !replicated {
                cx.error(
                    Diagnostic::error(format!("`Failover` needs a replicated service; \"{service}\" is not one"))
                        .at_path(format!("faults[{i}]"))
                        .with_hint(r#"give it replication: (writes: ["write"])"#),
                );
            }
            let down = schema::Duration(SimDuration(detection.0.as_nanos().saturating_add(promotion.0.as_nanos())));
            (service, &Some(0), at, down, FaultKind::Failover)
        }
        schema::Fault::Slowdown { service, instance, at, duration, factor } => {
            check_factor(cx, i, *factor);
            (service, instance, at, *duration, FaultKind::Slowdown(*factor))
        }
        schema::Fault::Errors { service, instance, at, duration, probability } => {
            if !(0.0..=1.0).contains(probability) {
                cx.error(
                    Diagnostic::error(format!("`probability` must be between 0 and 1, got {probability}"))
                        .at_path(format!("faults[{i}]")),
                );
            }
            (service, instance, at, *duration, FaultKind::Errors(*probability))
        }
        schema::Fault::Outage { service, instance, at, duration } => {
            (service, instance, at, *duration, FaultKind::Outage)
        }
        schema::Fault::Crash { service, instance, at, restart_after, detected_after } => {
            let kind = FaultKind::Crash { detected_after: detected_after.0 };
            (service, instance, at, *restart_after, kind)
        }
        schema::Fault::Pauses { service, instance, at, duration, every, pause } => {
            if pause.0 == SimDuration::ZERO || pause.0 >= every.0 {
                cx.error(
                    Diagnostic::error("pauses need a `pause` above zero and shorter than `every`")
                        .at_path(format!("faults[{i}]"))
                        .with_hint(r#"e.g. Pauses(service: "api", every: "10s", pause: "200ms")"#),
                );
            }
            let kind = FaultKind::Freeze { every: every.0, pause: pause.0 };
            (service, instance, at, *duration, kind)
        }
        schema::Fault::CpuQuota { service, instance, at, duration, cpus, period } => {
            // The kernel's bounds: a period of 1ms to 1s, and a quota of at least 1ms.
            let quota = SimDuration::from_nanos_f64(period.0.as_nanos() as f64 * cpus.clamp(0.0, 1e6));
            let bounded = (SimDuration::from_millis(1)..=SimDuration::from_secs(1)).contains(&period.0);
            if !cpus.is_finite() || !bounded || quota < SimDuration::from_millis(1) {
                cx.error(
                    Diagnostic::error(format!(
                        "a CPU quota needs a `period` from 1ms to 1s and `cpus x period` of at least 1ms, got cpus: {cpus}, period: {}",
                        period.0
                    ))
                    .at_path(format!("faults[{i}]"))
                    .with_hint(r#"e.g. CpuQuota(service: "api", cpus: 2.0, period: "100ms")"#),
                );
            }
            (service, instance, at, *duration, FaultKind::CpuQuota { quota, period: period.0 })
        }
    };
    Some(window)
}

/// Reports a slowdown's `factor` that is negative or not a number.
fn check_factor(cx: &mut Cx<'_>, i: usize, factor: f64) {
    if !(factor.is_finite() && factor >= 0.0) {
        cx.error(
            Diagnostic::error(format!("`factor` must be zero or more, got {factor}")).at_path(format!("faults[{i}]")),
        );
    }
}

/// Lowers every broker fault onto its topic's `faults`.
pub(super) fn broker(cx: &mut Cx<'_>, topics: &mut [TopicModel]) {
    let scenario = cx.scenario;
    for (i, fault) in scenario.faults.iter().enumerate() {
        let (topic, at, duration, kind) = match fault {
            schema::Fault::BrokerOutage { topic, at, duration } => (topic, at, duration, FaultKind::Outage),
            schema::Fault::BrokerSlowdown { topic, at, duration, factor } => {
                check_factor(cx, i, *factor);
                (topic, at, duration, FaultKind::Slowdown(*factor))
            }
            _ => continue,
        };
        check_length(cx, i, *duration, kind);
        let path = format!("faults[{i}]");
        if let Some(t) = super::topics::topic_id(cx, topic, &path, "the fault")
            && let Some(model) = topics.get_mut(t as usize)
        {
            let start = SimTime::ZERO + at.0;
            model.faults.push(FaultWindow { start, end: start.saturating_add(duration.0), instance: None, kind });
        }
    }
}

/// Reports fault `i`'s window of no length.
fn check_length(cx: &mut Cx<'_>, i: usize, duration: schema::Duration, kind: FaultKind) {
    if duration.0 == SimDuration::ZERO {
        let (message, hint) = match kind {
            FaultKind::Crash { .. } => (
                "a crash's `restart_after` must be longer than zero",
                r#"a restart takes time: e.g. restart_after: "30s"; leave it out for an instance that stays down"#,
            ),
            _ => ("a fault's `duration` must be longer than zero", r#"e.g. duration: "10s""#),
        };
        cx.error(Diagnostic::error(message).at_path(format!("faults[{i}]")).with_hint(hint));
    }
}

/// Puts a fault's window on its service, checking its length and instance.
fn place(cx: &mut Cx<'_>, i: usize, window: Window<'_>, services: &mut [ServiceModel]) {
    let (service, instance, at, duration, kind) = window;
    check_length(cx, i, duration, kind);
    match cx.service(service) {
        Some(id) => {
            if let Some(target) = services.get_mut(id.0 as usize) {
                if instance.is_some_and(|k| k >= target.instances) {
                    cx.error(
                        Diagnostic::error(format!(
                            "the fault names instance {} of \"{service}\", which has {} (counted from 0)",
                            instance.unwrap_or(0),
                            target.instances
                        ))
                        .at_path(format!("faults[{i}]")),
                    );
                }
                let start = SimTime::ZERO + at.0;
                let end = start.saturating_add(duration.0);
                target.faults.push(FaultWindow { start, end, instance: *instance, kind });
            }
        }
        None => cx.error(
            Diagnostic::error(format!("the fault names an unknown service \"{service}\""))
                .at_path(format!("faults[{i}]"))
                .with_hint(cx.suggest_service(service)),
        ),
    }
}

/// One account per instance: two CPU limits on one instance at once would fight over it.
pub(super) fn check_cpu_quotas(cx: &mut Cx<'_>, services: &[ServiceModel]) {
    for (s, service) in services.iter().enumerate() {
        let limits: Vec<&FaultWindow> =
            service.faults.iter().filter(|f| matches!(f.kind, FaultKind::CpuQuota { .. })).collect();
        for (k, a) in limits.iter().enumerate() {
            let lifted = |f: &FaultWindow| match f.kind {
                FaultKind::CpuQuota { period, .. } => {
                    let periods = (f.end.as_nanos() - f.start.as_nanos()).div_ceil(period.as_nanos().max(1));
                    f.start.saturating_add(SimDuration::from_nanos(periods.saturating_mul(period.as_nanos())))
                }
                _ => f.end,
            };
            let clash = limits[k + 1..].iter().any(|b| {
                let same = a.instance.is_none() || b.instance.is_none() || a.instance == b.instance;
                same && a.start < lifted(b) && b.start < lifted(a)
            });
            if clash {
                cx.error(
                    Diagnostic::error(format!("two CPU quotas of \"{}\" overlap on an instance", service.name))
                        .at_path(format!("services[{s}] \"{}\"", service.name))
                        .with_hint("an instance has one CPU limit at a time: give them separate times or instances (a quota lasts to the end of its last period)"),
                );
                break;
            }
        }
    }
}
