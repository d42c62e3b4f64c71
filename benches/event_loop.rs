//! Event-loop throughput on the bundled scenarios: `cargo bench`.
//!
//! Each case runs a scenario several times in this process and reports the median,
//! minimum and maximum simulated requests per second of wall time, and events per
//! second. The wall clock is read here, in the benchmark, never inside the simulator.
//! Time series are written to a sink, as the CLI writes them to a file.
//!
//! `cargo bench -- mmc` runs only the cases whose name contains "mmc".

use meshsim::{Hooks, RunOptions, SimDuration};
use std::path::Path;
use std::time::Instant;

struct Case {
    name: &'static str,
    file: &'static str,
    opts: RunOptions,
    /// Requests per second of wall time the brief asks for.
    target_rps: f64,
    /// Turn on every resilience component of the proxy and the gateway.
    all_on: bool,
}

/// baseline.json's policies with every component on: retries with jittered backoff and
/// a budget, a breaker, a bulkhead, outlier detection, a fallback and deadline
/// propagation on every call, and a rate limit at the gateway that never bites.
const ALL_ON: &str = include_str!("all-on-policies.json");

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let reps: usize = std::env::var("MESHSIM_BENCH_REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let cases = [
        Case {
            name: "mmc-1M",
            file: "mmc",
            opts: RunOptions { requests: Some(1_000_000), ..Default::default() },
            target_rps: 4.5e6,
            all_on: false,
        },
        Case {
            name: "chain-1M",
            file: "chain",
            opts: RunOptions { requests: Some(1_000_000), ..Default::default() },
            target_rps: 0.0,
            all_on: false,
        },
        Case {
            name: "baseline-600s",
            file: "baseline",
            opts: RunOptions { duration: Some(SimDuration::from_secs(600)), ..Default::default() },
            target_rps: 1.0e6,
            all_on: false,
        },
        Case {
            name: "baseline-all-on",
            file: "baseline",
            opts: RunOptions { duration: Some(SimDuration::from_secs(600)), ..Default::default() },
            target_rps: 1.0e6,
            all_on: true,
        },
    ];
    println!(
        "{:<16} {:>12} {:>12} {:>12} {:>14} {:>10}",
        "case", "median req/s", "min req/s", "max req/s", "median ev/s", "target"
    );
    for case in cases.iter().filter(|c| filter.as_ref().is_none_or(|f| c.name.contains(f.as_str()))) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(format!("{}.json", case.file));
        let sc = if case.all_on {
            let mut v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("bundled scenario")).expect("JSON");
            v["policies"] = serde_json::from_str(ALL_ON).expect("ALL_ON is JSON");
            v["gateway"]["rateLimit"] =
                serde_json::json!({ "type": "token-bucket", "capacity": 10000, "refillPerSecond": 100000 });
            meshsim::load_str(&v.to_string(), "baseline.json with every component on").expect("valid")
        } else {
            meshsim::load_file(&path).expect("bundled scenario loads")
        };
        let mut rps = Vec::new();
        let mut eps = Vec::new();
        // One untimed run warms caches and the allocator.
        let _ = run_once(&sc, &case.opts);
        for _ in 0..reps {
            let (secs, requests, events) = run_once(&sc, &case.opts);
            rps.push(requests as f64 / secs);
            eps.push(events as f64 / secs);
        }
        rps.sort_by(f64::total_cmp);
        eps.sort_by(f64::total_cmp);
        let target = if case.target_rps > 0.0 {
            let verdict = if rps[rps.len() / 2] >= case.target_rps { "met" } else { "MISSED" };
            format!("{:.1}M {verdict}", case.target_rps / 1e6)
        } else {
            "-".to_string()
        };
        println!(
            "{:<16} {:>12} {:>12} {:>12} {:>14} {:>10}",
            case.name,
            fmt_m(rps[rps.len() / 2]),
            fmt_m(rps[0]),
            fmt_m(rps[rps.len() - 1]),
            fmt_m(eps[eps.len() / 2]),
            target
        );
    }
}

fn run_once(sc: &meshsim::Scenario, opts: &RunOptions) -> (f64, u64, u64) {
    let mut sink = std::io::sink();
    let start = Instant::now();
    let r = meshsim::run(sc, opts, Hooks { timeseries: Some(&mut sink), ..Hooks::default() }).expect("run");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(r.stop, meshsim::Stop::Completed);
    (secs, r.requests, r.events)
}

fn fmt_m(x: f64) -> String {
    format!("{:.3}M", x / 1e6)
}
