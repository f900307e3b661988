//! Cross-checks on a lowered model without errors: every request that reaches a cache or a
//! key-routed service has a key, and the call graph has no cycle.

use super::Cx;
use crate::compile::{BalancerPolicy, CacheModel, ClientModel, ServiceId, ServiceModel, Step};
use crate::kinds::Tenant;
use tailsim_scenario::diag::Diagnostic;

/// Every client whose requests reach a cache step must give them keys.
pub(super) fn check_keys(cx: &mut Cx<'_>, clients: &[ClientModel], services: &[ServiceModel], caches: &[CacheModel]) {
    let uses_cache = |s: usize| {
        services[s].all_steps().find_map(|step| match step {
            Step::Lookup { cache, .. } | Step::Invalidate(cache) | Step::Put(cache) => Some(*cache),
            _ => None,
        })
    };
    for (i, client) in clients.iter().enumerate() {
        if client.keys.iter().all(Option::is_some) || client.trace.as_ref().is_some_and(|t| t.trace.has_keys()) {
            continue;
        }
        let mut seen = vec![false; services.len()];
        let mut stack = vec![client.target.0 as usize];
        while let Some(s) = stack.pop() {
            if std::mem::replace(&mut seen[s], true) {
                continue;
            }
            let needs = match uses_cache(s) {
                Some(cache) => Some(format!("cache \"{}\" (at \"{}\")", caches[cache as usize].name, services[s].name)),
                None if services[s].admission.as_ref().is_some_and(|a| a.per == Tenant::Key) => {
                    Some(format!("\"{}\", which admits by key,", services[s].name))
                }
                None => matches!(services[s].balancer, BalancerPolicy::ByKey { .. })
                    .then(|| format!("\"{}\", which routes by key,", services[s].name)),
            };
            if let Some(what) = needs {
                cx.error(
                    Diagnostic::error(format!("the requests of client \"{}\" reach {what} without keys", client.name))
                        .at_path(format!("clients[{i}] \"{}\"", client.name))
                        .with_hint("give the client (or each of its classes) `keys: Zipf(n: 100000, s: 1.0)`"),
                );
                break;
            }
            stack.extend(services[s].all_steps().flat_map(Step::callees).map(|(t, _)| t.0 as usize));
        }
    }
}

/// A cycle in the call graph, as the services on it with the first repeated at the end.
pub(super) fn find_cycle(services: &[ServiceModel]) -> Option<Vec<ServiceId>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let callees = |s: usize| services[s].all_steps().flat_map(Step::callees).map(|(target, _)| target.0 as usize);
    let mut marks = vec![Mark::New; services.len()];
    for root in 0..services.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (service, index of the next callee to visit).
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::OnPath;
        while let Some(&mut (s, ref mut next)) = path.last_mut() {
            match callees(s).nth(*next) {
                Some(callee) => {
                    *next += 1;
                    match marks[callee] {
                        Mark::New => {
                            marks[callee] = Mark::OnPath;
                            path.push((callee, 0));
                        }
                        Mark::OnPath => {
                            let start = path.iter().position(|&(p, _)| p == callee).unwrap_or(0);
                            let mut cycle: Vec<ServiceId> =
                                path[start..].iter().map(|&(p, _)| ServiceId(p as u32)).collect();
                            cycle.push(ServiceId(callee as u32));
                            return Some(cycle);
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    marks[s] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
    None
}
