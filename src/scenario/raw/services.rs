//! Services: instances, endpoints and their calls, queues, probes, autoscalers.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbesSpec {
    pub startup: Option<ProbeSpec>,
    pub readiness: Option<ProbeSpec>,
    pub liveness: Option<ProbeSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeSpec {
    pub period: Option<Dur>,
    pub timeout: Option<Dur>,
    pub failure_threshold: Option<u32>,
    pub success_threshold: Option<u32>,
    pub initial_delay: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    pub replicas: Option<u32>,
    pub zones: Option<Vec<String>>,
    pub instances: Option<Vec<InstanceSpec>>,
    pub workers: Option<u32>,
    pub queue: Option<QueueSpec>,
    pub hold_worker_during_calls: Option<bool>,
    pub rate_limit: Option<Tagged<LimiterSpec>>,
    pub load_shedding: Option<Tagged<ShedderSpec>>,
    pub max_replicas: Option<u32>,
    pub startup_time: Option<Dur>,
    pub probes: Option<ProbesSpec>,
    pub autoscaler: Option<AutoscalerSpec>,
    pub endpoints: UniqueMap<EndpointSpec>,
    /// Versions (subsets), each with its own instances.
    pub versions: Option<UniqueMap<VersionSpec>>,
    /// Routing rules for every caller of the service (Istio's VirtualService).
    pub routing: Option<RoutingSpec>,
    /// The workload's service account (its identity); default: the service's name.
    pub service_account: Option<String>,
    /// The workload's PeerAuthentication.
    pub mtls: Option<security::MtlsSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceSpec {
    pub zone: Option<String>,
    pub workers: Option<u32>,
    pub weight: Option<u32>,
    pub slowdown: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueSpec {
    pub capacity: Option<u32>,
    pub discipline: Option<Discipline>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Discipline {
    Fifo,
    Lifo,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointSpec {
    pub service_time: DistSpec,
    /// Percent, 0 to 100.
    pub error_rate: Option<f64>,
    pub error_status: Option<u16>,
    #[serde(default)]
    pub calls: Vec<CallSpec>,
    pub calls_mode: Option<CallsMode>,
    pub dependency_failure_status: Option<u16>,
    /// The HTTP method of a call to it, as authorization policies see it (default GET).
    pub method: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CallsMode {
    Sequence,
    Parallel,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallSpec {
    pub service: String,
    pub endpoint: String,
    /// Percent of requests that make this call, 0 to 100.
    pub probability: Option<f64>,
    pub required: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoscalerSpec {
    pub metric: Option<AutoscaleMetric>,
    /// Percent for utilization, requests per pod for the queue.
    pub target: Option<f64>,
    pub min_replicas: Option<u32>,
    pub max_replicas: Option<u32>,
    pub interval: Option<Dur>,
    /// Percent.
    pub tolerance: Option<f64>,
    pub scale_up: Option<ScalingRulesSpec>,
    pub scale_down: Option<ScalingRulesSpec>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AutoscaleMetric {
    Utilization,
    Queue,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingRulesSpec {
    pub stabilization_window: Option<Dur>,
    pub policies: Option<Vec<ScalingPolicySpec>>,
    pub select_policy: Option<SelectPolicySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingPolicySpec {
    #[serde(rename = "type")]
    pub kind: ScalingPolicyKind,
    pub value: u32,
    pub period: Dur,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum ScalingPolicyKind {
    Pods,
    Percent,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum SelectPolicySpec {
    Max,
    Min,
    Disabled,
}
