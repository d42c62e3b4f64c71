//! The `security` object of `summary.json`.

use super::round;
use crate::model::Scenario;
use crate::security::{HandshakeFailure, SecurityReport};
use serde_json::{Map, Value, json};

/// Handshakes and their failures, denials per service and per policy, and what the
/// certificates did (counted over the whole run, warm-up included).
pub(super) fn security_json(sc: &Scenario, r: &SecurityReport) -> Value {
    let failures: Map<String, Value> =
        HandshakeFailure::ALL.iter().zip(&r.handshake_failures).map(|(f, n)| (f.name().into(), json!(n))).collect();
    let services: Map<String, Value> = sc
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (deny, no_allow) = (r.denied_by_deny[i], r.denied_no_allow[i]);
            let v =
                json!({ "denied": deny + no_allow, "denied_by_deny_policy": deny, "denied_no_allow_match": no_allow });
            (s.name.clone(), v)
        })
        .collect();
    let policies: Map<String, Value> = r.denied_by_policy.iter().map(|(n, k)| (n.clone(), json!(k))).collect();
    let intervals: Vec<Value> = r
        .expired_intervals
        .iter()
        .map(|(who, from, to)| {
            json!({
                "sidecar": who,
                "from_s": round(from.as_secs_f64(), 6),
                "to_s": to.map(|t| round(t.as_secs_f64(), 6)),
            })
        })
        .collect();
    json!({
        "handshakes": r.handshakes,
        "reused_connections": r.reused,
        "handshake_failures": failures,
        "denials": services,
        "denials_by_policy": policies,
        "certificates": {
            "issued": r.issued,
            "rotations": r.rotations,
            "failed_rotations": r.failed_rotations,
            "expiries": r.expiries,
            "expired_sidecar_s": round(r.expired_s, 6),
            "expired_intervals": intervals,
        },
    })
}
