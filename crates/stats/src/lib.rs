//! What a run measures and how runs are summed up, with no drawing in it: the collectors the
//! simulator records into while it runs, the per-run summary (`summary.json`), confidence
//! intervals over replications, and the plain data of comparisons, sweeps, call graphs and
//! timelines. `tailsim-report` turns these into tables, charts and `report.html`; the simulator
//! depends on this crate only, so it builds no plotting library.
//!
//! Collectors stream: a [`LatencyRecorder`] is an HdrHistogram plus exact sums, an
//! [`Occupancy`] a time-weighted integral of how many are inside. No per-request record is kept,
//! so memory does not grow with the length of a run.

pub mod aggregate;
pub mod collect;
pub mod compare;
pub mod cost;
pub mod format;
pub mod graph;
pub mod slo;
pub mod summary;
pub mod sweep;
pub mod timeline;

pub use aggregate::{Aggregate, Estimate};
pub use collect::{LatencyRecorder, Occupancy, WindowRecorder};
pub use summary::{
    AdmissionSummary, BatchSummary, BreakerTransition, CacheEventSummary, CacheResize, CacheSeries, CacheSummary,
    ClassSummary, ClientSummary, Conservation, Distribution, EdgeSummary, Failures, FaultSummary, GroupSeries,
    GroupSummary, LatencySummary, LittlesLaw, MessageCount, PartitionSummary, ReplicationSummary, Report, RunSummary,
    Series, ServiceSeries, ServiceSummary, TenantCounts, Throttling, TopicSummary,
};
