//! Retries, their backoffs and budgets, and hedging.

use super::cx::*;
use crate::model::*;
use crate::resilience::backoff::BackoffConfig;
use crate::resilience::budget::BudgetConfig;
use crate::scenario::raw;
use crate::time::SimDuration;

/// Attempts allowed per call at most, retries included.
pub const MAX_ATTEMPTS_MAX: u32 = 100;

/// gRPC clamps hedging's maxAttempts to 5.
pub const HEDGES_MAX: u32 = 5;

pub(super) fn hedging(cx: &mut Cx, path: &str, h: &raw::HedgingSpec) -> Option<HedgingPolicy> {
    let max_attempts = h.max_attempts.unwrap_or(2);
    if !(2..=HEDGES_MAX).contains(&max_attempts) {
        cx.err(
            format!("{path}.maxAttempts"),
            format!("from 2 to {HEDGES_MAX} attempts (gRPC's bound), found {max_attempts}"),
        );
        return None;
    }
    let non_fatal = retry_conditions(cx, &format!("{path}.nonFatal"), h.non_fatal.as_deref(), RetryOn::default());
    Some(HedgingPolicy { max_attempts, delay: h.hedging_delay.map_or(SimDuration::ZERO, |d| d.0), non_fatal })
}

/// Retry conditions by name; `default` when the list is absent.
pub(super) fn retry_conditions(cx: &mut Cx, path: &str, names: Option<&[String]>, default: RetryOn) -> RetryOn {
    let Some(list) = names else { return default };
    let mut set = RetryOn::default();
    for (i, name) in list.iter().enumerate() {
        match RetryOn::NAMES.iter().find(|(n, _)| n == name) {
            Some(&(_, c)) => set.0 |= c.0,
            None => {
                let known: Vec<&str> = RetryOn::NAMES.iter().map(|(n, _)| *n).collect();
                cx.err(
                    format!("{path}[{i}]"),
                    format!("a retry condition among {}, found \"{name}\"", known.join(", ")),
                );
            }
        }
    }
    set
}

pub(super) fn retry(cx: &mut Cx, path: &str, r: &raw::RetrySpec) -> RetryPolicy {
    let max_attempts = r.max_attempts.unwrap_or(3);
    if max_attempts == 0 || max_attempts > MAX_ATTEMPTS_MAX {
        cx.err(
            format!("{path}.maxAttempts"),
            format!("from 1 to {MAX_ATTEMPTS_MAX} attempts (the first included), found {max_attempts}"),
        );
    }
    let retry_on = retry_conditions(cx, &format!("{path}.retryOn"), r.retry_on.as_deref(), RetryOn::SERVER_ERROR);
    RetryPolicy {
        backoff: r.backoff.as_ref().map_or(BackoffConfig::None, |b| backoff(cx, &format!("{path}.backoff"), b)),
        max_attempts: max_attempts.clamp(1, MAX_ATTEMPTS_MAX),
        retry_on,
        per_try_timeout: r.per_try_timeout.map(|t| cx.positive_duration(format!("{path}.perTryTimeout"), t.0)),
        avoid_previous_hosts: r.avoid_previous_hosts.unwrap_or(false),
    }
}

/// Default cap of the capped backoffs: the AWS SDKs' 20 s maximum backoff.
pub const DEFAULT_BACKOFF_CAP: SimDuration = SimDuration::from_secs(20);

/// A retry backoff; which parameters each type takes and requires is checked when the
/// file is read, their values here.
pub(super) fn backoff(cx: &mut Cx, path: &str, b: &raw::Tagged<raw::BackoffSpec>) -> BackoffConfig {
    use raw::BackoffSpec as S;
    let d = |x: &Option<raw::Dur>, default: SimDuration| x.map_or(default, |d| d.0);
    let config = match &b.spec {
        S::None => BackoffConfig::None,
        S::Constant { base } => BackoffConfig::Constant { base: base.0 },
        S::Linear { base } => BackoffConfig::Linear { base: base.0 },
        S::Fibonacci { base, cap } => BackoffConfig::Fibonacci { base: base.0, cap: d(cap, DEFAULT_BACKOFF_CAP) },
        S::Exponential { base, multiplier, cap } => BackoffConfig::Exponential {
            base: base.0,
            multiplier: multiplier.unwrap_or(2.0),
            cap: d(cap, DEFAULT_BACKOFF_CAP),
        },
        S::AwsFullJitter { base, cap } => {
            BackoffConfig::AwsFullJitter { base: base.0, cap: d(cap, DEFAULT_BACKOFF_CAP) }
        }
        S::AwsEqualJitter { base, cap } => {
            BackoffConfig::AwsEqualJitter { base: base.0, cap: d(cap, DEFAULT_BACKOFF_CAP) }
        }
        S::AwsDecorrelatedJitter { base, cap } => {
            BackoffConfig::AwsDecorrelatedJitter { base: base.0, cap: d(cap, DEFAULT_BACKOFF_CAP) }
        }
        S::Resilience4j { interval: i, randomization_factor: r, multiplier: m, cap } => {
            match BackoffConfig::resilience4j_randomized_default() {
                BackoffConfig::Resilience4jRandomized { interval, randomization_factor, multiplier, .. } => {
                    BackoffConfig::Resilience4jRandomized {
                        interval: d(i, interval),
                        randomization_factor: r.unwrap_or(randomization_factor),
                        multiplier: m.unwrap_or(multiplier),
                        cap: cap.map(|c| c.0),
                    }
                }
                other => other,
            }
        }
        S::Envoy { base, max } => {
            let base = d(base, SimDuration::from_millis(25));
            BackoffConfig::Envoy { base, max: d(max, SimDuration(base.0.saturating_mul(10))) }
        }
        S::Grpc { initial, multiplier, max } => {
            BackoffConfig::Grpc { initial: initial.0, multiplier: *multiplier, max: max.0 }
        }
    };
    match config.check() {
        Ok(()) => config,
        Err(msg) => {
            cx.err(path.to_string(), format!("valid {} backoff parameters: {msg}", b.kind));
            BackoffConfig::None
        }
    }
}

/// A retry budget (`None` for `unlimited`); which parameters each type takes and
/// requires is checked when the file is read, their values here.
pub(super) fn budget(cx: &mut Cx, path: &str, b: &raw::Tagged<raw::BudgetSpec>) -> Option<BudgetConfig> {
    use raw::BudgetSpec as S;
    let config = match &b.spec {
        S::Unlimited => return None,
        S::Ratio { retry_ratio, min_retries_per_second, ttl } => BudgetConfig::Ratio {
            retry_ratio: retry_ratio.unwrap_or(0.2),
            min_retries_per_sec: min_retries_per_second.unwrap_or(10),
            ttl: ttl.map_or(SimDuration::from_secs(10), |d| d.0),
        },
        S::Envoy { budget_percent, min_retry_concurrency } => BudgetConfig::EnvoyBudget {
            budget_percent: budget_percent.unwrap_or(20.0),
            min_retry_concurrency: min_retry_concurrency.unwrap_or(3),
        },
        S::EnvoyMaxRetries { max_retries } => BudgetConfig::EnvoyMaxRetries { max_retries: max_retries.unwrap_or(3) },
        S::Grpc { max_tokens, token_ratio } => {
            BudgetConfig::GrpcThrottle { max_tokens: *max_tokens, token_ratio: *token_ratio }
        }
        S::Aws { capacity, retry_cost, timeout_retry_cost, success_refill } => BudgetConfig::AwsQuota {
            capacity: capacity.unwrap_or(500),
            retry_cost: retry_cost.unwrap_or(5),
            timeout_retry_cost: timeout_retry_cost.unwrap_or(10),
            success_refill: success_refill.unwrap_or(1),
        },
    };
    match config.check() {
        Ok(()) => Some(config),
        Err(msg) => {
            cx.err(path.to_string(), format!("valid {} budget parameters: {msg}", b.kind));
            None
        }
    }
}
