//! How proxies learn which instances to call: the discovery mode, the refresh of cached
//! views, the service registry, active health checks and Kubernetes probes, as validated
//! data. The state machines that run them are in `discovery/`.

use crate::dist::Dist;
use crate::ids::ZoneId;
use crate::time::SimDuration;
use std::fmt;

/// How callers learn which instances of a service exist.
#[derive(Clone, Debug)]
pub struct Discovery {
    pub mode: DiscoveryMode,
    /// Cached views are refreshed every `refresh_interval` plus a uniform jitter.
    pub refresh: RefreshConfig,
    pub registry: Option<RegistryModel>,
    /// Active health checking, by every proxy of its destination's hosts (Envoy) or by the
    /// registry of every registered instance (Consul's HTTP checks).
    pub health_check: Option<(CheckBy, HealthCheckConfig)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckBy {
    Proxy,
    Registry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoveryMode {
    /// Every proxy knows at once which instances are running (the default).
    Ideal,
    /// Each proxy keeps its own cached view of the registry, refreshed periodically.
    Client,
    /// One cached view per service, kept by a server-side load balancer that every caller
    /// goes through (AWS ELB, a Kubernetes Service's kube-proxy rules).
    Server,
}

/// The service registry and how instances get into it.
#[derive(Clone, Debug)]
pub struct RegistryModel {
    pub config: RegistryConfig,
    /// Self-registration with heartbeats every `heartbeat_interval` (Consul, Eureka), or a
    /// third-party registrar that (de)registers instances as they start and stop
    /// (Kubernetes' endpoints controller): `None`.
    pub heartbeat_interval: Option<SimDuration>,
    pub zone: ZoneId,
    /// How long a read of the registry takes (a slow registry), and how long a client
    /// waits before it gives up and keeps its last view.
    pub latency: Dist,
    pub read_timeout: SimDuration,
}

/// How often a client refreshes its cached list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshConfig {
    /// Between refreshes (Eureka `registryFetchIntervalSeconds`, Envoy `dns_refresh_rate`).
    pub interval: SimDuration,
    /// A uniform `[0, jitter)` added to each interval (Envoy `dns_jitter`). Zero for none.
    pub jitter: SimDuration,
}

impl RefreshConfig {
    /// Checks that the interval is positive.
    ///
    /// # Errors
    /// A message saying so.
    pub fn validate(&self) -> Result<(), String> {
        if self.interval.is_zero() { Err("a refresh interval must be positive".into()) } else { Ok(()) }
    }
}

/// Envoy's `HealthCheck` settings (`config.core.v3.HealthCheck`).
#[derive(Clone, Debug, PartialEq)]
pub struct HealthCheckConfig {
    /// `timeout`: a check without a response this long after it was sent fails. Required.
    pub timeout: SimDuration,
    /// `interval`: between a check's end and the next, for a healthy host. Required.
    pub interval: SimDuration,
    /// `initial_jitter`: the first check waits a uniform `[0, initial_jitter)`. Default 0.
    pub initial_jitter: SimDuration,
    /// `interval_jitter`: a uniform `[0, interval_jitter)` added to every interval. Default 0.
    pub interval_jitter: SimDuration,
    /// `interval_jitter_percent`: a uniform `[0, percent × interval / 100)` added as well.
    /// Default 0.
    pub interval_jitter_percent: u32,
    /// `unhealthy_threshold`: consecutive counted failures that make a healthy host unhealthy.
    /// Required.
    pub unhealthy_threshold: u32,
    /// `healthy_threshold`: consecutive successes that make an unhealthy host healthy (except
    /// at the first check). Required.
    pub healthy_threshold: u32,
    /// `unhealthy_interval`. Default `interval`.
    pub unhealthy_interval: Option<SimDuration>,
    /// `unhealthy_edge_interval`. Default `unhealthy_interval`.
    pub unhealthy_edge_interval: Option<SimDuration>,
    /// `healthy_edge_interval`. Default `interval`.
    pub healthy_edge_interval: Option<SimDuration>,
    /// `no_traffic_interval`: every interval until the cluster has traffic. Default 60 s.
    pub no_traffic_interval: SimDuration,
    /// `no_traffic_healthy_interval`. Default `no_traffic_interval`.
    pub no_traffic_healthy_interval: Option<SimDuration>,
}

impl HealthCheckConfig {
    /// The required fields; every optional one at Envoy's default.
    pub fn new(interval: SimDuration, timeout: SimDuration, unhealthy_threshold: u32, healthy_threshold: u32) -> Self {
        HealthCheckConfig {
            timeout,
            interval,
            initial_jitter: SimDuration::ZERO,
            interval_jitter: SimDuration::ZERO,
            interval_jitter_percent: 0,
            unhealthy_threshold,
            healthy_threshold,
            unhealthy_interval: None,
            unhealthy_edge_interval: None,
            healthy_edge_interval: None,
            no_traffic_interval: SimDuration::from_secs(60),
            no_traffic_healthy_interval: None,
        }
    }

    /// Checks what Envoy's proto validation checks (positive durations), and also rejects
    /// zero thresholds, with which Envoy's `++count == threshold` never holds.
    ///
    /// # Errors
    /// A message naming the field.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("timeout", Some(self.timeout)),
            ("interval", Some(self.interval)),
            ("unhealthy_interval", self.unhealthy_interval),
            ("unhealthy_edge_interval", self.unhealthy_edge_interval),
            ("healthy_edge_interval", self.healthy_edge_interval),
            ("no_traffic_interval", Some(self.no_traffic_interval)),
            ("no_traffic_healthy_interval", self.no_traffic_healthy_interval),
        ];
        for (name, d) in positive {
            if d.is_some_and(SimDuration::is_zero) {
                return Err(format!("health check {name} must be positive"));
            }
        }
        if self.unhealthy_threshold == 0 || self.healthy_threshold == 0 {
            return Err("health check thresholds must be at least 1".into());
        }
        Ok(())
    }

    pub fn unhealthy_interval(&self) -> SimDuration {
        self.unhealthy_interval.unwrap_or(self.interval)
    }

    pub fn unhealthy_edge_interval(&self) -> SimDuration {
        self.unhealthy_edge_interval.unwrap_or_else(|| self.unhealthy_interval())
    }

    pub fn healthy_edge_interval(&self) -> SimDuration {
        self.healthy_edge_interval.unwrap_or(self.interval)
    }

    pub fn no_traffic_healthy_interval(&self) -> SimDuration {
        self.no_traffic_healthy_interval.unwrap_or(self.no_traffic_interval)
    }
}

/// The three probes, in the order ties are broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    pub const ALL: [ProbeKind; 3] = [ProbeKind::Startup, ProbeKind::Liveness, ProbeKind::Readiness];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The Kubernetes field name.
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Startup => "startupProbe",
            ProbeKind::Liveness => "livenessProbe",
            ProbeKind::Readiness => "readinessProbe",
        }
    }
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One probe's settings (`v1.Probe`).
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeConfig {
    /// `periodSeconds`. Default 10 s, minimum 1 s.
    pub period: SimDuration,
    /// `timeoutSeconds`. Default 1 s, minimum 1 s.
    pub timeout: SimDuration,
    /// `failureThreshold`. Default 3, minimum 1.
    pub failure_threshold: u32,
    /// `successThreshold`. Default 1, minimum 1; must be 1 for liveness and startup.
    pub success_threshold: u32,
    /// `initialDelaySeconds`, from the container's start. Default 0.
    pub initial_delay: SimDuration,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            period: SimDuration::from_secs(10),
            timeout: SimDuration::from_secs(1),
            failure_threshold: 3,
            success_threshold: 1,
            initial_delay: SimDuration::ZERO,
        }
    }
}

impl ProbeConfig {
    /// The API server's validation of a probe of `kind`.
    ///
    /// # Errors
    /// A message naming the field and what it must be.
    pub fn validate(&self, kind: ProbeKind) -> Result<(), String> {
        if self.period < SimDuration::from_secs(1) {
            return Err(format!("{kind} periodSeconds must be at least 1s"));
        }
        if self.timeout < SimDuration::from_secs(1) {
            return Err(format!("{kind} timeoutSeconds must be at least 1s"));
        }
        if self.failure_threshold == 0 || self.success_threshold == 0 {
            return Err(format!("{kind} thresholds must be at least 1"));
        }
        if kind != ProbeKind::Readiness && self.success_threshold != 1 {
            return Err(format!("{kind} successThreshold must be 1"));
        }
        Ok(())
    }
}

/// A container's probes, each optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeSetConfig {
    pub startup: Option<ProbeConfig>,
    pub liveness: Option<ProbeConfig>,
    pub readiness: Option<ProbeConfig>,
}

impl ProbeSetConfig {
    pub fn get(&self, kind: ProbeKind) -> Option<&ProbeConfig> {
        match kind {
            ProbeKind::Startup => self.startup.as_ref(),
            ProbeKind::Liveness => self.liveness.as_ref(),
            ProbeKind::Readiness => self.readiness.as_ref(),
        }
    }

    /// Validates each configured probe.
    ///
    /// # Errors
    /// The first probe's message.
    pub fn validate(&self) -> Result<(), String> {
        for kind in ProbeKind::ALL {
            if let Some(p) = self.get(kind) {
                p.validate(kind)?;
            }
        }
        Ok(())
    }
}

/// What happens to an entry whose TTL runs out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryAction {
    /// Consul: the TTL check turns critical; the entry stays registered (out of the view) and
    /// the next heartbeat makes it passing again.
    Critical,
    /// Eureka: the lease is evicted (cancelled); the next heartbeat fails with
    /// `NotRegistered` (`discovery::registry::RegistryError`) and the instance must register again.
    Evict,
}

/// How the registry expires and lists instances.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistryConfig {
    /// Consul's check `ttl`, Eureka's `leaseExpirationDurationInSeconds`. `None`: entries never
    /// expire (a third-party registrar deregisters them).
    pub ttl: Option<SimDuration>,
    /// Eureka's `evictionIntervalTimerInMs` (60 s): entries expire only at these sweeps. `None`:
    /// exactly at the deadline (Consul's timer).
    pub eviction_interval: Option<SimDuration>,
    /// Critical (Consul) or evicted (Eureka).
    pub on_expiry: ExpiryAction,
    /// Eureka's `Lease.renew()` quirk: a heartbeat pushes the deadline to `now + 2 × ttl`
    /// (registration still sets `now + ttl`).
    pub eureka_lease_quirk: bool,
    /// Whether a new entry's checks start passing. Consul: false (checks start critical), so an
    /// instance is listed at its first heartbeat; Eureka: true (registered UP).
    pub initially_passing: bool,
    /// Whether the registry runs its own active check on each entry (`discovery::registry::Registry::set_health`),
    /// which then also starts at `initially_passing`. Without one the entry's check is passing.
    pub active_checks: bool,
}

impl RegistryConfig {
    /// Consul with a TTL check: critical exactly `ttl` after the last update, critical at
    /// registration until the first update.
    pub fn consul_ttl(ttl: SimDuration) -> Self {
        RegistryConfig {
            ttl: Some(ttl),
            eviction_interval: None,
            on_expiry: ExpiryAction::Critical,
            eureka_lease_quirk: false,
            initially_passing: false,
            active_checks: false,
        }
    }

    /// Eureka's defaults: lease 90 s (renewed by the clients every 30 s), eviction sweep every
    /// 60 s, the `2 × duration` quirk, instances registered UP. A crashed instance leaves the
    /// registry 180 to 240 s after its last renewal.
    pub fn eureka() -> Self {
        RegistryConfig {
            ttl: Some(SimDuration::from_secs(90)),
            eviction_interval: Some(SimDuration::from_secs(60)),
            on_expiry: ExpiryAction::Evict,
            eureka_lease_quirk: true,
            initially_passing: true,
            active_checks: false,
        }
    }

    /// A third-party registrar: no TTL, listed at registration, removed at deregistration.
    pub fn registrar() -> Self {
        RegistryConfig {
            ttl: None,
            eviction_interval: None,
            on_expiry: ExpiryAction::Critical,
            eureka_lease_quirk: false,
            initially_passing: true,
            active_checks: false,
        }
    }

    /// Checks the durations, for scenario validation.
    ///
    /// # Errors
    /// A message naming the field that is zero.
    pub fn validate(&self) -> Result<(), String> {
        if self.ttl.is_some_and(SimDuration::is_zero) {
            return Err("a registry ttl must be positive".into());
        }
        if self.eviction_interval.is_some_and(SimDuration::is_zero) {
            return Err("a registry eviction interval must be positive".into());
        }
        Ok(())
    }
}
