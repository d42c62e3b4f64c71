//! Bulkhead configurations: the flavour and its limits. The admission is done by
//! `resilience::bulkhead`.

use crate::time::SimDuration;

/// Which bulkhead, and its limits.
#[derive(Clone, Debug, PartialEq)]
pub enum BulkheadConfig {
    /// Resilience4j `SemaphoreBulkhead` (`BulkheadConfig.ofDefaults()`).
    Semaphore {
        /// `maxConcurrentCalls`: permits. Default 25.
        max_concurrent_calls: u32,
        /// `maxWaitDuration`: longest a call waits for a permit, truncated to whole
        /// milliseconds as Resilience4j does. Default 0 (reject at once).
        max_wait: SimDuration,
    },
    /// Resilience4j `FixedThreadPoolBulkhead` (`ThreadPoolBulkheadConfig`).
    ThreadPool {
        /// `maxThreadPoolSize`. Resilience4j's default is the JVM's processor count; meshsim
        /// pins a 4-processor machine so runs never depend on the host: default 4.
        max_threads: u32,
        /// `coreThreadPoolSize`. Resilience4j's default is processors - 1: default 3.
        core_threads: u32,
        /// `queueCapacity`: tasks waiting for a thread. Default 100 (0 means a handoff queue:
        /// a task is accepted only by an idle thread).
        queue_capacity: u32,
        /// `keepAliveDuration`: how long a thread beyond the core may idle before it exits.
        /// Default 20 ms.
        keep_alive: SimDuration,
    },
    /// Envoy cluster circuit breakers (`CircuitBreakers.Thresholds`, default priority).
    EnvoyPool {
        /// `max_connections`. Default 1024.
        max_connections: u32,
        /// `max_pending_requests`. Default 1024.
        max_pending_requests: u32,
        /// `max_requests`. Default 1024.
        max_requests: u32,
        /// `max_retries`: retries outstanding at once. Default 3.
        max_retries: u32,
        /// Whether the upstream speaks HTTP/2 (multiplexed) rather than HTTP/1.1 (one request
        /// per connection). Default false: Envoy's default upstream protocol is HTTP/1.1.
        http2: bool,
    },
}

impl Default for BulkheadConfig {
    /// Resilience4j's semaphore bulkhead defaults: 25 concurrent calls, no waiting.
    fn default() -> Self {
        BulkheadConfig::resilience4j_semaphore()
    }
}

impl BulkheadConfig {
    /// Resilience4j `BulkheadConfig.ofDefaults()`: 25 calls, no wait.
    pub fn resilience4j_semaphore() -> Self {
        BulkheadConfig::Semaphore { max_concurrent_calls: 25, max_wait: SimDuration::ZERO }
    }

    /// Resilience4j `ThreadPoolBulkheadConfig.ofDefaults()` on a 4-processor machine.
    pub fn resilience4j_thread_pool() -> Self {
        BulkheadConfig::ThreadPool {
            max_threads: 4,
            core_threads: 3,
            queue_capacity: 100,
            keep_alive: SimDuration::from_millis(20),
        }
    }

    /// Envoy's default circuit-breaker thresholds over HTTP/1.1.
    pub fn envoy_circuit_breakers() -> Self {
        BulkheadConfig::EnvoyPool {
            max_connections: 1024,
            max_pending_requests: 1024,
            max_requests: 1024,
            max_retries: 3,
            http2: false,
        }
    }
}
