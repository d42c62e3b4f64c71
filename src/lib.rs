//! meshsim: a deterministic discrete-event simulator of a microservice service mesh.
//!
//! Load a scenario with [`load_file`], run it with [`run`], and write its reports with
//! the [`report`] module; sweep its parameters with [`sweep`]. The same scenario, seed
//! and binary give byte-identical output.
//!
//! The public API is what the CLI, the tests, the benchmarks and the fuzz targets use:
//! loading (`load_file`, `load_str`, `scenario`, `model`), running (`run`, `sim`,
//! `result`, `checker`), and the outputs (`output`, `report`, `formats`, `rundata`,
//! `charts`, `html`, `sweep`), plus the few parts tests drive directly (`chaos`,
//! `metrics`, `rng`, `slo`, `time`) and the component libraries, pure state machines usable
//! on their own (`resilience`, `balance`, `discovery`, `security`, `workload`).
//! Everything else is private.

#![forbid(unsafe_code)]

pub mod balance;
pub mod chaos;
pub mod charts;
pub mod checker;
pub mod discovery;
pub mod formats;
pub mod html;
pub mod metrics;
pub mod model;
pub mod output;
pub mod report;
pub mod resilience;
pub mod result;
pub mod rng;
pub mod rundata;
pub mod scenario;
pub mod security;
pub mod sim;
pub mod slo;
pub mod sweep;
pub mod time;
pub mod workload;

// Inside the library only: helpers and decisions the loop and the reports use.
mod alert;
mod autoscale;
mod dist;
mod ids;
mod invariant;
mod outcome;
mod plot;
mod rollout;
mod trace;
mod traffic;

pub use model::Scenario;
pub use result::{RunResult, Stop};
pub use scenario::{Issue, ScenarioError};

/// Reads and validates a scenario file, its `sweep` block included.
///
/// # Errors
/// `ScenarioError` naming the file, the JSON path and what was expected.
pub fn load_file(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
    scenario::load_file_with(path, sweep::check_block)
}

/// Validates scenario JSON given as text (`file` names it in messages), its `sweep`
/// block included.
///
/// # Errors
/// `ScenarioError` naming the file, the JSON path and what was expected.
pub fn load_str(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    scenario::load_str_with(text, file, sweep::check_block)
}
pub use sim::{Hooks, RunError, RunOptions, run};
pub use time::{SimDuration, SimTime};
