//! Progressive delivery as Flagger does it: a canary analysis run on a fixed interval,
//! which shifts traffic to a new version step by step (canary) or at once after a
//! number of iterations (blue-green, A/B testing), checks the new version's metrics at
//! every step, rolls back once too many checks failed, and promotes it when done.
//!
//! `Rollout::tick` is one run of Flagger's scheduler (`advanceCanary` in
//! fluxcd/flagger pkg/controller/scheduler.go) with the same order of decisions:
//!
//! 1. A new revision is detected: phase Progressing, nothing else (the first tick).
//! 2. Phase Promoting: route all traffic to the primary, phase Finalising.
//! 3. Phase Finalising: scale the canary down, phase Succeeded.
//! 4. Failed checks at the threshold: roll back (all traffic to the primary), Failed.
//! 5. With no traffic routed or mirrored to the canary yet (weight 0, iteration 0):
//!    "Starting canary analysis", no checks. Otherwise the checks run, each metric in
//!    order; the first that fails, or that has no data ("no values found": the canary
//!    gets no traffic), counts one failed check and the tick ends. Failed checks are
//!    never reset during an analysis, so they need not be consecutive.
//! 6. The strategy advances: A/B testing (blue-green with `match`) routes the matching
//!    requests to the canary and counts iterations; blue-green counts iterations (with
//!    mirroring from the first), then routes all traffic to the canary, then promotes;
//!    canary adds the next step weight, and once the weight is at `maxWeight`, promotes.
//!    Promoting copies the canary's spec to the primary: from then on the primary runs
//!    the new version (the loop switches the primary's instances to the canary's
//!    behaviour).
//!
//! meshsim's simplifications: the first tick is at the rollout's `start` (Flagger notices
//! a new revision on its next tick, within one interval); deployments are ready at once
//! (no waiting for the canary to scale up or the primary to roll out); no webhooks,
//! custom metrics or `stepWeightPromotion`; the canary keeps its instances after the
//! analysis, unused unless a routing rule names its subset.

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::rollout::{MetricCheck, MetricKind, RolloutSpec, Strategy};
use crate::time::{SimDuration, SimTime};
use std::collections::VecDeque;

impl RolloutSpec {
    /// Flagger's `maxWeight`: the last step weight, or `maxWeight` (100 by default).
    pub fn max_weight(&self) -> u32 {
        self.step_weights.last().copied().unwrap_or(self.max_weight)
    }

    /// Flagger's `nextStepWeight`: `stepWeight`, or the step from the current weight to
    /// the next in `stepWeights` (the first if the current one is not listed; to 100
    /// after the last).
    pub fn next_step_weight(&self, canary_weight: u32) -> u32 {
        if self.step_weight > 0 || self.step_weights.is_empty() {
            return self.step_weight;
        }
        let n = self.step_weights.len();
        for i in (0..n).rev() {
            if self.step_weights[i] == canary_weight {
                return if i + 1 >= n {
                    TOTAL_WEIGHT - canary_weight
                } else {
                    self.step_weights[i + 1].saturating_sub(canary_weight)
                };
            }
        }
        self.step_weights[0]
    }
}

pub const TOTAL_WEIGHT: u32 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Initialized,
    Progressing,
    Promoting,
    Finalising,
    Succeeded,
    Failed,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Initialized => "initialized",
            Phase::Progressing => "progressing",
            Phase::Promoting => "promoting",
            Phase::Finalising => "finalising",
            Phase::Succeeded => "succeeded",
            Phase::Failed => "failed",
        }
    }
}

/// The routes the rollout sets on its service: primary and canary weights, and whether
/// requests are mirrored to the canary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Routes {
    pub primary: u32,
    pub canary: u32,
    pub mirror: bool,
}

/// What one tick did.
#[derive(Clone, Debug, Default)]
pub struct Tick {
    /// Flagger's events, in order.
    pub events: Vec<String>,
    /// Whether the checks ran, and if so whether they all passed.
    pub analysed: Option<bool>,
    /// The value of each metric measured this tick (`None`: not reached, or no data).
    pub values: Vec<Option<f64>>,
    /// The primary takes the canary's spec (promotion).
    pub promote_spec: bool,
}

/// The state of one canary analysis.
#[derive(Clone, Debug)]
pub struct Rollout {
    pub phase: Phase,
    pub routes: Routes,
    pub failed_checks: u32,
    pub iterations: u32,
    /// The latest failed check, as "metric value vs threshold".
    pub last_failure: Option<String>,
}

impl Default for Rollout {
    fn default() -> Self {
        Rollout {
            phase: Phase::Initialized,
            routes: Routes { primary: TOTAL_WEIGHT, canary: 0, mirror: false },
            failed_checks: 0,
            iterations: 0,
            last_failure: None,
        }
    }
}

impl Rollout {
    /// Whether the analysis is over (promoted or rolled back).
    pub fn done(&self) -> bool {
        matches!(self.phase, Phase::Succeeded | Phase::Failed)
    }

    /// One scheduler run. `measure` gives a metric's value over its interval back from
    /// now, or `None` when it has no data.
    pub fn tick(&mut self, spec: &RolloutSpec, mut measure: impl FnMut(&MetricCheck) -> Option<f64>) -> Tick {
        let mut t = Tick { values: vec![None; spec.metrics.len()], ..Tick::default() };
        match self.phase {
            Phase::Succeeded | Phase::Failed => return t,
            Phase::Initialized => {
                self.phase = Phase::Progressing;
                t.events.push("New revision detected! Scaling up".into());
                return t;
            }
            Phase::Promoting => {
                self.routes = Routes { primary: TOTAL_WEIGHT, canary: 0, mirror: false };
                self.phase = Phase::Finalising;
                t.events.push("Routing all traffic to primary".into());
                return t;
            }
            Phase::Finalising => {
                self.phase = Phase::Succeeded;
                t.events.push("Promotion completed! Scaling down".into());
                return t;
            }
            Phase::Progressing => {}
        }
        if self.failed_checks >= spec.threshold {
            t.events.push(format!("Rolling back failed checks threshold reached {}", self.failed_checks));
            t.events.push("Canary failed! Scaling down".into());
            self.routes = Routes { primary: TOTAL_WEIGHT, canary: 0, mirror: false };
            self.phase = Phase::Failed;
            return t;
        }
        if self.routes.canary == 0 && self.iterations == 0 && !(spec.mirror && self.routes.mirror) {
            t.events.push("Starting canary analysis".into());
        } else {
            let mut ok = true;
            for (i, m) in spec.metrics.iter().enumerate() {
                let value = measure(m);
                t.values[i] = value;
                if let Some(why) = failure(m, value) {
                    t.events.push(format!("Halt advancement {why}"));
                    self.last_failure = Some(why);
                    ok = false;
                    break;
                }
            }
            t.analysed = Some(ok);
            if !ok {
                self.failed_checks += 1;
                return t;
            }
        }
        match spec.strategy {
            Strategy::BlueGreen if !spec.ab_match.is_empty() => self.run_ab(spec, &mut t),
            Strategy::BlueGreen => self.run_blue_green(spec, &mut t),
            Strategy::Canary => {
                if spec.next_step_weight(self.routes.canary) > 0 {
                    self.run_canary(spec, &mut t);
                }
            }
        }
        t
    }

    fn promote(&mut self, t: &mut Tick) {
        t.events.push("Copying canary spec to primary".into());
        t.promote_spec = true;
        self.phase = Phase::Promoting;
    }

    fn run_canary(&mut self, spec: &RolloutSpec, t: &mut Tick) {
        let max = spec.max_weight();
        let mut r = self.routes;
        if r.canary < max {
            let next = spec.next_step_weight(r.canary);
            if spec.mirror && r.canary == 0 {
                // One mirror step before shifting traffic.
                if r.mirror {
                    r = Routes {
                        primary: TOTAL_WEIGHT - next.min(TOTAL_WEIGHT),
                        canary: next.min(TOTAL_WEIGHT),
                        mirror: false,
                    };
                } else {
                    r = Routes { primary: TOTAL_WEIGHT, canary: 0, mirror: true };
                }
            } else {
                r.primary = r.primary.saturating_sub(next);
                r.canary = (r.canary + next).min(TOTAL_WEIGHT);
            }
            self.routes = r;
            t.events.push(if r.mirror {
                "Running mirror step".to_string()
            } else {
                format!("Advance canary weight {}", r.canary)
            });
            return;
        }
        self.promote(t);
    }

    fn run_blue_green(&mut self, spec: &RolloutSpec, t: &mut Tick) {
        if spec.iterations > self.iterations {
            if spec.mirror && !self.routes.mirror {
                self.routes = Routes { primary: TOTAL_WEIGHT, canary: 0, mirror: true };
                t.events.push("Start traffic mirroring".into());
            }
            self.iterations += 1;
            t.events.push(format!("Advance canary iteration {}/{}", self.iterations, spec.iterations));
            return;
        }
        if spec.iterations == self.iterations {
            t.events.push(if spec.mirror {
                "Stop traffic mirroring and route all traffic to canary".to_string()
            } else {
                "Routing all traffic to canary".to_string()
            });
            self.routes = Routes { primary: 0, canary: TOTAL_WEIGHT, mirror: false };
            self.iterations += 1;
            return;
        }
        self.promote(t);
    }

    fn run_ab(&mut self, spec: &RolloutSpec, t: &mut Tick) {
        if spec.iterations > self.iterations {
            // Only the requests that match go by these weights (see `RolloutSpec::ab_match`).
            self.routes = Routes { primary: 0, canary: TOTAL_WEIGHT, mirror: false };
            self.iterations += 1;
            t.events.push(format!("Advance canary iteration {}/{}", self.iterations, spec.iterations));
            return;
        }
        self.promote(t);
    }
}

/// One analysis tick as `rollout.csv` shows it.
#[derive(Clone, Debug)]
pub struct StepRecord {
    pub at: SimTime,
    pub phase: Phase,
    pub routes: Routes,
    /// Percent of requests mirrored to the canary (0 when not mirroring).
    pub mirror_share: u32,
    pub failed_checks: u32,
    /// Whether the checks ran this tick, and passed.
    pub analysed: Option<bool>,
    /// The canary's success rate (percent) and latency percentile (ms) over the first
    /// metrics of those kinds' intervals, measured at the tick whether checked or not.
    pub success_rate: Option<f64>,
    pub latency_ms: Option<f64>,
    /// The tick's events, joined by "; ".
    pub events: String,
}

/// What users met on the canary: answers its instances gave to live (not mirrored)
/// requests, the failed ones and the distinct users (client ids) who got one; and the
/// mirrored copies it served.
#[derive(Clone, Debug, Default)]
pub struct Impact {
    pub canary_requests: u64,
    pub canary_failed: u64,
    pub users_with_errors: u64,
    pub mirrored_requests: u64,
    pub mirrored_failed: u64,
}

/// A rollout's history and outcome.
#[derive(Clone, Debug)]
pub struct RolloutRecord {
    pub steps: Vec<StepRecord>,
    /// The phase at the end of the run.
    pub phase: Phase,
    /// When Flagger decided: the spec copied to the primary, or the rollback.
    pub decided_at: Option<SimTime>,
    /// When the promotion completed (phase Succeeded).
    pub completed_at: Option<SimTime>,
    /// Why it rolled back: the last failed check.
    pub reason: Option<String>,
    pub max_canary_weight: u32,
    pub impact: Impact,
}

impl RolloutRecord {
    /// "promoted", "rolled-back" or "in-progress".
    pub fn outcome(&self) -> &'static str {
        match self.phase {
            Phase::Succeeded | Phase::Promoting | Phase::Finalising => "promoted",
            Phase::Failed => "rolled-back",
            _ => "in-progress",
        }
    }
}

/// Why a metric fails its check, or `None` if it passes.
fn failure(m: &MetricCheck, value: Option<f64>) -> Option<String> {
    let Some(v) = value else {
        return Some(format!("no values found for metric {} (the canary is not receiving traffic)", m.name));
    };
    let (unit, shown) = match m.kind {
        MetricKind::SuccessRate => ("%", format!("{v:.2}")),
        MetricKind::Duration { .. } => ("ms", format!("{v:.1}")),
    };
    if let Some(min) = m.min.filter(|&min| v < min) {
        return Some(format!("{} {shown}{unit} < {min}{unit}", m.name));
    }
    if let Some(max) = m.max.filter(|&max| v > max) {
        return Some(format!("{} {shown}{unit} > {max}{unit}", m.name));
    }
    None
}

/// Istio's default buckets of `istio_request_duration_milliseconds`, in milliseconds.
pub const ISTIO_BUCKETS_MS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0, 300000.0,
    600000.0, 1800000.0, 3600000.0,
];

/// The canary workload's answers at the destination, kept for the longest metric
/// interval: when, how long the server side took, and whether it was a success.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    q: VecDeque<(SimTime, SimDuration, bool)>,
}

impl Samples {
    pub fn push(&mut self, at: SimTime, took: SimDuration, ok: bool) {
        self.q.push_back((at, took, ok));
    }

    /// Forgets answers at or before `t`.
    pub fn forget_until(&mut self, t: SimTime) {
        while self.q.front().is_some_and(|&(at, _, _)| at <= t) {
            self.q.pop_front();
        }
    }

    fn window(&self, now: SimTime, interval: SimDuration) -> impl Iterator<Item = &(SimTime, SimDuration, bool)> {
        let from = SimTime(now.0.saturating_sub(interval.as_nanos()));
        self.q.iter().filter(move |&&(at, _, _)| at > from && at <= now)
    }

    /// The metric over (now - interval, now], or `None` without answers.
    pub fn measure(&self, m: &MetricCheck, now: SimTime) -> Option<f64> {
        match m.kind {
            MetricKind::SuccessRate => {
                let (mut n, mut ok) = (0u64, 0u64);
                for &(_, _, good) in self.window(now, m.interval) {
                    n += 1;
                    ok += u64::from(good);
                }
                (n > 0).then(|| 100.0 * ok as f64 / n as f64)
            }
            MetricKind::Duration { percentile } => {
                let mut counts = [0u64; ISTIO_BUCKETS_MS.len() + 1];
                for &(_, took, _) in self.window(now, m.interval) {
                    let ms = took.as_nanos() as f64 / 1e6;
                    let b = ISTIO_BUCKETS_MS.iter().position(|&le| ms <= le).unwrap_or(ISTIO_BUCKETS_MS.len());
                    counts[b] += 1;
                }
                histogram_quantile(percentile / 100.0, &counts)
            }
        }
    }
}

/// Prometheus's `histogram_quantile` over Istio's buckets (`counts` per bucket, the
/// last one +Inf): linear interpolation within the bucket holding the rank, the first
/// bucket starting at 0, and a rank in +Inf giving the highest finite bound.
pub fn histogram_quantile(q: f64, counts: &[u64; ISTIO_BUCKETS_MS.len() + 1]) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut cum = 0u64;
    for (b, &c) in counts.iter().enumerate() {
        let before = cum;
        cum += c;
        if cum as f64 >= rank && c > 0 {
            if b == ISTIO_BUCKETS_MS.len() {
                return Some(ISTIO_BUCKETS_MS[b - 1]);
            }
            let lower = if b == 0 { 0.0 } else { ISTIO_BUCKETS_MS[b - 1] };
            let upper = ISTIO_BUCKETS_MS[b];
            return Some(lower + (upper - lower) * (rank - before as f64) / c as f64);
        }
    }
    Some(ISTIO_BUCKETS_MS[ISTIO_BUCKETS_MS.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ServiceId;

    fn spec(strategy: Strategy) -> RolloutSpec {
        RolloutSpec {
            service: ServiceId(0),
            primary: 0,
            canary: 1,
            start: SimTime::ZERO + SimDuration::from_secs(60),
            strategy,
            interval: SimDuration::from_secs(30),
            threshold: 2,
            step_weight: 10,
            step_weights: Vec::new(),
            max_weight: 30,
            iterations: 3,
            mirror: false,
            mirror_weight: 100,
            ab_match: Vec::new(),
            metrics: vec![
                MetricCheck {
                    name: "request-success-rate".into(),
                    kind: MetricKind::SuccessRate,
                    min: Some(99.0),
                    max: None,
                    interval: SimDuration::from_secs(60),
                },
                MetricCheck {
                    name: "request-duration".into(),
                    kind: MetricKind::Duration { percentile: 99.0 },
                    min: None,
                    max: Some(500.0),
                    interval: SimDuration::from_secs(30),
                },
            ],
        }
    }

    /// Runs ticks with fixed metric values; returns (phase, canary weight, mirror) after each.
    fn run(spec: &RolloutSpec, values: &[Option<f64>], ticks: usize) -> Vec<(Phase, u32, bool)> {
        let mut r = Rollout::default();
        (0..ticks)
            .map(|_| {
                let mut i = 0;
                r.tick(spec, |_| {
                    i += 1;
                    values[i - 1]
                });
                (r.phase, r.routes.canary, r.routes.mirror)
            })
            .collect()
    }

    #[test]
    fn a_good_canary_steps_to_max_weight_then_promotes() {
        let s = spec(Strategy::Canary);
        let good = [Some(100.0), Some(20.0)];
        let p = Phase::Progressing;
        assert_eq!(
            run(&s, &good, 8),
            vec![
                (p, 0, false),
                (p, 10, false),
                (p, 20, false),
                (p, 30, false),
                (Phase::Promoting, 30, false),
                (Phase::Finalising, 0, false),
                (Phase::Succeeded, 0, false),
                (Phase::Succeeded, 0, false),
            ]
        );
    }

    #[test]
    fn a_bad_canary_rolls_back_at_the_tick_after_threshold_failures() {
        let s = spec(Strategy::Canary);
        let bad = [Some(50.0), Some(20.0)];
        let mut r = Rollout::default();
        let mut phases = Vec::new();
        for _ in 0..5 {
            let t = r.tick(&s, |m| if m.kind == MetricKind::SuccessRate { bad[0] } else { bad[1] });
            phases.push((r.phase, r.routes.canary, r.failed_checks, t.analysed));
        }
        let p = Phase::Progressing;
        assert_eq!(
            phases,
            vec![
                (p, 0, 0, None),
                (p, 10, 0, None),
                (p, 10, 1, Some(false)),
                (p, 10, 2, Some(false)),
                (Phase::Failed, 0, 2, None),
            ]
        );
        assert_eq!(r.last_failure.as_deref(), Some("request-success-rate 50.00% < 99%"));
    }

    #[test]
    fn failed_checks_accumulate_across_good_steps_and_no_data_fails() {
        let mut s = spec(Strategy::Canary);
        s.max_weight = 100;
        s.threshold = 2;
        let mut r = Rollout::default();
        // From tick 2 on: no data (fail 1), good (advance), no data (fail 2), then the rollback.
        let script = [None, Some(100.0), None, Some(100.0)];
        let mut weights = Vec::new();
        for tick in 0..6 {
            let v = if tick >= 2 { script[tick - 2] } else { None };
            r.tick(&s, |m| if m.kind == MetricKind::SuccessRate { v } else { Some(1.0) });
            weights.push((r.routes.canary, r.failed_checks));
        }
        assert_eq!(weights, [(0, 0), (10, 0), (10, 1), (20, 1), (20, 2), (0, 2)]);
        assert_eq!(r.phase, Phase::Failed);
        assert!(r.last_failure.unwrap().starts_with("no values found"));
    }

    #[test]
    fn step_weights_follow_the_list_and_promote_after_the_last() {
        let mut s = spec(Strategy::Canary);
        s.step_weight = 0;
        s.step_weights = vec![5, 25, 60];
        assert_eq!(s.max_weight(), 60);
        assert_eq!(s.next_step_weight(0), 5);
        assert_eq!(s.next_step_weight(5), 20);
        assert_eq!(s.next_step_weight(60), 40);
        let w: Vec<u32> = run(&s, &[Some(100.0), Some(1.0)], 6).iter().map(|x| x.1).collect();
        assert_eq!(w, vec![0, 5, 25, 60, 60, 0]);
    }

    #[test]
    fn a_canary_with_mirror_mirrors_one_step_first() {
        let mut s = spec(Strategy::Canary);
        s.mirror = true;
        let r = run(&s, &[Some(100.0), Some(1.0)], 4);
        assert_eq!(r[1], (Phase::Progressing, 0, true));
        assert_eq!(r[2], (Phase::Progressing, 10, false));
    }

    #[test]
    fn blue_green_mirrors_for_its_iterations_then_switches_at_once() {
        let mut s = spec(Strategy::BlueGreen);
        s.mirror = true;
        let p = Phase::Progressing;
        assert_eq!(
            run(&s, &[Some(100.0), Some(1.0)], 9),
            vec![
                (p, 0, false),
                (p, 0, true),
                (p, 0, true),
                (p, 0, true),
                (p, 100, false),
                (Phase::Promoting, 100, false),
                (Phase::Finalising, 0, false),
                (Phase::Succeeded, 0, false),
                (Phase::Succeeded, 0, false),
            ]
        );
        // Without mirroring the canary gets no traffic: its checks find no data.
        s.mirror = false;
        let r = run(&s, &[None, None], 5);
        assert_eq!(r[4].0, Phase::Failed);
    }

    #[test]
    fn ab_testing_sends_matching_requests_for_its_iterations() {
        let mut s = spec(Strategy::BlueGreen);
        s.ab_match = vec![crate::traffic::Match::default()];
        s.iterations = 2;
        let r = run(&s, &[Some(100.0), Some(1.0)], 6);
        assert_eq!(r[1].1, 100);
        assert_eq!(r[3].0, Phase::Promoting);
        assert_eq!(r[5].0, Phase::Succeeded);
    }

    #[test]
    fn samples_measure_over_their_interval() {
        let mut s = Samples::default();
        let at = |secs: u64| SimTime::ZERO + SimDuration::from_secs(secs);
        for k in 1..=100u64 {
            s.push(at(k), SimDuration::from_millis(k), k % 10 != 0);
        }
        let m = spec(Strategy::Canary).metrics;
        // The last 60 s: answers 41..=100, six of them errors.
        assert_eq!(s.measure(&m[0], at(100)), Some(90.0));
        // p99 of 71..=100 ms: rank 29.7 of 30, all in the (50, 100] bucket.
        let p99 = s.measure(&m[1], at(100)).unwrap();
        assert!((p99 - (50.0 + 50.0 * 29.7 / 30.0)).abs() < 1e-9, "{p99}");
        s.forget_until(at(100));
        assert_eq!(s.measure(&m[0], at(100)), None);
    }

    #[test]
    fn histogram_quantile_interpolates_like_prometheus() {
        let mut c = [0u64; ISTIO_BUCKETS_MS.len() + 1];
        c[0] = 10; // (0, 0.5]
        assert_eq!(histogram_quantile(0.5, &c), Some(0.25));
        c[ISTIO_BUCKETS_MS.len()] = 90;
        assert_eq!(histogram_quantile(0.99, &c), Some(3600000.0));
        assert_eq!(histogram_quantile(0.5, &[0; ISTIO_BUCKETS_MS.len() + 1]), None);
    }
}
