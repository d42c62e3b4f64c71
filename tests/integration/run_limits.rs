//! Runs that cannot end stop at a stated limit with a clear message, and stop conditions
//! behave as documented.

use crate::common::{load, load_edited, run, scenario_path, temp_dir};
use meshsim::result::LimitKind;
use meshsim::{RunOptions, Stop};
use serde_json::json;
use std::process::Command;

#[test]
fn requests_option_makes_exactly_that_many_requests() {
    let sc = load("baseline");
    let (r, s, _) = run(&sc, &RunOptions { requests: Some(5_000), ..Default::default() });
    assert_eq!(r.stop, Stop::Completed);
    assert_eq!(r.requests, 5_000);
    // Every request ends in exactly one outcome: total = ok + failed (+ none in flight).
    let total = s["requests"]["total"].as_u64().unwrap();
    let ok = s["requests"]["ok"].as_u64().unwrap();
    let failed = s["requests"]["failed"].as_u64().unwrap();
    assert_eq!(ok + failed, total);
    assert_eq!(s["requests"]["in_flight"], json!(0));
}

#[test]
fn overload_stops_at_in_flight_max() {
    // rho = 2: the queue grows without bound until the in-flight limit stops the run.
    let sc = load_edited("mmc", |v| {
        v["workload"]["arrivals"]["rate"] = json!(800);
        v["run"] = json!({"duration": "1h", "inFlightMax": 5000});
    });
    let (r, s, _) = run(&sc, &RunOptions::default());
    match &r.stop {
        Stop::Limit { kind: LimitKind::InFlightMax, message } => {
            assert!(message.contains("inFlightMax") && message.contains("5000"), "{message}");
        }
        other => panic!("expected the in-flight limit, got {other:?}"),
    }
    assert_eq!(s["stop"]["reason"], json!("in-flight-max"));
    let in_flight = s["requests"]["in_flight"].as_u64().unwrap();
    assert!(in_flight > 4_000, "the requests still in flight are reported: {in_flight}");
}

#[test]
fn events_max_stops_the_run() {
    let sc = load_edited("mmc", |v| v["run"]["eventsMax"] = json!(10_000));
    let (r, _, _) = run(&sc, &RunOptions::default());
    assert!(matches!(r.stop, Stop::Limit { kind: LimitKind::EventsMax, .. }), "{:?}", r.stop);
    assert_eq!(r.events, 10_000);
}

#[test]
fn drain_timeout_ends_a_slow_drain() {
    // Arrivals stop at 10 s with the queue far behind; 1 s of draining is not enough.
    let sc = load_edited("mmc", |v| {
        v["workload"]["arrivals"]["rate"] = json!(500);
        v["run"] = json!({"duration": "10s", "drainTimeout": "1s"});
    });
    let (r, _, _) = run(&sc, &RunOptions::default());
    assert!(matches!(r.stop, Stop::Limit { kind: LimitKind::DrainTimeout, .. }), "{:?}", r.stop);
    assert!(r.in_flight_measured > 0);
}

#[test]
fn duration_stops_arrivals_then_drains() {
    let sc = load("baseline");
    let (r, _, _) = run(&sc, &RunOptions { duration: Some(meshsim::SimDuration::from_secs(8)), ..Default::default() });
    assert_eq!(r.stop, Stop::Completed);
    assert_eq!(r.arrivals_end.as_secs_f64(), 8.0);
    assert!(r.end >= r.arrivals_end, "in-flight requests finish after arrivals stop");
    assert_eq!(r.in_flight_measured, 0);
}

#[test]
fn closed_loop_users_never_exceed_their_number() {
    let sc = load_edited("mmc", |v| {
        v["workload"] = json!({
            "users": {"count": 8, "thinkTime": {"type": "exponential", "mean": "20ms"}},
            "mix": [{"route": "work", "weight": 1}]
        });
        v["run"] = json!({"duration": "60s"});
    });
    let (r, s, _) = run(&sc, &RunOptions::default());
    assert_eq!(r.stop, Stop::Completed);
    assert!(r.in_flight_max_seen <= 8);
    // Interactive response-time law: X = N / (R + Z).
    let x = s["throughput_rps"].as_f64().unwrap();
    let rt = s["latency_ms"]["mean"].as_f64().unwrap() / 1e3;
    let law = 8.0 / (rt + 0.020);
    assert!((x - law).abs() / law < 0.02, "throughput {x} vs N/(R+Z) {law}");
}

#[test]
fn cli_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_meshsim");
    let dir = temp_dir("exit-codes");
    // 0: a valid file validates, and a run writes its report.
    let ok = Command::new(bin).args(["validate", scenario_path("baseline").to_str().unwrap()]).output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    // 2: a bad file, with the file and the JSON path in the message.
    let bad = dir.join("bad.json");
    let mut v: serde_json::Value = crate::common::scenario_json("baseline");
    v["services"]["cart"]["endpoints"]["view"]["calls"][0]["service"] = json!("catlog");
    std::fs::write(&bad, v.to_string()).unwrap();
    let out = Command::new(bin).args(["validate", bad.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json") && err.contains("services.cart.endpoints.view.calls[0].service"), "{err}");
    let out = Command::new(bin).args(["run", bad.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // 2: a run that hits a limit, with its report still written and marked.
    let limited = dir.join("limited.json");
    let mut v = crate::common::scenario_json("mmc");
    v["run"]["eventsMax"] = json!(1000);
    std::fs::write(&limited, v.to_string()).unwrap();
    let out_dir = dir.join("out");
    let out = Command::new(bin).args(["run", limited.to_str().unwrap(), "--out"]).arg(&out_dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("eventsMax"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["stop"]["reason"], json!("events-max"));
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn warmup_requests_are_left_out_of_every_whole_run_statistic() {
    // baseline.json has a 5 s warm-up: its requests appear in the time series only.
    let sc = load("baseline");
    let (r, _, ts) =
        run(&sc, &RunOptions { duration: Some(meshsim::SimDuration::from_secs(12)), ..Default::default() });
    assert!(r.requests_measured < r.requests, "some requests arrived during the warm-up");
    for flow in r.routes.iter().chain(r.services.iter()).chain(std::iter::once(&r.total)) {
        assert_eq!(flow.latency.count(), flow.counts.total(), "histogram and counts agree");
    }
    assert_eq!(r.total.counts.total(), r.requests_measured);
    let mut rows = csv::Reader::from_reader(ts.as_slice());
    let in_series: u64 =
        rows.records().map(|x| x.unwrap()).filter(|x| &x[2] == "total").map(|x| x[4].parse::<u64>().unwrap()).sum();
    assert_eq!(in_series, r.requests, "the time series has every request, warm-up included");
}
