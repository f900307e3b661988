//! tailsim's file format: the scenario schema as serde types, parsing with diagnostics that
//! point at a line and column, `--set` overrides, and reading a client's trace file. Nothing
//! here knows how a scenario runs; `tailsim-model` lowers a [`Scenario`] into the compiled form.

pub mod diag;
pub mod objectives;
pub mod overrides;
pub mod parse;
pub mod schema;
pub mod spans;
pub mod trace;

pub use diag::{Diagnostic, Location, Severity};
pub use overrides::Override;
pub use schema::Scenario;
pub use trace::Files;
