//! Circuit breakers (Resilience4j, Hystrix, consecutive failures).

use super::cx::*;
use crate::model::*;
use crate::scenario::raw;
use crate::time::SimDuration;

pub(super) fn breaker(cx: &mut Cx, path: &str, b: &raw::BreakerSpec) -> Option<BreakerPolicy> {
    use crate::resilience::breaker::{
        BreakerConfig, ConsecutiveConfig, HystrixConfig, R4jMode, Resilience4jConfig, SlidingWindow,
    };
    use raw::BreakerKind as K;
    let kind = b.semantics.unwrap_or(K::Resilience4j);
    let takes: &[&str] = match kind {
        K::Resilience4j => &[
            "failureRateThreshold",
            "slowCallRateThreshold",
            "slowCallDurationThreshold",
            "waitDurationInOpenState",
            "exponentialBackoffMultiplier",
            "exponentialMaxWaitDurationInOpenState",
            "permittedNumberOfCallsInHalfOpenState",
            "maxWaitDurationInHalfOpenState",
            "slidingWindowType",
            "slidingWindowSize",
            "minimumNumberOfCalls",
            "automaticTransitionFromOpenToHalfOpenEnabled",
            "state",
        ],
        K::Hystrix => &[
            "requestVolumeThreshold",
            "errorThresholdPercentage",
            "sleepWindow",
            "rollingWindow",
            "buckets",
            "healthSnapshotInterval",
            "forceOpen",
            "forceClosed",
        ],
        K::Consecutive => &["failureThreshold", "recoveryTimeout"],
    };
    let present = [
        ("failureRateThreshold", b.failure_rate_threshold.is_some()),
        ("slowCallRateThreshold", b.slow_call_rate_threshold.is_some()),
        ("slowCallDurationThreshold", b.slow_call_duration_threshold.is_some()),
        ("waitDurationInOpenState", b.wait_duration_in_open_state.is_some()),
        ("exponentialBackoffMultiplier", b.exponential_backoff_multiplier.is_some()),
        ("exponentialMaxWaitDurationInOpenState", b.exponential_max_wait_duration_in_open_state.is_some()),
        ("permittedNumberOfCallsInHalfOpenState", b.permitted_number_of_calls_in_half_open_state.is_some()),
        ("maxWaitDurationInHalfOpenState", b.max_wait_duration_in_half_open_state.is_some()),
        ("slidingWindowType", b.sliding_window_type.is_some()),
        ("slidingWindowSize", b.sliding_window_size.is_some()),
        ("minimumNumberOfCalls", b.minimum_number_of_calls.is_some()),
        (
            "automaticTransitionFromOpenToHalfOpenEnabled",
            b.automatic_transition_from_open_to_half_open_enabled.is_some(),
        ),
        ("state", b.state.is_some()),
        ("requestVolumeThreshold", b.request_volume_threshold.is_some()),
        ("errorThresholdPercentage", b.error_threshold_percentage.is_some()),
        ("sleepWindow", b.sleep_window.is_some()),
        ("rollingWindow", b.rolling_window.is_some()),
        ("buckets", b.buckets.is_some()),
        ("healthSnapshotInterval", b.health_snapshot_interval.is_some()),
        ("forceOpen", b.force_open.is_some()),
        ("forceClosed", b.force_closed.is_some()),
        ("failureThreshold", b.failure_threshold.is_some()),
        ("recoveryTimeout", b.recovery_timeout.is_some()),
    ];
    let ok = cx.params(path, &format!("the {} breaker", kind_name(kind)), takes, &[], &present);
    let mut failure_on = FailureOn::DEFAULT;
    if let Some(list) = &b.failure_on {
        failure_on = FailureOn(0);
        for (i, name) in list.iter().enumerate() {
            match FailureOn::NAMES.iter().find(|(n, _)| n == name) {
                Some(&(_, c)) => failure_on.0 |= c.0,
                None => {
                    let known: Vec<&str> = FailureOn::NAMES.iter().map(|(n, _)| *n).collect();
                    cx.err(
                        format!("{path}.failureOn[{i}]"),
                        format!("an outcome class among {}, found \"{name}\"", known.join(", ")),
                    );
                }
            }
        }
    }
    if !ok {
        return None;
    }
    let d = |x: Option<raw::Dur>, default: SimDuration| x.map_or(default, |d| d.0);
    let config = match kind {
        K::Resilience4j => {
            let def = Resilience4jConfig::default();
            let size = b.sliding_window_size.unwrap_or(100);
            BreakerConfig::Resilience4j(Resilience4jConfig {
                failure_rate_threshold: b.failure_rate_threshold.unwrap_or(def.failure_rate_threshold),
                slow_call_rate_threshold: b.slow_call_rate_threshold.unwrap_or(def.slow_call_rate_threshold),
                slow_call_duration_threshold: d(b.slow_call_duration_threshold, def.slow_call_duration_threshold),
                wait_duration_in_open_state: d(b.wait_duration_in_open_state, def.wait_duration_in_open_state),
                wait_interval_multiplier: b.exponential_backoff_multiplier.unwrap_or(def.wait_interval_multiplier),
                wait_duration_max: b.exponential_max_wait_duration_in_open_state.map(|x| x.0).or(def.wait_duration_max),
                permitted_calls_in_half_open_state: b
                    .permitted_number_of_calls_in_half_open_state
                    .unwrap_or(def.permitted_calls_in_half_open_state),
                max_wait_duration_in_half_open_state: d(
                    b.max_wait_duration_in_half_open_state,
                    def.max_wait_duration_in_half_open_state,
                ),
                sliding_window: match b.sliding_window_type {
                    Some(raw::SlidingWindowType::TimeBased) => SlidingWindow::TimeBased { seconds: size },
                    _ => SlidingWindow::CountBased { size },
                },
                minimum_number_of_calls: b.minimum_number_of_calls.unwrap_or(def.minimum_number_of_calls),
                automatic_transition_from_open_to_half_open: b
                    .automatic_transition_from_open_to_half_open_enabled
                    .unwrap_or(def.automatic_transition_from_open_to_half_open),
                mode: match b.state {
                    Some(raw::BreakerStateSpec::Disabled) => R4jMode::Disabled,
                    Some(raw::BreakerStateSpec::ForcedOpen) => R4jMode::ForcedOpen,
                    Some(raw::BreakerStateSpec::MetricsOnly) => R4jMode::MetricsOnly,
                    _ => R4jMode::Normal,
                },
            })
        }
        K::Hystrix => {
            let def = HystrixConfig::default();
            BreakerConfig::Hystrix(HystrixConfig {
                request_volume_threshold: b.request_volume_threshold.unwrap_or(def.request_volume_threshold),
                error_threshold_percentage: b.error_threshold_percentage.unwrap_or(def.error_threshold_percentage),
                sleep_window: d(b.sleep_window, def.sleep_window),
                rolling_window: d(b.rolling_window, def.rolling_window),
                buckets: b.buckets.unwrap_or(def.buckets),
                health_snapshot_interval: d(b.health_snapshot_interval, def.health_snapshot_interval),
                force_open: b.force_open.unwrap_or(def.force_open),
                force_closed: b.force_closed.unwrap_or(def.force_closed),
            })
        }
        K::Consecutive => {
            let def = ConsecutiveConfig::default();
            BreakerConfig::ConsecutiveFailures(ConsecutiveConfig {
                failure_threshold: b.failure_threshold.unwrap_or(def.failure_threshold),
                recovery_timeout: d(b.recovery_timeout, def.recovery_timeout),
            })
        }
    };
    if let Err(msg) = config.validate() {
        cx.err(path.to_string(), format!("valid {} breaker parameters: {msg}", kind_name(kind)));
        return None;
    }
    let scope = match b.scope {
        Some(raw::BreakerScopeSpec::Endpoint) => BreakerScope::Endpoint,
        Some(raw::BreakerScopeSpec::Instance) => BreakerScope::Instance,
        _ => BreakerScope::Service,
    };
    Some(BreakerPolicy { config, scope, failure_on })
}
