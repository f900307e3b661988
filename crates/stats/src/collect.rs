//! Streaming collectors: latency histograms with exact means, and time-weighted averages of
//! integer quantities (queue length, busy workers, requests in flight).

use hdrhistogram::Histogram;
use tailsim_engine::{SimDuration, SimTime};

use crate::summary::{Distribution, LatencySummary};

/// Significant decimal digits kept by the histograms: values are exact to 0.1%.
const SIGNIFICANT_DIGITS: u8 = 3;

/// The range a histogram covers before it first grows: 2,048 ns, its first bucket. Each doubling
/// past it adds one bucket (8 kB at three digits), so a histogram holds what its largest value
/// needs: one of millisecond latencies about 16 kB x 8, one that never sees a value 16 kB, where
/// starting at one second gave every histogram 21 buckets (172 kB). Growing keeps every bucket's
/// bounds, so the quantiles are the same.
const INITIAL_HIGHEST_NS: u64 = 2_048;

/// A latency distribution: HdrHistogram for quantiles, exact sums for the mean and the maximum.
#[derive(Clone, Debug)]
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
    /// Zero latencies, counted beside the histogram instead of recorded in it (a queue wait is
    /// zero for every visit that finds a worker free); every read adds them back as the
    /// histogram's first bucket, so the results are those of recording them.
    zeros: u64,
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
            .expect("bounds 1ns..2us with 3 digits are always valid");
        histogram.auto(true);
        LatencyRecorder { histogram, zeros: 0, count: 0, sum_ns: 0, max_ns: 0 }
    }

    /// Records a latency of zero: a count, where [`LatencyRecorder::record`] would spend a
    /// histogram update.
    #[inline(always)]
    pub fn record_zero(&mut self) {
        self.zeros += 1;
        self.count += 1;
    }

    /// Records one latency.
    #[inline(always)]
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
        if self.count == 0 {
            return None;
        }
        if self.zeros == 0 {
            return Some(self.histogram.value_at_quantile(q));
        }
        // HdrHistogram's own rule over the zeros and the histogram together: the value whose
        // cumulative count first reaches ceil(q x total), at least 1; the zeros come first.
        let total = self.histogram.len() + self.zeros;
        let q = if q > 1.0 { 1.0 } else { q };
        let rank = ((q * total as f64).ceil() as u64).max(1);
        if rank <= self.zeros {
            return Some(0);
        }
        // The (rank - zeros)-th value of the histogram, found by its own scan: asked for the
        // quantile (r - 1/2) / n of its n values, it looks for ceil(r - 1/2) = r.
        let in_histogram = rank - self.zeros;
        Some(self.histogram.value_at_quantile((in_histogram as f64 - 0.5) / self.histogram.len() as f64))
    }

    /// The fraction of recorded latencies at or below `ns` nanoseconds (to the histogram's
    /// resolution), or `None` when empty.
    pub fn fraction_at_or_below(&self, ns: u64) -> Option<f64> {
        (self.count > 0).then(|| {
            let below = self.histogram.count_between(0, ns) + self.zeros;
            below as f64 / (self.histogram.len() + self.zeros) as f64
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

    /// The distribution in log-spaced buckets ([`BUCKETS_PER_DECADE`] per factor of ten), from
    /// the first bucket with a count to the last: at most a few hundred buckets whatever was
    /// recorded. Each HdrHistogram bucket goes whole into the log bucket of its highest value (the
    /// value HdrHistogram reports percentiles at), so a latency within 0.1% below an edge may be
    /// counted above it; a latency exactly at an edge (a round 1 ms, 100 ms) is always counted above.
    pub fn distribution(&self) -> Distribution {
        let mut counts: Vec<u64> = Vec::new();
        // The values come in increasing order: walk the buckets along them, finding only the
        // first by search (a search per value cost ~8M instructions in an M/M/1 run of 100,000).
        let last = DECADES * DECADE_EDGES.len() - 1;
        let mut walk: Option<(usize, u128)> = None; // the bucket, and its upper edge (milli-ns)
        let zeros = (self.zeros > 0).then_some((0, self.zeros));
        let recorded = self.histogram.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value()));
        for (ns, count) in zeros.into_iter().chain(recorded) {
            let scaled = u128::from(ns) * 1000;
            let (mut bucket, mut upper) = walk.unwrap_or_else(|| {
                let b = log_bucket(ns);
                (b, if b < last { log_edge_milli_ns(b + 1) } else { u128::MAX })
            });
            while upper <= scaled {
                bucket += 1;
                upper = if bucket < last { log_edge_milli_ns(bucket + 1) } else { u128::MAX };
            }
            walk = Some((bucket, upper));
            debug_assert_eq!(bucket, log_bucket(ns));
            if counts.len() <= bucket {
                counts.resize(bucket + 1, 0);
            }
            counts[bucket] += count;
        }
        let Some(first) = counts.iter().position(|&c| c > 0) else {
            return Distribution { buckets_per_decade: BUCKETS_PER_DECADE, edges_ms: Vec::new(), counts: Vec::new() };
        };
        let counts = counts.split_off(first);
        let edges_ms = (first..=first + counts.len()).map(log_edge_ms).collect();
        Distribution { buckets_per_decade: BUCKETS_PER_DECADE, edges_ms, counts }
    }
}

/// Buckets per factor of ten in a [`Distribution`]: each is about 12% wider than the last.
pub const BUCKETS_PER_DECADE: u32 = 20;

impl Distribution {
    /// The distributions added bucket by bucket: the latencies of all of them in one (every
    /// replication of a design, every class of a client). Exact, because every distribution
    /// [`LatencyRecorder::distribution`] makes lies on the same grid. A distribution whose first
    /// edge is not on that grid (made by hand, not by a recorder) is left out.
    pub fn pooled<'a>(distributions: impl IntoIterator<Item = &'a Distribution>) -> Distribution {
        let mut counts: Vec<u64> = Vec::new();
        let mut first = usize::MAX;
        let mut parts = Vec::new();
        for d in distributions {
            let Some(&edge) = d.edges_ms.first() else { continue };
            let Some(start) = grid_index(edge) else { continue };
            first = first.min(start);
            parts.push((start, d));
        }
        for (start, d) in parts {
            let offset = start - first;
            if counts.len() < offset + d.counts.len() {
                counts.resize(offset + d.counts.len(), 0);
            }
            for (total, &count) in counts[offset..].iter_mut().zip(&d.counts) {
                *total += count;
            }
        }
        // Trim empty ends, as a recorder's distribution has none.
        let Some(low) = counts.iter().position(|&c| c > 0) else {
            return Distribution { buckets_per_decade: BUCKETS_PER_DECADE, edges_ms: Vec::new(), counts: Vec::new() };
        };
        let high = counts.iter().rposition(|&c| c > 0).unwrap_or(low);
        let counts = counts[low..=high].to_vec();
        let first = first + low;
        let edges_ms = (first..=first + counts.len()).map(log_edge_ms).collect();
        Distribution { buckets_per_decade: BUCKETS_PER_DECADE, edges_ms, counts }
    }
}

/// The index of the log bucket whose lower edge is `edge_ms` exactly, if it is one.
fn grid_index(edge_ms: f64) -> Option<usize> {
    let buckets = DECADES * DECADE_EDGES.len();
    let (mut low, mut high) = (0, buckets);
    while low < high {
        let mid = (low + high) / 2;
        if log_edge_ms(mid) < edge_ms { low = mid + 1 } else { high = mid }
    }
    (low < buckets && log_edge_ms(low) == edge_ms).then_some(low)
}

/// 10^(i/20) for i in 0..20, to four significant digits, times 1000: the edges of the log
/// buckets within one decade. Integers, so that bucketing is exact and the same on every
/// machine.
const DECADE_EDGES: [u64; BUCKETS_PER_DECADE as usize] = [
    1000, 1122, 1259, 1413, 1585, 1778, 1995, 2239, 2512, 2818, 3162, 3548, 3981, 4467, 5012, 5623, 6310, 7079, 7943,
    8913,
];

/// Decades of nanoseconds the log buckets cover: from 1 ns to beyond `u64::MAX` ns.
const DECADES: usize = 20;

/// The lower edge of log bucket `i` in thousandths of a nanosecond.
fn log_edge_milli_ns(i: usize) -> u128 {
    let decade = (i / DECADE_EDGES.len()) as u32;
    u128::from(DECADE_EDGES[i % DECADE_EDGES.len()]) * 10u128.pow(decade)
}

/// The lower edge of log bucket `i` in milliseconds. One IEEE operation on exact operands, so
/// the same bits on every machine.
fn log_edge_ms(i: usize) -> f64 {
    let decade = (i / DECADE_EDGES.len()) as i32;
    let mantissa = DECADE_EDGES[i % DECADE_EDGES.len()] as f64;
    // edge = mantissa x 10^(decade - 3) ns = mantissa x 10^(decade - 9) ms.
    let exponent = decade - 9;
    if exponent >= 0 { mantissa * 10f64.powi(exponent) } else { mantissa / 10f64.powi(-exponent) }
}

/// The log bucket of a value in nanoseconds: the last bucket whose lower edge is at or below
/// it. Values below 1 ns (zero) fall into bucket 0.
fn log_bucket(ns: u64) -> usize {
    let scaled = u128::from(ns) * 1000;
    let buckets = DECADES * DECADE_EDGES.len();
    // The number of edges at or below the value, minus one.
    let mut low = 0;
    let mut high = buckets;
    while low < high {
        let mid = (low + high) / 2;
        if log_edge_milli_ns(mid) <= scaled { low = mid + 1 } else { high = mid }
    }
    low.saturating_sub(1)
}

/// Latencies of one time-series window, for its percentiles: 2 significant digits (1%) from
/// 1 µs, coarser than [`LatencyRecorder`] so that emptying and reading it at every window
/// costs little. Windows are reported, not analysed; the run's statistics come from the full
/// recorder.
#[derive(Clone, Debug)]
pub struct WindowRecorder {
    histogram: Histogram<u64>,
}

impl Default for WindowRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowRecorder {
    /// An empty recorder; it grows with the largest value, like [`LatencyRecorder`].
    pub fn new() -> WindowRecorder {
        let mut histogram =
            Histogram::new_with_bounds(1_000, INITIAL_HIGHEST_NS, 2).expect("bounds 1us..2us with 2 digits are valid");
        histogram.auto(true);
        WindowRecorder { histogram }
    }

    /// Records one latency.
    #[inline(always)]
    pub fn record(&mut self, latency: SimDuration) {
        let ns = latency.as_nanos();
        if self.histogram.record(ns).is_err() {
            self.histogram.saturating_record(ns);
        }
    }

    /// Adds what `other` recorded.
    pub fn add(&mut self, other: &WindowRecorder) {
        if self.histogram.add(&other.histogram).is_err() {
            // Auto-resizing recorders only fail to add what neither can hold: keep the largest.
            self.histogram.saturating_record(other.histogram.max());
        }
    }

    /// Forgets everything recorded.
    pub fn clear(&mut self) {
        self.histogram.reset();
    }

    /// The `q` quantile in milliseconds of what was recorded, `None` if nothing was.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        (!self.histogram.is_empty()).then(|| self.histogram.value_at_quantile(q) as f64 * 1e-6)
    }

    /// The window's p50 and p99 in milliseconds (`None` when it recorded nothing), and empties
    /// it for the next window.
    pub fn take_p50_p99_ms(&mut self) -> (Option<f64>, Option<f64>) {
        if self.histogram.is_empty() {
            return (None, None);
        }
        let ms = |q: f64| Some(self.histogram.value_at_quantile(q) as f64 * 1e-6);
        let quantiles = (ms(0.50), ms(0.99));
        self.histogram.reset();
        quantiles
    }
}

/// How many items are inside something (requests in flight, visits queued or holding a worker)
/// and its time-weighted average since a start time, computed from the items' stays: each item
/// adds the part of its stay after `from` when it leaves, and the items still inside at the end
/// are added by the caller through [`Occupancy::stay`]. The integral is the same as summing
/// count x time between changes, at one addition per item instead of a multiplication per change.
///
/// It also keeps the integral over the whole run, for time series: `base + inside x t` is the
/// integral up to `t` (each item adds `-entered` when it comes in and `+left` when it leaves).
#[derive(Clone, Debug, Default)]
pub struct Occupancy {
    inside: u64,
    max_after_start: u64,
    area_ns: u128,
    base_ns: i128,
}

impl Occupancy {
    /// The part of a stay from `entered` to `until` that lies after `from`, in nanoseconds.
    #[inline]
    pub fn stay(entered: SimTime, until: SimTime, from: SimTime) -> u128 {
        u128::from(until.saturating_since(entered.max(from)).as_nanos())
    }

    /// An item comes in at `now`; `measured` says whether `now` is past the start of
    /// measurement, for the maximum.
    #[inline]
    pub fn enter(&mut self, now: SimTime, measured: bool) {
        self.inside += 1;
        self.base_ns -= i128::from(now.as_nanos());
        if measured && self.inside > self.max_after_start {
            self.max_after_start = self.inside;
        }
    }

    /// An item that came in at `entered` leaves at `now`; only its stay after `from` counts.
    #[inline]
    pub fn leave(&mut self, entered: SimTime, now: SimTime, from: SimTime) {
        debug_assert!(self.inside > 0, "occupancy would go negative");
        self.inside = self.inside.saturating_sub(1);
        self.area_ns += Occupancy::stay(entered, now, from);
        self.base_ns += i128::from(now.as_nanos());
    }

    /// The integral of the number inside from the start of the run to `t` (no earlier than the
    /// last change), in item-nanoseconds.
    pub fn integral_ns(&self, t: SimTime) -> i128 {
        self.base_ns + i128::from(self.inside) * i128::from(t.as_nanos())
    }

    /// The summed stays after the start of measurement of the items that have left, in
    /// item-nanoseconds.
    pub fn area_ns(&self) -> u128 {
        self.area_ns
    }

    /// Items inside now.
    pub fn inside(&self) -> u64 {
        self.inside
    }

    /// The largest number inside at any moment after the start of measurement.
    pub fn max(&self) -> u64 {
        self.max_after_start
    }

    /// The time-weighted average over `[from, until]`, given the summed stays after `from` of
    /// the items still inside (`open_area_ns`).
    pub fn mean(&self, open_area_ns: u128, from: SimTime, until: SimTime) -> f64 {
        let span = until.saturating_since(from).as_nanos();
        if span == 0 {
            return self.inside as f64;
        }
        (self.area_ns + open_area_ns) as f64 / span as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counting zeros beside the histogram gives what recording them gives, to the bit: every
    /// quantile (HdrHistogram's rank rule, at 0 and past 1 too), the fraction below each value,
    /// the log-bucket distribution and the summary, over mixes from no zeros to all zeros.
    #[test]
    fn zeros_counted_read_as_zeros_recorded() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        for mix in 0..40u64 {
            let (mut counted, mut recorded) = (LatencyRecorder::new(), LatencyRecorder::new());
            for _ in 0..(1 + next() % 3_000) {
                let ns = if next() % 40 < mix { 0 } else { next() % 50_000_000 };
                recorded.record(SimDuration::from_nanos(ns));
                if ns == 0 { counted.record_zero() } else { counted.record(SimDuration::from_nanos(ns)) }
            }
            for q in [0.0, 1e-9, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0, 1.5] {
                assert_eq!(counted.quantile_ns(q), recorded.quantile_ns(q), "mix {mix}, q {q}");
            }
            for ns in [0, 1, 999, 1_000_000, 60_000_000] {
                assert_eq!(counted.fraction_at_or_below(ns), recorded.fraction_at_or_below(ns), "mix {mix}");
            }
            let same = |a: &LatencyRecorder| format!("{:?} {:?}", a.distribution(), a.summary());
            assert_eq!(same(&counted), same(&recorded), "mix {mix}");
        }
    }

    /// Two items: one inside over [0, 40), one over [10, 60); measured from 20 to 60 the
    /// average is ((40 - 20) + (60 - 20)) / 40 = 1.5.
    #[test]
    fn occupancy_integrates_stays_after_the_start() {
        let from = SimTime(20);
        let mut occupancy = Occupancy::default();
        occupancy.enter(SimTime(0), false);
        occupancy.enter(SimTime(10), false);
        assert_eq!(occupancy.max(), 0);
        occupancy.leave(SimTime(0), SimTime(40), from);
        let open = Occupancy::stay(SimTime(10), SimTime(60), from);
        assert_eq!(occupancy.mean(open, from, SimTime(60)), 1.5);
        // Over the whole run: 40 + 50 by t = 60.
        assert_eq!(occupancy.integral_ns(SimTime(60)), 90);
        occupancy.enter(SimTime(60), true);
        assert_eq!((occupancy.inside(), occupancy.max()), (2, 2));
        assert_eq!(occupancy.integral_ns(SimTime(70)), 90 + 10 + 10);
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
        // A window's recorder: within 1%, and empty again once read.
        let mut window = WindowRecorder::new();
        for ms in 1..=1000u64 {
            window.record(SimDuration::from_millis(ms));
        }
        let (p50, p99) = window.take_p50_p99_ms();
        assert!((p50.unwrap() / 500.0 - 1.0).abs() < 0.01 && (p99.unwrap() / 990.0 - 1.0).abs() < 0.01);
        assert_eq!(window.take_p50_p99_ms(), (None, None));
        // Values far beyond the initial range grow the histogram instead of clamping.
        rec.record(SimDuration::from_secs(3600));
        assert_eq!(rec.summary().max_ms, Some(3_600_000.0));
        assert!((rec.quantile_ns(1.0).unwrap() as f64 / 3.6e12 - 1.0).abs() < 1e-3);
    }

    #[test]
    fn log_buckets_have_exact_edges() {
        assert_eq!(log_bucket(0), 0);
        assert_eq!(log_bucket(1), 0);
        assert_eq!(log_bucket(10), 20);
        assert_eq!(log_bucket(9), 19);
        // 1 ms = 10^6 ns is the first edge of decade 6.
        assert_eq!(log_bucket(1_000_000), 120);
        assert_eq!(log_bucket(999_999), 119);
        assert_eq!(log_edge_ms(120), 1.0);
        assert_eq!(log_edge_ms(121), 1.122);
        assert_eq!(log_edge_ms(0), 1e-6);
        assert_eq!(log_edge_ms(180), 1000.0);
        // The largest value fits in the last decade.
        assert!(log_bucket(u64::MAX) < DECADES * DECADE_EDGES.len());
        assert!(log_edge_milli_ns(log_bucket(u64::MAX)) <= u128::from(u64::MAX) * 1000);
        // Edges grow by about 12% each.
        for i in 1..DECADES * DECADE_EDGES.len() {
            let ratio = log_edge_ms(i) / log_edge_ms(i - 1);
            assert!((1.11..1.13).contains(&ratio), "{i}: {ratio}");
        }
    }

    #[test]
    fn distribution_counts_every_latency_in_its_bucket() {
        let mut rec = LatencyRecorder::new();
        assert!(rec.distribution().counts.is_empty());
        // 1,000 latencies at 1 ms, 10 at 100 ms, 1 at 1 h.
        for _ in 0..1000 {
            rec.record(SimDuration::from_millis(1));
        }
        for _ in 0..10 {
            rec.record(SimDuration::from_millis(100));
        }
        rec.record(SimDuration::from_secs(3600));
        let d = rec.distribution();
        assert_eq!(d.buckets_per_decade, 20);
        assert_eq!(d.edges_ms.len(), d.counts.len() + 1);
        assert_eq!(d.counts.iter().sum::<u64>(), 1011);
        assert_eq!(d.edges_ms[0], 1.0);
        assert_eq!(d.counts[0], 1000);
        // 100 ms is two decades (40 buckets) above 1 ms.
        assert_eq!(d.edges_ms[40], 100.0);
        assert_eq!(d.counts[40], 10);
        // 3.6e6 ms lies in [3.548e6, 3.981e6).
        let last = d.counts.len() - 1;
        assert_eq!(d.counts[last], 1);
        assert!(d.edges_ms[last] <= 3.6e6 && 3.6e6 < d.edges_ms[last + 1], "{:?}", &d.edges_ms[last..]);
        assert_eq!(d.counts[1..40].iter().sum::<u64>(), 0);
    }

    #[test]
    fn pooled_distributions_add_bucket_by_bucket() {
        let recorder = |values_us: &[u64]| {
            let mut rec = LatencyRecorder::new();
            for &us in values_us {
                rec.record(SimDuration::from_nanos(us * 1000));
            }
            rec
        };
        let a = recorder(&[1000, 1000, 50_000]);
        let b = recorder(&[20, 1000, 7_000_000]);
        let both = recorder(&[1000, 1000, 50_000, 20, 1000, 7_000_000]);
        let pooled = Distribution::pooled([&a.distribution(), &b.distribution(), &Distribution::default()]);
        assert_eq!(pooled.edges_ms, both.distribution().edges_ms);
        assert_eq!(pooled.counts, both.distribution().counts);
        assert_eq!(pooled.counts.iter().sum::<u64>(), 6);
        // Nothing, or only distributions off the grid, pool to nothing.
        assert!(Distribution::pooled([]).edges_ms.is_empty());
        let off_grid = Distribution { buckets_per_decade: 20, edges_ms: vec![1.05, 1.2], counts: vec![3] };
        assert!(Distribution::pooled([&off_grid]).counts.is_empty());
        assert_eq!(Distribution::pooled([&off_grid, &a.distribution()]).counts, a.distribution().counts);
        assert_eq!(grid_index(1.0), Some(120));
        assert_eq!(grid_index(1.1), None);
    }
}
