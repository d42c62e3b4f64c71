//! The loop's part of locality-aware balancing: each proxy's priority draw and settings,
//! and where attempts went relative to their caller's zone and cluster (`summary.json`'s
//! `locality`, `locality.csv`). Nothing here runs in a scenario without clusters or
//! locality balancing (`locality_stats` is `None`, every proxy's setting `None`).

use super::*;

/// A proxy's locality balancing: the priority draw's stream and Envoy's settings.
pub(super) struct LocalityProxy {
    pub(super) rng: Stream,
    pub(super) overprovisioning: u32,
    /// Envoy's healthy panic threshold, percent: the proxy's outlier detection's, else
    /// Envoy's default 50.
    pub(super) panic_threshold: f64,
}

/// The proxy at `site` for `dest`'s locality balancing, if its policy has it; its draws
/// come from the stream `proxy-priority/<site>/<destination>`.
pub(super) fn proxy(sc: &Scenario, seed: RootSeed, site: usize, dest: ServiceId) -> Option<LocalityProxy> {
    let caller = site_caller(sc, site);
    let l = sc.policies.locality(caller, dest)?;
    let panic_threshold = sc.policies.outlier(caller, dest).map_or(50.0, |o| o.healthy_panic_threshold);
    let rng = seed.stream(&format!("proxy-priority/{}/{}", site_name(sc, site), sc.services[dest.idx()].name));
    Some(LocalityProxy { rng, overprovisioning: l.overprovisioning, panic_threshold })
}

/// Who calls from `site`: the gateway or the instance's service.
pub(super) fn site_caller(sc: &Scenario, site: usize) -> Caller {
    if site == GATEWAY_SITE { Caller::Gateway } else { Caller::Service(sc.instances[site - 1].service) }
}

/// The zone of `site`.
pub(super) fn site_zone(sc: &Scenario, site: usize) -> ZoneId {
    if site == GATEWAY_SITE { sc.gateway.zone } else { sc.instances[site - 1].zone }
}

/// Whether a scenario reports locality: it has clusters or locality balancing.
pub(super) fn enabled(sc: &Scenario) -> bool {
    sc.topology.declared || sc.policies.locality.iter().any(Option::is_some)
}

impl Sim<'_, '_> {
    /// Counts an attempt from `from` to `instance` by locality.
    #[cold]
    #[inline(never)]
    pub(super) fn count_locality(&mut self, from: ZoneId, instance: InstanceId, measured: bool) {
        let sc = self.sc;
        let to = sc.instances[instance.idx()].zone;
        let kind = if to == from {
            0
        } else if sc.topology.cluster_of(to) == sc.topology.cluster_of(from) {
            1
        } else {
            2
        };
        let window = (self.now.0 / sc.metrics_interval.as_nanos().max(1)) as usize;
        let zones = sc.zones.len();
        let Some(l) = self.recorder.locality_stats.as_mut() else { return };
        if measured {
            l.totals[from.idx()][kind] += 1;
        }
        while l.windows.len() <= window {
            l.windows.push(vec![[0; 3]; zones]);
        }
        l.windows[window][from.idx()][kind] += 1;
    }
}

/// `locality.csv`'s columns.
pub use crate::output::locality::HEADER as LOCALITY_HEADER;

/// Writes `locality.csv`: per window and caller zone with any attempt, where they went.
pub fn write_locality_csv(sc: &Scenario, stats: &LocalityStats, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(out, "{}", LOCALITY_HEADER.join(","))?;
    let width = sc.metrics_interval.as_nanos();
    for (w, row) in stats.windows.iter().enumerate() {
        let start = SimTime(width.saturating_mul(w as u64));
        for (z, c) in row.iter().enumerate() {
            if c.iter().all(|&n| n == 0) {
                continue;
            }
            let cluster = &sc.topology.clusters[sc.topology.zone_cluster[z] as usize].name;
            writeln!(out, "{:.3},{},{},{},{},{}", start.as_secs_f64(), sc.zones[z], cluster, c[0], c[1], c[2])?;
        }
    }
    Ok(())
}

/// Cross-cluster discovery with ideal discovery: each instance's history of being
/// routable, so a proxy in another cluster sees it as it was one discovery delay ago
/// (Istio's multicluster: istiod learns of a remote cluster's endpoints through its
/// watch of that cluster's API server, then pushes them). Within a cluster, changes
/// arrive at once, as without clusters.
pub(super) struct RemoteDiscovery {
    /// Per instance: (time, routable) at each change, the state at time 0 first.
    history: Vec<Vec<(SimTime, bool)>>,
    /// Per proxy: its caller's cluster.
    proxy_cluster: Vec<u32>,
}

impl RemoteDiscovery {
    pub(super) fn new(sc: &Scenario, proxy_site: &[(u32, ServiceId)]) -> Option<RemoteDiscovery> {
        if !sc.topology.discovery_delayed() || sc.discovery.mode != DiscoveryMode::Ideal {
            return None;
        }
        Some(RemoteDiscovery {
            // Instances running at time 0 are ready then unless a readiness probe says
            // otherwise; `note_routable` corrects the first state at time 0.
            history: sc.instances.iter().map(|i| vec![(SimTime::ZERO, i.initially_running)]).collect(),
            proxy_cluster: proxy_site
                .iter()
                .map(|&(site, _)| sc.topology.cluster_of(site_zone(sc, site as usize)))
                .collect(),
        })
    }

    /// Whether `inst` was routable at `t`.
    fn routable_at(&self, inst: InstanceId, t: SimTime) -> bool {
        let h = &self.history[inst.idx()];
        let i = h.partition_point(|&(at, _)| at <= t);
        h[i.max(1) - 1].1
    }
}

impl Sim<'_, '_> {
    /// With ideal discovery, whether proxy `p` sends to `inst`: routable now if it is in
    /// the proxy's cluster (or its cluster's changes arrive at once), else as it was one
    /// discovery delay of its cluster ago.
    #[inline]
    pub(super) fn ideal_visible(&self, p: usize, inst: InstanceId) -> bool {
        let Some(r) = self.proxies.remote.as_ref() else { return self.is_routable(inst) };
        let topo = &self.sc.topology;
        let cluster = topo.cluster_of(self.sc.instances[inst.idx()].zone);
        let delay = topo.clusters[cluster as usize].discovery_delay;
        if cluster == r.proxy_cluster[p] || delay.is_zero() {
            return self.is_routable(inst);
        }
        r.routable_at(inst, SimTime(self.now.0.saturating_sub(delay.as_nanos())))
    }

    /// Records a change of `inst`'s routability for remote clusters (a no-op without
    /// cross-cluster delays or when nothing changed).
    pub(super) fn note_routable(&mut self, inst: InstanceId) {
        if self.proxies.remote.is_none() {
            return;
        }
        let now_routable = self.is_routable(inst);
        let now = self.now;
        let h = &mut self.proxies.remote.as_mut().expect("checked above").history[inst.idx()];
        let &(at, last) = h.last().expect("a history starts with the state at time 0");
        if last == now_routable {
            return;
        }
        if at == now {
            // Two changes at one instant: the later state stands.
            h.pop();
            if h.last().is_some_and(|&(_, v)| v == now_routable) {
                return;
            }
        }
        h.push((now, now_routable));
    }
}
