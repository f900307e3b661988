//! tailsim's compiled model: a scenario lowered into dense ids and checked, what can be known
//! of it before a run (offered load, Erlang C, warnings) and its call graph.
//!
//! ```text
//! text ──parse──▶ Scenario ──overrides──▶ Scenario ──compile──▶ Model ──run (tailsim-sim)──▶ RunSummary
//!        (line:col errors)   (--set)             (path errors,
//!          tailsim-scenario                      dense ids) here
//! ```
//!
//! The file format's types stop here: the model's own types (see [`kinds`]) carry no serde, and
//! what is re-exported from `tailsim-scenario` is the loader's interface alone (its inputs,
//! [`Override`] and [`Files`], and its errors, [`Diagnostic`]).

pub mod admission;
pub mod analysis;
pub mod compile;
pub mod graph;
pub mod keys;
pub mod kinds;
mod load;
mod lower;
pub mod params;
pub mod traffic;
pub mod variants;

pub use compile::{Model, ServiceId};
pub use load::{load, load_in, load_points, load_points_in, load_variants, load_variants_in, load_with};
pub use tailsim_scenario::{Diagnostic, Files, Location, Override, Severity};
