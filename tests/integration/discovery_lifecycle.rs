//! Instance lifecycle and discovery: how long each mechanism takes to notice a crash
//! (TTL, refresh, health checks), that nothing is routed to an instance every view has
//! dropped, that a graceful stop loses nothing, that a crash loses exactly the work on
//! the instance, and scaling. On `instance-crash.json` and edits of it.

use crate::common::{f, load, load_edited};
use meshsim::{Hooks, RunOptions};
use serde_json::{Value, json};

/// Runs a scenario, returning summary.json, timeseries.csv and events.csv.
fn run(sc: &meshsim::Scenario) -> (Value, Vec<u8>, String) {
    let (mut ts, mut ev) = (Vec::new(), Vec::new());
    let hooks = Hooks { timeseries: Some(&mut ts), events: Some(&mut ev), ..Hooks::default() };
    let r = meshsim::run(sc, &RunOptions::default(), hooks).expect("runs");
    (meshsim::report::summary(sc, &r), ts, String::from_utf8(ev).unwrap())
}

/// (window start, column) of one scope/name.
fn series(ts: &[u8], scope: &str, name: &str, col: &str) -> Vec<(f64, String)> {
    let mut r = csv::Reader::from_reader(ts);
    let i = r.headers().unwrap().iter().position(|h| h == col).unwrap();
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| &x[2] == scope && &x[3] == name)
        .map(|x| (x[0].parse().unwrap(), x[i].to_string()))
        .collect()
}

fn detection(s: &Value) -> &Value {
    &s["discovery"]["detections"][0]
}

/// The crash scenario without refresh jitter, so each mechanism's bound is exact.
fn exact(edit: impl FnOnce(&mut Value)) -> meshsim::Scenario {
    load_edited("instance-crash", |v| {
        v["discovery"]["refreshJitter"] = json!("0s");
        // Crash between heartbeats: at 25 s, 5 s after the last one (at 20 s).
        v["faults"][0]["start"] = json!("25s");
        edit(v);
    })
}

#[test]
fn the_registry_notices_at_the_ttl_and_the_views_at_their_next_refresh() {
    let (s, _, events) = run(&exact(|_| {}));
    let d = detection(&s);
    // Last heartbeat at 20 s, ttl 30 s: expired at 50 s, 25 s after the crash.
    assert_eq!(f(d, "registry_detect_s"), 25.0);
    assert!(events.contains("50.000000,catalog-1,catalog,expired"), "{events}");
    // Views refresh every 30 s from 0: the first refresh after the expiry is at 60 s.
    assert_eq!(f(d, "views_listing_it"), 2.0);
    assert_eq!(f(d, "views_detected"), 2.0);
    assert!((f(d, "view_detect_s_max") - 35.0).abs() < 1e-3, "{d}");
    // A shorter ttl and refresh interval shorten both in step.
    let (s, _, _) = run(&exact(|v| {
        v["discovery"]["registry"]["ttl"] = json!("12s");
        v["discovery"]["refreshInterval"] = json!("5s");
    }));
    let d = detection(&s);
    assert_eq!(f(d, "registry_detect_s"), 7.0, "20 s + 12 s - 25 s");
    assert!((f(d, "view_detect_s_max") - 10.0).abs() < 1e-3, "refresh at 35 s: {d}");
}

#[test]
fn health_checks_notice_within_interval_times_threshold() {
    for (interval, threshold) in [(2.0, 2u32), (1.0, 3), (5.0, 1)] {
        let (s, _, _) = run(&exact(|v| {
            v["discovery"]["healthCheck"] = json!({ "by": "proxy", "interval": format!("{interval}s"),
                "timeout": "500ms", "unhealthyThreshold": threshold, "healthyThreshold": 1 });
        }));
        let d = detection(&s);
        assert_eq!(f(d, "health_checks_detected"), 2.0, "both front proxies");
        let t = f(d, "health_check_detect_s_max");
        // Checks come every interval; the failing ones count from the first after the
        // crash, plus a round trip.
        let bound = interval * f64::from(threshold) + 0.01;
        assert!(t > interval * f64::from(threshold - 1) && t <= bound, "{interval} x {threshold}: {t}");
    }
}

#[test]
fn nothing_reaches_the_instance_once_every_view_dropped_it() {
    let sc = exact(|_| {});
    let (s, ts, _) = run(&sc);
    let gone = 25.0 + f(detection(&s), "view_detect_s_max");
    let restart = 25.0 + f(detection(&s), "restarted_after_s");
    let rows = series(&ts, "instance", "catalog-1", "requests");
    let mut before = 0.0;
    for (t, n) in &rows {
        let n: f64 = n.parse().unwrap();
        // (A request sent just before the last view dropped it arrives a moment later.)
        if *t >= gone.ceil() + 1.0 && *t < restart {
            assert_eq!(n, 0.0, "catalog-1 got requests at {t} s, after every view dropped it at {gone} s");
        }
        if *t >= 26.0 && *t < gone.floor() {
            before += n;
        }
    }
    assert!(before > 1_000.0, "until then the stale views keep sending it requests: {before}");
    // Every error is a request refused by the dead instance or one it lost as it crashed.
    let dead = f(&s, "instances.catalog-1.sent_to_dead") + f(&s, "instances.catalog-1.lost_in_crash");
    assert_eq!(dead, f(&s, "routes.browse.requests.error"));
    // The time series shows the registry and the views catching up with the crash.
    let up = series(&ts, "service", "catalog", "instances_up");
    let listed = series(&ts, "service", "catalog", "registry_listed");
    let view = series(&ts, "service", "catalog", "view_mean");
    let at = |s: &[(f64, String)], t: f64| s.iter().find(|(x, _)| *x == t).unwrap().1.clone();
    assert_eq!((at(&up, 30.0), at(&listed, 30.0), at(&view, 30.0)), ("2".into(), "3".into(), "3.000".into()));
    assert_eq!((at(&up, 55.0), at(&listed, 55.0), at(&view, 55.0)), ("2".into(), "2".into(), "3.000".into()));
    assert_eq!((at(&up, 62.0), at(&listed, 62.0), at(&view, 62.0)), ("2".into(), "2".into(), "2.000".into()));
}

#[test]
fn a_crash_loses_exactly_the_work_in_flight_on_the_instance() {
    // A process that dies resets its connections: its callers learn at once, and with
    // ideal discovery nothing new is sent to it.
    let sc = exact(|v| {
        v["discovery"] = json!({ "mode": "ideal" });
        v["workload"]["arrivals"]["rate"] = json!(3000);
    });
    let (s, _, events) = run(&sc);
    let lost = f(&s, "instances.catalog-1.lost_in_crash");
    assert!(lost > 0.0, "jobs were in flight at the crash");
    assert!(events.contains("25.000000,catalog-1,catalog,crashed,reset"));
    assert_eq!(f(&s, "instances.catalog-1.sent_to_dead"), 0.0);
    assert_eq!(f(&s, "requests.failed"), lost, "failed requests are the lost jobs");
    assert_eq!(f(&s, "services.catalog.requests.dropped"), lost, "seen as resets");
    // A hung host answers nothing: what it had and everything sent to it until it is
    // found out (here never: no probe, no check) times out at the caller.
    let sc = exact(|v| {
        v["faults"][0]["mode"] = json!("hang");
        v["discovery"] = json!({ "mode": "ideal" });
        v["workload"]["arrivals"]["rate"] = json!(3000);
    });
    let (s, _, events) = run(&sc);
    let lost = f(&s, "instances.catalog-1.lost_in_crash");
    assert!(lost > 0.0);
    assert!(events.contains("25.000000,catalog-1,catalog,crashed,hang"));
    let timeouts = f(&s, "services.catalog.requests.timeout");
    assert_eq!(timeouts, lost + f(&s, "instances.catalog-1.sent_to_dead"));
    // Each hung call holds a front worker for its whole 1 s timeout: front runs out of
    // workers and fails far more requests than the hang itself.
    assert!(f(&s, "requests.failed") > 10.0 * timeouts);
}

#[test]
fn a_graceful_stop_finishes_what_it_has_and_loses_nothing() {
    let sc = load_edited("instance-crash", |v| {
        v["faults"] = json!([]);
        v["discovery"] = json!({ "mode": "ideal" });
        v["workload"]["arrivals"]["rate"] = json!(3000);
        v["lifecycle"] = json!([{ "at": "20s", "action": "stop", "instance": "catalog-1" },
                                { "at": "40s", "action": "start", "instance": "catalog-1" }]);
    });
    let (s, ts, events) = run(&sc);
    assert_eq!(f(&s, "requests.failed"), 0.0, "no request lost or refused");
    assert_eq!(f(&s, "instances.catalog-1.lost_in_crash"), 0.0);
    let stopping = events.lines().find(|l| l.contains("catalog-1,catalog,stopping")).unwrap();
    let stopped = events.lines().find(|l| l.contains("catalog-1,catalog,stopped")).unwrap();
    let t = |l: &str| l.split(',').next().unwrap().parse::<f64>().unwrap();
    assert!(t(stopped) > t(stopping) && t(stopped) < t(stopping) + 0.5, "drained in a moment: {events}");
    // Back after its 5 s start-up time.
    assert!(events.contains("45.000000,catalog-1,catalog,ready"), "{events}");
    let up = series(&ts, "service", "catalog", "instances_up");
    assert_eq!(up.iter().find(|(x, _)| *x == 30.0).unwrap().1, "2");
    assert_eq!(up.iter().find(|(x, _)| *x == 50.0).unwrap().1, "3");
}

#[test]
fn scaling_out_and_in_changes_who_serves() {
    let sc = load_edited("instance-crash", |v| {
        v["faults"] = json!([]);
        v["services"]["catalog"]["maxReplicas"] = json!(5);
        v["lifecycle"] = json!([{ "at": "20s", "action": "scale", "service": "catalog", "replicas": 5 },
                                { "at": "60s", "action": "scale", "service": "catalog", "replicas": 2 }]);
    });
    let (s, ts, events) = run(&sc);
    // Scaling in deregisters at once, but the views are stale for up to 35 s: requests
    // still sent to the stopped instances are refused, and those are all that fail.
    let refused: f64 = (2..5).map(|i| f(&s, &format!("instances.catalog-{i}.sent_to_dead"))).sum();
    assert!(refused > 100.0);
    assert_eq!(f(&s, "requests.failed"), refused);
    for i in [3, 4] {
        assert!(events.contains(&format!("20.000000,catalog-{i},catalog,started")), "{events}");
        assert!(events.contains(&format!("25.000000,catalog-{i},catalog,registered")), "{events}");
        assert!(f(&s, &format!("instances.catalog-{i}.completed")) > 1_000.0, "catalog-{i} took traffic");
    }
    for i in [2, 3, 4] {
        assert!(events.contains(&format!("60.000000,catalog-{i},catalog,deregistered")), "{events}");
    }
    let up = series(&ts, "service", "catalog", "instances_up");
    let at = |t: f64| up.iter().find(|(x, _)| *x == t).unwrap().1.clone();
    assert_eq!((at(10.0), at(30.0), at(70.0)), ("3".into(), "5".into(), "2".into()));
    // With ideal discovery the proxies know at once: nothing fails.
    let ideal = load_edited("instance-crash", |v| {
        v["faults"] = json!([]);
        v["discovery"] = json!({ "mode": "ideal" });
        v["services"]["catalog"]["maxReplicas"] = json!(5);
        v["lifecycle"] = json!([{ "at": "20s", "action": "scale", "service": "catalog", "replicas": 5 },
                                { "at": "60s", "action": "scale", "service": "catalog", "replicas": 2 }]);
    });
    let (s, _, _) = run(&ideal);
    assert_eq!(f(&s, "requests.failed"), 0.0);
}

#[test]
fn the_protected_scenario_hides_the_crash_and_the_bare_one_does_not() {
    let (bare, _, _) = run(&load("instance-crash"));
    let (prot, _, _) = run(&load("instance-crash-protected"));
    assert!(f(&bare, "requests.failed") > 5_000.0, "tens of seconds of errors");
    assert!(f(&prot, "requests.failed") < 10.0, "{}", f(&prot, "requests.failed"));
    assert!(f(detection(&prot), "health_check_detect_s_max") < 5.0);
    assert!(f(detection(&bare), "view_detect_s_max") > 20.0);
}

/// The crash scenario with ideal discovery, Kubernetes probes on catalog, and catalog-1
/// hanging (not crashing) at 25 s for good.
fn probed(probes: Value) -> meshsim::Scenario {
    load_edited("instance-crash", move |v| {
        v["discovery"] = json!({ "mode": "ideal" });
        v["services"]["catalog"]["probes"] = probes;
        v["faults"] = json!([{ "kind": "crash", "mode": "hang", "target": { "service": "catalog", "instances": [1] }, "start": "25s" }]);
    })
}

fn event_times(events: &str, inst: &str, what: &str) -> Vec<f64> {
    events
        .lines()
        .filter(|l| l.contains(&format!(",{inst},")) && l.split(',').nth(3) == Some(what))
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn readiness_takes_a_hung_instance_out_without_restarting_it() {
    let sc = probed(json!({ "readiness": { "period": "2s", "timeout": "1s", "failureThreshold": 3 } }));
    let (s, ts, events) = run(&sc);
    // Probes tick every 2 s from 0; the one at 26 s is the first to time out (at 27 s);
    // the third failure, at 31 s, makes it unready.
    assert_eq!(event_times(&events, "catalog-1", "unready"), vec![31.0], "{events}");
    assert!(event_times(&events, "catalog-1", "killed").is_empty(), "no restart without liveness");
    assert!(event_times(&events, "catalog-1", "restarted").is_empty());
    // Until then requests hang and time out; after it, none is sent there.
    let sent = series(&ts, "instance", "catalog-1", "requests");
    assert!(sent.iter().filter(|(t, _)| *t >= 32.0).all(|(_, n)| n == "0"));
    // A third of 400 requests/s for the 6 s between the hang and the removal.
    let timeouts = f(&s, "services.catalog.requests.timeout");
    assert!((600.0..1_000.0).contains(&timeouts), "{timeouts}");
}

#[test]
fn liveness_restarts_a_hung_instance_after_its_failure_threshold() {
    let sc = probed(json!({
        "readiness": { "period": "1s", "timeout": "1s", "failureThreshold": 1 },
        "liveness": { "period": "2s", "timeout": "1s", "failureThreshold": 3 }
    }));
    let (s, _, events) = run(&sc);
    // Readiness first: the probe at 25 s (just after the hang) times out at 26 s.
    assert_eq!(event_times(&events, "catalog-1", "unready"), vec![26.0], "{events}");
    // Liveness probes at 26, 28 and 30 s time out 1 s later: killed at 31 s, restarted,
    // serving after the 5 s start-up time, ready at the next readiness probe.
    assert_eq!(event_times(&events, "catalog-1", "killed"), vec![31.0], "{events}");
    assert_eq!(event_times(&events, "catalog-1", "restarted"), vec![31.0]);
    assert_eq!(event_times(&events, "catalog-1", "serving"), vec![36.0]);
    let ready = event_times(&events, "catalog-1", "ready");
    assert!(ready.len() == 1 && ready[0] >= 36.0 && ready[0] <= 37.0, "{ready:?}");
    // Only requests caught by the hang before readiness noticed fail.
    assert!(f(&s, "requests.failed") < 1_000.0);
    assert!(f(&s, "instances.catalog-1.completed") > 10_000.0, "it serves again after the restart");
    assert_eq!(f(&s, "instances.catalog-1.probes.restarts"), 1.0);
    // Three that killed it, and two more while it started again (no startup probe gates
    // liveness: at 32 and 34 s it is still starting; at 36 s it serves).
    assert_eq!(f(&s, "instances.catalog-1.probes.by_kind.liveness.failures"), 5.0);
    assert_eq!(f(&s, "instances.catalog-0.probes.by_kind.liveness.failures"), 0.0);
}

#[test]
fn while_the_registry_is_down_clients_keep_their_last_view() {
    let sc = exact(|v| {
        v["faults"][0]["duration"] = json!("200s");
        v["faults"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "kind": "registry-outage", "start": "22s", "duration": "38s" }));
    });
    let (s, ts, _) = run(&sc);
    let listed = series(&ts, "service", "catalog", "registry_listed");
    let view = series(&ts, "service", "catalog", "view_mean");
    for t in [30.0, 40.0, 50.0, 59.0] {
        // Unreachable: the registry lists nothing anyone can read, the views keep all three.
        assert_eq!(listed.iter().find(|(x, _)| *x == t).unwrap().1, "0", "at {t}");
        assert_eq!(view.iter().find(|(x, _)| *x == t).unwrap().1, "3.000", "at {t}");
    }
    // Back at 60 s, every TTL starts again: catalog-1, silent since 25 s, expires at 90 s.
    assert_eq!(f(detection(&s), "registry_detect_s"), 65.0);
}

#[test]
fn a_config_push_reaches_every_proxy_within_its_propagation_delay() {
    // At 30 s the control plane cuts front's timeout to catalog to 2 ms (most calls take
    // longer); each proxy gets the push 1 to 10 s later.
    let sc = load_edited("instance-crash", |v| {
        v["faults"] = json!([]);
        v["discovery"] = json!({ "mode": "ideal" });
        v["configChanges"] = json!([{ "at": "30s",
            "propagation": { "type": "uniform", "min": "1s", "max": "10s" },
            "overrides": [ { "source": "front", "destination": "catalog", "timeout": "2ms" } ] }]);
    });
    let (s, ts, events) = run(&sc);
    let applied: Vec<(f64, String)> = events
        .lines()
        .filter(|l| l.split(',').nth(3) == Some("config-applied"))
        .map(|l| (l.split(',').next().unwrap().parse().unwrap(), l.split(',').nth(1).unwrap().to_string()))
        .collect();
    // Proxies: the gateway's (to front) and front-0's and front-1's (to catalog).
    assert_eq!(applied.len(), 3, "{events}");
    assert!(applied.iter().all(|(t, _)| (31.0..=40.0).contains(t)), "{applied:?}");
    let change = &s["discovery"]["config_changes"][0];
    assert_eq!(f(change, "proxies_reached"), 3.0);
    assert!((1.0..=10.0).contains(&f(change, "propagation_s_max")));
    // Before the push nothing times out; once both front proxies have it, most calls do;
    // in between, only the proxy that has it.
    let timeouts = series(&ts, "call", "front->catalog", "timeout");
    let sum = |from: f64, to: f64| -> f64 {
        timeouts.iter().filter(|(t, _)| *t >= from && *t < to).map(|(_, n)| n.parse::<f64>().unwrap()).sum()
    };
    let front: Vec<f64> = applied.iter().filter(|(_, w)| w.starts_with("front")).map(|(t, _)| *t).collect();
    let (first, last) = (front[0].min(front[1]), front[0].max(front[1]));
    assert_eq!(sum(0.0, first.floor()), 0.0);
    let calls = series(&ts, "call", "front->catalog", "requests");
    let total: f64 =
        calls.iter().filter(|(t, _)| *t >= last.ceil() && *t < 90.0).map(|(_, n)| n.parse::<f64>().unwrap()).sum();
    assert!(sum(last.ceil(), 90.0) > 0.5 * total, "most calls time out once both have it");
}

#[test]
fn a_slow_registry_delays_the_views_and_one_past_the_timeout_freezes_them() {
    // Reads take 2 s: each view sees the registry as of 2 s after it asked.
    let (s, _, _) = run(&exact(|v| {
        v["discovery"]["registry"]["latency"] = json!("2s");
        v["discovery"]["registry"]["readTimeout"] = json!("5s");
    }));
    let d = detection(&s);
    assert!((f(d, "view_detect_s_max") - 37.0).abs() < 1e-3, "refresh at 60 s, answered at 62 s: {d}");
    assert_eq!(f(&s, "discovery.registry_read_timeouts"), 0.0);
    // Past the clients' 1 s timeout every read fails: the views never change.
    let (s, _, _) = run(&exact(|v| {
        v["discovery"]["registry"]["latency"] = json!("2s");
    }));
    let d = detection(&s);
    assert_eq!(f(d, "views_detected"), 0.0, "{d}");
    assert!(f(&s, "discovery.registry_read_timeouts") >= 6.0, "two views, a read every 30 s after the first");
    // A third of 400 requests/s from the crash at 25 s until it serves again at 90 s.
    assert!(f(&s, "requests.failed") > 7_500.0, "the dead instance is never dropped before its restart");
}

/// instance-crash without its crash, front split into a stable and a canary version.
fn canary(weights: [u32; 2], changes: Value) -> meshsim::Scenario {
    load_edited("instance-crash", move |v| {
        v["faults"] = json!([]);
        v["discovery"] = json!({ "mode": "ideal" });
        v["services"]["front-canary"] = v["services"]["front"].clone();
        v["gateway"]["routes"][0].as_object_mut().unwrap().remove("destination");
        v["gateway"]["routes"][0]["destinations"] = json!([
            { "service": "front", "endpoint": "browse", "weight": weights[0] },
            { "service": "front-canary", "endpoint": "browse", "weight": weights[1] }
        ]);
        v["configChanges"] = changes;
    })
}

#[test]
fn weighted_destinations_split_a_route_by_weight() {
    let (s, _, _) = run(&canary([90, 10], json!([])));
    let (stable, canary) = (f(&s, "services.front.requests.total"), f(&s, "services.front-canary.requests.total"));
    let share = canary / (stable + canary);
    // 40,000 requests: the share's standard deviation is 0.0015.
    assert!((share - 0.10).abs() < 0.006, "canary share {share}");
    assert_eq!(s["routes"]["browse"]["destinations"]["front-canary.browse"], json!(10));
}

#[test]
fn a_route_weight_push_shifts_traffic_once_it_reaches_the_gateway() {
    let (s, ts, events) = run(&canary(
        [100, 0],
        json!([{ "at": "30s", "propagation": { "type": "uniform", "min": "1s", "max": "4s" },
                 "routeWeights": { "browse": [50, 50] } }]),
    ));
    let at: f64 = events
        .lines()
        .find(|l| l.contains("gateway,gateway,config-applied"))
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .expect("the gateway got the push");
    assert!((31.0..=34.0).contains(&at), "{at}");
    let canary = series(&ts, "service", "front-canary", "requests");
    let sum = |from: f64, to: f64| -> f64 {
        canary.iter().filter(|(t, _)| *t >= from && *t < to).map(|(_, n)| n.parse::<f64>().unwrap()).sum()
    };
    assert_eq!(sum(0.0, at.floor()), 0.0, "nothing to the canary before the push arrives");
    let after = sum(at.ceil(), 100.0) / (100.0 - at.ceil());
    assert!((after - 200.0).abs() < 20.0, "half of 400 requests/s after it: {after}");
    // Six proxies (the gateway's to both versions, four front instances' to catalog) and
    // the gateway's routes.
    assert_eq!(f(&s["discovery"]["config_changes"][0], "proxies_reached"), 7.0);
}
