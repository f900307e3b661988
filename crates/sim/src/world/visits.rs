//! Visits at a service, through their lives ([`VisitState`]): arriving (an instance picked,
//! admitted to a worker or the queue, or refused), running their handler's steps one after
//! another until one takes time or waits, giving their worker back to wait for calls (async)
//! and queueing again for one, and finishing: the worker to the next queued visit, the
//! accounting, and the answer to the caller if it still listens.

use super::*;

impl<'m> World<'m> {
    /// Visit `f`'s `Work` step reached its service's statement timeout (unless a CPU throttle
    /// held it back: then later).
    #[cold]
    #[inline(never)]
    pub(super) fn on_statement_timeout(&mut self, f: VisitId) {
        if self.quotas.is_some() && !self.cpu_done(f, Event::StatementTimeout(f)) {
            return;
        }
        let visit = &self.visits[f.index()];
        if visit.cancelled {
            // Cancelled, or lost in a crash, while it ran: it ends as any step's end would.
            self.advance(f);
        } else {
            let service = &mut self.services[visit.service as usize];
            service.stats.statement_timeouts += u64::from(visit.counted);
            self.finish(f, Outcome::Failed(FailureKind::Error));
        }
    }

    /// A visit arrives at service `s`: it gets a worker, waits in a queue, or is rejected.
    /// Returns the new visit.
    #[inline(always)]
    pub(super) fn enter(&mut self, s: u32, parent: Parent, tag: Tag) -> VisitId {
        let class = tag.class;
        let now = self.now;
        let counted = now >= self.warmup_end;
        let service_model = &self.model.services[s as usize];
        let service = &mut self.services[s as usize];
        let instance_offset = match (service.fleet.active(), &service_model.balancer) {
            _ if service_model.replication.is_some() => self.pick_replica(s, tag),
            (1, _) => 0,
            // A key lives on its shard: a crashed shard refuses it, whatever the balancer knows.
            (_, BalancerPolicy::ByKey { pins, .. }) => self.pick_by_key(s, pins, tag.key),
            _ if service.balancer.skipping() => self.pick_instance(s),
            (n, BalancerPolicy::RoundRobin) => service.balancer.round_robin(n),
            (n, BalancerPolicy::Random) => service.balancer.random(n),
            _ => self.pick_instance(s),
        };
        let service = &mut self.services[s as usize];
        let instance = service.fleet.global(instance_offset);
        service.stats.arrivals_total += 1;
        service.stats.arrivals += u64::from(counted);
        let visit = Visit::new(s, instance, parent, now, counted, tag, service_model.handler_of(class));
        let f = VisitId::new(self.visits.insert(visit));
        let inst = &mut self.instances[instance as usize];
        inst.arrivals += u64::from(counted);
        // Only a service with a limit looks at the (separate, sparse) admission table.
        let turned_away = service_model.admission.is_some()
            && self.admission[s as usize].as_mut().is_some_and(|a| !a.admit(now, class, tag.key, counted));
        if turned_away
            || service.has_faults
                && self.timelines[s as usize].active(&service_model.faults, now, instance_offset).outage
        {
            service.stats.rejected += u64::from(counted);
            self.agenda.push(Action::Finish(f, Outcome::Failed(FailureKind::Rejected)));
        } else if inst.busy < service_model.workers {
            self.serve_at_once(f, s, instance, counted);
        } else if service_model.queue_capacity.is_none_or(|cap| inst.waiting() < u64::from(cap)) {
            inst.push(f, class, self.model);
            inst.outstanding += 1;
            let visit = &mut self.visits[f.index()];
            visit.state = VisitState::Queued;
            visit.admitted = true;
            service.stats.queued.enter(now, counted);
            service.stats.admitted += u64::from(counted);
        } else {
            service.stats.rejected += u64::from(counted);
            self.agenda.push(Action::Finish(f, Outcome::Failed(FailureKind::Rejected)));
        }
        f
    }

    /// Visit `f`, arrived at `instance` of service `s` (`counted`: after the warm-up), takes a
    /// free worker there at once: admitted, with no wait in the queue, its steps next.
    #[inline(always)]
    pub(super) fn serve_at_once(&mut self, f: VisitId, s: u32, instance: u32, counted: bool) {
        let now = self.now;
        let inst = &mut self.instances[instance as usize];
        inst.take_worker(now);
        inst.outstanding += 1;
        let stats = &mut self.services[s as usize].stats;
        stats.busy.enter(now, counted);
        stats.admitted += u64::from(counted);
        if counted {
            stats.queue_wait.record_zero();
        }
        let visit = &mut self.visits[f.index()];
        visit.state = VisitState::Running;
        visit.admitted = true;
        self.agenda.push(Action::Advance(f));
    }

    /// Puts visit `f` in a new wait for `successes` answers, absorbing `failures_allowed`
    /// failures, with `width` branches (1 + the hedges it may send), and returns the wait's
    /// first token.
    pub(super) fn wait_for(&mut self, f: VisitId, successes: u32, failures_allowed: u32, width: u32) -> u32 {
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(width);
        let visit = &mut self.visits[f.index()];
        visit.queued_since = self.now;
        debug_assert!(visit.wait.branches.is_none(), "a new wait starts once the last is decided");
        visit.wait = Wait::new(token, width, successes, failures_allowed, width - 1);
        token
    }

    /// Visit `f`, in wait `token`, calls each of `edges` (a fan-out, or `Parallel` calls),
    /// tracking the calls to cancel them once the wait is decided if `cancel_losers`.
    pub(super) fn send_branches(
        &mut self,
        f: VisitId,
        token: u32,
        tag: Tag,
        cancel_losers: bool,
        edges: impl Iterator<Item = u32>,
    ) {
        let counted = self.now >= self.warmup_end;
        if cancel_losers {
            self.track_branches(f);
        }
        for edge in edges {
            let call = self.start_call(Caller::Visit { visit: f, token }, edge, counted, tag);
            if cancel_losers {
                if self.visits[f.index()].wait.branches.is_none() {
                    break; // decided already (failed): the rest are not sent
                }
                self.add_branch(f, call);
            }
        }
    }

    /// Runs a visit's next steps, up to the first that takes time or waits.
    #[inline(always)]
    pub(super) fn advance(&mut self, f: VisitId) {
        let all: &'m Model = self.model;
        loop {
            let visit = &mut self.visits[f.index()];
            if visit.cancelled {
                if visit.lost() {
                    // Lost in a crash and accounted then: only its step's end was left.
                    self.visits.remove(f.index());
                    return;
                }
                // Its caller gave up and asked to stop: end here; nobody reads the outcome.
                return self.finish(f, Outcome::Failed(FailureKind::Error));
            }
            let s = visit.service as usize;
            let step = visit.step as usize;
            let tag = Tag { class: visit.class, key: visit.key };
            visit.step += 1;
            let model = &all.services[s];
            let local = self.services[s].fleet.local(visit.instance);
            let faults = if self.services[s].has_faults {
                self.timelines[s].active(&model.faults, self.now, local)
            } else {
                ActiveFaults::NONE
            };
            if step == 0
                && faults.error_probability > 0.0
                && self.services[s].rng.random::<f64>() < faults.error_probability
            {
                return self.finish(f, Outcome::Failed(FailureKind::Error));
            }
            match model.handler(visit.handler).get(step) {
                None => return self.finish(f, Outcome::Success),
                Some(Step::Work(dist)) => {
                    let d = dist.sample(&mut self.services[s].rng);
                    return self.hold_for(f, s, d, faults, local);
                }
                Some(Step::PerItem(dist)) => {
                    let Parent::Batch { batch } = self.visits[f.index()].parent else {
                        unreachable!("a `PerItem` step runs only as a batch's first")
                    };
                    let items = self.batch_items(batch);
                    let rng = &mut self.services[s].rng;
                    let d = (0..items).map(|_| dist.sample(rng)).fold(SimDuration::ZERO, |a, b| a + b);
                    return self.hold_for(f, s, d, faults, local);
                }
                Some(Step::Call { edge, .. }) => {
                    let edge = *edge;
                    let counted = self.now >= self.warmup_end;
                    if model.concurrency == Concurrency::Async {
                        self.release_for_calls(f);
                    }
                    let Some(hedge) = all.edges[edge as usize].policy.hedge else {
                        let token = self.wait_for(f, 1, 0, 1);
                        self.start_call(Caller::Visit { visit: f, token }, edge, counted, tag);
                        return;
                    };
                    let token = self.wait_for(f, 1, 0, 1 + hedge.max);
                    if hedge.cancel_losers {
                        self.track_branches(f);
                    }
                    let call = self.start_call(Caller::Visit { visit: f, token }, edge, counted, tag);
                    self.add_branch(f, call);
                    if let Some(delay) = self.hedge_delay(edge) {
                        self.events.schedule(self.now + delay, Event::HedgeVisit { visit: f, token });
                    }
                    return;
                }
                Some(Step::FanOut { edge, n, needed, cancel_losers, .. }) => {
                    let (edge, n, needed) = (*edge, *n, *needed);
                    if model.concurrency == Concurrency::Async {
                        self.release_for_calls(f);
                    }
                    let token = self.wait_for(f, needed, n - needed, 1);
                    return self.send_branches(f, token, tag, *cancel_losers, std::iter::repeat_n(edge, n as usize));
                }
                Some(Step::Parallel { calls, needed, cancel_losers }) => {
                    let n = calls.len() as u32;
                    if model.concurrency == Concurrency::Async {
                        self.release_for_calls(f);
                    }
                    let token = self.wait_for(f, *needed, n - needed, 1);
                    return self.send_branches(f, token, tag, *cancel_losers, calls.iter().map(|&(edge, _)| edge));
                }
                Some(Step::Fail(p)) => {
                    if self.services[s].rng.random::<f64>() < *p {
                        return self.finish(f, Outcome::Failed(FailureKind::Error));
                    }
                }
                Some(Step::Lookup { cache, skip }) => {
                    if !self.lookup(f, *cache, *skip) {
                        return;
                    }
                }
                Some(Step::Fill(cache)) => {
                    if !self.fill(f, *cache) {
                        return;
                    }
                }
                Some(Step::Invalidate(cache)) => self.write_cache(f, *cache, false),
                Some(Step::Put(cache)) => self.write_cache(f, *cache, true),
                Some(Step::Publish { topic, edge }) => {
                    if !self.publish_step(f, *topic, *edge) {
                        return;
                    }
                }
                Some(Step::Batch(b)) => return self.join_batch(f, *b),
            }
        }
    }

    /// Visit `f` of service `s` is held by its step for `d` drawn, stretched by its instance's slowdown (a fault,
    /// and contention among its busy workers), stopped at the statement timeout, and frozen
    /// through its instance's pauses: its end is scheduled.
    #[inline(always)]
    fn hold_for(&mut self, f: VisitId, s: usize, mut d: SimDuration, faults: ActiveFaults, local: u32) {
        let model = &self.model.services[s];
        let mut slowdown = faults.slowdown;
        if let Some(usl) = &model.contention {
            // The instance's busy workers as the step starts, this one included (a background
            // refresh or a batch runs without a worker of its own, so it adds one).
            let visit = &self.visits[f.index()];
            let busy = self.instances[visit.instance as usize].busy + u32::from(!visit.holds_worker());
            slowdown *= usl.slowdown(busy);
        }
        if slowdown != 1.0 {
            d = SimDuration::from_nanos_f64(d.as_nanos() as f64 * slowdown);
        }
        // A statement that would outrun the timeout is stopped at it.
        let killed = model.statement_timeout.is_some_and(|limit| d > limit);
        if killed && let Some(limit) = model.statement_timeout {
            d = limit;
        }
        let done = if self.services[s].has_faults {
            let start = if self.quotas.is_some() { self.cpu_start(f, d) } else { self.now };
            frozen_end(&self.timelines[s].freezes, local, start, d)
        } else {
            self.now + d
        };
        self.events.schedule(done, if killed { Event::StatementTimeout(f) } else { Event::StepDone(f) });
    }

    /// A worker of `instance` is free: it takes the next queued visit that is still wanted
    /// (dropping cancelled ones and shedding stale ones on the way), or goes idle.
    #[inline(always)]
    pub(super) fn release_worker(&mut self, s: u32, instance: u32) {
        let now = self.now;
        let from = self.warmup_end;
        let service = &mut self.services[s as usize];
        let inst = &mut self.instances[instance as usize];
        let model = &self.model.services[s as usize];
        loop {
            let Some(next) = inst.pop(model.discipline) else {
                inst.free_worker(now);
                if model.consumes.is_some() {
                    self.consumer_free(s, instance);
                }
                return;
            };
            let next_visit = &mut self.visits[next.index()];
            if next_visit.cancelled {
                // Dropped unserved when it was cancelled, and accounted then.
                self.visits.remove(next.index());
                inst.cancelled_in_queue -= 1;
                continue;
            }
            service.stats.queued.leave(next_visit.queued_since, now, from);
            let first_time = next_visit.state == VisitState::Queued;
            if first_time && model.shed_after.is_some_and(|limit| now - next_visit.queued_since > limit) {
                next_visit.state = VisitState::Unplaced;
                // Shed: waited too long to be worth serving; refused at once.
                if next_visit.counted {
                    service.stats.shed += 1;
                    service.stats.dropped_ns += u128::from((now - next_visit.arrived).as_nanos());
                }
                self.agenda.push(Action::Finish(next, Outcome::Failed(FailureKind::Rejected)));
                continue;
            }
            service.stats.busy.enter(now, now >= from);
            next_visit.state = VisitState::Running;
            next_visit.worker_since = now;
            if first_time && next_visit.counted {
                service.stats.waited += 1;
                service.stats.queue_wait.record(now - next_visit.arrived);
            }
            self.agenda.push(Action::Advance(next));
            return;
        }
    }

    /// An async visit starts waiting for its calls: its worker goes to the next visit.
    pub(super) fn release_for_calls(&mut self, f: VisitId) {
        let now = self.now;
        let from = self.warmup_end;
        let visit = &mut self.visits[f.index()];
        if !visit.holds_worker() {
            return;
        }
        visit.state = VisitState::Awaiting;
        visit.queued_since = now;
        let (s, instance, worker_since) = (visit.service, visit.instance, visit.worker_since);
        let service = &mut self.services[s as usize];
        service.stats.busy.leave(worker_since, now, from);
        service.stats.awaiting.enter(now, now >= from);
        self.release_worker(s, instance);
    }

    /// A visit's calls answered: a thread-per-request visit goes on; an async one needs a
    /// worker again for its remaining steps, or answers at once when none remain.
    pub(super) fn resume(&mut self, f: VisitId) {
        let now = self.now;
        let from = self.warmup_end;
        let visit = &mut self.visits[f.index()];
        if visit.holds_worker() || !visit.kind.uses_workers() {
            return self.agenda.push(Action::Advance(f));
        }
        let (s, instance) = (visit.service as usize, visit.instance as usize);
        let model = &self.model.services[s];
        if visit.cancelled {
            // Its caller gave up while it waited: it ends here, without queueing for a worker
            // (finish takes it out of `awaiting`; nobody reads the outcome).
            return self.agenda.push(Action::Finish(f, Outcome::Failed(FailureKind::Error)));
        }
        if visit.step as usize >= model.handler(visit.handler).len() {
            // Nothing left to run: answer now (finish takes it out of `awaiting`).
            return self.agenda.push(Action::Finish(f, Outcome::Success));
        }
        let service = &mut self.services[s];
        service.stats.awaiting.leave(visit.queued_since, now, from);
        let inst = &mut self.instances[instance];
        if inst.busy < model.workers {
            inst.take_worker(now);
            service.stats.busy.enter(now, now >= from);
            visit.state = VisitState::Running;
            visit.worker_since = now;
            self.agenda.push(Action::Advance(f));
        } else {
            // Already admitted: it queues for a worker whatever the queue's capacity.
            inst.push(f, visit.class, self.model);
            visit.state = VisitState::Requeued;
            visit.queued_since = now;
            service.stats.queued.enter(now, now >= from);
        }
    }

    /// A visit is done: free its worker (starting the next queued visit that is still wanted)
    /// and answer its parent, unless the parent stopped listening.
    #[inline(always)]
    pub(super) fn finish(&mut self, f: VisitId, outcome: Outcome) {
        let now = self.now;
        let from = self.warmup_end;
        let visit = self.visits.remove(f.index());
        debug_assert_eq!(visit.wait.branches, None, "a visit ends with its wait decided");
        if let Some(fetch) = visit.fetch {
            self.abandon_fetches(fetch);
        }
        if !visit.kind.of_the_service() {
            if let Parent::Batch { batch } = visit.parent {
                self.flushed(batch, outcome); // the batcher counts its batches
            }
            return; // nothing of the service's to count, nobody to answer
        }
        if let Some(pool) = visit.place_pool {
            self.release_place(pool);
        }
        if visit.admitted {
            let inst = &mut self.instances[visit.instance as usize];
            inst.outstanding -= 1;
            if inst.draining && inst.outstanding == 0 {
                self.drained(visit.service, visit.instance);
            }
        }
        let service = &mut self.services[visit.service as usize];
        service.stats.finished_total += 1;
        if visit.holds_worker() {
            service.stats.busy.leave(visit.worker_since, now, from);
            self.release_worker(visit.service, visit.instance);
        } else if visit.state == VisitState::Awaiting {
            // An async visit that ends while waiting for its calls (a failed call).
            service.stats.awaiting.leave(visit.queued_since, now, from);
        }
        if visit.served() {
            let service = &mut self.services[visit.service as usize];
            if let Some(scaler) = &mut self.autoscalers[visit.service as usize] {
                scaler.record(now - visit.arrived);
            }
            if visit.counted {
                service.stats.completed += 1;
                service.stats.latency.record(now - visit.arrived);
                let inst = &mut self.instances[visit.instance as usize];
                inst.finished += 1;
                inst.finished_ns += u128::from((now - visit.arrived).as_nanos());
            }
        }
        if visit.served()
            && outcome == Outcome::Success
            && let Some(replication) = &self.model.services[visit.service as usize].replication
            && replication.writes.get(usize::from(visit.class)).copied().unwrap_or(false)
        {
            self.committed(visit.service, visit.key);
        }
        let direct_from_client = matches!(visit.parent, Parent::Direct { caller: Caller::Request(_), .. });
        if visit.holds_worker() && visit.counted && !direct_from_client && !self.answer_wanted(visit.parent, f) {
            let service = &mut self.services[visit.service as usize];
            service.stats.wasted_ns += u128::from((now - visit.worker_since).as_nanos());
        }
        match visit.parent {
            Parent::Direct { caller, edge } if !visit.cancelled => {
                let state = &mut self.edges[edge as usize];
                let counts = &mut state.counts;
                let counted = u64::from(visit.counted);
                counts.completed_attempts += counted;
                match outcome {
                    Outcome::Success => counts.succeeded += counted,
                    Outcome::Failed(kind) => {
                        counts.failed += counted;
                        counts.record_answer_failure(kind, counted);
                    }
                }
                self.call_returned(caller, outcome);
            }
            // A cancelled loser: counted when it was cancelled; nobody waits for it.
            Parent::Direct { .. } => {}
            Parent::Attempt { call, incarnation, attempt } => {
                if self.listening(call, incarnation, attempt, f) {
                    self.attempt_done(call, outcome);
                }
            }
            Parent::Background | Parent::Batch { .. } => {}
            Parent::Message { message, receive } => self.delivered(message, receive, outcome, false),
        }
    }

    /// Whether call `call` still waits for visit `f` as its attempt `attempt`.
    pub(super) fn listening(&self, call: CallId, incarnation: u32, attempt: u32, f: VisitId) -> bool {
        self.calls
            .get(call.index())
            .is_some_and(|c| c.incarnation == incarnation && c.attempts == attempt && c.visit == Some(f))
    }

    /// Whether anyone will use the answer of visit `f` with parent `parent`: every caller up the
    /// chain to the client's request is still waiting. Walks up the call chain, no recursion.
    pub(super) fn answer_wanted(&self, mut parent: Parent, mut f: VisitId) -> bool {
        loop {
            let caller = match parent {
                Parent::Direct { caller, .. } => caller,
                Parent::Attempt { call, incarnation, attempt } => {
                    if !self.listening(call, incarnation, attempt, f) {
                        return false;
                    }
                    self.calls[call.index()].caller
                }
                Parent::Background | Parent::Message { .. } | Parent::Batch { .. } => return true,
            };
            match caller {
                Caller::Request(_) => return true,
                Caller::HedgedRequest { request, token } => {
                    return self.requests.get(request as usize).is_some_and(|q| q.wait.awaits(token));
                }
                Caller::Visit { visit: g, token } => match self.visits.get(g.index()) {
                    Some(caller) if caller.wait.awaits(token) => {
                        f = g;
                        parent = caller.parent;
                    }
                    _ => return false,
                },
            }
        }
    }
}
