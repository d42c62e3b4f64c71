//! Validation of the `security` block, the services' identities and PeerAuthentications,
//! the endpoints' methods, and the security faults (`ca-outage`, `authz-policy`).

use super::cx::*;
use crate::dist::Dist;
use crate::model::*;
use crate::scenario::raw;
use crate::security::{self as sec, Action, AuthzPolicy, ClientTls, PeerMode, Security};
use crate::time::{SimDuration, SimTime};
use indexmap::IndexMap;
use raw::security as rs;

/// The handshake's CPU and crypto cost when none is given (an ECDSA P-256 TLS 1.3
/// handshake, both sides' work, on a busy sidecar: a rough figure).
pub const DEFAULT_HANDSHAKE: SimDuration = SimDuration::from_micros(500);
/// Istio's DestinationRule `connectionPool.http.idleTimeout` default.
pub const DEFAULT_IDLE_TIMEOUT: SimDuration = SimDuration::from_secs(3600);

/// The scenario's security, or `None` without a `security` block (after checking that
/// nothing else asks for one).
// Long: methods, identities, peer authentication, TLS, certificates and policies,
// in the order their issues are reported.
pub(super) fn validate_security(
    cx: &mut Cx,
    f: &raw::ScenarioFile,
    service_ids: &IndexMap<&str, ServiceId>,
    endpoint_ids: &IndexMap<(&str, &str), EndpointId>,
) -> Option<Box<Security>> {
    let mut methods = Vec::with_capacity(endpoint_ids.len());
    let mut paths = Vec::with_capacity(endpoint_ids.len());
    for &(s, e) in endpoint_ids.keys() {
        let spec = &f.services[s].endpoints[e];
        let method = spec.method.clone().unwrap_or_else(|| "GET".into());
        if !METHODS.contains(&method.as_str()) {
            cx.err(
                format!("services.{s}.endpoints.{e}.method"),
                format!("an HTTP method in capitals ({}), found \"{method}\"", METHODS.join(", ")),
            );
        }
        methods.push(method);
        paths.push(format!("/{e}"));
    }
    let Some(spec) = &f.security else {
        for (s, svc) in f.services.iter() {
            for (field, set) in [("serviceAccount", svc.service_account.is_some()), ("mtls", svc.mtls.is_some())] {
                if set {
                    cx.err(format!("services.{s}.{field}"), "a top-level \"security\" block, which this field needs");
                }
            }
        }
        return None;
    };
    let errors = cx.issues.len();
    let trust_domain = spec.trust_domain.clone().unwrap_or_else(|| "cluster.local".into());
    if trust_domain.is_empty() || trust_domain.contains('/') || trust_domain.contains(char::is_whitespace) {
        cx.err("security.trustDomain", format!("a trust domain without '/' or spaces, found \"{trust_domain}\""));
    }
    let mesh_mode = match spec.mtls.map(|m| m.mode) {
        None => PeerMode::Permissive,
        Some(rs::PeerModeSpec::Unset) => {
            cx.err("security.mtls.mode", "STRICT, PERMISSIVE or DISABLE (UNSET is for a service's own mode)");
            PeerMode::Permissive
        }
        Some(m) => peer_mode(m),
    };
    let mut principals = Vec::new();
    let mut modes = Vec::new();
    for (s, svc) in f.services.iter() {
        let account = svc.service_account.clone().unwrap_or_else(|| s.clone());
        service_account(cx, &format!("services.{s}.serviceAccount"), &account);
        principals.push(format!("{trust_domain}/ns/{}/sa/{account}", sec::NAMESPACE));
        modes.push(match svc.mtls.map(|m| m.mode) {
            None | Some(rs::PeerModeSpec::Unset) => mesh_mode,
            Some(m) => peer_mode(m),
        });
    }
    let gateway_account = spec
        .gateway
        .as_ref()
        .and_then(|g| g.service_account.clone())
        .unwrap_or_else(|| sec::GATEWAY_SERVICE_ACCOUNT.into());
    service_account(cx, "security.gateway.serviceAccount", &gateway_account);
    let gateway_principal = format!("{trust_domain}/ns/{}/sa/{gateway_account}", sec::GATEWAY_NAMESPACE);

    let nsvc = service_ids.len();
    let mut client_tls = vec![ClientTls::Auto; (1 + nsvc) * nsvc];
    for (i, dr) in spec.destination_rules.iter().enumerate() {
        let p = format!("security.destinationRules[{i}]");
        let Some(&to) = service_ids.get(dr.host.as_str()) else {
            cx.err(format!("{p}.host"), unknown("service", &dr.host, service_ids.keys().copied()));
            continue;
        };
        let from: Vec<usize> = match dr.from.as_deref() {
            None => (0..=nsvc).collect(),
            Some("gateway") => vec![0],
            Some(name) => match service_ids.get(name) {
                Some(&s) => vec![Caller::Service(s).idx()],
                None => {
                    let known = std::iter::once("gateway").chain(service_ids.keys().copied());
                    cx.err(format!("{p}.from"), unknown("caller", name, known));
                    continue;
                }
            },
        };
        let tls = match dr.tls.mode {
            rs::ClientTlsSpec::Disable => ClientTls::Disable,
            rs::ClientTlsSpec::IstioMutual => ClientTls::IstioMutual,
        };
        for c in from {
            client_tls[c * nsvc + to.idx()] = tls;
        }
    }

    let handshake =
        spec.handshake.as_ref().map_or(Dist::Constant(DEFAULT_HANDSHAKE), |d| cx.dist("security.handshake", d));
    let pool = spec.connection_pool.as_ref();
    let max_requests_per_connection = match pool.and_then(|p| p.max_requests_per_connection) {
        None | Some(0) => u32::MAX,
        Some(n) => n,
    };
    let idle_timeout = pool
        .and_then(|p| p.idle_timeout)
        .map_or(DEFAULT_IDLE_TIMEOUT, |d| cx.positive_duration("security.connectionPool.idleTimeout".into(), d.0));

    let mut certificates = sec::cert::CertConfig::default();
    if let Some(c) = &spec.certificates {
        if let Some(t) = c.ttl {
            certificates.ttl = cx.positive_duration("security.certificates.ttl".into(), t.0);
        }
        if let Some(r) = c.retry_interval {
            certificates.retry_interval = cx.positive_duration("security.certificates.retryInterval".into(), r.0);
        }
        certificates.grace_ratio =
            cx.percent("security.certificates.gracePeriodRatio".into(), c.grace_period_ratio, 50.0);
        certificates.grace_ratio_jitter =
            cx.percent("security.certificates.gracePeriodRatioJitter".into(), c.grace_period_ratio_jitter, 1.0);
    }

    let mut policies = Vec::new();
    for (i, p) in spec.authorization.iter().enumerate() {
        let path = format!("security.authorization[{i}]");
        if spec.authorization[..i].iter().any(|q| q.name == p.name) {
            cx.err(format!("{path}.name"), format!("a name no other policy has, found \"{}\" again", p.name));
        }
        if let Some(policy) = authz_policy(cx, &path, p, service_ids) {
            policies.push(policy);
        }
    }
    (cx.issues.len() == errors).then(|| {
        Box::new(Security {
            trust_domain,
            principals,
            gateway_principal,
            modes,
            client_tls,
            handshake,
            max_requests_per_connection,
            idle_timeout,
            certificates,
            policies,
            methods,
            paths,
        })
    })
}

fn peer_mode(m: rs::PeerModeSpec) -> PeerMode {
    match m {
        rs::PeerModeSpec::Strict => PeerMode::Strict,
        rs::PeerModeSpec::Disable => PeerMode::Disable,
        rs::PeerModeSpec::Permissive | rs::PeerModeSpec::Unset => PeerMode::Permissive,
    }
}

/// A Kubernetes service account name (a DNS subdomain).
fn service_account(cx: &mut Cx, path: &str, name: &str) {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !ok {
        cx.err(path, format!("a service account name of lower-case letters, digits, '-' and '.', found \"{name}\""));
    }
}

/// An AuthorizationPolicy at JSON path `p`.
// A little over 80 lines: an AuthorizationPolicy's selector, action and rules.
pub(super) fn authz_policy(
    cx: &mut Cx,
    p: &str,
    spec: &rs::AuthorizationPolicySpec,
    service_ids: &IndexMap<&str, ServiceId>,
) -> Option<AuthzPolicy> {
    let errors = cx.issues.len();
    cx.name(format!("{p}.name"), &spec.name);
    let service = match &spec.service {
        None => None,
        Some(s) => match service_ids.get(s.as_str()) {
            Some(&id) => Some(id),
            None => {
                cx.err(format!("{p}.service"), unknown("service", s, service_ids.keys().copied()));
                None
            }
        },
    };
    let mut rules = Vec::new();
    for (r, rule) in spec.rules.iter().enumerate() {
        let rp = format!("{p}.rules[{r}]");
        let mut from = Vec::new();
        for (k, f) in rule.from.iter().enumerate() {
            let s = &f.source;
            let sp = format!("{rp}.from[{k}].source");
            for (field, list) in [
                ("principals", &s.principals),
                ("notPrincipals", &s.not_principals),
                ("namespaces", &s.namespaces),
                ("notNamespaces", &s.not_namespaces),
            ] {
                patterns(cx, &format!("{sp}.{field}"), list);
            }
            if s.principals.is_empty()
                && s.not_principals.is_empty()
                && s.namespaces.is_empty()
                && s.not_namespaces.is_empty()
            {
                cx.err(sp.clone(), "at least one of principals, notPrincipals, namespaces, notNamespaces");
            }
            from.push(sec::Source {
                principals: s.principals.clone(),
                not_principals: s.not_principals.clone(),
                namespaces: s.namespaces.clone(),
                not_namespaces: s.not_namespaces.clone(),
            });
        }
        let mut to = Vec::new();
        for (k, t) in rule.to.iter().enumerate() {
            let o = &t.operation;
            let op = format!("{rp}.to[{k}].operation");
            for (field, list) in [("paths", &o.paths), ("notPaths", &o.not_paths)] {
                patterns(cx, &format!("{op}.{field}"), list);
            }
            for (field, list) in [("methods", &o.methods), ("notMethods", &o.not_methods)] {
                for (m, method) in list.iter().enumerate() {
                    if method != "*" && !METHODS.contains(&method.as_str()) {
                        cx.err(
                            format!("{op}.{field}[{m}]"),
                            format!("an HTTP method in capitals ({}), found \"{method}\"", METHODS.join(", ")),
                        );
                    }
                }
            }
            if o.paths.is_empty() && o.not_paths.is_empty() && o.methods.is_empty() && o.not_methods.is_empty() {
                cx.err(op.clone(), "at least one of paths, notPaths, methods, notMethods");
            }
            to.push(sec::Operation {
                paths: o.paths.clone(),
                not_paths: o.not_paths.clone(),
                methods: o.methods.clone(),
                not_methods: o.not_methods.clone(),
            });
        }
        rules.push(sec::Rule { from, to });
    }
    let action = match spec.action {
        Some(rs::ActionSpec::Deny) => Action::Deny,
        _ => Action::Allow,
    };
    (cx.issues.len() == errors).then(|| AuthzPolicy { name: spec.name.clone(), service, action, rules })
}

/// Istio string matches: non-empty, with `*` only at one end.
fn patterns(cx: &mut Cx, path: &str, list: &[String]) {
    for (i, v) in list.iter().enumerate() {
        let inner = v.strip_prefix('*').unwrap_or(v);
        let inner = inner.strip_suffix('*').unwrap_or(inner);
        if v.is_empty() || inner.contains('*') {
            cx.err(format!("{path}[{i}]"), format!("an exact value, \"prefix*\", \"*suffix\" or \"*\", found \"{v}\""));
        }
    }
}

/// A `ca-outage` or `authz-policy` fault at JSON path `p`: no target, a security block.
pub(super) fn security_fault(
    cx: &mut Cx,
    p: &str,
    f: &raw::FaultSpec,
    env: &FaultEnv,
    window: (SimTime, Option<SimTime>, Option<SimDuration>),
    ok: bool,
) -> Option<Fault> {
    let (start, end, repeat) = window;
    if f.target.is_some() {
        let what = if f.kind == raw::FaultKind::CaOutage { "hits the CA" } else { "applies its own policy" };
        cx.err(format!("{p}.target"), format!("no target: a {} fault {what}", kind_name(f.kind)));
        return None;
    }
    if !env.security {
        cx.err(format!("{p}.kind"), "a top-level \"security\" block, which this fault needs");
        return None;
    }
    let kind = if f.kind == raw::FaultKind::CaOutage {
        FaultKind::CaOutage
    } else {
        let Some(spec) = &f.policy else {
            cx.err(format!("{p}.policy"), "\"policy\", the AuthorizationPolicy in force while the fault lasts");
            return None;
        };
        FaultKind::AuthzPolicy(Box::new(authz_policy(cx, &format!("{p}.policy"), spec, env.service_ids)?))
    };
    ok.then_some(Fault { kind, instances: Vec::new(), select: Select::All, start, end, repeat, path: None })
}
