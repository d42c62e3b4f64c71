//! What happens to the mesh over time, as validated data: instance lifecycle actions, the
//! faults replayed during the run and the chaos monkey that draws more. `sim/faults.rs`
//! and `chaos` act them out.

use super::security::AuthzPolicy;
use crate::dist::Dist;
use crate::ids::{Caller, EndpointId, InstanceId, RouteId, ServiceId, ZoneId};
use crate::time::{SimDuration, SimTime};

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
    AuthzPolicy(Box<AuthzPolicy>),
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
