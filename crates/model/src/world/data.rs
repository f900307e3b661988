//! The data layer: cache lookups, fetches (single flight, stale-while-revalidate refreshes)
//! and writes, and key-routed (sharded) and replicated services.

use super::*;

impl<'m> World<'m> {
    /// Frame `f` looks its key up in cache `c`; a hit goes on at step `skip`. Returns whether
    /// the frame goes on at once (not after the lookup's latency, or a wait for another's
    /// fetch).
    #[inline(never)]
    pub(super) fn lookup(&mut self, f: u32, c: u32, skip: u32) -> bool {
        let now = self.now;
        if now >= self.window_end {
            self.roll_windows();
        }
        let model: &'m CacheModel = &self.model.caches[c as usize];
        let frame = &self.frames[f as usize];
        let local = frame.instance - self.services[frame.service as usize].first_instance;
        let cache = &mut self.caches[c as usize];
        let slot = cache.slot(model, frame.key, local);
        let found = cache.lookup(model, slot, now);
        let running = cache.inflight(slot) > 0;
        // Served from the cache (going on after the fill), waiting for the fetch already
        // running (single flight), or fetching: the miss's steps, then the fill.
        let (served, wait, refresh) = match found {
            Found::Fresh => (true, false, false),
            Found::Early { .. } => (model.coalesce && running, false, false),
            Found::Stale => (true, false, !running),
            Found::Missing => (false, model.coalesce && running, false),
        };
        let fetch = !served && !wait;
        cache.count_lookup(found, fetch || refresh, wait, self.window_index);
        let delay = cache.latency(model);
        let miss_start = frame.step;
        if refresh {
            self.spawn_refresh(f, c, slot, miss_start);
        }
        if wait {
            self.frames[f as usize].step = skip;
            let token = self.wait_for(f, 1, 0, 1);
            self.caches[c as usize].wait(slot, f, token);
            if self.model.services[self.frames[f as usize].service as usize].concurrency == Concurrency::Async {
                self.release_for_calls(f);
            }
            return false;
        }
        if served {
            self.frames[f as usize].step = skip;
        } else {
            self.caches[c as usize].fetch_started(slot);
            let below = self.frames[f as usize].fetch;
            let id = FetchId::new(self.fetches.insert(Fetch { cache: c, slot, started: now + delay, below }));
            self.frames[f as usize].fetch = Some(id);
        }
        if delay > SimDuration::ZERO {
            let service = self.frames[f as usize].service as usize;
            if self.model.services[service].concurrency == Concurrency::Async {
                // A round trip to the cache, as a call: an async visit frees its worker and
                // queues for one again when the answer comes.
                let token = self.wait_for(f, 1, 0, 1);
                self.release_for_calls(f);
                self.events.schedule(now + delay, Event::LookupDone { frame: f, token });
            } else {
                self.events.schedule(now + delay, Event::StepDone(f));
            }
            return false;
        }
        true
    }

    /// A stale hit of frame `f` starts a background refresh: a frame of its own, with no
    /// worker and no caller, that runs the miss's steps (from `step`) and fills the cache.
    #[cold]
    #[inline(never)]
    pub(super) fn spawn_refresh(&mut self, f: u32, c: u32, slot: u64, step: u32) {
        let now = self.now;
        let counted = now >= self.warmup_end;
        self.caches[c as usize].fetch_started(slot);
        let fetch = Some(FetchId::new(self.fetches.insert(Fetch { cache: c, slot, started: now, below: None })));
        let frame = &self.frames[f as usize];
        let tag = Tag { class: frame.class, key: frame.key };
        let fresh = Frame::new(frame.service, frame.instance, Parent::Background, now, counted, tag, frame.handler);
        let g = self.frames.insert(Frame { step, fetch, refresh: true, ..fresh }) as u32;
        self.agenda.push(Action::Advance(g));
    }

    /// Frame `f` fetched its value: it fills cache `c` and wakes the frames waiting for it.
    /// Returns whether the frame goes on (a background refresh ends here).
    #[inline(never)]
    pub(super) fn fill(&mut self, f: u32, c: u32) -> bool {
        let now = self.now;
        let frame = &mut self.frames[f as usize];
        let Some(id) = frame.fetch else {
            debug_assert!(false, "only a fetching frame reaches a fill");
            return true;
        };
        let fetch = self.fetches.remove(id.index());
        debug_assert_eq!(fetch.cache, c, "fills pair with lookups");
        frame.fetch = fetch.below;
        let refresh_done = frame.refresh && fetch.below.is_none();
        let model = &self.model.caches[c as usize];
        let cache = &mut self.caches[c as usize];
        cache.fill(model, fetch.slot, now, now.saturating_since(fetch.started));
        cache.count_fetch_end(true);
        self.end_fetch(c, fetch.slot, Outcome::Success);
        if refresh_done {
            self.agenda.push(Action::Finish(f, Outcome::Success));
            return false;
        }
        true
    }

    /// A fetch of `slot` in cache `c` ended: once none of the key is left running, its
    /// waiters get `outcome`, the value or the fetch's failure (as Go's singleflight shares it).
    pub(super) fn end_fetch(&mut self, c: u32, slot: u64, outcome: Outcome) {
        let mut wake = std::mem::take(&mut self.wake);
        self.caches[c as usize].fetch_ended(slot, &mut wake);
        for (frame, token) in wake.drain(..) {
            self.call_returned(Caller::Frame { frame, token }, outcome);
        }
        self.wake = wake;
    }

    /// A frame ends with fetches unfinished (it failed, or was cancelled): they fill nothing,
    /// and their waiters fail.
    #[cold]
    #[inline(never)]
    pub(super) fn abandon_fetches(&mut self, top: FetchId) {
        let mut next = Some(top);
        while let Some(id) = next {
            let fetch = self.fetches.remove(id.index());
            self.caches[fetch.cache as usize].count_fetch_end(false);
            self.end_fetch(fetch.cache, fetch.slot, Outcome::Failed(FailureKind::Error));
            next = fetch.below;
        }
    }

    /// Frame `f` writes its key into cache `c` (`put`) or removes it.
    #[inline(never)]
    pub(super) fn write_cache(&mut self, f: u32, c: u32, put: bool) {
        let now = self.now;
        let model = &self.model.caches[c as usize];
        let frame = &self.frames[f as usize];
        let local = frame.instance - self.services[frame.service as usize].first_instance;
        let cache = &mut self.caches[c as usize];
        let slot = cache.slot(model, frame.key, local);
        if put {
            let delta = cache.delta(slot);
            cache.fill(model, slot, now, delta);
        } else {
            cache.invalidate(slot);
        }
        cache.count_write(put);
    }

    /// The instance (offset within service `s`) that owns `key`: its pinned shard, or its place
    /// among the shared shards.
    #[inline(never)]
    pub(super) fn pick_by_key(&mut self, s: u32, pins: &[(u32, u32)], key: u32) -> u32 {
        let service = &mut self.services[s as usize];
        if let Ok(i) = pins.binary_search_by_key(&key, |&(k, _)| k) {
            return pins[i].1;
        }
        if service.shards_for != service.active {
            self.reshard(s, pins);
        }
        let service = &self.services[s as usize];
        let node = service.placement.as_ref().map_or(0, |p| p.node(key));
        service.shards.get(node as usize).copied().unwrap_or(0)
    }

    /// A key-routed service's active instances changed (or it is the first request): the
    /// shared shards and the placement over them follow, and the share of keys that moved is
    /// recorded.
    #[cold]
    #[inline(never)]
    pub(super) fn reshard(&mut self, s: u32, pins: &[(u32, u32)]) {
        let now = self.now;
        let key_space = match &self.model.services[s as usize].balancer {
            BalancerPolicy::ByKey { key_space, .. } => *key_space,
            _ => 1,
        };
        let service = &mut self.services[s as usize];
        let Some(placement) = &mut service.placement else { return };
        let before = (placement.clone(), std::mem::take(&mut service.shards));
        let pinned = |i: &u32| pins.iter().any(|p| p.1 == *i);
        service.shards.extend((0..service.active).filter(|i| !pinned(i)));
        placement.resize(service.shards.len() as u32);
        if service.shards_for > 0 {
            let (old, old_shards) = before;
            let keys: Vec<u32> =
                (0..key_space).filter(|k| pins.binary_search_by_key(k, |&(p, _)| p).is_err()).collect();
            let moved = keys
                .iter()
                .filter(|&&k| old_shards.get(old.node(k) as usize) != service.shards.get(placement.node(k) as usize))
                .count();
            service.resizes.push(CacheResize {
                at_s: now.as_secs_f64(),
                from: old_shards.len() as u32,
                to: service.shards.len() as u32,
                moved_fraction: if keys.is_empty() { 0.0 } else { moved as f64 / keys.len() as f64 },
            });
        }
        service.shards_for = service.active;
    }

    /// The instance of a replicated service a visit goes to: the primary (0) for a write, the
    /// replicas in turn for a read, fewer by one after each failover. A read of a key whose last
    /// write the replicas have not applied yet is stale.
    #[inline(never)]
    pub(super) fn pick_replica(&mut self, s: u32, tag: Tag) -> u32 {
        let now = self.now;
        let model = &self.model.services[s as usize];
        let Some(replication) = &model.replication else { return 0 };
        if replication.writes.get(usize::from(tag.class)).copied().unwrap_or(false) {
            return 0;
        }
        let service = &mut self.services[s as usize];
        // Each failover that has ended took a replica to be the primary.
        while service.failover_ends.get(service.failovers_done).is_some_and(|&end| end <= now) {
            service.failovers_done += 1;
        }
        let replicas = service.active.saturating_sub(1 + service.failovers_done as u32);
        if replicas == 0 {
            return 0;
        }
        // In turn, past the replicas balancers route around (crashed, and noticed); if all
        // are, the one whose turn it is (it refuses the read).
        let turn = service.next_instance % replicas;
        let replica = |k: u32| &self.instances[(service.first_instance + 1 + k) as usize];
        let turn = if service.skipped == 0 {
            turn
        } else {
            (0..replicas).map(|k| (turn + k) % replicas).find(|&k| replica(k).skipped == 0).unwrap_or(turn)
        };
        service.next_instance = turn + 1;
        let counted = now >= self.warmup_end;
        service.replica_reads += u64::from(counted);
        if service.visible_at.get(&tag.key).is_some_and(|&visible| visible > now) {
            service.stale_reads += u64::from(counted);
            service.stale_reads_total += 1;
        }
        1 + turn
    }

    /// A write to replicated service `s` committed at the primary: the replicas apply it after
    /// the lag.
    #[cold]
    #[inline(never)]
    pub(super) fn committed(&mut self, s: u32, key: u32) {
        let now = self.now;
        let Some(replication) = &self.model.services[s as usize].replication else { return };
        let service = &mut self.services[s as usize];
        let visible = now.saturating_add(replication.lag.sample(&mut service.rng));
        let at = service.visible_at.entry(key).or_insert(visible);
        *at = (*at).max(visible);
        if service.visible_at.len() >= service.prune_at {
            // Writes already applied everywhere can make no read stale.
            service.visible_at.retain(|_, &mut visible| visible > now);
            service.prune_at = (2 * service.visible_at.len()).max(1024);
        }
    }
}
