//! The scenario file's traffic-management fields: service versions, routing rules
//! (Istio's VirtualService), request headers by user, and Flagger-style rollouts.

use super::{DistSpec, Dur, InstanceSpec, UniqueMap};
use serde::Deserialize;

/// One version (subset) of a service: its own instances, and the endpoints whose
/// behaviour differs from the service's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionSpec {
    pub replicas: Option<u32>,
    pub zones: Option<Vec<String>>,
    pub instances: Option<Vec<InstanceSpec>>,
    pub workers: Option<u32>,
    #[serde(default)]
    pub endpoints: UniqueMap<EndpointOverrideSpec>,
}

/// What a version changes in an endpoint; unset fields keep the service's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointOverrideSpec {
    pub service_time: Option<DistSpec>,
    /// Percent, 0 to 100.
    pub error_rate: Option<f64>,
    pub error_status: Option<u16>,
}

/// A service's routing rules (Istio's VirtualService `http` list).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingSpec {
    pub http: Vec<HttpRuleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRuleSpec {
    #[serde(default, rename = "match")]
    pub match_: Vec<MatchRequestSpec>,
    pub route: Vec<RouteDestinationSpec>,
    pub mirror: Option<MirrorSpec>,
    /// Percent of the rule's requests mirrored, 0 to 100 (Istio: 100 when `mirror` is set).
    pub mirror_percentage: Option<f64>,
}

/// One match block: every condition set must hold (Istio's HTTPMatchRequest).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchRequestSpec {
    #[serde(default)]
    pub headers: UniqueMap<StringMatchSpec>,
    pub endpoint: Option<String>,
    pub uri: Option<StringMatchSpec>,
    pub method: Option<StringMatchSpec>,
    /// The calling service, or "gateway" (Istio's `sourceLabels`, by app name).
    pub source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StringMatchSpec {
    pub exact: Option<String>,
    pub prefix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteDestinationSpec {
    pub subset: String,
    pub weight: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MirrorSpec {
    pub subset: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum RolloutStrategy {
    Canary,
    BlueGreen,
}

/// A Flagger canary resource, in the scenario.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutSpec {
    pub service: String,
    pub primary: String,
    pub canary: String,
    pub start: Dur,
    pub strategy: Option<RolloutStrategy>,
    pub analysis: AnalysisSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisSpec {
    pub interval: Option<Dur>,
    pub threshold: Option<u32>,
    pub step_weight: Option<u32>,
    pub max_weight: Option<u32>,
    pub step_weights: Option<Vec<u32>>,
    pub iterations: Option<u32>,
    pub mirror: Option<bool>,
    pub mirror_weight: Option<u32>,
    #[serde(default, rename = "match")]
    pub match_: Vec<MatchRequestSpec>,
    #[serde(default)]
    pub metrics: Vec<MetricSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricSpec {
    pub name: String,
    pub threshold_range: ThresholdRangeSpec,
    pub interval: Option<Dur>,
    pub percentile: Option<f64>,
}

/// Bounds of a metric: numbers, or for durations also duration strings ("500ms").
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThresholdRangeSpec {
    pub min: Option<serde_json::Value>,
    pub max: Option<serde_json::Value>,
}
