//! The resolved policy table: for every caller and destination, the call policy (timeout,
//! retries, hedging, fallback) and the configuration of each resilience component in the
//! caller's proxy. The components that run these configurations are in `resilience/` and
//! `balance/`; this module holds the data only.

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod bulkhead;
pub mod limiter;
pub mod outlier;
pub mod shedder;

pub use backoff::BackoffConfig;
pub use breaker::{BreakerConfig, ConsecutiveConfig, HystrixConfig, R4jMode, Resilience4jConfig, SlidingWindow};
pub use budget::BudgetConfig;
pub use bulkhead::BulkheadConfig;
pub use limiter::LimiterConfig;
pub use outlier::{FailurePercentageConfig, OutlierConfig, SuccessRateConfig};
pub use shedder::ShedderConfig;

use crate::ids::{Caller, EndpointId, ServiceId};
use crate::time::SimDuration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimiterScope {
    Instance,
    Service,
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
    pub budget: Vec<Option<BudgetConfig>>,
    /// Circuit breakers, per caller and destination service.
    pub breaker: Vec<Option<BreakerPolicy>>,
    /// Bulkheads, per caller and destination service.
    pub bulkhead: Vec<Option<BulkheadConfig>>,
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
    pub config: OutlierConfig,
    /// Percent of healthy hosts below which the balancer ignores ejections (Envoy: 50).
    pub healthy_panic_threshold: f64,
}

/// A circuit breaker in each caller's proxy for a destination.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerPolicy {
    pub config: BreakerConfig,
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

    pub fn bulkhead(&self, caller: Caller, service: ServiceId) -> Option<&BulkheadConfig> {
        self.bulkhead[caller.idx() * self.service_count + service.idx()].as_ref()
    }

    pub fn outlier(&self, caller: Caller, service: ServiceId) -> Option<&OutlierPolicy> {
        self.outlier[caller.idx() * self.service_count + service.idx()].as_ref()
    }

    pub fn locality(&self, caller: Caller, service: ServiceId) -> Option<&LocalityLb> {
        self.locality[caller.idx() * self.service_count + service.idx()].as_ref()
    }

    pub fn budget(&self, caller: Caller, service: ServiceId) -> Option<&BudgetConfig> {
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
    pub backoff: BackoffConfig,
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
