//! The invariant checker over generated scenarios: random topologies (a call DAG of up
//! to four services), policies (timeouts, retries with budgets, breakers, bulkheads,
//! hedging), faults and workloads, each run with the checker on. A failure shrinks to a
//! minimal scenario, written to `target/invariant-counterexample.json`, which
//! `meshsim run` replays. `MESHSIM_PROPTEST_CASES` sets the number of cases (default 24
//! in `cargo test`; try 1000 on demand).

use meshsim::checker::Checker;
use meshsim::{Hooks, RunOptions};
use proptest::prelude::*;
use serde_json::{Value, json};

fn cases() -> u32 {
    std::env::var("MESHSIM_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(24)
}

#[derive(Clone, Debug)]
struct Svc {
    replicas: u32,
    workers: u32,
    mean_ms: u32,
    error_pct: u32,
    /// Calls to later services (indices relative to this one), so the graph has no cycle.
    calls: Vec<u8>,
}

#[derive(Clone, Debug)]
struct Pol {
    timeout_ms: u32,
    attempts: u32,
    per_try_ms: Option<u32>,
    budget: u8,
    breaker: u8,
    bulkhead: Option<u32>,
    hedge: bool,
}

#[derive(Clone, Debug)]
struct Flt {
    kind: u8,
    service: u8,
    start_s: u32,
    dur_s: u32,
    amount: u32,
}

fn svc() -> impl Strategy<Value = Svc> {
    (1u32..=3, 1u32..=8, 1u32..=20, 0u32..=10, prop::collection::vec(1u8..=3, 0..=2))
        .prop_map(|(replicas, workers, mean_ms, error_pct, calls)| Svc { replicas, workers, mean_ms, error_pct, calls })
}

fn pol() -> impl Strategy<Value = Pol> {
    (
        50u32..=1000,
        1u32..=4,
        prop::option::of(10u32..=300),
        0u8..=5,
        0u8..=3,
        prop::option::of(1u32..=20),
        any::<bool>(),
    )
        .prop_map(|(timeout_ms, attempts, per_try_ms, budget, breaker, bulkhead, hedge)| Pol {
            timeout_ms,
            attempts,
            per_try_ms,
            budget,
            breaker,
            bulkhead,
            hedge,
        })
}

fn flt() -> impl Strategy<Value = Flt> {
    (0u8..=5, 0u8..=3, 1u32..=6, 1u32..=4, 1u32..=100).prop_map(|(kind, service, start_s, dur_s, amount)| Flt {
        kind,
        service,
        start_s,
        dur_s,
        amount,
    })
}

/// A valid scenario from the generated parts.
fn scenario(svcs: &[Svc], pols: &[Pol], faults: &[Flt], rate: u32, discovery: u8) -> Value {
    let n = svcs.len();
    let name = |i: usize| format!("s{i}");
    let mut services = serde_json::Map::new();
    for (i, s) in svcs.iter().enumerate() {
        let calls: Vec<Value> = s
            .calls
            .iter()
            .map(|&d| i + d as usize)
            .filter(|&j| j < n)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|j| json!({ "service": name(j), "endpoint": "e" }))
            .collect();
        services.insert(
            name(i),
            json!({ "replicas": s.replicas, "workers": s.workers, "queue": { "capacity": 50 },
                    "endpoints": { "e": { "serviceTime": { "type": "exponential", "mean": format!("{}ms", s.mean_ms) },
                                          "errorRate": s.error_pct as f64 / 100.0, "calls": calls } } }),
        );
    }
    let overrides: Vec<Value> = pols
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, p)| {
            let mut o = json!({ "destination": name(i), "timeout": format!("{}ms", p.timeout_ms) });
            if p.hedge && p.attempts > 1 {
                o["hedging"] = json!({ "maxAttempts": p.attempts, "hedgingDelay": "5ms" });
            } else if p.attempts > 1 {
                let mut r =
                    json!({ "maxAttempts": p.attempts, "retryOn": ["5xx", "timeout", "reset", "connect-failure"] });
                if let Some(t) = p.per_try_ms {
                    r["perTryTimeout"] = json!(format!("{t}ms"));
                }
                r["budget"] = match p.budget {
                    1 => json!({ "type": "ratio", "retryRatio": 0.2 }),
                    2 => json!({ "type": "envoy-max-retries", "maxRetries": 2 }),
                    3 => json!({ "type": "envoy", "budgetPercent": 20, "minRetryConcurrency": 2 }),
                    4 => json!({ "type": "grpc", "maxTokens": 10, "tokenRatio": 0.1 }),
                    5 => json!({ "type": "aws", "capacity": 50, "retryCost": 5, "timeoutRetryCost": 10 }),
                    _ => Value::Null,
                };
                if r["budget"].is_null() {
                    r.as_object_mut().unwrap().remove("budget");
                }
                o["retry"] = r;
            }
            match p.breaker {
                1 => {
                    o["circuitBreaker"] = json!({ "slidingWindowSize": 20, "minimumNumberOfCalls": 5,
                        "waitDurationInOpenState": "1s", "permittedNumberOfCallsInHalfOpenState": 2 })
                }
                2 => {
                    o["circuitBreaker"] = json!({ "semantics": "hystrix", "requestVolumeThreshold": 5,
                        "sleepWindow": "1s" })
                }
                3 => o["circuitBreaker"] = json!({ "semantics": "consecutive", "failureThreshold": 3 }),
                _ => {}
            }
            if let Some(b) = p.bulkhead {
                o["bulkhead"] = json!({ "type": "semaphore", "maxConcurrentCalls": b });
            }
            o
        })
        .collect();
    let faults: Vec<Value> = faults
        .iter()
        .map(|f| {
            let target = json!({ "service": name(f.service as usize % n) });
            let (start, duration) = (format!("{}s", f.start_s), format!("{}s", f.dur_s));
            match f.kind {
                0 => json!({ "kind": "crash", "target": target, "start": start, "duration": duration }),
                1 => json!({ "kind": "error", "target": target, "start": start, "duration": duration, "percent": f.amount }),
                2 => json!({ "kind": "latency", "target": target, "start": start, "duration": duration,
                             "delay": format!("{}ms", f.amount * 5) }),
                3 => json!({ "kind": "slowdown", "target": target, "start": start, "duration": duration,
                             "factor": 1.0 + f.amount as f64 / 20.0 }),
                4 => json!({ "kind": "crash", "mode": "hang", "target": target, "start": start, "duration": duration }),
                _ => json!({ "kind": "error", "call": { "to": name(f.service as usize % n) }, "start": start,
                             "duration": duration, "percent": f.amount }),
            }
        })
        .collect();
    // Ideal discovery, or cached client-side views of a registry (Consul's TTL, or a
    // Kubernetes-style registrar) refreshed every second.
    let discovery = match discovery {
        1 => json!({ "mode": "client", "refreshInterval": "1s", "refreshJitter": "200ms",
                     "registry": { "type": "consul", "ttl": "3s", "heartbeatInterval": "1s" } }),
        2 => json!({ "mode": "server", "refreshInterval": "1s", "registry": { "type": "registrar" } }),
        _ => json!({ "mode": "ideal" }),
    };
    json!({
        "name": "generated",
        "seed": 1,
        "discovery": discovery,
        "run": { "duration": "10s", "drainTimeout": "30s" },
        "metrics": { "interval": "1s" },
        "gateway": { "routes": [ { "name": "r", "destination": { "service": "s0", "endpoint": "e" } } ] },
        "services": services,
        "policies": { "default": { "deadlinePropagation": true }, "overrides": overrides },
        "faults": faults,
        "workload": { "arrivals": { "process": "poisson", "rate": rate }, "mix": [ { "route": "r", "weight": 1 } ] }
    })
}

/// Runs a scenario with the checker on; the violations, described.
fn violations(v: &Value) -> Vec<String> {
    let sc = meshsim::load_str(&v.to_string(), "generated.json").unwrap_or_else(|e| panic!("generated: {e}\n{v:#}"));
    let mut checker = Checker::new();
    // One request in ten traced, so that the checker sees span trees.
    let opts = RunOptions { trace_sampling: Some(0.1), ..RunOptions::default() };
    meshsim::run(&sc, &opts, Hooks { checker: Some(&mut checker), ..Hooks::default() }).expect("a generated run ends");
    checker.violations.iter().map(|x| format!("{} at {}: {}", x.property, x.at, x.detail)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_meshes_keep_every_invariant(
        svcs in prop::collection::vec(svc(), 1..=4),
        pols in prop::collection::vec(pol(), 4),
        faults in prop::collection::vec(flt(), 0..=3),
        rate in 20u32..=400,
        discovery in 0u8..=2,
    ) {
        let v = scenario(&svcs, &pols, &faults, rate, discovery);
        let found = violations(&v);
        if !found.is_empty() {
            // Each failing case overwrites it: after shrinking, the minimal one is left.
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/invariant-counterexample.json");
            let _ = std::fs::write(&path, format!("{v:#}\n"));
        }
        prop_assert!(found.is_empty(), "{} (scenario in target/invariant-counterexample.json)", found.join("; "));
    }
}

#[test]
fn the_checker_catches_a_breaker_that_admits_while_open() {
    // Feed the checker an event stream a broken breaker would produce.
    use meshsim::checker::Obs;
    use meshsim::resilience::breaker::BreakerState;
    let mut c = Checker::new();
    c.observe(Obs::BreakerState { proxy: 0, unit: 0, to: BreakerState::Open, permits: 2 });
    c.observe(Obs::BreakerAdmit { proxy: 0, unit: 0 });
    c.observe(Obs::BreakerState { proxy: 0, unit: 0, to: BreakerState::HalfOpen, permits: 2 });
    c.observe(Obs::BreakerAdmit { proxy: 0, unit: 0 });
    c.observe(Obs::BreakerAdmit { proxy: 0, unit: 0 });
    c.observe(Obs::BreakerRelease { proxy: 0, unit: 0 });
    c.observe(Obs::BreakerAdmit { proxy: 0, unit: 0 });
    assert_eq!(c.violation_count, 1, "{:?}", c.violations);
    c.observe(Obs::BreakerAdmit { proxy: 0, unit: 0 });
    let props: Vec<_> = c.violations.iter().map(|v| v.property).collect();
    assert_eq!(props, ["breaker-open-admission", "breaker-half-open-permits"]);
}

#[test]
fn the_checker_catches_too_many_attempts_retries_and_bulkhead_calls() {
    use meshsim::checker::Obs;
    let mut c = Checker::new();
    for n in 1..=3 {
        c.observe(Obs::Attempt { call: 7, n, max: 2 });
    }
    c.observe(Obs::CallEnded(7));
    c.observe(Obs::Attempt { call: 7, n: 1, max: 2 });
    for _ in 0..3 {
        c.observe(Obs::RetryStart { proxy: 1, limit: 2, after_timeout: false });
    }
    c.observe(Obs::BulkheadEnter { proxy: 1, limit: 1 });
    c.observe(Obs::BulkheadLeave { proxy: 1 });
    c.observe(Obs::BulkheadEnter { proxy: 1, limit: 1 });
    c.observe(Obs::BulkheadEnter { proxy: 1, limit: 1 });
    c.observe(Obs::RequestEnded(3));
    let props: Vec<_> = c.violations.iter().map(|v| v.property).collect();
    assert_eq!(props, ["max-attempts", "retry-budget", "bulkhead-limit", "one-terminal-outcome"]);
}

#[test]
fn user_invariants_are_judged_by_run_and_check() {
    let path = crate::common::scenario_path("retry-storm");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["invariants"] = json!(["retry_amplification<=2 during faults", "*:availability>=50% outside faults"]);
    let dir = crate::common::temp_dir("user-invariants");
    let file = dir.join("storm.json");
    std::fs::write(&file, v.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meshsim"))
        .args(["check", file.to_str().unwrap(), "--seeds", "2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("invariant \"retry_amplification<=2 during faults\" broken: window"), "{text}");
    assert!(text.contains("api->db"), "{text}");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_meshsim"))
        .args(["run", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(s["invariants"][0]["holds"], false);
    // Outside faults the storm keeps availability low too (it outlives the drop).
    assert_eq!(s["invariants"][1]["holds"], false);
    // The budgeted storm keeps both.
    let path = crate::common::scenario_path("retry-storm-budget");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["invariants"] = json!(["retry_amplification<=2 during faults"]);
    std::fs::write(&file, v.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meshsim"))
        .args(["check", file.to_str().unwrap(), "--seeds", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn the_checker_recounts_grpc_aws_and_ratio_budgets() {
    use meshsim::checker::Obs;
    use meshsim::resilience::budget::BudgetConfig;
    let mut c = Checker::new();
    c.expect_budgets(&[
        Some(BudgetConfig::GrpcThrottle { max_tokens: 4, token_ratio: 0.5 }),
        Some(BudgetConfig::AwsQuota { capacity: 12, retry_cost: 5, timeout_retry_cost: 10, success_refill: 1 }),
        Some(BudgetConfig::Ratio {
            retry_ratio: 0.5,
            min_retries_per_sec: 0,
            ttl: meshsim::time::SimDuration::from_secs(10),
        }),
    ]);
    // gRPC: 4 tokens, threshold 2. Two failures leave 2.0: not above half, no retry allowed.
    c.observe(Obs::RetryStart { proxy: 0, limit: u32::MAX, after_timeout: false });
    for _ in 0..2 {
        c.observe(Obs::BudgetResult { proxy: 0, success: false, first: true, charged_timeout: None });
    }
    assert_eq!(c.violation_count, 0, "{:?}", c.violations);
    c.observe(Obs::RetryStart { proxy: 0, limit: u32::MAX, after_timeout: false });
    assert_eq!(c.violation_count, 1);
    // A success adds 0.5: 2.5 > 2, allowed again.
    c.observe(Obs::BudgetResult { proxy: 0, success: true, first: true, charged_timeout: None });
    c.observe(Obs::RetryStart { proxy: 0, limit: u32::MAX, after_timeout: false });
    assert_eq!(c.violation_count, 1);
    // AWS: 12 in the quota; a timeout retry takes 10, a plain one would need 5 of the 2 left.
    c.observe(Obs::RetryStart { proxy: 1, limit: u32::MAX, after_timeout: true });
    c.observe(Obs::RetryStart { proxy: 1, limit: u32::MAX, after_timeout: false });
    assert_eq!(c.violation_count, 2);
    // The timeout retry succeeds: its 10 come back (12 in all), so 5 can be taken.
    c.observe(Obs::BudgetResult { proxy: 1, success: true, first: false, charged_timeout: Some(true) });
    c.observe(Obs::RetryStart { proxy: 1, limit: u32::MAX, after_timeout: false });
    assert_eq!(c.violation_count, 2);
    // Ratio 0.5 (each retry withdraws 2, each request deposits 1), no reserve: 4 requests
    // pay for 2 retries, not 3.
    for _ in 0..4 {
        c.observe(Obs::BudgetRequest { proxy: 2 });
    }
    for _ in 0..2 {
        c.observe(Obs::RetryStart { proxy: 2, limit: u32::MAX, after_timeout: false });
    }
    assert_eq!(c.violation_count, 2);
    c.observe(Obs::RetryStart { proxy: 2, limit: u32::MAX, after_timeout: false });
    let props: Vec<_> = c.violations.iter().map(|v| v.property).collect();
    assert_eq!(props, ["retry-budget"; 3]);
}

#[test]
fn the_checker_catches_calls_outside_every_view_and_broken_span_trees() {
    use meshsim::checker::Obs;
    let mut c = Checker::new();
    c.observe(Obs::ViewChanged { view: 0, instance: 3, visible: true });
    c.observe(Obs::ViewChanged { view: 1, instance: 3, visible: true });
    c.observe(Obs::ViewChanged { view: 0, instance: 3, visible: false });
    // One view still holds instance 3; none ever held 4; an ideal proxy sent to a stopped one.
    c.observe(Obs::Sent { instance: 3, cached: true, routable: false });
    c.observe(Obs::Sent { instance: 4, cached: true, routable: true });
    c.observe(Obs::Sent { instance: 5, cached: false, routable: false });
    c.observe(Obs::Sent { instance: 5, cached: false, routable: true });
    c.observe(Obs::ViewChanged { view: 1, instance: 3, visible: false });
    c.observe(Obs::Sent { instance: 3, cached: true, routable: true });
    assert_eq!(c.violations.iter().filter(|v| v.property == "view-excluded-send").count(), 3, "{:?}", c.violations);
    // Span trees: a root, a child in its trace; then a child in another trace, an unknown
    // parent, a second start of one id, an end twice, an end of a span never started.
    c.observe(Obs::SpanStart { trace: 1, id: 10, parent: 0 });
    c.observe(Obs::SpanStart { trace: 1, id: 11, parent: 10 });
    c.observe(Obs::SpanEnd { id: 11 });
    c.observe(Obs::SpanEnd { id: 10 });
    assert_eq!(c.violation_count, 3);
    c.observe(Obs::SpanStart { trace: 2, id: 12, parent: 10 });
    c.observe(Obs::SpanStart { trace: 1, id: 13, parent: 99 });
    c.observe(Obs::SpanStart { trace: 1, id: 11, parent: 10 });
    c.observe(Obs::SpanEnd { id: 10 });
    c.observe(Obs::SpanEnd { id: 98 });
    let spans: Vec<_> = c.violations.iter().filter(|v| v.property == "span-tree").map(|v| v.detail.clone()).collect();
    assert_eq!(spans.len(), 5, "{spans:?}");
}

#[test]
fn a_check_run_with_client_views_and_traces_finds_nothing_wrong() {
    // The bundled crash under stale client-side views, traced at 20 %, checked: calls go
    // only to instances some view holds, span trees hold, budgets hold.
    let sc = meshsim::load_file(&crate::common::scenario_path("instance-crash")).unwrap();
    let mut checker = Checker::new();
    let opts = RunOptions {
        trace_sampling: Some(0.2),
        duration: Some(meshsim::time::SimDuration::from_secs(60)),
        ..RunOptions::default()
    };
    let r = meshsim::run(&sc, &opts, Hooks { checker: Some(&mut checker), ..Hooks::default() }).unwrap();
    assert!(r.requests > 10_000);
    assert_eq!(checker.violation_count, 0, "{:?}", checker.violations);
}

#[test]
fn a_closed_stdout_ends_check_quietly_without_a_panic() {
    // `meshsim check FILE | head -1`: the reader goes away before meshsim prints.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meshsim"))
        .args(["check", crate::common::scenario_path("mm1").to_str().unwrap(), "--seeds", "3"])
        .args(["--duration", "5s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "a panic's exit code");
}
