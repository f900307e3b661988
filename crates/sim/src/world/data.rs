//! The data layer's caches: lookups, fetches (single flight, stale-while-revalidate
//! refreshes) and writes. Key-routed services are in `shards`, replicated ones in `replicas`.

use super::*;

impl<'m> World<'m> {
    /// Visit `f` looks its key up in cache `c`; a hit goes on at step `skip`. Returns whether
    /// the visit goes on at once (not after the lookup's latency, or a wait for another's
    /// fetch).
    #[inline(never)]
    pub(super) fn lookup(&mut self, f: VisitId, c: u32, skip: u32) -> bool {
        let now = self.now;
        if now >= self.window_end {
            self.roll_windows();
        }
        let model: &'m CacheModel = &self.model.caches[c as usize];
        let visit = &self.visits[f.index()];
        let local = self.services[visit.service as usize].fleet.local(visit.instance);
        let cache = &mut self.caches[c as usize];
        let slot = cache.slot(model, visit.key, local);
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
        let miss_start = visit.step;
        if refresh {
            self.spawn_refresh(f, c, slot, miss_start);
        }
        if wait {
            self.visits[f.index()].step = skip;
            let token = self.wait_for(f, 1, 0, 1);
            self.caches[c as usize].wait(slot, f, token);
            if self.model.services[self.visits[f.index()].service as usize].concurrency == Concurrency::Async {
                self.release_for_calls(f);
            }
            return false;
        }
        if served {
            self.visits[f.index()].step = skip;
        } else {
            self.caches[c as usize].fetch_started(slot);
            let below = self.visits[f.index()].fetch;
            let id = FetchId::new(self.fetches.insert(Fetch { cache: c, slot, started: now + delay, below }));
            self.visits[f.index()].fetch = Some(id);
        }
        if delay > SimDuration::ZERO {
            let service = self.visits[f.index()].service as usize;
            if self.model.services[service].concurrency == Concurrency::Async {
                // A round trip to the cache, as a call: an async visit frees its worker and
                // queues for one again when the answer comes.
                let token = self.wait_for(f, 1, 0, 1);
                self.release_for_calls(f);
                self.events.schedule(now + delay, Event::LookupDone { visit: f, token });
            } else {
                self.events.schedule(now + delay, Event::StepDone(f));
            }
            return false;
        }
        true
    }

    /// A stale hit of visit `f` starts a background refresh: a visit of its own, with no
    /// worker and no caller, that runs the miss's steps (from `step`) and fills the cache.
    #[cold]
    #[inline(never)]
    pub(super) fn spawn_refresh(&mut self, f: VisitId, c: u32, slot: u64, step: u32) {
        let now = self.now;
        let counted = now >= self.warmup_end;
        self.caches[c as usize].fetch_started(slot);
        let fetch = Some(FetchId::new(self.fetches.insert(Fetch { cache: c, slot, started: now, below: None })));
        let visit = &self.visits[f.index()];
        let tag = Tag { class: visit.class, key: visit.key };
        let fresh = Visit::new(visit.service, visit.instance, Parent::Background, now, counted, tag, visit.handler);
        let g = VisitId::new(self.visits.insert(Visit { step, fetch, kind: VisitKind::Refresh, ..fresh }));
        self.agenda.push(Action::Advance(g));
    }

    /// Visit `f` fetched its value: it fills cache `c` and wakes the visits waiting for it.
    /// Returns whether the visit goes on (a background refresh ends here).
    #[inline(never)]
    pub(super) fn fill(&mut self, f: VisitId, c: u32) -> bool {
        let now = self.now;
        let visit = &mut self.visits[f.index()];
        let Some(id) = visit.fetch else {
            debug_assert!(false, "only a fetching visit reaches a fill");
            return true;
        };
        let fetch = self.fetches.remove(id.index());
        debug_assert_eq!(fetch.cache, c, "fills pair with lookups");
        visit.fetch = fetch.below;
        let refresh_done = visit.refresh() && fetch.below.is_none();
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
        for (visit, token) in wake.drain(..) {
            self.call_returned(Caller::Visit { visit, token }, outcome);
        }
        self.wake = wake;
    }

    /// A visit ends with fetches unfinished (it failed, or was cancelled): they fill nothing,
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

    /// Visit `f` writes its key into cache `c` (`put`) or removes it.
    #[inline(never)]
    pub(super) fn write_cache(&mut self, f: VisitId, c: u32, put: bool) {
        let now = self.now;
        let model = &self.model.caches[c as usize];
        let visit = &self.visits[f.index()];
        let local = self.services[visit.service as usize].fleet.local(visit.instance);
        let cache = &mut self.caches[c as usize];
        let slot = cache.slot(model, visit.key, local);
        if put {
            let delta = cache.delta(slot);
            cache.fill(model, slot, now, delta);
        } else {
            cache.invalidate(slot);
        }
        cache.count_write(put);
    }
}
