//! Running designs side by side (`tailsim compare`): every variant, every replication, all in
//! parallel, with common random numbers.
//!
//! Replication `r` of every variant runs with the same master seed and index `r`, so its
//! clients and services draw from the same streams (keyed by seed, replication and component
//! name): the same arrivals and the same service draws, as far as the designs let them be used
//! alike. Differences then come from the design, not the dice, and are paired by replication
//! in [`tailsim_stats::compare`].

use rayon::prelude::*;
use tailsim_stats::Distribution;
use tailsim_stats::compare::{Comparison, MetricSet, VariantClient, VariantRuns, run_metrics};
use tailsim_stats::timeline::{Band, Marker, fault_bands, instant_markers};

use crate::compile::Model;
use crate::world::{self, Limits};

/// The most replications `compare` and `sweep` accept.
pub const MAX_REPLICATIONS: u32 = 10_000;

/// The most runs (variants or points, times replications) one command may ask for.
pub const MAX_RUNS: u64 = 1_000_000;

/// The index of the client named `name` in `model`, if there is one.
pub fn client_index(model: &Model, name: &str) -> Option<usize> {
    model.clients.iter().position(|c| c.name == name)
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
    let replications = replications.max(1);
    let clients: Vec<usize> =
        variants.iter().map(|(_, model)| client_index(model, client).unwrap_or(usize::MAX)).collect();
    // The cache compared: `cache`, or the first variant's first, looked up by name in the others.
    let cache = cache.or_else(|| variants.first().and_then(|(_, model)| model.caches.first()).map(|c| c.name.as_str()));
    let jobs: Vec<(usize, u32)> = (0..variants.len()).flat_map(|v| (0..replications).map(move |r| (v, r))).collect();
    let results: Vec<Outcome> = jobs
        .par_iter()
        .map(|&(v, r)| {
            let (name, model) = &variants[v];
            let run = world::run(model, seed, r, limits);
            let broken = (!run.conservation.holds)
                .then(|| format!("variant \"{name}\" replication {r}: {:?}", run.conservation));
            // Only the first replication's time series, faults and instants (cache events, reshards) are charted.
            let charted = (r == 0).then(|| Charted {
                clients: VariantClient::of_run(&run),
                bands: fault_bands(&run, model.warmup.as_secs_f64()),
                markers: instant_markers(&run),
            });
            Outcome {
                metrics: run_metrics(&run, clients[v], cache),
                histograms: run.clients.into_iter().map(|c| c.latency_histogram).collect(),
                charted,
                truncated: run.truncated,
                broken,
            }
        })
        .collect();
    let broken = results.iter().find_map(|o| o.broken.clone());
    let mut results = results.into_iter();
    let runs: Vec<VariantRuns> = variants
        .iter()
        .map(|(name, _)| {
            let mine: Vec<Outcome> = results.by_ref().take(replications as usize).collect();
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
            }
        })
        .collect();
    let scenario = variants.first().map_or("", |(_, m)| m.name.as_str());
    (Comparison::new(scenario, seed, client, cache, runs), broken)
}

/// What a comparison's charts draw of a variant's first replication: its clients' time series,
/// the spans they shade and the instants they mark (cache events, changes of shards).
#[derive(Clone, Default)]
struct Charted {
    clients: Vec<VariantClient>,
    bands: Vec<Band>,
    markers: Vec<Marker>,
}

/// What one run of a comparison keeps.
struct Outcome {
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
}
