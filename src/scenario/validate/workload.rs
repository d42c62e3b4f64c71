//! The gateway's routes and the workload that sends requests down them.

use super::cx::*;
use super::limits::gateway_limiter;
use crate::dist::Dist;
use crate::model::*;
use crate::scenario::raw;
use crate::time::SimDuration;
use indexmap::IndexMap;

pub const DEFAULT_CLIENTS: u64 = 10_000;
/// Closed-loop users each hold a pending event: bound them like requests in flight.
pub const USERS_MAX: u32 = 10_000_000;

// A little over 80 lines: a route's name, match, destinations and limiter.
pub(super) fn routes(
    cx: &mut Cx,
    specs: &[raw::RouteSpec],
    service_ids: &IndexMap<&str, ServiceId>,
    endpoint_ids: &IndexMap<(&str, &str), EndpointId>,
    services: &IndexMap<String, raw::ServiceSpec>,
) -> Vec<Route> {
    if specs.is_empty() {
        cx.err("gateway.routes", "at least one route");
    }
    let mut routes: Vec<Route> = Vec::new();
    for (i, r) in specs.iter().enumerate() {
        let p = format!("gateway.routes[{i}]");
        cx.name(format!("{p}.name"), &r.name);
        if routes.iter().any(|o| o.name == r.name) {
            cx.err(format!("{p}.name"), format!("a unique route name, \"{}\" is used twice", r.name));
        }
        let (method, path_prefix) = match &r.match_ {
            None => (None, None),
            Some(m) => {
                if let Some(meth) = &m.method
                    && !METHODS.contains(&meth.as_str())
                {
                    cx.err(
                        format!("{p}.match.method"),
                        format!("an HTTP method in capitals ({}), found \"{meth}\"", METHODS.join(", ")),
                    );
                }
                if let Some(pp) = &m.path_prefix
                    && !pp.starts_with('/')
                {
                    cx.err(format!("{p}.match.pathPrefix"), format!("a path prefix starting with '/', found \"{pp}\""));
                }
                (m.method.clone(), m.path_prefix.clone())
            }
        };
        let mut targets: Vec<(String, &str, &str, u32)> = Vec::new();
        match (&r.destination, &r.destinations) {
            (Some(d), None) => targets.push((format!("{p}.destination"), &d.service, &d.endpoint, 1)),
            (None, Some(list)) if !list.is_empty() => {
                for (k, d) in list.iter().enumerate() {
                    targets.push((format!("{p}.destinations[{k}]"), &d.service, &d.endpoint, d.weight));
                }
                if list.iter().all(|d| d.weight == 0) {
                    cx.err(format!("{p}.destinations"), "weights that add up to more than 0");
                }
            }
            (None, Some(_)) => cx.err(format!("{p}.destinations"), "at least one destination"),
            (None, None) => cx.err(format!("{p}.destination"), "a destination (or weighted destinations)"),
            (Some(_), Some(_)) => cx.err(format!("{p}.destinations"), "either destination or destinations, not both"),
        }
        let mut resolved = Vec::new();
        for (tp, service, endpoint, weight) in &targets {
            let Some(&sid) = service_ids.get(*service) else {
                cx.err(format!("{tp}.service"), unknown("service", service, service_ids.keys().copied()));
                continue;
            };
            let Some(&eid) = endpoint_ids.get(&(*service, *endpoint)) else {
                let names = services[*service].endpoints.keys().map(String::as_str);
                cx.err(format!("{tp}.endpoint"), unknown(&format!("endpoint of {service}"), endpoint, names));
                continue;
            };
            resolved.push((sid, eid, *weight));
        }
        if resolved.len() != targets.len() || resolved.is_empty() {
            continue;
        }
        let (sid, eid) = (resolved[0].0, resolved[0].1);
        let split = if r.destinations.is_some() { resolved } else { Vec::new() };
        let rate_limit = r.rate_limit.as_ref().and_then(|l| gateway_limiter(cx, &format!("{p}.rateLimit"), l));
        routes.push(Route {
            name: r.name.clone(),
            method,
            path_prefix,
            service: sid,
            endpoint: eid,
            split,
            rate_limit,
        });
    }
    routes
}

pub(super) fn workload(cx: &mut Cx, w: &raw::WorkloadSpec, routes: &[Route]) -> Workload {
    let load = match (&w.arrivals, &w.users) {
        (Some(_), Some(_)) => {
            cx.err("workload.users", "either open-loop \"arrivals\" or closed-loop \"users\", not both");
            None
        }
        (None, None) => {
            cx.err("workload", "a load: open-loop \"arrivals\" or closed-loop \"users\"");
            None
        }
        (Some(a), None) => Some(arrivals(cx, a)),
        (None, Some(u)) => {
            if u.count == 0 {
                cx.err("workload.users.count", "at least 1 user, found 0");
            } else if u.count > USERS_MAX {
                cx.err("workload.users.count", format!("at most {USERS_MAX} users, found {}", u.count));
            }
            Some(Load::Closed { users: u.count.max(1), think_time: cx.dist("workload.users.thinkTime", &u.think_time) })
        }
    };
    if w.mix.is_empty() {
        cx.err("workload.mix", "at least one entry");
    }
    let mut mix = Vec::new();
    for (i, m) in w.mix.iter().enumerate() {
        let p = format!("workload.mix[{i}]");
        if !(m.weight.is_finite() && m.weight > 0.0) {
            cx.err(format!("{p}.weight"), format!("a weight greater than zero, found {}", m.weight));
        }
        let route = match (&m.route, &m.method, &m.path) {
            (Some(name), None, None) => match routes.iter().position(|r| &r.name == name) {
                Some(r) => Some(r),
                None => {
                    cx.err(format!("{p}.route"), unknown("route", name, routes.iter().map(|r| r.name.as_str())));
                    None
                }
            },
            (None, method, Some(path)) => {
                // First match in file order, as Envoy and Istio route.
                let hit = routes.iter().position(|r| {
                    r.method.as_ref().is_none_or(|rm| Some(rm) == method.as_ref())
                        && r.path_prefix.as_ref().is_some_and(|pp| path.starts_with(pp.as_str()))
                });
                if hit.is_none() {
                    let m = method.as_deref().unwrap_or("any method");
                    cx.err(
                        format!("{p}.path"),
                        format!("a request that some gateway route matches, but no route matches {m} {path}"),
                    );
                }
                hit
            }
            _ => {
                cx.err(p.clone(), "either \"route\" (a route name) or \"path\" (with an optional \"method\")");
                None
            }
        };
        if let Some(r) = route {
            mix.push((RouteId(r as u32), m.weight));
        }
    }
    let clients = w.clients.unwrap_or(DEFAULT_CLIENTS);
    if clients == 0 {
        cx.err("workload.clients", "at least 1 client, found 0");
    }
    Workload {
        load: load.unwrap_or(Load::Closed { users: 1, think_time: Dist::Constant(SimDuration::ZERO) }),
        mix,
        clients: clients.max(1),
    }
}

pub(super) fn arrivals(cx: &mut Cx, a: &raw::ArrivalsSpec) -> Load {
    let process = match a.process {
        Some(raw::Process::Constant) => Process::Constant,
        _ => Process::Poisson,
    };
    let rate_ok = |r: f64| r.is_finite() && (0.0..=1e9).contains(&r);
    let schedule = match (a.rate, a.start_rate, &a.stages) {
        (Some(r), None, None) => {
            if !(rate_ok(r) && r > 0.0) {
                cx.err(
                    "workload.arrivals.rate",
                    format!("a rate in requests per second, greater than zero and at most 1e9, found {r}"),
                );
            }
            RateSchedule { start_rate: r, stages: Vec::new() }
        }
        (None, start, Some(stages)) => {
            let start = start.unwrap_or(0.0);
            if !rate_ok(start) {
                cx.err(
                    "workload.arrivals.startRate",
                    format!("a rate in requests per second from 0 to 1e9, found {start}"),
                );
            }
            if stages.is_empty() {
                cx.err("workload.arrivals.stages", "at least one stage");
            }
            for (i, s) in stages.iter().enumerate() {
                if !rate_ok(s.target) {
                    cx.err(
                        format!("workload.arrivals.stages[{i}].target"),
                        format!("a rate in requests per second from 0 to 1e9, found {}", s.target),
                    );
                }
            }
            if start <= 0.0 && stages.iter().all(|s| s.target <= 0.0) {
                cx.err("workload.arrivals.stages", "a schedule with some rate above zero");
            }
            RateSchedule { start_rate: start, stages: stages.iter().map(|s| (s.duration.0, s.target)).collect() }
        }
        _ => {
            cx.err("workload.arrivals", "either \"rate\", or \"stages\" with an optional \"startRate\"");
            RateSchedule { start_rate: 1.0, stages: Vec::new() }
        }
    };
    Load::Open { process, schedule }
}
