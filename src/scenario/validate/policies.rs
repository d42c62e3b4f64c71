//! The policies table: defaults, then overrides by specificity, per caller and
//! destination; and the control-plane pushes (`configChanges`) that change call settings
//! during a run.

use super::cx::*;
use super::retries::{budget, hedging, retry};
use super::{balancer::balancer, breaker::breaker, fallback::fallback, limits::bulkhead, locality, outlier::outlier};
use crate::dist::Dist;
use crate::model::*;
use crate::scenario::raw;
use crate::time::{SimDuration, SimTime};
use indexmap::IndexMap;

/// What policies refer to: the services and endpoints, by name and by id.
#[derive(Clone, Copy)]
pub(super) struct GraphRef<'a> {
    pub service_ids: &'a IndexMap<&'a str, ServiceId>,
    pub endpoint_ids: &'a IndexMap<(&'a str, &'a str), EndpointId>,
    pub services: &'a [Service],
    pub endpoints: &'a [Endpoint],
}

/// Control-plane pushes: each applies call-level overrides (timeout, retry, hedging,
/// fallback, deadline propagation) on top of the policies before it. Settings that live
/// in a proxy's state (balancer, breaker, bulkhead, outlier detection, retry budget) and
/// fallbacks to another service (which need a proxy of their own) cannot change.
// A little over 80 lines: each push applies its overrides to a copy of the call table
// and its route weights, in issue order.
pub(super) fn config_changes(
    cx: &mut Cx,
    specs: &[raw::ConfigChangeSpec],
    routes: &[Route],
    policies: &Policies,
    g: &GraphRef,
) -> Vec<ConfigChange> {
    let GraphRef { service_ids, endpoint_ids, services, endpoints: endpoint_defs } = *g;
    let mut table = policies.call.clone();
    let endpoint_count = endpoint_defs.len();
    let callers = 1 + services.len();
    let mut out = Vec::new();
    let mut last = SimTime::ZERO;
    for (i, c) in specs.iter().enumerate() {
        let root = format!("configChanges[{i}]");
        let at = SimTime::ZERO + c.at.0;
        if at < last {
            cx.err(format!("{root}.at"), format!("changes in time order: at or after {last}, found {at}"));
        }
        last = at;
        let propagation = c
            .propagation
            .as_ref()
            .map_or(Dist::Constant(SimDuration::ZERO), |d| cx.dist(&format!("{root}.propagation"), d));
        let order = by_specificity(&c.overrides);
        for k in order {
            let o = &c.overrides[k];
            let p = format!("{root}.overrides[{k}]");
            for (field, set) in [
                ("loadBalancer", o.load_balancer.is_some()),
                ("circuitBreaker", o.circuit_breaker.is_some()),
                ("bulkhead", o.bulkhead.is_some()),
                ("outlierDetection", o.outlier_detection.is_some()),
                ("localityLb", o.locality_lb.is_some()),
                ("retry.budget", o.retry.as_ref().is_some_and(|r| r.budget.is_some())),
            ] {
                if set {
                    cx.err(
                        format!("{p}.{field}"),
                        "only call settings (timeout, retry, hedging, fallback, deadlinePropagation) change during a run",
                    );
                }
            }
            let Some((_, caller_range, endpoints)) =
                override_targets(cx, &p, o, callers, service_ids, endpoint_ids, services)
            else {
                continue;
            };
            let call = CallSettings::parse(cx, &p, o, service_ids, endpoint_ids, endpoint_defs);
            if let Some(Some(Fallback::Service { .. })) = &call.fallback {
                cx.err(
                    format!("{p}.fallback"),
                    "a default-value, cache or queue fallback (a service fallback cannot be added during a run)",
                );
                continue;
            }
            for &caller in &caller_range {
                for &e in &endpoints {
                    call.apply(&mut table[caller * endpoint_count + e.idx()]);
                }
            }
        }
        let mut route_weights = vec![None; routes.len()];
        for (name, weights) in c.route_weights.iter() {
            let wp = format!("{root}.routeWeights.{name}");
            let Some(r) = routes.iter().position(|r| r.name == *name) else {
                cx.err(wp, unknown("route", name, routes.iter().map(|r| r.name.as_str())));
                continue;
            };
            let n = routes[r].split.len();
            if n == 0 {
                cx.err(wp, format!("a route with weighted destinations, but {name} has one destination"));
            } else if weights.len() != n {
                cx.err(wp, format!("{n} weights, one per destination of {name}, found {}", weights.len()));
            } else if weights.iter().all(|&w| w == 0) {
                cx.err(wp, "weights that add up to more than 0");
            } else {
                route_weights[r] = Some(weights.clone());
            }
        }
        out.push(ConfigChange { at, propagation, call: table.clone(), route_weights });
    }
    out
}

/// A destination-level setting of an override: `None` if the override does not set it;
/// `Some(built)` if it does, where `built` is `None` when the setting is invalid (or, for a
/// budget, `unlimited`). An override naming an endpoint cannot set it.
pub(super) fn per_destination<S, T>(
    cx: &mut Cx,
    p: &str,
    field: &str,
    what: &str,
    has_endpoint: bool,
    spec: Option<&S>,
    build: impl FnOnce(&mut Cx, &str, &S) -> Option<T>,
) -> Option<Option<T>> {
    let spec = spec?;
    if has_endpoint {
        cx.err(
            format!("{p}.{field}"),
            format!("{what} per destination service; remove \"endpoint\" or move it to its own override"),
        );
        return None;
    }
    Some(build(cx, &format!("{p}.{field}"), spec))
}

/// Overrides in the order they apply: least specific first (destination, then with an
/// endpoint, then with a source, then both); among equals, later in the file wins.
pub(super) fn by_specificity(overrides: &[raw::OverrideSpec]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..overrides.len()).collect();
    order.sort_by_key(|&i| {
        let o = &overrides[i];
        2 * usize::from(o.source.is_some()) + usize::from(o.endpoint.is_some())
    });
    order
}

/// The call-level settings of one override, validated: what it changes in each
/// `CallPolicy` it applies to.
pub(super) struct CallSettings {
    timeout: Option<SimDuration>,
    retry: Option<RetryPolicy>,
    hedging: Option<Option<HedgingPolicy>>,
    fallback: Option<Option<Fallback>>,
    deadline: Option<bool>,
}

impl CallSettings {
    fn parse(
        cx: &mut Cx,
        p: &str,
        o: &raw::OverrideSpec,
        service_ids: &IndexMap<&str, ServiceId>,
        endpoint_ids: &IndexMap<(&str, &str), EndpointId>,
        endpoint_defs: &[Endpoint],
    ) -> CallSettings {
        CallSettings {
            timeout: o.timeout.map(|t| cx.positive_duration(format!("{p}.timeout"), t.0)),
            retry: o.retry.as_ref().map(|r| retry(cx, &format!("{p}.retry"), r)),
            hedging: o.hedging.as_ref().map(|h| hedging(cx, &format!("{p}.hedging"), h)),
            fallback: o
                .fallback
                .as_ref()
                .map(|fb| fallback(cx, &format!("{p}.fallback"), fb, service_ids, endpoint_ids, endpoint_defs)),
            deadline: o.deadline_propagation,
        }
    }

    fn apply(&self, policy: &mut CallPolicy) {
        if let Some(t) = self.timeout {
            policy.timeout = Some(t);
        }
        if let Some(r) = &self.retry {
            policy.retry = Some(r.clone());
        }
        if let Some(fb) = &self.fallback {
            policy.fallback = fb.clone();
        }
        if let Some(h) = &self.hedging {
            policy.hedging = h.clone();
        }
        if let Some(pd) = self.deadline {
            policy.propagate_deadline = pd;
        }
    }
}

/// What an override applies to: its destination service, the callers (0 the gateway,
/// 1 + service id) and the endpoints; `None` (with the errors reported) if it names an
/// unknown service, caller or endpoint.
pub(super) fn override_targets(
    cx: &mut Cx,
    p: &str,
    o: &raw::OverrideSpec,
    callers: usize,
    service_ids: &IndexMap<&str, ServiceId>,
    endpoint_ids: &IndexMap<(&str, &str), EndpointId>,
    services: &[Service],
) -> Option<(ServiceId, Vec<usize>, Vec<EndpointId>)> {
    let Some(&dest) = service_ids.get(o.destination.as_str()) else {
        cx.err(format!("{p}.destination"), unknown("service", &o.destination, service_ids.keys().copied()));
        return None;
    };
    let caller_range: Vec<usize> = match o.source.as_deref() {
        None => (0..callers).collect(),
        Some("gateway") => vec![0],
        Some(s) => match service_ids.get(s) {
            Some(&sid) => vec![Caller::Service(sid).idx()],
            None => {
                let known = std::iter::once("gateway").chain(service_ids.keys().copied());
                cx.err(format!("{p}.source"), unknown("caller (\"gateway\" or a service)", s, known));
                return None;
            }
        },
    };
    let endpoints: Vec<EndpointId> = match &o.endpoint {
        None => services[dest.idx()].endpoints.clone(),
        Some(e) => match endpoint_ids.get(&(o.destination.as_str(), e.as_str())) {
            Some(&eid) => vec![eid],
            None => {
                let names = endpoint_ids.keys().filter(|(s, _)| *s == o.destination).map(|(_, e)| *e);
                cx.err(format!("{p}.endpoint"), unknown(&format!("endpoint of {}", o.destination), e, names));
                return None;
            }
        },
    };
    Some((dest, caller_range, endpoints))
}

// Long because every per-destination setting (balancer, budget, breaker, bulkhead,
// outlier detection, locality) follows the same default-then-overrides pattern, in
// issue order; a table of closures would hide which setting goes where.
pub(super) fn policies(cx: &mut Cx, spec: Option<&raw::PoliciesSpec>, g: &GraphRef, topology: &Topology) -> Policies {
    let GraphRef { service_ids, endpoint_ids, services, endpoints: endpoint_defs } = *g;
    let endpoint_count = endpoint_defs.len();
    let empty = raw::PoliciesSpec::default();
    let spec = spec.unwrap_or(&empty);
    let mut base = CallPolicy::default();
    let mut base_lb = BalancerConfig::RoundRobin;
    if let Some(d) = &spec.default {
        if let Some(t) = d.timeout {
            base.timeout = Some(cx.positive_duration("policies.default.timeout".into(), t.0));
        }
        if let Some(r) = &d.retry {
            base.retry = Some(retry(cx, "policies.default.retry", r));
        }
        if let Some(pd) = d.deadline_propagation {
            base.propagate_deadline = pd;
        }
        if let Some(h) = &d.hedging {
            base.hedging = hedging(cx, "policies.default.hedging", h);
        }
        if let Some(fb) = &d.fallback {
            base.fallback = fallback(cx, "policies.default.fallback", fb, service_ids, endpoint_ids, endpoint_defs);
        }
        if let Some(lb) = &d.load_balancer {
            base_lb = balancer(cx, "policies.default.loadBalancer", lb);
        }
    }
    let base_budget = spec
        .default
        .as_ref()
        .and_then(|d| d.retry.as_ref())
        .and_then(|r| r.budget.as_ref())
        .and_then(|b| budget(cx, "policies.default.retry.budget", b));
    let base_breaker = spec
        .default
        .as_ref()
        .and_then(|d| d.circuit_breaker.as_ref())
        .and_then(|b| breaker(cx, "policies.default.circuitBreaker", b));
    let base_bulkhead = spec
        .default
        .as_ref()
        .and_then(|d| d.bulkhead.as_ref())
        .and_then(|b| bulkhead(cx, "policies.default.bulkhead", b));
    let base_outlier = spec
        .default
        .as_ref()
        .and_then(|d| d.outlier_detection.as_ref())
        .and_then(|o| outlier(cx, "policies.default.outlierDetection", o));
    let base_locality = spec
        .default
        .as_ref()
        .and_then(|d| d.locality_lb.as_ref())
        .and_then(|l| locality::locality_lb(cx, "policies.default.localityLb", l, topology));
    let callers = 1 + services.len();
    // Where each pair's locality setting came from, for the outlier-detection check.
    let mut locality_from = vec!["policies.default.localityLb".to_string(); callers * services.len()];
    let mut localities = vec![base_locality; callers * services.len()];
    let mut outliers = vec![base_outlier; callers * services.len()];
    let mut breakers = vec![base_breaker; callers * services.len()];
    let mut bulkheads = vec![base_bulkhead; callers * services.len()];
    let mut call = vec![base; callers * endpoint_count];
    let mut lbs = vec![base_lb; callers * services.len()];
    let mut budgets = vec![base_budget; callers * services.len()];
    // Apply overrides from least to most specific; among equals, later in the file wins.
    let order = by_specificity(&spec.overrides);
    for i in order {
        let o = &spec.overrides[i];
        let p = format!("policies.overrides[{i}]");
        let Some((dest, caller_range, endpoints)) =
            override_targets(cx, &p, o, callers, service_ids, endpoint_ids, services)
        else {
            continue;
        };
        let settings = CallSettings::parse(cx, &p, o, service_ids, endpoint_ids, endpoint_defs);
        // Breakers, bulkheads, budgets and balancers live in a caller's proxy, one per
        // destination service, so an override that names an endpoint cannot set them.
        let has_endpoint = o.endpoint.is_some();
        let breaker_policy = per_destination(
            cx,
            &p,
            "circuitBreaker",
            "a circuit breaker",
            has_endpoint,
            o.circuit_breaker.as_ref(),
            breaker,
        );
        let bulkhead_policy =
            per_destination(cx, &p, "bulkhead", "a bulkhead", has_endpoint, o.bulkhead.as_ref(), bulkhead);
        let outlier_policy = per_destination(
            cx,
            &p,
            "outlierDetection",
            "outlier detection",
            has_endpoint,
            o.outlier_detection.as_ref(),
            outlier,
        );
        let locality_policy = per_destination(
            cx,
            &p,
            "localityLb",
            "locality load balancing",
            has_endpoint,
            o.locality_lb.as_ref(),
            |cx, path, spec| locality::locality_lb(cx, path, spec, topology),
        );
        let budget_spec = o.retry.as_ref().and_then(|r| r.budget.as_ref());
        let retry_budget = per_destination(cx, &p, "retry.budget", "a retry budget", has_endpoint, budget_spec, budget);
        let lb = per_destination(
            cx,
            &p,
            "loadBalancer",
            "a load balancer",
            has_endpoint,
            o.load_balancer.as_ref(),
            |cx, path, spec| Some(balancer(cx, path, spec)),
        );
        for &c in &caller_range {
            for &e in &endpoints {
                settings.apply(&mut call[c * endpoint_count + e.idx()]);
            }
            if let Some(Some(lb)) = &lb {
                lbs[c * services.len() + dest.idx()] = lb.clone();
            }
            if let Some(b) = retry_budget {
                budgets[c * services.len() + dest.idx()] = b;
            }
            if let Some(b) = &breaker_policy {
                breakers[c * services.len() + dest.idx()] = b.clone();
            }
            if let Some(b) = &bulkhead_policy {
                bulkheads[c * services.len() + dest.idx()] = b.clone();
            }
            if let Some(o) = &outlier_policy {
                outliers[c * services.len() + dest.idx()] = o.clone();
            }
            if let Some(l) = &locality_policy {
                localities[c * services.len() + dest.idx()] = l.clone();
                locality_from[c * services.len() + dest.idx()] = format!("{p}.localityLb");
            }
        }
    }
    locality::require_outlier_detection(cx, &localities, &outliers, &locality_from, services);
    Policies {
        service_count: services.len(),
        endpoint_count,
        call,
        balancer: lbs,
        budget: budgets,
        breaker: breakers,
        bulkhead: bulkheads,
        outlier: outliers,
        locality: localities,
    }
}
