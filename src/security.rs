//! Mesh security, Istio-style: workload identities, mTLS between sidecars, authorization
//! policies evaluated at the callee's sidecar, and certificates that expire and rotate.
//!
//! This module holds the validated configuration and the pure decisions: who a caller
//! is, whether a handshake succeeds, whether a request is allowed (`authorize`). The
//! certificate agent (`cert.rs`) and the connection pool (`pool.rs`) are state machines
//! driven by `sim/sidecars.rs`; none of this sees the event loop.

pub mod cert;
pub mod pool;

use crate::ids::ServiceId;

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::security::{Action, AuthzPolicy, ClientTls, Operation, PeerMode, Rule, Security, Source};

/// The namespace of every service (meshsim has one), as in `<td>/ns/default/sa/<sa>`.
pub const NAMESPACE: &str = "default";
/// The ingress gateway's namespace and its default service account (Istio's).
pub const GATEWAY_NAMESPACE: &str = "istio-system";
pub const GATEWAY_SERVICE_ACCOUNT: &str = "istio-ingressgateway-service-account";

impl Security {
    /// Whether a client sends mTLS to a server in `mode`, with its DestinationRule.
    pub fn client_sends_mtls(tls: ClientTls, mode: PeerMode) -> bool {
        match tls {
            ClientTls::Auto => mode != PeerMode::Disable,
            ClientTls::IstioMutual => true,
            ClientTls::Disable => false,
        }
    }
}

/// What the callee's sidecar knows of a request.
#[derive(Clone, Copy, Debug)]
pub struct RequestInfo<'a> {
    /// The peer's principal (`None` on a plaintext connection) and its namespace.
    pub principal: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub path: &'a str,
    pub method: &'a str,
}

/// Why a request was denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// A DENY policy matched (its index in the order the policies were given).
    Deny(usize),
    /// ALLOW policies apply to the workload and none matched.
    NoAllowMatch,
}

/// Istio's evaluation order (CUSTOM left out): any matching DENY policy denies; with no
/// ALLOW policy for the workload the request is allowed; a matching ALLOW policy allows;
/// otherwise it is denied. `policies` are those that apply to the callee's workload.
pub fn authorize<'p>(policies: impl Iterator<Item = &'p AuthzPolicy> + Clone, req: &RequestInfo) -> Result<(), Denial> {
    if let Some(i) = policies.clone().position(|p| p.action == Action::Deny && p.matches(req)) {
        return Err(Denial::Deny(i));
    }
    let mut allows = policies.filter(|p| p.action == Action::Allow).peekable();
    if allows.peek().is_none() {
        return Ok(());
    }
    if allows.any(|p| p.matches(req)) { Ok(()) } else { Err(Denial::NoAllowMatch) }
}

impl AuthzPolicy {
    pub fn applies_to(&self, service: ServiceId) -> bool {
        self.service.is_none_or(|s| s == service)
    }

    pub fn matches(&self, req: &RequestInfo) -> bool {
        self.rules.iter().any(|r| r.matches(req))
    }
}

impl Rule {
    fn matches(&self, req: &RequestInfo) -> bool {
        (self.from.is_empty() || self.from.iter().any(|s| s.matches(req)))
            && (self.to.is_empty() || self.to.iter().any(|o| o.matches(req)))
    }
}

impl Source {
    fn matches(&self, req: &RequestInfo) -> bool {
        field(&self.principals, &self.not_principals, req.principal)
            && field(&self.namespaces, &self.not_namespaces, req.namespace)
    }
}

impl Operation {
    fn matches(&self, req: &RequestInfo) -> bool {
        field(&self.paths, &self.not_paths, Some(req.path)) && field(&self.methods, &self.not_methods, Some(req.method))
    }
}

/// A field and its `not` form: an empty list matches anything; a value matches the list
/// when any pattern matches it; an absent value (no principal) matches no pattern, so
/// `principals: ["*"]` requires mTLS and `notPrincipals: ["*"]` matches plaintext.
fn field(values: &[String], not_values: &[String], value: Option<&str>) -> bool {
    let hit = |list: &[String]| value.is_some_and(|v| list.iter().any(|p| pattern_matches(p, v)));
    (values.is_empty() || hit(values)) && !hit(not_values)
}

/// Istio's string match: exact, prefix (`abc*`), suffix (`*abc`) or presence (`*`).
pub fn pattern_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return value.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return value.ends_with(suffix);
    }
    pattern == value
}

/// Why a new connection's handshake failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// The client's or the server's certificate has expired.
    ExpiredCert,
    /// A sidecar has no certificate at all (it started while the CA was down).
    NoCert,
    /// Plaintext to a STRICT server (reset), or mTLS to a DISABLE one (TLS error).
    MtlsMismatch,
}

impl HandshakeFailure {
    pub const ALL: [HandshakeFailure; 3] =
        [HandshakeFailure::ExpiredCert, HandshakeFailure::NoCert, HandshakeFailure::MtlsMismatch];

    pub fn name(self) -> &'static str {
        match self {
            HandshakeFailure::ExpiredCert => "expired_cert",
            HandshakeFailure::NoCert => "no_cert",
            HandshakeFailure::MtlsMismatch => "mtls_mismatch",
        }
    }
}

/// The state of a sidecar's certificate at the moment of a handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertStatus {
    Valid,
    Expired,
    Missing,
}

/// The verdict on a new connection: `Ok(mtls)` or why it failed. Plaintext needs no
/// certificates; mTLS needs both sides' (the server's is checked first, as the client
/// verifies it before sending its own).
pub fn handshake(mtls: bool, mode: PeerMode, client: CertStatus, server: CertStatus) -> Result<bool, HandshakeFailure> {
    match (mtls, mode) {
        (false, PeerMode::Strict) | (true, PeerMode::Disable) => return Err(HandshakeFailure::MtlsMismatch),
        (false, _) => return Ok(false),
        (true, _) => {}
    }
    for status in [server, client] {
        match status {
            CertStatus::Valid => {}
            CertStatus::Expired => return Err(HandshakeFailure::ExpiredCert),
            CertStatus::Missing => return Err(HandshakeFailure::NoCert),
        }
    }
    Ok(true)
}

/// What a run measured of security (summed over the whole run, warm-up included).
#[derive(Clone, Debug, Default)]
pub struct SecurityReport {
    /// New connections opened (each a handshake), and requests sent on a reused one.
    pub handshakes: u64,
    pub reused: u64,
    /// Failed handshakes by `HandshakeFailure::ALL` order.
    pub handshake_failures: [u64; 3],
    /// Per service: requests denied by a DENY policy, and for lack of a matching ALLOW.
    pub denied_by_deny: Vec<u64>,
    pub denied_no_allow: Vec<u64>,
    /// Denials per policy name (scenario policies, then the faults'), in first-seen order.
    pub denied_by_policy: Vec<(String, u64)>,
    pub issued: u64,
    pub rotations: u64,
    pub failed_rotations: u64,
    pub expiries: u64,
    /// Each period a sidecar spent with an expired certificate: who, from, to (`None`:
    /// still expired at the end). At most `EXPIRED_INTERVALS_MAX` are listed.
    pub expired_intervals: Vec<(String, crate::time::SimTime, Option<crate::time::SimTime>)>,
    /// Total sidecar-seconds with an expired certificate.
    pub expired_s: f64,
}

/// The most expiry intervals a report lists (the total time counts them all).
pub const EXPIRED_INTERVALS_MAX: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, action: Action, rules: Vec<Rule>) -> AuthzPolicy {
        AuthzPolicy { name: name.into(), service: Some(ServiceId(0)), action, rules }
    }

    fn from_principal(p: &str) -> Rule {
        Rule { from: vec![Source { principals: vec![p.into()], ..Source::default() }], to: vec![] }
    }

    fn req<'a>(principal: Option<&'a str>, method: &'a str) -> RequestInfo<'a> {
        RequestInfo { principal, namespace: principal.map(|_| "default"), path: "/charge", method }
    }

    const ORDER: &str = "cluster.local/ns/default/sa/order";

    #[test]
    fn no_policy_allows_and_deny_wins_over_allow() {
        assert_eq!(authorize([].iter(), &req(None, "GET")), Ok(()));
        let allow = policy("allow-order", Action::Allow, vec![from_principal(ORDER)]);
        let deny = policy(
            "deny-post",
            Action::Deny,
            vec![Rule { from: vec![], to: vec![Operation { methods: vec!["POST".into()], ..Operation::default() }] }],
        );
        let both = [allow.clone(), deny];
        assert_eq!(authorize(both.iter(), &req(Some(ORDER), "POST")), Err(Denial::Deny(1)));
        assert_eq!(authorize(both.iter(), &req(Some(ORDER), "GET")), Ok(()));
        // ALLOW policies exist and none matches: denied.
        let cart = "cluster.local/ns/default/sa/cart";
        assert_eq!(authorize([allow.clone()].iter(), &req(Some(cart), "GET")), Err(Denial::NoAllowMatch));
        // Principals need mTLS: a plaintext caller matches no principal.
        assert_eq!(authorize([allow].iter(), &req(None, "GET")), Err(Denial::NoAllowMatch));
    }

    #[test]
    fn empty_rules_match_nothing_and_an_empty_rule_matches_all() {
        let nothing = policy("allow-nothing", Action::Allow, vec![]);
        assert_eq!(authorize([nothing].iter(), &req(Some(ORDER), "GET")), Err(Denial::NoAllowMatch));
        let all = policy("allow-all", Action::Allow, vec![Rule::default()]);
        assert_eq!(authorize([all].iter(), &req(None, "GET")), Ok(()));
        let deny_empty = policy("deny-nothing", Action::Deny, vec![]);
        assert_eq!(authorize([deny_empty].iter(), &req(None, "GET")), Ok(()));
    }

    #[test]
    fn not_principals_star_denies_plaintext_only() {
        let rule = Rule { from: vec![Source { not_principals: vec!["*".into()], ..Source::default() }], to: vec![] };
        let deny = [policy("require-mtls", Action::Deny, vec![rule])];
        assert_eq!(authorize(deny.iter(), &req(None, "GET")), Err(Denial::Deny(0)));
        assert_eq!(authorize(deny.iter(), &req(Some(ORDER), "GET")), Ok(()));
    }

    #[test]
    fn patterns_are_exact_prefix_suffix_or_presence() {
        assert!(pattern_matches("*", "x"));
        assert!(pattern_matches("cluster.local/ns/default/*", ORDER));
        assert!(pattern_matches("*/sa/order", ORDER));
        assert!(!pattern_matches("*/sa/cart", ORDER));
        assert!(pattern_matches(ORDER, ORDER));
        assert!(!pattern_matches("cluster.local/ns/default/sa/orde", ORDER));
    }

    #[test]
    fn handshakes_follow_the_peer_mode_and_both_certificates() {
        use CertStatus::*;
        assert_eq!(handshake(true, PeerMode::Strict, Valid, Valid), Ok(true));
        assert_eq!(handshake(false, PeerMode::Strict, Valid, Valid), Err(HandshakeFailure::MtlsMismatch));
        assert_eq!(handshake(true, PeerMode::Disable, Valid, Valid), Err(HandshakeFailure::MtlsMismatch));
        assert_eq!(handshake(false, PeerMode::Permissive, Expired, Expired), Ok(false));
        assert_eq!(handshake(true, PeerMode::Permissive, Expired, Valid), Err(HandshakeFailure::ExpiredCert));
        assert_eq!(handshake(true, PeerMode::Strict, Valid, Expired), Err(HandshakeFailure::ExpiredCert));
        assert_eq!(handshake(true, PeerMode::Strict, Valid, Missing), Err(HandshakeFailure::NoCert));
        assert!(Security::client_sends_mtls(ClientTls::Auto, PeerMode::Permissive));
        assert!(!Security::client_sends_mtls(ClientTls::Auto, PeerMode::Disable));
        assert!(Security::client_sends_mtls(ClientTls::IstioMutual, PeerMode::Disable));
    }
}
