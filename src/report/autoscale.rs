//! The `autoscaling` part of `summary.json`: per service with an autoscaler, its
//! decisions and the figures that show the scale-out lag and the cost.

use super::round;
use crate::autoscale::Metric;
use crate::model::{FaultKind, Scenario};
use crate::result::{Autoscaling, RunResult};
use serde_json::{Map, Value, json};

pub(super) fn autoscaling_json(sc: &Scenario, r: &RunResult) -> Value {
    // The first load fault's start: the spike the scale-out answers, if there is one.
    let spike = r.faults.iter().filter(|f| matches!(f.kind, FaultKind::Load { .. })).map(|f| f.start).min();
    let out: Map<String, Value> = r
        .autoscaling
        .iter()
        .map(|a| {
            let svc = &sc.services[a.service.idx()];
            let config = svc.autoscaler.as_ref().expect("an autoscaling record has an autoscaler");
            let scale = match config.metric {
                Metric::Utilization => 100.0,
                Metric::Queue => 1.0,
            };
            let metric = |x: f64| if x.is_nan() { Value::Null } else { json!(round(x * scale, 3)) };
            let decisions: Vec<Value> = a
                .decisions
                .iter()
                .map(|d| {
                    json!({
                        "time_s": round(d.at.as_secs_f64(), 6),
                        "from": d.from,
                        "to": d.to,
                        "recommended": d.recommended,
                        "metric": metric(d.metric),
                        "reason": d.reason.name(),
                    })
                })
                .collect();
            let secs = |t: Option<crate::time::SimTime>| t.map(|t| round(t.as_secs_f64(), 6));
            let lag = match (a.first_scale_out, a.first_ready_after_scale_out) {
                (Some(o), Some(r)) => Some(round(r.since(o).as_secs_f64(), 6)),
                _ => None,
            };
            let after_spike = spike.and_then(|s| {
                let first = a.decisions.iter().find(|d| d.to > d.from && d.at >= s)?;
                Some(round(first.at.since(s).as_secs_f64(), 6))
            });
            let v = json!({
                "metric": config.metric.name(),
                "target": round(config.target * scale, 6),
                "min_replicas": config.min_replicas,
                "max_replicas": config.max_replicas,
                "interval_s": round(config.interval.as_secs_f64(), 6),
                "evaluations": a.evaluations,
                "replicas_min_seen": a.replicas_min,
                "replicas_max_seen": a.replicas_max,
                "first_scale_out_s": secs(a.first_scale_out),
                "first_ready_after_scale_out_s": secs(a.first_ready_after_scale_out),
                "scale_out_lag_s": lag,
                "spike_to_first_scale_out_s": after_spike,
                "replica_seconds": round(a.replica_seconds, 3),
                "decisions": decisions,
                "decisions_dropped": a.decisions_dropped,
            });
            (svc.name.clone(), v)
        })
        .collect();
    Value::Object(out)
}

/// One line of the human summary: the replica counts the autoscaler went through, the
/// scale-out lag and the cost.
pub(super) fn human_line(sc: &Scenario, a: &Autoscaling) -> String {
    let mut path = vec![a.decisions.first().map_or(a.replicas_min, |d| d.from)];
    path.extend(a.decisions.iter().map(|d| d.to));
    let path: Vec<String> = path.iter().map(u32::to_string).collect();
    let lag = match (a.first_scale_out, a.first_ready_after_scale_out) {
        (Some(o), Some(r)) => {
            format!(
                ", first scale-out at {:.1} s, a new pod ready {:.1} s later",
                o.as_secs_f64(),
                r.since(o).as_secs_f64()
            )
        }
        (Some(o), None) => format!(", first scale-out at {:.1} s, no new pod ready", o.as_secs_f64()),
        _ => String::new(),
    };
    format!(
        "  autoscaler {}: replicas {}{lag}; {:.0} replica-s\n",
        sc.services[a.service.idx()].name,
        path.join(" -> "),
        a.replica_seconds
    )
}
