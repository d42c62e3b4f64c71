//! Zones, clusters and locality-aware balancing: calls stay in the caller's zone while it
//! is healthy, spill over by Envoy's priority load as hosts fail, fail over by priority
//! (the other zone of the region first, and as `failover` orders regions), panic across
//! priorities; cross-cluster discovery delay; zone outages and cluster partitions in
//! their windows only; the bundled zone-failover story; determinism.

use crate::common::{f, load, run};
use meshsim::{Hooks, RunOptions, Scenario};
use serde_json::{Value, json};

/// One service, `back`, with 4 instances in each of zones a, b (cluster east, region
/// us-east), c (cluster west, us-west) and d (cluster eu, eu-west), instances 4k..4k+3
/// in the k-th zone; the gateway in zone a sends it 1,000 requests/s for 20 s. Every
/// proxy has outlier detection (5 consecutive failures, 1 s sweeps, 100 s ejections, up
/// to 100 % of the hosts) and locality balancing.
fn base() -> Value {
    let zone = |z: &str| json!({ "zone": z });
    let instances: Vec<Value> = ["a", "b", "c", "d"].iter().flat_map(|z| (0..4).map(move |_| zone(z))).collect();
    json!({
        "name": "locality",
        "seed": 11,
        "run": { "duration": "20s", "drainTimeout": "5s" },
        "network": {
            "latency": "200us",
            "links": [
                { "between": ["a", "b"], "latency": "1ms" },
                { "between": ["a", "c"], "latency": "30ms" },
                { "between": ["a", "d"], "latency": "40ms" },
                { "between": ["b", "c"], "latency": "30ms" },
                { "between": ["b", "d"], "latency": "40ms" },
                { "between": ["c", "d"], "latency": "50ms" }
            ]
        },
        "clusters": {
            "east": { "zones": ["a", "b"], "region": "us-east" },
            "west": { "zones": ["c"], "region": "us-west" },
            "eu": { "zones": ["d"], "region": "eu-west" }
        },
        "gateway": { "zone": "a", "routes": [ { "name": "r", "destination": { "service": "back", "endpoint": "e" } } ] },
        "services": {
            "back": { "instances": instances, "workers": 64, "endpoints": { "e": { "serviceTime": "1ms" } } }
        },
        "policies": {
            "default": {
                "timeout": "1s",
                "outlierDetection": {
                    "consecutive5xx": 5, "interval": "1s", "baseEjectionTime": "100s", "maxEjectionPercent": 100
                },
                "localityLb": { "enabled": true }
            }
        },
        "workload": { "arrivals": { "process": "poisson", "rate": 1000 }, "mix": [ { "route": "r", "weight": 1 } ] }
    })
}

fn scenario(v: Value) -> Scenario {
    meshsim::load_str(&v.to_string(), "locality.json").unwrap_or_else(|e| panic!("{e}"))
}

fn run_json(v: Value) -> (meshsim::RunResult, Value, Vec<u8>) {
    run(&scenario(v), &RunOptions::default())
}

/// Requests each `back` instance received over the run.
fn per_instance(s: &Value) -> Vec<f64> {
    (0..16).map(|i| f(s, &format!("instances.back-{i}.arrivals"))).collect()
}

fn sum(xs: &[f64]) -> f64 {
    xs.iter().sum()
}

/// Gateway (zone a) attempts in windows [from, to): in zone, in cluster, cross-cluster.
fn zone_a_between(r: &meshsim::RunResult, from: usize, to: usize) -> [u64; 3] {
    let l = r.locality.as_ref().expect("a locality run reports locality");
    let mut out = [0; 3];
    for w in &l.windows[from..to] {
        for k in 0..3 {
            out[k] += w[0][k];
        }
    }
    out
}

#[test]
fn with_all_hosts_healthy_every_call_stays_in_the_callers_zone() {
    let (_, s, _) = run_json(base());
    assert_eq!(f(&s, "locality.zones.a.in_zone_pct"), 100.0);
    let n = per_instance(&s);
    assert!(n[..4].iter().all(|&x| x > 4_000.0), "{n:?}");
    assert_eq!(sum(&n[4..]), 0.0, "{n:?}");
    // Without locality balancing round robin spreads calls over all 16 hosts.
    let mut v = base();
    v["policies"]["default"].as_object_mut().unwrap().remove("localityLb");
    let (_, s, _) = run_json(v);
    let in_zone = f(&s, "locality.zones.a.in_zone_pct");
    assert!((23.0..27.0).contains(&in_zone), "a quarter of the hosts are in zone a: {in_zone}");
    assert!((48.0..52.0).contains(&f(&s, "locality.zones.a.cross_cluster_pct")));
}

#[test]
fn two_of_four_unhealthy_local_hosts_keep_seventy_percent_in_zone() {
    let mut v = base();
    v["faults"] = json!([{ "kind": "error", "target": { "service": "back", "instances": [0, 1] }, "start": "0s" }]);
    let (r, s, _) = run_json(v);
    // Envoy: P0 health = min(100, 1.4 x 50 %) = 70; P1 (zone b) takes the other 30.
    let [zone, cluster, cross] = zone_a_between(&r, 2, 20);
    let total = (zone + cluster + cross) as f64;
    let p0 = 100.0 * zone as f64 / total;
    assert!((67.0..73.0).contains(&p0), "P0 share {p0}");
    assert!((27.0..33.0).contains(&(100.0 * cluster as f64 / total)));
    assert_eq!(cross, 0, "P2 gets nothing while P0 + P1 health reaches 100");
    // The ejected hosts got only the failures that ejected them.
    let n = per_instance(&s);
    assert!(n[0] < 20.0 && n[1] < 20.0, "{n:?}");
}

#[test]
fn failover_goes_to_the_other_zone_of_the_region_before_other_regions() {
    // Zone a's hosts crash (refusing, so ideal discovery drops them at once) from 5 s to 15 s.
    let mut v = base();
    v["faults"] =
        json!([{ "kind": "crash", "target": { "service": "back", "zone": "a" }, "start": "5s", "duration": "10s" }]);
    let (r, _, _) = run_json(v);
    let [zone, cluster, cross] = zone_a_between(&r, 6, 15);
    assert_eq!((zone, cross), (0, 0));
    assert!(cluster > 8_000, "every call to zone b: {cluster}");
    let [zone, cluster, _] = zone_a_between(&r, 16, 20);
    assert!(zone > 3_500 && cluster == 0, "back in zone a after the crash: {zone} {cluster}");
    // Zone b down too: the other regions (c and d, equal priority) share the calls.
    let mut v = base();
    v["faults"] = json!([
        { "kind": "crash", "target": { "service": "back", "zone": "a" }, "start": "5s", "duration": "10s" },
        { "kind": "crash", "target": { "service": "back", "zone": "b" }, "start": "5s", "duration": "10s" }
    ]);
    let (_, s, _) = run_json(v.clone());
    let n = per_instance(&s);
    let (c, d) = (sum(&n[8..12]), sum(&n[12..16]));
    assert!(c > 4_000.0 && d > 4_000.0 && (c / d - 1.0).abs() < 0.1, "c {c}, d {d}");
    // Istio's failover from us-east to eu-west puts d before c.
    v["policies"]["default"]["localityLb"]["failover"] = json!([{ "from": "us-east", "to": "eu-west" }]);
    let (_, s, _) = run_json(v);
    let n = per_instance(&s);
    assert_eq!(sum(&n[8..12]), 0.0, "{n:?}");
    assert!(sum(&n[12..16]) > 9_000.0, "{n:?}");
}

#[test]
fn a_priority_below_the_panic_threshold_balances_over_all_its_hosts() {
    // Only zones a and c; c's hosts are gone (crashed, refusing) and 3 of a's 4 fail and
    // are ejected: normalized total health is min(100, 1.4 x 25 %) = 35 < 100, so panic
    // applies, and P0 (25 % healthy, below 50 %) balances over all four hosts.
    let mut v = base();
    v["faults"] = json!([
        { "kind": "error", "target": { "service": "back", "instances": [0, 1, 2] }, "start": "0s" },
        { "kind": "crash", "target": { "service": "back", "zone": "c" }, "start": "0s" },
        { "kind": "crash", "target": { "service": "back", "zone": "b" }, "start": "0s" },
        { "kind": "crash", "target": { "service": "back", "zone": "d" }, "start": "0s" }
    ]);
    // (Hosts answering with an injected error take no job: only back-3 counts arrivals.)
    let (_, s, _) = run_json(v.clone());
    let n = per_instance(&s);
    assert!((4_000.0..6_000.0).contains(&n[3]), "a quarter of the calls to the healthy host: {n:?}");
    let ok = f(&s, "availability_pct");
    assert!((20.0..30.0).contains(&ok), "three quarters go to failing hosts: {ok}");
    // Panic threshold 0 disables panic: the one healthy host takes every call.
    v["policies"]["default"]["outlierDetection"]["healthyPanicThreshold"] = json!(0);
    let (_, s, _) = run_json(v);
    let n = per_instance(&s);
    assert!(n[3] > 19_000.0 && n[0] < 20.0, "{n:?}");
    assert!(f(&s, "availability_pct") > 99.0);
}

#[test]
fn a_remote_cluster_learns_of_a_crash_only_after_its_discovery_delay() {
    // No locality balancing: round robin over all hosts; host back-0 (zone a, east)
    // crashes at 10 s, refusing connections.
    let at = |gateway_zone: &str, delay: &str| {
        let mut v = base();
        v["policies"] = json!({ "default": { "timeout": "1s" } });
        v["gateway"]["zone"] = json!(gateway_zone);
        v["clusters"]["east"]["discoveryDelay"] = json!(delay);
        v["faults"] = json!([{ "kind": "crash", "target": { "service": "back", "instances": [0] }, "start": "10s" }]);
        let (_, s, _) = run_json(v);
        f(&s, "instances.back-0.sent_to_dead")
    };
    // From west, 2 s of its 1/16 share (about 62/s) still go to the dead host.
    let remote = at("c", "2s");
    assert!((100.0..150.0).contains(&remote), "{remote}");
    let longer = at("c", "4s");
    assert!((220.0..280.0).contains(&longer), "{longer}");
    // Within east the change arrives at once.
    assert_eq!(at("a", "2s"), 0.0);
}

/// Requests at `back-i` in windows starting in [from, to), from the time series.
fn instance_requests(ts: &[u8], inst: &str, from: f64, to: f64) -> f64 {
    let mut r = csv::Reader::from_reader(ts);
    let i = r.headers().unwrap().iter().position(|h| h == "requests").unwrap();
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| &x[2] == "instance" && &x[3] == inst)
        .filter(|x| (from..to).contains(&x[0].parse::<f64>().unwrap()))
        .map(|x| x[i].parse::<f64>().unwrap())
        .sum()
}

#[test]
fn a_zone_outage_and_a_cluster_partition_act_in_their_windows_only() {
    let mut v = base();
    v["policies"] = json!({ "default": { "timeout": "1s" } });
    v["faults"] = json!([
        { "kind": "zone-outage", "zone": "b", "mode": "reset", "start": "4s", "duration": "4s" },
        { "kind": "partition", "clusters": [["east"], ["west", "eu"]], "start": "12s", "duration": "4s" }
    ]);
    let sc = scenario(v);
    let mut ts = Vec::new();
    let r = meshsim::run(&sc, &RunOptions::default(), Hooks { timeseries: Some(&mut ts), ..Hooks::default() }).unwrap();
    let s = meshsim::report::summary(&sc, &r);
    let kinds: Vec<&str> =
        s["resilience"]["faults"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["zone-outage", "partition"]);
    assert_eq!(s["resilience"]["faults"][0]["target"], "zone b");
    // Zone b's hosts (back-4..7) serve nothing during the outage, and before and after.
    for i in 4..8 {
        let inst = format!("back-{i}");
        assert_eq!(instance_requests(&ts, &inst, 4.0, 8.0), 0.0, "{inst}");
        assert!(instance_requests(&ts, &inst, 0.0, 4.0) > 150.0, "{inst}");
        assert!(instance_requests(&ts, &inst, 8.0, 12.0) > 150.0, "{inst}");
    }
    // Across the partition nothing arrives in its window (a request sent just before
    // 12 s may still land in the first one); within east all goes on.
    for i in 8..16 {
        let inst = format!("back-{i}");
        assert_eq!(instance_requests(&ts, &inst, 13.0, 16.0), 0.0, "{inst}");
        assert!(instance_requests(&ts, &inst, 16.0, 20.0) > 150.0, "{inst}");
    }
    assert!(instance_requests(&ts, "back-0", 12.0, 16.0) > 150.0);
}

#[test]
fn zone_failover_tells_its_story() {
    let sc = load("zone-failover");
    let (r, s, _) = run(&sc, &RunOptions::default());
    let share = |from: usize, to: usize| {
        let [zone, cluster, cross] = zone_a_between(&r, from, to);
        let total = (zone + cluster + cross) as f64;
        [zone, cluster, cross].map(|x| 100.0 * x as f64 / total)
    };
    // Before the outage: in zone except order's payment calls (east-b, in cluster).
    let before = share(5, 25);
    assert!(before[0] > 85.0 && before[2] == 0.0, "{before:?}");
    // Zone east-a dark, its hosts ejected: the gateway's calls go to east-b.
    let outage = share(27, 35);
    assert!(outage[1] > 55.0 && outage[2] == 0.0, "{outage:?}");
    // One of east-b's two catalog hosts hangs too: 30 % of the gateway's catalog calls
    // spill to west-a, and east-b's cart and order, waiting on that host, time out and
    // are ejected by the gateway, so all its cart and order calls go west: about half.
    let spill = share(37, 55);
    assert!((40.0..60.0).contains(&spill[2]), "{spill:?}");
    let first = share(36, 37);
    assert!((20.0..35.0).contains(&first[2]), "catalog's spill alone at first: {first:?}");
    // Back in zone after the ejections expire; the partition costs nothing.
    let after = share(58, 100);
    assert!(after[0] > 85.0 && after[2] == 0.0, "{after:?}");
    assert!(f(&s, "availability_pct") > 98.0);
}

#[test]
fn locality_runs_are_deterministic() {
    let sc = load("zone-failover");
    let opts = RunOptions { duration: Some(meshsim::SimDuration::from_secs(40)), ..RunOptions::default() };
    let csv = |r: &meshsim::RunResult| {
        let mut out = Vec::new();
        meshsim::sim::write_locality_csv(&sc, r.locality.as_ref().unwrap(), &mut out).unwrap();
        out
    };
    let (r1, s1, ts1) = run(&sc, &opts);
    let (r2, s2, ts2) = run(&sc, &opts);
    assert_eq!(s1, s2);
    assert_eq!(ts1, ts2);
    assert_eq!(csv(&r1), csv(&r2));
    // A scenario without clusters or locality balancing reports none.
    let (r, s, _) = run(&load("baseline"), &opts);
    assert!(r.locality.is_none() && s.get("locality").is_none());
}

#[test]
fn the_invariant_checker_finds_nothing_in_locality_runs() {
    let check = |sc: &Scenario| {
        let mut checker = meshsim::checker::Checker::new();
        let opts = RunOptions { duration: Some(meshsim::SimDuration::from_secs(60)), ..RunOptions::default() };
        meshsim::run(sc, &opts, Hooks { checker: Some(&mut checker), ..Hooks::default() }).unwrap();
        checker.violations.iter().map(|x| format!("{} at {}: {}", x.property, x.at, x.detail)).collect::<Vec<_>>()
    };
    assert_eq!(check(&load("zone-failover")), Vec::<String>::new());
    // Remote proxies sending to a crashed instance during the discovery delay send to
    // one their view still holds: no call outside the view.
    let mut v = base();
    v["policies"] = json!({ "default": { "timeout": "1s" } });
    v["gateway"]["zone"] = json!("c");
    v["clusters"]["east"]["discoveryDelay"] = json!("2s");
    v["faults"] = json!([{ "kind": "crash", "target": { "service": "back", "instances": [0] }, "start": "10s", "duration": "5s" }]);
    assert_eq!(check(&scenario(v)), Vec::<String>::new());
}
