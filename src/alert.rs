//! Prometheus-style alerting rules, evaluated in simulated time.
//!
//! A rule is an expression on a windowed metric (the [`crate::slo::Slo`] grammar: `error_rate>5%`,
//! `checkout:p99>500ms`), true or false at each evaluation (the end of each time-series
//! window), and a `for` duration. As in Prometheus' rule manager: when the expression
//! first holds the alert becomes *pending* and remembers that evaluation's time
//! (`activeAt`); it *fires* at the first evaluation at least `for` after it (at once
//! with `for` 0); when the expression stops holding, a pending alert is dropped and a
//! firing one is *resolved*. An evaluation without data (no request in the window) does
//! not hold.

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::observe::AlertRule;
use crate::time::{SimDuration, SimTime};

/// Where an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertState {
    Inactive,
    Pending { active_at: SimTime },
    Firing { active_at: SimTime, fired_at: SimTime },
}

/// A change an evaluation made, for `alerts.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertChange {
    Pending,
    Firing,
    Resolved,
}

impl AlertChange {
    pub fn name(self) -> &'static str {
        match self {
            AlertChange::Pending => "pending",
            AlertChange::Firing => "firing",
            AlertChange::Resolved => "resolved",
        }
    }
}

/// One rule's alert over a run.
#[derive(Clone, Debug)]
pub struct Alert {
    pub state: AlertState,
    /// Times it fired, the first time, and the time spent firing (closed spells).
    pub fired: u32,
    pub first_fired: Option<SimTime>,
    pub firing: SimDuration,
}

impl Default for Alert {
    fn default() -> Self {
        Alert { state: AlertState::Inactive, fired: 0, first_fired: None, firing: SimDuration::ZERO }
    }
}

impl Alert {
    /// Evaluates the rule at `at` with the expression's truth `holds`.
    pub fn evaluate(&mut self, for_: SimDuration, at: SimTime, holds: bool) -> Option<AlertChange> {
        match (self.state, holds) {
            (AlertState::Inactive, true) => {
                self.state = AlertState::Pending { active_at: at };
                if for_.is_zero() { self.fire(at, at) } else { Some(AlertChange::Pending) }
            }
            (AlertState::Pending { active_at }, true) if at.since(active_at) >= for_ => self.fire(active_at, at),
            (AlertState::Pending { .. }, false) => {
                self.state = AlertState::Inactive;
                None
            }
            (AlertState::Firing { fired_at, .. }, false) => {
                self.firing += at.since(fired_at);
                self.state = AlertState::Inactive;
                Some(AlertChange::Resolved)
            }
            _ => None,
        }
    }

    fn fire(&mut self, active_at: SimTime, at: SimTime) -> Option<AlertChange> {
        self.state = AlertState::Firing { active_at, fired_at: at };
        self.fired += 1;
        self.first_fired.get_or_insert(at);
        Some(AlertChange::Firing)
    }

    /// Time spent firing up to `end`, the spell still open included.
    pub fn firing_until(&self, end: SimTime) -> SimDuration {
        match self.state {
            AlertState::Firing { fired_at, .. } => self.firing + end.since(fired_at),
            _ => self.firing,
        }
    }
}

/// A rule's alert at the end of a run, for the reports.
#[derive(Clone, Debug)]
pub struct AlertResult {
    pub rule: AlertRule,
    pub fired: u32,
    pub first_fired: Option<SimTime>,
    pub firing: SimDuration,
    pub firing_at_end: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    #[test]
    fn fires_after_holding_for_its_duration_and_resolves() {
        let for_ = SimDuration::from_secs(3);
        let mut a = Alert::default();
        assert_eq!(a.evaluate(for_, t(1), false), None);
        assert_eq!(a.evaluate(for_, t(2), true), Some(AlertChange::Pending));
        assert_eq!(a.evaluate(for_, t(3), true), None);
        assert_eq!(a.evaluate(for_, t(4), true), None);
        // 5 - 2 >= 3: fires at the first evaluation that far from activeAt.
        assert_eq!(a.evaluate(for_, t(5), true), Some(AlertChange::Firing));
        assert_eq!(a.evaluate(for_, t(6), true), None);
        assert_eq!(a.evaluate(for_, t(8), false), Some(AlertChange::Resolved));
        assert_eq!((a.fired, a.first_fired, a.firing), (1, Some(t(5)), SimDuration::from_secs(3)));
        assert_eq!(a.state, AlertState::Inactive);
    }

    #[test]
    fn a_pending_alert_that_stops_holding_never_fires() {
        let for_ = SimDuration::from_secs(3);
        let mut a = Alert::default();
        a.evaluate(for_, t(1), true);
        a.evaluate(for_, t(3), true);
        assert_eq!(a.evaluate(for_, t(4), false), None);
        // Holding again restarts the clock.
        assert_eq!(a.evaluate(for_, t(5), true), Some(AlertChange::Pending));
        assert_eq!(a.evaluate(for_, t(7), true), None);
        assert_eq!(a.evaluate(for_, t(8), true), Some(AlertChange::Firing));
        assert_eq!(a.fired, 1);
        assert_eq!(a.firing_until(t(10)), SimDuration::from_secs(2));
    }

    #[test]
    fn with_no_for_duration_it_fires_at_once() {
        let mut a = Alert::default();
        assert_eq!(a.evaluate(SimDuration::ZERO, t(1), true), Some(AlertChange::Firing));
        assert_eq!(a.evaluate(SimDuration::ZERO, t(2), false), Some(AlertChange::Resolved));
        assert_eq!(a.evaluate(SimDuration::ZERO, t(3), true), Some(AlertChange::Firing));
        assert_eq!((a.fired, a.first_fired), (2, Some(t(1))));
    }
}
