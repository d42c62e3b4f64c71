//! Prometheus-style alerting rules in simulated time: pending, firing after `for`,
//! resolved; alerts.csv and summary.json; a firing alert detects a fault.

use crate::common::{f, load, load_edited, scenario_path, temp_dir};
use meshsim::{Hooks, RunOptions};
use serde_json::{Value, json};

fn run_alerts(sc: &meshsim::Scenario) -> (Value, Vec<Vec<String>>) {
    let mut alerts = Vec::new();
    let r =
        meshsim::run(sc, &RunOptions::default(), Hooks { alerts: Some(&mut alerts), ..Hooks::default() }).expect("run");
    let rows = csv::Reader::from_reader(alerts.as_slice())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (meshsim::report::summary(sc, &r), rows)
}

#[test]
fn an_error_rate_alert_fires_for_after_the_crash_and_resolves_when_the_views_drop_it() {
    let sc = load("instance-crash");
    let (s, rows) = run_alerts(&sc);
    let states: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str(), r[2].as_str())).collect();
    // The crash is at 20 s; windows are 1 s; the rule holds from the first window after it.
    assert_eq!(states[0], ("21.000000", "HighErrorRate", "pending"));
    assert_eq!(states[1], ("31.000000", "HighErrorRate", "firing"));
    // Errors stop when the last cached view drops catalog-1; the next evaluation resolves.
    let views_done = 20.0 + s["discovery"]["detections"][0]["view_detect_s_max"].as_f64().unwrap();
    let resolved: f64 = rows[2][0].parse().unwrap();
    assert_eq!(rows[2][2], "resolved");
    // The window holding the last error ends at ceil(views_done); the next one is clean.
    assert_eq!(resolved, views_done.floor() + 2.0, "resolved at the end of the first clean window after {views_done}");
    assert_eq!(rows.len(), 3, "BrowseSlow never goes pending: {rows:?}");
    let a = &s["alerts"][0];
    assert_eq!((a["fired"].as_u64(), a["first_fired_s"].as_f64()), (Some(1), Some(31.0)));
    assert_eq!(a["firing_s"].as_f64(), Some(resolved - 31.0));
    assert_eq!(s["alerts"][1]["fired"].as_u64(), Some(0));
    // No breaker or health check here: the alert is what detects the crash.
    assert_eq!(f(&s["resilience"]["faults"][0], "alert_s"), 11.0);
    assert_eq!(f(&s["resilience"]["faults"][0], "detect_s"), 11.0);
}

#[test]
fn an_alert_without_for_fires_at_the_first_evaluation_and_can_fire_again() {
    let sc = load_edited("mmc", |v| {
        v["run"] = json!({ "duration": "20s" });
        v["metrics"] = json!({ "interval": "1s" });
        v["faults"] = json!([
            { "kind": "error", "target": { "service": "station" }, "start": "5s", "duration": "2s", "percent": 50 },
            { "kind": "error", "target": { "service": "station" }, "start": "12s", "duration": "3s", "percent": 50 }
        ]);
        v["alerts"] = json!([{ "name": "Errors", "expr": "availability<90%" }]);
    });
    let (s, rows) = run_alerts(&sc);
    let changes: Vec<(f64, &str)> = rows.iter().map(|r| (r[0].parse().unwrap(), r[2].as_str())).collect();
    // Windows [5, 6) and [6, 7) fail half their requests; [7, 8) is the first clean one.
    assert_eq!(changes, vec![(6.0, "firing"), (8.0, "resolved"), (13.0, "firing"), (16.0, "resolved")]);
    // Both faults are detected at their first evaluation.
    assert_eq!(f(&s["resilience"]["faults"][0], "alert_s"), 1.0);
    assert_eq!(f(&s["resilience"]["faults"][1], "alert_s"), 1.0);
    assert_eq!(s["alerts"][0]["fired"].as_u64(), Some(2));
    assert_eq!(s["alerts"][0]["firing_s"].as_f64(), Some(5.0));
}

#[test]
fn bad_alert_rules_are_reported_with_their_paths() {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(scenario_path("mmc")).unwrap()).unwrap();
    v["alerts"] = json!([
        { "name": "A", "expr": "p98>1s" },
        { "name": "A", "expr": "p99>1s" },
        { "name": "B", "expr": "p99>1s", "for": "soon" }
    ]);
    let err = meshsim::load_str(&v.to_string(), "mmc.json").unwrap_err().to_string();
    assert!(err.contains("alerts[2].for") || err.contains("alerts[2]"), "{err}");
    v["alerts"] = json!([{ "name": "A", "expr": "p98>1s" }, { "name": "A", "expr": "p99>1s" }]);
    let err = meshsim::load_str(&v.to_string(), "mmc.json").unwrap_err().to_string();
    assert!(err.contains("alerts[0].expr: a metric"), "{err}");
    assert!(err.contains("alerts[1].name: a name no other alert has"), "{err}");
}

#[test]
fn the_cli_writes_alerts_csv() {
    let out = temp_dir("alerts-cli");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_meshsim"))
        .args(["run", scenario_path("instance-crash").to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", String::from_utf8_lossy(&status.stderr));
    let text = std::fs::read_to_string(out.join("alerts.csv")).unwrap();
    assert!(text.starts_with("time_s,alert,state,value,expr\n"), "{text}");
    assert!(text.contains("31.000000,HighErrorRate,firing,"), "{text}");
}
