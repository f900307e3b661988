//! The scenario's objectives (`slos`): each names a client, service or cache that exists (and
//! a class of the client; a `Recovery` a service with faults), and a threshold that can be met; a `Latency` or `QueueWait` with
//! several bounds is one objective per bound.

use tailsim_stats::slo::{Bound, LatencyStat, Measure, Objective, Unit};

use super::Cx;
use crate::compile::{CacheModel, ClientModel, ServiceModel};
use tailsim_scenario::diag::{Diagnostic, suggest};
use tailsim_scenario::schema::{Duration, Slo};

/// Lowers every objective; names are looked up among the compiled `clients` and `caches`.
pub(super) fn compile(
    cx: &mut Cx<'_>,
    clients: &[ClientModel],
    services: &[ServiceModel],
    caches: &[CacheModel],
) -> Vec<Objective> {
    let mut objectives = Vec::new();
    for (i, slo) in cx.scenario.slos.iter().enumerate() {
        let path = format!("slos[{i}]");
        match lower(cx, slo, clients, services, caches) {
            Ok(mut more) => objectives.append(&mut more),
            // The path points at the objective in the text (`spans`).
            Err((message, hint)) => cx.error(Diagnostic::error(message).at_path(path).with_hint(hint)),
        }
    }
    objectives
}

/// An error's message and hint.
type Refusal = (String, String);

fn lower(
    cx: &Cx<'_>,
    slo: &Slo,
    clients: &[ClientModel],
    services: &[ServiceModel],
    caches: &[CacheModel],
) -> Result<Vec<Objective>, Refusal> {
    let one = |name: String, measure: Measure, bound: Bound, unit: Unit| Objective { name, measure, bound, unit };
    Ok(match slo {
        Slo::Latency { client, class, mean, p50, p90, p99, p999, max } => {
            let (c, k, name) = client_and_class(cx, clients, client, class.as_deref())?;
            latency_bounds([mean, p50, p90, p99, p999, max])?
                .into_iter()
                .map(|(stat, ms)| {
                    let measure = Measure::Latency { client: c, class: k, stat };
                    one(format!("{name} {}", stat.name()), measure, Bound::Below(ms), Unit::Ms)
                })
                .collect()
        }
        Slo::Errors { client, class, below } => {
            let (c, k, name) = client_and_class(cx, clients, client, class.as_deref())?;
            share(*below, "`below`", false)?;
            vec![one(
                format!("{name} errors"),
                Measure::Errors { client: c, class: k },
                Bound::Below(*below),
                Unit::Share,
            )]
        }
        Slo::Goodput { client, class, at_least } => {
            let (c, k, name) = client_and_class(cx, clients, client, class.as_deref())?;
            if !(at_least.is_finite() && *at_least > 0.0) {
                return Err((
                    format!("`at_least` must be a positive rate, got {at_least}"),
                    "e.g. at_least: 1700.0".into(),
                ));
            }
            let measure = Measure::Goodput { client: c, class: k };
            vec![one(format!("{name} goodput"), measure, Bound::AtLeast(*at_least), Unit::PerSecond)]
        }
        Slo::Availability { client, p99, errors, at_least } => {
            let (c, _, name) = client_and_class(cx, clients, client, None)?;
            if p99.is_none() && errors.is_none() {
                return Err((
                    "an `Availability` objective needs what makes a window good: `p99`, `errors` or both".into(),
                    "e.g. Availability(client: \"shoppers\", p99: \"250ms\", errors: 0.01, at_least: 0.99)".into(),
                ));
            }
            if let Some(errors) = errors {
                share(*errors, "`errors`", true)?;
            }
            share(*at_least, "`at_least`", true)?;
            let p99_ms = p99.as_ref().map(positive_ms).transpose()?;
            let measure = Measure::Availability { client: c, p99_ms, errors: *errors };
            vec![one(format!("{name} availability"), measure, Bound::AtLeast(*at_least), Unit::Share)]
        }
        Slo::Utilisation { service, below } => {
            let s = service_index(cx, service)?;
            share(*below, "`below`", false)?;
            vec![one(
                format!("{service} utilisation"),
                Measure::Utilisation { service: s },
                Bound::Below(*below),
                Unit::Share,
            )]
        }
        Slo::QueueWait { service, mean, p50, p90, p99, p999, max } => {
            let s = service_index(cx, service)?;
            latency_bounds([mean, p50, p90, p99, p999, max])?
                .into_iter()
                .map(|(stat, ms)| {
                    let measure = Measure::QueueWait { service: s, stat };
                    one(format!("{service} queue wait {}", stat.name()), measure, Bound::Below(ms), Unit::Ms)
                })
                .collect()
        }
        Slo::WaitProbability { service, below } => {
            let s = service_index(cx, service)?;
            share(*below, "`below`", false)?;
            let measure = Measure::WaitProbability { service: s };
            vec![one(format!("{service} P(wait)"), measure, Bound::Below(*below), Unit::Share)]
        }
        Slo::Backlog { service, below } => {
            let s = service_index(cx, service)?;
            let measure = Measure::Backlog { service: s };
            vec![one(format!("{service} backlog"), measure, Bound::Below(*below as f64), Unit::Count)]
        }
        Slo::Recovery { service, within } => {
            let s = service_index(cx, service)?;
            if services[s].faults.is_empty() {
                return Err((
                    format!("a `Recovery` objective on \"{service}\", which has no faults to recover from"),
                    "add a fault on it under `faults`, or remove the objective".into(),
                ));
            }
            let measure = Measure::Recovery { service: service.clone() };
            vec![one(format!("{service} recovery"), measure, Bound::Below(within.0.as_secs_f64()), Unit::Seconds)]
        }
        Slo::HitRatio { cache, at_least } => {
            let names: Vec<&str> = caches.iter().map(|c| c.name.as_str()).collect();
            let Some(k) = names.iter().position(|n| n == cache) else {
                return Err((format!("no cache is named \"{cache}\""), cx.suggest_among(cache, &names, "caches")));
            };
            share(*at_least, "`at_least`", true)?;
            vec![one(
                format!("{cache} hit ratio"),
                Measure::HitRatio { cache: k },
                Bound::AtLeast(*at_least),
                Unit::Share,
            )]
        }
    })
}

/// The client's index, the class's index among its classes, and the objective's subject name.
fn client_and_class(
    cx: &Cx<'_>,
    clients: &[ClientModel],
    client: &str,
    class: Option<&str>,
) -> Result<(usize, Option<usize>, String), Refusal> {
    let names: Vec<&str> = clients.iter().map(|c| c.name.as_str()).collect();
    let Some(c) = names.iter().position(|n| *n == client) else {
        return Err((format!("no client is named \"{client}\""), suggest(client, &names, "clients")));
    };
    let Some(class) = class else { return Ok((c, None, client.to_string())) };
    let mine: Vec<&str> = clients[c].classes.iter().map(|(k, _)| cx.classes[usize::from(*k)].name.as_str()).collect();
    match mine.iter().position(|n| *n == class) {
        Some(k) => Ok((c, Some(k), format!("{client}/{class}"))),
        None => Err((format!("client \"{client}\" sends no class \"{class}\""), suggest(class, &mine, "classes"))),
    }
}

fn service_index(cx: &Cx<'_>, service: &str) -> Result<usize, Refusal> {
    cx.service(service)
        .map(|id| id.0 as usize)
        .ok_or_else(|| (format!("no service is named \"{service}\""), cx.suggest_service(service)))
}

/// The bounds given, as (statistic, ms); at least one.
fn latency_bounds(bounds: [&Option<Duration>; 6]) -> Result<Vec<(LatencyStat, f64)>, Refusal> {
    use LatencyStat::{Max, Mean, P50, P90, P99, P999};
    let given: Vec<(LatencyStat, f64)> = [Mean, P50, P90, P99, P999, Max]
        .into_iter()
        .zip(bounds)
        .filter_map(|(stat, bound)| bound.as_ref().map(|d| positive_ms(d).map(|ms| (stat, ms))))
        .collect::<Result<_, _>>()?;
    if given.is_empty() {
        return Err((
            "a latency objective needs a bound: one or more of `mean`, `p50`, `p90`, `p99`, `p999`, `max`".into(),
            "e.g. Latency(client: \"shoppers\", p99: \"200ms\")".into(),
        ));
    }
    Ok(given)
}

/// A positive duration in milliseconds.
fn positive_ms(d: &Duration) -> Result<f64, Refusal> {
    if d.0.as_nanos() == 0 {
        return Err((
            "a latency bound of 0 can never be met".into(),
            "give a positive duration, e.g. \"200ms\"".into(),
        ));
    }
    Ok(d.0.as_secs_f64() * 1e3)
}

/// A share from 0 (allowed when `zero`) to 1.
fn share(x: f64, what: &str, zero: bool) -> Result<(), Refusal> {
    let low_ok = if zero { x >= 0.0 } else { x > 0.0 };
    if x.is_finite() && low_ok && x <= 1.0 {
        return Ok(());
    }
    Err((format!("{what} is a share from 0 to 1, got {x}"), "write 0.001 for 0.1%".into()))
}
