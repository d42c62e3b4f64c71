//! Envoy outlier detection: passive health checking that ejects misbehaving hosts.
//!
//! One `OutlierDetector` lives in each caller's proxy per destination, over hosts `0..n`, and
//! follows `source/common/upstream/outlier_detection_impl.cc`:
//!
//! - **Consecutive errors**, counted per host as results arrive. A 5xx increments
//!   `consecutive_5xx`; a 502/503/504 also increments `consecutive_gateway_failure` (any other
//!   5xx resets the gateway count); any other status resets both. When a count *reaches* its
//!   threshold (`==`, so a threshold of 0 disables the rule) the host is considered for
//!   ejection at once, and the count is reset whether or not the ejection happens. A host
//!   already ejected is skipped without resetting (its counts reset when it returns).
//! - **Interval sweep** every `interval` (the loop calls [`OutlierDetector::on_interval`] at
//!   [`OutlierDetector::next_interval`]): first every ejected host whose time is up returns
//!   (`min(base_ejection_time * backoff, max_ejection_time) + jitter <= now - ejected_at`) and
//!   every host's success-rate bucket rolls over; then the success-rate and
//!   failure-percentage checks run on the interval just ended, over hosts not ejected; then
//!   every healthy host unejected at least one interval ago has its backoff decremented.
//! - **Ejection**: allowed only if `100 * (ejected + 1) / hosts <= max_ejection_percent` (or,
//!   with `always_eject_one_host`, if none is ejected), then only if the enforcing percentage
//!   of its rule draws true. An enforced ejection increments the host's backoff while
//!   `backoff * base < max + base`, so the n-th ejection in a row lasts `base * n`, capped at
//!   `max_ejection_time`.
//!
//! **Local-origin errors** (timeouts, resets, connect failures). With
//! `split_external_local_origin_errors` false (the default) Envoy's router reports them as
//! HTTP codes: a timeout as 504 (`timeout_response_code_`), a reset or connect failure as 503
//! (`LocalOriginConnectFailed`), so each is a 5xx *and* a gateway failure. With the split on,
//! they feed a separate `consecutive_local_origin_failure` count and a separate local-origin
//! success rate, and each attempt that gets a connection reports a local-origin success
//! ([`OutlierDetector::on_connect_success`], Envoy's `LocalOriginConnectSuccess` on pool
//! ready). Responses the proxy makes itself (circuit-breaker overflow, its own 504) must not be
//! reported: Envoy ignores overflow resets.
//!
//! **Where this differs from Envoy**: hosts are swept in index order (Envoy iterates a hash
//! map); consecutive-error ejections happen at once (Envoy posts them to the main thread);
//! jitter is drawn in nanoseconds (Envoy: whole milliseconds); a host ejected by the success
//! rate is not ejected again by the failure percentage of the same sweep (Envoy would eject it
//! twice, which its debug build asserts against); active health checks are not modelled.

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::policy::{FailurePercentageConfig, OutlierConfig, SuccessRateConfig};
use crate::time::{SimDuration, SimTime};
use rand::Rng;
use std::fmt;

/// How a call to a host ended, as the proxy saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostOutcome {
    /// Response headers with this HTTP status arrived from the host.
    Status(u16),
    /// No response headers before the per-try or overall timeout (Envoy: 504).
    Timeout,
    /// The stream was reset after it was sent (Envoy: `LocalOriginConnectFailed`, 503).
    Reset,
    /// No connection could be made (Envoy: `LocalOriginConnectFailed`, 503).
    ConnectFailure,
}

/// Why a host was ejected: Envoy's `OutlierEjectionType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EjectionCause {
    Consecutive5xx,
    ConsecutiveGatewayFailure,
    ConsecutiveLocalOriginFailure,
    SuccessRate,
    SuccessRateLocalOrigin,
    FailurePercentage,
    FailurePercentageLocalOrigin,
}

impl EjectionCause {
    pub const ALL: [EjectionCause; 7] = [
        EjectionCause::Consecutive5xx,
        EjectionCause::ConsecutiveGatewayFailure,
        EjectionCause::ConsecutiveLocalOriginFailure,
        EjectionCause::SuccessRate,
        EjectionCause::SuccessRateLocalOrigin,
        EjectionCause::FailurePercentage,
        EjectionCause::FailurePercentageLocalOrigin,
    ];

    /// Position in [`EjectionCause::ALL`], for per-cause counters.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Envoy's stat-name spelling.
    pub fn name(self) -> &'static str {
        match self {
            EjectionCause::Consecutive5xx => "consecutive_5xx",
            EjectionCause::ConsecutiveGatewayFailure => "consecutive_gateway_failure",
            EjectionCause::ConsecutiveLocalOriginFailure => "consecutive_local_origin_failure",
            EjectionCause::SuccessRate => "success_rate",
            EjectionCause::SuccessRateLocalOrigin => "local_origin_success_rate",
            EjectionCause::FailurePercentage => "failure_percentage",
            EjectionCause::FailurePercentageLocalOrigin => "local_origin_failure_percentage",
        }
    }
}

impl fmt::Display for EjectionCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A host left or rejoined the healthy set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EjectionEvent {
    pub at: SimTime,
    pub host: usize,
    /// True for an ejection, false for a return.
    pub ejected: bool,
    /// Why the host was ejected (for a return: the ejection that ends).
    pub cause: EjectionCause,
    /// For an ejection, its minimum length (the host returns at the first sweep after it);
    /// for a return, how long the host was out.
    pub ejection_time: SimDuration,
}

/// Envoy's outlier-detection stats for this detector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutlierCounters {
    /// `ejections_detected_*`, by [`EjectionCause::index`].
    pub detected: [u64; 7],
    /// `ejections_enforced_*`, by [`EjectionCause::index`].
    pub enforced: [u64; 7],
    /// `ejections_overflow`: ejections refused by `max_ejection_percent`.
    pub overflow: u64,
}

impl OutlierCounters {
    pub fn enforced_total(&self) -> u64 {
        self.enforced.iter().sum()
    }
}

const EXTERNAL: usize = 0;
const LOCAL: usize = 1;

/// Requests and successes in one interval, for one origin.
#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    success: u64,
    total: u64,
}

#[derive(Clone, Debug, Default)]
struct HostMonitor {
    /// When and why the host was ejected, while it is (`FAILED_OUTLIER_CHECK`).
    ejection: Option<(SimTime, EjectionCause)>,
    last_unejection: Option<SimTime>,
    /// Envoy's `ejectTimeBackoff`: the multiplier of `base_ejection_time`.
    backoff: u32,
    /// Envoy's `num_ejections_`: ejections ever (a stat; never decremented).
    num_ejections: u32,
    jitter: SimDuration,
    consecutive_5xx: u32,
    consecutive_gateway_failure: u32,
    consecutive_local_origin_failure: u32,
    /// The interval being written, by origin.
    current: [Bucket; 2],
    /// The interval just ended, read by the sweep, by origin.
    last: [Bucket; 2],
}

/// Envoy's outlier detector over hosts `0..n` of one destination.
#[derive(Clone, Debug)]
pub struct OutlierDetector {
    config: OutlierConfig,
    hosts: Vec<HostMonitor>,
    ejected: usize,
    next_interval: SimTime,
    events: Vec<EjectionEvent>,
    counters: OutlierCounters,
}

impl OutlierDetector {
    /// A detector over `hosts` hosts whose first sweep is at `now + interval`.
    ///
    /// # Panics
    /// If `interval` is zero, or `max_ejection_time < base_ejection_time` (Envoy rejects that
    /// config); validation rules both out.
    pub fn new(config: &OutlierConfig, hosts: usize, now: SimTime) -> Self {
        assert!(!config.interval.is_zero(), "outlier detection interval must be positive");
        assert!(
            config.max_ejection_time >= config.base_ejection_time,
            "outlier detector's max_ejection_time cannot be smaller than base_ejection_time"
        );
        OutlierDetector {
            config: config.clone(),
            hosts: vec![HostMonitor::default(); hosts],
            ejected: 0,
            next_interval: now + config.interval,
            events: Vec::new(),
            counters: OutlierCounters::default(),
        }
    }

    /// A call to `host` ended with `outcome`. May eject the host at once (consecutive-error
    /// rules); `rng` draws the enforcing percentages and the jitter.
    ///
    /// # Panics
    /// If `host` is out of range.
    pub fn on_result<R: Rng + ?Sized>(&mut self, now: SimTime, host: usize, outcome: HostOutcome, rng: &mut R) {
        assert!(host < self.hosts.len(), "host {host} out of range");
        match (self.config.split_external_local_origin_errors, outcome) {
            (_, HostOutcome::Status(code)) => self.put_http_response_code(now, host, code, rng),
            (false, HostOutcome::Timeout) => self.put_http_response_code(now, host, 504, rng),
            (false, HostOutcome::Reset | HostOutcome::ConnectFailure) => {
                self.put_http_response_code(now, host, 503, rng)
            }
            (true, HostOutcome::Timeout | HostOutcome::Reset | HostOutcome::ConnectFailure) => {
                self.local_origin_failure(now, host, rng)
            }
        }
    }

    /// An attempt to `host` got a connection (Envoy's `LocalOriginConnectSuccess`, reported
    /// when the connection pool attaches the request). Counts only with
    /// `split_external_local_origin_errors`: a local-origin success that resets the
    /// consecutive local-origin count. Call it when the attempt is sent, not for connect
    /// failures.
    pub fn on_connect_success(&mut self, host: usize) {
        assert!(host < self.hosts.len(), "host {host} out of range");
        if self.config.split_external_local_origin_errors {
            let h = &mut self.hosts[host];
            h.current[LOCAL].total += 1;
            h.current[LOCAL].success += 1;
            h.consecutive_local_origin_failure = 0;
        }
    }

    /// The interval sweep: returns hosts whose time is up, runs the success-rate and
    /// failure-percentage checks on the interval just ended, decrements the backoff of healthy
    /// hosts, and schedules the next sweep at `now + interval`.
    ///
    /// # Panics
    /// If called before [`OutlierDetector::next_interval`].
    pub fn on_interval<R: Rng + ?Sized>(&mut self, now: SimTime, rng: &mut R) {
        assert!(now >= self.next_interval, "outlier sweep at {now} before its time {}", self.next_interval);
        for host in 0..self.hosts.len() {
            self.check_host_for_uneject(now, host);
            let h = &mut self.hosts[host];
            h.last = h.current;
            h.current = [Bucket::default(); 2];
        }
        self.process_success_rate_ejections(now, EXTERNAL, rng);
        self.process_success_rate_ejections(now, LOCAL, rng);
        let interval = self.config.interval;
        for h in &mut self.hosts {
            if h.ejection.is_none() && h.last_unejection.is_some_and(|u| now.since(u) >= interval) && h.backoff != 0 {
                h.backoff -= 1;
            }
        }
        self.next_interval = now + interval;
    }

    /// When the loop must call [`OutlierDetector::on_interval`].
    pub fn next_interval(&self) -> SimTime {
        self.next_interval
    }

    pub fn is_ejected(&self, host: usize) -> bool {
        self.hosts[host].ejection.is_some()
    }

    pub fn ejected_count(&self) -> usize {
        self.ejected
    }

    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// Times `host` has been ejected in the run (Envoy's `num_ejections`).
    pub fn num_ejections(&self, host: usize) -> u32 {
        self.hosts[host].num_ejections
    }

    /// The ejections and returns since the last drain, in order.
    /// Whether ejections or returns wait to be drained: the loop drains only then.
    #[inline]
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    pub fn drain_events(&mut self) -> std::vec::Drain<'_, EjectionEvent> {
        self.events.drain(..)
    }

    pub fn counters(&self) -> OutlierCounters {
        self.counters
    }

    /// `DetectorHostMonitorImpl::putHttpResponseCode`.
    fn put_http_response_code<R: Rng + ?Sized>(&mut self, now: SimTime, host: usize, code: u16, rng: &mut R) {
        let h = &mut self.hosts[host];
        h.current[EXTERNAL].total += 1;
        if (500..600).contains(&code) {
            let mut gateway_reached = false;
            if matches!(code, 502..=504) {
                h.consecutive_gateway_failure = h.consecutive_gateway_failure.saturating_add(1);
                gateway_reached = h.consecutive_gateway_failure == self.config.consecutive_gateway_failure;
            } else {
                h.consecutive_gateway_failure = 0;
            }
            h.consecutive_5xx = h.consecutive_5xx.saturating_add(1);
            let five_xx_reached = h.consecutive_5xx == self.config.consecutive_5xx;
            // Envoy posts the gateway event first, then the 5xx one.
            if gateway_reached {
                self.on_consecutive_error(now, host, EjectionCause::ConsecutiveGatewayFailure, rng);
            }
            if five_xx_reached {
                self.on_consecutive_error(now, host, EjectionCause::Consecutive5xx, rng);
            }
        } else {
            h.current[EXTERNAL].success += 1;
            h.consecutive_5xx = 0;
            h.consecutive_gateway_failure = 0;
        }
    }

    /// `DetectorHostMonitorImpl::localOriginFailure` (split mode).
    fn local_origin_failure<R: Rng + ?Sized>(&mut self, now: SimTime, host: usize, rng: &mut R) {
        let h = &mut self.hosts[host];
        h.current[LOCAL].total += 1;
        h.consecutive_local_origin_failure = h.consecutive_local_origin_failure.saturating_add(1);
        if h.consecutive_local_origin_failure == self.config.consecutive_local_origin_failure {
            self.on_consecutive_error(now, host, EjectionCause::ConsecutiveLocalOriginFailure, rng);
        }
    }

    /// `DetectorImpl::onConsecutiveErrorWorker`.
    fn on_consecutive_error<R: Rng + ?Sized>(&mut self, now: SimTime, host: usize, cause: EjectionCause, rng: &mut R) {
        if self.hosts[host].ejection.is_some() {
            return;
        }
        self.counters.detected[cause.index()] += 1;
        self.eject_host(now, host, cause, rng);
        let h = &mut self.hosts[host];
        match cause {
            EjectionCause::Consecutive5xx => h.consecutive_5xx = 0,
            EjectionCause::ConsecutiveGatewayFailure => h.consecutive_gateway_failure = 0,
            EjectionCause::ConsecutiveLocalOriginFailure => h.consecutive_local_origin_failure = 0,
            _ => unreachable!("{cause} is not a consecutive-error rule"),
        }
    }

    fn enforcing_percent(&self, cause: EjectionCause) -> f64 {
        let c = &self.config;
        let sr = c.success_rate.as_ref();
        let fp = c.failure_percentage.as_ref();
        match cause {
            EjectionCause::Consecutive5xx => c.enforcing_consecutive_5xx,
            EjectionCause::ConsecutiveGatewayFailure => c.enforcing_consecutive_gateway_failure,
            EjectionCause::ConsecutiveLocalOriginFailure => c.enforcing_consecutive_local_origin_failure,
            EjectionCause::SuccessRate => sr.map_or(0.0, |s| s.enforcing),
            EjectionCause::SuccessRateLocalOrigin => sr.map_or(0.0, |s| s.enforcing_local_origin),
            EjectionCause::FailurePercentage => fp.map_or(0.0, |f| f.enforcing),
            EjectionCause::FailurePercentageLocalOrigin => fp.map_or(0.0, |f| f.enforcing_local_origin),
        }
    }

    /// The host's current ejection length: `min(base * backoff, max) + jitter`.
    fn ejection_length(&self, h: &HostMonitor) -> SimDuration {
        let base = self.config.base_ejection_time.as_nanos();
        let scaled = base.saturating_mul(u64::from(h.backoff)).min(self.config.max_ejection_time.as_nanos());
        SimDuration::from_nanos(scaled) + h.jitter
    }

    /// `DetectorImpl::ejectHost`.
    fn eject_host<R: Rng + ?Sized>(&mut self, now: SimTime, host: usize, cause: EjectionCause, rng: &mut R) {
        debug_assert!(self.hosts[host].ejection.is_none());
        let max_percent = self.config.max_ejection_percent.clamp(0.0, 100.0);
        let ejected_percent = 100.0 * (self.ejected + 1) as f64 / self.hosts.len() as f64;
        let mut should_eject = ejected_percent <= max_percent;
        if self.config.always_eject_one_host {
            should_eject = self.ejected == 0 || should_eject;
        }
        if !should_eject {
            self.counters.overflow += 1;
            return;
        }
        if !feature_enabled(self.enforcing_percent(cause), rng) {
            return;
        }
        self.ejected += 1;
        self.counters.enforced[cause.index()] += 1;
        let jitter_max = self.config.max_ejection_time_jitter.as_nanos();
        let jitter = if jitter_max == 0 { 0 } else { rng.random_range(0..=jitter_max) };
        let base = u128::from(self.config.base_ejection_time.as_nanos());
        let max = u128::from(self.config.max_ejection_time.as_nanos());
        let h = &mut self.hosts[host];
        h.ejection = Some((now, cause));
        h.num_ejections += 1;
        h.jitter = SimDuration::from_nanos(jitter);
        if u128::from(h.backoff) * base < max + base {
            h.backoff += 1;
        }
        let length = self.ejection_length(&self.hosts[host]);
        self.events.push(EjectionEvent { at: now, host, ejected: true, cause, ejection_time: length });
    }

    /// `DetectorImpl::checkHostForUneject` and `unejectHost`.
    fn check_host_for_uneject(&mut self, now: SimTime, host: usize) {
        let Some((at, cause)) = self.hosts[host].ejection else { return };
        debug_assert!(self.hosts[host].backoff > 0);
        if self.ejection_length(&self.hosts[host]) > now.since(at) {
            return;
        }
        self.ejected -= 1;
        let h = &mut self.hosts[host];
        h.ejection = None;
        // Fresh counts, so a host does not go straight back out on a few new errors.
        h.consecutive_5xx = 0;
        h.consecutive_gateway_failure = 0;
        h.consecutive_local_origin_failure = 0;
        h.last_unejection = Some(now);
        self.events.push(EjectionEvent { at: now, host, ejected: false, cause, ejection_time: now.since(at) });
    }

    /// `DetectorImpl::processSuccessRateEjections` for one origin.
    fn process_success_rate_ejections<R: Rng + ?Sized>(&mut self, now: SimTime, origin: usize, rng: &mut R) {
        let sr = self.config.success_rate.clone();
        let fp = self.config.failure_percentage.clone();
        let n = self.hosts.len() as u64;
        let sr_min_hosts = sr.as_ref().map_or(u64::MAX, |s| u64::from(s.minimum_hosts));
        let fp_min_hosts = fp.as_ref().map_or(u64::MAX, |f| u64::from(f.minimum_hosts));
        if n < sr_min_hosts && n < fp_min_hosts {
            return;
        }
        let mut valid_sr: Vec<(usize, f64)> = Vec::new();
        let mut valid_fp: Vec<(usize, f64)> = Vec::new();
        let mut sr_sum = 0.0;
        for (i, h) in self.hosts.iter().enumerate() {
            let bucket = h.last[origin];
            if h.ejection.is_some() || bucket.total == 0 {
                continue;
            }
            let rate = bucket.success as f64 * 100.0 / bucket.total as f64;
            if sr.as_ref().is_some_and(|s| bucket.total >= u64::from(s.request_volume)) {
                valid_sr.push((i, rate));
                sr_sum += rate;
            }
            if fp.as_ref().is_some_and(|f| bucket.total >= u64::from(f.request_volume)) {
                valid_fp.push((i, rate));
            }
        }
        if let Some(s) = &sr
            && !valid_sr.is_empty()
            && valid_sr.len() as u64 >= sr_min_hosts
        {
            let threshold = success_rate_ejection_threshold(sr_sum, &valid_sr, f64::from(s.stdev_factor) / 1000.0);
            let cause =
                if origin == EXTERNAL { EjectionCause::SuccessRate } else { EjectionCause::SuccessRateLocalOrigin };
            for &(host, rate) in &valid_sr {
                if rate < threshold {
                    self.counters.detected[cause.index()] += 1;
                    self.eject_host(now, host, cause, rng);
                }
            }
        }
        if let Some(f) = &fp
            && !valid_fp.is_empty()
            && valid_fp.len() as u64 >= fp_min_hosts
        {
            let cause = if origin == EXTERNAL {
                EjectionCause::FailurePercentage
            } else {
                EjectionCause::FailurePercentageLocalOrigin
            };
            for &(host, rate) in &valid_fp {
                if 100.0 - rate >= f64::from(f.threshold) && self.hosts[host].ejection.is_none() {
                    self.counters.detected[cause.index()] += 1;
                    self.eject_host(now, host, cause, rng);
                }
            }
        }
    }
}

/// `DetectorImpl::successRateEjectionThreshold`: mean minus `factor` population standard
/// deviations of the valid hosts' success rates (percent).
fn success_rate_ejection_threshold(sum: f64, rates: &[(usize, f64)], factor: f64) -> f64 {
    let count = rates.len() as f64;
    let mean = sum / count;
    let variance = rates.iter().map(|&(_, r)| (r - mean).powi(2)).sum::<f64>() / count;
    mean - factor * variance.sqrt()
}

/// Envoy's `featureEnabled(key, percent)`: true with probability `percent` / 100. Draws only
/// when the answer is not certain.
fn feature_enabled<R: Rng + ?Sized>(percent: f64, rng: &mut R) -> bool {
    if percent >= 100.0 {
        true
    } else if percent > 0.0 {
        rng.random::<f64>() * 100.0 < percent
    } else {
        false
    }
}

/// Envoy's panic threshold (`LoadBalancerBase::isHostSetInPanic`): whether fewer than
/// `healthy_panic_threshold_percent` of the hosts are healthy, in which case the balancer
/// ignores health and balances across all hosts. Envoy rounds the threshold to a whole percent
/// and caps it at 100; the default is 50, and 0 disables panic mode. No hosts at all is panic
/// (0 % healthy) unless the threshold is 0.
pub fn panic_mode(healthy: usize, total: usize, healthy_panic_threshold_percent: f64) -> bool {
    let threshold = healthy_panic_threshold_percent.round().min(100.0);
    let healthy_percent = if total == 0 { 0.0 } else { 100.0 * healthy as f64 / total as f64 };
    healthy_percent < threshold
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RootSeed, Stream};
    use proptest::prelude::*;

    fn s(v: u64) -> SimTime {
        SimTime(v * 1_000_000_000)
    }

    fn rng() -> Stream {
        RootSeed(1).stream("x")
    }

    /// Ten hosts, so the default 10 % allows one ejection.
    fn detector(config: OutlierConfig) -> OutlierDetector {
        OutlierDetector::new(&config, 10, SimTime::ZERO)
    }

    fn results(d: &mut OutlierDetector, now: SimTime, host: usize, outcome: HostOutcome, times: usize, r: &mut Stream) {
        for _ in 0..times {
            d.on_result(now, host, outcome, r);
        }
    }

    const OK: HostOutcome = HostOutcome::Status(200);
    const E500: HostOutcome = HostOutcome::Status(500);
    const E503: HostOutcome = HostOutcome::Status(503);

    #[test]
    fn defaults_match_envoy() {
        let c = OutlierConfig::default();
        assert_eq!((c.consecutive_5xx, c.consecutive_gateway_failure, c.consecutive_local_origin_failure), (5, 5, 5));
        assert_eq!(
            (
                c.enforcing_consecutive_5xx,
                c.enforcing_consecutive_gateway_failure,
                c.enforcing_consecutive_local_origin_failure
            ),
            (100.0, 0.0, 100.0)
        );
        assert_eq!(c.interval, SimDuration::from_secs(10));
        assert_eq!(c.base_ejection_time, SimDuration::from_secs(30));
        assert_eq!(c.max_ejection_time, SimDuration::from_secs(300));
        assert_eq!(c.max_ejection_percent, 10.0);
        assert!(!c.always_eject_one_host && !c.split_external_local_origin_errors);
        let sr = c.success_rate.unwrap();
        assert_eq!((sr.minimum_hosts, sr.request_volume, sr.stdev_factor, sr.enforcing), (5, 100, 1900, 100.0));
        let fp = c.failure_percentage.unwrap();
        assert_eq!((fp.threshold, fp.minimum_hosts, fp.request_volume, fp.enforcing), (85, 5, 50, 0.0));
    }

    #[test]
    fn consecutive_5xx_ejects_at_the_fifth_and_a_success_resets_the_count() {
        let mut r = rng();
        let mut d = detector(OutlierConfig::default());
        results(&mut d, s(1), 3, E500, 4, &mut r);
        d.on_result(s(1), 3, HostOutcome::Status(404), &mut r); // 4xx is a success here
        results(&mut d, s(1), 3, E500, 4, &mut r);
        assert!(!d.is_ejected(3));
        d.on_result(s(2), 3, E500, &mut r);
        assert!(d.is_ejected(3));
        assert_eq!(d.ejected_count(), 1);
        let events: Vec<_> = d.drain_events().collect();
        assert_eq!(
            events,
            vec![EjectionEvent {
                at: s(2),
                host: 3,
                ejected: true,
                cause: EjectionCause::Consecutive5xx,
                ejection_time: SimDuration::from_secs(30)
            }]
        );
        assert_eq!(events[0].cause.to_string(), "consecutive_5xx");
        assert_eq!(d.counters().enforced_total(), 1);
    }

    #[test]
    fn gateway_failures_are_detected_but_not_enforced_by_default() {
        let mut r = rng();
        let mut d = detector(OutlierConfig { consecutive_5xx: 6, ..OutlierConfig::default() });
        results(&mut d, s(1), 0, E503, 5, &mut r);
        assert!(!d.is_ejected(0));
        let c = d.counters();
        assert_eq!(c.detected[EjectionCause::ConsecutiveGatewayFailure.index()], 1);
        assert_eq!(c.enforced_total(), 0);
        // The 5xx count kept running: the sixth 503 ejects by consecutive_5xx.
        d.on_result(s(1), 0, E503, &mut r);
        assert_eq!(d.drain_events().next().map(|e| e.cause), Some(EjectionCause::Consecutive5xx));
    }

    #[test]
    fn gateway_failures_eject_when_enforced_and_other_5xx_reset_them() {
        let mut r = rng();
        let config = OutlierConfig {
            consecutive_5xx: 0,
            enforcing_consecutive_gateway_failure: 100.0,
            ..OutlierConfig::default()
        };
        let mut d = detector(config);
        results(&mut d, s(1), 0, E503, 4, &mut r);
        d.on_result(s(1), 0, E500, &mut r); // a 500 is not a gateway error: resets that count
        results(&mut d, s(1), 0, HostOutcome::Status(502), 4, &mut r);
        assert!(!d.is_ejected(0));
        d.on_result(s(1), 0, HostOutcome::Status(504), &mut r);
        assert!(d.is_ejected(0));
        assert_eq!(d.drain_events().next().map(|e| e.cause), Some(EjectionCause::ConsecutiveGatewayFailure));
    }

    #[test]
    fn local_origin_errors_count_as_gateway_5xx_without_the_split() {
        let mut r = rng();
        let config = OutlierConfig {
            consecutive_5xx: 0,
            enforcing_consecutive_gateway_failure: 100.0,
            ..OutlierConfig::default()
        };
        let mut d = detector(config);
        d.on_result(s(1), 0, HostOutcome::Timeout, &mut r); // 504
        d.on_result(s(1), 0, HostOutcome::Reset, &mut r); // 503
        d.on_result(s(1), 0, HostOutcome::ConnectFailure, &mut r); // 503
        d.on_result(s(1), 0, HostOutcome::Timeout, &mut r);
        assert!(!d.is_ejected(0));
        d.on_connect_success(0); // nothing without the split
        d.on_result(s(1), 0, HostOutcome::Reset, &mut r);
        assert!(d.is_ejected(0));
    }

    #[test]
    fn split_local_origin_errors_have_their_own_count_reset_by_connections() {
        let mut r = rng();
        let config = OutlierConfig { split_external_local_origin_errors: true, ..OutlierConfig::default() };
        let mut d = detector(config);
        // Five timeouts, but each attempt first got a connection: the count never passes 1.
        for _ in 0..5 {
            d.on_connect_success(1);
            d.on_result(s(1), 1, HostOutcome::Timeout, &mut r);
        }
        assert!(!d.is_ejected(1));
        // Local-origin errors do not touch the 5xx count, and 5xx do not touch theirs.
        d.on_connect_success(1);
        results(&mut d, s(1), 1, E500, 4, &mut r);
        results(&mut d, s(1), 1, HostOutcome::ConnectFailure, 4, &mut r);
        assert!(!d.is_ejected(1));
        d.on_result(s(2), 1, HostOutcome::ConnectFailure, &mut r);
        assert!(d.is_ejected(1));
        assert_eq!(d.drain_events().next().map(|e| e.cause), Some(EjectionCause::ConsecutiveLocalOriginFailure));
    }

    /// Ejects `host` with five 500s at `now`.
    fn eject(d: &mut OutlierDetector, now: SimTime, host: usize, r: &mut Stream) {
        results(d, now, host, E500, 5, r);
        assert!(d.is_ejected(host), "host {host} should be ejected at {now}");
    }

    /// Runs every sweep due up to and including `until`.
    fn sweep_until(d: &mut OutlierDetector, until: SimTime, r: &mut Stream) {
        while d.next_interval() <= until {
            let at = d.next_interval();
            d.on_interval(at, r);
        }
    }

    #[test]
    fn hosts_return_only_at_a_sweep_after_their_time_is_up() {
        let mut r = rng();
        let mut d = detector(OutlierConfig::default());
        eject(&mut d, s(1), 0, &mut r);
        sweep_until(&mut d, s(30), &mut r);
        // At 31 s the 30 s are up, but nothing happens until the sweep at 40 s.
        assert!(d.is_ejected(0));
        sweep_until(&mut d, s(39), &mut r);
        assert!(d.is_ejected(0));
        d.drain_events().for_each(drop);
        sweep_until(&mut d, s(40), &mut r);
        assert!(!d.is_ejected(0));
        let back: Vec<_> = d.drain_events().collect();
        assert_eq!(
            back,
            vec![EjectionEvent {
                at: s(40),
                host: 0,
                ejected: false,
                cause: EjectionCause::Consecutive5xx,
                ejection_time: SimDuration::from_secs(39)
            }]
        );
    }

    #[test]
    fn ejection_time_is_base_times_consecutive_ejections_capped_at_max() {
        let mut r = rng();
        let mut d = detector(OutlierConfig::default());
        let mut lengths = Vec::new();
        let mut now = s(1);
        for _ in 0..13 {
            eject(&mut d, now, 0, &mut r);
            lengths.push(d.drain_events().next_back().expect("ejection event").ejection_time.as_secs_f64() as u64);
            // Re-eject a second after the return, before any healthy interval passes.
            while d.is_ejected(0) {
                let at = d.next_interval();
                d.on_interval(at, &mut r);
                now = at + SimDuration::from_secs(1);
            }
            d.drain_events().for_each(drop);
        }
        assert_eq!(lengths, vec![30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300, 300]);
        assert_eq!(d.num_ejections(0), 13);
    }

    #[test]
    fn backoff_decrements_once_per_healthy_interval_after_return() {
        let mut r = rng();
        let mut d = detector(OutlierConfig::default());
        eject(&mut d, s(1), 0, &mut r);
        sweep_until(&mut d, s(40), &mut r); // back at 40 s (backoff 1)
        eject(&mut d, s(41), 0, &mut r); // backoff 2: 60 s
        sweep_until(&mut d, s(110), &mut r); // 41 + 60 = 101: back at 110 s
        assert!(!d.is_ejected(0));
        // Healthy sweeps at 120 s (10 s after the return) and 130 s: backoff 2 -> 1 -> 0.
        sweep_until(&mut d, s(130), &mut r);
        d.drain_events().for_each(drop);
        eject(&mut d, s(131), 0, &mut r);
        // Backoff went 0 -> 1: a fresh 30 s.
        assert_eq!(d.drain_events().next_back().map(|e| e.ejection_time), Some(SimDuration::from_secs(30)));

        // With only one healthy sweep in between, backoff 2 -> 1 and the next ejection is 60 s.
        let mut d = detector(OutlierConfig::default());
        eject(&mut d, s(1), 0, &mut r);
        sweep_until(&mut d, s(40), &mut r);
        eject(&mut d, s(41), 0, &mut r);
        sweep_until(&mut d, s(120), &mut r); // back at 110, one decrement at 120
        d.drain_events().for_each(drop);
        eject(&mut d, s(121), 0, &mut r);
        assert_eq!(d.drain_events().next_back().map(|e| e.ejection_time), Some(SimDuration::from_secs(60)));
    }

    #[test]
    fn max_ejection_percent_refuses_ejections_beyond_it() {
        let mut r = rng();
        let mut d = detector(OutlierConfig::default());
        eject(&mut d, s(1), 0, &mut r);
        results(&mut d, s(1), 1, E500, 5, &mut r);
        assert!(!d.is_ejected(1), "a second host of ten would be 20 % > 10 %");
        assert_eq!(d.counters().overflow, 1);
        // The count was reset all the same: four more 500s do not eject even with room.
        d.config.max_ejection_percent = 20.0;
        results(&mut d, s(2), 1, E500, 4, &mut r);
        assert!(!d.is_ejected(1));
        d.on_result(s(2), 1, E500, &mut r);
        assert!(d.is_ejected(1));
    }

    #[test]
    fn small_clusters_eject_nothing_unless_always_eject_one_host() {
        let mut r = rng();
        let mut d = OutlierDetector::new(&OutlierConfig::default(), 5, SimTime::ZERO);
        results(&mut d, s(1), 0, E500, 5, &mut r);
        assert!(!d.is_ejected(0), "one host of five is 20 % > 10 %");
        let config = OutlierConfig { always_eject_one_host: true, ..OutlierConfig::default() };
        let mut d = OutlierDetector::new(&config, 5, SimTime::ZERO);
        eject(&mut d, s(1), 0, &mut r);
        results(&mut d, s(1), 1, E500, 5, &mut r);
        assert!(!d.is_ejected(1), "only the first ejection ignores the percentage");
    }

    #[test]
    fn enforcing_percentage_draws_per_ejection() {
        let mut r = rng();
        let config =
            OutlierConfig { enforcing_consecutive_5xx: 50.0, max_ejection_percent: 100.0, ..OutlierConfig::default() };
        let mut d = OutlierDetector::new(&config, 400, SimTime::ZERO);
        for host in 0..400 {
            results(&mut d, s(1), host, E500, 5, &mut r);
        }
        let ejected = d.ejected_count();
        assert!((150..=250).contains(&ejected), "about half enforced, got {ejected}");
        assert_eq!(d.counters().detected[0], 400);
    }

    /// One interval's traffic: `total` results for `host`, `failures` of them 500s, spread so
    /// that no five failures are consecutive unless most are failures.
    fn traffic(d: &mut OutlierDetector, now: SimTime, host: usize, total: u32, failures: u32, r: &mut Stream) {
        for i in 0..total {
            // Bresenham-style spreading of the failures among the results.
            let fail = (i + 1) * failures / total > i * failures / total;
            d.on_result(now, host, if fail { E500 } else { OK }, r);
        }
    }

    #[test]
    fn success_rate_ejects_hosts_below_mean_minus_stdev_factor_stdevs() {
        let mut r = rng();
        let config = OutlierConfig { max_ejection_percent: 100.0, ..OutlierConfig::default() };
        let mut d = OutlierDetector::new(&config, 5, SimTime::ZERO);
        // Rates 100, 100, 100, 100, 50: mean 90, stdev 20, threshold 90 - 1.9 * 20 = 52.
        for host in 0..4 {
            traffic(&mut d, s(1), host, 100, 0, &mut r);
        }
        traffic(&mut d, s(1), 4, 100, 50, &mut r);
        assert!(!d.is_ejected(4));
        d.on_interval(s(10), &mut r);
        assert!(d.is_ejected(4));
        assert_eq!(d.ejected_count(), 1);
        assert_eq!(d.drain_events().next().map(|e| e.cause), Some(EjectionCause::SuccessRate));

        // Two hosts at 60 %: mean 84, stdev 19.6, threshold 46.8. Both stay: outliers that
        // are not rare widen the deviation that judges them.
        let mut d = OutlierDetector::new(&config, 5, SimTime::ZERO);
        for host in 0..5 {
            traffic(&mut d, s(1), host, 100, if host >= 3 { 40 } else { 0 }, &mut r);
        }
        d.on_interval(s(10), &mut r);
        assert_eq!(d.ejected_count(), 0);
    }

    #[test]
    fn success_rate_needs_request_volume_and_minimum_hosts() {
        let mut r = rng();
        let config = OutlierConfig { max_ejection_percent: 100.0, ..OutlierConfig::default() };
        // One host short of the volume: four valid hosts < 5.
        let mut d = OutlierDetector::new(&config, 5, SimTime::ZERO);
        for host in 0..3 {
            traffic(&mut d, s(1), host, 100, 0, &mut r);
        }
        traffic(&mut d, s(1), 3, 99, 0, &mut r);
        traffic(&mut d, s(1), 4, 100, 50, &mut r);
        d.on_interval(s(10), &mut r);
        assert_eq!(d.ejected_count(), 0);
        // Only the interval just ended counts: the next interval has no traffic at all.
        let mut d = OutlierDetector::new(&config, 5, SimTime::ZERO);
        for host in 0..4 {
            traffic(&mut d, s(1), host, 100, 0, &mut r);
        }
        traffic(&mut d, s(1), 4, 100, 50, &mut r);
        d.on_interval(s(10), &mut r);
        assert!(d.is_ejected(4));
        sweep_until(&mut d, s(40), &mut r);
        assert!(!d.is_ejected(4));
        assert_eq!(d.ejected_count(), 0);
    }

    #[test]
    fn failure_percentage_ejects_at_threshold_when_enforced() {
        let mut r = rng();
        let config = OutlierConfig {
            consecutive_5xx: 0,
            consecutive_gateway_failure: 0,
            max_ejection_percent: 100.0,
            success_rate: None,
            failure_percentage: Some(FailurePercentageConfig {
                enforcing: 100.0,
                ..FailurePercentageConfig::default()
            }),
            ..OutlierConfig::default()
        };
        let mut d = OutlierDetector::new(&config, 5, SimTime::ZERO);
        for host in 0..3 {
            traffic(&mut d, s(1), host, 50, 0, &mut r);
        }
        traffic(&mut d, s(1), 3, 100, 85, &mut r); // exactly 85 %: ejected
        traffic(&mut d, s(1), 4, 100, 84, &mut r); // 84 %: stays
        d.on_interval(s(10), &mut r);
        assert!(d.is_ejected(3));
        assert!(!d.is_ejected(4));
        assert_eq!(d.drain_events().next().map(|e| e.cause), Some(EjectionCause::FailurePercentage));
        // Default enforcing 0: detected, not ejected.
        let default_fp = OutlierConfig { failure_percentage: Some(FailurePercentageConfig::default()), ..config };
        let mut d = OutlierDetector::new(&default_fp, 5, SimTime::ZERO);
        for host in 0..5 {
            traffic(&mut d, s(1), host, 50, if host == 3 { 50 } else { 0 }, &mut r);
        }
        d.on_interval(s(10), &mut r);
        assert_eq!(d.ejected_count(), 0);
        assert_eq!(d.counters().detected[EjectionCause::FailurePercentage.index()], 1);
    }

    #[test]
    fn panic_threshold_is_strictly_below_the_rounded_percentage() {
        assert!(!panic_mode(5, 10, 50.0));
        assert!(panic_mode(4, 10, 50.0));
        assert!(!panic_mode(10, 10, 100.0));
        assert!(panic_mode(9, 10, 100.0));
        assert!(panic_mode(0, 0, 50.0));
        assert!(!panic_mode(0, 10, 0.0));
        // Envoy rounds the threshold: 50.4 acts as 50, 50.5 as 51.
        assert!(!panic_mode(50, 100, 50.4));
        assert!(panic_mode(50, 100, 50.5));
    }

    #[test]
    #[should_panic(expected = "max_ejection_time cannot be smaller")]
    fn max_ejection_time_below_base_is_rejected() {
        let config = OutlierConfig { max_ejection_time: SimDuration::from_secs(10), ..OutlierConfig::default() };
        OutlierDetector::new(&config, 3, SimTime::ZERO);
    }

    /// The most hosts Envoy lets be ejected at once.
    fn ejection_cap(n: usize, percent: f64, always_one: bool) -> usize {
        let by_percent = (0..=n).filter(|&k| k == 0 || 100.0 * k as f64 / n as f64 <= percent).max().unwrap_or(0);
        if always_one { by_percent.max(1) } else { by_percent }
    }

    proptest! {
        /// Whatever the results and sweeps, ejected hosts never exceed max_ejection_percent of
        /// the hosts (one host when always_eject_one_host allows it), and the count matches
        /// the hosts flagged.
        #[test]
        fn never_ejects_beyond_max_ejection_percent(
            n in 1usize..25,
            percent in 0u32..=100,
            always_one in any::<bool>(),
            seed in any::<u64>(),
            steps in prop::collection::vec((0usize..25, 0u8..4, 0u64..3_000), 1..400),
        ) {
            let config = OutlierConfig {
                max_ejection_percent: f64::from(percent),
                always_eject_one_host: always_one,
                base_ejection_time: SimDuration::from_secs(5),
                interval: SimDuration::from_secs(2),
                failure_percentage: Some(FailurePercentageConfig {
                    enforcing: 100.0,
                    request_volume: 3,
                    minimum_hosts: 1,
                    ..FailurePercentageConfig::default()
                }),
                success_rate: Some(SuccessRateConfig { request_volume: 3, minimum_hosts: 1, ..SuccessRateConfig::default() }),
                consecutive_5xx: 2,
                ..OutlierConfig::default()
            };
            let cap = ejection_cap(n, f64::from(percent), always_one);
            let mut r = RootSeed(seed).stream("outlier");
            let mut d = OutlierDetector::new(&config, n, SimTime::ZERO);
            let mut now = SimTime::ZERO;
            for (host, kind, dt_ms) in steps {
                now = now + SimDuration::from_millis(dt_ms);
                while d.next_interval() <= now {
                    let at = d.next_interval();
                    d.on_interval(at, &mut r);
                    prop_assert!(d.ejected_count() <= cap);
                }
                let outcome = match kind {
                    0 => OK,
                    1 => E500,
                    2 => HostOutcome::Timeout,
                    _ => HostOutcome::Status(503),
                };
                d.on_result(now, host % n, outcome, &mut r);
                prop_assert!(d.ejected_count() <= cap, "{} ejected of {n} at {percent}%", d.ejected_count());
                prop_assert_eq!(d.ejected_count(), (0..n).filter(|&h| d.is_ejected(h)).count());
            }
        }
    }
}
