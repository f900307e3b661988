//! `tailsim plan`: the smallest capacity (`--vary`) or the largest load (`--max`) at which a
//! design meets every objective, found by bisection with sequential testing; prints the probes,
//! the answer and the evidence beside it, and writes `plan.json`. The cheapest design on a grid
//! (`--grid`) is in `grid`.

use std::path::{Path, PathBuf};

use clap::Args;
use tailsim_model::Diagnostic;
use tailsim_model::params::format_value;
use tailsim_report::slo::SloVerdict;
use tailsim_report::text::{Document, objective_rows};
use tailsim_sim::plan::{Budget, Goal, Plan, Probe, Range};

use crate::{Failure, folder_name, shared};

mod grid;

/// The arguments of `tailsim plan`.
#[derive(Args)]
pub struct PlanArgs {
    /// The scenario file (RON).
    file: PathBuf,
    /// Find the smallest value meeting every objective: `path=from..to`, e.g.
    /// `services.api.instances=1..64` (capacity: more never hurts).
    #[arg(
        long,
        value_name = "PATH=FROM..TO",
        conflicts_with_all = ["max", "grid"],
        required_unless_present_any = ["max", "grid"]
    )]
    vary: Option<String>,
    /// Find the largest value meeting every objective: `path=from..to`, e.g.
    /// `clients.users.rate=100..5000` (load: more never helps).
    #[arg(long, value_name = "PATH=FROM..TO", conflicts_with = "grid")]
    max: Option<String>,
    /// Find the cheapest design meeting every objective on a grid of one to three
    /// parameters: `path=from..to:steps` or `path=a,b,c`, repeated per parameter (the scenario
    /// needs `prices`). Every design is run; the front of cost against latency is printed.
    #[arg(long, value_name = "PATH=VALUES")]
    grid: Vec<String>,
    /// An objective besides the scenario's `slos`: `p99<200ms`, `shoppers.errors<0.1%`,
    /// `goodput>=1700`, `db.utilisation<0.8`, `db.pwait<0.2`, `db.wait.p90<20s`; repeatable.
    #[arg(long = "slo", value_name = "OBJECTIVE")]
    slos: Vec<String>,
    /// Replications of a probe's first look; undecided probes get more.
    #[arg(long, short = 'r', default_value_t = 5)]
    replications: u32,
    /// The most replications of one probe.
    #[arg(long, default_value_t = 40)]
    most_replications: u32,
    /// The most runs of the whole search.
    #[arg(long, default_value_t = 2_000)]
    max_runs: u64,
    /// How closely to find a boundary that is not a whole number [default: the range / 200].
    #[arg(long)]
    resolution: Option<f64>,
    /// Print plan.json instead of the table.
    #[arg(long)]
    json: bool,
    /// Write no chart (plan.svg, .png); plan.json still is.
    #[arg(long)]
    no_charts: bool,
    /// Override one value in every run; repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Master seed of every probe [default: the scenario's `seed`, else 1].
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated duration, overriding the scenario's.
    #[arg(long)]
    duration: Option<String>,
    /// The client `--slo` objectives without a name are about [default: the first client].
    #[arg(long)]
    client: Option<String>,
    /// Output folder (default: out/ and the scenario's name).
    #[arg(long, help = "Output folder [default: out/<scenario name>]")]
    out: Option<PathBuf>,
    /// Trace folders the scenario may read besides its own.
    #[command(flatten)]
    paths: shared::PathArgs,
    /// How long each run may go and on how many threads.
    #[command(flatten)]
    limits: shared::LimitArgs,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// The bounds every search option is checked against.
const MOST_REPLICATIONS: u32 = 10_000;

/// What every kind of search starts from: the scenario, its objectives and the run budget.
struct Setup {
    file: String,
    source: String,
    overrides: Vec<tailsim_model::Override>,
    extra: Vec<tailsim_scenario::schema::Slo>,
    model: tailsim_model::Model,
    budget: Budget,
    out: PathBuf,
    /// The traces the scenario reads, read once for every probe (all compile on one thread).
    files: tailsim_model::Files,
}

/// A search's result, ready to write and print.
struct Searched {
    json: String,
    chart: Option<tailsim_report::chart::Chart>,
    text: Document,
    /// Whether a design meeting every objective was found.
    answered: bool,
    /// Whether more runs could change the answer (a grid's cheaper design left undecided).
    unsettled: bool,
    /// Why the search stopped before deciding everything, if it did.
    stopped: Option<String>,
}

/// Runs the search; the exit code (0 an answer, 4 none in the range, 5 a grid's cheaper design
/// left undecided, 1 out of runs before the answer was settled or a run cut short), or a failure.
pub fn plan(args: PlanArgs) -> Result<u8, Failure> {
    if !(2..=MOST_REPLICATIONS).contains(&args.replications) || args.most_replications < args.replications {
        return Err(Failure::input(format!(
            "error: --replications must be from 2 to {MOST_REPLICATIONS}, and --most-replications at least as many"
        )));
    }
    let pool = args.limits.pool()?;
    // Set up and search on one thread of the pool: the trace cache (not shared between
    // threads) then serves the scenario's first load and every probe alike.
    let (setup, searched) = pool.install(|| -> Result<(Setup, Searched), Failure> {
        let setup = setup(&args)?;
        let searched = if args.grid.is_empty() { bisect(&args, &setup)? } else { grid::search(&args, &setup)? };
        Ok((setup, searched))
    })?;
    let written = setup.out.join("plan.json");
    tailsim_report::write::atomic_write(&written, searched.json.as_bytes()).map_err(|e| Failure {
        code: 1,
        diagnostics: Vec::new(),
        message: format!("error: cannot write {}: {e}", written.display()),
    })?;
    let mut drawing = 0;
    if !args.no_charts
        && let Some(chart) = searched.chart
    {
        drawing = shared::draw(setup.budget.limits.max_wall, "the chart", |stop| {
            tailsim_report::write::write_chart_files(&setup.out, vec![chart], stop)
        })?;
    }
    if args.json {
        out!("{}", searched.json);
    } else if !args.quiet {
        out!("{}", searched.text.to_text());
        let what = if args.no_charts { "plan.json" } else { "plan.json and plan.svg, .png" };
        outln!("\nwrote {what} in {}", setup.out.display());
    }
    if drawing != 0 {
        return Ok(drawing);
    }
    Ok(match &searched.stopped {
        Some(why) if why.starts_with("a run stopped early") => {
            eprintln!("error: {why}; the search stopped there (plan.json has what was run)");
            if crate::INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed) { 130 } else { 1 }
        }
        Some(why) if why.contains("--max-runs") && (searched.unsettled || args.grid.is_empty()) => 1,
        _ if searched.unsettled => 5,
        _ if !searched.answered => 4,
        _ => 0,
    })
}

/// Reads and checks the scenario, the objectives and the options every search shares.
fn setup(args: &PlanArgs) -> Result<Setup, Failure> {
    let overrides = shared::overrides(&args.set, args.duration.as_deref())?;
    let file = args.file.display().to_string();
    let source = shared::read(&args.file)?;
    let files = shared::files(&args.file, &args.paths);
    let (model, warnings) = tailsim_model::load_in(&source, &overrides, &files)
        .map_err(|errors| shared::scenario_failure(&file, &source, errors))?;
    if !args.quiet {
        shared::print_warnings(&file, &source, &warnings);
    }
    let client = args.client.clone().or_else(|| model.clients.first().map(|c| c.name.clone())).unwrap_or_default();
    let extra = args
        .slos
        .iter()
        .map(|text| tailsim_scenario::objectives::parse_slo(text, &client))
        .collect::<Result<Vec<_>, _>>()
        .map_err(option_failure("--slo"))?;
    // The objectives must exist, and compile, before any run.
    let model = tailsim_model::load_with(&source, &overrides, &extra, &files)
        .map_err(|errors| shared::scenario_failure(&file, &source, errors))?;
    if model.slos.is_empty() {
        return Err(Failure::input(
            "error: there is nothing to meet: the scenario has no `slos` and no --slo was given\n  = hint: e.g. --slo p99<200ms",
        ));
    }
    let out = args.out.clone().unwrap_or_else(|| Path::new("out").join(folder_name(&model.name)));
    shared::prepare_output(&out)?;
    let budget = Budget {
        seed: args.seed.unwrap_or(model.seed),
        first: args.replications,
        most: args.most_replications,
        max_runs: args.max_runs,
        limits: args.limits.limits()?,
    };
    Ok(Setup { file, source, overrides, extra, model, budget, out, files })
}

/// The bisection of `--vary` or `--max`.
fn bisect(args: &PlanArgs, setup: &Setup) -> Result<Searched, Failure> {
    let (goal, spec) = match (&args.vary, &args.max) {
        (Some(v), _) => (Goal::Smallest, v.as_str()),
        (None, Some(m)) => (Goal::Largest, m.as_str()),
        (None, None) => {
            return Err(Failure::input("error: give --vary PATH=FROM..TO, --max PATH=FROM..TO or --grid PATH=VALUES"));
        }
    };
    let flag = if goal == Goal::Smallest { "--vary" } else { "--max" };
    let range = range(flag, spec, &setup.source, &setup.overrides, args.resolution)?;
    let at = |value: f64| {
        let mut all = setup.overrides.clone();
        all.push(tailsim_model::Override { path: range.path.clone(), value: format_value(value) });
        tailsim_model::load_with(&setup.source, &all, &setup.extra, &setup.files)
    };
    let plan = tailsim_sim::plan::search(&setup.model.name, &range, goal, setup.budget, &at)
        .map_err(|errors| shared::scenario_failure(&setup.file, &setup.source, errors))?;
    Ok(Searched {
        json: plan.to_json(),
        chart: chart(&plan),
        text: render(&plan, &range),
        answered: plan.answer.is_some(),
        unsettled: false,
        stopped: plan.stopped.clone(),
    })
}

/// A refused option (`flag`: `--slo`, `--vary`...) as a failure, exit 2, the message naming it.
fn option_failure(flag: &'static str) -> impl Fn(Diagnostic) -> Failure {
    move |d| Failure { message: d.render(flag, ""), diagnostics: vec![d], code: 2 }
}

/// `path=from..to` (given to `flag`) as a range, whole-numbered when the scenario's value there is.
fn range(
    flag: &'static str,
    spec: &str,
    source: &str,
    overrides: &[tailsim_model::Override],
    resolution: Option<f64>,
) -> Result<Range, Failure> {
    let fail = |why: &str| {
        Failure::input(format!(
            "error: {spec}: {why}\n  = hint: write path=from..to, e.g. services.api.instances=1..64"
        ))
    };
    let (path, values) = spec.split_once('=').ok_or_else(|| fail("no `=` between the path and the range"))?;
    let (from, to) = values.split_once("..").ok_or_else(|| fail("no `..` in the range"))?;
    let number = |s: &str| s.trim().parse::<f64>().ok().filter(|x| x.is_finite());
    let (Some(from), Some(to)) = (number(from), number(to)) else {
        return Err(fail("the range's ends must be numbers"));
    };
    if from >= to {
        return Err(fail("the range must go from a lower to a higher value"));
    }
    let path = path.trim().to_string();
    let whole = tailsim_model::params::is_whole(source, overrides, &path).map_err(option_failure(flag))?;
    let resolution = resolution.unwrap_or((to - from) / 200.0);
    if !(resolution.is_finite() && resolution > 0.0) {
        return Err(fail("--resolution must be a positive number"));
    }
    let (from, to) = if whole { (from.ceil(), to.floor()) } else { (from, to) };
    Ok(Range { path, from, to, whole, resolution })
}

/// The probes, the answer and the evidence beside it.
fn render(plan: &Plan, range: &Range) -> Document {
    use std::fmt::Write as _;
    let mut out = Document::default();
    let goal = match plan.goal {
        Goal::Smallest => "the smallest",
        Goal::Largest => "the largest",
    };
    let _ = writeln!(
        out,
        "{}: {goal} {} from {} to {} meeting every objective, seed {}\n",
        plan.scenario,
        plan.param,
        format_value(range.from),
        format_value(range.to),
        plan.seed
    );
    let mut probes = tailsim_report::text::Table::new(&["probe", "value", "replications", "outcome"]);
    for (i, p) in plan.probes.iter().enumerate() {
        let outcome = match p.outcome {
            tailsim_sim::plan::Outcome::Met => "meets",
            tailsim_sim::plan::Outcome::Missed => "misses",
            tailsim_sim::plan::Outcome::Undecided => "undecided",
        };
        probes.row(vec![(i + 1).to_string(), format_value(p.value), p.replications.to_string(), outcome.into()]);
    }
    out.table(probes);
    let _ = match plan.answer {
        Some(answer) => writeln!(out, "\nanswer: {} = {} ({} runs)", plan.param, format_value(answer), plan.runs),
        None => writeln!(
            out,
            "\nanswer: none from {} to {} ({} runs)",
            format_value(range.from),
            format_value(range.to),
            plan.runs
        ),
    };
    if let Some(why) = &plan.stopped {
        let _ = writeln!(out, "stopped: {why}");
    }
    for (label, probe) in [("at the answer", plan.probe(plan.answer)), ("beyond it", plan.probe(plan.beyond))] {
        if let Some(p) = probe {
            evidence(&mut out, label, &format_value(p.value), p.replications, &p.verdicts);
        }
    }
    out
}

/// The objectives' table of one design: `label, what (n replications):` above it.
fn evidence(out: &mut Document, label: &str, what: &str, replications: u32, verdicts: &[SloVerdict]) {
    use std::fmt::Write as _;
    let _ = writeln!(out, "\n{label}, {what} ({replications} replications):");
    let mut table = tailsim_report::text::Table::new(&["objective", "target", "measured", "verdict"]);
    for row in objective_rows(verdicts) {
        table.row(row);
    }
    out.table(table);
}

/// The chart of the search: the first latency objective's measured value at each probe against
/// the parameter, its target dashed across the range, and the answer marked; `None` when no
/// objective is a latency.
fn chart(plan: &Plan) -> Option<tailsim_report::chart::Chart> {
    use tailsim_report::chart::{Chart, ChartKind, LoadChart, LoadLine, Stroke};
    let first = plan.probes.first()?;
    let k = first.verdicts.iter().position(|v| v.unit == "ms")?;
    let objective = &first.verdicts[k];
    let mean_at = |p: &Probe| p.verdicts.get(k).and_then(|v| v.mean).map(|m| (p.value, m));
    let mut measured: Vec<(f64, f64)> = plan.probes.iter().filter_map(mean_at).collect();
    measured.sort_by(|a, b| a.0.total_cmp(&b.0));
    let target = vec![(plan.from, objective.threshold), (plan.to, objective.threshold)];
    let mut lines = vec![
        LoadLine {
            name: format!("{} (mean of the replications)", objective.objective),
            points: measured,
            colour: 0,
            style: Stroke::Measured,
        },
        LoadLine {
            name: format!("target: {}", tailsim_report::text::format_ms(objective.threshold)),
            points: target,
            colour: 1,
            style: Stroke::Theory,
        },
    ];
    if let Some(answer) = plan.probe(plan.answer).and_then(mean_at) {
        lines.push(LoadLine {
            name: format!("answer: {}", format_value(answer.0)),
            points: vec![answer],
            colour: 2,
            style: Stroke::Measured,
        });
    }
    Some(Chart {
        file_stem: "plan".into(),
        title: format!("{}: {} against {}", plan.scenario, objective.objective, plan.param),
        kind: ChartKind::Load(LoadChart { x_label: plan.param.clone(), x_is_load: false, lines, groups_left_out: 0 }),
    })
}
