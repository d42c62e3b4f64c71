//! A sweep's files of record: `sweep.json` (what the sweep is) and one record per
//! finished run (`records/<point id>-r<replication>.json`, its key metrics), each
//! written whole or not at all. The tables and charts are computed from these files
//! only, so a fresh run, a resumed run and a merge of shards give the same bytes.

use super::SweepError;
use super::spec::{ChartSpec, Scale};
use crate::output::sweep as files;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The version of the files' layout, in `sweep.json`.
pub const FORMAT: u32 = 1;

/// A key metric of a run: its name in records and `sweep.csv`, its label on charts,
/// the decimals it is written with, and which way is better.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    pub name: &'static str,
    pub label: &'static str,
    pub decimals: usize,
    pub higher_is_better: bool,
}

/// The key metrics, in column order.
pub const METRICS: [Metric; 9] = [
    Metric { name: "availability_pct", label: "availability (%)", decimals: 4, higher_is_better: true },
    Metric { name: "error_rate_pct", label: "error responses (% of requests)", decimals: 4, higher_is_better: false },
    Metric { name: "p50_ms", label: "p50 latency (ms)", decimals: 3, higher_is_better: false },
    Metric { name: "p99_ms", label: "p99 latency (ms)", decimals: 3, higher_is_better: false },
    Metric {
        name: "retry_amplification",
        label: "retry amplification (attempts per call)",
        decimals: 4,
        higher_is_better: false,
    },
    Metric { name: "wasted_work_s", label: "wasted work (worker-seconds)", decimals: 3, higher_is_better: false },
    Metric { name: "recovery_s", label: "recovery time after faults (s)", decimals: 3, higher_is_better: false },
    Metric { name: "recovered_pct", label: "runs that recovered (%)", decimals: 2, higher_is_better: true },
    Metric { name: "slo_pass_pct", label: "SLOs passed (%)", decimals: 2, higher_is_better: true },
];

/// The metric called `name`.
pub fn metric(name: &str) -> Option<(usize, &'static Metric)> {
    METRICS.iter().enumerate().find(|(_, m)| m.name == name)
}

/// The key metrics of one run, from its `summary.json` value, in `METRICS` order;
/// `None` where the run has no such figure (no faults that ended, no SLOs).
///
/// - availability: `availability_pct`;
/// - error rate: requests answered with an error status (outcome `error`), in percent;
/// - p50, p99: `latency_ms.p50`, `latency_ms.p99`;
/// - retry amplification: the highest `calls.*.retry_amplification`, attempts per call
///   at the policy point that sends the most (1 without retries);
/// - wasted work: `resilience.wasted_work_s`;
/// - recovery: the longest `resilience.faults[].recover_s` of the faults that ended; a
///   fault the mesh never recovered from counts from its end to the end of the run (a
///   lower bound), and `recovered_pct` is 0 for that run, else 100;
/// - SLO pass: the share of `slos` that pass, in percent.
pub fn metrics_of(summary: &Value) -> Vec<Option<f64>> {
    let num = |v: &Value| v.as_f64();
    let availability = num(&summary["availability_pct"]);
    let total = summary["requests"]["total"].as_u64().unwrap_or(0);
    let errors = summary["requests"]["error"].as_u64().unwrap_or(0);
    let error_rate = if total > 0 { Some(100.0 * errors as f64 / total as f64) } else { None };
    let amplification = summary["calls"]
        .as_object()
        .and_then(|points| points.values().filter_map(|p| num(&p["retry_amplification"])).reduce(f64::max));
    let end_s = num(&summary["simulated_s"]).unwrap_or(0.0);
    let mut recovery: Option<f64> = None;
    let mut recovered = true;
    for f in summary["resilience"]["faults"].as_array().into_iter().flatten() {
        let Some(fault_end) = num(&f["end_s"]) else { continue };
        let r = match num(&f["recover_s"]) {
            Some(r) => r,
            None => {
                recovered = false;
                (end_s - fault_end).max(0.0)
            }
        };
        recovery = Some(recovery.map_or(r, |m| m.max(r)));
    }
    let slos = summary["slos"].as_array().map(Vec::as_slice).unwrap_or_default();
    let slo_pass = if slos.is_empty() {
        None
    } else {
        let passed = slos.iter().filter(|s| s["pass"].as_bool() == Some(true)).count();
        Some(100.0 * passed as f64 / slos.len() as f64)
    };
    vec![
        availability,
        error_rate,
        num(&summary["latency_ms"]["p50"]),
        num(&summary["latency_ms"]["p99"]),
        amplification,
        num(&summary["resilience"]["wasted_work_s"]),
        recovery,
        recovery.map(|_| if recovered { 100.0 } else { 0.0 }),
        slo_pass,
    ]
}

/// What a sweep is: `sweep.json`. Two folders hold the same sweep when their
/// `definition`s are equal; the charts may differ (they change no run).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// A stable hash (16 hex digits) of the base scenario, the root seed, the
    /// replications and every point's parameters.
    pub definition: String,
    pub scenario: String,
    pub seed: u64,
    pub replications: u32,
    pub parameters: Vec<ManifestParam>,
    pub points: Vec<ManifestPoint>,
    pub charts: Vec<ChartSpec>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManifestParam {
    pub path: String,
    pub scale: Scale,
    /// Every value it takes, in axis order (for a list of points: in order of first use).
    pub values: Vec<Value>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManifestPoint {
    /// A stable hash (16 hex digits) of the point's `path=value` pairs.
    pub id: String,
    /// One value per parameter.
    pub values: Vec<Value>,
}

impl Manifest {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Reads `DIR/sweep.json`; `None` when there is none.
    ///
    /// # Errors
    /// If it cannot be read or is not a sweep manifest.
    pub fn read(dir: &Path) -> Result<Option<Manifest>, SweepError> {
        let path = dir.join(files::DEFINITION);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(SweepError::Io { path: path.display().to_string(), source }),
        };
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| SweepError::Corrupt {
            path: path.display().to_string(),
            message: format!("not a sweep manifest ({e})"),
        })?;
        if m.format != FORMAT {
            return Err(SweepError::Corrupt {
                path: path.display().to_string(),
                message: format!("a sweep of format {FORMAT}, found format {} (another meshsim version)", m.format),
            });
        }
        Ok(Some(m))
    }

    /// Each point's index into each parameter's values.
    pub fn value_indices(&self) -> Vec<Vec<usize>> {
        self.points
            .iter()
            .map(|p| {
                p.values
                    .iter()
                    .zip(&self.parameters)
                    .map(|(v, param)| param.values.iter().position(|x| x == v).expect("a point's value is listed"))
                    .collect()
            })
            .collect()
    }

    pub fn runs(&self) -> usize {
        self.points.len() * self.replications as usize
    }
}

/// One finished run: `records/<point id>-r<replication>.json`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    pub definition: String,
    pub point: String,
    pub replication: u32,
    pub seed: u64,
    /// `completed`, or the limit the run stopped at (`drain-timeout`, ...).
    pub stop: String,
    /// The key metrics by name, in `METRICS` order; `null` where the run has none.
    pub metrics: Map<String, Value>,
}

impl RunRecord {
    pub fn new(definition: &str, point: &str, replication: u32, seed: u64, stop: &str, m: &[Option<f64>]) -> Self {
        let metrics = METRICS.iter().zip(m).map(|(k, v)| (k.name.to_string(), v.map_or(Value::Null, Value::from)));
        RunRecord {
            definition: definition.to_string(),
            point: point.to_string(),
            replication,
            seed,
            stop: stop.to_string(),
            metrics: metrics.collect(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).expect("a record serializes");
        bytes.push(b'\n');
        bytes
    }

    /// The metric values in `METRICS` order.
    pub fn values(&self) -> Vec<Option<f64>> {
        METRICS.iter().map(|m| self.metrics.get(m.name).and_then(Value::as_f64)).collect()
    }
}

/// Where the record of a run is kept in a sweep folder.
pub fn record_path(dir: &Path, point: &str, replication: u32) -> PathBuf {
    dir.join(files::RECORDS).join(files::record(point, replication))
}

/// The record of a run in `dir`, with its bytes, if there is one.
///
/// # Errors
/// If it cannot be read, or belongs to another run or another sweep.
pub fn read_record(
    dir: &Path,
    manifest: &Manifest,
    point: &str,
    replication: u32,
) -> Result<Option<(Vec<u8>, RunRecord)>, SweepError> {
    let path = record_path(dir, point, replication);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(SweepError::Io { path: path.display().to_string(), source }),
    };
    let corrupt = |message: String| SweepError::Corrupt { path: path.display().to_string(), message };
    let r: RunRecord = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(format!("not a run record ({e}); remove it to redo the run")))?;
    if r.definition != manifest.definition {
        return Err(SweepError::DifferentSweep {
            dir: dir.display().to_string(),
            found: r.definition,
            expected: manifest.definition.clone(),
        });
    }
    if r.point != point || r.replication != replication {
        return Err(corrupt(format!(
            "the record of point {point} replication {replication}, found point {} replication {}",
            r.point, r.replication
        )));
    }
    Ok(Some((bytes, r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metrics_come_from_the_summary() {
        let summary = json!({
            "simulated_s": 70.0,
            "requests": { "total": 200, "error": 50 },
            "availability_pct": 70.0,
            "latency_ms": { "p50": 3.5, "p99": 120.0 },
            "calls": { "gateway->api": { "retry_amplification": 1.0 }, "api->db": { "retry_amplification": 3.25 } },
            "resilience": {
                "wasted_work_s": 12.5,
                "faults": [ { "end_s": 20.0, "recover_s": 2.0 }, { "end_s": 40.0, "recover_s": null }, { "end_s": null, "recover_s": null } ]
            },
            "slos": [ { "pass": true }, { "pass": false }, { "pass": true }, { "pass": true } ]
        });
        let m = metrics_of(&summary);
        assert_eq!(
            m,
            vec![
                Some(70.0),
                Some(25.0),
                Some(3.5),
                Some(120.0),
                Some(3.25),
                Some(12.5),
                Some(30.0),
                Some(0.0),
                Some(75.0)
            ]
        );
        let quiet = json!({ "requests": { "total": 0 }, "calls": {}, "resilience": { "faults": [] }, "slos": [] });
        let m = metrics_of(&quiet);
        assert!(m.iter().all(Option::is_none), "{m:?}");
    }

    #[test]
    fn records_round_trip() {
        let r = RunRecord::new(
            "00ff",
            "abcd",
            2,
            7,
            "completed",
            &[Some(99.5), None, Some(1.0), None, None, None, None, None, None],
        );
        let back: RunRecord = serde_json::from_slice(&r.to_bytes()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.values()[0], Some(99.5));
        assert_eq!(back.values()[1], None);
    }
}
