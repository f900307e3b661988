//! What a service's visits add up to in a run: its counts, the time-weighted occupancies of its
//! workers, queue and waits, its latencies, and its time series, read by the windows and the
//! summary.

use tailsim_stats::{LatencyRecorder, Occupancy, ServiceSeries};

/// A service's counts and measurements. Counts and recorders are of the visits counted (those
/// that arrived after the warm-up), except those named `_total`.
pub(super) struct ServiceStats {
    /// Visits that arrived.
    pub(super) arrivals: u64,
    /// Of those, the ones admitted: given a worker or a place in the queue.
    pub(super) admitted: u64,
    /// Visits that waited in the queue before their first worker.
    pub(super) waited: u64,
    /// Visits refused at the door: a full queue, a limit, an outage.
    pub(super) rejected: u64,
    /// Visits that finished after being served.
    pub(super) completed: u64,
    /// Visits taken out of the queue before a worker took them: their caller gave up on them.
    pub(super) dropped: u64,
    /// Visits shed for waiting longer than `shed_after`.
    pub(super) shed: u64,
    /// Visits lost in crashes.
    pub(super) lost: u64,
    /// Visits each fault lost (crashes only), by the fault's index in the service's list.
    pub(super) fault_lost: Vec<u64>,
    /// Time in the system of the dropped, shed and lost visits, for Little's law.
    pub(super) dropped_ns: u128,
    /// Worker time spent on answers nobody wanted (given up on by their caller, or lost).
    pub(super) wasted_ns: u128,
    /// Every arrival, warm-up included, for the conservation check and the windows.
    pub(super) arrivals_total: u64,
    /// Every visit that left, warm-up included.
    pub(super) finished_total: u64,
    /// Visits refused as they arrived whose end never ran: the run stopped inside the event
    /// that refused them.
    pub(super) refused_unended: u64,
    /// Busy workers over time.
    pub(super) busy: Occupancy,
    /// Visits in the queue over time.
    pub(super) queued: Occupancy,
    /// Async visits waiting for their calls without a worker.
    pub(super) awaiting: Occupancy,
    /// Time in the service of the visits served.
    pub(super) latency: LatencyRecorder,
    /// Time in the queue before the first worker of the visits given one (zero for those that
    /// found a worker free).
    pub(super) queue_wait: LatencyRecorder,
    /// The time series, one element per closed window.
    pub(super) series: ServiceSeries,
    /// `arrivals_total` and the busy, queued and instance integrals when the open window began.
    pub(super) window_start: (u64, i128, i128, i128),
    /// Visits stopped by the statement timeout.
    pub(super) statement_timeouts: u64,
}

impl ServiceStats {
    /// Nothing counted yet, for a service with `faults` faults and windows of `window_s`.
    pub(super) fn new(faults: usize, window_s: f64) -> ServiceStats {
        ServiceStats {
            arrivals: 0,
            admitted: 0,
            waited: 0,
            rejected: 0,
            completed: 0,
            dropped: 0,
            shed: 0,
            lost: 0,
            fault_lost: vec![0; faults],
            dropped_ns: 0,
            wasted_ns: 0,
            arrivals_total: 0,
            finished_total: 0,
            refused_unended: 0,
            busy: Occupancy::default(),
            queued: Occupancy::default(),
            awaiting: Occupancy::default(),
            latency: LatencyRecorder::new(),
            queue_wait: LatencyRecorder::new(),
            series: ServiceSeries { window_s, ..ServiceSeries::default() },
            window_start: (0, 0, 0, 0),
            statement_timeouts: 0,
        }
    }

    /// Little's W over every admitted visit that left: served, or dropped, shed or lost from
    /// the queue; in seconds.
    pub(super) fn mean_stay_s(&self) -> f64 {
        let served_ns = self.latency.mean_ns().unwrap_or(0.0) * self.latency.count() as f64;
        let left = self.latency.count() + self.dropped + self.shed + self.lost;
        if left > 0 { (served_ns + self.dropped_ns as f64) * 1e-9 / left as f64 } else { 0.0 }
    }
}
