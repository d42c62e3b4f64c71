//! The discovery owner: the service registry (self-registration with heartbeats and a
//! TTL, or a third-party registrar), the proxies' cached views of it (refreshed
//! periodically client-side, or kept once per service server-side), the health
//! checkers, and their streams; with `discovery.mode: "ideal"` (the default) proxies
//! know at once which instances run. `lifecycle_on` says whether any lifecycle machinery
//! (starts, stops, crashes, probes, registry, checks) runs at all.
//!
//! **Invariant:** `proxy_view[p]` and `proxy_checker[p]` index `views` and `checkers`
//! (`u32::MAX`: none, the proxy knows at once who runs); a registry, a view or a checker
//! exists only if the scenario asks for it, and only those schedule events.

use super::CheckOutcome;
use super::*;
use crate::discovery::Refresh;
use crate::discovery::health::{CheckResult, CheckTicket, HealthCheckConfig, HealthChecker};
use crate::discovery::registry::RegistryError;

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
    pub(super) checkers: Vec<Checker>,
    pub(super) proxy_checker: Vec<u32>,
    pub(super) check_rng: Stream,
}

impl Discovery {
    /// The discovery of a run whose proxies are `proxy_site` (calling site, destination).
    // Over 80 lines: the registry, then each kind of view and health checker the
    // scenario asks for, each built in a few lines in the order their streams are named.
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
                        checkers.push(Checker::new(
                            config,
                            CheckOwner::Proxy(p as u32),
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
                        let (owner, dest) = (CheckOwner::Registry, ServiceId(d as u32));
                        checkers.push(Checker::new(config, owner, dest, zone, sc, &mut check_rng));
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

/// A cached view of one service's instances: a proxy's own (client-side discovery) or a
/// server-side load balancer's, shared by every caller.
pub(super) struct View {
    pub(super) cache: crate::discovery::ClientView,
    /// By host index within the service.
    pub(super) visible: Vec<bool>,
    pub(super) count: u32,
}

impl View {
    pub(super) fn new(service: ServiceId, hosts: usize) -> View {
        View { cache: crate::discovery::ClientView::new(service.idx()), visible: vec![false; hosts], count: 0 }
    }
}

/// Who runs a health checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CheckOwner {
    /// A proxy, checking its destination's hosts (Envoy's active health checking).
    Proxy(u32),
    /// The registry, checking a service's instances (Consul's HTTP checks).
    Registry,
}

/// An active health checker over one service's hosts, with its checks in flight.
pub(super) struct Checker {
    hc: HealthChecker,
    owner: CheckOwner,
    service: ServiceId,
    /// Where the checks come from.
    zone: ZoneId,
    pending: Vec<Option<CheckTicket>>,
    wake: SimTime,
}

impl Checker {
    pub(super) fn new(
        config: &HealthCheckConfig,
        owner: CheckOwner,
        service: ServiceId,
        zone: ZoneId,
        sc: &Scenario,
        rng: &mut Stream,
    ) -> Checker {
        // Hosts present at time 0 count as already checked healthy (the mesh was running
        // before the run began); Envoy starts a host it has just learnt of unhealthy.
        let hosts = sc.services[service.idx()].instances.len();
        let mut hc = HealthChecker::new(config, 0, SimTime::ZERO, rng);
        for _ in 0..hosts {
            hc.add_host(SimTime::ZERO, true, rng);
        }
        hc.on_traffic();
        Checker { hc, owner, service, zone, pending: vec![None; hosts], wake: SimTime::MAX }
    }
}

impl Sim<'_, '_> {
    // ---- The registry.

    pub(super) fn register(&mut self, inst: InstanceId) {
        let service = self.sc.instances[inst.idx()].service.idx();
        let now = self.now;
        let Some(reg) = self.discovery.registry.as_mut() else { return };
        if reg.register(now, service, inst.idx()).is_err() {
            // Unavailable: a self-registering instance tries again at its next heartbeat.
            self.log_event(inst, "register-failed", "registry unavailable");
        } else {
            self.log_event(inst, "registered", "");
        }
        let epoch = self.stations.instances[inst.idx()].epoch;
        if let Some(h) = self.sc.discovery.registry.as_ref().and_then(|r| r.heartbeat_interval) {
            // Consul lists an entry at its check's first pass: heartbeat at once.
            self.heartbeat(inst);
            self.events.push(now + h, Event::Heartbeat(inst.0, epoch));
        }
    }

    pub(super) fn deregister(&mut self, inst: InstanceId) {
        let now = self.now;
        let Some(reg) = self.discovery.registry.as_mut() else { return };
        match reg.deregister(now, inst.idx()) {
            Ok(()) => {
                self.note_registry_gone(inst);
                self.log_event(inst, "deregistered", "");
            }
            Err(RegistryError::Unavailable) => self.log_event(inst, "deregister-failed", "registry unavailable"),
            Err(RegistryError::NotRegistered(_)) => {}
        }
    }

    /// One heartbeat crosses the link to the registry (or is lost on it).
    fn heartbeat(&mut self, inst: InstanceId) {
        let Some(zone) = self.sc.discovery.registry.as_ref().map(|r| r.zone) else { return };
        if self.transit(self.sc.instances[inst.idx()].zone, zone).is_none() {
            return;
        }
        let now = self.now;
        let reg = self.discovery.registry.as_mut().expect("heartbeats go to a registry");
        if let Err(RegistryError::NotRegistered(_)) = reg.heartbeat(now, inst.idx()) {
            // Evicted (Eureka answers 404): register again.
            let service = self.sc.instances[inst.idx()].service.idx();
            if reg.register(now, service, inst.idx()).is_ok() {
                let _ = reg.heartbeat(now, inst.idx());
                self.log_event(inst, "registered", "after eviction");
            }
        }
    }

    pub(super) fn on_heartbeat(&mut self, inst: u32, epoch: u32) {
        let inst = InstanceId(inst);
        let st = &self.stations.instances[inst.idx()];
        if st.epoch != epoch || st.life != Life::Running {
            return;
        }
        self.heartbeat(inst);
        let h = self.sc.discovery.registry.as_ref().and_then(|r| r.heartbeat_interval).expect("a heartbeat interval");
        self.events.push(self.now + h, Event::Heartbeat(inst.0, epoch));
        self.arm_registry();
    }

    /// Schedules the registry's next expiry check, if earlier than the one scheduled.
    pub(super) fn arm_registry(&mut self) {
        let Some(at) = self.discovery.registry.as_ref().and_then(|r| r.next_expiry()) else { return };
        if at < self.discovery.registry_wake || self.discovery.registry_wake < self.now {
            self.discovery.registry_wake = at;
            self.events.push(at.max(self.now), Event::RegistryExpire);
        }
    }

    pub(super) fn on_registry_expire(&mut self) {
        if self.discovery.registry_wake == self.now {
            self.discovery.registry_wake = SimTime::MAX;
        }
        let now = self.now;
        let expired = self.discovery.registry.as_mut().map(|r| r.expire_due(now)).unwrap_or_default();
        for e in expired {
            let inst = InstanceId(e.instance as u32);
            self.note_registry_gone(inst);
            self.log_event(inst, "expired", "no heartbeat within the ttl");
        }
        // Expiry checks go on while there is work; a run with nothing in flight stops them.
        if self.arrivals_open || !self.live.requests.is_empty() {
            self.arm_registry();
        }
    }

    fn note_registry_gone(&mut self, inst: InstanceId) {
        let now = self.now;
        for d in self.detections.iter_mut().filter(|d| d.instance == inst && d.registry_at.is_none()) {
            d.registry_at = Some(now);
        }
    }

    // ---- Views.

    /// Fetches a view from the registry and schedules the next fetch. A slow registry
    /// answers after its latency (a read past the client's timeout fails and the view
    /// keeps its last list); the first fetch, at time 0, is immediate.
    pub(super) fn refresh_view(&mut self, v: u32) {
        let now = self.now;
        let reg = self.sc.discovery.registry.as_ref().expect("views come from a registry");
        let d =
            if now == SimTime::ZERO { SimDuration::ZERO } else { reg.latency.sample(&mut self.discovery.registry_rng) };
        if d.is_zero() {
            self.apply_view(v);
        } else if d > reg.read_timeout {
            self.discovery.registry_read_timeouts += 1;
        } else {
            self.events.push(now + d, Event::RefreshDone(v));
        }
        let next = self.discovery.views[v as usize].cache.next_refresh(
            now,
            &self.sc.discovery.refresh,
            &mut self.discovery.view_rng,
        );
        if self.arrivals_open || !self.live.requests.is_empty() {
            self.events.push(next, Event::Refresh(v));
        }
    }

    /// The registry's answer reaches a view (unchanged if the registry is unavailable).
    pub(super) fn apply_view(&mut self, v: u32) {
        let now = self.now;
        let reg = self.discovery.registry.as_ref().expect("views come from a registry");
        let view = &mut self.discovery.views[v as usize];
        if let Refresh::Updated { .. } = view.cache.refresh(now, reg) {
            let svc = &self.sc.services[view.cache.service()];
            let before = std::mem::replace(&mut view.visible, vec![false; svc.instances.len()]);
            for &i in view.cache.instances() {
                let host = svc.instances.iter().position(|x| x.idx() == i).expect("a listed instance is the service's");
                view.visible[host] = true;
            }
            view.count = view.visible.iter().filter(|&&b| b).count() as u32;
            if let Some(ch) = self.checker.as_deref_mut() {
                for (host, (&was, &is)) in before.iter().zip(&view.visible).enumerate() {
                    if was != is {
                        let instance = svc.instances[host].0;
                        ch.observe(crate::checker::Obs::ViewChanged { view: v, instance, visible: is });
                    }
                }
            }
            for (host, (&was, &is)) in before.iter().zip(&view.visible).enumerate() {
                if was && !is {
                    let inst = svc.instances[host];
                    for d in self.detections.iter_mut().filter(|d| d.instance == inst && d.restarted_at.is_none()) {
                        d.delays.push(now.since(d.crashed_at));
                    }
                }
            }
        }
    }

    /// Whether proxy `p` would send to `host` of its destination: in its view (or, with
    /// ideal discovery, running), and passing the proxy's health checks if it has them.
    #[inline]
    pub(super) fn host_visible(&self, p: usize, host: usize) -> bool {
        if let Some(c) = self.discovery.checkers.get(self.discovery.proxy_checker[p] as usize)
            && !c.hc.is_healthy(host)
        {
            return false;
        }
        match self.discovery.proxy_view[p] {
            u32::MAX => {
                let dest = self.proxies.proxy_site[p].1;
                self.ideal_visible(p, self.sc.services[dest.idx()].instances[host])
            }
            v => self.discovery.views[v as usize].visible[host],
        }
    }
}

impl Sim<'_, '_> {
    // ---- Active health checks.

    /// Schedules checker `c`'s next due check, if earlier than the one scheduled.
    pub(super) fn arm_checker(&mut self, c: u32) {
        let ch = &mut self.discovery.checkers[c as usize];
        let Some((at, _)) = ch.hc.next_due() else { return };
        if at < ch.wake || ch.wake < self.now {
            ch.wake = at;
            self.events.push(at.max(self.now), Event::HealthCheck(c));
        }
    }

    /// Sends every check that is due: each crosses the network to its host and back.
    pub(super) fn on_health_check(&mut self, c: u32) {
        let now = self.now;
        if self.discovery.checkers[c as usize].wake == now {
            self.discovery.checkers[c as usize].wake = SimTime::MAX;
        }
        while let Some((at, host)) = self.discovery.checkers[c as usize].hc.next_due() {
            if at > now {
                break;
            }
            let ch = &mut self.discovery.checkers[c as usize];
            let ticket = ch.hc.start_check(now, host);
            ch.pending[host] = Some(ticket);
            let (from, service) = (ch.zone, ch.service);
            let inst = self.sc.services[service.idx()].instances[host];
            let to = self.sc.instances[inst.idx()].zone;
            let answer = match self.stations.instances[inst.idx()].life {
                Life::Down { hang: true } => None,
                Life::Running => Some(CheckOutcome::Pass),
                _ => Some(CheckOutcome::Refused),
            };
            let there = self.transit(from, to);
            let back = self.transit(to, from);
            let (at, outcome) = match (answer, there, back) {
                (Some(o), Some((d1, _)), Some((d2, _))) if now + d1 + d2 < ticket.timeout_at => (now + d1 + d2, o),
                _ => (ticket.timeout_at, CheckOutcome::Timeout),
            };
            self.events.push(at, Event::CheckResult(c, host as u32, outcome));
        }
        if self.arrivals_open || !self.live.requests.is_empty() {
            self.arm_checker(c);
        }
    }

    pub(super) fn on_check_result(&mut self, c: u32, host: u32, outcome: CheckOutcome) {
        let now = self.now;
        let ch = &mut self.discovery.checkers[c as usize];
        let Some(ticket) = ch.pending[host as usize].take() else { return };
        let result = match outcome {
            CheckOutcome::Pass => CheckResult::Pass,
            CheckOutcome::Refused => CheckResult::NetworkFailure,
            CheckOutcome::Timeout => CheckResult::Timeout,
        };
        let change = ch.hc.on_result(now, ticket, result, &mut self.discovery.check_rng);
        let (owner, service) = (ch.owner, ch.service);
        if let Some(change) = change {
            let inst = self.sc.services[service.idx()].instances[change.host];
            let event = if change.healthy { "healthy" } else { "unhealthy" };
            match owner {
                CheckOwner::Proxy(p) => {
                    if !change.healthy {
                        self.note_detection();
                    }
                    let site = self.proxies.proxy_site[p as usize].0 as usize;
                    let by = site_name(self.sc, site);
                    self.log_event(inst, event, &format!("health checks by {by}"));
                    if !change.healthy {
                        for d in self.detections.iter_mut().filter(|d| d.instance == inst && d.restarted_at.is_none()) {
                            d.check_delays.push(now.since(d.crashed_at));
                        }
                    }
                }
                CheckOwner::Registry => {
                    self.log_event(inst, event, "health checks by the registry");
                    if let Some(reg) = self.discovery.registry.as_mut()
                        && reg.set_health(now, inst.idx(), change.healthy).is_ok()
                        && !change.healthy
                    {
                        self.note_registry_gone(inst);
                    }
                }
            }
        }
        if self.arrivals_open || !self.live.requests.is_empty() {
            self.arm_checker(c);
        }
    }
}
