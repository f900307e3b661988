//! CPU quotas as the world plays them (CFS bandwidth control): each instance's account (see
//! [`crate::cpu`]), the `Work` steps counted against it, the periods that refill it, and each
//! limited service's throttled instances over time. The subsystem owns its state
//! ([`Quotas`], present only in runs with a quota).

use super::*;
use faults::FaultEvent;

/// The CPU quotas' state, in a run with at least one.
pub(super) struct Quotas {
    /// Each instance's CPU account.
    accounts: Vec<Account>,
    /// For each visit in a `Work` step under a quota, the account's clock reading at which
    /// the step is done (`OFF_CPU`: none; grown as visits are).
    targets: Vec<u64>,
    /// Each service's throttling, if it has a quota.
    services: Vec<Option<Throttled>>,
}

/// A limited service's throttling: instances throttled now and over time, its integral when
/// the open window began, and for each fault (CPU quotas only) the periods of taking
/// instances ended after the warm-up, those of them throttled, and the time throttled in them.
struct Throttled {
    now: Occupancy,
    start: i128,
    faults: Vec<Throttling>,
}

/// `Quotas::targets` of a visit whose step is not counted against a CPU quota.
const OFF_CPU: u64 = u64::MAX;

impl Quotas {
    /// The quotas as a run starts, over `instances` instance slots, if any service has one.
    pub(super) fn new(model: &Model, instances: usize) -> Option<Quotas> {
        let limited = |s: &tailsim_model::compile::ServiceModel| {
            s.faults.iter().any(|f| matches!(f.kind, FaultKind::CpuQuota { .. }))
        };
        model.services.iter().any(limited).then(|| Quotas {
            accounts: vec![Account::default(); instances],
            targets: Vec::new(),
            services: model
                .services
                .iter()
                .map(|s| {
                    limited(s).then(|| Throttled {
                        now: Occupancy::default(),
                        start: 0,
                        faults: vec![Throttling::default(); s.faults.len()],
                    })
                })
                .collect(),
        })
    }

    /// Schedules when `instance`'s quota runs out, if earlier than the event armed.
    fn arm(&mut self, events: &mut EventQueue<Event>, instance: u32) {
        if let Some((at, token)) = self.accounts[instance as usize].arm() {
            events.schedule(at, Event::Fault(FaultEvent::CpuSpent { instance, token }));
        }
    }

    /// Service `s`'s throttled share of its instances' time in the window that closes at
    /// `end`, over `instance_ns` of them, if it has a quota.
    pub(super) fn close_window(&mut self, s: usize, end: SimTime, instance_ns: f64) -> Option<f64> {
        let throttled = self.services[s].as_mut()?;
        let integral = throttled.now.integral_ns(end);
        let share = if instance_ns > 0.0 { (integral - throttled.start) as f64 / instance_ns } else { 0.0 };
        throttled.start = integral;
        Some(share.min(1.0))
    }

    /// Service `s`'s fault `fault`'s throttling (zero for a fault that is not a quota).
    pub(super) fn throttling(quotas: Option<&Quotas>, s: usize, fault: usize) -> Throttling {
        quotas.and_then(|q| q.services[s].as_ref()).and_then(|t| t.faults.get(fault).cloned()).unwrap_or_default()
    }
}

impl<'m> World<'m> {
    /// CPU quotas come into force before the first arrivals at their instant: work already
    /// running when a quota begins does not count against it.
    pub(super) fn start_quotas(&mut self) {
        let end = SimTime::ZERO + self.model.duration;
        for (s, model) in self.model.services.iter().enumerate() {
            for (k, fault) in model.faults.iter().enumerate() {
                if matches!(fault.kind, FaultKind::CpuQuota { .. }) && fault.start < end {
                    let (service, index) = (s as u32, k as u32);
                    self.events.schedule(fault.start, Event::Fault(FaultEvent::CpuPeriod { service, fault: index }));
                }
            }
        }
    }

    /// Visit `f` starts a `Work` step needing `work` of CPU: if its instance is under a CPU
    /// quota, the step counts against it. Returns when the step starts making progress.
    #[cold]
    #[inline(never)]
    pub(super) fn cpu_start(&mut self, f: VisitId, work: SimDuration) -> SimTime {
        let Some(quotas) = &mut self.quotas else { return self.now };
        let instance = self.visits[f.index()].instance;
        let account = &mut quotas.accounts[instance as usize];
        if !account.in_force() {
            return self.now;
        }
        let (target, resume) = account.start(self.now, work);
        if quotas.targets.len() <= f.index() {
            quotas.targets.resize(f.index() + 1, OFF_CPU);
        }
        quotas.targets[f.index()] = target;
        quotas.arm(&mut self.events, instance);
        resume
    }

    /// Visit `f`'s step ends at its scheduled time (`event`): whether it is done, or, if a
    /// CPU throttle held it back, `event` is scheduled again for when the rest will be done.
    #[cold]
    #[inline(never)]
    pub(super) fn cpu_done(&mut self, f: VisitId, event: Event) -> bool {
        let Some(quotas) = &mut self.quotas else { return true };
        let target = quotas.targets.get(f.index()).copied().unwrap_or(OFF_CPU);
        if target == OFF_CPU {
            return true;
        }
        let visit = &self.visits[f.index()];
        let (s, instance) = (visit.service as usize, visit.instance);
        if let Some((resume, rest)) = quotas.accounts[instance as usize].left(self.now, target) {
            let local = self.services[s].fleet.local(instance);
            let end = frozen_end(&self.timelines[s].freezes, local, resume, rest);
            self.events.schedule(end, event);
            return false;
        }
        self.cpu_stop(f);
        true
    }

    /// Visit `f`'s step, if it counts against a CPU quota, stops burning CPU.
    pub(super) fn cpu_stop(&mut self, f: VisitId) {
        let Some(quotas) = &mut self.quotas else { return };
        let Some(target) = quotas.targets.get_mut(f.index()) else { return };
        if std::mem::replace(target, OFF_CPU) == OFF_CPU {
            return;
        }
        let instance = self.visits[f.index()].instance;
        quotas.accounts[instance as usize].stop(self.now);
        quotas.arm(&mut self.events, instance);
    }

    /// The quota-spent event `token` of `instance` comes: it may throttle the instance.
    #[cold]
    #[inline(never)]
    pub(super) fn on_cpu_spent(&mut self, instance: u32, token: u32) {
        let Some(quotas) = &mut self.quotas else { return };
        if quotas.accounts[instance as usize].spent(self.now, token) {
            let s = self.services.partition_point(|s| s.fleet.first() <= instance) - 1;
            if let Some(throttled) = &mut quotas.services[s] {
                throttled.now.enter(self.now, self.now >= self.warmup_end);
            }
        }
        quotas.arm(&mut self.events, instance);
    }

    /// A period of CPU quota `fault` of service `s` ends (or the first begins): the quota is
    /// refilled on each of its instances, throttled ones run again, and after the fault's end
    /// it is lifted.
    #[cold]
    #[inline(never)]
    pub(super) fn on_cpu_period(&mut self, s: u32, fault: u32) {
        let now = self.now;
        let window = self.model.services[s as usize].faults[fault as usize];
        let FaultKind::CpuQuota { quota, period } = window.kind else { return };
        let Some(quotas) = &mut self.quotas else { return };
        let service = &self.services[s as usize];
        let (first, active) = (service.fleet.first(), service.fleet.active());
        let slots = match window.instance {
            Some(k) => k..k + 1,
            None => 0..self.model.services[s as usize].max_instances(),
        };
        let last = now >= window.end;
        let counted = now > self.warmup_end;
        for slot in slots {
            let instance = first + slot;
            let account = &mut quotas.accounts[instance as usize];
            if now == window.start {
                account.begin(now, quota, period);
            } else {
                let ended = account.roll(now);
                if let Some(throttled) = &mut quotas.services[s as usize] {
                    if ended.throttled {
                        let since = SimTime(now.as_nanos() - ended.throttled_ns);
                        throttled.now.leave(since, now, self.warmup_end);
                    }
                    if counted && slot < active {
                        let tally = &mut throttled.faults[fault as usize];
                        tally.periods += 1;
                        tally.throttled_periods += u64::from(ended.throttled);
                        tally.throttled_s += ended.throttled_ns as f64 / 1e9;
                    }
                }
                if last {
                    account.end(now);
                }
            }
            quotas.arm(&mut self.events, instance);
        }
        if !last {
            self.events.schedule(now + period, Event::Fault(FaultEvent::CpuPeriod { service: s, fault }));
        }
    }
}
