//! Retry-budget configurations: the flavour and its parameters. The counting is done by
//! `resilience::budget`.

use crate::time::SimDuration;

/// A retry budget and its parameters; defaults are in each variant's docs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BudgetConfig {
    /// Every retry is allowed.
    Unlimited,
    /// Finagle / Linkerd / tower `TpsBudget`: each original request deposits, each retry
    /// withdraws `1 / retry_ratio` deposits; a reserve of `min_retries_per_sec * ttl`
    /// retries is always there; deposits and withdrawals expire after about `ttl` (ten
    /// buckets of `ttl / 10`). Defaults: ratio 0.2, 10 retries/s, ttl 10 s. Follows tower:
    /// for a ratio up to 1 a deposit is 1 and a withdrawal `(1 / ratio) as isize` in `f32`
    /// (so 0.3 withdraws 3, allowing one retry per 3 requests); above 1, 1000 and
    /// `(1000 / ratio) as isize`; for 0, 0 and 1. The reserve counts whole ttl seconds.
    Ratio { retry_ratio: f64, min_retries_per_sec: u32, ttl: SimDuration },
    /// Envoy `retry_budget`: retries in flight < `max(budget_percent % of active + pending
    /// requests, min_retry_concurrency)`, the percentage truncated to a whole number.
    /// Defaults: 20 %, 3. When set it replaces the `max_retries` circuit breaker.
    EnvoyBudget { budget_percent: f64, min_retry_concurrency: u32 },
    /// Envoy's `max_retries` circuit breaker: retries in flight < `max_retries` (default 3).
    EnvoyMaxRetries { max_retries: u32 },
    /// gRPC retry throttling (gRFC A6): `token_count` starts at `max_tokens` and stays in
    /// `[0, max_tokens]`; a failure takes 1, a success adds `token_ratio`; a retry is
    /// allowed only while `token_count > max_tokens / 2`. Kept in thousandths of a token,
    /// as grpc-java does: `token_ratio` beyond 3 decimal places is dropped. No defaults
    /// (both are required); A6's example is 10 and 0.1. `max_tokens` is in (0, 1000].
    GrpcThrottle { max_tokens: u32, token_ratio: f64 },
    /// AWS SDK standard retry mode (aws-sdk-go-v2 `retry.Standard` and `ratelimit`, Java
    /// `TokenBucketRetryCondition`): a retry takes `retry_cost` from the quota
    /// (`timeout_retry_cost` after a timeout) and is refused when the quota holds less; a
    /// successful first attempt adds `success_refill`, a successful retry gives back what
    /// it took; the quota never exceeds `capacity`. Defaults: 500, 5, 10, 1.
    AwsQuota { capacity: u32, retry_cost: u32, timeout_retry_cost: u32, success_refill: u32 },
}

impl BudgetConfig {
    /// Finagle / Linkerd / tower defaults: ratio 0.2, 10 retries/s, ttl 10 s.
    pub fn ratio_default() -> Self {
        BudgetConfig::Ratio { retry_ratio: 0.2, min_retries_per_sec: 10, ttl: SimDuration::from_secs(10) }
    }

    /// Envoy's retry budget defaults: 20 %, 3.
    pub fn envoy_budget_default() -> Self {
        BudgetConfig::EnvoyBudget { budget_percent: 20.0, min_retry_concurrency: 3 }
    }

    /// Envoy's `max_retries` circuit-breaker default: 3.
    pub fn envoy_max_retries_default() -> Self {
        BudgetConfig::EnvoyMaxRetries { max_retries: 3 }
    }

    /// The AWS SDK standard retry mode defaults: quota 500, cost 5, timeout cost 10, refill 1.
    pub fn aws_default() -> Self {
        BudgetConfig::AwsQuota { capacity: 500, retry_cost: 5, timeout_retry_cost: 10, success_refill: 1 }
    }

    /// Checks the parameters the way the named implementation does.
    ///
    /// # Errors
    /// A message naming the field and what was expected.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            BudgetConfig::Ratio { retry_ratio, min_retries_per_sec, ttl } => {
                // tower's (and Finagle's) assertions.
                if ttl < SimDuration::from_secs(1) || ttl > SimDuration::from_secs(60) {
                    return Err(format!("ttl must be between 1s and 60s, found {ttl}"));
                }
                if !(0.0..=1000.0).contains(&retry_ratio) {
                    return Err(format!("retryRatio must be within [0, 1000], found {retry_ratio}"));
                }
                if min_retries_per_sec >= i32::MAX as u32 {
                    return Err(format!("minRetriesPerSecond must be below 2^31 - 1, found {min_retries_per_sec}"));
                }
                Ok(())
            }
            BudgetConfig::EnvoyBudget { budget_percent, .. } => {
                if !(0.0..=100.0).contains(&budget_percent) {
                    return Err(format!("budget_percent must be within [0, 100], found {budget_percent}"));
                }
                Ok(())
            }
            BudgetConfig::GrpcThrottle { max_tokens, token_ratio } => {
                if !(1..=1000).contains(&max_tokens) {
                    return Err(format!("maxTokens must be in (0, 1000], found {max_tokens}"));
                }
                if !(token_ratio.is_finite() && token_ratio > 0.0) {
                    return Err(format!("tokenRatio must be a number above 0, found {token_ratio}"));
                }
                if thousandths(token_ratio) > u64::from(u32::MAX) {
                    return Err(format!("tokenRatio is too large, found {token_ratio}"));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// `x` in thousandths, dropping digits beyond the third decimal place (gRFC A6). A value
/// within a millionth of a whole number of thousandths is taken as that number, so that
/// 0.29 (0.28999... in binary) is 290, not 289.
pub fn thousandths(x: f64) -> u64 {
    let scaled = x * 1000.0;
    if (scaled - scaled.round()).abs() < 1e-6 { scaled.round() as u64 } else { scaled.floor() as u64 }
}
