//! Run outputs: `summary.json` and the human summary.
//!
//! The summary is built as an ordered JSON value from a `RunResult`; numbers are rounded
//! to fixed decimals so files stay readable and diffs stay small. Nothing here depends
//! on the wall clock, so the same run gives the same bytes.

mod autoscale;
mod security;

use crate::metrics::{CallStats, Counts, FlowStats, Latency, StationTotals};
use crate::model::Scenario;
use crate::output::measured_secs;
use crate::result::{LimitKind, RunResult, Stop};
use serde_json::{Map, Value, json};
use std::path::Path;

pub mod traffic;

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    let r = (x * f).round() / f;
    if r == 0.0 { 0.0 } else { r } // no "-0.0" in files
}

fn ms(x: f64) -> Value {
    json!(round(x, 3))
}

pub fn counts_json(c: &Counts, in_flight: Option<u64>) -> Value {
    let mut m = Map::new();
    m.insert("total".into(), json!(c.total() + in_flight.unwrap_or(0)));
    m.insert("ok".into(), json!(c.ok));
    m.insert("failed".into(), json!(c.failed()));
    m.insert("error".into(), json!(c.error));
    m.insert("timeout".into(), json!(c.timeout));
    m.insert("rejected".into(), json!(c.rejected));
    m.insert("dropped".into(), json!(c.dropped));
    m.insert("short_circuited".into(), json!(c.short_circuited));
    m.insert("overloaded".into(), json!(c.overloaded));
    if let Some(n) = in_flight {
        m.insert("in_flight".into(), json!(n));
    }
    let by: Map<String, Value> = c.by_status.iter().map(|(s, n)| (s.to_string(), json!(n))).collect();
    m.insert("by_status".into(), Value::Object(by));
    Value::Object(m)
}

pub fn latency_json(l: &Latency, ci: Option<f64>) -> Value {
    let mut m = Map::new();
    m.insert("mean".into(), ms(l.mean_ms()));
    if let Some(h) = ci {
        m.insert("mean_ci95".into(), ms(h));
    }
    for (k, q) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)] {
        m.insert(k.into(), ms(l.quantile_ms(q)));
    }
    m.insert("max".into(), ms(l.max_ms()));
    Value::Object(m)
}

fn flow_json(f: &FlowStats, secs: f64, in_flight: Option<u64>) -> Value {
    let c = &f.counts;
    let availability = if c.total() > 0 { 100.0 * c.ok as f64 / c.total() as f64 } else { 100.0 };
    json!({
        "requests": counts_json(c, in_flight),
        "availability_pct": round(availability, 4),
        "throughput_rps": round(if secs > 0.0 { c.total() as f64 / secs } else { 0.0 }, 3),
        "latency_ms": latency_json(&f.latency, f.batch.half_width_95()),
    })
}

/// Station figures over the measured interval of `secs` seconds, with Little's law:
/// L (time-average jobs at the station) against lambda * W.
fn station_json(t: &StationTotals, workers: u64, instances: usize, secs: f64) -> Value {
    let per_s = |area: u128| {
        if secs > 0.0 { area as f64 / 1e9 / secs } else { 0.0 }
    };
    let done = t.completed + t.errors;
    let lambda = if secs > 0.0 { t.arrivals as f64 / secs } else { 0.0 };
    let w_ms = t.sojourn_mean_ms();
    let l = per_s(t.area_in_system);
    let lw = lambda * w_ms / 1e3;
    json!({
        "instances": instances,
        "workers": workers,
        "arrivals": t.arrivals,
        "completed": done,
        "errors": t.errors,
        "rejected": t.rejected,
        "utilization": round(t.utilization(), 4),
        "queue_mean": round(per_s(t.area_queue), 4),
        "in_system_mean": round(l, 4),
        "wait_ms_mean": ms(if t.started > 0 { t.wait_sum_ns as f64 / t.started as f64 / 1e6 } else { 0.0 }),
        "sojourn_ms_mean": ms(w_ms),
        "sojourn_ms_max": ms(t.sojourn_max_ns as f64 / 1e6),
        "little": {
            "L": round(l, 4),
            "lambda_rps": round(lambda, 3),
            "W_ms": round(w_ms, 4),
            "L_over_lambda_W": round(if lw > 0.0 { l / lw } else { 1.0 }, 4),
        },
        "wasted_jobs": t.wasted_jobs,
        "deadline_expired": t.deadline_expired,
        "rate_limited": t.rate_limited,
        "shed": t.shed,
        "sent_to_dead": t.to_dead,
        "lost_in_crash": t.lost_in_crash,
        "wasted_work_s": round(t.wasted_ns as f64 / 1e9, 6),
    })
}

/// Resilience scores: availability during faults and outside them, per fault occurrence
/// the time to detect and to recover, peak retry amplification, wasted work.
fn resilience_json(sc: &Scenario, r: &RunResult) -> Value {
    let s = &r.scores;
    let pct =
        |ok: u64, total: u64| if total > 0 { json!(round(100.0 * ok as f64 / total as f64, 4)) } else { Value::Null };
    let secs = |a: Option<crate::time::SimTime>, from: crate::time::SimTime| {
        a.map_or(Value::Null, |t| json!(round(t.since(from).as_secs_f64(), 6)))
    };
    let faults: Vec<Value> = r
        .occurrences
        .iter()
        .map(|o| {
            let f = &r.faults[o.fault as usize];
            json!({
                "fault": o.fault,
                "kind": f.kind.name(),
                "target": fault_target(sc, f),
                "start_s": round(o.start.as_secs_f64(), 6),
                "end_s": o.end.map_or(Value::Null, |e| json!(round(e.as_secs_f64(), 6))),
                "detect_s": secs(o.detected, o.start),
                "alert_s": secs(o.alerted, o.start),
                "recover_s": o.end.map_or(Value::Null, |e| secs(o.recovered, e)),
            })
        })
        .collect();
    let wasted: u128 = r.stations.iter().map(|st| st.totals.wasted_ns).sum();
    json!({
        "availability_during_faults_pct": pct(s.ok_in_faults, s.total_in_faults),
        "availability_outside_faults_pct": pct(s.ok_outside, s.total_outside),
        "baseline_availability_pct": s.baseline.map_or(Value::Null, |b| json!(round(100.0 * b, 4))),
        "peak_retry_amplification": round(s.peak_amplification, 4),
        "wasted_work_s": round(wasted as f64 / 1e9, 6),
        "faults": faults,
    })
}

/// Each alerting rule: how often it fired, first when, for how long in all, and, per
/// fault occurrence, the time from the fault's start to the rule's first firing after it.
fn alerts_json(r: &RunResult) -> Value {
    let list: Vec<Value> = r
        .alerts
        .iter()
        .map(|a| {
            json!({
                "name": a.rule.name,
                "expr": a.rule.expr.text,
                "for_s": round(a.rule.for_.as_secs_f64(), 6),
                "fired": a.fired,
                "first_fired_s": a.first_fired.map_or(Value::Null, |t| json!(round(t.as_secs_f64(), 6))),
                "firing_s": round(a.firing.as_secs_f64(), 6),
                "firing_at_end": a.firing_at_end,
            })
        })
        .collect();
    Value::Array(list)
}

/// Per caller zone (with its cluster), the share of measured attempts that stayed in the
/// zone, went to another zone of the cluster, or crossed to another cluster.
fn locality_json(sc: &Scenario, l: &crate::result::LocalityStats) -> Value {
    let pct =
        |n: u64, total: u64| if total > 0 { json!(round(100.0 * n as f64 / total as f64, 4)) } else { Value::Null };
    let mut zones = Map::new();
    let mut all = [0u64; 3];
    for (z, c) in l.totals.iter().enumerate() {
        let total: u64 = c.iter().sum();
        for k in 0..3 {
            all[k] += c[k];
        }
        if total == 0 {
            continue;
        }
        let cluster = &sc.topology.clusters[sc.topology.zone_cluster[z] as usize].name;
        zones.insert(
            sc.zones[z].clone(),
            json!({
                "cluster": cluster,
                "attempts": total,
                "in_zone_pct": pct(c[0], total),
                "in_cluster_pct": pct(c[1], total),
                "cross_cluster_pct": pct(c[2], total),
            }),
        );
    }
    let total: u64 = all.iter().sum();
    json!({
        "attempts": total,
        "in_zone_pct": pct(all[0], total),
        "in_cluster_pct": pct(all[1], total),
        "cross_cluster_pct": pct(all[2], total),
        "zones": zones,
    })
}

/// What a fault hits, for labels: its services (in order of first candidate), or
/// "network" / "registry" / "gateway" for faults without instances.
pub fn fault_target(sc: &Scenario, f: &crate::model::Fault) -> String {
    if let crate::model::FaultKind::ZoneOutage { zone, .. } = f.kind {
        return format!("zone {}", sc.zones[zone.idx()]);
    }
    let mut names: Vec<&str> = Vec::new();
    for &i in &f.instances {
        let s = sc.services[sc.instances[i.0 as usize].service.0 as usize].name.as_str();
        if !names.contains(&s) {
            names.push(s);
        }
    }
    if !names.is_empty() {
        return names.join(",");
    }
    if let Some(p) = &f.path {
        let from = match p.from {
            None => "*",
            Some(crate::model::Caller::Gateway) => "gateway",
            Some(crate::model::Caller::Service(s)) => sc.services[s.idx()].name.as_str(),
        };
        let to = &sc.services[p.to.idx()].name;
        return match p.endpoint {
            None => format!("{from}->{to}"),
            Some(e) => format!("{from}->{to}/{}", sc.endpoints[e.idx()].name),
        };
    }
    match &f.kind {
        crate::model::FaultKind::RegistryOutage => "registry".into(),
        crate::model::FaultKind::SlowConfigPush { .. } => "control-plane".into(),
        crate::model::FaultKind::Load { .. } => "gateway".into(),
        crate::model::FaultKind::CaOutage => "control-plane".into(),
        crate::model::FaultKind::AuthzPolicy(p) => {
            p.service.map_or("mesh".into(), |s| sc.services[s.idx()].name.clone())
        }
        _ => "network".into(),
    }
}

/// An SLO's verdict: the measured value in the threshold's unit, and the recoveries.
fn slo_json(sc: &Scenario, s: &crate::slo::SloResult) -> Value {
    let scale = if s.slo.unit() == "%" { 100.0 } else { 1.0 };
    let recoveries: Vec<Value> = s
        .recoveries
        .iter()
        .map(|&(end, r)| {
            json!({
                "fault_end_s": round(end.as_secs_f64(), 6),
                "recovery_s": r.map_or(Value::Null, |d| json!(round(d.as_secs_f64(), 6))),
            })
        })
        .collect();
    json!({
        "threshold": s.slo.text,
        "route": s.slo.route.map_or(Value::Null, |r| json!(sc.gateway.routes[r.idx()].name)),
        "measured": s.measured.map_or(Value::Null, |v| json!(round(v * scale, 4))),
        "unit": s.slo.unit(),
        "recovery_within_s": s.slo.recovery_within.map_or(Value::Null, |d| json!(round(d.as_secs_f64(), 6))),
        "recoveries": recoveries,
        "pass": s.pass,
    })
}

/// How discovery worked: the mode, and for every crash how long the registry and the
/// callers' cached views took to stop listing the instance.
fn discovery_json(sc: &Scenario, r: &RunResult) -> Value {
    use crate::model::DiscoveryMode;
    let mode = match sc.discovery.mode {
        DiscoveryMode::Ideal => "ideal",
        DiscoveryMode::Client => "client",
        DiscoveryMode::Server => "server",
    };
    let detections: Vec<Value> = r
        .detections
        .iter()
        .map(|d| {
            let secs =
                |t: Option<crate::time::SimTime>| t.map(|t| json!(round(t.since(d.crashed_at).as_secs_f64(), 6)));
            let delays: Vec<f64> = d.delays.iter().map(|x| x.as_secs_f64()).collect();
            let mean = if delays.is_empty() { None } else { Some(delays.iter().sum::<f64>() / delays.len() as f64) };
            let max = delays.iter().copied().fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
            json!({
                "instance": sc.instances[d.instance.idx()].name,
                "crashed_at_s": round(d.crashed_at.as_secs_f64(), 6),
                "registry_detect_s": secs(d.registry_at).unwrap_or(Value::Null),
                "views_listing_it": d.views,
                "views_detected": delays.len(),
                "view_detect_s_mean": mean.map_or(Value::Null, |m| json!(round(m, 6))),
                "view_detect_s_max": max.map_or(Value::Null, |m| json!(round(m, 6))),
                "restarted_after_s": secs(d.restarted_at).unwrap_or(Value::Null),
                "health_checks_detected": d.check_delays.len(),
                "health_check_detect_s_max": d
                    .check_delays
                    .iter()
                    .map(|x| x.as_secs_f64())
                    .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
                    .map_or(Value::Null, |m| json!(round(m, 6))),
            })
        })
        .collect();
    let changes: Vec<Value> = sc
        .config_changes
        .iter()
        .zip(&r.config_applied)
        .map(|(c, &(n, max))| {
            json!({
                "at_s": round(c.at.as_secs_f64(), 6),
                "proxies_reached": n,
                "propagation_s_max": round(max.as_secs_f64(), 6),
            })
        })
        .collect();
    json!({
        "mode": mode,
        "detections": detections,
        "registry_read_timeouts": r.registry_read_timeouts,
        "config_changes": changes,
    })
}

/// Calls after the policy stack (one policy point, or all callers of a service).
fn call_json(calls: &CallStats) -> Value {
    json!({
        "requests": counts_json(&calls.counts, None),
        "attempts": calls.attempts,
        "retries": calls.retries,
        "retries_denied_by_budget": calls.retries_denied,
        "breaker_opens": calls.breaker_opens,
        "ejections": calls.ejections,
        "fallbacks": calls.fallbacks,
        "deferred": {
            "total": calls.deferred,
            "ok": calls.deferred_ok,
            "failed": calls.deferred_failed,
        },
        "hedges": calls.hedges,
        "hedges_won": calls.hedges_won,
        "retry_amplification": round(calls.amplification(), 4),
    })
}

fn add_totals(acc: &mut StationTotals, t: &StationTotals) {
    acc.arrivals += t.arrivals;
    acc.completed += t.completed;
    acc.errors += t.errors;
    acc.rejected += t.rejected;
    acc.area_in_system += t.area_in_system;
    acc.area_busy += t.area_busy;
    acc.area_capacity += t.area_capacity;
    acc.area_queue += t.area_queue;
    acc.sojourn_sum_ns += t.sojourn_sum_ns;
    acc.sojourn_max_ns = acc.sojourn_max_ns.max(t.sojourn_max_ns);
    acc.wait_sum_ns += t.wait_sum_ns;
    acc.started += t.started;
    acc.wasted_ns += t.wasted_ns;
    acc.wasted_jobs += t.wasted_jobs;
    acc.deadline_expired += t.deadline_expired;
    acc.rate_limited += t.rate_limited;
    acc.shed += t.shed;
    acc.to_dead += t.to_dead;
    acc.lost_in_crash += t.lost_in_crash;
}

fn stop_json(stop: &Stop) -> Value {
    match stop {
        Stop::Completed => json!({ "reason": "completed" }),
        Stop::Limit { kind, message } => {
            let reason = match kind {
                LimitKind::EventsMax => "events-max",
                LimitKind::InFlightMax => "in-flight-max",
                LimitKind::DrainTimeout => "drain-timeout",
            };
            json!({ "reason": reason, "message": message })
        }
    }
}

/// The whole-run summary written to `summary.json`.
// Over 80 lines: it spells `summary.json`'s top-level keys in file order, one block each.
pub fn summary(sc: &Scenario, r: &RunResult) -> Value {
    let secs = measured_secs(r.warmup, r.arrivals_end);
    let station_secs = r.end.since(r.warmup).as_secs_f64();
    let mut out = Map::new();
    out.insert("scenario".into(), json!(sc.name));
    out.insert("seed".into(), json!(r.seed));
    out.insert("stop".into(), stop_json(&r.stop));
    out.insert("simulated_s".into(), json!(round(r.end.as_secs_f64(), 6)));
    out.insert("measured_s".into(), json!(round(secs, 6)));
    out.insert("warmup_s".into(), json!(round(r.warmup.as_secs_f64(), 6)));
    out.insert("events".into(), json!(r.events));
    let total = flow_json(&r.total, secs, Some(r.in_flight_measured));
    for (k, v) in total.as_object().expect("flow_json gives an object") {
        out.insert(k.clone(), v.clone());
    }
    let routes: Map<String, Value> = sc
        .gateway
        .routes
        .iter()
        .zip(&r.routes)
        .map(|(route, f)| {
            let mut v = flow_json(f, secs, None);
            let svc = &sc.services[route.service.idx()].name;
            let ep = &sc.endpoints[route.endpoint.idx()].name;
            v["destination"] = json!(format!("{svc}.{ep}"));
            if !route.split.is_empty() {
                let split: Map<String, Value> = route
                    .split
                    .iter()
                    .map(|&(s, e, w)| {
                        (format!("{}.{}", sc.services[s.idx()].name, sc.endpoints[e.idx()].name), json!(w))
                    })
                    .collect();
                v["destinations"] = Value::Object(split);
            }
            (route.name.clone(), v)
        })
        .collect();
    out.insert("routes".into(), Value::Object(routes));
    let mut services = Map::new();
    for (i, svc) in sc.services.iter().enumerate() {
        let mut v = flow_json(&r.services[i], secs, None);
        let mut acc = StationTotals::default();
        let mut workers = 0u64;
        for &inst in &svc.instances {
            add_totals(&mut acc, &r.stations[inst.idx()].totals);
            workers += u64::from(sc.instances[inst.idx()].workers);
        }
        v["calls"] = call_json(&r.service_calls[i]);
        v["server"] = station_json(&acc, workers, svc.instances.len(), station_secs);
        if let Some(versions) = traffic::versions_json(sc, r, i, station_secs) {
            v["versions"] = versions;
        }
        services.insert(svc.name.clone(), v);
    }
    out.insert("services".into(), Value::Object(services));
    let points: Map<String, Value> =
        r.points.iter().zip(&r.point_calls).map(|(p, c)| (p.name(sc), call_json(c))).collect();
    out.insert("calls".into(), Value::Object(points));
    let ratio = if r.work_ns > 0 { r.goodput_ns as f64 / r.work_ns as f64 } else { 1.0 };
    out.insert(
        "work".into(),
        json!({
            "work_s": round(r.work_ns as f64 / 1e9, 6),
            "goodput_work_s": round(r.goodput_ns as f64 / 1e9, 6),
            "goodput_ratio": round(ratio, 4),
        }),
    );
    let instances: Map<String, Value> = sc
        .instances
        .iter()
        .zip(&r.stations)
        .enumerate()
        .map(|(i, (inst, st))| {
            let mut v = station_json(&st.totals, u64::from(inst.workers), 1, station_secs);
            let o = v.as_object_mut().expect("station_json gives an object");
            o.remove("instances");
            o.insert("service".into(), json!(sc.services[inst.service.idx()].name));
            o.insert("zone".into(), json!(sc.zones[inst.zone.idx()]));
            if let Some(Some(p)) = r.probes.get(i) {
                use crate::discovery::probe::ProbeKind;
                let kinds: Map<String, Value> = [
                    ("startup", ProbeKind::Startup),
                    ("readiness", ProbeKind::Readiness),
                    ("liveness", ProbeKind::Liveness),
                ]
                .iter()
                .map(|&(name, k)| {
                    (name.to_string(), json!({ "probes": p.probes[k.index()], "failures": p.failures[k.index()] }))
                })
                .collect();
                o.insert("probes".into(), json!({ "by_kind": kinds, "restarts": p.restarts }));
            }
            (inst.name.clone(), v)
        })
        .collect();
    out.insert("instances".into(), Value::Object(instances));
    out.insert("slos".into(), Value::Array(r.slos.iter().map(|s| slo_json(sc, s)).collect()));
    out.insert("resilience".into(), resilience_json(sc, r));
    if !r.alerts.is_empty() {
        out.insert("alerts".into(), alerts_json(r));
    }
    if !r.invariants.is_empty() {
        let list: Vec<Value> = r
            .invariants
            .iter()
            .map(|i| {
                json!({
                    "invariant": i.text,
                    "holds": i.holds,
                    "windows_broken": i.windows_broken,
                    "first_broken": i.first,
                })
            })
            .collect();
        out.insert("invariants".into(), Value::Array(list));
    }
    if let Some(rollout) = traffic::rollout_json(sc, r) {
        out.insert("rollout".into(), rollout);
    }
    out.insert("discovery".into(), discovery_json(sc, r));
    if !r.autoscaling.is_empty() {
        out.insert("autoscaling".into(), autoscale::autoscaling_json(sc, r));
    }
    out.insert("late_responses".into(), json!(r.late_responses));
    if let Some(l) = &r.locality {
        out.insert("locality".into(), locality_json(sc, l));
    }
    out.insert("in_flight_max".into(), json!(r.in_flight_max_seen));
    if let Some(s) = &r.security {
        out.insert("security".into(), security::security_json(sc, s));
    }
    Value::Object(out)
}

/// A short human summary for stdout.
pub fn human(sc: &Scenario, r: &RunResult, out_dir: &Path) -> String {
    let c = &r.total.counts;
    let pct = |n: u64| {
        if c.total() > 0 { 100.0 * n as f64 / c.total() as f64 } else { 0.0 }
    };
    let l = &r.total.latency;
    let mut s = format!(
        "{} (seed {}): {:.3} s simulated, {} requests measured\n",
        sc.name,
        r.seed,
        r.end.as_secs_f64(),
        r.requests_measured
    );
    s += &format!(
        "  ok {} ({:.2}%)  error {}  timeout {}  rejected {}  dropped {}\n",
        c.ok,
        pct(c.ok),
        c.error,
        c.timeout,
        c.rejected,
        c.dropped
    );
    s += &format!(
        "  latency ms: mean {:.3}  p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}\n",
        l.mean_ms(),
        l.quantile_ms(0.5),
        l.quantile_ms(0.9),
        l.quantile_ms(0.99),
        l.max_ms()
    );
    let width = sc.gateway.routes.iter().map(|r| r.name.len()).max().unwrap_or(0);
    for (route, f) in sc.gateway.routes.iter().zip(&r.routes) {
        let n = f.counts.total();
        let okp = if n > 0 { 100.0 * f.counts.ok as f64 / n as f64 } else { 100.0 };
        s += &format!(
            "  route {:width$}  {:>9} req  ok {:>7.3}%  p50 {:>9.3} ms  p99 {:>9.3} ms\n",
            route.name,
            n,
            okp,
            f.latency.quantile_ms(0.5),
            f.latency.quantile_ms(0.99),
        );
    }
    for v in &r.slos {
        let scale = if v.slo.unit() == "%" { 100.0 } else { 1.0 };
        let measured = v.measured.map_or("no requests".to_string(), |x| format!("{:.3}{}", x * scale, v.slo.unit()));
        let slowest = v.recoveries.iter().map(|&(_, r)| r).max();
        let recovery = match slowest {
            None => String::new(),
            Some(None) => ", never recovered after a fault".to_string(),
            Some(Some(d)) => format!(", recovered {:.1} s after faults at most", d.as_secs_f64()),
        };
        s += &format!("  SLO {}: {} ({measured}{recovery})\n", v.slo.text, if v.pass { "pass" } else { "FAIL" });
    }
    for a in &r.autoscaling {
        s += &autoscale::human_line(sc, a);
    }
    for (spec, rec) in sc.rollouts.iter().zip(&r.rollouts) {
        let at = rec.decided_at.map_or(String::new(), |t| format!(" at {:.1} s", t.as_secs_f64()));
        let why = rec.reason.as_ref().map_or(String::new(), |w| format!(" ({w})"));
        s += &format!(
            "  rollout {}: {}{at}{why}; canary answered {} live requests, {} failed, {} users saw an error\n",
            sc.services[spec.service.idx()].name,
            rec.outcome(),
            rec.impact.canary_requests,
            rec.impact.canary_failed,
            rec.impact.users_with_errors
        );
    }
    if let Stop::Limit { message, .. } = &r.stop {
        s += &format!("  STOPPED AT A LIMIT: {message}\n");
    }
    s += &format!("  report: {}\n", out_dir.display());
    s
}

/// The summary as pretty JSON with a final newline.
pub fn summary_bytes(v: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(v).expect("a JSON value always serializes");
    bytes.push(b'\n');
    bytes
}
