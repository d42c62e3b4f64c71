//! A sidecar's certificate agent (istio-agent's secret manager): a workload certificate
//! issued at start, rotated by the CA before it expires, retried while the CA is down.
//!
//! Rotation happens when the remaining lifetime falls below the grace period: istio-agent
//! waits `lifetime * (1 - ratio')` with `ratio' = SECRET_GRACE_PERIOD_RATIO` (0.5) plus a
//! jitter of `U(0, SECRET_GRACE_PERIOD_RATIO_JITTER) * {-1, 0, 1}` (0.01). Where meshsim
//! simplifies: signing takes no time, and a failed signing request is retried every
//! `retry_interval` (istio-agent backs off exponentially).

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::security::CertConfig;
use crate::time::{SimDuration, SimTime};
use rand::Rng;

/// What a step of the agent did, for `events.csv` and the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertEvent {
    /// A first certificate, valid until the given time.
    Issued(SimTime),
    /// A new certificate replaced the old one (expired or not).
    Rotated(SimTime),
    /// The CA could not sign: the next try is at the given time.
    RotationFailed(SimTime),
    /// The certificate's lifetime ran out.
    Expired,
}

/// One sidecar's agent. Times are passed in; draws come from the caller's stream.
#[derive(Clone, Debug)]
pub struct CertAgent {
    config: CertConfig,
    /// Whether the agent ever got a certificate in its current life, and its expiry.
    has: bool,
    expires: SimTime,
    /// Whether `Expired` was reported for the current certificate.
    expired: bool,
    /// The next signing request (first issue, rotation or retry); `SimTime::MAX`: none.
    next_try: SimTime,
}

impl CertAgent {
    pub fn new(config: CertConfig) -> Self {
        CertAgent { config, has: false, expires: SimTime::ZERO, expired: false, next_try: SimTime::MAX }
    }

    /// The sidecar starts (a new pod): it asks for a certificate at once.
    pub fn start(&mut self, now: SimTime, ca_up: bool, rng: &mut impl Rng) -> CertEvent {
        *self = CertAgent::new(self.config);
        self.next_try = now;
        self.on_wake(now, ca_up, rng).expect("a first request is due at start")
    }

    /// The sidecar is gone: no more requests or expiries.
    pub fn stop(&mut self) {
        *self = CertAgent::new(self.config);
    }

    /// When the agent next has something to do (`SimTime::MAX`: never).
    pub fn wake(&self) -> SimTime {
        let expiry = if self.has && !self.expired { self.expires } else { SimTime::MAX };
        self.next_try.min(expiry)
    }

    /// Does what is due at `now`, one thing per call (the expiry first); `None` when
    /// nothing is due. Call it until it returns `None`.
    pub fn on_wake(&mut self, now: SimTime, ca_up: bool, rng: &mut impl Rng) -> Option<CertEvent> {
        if self.has && !self.expired && now >= self.expires {
            self.expired = true;
            return Some(CertEvent::Expired);
        }
        if now < self.next_try {
            return None;
        }
        if !ca_up {
            self.next_try = now + self.config.retry_interval;
            return Some(CertEvent::RotationFailed(self.next_try));
        }
        let first = !self.has;
        self.has = true;
        self.expired = false;
        self.expires = now + self.config.ttl;
        self.next_try = now + self.rotate_after(rng);
        Some(if first { CertEvent::Issued(self.expires) } else { CertEvent::Rotated(self.expires) })
    }

    /// istio-agent's rotation delay for a fresh certificate: the lifetime less the
    /// jittered grace period.
    fn rotate_after(&self, rng: &mut impl Rng) -> SimDuration {
        let c = &self.config;
        let jitter = rng.random::<f64>() * c.grace_ratio_jitter * (rng.random_range(0..3) as f64 - 1.0);
        let ratio = (c.grace_ratio + jitter).clamp(0.0, 1.0);
        SimDuration::from_nanos((c.ttl.as_nanos() as f64 * (1.0 - ratio)) as u64)
    }

    /// The certificate's state at `now`.
    pub fn status(&self, now: SimTime) -> super::CertStatus {
        if !self.has {
            super::CertStatus::Missing
        } else if now >= self.expires {
            super::CertStatus::Expired
        } else {
            super::CertStatus::Valid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RootSeed;

    fn config() -> CertConfig {
        CertConfig {
            ttl: SimDuration::from_secs(100),
            grace_ratio: 0.5,
            grace_ratio_jitter: 0.0,
            retry_interval: SimDuration::from_secs(5),
        }
    }

    fn at(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    #[test]
    fn rotates_at_half_life_and_stays_valid() {
        let mut rng = RootSeed(1).stream("t");
        let mut a = CertAgent::new(config());
        assert_eq!(a.start(at(0), true, &mut rng), CertEvent::Issued(at(100)));
        assert_eq!(a.wake(), at(50));
        assert_eq!(a.on_wake(at(49), true, &mut rng), None);
        assert_eq!(a.on_wake(at(50), true, &mut rng), Some(CertEvent::Rotated(at(150))));
        assert_eq!(a.wake(), at(100));
        assert_eq!(a.status(at(120)), crate::security::CertStatus::Valid);
    }

    #[test]
    fn a_ca_outage_past_expiry_expires_the_certificate_until_renewal() {
        let mut rng = RootSeed(1).stream("t");
        let mut a = CertAgent::new(config());
        a.start(at(0), true, &mut rng);
        assert_eq!(a.on_wake(at(50), false, &mut rng), Some(CertEvent::RotationFailed(at(55))));
        let mut t = at(55);
        while t < at(100) {
            assert_eq!(a.on_wake(t, false, &mut rng), Some(CertEvent::RotationFailed(t + SimDuration::from_secs(5))));
            t = a.wake();
        }
        // At 100 the expiry and a retry are both due: the expiry comes first.
        assert_eq!(a.on_wake(at(100), false, &mut rng), Some(CertEvent::Expired));
        assert_eq!(a.status(at(100)), crate::security::CertStatus::Expired);
        assert_eq!(a.on_wake(at(100), false, &mut rng), Some(CertEvent::RotationFailed(at(105))));
        assert_eq!(a.wake(), at(105));
        // The CA is back: the next retry renews.
        assert_eq!(a.on_wake(at(105), true, &mut rng), Some(CertEvent::Rotated(at(205))));
        assert_eq!(a.status(at(106)), crate::security::CertStatus::Valid);
    }

    #[test]
    fn a_start_during_an_outage_has_no_certificate() {
        let mut rng = RootSeed(1).stream("t");
        let mut a = CertAgent::new(config());
        assert_eq!(a.start(at(3), false, &mut rng), CertEvent::RotationFailed(at(8)));
        assert_eq!(a.status(at(4)), crate::security::CertStatus::Missing);
        assert_eq!(a.on_wake(at(8), true, &mut rng), Some(CertEvent::Issued(at(108))));
        a.stop();
        assert_eq!(a.wake(), SimTime::MAX);
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        let mut rng = RootSeed(7).stream("t");
        let mut c = config();
        c.grace_ratio_jitter = 0.01;
        let a = CertAgent::new(c);
        for _ in 0..1000 {
            let d = a.rotate_after(&mut rng).as_secs_f64();
            assert!((49.0..=51.0).contains(&d), "{d}");
        }
    }
}
