//! The validated scenario: every name resolved to an integer id, every default applied.
//!
//! Built once by `scenario::validate`; read-only while the simulation runs. Hot paths
//! index the `Vec`s here by id. Nothing in this module knows the JSON format.

use crate::dist::Dist;
use crate::time::{SimDuration, SimTime};
use policy::{LimiterConfig, ShedderConfig};

pub mod autoscale;
pub mod discovery;
pub mod faults;
pub mod observe;
pub mod policy;
pub mod rollout;
pub mod security;
pub mod traffic;

pub use crate::ids::{Caller, EndpointId, InstanceId, LinkId, RouteId, ServiceId, ZoneId};
pub use discovery::{CheckBy, Discovery, DiscoveryMode, RegistryModel};
pub use faults::{CallPath, ChaosKind, ChaosMonkey, Fault, FaultKind, Lifecycle, LifecycleAction, Select};
pub use policy::{
    BalancerConfig, BreakerPolicy, BreakerScope, CallPolicy, FailureOn, Fallback, HedgingPolicy, LimiterScope,
    LocalityLb, OutlierPolicy, Policies, RetryOn, RetryPolicy,
};

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The file it was loaded from, for messages.
    pub source: String,
    pub seed: u64,
    pub run: RunLimits,
    /// Width of a time-series window.
    pub metrics_interval: SimDuration,
    pub zones: Vec<String>,
    /// Clusters and regions the zones belong to (one default cluster without a
    /// `clusters` block).
    pub topology: Topology,
    pub network: Network,
    pub gateway: Gateway,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoint>,
    pub instances: Vec<Instance>,
    pub policies: Policies,
    pub workload: Workload,
    pub faults: Vec<Fault>,
    /// How proxies learn which instances to call.
    pub discovery: Discovery,
    /// Instance lifecycle actions at given times, in time order (ties in file order).
    pub lifecycle: Vec<LifecycleAction>,
    /// Control-plane pushes, in time order; each carries the whole call-policy table as it
    /// is after the push (and every earlier one).
    pub config_changes: Vec<ConfigChange>,
    /// Service-level objectives judged on the run.
    pub slos: Vec<observe::Slo>,
    /// Random faults drawn at run start from the seed, after `faults`.
    pub chaos: Option<ChaosMonkey>,
    /// Alerting rules, evaluated as each time-series window closes.
    pub alerts: Vec<observe::AlertRule>,
    /// The share of requests traced (0 to 1), when the run writes traces.
    pub trace_sampling: f64,
    /// User invariants, judged window by window.
    pub invariants: Vec<observe::Invariant>,
    /// Request headers the workload sets per user, for routing rules.
    pub headers: Vec<traffic::Header>,
    /// Flagger-style rollouts, at most one per service.
    pub rollouts: Vec<rollout::RolloutSpec>,
    /// Mesh security; `None`: no identities, mTLS, certificates or authorization at all.
    pub security: Option<Box<security::Security>>,
}

/// Which cluster and region each zone belongs to (Istio's multicluster mesh and locality
/// `region/zone`).
#[derive(Clone, Debug, Default)]
pub struct Topology {
    /// In file order; zones no cluster lists belong to one named `default` (last).
    pub clusters: Vec<Cluster>,
    pub regions: Vec<String>,
    /// `zone_cluster[zone]`: the zone's cluster.
    pub zone_cluster: Vec<u32>,
    /// Whether the scenario has a `clusters` block.
    pub declared: bool,
}

#[derive(Clone, Debug)]
pub struct Cluster {
    pub name: String,
    /// Index into `Topology::regions`.
    pub region: u32,
    pub zones: Vec<ZoneId>,
    /// How long proxies in other clusters take to learn of a change to this cluster's
    /// instances (zero: at once, as within the cluster).
    pub discovery_delay: SimDuration,
}

impl Topology {
    #[inline]
    pub fn cluster_of(&self, zone: ZoneId) -> u32 {
        self.zone_cluster[zone.idx()]
    }

    #[inline]
    pub fn region_of(&self, zone: ZoneId) -> u32 {
        self.clusters[self.cluster_of(zone) as usize].region
    }

    /// Whether any cluster's changes reach the others late.
    pub fn discovery_delayed(&self) -> bool {
        self.clusters.iter().any(|c| !c.discovery_delay.is_zero())
    }
}

/// A configuration push: from `at`, each proxy switches to `call` after its own delay
/// drawn from `propagation` (as xDS updates reach Envoys one by one).
#[derive(Clone, Debug)]
pub struct ConfigChange {
    pub at: SimTime,
    pub propagation: Dist,
    /// `call[caller.idx() * endpoint_count + endpoint]`, as `Policies::call`.
    pub call: Vec<CallPolicy>,
    /// Per route: the route's new destination weights, if this push changes them.
    pub route_weights: Vec<Option<Vec<u32>>>,
}

/// When a run stops. Arrivals stop at `duration` or after `requests`, whichever comes
/// first; the run then drains in-flight work for at most `drain_timeout`.
#[derive(Clone, Debug)]
pub struct RunLimits {
    pub duration: Option<SimDuration>,
    pub requests: Option<u64>,
    /// Requests arriving before this time are left out of the summary statistics.
    pub warmup: SimDuration,
    pub drain_timeout: SimDuration,
    pub events_max: u64,
    pub in_flight_max: u64,
}

#[derive(Clone, Debug)]
pub struct Network {
    pub links: Vec<Link>,
    /// `link_of[a * zones + b]`: the link between zones `a` and `b` (symmetric).
    pub link_of: Vec<LinkId>,
    pub zone_count: usize,
}

impl Network {
    #[inline]
    pub fn link(&self, a: ZoneId, b: ZoneId) -> LinkId {
        self.link_of[a.idx() * self.zone_count + b.idx()]
    }
}

#[derive(Clone, Debug)]
pub struct Link {
    /// A canonical name: the two zones in order of first appearance, joined by `|`.
    pub name: String,
    pub latency: Dist,
    /// Probability in [0, 1] that one message is lost.
    pub loss: f64,
}

#[derive(Clone, Debug)]
pub struct Gateway {
    pub zone: ZoneId,
    pub routes: Vec<Route>,
    /// A rate limit over all routes, checked before each route's own.
    pub rate_limit: Option<LimiterConfig>,
}

#[derive(Clone, Debug)]
pub struct Route {
    pub name: String,
    pub method: Option<String>,
    pub path_prefix: Option<String>,
    /// The destination, or with traffic shifting the first of them.
    pub service: ServiceId,
    pub endpoint: EndpointId,
    /// Weighted traffic shifting (Istio's weighted route destinations): every destination
    /// with its weight; empty for a single destination.
    pub split: Vec<(ServiceId, EndpointId, u32)>,
    pub rate_limit: Option<LimiterConfig>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discipline {
    Fifo,
    Lifo,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    pub endpoints: Vec<EndpointId>,
    pub instances: Vec<InstanceId>,
    /// `None`: unbounded.
    pub queue_capacity: Option<u32>,
    pub discipline: Discipline,
    /// Whether a request keeps its worker while it waits for downstream calls.
    pub hold_worker_during_calls: bool,
    /// A rate limit on requests arriving at the service, and whether each instance has
    /// its own limiter (Envoy's local rate limit) or the service shares one.
    pub rate_limit: Option<(LimiterConfig, LimiterScope)>,
    /// Server-side load shedding at each instance, and the status a shed request gets.
    pub load_shedding: Option<(ShedderConfig, u16)>,
    /// From a start to serving (and registering).
    pub startup_time: SimDuration,
    /// Kubernetes probes of each instance, run by its kubelet.
    pub probes: Option<discovery::ProbeSetConfig>,
    /// Its versions (subsets), in file order; empty for an unversioned service, whose
    /// instances are all version 0.
    pub versions: Vec<String>,
    /// A horizontal autoscaler managing how many of `instances` run.
    pub autoscaler: Option<autoscale::AutoscalerConfig>,
    /// Per version, its endpoints' behaviour (by the endpoint's index in `endpoints`);
    /// empty for an unversioned service.
    pub version_endpoints: Vec<Vec<traffic::Behaviour>>,
    /// Routing rules for every caller (Istio's VirtualService); `None`: calls go to any
    /// version.
    pub routing: Option<traffic::Routing>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallsMode {
    Sequence,
    Parallel,
}

#[derive(Clone, Debug)]
pub struct Endpoint {
    pub name: String,
    pub service: ServiceId,
    pub service_time: Dist,
    /// Probability in [0, 1] that the endpoint fails on its own.
    pub error_rate: f64,
    pub error_status: u16,
    pub calls: Vec<Call>,
    pub calls_mode: CallsMode,
    /// Status returned when a required downstream call fails.
    pub dependency_failure_status: u16,
}

#[derive(Clone, Debug)]
pub struct Call {
    pub service: ServiceId,
    pub endpoint: EndpointId,
    /// Probability in [0, 1] that a request makes this call.
    pub probability: f64,
    /// Whether a failure of this call fails the caller.
    pub required: bool,
}

#[derive(Clone, Debug)]
pub struct Instance {
    pub name: String,
    pub service: ServiceId,
    pub zone: ZoneId,
    pub workers: u32,
    pub weight: u32,
    /// Service-time multiplier (1 = nominal speed).
    pub slowdown: f64,
    /// Running at time 0 (else stopped, to be started by a lifecycle action).
    pub initially_running: bool,
    /// Its version: an index into its service's `versions` (0 if it has none).
    pub version: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Process {
    Poisson,
    Constant,
}

/// Piecewise-linear arrival rate in requests per second, k6-style: start at
/// `start_rate`, then ramp linearly to each stage's target over its duration, and hold
/// the last target after the last stage.
#[derive(Clone, Debug)]
pub struct RateSchedule {
    pub start_rate: f64,
    pub stages: Vec<(SimDuration, f64)>,
}

#[derive(Clone, Debug)]
pub enum Load {
    Open { process: Process, schedule: RateSchedule },
    Closed { users: u32, think_time: Dist },
}

#[derive(Clone, Debug)]
pub struct Workload {
    pub load: Load,
    /// Routes and their weights, in file order.
    pub mix: Vec<(RouteId, f64)>,
    /// Number of distinct client ids drawn for open-loop requests.
    pub clients: u64,
}
