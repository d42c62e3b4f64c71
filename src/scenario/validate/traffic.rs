//! Validation of the traffic-management fields: versions and their instances, routing
//! rules, request headers and rollouts.

use super::cx::{Cx, DEFAULT_ZONE, REPLICAS_MAX, replicas_over, unknown};
use crate::model::*;
use crate::rollout::{MetricCheck, MetricKind, RolloutSpec, Strategy};
use crate::scenario::raw;
use crate::time::{SimDuration, SimTime};
use crate::traffic::{Behaviour, Header, Match, Routing, Rule};
use indexmap::IndexMap;

/// Flagger's defaults.
pub const DEFAULT_ANALYSIS_INTERVAL: SimDuration = SimDuration::from_secs(60);
pub const DEFAULT_METRIC_INTERVAL: SimDuration = SimDuration::from_secs(60);

/// One instance of a versioned service: its settings, name and version index.
pub(super) struct VersionedInstance {
    pub spec: raw::InstanceSpec,
    pub name: String,
    pub version: u32,
}

/// The instances of a service with `versions`, version by version, named
/// `<service>-<version>-<k>`.
pub(super) fn version_instances(
    cx: &mut Cx,
    p: &str,
    sname: &str,
    s: &raw::ServiceSpec,
    versions: &raw::UniqueMap<raw::VersionSpec>,
) -> Vec<VersionedInstance> {
    for (field, set) in [
        ("replicas", s.replicas.is_some()),
        ("instances", s.instances.is_some()),
        ("zones", s.zones.is_some()),
        ("maxReplicas", s.max_replicas.is_some()),
    ] {
        if set {
            cx.err(format!("{p}.{field}"), "instances in each version when the service has versions");
        }
    }
    if versions.is_empty() {
        cx.err(format!("{p}.versions"), "at least one version");
    }
    let mut out = Vec::new();
    for (vi, (vname, v)) in versions.iter().enumerate() {
        let vp = format!("{p}.versions.{vname}");
        cx.name(vp.clone(), vname);
        let mut specs: Vec<raw::InstanceSpec> = match (&v.instances, v.replicas) {
            (Some(_), Some(_)) => {
                cx.err(format!("{vp}.replicas"), "either replicas or instances, not both");
                Vec::new()
            }
            (Some(list), None) => {
                if list.is_empty() {
                    cx.err(format!("{vp}.instances"), "at least one instance");
                }
                if v.zones.is_some() {
                    cx.err(format!("{vp}.zones"), "zones belong in each instance when instances are listed");
                }
                list.clone()
            }
            (None, replicas) => {
                let n = cx.positive_count(format!("{vp}.replicas"), replicas, 1, "replica");
                let zl = v.zones.clone().unwrap_or_else(|| vec![DEFAULT_ZONE.to_string()]);
                if zl.is_empty() {
                    cx.err(format!("{vp}.zones"), "at least one zone");
                }
                let n = if n > REPLICAS_MAX {
                    cx.err(format!("{vp}.replicas"), format!("at most {REPLICAS_MAX} replicas, found {n}"));
                    1
                } else {
                    n
                };
                replicas_over(&zl, n)
            }
        };
        let workers = v.workers.map(|w| cx.positive_count(format!("{vp}.workers"), Some(w), 1, "worker"));
        for (k, spec) in specs.drain(..).enumerate() {
            out.push(VersionedInstance {
                spec: raw::InstanceSpec { workers: spec.workers.or(workers), ..spec },
                name: format!("{sname}-{vname}-{k}"),
                version: vi as u32,
            });
        }
    }
    if out.len() > REPLICAS_MAX as usize {
        cx.err(format!("{p}.versions"), format!("at most {REPLICAS_MAX} instances in all, found {}", out.len()));
    }
    out
}

/// Each version's endpoint behaviour: the service's, with the version's overrides.
pub(super) fn version_behaviours(
    cx: &mut Cx,
    p: &str,
    s: &raw::ServiceSpec,
    eids: &[EndpointId],
    endpoints: &[Endpoint],
) -> Vec<Vec<Behaviour>> {
    let Some(versions) = &s.versions else { return Vec::new() };
    let base: Vec<Behaviour> = eids
        .iter()
        .map(|e| {
            let e = &endpoints[e.idx()];
            Behaviour { service_time: e.service_time.clone(), error_rate: e.error_rate, error_status: e.error_status }
        })
        .collect();
    versions
        .iter()
        .map(|(vname, v)| {
            let mut own = base.clone();
            for (ename, o) in v.endpoints.iter() {
                let ep = format!("{p}.versions.{vname}.endpoints.{ename}");
                let Some(local) = s.endpoints.get_index_of(ename.as_str()) else {
                    cx.err(ep, unknown("endpoint of the service", ename, s.endpoints.keys().map(String::as_str)));
                    continue;
                };
                let b = &mut own[local];
                if let Some(d) = &o.service_time {
                    b.service_time = cx.dist(&format!("{ep}.serviceTime"), d);
                }
                if o.error_rate.is_some() {
                    b.error_rate = cx.percent(format!("{ep}.errorRate"), o.error_rate, 0.0);
                }
                if o.error_status.is_some() {
                    b.error_status = cx.status(format!("{ep}.errorStatus"), o.error_status, 500);
                }
            }
            own
        })
        .collect()
}

/// `workload.headers`: each header's values and the percent of users carrying each.
pub(super) fn headers(cx: &mut Cx, w: &raw::WorkloadSpec) -> Vec<Header> {
    let mut out = Vec::new();
    for (name, values) in w.headers.iter() {
        let p = format!("workload.headers.{name}");
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            cx.err(p.clone(), format!("a header name in lower case (letters, digits, '-'), found \"{name}\""));
        }
        if values.is_empty() {
            cx.err(p.clone(), "at least one value with its percent of users");
            continue;
        }
        let mut acc = 0.0;
        let mut cumulative = Vec::new();
        for (value, &pct) in values.iter() {
            if !(pct.is_finite() && (0.0..=100.0).contains(&pct)) {
                cx.err(format!("{p}.{value}"), format!("a percentage from 0 to 100, found {pct}"));
            }
            acc += pct;
            cumulative.push(acc / 100.0);
        }
        if (acc - 100.0).abs() > 1e-6 {
            cx.err(p.clone(), format!("percents of users that add up to 100, found {acc}"));
        }
        if let Some(last) = cumulative.last_mut() {
            *last = 1.0;
        }
        out.push(Header {
            name: name.clone(),
            values: values.keys().cloned().collect(),
            cumulative,
            key: crate::rng::stable_hash(format!("workload/headers/{name}").as_bytes()),
        });
    }
    out
}

/// What match conditions can refer to.
pub(super) struct MatchEnv<'a> {
    pub service_ids: &'a IndexMap<&'a str, ServiceId>,
    pub endpoint_ids: &'a IndexMap<(&'a str, &'a str), EndpointId>,
    pub routes: &'a [Route],
    pub headers: &'a [Header],
}

fn string_match(cx: &mut Cx, p: &str, m: &raw::StringMatchSpec) -> Option<(bool, String)> {
    match (&m.exact, &m.prefix) {
        (Some(e), None) => Some((true, e.clone())),
        (None, Some(pre)) => Some((false, pre.clone())),
        _ => {
            cx.err(p, "exactly one of \"exact\" and \"prefix\"");
            None
        }
    }
}

fn is_match(exact: bool, pattern: &str, value: &str) -> bool {
    if exact { value == pattern } else { value.starts_with(pattern) }
}

/// Resolves one match block of a rule for calls to `service`.
pub(super) fn match_block(cx: &mut Cx, p: &str, service: &str, m: &raw::MatchRequestSpec, env: &MatchEnv) -> Match {
    let mut out = Match::default();
    for (name, sm) in m.headers.iter() {
        let hp = format!("{p}.headers.{name}");
        let Some(h) = env.headers.iter().position(|h| &h.name == name) else {
            cx.err(hp, unknown("header set in workload.headers", name, env.headers.iter().map(|h| h.name.as_str())));
            continue;
        };
        if let Some((exact, pat)) = string_match(cx, &hp, sm) {
            let ok = env.headers[h].values.iter().map(|v| is_match(exact, &pat, v)).collect();
            out.headers.push(Some((h as u32, ok)));
        }
    }
    if let Some(e) = &m.endpoint {
        match env.endpoint_ids.get(&(service, e.as_str())) {
            Some(&id) => out.endpoint = Some(id),
            None => {
                let names = env.endpoint_ids.keys().filter(|(s, _)| *s == service).map(|(_, e)| *e);
                cx.err(format!("{p}.endpoint"), unknown(&format!("endpoint of {service}"), e, names));
            }
        }
    }
    if let Some(src) = &m.source {
        if src == "gateway" {
            out.source = Some(Caller::Gateway);
        } else {
            match env.service_ids.get(src.as_str()) {
                Some(&s) => out.source = Some(Caller::Service(s)),
                None => cx.err(
                    format!("{p}.source"),
                    unknown("service (or \"gateway\")", src, env.service_ids.keys().copied()),
                ),
            }
        }
    }
    if m.uri.is_some() || m.method.is_some() {
        let uri = m.uri.as_ref().and_then(|u| string_match(cx, &format!("{p}.uri"), u));
        let method = m.method.as_ref().and_then(|u| string_match(cx, &format!("{p}.method"), u));
        // A route's requests all satisfy the condition only if its own prefix does (for
        // `prefix`) or is the path (`exact`), and its method is the one asked for.
        let routes = env
            .routes
            .iter()
            .map(|r| {
                uri.as_ref()
                    .is_none_or(|(exact, pat)| r.path_prefix.as_deref().is_some_and(|pp| is_match(*exact, pat, pp)))
                    && method
                        .as_ref()
                        .is_none_or(|(exact, pat)| r.method.as_deref().is_some_and(|rm| is_match(*exact, pat, rm)))
            })
            .collect();
        out.routes = Some(routes);
    }
    out
}

/// `services.<name>.routing`, resolved for `service`.
pub(super) fn routing(
    cx: &mut Cx,
    p: &str,
    sname: &str,
    svc: &Service,
    spec: &raw::RoutingSpec,
    env: &MatchEnv,
) -> Routing {
    let subset = |cx: &mut Cx, path: String, name: &str| -> u32 {
        match svc.versions.iter().position(|v| v == name) {
            Some(i) => i as u32,
            None => {
                cx.err(path, unknown(&format!("version of {sname}"), name, svc.versions.iter().map(String::as_str)));
                0
            }
        }
    };
    if spec.http.is_empty() {
        cx.err(format!("{p}.http"), "at least one rule");
    }
    let mut rules = Vec::new();
    for (i, r) in spec.http.iter().enumerate() {
        let rp = format!("{p}.http[{i}]");
        let matches = r
            .match_
            .iter()
            .enumerate()
            .map(|(k, m)| match_block(cx, &format!("{rp}.match[{k}]"), sname, m, env))
            .collect();
        if r.route.is_empty() {
            cx.err(format!("{rp}.route"), "at least one destination");
        }
        let mut route = Vec::new();
        for (k, d) in r.route.iter().enumerate() {
            let s = subset(cx, format!("{rp}.route[{k}].subset"), &d.subset);
            let w = match d.weight {
                Some(w) if w > 100 => {
                    cx.err(format!("{rp}.route[{k}].weight"), format!("a weight from 0 to 100, found {w}"));
                    0
                }
                Some(w) => w,
                None if r.route.len() == 1 => 100,
                None => {
                    cx.err(format!("{rp}.route[{k}].weight"), "a weight for each of several destinations");
                    0
                }
            };
            route.push((s, w));
        }
        let sum: u32 = route.iter().map(|&(_, w)| w).sum();
        if route.len() > 1 && sum != 100 {
            cx.err(format!("{rp}.route"), format!("weights that add up to 100, found {sum}"));
        }
        let mirror = match (&r.mirror, r.mirror_percentage) {
            (None, Some(_)) => {
                cx.err(format!("{rp}.mirrorPercentage"), "a mirror for mirrorPercentage");
                None
            }
            (None, None) => None,
            (Some(m), pct) => {
                let s = subset(cx, format!("{rp}.mirror.subset"), &m.subset);
                Some((s, cx.percent(format!("{rp}.mirrorPercentage"), pct, 100.0)))
            }
        };
        rules.push(Rule { matches, route, mirror });
    }
    Routing { rules }
}

fn threshold_value(cx: &mut Cx, p: &str, v: &serde_json::Value, duration: bool) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64().filter(|x| x.is_finite()),
        serde_json::Value::String(s) if duration => match crate::time::parse_duration(s) {
            Ok(d) => Some(d.as_nanos() as f64 / 1e6),
            Err(e) => {
                cx.err(p, format!("a number of milliseconds or a duration string: {e}"));
                None
            }
        },
        _ => {
            cx.err(p, if duration { "a number of milliseconds or a duration string" } else { "a number (percent)" });
            None
        }
    }
}

/// `rollouts`: each names a service with versions, its primary and canary versions and
/// Flagger's analysis settings.
// Long because a rollout's strategy, steps, metrics and webhooks are checked in issue
// order against the service and routes it names.
pub(super) fn rollouts(
    cx: &mut Cx,
    specs: &[raw::RolloutSpec],
    services: &[Service],
    env: &MatchEnv,
) -> Vec<RolloutSpec> {
    let mut out: Vec<RolloutSpec> = Vec::new();
    for (i, r) in specs.iter().enumerate() {
        let p = format!("rollouts[{i}]");
        let Some(&sid) = env.service_ids.get(r.service.as_str()) else {
            cx.err(format!("{p}.service"), unknown("service", &r.service, env.service_ids.keys().copied()));
            continue;
        };
        let svc = &services[sid.idx()];
        if out.iter().any(|o| o.service == sid) {
            cx.err(format!("{p}.service"), format!("one rollout per service, {} has two", r.service));
        }
        let version = |cx: &mut Cx, field: &str, name: &str| -> Option<u32> {
            let found = svc.versions.iter().position(|v| v == name);
            if found.is_none() {
                let known = svc.versions.iter().map(String::as_str);
                cx.err(format!("{p}.{field}"), unknown(&format!("version of {}", r.service), name, known));
            }
            found.map(|v| v as u32)
        };
        let (Some(primary), Some(canary)) = (version(cx, "primary", &r.primary), version(cx, "canary", &r.canary))
        else {
            continue;
        };
        if primary == canary {
            cx.err(format!("{p}.canary"), "a canary version other than the primary");
        }
        if let Some(k) = svc.routing.as_ref().and_then(|rt| rt.rules.iter().position(|rule| rule.matches.is_empty())) {
            cx.err(
                format!("services.{}.routing.http[{k}].match", r.service),
                "a match in every rule of a service with a rollout: the rollout routes the other requests",
            );
        }
        let a = &r.analysis;
        let ap = format!("{p}.analysis");
        let strategy = match r.strategy {
            Some(raw::RolloutStrategy::Canary) => Strategy::Canary,
            Some(raw::RolloutStrategy::BlueGreen) => Strategy::BlueGreen,
            // Flagger: iterations without step weights mean blue-green (or A/B testing).
            None if a.iterations.is_some() && a.step_weight.is_none() && a.step_weights.is_none() => {
                Strategy::BlueGreen
            }
            None => Strategy::Canary,
        };
        let interval = match a.interval {
            Some(d) => cx.positive_duration(format!("{ap}.interval"), d.0),
            None => DEFAULT_ANALYSIS_INTERVAL,
        };
        let threshold = cx.positive_count(format!("{ap}.threshold"), a.threshold, 1, "failed check");
        let weight = |cx: &mut Cx, field: &str, v: Option<u32>| -> u32 {
            match v {
                Some(w) if !(1..=100).contains(&w) => {
                    cx.err(format!("{ap}.{field}"), format!("a weight from 1 to 100, found {w}"));
                    1
                }
                Some(w) => w,
                None => 0,
            }
        };
        let step_weight = weight(cx, "stepWeight", a.step_weight);
        let max_weight = match a.max_weight {
            None => 100,
            some => weight(cx, "maxWeight", some),
        };
        let step_weights = a.step_weights.clone().unwrap_or_default();
        for (k, w) in step_weights.iter().enumerate() {
            if !(1..=100).contains(w) || (k > 0 && *w <= step_weights[k - 1]) {
                cx.err(format!("{ap}.stepWeights[{k}]"), format!("increasing weights from 1 to 100, found {w}"));
            }
        }
        let mirror = a.mirror.unwrap_or(false);
        let mirror_weight = match a.mirror_weight {
            None => 100,
            some => weight(cx, "mirrorWeight", some),
        };
        if a.mirror_weight.is_some() && !mirror {
            cx.err(format!("{ap}.mirrorWeight"), "\"mirror\": true for mirrorWeight");
        }
        let iterations = a.iterations.unwrap_or(0);
        match strategy {
            Strategy::Canary => {
                if step_weight == 0 && step_weights.is_empty() {
                    cx.err(format!("{ap}.stepWeight"), "a stepWeight or stepWeights for a canary strategy");
                }
                if a.iterations.is_some() {
                    cx.err(format!("{ap}.iterations"), "iterations with the blueGreen strategy only");
                }
                if !a.match_.is_empty() {
                    cx.err(format!("{ap}.match"), "match (A/B testing) with the blueGreen strategy only");
                }
            }
            Strategy::BlueGreen => {
                if iterations == 0 {
                    cx.err(format!("{ap}.iterations"), "at least 1 iteration for the blueGreen strategy");
                }
                for (field, set) in [
                    ("stepWeight", a.step_weight.is_some()),
                    ("stepWeights", a.step_weights.is_some()),
                    ("maxWeight", a.max_weight.is_some()),
                ] {
                    if set {
                        cx.err(format!("{ap}.{field}"), format!("{field} with the canary strategy only"));
                    }
                }
                if mirror && !a.match_.is_empty() {
                    cx.err(format!("{ap}.mirror"), "either mirroring or A/B testing (match), not both");
                }
            }
        }
        let ab_match = a
            .match_
            .iter()
            .enumerate()
            .map(|(k, m)| match_block(cx, &format!("{ap}.match[{k}]"), &r.service, m, env))
            .collect();
        let mut metrics = Vec::new();
        for (k, m) in a.metrics.iter().enumerate() {
            let mp = format!("{ap}.metrics[{k}]");
            let kind = match m.name.as_str() {
                "request-success-rate" => {
                    if m.percentile.is_some() {
                        cx.err(format!("{mp}.percentile"), "a percentile for request-duration only");
                    }
                    MetricKind::SuccessRate
                }
                "request-duration" => {
                    let pct = m.percentile.unwrap_or(99.0);
                    if !(pct > 0.0 && pct <= 100.0) {
                        cx.err(format!("{mp}.percentile"), format!("a percentile above 0, at most 100, found {pct}"));
                    }
                    MetricKind::Duration { percentile: pct }
                }
                other => {
                    cx.err(
                        format!("{mp}.name"),
                        format!("a built-in metric (request-success-rate, request-duration), found \"{other}\""),
                    );
                    continue;
                }
            };
            let duration = matches!(kind, MetricKind::Duration { .. });
            let tr = &m.threshold_range;
            let min =
                tr.min.as_ref().and_then(|v| threshold_value(cx, &format!("{mp}.thresholdRange.min"), v, duration));
            let max =
                tr.max.as_ref().and_then(|v| threshold_value(cx, &format!("{mp}.thresholdRange.max"), v, duration));
            if tr.min.is_none() && tr.max.is_none() {
                cx.err(format!("{mp}.thresholdRange"), "a min or a max");
            }
            let interval = match m.interval {
                Some(d) => cx.positive_duration(format!("{mp}.interval"), d.0),
                None => DEFAULT_METRIC_INTERVAL,
            };
            metrics.push(MetricCheck { name: m.name.clone(), kind, min, max, interval });
        }
        out.push(RolloutSpec {
            service: sid,
            primary,
            canary,
            start: SimTime::ZERO + r.start.0,
            strategy,
            interval,
            threshold,
            step_weight,
            step_weights,
            max_weight,
            iterations,
            mirror,
            mirror_weight,
            ab_match,
            metrics,
        });
    }
    out
}
