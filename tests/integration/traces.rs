//! Distributed traces: W3C ids, one span per hop, retries and hedges as siblings, span
//! trees consistent in time, OTLP JSON lines and Chrome trace events that agree, sampling
//! at the stated rate, and the same bytes every time.

use crate::common::{load_edited, scenario_path, temp_dir};
use meshsim::{Hooks, RunOptions};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The chaos scenario for 60 s (crashes, latency, errors... from 20 s), with hedged calls
/// to catalog, traced at `percent`.
fn traced(percent: f64) -> (meshsim::RunResult, Vec<u8>, Vec<u8>) {
    let sc = load_edited("chaos", |v| {
        v["run"] = json!({ "duration": "60s", "warmup": "5s" });
        v["chaos"]["end"] = json!("55s");
        v["chaos"]["meanInterval"] = json!("5s");
        v["policies"]["overrides"].as_array_mut().unwrap().push(json!({
            "source": "gateway", "destination": "catalog", "retry": null,
            "hedging": { "maxAttempts": 2, "hedgingDelay": "5ms" }
        }));
    });
    let (mut otlp, mut chrome) = (Vec::new(), Vec::new());
    let opts = RunOptions { trace_sampling: Some(percent / 100.0), ..RunOptions::default() };
    let hooks = Hooks { traces_otlp: Some(&mut otlp), trace_chrome: Some(&mut chrome), ..Hooks::default() };
    let r = meshsim::run(&sc, &opts, hooks).expect("run");
    (r, otlp, chrome)
}

#[derive(Debug)]
struct Span {
    trace: String,
    id: String,
    parent: Option<String>,
    name: String,
    kind: u64,
    start: u64,
    end: u64,
    attrs: BTreeMap<String, Value>,
}

fn spans(otlp: &[u8]) -> Vec<Span> {
    String::from_utf8(otlp.to_vec())
        .unwrap()
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("each line is JSON");
            let rs = &v["resourceSpans"][0];
            assert_eq!(rs["resource"]["attributes"][0]["key"], "service.name");
            let s = &rs["scopeSpans"][0]["spans"][0];
            let attrs = s["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| (a["key"].as_str().unwrap().to_string(), a["value"].clone()))
                .collect();
            Span {
                trace: s["traceId"].as_str().unwrap().to_string(),
                id: s["spanId"].as_str().unwrap().to_string(),
                parent: s["parentSpanId"].as_str().map(String::from),
                name: s["name"].as_str().unwrap().to_string(),
                kind: s["kind"].as_u64().unwrap(),
                start: s["startTimeUnixNano"].as_str().unwrap().parse().unwrap(),
                end: s["endTimeUnixNano"].as_str().unwrap().parse().unwrap(),
                attrs,
            }
        })
        .collect()
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) && s.chars().any(|c| c != '0')
}

#[test]
fn span_trees_are_consistent_and_retries_and_hedges_are_siblings() {
    let (r, otlp, _) = traced(20.0);
    let all = spans(&otlp);
    let by_id: BTreeMap<&str, &Span> = all.iter().map(|s| (s.id.as_str(), s)).collect();
    assert_eq!(by_id.len(), all.len(), "span ids are unique");
    let roots: Vec<&Span> = all.iter().filter(|s| s.parent.is_none()).collect();
    // 20 % of the requests, within a few standard deviations.
    let expected = 0.2 * r.requests as f64;
    assert!((roots.len() as f64 - expected).abs() < 4.0 * (expected * 0.8).sqrt(), "{} roots", roots.len());
    let mut siblings: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let (mut orphans, mut retries, mut hedges) = (0, 0, 0);
    for s in &all {
        assert!(is_hex(&s.trace, 32) && is_hex(&s.id, 16), "ids in W3C form: {s:?}");
        let tp = s.attrs["w3c.traceparent"]["stringValue"].as_str().unwrap();
        assert_eq!(tp, format!("00-{}-{}-01", s.trace, s.id));
        assert!(s.start <= s.end, "{s:?}");
        let Some(pid) = &s.parent else {
            assert_eq!(s.kind, 2, "the root is the gateway's server span");
            continue;
        };
        let p = by_id.get(pid.as_str()).unwrap_or_else(|| panic!("the parent of {} was written", s.name));
        assert_eq!(p.trace, s.trace, "a child is in its parent's trace");
        assert_ne!(p.kind, s.kind, "client and server spans alternate down the tree");
        assert!(s.start >= p.start, "a child starts inside its parent: {s:?} under {p:?}");
        let gone = s.attrs.get("meshsim.caller_gone").is_some_and(|v| v["boolValue"] == true);
        if gone {
            // The caller stopped waiting (a timeout or a cancelled hedge): the callee worked on.
            assert!(p.end < s.end, "{s:?} under {p:?}");
            orphans += 1;
        } else {
            assert!(s.end <= p.end, "a child ends inside its parent: {s:?} under {p:?}");
        }
        if s.kind == 3 {
            *siblings.entry((pid.as_str(), s.name.as_str())).or_default() += 1;
            retries += usize::from(s.attrs["meshsim.retry"]["boolValue"] == true);
            hedges += usize::from(s.attrs["meshsim.hedge"]["boolValue"] == true);
        }
    }
    assert!(retries > 0 && hedges > 0 && orphans > 0, "retries {retries}, hedges {hedges}, orphans {orphans}");
    // Every retry or hedge has its first attempt beside it, under the same parent.
    for s in all.iter().filter(|s| s.kind == 3 && s.attrs["meshsim.attempt"]["intValue"] != "1") {
        let first = all
            .iter()
            .any(|x| x.parent == s.parent && x.name == s.name && x.attrs["meshsim.attempt"]["intValue"] == "1");
        assert!(first, "attempt {:?} of {} has its first attempt as a sibling", s.attrs["meshsim.attempt"], s.name);
    }
    assert!(siblings.values().any(|&n| n > 1));
    // Every traced request is whole: a root per trace, every span's trace has one.
    let traces: BTreeSet<&str> = all.iter().map(|s| s.trace.as_str()).collect();
    assert_eq!(traces.len(), roots.len());
}

#[test]
fn chrome_trace_events_pair_up_with_the_otlp_spans() {
    let (_, otlp, chrome) = traced(5.0);
    let all = spans(&otlp);
    let v: Value = serde_json::from_slice(&chrome).expect("trace.json is JSON");
    let events = v["traceEvents"].as_array().unwrap();
    let mut open: BTreeMap<(u64, String), f64> = BTreeMap::new();
    let mut pairs = 0;
    for e in events {
        let key = || (e["pid"].as_u64().unwrap(), e["id"].as_str().unwrap().to_string());
        match e["ph"].as_str().unwrap() {
            "M" => assert_eq!(e["name"], "process_name"),
            "b" => {
                assert!(open.insert(key(), e["ts"].as_f64().unwrap()).is_none());
            }
            "e" => {
                let b = open.remove(&key()).expect("an end follows its begin");
                assert!(e["ts"].as_f64().unwrap() >= b);
                pairs += 1;
            }
            other => panic!("unexpected phase {other}"),
        }
    }
    assert!(open.is_empty());
    assert_eq!(pairs, all.len());
    let processes = events.iter().filter(|e| e["ph"] == "M").count();
    assert_eq!(processes, all.iter().filter(|s| s.parent.is_none()).count(), "one process per traced request");
}

#[test]
fn no_sampling_writes_no_span_and_the_cli_writes_both_files_the_same_each_time() {
    let (_, otlp, chrome) = traced(0.0);
    assert!(otlp.is_empty());
    let v: Value = serde_json::from_slice(&chrome).unwrap();
    assert_eq!(v["traceEvents"].as_array().unwrap().len(), 0);
    let run = |dir: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_meshsim"))
            .args(["run", scenario_path("instance-crash-protected").to_str().unwrap(), "--trace-sampling", "5"])
            .args(["--duration", "30s", "--out", dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        (std::fs::read(dir.join("traces.otlp.jsonl")).unwrap(), std::fs::read(dir.join("trace.json")).unwrap())
    };
    let a = run(&temp_dir("trace-a"));
    let b = run(&temp_dir("trace-b"));
    assert!(!a.0.is_empty());
    assert_eq!(a, b, "traces are deterministic");
}
