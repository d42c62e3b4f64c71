//! What a run watches: SLOs, alerting rules, invariants and trace sampling.

use super::cx::Cx;
use crate::model::Route;
use crate::scenario::raw;
use crate::time::SimDuration;

/// The SLOs, alerts, trace sampling rate and invariants of a scenario.
pub(super) struct Observe {
    pub slos: Vec<crate::slo::Slo>,
    pub alerts: Vec<crate::alert::AlertRule>,
    pub trace_sampling: f64,
    pub invariants: Vec<crate::invariant::Invariant>,
}

pub(super) fn observe(cx: &mut Cx, f: &raw::ScenarioFile, routes: &[Route]) -> Observe {
    let mut slos = Vec::new();
    for (i, spec) in f.slos.iter().enumerate() {
        match crate::slo::Slo::parse(&spec.threshold, routes) {
            Ok(mut slo) => {
                slo.recovery_within = spec.recovery_within.map(|d| d.0);
                slos.push(slo);
            }
            Err(e) => cx.err(format!("slos[{i}].threshold"), e),
        }
    }

    let mut alerts: Vec<crate::alert::AlertRule> = Vec::new();
    for (i, spec) in f.alerts.iter().enumerate() {
        cx.name(format!("alerts[{i}].name"), &spec.name);
        if f.alerts[..i].iter().any(|a| a.name == spec.name) {
            cx.err(format!("alerts[{i}].name"), format!("a name no other alert has, found \"{}\" again", spec.name));
        }
        match crate::slo::Slo::parse(&spec.expr, routes) {
            Ok(expr) => alerts.push(crate::alert::AlertRule {
                name: spec.name.clone(),
                expr,
                for_: spec.for_.map_or(SimDuration::ZERO, |d| d.0),
            }),
            Err(e) => cx.err(format!("alerts[{i}].expr"), e),
        }
    }

    let trace_sampling = cx.percent(
        "tracing.sampling".into(),
        f.tracing.as_ref().and_then(|t| t.sampling),
        100.0 * crate::trace::DEFAULT_SAMPLE_RATE,
    );

    let mut invariants = Vec::new();
    for (i, text) in f.invariants.iter().enumerate() {
        match crate::invariant::Invariant::parse(text, routes) {
            Ok(inv) => invariants.push(inv),
            Err(e) => cx.err(format!("invariants[{i}]"), e),
        }
    }
    Observe { slos, alerts, trace_sampling, invariants }
}
