//! Calls between services and their policies: attempts, timeouts and deadlines, retries with
//! backoff and budgets, circuit breakers, bulkheads and rate limiters, hedges, and cancelling
//! the calls of a wait once it is decided.

use super::*;

/// A call's timers, each naming the call.
#[derive(Clone, Copy, Debug)]
pub(super) enum CallEvent {
    /// Its current attempt ran out of time.
    AttemptTimeout(u32),
    /// Its deadline passed.
    Deadline(u32),
    /// Its backoff is over: send the next attempt.
    Retry(u32),
    /// Its wait for a bulkhead place ran out.
    BulkheadTimeout(u32),
    /// The rate-limiter token it reserved is ready.
    TokenReady(u32),
}

impl<'m> World<'m> {
    /// A call's timer fires.
    pub(super) fn on_call_event(&mut self, event: CallEvent) {
        match event {
            CallEvent::AttemptTimeout(c) => self.on_attempt_timeout(c),
            CallEvent::Deadline(c) => self.on_deadline(c),
            CallEvent::BulkheadTimeout(c) => self.on_bulkhead_timeout(c),
            CallEvent::TokenReady(c) => {
                self.calls[c as usize].retry_timer = None;
                self.admit_to_bulkhead(c);
            }
            CallEvent::Retry(c) => {
                self.calls[c as usize].retry_timer = None;
                self.start_attempt(c);
            }
        }
    }

    /// A request on a hedging client edge: a wait like a frame's, its first call, and the
    /// first hedge's timer.
    #[cold]
    #[inline(never)]
    pub(super) fn start_hedged_request(
        &mut self,
        r: u32,
        edge: u32,
        counted: bool,
        tag: Tag,
        hedge: crate::compile::HedgePolicy,
    ) {
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1 + hedge.max);
        let list = hedge.cancel_losers.then(|| self.new_list());
        // The first success answers the request; each hedge sent lets one more call fail.
        let request = &mut self.requests[r as usize];
        request.wait = Wait::new(token, 1 + hedge.max, 1, 0, hedge.max);
        request.wait.branches = list;
        let call = self.start_call(Caller::HedgedRequest { request: r, token }, edge, counted, tag);
        self.add_request_branch(r, call);
        if let Some(delay) = self.hedge_delay(edge) {
            self.events.schedule(self.now + delay, Event::RequestHedge { request: r, token });
        }
    }

    /// A hedge of a request is due: if it still waits, send one more call.
    #[cold]
    #[inline(never)]
    pub(super) fn on_request_hedge(&mut self, r: u32, token: u32) {
        let Some(request) = self.requests.get_mut(r as usize) else { return };
        let Some((branch, more)) = request.wait.take_hedge(token) else { return };
        let c = request.client as usize;
        let class = self.model.clients[c].classes.get(usize::from(request.class_slot)).map_or(0, |&(k, _)| k);
        let tag = Tag { class, key: request.key };
        let edge = self.model.clients[c].edge;
        let counted = self.now >= self.warmup_end;
        self.edges[edge as usize].counts.hedges += u64::from(counted);
        let call = self.start_call(
            Caller::HedgedRequest { request: r, token: token.wrapping_add(branch) },
            edge,
            counted,
            tag,
        );
        self.add_request_branch(r, call);
        if more && let Some(delay) = self.hedge_delay(edge) {
            self.events.schedule(self.now + delay, Event::RequestHedge { request: r, token });
        }
    }

    /// Records a call of request `r`'s wait, if it tracks them.
    pub(super) fn add_request_branch(&mut self, r: u32, branch: Branch) {
        if let Some(list) = self.requests.get(r as usize).and_then(|q| q.wait.branches) {
            self.branch_lists[list.index()].push(branch);
        }
    }

    /// A hedged request's call answered: the first success answers the request (cancelling
    /// the others if asked); it fails once every call has.
    pub(super) fn hedged_request_returned(&mut self, r: u32, token: u32, outcome: Outcome) {
        let Some(request) = self.requests.get_mut(r as usize).filter(|q| q.wait.awaits(token)) else { return };
        let decided = match outcome {
            Outcome::Success => request.wait.success(),
            Outcome::Failed(_) => request.wait.failure(),
        };
        if !decided {
            return;
        }
        let branch = request.wait.branch(token);
        request.wait.close();
        let list = request.wait.branches.take();
        let waited = self.now - request.arrived;
        let edge = self.model.clients[request.client as usize].edge as usize;
        let state = &mut self.edges[edge];
        if outcome == Outcome::Success {
            state.counts.hedges_won += u64::from(branch > 0 && self.now >= self.warmup_end);
            if let Some(observed) = &mut state.observed {
                observed.record(waited);
            }
        }
        if let Some(list) = list {
            let mut stack = std::mem::take(&mut self.cancel_stack);
            self.cancel_list(list, Owner::Request(r), &mut stack);
            self.cancel_stack = stack;
            self.cancel_pending();
        }
        self.answer(r, outcome);
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
            let frame = self.enter(target, Parent::Direct { caller, edge }, tag);
            let token = match caller {
                Caller::Frame { token, .. } | Caller::HedgedRequest { token, .. } => token,
                Caller::Request(_) => 0,
            };
            Branch::Frame { frame, token }
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
            (Some(first), Caller::Frame { frame, .. }) if state.per_instance => {
                let f = &self.frames[frame as usize];
                Some(first.nth_after(f.instance - self.services[f.service as usize].first_instance))
            }
            (first, _) => first,
        };
        let c = self.calls.insert(CallState {
            caller,
            edge,
            incarnation,
            attempts: 0,
            frame: None,
            counted,
            attempt_timer: None,
            deadline_timer: None,
            retry_timer: None,
            previous_sleep_ns: 0.0,
            attempt_started: self.now,
            sent: 0,
            place_timer: None,
            pool,
            tag,
        }) as u32;
        if let Some(deadline) = self.model.edges[edge as usize].policy.deadline {
            self.calls[c as usize].deadline_timer =
                Some(self.events.schedule(self.now + deadline, Event::Call(CallEvent::Deadline(c))));
        }
        self.start_attempt(c);
        Branch::Call { call: c, incarnation }
    }

    /// Sends the next attempt of call `c`.
    pub(super) fn start_attempt(&mut self, c: u32) {
        let now = self.now;
        let call = &mut self.calls[c as usize];
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
                    self.calls[c as usize].retry_timer = Some(key);
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
    pub(super) fn send_attempt(&mut self, c: u32) {
        let now = self.now;
        let call = &mut self.calls[c as usize];
        call.attempt_started = now;
        call.sent += 1;
        let (edge, attempt, incarnation, counted, tag) =
            (call.edge, call.attempts, call.incarnation, call.counted, call.tag);
        let state = &mut self.edges[edge as usize];
        state.counts.attempts += u64::from(counted);
        if attempt > 1 {
            state.counts.retries += u64::from(counted);
        }
        let pool = self.calls[c as usize].pool;
        let edge_model = &self.model.edges[edge as usize];
        let f = self.enter(edge_model.to.0, Parent::Attempt { call: c, incarnation, attempt }, tag);
        self.frames[f as usize].place_pool = pool;
        let timer =
            edge_model.policy.timeout.map(|t| self.events.schedule(now + t, Event::Call(CallEvent::AttemptTimeout(c))));
        let call = &mut self.calls[c as usize];
        call.frame = Some(f);
        call.attempt_timer = timer;
    }

    #[cold]
    #[inline(never)]
    pub(super) fn on_attempt_timeout(&mut self, c: u32) {
        let call = &mut self.calls[c as usize];
        call.attempt_timer = None;
        self.edges[call.edge as usize].counts.timeouts += u64::from(call.counted);
        self.abandon_attempt(c);
        self.after_failure(c, FailureKind::Timeout);
    }

    #[cold]
    #[inline(never)]
    pub(super) fn on_deadline(&mut self, c: u32) {
        let call = &mut self.calls[c as usize];
        call.deadline_timer = None;
        self.edges[call.edge as usize].counts.deadlines += u64::from(call.counted);
        self.abandon_attempt(c);
        self.complete_call(c, Outcome::Failed(FailureKind::Timeout));
    }

    /// The caller stops waiting for the outstanding attempt, which becomes an orphan; with
    /// `cancel_on_timeout` the server is told to stop working on it.
    pub(super) fn abandon_attempt(&mut self, c: u32) {
        let now = self.now;
        let call = &mut self.calls[c as usize];
        if call.frame.is_some()
            && let Some(breaker) = &mut self.edges[call.edge as usize].breaker
        {
            // An attempt given up on is a failed call to the breaker, as a timeout is in Resilience4j.
            breaker.record(now, true, now - call.attempt_started);
        }
        if let Some(key) = call.attempt_timer.take() {
            self.events.cancel(key);
        }
        if let Some(f) = call.frame.take()
            && self.model.edges[call.edge as usize].policy.cancel_on_timeout
        {
            self.cancel_frame(f);
        }
    }

    /// The caller asks the server to stop working on frame `f`. A queued frame is dropped at
    /// once: it leaves the queue's count and capacity now, and is skipped when it reaches the
    /// head. A running frame stops before its next step. A frame waiting for calls it cancels
    /// when the wait is decided cancels them now, and so on down (no recursion).
    pub(super) fn cancel_frame(&mut self, f: u32) {
        self.cancel_stack.push(f);
        self.cancel_pending();
    }

    /// Cancels the frames on the cancel stack, and what they cancel in turn.
    pub(super) fn cancel_pending(&mut self) {
        let mut stack = std::mem::take(&mut self.cancel_stack);
        // Cache fetches of dropped visits, abandoned once the stack is empty.
        let mut fetches = Vec::new();
        while let Some(f) = stack.pop() {
            let now = self.now;
            let frame = &mut self.frames[f as usize];
            if frame.cancelled {
                continue;
            }
            frame.cancelled = true;
            if frame.in_queue {
                let service = &mut self.services[frame.service as usize];
                service.queued.leave(frame.queued_since, now, self.warmup_end);
                service.finished_total += 1;
                if frame.counted {
                    service.dropped += 1;
                    service.dropped_ns += u128::from((now - frame.arrived).as_nanos());
                }
                let inst = &mut self.instances[frame.instance as usize];
                inst.cancelled_in_queue += 1;
                inst.outstanding -= 1;
                if inst.draining && inst.outstanding == 0 {
                    let (s, i) = (frame.service, frame.instance);
                    self.drained(s, i);
                }
                let frame = &mut self.frames[f as usize];
                frame.admitted = false;
                // It will never run again: the cache fetches it was running (an async visit
                // queued for a worker after its calls) end unfilled.
                if let Some(fetch) = frame.fetch.take() {
                    fetches.push(fetch);
                }
                // It has left: the caller's connection (bulkhead place) is free again.
                if let Some(place) = frame.place_pool.take() {
                    self.release_place(place);
                }
            }
            let frame = &mut self.frames[f as usize];
            if frame.wait.branches.is_some() {
                // It waits for calls it was going to cancel anyway: cancel them, and end now,
                // since calls cancelled here never answer.
                frame.wait.close();
                self.agenda.push(Action::Finish(f, Outcome::Failed(FailureKind::Error)));
                self.cancel_branches(f, &mut stack);
            }
        }
        self.cancel_stack = stack;
        for fetch in fetches {
            self.abandon_fetches(fetch);
        }
    }

    /// Frame `f`'s wait is decided (or `f` was cancelled): its calls still out are cancelled.
    /// Visits to cancel are pushed on `stack`; calls with a policy end here.
    pub(super) fn cancel_branches(&mut self, f: u32, stack: &mut Vec<u32>) {
        if let Some(list) = self.frames[f as usize].wait.branches.take() {
            self.cancel_list(list, Owner::Frame(f), stack);
        }
    }

    /// Cancels the calls of list `list`, made by `owner`, that are still out, and frees it.
    pub(super) fn cancel_list(&mut self, list: ListId, owner: Owner, stack: &mut Vec<u32>) {
        let mut branches = std::mem::take(&mut self.branch_lists[list.index()]);
        for &branch in &branches {
            match branch {
                Branch::Frame { frame, token } => {
                    let Some(child) = self.frames.get(frame as usize) else { continue };
                    let Parent::Direct { caller, edge } = child.parent else { continue };
                    let (mine, t) = match (caller, owner) {
                        (Caller::Frame { frame: parent, token: t }, Owner::Frame(f)) => (parent == f, t),
                        (Caller::HedgedRequest { request, token: t }, Owner::Request(r)) => (request == r, t),
                        _ => (false, 0),
                    };
                    if mine && t == token && !child.cancelled {
                        self.edges[edge as usize].counts.cancelled += u64::from(child.counted);
                        stack.push(frame);
                    }
                }
                Branch::Call { call, incarnation } => {
                    if self.calls.get(call as usize).is_none_or(|c| c.incarnation != incarnation) {
                        continue;
                    }
                    let call = self.calls.remove(call as usize);
                    for key in [call.attempt_timer, call.deadline_timer, call.retry_timer, call.place_timer]
                        .into_iter()
                        .flatten()
                    {
                        self.events.cancel(key);
                    }
                    let state = &mut self.edges[call.edge as usize];
                    state.counts.cancelled += u64::from(call.counted);
                    if let Some(frame) = call.frame {
                        stack.push(frame);
                    }
                }
            }
        }
        branches.clear();
        self.branch_lists[list.index()] = branches;
        self.free_lists.push(list);
    }

    /// Starts tracking the calls of frame `f`'s new wait, to cancel the losers.
    pub(super) fn track_branches(&mut self, f: u32) {
        let list = self.new_list();
        self.frames[f as usize].wait.branches = Some(list);
    }

    /// An empty list of calls, reused if one is free.
    pub(super) fn new_list(&mut self) -> ListId {
        self.free_lists.pop().unwrap_or_else(|| {
            self.branch_lists.push(Vec::new());
            ListId::new(self.branch_lists.len() - 1)
        })
    }

    /// Records a call of frame `f`'s wait, if the wait tracks them and is still open.
    pub(super) fn add_branch(&mut self, f: u32, branch: Branch) {
        if let Some(list) = self.frames.get(f as usize).and_then(|frame| frame.wait.branches) {
            self.branch_lists[list.index()].push(branch);
        }
    }

    /// Frame `f`'s wait is decided: cancel its losers if it tracks them.
    pub(super) fn decided(&mut self, f: u32) {
        if self.frames[f as usize].wait.branches.is_some() {
            let mut stack = std::mem::take(&mut self.cancel_stack);
            self.cancel_branches(f, &mut stack);
            self.cancel_stack = stack;
            self.cancel_pending();
        }
    }

    /// The current attempt of call `c` answered.
    pub(super) fn attempt_done(&mut self, c: u32, outcome: Outcome) {
        let now = self.now;
        let call = &mut self.calls[c as usize];
        call.frame = None;
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

    /// After a failed attempt: retry (now or after a backoff) if the policy and the budget
    /// allow, else fail the call.
    pub(super) fn after_failure(&mut self, c: u32, kind: FailureKind) {
        let call = &self.calls[c as usize];
        let edge = call.edge as usize;
        if let Some(retry) = &self.model.edges[edge].policy.retry
            && retry.retry_on[kind as usize]
            && call.attempts < retry.attempts
        {
            let state = &mut self.edges[edge];
            let allowed = match (&mut state.budget, &retry.budget) {
                (Some(window), Some(policy)) => window.try_retry(self.now, policy),
                _ => true,
            };
            if allowed {
                let sleep = self.backoff(c, retry);
                if sleep == SimDuration::ZERO {
                    self.start_attempt(c);
                } else {
                    let key = self.events.schedule(self.now + sleep, Event::Call(CallEvent::Retry(c)));
                    self.calls[c as usize].retry_timer = Some(key);
                }
                return;
            }
            state.counts.denied += u64::from(self.calls[c as usize].counted);
        }
        self.complete_call(c, Outcome::Failed(kind));
    }

    /// The wait before the next attempt of call `c`: the AWS article's formulas, with retry
    /// number k counted from 0.
    pub(super) fn backoff(&mut self, c: u32, retry: &RetryPolicy) -> SimDuration {
        let call = &mut self.calls[c as usize];
        let rng = &mut self.edges[call.edge as usize].rng;
        let nanos = match &retry.backoff {
            Backoff::None => 0.0,
            Backoff::Constant(d) => d.0.as_nanos() as f64,
            Backoff::Exponential { base, cap, jitter } => {
                let (base, cap) = (base.0.as_nanos() as f64, cap.0.as_nanos() as f64);
                let k = call.attempts.saturating_sub(1).min(1023) as i32;
                let t = cap.min(base * 2f64.powi(k));
                match jitter {
                    Jitter::None => t,
                    Jitter::Full => rng.random::<f64>() * t,
                    Jitter::Equal => t / 2.0 + rng.random::<f64>() * t / 2.0,
                    Jitter::Decorrelated => {
                        let previous = if call.previous_sleep_ns > 0.0 { call.previous_sleep_ns } else { base };
                        let high = previous * 3.0;
                        cap.min(base + rng.random::<f64>() * (high - base))
                    }
                }
            }
        };
        call.previous_sleep_ns = nanos;
        SimDuration::from_nanos_f64(nanos)
    }

    /// A call is over: cancel its timers and answer its caller.
    pub(super) fn complete_call(&mut self, c: u32, outcome: Outcome) {
        let call = self.calls.remove(c as usize);
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
    /// frame goes on to its next step or fails with an error of its own.
    #[inline(always)]
    pub(super) fn call_returned(&mut self, caller: Caller, outcome: Outcome) {
        match caller {
            Caller::Request(r) => self.answer(r, outcome),
            Caller::HedgedRequest { request, token } => self.hedged_request_returned(request, token, outcome),
            Caller::Frame { frame: f, token } => {
                let Some(frame) = self.frames.get_mut(f as usize).filter(|frame| frame.wait.awaits(token)) else {
                    return; // a loser of a fan-out or a hedge that is already decided
                };
                match outcome {
                    Outcome::Success => {
                        if frame.wait.success() {
                            let branch = frame.wait.branch(token);
                            let hedged = frame.wait.hedged();
                            frame.wait.close();
                            let model: &'m Model = self.model;
                            if hedged
                                && let Step::Call { edge, .. } = &model.services[frame.service as usize]
                                    .handler(frame.handler)[frame.step as usize - 1]
                            {
                                let state = &mut self.edges[*edge as usize];
                                if branch > 0 {
                                    // A hedge won: credit its edge, the frame's current `Call` step.
                                    state.counts.hedges_won += u64::from(self.now >= self.warmup_end);
                                }
                                if let Some(observed) = &mut state.observed {
                                    // The wait's latency: before the first hedge it is the first
                                    // call's, so the share above the hedge delay is the share of
                                    // calls slower than it, all a percentile estimate needs.
                                    observed.record(self.now - frame.queued_since);
                                }
                            }
                            self.decided(f);
                            self.resume(f);
                        }
                    }
                    Outcome::Failed(_) => {
                        if frame.wait.failure() {
                            frame.wait.close();
                            self.agenda.push(Action::Finish(f, Outcome::Failed(FailureKind::Error)));
                            self.decided(f);
                        }
                    }
                }
            }
        }
    }

    /// The hedge delay of `edge`: fixed, or the observed quantile (none before 100 calls).
    pub(super) fn hedge_delay(&self, edge: u32) -> Option<SimDuration> {
        match self.model.edges[edge as usize].policy.hedge?.delay {
            HedgeDelay::Fixed(d) => Some(d),
            HedgeDelay::Quantile(_) => self.edges[edge as usize].observed.as_ref()?.delay,
        }
    }

    /// A hedge is due: if the frame still waits for that call, send one more.
    #[cold]
    #[inline(never)]
    pub(super) fn on_hedge(&mut self, f: u32, token: u32) {
        let Some(frame) = self.frames.get_mut(f as usize) else { return };
        if !frame.wait.hedge_due(token) {
            return; // answered, or the frame has moved on
        }
        let model: &'m Model = self.model;
        let Some(Step::Call { edge, .. }) =
            model.services[frame.service as usize].handler(frame.handler).get(frame.step as usize - 1)
        else {
            return;
        };
        let edge = *edge;
        let tag = Tag { class: frame.class, key: frame.key };
        let Some((branch, more)) = frame.wait.take_hedge(token) else { return };
        let counted = self.now >= self.warmup_end;
        self.edges[edge as usize].counts.hedges += u64::from(counted);
        let call = self.start_call(Caller::Frame { frame: f, token: token.wrapping_add(branch) }, edge, counted, tag);
        self.add_branch(f, call);
        if more && let Some(delay) = self.hedge_delay(edge) {
            self.events.schedule(self.now + delay, Event::Hedge { frame: f, token });
        }
    }
}
