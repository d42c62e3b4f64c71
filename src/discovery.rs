//! Service discovery and instance lifecycle: a registry, active health checks, Kubernetes
//! probes, and the client-side cache through which proxies see a service's instances.
//!
//! Like the resilience components these are pure state machines: time and random streams are
//! passed in, and each says when it next needs the loop (`next_expiry`, `next_check`,
//! `next_due`, `next_refresh`), so the loop keeps one wake-up per machine.
//!
//! - [`registry`]: instances register at start-up (themselves, or through a third-party
//!   registrar), heartbeat, expire after a TTL without heartbeats (Consul's TTL check, or
//!   Eureka's lease and eviction sweep), and deregister on graceful shutdown. Each service's
//!   list of passing instances carries a version. The registry can be unavailable.
//! - [`health`]: Envoy's active health checking of a cluster's hosts, by a proxy or by the
//!   registry: interval, timeout, thresholds, edge and no-traffic intervals, jitter.
//! - [`probe`]: the kubelet's startup, liveness and readiness probes of a container:
//!   startup gates the others, readiness moves the instance in and out of the endpoints,
//!   liveness restarts it.
//! - [`ClientView`] (here): a proxy's cached list of one service, refreshed every interval
//!   (plus jitter) and kept as it was when the registry cannot be reached.
//!
//! How they compose, in the loop: a container's [`probe::ProbeSet`] drives its lifecycle
//! (`Ready` → the registrar registers it or sets it passing; `Unready` → critical or
//! deregistered; `Restart` → kill and start again); a self-registering instance calls
//! [`registry::Registry::register`] when it starts, heartbeats every interval while it runs,
//! and deregisters when it shuts down gracefully (a crash just stops the heartbeats); a
//! registry-side [`health::HealthChecker`] reports its transitions with
//! [`registry::Registry::set_health`]; each proxy refreshes a [`ClientView`] per destination
//! and balances over its list, and may run its own `HealthChecker` over that list too.
//!
//! **How long a crashed instance keeps receiving calls** is the sum of the detection bound of
//! the mechanism and the propagation to the clients:
//!
//! | mechanism | detection after the crash (at most) |
//! | --- | --- |
//! | Consul TTL | `ttl` after the last heartbeat |
//! | Eureka lease | `2 × lease + eviction_interval` after the last renewal (defaults: 240 s) |
//! | Envoy active check, refused connections | `interval + (unhealthy_threshold − 1) × unhealthy_edge_interval` (+ jitter, + response times) |
//! | Envoy active check, hung host | the same with `timeout` added per failing check |
//! | kubelet readiness / liveness, hung container | `period × failureThreshold + timeout` after the last passing probe |
//! | client cache | + `refresh_interval + refresh_jitter` after the registry changed |
//!
//! **Where this simplifies.** Envoy's EDS is pushed by the control plane, not polled; a
//! pushed update is a `ClientView` refreshed at the instant the registry changes (the loop's
//! choice). Polling clients (Eureka's `registryFetchIntervalSeconds`, 30 s; Envoy's DNS
//! clusters' `dns_refresh_rate`, 5 s, with `dns_jitter`, a uniform `[0, jitter)` added) are
//! modelled by [`ClientView::next_refresh`]; the backoff some of them apply after a failed
//! fetch (Envoy's `dns_failure_refresh_rate`, Eureka's doubling up to `10 × interval`) is not.

pub mod health;
pub mod probe;
pub mod registry;

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::discovery::RefreshConfig;
use crate::time::{SimDuration, SimTime};
use rand::Rng;
use registry::Registry;

/// What a refresh did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// The registry could not be reached: the last list stays.
    Unavailable,
    /// The registry's version is the one already held.
    Unchanged,
    /// A new list, at version `to` (from `from`, `None` for the first).
    Updated { from: Option<u64>, to: u64 },
}

/// A client's cached list of one service's instances.
#[derive(Clone, Debug)]
pub struct ClientView {
    service: usize,
    version: Option<u64>,
    instances: Vec<usize>,
    fetched_at: Option<SimTime>,
    next_refresh: Option<SimTime>,
}

impl ClientView {
    /// An empty view of `service`, never fetched: the loop refreshes it when the proxy starts.
    pub fn new(service: usize) -> Self {
        ClientView { service, version: None, instances: Vec::new(), fetched_at: None, next_refresh: None }
    }

    /// Fetches the registry's list at `now`. Copies it only when its version differs from the
    /// one held; keeps the last list when the registry is unavailable.
    pub fn refresh(&mut self, now: SimTime, registry: &Registry) -> Refresh {
        let Some(view) = registry.view(self.service) else { return Refresh::Unavailable };
        self.fetched_at = Some(now);
        if self.version == Some(view.version) {
            return Refresh::Unchanged;
        }
        let from = self.version.replace(view.version);
        self.instances.clear();
        self.instances.extend_from_slice(view.instances);
        Refresh::Updated { from, to: view.version }
    }

    /// Schedules the next refresh: `now + interval + U[0, jitter)`. Returns it.
    pub fn next_refresh<R: Rng + ?Sized>(&mut self, now: SimTime, config: &RefreshConfig, rng: &mut R) -> SimTime {
        let jitter = config.jitter.as_nanos();
        let extra = if jitter == 0 { 0 } else { rng.random_range(0..jitter) };
        let at = now + config.interval + SimDuration::from_nanos(extra);
        self.next_refresh = Some(at);
        at
    }

    /// The refresh last scheduled by [`ClientView::next_refresh`].
    pub fn scheduled_refresh(&self) -> Option<SimTime> {
        self.next_refresh
    }

    /// The cached instances, ascending; empty until the first successful refresh.
    pub fn instances(&self) -> &[usize] {
        &self.instances
    }

    /// The registry version of the cached list; `None` before the first successful refresh.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    pub fn service(&self) -> usize {
        self.service
    }

    /// When the registry last answered.
    pub fn fetched_at(&self) -> Option<SimTime> {
        self.fetched_at
    }

    /// How long since the registry last answered (`None` if it never has).
    pub fn staleness(&self, now: SimTime) -> Option<SimDuration> {
        self.fetched_at.map(|t| now.since(t))
    }

    pub fn contains(&self, instance: usize) -> bool {
        self.instances.binary_search(&instance).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::registry::{RegistryConfig, RegistryError};
    use super::*;
    use crate::rng::RootSeed;
    use proptest::prelude::*;

    fn s(v: u64) -> SimTime {
        SimTime(v * 1_000_000_000)
    }

    fn secs(v: u64) -> SimDuration {
        SimDuration::from_secs(v)
    }

    #[test]
    fn a_client_keeps_its_last_view_while_the_registry_is_unavailable() {
        let mut registry = Registry::new(&RegistryConfig::registrar(), 1, SimTime::ZERO);
        let mut view = ClientView::new(0);
        assert_eq!(view.refresh(s(0), &registry), Refresh::Updated { from: None, to: 0 });
        assert!(view.instances().is_empty());
        registry.register(s(1), 0, 5).unwrap();
        registry.register(s(1), 0, 2).unwrap();
        assert_eq!(view.instances(), &[] as &[usize], "cached until the next refresh");
        assert_eq!(view.refresh(s(2), &registry), Refresh::Updated { from: Some(0), to: 2 });
        assert_eq!(view.instances(), &[2, 5]);
        assert_eq!(view.refresh(s(3), &registry), Refresh::Unchanged);
        registry.set_available(s(4), false);
        assert_eq!(registry.view(0), None);
        assert_eq!(view.refresh(s(5), &registry), Refresh::Unavailable);
        assert_eq!((view.version(), view.instances()), (Some(2), &[2, 5][..]));
        assert_eq!(view.fetched_at(), Some(s(3)));
        assert_eq!(view.staleness(s(5)), Some(secs(2)));
        registry.set_available(s(6), true);
        registry.deregister(s(6), 5).unwrap();
        assert_eq!(view.refresh(s(7), &registry), Refresh::Updated { from: Some(2), to: 3 });
        assert!(view.contains(2) && !view.contains(5));
    }

    #[test]
    fn refreshes_are_an_interval_plus_jitter_apart() {
        let mut rng = RootSeed(3).stream("refresh");
        let mut view = ClientView::new(0);
        let plain = RefreshConfig { interval: secs(30), jitter: SimDuration::ZERO };
        assert_eq!(view.next_refresh(s(1), &plain, &mut rng), s(31));
        assert_eq!(view.scheduled_refresh(), Some(s(31)));
        let jittered = RefreshConfig { interval: secs(5), jitter: secs(1) };
        let draws: Vec<_> = (0..100).map(|_| view.next_refresh(s(0), &jittered, &mut rng)).collect();
        assert!(draws.iter().all(|&t| t >= s(5) && t < s(6)));
        assert!(draws.iter().any(|&t| t != draws[0]));
        assert!(RefreshConfig { interval: SimDuration::ZERO, jitter: secs(1) }.validate().is_err());
    }

    #[test]
    fn a_crash_leaves_the_client_view_within_ttl_plus_refresh_interval() {
        // Consul TTL 10 s, heartbeats every 3 s; the client refreshes every 5 s from 0 s.
        let mut registry = Registry::new(&RegistryConfig::consul_ttl(secs(10)), 1, SimTime::ZERO);
        let mut view = ClientView::new(0);
        let refresh = RefreshConfig { interval: secs(5), jitter: SimDuration::ZERO };
        let mut rng = RootSeed(1).stream("refresh");
        registry.register(s(0), 0, 0).unwrap();
        let crash = s(7); // after the heartbeat at 6 s
        let mut next_beat = s(0);
        let mut next_refresh = s(0);
        let gone = loop {
            // Run whichever of heartbeat, expiry, refresh comes first (heartbeat first on ties).
            let expiry = registry.next_expiry().unwrap_or(SimTime::MAX);
            let beat = if next_beat < crash { next_beat } else { SimTime::MAX };
            let now = beat.min(expiry).min(next_refresh);
            if now == beat {
                registry.heartbeat(now, 0).unwrap();
                next_beat = now + secs(3);
            } else if now == expiry {
                registry.expire_due(now);
            } else {
                view.refresh(now, &registry);
                next_refresh = view.next_refresh(now, &refresh, &mut rng);
                if view.version().is_some_and(|v| v > 0) && !view.contains(0) {
                    break now;
                }
            }
        };
        // Expired at 6 + 10 = 16 s; the refresh at 20 s drops it.
        assert_eq!(gone, s(20));
        assert!(gone.since(crash) <= secs(10) + refresh.interval);
        assert_eq!(registry.heartbeat(s(21), 0), Ok(()), "Consul: a late heartbeat revives it");
        assert_ne!(registry.heartbeat(s(21), 9), Ok(()));
        assert_eq!(registry.heartbeat(s(21), 9), Err(RegistryError::NotRegistered(9)));
    }

    proptest! {
        /// A client's view is always a (version, list) the registry actually served, never
        /// older than the last one it got, and unchanged by refreshes while unavailable.
        #[test]
        fn a_client_view_is_always_a_version_the_registry_had(
            steps in prop::collection::vec((0u8..6, 0usize..8, 0u64..3_000), 1..300),
            eureka in any::<bool>(),
        ) {
            let config = if eureka {
                RegistryConfig { ttl: Some(secs(5)), eviction_interval: Some(secs(2)), ..RegistryConfig::eureka() }
            } else {
                RegistryConfig::consul_ttl(secs(5))
            };
            let mut registry = Registry::new(&config, 1, SimTime::ZERO);
            let mut history = std::collections::BTreeMap::new();
            history.insert(0u64, Vec::<usize>::new());
            let mut view = ClientView::new(0);
            let mut now = SimTime::ZERO;
            for (op, inst, dt) in steps {
                now = now + SimDuration::from_millis(dt);
                while let Some(at) = registry.next_expiry().filter(|&at| at <= now) {
                    registry.expire_due(at);
                    history.insert(registry.version(0), registry.members(0).to_vec());
                }
                let _ = match op {
                    0 => registry.register(now, 0, inst),
                    1 => registry.heartbeat(now, inst),
                    2 => registry.deregister(now, inst),
                    3 => { registry.set_available(now, !registry.is_available()); Ok(()) }
                    _ => Ok(()),
                };
                history.insert(registry.version(0), registry.members(0).to_vec());
                let before = (view.version(), view.instances().to_vec());
                let result = view.refresh(now, &registry);
                if let Some(v) = view.version() {
                    prop_assert_eq!(history.get(&v), Some(&view.instances().to_vec()));
                    prop_assert!(before.0.is_none_or(|b| b <= v));
                }
                if result == Refresh::Unavailable {
                    prop_assert_eq!((view.version(), view.instances().to_vec()), before);
                } else {
                    prop_assert_eq!(view.version(), Some(registry.version(0)));
                }
            }
        }
    }
}
