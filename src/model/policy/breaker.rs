//! Circuit-breaker configurations: Resilience4j's, Hystrix's and the consecutive-failures
//! breaker's parameters with their defaults. The state machines are in `resilience::breaker`.

use crate::time::SimDuration;

/// A validated circuit-breaker configuration: which flavour, with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum BreakerConfig {
    /// Resilience4j's `CircuitBreaker` (the default flavour).
    Resilience4j(Resilience4jConfig),
    /// Netflix Hystrix's `HystrixCircuitBreakerImpl` (1.5.x, with `attemptExecution`).
    Hystrix(HystrixConfig),
    /// meshsim's simple breaker: opens after N consecutive failures.
    ConsecutiveFailures(ConsecutiveConfig),
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig::Resilience4j(Resilience4jConfig::default())
    }
}

impl BreakerConfig {
    /// Checks the ranges the real libraries check when they build a configuration.
    ///
    /// # Errors
    /// A message naming the field (by its Rust name) and what was expected.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            BreakerConfig::Resilience4j(c) => c.validate(),
            BreakerConfig::Hystrix(c) => c.validate(),
            BreakerConfig::ConsecutiveFailures(c) => c.validate(),
        }
    }
}

/// Resilience4j's `CircuitBreakerConfig`, the fields meshsim models. Defaults are
/// `CircuitBreakerConfig.ofDefaults()`.
#[derive(Clone, Debug, PartialEq)]
pub struct Resilience4jConfig {
    /// Opens when the failure rate, a percentage of the calls in the window, is at or above
    /// this. Compared in single precision as Resilience4j's `float`. In (0, 100]; default 50.
    pub failure_rate_threshold: f64,
    /// Opens when the slow-call rate is at or above this percentage. In (0, 100]; default 100.
    pub slow_call_rate_threshold: f64,
    /// A call is slow when its duration is strictly greater than this. At least 1 ns;
    /// default 60 s.
    pub slow_call_duration_threshold: SimDuration,
    /// How long OPEN lasts before HALF_OPEN (the first interval of the wait function).
    /// Truncated to whole milliseconds, as Resilience4j does; at least 1 ms; default 60 s.
    pub wait_duration_in_open_state: SimDuration,
    /// Growth of the wait on consecutive openings, as `IntervalFunction.ofExponentialBackoff`:
    /// opening n waits `w(n)` with `w(1) = wait`, `w(n+1) = (long) (w(n) * multiplier)` in
    /// milliseconds, capped by `wait_duration_max`. 1.0 keeps it constant. At least 1.0;
    /// default 1.0.
    pub wait_interval_multiplier: f64,
    /// Cap on the growing wait (whole milliseconds, at least 1 ms); default none.
    pub wait_duration_max: Option<SimDuration>,
    /// Calls admitted in each HALF_OPEN episode, which is also the size of its count
    /// window. At least 1; default 10.
    pub permitted_calls_in_half_open_state: u32,
    /// HALF_OPEN moves to OPEN after this long without a decision. Truncated to whole
    /// milliseconds; below 1 ms it is off (waits for the permitted calls). Default 0.
    pub max_wait_duration_in_half_open_state: SimDuration,
    /// The window that records outcomes while CLOSED (and METRICS_ONLY). Default
    /// count-based, 100 calls.
    pub sliding_window: SlidingWindow,
    /// Calls the window must hold before a rate is computed. At least 1; default 100.
    /// Capped at the window size for a count-based window (by `CircuitBreakerMetrics`),
    /// not for a time-based one; HALF_OPEN uses min(this, permitted calls).
    pub minimum_number_of_calls: u32,
    /// Moves OPEN to HALF_OPEN at exactly the wait, without waiting for a call. Default false.
    pub automatic_transition_from_open_to_half_open: bool,
    /// Normal operation or one of the states a breaker can be pinned in. Default normal.
    pub mode: R4jMode,
}

impl Default for Resilience4jConfig {
    fn default() -> Self {
        Resilience4jConfig {
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration_threshold: SimDuration::from_secs(60),
            wait_duration_in_open_state: SimDuration::from_secs(60),
            wait_interval_multiplier: 1.0,
            wait_duration_max: None,
            permitted_calls_in_half_open_state: 10,
            max_wait_duration_in_half_open_state: SimDuration::ZERO,
            sliding_window: SlidingWindow::CountBased { size: 100 },
            minimum_number_of_calls: 100,
            automatic_transition_from_open_to_half_open: false,
            mode: R4jMode::Normal,
        }
    }
}

impl Resilience4jConfig {
    fn validate(&self) -> Result<(), String> {
        let percent = |name: &str, v: f64| {
            if v > 0.0 && v <= 100.0 { Ok(()) } else { Err(format!("{name} in (0, 100], found {v}")) }
        };
        percent("failure_rate_threshold", self.failure_rate_threshold)?;
        percent("slow_call_rate_threshold", self.slow_call_rate_threshold)?;
        if self.slow_call_duration_threshold.is_zero() {
            return Err("slow_call_duration_threshold of at least 1ns".into());
        }
        if self.wait_duration_in_open_state < SimDuration::from_millis(1) {
            return Err(format!(
                "wait_duration_in_open_state of at least 1ms, found {}",
                self.wait_duration_in_open_state
            ));
        }
        if !(self.wait_interval_multiplier.is_finite() && self.wait_interval_multiplier >= 1.0) {
            return Err(format!("wait_interval_multiplier of at least 1.0, found {}", self.wait_interval_multiplier));
        }
        if let Some(max) = self.wait_duration_max
            && max < SimDuration::from_millis(1)
        {
            return Err(format!("wait_duration_max of at least 1ms, found {max}"));
        }
        if self.permitted_calls_in_half_open_state == 0 {
            return Err("permitted_calls_in_half_open_state of at least 1".into());
        }
        match self.sliding_window {
            SlidingWindow::CountBased { size: 0 } => return Err("a count-based window of at least 1 call".into()),
            SlidingWindow::TimeBased { seconds: 0 } => return Err("a time-based window of at least 1 second".into()),
            _ => {}
        }
        if self.minimum_number_of_calls == 0 {
            return Err("minimum_number_of_calls of at least 1".into());
        }
        Ok(())
    }
}

/// Resilience4j's `SlidingWindowType` with its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlidingWindow {
    /// The last `size` calls (`FixedSizeSlidingWindowMetrics`).
    CountBased { size: u32 },
    /// The calls of the current epoch second and the `seconds - 1` before it
    /// (`SlidingTimeWindowMetrics`).
    TimeBased { seconds: u32 },
}

/// How a Resilience4j breaker runs: normally, or pinned in one of its special states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum R4jMode {
    /// CLOSED, OPEN and HALF_OPEN by the rules.
    #[default]
    Normal,
    /// DISABLED: admits every call and records nothing.
    Disabled,
    /// FORCED_OPEN: rejects every call.
    ForcedOpen,
    /// METRICS_ONLY: admits every call, records outcomes, never changes state.
    MetricsOnly,
}

/// Hystrix's circuit-breaker and metrics properties (`HystrixCommandProperties`), with
/// its defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HystrixConfig {
    /// `circuitBreaker.requestVolumeThreshold`: requests a health snapshot must count before
    /// it can trip the breaker. Default 20.
    pub request_volume_threshold: u32,
    /// `circuitBreaker.errorThresholdPercentage`: trips when the snapshot's integer error
    /// percentage is at or above this. Default 50.
    pub error_threshold_percentage: u32,
    /// `circuitBreaker.sleepWindowInMilliseconds`: the trial call goes strictly after this
    /// much time since opening. Default 5 s.
    pub sleep_window: SimDuration,
    /// `metrics.rollingStats.timeInMilliseconds`: the span of a health snapshot. Default 10 s.
    pub rolling_window: SimDuration,
    /// `metrics.rollingStats.numBuckets`. Default 10. Hystrix uses it only for the rolling
    /// counters it reports: the health counts the breaker reads have their own buckets,
    /// `health_snapshot_interval` wide (`HealthCountsStream`), so this does not change
    /// any decision.
    pub buckets: u32,
    /// `metrics.healthSnapshot.intervalInMilliseconds`: the width of a health bucket and
    /// the period of the snapshots the breaker reads. At least 1 ms and at most
    /// `rolling_window`; default 500 ms.
    pub health_snapshot_interval: SimDuration,
    /// `circuitBreaker.forceOpen`: reject every call. Wins over `force_closed`. Default false.
    pub force_open: bool,
    /// `circuitBreaker.forceClosed`: admit every call whatever the health. Default false.
    pub force_closed: bool,
}

impl Default for HystrixConfig {
    fn default() -> Self {
        HystrixConfig {
            request_volume_threshold: 20,
            error_threshold_percentage: 50,
            sleep_window: SimDuration::from_secs(5),
            rolling_window: SimDuration::from_secs(10),
            buckets: 10,
            health_snapshot_interval: SimDuration::from_millis(500),
            force_open: false,
            force_closed: false,
        }
    }
}

impl HystrixConfig {
    fn validate(&self) -> Result<(), String> {
        if self.health_snapshot_interval < SimDuration::from_millis(1) {
            return Err(format!("health_snapshot_interval of at least 1ms, found {}", self.health_snapshot_interval));
        }
        if self.rolling_window < self.health_snapshot_interval {
            return Err(format!(
                "rolling_window of at least health_snapshot_interval ({}), found {}",
                self.health_snapshot_interval, self.rolling_window
            ));
        }
        if self.buckets == 0 {
            return Err("buckets of at least 1".into());
        }
        Ok(())
    }
}

/// meshsim's simple breaker. Its defaults are meshsim's own choice (no library to follow).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsecutiveConfig {
    /// Opens after this many failures in a row. At least 1; default 5.
    pub failure_threshold: u32,
    /// One trial call is let through once this much time has passed since opening
    /// (at or after). Default 30 s.
    pub recovery_timeout: SimDuration,
}

impl Default for ConsecutiveConfig {
    fn default() -> Self {
        ConsecutiveConfig { failure_threshold: 5, recovery_timeout: SimDuration::from_secs(30) }
    }
}

impl ConsecutiveConfig {
    fn validate(&self) -> Result<(), String> {
        if self.failure_threshold == 0 { Err("failure_threshold of at least 1".into()) } else { Ok(()) }
    }
}
