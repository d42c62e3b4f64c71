//! Service-level objectives, k6-threshold style: `p99<500ms`, `availability>99.9%`,
//! `error_rate<1%`, `mean<100ms`, `max<2s`, optionally for one route (`checkout:p99<300ms`).
//!
//! An SLO is judged on the whole run's measured requests; each time window is judged
//! too, so that after each fault ends the report can say how long the mesh took to be
//! back within the objective (the recovery time).

use crate::metrics::FlowStats;
use crate::model::{Route, RouteId};
// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::observe::{Op, Slo, SloMetric};
use crate::time::SimDuration;

impl Slo {
    /// Parses `[route:]metric<value` or `>`, as on the command line.
    ///
    /// # Errors
    /// A message saying what was expected.
    pub fn parse(text: &str, routes: &[Route]) -> Result<Slo, String> {
        let t = text.trim();
        let (route, expr) = match t.split_once(':') {
            Some((r, e)) => {
                let id = routes
                    .iter()
                    .position(|x| x.name == r.trim())
                    .ok_or_else(|| format!("a known route before ':', found {:?} in {t:?}", r.trim()))?;
                (Some(RouteId(id as u32)), e.trim())
            }
            None => (None, t),
        };
        let (pos, op) = match (expr.find('<'), expr.find('>')) {
            (Some(i), None) => (i, Op::Below),
            (None, Some(i)) => (i, Op::Above),
            _ => return Err(format!("one comparison, '<' or '>', as in \"p99<500ms\", found {t:?}")),
        };
        let (name, value) = (expr[..pos].trim(), expr[pos + 1..].trim());
        let metric = match name {
            "availability" => SloMetric::Availability,
            "error_rate" => SloMetric::ErrorRate,
            "mean" | "avg" => SloMetric::Mean,
            "max" => SloMetric::Max,
            "p50" | "med" => SloMetric::Quantile(0.5),
            "p90" => SloMetric::Quantile(0.9),
            "p95" => SloMetric::Quantile(0.95),
            "p99" => SloMetric::Quantile(0.99),
            "p999" => SloMetric::Quantile(0.999),
            other => {
                return Err(format!(
                    "a metric (availability, error_rate, mean, max, p50, p90, p95, p99, p999), found {other:?} in {t:?}"
                ));
            }
        };
        let threshold = match metric {
            SloMetric::Availability | SloMetric::ErrorRate => {
                let pct = value
                    .strip_suffix('%')
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|v| (0.0..=100.0).contains(v))
                    .ok_or_else(|| format!("a percentage from 0% to 100%, found {value:?} in {t:?}"))?;
                pct / 100.0
            }
            _ => {
                let d = crate::time::parse_duration(value)
                    .map_err(|e| format!("a duration such as 500ms after the comparison in {t:?}: {e}"))?;
                d.as_millis_f64()
            }
        };
        Ok(Slo { text: t.to_string(), route, metric, op, threshold, recovery_within: None })
    }

    /// The SLO's metric over a flow's whole run (`window`: its current window instead);
    /// `None` when the flow has no requests to judge.
    pub fn measure(&self, f: &FlowStats, window: bool) -> Option<f64> {
        let (c, l) = if window { (&f.window_counts, &f.window_latency) } else { (&f.counts, &f.latency) };
        if c.total() == 0 {
            return None;
        }
        Some(match self.metric {
            SloMetric::Availability => c.ok as f64 / c.total() as f64,
            SloMetric::ErrorRate => c.failed() as f64 / c.total() as f64,
            SloMetric::Quantile(q) => l.quantile_ms(q),
            SloMetric::Mean => l.mean_ms(),
            SloMetric::Max => l.max_ms(),
        })
    }
}

/// An SLO's verdict over a run.
#[derive(Clone, Debug)]
pub struct SloResult {
    pub slo: Slo,
    /// `None`: no request to judge (the SLO passes vacuously).
    pub measured: Option<f64>,
    /// For each fault that ended during the run: its end, and how long until the first
    /// window (starting at or after it) within the objective; `None`: never.
    pub recoveries: Vec<(crate::time::SimTime, Option<SimDuration>)>,
    pub pass: bool,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One route, `checkout`, for parsing tests (here and in `invariant.rs`).
    pub(crate) fn sc() -> Vec<Route> {
        crate::load_str(
            r#"{ "name": "s", "run": { "duration": "1s" },
                 "gateway": { "routes": [ { "name": "checkout", "destination": { "service": "a", "endpoint": "e" } } ] },
                 "services": { "a": { "endpoints": { "e": { "serviceTime": "1ms" } } } },
                 "workload": { "arrivals": { "process": "poisson", "rate": 10 }, "mix": [ { "route": "checkout", "weight": 1 } ] } }"#,
            "s.json",
        )
        .unwrap()
        .gateway
        .routes
    }

    #[test]
    fn parses_k6_style_thresholds() {
        let sc = sc();
        let s = Slo::parse("p99<500ms", &sc).unwrap();
        assert_eq!((s.metric, s.op, s.threshold, s.route), (SloMetric::Quantile(0.99), Op::Below, 500.0, None));
        let s = Slo::parse("checkout: availability > 99.9%", &sc).unwrap();
        assert_eq!(s.metric, SloMetric::Availability);
        assert!((s.threshold - 0.999).abs() < 1e-12);
        assert_eq!(s.route, Some(RouteId(0)));
        assert!(s.holds(0.9995) && !s.holds(0.999));
        assert_eq!(Slo::parse("max<2s", &sc).unwrap().threshold, 2000.0);
    }

    #[test]
    fn bad_thresholds_say_what_was_expected() {
        let sc = sc();
        assert!(Slo::parse("p98<1s", &sc).unwrap_err().contains("a metric"));
        assert!(Slo::parse("p99=1s", &sc).unwrap_err().contains("one comparison"));
        assert!(Slo::parse("availability>120%", &sc).unwrap_err().contains("a percentage"));
        assert!(Slo::parse("p99<fast", &sc).unwrap_err().contains("a duration"));
        assert!(Slo::parse("cart:p99<1s", &sc).unwrap_err().contains("a known route"));
    }
}
