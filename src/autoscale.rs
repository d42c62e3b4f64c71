//! A horizontal autoscaler per service, after the Kubernetes HorizontalPodAutoscaler
//! (`pkg/controller/podautoscaler`: `replica_calculator.go` and `horizontal.go`).
//!
//! A pure state machine: the loop (`sim/autoscale.rs`) measures the pods over the last
//! evaluation interval and calls [`Autoscaler::evaluate`] at each multiple of the interval;
//! the decision it returns says how many replicas the service should have. One evaluation
//! does what one HPA sync does:
//!
//! 1. Clamp: a current count above `maxReplicas` goes to the maximum, below
//!    `minReplicas` to the minimum, without looking at metrics.
//! 2. Recommend (`replica_calculator.go`, `calcPlainMetricReplicas`): the usage ratio is
//!    the mean metric of the ready pods over the target. With no unready and no missing
//!    pod, no change while `|ratio - 1| <= tolerance`, else `ceil(ratio * ready pods)`.
//!    Otherwise, when scaling up, unready pods (starting, not passing readiness, crashed)
//!    count as 0 and pods without metrics as 0; when scaling down, pods without metrics
//!    count as the target (100 %) and unready pods are left out; the ratio is taken
//!    again over all those pods, and if it is within the tolerance or points the other
//!    way, nothing changes.
//! 3. Stabilise (`stabilizeRecommendationWithBehaviors`): the recommendation becomes at
//!    least the lowest raw recommendation of the scale-up window and at most the highest
//!    of the scale-down window (windows are open at their start, as `After(cutoff)`).
//! 4. Limit the rate (`calculateScaleUpLimitWithScalingRules` and its scale-down twin):
//!    each policy allows, from the replica count at the start of its period (now minus
//!    the changes made within it), `Pods` more or fewer, or `Percent` more (rounded up) or
//!    fewer (rounded down); `selectPolicy` `Max` takes the policy allowing the largest
//!    change, `Min` the smallest, `Disabled` allows none. Then clamp to `[min, max]`.
//!
//! Where meshsim simplifies: every pod's metric covers the whole interval (no
//! metrics-server scrape lag, no 30 s readiness delay or 5 min CPU initialisation period:
//! a pod is ready for the autoscaler when it served and was ready through the whole last
//! interval); there is one metric per autoscaler.

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::autoscale::{AutoscalerConfig, Metric, PolicyKind, ScalingPolicy, ScalingRules, SelectPolicy};
use crate::time::{SimDuration, SimTime};

/// The pods of the service at an evaluation, as the metrics pipeline sees them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Each ready pod's metric over the interval (a fraction for utilisation).
    pub ready: Vec<f64>,
    /// Pods that exist but are not ready: starting, failing readiness, crashed, or ready
    /// for less than the whole interval.
    pub unready: u32,
    /// Pods that look ready but report no metrics (a hung process).
    pub missing: u32,
}

/// Why the replica count is what it is after an evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The metric is within the tolerance of the target (or the recount reversed).
    WithinTolerance,
    /// No ready pod had metrics: nothing can be computed, nothing changes.
    NoMetrics,
    /// The recommendation is applied as computed.
    Recommended,
    /// The stabilisation windows held the count (or part of the change) back.
    Stabilized,
    /// A scaling policy limited the step.
    RateLimited,
    /// Clamped to `maxReplicas` or `minReplicas`.
    MaxReplicas,
    MinReplicas,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::WithinTolerance => "within-tolerance",
            Reason::NoMetrics => "no-metrics",
            Reason::Recommended => "recommended",
            Reason::Stabilized => "stabilized",
            Reason::RateLimited => "rate-limited",
            Reason::MaxReplicas => "max-replicas",
            Reason::MinReplicas => "min-replicas",
        }
    }
}

/// The outcome of one evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub at: SimTime,
    /// The replica count before, and the one the service should have now.
    pub from: u32,
    pub to: u32,
    /// The raw recommendation from the metric, before stabilisation and policies.
    pub recommended: u32,
    /// The mean metric of the ready pods (a fraction for utilisation); NaN without one.
    pub metric: f64,
    pub reason: Reason,
}

/// One service's autoscaler: its raw recommendations and the changes it made, for the
/// stabilisation windows and the rate policies.
#[derive(Clone, Debug)]
pub struct Autoscaler {
    config: AutoscalerConfig,
    /// The replica count it manages (a Deployment's `spec.replicas`).
    replicas: u32,
    /// Raw recommendations, oldest first, pruned past both windows.
    recommendations: Vec<(SimTime, u32)>,
    /// Replicas added (positive) or removed (negative) by each change, oldest first,
    /// pruned past the longest policy period.
    changes: Vec<(SimTime, i64)>,
}

impl Autoscaler {
    /// # Panics
    /// If the configuration is not one validation lets through.
    pub fn new(config: AutoscalerConfig, replicas: u32) -> Autoscaler {
        assert!(config.min_replicas >= 1 && config.min_replicas <= config.max_replicas);
        assert!(config.target > 0.0 && !config.interval.is_zero());
        Autoscaler { config, replicas, recommendations: Vec::new(), changes: Vec::new() }
    }

    pub fn config(&self) -> &AutoscalerConfig {
        &self.config
    }

    /// The replica count it manages.
    pub fn replicas(&self) -> u32 {
        self.replicas
    }

    /// Someone else set the replica count (a `scale` lifecycle action, like `kubectl
    /// scale` on a Deployment an HPA manages): the next evaluation starts from it.
    pub fn set_replicas(&mut self, replicas: u32) {
        self.replicas = replicas;
    }

    /// One HPA sync at `now` with the pods' metrics over the last interval.
    pub fn evaluate(&mut self, now: SimTime, metrics: &Metrics) -> Decision {
        let c = &self.config;
        let from = self.replicas;
        let metric = mean(&metrics.ready);
        let decision = |to, recommended, reason| Decision { at: now, from, to, recommended, metric, reason };
        // HorizontalController.reconcileAutoscaler: out-of-range counts go straight back in.
        if from > c.max_replicas {
            return self.apply(decision(c.max_replicas, c.max_replicas, Reason::MaxReplicas));
        }
        if from < c.min_replicas {
            return self.apply(decision(c.min_replicas, c.min_replicas, Reason::MinReplicas));
        }
        let Some((recommended, tolerant)) = self.recommend(metrics) else {
            return decision(from, from, Reason::NoMetrics);
        };
        let stabilized = self.stabilize(now, recommended);
        let (to, limited) = self.limit(now, stabilized);
        let reason = if let Some(r) = limited {
            r
        } else if stabilized != recommended {
            Reason::Stabilized
        } else if tolerant {
            Reason::WithinTolerance
        } else {
            Reason::Recommended
        };
        self.apply(decision(to, recommended, reason))
    }

    fn apply(&mut self, d: Decision) -> Decision {
        if d.to != d.from {
            self.changes.push((d.at, i64::from(d.to) - i64::from(d.from)));
        }
        self.replicas = d.to;
        d
    }

    /// The raw recommendation (`calcPlainMetricReplicas`), and whether it is "no change
    /// within the tolerance"; `None` without any ready pod's metric.
    fn recommend(&self, m: &Metrics) -> Option<(u32, bool)> {
        let c = &self.config;
        let current = self.replicas;
        if m.ready.is_empty() {
            return None;
        }
        let ratio = mean(&m.ready) / c.target;
        let up_with_unready = m.unready > 0 && ratio > 1.0;
        if !up_with_unready && m.missing == 0 {
            if (1.0 - ratio).abs() <= c.tolerance {
                return Some((current, true));
            }
            return Some((ceil_u32(ratio * m.ready.len() as f64), false));
        }
        // Recount with assumptions for the pods set aside.
        let mut sum: f64 = m.ready.iter().sum();
        let mut pods = m.ready.len() as f64;
        if m.missing > 0 {
            if ratio < 1.0 {
                // Scaling down: a pod without metrics may be busy, so assume the target.
                sum += f64::from(m.missing) * c.target;
            }
            pods += f64::from(m.missing);
        }
        if up_with_unready {
            pods += f64::from(m.unready);
        }
        let new_ratio = sum / pods / c.target;
        if (1.0 - new_ratio).abs() <= c.tolerance
            || (ratio < 1.0 && new_ratio > 1.0)
            || (ratio > 1.0 && new_ratio < 1.0)
        {
            return Some((current, true));
        }
        let n = ceil_u32(new_ratio * pods);
        // Never move against the direction the usage points.
        if (new_ratio < 1.0 && n > current) || (new_ratio > 1.0 && n < current) {
            return Some((current, true));
        }
        Some((n, false))
    }

    /// Keeps `recommended` in the windows' bounds and records it.
    fn stabilize(&mut self, now: SimTime, recommended: u32) -> u32 {
        let c = &self.config;
        let up_cutoff = cutoff(now, c.scale_up.stabilization_window);
        let down_cutoff = cutoff(now, c.scale_down.stabilization_window);
        let (mut up, mut down) = (recommended, recommended);
        for &(t, r) in &self.recommendations {
            if after(t, up_cutoff) {
                up = up.min(r);
            }
            if after(t, down_cutoff) {
                down = down.max(r);
            }
        }
        let keep = up_cutoff.min(down_cutoff);
        self.recommendations.retain(|&(t, _)| after(t, keep));
        self.recommendations.push((now, recommended));
        self.replicas.max(up).min(down)
    }

    /// The count after the rate policies and the clamp, and the reason if they bound it.
    fn limit(&mut self, now: SimTime, desired: u32) -> (u32, Option<Reason>) {
        let c = &self.config;
        let longest = c.scale_up.policies.iter().chain(&c.scale_down.policies).map(|p| p.period).max();
        let keep = cutoff(now, longest.unwrap_or(SimDuration::ZERO));
        self.changes.retain(|&(t, _)| after(t, keep));
        let current = i64::from(self.replicas);
        let desired_i = i64::from(desired);
        if desired_i > current {
            let limit = self.up_limit(now).max(current);
            let max = i64::from(c.max_replicas);
            let (cap, reason) = if max > limit { (limit, Reason::RateLimited) } else { (max, Reason::MaxReplicas) };
            if desired_i > cap {
                return (cap as u32, Some(reason));
            }
        } else if desired_i < current {
            let limit = self.down_limit(now).min(current);
            let min = i64::from(c.min_replicas);
            let (floor, reason) = if min < limit { (limit, Reason::RateLimited) } else { (min, Reason::MinReplicas) };
            if desired_i < floor {
                return (floor as u32, Some(reason));
            }
        }
        (desired, None)
    }

    /// The replica count at the start of `period`: now's, less the changes within it.
    fn period_start(&self, now: SimTime, period: SimDuration) -> i64 {
        let since = cutoff(now, period);
        let changed: i64 = self.changes.iter().filter(|&&(t, _)| after(t, since)).map(|&(_, d)| d).sum();
        i64::from(self.replicas) - changed
    }

    fn up_limit(&self, now: SimTime) -> i64 {
        let rules = &self.config.scale_up;
        let proposals = rules.policies.iter().map(|p| {
            let start = self.period_start(now, p.period);
            match p.kind {
                PolicyKind::Pods => start + i64::from(p.value),
                // Rounded up, or a small count could never grow.
                PolicyKind::Percent => (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64,
            }
        });
        match rules.select {
            SelectPolicy::Disabled => i64::from(self.replicas),
            SelectPolicy::Max => proposals.max().unwrap_or(i64::from(self.replicas)),
            SelectPolicy::Min => proposals.min().unwrap_or(i64::from(self.replicas)),
        }
    }

    fn down_limit(&self, now: SimTime) -> i64 {
        let rules = &self.config.scale_down;
        let proposals = rules.policies.iter().map(|p| {
            let start = self.period_start(now, p.period);
            match p.kind {
                PolicyKind::Pods => start - i64::from(p.value),
                // Truncated, as Kubernetes' int32 conversion.
                PolicyKind::Percent => (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64,
            }
        });
        // For scaling down the largest change is the lowest count.
        match rules.select {
            SelectPolicy::Disabled => i64::from(self.replicas),
            SelectPolicy::Max => proposals.min().unwrap_or(i64::from(self.replicas)),
            SelectPolicy::Min => proposals.max().unwrap_or(i64::from(self.replicas)),
        }
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() { f64::NAN } else { xs.iter().sum::<f64>() / xs.len() as f64 }
}

/// `ceil`, guarded against floating-point dust (0.6 / 0.6 * 3 is 3, not 3.0000000000000004
/// rounded up to 4) and clamped to `u32`.
fn ceil_u32(x: f64) -> u32 {
    let r = x.round();
    let x = if (x - r).abs() < 1e-9 { r } else { x.ceil() };
    x.clamp(0.0, f64::from(u32::MAX)) as u32
}

/// `now - window`, or `None` when the window reaches before time zero (everything is in it).
fn cutoff(now: SimTime, window: SimDuration) -> Option<SimTime> {
    now.0.checked_sub(window.as_nanos()).map(SimTime)
}

/// Whether `t` is strictly after the cutoff (Go's `After`).
fn after(t: SimTime, cutoff: Option<SimTime>) -> bool {
    cutoff.is_none_or(|c| t > c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(x)
    }

    fn config() -> AutoscalerConfig {
        AutoscalerConfig {
            metric: Metric::Utilization,
            target: 0.6,
            min_replicas: 2,
            max_replicas: 20,
            interval: SimDuration::from_secs(15),
            tolerance: 0.1,
            scale_up: ScalingRules::default_up(),
            scale_down: ScalingRules::default_down(),
        }
    }

    fn ready(values: &[f64]) -> Metrics {
        Metrics { ready: values.to_vec(), unready: 0, missing: 0 }
    }

    #[test]
    fn desired_is_ceil_of_ready_pods_times_ratio() {
        let mut a = Autoscaler::new(config(), 3);
        // Mean 0.9 over target 0.6: ratio 1.5, 3 pods -> ceil(4.5) = 5.
        let d = a.evaluate(s(15), &ready(&[0.9, 0.9, 0.9]));
        assert_eq!((d.from, d.to, d.recommended, d.reason), (3, 5, 5, Reason::Recommended));
        assert!((d.metric - 0.9).abs() < 1e-12);
        assert_eq!(a.replicas(), 5);
        // Exactly on target: 3 stays 3 (no floating-point dust rounding up).
        let mut a = Autoscaler::new(config(), 3);
        assert_eq!(a.evaluate(s(15), &ready(&[0.6, 0.6, 0.6])).to, 3);
    }

    #[test]
    fn tolerance_holds_small_deviations_and_not_larger_ones() {
        // Ratio 1.083 (0.65 / 0.6) is within a 10 % tolerance.
        let mut a = Autoscaler::new(config(), 4);
        let d = a.evaluate(s(15), &ready(&[0.65; 4]));
        assert_eq!((d.to, d.reason), (4, Reason::WithinTolerance));
        // Ratio 1.15: 4 * 1.15 = 4.6 -> 5.
        let mut a = Autoscaler::new(config(), 4);
        let d = a.evaluate(s(15), &ready(&[0.69; 4]));
        assert_eq!((d.to, d.reason), (5, Reason::Recommended));
        // A tolerance of 0 reacts to the same 1.083: ceil(4.33) = 5.
        let mut c = config();
        c.tolerance = 0.0;
        let mut a = Autoscaler::new(c, 4);
        assert_eq!(a.evaluate(s(15), &ready(&[0.65; 4])).to, 5);
    }

    #[test]
    fn unready_pods_count_as_idle_when_scaling_up() {
        // 2 ready pods at 90 % (ratio 1.5) and 2 starting: recount over 4 pods at a mean
        // of 45 %: ratio 0.75 reverses the direction, so no change.
        let mut a = Autoscaler::new(config(), 4);
        let d = a.evaluate(s(15), &Metrics { ready: vec![0.9, 0.9], unready: 2, missing: 0 });
        assert_eq!((d.to, d.reason), (4, Reason::WithinTolerance));
        // 2 at 100 % with one starting: mean over 3 = 0.667, ratio 1.11 -> ceil(3.33) = 4,
        // where the ready pods alone would ask for ceil(1.67 * 2) = 4 as well, and with 2
        // starting (mean 0.5) nothing at all.
        let mut a = Autoscaler::new(config(), 3);
        let d = a.evaluate(s(15), &Metrics { ready: vec![1.0, 1.0], unready: 1, missing: 0 });
        assert_eq!(d.to, 4);
        let mut a = Autoscaler::new(config(), 4);
        let d = a.evaluate(s(15), &Metrics { ready: vec![1.0, 1.0], unready: 2, missing: 0 });
        assert_eq!(d.to, 4);
        // 3 ready at 100 % and 1 starting: 3 / 4 / 0.6 = 1.25 -> ceil(1.25 * 4) = 5.
        let mut a = Autoscaler::new(config(), 4);
        let d = a.evaluate(s(15), &Metrics { ready: vec![1.0; 3], unready: 1, missing: 0 });
        assert_eq!((d.to, d.reason), (5, Reason::Recommended));
        // Unready pods are simply left out when scaling down: 2 ready at 30 % -> ceil(0.5 * 2) = 1,
        // then the minimum (2) holds.
        let mut c = config();
        c.scale_down.stabilization_window = SimDuration::ZERO;
        let mut a = Autoscaler::new(c, 4);
        let d = a.evaluate(s(15), &Metrics { ready: vec![0.3, 0.3], unready: 2, missing: 0 });
        assert_eq!((d.to, d.recommended, d.reason), (2, 1, Reason::MinReplicas));
    }

    #[test]
    fn missing_metrics_count_as_target_down_and_zero_up() {
        let mut c = config();
        c.scale_down.stabilization_window = SimDuration::ZERO;
        c.min_replicas = 1;
        // Scaling down: 2 ready at 15 % and 2 missing assumed at 60 %: mean 0.375, ratio
        // 0.625 -> ceil(0.625 * 4) = 3.
        let mut a = Autoscaler::new(c.clone(), 4);
        let d = a.evaluate(s(15), &Metrics { ready: vec![0.15, 0.15], unready: 0, missing: 2 });
        assert_eq!(d.to, 3);
        // Scaling up: 2 ready at 120 % and 2 missing at 0: mean 0.6, on target: no change.
        let mut a = Autoscaler::new(c, 4);
        let d = a.evaluate(s(15), &Metrics { ready: vec![1.2, 1.2], unready: 0, missing: 2 });
        assert_eq!((d.to, d.reason), (4, Reason::WithinTolerance));
    }

    #[test]
    fn no_ready_pod_means_no_decision() {
        let mut a = Autoscaler::new(config(), 3);
        let d = a.evaluate(s(15), &Metrics { ready: vec![], unready: 3, missing: 0 });
        assert_eq!((d.to, d.reason), (3, Reason::NoMetrics));
        assert!(d.metric.is_nan());
    }

    #[test]
    fn scale_down_waits_for_the_stabilization_window() {
        // Default 300 s window, evaluations every 15 s. At 15 s the load is high (6 pods
        // recommended), then idle from 30 s on (recommendation ceil(6 * 0.05 / 0.6) = 1).
        let mut a = Autoscaler::new(config(), 4);
        assert_eq!(a.evaluate(s(15), &ready(&[0.9; 4])).to, 6);
        for t in (30..=300).step_by(15) {
            let d = a.evaluate(s(t), &ready(&[0.05; 6]));
            assert_eq!((d.to, d.recommended, d.reason), (6, 1, Reason::Stabilized), "at {t} s");
        }
        // At 315 s the window is (15 s, 315 s]: the high sample of 15 s has left it.
        let d = a.evaluate(s(315), &ready(&[0.05; 6]));
        assert_eq!((d.from, d.to, d.reason), (6, 2, Reason::MinReplicas));
    }

    #[test]
    fn scale_down_window_boundary_is_exclusive() {
        let mut c = config();
        c.scale_down.stabilization_window = SimDuration::from_secs(30);
        let mut a = Autoscaler::new(c, 4);
        assert_eq!(a.evaluate(s(15), &ready(&[0.6; 4])).to, 4);
        // At 30 s the recommendation of 15 s (4) is inside (0, 30].
        assert_eq!(a.evaluate(s(30), &ready(&[0.1; 4])).to, 4);
        // At 45 s: window (15, 45], the sample at 15 s is out, 30 s says 1 -> 2 (min).
        let d = a.evaluate(s(45), &ready(&[0.1; 4]));
        assert_eq!((d.to, d.reason), (2, Reason::MinReplicas));
    }

    #[test]
    fn scale_up_window_takes_the_lowest_recommendation() {
        let mut c = config();
        c.scale_up.stabilization_window = SimDuration::from_secs(60);
        let mut a = Autoscaler::new(c, 2);
        // First sample: the window holds only itself.
        assert_eq!(a.evaluate(s(15), &ready(&[0.6; 2])).to, 2);
        // A burst: recommendation 4, but the lowest in the window is 2.
        let d = a.evaluate(s(30), &ready(&[1.2; 2]));
        assert_eq!((d.to, d.recommended, d.reason), (2, 4, Reason::Stabilized));
        assert_eq!(a.evaluate(s(60), &ready(&[1.2; 2])).to, 2);
        // At 75 s the sample of 15 s has left the window (60, 75]... (15 is not after 15).
        let d = a.evaluate(s(75), &ready(&[1.2; 2]));
        assert_eq!(d.to, 4);
    }

    #[test]
    fn policies_limit_the_step_per_period() {
        // Default scale-up: max(100 %, 4 pods) per 15 s. From 2 pods at 500 %, the
        // recommendation is ceil(2 * 5 / 0.6) = 17; 100 % of 2 is 4, 2 + 4 pods is 6: 6.
        let mut a = Autoscaler::new(config(), 2);
        let d = a.evaluate(s(15), &ready(&[5.0; 2]));
        assert_eq!((d.to, d.recommended, d.reason), (6, 17, Reason::RateLimited));
        // 15 s later the earlier change is outside (now - 15 s, now]: from 6, 100 % gives 12.
        let d = a.evaluate(s(30), &ready(&[5.0; 6]));
        assert_eq!((d.from, d.to, d.reason), (6, 12, Reason::RateLimited));
        // Then the maximum (20) bounds it.
        let d = a.evaluate(s(45), &ready(&[5.0; 12]));
        assert_eq!((d.to, d.reason), (20, Reason::MaxReplicas));
    }

    #[test]
    fn a_longer_period_counts_earlier_changes() {
        let mut c = config();
        c.scale_up.policies =
            vec![ScalingPolicy { kind: PolicyKind::Pods, value: 2, period: SimDuration::from_secs(60) }];
        c.scale_up.select = SelectPolicy::Max;
        let mut a = Autoscaler::new(c, 2);
        assert_eq!(a.evaluate(s(15), &ready(&[1.2; 2])).to, 4);
        // Within 60 s of the first change, the period started at 2: at most 4.
        let d = a.evaluate(s(30), &ready(&[1.2; 4]));
        assert_eq!((d.to, d.reason), (4, Reason::RateLimited));
        assert_eq!(a.evaluate(s(60), &ready(&[1.2; 4])).to, 4);
        // At 75 s the change at 15 s is out of (15, 75]: from 4, up to 6.
        assert_eq!(a.evaluate(s(75), &ready(&[1.2; 4])).to, 6);
    }

    #[test]
    fn select_min_and_disabled() {
        let mut c = config();
        c.scale_up.select = SelectPolicy::Min;
        // From 10 pods: 100 % allows 20, 4 pods allows 14; Min takes 14.
        let mut a = Autoscaler::new(c.clone(), 10);
        assert_eq!(a.evaluate(s(15), &ready(&[1.2; 10])).to, 14);
        c.scale_up.select = SelectPolicy::Disabled;
        let mut a = Autoscaler::new(c, 10);
        let d = a.evaluate(s(15), &ready(&[1.2; 10]));
        assert_eq!((d.to, d.reason), (10, Reason::RateLimited));
    }

    #[test]
    fn percent_scale_down_truncates() {
        let mut c = config();
        c.scale_down.stabilization_window = SimDuration::ZERO;
        c.scale_down.policies =
            vec![ScalingPolicy { kind: PolicyKind::Percent, value: 50, period: SimDuration::from_secs(15) }];
        c.min_replicas = 1;
        // From 5, 50 % down allows int(2.5) = 2.
        let mut a = Autoscaler::new(c, 5);
        let d = a.evaluate(s(15), &ready(&[0.01; 5]));
        assert_eq!((d.to, d.recommended, d.reason), (2, 1, Reason::RateLimited));
    }

    #[test]
    fn out_of_range_counts_are_clamped_without_metrics() {
        let mut a = Autoscaler::new(config(), 1);
        let d = a.evaluate(s(15), &Metrics::default());
        assert_eq!((d.from, d.to, d.reason), (1, 2, Reason::MinReplicas));
        let mut a = Autoscaler::new(config(), 30);
        let d = a.evaluate(s(15), &Metrics::default());
        assert_eq!((d.to, d.reason), (20, Reason::MaxReplicas));
        // A count set from outside is where the next evaluation starts.
        a.set_replicas(7);
        assert_eq!(a.evaluate(s(30), &ready(&[0.6; 7])).from, 7);
    }

    #[test]
    fn queue_metric_uses_requests_per_pod() {
        let mut c = config();
        c.metric = Metric::Queue;
        c.target = 5.0;
        let mut a = Autoscaler::new(c, 2);
        // 12.5 queued per pod over a target of 5: ratio 2.5 -> ceil(5) = 5.
        let d = a.evaluate(s(15), &ready(&[10.0, 15.0]));
        assert_eq!((d.to, d.metric), (5, 12.5));
    }

    #[test]
    fn recommendations_and_changes_stay_bounded() {
        let mut a = Autoscaler::new(config(), 4);
        for k in 1..=10_000u64 {
            let load = if k % 2 == 0 { 0.9 } else { 0.3 };
            a.evaluate(s(15 * k), &ready(&vec![load; a.replicas() as usize]));
        }
        // 300 s / 15 s = 20 samples in the longest window, 1 change in the 15 s periods.
        assert!(a.recommendations.len() <= 21, "{}", a.recommendations.len());
        assert!(a.changes.len() <= 2, "{}", a.changes.len());
    }
}
