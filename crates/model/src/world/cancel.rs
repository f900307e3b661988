//! Cancellation: the calls a wait sent (its branches), kept in lists so that the losers can
//! be cancelled once the wait is decided, and cancellation carried down the call graph
//! (`cancel_on_timeout`), one visit at a time from a scratch stack so that no chain of calls
//! recurses.

use super::*;

impl<'m> World<'m> {
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
            if frame.in_queue() {
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
}
