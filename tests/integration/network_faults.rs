//! Network faults: partitions between zones or services (both ways or one way), packet
//! loss, and link degradation, each shown in the numbers; and Chaos Mesh-style target
//! selection with repeating faults.

use crate::common::{f, load_edited};
use meshsim::{Hooks, RunOptions};
use serde_json::{Value, json};

/// front in zone a (workers to spare) calls catalog, one instance in zone a and one in
/// zone b; a 1 s call timeout; 60 s at 400 requests/s; `faults` as given.
fn two_zones(faults: Value) -> meshsim::Scenario {
    load_edited("instance-crash", move |v| {
        v["discovery"] = json!({ "mode": "ideal" });
        v["network"] = json!({ "latency": "1ms" });
        v["gateway"]["zone"] = json!("a");
        v["services"]["front"]["zones"] = json!(["a"]);
        // Enough workers that calls waiting out their timeouts do not exhaust front.
        v["services"]["front"]["workers"] = json!(1024);
        v["services"]["catalog"]["replicas"] = json!(2);
        v["services"]["catalog"]["zones"] = json!(["a", "b"]);
        v["run"] = json!({ "duration": "60s", "drainTimeout": "10s" });
        v["faults"] = faults;
    })
}

fn run(sc: &meshsim::Scenario) -> (Value, Vec<u8>) {
    let mut ts = Vec::new();
    let r = meshsim::run(sc, &RunOptions::default(), Hooks { timeseries: Some(&mut ts), ..Hooks::default() }).unwrap();
    (meshsim::report::summary(sc, &r), ts)
}

/// Sum of a column over an instance's windows starting in [from, to).
fn instance_sum(ts: &[u8], inst: &str, col: &str, from: f64, to: f64) -> f64 {
    let mut r = csv::Reader::from_reader(ts);
    let i = r.headers().unwrap().iter().position(|h| h == col).unwrap();
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| &x[2] == "instance" && &x[3] == inst)
        .filter(|x| (from..to).contains(&x[0].parse::<f64>().unwrap()))
        .map(|x| x[i].parse::<f64>().unwrap())
        .sum()
}

#[test]
fn a_zone_partition_fails_calls_across_it_and_none_within_it() {
    let (s, ts) = run(&two_zones(json!([
        { "kind": "partition", "between": [["a"], ["b"]], "start": "20s", "duration": "20s" }
    ])));
    // Nothing reaches catalog-1 (zone b) while the partition lasts; catalog-0 works on.
    // (A request sent just before 20 s may still arrive in the first window.)
    assert_eq!(instance_sum(&ts, "catalog-1", "requests", 21.0, 40.0), 0.0);
    assert!(instance_sum(&ts, "catalog-1", "requests", 0.0, 20.0) > 3_000.0);
    assert!(instance_sum(&ts, "catalog-0", "requests", 21.0, 40.0) > 3_000.0);
    // Calls to zone b get no answer (lost at the partition: dropped when the caller's
    // timeout fires); all others are ok.
    let lost = f(&s, "services.catalog.requests.timeout") + f(&s, "services.catalog.requests.dropped");
    assert!((3_000.0..5_000.0).contains(&lost), "half of 20 s x 400/s: {lost}");
    assert_eq!(f(&s, "services.catalog.requests.ok") + lost, f(&s, "services.catalog.requests.total"));
}

#[test]
fn a_one_way_partition_lets_requests_in_but_no_answers_out() {
    // catalog cannot send to front: requests arrive, catalog works, answers are lost.
    let (s, _) = run(&two_zones(json!([
        { "kind": "partition", "services": [["catalog"], ["front"]], "direction": "one-way", "start": "20s", "duration": "10s" }
    ])));
    let lost = f(&s, "services.catalog.requests.timeout") + f(&s, "services.catalog.requests.dropped");
    assert!((3_500.0..4_500.0).contains(&lost), "10 s x 400/s: {lost}");
    let done = f(&s, "services.catalog.server.completed");
    assert!(done > f(&s, "services.catalog.requests.ok") + 3_500.0, "catalog did the work for the lost answers");
    // Both ways, nothing even arrives: no work is wasted.
    let (s, _) = run(&two_zones(json!([
        { "kind": "partition", "services": [["catalog"], ["front"]], "start": "20s", "duration": "10s" }
    ])));
    assert!(f(&s, "services.catalog.requests.timeout") + f(&s, "services.catalog.requests.dropped") > 3_500.0);
    let done = f(&s, "services.catalog.server.completed");
    assert!((done - f(&s, "services.catalog.requests.ok")).abs() < 5.0, "no work for requests that never arrived");
}

#[test]
fn loss_drops_the_configured_fraction() {
    // 20 % loss between zones a and b for the whole run: a call to catalog-1 survives
    // only if its request and its answer both do (0.8 x 0.8).
    let (s, ts) = run(&two_zones(json!([
        { "kind": "loss", "between": [["a"], ["b"]], "percent": 20, "start": "0s" }
    ])));
    let to_b = instance_sum(&ts, "catalog-1", "requests", 0.0, 61.0);
    let sent_to_b = to_b / 0.8;
    let failed = f(&s, "services.catalog.requests.timeout") + f(&s, "services.catalog.requests.dropped");
    let expected = sent_to_b * (1.0 - 0.64);
    assert!((failed - expected).abs() < 4.0 * expected.sqrt() + 30.0, "{failed} failed, {expected} expected");
    assert_eq!(instance_sum(&ts, "catalog-0", "error", 0.0, 61.0), 0.0, "zone a is untouched");
}

#[test]
fn link_degradation_adds_its_delay_and_faults_end_when_they_say() {
    let (s, ts) = run(&two_zones(json!([
        { "kind": "link-latency", "between": [["a"], ["b"]], "delay": "50ms", "start": "0s", "duration": "30s" }
    ])));
    // Calls to catalog-1 cross a-b twice: 100 ms more while it lasts, none after.
    let mean = |inst: &str, from: f64, to: f64| {
        let mut r = csv::Reader::from_reader(ts.as_slice());
        let rows: Vec<f64> = r
            .records()
            .map(|x| x.unwrap())
            .filter(|x| &x[2] == "instance" && &x[3] == inst && (from..to).contains(&x[0].parse::<f64>().unwrap()))
            .map(|x| x[13].parse::<f64>().unwrap())
            .collect();
        rows.iter().sum::<f64>() / rows.len() as f64
    };
    // The instance's own sojourn is unchanged; the route's latency shows the delay.
    assert!((mean("catalog-1", 5.0, 25.0) - mean("catalog-0", 5.0, 25.0)).abs() < 2.0);
    let p99 = f(&s, "routes.browse.latency_ms.p99");
    assert!(p99 > 100.0, "half the calls pay 100 ms: p99 {p99}");
    let route_mean_late = {
        let mut r = csv::Reader::from_reader(ts.as_slice());
        let rows: Vec<f64> = r
            .records()
            .map(|x| x.unwrap())
            .filter(|x| &x[2] == "route" && (35.0..60.0).contains(&x[0].parse::<f64>().unwrap()))
            .map(|x| x[13].parse::<f64>().unwrap())
            .collect();
        rows.iter().sum::<f64>() / rows.len() as f64
    };
    assert!(route_mean_late < 20.0, "after the fault ends: {route_mean_late} ms");
}

#[test]
fn health_checks_across_a_partition_fail_and_take_the_host_out() {
    let sc = load_edited("instance-crash", |v| {
        v["discovery"] = json!({ "mode": "ideal",
            "healthCheck": { "by": "proxy", "interval": "1s", "timeout": "500ms", "unhealthyThreshold": 2, "healthyThreshold": 1 } });
        v["gateway"]["zone"] = json!("a");
        v["services"]["front"]["zones"] = json!(["a"]);
        v["services"]["catalog"]["replicas"] = json!(2);
        v["services"]["catalog"]["zones"] = json!(["a", "b"]);
        v["faults"] = json!([{ "kind": "partition", "between": [["a"], ["b"]], "start": "20s", "duration": "20s" }]);
    });
    let mut ev = Vec::new();
    let r = meshsim::run(&sc, &RunOptions::default(), Hooks { events: Some(&mut ev), ..Hooks::default() }).unwrap();
    let events = String::from_utf8(ev).unwrap();
    let unhealthy: Vec<&str> = events.lines().filter(|l| l.contains("catalog-1,catalog,unhealthy")).collect();
    assert_eq!(unhealthy.len(), 2, "both front proxies: {events}");
    for l in &unhealthy {
        let t: f64 = l.split(',').next().unwrap().parse().unwrap();
        assert!((21.0..=23.0).contains(&t), "two failed checks a second apart: {l}");
    }
    assert!(events.lines().any(|l| l.contains("catalog-1,catalog,healthy")), "back after the partition");
    assert!(events.lines().all(|l| !l.contains("catalog-0,catalog,unhealthy")), "zone a's instance stays healthy");
    let s = meshsim::report::summary(&sc, &r);
    // Calls lost before the checks noticed: about 2 s of half the traffic.
    let lost = f(&s, "services.catalog.requests.timeout") + f(&s, "services.catalog.requests.dropped");
    assert!(lost > 100.0 && lost < 1_000.0, "{lost}");
}

/// Crashed instances per occurrence, from events.csv: (time, names).
fn crashes(events: &str) -> Vec<(f64, Vec<String>)> {
    let mut out: Vec<(f64, Vec<String>)> = Vec::new();
    for l in events.lines().filter(|l| l.split(',').nth(3) == Some("crashed")) {
        let t: f64 = l.split(',').next().unwrap().parse().unwrap();
        let name = l.split(',').nth(1).unwrap().to_string();
        match out.last_mut() {
            Some((u, v)) if *u == t => v.push(name),
            _ => out.push((t, vec![name])),
        }
    }
    out
}

fn chaos(target: Value) -> String {
    let sc = load_edited("instance-crash", move |v| {
        v["discovery"] = json!({ "mode": "ideal" });
        v["services"]["catalog"]["replicas"] = json!(4);
        v["services"]["catalog"]["zones"] = json!(["a", "a", "b", "b"]);
        v["faults"] = json!([{ "kind": "crash", "target": target, "start": "10s", "duration": "5s", "repeat": "20s" }]);
    });
    let mut ev = Vec::new();
    meshsim::run(&sc, &RunOptions::default(), Hooks { events: Some(&mut ev), ..Hooks::default() }).unwrap();
    String::from_utf8(ev).unwrap()
}

#[test]
fn target_modes_pick_instances_from_the_seeded_stream_at_each_occurrence() {
    // Every 20 s from 10 s, for 5 s, over a 100 s run: 5 occurrences.
    let one = crashes(&chaos(json!({ "service": "catalog", "mode": "one" })));
    assert_eq!(one.iter().map(|(t, _)| *t).collect::<Vec<_>>(), vec![10.0, 30.0, 50.0, 70.0, 90.0]);
    assert!(one.iter().all(|(_, v)| v.len() == 1));
    let distinct: std::collections::BTreeSet<&String> = one.iter().flat_map(|(_, v)| v).collect();
    assert!(distinct.len() > 1, "occurrences draw afresh: {one:?}");
    assert_eq!(one, crashes(&chaos(json!({ "service": "catalog", "mode": "one" }))), "and the same every run");
    let half = crashes(&chaos(json!({ "service": "catalog", "mode": "fixed-percent", "value": 50 })));
    assert!(half.iter().all(|(_, v)| v.len() == 2), "{half:?}");
    let fixed = crashes(&chaos(json!({ "service": "catalog", "mode": "fixed", "value": 3 })));
    assert!(fixed.iter().all(|(_, v)| v.len() == 3));
    let up_to = crashes(&chaos(json!({ "service": "catalog", "mode": "random-max-percent", "value": 100 })));
    assert!(up_to.iter().all(|(_, v)| v.len() <= 4));
    let zone_b = crashes(&chaos(json!({ "service": "catalog", "zone": "b" })));
    assert!(zone_b.iter().all(|(_, v)| v == &vec!["catalog-2".to_string(), "catalog-3".to_string()]), "{zone_b:?}");
    // Each occurrence ends when it says: a restart 5 s after each crash.
    let events = chaos(json!({ "service": "catalog", "mode": "one" }));
    let restarts: Vec<f64> = events
        .lines()
        .filter(|l| l.split(',').nth(3) == Some("restarted"))
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(restarts, vec![15.0, 35.0, 55.0, 75.0, 95.0]);
}

#[test]
fn a_load_fault_adds_its_rate_on_its_route_while_it_lasts() {
    let sc = load_edited("baseline", |v| {
        v["faults"] = json!([{ "kind": "load", "route": "cart", "rate": 600, "start": "20s", "duration": "10s" }]);
    });
    let (_, ts) = run(&sc);
    let per_s = |route: &str, from: f64, to: f64| -> f64 {
        let mut r = csv::Reader::from_reader(ts.as_slice());
        let n: f64 = r
            .records()
            .map(|x| x.unwrap())
            .filter(|x| &x[2] == "route" && &x[3] == route && (from..to).contains(&x[0].parse::<f64>().unwrap()))
            .map(|x| x[4].parse::<f64>().unwrap())
            .sum();
        n / (to - from)
    };
    // cart gets 17 % of 1,500/s (255/s) normally, 600/s more during the surge.
    let (before, during, after) = (per_s("cart", 6.0, 20.0), per_s("cart", 21.0, 30.0), per_s("cart", 31.0, 60.0));
    assert!((before - 255.0).abs() < 25.0, "{before}");
    assert!((during - before - 600.0).abs() < 40.0, "{during}");
    assert!((after - 255.0).abs() < 25.0, "{after}");
    // Only cart: browse is as before.
    assert!((per_s("browse", 21.0, 30.0) - per_s("browse", 6.0, 20.0)).abs() < 60.0);
}
