//! User invariants: statements about every time-series window that must hold in a run,
//! such as `retry_amplification<=1.5 during faults` or `*:availability>=99% outside
//! faults` (no route below 99 % outside fault windows). `meshsim run` and `meshsim check`
//! judge them; a broken one fails the run like an SLO.
//!
//! Grammar: `[route:|*:]metric op value [during faults|outside faults]`, with the SLO
//! metrics (`availability`, `error_rate`, `mean`, `max`, `p50` … `p999`) on the whole
//! mesh, one route or every route (`*:`), or `retry_amplification` (attempts per call) on
//! every policy point; `op` one of `<`, `<=`, `>`, `>=`. A window with no request says
//! nothing.

use crate::model::Route;
use crate::model::observe::{Op, Slo};
// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::observe::{Invariant, Subject, When};

impl Invariant {
    /// Parses an invariant.
    ///
    /// # Errors
    /// A message saying what was expected.
    pub fn parse(text: &str, routes: &[Route]) -> Result<Invariant, String> {
        let t = text.trim();
        let (body, when) = if let Some(b) = t.strip_suffix("during faults") {
            (b.trim(), When::DuringFaults)
        } else if let Some(b) = t.strip_suffix("outside faults") {
            (b.trim(), When::OutsideFaults)
        } else {
            (t, When::Always)
        };
        let inclusive = body.contains("<=") || body.contains(">=");
        let strict = body.replace("<=", "<").replace(">=", ">");
        let (every, strict) = match strict.strip_prefix("*:") {
            Some(rest) => (true, rest.trim().to_string()),
            None => (false, strict),
        };
        if let Some(rest) = strict.trim().strip_prefix("retry_amplification") {
            if every {
                return Err(format!("retry_amplification applies to every policy point: no \"*:\" in {t:?}"));
            }
            let rest = rest.trim();
            let op = match rest.chars().next() {
                Some('<') => Op::Below,
                Some('>') => Op::Above,
                _ => return Err(format!("a comparison, '<', '<=', '>' or '>=', after the metric in {t:?}")),
            };
            let threshold: f64 = rest[1..]
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("attempts per call, a number such as 1.5, in {t:?}"))?;
            return Ok(Invariant {
                text: t.to_string(),
                subject: Subject::RetryAmplification,
                op,
                inclusive,
                threshold,
                when,
            });
        }
        let slo = Slo::parse(&strict, routes).map_err(|e| e.replace(&format!("{strict:?}"), &format!("{t:?}")))?;
        if every && slo.route.is_some() {
            return Err(format!("either \"*:\" or a route, not both, in {t:?}"));
        }
        let (op, threshold) = (slo.op, slo.threshold);
        let subject = if every { Subject::EveryRoute(slo) } else { Subject::Flow(slo) };
        Ok(Invariant { text: t.to_string(), subject, op, inclusive, threshold, when })
    }
}

/// An invariant's verdict over a run.
#[derive(Clone, Debug)]
pub struct InvariantResult {
    pub text: String,
    pub holds: bool,
    /// Windows in which it was broken, and the first of them, described.
    pub windows_broken: u64,
    pub first: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Vec<Route> {
        crate::slo::tests::sc()
    }

    #[test]
    fn parses_the_forms_the_docs_give() {
        let r = routes();
        let i = Invariant::parse("retry_amplification <= 1.5 during faults", &r).unwrap();
        assert_eq!((i.subject.clone(), i.when, i.threshold), (Subject::RetryAmplification, When::DuringFaults, 1.5));
        assert!(i.holds(1.5) && !i.holds(1.51));
        let i = Invariant::parse("*:availability>=99% outside faults", &r).unwrap();
        assert!(matches!(i.subject, Subject::EveryRoute(_)));
        assert!(i.holds(0.99) && !i.holds(0.9899));
        let i = Invariant::parse("checkout:p99<500ms", &r).unwrap();
        assert_eq!(i.when, When::Always);
        assert!(i.holds(499.0) && !i.holds(500.0));
    }

    #[test]
    fn bad_invariants_say_what_was_expected() {
        let r = routes();
        assert!(Invariant::parse("retry_amplification=2", &r).unwrap_err().contains("a comparison"));
        assert!(Invariant::parse("retry_amplification<lots", &r).unwrap_err().contains("attempts per call"));
        assert!(Invariant::parse("*:checkout:p99<1s", &r).unwrap_err().contains("not both"));
        assert!(Invariant::parse("p98<1s during faults", &r).unwrap_err().contains("a metric"));
    }
}
