//! The run's limits and the metrics interval.

use super::cx::*;
use crate::model::*;
use crate::scenario::raw;
use crate::time::SimDuration;

pub const DEFAULT_EVENTS_MAX: u64 = 1_000_000_000;
pub const DEFAULT_IN_FLIGHT_MAX: u64 = 1_000_000;
pub const DEFAULT_DRAIN_TIMEOUT: SimDuration = SimDuration::from_secs(60);
pub const DEFAULT_INTERVAL: SimDuration = SimDuration::from_secs(1);

pub(super) fn run_limits(cx: &mut Cx, r: &raw::RunSpec) -> RunLimits {
    let duration = r.duration.map(|d| cx.positive_duration("run.duration".into(), d.0));
    if r.requests == Some(0) {
        cx.err("run.requests", "at least 1 request, found 0");
    }
    if duration.is_none() && r.requests.is_none() {
        cx.err("run", "a stop condition: \"duration\", \"requests\" or both");
    }
    let warmup = r.warmup.map_or(SimDuration::ZERO, |d| d.0);
    if let Some(d) = duration
        && warmup >= d
        && !d.is_zero()
    {
        cx.err("run.warmup", format!("a warm-up shorter than the duration {d}, found {warmup}"));
    }
    let events_max = r.events_max.unwrap_or(DEFAULT_EVENTS_MAX);
    if events_max == 0 {
        cx.err("run.eventsMax", "at least 1 event, found 0");
    }
    let in_flight_max = r.in_flight_max.unwrap_or(DEFAULT_IN_FLIGHT_MAX);
    if in_flight_max == 0 {
        cx.err("run.inFlightMax", "at least 1 request in flight, found 0");
    }
    RunLimits {
        duration,
        requests: r.requests,
        warmup,
        drain_timeout: r.drain_timeout.map_or(DEFAULT_DRAIN_TIMEOUT, |d| d.0),
        events_max,
        in_flight_max,
    }
}

/// The scenario's name, its run limits and its sweep block (checked by `sweep`, which
/// the caller supplies: the sweep module owns that block).
pub(super) fn run(cx: &mut Cx, f: &raw::ScenarioFile, sweep: crate::scenario::BlockCheck) -> RunLimits {
    if f.name.trim().is_empty() {
        cx.err("name", "a non-empty scenario name");
    } else if f.name.contains(['/', '\\']) || f.name.starts_with('.') {
        cx.err("name", "a name usable as a folder name (no '/', '\\' or leading '.')");
    }
    let run = run_limits(cx, &f.run);
    if let Some(block) = &f.sweep {
        cx.issues.extend(sweep(block));
    }
    run
}

pub(super) fn metrics_interval(cx: &mut Cx, f: &raw::ScenarioFile) -> SimDuration {
    match f.metrics.as_ref().and_then(|m| m.interval) {
        Some(d) => cx.positive_duration("metrics.interval".into(), d.0),
        None => DEFAULT_INTERVAL,
    }
}
