//! The network: links between zones (latency, loss) and the network faults
//! (partitions, loss, link latency).

use super::cx::*;
use super::locality;
use crate::dist::Dist;
use crate::model::*;
use crate::scenario::raw;
use crate::time::SimDuration;
use indexmap::IndexMap;

pub(super) fn network(cx: &mut Cx, spec: Option<&raw::NetworkSpec>, zones: &mut Zones) -> Network {
    let default_latency = match spec.and_then(|n| n.latency.as_ref()) {
        Some(d) => cx.dist("network.latency", d),
        None => Dist::Constant(SimDuration::ZERO),
    };
    let default_loss = cx.percent("network.loss".into(), spec.and_then(|n| n.loss), 0.0);
    let n = zones.0.len();
    let known: Vec<String> = zones.0.keys().cloned().collect();
    // One link per unordered zone pair, stored with the pair sorted (a canonical key).
    let mut links: Vec<Link> = Vec::new();
    let mut link_of = vec![LinkId(0); n * n];
    for a in 0..n {
        for b in a..n {
            let name = format!("{}|{}", known[a], known[b]);
            link_of[a * n + b] = LinkId(links.len() as u32);
            link_of[b * n + a] = LinkId(links.len() as u32);
            links.push(Link { name, latency: default_latency.clone(), loss: default_loss });
        }
    }
    for (i, l) in spec.map(|n| n.links.as_slice()).unwrap_or(&[]).iter().enumerate() {
        let p = format!("network.links[{i}]");
        if l.between.len() != 2 {
            cx.err(format!("{p}.between"), format!("two zone names, found {}", l.between.len()));
            continue;
        }
        let mut ids = Vec::new();
        for (k, z) in l.between.iter().enumerate() {
            match zones.0.get_index_of(z.as_str()) {
                Some(id) => ids.push(id),
                None => cx.err(format!("{p}.between[{k}]"), unknown("zone", z, known.iter().map(String::as_str))),
            }
        }
        if ids.len() != 2 {
            continue;
        }
        let link = &mut links[link_of[ids[0] * n + ids[1]].idx()];
        if let Some(d) = &l.latency {
            link.latency = cx.dist(&format!("{p}.latency"), d);
        }
        if l.loss.is_some() {
            link.loss = cx.percent(format!("{p}.loss"), l.loss, 0.0);
        }
    }
    Network { links, link_of, zone_count: n }
}

pub(super) fn network_fault(
    cx: &mut Cx,
    p: &str,
    f: &raw::FaultSpec,
    zones: &Zones,
    service_ids: &IndexMap<&str, ServiceId>,
    topology: &Topology,
) -> Option<FaultKind> {
    use raw::FaultKind as K;
    let zone_id = |z: &str| zones.0.get_index_of(z).map(|i| i as u32);
    let between = match &f.between {
        Some(g) => Some(two_groups(cx, &format!("{p}.between"), g, "zone", zone_id)?),
        None => None,
    };
    let as_zones = |b: Option<(Vec<u32>, Vec<u32>)>| {
        b.map(|(a, b)| (a.into_iter().map(ZoneId).collect(), b.into_iter().map(ZoneId).collect()))
    };
    match f.kind {
        K::Partition => {
            let one_way = f.direction == Some(raw::Direction::OneWay);
            match (between, &f.services, &f.clusters) {
                (Some((from, to)), None, None) => Some(FaultKind::Partition { by_zone: true, from, to, one_way }),
                (None, None, Some(g)) => {
                    let (from, to) = locality::cluster_partition(cx, p, g, topology)?;
                    Some(FaultKind::Partition { by_zone: true, from, to, one_way })
                }
                (None, Some(g), None) => {
                    let node = |name: &str| {
                        if name == "gateway" { Some(0) } else { service_ids.get(name).map(|s| s.0 + 1) }
                    };
                    let (from, to) = two_groups(cx, &format!("{p}.services"), g, "service (or \"gateway\")", node)?;
                    Some(FaultKind::Partition { by_zone: false, from, to, one_way })
                }
                _ => {
                    cx.err(
                        p.to_string(),
                        "either \"between\" (two groups of zones), \"services\" (two groups of services) or \"clusters\" (two groups of clusters)",
                    );
                    None
                }
            }
        }
        K::Loss => {
            let probability = cx.percent(format!("{p}.percent"), f.percent, 100.0);
            Some(FaultKind::Loss { between: as_zones(between), probability })
        }
        _ => match &f.delay {
            Some(d) => {
                Some(FaultKind::LinkLatency { between: as_zones(between), delay: cx.dist(&format!("{p}.delay"), d) })
            }
            None => {
                cx.err(format!("{p}.delay"), "\"delay\", a distribution of added delays");
                None
            }
        },
    }
}
