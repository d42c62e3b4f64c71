//! The validated scenario: every name resolved to an integer id, every default applied.
//!
//! Built once by `scenario::validate`; read-only while the simulation runs. Hot paths
//! index the `Vec`s here by id. Nothing in this module knows the JSON format.

use crate::dist::Dist;
use crate::time::{SimDuration, SimTime};

pub use crate::ids::{Caller, EndpointId, InstanceId, LinkId, RouteId, ServiceId, ZoneId};

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
    pub slos: Vec<crate::slo::Slo>,
    /// Random faults drawn at run start from the seed, after `faults`.
    pub chaos: Option<ChaosMonkey>,
    /// Alerting rules, evaluated as each time-series window closes.
    pub alerts: Vec<crate::alert::AlertRule>,
    /// The share of requests traced (0 to 1), when the run writes traces.
    pub trace_sampling: f64,
    /// User invariants, judged window by window.
    pub invariants: Vec<crate::invariant::Invariant>,
    /// Request headers the workload sets per user, for routing rules.
    pub headers: Vec<crate::traffic::Header>,
    /// Flagger-style rollouts, at most one per service.
    pub rollouts: Vec<crate::rollout::RolloutSpec>,
    /// Mesh security; `None`: no identities, mTLS, certificates or authorization at all.
    pub security: Option<Box<crate::security::Security>>,
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

/// How callers learn which instances of a service exist.
#[derive(Clone, Debug)]
pub struct Discovery {
    pub mode: DiscoveryMode,
    /// Cached views are refreshed every `refresh_interval` plus a uniform jitter.
    pub refresh: crate::discovery::RefreshConfig,
    pub registry: Option<RegistryModel>,
    /// Active health checking, by every proxy of its destination's hosts (Envoy) or by the
    /// registry of every registered instance (Consul's HTTP checks).
    pub health_check: Option<(CheckBy, crate::discovery::health::HealthCheckConfig)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckBy {
    Proxy,
    Registry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoveryMode {
    /// Every proxy knows at once which instances are running (the default).
    Ideal,
    /// Each proxy keeps its own cached view of the registry, refreshed periodically.
    Client,
    /// One cached view per service, kept by a server-side load balancer that every caller
    /// goes through (AWS ELB, a Kubernetes Service's kube-proxy rules).
    Server,
}

/// The service registry and how instances get into it.
#[derive(Clone, Debug)]
pub struct RegistryModel {
    pub config: crate::discovery::registry::RegistryConfig,
    /// Self-registration with heartbeats every `heartbeat_interval` (Consul, Eureka), or a
    /// third-party registrar that (de)registers instances as they start and stop
    /// (Kubernetes' endpoints controller): `None`.
    pub heartbeat_interval: Option<SimDuration>,
    pub zone: ZoneId,
    /// How long a read of the registry takes (a slow registry), and how long a client
    /// waits before it gives up and keeps its last view.
    pub latency: Dist,
    pub read_timeout: SimDuration,
}

/// Something done to instances at a given time.
#[derive(Clone, Debug)]
pub struct LifecycleAction {
    pub at: SimTime,
    pub action: Lifecycle,
}

#[derive(Clone, Debug)]
pub enum Lifecycle {
    /// The process dies: in-flight requests are lost, callers see resets (`hang: false`)
    /// or nothing at all until their timeouts (`hang: true`, a frozen host).
    Crash { instance: InstanceId, hang: bool },
    /// Graceful stop: deregister, refuse new requests, finish those in flight.
    Stop { instance: InstanceId },
    /// Start a stopped or crashed instance (it serves after its start-up time).
    Start { instance: InstanceId },
    /// Bring the service's running instances to `replicas`: start the first stopped ones,
    /// or gracefully stop the last running ones.
    Scale { service: ServiceId, replicas: u32 },
}

/// A fault replayed during the run: what it does, to which instances, and when.
#[derive(Clone, Debug)]
pub struct Fault {
    pub kind: FaultKind,
    /// The candidates; each occurrence hits those `select` picks among them.
    pub instances: Vec<InstanceId>,
    pub select: Select,
    pub start: SimTime,
    /// `None`: the fault lasts to the end of the run.
    pub end: Option<SimTime>,
    /// The fault begins again every `repeat` after `start` (each time for as long).
    pub repeat: Option<SimDuration>,
    /// An error or latency fault on a call path acts at the callers' proxies, before
    /// their policy stack (as Istio's fault filter), instead of at instances.
    pub path: Option<CallPath>,
}

/// The calls a proxy-side fault hits: from `from` (every caller if `None`) to `to`
/// (one endpoint of it, or all of them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallPath {
    pub from: Option<Caller>,
    pub to: ServiceId,
    pub endpoint: Option<EndpointId>,
}

impl CallPath {
    #[inline]
    pub fn matches(&self, caller: Caller, service: ServiceId, endpoint: EndpointId) -> bool {
        self.to == service && self.from.is_none_or(|c| c == caller) && self.endpoint.is_none_or(|e| e == endpoint)
    }
}

/// A seeded chaos monkey: faults drawn at run start from the stream `chaos/monkey`,
/// beginning at exponential intervals of mean `mean_interval` within [`start`, `end`),
/// each lasting a uniform draw from `duration`, with at most `max_concurrent` at once.
#[derive(Clone, Debug)]
pub struct ChaosMonkey {
    pub start: SimTime,
    /// `None`: until arrivals stop.
    pub end: Option<SimTime>,
    pub mean_interval: SimDuration,
    pub duration: (SimDuration, SimDuration),
    pub max_concurrent: u32,
    /// The kinds it draws from, by weight.
    pub kinds: Vec<ChaosKind>,
}

/// One kind a chaos monkey draws: its weight, and the faults it may become (one per
/// candidate service, drawn uniformly; their times are set when drawn).
#[derive(Clone, Debug)]
pub struct ChaosKind {
    pub weight: f64,
    pub variants: Vec<Fault>,
}

/// Chaos Mesh's selector modes: which of the candidate instances an occurrence hits,
/// drawn from the fault's own stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Select {
    All,
    One,
    Fixed(u32),
    FixedPercent(f64),
    RandomMaxPercent(u32),
}

#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Requests fail with `status` with this probability (Istio's fault.abort): at the
    /// instance, or, on a call path, at the caller's proxy.
    Error { probability: f64, status: u16 },
    /// Service times are multiplied by `factor` (CPU starvation).
    Slowdown { factor: f64 },
    /// Each instance runs with this many workers (a capacity drop).
    Capacity { workers: u32 },
    /// A request waits this long (with this probability) before its work starts, or,
    /// on a call path, before the caller's proxy sends it (Istio's fault.delay).
    Latency { delay: Dist, probability: f64 },
    /// The instances crash at the start (see [`Lifecycle::Crash`]) and restart at the end.
    Crash { hang: bool },
    /// The instances stop gracefully at the start and start again at the end.
    Stop,
    /// The service registry is unavailable: heartbeats and registrations fail, clients keep
    /// their last view.
    RegistryOutage,
    /// Messages from one side to the other are lost (both ways, or only from `from` to
    /// `to`). The sides are zones, or nodes (0 the gateway, 1 + service id).
    Partition { by_zone: bool, from: Vec<u32>, to: Vec<u32>, one_way: bool },
    /// Each message between the two groups of zones (or on every link) is lost with
    /// this probability.
    Loss { between: Option<(Vec<ZoneId>, Vec<ZoneId>)>, probability: f64 },
    /// Each message between the two groups of zones (or on every link) is delayed by a
    /// further draw (link degradation: delay plus jitter).
    LinkLatency { between: Option<(Vec<ZoneId>, Vec<ZoneId>)>, delay: Dist },
    /// Extra Poisson arrivals at `rate` a second while the fault lasts: a traffic spike
    /// (by the workload's mix) or a surge on one route.
    Load { rate: f64, route: Option<RouteId> },
    /// Configuration pushes that leave the control plane while the fault lasts reach
    /// each proxy (with this probability) after a further `delay` draw.
    SlowConfigPush { delay: Dist, probability: f64 },
    /// A whole zone goes down: every instance in it crashes at once (`hang`: silent, as a
    /// zone gone dark; else refusing) and restarts at the end. The gateway stays up.
    ZoneOutage { zone: ZoneId, hang: bool },
    /// The CA (istiod) cannot sign certificates: rotations fail and are retried.
    CaOutage,
    /// A (mis-scoped) AuthorizationPolicy is in force while the fault lasts.
    AuthzPolicy(Box<crate::security::AuthzPolicy>),
}

impl FaultKind {
    /// The kind's name as a scenario file spells it.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Error { .. } => "error",
            FaultKind::Slowdown { .. } => "slowdown",
            FaultKind::Capacity { .. } => "capacity",
            FaultKind::Latency { .. } => "latency",
            FaultKind::Crash { .. } => "crash",
            FaultKind::Stop => "stop",
            FaultKind::RegistryOutage => "registry-outage",
            FaultKind::Partition { .. } => "partition",
            FaultKind::Loss { .. } => "loss",
            FaultKind::LinkLatency { .. } => "link-latency",
            FaultKind::Load { .. } => "load",
            FaultKind::SlowConfigPush { .. } => "slow-config-push",
            FaultKind::ZoneOutage { .. } => "zone-outage",
            FaultKind::CaOutage => "ca-outage",
            FaultKind::AuthzPolicy(_) => "authz-policy",
        }
    }

    /// Whether the fault acts on the network rather than on instances.
    pub fn is_network(&self) -> bool {
        matches!(self, FaultKind::Partition { .. } | FaultKind::Loss { .. } | FaultKind::LinkLatency { .. })
    }
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
    pub rate_limit: Option<crate::resilience::limiter::LimiterConfig>,
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
    pub rate_limit: Option<crate::resilience::limiter::LimiterConfig>,
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
    pub rate_limit: Option<(crate::resilience::limiter::LimiterConfig, LimiterScope)>,
    /// Server-side load shedding at each instance, and the status a shed request gets.
    pub load_shedding: Option<(crate::resilience::shedder::ShedderConfig, u16)>,
    /// From a start to serving (and registering).
    pub startup_time: SimDuration,
    /// Kubernetes probes of each instance, run by its kubelet.
    pub probes: Option<crate::discovery::probe::ProbeSetConfig>,
    /// Its versions (subsets), in file order; empty for an unversioned service, whose
    /// instances are all version 0.
    pub versions: Vec<String>,
    /// A horizontal autoscaler managing how many of `instances` run.
    pub autoscaler: Option<crate::autoscale::AutoscalerConfig>,
    /// Per version, its endpoints' behaviour (by the endpoint's index in `endpoints`);
    /// empty for an unversioned service.
    pub version_endpoints: Vec<Vec<crate::traffic::Behaviour>>,
    /// Routing rules for every caller (Istio's VirtualService); `None`: calls go to any
    /// version.
    pub routing: Option<crate::traffic::Routing>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimiterScope {
    Instance,
    Service,
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

/// Resolved policies for every caller → destination pair.
#[derive(Clone, Debug)]
pub struct Policies {
    pub service_count: usize,
    pub endpoint_count: usize,
    /// `call[caller.idx() * endpoint_count + endpoint]`.
    pub call: Vec<CallPolicy>,
    /// `balancer[caller.idx() * service_count + service]`.
    pub balancer: Vec<BalancerConfig>,
    /// Retry budgets, per caller and destination service like balancers; `None`: retries
    /// are limited by their policy alone.
    pub budget: Vec<Option<crate::resilience::budget::BudgetConfig>>,
    /// Circuit breakers, per caller and destination service.
    pub breaker: Vec<Option<BreakerPolicy>>,
    /// Bulkheads, per caller and destination service.
    pub bulkhead: Vec<Option<crate::resilience::bulkhead::BulkheadConfig>>,
    /// Outlier detection, per caller and destination service.
    pub outlier: Vec<Option<OutlierPolicy>>,
    /// Locality-aware load balancing, per caller and destination service.
    pub locality: Vec<Option<LocalityLb>>,
}

/// Locality-aware load balancing in a caller's proxy for a destination (Istio's
/// `localityLbSetting` with failover, run by Envoy's priority levels).
#[derive(Clone, Debug, PartialEq)]
pub struct LocalityLb {
    /// Envoy's overprovisioning factor, in percent (140 = 1.4).
    pub overprovisioning: u32,
    /// Istio's `failover`: (from region, to region) pairs, region indices.
    pub failover: Vec<(u32, u32)>,
}

/// Envoy outlier detection in each caller's proxy for a destination, with the balancer's
/// panic threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct OutlierPolicy {
    pub config: crate::resilience::outlier::OutlierConfig,
    /// Percent of healthy hosts below which the balancer ignores ejections (Envoy: 50).
    pub healthy_panic_threshold: f64,
}

/// A circuit breaker in each caller's proxy for a destination.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerPolicy {
    pub config: crate::resilience::breaker::BreakerConfig,
    pub scope: BreakerScope,
    /// Which attempt outcomes count as failures.
    pub failure_on: FailureOn,
}

/// What one breaker guards: the whole destination, one endpoint, or one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerScope {
    Service,
    Endpoint,
    Instance,
}

/// Which outcomes a circuit breaker counts as failures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureOn(pub u8);

impl FailureOn {
    pub const SERVER_ERROR: FailureOn = FailureOn(1);
    pub const CLIENT_ERROR: FailureOn = FailureOn(2);
    pub const TIMEOUT: FailureOn = FailureOn(4);
    pub const CONNECT_FAILURE: FailureOn = FailureOn(8);
    pub const RESET: FailureOn = FailureOn(16);
    /// The default: 5xx, timeouts, refusals and lost messages; not 4xx.
    pub const DEFAULT: FailureOn = FailureOn(1 | 4 | 8 | 16);

    pub const NAMES: [(&'static str, FailureOn); 5] = [
        ("5xx", FailureOn::SERVER_ERROR),
        ("4xx", FailureOn::CLIENT_ERROR),
        ("timeout", FailureOn::TIMEOUT),
        ("connect-failure", FailureOn::CONNECT_FAILURE),
        ("reset", FailureOn::RESET),
    ];

    pub fn is_failure(self, outcome: crate::outcome::Outcome) -> bool {
        use crate::outcome::Outcome as O;
        let has = |c: FailureOn| self.0 & c.0 != 0;
        match outcome {
            O::Ok | O::ShortCircuited | O::Overloaded => false,
            O::Error(s) if s >= 500 => has(FailureOn::SERVER_ERROR),
            O::Error(_) => has(FailureOn::CLIENT_ERROR),
            O::Timeout => has(FailureOn::TIMEOUT),
            O::Rejected => has(FailureOn::CONNECT_FAILURE),
            O::Dropped => has(FailureOn::RESET),
        }
    }
}

impl Policies {
    #[inline]
    pub fn call(&self, caller: Caller, endpoint: EndpointId) -> &CallPolicy {
        &self.call[caller.idx() * self.endpoint_count + endpoint.idx()]
    }

    #[inline]
    pub fn balancer(&self, caller: Caller, service: ServiceId) -> &BalancerConfig {
        &self.balancer[caller.idx() * self.service_count + service.idx()]
    }

    pub fn breaker(&self, caller: Caller, service: ServiceId) -> Option<&BreakerPolicy> {
        self.breaker[caller.idx() * self.service_count + service.idx()].as_ref()
    }

    pub fn bulkhead(&self, caller: Caller, service: ServiceId) -> Option<&crate::resilience::bulkhead::BulkheadConfig> {
        self.bulkhead[caller.idx() * self.service_count + service.idx()].as_ref()
    }

    pub fn outlier(&self, caller: Caller, service: ServiceId) -> Option<&OutlierPolicy> {
        self.outlier[caller.idx() * self.service_count + service.idx()].as_ref()
    }

    pub fn locality(&self, caller: Caller, service: ServiceId) -> Option<&LocalityLb> {
        self.locality[caller.idx() * self.service_count + service.idx()].as_ref()
    }

    pub fn budget(&self, caller: Caller, service: ServiceId) -> Option<&crate::resilience::budget::BudgetConfig> {
        self.budget[caller.idx() * self.service_count + service.idx()].as_ref()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallPolicy {
    /// The call's overall timeout, across all its attempts; `None` disables it (Istio's
    /// default). No attempt starts after it.
    pub timeout: Option<SimDuration>,
    /// The call carries its deadline (the sooner of its own timeout and the deadline of
    /// the request it serves) to the callee, which starts no work past it (gRPC-style).
    pub propagate_deadline: bool,
    pub retry: Option<RetryPolicy>,
    pub hedging: Option<HedgingPolicy>,
    pub fallback: Option<Fallback>,
}

impl CallPolicy {
    /// No timeout, retry, hedging, fallback or propagated deadline: the call is its one
    /// attempt.
    #[inline]
    pub fn is_plain(&self) -> bool {
        self.timeout.is_none()
            && !self.propagate_deadline
            && self.retry.is_none()
            && self.hedging.is_none()
            && self.fallback.is_none()
    }
}

/// gRPC / Envoy hedged requests: the k-th attempt goes out k x `delay` after the first
/// while no answer has come; the first success wins and the others are cancelled at the
/// caller (their callees work on: wasted work).
#[derive(Clone, Debug, PartialEq)]
pub struct HedgingPolicy {
    /// Attempts in all, the first included; at most 5, as gRPC clamps it.
    pub max_attempts: u32,
    pub delay: SimDuration,
    /// Failures after which the next hedge goes out at once (gRPC's non-fatal status
    /// codes); any other failure cancels the outstanding attempts and ends the call.
    pub non_fatal: RetryOn,
}

/// What a call that failed (after its retries) answers instead.
#[derive(Clone, Debug, PartialEq)]
pub enum Fallback {
    /// A default value: the call succeeds, degraded.
    DefaultValue,
    /// The last good answer this proxy got from the endpoint, if no older than `ttl`.
    Cache { ttl: SimDuration },
    /// A call to another endpoint (which has no fallback of its own).
    Service { service: ServiceId, endpoint: EndpointId },
    /// Queue-for-later: the caller gets a degraded success at once ("pending", as an HTTP
    /// 202), and the call is made again in the background after `delay`, and again after
    /// each failure, `max_redeliveries` tries in all, until one succeeds.
    Queue { delay: SimDuration, max_redeliveries: u32 },
}

/// When and how a failed attempt is tried again.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (3 = one call and two retries).
    pub max_attempts: u32,
    pub retry_on: RetryOn,
    /// Bounds each attempt; `None`: only the call's overall timeout applies.
    pub per_try_timeout: Option<SimDuration>,
    /// Pick a host not tried yet by this call when possible (Envoy's previous-hosts).
    pub avoid_previous_hosts: bool,
    /// The wait before each retry.
    pub backoff: crate::resilience::backoff::BackoffConfig,
}

/// Which attempt outcomes are retried, as a set of Envoy-style conditions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetryOn(pub u16);

impl RetryOn {
    /// Any 5xx answer, and no answer at all (timeout, reset, refused): Envoy's `5xx`.
    pub const SERVER_ERROR: RetryOn = RetryOn(1);
    /// 502, 503 or 504, and timeouts (a 504 from the proxy): Envoy's `gateway-error`.
    pub const GATEWAY_ERROR: RetryOn = RetryOn(2);
    /// The connection was reset or the message lost: Envoy's `reset`.
    pub const RESET: RetryOn = RetryOn(4);
    /// The instance refused the request (queue full): Envoy's `connect-failure`.
    pub const CONNECT_FAILURE: RetryOn = RetryOn(8);
    /// 409 Conflict: Envoy's `retriable-4xx`.
    pub const RETRIABLE_4XX: RetryOn = RetryOn(16);
    /// The per-try timeout fired (gRPC-style `timeout` condition).
    pub const TIMEOUT: RetryOn = RetryOn(32);

    pub const NAMES: [(&'static str, RetryOn); 6] = [
        ("5xx", RetryOn::SERVER_ERROR),
        ("gateway-error", RetryOn::GATEWAY_ERROR),
        ("reset", RetryOn::RESET),
        ("connect-failure", RetryOn::CONNECT_FAILURE),
        ("retriable-4xx", RetryOn::RETRIABLE_4XX),
        ("timeout", RetryOn::TIMEOUT),
    ];

    pub fn contains(self, other: RetryOn) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether an attempt that ended with `outcome` may be retried.
    pub fn matches(self, outcome: crate::outcome::Outcome) -> bool {
        use crate::outcome::Outcome as O;
        let any = |set: &[RetryOn]| set.iter().any(|&c| self.contains(c));
        match outcome {
            O::Ok => false,
            O::Error(409) => any(&[RetryOn::RETRIABLE_4XX]),
            O::Error(502..=504) => any(&[RetryOn::SERVER_ERROR, RetryOn::GATEWAY_ERROR]),
            O::Error(s) if s >= 500 => any(&[RetryOn::SERVER_ERROR]),
            O::Error(_) => false,
            O::Timeout => any(&[RetryOn::SERVER_ERROR, RetryOn::GATEWAY_ERROR, RetryOn::TIMEOUT]),
            O::Dropped => any(&[RetryOn::SERVER_ERROR, RetryOn::RESET]),
            O::Rejected => any(&[RetryOn::SERVER_ERROR, RetryOn::GATEWAY_ERROR, RetryOn::CONNECT_FAILURE]),
            // The caller's own breaker or bulkhead refused: retrying at once would be
            // refused again.
            O::ShortCircuited | O::Overloaded => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum BalancerConfig {
    RoundRobin,
    WeightedRoundRobin,
    Random,
    LeastOutstanding,
    P2c,
    PeakEwma { decay: SimDuration, default_rtt: SimDuration },
    RingHash { minimum_ring_size: u32 },
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
