//! Hedging: a second call (and more) sent after a delay while the first has not answered,
//! by a visit on a `Call` step or by a client on its request; the delay fixed or read from
//! the edge's observed latencies ([`Observed`]). Both wait in a [`Wait`].

use super::*;

/// An edge's observed call latencies and the hedge delay read from them.
pub(super) struct Observed {
    latency: LatencyRecorder,
    quantile: f64,
    /// Refreshed every [`OBSERVED_REFRESH`] calls once [`OBSERVED_MIN`] are in.
    delay: Option<SimDuration>,
}

/// Calls observed before hedging at a percentile starts.
const OBSERVED_MIN: u64 = 100;

/// Calls between two readings of the observed percentile.
const OBSERVED_REFRESH: u64 = 64;

impl Observed {
    /// An edge that hedges at quantile `quantile` of its calls' latencies, none seen yet.
    pub(super) fn new(quantile: f64) -> Observed {
        Observed { latency: LatencyRecorder::new(), quantile, delay: None }
    }

    /// A call took `latency`.
    pub(super) fn record(&mut self, latency: SimDuration) {
        self.latency.record(latency);
        let n = self.latency.count();
        if n >= OBSERVED_MIN && (self.delay.is_none() || n.is_multiple_of(OBSERVED_REFRESH)) {
            self.delay = self.latency.quantile_ns(self.quantile).map(SimDuration);
        }
    }
}

impl<'m> World<'m> {
    /// A request on a hedging client edge: a wait like a visit's, its first call, and the
    /// first hedge's timer.
    #[cold]
    #[inline(never)]
    pub(super) fn start_hedged_request(
        &mut self,
        r: u32,
        edge: u32,
        counted: bool,
        tag: Tag,
        hedge: tailsim_model::compile::HedgePolicy,
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
            self.events.schedule(self.now + delay, Event::HedgeRequest { request: r, token });
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

    /// The hedge delay of `edge`: fixed, or the observed quantile (none before 100 calls).
    pub(super) fn hedge_delay(&self, edge: u32) -> Option<SimDuration> {
        match self.model.edges[edge as usize].policy.hedge?.delay {
            HedgeDelay::Fixed(d) => Some(d),
            HedgeDelay::Quantile(_) => self.edges[edge as usize].observed.as_ref()?.delay,
        }
    }

    /// A hedge of `owner`'s wait `token` is due: if it still waits for that call, send one
    /// more, and arm the next hedge if any is left.
    #[cold]
    #[inline(never)]
    pub(super) fn on_hedge(&mut self, owner: Owner, token: u32) {
        let Some((edge, tag, branch, more)) = self.take_hedge(owner, token) else { return };
        let counted = self.now >= self.warmup_end;
        self.edges[edge as usize].counts.hedges += u64::from(counted);
        let token_of_branch = token.wrapping_add(branch);
        let caller = match owner {
            Owner::Visit(visit) => Caller::Visit { visit, token: token_of_branch },
            Owner::Request(request) => Caller::HedgedRequest { request, token: token_of_branch },
        };
        let call = self.start_call(caller, edge, counted, tag);
        match owner {
            Owner::Visit(f) => self.add_branch(f, call),
            Owner::Request(r) => self.add_request_branch(r, call),
        }
        if more && let Some(delay) = self.hedge_delay(edge) {
            self.events.schedule(self.now + delay, owner.hedge(token));
        }
    }

    /// The hedge `owner`'s wait `token` is due, if it still waits: the edge it calls on, the
    /// request's tag, the hedge's branch and whether more are left.
    fn take_hedge(&mut self, owner: Owner, token: u32) -> Option<(u32, Tag, u32, bool)> {
        match owner {
            Owner::Visit(f) => {
                let visit = self.visits.get_mut(f.index())?;
                if !visit.wait.hedge_due(token) {
                    return None; // answered, or the visit has moved on
                }
                let model: &'m Model = self.model;
                let handler = model.services[visit.service as usize].handler(visit.handler);
                let Some(&Step::Call { edge, .. }) = handler.get(visit.step as usize - 1) else { return None };
                let (branch, more) = visit.wait.take_hedge(token)?;
                Some((edge, Tag { class: visit.class, key: visit.key }, branch, more))
            }
            Owner::Request(r) => {
                let request = self.requests.get_mut(r as usize)?;
                let (branch, more) = request.wait.take_hedge(token)?;
                let client = &self.model.clients[request.client as usize];
                let class = client.classes.get(usize::from(request.class_slot)).map_or(0, |&(k, _)| k);
                Some((client.edge, Tag { class, key: request.key }, branch, more))
            }
        }
    }
}
