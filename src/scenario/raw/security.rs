//! The `security` block and the security fields of services, endpoints and faults, as
//! the JSON spells them (Istio's names where Istio has one).

use super::{DistSpec, Dur};
use serde::Deserialize;

/// Mesh security: identities, mTLS, connection reuse, certificates, authorization.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecuritySpec {
    pub trust_domain: Option<String>,
    /// The mesh-wide PeerAuthentication.
    pub mtls: Option<MtlsSpec>,
    pub gateway: Option<GatewayIdentitySpec>,
    /// CPU and crypto cost of a TLS handshake, on top of its round trips.
    pub handshake: Option<DistSpec>,
    pub connection_pool: Option<ConnectionPoolSpec>,
    pub certificates: Option<CertificatesSpec>,
    /// Client-side TLS settings per destination (and optionally per caller).
    #[serde(default)]
    pub destination_rules: Vec<DestinationRuleSpec>,
    #[serde(default)]
    pub authorization: Vec<AuthorizationPolicySpec>,
}

/// A PeerAuthentication's `mtls`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MtlsSpec {
    pub mode: PeerModeSpec,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PeerModeSpec {
    Strict,
    Permissive,
    Disable,
    /// Inherit the mesh-wide mode (per service only).
    Unset,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayIdentitySpec {
    pub service_account: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionPoolSpec {
    /// 0 or absent: unlimited.
    pub max_requests_per_connection: Option<u32>,
    pub idle_timeout: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificatesSpec {
    pub ttl: Option<Dur>,
    /// Percent of the lifetime left when the agent rotates.
    pub grace_period_ratio: Option<f64>,
    /// Percent, the jitter on that ratio.
    pub grace_period_ratio_jitter: Option<f64>,
    pub retry_interval: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationRuleSpec {
    pub host: String,
    /// "gateway" or a service; every caller when absent.
    pub from: Option<String>,
    pub tls: TlsSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    pub mode: ClientTlsSpec,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClientTlsSpec {
    Disable,
    IstioMutual,
}

/// An AuthorizationPolicy, with `service` in place of Istio's workload selector.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizationPolicySpec {
    pub name: String,
    /// The workload it applies to; every workload when absent (root namespace).
    pub service: Option<String>,
    pub action: Option<ActionSpec>,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionSpec {
    Allow,
    Deny,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    #[serde(default)]
    pub from: Vec<FromSpec>,
    #[serde(default)]
    pub to: Vec<ToSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromSpec {
    pub source: SourceSpec,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToSpec {
    pub operation: OperationSpec,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceSpec {
    #[serde(default)]
    pub principals: Vec<String>,
    #[serde(default)]
    pub not_principals: Vec<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub not_namespaces: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperationSpec {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub not_paths: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub not_methods: Vec<String>,
}
