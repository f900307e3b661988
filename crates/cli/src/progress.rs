//! Progress bars on standard error for work that takes more than a second: runs done and
//! simulated time, across replications, variants and sweep points.
//!
//! The runs only add to the atomic counters of [`PROGRESS`] at their periodic checks; a
//! separate thread polls them ten times a second and draws the bar. Nothing is drawn for the
//! first second, with `--quiet`, or when standard output or standard error is not a terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tailsim_sim::Progress;

/// The counters every run of this process reports to.
pub static PROGRESS: Progress = Progress::new();

/// How long work must have run before a bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// How often the counters are polled.
const POLL: Duration = Duration::from_millis(100);

/// Whether bars should be drawn: not `--quiet`, and both outputs are terminals.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal() && std::io::stdout().is_terminal()
}

/// A bar watching [`PROGRESS`]; dropping it (or [`Bar::finish`]) clears it.
pub struct Bar {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Bar {
    /// Resets the counters and, if `enabled`, starts watching `runs` runs of `total_ns`
    /// simulated nanoseconds in all; `what` names the runs ("replications", "runs").
    pub fn start(enabled: bool, runs: u64, total_ns: u64, what: &str) -> Bar {
        PROGRESS.reset();
        let stop = Arc::new(AtomicBool::new(false));
        if !enabled || runs == 0 {
            return Bar { stop, thread: None };
        }
        let what = what.to_string();
        let stopped = Arc::clone(&stop);
        // A thread that cannot be started only loses the bar.
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || watch(&stopped, runs, total_ns, &what))
            .ok();
        Bar { stop, thread }
    }

    /// Stops and clears the bar.
    pub fn finish(self) {}
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch(stop: &AtomicBool, runs: u64, total_ns: u64, what: &str) {
    let started = Instant::now();
    let total_s = total_ns as f64 * 1e-9;
    let mut bar: Option<ProgressBar> = None;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(POLL);
        if started.elapsed() < SHOW_AFTER {
            continue;
        }
        let bar = bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(total_ns.max(1)), ProgressDrawTarget::stderr())
                .with_elapsed(started.elapsed());
            let style = ProgressStyle::with_template("{elapsed:>4} {bar:24} {percent:>3}% {msg}, ~{eta} left")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        let done_ns = PROGRESS.simulated_ns.load(Ordering::Relaxed).min(total_ns);
        let done_runs = PROGRESS.runs_done.load(Ordering::Relaxed).min(runs);
        bar.set_position(done_ns);
        bar.set_message(format!(
            "{done_runs}/{runs} {what}, {}/{} sim-s",
            seconds(done_ns as f64 * 1e-9),
            seconds(total_s)
        ));
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

fn seconds(s: f64) -> String {
    if s >= 100.0 { format!("{s:.0}") } else { format!("{s:.1}") }
}
