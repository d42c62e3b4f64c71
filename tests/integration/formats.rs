//! Standard output formats: `metrics.prom` parses as Prometheus' text format and agrees
//! with `summary.json`, `latency.hlog` decodes and agrees with `timeseries.csv`,
//! `stats.csv` has Locust's columns and `summary.json`'s counts, and all three come out
//! byte for byte the same from two runs.

use crate::common::{load, scenario_path, temp_dir};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use meshsim::formats::hlog::HlogWriter;
use meshsim::{Hooks, RunOptions, Scenario, SimDuration};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// Every output of one run, in memory.
struct Outputs {
    summary: Value,
    timeseries: Vec<u8>,
    prom: String,
    hlog: Vec<u8>,
    stats: Vec<u8>,
}

fn run_formats(sc: &Scenario, secs: u64) -> Outputs {
    let opts = RunOptions { duration: Some(SimDuration::from_secs(secs)), ..RunOptions::default() };
    let mut timeseries = Vec::new();
    let mut hlog = Vec::new();
    let mut writer = HlogWriter::begin(&mut hlog, sc, sc.seed).expect("writes to memory");
    let mut on_window = |start, end, route, latency: &_| writer.record(start, end, route, latency);
    let hooks = Hooks { timeseries: Some(&mut timeseries), route_windows: Some(&mut on_window), ..Hooks::default() };
    let r = meshsim::run(sc, &opts, hooks).expect("run writes to memory");
    writer.finish().expect("writes to memory");
    Outputs {
        summary: meshsim::report::summary(sc, &r),
        timeseries,
        prom: meshsim::formats::prom::metrics(sc, &r),
        hlog,
        stats: meshsim::formats::locust::stats_csv(sc, &r),
    }
}

/// Scenarios with plain traffic, and with breakers, retries, errors and fallbacks.
const SCENARIOS: [(&str, u64); 3] = [("baseline", 20), ("payment-outage", 40), ("retry-storm-budget", 30)];

// ---------------------------------------------------------------------------------------
// A hand parser of the Prometheus text format, version 0.0.4.

type Labels = Vec<(String, String)>;

struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

struct PromFamily {
    name: String,
    kind: String,
    samples: Vec<Sample>,
}

fn is_name(s: &str, colon: bool) -> bool {
    let mut chars = s.chars();
    let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':');
    chars.next().is_some_and(ok_first) && chars.all(|c| ok_first(c) || c.is_ascii_digit())
}

/// `{a="x",b="y\"z"}` (the braces included) into pairs, unescaping the values.
fn parse_labels(s: &str, line: &str) -> Labels {
    let inner = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')).unwrap_or_else(|| panic!("labels: {line}"));
    let mut labels = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("label without =\": {line}"));
        assert!(is_name(name, false), "label name {name:?}: {line}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => panic!("bad escape {other:?}: {line}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {line}"),
            }
        };
        labels.push((name.to_string(), value));
        rest = &after[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
            assert!(!rest.is_empty(), "trailing comma: {line}");
        } else {
            assert!(rest.is_empty(), "labels must be separated by commas: {line}");
        }
    }
    labels
}

fn parse_value(s: &str, line: &str) -> f64 {
    match s {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => {
            assert!(!s.contains(['e', 'E']), "numbers are written without exponents: {line}");
            s.parse().unwrap_or_else(|_| panic!("value {s:?}: {line}"))
        }
    }
}

/// Parses the whole file, checking its syntax line by line: blocks of `# HELP`, `# TYPE`
/// and samples of that family only, no blank line, each family once.
fn parse_prom(text: &str) -> Vec<PromFamily> {
    assert!(text.ends_with('\n'), "the last line ends with a line feed");
    let mut fams: Vec<PromFamily> = Vec::new();
    let mut help: Option<String> = None;
    for line in text.lines() {
        assert!(!line.trim().is_empty(), "no blank lines");
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or_else(|| panic!("HELP without text: {line}"));
            assert!(is_name(name, true) && !text.is_empty(), "{line}");
            assert!(fams.iter().all(|f| f.name != name), "family {name} appears once");
            help = Some(name.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("TYPE without type: {line}"));
            assert_eq!(help.take().as_deref(), Some(name), "TYPE follows its HELP: {line}");
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "{line}");
            fams.push(PromFamily { name: name.into(), kind: kind.into(), samples: Vec::new() });
        } else {
            assert!(!line.starts_with('#'), "only HELP and TYPE comments: {line}");
            let fam = fams.last_mut().unwrap_or_else(|| panic!("a sample before any TYPE: {line}"));
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("sample without value: {line}"));
            let (name, labels) = match series.find('{') {
                Some(i) => (&series[..i], parse_labels(&series[i..], line)),
                None => (series, Vec::new()),
            };
            assert!(is_name(name, true), "metric name {name:?}: {line}");
            let suffixes: &[&str] = if fam.kind == "histogram" { &["_bucket", "_sum", "_count"] } else { &[""] };
            assert!(
                suffixes.iter().any(|s| name.strip_suffix(s) == Some(fam.name.as_str())),
                "sample {name} belongs to family {}: {line}",
                fam.name
            );
            fam.samples.push(Sample { name: name.into(), labels, value: parse_value(value, line) });
        }
    }
    assert!(help.is_none(), "a HELP without TYPE");
    let names: Vec<&str> = fams.iter().map(|f| f.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "families sorted by name");
    fams
}

fn family<'a>(fams: &'a [PromFamily], name: &str) -> &'a PromFamily {
    fams.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no family {name}"))
}

fn label<'a>(s: &'a Sample, name: &str) -> Option<&'a str> {
    s.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The sum of the family's samples whose labels include all of `with`.
fn sum(fams: &[PromFamily], name: &str, with: &[(&str, &str)]) -> f64 {
    let samples = &family(fams, name).samples;
    let hits: Vec<&Sample> =
        samples.iter().filter(|s| s.name == name && with.iter().all(|&(k, v)| label(s, k) == Some(v))).collect();
    assert!(!hits.is_empty(), "no {name} sample with {with:?}");
    hits.iter().map(|s| s.value).sum()
}

fn u(v: &Value) -> f64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}")) as f64
}

const OUTCOMES: [&str; 7] = ["ok", "error", "timeout", "rejected", "dropped", "short_circuited", "overloaded"];

/// Every outcome's counter (summed over statuses) and each status's equal the summary's.
fn check_outcomes(fams: &[PromFamily], name: &str, key: (&str, &str), counts: &Value) {
    for outcome in OUTCOMES {
        assert_eq!(sum(fams, name, &[key, ("outcome", outcome)]), u(&counts[outcome]), "{name} {key:?} {outcome}");
    }
    for (status, n) in counts["by_status"].as_object().expect("by_status") {
        assert_eq!(sum(fams, name, &[key, ("outcome", "error"), ("status", status)]), u(n), "{name} {key:?} {status}");
    }
}

/// A histogram's buckets for one label set: cumulative and non-decreasing in `le`,
/// `+Inf` equal to `_count`; returns (count, sum).
fn check_histogram(fams: &[PromFamily], name: &str, key: (&str, &str)) -> (f64, f64) {
    let fam = family(fams, name);
    assert_eq!(fam.kind, "histogram");
    let ours = |s: &&Sample| label(s, key.0) == Some(key.1);
    let buckets: Vec<(f64, f64)> = fam
        .samples
        .iter()
        .filter(ours)
        .filter(|s| s.name.ends_with("_bucket"))
        .map(|s| (parse_value(label(s, "le").expect("a bucket has le"), "le"), s.value))
        .collect();
    assert!(buckets.len() >= 10, "{name} {key:?} has its buckets");
    for w in buckets.windows(2) {
        assert!(w[0].0 < w[1].0, "{name} {key:?}: le increasing: {w:?}");
        assert!(w[0].1 <= w[1].1, "{name} {key:?}: buckets cumulative: {w:?}");
    }
    let (le_last, inf) = *buckets.last().expect("buckets");
    assert!(le_last.is_infinite(), "the last bucket is +Inf");
    let one = |suffix: &str| {
        let s: Vec<&Sample> = fam.samples.iter().filter(ours).filter(|s| s.name.ends_with(suffix)).collect();
        assert_eq!(s.len(), 1, "{name}{suffix} {key:?}");
        s[0].value
    };
    let count = one("_count");
    assert_eq!(inf, count, "{name} {key:?}: +Inf bucket == _count");
    (count, one("_sum"))
}

#[test]
fn metrics_prom_parses_and_agrees_with_the_summary() {
    let mut statuses = 0;
    for (name, secs) in SCENARIOS {
        let sc = load(name);
        let out = run_formats(&sc, secs);
        let fams = parse_prom(&out.prom);
        let s = &out.summary;
        // The summary rounds seconds to 6 decimals; the exposition has them to the ns.
        for (metric, key) in [("meshsim_simulated_seconds", "simulated_s"), ("meshsim_measured_seconds", "measured_s")]
        {
            let (got, want) = (sum(&fams, metric, &[]), s[key].as_f64().unwrap());
            assert!((got - want).abs() <= 5e-7, "{name} {metric}: {got} against {want}");
        }
        for (route, v) in s["routes"].as_object().unwrap() {
            let key = ("route", route.as_str());
            check_outcomes(&fams, "meshsim_requests_total", key, &v["requests"]);
            statuses += v["requests"]["by_status"].as_object().unwrap().len();
            let (count, total_s) = check_histogram(&fams, "meshsim_request_duration_seconds", key);
            assert_eq!(count, u(&v["requests"]["total"]), "{name} {route}: every request has a latency");
            let mean_ms = v["latency_ms"]["mean"].as_f64().unwrap();
            if count > 0.0 {
                assert!((total_s / count * 1e3 - mean_ms).abs() < 1e-3 + 1e-6 * mean_ms, "{name} {route} mean");
            }
        }
        for (svc, v) in s["services"].as_object().unwrap() {
            let key = ("service", svc.as_str());
            check_outcomes(&fams, "meshsim_service_requests_total", key, &v["requests"]);
            let (count, _) = check_histogram(&fams, "meshsim_service_request_duration_seconds", key);
            let unsent = u(&v["requests"]["short_circuited"]) + u(&v["requests"]["overloaded"]);
            assert_eq!(count, u(&v["requests"]["total"]) - unsent, "{name} {svc}: attempts sent have a latency");
        }
        for (point, v) in s["calls"].as_object().unwrap() {
            let (caller, destination) = point.split_once("->").unwrap();
            let at = [("caller", caller), ("destination", destination)];
            for outcome in OUTCOMES {
                let with = [at[0], at[1], ("outcome", outcome)];
                assert_eq!(sum(&fams, "meshsim_calls_total", &with), u(&v["requests"][outcome]), "{point} {outcome}");
            }
            let figures = [
                ("meshsim_call_attempts_total", &v["attempts"]),
                ("meshsim_call_retries_total", &v["retries"]),
                ("meshsim_call_retries_denied_total", &v["retries_denied_by_budget"]),
                ("meshsim_call_breaker_opens_total", &v["breaker_opens"]),
                ("meshsim_call_ejections_total", &v["ejections"]),
                ("meshsim_call_fallbacks_total", &v["fallbacks"]),
                ("meshsim_call_deferred_total", &v["deferred"]["total"]),
                ("meshsim_call_hedges_total", &v["hedges"]),
                ("meshsim_call_hedges_won_total", &v["hedges_won"]),
            ];
            for (metric, expected) in figures {
                assert_eq!(sum(&fams, metric, &at), u(expected), "{name} {point} {metric}");
            }
        }
        for (inst, v) in s["instances"].as_object().unwrap() {
            let at = [("instance", inst.as_str())];
            for (metric, key) in [
                ("meshsim_instance_utilization_ratio", "utilization"),
                ("meshsim_instance_queue_length_mean", "queue_mean"),
                ("meshsim_instance_jobs_in_system_mean", "in_system_mean"),
            ] {
                let (got, want) = (sum(&fams, metric, &at), v[key].as_f64().unwrap());
                assert!((got - want).abs() <= 5e-5 + 1e-6, "{name} {inst} {metric}: {got} against {want}");
            }
            let jobs = sum(&fams, "meshsim_instance_jobs_total", &at);
            assert_eq!(jobs, u(&v["completed"]) + u(&v["rejected"]), "{name} {inst} jobs");
        }
        // The runs chosen exercise failures: the file is not all zeros.
        if name != "baseline" {
            let calls = &family(&fams, "meshsim_calls_total").samples;
            let failed: f64 = calls.iter().filter(|s| label(s, "outcome") != Some("ok")).map(|s| s.value).sum();
            assert!(failed > 0.0, "{name} has failed calls");
        }
    }
    assert!(statuses > 0, "some route errors were checked by status");
}

#[test]
fn prom_parser_rejects_what_the_format_forbids() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\"} 1\n";
    assert_eq!(parse_prom(ok)[0].samples[0].labels, vec![("x".to_string(), "q\"".to_string())]);
    for bad in [
        "# HELP a_total A.\n# TYPE a_total counter\n\na_total 1\n",
        "# HELP a_total A.\n# TYPE a_total counter\nb_total 1\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q} 1\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total 1e3\n",
        "# HELP b B.\n# TYPE b gauge\nb 1\n# HELP a A.\n# TYPE a gauge\na 1\n",
    ] {
        assert!(std::panic::catch_unwind(|| parse_prom(bad)).is_err(), "accepted: {bad:?}");
    }
}

// ---------------------------------------------------------------------------------------

/// timeseries.csv's route rows: (window start, route) to (requests, p50 ms, max ms).
fn route_rows(ts: &[u8]) -> BTreeMap<(String, String), (u64, String, String)> {
    let mut r = csv::Reader::from_reader(ts);
    let header = r.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap_or_else(|| panic!("column {n}"));
    let (start, scope, name, requests) = (col("window_start_s"), col("scope"), col("name"), col("requests"));
    let (p50, max) = (col("latency_p50_ms"), col("latency_max_ms"));
    let mut rows = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        if &rec[scope] == "route" {
            let value = (rec[requests].parse().unwrap(), rec[p50].to_string(), rec[max].to_string());
            rows.insert((rec[start].to_string(), rec[name].to_string()), value);
        }
    }
    rows
}

#[test]
fn latency_hlog_decodes_and_agrees_with_the_time_series() {
    for (name, secs) in SCENARIOS {
        let sc = load(name);
        let out = run_formats(&sc, secs);
        let text = String::from_utf8(out.hlog.clone()).expect("the log is text");
        let head: Vec<&str> = text.lines().take(5).collect();
        assert!(head[0].starts_with("#[meshsim latency per route: scenario "), "{head:?}");
        assert_eq!(head[1], "#[Histogram log format version 1.3]");
        assert_eq!(head[2], "#[StartTime: 0.000 (seconds since epoch)]");
        assert_eq!(head[3], "#[BaseTime: 0.000 (seconds since epoch)]");
        assert_eq!(
            head[4],
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
        );

        let routes: Vec<&str> = sc.gateway.routes.iter().map(|r| r.name.as_str()).collect();
        let mut decoded = BTreeMap::new();
        let mut order = Vec::new();
        let mut deserializer = Deserializer::new();
        for entry in IntervalLogIterator::new(&out.hlog) {
            match entry.expect("every line parses") {
                LogEntry::StartTime(t) | LogEntry::BaseTime(t) => assert!(t.is_zero(), "the simulated epoch is 0"),
                LogEntry::Interval(h) => {
                    let tag = h.tag().expect("every interval is tagged").as_str().to_string();
                    let bytes = base64_decode(h.encoded_histogram());
                    let hist: Histogram<u64> = deserializer.deserialize(&mut bytes.as_slice()).expect("decodes");
                    assert_eq!(hist.max() as f64, h.max(), "Interval_Max is the histogram's max, in µs");
                    let start = format!("{:.3}", h.start_timestamp().as_secs_f64());
                    order.push((h.start_timestamp(), routes.iter().position(|r| *r == tag).expect("a route's tag")));
                    decoded.insert((start, tag), hist);
                }
            }
        }
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "{name}: windows in time order, routes in scenario order");

        let rows = route_rows(&out.timeseries);
        assert!(rows.len() > routes.len() * 10, "{name}: many windows");
        assert_eq!(
            decoded.keys().collect::<Vec<_>>(),
            rows.keys().collect::<Vec<_>>(),
            "{name}: one histogram per window and route"
        );
        let mut requests = 0;
        for (key, hist) in &decoded {
            let (n, p50, max) = &rows[key];
            assert_eq!(hist.len(), *n, "{name} {key:?}: the window's count");
            requests += n;
            if *n > 0 {
                let max_ms: f64 = max.parse().unwrap();
                let q = (hist.value_at_quantile(0.5) as f64 / 1e3).min(max_ms);
                assert_eq!(&format!("{q:.3}"), p50, "{name} {key:?}: the window's median");
            }
        }
        assert!(requests > 1000, "{name}: the log counts the requests");
    }
}

/// Standard base64 (with padding), enough to read the log's histograms.
fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= u32::from(value(c)) << (18 - 6 * i);
        }
        let n = chunk.len() * 6 / 8;
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    out
}

// ---------------------------------------------------------------------------------------

#[test]
fn stats_csv_has_locusts_columns_and_the_summarys_counts() {
    const HEADER: [&str; 22] = [
        "Type",
        "Name",
        "Request Count",
        "Failure Count",
        "Median Response Time",
        "Average Response Time",
        "Min Response Time",
        "Max Response Time",
        "Average Content Size",
        "Requests/s",
        "Failures/s",
        "50%",
        "66%",
        "75%",
        "80%",
        "90%",
        "95%",
        "98%",
        "99%",
        "99.9%",
        "99.99%",
        "100%",
    ];
    for (name, secs) in SCENARIOS {
        let sc = load(name);
        let out = run_formats(&sc, secs);
        let text = String::from_utf8(out.stats.clone()).unwrap();
        assert!(text.ends_with("\r\n") && text.matches('\n').count() == text.matches("\r\n").count(), "CRLF lines");
        assert_eq!(text.lines().next().unwrap(), HEADER.join(","), "{name}: the header, unquoted as Locust writes it");

        let mut r = csv::Reader::from_reader(out.stats.as_slice());
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), HEADER);
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        let s = &out.summary;
        let routes = s["routes"].as_object().unwrap();
        assert_eq!(rows.len(), routes.len() + 1, "{name}: a row per route and Aggregated");
        let names: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
        let mut sorted: Vec<&str> = routes.keys().map(String::as_str).collect();
        sorted.sort();
        sorted.push("Aggregated");
        assert_eq!(names, sorted, "{name}: routes sorted by name, then Aggregated");
        for row in &rows {
            let (kind, route) = (&row[0], &row[1]);
            let (requests, latency, rps) = if route == "Aggregated" {
                assert_eq!(kind, "", "Aggregated has no type");
                let total = u(&s["requests"]["ok"]) + u(&s["requests"]["failed"]);
                (total, &s["latency_ms"], s["throughput_rps"].as_f64().unwrap())
            } else {
                let sr = sc.gateway.routes.iter().find(|r| r.name == route).unwrap();
                assert_eq!(kind, sr.method.as_deref().unwrap_or(""), "{name} {route}: Type is the route's method");
                let v = &routes[route];
                (u(&v["requests"]["total"]), &v["latency_ms"], v["throughput_rps"].as_f64().unwrap())
            };
            let failures = if route == "Aggregated" {
                u(&s["requests"]["failed"])
            } else {
                u(&routes[route]["requests"]["failed"])
            };
            assert_eq!(row[2].parse::<f64>().unwrap(), requests, "{name} {route}: Request Count");
            assert_eq!(row[3].parse::<f64>().unwrap(), failures, "{name} {route}: Failure Count");
            assert_eq!(&row[8], "0.0", "{name} {route}: no payloads");
            let close = |col: usize, want: f64, tol: f64| {
                let got: f64 = row[col].parse().unwrap();
                assert!((got - want).abs() <= tol, "{name} {route}: {} {got} against {want}", HEADER[col]);
            };
            close(5, latency["mean"].as_f64().unwrap(), 1e-3);
            close(7, latency["max"].as_f64().unwrap(), 1e-3);
            close(9, rps, 1e-3);
            let pcts: Vec<u64> = (11..22).map(|i| row[i].parse().unwrap()).collect();
            assert!(pcts.windows(2).all(|w| w[0] <= w[1]), "{name} {route}: percentiles non-decreasing: {pcts:?}");
            // Locust keeps two significant digits: p99 within 5 % (and a ms) of the summary's.
            let p99 = latency["p99"].as_f64().unwrap();
            assert!((pcts[7] as f64 - p99).abs() <= 0.05 * p99 + 1.0, "{name} {route}: p99 {} against {p99}", pcts[7]);
            let (min, median, max): (f64, f64, f64) =
                (row[6].parse().unwrap(), row[4].parse().unwrap(), row[7].parse().unwrap());
            assert!(min <= median && median <= max, "{name} {route}: min {min} <= median {median} <= max {max}");
        }
    }
}

// ---------------------------------------------------------------------------------------

#[test]
fn new_files_are_byte_identical_across_two_cli_runs() {
    let bin = env!("CARGO_BIN_EXE_meshsim");
    let dirs = [temp_dir("formats-a"), temp_dir("formats-b")];
    for dir in &dirs {
        let out = Command::new(bin)
            .args(["run", scenario_path("baseline").to_str().unwrap(), "--duration", "10s", "--out"])
            .arg(dir)
            .output()
            .expect("meshsim runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    for file in ["metrics.prom", "latency.hlog", "stats.csv", "summary.json", "timeseries.csv"] {
        let a = std::fs::read(dirs[0].join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let b = std::fs::read(dirs[1].join(file)).unwrap();
        assert!(a.len() > 100, "{file} has content");
        assert!(a == b, "{file} differs between two runs with the same seed");
    }
    // Written whole: no temporary file is left behind.
    let left: Vec<String> = std::fs::read_dir(&dirs[0])
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    // The CLI's files are the library's: the same run in memory gives the same bytes.
    let sc = load("baseline");
    let out = run_formats(&sc, 10);
    assert_eq!(std::fs::read(dirs[0].join("metrics.prom")).unwrap(), out.prom.as_bytes());
    assert_eq!(std::fs::read(dirs[0].join("latency.hlog")).unwrap(), out.hlog);
    assert_eq!(std::fs::read(dirs[0].join("stats.csv")).unwrap(), out.stats);
    for dir in &dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}
