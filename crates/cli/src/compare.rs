//! `tailsim compare`: runs a scenario and its variants (or several scenario files) with common
//! random numbers, prints each one's statistics and its paired difference to the first, and
//! writes `compare.json`, the compare charts and `compare.html`.

use std::path::{Path, PathBuf};

use clap::Args;
use tailsim_model::Model;
use tailsim_sim::compare::{MAX_REPLICATIONS, MAX_RUNS, Outcome, Setup};
use tailsim_sim::shard::{self, Batch, Shard, Work};

use crate::{Failure, folder_name, header_comment, progress, shared};

/// The arguments of `tailsim compare`.
#[derive(Args)]
pub struct CompareArgs {
    /// One scenario with `variants`, or several scenario files to compare with each other.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Replications of each variant (at least 2); replication i of every variant shares its
    /// random streams.
    #[arg(long, short = 'r', default_value_t = 10)]
    replications: u32,
    /// The cache whose hit ratio and largest stampede are compared [default: the first cache].
    #[arg(long)]
    cache: Option<String>,
    #[command(flatten)]
    batch: shared::BatchArgs,
    /// Print compare.json to standard output instead of the tables.
    #[arg(long)]
    json: bool,
}

/// Named designs to compare, in order.
type Variants = Vec<(String, Model)>;

/// Loads every variant: one file's base and variants, or each file's (named after its
/// scenario, and `scenario/variant` for its variants). The second value describes the first
/// scenario: its `description`, or its header comment.
fn load(args: &CompareArgs) -> Result<(Variants, Option<String>), Failure> {
    let overrides = shared::overrides(&args.batch.set, args.batch.duration.as_deref())?;
    let several = args.files.len() > 1;
    let mut all: Vec<(String, Model)> = Vec::new();
    let mut description = None;
    for path in &args.files {
        let file = path.display().to_string();
        let source = shared::read(path)?;
        let (variants, warnings) =
            tailsim_model::load_variants_in(&source, &overrides, &shared::files(path, &args.batch.paths))
                .map_err(|errors| shared::scenario_failure(&file, &source, errors))?;
        if !args.batch.quiet {
            shared::print_warnings(&file, &source, &warnings);
        }
        let scenario = variants.first().map(|(_, m)| m.name.clone()).unwrap_or_default();
        if all.is_empty() {
            description = variants.first().and_then(|(_, m)| m.description.clone()).or_else(|| header_comment(&source));
        }
        for (name, model) in variants {
            let name = match (several, name == tailsim_model::variants::BASE_NAME) {
                (false, _) => name,
                (true, true) => scenario.clone(),
                (true, false) => format!("{scenario}/{name}"),
            };
            let name = unique(&all, name, path);
            all.push((name, model));
        }
    }
    Ok((all, description))
}

/// `name`, or, if taken, the file's stem, then with a number.
fn unique(taken: &[(String, Model)], name: String, path: &Path) -> String {
    let free = |n: &str| !taken.iter().any(|(t, _)| t == n);
    if free(&name) {
        return name;
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if !stem.is_empty() && free(&stem) {
        return stem;
    }
    (2..).map(|k| format!("{name}#{k}")).find(|n| free(n)).unwrap_or(name)
}

/// Runs the comparison; the exit code, or a failure.
pub fn compare(args: CompareArgs) -> Result<u8, Failure> {
    if !(2..=MAX_REPLICATIONS).contains(&args.replications) {
        return Err(Failure::input(format!(
            "error: --replications must be from 2 to {MAX_REPLICATIONS}: intervals need two or more"
        )));
    }
    let (variants, description) = load(&args)?;
    let runs = variants.len() as u64 * u64::from(args.replications);
    if runs > MAX_RUNS {
        return Err(Failure::input(format!(
            "error: {} variants x {} replications is more than {MAX_RUNS} runs; use fewer replications",
            variants.len(),
            args.replications
        )));
    }
    let first = &variants[0].1;
    let client = match &args.batch.client {
        Some(name) => name.clone(),
        None => first.clients.first().map(|c| c.name.clone()).unwrap_or_default(),
    };
    for (name, model) in &variants {
        if tailsim_sim::compare::client_index(model, &client).is_none() {
            let names: Vec<&str> = model.clients.iter().map(|c| c.name.as_str()).collect();
            return Err(Failure::input(format!(
                "error: variant \"{name}\" has no client \"{client}\"\n  = hint: {}",
                tailsim_scenario::diag::suggest(&client, &names, "clients")
            )));
        }
    }
    if let Some(cache) = &args.cache
        && !first.caches.iter().any(|c| &c.name == cache)
    {
        let names: Vec<&str> = first.caches.iter().map(|c| c.name.as_str()).collect();
        return Err(Failure::input(format!(
            "error: variant \"{}\" has no cache \"{cache}\"\n  = hint: {}",
            variants[0].0,
            tailsim_scenario::diag::suggest(cache, &names, "caches")
        )));
    }
    let seed = args.batch.seed.unwrap_or(first.seed);
    let out = args.batch.out.clone().unwrap_or_else(|| Path::new("out").join(folder_name(&first.name)));
    let limits = args.batch.limits.limits()?;
    let pool = args.batch.limits.pool()?;
    let total_ns: u64 = variants
        .iter()
        .map(|(_, m)| m.duration.as_nanos().saturating_mul(u64::from(args.replications)))
        .fold(0, u64::saturating_add);
    let mut setup = Setup::new(&variants, seed, args.replications, &client, args.cache.as_deref());
    setup.description = description;
    if let Some(shard) = args.batch.shard.shard()? {
        let models: Vec<&Model> = variants.iter().map(|(_, m)| m).collect();
        let fingerprint = shard::fingerprint("compare", &setup, &models, &limits, setup.runs());
        let quiet = args.batch.quiet;
        let batch = shared::Sharded { out: &out, fingerprint, total: setup.runs(), total_ns, pool: &pool, quiet };
        return shared::run_shard(
            shard,
            batch,
            |job| setup.run(&variants, job, limits),
            |runs| Work::Compare(Batch { setup: setup.clone(), runs }),
        );
    }
    shared::prepare_output(&out)?;
    let bar = progress::Bar::start(progress::wanted(args.batch.quiet || args.json), runs, total_ns, "runs");
    let outcomes = pool.install(|| shard::run(Shard::WHOLE, setup.runs(), |job| setup.run(&variants, job, limits)));
    bar.finish();
    let finish = shared::Finish {
        quiet: args.batch.quiet,
        json: args.json,
        no_charts: args.batch.no_charts,
        max_wall: limits.max_wall,
    };
    finish_compare(&out, &setup, outcomes, finish)
}

/// Writes and prints what `compare` gives for the outcomes of `setup`'s runs, in job order:
/// compare.json, the charts and compare.html, the tables (or the JSON), and the exit code.
pub fn finish_compare(
    out: &Path,
    setup: &Setup,
    outcomes: Vec<Outcome>,
    finish: shared::Finish,
) -> Result<u8, Failure> {
    let (comparison, broken) = setup.finish(outcomes);
    if let Some(broken) = broken {
        return Err(Failure {
            code: 3,
            diagnostics: Vec::new(),
            message: format!(
                "internal error: requests were not conserved in {broken} (seed {})\nplease report this with the scenario file",
                setup.seed
            ),
        });
    }
    let json = comparison.to_json();
    let written = out.join("compare.json");
    std::fs::create_dir_all(out)
        .and_then(|()| tailsim_report::write::atomic_write(&written, json.as_bytes()))
        .map_err(|e| Failure {
            code: 1,
            diagnostics: Vec::new(),
            message: format!("error: cannot write {}: {e}", written.display()),
        })?;
    // Charts are drawn after the runs, from the comparison alone.
    let mut drawing = 0;
    if !finish.no_charts {
        drawing = shared::draw(finish.max_wall, "the charts and compare.html", |stop| {
            tailsim_report::write::write_compare_charts(out, &comparison, setup.description.as_deref(), stop)
        })?;
    }
    if finish.json {
        out!("{json}");
    } else if !finish.quiet {
        out!("{}", tailsim_report::compare::render(&comparison));
        let what = if finish.no_charts { "compare.json" } else { "compare.json, compare.html and charts" };
        outln!("\nwrote {what} in {}", out.display());
    }
    Ok(match &comparison.truncated {
        Some(why) => shared::truncated("a run", why, &written),
        None if drawing != 0 => drawing,
        None => comparison.slo_code(),
    })
}
