//! Traffic management as validated data: each version's endpoint behaviour, the request
//! headers users carry, and each service's routing rules (Istio's VirtualService). Which rule
//! a call matches is decided in `traffic`.

use crate::dist::Dist;
use crate::ids::{Caller, EndpointId};

/// An endpoint's behaviour on one version's instances.
#[derive(Clone, Debug)]
pub struct Behaviour {
    pub service_time: Dist,
    /// Probability in [0, 1] that the endpoint fails on its own.
    pub error_rate: f64,
    pub error_status: u16,
}

/// A request header that the workload sets per user: each value with the share of
/// users who carry it.
#[derive(Clone, Debug)]
pub struct Header {
    pub name: String,
    pub values: Vec<String>,
    /// Cumulative shares in (0, 1], one per value; the last is 1.
    pub cumulative: Vec<f64>,
    /// A key hashed from the name, so each header draws independently.
    pub key: u64,
}

/// One match block of a rule: every condition it sets must hold (Istio's
/// HTTPMatchRequest). Conditions are resolved to ids when the scenario is loaded.
#[derive(Clone, Debug, Default)]
pub struct Match {
    /// Per header condition: the header's index in `Scenario::headers` and which of its
    /// values match (`None`: a header the workload never sets, which never matches).
    pub headers: Vec<Option<(u32, Vec<bool>)>>,
    pub endpoint: Option<EndpointId>,
    pub source: Option<Caller>,
    /// With a `uri` or `method` condition: which gateway routes' requests satisfy it.
    pub routes: Option<Vec<bool>>,
}

/// One routing rule (Istio's HTTPRoute): where matching calls go, by weight, and where
/// a share of them is mirrored.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Any block matching is enough; empty: every call matches.
    pub matches: Vec<Match>,
    /// (subset, weight) in file order; the weights sum to 100 (a single destination
    /// alone may leave its weight out).
    pub route: Vec<(u32, u32)>,
    /// The mirror subset and the share (0 to 1) of the rule's calls copied to it.
    pub mirror: Option<(u32, f64)>,
}

/// A service's rules, in order: the first that applies routes the call (Istio); a call
/// no rule applies to goes to any version.
#[derive(Clone, Debug, Default)]
pub struct Routing {
    pub rules: Vec<Rule>,
}
