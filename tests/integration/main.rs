//! meshsim's integration tests, in one binary; each module is named after the behaviour
//! it checks.

mod alerts;
mod autoscaling;
mod breakers;
mod bundled_stories;
mod call_semantics;
mod charts_and_report;
mod common;
mod determinism;
mod direct_calls;
mod discovery_lifecycle;
mod faults;
mod formats;
mod golden;
mod injected_faults;
mod invariants;
mod load_balancers;
mod locality;
mod network_faults;
mod outlier_detection;
mod overload_protection;
mod policy_properties;
mod queueing_theory;
mod rate_limits;
mod resilience_series;
mod run_limits;
mod scenario_errors;
mod security;
mod slos;
mod sweeps;
mod traces;
mod traffic;
mod workload_shapes;
