//! Retries: after a failed attempt, another (at once or after a backoff with jitter) while the
//! policy, the kind of failure and the retry budget (retries within a share of the requests
//! over a window plus a floor per second, as Finagle's `RetryBudget`) allow.

use super::*;
use calls::CallEvent;

/// A retry budget: requests (count 0) and retries (count 1).
pub(super) struct Budget {
    window: PairWindow,
}

impl Budget {
    /// A budget over `window`, nothing in it yet.
    pub(super) fn new(window: SimDuration) -> Budget {
        Budget { window: PairWindow::new(window) }
    }

    /// A first attempt was sent.
    pub(super) fn record_request(&mut self, now: SimTime) {
        self.window.add(now, 0);
    }

    /// Takes one retry from the budget if it allows one: retries in the window stay within
    /// `ratio x requests + min_per_s x window`.
    fn try_retry(&mut self, now: SimTime, policy: &BudgetPolicy) -> bool {
        let (requests, retries) = self.window.sums(now);
        let allowance = policy.ratio * requests as f64 + policy.min_per_s * policy.window.as_secs_f64();
        if (retries + 1) as f64 <= allowance {
            self.window.add(now, 1);
            true
        } else {
            false
        }
    }
}

impl<'m> World<'m> {
    /// After a failed attempt: retry (now or after a backoff) if the policy and the budget
    /// allow, else fail the call.
    pub(super) fn after_failure(&mut self, c: CallId, kind: FailureKind) {
        let call = &self.calls[c.index()];
        let edge = call.edge as usize;
        if let Some(retry) = &self.model.edges[edge].policy.retry
            && retry.retry_on[kind as usize]
            && call.attempts < retry.attempts
        {
            let state = &mut self.edges[edge];
            let allowed = match (&mut state.budget, &retry.budget) {
                (Some(window), Some(policy)) => window.try_retry(self.now, policy),
                _ => true,
            };
            if allowed {
                let sleep = self.backoff(c, retry);
                if sleep == SimDuration::ZERO {
                    self.start_attempt(c);
                } else {
                    let key = self.events.schedule(self.now + sleep, Event::Call(CallEvent::Retry(c)));
                    self.calls[c.index()].retry_timer = Some(key);
                }
                return;
            }
            state.counts.denied += u64::from(self.calls[c.index()].counted);
        }
        self.complete_call(c, Outcome::Failed(kind));
    }

    /// The wait before the next attempt of call `c`: the AWS article's formulas, with retry
    /// number k counted from 0.
    pub(super) fn backoff(&mut self, c: CallId, retry: &RetryPolicy) -> SimDuration {
        let call = &mut self.calls[c.index()];
        let rng = &mut self.edges[call.edge as usize].rng;
        let nanos = match &retry.backoff {
            Backoff::None => 0.0,
            Backoff::Constant(d) => d.as_nanos() as f64,
            Backoff::Exponential { base, cap, jitter } => {
                let (base, cap) = (base.as_nanos() as f64, cap.as_nanos() as f64);
                let k = call.attempts.saturating_sub(1).min(1023) as i32;
                let t = cap.min(base * 2f64.powi(k));
                match jitter {
                    Jitter::None => t,
                    Jitter::Full => rng.random::<f64>() * t,
                    Jitter::Equal => t / 2.0 + rng.random::<f64>() * t / 2.0,
                    Jitter::Decorrelated => {
                        let previous = if call.previous_sleep_ns > 0.0 { call.previous_sleep_ns } else { base };
                        let high = previous * 3.0;
                        cap.min(base + rng.random::<f64>() * (high - base))
                    }
                }
            }
        };
        call.previous_sleep_ns = nanos;
        SimDuration::from_nanos_f64(nanos)
    }
}
