//! The chaos monkey: its bounds, and for each kind the faults it may become.

use super::cx::*;
use super::faults::fault;
use crate::model::*;
use crate::scenario::raw;
use crate::time::{SimDuration, SimTime};

/// The chaos monkey: its bounds, and for each kind the faults it may become.
// Long because the bounds, the service list and each kind are checked in the order
// their issues are reported; each kind reuses `fault` for its parameters.
pub(super) fn chaos(cx: &mut Cx, c: &raw::ChaosSpec, env: &FaultEnv) -> Option<ChaosMonkey> {
    use raw::FaultKind as K;
    let errors = cx.issues.len();
    let start = SimTime::ZERO + c.start.map_or(SimDuration::ZERO, |d| d.0);
    let end = c.end.map(|d| SimTime::ZERO + d.0);
    if let Some(e) = end.filter(|&e| e <= start) {
        cx.err(
            "chaos.end",
            format!("an end after the start ({}), found {}", start.since(SimTime::ZERO), e.since(SimTime::ZERO)),
        );
    }
    let mean_interval = cx.positive_duration("chaos.meanInterval".into(), c.mean_interval.0);
    let (min, max) = (c.duration.min.0, c.duration.max.0);
    cx.positive_duration("chaos.duration.min".into(), min);
    if max < min {
        cx.err("chaos.duration.max", format!("a longest duration at least the shortest ({min}), found {max}"));
    }
    let max_concurrent = cx.positive_count("chaos.maxConcurrent".into(), c.max_concurrent, 1, "fault at once");
    let services: Vec<(&str, ServiceId)> = match &c.services {
        None => env.service_ids.iter().map(|(n, id)| (*n, *id)).collect(),
        Some(list) if list.is_empty() => {
            cx.err("chaos.services", "at least one service to hit (or no list: all of them)");
            Vec::new()
        }
        Some(list) => list
            .iter()
            .enumerate()
            .filter_map(|(k, n)| match env.service_ids.get_key_value(n.as_str()) {
                Some((name, id)) => Some((*name, *id)),
                None => {
                    cx.err(format!("chaos.services[{k}]"), unknown("service", n, env.service_ids.keys().copied()));
                    None
                }
            })
            .collect(),
    };
    if c.kinds.is_empty() {
        cx.err("chaos.kinds", "at least one kind of fault to draw");
    }
    let mut kinds = Vec::new();
    for (k, spec) in c.kinds.iter().enumerate() {
        let p = format!("chaos.kinds[{k}]");
        let weight = spec.weight.unwrap_or(1.0);
        if !(weight.is_finite() && weight > 0.0) {
            cx.err(format!("{p}.weight"), format!("a weight above zero, found {weight}"));
            continue;
        }
        let targeted = matches!(spec.kind, K::Error | K::Slowdown | K::Capacity | K::Latency | K::Crash | K::Stop);
        if !targeted && spec.target.is_some() {
            cx.err(
                format!("{p}.target"),
                format!("no target: a {} fault does not hit instances", kind_name(spec.kind)),
            );
            continue;
        }
        let as_fault = |service: Option<&str>| raw::FaultSpec {
            kind: spec.kind,
            target: service.map(|s| raw::FaultTargetSpec {
                service: s.to_string(),
                instances: None,
                zone: spec.target.as_ref().and_then(|t| t.zone.clone()),
                mode: Some(spec.target.as_ref().and_then(|t| t.mode).unwrap_or(raw::TargetMode::One)),
                value: spec.target.as_ref().and_then(|t| t.value),
            }),
            start: raw::Dur(SimDuration::ZERO),
            duration: Some(raw::Dur(min.max(SimDuration::from_nanos(1)))),
            repeat: None,
            percent: spec.percent,
            status: spec.status,
            factor: spec.factor,
            workers: spec.workers,
            delay: spec.delay.clone(),
            mode: spec.mode,
            between: spec.between.clone(),
            services: spec.services.clone(),
            clusters: None,
            zone: None,
            direction: spec.direction,
            rate: spec.rate,
            route: spec.route.clone(),
            call: None,
            policy: None,
        };
        let mut variants = Vec::new();
        if targeted {
            // Problems of the parameters show once, from the first service; the same
            // parameters on the others would only repeat them.
            let mut scratch = Cx { issues: Vec::new() };
            for (n, &(name, _)) in services.iter().enumerate() {
                let ctx = if n == 0 { &mut *cx } else { &mut scratch };
                if let Some(f) = fault(ctx, &p, &as_fault(Some(name)), env)
                    && !f.instances.is_empty()
                {
                    variants.push(f);
                }
            }
        } else if let Some(f) = fault(cx, &p, &as_fault(None), env) {
            variants.push(f);
        }
        if variants.is_empty() && cx.issues.len() == errors {
            cx.err(format!("{p}.target"), "instances to hit among the chaos services (none in that zone?)");
        }
        kinds.push(ChaosKind { weight, variants });
    }
    (cx.issues.len() == errors).then_some(ChaosMonkey {
        start,
        end,
        mean_interval,
        duration: (min, max),
        max_concurrent,
        kinds,
    })
}
