//! Instances coming and going: the autoscaler (the Kubernetes HPA's rule), which owns its
//! state ([`Autoscaler`], one per service that has one), scaling up and down, and scheduled
//! minimums.

use super::*;
use tailsim_model::compile::AutoscalePolicy;

/// The autoscaler's moments, each naming the service.
#[derive(Clone, Copy, Debug)]
pub(super) enum ScaleEvent {
    /// Its autoscaler looks at its metric.
    Look(u32),
    /// A new instance has started and takes traffic.
    InstanceReady(u32),
    /// Its next scheduled minimum comes into force (they come in the schedule's order, which
    /// is time order).
    ScheduledMin(u32),
}

/// A service's autoscaler as it runs: its minimum now (scheduled scaling moves it), its recent
/// recommendations, the integrals at its last look and, on p95 latency, the visits finished
/// since.
pub(super) struct Autoscaler {
    min: u32,
    /// The scheduled minimum that comes next.
    next_min: usize,
    recommendations: VecDeque<(SimTime, u32)>,
    last: Look,
    latency: Option<WindowRecorder>,
}

/// What an autoscaler looks at: the integrals over time of a service's busy workers, active
/// instances, queued visits and visits awaiting their calls, in nanoseconds.
#[derive(Clone, Copy, Default)]
struct Look {
    busy: i128,
    instances: i128,
    queued: i128,
    awaiting: i128,
    /// A consumer group's lag now, and its consumers taking messages.
    lag: (u64, u32),
}

impl Autoscaler {
    /// Service `s`'s autoscaler as a run starts, if it has one.
    pub(super) fn new(s: &tailsim_model::compile::ServiceModel) -> Option<Autoscaler> {
        let policy = s.autoscale.as_ref()?;
        Some(Autoscaler {
            min: policy.min,
            next_min: 0,
            recommendations: VecDeque::new(),
            last: Look::default(),
            latency: matches!(policy.metric, ScaleOn::P95(_)).then(WindowRecorder::new),
        })
    }

    /// A visit finished at the service after `latency`.
    #[inline(always)]
    pub(super) fn record(&mut self, latency: SimDuration) {
        if let Some(recent) = &mut self.latency {
            recent.record(latency);
        }
    }

    /// The metric over its target since the last look, and whether instances still starting
    /// count, at zero (they do for a per-instance metric).
    fn ratio(&mut self, policy: &AutoscalePolicy, workers: u32, looked: Look) -> (f64, bool) {
        let last = std::mem::replace(&mut self.last, looked);
        let busy = (looked.busy - last.busy) as f64;
        let instance_ns = (looked.instances - last.instances) as f64;
        let (queued, awaiting) = ((looked.queued - last.queued) as f64, (looked.awaiting - last.awaiting) as f64);
        let per_instance = |total: f64| if instance_ns > 0.0 { total / instance_ns } else { 0.0 };
        match policy.metric {
            ScaleOn::Utilisation(target) => {
                let percent = (per_instance(busy) / f64::from(workers) * 100.0).round();
                (percent / (target * 100.0), true)
            }
            ScaleOn::QueueDepth(target) => (per_instance(queued) / target, true),
            ScaleOn::InFlight(target) => (per_instance(busy + queued + awaiting) / target, true),
            ScaleOn::P95(target) => {
                let p95 = self.latency.as_ref().and_then(|r| r.quantile_ms(0.95));
                if let Some(recent) = &mut self.latency {
                    recent.clear();
                }
                // Nothing finished: no metric, and Kubernetes changes nothing without one.
                (p95.map_or(1.0, |ms| ms * 1e6 / target.as_nanos() as f64), false)
            }
            // KEDA's Kafka scaler through the HPA's AverageValue: ceil(lag / target) wanted, as
            // `proposal` makes ceil(ready x ratio) of it.
            ScaleOn::Lag(target) => {
                let (lag, ready) = looked.lag;
                (lag as f64 / f64::from(ready.max(1)) / target, false)
            }
        }
    }

    /// The instances wanted after a look at `now`: the proposal, then the stabilisation
    /// windows (the lowest recent proposal for a scale-up, the highest for a scale-down) and
    /// the bounds.
    fn desired(&mut self, policy: &AutoscalePolicy, now: SimTime, proposal: u32, current: u32) -> u32 {
        self.recommendations.push_back((now, proposal));
        let horizon = policy.up_window.max(policy.down_window);
        while self.recommendations.front().is_some_and(|&(t, _)| now.saturating_since(t) > horizon) {
            self.recommendations.pop_front();
        }
        let recommendations = &self.recommendations;
        let within = |window: SimDuration| {
            recommendations.iter().filter(move |&&(t, _)| now.saturating_since(t) <= window).map(|&(_, n)| n)
        };
        let desired = if proposal > current {
            within(policy.up_window).min().unwrap_or(proposal).max(current)
        } else if proposal < current {
            within(policy.down_window).max().unwrap_or(proposal).min(current)
        } else {
            current
        };
        desired.clamp(self.min, policy.max)
    }
}

/// Kubernetes' replica calculator: `ceil(ready x ratio)` outside the tolerance, over the ready
/// instances; when some are still starting, a scale-up counts them at 0% and gives up if that
/// cancels it (for a per-instance metric, `dilute`; a service-wide one, as latency, scales
/// the ready ones only).
fn proposal(policy: &AutoscalePolicy, ratio: f64, dilute: bool, current: u32, ready: u32) -> u32 {
    let starting = current.saturating_sub(ready);
    let tolerated = |r: f64| (r - 1.0).abs() <= policy.tolerance;
    let proposal = if tolerated(ratio) {
        f64::from(current)
    } else if starting == 0 || ratio < 1.0 || !dilute {
        (f64::from(ready) * ratio).ceil()
    } else {
        let all = f64::from(ready + starting);
        let diluted = ratio * f64::from(ready) / all;
        if tolerated(diluted) || diluted < 1.0 { f64::from(current) } else { (diluted * all).ceil() }
    };
    proposal.clamp(0.0, f64::from(policy.max)) as u32
}

impl<'m> World<'m> {
    /// An autoscaler's moment comes.
    pub(super) fn on_scale_event(&mut self, event: ScaleEvent) {
        match event {
            ScaleEvent::Look(s) => self.on_autoscale(s),
            ScaleEvent::InstanceReady(s) => self.on_instance_ready(s),
            ScaleEvent::ScheduledMin(s) => self.on_scheduled_min(s),
        }
    }

    /// Service `s`'s autoscaler, if it has one: its first look, and its scheduled minimums.
    pub(super) fn start_autoscaler(&mut self, s: u32) {
        let Some(policy) = &self.model.services[s as usize].autoscale else { return };
        self.events.schedule(SimTime::ZERO + policy.interval, Event::Scale(ScaleEvent::Look(s)));
        for &(at, _) in &policy.schedule {
            self.events.schedule(at, Event::Scale(ScaleEvent::ScheduledMin(s)));
        }
    }

    /// The HPA's look: utilisation over the interval in whole percent, the proposal
    /// `ceil(current x utilisation / target)` outside the tolerance, then the stabilisation
    /// windows and the bounds.
    #[cold]
    #[inline(never)]
    pub(super) fn on_autoscale(&mut self, s: u32) {
        let now = self.now;
        let model = &self.model.services[s as usize];
        let (Some(policy), Some(scaler)) = (&model.autoscale, &mut self.autoscalers[s as usize]) else { return };
        let service = &self.services[s as usize];
        let looked = Look {
            busy: service.stats.busy.integral_ns(now),
            instances: service.fleet.instance_ns(now),
            queued: service.stats.queued.integral_ns(now),
            awaiting: service.stats.awaiting.integral_ns(now),
            lag: (self.broker.as_ref().map_or(0, |b| b.lag(s)), service.fleet.active()),
        };
        let (ratio, dilute) = scaler.ratio(policy, model.workers, looked);
        let current = service.fleet.wanted();
        let mut proposal = proposal(policy, ratio, dilute, current, service.fleet.active());
        if let (ScaleOn::Lag(_), Some(consumes)) = (policy.metric, model.consumes)
            && consumes.delivery == tailsim_model::kinds::Delivery::Log
        {
            // Never past the partitions, where a consumer would sit idle (KEDA's default).
            proposal = proposal.min(self.model.topics[consumes.topic as usize].partitions.max(policy.min));
        }
        let desired = scaler.desired(policy, now, proposal, current);
        self.scale_to(s, desired);
        let next = now.saturating_add(policy.interval);
        if next < SimTime::ZERO + self.model.duration {
            self.events.schedule(next, Event::Scale(ScaleEvent::Look(s)));
        }
    }

    /// Asks for `desired` instances of service `s`: new ones start (taking traffic after the
    /// startup delay); surplus ones stop taking traffic at once and finish what they hold,
    /// the ones still starting first.
    pub(super) fn scale_to(&mut self, s: u32, desired: u32) {
        let now = self.now;
        let from = self.warmup_end;
        let startup = self.model.services[s as usize].autoscale.as_ref().map_or(SimDuration::ZERO, |a| a.startup);
        let service = &mut self.services[s as usize];
        let current = service.fleet.ask(desired);
        if desired > current {
            for _ in current..desired {
                self.events.schedule(now + startup, Event::Scale(ScaleEvent::InstanceReady(s)));
            }
        } else {
            let starting = current - service.fleet.active();
            let stop = (current - desired).saturating_sub(starting);
            for _ in 0..stop {
                service.fleet.stop_newest(now, from);
            }
            let active = service.fleet.active();
            self.close_open_batches(s, active..active + stop);
            if stop > 0 {
                self.rebalance(s); // a consumer group loses members
            }
            let service = &self.services[s as usize];
            if self.pools.per_instance(s) {
                // The stopped instances close their pools once they have finished their visits.
                let (first, active) = (service.fleet.first(), service.fleet.active());
                for slot in active..active + stop {
                    let inst = &mut self.instances[(first + slot) as usize];
                    if inst.outstanding == 0 {
                        self.stop_pools(s, slot);
                    } else {
                        inst.draining = true;
                    }
                }
            }
        }
    }

    /// A started instance takes traffic, if it is still wanted.
    #[cold]
    #[inline(never)]
    pub(super) fn on_instance_ready(&mut self, s: u32) {
        let now = self.now;
        let service = &mut self.services[s as usize];
        let slots = self.model.services[s as usize].max_instances();
        let started = service.fleet.start_next(now, slots, now >= self.warmup_end);
        if let Some(slot) = started {
            let (pooled, first) = (self.pools.per_instance(s), service.fleet.first());
            if pooled && !self.crashed_now(s, slot) {
                self.instances[(first + slot) as usize].draining = false;
                self.start_pools(s, slot);
            }
            // A new instance starts with its in-process caches empty.
            for (cache, model) in self.caches.iter_mut().zip(&self.model.caches) {
                if model.per_instance == Some(tailsim_model::ServiceId(s)) {
                    cache.clear_store(slot);
                }
            }
            self.rebalance(s); // a consumer group gains a member
        }
        self.wake_consumers(s);
    }

    /// Scheduled scaling: a new minimum, and a scale-up to it if below.
    #[cold]
    #[inline(never)]
    pub(super) fn on_scheduled_min(&mut self, s: u32) {
        let Some(policy) = &self.model.services[s as usize].autoscale else { return };
        let Some(scaler) = &mut self.autoscalers[s as usize] else { return };
        let Some(&(_, min)) = policy.schedule.get(scaler.next_min) else { return };
        scaler.next_min += 1;
        scaler.min = min;
        if self.services[s as usize].fleet.wanted() < min {
            self.scale_to(s, min);
        }
    }
}
