//! Services, their instances and endpoints, and the call graph between endpoints (which
//! must not recurse).

use super::cx::*;
use super::{
    autoscale,
    discovery::probes,
    limits::{limiter, shedder},
    traffic,
};
use crate::model::*;
use crate::scenario::raw;
use crate::time::SimDuration;
use indexmap::IndexMap;

/// Downstream calls per endpoint (a job counts its calls in a `u16`).
pub const CALLS_MAX: usize = 1024;

/// Rejects call graphs that recurse: an endpoint that reaches itself would never finish.
pub(super) fn check_cycles(cx: &mut Cx, endpoints: &[Endpoint], services: &[Service], origins: &[Vec<usize>]) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut mark = vec![Mark::New; endpoints.len()];
    let name = |e: usize| format!("{}.{}", services[endpoints[e].service.idx()].name, endpoints[e].name);
    for root in 0..endpoints.len() {
        if mark[root] != Mark::New {
            continue;
        }
        // Iterative depth-first search; `stack` holds (endpoint, next call index).
        let mut stack = vec![(root, 0usize)];
        mark[root] = Mark::Active;
        while let Some(&(e, next)) = stack.last() {
            if let Some(call) = endpoints[e].calls.get(next) {
                stack.last_mut().expect("not empty").1 += 1;
                let t = call.endpoint.idx();
                match mark[t] {
                    Mark::New => {
                        mark[t] = Mark::Active;
                        stack.push((t, 0));
                    }
                    Mark::Active => {
                        let from = stack.iter().position(|&(x, _)| x == t).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[from..].iter().map(|&(x, _)| name(x)).collect();
                        cycle.push(name(t));
                        let ci = origins[e][next];
                        let svc = &services[endpoints[e].service.idx()].name;
                        cx.err(
                            format!("services.{svc}.endpoints.{}.calls[{ci}]", endpoints[e].name),
                            format!(
                                "a call graph without cycles, but calls recurse without bound: {}",
                                cycle.join(" -> ")
                            ),
                        );
                    }
                    Mark::Done => {}
                }
            } else {
                mark[e] = Mark::Done;
                stack.pop();
            }
        }
    }
}

/// Services, endpoints and instances, with the names resolved to ids in file order.
pub(super) struct Graph<'f> {
    pub service_ids: IndexMap<&'f str, ServiceId>,
    pub endpoint_ids: IndexMap<(&'f str, &'f str), EndpointId>,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoint>,
    pub instances: Vec<Instance>,
}

/// Validates every service, its instances and endpoints, then the call graph.
pub(super) fn services<'f>(cx: &mut Cx, f: &'f raw::ScenarioFile, zones: &mut Zones) -> Graph<'f> {
    // Services and their ids come first: everything else refers to them.
    if f.services.is_empty() {
        cx.err("services", "at least one service");
    }
    let service_ids: IndexMap<&str, ServiceId> =
        f.services.keys().enumerate().map(|(i, k)| (k.as_str(), ServiceId(i as u32))).collect();
    // Endpoint ids are assigned before calls are resolved, so calls can point forward.
    let mut endpoint_ids: IndexMap<(&str, &str), EndpointId> = IndexMap::new();
    for (sname, s) in f.services.iter() {
        for ename in s.endpoints.keys() {
            let id = EndpointId(endpoint_ids.len() as u32);
            endpoint_ids.insert((sname.as_str(), ename.as_str()), id);
        }
    }
    let mut g = Graph { service_ids, endpoint_ids, services: Vec::new(), endpoints: Vec::new(), instances: Vec::new() };
    let mut call_origins: Vec<Vec<usize>> = Vec::new();
    for (si, (sname, s)) in f.services.iter().enumerate() {
        let service = service(cx, f, &mut g, zones, &mut call_origins, (ServiceId(si as u32), sname, s));
        g.services.push(service);
    }
    check_cycles(cx, &g.endpoints, &g.services, &call_origins);
    g
}

/// One service: its instances, endpoints, queue and guards.
fn service(
    cx: &mut Cx,
    f: &raw::ScenarioFile,
    g: &mut Graph,
    zones: &mut Zones,
    call_origins: &mut Vec<Vec<usize>>,
    (sid, sname, s): (ServiceId, &String, &raw::ServiceSpec),
) -> Service {
    let p = format!("services.{sname}");
    cx.name(p.clone(), sname);
    if sname == "gateway" {
        cx.err(p.clone(), "a service name other than \"gateway\", which policies use for the gateway");
    }
    let ids = instances(cx, &p, sid, sname, s, zones, &mut g.instances);
    if s.endpoints.is_empty() {
        cx.err(format!("{p}.endpoints"), "at least one endpoint");
    }
    let mut eids = Vec::new();
    for (ename, e) in s.endpoints.iter() {
        let (endpoint, origins) = endpoint(cx, f, g, &p, sid, ename, e);
        eids.push(g.endpoint_ids[&(sname.as_str(), ename.as_str())]);
        call_origins.push(origins);
        g.endpoints.push(endpoint);
    }
    let (queue_capacity, discipline) = match &s.queue {
        None => (None, Discipline::Fifo),
        Some(q) => (
            q.capacity,
            match q.discipline {
                Some(raw::Discipline::Lifo) => Discipline::Lifo,
                _ => Discipline::Fifo,
            },
        ),
    };
    let sp = format!("services.{sname}");
    let rate_limit = s.rate_limit.as_ref().and_then(|l| {
        let scope = match l.scope() {
            Some(raw::LimiterScope::Service) => LimiterScope::Service,
            _ => LimiterScope::Instance,
        };
        limiter(cx, &format!("{sp}.rateLimit"), l).map(|c| (c, scope))
    });
    let load_shedding = s.load_shedding.as_ref().and_then(|l| shedder(cx, &format!("{sp}.loadShedding"), l));
    let pool = ids.len() as u32;
    let autoscaler = s
        .autoscaler
        .as_ref()
        .and_then(|a| autoscale::autoscaler(cx, &format!("{sp}.autoscaler"), a, pool, s.max_replicas.is_some()));
    let version_endpoints = traffic::version_behaviours(cx, &sp, s, &eids, &g.endpoints);
    Service {
        name: sname.clone(),
        endpoints: eids,
        instances: ids,
        queue_capacity,
        discipline,
        hold_worker_during_calls: s.hold_worker_during_calls.unwrap_or(true),
        rate_limit,
        load_shedding,
        startup_time: s.startup_time.map_or(SimDuration::ZERO, |d| d.0),
        probes: s.probes.as_ref().and_then(|pr| probes(cx, &format!("{sp}.probes"), pr)),
        autoscaler,
        versions: s.versions.as_ref().map_or_else(Vec::new, |v| v.keys().cloned().collect()),
        version_endpoints,
        routing: None,
    }
}

/// The instances of one service (listed, versioned or counted by `replicas`), added to
/// `instances`; returns their ids.
// A little over 80 lines: the three ways to give instances (listed, versioned,
// counted), then each instance, in issue order.
fn instances(
    cx: &mut Cx,
    p: &str,
    sid: ServiceId,
    sname: &str,
    s: &raw::ServiceSpec,
    zones: &mut Zones,
    instances: &mut Vec<Instance>,
) -> Vec<InstanceId> {
    let workers = cx.positive_count(format!("{p}.workers"), s.workers, 1, "worker");
    let mut running = usize::MAX;
    if s.instances.is_some() && s.max_replicas.is_some() {
        cx.err(format!("{p}.maxReplicas"), "maxReplicas with replicas only: listed instances all start running");
    }
    // A service with versions has its instances in them (see `traffic.rs`).
    let versioned = s.versions.as_ref().map(|v| traffic::version_instances(cx, p, sname, s, v));
    let specs: Vec<raw::InstanceSpec> = match (&s.instances, s.replicas) {
        _ if versioned.is_some() => versioned.iter().flatten().map(|v| v.spec.clone()).collect(),
        (Some(_), Some(_)) => {
            cx.err(format!("{p}.replicas"), "either replicas or instances, not both");
            Vec::new()
        }
        (Some(list), None) => {
            if list.is_empty() {
                cx.err(format!("{p}.instances"), "at least one instance");
            } else if list.len() > REPLICAS_MAX as usize {
                cx.err(format!("{p}.instances"), format!("at most {REPLICAS_MAX} instances, found {}", list.len()));
            }
            list.clone()
        }
        (None, replicas) => {
            let mut n = cx.positive_count(format!("{p}.replicas"), replicas, 1, "replica");
            if n > REPLICAS_MAX {
                cx.err(format!("{p}.replicas"), format!("at most {REPLICAS_MAX} replicas, found {n}"));
                n = 1;
            }
            running = n as usize;
            match s.max_replicas {
                Some(m) if m < n || m > REPLICAS_MAX => {
                    cx.err(format!("{p}.maxReplicas"), format!("from replicas ({n}) to {REPLICAS_MAX}, found {m}"))
                }
                Some(m) => n = m,
                // An autoscaler without the service's own maxReplicas sizes the pool.
                None => {
                    if let Some(m) = s.autoscaler.as_ref().and_then(|a| a.max_replicas) {
                        n = n.max(m.min(REPLICAS_MAX));
                    }
                }
            }
            let zl = s.zones.clone().unwrap_or_else(|| vec![DEFAULT_ZONE.to_string()]);
            if zl.is_empty() {
                cx.err(format!("{p}.zones"), "at least one zone");
            }
            replicas_over(&zl, n)
        }
    };
    let listed = s.instances.is_some() || versioned.is_some();
    if s.instances.is_some() && s.zones.is_some() {
        cx.err(format!("{p}.zones"), "zones belong in each instance when instances are listed");
    }
    let mut ids = Vec::new();
    for (k, spec) in specs.iter().enumerate() {
        let ip = format!("{p}.instances[{k}]");
        if let Some(z) = &spec.zone {
            let zp = if listed { format!("{ip}.zone") } else { format!("{p}.zones") };
            cx.name(zp, z);
        }
        let slowdown = match spec.slowdown {
            None => 1.0,
            Some(x) if x.is_finite() && x > 0.0 => x,
            Some(x) => {
                cx.err(format!("{ip}.slowdown"), format!("a service-time factor greater than zero, found {x}"));
                1.0
            }
        };
        let id = InstanceId(instances.len() as u32);
        ids.push(id);
        instances.push(Instance {
            name: versioned.as_ref().map_or_else(|| format!("{sname}-{k}"), |v| v[k].name.clone()),
            service: sid,
            zone: zones.id(spec.zone.as_deref().unwrap_or(DEFAULT_ZONE)),
            workers: cx.positive_count(format!("{ip}.workers"), spec.workers, workers, "worker"),
            weight: cx.positive_count(format!("{ip}.weight"), spec.weight, 1, "unit of weight"),
            initially_running: k < running,
            slowdown,
            version: versioned.as_ref().map_or(0, |v| v[k].version),
        });
    }
    ids
}

/// One endpoint and, for messages, the index in the file of each call it resolved.
fn endpoint(
    cx: &mut Cx,
    f: &raw::ScenarioFile,
    g: &Graph,
    p: &str,
    sid: ServiceId,
    ename: &String,
    e: &raw::EndpointSpec,
) -> (Endpoint, Vec<usize>) {
    let ep = format!("{p}.endpoints.{ename}");
    cx.name(ep.clone(), ename);
    let mut calls = Vec::new();
    // Index in the file of each resolved call, for messages (unknown calls are skipped).
    let mut origins = Vec::new();
    if e.calls.len() > CALLS_MAX {
        cx.err(format!("{ep}.calls"), format!("at most {CALLS_MAX} calls, found {}", e.calls.len()));
    }
    for (ci, c) in e.calls.iter().enumerate().take(CALLS_MAX) {
        let cp = format!("{ep}.calls[{ci}]");
        let Some(&csid) = g.service_ids.get(c.service.as_str()) else {
            cx.err(format!("{cp}.service"), unknown("service", &c.service, g.service_ids.keys().copied()));
            continue;
        };
        let Some(&ceid) = g.endpoint_ids.get(&(c.service.as_str(), c.endpoint.as_str())) else {
            let names = f.services[&c.service].endpoints.keys().map(String::as_str);
            cx.err(format!("{cp}.endpoint"), unknown(&format!("endpoint of {}", c.service), &c.endpoint, names));
            continue;
        };
        origins.push(ci);
        calls.push(Call {
            service: csid,
            endpoint: ceid,
            probability: cx.percent(format!("{cp}.probability"), c.probability, 100.0),
            required: c.required.unwrap_or(true),
        });
    }
    let endpoint = Endpoint {
        name: ename.clone(),
        service: sid,
        service_time: cx.dist(&format!("{ep}.serviceTime"), &e.service_time),
        error_rate: cx.percent(format!("{ep}.errorRate"), e.error_rate, 0.0),
        error_status: cx.status(format!("{ep}.errorStatus"), e.error_status, 500),
        calls,
        calls_mode: match e.calls_mode {
            Some(raw::CallsMode::Parallel) => CallsMode::Parallel,
            _ => CallsMode::Sequence,
        },
        dependency_failure_status: cx.status(format!("{ep}.dependencyFailureStatus"), e.dependency_failure_status, 500),
    };
    (endpoint, origins)
}
