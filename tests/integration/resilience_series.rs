//! The per-window resilience series: policy points (`call` rows) in timeseries.csv and
//! their whole-run figures in summary.json, breaker states per window, retry
//! amplification and goodput against throughput.

use crate::common::{f, load, run};
use meshsim::RunOptions;

/// The rows of one scope and name, as header-keyed maps.
fn rows(ts: &[u8], scope: &str, name: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(ts);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| &x[2] == scope && &x[3] == name)
        .map(|x| header.iter().cloned().zip(x.iter().map(String::from)).collect())
        .collect()
}

fn num(row: &std::collections::BTreeMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap_or_else(|_| panic!("{col} = {:?} is not a number", row[col]))
}

fn sum_between(rows: &[std::collections::BTreeMap<String, String>], col: &str, from: f64, to: f64) -> f64 {
    rows.iter().filter(|r| num(r, "window_start_s") >= from && num(r, "window_start_s") < to).map(|r| num(r, col)).sum()
}

#[test]
fn call_rows_add_up_to_the_whole_run_figures() {
    // No warm-up in this scenario, so every call is measured and windows cover the run.
    let (_, s, ts) = run(&load("retry-storm"), &RunOptions::default());
    let api_db = rows(&ts, "call", "api->db");
    assert!(!api_db.is_empty());
    for col in ["requests", "ok", "attempts", "retries"] {
        let windows: f64 = api_db.iter().map(|r| num(r, col)).sum();
        let key = if col == "requests" { "total" } else { col };
        let whole = if col == "requests" || col == "ok" {
            f(&s, &format!("calls.api->db.requests.{key}"))
        } else {
            f(&s, &format!("calls.api->db.{key}"))
        };
        assert_eq!(windows, whole, "{col}: windows vs summary");
    }
    // The service's calls are the sum of its callers' policy points (one caller here).
    assert_eq!(f(&s, "calls.api->db.attempts"), f(&s, "services.db.calls.attempts"));
}

#[test]
fn retry_amplification_and_goodput_show_the_storm_window_by_window() {
    let (_, s, ts) = run(&load("retry-storm"), &RunOptions::default());
    let api_db = rows(&ts, "call", "api->db");
    let amp = |from, to| sum_between(&api_db, "attempts", from, to) / sum_between(&api_db, "requests", from, to);
    assert!(amp(0.0, 20.0) < 1.01, "no retries before the drop: {}", amp(0.0, 20.0));
    assert!(amp(35.0, 60.0) > 3.0, "the storm after the drop: {}", amp(35.0, 60.0));
    let total = rows(&ts, "total", "all");
    let good = |from, to| sum_between(&total, "goodput_work_s", from, to) / sum_between(&total, "work_s", from, to);
    assert!(good(0.0, 20.0) > 0.99, "all work is useful before the drop: {}", good(0.0, 20.0));
    assert!(good(35.0, 60.0) < 0.1, "most work is wasted in the storm: {}", good(35.0, 60.0));
    let whole = f(&s, "work.goodput_ratio");
    assert!(whole < 0.5, "goodput ratio over the run: {whole}");

    let (_, s, ts) = run(&load("retry-storm-budget"), &RunOptions::default());
    let total = rows(&ts, "total", "all");
    let good = |from, to| sum_between(&total, "goodput_work_s", from, to) / sum_between(&total, "work_s", from, to);
    assert!(good(35.0, 60.0) > 0.99, "with a budget the work is useful again: {}", good(35.0, 60.0));
    assert!(f(&s, "work.goodput_ratio") > 0.8);
    let api_db = rows(&ts, "call", "api->db");
    assert!(sum_between(&api_db, "retries_denied", 20.0, 30.0) > 500.0, "the budget denies during the drop");
    assert_eq!(sum_between(&api_db, "retries_denied", 0.0, 20.0), 0.0, "nothing to deny before it");
}

#[test]
fn breaker_states_per_window_follow_the_outage() {
    let (_, _, ts) = run(&load("payment-outage"), &RunOptions::default());
    let points = rows(&ts, "call", "order->payment");
    let open_at = |t: f64| {
        let r = points.iter().find(|r| num(r, "window_start_s") == t).expect("a window at t");
        (num(r, "breakers_open"), num(r, "breakers_half_open"))
    };
    // Two order instances, each with its own breaker towards payment.
    assert_eq!(open_at(10.0), (0.0, 0.0), "closed before the outage");
    assert_eq!(open_at(25.0).0, 2.0, "both open during it");
    assert_eq!(open_at(59.0), (0.0, 0.0), "closed again after it");
    assert!(sum_between(&points, "breaker_opens", 0.0, 60.0) >= 2.0);
    assert!(sum_between(&points, "short_circuited", 20.0, 40.0) > 1_000.0);
    assert!(sum_between(&points, "fallbacks", 20.0, 40.0) > 1_000.0);
    // Points without a breaker leave the state cells empty.
    let gw = rows(&ts, "call", "gateway->order");
    assert!(gw.iter().all(|r| r["breakers_open"].is_empty()));
}
