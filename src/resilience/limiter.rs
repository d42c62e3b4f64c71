//! Rate limiters: a continuously refilled token bucket and Resilience4j's `AtomicRateLimiter`.
//!
//! Both are plain state machines: `acquire(now)` answers whether a call may go now, after a
//! wait (its permit is then reserved), or not at all. Neither sees the event loop.
//!
//! - **Token bucket** (Bucket4j's greedy refill and `tryConsume(1, maxWait)`): the bucket starts
//!   full, refills continuously at `refill_per_sec` up to `capacity`, and a call takes one token.
//!   Without a token, a call that can wait up to `max_wait` reserves the next token (the balance
//!   goes negative) and proceeds when the balance would be back at zero; otherwise it is denied
//!   at once and the bucket is left untouched.
//! - **Resilience4j** (`AtomicRateLimiter`): time from the limiter's start is cut into cycles of
//!   `limit_refresh_period`; at each cycle the permissions are refreshed to `limit_for_period`,
//!   never above it. A call without a permission computes how long until its permission's cycle
//!   (`nanosToWait`) and reserves it if `nanosToWait <= timeout`; otherwise it is denied and
//!   nothing is reserved, though the cycle refresh is kept.

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::policy::LimiterConfig;
use crate::time::{NANOS_PER_SEC, SimDuration, SimTime};

/// The limiter's verdict on one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permit {
    /// Go now.
    Now,
    /// A permit is reserved: go after this wait.
    After(SimDuration),
    /// Rate limited (HTTP 429 / `RequestNotPermitted`). The caller learns it after
    /// [`RateLimiter::rejection_delay`].
    Denied,
}

/// What the limiter has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimiterCounters {
    /// Calls that went at once.
    pub granted_now: u64,
    /// Calls that reserved a permit and waited for it.
    pub granted_after_wait: u64,
    /// Calls denied.
    pub denied: u64,
    /// Sum of the waits of the calls that waited.
    pub wait_total: SimDuration,
}

#[derive(Clone, Debug)]
enum Kind {
    TokenBucket {
        capacity: f64,
        refill_per_sec: f64,
        max_wait: SimDuration,
        /// Tokens at `last`; negative while tokens are reserved ahead.
        tokens: f64,
        last: SimTime,
    },
    Atomic {
        limit: i64,
        period_ns: i64,
        timeout_ns: i64,
        /// The instant cycles are counted from (Resilience4j: class load time).
        epoch: SimTime,
        active_cycle: i64,
        /// Permissions left in `active_cycle`; negative while permissions are reserved ahead.
        active_permissions: i64,
    },
}

/// A rate limiter: one per proxy per destination (or per service, as the scenario says).
#[derive(Clone, Debug)]
pub struct RateLimiter {
    kind: Kind,
    counters: LimiterCounters,
    last_now: SimTime,
}

impl RateLimiter {
    /// A limiter whose clock (the token bucket's refill, Resilience4j's cycles) starts at `now`.
    ///
    /// # Panics
    /// If the token bucket's `capacity` or `refill_per_sec` is negative or not finite, or
    /// Resilience4j's `limit_for_period` or `limit_refresh_period` is zero (Resilience4j
    /// rejects both); validation rules these out.
    pub fn new(config: &LimiterConfig, now: SimTime) -> Self {
        let kind = match *config {
            LimiterConfig::TokenBucket { capacity, refill_per_sec, max_wait } => {
                assert!(capacity.is_finite() && capacity >= 0.0, "token bucket capacity must be finite and >= 0");
                assert!(
                    refill_per_sec.is_finite() && refill_per_sec >= 0.0,
                    "token bucket refill rate must be finite and >= 0"
                );
                Kind::TokenBucket { capacity, refill_per_sec, max_wait, tokens: capacity, last: now }
            }
            LimiterConfig::Resilience4j { limit_for_period, limit_refresh_period, timeout } => {
                assert!(limit_for_period >= 1, "limitForPeriod should be greater than 0");
                assert!(!limit_refresh_period.is_zero(), "limitRefreshPeriod is too short");
                Kind::Atomic {
                    limit: i64::from(limit_for_period),
                    period_ns: to_i64(limit_refresh_period.as_nanos()),
                    timeout_ns: to_i64(timeout.as_nanos()),
                    epoch: now,
                    active_cycle: 0,
                    active_permissions: i64::from(limit_for_period),
                }
            }
        };
        RateLimiter { kind, counters: LimiterCounters::default(), last_now: now }
    }

    /// Asks for one permit at `now`.
    ///
    /// # Panics
    /// If `now` is earlier than a previous call's: time never goes back.
    pub fn acquire(&mut self, now: SimTime) -> Permit {
        assert!(now >= self.last_now, "rate limiter called at {now} after {}", self.last_now);
        self.last_now = now;
        let permit = match &mut self.kind {
            Kind::TokenBucket { capacity, refill_per_sec, max_wait, tokens, last } => {
                token_bucket_acquire(*capacity, *refill_per_sec, *max_wait, tokens, last, now)
            }
            Kind::Atomic { limit, period_ns, timeout_ns, epoch, active_cycle, active_permissions } => {
                let current_nanos = to_i64(now.since(*epoch).as_nanos());
                atomic_acquire(*limit, *period_ns, *timeout_ns, current_nanos, active_cycle, active_permissions)
            }
        };
        match permit {
            Permit::Now => self.counters.granted_now += 1,
            Permit::After(wait) => {
                self.counters.granted_after_wait += 1;
                self.counters.wait_total += wait;
            }
            Permit::Denied => self.counters.denied += 1,
        }
        permit
    }

    /// How long a denied caller is held before it learns it was denied.
    ///
    /// Resilience4j's `acquirePermission` (what its decorators call) parks the caller for the
    /// whole `timeoutDuration` before returning `false`, so a denied call fails only after the
    /// timeout (5 s by default). The token bucket denies at once.
    pub fn rejection_delay(&self) -> SimDuration {
        match self.kind {
            Kind::TokenBucket { .. } => SimDuration::ZERO,
            Kind::Atomic { timeout_ns, .. } => SimDuration::from_nanos(timeout_ns as u64),
        }
    }

    pub fn counters(&self) -> LimiterCounters {
        self.counters
    }
}

fn to_i64(ns: u64) -> i64 {
    i64::try_from(ns).unwrap_or(i64::MAX)
}

/// Bucket4j's `tryConsume(1, maxWait)` with greedy (continuous) refill.
fn token_bucket_acquire(
    capacity: f64,
    refill_per_sec: f64,
    max_wait: SimDuration,
    tokens: &mut f64,
    last: &mut SimTime,
    now: SimTime,
) -> Permit {
    // Multiply before dividing so that whole-millisecond gaps at whole rates refill exactly.
    let elapsed_ns = now.since(*last).as_nanos() as f64;
    *tokens = (*tokens + elapsed_ns * refill_per_sec / NANOS_PER_SEC as f64).min(capacity);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        return Permit::Now;
    }
    // A bucket that can never hold a whole token, or never refills, cannot close the deficit.
    if capacity < 1.0 || refill_per_sec <= 0.0 {
        return Permit::Denied;
    }
    let deficit = 1.0 - *tokens;
    let wait_ns = (deficit * NANOS_PER_SEC as f64 / refill_per_sec).ceil();
    if wait_ns <= max_wait.as_nanos() as f64 {
        *tokens -= 1.0;
        Permit::After(SimDuration::from_nanos(wait_ns as u64))
    } else {
        Permit::Denied
    }
}

/// `AtomicRateLimiter.calculateNextState` for one permit, then the verdict of
/// `waitForPermissionIfNecessary`.
fn atomic_acquire(
    limit: i64,
    period_ns: i64,
    timeout_ns: i64,
    current_nanos: i64,
    active_cycle: &mut i64,
    active_permissions: &mut i64,
) -> Permit {
    let current_cycle = current_nanos / period_ns;
    if *active_cycle != current_cycle {
        let elapsed_cycles = current_cycle - *active_cycle;
        let accumulated = elapsed_cycles.saturating_mul(limit);
        *active_cycle = current_cycle;
        *active_permissions = active_permissions.saturating_add(accumulated).min(limit);
    }
    let nanos_to_wait = if *active_permissions >= 1 {
        0
    } else {
        let next_cycle_time = (current_cycle + 1).saturating_mul(period_ns);
        let nanos_to_next_cycle = next_cycle_time - current_nanos;
        let permissions_at_start_of_next_cycle = *active_permissions + limit;
        // divCeil(-(permissionsAtTheStartOfNextCycle - permits), permissionsPerCycle), with
        // Java's truncating division (the dividend is > -limit, so the result is >= 0).
        let x = -(permissions_at_start_of_next_cycle - 1);
        let full_cycles_to_wait = (x + limit - 1) / limit;
        full_cycles_to_wait.saturating_mul(period_ns).saturating_add(nanos_to_next_cycle)
    };
    let can_acquire_in_time = timeout_ns >= nanos_to_wait;
    if can_acquire_in_time {
        *active_permissions -= 1;
    }
    if nanos_to_wait <= 0 {
        Permit::Now
    } else if can_acquire_in_time {
        Permit::After(SimDuration::from_nanos(nanos_to_wait as u64))
    } else {
        Permit::Denied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(v: u64) -> SimTime {
        SimTime(v * 1_000_000)
    }

    fn after_ms(v: u64) -> Permit {
        Permit::After(SimDuration::from_millis(v))
    }

    #[test]
    fn resilience4j_defaults_are_50_per_500ns_with_5s_timeout() {
        assert_eq!(
            LimiterConfig::default(),
            LimiterConfig::Resilience4j {
                limit_for_period: 50,
                limit_refresh_period: SimDuration(500),
                timeout: SimDuration::from_secs(5)
            }
        );
        let limiter = RateLimiter::new(&LimiterConfig::default(), SimTime::ZERO);
        assert_eq!(limiter.rejection_delay(), SimDuration::from_secs(5));
    }

    #[test]
    fn token_bucket_starts_full_then_refills_continuously() {
        let mut tb = RateLimiter::new(&LimiterConfig::token_bucket(2.0, 10.0), SimTime::ZERO);
        assert_eq!(tb.acquire(ms(0)), Permit::Now);
        assert_eq!(tb.acquire(ms(0)), Permit::Now);
        assert_eq!(tb.acquire(ms(0)), Permit::Denied);
        // 50 ms at 10 tokens/s is half a token: still nothing.
        assert_eq!(tb.acquire(ms(50)), Permit::Denied);
        // 100 ms makes a whole token.
        assert_eq!(tb.acquire(ms(100)), Permit::Now);
        assert_eq!(tb.acquire(ms(100)), Permit::Denied);
        assert_eq!(tb.rejection_delay(), SimDuration::ZERO);
        let c = tb.counters();
        assert_eq!((c.granted_now, c.granted_after_wait, c.denied), (3, 0, 3));
    }

    #[test]
    fn token_bucket_never_holds_more_than_capacity() {
        let mut tb = RateLimiter::new(&LimiterConfig::token_bucket(3.0, 100.0), SimTime::ZERO);
        // An hour idle refills to the capacity only.
        let later = SimTime(3600 * NANOS_PER_SEC);
        for _ in 0..3 {
            assert_eq!(tb.acquire(later), Permit::Now);
        }
        assert_eq!(tb.acquire(later), Permit::Denied);
    }

    #[test]
    fn token_bucket_reserves_future_tokens_within_max_wait() {
        let config =
            LimiterConfig::TokenBucket { capacity: 1.0, refill_per_sec: 10.0, max_wait: SimDuration::from_millis(250) };
        let mut tb = RateLimiter::new(&config, SimTime::ZERO);
        assert_eq!(tb.acquire(ms(0)), Permit::Now);
        // Each reservation pushes the next token 100 ms further out.
        assert_eq!(tb.acquire(ms(0)), after_ms(100));
        assert_eq!(tb.acquire(ms(0)), after_ms(200));
        // The next would wait 300 ms > 250 ms: denied, and nothing is reserved.
        assert_eq!(tb.acquire(ms(0)), Permit::Denied);
        // 100 ms later one reserved token has arrived; the next free one is 200 ms away.
        assert_eq!(tb.acquire(ms(100)), after_ms(200));
        let c = tb.counters();
        assert_eq!((c.granted_now, c.granted_after_wait, c.denied), (1, 3, 1));
        assert_eq!(c.wait_total, SimDuration::from_millis(500));
    }

    #[test]
    fn token_bucket_without_refill_or_whole_token_denies() {
        let mut no_refill = RateLimiter::new(
            &LimiterConfig::TokenBucket { capacity: 1.0, refill_per_sec: 0.0, max_wait: SimDuration::from_secs(9) },
            SimTime::ZERO,
        );
        assert_eq!(no_refill.acquire(ms(0)), Permit::Now);
        assert_eq!(no_refill.acquire(ms(10_000)), Permit::Denied);
        let mut tiny = RateLimiter::new(
            &LimiterConfig::TokenBucket { capacity: 0.5, refill_per_sec: 10.0, max_wait: SimDuration::from_secs(9) },
            SimTime::ZERO,
        );
        assert_eq!(tiny.acquire(ms(10_000)), Permit::Denied);
    }

    fn r4j(limit: u32, period: SimDuration, timeout: SimDuration, start: SimTime) -> RateLimiter {
        let config = LimiterConfig::Resilience4j { limit_for_period: limit, limit_refresh_period: period, timeout };
        RateLimiter::new(&config, start)
    }

    #[test]
    fn resilience4j_refreshes_to_limit_each_cycle_never_above() {
        let mut rl = r4j(2, SimDuration::from_secs(1), SimDuration::ZERO, SimTime::ZERO);
        assert_eq!(rl.acquire(ms(0)), Permit::Now);
        assert_eq!(rl.acquire(ms(0)), Permit::Now);
        assert_eq!(rl.acquire(ms(0)), Permit::Denied);
        assert_eq!(rl.acquire(ms(999)), Permit::Denied);
        assert_eq!(rl.acquire(ms(1000)), Permit::Now);
        assert_eq!(rl.acquire(ms(1500)), Permit::Now);
        assert_eq!(rl.acquire(ms(1999)), Permit::Denied);
        // Four idle cycles do not accumulate: the next cycle has 2 permissions, not 8.
        assert_eq!(rl.acquire(ms(6000)), Permit::Now);
        assert_eq!(rl.acquire(ms(6000)), Permit::Now);
        assert_eq!(rl.acquire(ms(6000)), Permit::Denied);
        // Denied with a zero timeout: learnt at once.
        assert_eq!(rl.rejection_delay(), SimDuration::ZERO);
    }

    #[test]
    fn resilience4j_reserves_within_timeout_and_denies_beyond() {
        let mut rl = r4j(1, SimDuration::from_secs(1), SimDuration::from_millis(1500), SimTime::ZERO);
        assert_eq!(rl.acquire(ms(0)), Permit::Now);
        // The next permission is at the next cycle, 800 ms away.
        assert_eq!(rl.acquire(ms(200)), after_ms(800));
        // Then the one after is a full cycle further: 700 + 1000 ms > 1500 ms.
        assert_eq!(rl.acquire(ms(300)), Permit::Denied);
        // The denial reserved nothing: at 600 ms it is 400 + 1000 = 1400 ms away.
        assert_eq!(rl.acquire(ms(600)), after_ms(1400));
        // Cycle 1's permission and cycle 2's are both reserved: the next is cycle 3's, 2 s away.
        assert_eq!(rl.acquire(ms(1000)), Permit::Denied);
        assert_eq!(rl.acquire(ms(1500)), after_ms(1500));
        assert_eq!(rl.rejection_delay(), SimDuration::from_millis(1500));
    }

    #[test]
    fn resilience4j_wait_is_exactly_at_the_timeout_boundary() {
        // nanosToWait <= timeout reserves; one nanosecond more is denied.
        let mut rl = r4j(1, SimDuration::from_secs(1), SimDuration::from_millis(600), SimTime::ZERO);
        assert_eq!(rl.acquire(ms(0)), Permit::Now);
        assert_eq!(rl.acquire(SimTime(400_000_000 - 1)), Permit::Denied);
        assert_eq!(rl.acquire(ms(400)), after_ms(600));
    }

    #[test]
    fn resilience4j_cycles_count_from_the_limiter_start() {
        // Started at 300 ms with a 1 s period: cycles turn at 1.3 s, 2.3 s, ...
        let mut rl = r4j(1, SimDuration::from_secs(1), SimDuration::ZERO, ms(300));
        assert_eq!(rl.acquire(ms(300)), Permit::Now);
        assert_eq!(rl.acquire(ms(1299)), Permit::Denied);
        assert_eq!(rl.acquire(ms(1300)), Permit::Now);
    }

    #[test]
    fn resilience4j_default_period_grants_50_per_500ns() {
        let mut rl = RateLimiter::new(&LimiterConfig::default(), SimTime::ZERO);
        for _ in 0..50 {
            assert_eq!(rl.acquire(SimTime(0)), Permit::Now);
        }
        assert_eq!(rl.acquire(SimTime(0)), Permit::After(SimDuration(500)));
        assert_eq!(rl.acquire(SimTime(500)), Permit::Now);
    }

    proptest! {
        /// However calls arrive, the grants (at the time each call actually proceeds) in any
        /// window [a, b] number at most capacity + rate * (b - a).
        #[test]
        fn token_bucket_never_grants_more_than_its_arithmetic(
            capacity in 1u32..5,
            rate in 1u32..50,
            max_wait_ms in 0u64..300,
            gaps in prop::collection::vec(0u64..40_000_000, 1..200),
        ) {
            let config = LimiterConfig::TokenBucket {
                capacity: f64::from(capacity),
                refill_per_sec: f64::from(rate),
                max_wait: SimDuration::from_millis(max_wait_ms),
            };
            let mut tb = RateLimiter::new(&config, SimTime::ZERO);
            let mut now = SimTime::ZERO;
            let mut granted: Vec<u64> = Vec::new();
            for gap in gaps {
                now = now + SimDuration(gap);
                match tb.acquire(now) {
                    Permit::Now => granted.push(now.0),
                    Permit::After(w) => {
                        prop_assert!(w.as_nanos() <= max_wait_ms * 1_000_000);
                        granted.push(now.0 + w.0);
                    }
                    Permit::Denied => {}
                }
            }
            granted.sort_unstable();
            for i in 0..granted.len() {
                for j in i..granted.len() {
                    let window_s = (granted[j] - granted[i]) as f64 / 1e9;
                    let allowed = f64::from(capacity) + f64::from(rate) * window_s + 1e-6;
                    prop_assert!((j - i + 1) as f64 <= allowed, "{} grants in {window_s}s", j - i + 1);
                }
            }
        }

        /// Whatever the arrivals, no cycle ever sees more than limitForPeriod calls proceed
        /// (counting a reserved call in the cycle it proceeds in), and no wait exceeds the timeout.
        #[test]
        fn resilience4j_never_grants_more_than_limit_per_cycle(
            limit in 1u32..6,
            period_ms in 1u64..50,
            timeout_ms in 0u64..200,
            start_ms in 0u64..100,
            gaps in prop::collection::vec(0u64..20_000_000, 1..300),
        ) {
            let period = SimDuration::from_millis(period_ms);
            let start = ms(start_ms);
            let mut rl = r4j(limit, period, SimDuration::from_millis(timeout_ms), start);
            let mut now = start;
            let mut per_cycle = std::collections::BTreeMap::<u64, u32>::new();
            for gap in gaps {
                now = now + SimDuration(gap);
                let go = match rl.acquire(now) {
                    Permit::Now => Some(now),
                    Permit::After(w) => {
                        prop_assert!(w.as_nanos() <= timeout_ms * 1_000_000);
                        Some(now + w)
                    }
                    Permit::Denied => None,
                };
                if let Some(t) = go {
                    *per_cycle.entry(t.since(start).0 / period.0).or_default() += 1;
                }
            }
            for (cycle, n) in per_cycle {
                prop_assert!(n <= limit, "cycle {cycle} granted {n} > {limit}");
            }
        }
    }
}
