//! Consistent hashing on a ring (Envoy's ring hash): each host owns points on a 64-bit
//! ring in proportion to its weight; a client id maps to the first point at or after
//! its hash, so the same client keeps its host while the host set is unchanged.

use super::Host;
use crate::rng::stable_hash;
use std::sync::Arc;

/// A ring is the same for every proxy that calls a given set of hosts, so clones share
/// one copy of the points (Envoy's rings reach millions of points).
#[derive(Clone, Debug)]
pub struct Ring {
    /// (point, host), sorted by point.
    points: Arc<[(u64, u32)]>,
}

impl Ring {
    pub fn new(hosts: &[Host], minimum_ring_size: u32) -> Ring {
        let total: u64 = hosts.iter().map(|h| u64::from(h.weight)).sum();
        let mut points = Vec::new();
        for (i, h) in hosts.iter().enumerate() {
            // As Envoy: each host gets ceil(min_ring_size * weight / total) points.
            let n = (u64::from(minimum_ring_size) * u64::from(h.weight)).div_ceil(total.max(1)).max(1);
            for k in 0..n {
                points.push((stable_hash(format!("{}_{k}", h.name).as_bytes()), i as u32));
            }
        }
        points.sort_unstable();
        Ring { points: points.into() }
    }

    pub fn pick(&self, client: u64) -> usize {
        let h = stable_hash(&client.to_le_bytes());
        let i = self.points.partition_point(|&(p, _)| p < h);
        let (_, host) = self.points[if i == self.points.len() { 0 } else { i }];
        host as usize
    }
}
