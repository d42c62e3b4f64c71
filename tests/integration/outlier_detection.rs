//! Envoy outlier detection in the proxy: a failing instance is ejected after
//! consecutive 5xx, comes back at a sweep after its ejection time, and is ejected for
//! longer each time; healthy instances are left alone.

use crate::common::{f, load_edited, run_all};
use meshsim::RunOptions;
use serde_json::{Value, json};

fn mesh(outlier: Value) -> meshsim::Scenario {
    load_edited("mmc", |v| {
        v["services"] = json!({
            "front": { "workers": 64, "endpoints": { "work": { "serviceTime": "1ms",
                "calls": [ { "service": "back", "endpoint": "work" } ] } } },
            "back": { "replicas": 4, "workers": 16, "endpoints": { "work": { "serviceTime": "2ms" } } }
        });
        v["gateway"]["routes"][0]["destination"] = json!({ "service": "front", "endpoint": "work" });
        v["workload"]["arrivals"]["rate"] = json!(200);
        v["run"] = json!({ "duration": "120s" });
        v["faults"] = json!([{ "kind": "error", "target": { "service": "back", "instances": [1] }, "start": "0s" }]);
        v["policies"] = json!({ "overrides": [ { "destination": "back", "outlierDetection": outlier } ] });
    })
}

#[test]
fn a_failing_instance_is_ejected_for_longer_each_time() {
    let sc =
        mesh(json!({ "consecutive5xx": 5, "maxEjectionPercent": 50, "interval": "10s", "baseEjectionTime": "30s" }));
    let (_, s, _, tr) = run_all(&sc, &RunOptions::default());
    let t = String::from_utf8(tr).unwrap();
    let rows: Vec<Vec<&str>> = t.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r[4] == "back-1"), "only the failing instance moves:\n{t}");
    let ejections: Vec<&Vec<&str>> = rows.iter().filter(|r| r[6] == "EJECTED").collect();
    assert!(ejections.len() >= 2, "ejected again after coming back:\n{t}");
    assert!(ejections[0][7].contains("for 30s") && ejections[1][7].contains("for 1m"), "30 s, then 60 s:\n{t}");
    // The first ejection follows five consecutive errors, within the first few calls.
    let first: f64 = ejections[0][0].parse().unwrap();
    assert!(first < 0.2, "ejected at {first} s");
    // Returns happen at an interval sweep (a multiple of 10 s) once the time is up.
    let back: f64 = rows.iter().find(|r| r[6] == "HEALTHY").unwrap()[0].parse().unwrap();
    assert!((back - 30.0).abs() < 1e-6 || (back - 40.0).abs() < 1e-6, "returned at {back} s");
    // So the failing instance sees only a sliver of the traffic.
    let errors = f(&s, "requests.error") / f(&s, "requests.total");
    assert!(errors < 0.01, "error share {errors}");
    assert_eq!(f(&s, "services.back.calls.ejections"), ejections.len() as f64);
}

#[test]
fn envoy_s_default_cap_ejects_nothing_from_a_small_cluster() {
    // max_ejection_percent 10 of 4 hosts: one ejection would be 25 %, so none happens.
    let sc = mesh(json!({}));
    let (_, s, _, _) = run_all(&sc, &RunOptions::default());
    assert_eq!(f(&s, "services.back.calls.ejections"), 0.0);
    let errors = f(&s, "requests.error") / f(&s, "requests.total");
    assert!((errors - 0.25).abs() < 0.01, "round robin keeps sending a quarter to it: {errors}");
}
