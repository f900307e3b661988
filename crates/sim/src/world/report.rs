//! What a run reports: the time-series windows as they close, the fault summaries (recovery of
//! goodput and p99), and the run's summary.

use super::*;

impl<'m> World<'m> {
    /// A window's end: close it (unless an event at the same instant already did) and
    /// schedule the next end inside the run.
    #[cold]
    #[inline(never)]
    pub(super) fn on_window_end(&mut self) {
        self.roll_windows();
        let next = self.now.saturating_add(SimDuration(self.window_ns));
        if next < SimTime::ZERO + self.model.duration {
            self.events.schedule(next, Event::WindowEnd);
        }
    }

    /// At the end of the run: closes the last window, cut short at `now`, or drops it if it
    /// has not begun.
    pub(super) fn finish_windows(&mut self) {
        let start = SimTime(self.window_index as u64 * self.window_ns);
        if self.now > start {
            self.close_window(self.now, false);
        } else {
            for cache in &mut self.caches {
                cache.drop_open_window();
            }
            for client in &mut self.clients {
                for counts in client.series.counts_mut() {
                    counts.pop();
                }
            }
        }
    }

    /// Closes every window that ended by `now`.
    #[cold]
    #[inline(never)]
    pub(super) fn roll_windows(&mut self) {
        while self.now >= self.window_end && self.window_end < SimTime(u64::MAX) {
            let end = self.window_end;
            self.close_window(end, true);
            self.window_index += 1;
            self.window_end = end.saturating_add(SimDuration(self.window_ns));
        }
    }

    /// Closes the open window at `end` (exclusive): the percentiles of its latencies, and each
    /// service's arrivals, utilisation and queue over it. `open_next` starts the next window.
    pub(super) fn close_window(&mut self, end: SimTime, open_next: bool) {
        let start = SimTime(self.window_index as u64 * self.window_ns);
        let width = end.saturating_since(start).as_nanos().max(1) as f64;
        for client in &mut self.clients {
            let (p50, p99) = client.window_latency.take_p50_p99_ms();
            client.series.p50_ms.push(p50);
            client.series.p99_ms.push(p99);
            if open_next {
                for counts in client.series.counts_mut() {
                    counts.push(0);
                }
            }
        }
        if open_next {
            for cache in &mut self.caches {
                cache.open_window();
            }
        }
        if let Some(recovery) = &mut self.recovery {
            recovery.close(self.window_index);
        }
        if let Some(broker) = &mut self.broker {
            broker.close_window(start, end);
        }
        for breaker in self.edges.iter_mut().filter_map(|e| e.breaker.as_mut()) {
            breaker.close_window(start, end);
        }
        for (s, (service, model)) in self.services.iter_mut().zip(&self.model.services).enumerate() {
            let (arrivals, busy, queued, instances) = service.stats.window_start;
            let now = (
                service.stats.arrivals_total,
                service.stats.busy.integral_ns(end),
                service.stats.queued.integral_ns(end),
                service.fleet.instance_ns(end),
            );
            let worker_ns = (now.3 - instances) as f64 * f64::from(model.workers);
            let series = &mut service.stats.series;
            series.arrivals.push(now.0 - arrivals);
            series.utilisation.push(if worker_ns > 0.0 { (now.1 - busy) as f64 / worker_ns } else { 0.0 });
            series.mean_queue_length.push((now.2 - queued) as f64 / width);
            series.instances.push(service.fleet.active());
            service.stats.window_start = now;
            if let Some(replicas) = &mut self.replicated[s] {
                service.stats.series.stale_reads.push(replicas.close_window());
            }
            if let Some(share) = self.quotas.as_mut().and_then(|q| q.close_window(s, end, (now.3 - instances) as f64)) {
                service.stats.series.throttled.push(share);
            }
        }
    }

    /// Each fault with the goodput before it and when (if ever) goodput came back.
    pub(super) fn fault_summaries(&self) -> Vec<FaultSummary> {
        let window_ns = self.window_ns;
        let window_s = window_ns as f64 / 1e9;
        // Complete windows only: the last one may be cut short by the end of the run.
        let complete = (self.now.as_nanos() / window_ns) as usize;
        let goodput: Vec<f64> = (0..complete)
            .map(|w| {
                let sum: u64 = self.clients.iter().map(|c| c.series.succeeded.get(w).copied().unwrap_or(0)).sum();
                sum as f64 / window_s
            })
            .collect();
        let first_measured = self.warmup_end.as_nanos().div_ceil(window_ns) as usize;
        let run = recovery::RUN;
        let tail = &goodput[complete.saturating_sub(run).max(first_measured).min(complete)..];
        let goodput_at_end = if tail.is_empty() { 0.0 } else { tail.iter().sum::<f64>() / tail.len() as f64 };
        // The pooled p99 of the `run` windows ending at window `w`.
        let p99_of_run = |w: usize| self.recovery.as_ref().and_then(|r| r.p99_of_run.get(w).copied().flatten());
        let p99_at_end = complete.checked_sub(1).filter(|&w| w + 1 >= first_measured + run).and_then(p99_of_run);
        let mut out = Vec::new();
        let measured_from = first_measured.min(complete);
        for (s, (service, model)) in self.services.iter().zip(&self.model.services).enumerate() {
            for (k, (fault, &lost)) in model.faults.iter().zip(&service.stats.fault_lost).enumerate() {
                let before_end = (fault.start.as_nanos() / window_ns) as usize;
                let before = &goodput[measured_from..before_end.clamp(measured_from, complete)];
                let goodput_before = (!before.is_empty()).then(|| before.iter().sum::<f64>() / before.len() as f64);
                let p99_before = if before.is_empty() {
                    None
                } else {
                    self.recovery.as_ref().and_then(|r| r.before(before_end - 1))
                };
                let after = fault.end.as_nanos().div_ceil(window_ns) as usize;
                // Back means five whole windows in a row with goodput at 90% of the level before
                // each, and their p99 together within 10% of the p99 before; a goodput level of
                // zero says nothing about recovery.
                let recovered_after_s = goodput_before.filter(|&level| level > 0.0).and_then(|level| {
                    (after..complete.saturating_sub(run - 1))
                        .find(|&w| {
                            goodput[w..w + run].iter().all(|&g| g >= 0.9 * level)
                                && p99_before
                                    .is_none_or(|p99| p99_of_run(w + run - 1).is_some_and(|now| now <= 1.1 * p99))
                        })
                        .map(|w| (w as u64 * window_ns).saturating_sub(fault.end.as_nanos()) as f64 / 1e9)
                });
                out.push(FaultSummary {
                    service: model.name.clone(),
                    kind: match fault.kind {
                        FaultKind::Slowdown(f) => format!("slowdown x{f}"),
                        FaultKind::Errors(p) => format!("errors {}%", p * 100.0),
                        FaultKind::Outage => "outage".to_string(),
                        FaultKind::Failover => "failover".to_string(),
                        FaultKind::Crash { .. } => "crash".to_string(),
                        FaultKind::Freeze { every, pause } => format!("frozen {pause} every {every}"),
                        FaultKind::CpuQuota { quota, period } => {
                            format!("cpu quota {quota} per {period}")
                        }
                    },
                    start_s: fault.start.as_secs_f64(),
                    end_s: fault.end.as_secs_f64(),
                    periodic: matches!(fault.kind, FaultKind::Freeze { .. } | FaultKind::CpuQuota { .. }),
                    instance: fault.instance,
                    goodput_before_per_s: goodput_before,
                    goodput_at_end_per_s: goodput_at_end,
                    p99_before_ms: p99_before,
                    p99_at_end_ms: p99_at_end,
                    recovered_after_s,
                    lost,
                    throttling: matches!(fault.kind, FaultKind::CpuQuota { .. })
                        .then(|| quotas::Quotas::throttling(self.quotas.as_ref(), s, k)),
                });
            }
        }
        out
    }

    pub(super) fn summary(&self, replication: u32) -> RunSummary {
        let measured_s = self.now.saturating_since(self.warmup_end).as_secs_f64();
        let mut run = RunSummary {
            replication,
            measured_s,
            events: self.n_events,
            truncated: self.truncated.clone(),
            clients: self.client_summaries(measured_s),
            services: self.service_summaries(measured_s),
            edges: self.edge_summaries(),
            faults: self.fault_summaries(),
            caches: self.caches.iter().zip(&self.model.caches).map(|(c, m)| c.summary(m)).collect(),
            topics: self.topic_summaries(),
            batches: self.batch_summaries(),
            conservation: self.conservation(),
            cost: None,
        };
        run.cost = tailsim_stats::cost::summarize(&self.model.prices, &run);
        run
    }

    /// Each client's results over the `measured_s` after the warm-up.
    fn client_summaries(&self, measured_s: f64) -> Vec<ClientSummary> {
        let (now, from) = (self.now, self.warmup_end);
        let per_s = |n: u64| per_second(n, measured_s);
        // The stays after the warm-up of the requests still in flight at the end.
        let mut open_in_flight = vec![0u128; self.clients.len()];
        for (_, request) in &self.requests {
            open_in_flight[request.client as usize] += Occupancy::stay(request.arrived, now, from);
        }
        self.clients
            .iter()
            .zip(&self.model.clients)
            .zip(&open_in_flight)
            .map(|((c, m), &open)| {
                let failed = c.failures.total();
                let answered = c.succeeded + failed;
                let total_ns = c.latency.mean_ns().unwrap_or(0.0) * c.latency.count() as f64
                    + c.failure_latency.mean_ns().unwrap_or(0.0) * c.failure_latency.count() as f64;
                let mean_w_s = if answered > 0 { total_ns * 1e-9 / answered as f64 } else { 0.0 };
                let edge = &self.edges[m.edge as usize].counts;
                ClientSummary {
                    name: m.name.clone(),
                    target: self.model.services[m.target.0 as usize].name.clone(),
                    arrivals: c.arrivals,
                    succeeded: c.succeeded,
                    failed,
                    failures: c.failures.clone(),
                    attempts_per_request: ratio(edge.completed_attempts, edge.succeeded + edge.failed),
                    in_flight_at_end: c.in_flight.inside(),
                    throughput_per_s: per_s(answered),
                    goodput_per_s: per_s(c.succeeded),
                    latency: c.latency.summary(),
                    failure_latency: c.failure_latency.summary(),
                    littles_law: LittlesLaw::new(c.in_flight.mean(open, from, now), per_s(c.arrivals), mean_w_s),
                    per_window: c.series.clone(),
                    classes: c
                        .classes
                        .iter()
                        .zip(&m.classes)
                        .map(|(stats, &(class, _))| {
                            let class = &self.model.classes[usize::from(class)];
                            ClassSummary {
                                name: class.name.clone(),
                                priority: class.priority,
                                arrivals: stats.arrivals,
                                succeeded: stats.succeeded,
                                failed: stats.failed,
                                latency: stats.latency.summary(),
                                failure_latency: stats.failure_latency.summary(),
                                latency_histogram: stats.latency.distribution(),
                                failure_latency_histogram: stats.failure_latency.distribution(),
                            }
                        })
                        .collect(),
                    latency_histogram: c.latency.distribution(),
                    failure_latency_histogram: c.failure_latency.distribution(),
                }
            })
            .collect()
    }

    /// The stays after the warm-up of the visits still inside each service at the end: busy
    /// (holding a worker), queued, and waiting for their calls without a worker.
    fn open_stays(&self) -> [Vec<u128>; 3] {
        let (now, from) = (self.now, self.warmup_end);
        let mut open =
            [vec![0u128; self.services.len()], vec![0u128; self.services.len()], vec![0u128; self.services.len()]];
        for (_, visit) in &self.visits {
            let stay = |since| Occupancy::stay(since, now, from);
            let s = visit.service as usize;
            match visit.state {
                VisitState::Running => open[0][s] += stay(visit.worker_since),
                VisitState::Queued | VisitState::Requeued if !visit.cancelled => open[1][s] += stay(visit.queued_since),
                VisitState::Awaiting => open[2][s] += stay(visit.queued_since),
                VisitState::Queued | VisitState::Requeued | VisitState::Unplaced | VisitState::Lost => {}
            }
        }
        open
    }

    /// Each service's results over the `measured_s` after the warm-up.
    fn service_summaries(&self, measured_s: f64) -> Vec<ServiceSummary> {
        let (now, from) = (self.now, self.warmup_end);
        let per_s = |n: u64| per_second(n, measured_s);
        let [open_busy, open_queued, open_awaiting] = self.open_stays();
        self.services
            .iter()
            .zip(&self.model.services)
            .enumerate()
            .map(|(i, (s, m))| {
                let mean_instances = s.fleet.mean(from, now);
                let workers = mean_instances * f64::from(m.workers);
                let st = &s.stats;
                let mean_busy = st.busy.mean(open_busy[i], from, now);
                let mean_queue = st.queued.mean(open_queued[i], from, now);
                let mean_awaiting = st.awaiting.mean(open_awaiting[i], from, now);
                let (connections_peak, connections_refused) = self.pools.connections(i);
                ServiceSummary {
                    name: m.name.clone(),
                    instances: m.instances,
                    workers: m.workers,
                    arrivals: st.arrivals,
                    rejected: st.rejected,
                    completed: st.completed,
                    dropped: st.dropped,
                    shed: st.shed,
                    lost: st.lost,
                    max_connections: m.max_connections,
                    connections_peak,
                    connections_refused,
                    wasted_work_s: st.wasted_ns as f64 * 1e-9,
                    utilisation: if workers > 0.0 { mean_busy / workers } else { 0.0 },
                    mean_instances,
                    instance_seconds: mean_instances * measured_s,
                    mean_busy_workers: mean_busy,
                    mean_queue_length: mean_queue,
                    max_queue_length: st.queued.max(),
                    wait_probability: ratio(st.waited, st.queue_wait.count()),
                    queue_wait: st.queue_wait.summary(),
                    latency: st.latency.summary(),
                    littles_law: LittlesLaw::new(
                        mean_busy + mean_queue + mean_awaiting,
                        per_s(st.admitted),
                        st.mean_stay_s(),
                    ),
                    per_window: st.series.clone(),
                    instance_arrivals: (0..m.max_instances())
                        .map(|i| self.instances[s.fleet.global(i) as usize].arrivals)
                        .collect(),
                    instance_utilisation: (0..m.max_instances())
                        .map(|i| {
                            let inst = &self.instances[s.fleet.global(i) as usize];
                            let span = now.saturating_since(self.warmup_end).as_nanos() as f64 * f64::from(m.workers);
                            let busy = (inst.busy_integral(now) - inst.busy_at_warmup) as f64;
                            if span > 0.0 { busy / span } else { 0.0 }
                        })
                        .collect(),
                    instance_mean_latency_ms: (0..m.max_instances())
                        .map(|i| {
                            let inst = &self.instances[s.fleet.global(i) as usize];
                            (inst.finished > 0).then(|| inst.finished_ns as f64 / inst.finished as f64 / 1e6)
                        })
                        .collect(),
                    resizes: self.shards[i].as_ref().map_or_else(Vec::new, |s| s.resizes().to_vec()),
                    statement_timeouts: m.statement_timeout.map(|_| st.statement_timeouts),
                    replication: self.replicated[i].as_ref().map(replicas::Replicas::summarize),
                    admission: self.admission[i].as_ref().map(|a| a.summarize(&self.model.classes)),
                }
            })
            .collect()
    }

    /// Each edge's calls and what its policies did.
    fn edge_summaries(&self) -> Vec<EdgeSummary> {
        let now = self.now;
        self.edges
            .iter()
            .zip(&self.model.edges)
            .map(|(e, m)| {
                let c = &e.counts;
                EdgeSummary {
                    from: m.from.clone(),
                    to: m.callee(self.model).to_string(),
                    to_topic: m.service().is_none(),
                    calls: c.calls,
                    attempts: c.attempts,
                    retries: c.retries,
                    retries_denied_by_budget: c.denied,
                    timeouts: c.timeouts,
                    deadlines_exceeded: c.deadlines,
                    rejections: c.rejections,
                    errors: c.errors,
                    succeeded: c.succeeded,
                    failed: c.failed,
                    attempts_per_call: ratio(c.completed_attempts, c.succeeded + c.failed),
                    breaker_rejections: c.breaker_rejections,
                    throttled: c.throttled,
                    hedges: c.hedges,
                    hedges_won: c.hedges_won,
                    bulkhead_full: c.bulkhead_full,
                    rate_limited: c.rate_limited,
                    no_connection: c.no_connection,
                    cancelled: c.cancelled,
                    breaker_opens: e.breaker.as_ref().map_or(0, |b| b.opens),
                    breaker_open_s: e.breaker.as_ref().map_or(0.0, |b| b.open_s(now)),
                    breaker_open_per_window: e.breaker.as_ref().map(|b| b.open_per_window.clone()).unwrap_or_default(),
                    breaker_transitions: e
                        .breaker
                        .as_ref()
                        .map(|b| {
                            b.transitions
                                .iter()
                                .map(|(at, from, to)| BreakerTransition {
                                    at_s: at.as_secs_f64(),
                                    from: from.name().into(),
                                    to: to.name().into(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect()
    }

    /// Whether every request and visit is accounted for, and every connection.
    fn conservation(&self) -> Conservation {
        let in_flight = self.requests.len() as u64;
        // Each service: every visit that arrived has finished or is still queued or working
        // (or was refused, its end cut off with a run stopped inside an event).
        let services_hold = self.services.iter().all(|s| {
            let inside = s.stats.busy.inside() + s.stats.queued.inside() + s.stats.awaiting.inside();
            s.stats.arrivals_total == s.stats.finished_total + inside + s.stats.refused_unended
        });
        let connections_hold = self.pools.conserved(self.model);
        let holds = services_hold
            && connections_hold
            && self.arrived_total == self.succeeded_total + self.failed_total + in_flight;
        Conservation {
            arrived: self.arrived_total,
            succeeded: self.succeeded_total,
            failed: self.failed_total,
            in_flight,
            holds,
        }
    }
}

/// `n` per second over `measured_s` seconds; 0 over none.
fn per_second(n: u64, measured_s: f64) -> f64 {
    if measured_s > 0.0 { n as f64 / measured_s } else { 0.0 }
}

/// `a / b`; 0 when `b` is 0.
fn ratio(a: u64, b: u64) -> f64 {
    if b > 0 { a as f64 / b as f64 } else { 0.0 }
}
