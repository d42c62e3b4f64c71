//! SLOs, k6-threshold style: judged on the run and window by window for recovery after
//! faults, written to summary.json, and setting the CLI's exit code (1 when one fails).

use crate::common::{load, load_edited, scenario_path, temp_dir};
use meshsim::{Hooks, RunOptions};
use serde_json::{Value, json};
use std::process::Command;

fn summary(sc: &meshsim::Scenario, slos: &[&str]) -> Value {
    let opts = RunOptions {
        slos: slos.iter().map(|t| meshsim::slo::Slo::parse(t, &sc.gateway.routes).unwrap()).collect(),
        ..Default::default()
    };
    let r = meshsim::run(sc, &opts, Hooks::default()).unwrap();
    meshsim::report::summary(sc, &r)
}

#[test]
fn slos_are_judged_on_the_measured_run() {
    let s = summary(
        &load("payment-outage"),
        &["availability>99.9%", "availability>90%", "order-history:p50<10ms", "max<1s"],
    );
    let slos = s["slos"].as_array().unwrap();
    let by = |t: &str| slos.iter().find(|x| x["threshold"] == json!(t)).unwrap().clone();
    let availability = s["availability_pct"].as_f64().unwrap();
    assert_eq!(by("availability>99.9%")["measured"].as_f64().unwrap(), (availability * 1e4).round() / 1e4);
    assert_eq!(by("availability>99.9%")["pass"], json!(false), "98.5 % is not 99.9 %");
    assert_eq!(by("availability>90%")["pass"], json!(true));
    let p50 = s["routes"]["order-history"]["latency_ms"]["p50"].as_f64().unwrap();
    assert_eq!(by("order-history:p50<10ms")["measured"].as_f64().unwrap(), p50);
    assert_eq!(by("order-history:p50<10ms")["pass"], json!(p50 < 10.0));
    // The hang holds checkouts for their whole 2 s timeout, and a 5 s delay is the max.
    assert_eq!(by("max<1s")["pass"], json!(false));
}

#[test]
fn recovery_time_is_from_a_faults_end_to_the_first_window_back_within_the_slo() {
    // The retry storm outlives its trigger (capacity back at 30 s): it never recovers.
    let storm = load_edited("retry-storm", |v| {
        v["slos"] = json!([{ "threshold": "availability>99%", "recoveryWithin": "10s" }]);
    });
    let s = summary(&storm, &[]);
    let slo = &s["slos"][0];
    assert_eq!(slo["recoveries"][0]["fault_end_s"], json!(30.0));
    assert_eq!(slo["recoveries"][0]["recovery_s"], Value::Null);
    assert_eq!(slo["pass"], json!(false));
    // With a budget and backoff it is back within seconds.
    let polite = load_edited("retry-storm-budget", |v| {
        v["slos"] = json!([{ "threshold": "availability>99%", "recoveryWithin": "10s" }]);
    });
    let s = summary(&polite, &[]);
    let r = s["slos"][0]["recoveries"][0]["recovery_s"].as_f64().expect("recovered");
    assert!((0.0..=5.0).contains(&r), "recovery {r} s");
    // Over the whole run availability is below 99 % (the drop itself), so the SLO fails
    // on its value even though the recovery is quick.
    assert_eq!(s["slos"][0]["pass"], json!(false));
}

fn cli(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_meshsim")).args(args).arg("--out").arg(dir).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn the_exit_code_is_1_when_an_slo_fails_and_2_for_a_bad_one() {
    let path = scenario_path("instance-crash");
    let file = path.to_str().unwrap();
    let dir = temp_dir("slo-cli");
    let (code, stdout, _) = cli(&["run", file, "--duration", "30s", "--slo", "p99<1s"], &dir);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("SLO p99<1s: pass"), "{stdout}");
    let (code, stdout, _) =
        cli(&["run", file, "--duration", "30s", "--slo", "p99<1s", "--slo", "availability>99.9%"], &dir);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("SLO availability>99.9%: FAIL"), "{stdout}");
    let written: Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(written["slos"][1]["pass"], json!(false), "the report is written all the same");
    let (code, _, stderr) = cli(&["run", file, "--slo", "p98<1s"], &dir);
    assert_eq!(code, 2);
    assert!(stderr.contains("--slo: a metric"), "{stderr}");
}

#[test]
fn resilience_scores_show_detection_recovery_and_amplification() {
    let s = summary(&load("retry-storm"), &[]);
    let r = &s["resilience"];
    assert_eq!(r["faults"][0]["recover_s"], Value::Null, "the storm never recovers");
    assert!(r["peak_retry_amplification"].as_f64().unwrap() > 3.0);
    assert!(r["availability_during_faults_pct"].as_f64().unwrap() < 10.0);
    assert!(r["wasted_work_s"].as_f64().unwrap() > 300.0);
    let s = summary(&load("retry-storm-budget"), &[]);
    let r = &s["resilience"];
    let recover = r["faults"][0]["recover_s"].as_f64().expect("recovers");
    assert!(recover <= 3.0, "{recover}");
    assert!(r["peak_retry_amplification"].as_f64().unwrap() < 2.0);
    assert_eq!(r["availability_outside_faults_pct"], json!(100.0));
    // Detection: the breaker opens about 2 s into the hang; outlier detection ejects a
    // crashed instance within milliseconds.
    let s = summary(&load("payment-outage"), &[]);
    let detect = s["resilience"]["faults"][0]["detect_s"].as_f64().unwrap();
    assert!((1.0..4.0).contains(&detect), "{detect}");
    let s = summary(&load("instance-crash-protected"), &[]);
    assert!(s["resilience"]["faults"][0]["detect_s"].as_f64().unwrap() < 0.1);
}
