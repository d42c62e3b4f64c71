//! The traffic-management parts of the reports: per-version figures and each rollout's
//! outcome in `summary.json`, and `rollout.csv`.

use super::{round, station_json};
use crate::metrics::StationTotals;
use crate::model::Scenario;
use crate::output::rollout;
use crate::result::RunResult;
use serde_json::{Map, Value, json};

/// `services.<name>.versions`: each version's instances, served and failed requests,
/// from the instances' own station figures.
pub fn versions_json(sc: &Scenario, r: &RunResult, service: usize, secs: f64) -> Option<Value> {
    let svc = &sc.services[service];
    if svc.versions.is_empty() {
        return None;
    }
    let mut out = Map::new();
    for (v, name) in svc.versions.iter().enumerate() {
        let mut acc = StationTotals::default();
        let mut workers = 0u64;
        let mut n = 0usize;
        for &inst in svc.instances.iter().filter(|&&i| sc.instances[i.idx()].version == v as u32) {
            super::add_totals(&mut acc, &r.stations[inst.idx()].totals);
            workers += u64::from(sc.instances[inst.idx()].workers);
            n += 1;
        }
        let server = station_json(&acc, workers, n, secs);
        out.insert(
            name.clone(),
            json!({
                "instances": n,
                "ok": acc.completed,
                "failed": acc.errors + acc.rejected,
                "server": server,
            }),
        );
    }
    Some(Value::Object(out))
}

/// `rollout`: per rollout (keyed by service), its outcome, when and why, its steps and
/// the users it touched.
pub fn rollout_json(sc: &Scenario, r: &RunResult) -> Option<Value> {
    if sc.rollouts.is_empty() {
        return None;
    }
    let mut out = Map::new();
    for (spec, rec) in sc.rollouts.iter().zip(&r.rollouts) {
        let svc = &sc.services[spec.service.idx()];
        let analyses = rec.steps.iter().filter(|s| s.analysed.is_some()).count();
        let failed = rec.steps.iter().filter(|s| s.analysed == Some(false)).count();
        let reason = match rec.phase {
            crate::rollout::Phase::Failed => rec
                .reason
                .as_ref()
                .map(|why| format!("failed checks threshold reached {} (last: {why})", spec.threshold)),
            _ if rec.decided_at.is_some() => Some("every analysis passed".to_string()),
            _ => None,
        };
        let i = &rec.impact;
        out.insert(
            svc.name.clone(),
            json!({
                "strategy": match spec.strategy {
                    crate::rollout::Strategy::Canary => "canary",
                    crate::rollout::Strategy::BlueGreen if !spec.ab_match.is_empty() => "ab-testing",
                    crate::rollout::Strategy::BlueGreen => "blueGreen",
                },
                "primary": svc.versions[spec.primary as usize],
                "canary": svc.versions[spec.canary as usize],
                "start_s": round(spec.start.as_secs_f64(), 6),
                "outcome": rec.outcome(),
                "phase": rec.phase.name(),
                "at_s": rec.decided_at.map(|t| round(t.as_secs_f64(), 6)),
                "completed_s": rec.completed_at.map(|t| round(t.as_secs_f64(), 6)),
                "reason": reason,
                "steps": rec.steps.len(),
                "analyses": analyses,
                "failed_checks": failed,
                "max_canary_weight": rec.max_canary_weight,
                "impact": {
                    "canary_requests": i.canary_requests,
                    "canary_failed": i.canary_failed,
                    "users_with_errors": i.users_with_errors,
                    "mirrored_requests": i.mirrored_requests,
                    "mirrored_failed": i.mirrored_failed,
                },
            }),
        );
    }
    Some(Value::Object(out))
}

/// `rollout.csv`, or `None` when the scenario has no rollout.
pub fn rollout_csv(sc: &Scenario, r: &RunResult) -> Option<Vec<u8>> {
    if sc.rollouts.is_empty() {
        return None;
    }
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(rollout::HEADER).expect("writing to memory");
    let num = |x: Option<f64>, d: i32| x.map_or(String::new(), |v| round(v, d).to_string());
    for (spec, rec) in sc.rollouts.iter().zip(&r.rollouts) {
        let name = &sc.services[spec.service.idx()].name;
        for s in &rec.steps {
            let analysis = match s.analysed {
                None => "",
                Some(true) => "pass",
                Some(false) => "fail",
            };
            w.write_record([
                format!("{:.3}", s.at.as_secs_f64()),
                name.clone(),
                s.phase.name().to_string(),
                s.routes.primary.to_string(),
                s.routes.canary.to_string(),
                s.mirror_share.to_string(),
                s.failed_checks.to_string(),
                analysis.to_string(),
                num(s.success_rate, 3),
                num(s.latency_ms, 3),
                s.events.clone(),
            ])
            .expect("writing to memory");
        }
    }
    Some(w.into_inner().expect("writing to memory"))
}
