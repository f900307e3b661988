//! The simulated world at run time: clients sending requests, services with instances, queues
//! and worker pools running their handlers, and the collectors recording what happens.
//!
//! A request from a client becomes a *frame* at its target service; a `Call` step creates a
//! child frame at the callee, and the caller's frame waits, holding its worker
//! (thread-per-request). Frames and requests live in slabs and are reused, so the hot loop does
//! not allocate once queues have reached their largest size. Work that would otherwise recurse
//! (a finished frame starting the next queued one, a failure travelling up a call chain) goes
//! through a small agenda instead, so no input can overflow the stack.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::RngExt;
use slab::Slab;
use tailsim_engine::rng::stream;
use tailsim_engine::{Dist, EventQueue, RngStream, SimDuration, SimTime};
use tailsim_report::{
    ClientSummary, Conservation, Failures, LatencyRecorder, LittlesLaw, RunSummary, ServiceSummary, TimeAverage,
};

use crate::compile::{Model, Step};
use crate::scenario::{Arrivals, Balancer};

/// Bounds that stop a run cleanly, marked as truncated, instead of exhausting the machine.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most client requests in flight at once.
    pub max_in_flight: u64,
    /// The most events one replication may process.
    pub max_events: u64,
    /// The most wall-clock time one replication may take.
    pub max_wall: Option<std::time::Duration>,
    /// Set from outside (Ctrl-C) to stop every replication at its next check.
    pub stop: Option<&'static AtomicBool>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_in_flight: 1_000_000, max_events: u64::MAX, max_wall: None, stop: None }
    }
}

/// Events between two looks at the wall clock and the stop flag: rare enough to cost nothing,
/// frequent enough (well under a millisecond apart) to stop promptly.
const CHECK_EVERY_EVENTS: u64 = 1 << 14;

#[derive(Clone, Copy, Debug)]
enum Event {
    /// The next request of a client.
    Arrival(u32),
    /// A frame's `Work` step finished.
    StepDone(u32),
    /// The warm-up is over: statistics start from here.
    WarmupEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Success,
    Rejected,
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Advance(u32),
    Finish(u32, Outcome),
}

#[derive(Clone, Copy, Debug)]
enum Parent {
    Request(u32),
    Frame(u32),
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    service: u32,
    instance: u32,
    step: u32,
    parent: Parent,
    arrived: SimTime,
    holds_worker: bool,
    counted: bool,
}

#[derive(Clone, Copy, Debug)]
struct Request {
    client: u32,
    arrived: SimTime,
    counted: bool,
}

struct ClientState {
    rng: RngStream,
    /// Exponential gaps for Poisson arrivals.
    gap: Dist,
    mean_gap_ns: f64,
    sent: u64,
    arrivals: u64,
    succeeded: u64,
    rejected: u64,
    latency: LatencyRecorder,
    failure_latency: LatencyRecorder,
    in_flight: TimeAverage,
}

struct ServiceState {
    rng: RngStream,
    balancer_rng: RngStream,
    next_instance: u32,
    first_instance: u32,
    arrivals: u64,
    admitted: u64,
    waited: u64,
    rejected: u64,
    completed: u64,
    arrivals_total: u64,
    finished_total: u64,
    busy: TimeAverage,
    queued: TimeAverage,
    latency: LatencyRecorder,
    queue_wait: LatencyRecorder,
}

struct Instance {
    busy: u32,
    queue: VecDeque<u32>,
}

/// One replication of a model.
struct World<'m> {
    model: &'m Model,
    limits: Limits,
    now: SimTime,
    warmup_end: SimTime,
    events: EventQueue<Event>,
    frames: Slab<Frame>,
    requests: Slab<Request>,
    agenda: Vec<Action>,
    clients: Vec<ClientState>,
    services: Vec<ServiceState>,
    instances: Vec<Instance>,
    n_events: u64,
    arrived_total: u64,
    succeeded_total: u64,
    failed_total: u64,
    truncated: Option<String>,
}

/// Runs replication `replication` of `model` with master seed `seed`.
pub fn run(model: &Model, seed: u64, replication: u32, limits: Limits) -> RunSummary {
    let mut world = World::new(model, seed, replication, limits);
    world.start();
    let end = SimTime::ZERO + model.duration;
    let started = Instant::now();
    while let Some((time, event)) = world.events.pop() {
        if time > end {
            world.now = end;
            break;
        }
        world.now = time;
        world.n_events += 1;
        world.handle(event);
        if world.truncated.is_some() {
            break;
        }
        if world.n_events >= limits.max_events {
            world.truncated = Some(format!(
                "the run reached its limit of {} events at {}; raise it with --max-events",
                limits.max_events, world.now
            ));
            break;
        }
        if world.n_events.is_multiple_of(CHECK_EVERY_EVENTS) {
            if limits.stop.is_some_and(|stop| stop.load(Ordering::Relaxed)) {
                world.truncated = Some(format!("interrupted at {}", world.now));
                break;
            }
            if let Some(max_wall) = limits.max_wall
                && started.elapsed() >= max_wall
            {
                world.truncated = Some(format!(
                    "the run reached its wall-clock limit of {:.1}s at {}; raise it with --max-wall-time",
                    max_wall.as_secs_f64(),
                    world.now
                ));
                break;
            }
        }
    }
    if world.truncated.is_none() {
        world.now = end;
    }
    world.summary(replication)
}

impl<'m> World<'m> {
    fn new(model: &'m Model, seed: u64, replication: u32, limits: Limits) -> World<'m> {
        let rep = u64::from(replication);
        let clients = model
            .clients
            .iter()
            .map(|c| ClientState {
                rng: stream(seed, rep, &format!("client/{}", c.name)),
                gap: Dist::Exponential { mean: 1e9 / c.rate_per_s },
                mean_gap_ns: 1e9 / c.rate_per_s,
                sent: 0,
                arrivals: 0,
                succeeded: 0,
                rejected: 0,
                latency: LatencyRecorder::new(),
                failure_latency: LatencyRecorder::new(),
                in_flight: TimeAverage::default(),
            })
            .collect();
        let mut instances = Vec::new();
        let services = model
            .services
            .iter()
            .map(|s| {
                let first_instance = instances.len() as u32;
                for _ in 0..s.instances {
                    instances.push(Instance { busy: 0, queue: VecDeque::new() });
                }
                ServiceState {
                    rng: stream(seed, rep, &format!("service/{}", s.name)),
                    balancer_rng: stream(seed, rep, &format!("service/{}/balancer", s.name)),
                    next_instance: 0,
                    first_instance,
                    arrivals: 0,
                    admitted: 0,
                    waited: 0,
                    rejected: 0,
                    completed: 0,
                    arrivals_total: 0,
                    finished_total: 0,
                    busy: TimeAverage::default(),
                    queued: TimeAverage::default(),
                    latency: LatencyRecorder::new(),
                    queue_wait: LatencyRecorder::new(),
                }
            })
            .collect();
        World {
            model,
            limits,
            now: SimTime::ZERO,
            warmup_end: SimTime::ZERO + model.warmup,
            events: EventQueue::new(),
            frames: Slab::new(),
            requests: Slab::new(),
            agenda: Vec::new(),
            clients,
            services,
            instances,
            n_events: 0,
            arrived_total: 0,
            succeeded_total: 0,
            failed_total: 0,
            truncated: None,
        }
    }

    fn start(&mut self) {
        for c in 0..self.clients.len() {
            self.schedule_arrival(c as u32);
        }
        if self.warmup_end > SimTime::ZERO {
            self.events.schedule(self.warmup_end, Event::WarmupEnd);
        }
    }

    fn schedule_arrival(&mut self, c: u32) {
        let client = &mut self.clients[c as usize];
        let at = match self.model.clients[c as usize].arrivals {
            Arrivals::Poisson => self.now + client.gap.sample(&mut client.rng),
            // The k-th arrival at exactly k / rate, so rounding never accumulates.
            Arrivals::Constant => {
                SimTime::ZERO + SimDuration::from_nanos_f64((client.sent + 1) as f64 * client.mean_gap_ns)
            }
        };
        self.events.schedule(at, Event::Arrival(c));
    }

    #[inline]
    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrival(c) => self.on_arrival(c),
            Event::StepDone(f) => self.advance(f),
            Event::WarmupEnd => self.on_warmup_end(),
        }
        while let Some(action) = self.agenda.pop() {
            match action {
                Action::Advance(f) => self.advance(f),
                Action::Finish(f, outcome) => self.finish(f, outcome),
            }
        }
    }

    fn on_warmup_end(&mut self) {
        let now = self.now;
        for c in &mut self.clients {
            c.in_flight.reset(now);
        }
        for s in &mut self.services {
            s.busy.reset(now);
            s.queued.reset(now);
        }
    }

    fn on_arrival(&mut self, c: u32) {
        self.clients[c as usize].sent += 1;
        self.schedule_arrival(c);
        if self.requests.len() as u64 >= self.limits.max_in_flight {
            self.truncated = Some(self.overload_reason());
            return;
        }
        let now = self.now;
        let counted = now >= self.warmup_end;
        let request = self.requests.insert(Request { client: c, arrived: now, counted }) as u32;
        self.arrived_total += 1;
        let client = &mut self.clients[c as usize];
        client.arrivals += u64::from(counted);
        client.in_flight.increment(now);
        let target = self.model.clients[c as usize].target.0;
        self.enter(target, Parent::Request(request));
    }

    /// Why too many requests are in flight: the service with the longest queue.
    fn overload_reason(&self) -> String {
        let worst = self
            .services
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.queued.value())
            .map(|(i, s)| (self.model.services[i].name.as_str(), s.queued.value()));
        let mut why = format!(
            "{} requests were in flight at {}, the limit (raise it with --max-in-flight)",
            self.requests.len(),
            self.now
        );
        if let Some((name, queued)) = worst {
            let load = crate::analysis::offered_load(self.model)
                .into_iter()
                .find(|l| l.service == name)
                .map(|l| l.offered_load)
                .unwrap_or(0.0);
            why.push_str(&format!("; service \"{name}\" had {queued} requests queued"));
            if load >= 1.0 {
                why.push_str(&format!(": its offered load is {:.0}% of capacity", load * 100.0));
            } else {
                why.push_str(": it cannot keep up with its offered load");
            }
        }
        why
    }

    /// A visit arrives at service `s`: it gets a worker, waits in a queue, or is rejected.
    fn enter(&mut self, s: u32, parent: Parent) {
        let now = self.now;
        let counted = now >= self.warmup_end;
        let service_model = &self.model.services[s as usize];
        let service = &mut self.services[s as usize];
        let instance_offset = match (service_model.instances, service_model.balancer) {
            (1, _) => 0,
            (n, Balancer::RoundRobin) => {
                let i = service.next_instance;
                service.next_instance = if i + 1 == n { 0 } else { i + 1 };
                i
            }
            (n, Balancer::Random) => service.balancer_rng.random_range(0..n),
        };
        let instance = service.first_instance + instance_offset;
        service.arrivals_total += 1;
        service.arrivals += u64::from(counted);
        let frame = Frame { service: s, instance, step: 0, parent, arrived: now, holds_worker: false, counted };
        let f = self.frames.insert(frame) as u32;
        let inst = &mut self.instances[instance as usize];
        if inst.busy < service_model.workers {
            inst.busy += 1;
            service.busy.increment(now);
            service.admitted += u64::from(counted);
            if counted {
                service.queue_wait.record(SimDuration::ZERO);
            }
            self.frames[f as usize].holds_worker = true;
            self.agenda.push(Action::Advance(f));
        } else if service_model.queue_capacity.is_none_or(|cap| (inst.queue.len() as u64) < u64::from(cap)) {
            inst.queue.push_back(f);
            service.queued.increment(now);
            service.admitted += u64::from(counted);
        } else {
            service.rejected += u64::from(counted);
            self.agenda.push(Action::Finish(f, Outcome::Rejected));
        }
    }

    /// Runs a frame's next step.
    fn advance(&mut self, f: u32) {
        let frame = &mut self.frames[f as usize];
        let s = frame.service as usize;
        let step = frame.step as usize;
        frame.step += 1;
        match self.model.services[s].steps.get(step) {
            None => self.finish(f, Outcome::Success),
            Some(Step::Work(dist)) => {
                let d = dist.sample(&mut self.services[s].rng);
                self.events.schedule(self.now + d, Event::StepDone(f));
            }
            Some(Step::Call(target)) => self.enter(target.0, Parent::Frame(f)),
        }
    }

    /// A frame is done: free its worker (starting the next queued visit) and answer its parent.
    fn finish(&mut self, f: u32, outcome: Outcome) {
        let now = self.now;
        let frame = self.frames.remove(f as usize);
        let service = &mut self.services[frame.service as usize];
        service.finished_total += 1;
        if frame.holds_worker {
            let inst = &mut self.instances[frame.instance as usize];
            match inst.queue.pop_front() {
                Some(next) => {
                    service.queued.decrement(now);
                    let next_frame = &mut self.frames[next as usize];
                    next_frame.holds_worker = true;
                    if next_frame.counted {
                        service.waited += 1;
                        service.queue_wait.record(now - next_frame.arrived);
                    }
                    self.agenda.push(Action::Advance(next));
                }
                None => {
                    inst.busy -= 1;
                    service.busy.decrement(now);
                }
            }
            if frame.counted {
                service.completed += 1;
                service.latency.record(now - frame.arrived);
            }
        }
        match frame.parent {
            Parent::Frame(p) => match outcome {
                Outcome::Success => self.agenda.push(Action::Advance(p)),
                failure => self.agenda.push(Action::Finish(p, failure)),
            },
            Parent::Request(r) => self.answer(r, outcome),
        }
    }

    /// A client request is answered.
    fn answer(&mut self, r: u32, outcome: Outcome) {
        let now = self.now;
        let request = self.requests.remove(r as usize);
        let client = &mut self.clients[request.client as usize];
        client.in_flight.decrement(now);
        let latency = now - request.arrived;
        match outcome {
            Outcome::Success => {
                self.succeeded_total += 1;
                if request.counted {
                    client.succeeded += 1;
                    client.latency.record(latency);
                }
            }
            Outcome::Rejected => {
                self.failed_total += 1;
                if request.counted {
                    client.rejected += 1;
                    client.failure_latency.record(latency);
                }
            }
        }
    }

    fn summary(&self, replication: u32) -> RunSummary {
        let now = self.now;
        let measured_s = now.saturating_since(self.warmup_end).as_secs_f64();
        let per_s = |n: u64| {
            if measured_s > 0.0 { n as f64 / measured_s } else { 0.0 }
        };
        let clients = self
            .clients
            .iter()
            .zip(&self.model.clients)
            .map(|(c, m)| {
                let failed = c.rejected;
                let answered = c.succeeded + failed;
                let total_ns = c.latency.mean_ns().unwrap_or(0.0) * c.latency.count() as f64
                    + c.failure_latency.mean_ns().unwrap_or(0.0) * c.failure_latency.count() as f64;
                let mean_w_s = if answered > 0 { total_ns * 1e-9 / answered as f64 } else { 0.0 };
                ClientSummary {
                    name: m.name.clone(),
                    target: self.model.services[m.target.0 as usize].name.clone(),
                    arrivals: c.arrivals,
                    succeeded: c.succeeded,
                    failed,
                    failures: Failures { rejected: c.rejected },
                    in_flight_at_end: c.in_flight.value(),
                    throughput_per_s: per_s(answered),
                    goodput_per_s: per_s(c.succeeded),
                    latency: c.latency.summary(),
                    failure_latency: c.failure_latency.summary(),
                    littles_law: LittlesLaw::new(c.in_flight.mean(now), per_s(c.arrivals), mean_w_s),
                }
            })
            .collect();
        let services = self
            .services
            .iter()
            .zip(&self.model.services)
            .map(|(s, m)| {
                let workers = u64::from(m.instances) * u64::from(m.workers);
                let mean_busy = s.busy.mean(now);
                let mean_queue = s.queued.mean(now);
                ServiceSummary {
                    name: m.name.clone(),
                    instances: m.instances,
                    workers: m.workers,
                    arrivals: s.arrivals,
                    rejected: s.rejected,
                    completed: s.completed,
                    utilisation: mean_busy / workers as f64,
                    mean_busy_workers: mean_busy,
                    mean_queue_length: mean_queue,
                    max_queue_length: s.queued.max(),
                    wait_probability: if s.queue_wait.count() > 0 {
                        s.waited as f64 / s.queue_wait.count() as f64
                    } else {
                        0.0
                    },
                    queue_wait: s.queue_wait.summary(),
                    latency: s.latency.summary(),
                    littles_law: LittlesLaw::new(
                        mean_busy + mean_queue,
                        per_s(s.admitted),
                        s.latency.mean_ns().unwrap_or(0.0) * 1e-9,
                    ),
                }
            })
            .collect();
        let in_flight = self.requests.len() as u64;
        // Each service: every visit that arrived has finished or is still queued or working.
        let services_hold =
            self.services.iter().all(|s| s.arrivals_total == s.finished_total + s.busy.value() + s.queued.value());
        let holds = services_hold && self.arrived_total == self.succeeded_total + self.failed_total + in_flight;
        RunSummary {
            replication,
            measured_s,
            events: self.n_events,
            truncated: self.truncated.clone(),
            clients,
            services,
            conservation: Conservation {
                arrived: self.arrived_total,
                succeeded: self.succeeded_total,
                failed: self.failed_total,
                in_flight,
                holds,
            },
        }
    }
}
