//! Key-routed services: each key's owner among a service's instances (its pinned shard, or
//! its place among the shared shards), and the reshards that follow the active instances.
//! The subsystem owns its state ([`Shards`], one per key-routed service).

use super::*;

/// A key-routed service's placement of keys over its shared shards (the active instances no
/// key is pinned to), the active count they were built for (0: not yet), and each change.
pub(super) struct Shards {
    placement: Placement,
    shards: Vec<u32>,
    built_for: u32,
    resizes: Vec<CacheResize>,
}

impl Shards {
    /// Service `s`'s shards as a run starts, if it routes by key: none built yet.
    pub(super) fn new(s: &tailsim_model::compile::ServiceModel) -> Option<Shards> {
        let BalancerPolicy::ByKey { routing, key_space, .. } = &s.balancer else { return None };
        Some(Shards {
            placement: Placement::new(*routing, 1, tailsim_model::keys::salt(&s.name), *key_space),
            shards: Vec::new(),
            built_for: 0,
            resizes: Vec::new(),
        })
    }

    /// The instance that owns `key` among `active` instances, resharding first if they changed.
    #[inline(always)]
    pub(super) fn owner(&mut self, pins: &[(u32, u32)], key: u32, key_space: u32, active: u32, now: SimTime) -> u32 {
        if let Ok(i) = pins.binary_search_by_key(&key, |&(k, _)| k) {
            return pins[i].1;
        }
        if self.built_for != active {
            self.reshard(pins, key_space, active, now);
        }
        self.shards.get(self.placement.node(key) as usize).copied().unwrap_or(0)
    }

    /// The active instances changed (or it is the first request): the shared shards and the
    /// placement over them follow, and the share of keys that moved is recorded.
    #[cold]
    #[inline(never)]
    fn reshard(&mut self, pins: &[(u32, u32)], key_space: u32, active: u32, now: SimTime) {
        let before = (self.placement.clone(), std::mem::take(&mut self.shards));
        let pinned = |i: &u32| pins.iter().any(|p| p.1 == *i);
        self.shards.extend((0..active).filter(|i| !pinned(i)));
        self.placement.resize(self.shards.len() as u32);
        if self.built_for > 0 {
            let (old, old_shards) = before;
            let keys: Vec<u32> =
                (0..key_space).filter(|k| pins.binary_search_by_key(k, |&(p, _)| p).is_err()).collect();
            let moved = keys
                .iter()
                .filter(|&&k| old_shards.get(old.node(k) as usize) != self.shards.get(self.placement.node(k) as usize))
                .count();
            self.resizes.push(CacheResize {
                at_s: now.as_secs_f64(),
                from: old_shards.len() as u32,
                to: self.shards.len() as u32,
                moved_fraction: if keys.is_empty() { 0.0 } else { moved as f64 / keys.len() as f64 },
            });
        }
        self.built_for = active;
    }

    /// The reshards, for the service's summary.
    pub(super) fn resizes(&self) -> &[CacheResize] {
        &self.resizes
    }
}

impl<'m> World<'m> {
    /// The instance (offset within service `s`) that owns `key`: its pinned shard, or its place
    /// among the shared shards.
    #[inline(never)]
    pub(super) fn pick_by_key(&mut self, s: u32, pins: &[(u32, u32)], key: u32) -> u32 {
        let key_space = match &self.model.services[s as usize].balancer {
            BalancerPolicy::ByKey { key_space, .. } => *key_space,
            _ => 1,
        };
        let active = self.services[s as usize].fleet.active();
        self.shards[s as usize].as_mut().map_or(0, |shards| shards.owner(pins, key, key_space, active, self.now))
    }
}
