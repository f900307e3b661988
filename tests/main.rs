//! The end-to-end test binary: one crate with modules, built once.

mod analytic;
mod determinism;
mod diagnostics;
mod scenarios;
