//! Hystrix's `HystrixCircuitBreakerImpl` (1.5.x, `attemptExecution`) fed by its
//! `HealthCountsStream`.
//!
//! What the source does, and this file with it:
//! - The breaker never looks at individual outcomes while CLOSED. It subscribes to the
//!   health-counts stream, which cuts command completions into buckets
//!   `metrics.healthSnapshot.intervalInMilliseconds` wide (not `rollingStats.numBuckets`:
//!   `HealthCountsStream.getInstance` uses `rollingStats.timeInMilliseconds / interval`
//!   buckets of `interval` each) and, each time a bucket completes, emits the sum of the last
//!   `rolling / interval` completed buckets. The bucket being filled is not in any snapshot:
//!   a burst of failures trips the breaker at the end of its bucket, not at once.
//! - On each snapshot, a CLOSED breaker opens when `totalRequests >= requestVolumeThreshold`
//!   and `errorPercentage >= errorThresholdPercentage`, with
//!   `errorPercentage = (int) ((double) errors / total * 100)`. The open time is the
//!   snapshot's time. Snapshots do nothing to OPEN or HALF_OPEN.
//! - `attemptExecution` while OPEN: strictly after `circuitOpened + sleepWindow` the first
//!   call moves it to HALF_OPEN and goes; every other call is short-circuited (and counts
//!   nowhere). HALF_OPEN admits nothing more.
//! - `markSuccess` / `markNonSuccess` act only in HALF_OPEN, and whichever command reports
//!   first decides (it need not be the trial). Success closes and resets the stream
//!   (`metrics.resetStream()`: a new stream, empty, whose buckets start now); failure
//!   re-opens with a new open time. An unsubscribed command also calls `markNonSuccess`.
//! - A command's completion reaches the stream after the breaker was marked, so a trial's
//!   success is the first request of the fresh stream.
//! - `forceOpen` rejects all and `forceClosed` admits all, whatever the health.
//!
//! The stream starts when the breaker is created (Hystrix starts it with the command's
//! metrics). Times are nanoseconds where Hystrix reads `currentTimeMillis`.

use super::{BreakerState, HystrixConfig, Log, TransitionCause, note};
use crate::time::{SimDuration, SimTime};

/// Requests and errors (failures, timeouts, rejections) in some span: `HealthCounts`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Health {
    pub requests: u64,
    pub errors: u64,
}

impl Health {
    /// `(int) ((double) errorCount / totalCount * 100)`, 0 without requests.
    pub fn error_percentage(self) -> i32 {
        if self.requests == 0 { 0 } else { (self.errors as f64 / self.requests as f64 * 100.0) as i32 }
    }

    fn plus(self, o: Health) -> Health {
        Health { requests: self.requests + o.requests, errors: self.errors + o.errors }
    }

    fn minus(self, o: Health) -> Health {
        Health { requests: self.requests - o.requests, errors: self.errors - o.errors }
    }
}

/// The health-counts stream: a ring of the last `n` completed buckets plus the one filling.
#[derive(Clone, Debug)]
struct HealthStream {
    start: SimTime,
    bucket: SimDuration,
    ring: Vec<Health>,
    /// The slot of the most recently completed bucket.
    head: usize,
    /// Buckets completed since `start`; also the number of the bucket filling.
    completed: u64,
    filling: Health,
    /// The sum of the ring: the latest snapshot.
    snapshot: Health,
}

impl HealthStream {
    fn new(config: &HystrixConfig, now: SimTime) -> Self {
        let buckets = config.rolling_window.as_nanos() / config.health_snapshot_interval.as_nanos();
        assert!(buckets >= 1, "validation guarantees a rolling window of at least one health bucket");
        HealthStream {
            start: now,
            bucket: config.health_snapshot_interval,
            ring: vec![Health::default(); buckets as usize],
            head: 0,
            completed: 0,
            filling: Health::default(),
            snapshot: Health::default(),
        }
    }

    /// When the bucket `completed + j` ends and its snapshot is emitted.
    fn emission(&self, j: u64) -> SimTime {
        let k = self.completed.saturating_add(j).saturating_add(1);
        self.start + SimDuration(self.bucket.as_nanos().saturating_mul(k))
    }

    /// Completes the filling bucket and returns the snapshot emitted with it.
    fn emit(&mut self) -> (SimTime, Health) {
        let at = self.emission(0);
        self.head = (self.head + 1) % self.ring.len();
        self.snapshot = self.snapshot.minus(self.ring[self.head]).plus(self.filling);
        self.ring[self.head] = self.filling;
        self.filling = Health::default();
        self.completed += 1;
        (at, self.snapshot)
    }

    fn is_empty(&self) -> bool {
        self.snapshot == Health::default() && self.filling == Health::default()
    }

    /// With nothing recorded, every snapshot up to `now` is empty: jump to the bucket
    /// filling at `now`.
    fn skip_to(&mut self, now: SimTime) {
        debug_assert!(self.is_empty());
        self.completed = now.since(self.start).as_nanos() / self.bucket.as_nanos();
    }

    /// The snapshots to come if nothing more is recorded: (time, counts), oldest first.
    fn upcoming(&self) -> impl Iterator<Item = (SimTime, Health)> + '_ {
        let n = self.ring.len() as u64;
        (0..=n).scan(self.snapshot, move |s, j| {
            // Snapshot j evicts the slot after the head (j < n), or, at j = n, the bucket
            // that is filling now (it went into that slot at j = 0).
            let slot = (self.head + 1 + j as usize) % self.ring.len();
            *s = if j == 0 {
                s.minus(self.ring[slot]).plus(self.filling)
            } else if j < n {
                s.minus(self.ring[slot])
            } else {
                s.minus(self.filling)
            };
            Some((self.emission(j), *s))
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Closed,
    Open { opened: SimTime },
    HalfOpen,
}

#[derive(Clone, Debug)]
pub(super) struct HystrixBreaker {
    config: HystrixConfig,
    status: Status,
    health: HealthStream,
}

impl HystrixBreaker {
    pub fn new(config: &HystrixConfig, now: SimTime) -> Self {
        HystrixBreaker { config: config.clone(), status: Status::Closed, health: HealthStream::new(config, now) }
    }

    fn forced(&self) -> bool {
        self.config.force_open || self.config.force_closed
    }

    pub fn state(&self) -> BreakerState {
        if self.config.force_open {
            return BreakerState::ForcedOpen;
        }
        if self.config.force_closed {
            return BreakerState::MetricsOnly;
        }
        match self.status {
            Status::Closed => BreakerState::Closed,
            Status::Open { .. } => BreakerState::Open,
            Status::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// The health check of `onNext`.
    fn trips(&self, h: Health) -> bool {
        h.requests >= u64::from(self.config.request_volume_threshold)
            && i64::from(h.error_percentage()) >= i64::from(self.config.error_threshold_percentage)
    }

    /// Whether a snapshot may open the breaker: CLOSED and not forced.
    fn listening(&self) -> bool {
        self.status == Status::Closed && !self.forced()
    }

    /// Emits every snapshot due at or before `now`, opening a CLOSED breaker on the first
    /// one that trips.
    pub fn advance(&mut self, now: SimTime, log: &mut Log) {
        while self.health.emission(0) <= now {
            if self.health.is_empty() && !(self.listening() && self.trips(Health::default())) {
                self.health.skip_to(now);
                break;
            }
            let (at, snapshot) = self.health.emit();
            if self.listening() && self.trips(snapshot) {
                self.status = Status::Open { opened: at };
                let cause = TransitionCause::ErrorPercentageExceeded {
                    percentage: snapshot.error_percentage(),
                    threshold: self.config.error_threshold_percentage,
                    requests: snapshot.requests,
                };
                note(log, at, BreakerState::Closed, BreakerState::Open, cause);
            }
        }
    }

    /// The first upcoming snapshot that would open the breaker if nothing more is reported.
    pub fn next_wakeup(&self) -> Option<SimTime> {
        if !self.listening() {
            return None;
        }
        let volume = u64::from(self.config.request_volume_threshold);
        for (j, (at, snapshot)) in self.health.upcoming().enumerate() {
            if self.trips(snapshot) {
                return Some(at);
            }
            // After the first, snapshots only lose requests.
            if j > 0 && snapshot.requests < volume {
                return None;
            }
        }
        None
    }

    /// `attemptExecution`.
    pub fn try_acquire(&mut self, now: SimTime, log: &mut Log) -> bool {
        if self.config.force_open {
            return false;
        }
        if self.config.force_closed {
            return true;
        }
        match self.status {
            Status::Closed => true,
            Status::Open { opened } if now > opened + self.config.sleep_window => {
                self.status = Status::HalfOpen;
                note(log, now, BreakerState::Open, BreakerState::HalfOpen, TransitionCause::WaitElapsed);
                true
            }
            Status::Open { .. } | Status::HalfOpen => false,
        }
    }

    /// `markSuccess` / `markNonSuccess`, then the completion reaches the stream.
    pub fn on_result(&mut self, now: SimTime, failure: bool, log: &mut Log) {
        if self.status == Status::HalfOpen && !self.forced() {
            if failure {
                self.reopen(now, TransitionCause::TrialFailed, log);
            } else {
                self.status = Status::Closed;
                self.health = HealthStream::new(&self.config, now);
                note(log, now, BreakerState::HalfOpen, BreakerState::Closed, TransitionCause::TrialSucceeded);
            }
        }
        self.health.filling.requests += 1;
        self.health.filling.errors += u64::from(failure);
    }

    /// An unsubscribed command: `markNonSuccess`, and no health event (CANCELLED is not
    /// counted).
    pub fn release(&mut self, now: SimTime, log: &mut Log) {
        if self.status == Status::HalfOpen && !self.forced() {
            self.reopen(now, TransitionCause::TrialCancelled, log);
        }
    }

    fn reopen(&mut self, now: SimTime, cause: TransitionCause, log: &mut Log) {
        self.status = Status::Open { opened: now };
        note(log, now, BreakerState::HalfOpen, BreakerState::Open, cause);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BreakerConfig, CircuitBreaker, Machine, NotPermitted};
    use super::*;

    fn t(ms: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_millis(ms)
    }

    fn breaker(c: HystrixConfig) -> CircuitBreaker {
        CircuitBreaker::new(&BreakerConfig::Hystrix(c), SimTime::ZERO)
    }

    fn calls(b: &mut CircuitBreaker, at: SimTime, n: u32, failure: bool) {
        for _ in 0..n {
            b.try_acquire(at).expect("call not permitted");
            b.on_result(at, SimDuration::from_millis(1), failure);
        }
    }

    fn causes(b: &mut CircuitBreaker) -> Vec<(SimTime, BreakerState, String)> {
        b.drain_transitions().map(|t| (t.at, t.to, t.cause.to_string())).collect()
    }

    fn stream(b: &CircuitBreaker) -> &HealthStream {
        match &b.machine {
            Machine::Hystrix(m) => &m.health,
            _ => unreachable!(),
        }
    }

    /// A default breaker opened at 500 ms by 20 failures at 100 ms.
    fn opened_at_500ms() -> CircuitBreaker {
        let mut b = breaker(HystrixConfig::default());
        calls(&mut b, t(100), 20, true);
        b.advance(t(500));
        assert_eq!(b.state(), BreakerState::Open);
        b.drain_transitions();
        b
    }

    #[test]
    fn error_percentage_truncates_like_java_double_arithmetic() {
        assert_eq!(Health { requests: 100, errors: 29 }.error_percentage(), 28, "0.29 * 100 = 28.999999999999996");
        assert_eq!(Health { requests: 3, errors: 2 }.error_percentage(), 66);
        assert_eq!(Health { requests: 0, errors: 0 }.error_percentage(), 0);
        let c = HystrixConfig { error_threshold_percentage: 29, ..HystrixConfig::default() };
        let mut b = breaker(c);
        calls(&mut b, t(0), 29, true);
        calls(&mut b, t(0), 71, false);
        b.advance(t(10_000));
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn burst_of_failures_trips_only_at_the_next_snapshot() {
        let mut b = breaker(HystrixConfig::default());
        calls(&mut b, t(100), 20, true);
        assert_eq!(b.state(), BreakerState::Closed);
        calls(&mut b, t(499), 1, true);
        assert_eq!(b.state(), BreakerState::Closed, "the bucket is still filling");
        assert_eq!(b.next_wakeup(), Some(t(500)));
        b.advance(t(500));
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(
            causes(&mut b),
            vec![(t(500), BreakerState::Open, "error-percentage 100% >= 50% of 21 requests".into())]
        );
    }

    #[test]
    fn a_call_after_the_snapshot_sees_the_breaker_open_without_a_wakeup() {
        let mut b = breaker(HystrixConfig::default());
        calls(&mut b, t(100), 20, true);
        assert_eq!(b.try_acquire(t(700)), Err(NotPermitted));
        assert_eq!(causes(&mut b)[0].0, t(500), "stamped with the snapshot's time");
    }

    #[test]
    fn outcomes_at_a_bucket_boundary_go_to_the_next_bucket() {
        let mut b = breaker(HystrixConfig::default());
        b.advance(t(500));
        calls(&mut b, t(500), 20, true);
        assert_eq!(b.next_wakeup(), Some(t(1_000)));
        b.advance(t(999));
        assert_eq!(b.state(), BreakerState::Closed);
        b.advance(t(1_000));
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn below_the_request_volume_never_trips() {
        let mut b = breaker(HystrixConfig::default());
        calls(&mut b, t(100), 19, true);
        assert_eq!(b.next_wakeup(), None);
        b.advance(t(20_000));
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn health_buckets_roll_off_after_the_rolling_window() {
        // 10 failures in bucket 0 ([0, 500 ms)) and 10 more in bucket 19 ([9.5 s, 10 s)):
        // the snapshot at 10 s holds buckets 0..=19, 20 requests, and trips.
        let mut b = breaker(HystrixConfig::default());
        calls(&mut b, t(100), 10, true);
        calls(&mut b, t(9_900), 10, true);
        assert_eq!(b.next_wakeup(), Some(t(10_000)));
        // 10 more in bucket 20 instead: bucket 0 has left the window when it is emitted.
        let mut b = breaker(HystrixConfig::default());
        calls(&mut b, t(100), 10, true);
        calls(&mut b, t(10_000), 10, true);
        assert_eq!(b.next_wakeup(), None);
        b.advance(t(20_000));
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn window_is_rolling_over_snapshot_interval_buckets_not_num_buckets() {
        // numBuckets 2 would make 5 s buckets, whose first snapshot comes at 5 s.
        let mut b = breaker(HystrixConfig { buckets: 2, ..HystrixConfig::default() });
        calls(&mut b, t(100), 20, true);
        assert_eq!(b.next_wakeup(), Some(t(500)));
        let mut b =
            breaker(HystrixConfig { health_snapshot_interval: SimDuration::from_millis(250), ..Default::default() });
        calls(&mut b, t(600), 20, true);
        assert_eq!(b.next_wakeup(), Some(t(750)));
    }

    #[test]
    fn a_long_quiet_spell_empties_the_window() {
        let mut b = breaker(HystrixConfig::default());
        calls(&mut b, t(100), 10, true);
        calls(&mut b, t(3_600_000), 10, true);
        assert_eq!(b.next_wakeup(), None);
        assert_eq!(stream(&b).completed, 7_200);
        assert_eq!(stream(&b).snapshot, Health::default());
    }

    #[test]
    fn one_trial_call_strictly_after_the_sleep_window() {
        let mut b = opened_at_500ms();
        assert_eq!(b.next_wakeup(), None, "OPEN -> HALF_OPEN waits for a call");
        assert_eq!(b.try_acquire(t(5_500)), Err(NotPermitted), "exactly the sleep window is not after it");
        let trial = t(5_500) + SimDuration(1);
        assert_eq!(b.try_acquire(trial), Ok(()));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.try_acquire(trial), Err(NotPermitted));
        assert_eq!(b.try_acquire(t(60_000)), Err(NotPermitted), "HALF_OPEN waits for the trial's outcome");
        assert_eq!(causes(&mut b), vec![(trial, BreakerState::HalfOpen, "wait-elapsed".into())]);
    }

    #[test]
    fn trial_success_closes_and_restarts_the_health_stream() {
        let mut b = opened_at_500ms();
        b.try_acquire(t(5_501)).unwrap();
        b.on_result(t(6_200), SimDuration::from_millis(699), false);
        assert_eq!(b.state(), BreakerState::Closed);
        // The old 20 failures are gone; the trial is the fresh stream's first request, and
        // its buckets start at 6.2 s: 19 failures make 19 of 20 = 95 %, seen at 6.7 s.
        calls(&mut b, t(6_300), 19, true);
        assert_eq!(b.next_wakeup(), Some(t(6_700)));
        b.advance(t(6_700));
        let log = causes(&mut b);
        assert_eq!(
            log.last().unwrap(),
            &(t(6_700), BreakerState::Open, "error-percentage 95% >= 50% of 20 requests".into())
        );
        assert_eq!(log[1], (t(6_200), BreakerState::Closed, "trial-succeeded".into()));
    }

    #[test]
    fn trial_failure_reopens_with_a_new_open_time() {
        let mut b = opened_at_500ms();
        b.try_acquire(t(5_501)).unwrap();
        b.on_result(t(6_000), SimDuration::from_millis(499), true);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.try_acquire(t(11_000)), Err(NotPermitted));
        assert_eq!(b.try_acquire(t(11_000) + SimDuration(1)), Ok(()));
        assert_eq!(causes(&mut b)[1], (t(6_000), BreakerState::Open, "trial-failed".into()));
    }

    #[test]
    fn a_cancelled_trial_reopens_as_mark_non_success_does() {
        let mut b = opened_at_500ms();
        b.try_acquire(t(5_501)).unwrap();
        b.release(t(6_000));
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.try_acquire(t(11_000)), Err(NotPermitted));
        assert_eq!(causes(&mut b)[1], (t(6_000), BreakerState::Open, "trial-cancelled".into()));
    }

    #[test]
    fn any_result_reported_while_half_open_decides() {
        // A call admitted while CLOSED and still running when the trial goes decides if it
        // reports first: Hystrix's markSuccess does not know which command it is.
        let mut b = breaker(HystrixConfig::default());
        b.try_acquire(t(0)).unwrap();
        calls(&mut b, t(100), 20, true);
        b.advance(t(500));
        b.try_acquire(t(5_501)).unwrap();
        b.on_result(t(5_600), SimDuration::from_millis(5_600), false);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn short_circuited_calls_do_not_count() {
        let mut b = opened_at_500ms();
        let before = (stream(&b).snapshot, stream(&b).filling);
        for i in 0..100 {
            assert!(b.try_acquire(t(600 + i)).is_err());
        }
        assert_eq!((stream(&b).snapshot, stream(&b).filling), before);
    }

    #[test]
    fn force_open_rejects_and_force_closed_admits_whatever_the_health() {
        let mut b = breaker(HystrixConfig { force_open: true, force_closed: true, ..HystrixConfig::default() });
        assert_eq!(b.try_acquire(t(0)), Err(NotPermitted));
        assert_eq!(b.state(), BreakerState::ForcedOpen);
        let mut b = breaker(HystrixConfig { force_closed: true, ..HystrixConfig::default() });
        calls(&mut b, t(0), 100, true);
        assert_eq!(b.next_wakeup(), None);
        calls(&mut b, t(60_000), 1, true);
        assert_eq!(b.state(), BreakerState::MetricsOnly);
        assert!(causes(&mut b).is_empty());
    }
}
