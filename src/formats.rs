//! Standard output formats, for tools that already read them: Prometheus' text exposition
//! format (`metrics.prom`), HdrHistogram interval logs (`latency.hlog`) and Locust's
//! `--csv` stats file (`stats.csv`).
//!
//! Each is built from a finished `RunResult` (the interval log from the route histograms
//! handed over as windows close) and nothing else: no wall clock, no hash order, fixed
//! number formatting, so the same run gives the same bytes.

pub mod hlog;
pub mod locust;
pub mod prom;

/// `ns` nanoseconds as seconds, exactly: integer digits, then up to nine decimals
/// without trailing zeros (`1.5`, `0.000001`, `3`).
pub(crate) fn seconds_from_ns(ns: u128) -> String {
    let (secs, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if frac == 0 {
        return secs.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{secs}.{}", digits.trim_end_matches('0'))
}

/// `x` rounded to `decimals` places (no `-0`), as the shortest decimal that reads back
/// as the same `f64`.
pub(crate) fn rounded(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    let r = (x * f).round() / f;
    if r == 0.0 { 0.0 } else { r }
}

#[cfg(test)]
mod tests {
    use super::{rounded, seconds_from_ns};

    #[test]
    fn seconds_are_exact_and_trimmed() {
        assert_eq!(seconds_from_ns(0), "0");
        assert_eq!(seconds_from_ns(3_000_000_000), "3");
        assert_eq!(seconds_from_ns(1_500_000_000), "1.5");
        assert_eq!(seconds_from_ns(1_000), "0.000001");
        assert_eq!(seconds_from_ns(12_345_678_901), "12.345678901");
    }

    #[test]
    fn rounding_never_gives_negative_zero() {
        assert_eq!(rounded(-0.0000001, 6).to_string(), "0");
        assert_eq!(rounded(2.0000004, 6).to_string(), "2");
        assert_eq!(rounded(0.1 + 0.2, 6).to_string(), "0.3");
    }
}
