//! Streaming collectors: latency histograms with exact means, and time-weighted averages of
//! integer quantities (queue length, busy workers, requests in flight).

use hdrhistogram::Histogram;
use tailsim_engine::{SimDuration, SimTime};

use crate::summary::LatencySummary;

/// Significant decimal digits kept by the histograms: values are exact to 0.1%.
const SIGNIFICANT_DIGITS: u8 = 3;

/// The range a histogram covers before it first grows: one second.
const INITIAL_HIGHEST_NS: u64 = 1_000_000_000;

/// A latency distribution: HdrHistogram for quantiles, exact sums for the mean and the maximum.
#[derive(Clone, Debug)]
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
    count: u64,
    sum_ns: u128,
    max_ns: u64,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyRecorder {
    /// An empty recorder. Its histogram starts small and grows with the largest value
    /// recorded, so memory follows the latencies seen (logarithmically), not the run's length.
    pub fn new() -> LatencyRecorder {
        let mut histogram = Histogram::new_with_bounds(1, INITIAL_HIGHEST_NS, SIGNIFICANT_DIGITS)
            .expect("bounds 1..1s with 3 digits are always valid");
        histogram.auto(true);
        LatencyRecorder { histogram, count: 0, sum_ns: 0, max_ns: 0 }
    }

    /// Records one latency.
    #[inline]
    pub fn record(&mut self, latency: SimDuration) {
        let ns = latency.as_nanos();
        if self.histogram.record(ns).is_err() {
            // Growing failed (only possible where usize is 32 bits): clamp instead.
            self.histogram.saturating_record(ns);
        }
        self.count += 1;
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    /// The number of latencies recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The exact mean in nanoseconds, or `None` when nothing was recorded.
    pub fn mean_ns(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ns as f64 / self.count as f64)
    }

    /// The value at quantile `q` (0..=1) in nanoseconds, to 0.1%, or `None` when empty.
    pub fn quantile_ns(&self, q: f64) -> Option<u64> {
        (self.count > 0).then(|| self.histogram.value_at_quantile(q))
    }

    /// The fraction of recorded latencies at or below `ns` nanoseconds (to the histogram's
    /// resolution), or `None` when empty.
    pub fn fraction_at_or_below(&self, ns: u64) -> Option<f64> {
        (self.count > 0).then(|| {
            let below = self.histogram.count_between(0, ns);
            below as f64 / self.histogram.len() as f64
        })
    }

    /// Mean, quantiles and maximum in milliseconds.
    pub fn summary(&self) -> LatencySummary {
        let ms = |ns: u64| ns as f64 * 1e-6;
        LatencySummary {
            count: self.count,
            mean_ms: self.mean_ns().map(|ns| ns * 1e-6),
            p50_ms: self.quantile_ns(0.50).map(ms),
            p90_ms: self.quantile_ns(0.90).map(ms),
            p99_ms: self.quantile_ns(0.99).map(ms),
            p999_ms: self.quantile_ns(0.999).map(ms),
            max_ms: (self.count > 0).then(|| ms(self.max_ns)),
        }
    }
}

/// The time-weighted average of an integer quantity that changes at event times.
#[derive(Clone, Debug, Default)]
pub struct TimeAverage {
    value: u64,
    since: SimTime,
    start: SimTime,
    area: u128,
    max: u64,
}

impl TimeAverage {
    /// The current value.
    #[inline]
    pub fn value(&self) -> u64 {
        self.value
    }

    /// Sets the value at time `now` (not earlier than the previous change).
    #[inline]
    pub fn set(&mut self, now: SimTime, value: u64) {
        self.area += u128::from(self.value) * u128::from(now.saturating_since(self.since).as_nanos());
        self.since = now;
        self.value = value;
        self.max = self.max.max(value);
    }

    /// Adds one at time `now`.
    #[inline]
    pub fn increment(&mut self, now: SimTime) {
        self.set(now, self.value + 1);
    }

    /// Subtracts one at time `now`.
    #[inline]
    pub fn decrement(&mut self, now: SimTime) {
        debug_assert!(self.value > 0, "time average would go negative");
        self.set(now, self.value.saturating_sub(1));
    }

    /// Forgets the history before `now` (the end of the warm-up); the current value stays.
    pub fn reset(&mut self, now: SimTime) {
        self.area = 0;
        self.since = now;
        self.start = now;
        self.max = self.value;
    }

    /// The average from the last reset to `now`; the current value when no time has passed.
    pub fn mean(&self, now: SimTime) -> f64 {
        let span = now.saturating_since(self.start).as_nanos();
        if span == 0 {
            return self.value as f64;
        }
        let area = self.area + u128::from(self.value) * u128::from(now.saturating_since(self.since).as_nanos());
        area as f64 / span as f64
    }

    /// The largest value since the last reset.
    pub fn max(&self) -> u64 {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_average_weights_by_duration() {
        let mut avg = TimeAverage::default();
        avg.set(SimTime(0), 2); // 2 for 10ns
        avg.set(SimTime(10), 4); // 4 for 30ns
        assert_eq!(avg.mean(SimTime(40)), (2.0 * 10.0 + 4.0 * 30.0) / 40.0);
        avg.reset(SimTime(40));
        avg.decrement(SimTime(50)); // 4 for 10ns, then 3 for 10ns
        assert_eq!(avg.mean(SimTime(60)), 3.5);
        assert_eq!(avg.max(), 4);
    }

    #[test]
    fn recorder_quantiles_are_within_a_tenth_of_a_percent() {
        let mut rec = LatencyRecorder::new();
        for ms in 1..=1000u64 {
            rec.record(SimDuration::from_millis(ms));
        }
        let p99 = rec.quantile_ns(0.99).unwrap() as f64;
        assert!((p99 / 990e6 - 1.0).abs() < 1e-3, "{p99}");
        assert_eq!(rec.mean_ns(), Some(500.5e6));
        assert_eq!(rec.summary().max_ms, Some(1000.0));
        assert!(LatencyRecorder::new().summary().p50_ms.is_none());
        // Values far beyond the initial range grow the histogram instead of clamping.
        rec.record(SimDuration::from_secs(3600));
        assert_eq!(rec.summary().max_ms, Some(3_600_000.0));
        assert!((rec.quantile_ns(1.0).unwrap() as f64 / 3.6e12 - 1.0).abs() < 1e-3);
    }
}
