//! Faults replayed from the scenario: error injection, slowdown, capacity drop, latency,
//! each inside its time window only.

use crate::common::{f, load_edited, run};
use meshsim::RunOptions;
use serde_json::{Value, json};

/// (window start, scope, name, column) → value, from a time series.
fn column(ts: &[u8], scope: &str, name: &str, col: &str) -> Vec<(f64, f64)> {
    let mut rows = csv::Reader::from_reader(ts);
    let header = rows.headers().unwrap().clone();
    let k = header.iter().position(|h| h == col).expect("a column");
    rows.records()
        .map(|r| r.unwrap())
        .filter(|r| &r[2] == scope && &r[3] == name)
        .map(|r| (r[0].parse().unwrap(), r[k].parse().unwrap_or(0.0)))
        .collect()
}

fn mmc_with(faults: Value) -> meshsim::Scenario {
    load_edited("mmc", |v| {
        v["metrics"] = json!({ "interval": "1s" });
        v["run"] = json!({ "duration": "30s" });
        v["faults"] = faults;
    })
}

#[test]
fn error_injection_fails_requests_only_inside_its_window() {
    let sc = mmc_with(json!([{ "kind": "error", "target": { "service": "station" },
        "start": "10s", "duration": "5s", "percent": 50, "status": 503 }]));
    let (_, s, ts) = run(&sc, &RunOptions::default());
    let errors = column(&ts, "route", "work", "error");
    for (t, n) in &errors {
        if *t < 10.0 || *t >= 15.0 {
            assert_eq!(*n, 0.0, "errors outside the fault window at {t} s");
        }
    }
    // Half of 5 s x 280/s.
    let inside: f64 = errors.iter().map(|(_, n)| n).sum();
    assert!((inside - 700.0).abs() < 80.0, "{inside}");
    assert_eq!(f(&s, "requests.by_status.503"), inside);
}

#[test]
fn capacity_drop_backs_up_the_queue_then_it_drains() {
    // 4 workers → 3 for 10 s at 280/s: offered 2.8 erlangs on 3 workers (rho 0.93).
    let sc = mmc_with(json!([{ "kind": "capacity", "target": { "service": "station" },
        "start": "5s", "duration": "10s", "workers": 2 }]));
    let (_, _, ts) = run(&sc, &RunOptions::default());
    let queue = column(&ts, "instance", "station-0", "queue_mean");
    let at = |t: f64| queue.iter().find(|(s, _)| *s == t).unwrap().1;
    // Two workers serve 200/s against 280/s offered: the queue grows by ~80 a second.
    assert!(at(14.0) > 500.0, "queue at the end of the drop: {}", at(14.0));
    assert!(at(3.0) < 2.0, "before the drop: {}", at(3.0));
    let util = column(&ts, "instance", "station-0", "utilization");
    let u = util.iter().find(|(s, _)| *s == 10.0).unwrap().1;
    assert!(u > 0.999, "both remaining workers stay busy: utilisation {u}");
    assert!(u <= 1.0 + 1e-9, "no more than the two remaining workers are busy: utilisation {u}");
    // Utilisation is of the workers available, so over the run it stays below 1.
    assert!(at(25.0) < at(14.0), "the queue drains after the drop ends");
}

#[test]
fn slowdown_multiplies_service_times() {
    let sc = mmc_with(json!([{ "kind": "slowdown", "target": { "service": "station" },
        "start": "0s", "factor": 1.25 }]));
    let (_, s, _) = run(&sc, &RunOptions::default());
    // Utilisation 0.7 x 1.25.
    assert!((f(&s, "instances.station-0.utilization") - 0.875).abs() < 0.03);
}

#[test]
fn latency_fault_adds_its_delay_without_holding_workers() {
    let base = mmc_with(json!([]));
    let slow = mmc_with(json!([{ "kind": "latency", "target": { "service": "station" },
        "start": "0s", "delay": "50ms" }]));
    let (_, a, _) = run(&base, &RunOptions::default());
    let (_, b, _) = run(&slow, &RunOptions::default());
    let added = f(&b, "latency_ms.mean") - f(&a, "latency_ms.mean");
    assert!((added - 50.0).abs() < 1.5, "added {added} ms");
    assert!((f(&b, "instances.station-0.utilization") - f(&a, "instances.station-0.utilization")).abs() < 0.02);
}

#[test]
fn a_fault_on_one_instance_spares_the_others() {
    let sc = load_edited("mmc", |v| {
        v["services"]["station"]["replicas"] = json!(2);
        v["services"]["station"]["workers"] = json!(2);
        v["run"] = json!({ "duration": "20s" });
        v["faults"] = json!([{ "kind": "error", "target": { "service": "station", "instances": [1] },
            "start": "0s", "percent": 100 }]);
    });
    let (_, s, _) = run(&sc, &RunOptions::default());
    assert_eq!(f(&s, "instances.station-0.errors"), 0.0);
    // Round robin: every other request goes to the failing instance.
    let share = f(&s, "requests.error") / f(&s, "requests.total");
    assert!((share - 0.5).abs() < 0.01, "{share}");
}
