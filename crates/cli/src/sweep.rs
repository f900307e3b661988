//! `tailsim sweep`: runs a scenario at every point of a grid of parameter values, prints a
//! table and writes `sweep.csv` and the latency-against-load chart.

use std::path::{Path, PathBuf};

use clap::Args;
use tailsim_model::Diagnostic;
use tailsim_model::Model;
use tailsim_model::params::Param;
use tailsim_sim::compare::{MAX_REPLICATIONS, MAX_RUNS};
use tailsim_sim::shard::{self, Batch, Shard, Work};
use tailsim_sim::sweep::{Outcome, Setup};

use crate::{Failure, folder_name, progress, shared};

/// The arguments of `tailsim sweep`.
#[derive(Args)]
pub struct SweepArgs {
    /// The scenario file (RON).
    file: PathBuf,
    /// A parameter and its values: `path=from..to:steps` (linear, both ends included),
    /// `path=from..to:steps:log` (geometric) or `path=a,b,c`; several make a grid.
    #[arg(long = "param", value_name = "PATH=VALUES", required = true)]
    params: Vec<String>,
    /// Replications at each point; two or more give confidence intervals.
    #[arg(long, short = 'r', default_value_t = 3)]
    replications: u32,
    #[command(flatten)]
    batch: shared::BatchArgs,
}

fn param_failure(d: Diagnostic) -> Failure {
    Failure { message: d.render("--param", ""), diagnostics: vec![d], code: 2 }
}

/// Runs the sweep; the exit code, or a failure.
pub fn sweep(args: SweepArgs) -> Result<u8, Failure> {
    if !(1..=MAX_REPLICATIONS).contains(&args.replications) {
        return Err(Failure::input(format!("error: --replications must be from 1 to {MAX_REPLICATIONS}")));
    }
    let params: Vec<Param> =
        args.params.iter().map(|p| Param::parse(p)).collect::<Result<_, _>>().map_err(param_failure)?;
    let overrides = shared::overrides(&args.batch.set, args.batch.duration.as_deref())?;
    let file = args.file.display().to_string();
    let source = shared::read(&args.file)?;
    // Validate the scenario itself first, so its own errors point at the file.
    let files = shared::files(&args.file, &args.batch.paths);
    let (model, warnings) = tailsim_model::load_in(&source, &overrides, &files)
        .map_err(|errors| shared::scenario_failure(&file, &source, errors))?;
    if !args.batch.quiet {
        shared::print_warnings(&file, &source, &warnings);
    }
    let points = tailsim_model::load_points_in(&source, &overrides, &params, &files).map_err(|errors| {
        if errors.iter().all(|d| d.location.is_none()) && errors.len() == 1 {
            let mut errors = errors;
            param_failure(errors.remove(0))
        } else {
            shared::scenario_failure(&file, &source, errors)
        }
    })?;
    let runs = points.len() as u64 * u64::from(args.replications);
    if runs > MAX_RUNS {
        return Err(Failure::input(format!(
            "error: {} points x {} replications is more than {MAX_RUNS} runs; use fewer steps or replications",
            points.len(),
            args.replications
        )));
    }
    let client = match &args.batch.client {
        Some(name) if tailsim_sim::compare::client_index(&model, name).is_some() => name.clone(),
        Some(name) => {
            let names: Vec<&str> = model.clients.iter().map(|c| c.name.as_str()).collect();
            return Err(Failure::input(format!(
                "error: the scenario has no client \"{name}\"\n  = hint: {}",
                tailsim_scenario::diag::suggest(name, &names, "clients")
            )));
        }
        None => model.clients.first().map(|c| c.name.clone()).unwrap_or_default(),
    };
    let seed = args.batch.seed.unwrap_or(model.seed);
    let out = args.batch.out.clone().unwrap_or_else(|| Path::new("out").join(folder_name(&model.name)));
    let limits = args.batch.limits.limits()?;
    let pool = args.batch.limits.pool()?;
    let total_ns = points
        .iter()
        .map(|(_, m)| m.duration.as_nanos().saturating_mul(u64::from(args.replications)))
        .fold(0, u64::saturating_add);
    let paths = params.iter().map(|p| p.path.clone()).collect();
    let setup = Setup::new(&model.name, paths, &points, seed, args.replications, &client);
    if let Some(shard) = args.batch.shard.shard()? {
        let models: Vec<&Model> = points.iter().map(|(_, m)| m).collect();
        let fingerprint = shard::fingerprint("sweep", &setup, &models, &limits, setup.runs());
        let quiet = args.batch.quiet;
        let batch = shared::Sharded { out: &out, fingerprint, total: setup.runs(), total_ns, pool: &pool, quiet };
        return shared::run_shard(
            shard,
            batch,
            |job| setup.run(&points, job, limits),
            |runs| Work::Sweep(Batch { setup: setup.clone(), runs }),
        );
    }
    shared::prepare_output(&out)?;
    let bar = progress::Bar::start(progress::wanted(args.batch.quiet), runs, total_ns, "runs");
    let outcomes = pool.install(|| shard::run(Shard::WHOLE, setup.runs(), |job| setup.run(&points, job, limits)));
    bar.finish();
    let finish = shared::Finish {
        quiet: args.batch.quiet,
        json: false,
        no_charts: args.batch.no_charts,
        max_wall: limits.max_wall,
    };
    finish_sweep(&out, &setup, outcomes, finish)
}

/// Writes and prints what `sweep` gives for the outcomes of `setup`'s runs, in job order:
/// sweep.csv, the charts, the table, and the exit code.
pub fn finish_sweep(out: &Path, setup: &Setup, outcomes: Vec<Outcome>, finish: shared::Finish) -> Result<u8, Failure> {
    let (sweep, broken) = setup.finish(outcomes);
    if let Some(broken) = broken {
        return Err(Failure {
            code: 3,
            diagnostics: Vec::new(),
            message: format!(
                "internal error: requests were not conserved at {broken} (seed {})\nplease report this with the scenario file",
                setup.seed
            ),
        });
    }
    let written = out.join("sweep.csv");
    std::fs::create_dir_all(out)
        .and_then(|()| tailsim_report::write::atomic_write(&written, sweep.csv().as_bytes()))
        .map_err(|e| Failure {
        code: 1,
        diagnostics: Vec::new(),
        message: format!("error: cannot write {}: {e}", written.display()),
    })?;
    let mut drawing = 0;
    if !finish.no_charts {
        drawing = shared::draw(finish.max_wall, "the charts", |stop| {
            tailsim_report::write::write_sweep_charts(out, &sweep, stop)
        })?;
    }
    if !finish.quiet {
        out!("{}", tailsim_report::sweep::render(&sweep));
        let what = if finish.no_charts { "sweep.csv" } else { "sweep.csv and sweep-latency.svg, .png" };
        outln!("\nwrote {what} in {}", out.display());
    }
    Ok(match sweep.truncated() {
        Some(why) => shared::truncated("a run", why, &written),
        None => drawing,
    })
}
