//! Service discovery (mode, registry, health checks), readiness and liveness probes, and
//! the lifecycle actions (scale, crash, stop, start) that change instances during a run.

use super::cx::*;
use crate::dist::Dist;
use crate::model::*;
use crate::scenario::raw;
use crate::time::{SimDuration, SimTime};
use indexmap::IndexMap;

// A little over 80 lines: mode, refresh, registry and health check, in issue order.
pub(super) fn discovery(
    cx: &mut Cx,
    d: Option<&raw::DiscoverySpec>,
    zones: &mut Zones,
    gateway_zone: ZoneId,
) -> Discovery {
    use crate::discovery::RefreshConfig;
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
    let registry = d
        .registry
        .as_ref()
        .filter(|_| mode != DiscoveryMode::Ideal)
        .and_then(|r| registry(cx, &format!("{p}.registry"), r, zones, gateway_zone));
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

pub(super) fn probes(
    cx: &mut Cx,
    path: &str,
    spec: &raw::ProbesSpec,
) -> Option<crate::discovery::probe::ProbeSetConfig> {
    use crate::discovery::probe::{ProbeConfig, ProbeKind, ProbeSetConfig};
    let one = |cx: &mut Cx, kind: ProbeKind, p: &Option<raw::ProbeSpec>| -> Option<Option<ProbeConfig>> {
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

/// Lifecycle actions in time order; which fields each action takes and requires is
/// checked when the file is read.
pub(super) fn lifecycle(
    cx: &mut Cx,
    specs: &[raw::Tagged<raw::LifecycleSpec>],
    service_ids: &IndexMap<&str, ServiceId>,
    services: &[Service],
    instances: &[Instance],
) -> Vec<LifecycleAction> {
    use raw::LifecycleSpec as S;
    let mut out = Vec::new();
    for (i, l) in specs.iter().enumerate() {
        let p = format!("lifecycle[{i}]");
        let instance = |name: &str| -> Result<InstanceId, String> {
            instances.iter().position(|x| x.name == name).map(|k| InstanceId(k as u32)).ok_or_else(|| {
                let known: Vec<&str> = instances.iter().take(12).map(|x| x.name.as_str()).collect();
                format!("a known instance such as {}, found {name:?}", known.join(", "))
            })
        };
        let (at, action) = match &l.spec {
            S::Scale { at, service: name, replicas: n } => {
                let Some(&service) = service_ids.get(name.as_str()) else {
                    cx.err(format!("{p}.service"), unknown("service", name, service_ids.keys().copied()));
                    continue;
                };
                let max = services[service.idx()].instances.len() as u32;
                if *n > max {
                    cx.err(
                        format!("{p}.replicas"),
                        format!("at most the service's {max} instances (raise its maxReplicas), found {n}"),
                    );
                    continue;
                }
                (at, Lifecycle::Scale { service, replicas: *n })
            }
            S::Crash { at, instance: name }
            | S::Hang { at, instance: name }
            | S::Stop { at, instance: name }
            | S::Start { at, instance: name } => match instance(name) {
                Err(e) => {
                    cx.err(format!("{p}.instance"), e);
                    continue;
                }
                Ok(instance) => match &l.spec {
                    S::Crash { .. } => (at, Lifecycle::Crash { instance, hang: false }),
                    S::Hang { .. } => (at, Lifecycle::Crash { instance, hang: true }),
                    S::Stop { .. } => (at, Lifecycle::Stop { instance }),
                    _ => (at, Lifecycle::Start { instance }),
                },
            },
        };
        out.push(LifecycleAction { at: SimTime::ZERO + at.0, action });
    }
    // In time order; a stable sort keeps the file's order for ties.
    out.sort_by_key(|a| a.at);
    out
}

/// The registry of a client- or server-side discovery; which parameters each type takes
/// is checked when the file is read, their values here.
fn registry(
    cx: &mut Cx,
    rp: &str,
    r: &raw::Tagged<raw::RegistrySpec>,
    zones: &mut Zones,
    gateway_zone: ZoneId,
) -> Option<RegistryModel> {
    use crate::discovery::registry::RegistryConfig;
    use raw::RegistrySpec as S;
    let (zone, latency, read_timeout) = r.common();
    let zone = zone.as_deref().map_or(gateway_zone, |z| zones.id(z));
    let none = None;
    let (config, heartbeat, durations) = match &r.spec {
        S::Consul { ttl, heartbeat_interval, .. } => {
            let t = ttl.map_or(SimDuration::from_secs(30), |x| x.0);
            (
                RegistryConfig::consul_ttl(t),
                Some(heartbeat_interval.map_or(SimDuration::from_secs(10), |x| x.0)),
                [("ttl", ttl), ("heartbeatInterval", heartbeat_interval), ("evictionInterval", &none)],
            )
        }
        S::Eureka { ttl, heartbeat_interval, eviction_interval, .. } => {
            let mut c = RegistryConfig::eureka();
            if let Some(t) = ttl {
                c.ttl = Some(t.0);
            }
            if let Some(e) = eviction_interval {
                c.eviction_interval = Some(e.0);
            }
            (
                c,
                Some(heartbeat_interval.map_or(SimDuration::from_secs(30), |x| x.0)),
                [("ttl", ttl), ("heartbeatInterval", heartbeat_interval), ("evictionInterval", eviction_interval)],
            )
        }
        S::Registrar { .. } => (
            RegistryConfig::registrar(),
            None,
            [("ttl", &none), ("heartbeatInterval", &none), ("evictionInterval", &none)],
        ),
    };
    for (field, v) in durations {
        if v.is_some_and(|x| x.0.is_zero()) {
            cx.err(format!("{rp}.{field}"), "a duration greater than zero");
            return None;
        }
    }
    if let Err(e) = config.validate() {
        cx.err(rp, e);
        return None;
    }
    let latency = latency.as_ref().map_or(Dist::Constant(SimDuration::ZERO), |d| cx.dist(&format!("{rp}.latency"), d));
    let read_timeout = read_timeout.map_or(SimDuration::from_secs(1), |d| d.0);
    if read_timeout.is_zero() {
        cx.err(format!("{rp}.readTimeout"), "a duration greater than zero");
        return None;
    }
    Some(RegistryModel { config, heartbeat_interval: heartbeat, zone, latency, read_timeout })
}
