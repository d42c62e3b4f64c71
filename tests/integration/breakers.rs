//! Circuit breakers in the proxy, end to end: they open under a dependency's outage,
//! fail calls fast while open, probe in half-open, close after it, and log every
//! transition.

use crate::common::{f, load_edited, run_all};
use meshsim::RunOptions;
use serde_json::{Value, json};

/// The gateway calls front, front calls back; back fails every request from 10 s to 20 s.
fn outage(breaker: Value) -> meshsim::Scenario {
    load_edited("mmc", |v| {
        v["services"] = json!({
            "front": { "workers": 16, "endpoints": { "work": {
                "serviceTime": "1ms",
                "calls": [ { "service": "back", "endpoint": "work" } ]
            } } },
            "back": { "replicas": 2, "workers": 8, "endpoints": { "work": { "serviceTime": { "type": "exponential", "mean": "5ms" } } } }
        });
        v["gateway"]["routes"][0]["destination"] = json!({ "service": "front", "endpoint": "work" });
        v["workload"]["arrivals"]["rate"] = json!(200);
        v["run"] = json!({ "duration": "30s" });
        v["faults"] = json!([{ "kind": "error", "target": { "service": "back" }, "start": "10s", "duration": "10s", "status": 503 }]);
        v["policies"] = json!({ "overrides": [ { "destination": "back", "circuitBreaker": breaker } ] });
    })
}

fn rows(csv_bytes: &[u8]) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_reader(csv_bytes);
    r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect()
}

#[test]
fn resilience4j_breaker_opens_in_an_outage_probes_and_closes_after() {
    let sc = outage(json!({
        "slidingWindowSize": 20, "minimumNumberOfCalls": 10, "waitDurationInOpenState": "2s",
        "permittedNumberOfCallsInHalfOpenState": 3
    }));
    let (_, s, _, tr) = run_all(&sc, &RunOptions::default());
    let t = rows(&tr);
    assert!(!t.is_empty(), "transitions are logged");
    // The first transition is CLOSED -> OPEN just after the outage starts (10 failures).
    assert_eq!((t[0][5].as_str(), t[0][6].as_str()), ("CLOSED", "OPEN"));
    let first: f64 = t[0][0].parse().unwrap();
    assert!((10.0..10.2).contains(&first), "opened at {first} s");
    assert!(t[0][7].starts_with("failure-rate"), "cause {}", t[0][7]);
    // During the outage it keeps probing: OPEN -> HALF_OPEN -> OPEN, about every 2 s.
    let reopen = t.iter().filter(|r| r[5] == "HALF_OPEN" && r[6] == "OPEN").count();
    assert!((3..=5).contains(&reopen), "half-open probes that failed: {reopen}");
    // After the outage the probes succeed and it closes, and stays closed.
    let last = t.last().unwrap();
    assert_eq!((last[5].as_str(), last[6].as_str()), ("HALF_OPEN", "CLOSED"));
    let closed_at: f64 = last[0].parse().unwrap();
    assert!((20.0..22.2).contains(&closed_at), "closed at {closed_at} s");
    // While open, calls fail fast: most outage calls never reach back.
    let fast = f(&s, "services.back.requests.short_circuited");
    assert!(fast > 1_500.0, "short-circuited calls: {fast}");
    assert_eq!(f(&s, "services.back.calls.breaker_opens"), 1.0 + reopen as f64);
    let back_errors = f(&s, "services.back.requests.error");
    assert!(back_errors < 100.0, "calls that reached the failing back: {back_errors}");
}

#[test]
fn a_forced_open_breaker_never_sends() {
    let sc = outage(json!({ "state": "FORCED_OPEN" }));
    let (_, s, _, _) = run_all(&sc, &RunOptions::default());
    assert_eq!(f(&s, "services.back.server.arrivals"), 0.0);
    assert_eq!(f(&s, "services.back.requests.short_circuited"), f(&s, "requests.total"));
}

#[test]
fn hystrix_breaker_trips_on_its_snapshot_and_sends_one_trial() {
    let sc = outage(json!({ "semantics": "hystrix", "sleepWindow": "1s" }));
    let (_, s, _, tr) = run_all(&sc, &RunOptions::default());
    let t = rows(&tr);
    assert_eq!((t[0][5].as_str(), t[0][6].as_str()), ("CLOSED", "OPEN"));
    // Hystrix judges the last 10 s (from 500 ms snapshots): failures outnumber the
    // successes of the quiet seconds only about 5 s into the outage (error % >= 50).
    let first: f64 = t[0][0].parse().unwrap();
    assert!((14.9..16.1).contains(&first), "opened at {first} s");
    // Each failed trial reopens it; one trial per ~1 s sleep window until the outage
    // ends, then a trial succeeds and closes it.
    let trials = t.iter().filter(|r| r[5] == "HALF_OPEN").count();
    assert!((3..=7).contains(&trials), "trials {trials}");
    let last = t.last().unwrap();
    assert_eq!((last[5].as_str(), last[6].as_str()), ("HALF_OPEN", "CLOSED"));
    assert!(f(&s, "services.back.requests.short_circuited") > 500.0);
}

#[test]
fn consecutive_failures_breaker_per_instance_isolates_the_bad_one() {
    // Only back-1 fails; per-instance breakers open for it alone.
    let sc = load_edited("mmc", |v| {
        v["services"] = json!({
            "front": { "workers": 16, "endpoints": { "work": { "serviceTime": "1ms",
                "calls": [ { "service": "back", "endpoint": "work" } ] } } },
            "back": { "replicas": 2, "workers": 8, "endpoints": { "work": { "serviceTime": "2ms" } } }
        });
        v["gateway"]["routes"][0]["destination"] = json!({ "service": "front", "endpoint": "work" });
        v["workload"]["arrivals"]["rate"] = json!(200);
        v["run"] = json!({ "duration": "20s" });
        v["faults"] = json!([{ "kind": "error", "target": { "service": "back", "instances": [1] }, "start": "0s" }]);
        v["policies"] = json!({ "overrides": [ { "destination": "back", "circuitBreaker": {
            "semantics": "consecutive", "scope": "instance", "failureThreshold": 3, "recoveryTimeout": "5s" } } ] });
    });
    let (_, s, _, tr) = run_all(&sc, &RunOptions::default());
    let t = rows(&tr);
    assert!(t.iter().all(|r| r[4] == "back-1"), "only back-1's breaker moves");
    assert!(f(&s, "instances.back-0.arrivals") > 5.0 * f(&s, "instances.back-1.arrivals"));
}
