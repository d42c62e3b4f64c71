//! Client-side load balancers: which instance of a destination gets the next call.
//!
//! One `Balancer` lives in each caller's proxy for each destination service, so, as in
//! Envoy or Linkerd, every proxy sees only its own outstanding requests. A balancer is a
//! plain state machine: `pick` with the time, the client id and a random stream passed
//! in; `on_send` and `on_complete` to keep its counts. It knows nothing of the event loop.
//!
//! Hosts are indices `0..n` into the destination's instance list.

mod ewma;
pub mod groups;
pub mod locality;
mod ring;

use crate::model::BalancerConfig;
use crate::rng::Stream;
use crate::time::{SimDuration, SimTime};
use ewma::PeakEwma;
use rand::Rng;
pub use ring::Ring;

/// What a balancer needs to know about each host.
#[derive(Clone, Debug)]
pub struct Host {
    pub name: String,
    pub weight: u32,
}

#[derive(Clone, Debug)]
enum Strategy {
    /// Next index, wrapping; the start is drawn at random as Envoy does.
    RoundRobin {
        next: usize,
    },
    /// nginx's smooth weighted round robin.
    WeightedRoundRobin {
        current: Vec<i64>,
        weights: Vec<i64>,
        total: i64,
    },
    Random,
    /// Full scan for the fewest outstanding; ties broken uniformly at random.
    LeastOutstanding,
    /// Power of two choices on outstanding requests; ties keep the first draw.
    P2c,
    /// Linkerd / Finagle PeakEWMA costs compared with P2C.
    PeakEwma(Vec<PeakEwma>),
    /// Consistent hashing on the client id (Envoy ring hash).
    RingHash(Ring),
}

#[derive(Clone, Debug)]
pub struct Balancer {
    strategy: Strategy,
    outstanding: Vec<u32>,
}

impl Balancer {
    /// Builds a balancer over `hosts`; `rng` seeds any random starting state.
    ///
    /// # Panics
    /// If `hosts` is empty: validation guarantees every service has an instance.
    pub fn new(config: &BalancerConfig, hosts: &[Host], now: SimTime, rng: &mut Stream) -> Balancer {
        assert!(!hosts.is_empty(), "a balancer needs at least one host");
        let n = hosts.len();
        let strategy = match config {
            BalancerConfig::RoundRobin => Strategy::RoundRobin { next: rng.random_range(0..n) },
            BalancerConfig::WeightedRoundRobin => {
                let weights: Vec<i64> = hosts.iter().map(|h| i64::from(h.weight)).collect();
                Strategy::WeightedRoundRobin { current: vec![0; n], total: weights.iter().sum(), weights }
            }
            BalancerConfig::Random => Strategy::Random,
            BalancerConfig::LeastOutstanding => Strategy::LeastOutstanding,
            BalancerConfig::P2c => Strategy::P2c,
            BalancerConfig::PeakEwma { decay, default_rtt } => {
                Strategy::PeakEwma(vec![PeakEwma::new(*default_rtt, *decay, now); n])
            }
            BalancerConfig::RingHash { minimum_ring_size } => Strategy::RingHash(Ring::new(hosts, *minimum_ring_size)),
        };
        Balancer { strategy, outstanding: vec![0; n] }
    }

    /// A ring-hash balancer over `host_count` hosts that shares an already built ring.
    pub fn from_ring(ring: Ring, host_count: usize) -> Balancer {
        Balancer { strategy: Strategy::RingHash(ring), outstanding: vec![0; host_count] }
    }

    /// The ring of a ring-hash balancer, to share with other proxies.
    pub fn ring(&self) -> Option<&Ring> {
        match &self.strategy {
            Strategy::RingHash(r) => Some(r),
            _ => None,
        }
    }

    pub fn host_count(&self) -> usize {
        self.outstanding.len()
    }

    /// Outstanding calls this proxy has on each host.
    pub fn outstanding(&self) -> &[u32] {
        &self.outstanding
    }

    /// Chooses the host for the next call.
    #[inline]
    pub fn pick(&mut self, now: SimTime, client: u64, rng: &mut Stream) -> usize {
        if self.outstanding.len() == 1 { 0 } else { self.pick_among(now, client, rng) }
    }

    /// Chooses among two or more hosts.
    #[inline(never)]
    fn pick_among(&mut self, now: SimTime, client: u64, rng: &mut Stream) -> usize {
        let n = self.outstanding.len();
        match &mut self.strategy {
            Strategy::RoundRobin { next } => {
                let h = *next;
                *next = if h + 1 == n { 0 } else { h + 1 };
                h
            }
            Strategy::WeightedRoundRobin { current, weights, total } => {
                let mut best = 0;
                for i in 0..n {
                    current[i] += weights[i];
                    if current[i] > current[best] {
                        best = i;
                    }
                }
                current[best] -= *total;
                best
            }
            Strategy::Random => rng.random_range(0..n),
            Strategy::LeastOutstanding => {
                let mut best = 0;
                let mut ties = 0u32;
                for (i, &o) in self.outstanding.iter().enumerate() {
                    if o < self.outstanding[best] {
                        best = i;
                        ties = 1;
                    } else if o == self.outstanding[best] {
                        // Reservoir sampling keeps each tied host with equal probability.
                        ties += 1;
                        if ties > 1 && rng.random_range(0..ties) == 0 {
                            best = i;
                        }
                    }
                }
                best
            }
            Strategy::P2c => {
                let (a, b) = two_distinct(n, rng);
                if self.outstanding[a] <= self.outstanding[b] { a } else { b }
            }
            Strategy::PeakEwma(est) => {
                let (a, b) = two_distinct(n, rng);
                let ca = est[a].cost(now, self.outstanding[a]);
                let cb = est[b].cost(now, self.outstanding[b]);
                if ca <= cb { a } else { b }
            }
            Strategy::RingHash(ring) => ring.pick(client),
        }
    }

    #[inline]
    pub fn on_send(&mut self, host: usize) {
        self.outstanding[host] += 1;
    }

    /// A call to `host` ended after `rtt` (a response, a timeout or a loss).
    #[inline]
    pub fn on_complete(&mut self, host: usize, now: SimTime, rtt: SimDuration) {
        debug_assert!(self.outstanding[host] > 0, "completion without a send");
        self.outstanding[host] -= 1;
        if let Strategy::PeakEwma(est) = &mut self.strategy {
            est[host].observe(now, rtt);
        }
    }
}

/// Two distinct uniform indices in `0..n` (n >= 2), drawn as tower's P2C does.
#[inline]
fn two_distinct(n: usize, rng: &mut Stream) -> (usize, usize) {
    let a = rng.random_range(0..n);
    let mut b = rng.random_range(0..n - 1);
    if b >= a {
        b += 1;
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RootSeed;

    fn hosts(weights: &[u32]) -> Vec<Host> {
        weights.iter().enumerate().map(|(i, &w)| Host { name: format!("h-{i}"), weight: w }).collect()
    }

    fn spread(cfg: BalancerConfig, weights: &[u32], picks: usize) -> Vec<usize> {
        let mut rng = RootSeed(9).stream("lb");
        let mut b = Balancer::new(&cfg, &hosts(weights), SimTime::ZERO, &mut rng);
        let mut counts = vec![0; weights.len()];
        for i in 0..picks {
            counts[b.pick(SimTime(i as u64), i as u64, &mut rng)] += 1;
        }
        counts
    }

    #[test]
    fn round_robin_is_exact() {
        assert_eq!(spread(BalancerConfig::RoundRobin, &[1, 1, 1], 300), vec![100, 100, 100]);
    }

    #[test]
    fn smooth_weighted_round_robin_interleaves() {
        // nginx's example: weights 5, 1, 1 give a a b a c a a, not a a a a a b c.
        let mut rng = RootSeed(1).stream("lb");
        let mut b = Balancer::new(&BalancerConfig::WeightedRoundRobin, &hosts(&[5, 1, 1]), SimTime::ZERO, &mut rng);
        let seq: Vec<usize> = (0..7).map(|_| b.pick(SimTime::ZERO, 0, &mut rng)).collect();
        assert_eq!(seq, vec![0, 0, 1, 0, 2, 0, 0]);
        assert_eq!(spread(BalancerConfig::WeightedRoundRobin, &[3, 1, 2], 600), vec![300, 100, 200]);
    }

    #[test]
    fn random_is_roughly_even() {
        for c in spread(BalancerConfig::Random, &[1, 1, 1, 1], 40_000) {
            assert!((9_500..10_500).contains(&c), "{c}");
        }
    }

    #[test]
    fn least_outstanding_avoids_busy_hosts() {
        let mut rng = RootSeed(2).stream("lb");
        let mut b = Balancer::new(&BalancerConfig::LeastOutstanding, &hosts(&[1, 1, 1]), SimTime::ZERO, &mut rng);
        b.on_send(0);
        b.on_send(0);
        b.on_send(1);
        assert_eq!(b.pick(SimTime::ZERO, 0, &mut rng), 2);
    }

    #[test]
    fn p2c_never_picks_the_busiest_of_two() {
        let mut rng = RootSeed(3).stream("lb");
        let mut b = Balancer::new(&BalancerConfig::P2c, &hosts(&[1, 1]), SimTime::ZERO, &mut rng);
        b.on_send(1);
        for _ in 0..50 {
            assert_eq!(b.pick(SimTime::ZERO, 0, &mut rng), 0);
        }
    }

    #[test]
    fn ring_hash_is_sticky_per_client() {
        let mut rng = RootSeed(4).stream("lb");
        let cfg = BalancerConfig::RingHash { minimum_ring_size: 1024 };
        let mut b = Balancer::new(&cfg, &hosts(&[1, 1, 1, 1]), SimTime::ZERO, &mut rng);
        for client in 0..200u64 {
            let first = b.pick(SimTime::ZERO, client, &mut rng);
            for _ in 0..3 {
                assert_eq!(b.pick(SimTime::ZERO, client, &mut rng), first);
            }
        }
        let counts = spread(cfg, &[1, 1, 1, 1], 20_000);
        for c in counts {
            assert!((3_500..6_500).contains(&c), "ring spread {c}");
        }
    }
}
