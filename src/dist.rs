//! Duration distributions: service times, network latencies, think times.
//!
//! A `Dist` is validated at load time (its parameters are known to be finite and in
//! range) and is sampled with a stream passed in. Samples are whole nanoseconds; the
//! normal distribution is clamped at zero, since a negative duration has no meaning.

use crate::time::SimDuration;
use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, LogNormal, Normal, Pareto, Weibull};

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
    LogNormal(LogNormal<f64>),
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
            Dist::LogNormal(d) => d.sample(rng),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RootSeed;

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
