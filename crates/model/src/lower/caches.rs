//! Caches: their settings checked, a per-instance cache's one service found, the cache faults
//! put on their timelines, and the total entries held bounded.

use tailsim_engine::{SimDuration, SimTime};

use super::Cx;
use crate::compile::{CacheEvent, CacheModel, MAX_CACHE_ENTRIES, ServiceId, ServiceModel, Step, compile_dist};
use tailsim_scenario::diag::Diagnostic;
use tailsim_scenario::schema;

/// Lowers every cache; `services` tell which service a per-instance cache lives in.
pub(super) fn compile(cx: &mut Cx<'_>, services: &[ServiceModel], key_space: u32) -> Vec<CacheModel> {
    let scenario = cx.scenario;
    let mut caches = Vec::with_capacity(scenario.caches.len());
    let mut total_entries = 0u64;
    for (i, c) in scenario.caches.iter().enumerate() {
        let model = cache(cx, i, c, services, key_space);
        total_entries += u64::from(model.capacity) * u64::from(model.stores(services));
        caches.push(model);
    }
    if total_entries > MAX_CACHE_ENTRIES {
        cx.error(
            Diagnostic::error(format!(
                "the caches could hold {total_entries} entries in all (capacity x nodes or instances), \
                 more than the {MAX_CACHE_ENTRIES} a run may keep in memory"
            ))
            .with_hint("a smaller key space and capacity, scaled together, keeps the same hit ratios"),
        );
    }
    for (j, fault) in scenario.faults.iter().enumerate() {
        let name = match fault {
            schema::Fault::CacheFlush { cache, .. }
            | schema::Fault::CacheNodes { cache, .. }
            | schema::Fault::KeyChange { cache, .. } => cache,
            _ => continue,
        };
        if !scenario.caches.iter().any(|c| &c.name == name) {
            let hint = cx.suggest_among(name, &cx.caches, "caches");
            cx.error(
                Diagnostic::error(format!("the fault names an unknown cache \"{name}\""))
                    .at_path(format!("faults[{j}]"))
                    .with_hint(hint),
            );
        }
    }
    caches
}

/// Lowers cache `i`.
fn cache(cx: &mut Cx<'_>, i: usize, c: &schema::Cache, services: &[ServiceModel], key_space: u32) -> CacheModel {
    let scenario = cx.scenario;
    let path = format!("caches[{i}] \"{}\"", c.name);
    let at = cx.index.name(&c.name);
    let mut fail = |message: String, hint: &str| {
        let d = Diagnostic::error(message).at_path(&path).at(at);
        cx.error(if hint.is_empty() { d } else { d.with_hint(hint) });
    };
    if scenario.caches[..i].iter().any(|other| other.name == c.name) {
        fail(format!("two caches are named \"{}\"", c.name), "cache names must be unique");
    }
    if c.capacity == 0 {
        fail("a cache's `capacity` must be at least 1 entry".into(), "capacity: 10000 holds 10,000 keys");
    }
    if c.ttl.is_some_and(|t| t.0 == SimDuration::ZERO) {
        fail("`ttl` must be longer than zero".into(), "leave it out for entries that never expire");
    }
    if c.nodes == 0 || c.nodes > crate::keys::MAX_NODES {
        fail(format!("`nodes` must be between 1 and {}", crate::keys::MAX_NODES), "");
    }
    if let schema::Routing::Ring(v) = c.routing
        && (v == 0 || v > crate::keys::MAX_VNODES)
    {
        fail(
            format!("a ring needs between 1 and {} virtual nodes per node, got {v}", crate::keys::MAX_VNODES),
            "Ring(100) is typical",
        );
    }
    if c.early.is_some_and(|beta| !(beta.is_finite() && beta > 0.0 && beta <= 100.0)) {
        fail("XFetch's `early` beta must be above 0 and at most 100".into(), "the paper's default is 1.0");
    }
    if c.warm > c.capacity.saturating_mul(c.nodes) {
        fail(
            format!("`warm` ({}) fills more keys than the cache holds ({})", c.warm, c.capacity),
            "warm at most `capacity` keys per node",
        );
    }
    let latency = c
        .latency
        .as_ref()
        .and_then(|spec| compile_dist(spec).map_err(|why| fail(format!("`latency`: {why}"), "")).ok());
    let users: Vec<usize> = services
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.all_steps().any(|step| {
                matches!(step, Step::Lookup { cache, .. } | Step::Invalidate(cache) | Step::Put(cache)
                    if *cache as usize == i)
            })
        })
        .map(|(s, _)| s)
        .collect();
    let per_instance = match c.scope {
        schema::CacheScope::Shared => None,
        schema::CacheScope::PerInstance => {
            if c.nodes != 1 || c.routing != schema::Routing::ModN {
                fail("a per-instance cache lives in each instance's memory: it has no `nodes` or `routing`".into(), "");
            }
            if users.len() > 1 {
                let names: Vec<&str> = users.iter().map(|&s| services[s].name.as_str()).collect();
                fail(
                    format!("a per-instance cache belongs to one service, but {} use it", names.join(", ")),
                    "give each service its own cache, or make it `Shared`",
                );
            }
            users.first().map(|&s| ServiceId(s as u32))
        }
    };
    let events = events(cx, c, per_instance.is_some());
    CacheModel {
        name: c.name.clone(),
        capacity: c.capacity,
        ttl: c.ttl.map(|t| t.0),
        ttl_spread: c.ttl_spread.0,
        latency,
        per_instance,
        nodes: c.nodes,
        routing: c.routing.into(),
        coalesce: c.coalesce,
        stale_for: c.stale_for.map(|d| d.0),
        early: c.early,
        warm: c.warm,
        key_space,
        events,
    }
}

/// The cache's faults as instants on its timeline, in time order.
fn events(cx: &mut Cx<'_>, c: &schema::Cache, per_instance: bool) -> Vec<(SimTime, CacheEvent)> {
    let scenario = cx.scenario;
    let mut events = Vec::new();
    for (j, fault) in scenario.faults.iter().enumerate() {
        let (name, when, event) = match fault {
            schema::Fault::CacheFlush { cache, at, fraction } => (cache, at, CacheEvent::Flush(*fraction)),
            schema::Fault::CacheNodes { cache, at, nodes } => (cache, at, CacheEvent::Nodes(*nodes)),
            schema::Fault::KeyChange { cache, at } => (cache, at, CacheEvent::KeyChange),
            _ => continue,
        };
        if *name != c.name {
            continue;
        }
        let fault_path = format!("faults[{j}]");
        match event {
            CacheEvent::Flush(f) if !(0.0..=1.0).contains(&f) => cx.error(
                Diagnostic::error(format!("a flush's `fraction` must be between 0 and 1, got {f}"))
                    .at_path(&fault_path),
            ),
            CacheEvent::Nodes(n) if per_instance || n == 0 || n > crate::keys::MAX_NODES => cx.error(
                Diagnostic::error(format!(
                    "`CacheNodes` resizes a shared cache to between 1 and {} nodes",
                    crate::keys::MAX_NODES
                ))
                .at_path(&fault_path),
            ),
            _ => {}
        }
        events.push((SimTime::ZERO + when.0, event));
    }
    events.sort_by_key(|&(t, _)| t);
    events
}
