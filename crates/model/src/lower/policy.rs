//! A call's policy: timeout and deadline, retries with their backoff and budget, the circuit
//! breaker, the adaptive throttle, hedging, the bulkhead and the rate limit, each checked.

use tailsim_engine::SimDuration;

use super::Cx;
use crate::compile::{
    BreakerPolicy, BudgetPolicy, BulkheadPolicy, CallPolicy, HedgeDelay, HedgePolicy, MAX_ATTEMPTS, MAX_BREAKER_WINDOW,
    MAX_HEDGES, MAX_WORKERS, RetryPolicy,
};
use tailsim_scenario::diag::Diagnostic;
use tailsim_scenario::schema::{self, BreakerWindow, Losers};

/// Compiles a call policy, reporting problems under `path`.
pub(super) fn compile(cx: &mut Cx<'_>, policy: &schema::Policy, path: &str) -> CallPolicy {
    let mut positive = |what: &str, d: Option<schema::Duration>| -> Option<SimDuration> {
        let d = d?;
        if d.0 == SimDuration::ZERO {
            cx.error(Diagnostic::error(format!("`{what}` must be longer than zero")).at_path(path));
        }
        Some(d.0)
    };
    let timeout = positive("timeout", policy.timeout);
    let deadline = positive("deadline", policy.deadline);
    if let (Some(t), Some(d)) = (timeout, deadline)
        && t > d
    {
        cx.error(
            Diagnostic::error(format!("`timeout` ({t}) is longer than `deadline` ({d})"))
                .at_path(path)
                .with_hint("an attempt can never outlive the whole call; shorten the timeout"),
        );
    }
    let retry = policy.retry.as_ref().map(|r| retry(cx, r, path));
    let breaker = policy.breaker.as_ref().map(|b| breaker(cx, b, path));
    let throttle = policy.throttle.as_ref().map(|t| {
        if !(t.k.is_finite() && t.k > 0.0) {
            cx.error(Diagnostic::error(format!("a throttle's `k` must be above zero, got {}", t.k)).at_path(path));
        }
        if t.window.0 < SimDuration::from_millis(10) {
            cx.error(Diagnostic::error("a throttle's `window` must be at least 10ms").at_path(path));
        }
        (t.k, t.window.0)
    });
    let hedge = policy.hedge.as_ref().and_then(|h| hedge(cx, h, path));
    let bulkhead = policy.bulkhead.as_ref().map(|b| bulkhead(cx, b, path));
    CallPolicy {
        timeout,
        deadline,
        cancel_on_timeout: policy.cancel_on_timeout,
        retry,
        breaker,
        throttle,
        hedge,
        bulkhead,
        rate_limit: policy.rate_limit.as_ref().map(crate::kinds::RateLimit::from).filter(|limit| {
            let valid = limit.rate.is_finite() && limit.rate > 0.0 && limit.burst.is_finite() && limit.burst >= 1.0;
            if !valid {
                cx.error(
                    Diagnostic::error(format!(
                        "a rate limit needs a positive `rate` and a `burst` of at least 1, got {} and {}",
                        limit.rate, limit.burst
                    ))
                    .at_path(path),
                );
            }
            valid
        }),
    }
}

/// A retry policy: attempts, backoff, and the budget that bounds retries.
fn retry(cx: &mut Cx<'_>, r: &schema::Retry, path: &str) -> RetryPolicy {
    if r.attempts == 0 || r.attempts > MAX_ATTEMPTS {
        cx.error(
            Diagnostic::error(format!("`attempts` must be between 1 and {MAX_ATTEMPTS}, got {}", r.attempts))
                .at_path(path)
                .with_hint("attempts count the first call too: 3 means up to 2 retries"),
        );
    }
    if let schema::Backoff::Exponential { base, cap, .. } = &r.backoff
        && (base.0 == SimDuration::ZERO || cap.0 < base.0)
    {
        cx.error(
            Diagnostic::error("exponential backoff needs `base` above zero and `cap` at least `base`").at_path(path),
        );
    }
    let budget = r.budget.as_ref().map(|b| {
        if !(b.ratio.is_finite() && b.ratio >= 0.0 && b.min_per_s.is_finite() && b.min_per_s >= 0.0) {
            cx.error(Diagnostic::error("a retry budget's `ratio` and `min_per_s` must be zero or more").at_path(path));
        }
        if b.window.0 < SimDuration::from_millis(10) {
            cx.error(Diagnostic::error("a retry budget's `window` must be at least 10ms").at_path(path));
        }
        BudgetPolicy { ratio: b.ratio, min_per_s: b.min_per_s, window: b.window.0 }
    });
    let mut retry_on = [false; 8];
    for kind in &r.on {
        retry_on[crate::kinds::FailureKind::from(*kind) as usize] = true;
    }
    RetryPolicy { attempts: r.attempts, backoff: (&r.backoff).into(), retry_on, budget }
}

/// A circuit breaker: its window, the rates that open it, and how it recovers.
fn breaker(cx: &mut Cx<'_>, b: &schema::Breaker, path: &str) -> BreakerPolicy {
    let size = match b.window {
        BreakerWindow::Count(n) | BreakerWindow::Time(n) => n,
    };
    if size == 0 || size > MAX_BREAKER_WINDOW {
        cx.error(
            Diagnostic::error(format!("a breaker's `window` must be between 1 and {MAX_BREAKER_WINDOW}, got {size}"))
                .at_path(path),
        );
    }
    for (name, rate) in [("failure_rate", b.failure_rate), ("slow_call_rate", b.slow_call_rate)] {
        if !(rate > 0.0 && rate <= 1.0) {
            cx.error(
                Diagnostic::error(format!("a breaker's `{name}` must be above 0 and at most 1, got {rate}"))
                    .at_path(path)
                    .with_hint("rates are fractions: 0.5 means half of the calls"),
            );
        }
    }
    for (name, n) in [("minimum_calls", b.minimum_calls), ("half_open_calls", b.half_open_calls)] {
        if n == 0 || n > MAX_BREAKER_WINDOW {
            cx.error(
                Diagnostic::error(format!("a breaker's `{name}` must be between 1 and {MAX_BREAKER_WINDOW}, got {n}"))
                    .at_path(path),
            );
        }
    }
    if b.open_for.0 == SimDuration::ZERO {
        cx.error(Diagnostic::error("a breaker's `open_for` must be longer than zero").at_path(path));
    }
    BreakerPolicy {
        window: (&b.window).into(),
        failure_rate: b.failure_rate,
        slow_call_rate: b.slow_call_rate,
        slow_call_duration: b.slow_call_duration.0,
        minimum_calls: b.minimum_calls,
        open_for: b.open_for.0,
        half_open_calls: b.half_open_calls,
    }
}

/// A hedge: a fixed delay or a latency percentile, and how many.
fn hedge(cx: &mut Cx<'_>, h: &schema::Hedge, path: &str) -> Option<HedgePolicy> {
    if h.max == 0 || h.max > MAX_HEDGES {
        cx.error(
            Diagnostic::error(format!("a hedge's `max` must be between 1 and {MAX_HEDGES}, got {}", h.max))
                .at_path(path),
        );
    }
    let delay = match (h.after, h.percentile) {
        (Some(after), None) => HedgeDelay::Fixed(after.0),
        (None, Some(p)) if p > 0.0 && p < 100.0 => HedgeDelay::Quantile(p / 100.0),
        (None, Some(p)) => {
            cx.error(
                Diagnostic::error(format!("a hedge's `percentile` must lie strictly between 0 and 100, got {p}"))
                    .at_path(path),
            );
            return None;
        }
        _ => {
            cx.error(
                Diagnostic::error("a hedge needs either `after` or `percentile`")
                    .at_path(path)
                    .with_hint(r#"hedge: (after: "10ms") or hedge: (percentile: 95)"#),
            );
            return None;
        }
    };
    Some(HedgePolicy { delay, max: h.max, cancel_losers: h.losers == Losers::Cancel })
}

/// A bulkhead: the places, how long a call may wait for one, and its scope.
fn bulkhead(cx: &mut Cx<'_>, b: &schema::Bulkhead, path: &str) -> BulkheadPolicy {
    if b.max_concurrent == 0 || b.max_concurrent > MAX_WORKERS {
        cx.error(
            Diagnostic::error(format!(
                "a bulkhead's `max_concurrent` must be between 1 and {MAX_WORKERS}, got {}",
                b.max_concurrent
            ))
            .at_path(path),
        );
    }
    BulkheadPolicy {
        places: b.max_concurrent,
        max_wait: b.max_wait.0,
        per_instance: b.scope == schema::PoolScope::PerInstance,
    }
}
