//! Mesh security: authorization at the callee (403s never retried nor counted as
//! failures), mTLS modes and plaintext clients, handshakes only on new connections and
//! connection reuse, certificate expiry and rotation under CA outages, the authz-policy
//! fault's window, and the bundled scenarios' stories.

use crate::common::{f, load, load_edited, run};
use meshsim::{Hooks, RunOptions, Scenario};
use serde_json::{Value, json};

const A: &str = "cluster.local/ns/default/sa/a";

/// The chain gateway -> a -> b -> c (fixed 1 ms links between zones) for `secs`
/// seconds, with this security block, policies and faults.
fn chain(secs: u32, security: Value, policies: Value, faults: Value) -> Scenario {
    load_edited("chain", |v| {
        v["run"] = json!({ "duration": format!("{secs}s") });
        v["metrics"] = json!({ "interval": "1s" });
        v["security"] = security;
        v["policies"] = policies;
        v["faults"] = faults;
    })
}

/// On calls from a to b: every retry condition meshsim knows, up to `attempts`
/// attempts, a circuit breaker and outlier detection.
fn retry_everything(attempts: u32) -> Value {
    json!({ "overrides": [{ "source": "a", "destination": "b",
        "retry": { "maxAttempts": attempts,
                   "retryOn": ["5xx", "gateway-error", "reset", "connect-failure", "retriable-4xx", "timeout"] },
        "circuitBreaker": { "slidingWindowSize": 10, "minimumNumberOfCalls": 5, "waitDurationInOpenState": "5s" },
        "outlierDetection": { "consecutive5xx": 3, "maxEjectionPercent": 100 }
    }] })
}

/// Per-window rows of one scope and name from timeseries.csv: (window start, column).
fn series(ts: &[u8], scope: &str, name: &str, column: &str) -> Vec<(f64, f64)> {
    let mut rows = csv::Reader::from_reader(ts);
    let header = rows.headers().unwrap().clone();
    let col = header.iter().position(|h| h == column).unwrap();
    rows.records()
        .map(|r| r.unwrap())
        .filter(|r| &r[2] == scope && &r[3] == name)
        .map(|r| (r[0].parse().unwrap(), r[col].parse().unwrap()))
        .collect()
}

fn events(sc: &Scenario) -> Vec<csv::StringRecord> {
    let mut out = Vec::new();
    let hooks = Hooks { events: Some(&mut out), ..Hooks::default() };
    meshsim::run(sc, &RunOptions::default(), hooks).unwrap();
    csv::Reader::from_reader(out.as_slice()).records().map(|r| r.unwrap()).collect()
}

#[test]
fn denied_calls_are_never_retried_nor_counted_as_failures() {
    // b allows only callers that do not exist: every call from a is denied.
    let security = json!({ "mtls": { "mode": "STRICT" }, "authorization": [
        { "name": "b-from-nobody", "service": "b", "action": "ALLOW",
          "rules": [{ "from": [{ "source": { "principals": ["cluster.local/ns/default/sa/nobody"] } }] }] }] });
    let sc = chain(10, security, retry_everything(5), json!([]));
    let (r, s, _) = run(&sc, &RunOptions::default());
    let calls = f(&s, "calls.a->b.requests.total");
    assert!(calls > 2000.0, "{calls}");
    assert_eq!(f(&s, "calls.a->b.requests.by_status.403"), calls, "every call ends 403");
    assert_eq!(f(&s, "calls.a->b.attempts"), calls, "one attempt per call: a 403 is never retried");
    assert_eq!(f(&s, "calls.a->b.retries"), 0.0);
    assert_eq!(f(&s, "calls.a->b.breaker_opens"), 0.0, "4xx is not a breaker failure by default");
    assert_eq!(f(&s, "calls.a->b.ejections"), 0.0, "a 403 is not a 5xx for outlier detection");
    assert_eq!(f(&s, "instances.b-0.arrivals"), 0.0, "a denied request never reaches a worker");
    assert_eq!(f(&s, "security.denials.b.denied_no_allow_match"), calls);
    assert_eq!(r.security.as_ref().unwrap().denied_no_allow[1], calls as u64, "no warm-up: all measured");
    // a turns the failed dependency into a 500: every request fails.
    assert_eq!(f(&s, "requests.by_status.500"), f(&s, "requests.total"));
}

#[test]
fn deny_wins_no_allow_policy_allows_and_principals_need_mtls() {
    let allow_a = json!({ "name": "b-from-a", "service": "b", "action": "ALLOW",
        "rules": [{ "from": [{ "source": { "principals": [A] } }] }] });
    let deny_a = json!({ "name": "deny-a", "service": "b", "action": "DENY",
        "rules": [{ "from": [{ "source": { "principals": ["*/sa/a"] } }], "to": [{ "operation": { "paths": ["/work"] } }] }] });
    let denied = |security: Value| {
        let (_, s, _) = run(&chain(5, security, json!({}), json!([])), &RunOptions::default());
        (f(&s, "calls.a->b.requests.total"), f(&s, "calls.a->b.requests.error"), s)
    };
    // No policy: allowed. A matching ALLOW: allowed.
    let (calls, errors, _) = denied(json!({ "mtls": { "mode": "STRICT" } }));
    assert!(calls > 1000.0 && errors == 0.0);
    let (_, errors, _) = denied(json!({ "mtls": { "mode": "STRICT" }, "authorization": [allow_a.clone()] }));
    assert_eq!(errors, 0.0);
    // A matching DENY wins over the matching ALLOW.
    let (calls, errors, s) =
        denied(json!({ "mtls": { "mode": "STRICT" }, "authorization": [allow_a.clone(), deny_a] }));
    assert_eq!(errors, calls);
    assert_eq!(f(&s, "security.denials_by_policy.deny-a"), calls);
    // Plaintext (PERMISSIVE server, a DestinationRule disabling TLS): a has no principal,
    // so the ALLOW does not match and the call is denied.
    let (calls, errors, s) = denied(json!({ "mtls": { "mode": "PERMISSIVE" }, "authorization": [allow_a],
        "destinationRules": [{ "host": "b", "from": "a", "tls": { "mode": "DISABLE" } }] }));
    assert_eq!(errors, calls);
    assert_eq!(f(&s, "calls.a->b.requests.by_status.403"), calls);
}

#[test]
fn a_strict_server_resets_plaintext_and_a_permissive_one_accepts_it() {
    let security = |mode: &str| json!({ "mtls": { "mode": mode }, "destinationRules": [{ "host": "b", "from": "a", "tls": { "mode": "DISABLE" } }] });
    let retry_reset = json!({ "default": { "retry": { "maxAttempts": 3, "retryOn": ["reset"] } } });
    let (_, s, _) = run(&chain(5, security("STRICT"), retry_reset.clone(), json!([])), &RunOptions::default());
    let calls = f(&s, "calls.a->b.requests.total");
    assert_eq!(f(&s, "calls.a->b.requests.dropped"), calls, "every connection is reset");
    assert_eq!(f(&s, "calls.a->b.attempts"), 3.0 * calls, "a reset is retried under retryOn reset");
    assert_eq!(f(&s, "security.handshake_failures.mtls_mismatch"), 3.0 * calls);
    assert_eq!(f(&s, "calls.b->c.requests.total"), 0.0);
    let (_, s, _) = run(&chain(5, security("PERMISSIVE"), retry_reset, json!([])), &RunOptions::default());
    assert_eq!(f(&s, "calls.a->b.requests.failed"), 0.0);
    assert_eq!(f(&s, "security.handshake_failures.mtls_mismatch"), 0.0);
}

#[test]
fn handshakes_cost_only_new_connections_and_reuse_limits_decide_how_many() {
    let with_pool = |pool: Value| {
        let security = json!({ "mtls": { "mode": "STRICT" }, "handshake": "5ms", "connectionPool": pool });
        let (_, s, _) = run(&chain(20, security, json!({}), json!([])), &RunOptions::default());
        let attempts = f(&s, "calls.gateway->a.attempts") + f(&s, "calls.a->b.attempts") + f(&s, "calls.b->c.attempts");
        (f(&s, "security.handshakes") / attempts, f(&s, "latency_ms.mean"))
    };
    let (every, slow) = with_pool(json!({ "maxRequestsPerConnection": 1 }));
    let (reused, fast) = with_pool(json!({}));
    assert_eq!(every, 1.0, "one request per connection: a handshake per attempt");
    assert!(reused < 0.01, "connections are reused: {reused}");
    // Each new connection costs 5 ms plus two round trips: 0 ms to a (same zone), 4 ms to
    // b and to c (1 ms links), so 23 ms a request more.
    let extra = slow - fast;
    assert!((extra - 23.0).abs() < 1.5, "extra latency {extra} ms, expected about 23");
    // Idle connections close after the idle timeout: at 280 requests/s few survive 1 ms.
    let (idle_short, _) = with_pool(json!({ "idleTimeout": "1ms" }));
    let (idle_long, _) = with_pool(json!({ "idleTimeout": "10s" }));
    assert!(idle_short > 0.7, "{idle_short}");
    assert!(idle_long < 0.01, "{idle_long}");
}

/// Certificates of 10 s; the CA is down from 4 s to 14 s, so rotations (due at 5 s) fail
/// and every certificate expires at 10 s until renewed after 14 s.
fn expiring(max_requests: u32) -> Scenario {
    let security = json!({ "mtls": { "mode": "STRICT" },
        "connectionPool": { "maxRequestsPerConnection": max_requests, "idleTimeout": "1h" },
        "certificates": { "ttl": "10s", "gracePeriodRatio": 50, "gracePeriodRatioJitter": 0, "retryInterval": "1s" } });
    chain(20, security, json!({}), json!([{ "kind": "ca-outage", "start": "4s", "duration": "10s" }]))
}

#[test]
fn an_expired_certificate_breaks_new_handshakes_until_renewal() {
    let (r, s, ts) = run(&expiring(1), &RunOptions::default());
    let ok = series(&ts, "route", "chain", "ok");
    for (&(t, requests), &(_, ok)) in series(&ts, "route", "chain", "requests").iter().zip(&ok) {
        let failed = requests - ok;
        if (11.0..14.0).contains(&t) {
            // (Requests that began before 10 s on open connections may end in window 10.)
            assert_eq!(ok, 0.0, "window {t}: every new handshake fails");
            assert!(failed > 0.0);
        } else if !(10.0..15.0).contains(&t) {
            assert_eq!(failed, 0.0, "window {t}: certificates valid");
        }
    }
    let sec = r.security.unwrap();
    assert_eq!(sec.expiries, 4, "the gateway's and three instances' certificates");
    assert!(f(&s, "security.handshake_failures.expired_cert") > 1000.0);
    for (_, from, to) in &sec.expired_intervals {
        assert_eq!(from.as_secs_f64(), 10.0);
        let to = to.unwrap().as_secs_f64();
        assert!((14.0..=15.0).contains(&to), "renewed at the first retry after the outage, {to}");
    }
}

#[test]
fn established_connections_survive_an_expiry() {
    let (_, s, _) = run(&expiring(0), &RunOptions::default());
    let (_, s1, _) = run(&expiring(1), &RunOptions::default());
    let failed = f(&s, "requests.failed") / f(&s, "requests.total");
    let failed1 = f(&s1, "requests.failed") / f(&s1, "requests.total");
    assert!(failed1 > 0.15, "no reuse: every request in the expiry fails ({failed1})");
    assert!(failed < 0.02, "reused connections carry on through the expiry ({failed})");
    assert!(f(&s, "security.certificates.expiries") == 4.0);
}

#[test]
fn a_ca_outage_delays_rotation_and_is_logged() {
    let rows = events(&expiring(0));
    let cert = |event: &str, who: &str| -> Vec<f64> {
        rows.iter().filter(|r| &r[3] == event && &r[1] == who).map(|r| r[0].parse().unwrap()).collect()
    };
    assert_eq!(cert("cert-issued", "a-0"), vec![0.0]);
    assert_eq!(cert("cert-rotation-failed", "a-0"), vec![5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0]);
    assert_eq!(cert("cert-expired", "a-0"), vec![10.0]);
    assert_eq!(cert("cert-rotated", "a-0"), vec![14.0, 19.0], "renewed at 14 s, then at half-life");
    // Without the outage the first rotation is at half-life.
    let mut sc = expiring(0);
    sc.faults.clear();
    let rows = events(&sc);
    let rotated: Vec<f64> =
        rows.iter().filter(|r| &r[3] == "cert-rotated" && &r[1] == "a-0").map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(rotated.into_iter().filter(|&t| t < 19.5).collect::<Vec<_>>(), vec![5.0, 10.0, 15.0]);
    assert!(!rows.iter().any(|r| &r[3] == "cert-expired"));
}

#[test]
fn the_authz_policy_fault_acts_only_inside_its_window() {
    let fault = json!([{ "kind": "authz-policy", "start": "5s", "duration": "5s",
        "policy": { "name": "lock-b", "service": "b", "action": "DENY", "rules": [{}] } }]);
    let (_, s, ts) = run(&chain(15, json!({}), json!({}), fault), &RunOptions::default());
    for (t, errors) in series(&ts, "route", "chain", "error") {
        if (5.0..10.0).contains(&t) {
            assert!(errors > 200.0, "window {t}: {errors}");
        } else if !(4.0..11.0).contains(&t) {
            assert_eq!(errors, 0.0, "window {t}");
        }
    }
    let denied = f(&s, "security.denials_by_policy.lock-b");
    assert_eq!(denied, f(&s, "calls.a->b.requests.by_status.403"));
    let share = denied / f(&s, "calls.a->b.requests.total");
    assert!((share - 1.0 / 3.0).abs() < 0.03, "a third of the run: {share}");
}

#[test]
fn same_seed_same_summary() {
    let sc = load("cert-expiry");
    let (_, a, _) = run(&sc, &RunOptions::default());
    let (_, b, _) = run(&sc, &RunOptions::default());
    assert_eq!(meshsim::report::summary_bytes(&a), meshsim::report::summary_bytes(&b));
    let (_, c, _) = run(&sc, &RunOptions { seed: Some(7), ..RunOptions::default() });
    assert_ne!(a["security"], c["security"], "another seed draws other handshakes and jitters");
}

#[test]
fn cert_expiry_story_errors_start_at_expiry_and_end_after_renewal() {
    let (_, s, ts) = run(&load("cert-expiry"), &RunOptions::default());
    let failing: Vec<f64> =
        series(&ts, "total", "all", "rejected").iter().filter(|(_, n)| *n > 0.0).map(|w| w.0).collect();
    assert_eq!(failing.first(), Some(&240.0), "the first connect failures come with the expiry");
    assert!(*failing.last().unwrap() <= 305.0, "renewed within a retry interval of the CA's return");
    assert_eq!(f(&s, "security.certificates.expiries"), 12.0);
    assert!(f(&s, "security.certificates.failed_rotations") > 12.0 * 30.0);
}

#[test]
fn authz_misscoped_story_denies_only_catalog_callers_inside_the_window() {
    let (_, s, _) = run(&load("authz-misscoped"), &RunOptions::default());
    let mut denied_all = 0.0;
    for caller in ["cart", "order"] {
        let total = f(&s, &format!("calls.{caller}->catalog.requests.total"));
        let denied = f(&s, &format!("calls.{caller}->catalog.requests.by_status.403"));
        assert!(denied > 0.2 * total, "{caller}: {denied} of {total}");
        // Only lost messages are retried, never a 403.
        assert!(f(&s, &format!("calls.{caller}->catalog.retries")) < 0.001 * total);
        denied_all += denied;
    }
    // Every denial came from the fault's policy, inside the measured part of the run (a
    // 403 lost on the 1 % lossy cross-zone link ends its call as dropped instead).
    let denials = f(&s, "security.denials.catalog.denied_no_allow_match");
    assert!(denials >= denied_all && denials - denied_all <= 0.001 * denials, "{denials} vs {denied_all}");
    assert_eq!(f(&s, "calls.gateway->catalog.requests.error"), 0.0, "the gateway is allowed");
    assert_eq!(f(&s, "security.denials.payment.denied"), 0.0, "order may call payment");
}

#[test]
fn a_sidecar_started_during_a_ca_outage_has_no_certificate_until_the_ca_is_back() {
    // c crashes at 3 s and restarts at 5 s, while the CA is down from 4 s to 8 s.
    let security = json!({ "mtls": { "mode": "STRICT" }, "certificates": { "retryInterval": "1s" } });
    let faults = json!([
        { "kind": "ca-outage", "start": "4s", "duration": "4s" },
        { "kind": "crash", "target": { "service": "c" }, "start": "3s", "duration": "2s" }
    ]);
    let sc = chain(12, security, json!({}), faults);
    let (_, s, ts) = run(&sc, &RunOptions::default());
    assert!(f(&s, "security.handshake_failures.no_cert") > 100.0);
    assert_eq!(f(&s, "security.handshake_failures.expired_cert"), 0.0);
    let rows = events(&sc);
    let c: Vec<(f64, String)> = rows
        .iter()
        .filter(|r| &r[1] == "c-0" && r[3].starts_with("cert-"))
        .map(|r| (r[0].parse().unwrap(), r[3].to_string()))
        .collect();
    assert_eq!(c[0], (0.0, "cert-issued".to_string()));
    assert_eq!(c[1], (5.0, "cert-rotation-failed".to_string()), "the restarted sidecar cannot get one");
    let renewed = c.iter().skip(1).find(|(_, e)| e == "cert-issued").expect("issued once the CA is back").0;
    assert_eq!(renewed, 8.0, "at the retry when the CA returns");
    let ok = series(&ts, "route", "chain", "ok");
    for (&(t, requests), &(_, ok)) in series(&ts, "route", "chain", "requests").iter().zip(&ok) {
        if (9.0..12.0).contains(&t) {
            assert_eq!(requests, ok, "window {t}: c has its certificate again");
        }
    }
}

#[test]
fn a_service_peer_authentication_overrides_the_mesh_wide_mode() {
    // Mesh STRICT, c DISABLE: auto mTLS sends plaintext to c, which works; forcing
    // ISTIO_MUTUAL to c fails every handshake.
    let with_rule = |rules: Value| {
        let mut sc = load_edited("chain", |v| {
            v["run"] = json!({ "duration": "5s" });
            v["services"]["c"]["mtls"] = json!({ "mode": "DISABLE" });
            v["security"] = json!({ "mtls": { "mode": "STRICT" }, "destinationRules": rules });
        });
        sc.faults.clear();
        run(&sc, &RunOptions::default()).1
    };
    let s = with_rule(json!([]));
    assert_eq!(f(&s, "requests.failed"), 0.0);
    let s = with_rule(json!([{ "host": "c", "tls": { "mode": "ISTIO_MUTUAL" } }]));
    let calls = f(&s, "calls.b->c.requests.total");
    assert_eq!(f(&s, "calls.b->c.requests.rejected"), calls, "a TLS hello at a plaintext port: connect failure");
    assert_eq!(f(&s, "security.handshake_failures.mtls_mismatch"), calls);
}
