//! The message broker: topics, their consumer groups' backlogs, and the deliveries of messages
//! to consumers. A `Publish` step gives each group reading the topic its own copy of the
//! message and goes on at once. A `Log` group's consumer (an instance of the group's service)
//! owns the partitions `p` with `p mod n` its place among the group's `n` consumers (the active
//! instances not known to be down: a noticed crash rebalances the group) and handles
//! each partition one message at a time, in order; a `Queue` group's consumers take the oldest
//! visible message whenever a worker is free, and a received message not settled within the
//! visibility timeout becomes visible again, at the head (the oldest first). Each delivery is
//! a visit of kind [`VisitKind::Message`] at the consumer, running the service's handler with
//! a worker. While a topic's broker is down, its groups hand nothing out. The producers'
//! side (publishes, appends, back-pressure) is in `publish`.
//!
//! Messages live in one slab and the backlogs are ring buffers of their ids, so the steady
//! state allocates nothing. A message settled while a copy of it still waits in a backlog
//! (a late success after its visibility timeout) stays there as a tombstone, skipped when it
//! reaches the head.

mod publish;

use super::*;
use publish::{Append, Blocked};
use tailsim_model::compile::{Subscription, TopicModel};
use tailsim_model::kinds::{Delivery, PartitionBy, WhenFull};
use tailsim_stats::{GroupSeries, GroupSummary, MessageCount, PartitionSummary, TopicSummary};

/// The broker's timers.
#[derive(Clone, Copy, Debug)]
pub(super) enum BrokerEvent {
    /// A `Queue` group's message, received for the `receive`-th time, reaches its visibility
    /// timeout.
    Visible { message: u32, receive: u32 },
}

/// Where a message stands in its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MessageState {
    /// In the backlog, waiting to be received.
    Waiting,
    /// Received, invisible, not settled.
    Received,
    /// Settled: consumed, dead-lettered or dropped.
    Done,
}

/// When a message was published, and when the work it carries on began: the arrival of the
/// client request whose handling published it, through any topics before this one.
#[derive(Clone, Copy, Debug)]
struct Stamps {
    published: SimTime,
    origin: SimTime,
}

/// One group's copy of a published message.
#[derive(Clone, Copy, Debug)]
struct Message {
    group: u32,
    partition: u32,
    published: SimTime,
    /// When the request whose work it carries on arrived (see [`Stamps`]).
    origin: SimTime,
    /// When it last entered the backlog.
    since: SimTime,
    key: u32,
    class: u8,
    /// Published after the warm-up.
    counted: bool,
    /// In a backlog (waiting, or a tombstone).
    in_backlog: bool,
    state: MessageState,
    /// Times received.
    receives: u32,
    /// Deliveries of it running now.
    deliveries: u32,
    /// Its visibility timeout, while received (`Queue` groups).
    timer: Option<EventKey>,
}

/// One partition of a group's backlog (a `Queue` group has one, whatever the topic's count).
#[derive(Default)]
struct Partition {
    backlog: VecDeque<u32>,
    /// A `Log` group's partition with a message being handled.
    busy: bool,
    /// Its counts of messages published after the warm-up (the backlog's is left at zero and
    /// counted when the summary is made).
    counts: PartitionSummary,
}

/// A consumer group's state.
struct Group {
    service: u32,
    /// How long a message may wait (since it was published) before it expires; its topic's.
    ttl: Option<SimDuration>,
    /// The publishes waiting for room in its backlog, first come first.
    blocked: VecDeque<Blocked>,
    sub: Subscription,
    partitions: Vec<Partition>,
    /// Live messages waiting in the backlogs (tombstones not counted).
    waiting: u64,
    /// The consumer a `Queue` group offers its next message to first.
    turn: u32,
    backlog: Occupancy,
    latency: LatencyRecorder,
    end_to_end: LatencyRecorder,
    wait: LatencyRecorder,
    received: u64,
    redeliveries: u64,
    consumed: u64,
    duplicates: u64,
    failed_deliveries: u64,
    dead_lettered: u64,
    dropped: u64,
    expired: u64,
    /// A `Log` group hands out nothing before this (a rebalance).
    paused_until: SimTime,
    rebalances: u64,
    /// Time paused after the warm-up, up to `paused_until`.
    paused_ns: u64,
    count: MessageCount,
    series: GroupSeries,
    /// The open window's counts: messages given, consumed, redelivered; and the backlog's
    /// integral at its start.
    open: [u64; 3],
    backlog_at_start: i128,
}

impl Group {
    /// A live message comes into the backlog at `now` (`measured`: after the warm-up).
    fn entered_backlog(&mut self, now: SimTime, measured: bool) {
        self.waiting += 1;
        self.backlog.enter(now, measured);
    }

    /// A live message that came into the backlog at `since` leaves it at `now`.
    fn left_backlog(&mut self, since: SimTime, now: SimTime, from: SimTime) {
        self.waiting -= 1;
        self.backlog.leave(since, now, from);
    }
}

/// A topic's state.
struct TopicState {
    rng: RngStream,
    /// Its append latencies' stream, apart so that adding one moves no partition.
    append_rng: RngStream,
    turn: u32,
    published: u64,
    refused: u64,
    /// Appends that came due in an outage and waited for its end.
    outage_held: u64,
    /// Appends of acknowledged publishes taken after their producer stopped waiting.
    unacknowledged: u64,
    /// Its groups, as indices into [`Broker::groups`].
    groups: Vec<u32>,
}

/// The broker of a run with topics.
pub(super) struct Broker {
    /// When the warm-up ends: what a backlog's occupancy is measured from.
    warmup_end: SimTime,
    messages: Slab<Message>,
    /// Appends on their way.
    appends: Slab<Append>,
    topics: Vec<TopicState>,
    groups: Vec<Group>,
    /// Each service's group, if it consumes.
    group_of: Vec<Option<u32>>,
}

impl Broker {
    /// The broker of `model`, if it has topics.
    pub(super) fn new(model: &Model, seed: u64, rep: u64, window_s: f64) -> Option<Broker> {
        if model.topics.is_empty() {
            return None;
        }
        let mut groups = Vec::new();
        let mut group_of = vec![None; model.services.len()];
        let topics = model
            .topics
            .iter()
            .map(|t| TopicState {
                rng: stream(seed, rep, &format!("topic/{}", t.name)),
                append_rng: stream(seed, rep, &format!("topic/{}/append", t.name)),
                turn: 0,
                published: 0,
                refused: 0,
                outage_held: 0,
                unacknowledged: 0,
                groups: t
                    .groups
                    .iter()
                    .map(|s| Broker::add_group(&mut groups, &mut group_of, model, t, s.0, window_s))
                    .collect(),
            })
            .collect();
        let warmup_end = SimTime::ZERO + model.warmup;
        Some(Broker { warmup_end, messages: Slab::new(), appends: Slab::new(), topics, groups, group_of })
    }

    fn add_group(
        groups: &mut Vec<Group>,
        group_of: &mut [Option<u32>],
        model: &Model,
        t: &TopicModel,
        s: u32,
        window_s: f64,
    ) -> u32 {
        let sub = model.services[s as usize].consumes.expect("a group's service consumes");
        let partitions = if sub.delivery == Delivery::Log { t.partitions } else { 1 };
        group_of[s as usize] = Some(groups.len() as u32);
        groups.push(Group {
            service: s,
            ttl: t.ttl,
            blocked: VecDeque::new(),
            sub,
            partitions: (0..partitions).map(|_| Partition::default()).collect(),
            waiting: 0,
            turn: 0,
            backlog: Occupancy::default(),
            latency: LatencyRecorder::new(),
            end_to_end: LatencyRecorder::new(),
            wait: LatencyRecorder::new(),
            received: 0,
            redeliveries: 0,
            consumed: 0,
            duplicates: 0,
            failed_deliveries: 0,
            dead_lettered: 0,
            dropped: 0,
            expired: 0,
            paused_until: SimTime::ZERO,
            rebalances: 0,
            paused_ns: 0,
            count: MessageCount::default(),
            series: GroupSeries { window_s, ..GroupSeries::default() },
            open: [0; 3],
            backlog_at_start: 0,
        });
        groups.len() as u32 - 1
    }

    /// Closes each group's window from `start` to `end`: its counts, its mean backlog, and its
    /// backlog and the age of its oldest waiting message at `end`.
    pub(super) fn close_window(&mut self, start: SimTime, end: SimTime) {
        let width = end.saturating_since(start).as_nanos().max(1) as f64;
        for g in 0..self.groups.len() as u32 {
            let n = self.groups[g as usize].partitions.len() as u32;
            let mut oldest: Option<SimTime> = None;
            for p in 0..n {
                if self.has_waiting(g, p, end)
                    && let Some(&m) = self.groups[g as usize].partitions[p as usize].backlog.front()
                {
                    let published = self.messages[m as usize].published;
                    oldest = Some(oldest.map_or(published, |o| o.min(published)));
                }
            }
            let group = &mut self.groups[g as usize];
            let integral = group.backlog.integral_ns(end);
            let series = &mut group.series;
            let [published, consumed, redelivered] = std::mem::take(&mut group.open);
            series.published.push(published);
            series.consumed.push(consumed);
            series.redelivered.push(redelivered);
            series.mean_backlog.push((integral - group.backlog_at_start) as f64 / width);
            series.backlog.push(group.waiting);
            series.oldest_s.push(oldest.map_or(0.0, |at| end.saturating_since(at).as_nanos() as f64 / 1e9));
            group.backlog_at_start = integral;
        }
    }

    /// Whether group `g`'s backlog is full, under its topic's capacity in `model`.
    fn full(&self, model: &Model, g: u32) -> bool {
        let group = &self.groups[g as usize];
        model.topics[group.sub.topic as usize].capacity.is_some_and(|cap| group.waiting >= u64::from(cap))
    }

    /// Service `s`'s group's lag: its messages waiting to be received (0 if it reads none).
    pub(super) fn lag(&self, s: u32) -> u64 {
        self.group_of[s as usize].map_or(0, |g| self.groups[g as usize].waiting)
    }

    /// Messages held: waiting, received, or settled with a delivery still running; and
    /// appends on their way.
    pub(super) fn held(&self) -> usize {
        self.messages.len() + self.appends.len()
    }

    /// Panics, naming the count and the instant `at`, when the broker's kept counts disagree
    /// with its messages, or with `deliveries`, the message ids of the deliveries running now.
    pub(super) fn check(&self, deliveries: impl Iterator<Item = u32>, at: SimTime) {
        let mut running = vec![0u32; self.messages.capacity()];
        for m in deliveries {
            running[m as usize] += 1;
        }
        for (m, msg) in &self.messages {
            assert_eq!(msg.deliveries, running[m], "message {m} at {at}: deliveries against visits");
            assert!(msg.state != MessageState::Waiting || msg.in_backlog, "message {m} at {at}: waiting outside");
            assert!(msg.state != MessageState::Received || !msg.in_backlog, "message {m} at {at}: received inside");
        }
        let mut out: Vec<Vec<u32>> = self.groups.iter().map(|g| vec![0; g.partitions.len()]).collect();
        let (mut waiting, mut queued) = (vec![0u64; self.groups.len()], vec![0usize; self.groups.len()]);
        for (m, msg) in &self.messages {
            let g = msg.group as usize;
            out[g][msg.partition as usize] += running[m];
            waiting[g] += u64::from(msg.state == MessageState::Waiting);
            queued[g] += usize::from(msg.in_backlog);
        }
        for (g, group) in self.groups.iter().enumerate() {
            assert_eq!(group.waiting, waiting[g], "group {g} at {at}: waiting against messages");
            assert_eq!(group.backlog.inside(), waiting[g], "group {g} at {at}: backlog occupancy against messages");
            let held: usize = group.partitions.iter().map(|p| p.backlog.len()).sum();
            assert_eq!(held, queued[g], "group {g} at {at}: backlogs against messages in them");
            if group.sub.delivery == Delivery::Log {
                for (p, (partition, &out)) in group.partitions.iter().zip(&out[g]).enumerate() {
                    assert!(out <= 1, "group {g} partition {p} at {at}: {out} deliveries at once");
                    assert_eq!(partition.busy, out == 1, "group {g} partition {p} at {at}: busy against deliveries");
                }
            }
        }
    }

    /// Takes message `m` out of the slab once nothing refers to it any more.
    fn forget_if_settled(&mut self, m: u32) {
        let msg = &self.messages[m as usize];
        if msg.state == MessageState::Done && msg.deliveries == 0 && !msg.in_backlog {
            self.messages.remove(m as usize);
        }
    }

    /// The next live message at the head of partition `p` of group `g` at `now`, taken out of
    /// the backlog; tombstones and expired messages on the way are dropped.
    fn pop_live(&mut self, g: u32, p: u32, now: SimTime) -> Option<u32> {
        if !self.has_waiting(g, p, now) {
            return None;
        }
        let m = self.groups[g as usize].partitions[p as usize].backlog.pop_front()?;
        self.messages[m as usize].in_backlog = false;
        Some(m)
    }

    /// Whether partition `p` of group `g` has a live message waiting at `now`, dropping the
    /// tombstones and the expired messages at its head (as RabbitMQ discards a queue's expired
    /// messages once they reach its head).
    fn has_waiting(&mut self, g: u32, p: u32, now: SimTime) -> bool {
        loop {
            let Some(&m) = self.groups[g as usize].partitions[p as usize].backlog.front() else { return false };
            let msg = &mut self.messages[m as usize];
            if msg.state != MessageState::Done {
                let group = &mut self.groups[g as usize];
                if group.ttl.is_none_or(|ttl| now < msg.published + ttl) {
                    return true;
                }
                msg.state = MessageState::Done;
                group.left_backlog(msg.since, now, self.warmup_end);
                group.expired += u64::from(msg.counted);
                group.count.expired += 1;
            }
            self.groups[g as usize].partitions[p as usize].backlog.pop_front();
            self.messages[m as usize].in_backlog = false;
            self.forget_if_settled(m);
        }
    }
}

impl<'m> World<'m> {
    /// Group `g` gets its copy of a message of `tag`, published as `stamps` say, in partition
    /// `partition` (a `Queue` group's one queue whatever it is), and offers it to a consumer.
    fn enqueue(&mut self, g: u32, partition: u32, tag: Tag, stamps: Stamps, counted: bool) {
        let now = self.now;
        let broker = self.broker.as_mut().expect("a broker");
        let p = partition.min(broker.groups[g as usize].partitions.len() as u32 - 1);
        let m = broker.messages.insert(Message {
            group: g,
            partition: p,
            published: stamps.published,
            origin: stamps.origin,
            since: now,
            key: tag.key,
            class: tag.class,
            counted,
            in_backlog: true,
            state: MessageState::Waiting,
            receives: 0,
            deliveries: 0,
            timer: None,
        }) as u32;
        let group = &mut broker.groups[g as usize];
        let partition = &mut group.partitions[p as usize];
        partition.backlog.push_back(m);
        partition.counts.published += u64::from(counted);
        group.entered_backlog(now, now >= self.warmup_end);
        group.count.accepted += 1;
        group.open[0] += 1;
        if group.ttl.is_some() {
            broker.has_waiting(g, p, now); // the expired at its head go
        }
        self.offer(g, p);
    }

    /// Group `g`'s backlog is full: its oldest waiting message goes, from partition `p` if it
    /// has one, else from the first partition after it that does.
    fn drop_oldest(&mut self, g: u32, p: u32) {
        let from = self.warmup_end;
        let now = self.now;
        let Some(broker) = self.broker.as_mut() else { return };
        let n = broker.groups[g as usize].partitions.len() as u32;
        let p = p.min(n - 1);
        let Some(m) = (0..n).map(|k| (p + k) % n).find_map(|q| broker.pop_live(g, q, now)) else { return };
        let msg = &mut broker.messages[m as usize];
        msg.state = MessageState::Done;
        let (since, counted) = (msg.since, msg.counted);
        let group = &mut broker.groups[g as usize];
        group.left_backlog(since, now, from);
        group.dropped += u64::from(counted);
        group.count.dropped += 1;
        broker.forget_if_settled(m);
    }

    /// Partition `p` of group `g` has a message: hand it to a consumer with a free worker, if
    /// the partition's (a `Log` group) or any (a `Queue` group) has one.
    fn offer(&mut self, g: u32, p: u32) {
        let Some(broker) = self.broker.as_ref() else { return };
        let group = &broker.groups[g as usize];
        let s = group.service;
        let fleet = &self.services[s as usize].fleet;
        let active = fleet.active();
        if active == 0 || self.withholding(g) {
            return;
        }
        match group.sub.delivery {
            Delivery::Log => {
                if group.partitions[p as usize].busy {
                    return;
                }
                if let Some(instance) = self.owner(s, p)
                    && self.can_take(s, instance)
                {
                    self.deliver(g, p, instance);
                }
            }
            Delivery::Queue => {
                let turn = group.turn;
                let free =
                    (0..active).map(|k| fleet.global((turn + k) % active)).find(|&instance| self.can_take(s, instance));
                if let Some(instance) = free {
                    let broker = self.broker.as_mut().expect("a broker");
                    let local = self.services[s as usize].fleet.local(instance);
                    broker.groups[g as usize].turn = (local + 1) % active;
                    self.deliver(g, 0, instance);
                }
            }
        }
    }

    /// The consumer (instance slot) owning partition `p` of service `s`'s log group: the
    /// `p mod n`-th of the `n` consumers in the group now, the active instances whose crash, if
    /// they are down, has not been noticed yet (once it is, the group rebalances without them).
    fn owner(&self, s: u32, p: u32) -> Option<u32> {
        let fleet = &self.services[s as usize].fleet;
        if !self.services[s as usize].has_faults {
            return (fleet.active() > 0).then(|| fleet.global(p % fleet.active()));
        }
        let members = (0..fleet.active()).map(|local| fleet.global(local));
        let members = members.filter(|&i| self.instances[i as usize].skipped == 0);
        let n = members.clone().count() as u32;
        (n > 0).then(|| members.clone().nth((p % n) as usize)).flatten()
    }

    /// The place of `instance` among the consumers of service `s`'s group now, and how many
    /// they are (see [`World::owner`]); `None` if it is not one (stopped, draining, or known
    /// to be down).
    fn rank(&self, s: u32, instance: u32) -> Option<(u32, u32)> {
        let fleet = &self.services[s as usize].fleet;
        let (local, active) = (fleet.local(instance), fleet.active());
        if local >= active {
            return None;
        }
        if !self.services[s as usize].has_faults {
            return Some((local, active));
        }
        let member = |l: &u32| self.instances[fleet.global(*l) as usize].skipped == 0;
        if !member(&local) {
            return None;
        }
        Some(((0..local).filter(member).count() as u32, (0..active).filter(member).count() as u32))
    }

    /// Whether `instance` of consumer service `s` can start a delivery now: a free worker, and
    /// not down in a crash.
    fn can_take(&self, s: u32, instance: u32) -> bool {
        let inst = &self.instances[instance as usize];
        inst.busy < self.model.services[s as usize].workers
            && inst.skipped == 0
            && !(self.services[s as usize].has_faults
                && self.crashed_now(s, self.services[s as usize].fleet.local(instance)))
    }

    /// A worker of `instance` of service `s` went idle: if `s` is a consumer group, it takes
    /// the next message it may (of its own partitions, for a `Log` group).
    pub(super) fn consumer_free(&mut self, s: u32, instance: u32) {
        let Some(g) = self.broker.as_ref().and_then(|b| b.group_of[s as usize]) else { return };
        if !self.can_take(s, instance) || self.withholding(g) {
            return;
        }
        let Some((rank, live)) = self.rank(s, instance) else { return };
        let now = self.now;
        let broker = self.broker.as_mut().expect("a broker");
        let group = &broker.groups[g as usize];
        let p = match group.sub.delivery {
            Delivery::Queue => Some(0).filter(|_| group.waiting > 0),
            Delivery::Log => {
                let n = group.partitions.len() as u32;
                (rank..n).step_by(live as usize).find(|&p| {
                    let busy = broker.groups[g as usize].partitions[p as usize].busy;
                    !busy && broker.has_waiting(g, p, now)
                })
            }
        };
        if let Some(p) = p {
            self.deliver(g, p, instance);
            self.unblock(g);
        }
    }

    /// Consumer service `s`'s instances changed (started, restarted, a crash noticed), which
    /// moves a `Log` group's partitions: after its rebalance pause, if it has one, every free
    /// worker takes what it may.
    pub(super) fn consumers_changed(&mut self, s: u32) {
        self.rebalance(s);
        self.wake_consumers(s);
    }

    /// Consumer service `s`'s `Log` group, if it has a rebalance pause, hands out nothing until
    /// the pause is over (from now: a change during a pause starts it again; changes at one
    /// instant are one rebalance).
    pub(super) fn rebalance(&mut self, s: u32) {
        let (now, from) = (self.now, self.warmup_end);
        let Some(broker) = self.broker.as_mut() else { return };
        let Some(g) = broker.group_of[s as usize] else { return };
        let group = &mut broker.groups[g as usize];
        let pause = group.sub.rebalance_pause;
        if pause == SimDuration::ZERO || group.sub.delivery != Delivery::Log {
            return;
        }
        let until = now + pause;
        if group.paused_until == until {
            return; // a second change at the same instant: one rebalance
        }
        if now >= from {
            group.rebalances += 1;
            group.paused_ns += until.saturating_since(group.paused_until.max(now)).as_nanos();
        }
        group.paused_until = until;
        self.events.schedule(until, Event::Rebalanced(g));
    }

    /// Whether group `g` hands out nothing now: in a rebalance pause, or its broker down.
    fn withholding(&self, g: u32) -> bool {
        let group = &self.broker.as_ref().expect("a broker").groups[g as usize];
        self.now < group.paused_until || self.broker_down(group.sub.topic)
    }

    /// Group `g`'s rebalance pause may be over: its consumers take what they may.
    pub(super) fn on_rebalanced(&mut self, g: u32) {
        let group = &self.broker.as_ref().expect("a broker").groups[g as usize];
        if self.now >= group.paused_until {
            self.wake_consumers(group.service);
        }
    }

    /// Every free worker of consumer service `s` takes what it may.
    pub(super) fn wake_consumers(&mut self, s: u32) {
        if self.broker.as_ref().and_then(|b| b.group_of[s as usize]).is_none() {
            return;
        }
        let workers = self.model.services[s as usize].workers;
        for local in 0..self.services[s as usize].fleet.active() {
            let instance = self.services[s as usize].fleet.global(local);
            for _ in 0..workers {
                let busy = self.instances[instance as usize].busy;
                self.consumer_free(s, instance);
                if self.instances[instance as usize].busy == busy {
                    break;
                }
            }
        }
    }

    /// Delivers the next message of partition `p` of group `g` to `instance`, which has a free
    /// worker: a visit of kind `Message` starts there at once.
    fn deliver(&mut self, g: u32, p: u32, instance: u32) {
        if self.now >= self.window_end {
            self.roll_windows();
        }
        let (now, from) = (self.now, self.warmup_end);
        let broker = self.broker.as_mut().expect("a broker");
        let Some(m) = broker.pop_live(g, p, now) else { return };
        let group = &mut broker.groups[g as usize];
        let msg = &mut broker.messages[m as usize];
        msg.state = MessageState::Received;
        msg.receives += 1;
        msg.deliveries += 1;
        group.left_backlog(msg.since, now, from);
        let counted = u64::from(msg.counted);
        group.received += counted;
        if msg.receives > 1 {
            group.redeliveries += counted;
            group.open[2] += 1;
        } else if msg.counted {
            group.wait.record(now - msg.published);
        }
        match group.sub.delivery {
            Delivery::Log => group.partitions[p as usize].busy = true,
            Delivery::Queue => {
                let at = now + group.sub.visibility_timeout;
                let event = Event::Broker(BrokerEvent::Visible { message: m, receive: msg.receives });
                msg.timer = Some(self.events.schedule(at, event));
            }
        }
        let (tag, receive) = (Tag { class: msg.class, key: msg.key }, msg.receives);
        let s = group.service;
        self.start_message_visit(s, instance, Parent::Message { message: m, receive }, tag);
    }

    /// A visit of a message starts at `instance` of service `s`, with a worker at once.
    fn start_message_visit(&mut self, s: u32, instance: u32, parent: Parent, tag: Tag) {
        let now = self.now;
        let counted = now >= self.warmup_end;
        let model = &self.model.services[s as usize];
        let mut visit = Visit::new(s, instance, parent, now, counted, tag, model.handler_of(tag.class));
        visit.kind = VisitKind::Message;
        let f = VisitId::new(self.visits.insert(visit));
        self.instances[instance as usize].arrivals += u64::from(counted);
        let stats = &mut self.services[s as usize].stats;
        stats.arrivals_total += 1;
        stats.arrivals += u64::from(counted);
        self.serve_at_once(f, s, instance, counted);
    }

    /// A delivery of message `m` (its `receive`-th) ended with `outcome`; `lost` when its
    /// consumer crashed under it, which settles nothing (the message comes back: at once on a
    /// log, at its visibility timeout on a queue).
    pub(super) fn delivered(&mut self, m: u32, receive: u32, outcome: Outcome, lost: bool) {
        if self.now >= self.window_end {
            self.roll_windows();
        }
        let (now, from) = (self.now, self.warmup_end);
        let Some(broker) = self.broker.as_mut() else { return };
        let msg = &mut broker.messages[m as usize];
        msg.deliveries -= 1;
        let (g, p, counted) = (msg.group, msg.partition, msg.counted);
        let group = &mut broker.groups[g as usize];
        let log = group.sub.delivery == Delivery::Log;
        if log {
            group.partitions[p as usize].busy = false;
        }
        let current = receive == msg.receives && msg.state == MessageState::Received;
        let mut retry = None;
        match outcome {
            Outcome::Success if msg.state == MessageState::Done => group.duplicates += u64::from(counted),
            Outcome::Success if !lost => {
                if msg.state == MessageState::Waiting {
                    // Back in the backlog after its timeout: it stays there as a tombstone.
                    group.left_backlog(msg.since, now, from);
                }
                msg.state = MessageState::Done;
                let timer = msg.timer.take();
                group.consumed += u64::from(counted);
                group.partitions[p as usize].counts.consumed += u64::from(counted);
                group.count.consumed += 1;
                group.open[1] += 1;
                if counted {
                    group.latency.record(now - msg.published);
                    group.end_to_end.record(now - msg.origin);
                }
                if let Some(timer) = timer {
                    self.events.cancel(timer);
                }
            }
            _ => {
                group.failed_deliveries += u64::from(counted && !lost);
                if log && current {
                    retry = Some(lost || msg.receives < group.sub.max_receives);
                }
            }
        }
        match retry {
            Some(true) => self.back_to_backlog(m),
            Some(false) => self.dead_letter(m),
            None => {}
        }
        self.broker.as_mut().expect("a broker").forget_if_settled(m);
        if log {
            self.offer(g, p);
        }
        self.unblock(g);
    }

    /// Message `m`, received and not settled, waits again, at the head of its partition or
    /// queue: it is older than every message waiting there (a log retries in order; a queue
    /// hands out its oldest first, as an SQS standard queue tries to).
    fn back_to_backlog(&mut self, m: u32) {
        let now = self.now;
        let broker = self.broker.as_mut().expect("a broker");
        let msg = &mut broker.messages[m as usize];
        msg.state = MessageState::Waiting;
        msg.since = now;
        msg.in_backlog = true;
        let (g, p) = (msg.group, msg.partition);
        let group = &mut broker.groups[g as usize];
        group.partitions[p as usize].backlog.push_front(m);
        group.entered_backlog(now, now >= self.warmup_end);
        self.offer(g, p);
    }

    /// Message `m` was received `max_receives` times without success: it leaves its group, to
    /// the dead-letter topic if the group has one.
    fn dead_letter(&mut self, m: u32) {
        let broker = self.broker.as_mut().expect("a broker");
        let msg = &mut broker.messages[m as usize];
        msg.state = MessageState::Done;
        msg.timer = None;
        let (g, counted, tag) = (msg.group, msg.counted, Tag { class: msg.class, key: msg.key });
        let stamps = Stamps { published: self.now, origin: msg.origin };
        let group = &mut broker.groups[g as usize];
        group.dead_lettered += u64::from(counted);
        group.count.dead_lettered += 1;
        if let Some(topic) = group.sub.dead_letter {
            // A full dead-letter topic refuses it (counted there as refused).
            let _ = self.publish_message(topic, tag, stamps, false);
        }
    }

    /// A broker timer fires.
    pub(super) fn on_broker_event(&mut self, event: BrokerEvent) {
        match event {
            BrokerEvent::Visible { message, receive } => {
                let Some(broker) = self.broker.as_mut() else { return };
                let Some(msg) = broker.messages.get_mut(message as usize) else { return };
                if msg.receives != receive || msg.state != MessageState::Received {
                    return;
                }
                msg.timer = None;
                let sub = broker.groups[msg.group as usize].sub;
                if sub.heartbeat && msg.deliveries > 0 {
                    // Its consumer is still at it, and says so: invisible for another timeout.
                    let event = Event::Broker(BrokerEvent::Visible { message, receive });
                    msg.timer = Some(self.events.schedule(self.now + sub.visibility_timeout, event));
                    return;
                }
                let max = sub.max_receives;
                if msg.receives >= max {
                    self.dead_letter(message);
                    self.broker.as_mut().expect("a broker").forget_if_settled(message);
                } else {
                    self.back_to_backlog(message);
                }
            }
        }
    }

    /// Each topic's summary, with its groups'.
    pub(super) fn topic_summaries(&self) -> Vec<TopicSummary> {
        let Some(broker) = &self.broker else { return Vec::new() };
        let (from, now) = (self.warmup_end, self.now);
        self.model
            .topics
            .iter()
            .zip(&broker.topics)
            .enumerate()
            .map(|(t, (model, state))| TopicSummary {
                name: model.name.clone(),
                partitions: model.partitions,
                published: state.published,
                refused: state.refused,
                outage_held: model.faults.iter().any(|w| w.kind == FaultKind::Outage).then_some(state.outage_held),
                unacknowledged: self
                    .model
                    .edges
                    .iter()
                    .any(|e| e.to == Target::Topic(t as u32))
                    .then_some(state.unacknowledged),
                groups: state.groups.iter().map(|&g| self.group_summary(broker, g, from, now)).collect(),
            })
            .collect()
    }

    fn group_summary(&self, broker: &Broker, g: u32, from: SimTime, now: SimTime) -> GroupSummary {
        let group = &broker.groups[g as usize];
        let mut open_area = 0u128;
        let mut in_flight = 0u64;
        let log = group.sub.delivery == Delivery::Log;
        let mut partitions: Vec<PartitionSummary> =
            if log { group.partitions.iter().map(|p| p.counts.clone()).collect() } else { Vec::new() };
        for (_, msg) in broker.messages.iter().filter(|(_, msg)| msg.group == g) {
            match msg.state {
                MessageState::Waiting => {
                    open_area += Occupancy::stay(msg.since, now, from);
                    if let Some(p) = partitions.get_mut(msg.partition as usize) {
                        p.backlog += 1;
                    }
                }
                MessageState::Received => in_flight += 1,
                MessageState::Done => {}
            }
        }
        let service = &self.model.services[group.service as usize];
        let active = self.services[group.service as usize].fleet.active();
        let idle = match group.sub.delivery {
            Delivery::Log => active.saturating_sub(group.partitions.len() as u32),
            Delivery::Queue => 0,
        };
        GroupSummary {
            name: service.name.clone(),
            delivery: format!("{:?}", group.sub.delivery),
            received: group.received,
            redeliveries: group.redeliveries,
            consumed: group.consumed,
            duplicates: group.duplicates,
            failed_deliveries: group.failed_deliveries,
            dead_lettered: group.dead_lettered,
            dropped: group.dropped,
            expired: group.ttl.map(|_| group.expired),
            rebalances: (group.sub.rebalance_pause > SimDuration::ZERO).then_some(group.rebalances),
            paused_s: (group.sub.rebalance_pause > SimDuration::ZERO).then(|| {
                // The pause still running at the end counts up to the end only.
                let beyond = group.paused_until.saturating_since(now.max(from)).as_nanos();
                (group.paused_ns.saturating_sub(beyond)) as f64 / 1e9
            }),
            latency: group.latency.summary(),
            end_to_end: group.end_to_end.summary(),
            wait: group.wait.summary(),
            mean_backlog: group.backlog.mean(open_area, from, now),
            max_backlog: group.backlog.max(),
            idle_consumers: idle,
            messages: MessageCount { waiting: group.waiting, in_flight, ..group.count },
            partitions,
            series: group.series.clone(),
        }
    }
}
