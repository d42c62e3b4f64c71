//! Retry backoff: how long a proxy waits before retry number n, by the formula of the
//! implementation each flavour is named after.
//!
//! `retry` counts retries, not attempts: 1 is the first retry (the second attempt). A
//! [`Backoff`] lives for one request, because AWS's decorrelated jitter remembers the
//! previous sleep; every other flavour is a pure function of the retry number, so calling
//! it out of order is harmless. All arithmetic saturates: a huge retry number gives the
//! cap (or `u64::MAX` nanoseconds where there is none), never a panic.

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::policy::BackoffConfig;
use crate::time::SimDuration;

/// Resilience4j truncates its interval to whole milliseconds at every multiplication;
/// this many steps are replayed one by one, any further ones in a single `powf`.
const RESILIENCE4J_EXACT_STEPS: u32 = 1024;

/// One request's backoff state.
#[derive(Clone, Debug)]
pub struct Backoff {
    config: BackoffConfig,
    /// Decorrelated jitter's previous sleep (starts at the base); unused by the others.
    previous: SimDuration,
}

impl Backoff {
    /// # Panics
    /// If [`BackoffConfig::check`] rejects the configuration.
    pub fn new(config: &BackoffConfig) -> Self {
        if let Err(e) = config.check() {
            panic!("invalid backoff configuration: {e}");
        }
        let previous = match *config {
            BackoffConfig::AwsDecorrelatedJitter { base, .. } => base,
            _ => SimDuration::ZERO,
        };
        Backoff { config: *config, previous }
    }

    /// Delay before retry number `retry` (1 = first retry, i.e. the second attempt).
    ///
    /// # Panics
    /// If `retry` is 0.
    pub fn next_delay<R: rand::Rng + ?Sized>(&mut self, retry: u32, rng: &mut R) -> SimDuration {
        assert!(retry >= 1, "retries are numbered from 1");
        // Paired with `bounds`: every draw must land where the formula says.
        #[cfg(debug_assertions)]
        let expected = self.bounds(retry);
        let delay = match self.config {
            BackoffConfig::None
            | BackoffConfig::Constant { .. }
            | BackoffConfig::Linear { .. }
            | BackoffConfig::Fibonacci { .. }
            | BackoffConfig::Exponential { .. } => self.bounds(retry).0.0,
            BackoffConfig::AwsFullJitter { base, cap } => {
                let t = aws_exponential(base, cap, retry);
                jitter(0, t, rng.random())
            }
            BackoffConfig::AwsEqualJitter { base, cap } => {
                let half = aws_exponential(base, cap, retry) / 2;
                jitter(half, half.saturating_mul(2), rng.random())
            }
            BackoffConfig::AwsDecorrelatedJitter { cap, .. } => {
                let (lo, hi) = self.decorrelated_range();
                let sleep = jitter(lo, hi, rng.random()).min(cap.0);
                self.previous = SimDuration(sleep);
                sleep
            }
            BackoffConfig::Resilience4jRandomized { interval, randomization_factor, multiplier, cap } => {
                resilience4j_ms(interval, randomization_factor, multiplier, cap, retry, rng.random())
            }
            BackoffConfig::Envoy { base, max } => {
                // `random() % I_k`: a whole number of milliseconds below the interval.
                let interval = envoy_interval_ms(base, max, retry);
                rng.random_range(0..interval).saturating_mul(1_000_000)
            }
            BackoffConfig::Grpc { initial, multiplier, max } => grpc(initial, multiplier, max, retry, rng.random()),
        };
        let delay = SimDuration(delay);
        #[cfg(debug_assertions)]
        assert!(expected.0 <= delay && delay <= expected.1, "{delay} outside {expected:?} for retry {retry}");
        delay
    }

    /// The closed interval every delay for `retry` must lie in, by the formula (for tests and
    /// property checks). For decorrelated jitter it depends on the previous sleep, so it is
    /// the interval of the *next* call to [`Backoff::next_delay`].
    pub fn bounds(&self, retry: u32) -> (SimDuration, SimDuration) {
        assert!(retry >= 1, "retries are numbered from 1");
        let (lo, hi) = match self.config {
            BackoffConfig::None => (0, 0),
            BackoffConfig::Constant { base } => (base.0, base.0),
            BackoffConfig::Linear { base } => {
                let d = base.0.saturating_mul(u64::from(retry));
                (d, d)
            }
            BackoffConfig::Fibonacci { base, cap } => {
                let d = base.0.saturating_mul(fibonacci(retry)).min(cap.0);
                (d, d)
            }
            BackoffConfig::Exponential { base, multiplier, cap } => {
                let d = base.0 as f64 * multiplier.powf(f64::from(retry - 1));
                let d = if d >= cap.0 as f64 { cap.0 } else { d as u64 };
                (d, d)
            }
            BackoffConfig::AwsFullJitter { base, cap } => (0, aws_exponential(base, cap, retry)),
            BackoffConfig::AwsEqualJitter { base, cap } => {
                let half = aws_exponential(base, cap, retry) / 2;
                (half, half.saturating_mul(2))
            }
            BackoffConfig::AwsDecorrelatedJitter { cap, .. } => {
                let (lo, hi) = self.decorrelated_range();
                (lo.min(cap.0), hi.min(cap.0))
            }
            BackoffConfig::Resilience4jRandomized { interval, randomization_factor, multiplier, cap } => (
                resilience4j_ms(interval, randomization_factor, multiplier, cap, retry, 0.0),
                resilience4j_ms(interval, randomization_factor, multiplier, cap, retry, 1.0),
            ),
            BackoffConfig::Envoy { base, max } => {
                (0, (envoy_interval_ms(base, max, retry) - 1).saturating_mul(1_000_000))
            }
            BackoffConfig::Grpc { initial, multiplier, max } => {
                (grpc(initial, multiplier, max, retry, 0.0), grpc(initial, multiplier, max, retry, 1.0))
            }
        };
        debug_assert!(lo <= hi);
        (SimDuration(lo), SimDuration(hi))
    }

    /// `U(b, 3 * previous)` as an ordered pair (if the cap is below a third of the base, the
    /// blog's `random_between` is asked for a reversed range; Python's `uniform` accepts it).
    fn decorrelated_range(&self) -> (u64, u64) {
        let BackoffConfig::AwsDecorrelatedJitter { base, .. } = self.config else {
            unreachable!("only decorrelated jitter has a previous sleep")
        };
        let three = self.previous.0.saturating_mul(3);
        (base.0.min(three), base.0.max(three))
    }
}

/// `lo + trunc(u * (hi - lo))` for `u` in [0, 1], never above `hi`.
fn jitter(lo: u64, hi: u64, u: f64) -> u64 {
    debug_assert!(lo <= hi && (0.0..=1.0).contains(&u));
    let span = ((hi - lo) as f64 * u) as u64;
    lo.saturating_add(span).min(hi)
}

/// `min(c, b * 2^n)`, exactly, saturating.
fn aws_exponential(base: SimDuration, cap: SimDuration, retry: u32) -> u64 {
    let scaled =
        if retry >= 64 { if base.is_zero() { 0 } else { u64::MAX } } else { base.0.saturating_mul(1u64 << retry) };
    scaled.min(cap.0)
}

/// fib(1) = fib(2) = 1, saturating at `u64::MAX` (from fib(94) on).
fn fibonacci(n: u32) -> u64 {
    if n > 93 {
        return u64::MAX;
    }
    let (mut a, mut b) = (1u64, 1u64);
    for _ in 1..n {
        (a, b) = (b, a.saturating_add(b));
    }
    a
}

/// Envoy's interval for retry k in milliseconds, replaying `nextBackOffMs`: the interval
/// starts at the base and becomes `next < max/2 ? 2 next : max` after each retry.
fn envoy_interval_ms(base: SimDuration, max: SimDuration, retry: u32) -> u64 {
    let base_ms = (base.0 / 1_000_000).max(1);
    let max_ms = (max.0 / 1_000_000).max(base_ms);
    let doubling_limit = max_ms / 2;
    let mut next = base_ms;
    // Within 64 doublings the interval reaches max and stays there.
    for _ in 1..retry.min(66) {
        next = if next < doubling_limit { next * 2 } else { max_ms };
    }
    next
}

/// Resilience4j's randomized interval in milliseconds, as nanoseconds, with the uniform
/// draw `u` (Java's `Math.random()`).
fn resilience4j_ms(
    interval: SimDuration,
    f: f64,
    multiplier: f64,
    cap: Option<SimDuration>,
    retry: u32,
    u: f64,
) -> u64 {
    // `Duration.toMillis()` truncates; Java's `(long)` cast saturates, as Rust's `as` does.
    let mut x = (interval.0 / 1_000_000) as i64;
    let steps = retry - 1;
    let exact = steps.min(RESILIENCE4J_EXACT_STEPS);
    for _ in 0..exact {
        let next = (x as f64 * multiplier) as i64;
        if next == x {
            break; // A fixed point (truncation ate the growth, or saturation): it stays.
        }
        x = next;
    }
    if steps > exact && (x as f64 * multiplier) as i64 != x {
        x = (x as f64 * multiplier.powf(f64::from(steps - exact))) as i64;
    }
    let current = x as f64;
    let delta = f * current;
    let (min, max) = (current - delta, current + delta);
    let mut ms = (min + u * (max - min)) as i64;
    if let Some(cap) = cap {
        ms = ms.min((cap.0 / 1_000_000) as i64);
    }
    (ms.max(0) as u64).saturating_mul(1_000_000)
}

/// grpc-go: `cur = min(initial * m^(n-1), max); cur *= 0.8 + 0.4 u; int64(cur)`.
fn grpc(initial: SimDuration, multiplier: f64, max: SimDuration, retry: u32, u: f64) -> u64 {
    let fact = multiplier.powf(f64::from(retry - 1));
    let cur = (initial.0 as f64 * fact).min(max.0 as f64);
    (cur * (0.8 + 0.4 * u)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RootSeed;
    use proptest::prelude::*;

    fn ms(x: u64) -> SimDuration {
        SimDuration::from_millis(x)
    }

    /// Draws `count` delays for retries 1..=count.
    fn delays(config: BackoffConfig, count: u32) -> Vec<SimDuration> {
        let mut rng = RootSeed(1).stream("backoff");
        let mut b = Backoff::new(&config);
        (1..=count).map(|n| b.next_delay(n, &mut rng)).collect()
    }

    #[test]
    fn none_retries_at_once() {
        assert_eq!(delays(BackoffConfig::None, 3), vec![SimDuration::ZERO; 3]);
    }

    #[test]
    fn constant_waits_the_base_every_time() {
        assert_eq!(delays(BackoffConfig::Constant { base: ms(100) }, 3), vec![ms(100); 3]);
    }

    #[test]
    fn linear_grows_by_the_base() {
        assert_eq!(delays(BackoffConfig::Linear { base: ms(100) }, 3), vec![ms(100), ms(200), ms(300)]);
    }

    #[test]
    fn fibonacci_follows_1_1_2_3_5_and_caps() {
        let got = delays(BackoffConfig::Fibonacci { base: ms(10), cap: ms(60) }, 7);
        assert_eq!(got, vec![ms(10), ms(10), ms(20), ms(30), ms(50), ms(60), ms(60)]);
    }

    #[test]
    fn exponential_multiplies_then_caps() {
        let config = BackoffConfig::Exponential { base: ms(100), multiplier: 2.0, cap: ms(1000) };
        assert_eq!(delays(config, 6), vec![ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]);
    }

    #[test]
    fn huge_retry_numbers_saturate_without_panicking() {
        let mut rng = RootSeed(1).stream("backoff");
        let cap = ms(1000);
        let exp = BackoffConfig::Exponential { base: ms(100), multiplier: 2.0, cap };
        assert_eq!(Backoff::new(&exp).next_delay(u32::MAX, &mut rng), cap);
        let fib = BackoffConfig::Fibonacci { base: ms(1), cap: SimDuration(u64::MAX) };
        assert_eq!(Backoff::new(&fib).next_delay(u32::MAX, &mut rng), SimDuration(u64::MAX));
        let lin = BackoffConfig::Linear { base: SimDuration::from_secs(3600) };
        assert_eq!(Backoff::new(&lin).next_delay(u32::MAX, &mut rng), SimDuration(u64::MAX));
        let full = BackoffConfig::AwsFullJitter { base: ms(100), cap };
        assert!(Backoff::new(&full).next_delay(u32::MAX, &mut rng) <= cap);
        let envoy = BackoffConfig::envoy_default();
        assert!(Backoff::new(&envoy).next_delay(u32::MAX, &mut rng) < ms(250));
        let grpc = BackoffConfig::Grpc { initial: ms(100), multiplier: 2.0, max: cap };
        assert!(Backoff::new(&grpc).next_delay(u32::MAX, &mut rng) <= ms(1200));
    }

    #[test]
    fn aws_full_jitter_lies_between_zero_and_the_capped_doubling() {
        let config = BackoffConfig::AwsFullJitter { base: ms(10), cap: ms(100) };
        let b = Backoff::new(&config);
        // b * 2^n with n from 1: 20, 40, 80, then the cap.
        let his: Vec<_> = (1..=5).map(|n| b.bounds(n)).collect();
        assert_eq!(his, vec![(ms(0), ms(20)), (ms(0), ms(40)), (ms(0), ms(80)), (ms(0), ms(100)), (ms(0), ms(100))]);
        let mut rng = RootSeed(1).stream("backoff");
        let mut b = Backoff::new(&config);
        let draws: Vec<_> = (0..1000).map(|_| b.next_delay(4, &mut rng)).collect();
        assert!(draws.iter().all(|d| *d <= ms(100)));
        // Full jitter spreads over the whole range: both ends are reached closely.
        assert!(draws.iter().any(|d| *d < ms(5)) && draws.iter().any(|d| *d > ms(95)));
    }

    #[test]
    fn aws_equal_jitter_keeps_half_the_interval() {
        let config = BackoffConfig::AwsEqualJitter { base: ms(10), cap: ms(100) };
        let mut rng = RootSeed(1).stream("backoff");
        let mut b = Backoff::new(&config);
        assert_eq!(b.bounds(2), (ms(20), ms(40)));
        assert_eq!(b.bounds(9), (ms(50), ms(100)));
        for _ in 0..1000 {
            let d = b.next_delay(2, &mut rng);
            assert!(ms(20) <= d && d <= ms(40), "{d}");
        }
    }

    #[test]
    fn aws_decorrelated_stays_between_base_and_three_times_the_previous_sleep() {
        let (base, cap) = (ms(10), ms(1000));
        let mut rng = RootSeed(1).stream("backoff");
        let mut b = Backoff::new(&BackoffConfig::AwsDecorrelatedJitter { base, cap });
        assert_eq!(b.bounds(1), (ms(10), ms(30)));
        let mut previous = base;
        for n in 1..=200 {
            let d = b.next_delay(n, &mut rng);
            let hi = SimDuration(previous.0 * 3).min(cap);
            assert!(base <= d && d <= hi, "retry {n}: {d} outside [{base}, {hi}]");
            assert_eq!(b.bounds(n + 1), (base, SimDuration(d.0 * 3).min(cap)));
            previous = d;
        }
    }

    #[test]
    fn aws_decorrelated_reaches_the_cap() {
        let (base, cap) = (ms(10), ms(100));
        let got = delays(BackoffConfig::AwsDecorrelatedJitter { base, cap }, 100);
        assert!(got.iter().all(|d| base <= *d && *d <= cap));
        assert!(got.contains(&cap));
    }

    #[test]
    fn resilience4j_randomized_spreads_half_around_the_interval() {
        let b = Backoff::new(&BackoffConfig::resilience4j_randomized_default());
        assert_eq!(b.bounds(1), (ms(250), ms(750)));
        assert_eq!(b.bounds(7), (ms(250), ms(750)), "multiplier 1: the interval does not grow");
        let got = delays(BackoffConfig::resilience4j_randomized_default(), 500);
        assert!(got.iter().all(|d| ms(250) <= *d && *d < ms(750)));
        assert!(got.iter().all(|d| d.0 % 1_000_000 == 0), "whole milliseconds");
    }

    #[test]
    fn resilience4j_exponential_truncates_milliseconds_each_step() {
        // 5 ms x 1.5: 5, (long) 7.5 = 7, (long) 10.5 = 10, 15: not 5 x 1.5^3 = 16.875.
        let config = BackoffConfig::Resilience4jRandomized {
            interval: ms(5),
            randomization_factor: 0.0,
            multiplier: 1.5,
            cap: None,
        };
        assert_eq!(delays(config, 4), vec![ms(5), ms(7), ms(10), ms(15)]);
        // A multiplier too small to add a whole millisecond never grows the interval.
        let stuck = BackoffConfig::Resilience4jRandomized {
            interval: ms(500),
            randomization_factor: 0.0,
            multiplier: 1.001,
            cap: None,
        };
        assert_eq!(Backoff::new(&stuck).bounds(u32::MAX), (ms(500), ms(500)));
    }

    #[test]
    fn resilience4j_caps_after_randomizing() {
        // Interval 1000 ms, f 0.5: [500, 1500) then min(., 800): many draws land on the cap.
        let config = BackoffConfig::Resilience4jRandomized {
            interval: ms(1000),
            randomization_factor: 0.5,
            multiplier: 1.0,
            cap: Some(ms(800)),
        };
        assert_eq!(Backoff::new(&config).bounds(1), (ms(500), ms(800)));
        let got = delays(config, 400);
        let at_cap = got.iter().filter(|d| **d == ms(800)).count();
        assert!(got.iter().all(|d| ms(500) <= *d && *d <= ms(800)));
        assert!(at_cap > 200, "about 70 % of draws exceed 800 ms before the cap, found {at_cap}");
    }

    #[test]
    fn envoy_interval_doubles_then_caps_at_ten_times_base() {
        let b = Backoff::new(&BackoffConfig::envoy_default());
        let his: Vec<_> = (1..=6).map(|k| b.bounds(k).1).collect();
        // U[0, I_k) in whole milliseconds: I_k = 25, 50, 100, 200, 250, 250.
        assert_eq!(his, vec![ms(24), ms(49), ms(99), ms(199), ms(249), ms(249)]);
        let got = delays(BackoffConfig::envoy_default(), 1000);
        assert!(got.iter().all(|d| d.0 % 1_000_000 == 0), "whole milliseconds");
        assert!(got[..1].iter().all(|d| *d < ms(25)));
    }

    #[test]
    fn envoy_jumps_to_max_once_doubling_would_pass_half_of_it() {
        // next < max/2 doubles; 25 < 51/2 = 25 is false, so the second interval is 51, not 50.
        let b = Backoff::new(&BackoffConfig::Envoy { base: ms(25), max: ms(51) });
        assert_eq!((b.bounds(1).1, b.bounds(2).1, b.bounds(3).1), (ms(24), ms(50), ms(50)));
    }

    #[test]
    fn envoy_sub_millisecond_base_rounds_up_to_one_millisecond() {
        let config = BackoffConfig::Envoy { base: SimDuration::from_micros(300), max: SimDuration::from_micros(900) };
        // 1 ms, then max truncated to 0 ms is raised to the base: every interval is 1 ms.
        assert_eq!(delays(config, 5), vec![SimDuration::ZERO; 5]);
    }

    #[test]
    fn envoy_draws_cover_the_interval() {
        let mut rng = RootSeed(1).stream("backoff");
        let mut b = Backoff::new(&BackoffConfig::envoy_default());
        let mut seen = [false; 25];
        for _ in 0..2000 {
            seen[(b.next_delay(1, &mut rng).0 / 1_000_000) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn grpc_jitter_stays_within_80_to_120_percent() {
        let config = BackoffConfig::Grpc { initial: ms(100), multiplier: 2.0, max: ms(1000) };
        let b = Backoff::new(&config);
        assert_eq!(b.bounds(1), (ms(80), ms(120)));
        assert_eq!(b.bounds(3), (ms(320), ms(480)));
        // The jitter applies after the cap: up to 1.2 x maxBackoff.
        assert_eq!(b.bounds(10), (ms(800), ms(1200)));
        let got = delays(config, 5);
        for (n, d) in (1..=5).zip(&got) {
            let (lo, hi) = b.bounds(n);
            assert!(lo <= *d && *d <= hi);
        }
    }

    #[test]
    fn same_seed_gives_the_same_delays() {
        let config = BackoffConfig::AwsDecorrelatedJitter { base: ms(10), cap: ms(1000) };
        assert_eq!(delays(config, 20), delays(config, 20));
    }

    #[test]
    #[should_panic(expected = "max_interval")]
    fn envoy_max_below_base_is_rejected() {
        Backoff::new(&BackoffConfig::Envoy { base: ms(25), max: ms(10) });
    }

    fn duration() -> impl Strategy<Value = SimDuration> {
        prop_oneof![
            Just(SimDuration::ZERO),
            (0u64..10_000_000_000).prop_map(SimDuration),
            any::<u64>().prop_map(SimDuration),
        ]
    }

    fn positive_ms() -> impl Strategy<Value = SimDuration> {
        prop_oneof![(1u64..100_000).prop_map(SimDuration::from_millis), (1_000_000u64..=u64::MAX).prop_map(SimDuration)]
    }

    fn multiplier() -> impl Strategy<Value = f64> {
        prop_oneof![Just(1.0), Just(2.0), 0.01f64..10.0, 1.0f64..1.01, 1e3f64..1e12]
    }

    fn config() -> impl Strategy<Value = BackoffConfig> {
        prop_oneof![
            Just(BackoffConfig::None),
            duration().prop_map(|base| BackoffConfig::Constant { base }),
            duration().prop_map(|base| BackoffConfig::Linear { base }),
            (duration(), duration()).prop_map(|(base, cap)| BackoffConfig::Fibonacci { base, cap }),
            (duration(), multiplier(), duration()).prop_map(|(base, multiplier, cap)| BackoffConfig::Exponential {
                base,
                multiplier,
                cap
            }),
            (duration(), duration()).prop_map(|(base, cap)| BackoffConfig::AwsFullJitter { base, cap }),
            (duration(), duration()).prop_map(|(base, cap)| BackoffConfig::AwsEqualJitter { base, cap }),
            (duration(), duration()).prop_map(|(base, cap)| BackoffConfig::AwsDecorrelatedJitter { base, cap }),
            (positive_ms(), 0.0f64..=1.0, multiplier(), proptest::option::of(positive_ms())).prop_map(
                |(interval, randomization_factor, multiplier, cap)| BackoffConfig::Resilience4jRandomized {
                    interval,
                    randomization_factor,
                    multiplier,
                    cap
                }
            ),
            (positive_ms(), any::<u64>()).prop_map(|(base, extra)| BackoffConfig::Envoy {
                base,
                max: SimDuration(base.0.saturating_add(extra % (base.0.saturating_mul(20)).max(1)))
            }),
            (positive_ms(), multiplier(), positive_ms()).prop_map(|(initial, multiplier, max)| BackoffConfig::Grpc {
                initial,
                multiplier,
                max
            }),
        ]
    }

    fn retry() -> impl Strategy<Value = u32> {
        prop_oneof![1u32..20, 1u32..2000, Just(u32::MAX), any::<u32>().prop_map(|n| n.max(1))]
    }

    proptest! {
        #[test]
        fn every_delay_lies_within_its_bounds(config in config(), retries in proptest::collection::vec(retry(), 1..8), seed in any::<u64>()) {
            let mut rng = RootSeed(seed).stream("backoff");
            let mut b = Backoff::new(&config);
            for n in retries {
                let (lo, hi) = b.bounds(n);
                prop_assert!(lo <= hi);
                let d = b.next_delay(n, &mut rng);
                prop_assert!(lo <= d && d <= hi, "{config:?} retry {n}: {d:?} outside [{lo:?}, {hi:?}]");
            }
        }

        #[test]
        fn in_order_retries_stay_within_their_bounds(config in config(), seed in any::<u64>()) {
            let mut rng = RootSeed(seed).stream("backoff");
            let mut b = Backoff::new(&config);
            for n in 1..=70 {
                let (lo, hi) = b.bounds(n);
                let d = b.next_delay(n, &mut rng);
                prop_assert!(lo <= d && d <= hi, "{config:?} retry {n}: {d:?} outside [{lo:?}, {hi:?}]");
            }
        }
    }
}
