//! A call's life: its record and first attempt, the local checks before each attempt is sent
//! (adaptive throttle, circuit breaker, rate limiter; the bulkhead is in `pools`), timeouts and
//! deadlines, and the answer on its way back to the caller. Retries are in `retry`, hedges in
//! `hedge`, cancelling in `cancel`.

use super::*;

/// A call's timers, each naming the call.
#[derive(Clone, Copy, Debug)]
pub(super) enum CallEvent {
    /// Its current attempt ran out of time.
    AttemptTimeout(CallId),
    /// Its deadline passed.
    Deadline(CallId),
    /// Its backoff is over: send the next attempt.
    Retry(CallId),
    /// Its wait for a bulkhead place ran out.
    BulkheadTimeout(CallId),
    /// The rate-limiter token it reserved is ready.
    TokenReady(CallId),
}

impl<'m> World<'m> {
    /// A call's timer fires.
    pub(super) fn on_call_event(&mut self, event: CallEvent) {
        match event {
            CallEvent::AttemptTimeout(c) => self.on_attempt_timeout(c),
            CallEvent::Deadline(c) => self.on_deadline(c),
            CallEvent::BulkheadTimeout(c) => self.on_bulkhead_timeout(c),
            CallEvent::TokenReady(c) => {
                self.calls[c.index()].retry_timer = None;
                self.admit_to_bulkhead(c);
            }
            CallEvent::Retry(c) => {
                self.calls[c.index()].retry_timer = None;
                self.start_attempt(c);
            }
        }
    }

    /// Starts a call on `edge`: one direct visit for an edge without policy, else a call
    /// record with its deadline and first attempt.
    /// Returns the call made, for cancelling it later.
    #[inline(always)]
    pub(super) fn start_call(&mut self, caller: Caller, edge: u32, counted: bool, tag: Tag) -> Branch {
        let state = &mut self.edges[edge as usize];
        state.counts.calls += u64::from(counted);
        if state.plain {
            state.counts.attempts += u64::from(counted);
            let target = state.target;
            let visit = self.enter(target, Parent::Direct { caller, edge }, tag);
            let token = match caller {
                Caller::Visit { token, .. } | Caller::HedgedRequest { token, .. } => token,
                Caller::Request(_) => 0,
            };
            Branch::Visit { visit, token }
        } else {
            self.start_policy_call(caller, edge, counted, tag)
        }
    }

    /// The slow path of [`World::start_call`]: a call record, its deadline, its first attempt.
    #[inline(never)]
    pub(super) fn start_policy_call(&mut self, caller: Caller, edge: u32, counted: bool, tag: Tag) -> Branch {
        let incarnation = self.next_incarnation;
        self.next_incarnation = incarnation.wrapping_add(1);
        let state = &self.edges[edge as usize];
        let pool = match (state.pools, caller) {
            (None, _) => None,
            // The caller's own instance's pool.
            (Some(first), Caller::Visit { visit, .. }) if state.per_instance => {
                let f = &self.visits[visit.index()];
                Some(first.nth_after(self.services[f.service as usize].fleet.local(f.instance)))
            }
            (first, _) => first,
        };
        let c = CallId::new(self.calls.insert(CallState {
            caller,
            edge,
            incarnation,
            attempts: 0,
            visit: None,
            counted,
            attempt_timer: None,
            deadline_timer: None,
            retry_timer: None,
            appending: false,
            previous_sleep_ns: 0.0,
            attempt_started: self.now,
            sent: 0,
            place_timer: None,
            pool,
            tag,
        }));
        if let Some(deadline) = self.model.edges[edge as usize].policy.deadline {
            self.calls[c.index()].deadline_timer =
                Some(self.events.schedule(self.now + deadline, Event::Call(CallEvent::Deadline(c))));
        }
        self.start_attempt(c);
        Branch::Call { call: c, incarnation }
    }

    /// Sends the next attempt of call `c`.
    pub(super) fn start_attempt(&mut self, c: CallId) {
        let now = self.now;
        let call = &mut self.calls[c.index()];
        call.attempts += 1;
        let (edge, attempt, counted) = (call.edge, call.attempts, call.counted);
        let state = &mut self.edges[edge as usize];
        if attempt == 1
            && let Some(budget) = &mut state.budget
        {
            budget.record_request(now);
        }
        if let Some(window) = &mut state.throttle {
            // The SRE book's rule: refuse with probability max(0, (requests - K accepts) / (requests + 1)),
            // every attempt counting as a request, refused ones too.
            window.add(now, 0);
            let (requests, accepts) = window.sums(now);
            let k = self.model.edges[edge as usize].policy.throttle.map_or(2.0, |(k, _)| k);
            let p_refuse = ((requests as f64 - k * accepts as f64) / (requests as f64 + 1.0)).max(0.0);
            if p_refuse > 0.0 && state.rng.random::<f64>() < p_refuse {
                state.counts.throttled += u64::from(counted);
                return self.after_failure(c, FailureKind::Throttled);
            }
        }
        if let Some(breaker) = &mut state.breaker
            && !breaker.try_acquire(now)
        {
            // Refused by the caller's own breaker: nothing is sent, the attempt fails at once.
            state.counts.breaker_rejections += u64::from(counted);
            return self.after_failure(c, FailureKind::BreakerOpen);
        }
        if let Some(bucket) = &mut state.rate_limit {
            let limit = self.model.edges[edge as usize].policy.rate_limit.as_ref().expect("a bucket has a limit");
            match bucket.take(now, limit) {
                Some(wait) if wait == SimDuration::ZERO => {}
                Some(wait) => {
                    // Delay mode: the token is reserved; the attempt goes when it comes.
                    let key = self.events.schedule(now + wait, Event::Call(CallEvent::TokenReady(c)));
                    self.calls[c.index()].retry_timer = Some(key);
                    return;
                }
                None => {
                    state.counts.rate_limited += u64::from(counted);
                    return self.after_failure(c, FailureKind::RateLimited);
                }
            }
        }
        self.admit_to_bulkhead(c);
    }

    /// Sends the current attempt of call `c`, past every local check (a bulkhead place, if
    /// any, already taken).
    pub(super) fn send_attempt(&mut self, c: CallId) {
        let now = self.now;
        let call = &mut self.calls[c.index()];
        call.attempt_started = now;
        call.sent += 1;
        let (edge, attempt, incarnation, counted, tag) =
            (call.edge, call.attempts, call.incarnation, call.counted, call.tag);
        let state = &mut self.edges[edge as usize];
        state.counts.attempts += u64::from(counted);
        if attempt > 1 {
            state.counts.retries += u64::from(counted);
        }
        let pool = self.calls[c.index()].pool;
        let edge_model = &self.model.edges[edge as usize];
        let timer =
            edge_model.policy.timeout.map(|t| self.events.schedule(now + t, Event::Call(CallEvent::AttemptTimeout(c))));
        let to = match edge_model.to {
            Target::Service(to) => to,
            Target::Topic(topic) => {
                self.calls[c.index()].attempt_timer = timer;
                return self.send_append(c, topic);
            }
        };
        let f = self.enter(to.0, Parent::Attempt { call: c, incarnation, attempt }, tag);
        self.visits[f.index()].place_pool = pool;
        let call = &mut self.calls[c.index()];
        call.visit = Some(f);
        call.attempt_timer = timer;
    }

    #[cold]
    #[inline(never)]
    pub(super) fn on_attempt_timeout(&mut self, c: CallId) {
        let call = &mut self.calls[c.index()];
        call.attempt_timer = None;
        self.edges[call.edge as usize].counts.timeouts += u64::from(call.counted);
        self.abandon_attempt(c);
        self.after_failure(c, FailureKind::Timeout);
    }

    #[cold]
    #[inline(never)]
    pub(super) fn on_deadline(&mut self, c: CallId) {
        let call = &mut self.calls[c.index()];
        call.deadline_timer = None;
        self.edges[call.edge as usize].counts.deadlines += u64::from(call.counted);
        self.abandon_attempt(c);
        self.complete_call(c, Outcome::Failed(FailureKind::Timeout));
    }

    /// The caller stops waiting for the outstanding attempt, which becomes an orphan; with
    /// `cancel_on_timeout` the server is told to stop working on it.
    pub(super) fn abandon_attempt(&mut self, c: CallId) {
        let now = self.now;
        let call = &mut self.calls[c.index()];
        let outstanding = call.visit.is_some() || std::mem::take(&mut call.appending);
        if outstanding && let Some(breaker) = &mut self.edges[call.edge as usize].breaker {
            // An attempt given up on is a failed call to the breaker, as a timeout is in Resilience4j.
            breaker.record(now, true, now - call.attempt_started);
        }
        if let Some(key) = call.attempt_timer.take() {
            self.events.cancel(key);
        }
        if let Some(f) = call.visit.take()
            && self.model.edges[call.edge as usize].policy.cancel_on_timeout
        {
            self.cancel_visit(f);
        }
    }

    /// The current attempt of call `c` answered.
    pub(super) fn attempt_done(&mut self, c: CallId, outcome: Outcome) {
        let now = self.now;
        let call = &mut self.calls[c.index()];
        call.visit = None;
        if let Some(key) = call.attempt_timer.take() {
            self.events.cancel(key);
        }
        let state = &mut self.edges[call.edge as usize];
        if let Some(breaker) = &mut state.breaker {
            breaker.record(now, outcome != Outcome::Success, now - call.attempt_started);
        }
        if let Some(window) = &mut state.throttle
            && matches!(outcome, Outcome::Success | Outcome::Failed(FailureKind::Error))
        {
            // The backend accepted it: it answered, well or with an error of its own.
            window.add(now, 1);
        }
        match outcome {
            Outcome::Success => self.complete_call(c, Outcome::Success),
            Outcome::Failed(kind) => {
                state.counts.record_answer_failure(kind, u64::from(call.counted));
                self.after_failure(c, kind);
            }
        }
    }

    /// A call is over: cancel its timers and answer its caller.
    pub(super) fn complete_call(&mut self, c: CallId, outcome: Outcome) {
        let call = self.calls.remove(c.index());
        for key in [call.attempt_timer, call.deadline_timer, call.retry_timer, call.place_timer].into_iter().flatten() {
            self.events.cancel(key);
        }
        let state = &mut self.edges[call.edge as usize];
        let counts = &mut state.counts;
        let counted = u64::from(call.counted);
        match outcome {
            Outcome::Success => counts.succeeded += counted,
            Outcome::Failed(_) => counts.failed += counted,
        }
        counts.completed_attempts += counted * u64::from(call.sent);
        self.call_returned(call.caller, outcome);
    }

    /// The caller of a finished call learns the outcome: a request is answered, a waiting
    /// visit goes on to its next step or fails with an error of its own.
    #[inline(always)]
    pub(super) fn call_returned(&mut self, caller: Caller, outcome: Outcome) {
        match caller {
            Caller::Request(r) => self.answer(r, outcome),
            Caller::HedgedRequest { request, token } => self.hedged_request_returned(request, token, outcome),
            Caller::Visit { visit: f, token } => {
                let Some(visit) = self.visits.get_mut(f.index()).filter(|visit| visit.wait.awaits(token)) else {
                    return; // a loser of a fan-out or a hedge that is already decided
                };
                match outcome {
                    Outcome::Success => {
                        if visit.wait.success() {
                            let branch = visit.wait.branch(token);
                            let hedged = visit.wait.hedged();
                            visit.wait.close();
                            let model: &'m Model = self.model;
                            if hedged
                                && let Step::Call { edge, .. } = &model.services[visit.service as usize]
                                    .handler(visit.handler)[visit.step as usize - 1]
                            {
                                let state = &mut self.edges[*edge as usize];
                                if branch > 0 {
                                    // A hedge won: credit its edge, the visit's current `Call` step.
                                    state.counts.hedges_won += u64::from(self.now >= self.warmup_end);
                                }
                                if let Some(observed) = &mut state.observed {
                                    // The wait's latency: before the first hedge it is the first
                                    // call's, so the share above the hedge delay is the share of
                                    // calls slower than it, all a percentile estimate needs.
                                    observed.record(self.now - visit.queued_since);
                                }
                            }
                            self.decided(f);
                            self.resume(f);
                        }
                    }
                    Outcome::Failed(_) => {
                        if visit.wait.failure() {
                            visit.wait.close();
                            self.agenda.push(Action::Finish(f, Outcome::Failed(FailureKind::Error)));
                            self.decided(f);
                        }
                    }
                }
            }
        }
    }
}
