//! Retry budgets: whether a proxy may start one more retry to a destination, by the
//! counting rules of the implementation each flavour is named after.
//!
//! One [`RetryBudget`] lives in a caller's proxy per destination. The proxy tells it when an
//! original request starts ([`RetryBudget::on_request`]), asks before every retry
//! ([`RetryBudget::try_retry`], which charges the budget when it says yes), and reports
//! how retries and attempts end. The budget decides; it never schedules anything.

use crate::model::policy::budget::thousandths;
// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::policy::BudgetConfig;
use crate::time::{SimDuration, SimTime};

/// The number of buckets tower's `TpsBudget` splits its ttl into.
const TPS_SLOTS: usize = 10;

/// How many retries a budget allowed and refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BudgetCounters {
    pub allowed: u64,
    pub denied: u64,
}

/// A retry budget's state.
#[derive(Clone, Debug)]
pub struct RetryBudget {
    state: State,
    /// Retries allowed and not yet finished: Envoy's `retries` resource; tracked for every
    /// flavour so that `on_retry_done` can be checked against `try_retry`.
    in_flight: u32,
    counters: BudgetCounters,
}

#[derive(Clone, Debug)]
enum State {
    Unlimited,
    Ratio(TpsBucket),
    EnvoyBudget {
        budget_percent: f64,
        min_retry_concurrency: u32,
    },
    EnvoyMaxRetries {
        max_retries: u32,
    },
    /// All in thousandths of a token.
    Grpc {
        max: u32,
        threshold: u32,
        ratio: u32,
        tokens: u32,
    },
    Aws {
        capacity: u32,
        retry_cost: u32,
        timeout_retry_cost: u32,
        success_refill: u32,
        quota: u32,
    },
}

/// tower's `TpsBucket`: a writer for the current bucket and ten committed buckets, each
/// `ttl / 10` long, plus the reserve.
#[derive(Clone, Debug)]
struct TpsBucket {
    deposit: i64,
    withdraw: i64,
    reserve: i64,
    slots: [i64; TPS_SLOTS],
    /// The changes in the current bucket, committed to `slots[index]` when it expires.
    writer: i64,
    index: usize,
    /// When the current bucket began: the time of the last expiry, not a window boundary.
    generation: SimTime,
    window: u64,
}

impl TpsBucket {
    fn new(ratio: f64, min_per_sec: u32, ttl: SimDuration, now: SimTime) -> Self {
        // tower computes in f32: `(1.0 / retry_percent) as isize`.
        let ratio = ratio as f32;
        let (deposit, withdraw) = if ratio == 0.0 {
            (0, 1)
        } else if ratio <= 1.0 {
            (1, (1.0 / ratio) as i64)
        } else {
            (1000, (1000.0 / ratio) as i64)
        };
        let ttl_secs = (ttl.0 / 1_000_000_000) as i64;
        let reserve = i64::from(min_per_sec).saturating_mul(ttl_secs).saturating_mul(withdraw);
        TpsBucket {
            deposit,
            withdraw,
            reserve,
            slots: [0; TPS_SLOTS],
            writer: 0,
            index: 0,
            generation: now,
            window: ttl.0 / TPS_SLOTS as u64,
        }
    }

    /// tower's `expire`: once a window has passed since the current bucket began, commit it
    /// and step to the next. As in tower, the loop that zeroes skipped buckets runs while
    /// the time left exceeds a window, so an expiry that comes late by any amount also
    /// clears (and skips) the bucket after the committed one.
    fn expire(&mut self, now: SimTime) {
        let diff = now.since(self.generation).0;
        if diff < self.window {
            return;
        }
        self.slots[self.index] = self.writer;
        self.writer = 0;
        // `while diff > window { diff -= window; ... }` runs ceil(diff / window) - 1 times.
        let skipped = diff.div_ceil(self.window) - 1;
        for i in 0..skipped.min(TPS_SLOTS as u64) as usize {
            self.slots[(self.index + 1 + i) % TPS_SLOTS] = 0;
        }
        self.index = ((self.index as u64 + 1 + skipped % TPS_SLOTS as u64) % TPS_SLOTS as u64) as usize;
        self.generation = now;
    }

    fn sum(&self) -> i64 {
        let committed = self.slots.iter().fold(0i64, |a, s| a.saturating_add(*s));
        self.writer.saturating_add(committed).saturating_add(self.reserve)
    }

    fn put(&mut self, now: SimTime) {
        self.expire(now);
        self.writer = self.writer.saturating_add(self.deposit);
    }

    fn try_get(&mut self, now: SimTime) -> bool {
        self.expire(now);
        if self.sum() >= self.withdraw {
            self.writer = self.writer.saturating_sub(self.withdraw);
            true
        } else {
            false
        }
    }
}

impl RetryBudget {
    /// # Panics
    /// If [`BudgetConfig::check`] rejects the configuration.
    pub fn new(config: &BudgetConfig, now: SimTime) -> Self {
        if let Err(e) = config.check() {
            panic!("invalid retry budget configuration: {e}");
        }
        let state = match *config {
            BudgetConfig::Unlimited => State::Unlimited,
            BudgetConfig::Ratio { retry_ratio, min_retries_per_sec, ttl } => {
                State::Ratio(TpsBucket::new(retry_ratio, min_retries_per_sec, ttl, now))
            }
            BudgetConfig::EnvoyBudget { budget_percent, min_retry_concurrency } => {
                State::EnvoyBudget { budget_percent, min_retry_concurrency }
            }
            BudgetConfig::EnvoyMaxRetries { max_retries } => State::EnvoyMaxRetries { max_retries },
            BudgetConfig::GrpcThrottle { max_tokens, token_ratio } => {
                let max = max_tokens * 1000;
                State::Grpc { max, threshold: max / 2, ratio: thousandths(token_ratio) as u32, tokens: max }
            }
            BudgetConfig::AwsQuota { capacity, retry_cost, timeout_retry_cost, success_refill } => {
                State::Aws { capacity, retry_cost, timeout_retry_cost, success_refill, quota: capacity }
            }
        };
        RetryBudget { state, in_flight: 0, counters: BudgetCounters::default() }
    }

    /// An original request (first attempt) starts: Finagle/tower deposit.
    pub fn on_request(&mut self, now: SimTime) {
        if let State::Ratio(bucket) = &mut self.state {
            bucket.put(now);
        }
    }

    /// May a retry start now? `active` = requests (attempts) currently active or pending at
    /// this proxy for this destination (Envoy's budget base: `requests + pending_requests`
    /// of the cluster, not counting retries waiting in backoff); `is_timeout` = the failed
    /// attempt timed out (AWS cost). On true the budget is charged (tower withdraw / Envoy
    /// retries in flight + 1 / AWS quota - cost); gRPC throttling charges nothing here, its
    /// tokens move with attempt results.
    pub fn try_retry(&mut self, now: SimTime, active: u32, is_timeout: bool) -> bool {
        let in_flight = self.in_flight;
        let allowed = match &mut self.state {
            State::Unlimited => true,
            State::Ratio(bucket) => bucket.try_get(now),
            State::EnvoyBudget { budget_percent, min_retry_concurrency } => {
                in_flight < envoy_budget_max(*budget_percent, *min_retry_concurrency, active)
            }
            State::EnvoyMaxRetries { max_retries } => in_flight < *max_retries,
            State::Grpc { threshold, tokens, .. } => *tokens > *threshold,
            State::Aws { retry_cost, timeout_retry_cost, quota, .. } => {
                let cost = if is_timeout { *timeout_retry_cost } else { *retry_cost };
                // `ratelimit.TokenBucket.Retrieve`: refused if it would go below zero.
                if *quota >= cost {
                    *quota -= cost;
                    true
                } else {
                    false
                }
            }
        };
        if allowed {
            self.in_flight += 1;
            self.counters.allowed += 1;
        } else {
            self.counters.denied += 1;
        }
        allowed
    }

    /// A retry that `try_retry` allowed has finished (Envoy: retries in flight -1; AWS:
    /// nothing). Envoy counts a retry from its backoff until the retried attempt's result
    /// (or the request's end), so call this then.
    ///
    /// # Panics
    /// If no allowed retry is in flight: a `try_retry`/`on_retry_done` pairing bug.
    pub fn on_retry_done(&mut self, _now: SimTime) {
        assert!(self.in_flight > 0, "on_retry_done without a retry in flight");
        self.in_flight -= 1;
    }

    /// An attempt finished; success or failure as the retry policy counts it; `first_attempt`
    /// true for the original request; `retried` true if it was a retry whose cost could be
    /// refunded (AWS refunds the retry cost on a successful retry; use
    /// [`RetryBudget::on_retry_result`] to say the retry was charged the timeout cost).
    ///
    /// gRPC counts only failures with a retryable status (or pushback saying not to retry)
    /// and successes; report nothing for other failures. AWS: a successful first attempt
    /// refills, a successful retry refunds `retry_cost`, failures do nothing.
    pub fn on_attempt_result(&mut self, now: SimTime, success: bool, first_attempt: bool, retried: bool) {
        if !first_attempt && retried {
            self.on_retry_result(now, success, false);
            return;
        }
        self.record(success, if success && first_attempt { Refund::Refill } else { Refund::None });
    }

    /// A retry that `try_retry` allowed finished its attempt: as `on_attempt_result` with
    /// `first_attempt = false, retried = true`, naming what the retry was charged
    /// (`charged_for_timeout` = the `is_timeout` passed to `try_retry`), so that AWS refunds
    /// exactly that cost on success, as the SDK's retry token does.
    pub fn on_retry_result(&mut self, _now: SimTime, success: bool, charged_for_timeout: bool) {
        let refund = if success { Refund::Cost { timeout: charged_for_timeout } } else { Refund::None };
        self.record(success, refund);
    }

    fn record(&mut self, success: bool, refund: Refund) {
        match &mut self.state {
            State::Grpc { max, ratio, tokens, .. } => {
                // grpc-java `Throttle.onSuccess` / `onQualifiedFailureThenCheckIsAboveThreshold`.
                *tokens = if success { tokens.saturating_add(*ratio).min(*max) } else { tokens.saturating_sub(1000) };
            }
            State::Aws { capacity, retry_cost, timeout_retry_cost, success_refill, quota } => {
                let amount = match refund {
                    Refund::None => 0,
                    Refund::Refill => *success_refill,
                    Refund::Cost { timeout: false } => *retry_cost,
                    Refund::Cost { timeout: true } => *timeout_retry_cost,
                };
                *quota = quota.saturating_add(amount).min(*capacity);
            }
            _ => {}
        }
    }

    pub fn counters(&self) -> BudgetCounters {
        self.counters
    }

    /// Retries allowed by `try_retry` and not yet reported by `on_retry_done`.
    pub fn retries_in_flight(&self) -> u32 {
        self.in_flight
    }
}

/// What a finished attempt gives back to an AWS quota.
#[derive(Clone, Copy, Debug)]
enum Refund {
    None,
    /// A first attempt succeeded: `NoRetryIncrement`.
    Refill,
    /// A retry succeeded: its token is released.
    Cost {
        timeout: bool,
    },
}

/// Envoy `RetryBudgetImpl::max`: `std::max<uint64_t>(budget_percent / 100.0 * active,
/// min_retry_concurrency)`, the product truncated by the conversion.
fn envoy_budget_max(budget_percent: f64, min_retry_concurrency: u32, active: u32) -> u32 {
    let by_percent = (budget_percent / 100.0 * f64::from(active)) as u32;
    by_percent.max(min_retry_concurrency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at_ms(ms: u64) -> SimTime {
        SimTime(ms * 1_000_000)
    }

    /// Asks for retries at `now` until one is refused; returns how many were allowed.
    fn drain(budget: &mut RetryBudget, now: SimTime) -> u32 {
        let mut n = 0;
        while budget.try_retry(now, 0, false) {
            n += 1;
            assert!(n < 1_000_000, "budget never ran out");
        }
        n
    }

    fn tokens(budget: &RetryBudget) -> u32 {
        match budget.state {
            State::Grpc { tokens, .. } => tokens,
            _ => unreachable!(),
        }
    }

    fn quota(budget: &RetryBudget) -> u32 {
        match budget.state {
            State::Aws { quota, .. } => quota,
            _ => unreachable!(),
        }
    }

    #[test]
    fn unlimited_always_allows() {
        let mut b = RetryBudget::new(&BudgetConfig::Unlimited, SimTime::ZERO);
        for _ in 0..1000 {
            assert!(b.try_retry(SimTime::ZERO, 0, true));
        }
        assert_eq!(b.counters(), BudgetCounters { allowed: 1000, denied: 0 });
    }

    #[test]
    fn ratio_reserve_allows_min_per_sec_times_ttl_without_requests() {
        let mut b = RetryBudget::new(&BudgetConfig::ratio_default(), SimTime::ZERO);
        assert_eq!(drain(&mut b, SimTime::ZERO), 100);
        assert_eq!(b.counters(), BudgetCounters { allowed: 100, denied: 1 });
    }

    #[test]
    fn ratio_allows_a_fifth_of_requests_plus_the_reserve() {
        let mut b = RetryBudget::new(&BudgetConfig::ratio_default(), SimTime::ZERO);
        for i in 0..100 {
            b.on_request(at_ms(i));
        }
        assert_eq!(drain(&mut b, at_ms(100)), 20 + 100);
    }

    #[test]
    fn ratio_without_reserve_allows_one_retry_per_five_requests() {
        let config = BudgetConfig::Ratio { retry_ratio: 0.2, min_retries_per_sec: 0, ttl: SimDuration::from_secs(10) };
        let mut b = RetryBudget::new(&config, SimTime::ZERO);
        for _ in 0..4 {
            b.on_request(SimTime::ZERO);
        }
        assert!(!b.try_retry(SimTime::ZERO, 0, false), "four deposits are less than one withdrawal of five");
        b.on_request(SimTime::ZERO);
        assert!(b.try_retry(SimTime::ZERO, 0, false));
        assert!(!b.try_retry(SimTime::ZERO, 0, false));
    }

    #[test]
    fn ratio_truncates_the_withdrawal_like_tower() {
        // (1.0f32 / 0.3f32) as isize = 3: one retry per three requests, not 0.3 per request.
        let config = BudgetConfig::Ratio { retry_ratio: 0.3, min_retries_per_sec: 0, ttl: SimDuration::from_secs(1) };
        let mut b = RetryBudget::new(&config, SimTime::ZERO);
        for _ in 0..10 {
            b.on_request(SimTime::ZERO);
        }
        assert_eq!(drain(&mut b, SimTime::ZERO), 3);
    }

    #[test]
    fn ratio_above_one_counts_in_thousandths() {
        // Deposit 1000, withdraw 1000 / 2.0 = 500: each request allows two retries.
        let config = BudgetConfig::Ratio { retry_ratio: 2.0, min_retries_per_sec: 0, ttl: SimDuration::from_secs(1) };
        let mut b = RetryBudget::new(&config, SimTime::ZERO);
        for _ in 0..3 {
            b.on_request(SimTime::ZERO);
        }
        assert_eq!(drain(&mut b, SimTime::ZERO), 6);
    }

    #[test]
    fn ratio_zero_allows_only_the_reserve() {
        let config = BudgetConfig::Ratio { retry_ratio: 0.0, min_retries_per_sec: 2, ttl: SimDuration::from_secs(3) };
        let mut b = RetryBudget::new(&config, SimTime::ZERO);
        for _ in 0..100 {
            b.on_request(SimTime::ZERO);
        }
        assert_eq!(drain(&mut b, SimTime::ZERO), 6);
    }

    #[test]
    fn ratio_deposits_expire_after_the_ttl() {
        // tower's `tps_leaky`: ttl 1 s, ratio 1, no reserve.
        let config = BudgetConfig::Ratio { retry_ratio: 1.0, min_retries_per_sec: 0, ttl: SimDuration::from_secs(1) };
        let mut b = RetryBudget::new(&config, SimTime::ZERO);
        b.on_request(SimTime::ZERO);
        assert!(!b.try_retry(at_ms(3000), 0, false));
        // Still there 900 ms on (tower's `tps_slots`, first half).
        let config = BudgetConfig::Ratio { retry_ratio: 0.5, min_retries_per_sec: 0, ttl: SimDuration::from_secs(1) };
        let mut b = RetryBudget::new(&config, SimTime::ZERO);
        b.on_request(SimTime::ZERO);
        b.on_request(SimTime::ZERO);
        assert!(b.try_retry(at_ms(901), 0, false));
    }

    #[test]
    fn ratio_buckets_slide_like_tower() {
        // tower's `tps_slots`, second half: after a blank slate, deposits at 0, 301 and
        // 1102 ms; at 1102 ms the first has expired, the other two make one withdrawal of 2.
        let config = BudgetConfig::Ratio { retry_ratio: 0.5, min_retries_per_sec: 0, ttl: SimDuration::from_secs(1) };
        let mut b = RetryBudget::new(&config, SimTime::ZERO);
        b.on_request(at_ms(2001));
        b.on_request(at_ms(2302));
        b.on_request(at_ms(3103));
        assert!(b.try_retry(at_ms(3103), 0, false));
        assert!(!b.try_retry(at_ms(3103), 0, false));
    }

    #[test]
    fn ratio_late_expiries_skip_a_bucket_like_tower() {
        // ttl 1 s: buckets of 100 ms, ratio 1, no reserve.
        let config = BudgetConfig::Ratio { retry_ratio: 1.0, min_retries_per_sec: 0, ttl: SimDuration::from_secs(1) };
        // Expiries exactly a window apart step one bucket: six deposits are all there at 600 ms.
        let mut on_time = RetryBudget::new(&config, SimTime::ZERO);
        for t in [0, 100, 200, 300, 400, 500] {
            on_time.on_request(at_ms(t));
        }
        assert_eq!(drain(&mut on_time, at_ms(600)), 6);
        // 1 ms late each time, tower's `while diff > window` also zeroes and skips the next
        // bucket, so the index goes round twice as fast: the deposit made at 0 ms is
        // overwritten at 606 ms, after 0.6 of its ttl.
        let mut late = RetryBudget::new(&config, SimTime::ZERO);
        for t in [0, 101, 202, 303, 404, 505] {
            late.on_request(at_ms(t));
        }
        assert_eq!(drain(&mut late, at_ms(606)), 5);
    }

    #[test]
    fn envoy_budget_allows_a_fifth_of_active_requests_or_three() {
        let mut b = RetryBudget::new(&BudgetConfig::envoy_budget_default(), SimTime::ZERO);
        // 10 active: 20 % is 2, the minimum 3 wins.
        for _ in 0..3 {
            assert!(b.try_retry(SimTime::ZERO, 10, false));
        }
        assert!(!b.try_retry(SimTime::ZERO, 10, false));
        // 100 active: 20 retries in flight.
        for _ in 3..20 {
            assert!(b.try_retry(SimTime::ZERO, 100, false));
        }
        assert!(!b.try_retry(SimTime::ZERO, 100, false));
        assert_eq!(b.retries_in_flight(), 20);
        assert_eq!(b.counters(), BudgetCounters { allowed: 20, denied: 2 });
    }

    #[test]
    fn envoy_budget_truncates_the_percentage() {
        // 24 active x 20 % = 4.8: four.
        assert_eq!(envoy_budget_max(20.0, 0, 24), 4);
        assert_eq!(envoy_budget_max(20.0, 3, 0), 3);
        assert_eq!(envoy_budget_max(100.0, 3, 7), 7);
    }

    #[test]
    fn envoy_retry_done_frees_a_slot() {
        let mut b = RetryBudget::new(&BudgetConfig::envoy_budget_default(), SimTime::ZERO);
        for _ in 0..3 {
            assert!(b.try_retry(SimTime::ZERO, 0, false));
        }
        assert!(!b.try_retry(at_ms(1), 0, false));
        b.on_retry_done(at_ms(2));
        assert!(b.try_retry(at_ms(3), 0, false));
        assert!(!b.try_retry(at_ms(4), 0, false));
    }

    #[test]
    fn envoy_max_retries_allows_three_concurrent_retries() {
        let mut b = RetryBudget::new(&BudgetConfig::envoy_max_retries_default(), SimTime::ZERO);
        for _ in 0..3 {
            assert!(b.try_retry(SimTime::ZERO, 1000, false));
        }
        assert!(!b.try_retry(SimTime::ZERO, 1000, false), "active requests do not raise max_retries");
        b.on_retry_done(at_ms(1));
        assert!(b.try_retry(at_ms(2), 0, false));
    }

    #[test]
    #[should_panic(expected = "without a retry in flight")]
    fn retry_done_without_a_retry_is_a_bug() {
        let mut b = RetryBudget::new(&BudgetConfig::envoy_max_retries_default(), SimTime::ZERO);
        b.on_retry_done(SimTime::ZERO);
    }

    fn grpc(max_tokens: u32, token_ratio: f64) -> RetryBudget {
        RetryBudget::new(&BudgetConfig::GrpcThrottle { max_tokens, token_ratio }, SimTime::ZERO)
    }

    #[test]
    fn grpc_throttle_starts_full() {
        let mut b = grpc(10, 0.1);
        assert_eq!(tokens(&b), 10_000);
        assert!(b.try_retry(SimTime::ZERO, 0, false));
        assert_eq!(tokens(&b), 10_000, "a retry itself costs no tokens");
    }

    #[test]
    fn grpc_throttles_once_tokens_fall_to_half() {
        let mut b = grpc(10, 0.1);
        for i in 1..=4 {
            b.on_attempt_result(at_ms(i), false, true, false);
            assert!(b.try_retry(at_ms(i), 0, false), "{} tokens > 5", 10 - i);
        }
        b.on_attempt_result(at_ms(5), false, true, false);
        assert_eq!(tokens(&b), 5_000);
        assert!(!b.try_retry(at_ms(5), 0, false), "5 tokens is not above 5");
        // One success adds 0.1: 5.1 > 5.
        b.on_attempt_result(at_ms(6), true, true, false);
        assert_eq!(tokens(&b), 5_100);
        assert!(b.try_retry(at_ms(6), 0, false));
    }

    #[test]
    fn grpc_tokens_stay_between_zero_and_max() {
        let mut b = grpc(3, 0.5);
        for _ in 0..10 {
            b.on_attempt_result(SimTime::ZERO, false, false, true);
        }
        assert_eq!(tokens(&b), 0);
        for _ in 0..5 {
            b.on_attempt_result(SimTime::ZERO, true, true, false);
        }
        assert_eq!(tokens(&b), 2_500);
        for _ in 0..10 {
            b.on_attempt_result(SimTime::ZERO, true, true, false);
        }
        assert_eq!(tokens(&b), 3_000);
    }

    #[test]
    fn grpc_token_ratio_keeps_three_decimal_places() {
        assert_eq!(thousandths(0.5466), 546);
        assert_eq!(thousandths(0.1), 100);
        assert_eq!(thousandths(0.29), 290);
        let mut b = grpc(1, 0.0004);
        b.on_attempt_result(SimTime::ZERO, false, true, false);
        b.on_attempt_result(SimTime::ZERO, true, true, false);
        assert_eq!(tokens(&b), 0, "a ratio below a thousandth adds nothing");
    }

    fn aws() -> RetryBudget {
        RetryBudget::new(&BudgetConfig::aws_default(), SimTime::ZERO)
    }

    #[test]
    fn aws_quota_allows_100_retries_at_5_each() {
        let mut b = aws();
        assert_eq!(drain(&mut b, SimTime::ZERO), 100);
        assert_eq!(quota(&b), 0);
    }

    #[test]
    fn aws_timeout_retries_cost_10() {
        let mut b = aws();
        let mut n = 0;
        while b.try_retry(SimTime::ZERO, 0, true) {
            n += 1;
        }
        assert_eq!(n, 50);
        // A quota of 5 refuses a timeout retry but allows an ordinary one.
        b.on_retry_result(SimTime::ZERO, true, false);
        assert_eq!(quota(&b), 5);
        assert!(!b.try_retry(SimTime::ZERO, 0, true));
        assert!(b.try_retry(SimTime::ZERO, 0, false));
    }

    #[test]
    fn aws_first_attempt_success_refills_one_up_to_capacity() {
        let mut b = aws();
        b.on_attempt_result(SimTime::ZERO, true, true, false);
        assert_eq!(quota(&b), 500, "never above capacity");
        assert!(b.try_retry(SimTime::ZERO, 0, false));
        b.on_attempt_result(SimTime::ZERO, false, true, false);
        assert_eq!(quota(&b), 495, "a failure gives nothing back");
        b.on_attempt_result(SimTime::ZERO, true, true, false);
        assert_eq!(quota(&b), 496);
    }

    #[test]
    fn aws_successful_retry_refunds_its_cost() {
        let mut b = aws();
        assert!(b.try_retry(SimTime::ZERO, 0, false));
        assert!(b.try_retry(SimTime::ZERO, 0, true));
        assert_eq!(quota(&b), 485);
        b.on_attempt_result(SimTime::ZERO, true, false, true);
        assert_eq!(quota(&b), 490, "the ordinary retry's 5 back, no refill on top");
        b.on_retry_result(SimTime::ZERO, true, true);
        assert_eq!(quota(&b), 500, "the timeout retry's 10 back");
    }

    #[test]
    fn aws_failed_retry_refunds_nothing() {
        let mut b = aws();
        assert!(b.try_retry(SimTime::ZERO, 0, false));
        b.on_attempt_result(SimTime::ZERO, false, false, true);
        b.on_retry_result(SimTime::ZERO, false, true);
        assert_eq!(quota(&b), 495);
    }

    #[test]
    fn invalid_configurations_are_rejected() {
        let ttl = SimDuration::from_secs(61);
        assert!(BudgetConfig::Ratio { retry_ratio: 0.2, min_retries_per_sec: 10, ttl }.check().is_err());
        assert!(BudgetConfig::GrpcThrottle { max_tokens: 0, token_ratio: 0.1 }.check().is_err());
        assert!(BudgetConfig::GrpcThrottle { max_tokens: 10, token_ratio: 0.0 }.check().is_err());
        assert!(BudgetConfig::EnvoyBudget { budget_percent: 120.0, min_retry_concurrency: 3 }.check().is_err());
    }

    /// One step of a random workload for the property tests.
    #[derive(Clone, Debug)]
    enum Op {
        Request,
        Retry { active: u32, timeout: bool },
        RetryDone,
        Attempt { success: bool, first: bool },
        RetryResult { success: bool, timeout: bool },
    }

    fn op() -> impl Strategy<Value = (u64, Op)> {
        let op = prop_oneof![
            3 => Just(Op::Request),
            3 => (0u32..200, any::<bool>()).prop_map(|(active, timeout)| Op::Retry { active, timeout }),
            2 => Just(Op::RetryDone),
            2 => (any::<bool>(), any::<bool>()).prop_map(|(success, first)| Op::Attempt { success, first }),
            1 => (any::<bool>(), any::<bool>()).prop_map(|(success, timeout)| Op::RetryResult { success, timeout }),
        ];
        (0u64..300_000_000, op)
    }

    fn budget_config() -> impl Strategy<Value = BudgetConfig> {
        prop_oneof![
            Just(BudgetConfig::Unlimited),
            (0.0f64..3.0, 0u32..20, 1u64..=60).prop_map(|(retry_ratio, min_retries_per_sec, s)| BudgetConfig::Ratio {
                retry_ratio,
                min_retries_per_sec,
                ttl: SimDuration::from_secs(s)
            }),
            (0.0f64..=100.0, 0u32..10).prop_map(|(budget_percent, min_retry_concurrency)| {
                BudgetConfig::EnvoyBudget { budget_percent, min_retry_concurrency }
            }),
            (0u32..10).prop_map(|max_retries| BudgetConfig::EnvoyMaxRetries { max_retries }),
            (1u32..=1000, 0.001f64..5.0)
                .prop_map(|(max_tokens, token_ratio)| BudgetConfig::GrpcThrottle { max_tokens, token_ratio }),
            (0u32..600, 1u32..20, 1u32..30, 0u32..5).prop_map(
                |(capacity, retry_cost, timeout_retry_cost, success_refill)| BudgetConfig::AwsQuota {
                    capacity,
                    retry_cost,
                    timeout_retry_cost,
                    success_refill
                }
            ),
        ]
    }

    proptest! {
        /// Each flavour's own arithmetic bound holds at every step of any workload.
        #[test]
        fn no_budget_allows_more_than_its_arithmetic(config in budget_config(), mut ops in proptest::collection::vec(op(), 1..300)) {
            ops.sort_by_key(|(t, _)| *t);
            let mut b = RetryBudget::new(&config, SimTime::ZERO);
            let mut in_flight = 0u32;
            for (t, op) in ops {
                let now = SimTime(t);
                match op {
                    Op::Request => b.on_request(now),
                    Op::Retry { active, timeout } => {
                        let before = b.state.clone();
                        let allowed = b.try_retry(now, active, timeout);
                        match (&config, before) {
                            (BudgetConfig::EnvoyBudget { budget_percent, min_retry_concurrency }, _) => {
                                let limit = envoy_budget_max(*budget_percent, *min_retry_concurrency, active);
                                prop_assert_eq!(allowed, in_flight < limit);
                            }
                            (BudgetConfig::EnvoyMaxRetries { max_retries }, _) => {
                                prop_assert_eq!(allowed, in_flight < *max_retries);
                                prop_assert!(b.retries_in_flight() <= *max_retries);
                            }
                            (BudgetConfig::GrpcThrottle { max_tokens, .. }, State::Grpc { tokens, .. }) => {
                                prop_assert_eq!(allowed, tokens * 2 > max_tokens * 1000);
                            }
                            (_, State::Aws { quota, retry_cost, timeout_retry_cost, .. }) => {
                                let cost = if timeout { timeout_retry_cost } else { retry_cost };
                                prop_assert_eq!(allowed, quota >= cost);
                            }
                            (BudgetConfig::Unlimited, _) => prop_assert!(allowed),
                            _ => {}
                        }
                        if allowed {
                            in_flight += 1;
                        }
                    }
                    Op::RetryDone => {
                        if in_flight > 0 {
                            b.on_retry_done(now);
                            in_flight -= 1;
                        }
                    }
                    Op::Attempt { success, first } => b.on_attempt_result(now, success, first, !first),
                    Op::RetryResult { success, timeout } => b.on_retry_result(now, success, timeout),
                }
                prop_assert_eq!(b.retries_in_flight(), in_flight);
                match &b.state {
                    State::Ratio(bucket) => prop_assert!(bucket.sum() >= 0, "tower's balance never goes negative"),
                    State::Grpc { max, tokens, .. } => prop_assert!(*tokens <= *max),
                    State::Aws { capacity, quota, .. } => prop_assert!(*quota <= *capacity),
                    _ => {}
                }
            }
        }

        /// Within one bucket (nothing expires) the ratio budget allows exactly
        /// (deposits x deposit + reserve) / withdrawal retries, i.e. at most
        /// requests x ratio + reserve when tower's f32 inverse of the ratio is exact.
        #[test]
        fn ratio_budget_never_exceeds_deposits_times_ratio_plus_reserve(
            ratio_inverse in 1u32..20,
            min_retries_per_sec in 0u32..5,
            ttl_s in 1u64..=60,
            ops in proptest::collection::vec(any::<bool>(), 1..400),
        ) {
            let ratio = 1.0 / f64::from(ratio_inverse);
            let config = BudgetConfig::Ratio { retry_ratio: ratio, min_retries_per_sec, ttl: SimDuration::from_secs(ttl_s) };
            let mut b = RetryBudget::new(&config, SimTime::ZERO);
            let reserve = u64::from(min_retries_per_sec) * ttl_s;
            let (mut requests, mut retries) = (0u64, 0u64);
            let window = ttl_s * 100_000_000;
            for (i, is_request) in ops.into_iter().enumerate() {
                let now = SimTime(i as u64 * (window - 1) / 400);
                if is_request {
                    b.on_request(now);
                    requests += 1;
                } else {
                    let allowed = b.try_retry(now, 0, false);
                    let State::Ratio(bucket) = &b.state else { unreachable!() };
                    let room = (requests as i64 * bucket.deposit + bucket.reserve) / bucket.withdraw;
                    prop_assert_eq!(allowed, (retries as i64) < room);
                    retries += u64::from(allowed);
                    // tower's f32 `(1.0 / ratio) as isize` can truncate a whole inverse to
                    // one less (1/7 withdraws 6, 1/13 withdraws 12): then 1/withdraw is
                    // the effective ratio. Where it is exact, the bound is requests x ratio.
                    prop_assert!(bucket.withdraw == i64::from(ratio_inverse) || bucket.withdraw == i64::from(ratio_inverse) - 1);
                    if bucket.withdraw == i64::from(ratio_inverse) {
                        prop_assert!(retries as f64 <= requests as f64 * ratio + reserve as f64 + 1e-9);
                    }
                }
            }
        }
    }
}
