//! `tailsim sweep`: runs a scenario at every point of a grid of parameter values, prints a
//! table and writes `sweep.csv` and the latency-against-load chart.

use std::path::{Path, PathBuf};

use clap::Args;
use tailsim_model::compare::{MAX_REPLICATIONS, MAX_RUNS};
use tailsim_model::sweep::Param;
use tailsim_model::{Diagnostic, Limits};
use tailsim_report::sweep::Sweep;

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
    /// Override one value at every point, e.g. `--set services.db.workers=16`; repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Replications at each point; two or more give confidence intervals.
    #[arg(long, short = 'r', default_value_t = 3)]
    replications: u32,
    /// Master seed of every point (default: the scenario's `seed`, else 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated duration, overriding the scenario's, e.g. `--duration 10m`.
    #[arg(long)]
    duration: Option<String>,
    /// The client whose latency is reported [default: the first client].
    #[arg(long)]
    client: Option<String>,
    /// Worker threads [default: one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// Output folder for sweep.csv and the chart [default: out/<scenario name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Stop a run (marked truncated) when this many requests are in flight at once.
    #[arg(long, default_value_t = Limits::default().max_in_flight)]
    max_in_flight: u64,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Write no chart (SVG, PNG); sweep.csv still is.
    #[arg(long)]
    no_charts: bool,
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
    let overrides = shared::overrides(&args.set, args.duration.as_deref())?;
    let file = args.file.display().to_string();
    let source = shared::read(&args.file)?;
    // Validate the scenario itself first, so its own errors point at the file.
    let files = shared::files(&args.file);
    let (model, warnings) = tailsim_model::load_in(&source, &overrides, &files)
        .map_err(|errors| shared::scenario_failure(&file, &source, errors))?;
    if !args.quiet {
        for w in &warnings {
            eprint!("{}", w.render(&file, &source));
        }
    }
    let points = tailsim_model::sweep::load_points_in(&source, &overrides, &params, &files).map_err(|errors| {
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
    let client = match &args.client {
        Some(name) if tailsim_model::compare::client_index(&model, name).is_some() => name.clone(),
        Some(name) => {
            let names: Vec<&str> = model.clients.iter().map(|c| c.name.as_str()).collect();
            return Err(Failure::input(format!(
                "error: the scenario has no client \"{name}\"\n  = hint: {}",
                tailsim_model::diag::suggest(name, &names, "clients")
            )));
        }
        None => model.clients.first().map(|c| c.name.clone()).unwrap_or_default(),
    };
    let seed = args.seed.unwrap_or(model.seed);
    let out = args.out.clone().unwrap_or_else(|| Path::new("out").join(folder_name(&model.name)));
    let limits = shared::limits(args.max_in_flight);
    let pool = shared::pool(args.threads)?;
    let total_ns = points
        .iter()
        .map(|(_, m)| m.duration.as_nanos().saturating_mul(u64::from(args.replications)))
        .fold(0, u64::saturating_add);
    let bar = progress::Bar::start(progress::wanted(args.quiet), runs, total_ns, "runs");
    let (results, broken) =
        pool.install(|| tailsim_model::sweep::sweep(&points, seed, args.replications, &client, limits));
    bar.finish();
    if let Some(broken) = broken {
        return Err(Failure {
            code: 3,
            diagnostics: Vec::new(),
            message: format!(
                "internal error: requests were not conserved at {broken} (seed {seed})\nplease report this with the scenario file"
            ),
        });
    }
    let sweep = Sweep {
        scenario: model.name.clone(),
        seed,
        replications: args.replications,
        client,
        params: params.iter().map(|p| p.path.clone()).collect(),
        points: results,
    };
    let written = out.join("sweep.csv");
    std::fs::create_dir_all(&out)
        .and_then(|()| tailsim_report::write::atomic_write(&written, sweep.csv().as_bytes()))
        .map_err(|e| Failure {
            code: 1,
            diagnostics: Vec::new(),
            message: format!("error: cannot write {}: {e}", written.display()),
        })?;
    if !args.no_charts {
        tailsim_report::write::write_sweep_charts(&out, &sweep).map_err(|e| Failure {
            code: 1,
            diagnostics: Vec::new(),
            message: format!("error: {e}"),
        })?;
    }
    if !args.quiet {
        print!("{}", tailsim_report::sweep::render(&sweep));
        let what = if args.no_charts { "sweep.csv" } else { "sweep.csv and sweep-latency.svg, .png" };
        println!("\nwrote {what} in {}", out.display());
    }
    Ok(match sweep.truncated() {
        Some(why) => shared::truncated(why, &written),
        None => 0,
    })
}
