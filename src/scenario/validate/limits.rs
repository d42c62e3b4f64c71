//! Capacity guards: bulkheads, rate limiters (gateway, route and service) and load
//! shedders.

use super::cx::*;
use crate::resilience::bulkhead::BulkheadConfig;
use crate::resilience::limiter::LimiterConfig;
use crate::resilience::shedder::ShedderConfig;
use crate::scenario::raw;
use crate::time::SimDuration;

/// A bulkhead; which parameters each type takes is checked when the file is read.
pub(super) fn bulkhead(cx: &mut Cx, path: &str, b: &raw::Tagged<raw::BulkheadSpec>) -> Option<BulkheadConfig> {
    use raw::BulkheadSpec as S;
    let config = match &b.spec {
        S::Semaphore { max_concurrent_calls: calls, max_wait_duration } => {
            match BulkheadConfig::resilience4j_semaphore() {
                BulkheadConfig::Semaphore { max_concurrent_calls, max_wait } => BulkheadConfig::Semaphore {
                    max_concurrent_calls: calls.unwrap_or(max_concurrent_calls),
                    max_wait: max_wait_duration.map_or(max_wait, |d| d.0),
                },
                other => other,
            }
        }
        S::ThreadPool {
            max_thread_pool_size,
            core_thread_pool_size,
            queue_capacity: capacity,
            keep_alive_duration,
        } => match BulkheadConfig::resilience4j_thread_pool() {
            BulkheadConfig::ThreadPool { max_threads, core_threads, queue_capacity, keep_alive } => {
                BulkheadConfig::ThreadPool {
                    max_threads: max_thread_pool_size.unwrap_or(max_threads),
                    core_threads: core_thread_pool_size.unwrap_or(core_threads),
                    queue_capacity: capacity.unwrap_or(queue_capacity),
                    keep_alive: keep_alive_duration.map_or(keep_alive, |d| d.0),
                }
            }
            other => other,
        },
        S::Envoy { max_connections: conns, max_pending_requests: pending, max_requests: requests, http2: h2 } => {
            match BulkheadConfig::envoy_circuit_breakers() {
                BulkheadConfig::EnvoyPool {
                    max_connections,
                    max_pending_requests,
                    max_requests,
                    max_retries,
                    http2,
                } => BulkheadConfig::EnvoyPool {
                    max_connections: conns.unwrap_or(max_connections),
                    max_pending_requests: pending.unwrap_or(max_pending_requests),
                    max_requests: requests.unwrap_or(max_requests),
                    max_retries,
                    http2: h2.unwrap_or(http2),
                },
                other => other,
            }
        }
    };
    // The libraries' own checks: a bulkhead needs at least one permit.
    let permits = match config {
        BulkheadConfig::Semaphore { max_concurrent_calls, .. } => max_concurrent_calls,
        BulkheadConfig::ThreadPool { max_threads, core_threads, .. } => {
            if core_threads == 0 {
                cx.err(format!("{path}.coreThreadPoolSize"), "at least 1 core thread, found 0");
                return None;
            }
            if core_threads > max_threads {
                cx.err(
                    format!("{path}.coreThreadPoolSize"),
                    format!("at most maxThreadPoolSize ({max_threads}) core threads, found {core_threads}"),
                );
                return None;
            }
            max_threads
        }
        BulkheadConfig::EnvoyPool { max_requests, max_connections, .. } => max_requests.min(max_connections),
    };
    if permits == 0 {
        cx.err(path.to_string(), "a bulkhead with at least one permit (thread, connection or request)");
        return None;
    }
    Some(config)
}

/// A gateway limiter: a `scope` means nothing there.
pub(super) fn gateway_limiter(cx: &mut Cx, path: &str, l: &raw::Tagged<raw::LimiterSpec>) -> Option<LimiterConfig> {
    if l.scope().is_some() {
        cx.err(format!("{path}.scope"), "no scope: the gateway's limiters are its own (scope is for services)");
        return None;
    }
    limiter(cx, path, l)
}

/// A load shedder and the status it answers with; which parameters each type takes and
/// requires is checked when the file is read.
pub(super) fn shedder(cx: &mut Cx, path: &str, l: &raw::Tagged<raw::ShedderSpec>) -> Option<(ShedderConfig, u16)> {
    use raw::ShedderSpec as S;
    let (S::QueueBound { status, .. } | S::Codel { status, .. } | S::AdaptiveCodel { status, .. }) = &l.spec;
    let status = cx.status(format!("{path}.status"), *status, 503);
    let config = match &l.spec {
        S::QueueBound { max_queue, .. } => ShedderConfig::QueueBound { max_queue: *max_queue },
        S::Codel { target, interval, .. } | S::AdaptiveCodel { target, interval, .. } => {
            let (target, interval) = (
                target.map_or(SimDuration::from_millis(5), |d| d.0),
                interval.map_or(SimDuration::from_millis(100), |d| d.0),
            );
            if target.is_zero() {
                cx.err(format!("{path}.target"), "a target delay greater than zero");
                return None;
            }
            if interval.is_zero() {
                cx.err(format!("{path}.interval"), "an interval greater than zero");
                return None;
            }
            if target > interval {
                cx.err(
                    format!("{path}.target"),
                    format!("a target no longer than the interval ({interval}), found {target}"),
                );
                return None;
            }
            if matches!(l.spec, S::Codel { .. }) {
                ShedderConfig::Codel { target, interval }
            } else {
                ShedderConfig::AdaptiveCodel { target, interval }
            }
        }
    };
    Some((config, status))
}

/// A rate limiter; which parameters each type takes and requires is checked when the
/// file is read, their values here.
pub(super) fn limiter(cx: &mut Cx, path: &str, l: &raw::Tagged<raw::LimiterSpec>) -> Option<LimiterConfig> {
    use raw::LimiterSpec as S;
    match &l.spec {
        S::TokenBucket { capacity, refill_per_second, max_wait, .. } => {
            let (capacity, rate) = (*capacity, *refill_per_second);
            if !(capacity.is_finite() && (1.0..=1e12).contains(&capacity)) {
                cx.err(format!("{path}.capacity"), format!("a bucket of 1 to 1e12 tokens, found {capacity}"));
                return None;
            }
            if !(rate.is_finite() && rate > 0.0 && rate <= 1e12) {
                cx.err(
                    format!("{path}.refillPerSecond"),
                    format!("a refill rate above 0 and at most 1e12 a second, found {rate}"),
                );
                return None;
            }
            Some(LimiterConfig::TokenBucket {
                capacity,
                refill_per_sec: rate,
                max_wait: max_wait.map_or(SimDuration::ZERO, |d| d.0),
            })
        }
        S::Resilience4j { limit_for_period: permits, limit_refresh_period: period, timeout_duration, .. } => {
            match LimiterConfig::default() {
                LimiterConfig::Resilience4j { limit_for_period, limit_refresh_period, timeout } => {
                    let config = LimiterConfig::Resilience4j {
                        limit_for_period: permits.unwrap_or(limit_for_period),
                        limit_refresh_period: period.map_or(limit_refresh_period, |d| d.0),
                        timeout: timeout_duration.map_or(timeout, |d| d.0),
                    };
                    if let LimiterConfig::Resilience4j { limit_for_period: 0, .. } = config {
                        cx.err(format!("{path}.limitForPeriod"), "at least 1 permit a period, found 0");
                        return None;
                    }
                    if let LimiterConfig::Resilience4j { limit_refresh_period, .. } = config
                        && limit_refresh_period.is_zero()
                    {
                        cx.err(format!("{path}.limitRefreshPeriod"), "a period greater than zero");
                        return None;
                    }
                    Some(config)
                }
                other => Some(other),
            }
        }
    }
}
