//! What a fault's summary needs to tell when latency came back: every client's successful
//! answers since the warm-up (its p99 when a fault starts is the level before it), and over the
//! last [`RUN`] windows (their pooled p99, window by window). A single window's p99 rests on 1%
//! of its requests, often a handful; five windows pooled are steadier, and five windows in a
//! row is also what goodput must hold to count as recovered.

use tailsim_engine::SimDuration;
use tailsim_stats::WindowRecorder;

/// Windows in a row that must be back to normal.
pub const RUN: usize = 5;

/// Successful latencies kept for the fault summaries, only in runs with faults.
#[derive(Debug)]
pub struct Recovery {
    since_warmup: WindowRecorder,
    /// The last `RUN` windows', window `k` in slot `k % RUN`, and a scratch one to pool them.
    recent: [WindowRecorder; RUN],
    pooled: WindowRecorder,
    /// For each closed window, the p99 of it and the `RUN - 1` before it (`None` for the first
    /// `RUN - 1` windows, and where nothing succeeded).
    pub p99_of_run: Vec<Option<f64>>,
    /// The windows whose close fixes a level before (`(window, p99 since the warm-up then)`),
    /// filled in as they close.
    pub before: Vec<(usize, Option<f64>)>,
}

impl Recovery {
    /// Keeps the p99 since the warm-up at the close of each window in `snapshots`.
    pub fn new(snapshots: impl IntoIterator<Item = usize>) -> Recovery {
        let mut before: Vec<(usize, Option<f64>)> = snapshots.into_iter().map(|w| (w, None)).collect();
        before.sort_unstable_by_key(|&(w, _)| w);
        before.dedup_by_key(|&mut (w, _)| w);
        Recovery {
            since_warmup: WindowRecorder::new(),
            recent: std::array::from_fn(|_| WindowRecorder::new()),
            pooled: WindowRecorder::new(),
            p99_of_run: Vec::new(),
            before,
        }
    }

    /// A request sent after the warm-up succeeded in window `window` after `latency`.
    #[inline]
    pub fn record(&mut self, window: usize, latency: SimDuration) {
        self.since_warmup.record(latency);
        self.recent[window % RUN].record(latency);
    }

    /// Window `window` closes (windows close in order, each once).
    pub fn close(&mut self, window: usize) {
        if let Ok(k) = self.before.binary_search_by_key(&window, |&(w, _)| w) {
            self.before[k].1 = self.since_warmup.quantile_ms(0.99);
        }
        let p99 = if window + 1 >= RUN {
            self.pooled.clear();
            for recent in &self.recent {
                self.pooled.add(recent);
            }
            self.pooled.quantile_ms(0.99)
        } else {
            None
        };
        self.p99_of_run.push(p99);
        // The slot becomes window `window + 1`'s.
        self.recent[(window + 1) % RUN].clear();
    }

    /// The p99 since the warm-up at the close of window `window`, if it was asked for.
    pub fn before(&self, window: usize) -> Option<f64> {
        let k = self.before.binary_search_by_key(&window, |&(w, _)| w).ok()?;
        self.before[k].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Windows 0..7 of one latency each, k + 1 ms in window k: the run of five ending at window
    /// 6 holds 3..7 ms, whose p99 is 7 ms; the level kept at window 2 holds 1..3 ms.
    #[test]
    fn pools_the_last_five_windows() {
        let mut recovery = Recovery::new([2]);
        for window in 0..7 {
            recovery.record(window, SimDuration::from_millis(window as u64 + 1));
            recovery.close(window);
        }
        assert_eq!(recovery.p99_of_run[..4], [None; 4]);
        let close = |got: Option<f64>, want: f64| (got.expect("recorded") - want).abs() < want * 0.01;
        assert!(close(recovery.p99_of_run[4], 5.0), "{:?}", recovery.p99_of_run);
        assert!(close(recovery.p99_of_run[6], 7.0), "{:?}", recovery.p99_of_run);
        assert!(close(recovery.before(2), 3.0), "{:?}", recovery.before);
        assert_eq!(recovery.before(3), None);
    }
}
