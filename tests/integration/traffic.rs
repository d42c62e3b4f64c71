//! Traffic management end to end: versions with their own behaviour, routing by weight,
//! header, endpoint and path, mirroring, and Flagger rollouts (rollback at the step the
//! thresholds dictate, promotion, blue-green), through the bundled scenarios too.

use crate::common::{f, load, load_edited, run};
use meshsim::RunOptions;
use serde_json::{Value, json};

/// A gateway in front of `web` (versions v1 and v2, two instances each, plenty of
/// workers, constant 5 ms work; v2's `edit` applied), no network delay, constant
/// arrivals of 200 requests/s on two routes (/a 75 %, /b 25 %) for `secs` seconds.
fn mesh(secs: u64, v2: Value, edit: impl FnOnce(&mut Value)) -> meshsim::Scenario {
    let mut v = json!({
        "name": "versions",
        "seed": 11,
        "run": { "duration": format!("{secs}s") },
        "gateway": { "routes": [
            { "name": "a", "match": { "method": "GET", "pathPrefix": "/a" }, "destination": { "service": "web", "endpoint": "a" } },
            { "name": "b", "match": { "pathPrefix": "/b" }, "destination": { "service": "web", "endpoint": "b" } }
        ] },
        "services": { "web": {
            "workers": 64,
            "endpoints": { "a": { "serviceTime": "5ms" }, "b": { "serviceTime": "5ms" } },
            "versions": { "v1": { "replicas": 2 }, "v2": { "replicas": 2, "endpoints": { "a": v2.clone(), "b": v2 } } }
        } },
        "workload": {
            "arrivals": { "process": "constant", "rate": 200 },
            "mix": [ { "route": "a", "weight": 3 }, { "route": "b", "weight": 1 } ],
            "clients": 1000
        }
    });
    edit(&mut v);
    meshsim::load_str(&v.to_string(), "versions.json").unwrap_or_else(|e| panic!("{e}"))
}

fn served(s: &Value, version: &str) -> f64 {
    f(s, &format!("services.web.versions.{version}.ok")) + f(s, &format!("services.web.versions.{version}.failed"))
}

#[test]
fn versions_name_their_instances_and_keep_their_own_behaviour() {
    let sc = mesh(10, json!({ "serviceTime": "1ms", "errorRate": 100, "errorStatus": 503 }), |_| {});
    let names: Vec<&str> = sc.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["web-v1-0", "web-v1-1", "web-v2-0", "web-v2-1"]);
    let (_, s, _) = run(&sc, &RunOptions::default());
    // No routing: the proxy balances over all four instances, round robin (1,999 requests).
    assert_eq!(served(&s, "v1") + served(&s, "v2"), 1999.0);
    assert!((served(&s, "v1") - served(&s, "v2")).abs() <= 1.0);
    assert_eq!(f(&s, "services.web.versions.v1.failed"), 0.0);
    assert_eq!(f(&s, "services.web.versions.v2.ok"), 0.0);
    assert_eq!(f(&s, "requests.by_status.503"), served(&s, "v2"));
}

#[test]
fn a_weighted_split_sends_its_share_within_four_sigma() {
    let sc = mesh(200, json!({}), |v| {
        v["services"]["web"]["routing"] =
            json!({ "http": [ { "route": [ { "subset": "v1", "weight": 90 }, { "subset": "v2", "weight": 10 } ] } ] });
    });
    let (_, s, _) = run(&sc, &RunOptions::default());
    let n = served(&s, "v1") + served(&s, "v2");
    assert_eq!(n, 39_999.0);
    let sigma = (n * 0.1 * 0.9).sqrt();
    let v2 = served(&s, "v2");
    assert!((v2 - 0.1 * n).abs() < 4.0 * sigma, "v2 served {v2} of {n}");
}

#[test]
fn a_header_match_routes_exactly_the_matching_users_who_keep_their_group() {
    // Closed loop: user i is client i. v2 fails every request, so the users who saw an
    // error from it are exactly the users routed to it; v1 never fails.
    let sc = mesh(60, json!({ "errorRate": 100 }), |v| {
        v["workload"].as_object_mut().unwrap().remove("arrivals");
        v["workload"]["users"] = json!({ "count": 300, "thinkTime": "200ms" });
        v["workload"]["headers"] = json!({ "x-user-group": { "beta": 10, "default": 90 } });
        v["services"]["web"]["routing"] = json!({ "http": [
            { "match": [ { "headers": { "x-user-group": { "exact": "beta" } } } ], "route": [ { "subset": "v2" } ] }
        ] });
        // A rollout that never starts makes v2 the canary, so its users are counted; the
        // other requests go to its primary, v1.
        v["rollouts"] = json!([ { "service": "web", "primary": "v1", "canary": "v2", "start": "1h",
                                  "analysis": { "stepWeight": 10 } } ]);
    });
    let beta: u64 = (0..300u64).filter(|&c| sc.headers[0].value_of(sc.seed, c) == 0).count() as u64;
    assert!((15..=45).contains(&beta), "about 10 % of 300 users: {beta}");
    let (r, s, _) = run(&sc, &RunOptions::default());
    let impact = &r.rollouts[0].impact;
    assert_eq!(impact.users_with_errors, beta);
    assert_eq!(impact.canary_failed, impact.canary_requests);
    assert_eq!(f(&s, "services.web.versions.v1.failed"), 0.0);
    assert_eq!(f(&s, "requests.failed"), served(&s, "v2"));
    assert_eq!(s["rollout"]["web"]["outcome"], json!("in-progress"));
}

#[test]
fn endpoint_and_path_matches_route_by_what_is_called() {
    let endpoint = mesh(20, json!({}), |v| {
        v["services"]["web"]["routing"] = json!({ "http": [
            { "match": [ { "endpoint": "b" } ], "route": [ { "subset": "v2" } ] },
            { "route": [ { "subset": "v1" } ] }
        ] });
    });
    let (_, s, _) = run(&endpoint, &RunOptions::default());
    assert_eq!(served(&s, "v2"), f(&s, "routes.b.requests.total"));
    assert_eq!(served(&s, "v1"), f(&s, "routes.a.requests.total"));
    // The same by the gateway route's path and method: GET /a to v2, the rest to v1.
    let path = mesh(20, json!({}), |v| {
        v["services"]["web"]["routing"] = json!({ "http": [
            { "match": [ { "uri": { "prefix": "/a" }, "method": { "exact": "GET" } } ], "route": [ { "subset": "v2" } ] },
            { "route": [ { "subset": "v1" } ] }
        ] });
    });
    let (_, s, _) = run(&path, &RunOptions::default());
    assert_eq!(served(&s, "v2"), f(&s, "routes.a.requests.total"));
    assert_eq!(served(&s, "v1"), f(&s, "routes.b.requests.total"));
}

#[test]
fn mirrored_copies_load_the_mirror_but_leave_the_callers_outcomes_alone() {
    let rules = |mirror: bool| {
        let mut rule = json!({ "route": [ { "subset": "v1" } ] });
        if mirror {
            rule["mirror"] = json!({ "subset": "v2" });
        }
        mesh(20, json!({ "serviceTime": "300ms", "errorRate": 100 }), move |v| {
            v["services"]["web"]["routing"] = json!({ "http": [ rule ] });
        })
    };
    let (_, plain, _) = run(&rules(false), &RunOptions::default());
    let (_, mirrored, _) = run(&rules(true), &RunOptions::default());
    assert_eq!(plain["requests"], mirrored["requests"]);
    assert_eq!(plain["latency_ms"], mirrored["latency_ms"]);
    assert_eq!(f(&mirrored, "requests.failed"), 0.0);
    // Every request was copied to v2, which failed every copy; without the mirror v2 idled.
    assert_eq!(f(&mirrored, "services.web.versions.v2.failed"), f(&mirrored, "requests.total"));
    assert_eq!(served(&plain, "v2"), 0.0);
    assert!(f(&mirrored, "services.web.versions.v2.server.utilization") > 0.2);
    // Half the copies, with a mirror percentage of 50.
    let half = mesh(20, json!({}), |v| {
        v["services"]["web"]["routing"] = json!({ "http": [ { "route": [ { "subset": "v1" } ], "mirror": { "subset": "v2" }, "mirrorPercentage": 50 } ] });
    });
    let (_, s, _) = run(&half, &RunOptions::default());
    let n = f(&s, "requests.total");
    let share = served(&s, "v2") / n;
    assert!((share - 0.5).abs() < 4.0 * (0.25 / n).sqrt(), "{share}");
}

/// The mesh with a canary rollout of v2 from 10 s, analysed every 10 s.
fn canary(v2: Value, analysis: Value, secs: u64) -> meshsim::Scenario {
    mesh(secs, v2, move |v| {
        let mut a = json!({ "interval": "10s", "metrics": [
            { "name": "request-success-rate", "thresholdRange": { "min": 99 }, "interval": "10s" },
            { "name": "request-duration", "thresholdRange": { "max": "100ms" }, "interval": "10s" }
        ] });
        for (k, x) in analysis.as_object().unwrap() {
            a[k] = x.clone();
        }
        v["rollouts"] = json!([ { "service": "web", "primary": "v1", "canary": "v2", "start": "10s", "analysis": a } ]);
    })
}

#[test]
fn a_failing_canary_rolls_back_at_the_step_its_threshold_dictates() {
    // Flagger: detection at 10 s, weight 10 at 20 s (no checks yet), failed checks at 30
    // and 40 s, and with 2 = threshold the rollback at 50 s = start + (threshold + 2) x
    // interval; the weight never passed the first step.
    let sc = canary(json!({ "errorRate": 100 }), json!({ "threshold": 2, "stepWeight": 10, "maxWeight": 50 }), 80);
    let (r, s, _) = run(&sc, &RunOptions::default());
    let ro = &s["rollout"]["web"];
    assert_eq!(ro["outcome"], json!("rolled-back"));
    assert_eq!(f(ro, "at_s"), 50.0);
    assert_eq!(f(ro, "max_canary_weight"), 10.0);
    assert_eq!(f(ro, "failed_checks"), 2.0);
    assert!(ro["reason"].as_str().unwrap().contains("request-success-rate 0.00% < 99%"), "{ro}");
    let steps: Vec<(f64, u32)> = r.rollouts[0].steps.iter().map(|st| (st.at.as_secs_f64(), st.routes.canary)).collect();
    assert_eq!(steps, [(10.0, 0), (20.0, 10), (30.0, 10), (40.0, 10), (50.0, 0)]);
    // 10 % of 200 requests/s for the 30 s between 20 and 50 s, every one an error.
    let impact = &r.rollouts[0].impact;
    assert!((impact.canary_requests as f64 - 600.0).abs() < 4.0 * (6000.0f64 * 0.1 * 0.9).sqrt(), "{impact:?}");
    assert_eq!(impact.canary_failed, impact.canary_requests);
    // After the rollback no request reaches v2.
    assert_eq!(served(&s, "v2"), impact.canary_requests as f64);
}

#[test]
fn a_slow_canary_fails_its_latency_check() {
    let sc = canary(json!({ "serviceTime": "150ms" }), json!({ "threshold": 1, "stepWeight": 20 }), 60);
    let (r, s, _) = run(&sc, &RunOptions::default());
    assert_eq!(f(&s["rollout"]["web"], "at_s"), 40.0);
    assert_eq!(r.rollouts[0].reason.as_deref(), Some("request-duration 248.5ms > 100ms"));
}

#[test]
fn a_good_canary_is_promoted_after_its_last_step_weight_and_the_primary_runs_it() {
    // stepWeights 10, 30, 60: weights at 20, 30 and 40 s, promotion (spec copied) at 50 s,
    // all traffic back to the primary at 60 s, done at 70 s.
    let sc = canary(json!({ "serviceTime": "2ms" }), json!({ "stepWeights": [10, 30, 60] }), 90);
    let (r, s, ts) = run(&sc, &RunOptions::default());
    let ro = &s["rollout"]["web"];
    assert_eq!(ro["outcome"], json!("promoted"), "{ro}");
    assert_eq!(f(ro, "at_s"), 50.0);
    assert_eq!(f(ro, "completed_s"), 70.0);
    let steps: Vec<u32> = r.rollouts[0].steps.iter().map(|st| st.routes.canary).collect();
    assert_eq!(steps, [0, 10, 30, 60, 60, 0, 0]);
    // Before the rollout every request took v1's 5 ms; after the promotion, all of them
    // go to the primary's instances, which now run v2's 2 ms.
    let p50 = |t: &str| -> f64 {
        let text = String::from_utf8(ts.clone()).unwrap();
        let row = text.lines().find(|l| l.starts_with(&format!("{t},")) && l.contains(",total,")).unwrap();
        row.split(',').nth(14).unwrap().parse().unwrap()
    };
    assert_eq!(p50("5.000"), 5.0);
    assert_eq!(p50("75.000"), 2.0);
    let late_v2: f64 = served(&s, "v2");
    assert!(late_v2 < 0.6 * 200.0 * 30.0, "v2's own instances idle after the promotion: {late_v2}");
}

#[test]
fn blue_green_switches_after_its_iterations_and_users_never_see_the_mirror() {
    // Detection at 10 s, mirroring from 20 s, three analyses at 30, 40, 50 s, the switch
    // to v2 at 50 s = start + (iterations + 1) x interval, promotion at 60 s.
    let sc = canary(json!({}), json!({ "iterations": 3, "mirror": true }), 90);
    let (r, s, _) = run(&sc, &RunOptions::default());
    let rec = &r.rollouts[0];
    let switch = rec.steps.iter().find(|st| st.routes.canary == 100).unwrap();
    assert_eq!(switch.at.as_secs_f64(), 40.0 + 10.0);
    assert!(rec.steps.iter().filter(|st| st.at.as_secs_f64() < 50.0).all(|st| st.routes.canary == 0));
    assert_eq!(s["rollout"]["web"]["outcome"], json!("promoted"));
    assert_eq!(f(&s["rollout"]["web"], "at_s"), 60.0);
    // Mirrored from 20 to 50 s (30 s of 200 requests/s), live from 50 to 70 s.
    assert_eq!(rec.impact.mirrored_requests, 6000);
    assert_eq!(rec.impact.canary_requests, 4000);
    assert_eq!(f(&s, "requests.failed"), 0.0);
}

#[test]
fn blue_green_without_mirroring_finds_no_data_and_rolls_back() {
    // Flagger's checks fail when the canary gets no traffic ("no values found").
    let sc = canary(json!({}), json!({ "iterations": 3, "threshold": 2 }), 90);
    let (r, _, _) = run(&sc, &RunOptions::default());
    assert_eq!(r.rollouts[0].outcome(), "rolled-back");
    assert!(r.rollouts[0].reason.as_deref().unwrap().starts_with("no values found"));
    assert_eq!(r.rollouts[0].impact.canary_requests, 0);
}

#[test]
fn canary_rollback_scenario_rolls_back_at_70_s_on_its_success_rate() {
    let sc = load("canary-rollback");
    let (r, s, _) = run(&sc, &RunOptions::default());
    let ro = &s["rollout"]["cart"];
    assert_eq!(ro["outcome"], json!("rolled-back"));
    assert_eq!(f(ro, "at_s"), 70.0);
    assert_eq!(f(ro, "max_canary_weight"), 10.0);
    assert!(ro["reason"].as_str().unwrap().contains("request-success-rate"));
    let users = f(ro, "impact.users_with_errors");
    assert!(users > 50.0 && users <= f(ro, "impact.canary_failed"), "{ro}");
    // The bytes of rollout.csv are the same run after run.
    let again = run(&sc, &RunOptions::default()).0;
    assert_eq!(meshsim::report::traffic::rollout_csv(&sc, &r), meshsim::report::traffic::rollout_csv(&sc, &again));
}

#[test]
fn blue_green_scenario_promotes_v2_with_no_user_seeing_the_analysis() {
    let (r, s, _) = run(&load("blue-green"), &RunOptions::default());
    let ro = &s["rollout"]["cart"];
    assert_eq!(ro["outcome"], json!("promoted"));
    assert_eq!(f(ro, "completed_s"), 110.0);
    let rec = &r.rollouts[0];
    assert!(rec.impact.mirrored_requests > 10_000);
    let first_live = rec.steps.iter().find(|st| st.routes.canary > 0).unwrap().at.as_secs_f64();
    assert_eq!(first_live, 80.0);
}

#[test]
fn bad_traffic_settings_are_scenario_errors() {
    let broken = load_edited("canary-rollback", |_| {});
    assert_eq!(broken.rollouts.len(), 1);
    let err = |edit: &dyn Fn(&mut Value)| -> String {
        let mut v = crate::common::scenario_json("canary-rollback");
        edit(&mut v);
        meshsim::load_str(&v.to_string(), "c.json").unwrap_err().to_string()
    };
    assert!(err(&|v| v["rollouts"][0]["canary"] = json!("v3")).contains("rollouts[0].canary: a known version of cart"));
    assert!(
        err(&|v| v["rollouts"][0]["analysis"]["stepWeights"] = json!([30, 20]))
            .contains("rollouts[0].analysis.stepWeights[1]: increasing weights")
    );
}

#[test]
fn ab_testing_sends_only_the_matching_users_to_the_canary_and_counts_only_5xx_as_failures() {
    // v2 answers 404 to everything: a failure to its users, but not to Flagger's success
    // rate (non-5xx), so the A/B test passes and promotes at 40 s: detection at 10 s,
    // matching users to v2 from 20 s, two good iterations (30, 40 s).
    let sc = mesh(60, json!({ "errorRate": 100, "errorStatus": 404 }), |v| {
        v["workload"].as_object_mut().unwrap().remove("arrivals");
        v["workload"]["users"] = json!({ "count": 300, "thinkTime": "200ms" });
        v["workload"]["headers"] = json!({ "x-user-group": { "beta": 10, "default": 90 } });
        v["rollouts"] = json!([ { "service": "web", "primary": "v1", "canary": "v2", "start": "10s",
            "analysis": { "interval": "10s", "iterations": 2,
                "match": [ { "headers": { "x-user-group": { "exact": "beta" } } } ],
                "metrics": [ { "name": "request-success-rate", "thresholdRange": { "min": 99 }, "interval": "10s" } ] } } ]);
    });
    let beta = (0..300u64).filter(|&c| sc.headers[0].value_of(sc.seed, c) == 0).count() as u64;
    let (r, s, _) = run(&sc, &RunOptions::default());
    let ro = &s["rollout"]["web"];
    assert_eq!(ro["strategy"], json!("ab-testing"));
    assert_eq!(ro["outcome"], json!("promoted"), "{ro}");
    assert_eq!(f(ro, "at_s"), 40.0);
    let impact = &r.rollouts[0].impact;
    assert_eq!(impact.users_with_errors, beta, "only the beta users met the canary");
    assert_eq!(impact.canary_failed, impact.canary_requests);
}
