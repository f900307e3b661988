//! What a run's timeline holds besides its series: the spans to shade (the warm-up, each
//! fault) and the instants to mark (a cache's flush, a change of shards), derived from a
//! [`RunSummary`]. Plain data: they serialise in `compare.json`, and `tailsim-report`'s time
//! charts draw them.

use serde::{Deserialize, Serialize};

use crate::summary::{CacheSummary, RunSummary};

/// A span of time to shade: the warm-up or a fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// What happened: `warm-up`, `db: slowdown x5`.
    pub label: String,
    /// When it started, in seconds.
    pub start_s: f64,
    /// When it ended, in seconds.
    pub end_s: f64,
    /// Whether it is the warm-up (grey) rather than a fault (orange).
    pub warmup: bool,
}

/// An instant to mark with a vertical line: something that happened at once, such as a cache
/// flush.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// What happened: `products: flush`.
    pub label: String,
    /// When, in seconds.
    pub at_s: f64,
}

impl Band {
    /// Whether the band is a span that can be drawn: finite, and ending after it starts.
    pub fn is_drawable(&self) -> bool {
        self.start_s.is_finite() && self.end_s.is_finite() && self.end_s > self.start_s
    }
}

/// The most faults a time chart shades, and the most instants it marks: past a few dozen a
/// chart is unreadable, and drawing a hundred thousand takes longer than the run.
pub const MAX_DRAWN: usize = 40;

/// The faults a time chart can shade: not periodic, starting before the run's end.
fn shadeable(run: &RunSummary, warmup_s: f64) -> impl Iterator<Item = &crate::summary::FaultSummary> {
    let run_end = warmup_s + run.measured_s;
    run.faults.iter().filter(move |f| !f.periodic && f.start_s < run_end)
}

/// The warm-up and the first [`MAX_DRAWN`] faults of a run as bands to shade.
/// Faults are cut at the run's end; periodic ones (pauses, CPU quotas) strike only now and
/// then inside their window, so shading all of it would mislead: they are left out.
pub fn fault_bands(run: &RunSummary, warmup_s: f64) -> Vec<Band> {
    let mut bands = Vec::new();
    if warmup_s > 0.0 {
        bands.push(Band { label: "warm-up".into(), start_s: 0.0, end_s: warmup_s, warmup: true });
    }
    let run_end = warmup_s + run.measured_s;
    bands.extend(shadeable(run, warmup_s).take(MAX_DRAWN).map(|f| Band {
        label: match f.instance {
            Some(i) => format!("{} #{i}: {}", f.service, f.kind),
            None => format!("{}: {}", f.service, f.kind),
        },
        start_s: f.start_s,
        end_s: f.end_s.min(run_end),
        warmup: false,
    }));
    bands
}

/// The instants on a run's timeline: each cache's flushes, changes of nodes and key changes,
/// and each key-routed service's changes of shards, labelled with the cache's or service's
/// name, in time order.
pub fn instant_markers(run: &RunSummary) -> Vec<Marker> {
    let reshards = run.services.iter().flat_map(|s| {
        s.resizes.iter().map(|r| Marker {
            label: format!(
                "{}: shards {} -> {} ({:.0}% of keys moved)",
                s.name,
                r.from,
                r.to,
                r.moved_fraction * 100.0
            ),
            at_s: r.at_s,
        })
    });
    let mut markers: Vec<Marker> = run.caches.iter().flat_map(markers_of).chain(reshards).collect();
    markers.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    markers.truncate(MAX_DRAWN);
    markers
}

/// What the time charts leave out of a run's timeline, if anything: the faults past the first
/// [`MAX_DRAWN`] and the instants past the first [`MAX_DRAWN`] (summary.json has them all).
pub fn left_out(run: &RunSummary, warmup_s: f64) -> Option<String> {
    let faults = shadeable(run, warmup_s).count();
    let instants = run.caches.iter().map(|c| c.events.len()).sum::<usize>()
        + run.services.iter().map(|s| s.resizes.len()).sum::<usize>();
    let mut parts = Vec::new();
    if faults > MAX_DRAWN {
        parts.push(format!("the time charts shade the first {MAX_DRAWN} of {faults} faults"));
    }
    if instants > MAX_DRAWN {
        parts.push(format!("they mark the first {MAX_DRAWN} of {instants} cache and shard events"));
    }
    (!parts.is_empty()).then(|| format!("{} (summary.json has them all)", parts.join("; ")))
}

/// The instants on one cache's timeline, labelled with its name.
pub fn markers_of(cache: &CacheSummary) -> Vec<Marker> {
    cache.events.iter().map(|e| Marker { label: format!("{}: {}", cache.name, e.kind), at_s: e.at_s }).collect()
}
