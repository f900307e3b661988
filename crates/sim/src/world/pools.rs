//! Bulkheads and connection limits: every edge's pools of places (one, or one per instance
//! slot of the calling service), and each service's `max_connections`, shared by the pools
//! towards it, which take connections when their instance starts and give them back when it
//! stops. The subsystem owns its state ([`Pools`]); the world asks it for a place before an
//! attempt is sent and gives the place back when the attempt's answer comes.

use super::*;

/// The pools subsystem's state, for the whole run.
pub(super) struct Pools {
    /// Every edge's bulkhead pools (see [`EdgeState::pools`]).
    pools: Vec<Pool>,
    /// Each service's connection limit, where it has one.
    limits: Vec<Option<ConnectionLimit>>,
    /// Per service: the first pool of each edge from it with one pool per instance towards a
    /// service that limits connections; instance `k`'s pool is `first + k`.
    per_instance: Vec<Vec<PoolId>>,
}

/// A bulkhead's (a connection pool's) state: its places, those in use, and `(call,
/// incarnation)` of the attempts waiting for one. Towards a service that limits connections
/// its places are the connections it holds, which it takes when its instance starts and gives
/// back when it stops; otherwise they are its size, always.
struct Pool {
    /// The edge it is on.
    edge: u32,
    /// Whether its places are connections to a service that limits them.
    limited: bool,
    /// Places it has.
    places: u32,
    /// Places it wants: its size while its instance runs, 0 once it stopped or crashed.
    target: u32,
    in_use: u32,
    waiting: VecDeque<(CallId, u32)>,
}

/// A service's `max_connections`: those its callers' pools may still take, the most held at
/// once, those pools asked for when they started and did not get, and the pools holding them
/// in the order they fill when connections come back.
struct ConnectionLimit {
    limit: u32,
    free: u32,
    peak: u32,
    refused: u64,
    pools: Vec<PoolId>,
}

/// What a bulkhead says to an attempt asking for a place.
enum Place {
    /// It has one now.
    Taken,
    /// The pool holds no connection at all: no wait can bring one.
    NoConnection,
    /// Every place is in use.
    Full,
}

impl Pools {
    /// The pools as a run starts, and each edge's first pool (`None`: no bulkhead). A pool
    /// towards a service that limits connections starts empty and takes them in
    /// [`World::open_pools`].
    pub(super) fn new(model: &Model) -> (Pools, Vec<Option<PoolId>>) {
        let mut pools = Pools {
            pools: Vec::new(),
            limits: model
                .services
                .iter()
                .map(|s| {
                    s.max_connections.map(|limit| ConnectionLimit {
                        limit,
                        free: limit,
                        peak: 0,
                        refused: 0,
                        pools: Vec::new(),
                    })
                })
                .collect(),
            per_instance: vec![Vec::new(); model.services.len()],
        };
        let firsts = model.edges.iter().enumerate().map(|(i, e)| pools.add_edge(model, i as u32, e)).collect();
        (pools, firsts)
    }

    /// Adds edge `edge`'s pools, if it has a bulkhead: one, or one per instance slot of the
    /// calling service. Returns the first.
    fn add_edge(&mut self, model: &Model, edge: u32, e: &tailsim_model::compile::Edge) -> Option<PoolId> {
        let bulkhead = e.policy.bulkhead?;
        let first = PoolId::new(self.pools.len());
        let per_instance = bulkhead.per_instance && e.caller.is_some();
        let to = callee(model, edge) as usize;
        let limited = model.services[to].max_connections.is_some();
        let slots = match e.caller {
            Some(caller) if per_instance => model.services[caller.0 as usize].max_instances(),
            _ => 1,
        };
        for slot in 0..slots {
            let running = !per_instance || e.caller.is_some_and(|c| slot < model.services[c.0 as usize].instances);
            // Only a pool of limited connections gives them back while its instance is
            // stopped; any other keeps its places, whether its instance runs or not.
            let target = if running || !limited { bulkhead.places } else { 0 };
            let places = if limited { 0 } else { bulkhead.places };
            if let Some(limit) = &mut self.limits[to] {
                limit.pools.push(PoolId::new(self.pools.len()));
            }
            self.pools.push(Pool { edge, limited, places, target, in_use: 0, waiting: VecDeque::new() });
        }
        if limited
            && per_instance
            && let Some(caller) = e.caller
        {
            self.per_instance[caller.0 as usize].push(first);
        }
        Some(first)
    }

    /// Whether service `s`'s instances have pools of their own towards a service that limits
    /// connections, which open and close with them.
    pub(super) fn per_instance(&self, s: u32) -> bool {
        !self.per_instance[s as usize].is_empty()
    }

    /// Takes a place of pool `p` for an attempt, if one is free.
    #[inline(always)]
    fn take(&mut self, p: PoolId) -> Place {
        let pool = &mut self.pools[p.index()];
        if pool.in_use < pool.places {
            pool.in_use += 1;
            Place::Taken
        } else if pool.places == 0 && pool.limited {
            Place::NoConnection
        } else {
            Place::Full
        }
    }

    /// Service `s`'s connection counts for its summary: the most held at once, and those
    /// refused to starting pools (0 and 0 without a limit).
    pub(super) fn connections(&self, s: usize) -> (u32, u64) {
        self.limits[s].as_ref().map_or((0, 0), |l| (l.peak, l.refused))
    }

    /// Whether every connection is accounted for: each limited service's free ones and those
    /// its callers' pools hold make its limit, and no pool uses more places than it has.
    pub(super) fn conserved(&self, model: &Model) -> bool {
        let mut held = vec![0u64; self.limits.len()];
        for pool in self.pools.iter().filter(|p| p.limited) {
            held[callee(model, pool.edge) as usize] += u64::from(pool.places);
        }
        self.pools.iter().all(|p| p.in_use <= p.places)
            && self
                .limits
                .iter()
                .zip(&held)
                .all(|(l, &held)| l.as_ref().is_none_or(|l| u64::from(l.free) + held == u64::from(l.limit)))
    }

    /// Checks each pool's places in use against `held`, the places the visits hold, and that
    /// only pools of limited connections change size.
    pub(super) fn check(&self, model: &Model, held: &[u32], at: SimTime) {
        for (p, (pool, &h)) in self.pools.iter().zip(held).enumerate() {
            assert_eq!(pool.in_use, h, "pool {p} at {at}: places in use against visits holding one");
            assert!(pool.in_use <= pool.places, "pool {p} at {at}: {} of {} places in use", pool.in_use, pool.places);
            let size = model.edges[pool.edge as usize].policy.bulkhead.map_or(0, |b| b.places);
            assert!(pool.limited || pool.places == size, "pool {p} at {at}: {} places of {size}", pool.places);
        }
    }

    /// How many pools there are.
    pub(super) fn len(&self) -> usize {
        self.pools.len()
    }
}

impl<'m> World<'m> {
    /// Connection pools open in order, each taking what is left of its service's connections.
    pub(super) fn open_pools(&mut self) {
        for p in 0..self.pools.len() {
            self.fill_pool(PoolId::new(p), true);
        }
    }

    /// The last local check before sending: a bulkhead place, if the edge has a bulkhead. A
    /// pool without any connection (its service's `max_connections` were taken) fails the
    /// attempt at once: no wait can bring one.
    pub(super) fn admit_to_bulkhead(&mut self, c: CallId) {
        let now = self.now;
        let call = &self.calls[c.index()];
        let (edge, incarnation, counted, p) = (call.edge, call.incarnation, call.counted, call.pool);
        if let Some(p) = p {
            let max_wait = self.model.edges[edge as usize].policy.bulkhead.map_or(SimDuration::ZERO, |b| b.max_wait);
            match self.pools.take(p) {
                Place::Taken => {}
                Place::NoConnection => {
                    self.edges[edge as usize].counts.no_connection += u64::from(counted);
                    return self.after_failure(c, FailureKind::NoConnection);
                }
                Place::Full if max_wait > SimDuration::ZERO => {
                    self.pools.pools[p.index()].waiting.push_back((c, incarnation));
                    let key = self.events.schedule(now + max_wait, Event::Call(calls::CallEvent::BulkheadTimeout(c)));
                    self.calls[c.index()].place_timer = Some(key);
                    return;
                }
                Place::Full => {
                    self.edges[edge as usize].counts.bulkhead_full += u64::from(counted);
                    return self.after_failure(c, FailureKind::BulkheadFull);
                }
            }
        }
        self.send_attempt(c);
    }

    /// Call `c` waited for a bulkhead place for as long as it may: the attempt fails.
    #[cold]
    #[inline(never)]
    pub(super) fn on_bulkhead_timeout(&mut self, c: CallId) {
        let call = &mut self.calls[c.index()];
        call.place_timer = None;
        self.edges[call.edge as usize].counts.bulkhead_full += u64::from(call.counted);
        self.after_failure(c, FailureKind::BulkheadFull);
    }

    /// An attempt that held a place of pool `p` is over (answered, even if nobody listened):
    /// the place goes to the longest-waiting attempt that still wants it, or, if the pool is
    /// shrinking (its instance stopped), its connection goes back to the service.
    pub(super) fn release_place(&mut self, p: PoolId) {
        let pool = &mut self.pools.pools[p.index()];
        pool.in_use -= 1;
        if pool.places > pool.target {
            pool.places -= 1;
            let to = callee(self.model, pool.edge);
            return self.give_back(to, 1);
        }
        self.grant_waiting(p);
    }

    /// Free places of pool `p` go to the attempts waiting for one, longest waiting first.
    fn grant_waiting(&mut self, p: PoolId) {
        loop {
            let pool = &mut self.pools.pools[p.index()];
            if pool.in_use >= pool.places {
                return;
            }
            let Some((c, incarnation)) = pool.waiting.pop_front() else { return };
            let waiting = self
                .calls
                .get_mut(c.index())
                .filter(|call| call.incarnation == incarnation && call.place_timer.is_some());
            if let Some(call) = waiting {
                if let Some(key) = call.place_timer.take() {
                    self.events.cancel(key);
                }
                pool.in_use += 1;
                self.send_attempt(c);
            }
        }
    }

    /// Pool `p` takes connections from its service up to what it wants, as many as are left;
    /// `starting`: its instance starts now, and what it did not get counts as refused.
    #[cold]
    #[inline(never)]
    fn fill_pool(&mut self, p: PoolId, starting: bool) {
        let pool = &mut self.pools.pools[p.index()];
        if !pool.limited || pool.places >= pool.target {
            return;
        }
        let to = callee(self.model, pool.edge) as usize;
        let Some(limit) = &mut self.pools.limits[to] else { return };
        let want = pool.target - pool.places;
        let got = want.min(limit.free);
        limit.free -= got;
        limit.peak = limit.peak.max(limit.limit - limit.free);
        if starting {
            limit.refused += u64::from(want - got);
        }
        pool.places += got;
        self.grant_waiting(p);
    }

    /// `n` connections to service `to` come back: the pools short of theirs take them, in order.
    #[cold]
    #[inline(never)]
    fn give_back(&mut self, to: u32, n: u32) {
        let Some(limit) = &mut self.pools.limits[to as usize] else { return };
        limit.free += n;
        for i in 0..limit.pools.len() {
            let Some(limit) = &self.pools.limits[to as usize] else { return };
            if limit.free == 0 {
                return;
            }
            let p = limit.pools[i];
            self.fill_pool(p, false);
        }
    }

    /// Instance slot `slot` of service `s` starts (or restarts): its pools take their connections.
    #[cold]
    #[inline(never)]
    pub(super) fn start_pools(&mut self, s: u32, slot: u32) {
        for i in 0..self.pools.per_instance[s as usize].len() {
            let p = self.pools.per_instance[s as usize][i].nth_after(slot);
            let pool = &mut self.pools.pools[p.index()];
            pool.target = self.model.edges[pool.edge as usize].policy.bulkhead.map_or(0, |b| b.places);
            self.fill_pool(p, true);
        }
    }

    /// Instance `instance` of service `s`, stopped by the autoscaler, has finished its last
    /// visit: its pools close.
    #[cold]
    #[inline(never)]
    pub(super) fn drained(&mut self, s: u32, instance: u32) {
        let slot = self.services[s as usize].fleet.local(instance);
        self.stop_pools(s, slot);
    }

    /// Instance slot `slot` of service `s` has stopped (crashed, or scaled down and done): its
    /// pools give back their idle connections now and the others as their attempts end.
    #[cold]
    #[inline(never)]
    pub(super) fn stop_pools(&mut self, s: u32, slot: u32) {
        self.instances[self.services[s as usize].fleet.global(slot) as usize].draining = false;
        for i in 0..self.pools.per_instance[s as usize].len() {
            let p = self.pools.per_instance[s as usize][i].nth_after(slot);
            let pool = &mut self.pools.pools[p.index()];
            pool.target = 0;
            let idle = pool.places.saturating_sub(pool.in_use);
            pool.places -= idle;
            let to = callee(self.model, pool.edge);
            if idle > 0 {
                self.give_back(to, idle);
            }
        }
    }
}

/// The service edge `edge` calls: a bulkhead's edge always calls one (an acknowledged
/// publish takes none).
fn callee(model: &Model, edge: u32) -> u32 {
    model.edges[edge as usize].service().expect("a bulkhead's edge calls a service").0
}
