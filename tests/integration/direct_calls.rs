//! Calls without a policy or a guard go direct: the simulator keeps no `Call` for them and
//! hands the answer straight to the caller. The outputs must be those of the general call
//! path, byte for byte, in every bundled scenario and in a mesh built to go wrong.

use crate::common::{load_edited, scenario_path};
use meshsim::{Hooks, RunOptions, Scenario, SimDuration};

/// Every streaming output of a run, and its summary, as bytes.
fn outputs(sc: &Scenario, opts: &RunOptions) -> (u64, Vec<Vec<u8>>) {
    let (mut ts, mut tr, mut ev, mut al, mut otlp, mut chrome, mut scale) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut windows = Vec::new();
    let mut on_window = |from: meshsim::SimTime,
                         to: meshsim::SimTime,
                         route: meshsim::model::RouteId,
                         l: &meshsim::metrics::Latency| {
        windows.extend(
            format!("{from} {to} {} {} {} {}\n", route.idx(), l.count(), l.mean_ms(), l.quantile_ms(0.99)).bytes(),
        );
    };
    let hooks = Hooks {
        timeseries: Some(&mut ts),
        transitions: Some(&mut tr),
        events: Some(&mut ev),
        alerts: Some(&mut al),
        traces_otlp: Some(&mut otlp),
        trace_chrome: Some(&mut chrome),
        autoscaling: Some(&mut scale),
        route_windows: Some(&mut on_window),
        ..Hooks::default()
    };
    let r = meshsim::run(sc, opts, hooks).expect("run writes to memory");
    let summary = meshsim::report::summary_bytes(&meshsim::report::summary(sc, &r));
    (r.direct_calls, vec![summary, ts, tr, ev, al, otlp, chrome, scale, windows])
}

/// Runs `sc` both ways; returns how many calls went direct.
fn same_both_ways(name: &str, sc: &Scenario, opts: &RunOptions) -> u64 {
    let (direct, fast) = outputs(sc, opts);
    let (none, general) = outputs(sc, &RunOptions { no_direct_calls: true, ..opts.clone() });
    assert_eq!(none, 0, "{name}: no call goes direct when told not to");
    let files = ["summary", "timeseries", "transitions", "events", "alerts", "otlp", "chrome", "autoscaling", "hlog"];
    for (i, file) in files.iter().enumerate() {
        assert!(fast[i] == general[i], "{name}: {file} differs between direct and general calls");
    }
    direct
}

#[test]
fn every_bundled_scenario_gives_the_same_bytes_with_direct_calls() {
    let mut direct_in = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(scenario_path("mmc").parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let Ok(sc) = meshsim::load_file(&path) else { continue }; // a sweep file
        let opts = RunOptions {
            duration: Some(SimDuration::from_secs(30)),
            requests: Some(20_000),
            trace_sampling: Some(0.05),
            ..RunOptions::default()
        };
        if same_both_ways(&name, &sc, &opts) > 0 {
            direct_in.push(name);
        }
    }
    // The queueing models have no policy at all; most meshes set a timeout on every call.
    for name in ["mm1", "mmc", "chain"] {
        assert!(direct_in.iter().any(|n| n == name), "{name} has direct calls: {direct_in:?}");
    }
}

#[test]
fn direct_calls_through_losses_crashes_hangs_and_traces_give_the_same_bytes() {
    // The baseline mesh with no policy anywhere (so every call goes direct), lossy links,
    // a crashed catalog, a hung cart and an instance of order that leaves, all traced.
    let sc = load_edited("baseline", |v| {
        v["policies"] = serde_json::json!({ "default": { "loadBalancer": { "type": "least-outstanding" } } });
        v["network"]["loss"] = serde_json::json!(2);
        v["faults"] = serde_json::json!([
            { "kind": "crash", "target": { "service": "catalog", "instances": [0] }, "start": "3s", "duration": "4s" },
            { "kind": "crash", "target": { "service": "catalog" }, "start": "5s", "duration": "1s" },
            { "kind": "crash", "target": { "service": "cart", "instances": [0] }, "start": "8s", "duration": "6s", "mode": "hang" },
            { "kind": "error", "target": { "service": "payment" }, "start": "2s", "duration": "10s", "percent": 30 }
        ]);
    });
    let opts =
        RunOptions { duration: Some(SimDuration::from_secs(20)), trace_sampling: Some(1.0), ..RunOptions::default() };
    let direct = same_both_ways("baseline without policies", &sc, &opts);
    let (_, out) = outputs(&sc, &opts);
    assert!(direct > 30_000, "every call goes direct: {direct}");
    let summary: serde_json::Value = serde_json::from_slice(&out[0]).unwrap();
    let outcomes = &summary["requests"];
    for kind in ["dropped", "error"] {
        assert!(outcomes[kind].as_u64().unwrap_or(0) > 0, "the faults show as {kind}: {outcomes}");
    }
    // With every catalog instance down, calls to it fail unsent: no healthy upstream.
    assert!(outcomes["by_status"]["503"].as_u64().unwrap_or(0) > 0, "{outcomes}");
}
