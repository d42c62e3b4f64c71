//! One run of a benchmark case, for profilers (callgrind counts instructions whatever the
//! machine's load): `cargo build --release --example profile`, then
//! `valgrind --tool=callgrind target/release/examples/profile mmc 200000` (requests) or
//! `... profile all-on 120` (simulated seconds of `baseline.json` with every component on,
//! as in `benches/event_loop.rs`). Prints the run's figures and a checksum of the time
//! series, so two builds can be compared byte for byte.

use meshsim::{Hooks, RunOptions, SimDuration};
use std::hash::{Hash, Hasher};
use std::path::Path;

/// As in `benches/event_loop.rs`.
const ALL_ON: &str = include_str!("../benches/all-on-policies.json");

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let case = args.first().map_or("mmc", String::as_str);
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let (sc, opts) = match case {
        "all-on" | "baseline" => {
            let path = dir.join("baseline.json");
            let sc = if case == "all-on" {
                let mut v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).expect("bundled scenario")).expect("JSON");
                v["policies"] = serde_json::from_str(ALL_ON).expect("ALL_ON is JSON");
                v["gateway"]["rateLimit"] =
                    serde_json::json!({ "type": "token-bucket", "capacity": 10000, "refillPerSecond": 100000 });
                meshsim::load_str(&v.to_string(), "baseline.json with every component on").expect("valid")
            } else {
                meshsim::load_file(&path).expect("bundled scenario")
            };
            (sc, RunOptions { duration: Some(SimDuration::from_secs(n)), ..Default::default() })
        }
        name => {
            let sc = meshsim::load_file(&dir.join(format!("{name}.json"))).expect("bundled scenario");
            (sc, RunOptions { requests: Some(n), ..Default::default() })
        }
    };
    let mut ts = Vec::new();
    let r = meshsim::run(&sc, &opts, Hooks { timeseries: Some(&mut ts), ..Hooks::default() }).expect("run");
    let mut h = std::collections::hash_map::DefaultHasher::new();
    ts.hash(&mut h);
    format!("{:?}", r.total).hash(&mut h);
    println!(
        "{case}: {} requests, {} events, time series {} bytes, checksum {:016x}",
        r.requests,
        r.events,
        ts.len(),
        h.finish()
    );
}
