//! Capacity guards: bulkheads, rate limiters (gateway, route and service) and load
//! shedders.

use super::cx::*;
use crate::resilience::bulkhead::BulkheadConfig;
use crate::resilience::limiter::LimiterConfig;
use crate::resilience::shedder::ShedderConfig;
use crate::scenario::raw;
use crate::time::SimDuration;

pub(super) fn bulkhead(cx: &mut Cx, path: &str, b: &raw::BulkheadSpec) -> Option<BulkheadConfig> {
    use raw::BulkheadKind as K;
    let takes: &[&str] = match b.kind {
        K::Semaphore => &["maxConcurrentCalls", "maxWaitDuration"],
        K::ThreadPool => &["maxThreadPoolSize", "coreThreadPoolSize", "queueCapacity", "keepAliveDuration"],
        K::Envoy => &["maxConnections", "maxPendingRequests", "maxRequests", "http2"],
    };
    let present = [
        ("maxConcurrentCalls", b.max_concurrent_calls.is_some()),
        ("maxWaitDuration", b.max_wait_duration.is_some()),
        ("maxThreadPoolSize", b.max_thread_pool_size.is_some()),
        ("coreThreadPoolSize", b.core_thread_pool_size.is_some()),
        ("queueCapacity", b.queue_capacity.is_some()),
        ("keepAliveDuration", b.keep_alive_duration.is_some()),
        ("maxConnections", b.max_connections.is_some()),
        ("maxPendingRequests", b.max_pending_requests.is_some()),
        ("maxRequests", b.max_requests.is_some()),
        ("http2", b.http2.is_some()),
    ];
    if !cx.params(path, &format!("the {} bulkhead", kind_name(b.kind)), takes, &[], &present) {
        return None;
    }
    let config = match b.kind {
        K::Semaphore => match BulkheadConfig::resilience4j_semaphore() {
            BulkheadConfig::Semaphore { max_concurrent_calls, max_wait } => BulkheadConfig::Semaphore {
                max_concurrent_calls: b.max_concurrent_calls.unwrap_or(max_concurrent_calls),
                max_wait: b.max_wait_duration.map_or(max_wait, |d| d.0),
            },
            other => other,
        },
        K::ThreadPool => match BulkheadConfig::resilience4j_thread_pool() {
            BulkheadConfig::ThreadPool { max_threads, core_threads, queue_capacity, keep_alive } => {
                BulkheadConfig::ThreadPool {
                    max_threads: b.max_thread_pool_size.unwrap_or(max_threads),
                    core_threads: b.core_thread_pool_size.unwrap_or(core_threads),
                    queue_capacity: b.queue_capacity.unwrap_or(queue_capacity),
                    keep_alive: b.keep_alive_duration.map_or(keep_alive, |d| d.0),
                }
            }
            other => other,
        },
        K::Envoy => match BulkheadConfig::envoy_circuit_breakers() {
            BulkheadConfig::EnvoyPool { max_connections, max_pending_requests, max_requests, max_retries, http2 } => {
                BulkheadConfig::EnvoyPool {
                    max_connections: b.max_connections.unwrap_or(max_connections),
                    max_pending_requests: b.max_pending_requests.unwrap_or(max_pending_requests),
                    max_requests: b.max_requests.unwrap_or(max_requests),
                    max_retries,
                    http2: b.http2.unwrap_or(http2),
                }
            }
            other => other,
        },
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
pub(super) fn gateway_limiter(cx: &mut Cx, path: &str, l: &raw::LimiterSpec) -> Option<LimiterConfig> {
    if l.scope.is_some() {
        cx.err(format!("{path}.scope"), "no scope: the gateway's limiters are its own (scope is for services)");
        return None;
    }
    limiter(cx, path, l)
}

pub(super) fn shedder(cx: &mut Cx, path: &str, l: &raw::ShedderSpec) -> Option<(ShedderConfig, u16)> {
    use raw::ShedderKind as K;
    let (takes, requires, name): (&[&str], &[&str], _) = match l.kind {
        K::QueueBound => (&["maxQueue", "status"], &["maxQueue"], "queue-bound"),
        K::Codel => (&["target", "interval", "status"], &[], "codel"),
        K::AdaptiveCodel => (&["target", "interval", "status"], &[], "adaptive-codel"),
    };
    let present = [
        ("maxQueue", l.max_queue.is_some()),
        ("target", l.target.is_some()),
        ("interval", l.interval.is_some()),
        ("status", l.status.is_some()),
    ];
    if !cx.params(path, &format!("the {name} shedder"), takes, requires, &present) {
        return None;
    }
    let status = cx.status(format!("{path}.status"), l.status, 503);
    let config = match l.kind {
        K::QueueBound => ShedderConfig::QueueBound { max_queue: l.max_queue.unwrap_or(0) },
        K::Codel | K::AdaptiveCodel => {
            let (target, interval) = (
                l.target.map_or(SimDuration::from_millis(5), |d| d.0),
                l.interval.map_or(SimDuration::from_millis(100), |d| d.0),
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
            if l.kind == K::Codel {
                ShedderConfig::Codel { target, interval }
            } else {
                ShedderConfig::AdaptiveCodel { target, interval }
            }
        }
    };
    Some((config, status))
}

pub(super) fn limiter(cx: &mut Cx, path: &str, l: &raw::LimiterSpec) -> Option<LimiterConfig> {
    use raw::LimiterKind as K;
    let (takes, requires): (&[&str], &[&str]) = match l.kind {
        K::TokenBucket => (&["capacity", "refillPerSecond", "maxWait"], &["capacity", "refillPerSecond"]),
        K::Resilience4j => (&["limitForPeriod", "limitRefreshPeriod", "timeoutDuration"], &[]),
    };
    let present = [
        ("capacity", l.capacity.is_some()),
        ("refillPerSecond", l.refill_per_second.is_some()),
        ("maxWait", l.max_wait.is_some()),
        ("limitForPeriod", l.limit_for_period.is_some()),
        ("limitRefreshPeriod", l.limit_refresh_period.is_some()),
        ("timeoutDuration", l.timeout_duration.is_some()),
    ];
    if !cx.params(path, &format!("the {} limiter", kind_name(l.kind)), takes, requires, &present) {
        return None;
    }
    match l.kind {
        K::TokenBucket => {
            let (capacity, rate) = (l.capacity.unwrap_or(0.0), l.refill_per_second.unwrap_or(0.0));
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
                max_wait: l.max_wait.map_or(SimDuration::ZERO, |d| d.0),
            })
        }
        K::Resilience4j => match LimiterConfig::default() {
            LimiterConfig::Resilience4j { limit_for_period, limit_refresh_period, timeout } => {
                let config = LimiterConfig::Resilience4j {
                    limit_for_period: l.limit_for_period.unwrap_or(limit_for_period),
                    limit_refresh_period: l.limit_refresh_period.map_or(limit_refresh_period, |d| d.0),
                    timeout: l.timeout_duration.map_or(timeout, |d| d.0),
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
        },
    }
}
