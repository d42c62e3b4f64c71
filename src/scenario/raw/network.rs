//! The network (zones, links), clusters and locality-aware balancing.

use super::*;

/// A cluster: its zones and its region (the cluster's own name when absent).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    pub zones: Vec<String>,
    pub region: Option<String>,
    /// How long proxies in other clusters take to learn of a change to this cluster's
    /// instances (istiod's watch of the remote API server, then its push).
    pub discovery_delay: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkSpec {
    pub latency: Option<DistSpec>,
    /// Percent, 0 to 100.
    pub loss: Option<f64>,
    #[serde(default)]
    pub links: Vec<LinkSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkSpec {
    pub between: Vec<String>,
    pub latency: Option<DistSpec>,
    pub loss: Option<f64>,
}

/// Istio's `localityLbSetting` (locality failover), with Envoy's overprovisioning factor.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalityLbSpec {
    pub enabled: Option<bool>,
    #[serde(default)]
    pub failover: Vec<FailoverSpec>,
    /// Percent (140 = 1.4), as Envoy's `overprovisioning_factor`.
    pub overprovisioning_factor: Option<u32>,
}

/// Istio's failover entry: callers in region `from` fail over to region `to` first.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailoverSpec {
    pub from: String,
    pub to: String,
}
