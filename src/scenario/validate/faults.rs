//! Scheduled faults: on instances (error, latency, slowdown, capacity, crash, stop), on
//! a call path, on the network, a zone, the registry, the control plane or security.

use super::cx::*;
use super::network::network_fault;
use super::{locality, security};
use crate::dist::Dist;
use crate::model::*;
use crate::scenario::raw;
use crate::time::{SimDuration, SimTime};

pub(super) fn faults(cx: &mut Cx, specs: &[raw::FaultSpec], env: &FaultEnv) -> Vec<Fault> {
    specs.iter().enumerate().filter_map(|(i, f)| fault(cx, &format!("faults[{i}]"), f, env)).collect()
}

/// One fault at JSON path `p`, or `None` after reporting what is wrong with it.
// Long: one early-return arm per fault family, then the targeted faults. It keeps the
// last hand table (which kind takes which field) until faults become a tagged enum.
pub(super) fn fault(cx: &mut Cx, p: &str, f: &raw::FaultSpec, env: &FaultEnv) -> Option<Fault> {
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
pub(super) fn injected_kind(cx: &mut Cx, p: &str, f: &raw::FaultSpec, ok: &mut bool) -> FaultKind {
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
pub(super) fn call_path(cx: &mut Cx, p: &str, c: &raw::CallPathSpec, env: &FaultEnv) -> Option<CallPath> {
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
