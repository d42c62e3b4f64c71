//! The `sweep` block of a scenario file and `--set PATH=VALUES`: parsed into parameters,
//! each a JSON path with its list of values, checked without the rest of the scenario.
//!
//! ```json
//! "sweep": {
//!   "axes": [
//!     { "path": "policies.overrides[0].retry.maxAttempts", "values": [1, 2, 3, 4] },
//!     { "path": "policies.overrides[0].timeout", "range": { "from": "100ms", "to": "1s", "steps": 4, "scale": "log" } }
//!   ],
//!   "replications": 3
//! }
//! ```
//!
//! `axes` make a grid (their cartesian product, the first axis varying slowest);
//! `points` list the points instead, each an object from path to value.

use super::path::JsonPath;
use crate::scenario::Issue;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Points in one sweep, at most.
pub const POINTS_MAX: usize = 100_000;
/// Replications of one point, at most.
pub const REPLICATIONS_MAX: u32 = 10_000;
/// Runs in one sweep (points × replications), at most.
pub const RUNS_MAX: u64 = 1_000_000;
/// Steps of one range, at most.
const STEPS_MAX: u32 = 10_000;

/// The `sweep` block as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SweepSpec {
    #[serde(default)]
    pub axes: Vec<AxisSpec>,
    pub points: Option<Vec<Map<String, Value>>>,
    pub replications: Option<u32>,
    pub charts: Option<Vec<ChartSpec>>,
}

/// One axis of the grid: a path and its values, as a list or a range.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AxisSpec {
    pub path: String,
    pub values: Option<Vec<Value>>,
    pub range: Option<RangeSpec>,
}

/// `from` to `to` (numbers, or duration strings) in `steps` values, both ends included.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RangeSpec {
    pub from: Value,
    pub to: Value,
    pub steps: u32,
    #[serde(default)]
    pub scale: Scale,
}

/// How a range is stepped: evenly, or by a constant factor.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    #[default]
    Linear,
    Log,
}

/// A chart to draw: the defaults fill what is left out.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChartSpec {
    #[serde(rename = "type")]
    pub kind: ChartKind,
    /// Line and heat map: the metric shown (default `availability_pct`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Line and heat map: a parameter's path; Pareto: a metric (default
    /// `retry_amplification`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Heat map: a parameter's path; Pareto: a metric (default `availability_pct`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ChartKind {
    /// A metric against one parameter, a line per combination of the others, with its
    /// 95 % confidence band.
    Line,
    /// A metric over two parameters.
    Heatmap,
    /// Two metrics, every point, the Pareto-optimal ones joined.
    Pareto,
}

/// A swept parameter: where it goes in the scenario and the values it takes, in order.
#[derive(Clone, Debug)]
pub struct Param {
    pub path: JsonPath,
    pub values: Vec<Value>,
    pub scale: Scale,
    /// Where it was given, for messages: `sweep.axes[0]`, `sweep.points`, `--set ...`.
    pub origin: String,
    /// Where each value was given (`sweep.axes[0].values[2]`), for messages.
    pub value_origins: Vec<String>,
}

/// The parameters of a sweep and how they combine.
#[derive(Clone, Debug)]
pub enum Layout {
    /// Every combination of the parameters' values.
    Grid,
    /// The listed points: one value index per parameter each, and where it was given.
    List(Vec<(Vec<usize>, String)>),
}

/// Parses and checks a `sweep` block; every issue has a path starting at `sweep`.
pub fn parse_block(v: &Value) -> Result<SweepSpec, Vec<Issue>> {
    serde_path_to_error::deserialize(v).map_err(|err| {
        let inner = err.path().to_string();
        let path = if inner == "." || inner.is_empty() { "sweep".to_string() } else { format!("sweep.{inner}") };
        let message = err.into_inner().to_string();
        vec![Issue { path, message }]
    })
}

/// Checks a `sweep` block as the scenario's validation does: its shape, paths, values
/// and charts, without the rest of the file.
pub fn check_block(v: &Value) -> Vec<Issue> {
    let spec = match parse_block(v) {
        Ok(spec) => spec,
        Err(issues) => return issues,
    };
    let mut issues = Vec::new();
    match params(&spec, &[]) {
        Ok((params, _)) => check_charts(spec.charts.as_deref().unwrap_or(&[]), &params, &mut issues),
        Err(mut found) => issues.append(&mut found),
    }
    if let Some(n) = spec.replications
        && !(1..=REPLICATIONS_MAX).contains(&n)
    {
        issues.push(Issue {
            path: "sweep.replications".into(),
            message: format!("from 1 to {REPLICATIONS_MAX} replications, found {n}"),
        });
    }
    issues
}

/// The parameters of the block and of `--set` axes (`extra`: an axis and its origin),
/// which replace a file axis of the same path or come after the file's axes.
pub fn params(spec: &SweepSpec, extra: &[(AxisSpec, String)]) -> Result<(Vec<Param>, Layout), Vec<Issue>> {
    let mut issues = Vec::new();
    let mut out: Vec<Param> = Vec::new();
    let layout = match (&spec.points, spec.axes.is_empty()) {
        (Some(_), false) => {
            issues.push(Issue {
                path: "sweep.points".into(),
                message: "either axes (a grid) or points (a list), not both".into(),
            });
            return Err(issues);
        }
        (Some(points), true) => {
            if let Some((_, origin)) = extra.first() {
                issues.push(Issue {
                    path: origin.clone(),
                    message: "grid axes, but the file lists its points (sweep.points); edit the list instead".into(),
                });
                return Err(issues);
            }
            list_params(points, &mut out, &mut issues)
        }
        (None, _) => {
            let file_axes = spec.axes.iter().enumerate().map(|(i, a)| (a, format!("sweep.axes[{i}]")));
            for (axis, origin) in file_axes.chain(extra.iter().map(|(a, o)| (a, o.clone()))) {
                if let Some(p) = axis_param(axis, &origin, &mut issues) {
                    match out.iter_mut().find(|q| q.path == p.path) {
                        // `--set` replaces the file's axis of the same path, in its place.
                        Some(q) if p.origin.starts_with("--set") && !q.origin.starts_with("--set") => *q = p,
                        Some(_) => issues.push(Issue {
                            path: origin,
                            message: format!("each path once, but {} is set twice", p.path),
                        }),
                        None => out.push(p),
                    }
                }
            }
            Layout::Grid
        }
    };
    if out.is_empty() && issues.is_empty() {
        issues.push(Issue { path: "sweep".into(), message: "axes or points to sweep".into() });
    }
    for (i, p) in out.iter().enumerate() {
        if let Some(q) = out[..i].iter().find(|q| q.path.related_to(p.path.as_str())) {
            issues.push(Issue {
                path: p.origin.clone(),
                message: format!("a path apart from the others, but {} overlaps {}", p.path, q.path),
            });
        }
    }
    if issues.is_empty() { Ok((out, layout)) } else { Err(issues) }
}

/// A checked path: not the seed (each run's seed comes from the sweep) nor the sweep.
fn checked_path(text: &str, at: String, issues: &mut Vec<Issue>) -> Option<JsonPath> {
    match JsonPath::parse(text) {
        Ok(p) if matches!(p.root(), "seed" | "sweep") => {
            issues.push(Issue {
                path: at,
                message: format!(
                    "a scenario field other than seed and sweep (each run's seed derives from the \
                     root seed; use replications), found \"{text}\""
                ),
            });
            None
        }
        Ok(p) => Some(p),
        Err(message) => {
            issues.push(Issue { path: at, message });
            None
        }
    }
}

fn axis_param(axis: &AxisSpec, origin: &str, issues: &mut Vec<Issue>) -> Option<Param> {
    let at = |field: &str| if origin.starts_with("--set") { origin.to_string() } else { format!("{origin}.{field}") };
    let path = checked_path(&axis.path, at("path"), issues);
    let (values, scale, value_origins) = match (&axis.values, &axis.range) {
        (Some(_), Some(_)) | (None, None) => {
            issues.push(Issue { path: origin.to_string(), message: "either values (a list) or a range".into() });
            return None;
        }
        (Some(list), None) => {
            if list.is_empty() {
                issues.push(Issue { path: at("values"), message: "at least one value".into() });
                return None;
            }
            let values: Vec<Value> = list.iter().map(normalized).collect();
            let origins: Vec<String> = if origin.starts_with("--set") {
                values.iter().map(|v| format!("{origin} (value {v})")).collect()
            } else {
                (0..values.len()).map(|i| format!("{}[{i}]", at("values"))).collect()
            };
            (values, Scale::Linear, origins)
        }
        (None, Some(range)) => match expand_range(range) {
            Ok(values) => {
                let origins: Vec<String> = values.iter().map(|v| format!("{} (value {v})", at("range"))).collect();
                (values, range.scale, origins)
            }
            Err((field, message)) => {
                issues.push(Issue { path: format!("{}{field}", at("range")), message });
                return None;
            }
        },
    };
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            issues.push(Issue { path: value_origins[i].clone(), message: format!("each value once, but {v} repeats") });
            return None;
        }
    }
    Some(Param { path: path?, values, scale, origin: origin.to_string(), value_origins })
}

fn list_params(points: &[Map<String, Value>], out: &mut Vec<Param>, issues: &mut Vec<Issue>) -> Layout {
    let Some(first) = points.first() else {
        issues.push(Issue { path: "sweep.points".into(), message: "at least one point".into() });
        return Layout::List(Vec::new());
    };
    if first.is_empty() {
        issues.push(Issue { path: "sweep.points[0]".into(), message: "at least one path and its value".into() });
        return Layout::List(Vec::new());
    }
    for key in first.keys() {
        if let Some(path) = checked_path(key, "sweep.points[0]".into(), issues) {
            out.push(Param {
                path,
                values: Vec::new(),
                scale: Scale::Linear,
                origin: "sweep.points".into(),
                value_origins: Vec::new(),
            });
        }
    }
    if !issues.is_empty() {
        return Layout::List(Vec::new());
    }
    let mut rows: Vec<(Vec<usize>, String)> = Vec::new();
    for (i, point) in points.iter().enumerate() {
        let at = format!("sweep.points[{i}]");
        if !point.keys().eq(first.keys()) {
            let keys: Vec<&str> = first.keys().map(String::as_str).collect();
            issues.push(Issue {
                path: at,
                message: format!("the paths of points[0], in its order: {}", keys.join(", ")),
            });
            continue;
        }
        let mut row = Vec::with_capacity(out.len());
        for (p, v) in out.iter_mut().zip(point.values()) {
            let v = normalized(v);
            let k = p.values.iter().position(|x| *x == v).unwrap_or_else(|| {
                p.values.push(v);
                p.value_origins.push(at.clone());
                p.values.len() - 1
            });
            row.push(k);
        }
        if let Some(j) = rows.iter().position(|(r, _)| *r == row) {
            issues.push(Issue { path: at.clone(), message: format!("each point once, but it repeats points[{j}]") });
        }
        rows.push((row, at));
    }
    Layout::List(rows)
}

/// A value as the JSON text that stores it reads back: written and parsed until it no
/// longer changes, so that a value and its copy in a sweep's files are the same bits.
pub fn normalized(v: &Value) -> Value {
    let mut cur = v.clone();
    for _ in 0..4 {
        let text = serde_json::to_string(&cur).expect("a JSON value serializes");
        let next: Value = serde_json::from_str(&text).expect("serialized JSON parses");
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// The values of a range, or the field at fault (`.from`, `.steps`, ...) and why.
// Over 80 lines: each field of a range checked with its own message, then the values.
fn expand_range(r: &RangeSpec) -> Result<Vec<Value>, (&'static str, String)> {
    if !(2..=STEPS_MAX).contains(&r.steps) {
        return Err((
            ".steps",
            format!("from 2 to {STEPS_MAX} steps (for one value, use \"values\": [x]), found {}", r.steps),
        ));
    }
    let n = r.steps as usize;
    let fraction = |i: usize| i as f64 / (n - 1) as f64;
    let log = r.scale == Scale::Log;
    match (&r.from, &r.to) {
        (Value::Number(a), Value::Number(b)) => {
            let (x, y) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
            if log && !(x > 0.0 && y > 0.0) {
                return Err((".from", format!("a log range between positive numbers, found {a} to {b}")));
            }
            let integers = a.is_i64() || a.is_u64();
            let integers = integers && (b.is_i64() || b.is_u64());
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let v = if i == 0 {
                    x
                } else if i + 1 == n {
                    y
                } else if log {
                    (x.ln() + (y.ln() - x.ln()) * fraction(i)).exp()
                } else {
                    x + (y - x) * fraction(i)
                };
                let value = if integers {
                    Value::from(v.round() as i64)
                } else {
                    // Twelve significant digits: 0.1 steps read as 0.3, not 0.30000000000000004.
                    let v: f64 = format!("{v:.11e}").parse().expect("a formatted float parses");
                    normalized(&Value::from(v))
                };
                if out.contains(&value) {
                    return Err((
                        ".steps",
                        format!(
                            "steps that give distinct values, but {value} repeats (integer bounds give \
                             integers: fewer steps, or bounds such as {x:.1})"
                        ),
                    ));
                }
                out.push(value);
            }
            Ok(out)
        }
        (Value::String(a), Value::String(b)) => {
            let parse = |s: &str, f: &'static str| crate::time::parse_duration(s).map_err(|m| (f, m));
            let (x, y) = (parse(a, ".from")?.as_nanos() as f64, parse(b, ".to")?.as_nanos() as f64);
            if log && !(x > 0.0 && y > 0.0) {
                return Err((".from", format!("a log range between durations above zero, found {a} to {b}")));
            }
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let ns = if log { (x.ln() + (y.ln() - x.ln()) * fraction(i)).exp() } else { x + (y - x) * fraction(i) };
                // Whole microseconds between the ends, unless the ends themselves are finer.
                let ns = if i == 0 {
                    x
                } else if i + 1 == n {
                    y
                } else if x >= 1e3 && y >= 1e3 {
                    (ns / 1e3).round() * 1e3
                } else {
                    ns.round()
                };
                let value = Value::String(duration_text(ns as u64));
                if out.contains(&value) {
                    return Err((".steps", format!("steps that give distinct durations, but {value} repeats")));
                }
                out.push(value);
            }
            Ok(out)
        }
        _ => Err((
            ".from",
            format!(
                "from and to both numbers or both duration strings such as \"100ms\", found {} and {}",
                r.from, r.to
            ),
        )),
    }
}

/// A duration in the largest unit that writes it exactly: `1s`, `250ms`, `31623us`.
fn duration_text(ns: u64) -> String {
    for (unit, scale) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
        if ns > 0 && ns.is_multiple_of(scale) {
            return format!("{}{unit}", ns / scale);
        }
    }
    format!("{ns}ns")
}

/// The metrics a chart may show.
pub const METRIC_NAMES: [&str; 9] = [
    "availability_pct",
    "error_rate_pct",
    "p50_ms",
    "p99_ms",
    "retry_amplification",
    "wasted_work_s",
    "recovery_s",
    "recovered_pct",
    "slo_pass_pct",
];

fn check_charts(charts: &[ChartSpec], params: &[Param], issues: &mut Vec<Issue>) {
    for (i, c) in charts.iter().enumerate() {
        for issue in chart_problems(c, params) {
            let (field, message) = issue;
            issues.push(Issue { path: format!("sweep.charts[{i}]{field}"), message });
        }
    }
}

/// What is wrong with a chart over these parameters: the field and the message.
pub fn chart_problems(c: &ChartSpec, params: &[Param]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let metric = |name: &Option<String>, field: &str, out: &mut Vec<(String, String)>| {
        if let Some(m) = name
            && !METRIC_NAMES.contains(&m.as_str())
        {
            out.push((format!(".{field}"), format!("a metric ({}), found \"{m}\"", METRIC_NAMES.join(", "))));
        }
    };
    let param = |name: &Option<String>, field: &str, out: &mut Vec<(String, String)>| {
        if let Some(p) = name
            && !params.iter().any(|q| q.path.as_str() == p)
        {
            let known: Vec<&str> = params.iter().map(|q| q.path.as_str()).collect();
            out.push((format!(".{field}"), format!("a swept path ({}), found \"{p}\"", known.join(", "))));
        }
    };
    match c.kind {
        ChartKind::Line => {
            metric(&c.metric, "metric", &mut out);
            param(&c.x, "x", &mut out);
            if c.y.is_some() {
                out.push((".y".into(), "no y for a line chart (its y is the metric)".into()));
            }
        }
        ChartKind::Heatmap => {
            metric(&c.metric, "metric", &mut out);
            param(&c.x, "x", &mut out);
            param(&c.y, "y", &mut out);
            if params.len() < 2 {
                out.push((String::new(), "two swept parameters for a heat map, found one".into()));
            } else if c.x.is_some() && c.x == c.y {
                out.push((".y".into(), "a parameter other than x".into()));
            }
        }
        ChartKind::Pareto => {
            if c.metric.is_some() {
                out.push((".metric".into(), "no metric for a Pareto chart (x and y are its metrics)".into()));
            }
            metric(&c.x, "x", &mut out);
            metric(&c.y, "y", &mut out);
            if c.x.is_some() && c.x == c.y {
                out.push((".y".into(), "a metric other than x".into()));
            }
        }
    }
    out
}

/// Parses `--set PATH=VALUES`: `a,b,c` (each JSON if it parses, else a string, so
/// `250ms` and `COUNT_BASED` need no quotes), a JSON list `[...]`, a range object
/// `{"from":..}`, or `FROM..TO:STEPS[:log]`.
///
/// # Errors
/// A message saying what was expected.
pub fn parse_set(text: &str) -> Result<AxisSpec, String> {
    let (path, values) =
        text.split_once('=').ok_or_else(|| format!("PATH=VALUES such as retry.maxAttempts=1,2,3, found \"{text}\""))?;
    let (path, values) = (path.trim().to_string(), values.trim());
    let scalar = |s: &str| serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.to_string()));
    if values.starts_with('[') {
        let list: Vec<Value> = serde_json::from_str(values).map_err(|e| format!("a JSON list of values: {e}"))?;
        return Ok(AxisSpec { path, values: Some(list), range: None });
    }
    if values.starts_with('{') {
        let range: RangeSpec = serde_json::from_str(values).map_err(|e| format!("a range object: {e}"))?;
        return Ok(AxisSpec { path, values: None, range: Some(range) });
    }
    if let Some((from, rest)) = values.split_once("..") {
        let mut parts = rest.split(':');
        let to = parts.next().unwrap_or_default();
        let steps = parts.next().ok_or_else(|| format!("FROM..TO:STEPS such as 1..4:4, found \"{values}\""))?;
        let steps: u32 = steps.trim().parse().map_err(|_| format!("a whole number of steps, found \"{steps}\""))?;
        let scale = match parts.next().map(str::trim) {
            None | Some("linear") => Scale::Linear,
            Some("log") => Scale::Log,
            Some(other) => return Err(format!("a scale, linear or log, found \"{other}\"")),
        };
        if let Some(extra) = parts.next() {
            return Err(format!("FROM..TO:STEPS[:log], found more after it: \"{extra}\""));
        }
        let range = RangeSpec { from: scalar(from.trim()), to: scalar(to.trim()), steps, scale };
        return Ok(AxisSpec { path, values: None, range: Some(range) });
    }
    if values.is_empty() {
        return Err(format!("at least one value after '=' in \"{text}\""));
    }
    Ok(AxisSpec { path, values: Some(values.split(',').map(|s| scalar(s.trim())).collect()), range: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn range(from: Value, to: Value, steps: u32, scale: Scale) -> Vec<Value> {
        expand_range(&RangeSpec { from, to, steps, scale }).unwrap()
    }

    #[test]
    fn ranges_step_linearly_and_by_factors() {
        assert_eq!(range(json!(1), json!(4), 4, Scale::Linear), vec![json!(1), json!(2), json!(3), json!(4)]);
        assert_eq!(
            range(json!(0.0), json!(0.3), 4, Scale::Linear),
            vec![json!(0.0), json!(0.1), json!(0.2), json!(0.3)]
        );
        assert_eq!(range(json!(1), json!(1000), 4, Scale::Log), vec![json!(1), json!(10), json!(100), json!(1000)]);
        assert_eq!(range(json!("10ms"), json!("1s"), 3, Scale::Log), vec![json!("10ms"), json!("100ms"), json!("1s")]);
        assert_eq!(
            range(json!("50ms"), json!("200ms"), 4, Scale::Linear),
            vec![json!("50ms"), json!("100ms"), json!("150ms"), json!("200ms")]
        );
    }

    #[test]
    fn bad_ranges_say_why() {
        let err = |from, to, steps, scale| expand_range(&RangeSpec { from, to, steps, scale }).unwrap_err();
        assert_eq!(err(json!(1), json!(3), 5, Scale::Linear).0, ".steps");
        assert_eq!(err(json!(1), json!(3), 1, Scale::Linear).0, ".steps");
        assert_eq!(err(json!(0), json!(3), 3, Scale::Log).0, ".from");
        assert_eq!(err(json!(1), json!("3s"), 3, Scale::Linear).0, ".from");
        assert_eq!(err(json!("1x"), json!("3s"), 3, Scale::Linear).0, ".from");
    }

    #[test]
    fn set_arguments_parse() {
        let a = parse_set("policies.default.timeout=250ms,1s").unwrap();
        assert_eq!(a.values, Some(vec![json!("250ms"), json!("1s")]));
        let a = parse_set("x.y=1, 2.5,true,\"7\"").unwrap();
        assert_eq!(a.values, Some(vec![json!(1), json!(2.5), json!(true), json!("7")]));
        let a = parse_set("x.y=1..1000:4:log").unwrap();
        let r = a.range.unwrap();
        assert_eq!((r.from, r.to, r.steps, r.scale), (json!(1), json!(1000), 4, Scale::Log));
        let a = parse_set(r#"x.y={"from": "1s", "to": "2s", "steps": 3}"#).unwrap();
        assert_eq!(a.range.unwrap().steps, 3);
        assert_eq!(parse_set("x.y=[1, \"a\"]").unwrap().values, Some(vec![json!(1), json!("a")]));
        assert!(parse_set("x.y").is_err());
        assert!(parse_set("x.y=").is_err());
        assert!(parse_set("x.y=1..4").is_err());
        assert!(parse_set("x.y=1..4:x").is_err());
        assert!(parse_set("x.y=1..4:3:cubic").is_err());
    }

    #[test]
    fn blocks_are_checked_with_paths() {
        let issues = |v: Value| check_block(&v).into_iter().map(|i| (i.path, i.message)).collect::<Vec<_>>();
        let found = issues(json!({ "axes": [ { "path": "a.b", "values": [] } ] }));
        assert_eq!(found[0].0, "sweep.axes[0].values");
        let found = issues(json!({ "axes": [ { "path": "a..b", "values": [1] } ] }));
        assert_eq!(found[0].0, "sweep.axes[0].path");
        let found = issues(json!({ "axes": [ { "path": "seed", "values": [1] } ] }));
        assert!(found[0].1.contains("other than seed"), "{found:?}");
        let found = issues(json!({ "axes": [ { "path": "a", "values": [1, 1] } ] }));
        assert_eq!(found[0].0, "sweep.axes[0].values[1]");
        let found = issues(json!({ "axes": [ { "path": "a", "values": [1], "rnage": {} } ] }));
        assert_eq!(found[0].0, "sweep.axes[0].rnage");
        let found = issues(json!({ "axes": [ { "path": "a", "range": { "from": 1, "to": 2, "steps": 1 } } ] }));
        assert_eq!(found[0].0, "sweep.axes[0].range.steps");
        let found = issues(json!({ "axes": [ { "path": "a", "values": [1] } ], "replications": 0 }));
        assert_eq!(found[0].0, "sweep.replications");
        let found = issues(json!({ "points": [ { "a": 1, "b": 2 }, { "b": 2, "a": 1 } ] }));
        assert_eq!(found[0].0, "sweep.points[1]");
        let found = issues(json!({ "points": [ { "a": 1 }, { "a": 1 } ] }));
        assert!(found[0].1.contains("repeats points[0]"), "{found:?}");
        let found =
            issues(json!({ "axes": [ { "path": "a", "values": [1] } ], "charts": [ { "type": "line", "x": "b" } ] }));
        assert_eq!(found[0].0, "sweep.charts[0].x");
        let found = issues(json!({ "axes": [ { "path": "a", "values": [1] }, { "path": "a.b", "values": [1] } ] }));
        assert!(found[0].1.contains("overlaps a"), "{found:?}");
        assert!(issues(json!({ "axes": [ { "path": "a", "values": [1, 2] } ], "replications": 3 })).is_empty());
    }
}
