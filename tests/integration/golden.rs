//! Golden summaries: every bundled scenario's `summary.json`, byte for byte, against the
//! snapshot in `tests/golden/<scenario>.summary.json`.
//!
//! After an intended change of the numbers, refresh every snapshot with
//! `MESHSIM_BLESS=1 cargo test --test integration golden` and review the diff.

use crate::common::run;
use meshsim::{RunOptions, SimDuration};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bundled scenarios whose full run is too slow for the test suite, with the shorter
/// duration their snapshot is taken at (as `--duration` would set it).
const SHORTENED: &[(&str, u64)] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden_dir() -> PathBuf {
    root().join("tests").join("golden")
}

/// The bundled scenario files, by name, sorted; sweep files (a top-level `sweep` key)
/// describe many runs and have no single summary, so they are left out.
fn bundled_scenarios() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("scenarios")).expect("scenarios/ exists") {
        let path = entry.expect("a readable directory entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a readable scenario file");
        let json: serde_json::Value = serde_json::from_str(&text).expect("a bundled scenario is JSON");
        if json.get("sweep").is_some() {
            continue;
        }
        let name = path.file_stem().expect("a file name").to_string_lossy().into_owned();
        out.push((name, path));
    }
    out.sort();
    out
}

/// Where two texts first differ, for a readable failure: the line number and both lines.
fn first_difference(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.lines(), actual.lines());
    for n in 1.. {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => return "the texts differ only in line endings".into(),
            (x, y) => {
                return format!(
                    "first difference at line {n}:\n    expected: {}\n    actual:   {}",
                    x.unwrap_or("<end of file>"),
                    y.unwrap_or("<end of file>")
                );
            }
        }
    }
    unreachable!("the loop returns")
}

fn summary_bytes(name: &str, path: &Path) -> Vec<u8> {
    let sc = meshsim::load_file(path).unwrap_or_else(|e| panic!("{e}"));
    let duration = SHORTENED.iter().find(|(n, _)| *n == name).map(|&(_, s)| SimDuration::from_secs(s));
    let (_, summary, _) = run(&sc, &RunOptions { duration, ..RunOptions::default() });
    meshsim::report::summary_bytes(&summary)
}

#[test]
fn golden_summaries_of_bundled_scenarios() {
    let bless = std::env::var_os("MESHSIM_BLESS").is_some_and(|v| v == "1");
    let dir = golden_dir();
    let scenarios = bundled_scenarios();
    assert!(scenarios.len() >= 10, "the bundled scenarios are found: {scenarios:?}");
    let mut problems = Vec::new();
    for (name, path) in &scenarios {
        let wall = Instant::now();
        let actual = summary_bytes(name, path);
        eprintln!("golden: {name}: {:.2} s", wall.elapsed().as_secs_f64());
        let file = dir.join(format!("{name}.summary.json"));
        let expected = std::fs::read(&file).ok();
        if expected.as_deref() == Some(actual.as_slice()) {
            continue;
        }
        if bless {
            std::fs::create_dir_all(&dir).expect("tests/golden can be created");
            meshsim::output::write_atomic(&file, &actual).expect("the snapshot can be written");
            eprintln!("golden: {name}: snapshot written");
            continue;
        }
        match expected {
            None => problems.push(format!("{name}: no snapshot {}", file.display())),
            Some(e) => problems.push(format!(
                "{name}: summary.json differs from {}\n  {}",
                file.display(),
                first_difference(&String::from_utf8_lossy(&e), &String::from_utf8_lossy(&actual))
            )),
        }
    }
    // A snapshot without its scenario is stale: blessing removes it.
    for entry in std::fs::read_dir(&dir).into_iter().flatten() {
        let path = entry.expect("a readable directory entry").path();
        let Some(file) = path.file_name().map(|f| f.to_string_lossy().into_owned()) else { continue };
        let Some(name) = file.strip_suffix(".summary.json") else { continue };
        if scenarios.iter().any(|(n, _)| n == name) {
            continue;
        }
        if bless {
            std::fs::remove_file(&path).expect("a stale snapshot can be removed");
            eprintln!("golden: {name}: stale snapshot removed");
        } else {
            problems.push(format!("{name}: snapshot {} has no scenario in scenarios/", path.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\nIf the change is intended, refresh the snapshots with\n    \
         MESHSIM_BLESS=1 cargo test --test integration golden\nand review the diff.",
        problems.join("\n\n")
    );
}

#[test]
fn first_difference_names_the_line() {
    let hint = first_difference("{\n  \"a\": 1\n}\n", "{\n  \"a\": 2\n}\n");
    assert!(hint.contains("line 2") && hint.contains("\"a\": 1") && hint.contains("\"a\": 2"), "{hint}");
    assert!(first_difference("x\n", "x\ny\n").contains("<end of file>"));
}
