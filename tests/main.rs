//! The end-to-end test binary: one crate with modules, built once.

#![allow(clippy::unwrap_used)]

mod admission;
mod analytic;
mod autoscale;
mod balancing;
mod batching;
mod caches;
mod callgraph;
mod charts;
mod classes;
mod compare;
mod connections;
mod contention;
mod cost;
mod cpu;
mod crash;
mod data;
mod determinism;
mod diagnostics;
mod fuzz_regressions;
mod golden;
mod messaging;
mod pins;
mod plan;
mod properties;
mod publishing;
mod resilience;
mod scenarios;
mod shard_files;
mod slos;
mod tidy;
mod timeseries;
mod trace;
mod traffic;
