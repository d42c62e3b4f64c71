//! The scenario file as written: serde types that mirror the JSON, nothing more.
//!
//! These types know the file format (camelCase names, duration strings, percentages)
//! and nothing of the simulator. Every struct denies unknown fields so a typo is an
//! error, not a silently ignored setting. Defaults live in `validate/`, where the
//! validated model is built, and in docs/scenario-format.md.

//!
//! One file per part of the scenario (`services`, `workload`, `network`, `discovery`,
//! `policies`, `faults`, `traffic`, `security`), plus `values` (durations, distributions)
//! and `tagged` (objects whose `type` picks their shape, read as enums). Everything is
//! re-exported here, so `raw::ServiceSpec` names any of them.

use indexmap::IndexMap;
pub mod security;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

pub mod tagged;
pub use tagged::Tagged;
mod discovery;
mod faults;
mod network;
mod policies;
mod services;
mod traffic;
mod values;
mod workload;
pub use discovery::*;
pub use faults::*;
pub use network::*;
pub use policies::*;
pub use services::*;
pub use traffic::*;
pub use values::*;
pub use workload::*;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: Option<u64>,
    pub run: RunSpec,
    #[serde(default)]
    pub metrics: Option<MetricsSpec>,
    #[serde(default)]
    pub network: Option<NetworkSpec>,
    /// Clusters of zones, each in a region (Istio multicluster).
    #[serde(default)]
    pub clusters: Option<UniqueMap<ClusterSpec>>,
    pub gateway: GatewaySpec,
    pub services: UniqueMap<ServiceSpec>,
    #[serde(default)]
    pub policies: Option<PoliciesSpec>,
    pub workload: WorkloadSpec,
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    #[serde(default)]
    pub discovery: Option<DiscoverySpec>,
    #[serde(default)]
    pub lifecycle: Vec<Tagged<LifecycleSpec>>,
    #[serde(default)]
    pub config_changes: Vec<ConfigChangeSpec>,
    #[serde(default)]
    pub slos: Vec<SloSpec>,
    /// A seeded chaos monkey.
    #[serde(default)]
    pub chaos: Option<ChaosSpec>,
    /// Prometheus-style alerting rules.
    #[serde(default)]
    pub alerts: Vec<AlertSpec>,
    /// Distributed tracing of sampled requests.
    #[serde(default)]
    pub tracing: Option<TracingSpec>,
    /// Statements every window must satisfy (`retry_amplification<=1.5 during faults`).
    #[serde(default)]
    pub invariants: Vec<String>,
    /// A parameter sweep over this scenario (`meshsim sweep`); `run` ignores it. Its
    /// shape is checked by `crate::sweep::check_block`.
    #[serde(default)]
    pub sweep: Option<serde_json::Value>,
    /// Flagger-style progressive delivery of a service's new version.
    #[serde(default)]
    pub rollouts: Vec<RolloutSpec>,
    /// Mesh security (identities, mTLS, certificates, authorization); absent: none.
    #[serde(default)]
    pub security: Option<security::SecuritySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TracingSpec {
    /// The share of requests traced, in percent (as Istio's `tracing.sampling`).
    pub sampling: Option<f64>,
}

/// An alerting rule: a name, an expression that fires it, and how long it must hold.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertSpec {
    pub name: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: Option<Dur>,
}

/// A service-level objective: `"p99<500ms"`, `"checkout:availability>99.9%"`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SloSpec {
    pub threshold: String,
    pub recovery_within: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunSpec {
    pub duration: Option<Dur>,
    pub requests: Option<u64>,
    pub warmup: Option<Dur>,
    pub drain_timeout: Option<Dur>,
    pub events_max: Option<u64>,
    pub in_flight_max: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricsSpec {
    pub interval: Option<Dur>,
}

// ---- A service's horizontal autoscaler (validated in `validate/autoscale.rs`).
