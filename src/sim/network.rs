//! The network owner: the links between zones, each with its own stream, and the network
//! faults (partitions, loss, added latency) active now, folded into per-pair tables.
//!
//! It decides a message's fate on a link (`transit`: its delay, or `None` when lost) and
//! whether a partition cuts two nodes apart; the loop applies the verdict (schedules the
//! delivery, or loses the attempt). Deciding is apart from doing, as turmoil has it.
//!
//! **Invariant:** without an active network fault, `net.active` is false and
//! `transit` draws only from the link's own stream, in the same order as a run with no
//! network faults at all; the fault tables are read only while `faults.active`.

use crate::dist::Dist;
use crate::model::{Fault, FaultKind, Scenario, ZoneId};
use crate::rng::{RootSeed, Stream};
use crate::time::SimDuration;
use rand::Rng;

/// What the active network faults do, folded (see `Network::refresh`).
#[derive(Default)]
pub(super) struct NetFaults {
    active: bool,
    /// By ordered zone pair (`from * zones + to`): partitioned, the chance a message
    /// survives the loss faults, and the latency fault adding delay (`u32::MAX`: none).
    zone_block: Vec<bool>,
    zone_keep: Vec<f64>,
    zone_delay: Vec<u32>,
    /// By ordered node pair (0 the gateway, 1 + service id): partitioned.
    node_block: Vec<bool>,
}

pub(super) struct Network<'s> {
    model: &'s crate::model::Network,
    /// The run's faults (the scenario's and the chaos monkey's): a latency fault's
    /// delay is drawn from the fault's own stream.
    faults: &'s [Fault],
    zones: usize,
    /// Nodes: the gateway, then each service.
    nodes: usize,
    /// One stream per link (`link/<name>`).
    link_rngs: Vec<Stream>,
    /// Network faults active now, by index, and their folded effect; the stream that
    /// draws their losses.
    active: Vec<u32>,
    net: NetFaults,
    rng: Stream,
}

impl<'s> Network<'s> {
    /// Whether any network fault is active now.
    #[inline(always)]
    pub(super) fn faulted(&self) -> bool {
        self.net.active
    }

    pub(super) fn new(sc: &'s Scenario, seed: RootSeed) -> Network<'s> {
        Network {
            model: &sc.network,
            faults: &sc.faults,
            zones: sc.zones.len(),
            nodes: 1 + sc.services.len(),
            link_rngs: sc.network.links.iter().map(|l| seed.stream(&format!("link/{}", l.name))).collect(),
            active: Vec::new(),
            net: NetFaults::default(),
            rng: seed.stream("network/faults"),
        }
    }

    /// A message's fate on the link between two zones: its delay and whether that delay
    /// is constant, or `None` if the message is lost. `fault_rngs` are the faults'
    /// streams (a latency fault draws its delay from its own).
    #[inline(always)]
    pub(super) fn transit(
        &mut self,
        from: ZoneId,
        to: ZoneId,
        fault_rngs: &mut [Stream],
    ) -> Option<(SimDuration, bool)> {
        if self.net.active {
            return self.faulty_transit(from, to, fault_rngs);
        }
        let id = self.model.link(from, to).idx();
        let link = &self.model.links[id];
        if link.loss > 0.0 && self.link_rngs[id].random::<f64>() < link.loss {
            return None;
        }
        match link.latency {
            Dist::Constant(d) => Some((d, true)),
            ref dist => Some((dist.sample(&mut self.link_rngs[id]), false)),
        }
    }

    /// `transit` while network faults are active: the link's own loss and latency, then
    /// the faults' partitions, losses and added delays.
    #[cold]
    #[inline(never)]
    fn faulty_transit(&mut self, from: ZoneId, to: ZoneId, fault_rngs: &mut [Stream]) -> Option<(SimDuration, bool)> {
        let id = self.model.link(from, to).idx();
        let link = &self.model.links[id];
        if link.loss > 0.0 && self.link_rngs[id].random::<f64>() < link.loss {
            return None;
        }
        let base = match link.latency {
            Dist::Constant(d) => (d, true),
            ref dist => (dist.sample(&mut self.link_rngs[id]), false),
        };
        let k = from.idx() * self.zones + to.idx();
        if self.net.zone_block[k] {
            return None;
        }
        let keep = self.net.zone_keep[k];
        if keep < 1.0 && self.rng.random::<f64>() >= keep {
            return None;
        }
        match self.net.zone_delay[k] {
            u32::MAX => Some(base),
            f => match &self.faults[f as usize].kind {
                FaultKind::LinkLatency { delay, .. } => {
                    Some((base.0 + delay.sample(&mut fault_rngs[f as usize]), false))
                }
                _ => Some(base),
            },
        }
    }

    /// The time a lost message would have taken on the link between two zones (when the
    /// caller learns of a reset connection), drawn from the link's stream.
    pub(super) fn lost_delay(&mut self, from: ZoneId, to: ZoneId) -> SimDuration {
        let id = self.model.link(from, to).idx();
        self.model.links[id].latency.sample(&mut self.link_rngs[id])
    }

    /// Whether a partition between services cuts messages from node `from` to node `to`
    /// (0 the gateway, 1 + service id).
    #[inline]
    pub(super) fn nodes_cut(&self, from: usize, to: usize) -> bool {
        self.net.active && self.net.node_block.get(from * self.nodes + to).copied().unwrap_or(false)
    }

    /// Network fault `index` begins (`starts`) or ends.
    pub(super) fn fault(&mut self, index: u32, starts: bool) {
        if starts {
            self.active.push(index);
        } else {
            self.active.retain(|&f| f != index);
        }
        self.refresh();
    }

    /// Folds the active network faults into per-link and per-node tables.
    fn refresh(&mut self) {
        let (nz, nodes) = (self.zones, self.nodes);
        let net = &mut self.net;
        net.zone_block = vec![false; nz * nz];
        net.zone_keep = vec![1.0; nz * nz];
        net.zone_delay = vec![u32::MAX; nz * nz];
        net.node_block = vec![false; nodes * nodes];
        let pairs = |between: &Option<(Vec<ZoneId>, Vec<ZoneId>)>| -> Vec<usize> {
            match between {
                None => (0..nz * nz).collect(),
                Some((a, b)) => a
                    .iter()
                    .flat_map(|x| b.iter().flat_map(move |y| [x.idx() * nz + y.idx(), y.idx() * nz + x.idx()]))
                    .collect(),
            }
        };
        for &f in &self.active {
            match &self.faults[f as usize].kind {
                FaultKind::Partition { by_zone, from, to, one_way } => {
                    let n = if *by_zone { nz } else { nodes };
                    let table = if *by_zone { &mut net.zone_block } else { &mut net.node_block };
                    for &a in from {
                        for &b in to {
                            table[a as usize * n + b as usize] = true;
                            if !one_way {
                                table[b as usize * n + a as usize] = true;
                            }
                        }
                    }
                }
                FaultKind::Loss { between, probability } => {
                    for k in pairs(between) {
                        net.zone_keep[k] *= 1.0 - probability;
                    }
                }
                FaultKind::LinkLatency { between, .. } => {
                    // Overlapping delay faults: the later one in the list wins.
                    for k in pairs(between) {
                        net.zone_delay[k] = f;
                    }
                }
                _ => {}
            }
        }
        net.active = !self.active.is_empty();
    }
}
