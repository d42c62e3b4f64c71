//! The scenario file as written: serde types that mirror the JSON, nothing more.
//!
//! These types know the file format (camelCase names, duration strings, percentages)
//! and nothing of the simulator. Every struct denies unknown fields so a typo is an
//! error, not a silently ignored setting. Defaults live in `validate.rs`, where the
//! validated model is built, and in docs/scenario-format.md.

use indexmap::IndexMap;
pub mod security;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

pub mod tagged;
pub use tagged::Tagged;
mod traffic;
pub use traffic::*;

/// A duration string such as `"250ms"`, parsed when the file is read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dur(pub crate::time::SimDuration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"250ms\", \"1.5s\" or \"2m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                crate::time::parse_duration(s).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON object whose keys are names, in file order; a key used twice is an error
/// (plain serde maps keep the last value silently).
#[derive(Debug)]
pub struct UniqueMap<V>(pub IndexMap<String, V>);

impl<V> Default for UniqueMap<V> {
    fn default() -> Self {
        UniqueMap(IndexMap::new())
    }
}

impl<V> std::ops::Deref for UniqueMap<V> {
    type Target = IndexMap<String, V>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object keyed by name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueMap<V>, A::Error> {
                let mut m = IndexMap::new();
                while let Some(k) = map.next_key::<String>()? {
                    if m.contains_key(&k) {
                        return Err(de::Error::custom(format!("each name once, but \"{k}\" appears twice")));
                    }
                    let v = map.next_value()?;
                    m.insert(k, v);
                }
                Ok(UniqueMap(m))
            }
        }
        d.deserialize_map(Vis(std::marker::PhantomData))
    }
}

/// A distribution: either a duration string (a constant) or an object with a `type`.
#[derive(Clone, Debug)]
pub enum DistSpec {
    Constant(Dur),
    Full(DistObj),
}

/// A distribution object: its `type` picks the variant, and each variant takes (and
/// requires) exactly its fields.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum DistObj {
    Constant { value: Dur },
    Uniform { min: Dur, max: Dur },
    Exponential { mean: Dur },
    Normal { mean: Dur, stddev: Dur },
    Lognormal { mean: Dur, stddev: Dur },
    Pareto { scale: Dur, shape: f64 },
    Weibull { scale: Dur, shape: f64 },
    Gamma { scale: Dur, shape: f64 },
    Erlang { k: u32, mean: Dur },
    Empirical { samples: Vec<Dur> },
}

impl tagged::TaggedEnum for DistObj {
    fn describe(kind: &str) -> String {
        format!("a {kind} distribution")
    }
}

impl<'de> Deserialize<'de> for DistSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DistSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a distribution: a duration string such as \"10ms\", or an object such as \
                     {\"type\": \"exponential\", \"mean\": \"10ms\"}",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DistSpec, E> {
                crate::time::parse_duration(s).map(|d| DistSpec::Constant(Dur(d))).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DistSpec, A::Error> {
                tagged::from_map(map).map(|(_, obj)| DistSpec::Full(obj))
            }
        }
        d.deserialize_any(V)
    }
}

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

/// A control-plane push: call-policy overrides that reach each proxy after a delay.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigChangeSpec {
    pub at: Dur,
    pub propagation: Option<DistSpec>,
    #[serde(default)]
    pub overrides: Vec<OverrideSpec>,
    /// New weights for routes with `destinations`, by route name, in their order.
    #[serde(default)]
    pub route_weights: UniqueMap<Vec<u32>>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DiscoveryModeSpec {
    Ideal,
    Client,
    Server,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscoverySpec {
    pub mode: Option<DiscoveryModeSpec>,
    pub refresh_interval: Option<Dur>,
    pub refresh_jitter: Option<Dur>,
    pub registry: Option<Tagged<RegistrySpec>>,
    pub health_check: Option<HealthCheckSpec>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CheckBySpec {
    Proxy,
    Registry,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckSpec {
    pub by: CheckBySpec,
    pub interval: Option<Dur>,
    pub timeout: Option<Dur>,
    pub unhealthy_threshold: Option<u32>,
    pub healthy_threshold: Option<u32>,
    pub interval_jitter: Option<Dur>,
    pub unhealthy_interval: Option<Dur>,
}

/// A service registry; its `type` picks the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum RegistrySpec {
    Consul {
        zone: Option<String>,
        ttl: Option<Dur>,
        heartbeat_interval: Option<Dur>,
        latency: Option<DistSpec>,
        read_timeout: Option<Dur>,
    },
    Eureka {
        zone: Option<String>,
        ttl: Option<Dur>,
        heartbeat_interval: Option<Dur>,
        eviction_interval: Option<Dur>,
        latency: Option<DistSpec>,
        read_timeout: Option<Dur>,
    },
    Registrar {
        zone: Option<String>,
        latency: Option<DistSpec>,
        read_timeout: Option<Dur>,
    },
}

impl tagged::TaggedEnum for RegistrySpec {
    fn describe(kind: &str) -> String {
        format!("the {kind} registry")
    }
}

impl RegistrySpec {
    /// The settings every registry takes: zone, latency and read timeout.
    pub fn common(&self) -> (&Option<String>, &Option<DistSpec>, &Option<Dur>) {
        match self {
            RegistrySpec::Consul { zone, latency, read_timeout, .. }
            | RegistrySpec::Eureka { zone, latency, read_timeout, .. }
            | RegistrySpec::Registrar { zone, latency, read_timeout } => (zone, latency, read_timeout),
        }
    }
}

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

/// A lifecycle action at time `at`; its `action` picks the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum LifecycleSpec {
    Crash { at: Dur, instance: String },
    Hang { at: Dur, instance: String },
    Stop { at: Dur, instance: String },
    Start { at: Dur, instance: String },
    Scale { at: Dur, service: String, replicas: u32 },
}

impl tagged::TaggedEnum for LifecycleSpec {
    const TAG: &'static str = "action";
    fn describe(kind: &str) -> String {
        format!("the {kind} action")
    }
}

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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewaySpec {
    pub zone: Option<String>,
    pub routes: Vec<RouteSpec>,
    /// A rate limit over all routes together.
    pub rate_limit: Option<Tagged<LimiterSpec>>,
}

/// A rate limiter (`scope`: on a service only, one limiter per instance, the default, or one for the service); its `type` picks the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum LimiterSpec {
    TokenBucket {
        capacity: f64,
        refill_per_second: f64,
        max_wait: Option<Dur>,
        scope: Option<LimiterScope>,
    },
    Resilience4j {
        limit_for_period: Option<u32>,
        limit_refresh_period: Option<Dur>,
        timeout_duration: Option<Dur>,
        scope: Option<LimiterScope>,
    },
}

impl tagged::TaggedEnum for LimiterSpec {
    fn describe(kind: &str) -> String {
        format!("the {kind} limiter")
    }
}

impl LimiterSpec {
    /// One limiter per instance (the default) or one for the service.
    pub fn scope(&self) -> Option<LimiterScope> {
        match self {
            LimiterSpec::TokenBucket { scope, .. } | LimiterSpec::Resilience4j { scope, .. } => *scope,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LimiterScope {
    Instance,
    Service,
}

/// A load shedder; its `type` picks the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum ShedderSpec {
    QueueBound { max_queue: u32, status: Option<u16> },
    Codel { target: Option<Dur>, interval: Option<Dur>, status: Option<u16> },
    AdaptiveCodel { target: Option<Dur>, interval: Option<Dur>, status: Option<u16> },
}

impl tagged::TaggedEnum for ShedderSpec {
    fn describe(kind: &str) -> String {
        format!("the {kind} shedder")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteSpec {
    pub name: String,
    #[serde(rename = "match")]
    pub match_: Option<MatchSpec>,
    pub destination: Option<DestinationSpec>,
    /// Weighted traffic shifting: the share of the route's requests each destination gets.
    pub destinations: Option<Vec<WeightedDestinationSpec>>,
    pub rate_limit: Option<Tagged<LimiterSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightedDestinationSpec {
    pub service: String,
    pub endpoint: String,
    pub weight: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchSpec {
    pub method: Option<String>,
    pub path_prefix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationSpec {
    pub service: String,
    pub endpoint: String,
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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoliciesSpec {
    pub default: Option<PolicySpec>,
    #[serde(default)]
    pub overrides: Vec<OverrideSpec>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySpec {
    pub timeout: Option<Dur>,
    pub deadline_propagation: Option<bool>,
    pub retry: Option<RetrySpec>,
    pub hedging: Option<HedgingSpec>,
    pub fallback: Option<Tagged<FallbackSpec>>,
    pub load_balancer: Option<Tagged<LoadBalancerSpec>>,
    pub circuit_breaker: Option<Tagged<BreakerSpec>>,
    pub bulkhead: Option<Tagged<BulkheadSpec>>,
    pub outlier_detection: Option<OutlierSpec>,
    pub locality_lb: Option<LocalityLbSpec>,
}

/// A bulkhead; its `type` picks the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum BulkheadSpec {
    Semaphore {
        max_concurrent_calls: Option<u32>,
        max_wait_duration: Option<Dur>,
    },
    ThreadPool {
        max_thread_pool_size: Option<u32>,
        core_thread_pool_size: Option<u32>,
        queue_capacity: Option<u32>,
        keep_alive_duration: Option<Dur>,
    },
    Envoy {
        max_connections: Option<u32>,
        max_pending_requests: Option<u32>,
        max_requests: Option<u32>,
        http2: Option<bool>,
    },
}

impl tagged::TaggedEnum for BulkheadSpec {
    fn describe(kind: &str) -> String {
        format!("the {kind} bulkhead")
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerScopeSpec {
    Service,
    Endpoint,
    Instance,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SlidingWindowType {
    CountBased,
    TimeBased,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BreakerStateSpec {
    Normal,
    Disabled,
    ForcedOpen,
    MetricsOnly,
}

/// A circuit breaker; its `semantics` picks the variant (`resilience4j` when absent).
/// Every variant takes `scope` (per destination service, the default, per endpoint or per
/// instance) and `failureOn` (the outcome classes that count as failures).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum BreakerSpec {
    Resilience4j {
        failure_rate_threshold: Option<f64>,
        slow_call_rate_threshold: Option<f64>,
        slow_call_duration_threshold: Option<Dur>,
        wait_duration_in_open_state: Option<Dur>,
        exponential_backoff_multiplier: Option<f64>,
        exponential_max_wait_duration_in_open_state: Option<Dur>,
        permitted_number_of_calls_in_half_open_state: Option<u32>,
        max_wait_duration_in_half_open_state: Option<Dur>,
        sliding_window_type: Option<SlidingWindowType>,
        sliding_window_size: Option<u32>,
        minimum_number_of_calls: Option<u32>,
        automatic_transition_from_open_to_half_open_enabled: Option<bool>,
        state: Option<BreakerStateSpec>,
        scope: Option<BreakerScopeSpec>,
        failure_on: Option<Vec<String>>,
    },
    Hystrix {
        request_volume_threshold: Option<u32>,
        error_threshold_percentage: Option<u32>,
        sleep_window: Option<Dur>,
        rolling_window: Option<Dur>,
        buckets: Option<u32>,
        health_snapshot_interval: Option<Dur>,
        force_open: Option<bool>,
        force_closed: Option<bool>,
        scope: Option<BreakerScopeSpec>,
        failure_on: Option<Vec<String>>,
    },
    Consecutive {
        failure_threshold: Option<u32>,
        recovery_timeout: Option<Dur>,
        scope: Option<BreakerScopeSpec>,
        failure_on: Option<Vec<String>>,
    },
}

impl tagged::TaggedEnum for BreakerSpec {
    const TAG: &'static str = "semantics";
    const DEFAULT: Option<&'static str> = Some("resilience4j");
    fn describe(kind: &str) -> String {
        format!("the {kind} breaker")
    }
}

impl BreakerSpec {
    /// The settings every breaker takes: its scope and the outcomes that count as failures.
    pub fn common(&self) -> (Option<BreakerScopeSpec>, Option<&[String]>) {
        match self {
            BreakerSpec::Resilience4j { scope, failure_on, .. }
            | BreakerSpec::Hystrix { scope, failure_on, .. }
            | BreakerSpec::Consecutive { scope, failure_on, .. } => (*scope, failure_on.as_deref()),
        }
    }
}

/// A fallback; its `type` picks the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum FallbackSpec {
    DefaultValue,
    Cache { ttl: Dur },
    Service { service: String, endpoint: String },
    Queue { delay: Dur, max_redeliveries: Option<u32> },
}

impl tagged::TaggedEnum for FallbackSpec {
    fn describe(kind: &str) -> String {
        format!("the {kind} fallback")
    }
}

/// gRPC's hedging policy.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HedgingSpec {
    pub max_attempts: Option<u32>,
    pub hedging_delay: Option<Dur>,
    pub non_fatal: Option<Vec<String>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetrySpec {
    pub max_attempts: Option<u32>,
    pub retry_on: Option<Vec<String>>,
    pub per_try_timeout: Option<Dur>,
    pub avoid_previous_hosts: Option<bool>,
    pub backoff: Option<Tagged<BackoffSpec>>,
    pub budget: Option<Tagged<BudgetSpec>>,
}

/// A retry backoff; its `type` picks the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum BackoffSpec {
    None,
    Constant { base: Dur },
    Linear { base: Dur },
    Fibonacci { base: Dur, cap: Option<Dur> },
    Exponential { base: Dur, multiplier: Option<f64>, cap: Option<Dur> },
    AwsFullJitter { base: Dur, cap: Option<Dur> },
    AwsEqualJitter { base: Dur, cap: Option<Dur> },
    AwsDecorrelatedJitter { base: Dur, cap: Option<Dur> },
    Resilience4j { interval: Option<Dur>, randomization_factor: Option<f64>, multiplier: Option<f64>, cap: Option<Dur> },
    Envoy { base: Option<Dur>, max: Option<Dur> },
    Grpc { initial: Dur, multiplier: f64, max: Dur },
}

impl tagged::TaggedEnum for BackoffSpec {
    fn describe(kind: &str) -> String {
        format!("the {kind} backoff")
    }
}

/// A retry budget; its `type` picks the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum BudgetSpec {
    Unlimited,
    Ratio { retry_ratio: Option<f64>, min_retries_per_second: Option<u32>, ttl: Option<Dur> },
    Envoy { budget_percent: Option<f64>, min_retry_concurrency: Option<u32> },
    EnvoyMaxRetries { max_retries: Option<u32> },
    Grpc { max_tokens: u32, token_ratio: f64 },
    Aws { capacity: Option<u32>, retry_cost: Option<u32>, timeout_retry_cost: Option<u32>, success_refill: Option<u32> },
}

impl tagged::TaggedEnum for BudgetSpec {
    fn describe(kind: &str) -> String {
        format!("the {kind} budget")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OverrideSpec {
    pub source: Option<String>,
    pub destination: String,
    pub endpoint: Option<String>,
    pub timeout: Option<Dur>,
    pub deadline_propagation: Option<bool>,
    pub retry: Option<RetrySpec>,
    pub hedging: Option<HedgingSpec>,
    pub fallback: Option<Tagged<FallbackSpec>>,
    pub load_balancer: Option<Tagged<LoadBalancerSpec>>,
    pub circuit_breaker: Option<Tagged<BreakerSpec>>,
    pub bulkhead: Option<Tagged<BulkheadSpec>>,
    pub outlier_detection: Option<OutlierSpec>,
    pub locality_lb: Option<LocalityLbSpec>,
}

/// A load balancer; its `type` picks the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum LoadBalancerSpec {
    RoundRobin,
    WeightedRoundRobin,
    Random,
    LeastOutstanding,
    P2c,
    PeakEwma { decay: Option<Dur>, default_rtt: Option<Dur> },
    RingHash { minimum_ring_size: Option<u32> },
}

impl tagged::TaggedEnum for LoadBalancerSpec {
    fn describe(kind: &str) -> String {
        format!("the {kind} balancer")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadSpec {
    pub arrivals: Option<ArrivalsSpec>,
    pub users: Option<UsersSpec>,
    pub mix: Vec<MixSpec>,
    pub clients: Option<u64>,
    /// Request headers set per user: header name, then value -> percent of users.
    #[serde(default)]
    pub headers: UniqueMap<UniqueMap<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArrivalsSpec {
    pub process: Option<Process>,
    /// Requests per second, when the rate is constant over the run.
    pub rate: Option<f64>,
    /// Requests per second at the start of the first stage.
    pub start_rate: Option<f64>,
    pub stages: Option<Vec<StageSpec>>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Process {
    Poisson,
    Constant,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageSpec {
    pub duration: Dur,
    pub target: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsersSpec {
    pub count: u32,
    pub think_time: DistSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MixSpec {
    pub route: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub weight: f64,
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

/// Envoy's outlier detection, under its field names in camelCase.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierSpec {
    #[serde(rename = "consecutive5xx")]
    pub consecutive_5xx: Option<u32>,
    #[serde(rename = "consecutiveGatewayFailure")]
    pub consecutive_gateway_failure: Option<u32>,
    #[serde(rename = "enforcingConsecutive5xx")]
    pub enforcing_consecutive_5xx: Option<f64>,
    #[serde(rename = "enforcingConsecutiveGatewayFailure")]
    pub enforcing_consecutive_gateway_failure: Option<f64>,
    pub interval: Option<Dur>,
    #[serde(rename = "baseEjectionTime")]
    pub base_ejection_time: Option<Dur>,
    #[serde(rename = "maxEjectionTime")]
    pub max_ejection_time: Option<Dur>,
    #[serde(rename = "maxEjectionPercent")]
    pub max_ejection_percent: Option<f64>,
    #[serde(rename = "successRateMinimumHosts")]
    pub success_rate_minimum_hosts: Option<u32>,
    #[serde(rename = "successRateRequestVolume")]
    pub success_rate_request_volume: Option<u32>,
    #[serde(rename = "successRateStdevFactor")]
    pub success_rate_stdev_factor: Option<u32>,
    #[serde(rename = "enforcingSuccessRate")]
    pub enforcing_success_rate: Option<f64>,
    #[serde(rename = "failurePercentageThreshold")]
    pub failure_percentage_threshold: Option<u32>,
    #[serde(rename = "failurePercentageMinimumHosts")]
    pub failure_percentage_minimum_hosts: Option<u32>,
    #[serde(rename = "failurePercentageRequestVolume")]
    pub failure_percentage_request_volume: Option<u32>,
    #[serde(rename = "enforcingFailurePercentage")]
    pub enforcing_failure_percentage: Option<f64>,
    #[serde(rename = "healthyPanicThreshold")]
    pub healthy_panic_threshold: Option<f64>,
}

// ---- A service's horizontal autoscaler (validated in `validate/autoscale.rs`).

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
