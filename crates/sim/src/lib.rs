//! tailsim's simulator: the world of clients, services and their mechanisms that runs one
//! replication of a compiled [`Model`] on the engine, and the batch runners above it
//! (replications, comparisons, sweeps, the capacity search, shards). It reads only the compiled
//! model: the file format's types never reach it.

pub mod admission;
pub mod breaker;
mod bucket;
pub mod cache;
pub mod compare;
pub mod cpu;
pub mod ids;
pub mod plan;
pub mod recovery;
pub mod shard;
pub mod sweep;
pub mod world;

use serde::{Deserialize, Serialize};
use tailsim_model::{Model, graph};
use tailsim_stats::{Aggregate, Report, RunSummary};

use shard::Shard;

pub use world::{Limits, Progress};

/// Runs `replications` independent replications in parallel (on rayon's current pool) and
/// gathers them into a report. The result is the same whatever the number of threads: each
/// replication draws only from streams derived from `(seed, replication, component)`.
pub fn run_replications(model: &Model, seed: u64, replications: u32, limits: Limits) -> Report {
    let setup = RunSetup::new(model, seed, replications);
    setup.finish(shard::run(Shard::WHOLE, setup.runs(), |r| setup.run(model, r, limits)))
}

/// Builds the report of a set of replications.
pub fn report(model: &Model, seed: u64, runs: Vec<RunSummary>) -> Report {
    RunSetup::new(model, seed, runs.len() as u32).finish(runs)
}

/// What every shard of `run --replications R` computes alike: the report's header, and the
/// call graph and description its charts and page are drawn with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSetup {
    /// The scenario's name.
    pub scenario: String,
    /// The master seed.
    pub seed: u64,
    /// Simulated time of each replication, warm-up included, in seconds.
    pub duration_s: f64,
    /// Warm-up, in seconds.
    pub warmup_s: f64,
    /// Replications in all.
    pub replications: u32,
    /// The scenario's call graph.
    pub graph: tailsim_stats::graph::CallGraph,
    /// What the scenario shows (its `description` or header comment), for report.html.
    pub description: Option<String>,
    /// The objectives the replications are judged by.
    pub slos: Vec<tailsim_stats::slo::Objective>,
}

impl RunSetup {
    /// The setup of `replications` (at least one) of `model` with master seed `seed`.
    pub fn new(model: &Model, seed: u64, replications: u32) -> RunSetup {
        RunSetup {
            scenario: model.name.clone(),
            seed,
            duration_s: model.duration.as_secs_f64(),
            warmup_s: model.warmup.as_secs_f64(),
            replications: replications.max(1),
            graph: graph::call_graph(model),
            description: model.description.clone(),
            slos: model.slos.clone(),
        }
    }

    /// How many runs it makes: one per replication.
    pub fn runs(&self) -> u64 {
        u64::from(self.replications)
    }

    /// Runs replication `job` of `model`.
    pub fn run(&self, model: &Model, job: u64, limits: Limits) -> RunSummary {
        world::run(model, self.seed, job as u32, limits)
    }

    /// The report of the replications, in order.
    pub fn finish(&self, runs: Vec<RunSummary>) -> Report {
        Report {
            schema_version: tailsim_stats::summary::SCHEMA_VERSION,
            scenario: self.scenario.clone(),
            seed: self.seed,
            duration_s: self.duration_s,
            warmup_s: self.warmup_s,
            replications: runs.len() as u32,
            truncated: runs.iter().find_map(|r| r.truncated.clone()),
            aggregate: Aggregate::from_runs(&runs),
            slos: tailsim_stats::slo::judge(&self.slos, &runs),
            runs,
        }
    }
}
