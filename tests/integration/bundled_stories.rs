//! The bundled resilience stories, in their numbers: each scenario file's description
//! says what a user should see, and these tests check that they do.

use crate::common::{f, load, run};
use meshsim::RunOptions;

/// (window start, ok / requests) of the `total` rows.
fn availability_by_window(ts: &[u8]) -> Vec<(f64, f64)> {
    availability(ts, "total", "all")
}

/// (window start, ok / requests) of one route's rows.
fn route_availability(ts: &[u8], route: &str) -> Vec<(f64, f64)> {
    availability(ts, "route", route)
}

fn availability(ts: &[u8], scope: &str, name: &str) -> Vec<(f64, f64)> {
    let mut rows = csv::Reader::from_reader(ts);
    rows.records()
        .map(|r| r.unwrap())
        .filter(|r| &r[2] == scope && &r[3] == name)
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

#[test]
fn a_breaker_keeps_a_hanging_payment_from_exhausting_order() {
    let sc = load("payment-outage");
    let (_, s, ts, tr) = crate::common::run_all(&sc, &RunOptions::default());
    let history = route_availability(&ts, "order-history");
    // After the breakers learn (about 2 s into the hang), order-history is unharmed.
    assert!(mean_between(&history, 23.0, 40.0) > 0.99, "order-history during the hang");
    // Checkouts fail fast instead of waiting 2 s each, and the fallback answers them.
    assert!(f(&s, "services.payment.requests.short_circuited") > 1_000.0);
    assert!(f(&s, "services.payment.calls.fallbacks") > 1_000.0);
    // Each charge the fallback queued goes through in the background once payment is back.
    let queued = f(&s, "calls.order->payment.deferred.total");
    assert_eq!(queued, f(&s, "services.payment.calls.fallbacks"));
    assert_eq!(f(&s, "calls.order->payment.deferred.ok"), queued);
    let checkout = route_availability(&ts, "checkout");
    assert!(mean_between(&checkout, 23.0, 40.0) > 0.99, "degraded but available checkout");
    // Each order instance's breaker opens, probes, and closes after the hang.
    let t = String::from_utf8(tr).unwrap();
    assert_eq!(t.lines().filter(|l| l.contains(",CLOSED,OPEN,")).count(), 2, "{t}");
    assert_eq!(t.lines().filter(|l| l.contains(",HALF_OPEN,CLOSED,")).count(), 2, "{t}");
    // The same hang without a breaker takes order-history down with it.
    let without = crate::common::load_edited("payment-outage", |v| {
        v["policies"]["overrides"][0].as_object_mut().unwrap().remove("circuitBreaker");
    });
    let (_, _, ts) = run(&without, &RunOptions::default());
    let history = route_availability(&ts, "order-history");
    assert!(mean_between(&history, 23.0, 40.0) < 0.5, "order-history without the breaker");
}

#[test]
fn a_slow_dependency_takes_down_an_unrelated_route_without_a_bulkhead() {
    let (_, _, ts) = run(&load("slow-dependency"), &RunOptions::default());
    let home = route_availability(&ts, "home");
    assert!(mean_between(&home, 10.0, 20.0) > 0.999, "healthy before recs slows down");
    assert!(mean_between(&home, 21.0, 40.0) < 0.5, "home, which never calls recs, fails with it");
}

#[test]
fn a_bulkhead_keeps_the_slow_dependency_from_taking_the_workers() {
    let (_, s, ts) = run(&load("slow-dependency-bulkhead"), &RunOptions::default());
    let home = route_availability(&ts, "home");
    assert!(mean_between(&home, 10.0, 60.0) > 0.999, "home stays available throughout");
    // Recommendation calls beyond the 10-call bulkhead fail at once.
    assert!(f(&s, "services.recs.requests.overloaded") > 1_000.0);
    assert!(f(&s, "services.front.server.utilization") < 0.5);
}

/// Every SLO in a bundled experiment's file passes.
fn all_slos_pass(s: &serde_json::Value) {
    let slos = s["slos"].as_array().unwrap();
    assert!(!slos.is_empty());
    for slo in slos {
        assert_eq!(slo["pass"], serde_json::json!(true), "{slo}");
    }
}

#[test]
fn exp_payment_outage_degrades_checkout_to_pending_and_charges_later() {
    let (_, s, _) = run(&load("exp-payment-outage"), &RunOptions::default());
    all_slos_pass(&s);
    assert!(s["resilience"]["faults"][0]["detect_s"].as_f64().unwrap() < 1.0, "the breakers open at once");
    let queued = f(&s, "calls.order->payment.deferred.total");
    assert!(queued > 2_000.0, "20 s of checkouts queued: {queued}");
    assert_eq!(f(&s, "calls.order->payment.deferred.ok"), queued, "all charged once payment is back");
    assert!(f(&s, "services.payment.requests.short_circuited") > 1_000.0);
}

#[test]
fn exp_user_latency_is_contained_by_the_timeout_on_an_optional_call() {
    let (_, s, _) = run(&load("exp-user-latency"), &RunOptions::default());
    all_slos_pass(&s);
    assert!(f(&s, "services.user.requests.timeout") > 2_000.0, "the delayed profile calls time out");
    // Without the timeout override the injected delay reaches cart's users.
    let bare = crate::common::load_edited("exp-user-latency", |v| {
        let o = v["policies"]["overrides"].as_array_mut().unwrap();
        o.retain(|x| x["destination"] != "user");
    });
    let (_, s, _) = run(&bare, &RunOptions::default());
    assert!(f(&s, "routes.cart.latency_ms.p99") > 400.0);
}

#[test]
fn exp_order_cpu_stress_slows_order_routes_only_while_it_lasts() {
    let (_, s, ts) = run(&load("exp-order-cpu-stress"), &RunOptions::default());
    all_slos_pass(&s);
    // Mean latency per window (column 13), averaged over the windows in [from, to).
    let mean = |from: f64, to: f64, route: &str| -> f64 {
        let mut r = csv::Reader::from_reader(ts.as_slice());
        let rows: Vec<f64> = r
            .records()
            .map(|x| x.unwrap())
            .filter(|x| &x[2] == "route" && &x[3] == route && (from..to).contains(&x[0].parse::<f64>().unwrap()))
            .map(|x| x[13].parse().unwrap())
            .collect();
        rows.iter().sum::<f64>() / rows.len() as f64
    };
    let (before, during, after) = (mean(5.0, 20.0, "orders"), mean(20.0, 40.0, "orders"), mean(41.0, 65.0, "orders"));
    assert!(during > before * 1.2, "order history slows under the stress: {before} -> {during}");
    assert!(after < before * 1.1, "and is back after it: {after}");
    let browse = (mean(5.0, 20.0, "browse"), mean(20.0, 40.0, "browse"));
    assert!((browse.1 - browse.0).abs() < 0.1 * browse.0, "browse never notices: {browse:?}");
    assert_eq!(s["resilience"]["faults"][0]["recover_s"].as_f64().unwrap(), 0.0);
}

#[test]
fn exp_payment_partition_opens_the_breaker_and_keeps_checkout_up() {
    let (_, s, _) = run(&load("exp-payment-partition"), &RunOptions::default());
    all_slos_pass(&s);
    let detect = s["resilience"]["faults"][0]["detect_s"].as_f64().unwrap();
    assert!(detect > 0.9 && detect < 5.0, "the first charges wait out their 1 s timeout: {detect}");
    assert!(f(&s, "services.payment.requests.dropped") + f(&s, "services.payment.requests.timeout") > 10.0);
    assert!(f(&s, "calls.order->payment.deferred.ok") > 1_000.0);
}
