//! Broken scenario files: each problem is reported with the file name, the JSON path of
//! the offending value and what was expected there, every problem in a file is reported
//! at once, and no input, however mangled, makes the loader panic. Mangled scenarios that
//! still load also run to an end that accounts for every request.

use meshsim::{Hooks, RunOptions, ScenarioError, Stop};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

/// The file name given to `load_str`; every message must start with it.
const FILE: &str = "shop.json";

/// A small valid scenario, modelled on scenarios/baseline.json: three services over two
/// zones, three routes, default and per-destination policies. Each case below breaks one
/// thing in it.
const BASE: &str = r#"{
  "name": "shop",
  "description": "The base of the scenario error tests.",
  "seed": 7,
  "run": { "duration": "10s", "warmup": "1s" },
  "metrics": { "interval": "1s" },
  "network": {
    "latency": "250us",
    "links": [
      { "between": ["zone-a", "zone-b"], "latency": { "type": "exponential", "mean": "1ms" }, "loss": 0.01 }
    ]
  },
  "gateway": {
    "zone": "zone-a",
    "routes": [
      { "name": "browse", "match": { "method": "GET", "pathPrefix": "/catalog" }, "destination": { "service": "catalog", "endpoint": "list" } },
      { "name": "cart", "match": { "pathPrefix": "/cart" }, "destination": { "service": "cart", "endpoint": "view" } },
      { "name": "checkout", "match": { "method": "POST", "pathPrefix": "/checkout" }, "destination": { "service": "order", "endpoint": "create" } }
    ]
  },
  "services": {
    "catalog": {
      "replicas": 2,
      "zones": ["zone-a", "zone-b"],
      "workers": 4,
      "endpoints": {
        "list": { "serviceTime": { "type": "uniform", "min": "1ms", "max": "3ms" } },
        "get": { "serviceTime": { "type": "exponential", "mean": "2ms" }, "errorRate": 1, "errorStatus": 503 }
      }
    },
    "cart": {
      "replicas": 2,
      "zones": ["zone-a", "zone-b"],
      "workers": 4,
      "endpoints": {
        "view": { "serviceTime": "1ms", "calls": [ { "service": "catalog", "endpoint": "get" } ] }
      }
    },
    "order": {
      "zones": ["zone-b"],
      "workers": 8,
      "endpoints": {
        "create": {
          "serviceTime": { "type": "lognormal", "mean": "5ms", "stddev": "2ms" },
          "callsMode": "parallel",
          "calls": [
            { "service": "cart", "endpoint": "view" },
            { "service": "catalog", "endpoint": "get", "probability": 50, "required": false }
          ]
        }
      }
    }
  },
  "policies": {
    "default": { "timeout": "1s", "loadBalancer": { "type": "round-robin" } },
    "overrides": [
      { "destination": "cart", "loadBalancer": { "type": "ring-hash", "minimumRingSize": 64 } },
      { "destination": "catalog", "endpoint": "get", "timeout": "500ms" }
    ]
  },
  "workload": {
    "arrivals": { "process": "poisson", "rate": 200 },
    "mix": [
      { "route": "browse", "weight": 6 },
      { "method": "GET", "path": "/cart/42", "weight": 3 },
      { "route": "checkout", "weight": 1 }
    ],
    "clients": 100
  }
}"#;

// ---------------------------------------------------------------------------------------
// Editing the base scenario.

/// One change to the base scenario. Paths are written as the loader reports them:
/// `services.cart.endpoints.view.calls[0].service`.
enum Edit {
    /// Sets the value at the path, adding the key (or appending to the array) if missing.
    Set(&'static str, Value),
    Remove(&'static str),
    /// Renames the key at the path, keeping its value and its place.
    Rename(&'static str, &'static str),
    /// Replaces the first occurrence of a text in the file once all JSON edits are done,
    /// for what a JSON value cannot hold (duplicate keys, broken syntax).
    Text(&'static str, &'static str),
}

fn set(path: &'static str, value: Value) -> Edit {
    Edit::Set(path, value)
}

fn remove(path: &'static str) -> Edit {
    Edit::Remove(path)
}

fn rename(path: &'static str, key: &'static str) -> Edit {
    Edit::Rename(path, key)
}

fn text(from: &'static str, to: &'static str) -> Edit {
    Edit::Text(from, to)
}

enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, indices) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            out.push(Seg::Key(key.to_string()));
        }
        for i in indices.split('[').skip(1) {
            let i = i.strip_suffix(']').and_then(|i| i.parse().ok());
            out.push(Seg::Index(i.unwrap_or_else(|| panic!("bad index in test path {path}"))));
        }
    }
    out
}

fn walk<'a>(mut v: &'a mut Value, segs: &[Seg], path: &str) -> &'a mut Value {
    for s in segs {
        v = match s {
            Seg::Key(k) => v.get_mut(k.as_str()),
            Seg::Index(i) => v.get_mut(*i),
        }
        .unwrap_or_else(|| panic!("test path {path} is not in the base scenario"));
    }
    v
}

fn apply(v: &mut Value, edit: &Edit) {
    let path = match edit {
        Edit::Set(p, _) | Edit::Remove(p) | Edit::Rename(p, _) => *p,
        Edit::Text(..) => return,
    };
    let segs = segments(path);
    let (last, parent) = segs.split_last().expect("a non-empty test path");
    let parent = walk(v, parent, path);
    match (edit, last) {
        (Edit::Set(_, new), Seg::Key(k)) => {
            parent.as_object_mut().expect("an object").insert(k.clone(), new.clone());
        }
        (Edit::Set(_, new), Seg::Index(i)) => {
            let list = parent.as_array_mut().expect("an array");
            if *i == list.len() {
                list.push(new.clone());
            } else {
                list[*i] = new.clone();
            }
        }
        (Edit::Remove(_), Seg::Key(k)) => {
            parent.as_object_mut().expect("an object").shift_remove(k).expect("a key to remove");
        }
        (Edit::Remove(_), Seg::Index(i)) => {
            parent.as_array_mut().expect("an array").remove(*i);
        }
        (Edit::Rename(_, to), Seg::Key(k)) => {
            let map = parent.as_object_mut().expect("an object");
            let at = map.keys().position(|x| x == k).expect("a key to rename");
            let value = map.shift_remove(k).expect("a key to rename");
            map.shift_insert(at, to.to_string(), value);
        }
        _ => panic!("unsupported edit at {path}"),
    }
}

/// The base scenario with `edits` applied, as file text.
fn edited(edits: &[Edit]) -> String {
    let mut v: Value = serde_json::from_str(BASE).expect("the base scenario is JSON");
    for e in edits {
        apply(&mut v, e);
    }
    let mut out = serde_json::to_string_pretty(&v).expect("serialises");
    for e in edits {
        if let Edit::Text(from, to) = e {
            assert!(out.contains(from), "{from:?} is not in the edited scenario:\n{out}");
            out = out.replacen(from, to, 1);
        }
    }
    out
}

/// Loads the edited scenario and checks that it is rejected with an issue at exactly
/// `path` whose message contains `fragment`, and that the message names the file.
fn assert_rejected(edits: &[Edit], path: &str, fragment: &str) {
    let text = edited(edits);
    let err = match meshsim::load_str(&text, FILE) {
        Ok(_) => panic!("accepted; expected `{path}: ...{fragment}...`\n{text}"),
        Err(e) => e,
    };
    let shown = err.to_string();
    assert!(matches!(err, ScenarioError::Invalid { .. }), "expected an invalid scenario, got: {shown}");
    assert!(!err.issues().is_empty(), "no issues in: {shown}");
    assert_eq!(shown.lines().count(), err.issues().len(), "one line per issue:\n{shown}");
    for (line, issue) in shown.lines().zip(err.issues()) {
        assert_eq!(line, format!("{FILE}: {}: {}", issue.path, issue.message));
    }
    assert!(
        err.issues().iter().any(|i| i.path == path && i.message.contains(fragment)),
        "expected an issue `{path}: ...{fragment}...`, found:\n{shown}"
    );
}

/// Loads `text` and checks that it is malformed JSON, reported at the given line and
/// column (as serde_json counts them) with a message containing `fragment`.
fn assert_malformed(text: &str, line: usize, column: usize, fragment: &str) {
    let err = match meshsim::load_str(text, FILE) {
        Ok(_) => panic!("accepted malformed JSON:\n{text}"),
        Err(e) => e,
    };
    let shown = err.to_string();
    match &err {
        ScenarioError::Syntax { file, line: l, column: c, message } => {
            assert_eq!(file, FILE);
            assert_eq!((*l, *c), (line, column), "position of: {shown}");
            assert!(message.contains(fragment), "expected ...{fragment}... in: {shown}");
        }
        other => panic!("expected a syntax error, got: {other}"),
    }
    assert!(shown.starts_with(&format!("{FILE}: malformed JSON at line {line}, column {column}: ")), "{shown}");
    assert!(err.issues().is_empty());
}

/// The position serde_json reports after reading `text` up to byte `at`: the 1-based line,
/// and the column of the last character read (0 at the start of a line).
fn position(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..].chars().count();
    (line, column)
}

#[test]
fn base_scenario_is_valid() {
    let sc = meshsim::load_str(&edited(&[]), FILE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.services.len(), 3);
    assert_eq!(sc.gateway.routes.len(), 3);
    assert_eq!(sc.zones.len(), 2);
    // Rewriting the base through serde_json changes nothing the loader sees.
    meshsim::load_str(BASE, FILE).unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------------------
// Malformed JSON: a syntax error with a position, and no JSON path.

#[test]
fn truncated_file_is_malformed_json_at_its_end() {
    let cut = BASE.find(r#""rate": 200"#).expect("in the base") + r#""rate": 200"#.len();
    let truncated = &BASE[..cut];
    let (line, column) = position(truncated, cut);
    assert_malformed(truncated, line, column, "EOF while parsing");
}

#[test]
fn empty_file_is_malformed_json() {
    assert_malformed("", 1, 0, "EOF while parsing a value");
}

#[test]
fn missing_comma_is_malformed_json_at_the_next_member() {
    let broken = BASE.replacen(r#""seed": 7,"#, r#""seed": 7"#, 1);
    let at = broken.find(r#""run""#).expect("in the base");
    let (line, column) = position(&broken, at + 1);
    assert_malformed(&broken, line, column, "expected `,` or `}`");
}

#[test]
fn trailing_characters_are_malformed_json() {
    let broken = format!("{BASE}\n}}");
    let (line, column) = position(&broken, broken.len());
    assert_malformed(&broken, line, column, "trailing characters");
}

// ---------------------------------------------------------------------------------------
// The table: one broken thing each, the exact path reported and a fragment of what was
// expected. Each row is its own test, named after the behaviour it checks.

/// A call of `service`'s `endpoint`, as in an endpoint's "calls".
fn call(service: &str, endpoint: &str) -> Value {
    json!({ "service": service, "endpoint": endpoint })
}

/// 64 characters, one more than a name may have.
const LONG_NAME: &str = "create-an-order-with-a-name-longer-than-sixty-three-characters-x";

macro_rules! rejected {
    ($($name:ident: [$($edit:expr),+ $(,)?] => $path:expr, $fragment:expr;)+) => {
        $(
            #[test]
            fn $name() {
                assert_rejected(&[$($edit),+], $path, $fragment);
            }
        )+
    };
}

rejected! {
    // Shape: field names and types, checked while parsing.
    // An unknown field's path is the call's path followed by the misspelt key itself.
    unknown_field_in_a_call_names_the_call_path_and_the_field:
        [rename("services.cart.endpoints.view.calls[0].service", "servce")]
        => "services.cart.endpoints.view.calls[0].servce",
           "unknown field `servce`, expected one of `service`, `endpoint`, `probability`";
    unknown_top_level_field_names_the_field:
        [set("metrcs", json!({ "interval": "1s" }))]
        => "metrcs", "unknown field `metrcs`, expected one of `name`";
    missing_required_field_names_the_object:
        [remove("services.cart.endpoints.view.serviceTime")]
        => "services.cart.endpoints.view", "missing field `serviceTime`";
    duplicate_field_in_an_object_is_rejected:
        [text(r#""workers": 8,"#, r#""workers": 8, "workers": 2,"#)]
        => "services.order", "duplicate field `workers`";
    string_where_a_number_is_expected_names_the_field_and_the_type:
        [set("services.catalog.replicas", json!("two"))]
        => "services.catalog.replicas", "invalid type: string \"two\", expected u32";
    negative_count_is_out_of_range_for_its_type:
        [set("services.catalog.workers", json!(-1))]
        => "services.catalog.workers", "invalid value: integer `-1`, expected u32";
    number_where_a_duration_is_expected_asks_for_a_duration_string:
        [set("policies.default.timeout", json!(250))]
        => "policies.default.timeout", "expected a duration string such as \"250ms\"";
    duration_without_a_unit_says_it_has_no_unit:
        [set("policies.default.timeout", json!("250"))]
        => "policies.default.timeout",
           "a duration with a unit such as \"250ms\" or \"1.5s\", found \"250\" (no unit)";
    service_time_without_a_unit_names_the_service_time:
        [set("services.cart.endpoints.view.serviceTime", json!("250"))]
        => "services.cart.endpoints.view.serviceTime", "found \"250\" (no unit)";
    negative_duration_is_rejected:
        [set("run.warmup", json!("-1s"))]
        => "run.warmup", "a non-negative duration, found \"-1s\"";
    duration_with_an_unknown_unit_lists_the_units:
        [set("run.duration", json!("10sec"))]
        => "run.duration", "a duration unit among ns, us, ms, s, m, h, found \"sec\" in \"10sec\"";
    duration_beyond_a_hundred_years_is_rejected:
        [set("run.duration", json!("9999999h"))]
        => "run.duration", "a duration of at most 100 years, found \"9999999h\"";
    duration_inside_a_distribution_names_the_distribution_field:
        [set("services.catalog.endpoints.get.serviceTime.mean", json!("2"))]
        => "services.catalog.endpoints.get.serviceTime.mean", "(no unit)";
    unknown_distribution_type_names_the_type_field:
        [set("services.catalog.endpoints.list.serviceTime.type", json!("triangular"))]
        => "services.catalog.endpoints.list.serviceTime.type", "unknown variant `triangular`";
    unknown_load_balancer_type_lists_the_known_types:
        [set("policies.default.loadBalancer.type", json!("least-connections"))]
        => "policies.default.loadBalancer.type",
           "unknown variant `least-connections`, expected one of `round-robin`";
    unknown_queue_discipline_lists_the_disciplines:
        [set("services.catalog.queue", json!({ "discipline": "lilo" }))]
        => "services.catalog.queue.discipline", "unknown variant `lilo`, expected `fifo` or `lifo`";

    // References between names.
    unknown_service_in_call_names_the_call_path:
        [set("services.cart.endpoints.view.calls[0].service", json!("catalogue"))]
        => "services.cart.endpoints.view.calls[0].service",
           "a known service, found \"catalogue\" (known: catalog, cart, order)";
    unknown_endpoint_in_call_lists_the_endpoints_of_that_service:
        [set("services.cart.endpoints.view.calls[0].endpoint", json!("fetch"))]
        => "services.cart.endpoints.view.calls[0].endpoint",
           "a known endpoint of catalog, found \"fetch\" (known: list, get)";
    unknown_route_in_the_mix_lists_the_routes:
        [set("workload.mix[0].route", json!("browsing"))]
        => "workload.mix[0].route",
           "a known route, found \"browsing\" (known: browse, cart, checkout)";
    mix_path_that_no_route_matches_is_rejected:
        [set("workload.mix[1].path", json!("/basket/42"))]
        => "workload.mix[1].path", "no route matches GET /basket/42";
    mix_method_that_no_route_matches_is_rejected:
        [set("workload.mix[1]", json!({ "method": "DELETE", "path": "/catalog/7", "weight": 1 }))]
        => "workload.mix[1].path", "no route matches DELETE /catalog/7";
    route_to_an_unknown_service_routes_to_nothing:
        [set("gateway.routes[2].destination.service", json!("orders"))]
        => "gateway.routes[2].destination.service",
           "a known service, found \"orders\" (known: catalog, cart, order)";
    route_to_an_unknown_endpoint_lists_the_endpoints:
        [set("gateway.routes[0].destination.endpoint", json!("all"))]
        => "gateway.routes[0].destination.endpoint",
           "a known endpoint of catalog, found \"all\" (known: list, get)";
    service_name_with_a_slash_is_rejected:
        [rename("services.order", "order/v2")]
        => "services.order/v2", "a name of letters, digits, '-' and '_', found \"order/v2\"";
    service_named_gateway_is_rejected:
        [rename("services.order", "gateway")]
        => "services.gateway", "a service name other than \"gateway\"";
    endpoint_name_longer_than_63_characters_is_rejected:
        [rename("services.order.endpoints.create", LONG_NAME)]
        => &format!("services.order.endpoints.{LONG_NAME}"), "a name of 1 to 63 characters";
    zone_name_with_a_space_is_rejected:
        [set("services.order.zones[0]", json!("zone b"))]
        => "services.order.zones", "a name of letters, digits, '-' and '_', found \"zone b\"";
    empty_route_name_is_rejected:
        [set("gateway.routes[1].name", json!(""))]
        => "gateway.routes[1].name", "a name of 1 to 63 characters, found \"\"";
    duplicate_route_names_are_rejected:
        [set("gateway.routes[1].name", json!("browse"))]
        => "gateway.routes[1].name", "a unique route name, \"browse\" is used twice";
    link_naming_an_unknown_zone_lists_the_zones:
        [set("network.links[0].between[1]", json!("zone-c"))]
        => "network.links[0].between[1]", "a known zone, found \"zone-c\" (known: zone-a, zone-b)";
    link_between_one_zone_is_rejected:
        [set("network.links[0].between", json!(["zone-a"]))]
        => "network.links[0].between", "two zone names, found 1";
    policy_override_for_an_unknown_destination_is_rejected:
        [set("policies.overrides[0].destination", json!("basket"))]
        => "policies.overrides[0].destination", "a known service, found \"basket\"";
    policy_override_from_an_unknown_source_lists_the_callers:
        [set("policies.overrides[1].source", json!("browser"))]
        => "policies.overrides[1].source",
           "a known caller (\"gateway\" or a service), found \"browser\" \
            (known: gateway, catalog, cart, order)";
    policy_override_for_an_unknown_endpoint_is_rejected:
        [set("policies.overrides[1].endpoint", json!("put"))]
        => "policies.overrides[1].endpoint", "a known endpoint of catalog, found \"put\"";
    load_balancer_on_an_endpoint_override_is_rejected:
        [set("policies.overrides[1].loadBalancer", json!({ "type": "p2c" }))]
        => "policies.overrides[1].loadBalancer", "a load balancer per destination service";
    duplicate_service_names_are_rejected:
        [text(r#""order": {"#, r#""order": { "endpoints": {} }, "order": {"#)]
        => "services", "each name once, but \"order\" appears twice";
    duplicate_endpoint_names_are_rejected:
        [text(r#""view": {"#, r#""view": { "serviceTime": "1h" }, "view": {"#)]
        => "services.cart.endpoints", "each name once, but \"view\" appears twice";

    // The call graph.
    call_graph_cycle_is_rejected_with_the_cycle:
        [set("services.catalog.endpoints.get.calls", json!([call("cart", "view")]))]
        => "services.cart.endpoints.view.calls[0]",
           "calls recurse without bound: catalog.get -> cart.view -> catalog.get";
    self_call_is_a_cycle:
        [set("services.catalog.endpoints.list.calls", json!([call("catalog", "list")]))]
        => "services.catalog.endpoints.list.calls[0]",
           "calls recurse without bound: catalog.list -> catalog.list";
    cycle_after_an_unknown_call_names_the_call_that_recurses:
        [
            set("services.cart.endpoints.view.calls",
                json!([call("search", "find"), call("catalog", "get")])),
            set("services.catalog.endpoints.get.calls", json!([call("cart", "view")])),
        ]
        => "services.cart.endpoints.view.calls[1]", "catalog.get -> cart.view -> catalog.get";

    // Server-side protection.
    service_rate_limit_without_capacity_names_the_field:
        [set("services.cart.rateLimit", json!({ "type": "token-bucket", "refillPerSecond": 10 }))]
        => "services.cart.rateLimit.capacity", "which the token-bucket limiter requires";
    gateway_rate_limit_takes_no_scope:
        [set("gateway.rateLimit", json!({ "type": "token-bucket", "capacity": 5, "refillPerSecond": 10, "scope": "service" }))]
        => "gateway.rateLimit.scope", "no scope";
    unknown_limiter_scope_is_rejected:
        [set("services.cart.rateLimit", json!({ "type": "token-bucket", "capacity": 5, "refillPerSecond": 10, "scope": "zone" }))]
        => "services.cart.rateLimit.scope", "unknown variant `zone`";
    queue_bound_shedder_needs_its_bound:
        [set("services.cart.loadShedding", json!({ "type": "queue-bound" }))]
        => "services.cart.loadShedding.maxQueue", "which the queue-bound shedder requires";
    codel_target_longer_than_its_interval_is_rejected:
        [set("services.cart.loadShedding", json!({ "type": "codel", "target": "1s", "interval": "100ms" }))]
        => "services.cart.loadShedding.target", "a target no longer than the interval (100ms), found 1s";
    codel_takes_no_max_queue:
        [set("services.cart.loadShedding", json!({ "type": "adaptive-codel", "maxQueue": 3 }))]
        => "services.cart.loadShedding.maxQueue", "adaptive-codel";
    shed_status_must_be_an_error:
        [set("services.cart.loadShedding", json!({ "type": "codel", "status": 200 }))]
        => "services.cart.loadShedding.status", "an error status from 400 to 599, found 200";

    // Discovery, lifecycle and the control plane.
    client_discovery_needs_a_registry:
        [set("discovery", json!({ "mode": "client" }))]
        => "discovery.registry", "a registry for the \"client\" mode";
    ideal_discovery_takes_no_refresh:
        [set("discovery", json!({ "mode": "ideal", "refreshInterval": "5s" }))]
        => "discovery.refreshInterval", "nothing with mode \"ideal\"";
    registrar_takes_no_ttl:
        [set("discovery", json!({ "mode": "client", "registry": { "type": "registrar", "ttl": "5s" } }))]
        => "discovery.registry.ttl", "registrar";
    checks_by_the_registry_need_one:
        [set("discovery", json!({ "healthCheck": { "by": "registry" } }))]
        => "discovery.healthCheck.by", "checks by the registry need a registry";
    lifecycle_names_a_known_instance:
        [set("lifecycle", json!([{ "at": "1s", "action": "crash", "instance": "cart-9" }]))]
        => "lifecycle[0].instance", "a known instance such as";
    scaling_beyond_max_replicas_is_rejected:
        [set("lifecycle", json!([{ "at": "1s", "action": "scale", "service": "cart", "replicas": 9 }]))]
        => "lifecycle[0].replicas", "raise its maxReplicas";
    max_replicas_below_replicas_is_rejected:
        [set("services.catalog.maxReplicas", json!(1))]
        => "services.catalog.maxReplicas", "from replicas (2) to 10000, found 1";
    autoscaler_needs_max_replicas:
        [set("services.cart.autoscaler", json!({ "target": 60 }))]
        => "services.cart.autoscaler.maxReplicas", "\"maxReplicas\", which an autoscaler requires";
    autoscaler_max_beyond_the_services_pool_is_rejected:
        [set("services.cart.maxReplicas", json!(4)), set("services.cart.autoscaler", json!({ "maxReplicas": 6 }))]
        => "services.cart.autoscaler.maxReplicas", "at most the service's instances (4: raise its maxReplicas), found 6";
    autoscaler_max_beyond_listed_instances_is_rejected:
        [
            remove("services.cart.replicas"),
            remove("services.cart.zones"),
            set("services.cart.instances", json!([{ "zone": "zone-a" }, { "zone": "zone-b" }])),
            set("services.cart.autoscaler", json!({ "maxReplicas": 3 })),
        ]
        => "services.cart.autoscaler.maxReplicas", "at most the service's 2 instances, found 3";
    autoscaler_min_above_max_is_rejected:
        [set("services.cart.autoscaler", json!({ "minReplicas": 5, "maxReplicas": 3 }))]
        => "services.cart.autoscaler.maxReplicas", "at least minReplicas (5), found 3";
    autoscaler_min_of_zero_is_rejected:
        [set("services.cart.autoscaler", json!({ "minReplicas": 0, "maxReplicas": 3 }))]
        => "services.cart.autoscaler.minReplicas", "at least 1 replica, found 0";
    autoscaler_utilization_target_above_100_is_rejected:
        [set("services.cart.autoscaler", json!({ "target": 120, "maxReplicas": 3 }))]
        => "services.cart.autoscaler.target", "at most 100, found 120";
    autoscaler_queue_metric_needs_a_target:
        [set("services.cart.autoscaler", json!({ "metric": "queue", "maxReplicas": 3 }))]
        => "services.cart.autoscaler.target", "which the queue metric requires";
    autoscaler_unknown_metric_is_rejected:
        [set("services.cart.autoscaler", json!({ "metric": "cpu", "maxReplicas": 3 }))]
        => "services.cart.autoscaler.metric", "unknown variant `cpu`, expected `utilization` or `queue`";
    autoscaler_zero_interval_is_rejected:
        [set("services.cart.autoscaler", json!({ "maxReplicas": 3, "interval": "0s" }))]
        => "services.cart.autoscaler.interval", "a duration greater than zero";
    autoscaler_tolerance_is_a_percentage:
        [set("services.cart.autoscaler", json!({ "maxReplicas": 3, "tolerance": 150 }))]
        => "services.cart.autoscaler.tolerance", "a percentage from 0 to 100, found 150";
    autoscaler_policy_of_zero_is_rejected:
        [set("services.cart.autoscaler", json!({ "maxReplicas": 3, "scaleUp": { "policies": [ { "type": "Pods", "value": 0, "period": "15s" } ] } }))]
        => "services.cart.autoscaler.scaleUp.policies[0].value", "at least 1, found 0";
    autoscaler_policy_period_over_30_minutes_is_rejected:
        [set("services.cart.autoscaler", json!({ "maxReplicas": 3, "scaleDown": { "policies": [ { "type": "Percent", "value": 10, "period": "31m" } ] } }))]
        => "services.cart.autoscaler.scaleDown.policies[0].period", "at most 30m";
    autoscaler_empty_policies_are_rejected:
        [set("services.cart.autoscaler", json!({ "maxReplicas": 3, "scaleDown": { "policies": [] } }))]
        => "services.cart.autoscaler.scaleDown.policies", "at least one policy";
    autoscaler_stabilization_over_an_hour_is_rejected:
        [set("services.cart.autoscaler", json!({ "maxReplicas": 3, "scaleDown": { "stabilizationWindow": "2h" } }))]
        => "services.cart.autoscaler.scaleDown.stabilizationWindow", "at most 1h";
    autoscaler_unknown_policy_type_is_rejected:
        [set("services.cart.autoscaler", json!({ "maxReplicas": 3, "scaleUp": { "policies": [ { "type": "pods", "value": 1, "period": "15s" } ] } }))]
        => "services.cart.autoscaler.scaleUp.policies[0].type", "unknown variant `pods`, expected `Pods` or `Percent`";
    autoscaler_unknown_field_is_rejected:
        [set("services.cart.autoscaler", json!({ "maxReplicas": 3, "cooldown": "1m" }))]
        => "services.cart.autoscaler.cooldown", "unknown field `cooldown`";
    probe_timeout_below_a_second_is_rejected:
        [set("services.cart.probes", json!({ "liveness": { "timeout": "500ms" } }))]
        => "services.cart.probes.liveness", "at least 1s";
    registry_outage_takes_no_target:
        [
            set("discovery", json!({ "mode": "client", "registry": { "type": "consul" } })),
            set("faults", json!([{ "kind": "registry-outage", "target": { "service": "cart" }, "start": "1s" }])),
        ]
        => "faults[0].target", "no target";
    a_call_path_fault_names_a_known_caller:
        [set("faults", json!([{ "kind": "error", "call": { "from": "billing", "to": "cart" }, "start": "1s" }]))]
        => "faults[0].call.from", "a known caller (\"gateway\" or a service), found \"billing\"";
    a_call_path_fault_names_a_known_endpoint:
        [set("faults", json!([{ "kind": "latency", "call": { "to": "cart", "endpoint": "buy" }, "start": "1s", "delay": "1s" }]))]
        => "faults[0].call.endpoint", "a known endpoint of cart, found \"buy\"";
    a_call_path_fault_takes_no_target:
        [set("faults", json!([{ "kind": "error", "call": { "to": "cart" }, "target": { "service": "cart" }, "start": "1s" }]))]
        => "faults[0].target", "no target: a fault on a call path";
    only_error_and_latency_faults_act_on_call_paths:
        [set("faults", json!([{ "kind": "slowdown", "call": { "to": "cart" }, "factor": 2, "start": "1s" }]))]
        => "faults[0].call", "a parameter of a slowdown fault (factor), found \"call\"";
    a_slow_config_push_needs_config_changes:
        [set("faults", json!([{ "kind": "slow-config-push", "start": "1s", "delay": "5s" }]))]
        => "faults[0].kind", "a config change to slow down";
    a_slow_config_push_needs_a_delay:
        [
            set("configChanges", json!([{ "at": "5s", "overrides": [] }])),
            set("faults", json!([{ "kind": "slow-config-push", "start": "1s" }])),
        ]
        => "faults[0].delay", "a distribution of further propagation delays";
    a_chaos_monkey_needs_kinds:
        [set("chaos", json!({ "meanInterval": "5s", "duration": { "min": "1s", "max": "2s" }, "kinds": [] }))]
        => "chaos.kinds", "at least one kind";
    a_chaos_monkey_duration_is_ordered:
        [set("chaos", json!({ "meanInterval": "5s", "duration": { "min": "3s", "max": "2s" }, "kinds": [{ "kind": "crash" }] }))]
        => "chaos.duration.max", "at least the shortest (3s), found 2s";
    a_chaos_monkey_hits_known_services:
        [set("chaos", json!({ "meanInterval": "5s", "duration": { "min": "1s", "max": "2s" }, "services": ["billing"], "kinds": [{ "kind": "crash" }] }))]
        => "chaos.services[0]", "a known service, found \"billing\"";
    a_chaos_kind_is_checked_like_a_fault:
        [set("chaos", json!({ "meanInterval": "5s", "duration": { "min": "1s", "max": "2s" }, "kinds": [{ "kind": "slowdown", "factor": -1 }] }))]
        => "chaos.kinds[0].factor", "a service-time factor greater than zero, found -1";
    a_chaos_kind_weight_is_positive:
        [set("chaos", json!({ "meanInterval": "5s", "duration": { "min": "1s", "max": "2s" }, "kinds": [{ "kind": "crash", "weight": 0 }] }))]
        => "chaos.kinds[0].weight", "a weight above zero, found 0";
    a_chaos_network_kind_takes_no_target:
        [set("chaos", json!({ "meanInterval": "5s", "duration": { "min": "1s", "max": "2s" }, "kinds": [{ "kind": "loss", "percent": 1, "target": { "mode": "one" } }] }))]
        => "chaos.kinds[0].target", "no target: a loss fault";
    a_config_change_cannot_add_a_breaker:
        [set("configChanges", json!([{ "at": "5s", "overrides": [ { "destination": "cart", "circuitBreaker": {} } ] }]))]
        => "configChanges[0].overrides[0].circuitBreaker", "only call settings";
    config_changes_come_in_time_order:
        [set("configChanges", json!([{ "at": "5s", "overrides": [] }, { "at": "2s", "overrides": [] }]))]
        => "configChanges[1].at", "changes in time order";

    a_route_takes_destination_or_destinations:
        [set("gateway.routes[0].destinations", json!([{ "service": "cart", "endpoint": "view", "weight": 1 }]))]
        => "gateway.routes[0].destinations", "either destination or destinations, not both";
    weighted_destinations_name_known_endpoints:
        [
            remove("gateway.routes[0].destination"),
            set("gateway.routes[0].destinations", json!([{ "service": "cart", "endpoint": "nope", "weight": 1 }])),
        ]
        => "gateway.routes[0].destinations[0].endpoint", "a known endpoint of cart";
    route_weights_match_the_destinations:
        [
            remove("gateway.routes[0].destination"),
            set("gateway.routes[0].destinations", json!([
                { "service": "catalog", "endpoint": "list", "weight": 9 }, { "service": "cart", "endpoint": "view", "weight": 1 }])),
            set("configChanges", json!([{ "at": "5s", "routeWeights": { "browse": [1, 2, 3] } }])),
        ]
        => "configChanges[0].routeWeights.browse", "2 weights, one per destination of browse, found 3";

    slo_thresholds_name_a_known_metric:
        [set("slos", json!([{ "threshold": "p98<1s" }]))]
        => "slos[0].threshold", "a metric (availability, error_rate";
    slo_routes_must_exist:
        [set("slos", json!([{ "threshold": "nope:p99<1s" }]))]
        => "slos[0].threshold", "a known route";

    clusters_name_known_zones:
        [set("clusters", json!({ "east": { "zones": ["zone-a", "zone-x"] } }))]
        => "clusters.east.zones[1]", "a known zone (of an instance, the gateway or a network link), found \"zone-x\"";
    a_zone_is_in_one_cluster_only:
        [set("clusters", json!({ "east": { "zones": ["zone-a"] }, "west": { "zones": ["zone-a", "zone-b"] } }))]
        => "clusters.west.zones[0]", "a zone in one cluster only";
    a_cluster_has_zones:
        [set("clusters", json!({ "east": { "zones": [] } }))]
        => "clusters.east.zones", "at least one zone";
    cluster_fields_are_known:
        [set("clusters", json!({ "east": { "zones": ["zone-a"], "regoin": "us" } }))]
        => "clusters.east.regoin", "regoin";
    discovery_delay_needs_ideal_discovery:
        [
            set("clusters", json!({ "east": { "zones": ["zone-a"], "discoveryDelay": "2s" } })),
            set("discovery", json!({ "mode": "client", "registry": { "type": "consul" } })),
        ]
        => "clusters.east.discoveryDelay", "ideal discovery";
    locality_lb_needs_outlier_detection:
        [set("policies.default.localityLb", json!({ "enabled": true }))]
        => "policies.default.localityLb", "outlierDetection for the same callers and destination";
    locality_failover_names_known_regions:
        [
            set("clusters", json!({ "east": { "zones": ["zone-a"], "region": "us-east" } })),
            set("policies.default.outlierDetection", json!({})),
            set("policies.default.localityLb", json!({ "failover": [{ "from": "us-east", "to": "mars" }] })),
        ]
        => "policies.default.localityLb.failover[0].to", "a known region (of a cluster), found \"mars\"";
    locality_failover_goes_to_another_region:
        [
            set("policies.default.outlierDetection", json!({})),
            set("policies.default.localityLb", json!({ "failover": [{ "from": "default", "to": "default" }] })),
        ]
        => "policies.default.localityLb.failover[0].to", "a region other than \"from\"";
    overprovisioning_factor_is_in_range:
        [
            set("policies.default.outlierDetection", json!({})),
            set("policies.default.localityLb", json!({ "overprovisioningFactor": 0 })),
        ]
        => "policies.default.localityLb.overprovisioningFactor", "a factor in percent from 1 to 100000";
    locality_lb_is_per_destination:
        [set("policies.overrides", json!([{ "destination": "cart", "endpoint": "view", "localityLb": {} }]))]
        => "policies.overrides[0].localityLb", "locality load balancing per destination service";
    a_zone_outage_names_a_zone:
        [set("faults", json!([{ "kind": "zone-outage", "start": "1s" }]))]
        => "faults[0].zone", "\"zone\", the zone that goes down";
    a_zone_outage_names_a_known_zone:
        [set("faults", json!([{ "kind": "zone-outage", "zone": "zone-x", "start": "1s" }]))]
        => "faults[0].zone", "a known zone, found \"zone-x\"";
    a_zone_outage_takes_no_target:
        [set("faults", json!([{ "kind": "zone-outage", "zone": "zone-a", "target": { "service": "cart" }, "start": "1s" }]))]
        => "faults[0].target", "no target: a zone outage";
    a_zone_outage_takes_no_percent:
        [set("faults", json!([{ "kind": "zone-outage", "zone": "zone-a", "percent": 5, "start": "1s" }]))]
        => "faults[0].percent", "zone-outage";
    a_cluster_partition_needs_clusters:
        [set("faults", json!([{ "kind": "partition", "clusters": [["east"], ["west"]], "start": "1s" }]))]
        => "faults[0].clusters", "a \"clusters\" block";
    a_cluster_partition_names_known_clusters:
        [
            set("clusters", json!({ "east": { "zones": ["zone-a"] }, "west": { "zones": ["zone-b"] } })),
            set("faults", json!([{ "kind": "partition", "clusters": [["east"], ["north"]], "start": "1s" }])),
        ]
        => "faults[0].clusters[1][0]", "a known cluster, found \"north\"";
    partition_groups_name_known_zones:
        [set("faults", json!([{ "kind": "partition", "between": [["zone-a"], ["zone-x"]], "start": "1s" }]))]
        => "faults[0].between[1][0]", "a known zone, found \"zone-x\"";
    partition_needs_zones_or_services:
        [set("faults", json!([{ "kind": "partition", "start": "1s" }]))]
        => "faults[0]", "either \"between\"";
    network_faults_take_no_target:
        [set("faults", json!([{ "kind": "loss", "target": { "service": "cart" }, "percent": 5, "start": "1s" }]))]
        => "faults[0].target", "no target";
    a_partition_side_is_not_on_both_sides:
        [set("faults", json!([{ "kind": "partition", "services": [["cart"], ["cart", "order"]], "start": "1s" }]))]
        => "faults[0].services", "no service (or \"gateway\") in both";

    a_repeat_must_outlast_the_fault:
        [set("faults", json!([{ "kind": "stop", "target": { "service": "cart" }, "start": "1s", "duration": "5s", "repeat": "5s" }]))]
        => "faults[0].repeat", "a repeat interval longer than the fault's duration";
    fixed_mode_needs_a_whole_count:
        [set("faults", json!([{ "kind": "stop", "target": { "service": "cart", "mode": "fixed", "value": 1.5 }, "start": "1s" }]))]
        => "faults[0].target.value", "a whole number of instances, at least 1, found 1.5";

    a_load_fault_needs_an_end:
        [set("faults", json!([{ "kind": "load", "rate": 100, "start": "1s" }]))]
        => "faults[0].duration", "a load fault that never ends";
    a_load_fault_names_a_known_route:
        [set("faults", json!([{ "kind": "load", "rate": 100, "route": "nope", "start": "1s", "duration": "1s" }]))]
        => "faults[0].route", "a known route";

    // Ranges.
    zero_rate_is_rejected:
        [set("workload.arrivals.rate", json!(0))]
        => "workload.arrivals.rate",
           "a rate in requests per second, greater than zero and at most 1e9, found 0";
    negative_rate_is_rejected:
        [set("workload.arrivals.rate", json!(-5))]
        => "workload.arrivals.rate", "greater than zero and at most 1e9, found -5";
    rate_above_a_billion_is_rejected:
        [set("workload.arrivals.rate", json!(2e9))]
        => "workload.arrivals.rate", "at most 1e9, found 2000000000";
    zero_replicas_is_rejected:
        [set("services.catalog.replicas", json!(0))]
        => "services.catalog.replicas", "at least 1 replica, found 0";
    zero_workers_is_rejected:
        [set("services.catalog.workers", json!(0))]
        => "services.catalog.workers", "at least 1 worker, found 0";
    replicas_and_instances_together_are_rejected:
        [set("services.catalog.instances", json!([{ "zone": "zone-a" }]))]
        => "services.catalog.replicas", "either replicas or instances, not both";
    error_rate_above_100_percent_is_rejected:
        [set("services.catalog.endpoints.get.errorRate", json!(150))]
        => "services.catalog.endpoints.get.errorRate", "a percentage from 0 to 100, found 150";
    call_probability_above_100_percent_is_rejected:
        [set("services.order.endpoints.create.calls[1].probability", json!(100.5))]
        => "services.order.endpoints.create.calls[1].probability",
           "a percentage from 0 to 100, found 100.5";
    link_loss_below_zero_is_rejected:
        [set("network.links[0].loss", json!(-0.5))]
        => "network.links[0].loss", "a percentage from 0 to 100, found -0.5";
    error_status_below_400_is_rejected:
        [set("services.catalog.endpoints.get.errorStatus", json!(302))]
        => "services.catalog.endpoints.get.errorStatus",
           "an error status from 400 to 599, found 302";
    error_status_above_599_is_rejected:
        [set("services.catalog.endpoints.get.errorStatus", json!(600))]
        => "services.catalog.endpoints.get.errorStatus",
           "an error status from 400 to 599, found 600";
    exponential_mean_of_zero_is_rejected:
        [set("services.catalog.endpoints.get.serviceTime.mean", json!("0s"))]
        => "services.catalog.endpoints.get.serviceTime.mean", "a mean greater than zero";
    uniform_with_max_below_min_is_rejected:
        [set("services.catalog.endpoints.list.serviceTime.max", json!("500us"))]
        => "services.catalog.endpoints.list.serviceTime.max",
           "a maximum at least the minimum 1ms, found 500us";
    empirical_without_samples_is_rejected:
        [set("services.cart.endpoints.view.serviceTime",
             json!({ "type": "empirical", "samples": [] }))]
        => "services.cart.endpoints.view.serviceTime.samples", "at least one sample";
    ring_size_of_zero_is_rejected:
        [set("policies.overrides[0].loadBalancer.minimumRingSize", json!(0))]
        => "policies.overrides[0].loadBalancer.minimumRingSize",
           "a ring size from 1 to 8388608, found 0";
    ring_size_above_envoys_limit_is_rejected:
        [set("policies.overrides[0].loadBalancer.minimumRingSize", json!(8_388_609))]
        => "policies.overrides[0].loadBalancer.minimumRingSize",
           "a ring size from 1 to 8388608, found 8388609";
    peak_ewma_decay_of_zero_is_rejected:
        [set("policies.default.loadBalancer", json!({ "type": "peak-ewma", "decay": "0s" }))]
        => "policies.default.loadBalancer.decay", "a duration greater than zero, found 0";
    zero_timeout_is_rejected:
        [set("policies.overrides[1].timeout", json!("0s"))]
        => "policies.overrides[1].timeout", "a duration greater than zero, found 0";
    zero_metrics_interval_is_rejected:
        [set("metrics.interval", json!("0s"))]
        => "metrics.interval", "a duration greater than zero, found 0";
    lowercase_route_method_is_rejected:
        [set("gateway.routes[0].match.method", json!("get"))]
        => "gateway.routes[0].match.method", "an HTTP method in capitals (GET, HEAD";
    route_path_prefix_without_a_slash_is_rejected:
        [set("gateway.routes[1].match.pathPrefix", json!("cart"))]
        => "gateway.routes[1].match.pathPrefix", "a path prefix starting with '/', found \"cart\"";
    empty_scenario_name_is_rejected:
        [set("name", json!(" "))]
        => "name", "a non-empty scenario name";
    scenario_name_with_a_slash_is_rejected:
        [set("name", json!("../shop"))]
        => "name", "a name usable as a folder name";

    // The run and the workload.
    no_stop_condition_is_rejected:
        [remove("run.duration")]
        => "run", "a stop condition: \"duration\", \"requests\" or both";
    zero_duration_is_rejected:
        [set("run.duration", json!("0s"))]
        => "run.duration", "a duration greater than zero, found 0";
    zero_requests_is_rejected:
        [set("run.requests", json!(0))]
        => "run.requests", "at least 1 request, found 0";
    warmup_as_long_as_the_run_is_rejected:
        [set("run.warmup", json!("10s"))]
        => "run.warmup", "a warm-up shorter than the duration 10s, found 10s";
    warmup_longer_than_the_run_is_rejected:
        [set("run.warmup", json!("1m"))]
        => "run.warmup", "a warm-up shorter than the duration 10s, found 1m";
    zero_events_max_is_rejected:
        [set("run.eventsMax", json!(0))]
        => "run.eventsMax", "at least 1 event, found 0";
    both_arrivals_and_users_are_rejected:
        [set("workload.users", json!({ "count": 10, "thinkTime": "1s" }))]
        => "workload.users", "either open-loop \"arrivals\" or closed-loop \"users\", not both";
    neither_arrivals_nor_users_is_rejected:
        [remove("workload.arrivals")]
        => "workload", "a load: open-loop \"arrivals\" or closed-loop \"users\"";
    replica_count_beyond_any_real_mesh_is_rejected_before_allocating:
        [set("services.catalog.replicas", json!(u32::MAX))]
        => "services.catalog.replicas", "at most 10000 replicas, found 4294967295";
    user_count_beyond_any_real_mesh_is_rejected:
        [remove("workload.arrivals"),
         set("workload.users", json!({ "count": u32::MAX, "thinkTime": "1s" }))]
        => "workload.users.count", "at most 10000000 users, found 4294967295";
    zero_users_is_rejected:
        [remove("workload.arrivals"),
         set("workload.users", json!({ "count": 0, "thinkTime": "1s" }))]
        => "workload.users.count", "at least 1 user, found 0";
    rate_and_stages_together_are_rejected:
        [set("workload.arrivals.stages", json!([{ "duration": "5s", "target": 100 }]))]
        => "workload.arrivals", "either \"rate\", or \"stages\" with an optional \"startRate\"";
    stages_that_never_send_are_rejected:
        [set("workload.arrivals", json!({ "stages": [{ "duration": "5s", "target": 0 }] }))]
        => "workload.arrivals.stages", "a schedule with some rate above zero";
    mix_entry_with_both_route_and_path_is_rejected:
        [set("workload.mix[0].path", json!("/catalog"))]
        => "workload.mix[0]", "either \"route\" (a route name) or \"path\"";
    mix_weight_of_zero_is_rejected:
        [set("workload.mix[2].weight", json!(0))]
        => "workload.mix[2].weight", "a weight greater than zero, found 0";
    empty_mix_is_rejected:
        [set("workload.mix", json!([]))]
        => "workload.mix", "at least one entry";
    zero_clients_is_rejected:
        [set("workload.clients", json!(0))]
        => "workload.clients", "at least 1 client, found 0";
}

#[test]
fn message_line_is_file_path_and_expectation() {
    let text = edited(&[set("services.cart.endpoints.view.calls[0].service", json!("catalogue"))]);
    let err = meshsim::load_str(&text, FILE).expect_err("an unknown service");
    assert_eq!(
        err.to_string(),
        "shop.json: services.cart.endpoints.view.calls[0].service: \
         a known service, found \"catalogue\" (known: catalog, cart, order)"
    );
    assert_eq!(
        err.issues(),
        [meshsim::Issue {
            path: "services.cart.endpoints.view.calls[0].service".into(),
            message: "a known service, found \"catalogue\" (known: catalog, cart, order)".into(),
        }]
    );
}

#[test]
fn every_problem_in_a_file_is_reported_at_once() {
    let text = edited(&[
        set("services.cart.endpoints.view.calls[0].service", json!("catalogue")),
        set("services.catalog.replicas", json!(0)),
        set("services.catalog.endpoints.get.errorRate", json!(150)),
        set("network.links[0].between[1]", json!("zone-c")),
        set("policies.overrides[0].destination", json!("basket")),
        set("workload.mix[0].route", json!("browsing")),
        remove("run.duration"),
    ]);
    let err = meshsim::load_str(&text, "several.json").expect_err("seven problems");
    let found: Vec<(&str, &str)> = err.issues().iter().map(|i| (i.path.as_str(), i.message.as_str())).collect();
    let expected = [
        ("run", "a stop condition"),
        ("services.catalog.replicas", "at least 1 replica, found 0"),
        ("services.catalog.endpoints.get.errorRate", "a percentage from 0 to 100, found 150"),
        ("services.cart.endpoints.view.calls[0].service", "a known service, found \"catalogue\""),
        ("network.links[0].between[1]", "a known zone, found \"zone-c\""),
        ("policies.overrides[0].destination", "a known service, found \"basket\""),
        ("workload.mix[0].route", "a known route, found \"browsing\""),
    ];
    for (path, fragment) in expected {
        assert!(
            found.iter().any(|&(p, m)| p == path && m.contains(fragment)),
            "missing `{path}: ...{fragment}...` in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "one issue per problem: {found:#?}");
    let shown = err.to_string();
    assert_eq!(shown.lines().count(), expected.len(), "{shown}");
    assert!(shown.lines().all(|l| l.starts_with("several.json: ")), "{shown}");
}

// ---------------------------------------------------------------------------------------
// Mangled input never panics.

const BUNDLED: [(&str, &str); 5] = [
    ("baseline.json", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/baseline.json"))),
    ("chain.json", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/chain.json"))),
    ("mm1.json", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/mm1.json"))),
    ("mmc.json", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/mmc.json"))),
    ("canary-rollback.json", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/canary-rollback.json"))),
];

/// Scenario `which` to mutate: a bundled one, the base of the table above, or the base
/// with closed-loop users instead of open-loop arrivals.
// Traffic management: versions, routing rules, headers and rollouts. `versioned` gives
// cart two versions in place of its replicas.
fn versioned() -> [Edit; 3] {
    [
        remove("services.cart.replicas"),
        remove("services.cart.zones"),
        set("services.cart.versions", json!({ "v1": { "replicas": 2 }, "v2": { "replicas": 1 } })),
    ]
}

fn with_versions(more: Vec<Edit>) -> Vec<Edit> {
    let mut all: Vec<Edit> = versioned().into_iter().collect();
    all.extend(more);
    all
}

fn rollout(analysis: Value) -> Edit {
    set(
        "rollouts",
        json!([{ "service": "cart", "primary": "v1", "canary": "v2", "start": "2s", "analysis": analysis }]),
    )
}

macro_rules! rejected_traffic {
    ($($name:ident: [$($edit:expr),* $(,)?] => $path:expr, $fragment:expr;)+) => {
        $(
            #[test]
            fn $name() {
                assert_rejected(&with_versions(vec![$($edit),*]), $path, $fragment);
            }
        )+
    };
}

rejected_traffic! {
    versions_with_service_replicas_are_rejected:
        [set("services.cart.replicas", json!(2))]
        => "services.cart.replicas", "instances in each version when the service has versions";
    version_overriding_an_unknown_endpoint_is_rejected:
        [set("services.cart.versions.v2.endpoints", json!({ "viwe": { "errorRate": 5 } }))]
        => "services.cart.versions.v2.endpoints.viwe", "a known endpoint of the service, found \"viwe\"";
    version_with_a_bad_error_rate_is_rejected:
        [set("services.cart.versions.v2.endpoints", json!({ "view": { "errorRate": 101 } }))]
        => "services.cart.versions.v2.endpoints.view.errorRate", "a percentage from 0 to 100, found 101";
    route_to_an_unknown_subset_is_rejected:
        [set("services.cart.routing", json!({ "http": [ { "route": [ { "subset": "v3" } ] } ] }))]
        => "services.cart.routing.http[0].route[0].subset", "a known version of cart, found \"v3\"";
    route_weights_not_adding_up_to_100_are_rejected:
        [set("services.cart.routing", json!({ "http": [ { "route": [
            { "subset": "v1", "weight": 90 }, { "subset": "v2", "weight": 20 } ] } ] }))]
        => "services.cart.routing.http[0].route", "weights that add up to 100, found 110";
    a_weight_missing_among_several_destinations_is_rejected:
        [set("services.cart.routing", json!({ "http": [ { "route": [
            { "subset": "v1", "weight": 100 }, { "subset": "v2" } ] } ] }))]
        => "services.cart.routing.http[0].route[1].weight", "a weight for each of several destinations";
    header_match_on_a_header_no_user_sends_is_rejected:
        [set("services.cart.routing", json!({ "http": [ { "match": [ { "headers": { "x-user-group": { "exact": "beta" } } } ],
            "route": [ { "subset": "v2" } ] } ] }))]
        => "services.cart.routing.http[0].match[0].headers.x-user-group", "a known header set in workload.headers";
    string_match_with_exact_and_prefix_is_rejected:
        [set("workload.headers", json!({ "x-user-group": { "beta": 5, "default": 95 } })),
         set("services.cart.routing", json!({ "http": [ { "match": [ { "headers": { "x-user-group": { "exact": "beta", "prefix": "b" } } } ],
            "route": [ { "subset": "v2" } ] } ] }))]
        => "services.cart.routing.http[0].match[0].headers.x-user-group", "exactly one of \"exact\" and \"prefix\"";
    header_shares_not_adding_up_to_100_are_rejected:
        [set("workload.headers", json!({ "x-user-group": { "beta": 5, "default": 90 } }))]
        => "workload.headers.x-user-group", "percents of users that add up to 100, found 95";
    match_on_an_unknown_endpoint_is_rejected:
        [set("services.cart.routing", json!({ "http": [ { "match": [ { "endpoint": "add" } ], "route": [ { "subset": "v2" } ] } ] }))]
        => "services.cart.routing.http[0].match[0].endpoint", "a known endpoint of cart, found \"add\"";
    mirror_percentage_without_a_mirror_is_rejected:
        [set("services.cart.routing", json!({ "http": [ { "route": [ { "subset": "v1" } ], "mirrorPercentage": 10 } ] }))]
        => "services.cart.routing.http[0].mirrorPercentage", "a mirror for mirrorPercentage";
    rollout_of_an_unknown_version_is_rejected:
        [set("rollouts", json!([{ "service": "cart", "primary": "v1", "canary": "v9", "start": "2s", "analysis": { "stepWeight": 10 } }]))]
        => "rollouts[0].canary", "a known version of cart, found \"v9\"";
    rollout_onto_its_own_primary_is_rejected:
        [set("rollouts", json!([{ "service": "cart", "primary": "v1", "canary": "v1", "start": "2s", "analysis": { "stepWeight": 10 } }]))]
        => "rollouts[0].canary", "a canary version other than the primary";
    canary_rollout_without_step_weights_is_rejected:
        [rollout(json!({ "maxWeight": 50 }))]
        => "rollouts[0].analysis.stepWeight", "a stepWeight or stepWeights for a canary strategy";
    blue_green_rollout_with_a_step_weight_is_rejected:
        [set("rollouts", json!([{ "service": "cart", "primary": "v1", "canary": "v2", "start": "2s", "strategy": "blueGreen",
            "analysis": { "iterations": 3, "stepWeight": 10 } }]))]
        => "rollouts[0].analysis.stepWeight", "stepWeight with the canary strategy only";
    rollout_step_weight_over_100_is_rejected:
        [rollout(json!({ "stepWeight": 120 }))]
        => "rollouts[0].analysis.stepWeight", "a weight from 1 to 100, found 120";
    rollout_with_an_unknown_metric_is_rejected:
        [rollout(json!({ "stepWeight": 10, "metrics": [ { "name": "error-rate", "thresholdRange": { "max": 1 } } ] }))]
        => "rollouts[0].analysis.metrics[0].name", "a built-in metric (request-success-rate, request-duration), found \"error-rate\"";
    rollout_with_a_bad_latency_threshold_is_rejected:
        [rollout(json!({ "stepWeight": 10, "metrics": [ { "name": "request-duration", "thresholdRange": { "max": "fast" } } ] }))]
        => "rollouts[0].analysis.metrics[0].thresholdRange.max", "a number of milliseconds or a duration string";
    rollout_of_a_service_with_a_catch_all_rule_is_rejected:
        [set("services.cart.routing", json!({ "http": [ { "route": [ { "subset": "v1" } ] } ] })),
         rollout(json!({ "stepWeight": 10 }))]
        => "services.cart.routing.http[0].match", "a match in every rule of a service with a rollout";
    two_rollouts_of_one_service_are_rejected:
        [set("rollouts", json!([
            { "service": "cart", "primary": "v1", "canary": "v2", "start": "2s", "analysis": { "stepWeight": 10 } },
            { "service": "cart", "primary": "v2", "canary": "v1", "start": "5s", "analysis": { "stepWeight": 10 } }]))]
        => "rollouts[1].service", "one rollout per service, cart has two";
}

fn seed_scenario(which: usize) -> (&'static str, Value) {
    if let Some(&(name, text)) = BUNDLED.get(which) {
        return (name, serde_json::from_str(text).expect("a bundled scenario is JSON"));
    }
    let mut v: Value = serde_json::from_str(BASE).expect("the base scenario is JSON");
    if which == BUNDLED.len() {
        return (FILE, v);
    }
    let workload = v["workload"].as_object_mut().expect("an object");
    workload.shift_remove("arrivals");
    workload.insert("users".into(), json!({ "count": 20, "thinkTime": { "type": "exponential", "mean": "50ms" } }));
    ("shop-users.json", v)
}

/// Requests per run of a mutated scenario: enough to exercise every route, few enough to
/// keep hundreds of runs quick.
const RUN_REQUESTS: u64 = 200;

/// Bytes that make up JSON, for splicing into a file.
const JSON_BYTES: &[u8] = br#"{}[]":,0123456789.-+eE truefalsn"#;

#[derive(Clone, Debug)]
enum Mutation {
    /// Replace any node (the whole file included) with a value.
    Replace(Index, Value),
    /// Replace a number, string or bool with another of the same kind, so the file
    /// often still parses and the value reaches validation and the simulator.
    Tweak(Index, Index),
    /// Delete a member of an object.
    Delete(Index),
    /// Insert a copy of an array element after it.
    Duplicate(Index),
    /// Give a member of an object another key, keeping its place.
    Rename(Index, String),
}

/// Where a node sits: its JSON pointer and, for members and elements, its parent and
/// its key or index there.
struct Node {
    pointer: String,
    parent: Option<(String, Place)>,
}

enum Place {
    Key(String),
    Index(usize),
}

fn nodes(v: &Value, pointer: String, parent: Option<(String, Place)>, out: &mut Vec<Node>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                nodes(child, p, Some((pointer.clone(), Place::Key(k.clone()))), out);
            }
        }
        Value::Array(list) => {
            for (i, child) in list.iter().enumerate() {
                nodes(child, format!("{pointer}/{i}"), Some((pointer.clone(), Place::Index(i))), out);
            }
        }
        _ => {}
    }
    out.push(Node { pointer, parent });
}

fn mutate(v: &mut Value, m: &Mutation) {
    let mut all = Vec::new();
    nodes(v, String::new(), None, &mut all);
    let members: Vec<&Node> = all.iter().filter(|n| matches!(n.parent, Some((_, Place::Key(_))))).collect();
    let elements: Vec<&Node> = all.iter().filter(|n| matches!(n.parent, Some((_, Place::Index(_))))).collect();
    match m {
        Mutation::Replace(i, with) => {
            let n = &all[i.index(all.len())];
            *v.pointer_mut(&n.pointer).expect("a node") = with.clone();
        }
        Mutation::Tweak(i, choice) => {
            let leaves: Vec<&Node> = all
                .iter()
                .filter(|n| {
                    let leaf = v.pointer(&n.pointer).expect("a node");
                    leaf.is_number() || leaf.is_string() || leaf.is_boolean()
                })
                .collect();
            if leaves.is_empty() {
                return;
            }
            let leaf = v.pointer_mut(&leaves[i.index(leaves.len())].pointer).expect("a node");
            *leaf = match leaf {
                Value::Number(_) => choice.get(&numbers()).clone(),
                Value::String(_) => json!(choice.get(STRINGS)),
                Value::Bool(b) => json!(!*b),
                _ => unreachable!("a leaf"),
            };
        }
        Mutation::Delete(i) if !members.is_empty() => {
            let Some((parent, Place::Key(k))) = &members[i.index(members.len())].parent else { unreachable!() };
            v.pointer_mut(parent).and_then(Value::as_object_mut).expect("an object").shift_remove(k);
        }
        Mutation::Duplicate(i) if !elements.is_empty() => {
            let Some((parent, Place::Index(k))) = &elements[i.index(elements.len())].parent else { unreachable!() };
            let list = v.pointer_mut(parent).and_then(Value::as_array_mut).expect("an array");
            let copy = list[*k].clone();
            list.insert(*k + 1, copy);
        }
        Mutation::Rename(i, to) if !members.is_empty() => {
            let Some((parent, Place::Key(k))) = &members[i.index(members.len())].parent else { unreachable!() };
            let map = v.pointer_mut(parent).and_then(Value::as_object_mut).expect("an object");
            let at = map.keys().position(|x| x == k).expect("a member");
            let value = map.shift_remove(k).expect("a member");
            // Renaming onto an existing key replaces that member.
            map.shift_remove(to.as_str());
            map.shift_insert(at.min(map.len()), to.clone(), value);
        }
        _ => {}
    }
}

/// Numbers at and beyond the edges of the types and ranges in the format. Counts just
/// below u32::MAX are left out on purpose: the loader accepts `"replicas": 4294967295` and
/// then aborts the whole test binary allocating 240 GB of instances.
fn numbers() -> Vec<Value> {
    vec![
        json!(0),
        json!(1),
        json!(2),
        json!(3),
        json!(7),
        json!(100),
        json!(101),
        json!(599),
        json!(600),
        json!(1000),
        json!(-1),
        json!(4_294_967_296_u64),
        json!(1_000_000_000_000_u64),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(0.0),
        json!(0.5),
        json!(1.5),
        json!(0.01),
        json!(-0.5),
        json!(1e300),
        json!(-1e300),
        json!(1e-300),
    ]
}

/// Durations (good, zero, negative, unitless, out of range) and names the format knows.
/// Valid durations stop at an hour: a think time or latency of years, in a run stopped by
/// its request count, is a legitimately long simulation (hundreds of millions of empty
/// one-second windows) and would take minutes.
const STRINGS: &[&str] = &[
    "0s",
    "-1ms",
    "1e30s",
    "9999999h",
    "250",
    "1.5s",
    "2m",
    "10ms",
    "1h",
    "",
    " ",
    "ms",
    "1..5s",
    ".s",
    "NaNs",
    "zone-a",
    "za",
    "default",
    "catalog",
    "station",
    "work",
    "get",
    "browse",
    "gateway",
    "GET",
    "get",
    "/catalog",
    "/",
    "round-robin",
    "ring-hash",
    "peak-ewma",
    "exponential",
    "constant",
    "empirical",
    "lifo",
    "parallel",
    "poisson",
];

/// Keys of the format, so renames often make a different valid-looking file.
const KEYS: &[&str] = &[
    "name",
    "description",
    "seed",
    "run",
    "duration",
    "requests",
    "warmup",
    "drainTimeout",
    "eventsMax",
    "inFlightMax",
    "metrics",
    "interval",
    "network",
    "latency",
    "loss",
    "links",
    "between",
    "gateway",
    "zone",
    "routes",
    "match",
    "method",
    "pathPrefix",
    "destination",
    "service",
    "endpoint",
    "services",
    "replicas",
    "zones",
    "instances",
    "workers",
    "weight",
    "slowdown",
    "queue",
    "capacity",
    "discipline",
    "holdWorkerDuringCalls",
    "endpoints",
    "serviceTime",
    "errorRate",
    "errorStatus",
    "calls",
    "callsMode",
    "dependencyFailureStatus",
    "probability",
    "required",
    "policies",
    "default",
    "overrides",
    "source",
    "timeout",
    "loadBalancer",
    "type",
    "minimumRingSize",
    "decay",
    "defaultRtt",
    "workload",
    "arrivals",
    "users",
    "count",
    "thinkTime",
    "mix",
    "route",
    "path",
    "clients",
    "process",
    "rate",
    "startRate",
    "stages",
    "target",
    "mean",
    "stddev",
    "min",
    "max",
    "value",
    "scale",
    "shape",
    "k",
    "samples",
];

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(numbers()),
        (-3i64..=12).prop_map(|n| json!(n)),
        prop::sample::select(STRINGS).prop_map(|s| json!(s)),
        "[a-z0-9./ -]{0,8}".prop_map(Value::String),
        Just(json!([])),
        Just(json!({})),
        Just(json!(["za", "za"])),
        Just(json!({ "type": "exponential", "mean": "1ms" })),
        Just(json!({ "type": "uniform", "min": "5ms", "max": "1ms" })),
        Just(json!({ "type": "pareto", "scale": "1ms", "shape": 1e-300 })),
        Just(json!({ "type": "ring-hash", "minimumRingSize": 1 })),
        Just(json!({ "service": "station", "endpoint": "work" })),
    ]
}

/// A key of the format or a random word.
fn new_key() -> impl Strategy<Value = String> {
    prop_oneof![prop::sample::select(KEYS).prop_map(String::from), "[a-zA-Z]{0,6}",]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), any_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(i, c)| Mutation::Tweak(i, c)),
        1 => any::<Index>().prop_map(Mutation::Delete),
        1 => any::<Index>().prop_map(Mutation::Duplicate),
        1 => (any::<Index>(), new_key()).prop_map(|(i, k)| Mutation::Rename(i, k)),
    ]
}

/// Loads `text`; if it loads, runs it briefly and checks the run accounts for every
/// measured request. Panics (the failure proptest reports) on any broken property.
fn load_and_maybe_run(text: &str, file: &str) {
    let sc = match meshsim::load_str(text, file) {
        Ok(sc) => sc,
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with(&format!("{file}: ")), "message without the file name: {shown}");
            return;
        }
    };
    let opts = RunOptions { requests: Some(RUN_REQUESTS), ..RunOptions::default() };
    let Ok(r) = meshsim::run(&sc, &opts, Hooks::default()) else {
        return;
    };
    assert!(r.requests <= RUN_REQUESTS, "{} requests issued, limit {RUN_REQUESTS}", r.requests);
    assert!(r.requests_measured <= r.requests);
    assert_eq!(
        r.total.counts.total() + r.in_flight_measured,
        r.requests_measured,
        "every measured request is answered or still in flight (stop: {:?})",
        r.stop
    );
    if r.stop == Stop::Completed {
        assert_eq!(r.in_flight_measured, 0, "a completed run has nothing in flight");
    }
}

#[test]
fn unmutated_seed_scenarios_load_and_run() {
    for which in 0..BUNDLED.len() + 2 {
        let (name, v) = seed_scenario(which);
        meshsim::load_str(&v.to_string(), name).unwrap_or_else(|e| panic!("{e}"));
        load_and_maybe_run(&v.to_string(), name);
    }
}

#[test]
fn closed_loop_run_ends_at_its_duration_whatever_the_think_time() {
    // Users who think for an hour in a 10 s run: arrivals stop at 10 s, and with nothing in
    // flight the run is over; it must not wait an hour for users who will send nothing.
    let (name, mut v) = seed_scenario(BUNDLED.len() + 1);
    v["workload"]["users"]["thinkTime"] = json!("1h");
    let sc = meshsim::load_str(&v.to_string(), name).unwrap_or_else(|e| panic!("{e}"));
    let mut ts = Vec::new();
    let hooks = Hooks { timeseries: Some(&mut ts), ..Hooks::default() };
    let r = meshsim::run(&sc, &RunOptions::default(), hooks).expect("runs in memory");
    assert_eq!(r.stop, Stop::Completed);
    assert_eq!(r.arrivals_end.as_secs_f64(), 10.0);
    assert!(r.end.as_secs_f64() <= 10.0, "the run ended at {}, after its 10 s duration", r.end);
    let windows_after_the_end = String::from_utf8(ts)
        .expect("CSV is UTF-8")
        .lines()
        .skip(1)
        .filter(|row| row.split(',').nth(1).and_then(|end| end.parse::<f64>().ok()).is_some_and(|end| end > 10.0))
        .count();
    assert_eq!(windows_after_the_end, 0, "time-series rows after the run's 10 s duration");
}

proptest! {
    // Most mutations are rejected on loading; four times the usual cases give a few
    // hundred runs of mutated scenarios, in well under a second.
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn mutated_scenarios_load_or_fail_cleanly_and_runs_account_for_every_request(
        which in 0..BUNDLED.len() + 2,
        mutations in prop::collection::vec(mutation(), 1..=2),
    ) {
        let (name, mut v) = seed_scenario(which);
        for m in &mutations {
            mutate(&mut v, m);
        }
        load_and_maybe_run(&v.to_string(), name);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn truncated_bundled_scenarios_are_syntax_errors(
        which in 0..BUNDLED.len(),
        cut in any::<Index>(),
    ) {
        let (name, text) = BUNDLED[which];
        let text = text.trim_end();
        // Every bundled file is ASCII, so any byte offset is a character boundary.
        let truncated = &text[..cut.index(text.len())];
        match meshsim::load_str(truncated, name) {
            Err(ScenarioError::Syntax { file, line, .. }) => {
                prop_assert_eq!(file, name);
                prop_assert!(line <= truncated.split('\n').count());
            }
            Err(e) => prop_assert!(false, "expected a syntax error, got: {}", e),
            Ok(_) => prop_assert!(false, "a truncated file loaded"),
        }
    }

    #[test]
    fn random_bytes_never_panic_the_loader(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        let err = meshsim::load_str(&text, "noise.json").err();
        prop_assert!(err.is_some_and(|e| e.to_string().starts_with("noise.json: ")));
    }

    #[test]
    fn bundled_scenarios_with_spliced_bytes_never_panic(
        which in 0..BUNDLED.len(),
        at in any::<Index>(),
        len in 0usize..12,
        splice in prop::collection::vec(prop::sample::select(JSON_BYTES.to_vec()), 0..12),
    ) {
        let (name, text) = BUNDLED[which];
        let mut bytes = text.as_bytes().to_vec();
        let start = at.index(bytes.len());
        let end = (start + len).min(bytes.len());
        bytes.splice(start..end, splice);
        let text = String::from_utf8(bytes).expect("ASCII spliced into ASCII");
        load_and_maybe_run(&text, name);
    }
}

rejected! {
    // Mesh security.
    a_service_account_needs_a_security_block:
        [set("services.cart.serviceAccount", json!("cart-sa"))]
        => "services.cart.serviceAccount", "a top-level \"security\" block";
    an_unknown_mtls_mode_is_rejected:
        [set("security", json!({ "mtls": { "mode": "STRICTLY" } }))]
        => "security.mtls.mode", "unknown variant `STRICTLY`, expected one of `STRICT`, `PERMISSIVE`, `DISABLE`, `UNSET`";
    unset_is_no_mesh_wide_mode:
        [set("security", json!({ "mtls": { "mode": "UNSET" } }))]
        => "security.mtls.mode", "STRICT, PERMISSIVE or DISABLE";
    a_service_account_is_a_dns_name:
        [set("security", json!({})), set("services.cart.serviceAccount", json!("Cart SA"))]
        => "services.cart.serviceAccount", "a service account name of lower-case letters";
    a_trust_domain_has_no_slash:
        [set("security", json!({ "trustDomain": "a/b" }))]
        => "security.trustDomain", "a trust domain without '/'";
    a_destination_rule_names_a_known_host:
        [set("security", json!({ "destinationRules": [{ "host": "billing", "tls": { "mode": "DISABLE" } }] }))]
        => "security.destinationRules[0].host", "a known service, found \"billing\"";
    a_destination_rule_names_a_known_caller:
        [set("security", json!({ "destinationRules": [{ "host": "cart", "from": "billing", "tls": { "mode": "DISABLE" } }] }))]
        => "security.destinationRules[0].from", "a known caller, found \"billing\"";
    simple_tls_is_not_modelled:
        [set("security", json!({ "destinationRules": [{ "host": "cart", "tls": { "mode": "SIMPLE" } }] }))]
        => "security.destinationRules[0].tls.mode", "unknown variant `SIMPLE`";
    a_zero_certificate_ttl_is_rejected:
        [set("security", json!({ "certificates": { "ttl": "0s" } }))]
        => "security.certificates.ttl", "a duration greater than zero";
    a_grace_period_ratio_is_a_percentage:
        [set("security", json!({ "certificates": { "gracePeriodRatio": 150 } }))]
        => "security.certificates.gracePeriodRatio", "a percentage from 0 to 100, found 150";
    a_zero_idle_timeout_is_rejected:
        [set("security", json!({ "connectionPool": { "idleTimeout": "0s" } }))]
        => "security.connectionPool.idleTimeout", "a duration greater than zero";
    an_authorization_policy_names_a_known_service:
        [set("security", json!({ "authorization": [{ "name": "p", "service": "billing" }] }))]
        => "security.authorization[0].service", "a known service, found \"billing\"";
    authorization_policy_names_are_unique:
        [set("security", json!({ "authorization": [{ "name": "p" }, { "name": "p" }] }))]
        => "security.authorization[1].name", "a name no other policy has";
    custom_actions_are_not_modelled:
        [set("security", json!({ "authorization": [{ "name": "p", "action": "CUSTOM" }] }))]
        => "security.authorization[0].action", "unknown variant `CUSTOM`, expected `ALLOW` or `DENY`";
    a_principal_pattern_has_one_wildcard_at_an_end:
        [set("security", json!({ "authorization": [{ "name": "p",
            "rules": [{ "from": [{ "source": { "principals": ["cluster.local/*/sa/*"] } }] }] }] }))]
        => "security.authorization[0].rules[0].from[0].source.principals[0]", "an exact value, \"prefix*\"";
    an_empty_source_is_rejected:
        [set("security", json!({ "authorization": [{ "name": "p", "rules": [{ "from": [{ "source": {} }] }] }] }))]
        => "security.authorization[0].rules[0].from[0].source", "at least one of principals";
    an_operation_method_is_an_http_method:
        [set("security", json!({ "authorization": [{ "name": "p",
            "rules": [{ "to": [{ "operation": { "methods": ["get"] } }] }] }] }))]
        => "security.authorization[0].rules[0].to[0].operation.methods[0]", "an HTTP method in capitals";
    an_endpoint_method_is_an_http_method:
        [set("services.cart.endpoints.view.method", json!("FETCH"))]
        => "services.cart.endpoints.view.method", "an HTTP method in capitals";
    a_ca_outage_needs_a_security_block:
        [set("faults", json!([{ "kind": "ca-outage", "start": "1s" }]))]
        => "faults[0].kind", "a top-level \"security\" block";
    a_ca_outage_takes_no_target:
        [set("security", json!({})),
         set("faults", json!([{ "kind": "ca-outage", "target": { "service": "cart" }, "start": "1s" }]))]
        => "faults[0].target", "no target: a ca-outage fault hits the CA";
    an_authz_policy_fault_needs_its_policy:
        [set("security", json!({})), set("faults", json!([{ "kind": "authz-policy", "start": "1s" }]))]
        => "faults[0].policy", "\"policy\", the AuthorizationPolicy";
    an_authz_policy_fault_checks_its_policy:
        [set("security", json!({})),
         set("faults", json!([{ "kind": "authz-policy", "start": "1s", "policy": { "name": "p", "service": "billing" } }]))]
        => "faults[0].policy.service", "a known service, found \"billing\"";
    only_authz_policy_faults_take_a_policy:
        [set("faults", json!([{ "kind": "slowdown", "target": { "service": "cart" }, "factor": 2, "start": "1s",
            "policy": { "name": "p" } }]))]
        => "faults[0].policy", "a parameter of a slowdown fault (factor), found \"policy\"";
}

// Objects whose `type` picks their shape (distributions, backoffs, budgets, balancers,
// fallbacks, registries, limiters, shedders, bulkheads) are read as tagged enums: an
// error names the field's own path, the type and what it takes or requires.
rejected! {
    a_field_the_distribution_type_does_not_take_names_the_type_and_what_it_takes:
        [set("services.catalog.endpoints.get.serviceTime.min", json!("1ms"))]
        => "services.catalog.endpoints.get.serviceTime.min",
           "a parameter of a exponential distribution (mean), found \"min\"";
    a_field_no_distribution_takes_names_the_type_too:
        [set("services.catalog.endpoints.get.serviceTime.bogus", json!(1))]
        => "services.catalog.endpoints.get.serviceTime.bogus",
           "a parameter of a exponential distribution (mean), found \"bogus\"";
    a_missing_distribution_parameter_names_the_parameter:
        [remove("services.catalog.endpoints.get.serviceTime.mean")]
        => "services.catalog.endpoints.get.serviceTime.mean", "\"mean\", which a exponential distribution requires";
    a_missing_distribution_type_names_the_object:
        [remove("services.catalog.endpoints.get.serviceTime.type")]
        => "services.catalog.endpoints.get.serviceTime", "missing field `type`";
    a_distribution_type_that_is_not_a_string_names_the_type_field:
        [set("services.catalog.endpoints.get.serviceTime.type", json!(5))]
        => "services.catalog.endpoints.get.serviceTime.type", "invalid type: integer `5`, expected a string";
    a_whole_parameter_refuses_a_float_even_an_integer_valued_one:
        [set("services.catalog.endpoints.get.serviceTime", json!({ "type": "erlang", "k": 3.0, "mean": "2ms" }))]
        => "services.catalog.endpoints.get.serviceTime.k", "invalid type: floating point `3.0`, expected u32";
    a_whole_parameter_refuses_a_negative_number:
        [set("services.catalog.endpoints.get.serviceTime", json!({ "type": "erlang", "k": -1, "mean": "2ms" }))]
        => "services.catalog.endpoints.get.serviceTime.k", "invalid value: integer `-1`, expected u32";
    a_duplicate_field_in_a_tagged_object_is_rejected:
        [text("\"mean\": \"2ms\"", "\"mean\": \"2ms\", \"mean\": \"3ms\"")]
        => "services.catalog.endpoints.get.serviceTime", "duplicate field `mean`";
    a_duplicate_type_in_a_tagged_object_is_rejected:
        [text("\"type\": \"exponential\",", "\"type\": \"exponential\", \"type\": \"normal\",")]
        => "network.links[0].latency", "duplicate field `type`";
    an_error_in_a_sample_names_its_index:
        [set("services.catalog.endpoints.get.serviceTime", json!({ "type": "empirical", "samples": ["1ms", 5] }))]
        => "services.catalog.endpoints.get.serviceTime.samples[1]", "invalid type: integer `5`";
    an_error_in_a_distribution_inside_a_registry_keeps_both_paths:
        [set("discovery", json!({ "mode": "client",
            "registry": { "type": "consul", "latency": { "type": "exponential", "mean": "2" } } }))]
        => "discovery.registry.latency.mean", "(no unit)";
    a_field_a_distribution_inside_a_registry_does_not_take_keeps_both_paths:
        [set("discovery", json!({ "mode": "client",
            "registry": { "type": "consul", "latency": { "type": "exponential", "mean": "2ms", "k": 2 } } }))]
        => "discovery.registry.latency.k", "a parameter of a exponential distribution (mean), found \"k\"";
    a_field_the_registry_type_does_not_take_names_the_registry:
        [set("discovery", json!({ "mode": "client", "registry": { "type": "registrar", "ttl": "10s" } }))]
        => "discovery.registry.ttl", "a parameter of the registrar registry (zone, latency, readTimeout), found \"ttl\"";
    a_field_the_backoff_type_does_not_take_names_the_backoff:
        [set("policies.default.retry", json!({ "backoff": { "type": "constant", "base": "10ms", "cap": "1s" } }))]
        => "policies.default.retry.backoff.cap", "a parameter of the constant backoff (base), found \"cap\"";
    a_missing_backoff_parameter_names_the_parameter:
        [set("policies.default.retry", json!({ "backoff": { "type": "grpc", "initial": "10ms", "multiplier": 2 } }))]
        => "policies.default.retry.backoff.max", "\"max\", which the grpc backoff requires";
    a_unit_budget_takes_no_parameter:
        [set("policies.default.retry", json!({ "budget": { "type": "unlimited", "maxRetries": 3 } }))]
        => "policies.default.retry.budget.maxRetries", "a parameter of the unlimited budget (none), found \"maxRetries\"";
    a_field_the_limiter_type_does_not_take_names_the_limiter:
        [set("gateway.rateLimit", json!({ "type": "token-bucket", "capacity": 10, "refillPerSecond": 5, "limitForPeriod": 3 }))]
        => "gateway.rateLimit.limitForPeriod",
           "a parameter of the token-bucket limiter (capacity, refillPerSecond, maxWait, scope), found \"limitForPeriod\"";
    a_field_the_bulkhead_type_does_not_take_names_the_bulkhead:
        [set("policies.default.bulkhead", json!({ "type": "semaphore", "maxConnections": 3 }))]
        => "policies.default.bulkhead.maxConnections",
           "a parameter of the semaphore bulkhead (maxConcurrentCalls, maxWaitDuration), found \"maxConnections\"";
}

/// Numbers inside a tagged object are accepted exactly as before: a float parameter takes
/// an integer (`2` and `2.0` give the same model), a whole one takes only integers.
#[test]
fn numbers_in_tagged_objects_parse_as_before() {
    let model = |edits: &[Edit]| {
        let sc = meshsim::load_str(&edited(edits), FILE).unwrap_or_else(|e| panic!("{e}"));
        format!("{:?}", (&sc.endpoints, &sc.policies, &sc.gateway, &sc.services))
    };
    let pareto = |shape: Value| {
        set("services.catalog.endpoints.get.serviceTime", json!({ "type": "pareto", "scale": "1ms", "shape": shape }))
    };
    assert_eq!(model(&[pareto(json!(2))]), model(&[pareto(json!(2.0))]));
    let limiter = |capacity: Value, rate: Value| {
        set("gateway.rateLimit", json!({ "type": "token-bucket", "capacity": capacity, "refillPerSecond": rate }))
    };
    assert_eq!(model(&[limiter(json!(10), json!(5))]), model(&[limiter(json!(10.0), json!(5.0))]));
    let budget = |ratio: Value| {
        set("policies.default.retry", json!({ "budget": { "type": "grpc", "maxTokens": 10, "tokenRatio": ratio } }))
    };
    assert_eq!(model(&[budget(json!(1))]), model(&[budget(json!(1.0))]));
    // The order of the fields, the tag among them, changes nothing.
    let ordered = set("services.catalog.endpoints.get.serviceTime", json!({ "mean": "2ms", "type": "exponential" }));
    assert_eq!(model(&[ordered]), model(&[]));
}

// A breaker's `semantics` picks its parameters; without it, Resilience4j's.
rejected! {
    a_field_the_breaker_semantics_does_not_take_names_the_breaker:
        [set("policies.default.circuitBreaker", json!({ "semantics": "consecutive", "sleepWindow": "5s" }))]
        => "policies.default.circuitBreaker.sleepWindow",
           "a parameter of the consecutive breaker (failureThreshold, recoveryTimeout, scope, failureOn), found \"sleepWindow\"";
    a_breaker_without_semantics_takes_resilience4j_parameters:
        [set("policies.default.circuitBreaker", json!({ "failureThreshold": 5 }))]
        => "policies.default.circuitBreaker.failureThreshold", "the resilience4j breaker";
    an_unknown_breaker_semantics_names_the_semantics_field:
        [set("policies.default.circuitBreaker", json!({ "semantics": "polly" }))]
        => "policies.default.circuitBreaker.semantics", "unknown variant `polly`";
}

// A lifecycle entry's `action` picks its fields.
rejected! {
    a_field_the_lifecycle_action_does_not_take_names_the_action:
        [set("lifecycle", json!([{ "at": "1s", "action": "crash", "instance": "cart-0", "replicas": 2 }]))]
        => "lifecycle[0].replicas", "a parameter of the crash action (at, instance), found \"replicas\"";
    a_missing_lifecycle_field_names_the_field_and_the_action:
        [set("lifecycle", json!([{ "at": "1s", "action": "scale", "service": "cart" }]))]
        => "lifecycle[0].replicas", "\"replicas\", which the scale action requires";
}
