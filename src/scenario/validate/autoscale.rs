//! Validation of a service's `autoscaler` block into an [`AutoscalerConfig`].

use super::cx::Cx;
use crate::autoscale::{AutoscalerConfig, Metric, PolicyKind, ScalingPolicy, ScalingRules, SelectPolicy};
use crate::scenario::raw;
use crate::time::SimDuration;

/// Kubernetes' bounds: a policy period of at most 30 min, a stabilisation window of at most 1 h.
const PERIOD_MAX: SimDuration = SimDuration::from_secs(1800);
const WINDOW_MAX: SimDuration = SimDuration::from_secs(3600);

/// The autoscaler of a service with `pool` instances (`pool_from_max`: the service sets
/// `maxReplicas` itself, else the pool was sized from the autoscaler's `maxReplicas`).
pub(super) fn autoscaler(
    cx: &mut Cx,
    p: &str,
    a: &raw::AutoscalerSpec,
    pool: u32,
    pool_from_max: bool,
) -> Option<AutoscalerConfig> {
    let issues = cx.issues.len();
    let metric = match a.metric {
        Some(raw::AutoscaleMetric::Queue) => Metric::Queue,
        _ => Metric::Utilization,
    };
    let target = match (metric, a.target) {
        (Metric::Utilization, None) => 0.8,
        (Metric::Utilization, Some(t)) if t.is_finite() && t > 0.0 && t <= 100.0 => t / 100.0,
        (Metric::Utilization, Some(t)) => {
            cx.err(format!("{p}.target"), format!("a utilisation percentage above 0, at most 100, found {t}"));
            0.8
        }
        (Metric::Queue, Some(t)) if t.is_finite() && t > 0.0 => t,
        (Metric::Queue, Some(t)) => {
            cx.err(format!("{p}.target"), format!("queued requests per pod, greater than zero, found {t}"));
            1.0
        }
        (Metric::Queue, None) => {
            cx.err(format!("{p}.target"), "\"target\" (queued requests per pod), which the queue metric requires");
            1.0
        }
    };
    let min_replicas = cx.positive_count(format!("{p}.minReplicas"), a.min_replicas, 1, "replica");
    let max_replicas = match a.max_replicas {
        None => {
            cx.err(format!("{p}.maxReplicas"), "\"maxReplicas\", which an autoscaler requires");
            min_replicas
        }
        Some(m) if m < min_replicas => {
            cx.err(format!("{p}.maxReplicas"), format!("at least minReplicas ({min_replicas}), found {m}"));
            min_replicas
        }
        Some(m) if m > pool => {
            let why = if pool_from_max {
                format!("at most the service's instances ({pool}: raise its maxReplicas), found {m}")
            } else {
                format!("at most the service's {pool} instances, found {m}")
            };
            cx.err(format!("{p}.maxReplicas"), why);
            min_replicas
        }
        Some(m) => m,
    };
    let interval = match a.interval {
        None => SimDuration::from_secs(15),
        Some(d) => cx.positive_duration(format!("{p}.interval"), d.0),
    };
    let tolerance = cx.percent(format!("{p}.tolerance"), a.tolerance, 10.0);
    let scale_up = rules(cx, &format!("{p}.scaleUp"), a.scale_up.as_ref(), ScalingRules::default_up());
    let scale_down = rules(cx, &format!("{p}.scaleDown"), a.scale_down.as_ref(), ScalingRules::default_down());
    if cx.issues.len() > issues {
        return None;
    }
    Some(AutoscalerConfig { metric, target, min_replicas, max_replicas, interval, tolerance, scale_up, scale_down })
}

/// One direction's behaviour; unset fields keep Kubernetes' defaults for that direction.
fn rules(cx: &mut Cx, p: &str, spec: Option<&raw::ScalingRulesSpec>, default: ScalingRules) -> ScalingRules {
    let Some(spec) = spec else { return default };
    let stabilization_window = match spec.stabilization_window {
        None => default.stabilization_window,
        Some(d) if d.0 > WINDOW_MAX => {
            cx.err(format!("{p}.stabilizationWindow"), format!("at most {WINDOW_MAX}, found {}", d.0));
            default.stabilization_window
        }
        Some(d) => d.0,
    };
    let policies = match &spec.policies {
        None => default.policies,
        Some(list) if list.is_empty() => {
            cx.err(format!("{p}.policies"), "at least one policy (or selectPolicy \"Disabled\")");
            default.policies
        }
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, pol)| {
                let pp = format!("{p}.policies[{i}]");
                if pol.value == 0 {
                    cx.err(format!("{pp}.value"), "a value of at least 1, found 0");
                }
                if pol.period.0.is_zero() || pol.period.0 > PERIOD_MAX {
                    cx.err(
                        format!("{pp}.period"),
                        format!("a period above 0, at most {PERIOD_MAX}, found {}", pol.period.0),
                    );
                }
                let kind = match pol.kind {
                    raw::ScalingPolicyKind::Pods => PolicyKind::Pods,
                    raw::ScalingPolicyKind::Percent => PolicyKind::Percent,
                };
                ScalingPolicy { kind, value: pol.value, period: pol.period.0 }
            })
            .collect(),
    };
    let select = match spec.select_policy {
        None => default.select,
        Some(raw::SelectPolicySpec::Max) => SelectPolicy::Max,
        Some(raw::SelectPolicySpec::Min) => SelectPolicy::Min,
        Some(raw::SelectPolicySpec::Disabled) => SelectPolicy::Disabled,
    };
    ScalingRules { stabilization_window, policies, select }
}
