//! Host selection in a caller's proxy: which instance of the destination an attempt
//! goes to, past the balancer, Envoy's previous-hosts predicate, outlier ejections and
//! the proxy's view.
//!
//! A proxy whose destination has subsets (versions) or whose hosts have priorities
//! (locality) balances within `HostGroups`: the call's subset picks the family, the
//! proxy picks a priority in it (`choose_group`), and the group's own balancer picks
//! the host. Every other proxy keeps one balancer over all hosts (`pick_plain`).
//!
//! With locality balancing the priority is drawn from Envoy's priority load over the
//! family's levels (`balance::locality`); without it, the first priority with a usable
//! host takes every call (plain failover).

use super::*;
use crate::balance::groups::HostGroups;

/// How many times a proxy reselects a host that an earlier attempt of the call tried.
const HOST_RESELECTIONS_MAX: u32 = 3;

/// Which hosts each proxy's destination splits into groups by priority: `None` when
/// the proxy balances over all hosts as one set. With locality balancing for the caller
/// at `site` and `dest`, each host's priority from the caller's zone and region and the
/// policy's failover regions, as Istio assigns them.
pub(super) fn host_priorities(sc: &Scenario, site: usize, dest: ServiceId) -> Option<Vec<u32>> {
    let l = sc.policies.locality(locality::site_caller(sc, site), dest)?;
    let topo = &sc.topology;
    let at = |z: ZoneId| (topo.region_of(z), z.0);
    let caller = at(locality::site_zone(sc, site));
    let hosts: Vec<(u32, u32)> =
        sc.services[dest.idx()].instances.iter().map(|&i| at(sc.instances[i.idx()].zone)).collect();
    Some(crate::balance::locality::host_priorities(caller, &hosts, &l.failover))
}

/// The host groups of the proxy at `site` for `dest`, if its destination has several
/// versions or its hosts have priorities; their balancers draw from their own stream.
pub(super) fn host_groups(
    sc: &Scenario,
    seed: RootSeed,
    site: usize,
    dest: ServiceId,
    config: &BalancerConfig,
    hosts: &[Host],
) -> Option<HostGroups> {
    let svc = &sc.services[dest.idx()];
    let subsets = svc.versions.len() > 1;
    let priorities = host_priorities(sc, site, dest);
    if !subsets && priorities.is_none() {
        return None;
    }
    let subset_of: Vec<u32> = svc.instances.iter().map(|&i| sc.instances[i.idx()].version).collect();
    let priority_of = priorities.unwrap_or_else(|| vec![0; hosts.len()]);
    let mut rng = seed.stream(&format!("proxy-groups/{}/{}", site_name(sc, site), svc.name));
    Some(HostGroups::new(config, hosts, &subset_of, &priority_of, subsets, SimTime::ZERO, &mut rng))
}

impl Sim<'_, '_> {
    /// Picks the host of proxy `p`'s next attempt over all its hosts; `None` when the
    /// proxy sees none (Envoy's "no healthy upstream").
    #[inline(always)]
    pub(super) fn pick_plain(
        &mut self,
        p: usize,
        client: u64,
        avoid: bool,
        tried: u64,
        guarded: bool,
    ) -> Option<usize> {
        let reselect = avoid || self.discovery.lifecycle_on || (guarded && self.proxies.outliers[p].is_some());
        if !reselect {
            // The common case: the balancer's pick stands.
            return Some(self.proxies.balancers[p].pick(self.now, client, &mut self.proxies.proxy_rngs[p]));
        }
        self.pick_plain_again(p, client, avoid, tried, guarded)
    }

    /// `pick_plain` when the pick may have to be made again: a retry avoiding hosts it
    /// tried, ejected hosts, hosts the proxy does not see.
    #[inline(never)]
    fn pick_plain_again(&mut self, p: usize, client: u64, avoid: bool, tried: u64, guarded: bool) -> Option<usize> {
        let now = self.now;
        let balancer = &mut self.proxies.balancers[p];
        let mut host = balancer.pick(now, client, &mut self.proxies.proxy_rngs[p]);
        if avoid {
            // Envoy's previous-hosts predicate: reselect up to a few times (its
            // host_selection_retry_max_attempts) while the pick was tried before.
            for _ in 0..HOST_RESELECTIONS_MAX {
                if tried & (1 << (host % 64)) == 0 {
                    break;
                }
                host = balancer.pick(now, client, &mut self.proxies.proxy_rngs[p]);
            }
        }
        if guarded && self.proxies.outliers[p].is_some() {
            // Envoy takes ejected hosts out of the balancer's set; meshsim's balancers keep
            // their state over all hosts, so the proxy picks again, up to once per host.
            let hosts = self.proxies.balancers[p].host_count();
            for _ in 0..hosts {
                if !self.host_ejected(p, host) {
                    break;
                }
                host = self.proxies.balancers[p].pick(now, client, &mut self.proxies.proxy_rngs[p]);
            }
        }
        if self.discovery.lifecycle_on && !self.host_visible(p, host) {
            // Balance over the hosts the proxy sees (its view, or those running): pick again,
            // then take the next one it sees; with none, Envoy's "no healthy upstream".
            let hosts = self.proxies.balancers[p].host_count();
            for _ in 0..hosts {
                host = self.proxies.balancers[p].pick(now, client, &mut self.proxies.proxy_rngs[p]);
                if self.host_visible(p, host) {
                    break;
                }
            }
            if !self.host_visible(p, host) {
                return (1..hosts).map(|k| (host + k) % hosts).find(|&h| self.host_visible(p, h));
            }
        }
        Some(host)
    }

    /// An attempt of proxy `p` went to `host`: its balancer (and the host's groups) count it.
    #[inline(always)]
    pub(super) fn balancer_sent(&mut self, p: usize, host: usize) {
        self.proxies.balancers[p].on_send(host);
        if let Some(g) = self.proxies.host_groups[p].as_mut() {
            g.on_send(host);
        }
    }

    /// An attempt of proxy `p` to `host` ended after `rtt` (an answer, a timeout, a loss,
    /// a cancelled hedge).
    #[inline(always)]
    pub(super) fn balancer_done(&mut self, p: usize, host: usize, rtt: SimDuration) {
        self.proxies.balancers[p].on_complete(host, self.now, rtt);
        if let Some(g) = self.proxies.host_groups[p].as_mut() {
            g.on_complete(host, self.now, rtt);
        }
    }

    /// Whether proxy `p` may send to `host`: not ejected by its outlier detection (unless
    /// in panic) and, with a lifecycle, in its view and passing its health checks.
    #[inline]
    pub(super) fn host_usable(&self, p: usize, host: usize, guarded: bool) -> bool {
        !(guarded && self.host_ejected(p, host)) && (!self.discovery.lifecycle_on || self.host_visible(p, host))
    }

    /// Whether proxy `p` knows of `host` at all: in its view (with ideal discovery,
    /// running or hung), whatever its health checks and ejections say. Envoy's host set
    /// from EDS, over which a priority's health and panic are counted.
    #[inline]
    fn host_listed(&self, p: usize, host: usize) -> bool {
        if !self.discovery.lifecycle_on {
            return true;
        }
        match self.discovery.proxy_view[p] {
            u32::MAX => self.ideal_visible(p, self.sc.services[self.proxies.proxy_site[p].1.idx()].instances[host]),
            v => self.discovery.views[v as usize].visible[host],
        }
    }

    /// Whether `host` is healthy for proxy `p`'s priority loads: known, passing its health
    /// checks and, for a guarded call, not ejected (panic is decided per priority).
    #[inline]
    fn host_healthy(&self, p: usize, host: usize, guarded: bool) -> bool {
        let ejected = guarded && self.proxies.outliers[p].as_ref().is_some_and(|(d, _)| d.is_ejected(host));
        !ejected && (!self.discovery.lifecycle_on || self.host_visible(p, host))
    }

    /// The group of `subset`'s family that proxy `p` sends its next attempt to, and
    /// whether that group is in panic (any host it knows of will do). With locality
    /// balancing, a draw over Envoy's priority load (`balance::locality::priority_load`:
    /// each level's health with the overprovisioning factor, normalized, with the panic
    /// threshold across priorities); otherwise the first priority with a usable host
    /// (plain failover). `None` when the family has no host to send to.
    pub(super) fn choose_group(&mut self, p: usize, subset: u32, guarded: bool) -> Option<(u32, bool)> {
        use crate::balance::locality::{Level, choose_priority, priority_load};
        let groups = self.proxies.host_groups[p].as_ref().expect("a grouped proxy has host groups");
        let family = groups.family(subset);
        let Some(loc) = self.proxies.localities[p].as_ref() else {
            return family
                .iter()
                .copied()
                .find(|&g| groups.group(g).hosts.iter().any(|&h| self.host_usable(p, h as usize, guarded)))
                .map(|g| (g, false));
        };
        let levels: Vec<Level> = family
            .iter()
            .map(|&g| {
                let hosts = &groups.group(g).hosts;
                let total = hosts.iter().filter(|&&h| self.host_listed(p, h as usize)).count() as u32;
                let healthy = hosts
                    .iter()
                    .filter(|&&h| self.host_listed(p, h as usize) && self.host_healthy(p, h as usize, guarded))
                    .count() as u32;
                Level { total, healthy }
            })
            .collect();
        let load = priority_load(&levels, loc.overprovisioning, loc.panic_threshold)?;
        let g = family.to_vec();
        let rng = &mut self.proxies.localities[p].as_mut().expect("a locality proxy").rng;
        let level = choose_priority(&load.load, rng.random_range(0..100));
        Some((g[level], load.panic[level]))
    }

    /// Whether a grouped proxy may send to `host` of its chosen group: any host it knows
    /// of in panic; with locality balancing a healthy one; otherwise a usable one.
    #[inline]
    fn group_host_ok(&self, p: usize, host: usize, guarded: bool, panic: bool) -> bool {
        if panic {
            self.host_listed(p, host)
        } else if self.proxies.localities[p].is_some() {
            self.host_listed(p, host) && self.host_healthy(p, host, guarded)
        } else {
            self.host_usable(p, host, guarded)
        }
    }

    /// Picks the host of proxy `p`'s next attempt within `subset` (or any subset): the
    /// priority group first, then the group's balancer, re-picking as `pick_plain` does
    /// over the group's hosts only; `None` when no group of the family has a usable host.
    pub(super) fn pick_grouped(
        &mut self,
        p: usize,
        subset: u32,
        client: u64,
        avoid: bool,
        tried: u64,
        guarded: bool,
    ) -> Option<usize> {
        let now = self.now;
        let (g, panic) = self.choose_group(p, subset, guarded)?;
        let groups = self.proxies.host_groups[p].as_mut().expect("a grouped proxy has host groups");
        let mut host = groups.pick_in(g, now, client, &mut self.proxies.proxy_rngs[p]);
        if avoid {
            for _ in 0..HOST_RESELECTIONS_MAX {
                if tried & (1 << (host % 64)) == 0 {
                    break;
                }
                host = groups.pick_in(g, now, client, &mut self.proxies.proxy_rngs[p]);
            }
        }
        let n = groups.group(g).hosts.len();
        for _ in 0..n {
            if self.group_host_ok(p, host, guarded, panic) {
                return Some(host);
            }
            let groups = self.proxies.host_groups[p].as_mut().expect("a grouped proxy has host groups");
            host = groups.pick_in(g, now, client, &mut self.proxies.proxy_rngs[p]);
        }
        if self.group_host_ok(p, host, guarded, panic) {
            return Some(host);
        }
        let groups = self.proxies.host_groups[p].as_ref().expect("a grouped proxy has host groups");
        groups.group(g).hosts.iter().map(|&h| h as usize).find(|&h| self.group_host_ok(p, h, guarded, panic))
    }
}
