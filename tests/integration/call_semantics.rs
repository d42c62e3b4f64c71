//! What calls do end to end: timeouts and wasted work, loss, worker holding, fan-out,
//! optional and required dependencies, queue rejections.

use crate::common::{f, load_edited, run};
use meshsim::RunOptions;
use serde_json::{Value, json};

fn opts(n: u64) -> RunOptions {
    RunOptions { requests: Some(n), ..Default::default() }
}

/// A two-tier mesh: the gateway calls `front.work`, which calls `back.work`.
fn two_tier(edit: impl FnOnce(&mut Value)) -> meshsim::Scenario {
    load_edited("mmc", |v| {
        v["services"] = json!({
            "front": {
                "workers": 8,
                "endpoints": { "work": {
                    "serviceTime": "1ms",
                    "calls": [ { "service": "back", "endpoint": "work" } ]
                } }
            },
            "back": {
                "workers": 8,
                "endpoints": { "work": { "serviceTime": { "type": "exponential", "mean": "10ms" } } }
            }
        });
        v["gateway"]["routes"][0]["destination"] = json!({ "service": "front", "endpoint": "work" });
        v["workload"]["arrivals"]["rate"] = json!(200);
        edit(v);
    })
}

#[test]
fn timeout_fails_the_caller_while_the_callee_works_on() {
    let sc = two_tier(|v| {
        v["policies"] = json!({ "overrides": [ { "destination": "back", "timeout": "15ms" } ] });
    });
    let (r, s, _) = run(&sc, &opts(20_000));
    // P(exponential(10 ms) > ~14 ms) is about 25 %: those calls time out at front...
    let timeouts = f(&s, "services.back.requests.timeout");
    assert!((3_000.0..7_000.0).contains(&timeouts), "timeouts {timeouts}");
    // ...which fails front's request with its dependency-failure status, 500...
    assert_eq!(f(&s, "routes.work.requests.by_status.500"), timeouts);
    // ...while back finishes every job anyway: its work for timed-out calls is wasted.
    assert_eq!(f(&s, "services.back.server.completed"), 20_000.0);
    assert_eq!(f(&s, "services.back.server.wasted_jobs"), timeouts);
    assert!(f(&s, "services.back.server.wasted_work_s") > timeouts * 0.014);
    assert_eq!(r.late_responses as f64, timeouts);
    // No call outlives its timeout at the caller.
    assert!(f(&s, "services.back.latency_ms.max") <= 15.0 + 1e-9);
}

#[test]
fn lost_messages_end_calls_as_dropped() {
    // 10 % loss each way: a call survives with probability 0.81.
    let sc = two_tier(|v| v["network"] = json!({ "latency": "0s", "loss": 10 }));
    let (_, s, _) = run(&sc, &opts(20_000));
    let calls = f(&s, "services.front.requests.total");
    let dropped = f(&s, "services.front.requests.dropped");
    assert!((dropped / calls - 0.19).abs() < 0.015, "gateway → front dropped {dropped} of {calls}");
    // With a timeout, the caller learns of the loss when the timeout fires.
    let sc = two_tier(|v| {
        v["network"] = json!({ "latency": "0s", "loss": 10 });
        v["policies"] = json!({ "default": { "timeout": "2s" } });
    });
    let (_, s, _) = run(&sc, &opts(5_000));
    // front → back: back never takes 2 s, so every failed call there is a loss, labelled
    // dropped and felt after the whole timeout. (The gateway's own call to front can
    // time out: its timer started earlier than front's.)
    assert!(f(&s, "services.back.requests.dropped") > 0.0);
    assert_eq!(f(&s, "services.back.requests.timeout"), 0.0, "losses are labelled dropped");
    assert_eq!(f(&s, "services.back.latency_ms.max"), 2000.0, "a lost message costs the whole timeout");
}

#[test]
fn holding_workers_spreads_a_slow_dependency_upstream() {
    // back is slow (40 ms); front holds its worker while it waits, by default.
    let slow = |hold: bool| {
        two_tier(move |v| {
            v["services"]["back"]["endpoints"]["work"]["serviceTime"] = json!("40ms");
            v["services"]["back"]["workers"] = json!(16);
            v["services"]["front"]["holdWorkerDuringCalls"] = json!(hold);
        })
    };
    let (_, held, _) = run(&slow(true), &opts(20_000));
    let (_, freed, _) = run(&slow(false), &opts(20_000));
    // Held: each request occupies a front worker for ~41 ms: 200/s x 41 ms / 8 = ~1.0.
    let u_held = f(&held, "services.front.server.utilization");
    let u_freed = f(&freed, "services.front.server.utilization");
    assert!(u_held > 0.9, "front workers are exhausted when held: {u_held}");
    assert!(u_freed < 0.05, "front workers are free when released: {u_freed}");
    assert!(f(&held, "latency_ms.p99") > 2.0 * f(&freed, "latency_ms.p99"));
}

#[test]
fn parallel_fan_out_waits_for_the_slowest_sequence_for_the_sum() {
    let fan = |mode: &str| {
        let mode = mode.to_string();
        load_edited("mmc", move |v| {
            v["services"] = json!({
                "front": { "workers": 64, "endpoints": { "work": {
                    "serviceTime": "0s",
                    "callsMode": mode,
                    "calls": [ { "service": "a", "endpoint": "x" }, { "service": "b", "endpoint": "x" } ]
                } } },
                "a": { "workers": 64, "endpoints": { "x": { "serviceTime": "10ms" } } },
                "b": { "workers": 64, "endpoints": { "x": { "serviceTime": "30ms" } } }
            });
            v["gateway"]["routes"][0]["destination"] = json!({ "service": "front", "endpoint": "work" });
        })
    };
    let (_, par, _) = run(&fan("parallel"), &opts(2_000));
    let (_, seq, _) = run(&fan("sequence"), &opts(2_000));
    assert_eq!(f(&par, "latency_ms.max"), 30.0);
    assert_eq!(f(&par, "latency_ms.mean"), 30.0);
    assert_eq!(f(&seq, "latency_ms.mean"), 40.0);
}

#[test]
fn optional_dependencies_do_not_fail_the_caller_required_ones_do() {
    let with = |required: bool| {
        two_tier(move |v| {
            v["services"]["back"]["endpoints"]["work"]["errorRate"] = json!(50);
            v["services"]["back"]["endpoints"]["work"]["errorStatus"] = json!(503);
            v["services"]["front"]["endpoints"]["work"]["calls"][0]["required"] = json!(required);
            v["services"]["front"]["endpoints"]["work"]["dependencyFailureStatus"] = json!(502);
        })
    };
    let (_, req, _) = run(&with(true), &opts(10_000));
    let (_, opt, _) = run(&with(false), &opts(10_000));
    let back_errors = f(&req, "services.back.requests.by_status.503");
    assert!((back_errors - 5_000.0).abs() < 250.0, "{back_errors}");
    assert_eq!(f(&req, "routes.work.requests.by_status.502"), back_errors);
    assert_eq!(f(&opt, "routes.work.requests.ok"), 10_000.0);
}

#[test]
fn full_queues_reject_at_once() {
    // One worker, room for 2 waiting, offered twice its capacity.
    let sc = load_edited("mm1", |v| {
        v["services"]["station"]["queue"] = json!({ "capacity": 2 });
        v["workload"]["arrivals"]["rate"] = json!(200);
    });
    let (_, s, _) = run(&sc, &opts(20_000));
    let rejected = f(&s, "requests.rejected");
    // M/M/1/3 with rho = 2: blocking probability rho^3 (1 - rho) / (1 - rho^4) = 8/15.
    let expected = 20_000.0 * 8.0 / 15.0;
    assert!((rejected - expected).abs() / expected < 0.03, "rejected {rejected}, expected {expected}");
    assert_eq!(f(&s, "instances.station-0.rejected"), rejected);
    assert!(f(&s, "instances.station-0.queue_mean") <= 2.0);
}

#[test]
fn retries_recover_server_errors_and_amplify_load() {
    let sc = two_tier(|v| {
        v["services"]["back"]["endpoints"]["work"]["errorRate"] = json!(50);
        v["services"]["back"]["workers"] = json!(32);
        v["policies"] = json!({ "overrides": [ { "destination": "back", "retry": { "maxAttempts": 3 } } ] });
    });
    let (_, s, _) = run(&sc, &opts(20_000));
    // A call fails only if all three attempts fail: 1/8.
    let ok = f(&s, "services.back.calls.requests.ok") / 20_000.0;
    assert!((ok - 0.875).abs() < 0.01, "ok ratio {ok}");
    // Attempts per call: 1 + 1/2 + 1/4.
    let amp = f(&s, "services.back.calls.retry_amplification");
    assert!((amp - 1.75).abs() < 0.02, "amplification {amp}");
    assert_eq!(f(&s, "services.back.calls.attempts"), f(&s, "services.back.requests.total"));
    assert_eq!(f(&s, "services.back.server.completed"), f(&s, "services.back.calls.attempts"));
}

#[test]
fn client_errors_are_never_retried() {
    let sc = two_tier(|v| {
        v["services"]["back"]["endpoints"]["work"]["errorRate"] = json!(50);
        v["services"]["back"]["endpoints"]["work"]["errorStatus"] = json!(404);
        v["policies"] = json!({ "default": { "retry": { "maxAttempts": 5, "retryOn": ["5xx", "gateway-error", "retriable-4xx"] } } });
    });
    let (_, s, _) = run(&sc, &opts(5_000));
    assert_eq!(f(&s, "services.back.calls.retries"), 0.0);
    assert_eq!(f(&s, "services.back.calls.retry_amplification"), 1.0);
}

#[test]
fn the_overall_timeout_bounds_every_attempt() {
    // Per-try timeout 12 ms, up to 5 attempts, but at most 30 ms for the whole call.
    let sc = two_tier(|v| {
        v["policies"] = json!({ "overrides": [ { "destination": "back", "timeout": "30ms",
            "retry": { "maxAttempts": 5, "perTryTimeout": "12ms", "retryOn": ["timeout"] } } ] });
    });
    let (_, s, _) = run(&sc, &opts(10_000));
    assert!(f(&s, "services.back.latency_ms.max") <= 12.0 + 1e-9, "no attempt outlives its per-try timeout");
    // At most three attempts fit in 30 ms (0, 12, 24 ms); none starts after it.
    assert!(f(&s, "services.back.calls.attempts") <= 3.0 * 10_000.0);
    assert!(f(&s, "services.back.calls.retries") > 0.0);
    // P(exponential(10 ms) > 12 ms) = 0.30 per attempt, and the third attempt has 6 ms
    // left before the call's deadline.
    let timeouts = f(&s, "services.back.calls.requests.timeout") / 10_000.0;
    let expected = 0.301 * 0.301 * (-0.6f64).exp();
    assert!((timeouts - expected).abs() < 0.012, "calls timed out: {timeouts}, expected about {expected}");
}

#[test]
fn backoff_spaces_the_attempts() {
    // Every attempt fails; three attempts with 10 ms then 10 ms between them.
    let sc = two_tier(|v| {
        v["services"]["back"]["endpoints"]["work"]["errorRate"] = json!(100);
        v["services"]["back"]["endpoints"]["work"]["serviceTime"] = json!("1ms");
        v["policies"] = json!({ "overrides": [ { "destination": "back",
            "retry": { "maxAttempts": 3, "backoff": { "type": "constant", "base": "10ms" } } } ] });
    });
    let (_, s, _) = run(&sc, &opts(2_000));
    // front 1 ms + three 1 ms attempts + two 10 ms waits.
    assert!((f(&s, "latency_ms.p50") - 24.0).abs() < 0.1, "p50 {}", f(&s, "latency_ms.p50"));
    assert_eq!(f(&s, "services.back.calls.retry_amplification"), 3.0);
}

#[test]
fn a_ratio_budget_caps_retries_at_its_share_of_requests() {
    // Every attempt fails and the policy would retry twice; the tower budget allows
    // 20 % of requests plus 10 retries a second: about 0.2 x 200 + 10 = 50 retries a second
    // against 200 requests a second.
    let sc = two_tier(|v| {
        v["services"]["back"]["endpoints"]["work"]["errorRate"] = json!(100);
        v["services"]["back"]["workers"] = json!(32);
        v["policies"] = json!({ "overrides": [ { "destination": "back",
            "retry": { "maxAttempts": 3, "budget": { "type": "ratio" } } } ] });
    });
    let (_, s, _) = run(&sc, &opts(20_000));
    let amp = f(&s, "services.back.calls.retry_amplification");
    assert!(amp > 1.1 && amp < 1.4, "amplification {amp} (2.0 without a budget would be 3)");
    assert!(f(&s, "services.back.calls.retries_denied_by_budget") > 10_000.0);
}

#[test]
fn envoy_max_retries_bounds_concurrent_retries() {
    // Slow failing attempts so retries overlap: at most 1 retry in flight at a time.
    let sc = two_tier(|v| {
        v["services"]["back"]["endpoints"]["work"]["errorRate"] = json!(100);
        v["services"]["back"]["endpoints"]["work"]["serviceTime"] = json!("50ms");
        v["services"]["back"]["workers"] = json!(64);
        v["services"]["front"]["workers"] = json!(64);
        v["policies"] = json!({ "overrides": [ { "destination": "back",
            "retry": { "maxAttempts": 2, "budget": { "type": "envoy-max-retries", "maxRetries": 1 } } } ] });
    });
    let (_, s, _) = run(&sc, &opts(5_000));
    // 200 calls/s x 50 ms = 10 first attempts in flight; a single retry slot, held 50 ms
    // by each retry, allows at most 20 retries a second.
    let retries = f(&s, "services.back.calls.retries");
    let denied = f(&s, "services.back.calls.retries_denied_by_budget");
    assert!(retries > 0.0 && denied > retries, "retries {retries}, denied {denied}");
    let limit = 20.0 * f(&s, "simulated_s") + 1.0;
    assert!(retries <= limit, "one retry per 50 ms at most: {retries} > {limit}");
    assert!(retries > 0.8 * limit, "the slot stays busy: {retries} of {limit}");
}

#[test]
fn a_semaphore_bulkhead_queues_briefly_then_refuses() {
    // back takes 100 ms; front may have 2 calls to it at once and waits up to 30 ms for
    // a permit: at 200 calls/s most wait too long and fail fast as overloaded.
    let sc = two_tier(|v| {
        v["services"]["back"]["endpoints"]["work"]["serviceTime"] = json!("100ms");
        v["services"]["back"]["workers"] = json!(64);
        v["services"]["front"]["workers"] = json!(64);
        v["policies"] = json!({ "overrides": [ { "destination": "back",
            "bulkhead": { "type": "semaphore", "maxConcurrentCalls": 2, "maxWaitDuration": "30ms" } } ] });
    });
    let (_, s, _) = run(&sc, &opts(4_000));
    let sent = f(&s, "services.back.server.arrivals");
    let overloaded = f(&s, "services.back.requests.overloaded");
    assert_eq!(sent + overloaded, 4_000.0, "every call is sent or refused");
    // Two permits of 100 ms each: at most 20 calls a second reach back.
    let limit = 20.0 * f(&s, "simulated_s") + 2.0;
    assert!(sent <= limit && sent > 0.8 * limit, "sent {sent}, limit {limit}");
    // No call waits for its permit longer than 30 ms: with 1 ms at front, no request
    // takes much over 131 ms.
    assert!(f(&s, "services.back.calls.requests.ok") == sent);
    assert!(f(&s, "routes.work.latency_ms.max") < 135.0, "max {}", f(&s, "routes.work.latency_ms.max"));
    assert!(overloaded > sent, "most calls find both permits taken for over 30 ms");
}

#[test]
fn a_default_value_fallback_turns_failures_into_degraded_successes() {
    let sc = two_tier(|v| {
        v["services"]["back"]["endpoints"]["work"]["errorRate"] = json!(30);
        v["policies"] = json!({ "overrides": [ { "destination": "back", "fallback": { "type": "default-value" } } ] });
    });
    let (_, s, _) = run(&sc, &opts(10_000));
    assert_eq!(f(&s, "requests.ok"), 10_000.0);
    let fallbacks = f(&s, "services.back.calls.fallbacks");
    assert!((fallbacks - 3_000.0).abs() < 200.0, "{fallbacks}");
    // The calls' own outcomes are what back answered; the fallbacks made up the rest.
    assert_eq!(f(&s, "services.back.calls.requests.ok") + fallbacks, 10_000.0);
    assert_eq!(f(&s, "services.back.requests.error"), fallbacks, "the attempts themselves failed");
}

#[test]
fn a_cache_fallback_serves_stale_answers_until_its_ttl() {
    // back fails for good from 10 s; the last good answers may be served for 5 s.
    let sc = two_tier(|v| {
        v["run"] = json!({ "duration": "20s" });
        v["metrics"] = json!({ "interval": "1s" });
        v["faults"] = json!([{ "kind": "error", "target": { "service": "back" }, "start": "10s" }]);
        v["policies"] =
            json!({ "overrides": [ { "destination": "back", "fallback": { "type": "cache", "ttl": "5s" } } ] });
    });
    let (_, s, ts) = run(&sc, &RunOptions::default());
    let mut rows = csv::Reader::from_reader(ts.as_slice());
    let ok: Vec<(f64, f64)> = rows
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[2] == "total")
        .map(|r| (r[0].parse().unwrap(), r[5].parse::<f64>().unwrap() / r[4].parse::<f64>().unwrap().max(1.0)))
        .collect();
    for (t, share) in &ok {
        if *t < 15.0 {
            assert!(*share > 0.999, "served (fresh or from the cache) at {t} s: {share}");
        } else if *t >= 15.0 && *t < 20.0 {
            // The last good answers came just after 10 s (calls already under way).
            let limit = if *t < 16.0 { 0.02 } else { 0.0 };
            assert!(*share <= limit, "the cache is too old at {t} s: {share}");
        }
    }
    assert!(f(&s, "services.back.calls.fallbacks") > 800.0);
}

#[test]
fn a_service_fallback_calls_the_alternative() {
    let sc = two_tier(|v| {
        v["services"]["back"]["endpoints"]["work"]["errorRate"] = json!(100);
        v["services"]["spare"] = json!({ "workers": 8, "endpoints": { "static": { "serviceTime": "3ms" } } });
        v["policies"] = json!({ "overrides": [ { "destination": "back",
            "fallback": { "type": "service", "service": "spare", "endpoint": "static" } } ] });
    });
    let (_, s, _) = run(&sc, &opts(5_000));
    assert_eq!(f(&s, "requests.ok"), 5_000.0);
    assert_eq!(f(&s, "services.spare.calls.requests.ok"), 5_000.0);
    assert_eq!(f(&s, "services.back.calls.fallbacks"), 5_000.0);
}

#[test]
fn a_queue_fallback_answers_pending_and_tries_again_in_the_background() {
    // back fails 30 % of its requests on its own: a queued call is tried again 1 s later,
    // and again after each failure, 3 tries in all.
    let sc = two_tier(|v| {
        v["services"]["back"]["endpoints"]["work"]["errorRate"] = json!(30);
        v["policies"] = json!({ "overrides": [ { "destination": "back",
            "fallback": { "type": "queue", "delay": "1s", "maxRedeliveries": 3 } } ] });
    });
    let (_, s, _) = run(&sc, &opts(10_000));
    assert_eq!(f(&s, "requests.ok"), 10_000.0, "every request is answered, pending or not");
    let deferred = f(&s, "calls.front->back.deferred.total");
    assert!((deferred - 3_000.0).abs() < 200.0, "{deferred}");
    assert_eq!(f(&s, "calls.front->back.fallbacks"), deferred);
    let (ok, failed) = (f(&s, "calls.front->back.deferred.ok"), f(&s, "calls.front->back.deferred.failed"));
    assert_eq!(ok + failed, deferred, "every queued call ends (the run drains them)");
    // Three independent tries that each fail with 0.3: 2.7 % fail for good.
    let expect_failed = deferred * 0.3f64.powi(3);
    assert!((failed - expect_failed).abs() < 4.0 * expect_failed.sqrt() + 3.0, "{failed} vs {expect_failed}");
    // Calls to back: the first ones, plus every background try (a failed first try
    // leads to the next, so 1 + 0.3 + 0.09 tries per queued call).
    let calls = f(&s, "calls.front->back.requests.total");
    let tries = deferred * (1.0 + 0.3 + 0.09);
    assert!((calls - 10_000.0 - tries).abs() < 0.05 * tries, "{calls} calls, {tries} background tries expected");
}

#[test]
fn a_queue_fallback_gives_up_after_its_tries_when_the_callee_stays_down() {
    let sc = two_tier(|v| {
        v["services"]["back"]["endpoints"]["work"]["errorRate"] = json!(100);
        v["policies"] = json!({ "overrides": [ { "destination": "back",
            "fallback": { "type": "queue", "delay": "500ms", "maxRedeliveries": 4 } } ] });
    });
    let (r, s, _) = run(&sc, &opts(1_000));
    assert_eq!(f(&s, "calls.front->back.deferred.total"), 1_000.0);
    assert_eq!(f(&s, "calls.front->back.deferred.failed"), 1_000.0);
    assert_eq!(f(&s, "calls.front->back.requests.total"), 5_000.0, "one call and four background tries each");
    // The last tries start 4 x 500 ms after the last request's call failed.
    assert!(r.end.as_secs_f64() > r.arrivals_end.as_secs_f64() + 2.0);
}

#[test]
fn hedging_cuts_the_tail_and_wastes_the_losers_work() {
    // back is usually fast (2 ms) but one request in ten takes 200 ms; a hedge after
    // 10 ms almost always wins against a slow first attempt.
    let sc = |hedging: Option<Value>| {
        two_tier(move |v| {
            v["services"]["back"]["endpoints"]["work"]["serviceTime"] = json!({ "type": "empirical", "samples": ["2ms", "2ms", "2ms", "2ms", "2ms", "2ms", "2ms", "2ms", "2ms", "200ms"] });
            v["services"]["back"]["replicas"] = json!(4);
            v["services"]["back"]["workers"] = json!(32);
            if let Some(h) = hedging {
                v["policies"] = json!({ "overrides": [ { "destination": "back", "hedging": h } ] });
            }
        })
    };
    let (_, plain, _) = run(&sc(None), &opts(10_000));
    let (_, hedged, _) = run(&sc(Some(json!({ "maxAttempts": 2, "hedgingDelay": "10ms" }))), &opts(10_000));
    assert!(f(&plain, "latency_ms.p99") > 150.0);
    assert!(f(&hedged, "latency_ms.p99") < 20.0, "p99 {}", f(&hedged, "latency_ms.p99"));
    // About one call in ten needs a hedge; it wins nine times in ten (the hedge is slow too
    // one time in ten).
    let hedges = f(&hedged, "services.back.calls.hedges");
    let won = f(&hedged, "services.back.calls.hedges_won");
    assert!((hedges - 1_000.0).abs() < 150.0, "hedges {hedges}");
    assert!(won > 0.8 * hedges, "won {won} of {hedges}");
    // The losers' work goes on at back and is wasted.
    assert!(f(&hedged, "services.back.server.wasted_jobs") >= won);
    assert_eq!(f(&hedged, "services.back.calls.requests.ok"), 10_000.0);
}

#[test]
fn propagated_deadlines_stop_work_nobody_waits_for() {
    // back is overloaded (its queue grows), front calls it with a 50 ms timeout. Without
    // propagation, back serves queued requests whose caller gave up long ago; with it,
    // back skips them and spends its workers on requests that can still be answered.
    let sc = |propagate: bool| {
        two_tier(move |v| {
            v["services"]["back"]["workers"] = json!(2);
            v["services"]["front"]["workers"] = json!(64);
            v["workload"]["arrivals"]["rate"] = json!(250);
            v["run"] = json!({ "duration": "20s" });
            v["policies"] = json!({ "overrides": [ { "source": "front", "destination": "back",
                "timeout": "50ms", "deadlinePropagation": propagate } ] });
        })
    };
    let (_, plain, _) = run(&sc(false), &RunOptions::default());
    let (_, aware, _) = run(&sc(true), &RunOptions::default());
    assert_eq!(f(&plain, "services.back.server.deadline_expired"), 0.0);
    assert!(f(&plain, "services.back.server.wasted_jobs") > 1_000.0);
    let expired = f(&aware, "services.back.server.deadline_expired");
    assert!(expired > 1_000.0, "jobs skipped: {expired}");
    // Jobs that start in time can still outlive their caller, but far less work is wasted...
    assert!(f(&aware, "services.back.server.wasted_work_s") < 0.6 * f(&plain, "services.back.server.wasted_work_s"));
    // ...and it goes to requests that can still be answered: without propagation back's
    // queue holds only requests whose callers gave up, and almost nothing succeeds.
    assert!(f(&plain, "requests.ok") < 100.0);
    assert!(f(&aware, "requests.ok") > 2_000.0);
}
