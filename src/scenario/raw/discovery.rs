//! Service discovery (registries, health checks) and lifecycle actions.

use super::*;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DiscoveryModeSpec {
    Ideal,
    Client,
    Server,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscoverySpec {
    pub mode: Option<DiscoveryModeSpec>,
    pub refresh_interval: Option<Dur>,
    pub refresh_jitter: Option<Dur>,
    pub registry: Option<Tagged<RegistrySpec>>,
    pub health_check: Option<HealthCheckSpec>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CheckBySpec {
    Proxy,
    Registry,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckSpec {
    pub by: CheckBySpec,
    pub interval: Option<Dur>,
    pub timeout: Option<Dur>,
    pub unhealthy_threshold: Option<u32>,
    pub healthy_threshold: Option<u32>,
    pub interval_jitter: Option<Dur>,
    pub unhealthy_interval: Option<Dur>,
}

/// A service registry; its `type` picks the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum RegistrySpec {
    Consul {
        zone: Option<String>,
        ttl: Option<Dur>,
        heartbeat_interval: Option<Dur>,
        latency: Option<DistSpec>,
        read_timeout: Option<Dur>,
    },
    Eureka {
        zone: Option<String>,
        ttl: Option<Dur>,
        heartbeat_interval: Option<Dur>,
        eviction_interval: Option<Dur>,
        latency: Option<DistSpec>,
        read_timeout: Option<Dur>,
    },
    Registrar {
        zone: Option<String>,
        latency: Option<DistSpec>,
        read_timeout: Option<Dur>,
    },
}

impl tagged::TaggedEnum for RegistrySpec {
    fn describe(kind: &str) -> String {
        format!("the {kind} registry")
    }
}

impl RegistrySpec {
    /// The settings every registry takes: zone, latency and read timeout.
    pub fn common(&self) -> (&Option<String>, &Option<DistSpec>, &Option<Dur>) {
        match self {
            RegistrySpec::Consul { zone, latency, read_timeout, .. }
            | RegistrySpec::Eureka { zone, latency, read_timeout, .. }
            | RegistrySpec::Registrar { zone, latency, read_timeout } => (zone, latency, read_timeout),
        }
    }
}

/// A lifecycle action at time `at`; its `action` picks the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum LifecycleSpec {
    Crash { at: Dur, instance: String },
    Hang { at: Dur, instance: String },
    Stop { at: Dur, instance: String },
    Start { at: Dur, instance: String },
    Scale { at: Dur, service: String, replicas: u32 },
}

impl tagged::TaggedEnum for LifecycleSpec {
    const TAG: &'static str = "action";
    fn describe(kind: &str) -> String {
        format!("the {kind} action")
    }
}
