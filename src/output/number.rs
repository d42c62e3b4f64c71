//! Number formatting shared by the outputs: fixed decimals and thousands separators,
//! and the measured interval that rates are taken over.

use crate::time::SimTime;

/// A whole number with thousands separators (`90,024`), for the page and the charts.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `x` with `decimals` decimals, never `-0.000`.
pub fn fixed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_string(),
        _ => s,
    }
}

/// The measured interval in seconds: from the end of the warm-up to the end of
/// arrivals (a run's `warmup` and `arrivals_end`). Rates in the reports are over it.
pub fn measured_secs(warmup: SimTime, arrivals_end: SimTime) -> f64 {
    arrivals_end.since(warmup).as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_decimals_without_negative_zero() {
        assert_eq!(fixed(1.0 / 3.0, 4), "0.3333");
        assert_eq!(fixed(-0.00001, 3), "0.000");
        assert_eq!(fixed(-1.5, 1), "-1.5");
        assert_eq!(fixed(2.0, 0), "2");
    }

    #[test]
    fn thousands_groups_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(90_024), "90,024");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
