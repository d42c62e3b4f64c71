//! The mean of a metric across a point's replications and the half-width of its 95 %
//! confidence interval, with Student's t quantile computed, not looked up.
//!
//! The interval is the textbook one for independent replications: mean ± t(0.975; n − 1)
//! · s / √n, with s the sample standard deviation (n − 1 in the denominator). It needs
//! n ≥ 2; with one replication there is no interval. Sums run in replication order, so
//! the same values give the same bits.

/// Replications above which the quantile is not computed (the sweep caps them lower).
const DF_MAX: usize = 1_000_000;

/// Mean and 95 % confidence half-width of `values` (in replication order): `None` for
/// the mean when there are no values, `None` for the half-width when there are fewer
/// than two.
pub fn mean_ci95(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let n = values.len();
    if n == 0 {
        return (None, None);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (Some(mean), None);
    }
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    let s = (ss / (n - 1) as f64).sqrt();
    (Some(mean), Some(t_quantile_975(n - 1) * s / (n as f64).sqrt()))
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom (`df` ≥ 1): the t
/// with P(T ≤ t) = 0.975, found by bisection on the distribution function to within
/// 1e-12.
///
/// # Panics
/// If `df` is 0 or above a million.
pub fn t_quantile_975(df: usize) -> f64 {
    assert!((1..=DF_MAX).contains(&df), "degrees of freedom from 1 to {DF_MAX}, got {df}");
    let (mut lo, mut hi) = (0.0_f64, 100.0_f64);
    // The upper tail at `hi` (df = 1: about 0.0032) is already below 0.025.
    while hi - lo > 1e-12 {
        let mid = 0.5 * (lo + hi);
        if upper_tail(mid, df as f64) > 0.025 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// P(T > t) for t ≥ 0: half the regularised incomplete beta I_x(df/2, 1/2) at
/// x = df / (df + t²).
fn upper_tail(t: f64, df: f64) -> f64 {
    0.5 * incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
}

/// The regularised incomplete beta function I_x(a, b), by its continued fraction
/// (modified Lentz), on the side of x where it converges fast.
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let tiny = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / tiny(1.0 - (a + b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..=100_000 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / tiny(1.0 + even * d);
        c = tiny(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / tiny(1.0 + odd * d);
        c = tiny(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients: about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        return std::f64::consts::PI.ln() - (std::f64::consts::PI * x).sin().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = G[0];
    for (i, g) in G.iter().enumerate().skip(1) {
        sum += g / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        // t(0.975; df) from statistical tables, to 6 decimals.
        let table = [
            (1, 12.706_205),
            (2, 4.302_653),
            (3, 3.182_446),
            (4, 2.776_445),
            (9, 2.262_157),
            (29, 2.045_230),
            (100, 1.983_972),
            (1000, 1.962_339),
        ];
        for (df, t) in table {
            let got = t_quantile_975(df);
            assert!((got - t).abs() < 2e-6, "df {df}: {got} against {t}");
        }
    }

    #[test]
    fn ci_of_a_hand_computed_case() {
        // 2, 4, 6, 8: mean 5, s² = (9 + 1 + 1 + 9) / 3 = 20 / 3, s/√n = √(20/3) / 2,
        // half-width = 3.182446 · 1.290994 = 4.108521.
        let (mean, half) = mean_ci95(&[2.0, 4.0, 6.0, 8.0]);
        assert_eq!(mean, Some(5.0));
        assert!((half.unwrap() - 4.108_521).abs() < 1e-5, "{half:?}");
        // Two values 10 and 12: mean 11, s = √2, half-width = 12.706205 · √2 / √2.
        let (mean, half) = mean_ci95(&[10.0, 12.0]);
        assert_eq!(mean, Some(11.0));
        assert!((half.unwrap() - 12.706_205).abs() < 1e-5, "{half:?}");
    }

    #[test]
    fn no_interval_from_one_value_and_none_without_values() {
        assert_eq!(mean_ci95(&[3.5]), (Some(3.5), None));
        assert_eq!(mean_ci95(&[]), (None, None));
    }

    #[test]
    fn equal_values_have_a_zero_interval() {
        let (mean, half) = mean_ci95(&[7.25, 7.25, 7.25]);
        assert_eq!(mean, Some(7.25));
        assert_eq!(half, Some(0.0));
    }

    #[test]
    fn gamma_is_right_at_known_points() {
        assert!((ln_gamma(1.0)).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
    }
}
