//! Properties of the whole policy stack over generated policies: whatever the retry,
//! backoff, budget, breaker and bulkhead settings, calls never take more attempts than
//! allowed, every call ends in exactly one outcome, and the run accounts for every
//! request.

use crate::common::{load_edited, run};
use meshsim::RunOptions;
use proptest::prelude::*;
use serde_json::{Value, json};

fn backoff() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({ "type": "none" })),
        (1u64..50).prop_map(|b| json!({ "type": "constant", "base": format!("{b}ms") })),
        (1u64..50).prop_map(|b| json!({ "type": "aws-full-jitter", "base": format!("{b}ms"), "cap": "1s" })),
        Just(json!({ "type": "envoy" })),
        Just(json!({ "type": "grpc", "initial": "10ms", "multiplier": 2.0, "max": "200ms" })),
    ]
}

fn budget() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({ "type": "unlimited" })),
        Just(json!({ "type": "ratio" })),
        (1u32..4).prop_map(|n| json!({ "type": "envoy-max-retries", "maxRetries": n })),
        Just(json!({ "type": "grpc", "maxTokens": 10, "tokenRatio": 0.1 })),
        Just(json!({ "type": "aws" })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn attempts_stay_within_max_attempts_and_every_call_ends_once(
        error_rate in 0u32..100,
        max_attempts in 1u32..6,
        per_try_ms in prop::option::of(5u64..60),
        backoff in backoff(),
        budget in budget(),
        breaker in any::<bool>(),
        bulkhead in prop::option::of(1u32..20),
        seed in 0u64..1000,
    ) {
        let sc = load_edited("mmc", |v| {
            v["services"] = json!({
                "front": { "workers": 64, "endpoints": { "work": { "serviceTime": "1ms",
                    "calls": [ { "service": "back", "endpoint": "work" } ] } } },
                "back": { "replicas": 3, "workers": 8, "queue": { "capacity": 50 }, "endpoints": { "work": {
                    "serviceTime": { "type": "exponential", "mean": "10ms" }, "errorRate": error_rate } } }
            });
            v["gateway"]["routes"][0]["destination"] = json!({ "service": "front", "endpoint": "work" });
            v["workload"]["arrivals"]["rate"] = json!(300);
            let mut retry = json!({ "maxAttempts": max_attempts, "retryOn": ["5xx", "timeout"], "backoff": backoff, "budget": budget });
            if let Some(ms) = per_try_ms {
                retry["perTryTimeout"] = json!(format!("{ms}ms"));
            }
            let mut o = json!({ "destination": "back", "timeout": "500ms", "retry": retry });
            if breaker {
                o["circuitBreaker"] = json!({ "slidingWindowSize": 20, "minimumNumberOfCalls": 10, "waitDurationInOpenState": "200ms" });
            }
            if let Some(n) = bulkhead {
                o["bulkhead"] = json!({ "type": "semaphore", "maxConcurrentCalls": n });
            }
            v["policies"] = json!({ "overrides": [o] });
        });
        let (r, s, _) = run(&sc, &RunOptions { requests: Some(600), seed: Some(seed), ..Default::default() });
        let calls = &s["services"]["back"]["calls"];
        let n = calls["requests"]["total"].as_f64().unwrap();
        let attempts = calls["attempts"].as_f64().unwrap();
        prop_assert!(attempts <= n * f64::from(max_attempts), "{attempts} attempts for {n} calls, max {max_attempts}");
        // Attempts sent are attempts the callee's proxy recorded, and the callee saw at
        // most that many (some may still be on the wire when a call's deadline passes).
        let sent = s["services"]["back"]["requests"]["total"].as_f64().unwrap()
            - s["services"]["back"]["requests"]["short_circuited"].as_f64().unwrap()
            - s["services"]["back"]["requests"]["overloaded"].as_f64().unwrap();
        prop_assert_eq!(sent, attempts);
        // One call per request, one outcome per call, and every request answered.
        prop_assert_eq!(n, 600.0);
        prop_assert_eq!(r.total.counts.total() + r.in_flight_measured, r.requests_measured);
        prop_assert_eq!(r.in_flight_measured, 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A Finagle/Linkerd ratio budget, seen from outside: whatever the load and failure
    /// rate, retries never exceed `retryRatio` of the calls plus the reserve's
    /// `minRetriesPerSecond`, as rates. Deposits and withdrawals both expire, so a deposit
    /// can back a retry again once the withdrawal against it has expired, and tower's
    /// bucket rotation (kept faithfully) can expire buckets early when events are sparse.
    /// The bound allows for entries that live only half their ttl: over a run of `D`
    /// seconds, at most `2 * (ratio * calls + minRetriesPerSecond * (D + ttl))`. Without a
    /// budget, failures would ask for up to four retries per call.
    #[test]
    fn retries_never_exceed_a_ratio_budget(
        error_rate in 10u32..100,
        ratio_pct in 1u32..50,
        min_per_sec in 0u32..20,
        ttl_s in 1u64..10,
        rate in 100u32..800,
        seed in 0u64..1000,
    ) {
        let ratio = f64::from(ratio_pct) / 100.0;
        let sc = load_edited("mmc", |v| {
            v["services"] = json!({
                "front": { "workers": 256, "endpoints": { "work": { "serviceTime": "1ms",
                    "calls": [ { "service": "back", "endpoint": "work" } ] } } },
                "back": { "replicas": 2, "workers": 16, "endpoints": { "work": {
                    "serviceTime": { "type": "exponential", "mean": "5ms" }, "errorRate": error_rate } } }
            });
            v["gateway"]["routes"][0]["destination"] = json!({ "service": "front", "endpoint": "work" });
            v["workload"]["arrivals"]["rate"] = json!(rate);
            v["policies"] = json!({ "overrides": [ { "destination": "back", "timeout": "2s", "retry": {
                "maxAttempts": 5, "retryOn": ["5xx"],
                "budget": { "type": "ratio", "retryRatio": ratio, "minRetriesPerSecond": min_per_sec, "ttl": format!("{ttl_s}s") } } } ] });
        });
        let (_, s, _) = run(&sc, &RunOptions { duration: Some(meshsim::SimDuration::from_secs(20)), seed: Some(seed), ..Default::default() });
        let calls = &s["calls"]["front->back"];
        let n = calls["requests"]["total"].as_f64().unwrap();
        let retries = calls["retries"].as_f64().unwrap();
        let secs = s["simulated_s"].as_f64().unwrap();
        let bound = 2.0 * (ratio * n + f64::from(min_per_sec) * (secs + ttl_s as f64)) + 1.0;
        prop_assert!(retries <= bound, "{retries} retries for {n} calls: bound {bound}");
        // The budget binds whenever failures would ask for more than it holds.
        if f64::from(error_rate) / 100.0 > 2.0 * ratio + 0.1 && min_per_sec == 0 {
            prop_assert!(calls["retries_denied_by_budget"].as_f64().unwrap() > 0.0);
        }
    }
}
