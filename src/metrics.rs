//! Metrics: outcome counters, HDR latency histograms, batch means and station integrals.
//!
//! Everything here has a fixed size per route, service and instance, so memory does not
//! grow with the number of requests simulated. Latencies are recorded in microseconds
//! (three significant digits) in the histograms and summed exactly in nanoseconds for
//! means. Each statistic has a whole-run part (after warm-up) and a window part that the
//! simulator flushes to the time series and resets at each window's end.

use crate::outcome::Outcome;
use crate::time::{SimDuration, SimTime};
use hdrhistogram::Histogram;

/// Counts by outcome, with error statuses counted apart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub ok: u64,
    pub error: u64,
    pub timeout: u64,
    pub rejected: u64,
    pub dropped: u64,
    pub short_circuited: u64,
    pub overloaded: u64,
    /// (status, count), sorted by status.
    pub by_status: Vec<(u16, u64)>,
}

impl Counts {
    #[inline]
    pub fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Ok => self.ok += 1,
            Outcome::Error(s) => self.add_error(s),
            Outcome::Timeout => self.timeout += 1,
            Outcome::Rejected => self.rejected += 1,
            Outcome::Dropped => self.dropped += 1,
            Outcome::ShortCircuited => self.short_circuited += 1,
            Outcome::Overloaded => self.overloaded += 1,
        }
    }

    /// Kept out of line, so that `add` stays small enough to inline.
    #[inline(never)]
    fn add_error(&mut self, status: u16) {
        self.error += 1;
        match self.by_status.binary_search_by_key(&status, |&(k, _)| k) {
            Ok(i) => self.by_status[i].1 += 1,
            Err(i) => self.by_status.insert(i, (status, 1)),
        }
    }

    pub fn total(&self) -> u64 {
        self.ok + self.failed()
    }

    /// Adds another set of counts to these.
    pub fn merge(&mut self, o: &Counts) {
        self.ok += o.ok;
        self.error += o.error;
        self.timeout += o.timeout;
        self.rejected += o.rejected;
        self.dropped += o.dropped;
        self.short_circuited += o.short_circuited;
        self.overloaded += o.overloaded;
        for &(s, n) in &o.by_status {
            match self.by_status.binary_search_by_key(&s, |&(k, _)| k) {
                Ok(i) => self.by_status[i].1 += n,
                Err(i) => self.by_status.insert(i, (s, n)),
            }
        }
    }

    /// Back to zero, keeping the allocation of `by_status`.
    pub fn clear(&mut self) {
        let Counts { ok, error, timeout, rejected, dropped, short_circuited, overloaded, by_status } = self;
        for n in [ok, error, timeout, rejected, dropped, short_circuited, overloaded] {
            *n = 0;
        }
        by_status.clear();
    }

    pub fn failed(&self) -> u64 {
        self.error + self.timeout + self.rejected + self.dropped + self.short_circuited + self.overloaded
    }
}

/// A latency distribution: HDR histogram plus exact sum and maximum.
#[derive(Clone, Debug)]
pub struct Latency {
    hist: Histogram<u64>,
    /// Saturates after 584 years of summed latency.
    sum_ns: u64,
    max_ns: u64,
}

impl Default for Latency {
    /// Three significant digits: the whole run's precision.
    fn default() -> Self {
        Latency::with_digits(3)
    }
}

impl Latency {
    /// An empty distribution with this many significant decimal digits (1 to 5).
    pub fn with_digits(digits: u8) -> Latency {
        Latency { hist: Histogram::new(digits).expect("1 to 5 significant digits is valid"), sum_ns: 0, max_ns: 0 }
    }

    #[inline(always)]
    pub fn record(&mut self, d: SimDuration) {
        let ns = d.as_nanos();
        self.sum_ns = self.sum_ns.saturating_add(ns);
        self.max_ns = self.max_ns.max(ns);
        // The histogram resizes itself, so any value fits.
        self.hist.record(ns / 1_000).expect("an auto-resizing histogram records any value");
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    pub fn mean_ms(&self) -> f64 {
        if self.count() == 0 { 0.0 } else { self.sum_ns as f64 / self.count() as f64 / 1e6 }
    }

    /// The value at quantile `q` (0..=1) in milliseconds, from the histogram.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.count() == 0 {
            return 0.0;
        }
        // The histogram reports the top of a bucket; never beyond the exact maximum.
        (self.hist.value_at_quantile(q) as f64 / 1e3).min(self.max_ms())
    }

    /// The values at several quantiles, in increasing order, in milliseconds: each as
    /// `quantile_ms` gives it, in one pass over the histogram.
    pub fn quantiles_ms<const N: usize>(&self, qs: [f64; N]) -> [f64; N] {
        debug_assert!(qs.is_sorted(), "quantiles in increasing order");
        let mut out = [0.0; N];
        if self.count() == 0 {
            return out;
        }
        let max = self.max_ms();
        for (o, v) in out.iter_mut().zip(self.hist.value_at_quantiles(qs)) {
            *o = (v as f64 / 1e3).min(max);
        }
        out
    }

    pub fn max_ms(&self) -> f64 {
        self.max_ns as f64 / 1e6
    }

    /// The exact sum of the recorded latencies, in nanoseconds (saturating).
    pub fn sum_ns(&self) -> u64 {
        self.sum_ns
    }

    /// Adds another distribution into this one.
    pub fn add(&mut self, other: &Latency) {
        self.hist.add(&other.hist).expect("an auto-resizing histogram takes any values");
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    pub fn reset(&mut self) {
        // An empty histogram has recorded nothing since it was made or reset (its count
        // grows with every record and every non-empty addition), so it is as a reset would
        // leave it: zeroing its counts (several KiB once a long latency resized them) again
        // would change nothing. The total's window histogram is reset at each window's end
        // and again before the routes' are merged into it.
        if !self.hist.is_empty() {
            self.hist.reset();
        }
        self.sum_ns = 0;
        self.max_ns = 0;
    }

    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }
}

/// Batch means for a confidence interval on a mean from one long, correlated run.
///
/// Observations are grouped, in the order they complete, into between 32 and 64 batches;
/// when 64 are full, neighbours merge and the batch size doubles. Memory is constant.
#[derive(Clone, Debug)]
pub struct BatchMeans {
    batches: Vec<f64>,
    batch_size: u64,
    partial_sum: f64,
    partial_n: u64,
}

const BATCHES_MAX: usize = 64;

impl Default for BatchMeans {
    fn default() -> Self {
        BatchMeans { batches: Vec::with_capacity(BATCHES_MAX), batch_size: 1, partial_sum: 0.0, partial_n: 0 }
    }
}

impl BatchMeans {
    #[inline]
    pub fn record(&mut self, x: f64) {
        self.partial_sum += x;
        self.partial_n += 1;
        if self.partial_n == self.batch_size {
            self.close_batch();
        }
    }

    #[inline(never)]
    fn close_batch(&mut self) {
        self.batches.push(self.partial_sum / self.batch_size as f64);
        self.partial_sum = 0.0;
        self.partial_n = 0;
        if self.batches.len() == BATCHES_MAX {
            for i in 0..BATCHES_MAX / 2 {
                self.batches[i] = 0.5 * (self.batches[2 * i] + self.batches[2 * i + 1]);
            }
            self.batches.truncate(BATCHES_MAX / 2);
            self.batch_size *= 2;
        }
    }

    /// Half-width of the 95 % confidence interval of the mean, from the full batches
    /// (Student's t with k − 1 degrees of freedom); `None` with fewer than 8 batches.
    pub fn half_width_95(&self) -> Option<f64> {
        let k = self.batches.len();
        if k < 8 {
            return None;
        }
        let mean = self.batches.iter().sum::<f64>() / k as f64;
        let var = self.batches.iter().map(|b| (b - mean) * (b - mean)).sum::<f64>() / (k - 1) as f64;
        Some(t_975(k - 1) * (var / k as f64).sqrt())
    }
}

/// The 97.5 % quantile of Student's t by the Cornish–Fisher expansion (error < 1e-3 for df >= 30, 4e-3 at df 10;
/// `BatchMeans` uses df >= 31).
pub fn t_975(df: usize) -> f64 {
    let z: f64 = 1.959_963_985;
    let n = df as f64;
    z + (z.powi(3) + z) / (4.0 * n) + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
}

/// Client-side statistics of a route or a destination service.
///
/// Each latency goes to two histograms: the window's, at two significant digits (small,
/// so closing a window every second stays cheap), and the whole run's, at three.
#[derive(Clone, Debug)]
pub struct FlowStats {
    pub counts: Counts,
    pub latency: Latency,
    pub batch: BatchMeans,
    pub window_counts: Counts,
    pub window_latency: Latency,
}

/// Significant digits of the time series' latency percentiles.
pub const WINDOW_DIGITS: u8 = 2;

impl Default for FlowStats {
    fn default() -> Self {
        FlowStats {
            counts: Counts::default(),
            latency: Latency::default(),
            batch: BatchMeans::default(),
            window_counts: Counts::default(),
            window_latency: Latency::with_digits(WINDOW_DIGITS),
        }
    }
}

impl FlowStats {
    #[inline(always)]
    pub fn record(&mut self, latency: SimDuration, outcome: Outcome, measured: bool) {
        self.window_counts.add(outcome);
        self.window_latency.record(latency);
        if measured {
            self.counts.add(outcome);
            self.latency.record(latency);
            self.batch.record(latency.as_millis_f64());
        }
    }

    /// Records a call that was never sent (refused by the caller's own breaker or
    /// bulkhead): it counts, but has no latency to record.
    #[inline]
    pub fn record_unsent(&mut self, outcome: Outcome, measured: bool) {
        self.window_counts.add(outcome);
        if measured {
            self.counts.add(outcome);
        }
    }

    /// Records counts and the batch means only; the histograms of an aggregate flow are
    /// merged from its parts (see `merge_latencies`).
    #[inline]
    pub fn record_aggregate(&mut self, latency: SimDuration, outcome: Outcome, measured: bool) {
        self.window_counts.add(outcome);
        if measured {
            self.counts.add(outcome);
            self.batch.record(latency.as_millis_f64());
        }
    }

    /// Sets the window histogram (or, with `whole_run`, the run's) to the sum of `parts`'.
    pub fn merge_latencies<'a>(&mut self, parts: impl Iterator<Item = &'a FlowStats>, whole_run: bool) {
        let target = if whole_run { &mut self.latency } else { &mut self.window_latency };
        target.reset();
        for p in parts {
            target.add(if whole_run { &p.latency } else { &p.window_latency });
        }
    }

    pub fn reset_window(&mut self) {
        self.window_counts.clear();
        self.window_latency.reset();
    }
}

/// Calls to a destination after the policy stack: their outcomes and how many attempts
/// they took. Counts only measured calls (those of requests that arrived after warm-up).
#[derive(Clone, Debug, Default)]
pub struct CallStats {
    pub counts: Counts,
    pub attempts: u64,
    /// Attempts after the first.
    pub retries: u64,
    /// Retries the policy allowed but the retry budget refused.
    pub retries_denied: u64,
    /// Circuit-breaker transitions into OPEN, over all callers' breakers for this
    /// destination (whole run, warm-up included).
    pub breaker_opens: u64,
    /// Outlier-detection ejections of this destination's instances, over all callers.
    pub ejections: u64,
    /// Failed calls a fallback answered instead (a default, a cached value, or a call to
    /// another service, whatever its outcome).
    pub fallbacks: u64,
    /// Hedged attempts sent, and calls a hedge (not the first attempt) won.
    pub hedges: u64,
    pub hedges_won: u64,
    /// Failed calls a queue-for-later fallback answered as pending, and how those
    /// deferred calls ended when they were tried again in the background.
    pub deferred: u64,
    pub deferred_ok: u64,
    pub deferred_failed: u64,
}

impl CallStats {
    /// Back to zero, keeping the allocation of the counts by status.
    pub fn clear(&mut self) {
        let counts = std::mem::take(&mut self.counts);
        *self = CallStats { counts, ..CallStats::default() };
        self.counts.clear();
    }

    /// Adds another policy point's figures to these.
    pub fn merge(&mut self, o: &CallStats) {
        self.counts.merge(&o.counts);
        self.attempts += o.attempts;
        self.retries += o.retries;
        self.retries_denied += o.retries_denied;
        self.breaker_opens += o.breaker_opens;
        self.ejections += o.ejections;
        self.fallbacks += o.fallbacks;
        self.hedges += o.hedges;
        self.hedges_won += o.hedges_won;
        self.deferred += o.deferred;
        self.deferred_ok += o.deferred_ok;
        self.deferred_failed += o.deferred_failed;
    }

    /// Attempts per call: 1 without retries.
    pub fn amplification(&self) -> f64 {
        let calls = self.counts.total();
        if calls == 0 { 1.0 } else { self.attempts as f64 / calls as f64 }
    }
}

/// Time integrals and counters of one station (an instance's workers and queue).
///
/// The levels (jobs in the system, busy workers, queue length, workers available) are
/// integrated once, from the start of the run (`cumulative`); a window's or the measured
/// interval's areas are differences of two snapshots, so the hot path integrates each
/// level only once however many intervals are reported.
#[derive(Clone, Debug, Default)]
pub struct StationStats {
    /// Time of the last change to the integrals.
    last: SimTime,
    /// Jobs at the station (queued, in service, or waiting on calls) and busy workers.
    pub in_system: u64,
    pub busy: u64,
    pub queued: u64,
    /// Workers available (fewer during a capacity fault).
    pub capacity: u64,
    cumulative: Areas,
    at_window_start: Areas,
    at_warmup: Areas,
    pub totals: StationTotals,
    pub window: StationTotals,
}

/// Time integrals of a station's levels, in job-nanoseconds.
#[derive(Clone, Copy, Debug, Default)]
struct Areas {
    in_system: u128,
    busy: u128,
    queue: u128,
    capacity: u128,
}

impl Areas {
    fn minus(self, o: Areas) -> Areas {
        Areas {
            in_system: self.in_system - o.in_system,
            busy: self.busy - o.busy,
            queue: self.queue - o.queue,
            capacity: self.capacity - o.capacity,
        }
    }
}

impl StationTotals {
    fn set_areas(&mut self, a: Areas) {
        self.area_in_system = a.in_system;
        self.area_busy = a.busy;
        self.area_queue = a.queue;
        self.area_capacity = a.capacity;
    }
}

impl StationStats {
    /// A station with `workers` workers available, empty, at time zero.
    pub fn with_capacity(workers: u32) -> StationStats {
        StationStats { capacity: u64::from(workers), ..StationStats::default() }
    }

    /// Brings the integrals up to `now`; call before any change of the levels.
    #[inline]
    pub fn touch(&mut self, now: SimTime) {
        let dt = u128::from(now.since(self.last).as_nanos());
        if dt > 0 {
            let a = &mut self.cumulative;
            a.in_system += u128::from(self.in_system) * dt;
            a.busy += u128::from(self.busy) * dt;
            a.queue += u128::from(self.queued) * dt;
            a.capacity += u128::from(self.capacity) * dt;
            self.last = now;
        }
    }

    /// The busy-worker and queue-length integrals from time zero to `now`, in
    /// job-nanoseconds (for the autoscalers, which take differences of them).
    pub fn busy_queue_areas(&mut self, now: SimTime) -> (u128, u128) {
        self.touch(now);
        (self.cumulative.busy, self.cumulative.queue)
    }

    /// The warm-up ends at `now`: the measured areas start here.
    pub fn mark_warmup(&mut self, now: SimTime) {
        self.touch(now);
        self.at_warmup = self.cumulative;
    }

    /// Closes the window at `end`: its areas are set, and the next window starts.
    pub fn close_window(&mut self, end: SimTime) {
        self.touch(end);
        self.window.set_areas(self.cumulative.minus(self.at_window_start));
        self.at_window_start = self.cumulative;
    }

    /// Sets the measured interval's areas, from the warm-up to `end`.
    pub fn close_totals(&mut self, end: SimTime) {
        self.touch(end);
        self.totals.set_areas(self.cumulative.minus(self.at_warmup));
    }

    pub fn reset_window(&mut self) {
        self.window = StationTotals::default();
    }
}

/// Sums over an interval; areas are in job-nanoseconds.
#[derive(Clone, Debug, Default)]
pub struct StationTotals {
    pub arrivals: u64,
    pub completed: u64,
    pub errors: u64,
    pub rejected: u64,
    pub area_in_system: u128,
    pub area_busy: u128,
    pub area_capacity: u128,
    pub area_queue: u128,
    pub sojourn_sum_ns: u128,
    pub sojourn_max_ns: u64,
    pub wait_sum_ns: u128,
    pub started: u64,
    /// Worker time spent on jobs whose caller had already given up.
    pub wasted_ns: u128,
    pub wasted_jobs: u64,
    /// Jobs not started because their propagated deadline had passed.
    pub deadline_expired: u64,
    /// Requests refused by the service's rate limit (429), and requests the load shedder
    /// refused at arrival or dropped from the queue.
    pub rate_limited: u64,
    pub shed: u64,
    /// Requests that reached the instance while it was not running (crashed, starting,
    /// stopping or stopped), and jobs lost when it crashed.
    pub to_dead: u64,
    pub lost_in_crash: u64,
}

impl StationTotals {
    /// Busy workers over available workers, both averaged over the interval.
    pub fn utilization(&self) -> f64 {
        if self.area_capacity == 0 { 0.0 } else { self.area_busy as f64 / self.area_capacity as f64 }
    }

    pub fn sojourn_mean_ms(&self) -> f64 {
        if self.completed + self.errors == 0 {
            0.0
        } else {
            self.sojourn_sum_ns as f64 / (self.completed + self.errors) as f64 / 1e6
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_status_stay_sorted() {
        let mut c = Counts::default();
        for s in [503, 500, 503, 429] {
            c.add(Outcome::Error(s));
        }
        c.add(Outcome::Ok);
        c.add(Outcome::Timeout);
        assert_eq!(c.by_status, vec![(429, 1), (500, 1), (503, 2)]);
        assert_eq!((c.total(), c.failed()), (6, 5));
    }

    #[test]
    fn resetting_an_empty_latency_leaves_it_as_a_new_one() {
        let mut l = Latency::with_digits(2);
        l.record(SimDuration::from_secs(3));
        l.reset();
        l.reset();
        let fresh = Latency::with_digits(2);
        assert_eq!(l.count(), 0);
        assert_eq!((l.hist.max(), l.hist.min_nz(), l.sum_ns, l.max_ns), (fresh.hist.max(), fresh.hist.min_nz(), 0, 0));
        l.record(SimDuration::from_millis(5));
        let mut f = fresh.clone();
        f.record(SimDuration::from_millis(5));
        assert_eq!(l.quantiles_ms([0.5, 0.99]), f.quantiles_ms([0.5, 0.99]));
        assert_eq!((l.hist.max(), l.hist.min_nz()), (f.hist.max(), f.hist.min_nz()));
    }

    #[test]
    fn latency_quantiles_and_mean() {
        let mut l = Latency::default();
        for ms in 1..=100 {
            l.record(SimDuration::from_millis(ms));
        }
        assert!((l.mean_ms() - 50.5).abs() < 1e-9);
        assert!((l.quantile_ms(0.5) - 50.0).abs() < 0.1);
        assert!((l.quantile_ms(0.99) - 99.0).abs() < 0.1);
        assert_eq!(l.max_ms(), 100.0);
    }

    #[test]
    fn batch_means_keep_between_32_and_64_batches() {
        let mut b = BatchMeans::default();
        for i in 0..10_000 {
            b.record(f64::from(i % 7));
        }
        assert!((32..64).contains(&b.batches.len()));
        assert!(b.half_width_95().is_some());
    }

    #[test]
    fn t_quantiles_are_close() {
        // Tables: t(0.975; 10) = 2.228, t(0.975; 31) = 2.040, t(0.975; 63) = 1.998.
        assert!((t_975(10) - 2.228).abs() < 5e-3);
        assert!((t_975(31) - 2.040).abs() < 1e-3);
        assert!((t_975(63) - 1.998).abs() < 1e-3);
    }

    #[test]
    fn station_integrates_levels() {
        let mut s = StationStats { in_system: 2, ..StationStats::default() };
        s.touch(SimTime(10));
        s.in_system = 1;
        s.mark_warmup(SimTime(20));
        s.close_window(SimTime(30));
        s.close_totals(SimTime(30));
        assert_eq!(s.window.area_in_system, 2 * 10 + 20, "the window since the start");
        assert_eq!(s.totals.area_in_system, 10, "only the 10 ns after the warm-up");
        s.close_window(SimTime(40));
        assert_eq!(s.window.area_in_system, 10, "the next window starts where the last ended");
    }
}
