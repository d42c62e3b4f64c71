//! Parameter sweeps: the same bytes at any thread count, sharded and merged or not,
//! interrupted and resumed or not; confidence intervals; errors that name the path.

use crate::common::{scenario_json, scenario_path, temp_dir};
use meshsim::sweep::{self, Overrides, Shard, Sweep, SweepError, SweepOptions, execute, merge};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The bundled breaker x retry sweep, shortened to 12 s with the capacity drop from 3 s
/// to 7 s, over 2 thresholds x 2 attempt counts: 4 points, quick to run.
fn small_sweep_json(replications: u32) -> Value {
    let mut v = scenario_json("sweep-breaker-retry");
    v["run"]["duration"] = json!("12s");
    v["faults"][0]["start"] = json!("3s");
    v["faults"][0]["duration"] = json!("4s");
    v["sweep"]["axes"][0]["values"] = json!([50, 100]);
    v["sweep"]["axes"][1] = json!({ "path": "policies.overrides[0].retry.maxAttempts", "values": [1, 3] });
    v["sweep"]["replications"] = json!(replications);
    v
}

fn small_sweep(replications: u32) -> Sweep {
    Sweep::from_text(&small_sweep_json(replications).to_string(), "small.json", &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn opts(threads: usize) -> SweepOptions<'static> {
    SweepOptions { threads: Some(threads), ..SweepOptions::default() }
}

/// Every file under `dir` (but the kept runs), by relative path, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("a readable folder") {
            let path = entry.expect("an entry").path();
            let rel = path.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
            if path.is_dir() {
                if rel != "runs" {
                    walk(root, &path, out);
                }
            } else {
                out.insert(rel, std::fs::read(&path).expect("a readable file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>(), "the same files");
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between {} and {}", a.display(), b.display());
    }
    assert!(fa.contains_key("sweep.csv") && fa.keys().any(|k| k.ends_with(".png")), "{:?}", fa.keys());
}

fn csv_rows(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("sweep.csv")).expect("sweep.csv");
    let header: Vec<String> = r.headers().expect("a header").iter().map(String::from).collect();
    r.records().map(|row| header.iter().cloned().zip(row.expect("a row").iter().map(String::from)).collect()).collect()
}

#[test]
fn one_thread_and_three_write_the_same_bytes() {
    let sw = small_sweep(2);
    let (one, three) = (temp_dir("sweep-threads-1"), temp_dir("sweep-threads-3"));
    let a = execute(&sw, &one, &opts(1)).unwrap();
    let b = execute(&sw, &three, &opts(3)).unwrap();
    assert_eq!((a.runs_executed, b.runs_executed), (8, 8));
    assert!(a.shard_complete && b.shard_complete);
    assert_same_files(&one, &three);
    let rows = csv_rows(&one);
    assert_eq!(rows.len(), 4, "one row per point");
    assert_eq!(rows[0]["policies.overrides[0].circuitBreaker.failureRateThreshold"], "50");
    assert_eq!(rows[1]["policies.overrides[0].retry.maxAttempts"], "3", "the last axis varies fastest");
    // The story in the numbers: a breaker that never opens lets retries storm.
    let avail = |row: &BTreeMap<String, String>| row["availability_pct_mean"].parse::<f64>().unwrap();
    assert!(avail(&rows[1]) > avail(&rows[3]) + 20.0, "threshold 50 % vs 100 % with 3 attempts: {rows:?}");
    assert_eq!(rows[3]["recovered_pct_mean"], "0.00");
}

#[test]
fn three_shards_merged_give_what_one_machine_gives() {
    let sw = small_sweep(2);
    let whole = temp_dir("sweep-whole");
    execute(&sw, &whole, &opts(2)).unwrap();
    let mut shards: Vec<PathBuf> = Vec::new();
    for i in 0..3 {
        let dir = temp_dir(&format!("sweep-shard-{i}"));
        let out = execute(&sw, &dir, &SweepOptions { shard: Some(Shard::new(i, 3).unwrap()), ..opts(1) }).unwrap();
        assert_eq!(out.shard_points, [2, 1, 1][i as usize], "points 0 and 3, 1, 2");
        assert!(out.shard_complete);
        shards.push(dir);
    }
    // A merge with a shard missing is refused and says how much is missing.
    let partial = temp_dir("sweep-merged-partial");
    let err = merge(&shards[..2], &partial).unwrap_err();
    assert!(matches!(err, SweepError::Incomplete { missing: 2, total: 8, .. }), "{err}");
    let merged = temp_dir("sweep-merged");
    let out = merge(&shards, &merged).unwrap();
    assert_eq!(out.runs, 8);
    assert_same_files(&whole, &merged);
}

#[test]
fn an_interrupted_sweep_resumes_without_redoing_finished_runs() {
    let sw = small_sweep(2);
    let dir = temp_dir("sweep-resume");
    let first = execute(&sw, &dir, &SweepOptions { runs_max: Some(3), ..opts(2) }).unwrap();
    assert_eq!(first.runs_executed, 3);
    assert!(!first.shard_complete);
    let records: Vec<PathBuf> =
        std::fs::read_dir(dir.join("records")).unwrap().map(|e| e.unwrap().path()).filter(|p| !is_temp(p)).collect();
    assert_eq!(records.len(), 3, "each finished run is recorded: {records:?}");
    let before: Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> = records
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap(), std::fs::metadata(p).unwrap().modified().unwrap()))
        .collect();
    // At most one point can be complete after three runs of two replications each.
    let complete = csv_rows(&dir).len();
    assert!(complete <= 1);

    let runs = AtomicUsize::new(0);
    let count = |p: sweep::Progress| {
        assert_eq!((p.runs_todo, p.points_todo), (5, 4 - complete), "five runs are left");
        if p.runs_done > 0 {
            runs.fetch_add(1, Ordering::Relaxed);
        }
    };
    let second = execute(&sw, &dir, &SweepOptions { progress: Some(&count), ..opts(2) }).unwrap();
    assert_eq!((second.runs_recorded, second.runs_executed), (3, 5));
    assert_eq!(runs.load(Ordering::Relaxed), 5, "only the missing runs ran");
    for (path, bytes, modified) in before {
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{} was rewritten", path.display());
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified, "{}", path.display());
    }
    let fresh = temp_dir("sweep-resume-fresh");
    execute(&sw, &fresh, &opts(1)).unwrap();
    assert_same_files(&dir, &fresh);

    // A third time there is nothing left to do.
    let third = execute(&sw, &dir, &opts(2)).unwrap();
    assert_eq!((third.runs_recorded, third.runs_executed), (8, 0));
}

fn is_temp(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

#[test]
fn a_cancelled_sweep_starts_no_more_runs() {
    let sw = small_sweep(1);
    let dir = temp_dir("sweep-cancel");
    let cancel = AtomicBool::new(true);
    let out = execute(&sw, &dir, &SweepOptions { cancel: Some(&cancel), ..opts(2) }).unwrap();
    assert_eq!(out.runs_executed, 0);
    assert!(!out.shard_complete);
    assert_eq!(out.report.points_complete, 0);
    assert_eq!(csv_rows(&dir).len(), 0, "a header and no rows");
}

#[test]
fn a_folder_holding_another_sweep_is_refused() {
    let dir = temp_dir("sweep-other");
    execute(&small_sweep(1), &dir, &opts(2)).unwrap();
    let err = execute(&small_sweep(2), &dir, &opts(2)).unwrap_err();
    assert!(matches!(err, SweepError::DifferentSweep { .. }), "{err}");
    assert!(err.to_string().contains("holds another sweep"), "{err}");
    // The charts are not part of the definition: changing them only redraws.
    let mut v = small_sweep_json(1);
    v["sweep"]["charts"] = json!([{ "type": "line", "metric": "p99_ms" }]);
    let redrawn = Sweep::from_text(&v.to_string(), "small.json", &Overrides::default()).unwrap();
    let out = execute(&redrawn, &dir, &opts(2)).unwrap();
    assert_eq!(out.runs_executed, 0);
    assert!(dir.join("charts/line-p99_ms-by-failureRateThreshold.png").exists());
}

#[test]
fn confidence_intervals_follow_student_t() {
    let sw = small_sweep(3);
    let dir = temp_dir("sweep-ci");
    execute(&sw, &dir, &opts(2)).unwrap();
    let rows = csv_rows(&dir);
    let m = sw.manifest();
    for (row, point) in rows.iter().zip(&m.points) {
        assert_eq!(row["point"], point.id);
        // By hand from the three records: t(0.975; 2) = 4.302653 from the tables.
        let xs: Vec<f64> = (0..3)
            .map(|r| {
                let text = std::fs::read_to_string(dir.join(format!("records/{}-r{r}.json", point.id))).unwrap();
                let rec: Value = serde_json::from_str(&text).unwrap();
                rec["metrics"]["p99_ms"].as_f64().unwrap()
            })
            .collect();
        let mean = xs.iter().sum::<f64>() / 3.0;
        let s = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        let half = 4.302_653 * s / 3f64.sqrt();
        let cell = |k: &str| row[k].parse::<f64>().unwrap();
        assert!((cell("p99_ms_mean") - mean).abs() <= 0.0005 + 1e-9, "{row:?}");
        assert!((cell("p99_ms_ci95") - half).abs() <= 0.0005 + 1e-6 * half, "{half} against {row:?}");
    }
    // Without retries the retry amplification is exactly 1 in every run: no variance.
    let no_retries = rows.iter().find(|r| r["policies.overrides[0].retry.maxAttempts"] == "1").unwrap();
    assert_eq!(
        (no_retries["retry_amplification_mean"].as_str(), no_retries["retry_amplification_ci95"].as_str()),
        ("1.0000", "0.0000")
    );

    // One replication: a mean and no interval.
    let single = temp_dir("sweep-ci-single");
    execute(&small_sweep(1), &single, &opts(2)).unwrap();
    let row = &csv_rows(&single)[0];
    assert!(!row["availability_pct_mean"].is_empty());
    assert_eq!(row["availability_pct_ci95"], "");
}

#[test]
fn a_point_seed_depends_on_its_values_not_its_place() {
    let sw = small_sweep(1);
    let mut v = small_sweep_json(1);
    v["sweep"]["axes"][1]["values"] = json!([3, 1]);
    let reordered = Sweep::from_text(&v.to_string(), "reordered.json", &Overrides::default()).unwrap();
    let (a, b) = (temp_dir("sweep-order-a"), temp_dir("sweep-order-b"));
    execute(&sw, &a, &opts(2)).unwrap();
    execute(&reordered, &b, &opts(2)).unwrap();
    assert_ne!(sw.manifest().definition, reordered.manifest().definition, "another order, another sweep");
    assert_eq!(sw.manifest().points[0].values, json!([50, 1]).as_array().unwrap().clone());
    assert_eq!(reordered.manifest().points[1].values, sw.manifest().points[0].values);
    assert_eq!(reordered.manifest().points[1].id, sw.manifest().points[0].id, "the same values, the same id");
    assert_eq!(reordered.run_seed(1, 0), sw.run_seed(0, 0));
    let record = |dir: &Path, id: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("records/{id}-r0.json"))).unwrap()).unwrap()
    };
    for p in &sw.manifest().points {
        let (x, y) = (record(&a, &p.id), record(&b, &p.id));
        assert_eq!((&x["seed"], &x["metrics"]), (&y["seed"], &y["metrics"]), "point {}", p.id);
    }
    // Another root seed gives other seeds.
    let reseeded = Sweep::from_text(
        &small_sweep_json(1).to_string(),
        "small.json",
        &Overrides { seed: Some(7), ..Overrides::default() },
    )
    .unwrap();
    assert_ne!(reseeded.run_seed(0, 0), sw.run_seed(0, 0));
}

#[test]
fn kept_runs_hold_every_file_of_a_run() {
    let mut v = small_sweep_json(1);
    v["sweep"]["axes"] = json!([{ "path": "policies.overrides[0].retry.maxAttempts", "values": [2] }]);
    v["sweep"]["charts"] = json!([]);
    let sw = Sweep::from_text(&v.to_string(), "one.json", &Overrides::default()).unwrap();
    let dir = temp_dir("sweep-keep");
    execute(&sw, &dir, &SweepOptions { keep_runs: true, ..opts(1) }).unwrap();
    let run = dir.join("runs").join(&sw.manifest().points[0].id).join("r0");
    for f in ["summary.json", "timeseries.csv", "transitions.csv", "events.csv"] {
        assert!(run.join(f).exists(), "{f} kept in {}", run.display());
    }
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["seed"], json!(sw.run_seed(0, 0)), "the run used the point's seed");
}

fn sweep_error(v: &Value, sets: &[&str]) -> String {
    let o = Overrides { sets: sets.iter().map(|s| s.to_string()).collect(), ..Overrides::default() };
    Sweep::from_text(&v.to_string(), "bad.json", &o).unwrap_err().to_string()
}

#[test]
fn paths_and_values_that_do_not_fit_are_named() {
    let v = small_sweep_json(1);
    // An index past the end of an array.
    let e = sweep_error(&v, &["policies.overrides[3].timeout=1s"]);
    assert!(e.contains("bad.json: --set policies.overrides[3].timeout=1s: a path into the scenario"), "{e}");
    assert!(e.contains("an index below 1 at policies.overrides, found [3]"), "{e}");
    // Into a value that is not an object.
    let e = sweep_error(&v, &["name.first=x"]);
    assert!(e.contains("an object at name"), "{e}");
    // A misspelt field: the scenario's own error, and the hint.
    let e = sweep_error(&v, &["policies.overrides[0].retry.maxAttempt=2"]);
    assert!(e.contains("unknown field `maxAttempt`"), "{e}");
    assert!(e.contains("the base scenario has no policies.overrides[0].retry.maxAttempt"), "{e}");
    // A value of the wrong type, in the file: named by its place in the sweep block.
    let mut bad = v.clone();
    bad["sweep"]["axes"][1]["values"] = json!([1, "many"]);
    let e = sweep_error(&bad, &[]);
    assert!(e.starts_with("bad.json: sweep.axes[1].values[1]: a value the scenario accepts at policies.overrides[0].retry.maxAttempts, but \"many\" gives"), "{e}");
    assert_eq!(e.lines().count(), 1, "one line per distinct problem: {e}");
    // A value out of range.
    let e = sweep_error(&v, &["policies.overrides[0].circuitBreaker.failureRateThreshold=0,50"]);
    assert!(e.contains("(value 0)") && e.contains("failureRateThreshold"), "{e}");
    // Malformed --set arguments and the seed.
    assert!(sweep_error(&v, &["retry.maxAttempts"]).contains("PATH=VALUES"));
    assert!(sweep_error(&v, &["seed=1,2"]).contains("other than seed"));
    // No axes at all.
    let mut none = v.clone();
    none.as_object_mut().unwrap().shift_remove("sweep");
    assert!(sweep_error(&none, &[]).contains("nothing to sweep"));
}

#[test]
fn a_bad_sweep_block_is_a_scenario_error_with_its_path() {
    let mut v = small_sweep_json(1);
    v["sweep"]["axes"][1] =
        json!({ "path": "policies.overrides[0].retry.maxAttempts", "range": { "from": 1, "to": 4, "steps": 1 } });
    let err = meshsim::load_str(&v.to_string(), "bad.json").unwrap_err();
    assert_eq!(err.issues()[0].path, "sweep.axes[1].range.steps", "{err}");
    v["sweep"] = json!({ "axes": [ { "path": "a", "valeus": [1] } ] });
    let err = meshsim::load_str(&v.to_string(), "bad.json").unwrap_err();
    assert!(err.to_string().starts_with("bad.json: sweep.axes[0].valeus: unknown field `valeus`"), "{err}");
}

#[test]
fn a_sweep_file_runs_as_its_base_scenario() {
    let with = small_sweep_json(1);
    let mut without = with.clone();
    without.as_object_mut().unwrap().shift_remove("sweep");
    let a = meshsim::load_str(&with.to_string(), "with.json").unwrap();
    let b = meshsim::load_str(&without.to_string(), "without.json").unwrap();
    let opts = meshsim::RunOptions::default();
    let (_, sa, ta) = crate::common::run(&a, &opts);
    let (_, sb, tb) = crate::common::run(&b, &opts);
    assert_eq!(meshsim::report::summary_bytes(&sa), meshsim::report::summary_bytes(&sb));
    assert_eq!(ta, tb);
}

#[test]
fn every_bundled_scenario_validates_through_the_cli() {
    let bin = env!("CARGO_BIN_EXE_meshsim");
    let dir = scenario_path("baseline").parent().unwrap().to_path_buf();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let out = Command::new(bin).arg("validate").arg(&path).output().unwrap();
            assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
            checked += 1;
        }
    }
    assert!(checked >= 17, "{checked} files");
    let out = Command::new(bin).arg("validate").arg(scenario_path("sweep-breaker-retry")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("28 points x 3 replications, every point a valid scenario"), "{stdout}");
}

#[test]
fn the_bundled_sweep_runs_end_to_end_through_the_cli() {
    let bin = env!("CARGO_BIN_EXE_meshsim");
    let dir = temp_dir("sweep-cli");
    let sweep = |dir: &Path| {
        let out = Command::new(bin)
            .args(["sweep", scenario_path("sweep-breaker-retry").to_str().unwrap(), "--threads", "2", "--out"])
            .arg(dir)
            .output()
            .expect("meshsim runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let stdout = sweep(&dir);
    assert!(stdout.contains("84 runs done now, 0 were recorded before; 28 of 28 points complete"), "{stdout}");
    let rows = csv_rows(&dir);
    assert_eq!(rows.len(), 28);
    let at = |threshold: &str, attempts: &str| {
        rows.iter()
            .find(|r| {
                r["policies.overrides[0].circuitBreaker.failureRateThreshold"] == threshold
                    && r["policies.overrides[0].retry.maxAttempts"] == attempts
            })
            .unwrap()
    };
    // Where the mesh stays stable: without retries, or with a breaker that opens.
    for threshold in ["50", "70", "80", "100"] {
        assert_eq!(at(threshold, "1")["recovered_pct_mean"], "100.00", "{threshold} % without retries");
    }
    for attempts in ["2", "3", "4"] {
        assert_eq!(at("50", attempts)["recovered_pct_mean"], "100.00", "50 % with {attempts} attempts");
        assert_eq!(at("100", attempts)["recovered_pct_mean"], "0.00", "100 % with {attempts} attempts");
    }
    for chart in ["heatmap-recovered_pct-maxAttempts-failureRateThreshold.png", "pareto-availability_pct-p99_ms.png"] {
        let png = std::fs::read(dir.join("charts").join(chart)).unwrap();
        assert_eq!(&png[1..4], b"PNG", "{chart}");
    }
    let before = files(&dir);
    let again = sweep(&dir);
    assert!(again.contains("0 runs done now, 84 were recorded before"), "{again}");
    assert!(files(&dir) == before, "a finished sweep run again changes nothing");
}

#[test]
fn batch_system_shards_merge_through_the_cli() {
    // A small sweep from the command line only (--set, --replications), sharded by a
    // Kubernetes index and by a Slurm array, merged, against one run.
    let bin = env!("CARGO_BIN_EXE_meshsim");
    let mut base = scenario_json("retry-storm");
    base["run"]["duration"] = json!("5s");
    base["faults"][0]["start"] = json!("1s");
    base["faults"][0]["duration"] = json!("2s");
    let file = temp_dir("sweep-cli-shards").join("storm.json");
    std::fs::write(&file, base.to_string()).unwrap();
    let args = |out: &Path| -> Vec<String> {
        vec![
            "sweep".into(),
            file.to_string_lossy().into_owned(),
            "--set".into(),
            "policies.overrides[0].retry.maxAttempts=1..3:3".into(),
            "--set".into(),
            "policies.overrides[0].retry.perTryTimeout=50ms,100ms".into(),
            "--replications".into(),
            "2".into(),
            "--threads".into(),
            "1".into(),
            "--out".into(),
            out.to_string_lossy().into_owned(),
        ]
    };
    let run = |out: &Path, env: &[(&str, &str)]| {
        let mut cmd = Command::new(bin);
        cmd.args(args(out));
        for var in ["JOB_COMPLETION_INDEX", "MESHSIM_SHARD_COUNT", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        let out = cmd.output().expect("meshsim runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let whole = temp_dir("sweep-cli-whole");
    run(&whole, &[]);
    let k8s = [temp_dir("sweep-cli-k8s-0"), temp_dir("sweep-cli-k8s-1")];
    let index = ["0", "1"];
    for (dir, i) in k8s.iter().zip(index) {
        let stderr = run(dir, &[("JOB_COMPLETION_INDEX", i), ("MESHSIM_SHARD_COUNT", "2")]);
        assert!(stderr.contains(&format!("shard {i}/2")), "{stderr}");
    }
    let slurm = [temp_dir("sweep-cli-slurm-1"), temp_dir("sweep-cli-slurm-2"), temp_dir("sweep-cli-slurm-3")];
    for (dir, id) in slurm.iter().zip(["1", "2", "3"]) {
        let env = [("SLURM_ARRAY_TASK_ID", id), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "1")];
        run(dir, &env);
    }
    for (name, shards) in [("k8s", &k8s[..]), ("slurm", &slurm[..])] {
        let merged = temp_dir(&format!("sweep-cli-merged-{name}"));
        let out = Command::new(bin).arg("merge").args(shards).arg("--out").arg(&merged).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_same_files(&whole, &merged);
    }
    // A merge of folders of different sweeps is refused.
    let other = temp_dir("sweep-cli-other");
    let mut cmd = Command::new(bin);
    cmd.args(args(&other)).args(["--seed", "9"]).env_remove("JOB_COMPLETION_INDEX").env_remove("SLURM_ARRAY_TASK_ID");
    assert!(cmd.output().unwrap().status.success());
    let refused = temp_dir("sweep-cli-merge-refused");
    let out = Command::new(bin).arg("merge").arg(&k8s[0]).arg(&other).arg("--out").arg(&refused).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds another sweep"));
}

#[test]
fn a_list_of_points_runs_in_its_order() {
    let mut v = small_sweep_json(1);
    let (threshold, attempts) =
        ("policies.overrides[0].circuitBreaker.failureRateThreshold", "policies.overrides[0].retry.maxAttempts");
    v["sweep"] = json!({
        "points": [
            { threshold: 100, attempts: 3 },
            { threshold: 50, attempts: 3 },
            { threshold: 100, attempts: 1 }
        ],
        "charts": [ { "type": "heatmap" }, { "type": "line", "x": attempts }, { "type": "pareto", "x": "p99_ms" } ]
    });
    let sw = Sweep::from_text(&v.to_string(), "list.json", &Overrides::default()).unwrap();
    let m = sw.manifest();
    assert_eq!(m.parameters[0].values, vec![json!(100), json!(50)], "values in order of first use");
    let dir = temp_dir("sweep-list");
    let out = execute(&sw, &dir, &opts(2)).unwrap();
    assert_eq!(out.report.charts.len(), 3);
    let rows = csv_rows(&dir);
    let order: Vec<(&str, &str)> = rows.iter().map(|r| (r[threshold].as_str(), r[attempts].as_str())).collect();
    assert_eq!(order, vec![("100", "3"), ("50", "3"), ("100", "1")]);
    // The heat map has a cell without a point (threshold 50, one attempt); it is drawn.
    assert!(dir.join("charts/heatmap-availability_pct-failureRateThreshold-maxAttempts.png").exists());
    // A listed point the scenario rejects is named by its place in the list.
    v["sweep"]["points"][2][attempts] = json!(0);
    let e = Sweep::from_text(&v.to_string(), "list.json", &Overrides::default()).unwrap_err().to_string();
    assert!(e.starts_with("list.json: sweep.points[2]: a value the scenario accepts at"), "{e}");
}
