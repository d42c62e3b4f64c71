//! `stats.csv`: the routes' measured figures as Locust's `--csv` stats file
//! (`<prefix>_stats.csv`), so tools and habits built around Locust read it unchanged.
//!
//! As Locust writes it (`StatsCSV.requests_csv`, Python's `csv.writer`): the header, one
//! row per route sorted by name, then the `Aggregated` row; fields quoted only when they
//! must be, lines ending in CRLF. `Type` is the route's HTTP method (empty when the route
//! matches any method, and for `Aggregated`), `Name` the route's name. Counts are the
//! measured requests of `summary.json` (after the warm-up); a failure is any outcome but
//! ok. Times are milliseconds.
//!
//! Locust keeps each response time rounded to two significant digits (to the ms below
//! 100 ms, to 10 ms below 1 s, to 100 ms below 10 s, to the second above; ties to even,
//! as Python's `round`) and takes its median and percentiles from those: so does this,
//! from the whole-run HDR histogram (each HDR bucket, 0.1 % wide, stands for its middle
//! value). The median is clamped to [min, max] as Locust does. `Min Response Time` is the
//! lowest value of the smallest HDR bucket (exact below 2 ms), `Max` and `Average` are
//! exact (to the ns). `Requests/s` and `Failures/s` are over the measured interval.
//! `Average Content Size` is 0 (meshsim has no payloads). Floats are written as Python
//! writes them (`12.0`, `0.333333`), rounded to 6 decimals; a row without requests has
//! `N/A` percentiles, as in Locust.

use crate::metrics::{Counts, Latency};
use crate::model::Scenario;
use crate::output::measured_secs;
use crate::result::RunResult;
use std::collections::BTreeMap;

/// The header, exactly as Locust writes it.
pub use crate::output::stats::HEADER;

/// Locust's `PERCENTILES_TO_REPORT`, in the order of the header's last eleven columns.
pub const PERCENTILES: [f64; 11] = [0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0];

/// A float as Python's `repr` writes it for moderate values: `12.0`, `0.5`, `3.141593`.
fn py_float(x: f64) -> String {
    let x = super::rounded(x, 6);
    if x.fract() == 0.0 && x.abs() < 1e16 { format!("{x:.1}") } else { x.to_string() }
}

/// `us` microseconds rounded as Locust rounds a response time in ms before counting it:
/// two significant digits from 100 ms on, ties to even. Returns whole milliseconds.
fn locust_round_ms(us: u64) -> u64 {
    let unit = match us {
        0..100_000 => 1_000,
        100_000..1_000_000 => 10_000,
        1_000_000..10_000_000 => 100_000,
        _ => 1_000_000,
    };
    let (q, rem) = (us / unit, us % unit);
    let q = if 2 * rem > unit || (2 * rem == unit && q % 2 == 1) { q + 1 } else { q };
    q * unit / 1_000
}

/// Locust's response-time table: rounded time in ms to count.
fn response_times(l: &Latency) -> BTreeMap<u64, u64> {
    let h = l.histogram();
    let mut table = BTreeMap::new();
    if l.count() == 0 {
        return table;
    }
    for v in h.iter_recorded() {
        let mid = h.median_equivalent(v.value_iterated_to());
        *table.entry(locust_round_ms(mid)).or_insert(0) += v.count_at_value();
    }
    table
}

/// Locust's `calculate_response_time_percentile`: the smallest rounded time that at
/// least `int(n * percent)` requests did not exceed, searching from the top.
fn percentile(table: &BTreeMap<u64, u64>, n: u64, percent: f64) -> u64 {
    let wanted = (n as f64 * percent) as u64;
    let mut processed = 0;
    for (&t, &count) in table.iter().rev() {
        processed += count;
        if n.saturating_sub(processed) <= wanted {
            return t;
        }
    }
    0
}

/// Locust's `median_from_dict`.
fn median(table: &BTreeMap<u64, u64>, n: u64) -> u64 {
    let mut pos = (n as f64 - 1.0) / 2.0;
    let mut last = 0;
    for (&t, &count) in table {
        if pos < count as f64 {
            return t;
        }
        pos -= count as f64;
        last = t;
    }
    last
}

fn row(method: &str, name: &str, c: &Counts, l: &Latency, secs: f64) -> Vec<String> {
    let (requests, failures) = (c.total(), c.failed());
    let table = response_times(l);
    let n = l.count();
    let min_ms = if n == 0 { 0.0 } else { l.histogram().min() as f64 / 1e3 };
    let max_ms = l.max_ms();
    // Locust writes `min or 0` and a max that stays the integer 0 until a request is slower.
    let ms = |x: f64| if x == 0.0 { "0".to_string() } else { py_float(x) };
    let median = if table.is_empty() {
        "0".to_string()
    } else {
        let m = median(&table, n);
        if m as f64 > max_ms {
            ms(max_ms)
        } else if (m as f64) < min_ms {
            ms(min_ms)
        } else {
            m.to_string()
        }
    };
    let rate = |k: u64| py_float(if secs > 0.0 { k as f64 / secs } else { 0.0 });
    let mut cells = vec![
        method.to_string(),
        name.to_string(),
        requests.to_string(),
        failures.to_string(),
        median,
        py_float(l.mean_ms()),
        ms(min_ms),
        ms(max_ms),
        if requests > 0 { "0.0".to_string() } else { "0".to_string() },
        rate(requests),
        rate(failures),
    ];
    for p in PERCENTILES {
        cells.push(if requests == 0 { "N/A".to_string() } else { percentile(&table, n, p).to_string() });
    }
    cells
}

/// The whole `stats.csv` file.
pub fn stats_csv(sc: &Scenario, r: &RunResult) -> Vec<u8> {
    let secs = measured_secs(r.warmup, r.arrivals_end);
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let mut order: Vec<usize> = (0..sc.gateway.routes.len()).collect();
    order.sort_by(|&a, &b| sc.gateway.routes[a].name.cmp(&sc.gateway.routes[b].name));
    let mut rows = vec![HEADER.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for i in order {
        let route = &sc.gateway.routes[i];
        let f = &r.routes[i];
        rows.push(row(route.method.as_deref().unwrap_or(""), &route.name, &f.counts, &f.latency, secs));
    }
    rows.push(row("", "Aggregated", &r.total.counts, &r.total.latency, secs));
    for cells in rows {
        w.write_record(&cells).expect("writing to memory cannot fail");
    }
    w.into_inner().expect("writing to memory cannot fail")
}

#[cfg(test)]
mod tests {
    use super::{locust_round_ms, median, percentile, py_float};
    use std::collections::BTreeMap;

    #[test]
    fn response_times_round_to_two_significant_digits_ties_to_even() {
        assert_eq!(locust_round_ms(12_400), 12);
        assert_eq!(locust_round_ms(12_500), 12);
        assert_eq!(locust_round_ms(13_500), 14);
        assert_eq!(locust_round_ms(147_000), 150);
        assert_eq!(locust_round_ms(3_432_000), 3_400);
        assert_eq!(locust_round_ms(58_760_000), 59_000);
        assert_eq!(locust_round_ms(400), 0);
    }

    #[test]
    fn percentiles_and_median_follow_locust() {
        // 1..=10 ms, one request each.
        let table: BTreeMap<u64, u64> = (1..=10).map(|t| (t, 1)).collect();
        // The top-down search stops where at most int(n * p) requests are left below.
        assert_eq!(percentile(&table, 10, 0.5), 6);
        assert_eq!(percentile(&table, 10, 0.9), 10);
        assert_eq!(percentile(&table, 10, 1.0), 10);
        assert_eq!(median(&table, 10), 5);
        assert_eq!(median(&BTreeMap::from([(3, 1)]), 1), 3);
    }

    #[test]
    fn floats_read_as_python_writes_them() {
        assert_eq!(py_float(12.0), "12.0");
        assert_eq!(py_float(0.1 + 0.2), "0.3");
        assert_eq!(py_float(2.0 / 3.0), "0.666667");
        assert_eq!(py_float(0.0), "0.0");
    }
}
