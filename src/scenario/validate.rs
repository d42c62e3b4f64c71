//! Turns a parsed scenario file into the validated model, collecting every problem.
//!
//! This file only orchestrates: each part of the scenario has its own file below
//! `validate/`, and they share one context (`cx`: the issue collector, the zone interner
//! and the small checks). Parts run in a fixed order, because later parts refer to what
//! earlier ones resolved and because the order of the issues is output.
//!
//! Defaults are applied here (and documented in docs/scenario-format.md). Names become
//! ids in file order, so ids are stable for a given file.

mod autoscale;
mod balancer;
mod breaker;
mod chaos;
mod cx;
mod discovery;
mod fallback;
mod faults;
mod limits;
mod locality;
mod network;
mod observe;
mod outlier;
mod policies;
mod retries;
mod run;
mod security;
mod services;
mod traffic;
mod workload;

use super::Issue;
use super::raw;
use crate::model::{Gateway, Scenario};
use cx::{Cx, DEFAULT_ZONE, Zones};
use indexmap::IndexMap;

pub const DEFAULT_SEED: u64 = 1;

// Long on purpose: the parts in the order their issues are reported, then the model
// they build; each line is one call, and splitting it would only pass the ids around.
pub fn validate(f: raw::ScenarioFile, file: &str, sweep: super::BlockCheck) -> Result<Scenario, Vec<Issue>> {
    let mut cx = Cx { issues: Vec::new() };
    let run = run::run(&mut cx, &f, sweep);
    let metrics_interval = run::metrics_interval(&mut cx, &f);

    let mut zones = Zones(IndexMap::new());
    if let Some(z) = &f.gateway.zone {
        cx.name("gateway.zone".into(), z);
    }
    let gateway_zone = zones.id(f.gateway.zone.as_deref().unwrap_or(DEFAULT_ZONE));

    let graph = services::services(&mut cx, &f, &mut zones);
    let services::Graph { service_ids, endpoint_ids, mut services, endpoints, instances } = graph;
    let gateway_limit =
        f.gateway.rate_limit.as_ref().and_then(|l| limits::gateway_limiter(&mut cx, "gateway.rateLimit", l));
    let routes = workload::routes(&mut cx, &f.gateway.routes, &service_ids, &endpoint_ids, &f.services);
    let discovery = discovery::discovery(&mut cx, f.discovery.as_ref(), &mut zones, gateway_zone);
    let network = network::network(&mut cx, f.network.as_ref(), &mut zones);
    let topology = locality::topology(&mut cx, f.clusters.as_ref(), &zones);
    locality::check_discovery_delay(&mut cx, &topology, &discovery);
    let graph_ref = policies::GraphRef {
        service_ids: &service_ids,
        endpoint_ids: &endpoint_ids,
        services: &services,
        endpoints: &endpoints,
    };
    let policies = policies::policies(&mut cx, f.policies.as_ref(), &graph_ref, &topology);
    let workload = workload::workload(&mut cx, &f.workload, &routes);
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
    let instance_zone = |i: crate::model::InstanceId| instances[i.idx()].zone;
    let fault_env = cx::FaultEnv {
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
    let faults = faults::faults(&mut cx, &f.faults, &fault_env);
    let security = security::validate_security(&mut cx, &f, &service_ids, &endpoint_ids);
    let chaos = f.chaos.as_ref().and_then(|c| chaos::chaos(&mut cx, c, &fault_env));
    let lifecycle = discovery::lifecycle(&mut cx, &f.lifecycle, &service_ids, &services, &instances);
    let graph_ref = policies::GraphRef {
        service_ids: &service_ids,
        endpoint_ids: &endpoint_ids,
        services: &services,
        endpoints: &endpoints,
    };
    let config_changes = policies::config_changes(&mut cx, &f.config_changes, &routes, &policies, &graph_ref);
    let observe::Observe { slos, alerts, trace_sampling, invariants } = observe::observe(&mut cx, &f, &routes);

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
