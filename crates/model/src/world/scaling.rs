//! Instances coming and going: the autoscaler's looks (the Kubernetes HPA's rule), scaling up
//! and down, scheduled minimums, and the connection pools that open and close with instances.

use super::*;

impl<'m> World<'m> {
    /// The HPA's look: utilisation over the interval in whole percent, the proposal
    /// `ceil(current x utilisation / target)` outside the tolerance, then the stabilisation
    /// windows and the bounds.
    #[cold]
    #[inline(never)]
    pub(super) fn on_autoscale(&mut self, s: u32) {
        let now = self.now;
        let model = &self.model.services[s as usize];
        let Some(policy) = &model.autoscale else { return };
        let service = &mut self.services[s as usize];
        let looked = (
            service.busy.integral_ns(now),
            service.instance_count.integral_ns(now),
            service.queued.integral_ns(now),
            service.awaiting.integral_ns(now),
        );
        let last = std::mem::replace(&mut service.last_look, looked);
        let busy = (looked.0 - last.0) as f64;
        let instance_ns = (looked.1 - last.1) as f64;
        let (queued, awaiting) = ((looked.2 - last.2) as f64, (looked.3 - last.3) as f64);
        let per_instance = |total: f64| if instance_ns > 0.0 { total / instance_ns } else { 0.0 };
        // The metric over its target; whether instances still starting count, at zero.
        let (ratio, dilute) = match policy.metric {
            ScaleOn::Utilisation(target) => {
                let percent = (per_instance(busy) / f64::from(model.workers) * 100.0).round();
                (percent / (target * 100.0), true)
            }
            ScaleOn::QueueDepth(target) => (per_instance(queued) / target, true),
            ScaleOn::InFlight(target) => (per_instance(busy + queued + awaiting) / target, true),
            ScaleOn::P95(target) => {
                let recent = service.scale_latency.as_mut();
                let p95 = recent.as_ref().and_then(|r| r.quantile_ms(0.95));
                if let Some(recent) = recent {
                    recent.clear();
                }
                // Nothing finished: no metric, and Kubernetes changes nothing without one.
                (p95.map_or(1.0, |ms| ms * 1e6 / target.as_nanos() as f64), false)
            }
        };
        let current = service.replicas;
        let (ready, starting) = (service.active, service.replicas.saturating_sub(service.active));
        let tolerated = |r: f64| (r - 1.0).abs() <= policy.tolerance;
        // Kubernetes' replica calculator: over the ready instances, and when some are still
        // starting, a scale-up counts them at 0% and gives up if that cancels it (for a
        // per-instance metric; a service-wide one, as latency, scales the ready ones only).
        let proposal = if tolerated(ratio) {
            f64::from(current)
        } else if starting == 0 || ratio < 1.0 || !dilute {
            (f64::from(ready) * ratio).ceil()
        } else {
            let all = f64::from(ready + starting);
            let diluted = ratio * f64::from(ready) / all;
            if tolerated(diluted) || diluted < 1.0 { f64::from(current) } else { (diluted * all).ceil() }
        };
        let proposal = proposal.clamp(0.0, f64::from(policy.max)) as u32;
        service.recommendations.push_back((now, proposal));
        let horizon = policy.up_window.max(policy.down_window);
        while service.recommendations.front().is_some_and(|&(t, _)| now.saturating_since(t) > horizon) {
            service.recommendations.pop_front();
        }
        let within = |window: SimDuration| {
            service.recommendations.iter().filter(move |&&(t, _)| now.saturating_since(t) <= window).map(|&(_, n)| n)
        };
        let desired = if proposal > current {
            within(policy.up_window).min().unwrap_or(proposal).max(current)
        } else if proposal < current {
            within(policy.down_window).max().unwrap_or(proposal).min(current)
        } else {
            current
        };
        let desired = desired.clamp(service.min_replicas, policy.max);
        self.scale_to(s, desired);
        let next = now.saturating_add(policy.interval);
        if next < SimTime::ZERO + self.model.duration {
            self.events.schedule(next, Event::Autoscale(s));
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
        let current = service.replicas;
        service.replicas = desired;
        if desired > current {
            for _ in current..desired {
                self.events.schedule(now + startup, Event::InstanceReady(s));
            }
        } else {
            let starting = current - service.active;
            let stop = (current - desired).saturating_sub(starting);
            for _ in 0..stop {
                service.active -= 1;
                let since = service.active_since.pop().unwrap_or(now);
                service.instance_count.leave(since, now, from);
            }
            let service = &self.services[s as usize];
            if self.pools.per_instance(s) {
                // The stopped instances close their pools once they have finished their visits.
                let (first, active) = (service.first_instance, service.active);
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
        if service.active < service.replicas && service.active < slots {
            let slot = service.active;
            service.active += 1;
            service.active_since.push(now);
            service.instance_count.enter(now, now >= self.warmup_end);
            let (pooled, first) = (self.pools.per_instance(s), service.first_instance);
            if pooled && !self.crashed_now(s, slot) {
                self.instances[(first + slot) as usize].draining = false;
                self.start_pools(s, slot);
            }
            // A new instance starts with its in-process caches empty.
            for (cache, model) in self.caches.iter_mut().zip(&self.model.caches) {
                if model.per_instance == Some(crate::ServiceId(s)) {
                    cache.clear_store(slot);
                }
            }
        }
    }

    /// Scheduled scaling: a new minimum, and a scale-up to it if below.
    #[cold]
    #[inline(never)]
    pub(super) fn on_scheduled_min(&mut self, s: u32, index: u32) {
        let Some(policy) = &self.model.services[s as usize].autoscale else { return };
        let Some(&(_, min)) = policy.schedule.get(index as usize) else { return };
        let service = &mut self.services[s as usize];
        service.min_replicas = min;
        if service.replicas < min {
            self.scale_to(s, min);
        }
    }
}
