//! The `tailsim` command: a thin shell over the model and report crates that reads files,
//! prints, and turns every outcome into an exit code.
//!
//! Exit codes: 0 success; 1 the run was truncated by a limit, a file could not be written, or
//! `check --deny-warnings` found warnings; 2 the scenario or the command line is invalid;
//! 3 an internal invariant failed (a bug: please report it with the scenario and seed);
//! 4 the runs missed one of the scenario's objectives (`slos`); 5 none was missed, but one is
//! inconclusive (more replications would decide it) or had no data; 130 interrupted by Ctrl-C
//! (the partial summary is still written).

/// Prints to standard output, ignoring a reader that went away (`tailsim list | head`): the
/// files are written by then, and the exit code still says how the command went.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// [`out!`] with a line break.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod compare;
mod merge;
mod plan;
mod progress;
mod shared;
mod sweep;

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use clap::{Args, Parser, Subcommand};
use tailsim_model::{Diagnostic, Model, Override};
use tailsim_report::Report;
use tailsim_report::text::format_ms;
use tailsim_sim::RunSetup;
use tailsim_sim::compare::MAX_REPLICATIONS;
use tailsim_sim::shard::{self, Batch, Shard, Work};

/// Set by the Ctrl-C handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[derive(Parser)]
#[command(name = "tailsim", version, about = "Simulate distributed systems and their tail latency")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and report latency percentiles, throughput and utilisation.
    Run(RunArgs),
    /// Validate a scenario without running it and print the offered load of each service.
    Check(CheckArgs),
    /// Run a scenario and its variants (or several scenarios) with common random numbers and
    /// compare them, with paired confidence intervals.
    Compare(compare::CompareArgs),
    /// Run a scenario over a range or grid of parameter values and write sweep.csv.
    Sweep(sweep::SweepArgs),
    /// Find the smallest capacity (`--vary`) or the largest load (`--max`) at which the design
    /// meets every objective, by bisection with sequential testing.
    Plan(plan::PlanArgs),
    /// Put the shard files of a `run`, `compare` or `sweep` split with `--shard` back together,
    /// writing exactly what the command would have written on one machine.
    Merge(merge::MergeArgs),
    /// List the scenarios in a folder (default `scenarios/`) with what each one shows.
    List {
        /// The folder to list.
        #[arg(default_value = "scenarios")]
        dir: PathBuf,
    },
}

#[derive(Args)]
struct ScenarioArgs {
    /// The scenario file (RON).
    file: PathBuf,
    /// Override one value of the scenario, e.g. `--set clients.users.rate=1200`; repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Trace folders the scenario may read besides its own.
    #[command(flatten)]
    paths: shared::PathArgs,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Output folder for summary.json, the charts and report.html (default: out/ and the
    /// scenario's name).
    #[arg(long, help = "Output folder for summary.json, the charts and report.html [default: out/<scenario name>]")]
    out: Option<PathBuf>,
    /// Master seed (default: the scenario's `seed`, else 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated duration, overriding the scenario's, e.g. `--duration 10m`.
    #[arg(long)]
    duration: Option<String>,
    /// Independent replications, run in parallel; the report gives 95% confidence intervals.
    #[arg(long, short = 'r', default_value_t = 1)]
    replications: u32,
    /// How long each replication may go, and on how many threads they run.
    #[command(flatten)]
    limits: shared::LimitArgs,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Print summary.json to standard output instead of the table.
    #[arg(long)]
    json: bool,
    /// Write no charts (SVG, PNG) and no report.html; summary.json, timeseries.csv and
    /// callgraph.dot still are.
    #[arg(long)]
    no_charts: bool,
    #[command(flatten)]
    shard: shared::ShardArgs,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Exit with 1 when there are warnings.
    #[arg(long)]
    deny_warnings: bool,
    /// Print the offered load and diagnostics as JSON.
    #[arg(long)]
    json: bool,
}

/// A failure that ends the command with a message and an exit code.
struct Failure {
    code: u8,
    message: String,
    /// The scenario's diagnostics, when that is what failed (for `check --json`).
    diagnostics: Vec<Diagnostic>,
}

impl Failure {
    fn input(message: impl Into<String>) -> Failure {
        Failure { code: 2, message: message.into(), diagnostics: Vec::new() }
    }
}

/// A diagnostic as JSON, for `check --json`.
fn diagnostic_json(d: &Diagnostic) -> serde_json::Value {
    serde_json::json!({
        "severity": if d.is_error() { "error" } else { "warning" },
        "message": d.message,
        "path": d.path,
        "line": d.location.map(|l| l.line),
        "column": d.location.map(|l| l.column),
        "file": d.in_file.as_ref().map(|f| f.file.as_str()),
        "hint": d.hint,
    })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Check(args) => check(args),
        Command::List { dir } => list(&dir),
        Command::Compare(args) => compare::compare(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Merge(args) => merge::merge(args),
        Command::Plan(args) => plan::plan(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "{}", failure.message);
            if !failure.message.ends_with('\n') {
                let _ = writeln!(stderr);
            }
            ExitCode::from(failure.code)
        }
    }
}

/// Reads, overrides and compiles a scenario; errors are rendered against the file's text.
fn load(args: &ScenarioArgs, extra: &[Override]) -> Result<(Model, Vec<Diagnostic>, String), Failure> {
    let file = args.file.display().to_string();
    let source = shared::read(&args.file)?;
    let mut overrides = shared::overrides(&args.set, None)?;
    overrides.extend_from_slice(extra);
    match tailsim_model::load_in(&source, &overrides, &shared::files(&args.file, &args.paths)) {
        Ok((model, warnings)) => Ok((model, warnings, source)),
        Err(errors) => Err(shared::scenario_failure(&file, &source, errors)),
    }
}

fn run(args: RunArgs) -> Result<u8, Failure> {
    let extra = shared::overrides(&[], args.duration.as_deref())?;
    let (model, warnings, source) = load(&args.scenario, &extra)?;
    let file = args.scenario.file.display().to_string();
    if !args.quiet {
        shared::print_warnings(&file, &source, &warnings);
    }
    if !(1..=MAX_REPLICATIONS).contains(&args.replications) {
        return Err(Failure::input(format!("error: --replications must be from 1 to {MAX_REPLICATIONS}")));
    }
    let window = tailsim_sim::world::window_of(&model);
    if window > model.window && !args.quiet {
        eprintln!(
            "warning: time-series windows widened from {} to {window}, to keep the run's series within {} windows in all",
            model.window,
            tailsim_sim::world::WINDOW_BUDGET
        );
    }
    let limits = args.limits.limits()?;
    let pool = args.limits.pool()?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("out").join(folder_name(&model.name)));
    let seed = args.seed.unwrap_or(model.seed);
    let mut setup = RunSetup::new(&model, seed, args.replications);
    setup.description = model.description.clone().or_else(|| header_comment(&source));
    let total_ns = model.duration.as_nanos().saturating_mul(u64::from(args.replications));
    if let Some(shard) = args.shard.shard()? {
        let fingerprint = shard::fingerprint("run", &setup, &[&model], &limits, setup.runs());
        let batch =
            shared::Sharded { out: &out, fingerprint, total: setup.runs(), total_ns, pool: &pool, quiet: args.quiet };
        return shared::run_shard(
            shard,
            batch,
            |r| setup.run(&model, r, limits),
            |runs| Work::Run(Batch { setup: setup.clone(), runs }),
        );
    }
    shared::prepare_output(&out)?;
    let started = std::time::Instant::now();
    let bar =
        progress::Bar::start(progress::wanted(args.quiet), u64::from(args.replications), total_ns, "replications");
    let report =
        pool.install(|| setup.finish(shard::run(Shard::WHOLE, setup.runs(), |r| setup.run(&model, r, limits))));
    bar.finish();
    let finish =
        shared::Finish { quiet: args.quiet, json: args.json, no_charts: args.no_charts, max_wall: limits.max_wall };
    finish_run(&out, &report, &setup, finish, Some(started.elapsed()))
}

/// Writes and prints what `run` gives for `report` (from `setup`'s replications): checks
/// conservation, writes summary.json, timeseries.csv and callgraph.dot, draws the charts and
/// report.html, prints the table (or the JSON), and gives the exit code. `elapsed` is the time
/// the runs took, when they ran here.
fn finish_run(
    out: &Path,
    report: &Report,
    setup: &RunSetup,
    finish: shared::Finish,
    elapsed: Option<std::time::Duration>,
) -> Result<u8, Failure> {
    let seed = setup.seed;
    if let Some(broken) = report.runs.iter().find(|r| !r.conservation.holds) {
        return Err(Failure {
            code: 3,
            diagnostics: Vec::new(),
            message: format!(
                "internal error: requests were not conserved in replication {} (seed {seed}): {:?}\nplease report this with the scenario file",
                broken.replication, broken.conservation
            ),
        });
    }

    tailsim_report::write::write_summary(out, report).map_err(|e| Failure {
        code: 1,
        diagnostics: Vec::new(),
        message: format!("error: cannot write {}: {e}", out.join("summary.json").display()),
    })?;

    // Charts and the page are drawn after the run, from the summary: never inside the simulation.
    let output_failure = |e: tailsim_report::write::OutputError| Failure {
        code: 1,
        diagnostics: Vec::new(),
        message: format!("error: {e}"),
    };
    tailsim_report::write::write_callgraph_dot(out, &setup.graph).map_err(output_failure)?;
    let mut drawing = 0;
    if !finish.no_charts {
        let skipped_from = "the charts and report.html (callgraph.dot has the graph)";
        drawing = shared::draw(finish.max_wall, skipped_from, |stop| {
            tailsim_report::write::write_charts_and_report(
                out,
                report,
                &setup.graph,
                setup.description.as_deref(),
                stop,
            )
        })?;
    }

    if finish.json {
        out!("{}", tailsim_report::write::summary_json(report));
    } else if !finish.quiet {
        out!("{}", tailsim_report::text::render(report));
        let wrote = if finish.no_charts {
            "summary.json and timeseries.csv"
        } else {
            "summary.json, timeseries.csv, report.html and charts"
        };
        let timing = elapsed.map_or(String::new(), |elapsed| {
            let events: u64 = report.runs.iter().map(|r| r.events).sum();
            let rate = events as f64 / elapsed.as_secs_f64().max(1e-9);
            format!(" ({:.2}s wall, {:.1}M events/s)", elapsed.as_secs_f64(), rate / 1e6)
        });
        outln!("\nwrote {wrote} in {}{timing}", out.display());
    }
    match &report.truncated {
        Some(why) => Ok(shared::truncated("the run", why, &out.join("summary.json"))),
        None if drawing != 0 => Ok(drawing),
        None => Ok(report.slo_code()),
    }
}

fn check(args: CheckArgs) -> Result<u8, Failure> {
    let file = args.scenario.file.display().to_string();
    let (model, warnings, source) = match load(&args.scenario, &[]) {
        Ok(loaded) => loaded,
        Err(failure) if args.json => {
            let json = serde_json::json!({
                "file": file,
                "ok": false,
                "errors": failure.diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
                "warnings": [],
            });
            outln!("{json:#}");
            return Ok(failure.code);
        }
        Err(failure) => return Err(failure),
    };
    let loads = tailsim_model::analysis::offered_load(&model);
    if args.json {
        let json = serde_json::json!({
            "file": file,
            "ok": true,
            "errors": [],
            "warnings": warnings.iter().map(diagnostic_json).collect::<Vec<_>>(),
            "scenario": model.name,
            "cost_per_hour": static_cost(&model, &loads).map(|(per_hour, _)| per_hour),
            "services": loads.iter().map(|l| serde_json::json!({
                "name": l.service,
                "arrival_rate_per_s": l.arrival_rate_per_s,
                "min_hold_ms": l.min_hold_s * 1e3,
                "offered_load": l.offered_load,
                "cpu_load": l.cpu_load,
            })).collect::<Vec<_>>(),
        });
        outln!("{json:#}");
    } else {
        outln!(
            "{file}: ok, scenario \"{}\" with {} client{} and {} service{}",
            model.name,
            model.clients.len(),
            if model.clients.len() == 1 { "" } else { "s" },
            model.services.len(),
            if model.services.len() == 1 { "" } else { "s" }
        );
        let limited = loads.iter().any(|l| l.cpu_load.is_some());
        let cpu_column = if limited { format!(" {:>10}", "cpu load") } else { String::new() };
        outln!("\n{:<20} {:>12} {:>12} {:>14}{cpu_column}", "service", "visits/s", "min hold", "offered load");
        for l in &loads {
            let cpu = match l.cpu_load {
                Some(load) => format!(" {:>9.1}%", load * 100.0),
                None if limited => format!(" {:>10}", "-"),
                None => String::new(),
            };
            outln!(
                "{:<20} {:>12.1} {:>12} {:>13.1}%{cpu}",
                l.service,
                l.arrival_rate_per_s,
                format_ms(l.min_hold_s * 1e3),
                l.offered_load * 100.0
            );
        }
        outln!(
            "\noffered load = visits/s x mean time a visit holds a worker / all workers, counting downstream\ncalls without queueing: a lower bound. At 100% or more the queue grows without bound."
        );
        if !model.caches.is_empty() {
            outln!("Cache lookups count as hits here: what a miss calls is load on top of this floor.");
        }
        if limited {
            outln!(
                "cpu load = the CPU a service's work needs per instance / its CpuQuota's cpus: at 100% or more\nthe quota runs out in every period; below, bursts can still spend it."
            );
        }
        if let Some((per_hour, per_million)) = static_cost(&model, &loads) {
            let per_million = per_million.map_or("-".into(), tailsim_report::text::money);
            outln!(
                "\ncost at this load: {} per hour ({} per 730-hour month), {per_million} per million requests:\nthe configured instances (an autoscaler's start), cache nodes, and requests as offered.",
                tailsim_report::text::money(per_hour),
                tailsim_report::text::money(per_hour * 730.0)
            );
        }
        let (windows, rows) = tailsim_sim::world::timeseries_size(&model);
        let bytes = rows as f64 * BYTES_PER_ROW;
        let size = if bytes < 1e6 { format!("{:.0} kB", bytes / 1e3) } else { format!("{:.0} MB", bytes / 1e6) };
        outln!(
            "\ntime series: {windows} windows of {}; timeseries.csv up to {rows} rows (about {size}) per replication",
            tailsim_sim::world::window_of(&model)
        );
        if model.services.iter().any(|s| s.contention.is_some()) {
            outln!(
                "Under `contention`, the workers count for what they get through at their best concurrency\n(the Universal Scalability Law's peak): the load is the share of the best throughput."
            );
        }
        shared::print_warnings(&file, &source, &warnings);
    }
    Ok(if args.deny_warnings && !warnings.is_empty() { 1 } else { 0 })
}

/// The design's cost per hour at its offered load, and per million client requests; `None`
/// without prices.
fn static_cost(model: &Model, loads: &[tailsim_model::analysis::ServiceLoad]) -> Option<(f64, Option<f64>)> {
    if model.prices.is_empty() {
        return None;
    }
    let instances: Vec<u32> = model.services.iter().map(|s| s.instances).collect();
    let visits: Vec<f64> = loads.iter().map(|l| l.arrival_rate_per_s).collect();
    let per_hour = tailsim_report::cost::static_per_hour(&model.prices, &instances, &visits);
    let requests_per_hour: f64 = model.clients.iter().map(|c| c.rate_per_s).sum::<f64>() * 3600.0;
    let per_million =
        (requests_per_hour.is_finite() && requests_per_hour > 0.0).then(|| per_hour / (requests_per_hour / 1e6));
    Some((per_hour, per_million))
}

/// About how long a row of `timeseries.csv` is, in bytes (`0,12,12,13,service,db,utilisation,0.9983`).
const BYTES_PER_ROW: f64 = 45.0;

/// The comment lines a scenario file opens with, without their `//`: what the file shows.
fn header_comment(source: &str) -> Option<String> {
    let lines: Vec<&str> = source
        .lines()
        .map(str::trim)
        .take_while(|l| l.starts_with("//"))
        .map(|l| l.trim_start_matches('/').trim())
        .collect();
    let text = lines.join("\n");
    (!text.trim().is_empty()).then_some(text)
}

/// How much of each file `list` reads for its first comment line.
const LIST_READS: u64 = 64 * 1024;

fn list(dir: &Path) -> Result<u8, Failure> {
    // Only regular files (or links to them): a pipe or a device named `*.ron` would hang the
    // read, and only the first few kilobytes of each file are read.
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Failure::input(format!("error: cannot list {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .filter(|p| fs::metadata(p).is_ok_and(|m| m.is_file()))
        .collect();
    entries.sort();
    let interactive = std::io::stdout().is_terminal();
    for path in entries {
        let mut head = Vec::new();
        if let Ok(file) = fs::File::open(&path) {
            let _ = std::io::Read::read_to_end(&mut std::io::Read::take(file, LIST_READS), &mut head);
        }
        let text = String::from_utf8_lossy(&head);
        let summary = header_comment(&text).and_then(|h| h.lines().next().map(str::to_string)).unwrap_or_default();
        let summary = tailsim_scenario::diag::printable(&summary);
        let name = tailsim_scenario::diag::printable(&path.display().to_string());
        if interactive {
            outln!("{name:<36} {summary}");
        } else {
            outln!("{name}\t{summary}");
        }
    }
    Ok(0)
}

/// A scenario name made safe as a folder name.
fn folder_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '-' })
        .collect();
    let safe = safe.trim_matches('.').to_string();
    if safe.is_empty() { "scenario".into() } else { safe }
}
