//! Locality-aware load balancing as Istio configures it and Envoy runs it: each
//! destination host's priority for a caller (`host_priorities`, Istio's
//! `applyLocalityFailover`), and the share of traffic each priority gets from the health
//! of the hosts in it (`priority_load`, Envoy's priority load with the overprovisioning
//! factor and the panic threshold across priorities).
//!
//! Pure functions of their inputs: the proxy (`sim/hosts.rs`) counts the hosts it sees and
//! the healthy ones, calls `priority_load`, and draws a priority with `choose_priority`.

use crate::resilience::outlier::panic_mode;

/// Envoy's default overprovisioning factor, in percent (1.4).
pub const OVERPROVISIONING_DEFAULT: u32 = 140;

/// One priority level as a proxy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// Hosts in the level that the proxy knows of (its discovery view; Envoy's host set
    /// from EDS).
    pub total: u32,
    /// Those it may send to: passing its health checks and not ejected.
    pub healthy: u32,
}

/// The share of traffic (percent, summing to 100) each level gets, and whether each is
/// in panic (balance over all its hosts, healthy or not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityLoad {
    pub load: Vec<u32>,
    pub panic: Vec<bool>,
}

/// Envoy's priority load (`LoadBalancerBase::recalculatePriorityLoad`, docs "Priority
/// levels", "Overprovisioning factor" and "Panic threshold"):
///
/// - a level's health is `min(100, overprovisioning × healthy / total)` in integer
///   percent (the factor in percent, 140 for 1.4), 0 for a level without hosts;
/// - the normalized total health is `min(100, Σ health)`; each level in order takes
///   `min(remaining, health × 100 / normalized total)` of the 100 %, and what rounding
///   leaves goes to the first level with any health;
/// - with a normalized total health of 0 ("total panic") every level is in panic and the
///   load is split by host counts (`recalculateLoadInTotalPanic`), the rest to the
///   first level with hosts;
/// - otherwise, while the normalized total health is below 100, a level whose healthy
///   share is below the panic threshold (percent; 0 disables) is in panic; at 100 Envoy
///   disregards the panic threshold, since lower levels absorb the traffic.
///
/// Returns `None` when no level has a host (Envoy's "no healthy upstream").
pub fn priority_load(levels: &[Level], overprovisioning: u32, panic_threshold: f64) -> Option<PriorityLoad> {
    let hosts: u64 = levels.iter().map(|l| u64::from(l.total)).sum();
    if hosts == 0 {
        return None;
    }
    let health: Vec<u32> = levels
        .iter()
        .map(|l| {
            if l.total == 0 {
                0
            } else {
                (u64::from(overprovisioning) * u64::from(l.healthy.min(l.total)) / u64::from(l.total)).min(100) as u32
            }
        })
        .collect();
    let normalized: u32 = health.iter().sum::<u32>().min(100);
    let mut load = vec![0u32; levels.len()];
    if normalized == 0 {
        let mut left = 100u32;
        for (i, l) in levels.iter().enumerate() {
            load[i] = (100 * u64::from(l.total) / hosts) as u32;
            left -= load[i];
        }
        let first = levels.iter().position(|l| l.total > 0).expect("some level has hosts");
        load[first] += left;
        return Some(PriorityLoad { load, panic: vec![true; levels.len()] });
    }
    let mut left = 100u32;
    for (i, &h) in health.iter().enumerate() {
        let share = (h * 100 / normalized).min(left);
        load[i] = share;
        left -= share;
    }
    let first = health.iter().position(|&h| h > 0).expect("a positive total health has a healthy level");
    load[first] += left;
    let panic = levels
        .iter()
        .map(|l| normalized < 100 && panic_mode(l.healthy as usize, l.total as usize, panic_threshold))
        .collect();
    Some(PriorityLoad { load, panic })
}

/// The level a draw in `0..100` lands in: the first whose cumulative load exceeds it
/// (Envoy's `choosePriority`).
pub fn choose_priority(load: &[u32], draw: u32) -> usize {
    let mut cumulative = 0;
    for (i, &l) in load.iter().enumerate() {
        cumulative += l;
        if draw < cumulative {
            return i;
        }
    }
    load.iter().rposition(|&l| l > 0).unwrap_or(0)
}

/// Istio's locality failover (`applyLocalityFailover`, DestinationRule
/// `localityLbSetting.failover`): a host's priority for a caller, from their localities.
/// meshsim's localities have a region and a zone (no sub-zone), so Istio's levels are:
/// 0 same zone, 2 same region, 3 another region, and with a `failover` entry from the
/// caller's region, 4 for regions other than its `to`. The levels present are then
/// renumbered 0, 1, 2... in order, as Istio does (priorities must not skip).
///
/// `caller` and `hosts` are (region, zone) pairs; `failover` (from region, to region)
/// pairs, the first from the caller's region applying.
pub fn host_priorities(caller: (u32, u32), hosts: &[(u32, u32)], failover: &[(u32, u32)]) -> Vec<u32> {
    let raw: Vec<u32> = hosts
        .iter()
        .map(|&(region, zone)| {
            if region == caller.0 && zone == caller.1 {
                0
            } else if region == caller.0 {
                2
            } else {
                match failover.iter().find(|&&(from, _)| from == caller.0) {
                    Some(&(_, to)) if to != region => 4,
                    _ => 3,
                }
            }
        })
        .collect();
    let mut present = raw.clone();
    present.sort_unstable();
    present.dedup();
    raw.iter().map(|p| present.iter().position(|q| q == p).expect("a level present") as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(healthy: u32, total: u32) -> Level {
        Level { total, healthy }
    }

    #[test]
    fn envoy_docs_examples_two_levels() {
        // Envoy's "Priority levels" table: P=1 fully healthy.
        for (p0_healthy_pct, p0_load) in [(100, 100), (72, 100), (71, 99), (50, 70), (25, 35), (0, 0)] {
            let l = priority_load(&[lv(p0_healthy_pct, 100), lv(100, 100)], 140, 50.0).unwrap();
            assert_eq!(l.load, vec![p0_load, 100 - p0_load], "P0 {p0_healthy_pct}% healthy");
            assert_eq!(l.panic, vec![false, false], "a normalized total of 100 disregards panic");
        }
    }

    #[test]
    fn two_of_four_unhealthy_gives_seventy_percent() {
        let l = priority_load(&[lv(2, 4), lv(4, 4), lv(4, 4)], 140, 50.0).unwrap();
        assert_eq!(l.load, vec![70, 30, 0]);
    }

    #[test]
    fn spill_goes_to_p1_before_p2() {
        // P0 at 20 % health (28), P1 at 50 % (70): P2 gets the 2 left.
        let l = priority_load(&[lv(1, 5), lv(2, 4), lv(4, 4)], 140, 50.0).unwrap();
        assert_eq!(l.load, vec![28, 70, 2]);
    }

    #[test]
    fn normalized_when_total_health_is_below_100() {
        // Envoy docs: health 20 % / 20 % of two levels -> 28 + 28 = 56 normalized: 50/50.
        let l = priority_load(&[lv(2, 10), lv(2, 10)], 140, 50.0).unwrap();
        assert_eq!(l.load, vec![50, 50]);
        assert_eq!(l.panic, vec![true, true]);
        // 60 % healthy P0 (84) and empty P1 health: P0 takes everything, not in panic.
        let l = priority_load(&[lv(6, 10), lv(0, 10)], 140, 50.0).unwrap();
        assert_eq!(l.load, vec![100, 0]);
        assert_eq!(l.panic, vec![false, true]);
    }

    #[test]
    fn total_panic_splits_by_host_count() {
        let l = priority_load(&[lv(0, 1), lv(0, 2)], 140, 50.0).unwrap();
        assert_eq!(l.load, vec![34, 66]);
        assert_eq!(l.panic, vec![true, true]);
        assert_eq!(priority_load(&[lv(0, 0), lv(0, 0)], 140, 50.0), None);
    }

    #[test]
    fn panic_threshold_zero_disables_panic_and_empty_levels_get_nothing() {
        let l = priority_load(&[lv(1, 10), lv(0, 0)], 140, 0.0).unwrap();
        assert_eq!(l.load, vec![100, 0]);
        assert_eq!(l.panic, vec![false, false]);
    }

    #[test]
    fn overprovisioning_one_spills_at_the_first_unhealthy_host() {
        let l = priority_load(&[lv(9, 10), lv(10, 10)], 100, 50.0).unwrap();
        assert_eq!(l.load, vec![90, 10]);
    }

    #[test]
    fn choosing_follows_cumulative_loads() {
        let load = [70, 30, 0];
        assert_eq!(choose_priority(&load, 0), 0);
        assert_eq!(choose_priority(&load, 69), 0);
        assert_eq!(choose_priority(&load, 70), 1);
        assert_eq!(choose_priority(&load, 99), 1);
        let counts = (0..100).fold([0; 3], |mut c, d| {
            c[choose_priority(&load, d)] += 1;
            c
        });
        assert_eq!(counts, [70, 30, 0]);
    }

    #[test]
    fn istio_priorities_by_zone_region_and_failover() {
        // Regions 0 (zones 0, 1), 1 (zone 2), 2 (zone 3).
        let hosts = [(0, 0), (0, 1), (1, 2), (2, 3)];
        assert_eq!(host_priorities((0, 0), &hosts, &[]), vec![0, 1, 2, 2]);
        assert_eq!(host_priorities((0, 1), &hosts, &[]), vec![1, 0, 2, 2]);
        // Failover from region 0 to region 2: region 1 drops behind it.
        assert_eq!(host_priorities((0, 0), &hosts, &[(0, 2)]), vec![0, 1, 3, 2]);
        // An entry from another region does not apply.
        assert_eq!(host_priorities((0, 0), &hosts, &[(1, 2)]), vec![0, 1, 2, 2]);
        // A caller in a zone without hosts: priorities renumbered from 0.
        assert_eq!(host_priorities((1, 9), &hosts, &[]), vec![1, 1, 0, 1]);
        assert_eq!(host_priorities((3, 9), &hosts, &[]), vec![0, 0, 0, 0]);
    }
}
