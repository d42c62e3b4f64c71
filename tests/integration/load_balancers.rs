//! Each balancing strategy's spread over instances, seen end to end in the run's summary.

use crate::common::{f, load_edited, run};
use meshsim::RunOptions;
use serde_json::{Value, json};

/// The M/M/c scenario with four single-worker instances of the station; instance 3 is
/// five times slower when `slow`, and instances have weights 1, 2, 3, 4.
fn spread(balancer: Value, slow: bool, clients: u64) -> Vec<f64> {
    let sc = load_edited("mmc", |v| {
        let s = &mut v["services"]["station"];
        s.as_object_mut().unwrap().remove("replicas");
        s["workers"] = json!(4);
        s["instances"] = json!([
            {"weight": 1}, {"weight": 2}, {"weight": 3},
            {"weight": 4, "slowdown": if slow { 5.0 } else { 1.0 }}
        ]);
        v["policies"] = json!({"default": {"loadBalancer": balancer}});
        v["workload"]["clients"] = json!(clients);
        v["workload"]["arrivals"]["rate"] = json!(200);
    });
    let (_, s, _) = run(&sc, &RunOptions { requests: Some(40_000), ..Default::default() });
    (0..4).map(|i| f(&s, &format!("instances.station-{i}.arrivals"))).collect()
}

#[test]
fn round_robin_spreads_exactly() {
    let c = spread(json!({"type": "round-robin"}), true, 10_000);
    assert_eq!(c.iter().sum::<f64>(), 40_000.0);
    for x in &c {
        assert_eq!(*x, 10_000.0, "round robin gives each instance a quarter: {c:?}");
    }
}

#[test]
fn weighted_round_robin_is_proportional_to_weights() {
    let c = spread(json!({"type": "weighted-round-robin"}), true, 10_000);
    for (i, x) in c.iter().enumerate() {
        assert_eq!(*x, 4_000.0 * (i as f64 + 1.0), "weights 1:2:3:4 over 40,000 calls: {c:?}");
    }
}

#[test]
fn random_is_even_within_noise() {
    let c = spread(json!({"type": "random"}), true, 10_000);
    for x in &c {
        assert!((x - 10_000.0).abs() < 400.0, "random spread {c:?}");
    }
}

fn assert_slow_instance_avoided(name: &str, c: &[f64]) {
    let fast_mean = (c[0] + c[1] + c[2]) / 3.0;
    assert!(c[3] < 0.6 * fast_mean, "{name} should send less to the slow instance: {c:?}");
}

#[test]
fn least_outstanding_favours_fast_instances() {
    let c = spread(json!({"type": "least-outstanding"}), true, 10_000);
    assert_slow_instance_avoided("least-outstanding", &c);
    // Without a slow instance it spreads evenly.
    let even = spread(json!({"type": "least-outstanding"}), false, 10_000);
    for x in &even {
        assert!((x - 10_000.0).abs() < 500.0, "{even:?}");
    }
}

#[test]
fn p2c_favours_fast_instances() {
    assert_slow_instance_avoided("p2c", &spread(json!({"type": "p2c"}), true, 10_000));
}

#[test]
fn peak_ewma_favours_fast_instances() {
    let c = spread(json!({"type": "peak-ewma", "decay": "1s"}), true, 10_000);
    assert_slow_instance_avoided("peak-ewma", &c);
}

#[test]
fn round_robin_does_not_favour_fast_instances() {
    // The contrast that makes the tests above meaningful.
    let c = spread(json!({"type": "round-robin"}), true, 10_000);
    assert!(c[3] >= c[0]);
}

#[test]
fn ring_hash_pins_a_client_to_one_instance() {
    let one = spread(json!({"type": "ring-hash"}), false, 1);
    assert_eq!(one.iter().filter(|&&x| x > 0.0).count(), 1, "one client, one instance: {one:?}");
    // Many clients cover every instance, and, as in Envoy, heavier hosts own more of the
    // ring (weights 1:2:3:4).
    let many = spread(json!({"type": "ring-hash"}), false, 10_000);
    assert!(many.iter().all(|&x| x > 2_000.0), "{many:?}");
    assert!(many[3] > 2.0 * many[0], "{many:?}");
}
