//! Duration distributions: service times, network latencies, think times.
//!
//! A `Dist` is validated at load time (its parameters are known to be finite and in
//! range) and is sampled with a stream passed in. Samples are whole nanoseconds; the
//! normal distribution is clamped at zero, since a negative duration has no meaning.

use crate::time::SimDuration;
use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, Normal, Pareto, Weibull};

/// A validated distribution of durations. All parameters are in nanoseconds.
#[derive(Clone, Debug)]
pub enum Dist {
    Constant(SimDuration),
    Uniform {
        min_ns: f64,
        span_ns: f64,
    },
    Exponential {
        mean_ns: f64,
    },
    Normal(Normal<f64>),
    /// The normal distribution of the logarithm: a sample is `exp` of its sample, as
    /// `rand_distr::LogNormal` draws (the same draws, bit for bit).
    LogNormal(Normal<f64>),
    Pareto(Pareto<f64>),
    Weibull(Weibull<f64>),
    Gamma(Gamma<f64>),
    /// Draws one of the samples uniformly at random.
    Empirical(Vec<SimDuration>),
}

impl Dist {
    pub fn constant(d: SimDuration) -> Dist {
        Dist::Constant(d)
    }

    /// Draws one duration. Constant distributions consume no randomness.
    ///
    /// The two commonest cases are inlined into the caller; the others are one call away.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        match self {
            Dist::Constant(d) => *d,
            Dist::Exponential { mean_ns } => {
                let e: f64 = Exp1.sample(rng);
                to_duration(e * mean_ns)
            }
            _ => self.sample_other(rng),
        }
    }

    #[inline(never)]
    fn sample_other<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        let ns: f64 = match self {
            Dist::Constant(_) | Dist::Exponential { .. } => unreachable!("`sample` draws these itself"),
            Dist::Uniform { min_ns, span_ns } => min_ns + span_ns * rng.random::<f64>(),
            Dist::Normal(d) => d.sample(rng),
            Dist::LogNormal(log) => return exp_to_duration(log.sample(rng)),
            Dist::Pareto(d) => d.sample(rng),
            Dist::Weibull(d) => d.sample(rng),
            Dist::Gamma(d) => d.sample(rng),
            Dist::Empirical(samples) => return samples[rng.random_range(0..samples.len())],
        };
        to_duration(ns)
    }

    /// True when every sample is zero, so callers can skip scheduling an event.
    pub fn is_always_zero(&self) -> bool {
        matches!(self, Dist::Constant(d) if d.is_zero())
    }
}

/// Nanoseconds as a duration. Float-to-int casts saturate: NaN becomes 0, huge values
/// u64::MAX. Adding 0.5 rounds a non-negative value without a call to libm's `round`.
#[inline(always)]
fn to_duration(ns: f64) -> SimDuration {
    SimDuration((ns.max(0.0) + 0.5) as u64)
}

/// `round(exp(x))` nanoseconds, bit for bit `to_duration(x.exp())`, mostly without libm.
///
/// `exp_approx` is within about 1e-14 (relative) of `exp`, and libm's `exp` within one
/// unit in the last place (2.2e-16), so libm's result `g` is within `y * 1e-13` of ours,
/// `y`. `y` rounds to the whole nanosecond `m`; when `y` lies farther than `y * 1e-12`
/// from the halves around `m`, where the rounding turns, `g` lies between the same
/// halves, and so does `g + 0.5` (rounded to a double) between `m` and `m + 1`:
/// `to_duration(g)` is `m`. Otherwise (about one draw in 1e12 / y ns, fewer than one in
/// 100,000 below 10 ms) and outside the range of the approximation, this asks libm.
#[inline]
fn exp_to_duration(x: f64) -> SimDuration {
    // Below -700 exp is subnormal or zero, above 35 beyond 2^51 ns (26 days); NaN fails both.
    if x > -700.0 && x < 35.0 {
        let y = exp_approx(x);
        // y < 2^51: adding and taking away 1.5 * 2^52 rounds it to the nearest integer.
        let m = (y + ROUND) - ROUND;
        if 0.5 - (y - m).abs() > y * EXP_MARGIN {
            return SimDuration(m as i64 as u64);
        }
    }
    to_duration(x.exp())
}

/// 1.5 * 2^52: `(v + ROUND) - ROUND` is `v` rounded to an integer, for |v| < 2^51.
const ROUND: f64 = 6_755_399_441_055_744.0;

/// The relative half-width of the interval `exp_to_duration` checks.
const EXP_MARGIN: f64 = 1e-12;

/// `2^(j/64)`, j = 0..63, correctly rounded.
const EXP2_64THS: [u64; 64] = [
    0x3ff0000000000000,
    0x3ff02c9a3e778061,
    0x3ff059b0d3158574,
    0x3ff0874518759bc8,
    0x3ff0b5586cf9890f,
    0x3ff0e3ec32d3d1a2,
    0x3ff11301d0125b51,
    0x3ff1429aaea92de0,
    0x3ff172b83c7d517b,
    0x3ff1a35beb6fcb75,
    0x3ff1d4873168b9aa,
    0x3ff2063b88628cd6,
    0x3ff2387a6e756238,
    0x3ff26b4565e27cdd,
    0x3ff29e9df51fdee1,
    0x3ff2d285a6e4030b,
    0x3ff306fe0a31b715,
    0x3ff33c08b26416ff,
    0x3ff371a7373aa9cb,
    0x3ff3a7db34e59ff7,
    0x3ff3dea64c123422,
    0x3ff4160a21f72e2a,
    0x3ff44e086061892d,
    0x3ff486a2b5c13cd0,
    0x3ff4bfdad5362a27,
    0x3ff4f9b2769d2ca7,
    0x3ff5342b569d4f82,
    0x3ff56f4736b527da,
    0x3ff5ab07dd485429,
    0x3ff5e76f15ad2148,
    0x3ff6247eb03a5585,
    0x3ff6623882552225,
    0x3ff6a09e667f3bcd,
    0x3ff6dfb23c651a2f,
    0x3ff71f75e8ec5f74,
    0x3ff75feb564267c9,
    0x3ff7a11473eb0187,
    0x3ff7e2f336cf4e62,
    0x3ff82589994cce13,
    0x3ff868d99b4492ed,
    0x3ff8ace5422aa0db,
    0x3ff8f1ae99157736,
    0x3ff93737b0cdc5e5,
    0x3ff97d829fde4e50,
    0x3ff9c49182a3f090,
    0x3ffa0c667b5de565,
    0x3ffa5503b23e255d,
    0x3ffa9e6b5579fdbf,
    0x3ffae89f995ad3ad,
    0x3ffb33a2b84f15fb,
    0x3ffb7f76f2fb5e47,
    0x3ffbcc1e904bc1d2,
    0x3ffc199bdd85529c,
    0x3ffc67f12e57d14b,
    0x3ffcb720dcef9069,
    0x3ffd072d4a07897c,
    0x3ffd5818dcfba487,
    0x3ffda9e603db3285,
    0x3ffdfc97337b9b5f,
    0x3ffe502ee78b3ff6,
    0x3ffea4afa2a490da,
    0x3ffefa1bee615a27,
    0x3fff50765b6e4540,
    0x3fffa7c1819e90d8,
];

/// `exp(x)` for -700 < x < 35 within about 1e-15: x = k ln2/64 + r with |r| <= ln2/128,
/// exp(x) = 2^(k div 64) 2^((k mod 64)/64) e^r, e^r by its Taylor series to r^5
/// (truncation under 4e-17). ln2/64 is split so that `k * LN2_64_HI` is exact (36
/// significant bits, |k| < 2^16) and `x - k * LN2_64_HI` too (Sterbenz).
#[inline]
fn exp_approx(x: f64) -> f64 {
    const INV_LN2_64: f64 = f64::from_bits(0x40571547652b82fe);
    const LN2_64_HI: f64 = f64::from_bits(0x3f862e42fefa0000);
    const LN2_64_LO: f64 = f64::from_bits(0x3d1cf79abc9e3b3a);
    // k is the low bits of the rounded sum, as an offset from ROUND's.
    let t = x * INV_LN2_64 + ROUND;
    let k = t.to_bits().wrapping_sub(ROUND.to_bits()) as i64;
    let kf = t - ROUND;
    let r = (x - kf * LN2_64_HI) - kf * LN2_64_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0)))));
    let scale = f64::from_bits((((k >> 6) + 1023) as u64) << 52);
    f64::from_bits(EXP2_64THS[(k & 63) as usize]) * p * scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RootSeed;
    use proptest::prelude::*;

    fn mean_ms(d: &Dist, n: usize) -> f64 {
        let mut rng = RootSeed(1).stream("dist-test");
        let total: f64 = (0..n).map(|_| d.sample(&mut rng).as_millis_f64()).sum();
        total / n as f64
    }

    #[test]
    fn exponential_mean() {
        let m = mean_ms(&Dist::Exponential { mean_ns: 10e6 }, 200_000);
        assert!((m - 10.0).abs() < 0.1, "mean {m}");
    }

    #[test]
    fn uniform_bounds_and_mean() {
        let d = Dist::Uniform { min_ns: 5e6, span_ns: 10e6 };
        let mut rng = RootSeed(2).stream("u");
        for _ in 0..10_000 {
            let s = d.sample(&mut rng).as_millis_f64();
            assert!((5.0..=15.0).contains(&s));
        }
        assert!((mean_ms(&d, 100_000) - 10.0).abs() < 0.1);
    }

    #[test]
    fn normal_is_clamped_at_zero() {
        let d = Dist::Normal(Normal::new(1e6, 5e6).unwrap());
        let mut rng = RootSeed(3).stream("n");
        let zeros = (0..10_000).filter(|_| d.sample(&mut rng).is_zero()).count();
        assert!(zeros > 3000, "about 42% of N(1,5) is negative: {zeros}");
    }

    #[test]
    fn lognormal_draws_are_rand_distrs() {
        let (mu, sigma) = ((6e6f64).ln(), 0.5);
        let ours = Dist::LogNormal(Normal::new(mu, sigma).unwrap());
        let theirs = rand_distr::LogNormal::new(mu, sigma).unwrap();
        let (mut a, mut b) = (RootSeed(5).stream("l"), RootSeed(5).stream("l"));
        for _ in 0..100_000 {
            assert_eq!(ours.sample(&mut a), to_duration(theirs.sample(&mut b)));
        }
    }

    /// `exp_to_duration(x)` against `to_duration(x.exp())` at `x`, and just around it.
    fn check_exp(x: f64) -> Result<(), TestCaseError> {
        for x in [x, f64::from_bits(x.to_bits().wrapping_add(1)), f64::from_bits(x.to_bits().wrapping_sub(1))] {
            prop_assert_eq!(exp_to_duration(x), to_duration(x.exp()), "x = {:e}", x);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// Bit for bit libm's `exp` rounded to whole nanoseconds, over the range of
        /// durations (a nanosecond to centuries) and beyond it.
        #[test]
        fn exp_to_duration_is_libms_exp_rounded(x in -750.0f64..60.0) {
            check_exp(x)?;
        }

        /// Where it matters most: exp(x) within a millionth of a nanosecond of a half,
        /// where the rounding to a whole nanosecond turns.
        #[test]
        fn exp_to_duration_at_the_rounding_turns(n in 0u64..20_000_000_000, offset in -1e-6f64..1e-6) {
            check_exp((n as f64 + 0.5 + offset).ln())?;
        }
    }

    #[test]
    fn exp_to_duration_at_the_edges() {
        for x in
            [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -700.0, 35.0, 34.999, 0.0, -0.0, 1e-300, -1e-300, 709.0, 710.0]
        {
            assert_eq!(exp_to_duration(x), to_duration(x.exp()), "x = {x:e}");
        }
        // The approximation itself, well inside its 1e-12 margin.
        let mut rng = RootSeed(6).stream("x");
        for _ in 0..1_000_000 {
            let x = -700.0 + 735.0 * rand::Rng::random::<f64>(&mut rng);
            let (ours, libm) = (exp_approx(x), x.exp());
            assert!(((ours - libm) / libm).abs() < 1e-14, "x = {x:e}: {ours:e} against {libm:e}");
        }
    }

    #[test]
    fn empirical_draws_only_its_samples() {
        let d = Dist::Empirical(vec![SimDuration::from_millis(1), SimDuration::from_millis(3)]);
        let mut rng = RootSeed(4).stream("e");
        let mut seen = [0u32; 2];
        for _ in 0..1000 {
            match d.sample(&mut rng).as_nanos() {
                1_000_000 => seen[0] += 1,
                3_000_000 => seen[1] += 1,
                other => panic!("drew {other}"),
            }
        }
        assert!(seen[0] > 400 && seen[1] > 400);
    }
}
