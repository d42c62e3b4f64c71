//! Load balancers.

use super::cx::*;
use crate::model::*;
use crate::scenario::raw;
use crate::time::SimDuration;

/// Envoy's default ring size for ring-hash balancing.
pub const DEFAULT_RING_SIZE: u32 = 1024;
/// Envoy's upper bound on the ring size.
pub const MAX_RING_SIZE: u32 = 8 * 1024 * 1024;
/// Linkerd's PeakEWMA defaults.
pub const DEFAULT_EWMA_DECAY: SimDuration = SimDuration::from_secs(10);
pub const DEFAULT_EWMA_RTT: SimDuration = SimDuration::from_millis(30);

/// A load balancer; which parameters each type takes is checked when the file is read.
pub(super) fn balancer(cx: &mut Cx, path: &str, spec: &raw::Tagged<raw::LoadBalancerSpec>) -> BalancerConfig {
    use raw::LoadBalancerSpec as S;
    match &spec.spec {
        S::RoundRobin => BalancerConfig::RoundRobin,
        S::WeightedRoundRobin => BalancerConfig::WeightedRoundRobin,
        S::Random => BalancerConfig::Random,
        S::LeastOutstanding => BalancerConfig::LeastOutstanding,
        S::P2c => BalancerConfig::P2c,
        S::PeakEwma { decay, default_rtt } => BalancerConfig::PeakEwma {
            decay: cx.positive_duration(format!("{path}.decay"), decay.map_or(DEFAULT_EWMA_DECAY, |d| d.0)),
            default_rtt: default_rtt.map_or(DEFAULT_EWMA_RTT, |d| d.0),
        },
        S::RingHash { minimum_ring_size } => {
            let size = minimum_ring_size.unwrap_or(DEFAULT_RING_SIZE);
            if size == 0 || size > MAX_RING_SIZE {
                cx.err(
                    format!("{path}.minimumRingSize"),
                    format!("a ring size from 1 to {MAX_RING_SIZE}, found {size}"),
                );
            }
            BalancerConfig::RingHash { minimum_ring_size: size.clamp(1, MAX_RING_SIZE) }
        }
    }
}
