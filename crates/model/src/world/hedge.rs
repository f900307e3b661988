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
