//! The validated scenario: every name resolved to an integer id, every default applied.
//!
//! Built once by `scenario::validate`; read-only while the simulation runs. Hot paths
//! index the `Vec`s here by id. Nothing in this module knows the JSON format.

use crate::dist::Dist;
use crate::time::SimDuration;

macro_rules! id_type {
    ($($name:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);
        impl $name {
            #[inline]
            pub fn idx(self) -> usize { self.0 as usize }
        }
    )*};
}
id_type!(ServiceId, EndpointId, InstanceId, RouteId, ZoneId, LinkId);

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
    pub network: Network,
    pub gateway: Gateway,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoint>,
    pub instances: Vec<Instance>,
    pub policies: Policies,
    pub workload: Workload,
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
}

#[derive(Clone, Debug)]
pub struct Route {
    pub name: String,
    pub method: Option<String>,
    pub path_prefix: Option<String>,
    pub service: ServiceId,
    pub endpoint: EndpointId,
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
}

/// Who makes a call: the gateway or an instance of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    Gateway,
    Service(ServiceId),
}

impl Caller {
    /// Dense index: 0 for the gateway, 1 + service id for services.
    #[inline]
    pub fn idx(self) -> usize {
        match self {
            Caller::Gateway => 0,
            Caller::Service(s) => 1 + s.idx(),
        }
    }
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
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallPolicy {
    /// Per-call timeout; `None` disables it (Istio's default).
    pub timeout: Option<SimDuration>,
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
