//! Faults at the callers' proxies (Istio's fault.abort and fault.delay on a call path),
//! slow configuration pushes, the seeded chaos monkey, and the bundled scenarios'
//! coverage of every fault kind.

use crate::common::{f, load, load_edited, run, scenario_json, scenario_path};
use meshsim::RunOptions;
use meshsim::rng::RootSeed;
use meshsim::time::{SimDuration, SimTime};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The chain a -> b -> c for 20 s, with these faults and policies.
fn chain_with(faults: Value, policies: Value) -> meshsim::Scenario {
    load_edited("chain", |v| {
        v["run"] = json!({ "duration": "20s" });
        v["metrics"] = json!({ "interval": "1s" });
        v["faults"] = faults;
        v["policies"] = policies;
    })
}

#[test]
fn an_abort_on_a_call_path_fails_its_calls_unsent_and_unretried() {
    let retry = json!({ "overrides": [{ "source": "a", "destination": "b",
        "retry": { "maxAttempts": 3, "retryOn": ["5xx"] } }] });
    let sc = chain_with(
        json!([{ "kind": "error", "call": { "from": "a", "to": "b" }, "start": "5s", "duration": "10s",
                 "percent": 30, "status": 500 }]),
        retry,
    );
    let (_, s, _) = run(&sc, &RunOptions::default());
    let calls = f(&s, "calls.a->b.requests.total");
    let aborted = f(&s, "calls.a->b.requests.by_status.500");
    // 30 % of the calls in half the run.
    let expected = 0.3 * calls / 2.0;
    assert!((aborted - expected).abs() < 0.08 * expected, "aborted {aborted}, expected about {expected}");
    assert_eq!(f(&s, "calls.a->b.requests.error"), aborted, "every error is an abort: b itself never fails");
    // Aborted calls are never sent, so never retried: one attempt per call that got through.
    assert_eq!(f(&s, "calls.a->b.attempts"), calls - aborted);
    assert_eq!(f(&s, "calls.a->b.retries"), 0.0);
    assert_eq!(f(&s, "instances.b-0.arrivals"), calls - aborted, "b sees only the calls that were sent");
    // Each abort fails its request; nothing else does, and c is untouched.
    assert_eq!(f(&s, "routes.chain.requests.failed"), aborted);
    assert_eq!(f(&s, "calls.b->c.requests.failed"), 0.0);
}

#[test]
fn an_abort_at_the_gateway_hits_only_its_route_and_window() {
    let sc = chain_with(
        json!([{ "kind": "error", "call": { "from": "gateway", "to": "a", "endpoint": "work" },
                 "start": "5s", "duration": "5s", "status": 503 }]),
        json!({}),
    );
    let (_, s, ts) = run(&sc, &RunOptions::default());
    let mut rows = csv::Reader::from_reader(ts.as_slice());
    let header = rows.headers().unwrap().clone();
    let error = header.iter().position(|h| h == "error").unwrap();
    for r in rows.records().map(|r| r.unwrap()).filter(|r| &r[2] == "route") {
        let t: f64 = r[0].parse().unwrap();
        let errors: f64 = r[error].parse().unwrap();
        let requests: f64 = r[4].parse().unwrap();
        if (6.0..10.0).contains(&t) {
            assert_eq!(errors, requests, "every request fails inside the window (at {t} s)");
        } else if t == 5.0 {
            // Requests that arrived before 5 s and ended after it are fine.
            assert!(errors > 0.9 * requests, "{errors} of {requests}");
        } else {
            assert_eq!(errors, 0.0, "no request fails outside the window (at {t} s)");
        }
    }
    let total = f(&s, "routes.chain.requests.total");
    assert_eq!(f(&s, "instances.a-0.arrivals"), total - f(&s, "requests.by_status.503"));
}

#[test]
fn a_delay_on_a_call_path_comes_before_the_call_and_its_timeout() {
    let timeout = json!({ "overrides": [{ "source": "a", "destination": "b", "timeout": "30ms" }] });
    let base = chain_with(json!([]), timeout.clone());
    let held = chain_with(
        json!([{ "kind": "latency", "call": { "from": "a", "to": "b" }, "start": "0s", "delay": "50ms" }]),
        timeout.clone(),
    );
    let half = chain_with(
        json!([{ "kind": "latency", "call": { "from": "a", "to": "b" }, "start": "0s", "delay": "50ms",
                 "percent": 50 }]),
        timeout,
    );
    let (_, a, _) = run(&base, &RunOptions::default());
    let (_, b, _) = run(&held, &RunOptions::default());
    let (_, c, _) = run(&half, &RunOptions::default());
    // A 50 ms hold with a 30 ms timeout: the timer starts when the call is released.
    assert_eq!(f(&b, "calls.a->b.requests.timeout"), f(&a, "calls.a->b.requests.timeout"));
    let added = f(&b, "latency_ms.mean") - f(&a, "latency_ms.mean");
    assert!((added - 50.0).abs() < 1.0, "added {added} ms");
    let added = f(&c, "latency_ms.mean") - f(&a, "latency_ms.mean");
    assert!((added - 25.0).abs() < 1.5, "half the calls held: added {added} ms");
    // b's own latency does not change: the hold is at a's proxy.
    let sojourn = |s: &Value| f(s, "instances.b-0.sojourn_ms_mean");
    assert!((sojourn(&b) - sojourn(&a)).abs() < 0.5, "{} vs {}", sojourn(&b), sojourn(&a));
}

#[test]
fn a_job_past_its_propagated_deadline_fails_its_next_call_unsent() {
    // a's work is slowed fivefold (mean 50 ms) against a 40 ms deadline propagated from
    // the gateway: many jobs finish their work after the deadline and must not call b.
    let sc = chain_with(
        json!([{ "kind": "slowdown", "target": { "service": "a" }, "start": "0s", "factor": 5 }]),
        json!({ "default": { "deadlinePropagation": true },
                "overrides": [{ "source": "gateway", "destination": "a", "timeout": "40ms" }] }),
    );
    let (r, s, _) = run(&sc, &RunOptions { duration: Some(SimDuration::from_secs(5)), ..RunOptions::default() });
    assert_eq!(r.stop, meshsim::Stop::Completed);
    assert!(f(&s, "calls.a->b.requests.timeout") > 0.0);
    assert!(f(&s, "calls.a->b.attempts") < f(&s, "calls.a->b.requests.total"), "some calls are never sent");
    assert!(
        f(&s, "instances.b-0.arrivals") < f(&s, "calls.a->b.requests.total"),
        "calls made after the deadline are never sent"
    );
}

fn slow_push(with_fault: bool) -> Value {
    let sc = load_edited("slow-control-plane", |v| {
        if !with_fault {
            v["faults"].as_array_mut().unwrap().retain(|f| f["kind"] != "slow-config-push");
        }
    });
    run(&sc, &RunOptions::default()).1
}

#[test]
fn a_slow_config_push_holds_the_fix_back_and_the_storm_lasts() {
    let slow = slow_push(true);
    let fast = slow_push(false);
    let delay = |s: &Value| s["discovery"]["config_changes"][0]["propagation_s_max"].as_f64().unwrap();
    // Normal propagation is uniform 0.2 to 1 s; the fault adds 15 to 25 s.
    assert!(delay(&fast) <= 1.0, "{}", delay(&fast));
    assert!((15.2..=26.0).contains(&delay(&slow)), "{}", delay(&slow));
    assert!(
        f(&slow, "availability_pct") < f(&fast, "availability_pct") - 10.0,
        "the storm lasts until the fix lands: {} vs {}",
        f(&slow, "availability_pct"),
        f(&fast, "availability_pct")
    );
}

#[test]
fn the_chaos_monkey_draws_the_same_faults_from_the_same_seed_within_its_bounds() {
    let sc = load("chaos");
    let m = sc.chaos.as_ref().expect("chaos.json has a monkey");
    let until = Some(SimTime::ZERO + sc.run.duration.unwrap());
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    let mut total = 0;
    for seed in 0..200u64 {
        let faults = meshsim::chaos::draw(m, RootSeed(seed), until).unwrap();
        let again = meshsim::chaos::draw(m, RootSeed(seed), until).unwrap();
        assert_eq!(format!("{faults:?}"), format!("{again:?}"), "seed {seed} replays");
        for (k, x) in faults.iter().enumerate() {
            let (start, end) = (x.start.as_secs_f64(), x.end.unwrap().as_secs_f64());
            assert!((20.0..170.0).contains(&start), "starts within the window: {start}");
            assert!((5.0..=15.0).contains(&(end - start)), "lasts 5 to 15 s: {}", end - start);
            let active = faults[..k].iter().filter(|y| y.end.unwrap() > x.start).count();
            assert!(active < 2, "at most two at once (seed {seed}, fault {k})");
            *kinds.entry(x.kind.name()).or_default() += 1;
            total += 1;
            if !matches!(x.kind.name(), "loss" | "link-latency" | "load") {
                let services: BTreeSet<_> = x.instances.iter().map(|i| sc.instances[i.idx()].service).collect();
                assert_eq!(services.len(), 1, "one service's instances are the candidates");
                assert_eq!(x.select, meshsim::model::Select::One, "the monkey hits one of them");
            }
        }
    }
    // Weights 3 : 2 : 2 : 1 : 1 : 1 : 1 : 1 over about 8 faults a run.
    assert!(total > 200 * 6, "{total}");
    let share = |k: &str| kinds[k] as f64 / total as f64;
    assert!((share("crash") - 3.0 / 12.0).abs() < 0.03, "{kinds:?}");
    assert!((share("loss") - 1.0 / 12.0).abs() < 0.02, "{kinds:?}");
    assert!((share("load") - 1.0 / 12.0).abs() < 0.02, "{kinds:?}");
    let a = meshsim::chaos::draw(m, RootSeed(1), until).unwrap();
    let b = meshsim::chaos::draw(m, RootSeed(2), until).unwrap();
    assert_ne!(format!("{a:?}"), format!("{b:?}"), "seeds differ");
}

#[test]
fn the_chaos_monkey_stops_at_its_bounds_with_a_clear_message() {
    let unbounded = load_edited("chaos", |v| {
        v["run"] = json!({ "requests": 1000 });
        v["chaos"].as_object_mut().unwrap().remove("end");
    });
    let err = meshsim::run(&unbounded, &RunOptions::default(), meshsim::Hooks::default()).err().unwrap();
    assert!(err.to_string().contains("chaos.end or a run duration"), "{err}");
    let storm = load_edited("chaos", |v| {
        v["chaos"]["meanInterval"] = json!("1ms");
    });
    let err = meshsim::run(&storm, &RunOptions::default(), meshsim::Hooks::default()).err().unwrap();
    assert!(err.to_string().contains("more than 100000 faults"), "{err}");
}

#[test]
fn the_chaos_scenario_keeps_its_slos_and_reports_every_fault_it_drew() {
    let out = crate::common::temp_dir("chaos");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_meshsim"))
        .args(["run", scenario_path("chaos").to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", String::from_utf8_lossy(&status.stderr));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let faults = s["resilience"]["faults"].as_array().unwrap();
    assert!(faults.len() >= 5, "{}", faults.len());
    let sc = load("chaos");
    let drawn = meshsim::chaos::draw(
        sc.chaos.as_ref().unwrap(),
        RootSeed(sc.seed),
        Some(SimTime::ZERO + sc.run.duration.unwrap()),
    )
    .unwrap();
    assert_eq!(faults.len(), drawn.len());
    for (x, d) in faults.iter().zip(&drawn) {
        assert_eq!(x["kind"], d.kind.name());
        assert!((x["start_s"].as_f64().unwrap() - d.start.as_secs_f64()).abs() < 1e-6);
    }
    assert!(s["slos"].as_array().unwrap().iter().all(|x| x["pass"] == true));
}

#[test]
fn every_fault_kind_appears_in_a_bundled_scenario() {
    let mut seen = BTreeSet::new();
    let mut on_paths = BTreeSet::new();
    for entry in std::fs::read_dir(scenario_path("x").parent().unwrap()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let v = scenario_json(&name);
        let faults = v["faults"].as_array().cloned().unwrap_or_default();
        let chaos = v["chaos"]["kinds"].as_array().cloned().unwrap_or_default();
        for x in faults.iter().chain(&chaos) {
            let kind = x["kind"].as_str().unwrap().to_string();
            if x.get("call").is_some() {
                on_paths.insert(kind.clone());
            }
            seen.insert(kind);
        }
    }
    let all: BTreeSet<String> = meshsim::scenario::fault_kinds().into_iter().collect();
    assert_eq!(all.len(), 15);
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(missing.is_empty(), "fault kinds in no bundled scenario: {missing:?}");
    assert_eq!(on_paths, BTreeSet::from(["error".to_string(), "latency".to_string()]), "injection on call paths");
}
