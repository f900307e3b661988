//! What `compare` and `sweep` share with `run`: reading a scenario file, turning its
//! diagnostics into a failure, parsing `--set` and `--duration`, and the run limits.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use tailsim_engine::SimDuration;
use tailsim_model::{Diagnostic, Override};
use tailsim_sim::Limits;
use tailsim_sim::shard::{Shard, ShardFile, Work};

use tailsim_report::write::{ChartsWritten, OutputError};

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
    /// Output folder [default: out/<(first) scenario name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Trace folders the scenario may read besides its own.
    #[command(flatten)]
    pub paths: PathArgs,
    /// How long the runs may go and on how many threads.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Write no charts (SVG, PNG) and no HTML page; the data files still are.
    #[arg(long)]
    pub no_charts: bool,
    #[command(flatten)]
    pub shard: ShardArgs,
}

/// Reads a scenario file's text.
pub fn read(file: &Path) -> Result<String, Failure> {
    fs::read_to_string(file).map_err(|e| {
        let d = Diagnostic::error(format!("cannot read {}: {e}", file.display()));
        Failure { message: format!("error: {}", d.message), diagnostics: vec![d], code: 2 }
    })
}

/// Where the trace files of the scenario in `file` are: paths relative to its folder, which
/// they may not leave unless into a folder `paths` allows.
pub fn files(file: &Path, paths: &PathArgs) -> tailsim_model::Files {
    tailsim_model::Files::in_dir(file.parent().unwrap_or(Path::new(""))).allowing(&paths.allow)
}

/// The most diagnostics of one kind a command prints; `check --json` gives them all.
pub const MAX_SHOWN: usize = 20;

/// The first [`MAX_SHOWN`] diagnostics rendered against the scenario's text, then how many
/// more there are: a file with thousands of faults gets a page, not megabytes.
/// Errors are set apart by a blank line (`between`), warnings follow each other.
fn rendered(file: &str, source: &str, diagnostics: &[Diagnostic], what: &str, between: &str) -> String {
    let shown: Vec<String> = diagnostics.iter().take(MAX_SHOWN).map(|d| d.render(file, source)).collect();
    let mut out = shown.join(between);
    if diagnostics.len() > MAX_SHOWN {
        out.push_str(&format!(
            "{between}... and {} more {what} (`tailsim check --json` lists them all)\n",
            diagnostics.len() - MAX_SHOWN
        ));
    }
    out
}

/// Prints the scenario's warnings to standard error, at most [`MAX_SHOWN`] of them.
pub fn print_warnings(file: &str, source: &str, warnings: &[Diagnostic]) {
    eprint!("{}", rendered(file, source, warnings, "warnings", ""));
}

/// The scenario's errors, rendered against its text: exit code 2.
pub fn scenario_failure(file: &str, source: &str, errors: Vec<Diagnostic>) -> Failure {
    let count = errors.len();
    Failure {
        code: 2,
        message: format!(
            "{}\n{file}: {count} error{} found",
            rendered(file, source, &errors, "errors", "\n"),
            if count == 1 { "" } else { "s" }
        ),
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

/// The folders a scenario's traces may be read from besides its own.
#[derive(clap::Args)]
pub struct PathArgs {
    /// Let the scenario's traces be read from DIR too (and its subfolders); repeatable. Without
    /// it, a trace must be in the scenario file's folder or below.
    #[arg(long = "allow-path", value_name = "DIR")]
    pub allow: Vec<PathBuf>,
}

/// The limits every run is held to, and the threads it runs on.
#[derive(clap::Args)]
pub struct LimitArgs {
    /// Worker threads [default: one per core].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Stop a run (marked truncated) when this many requests, or this many visits and calls
    /// inside them, are in flight at once.
    #[arg(long, default_value_t = Limits::default().max_in_flight)]
    pub max_in_flight: u64,
    /// Stop a run (marked truncated) after this many events.
    #[arg(long)]
    pub max_events: Option<u64>,
    /// Stop a run (marked truncated) after this much wall-clock time, e.g. `5m`; drawing the
    /// charts afterwards is held to it too.
    #[arg(long)]
    pub max_wall_time: Option<String>,
}

/// `--max-wall-time`'s duration, if it was given.
pub fn max_wall_time(text: Option<&str>) -> Result<Option<std::time::Duration>, Failure> {
    let Some(text) = text else { return Ok(None) };
    SimDuration::parse(text)
        .map(|d| Some(std::time::Duration::from_nanos(d.as_nanos())))
        .map_err(|e| Failure::input(format!("error: --max-wall-time {text}: {e}; write e.g. 30s or 5m")))
}

/// The most worker threads a command starts: beyond a few per core, threads only cost.
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    (4 * cores).max(64)
}

impl LimitArgs {
    /// The limits, with Ctrl-C and progress reporting wired in.
    pub fn limits(&self) -> Result<Limits, Failure> {
        let max_wall = max_wall_time(self.max_wall_time.as_deref())?;
        // Ctrl-C stops every run at its next check. Failing to install the handler (another
        // one exists) only loses that convenience.
        let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::Relaxed));
        Ok(Limits {
            max_in_flight: self.max_in_flight.max(1),
            max_events: self.max_events.unwrap_or(u64::MAX).max(1),
            max_wall,
            stop: Some(&INTERRUPTED),
            progress: Some(&crate::progress::PROGRESS),
        })
    }

    /// A thread pool of `--threads` workers (default one per core), at most [`max_threads`].
    pub fn pool(&self) -> Result<rayon::ThreadPool, Failure> {
        let most = max_threads();
        if self.threads.is_some_and(|n| n > most) {
            return Err(Failure::input(format!(
                "error: --threads must be at most {most} (four per core, or 64) on this machine"
            )));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads.unwrap_or(0))
            .build()
            .map_err(|e| Failure::input(format!("error: cannot start threads: {e}")))
    }
}

/// Makes the output folder ready before any simulation, so that a folder that cannot be
/// written fails at once (exit code 1).
pub fn prepare_output(out: &Path) -> Result<(), Failure> {
    tailsim_report::write::prepare_output(out).map_err(|e| Failure {
        code: 1,
        diagnostics: Vec::new(),
        message: format!("error: cannot write into {}: {e}", out.display()),
    })
}

/// Draws a command's charts with `draw`, asking before each chart whether Ctrl-C was pressed or
/// `max_wall` (of drawing alone) has passed, and prints what was left out. Returns the exit
/// code drawing calls for: 0, or 1 (130 after Ctrl-C) when it stopped early.
pub fn draw(
    max_wall: Option<std::time::Duration>,
    skipped_from: &str,
    draw: impl FnOnce(tailsim_report::write::Stop<'_>) -> Result<ChartsWritten, OutputError>,
) -> Result<u8, Failure> {
    let deadline = max_wall.map(|wall| std::time::Instant::now() + wall);
    let stop = || INTERRUPTED.load(Ordering::Relaxed) || deadline.is_some_and(|d| std::time::Instant::now() >= d);
    let written =
        draw(&stop).map_err(|e| Failure { code: 1, diagnostics: Vec::new(), message: format!("error: {e}") })?;
    for skipped in &written.skipped {
        eprintln!("warning: {skipped}; left out of {skipped_from}");
    }
    for note in &written.notes {
        eprintln!("warning: {note}");
    }
    Ok(match (written.stopped, INTERRUPTED.load(Ordering::Relaxed)) {
        (false, _) => 0,
        (true, true) => 130,
        (true, false) => 1,
    })
}

/// The exit code and message of a run (`which`: "the run", or "a run" of a batch) that stopped
/// early: 130 after Ctrl-C, else 1.
pub fn truncated(which: &str, why: &str, written: &Path) -> u8 {
    eprintln!(
        "error: {which} stopped early: {why}\nthe partial results are in {}, marked as truncated",
        written.display()
    );
    if INTERRUPTED.load(Ordering::Relaxed) { 130 } else { 1 }
}

/// `--shard`: run one share of a batch's runs and write it for `tailsim merge`.
#[derive(clap::Args)]
pub struct ShardArgs {
    /// Run only shard I of N of the runs (from 0: `--shard 3/100`; runs are dealt round-robin)
    /// and write them as a shard file into --out for `tailsim merge`, instead of the results.
    /// `auto` takes I and N from a Slurm array task's environment; `auto/N` takes I from a
    /// Slurm, Kubernetes Indexed Job or AWS Batch array task.
    #[arg(long, value_name = "I/N|auto|auto/N")]
    pub shard: Option<String>,
}

impl ShardArgs {
    /// The shard asked for, if one was.
    pub fn shard(&self) -> Result<Option<Shard>, Failure> {
        let Some(text) = &self.shard else { return Ok(None) };
        Shard::parse(text, &|name| std::env::var(name).ok())
            .map(Some)
            .map_err(|e| Failure::input(format!("error: --shard {text}: {e}")))
    }
}

/// Runs shard `shard`'s jobs of `work`'s batch with `job` on `pool` (with a progress bar over
/// them, unless `quiet`), and writes the shard file into `out`. The exit code is what the
/// unsharded command's would be for these runs: 1 if one was truncated, 3 if one broke
/// conservation of requests (the file is written either way, and `merge` says so too).
pub fn run_shard<R: Send>(
    shard: Shard,
    batch: Sharded<'_>,
    job: impl Fn(u64) -> R + Sync + Send,
    wrap: impl FnOnce(Vec<R>) -> Work,
) -> Result<u8, Failure> {
    let Sharded { out, fingerprint, total, total_ns, pool, quiet } = batch;
    prepare_output(out)?;
    let mine = shard.len(total);
    let share_ns =
        u64::try_from(u128::from(total_ns) * u128::from(mine) / u128::from(total.max(1))).unwrap_or(u64::MAX);
    let bar = crate::progress::Bar::start(crate::progress::wanted(quiet), mine, share_ns, "runs");
    let runs = pool.install(|| tailsim_sim::shard::run(shard, total, job));
    bar.finish();
    let work = wrap(runs);
    let problem = shard_problem(&work);
    let path = out.join(shard.file_name());
    let file = ShardFile::new(fingerprint, shard, total, work);
    tailsim_report::write::atomic_write(&path, &file.encode()).map_err(|e| Failure {
        code: 1,
        diagnostics: Vec::new(),
        message: format!("error: cannot write {}: {e}", path.display()),
    })?;
    if !quiet {
        outln!("shard {} of {}: {mine} of {total} runs, written to {}", shard.index, shard.count, path.display());
    }
    Ok(match problem {
        Some((code, why)) => {
            eprintln!("error: {why}\nthe shard file is written; `tailsim merge` reports it too");
            code
        }
        None => 0,
    })
}

/// What a sharded command hands [`run_shard`] besides the jobs.
pub struct Sharded<'a> {
    /// The output folder.
    pub out: &'a Path,
    /// The batch's fingerprint.
    pub fingerprint: String,
    /// Runs in the whole batch.
    pub total: u64,
    /// Simulated nanoseconds of the whole batch, for the progress bar.
    pub total_ns: u64,
    /// The threads to run on.
    pub pool: &'a rayon::ThreadPool,
    /// `--quiet`.
    pub quiet: bool,
}

/// A shard's first truncated or broken run, as an exit code and a message.
fn shard_problem(work: &Work) -> Option<(u8, String)> {
    let (truncated, broken) = match work {
        Work::Run(b) => (
            b.runs.iter().find_map(|r| r.truncated.clone()),
            b.runs.iter().find(|r| !r.conservation.holds).map(|r| format!("replication {}", r.replication)),
        ),
        Work::Compare(b) => (
            b.runs.iter().find_map(|o| o.truncated().map(str::to_string)),
            b.runs.iter().find_map(|o| o.broken().map(str::to_string)),
        ),
        Work::Sweep(b) => {
            (b.runs.iter().find_map(|o| o.run.truncated.clone()), b.runs.iter().find_map(|o| o.broken.clone()))
        }
    };
    match (broken, truncated) {
        (Some(broken), _) => Some((
            3,
            format!(
                "internal error: requests were not conserved in {broken}; please report this with the scenario file"
            ),
        )),
        (None, Some(why)) => {
            Some((if INTERRUPTED.load(Ordering::Relaxed) { 130 } else { 1 }, format!("a run stopped early: {why}")))
        }
        (None, None) => None,
    }
}

/// What the output of a finished batch (run, merged or not) shows.
#[derive(Clone, Copy)]
pub struct Finish {
    /// `--quiet`.
    pub quiet: bool,
    /// `--json`.
    pub json: bool,
    /// `--no-charts`.
    pub no_charts: bool,
    /// `--max-wall-time`, which drawing is held to.
    pub max_wall: Option<std::time::Duration>,
}
