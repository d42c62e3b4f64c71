//! Circuit breakers: Resilience4j's, Hystrix's and a consecutive-failures one, as plain state machines.
//!
//! A proxy keeps one [`CircuitBreaker`] per destination and drives it with the time:
//! [`try_acquire`](CircuitBreaker::try_acquire) before each call, then exactly one of
//! [`on_result`](CircuitBreaker::on_result) (the call ended with an outcome that counts) or
//! [`release`](CircuitBreaker::release) (it ended without one) for every permitted call.
//! Transitions that happen by themselves are announced by
//! [`next_wakeup`](CircuitBreaker::next_wakeup): the loop calls
//! [`advance`](CircuitBreaker::advance) then. Every call first performs the time-driven
//! transitions due at or before its `now`, so a late or missing wake-up never changes a
//! decision, only when the transition is drained. Read `next_wakeup` again after every call:
//! a wake-up scheduled earlier may have become stale, and a stale one is harmless.
//!
//! Each flavour follows its source, not a summary of it: see `resilience4j.rs`
//! (`CircuitBreakerStateMachine`, `CircuitBreakerMetrics`, the sliding windows and
//! `IntervalFunction`), `hystrix.rs` (`HystrixCircuitBreakerImpl` and `HealthCountsStream`)
//! and `consecutive.rs` (meshsim's own simple breaker).
//!
//! **Invariant:** memory is fixed by the configuration (a ring of outcomes, a ring of
//! one-second tallies, a ring of health buckets), except for the transitions not yet drained.

mod consecutive;
mod hystrix;
mod resilience4j;
mod window;

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::policy::{
    BreakerConfig, ConsecutiveConfig, HystrixConfig, R4jMode, Resilience4jConfig, SlidingWindow,
};
use crate::time::{SimDuration, SimTime};
use std::fmt;

/// A breaker's state, named as Resilience4j names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
    Disabled,
    ForcedOpen,
    /// Resilience4j's METRICS_ONLY, and Hystrix's `forceClosed` (admits all, still counts).
    MetricsOnly,
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "CLOSED",
            BreakerState::Open => "OPEN",
            BreakerState::HalfOpen => "HALF_OPEN",
            BreakerState::Disabled => "DISABLED",
            BreakerState::ForcedOpen => "FORCED_OPEN",
            BreakerState::MetricsOnly => "METRICS_ONLY",
        })
    }
}

/// Why a breaker changed state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TransitionCause {
    /// Resilience4j: the failure rate (percent, single precision) reached its threshold.
    FailureRateExceeded { rate: f32, threshold: f32 },
    /// Resilience4j: the slow-call rate reached its threshold.
    SlowCallRateExceeded { rate: f32, threshold: f32 },
    /// Resilience4j: both rates reached their thresholds on the same call.
    BothRatesExceeded { failure_rate: f32, failure_threshold: f32, slow_call_rate: f32, slow_call_threshold: f32 },
    /// OPEN -> HALF_OPEN: the wait (Resilience4j), sleep window (Hystrix) or recovery
    /// timeout (consecutive) has passed.
    WaitElapsed,
    /// Resilience4j HALF_OPEN -> CLOSED: enough calls recorded, both rates under threshold.
    HalfOpenSucceeded { failure_rate: f32, slow_call_rate: f32 },
    /// Resilience4j HALF_OPEN -> OPEN after `max_wait_duration_in_half_open_state`.
    MaxWaitInHalfOpen,
    /// Hystrix or consecutive HALF_OPEN -> CLOSED: a success was reported.
    TrialSucceeded,
    /// Hystrix or consecutive HALF_OPEN -> OPEN: a failure was reported.
    TrialFailed,
    /// Hystrix HALF_OPEN -> OPEN: a call ended without an outcome (an unsubscribed command
    /// calls `markNonSuccess`).
    TrialCancelled,
    /// Hystrix: a health snapshot had enough requests and a high enough error percentage.
    ErrorPercentageExceeded { percentage: i32, threshold: u32, requests: u64 },
    /// Consecutive: this many failures in a row.
    ConsecutiveFailures { n: u32 },
}

impl fmt::Display for TransitionCause {
    /// A short kebab-case text without commas, for CSV.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TransitionCause::FailureRateExceeded { rate, threshold } => {
                write!(f, "failure-rate {rate}% >= {threshold}%")
            }
            TransitionCause::SlowCallRateExceeded { rate, threshold } => {
                write!(f, "slow-call-rate {rate}% >= {threshold}%")
            }
            TransitionCause::BothRatesExceeded {
                failure_rate,
                failure_threshold,
                slow_call_rate,
                slow_call_threshold,
            } => write!(
                f,
                "failure-rate {failure_rate}% >= {failure_threshold}% and slow-call-rate {slow_call_rate}% >= {slow_call_threshold}%"
            ),
            TransitionCause::WaitElapsed => f.write_str("wait-elapsed"),
            TransitionCause::HalfOpenSucceeded { failure_rate, slow_call_rate } => {
                write!(f, "half-open-succeeded failure-rate {failure_rate}% slow-call-rate {slow_call_rate}%")
            }
            TransitionCause::MaxWaitInHalfOpen => f.write_str("max-wait-in-half-open"),
            TransitionCause::TrialSucceeded => f.write_str("trial-succeeded"),
            TransitionCause::TrialFailed => f.write_str("trial-failed"),
            TransitionCause::TrialCancelled => f.write_str("trial-cancelled"),
            TransitionCause::ErrorPercentageExceeded { percentage, threshold, requests } => {
                write!(f, "error-percentage {percentage}% >= {threshold}% of {requests} requests")
            }
            TransitionCause::ConsecutiveFailures { n } => write!(f, "consecutive-failures {n}"),
        }
    }
}

/// A change of state, for `transitions.csv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transition {
    pub at: SimTime,
    pub from: BreakerState,
    pub to: BreakerState,
    pub cause: TransitionCause,
}

/// The breaker rejected a call without letting it go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("call not permitted by the circuit breaker")]
pub struct NotPermitted;

/// The breaker's own tallies since creation, in every state and mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BreakerCounters {
    /// `try_acquire` returned `Ok`.
    pub permitted: u64,
    /// `try_acquire` returned `Err(NotPermitted)`.
    pub not_permitted: u64,
    /// `on_result` with `failure == false`.
    pub successes: u64,
    /// `on_result` with `failure == true`.
    pub failures: u64,
    /// `on_result` with a duration strictly above the Resilience4j slow-call threshold
    /// (always 0 for the other flavours, which have no such notion).
    pub slow: u64,
    /// `release` calls.
    pub released: u64,
}

/// Where the flavours append their transitions.
type Log = Vec<Transition>;

fn note(log: &mut Log, at: SimTime, from: BreakerState, to: BreakerState, cause: TransitionCause) {
    assert!(log.last().is_none_or(|t| t.at <= at && t.to == from), "transitions out of order");
    log.push(Transition { at, from, to, cause });
}

#[derive(Clone, Debug)]
enum Machine {
    Resilience4j(resilience4j::Resilience4jBreaker),
    Hystrix(hystrix::HystrixBreaker),
    Consecutive(consecutive::ConsecutiveBreaker),
}

/// One circuit breaker of any flavour. See the module docs for the calling protocol.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    machine: Machine,
    counters: BreakerCounters,
    transitions: Log,
    /// The latest `now` seen, to assert that time never goes back.
    now: SimTime,
}

impl CircuitBreaker {
    /// A breaker created at `now`, in its initial state (CLOSED, or the pinned R4j mode).
    ///
    /// # Panics
    /// If `config` does not pass [`BreakerConfig::validate`]: the scenario validator must
    /// have rejected it.
    pub fn new(config: &BreakerConfig, now: SimTime) -> Self {
        if let Err(e) = config.validate() {
            panic!("invalid circuit-breaker configuration (validation should have caught it): {e}");
        }
        let machine = match config {
            BreakerConfig::Resilience4j(c) => Machine::Resilience4j(resilience4j::Resilience4jBreaker::new(c, now)),
            BreakerConfig::Hystrix(c) => Machine::Hystrix(hystrix::HystrixBreaker::new(c, now)),
            BreakerConfig::ConsecutiveFailures(c) => Machine::Consecutive(consecutive::ConsecutiveBreaker::new(c)),
        };
        CircuitBreaker { machine, counters: BreakerCounters::default(), transitions: Vec::new(), now }
    }

    /// Asks to make a call at `now`. Ok: the call may go (in HALF_OPEN this consumes a
    /// permit); Err(NotPermitted): rejected without calling (counted as not permitted,
    /// never enters the window).
    #[inline]
    pub fn try_acquire(&mut self, now: SimTime) -> Result<(), NotPermitted> {
        self.advance(now);
        let permitted = match &mut self.machine {
            Machine::Resilience4j(m) => m.try_acquire(now, &mut self.transitions),
            Machine::Hystrix(m) => m.try_acquire(now, &mut self.transitions),
            Machine::Consecutive(m) => m.try_acquire(now, &mut self.transitions),
        };
        if permitted {
            self.counters.permitted += 1;
            Ok(())
        } else {
            self.counters.not_permitted += 1;
            Err(NotPermitted)
        }
    }

    /// Reports the end of a call that was permitted: its duration and whether it counts as
    /// a failure (the caller decides which outcomes are failures). A permitted call always
    /// reports, through this or [`release`](Self::release).
    #[inline]
    pub fn on_result(&mut self, now: SimTime, duration: SimDuration, failure: bool) {
        self.advance(now);
        if failure {
            self.counters.failures += 1;
        } else {
            self.counters.successes += 1;
        }
        match &mut self.machine {
            Machine::Resilience4j(m) => {
                self.counters.slow += u64::from(m.is_slow(duration));
                m.on_result(now, duration, failure, &mut self.transitions);
            }
            Machine::Hystrix(m) => m.on_result(now, failure, &mut self.transitions),
            Machine::Consecutive(m) => m.on_result(now, failure, &mut self.transitions),
        }
    }

    /// A permitted call that ended without an outcome that counts (a cancelled hedge, an
    /// ignored exception). Resilience4j gives back a HALF_OPEN permit
    /// (`releasePermission`); Hystrix treats it as its source treats an unsubscribed
    /// command (`markNonSuccess`: a HALF_OPEN breaker re-opens); the consecutive breaker
    /// gives back its trial permit.
    pub fn release(&mut self, now: SimTime) {
        self.advance(now);
        self.counters.released += 1;
        match &mut self.machine {
            Machine::Resilience4j(m) => m.release(),
            Machine::Hystrix(m) => m.release(now, &mut self.transitions),
            Machine::Consecutive(m) => m.release(),
        }
    }

    pub fn state(&self) -> BreakerState {
        match &self.machine {
            Machine::Resilience4j(m) => m.state(),
            Machine::Hystrix(m) => m.state(),
            Machine::Consecutive(m) => m.state(),
        }
    }

    /// When the breaker will change state by itself, so the loop can schedule a wake-up;
    /// None if never (without further calls). Resilience4j: the automatic OPEN -> HALF_OPEN
    /// at exactly the wait, or the end of `max_wait_duration_in_half_open_state`. Hystrix:
    /// the next health snapshot that would trip a CLOSED breaker if nothing else is
    /// reported. Always later than the latest `now` given.
    #[inline]
    pub fn next_wakeup(&self) -> Option<SimTime> {
        match &self.machine {
            Machine::Resilience4j(m) => m.next_wakeup(),
            Machine::Hystrix(m) => m.next_wakeup(),
            Machine::Consecutive(_) => None,
        }
    }

    /// Performs the time-driven transitions due at or before `now` (each stamped with the
    /// time it was due). Harmless at any time; every other call does it first.
    ///
    /// # Panics
    /// If `now` is earlier than a time this breaker was given before.
    #[inline]
    pub fn advance(&mut self, now: SimTime) {
        assert!(now >= self.now, "time went back for a circuit breaker: {now} < {}", self.now);
        self.now = now;
        match &mut self.machine {
            Machine::Resilience4j(m) => m.advance(now, &mut self.transitions),
            Machine::Hystrix(m) => m.advance(now, &mut self.transitions),
            Machine::Consecutive(_) => {}
        }
    }

    /// Whether transitions wait to be drained: the loop drains only then.
    #[inline]
    pub fn has_transitions(&self) -> bool {
        !self.transitions.is_empty()
    }

    /// Transitions since the last call, in order (the loop writes them to transitions.csv).
    #[inline]
    pub fn drain_transitions(&mut self) -> std::vec::Drain<'_, Transition> {
        self.transitions.drain(..)
    }

    /// Counters: calls permitted, not permitted, successes, failures, slow calls and
    /// releases, since creation.
    pub fn counters(&self) -> BreakerCounters {
        self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_are_the_library_defaults() {
        let r = Resilience4jConfig::default();
        assert_eq!(r.failure_rate_threshold, 50.0);
        assert_eq!(r.slow_call_rate_threshold, 100.0);
        assert_eq!(r.slow_call_duration_threshold, SimDuration::from_secs(60));
        assert_eq!(r.wait_duration_in_open_state, SimDuration::from_secs(60));
        assert_eq!(r.permitted_calls_in_half_open_state, 10);
        assert_eq!(r.sliding_window, SlidingWindow::CountBased { size: 100 });
        assert_eq!(r.minimum_number_of_calls, 100);
        assert!(!r.automatic_transition_from_open_to_half_open);
        let h = HystrixConfig::default();
        assert_eq!((h.request_volume_threshold, h.error_threshold_percentage, h.buckets), (20, 50, 10));
        assert_eq!(h.sleep_window, SimDuration::from_secs(5));
        assert_eq!(h.rolling_window, SimDuration::from_secs(10));
        assert_eq!(h.health_snapshot_interval, SimDuration::from_millis(500));
        assert!(BreakerConfig::default().validate().is_ok());
    }

    #[test]
    fn validation_rejects_what_the_libraries_reject() {
        let r4j = |f: fn(&mut Resilience4jConfig)| {
            let mut c = Resilience4jConfig::default();
            f(&mut c);
            BreakerConfig::Resilience4j(c).validate()
        };
        assert!(r4j(|c| c.failure_rate_threshold = 0.0).unwrap_err().contains("failure_rate_threshold"));
        assert!(r4j(|c| c.slow_call_rate_threshold = 100.5).is_err());
        assert!(r4j(|c| c.wait_duration_in_open_state = SimDuration::from_micros(999)).is_err());
        assert!(r4j(|c| c.wait_interval_multiplier = 0.5).is_err());
        assert!(r4j(|c| c.permitted_calls_in_half_open_state = 0).is_err());
        assert!(r4j(|c| c.sliding_window = SlidingWindow::TimeBased { seconds: 0 }).is_err());
        assert!(r4j(|c| c.minimum_number_of_calls = 0).is_err());
        let hystrix = HystrixConfig { health_snapshot_interval: SimDuration::ZERO, ..HystrixConfig::default() };
        assert!(BreakerConfig::Hystrix(hystrix).validate().is_err());
        let consecutive = ConsecutiveConfig { failure_threshold: 0, ..ConsecutiveConfig::default() };
        assert!(BreakerConfig::ConsecutiveFailures(consecutive).validate().is_err());
    }

    #[test]
    fn causes_display_as_short_csv_safe_text() {
        let c = TransitionCause::FailureRateExceeded { rate: 62.5, threshold: 50.0 };
        assert_eq!(c.to_string(), "failure-rate 62.5% >= 50%");
        let c = TransitionCause::ErrorPercentageExceeded { percentage: 55, threshold: 50, requests: 40 };
        assert_eq!(c.to_string(), "error-percentage 55% >= 50% of 40 requests");
        assert_eq!(TransitionCause::ConsecutiveFailures { n: 5 }.to_string(), "consecutive-failures 5");
        assert_eq!(BreakerState::HalfOpen.to_string(), "HALF_OPEN");
        let c = TransitionCause::BothRatesExceeded {
            failure_rate: 100.0,
            failure_threshold: 50.0,
            slow_call_rate: 100.0,
            slow_call_threshold: 100.0,
        };
        assert!(!c.to_string().contains(','));
    }

    #[test]
    fn counters_tally_every_call_and_outcome() {
        let config = Resilience4jConfig {
            slow_call_duration_threshold: SimDuration::from_millis(100),
            ..Resilience4jConfig::default()
        };
        let mut b = CircuitBreaker::new(&BreakerConfig::Resilience4j(config), SimTime::ZERO);
        for _ in 0..3 {
            b.try_acquire(SimTime::ZERO).unwrap();
        }
        b.on_result(SimTime(1), SimDuration::from_millis(101), true);
        b.on_result(SimTime(2), SimDuration::from_millis(100), false);
        b.release(SimTime(3));
        let c = b.counters();
        assert_eq!((c.permitted, c.not_permitted, c.successes, c.failures, c.slow, c.released), (3, 0, 1, 1, 1, 1));
    }

    #[test]
    #[should_panic(expected = "time went back")]
    fn time_going_back_is_a_bug() {
        let mut b = CircuitBreaker::new(&BreakerConfig::default(), SimTime(10));
        b.advance(SimTime(9));
    }

    // ---- Property tests: the admission invariants of every flavour. ----

    /// A configuration with small numbers so that every state is reached often.
    fn config_strategy() -> impl Strategy<Value = BreakerConfig> {
        let r4j = (
            (1u32..=100, 1u32..=100, 1u64..=300),
            (1u64..=3_000, prop_oneof![Just(1.0), 1.0f64..3.0], prop::option::of(1u64..=10_000)),
            (1u32..=5, prop_oneof![Just(0u64), 1u64..=3_000]),
            (any::<bool>(), 1u32..=10, 1u32..=12, any::<bool>()),
            prop_oneof![
                6 => Just(R4jMode::Normal),
                1 => Just(R4jMode::Disabled),
                1 => Just(R4jMode::ForcedOpen),
                1 => Just(R4jMode::MetricsOnly)
            ],
        )
            .prop_map(|((fail, slow, slow_ms), (wait_ms, mult, max_ms), (permitted, max_wait_ms), w, mode)| {
                let (time_based, size, minimum, automatic) = w;
                BreakerConfig::Resilience4j(Resilience4jConfig {
                    failure_rate_threshold: f64::from(fail),
                    slow_call_rate_threshold: f64::from(slow),
                    slow_call_duration_threshold: SimDuration::from_millis(slow_ms),
                    wait_duration_in_open_state: SimDuration::from_millis(wait_ms),
                    wait_interval_multiplier: mult,
                    wait_duration_max: max_ms.map(SimDuration::from_millis),
                    permitted_calls_in_half_open_state: permitted,
                    max_wait_duration_in_half_open_state: SimDuration::from_millis(max_wait_ms),
                    sliding_window: if time_based {
                        SlidingWindow::TimeBased { seconds: size }
                    } else {
                        SlidingWindow::CountBased { size }
                    },
                    minimum_number_of_calls: minimum,
                    automatic_transition_from_open_to_half_open: automatic,
                    mode,
                })
            });
        let hystrix = (0u32..=6, 0u32..=100, 0u64..=3_000, 1u64..=10, 50u64..=1_000, 0u8..10).prop_map(
            |(volume, pct, sleep_ms, n, interval_ms, forced)| {
                BreakerConfig::Hystrix(HystrixConfig {
                    request_volume_threshold: volume,
                    error_threshold_percentage: pct,
                    sleep_window: SimDuration::from_millis(sleep_ms),
                    rolling_window: SimDuration::from_millis(interval_ms * n),
                    buckets: 10,
                    health_snapshot_interval: SimDuration::from_millis(interval_ms),
                    force_open: forced == 0,
                    force_closed: forced == 1,
                })
            },
        );
        let consecutive = (1u32..=5, 0u64..=3_000).prop_map(|(n, ms)| {
            BreakerConfig::ConsecutiveFailures(ConsecutiveConfig {
                failure_threshold: n,
                recovery_timeout: SimDuration::from_millis(ms),
            })
        });
        prop_oneof![3 => r4j, 2 => hystrix, 1 => consecutive]
    }

    #[derive(Clone, Debug)]
    enum Op {
        Acquire,
        /// Report the outstanding call at this index (modulo), as a failure or not.
        Report {
            pick: usize,
            failure: bool,
        },
        Release {
            pick: usize,
        },
        Advance,
        /// Jump to the announced wake-up, if any.
        Wakeup,
    }

    fn op_strategy() -> impl Strategy<Value = (u64, Op)> {
        let op = prop_oneof![
            4 => Just(Op::Acquire),
            4 => (any::<usize>(), prop::bool::weighted(0.6)).prop_map(|(pick, failure)| Op::Report { pick, failure }),
            1 => any::<usize>().prop_map(|pick| Op::Release { pick }),
            1 => Just(Op::Advance),
            1 => Just(Op::Wakeup),
        ];
        // Often the same instant, sometimes a long gap.
        let dt = prop_oneof![3 => Just(0u64), 6 => 0u64..=200, 1 => 0u64..=5_000];
        (dt, op)
    }

    /// What the property test knows from the transitions it has drained.
    struct Seen {
        state: BreakerState,
        last_at: SimTime,
        /// Calls admitted and released in the current HALF_OPEN episode.
        episode: Option<(u64, u64)>,
    }

    impl Seen {
        fn absorb(&mut self, b: &mut CircuitBreaker, now: SimTime) -> Result<(), TestCaseError> {
            for t in b.drain_transitions() {
                prop_assert_eq!(t.from, self.state, "transition {:?} does not start from the state before", t);
                prop_assert!(t.at >= self.last_at && t.at <= now, "transition {:?} out of time order", t);
                self.state = t.to;
                self.last_at = t.at;
                self.episode = (t.to == BreakerState::HalfOpen).then_some((0, 0));
            }
            prop_assert_eq!(self.state, b.state(), "state() disagrees with the transitions");
            Ok(())
        }
    }

    /// How many calls one HALF_OPEN episode may have out at once.
    fn half_open_permits(config: &BreakerConfig) -> u64 {
        match config {
            BreakerConfig::Resilience4j(c) => u64::from(c.permitted_calls_in_half_open_state),
            BreakerConfig::Hystrix(_) | BreakerConfig::ConsecutiveFailures(_) => 1,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_admits_while_open_nor_beyond_the_half_open_permits(
            config in config_strategy(),
            ops in prop::collection::vec(op_strategy(), 1..300),
        ) {
            let permits = half_open_permits(&config);
            let mut b = CircuitBreaker::new(&config, SimTime::ZERO);
            let mut now = SimTime::ZERO;
            let mut outstanding: Vec<SimTime> = Vec::new();
            let mut seen = Seen { state: b.state(), last_at: SimTime::ZERO, episode: None };
            for (dt, op) in ops {
                now = now + SimDuration::from_millis(dt);
                if let Op::Wakeup = op && let Some(w) = b.next_wakeup() {
                    now = w;
                }
                // Time-driven transitions first, so that the operation's own effect is
                // counted in the episode it belongs to.
                b.advance(now);
                seen.absorb(&mut b, now)?;
                match op {
                    Op::Acquire => {
                        let result = b.try_acquire(now);
                        seen.absorb(&mut b, now)?;
                        let state = seen.state;
                        if result.is_ok() {
                            outstanding.push(now);
                            prop_assert!(
                                !matches!(state, BreakerState::Open | BreakerState::ForcedOpen),
                                "admitted a call while {}", state
                            );
                            if state == BreakerState::HalfOpen {
                                let (admitted, released) = seen.episode.as_mut().expect("HALF_OPEN without an episode");
                                *admitted += 1;
                                prop_assert!(*admitted <= permits + *released, "{} admitted, {} released", admitted, released);
                                if *released == 0 {
                                    prop_assert!(*admitted <= permits);
                                }
                            }
                        } else {
                            prop_assert!(
                                matches!(state, BreakerState::Open | BreakerState::HalfOpen | BreakerState::ForcedOpen),
                                "rejected a call while {}", state
                            );
                        }
                    }
                    Op::Report { pick, failure } if !outstanding.is_empty() => {
                        let start = outstanding.remove(pick % outstanding.len());
                        b.on_result(now, now.since(start), failure);
                        seen.absorb(&mut b, now)?;
                    }
                    Op::Release { pick } if !outstanding.is_empty() => {
                        outstanding.remove(pick % outstanding.len());
                        let before = seen.state;
                        b.release(now);
                        seen.absorb(&mut b, now)?;
                        if before == BreakerState::HalfOpen
                            && seen.state == BreakerState::HalfOpen
                            && let Some((_, released)) = seen.episode.as_mut()
                        {
                            *released += 1;
                        }
                    }
                    Op::Advance | Op::Wakeup | Op::Report { .. } | Op::Release { .. } => {}
                }
                if let Some(w) = b.next_wakeup() {
                    prop_assert!(w > now, "wake-up {} is not after now {}", w, now);
                }
            }
        }
    }
}
