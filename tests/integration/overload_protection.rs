//! Server-side protection against overload: per-service rate limits and load shedding
//! (queue bound, RFC 8289 CoDel, folly's adaptive CoDel), on `overload-shedding.json`.

use crate::common::{f, load, load_edited, run};
use meshsim::RunOptions;
use serde_json::json;

/// Sums of a column over a route's windows starting in [from, to).
fn route_sum(ts: &[u8], route: &str, col: &str, from: f64, to: f64) -> f64 {
    let mut r = csv::Reader::from_reader(ts);
    let i = r.headers().unwrap().iter().position(|h| h == col).unwrap();
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| &x[2] == "route" && &x[3] == route)
        .filter(|x| {
            let t: f64 = x[0].parse().unwrap();
            t >= from && t < to
        })
        .map(|x| x[i].parse::<f64>().unwrap())
        .sum()
}

fn max_p99(ts: &[u8], route: &str, from: f64, to: f64) -> f64 {
    let mut r = csv::Reader::from_reader(ts);
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| &x[2] == "route" && &x[3] == route)
        .filter(|x| (from..to).contains(&x[0].parse::<f64>().unwrap()))
        .map(|x| x[17].parse::<f64>().unwrap())
        .fold(0.0, f64::max)
}

#[test]
fn adaptive_codel_keeps_search_serving_at_capacity_through_the_spike() {
    let (_, s, ts) = run(&load("overload-shedding"), &RunOptions::default());
    // 20 s of spike at 1,000/s offered against 800/s of capacity.
    let ok = route_sum(&ts, "search", "ok", 20.0, 40.0) / 20.0;
    assert!((720.0..=820.0).contains(&ok), "search ok/s during the spike: {ok}");
    assert_eq!(route_sum(&ts, "search", "timeout", 0.0, 60.0), 0.0, "nothing waits for its timeout");
    assert!(max_p99(&ts, "search", 20.0, 40.0) < 200.0);
    assert!(f(&s, "services.search.server.shed") > 2_000.0);
    assert_eq!(f(&s, "routes.search.requests.by_status.503"), f(&s, "services.search.server.shed"));
    // Nothing is shed outside the spike (a second of slack for the windows to turn).
    assert_eq!(route_sum(&ts, "search", "error", 0.0, 20.0), 0.0);
    assert_eq!(route_sum(&ts, "search", "error", 42.0, 60.0), 0.0);
    // A shed request costs no work, so all work done is goodput.
    assert!(f(&s, "work.goodput_ratio") > 0.999);
}

#[test]
fn without_the_shedder_the_backlog_outlives_the_spike() {
    let sc = load_edited("overload-shedding", |v| {
        v["services"]["search"].as_object_mut().unwrap().remove("loadShedding");
    });
    let (_, s, ts) = run(&sc, &RunOptions::default());
    let ok = route_sum(&ts, "search", "ok", 30.0, 40.0) / route_sum(&ts, "search", "requests", 30.0, 40.0);
    assert!(ok < 0.1, "search availability late in the spike: {ok}");
    // After the spike the queue still holds seconds of work: calls go on timing out.
    let after = route_sum(&ts, "search", "ok", 41.0, 50.0) / route_sum(&ts, "search", "requests", 41.0, 50.0);
    assert!(after < 0.5, "search availability after the spike: {after}");
    assert!(f(&s, "work.goodput_ratio") < 0.8, "work for timed-out calls is wasted");
}

#[test]
fn a_queue_bound_bounds_the_delay() {
    let sc = load_edited("overload-shedding", |v| {
        v["services"]["search"]["loadShedding"] = json!({ "type": "queue-bound", "maxQueue": 8 });
    });
    let (_, s, ts) = run(&sc, &RunOptions::default());
    let ok = route_sum(&ts, "search", "ok", 20.0, 40.0) / 20.0;
    assert!(ok > 700.0, "search ok/s during the spike: {ok}");
    assert_eq!(route_sum(&ts, "search", "timeout", 0.0, 60.0), 0.0);
    // At most 8 waiting behind 4 workers at 10 ms each: tens of milliseconds.
    assert!(max_p99(&ts, "search", 20.0, 40.0) < 150.0);
    assert!(f(&s, "services.search.server.shed") > 1_000.0);
}

#[test]
fn rfc_codel_sheds_too_slowly_at_first_for_an_open_loop_surge() {
    // CoDel's drop rate grows as sqrt(count) / interval, a pace set for TCP senders that
    // back off; callers that do not back off outrun it for a few seconds, then it catches
    // up. Far better than no shedding, not as tight as folly's timeout.
    let codel = load_edited("overload-shedding", |v| {
        v["services"]["search"]["loadShedding"] = json!({ "type": "codel", "target": "20ms", "interval": "200ms" });
    });
    let (_, s, ts) = run(&codel, &RunOptions::default());
    let timeouts = route_sum(&ts, "search", "timeout", 0.0, 60.0);
    assert!(timeouts > 0.0, "CoDel falls behind at first");
    assert_eq!(route_sum(&ts, "search", "timeout", 32.0, 60.0), 0.0, "and then catches up");
    let shed_early = route_sum(&ts, "search", "error", 20.0, 25.0);
    let shed_late = route_sum(&ts, "search", "error", 33.0, 38.0);
    assert!(shed_late > 2.0 * shed_early, "the control law speeds up: {shed_early} then {shed_late}");
    assert!(f(&s, "work.goodput_ratio") > 0.9);
    let none = load_edited("overload-shedding", |v| {
        v["services"]["search"].as_object_mut().unwrap().remove("loadShedding");
    });
    let (_, _, ts) = run(&none, &RunOptions::default());
    assert!(timeouts * 5.0 < route_sum(&ts, "search", "timeout", 0.0, 60.0));
}

#[test]
fn a_shared_token_bucket_caps_what_recs_serves() {
    let (_, s, ts) = run(&load("overload-shedding"), &RunOptions::default());
    // 180 tokens a second plus the burst of 20, shared by the service.
    let served = route_sum(&ts, "recs", "ok", 20.0, 40.0);
    assert!(served <= 180.0 * 20.0 + 20.0 + 1.0, "recs served {served} in 20 s");
    assert!(served > 180.0 * 20.0 * 0.95, "the bucket lets its rate through: {served}");
    let limited = f(&s, "services.recs.server.rate_limited");
    assert!(limited > 500.0);
    assert_eq!(f(&s, "routes.recs.requests.by_status.429"), limited);
    // Limited requests never reach a worker: recs stays under its 200/s capacity.
    assert!(f(&s, "services.recs.server.utilization") < 0.9);
}

#[test]
fn a_bucket_per_instance_admits_per_instance() {
    let sc = load_edited("overload-shedding", |v| {
        v["services"]["recs"]["replicas"] = json!(2);
        v["services"]["recs"]["rateLimit"]["scope"] = json!("instance");
        v["services"]["recs"]["rateLimit"]["refillPerSecond"] = json!(60);
    });
    let (_, s, ts) = run(&sc, &RunOptions::default());
    // Two instances, 60 tokens a second each; the gateway offers 250/s in the spike.
    let served = route_sum(&ts, "recs", "ok", 20.0, 40.0);
    assert!(served <= 2.0 * (60.0 * 20.0 + 20.0) + 1.0, "recs served {served}");
    assert!(served > 2.0 * 60.0 * 20.0 * 0.95, "{served}");
    assert!(f(&s, "services.recs.server.rate_limited") > 2_000.0);
}

#[test]
fn a_resilience4j_limiter_holds_requests_for_their_permit() {
    // 10 permits every 100 ms with a 200 ms timeout: requests wait for a later cycle
    // instead of being refused while the wait fits.
    let sc = load_edited("overload-shedding", |v| {
        v["services"]["recs"]["rateLimit"] = json!({ "type": "resilience4j", "limitForPeriod": 10, "limitRefreshPeriod": "100ms", "timeoutDuration": "200ms" });
    });
    let (_, s, ts) = run(&sc, &RunOptions::default());
    let served = route_sum(&ts, "recs", "ok", 20.0, 40.0);
    assert!(served <= 100.0 * 20.0 + 30.0, "100 permits a second: {served}");
    // Before the spike the 150/s offered exceeds the 100/s of permits too: some wait, and
    // waiting shows in the latency.
    assert!(f(&s, "routes.recs.latency_ms.p50") > 50.0, "held for a permit");
    assert!(f(&s, "services.recs.server.rate_limited") > 0.0);
}
