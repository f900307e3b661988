//! The circuit breaker's state machine, as Resilience4j defines it: closed (calls recorded in a
//! count- or time-based sliding window), open (calls refused for `open_for`), half open (a fixed
//! number of probes decide), with every transition kept with its time.

use tailsim_engine::{SimDuration, SimTime};
use tailsim_stats::Occupancy;

use tailsim_model::compile::BreakerPolicy;
use tailsim_model::kinds::BreakerWindow;

/// The most transitions kept per breaker; later ones are only counted.
pub const MAX_TRANSITIONS: usize = 10_000;

/// A breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Calls go through and are recorded.
    Closed,
    /// Calls are refused until `since + open_for`.
    Open {
        /// When it opened.
        since: SimTime,
    },
    /// Probes go through; their outcomes decide.
    HalfOpen {
        /// Probes let through so far.
        admitted: u32,
        /// Probes finished so far.
        completed: u32,
        /// Of those, failed.
        failed: u32,
        /// Of those, slow.
        slow: u32,
    },
}

impl State {
    /// The state's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open { .. } => "open",
            State::HalfOpen { .. } => "half_open",
        }
    }
}

/// Calls, failures and slow calls in a sliding window.
#[derive(Clone, Debug)]
enum Window {
    /// The last `ring.len()` calls: bit 0 failed, bit 1 slow.
    Count { ring: Vec<u8>, next: usize, filled: usize, failed: u32, slow: u32 },
    /// Per-second buckets `(calls, failed, slow)` of the last `buckets.len()` seconds.
    Time { buckets: Vec<(u64, u64, u64)>, newest_second: u64 },
}

impl Window {
    fn new(kind: &BreakerWindow) -> Window {
        match *kind {
            BreakerWindow::Count(n) => {
                Window::Count { ring: vec![0; n.max(1) as usize], next: 0, filled: 0, failed: 0, slow: 0 }
            }
            BreakerWindow::Time(n) => Window::Time { buckets: vec![(0, 0, 0); n.max(1) as usize], newest_second: 0 },
        }
    }

    /// Records a call and returns the window's `(calls, failed, slow)`.
    fn record(&mut self, now: SimTime, failed: bool, slow: bool) -> (u64, u64, u64) {
        match self {
            Window::Count { ring, next, filled, failed: n_failed, slow: n_slow } => {
                let old = ring[*next];
                if *filled == ring.len() {
                    *n_failed -= u32::from(old & 1);
                    *n_slow -= u32::from(old >> 1 & 1);
                } else {
                    *filled += 1;
                }
                ring[*next] = u8::from(failed) | u8::from(slow) << 1;
                *n_failed += u32::from(failed);
                *n_slow += u32::from(slow);
                *next = (*next + 1) % ring.len();
                (*filled as u64, u64::from(*n_failed), u64::from(*n_slow))
            }
            Window::Time { buckets, newest_second } => {
                let second = now.as_nanos() / 1_000_000_000;
                let n = buckets.len() as u64;
                if second.saturating_sub(*newest_second) >= n {
                    buckets.iter_mut().for_each(|b| *b = (0, 0, 0));
                    *newest_second = second;
                }
                while *newest_second < second {
                    *newest_second += 1;
                    buckets[(*newest_second % n) as usize] = (0, 0, 0);
                }
                let b = &mut buckets[(second % n) as usize];
                b.0 += 1;
                b.1 += u64::from(failed);
                b.2 += u64::from(slow);
                buckets.iter().fold((0, 0, 0), |acc, b| (acc.0 + b.0, acc.1 + b.1, acc.2 + b.2))
            }
        }
    }
}

/// One circuit breaker with its history.
#[derive(Clone, Debug)]
pub struct Breaker {
    policy: BreakerPolicy,
    state: State,
    window: Window,
    /// Times it opened.
    pub opens: u64,
    measured_from: SimTime,
    /// `(time, from, to)` of each transition, the first [`MAX_TRANSITIONS`].
    pub transitions: Vec<(SimTime, State, State)>,
    /// Open or not over time (0 or 1 inside): its spells after `measured_from` and its integral
    /// over the run; and that integral when the open time-series window began.
    open: Occupancy,
    window_start: i128,
    /// The share of each closed time-series window it spent open, 0 to 1.
    pub open_per_window: Vec<f64>,
}

impl Breaker {
    /// A closed breaker; open time counts from `measured_from` (the end of the warm-up).
    pub fn new(policy: &BreakerPolicy, measured_from: SimTime) -> Breaker {
        Breaker {
            policy: policy.clone(),
            state: State::Closed,
            window: Window::new(&policy.window),
            opens: 0,
            measured_from,
            transitions: Vec::new(),
            open: Occupancy::default(),
            window_start: 0,
            open_per_window: Vec::new(),
        }
    }

    /// The time-series window that began at `start` closes at `end`: its share of time open.
    pub fn close_window(&mut self, start: SimTime, end: SimTime) {
        let integral = self.open.integral_ns(end);
        let width = end.saturating_since(start).as_nanos().max(1) as f64;
        self.open_per_window.push(((integral - self.window_start) as f64 / width).clamp(0.0, 1.0));
        self.window_start = integral;
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    fn go(&mut self, now: SimTime, to: State) {
        if let State::Open { since } = self.state {
            self.open.leave(since, now, self.measured_from);
        }
        if matches!(to, State::Open { .. }) {
            self.opens += 1;
            self.open.enter(now, now >= self.measured_from);
        }
        if to == State::Closed {
            self.window = Window::new(&self.policy.window);
        }
        if self.transitions.len() < MAX_TRANSITIONS {
            self.transitions.push((now, self.state, to));
        }
        self.state = to;
    }

    /// Whether a call may go now. An open breaker whose wait is over half-opens here, on the
    /// first call after it (Resilience4j's default, without automatic transition).
    pub fn try_acquire(&mut self, now: SimTime) -> bool {
        if let State::Open { since } = self.state
            && now >= since.saturating_add(self.policy.open_for)
        {
            self.go(now, State::HalfOpen { admitted: 0, completed: 0, failed: 0, slow: 0 });
        }
        match &mut self.state {
            State::Closed => true,
            State::Open { .. } => false,
            State::HalfOpen { admitted, .. } => {
                if *admitted < self.policy.half_open_calls {
                    *admitted += 1;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Records the outcome of a call that was let through and took `duration`.
    pub fn record(&mut self, now: SimTime, failed: bool, duration: SimDuration) {
        let slow = duration > self.policy.slow_call_duration;
        let trips = |calls: u64, n_failed: u64, n_slow: u64, policy: &BreakerPolicy| {
            calls > 0
                && (n_failed as f64 / calls as f64 >= policy.failure_rate
                    || n_slow as f64 / calls as f64 >= policy.slow_call_rate)
        };
        match &mut self.state {
            State::Closed => {
                let (calls, n_failed, n_slow) = self.window.record(now, failed, slow);
                if calls >= u64::from(self.policy.minimum_calls) && trips(calls, n_failed, n_slow, &self.policy) {
                    self.go(now, State::Open { since: now });
                }
            }
            State::HalfOpen { completed, failed: n_failed, slow: n_slow, .. } => {
                *completed += 1;
                *n_failed += u32::from(failed);
                *n_slow += u32::from(slow);
                if *completed >= self.policy.half_open_calls {
                    let (calls, f, s) = (u64::from(*completed), u64::from(*n_failed), u64::from(*n_slow));
                    let to = if trips(calls, f, s, &self.policy) { State::Open { since: now } } else { State::Closed };
                    self.go(now, to);
                }
            }
            // A call let through before the breaker opened: no longer counted.
            State::Open { .. } => {}
        }
    }

    /// Seconds spent open after the warm-up, up to `now`.
    pub fn open_s(&self, now: SimTime) -> f64 {
        let open = match self.state {
            State::Open { since } => Occupancy::stay(since, now, self.measured_from),
            _ => 0,
        };
        (self.open.area_ns() + open) as f64 / 1e9
    }
}
