//! meshsim: a deterministic discrete-event simulator of a microservice service mesh.
//!
//! Load a scenario with [`load_file`], run it with [`run`], and write its reports with
//! the [`report`] module; sweep its parameters with [`sweep`]. The same scenario, seed
//! and binary give byte-identical output.

#![forbid(unsafe_code)]

pub mod alert;
pub mod autoscale;
pub mod balance;
pub mod chaos;
pub mod charts;
pub mod check;
pub mod discovery;
pub mod dist;
pub mod formats;
pub mod html;
pub mod ids;
pub mod invariant;
pub mod metrics;
pub mod model;
pub mod outcome;
pub mod output;
pub mod plot;
pub mod report;
pub mod resilience;
pub mod result;
pub mod rng;
pub mod rollout;
pub mod rundata;
pub mod scenario;
pub mod security;
pub mod sim;
pub mod slo;
pub mod sweep;
pub mod time;
pub mod trace;
pub mod traffic;
pub mod workload;

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
