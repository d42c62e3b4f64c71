//! Helpers shared by the integration tests: load bundled scenarios, edit them, run them.

use meshsim::{Hooks, RunOptions, RunResult, Scenario};
use serde_json::Value;
use std::path::PathBuf;

pub fn scenario_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(format!("{name}.json"))
}

pub fn scenario_json(name: &str) -> Value {
    let text = std::fs::read_to_string(scenario_path(name)).expect("bundled scenario exists");
    serde_json::from_str(&text).expect("bundled scenario is JSON")
}

pub fn load(name: &str) -> Scenario {
    meshsim::load_file(&scenario_path(name)).expect("bundled scenario is valid")
}

/// A bundled scenario with an edit applied to its JSON.
pub fn load_edited(name: &str, edit: impl FnOnce(&mut Value)) -> Scenario {
    let mut v = scenario_json(name);
    edit(&mut v);
    meshsim::load_str(&v.to_string(), &format!("{name}.json (edited)")).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a scenario; returns the result, its summary.json value and its timeseries.csv bytes.
pub fn run(sc: &Scenario, opts: &RunOptions) -> (RunResult, Value, Vec<u8>) {
    let (r, s, ts, _) = run_all(sc, opts);
    (r, s, ts)
}

/// As `run`, with the transitions.csv bytes too.
pub fn run_all(sc: &Scenario, opts: &RunOptions) -> (RunResult, Value, Vec<u8>, Vec<u8>) {
    let mut ts = Vec::new();
    let mut tr = Vec::new();
    let hooks = Hooks { timeseries: Some(&mut ts), transitions: Some(&mut tr), ..Hooks::default() };
    let r = meshsim::run(sc, opts, hooks).expect("run writes to memory");
    let summary = meshsim::report::summary(sc, &r);
    (r, summary, ts, tr)
}

pub fn f(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.get(part).unwrap_or_else(|| panic!("no {part} in {path}"));
    }
    cur.as_f64().unwrap_or_else(|| panic!("{path} is not a number: {cur}"))
}

/// A fresh empty folder for one test's outputs.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshsim-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
