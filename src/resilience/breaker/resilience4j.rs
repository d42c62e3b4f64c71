//! Resilience4j's `CircuitBreakerStateMachine`, its `CircuitBreakerMetrics` and the wait
//! `IntervalFunction`, step for step.
//!
//! What the source does, and this file with it:
//! - Every recorded outcome is checked at once (`checkIfThresholdsExceeded`): a rate is
//!   computed only when the window holds at least the minimum number of calls, and a rate
//!   at or above its threshold (`>=`, single precision) trips.
//! - A call is slow when its duration is strictly greater than the threshold.
//! - OPEN keeps the window it was given and still records outcomes reported while it is
//!   open (calls admitted before it opened) without any transition (`OpenState.onError`).
//! - OPEN -> HALF_OPEN lazily on the first call *strictly after* the wait
//!   (`clock.instant().isAfter(retryAfterWaitDuration)`), or, with the automatic transition,
//!   at exactly the wait (a scheduler fires after `waitDurationInMillis`). That first call
//!   takes the first HALF_OPEN permit.
//! - HALF_OPEN has `permitted` permits (`releasePermission` gives one back, with no cap, as
//!   the source's `incrementAndGet`) and a fresh count window of `permitted` calls whose
//!   minimum is min(minimumNumberOfCalls, permitted). It decides on the first outcome that
//!   leaves it at or above the minimum: a rate over threshold -> OPEN, else CLOSED with a
//!   fresh window. After `maxWaitDurationInHalfOpenState` (whole ms, when >= 1 ms) it goes
//!   to OPEN (the default of newer releases' `transitionToStateAfterWaitDuration`).
//! - The wait of the n-th opening since the breaker was last CLOSED is the interval
//!   function at n (`new OpenState(attempts + 1, ...)`; CLOSED has 0 attempts).
//!   `IntervalFunction` works in whole milliseconds and truncates at every step, so
//!   w(n+1) = (long) (w(n) * multiplier), then min(w(n), max).

use super::window::{CountWindow, Outcome, Tally, TimeWindow, Window};
use super::{BreakerState, Log, R4jMode, Resilience4jConfig, SlidingWindow, TransitionCause, note};
use crate::time::{SimDuration, SimTime};

const NANOS_PER_MILLI: u64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Closed,
    Open { retry_after: SimTime },
    HalfOpen { since: SimTime, permits: u64 },
    Disabled,
    ForcedOpen,
    MetricsOnly,
}

/// `CircuitBreakerMetrics.Result`, with the rates for the transition's cause.
enum Verdict {
    BelowMinimumCalls,
    BelowThresholds { failure_rate: f32, slow_call_rate: f32 },
    Exceeded(TransitionCause),
}

#[derive(Clone, Debug)]
pub(super) struct Resilience4jBreaker {
    config: Resilience4jConfig,
    /// The thresholds as Resilience4j's `float`s.
    failure_rate_threshold: f32,
    slow_call_rate_threshold: f32,
    /// `waitDurationInOpenState.toMillis()` and the cap, in whole milliseconds.
    wait_initial_ms: i64,
    wait_max_ms: Option<i64>,
    /// `maxWaitDurationInHalfOpenState` in whole milliseconds; None when below 1 ms (off).
    max_wait_in_half_open: Option<SimDuration>,
    state: State,
    /// The metrics of the current state, and the minimum number of calls they need.
    window: Window,
    minimum_calls: u32,
    /// Openings since the breaker was last CLOSED (Resilience4j's `attempts`).
    attempts: u32,
    /// The interval function at `attempts`, before the cap.
    wait_uncapped_ms: i64,
}

fn whole_millis(d: SimDuration) -> i64 {
    i64::try_from(d.as_nanos() / NANOS_PER_MILLI).unwrap_or(i64::MAX)
}

impl Resilience4jBreaker {
    pub fn new(config: &Resilience4jConfig, now: SimTime) -> Self {
        let max_wait_ms = whole_millis(config.max_wait_duration_in_half_open_state);
        let (window, minimum_calls) = closed_window(config, now);
        Resilience4jBreaker {
            config: config.clone(),
            failure_rate_threshold: config.failure_rate_threshold as f32,
            slow_call_rate_threshold: config.slow_call_rate_threshold as f32,
            wait_initial_ms: whole_millis(config.wait_duration_in_open_state),
            wait_max_ms: config.wait_duration_max.map(whole_millis),
            max_wait_in_half_open: (max_wait_ms >= 1).then(|| SimDuration::from_millis(max_wait_ms as u64)),
            state: match config.mode {
                R4jMode::Normal => State::Closed,
                R4jMode::Disabled => State::Disabled,
                R4jMode::ForcedOpen => State::ForcedOpen,
                R4jMode::MetricsOnly => State::MetricsOnly,
            },
            window,
            minimum_calls,
            attempts: 0,
            wait_uncapped_ms: 0,
        }
    }

    pub fn state(&self) -> BreakerState {
        match self.state {
            State::Closed => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
            State::Disabled => BreakerState::Disabled,
            State::ForcedOpen => BreakerState::ForcedOpen,
            State::MetricsOnly => BreakerState::MetricsOnly,
        }
    }

    pub fn is_slow(&self, duration: SimDuration) -> bool {
        duration > self.config.slow_call_duration_threshold
    }

    #[inline]
    pub fn next_wakeup(&self) -> Option<SimTime> {
        match self.state {
            State::Open { retry_after } if self.config.automatic_transition_from_open_to_half_open => Some(retry_after),
            State::HalfOpen { since, .. } => self.max_wait_in_half_open.map(|d| since + d),
            _ => None,
        }
    }

    /// The scheduled transitions, each at the time its timer would fire.
    #[inline]
    pub fn advance(&mut self, now: SimTime, log: &mut Log) {
        // Most calls find no timer due (CLOSED has none): one test, inlined.
        if self.next_wakeup().is_some_and(|due| due <= now) {
            self.advance_due(now, log);
        }
    }

    #[cold]
    fn advance_due(&mut self, now: SimTime, log: &mut Log) {
        while let Some(due) = self.next_wakeup()
            && due <= now
        {
            match self.state {
                State::Open { .. } => self.transition_to_half_open(due, log),
                State::HalfOpen { .. } => self.transition_to_open(due, TransitionCause::MaxWaitInHalfOpen, log),
                _ => unreachable!("only OPEN and HALF_OPEN have timers"),
            }
        }
    }

    #[inline]
    pub fn try_acquire(&mut self, now: SimTime, log: &mut Log) -> bool {
        match self.state {
            State::Closed | State::Disabled | State::MetricsOnly => true,
            State::ForcedOpen => false,
            State::Open { retry_after } => {
                if now > retry_after {
                    self.transition_to_half_open(now, log);
                    self.take_half_open_permit()
                } else {
                    false
                }
            }
            State::HalfOpen { .. } => self.take_half_open_permit(),
        }
    }

    fn take_half_open_permit(&mut self) -> bool {
        let State::HalfOpen { permits, .. } = &mut self.state else { unreachable!("not HALF_OPEN") };
        if *permits > 0 {
            *permits -= 1;
            true
        } else {
            false
        }
    }

    pub fn release(&mut self) {
        if let State::HalfOpen { permits, .. } = &mut self.state {
            *permits += 1;
        }
    }

    #[inline]
    pub fn on_result(&mut self, now: SimTime, duration: SimDuration, failure: bool, log: &mut Log) {
        if matches!(self.state, State::Disabled | State::ForcedOpen) {
            return;
        }
        let tally = self.window.record(now, Outcome { failed: failure, slow: self.is_slow(duration) });
        let verdict = self.check(tally);
        match (self.state, verdict) {
            (State::Closed | State::HalfOpen { .. }, Verdict::Exceeded(cause)) => {
                self.transition_to_open(now, cause, log)
            }
            (State::HalfOpen { .. }, Verdict::BelowThresholds { failure_rate, slow_call_rate }) => {
                self.transition_to_closed(now, TransitionCause::HalfOpenSucceeded { failure_rate, slow_call_rate }, log)
            }
            // OPEN records without deciding; METRICS_ONLY only publishes events.
            _ => {}
        }
    }

    /// `CircuitBreakerMetrics.checkIfThresholdsExceeded`.
    fn check(&self, tally: Tally) -> Verdict {
        if tally.calls == 0 || tally.calls < self.minimum_calls {
            return Verdict::BelowMinimumCalls;
        }
        let (failure_rate, slow_call_rate) = (tally.failure_rate(), tally.slow_call_rate());
        let (failure_threshold, slow_call_threshold) = (self.failure_rate_threshold, self.slow_call_rate_threshold);
        match (failure_rate >= failure_threshold, slow_call_rate >= slow_call_threshold) {
            (true, true) => Verdict::Exceeded(TransitionCause::BothRatesExceeded {
                failure_rate,
                failure_threshold,
                slow_call_rate,
                slow_call_threshold,
            }),
            (true, false) => Verdict::Exceeded(TransitionCause::FailureRateExceeded {
                rate: failure_rate,
                threshold: failure_threshold,
            }),
            (false, true) => Verdict::Exceeded(TransitionCause::SlowCallRateExceeded {
                rate: slow_call_rate,
                threshold: slow_call_threshold,
            }),
            (false, false) => Verdict::BelowThresholds { failure_rate, slow_call_rate },
        }
    }

    /// `transitionToOpenState`: one more attempt, its wait, and the window kept.
    #[cold]
    fn transition_to_open(&mut self, at: SimTime, cause: TransitionCause, log: &mut Log) {
        self.attempts = self.attempts.saturating_add(1);
        self.wait_uncapped_ms = if self.attempts == 1 {
            self.wait_initial_ms
        } else {
            // Java's `(long) (x * multiplier)`: truncating and saturating, as Rust's `as`.
            (self.wait_uncapped_ms as f64 * self.config.wait_interval_multiplier) as i64
        };
        let wait_ms = self.wait_max_ms.map_or(self.wait_uncapped_ms, |max| self.wait_uncapped_ms.min(max));
        let from = self.state();
        self.state = State::Open { retry_after: at + SimDuration::from_millis(wait_ms.max(0) as u64) };
        note(log, at, from, BreakerState::Open, cause);
    }

    /// `transitionToHalfOpenState`: fresh permits and a fresh count window; attempts kept.
    #[cold]
    fn transition_to_half_open(&mut self, at: SimTime, log: &mut Log) {
        let permitted = self.config.permitted_calls_in_half_open_state;
        self.state = State::HalfOpen { since: at, permits: u64::from(permitted) };
        self.window = Window::Count(CountWindow::new(permitted));
        self.minimum_calls = self.config.minimum_number_of_calls.min(permitted);
        note(log, at, BreakerState::Open, BreakerState::HalfOpen, TransitionCause::WaitElapsed);
    }

    /// `transitionToClosedState`: `new ClosedState()`, fresh metrics and no attempts.
    #[cold]
    fn transition_to_closed(&mut self, at: SimTime, cause: TransitionCause, log: &mut Log) {
        let from = self.state();
        self.state = State::Closed;
        self.attempts = 0;
        (self.window, self.minimum_calls) = closed_window(&self.config, at);
        note(log, at, from, BreakerState::Closed, cause);
    }

    #[cfg(test)]
    fn window_tally(&mut self, now: SimTime) -> Tally {
        self.window.snapshot(now)
    }
}

/// `CircuitBreakerMetrics.forClosed`: the configured window, with the minimum capped at the
/// window size for a count-based window only.
fn closed_window(config: &Resilience4jConfig, now: SimTime) -> (Window, u32) {
    match config.sliding_window {
        SlidingWindow::CountBased { size } => {
            (Window::Count(CountWindow::new(size)), config.minimum_number_of_calls.min(size))
        }
        SlidingWindow::TimeBased { seconds } => {
            (Window::Time(TimeWindow::new(seconds, now)), config.minimum_number_of_calls)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BreakerConfig, CircuitBreaker, NotPermitted, Transition};
    use super::*;

    fn ms(v: u64) -> SimDuration {
        SimDuration::from_millis(v)
    }

    fn t(v: u64) -> SimTime {
        SimTime::ZERO + ms(v)
    }

    /// A count window of `size` with minimum `size`, 50 % failure threshold, 10 s wait.
    fn config(size: u32) -> Resilience4jConfig {
        Resilience4jConfig {
            sliding_window: SlidingWindow::CountBased { size },
            minimum_number_of_calls: size,
            wait_duration_in_open_state: SimDuration::from_secs(10),
            permitted_calls_in_half_open_state: 2,
            ..Resilience4jConfig::default()
        }
    }

    fn breaker(c: Resilience4jConfig, now: SimTime) -> CircuitBreaker {
        CircuitBreaker::new(&BreakerConfig::Resilience4j(c), now)
    }

    /// One call admitted and reported at `at`, lasting 1 ms.
    fn call(b: &mut CircuitBreaker, at: SimTime, failure: bool) {
        b.try_acquire(at).expect("call not permitted");
        b.on_result(at, ms(1), failure);
    }

    fn transitions(b: &mut CircuitBreaker) -> Vec<(SimTime, BreakerState, BreakerState, String)> {
        b.drain_transitions().map(|Transition { at, from, to, cause }| (at, from, to, cause.to_string())).collect()
    }

    fn tally(b: &mut CircuitBreaker, now: SimTime) -> Tally {
        match &mut b.machine {
            super::super::Machine::Resilience4j(m) => m.window_tally(now),
            _ => unreachable!(),
        }
    }

    /// Trips a breaker built from `config(size)` at `at` with `size` failures.
    fn open_at(b: &mut CircuitBreaker, size: u32, at: SimTime) {
        for _ in 0..size {
            call(b, at, true);
        }
        assert_eq!(b.state(), BreakerState::Open);
        b.drain_transitions();
    }

    #[test]
    fn opens_when_the_failure_rate_reaches_the_threshold_exactly() {
        let mut b = breaker(config(4), t(0));
        call(&mut b, t(1), true);
        call(&mut b, t(2), false);
        call(&mut b, t(3), true);
        assert_eq!(b.state(), BreakerState::Closed, "3 calls are below the minimum of 4");
        call(&mut b, t(4), false);
        // 2 of 4 = 50 %, and 50 >= 50.
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(
            transitions(&mut b),
            vec![(t(4), BreakerState::Closed, BreakerState::Open, "failure-rate 50% >= 50%".to_string())]
        );
    }

    #[test]
    fn count_window_forgets_outcomes_beyond_its_size() {
        let mut b = breaker(Resilience4jConfig { failure_rate_threshold: 60.0, ..config(4) }, t(0));
        for (i, failure) in [true, true, false, false, false, true].into_iter().enumerate() {
            call(&mut b, t(i as u64), failure);
        }
        // The window holds the last four, S S S F: 25 %. One more failure makes
        // S S F F (50 % < 60 %), another S F F F (75 %).
        assert_eq!(tally(&mut b, t(6)), Tally { calls: 4, failed: 1, slow: 0 });
        call(&mut b, t(7), true);
        assert_eq!(b.state(), BreakerState::Closed);
        call(&mut b, t(8), true);
        assert_eq!(b.state(), BreakerState::Open, "S F F F = 75 %");
    }

    #[test]
    fn slow_means_strictly_longer_than_the_threshold() {
        let c =
            Resilience4jConfig { slow_call_duration_threshold: ms(100), slow_call_rate_threshold: 50.0, ..config(2) };
        let mut b = breaker(c, t(0));
        for at in [t(1), t(2)] {
            b.try_acquire(at).unwrap();
            b.on_result(at, ms(100), false);
        }
        assert_eq!(b.state(), BreakerState::Closed, "a call of exactly the threshold is not slow");
        b.try_acquire(t(3)).unwrap();
        b.on_result(t(3), ms(100) + SimDuration(1), false);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(transitions(&mut b)[0].3, "slow-call-rate 50% >= 50%");
    }

    #[test]
    fn minimum_calls_is_capped_at_the_size_of_a_count_window() {
        let c = Resilience4jConfig { minimum_number_of_calls: 100, ..config(5) };
        let mut b = breaker(c, t(0));
        for i in 0..4 {
            call(&mut b, t(i), true);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        call(&mut b, t(4), true);
        assert_eq!(b.state(), BreakerState::Open, "the minimum of 100 acts as 5, the window size");
    }

    #[test]
    fn minimum_calls_is_not_capped_for_a_time_window() {
        let c = Resilience4jConfig {
            sliding_window: SlidingWindow::TimeBased { seconds: 5 },
            minimum_number_of_calls: 10,
            ..config(1)
        };
        let mut b = breaker(c, t(0));
        for i in 0..9 {
            call(&mut b, t(i * 100), true);
        }
        assert_eq!(b.state(), BreakerState::Closed, "9 failures are below the minimum of 10");
        call(&mut b, t(900), true);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn time_window_drops_outcomes_older_than_its_seconds() {
        let c = Resilience4jConfig {
            sliding_window: SlidingWindow::TimeBased { seconds: 2 },
            minimum_number_of_calls: 4,
            ..config(1)
        };
        let mut b = breaker(c, t(0));
        // Three failures in second 0, then successes in second 2: the failures are gone.
        for i in 0..3 {
            call(&mut b, t(100 + i), true);
        }
        call(&mut b, t(2_000), false);
        assert_eq!(tally(&mut b, t(2_000)), Tally { calls: 1, failed: 0, slow: 0 });
        assert_eq!(b.state(), BreakerState::Closed);
        // In second 1 the failures of second 0 would still count: 3 of 4 = 75 %.
        let c = Resilience4jConfig {
            sliding_window: SlidingWindow::TimeBased { seconds: 2 },
            minimum_number_of_calls: 4,
            ..config(1)
        };
        let mut b = breaker(c, t(0));
        for i in 0..3 {
            call(&mut b, t(100 + i), true);
        }
        call(&mut b, t(1_999), false);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn open_goes_half_open_lazily_only_strictly_after_the_wait() {
        let mut b = breaker(config(2), t(0));
        open_at(&mut b, 2, t(1_000));
        assert_eq!(b.next_wakeup(), None, "no timer without the automatic transition");
        assert_eq!(b.try_acquire(t(11_000)), Err(NotPermitted), "at exactly the wait: still OPEN");
        assert_eq!(b.state(), BreakerState::Open);
        let just_after = t(11_000) + SimDuration(1);
        assert_eq!(b.try_acquire(just_after), Ok(()));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(
            transitions(&mut b),
            vec![(just_after, BreakerState::Open, BreakerState::HalfOpen, "wait-elapsed".to_string())]
        );
        assert_eq!(b.counters().not_permitted, 1);
    }

    #[test]
    fn automatic_transition_happens_at_exactly_the_wait() {
        let c = Resilience4jConfig { automatic_transition_from_open_to_half_open: true, ..config(2) };
        let mut b = breaker(c.clone(), t(0));
        open_at(&mut b, 2, t(1_000));
        assert_eq!(b.next_wakeup(), Some(t(11_000)));
        b.advance(t(10_999));
        assert_eq!(b.state(), BreakerState::Open);
        b.advance(t(11_000));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(
            transitions(&mut b),
            vec![(t(11_000), BreakerState::Open, BreakerState::HalfOpen, "wait-elapsed".to_string())]
        );
        // Without the wake-up, a call at exactly the wait still finds the timer fired.
        let mut b = breaker(c, t(0));
        open_at(&mut b, 2, t(1_000));
        assert_eq!(b.try_acquire(t(11_000)), Ok(()));
        assert_eq!(transitions(&mut b)[0].0, t(11_000));
    }

    #[test]
    fn half_open_admits_only_the_permitted_calls_and_release_gives_one_back() {
        let c = Resilience4jConfig { permitted_calls_in_half_open_state: 3, minimum_number_of_calls: 3, ..config(3) };
        let mut b = breaker(c, t(0));
        open_at(&mut b, 3, t(0));
        let after = t(10_001);
        assert!(b.try_acquire(after).is_ok());
        assert!(b.try_acquire(after).is_ok());
        assert!(b.try_acquire(after).is_ok());
        assert_eq!(b.try_acquire(after), Err(NotPermitted));
        b.release(after);
        assert!(b.try_acquire(after).is_ok());
        assert_eq!(b.try_acquire(after), Err(NotPermitted));
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[test]
    fn half_open_decides_as_soon_as_its_minimum_is_recorded() {
        // Four permits, minimum min(2, 4) = 2: one failure and one success (50 %) re-open.
        let c = Resilience4jConfig { permitted_calls_in_half_open_state: 4, minimum_number_of_calls: 2, ..config(2) };
        let mut b = breaker(c.clone(), t(0));
        open_at(&mut b, 2, t(0));
        for _ in 0..4 {
            b.try_acquire(t(10_001)).unwrap();
        }
        b.on_result(t(10_002), ms(1), true);
        assert_eq!(b.state(), BreakerState::HalfOpen, "one call is below the minimum of 2");
        b.on_result(t(10_003), ms(1), false);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(transitions(&mut b).last().unwrap().3, "failure-rate 50% >= 50%");
        // Two successes close it, with fresh metrics: the closed window starts empty.
        let mut b = breaker(c, t(0));
        open_at(&mut b, 2, t(0));
        for _ in 0..2 {
            call(&mut b, t(10_001), false);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(transitions(&mut b).last().unwrap().3, "half-open-succeeded failure-rate 0% slow-call-rate 0%");
        assert_eq!(tally(&mut b, t(10_001)), Tally::default());
        call(&mut b, t(10_002), true);
        assert_eq!(b.state(), BreakerState::Closed, "one failure is below the minimum again");
    }

    #[test]
    fn half_open_minimum_is_min_of_minimum_calls_and_permits() {
        // minimumNumberOfCalls 100 (uncapped in the config), 2 permits: decides after 2.
        let c = Resilience4jConfig { minimum_number_of_calls: 100, ..config(3) };
        let mut b = breaker(c, t(0));
        open_at(&mut b, 3, t(0));
        call(&mut b, t(10_001), false);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        call(&mut b, t(10_001), false);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn growing_wait_truncates_every_step_and_resets_when_closed() {
        let c = Resilience4jConfig {
            wait_duration_in_open_state: ms(1_001),
            wait_interval_multiplier: 1.5,
            wait_duration_max: Some(ms(3_000)),
            permitted_calls_in_half_open_state: 1,
            ..config(1)
        };
        let mut b = breaker(c, t(0));
        open_at(&mut b, 1, t(0));
        let mut opened = t(0);
        // 1001, (long) 1501.5 = 1501, (long) 2251.5 = 2251, (long) 3376.5 capped at 3000.
        // (The closed formula 1001 * 1.5^2 = 2252.25 would give 2252.)
        for wait in [1_001, 1_501, 2_251, 3_000, 3_000] {
            assert_eq!(b.try_acquire(opened + ms(wait)), Err(NotPermitted));
            let trial = opened + ms(wait) + SimDuration(1);
            call(&mut b, trial, true);
            assert_eq!(b.state(), BreakerState::Open);
            opened = trial;
        }
        // A successful trial closes; the next opening waits the initial 1001 ms again.
        call(&mut b, opened + ms(3_001), false);
        assert_eq!(b.state(), BreakerState::Closed);
        open_at(&mut b, 1, t(30_000));
        assert_eq!(b.try_acquire(t(31_001)), Err(NotPermitted));
        assert!(b.try_acquire(t(31_001) + SimDuration(1)).is_ok());
    }

    #[test]
    fn wait_is_counted_in_whole_milliseconds() {
        let c = Resilience4jConfig { wait_duration_in_open_state: SimDuration::from_micros(1_999), ..config(1) };
        let mut b = breaker(c, t(0));
        open_at(&mut b, 1, t(0));
        // toMillis() truncates 1.999 ms to 1 ms.
        assert!(b.try_acquire(t(1) + SimDuration(1)).is_ok());
    }

    #[test]
    fn max_wait_in_half_open_reopens_and_counts_as_an_opening() {
        let c = Resilience4jConfig {
            max_wait_duration_in_half_open_state: SimDuration::from_secs(5),
            wait_interval_multiplier: 2.0,
            ..config(1)
        };
        let mut b = breaker(c, t(0));
        open_at(&mut b, 1, t(0));
        let half_open = t(10_000) + SimDuration(1);
        b.try_acquire(half_open).unwrap();
        assert_eq!(b.next_wakeup(), Some(half_open + SimDuration::from_secs(5)));
        b.advance(half_open + SimDuration::from_secs(5));
        assert_eq!(b.state(), BreakerState::Open);
        let log = transitions(&mut b);
        assert_eq!(log.last().unwrap().3, "max-wait-in-half-open");
        // Second opening: the wait doubled to 20 s.
        let reopened = half_open + SimDuration::from_secs(5);
        assert_eq!(b.try_acquire(reopened + SimDuration::from_secs(20)), Err(NotPermitted));
        assert!(b.try_acquire(reopened + SimDuration::from_secs(20) + SimDuration(1)).is_ok());
    }

    #[test]
    fn max_wait_below_one_millisecond_is_off() {
        let c = Resilience4jConfig { max_wait_duration_in_half_open_state: SimDuration::from_micros(999), ..config(1) };
        let mut b = breaker(c, t(0));
        open_at(&mut b, 1, t(0));
        b.try_acquire(t(10_001)).unwrap();
        assert_eq!(b.next_wakeup(), None);
    }

    #[test]
    fn outcomes_reported_while_open_are_recorded_without_a_transition() {
        let mut b = breaker(config(4), t(0));
        for _ in 0..4 {
            b.try_acquire(t(0)).unwrap();
        }
        b.try_acquire(t(0)).unwrap();
        b.try_acquire(t(0)).unwrap();
        for _ in 0..4 {
            b.on_result(t(1), ms(1), true);
        }
        assert_eq!(b.state(), BreakerState::Open);
        b.drain_transitions();
        b.on_result(t(2), ms(1), false);
        b.on_result(t(3), ms(1), false);
        assert_eq!(tally(&mut b, t(3)), Tally { calls: 4, failed: 2, slow: 0 });
        assert_eq!(b.state(), BreakerState::Open);
        assert!(transitions(&mut b).is_empty());
    }

    #[test]
    fn disabled_admits_everything_and_records_nothing() {
        let mut b = breaker(Resilience4jConfig { mode: R4jMode::Disabled, ..config(1) }, t(0));
        for i in 0..10 {
            call(&mut b, t(i), true);
        }
        assert_eq!(b.state(), BreakerState::Disabled);
        assert_eq!(tally(&mut b, t(10)), Tally::default());
        assert!(transitions(&mut b).is_empty());
    }

    #[test]
    fn forced_open_rejects_everything() {
        let mut b = breaker(Resilience4jConfig { mode: R4jMode::ForcedOpen, ..config(1) }, t(0));
        for i in 0..10 {
            assert_eq!(b.try_acquire(t(i * 100_000)), Err(NotPermitted));
        }
        assert_eq!(b.state(), BreakerState::ForcedOpen);
        assert_eq!(b.counters().not_permitted, 10);
        assert_eq!(b.next_wakeup(), None);
    }

    #[test]
    fn metrics_only_records_but_never_transitions() {
        let mut b = breaker(Resilience4jConfig { mode: R4jMode::MetricsOnly, ..config(2) }, t(0));
        for i in 0..5 {
            call(&mut b, t(i), true);
        }
        assert_eq!(b.state(), BreakerState::MetricsOnly);
        assert_eq!(tally(&mut b, t(5)), Tally { calls: 2, failed: 2, slow: 0 });
        assert!(transitions(&mut b).is_empty());
    }

    #[test]
    fn failure_rate_is_compared_in_single_precision() {
        // 1 of 3 is 100f / 3 = 33.333332f. The threshold 33.3333334 is above 100 / 3 in
        // double precision, but rounds to that same float, so Resilience4j trips.
        let c = Resilience4jConfig { failure_rate_threshold: 33.333_333_4, ..config(3) };
        let mut b = breaker(c, t(0));
        call(&mut b, t(0), true);
        call(&mut b, t(0), false);
        call(&mut b, t(0), false);
        assert_eq!(b.state(), BreakerState::Open);
    }
}
