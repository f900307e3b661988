//! The world's bookkeeping checked against its own state, in debug builds and tests: every
//! count a mechanism keeps by hand (busy workers, visits admitted and queued, places in use,
//! fetches and call lists in flight, the broker's backlogs and deliveries, the batchers' batches) is recounted from the
//! visits and messages themselves. The run checks
//! this every few thousand events and at its end, so a mechanism that forgets to release
//! something fails the first test that exercises it, at the event it happened near, rather
//! than as a wrong number at the end of a long run.

use super::*;

/// What the visits of one instance hold, recounted.
#[derive(Default, Clone, Copy)]
struct Held {
    working: u32,
    admitted: u32,
    queued: u64,
}

impl World<'_> {
    /// Panics, naming the count and the instant, when a kept count disagrees with the state.
    pub(super) fn check_invariants(&self) {
        self.check_instances();
        self.check_pools();
        self.check_calls();
        self.check_fetches_and_lists();
        self.check_batches();
        if let Some(broker) = &self.broker {
            let deliveries =
                self.visits.iter().filter(|(_, visit)| !visit.lost()).filter_map(|(_, visit)| match visit.parent {
                    Parent::Message { message, .. } => Some(message),
                    _ => None,
                });
            broker.check(deliveries, self.now);
        }
    }

    fn check_instances(&self) {
        let at = self.now;
        for (f, visit) in &self.visits {
            // A kind that uses no workers (a background refresh) never takes a worker or a queue
            // place; a lost visit is cancelled, and no longer counted in its instance.
            let state = visit.state;
            let (kind, unplaced) = (visit.kind, state == VisitState::Unplaced);
            assert!(kind.uses_workers() || unplaced, "visit {f} at {at}: a {kind:?} {state:?}");
            assert!(!visit.lost() || (visit.cancelled && !visit.admitted), "visit {f} at {at}: lost but live");
            // A visit in a queue or served was admitted, unless cancelled in the queue.
            let placed = matches!(state, VisitState::Queued | VisitState::Requeued | VisitState::Running);
            assert!(!placed || visit.admitted || visit.cancelled, "visit {f} at {at}: {state:?} but not admitted");
        }
        let mut held = vec![Held::default(); self.instances.len()];
        for (_, visit) in self.visits.iter().filter(|(_, f)| !f.lost() && f.kind.of_the_service()) {
            let h = &mut held[visit.instance as usize];
            h.working += u32::from(visit.holds_worker());
            h.admitted += u32::from(visit.admitted);
            h.queued += u64::from(visit.in_queue() && !visit.cancelled);
        }
        for (i, (inst, h)) in self.instances.iter().zip(&held).enumerate() {
            assert_eq!(inst.busy, h.working, "instance {i} at {at}: busy workers against visits holding one");
            assert_eq!(inst.outstanding, h.admitted, "instance {i} at {at}: outstanding against admitted visits");
            assert_eq!(inst.waiting(), h.queued, "instance {i} at {at}: waiting against queued visits");
        }
    }

    fn check_pools(&self) {
        let mut held = vec![0u32; self.pools.len()];
        for (_, visit) in &self.visits {
            if let Some(p) = visit.place_pool {
                held[p.index()] += 1;
            }
        }
        self.pools.check(self.model, &held, self.now);
    }

    fn check_calls(&self) {
        for (c, call) in &self.calls {
            let Some(f) = call.visit else { continue };
            let parent = self.visits.get(f.index()).map(|visit| visit.parent);
            assert!(
                matches!(parent, Some(Parent::Attempt { call, incarnation, .. })
                    if call.index() == c && incarnation == self.calls[c].incarnation),
                "call {c} at {}: its attempt's visit {f} answers {parent:?}",
                self.now
            );
        }
    }

    fn check_fetches_and_lists(&self) {
        let mut fetches = 0;
        for (_, visit) in &self.visits {
            let mut next = visit.fetch;
            while let Some(id) = next {
                fetches += 1;
                next = self.fetches[id.index()].below;
            }
        }
        assert_eq!(self.fetches.len(), fetches, "at {}: fetches in flight against those visits make", self.now);
        let waits = self.visits.iter().map(|(_, f)| f.wait).chain(self.requests.iter().map(|(_, r)| r.wait));
        let tracked = waits.filter(|w| w.branches.is_some()).count();
        assert_eq!(
            self.branch_lists.len(),
            tracked + self.free_lists.len(),
            "at {}: lists of calls against the waits tracking one and the free ones",
            self.now
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let text = r#"Scenario(name: "x", duration: "10s",
            clients: [Client(name: "c", target: "s", rate: 100.0)],
            services: [Service(name: "s", workers: 2, handler: [Work(Exponential(mean: "15ms"))])])"#;
        tailsim_model::load(text, &[]).expect("a valid scenario").0
    }

    /// A world part-way through a run, with visits in every state.
    fn busy_world(model: &Model) -> World<'_> {
        let mut world = World::new(model, 1, 0, Limits::default());
        world.start();
        for _ in 0..500 {
            let Some((time, event)) = world.next_event() else { break };
            world.now = time;
            world.handle(event);
        }
        assert!(world.visits.len() > 1 && world.instances[0].waiting() > 0, "visits queued and in service");
        world
    }

    #[test]
    fn a_consistent_world_passes() {
        let model = model();
        busy_world(&model).check_invariants();
    }

    #[test]
    #[should_panic(expected = "busy workers against visits holding one")]
    fn a_worker_never_released_is_caught() {
        let model = model();
        let mut world = busy_world(&model);
        world.instances[0].take_worker(world.now);
        world.check_invariants();
    }
}
