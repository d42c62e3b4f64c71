//! Flagger-style rollouts as validated data: the strategy, the steps and the metric checks.
//! The analysis that runs them is in `rollout`.

use super::traffic::Match;
use crate::ids::ServiceId;
use crate::time::{SimDuration, SimTime};

/// How traffic moves to the new version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Canary,
    BlueGreen,
}

/// A built-in metric of Flagger's Istio provider, measured on the canary's own
/// workload at the destination (`reporter="destination"`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricKind {
    /// Percent of responses that are not 5xx.
    SuccessRate,
    /// A latency percentile in milliseconds, `histogram_quantile` over Istio's buckets.
    Duration { percentile: f64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct MetricCheck {
    pub name: String,
    pub kind: MetricKind,
    /// Bounds (percent for success rate, milliseconds for durations).
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The range the metric is computed over, back from the tick.
    pub interval: SimDuration,
}

/// A rollout as the scenario gives it, resolved. Defaults are Flagger's: interval 1m,
/// threshold 1, maxWeight 100, mirrorWeight 100, metric interval 1m.
#[derive(Clone, Debug)]
pub struct RolloutSpec {
    pub service: ServiceId,
    /// Version indices of the primary (stable) and the canary (new) workloads.
    pub primary: u32,
    pub canary: u32,
    pub start: SimTime,
    pub strategy: Strategy,
    pub interval: SimDuration,
    pub threshold: u32,
    pub step_weight: u32,
    pub step_weights: Vec<u32>,
    pub max_weight: u32,
    pub iterations: u32,
    pub mirror: bool,
    /// Percent of requests mirrored while mirroring.
    pub mirror_weight: u32,
    /// A/B testing: requests matching any of these go to the canary during the analysis.
    pub ab_match: Vec<Match>,
    pub metrics: Vec<MetricCheck>,
}
