//! Rate limits at the gateway: a token bucket per route or over all routes, and the
//! Resilience4j limiter; refused requests end as 429.

use crate::common::{f, load_edited, run};
use meshsim::RunOptions;
use serde_json::{Value, json};

fn limited(route: Option<Value>, global: Option<Value>) -> meshsim::Scenario {
    load_edited("mmc", |v| {
        v["run"] = json!({ "duration": "20s" });
        if let Some(l) = route {
            v["gateway"]["routes"][0]["rateLimit"] = l;
        }
        if let Some(l) = global {
            v["gateway"]["rateLimit"] = l;
        }
    })
}

#[test]
fn a_token_bucket_passes_its_refill_rate_and_refuses_the_rest() {
    // 280 requests/s offered; a bucket of 10 refilled at 100 a second.
    let sc = limited(Some(json!({ "type": "token-bucket", "capacity": 10, "refillPerSecond": 100 })), None);
    let (_, s, _) = run(&sc, &RunOptions::default());
    let ok = f(&s, "requests.ok");
    let secs = f(&s, "measured_s");
    assert!((ok - (10.0 + 100.0 * secs)).abs() < 15.0, "{ok} passed in {secs} s");
    assert_eq!(f(&s, "requests.by_status.429"), f(&s, "requests.total") - ok);
    // What passes is paced at 100/s: the station is far less busy than at 280/s.
    assert!(f(&s, "instances.station-0.utilization") < 0.3);
}

#[test]
fn the_global_limit_applies_to_every_route() {
    // A bucket of one token loses the refill while it is full: between a token's return
    // and the next arrival (3.6 ms on average at 280/s) nothing accrues, so about
    // 1 / (20 ms + 3.6 ms) = 42 requests a second pass, not 50.
    let sc = limited(None, Some(json!({ "type": "token-bucket", "capacity": 1, "refillPerSecond": 50 })));
    let (_, s, _) = run(&sc, &RunOptions::default());
    let rate = f(&s, "requests.ok") / f(&s, "measured_s");
    assert!((rate - 1.0 / (0.020 + 1.0 / 280.0)).abs() < 1.5, "{rate} a second");
    // A deeper bucket absorbs the arrival noise and passes the full refill rate.
    let sc = limited(None, Some(json!({ "type": "token-bucket", "capacity": 50, "refillPerSecond": 50 })));
    let (_, s, _) = run(&sc, &RunOptions::default());
    let rate = (f(&s, "requests.ok") - 50.0) / f(&s, "measured_s");
    assert!((rate - 50.0).abs() < 1.5, "{rate} a second");
}

#[test]
fn resilience4j_limiter_lets_callers_wait_for_the_next_period() {
    // 10 permits every 100 ms; a caller may wait up to 100 ms for one.
    let sc = limited(
        Some(
            json!({ "type": "resilience4j", "limitForPeriod": 10, "limitRefreshPeriod": "100ms", "timeoutDuration": "100ms" }),
        ),
        None,
    );
    let (_, s, _) = run(&sc, &RunOptions::default());
    let rate = f(&s, "requests.ok") / f(&s, "measured_s");
    assert!((rate - 100.0).abs() < 3.0, "{rate} a second");
    // Refused callers were held for the whole timeout first; admitted ones waited.
    assert!(f(&s, "routes.work.latency_ms.max") >= 100.0);
    assert!(f(&s, "requests.by_status.429") > 1_000.0);
}
