//! The same scenario and seed give byte-identical files; another seed gives other numbers.

use crate::common::{load, run, scenario_path, temp_dir};
use meshsim::RunOptions;
use std::process::Command;

#[test]
fn same_seed_same_bytes_in_memory() {
    let sc = load("baseline");
    let opts = RunOptions { duration: Some(meshsim::SimDuration::from_secs(20)), ..Default::default() };
    let (_, s1, t1) = run(&sc, &opts);
    let (_, s2, t2) = run(&sc, &opts);
    assert_eq!(meshsim::report::summary_bytes(&s1), meshsim::report::summary_bytes(&s2));
    assert_eq!(t1, t2);
    assert!(t1.len() > 1000, "the time series has rows");
}

#[test]
fn another_seed_gives_other_numbers() {
    let sc = load("baseline");
    let d = Some(meshsim::SimDuration::from_secs(20));
    let (_, a, ta) = run(&sc, &RunOptions { duration: d, seed: Some(1), ..Default::default() });
    let (_, b, tb) = run(&sc, &RunOptions { duration: d, seed: Some(2), ..Default::default() });
    assert_ne!(a["latency_ms"], b["latency_ms"]);
    assert_ne!(a["requests"]["total"], b["requests"]["total"]);
    assert_ne!(ta, tb);
}

#[test]
fn cli_runs_twice_to_identical_files() {
    let bin = env!("CARGO_BIN_EXE_meshsim");
    let dirs = [temp_dir("det-a"), temp_dir("det-b")];
    for dir in &dirs {
        let out = Command::new(bin)
            .args(["run", scenario_path("baseline").to_str().unwrap(), "--duration", "10s", "--out"])
            .arg(dir)
            .output()
            .expect("meshsim runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // Speed figures go to stderr only, never into files or stdout.
        assert!(String::from_utf8_lossy(&out.stderr).contains("events/s"));
    }
    for file in ["summary.json", "timeseries.csv"] {
        let a = std::fs::read(dirs[0].join(file)).unwrap();
        let b = std::fs::read(dirs[1].join(file)).unwrap();
        assert!(!a.is_empty());
        assert!(a == b, "{file} differs between two runs with the same seed");
    }
}

#[test]
fn every_bundled_resilience_story_replays_byte_for_byte_through_the_cli() {
    // The stories exercise breakers, queues for later, shedders, rate limits, crashes,
    // registries, health checks and ejections: every output file must come out the same.
    let bin = env!("CARGO_BIN_EXE_meshsim");
    for story in ["payment-outage", "overload-shedding", "instance-crash-protected", "retry-storm-budget"] {
        let dirs = [temp_dir(&format!("story-a-{story}")), temp_dir(&format!("story-b-{story}"))];
        for dir in &dirs {
            let out = Command::new(bin)
                .args(["run", scenario_path(story).to_str().unwrap(), "--duration", "45s", "--out"])
                .arg(dir)
                .output()
                .expect("meshsim runs");
            assert!(out.status.success(), "{story}: {}", String::from_utf8_lossy(&out.stderr));
        }
        for file in ["summary.json", "timeseries.csv", "transitions.csv", "events.csv"] {
            let a = std::fs::read(dirs[0].join(file)).unwrap();
            let b = std::fs::read(dirs[1].join(file)).unwrap();
            assert!(a == b, "{story}: {file} differs between two runs with the same seed");
        }
    }
}

#[test]
fn adding_a_service_does_not_shift_other_streams() {
    // Arrivals have their own stream: a scenario with an extra, unused service sees the
    // same arrival times, so the same number of requests in the same duration.
    let sc = load("mmc");
    let wider = crate::common::load_edited("mmc", |v| {
        v["services"]["spare"] =
            serde_json::json!({"endpoints": {"x": {"serviceTime": {"type": "exponential", "mean": "1ms"}}}});
    });
    let opts = RunOptions { requests: Some(50_000), ..Default::default() };
    let (ra, a, _) = run(&sc, &opts);
    let (rb, b, _) = run(&wider, &opts);
    assert_eq!(ra.arrivals_end, rb.arrivals_end);
    assert_eq!(a["routes"], b["routes"]);
}
