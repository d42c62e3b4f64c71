//! Resilience4j's sliding windows: the last N outcomes, or the outcomes of the last N epoch seconds.
//!
//! Both keep a running total and subtract what they evict (Resilience4j's "subtract on
//! evict"), so a snapshot costs O(1) and memory is fixed by the window size: one byte per
//! outcome for `FixedSizeSlidingWindowMetrics`, one tally per second for
//! `SlidingTimeWindowMetrics`.

use crate::time::{NANOS_PER_SEC, SimTime};

/// One recorded call: whether it failed and whether it was slow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Outcome {
    pub failed: bool,
    pub slow: bool,
}

impl Outcome {
    /// Packs into one byte: bit 0 a call, bit 1 failed, bit 2 slow.
    fn pack(self) -> u8 {
        1 | (u8::from(self.failed) << 1) | (u8::from(self.slow) << 2)
    }
}

/// Counts of calls, failed calls and slow calls (Resilience4j's `TotalAggregation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Tally {
    pub calls: u32,
    pub failed: u32,
    pub slow: u32,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        self.calls += 1;
        self.failed += u32::from(o.failed);
        self.slow += u32::from(o.slow);
    }

    fn add_packed(&mut self, bits: u8) {
        self.calls += u32::from(bits & 1);
        self.failed += u32::from((bits >> 1) & 1);
        self.slow += u32::from((bits >> 2) & 1);
    }

    fn sub_packed(&mut self, bits: u8) {
        self.calls -= u32::from(bits & 1);
        self.failed -= u32::from((bits >> 1) & 1);
        self.slow -= u32::from((bits >> 2) & 1);
    }

    fn sub(&mut self, other: Tally) {
        self.calls -= other.calls;
        self.failed -= other.failed;
        self.slow -= other.slow;
    }

    /// `failed * 100.0f / calls` in single precision, as `SnapshotImpl.getFailureRate`.
    pub fn failure_rate(self) -> f32 {
        if self.calls == 0 { 0.0 } else { self.failed as f32 * 100.0 / self.calls as f32 }
    }

    /// `slow * 100.0f / calls` in single precision, as `SnapshotImpl.getSlowCallRate`.
    pub fn slow_call_rate(self) -> f32 {
        if self.calls == 0 { 0.0 } else { self.slow as f32 * 100.0 / self.calls as f32 }
    }
}

/// The last `size` outcomes in a ring (`FixedSizeSlidingWindowMetrics`).
#[derive(Clone, Debug)]
pub(super) struct CountWindow {
    slots: Vec<u8>,
    head: usize,
    total: Tally,
}

impl CountWindow {
    pub fn new(size: u32) -> Self {
        assert!(size >= 1, "a count window holds at least one outcome");
        CountWindow { slots: vec![0; size as usize], head: 0, total: Tally::default() }
    }

    /// Moves the head by one, evicting the outcome there, and records `o` in its place.
    #[inline]
    pub fn record(&mut self, o: Outcome) -> Tally {
        // A compare, not a division (`%`): this runs for every call a breaker hears.
        self.head += 1;
        if self.head == self.slots.len() {
            self.head = 0;
        }
        self.total.sub_packed(self.slots[self.head]);
        self.slots[self.head] = o.pack();
        self.total.add_packed(self.slots[self.head]);
        self.total
    }
}

/// The outcomes of the current epoch second and the `seconds - 1` before it
/// (`SlidingTimeWindowMetrics`). Simulated time 0 is epoch second 0.
#[derive(Clone, Debug)]
pub(super) struct TimeWindow {
    buckets: Vec<Tally>,
    head: usize,
    head_second: u64,
    total: Tally,
}

impl TimeWindow {
    pub fn new(seconds: u32, now: SimTime) -> Self {
        assert!(seconds >= 1, "a time window spans at least one second");
        TimeWindow {
            buckets: vec![Tally::default(); seconds as usize],
            head: 0,
            head_second: now.0 / NANOS_PER_SEC,
            total: Tally::default(),
        }
    }

    pub fn record(&mut self, now: SimTime, o: Outcome) -> Tally {
        self.move_to(now);
        self.total.add(o);
        self.buckets[self.head].add(o);
        self.total
    }

    #[cfg(test)]
    pub fn snapshot(&mut self, now: SimTime) -> Tally {
        self.move_to(now);
        self.total
    }

    /// `moveWindowToCurrentEpochSecond`: advance the head one bucket per elapsed second (at
    /// most the window size), subtracting and clearing each bucket it lands on.
    fn move_to(&mut self, now: SimTime) {
        let second = now.0 / NANOS_PER_SEC;
        assert!(second >= self.head_second, "time went back in a time window");
        let steps = (second - self.head_second).min(self.buckets.len() as u64);
        for _ in 0..steps {
            self.head = (self.head + 1) % self.buckets.len();
            self.total.sub(self.buckets[self.head]);
            self.buckets[self.head] = Tally::default();
        }
        self.head_second = second;
    }
}

/// The window a Resilience4j state records into.
#[derive(Clone, Debug)]
pub(super) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    /// Records an outcome and returns the window's totals after it.
    #[inline]
    pub fn record(&mut self, now: SimTime, o: Outcome) -> Tally {
        match self {
            Window::Count(w) => w.record(o),
            Window::Time(w) => w.record(now, o),
        }
    }

    /// The window's totals at `now` (a time window first drops the seconds that passed).
    #[cfg(test)]
    pub fn snapshot(&mut self, now: SimTime) -> Tally {
        match self {
            Window::Count(w) => w.total,
            Window::Time(w) => w.snapshot(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAIL: Outcome = Outcome { failed: true, slow: false };
    const OK: Outcome = Outcome { failed: false, slow: false };
    const SLOW_FAIL: Outcome = Outcome { failed: true, slow: true };

    fn at_ms(ms: u64) -> SimTime {
        SimTime(ms * 1_000_000)
    }

    #[test]
    fn count_window_evicts_the_oldest_outcome() {
        let mut w = CountWindow::new(3);
        assert_eq!(w.record(FAIL), Tally { calls: 1, failed: 1, slow: 0 });
        assert_eq!(w.record(SLOW_FAIL), Tally { calls: 2, failed: 2, slow: 1 });
        assert_eq!(w.record(OK), Tally { calls: 3, failed: 2, slow: 1 });
        // The fourth outcome pushes out the first failure, the fifth the slow failure.
        assert_eq!(w.record(OK), Tally { calls: 3, failed: 1, slow: 1 });
        assert_eq!(w.record(OK), Tally { calls: 3, failed: 0, slow: 0 });
    }

    #[test]
    fn time_window_keeps_the_current_second_and_the_ones_before() {
        let mut w = TimeWindow::new(2, at_ms(0));
        assert_eq!(w.record(at_ms(500), FAIL).calls, 1);
        // Second 1: second 0 is still inside a two-second window.
        assert_eq!(w.record(at_ms(1_999), OK), Tally { calls: 2, failed: 1, slow: 0 });
        // Second 2: the bucket of second 0 expires, the failure with it.
        assert_eq!(w.record(at_ms(2_000), OK), Tally { calls: 2, failed: 0, slow: 0 });
        // A jump past the whole window clears every bucket.
        assert_eq!(w.snapshot(at_ms(9_000)), Tally::default());
        assert_eq!(w.record(at_ms(9_000), FAIL), Tally { calls: 1, failed: 1, slow: 0 });
    }

    #[test]
    fn time_window_buckets_are_epoch_seconds_not_offsets_from_creation() {
        // Created at 0.9 s: the bucket of second 0 ends at 1.0 s, not at 1.9 s.
        let mut w = TimeWindow::new(1, at_ms(900));
        w.record(at_ms(950), FAIL);
        assert_eq!(w.snapshot(at_ms(999)).calls, 1);
        assert_eq!(w.snapshot(at_ms(1_000)).calls, 0);
    }

    #[test]
    fn rates_are_single_precision_percentages() {
        let t = Tally { calls: 3, failed: 1, slow: 2 };
        assert_eq!(t.failure_rate(), 100.0f32 / 3.0);
        assert_eq!(t.slow_call_rate(), 200.0f32 / 3.0);
        assert_eq!(Tally::default().failure_rate(), 0.0);
    }
}
