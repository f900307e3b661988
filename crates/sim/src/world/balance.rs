//! Load balancing within a service: which instance a visit goes to (round robin, random,
//! least outstanding, power of two choices, weighted), from live counts or a periodic
//! snapshot, routing around the instances noticed as crashed. The balancer's state
//! ([`Balancer`]) lives inside its service's state, which the arrival path reads anyway.

use super::*;

/// A service's balancer as it runs: its random stream, whose turn it is (round robin), the
/// instances it skips now (crashed, and noticed), and its view of each instance's outstanding
/// visits when that is refreshed periodically, with when it is next refreshed.
pub(super) struct Balancer {
    rng: RngStream,
    next: u32,
    skipped: u32,
    snapshot: Vec<u32>,
    next_report: SimTime,
}

impl Balancer {
    /// Service `name`'s balancer as a run starts.
    pub(super) fn new(name: &str, seed: u64, rep: u64) -> Balancer {
        Balancer {
            rng: stream(seed, rep, &format!("service/{name}/balancer")),
            next: 0,
            skipped: 0,
            snapshot: Vec::new(),
            next_report: SimTime::ZERO,
        }
    }

    /// Whether it routes around some instance now.
    #[inline(always)]
    pub(super) fn skipping(&self) -> bool {
        self.skipped > 0
    }

    /// An instance went down (`up` false) or came back, as the balancer notices.
    pub(super) fn noticed(&mut self, up: bool) {
        if up {
            self.skipped -= 1;
        } else {
            self.skipped += 1;
        }
    }

    /// The next of `n` in turn (past the end after a scale-down: start over).
    #[inline(always)]
    pub(super) fn round_robin(&mut self, n: u32) -> u32 {
        self.next_in_turn(n, |_| true)
    }

    /// The next of `n` in turn that `up` accepts (one must), starting over past the end, and
    /// the turn moves past it.
    #[inline(always)]
    fn next_in_turn(&mut self, n: u32, up: impl Fn(u32) -> bool) -> u32 {
        let mut i = if self.next < n { self.next } else { 0 };
        while !up(i) {
            i = if i + 1 == n { 0 } else { i + 1 };
        }
        self.next = if i + 1 == n { 0 } else { i + 1 };
        i
    }

    /// The next of `n` in turn from `turn % n` on that `up` accepts, if any does (all of them
    /// otherwise); the turn moves past it.
    pub(super) fn next_up(&mut self, n: u32, up: impl Fn(u32) -> bool) -> u32 {
        let turn = self.next % n;
        let pick = (0..n).map(|k| (turn + k) % n).find(|&k| up(k)).unwrap_or(turn);
        self.next = pick + 1;
        pick
    }

    /// One of `n` at random, all alike.
    #[inline(always)]
    pub(super) fn random(&mut self, n: u32) -> u32 {
        self.rng.random_range(0..n)
    }

    /// The instance (offset) a load-aware balancer picks among `live`, or any balancer while
    /// it routes around crashed instances: then it chooses among the others as it would among
    /// all (round robin takes the next one up, random draws among those up, and so on).
    pub(super) fn pick(
        &mut self,
        model: &tailsim_model::compile::ServiceModel,
        live: &[Instance],
        now: SimTime,
    ) -> u32 {
        let n = live.len() as u32;
        if let Some(period) = model.load_report_every
            && now >= self.next_report
        {
            self.snapshot.clear();
            self.snapshot.extend(live.iter().map(|i| i.outstanding));
            while self.next_report <= now {
                self.next_report = self.next_report.saturating_add(period);
            }
        }
        let stale = model.load_report_every.is_some();
        let snapshot = &self.snapshot;
        // An instance started since the last snapshot has not reported yet: it looks idle.
        let load = |i: u32| {
            if stale { snapshot.get(i as usize).copied().unwrap_or(0) } else { live[i as usize].outstanding }
        };
        // The candidates: every instance, or those up while some are skipped (when all are
        // down, every instance again: the visit goes to one and is refused).
        let skipping = self.skipped > 0 && live.iter().any(|i| i.skipped == 0);
        let up = |i: u32| !skipping || live[i as usize].skipped == 0;
        let m = if skipping { (0..n).filter(|&i| up(i)).count() as u32 } else { n };
        let nth = |k: u32| if skipping { (0..n).filter(|&i| up(i)).nth(k as usize).unwrap_or(0) } else { k };
        let rng = &mut self.rng;
        match &model.balancer {
            BalancerPolicy::LeastOutstanding => {
                let start = nth(rng.random_range(0..m));
                (0..n).map(|k| (start + k) % n).filter(|&i| up(i)).min_by_key(|&i| load(i)).unwrap_or(0)
            }
            BalancerPolicy::PowerOfTwo if m == 1 => nth(0),
            BalancerPolicy::PowerOfTwo => {
                let a = rng.random_range(0..m);
                let b = rng.random_range(0..m - 1);
                let (a, b) = (nth(a), nth(if b >= a { b + 1 } else { b }));
                if load(b) < load(a) { b } else { a }
            }
            BalancerPolicy::Weighted(cumulative) => {
                weighted(cumulative, rng.random::<f64>(), n, skipping.then_some(&up))
            }
            BalancerPolicy::Random => nth(rng.random_range(0..m)),
            BalancerPolicy::RoundRobin => self.next_in_turn(n, up),
            BalancerPolicy::ByKey { .. } => 0, // routed by `pick_by_key`
        }
    }
}

/// The instance of `n` a uniform draw `u` picks by the weights (`cumulative`, summing to 1);
/// with `up`, among those up only, their weights scaled to sum to 1.
fn weighted(cumulative: &[f64], u: f64, n: u32, up: Option<&dyn Fn(u32) -> bool>) -> u32 {
    let Some(up) = up else {
        return cumulative.iter().position(|&c| u < c).unwrap_or(cumulative.len() - 1) as u32;
    };
    let weight = |i: usize| cumulative[i] - if i == 0 { 0.0 } else { cumulative[i - 1] };
    let total: f64 = (0..n).filter(|&i| up(i)).map(|i| weight(i as usize)).sum();
    let mut below = 0.0;
    let mut last = 0;
    for i in (0..n).filter(|&i| up(i)) {
        below += weight(i as usize) / total;
        last = i;
        if u < below {
            return i;
        }
    }
    last
}

impl<'m> World<'m> {
    /// The instance (offset within service `s`) a load-aware balancer picks, or any balancer
    /// while it routes around crashed instances.
    #[inline(never)]
    pub(super) fn pick_instance(&mut self, s: u32) -> u32 {
        let service = &mut self.services[s as usize];
        let live = &self.instances[service.fleet.live()];
        service.balancer.pick(&self.model.services[s as usize], live, self.now)
    }
}
