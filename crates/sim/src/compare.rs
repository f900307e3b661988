//! Running designs side by side (`tailsim compare`): every variant, every replication, all in
//! parallel, with common random numbers.
//!
//! Replication `r` of every variant runs with the same master seed and index `r`, so its
//! clients and services draw from the same streams (keyed by seed, replication and component
//! name): the same arrivals and the same service draws, as far as the designs let them be used
//! alike. Differences then come from the design, not the dice, and are paired by replication
//! in [`tailsim_stats::compare`].

use serde::{Deserialize, Serialize};
use tailsim_stats::Distribution;
use tailsim_stats::compare::{Comparison, MetricSet, VariantClient, VariantRuns, run_metrics};
use tailsim_stats::timeline::{Band, Marker, fault_bands, instant_markers};

use tailsim_stats::slo::Objective;

use crate::shard::{self, Shard};
use crate::world::{self, Limits};
use tailsim_model::compile::Model;

/// The most replications `compare` and `sweep` accept.
pub const MAX_REPLICATIONS: u32 = 10_000;

/// The most runs (variants or points, times replications) one command may ask for.
pub const MAX_RUNS: u64 = 1_000_000;

/// The index of the client named `name` in `model`, if there is one.
pub fn client_index(model: &Model, name: &str) -> Option<usize> {
    model.clients.iter().position(|c| c.name == name)
}

/// What every shard of a comparison computes alike: its names and options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// The first variant's scenario name.
    pub scenario: String,
    /// The master seed.
    pub seed: u64,
    /// Replications per variant.
    pub replications: u32,
    /// The client whose latency is compared.
    pub client: String,
    /// The cache compared: the one asked for, or the first variant's first.
    pub cache: Option<String>,
    /// The variants' names, in order.
    pub variants: Vec<String>,
    /// What the first scenario shows (its `description` or header comment), for compare.html.
    pub description: Option<String>,
    /// Each variant's objectives, in variant order.
    pub slos: Vec<Vec<Objective>>,
}

impl Setup {
    /// The setup of comparing `variants` over `replications` (at least one) on `client`'s
    /// latency and `cache`'s statistics (by default the first variant's first cache).
    pub fn new(variants: &[(String, Model)], seed: u64, replications: u32, client: &str, cache: Option<&str>) -> Setup {
        let cache =
            cache.or_else(|| variants.first().and_then(|(_, model)| model.caches.first()).map(|c| c.name.as_str()));
        Setup {
            scenario: variants.first().map_or("", |(_, m)| m.name.as_str()).to_string(),
            seed,
            replications: replications.max(1),
            client: client.to_string(),
            cache: cache.map(str::to_string),
            variants: variants.iter().map(|(name, _)| name.clone()).collect(),
            description: None,
            slos: variants.iter().map(|(_, model)| model.slos.clone()).collect(),
        }
    }

    /// How many runs the comparison makes.
    pub fn runs(&self) -> u64 {
        self.variants.len() as u64 * u64::from(self.replications)
    }

    /// Runs job `job` of the comparison: variant `job / R`'s replication `job % R`.
    pub fn run(&self, variants: &[(String, Model)], job: u64, limits: Limits) -> Outcome {
        let replications = u64::from(self.replications);
        let (v, r) = ((job / replications) as usize, (job % replications) as u32);
        let (name, model) = &variants[v];
        let run = world::run(model, self.seed, r, limits);
        let broken =
            (!run.conservation.holds).then(|| format!("variant \"{name}\" replication {r}: {:?}", run.conservation));
        // Only the first replication's time series, faults and instants (cache events, reshards) are charted.
        let charted = (r == 0).then(|| Charted {
            clients: VariantClient::of_run(&run),
            bands: fault_bands(&run, model.warmup.as_secs_f64()),
            markers: instant_markers(&run),
        });
        let client = client_index(model, &self.client).unwrap_or(usize::MAX);
        let slos = self.slos.get(v).map_or(&[][..], Vec::as_slice);
        Outcome {
            slo_values: slos.iter().map(|o| o.value(&run)).collect(),
            metrics: run_metrics(&run, client, self.cache.as_deref()),
            histograms: run.clients.into_iter().map(|c| c.latency_histogram).collect(),
            charted,
            truncated: run.truncated,
            broken,
        }
    }

    /// The comparison of the runs' outcomes, in job order. The second value describes the
    /// first run that broke conservation of requests, if one did (a bug).
    pub fn finish(&self, outcomes: Vec<Outcome>) -> (Comparison, Option<String>) {
        let broken = outcomes.iter().find_map(|o| o.broken.clone());
        let mut outcomes = outcomes.into_iter();
        let runs: Vec<VariantRuns> = self
            .variants
            .iter()
            .enumerate()
            .map(|(v, name)| {
                let mine: Vec<Outcome> = outcomes.by_ref().take(self.replications as usize).collect();
                let objectives = self.slos.get(v).map_or(&[][..], Vec::as_slice);
                let slos = objectives
                    .iter()
                    .enumerate()
                    .map(|(k, o)| {
                        o.verdict(&mine.iter().map(|r| r.slo_values.get(k).copied().flatten()).collect::<Vec<_>>())
                    })
                    .collect();
                let truncated = mine.iter().find_map(|o| o.truncated.clone());
                let Charted { clients: mut charted_clients, bands, markers } =
                    mine.first().and_then(|o| o.charted.clone()).unwrap_or_default();
                for (k, client) in charted_clients.iter_mut().enumerate() {
                    client.latency_histogram = Distribution::pooled(mine.iter().filter_map(|o| o.histograms.get(k)));
                }
                VariantRuns {
                    name: name.clone(),
                    runs: mine.into_iter().map(|o| o.metrics).collect(),
                    truncated,
                    clients: charted_clients,
                    bands,
                    markers,
                    slos,
                }
            })
            .collect();
        (Comparison::new(&self.scenario, self.seed, &self.client, self.cache.as_deref(), runs), broken)
    }
}

/// Runs each variant `replications` times (on rayon's current pool; the result does not depend
/// on the number of threads) and compares them, the first being the reference. Latency is that
/// of the client named `client` (`null` statistics for a variant without one); the cache
/// statistics are those of the cache named `cache`, by default the first variant's first
/// (`null` for a variant without it). For the charts,
/// each variant keeps every client's latency distribution (pooled over its replications) and
/// its first replication's time series and faults. The second value describes the first run
/// that broke conservation of requests, if one did (a bug).
pub fn compare(
    variants: &[(String, Model)],
    seed: u64,
    replications: u32,
    client: &str,
    cache: Option<&str>,
    limits: Limits,
) -> (Comparison, Option<String>) {
    let setup = Setup::new(variants, seed, replications, client, cache);
    let outcomes = shard::run(Shard::WHOLE, setup.runs(), |job| setup.run(variants, job, limits));
    setup.finish(outcomes)
}

/// What a comparison's charts draw of a variant's first replication: its clients' time series,
/// the spans they shade and the instants they mark (cache events, changes of shards).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Charted {
    clients: Vec<VariantClient>,
    bands: Vec<Band>,
    markers: Vec<Marker>,
}

/// What one run of a comparison keeps.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    /// The compared statistics.
    metrics: MetricSet<Option<f64>>,
    /// Each client's latency distribution, in client order.
    histograms: Vec<Distribution>,
    /// What the charts draw of the first replication.
    charted: Option<Charted>,
    /// Why it stopped early, if it did.
    truncated: Option<String>,
    /// How it broke conservation of requests, if it did.
    broken: Option<String>,
    /// The value of each of its variant's objectives.
    slo_values: Vec<Option<f64>>,
}

impl Outcome {
    /// Why the run stopped early, if it did.
    pub fn truncated(&self) -> Option<&str> {
        self.truncated.as_deref()
    }

    /// How it broke conservation of requests, if it did.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }
}
