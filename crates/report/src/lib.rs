//! Everything a run produces for people to read: `summary.json` and `timeseries.csv`, the
//! terminal tables, the charts and `report.html`. What is measured and summed up (collectors,
//! summaries, intervals, the data of comparisons and sweeps) is `tailsim-stats`'s, re-exported
//! here so that one crate gives a caller the whole of a report. Nothing here prints; [`text`]
//! returns strings for the CLI.

pub mod chart;
pub mod compare;
pub mod html;
pub mod sweep;
pub mod text;
pub mod write;

pub use tailsim_stats::{aggregate, collect, cost, graph, slo, summary};

pub use aggregate::{Aggregate, Estimate};
pub use collect::{LatencyRecorder, Occupancy, WindowRecorder};
pub use summary::{
    BatchSummary, BreakerTransition, CacheEventSummary, CacheResize, CacheSeries, CacheSummary, ClassSummary,
    ClientSummary, Conservation, Distribution, EdgeSummary, Failures, FaultSummary, GroupSeries, GroupSummary,
    LatencySummary, LittlesLaw, MessageCount, PartitionSummary, ReplicationSummary, Report, RunSummary, Series,
    ServiceSeries, ServiceSummary, Throttling, TopicSummary,
};
