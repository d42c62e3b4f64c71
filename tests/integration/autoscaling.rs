//! The horizontal autoscaler end to end, on scenarios/autoscale-spike.json: decisions at
//! the evaluation times only, the scale-out lag (interval plus start-up), the scale-in
//! held back by the stabilisation window, policies and the maximum bounding the steps,
//! `scale` lifecycle actions, and determinism.

use crate::common::{load, load_edited};
use meshsim::{Hooks, RunOptions, RunResult, Scenario};
use serde_json::{Value, json};

/// What one run wrote: the result, summary.json, and the CSV rows of autoscaling.csv,
/// events.csv and timeseries.csv.
struct Run {
    result: RunResult,
    summary: Value,
    autoscaling: Vec<Eval>,
    events: Vec<csv::StringRecord>,
    timeseries: Vec<csv::StringRecord>,
    bytes: (Vec<u8>, Vec<u8>, Vec<u8>),
}

/// A row of autoscaling.csv.
#[derive(Debug, Clone)]
struct Eval {
    time: f64,
    replicas: u32,
    recommended: u32,
    desired: u32,
    ready: u32,
    unready: u32,
    metric: Option<f64>,
    reason: String,
}

fn rows(bytes: &[u8]) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(bytes).records().map(|r| r.expect("a CSV row")).collect()
}

fn run(sc: &Scenario) -> Run {
    let (mut ts, mut ev, mut au) = (Vec::new(), Vec::new(), Vec::new());
    let hooks =
        Hooks { timeseries: Some(&mut ts), events: Some(&mut ev), autoscaling: Some(&mut au), ..Hooks::default() };
    let result = meshsim::run(sc, &RunOptions::default(), hooks).expect("run writes to memory");
    let summary = meshsim::report::summary(sc, &result);
    let autoscaling = rows(&au)
        .iter()
        .map(|r| Eval {
            time: r[0].parse().unwrap(),
            replicas: r[2].parse().unwrap(),
            recommended: r[3].parse().unwrap(),
            desired: r[4].parse().unwrap(),
            ready: r[5].parse().unwrap(),
            unready: r[6].parse().unwrap(),
            metric: r[7].parse().ok(),
            reason: r[8].to_string(),
        })
        .collect();
    Run { result, summary, autoscaling, events: rows(&ev), timeseries: rows(&ts), bytes: (au, ev, ts) }
}

fn spike() -> Run {
    run(&load("autoscale-spike"))
}

/// Rows of events.csv with this event, as (time, instance, detail).
fn events(r: &Run, event: &str) -> Vec<(f64, String, String)> {
    r.events
        .iter()
        .filter(|e| &e[3] == event)
        .map(|e| (e[0].parse().unwrap(), e[1].to_string(), e[4].to_string()))
        .collect()
}

fn changes(r: &Run) -> Vec<Eval> {
    r.autoscaling.iter().filter(|e| e.desired != e.replicas).cloned().collect()
}

#[test]
fn evaluations_happen_exactly_at_multiples_of_the_interval() {
    let r = spike();
    assert!(r.autoscaling.len() > 40, "{} evaluations", r.autoscaling.len());
    for (k, e) in r.autoscaling.iter().enumerate() {
        assert_eq!(e.time, 15.0 * (k as f64 + 1.0), "evaluation {k} is at {} s", e.time);
    }
    // Every scale decision in events.csv is one of those evaluations, and changes the
    // count as autoscaling.csv says.
    let decided: Vec<(f64, String)> = events(&r, "scale-out")
        .into_iter()
        .chain(events(&r, "scale-in"))
        .map(|(t, who, detail)| {
            assert_eq!(who, "autoscaler");
            (t, detail)
        })
        .collect();
    let mut expected: Vec<(f64, String)> =
        changes(&r).iter().map(|e| (e.time, format!("{} -> {} replicas", e.replicas, e.desired))).collect();
    let mut decided_sorted = decided.clone();
    decided_sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    expected.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(decided_sorted.len(), expected.len());
    for ((t, detail), (te, prefix)) in decided_sorted.iter().zip(&expected) {
        assert_eq!(t, te);
        assert!(detail.starts_with(prefix.as_str()), "{detail} vs {prefix}");
    }
    assert!(!expected.is_empty(), "the spike makes the autoscaler act");
}

#[test]
fn the_first_scale_out_is_the_first_evaluation_after_the_spike() {
    let r = spike();
    // Before the spike (60 s) the pods are at about 50 %: below the 60 % target by more
    // than the tolerance, and ceil(3 * 50 / 60) = 3 keeps the count.
    for e in r.autoscaling.iter().filter(|e| e.time <= 60.0) {
        assert_eq!((e.replicas, e.desired), (3, 3), "{e:?}");
        let m = e.metric.expect("3 ready pods");
        assert!((40.0..60.0).contains(&m), "utilisation {m} % before the spike");
    }
    let first = &changes(&r)[0];
    assert_eq!((first.time, first.replicas), (75.0, 3), "{first:?}");
    // Saturated pods: the 15 s average is close to 100 %, ratio about 1.67 -> 5.
    assert!(first.metric.unwrap() > 90.0, "{first:?}");
    assert_eq!(first.desired, 5);
    let a = &r.summary["autoscaling"]["api"];
    assert_eq!(a["first_scale_out_s"], json!(75.0));
    assert_eq!(a["spike_to_first_scale_out_s"], json!(15.0));
}

#[test]
fn new_pods_serve_only_after_their_startup_time() {
    let r = spike();
    let started = events(&r, "started");
    let serving = events(&r, "serving");
    assert!(started.len() >= 5, "{started:?}");
    for (t, inst, _) in &started {
        // Each start is at an evaluation, and the pod serves exactly 20 s later, not before.
        assert_eq!(t % 15.0, 0.0, "{inst} started at {t}");
        let s = serving.iter().find(|(ts, i, _)| i == inst && ts >= t).expect("the pod serves");
        assert!((s.0 - (t + 20.0)).abs() < 1e-9, "{inst} started at {t} served at {}", s.0);
    }
    // While the two new pods start (75 s to 95 s), the evaluation at 90 s counts them as
    // unready, assumed idle: 3 saturated pods over 5 make 60 %, on target: no change.
    let at90 = r.autoscaling.iter().find(|e| e.time == 90.0).unwrap();
    assert_eq!((at90.replicas, at90.desired, at90.ready, at90.unready), (5, 5, 3, 2), "{at90:?}");
    // The new pods join the metric only once ready through a whole interval: unready at 105 s too.
    let at105 = r.autoscaling.iter().find(|e| e.time == 105.0).unwrap();
    assert_eq!((at105.ready, at105.unready), (3, 2), "{at105:?}");
    let a = &r.summary["autoscaling"]["api"];
    assert_eq!(a["first_ready_after_scale_out_s"], json!(95.0));
    assert_eq!(a["scale_out_lag_s"], json!(20.0));
}

/// Per window of the route, (start, errors share, p99 ms).
fn route_windows(r: &Run) -> Vec<(f64, f64, f64)> {
    r.timeseries
        .iter()
        .filter(|w| &w[2] == "route")
        .map(|w| {
            let n: f64 = w[4].parse().unwrap();
            let ok: f64 = w[5].parse().unwrap();
            (w[0].parse().unwrap(), if n > 0.0 { 1.0 - ok / n } else { 0.0 }, w[17].parse().unwrap_or(0.0))
        })
        .collect()
}

#[test]
fn users_see_errors_during_the_lag_and_none_once_scaled_out() {
    let r = spike();
    let w = route_windows(&r);
    let before: Vec<_> = w.iter().filter(|x| x.0 >= 10.0 && x.0 < 60.0).collect();
    let lag: Vec<_> = w.iter().filter(|x| x.0 >= 65.0 && x.0 < 95.0).collect();
    let after: Vec<_> = w.iter().filter(|x| x.0 >= 150.0 && x.0 < 240.0).collect();
    assert!(before.iter().all(|x| x.1 == 0.0), "errors before the spike: {before:?}");
    assert!(lag.iter().all(|x| x.1 > 0.2 && x.2 > 150.0), "the lag should hurt: {lag:?}");
    assert!(after.iter().all(|x| x.1 == 0.0 && x.2 < 150.0), "scaled out, all is well: {after:?}");
    // The replica count per window is visible in timeseries.csv's service rows.
    let up: Vec<(f64, u32)> = r
        .timeseries
        .iter()
        .filter(|x| &x[2] == "service")
        .map(|x| (x[0].parse().unwrap(), x[36].parse().unwrap()))
        .collect();
    assert!(up.iter().any(|&(t, n)| (150.0..240.0).contains(&t) && n >= 7), "{up:?}");
    assert!(up.iter().filter(|&&(t, _)| t < 60.0).all(|&(_, n)| n == 3));
}

#[test]
fn scale_in_waits_for_the_stabilization_window() {
    let r = spike();
    let ins: Vec<Eval> = changes(&r).into_iter().filter(|e| e.desired < e.replicas).collect();
    assert!(!ins.is_empty(), "the run is long enough to scale in");
    // The load falls at 240 s; the last high recommendation is at 240 s at the latest, so
    // no scale-in before 540 s.
    assert!(ins[0].time >= 540.0, "{:?}", ins[0]);
    for e in &ins {
        // Every scale-in keeps the highest recommendation of the 300 s before it (the window
        // is open at its start), or the minimum.
        let highest =
            r.autoscaling.iter().filter(|x| x.time > e.time - 300.0 && x.time <= e.time).map(|x| x.recommended).max();
        assert_eq!(e.desired, highest.unwrap().max(3), "{e:?}");
    }
    // And before the first scale-in, utilisation was below the target for a long time.
    let low = r.autoscaling.iter().filter(|x| x.time > 250.0 && x.time < ins[0].time);
    assert!(
        low.clone().all(|x| x.reason == "stabilized" && x.recommended < x.replicas),
        "{:?}",
        low.collect::<Vec<_>>()
    );
    assert_eq!(r.summary["autoscaling"]["api"]["replicas_min_seen"], json!(3));
}

#[test]
fn max_replicas_bounds_the_scale_out() {
    let sc = load_edited("autoscale-spike", |v| v["services"]["api"]["autoscaler"]["maxReplicas"] = json!(4));
    let r = run(&sc);
    assert!(r.autoscaling.iter().all(|e| e.desired <= 4));
    assert!(r.autoscaling.iter().any(|e| e.reason == "max-replicas" && e.desired == 4 && e.recommended > 4));
    assert_eq!(r.summary["autoscaling"]["api"]["replicas_max_seen"], json!(4));
    // The pool is sized from the autoscaler: 4 instances.
    assert_eq!(sc.services[0].instances.len(), 4);
}

#[test]
fn a_pods_policy_limits_each_step() {
    let sc = load_edited("autoscale-spike", |v| {
        v["services"]["api"]["autoscaler"]["scaleUp"] =
            json!({ "policies": [ { "type": "Pods", "value": 1, "period": "30s" } ] });
    });
    let r = run(&sc);
    let outs: Vec<Eval> = changes(&r).into_iter().filter(|e| e.desired > e.replicas).collect();
    assert!(outs.len() >= 3, "{outs:?}");
    for e in &outs {
        assert_eq!(e.desired, e.replicas + 1, "{e:?}");
    }
    // At most one pod per 30 s: no two scale-outs 15 s apart.
    for pair in outs.windows(2) {
        assert!(pair[1].time - pair[0].time >= 30.0, "{pair:?}");
    }
    assert!(r.autoscaling.iter().any(|e| e.reason == "rate-limited"));
}

#[test]
fn a_scale_action_sets_the_count_the_autoscaler_manages() {
    let sc = load_edited("autoscale-spike", |v| {
        v["lifecycle"] = json!([{ "at": "400s", "action": "scale", "service": "api", "replicas": 10 }]);
    });
    let r = run(&sc);
    let next = r.autoscaling.iter().find(|e| e.time > 400.0).unwrap();
    assert_eq!(next.replicas, 10, "{next:?}");
    assert_eq!(r.summary["autoscaling"]["api"]["replicas_max_seen"].as_u64().unwrap(), 10);
}

#[test]
fn a_queue_target_scales_on_queued_requests() {
    let sc = load_edited("autoscale-spike", |v| {
        let a = &mut v["services"]["api"]["autoscaler"];
        a["metric"] = json!("queue");
        a["target"] = json!(2);
    });
    let r = run(&sc);
    let first = &changes(&r)[0];
    assert_eq!(first.time, 75.0);
    assert!(first.metric.unwrap() > 2.0 * 1.1, "{first:?}");
    assert_eq!(r.summary["autoscaling"]["api"]["metric"], json!("queue"));
}

#[test]
fn replica_seconds_integrate_the_managed_count() {
    let r = spike();
    let end = r.result.end.as_secs_f64();
    // Sum the count between changes, starting at 3, as the autoscaler set it.
    let mut total = 0.0;
    let (mut last, mut n) = (0.0, 3.0);
    for e in changes(&r) {
        total += n * (e.time - last);
        last = e.time;
        n = f64::from(e.desired);
    }
    total += n * (end - last);
    let reported = r.summary["autoscaling"]["api"]["replica_seconds"].as_f64().unwrap();
    assert!((reported - total).abs() < 0.01, "{reported} vs {total}");
    assert!(reported > 3.0 * end, "the spike costs more than 3 replicas throughout");
}

#[test]
fn runs_are_deterministic_and_others_unaffected() {
    let a = spike();
    let b = spike();
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(a.summary, b.summary);
    // Without an autoscaler: no autoscaling.csv rows, no summary part.
    let sc = load_edited("autoscale-spike", |v| {
        v["services"]["api"].as_object_mut().unwrap().shift_remove("autoscaler");
    });
    let r = run(&sc);
    assert!(r.bytes.0.is_empty());
    assert!(r.summary.get("autoscaling").is_none());
    assert!(r.result.autoscaling.is_empty());
}

#[test]
fn a_crashed_pod_is_unready_a_hung_one_has_no_metrics() {
    let crashed = run(&load_edited("autoscale-spike", |v| {
        v["lifecycle"] = json!([{ "at": "20s", "action": "crash", "instance": "api-2" }]);
    }));
    let at45 = crashed.autoscaling.iter().find(|e| e.time == 45.0).unwrap();
    assert_eq!((at45.ready, at45.unready, at45.desired), (2, 1, 3), "{at45:?}");
    // 2 pods at about 75 % would ask for ceil(1.25 * 2) = 3 anyway; the crashed pod, counted
    // as idle, keeps it there. The spike's scale-out restarts the crashed pod first.
    let first = &changes(&crashed)[0];
    assert_eq!(first.time, 75.0);
    let restarted = events(&crashed, "restarted");
    assert_eq!(restarted.first().map(|r| (r.0, r.1.as_str())), Some((75.0, "api-2")), "{restarted:?}");

    let hung = run(&load_edited("autoscale-spike", |v| {
        v["lifecycle"] = json!([{ "at": "20s", "action": "hang", "instance": "api-2" }]);
    }));
    // A hung pod still looks ready (no probe finds it out): neither ready nor unready for
    // the metric, but missing.
    let at45 = hung.autoscaling.iter().find(|e| e.time == 45.0).unwrap();
    assert_eq!((at45.ready, at45.unready), (2, 0), "{at45:?}");
}
