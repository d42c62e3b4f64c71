//! Host groups: one proxy's hosts for a destination, split by subset (a version's
//! instances, as Istio's DestinationRule subsets) and by priority (locality: the caller's
//! own zone first), each group with its own balancer, as Envoy keeps one load balancer
//! per subset and one host set per priority.
//!
//! A host belongs to one group of each *family*: the family of its own subset, and the
//! family `ANY` (every subset: calls that name none, as a route without a subset balances
//! over all of a service's endpoints). Within a family the groups are ordered by
//! priority, 0 first. Hosts are the destination's instance indices (`0..n`), as for a
//! plain `Balancer`; a group's balancer picks a local index that maps back to one.
//!
//! A plain state machine like `Balancer`: which group to use is the caller's choice
//! (the proxy knows health, views and ejections); `pick_in` then picks within it.

use super::{Balancer, Host};
use crate::model::BalancerConfig;
use crate::rng::Stream;
use crate::time::{SimDuration, SimTime};

/// The family of every host, whatever its subset.
pub const ANY: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct HostGroup {
    /// The subset it belongs to (`ANY`: the family of all hosts).
    pub subset: u32,
    pub priority: u32,
    /// Destination host indices, in the destination's instance order.
    pub hosts: Vec<u32>,
    balancer: Balancer,
}

impl HostGroup {
    pub fn balancer(&self) -> &Balancer {
        &self.balancer
    }
}

#[derive(Clone, Debug)]
pub struct HostGroups {
    groups: Vec<HostGroup>,
    /// Per family (subsets in order, then `ANY` last): its groups, by priority.
    families: Vec<(u32, Vec<u32>)>,
    /// Per host: its (group, local index) in each family it belongs to.
    slots: Vec<[(u32, u32); 2]>,
}

impl HostGroups {
    /// Groups `hosts` by `subset_of[h]` and `priority_of[h]`. With `subsets` false every
    /// host is in the family `ANY` only (no call names a subset). Each group's balancer is
    /// built from `config` over the group's hosts, seeded from `rng` in group order.
    pub fn new(
        config: &BalancerConfig,
        hosts: &[Host],
        subset_of: &[u32],
        priority_of: &[u32],
        subsets: bool,
        now: SimTime,
        rng: &mut Stream,
    ) -> HostGroups {
        assert!(!hosts.is_empty(), "host groups need at least one host");
        assert_eq!(hosts.len(), subset_of.len());
        assert_eq!(hosts.len(), priority_of.len());
        let mut keys: Vec<u32> = if subsets { subset_of.to_vec() } else { Vec::new() };
        keys.sort_unstable();
        keys.dedup();
        keys.push(ANY);
        let mut groups = Vec::new();
        let mut families = Vec::new();
        let mut slots = vec![[(u32::MAX, 0); 2]; hosts.len()];
        for &key in &keys {
            let members: Vec<usize> = (0..hosts.len()).filter(|&h| key == ANY || subset_of[h] == key).collect();
            let mut prios: Vec<u32> = members.iter().map(|&h| priority_of[h]).collect();
            prios.sort_unstable();
            prios.dedup();
            let mut ids = Vec::new();
            for prio in prios {
                let in_group: Vec<u32> =
                    members.iter().filter(|&&h| priority_of[h] == prio).map(|&h| h as u32).collect();
                let group_hosts: Vec<Host> = in_group.iter().map(|&h| hosts[h as usize].clone()).collect();
                let g = groups.len() as u32;
                let slot = if key == ANY && subsets { 1 } else { 0 };
                for (local, &h) in in_group.iter().enumerate() {
                    slots[h as usize][slot] = (g, local as u32);
                }
                groups.push(HostGroup {
                    subset: key,
                    priority: prio,
                    balancer: Balancer::new(config, &group_hosts, now, rng),
                    hosts: in_group,
                });
                ids.push(g);
            }
            families.push((key, ids));
        }
        HostGroups { groups, families, slots }
    }

    /// The groups of `subset`'s family (or `ANY`'s), by priority; empty for a subset
    /// without hosts.
    pub fn family(&self, subset: u32) -> &[u32] {
        self.families.iter().find(|(k, _)| *k == subset).map_or(&[], |(_, g)| g.as_slice())
    }

    pub fn group(&self, g: u32) -> &HostGroup {
        &self.groups[g as usize]
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Picks a host in group `g` with its balancer.
    #[inline]
    pub fn pick_in(&mut self, g: u32, now: SimTime, client: u64, rng: &mut Stream) -> usize {
        let group = &mut self.groups[g as usize];
        group.hosts[group.balancer.pick(now, client, rng)] as usize
    }

    /// A call went to `host`: every group holding it counts it.
    #[inline]
    pub fn on_send(&mut self, host: usize) {
        for &(g, local) in &self.slots[host] {
            if g != u32::MAX {
                self.groups[g as usize].balancer.on_send(local as usize);
            }
        }
    }

    /// A call to `host` ended after `rtt`.
    #[inline]
    pub fn on_complete(&mut self, host: usize, now: SimTime, rtt: SimDuration) {
        for &(g, local) in &self.slots[host] {
            if g != u32::MAX {
                self.groups[g as usize].balancer.on_complete(local as usize, now, rtt);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RootSeed;

    fn hosts(n: usize) -> Vec<Host> {
        (0..n).map(|i| Host { name: format!("h-{i}"), weight: 1 }).collect()
    }

    #[test]
    fn families_split_by_subset_and_priority() {
        let mut rng = RootSeed(1).stream("lb");
        // Hosts 0-2 are v0, 3-4 v1; hosts 0, 3 in priority 0, the others in 1.
        let hg = HostGroups::new(
            &BalancerConfig::RoundRobin,
            &hosts(5),
            &[0, 0, 0, 1, 1],
            &[0, 1, 1, 0, 1],
            true,
            SimTime::ZERO,
            &mut rng,
        );
        let hosts_of = |fam: u32| -> Vec<(u32, Vec<u32>)> {
            hg.family(fam).iter().map(|&g| (hg.group(g).priority, hg.group(g).hosts.clone())).collect()
        };
        assert_eq!(hosts_of(0), vec![(0, vec![0]), (1, vec![1, 2])]);
        assert_eq!(hosts_of(1), vec![(0, vec![3]), (1, vec![4])]);
        assert_eq!(hosts_of(ANY), vec![(0, vec![0, 3]), (1, vec![1, 2, 4])]);
        assert!(hg.family(7).is_empty());
    }

    #[test]
    fn picks_stay_in_their_group_and_counts_reach_both_families() {
        let mut rng = RootSeed(2).stream("lb");
        let mut hg = HostGroups::new(
            &BalancerConfig::LeastOutstanding,
            &hosts(4),
            &[0, 0, 1, 1],
            &[0, 0, 0, 0],
            true,
            SimTime::ZERO,
            &mut rng,
        );
        let v1 = hg.family(1)[0];
        for _ in 0..20 {
            let h = hg.pick_in(v1, SimTime::ZERO, 0, &mut rng);
            assert!(h == 2 || h == 3, "{h}");
        }
        // Host 2 busy: least-outstanding in v1 and in ANY both avoid it.
        hg.on_send(2);
        let any = hg.family(ANY)[0];
        assert_eq!(hg.pick_in(v1, SimTime::ZERO, 0, &mut rng), 3);
        assert_eq!(hg.group(any).balancer().outstanding(), &[0, 0, 1, 0]);
        hg.on_complete(2, SimTime::ZERO, SimDuration::ZERO);
        assert_eq!(hg.group(any).balancer().outstanding(), &[0, 0, 0, 0]);
    }

    #[test]
    fn without_subsets_there_is_only_the_any_family() {
        let mut rng = RootSeed(3).stream("lb");
        let hg = HostGroups::new(
            &BalancerConfig::RoundRobin,
            &hosts(3),
            &[0, 1, 1],
            &[1, 0, 1],
            false,
            SimTime::ZERO,
            &mut rng,
        );
        assert!(hg.family(0).is_empty());
        assert_eq!(hg.len(), 2);
        assert_eq!(hg.group(hg.family(ANY)[0]).hosts, vec![1]);
    }
}
