//! The discovery owner: the service registry, the proxies' cached views of it, the
//! health checkers, and their streams; with `lifecycle_on`, whether any of the lifecycle
//! machinery (starts, stops, crashes, probes, registry, views, checks) runs at all.
//!
//! **Invariant:** without `lifecycle_on`, every instance runs and every proxy sees them
//! all: no view, registry or checker exists and none of their events is scheduled.
//! `proxy_view[p]` and `proxy_checker[p]` index `views` and `checkers` (`u32::MAX`: none).

use super::lifecycle::{self, View};
use super::{GATEWAY_SITE, Stream};
use crate::model::{CheckBy, DiscoveryMode, FaultKind, Scenario, ServiceId};
use crate::rng::RootSeed;
use crate::time::SimTime;

pub(super) struct Discovery {
    /// Whether instances can stop, crash or start, or proxies see only a view: else every
    /// instance runs and every proxy sees them all, and the checks are skipped.
    pub(super) lifecycle_on: bool,
    pub(super) registry: Option<crate::discovery::registry::Registry>,
    pub(super) registry_wake: SimTime,
    /// Cached views, and each proxy's (`u32::MAX`: none, it knows at once who runs).
    pub(super) views: Vec<View>,
    pub(super) proxy_view: Vec<u32>,
    pub(super) view_rng: Stream,
    /// Draws the registry's read latencies; reads that timed out.
    pub(super) registry_rng: Stream,
    pub(super) registry_read_timeouts: u64,
    /// Active health checkers, and each proxy's (`u32::MAX`: none).
    pub(super) checkers: Vec<lifecycle::Checker>,
    pub(super) proxy_checker: Vec<u32>,
    pub(super) check_rng: Stream,
}

impl Discovery {
    /// The discovery of a run whose proxies are `proxy_site` (calling site, destination).
    pub(super) fn new(sc: &Scenario, seed: RootSeed, proxy_site: &[(u32, ServiceId)]) -> Discovery {
        let registry = sc
            .discovery
            .registry
            .as_ref()
            .map(|r| crate::discovery::registry::Registry::new(&r.config, sc.services.len(), SimTime::ZERO));
        let mut views = Vec::new();
        let mut proxy_view = vec![u32::MAX; proxy_site.len()];
        match sc.discovery.mode {
            DiscoveryMode::Ideal => {}
            DiscoveryMode::Client => {
                for (p, &(_, dest)) in proxy_site.iter().enumerate() {
                    proxy_view[p] = views.len() as u32;
                    views.push(View::new(dest, sc.services[dest.idx()].instances.len()));
                }
            }
            DiscoveryMode::Server => {
                for (d, svc) in sc.services.iter().enumerate() {
                    let v = views.len() as u32;
                    views.push(View::new(ServiceId(d as u32), svc.instances.len()));
                    for (p, &(_, dest)) in proxy_site.iter().enumerate() {
                        if dest.idx() == d {
                            proxy_view[p] = v;
                        }
                    }
                }
            }
        }
        let mut checkers = Vec::new();
        let mut proxy_checker = vec![u32::MAX; proxy_site.len()];
        let mut check_rng = seed.stream("discovery/health-checks");
        if let Some((by, config)) = &sc.discovery.health_check {
            match by {
                CheckBy::Proxy => {
                    for (p, &(site, dest)) in proxy_site.iter().enumerate() {
                        let zone = if site as usize == GATEWAY_SITE {
                            sc.gateway.zone
                        } else {
                            sc.instances[site as usize - 1].zone
                        };
                        proxy_checker[p] = checkers.len() as u32;
                        checkers.push(lifecycle::Checker::new(
                            config,
                            lifecycle::CheckOwner::Proxy(p as u32),
                            dest,
                            zone,
                            sc,
                            &mut check_rng,
                        ));
                    }
                }
                CheckBy::Registry => {
                    let zone = sc.discovery.registry.as_ref().map_or(sc.gateway.zone, |r| r.zone);
                    for d in 0..sc.services.len() {
                        let (owner, dest) = (lifecycle::CheckOwner::Registry, ServiceId(d as u32));
                        checkers.push(lifecycle::Checker::new(config, owner, dest, zone, sc, &mut check_rng));
                    }
                }
            }
        }
        let lifecycle_on = !sc.lifecycle.is_empty()
            || !checkers.is_empty()
            || sc.services.iter().any(|s| s.probes.is_some())
            || registry.is_some()
            || sc.instances.iter().any(|i| !i.initially_running)
            || sc
                .faults
                .iter()
                .any(|f| matches!(f.kind, FaultKind::Crash { .. } | FaultKind::Stop | FaultKind::ZoneOutage { .. }))
            || sc.services.iter().any(|s| s.autoscaler.is_some());
        Discovery {
            lifecycle_on,
            registry,
            registry_wake: SimTime::MAX,
            views,
            proxy_view,
            view_rng: seed.stream("discovery/refresh"),
            registry_rng: seed.stream("discovery/registry-latency"),
            registry_read_timeouts: 0,
            checkers,
            proxy_checker,
            check_rng,
        }
    }
}
