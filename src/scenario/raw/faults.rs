//! Scheduled faults and the chaos monkey.

use super::*;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    Error,
    Slowdown,
    Capacity,
    Latency,
    Crash,
    Stop,
    RegistryOutage,
    Partition,
    Loss,
    LinkLatency,
    Load,
    SlowConfigPush,
    ZoneOutage,
    CaOutage,
    AuthzPolicy,
}

impl FaultKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [FaultKind; 15] = [
        FaultKind::Crash,
        FaultKind::Stop,
        FaultKind::Latency,
        FaultKind::Slowdown,
        FaultKind::Capacity,
        FaultKind::Error,
        FaultKind::Partition,
        FaultKind::Loss,
        FaultKind::LinkLatency,
        FaultKind::RegistryOutage,
        FaultKind::SlowConfigPush,
        FaultKind::Load,
        FaultKind::ZoneOutage,
        FaultKind::CaOutage,
        FaultKind::AuthzPolicy,
    ];
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CrashMode {
    Reset,
    Hang,
}

/// A fault: a `kind`, a target, a time window, and the parameters its kind takes
/// (checked in `validate`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    pub kind: FaultKind,
    pub target: Option<FaultTargetSpec>,
    pub start: Dur,
    pub duration: Option<Dur>,
    pub repeat: Option<Dur>,
    pub percent: Option<f64>,
    pub status: Option<u16>,
    pub factor: Option<f64>,
    pub workers: Option<u32>,
    pub delay: Option<DistSpec>,
    pub mode: Option<CrashMode>,
    /// Network faults: two groups of zones (or, for a partition, of services).
    pub between: Option<Vec<Vec<String>>>,
    pub services: Option<Vec<Vec<String>>>,
    /// A partition between two groups of clusters.
    pub clusters: Option<Vec<Vec<String>>>,
    /// A zone outage's zone.
    pub zone: Option<String>,
    pub direction: Option<Direction>,
    /// A load fault: extra requests a second, on one route or by the workload's mix.
    pub rate: Option<f64>,
    pub route: Option<String>,
    /// An error or latency fault on a call path, at the callers' proxies.
    pub call: Option<CallPathSpec>,
    /// An authz-policy fault: the AuthorizationPolicy in force while it lasts.
    pub policy: Option<security::AuthorizationPolicySpec>,
}

/// A call path: from a caller ("gateway" or a service; every caller when absent) to a
/// service, or one of its endpoints.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallPathSpec {
    pub from: Option<String>,
    pub to: String,
    pub endpoint: Option<String>,
}

/// A chaos monkey: random faults of the given kinds at a mean interval.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChaosSpec {
    pub start: Option<Dur>,
    pub end: Option<Dur>,
    pub mean_interval: Dur,
    pub duration: ChaosDurationSpec,
    pub max_concurrent: Option<u32>,
    /// The services it may hit (all when absent).
    pub services: Option<Vec<String>>,
    pub kinds: Vec<ChaosKindSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChaosDurationSpec {
    pub min: Dur,
    pub max: Dur,
}

/// A kind the monkey draws: a fault's parameters, its weight, and how many of the
/// drawn service's instances it hits.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChaosKindSpec {
    pub kind: FaultKind,
    pub weight: Option<f64>,
    pub target: Option<ChaosTargetSpec>,
    pub percent: Option<f64>,
    pub status: Option<u16>,
    pub factor: Option<f64>,
    pub workers: Option<u32>,
    pub delay: Option<DistSpec>,
    pub mode: Option<CrashMode>,
    pub between: Option<Vec<Vec<String>>>,
    pub services: Option<Vec<Vec<String>>>,
    pub direction: Option<Direction>,
    pub rate: Option<f64>,
    pub route: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChaosTargetSpec {
    pub mode: Option<TargetMode>,
    pub value: Option<f64>,
    pub zone: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Both,
    OneWay,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultTargetSpec {
    pub service: String,
    /// Instance indices within the service; all of them when absent.
    pub instances: Option<Vec<u32>>,
    /// Only the service's instances in this zone.
    pub zone: Option<String>,
    /// Chaos Mesh's selector mode among the candidates, and its value.
    pub mode: Option<TargetMode>,
    pub value: Option<f64>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TargetMode {
    One,
    All,
    Fixed,
    FixedPercent,
    RandomMaxPercent,
}
