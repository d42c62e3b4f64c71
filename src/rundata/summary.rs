//! The parts of `summary.json` the charts and the page show, typed.
//!
//! Fields the page does not show are ignored, so the summary can grow without breaking
//! the reader; a field it shows that is missing or of the wrong type is an error naming
//! its JSON path.

use super::RunDataError;
use indexmap::IndexMap;
use serde::Deserialize;
use std::path::Path;

pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Summary, RunDataError> {
    let malformed = |message: String| RunDataError::Malformed { path: path.to_path_buf(), message };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let summary: Summary = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            malformed(format!("malformed JSON: {inner}"))
        } else if at == "." {
            malformed(format!("(top level): {inner}"))
        } else {
            malformed(format!("{at}: {inner}"))
        }
    })?;
    de.end().map_err(|e| malformed(format!("malformed JSON: {e}")))?;
    Ok(summary)
}

/// `summary.json`: the whole run.
#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub stop: StopInfo,
    pub simulated_s: f64,
    pub measured_s: f64,
    pub warmup_s: f64,
    pub events: u64,
    pub requests: Counts,
    pub availability_pct: f64,
    pub throughput_rps: f64,
    pub latency_ms: Latency,
    pub routes: IndexMap<String, Flow>,
    pub services: IndexMap<String, Service>,
    pub calls: IndexMap<String, CallPoint>,
    pub work: Work,
    pub instances: IndexMap<String, Station>,
    pub slos: Vec<SloVerdict>,
    pub resilience: Resilience,
}

/// Why the run stopped: `completed`, or a limit with its message.
#[derive(Debug, Clone, Deserialize)]
pub struct StopInfo {
    pub reason: String,
    pub message: Option<String>,
}

/// Requests by outcome.
#[derive(Debug, Clone, Deserialize)]
pub struct Counts {
    pub total: u64,
    pub ok: u64,
    pub failed: u64,
    pub error: u64,
    pub timeout: u64,
    pub rejected: u64,
    pub dropped: u64,
    pub short_circuited: u64,
    pub overloaded: u64,
    pub in_flight: Option<u64>,
}

/// Latency in milliseconds.
#[derive(Debug, Clone, Deserialize)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// A flow of requests: a route, or the mesh.
#[derive(Debug, Clone, Deserialize)]
pub struct Flow {
    pub requests: Counts,
    pub availability_pct: f64,
    pub throughput_rps: f64,
    pub latency_ms: Latency,
    /// For routes: `service.endpoint`.
    pub destination: Option<String>,
}

/// A destination service: every attempt as the callers' proxies see it, its calls after
/// the policy stack, and its instances together.
#[derive(Debug, Clone, Deserialize)]
pub struct Service {
    pub requests: Counts,
    pub availability_pct: f64,
    pub throughput_rps: f64,
    pub latency_ms: Latency,
    pub calls: CallPoint,
    pub server: Station,
}

/// Calls after the policy stack, at one policy point or over all callers of a service.
#[derive(Debug, Clone, Deserialize)]
pub struct CallPoint {
    pub requests: Counts,
    pub attempts: u64,
    pub retries: u64,
    pub retries_denied_by_budget: u64,
    pub breaker_opens: u64,
    pub ejections: u64,
    pub fallbacks: u64,
    pub deferred: Deferred,
    pub hedges: u64,
    pub hedges_won: u64,
    pub retry_amplification: f64,
}

/// Calls a fallback queued for later, and how they ended.
#[derive(Debug, Clone, Deserialize)]
pub struct Deferred {
    pub total: u64,
    pub ok: u64,
    pub failed: u64,
}

/// A queueing station: one instance, or a service's instances together.
#[derive(Debug, Clone, Deserialize)]
pub struct Station {
    /// For instances: their service and zone.
    pub service: Option<String>,
    pub zone: Option<String>,
    pub workers: u64,
    pub arrivals: u64,
    pub completed: u64,
    pub errors: u64,
    pub rejected: u64,
    pub utilization: f64,
    pub queue_mean: f64,
    pub sojourn_ms_mean: f64,
    pub sojourn_ms_max: f64,
    pub shed: u64,
    pub rate_limited: u64,
    pub sent_to_dead: u64,
    pub lost_in_crash: u64,
    pub wasted_work_s: f64,
}

/// Service time spent, and the part behind requests answered ok.
#[derive(Debug, Clone, Deserialize)]
pub struct Work {
    pub work_s: f64,
    pub goodput_work_s: f64,
    pub goodput_ratio: f64,
}

/// An SLO and its verdict; `measured` is in `unit` (`%` or `ms`).
#[derive(Debug, Clone, Deserialize)]
pub struct SloVerdict {
    pub threshold: String,
    pub route: Option<String>,
    pub measured: Option<f64>,
    pub unit: String,
    pub recovery_within_s: Option<f64>,
    pub recoveries: Vec<Recovery>,
    pub pass: bool,
}

/// After a fault's end, how long until the SLO held again (`None`: never).
#[derive(Debug, Clone, Deserialize)]
pub struct Recovery {
    pub fault_end_s: f64,
    pub recovery_s: Option<f64>,
}

/// The run scored against its faults.
#[derive(Debug, Clone, Deserialize)]
pub struct Resilience {
    pub availability_during_faults_pct: Option<f64>,
    pub availability_outside_faults_pct: Option<f64>,
    pub baseline_availability_pct: Option<f64>,
    pub peak_retry_amplification: f64,
    pub wasted_work_s: f64,
    pub faults: Vec<FaultWindow>,
}

/// One occurrence of a fault: its window (`end_s` `None`: to the end of the run), and
/// the times to detect it (from its start) and to recover (from its end).
#[derive(Debug, Clone, Deserialize)]
pub struct FaultWindow {
    pub fault: u64,
    pub kind: String,
    pub target: String,
    pub start_s: f64,
    pub end_s: Option<f64>,
    pub detect_s: Option<f64>,
    pub recover_s: Option<f64>,
}
