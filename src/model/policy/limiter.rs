//! Rate-limiter configurations: the flavour and its parameters. The permits are handed out
//! by `resilience::limiter`.

use crate::time::SimDuration;

/// Which rate limiter, and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum LimiterConfig {
    /// A token bucket with continuous refill (Bucket4j greedy refill). It has no reference
    /// defaults: a scenario gives `capacity` and `refill_per_sec` (see
    /// [`LimiterConfig::token_bucket`]).
    TokenBucket {
        /// Most tokens the bucket holds; the bucket starts full. No default; must be at least 1
        /// for any call to pass.
        capacity: f64,
        /// Tokens added per second, continuously. No default; zero means no refill.
        refill_per_sec: f64,
        /// Longest a call may wait for its token; zero (the default) denies at once.
        max_wait: SimDuration,
    },
    /// Resilience4j's `AtomicRateLimiter` (`RateLimiterConfig.ofDefaults()`).
    Resilience4j {
        /// `limitForPeriod`: permissions per cycle. Default 50.
        limit_for_period: u32,
        /// `limitRefreshPeriod`: the cycle length. Default 500 ns (yes, nanoseconds: that is
        /// Resilience4j's default, 10^8 permissions per second).
        limit_refresh_period: SimDuration,
        /// `timeoutDuration`: longest a call may wait for its permission. Default 5 s.
        timeout: SimDuration,
    },
}

impl Default for LimiterConfig {
    /// Resilience4j's defaults: 50 permissions every 500 ns, a 5 s timeout.
    fn default() -> Self {
        LimiterConfig::Resilience4j {
            limit_for_period: 50,
            limit_refresh_period: SimDuration::from_nanos(500),
            timeout: SimDuration::from_secs(5),
        }
    }
}

impl LimiterConfig {
    /// A token bucket that denies at once (`max_wait` 0).
    pub fn token_bucket(capacity: f64, refill_per_sec: f64) -> Self {
        LimiterConfig::TokenBucket { capacity, refill_per_sec, max_wait: SimDuration::ZERO }
    }
}
