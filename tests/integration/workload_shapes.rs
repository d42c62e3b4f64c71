//! Arrival schedules seen in the time series: ramps, steps and spikes, and route mixes.

use crate::common::{f, load_edited, run};
use meshsim::RunOptions;
use serde_json::json;

/// (window start in seconds, requests) of the `total` rows of a time series.
fn totals(ts: &[u8]) -> Vec<(f64, f64)> {
    let text = std::str::from_utf8(ts).expect("UTF-8");
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    rows.records()
        .map(|r| r.expect("a CSV row"))
        .filter(|r| &r[2] == "total")
        .map(|r| (r[0].parse().unwrap(), r[4].parse().unwrap()))
        .collect()
}

#[test]
fn ramp_step_and_spike_shape_the_arrivals() {
    let sc = load_edited("mmc", |v| {
        v["metrics"] = json!({ "interval": "1s" });
        v["run"] = json!({ "duration": "40s" });
        v["workload"]["arrivals"] = json!({
            "process": "constant",
            "startRate": 0,
            "stages": [
                { "duration": "10s", "target": 100 },
                { "duration": "10s", "target": 100 },
                { "duration": "0s", "target": 200 },
                { "duration": "10s", "target": 200 },
                { "duration": "0s", "target": 50 }
            ]
        });
    });
    let (_, s, ts) = run(&sc, &RunOptions::default());
    let rows = totals(&ts);
    // Rows count completions, which trail arrivals by a queueing delay: allow a few.
    let near = |t: f64, expected: f64| {
        let n = rows.iter().find(|&&(s, _)| s == t).map(|&(_, n)| n).expect("a window");
        assert!((n - expected).abs() <= 0.03 * expected + 2.0, "window at {t} s: {n} requests, expected {expected}");
    };
    // Ramp: 0 → 100/s over 10 s, so the window [4, 5) gets about 45 requests.
    near(4.0, 45.0);
    near(8.0, 85.0);
    // Hold at 100/s, step to 200/s, then down to 50/s.
    near(15.0, 100.0);
    near(25.0, 200.0);
    near(35.0, 50.0);
    // The whole run: 500 + 1000 + 2000 + 500 requests.
    assert!((f(&s, "requests.total") - 4_000.0).abs() <= 2.0);
}

#[test]
fn the_mix_splits_requests_by_weight_and_path() {
    let sc = meshsim::load_file(&crate::common::scenario_path("baseline")).unwrap();
    let (_, s, _) = run(&sc, &RunOptions { requests: Some(100_000), ..Default::default() });
    // browse 45, product (GET /product/42 → the product route) 25, cart 17, checkout 8, orders 5.
    for (route, weight) in [("browse", 45.0), ("product", 25.0), ("cart", 17.0), ("checkout", 8.0), ("orders", 5.0)] {
        let share = 100.0 * f(&s, &format!("routes.{route}.requests.total")) / f(&s, "requests.total");
        assert!((share - weight).abs() < 0.6, "{route}: {share} % of requests, weight {weight}");
    }
}
