//! Turns a parsed scenario file into the validated model, collecting every problem.
//!
//! Defaults are applied here (and documented in docs/scenario-format.md). Names become
//! ids in file order, so ids are stable for a given file.

mod security;

use super::Issue;
use super::raw::{self, DistSpec};
use crate::dist::Dist;
use crate::model::*;
use crate::resilience::backoff::BackoffConfig;
use crate::resilience::budget::BudgetConfig;
use crate::resilience::bulkhead::BulkheadConfig;
use crate::resilience::limiter::LimiterConfig;
use crate::resilience::shedder::ShedderConfig;
use crate::time::{SimDuration, SimTime};
use indexmap::IndexMap;
use rand_distr::{Gamma, Normal, Pareto, Weibull};

mod autoscale;
mod locality;
mod traffic;

pub const DEFAULT_ZONE: &str = "default";
pub const DEFAULT_EVENTS_MAX: u64 = 1_000_000_000;
pub const DEFAULT_IN_FLIGHT_MAX: u64 = 1_000_000;
pub const DEFAULT_DRAIN_TIMEOUT: SimDuration = SimDuration::from_secs(60);
pub const DEFAULT_INTERVAL: SimDuration = SimDuration::from_secs(1);
pub const DEFAULT_CLIENTS: u64 = 10_000;
pub const DEFAULT_SEED: u64 = 1;
/// Instances per service: each has its own proxy state for every destination it calls.
pub const REPLICAS_MAX: u32 = 10_000;
/// Downstream calls per endpoint (a job counts its calls in a `u16`).
pub const CALLS_MAX: usize = 1024;
/// Closed-loop users each hold a pending event: bound them like requests in flight.
pub const USERS_MAX: u32 = 10_000_000;
/// Envoy's default ring size for ring-hash balancing.
pub const DEFAULT_RING_SIZE: u32 = 1024;
/// Envoy's upper bound on the ring size.
pub const MAX_RING_SIZE: u32 = 8 * 1024 * 1024;
/// Linkerd's PeakEWMA defaults.
pub const DEFAULT_EWMA_DECAY: SimDuration = SimDuration::from_secs(10);
pub const DEFAULT_EWMA_RTT: SimDuration = SimDuration::from_millis(30);
const METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

struct Ctx {
    issues: Vec<Issue>,
}

/// Names become parts of JSON paths, instance names and report columns: keep them plain.
fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 63 {
        return Some(format!("a name of 1 to 63 characters, found \"{name}\""));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Some(format!("a name of letters, digits, '-' and '_', found \"{name}\""));
    }
    None
}

impl Ctx {
    /// Checks that an object of a given `type` sets only the parameters that type takes
    /// (`takes`) and every one it requires (`requires`); `present` lists each parameter's
    /// JSON name and whether it is set. Returns whether all is well.
    fn params(&mut self, path: &str, what: &str, takes: &[&str], requires: &[&str], present: &[(&str, bool)]) -> bool {
        let mut ok = true;
        for &(name, set) in present {
            if set && !takes.contains(&name) {
                let allowed = if takes.is_empty() { "none".to_string() } else { takes.join(", ") };
                self.err(format!("{path}.{name}"), format!("a parameter of {what} ({allowed}), found \"{name}\""));
                ok = false;
            }
            if !set && requires.contains(&name) {
                self.err(format!("{path}.{name}"), format!("\"{name}\", which {what} requires"));
                ok = false;
            }
        }
        ok
    }

    fn name(&mut self, path: String, name: &str) {
        if let Some(msg) = name_problem(name) {
            self.err(path, msg);
        }
    }

    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue { path: path.into(), message: message.into() });
    }

    fn percent(&mut self, path: String, v: Option<f64>, default: f64) -> f64 {
        match v {
            None => default / 100.0,
            Some(p) if (0.0..=100.0).contains(&p) => p / 100.0,
            Some(p) => {
                self.err(path, format!("a percentage from 0 to 100, found {p}"));
                0.0
            }
        }
    }

    fn positive_count(&mut self, path: String, v: Option<u32>, default: u32, what: &str) -> u32 {
        match v {
            None => default,
            Some(0) => {
                self.err(path, format!("at least 1 {what}, found 0"));
                1
            }
            Some(n) => n,
        }
    }

    fn positive_duration(&mut self, path: String, d: SimDuration) -> SimDuration {
        if d.is_zero() {
            self.err(path, "a duration greater than zero, found 0");
        }
        d
    }

    fn status(&mut self, path: String, v: Option<u16>, default: u16) -> u16 {
        match v {
            None => default,
            Some(s) if (400..=599).contains(&s) => s,
            Some(s) => {
                self.err(path, format!("an error status from 400 to 599, found {s}"));
                default
            }
        }
    }

    fn dist(&mut self, path: &str, spec: &DistSpec) -> Dist {
        use raw::DistKind as K;
        let o = match spec {
            DistSpec::Constant(d) => return Dist::Constant(d.0),
            DistSpec::Full(obj) => obj,
        };
        let fallback = Dist::Constant(SimDuration::ZERO);
        // Which parameters each type takes; any other one present is an error.
        let takes: &[&str] = match o.kind {
            K::Constant => &["value"],
            K::Uniform => &["min", "max"],
            K::Exponential => &["mean"],
            K::Normal | K::Lognormal => &["mean", "stddev"],
            K::Pareto | K::Weibull | K::Gamma => &["scale", "shape"],
            K::Erlang => &["k", "mean"],
            K::Empirical => &["samples"],
        };
        let what = format!("a {} distribution", kind_name(o.kind));
        if !self.params(path, &what, takes, takes, &o.present()) {
            return fallback;
        }
        let ns = |d: Option<raw::Dur>| d.map_or(0.0, |d| d.0.as_nanos() as f64);
        let shape = o.shape.unwrap_or(1.0);
        let shape_ok = shape.is_finite() && shape > 0.0;
        let bad = |cx: &mut Ctx, field: &str, msg: String| {
            cx.err(format!("{path}.{field}"), msg);
            fallback.clone()
        };
        match o.kind {
            K::Constant => Dist::Constant(o.value.map_or(SimDuration::ZERO, |d| d.0)),
            K::Uniform => {
                let (min, max) = (ns(o.min), ns(o.max));
                if max < min {
                    return bad(
                        self,
                        "max",
                        format!("a maximum at least the minimum {}, found {}", o.min.unwrap().0, o.max.unwrap().0),
                    );
                }
                Dist::Uniform { min_ns: min, span_ns: max - min }
            }
            K::Exponential => match ns(o.mean) {
                m if m > 0.0 => Dist::Exponential { mean_ns: m },
                _ => bad(self, "mean", "a mean greater than zero (use \"0s\" for no delay)".into()),
            },
            K::Normal => match Normal::new(ns(o.mean), ns(o.stddev)) {
                Ok(d) => Dist::Normal(d),
                Err(e) => bad(self, "stddev", format!("a valid standard deviation: {e}")),
            },
            K::Lognormal => {
                let (m, s) = (ns(o.mean), ns(o.stddev));
                if m <= 0.0 {
                    return bad(self, "mean", "a mean greater than zero".into());
                }
                // Moment matching: sigma^2 = ln(1 + s^2/m^2), mu = ln m - sigma^2 / 2.
                let sigma2 = (1.0 + (s * s) / (m * m)).ln();
                // The normal of the logarithm (`rand_distr::LogNormal::new` takes the same).
                match Normal::new(m.ln() - sigma2 / 2.0, sigma2.sqrt()) {
                    Ok(d) => Dist::LogNormal(d),
                    Err(e) => bad(self, "stddev", format!("a valid standard deviation: {e}")),
                }
            }
            K::Pareto | K::Weibull | K::Gamma => {
                if !shape_ok {
                    return bad(self, "shape", format!("a shape greater than zero, found {shape}"));
                }
                let scale = ns(o.scale);
                if scale <= 0.0 {
                    return bad(self, "scale", "a scale greater than zero".into());
                }
                let built = match o.kind {
                    K::Pareto => Pareto::new(scale, shape).map(Dist::Pareto).map_err(|e| e.to_string()),
                    K::Weibull => Weibull::new(scale, shape).map(Dist::Weibull).map_err(|e| e.to_string()),
                    _ => Gamma::new(shape, scale).map(Dist::Gamma).map_err(|e| e.to_string()),
                };
                built.unwrap_or_else(|e| bad(self, "shape", format!("valid parameters: {e}")))
            }
            K::Erlang => {
                let k = o.k.unwrap_or(0);
                if k == 0 {
                    return bad(self, "k", "at least 1 phase, found 0".into());
                }
                let mean = ns(o.mean);
                if mean <= 0.0 {
                    return bad(self, "mean", "a mean greater than zero".into());
                }
                match Gamma::new(f64::from(k), mean / f64::from(k)) {
                    Ok(d) => Dist::Gamma(d),
                    Err(e) => bad(self, "mean", format!("a valid mean: {e}")),
                }
            }
            K::Empirical => match &o.samples {
                Some(s) if !s.is_empty() => Dist::Empirical(s.iter().map(|d| d.0).collect()),
                _ => bad(self, "samples", "at least one sample".into()),
            },
        }
    }
}

/// Interns zone names in order of first appearance.
struct Zones(IndexMap<String, ()>);

impl Zones {
    fn id(&mut self, name: &str) -> ZoneId {
        let (i, _) = self.0.insert_full(name.to_string(), ());
        ZoneId(i as u32)
    }
}

pub fn validate(f: raw::ScenarioFile, file: &str) -> Result<Scenario, Vec<Issue>> {
    let mut cx = Ctx { issues: Vec::new() };
    if f.name.trim().is_empty() {
        cx.err("name", "a non-empty scenario name");
    } else if f.name.contains(['/', '\\']) || f.name.starts_with('.') {
        cx.err("name", "a name usable as a folder name (no '/', '\\' or leading '.')");
    }
    let run = validate_run(&mut cx, &f.run);
    if let Some(block) = &f.sweep {
        cx.issues.extend(crate::sweep::check_block(block));
    }
    let metrics_interval = match f.metrics.as_ref().and_then(|m| m.interval) {
        Some(d) => cx.positive_duration("metrics.interval".into(), d.0),
        None => DEFAULT_INTERVAL,
    };

    let mut zones = Zones(IndexMap::new());
    if let Some(z) = &f.gateway.zone {
        cx.name("gateway.zone".into(), z);
    }
    let gateway_zone = zones.id(f.gateway.zone.as_deref().unwrap_or(DEFAULT_ZONE));

    // Services and their ids come first: everything else refers to them.
    if f.services.is_empty() {
        cx.err("services", "at least one service");
    }
    let service_ids: IndexMap<&str, ServiceId> =
        f.services.keys().enumerate().map(|(i, k)| (k.as_str(), ServiceId(i as u32))).collect();
    let mut services = Vec::new();
    let mut endpoints: Vec<Endpoint> = Vec::new();
    let mut instances = Vec::new();
    let mut call_origins: Vec<Vec<usize>> = Vec::new();
    // Endpoint ids are assigned before calls are resolved, so calls can point forward.
    let mut endpoint_ids: IndexMap<(&str, &str), EndpointId> = IndexMap::new();
    for (sname, s) in f.services.iter() {
        for ename in s.endpoints.keys() {
            let id = EndpointId(endpoint_ids.len() as u32);
            endpoint_ids.insert((sname.as_str(), ename.as_str()), id);
        }
    }

    for (si, (sname, s)) in f.services.iter().enumerate() {
        let sid = ServiceId(si as u32);
        let p = format!("services.{sname}");
        cx.name(p.clone(), sname);
        if sname == "gateway" {
            cx.err(p.clone(), "a service name other than \"gateway\", which policies use for the gateway");
        }
        let workers = cx.positive_count(format!("{p}.workers"), s.workers, 1, "worker");
        let mut running = usize::MAX;
        if s.instances.is_some() && s.max_replicas.is_some() {
            cx.err(format!("{p}.maxReplicas"), "maxReplicas with replicas only: listed instances all start running");
        }
        // A service with versions has its instances in them (see `traffic.rs`).
        let versioned = s.versions.as_ref().map(|v| traffic::version_instances(&mut cx, &p, sname, s, v));
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
                (0..n as usize)
                    .map(|i| raw::InstanceSpec {
                        zone: zl.get(i % zl.len().max(1)).cloned(),
                        workers: None,
                        weight: None,
                        slowdown: None,
                    })
                    .collect()
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
        if s.endpoints.is_empty() {
            cx.err(format!("{p}.endpoints"), "at least one endpoint");
        }
        let mut eids = Vec::new();
        for (ename, e) in s.endpoints.iter() {
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
                let Some(&csid) = service_ids.get(c.service.as_str()) else {
                    cx.err(format!("{cp}.service"), unknown("service", &c.service, service_ids.keys().copied()));
                    continue;
                };
                let Some(&ceid) = endpoint_ids.get(&(c.service.as_str(), c.endpoint.as_str())) else {
                    let names = f.services[&c.service].endpoints.keys().map(String::as_str);
                    cx.err(
                        format!("{cp}.endpoint"),
                        unknown(&format!("endpoint of {}", c.service), &c.endpoint, names),
                    );
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
            eids.push(endpoint_ids[&(sname.as_str(), ename.as_str())]);
            call_origins.push(origins);
            endpoints.push(Endpoint {
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
                dependency_failure_status: cx.status(
                    format!("{ep}.dependencyFailureStatus"),
                    e.dependency_failure_status,
                    500,
                ),
            });
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
            let scope = match l.scope {
                Some(raw::LimiterScope::Service) => LimiterScope::Service,
                _ => LimiterScope::Instance,
            };
            limiter(&mut cx, &format!("{sp}.rateLimit"), l).map(|c| (c, scope))
        });
        let load_shedding = s.load_shedding.as_ref().and_then(|l| shedder(&mut cx, &format!("{sp}.loadShedding"), l));
        let pool = ids.len() as u32;
        let autoscaler = s.autoscaler.as_ref().and_then(|a| {
            autoscale::autoscaler(&mut cx, &format!("{sp}.autoscaler"), a, pool, s.max_replicas.is_some())
        });
        let version_endpoints = traffic::version_behaviours(&mut cx, &sp, s, &eids, &endpoints);
        services.push(Service {
            name: sname.clone(),
            endpoints: eids,
            instances: ids,
            queue_capacity,
            discipline,
            hold_worker_during_calls: s.hold_worker_during_calls.unwrap_or(true),
            rate_limit,
            load_shedding,
            startup_time: s.startup_time.map_or(SimDuration::ZERO, |d| d.0),
            probes: s.probes.as_ref().and_then(|pr| probes(&mut cx, &format!("{sp}.probes"), pr)),
            autoscaler,
            versions: s.versions.as_ref().map_or_else(Vec::new, |v| v.keys().cloned().collect()),
            version_endpoints,
            routing: None,
        });
    }
    check_cycles(&mut cx, &endpoints, &services, &call_origins);

    let gateway_limit = f.gateway.rate_limit.as_ref().and_then(|l| gateway_limiter(&mut cx, "gateway.rateLimit", l));
    let routes = validate_routes(&mut cx, &f.gateway.routes, &service_ids, &endpoint_ids, &f.services);
    let discovery = validate_discovery(&mut cx, f.discovery.as_ref(), &mut zones, gateway_zone);
    let network = validate_network(&mut cx, f.network.as_ref(), &mut zones);
    let topology = locality::topology(&mut cx, f.clusters.as_ref(), &zones);
    locality::check_discovery_delay(&mut cx, &topology, &discovery);
    let policies =
        validate_policies(&mut cx, f.policies.as_ref(), &service_ids, &endpoint_ids, &services, &endpoints, &topology);
    let workload = validate_workload(&mut cx, &f.workload, &routes);
    let headers = traffic::headers(&mut cx, &f.workload);
    let match_env = traffic::MatchEnv {
        service_ids: &service_ids,
        endpoint_ids: &endpoint_ids,
        routes: &routes,
        headers: &headers,
    };
    for (si, (sname, s)) in f.services.iter().enumerate() {
        if let Some(spec) = &s.routing {
            let routing =
                traffic::routing(&mut cx, &format!("services.{sname}.routing"), sname, &services[si], spec, &match_env);
            services[si].routing = Some(routing);
        }
    }
    let rollouts = traffic::rollouts(&mut cx, &f.rollouts, &services, &match_env);
    let instance_zone = |i: InstanceId| instances[i.idx()].zone;
    let fault_env = FaultEnv {
        service_ids: &service_ids,
        endpoint_ids: &endpoint_ids,
        services: &services,
        registry: discovery.registry.as_ref(),
        zones: &zones,
        instance_zone: &instance_zone,
        routes: &routes,
        config_pushes: !f.config_changes.is_empty(),
        topology: &topology,
        security: f.security.is_some(),
    };
    let faults = validate_faults(&mut cx, &f.faults, &fault_env);
    let security = security::validate_security(&mut cx, &f, &service_ids, &endpoint_ids);
    let chaos = f.chaos.as_ref().and_then(|c| validate_chaos(&mut cx, c, &fault_env));
    let lifecycle = validate_lifecycle(&mut cx, &f.lifecycle, &service_ids, &services, &instances);
    let config_changes = validate_config_changes(
        &mut cx,
        &f.config_changes,
        &routes,
        &policies,
        &service_ids,
        &endpoint_ids,
        &services,
        &endpoints,
    );

    let mut slos = Vec::new();
    for (i, spec) in f.slos.iter().enumerate() {
        match crate::slo::Slo::parse(&spec.threshold, &routes) {
            Ok(mut slo) => {
                slo.recovery_within = spec.recovery_within.map(|d| d.0);
                slos.push(slo);
            }
            Err(e) => cx.err(format!("slos[{i}].threshold"), e),
        }
    }

    let mut alerts: Vec<crate::alert::AlertRule> = Vec::new();
    for (i, spec) in f.alerts.iter().enumerate() {
        cx.name(format!("alerts[{i}].name"), &spec.name);
        if f.alerts[..i].iter().any(|a| a.name == spec.name) {
            cx.err(format!("alerts[{i}].name"), format!("a name no other alert has, found \"{}\" again", spec.name));
        }
        match crate::slo::Slo::parse(&spec.expr, &routes) {
            Ok(expr) => alerts.push(crate::alert::AlertRule {
                name: spec.name.clone(),
                expr,
                for_: spec.for_.map_or(SimDuration::ZERO, |d| d.0),
            }),
            Err(e) => cx.err(format!("alerts[{i}].expr"), e),
        }
    }

    let trace_sampling = cx.percent(
        "tracing.sampling".into(),
        f.tracing.as_ref().and_then(|t| t.sampling),
        100.0 * crate::trace::DEFAULT_SAMPLE_RATE,
    );

    let mut invariants = Vec::new();
    for (i, text) in f.invariants.iter().enumerate() {
        match crate::invariant::Invariant::parse(text, &routes) {
            Ok(inv) => invariants.push(inv),
            Err(e) => cx.err(format!("invariants[{i}]"), e),
        }
    }

    if !cx.issues.is_empty() {
        return Err(cx.issues);
    }
    Ok(Scenario {
        name: f.name,
        description: f.description,
        source: file.to_string(),
        seed: f.seed.unwrap_or(DEFAULT_SEED),
        run,
        metrics_interval,
        zones: zones.0.into_keys().collect(),
        topology,
        network,
        gateway: Gateway { zone: gateway_zone, routes, rate_limit: gateway_limit },
        services,
        endpoints,
        instances,
        policies,
        workload,
        faults,
        discovery,
        lifecycle,
        config_changes,
        slos,
        chaos,
        alerts,
        trace_sampling,
        invariants,
        headers,
        rollouts,
        security,
    })
}

/// Control-plane pushes: each applies call-level overrides (timeout, retry, hedging,
/// fallback, deadline propagation) on top of the policies before it. Settings that live
/// in a proxy's state (balancer, breaker, bulkhead, outlier detection, retry budget) and
/// fallbacks to another service (which need a proxy of their own) cannot change.
#[allow(clippy::too_many_arguments)]
fn validate_config_changes(
    cx: &mut Ctx,
    specs: &[raw::ConfigChangeSpec],
    routes: &[Route],
    policies: &Policies,
    service_ids: &IndexMap<&str, ServiceId>,
    endpoint_ids: &IndexMap<(&str, &str), EndpointId>,
    services: &[Service],
    endpoint_defs: &[Endpoint],
) -> Vec<ConfigChange> {
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

fn validate_discovery(
    cx: &mut Ctx,
    d: Option<&raw::DiscoverySpec>,
    zones: &mut Zones,
    gateway_zone: ZoneId,
) -> Discovery {
    use crate::discovery::RefreshConfig;
    use crate::discovery::registry::RegistryConfig;
    let p = "discovery";
    let Some(d) = d else {
        return Discovery {
            mode: DiscoveryMode::Ideal,
            refresh: RefreshConfig { interval: SimDuration::from_secs(30), jitter: SimDuration::ZERO },
            registry: None,
            health_check: None,
        };
    };
    let mode = match d.mode {
        None | Some(raw::DiscoveryModeSpec::Ideal) => DiscoveryMode::Ideal,
        Some(raw::DiscoveryModeSpec::Client) => DiscoveryMode::Client,
        Some(raw::DiscoveryModeSpec::Server) => DiscoveryMode::Server,
    };
    let refresh = RefreshConfig {
        interval: d.refresh_interval.map_or(SimDuration::from_secs(30), |x| x.0),
        jitter: d.refresh_jitter.map_or(SimDuration::ZERO, |x| x.0),
    };
    if refresh.interval.is_zero() {
        cx.err(format!("{p}.refreshInterval"), "a refresh interval greater than zero");
    }
    if mode == DiscoveryMode::Ideal {
        for (field, set) in [
            ("refreshInterval", d.refresh_interval.is_some()),
            ("refreshJitter", d.refresh_jitter.is_some()),
            ("registry", d.registry.is_some()),
        ] {
            if set {
                cx.err(format!("{p}.{field}"), "nothing with mode \"ideal\", where proxies need no registry");
            }
        }
    } else if d.registry.is_none() {
        cx.err(format!("{p}.registry"), format!("a registry for the \"{}\" mode", kind_name(d.mode)));
    }
    let registry = d.registry.as_ref().filter(|_| mode != DiscoveryMode::Ideal).and_then(|r| {
        use raw::RegistryKind as K;
        let rp = format!("{p}.registry");
        let (takes, requires): (&[&str], &[&str]) = match r.kind {
            K::Consul => (&["zone", "ttl", "heartbeatInterval", "latency", "readTimeout"], &[]),
            K::Eureka => (&["zone", "ttl", "heartbeatInterval", "evictionInterval", "latency", "readTimeout"], &[]),
            K::Registrar => (&["zone", "latency", "readTimeout"], &[]),
        };
        let present = [
            ("latency", r.latency.is_some()),
            ("readTimeout", r.read_timeout.is_some()),
            ("zone", r.zone.is_some()),
            ("ttl", r.ttl.is_some()),
            ("heartbeatInterval", r.heartbeat_interval.is_some()),
            ("evictionInterval", r.eviction_interval.is_some()),
        ];
        if !cx.params(&rp, &format!("the {} registry", kind_name(r.kind)), takes, requires, &present) {
            return None;
        }
        let zone = r.zone.as_deref().map_or(gateway_zone, |z| zones.id(z));
        let (config, heartbeat) = match r.kind {
            K::Consul => {
                let ttl = r.ttl.map_or(SimDuration::from_secs(30), |x| x.0);
                (
                    RegistryConfig::consul_ttl(ttl),
                    Some(r.heartbeat_interval.map_or(SimDuration::from_secs(10), |x| x.0)),
                )
            }
            K::Eureka => {
                let mut c = RegistryConfig::eureka();
                if let Some(t) = r.ttl {
                    c.ttl = Some(t.0);
                }
                if let Some(e) = r.eviction_interval {
                    c.eviction_interval = Some(e.0);
                }
                (c, Some(r.heartbeat_interval.map_or(SimDuration::from_secs(30), |x| x.0)))
            }
            K::Registrar => (RegistryConfig::registrar(), None),
        };
        for (field, v) in
            [("ttl", r.ttl), ("heartbeatInterval", r.heartbeat_interval), ("evictionInterval", r.eviction_interval)]
        {
            if v.is_some_and(|x| x.0.is_zero()) {
                cx.err(format!("{rp}.{field}"), "a duration greater than zero");
                return None;
            }
        }
        if let Err(e) = config.validate() {
            cx.err(rp, e);
            return None;
        }
        let latency =
            r.latency.as_ref().map_or(Dist::Constant(SimDuration::ZERO), |d| cx.dist(&format!("{rp}.latency"), d));
        let read_timeout = r.read_timeout.map_or(SimDuration::from_secs(1), |d| d.0);
        if read_timeout.is_zero() {
            cx.err(format!("{rp}.readTimeout"), "a duration greater than zero");
            return None;
        }
        Some(RegistryModel { config, heartbeat_interval: heartbeat, zone, latency, read_timeout })
    });
    let mut registry = registry;
    let health_check = d.health_check.as_ref().and_then(|h| {
        use crate::discovery::health::HealthCheckConfig;
        let hp = format!("{p}.healthCheck");
        let by = match h.by {
            raw::CheckBySpec::Proxy => CheckBy::Proxy,
            raw::CheckBySpec::Registry => CheckBy::Registry,
        };
        if by == CheckBy::Registry {
            match registry.as_mut() {
                Some(r) => r.config.active_checks = true,
                None => {
                    cx.err(format!("{hp}.by"), "\"proxy\": checks by the registry need a registry");
                    return None;
                }
            }
        }
        let mut config = HealthCheckConfig::new(
            h.interval.map_or(SimDuration::from_secs(5), |x| x.0),
            h.timeout.map_or(SimDuration::from_secs(1), |x| x.0),
            h.unhealthy_threshold.unwrap_or(3),
            h.healthy_threshold.unwrap_or(2),
        );
        if let Some(j) = h.interval_jitter {
            config.interval_jitter = j.0;
        }
        config.unhealthy_interval = h.unhealthy_interval.map(|x| x.0);
        if let Err(e) = config.validate() {
            cx.err(hp, e);
            return None;
        }
        Some((by, config))
    });
    Discovery { mode, refresh, registry, health_check }
}

fn probes(cx: &mut Ctx, path: &str, spec: &raw::ProbesSpec) -> Option<crate::discovery::probe::ProbeSetConfig> {
    use crate::discovery::probe::{ProbeConfig, ProbeKind, ProbeSetConfig};
    let one = |cx: &mut Ctx, kind: ProbeKind, p: &Option<raw::ProbeSpec>| -> Option<Option<ProbeConfig>> {
        let Some(p) = p else { return Some(None) };
        let d = ProbeConfig::default();
        let config = ProbeConfig {
            period: p.period.map_or(d.period, |x| x.0),
            timeout: p.timeout.map_or(d.timeout, |x| x.0),
            failure_threshold: p.failure_threshold.unwrap_or(d.failure_threshold),
            success_threshold: p.success_threshold.unwrap_or(d.success_threshold),
            initial_delay: p.initial_delay.map_or(d.initial_delay, |x| x.0),
        };
        match config.validate(kind) {
            Ok(()) => Some(Some(config)),
            Err(e) => {
                let field = match kind {
                    ProbeKind::Startup => "startup",
                    ProbeKind::Readiness => "readiness",
                    ProbeKind::Liveness => "liveness",
                };
                cx.err(format!("{path}.{field}"), e);
                None
            }
        }
    };
    Some(ProbeSetConfig {
        startup: one(cx, ProbeKind::Startup, &spec.startup)?,
        readiness: one(cx, ProbeKind::Readiness, &spec.readiness)?,
        liveness: one(cx, ProbeKind::Liveness, &spec.liveness)?,
    })
}

fn validate_lifecycle(
    cx: &mut Ctx,
    specs: &[raw::LifecycleSpec],
    service_ids: &IndexMap<&str, ServiceId>,
    services: &[Service],
    instances: &[Instance],
) -> Vec<LifecycleAction> {
    use raw::LifecycleKind as K;
    let mut out = Vec::new();
    for (i, l) in specs.iter().enumerate() {
        let p = format!("lifecycle[{i}]");
        let (takes, requires): (&[&str], &[&str]) = match l.action {
            K::Scale => (&["service", "replicas"], &["service", "replicas"]),
            _ => (&["instance"], &["instance"]),
        };
        let present =
            [("instance", l.instance.is_some()), ("service", l.service.is_some()), ("replicas", l.replicas.is_some())];
        if !cx.params(&p, &format!("the {} action", kind_name(l.action)), takes, requires, &present) {
            continue;
        }
        let at = SimTime::ZERO + l.at.0;
        let instance = || -> Result<InstanceId, String> {
            let name = l.instance.as_deref().unwrap_or("");
            instances.iter().position(|x| x.name == name).map(|k| InstanceId(k as u32)).ok_or_else(|| {
                let known: Vec<&str> = instances.iter().take(12).map(|x| x.name.as_str()).collect();
                format!("a known instance such as {}, found {name:?}", known.join(", "))
            })
        };
        let action = match l.action {
            K::Scale => {
                let name = l.service.as_deref().unwrap_or("");
                let Some(&service) = service_ids.get(name) else {
                    cx.err(format!("{p}.service"), unknown("service", name, service_ids.keys().copied()));
                    continue;
                };
                let n = l.replicas.unwrap_or(0);
                let max = services[service.idx()].instances.len() as u32;
                if n > max {
                    cx.err(
                        format!("{p}.replicas"),
                        format!("at most the service's {max} instances (raise its maxReplicas), found {n}"),
                    );
                    continue;
                }
                Lifecycle::Scale { service, replicas: n }
            }
            kind => match instance() {
                Err(e) => {
                    cx.err(format!("{p}.instance"), e);
                    continue;
                }
                Ok(instance) => match kind {
                    K::Crash => Lifecycle::Crash { instance, hang: false },
                    K::Hang => Lifecycle::Crash { instance, hang: true },
                    K::Stop => Lifecycle::Stop { instance },
                    _ => Lifecycle::Start { instance },
                },
            },
        };
        out.push(LifecycleAction { at, action });
    }
    // In time order; a stable sort keeps the file's order for ties.
    out.sort_by_key(|a| a.at);
    out
}

/// The JSON name of a `type` enum value, such as `"lognormal"`.
fn kind_name<T: serde::Serialize>(kind: T) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

fn unknown<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = known.collect();
    format!("a known {what}, found \"{name}\" (known: {})", list.join(", "))
}

fn validate_run(cx: &mut Ctx, r: &raw::RunSpec) -> RunLimits {
    let duration = r.duration.map(|d| cx.positive_duration("run.duration".into(), d.0));
    if r.requests == Some(0) {
        cx.err("run.requests", "at least 1 request, found 0");
    }
    if duration.is_none() && r.requests.is_none() {
        cx.err("run", "a stop condition: \"duration\", \"requests\" or both");
    }
    let warmup = r.warmup.map_or(SimDuration::ZERO, |d| d.0);
    if let Some(d) = duration
        && warmup >= d
        && !d.is_zero()
    {
        cx.err("run.warmup", format!("a warm-up shorter than the duration {d}, found {warmup}"));
    }
    let events_max = r.events_max.unwrap_or(DEFAULT_EVENTS_MAX);
    if events_max == 0 {
        cx.err("run.eventsMax", "at least 1 event, found 0");
    }
    let in_flight_max = r.in_flight_max.unwrap_or(DEFAULT_IN_FLIGHT_MAX);
    if in_flight_max == 0 {
        cx.err("run.inFlightMax", "at least 1 request in flight, found 0");
    }
    RunLimits {
        duration,
        requests: r.requests,
        warmup,
        drain_timeout: r.drain_timeout.map_or(DEFAULT_DRAIN_TIMEOUT, |d| d.0),
        events_max,
        in_flight_max,
    }
}

fn validate_routes(
    cx: &mut Ctx,
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

fn validate_network(cx: &mut Ctx, spec: Option<&raw::NetworkSpec>, zones: &mut Zones) -> Network {
    let default_latency = match spec.and_then(|n| n.latency.as_ref()) {
        Some(d) => cx.dist("network.latency", d),
        None => Dist::Constant(SimDuration::ZERO),
    };
    let default_loss = cx.percent("network.loss".into(), spec.and_then(|n| n.loss), 0.0);
    let n = zones.0.len();
    let known: Vec<String> = zones.0.keys().cloned().collect();
    // One link per unordered zone pair, stored with the pair sorted (a canonical key).
    let mut links: Vec<Link> = Vec::new();
    let mut link_of = vec![LinkId(0); n * n];
    for a in 0..n {
        for b in a..n {
            let name = format!("{}|{}", known[a], known[b]);
            link_of[a * n + b] = LinkId(links.len() as u32);
            link_of[b * n + a] = LinkId(links.len() as u32);
            links.push(Link { name, latency: default_latency.clone(), loss: default_loss });
        }
    }
    for (i, l) in spec.map(|n| n.links.as_slice()).unwrap_or(&[]).iter().enumerate() {
        let p = format!("network.links[{i}]");
        if l.between.len() != 2 {
            cx.err(format!("{p}.between"), format!("two zone names, found {}", l.between.len()));
            continue;
        }
        let mut ids = Vec::new();
        for (k, z) in l.between.iter().enumerate() {
            match zones.0.get_index_of(z.as_str()) {
                Some(id) => ids.push(id),
                None => cx.err(format!("{p}.between[{k}]"), unknown("zone", z, known.iter().map(String::as_str))),
            }
        }
        if ids.len() != 2 {
            continue;
        }
        let link = &mut links[link_of[ids[0] * n + ids[1]].idx()];
        if let Some(d) = &l.latency {
            link.latency = cx.dist(&format!("{p}.latency"), d);
        }
        if l.loss.is_some() {
            link.loss = cx.percent(format!("{p}.loss"), l.loss, 0.0);
        }
    }
    Network { links, link_of, zone_count: n }
}

fn balancer(cx: &mut Ctx, path: &str, spec: &raw::LoadBalancerSpec) -> BalancerConfig {
    use raw::BalancerKind as K;
    let takes: &[&str] = match spec.kind {
        K::PeakEwma => &["decay", "defaultRtt"],
        K::RingHash => &["minimumRingSize"],
        _ => &[],
    };
    let present = [
        ("decay", spec.decay.is_some()),
        ("defaultRtt", spec.default_rtt.is_some()),
        ("minimumRingSize", spec.minimum_ring_size.is_some()),
    ];
    cx.params(path, &format!("the {} balancer", kind_name(spec.kind)), takes, &[], &present);
    match spec.kind {
        K::RoundRobin => BalancerConfig::RoundRobin,
        K::WeightedRoundRobin => BalancerConfig::WeightedRoundRobin,
        K::Random => BalancerConfig::Random,
        K::LeastOutstanding => BalancerConfig::LeastOutstanding,
        K::P2c => BalancerConfig::P2c,
        K::PeakEwma => BalancerConfig::PeakEwma {
            decay: cx.positive_duration(format!("{path}.decay"), spec.decay.map_or(DEFAULT_EWMA_DECAY, |d| d.0)),
            default_rtt: spec.default_rtt.map_or(DEFAULT_EWMA_RTT, |d| d.0),
        },
        K::RingHash => {
            let size = spec.minimum_ring_size.unwrap_or(DEFAULT_RING_SIZE);
            if size == 0 || size > MAX_RING_SIZE {
                cx.err(
                    format!("{path}.minimumRingSize"),
                    format!("a ring size from 1 to {MAX_RING_SIZE}, found {size}"),
                );
            }
            BalancerConfig::RingHash { minimum_ring_size: size.clamp(1, MAX_RING_SIZE) }
        }
    }
}

/// Attempts allowed per call at most, retries included.
pub const MAX_ATTEMPTS_MAX: u32 = 100;

/// gRPC clamps hedging's maxAttempts to 5.
pub const HEDGES_MAX: u32 = 5;

fn hedging(cx: &mut Ctx, path: &str, h: &raw::HedgingSpec) -> Option<HedgingPolicy> {
    let max_attempts = h.max_attempts.unwrap_or(2);
    if !(2..=HEDGES_MAX).contains(&max_attempts) {
        cx.err(
            format!("{path}.maxAttempts"),
            format!("from 2 to {HEDGES_MAX} attempts (gRPC's bound), found {max_attempts}"),
        );
        return None;
    }
    let non_fatal = retry_conditions(cx, &format!("{path}.nonFatal"), h.non_fatal.as_deref(), RetryOn::default());
    Some(HedgingPolicy { max_attempts, delay: h.hedging_delay.map_or(SimDuration::ZERO, |d| d.0), non_fatal })
}

/// Retry conditions by name; `default` when the list is absent.
fn retry_conditions(cx: &mut Ctx, path: &str, names: Option<&[String]>, default: RetryOn) -> RetryOn {
    let Some(list) = names else { return default };
    let mut set = RetryOn::default();
    for (i, name) in list.iter().enumerate() {
        match RetryOn::NAMES.iter().find(|(n, _)| n == name) {
            Some(&(_, c)) => set.0 |= c.0,
            None => {
                let known: Vec<&str> = RetryOn::NAMES.iter().map(|(n, _)| *n).collect();
                cx.err(
                    format!("{path}[{i}]"),
                    format!("a retry condition among {}, found \"{name}\"", known.join(", ")),
                );
            }
        }
    }
    set
}

fn retry(cx: &mut Ctx, path: &str, r: &raw::RetrySpec) -> RetryPolicy {
    let max_attempts = r.max_attempts.unwrap_or(3);
    if max_attempts == 0 || max_attempts > MAX_ATTEMPTS_MAX {
        cx.err(
            format!("{path}.maxAttempts"),
            format!("from 1 to {MAX_ATTEMPTS_MAX} attempts (the first included), found {max_attempts}"),
        );
    }
    let retry_on = retry_conditions(cx, &format!("{path}.retryOn"), r.retry_on.as_deref(), RetryOn::SERVER_ERROR);
    RetryPolicy {
        backoff: r.backoff.as_ref().map_or(BackoffConfig::None, |b| backoff(cx, &format!("{path}.backoff"), b)),
        max_attempts: max_attempts.clamp(1, MAX_ATTEMPTS_MAX),
        retry_on,
        per_try_timeout: r.per_try_timeout.map(|t| cx.positive_duration(format!("{path}.perTryTimeout"), t.0)),
        avoid_previous_hosts: r.avoid_previous_hosts.unwrap_or(false),
    }
}

/// Default cap of the capped backoffs: the AWS SDKs' 20 s maximum backoff.
pub const DEFAULT_BACKOFF_CAP: SimDuration = SimDuration::from_secs(20);

fn backoff(cx: &mut Ctx, path: &str, b: &raw::BackoffSpec) -> BackoffConfig {
    use raw::BackoffKind as K;
    let (takes, requires): (&[&str], &[&str]) = match b.kind {
        K::None => (&[], &[]),
        K::Constant | K::Linear => (&["base"], &["base"]),
        K::Fibonacci | K::AwsFullJitter | K::AwsEqualJitter | K::AwsDecorrelatedJitter => (&["base", "cap"], &["base"]),
        K::Exponential => (&["base", "multiplier", "cap"], &["base"]),
        K::Resilience4j => (&["interval", "randomizationFactor", "multiplier", "cap"], &[]),
        K::Envoy => (&["base", "max"], &[]),
        K::Grpc => (&["initial", "multiplier", "max"], &["initial", "multiplier", "max"]),
    };
    let present = [
        ("base", b.base.is_some()),
        ("cap", b.cap.is_some()),
        ("multiplier", b.multiplier.is_some()),
        ("interval", b.interval.is_some()),
        ("randomizationFactor", b.randomization_factor.is_some()),
        ("max", b.max.is_some()),
        ("initial", b.initial.is_some()),
    ];
    if !cx.params(path, &format!("the {} backoff", kind_name(b.kind)), takes, requires, &present) {
        return BackoffConfig::None;
    }
    let d = |x: Option<raw::Dur>, default: SimDuration| x.map_or(default, |d| d.0);
    let base = d(b.base, SimDuration::ZERO);
    let cap = d(b.cap, DEFAULT_BACKOFF_CAP);
    let config = match b.kind {
        K::None => BackoffConfig::None,
        K::Constant => BackoffConfig::Constant { base },
        K::Linear => BackoffConfig::Linear { base },
        K::Fibonacci => BackoffConfig::Fibonacci { base, cap },
        K::Exponential => BackoffConfig::Exponential { base, multiplier: b.multiplier.unwrap_or(2.0), cap },
        K::AwsFullJitter => BackoffConfig::AwsFullJitter { base, cap },
        K::AwsEqualJitter => BackoffConfig::AwsEqualJitter { base, cap },
        K::AwsDecorrelatedJitter => BackoffConfig::AwsDecorrelatedJitter { base, cap },
        K::Resilience4j => match BackoffConfig::resilience4j_randomized_default() {
            BackoffConfig::Resilience4jRandomized { interval, randomization_factor, multiplier, .. } => {
                BackoffConfig::Resilience4jRandomized {
                    interval: d(b.interval, interval),
                    randomization_factor: b.randomization_factor.unwrap_or(randomization_factor),
                    multiplier: b.multiplier.unwrap_or(multiplier),
                    cap: b.cap.map(|c| c.0),
                }
            }
            other => other,
        },
        K::Envoy => {
            let base = d(b.base, SimDuration::from_millis(25));
            BackoffConfig::Envoy { base, max: d(b.max, SimDuration(base.0.saturating_mul(10))) }
        }
        K::Grpc => BackoffConfig::Grpc {
            initial: d(b.initial, SimDuration::ZERO),
            multiplier: b.multiplier.unwrap_or(0.0),
            max: d(b.max, SimDuration::ZERO),
        },
    };
    match config.check() {
        Ok(()) => config,
        Err(msg) => {
            cx.err(path.to_string(), format!("valid {} backoff parameters: {msg}", kind_name(b.kind)));
            BackoffConfig::None
        }
    }
}

fn budget(cx: &mut Ctx, path: &str, b: &raw::BudgetSpec) -> Option<BudgetConfig> {
    use raw::BudgetKind as K;
    let (takes, requires): (&[&str], &[&str]) = match b.kind {
        K::Unlimited => (&[], &[]),
        K::Ratio => (&["retryRatio", "minRetriesPerSecond", "ttl"], &[]),
        K::Envoy => (&["budgetPercent", "minRetryConcurrency"], &[]),
        K::EnvoyMaxRetries => (&["maxRetries"], &[]),
        K::Grpc => (&["maxTokens", "tokenRatio"], &["maxTokens", "tokenRatio"]),
        K::Aws => (&["capacity", "retryCost", "timeoutRetryCost", "successRefill"], &[]),
    };
    let present = [
        ("retryRatio", b.retry_ratio.is_some()),
        ("minRetriesPerSecond", b.min_retries_per_second.is_some()),
        ("ttl", b.ttl.is_some()),
        ("budgetPercent", b.budget_percent.is_some()),
        ("minRetryConcurrency", b.min_retry_concurrency.is_some()),
        ("maxRetries", b.max_retries.is_some()),
        ("maxTokens", b.max_tokens.is_some()),
        ("tokenRatio", b.token_ratio.is_some()),
        ("capacity", b.capacity.is_some()),
        ("retryCost", b.retry_cost.is_some()),
        ("timeoutRetryCost", b.timeout_retry_cost.is_some()),
        ("successRefill", b.success_refill.is_some()),
    ];
    if !cx.params(path, &format!("the {} budget", kind_name(b.kind)), takes, requires, &present) {
        return None;
    }
    let config = match b.kind {
        K::Unlimited => return None,
        K::Ratio => BudgetConfig::Ratio {
            retry_ratio: b.retry_ratio.unwrap_or(0.2),
            min_retries_per_sec: b.min_retries_per_second.unwrap_or(10),
            ttl: b.ttl.map_or(SimDuration::from_secs(10), |d| d.0),
        },
        K::Envoy => BudgetConfig::EnvoyBudget {
            budget_percent: b.budget_percent.unwrap_or(20.0),
            min_retry_concurrency: b.min_retry_concurrency.unwrap_or(3),
        },
        K::EnvoyMaxRetries => BudgetConfig::EnvoyMaxRetries { max_retries: b.max_retries.unwrap_or(3) },
        K::Grpc => BudgetConfig::GrpcThrottle {
            max_tokens: b.max_tokens.unwrap_or(0),
            token_ratio: b.token_ratio.unwrap_or(0.0),
        },
        K::Aws => BudgetConfig::AwsQuota {
            capacity: b.capacity.unwrap_or(500),
            retry_cost: b.retry_cost.unwrap_or(5),
            timeout_retry_cost: b.timeout_retry_cost.unwrap_or(10),
            success_refill: b.success_refill.unwrap_or(1),
        },
    };
    match config.check() {
        Ok(()) => Some(config),
        Err(msg) => {
            cx.err(path.to_string(), format!("valid {} budget parameters: {msg}", kind_name(b.kind)));
            None
        }
    }
}

fn breaker(cx: &mut Ctx, path: &str, b: &raw::BreakerSpec) -> Option<BreakerPolicy> {
    use crate::resilience::breaker::{
        BreakerConfig, ConsecutiveConfig, HystrixConfig, R4jMode, Resilience4jConfig, SlidingWindow,
    };
    use raw::BreakerKind as K;
    let kind = b.semantics.unwrap_or(K::Resilience4j);
    let takes: &[&str] = match kind {
        K::Resilience4j => &[
            "failureRateThreshold",
            "slowCallRateThreshold",
            "slowCallDurationThreshold",
            "waitDurationInOpenState",
            "exponentialBackoffMultiplier",
            "exponentialMaxWaitDurationInOpenState",
            "permittedNumberOfCallsInHalfOpenState",
            "maxWaitDurationInHalfOpenState",
            "slidingWindowType",
            "slidingWindowSize",
            "minimumNumberOfCalls",
            "automaticTransitionFromOpenToHalfOpenEnabled",
            "state",
        ],
        K::Hystrix => &[
            "requestVolumeThreshold",
            "errorThresholdPercentage",
            "sleepWindow",
            "rollingWindow",
            "buckets",
            "healthSnapshotInterval",
            "forceOpen",
            "forceClosed",
        ],
        K::Consecutive => &["failureThreshold", "recoveryTimeout"],
    };
    let present = [
        ("failureRateThreshold", b.failure_rate_threshold.is_some()),
        ("slowCallRateThreshold", b.slow_call_rate_threshold.is_some()),
        ("slowCallDurationThreshold", b.slow_call_duration_threshold.is_some()),
        ("waitDurationInOpenState", b.wait_duration_in_open_state.is_some()),
        ("exponentialBackoffMultiplier", b.exponential_backoff_multiplier.is_some()),
        ("exponentialMaxWaitDurationInOpenState", b.exponential_max_wait_duration_in_open_state.is_some()),
        ("permittedNumberOfCallsInHalfOpenState", b.permitted_number_of_calls_in_half_open_state.is_some()),
        ("maxWaitDurationInHalfOpenState", b.max_wait_duration_in_half_open_state.is_some()),
        ("slidingWindowType", b.sliding_window_type.is_some()),
        ("slidingWindowSize", b.sliding_window_size.is_some()),
        ("minimumNumberOfCalls", b.minimum_number_of_calls.is_some()),
        (
            "automaticTransitionFromOpenToHalfOpenEnabled",
            b.automatic_transition_from_open_to_half_open_enabled.is_some(),
        ),
        ("state", b.state.is_some()),
        ("requestVolumeThreshold", b.request_volume_threshold.is_some()),
        ("errorThresholdPercentage", b.error_threshold_percentage.is_some()),
        ("sleepWindow", b.sleep_window.is_some()),
        ("rollingWindow", b.rolling_window.is_some()),
        ("buckets", b.buckets.is_some()),
        ("healthSnapshotInterval", b.health_snapshot_interval.is_some()),
        ("forceOpen", b.force_open.is_some()),
        ("forceClosed", b.force_closed.is_some()),
        ("failureThreshold", b.failure_threshold.is_some()),
        ("recoveryTimeout", b.recovery_timeout.is_some()),
    ];
    let ok = cx.params(path, &format!("the {} breaker", kind_name(kind)), takes, &[], &present);
    let mut failure_on = FailureOn::DEFAULT;
    if let Some(list) = &b.failure_on {
        failure_on = FailureOn(0);
        for (i, name) in list.iter().enumerate() {
            match FailureOn::NAMES.iter().find(|(n, _)| n == name) {
                Some(&(_, c)) => failure_on.0 |= c.0,
                None => {
                    let known: Vec<&str> = FailureOn::NAMES.iter().map(|(n, _)| *n).collect();
                    cx.err(
                        format!("{path}.failureOn[{i}]"),
                        format!("an outcome class among {}, found \"{name}\"", known.join(", ")),
                    );
                }
            }
        }
    }
    if !ok {
        return None;
    }
    let d = |x: Option<raw::Dur>, default: SimDuration| x.map_or(default, |d| d.0);
    let config = match kind {
        K::Resilience4j => {
            let def = Resilience4jConfig::default();
            let size = b.sliding_window_size.unwrap_or(100);
            BreakerConfig::Resilience4j(Resilience4jConfig {
                failure_rate_threshold: b.failure_rate_threshold.unwrap_or(def.failure_rate_threshold),
                slow_call_rate_threshold: b.slow_call_rate_threshold.unwrap_or(def.slow_call_rate_threshold),
                slow_call_duration_threshold: d(b.slow_call_duration_threshold, def.slow_call_duration_threshold),
                wait_duration_in_open_state: d(b.wait_duration_in_open_state, def.wait_duration_in_open_state),
                wait_interval_multiplier: b.exponential_backoff_multiplier.unwrap_or(def.wait_interval_multiplier),
                wait_duration_max: b.exponential_max_wait_duration_in_open_state.map(|x| x.0).or(def.wait_duration_max),
                permitted_calls_in_half_open_state: b
                    .permitted_number_of_calls_in_half_open_state
                    .unwrap_or(def.permitted_calls_in_half_open_state),
                max_wait_duration_in_half_open_state: d(
                    b.max_wait_duration_in_half_open_state,
                    def.max_wait_duration_in_half_open_state,
                ),
                sliding_window: match b.sliding_window_type {
                    Some(raw::SlidingWindowType::TimeBased) => SlidingWindow::TimeBased { seconds: size },
                    _ => SlidingWindow::CountBased { size },
                },
                minimum_number_of_calls: b.minimum_number_of_calls.unwrap_or(def.minimum_number_of_calls),
                automatic_transition_from_open_to_half_open: b
                    .automatic_transition_from_open_to_half_open_enabled
                    .unwrap_or(def.automatic_transition_from_open_to_half_open),
                mode: match b.state {
                    Some(raw::BreakerStateSpec::Disabled) => R4jMode::Disabled,
                    Some(raw::BreakerStateSpec::ForcedOpen) => R4jMode::ForcedOpen,
                    Some(raw::BreakerStateSpec::MetricsOnly) => R4jMode::MetricsOnly,
                    _ => R4jMode::Normal,
                },
            })
        }
        K::Hystrix => {
            let def = HystrixConfig::default();
            BreakerConfig::Hystrix(HystrixConfig {
                request_volume_threshold: b.request_volume_threshold.unwrap_or(def.request_volume_threshold),
                error_threshold_percentage: b.error_threshold_percentage.unwrap_or(def.error_threshold_percentage),
                sleep_window: d(b.sleep_window, def.sleep_window),
                rolling_window: d(b.rolling_window, def.rolling_window),
                buckets: b.buckets.unwrap_or(def.buckets),
                health_snapshot_interval: d(b.health_snapshot_interval, def.health_snapshot_interval),
                force_open: b.force_open.unwrap_or(def.force_open),
                force_closed: b.force_closed.unwrap_or(def.force_closed),
            })
        }
        K::Consecutive => {
            let def = ConsecutiveConfig::default();
            BreakerConfig::ConsecutiveFailures(ConsecutiveConfig {
                failure_threshold: b.failure_threshold.unwrap_or(def.failure_threshold),
                recovery_timeout: d(b.recovery_timeout, def.recovery_timeout),
            })
        }
    };
    if let Err(msg) = config.validate() {
        cx.err(path.to_string(), format!("valid {} breaker parameters: {msg}", kind_name(kind)));
        return None;
    }
    let scope = match b.scope {
        Some(raw::BreakerScopeSpec::Endpoint) => BreakerScope::Endpoint,
        Some(raw::BreakerScopeSpec::Instance) => BreakerScope::Instance,
        _ => BreakerScope::Service,
    };
    Some(BreakerPolicy { config, scope, failure_on })
}

fn bulkhead(cx: &mut Ctx, path: &str, b: &raw::BulkheadSpec) -> Option<BulkheadConfig> {
    use raw::BulkheadKind as K;
    let takes: &[&str] = match b.kind {
        K::Semaphore => &["maxConcurrentCalls", "maxWaitDuration"],
        K::ThreadPool => &["maxThreadPoolSize", "coreThreadPoolSize", "queueCapacity", "keepAliveDuration"],
        K::Envoy => &["maxConnections", "maxPendingRequests", "maxRequests", "http2"],
    };
    let present = [
        ("maxConcurrentCalls", b.max_concurrent_calls.is_some()),
        ("maxWaitDuration", b.max_wait_duration.is_some()),
        ("maxThreadPoolSize", b.max_thread_pool_size.is_some()),
        ("coreThreadPoolSize", b.core_thread_pool_size.is_some()),
        ("queueCapacity", b.queue_capacity.is_some()),
        ("keepAliveDuration", b.keep_alive_duration.is_some()),
        ("maxConnections", b.max_connections.is_some()),
        ("maxPendingRequests", b.max_pending_requests.is_some()),
        ("maxRequests", b.max_requests.is_some()),
        ("http2", b.http2.is_some()),
    ];
    if !cx.params(path, &format!("the {} bulkhead", kind_name(b.kind)), takes, &[], &present) {
        return None;
    }
    let config = match b.kind {
        K::Semaphore => match BulkheadConfig::resilience4j_semaphore() {
            BulkheadConfig::Semaphore { max_concurrent_calls, max_wait } => BulkheadConfig::Semaphore {
                max_concurrent_calls: b.max_concurrent_calls.unwrap_or(max_concurrent_calls),
                max_wait: b.max_wait_duration.map_or(max_wait, |d| d.0),
            },
            other => other,
        },
        K::ThreadPool => match BulkheadConfig::resilience4j_thread_pool() {
            BulkheadConfig::ThreadPool { max_threads, core_threads, queue_capacity, keep_alive } => {
                BulkheadConfig::ThreadPool {
                    max_threads: b.max_thread_pool_size.unwrap_or(max_threads),
                    core_threads: b.core_thread_pool_size.unwrap_or(core_threads),
                    queue_capacity: b.queue_capacity.unwrap_or(queue_capacity),
                    keep_alive: b.keep_alive_duration.map_or(keep_alive, |d| d.0),
                }
            }
            other => other,
        },
        K::Envoy => match BulkheadConfig::envoy_circuit_breakers() {
            BulkheadConfig::EnvoyPool { max_connections, max_pending_requests, max_requests, max_retries, http2 } => {
                BulkheadConfig::EnvoyPool {
                    max_connections: b.max_connections.unwrap_or(max_connections),
                    max_pending_requests: b.max_pending_requests.unwrap_or(max_pending_requests),
                    max_requests: b.max_requests.unwrap_or(max_requests),
                    max_retries,
                    http2: b.http2.unwrap_or(http2),
                }
            }
            other => other,
        },
    };
    // The libraries' own checks: a bulkhead needs at least one permit.
    let permits = match config {
        BulkheadConfig::Semaphore { max_concurrent_calls, .. } => max_concurrent_calls,
        BulkheadConfig::ThreadPool { max_threads, core_threads, .. } => {
            if core_threads == 0 {
                cx.err(format!("{path}.coreThreadPoolSize"), "at least 1 core thread, found 0");
                return None;
            }
            if core_threads > max_threads {
                cx.err(
                    format!("{path}.coreThreadPoolSize"),
                    format!("at most maxThreadPoolSize ({max_threads}) core threads, found {core_threads}"),
                );
                return None;
            }
            max_threads
        }
        BulkheadConfig::EnvoyPool { max_requests, max_connections, .. } => max_requests.min(max_connections),
    };
    if permits == 0 {
        cx.err(path.to_string(), "a bulkhead with at least one permit (thread, connection or request)");
        return None;
    }
    Some(config)
}

fn outlier(cx: &mut Ctx, path: &str, o: &raw::OutlierSpec) -> Option<OutlierPolicy> {
    use crate::resilience::outlier::{FailurePercentageConfig, OutlierConfig, SuccessRateConfig};
    let def = OutlierConfig::default();
    let mut ok = true;
    let mut pct = |cx: &mut Ctx, field: &str, v: Option<f64>, default: f64| match v {
        None => default,
        Some(x) if (0.0..=100.0).contains(&x) => x,
        Some(x) => {
            cx.err(format!("{path}.{field}"), format!("a percentage from 0 to 100, found {x}"));
            ok = false;
            default
        }
    };
    let enforcing_consecutive_5xx =
        pct(cx, "enforcingConsecutive5xx", o.enforcing_consecutive_5xx, def.enforcing_consecutive_5xx);
    let enforcing_consecutive_gateway_failure = pct(
        cx,
        "enforcingConsecutiveGatewayFailure",
        o.enforcing_consecutive_gateway_failure,
        def.enforcing_consecutive_gateway_failure,
    );
    let max_ejection_percent = pct(cx, "maxEjectionPercent", o.max_ejection_percent, def.max_ejection_percent);
    let healthy_panic_threshold = pct(cx, "healthyPanicThreshold", o.healthy_panic_threshold, 50.0);
    let sr = SuccessRateConfig::default();
    let success_rate = SuccessRateConfig {
        minimum_hosts: o.success_rate_minimum_hosts.unwrap_or(sr.minimum_hosts),
        request_volume: o.success_rate_request_volume.unwrap_or(sr.request_volume),
        stdev_factor: o.success_rate_stdev_factor.unwrap_or(sr.stdev_factor),
        enforcing: pct(cx, "enforcingSuccessRate", o.enforcing_success_rate, sr.enforcing),
        ..sr
    };
    let fp = FailurePercentageConfig::default();
    let failure_percentage = FailurePercentageConfig {
        threshold: o.failure_percentage_threshold.unwrap_or(fp.threshold),
        minimum_hosts: o.failure_percentage_minimum_hosts.unwrap_or(fp.minimum_hosts),
        request_volume: o.failure_percentage_request_volume.unwrap_or(fp.request_volume),
        enforcing: pct(cx, "enforcingFailurePercentage", o.enforcing_failure_percentage, fp.enforcing),
        ..fp
    };
    let config = OutlierConfig {
        consecutive_5xx: o.consecutive_5xx.unwrap_or(def.consecutive_5xx),
        consecutive_gateway_failure: o.consecutive_gateway_failure.unwrap_or(def.consecutive_gateway_failure),
        enforcing_consecutive_5xx,
        enforcing_consecutive_gateway_failure,
        interval: cx.positive_duration(format!("{path}.interval"), o.interval.map_or(def.interval, |d| d.0)),
        base_ejection_time: o.base_ejection_time.map_or(def.base_ejection_time, |d| d.0),
        max_ejection_time: o.max_ejection_time.map_or(def.max_ejection_time, |d| d.0),
        max_ejection_percent,
        success_rate: Some(success_rate),
        failure_percentage: Some(failure_percentage),
        ..def
    };
    if config.max_ejection_time < config.base_ejection_time {
        cx.err(
            format!("{path}.maxEjectionTime"),
            format!("at least baseEjectionTime ({}), found {}", config.base_ejection_time, config.max_ejection_time),
        );
        return None;
    }
    if !ok || config.interval.is_zero() {
        return None;
    }
    Some(OutlierPolicy { config, healthy_panic_threshold })
}

/// A gateway limiter: a `scope` means nothing there.
fn gateway_limiter(cx: &mut Ctx, path: &str, l: &raw::LimiterSpec) -> Option<LimiterConfig> {
    if l.scope.is_some() {
        cx.err(format!("{path}.scope"), "no scope: the gateway's limiters are its own (scope is for services)");
        return None;
    }
    limiter(cx, path, l)
}

fn shedder(cx: &mut Ctx, path: &str, l: &raw::ShedderSpec) -> Option<(ShedderConfig, u16)> {
    use raw::ShedderKind as K;
    let (takes, requires, name): (&[&str], &[&str], _) = match l.kind {
        K::QueueBound => (&["maxQueue", "status"], &["maxQueue"], "queue-bound"),
        K::Codel => (&["target", "interval", "status"], &[], "codel"),
        K::AdaptiveCodel => (&["target", "interval", "status"], &[], "adaptive-codel"),
    };
    let present = [
        ("maxQueue", l.max_queue.is_some()),
        ("target", l.target.is_some()),
        ("interval", l.interval.is_some()),
        ("status", l.status.is_some()),
    ];
    if !cx.params(path, &format!("the {name} shedder"), takes, requires, &present) {
        return None;
    }
    let status = cx.status(format!("{path}.status"), l.status, 503);
    let config = match l.kind {
        K::QueueBound => ShedderConfig::QueueBound { max_queue: l.max_queue.unwrap_or(0) },
        K::Codel | K::AdaptiveCodel => {
            let (target, interval) = (
                l.target.map_or(SimDuration::from_millis(5), |d| d.0),
                l.interval.map_or(SimDuration::from_millis(100), |d| d.0),
            );
            if target.is_zero() {
                cx.err(format!("{path}.target"), "a target delay greater than zero");
                return None;
            }
            if interval.is_zero() {
                cx.err(format!("{path}.interval"), "an interval greater than zero");
                return None;
            }
            if target > interval {
                cx.err(
                    format!("{path}.target"),
                    format!("a target no longer than the interval ({interval}), found {target}"),
                );
                return None;
            }
            if l.kind == K::Codel {
                ShedderConfig::Codel { target, interval }
            } else {
                ShedderConfig::AdaptiveCodel { target, interval }
            }
        }
    };
    Some((config, status))
}

fn limiter(cx: &mut Ctx, path: &str, l: &raw::LimiterSpec) -> Option<LimiterConfig> {
    use raw::LimiterKind as K;
    let (takes, requires): (&[&str], &[&str]) = match l.kind {
        K::TokenBucket => (&["capacity", "refillPerSecond", "maxWait"], &["capacity", "refillPerSecond"]),
        K::Resilience4j => (&["limitForPeriod", "limitRefreshPeriod", "timeoutDuration"], &[]),
    };
    let present = [
        ("capacity", l.capacity.is_some()),
        ("refillPerSecond", l.refill_per_second.is_some()),
        ("maxWait", l.max_wait.is_some()),
        ("limitForPeriod", l.limit_for_period.is_some()),
        ("limitRefreshPeriod", l.limit_refresh_period.is_some()),
        ("timeoutDuration", l.timeout_duration.is_some()),
    ];
    if !cx.params(path, &format!("the {} limiter", kind_name(l.kind)), takes, requires, &present) {
        return None;
    }
    match l.kind {
        K::TokenBucket => {
            let (capacity, rate) = (l.capacity.unwrap_or(0.0), l.refill_per_second.unwrap_or(0.0));
            if !(capacity.is_finite() && (1.0..=1e12).contains(&capacity)) {
                cx.err(format!("{path}.capacity"), format!("a bucket of 1 to 1e12 tokens, found {capacity}"));
                return None;
            }
            if !(rate.is_finite() && rate > 0.0 && rate <= 1e12) {
                cx.err(
                    format!("{path}.refillPerSecond"),
                    format!("a refill rate above 0 and at most 1e12 a second, found {rate}"),
                );
                return None;
            }
            Some(LimiterConfig::TokenBucket {
                capacity,
                refill_per_sec: rate,
                max_wait: l.max_wait.map_or(SimDuration::ZERO, |d| d.0),
            })
        }
        K::Resilience4j => match LimiterConfig::default() {
            LimiterConfig::Resilience4j { limit_for_period, limit_refresh_period, timeout } => {
                let config = LimiterConfig::Resilience4j {
                    limit_for_period: l.limit_for_period.unwrap_or(limit_for_period),
                    limit_refresh_period: l.limit_refresh_period.map_or(limit_refresh_period, |d| d.0),
                    timeout: l.timeout_duration.map_or(timeout, |d| d.0),
                };
                if let LimiterConfig::Resilience4j { limit_for_period: 0, .. } = config {
                    cx.err(format!("{path}.limitForPeriod"), "at least 1 permit a period, found 0");
                    return None;
                }
                if let LimiterConfig::Resilience4j { limit_refresh_period, .. } = config
                    && limit_refresh_period.is_zero()
                {
                    cx.err(format!("{path}.limitRefreshPeriod"), "a period greater than zero");
                    return None;
                }
                Some(config)
            }
            other => Some(other),
        },
    }
}

fn fallback(
    cx: &mut Ctx,
    path: &str,
    fb: &raw::FallbackSpec,
    service_ids: &IndexMap<&str, ServiceId>,
    endpoint_ids: &IndexMap<(&str, &str), EndpointId>,
    endpoints: &[Endpoint],
) -> Option<Fallback> {
    use raw::FallbackKind as K;
    let (takes, requires): (&[&str], &[&str]) = match fb.kind {
        K::DefaultValue => (&[], &[]),
        K::Cache => (&["ttl"], &["ttl"]),
        K::Service => (&["service", "endpoint"], &["service", "endpoint"]),
        K::Queue => (&["delay", "maxRedeliveries"], &["delay"]),
    };
    let present = [
        ("ttl", fb.ttl.is_some()),
        ("service", fb.service.is_some()),
        ("endpoint", fb.endpoint.is_some()),
        ("delay", fb.delay.is_some()),
        ("maxRedeliveries", fb.max_redeliveries.is_some()),
    ];
    if !cx.params(path, &format!("the {} fallback", kind_name(fb.kind)), takes, requires, &present) {
        return None;
    }
    match fb.kind {
        K::DefaultValue => Some(Fallback::DefaultValue),
        K::Cache => Some(Fallback::Cache {
            ttl: cx.positive_duration(format!("{path}.ttl"), fb.ttl.map_or(SimDuration::ZERO, |d| d.0)),
        }),
        K::Service => {
            let (svc, ep) = (fb.service.as_deref().unwrap_or(""), fb.endpoint.as_deref().unwrap_or(""));
            let Some(&service) = service_ids.get(svc) else {
                cx.err(format!("{path}.service"), unknown("service", svc, service_ids.keys().copied()));
                return None;
            };
            let Some(&endpoint) = endpoint_ids.get(&(svc, ep)) else {
                let names = endpoint_ids.keys().filter(|(s, _)| *s == svc).map(|(_, e)| *e);
                cx.err(format!("{path}.endpoint"), unknown(&format!("endpoint of {svc}"), ep, names));
                return None;
            };
            // A fallback that calls onwards could call back into what failed: keep it a leaf.
            if endpoints.get(endpoint.idx()).is_some_and(|e| !e.calls.is_empty()) {
                cx.err(
                    format!("{path}.endpoint"),
                    format!("an endpoint without downstream calls, but {svc}.{ep} has some"),
                );
                return None;
            }
            Some(Fallback::Service { service, endpoint })
        }
        K::Queue => {
            let delay = cx.positive_duration(format!("{path}.delay"), fb.delay.map_or(SimDuration::ZERO, |d| d.0));
            let max_redeliveries = fb.max_redeliveries.unwrap_or(3);
            if !(1..=REDELIVERIES_MAX).contains(&max_redeliveries) {
                cx.err(
                    format!("{path}.maxRedeliveries"),
                    format!("1 to {REDELIVERIES_MAX} background tries, found {max_redeliveries}"),
                );
                return None;
            }
            Some(Fallback::Queue { delay, max_redeliveries })
        }
    }
}

/// Most background tries of a queued call.
const REDELIVERIES_MAX: u32 = 100;

/// A destination-level setting of an override: `None` if the override does not set it;
/// `Some(built)` if it does, where `built` is `None` when the setting is invalid (or, for a
/// budget, `unlimited`). An override naming an endpoint cannot set it.
fn per_destination<S, T>(
    cx: &mut Ctx,
    p: &str,
    field: &str,
    what: &str,
    has_endpoint: bool,
    spec: Option<&S>,
    build: impl FnOnce(&mut Ctx, &str, &S) -> Option<T>,
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
fn by_specificity(overrides: &[raw::OverrideSpec]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..overrides.len()).collect();
    order.sort_by_key(|&i| {
        let o = &overrides[i];
        2 * usize::from(o.source.is_some()) + usize::from(o.endpoint.is_some())
    });
    order
}

/// The call-level settings of one override, validated: what it changes in each
/// `CallPolicy` it applies to.
struct CallSettings {
    timeout: Option<SimDuration>,
    retry: Option<RetryPolicy>,
    hedging: Option<Option<HedgingPolicy>>,
    fallback: Option<Option<Fallback>>,
    deadline: Option<bool>,
}

impl CallSettings {
    fn parse(
        cx: &mut Ctx,
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
fn override_targets(
    cx: &mut Ctx,
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

fn validate_policies(
    cx: &mut Ctx,
    spec: Option<&raw::PoliciesSpec>,
    service_ids: &IndexMap<&str, ServiceId>,
    endpoint_ids: &IndexMap<(&str, &str), EndpointId>,
    services: &[Service],
    endpoint_defs: &[Endpoint],
    topology: &Topology,
) -> Policies {
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

fn validate_workload(cx: &mut Ctx, w: &raw::WorkloadSpec, routes: &[Route]) -> Workload {
    let load = match (&w.arrivals, &w.users) {
        (Some(_), Some(_)) => {
            cx.err("workload.users", "either open-loop \"arrivals\" or closed-loop \"users\", not both");
            None
        }
        (None, None) => {
            cx.err("workload", "a load: open-loop \"arrivals\" or closed-loop \"users\"");
            None
        }
        (Some(a), None) => Some(validate_arrivals(cx, a)),
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

fn validate_arrivals(cx: &mut Ctx, a: &raw::ArrivalsSpec) -> Load {
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

/// Rejects call graphs that recurse: an endpoint that reaches itself would never finish.
fn check_cycles(cx: &mut Ctx, endpoints: &[Endpoint], services: &[Service], origins: &[Vec<usize>]) {
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

/// Two groups of names, resolved by `id`; errors name `path[g][k]`.
fn two_groups(
    cx: &mut Ctx,
    path: &str,
    groups: &[Vec<String>],
    what: &str,
    id: impl Fn(&str) -> Option<u32>,
) -> Option<(Vec<u32>, Vec<u32>)> {
    if groups.len() != 2 || groups.iter().any(Vec::is_empty) {
        cx.err(path.to_string(), format!("two non-empty groups of {what}s, as [[\"a\"], [\"b\"]]"));
        return None;
    }
    let mut out = [Vec::new(), Vec::new()];
    for (g, group) in groups.iter().enumerate() {
        for (k, name) in group.iter().enumerate() {
            match id(name) {
                Some(i) => out[g].push(i),
                None => {
                    cx.err(format!("{path}[{g}][{k}]"), format!("a known {what}, found {name:?}"));
                    return None;
                }
            }
        }
    }
    if out[0].iter().any(|x| out[1].contains(x)) {
        cx.err(path.to_string(), format!("two groups with no {what} in both"));
        return None;
    }
    let [a, b] = out;
    Some((a, b))
}

fn network_fault(
    cx: &mut Ctx,
    p: &str,
    f: &raw::FaultSpec,
    zones: &Zones,
    service_ids: &IndexMap<&str, ServiceId>,
    topology: &Topology,
) -> Option<FaultKind> {
    use raw::FaultKind as K;
    let zone_id = |z: &str| zones.0.get_index_of(z).map(|i| i as u32);
    let between = match &f.between {
        Some(g) => Some(two_groups(cx, &format!("{p}.between"), g, "zone", zone_id)?),
        None => None,
    };
    let as_zones = |b: Option<(Vec<u32>, Vec<u32>)>| {
        b.map(|(a, b)| (a.into_iter().map(ZoneId).collect(), b.into_iter().map(ZoneId).collect()))
    };
    match f.kind {
        K::Partition => {
            let one_way = f.direction == Some(raw::Direction::OneWay);
            match (between, &f.services, &f.clusters) {
                (Some((from, to)), None, None) => Some(FaultKind::Partition { by_zone: true, from, to, one_way }),
                (None, None, Some(g)) => {
                    let (from, to) = locality::cluster_partition(cx, p, g, topology)?;
                    Some(FaultKind::Partition { by_zone: true, from, to, one_way })
                }
                (None, Some(g), None) => {
                    let node = |name: &str| {
                        if name == "gateway" { Some(0) } else { service_ids.get(name).map(|s| s.0 + 1) }
                    };
                    let (from, to) = two_groups(cx, &format!("{p}.services"), g, "service (or \"gateway\")", node)?;
                    Some(FaultKind::Partition { by_zone: false, from, to, one_way })
                }
                _ => {
                    cx.err(
                        p.to_string(),
                        "either \"between\" (two groups of zones), \"services\" (two groups of services) or \"clusters\" (two groups of clusters)",
                    );
                    None
                }
            }
        }
        K::Loss => {
            let probability = cx.percent(format!("{p}.percent"), f.percent, 100.0);
            Some(FaultKind::Loss { between: as_zones(between), probability })
        }
        _ => match &f.delay {
            Some(d) => {
                Some(FaultKind::LinkLatency { between: as_zones(between), delay: cx.dist(&format!("{p}.delay"), d) })
            }
            None => {
                cx.err(format!("{p}.delay"), "\"delay\", a distribution of added delays");
                None
            }
        },
    }
}

/// What faults may refer to: the scenario's names and ids.
struct FaultEnv<'a> {
    service_ids: &'a IndexMap<&'a str, ServiceId>,
    endpoint_ids: &'a IndexMap<(&'a str, &'a str), EndpointId>,
    services: &'a [Service],
    registry: Option<&'a RegistryModel>,
    zones: &'a Zones,
    instance_zone: &'a dyn Fn(InstanceId) -> ZoneId,
    routes: &'a [Route],
    config_pushes: bool,
    topology: &'a Topology,
    /// The scenario has a `security` block (security faults need one).
    security: bool,
}

fn validate_faults(cx: &mut Ctx, specs: &[raw::FaultSpec], env: &FaultEnv) -> Vec<Fault> {
    specs.iter().enumerate().filter_map(|(i, f)| validate_fault(cx, &format!("faults[{i}]"), f, env)).collect()
}

/// One fault at JSON path `p`, or `None` after reporting what is wrong with it.
fn validate_fault(cx: &mut Ctx, p: &str, f: &raw::FaultSpec, env: &FaultEnv) -> Option<Fault> {
    use raw::FaultKind as K;
    let FaultEnv { service_ids, services, registry, zones, instance_zone, routes, .. } = *env;
    let takes: &[&str] = match f.kind {
        K::Error => &["percent", "status", "call"],
        K::Slowdown => &["factor"],
        K::Capacity => &["workers"],
        K::Latency => &["delay", "percent", "call"],
        K::Crash => &["mode"],
        K::Stop => &[],
        K::RegistryOutage => &[],
        K::Partition => &["between", "services", "clusters", "direction"],
        K::Loss => &["between", "percent"],
        K::LinkLatency => &["between", "delay"],
        K::Load => &["rate", "route"],
        K::SlowConfigPush => &["delay", "percent"],
        K::ZoneOutage => &["zone", "mode"],
        K::CaOutage => &[],
        K::AuthzPolicy => &["policy"],
    };
    let present = [
        ("percent", f.percent.is_some()),
        ("status", f.status.is_some()),
        ("factor", f.factor.is_some()),
        ("workers", f.workers.is_some()),
        ("delay", f.delay.is_some()),
        ("mode", f.mode.is_some()),
        ("between", f.between.is_some()),
        ("services", f.services.is_some()),
        ("clusters", f.clusters.is_some()),
        ("zone", f.zone.is_some()),
        ("direction", f.direction.is_some()),
        ("rate", f.rate.is_some()),
        ("route", f.route.is_some()),
        ("call", f.call.is_some()),
        ("policy", f.policy.is_some()),
    ];
    let mut ok = cx.params(p, &format!("a {} fault", kind_name(f.kind)), takes, &[], &present);
    let start = SimTime::ZERO + f.start.0;
    let end = f.duration.map(|d| start + cx.positive_duration(format!("{p}.duration"), d.0));
    let repeat = f.repeat.map(|r| r.0);
    if let Some(r) = repeat {
        match f.duration {
            Some(d) if d.0 < r => {}
            _ => {
                cx.err(format!("{p}.repeat"), "a repeat interval longer than the fault's duration (which it needs)");
                return None;
            }
        }
    }
    if matches!(f.kind, K::CaOutage | K::AuthzPolicy) {
        return security::security_fault(cx, p, f, env, (start, end, repeat), ok);
    }
    if f.kind == K::SlowConfigPush {
        if f.target.is_some() {
            cx.err(format!("{p}.target"), "no target: a slow config push slows the control plane");
            return None;
        }
        if !env.config_pushes {
            cx.err(format!("{p}.kind"), "a config change to slow down (configChanges)");
            return None;
        }
        let probability = cx.percent(format!("{p}.percent"), f.percent, 100.0);
        let Some(d) = &f.delay else {
            cx.err(format!("{p}.delay"), "\"delay\", a distribution of further propagation delays");
            return None;
        };
        let kind = FaultKind::SlowConfigPush { delay: cx.dist(&format!("{p}.delay"), d), probability };
        return ok.then_some(Fault {
            kind,
            instances: Vec::new(),
            select: Select::All,
            start,
            end,
            repeat,
            path: None,
        });
    }
    if let Some(call) = &f.call {
        if f.target.is_some() {
            cx.err(format!("{p}.target"), "no target: a fault on a call path acts at the callers' proxies");
            return None;
        }
        let path = call_path(cx, &format!("{p}.call"), call, env)?;
        let kind = injected_kind(cx, p, f, &mut ok);
        return ok.then_some(Fault {
            kind,
            instances: Vec::new(),
            select: Select::All,
            start,
            end,
            repeat,
            path: Some(path),
        });
    }
    if f.kind == K::Load {
        if f.target.is_some() {
            cx.err(format!("{p}.target"), "no target: a load fault adds requests at the gateway");
            return None;
        }
        let rate = f.rate.unwrap_or(0.0);
        if !(rate.is_finite() && rate > 0.0 && rate <= 1e9) {
            cx.err(format!("{p}.rate"), format!("extra requests a second, above 0 and at most 1e9, found {rate}"));
            return None;
        }
        let route = match &f.route {
            None => None,
            Some(r) => match routes.iter().position(|x| x.name == *r) {
                Some(i) => Some(RouteId(i as u32)),
                None => {
                    cx.err(format!("{p}.route"), unknown("route", r, routes.iter().map(|x| x.name.as_str())));
                    return None;
                }
            },
        };
        if end.is_none() {
            cx.err(format!("{p}.duration"), "a duration: a load fault that never ends would never stop arriving");
            return None;
        }
        if ok {
            let kind = FaultKind::Load { rate, route };
            return Some(Fault { kind, instances: Vec::new(), select: Select::All, start, end, repeat, path: None });
        }
        return None;
    }
    if matches!(f.kind, K::Partition | K::Loss | K::LinkLatency) {
        if f.target.is_some() {
            cx.err(format!("{p}.target"), "no target: a network fault names zones (between) or services");
            return None;
        }
        if let Some(kind) = network_fault(cx, p, f, zones, service_ids, env.topology)
            && ok
        {
            return Some(Fault { kind, instances: Vec::new(), select: Select::All, start, end, repeat, path: None });
        }
        return None;
    }
    if f.kind == K::ZoneOutage {
        let kind = locality::zone_outage(cx, p, f, zones)?;
        let FaultKind::ZoneOutage { zone, .. } = kind else { unreachable!("a zone outage") };
        let instances: Vec<InstanceId> = services
            .iter()
            .flat_map(|s| s.instances.iter().copied())
            .filter(|&i| instance_zone(i) == zone)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        return ok.then_some(Fault { kind, instances, select: Select::All, start, end, repeat, path: None });
    }
    if f.kind == K::RegistryOutage {
        if f.target.is_some() {
            cx.err(format!("{p}.target"), "no target: a registry outage hits the registry");
        } else if registry.is_none() {
            cx.err(format!("{p}.kind"), "a registry to take down (discovery.registry)");
        } else if ok {
            return Some(Fault {
                kind: FaultKind::RegistryOutage,
                instances: Vec::new(),
                select: Select::All,
                start,
                end,
                repeat,
                path: None,
            });
        }
        return None;
    }
    let Some(target) = &f.target else {
        cx.err(format!("{p}.target"), "a target: { \"service\": ... }");
        return None;
    };
    let Some(&sid) = service_ids.get(target.service.as_str()) else {
        cx.err(format!("{p}.target.service"), unknown("service", &target.service, service_ids.keys().copied()));
        return None;
    };
    let all: Vec<InstanceId> = match &target.zone {
        None => services[sid.idx()].instances.clone(),
        Some(z) => match zones.0.get_index_of(z.as_str()) {
            Some(zi) => services[sid.idx()]
                .instances
                .iter()
                .copied()
                .filter(|i| instance_zone(*i) == ZoneId(zi as u32))
                .collect(),
            None => {
                cx.err(format!("{p}.target.zone"), format!("a known zone, found {z:?}"));
                return None;
            }
        },
    };
    let all = &all;
    let select = match (target.mode, target.value) {
        (None | Some(raw::TargetMode::All), None) => Select::All,
        (Some(raw::TargetMode::One), None) => Select::One,
        (Some(raw::TargetMode::Fixed), Some(v)) if v >= 1.0 && v.fract() == 0.0 => Select::Fixed(v as u32),
        (Some(raw::TargetMode::FixedPercent), Some(v)) if (0.0..=100.0).contains(&v) => Select::FixedPercent(v),
        (Some(raw::TargetMode::RandomMaxPercent), Some(v)) if (0.0..=100.0).contains(&v) && v.fract() == 0.0 => {
            Select::RandomMaxPercent(v as u32)
        }
        (mode, value) => {
            let expected = match mode {
                Some(raw::TargetMode::Fixed) => "a whole number of instances, at least 1",
                Some(raw::TargetMode::FixedPercent) => "a percentage from 0 to 100",
                Some(raw::TargetMode::RandomMaxPercent) => "a whole percentage from 0 to 100",
                _ => "no value for this mode",
            };
            let found = value.map_or("nothing".to_string(), |v| v.to_string());
            cx.err(format!("{p}.target.value"), format!("{expected}, found {found}"));
            return None;
        }
    };
    let instances: Vec<InstanceId> = match &target.instances {
        None => all.clone(),
        Some(list) => {
            let mut v = Vec::new();
            for (k, &n) in list.iter().enumerate() {
                match all.get(n as usize) {
                    Some(&id) => v.push(id),
                    None => cx.err(
                        format!("{p}.target.instances[{k}]"),
                        format!(
                            "an instance index below {} (the instances of {}), found {n}",
                            all.len(),
                            target.service
                        ),
                    ),
                }
            }
            v
        }
    };
    let kind = match f.kind {
        K::Error | K::Latency => injected_kind(cx, p, f, &mut ok),
        K::Slowdown => match f.factor {
            Some(x) if x.is_finite() && x > 0.0 => FaultKind::Slowdown { factor: x },
            other => {
                let found = other.map_or("nothing".to_string(), |x| x.to_string());
                cx.err(format!("{p}.factor"), format!("a service-time factor greater than zero, found {found}"));
                ok = false;
                FaultKind::Slowdown { factor: 1.0 }
            }
        },
        K::Capacity => match f.workers {
            Some(w) => FaultKind::Capacity { workers: w },
            None => {
                cx.err(format!("{p}.workers"), "\"workers\", the workers each instance keeps (0 or more)");
                ok = false;
                FaultKind::Capacity { workers: 0 }
            }
        },
        K::Crash => FaultKind::Crash { hang: f.mode == Some(raw::CrashMode::Hang) },
        K::Stop => FaultKind::Stop,
        K::RegistryOutage => FaultKind::RegistryOutage,
        K::Partition
        | K::Loss
        | K::LinkLatency
        | K::Load
        | K::SlowConfigPush
        | K::ZoneOutage
        | K::CaOutage
        | K::AuthzPolicy => {
            unreachable!("handled above")
        }
    };
    ok.then_some(Fault { kind, instances, select, start, end, repeat, path: None })
}

/// An error (Istio's fault.abort) or latency (fault.delay) fault's effect.
fn injected_kind(cx: &mut Ctx, p: &str, f: &raw::FaultSpec, ok: &mut bool) -> FaultKind {
    let probability = cx.percent(format!("{p}.percent"), f.percent, 100.0);
    if f.kind == raw::FaultKind::Error {
        return FaultKind::Error { probability, status: cx.status(format!("{p}.status"), f.status, 503) };
    }
    match &f.delay {
        Some(d) => FaultKind::Latency { delay: cx.dist(&format!("{p}.delay"), d), probability },
        None => {
            cx.err(format!("{p}.delay"), "\"delay\", a distribution of added delays");
            *ok = false;
            FaultKind::Latency { delay: Dist::Constant(SimDuration::ZERO), probability }
        }
    }
}

/// A call path's caller, destination and endpoint.
fn call_path(cx: &mut Ctx, p: &str, c: &raw::CallPathSpec, env: &FaultEnv) -> Option<CallPath> {
    let Some(&to) = env.service_ids.get(c.to.as_str()) else {
        cx.err(format!("{p}.to"), unknown("service", &c.to, env.service_ids.keys().copied()));
        return None;
    };
    let from = match c.from.as_deref() {
        None => None,
        Some("gateway") => Some(Caller::Gateway),
        Some(s) => match env.service_ids.get(s) {
            Some(&sid) => Some(Caller::Service(sid)),
            None => {
                let known = std::iter::once("gateway").chain(env.service_ids.keys().copied());
                cx.err(format!("{p}.from"), unknown("caller (\"gateway\" or a service)", s, known));
                return None;
            }
        },
    };
    let endpoint = match &c.endpoint {
        None => None,
        Some(e) => match env.endpoint_ids.get(&(c.to.as_str(), e.as_str())) {
            Some(&eid) => Some(eid),
            None => {
                let names = env.endpoint_ids.keys().filter(|(s, _)| *s == c.to).map(|(_, e)| *e);
                cx.err(format!("{p}.endpoint"), unknown(&format!("endpoint of {}", c.to), e, names));
                return None;
            }
        },
    };
    Some(CallPath { from, to, endpoint })
}

/// The chaos monkey: its bounds, and for each kind the faults it may become.
fn validate_chaos(cx: &mut Ctx, c: &raw::ChaosSpec, env: &FaultEnv) -> Option<ChaosMonkey> {
    use raw::FaultKind as K;
    let errors = cx.issues.len();
    let start = SimTime::ZERO + c.start.map_or(SimDuration::ZERO, |d| d.0);
    let end = c.end.map(|d| SimTime::ZERO + d.0);
    if let Some(e) = end.filter(|&e| e <= start) {
        cx.err(
            "chaos.end",
            format!("an end after the start ({}), found {}", start.since(SimTime::ZERO), e.since(SimTime::ZERO)),
        );
    }
    let mean_interval = cx.positive_duration("chaos.meanInterval".into(), c.mean_interval.0);
    let (min, max) = (c.duration.min.0, c.duration.max.0);
    cx.positive_duration("chaos.duration.min".into(), min);
    if max < min {
        cx.err("chaos.duration.max", format!("a longest duration at least the shortest ({min}), found {max}"));
    }
    let max_concurrent = cx.positive_count("chaos.maxConcurrent".into(), c.max_concurrent, 1, "fault at once");
    let services: Vec<(&str, ServiceId)> = match &c.services {
        None => env.service_ids.iter().map(|(n, id)| (*n, *id)).collect(),
        Some(list) if list.is_empty() => {
            cx.err("chaos.services", "at least one service to hit (or no list: all of them)");
            Vec::new()
        }
        Some(list) => list
            .iter()
            .enumerate()
            .filter_map(|(k, n)| match env.service_ids.get_key_value(n.as_str()) {
                Some((name, id)) => Some((*name, *id)),
                None => {
                    cx.err(format!("chaos.services[{k}]"), unknown("service", n, env.service_ids.keys().copied()));
                    None
                }
            })
            .collect(),
    };
    if c.kinds.is_empty() {
        cx.err("chaos.kinds", "at least one kind of fault to draw");
    }
    let mut kinds = Vec::new();
    for (k, spec) in c.kinds.iter().enumerate() {
        let p = format!("chaos.kinds[{k}]");
        let weight = spec.weight.unwrap_or(1.0);
        if !(weight.is_finite() && weight > 0.0) {
            cx.err(format!("{p}.weight"), format!("a weight above zero, found {weight}"));
            continue;
        }
        let targeted = matches!(spec.kind, K::Error | K::Slowdown | K::Capacity | K::Latency | K::Crash | K::Stop);
        if !targeted && spec.target.is_some() {
            cx.err(
                format!("{p}.target"),
                format!("no target: a {} fault does not hit instances", kind_name(spec.kind)),
            );
            continue;
        }
        let as_fault = |service: Option<&str>| raw::FaultSpec {
            kind: spec.kind,
            target: service.map(|s| raw::FaultTargetSpec {
                service: s.to_string(),
                instances: None,
                zone: spec.target.as_ref().and_then(|t| t.zone.clone()),
                mode: Some(spec.target.as_ref().and_then(|t| t.mode).unwrap_or(raw::TargetMode::One)),
                value: spec.target.as_ref().and_then(|t| t.value),
            }),
            start: raw::Dur(SimDuration::ZERO),
            duration: Some(raw::Dur(min.max(SimDuration::from_nanos(1)))),
            repeat: None,
            percent: spec.percent,
            status: spec.status,
            factor: spec.factor,
            workers: spec.workers,
            delay: spec.delay.clone(),
            mode: spec.mode,
            between: spec.between.clone(),
            services: spec.services.clone(),
            clusters: None,
            zone: None,
            direction: spec.direction,
            rate: spec.rate,
            route: spec.route.clone(),
            call: None,
            policy: None,
        };
        let mut variants = Vec::new();
        if targeted {
            // Problems of the parameters show once, from the first service; the same
            // parameters on the others would only repeat them.
            let mut scratch = Ctx { issues: Vec::new() };
            for (n, &(name, _)) in services.iter().enumerate() {
                let ctx = if n == 0 { &mut *cx } else { &mut scratch };
                if let Some(f) = validate_fault(ctx, &p, &as_fault(Some(name)), env)
                    && !f.instances.is_empty()
                {
                    variants.push(f);
                }
            }
        } else if let Some(f) = validate_fault(cx, &p, &as_fault(None), env) {
            variants.push(f);
        }
        if variants.is_empty() && cx.issues.len() == errors {
            cx.err(format!("{p}.target"), "instances to hit among the chaos services (none in that zone?)");
        }
        kinds.push(ChaosKind { weight, variants });
    }
    (cx.issues.len() == errors).then_some(ChaosMonkey {
        start,
        end,
        mean_interval,
        duration: (min, max),
        max_concurrent,
        kinds,
    })
}
