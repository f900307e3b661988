//! Everything a run produces, from the collectors the model records into while it runs to the
//! summaries, confidence intervals, `summary.json`, the terminal table, the charts and
//! `report.html`.
//!
//! Collectors stream: a [`LatencyRecorder`] is an HdrHistogram plus exact sums, an
//! [`Occupancy`] a time-weighted integral of how many are inside. No per-request record is kept, so memory does
//! not grow with the length of a run. Nothing here prints; [`text`] returns strings for the CLI.

pub mod aggregate;
pub mod chart;
pub mod collect;
pub mod compare;
pub mod graph;
pub mod html;
pub mod summary;
pub mod sweep;
pub mod text;
pub mod write;

pub use aggregate::{Aggregate, Estimate};
pub use collect::{LatencyRecorder, Occupancy, WindowRecorder};
pub use summary::{
    BreakerTransition, CacheEventSummary, CacheResize, CacheSeries, CacheSummary, ClassSummary, ClientSummary,
    Conservation, Distribution, EdgeSummary, Failures, FaultSummary, LatencySummary, LittlesLaw, ReplicationSummary,
    Report, RunSummary, Series, ServiceSeries, ServiceSummary, Throttling,
};
