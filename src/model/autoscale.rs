//! Horizontal autoscalers as validated data: the metric, the target, the replica bounds and
//! each direction's behaviour (Kubernetes' HPA). The controller is in `autoscale`.

use crate::time::SimDuration;

/// What the autoscaler measures on each pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Busy workers over workers, time-averaged over the interval (a CPU-utilisation
    /// target: `target` is a fraction, 0.6 for 60 %).
    Utilization,
    /// Requests waiting in the pod's queue, time-averaged over the interval (a Pods
    /// metric with an `AverageValue` target: `target` is requests per pod).
    Queue,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Utilization => "utilization",
            Metric::Queue => "queue",
        }
    }
}

/// How a policy counts the change it allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// At most `value` pods per period.
    Pods,
    /// At most `value` percent of the replicas at the period's start, per period.
    Percent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingPolicy {
    pub kind: PolicyKind,
    pub value: u32,
    pub period: SimDuration,
}

/// Which policy wins when several apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectPolicy {
    /// The one allowing the largest change (Kubernetes' default).
    Max,
    /// The one allowing the smallest change.
    Min,
    /// No change in this direction at all.
    Disabled,
}

/// One direction's behaviour (`behavior.scaleUp` or `behavior.scaleDown`).
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRules {
    pub stabilization_window: SimDuration,
    pub policies: Vec<ScalingPolicy>,
    pub select: SelectPolicy,
}

impl ScalingRules {
    /// Kubernetes' default scale-up: no stabilisation, at most max(100 %, 4 pods) per 15 s.
    pub fn default_up() -> ScalingRules {
        ScalingRules {
            stabilization_window: SimDuration::ZERO,
            policies: vec![
                ScalingPolicy { kind: PolicyKind::Percent, value: 100, period: SimDuration::from_secs(15) },
                ScalingPolicy { kind: PolicyKind::Pods, value: 4, period: SimDuration::from_secs(15) },
            ],
            select: SelectPolicy::Max,
        }
    }

    /// Kubernetes' default scale-down: a 300 s stabilisation window, at most 100 % per 15 s.
    pub fn default_down() -> ScalingRules {
        ScalingRules {
            stabilization_window: SimDuration::from_secs(300),
            policies: vec![ScalingPolicy { kind: PolicyKind::Percent, value: 100, period: SimDuration::from_secs(15) }],
            select: SelectPolicy::Max,
        }
    }
}

/// A validated autoscaler. Defaults (docs/scenario-format.md): metric utilization, target
/// 80 %, minReplicas 1, interval 15 s, tolerance 10 %, the behaviours above.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscalerConfig {
    pub metric: Metric,
    /// A fraction for utilisation, requests per pod for the queue; greater than zero.
    pub target: f64,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub interval: SimDuration,
    /// A fraction (0.1 for Kubernetes' 10 %).
    pub tolerance: f64,
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
}
