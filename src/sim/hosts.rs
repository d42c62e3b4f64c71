//! Host selection in a caller's proxy: which instance of the destination an attempt
//! goes to, past the balancer, Envoy's previous-hosts predicate, outlier ejections and
//! the proxy's view.
//!
//! A proxy whose destination has subsets (versions) or whose hosts have priorities
//! (locality) balances within `HostGroups`: the call's subset picks the family, the
//! proxy picks a priority in it (`choose_group`), and the group's own balancer picks
//! the host. Every other proxy keeps one balancer over all hosts (`pick_plain`).

use super::*;
use crate::balance::groups::HostGroups;

/// How many times a proxy reselects a host that an earlier attempt of the call tried.
const HOST_RESELECTIONS_MAX: u32 = 3;

/// Which hosts each proxy's destination splits into groups by priority: `None` when
/// the proxy balances over all hosts as one set.
pub(super) fn host_priorities(_sc: &Scenario, _site: usize, _dest: ServiceId) -> Option<Vec<u32>> {
    None
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
    #[inline]
    pub(super) fn pick_plain(
        &mut self,
        p: usize,
        client: u64,
        avoid: bool,
        tried: u64,
        guarded: bool,
    ) -> Option<usize> {
        let now = self.now;
        let balancer = &mut self.balancers[p];
        let mut host = balancer.pick(now, client, &mut self.proxy_rngs[p]);
        if avoid {
            // Envoy's previous-hosts predicate: reselect up to a few times (its
            // host_selection_retry_max_attempts) while the pick was tried before.
            for _ in 0..HOST_RESELECTIONS_MAX {
                if tried & (1 << (host % 64)) == 0 {
                    break;
                }
                host = balancer.pick(now, client, &mut self.proxy_rngs[p]);
            }
        }
        if guarded && self.outliers[p].is_some() {
            // Envoy takes ejected hosts out of the balancer's set; meshsim's balancers keep
            // their state over all hosts, so the proxy picks again, up to once per host.
            let hosts = self.balancers[p].host_count();
            for _ in 0..hosts {
                if !self.host_ejected(p, host) {
                    break;
                }
                host = self.balancers[p].pick(now, client, &mut self.proxy_rngs[p]);
            }
        }
        if self.lifecycle_on && !self.host_visible(p, host) {
            // Balance over the hosts the proxy sees (its view, or those running): pick again,
            // then take the next one it sees; with none, Envoy's "no healthy upstream".
            let hosts = self.balancers[p].host_count();
            for _ in 0..hosts {
                host = self.balancers[p].pick(now, client, &mut self.proxy_rngs[p]);
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

    /// Whether proxy `p` may send to `host`: not ejected by its outlier detection (unless
    /// in panic) and, with a lifecycle, in its view and passing its health checks.
    #[inline]
    pub(super) fn host_usable(&self, p: usize, host: usize, guarded: bool) -> bool {
        !(guarded && self.host_ejected(p, host)) && (!self.lifecycle_on || self.host_visible(p, host))
    }

    /// The group of `subset`'s family that proxy `p` sends its next attempt to: the
    /// first priority with a usable host (plain failover by priority). `None` when no
    /// group of the family has one.
    pub(super) fn choose_group(&mut self, p: usize, subset: u32, guarded: bool) -> Option<u32> {
        let groups = self.host_groups[p].as_ref().expect("a grouped proxy has host groups");
        groups
            .family(subset)
            .iter()
            .copied()
            .find(|&g| groups.group(g).hosts.iter().any(|&h| self.host_usable(p, h as usize, guarded)))
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
        let g = self.choose_group(p, subset, guarded)?;
        let groups = self.host_groups[p].as_mut().expect("a grouped proxy has host groups");
        let mut host = groups.pick_in(g, now, client, &mut self.proxy_rngs[p]);
        if avoid {
            for _ in 0..HOST_RESELECTIONS_MAX {
                if tried & (1 << (host % 64)) == 0 {
                    break;
                }
                host = groups.pick_in(g, now, client, &mut self.proxy_rngs[p]);
            }
        }
        let n = groups.group(g).hosts.len();
        for _ in 0..n {
            if self.host_usable(p, host, guarded) {
                return Some(host);
            }
            let groups = self.host_groups[p].as_mut().expect("a grouped proxy has host groups");
            host = groups.pick_in(g, now, client, &mut self.proxy_rngs[p]);
        }
        if self.host_usable(p, host, guarded) {
            return Some(host);
        }
        let groups = self.host_groups[p].as_ref().expect("a grouped proxy has host groups");
        groups.group(g).hosts.iter().map(|&h| h as usize).find(|&h| self.host_usable(p, h, guarded))
    }
}
