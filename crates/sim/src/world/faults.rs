//! Faults on a service's timeline as the world plays them: which are open at an instant (kept
//! as the clock moves on, so a visit reads only the open ones) and how freezes stretch work,
//! and crashes (what an instance loses, and its restart). CPU quotas are in `quotas`.

use super::*;

/// A fault's moments, each naming the service and the fault's index in its list (an
/// instance, for a quota's account).
#[derive(Clone, Copy, Debug)]
pub(super) enum FaultEvent {
    /// A `Crash` strikes: its instances lose what they hold.
    Crash { service: u32, fault: u32 },
    /// Balancers notice a crash and start routing around its instances.
    Noticed { service: u32, fault: u32 },
    /// The instances of a crash restart.
    Restart { service: u32, fault: u32 },
    /// A period of a CPU quota ends (or, at the fault's start, the first begins).
    CpuPeriod { service: u32, fault: u32 },
    /// An instance's CPU quota may be spent (see [`crate::cpu`]); `token` tells a stale event.
    CpuSpent { instance: u32, token: u32 },
}

/// A service's fault timeline as the world plays it: which faults are open now, and its
/// freezes apart (what stretches work), so that neither a visit nor a step scans every fault.
#[derive(Clone, Debug)]
pub(super) struct Timeline {
    /// The faults open at the clock's instant.
    cursor: FaultCursor,
    /// The freezes alone, in the scenario's order.
    pub(super) freezes: Vec<FaultWindow>,
}

impl Timeline {
    /// The timeline of `faults` before any has started.
    pub(super) fn new(faults: &[FaultWindow]) -> Timeline {
        let freezes = faults.iter().filter(|f| matches!(f.kind, FaultKind::Freeze { .. })).copied().collect();
        Timeline { cursor: FaultCursor::new(faults), freezes }
    }

    /// The faults of `faults` (the service's, as `new` had them) open at `now` on instance
    /// `instance` (its index within the service).
    #[inline(never)]
    pub(super) fn active(&mut self, faults: &[FaultWindow], now: SimTime, instance: u32) -> ActiveFaults {
        self.cursor.active(faults, now, instance)
    }
}

/// A service's faults open at the clock's instant, kept as the clock moves on so that a lookup
/// reads only the open ones, not every fault of the timeline: the faults by start time, how many
/// have started, and the open ones in the scenario's order (so slowdowns multiply in the same
/// order as a scan of all of them would, to the last bit).
#[derive(Clone, Debug)]
pub(super) struct FaultCursor {
    /// Fault indices by start time (then index).
    by_start: Vec<u32>,
    /// How many of `by_start` have been let in.
    started: usize,
    /// The open faults' indices, ascending.
    open: Vec<u32>,
    /// The next instant a fault opens or closes: until then the open ones stand.
    next_change: SimTime,
    /// The instant of the last move (the clock never goes back).
    last_move: SimTime,
}

impl FaultCursor {
    /// A cursor over `faults` before any has started.
    pub(super) fn new(faults: &[FaultWindow]) -> FaultCursor {
        let mut by_start: Vec<u32> = (0..faults.len() as u32).collect();
        by_start.sort_by_key(|&i| (faults[i as usize].start, i));
        let mut cursor = FaultCursor {
            by_start,
            started: 0,
            open: Vec::new(),
            next_change: SimTime::ZERO,
            last_move: SimTime::ZERO,
        };
        cursor.next_change = cursor.next_change(faults);
        cursor
    }

    /// The faults open at `now` on instance `instance` (its index within the service); `now`
    /// is the clock, which never goes back. Between changes with none open (most of a run),
    /// one comparison.
    #[inline]
    pub(super) fn active(&mut self, faults: &[FaultWindow], now: SimTime, instance: u32) -> ActiveFaults {
        if now < self.next_change && self.open.is_empty() {
            return ActiveFaults::NONE;
        }
        self.open_at(faults, now, instance)
    }

    /// [`FaultCursor::active`] when a fault is open or one opens or closes.
    #[cold]
    #[inline(never)]
    fn open_at(&mut self, faults: &[FaultWindow], now: SimTime, instance: u32) -> ActiveFaults {
        debug_assert!(now >= self.last_move, "the clock went back from {} to {now}", self.last_move);
        if now >= self.next_change {
            self.last_move = now;
            self.move_to(faults, now);
        }
        combine(self.open.iter().map(|&i| &faults[i as usize]), instance)
    }

    /// Closes the faults that ended by `now` and opens those that started.
    fn move_to(&mut self, faults: &[FaultWindow], now: SimTime) {
        self.open.retain(|&i| now < faults[i as usize].end);
        while let Some(&i) = self.by_start.get(self.started) {
            let fault = &faults[i as usize];
            if fault.start > now {
                break;
            }
            self.started += 1;
            if now < fault.end {
                let at = self.open.partition_point(|&j| j < i);
                self.open.insert(at, i);
            }
        }
        self.next_change = self.next_change(faults);
    }

    /// The earliest end among the open faults and start among the rest.
    fn next_change(&self, faults: &[FaultWindow]) -> SimTime {
        let next_start = self.by_start.get(self.started).map_or(SimTime(u64::MAX), |&i| faults[i as usize].start);
        self.open.iter().map(|&i| faults[i as usize].end).fold(next_start, SimTime::min)
    }
}

/// The faults open at `now` on instance `instance` (its index within the service), by a scan of
/// them all: what [`FaultCursor::active`] must agree with, and what a topic's few broker
/// faults are read by.
pub(super) fn active_faults(faults: &[FaultWindow], now: SimTime, instance: u32) -> ActiveFaults {
    combine(faults.iter().filter(|f| f.start <= now && now < f.end), instance)
}

/// What the open faults do to instance `instance`: slowdowns multiply, error probabilities
/// combine as independent. Freezes and CPU quotas act on work's end instead.
fn combine<'a>(open: impl Iterator<Item = &'a FaultWindow>, instance: u32) -> ActiveFaults {
    let mut active = ActiveFaults::NONE;
    for fault in open.filter(|f| f.instance.is_none_or(|i| i == instance)) {
        match fault.kind {
            FaultKind::Slowdown(factor) => active.slowdown *= factor,
            FaultKind::Errors(p) => active.error_probability = 1.0 - (1.0 - active.error_probability) * (1.0 - p),
            FaultKind::Outage | FaultKind::Failover | FaultKind::Crash { .. } => active.outage = true,
            FaultKind::Freeze { .. } | FaultKind::CpuQuota { .. } => {}
        }
    }
    active
}

/// When work of `work` ns that starts at `start` ends on instance `instance`, given the
/// freezes among `faults`: a freeze stops the clock of the work for its length.
#[cold]
#[inline(never)]
pub(super) fn frozen_end(faults: &[FaultWindow], instance: u32, start: SimTime, work: SimDuration) -> SimTime {
    let mut t = start.as_nanos();
    let mut remaining = work.as_nanos();
    for fault in faults.iter().filter(|f| f.instance.is_none_or(|i| i == instance)) {
        let FaultKind::Freeze { every, pause } = fault.kind else { continue };
        let (every, pause) = (every.as_nanos().max(1), pause.as_nanos());
        let first = fault.start.as_nanos();
        let end = fault.end.as_nanos();
        // Freeze k covers [first + k every, first + k every + pause), while it starts before `end`.
        loop {
            let k = if t < first { 0 } else { (t - first) / every };
            let freeze = first.saturating_add(k.saturating_mul(every));
            if freeze >= end {
                break;
            }
            if t >= freeze && t < freeze.saturating_add(pause) {
                t = freeze + pause; // frozen now: wait for the thaw
                continue;
            }
            let next = if t < freeze { freeze } else { freeze.saturating_add(every) };
            if next >= end || t.saturating_add(remaining) <= next {
                break;
            }
            // Whole cycles of (every - pause) of progress at a time, then the rest.
            let run = every - pause;
            remaining -= next - t;
            t = next.saturating_add(pause);
            if let Some(whole) = remaining.checked_div(run) {
                let cycles = whole.min(end.saturating_sub(t) / every);
                remaining -= cycles * run;
                t = t.saturating_add(cycles * every);
            }
        }
    }
    SimTime(t.saturating_add(remaining))
}

impl<'m> World<'m> {
    /// A fault's moment comes.
    pub(super) fn on_fault_event(&mut self, event: FaultEvent) {
        match event {
            FaultEvent::Crash { service, fault } => self.on_crash(service, fault),
            FaultEvent::Noticed { service, fault } => self.on_health(service, fault, true),
            FaultEvent::Restart { service, fault } => self.on_restart(service, fault),
            FaultEvent::CpuPeriod { service, fault } => self.on_cpu_period(service, fault),
            FaultEvent::CpuSpent { instance, token } => self.on_cpu_spent(instance, token),
        }
    }

    /// Service `s`'s crashes: when each strikes, is noticed and ends, within the run.
    pub(super) fn start_crashes(&mut self, s: u32) {
        let end = SimTime::ZERO + self.model.duration;
        for (k, fault) in self.model.services[s as usize].faults.iter().enumerate() {
            let (service, fault_index) = (s, k as u32);
            let FaultKind::Crash { detected_after } = fault.kind else { continue };
            if fault.start < end {
                self.events.schedule(fault.start, Event::Fault(FaultEvent::Crash { service, fault: fault_index }));
            }
            let noticed = fault.start.saturating_add(detected_after);
            if detected_after > SimDuration::ZERO && noticed < fault.end && noticed < end {
                self.events.schedule(noticed, Event::Fault(FaultEvent::Noticed { service, fault: fault_index }));
            }
            if fault.start < fault.end && fault.end < end {
                self.events.schedule(fault.end, Event::Fault(FaultEvent::Restart { service, fault: fault_index }));
            }
        }
    }

    /// The instances of crash `fault` of service `s`: one slot, or every slot.
    pub(super) fn crashed_slots(&self, s: u32, fault: u32) -> std::ops::Range<u32> {
        let model = &self.model.services[s as usize];
        let first = self.services[s as usize].fleet.first();
        match model.faults[fault as usize].instance {
            Some(k) => first + k..first + k + 1,
            None => first..first + model.max_instances(),
        }
    }

    /// Balancers start or stop routing around the instances of crash `fault`.
    #[cold]
    #[inline(never)]
    pub(super) fn on_health(&mut self, s: u32, fault: u32, skip: bool) {
        for i in self.crashed_slots(s, fault) {
            let inst = &mut self.instances[i as usize];
            let was_up = inst.skipped == 0;
            if skip {
                inst.skipped += 1;
            } else {
                inst.skipped -= 1;
            }
            let up = inst.skipped == 0;
            if up != was_up {
                self.services[s as usize].balancer.noticed(up);
            }
        }
        // A consumer group rebalances around the instances known to be down, and back.
        self.consumers_changed(s);
    }

    /// Crash `fault` of service `s` strikes: every visit inside its instances is lost, and
    /// their connection pools close. The instances refuse arrivals from now until the restart
    /// (the fault's window, as an outage).
    #[cold]
    #[inline(never)]
    pub(super) fn on_crash(&mut self, s: u32, fault: u32) {
        let slots = self.crashed_slots(s, fault);
        let lost = self.crash(s, slots.clone());
        self.services[s as usize].stats.fault_lost[fault as usize] += lost;
        let first = self.services[s as usize].fleet.first();
        if self.pools.per_instance(s) {
            for i in slots {
                self.stop_pools(s, i - first);
            }
        }
        let window = &self.model.services[s as usize].faults[fault as usize];
        if window.kind == (FaultKind::Crash { detected_after: SimDuration::ZERO }) && window.start < window.end {
            self.on_health(s, fault, true);
        }
    }

    /// The instances of crash `fault` of service `s` restart: balancers send them visits
    /// again, and those taking traffic open their connection pools.
    #[cold]
    #[inline(never)]
    pub(super) fn on_restart(&mut self, s: u32, fault: u32) {
        let window = self.model.services[s as usize].faults[fault as usize];
        let FaultKind::Crash { detected_after } = window.kind else { return };
        if window.start.saturating_add(detected_after) < window.end {
            self.on_health(s, fault, false);
        }
        let first = self.services[s as usize].fleet.first();
        for i in self.crashed_slots(s, fault) {
            let slot = i - first;
            if slot < self.services[s as usize].fleet.active() && !self.crashed_now(s, slot) {
                self.start_pools(s, slot);
            }
        }
        self.consumers_changed(s);
    }

    /// Whether instance slot `slot` of service `s` is inside a crash's window now.
    pub(super) fn crashed_now(&self, s: u32, slot: u32) -> bool {
        let now = self.now;
        self.model.services[s as usize].faults.iter().any(|f| {
            matches!(f.kind, FaultKind::Crash { .. })
                && f.start <= now
                && now < f.end
                && f.instance.is_none_or(|k| k == slot)
        })
    }

    /// Takes lost visit `f` out of the slab, or, if a `StepDone` of it is still to come
    /// (`stepping`), leaves it there inert until then (cancelled and lost: `advance` removes it).
    pub(super) fn bury(&mut self, f: VisitId, stepping: bool) {
        if self.quotas.is_some() {
            // A dead process burns no CPU.
            self.cpu_stop(f);
        }
        if !stepping {
            self.visits.remove(f.index());
            return;
        }
        let zombie = &mut self.visits[f.index()];
        zombie.state = VisitState::Lost;
        zombie.kind = VisitKind::Request;
        zombie.cancelled = true;
        zombie.admitted = false;
        zombie.place_pool = None;
        zombie.fetch = None;
        zombie.wait = Wait::NONE;
    }

    /// Instances `slots` of service `s` lose every visit they hold, and their queues. Each visit
    /// is accounted as it stands (busy, queued, or waiting for calls), its caller gets an error
    /// (as on a connection reset), its bulkhead place is freed, its calls are abandoned, and
    /// those whose edge cancels on timeout, or whose wait cancels its losers, are cancelled. The
    /// process's background cache refreshes stop, the cache fetches of all of them end unfilled
    /// (their waiters fail), and its in-process caches are emptied. Returns the visits lost.
    ///
    /// It works in two passes so that no answer reaches a visit half taken apart: first every
    /// lost visit is accounted and detached (nothing it answers yet, nothing cancelled), then
    /// the calls are cancelled and the callers answered, which may start retries elsewhere.
    pub(super) fn crash(&mut self, s: u32, slots: std::ops::Range<u32>) -> u64 {
        let (victims, owned_calls) = self.inside(&slots);
        // First pass: account for each visit and detach it.
        let mut wreck = Wreck::default();
        for f in victims {
            self.detach(s, f, &mut wreck);
        }
        self.batches_crashed(s, &slots);
        self.empty_instances(s, slots);
        // Second pass: the calls the lost visits had out, then their callers.
        self.cancel_lost_calls(owned_calls, wreck.lists);
        for fetch in wreck.fetches {
            self.abandon_fetches(fetch);
        }
        for pool in wreck.places {
            self.release_place(pool);
        }
        self.fail_callers(wreck.answers);
        wreck.lost
    }

    /// What instances `slots` hold: the visits inside (admitted, or dropped but still in a
    /// queue) and the background cache refreshes running in the process; and `(call,
    /// incarnation)` of the calls with a policy that those visits wait for.
    fn inside(&self, slots: &std::ops::Range<u32>) -> (Vec<VisitId>, Vec<(CallId, u32)>) {
        let on_slots = |visit: &Visit| slots.contains(&visit.instance) && !visit.lost();
        let victims = self
            .visits
            .iter()
            .filter(|(_, visit)| {
                on_slots(visit) && (visit.admitted || visit.in_queue() || !visit.kind.of_the_service())
            })
            .map(|(f, _)| VisitId::new(f))
            .collect();
        let owned_calls = self
            .calls
            .iter()
            .filter(|(_, call)| match call.caller {
                Caller::Visit { visit, token } => self.visits.get(visit.index()).is_some_and(|caller| {
                    on_slots(caller) && (caller.admitted || !caller.kind.of_the_service()) && caller.wait.awaits(token)
                }),
                Caller::Request(_) | Caller::HedgedRequest { .. } => false,
            })
            .map(|(c, call)| (CallId::new(c), call.incarnation))
            .collect();
        (victims, owned_calls)
    }

    /// Visit `f` of service `s` is lost: accounted as it stands, taken out of its instance,
    /// and buried; what is left to do once every visit is detached goes into `wreck`.
    fn detach(&mut self, s: u32, f: VisitId, wreck: &mut Wreck) {
        let (now, from) = (self.now, self.warmup_end);
        let visit = self.visits[f.index()];
        let service = &mut self.services[s as usize];
        let inst = &mut self.instances[visit.instance as usize];
        if visit.cancelled && visit.in_queue() {
            // Dropped when it was cancelled, and accounted then; only its queue entry was left.
            self.visits.remove(f.index());
            return;
        }
        wreck.fetches.extend(visit.fetch);
        if let Some(list) = visit.wait.branches {
            wreck.lists.push((f, list));
        }
        // A `Work` step (or a cache lookup's latency) is in progress: its `StepDone` is
        // still to come, so the slot stays, inert, until then.
        let stepping = !visit.wait.is_open() && (visit.holds_worker() || !visit.kind.uses_workers());
        if !visit.kind.of_the_service() {
            // Not a visit of the service and nobody waits for it: it just stops.
            return self.bury(f, stepping);
        }
        wreck.lost += 1;
        match visit.state {
            VisitState::Running => {
                service.stats.busy.leave(visit.worker_since, now, from);
                inst.free_worker(now);
                if visit.counted {
                    // Work done for an answer that will never be given.
                    service.stats.wasted_ns += u128::from((now - visit.worker_since).as_nanos());
                }
            }
            VisitState::Queued | VisitState::Requeued => service.stats.queued.leave(visit.queued_since, now, from),
            VisitState::Awaiting => service.stats.awaiting.leave(visit.queued_since, now, from),
            VisitState::Unplaced | VisitState::Lost => {}
        }
        if visit.admitted {
            inst.outstanding -= 1;
        }
        service.stats.finished_total += 1;
        if visit.counted {
            service.stats.lost += 1;
            service.stats.dropped_ns += u128::from((now - visit.arrived).as_nanos());
        }
        wreck.places.extend(visit.place_pool);
        match visit.parent {
            Parent::Attempt { call, incarnation, attempt } => {
                if self.listening(call, incarnation, attempt, f) {
                    self.calls[call.index()].visit = None;
                    wreck.answers.push((visit.parent, visit.counted));
                }
            }
            Parent::Direct { .. } | Parent::Message { .. } if !visit.cancelled => {
                wreck.answers.push((visit.parent, visit.counted));
            }
            Parent::Direct { .. } | Parent::Message { .. } | Parent::Background | Parent::Batch { .. } => {}
        }
        self.bury(f, stepping);
    }

    /// Instances `slots` of service `s` come back empty: their in-process caches (the
    /// process restarts cold) and their queues.
    fn empty_instances(&mut self, s: u32, slots: std::ops::Range<u32>) {
        let first = self.services[s as usize].fleet.first();
        for (cache, model) in self.caches.iter_mut().zip(&self.model.caches) {
            if model.per_instance == Some(tailsim_model::ServiceId(s)) {
                for i in slots.clone() {
                    cache.clear_store(i - first);
                }
            }
        }
        for i in slots {
            let inst = &mut self.instances[i as usize];
            inst.queue.clear();
            inst.lower.iter_mut().for_each(VecDeque::clear);
            inst.cancelled_in_queue = 0;
            debug_assert_eq!((inst.busy, inst.outstanding), (0, 0), "a crashed instance holds nothing");
        }
    }

    /// The calls with a policy that lost visits waited for end, cancelling their attempts'
    /// visits where the edge cancels on timeout; the lost visits' lists of calls are cancelled.
    fn cancel_lost_calls(&mut self, owned_calls: Vec<(CallId, u32)>, lists: Vec<(VisitId, ListId)>) {
        let mut stack = std::mem::take(&mut self.cancel_stack);
        for (c, incarnation) in owned_calls {
            if self.calls.get(c.index()).is_none_or(|call| call.incarnation != incarnation) {
                continue;
            }
            let call = self.calls.remove(c.index());
            for key in
                [call.attempt_timer, call.deadline_timer, call.retry_timer, call.place_timer].into_iter().flatten()
            {
                self.events.cancel(key);
            }
            self.edges[call.edge as usize].counts.cancelled += u64::from(call.counted);
            if let Some(visit) = call.visit
                && self.model.edges[call.edge as usize].policy.cancel_on_timeout
            {
                stack.push(visit);
            }
        }
        for (f, list) in lists {
            self.cancel_list(list, Owner::Visit(f), &mut stack);
        }
        self.cancel_stack = stack;
        self.cancel_pending();
    }

    /// The callers of lost visits get an error, as on a connection reset (`(parent,
    /// counted)` of each, in the order the visits were detached).
    fn fail_callers(&mut self, answers: Vec<(Parent, bool)>) {
        let failed = Outcome::Failed(FailureKind::Error);
        for (parent, counted) in answers {
            match parent {
                Parent::Direct { caller, edge } => {
                    let counts = &mut self.edges[edge as usize].counts;
                    let counted = u64::from(counted);
                    counts.completed_attempts += counted;
                    counts.failed += counted;
                    counts.record_answer_failure(FailureKind::Error, counted);
                    self.call_returned(caller, failed);
                }
                Parent::Background | Parent::Batch { .. } => {}
                Parent::Message { message, receive } => self.delivered(message, receive, failed, true),
                Parent::Attempt { call, incarnation, attempt } => {
                    let waiting = self
                        .calls
                        .get(call.index())
                        .is_some_and(|c| c.incarnation == incarnation && c.attempts == attempt && c.visit.is_none());
                    if waiting {
                        self.attempt_done(call, failed);
                    }
                }
            }
        }
    }
}

/// What a crash leaves to do once every lost visit is detached: the visits lost, the
/// bulkhead places to free, the lists of calls to cancel, the callers to answer, and the
/// cache fetches to end unfilled.
#[derive(Default)]
struct Wreck {
    lost: u64,
    places: Vec<PoolId>,
    lists: Vec<(VisitId, ListId)>,
    answers: Vec<(Parent, bool)>,
    fetches: Vec<FetchId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn window(start: u64, length: u64, instance: Option<u32>, kind: u8) -> FaultWindow {
        let kind = match kind % 3 {
            0 => FaultKind::Slowdown(1.0 + f64::from(kind) / 7.0),
            1 => FaultKind::Errors(f64::from(kind) / 300.0),
            _ => FaultKind::Outage,
        };
        FaultWindow { start: SimTime(start), end: SimTime(start + length), instance, kind }
    }

    proptest! {
        /// The cursor gives, bit for bit, what a scan of every fault gives, at any rising
        /// sequence of instants, overlapping and touching windows and ties included.
        #[test]
        fn the_cursor_agrees_with_a_scan_of_every_fault(
            raw in prop::collection::vec((0u64..100, 0u64..30, prop::option::of(0u32..3), any::<u8>()), 0..40),
            steps in prop::collection::vec(0u64..7, 1..80),
        ) {
            let faults: Vec<FaultWindow> = raw.iter().map(|&(s, l, i, k)| window(s, l, i, k)).collect();
            let mut cursor = FaultCursor::new(&faults);
            let mut now = 0;
            for step in steps {
                now += step;
                for instance in 0..3 {
                    let (a, b) = (cursor.active(&faults, SimTime(now), instance), active_faults(&faults, SimTime(now), instance));
                    prop_assert_eq!(a.slowdown.to_bits(), b.slowdown.to_bits());
                    prop_assert_eq!(a.error_probability.to_bits(), b.error_probability.to_bits());
                    prop_assert_eq!(a.outage, b.outage);
                }
            }
        }
    }
}
