//! The bundled resilience stories, in their numbers: each scenario file's description
//! says what a user should see, and these tests check that they do.

use crate::common::{f, load, run};
use meshsim::RunOptions;

/// (window start, ok / requests) of the `total` rows.
fn availability_by_window(ts: &[u8]) -> Vec<(f64, f64)> {
    let mut rows = csv::Reader::from_reader(ts);
    rows.records()
        .map(|r| r.unwrap())
        .filter(|r| &r[2] == "total")
        .map(|r| {
            let n: f64 = r[4].parse().unwrap();
            let ok: f64 = r[5].parse().unwrap();
            (r[0].parse().unwrap(), if n > 0.0 { ok / n } else { 1.0 })
        })
        .collect()
}

fn mean_between(a: &[(f64, f64)], from: f64, to: f64) -> f64 {
    let xs: Vec<f64> = a.iter().filter(|(t, _)| *t >= from && *t < to).map(|(_, x)| *x).collect();
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[test]
fn naive_retries_turn_a_short_capacity_drop_into_a_lasting_outage() {
    let (_, s, ts) = run(&load("retry-storm"), &RunOptions::default());
    let a = availability_by_window(&ts);
    assert!(mean_between(&a, 0.0, 20.0) > 0.999, "healthy before the drop");
    // The drop ends at 30 s, but the mesh does not come back while the load lasts.
    let after = mean_between(&a, 35.0, 60.0);
    assert!(after < 0.1, "availability after the trigger ended: {after}");
    assert!(f(&s, "services.db.calls.retry_amplification") > 2.5);
    assert!(f(&s, "services.db.server.wasted_work_s") > 300.0, "most of db's work is wasted");
}

#[test]
fn a_retry_budget_and_jittered_backoff_let_the_mesh_recover() {
    let (_, s, ts) = run(&load("retry-storm-budget"), &RunOptions::default());
    let a = availability_by_window(&ts);
    assert!(mean_between(&a, 0.0, 20.0) > 0.999, "healthy before the drop");
    let after = mean_between(&a, 33.0, 60.0);
    assert!(after > 0.999, "availability from 3 s after the drop ended: {after}");
    assert!(f(&s, "services.db.calls.retry_amplification") < 1.2);
    assert!(f(&s, "services.db.calls.retries_denied_by_budget") > 1_000.0);
}
