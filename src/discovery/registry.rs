//! A service registry: instances register, heartbeat, expire and deregister; clients read a
//! versioned list of the passing instances of each service.
//!
//! One `Registry` holds every service (`0..services`) and every instance (dense `usize` ids,
//! each registered under one service). It follows two reference implementations, chosen by
//! [`RegistryConfig`]:
//!
//! - **Consul TTL checks** (`agent/checks/check.go`, `CheckTTL`): registering a check starts a
//!   timer of `ttl`; every update (`PUT /v1/agent/check/pass`, our [`Registry::heartbeat`])
//!   resets it; when the timer fires the check turns *critical* ("TTL expired"), exactly `ttl`
//!   after the last update. A critical instance stays registered and leaves the `?passing`
//!   view; its next update makes it passing again. Checks start **critical** by default (the
//!   check definition's `status` overrides it), so a self-registered instance enters the view
//!   only at its first heartbeat: [`RegistryConfig::consul_ttl`].
//! - **Eureka leases** (`eureka-core` `Lease.java`, `AbstractInstanceRegistry.evict`): the
//!   lease is `leaseExpirationDurationInSeconds` (90 s); clients renew every
//!   `leaseRenewalIntervalInSeconds` (30 s: the loop's heartbeat interval, not a registry
//!   setting); an `EvictionTask` runs every `evictionIntervalTimerInMs` (60 s) and cancels the
//!   leases for which `now > lastUpdateTimestamp + duration`. `renew()` sets `lastUpdateTimestamp
//!   = now + duration`, so a renewed lease really expires `2 × duration` after its last renewal
//!   (a registered, never-renewed one after `duration`); Eureka documents this as a known bug it
//!   will not fix, and [`RegistryConfig::eureka_lease_quirk`] reproduces it. An evicted instance
//!   is gone: its next renewal gets 404 ([`RegistryError::NotRegistered`]) and the client
//!   registers again. Instances register as UP: [`RegistryConfig::eureka`].
//! - **A third-party registrar** (Kubernetes' endpoints controller, Registrator): no TTL
//!   (`ttl: None`); entries live until deregistered, and the registrar (the loop) marks them
//!   passing or critical with [`Registry::set_health`] as readiness or a registry-side active
//!   check ([`super::health`]) changes: [`RegistryConfig::registrar`].
//!
//! **Expiry timing.** Without an `eviction_interval` an entry expires exactly at its deadline
//! (Consul's timer). With one, sweeps run at `created + k × eviction_interval` (`k >= 1`) and an
//! entry expires at the first sweep *strictly after* its deadline (Eureka's `now >`). The loop
//! schedules one wake-up at [`Registry::next_expiry`] and calls [`Registry::expire_due`].
//!
//! **Versions.** Each service has a version, 0 for the empty initial view, incremented each time
//! the set of instances in its view changes (never for a change that leaves the view as it was).
//! A given (service, version) therefore always names the same list, which clients use to skip
//! unchanged refreshes ([`super::ClientView`]).
//!
//! **Unavailability.** [`Registry::set_available`]`(now, false)` models a registry that cannot be
//! reached (servers down or partitioned): every call fails with [`RegistryError::Unavailable`]
//! and changes nothing (a lost deregistration leaves the entry to expire later), views are
//! `None` (clients keep their last one), and nothing expires, since the expiry timers live in
//! the registry. When it is back, every TTL restarts from that instant, as a restarted Consul
//! agent restarts its TTL timers and a restarted Eureka server re-creates its leases, so
//! instances get a full `ttl` to heartbeat again rather than being expired all at once. A *slow*
//! registry is the loop's business: it delays the calls, and the registry sees each call at the
//! time it arrives.
//!
//! **Where this differs.** Consul: each service has only the TTL check and one aggregated
//! registry-side check ([`Registry::set_health`]); warning counts as passing is not modelled;
//! `deregister_critical_service_after` (deregistration by the agent's reaper after being
//! critical that long) is not modelled; catalog anti-entropy delay from agent to servers is
//! zero. Eureka: self-preservation (no eviction while renewals fall below 85 % of those
//! expected) and the cap of `registrySize × 15 %` evictions per sweep (picked at random) are
//! not modelled, nor the eviction task's compensation for a late sweep; the server's response
//! cache (`responseCacheUpdateIntervalMs`, 30 s) adds staleness on top of the client's, which
//! the loop can fold into the refresh interval; the client's initial registration delay
//! (`initialInstanceInfoReplicationIntervalSeconds`, 40 s) is the loop's business.

use crate::model::discovery::ExpiryAction;
// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::discovery::RegistryConfig;
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeSet;
use std::fmt;

/// Why a registry call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The registry cannot be reached; nothing changed.
    #[error("the registry is unavailable")]
    Unavailable,
    /// The instance is not registered (never was, deregistered, or evicted): Consul's unknown
    /// check, Eureka's 404 on renewal. The instance should register again.
    #[error("instance {0} is not registered")]
    NotRegistered(usize),
}

/// Where an instance stands in the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryState {
    /// Registered and not expired; listed if its checks pass.
    Registered,
    /// Its TTL ran out: critical (Consul, still registered) or evicted (Eureka, gone).
    Expired,
    /// Left on graceful shutdown.
    Deregistered,
}

impl fmt::Display for EntryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryState::Registered => "registered",
            EntryState::Expired => "expired",
            EntryState::Deregistered => "deregistered",
        })
    }
}

/// An entry whose TTL ran out, from [`Registry::expire_due`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub instance: usize,
    pub service: usize,
    /// When it expired: its deadline, or the sweep after it.
    pub at: SimTime,
    /// Whether it was in the view until then (false for an entry that never heartbeated under
    /// Consul's initially critical check, or whose active check already failed).
    pub was_listed: bool,
}

/// One service's list as the registry serves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceView<'a> {
    pub version: u64,
    /// The passing, registered, unexpired instances, ascending.
    pub instances: &'a [usize],
}

#[derive(Clone, Debug)]
struct Entry {
    service: usize,
    state: EntryState,
    /// The TTL check's status (always true without a TTL).
    ttl_passing: bool,
    /// The registry-side active check's status (always true without one).
    check_passing: bool,
    /// The scheduled expiry, while one is in the queue.
    expires_at: Option<SimTime>,
    last_heartbeat: Option<SimTime>,
}

impl Entry {
    fn listed(&self) -> bool {
        self.state == EntryState::Registered && self.ttl_passing && self.check_passing
    }
}

#[derive(Clone, Debug, Default)]
struct Service {
    version: u64,
    /// Listed instances, ascending.
    members: Vec<usize>,
}

/// Counts of what happened, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegistryCounters {
    pub registrations: u64,
    pub heartbeats: u64,
    pub deregistrations: u64,
    pub expirations: u64,
    /// Calls refused because the registry was unavailable.
    pub unavailable: u64,
}

/// The registry of every service's instances.
#[derive(Clone, Debug)]
pub struct Registry {
    config: RegistryConfig,
    created: SimTime,
    available: bool,
    entries: Vec<Option<Entry>>,
    services: Vec<Service>,
    /// (expiry time, instance) for every entry with a scheduled expiry.
    expiries: BTreeSet<(SimTime, usize)>,
    counters: RegistryCounters,
}

impl Registry {
    /// An available registry of `services` empty services (each at version 0). Eviction sweeps,
    /// if any, run at `now + k × eviction_interval`.
    ///
    /// # Panics
    /// If the config does not pass [`RegistryConfig::validate`].
    pub fn new(config: &RegistryConfig, services: usize, now: SimTime) -> Self {
        if let Err(e) = config.validate() {
            panic!("{e}");
        }
        Registry {
            config: config.clone(),
            created: now,
            available: true,
            entries: Vec::new(),
            services: vec![Service::default(); services],
            expiries: BTreeSet::new(),
            counters: RegistryCounters::default(),
        }
    }

    /// Registers `instance` under `service` (self-registration at start-up, or a registrar's
    /// call). A new, deregistered or evicted entry starts afresh: checks at
    /// `initially_passing`, TTL from now. Registering an entry that is still present renews it
    /// as a heartbeat does (a fresh lease, without Eureka's quirk) and keeps its active check's
    /// status.
    ///
    /// # Errors
    /// [`RegistryError::Unavailable`].
    ///
    /// # Panics
    /// If `service` is out of range, or the instance is present under another service.
    pub fn register(&mut self, now: SimTime, service: usize, instance: usize) -> Result<(), RegistryError> {
        assert!(service < self.services.len(), "service {service} out of range");
        self.reachable()?;
        self.counters.registrations += 1;
        if instance >= self.entries.len() {
            self.entries.resize(instance + 1, None);
        }
        let present = self.entries[instance].as_ref().filter(|e| self.is_present(e)).map(|e| e.service);
        if let Some(old) = present {
            assert_eq!(old, service, "instance {instance} is registered under service {old}, not {service}");
            self.renew(now, instance, false);
            return Ok(());
        }
        let before = self.listed_in(instance);
        let has_ttl = self.config.ttl.is_some();
        self.entries[instance] = Some(Entry {
            service,
            state: EntryState::Registered,
            ttl_passing: !has_ttl || self.config.initially_passing,
            check_passing: !self.config.active_checks || self.config.initially_passing,
            expires_at: None,
            last_heartbeat: None,
        });
        self.schedule(instance, now, false);
        self.membership_changed(instance, before);
        Ok(())
    }

    /// A heartbeat (Consul TTL pass, Eureka renewal): the TTL check passes and its deadline
    /// restarts from now. Revives a Consul entry whose TTL had expired.
    ///
    /// # Errors
    /// [`RegistryError::Unavailable`]; [`RegistryError::NotRegistered`] if the instance is
    /// not present (never registered, deregistered, or evicted).
    pub fn heartbeat(&mut self, now: SimTime, instance: usize) -> Result<(), RegistryError> {
        self.reachable()?;
        if !self.entries.get(instance).and_then(Option::as_ref).is_some_and(|e| self.is_present(e)) {
            return Err(RegistryError::NotRegistered(instance));
        }
        self.counters.heartbeats += 1;
        self.renew(now, instance, true);
        Ok(())
    }

    /// Graceful deregistration at shutdown: the entry leaves at once.
    ///
    /// # Errors
    /// [`RegistryError::Unavailable`] (the entry stays and will expire later);
    /// [`RegistryError::NotRegistered`] if it is not present.
    pub fn deregister(&mut self, _now: SimTime, instance: usize) -> Result<(), RegistryError> {
        self.reachable()?;
        if !self.entries.get(instance).and_then(Option::as_ref).is_some_and(|e| self.is_present(e)) {
            return Err(RegistryError::NotRegistered(instance));
        }
        self.counters.deregistrations += 1;
        let before = self.listed_in(instance);
        self.unschedule(instance);
        self.entry_mut(instance).state = EntryState::Deregistered;
        self.membership_changed(instance, before);
        Ok(())
    }

    /// The result of the registry's own active check on `instance` changed (a
    /// [`super::health::HealthChecker`] transition, or a registrar reporting readiness):
    /// a critical entry stays registered but leaves the view.
    ///
    /// # Errors
    /// [`RegistryError::Unavailable`]; [`RegistryError::NotRegistered`] if it is not present.
    pub fn set_health(&mut self, _now: SimTime, instance: usize, passing: bool) -> Result<(), RegistryError> {
        self.reachable()?;
        if !self.entries.get(instance).and_then(Option::as_ref).is_some_and(|e| self.is_present(e)) {
            return Err(RegistryError::NotRegistered(instance));
        }
        let before = self.listed_in(instance);
        self.entry_mut(instance).check_passing = passing;
        self.membership_changed(instance, before);
        Ok(())
    }

    /// The registry becomes unreachable or reachable again. Going down suspends every expiry;
    /// coming back restarts the TTL of every registered entry from `now`.
    pub fn set_available(&mut self, now: SimTime, available: bool) {
        if available == self.available {
            return;
        }
        self.available = available;
        if !available {
            for &(_, instance) in &self.expiries {
                if let Some(e) = self.entries[instance].as_mut() {
                    e.expires_at = None;
                }
            }
            self.expiries.clear();
            return;
        }
        for instance in 0..self.entries.len() {
            if self.entries[instance].as_ref().is_some_and(|e| e.state == EntryState::Registered) {
                self.schedule(instance, now, false);
            }
        }
    }

    /// When the loop must next call [`Registry::expire_due`]; `None` if nothing can expire
    /// (no TTL, no registered entry, or the registry is unavailable).
    pub fn next_expiry(&self) -> Option<SimTime> {
        self.expiries.first().map(|&(at, _)| at)
    }

    /// Expires every entry whose expiry time is at or before `now`, in (time, instance) order.
    /// Nothing expires while the registry is unavailable.
    pub fn expire_due(&mut self, now: SimTime) -> Vec<Expiry> {
        let mut out = Vec::new();
        while let Some(&(at, instance)) = self.expiries.first() {
            if at > now {
                break;
            }
            self.expiries.pop_first();
            self.counters.expirations += 1;
            let before = self.listed_in(instance);
            let e = self.entry_mut(instance);
            e.expires_at = None;
            e.state = EntryState::Expired;
            e.ttl_passing = false;
            let service = e.service;
            self.membership_changed(instance, before);
            out.push(Expiry { instance, service, at, was_listed: before.is_some() });
        }
        out
    }

    /// The list clients get for `service`, or `None` while the registry is unavailable.
    pub fn view(&self, service: usize) -> Option<ServiceView<'_>> {
        self.available.then(|| {
            let s = &self.services[service];
            ServiceView { version: s.version, instances: &s.members }
        })
    }

    /// The listed instances of `service` as the registry holds them, reachable or not.
    pub fn members(&self, service: usize) -> &[usize] {
        &self.services[service].members
    }

    /// The version of `service`'s list, reachable or not.
    pub fn version(&self, service: usize) -> u64 {
        self.services[service].version
    }

    /// Where `instance` stands; `None` if it never registered.
    pub fn state(&self, instance: usize) -> Option<EntryState> {
        self.entries.get(instance).and_then(Option::as_ref).map(|e| e.state)
    }

    /// Whether `instance` is in its service's list.
    pub fn is_listed(&self, instance: usize) -> bool {
        self.entries.get(instance).and_then(Option::as_ref).is_some_and(Entry::listed)
    }

    /// When `instance` will expire if nothing changes.
    pub fn expires_at(&self, instance: usize) -> Option<SimTime> {
        self.entries.get(instance).and_then(Option::as_ref).and_then(|e| e.expires_at)
    }

    /// The last heartbeat the registry accepted from `instance`.
    pub fn last_heartbeat(&self, instance: usize) -> Option<SimTime> {
        self.entries.get(instance).and_then(Option::as_ref).and_then(|e| e.last_heartbeat)
    }

    pub fn is_available(&self) -> bool {
        self.available
    }

    pub fn service_count(&self) -> usize {
        self.services.len()
    }

    pub fn counters(&self) -> RegistryCounters {
        self.counters
    }

    /// A TTL pass on a present entry: passing, registered, deadline from `now` (`renewal`
    /// applies Eureka's quirk; a re-registration creates a fresh lease).
    fn renew(&mut self, now: SimTime, instance: usize, renewal: bool) {
        let before = self.listed_in(instance);
        let e = self.entry_mut(instance);
        e.state = EntryState::Registered;
        e.ttl_passing = true;
        e.last_heartbeat = Some(now);
        self.schedule(instance, now, renewal);
        self.membership_changed(instance, before);
    }

    fn reachable(&mut self) -> Result<(), RegistryError> {
        if self.available {
            Ok(())
        } else {
            self.counters.unavailable += 1;
            Err(RegistryError::Unavailable)
        }
    }

    /// Registered, or expired but still registered (Consul's critical TTL check).
    fn is_present(&self, e: &Entry) -> bool {
        match e.state {
            EntryState::Registered => true,
            EntryState::Expired => self.config.on_expiry == ExpiryAction::Critical,
            EntryState::Deregistered => false,
        }
    }

    fn entry_mut(&mut self, instance: usize) -> &mut Entry {
        self.entries[instance].as_mut().expect("entry exists")
    }

    /// The service whose list holds `instance`, if any.
    fn listed_in(&self, instance: usize) -> Option<usize> {
        self.entries.get(instance).and_then(Option::as_ref).filter(|e| e.listed()).map(|e| e.service)
    }

    /// Updates the lists and versions after `instance`, listed in `before`, changed.
    fn membership_changed(&mut self, instance: usize, before: Option<usize>) {
        let after = self.listed_in(instance);
        if before == after {
            return;
        }
        if let Some(s) = before {
            let service = &mut self.services[s];
            let at = service.members.binary_search(&instance).expect("listed instance is a member");
            service.members.remove(at);
            service.version += 1;
        }
        if let Some(s) = after {
            let service = &mut self.services[s];
            let at = service.members.binary_search(&instance).expect_err("unlisted instance is not a member");
            service.members.insert(at, instance);
            service.version += 1;
        }
    }

    /// (Re)schedules `instance`'s expiry for a TTL that restarts at `now`; `renewal` applies
    /// Eureka's quirk.
    fn schedule(&mut self, instance: usize, now: SimTime, renewal: bool) {
        self.unschedule(instance);
        let Some(ttl) = self.config.ttl else { return };
        if !self.available {
            return;
        }
        let deadline = if renewal && self.config.eureka_lease_quirk { now + ttl + ttl } else { now + ttl };
        let at = match self.config.eviction_interval {
            None => deadline,
            Some(interval) => self.sweep_after(deadline, interval),
        };
        self.entry_mut(instance).expires_at = Some(at);
        self.expiries.insert((at, instance));
    }

    fn unschedule(&mut self, instance: usize) {
        if let Some(at) = self.entries[instance].as_mut().and_then(|e| e.expires_at.take()) {
            self.expiries.remove(&(at, instance));
        }
    }

    /// The first sweep strictly after `deadline`.
    fn sweep_after(&self, deadline: SimTime, interval: SimDuration) -> SimTime {
        let i = interval.as_nanos();
        let k = deadline.since(self.created).as_nanos() / i + 1;
        self.created + SimDuration::from_nanos(k.saturating_mul(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: u64) -> SimTime {
        SimTime(v * 1_000_000_000)
    }

    fn ms(v: u64) -> SimTime {
        SimTime(v * 1_000_000)
    }

    fn secs(v: u64) -> SimDuration {
        SimDuration::from_secs(v)
    }

    fn listed(r: &Registry, service: usize) -> (u64, Vec<usize>) {
        let v = r.view(service).expect("available");
        (v.version, v.instances.to_vec())
    }

    #[test]
    fn consul_ttl_lists_at_the_first_heartbeat_and_expires_exactly_ttl_after_the_last() {
        let mut r = Registry::new(&RegistryConfig::consul_ttl(secs(10)), 1, SimTime::ZERO);
        r.register(s(0), 0, 3).unwrap();
        // Consul checks start critical: registered, not listed, nothing changed.
        assert_eq!(r.state(3), Some(EntryState::Registered));
        assert_eq!(listed(&r, 0), (0, vec![]));
        assert_eq!(r.next_expiry(), Some(s(10)));
        r.heartbeat(s(1), 3).unwrap();
        assert_eq!(listed(&r, 0), (1, vec![3]));
        r.heartbeat(s(5), 3).unwrap();
        assert_eq!(r.next_expiry(), Some(s(15)));
        assert!(r.expire_due(SimTime(s(15).0 - 1)).is_empty(), "one nanosecond early");
        assert_eq!(r.expire_due(s(15)), vec![Expiry { instance: 3, service: 0, at: s(15), was_listed: true }]);
        assert_eq!(r.state(3), Some(EntryState::Expired));
        assert_eq!(listed(&r, 0), (2, vec![]));
        assert_eq!(r.next_expiry(), None);
        // Still registered under Consul: the next TTL pass revives it.
        r.heartbeat(s(20), 3).unwrap();
        assert_eq!(listed(&r, 0), (3, vec![3]));
        assert_eq!(r.next_expiry(), Some(s(30)));
    }

    #[test]
    fn a_never_heartbeated_consul_entry_expires_unlisted() {
        let mut r = Registry::new(&RegistryConfig::consul_ttl(secs(10)), 1, SimTime::ZERO);
        r.register(s(2), 0, 0).unwrap();
        assert_eq!(r.expire_due(s(12)), vec![Expiry { instance: 0, service: 0, at: s(12), was_listed: false }]);
        assert_eq!(r.version(0), 0, "the view never changed");
    }

    #[test]
    fn eureka_evicts_at_the_first_sweep_after_twice_the_lease() {
        let mut r = Registry::new(&RegistryConfig::eureka(), 1, SimTime::ZERO);
        r.register(s(0), 0, 0).unwrap();
        assert_eq!(listed(&r, 0), (1, vec![0]), "Eureka registers instances UP");
        // Never renewed: deadline 0 + 90 s, sweeps at 60, 120: evicted at 120.
        assert_eq!(r.next_expiry(), Some(s(120)));
        // Renewed every 30 s, last at 90 s (then the instance crashes): deadline 90 + 2 * 90 =
        // 270 s; sweeps at 240 (too early) and 300.
        for t in [30, 60, 90] {
            r.heartbeat(s(t), 0).unwrap();
        }
        assert_eq!(r.expires_at(0), Some(s(300)));
        assert!(r.expire_due(s(299)).is_empty());
        assert_eq!(r.expire_due(s(300)), vec![Expiry { instance: 0, service: 0, at: s(300), was_listed: true }]);
        assert_eq!(listed(&r, 0), (2, vec![]));
        // Evicted means gone: a late renewal gets 404 and the instance registers again.
        assert_eq!(r.heartbeat(s(301), 0), Err(RegistryError::NotRegistered(0)));
        r.register(s(301), 0, 0).unwrap();
        assert_eq!(listed(&r, 0), (3, vec![0]));
    }

    #[test]
    fn eureka_sweeps_need_now_strictly_past_the_deadline() {
        let config = RegistryConfig { ttl: Some(secs(60)), eureka_lease_quirk: false, ..RegistryConfig::eureka() };
        let mut r = Registry::new(&config, 1, SimTime::ZERO);
        r.register(s(0), 0, 0).unwrap();
        // Deadline 60 s exactly at a sweep: `60 > 60` is false, so the sweep at 120 s evicts.
        assert_eq!(r.next_expiry(), Some(s(120)));
        // Sweeps are counted from the registry's creation, not from the entry.
        let mut r = Registry::new(&config, 1, s(7));
        r.register(s(10), 0, 0).unwrap();
        assert_eq!(r.next_expiry(), Some(s(127)));
    }

    #[test]
    fn graceful_deregistration_removes_at_once() {
        let mut r = Registry::new(&RegistryConfig::eureka(), 2, SimTime::ZERO);
        for i in [4, 1, 2] {
            r.register(s(1), if i == 2 { 1 } else { 0 }, i).unwrap();
        }
        assert_eq!(listed(&r, 0), (2, vec![1, 4]), "sorted, whatever the order of registration");
        assert_eq!(listed(&r, 1), (1, vec![2]));
        r.deregister(s(2), 4).unwrap();
        assert_eq!(listed(&r, 0), (3, vec![1]));
        assert_eq!(r.state(4), Some(EntryState::Deregistered));
        assert_eq!(r.expires_at(4), None);
        assert_eq!(r.heartbeat(s(3), 4), Err(RegistryError::NotRegistered(4)));
        assert_eq!(r.deregister(s(3), 4), Err(RegistryError::NotRegistered(4)));
        assert_eq!(r.deregister(s(3), 9), Err(RegistryError::NotRegistered(9)));
        assert_eq!(listed(&r, 1), (1, vec![2]), "other services are untouched");
    }

    #[test]
    fn an_unavailable_registry_refuses_calls_serves_no_view_and_expires_nothing() {
        let mut r = Registry::new(&RegistryConfig::consul_ttl(secs(10)), 1, SimTime::ZERO);
        r.register(s(0), 0, 0).unwrap();
        r.register(s(0), 0, 1).unwrap();
        r.heartbeat(s(1), 0).unwrap();
        r.heartbeat(s(1), 1).unwrap();
        r.set_available(s(2), false);
        assert_eq!(r.view(0), None);
        assert_eq!(r.next_expiry(), None);
        assert_eq!(r.heartbeat(s(3), 0), Err(RegistryError::Unavailable));
        assert_eq!(r.deregister(s(3), 1), Err(RegistryError::Unavailable));
        assert_eq!(r.register(s(3), 0, 2), Err(RegistryError::Unavailable));
        assert!(r.expire_due(s(100)).is_empty());
        assert_eq!(r.members(0), &[0, 1], "the lost deregistration changed nothing");
        assert_eq!(r.counters().unavailable, 3);
        // Back at 50 s: every TTL restarts from 50 s.
        r.set_available(s(50), true);
        assert_eq!(listed(&r, 0), (2, vec![0, 1]));
        assert_eq!(r.next_expiry(), Some(s(60)));
        r.heartbeat(s(55), 0).unwrap();
        assert_eq!(r.expire_due(s(60)), vec![Expiry { instance: 1, service: 0, at: s(60), was_listed: true }]);
        assert_eq!(listed(&r, 0), (3, vec![0]));
    }

    #[test]
    fn active_check_results_list_and_unlist_without_deregistering() {
        let config = RegistryConfig { active_checks: true, ..RegistryConfig::registrar() };
        let mut r = Registry::new(&config, 1, SimTime::ZERO);
        r.register(s(0), 0, 0).unwrap();
        assert_eq!(listed(&r, 0), (1, vec![0]));
        r.set_health(s(1), 0, false).unwrap();
        assert_eq!(listed(&r, 0), (2, vec![]));
        assert_eq!(r.state(0), Some(EntryState::Registered));
        r.set_health(s(2), 0, false).unwrap();
        assert_eq!(r.version(0), 2, "no change, no new version");
        r.set_health(s(3), 0, true).unwrap();
        assert_eq!(listed(&r, 0), (3, vec![0]));
        // Consul with an active check: both the check and the TTL start critical.
        let config = RegistryConfig { active_checks: true, ..RegistryConfig::consul_ttl(secs(10)) };
        let mut r = Registry::new(&config, 1, SimTime::ZERO);
        r.register(s(0), 0, 0).unwrap();
        r.heartbeat(s(1), 0).unwrap();
        assert!(!r.is_listed(0));
        r.set_health(s(2), 0, true).unwrap();
        assert!(r.is_listed(0));
    }

    #[test]
    fn without_a_ttl_entries_stay_until_deregistered() {
        let mut r = Registry::new(&RegistryConfig::registrar(), 1, SimTime::ZERO);
        r.register(s(0), 0, 0).unwrap();
        assert_eq!(r.next_expiry(), None);
        assert!(r.expire_due(s(1_000_000)).is_empty());
        assert!(r.is_listed(0));
        r.heartbeat(s(5), 0).unwrap();
        assert_eq!(r.last_heartbeat(0), Some(s(5)));
    }

    #[test]
    fn re_registration_renews_and_keeps_status() {
        let mut r = Registry::new(&RegistryConfig::consul_ttl(secs(10)), 1, SimTime::ZERO);
        r.register(s(0), 0, 0).unwrap();
        r.heartbeat(s(1), 0).unwrap();
        r.register(ms(5_500), 0, 0).unwrap();
        assert!(r.is_listed(0));
        assert_eq!(r.version(0), 1);
        assert_eq!(r.next_expiry(), Some(ms(15_500)));
    }

    #[test]
    fn crash_detection_time_is_bounded_by_the_ttl() {
        // Heartbeats every 3 s, TTL 10 s; the instance crashes at 7.5 s, after the beat at 6 s.
        let mut r = Registry::new(&RegistryConfig::consul_ttl(secs(10)), 1, SimTime::ZERO);
        r.register(s(0), 0, 0).unwrap();
        for t in [0, 3, 6] {
            r.heartbeat(s(t), 0).unwrap();
        }
        let crash = ms(7_500);
        let at = r.next_expiry().unwrap();
        let expired = r.expire_due(at);
        assert_eq!(expired[0].at, s(16));
        assert!(at.since(crash) <= secs(10));
    }

    /// The registry's own list, recomputed from the entries.
    fn brute_force(r: &Registry, service: usize) -> Vec<usize> {
        (0..r.entries.len())
            .filter(|&i| {
                r.entries[i].as_ref().is_some_and(|e| {
                    e.service == service && e.state == EntryState::Registered && e.ttl_passing && e.check_passing
                })
            })
            .collect()
    }

    fn config_for(kind: u8) -> RegistryConfig {
        match kind {
            0 => RegistryConfig::consul_ttl(secs(10)),
            1 => RegistryConfig { ttl: Some(secs(10)), eviction_interval: Some(secs(4)), ..RegistryConfig::eureka() },
            2 => RegistryConfig { active_checks: true, ..RegistryConfig::registrar() },
            _ => RegistryConfig { active_checks: true, ..RegistryConfig::consul_ttl(secs(7)) },
        }
    }

    type Seen = Vec<std::collections::BTreeMap<u64, Vec<usize>>>;

    /// Checks every service's list against the entries and its version against the last one
    /// seen, then records it.
    fn check_lists(r: &Registry, seen: &mut Seen, last: &mut [(u64, Vec<usize>)]) -> Result<(), TestCaseError> {
        for s in 0..r.service_count() {
            let members = r.members(s).to_vec();
            prop_assert_eq!(&members, &brute_force(r, s));
            prop_assert!(members.windows(2).all(|w| w[0] < w[1]));
            for &i in &members {
                prop_assert_eq!(r.state(i), Some(EntryState::Registered));
            }
            let version = r.version(s);
            if members == last[s].1 {
                prop_assert_eq!(version, last[s].0);
            } else {
                prop_assert!(version > last[s].0);
            }
            if let Some(old) = seen[s].insert(version, members.clone()) {
                prop_assert_eq!(old, members.clone());
            }
            last[s] = (version, members);
            prop_assert_eq!(r.view(s).is_some(), r.is_available());
        }
        if !r.is_available() {
            prop_assert_eq!(r.next_expiry(), None);
        }
        Ok(())
    }

    proptest! {
        /// Whatever the calls, a view never holds an expired, deregistered or failing instance,
        /// is sorted, and matches the entries; versions rise exactly when a list changes, so a
        /// version names one list; views are None exactly while unavailable.
        #[test]
        fn views_hold_exactly_the_passing_registered_unexpired_instances(
            kind in 0u8..4,
            steps in prop::collection::vec((0u8..7, 0usize..6, 0u64..4_000), 1..300),
        ) {
            let services = 2;
            let mut r = Registry::new(&config_for(kind), services, SimTime::ZERO);
            let mut now = SimTime::ZERO;
            let mut seen: Seen = vec![Default::default(); services];
            let mut last: Vec<(u64, Vec<usize>)> = (0..services).map(|s| (0, r.members(s).to_vec())).collect();
            for (op, inst, dt_ms) in steps {
                now = now + SimDuration::from_millis(dt_ms);
                while let Some(at) = r.next_expiry().filter(|&at| at <= now) {
                    for e in r.expire_due(at) {
                        prop_assert_eq!(e.at, at);
                        prop_assert_eq!(r.state(e.instance), Some(EntryState::Expired));
                    }
                    check_lists(&r, &mut seen, &mut last)?;
                }
                let service = r.entries.get(inst).and_then(Option::as_ref).map_or(inst % services, |e| e.service);
                let _ = match op {
                    0 => r.register(now, service, inst),
                    1 | 2 => r.heartbeat(now, inst),
                    3 => r.deregister(now, inst),
                    4 => r.set_health(now, inst, dt_ms % 2 == 0),
                    5 => {
                        r.set_available(now, !r.is_available());
                        Ok(())
                    }
                    _ => Ok(()),
                };
                check_lists(&r, &mut seen, &mut last)?;
            }
        }
    }
}
