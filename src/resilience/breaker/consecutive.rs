//! meshsim's simple breaker: opens after N consecutive failures, then lets one trial call
//! through once the recovery timeout has passed.
//!
//! There is no library to follow, so the choices are written down here: a success resets
//! the run of failures; outcomes reported while OPEN are ignored; the trial goes at or after
//! `recovery_timeout` since opening (lazily, on the first call then); while it is out,
//! every other call is rejected; the first outcome reported in HALF_OPEN decides, as in
//! Hystrix (success closes with a zero count, failure re-opens with a new open time); a
//! released trial gives its permit back to the next call.

use super::{BreakerState, ConsecutiveConfig, Log, TransitionCause, note};
use crate::time::SimTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { since: SimTime },
    HalfOpen { trial_out: bool },
}

#[derive(Clone, Debug)]
pub(super) struct ConsecutiveBreaker {
    config: ConsecutiveConfig,
    state: State,
}

impl ConsecutiveBreaker {
    pub fn new(config: &ConsecutiveConfig) -> Self {
        ConsecutiveBreaker { config: config.clone(), state: State::Closed { failures: 0 } }
    }

    pub fn state(&self) -> BreakerState {
        match self.state {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    pub fn try_acquire(&mut self, now: SimTime, log: &mut Log) -> bool {
        match &mut self.state {
            State::Closed { .. } => true,
            State::Open { since } if now.since(*since) >= self.config.recovery_timeout => {
                self.state = State::HalfOpen { trial_out: true };
                note(log, now, BreakerState::Open, BreakerState::HalfOpen, TransitionCause::WaitElapsed);
                true
            }
            State::Open { .. } => false,
            State::HalfOpen { trial_out } => !std::mem::replace(trial_out, true),
        }
    }

    pub fn on_result(&mut self, now: SimTime, failure: bool, log: &mut Log) {
        match &mut self.state {
            State::Closed { failures } if failure => {
                *failures += 1;
                if *failures >= self.config.failure_threshold {
                    let n = *failures;
                    self.state = State::Open { since: now };
                    note(
                        log,
                        now,
                        BreakerState::Closed,
                        BreakerState::Open,
                        TransitionCause::ConsecutiveFailures { n },
                    );
                }
            }
            State::Closed { failures } => *failures = 0,
            State::Open { .. } => {}
            State::HalfOpen { .. } if failure => {
                self.state = State::Open { since: now };
                note(log, now, BreakerState::HalfOpen, BreakerState::Open, TransitionCause::TrialFailed);
            }
            State::HalfOpen { .. } => {
                self.state = State::Closed { failures: 0 };
                note(log, now, BreakerState::HalfOpen, BreakerState::Closed, TransitionCause::TrialSucceeded);
            }
        }
    }

    pub fn release(&mut self) {
        if let State::HalfOpen { trial_out } = &mut self.state {
            *trial_out = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BreakerConfig, CircuitBreaker, NotPermitted};
    use super::*;
    use crate::time::SimDuration;

    fn t(ms: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_millis(ms)
    }

    fn breaker(failure_threshold: u32, recovery_ms: u64) -> CircuitBreaker {
        let c = ConsecutiveConfig { failure_threshold, recovery_timeout: SimDuration::from_millis(recovery_ms) };
        CircuitBreaker::new(&BreakerConfig::ConsecutiveFailures(c), SimTime::ZERO)
    }

    fn call(b: &mut CircuitBreaker, at: SimTime, failure: bool) {
        b.try_acquire(at).expect("call not permitted");
        b.on_result(at, SimDuration::from_millis(1), failure);
    }

    #[test]
    fn opens_after_n_failures_in_a_row_and_a_success_resets_the_run() {
        let mut b = breaker(3, 1_000);
        call(&mut b, t(0), true);
        call(&mut b, t(1), true);
        call(&mut b, t(2), false);
        call(&mut b, t(3), true);
        call(&mut b, t(4), true);
        assert_eq!(b.state(), BreakerState::Closed, "the success broke the run");
        call(&mut b, t(5), true);
        assert_eq!(b.state(), BreakerState::Open);
        let log: Vec<_> = b.drain_transitions().map(|t| (t.at, t.cause.to_string())).collect();
        assert_eq!(log, vec![(t(5), "consecutive-failures 3".to_string())]);
    }

    #[test]
    fn one_trial_call_once_the_recovery_timeout_has_passed() {
        let mut b = breaker(1, 1_000);
        call(&mut b, t(0), true);
        assert_eq!(b.try_acquire(t(999)), Err(NotPermitted));
        assert_eq!(b.try_acquire(t(1_000)), Ok(()), "at exactly the timeout");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.try_acquire(t(1_000)), Err(NotPermitted));
        assert_eq!(b.next_wakeup(), None);
    }

    #[test]
    fn trial_success_closes_and_failure_reopens_with_a_new_time() {
        let mut b = breaker(2, 1_000);
        call(&mut b, t(0), true);
        call(&mut b, t(0), true);
        call(&mut b, t(1_500), true);
        assert_eq!(b.state(), BreakerState::Open, "the trial failed");
        assert_eq!(b.try_acquire(t(2_499)), Err(NotPermitted));
        call(&mut b, t(2_500), false);
        assert_eq!(b.state(), BreakerState::Closed);
        call(&mut b, t(2_501), true);
        assert_eq!(b.state(), BreakerState::Closed, "the count started again from zero");
        let causes: Vec<String> = b.drain_transitions().map(|t| t.cause.to_string()).collect();
        assert_eq!(
            causes,
            ["consecutive-failures 2", "wait-elapsed", "trial-failed", "wait-elapsed", "trial-succeeded"]
        );
    }

    #[test]
    fn a_released_trial_gives_its_permit_back() {
        let mut b = breaker(1, 0);
        call(&mut b, t(0), true);
        b.try_acquire(t(1)).unwrap();
        b.release(t(2));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.try_acquire(t(3)), Ok(()));
        assert_eq!(b.try_acquire(t(3)), Err(NotPermitted));
    }

    #[test]
    fn outcomes_reported_while_open_are_ignored() {
        let mut b = breaker(1, 1_000);
        b.try_acquire(t(0)).unwrap();
        call(&mut b, t(0), true);
        b.on_result(t(10), SimDuration::from_millis(10), false);
        assert_eq!(b.state(), BreakerState::Open);
    }
}
