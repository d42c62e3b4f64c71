//! The simulator against queueing theory: M/M/1, M/M/c (Erlang C), M/D/1
//! (Pollaczek–Khinchine) and a chain of M/M/c stations, plus Little's law at every station.
//!
//! Each check asks for both: the theoretical mean sojourn inside the run's 95 %
//! batch-means confidence interval, and within 2 % of it.

use crate::common::{f, load, load_edited, run};
use meshsim::RunOptions;
use serde_json::{Value, json};

/// Erlang C: the probability that an arrival waits in an M/M/c queue, a = lambda / mu.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    // `term` is now a^c / c!.
    let top = term * f64::from(c) / (f64::from(c) - a);
    top / (sum + top)
}

/// Mean time in an M/M/c system, in milliseconds.
fn mmc_w_ms(c: u32, lambda: f64, mu: f64) -> f64 {
    let wq = erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda);
    1e3 * (wq + 1.0 / mu)
}

fn assert_matches_theory(summary: &Value, what: &str, theory_ms: f64) {
    let mean = f(summary, "latency_ms.mean");
    let ci = f(summary, "latency_ms.mean_ci95");
    let rel = (mean - theory_ms).abs() / theory_ms;
    println!("{what}: simulated {mean:.3} ± {ci:.3} ms, theory {theory_ms:.3} ms, error {:.3} %", 100.0 * rel);
    assert!(
        (mean - theory_ms).abs() <= ci,
        "{what}: theory {theory_ms:.3} ms is outside the 95% interval {mean:.3} ± {ci:.3} ms"
    );
    assert!(rel < 0.02, "{what}: {mean:.3} ms is {:.2} % from theory {theory_ms:.3} ms", 100.0 * rel);
}

/// Little's law, L = lambda W, at every instance and every service, within 1 %.
fn assert_little_everywhere(summary: &Value) {
    let groups = [("instances", ""), ("services", "server.")];
    for (group, prefix) in groups {
        for (name, v) in summary[group].as_object().expect("an object") {
            let ratio = f(v, &format!("{prefix}little.L_over_lambda_W"));
            assert!((ratio - 1.0).abs() < 0.01, "Little's law at {group}.{name}: L / (lambda W) = {ratio}");
        }
    }
}

#[test]
fn mm1_mean_sojourn_matches_theory() {
    let sc = load("mm1");
    let (_, s, _) = run(&sc, &RunOptions::default());
    // W = 1 / (mu - lambda) with mu = 100/s, lambda = 70/s.
    assert_matches_theory(&s, "M/M/1", 1e3 / (100.0 - 70.0));
    assert_little_everywhere(&s);
    // The utilisation is rho.
    assert!((f(&s, "instances.station-0.utilization") - 0.7).abs() < 0.01);
}

#[test]
fn mmc_mean_sojourn_matches_erlang_c() {
    let sc = load("mmc");
    let (_, s, _) = run(&sc, &RunOptions::default());
    let theory = mmc_w_ms(4, 280.0, 100.0);
    assert!((theory - 13.572).abs() < 1e-3, "the scenario's description quotes 13.572 ms");
    assert_matches_theory(&s, "M/M/4", theory);
    assert_little_everywhere(&s);
    // The mean wait is Erlang C / (c mu - lambda): 3.572 ms.
    let wait = f(&s, "instances.station-0.wait_ms_mean");
    assert!((wait - (theory - 10.0)).abs() / (theory - 10.0) < 0.04, "mean wait {wait}");
}

#[test]
fn md1_mean_sojourn_matches_pollaczek_khinchine() {
    // M/D/1: the M/M/1 scenario with a constant 10 ms service time.
    let sc = load_edited("mm1", |v| {
        v["services"]["station"]["endpoints"]["work"]["serviceTime"] = json!("10ms");
    });
    let (_, s, _) = run(&sc, &RunOptions::default());
    // Wq = lambda E[S^2] / (2 (1 - rho)); E[S^2] = D^2 for a constant service time.
    let (lambda, d) = (70.0, 0.010);
    let rho: f64 = lambda * d;
    let wq = lambda * d * d / (2.0 * (1.0 - rho));
    assert_matches_theory(&s, "M/D/1", 1e3 * (wq + d));
    assert_little_everywhere(&s);
}

#[test]
fn mg1_gamma_service_matches_pollaczek_khinchine() {
    // M/G/1 with Erlang-2 service (mean 10 ms): E[S^2] = Var + mean^2 = mean^2 (1/k + 1).
    let sc = load_edited("mm1", |v| {
        v["services"]["station"]["endpoints"]["work"]["serviceTime"] =
            json!({"type": "erlang", "k": 2, "mean": "10ms"});
    });
    let (_, s, _) = run(&sc, &RunOptions::default());
    let (lambda, mean): (f64, f64) = (70.0, 0.010);
    let es2 = mean * mean * 1.5;
    let wq = lambda * es2 / (2.0 * (1.0 - lambda * mean));
    assert_matches_theory(&s, "M/E2/1", 1e3 * (wq + mean));
}

#[test]
fn chain_of_three_stations_adds_up() {
    let sc = load("chain");
    let (_, s, _) = run(&sc, &RunOptions::default());
    // Three M/M/4 stations (Burke: each sees Poisson arrivals) and four 1 ms hops.
    let theory = 3.0 * mmc_w_ms(4, 280.0, 100.0) + 4.0;
    assert_matches_theory(&s, "chain", theory);
    assert_little_everywhere(&s);
    for station in ["a", "b", "c"] {
        let wait = f(&s, &format!("services.{station}.server.wait_ms_mean"));
        assert!((wait - 3.572).abs() / 3.572 < 0.05, "{station} waits {wait} ms on average");
    }
}

#[test]
fn lifo_keeps_the_mean_but_widens_the_tail() {
    // Work-conserving disciplines share the mean sojourn (M/M/1: 33.3 ms); LIFO has the
    // heavier tail.
    let fifo = load("mm1");
    let lifo = load_edited("mm1", |v| {
        v["services"]["station"]["queue"] = json!({"discipline": "lifo"});
    });
    let opts = RunOptions { requests: Some(400_000), ..Default::default() };
    let (_, sf, _) = run(&fifo, &opts);
    let (_, sl, _) = run(&lifo, &opts);
    let theory = 1e3 / 30.0;
    for (name, s) in [("fifo", &sf), ("lifo", &sl)] {
        let mean = f(s, "latency_ms.mean");
        assert!((mean - theory).abs() / theory < 0.03, "{name} mean {mean}");
    }
    assert!(f(&sl, "latency_ms.p999") > 1.5 * f(&sf, "latency_ms.p999"));
}
