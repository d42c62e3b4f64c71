//! Outlier-detection configurations: Envoy's parameters with its defaults. The detector
//! is `resilience::outlier`.

use crate::time::SimDuration;

/// Envoy's `OutlierDetection` cluster settings.
#[derive(Clone, Debug, PartialEq)]
pub struct OutlierConfig {
    /// `consecutive_5xx`: consecutive 5xx (and, without the split, local-origin errors) that
    /// eject a host. Default 5; 0 disables.
    pub consecutive_5xx: u32,
    /// `consecutive_gateway_failure`: consecutive 502/503/504 that eject a host. Default 5; 0
    /// disables. Not enforced by default (see below).
    pub consecutive_gateway_failure: u32,
    /// `consecutive_local_origin_failure`: consecutive local-origin errors that eject a host,
    /// with the split on. Default 5; 0 disables.
    pub consecutive_local_origin_failure: u32,
    /// `enforcing_consecutive_5xx`: percent chance a consecutive-5xx ejection is carried out.
    /// Default 100.
    pub enforcing_consecutive_5xx: f64,
    /// `enforcing_consecutive_gateway_failure`: percent. Default 0: detected, never enforced.
    pub enforcing_consecutive_gateway_failure: f64,
    /// `enforcing_consecutive_local_origin_failure`: percent. Default 100.
    pub enforcing_consecutive_local_origin_failure: f64,
    /// `interval`: time between sweeps. Default 10 s.
    pub interval: SimDuration,
    /// `base_ejection_time`: ejection time per consecutive ejection. Default 30 s.
    pub base_ejection_time: SimDuration,
    /// `max_ejection_time`: cap on an ejection's time. Default 300 s (Envoy: the larger of
    /// 300 s and `base_ejection_time` when unset); must be >= `base_ejection_time`.
    pub max_ejection_time: SimDuration,
    /// `max_ejection_time_jitter`: a random extra of up to this much per ejection. Default 0.
    pub max_ejection_time_jitter: SimDuration,
    /// `max_ejection_percent`: most hosts ejected at once, as a percentage of all hosts (an
    /// ejection that would exceed it is refused). Envoy takes an integer capped at 100.
    /// Default 10: with fewer than 10 hosts nothing is ejected unless `always_eject_one_host`.
    pub max_ejection_percent: f64,
    /// `always_eject_one_host`: allow one ejection whatever `max_ejection_percent` says.
    /// Default false. (Envoy always allowed one until envoyproxy/envoy#27909, mid-2023;
    /// #34796 brought it back as this opt-in.)
    pub always_eject_one_host: bool,
    /// `split_external_local_origin_errors`. Default false.
    pub split_external_local_origin_errors: bool,
    /// Success-rate ejection, on by default in Envoy (enforcing 100). `None` turns it off.
    pub success_rate: Option<SuccessRateConfig>,
    /// Failure-percentage ejection. Envoy always evaluates it but enforces 0 % by default, so
    /// the default here is `Some` with enforcing 0, which behaves as `None`.
    pub failure_percentage: Option<FailurePercentageConfig>,
}

impl Default for OutlierConfig {
    fn default() -> Self {
        OutlierConfig {
            consecutive_5xx: 5,
            consecutive_gateway_failure: 5,
            consecutive_local_origin_failure: 5,
            enforcing_consecutive_5xx: 100.0,
            enforcing_consecutive_gateway_failure: 0.0,
            enforcing_consecutive_local_origin_failure: 100.0,
            interval: SimDuration::from_secs(10),
            base_ejection_time: SimDuration::from_secs(30),
            max_ejection_time: SimDuration::from_secs(300),
            max_ejection_time_jitter: SimDuration::ZERO,
            max_ejection_percent: 10.0,
            always_eject_one_host: false,
            split_external_local_origin_errors: false,
            success_rate: Some(SuccessRateConfig::default()),
            failure_percentage: Some(FailurePercentageConfig::default()),
        }
    }
}

/// Envoy's success-rate outlier check, run at each sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SuccessRateConfig {
    /// `success_rate_minimum_hosts`: hosts with enough volume needed for the check. Default 5.
    pub minimum_hosts: u32,
    /// `success_rate_request_volume`: requests a host needs in the interval to count.
    /// Default 100.
    pub request_volume: u32,
    /// `success_rate_stdev_factor` in thousandths, as Envoy: a host is ejected when its
    /// success rate is below `mean - stdev_factor / 1000 * stdev`. Default 1900 (1.9).
    pub stdev_factor: u32,
    /// `enforcing_success_rate`: percent. Default 100.
    pub enforcing: f64,
    /// `enforcing_local_origin_success_rate` (split mode): percent. Default 100.
    pub enforcing_local_origin: f64,
}

impl Default for SuccessRateConfig {
    fn default() -> Self {
        SuccessRateConfig {
            minimum_hosts: 5,
            request_volume: 100,
            stdev_factor: 1900,
            enforcing: 100.0,
            enforcing_local_origin: 100.0,
        }
    }
}

/// Envoy's failure-percentage outlier check, run at each sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct FailurePercentageConfig {
    /// `failure_percentage_threshold`: a host whose failure percentage is at least this is
    /// ejected. Default 85.
    pub threshold: u32,
    /// `failure_percentage_minimum_hosts`. Default 5.
    pub minimum_hosts: u32,
    /// `failure_percentage_request_volume`. Default 50.
    pub request_volume: u32,
    /// `enforcing_failure_percentage`: percent. Default 0.
    pub enforcing: f64,
    /// `enforcing_failure_percentage_local_origin` (split mode): percent. Default 0.
    pub enforcing_local_origin: f64,
}

impl Default for FailurePercentageConfig {
    fn default() -> Self {
        FailurePercentageConfig {
            threshold: 85,
            minimum_hosts: 5,
            request_volume: 50,
            enforcing: 0.0,
            enforcing_local_origin: 0.0,
        }
    }
}
