//! What a run is judged by: service-level objectives, alerting rules and user invariants,
//! as validated data. Their grammar and their evaluation are in `slo`, `alert` and
//! `invariant`.

use crate::ids::RouteId;
use crate::time::SimDuration;

/// What an SLO measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SloMetric {
    /// Requests answered ok, as a fraction (0 to 1).
    Availability,
    /// Requests that failed, as a fraction (0 to 1).
    ErrorRate,
    /// A latency quantile (0 to 1), in milliseconds.
    Quantile(f64),
    /// Mean latency, in milliseconds.
    Mean,
    /// Longest latency, in milliseconds.
    Max,
}

/// `<` or `>`: the measured value must be strictly below or above the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Below,
    Above,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    /// As written, for reports.
    pub text: String,
    /// `None`: all requests at the gateway.
    pub route: Option<RouteId>,
    pub metric: SloMetric,
    pub op: Op,
    /// A fraction for availability and error rate, milliseconds for latencies.
    pub threshold: f64,
    /// The longest a recovery may take after a fault ends.
    pub recovery_within: Option<SimDuration>,
}

impl Slo {
    /// Whether a measured value meets the objective.
    pub fn holds(&self, value: f64) -> bool {
        match self.op {
            Op::Below => value < self.threshold,
            Op::Above => value > self.threshold,
        }
    }

    /// The unit of the measured value, for reports.
    pub fn unit(&self) -> &'static str {
        match self.metric {
            SloMetric::Availability | SloMetric::ErrorRate => "%",
            _ => "ms",
        }
    }
}

/// A rule as the scenario states it.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    pub name: String,
    /// Fires while this holds.
    pub expr: Slo,
    pub for_: SimDuration,
}

/// Which windows an invariant speaks of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    DuringFaults,
    OutsideFaults,
}

/// What an invariant measures in a window.
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    /// An SLO metric on the mesh or one route (the `Slo`'s route).
    Flow(Slo),
    /// An SLO metric on every route.
    EveryRoute(Slo),
    /// Attempts per call, on every policy point.
    RetryAmplification,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Invariant {
    pub text: String,
    pub subject: Subject,
    pub op: Op,
    /// `<=` or `>=`: equality holds too.
    pub inclusive: bool,
    /// In the SLO's unit for flows (a fraction for availability and error rate,
    /// milliseconds for latencies); attempts per call for retry amplification.
    pub threshold: f64,
    pub when: When,
}

impl Invariant {
    /// Whether a measured value satisfies it.
    pub fn holds(&self, v: f64) -> bool {
        match (self.op, self.inclusive) {
            (Op::Below, false) => v < self.threshold,
            (Op::Below, true) => v <= self.threshold,
            (Op::Above, false) => v > self.threshold,
            (Op::Above, true) => v >= self.threshold,
        }
    }
}
