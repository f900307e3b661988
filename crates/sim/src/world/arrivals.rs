//! Clients' arrivals: when each client's next request comes (Poisson, constant, shaped traffic
//! searched by thinning, a trace's rows, a closed loop's think times), and the request it
//! starts: its class, its key, and its first call (hedged or not).

use super::*;

impl<'m> World<'m> {
    /// A closed-loop user of client `c` thinks, then sends its next request.
    pub(super) fn schedule_think(&mut self, c: u32) {
        if let Some((_, think)) = &self.model.clients[c as usize].closed {
            let pause = think.sample(&mut self.clients[c as usize].rng);
            self.events.schedule(self.now + pause, Event::Arrival(c));
        }
    }

    pub(super) fn schedule_arrival(&mut self, c: u32) {
        if self.clients[c as usize].shaped {
            return self.schedule_shaped_arrival(c);
        }
        let client = &mut self.clients[c as usize];
        let at = match self.model.clients[c as usize].arrivals {
            Arrivals::Poisson => self.now + client.gap.sample(&mut client.rng),
            // The k-th arrival at exactly k / rate, so rounding never accumulates.
            Arrivals::Constant => {
                SimTime::ZERO + SimDuration::from_nanos_f64((client.sent + 1) as f64 * client.mean_gap_ns)
            }
        };
        self.put_arrival(c, Some(at));
    }

    /// Client `c`'s next arrival is at `at`, in its lane or as an event; `None`: it has none
    /// for now.
    #[inline(always)]
    pub(super) fn put_arrival(&mut self, c: u32, at: Option<SimTime>) {
        match (at, &mut self.lane) {
            (Some(at), Some(lane)) => {
                let seq = self.events.reserve_seq();
                lane.set(c as usize, (at, seq));
            }
            (Some(at), None) => {
                self.events.schedule(at, Event::Arrival(c));
            }
            (None, Some(lane)) => lane.set(c as usize, (SimTime(u64::MAX), u64::MAX)),
            (None, None) => {}
        }
    }

    /// The next arrival of a client replaying a trace: its next row's time, if inside the run.
    pub(super) fn schedule_traced_arrival(&mut self, c: u32, times_ns: &[u64]) {
        let end = self.model.duration.as_nanos();
        let next = times_ns.get(self.clients[c as usize].sent as usize).copied().filter(|&t| t < end);
        self.put_arrival(c, next.map(SimTime));
    }

    /// The class (its id and its slot in the client's list) and the key of the request client
    /// `c` just sent from its trace's row: the row's own, or drawn where the trace has none.
    #[cold]
    #[inline(never)]
    pub(super) fn traced_tag(&mut self, c: u32, counted: bool) -> (u8, u8, u32) {
        let model = &self.model.clients[c as usize];
        let client = &mut self.clients[c as usize];
        let Some(replay) = &model.trace else { return (0, 0, 0) };
        let row = (client.sent as usize).saturating_sub(1);
        let slot = match replay.trace.classes.get(row) {
            Some(&name) => replay.slots.get(usize::from(name)).copied().unwrap_or(0),
            None => 0,
        };
        if let Some(stats) = client.classes.get_mut(usize::from(slot)) {
            stats.arrivals += u64::from(counted);
        }
        let class = model.classes.get(usize::from(slot)).map_or(0, |&(id, _)| id);
        let key = match (replay.trace.keys.get(row), model.keys.get(usize::from(slot))) {
            (Some(&key), _) => key,
            (None, Some(Some(keys))) => keys.sample(&mut client.key_rng),
            (None, _) => 0,
        };
        (class, slot, key)
    }

    /// The next arrival of a client whose rate follows a traffic shape: thinning for Poisson
    /// arrivals, a gap of 1 / rate for constant ones; where the search stops short (a long
    /// quiet spell), a wake-up looks again later.
    #[cold]
    #[inline(never)]
    pub(super) fn schedule_shaped_arrival(&mut self, c: u32) {
        let model: &'m Model = self.model;
        if let Some(replay) = &model.clients[c as usize].trace {
            return self.schedule_traced_arrival(c, &replay.trace.times_ns);
        }
        let traffic = model.clients[c as usize].traffic.as_ref().expect("a shaped client");
        let end = SimTime::ZERO + model.duration;
        let client = &mut self.clients[c as usize];
        let (at, found) = match model.clients[c as usize].arrivals {
            Arrivals::Poisson => {
                traffic.next_poisson(self.now, end, &mut client.bursts, &mut client.rng, &mut client.traffic_rng)
            }
            Arrivals::Constant => {
                let rate = traffic.rate_at(self.now, &mut client.bursts, &mut client.traffic_rng);
                if rate > 0.0 {
                    (self.now + SimDuration::from_secs_f64(1.0 / rate), true)
                } else {
                    (traffic.next_change(self.now, &client.bursts), false)
                }
            }
        };
        if found {
            self.put_arrival(c, Some(at));
        } else {
            self.put_arrival(c, None);
            if at < end {
                self.events.schedule(at, Event::TrafficWakeup(c));
            }
        }
    }

    pub(super) fn on_arrival(&mut self, c: u32) {
        self.clients[c as usize].sent += 1;
        if !self.clients[c as usize].closed {
            self.schedule_arrival(c);
        }
        if self.requests.len() as u64 >= self.limits.max_in_flight {
            self.truncated = Some(self.overload_reason());
            return;
        }
        let now = self.now;
        let counted = now >= self.warmup_end;
        let model = &self.model.clients[c as usize];
        let (class, class_slot, key) = if model.trace.is_some() {
            self.traced_tag(c, counted)
        } else {
            let client = &mut self.clients[c as usize];
            let (class, class_slot) = if model.classes.is_empty() {
                (0, 0)
            } else {
                let u = client.class_rng.random::<f64>();
                let slot = model.classes.iter().position(|&(_, below)| u < below).unwrap_or(model.classes.len() - 1);
                client.classes[slot].arrivals += u64::from(counted);
                (model.classes[slot].0, slot as u8)
            };
            let key = match model.keys.get(usize::from(class_slot)) {
                Some(Some(keys)) => keys.sample(&mut client.key_rng),
                _ => 0,
            };
            (class, class_slot, key)
        };
        let client = &mut self.clients[c as usize];
        let tag = Tag { class, key };
        client.arrivals += u64::from(counted);
        client.in_flight.enter(now, counted);
        if now >= self.window_end {
            self.roll_windows();
        }
        let client = &mut self.clients[c as usize];
        client.series.arrivals[self.window_index] += 1;
        let request =
            self.requests.insert(Request { client: c, arrived: now, counted, class_slot, key, wait: Wait::NONE })
                as u32;
        self.arrived_total += 1;
        match self.model.edges[model.edge as usize].policy.hedge {
            None => {
                self.start_call(Caller::Request(request), model.edge, counted, tag);
            }
            Some(hedge) => self.start_hedged_request(request, model.edge, counted, tag, hedge),
        }
    }
}
