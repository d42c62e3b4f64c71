//! Outlier detection (ejection of failing hosts).

use super::cx::*;
use crate::model::*;
use crate::scenario::raw;

pub(super) fn outlier(cx: &mut Cx, path: &str, o: &raw::OutlierSpec) -> Option<OutlierPolicy> {
    use crate::resilience::outlier::{FailurePercentageConfig, OutlierConfig, SuccessRateConfig};
    let def = OutlierConfig::default();
    let mut ok = true;
    let mut pct = |cx: &mut Cx, field: &str, v: Option<f64>, default: f64| match v {
        None => default,
        Some(x) if (0.0..=100.0).contains(&x) => x,
        Some(x) => {
            cx.err(format!("{path}.{field}"), format!("a percentage from 0 to 100, found {x}"));
            ok = false;
            default
        }
    };
    let enforcing_consecutive_5xx =
        pct(cx, "enforcingConsecutive5xx", o.enforcing_consecutive_5xx, def.enforcing_consecutive_5xx);
    let enforcing_consecutive_gateway_failure = pct(
        cx,
        "enforcingConsecutiveGatewayFailure",
        o.enforcing_consecutive_gateway_failure,
        def.enforcing_consecutive_gateway_failure,
    );
    let max_ejection_percent = pct(cx, "maxEjectionPercent", o.max_ejection_percent, def.max_ejection_percent);
    let healthy_panic_threshold = pct(cx, "healthyPanicThreshold", o.healthy_panic_threshold, 50.0);
    let sr = SuccessRateConfig::default();
    let success_rate = SuccessRateConfig {
        minimum_hosts: o.success_rate_minimum_hosts.unwrap_or(sr.minimum_hosts),
        request_volume: o.success_rate_request_volume.unwrap_or(sr.request_volume),
        stdev_factor: o.success_rate_stdev_factor.unwrap_or(sr.stdev_factor),
        enforcing: pct(cx, "enforcingSuccessRate", o.enforcing_success_rate, sr.enforcing),
        ..sr
    };
    let fp = FailurePercentageConfig::default();
    let failure_percentage = FailurePercentageConfig {
        threshold: o.failure_percentage_threshold.unwrap_or(fp.threshold),
        minimum_hosts: o.failure_percentage_minimum_hosts.unwrap_or(fp.minimum_hosts),
        request_volume: o.failure_percentage_request_volume.unwrap_or(fp.request_volume),
        enforcing: pct(cx, "enforcingFailurePercentage", o.enforcing_failure_percentage, fp.enforcing),
        ..fp
    };
    let config = OutlierConfig {
        consecutive_5xx: o.consecutive_5xx.unwrap_or(def.consecutive_5xx),
        consecutive_gateway_failure: o.consecutive_gateway_failure.unwrap_or(def.consecutive_gateway_failure),
        enforcing_consecutive_5xx,
        enforcing_consecutive_gateway_failure,
        interval: cx.positive_duration(format!("{path}.interval"), o.interval.map_or(def.interval, |d| d.0)),
        base_ejection_time: o.base_ejection_time.map_or(def.base_ejection_time, |d| d.0),
        max_ejection_time: o.max_ejection_time.map_or(def.max_ejection_time, |d| d.0),
        max_ejection_percent,
        success_rate: Some(success_rate),
        failure_percentage: Some(failure_percentage),
        ..def
    };
    if config.max_ejection_time < config.base_ejection_time {
        cx.err(
            format!("{path}.maxEjectionTime"),
            format!("at least baseEjectionTime ({}), found {}", config.base_ejection_time, config.max_ejection_time),
        );
        return None;
    }
    if !ok || config.interval.is_zero() {
        return None;
    }
    Some(OutlierPolicy { config, healthy_panic_threshold })
}
