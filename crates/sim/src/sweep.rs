//! Parameter sweeps (`tailsim sweep`): `--param path=from..to:steps` (linear), `...:log`
//! (geometric) or `path=a,b,c` (a list); several parameters make a grid. Every point runs its
//! replications with the same seed, so neighbouring points share their random numbers and the
//! curve is smooth; points run in parallel.

use serde::{Deserialize, Serialize};
use tailsim_stats::sweep::{Busiest, MmcTheory, Sweep, SweepPoint, SweepRun};

use crate::shard::{self, Shard};
use crate::world::{self, Limits};
use tailsim_model::analysis;
use tailsim_model::compile::Model;

/// The busiest service by offered load (the first of equals).
pub fn busiest(model: &Model) -> Busiest {
    let loads = analysis::offered_load(model);
    let mut best = 0;
    for (i, l) in loads.iter().enumerate() {
        if l.offered_load > loads[best].offered_load {
            best = i;
        }
    }
    Busiest {
        service_index: best,
        service: loads.get(best).map(|l| l.service.clone()).unwrap_or_default(),
        offered_load: loads.get(best).map_or(0.0, |l| l.offered_load),
    }
}

/// The M/M/c theory of the most loaded M/M/c-like service, if there is one.
pub fn theory(model: &Model) -> Option<MmcTheory> {
    let mut best: Option<analysis::Mmc> = None;
    for m in analysis::mmc(model).into_iter().flatten() {
        let load = |m: &analysis::Mmc| m.arrival_rate_per_s * m.mean_service_s / f64::from(m.workers);
        if best.as_ref().is_none_or(|b| load(&m) > load(b)) {
            best = Some(m);
        }
    }
    best.map(|m| MmcTheory {
        service_index: m.service,
        service: model.services[m.service].name.clone(),
        workers: m.workers,
        mean_ms: m.mean_response_s * 1e3,
        p99_ms: m.p99_response_s * 1e3,
    })
}

/// What every shard of a sweep computes alike: its names, options and each point's offered
/// load and theory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// The scenario's name.
    pub scenario: String,
    /// The master seed of every point.
    pub seed: u64,
    /// Replications per point.
    pub replications: u32,
    /// The client whose latency is reported.
    pub client: String,
    /// The parameters' paths, as `--param` named them.
    pub params: Vec<String>,
    /// The points, in grid order.
    pub points: Vec<PointSetup>,
}

/// One point of a sweep before it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointSetup {
    /// The parameters' values.
    pub values: Vec<f64>,
    /// The index of the reported client in the point's model.
    pub client: usize,
    /// Its busiest service by offered load.
    pub busiest: Busiest,
    /// Erlang C's figures for its busiest M/M/c-like service, if it has one.
    pub theory: Option<MmcTheory>,
}

/// What one run of a sweep keeps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The figures of the point's statistics.
    pub run: SweepRun,
    /// How it broke conservation of requests, if it did (a bug).
    pub broken: Option<String>,
}

impl Setup {
    /// The setup of sweeping `points` (the parameter paths `params`) with `replications`
    /// (at least one) each, reporting `client`'s latency.
    pub fn new(
        scenario: &str,
        params: Vec<String>,
        points: &[(Vec<f64>, Model)],
        seed: u64,
        replications: u32,
        client: &str,
    ) -> Setup {
        let points = points
            .iter()
            .map(|(values, model)| PointSetup {
                values: values.clone(),
                client: crate::compare::client_index(model, client).unwrap_or(usize::MAX),
                busiest: busiest(model),
                theory: theory(model),
            })
            .collect();
        let replications = replications.max(1);
        Setup { scenario: scenario.to_string(), seed, replications, client: client.to_string(), params, points }
    }

    /// How many runs the sweep makes.
    pub fn runs(&self) -> u64 {
        self.points.len() as u64 * u64::from(self.replications)
    }

    /// Runs job `job` of the sweep: point `job / R`'s replication `job % R`.
    pub fn run(&self, points: &[(Vec<f64>, Model)], job: u64, limits: Limits) -> Outcome {
        let replications = u64::from(self.replications);
        let (p, r) = ((job / replications) as usize, (job % replications) as u32);
        let (values, model) = &points[p];
        let setup = &self.points[p];
        let run = world::run(model, self.seed, r, limits);
        let broken = (!run.conservation.holds)
            .then(|| format!("point {values:?} replication {}: {:?}", run.replication, run.conservation));
        let mmc = setup.theory.as_ref().map(|t| t.service_index);
        Outcome { run: SweepRun::of(&run, setup.client, setup.busiest.service_index, mmc), broken }
    }

    /// The sweep of the runs' outcomes, in job order. The second value describes the first
    /// run that broke conservation of requests, if one did (a bug).
    pub fn finish(&self, outcomes: Vec<Outcome>) -> (Sweep, Option<String>) {
        let broken = outcomes.iter().find_map(|o| o.broken.clone());
        let runs: Vec<SweepRun> = outcomes.into_iter().map(|o| o.run).collect();
        let points = self
            .points
            .iter()
            .zip(runs.chunks(self.replications as usize))
            .map(|(p, runs)| SweepPoint::from_runs(p.values.clone(), runs, p.busiest.clone(), p.theory.clone()))
            .collect();
        let sweep = Sweep {
            scenario: self.scenario.clone(),
            seed: self.seed,
            replications: self.replications,
            client: self.client.clone(),
            params: self.params.clone(),
            points,
        };
        (sweep, broken)
    }
}

/// Runs every point `replications` times, in parallel on rayon's current pool (the result does
/// not depend on the number of threads), keeping of each run only the figures its point's
/// statistics need. The second value describes the first run that broke conservation of
/// requests, if one did (a bug).
pub fn sweep(
    points: &[(Vec<f64>, Model)],
    seed: u64,
    replications: u32,
    client: &str,
    limits: Limits,
) -> (Vec<SweepPoint>, Option<String>) {
    let setup = Setup::new("", Vec::new(), points, seed, replications, client);
    let outcomes = shard::run(Shard::WHOLE, setup.runs(), |job| setup.run(points, job, limits));
    let (sweep, broken) = setup.finish(outcomes);
    (sweep.points, broken)
}
