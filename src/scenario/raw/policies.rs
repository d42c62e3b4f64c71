//! Policies: defaults and overrides, retries, backoffs, budgets, fallbacks, balancers,
//! breakers, bulkheads, limiters, shedders, outlier detection, and config pushes.

use super::*;

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
