//! What `compare` and `sweep` share with `run`: reading a scenario file, turning its
//! diagnostics into a failure, parsing `--set` and `--duration`, and the run limits.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use tailsim_engine::SimDuration;
use tailsim_model::{Diagnostic, Limits, Override};

use crate::{Failure, INTERRUPTED};

/// The options `compare` and `sweep` share: what every run gets, and where results go.
#[derive(clap::Args)]
pub struct BatchArgs {
    /// Override one value in every run, e.g. `--set clients.users.rate=1200`; repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Master seed of every run [default: the (first) scenario's `seed`, else 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration, overriding the scenario's, e.g. `--duration 10m`.
    #[arg(long)]
    pub duration: Option<String>,
    /// The client whose latency is reported [default: the first client].
    #[arg(long)]
    pub client: Option<String>,
    /// Worker threads [default: one per core].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output folder [default: out/<(first) scenario name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Stop a run (marked truncated) when this many requests are in flight at once.
    #[arg(long, default_value_t = Limits::default().max_in_flight)]
    pub max_in_flight: u64,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Write no charts (SVG, PNG) and no HTML page; the data files still are.
    #[arg(long)]
    pub no_charts: bool,
}

/// Reads a scenario file's text.
pub fn read(file: &Path) -> Result<String, Failure> {
    fs::read_to_string(file).map_err(|e| {
        let d = Diagnostic::error(format!("cannot read {}: {e}", file.display()));
        Failure { message: format!("error: {}", d.message), diagnostics: vec![d], code: 2 }
    })
}

/// Where the trace files of the scenario in `file` are: paths relative to its folder.
pub fn files(file: &Path) -> tailsim_model::Files {
    tailsim_model::Files::in_dir(file.parent().unwrap_or(Path::new("")))
}

/// The scenario's errors, rendered against its text: exit code 2.
pub fn scenario_failure(file: &str, source: &str, errors: Vec<Diagnostic>) -> Failure {
    let rendered: Vec<String> = errors.iter().map(|d| d.render(file, source)).collect();
    let count = errors.len();
    Failure {
        code: 2,
        message: format!("{}\n{file}: {count} error{} found", rendered.join("\n"), if count == 1 { "" } else { "s" }),
        diagnostics: errors,
    }
}

/// `--set` texts and an optional `--duration` as overrides.
pub fn overrides(set: &[String], duration: Option<&str>) -> Result<Vec<Override>, Failure> {
    let mut out = Vec::new();
    for text in set {
        out.push(Override::parse(text).map_err(|d| Failure {
            message: d.render("--set", ""),
            diagnostics: vec![d],
            code: 2,
        })?);
    }
    if let Some(duration) = duration {
        SimDuration::parse(duration)
            .map_err(|e| Failure::input(format!("error: --duration {duration}: {e}; write e.g. 60s or 10m")))?;
        out.push(Override { path: "duration".into(), value: duration.to_string() });
    }
    Ok(out)
}

/// Limits for a batch of runs: the in-flight bound, Ctrl-C, and progress reporting.
pub fn limits(max_in_flight: u64) -> Limits {
    // Ctrl-C stops every run at its next check. Failing to install the handler (another one
    // exists) only loses that convenience.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::Relaxed));
    Limits {
        max_in_flight: max_in_flight.max(1),
        stop: Some(&INTERRUPTED),
        progress: Some(&crate::progress::PROGRESS),
        ..Limits::default()
    }
}

/// A thread pool of `threads` workers (default one per core).
pub fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Failure> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| Failure::input(format!("error: cannot start threads: {e}")))
}

/// The exit code and message of a batch that stopped early: 130 after Ctrl-C, else 1.
pub fn truncated(why: &str, written: &Path) -> u8 {
    eprintln!(
        "error: a run stopped early: {why}\nthe partial results are in {}, marked as truncated",
        written.display()
    );
    if INTERRUPTED.load(Ordering::Relaxed) { 130 } else { 1 }
}
