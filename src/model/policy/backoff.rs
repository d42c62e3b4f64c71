//! Retry backoff configurations: the formula each flavour follows and its parameters.
//! The delays themselves are drawn by `resilience::backoff`.

use crate::time::SimDuration;

/// Resilience4j's default interval (`IntervalFunction.DEFAULT_INITIAL_INTERVAL`).
pub const RESILIENCE4J_INTERVAL: SimDuration = SimDuration::from_millis(500);

/// Resilience4j's default randomization factor.
pub const RESILIENCE4J_RANDOMIZATION_FACTOR: f64 = 0.5;

/// Resilience4j's default multiplier for its exponential interval functions.
pub const RESILIENCE4J_MULTIPLIER: f64 = 1.5;

/// Envoy's default base interval (`upstream.base_retry_backoff_ms`).
pub const ENVOY_BASE: SimDuration = SimDuration::from_millis(25);

/// A backoff formula. `b` is the base, `c` the cap, `n` the retry number (from 1), `U(x, y)`
/// a uniform draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BackoffConfig {
    /// Retry at once: 0.
    None,
    /// `b` every time.
    Constant { base: SimDuration },
    /// `b * n`.
    Linear { base: SimDuration },
    /// `min(c, b * fib(n))` with fib = 1, 1, 2, 3, 5, 8, ... (the mathematical sequence, as
    /// Python's `backoff.fibo`; sethvargo/go-retry starts 1, 2, 3, 5 instead).
    Fibonacci { base: SimDuration, cap: SimDuration },
    /// `min(c, b * m^(n-1))`, truncated to whole nanoseconds.
    Exponential { base: SimDuration, multiplier: f64, cap: SimDuration },
    /// AWS Architecture Blog "Full Jitter": `U(0, min(c, b * 2^n))`.
    AwsFullJitter { base: SimDuration, cap: SimDuration },
    /// AWS "Equal Jitter": `t/2 + U(0, t/2)` with `t = min(c, b * 2^n)`.
    AwsEqualJitter { base: SimDuration, cap: SimDuration },
    /// AWS "Decorrelated Jitter": `sleep = min(c, U(b, 3 * sleep))`, sleep starting at `b`.
    AwsDecorrelatedJitter { base: SimDuration, cap: SimDuration },
    /// Resilience4j `IntervalFunction.ofRandomized` (multiplier 1) and
    /// `ofExponentialRandomBackoff`: the interval `i_n` starts at `interval` (whole
    /// milliseconds) and each step is `(long) (i * multiplier)`; the delay is
    /// `(long) U(i_n (1 - f), i_n (1 + f))` milliseconds, then `min(delay, cap)`: the cap
    /// applies after randomizing, as Resilience4j does. Defaults: interval 500 ms, f 0.5,
    /// multiplier 1.5 for the exponential form, no cap.
    Resilience4jRandomized {
        interval: SimDuration,
        randomization_factor: f64,
        multiplier: f64,
        cap: Option<SimDuration>,
    },
    /// Envoy's `JitteredExponentialBackOffStrategy`, in whole milliseconds: retry k waits
    /// `random() % I_k` ms, i.e. `U[0, I_k)`, with `I_1 = base` and
    /// `I_{k+1} = I_k < max/2 ? 2 I_k : max`. Defaults: base 25 ms, max 10 x base. The base
    /// is truncated to whole milliseconds (at least 1), the max likewise (at least the base).
    Envoy { base: SimDuration, max: SimDuration },
    /// gRPC (gRFC A6 as revised in 2024, grpc-go `shouldRetry`):
    /// `min(initial * multiplier^(n-1), max) * U(0.8, 1.2)`, truncated to nanoseconds. The
    /// jitter applies after the cap, so a delay can reach 1.2 x max. gRPC has no defaults
    /// (all three fields are required); its example is 0.1 s, 2, 1 s.
    Grpc { initial: SimDuration, multiplier: f64, max: SimDuration },
}

impl BackoffConfig {
    /// Envoy's defaults: base 25 ms, max 250 ms.
    pub fn envoy_default() -> Self {
        BackoffConfig::Envoy { base: ENVOY_BASE, max: SimDuration(ENVOY_BASE.0 * 10) }
    }

    /// Resilience4j's `ofRandomized()`: 500 ms, factor 0.5, no growth, no cap.
    pub fn resilience4j_randomized_default() -> Self {
        BackoffConfig::Resilience4jRandomized {
            interval: RESILIENCE4J_INTERVAL,
            randomization_factor: RESILIENCE4J_RANDOMIZATION_FACTOR,
            multiplier: 1.0,
            cap: None,
        }
    }

    /// Checks the parameters the way the named implementation does.
    ///
    /// # Errors
    /// A message naming the field and what was expected.
    pub fn check(&self) -> Result<(), String> {
        let positive_finite = |name: &str, x: f64| {
            if x.is_finite() && x > 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be a finite number above 0, found {x}"))
            }
        };
        match *self {
            BackoffConfig::Exponential { multiplier, .. } => positive_finite("multiplier", multiplier),
            BackoffConfig::Resilience4jRandomized { interval, randomization_factor, multiplier, cap } => {
                if interval.0 / 1_000_000 < 1 {
                    return Err(format!("interval must be at least 1ms, found {interval}"));
                }
                if !(0.0..=1.0).contains(&randomization_factor) {
                    return Err(format!("randomizationFactor must be within [0, 1], found {randomization_factor}"));
                }
                if let Some(cap) = cap
                    && cap.0 / 1_000_000 < 1
                {
                    return Err(format!("the maximum interval must be at least 1ms, found {cap}"));
                }
                positive_finite("multiplier", multiplier)
            }
            BackoffConfig::Envoy { base, max } => {
                if base.is_zero() {
                    return Err("base_interval must be greater than zero".to_string());
                }
                if max < base {
                    return Err(format!("max_interval ({max}) must be at least base_interval ({base})"));
                }
                Ok(())
            }
            BackoffConfig::Grpc { initial, multiplier, max } => {
                if initial.is_zero() || max.is_zero() {
                    return Err("initialBackoff and maxBackoff must be greater than 0".to_string());
                }
                positive_finite("backoffMultiplier", multiplier)
            }
            _ => Ok(()),
        }
    }
}
