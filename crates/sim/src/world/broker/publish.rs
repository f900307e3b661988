//! The producers' side of the broker: `Publish` steps, fire and forget or acknowledged, the
//! appends on their way to a topic (its append latency, slowed or held by the broker's
//! faults), and the publishes waiting for room in a full backlog.
//!
//! An acknowledged publish is a call on an edge of its own whose attempts are appends: the
//! call's policy (timeouts, retries, breaker, ...) acts on it as on any call. An append the
//! producer gave up on still reaches the broker, so a retried one is published twice, as
//! with a producer that is not idempotent.

use super::*;

/// The most callers [`World::origin`] walks up.
const MAX_CHAIN: usize = 1024;

/// An append on its way to a topic: the message, and the attempt waiting for it (`None` for a
/// fire-and-forget publish).
pub(in crate::world) struct Append {
    topic: u32,
    tag: Tag,
    /// When it was published (a message's age counts from here), and when the work it carries
    /// on began.
    stamps: Stamps,
    producer: Option<Producer>,
    /// Held once by an outage already (counted once).
    held: bool,
}

/// The attempt of an acknowledged publish waiting for its append.
#[derive(Clone, Copy, Debug)]
struct Producer {
    call: CallId,
    incarnation: u32,
    attempt: u32,
}

/// Who waits for a full backlog to have room.
#[derive(Clone, Copy, Debug)]
enum Waiter {
    /// A fire-and-forget `Publish` step of a visit, under `Block`: the visit waits on `token`.
    Visit { visit: VisitId, token: u32 },
    /// An append (of an acknowledged publish) in [`Broker::appends`].
    Append(u32),
}

/// A publish waiting for room in a full backlog.
pub(super) struct Blocked {
    waiter: Waiter,
    topic: u32,
    tag: Tag,
}

impl<'m> World<'m> {
    /// Visit `f` runs a `Publish` step to `topic`, acknowledged on `edge` or not. Returns
    /// whether the visit goes on to its next step now. A fire-and-forget publish that the
    /// broker takes at once (no append latency, no outage) to a full backlog fails the visit
    /// under `Refuse`, and under `Block` makes it wait for room (see [`World::unblock`]); one
    /// that takes time goes on at once, never learning what became of it.
    pub(in crate::world) fn publish_step(&mut self, f: VisitId, topic: u32, edge: Option<u32>) -> bool {
        let visit = &self.visits[f.index()];
        let (service, tag) = (visit.service as usize, Tag { class: visit.class, key: visit.key });
        let is_async = self.model.services[service].concurrency == Concurrency::Async;
        if let Some(edge) = edge {
            if is_async {
                self.release_for_calls(f);
            }
            let token = self.wait_for(f, 1, 0, 1);
            let counted = self.now >= self.warmup_end;
            self.start_call(Caller::Visit { visit: f, token }, edge, counted, tag);
            return false;
        }
        let stamps = Stamps { published: self.now, origin: self.origin(f) };
        if self.model.topics[topic as usize].append.is_some() || self.broker_down(topic) {
            self.start_append(topic, tag, stamps, None);
            return true;
        }
        match self.publish_message(topic, tag, stamps, true) {
            Ok(()) => true,
            Err(None) => {
                self.finish(f, Outcome::Failed(FailureKind::Rejected));
                false
            }
            Err(Some(g)) => {
                // Back-pressure: the step waits for room, as for a call's answer.
                if is_async {
                    self.release_for_calls(f);
                }
                let token = self.wait_for(f, 1, 0, 1);
                let blocked = Blocked { waiter: Waiter::Visit { visit: f, token }, topic, tag };
                self.broker.as_mut().expect("a broker").groups[g as usize].blocked.push_back(blocked);
                false
            }
        }
    }

    /// Attempt `attempt` of call `c`, an acknowledged publish to `topic`, is sent: an append.
    pub(in crate::world) fn send_append(&mut self, c: CallId, topic: u32) {
        let call = &mut self.calls[c.index()];
        call.appending = true;
        let producer = Producer { call: c, incarnation: call.incarnation, attempt: call.attempts };
        let (tag, caller) = (call.tag, call.caller);
        let origin = match caller {
            Caller::Visit { visit, .. } => self.origin(visit),
            Caller::Request(_) | Caller::HedgedRequest { .. } => self.now,
        };
        self.start_append(topic, tag, Stamps { published: self.now, origin }, Some(producer));
    }

    /// A message of `tag` starts on its way to `topic`: it is appended after the topic's
    /// append latency (stretched by the broker's slowdowns open now).
    fn start_append(&mut self, topic: u32, tag: Tag, stamps: Stamps, producer: Option<Producer>) {
        let model = &self.model.topics[topic as usize];
        let now = self.now;
        let broker = self.broker.as_mut().expect("a broker");
        let mut d = match &model.append {
            Some(dist) => dist.sample(&mut broker.topics[topic as usize].append_rng),
            None => SimDuration::ZERO,
        };
        if !model.faults.is_empty() {
            let slowdown = faults::active_faults(&model.faults, now, 0).slowdown;
            if slowdown != 1.0 {
                d = SimDuration::from_nanos_f64(d.as_nanos() as f64 * slowdown);
            }
        }
        let id = broker.appends.insert(Append { topic, tag, stamps, producer, held: false }) as u32;
        self.events.schedule(now + d, Event::Appended(id));
    }

    /// Whether `topic`'s broker is down now.
    pub(super) fn broker_down(&self, topic: u32) -> bool {
        self.broker_back(topic).is_some()
    }

    /// When `topic`'s broker is back, if it is down now: the end of the latest outage open.
    fn broker_back(&self, topic: u32) -> Option<SimTime> {
        let faults = &self.model.topics[topic as usize].faults;
        let open = faults.iter().filter(|w| w.kind == FaultKind::Outage && w.start <= self.now && self.now < w.end);
        open.map(|w| w.end).max()
    }

    /// Append `id` comes due: held until the broker is back if it is down, else taken (or
    /// refused, or blocked on a full backlog), and its producer answered.
    pub(in crate::world) fn on_appended(&mut self, id: u32) {
        let topic = self.broker.as_ref().expect("a broker").appends[id as usize].topic;
        let back = self.broker_back(topic);
        let broker = self.broker.as_mut().expect("a broker");
        let append = &mut broker.appends[id as usize];
        if let Some(back) = back {
            if !append.held && append.stamps.published >= self.warmup_end {
                broker.topics[topic as usize].outage_held += 1;
            }
            append.held = true;
            self.events.schedule(back, Event::Appended(id));
            return;
        }
        let (tag, stamps, acknowledged) = (append.tag, append.stamps, append.producer.is_some());
        match self.publish_message(topic, tag, stamps, acknowledged) {
            Ok(()) => self.appended(id, Outcome::Success),
            Err(None) => self.appended(id, Outcome::Failed(FailureKind::Rejected)),
            Err(Some(g)) => {
                let blocked = Blocked { waiter: Waiter::Append(id), topic, tag };
                self.broker.as_mut().expect("a broker").groups[g as usize].blocked.push_back(blocked);
            }
        }
    }

    /// Append `id` is over with `outcome`: its producer learns it, if it still waits.
    fn appended(&mut self, id: u32, outcome: Outcome) {
        let broker = self.broker.as_mut().expect("a broker");
        let append = broker.appends.remove(id as usize);
        let Some(p) = append.producer else { return };
        let listening = self
            .calls
            .get(p.call.index())
            .is_some_and(|c| c.incarnation == p.incarnation && c.attempts == p.attempt && c.appending);
        if listening {
            self.calls[p.call.index()].appending = false;
            self.attempt_done(p.call, outcome);
        } else if outcome == Outcome::Success && append.stamps.published >= self.warmup_end {
            broker.topics[append.topic as usize].unacknowledged += 1;
        }
    }

    /// Group `g`'s backlog has room again: the publishes blocked on it go ahead, in the order
    /// they came, while there is room (one blocked on another group waits on that one next),
    /// and each publisher goes on.
    pub(in crate::world) fn unblock(&mut self, g: u32) {
        loop {
            let Some(broker) = self.broker.as_mut() else { return };
            if broker.full(self.model, g) {
                return;
            }
            let Some(blocked) = broker.groups[g as usize].blocked.pop_front() else { return };
            // A message's age counts from when its producer handed it over: a blocked step
            // hands it over now; an append did when it was sent.
            let stamps = match blocked.waiter {
                Waiter::Visit { visit, token } => {
                    let awaits = self.visits.get(visit.index()).is_some_and(|v| v.wait.awaits(token));
                    if !awaits {
                        continue; // its visit was lost in a crash or cancelled meanwhile
                    }
                    Stamps { published: self.now, origin: self.origin(visit) }
                }
                Waiter::Append(id) => broker.appends[id as usize].stamps,
            };
            match self.publish_message(blocked.topic, blocked.tag, stamps, true) {
                Ok(()) => match blocked.waiter {
                    Waiter::Visit { visit, token } => {
                        self.call_returned(Caller::Visit { visit, token }, Outcome::Success)
                    }
                    Waiter::Append(id) => self.appended(id, Outcome::Success),
                },
                Err(Some(other)) => {
                    self.broker.as_mut().expect("a broker").groups[other as usize].blocked.push_back(blocked)
                }
                Err(None) => {}
            }
        }
    }

    /// Gives every group of `topic` a copy of a message of `tag` stamped `stamps`;
    /// `Err(None)` if a full backlog refused it, `Err(Some(g))` if group `g`'s full backlog
    /// blocks it (nothing is published then; only where the publisher `can_wait`).
    pub(super) fn publish_message(
        &mut self,
        topic: u32,
        tag: Tag,
        stamps: Stamps,
        can_wait: bool,
    ) -> Result<(), Option<u32>> {
        if self.now >= self.window_end {
            self.roll_windows();
        }
        let counted = stamps.published >= self.warmup_end;
        let model = &self.model.topics[topic as usize];
        let Some(broker) = self.broker.as_mut() else { return Err(None) };
        let groups = std::mem::take(&mut broker.topics[topic as usize].groups);
        let stopped = match model.when_full {
            WhenFull::DropOldest => None,
            WhenFull::Block if can_wait => groups.iter().copied().find(|&g| broker.full(self.model, g)).map(Some),
            // Under `Block` with nobody to hold back (a dead letter, moved by the broker
            // itself, or a fire-and-forget publish already sent): refused.
            WhenFull::Refuse | WhenFull::Block => groups.iter().any(|&g| broker.full(self.model, g)).then_some(None),
        };
        let state = &mut broker.topics[topic as usize];
        if let Some(why) = stopped {
            state.refused += u64::from(counted && why.is_none());
            state.groups = groups;
            return Err(why);
        }
        state.published += u64::from(counted);
        let partition = match model.partition_by {
            PartitionBy::Random => state.rng.random_range(0..model.partitions),
            PartitionBy::RoundRobin => {
                let turn = state.turn;
                state.turn = (turn + 1) % model.partitions;
                turn
            }
            PartitionBy::Key => (tailsim_model::keys::hash(u64::from(tag.key)) % u64::from(model.partitions)) as u32,
        };
        for &g in &groups {
            if self.broker.as_ref().expect("a broker").full(self.model, g) {
                self.drop_oldest(g, partition);
            }
            self.enqueue(g, partition, tag, stamps, counted);
        }
        self.broker.as_mut().expect("a broker").topics[topic as usize].groups = groups;
        Ok(())
    }

    /// When the work visit `f` is part of began: the arrival of the client request it serves,
    /// or, for work a message set off, that message's origin. A visit of nobody's request (a
    /// background refresh, a batch's run) began when it did.
    fn origin(&self, mut f: VisitId) -> SimTime {
        let start = self.visits[f.index()].arrived;
        // A chain of calls is far shorter; the bound only makes the walk end whatever the ids.
        for _ in 0..MAX_CHAIN {
            let visit = &self.visits[f.index()];
            let caller = match visit.parent {
                Parent::Direct { caller, .. } => caller,
                Parent::Attempt { call, .. } => match self.calls.get(call.index()) {
                    Some(call) => call.caller,
                    None => return visit.arrived,
                },
                Parent::Message { message, .. } => {
                    let broker = self.broker.as_ref().expect("a broker");
                    return broker.messages.get(message as usize).map_or(visit.arrived, |m| m.origin);
                }
                Parent::Background | Parent::Batch { .. } => return visit.arrived,
            };
            match caller {
                Caller::Request(r) | Caller::HedgedRequest { request: r, .. } => {
                    return self.requests.get(r as usize).map_or(visit.arrived, |q| q.arrived);
                }
                // A caller that still waits for it and came first (its slot may hold another
                // visit by now, even one of this visit's own calls: following that one would go
                // round for ever).
                Caller::Visit { visit: g, token }
                    if self
                        .visits
                        .get(g.index())
                        .is_some_and(|caller| caller.arrived <= visit.arrived && caller.wait.awaits(token)) =>
                {
                    f = g;
                }
                Caller::Visit { .. } => return visit.arrived,
            }
        }
        start
    }

    /// Schedules the end of every outage of every topic's broker, when its consumers look
    /// for messages again.
    pub(in crate::world) fn schedule_broker_faults(&mut self) {
        for (t, topic) in self.model.topics.iter().enumerate() {
            for window in topic.faults.iter().filter(|w| w.kind == FaultKind::Outage) {
                self.events.schedule(window.end, Event::BrokerUp(t as u32));
            }
        }
    }

    /// `topic`'s broker may be back: every group reading it hands out what it may.
    pub(in crate::world) fn broker_up(&mut self, topic: u32) {
        if self.broker_down(topic) {
            return; // another outage still holds it
        }
        for g in 0..self.model.topics[topic as usize].groups.len() {
            let s = self.model.topics[topic as usize].groups[g].0;
            self.wake_consumers(s);
        }
    }
}
