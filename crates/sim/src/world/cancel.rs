//! Cancellation: the calls a wait sent (its branches), kept in lists so that the losers can
//! be cancelled once the wait is decided, and cancellation carried down the call graph
//! (`cancel_on_timeout`), one visit at a time from a scratch stack so that no chain of calls
//! recurses.

use super::*;

impl<'m> World<'m> {
    /// The caller asks the server to stop working on visit `f`. A queued visit is dropped at
    /// once: it leaves the queue's count and capacity now, and is skipped when it reaches the
    /// head. A running visit stops before its next step. A visit waiting for calls it cancels
    /// when the wait is decided cancels them now, and so on down (no recursion).
    pub(super) fn cancel_visit(&mut self, f: VisitId) {
        self.cancel_stack.push(f);
        self.cancel_pending();
    }

    /// Cancels the visits on the cancel stack, and what they cancel in turn.
    pub(super) fn cancel_pending(&mut self) {
        let mut stack = std::mem::take(&mut self.cancel_stack);
        // Cache fetches of dropped visits, abandoned once the stack is empty.
        let mut fetches = Vec::new();
        while let Some(f) = stack.pop() {
            let now = self.now;
            let visit = &mut self.visits[f.index()];
            if visit.cancelled {
                continue;
            }
            visit.cancelled = true;
            if visit.in_queue() {
                let service = &mut self.services[visit.service as usize];
                service.stats.queued.leave(visit.queued_since, now, self.warmup_end);
                service.stats.finished_total += 1;
                if visit.counted {
                    service.stats.dropped += 1;
                    service.stats.dropped_ns += u128::from((now - visit.arrived).as_nanos());
                }
                let inst = &mut self.instances[visit.instance as usize];
                inst.cancelled_in_queue += 1;
                inst.outstanding -= 1;
                if inst.draining && inst.outstanding == 0 {
                    let (s, i) = (visit.service, visit.instance);
                    self.drained(s, i);
                }
                let visit = &mut self.visits[f.index()];
                visit.admitted = false;
                // It will never run again: the cache fetches it was running (an async visit
                // queued for a worker after its calls) end unfilled.
                if let Some(fetch) = visit.fetch.take() {
                    fetches.push(fetch);
                }
                // It has left: the caller's connection (bulkhead place) is free again.
                if let Some(place) = visit.place_pool.take() {
                    self.release_place(place);
                }
            }
            let visit = &mut self.visits[f.index()];
            if visit.wait.branches.is_some() {
                // It waits for calls it was going to cancel anyway: cancel them, and end now,
                // since calls cancelled here never answer.
                visit.wait.close();
                self.agenda.push(Action::Finish(f, Outcome::Failed(FailureKind::Error)));
                self.cancel_branches(f, &mut stack);
            }
        }
        self.cancel_stack = stack;
        for fetch in fetches {
            self.abandon_fetches(fetch);
        }
    }

    /// Visit `f`'s wait is decided (or `f` was cancelled): its calls still out are cancelled.
    /// Visits to cancel are pushed on `stack`; calls with a policy end here.
    pub(super) fn cancel_branches(&mut self, f: VisitId, stack: &mut Vec<VisitId>) {
        if let Some(list) = self.visits[f.index()].wait.branches.take() {
            self.cancel_list(list, Owner::Visit(f), stack);
        }
    }

    /// Cancels the calls of list `list`, made by `owner`, that are still out, and frees it.
    pub(super) fn cancel_list(&mut self, list: ListId, owner: Owner, stack: &mut Vec<VisitId>) {
        let mut branches = std::mem::take(&mut self.branch_lists[list.index()]);
        for &branch in &branches {
            match branch {
                Branch::Visit { visit, token } => {
                    let Some(child) = self.visits.get(visit.index()) else { continue };
                    let Parent::Direct { caller, edge } = child.parent else { continue };
                    let (mine, t) = match (caller, owner) {
                        (Caller::Visit { visit: parent, token: t }, Owner::Visit(f)) => (parent == f, t),
                        (Caller::HedgedRequest { request, token: t }, Owner::Request(r)) => (request == r, t),
                        _ => (false, 0),
                    };
                    if mine && t == token && !child.cancelled {
                        self.edges[edge as usize].counts.cancelled += u64::from(child.counted);
                        stack.push(visit);
                    }
                }
                Branch::Call { call, incarnation } => {
                    if self.calls.get(call.index()).is_none_or(|c| c.incarnation != incarnation) {
                        continue;
                    }
                    let call = self.calls.remove(call.index());
                    for key in [call.attempt_timer, call.deadline_timer, call.retry_timer, call.place_timer]
                        .into_iter()
                        .flatten()
                    {
                        self.events.cancel(key);
                    }
                    let state = &mut self.edges[call.edge as usize];
                    state.counts.cancelled += u64::from(call.counted);
                    if let Some(visit) = call.visit {
                        stack.push(visit);
                    }
                }
            }
        }
        branches.clear();
        self.branch_lists[list.index()] = branches;
        self.free_lists.push(list);
    }

    /// Starts tracking the calls of visit `f`'s new wait, to cancel the losers.
    pub(super) fn track_branches(&mut self, f: VisitId) {
        let list = self.new_list();
        self.visits[f.index()].wait.branches = Some(list);
    }

    /// An empty list of calls, reused if one is free.
    pub(super) fn new_list(&mut self) -> ListId {
        self.free_lists.pop().unwrap_or_else(|| {
            self.branch_lists.push(Vec::new());
            ListId::new(self.branch_lists.len() - 1)
        })
    }

    /// Records a call of visit `f`'s wait, if the wait tracks them and is still open.
    pub(super) fn add_branch(&mut self, f: VisitId, branch: Branch) {
        if let Some(list) = self.visits.get(f.index()).and_then(|visit| visit.wait.branches) {
            self.branch_lists[list.index()].push(branch);
        }
    }

    /// Visit `f`'s wait is decided: cancel its losers if it tracks them.
    pub(super) fn decided(&mut self, f: VisitId) {
        if self.visits[f.index()].wait.branches.is_some() {
            let mut stack = std::mem::take(&mut self.cancel_stack);
            self.cancel_branches(f, &mut stack);
            self.cancel_stack = stack;
            self.cancel_pending();
        }
    }
}
