//! Circuit breakers (Resilience4j, Hystrix, consecutive failures).

use super::cx::*;
use crate::model::*;
use crate::scenario::raw;
use crate::time::SimDuration;

/// A circuit breaker; which parameters each semantics takes is checked when the file is
/// read, their values here.
// Over 80 lines: one arm per breaker semantics, each checking its own parameters.
pub(super) fn breaker(cx: &mut Cx, path: &str, b: &raw::Tagged<raw::BreakerSpec>) -> Option<BreakerPolicy> {
    use crate::resilience::breaker::{
        BreakerConfig, ConsecutiveConfig, HystrixConfig, R4jMode, Resilience4jConfig, SlidingWindow,
    };
    use raw::BreakerSpec as S;
    let (scope, failure_on_names) = b.common();
    let mut failure_on = FailureOn::DEFAULT;
    if let Some(list) = failure_on_names {
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
    let d = |x: Option<raw::Dur>, default: SimDuration| x.map_or(default, |d| d.0);
    let config = match &b.spec {
        S::Resilience4j {
            failure_rate_threshold,
            slow_call_rate_threshold,
            slow_call_duration_threshold,
            wait_duration_in_open_state,
            exponential_backoff_multiplier,
            exponential_max_wait_duration_in_open_state,
            permitted_number_of_calls_in_half_open_state,
            max_wait_duration_in_half_open_state,
            sliding_window_type,
            sliding_window_size,
            minimum_number_of_calls,
            automatic_transition_from_open_to_half_open_enabled,
            state,
            ..
        } => {
            let def = Resilience4jConfig::default();
            let size = sliding_window_size.unwrap_or(100);
            BreakerConfig::Resilience4j(Resilience4jConfig {
                failure_rate_threshold: failure_rate_threshold.unwrap_or(def.failure_rate_threshold),
                slow_call_rate_threshold: slow_call_rate_threshold.unwrap_or(def.slow_call_rate_threshold),
                slow_call_duration_threshold: d(*slow_call_duration_threshold, def.slow_call_duration_threshold),
                wait_duration_in_open_state: d(*wait_duration_in_open_state, def.wait_duration_in_open_state),
                wait_interval_multiplier: exponential_backoff_multiplier.unwrap_or(def.wait_interval_multiplier),
                wait_duration_max: exponential_max_wait_duration_in_open_state.map(|x| x.0).or(def.wait_duration_max),
                permitted_calls_in_half_open_state: permitted_number_of_calls_in_half_open_state
                    .unwrap_or(def.permitted_calls_in_half_open_state),
                max_wait_duration_in_half_open_state: d(
                    *max_wait_duration_in_half_open_state,
                    def.max_wait_duration_in_half_open_state,
                ),
                sliding_window: match sliding_window_type {
                    Some(raw::SlidingWindowType::TimeBased) => SlidingWindow::TimeBased { seconds: size },
                    _ => SlidingWindow::CountBased { size },
                },
                minimum_number_of_calls: minimum_number_of_calls.unwrap_or(def.minimum_number_of_calls),
                automatic_transition_from_open_to_half_open: automatic_transition_from_open_to_half_open_enabled
                    .unwrap_or(def.automatic_transition_from_open_to_half_open),
                mode: match state {
                    Some(raw::BreakerStateSpec::Disabled) => R4jMode::Disabled,
                    Some(raw::BreakerStateSpec::ForcedOpen) => R4jMode::ForcedOpen,
                    Some(raw::BreakerStateSpec::MetricsOnly) => R4jMode::MetricsOnly,
                    _ => R4jMode::Normal,
                },
            })
        }
        S::Hystrix {
            request_volume_threshold,
            error_threshold_percentage,
            sleep_window,
            rolling_window,
            buckets,
            health_snapshot_interval,
            force_open,
            force_closed,
            ..
        } => {
            let def = HystrixConfig::default();
            BreakerConfig::Hystrix(HystrixConfig {
                request_volume_threshold: request_volume_threshold.unwrap_or(def.request_volume_threshold),
                error_threshold_percentage: error_threshold_percentage.unwrap_or(def.error_threshold_percentage),
                sleep_window: d(*sleep_window, def.sleep_window),
                rolling_window: d(*rolling_window, def.rolling_window),
                buckets: buckets.unwrap_or(def.buckets),
                health_snapshot_interval: d(*health_snapshot_interval, def.health_snapshot_interval),
                force_open: force_open.unwrap_or(def.force_open),
                force_closed: force_closed.unwrap_or(def.force_closed),
            })
        }
        S::Consecutive { failure_threshold, recovery_timeout, .. } => {
            let def = ConsecutiveConfig::default();
            BreakerConfig::ConsecutiveFailures(ConsecutiveConfig {
                failure_threshold: failure_threshold.unwrap_or(def.failure_threshold),
                recovery_timeout: d(*recovery_timeout, def.recovery_timeout),
            })
        }
    };
    if let Err(msg) = config.validate() {
        cx.err(path.to_string(), format!("valid {} breaker parameters: {msg}", b.kind));
        return None;
    }
    let scope = match scope {
        Some(raw::BreakerScopeSpec::Endpoint) => BreakerScope::Endpoint,
        Some(raw::BreakerScopeSpec::Instance) => BreakerScope::Instance,
        _ => BreakerScope::Service,
    };
    Some(BreakerPolicy { config, scope, failure_on })
}
