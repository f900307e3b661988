//! A token bucket, as the caller-side rate limit and the admission limit at a service's door
//! both use it: `rate` tokens per second refilled continuously, at most `burst` stored.

use tailsim_engine::{SimDuration, SimTime};

use tailsim_model::kinds::{LimitMode, RateLimit};

/// A token bucket. Tokens may go below zero in `Delay` mode: each is a reservation.
pub(crate) struct Bucket {
    tokens: f64,
    at: SimTime,
}

impl Bucket {
    /// A full bucket at time zero.
    pub(crate) fn full(limit: &RateLimit) -> Bucket {
        Bucket { tokens: limit.burst, at: SimTime::ZERO }
    }

    /// Takes a token at `now`: `Some(0)` at once, `Some(wait)` reserved for later (Delay),
    /// `None` refused (Reject).
    pub(crate) fn take(&mut self, now: SimTime, limit: &RateLimit) -> Option<SimDuration> {
        // ns x rate / 1e9: exact for whole-number rates and nanosecond times, so a constant
        // stream at twice the rate alternates exactly.
        let refill = now.saturating_since(self.at).as_nanos() as f64 * limit.rate / 1e9;
        self.tokens = (self.tokens + refill).min(limit.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Some(SimDuration::ZERO);
        }
        match limit.mode {
            LimitMode::Reject => None,
            LimitMode::Delay => {
                let wait_s = (1.0 - self.tokens) / limit.rate;
                self.tokens -= 1.0;
                Some(SimDuration::from_secs_f64(wait_s))
            }
        }
    }
}
