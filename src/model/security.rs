//! Mesh security as validated data: identities, mTLS modes, handshake costs, certificate
//! rotation and AuthorizationPolicies (Istio's). The decisions (handshake, authorize) are
//! in `security`.

use crate::dist::Dist;
use crate::ids::ServiceId;
use crate::time::SimDuration;

/// What a workload's sidecar accepts (Istio PeerAuthentication `mtls.mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerMode {
    /// Only mTLS: a plaintext connection is reset.
    Strict,
    /// mTLS and plaintext (Istio's default when no PeerAuthentication exists).
    Permissive,
    /// Plaintext only: a TLS client hello fails the handshake.
    Disable,
}

/// What a client sidecar sends to a destination (Istio DestinationRule `tls.mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientTls {
    /// Auto mTLS (Istio's default): mTLS when the server's sidecar accepts it.
    Auto,
    /// Always mTLS with the mesh certificates.
    IstioMutual,
    /// Always plaintext.
    Disable,
}

/// The validated `security` block of a scenario.
#[derive(Clone, Debug)]
pub struct Security {
    pub trust_domain: String,
    /// Each service's principal, `<trustDomain>/ns/default/sa/<serviceAccount>`.
    pub principals: Vec<String>,
    /// The ingress gateway's principal.
    pub gateway_principal: String,
    /// Each service's PeerAuthentication mode (its own, or the mesh-wide one).
    pub modes: Vec<PeerMode>,
    /// `client_tls[caller.idx() * services + destination]`, from the DestinationRules.
    pub client_tls: Vec<ClientTls>,
    /// CPU and crypto cost of a TLS handshake, on top of its round trips.
    pub handshake: Dist,
    /// Envoy's max_requests_per_connection (`u32::MAX`: unlimited, Istio's default).
    pub max_requests_per_connection: u32,
    /// A connection without requests for this long is closed (Istio's default 1 h).
    pub idle_timeout: SimDuration,
    pub certificates: CertConfig,
    /// The scenario's AuthorizationPolicies (the faults' are in their faults).
    pub policies: Vec<AuthzPolicy>,
    /// Each endpoint's HTTP method and path, as authorization matches them.
    pub methods: Vec<String>,
    pub paths: Vec<String>,
}

/// Istio AuthorizationPolicy `action` (CUSTOM and AUDIT are not modelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Allow,
    Deny,
}

/// An AuthorizationPolicy: for one service (Istio's selector) or every workload (a policy
/// in the root namespace), a list of rules; the policy matches when any rule matches.
/// With no rules it matches nothing (so an ALLOW policy without rules denies all).
#[derive(Clone, Debug, PartialEq)]
pub struct AuthzPolicy {
    pub name: String,
    pub service: Option<ServiceId>,
    pub action: Action,
    pub rules: Vec<Rule>,
}

/// A rule matches when one of its sources (if any) and one of its operations (if any)
/// match: lists are ORed, fields within a source or an operation are ANDed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rule {
    pub from: Vec<Source>,
    pub to: Vec<Operation>,
}

/// Istio `source`: each non-empty field must match. Principals and namespaces come
/// from the peer certificate, so they exist only on mTLS connections.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Source {
    pub principals: Vec<String>,
    pub not_principals: Vec<String>,
    pub namespaces: Vec<String>,
    pub not_namespaces: Vec<String>,
}

/// Istio `operation`: each non-empty field must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Operation {
    pub paths: Vec<String>,
    pub not_paths: Vec<String>,
    pub methods: Vec<String>,
    pub not_methods: Vec<String>,
}

/// How certificates are issued and rotated. Defaults: `ttl` 24 h (istio-agent's
/// requested lifetime), grace ratio 0.5, jitter 0.01, retry every 5 s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CertConfig {
    pub ttl: SimDuration,
    /// The share of the lifetime left when the agent rotates, 0 to 1.
    pub grace_ratio: f64,
    pub grace_ratio_jitter: f64,
    pub retry_interval: SimDuration,
}

impl Default for CertConfig {
    fn default() -> Self {
        CertConfig {
            ttl: SimDuration::from_secs(24 * 3600),
            grace_ratio: 0.5,
            grace_ratio_jitter: 0.01,
            retry_interval: SimDuration::from_secs(5),
        }
    }
}
