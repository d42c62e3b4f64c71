//! Linkerd / Finagle / tower PeakEWMA: a latency estimate that jumps up to a slower
//! sample at once and decays towards faster ones with time constant `decay`.

use crate::time::{SimDuration, SimTime};

#[derive(Clone, Debug)]
pub struct PeakEwma {
    rtt_ns: f64,
    update_at: SimTime,
    decay_ns: f64,
}

impl PeakEwma {
    pub fn new(default_rtt: SimDuration, decay: SimDuration, now: SimTime) -> Self {
        PeakEwma { rtt_ns: default_rtt.as_nanos() as f64, update_at: now, decay_ns: decay.as_nanos() as f64 }
    }

    /// tower's `update`: a sample above the estimate replaces it (the peak); otherwise
    /// est = est * e^(-dt/tau) + rtt * (1 - e^(-dt/tau)).
    fn update(&mut self, now: SimTime, rtt_ns: f64) -> f64 {
        if self.rtt_ns < rtt_ns {
            self.rtt_ns = rtt_ns;
        } else {
            let elapsed = now.since(self.update_at).as_nanos() as f64;
            let decay = (-elapsed / self.decay_ns).exp();
            self.rtt_ns = self.rtt_ns * decay + rtt_ns * (1.0 - decay);
        }
        self.update_at = now;
        self.rtt_ns
    }

    /// A completed call's round-trip time.
    pub fn observe(&mut self, now: SimTime, rtt: SimDuration) {
        self.update(now, rtt.as_nanos() as f64);
    }

    /// tower's `load`: decay the estimate towards zero for the time since the last
    /// update, then weigh it by the calls in flight: cost = estimate * (pending + 1).
    pub fn cost(&mut self, now: SimTime, pending: u32) -> f64 {
        self.update(now, 0.0) * f64::from(pending + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_replaces_and_decays() {
        let tau = SimDuration::from_secs(10);
        let mut e = PeakEwma::new(SimDuration::from_millis(30), tau, SimTime::ZERO);
        e.observe(SimTime::ZERO, SimDuration::from_millis(100));
        assert_eq!(e.rtt_ns, 100e6, "a slower sample is taken at once");
        // After one time constant, a 0 ms sample leaves e^-1 of the estimate.
        e.observe(SimTime(10_000_000_000), SimDuration::ZERO);
        assert!((e.rtt_ns - 100e6 * (-1.0f64).exp()).abs() < 1.0);
    }

    #[test]
    fn cost_grows_with_pending() {
        let mut e = PeakEwma::new(SimDuration::from_millis(30), SimDuration::from_secs(10), SimTime::ZERO);
        assert_eq!(e.cost(SimTime::ZERO, 0), 30e6);
        assert_eq!(e.cost(SimTime::ZERO, 2), 90e6);
    }
}
