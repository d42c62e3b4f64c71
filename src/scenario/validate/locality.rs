//! Validation of clusters, regions, locality-aware load balancing and the zone faults:
//! the `clusters` block, `localityLb` policies, `zone-outage` faults and partitions
//! between clusters.

use super::cx::{Cx, Zones, two_groups, unknown};
use crate::model::{Cluster, FaultKind, LocalityLb, Topology, ZoneId};
use crate::scenario::raw;

/// The name of the cluster zones no cluster lists belong to.
pub const DEFAULT_CLUSTER: &str = "default";

/// The clusters and regions of the zones. Without a block, every zone is in one cluster
/// (`default`, region `default`), so locality balancing still ranks by zone.
pub(super) fn topology(cx: &mut Cx, spec: Option<&raw::UniqueMap<raw::ClusterSpec>>, zones: &Zones) -> Topology {
    let nz = zones.0.len();
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut regions: Vec<String> = Vec::new();
    let region_id = |name: &str, regions: &mut Vec<String>| -> u32 {
        match regions.iter().position(|r| r == name) {
            Some(i) => i as u32,
            None => {
                regions.push(name.to_string());
                (regions.len() - 1) as u32
            }
        }
    };
    let mut zone_cluster = vec![u32::MAX; nz];
    if let Some(map) = spec {
        if map.is_empty() {
            cx.err("clusters", "at least one cluster");
        }
        for (name, c) in map.iter() {
            let p = format!("clusters.{name}");
            cx.name(p.clone(), name);
            let id = clusters.len() as u32;
            if c.zones.is_empty() {
                cx.err(format!("{p}.zones"), "at least one zone");
            }
            let mut ids = Vec::new();
            for (k, z) in c.zones.iter().enumerate() {
                match zones.0.get_index_of(z.as_str()) {
                    None => cx.err(
                        format!("{p}.zones[{k}]"),
                        unknown(
                            "zone (of an instance, the gateway or a network link)",
                            z,
                            zones.0.keys().map(String::as_str),
                        ),
                    ),
                    Some(zi) if zone_cluster[zi] != u32::MAX => {
                        let other = &clusters.get(zone_cluster[zi] as usize).map_or(name.as_str(), |c| c.name.as_str());
                        cx.err(
                            format!("{p}.zones[{k}]"),
                            format!("a zone in one cluster only, found {z:?} in {other} too"),
                        );
                    }
                    Some(zi) => {
                        zone_cluster[zi] = id;
                        ids.push(ZoneId(zi as u32));
                    }
                }
            }
            if let Some(r) = &c.region {
                cx.name(format!("{p}.region"), r);
            }
            let region = region_id(c.region.as_deref().unwrap_or(name), &mut regions);
            let discovery_delay = c.discovery_delay.map_or(crate::time::SimDuration::ZERO, |d| d.0);
            clusters.push(Cluster { name: name.clone(), region, zones: ids, discovery_delay });
        }
    }
    if zone_cluster.contains(&u32::MAX) {
        let id = match clusters.iter().position(|c| c.name == DEFAULT_CLUSTER) {
            Some(i) => i as u32,
            None => {
                let region = region_id(DEFAULT_CLUSTER, &mut regions);
                clusters.push(Cluster {
                    name: DEFAULT_CLUSTER.into(),
                    region,
                    zones: Vec::new(),
                    discovery_delay: crate::time::SimDuration::ZERO,
                });
                (clusters.len() - 1) as u32
            }
        };
        for (zi, c) in zone_cluster.iter_mut().enumerate() {
            if *c == u32::MAX {
                *c = id;
                clusters[id as usize].zones.push(ZoneId(zi as u32));
            }
        }
    }
    Topology { clusters, regions, zone_cluster, declared: spec.is_some() }
}

/// A `localityLb` setting; `None` when it is disabled or invalid (reported).
pub(super) fn locality_lb(cx: &mut Cx, p: &str, spec: &raw::LocalityLbSpec, topo: &Topology) -> Option<LocalityLb> {
    let overprovisioning = match spec.overprovisioning_factor {
        None => crate::balance::locality::OVERPROVISIONING_DEFAULT,
        Some(f) if (1..=100_000).contains(&f) => f,
        Some(f) => {
            cx.err(
                format!("{p}.overprovisioningFactor"),
                format!("a factor in percent from 1 to 100000 (140 = 1.4), found {f}"),
            );
            return None;
        }
    };
    let mut failover = Vec::new();
    let region = |cx: &mut Cx, path: String, name: &str| -> Option<u32> {
        let r = topo.regions.iter().position(|r| r == name).map(|i| i as u32);
        if r.is_none() {
            cx.err(path, unknown("region (of a cluster)", name, topo.regions.iter().map(String::as_str)));
        }
        r
    };
    for (k, f) in spec.failover.iter().enumerate() {
        let from = region(cx, format!("{p}.failover[{k}].from"), &f.from);
        let to = region(cx, format!("{p}.failover[{k}].to"), &f.to);
        if let (Some(a), Some(b)) = (from, to) {
            if a == b {
                cx.err(format!("{p}.failover[{k}].to"), format!("a region other than \"from\", found {:?}", f.to));
            } else {
                failover.push((a, b));
            }
        }
    }
    if spec.enabled == Some(false) {
        return None;
    }
    Some(LocalityLb { overprovisioning, failover })
}

/// A `zone-outage` fault's kind: its zone (required, known) and crash mode (hang by
/// default: a zone that goes dark answers nothing).
pub(super) fn zone_outage(cx: &mut Cx, p: &str, f: &raw::FaultSpec, zones: &Zones) -> Option<FaultKind> {
    if f.target.is_some() {
        cx.err(format!("{p}.target"), "no target: a zone outage hits every instance in its \"zone\"");
        return None;
    }
    let Some(z) = &f.zone else {
        cx.err(format!("{p}.zone"), "\"zone\", the zone that goes down");
        return None;
    };
    let Some(zi) = zones.0.get_index_of(z.as_str()) else {
        cx.err(format!("{p}.zone"), unknown("zone", z, zones.0.keys().map(String::as_str)));
        return None;
    };
    Some(FaultKind::ZoneOutage { zone: ZoneId(zi as u32), hang: f.mode != Some(raw::CrashMode::Reset) })
}

/// A partition between two groups of clusters, as two groups of their zones.
pub(super) fn cluster_partition(
    cx: &mut Cx,
    p: &str,
    groups: &[Vec<String>],
    topo: &Topology,
) -> Option<(Vec<u32>, Vec<u32>)> {
    if !topo.declared {
        cx.err(format!("{p}.clusters"), "a \"clusters\" block naming the clusters to partition");
        return None;
    }
    let id = |name: &str| topo.clusters.iter().position(|c| c.name == name).map(|i| i as u32);
    let (a, b) = two_groups(cx, &format!("{p}.clusters"), groups, "cluster", id)?;
    let zones_of = |g: Vec<u32>| -> Vec<u32> {
        g.iter().flat_map(|&c| topo.clusters[c as usize].zones.iter().map(|z| z.0)).collect()
    };
    Some((zones_of(a), zones_of(b)))
}

/// Istio applies locality failover only where outlier detection is configured: without
/// it Envoy would never find hosts unhealthy and move traffic. meshsim refuses a
/// `localityLb` for a caller and destination without `outlierDetection`, naming the
/// first such pair for each place it was set.
pub(super) fn require_outlier_detection(
    cx: &mut Cx,
    localities: &[Option<LocalityLb>],
    outliers: &[Option<crate::model::OutlierPolicy>],
    from: &[String],
    services: &[crate::model::Service],
) {
    let n = services.len();
    let mut reported: Vec<&str> = Vec::new();
    for (k, l) in localities.iter().enumerate() {
        if l.is_none() || outliers[k].is_some() || reported.contains(&from[k].as_str()) {
            continue;
        }
        reported.push(&from[k]);
        let caller = if k / n == 0 { "gateway" } else { services[k / n - 1].name.as_str() };
        cx.err(
            from[k].clone(),
            format!(
                "outlierDetection for the same callers and destination (Istio applies locality failover only \
                 with outlier detection), missing for {caller} -> {}",
                services[k % n].name
            ),
        );
    }
}

/// A cross-cluster discovery delay models the control plane's push of another cluster's
/// endpoints (ideal discovery); with a registry the views have their own refreshes.
pub(super) fn check_discovery_delay(cx: &mut Cx, topo: &Topology, discovery: &crate::model::Discovery) {
    if discovery.mode == crate::model::DiscoveryMode::Ideal {
        return;
    }
    for c in topo.clusters.iter().filter(|c| !c.discovery_delay.is_zero()) {
        cx.err(
            format!("clusters.{}.discoveryDelay", c.name),
            "ideal discovery (discovery.mode \"ideal\", the control plane's push): with client- or server-side \
             discovery, views learn of instances from the registry",
        );
    }
}
