//! `metrics.prom`: the run's final counters, gauges and histograms in the Prometheus text
//! exposition format, version 0.0.4.
//!
//! One block per metric family (`# HELP`, `# TYPE`, then its samples, no blank line),
//! families sorted by name, samples in scenario order (routes, services, policy points and
//! instances as the scenario lists them). Counters hold the measured figures of
//! `summary.json` (requests that arrived after the warm-up); latency histograms are
//! Prometheus histograms over `DURATION_BUCKETS_S`, counted from the whole-run HDR
//! histograms, with the exact sum. Label values are escaped as the format requires
//! (`\\`, `\"`, `\n`); numbers are integers or the shortest decimal that reads back as
//! the same `f64`, never an exponent.

use crate::metrics::{CallStats, Counts, Latency, StationTotals};
use crate::model::{Caller, Scenario};
use crate::result::{RunResult, Stop};
use std::fmt::Write as _;

/// Upper bounds (`le`, seconds) of the latency histograms' buckets: Prometheus' default
/// buckets (5 ms to 10 s), extended down to 1 ms for a mesh's fast calls and up to 60 s
/// for long timeouts; `+Inf` follows.
pub const DURATION_BUCKETS_S: [f64; 15] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family: its name, help text, type and sample lines (each ending in `\n`).
struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    samples: String,
}

impl Family {
    fn new(name: &'static str, kind: Kind, help: &'static str) -> Family {
        Family { name, help, kind, samples: String::new() }
    }

    /// A sample of this family, or of one of its series (`suffix`: `_bucket`, `_sum`, `_count`).
    fn sample(&mut self, suffix: &str, labels: &[(&str, &str)], value: &str) {
        let _ = writeln!(self.samples, "{}{suffix}{} {value}", self.name, label_set(labels));
    }

    /// One sample per outcome (an `error` sample per status, with a `status` label).
    fn outcomes(&mut self, labels: &[(&str, &str)], c: &Counts) {
        let plain = [
            ("ok", c.ok),
            ("error", c.error),
            ("timeout", c.timeout),
            ("rejected", c.rejected),
            ("dropped", c.dropped),
            ("short_circuited", c.short_circuited),
            ("overloaded", c.overloaded),
        ];
        for (outcome, n) in plain {
            let mut l = labels.to_vec();
            l.push(("outcome", outcome));
            if outcome == "error" && !c.by_status.is_empty() {
                for &(status, n) in &c.by_status {
                    let status = status.to_string();
                    let mut l = l.clone();
                    l.push(("status", &status));
                    self.sample("", &l, &n.to_string());
                }
            } else {
                self.sample("", &l, &n.to_string());
            }
        }
    }

    /// A Prometheus histogram from an HDR histogram in microseconds: cumulative buckets
    /// (a value counts in a bucket when its HDR bucket, 0.1 % wide, starts at or below
    /// `le`), `+Inf` the count, `_sum` the exact sum in seconds.
    fn histogram(&mut self, labels: &[(&str, &str)], l: &Latency) {
        let h = l.histogram();
        for le in DURATION_BUCKETS_S {
            let le_us = (le * 1e6).round() as u64;
            let n = if l.count() == 0 { 0 } else { h.count_between(0, le_us) };
            let le = number(le);
            let mut with = labels.to_vec();
            with.push(("le", &le));
            self.sample("_bucket", &with, &n.to_string());
        }
        let mut with = labels.to_vec();
        with.push(("le", "+Inf"));
        self.sample("_bucket", &with, &l.count().to_string());
        self.sample("_sum", labels, &super::seconds_from_ns(u128::from(l.sum_ns())));
        self.sample("_count", labels, &l.count().to_string());
    }
}

/// `{a="x",b="y"}`, or nothing without labels.
fn label_set(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
    format!("{{{}}}", inner.join(","))
}

/// A label value as the format requires: backslash, double quote and line feed escaped.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// A sample value: the shortest decimal that reads back as `x` (Rust's `Display`, which
/// never writes an exponent), `NaN`, `+Inf` or `-Inf`.
fn number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else if x == 0.0 {
        "0".into()
    } else {
        x.to_string()
    }
}

/// The call figures of one policy point (or all of a service's callers) into the
/// `meshsim_call*` families, indexed as `call_families` lists them.
fn call_samples(fams: &mut [Family], labels: &[(&str, &str)], c: &CallStats) {
    fams[0].outcomes(labels, &c.counts);
    let figures = [
        c.attempts,
        c.retries,
        c.retries_denied,
        c.breaker_opens,
        c.ejections,
        c.fallbacks,
        c.deferred,
        c.hedges,
        c.hedges_won,
    ];
    for (fam, n) in fams[1..].iter_mut().zip(figures) {
        fam.sample("", labels, &n.to_string());
    }
}

fn call_families() -> Vec<Family> {
    use Kind::Counter;
    vec![
        Family::new("meshsim_calls_total", Counter, "Calls after the policy stack, per policy point, by outcome."),
        Family::new("meshsim_call_attempts_total", Counter, "Attempts of the calls, the first included."),
        Family::new("meshsim_call_retries_total", Counter, "Attempts after the first."),
        Family::new(
            "meshsim_call_retries_denied_total",
            Counter,
            "Retries the policy allowed but a retry budget refused.",
        ),
        Family::new(
            "meshsim_call_breaker_opens_total",
            Counter,
            "Circuit-breaker transitions to OPEN, over the point's proxies (warm-up included).",
        ),
        Family::new("meshsim_call_ejections_total", Counter, "Outlier-detection ejections, over the point's proxies."),
        Family::new("meshsim_call_fallbacks_total", Counter, "Failed calls a fallback answered."),
        Family::new(
            "meshsim_call_deferred_total",
            Counter,
            "Failed calls a queue-for-later fallback answered as pending.",
        ),
        Family::new("meshsim_call_hedges_total", Counter, "Hedged attempts sent."),
        Family::new("meshsim_call_hedges_won_total", Counter, "Calls a hedge (not the first attempt) won."),
    ]
}

fn station_samples(fams: &mut [Family; 4], labels: &[(&str, &str)], t: &StationTotals, secs: f64) {
    let per_s = |area: u128| if secs > 0.0 { area as f64 / 1e9 / secs } else { 0.0 };
    fams[0].sample("", labels, &number(super::rounded(t.utilization(), 6)));
    fams[1].sample("", labels, &number(super::rounded(per_s(t.area_queue), 6)));
    fams[2].sample("", labels, &number(super::rounded(per_s(t.area_in_system), 6)));
    for (result, n) in [("ok", t.completed), ("error", t.errors), ("rejected", t.rejected)] {
        let mut l = labels.to_vec();
        l.push(("result", result));
        fams[3].sample("", &l, &n.to_string());
    }
}

/// The whole `metrics.prom` file.
// Over 80 lines: the metric families in name order, each a short block, so the file's
// sort order is visible in the code.
pub fn metrics(sc: &Scenario, r: &RunResult) -> String {
    use Kind::{Counter, Gauge, Histogram};
    let mut fams: Vec<Family> = Vec::new();

    let mut info = Family::new("meshsim_run_info", Gauge, "The run: scenario, seed and why it stopped; always 1.");
    let stop = match r.stop {
        Stop::Completed => "completed",
        Stop::Limit { .. } => "limit",
    };
    let seed = r.seed.to_string();
    info.sample("", &[("scenario", &sc.name), ("seed", &seed), ("stop", stop)], "1");
    fams.push(info);
    let seconds = [
        ("meshsim_simulated_seconds", "Simulated time at the end of the run.", r.end.0),
        ("meshsim_warmup_seconds", "Simulated time the warm-up ended.", r.warmup.0),
        (
            "meshsim_measured_seconds",
            "The measured interval: from the warm-up to the end of arrivals.",
            r.arrivals_end.since(r.warmup).0,
        ),
    ];
    for (name, help, ns) in seconds {
        let mut f = Family::new(name, Gauge, help);
        f.sample("", &[], &super::seconds_from_ns(u128::from(ns)));
        fams.push(f);
    }
    let mut in_flight =
        Family::new("meshsim_in_flight_requests", Gauge, "Measured requests still in flight when the run ended.");
    in_flight.sample("", &[], &r.in_flight_measured.to_string());
    fams.push(in_flight);

    let mut requests =
        Family::new("meshsim_requests_total", Counter, "Requests at the gateway, per route, by outcome (and status).");
    let mut duration = Family::new(
        "meshsim_request_duration_seconds",
        Histogram,
        "Latency of requests at the gateway, per route, from arrival to answer.",
    );
    for (route, f) in sc.gateway.routes.iter().zip(&r.routes) {
        let labels = [("route", route.name.as_str())];
        requests.outcomes(&labels, &f.counts);
        duration.histogram(&labels, &f.latency);
    }
    fams.push(requests);
    fams.push(duration);

    let mut svc_requests = Family::new(
        "meshsim_service_requests_total",
        Counter,
        "Attempts to a service as the callers' proxies see them, by outcome (and status).",
    );
    let mut svc_duration = Family::new(
        "meshsim_service_request_duration_seconds",
        Histogram,
        "Latency of attempts sent to a service, as the callers' proxies see them (unsent ones have none).",
    );
    for (svc, f) in sc.services.iter().zip(&r.services) {
        let labels = [("service", svc.name.as_str())];
        svc_requests.outcomes(&labels, &f.counts);
        svc_duration.histogram(&labels, &f.latency);
    }
    fams.push(svc_requests);
    fams.push(svc_duration);

    let mut calls = call_families();
    for (point, c) in r.points.iter().zip(&r.point_calls) {
        let caller = match point.caller {
            Caller::Gateway => "gateway",
            Caller::Service(s) => sc.services[s.idx()].name.as_str(),
        };
        let labels = [("caller", caller), ("destination", sc.services[point.destination.idx()].name.as_str())];
        call_samples(&mut calls, &labels, c);
    }
    fams.extend(calls);

    let station_secs = r.end.since(r.warmup).as_secs_f64();
    let mut stations = [
        Family::new(
            "meshsim_instance_utilization_ratio",
            Gauge,
            "Busy workers over workers available, averaged from the warm-up to the end.",
        ),
        Family::new("meshsim_instance_queue_length_mean", Gauge, "Time-average queue length."),
        Family::new("meshsim_instance_jobs_in_system_mean", Gauge, "Time-average jobs at the instance."),
        Family::new("meshsim_instance_jobs_total", Counter, "Jobs finished ok or with an error, and requests refused."),
    ];
    for (inst, st) in sc.instances.iter().zip(&r.stations) {
        let labels = [("instance", inst.name.as_str()), ("service", sc.services[inst.service.idx()].name.as_str())];
        station_samples(&mut stations, &labels, &st.totals, station_secs);
    }
    fams.extend(stations);

    let mut work = Family::new("meshsim_work_seconds_total", Counter, "Service time spent by every finished job.");
    work.sample("", &[], &super::seconds_from_ns(r.work_ns));
    fams.push(work);
    let mut goodput = Family::new(
        "meshsim_goodput_work_seconds_total",
        Counter,
        "The part of the work behind requests answered ok at the gateway.",
    );
    goodput.sample("", &[], &super::seconds_from_ns(r.goodput_ns));
    fams.push(goodput);

    fams.sort_by(|a, b| a.name.cmp(b.name));
    let mut out = String::new();
    for f in &fams {
        debug_assert!(f.help.chars().all(|c| c != '\n' && c != '\\'), "help text needs no escaping");
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.name());
        out.push_str(&f.samples);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape_label, label_set, number};

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(label_set(&[("route", "a\"b"), ("le", "+Inf")]), r#"{route="a\"b",le="+Inf"}"#);
        assert_eq!(label_set(&[]), "");
    }

    #[test]
    fn numbers_have_no_exponent() {
        assert_eq!(number(0.0025), "0.0025");
        assert_eq!(number(60.0), "60");
        assert_eq!(number(1e21), "1000000000000000000000");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NAN), "NaN");
    }
}
