//! Traffic management as Istio does it: a service's versions (DestinationRule subsets),
//! its routing rules (a VirtualService's `http` list: match, weighted route, mirror), and
//! the request headers users carry.
//!
//! Pure data and decisions: which rule a call matches and which subset a weight draw
//! picks. The event loop (`sim/traffic.rs`) draws and acts.
//!
//! meshsim's simplifications: a request's header values are a pure function of its
//! client id (users keep their group, and every downstream call carries the same headers,
//! as applications propagate them for Istio); a gateway request's path is its route's
//! `pathPrefix` and its method the route's `method`, so `uri` and `method` conditions
//! match gateway calls only (a mesh call has neither); `source` matches the calling
//! service by name, as `sourceLabels: {app: ...}` would.

use crate::ids::{Caller, EndpointId, RouteId};

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::traffic::{Behaviour, Header, Match, Routing, Rule};

/// No subset: the call balances over every version's instances.
pub const ANY_SUBSET: u32 = crate::balance::groups::ANY;

impl Header {
    /// The index of the value that `client` carries under the run's `seed`: a hash of
    /// the three, so a user keeps its value for the whole run and every hop sees it.
    pub fn value_of(&self, seed: u64, client: u64) -> u32 {
        use crate::rng::mix64;
        let x = mix64(self.key ^ mix64(seed.rotate_left(29) ^ mix64(client.wrapping_add(0x9e37_79b9_7f4a_7c15))));
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        let last = self.cumulative.len() - 1;
        self.cumulative.iter().position(|&c| u < c).unwrap_or(last) as u32
    }
}

/// What the rule engine knows of a call.
#[derive(Clone, Copy, Debug)]
pub struct CallInfo {
    pub caller: Caller,
    pub endpoint: EndpointId,
    /// The gateway route of the request, for a call the gateway makes.
    pub route: Option<RouteId>,
}

impl Match {
    /// Whether the call matches; `value(h)` is the index of the value of header `h`
    /// the call carries.
    pub fn matches(&self, call: &CallInfo, value: &impl Fn(u32) -> u32) -> bool {
        if self.endpoint.is_some_and(|e| e != call.endpoint) || self.source.is_some_and(|s| s != call.caller) {
            return false;
        }
        if let Some(routes) = &self.routes {
            match call.route {
                Some(r) if routes[r.idx()] => {}
                _ => return false,
            }
        }
        self.headers.iter().all(|h| match h {
            Some((header, ok)) => ok[value(*header) as usize],
            None => false,
        })
    }
}

impl Rule {
    pub fn applies(&self, call: &CallInfo, value: &impl Fn(u32) -> u32) -> bool {
        self.matches.is_empty() || self.matches.iter().any(|m| m.matches(call, value))
    }
}

impl Routing {
    pub fn first_applying(&self, call: &CallInfo, value: &impl Fn(u32) -> u32) -> Option<&Rule> {
        self.rules.iter().find(|r| r.applies(call, value))
    }
}

/// The sum of the weights, as a draw's bound; 0 when nothing needs drawing (a single
/// destination with any weight).
pub fn draw_bound(route: &[(u32, u32)]) -> u64 {
    if route.len() < 2 { 0 } else { route.iter().map(|&(_, w)| u64::from(w)).sum() }
}

/// The subset a draw `x` in `[0, draw_bound)` lands on (for a single destination, `x`
/// is ignored).
pub fn pick(route: &[(u32, u32)], mut x: u64) -> u32 {
    if route.len() == 1 {
        return route[0].0;
    }
    for &(subset, w) in route {
        if x < u64::from(w) {
            return subset;
        }
        x -= u64::from(w);
    }
    unreachable!("a draw below the total falls in some weight")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ServiceId;

    fn header(shares: &[f64]) -> Header {
        let mut acc = 0.0;
        let cumulative = shares
            .iter()
            .map(|s| {
                acc += s;
                acc
            })
            .collect();
        Header {
            name: "x-user-group".into(),
            values: (0..shares.len()).map(|i| format!("v{i}")).collect(),
            cumulative,
            key: crate::rng::stable_hash(b"x-user-group"),
        }
    }

    #[test]
    fn header_values_are_sticky_and_follow_their_shares() {
        let h = header(&[0.05, 0.95]);
        let n = 200_000u64;
        let beta = (0..n).filter(|&c| h.value_of(7, c) == 0).count() as f64;
        let p = 0.05;
        let sigma = (n as f64 * p * (1.0 - p)).sqrt();
        assert!((beta - n as f64 * p).abs() < 4.0 * sigma, "{beta}");
        for c in 0..1000 {
            assert_eq!(h.value_of(7, c), h.value_of(7, c));
        }
        // Another seed regroups the users.
        assert!((0..1000).any(|c| h.value_of(7, c) != h.value_of(8, c)));
    }

    #[test]
    fn a_match_needs_every_condition_and_a_rule_any_match() {
        let call = CallInfo { caller: Caller::Gateway, endpoint: EndpointId(2), route: Some(RouteId(1)) };
        let beta = Match { headers: vec![Some((0, vec![true, false]))], ..Match::default() };
        let on_add = Match { endpoint: Some(EndpointId(2)), ..Match::default() };
        let from_cart = Match { source: Some(Caller::Service(ServiceId(0))), ..Match::default() };
        let route1 = Match { routes: Some(vec![false, true]), ..Match::default() };
        let unknown_header = Match { headers: vec![None], ..Match::default() };
        let is_beta = |_h: u32| 0;
        let is_default = |_h: u32| 1;
        assert!(beta.matches(&call, &is_beta));
        assert!(!beta.matches(&call, &is_default));
        assert!(on_add.matches(&call, &is_default));
        assert!(!from_cart.matches(&call, &is_default));
        assert!(route1.matches(&call, &is_default));
        let mesh = CallInfo { caller: Caller::Service(ServiceId(0)), route: None, ..call };
        assert!(!route1.matches(&mesh, &is_default), "a mesh call has no path");
        assert!(from_cart.matches(&mesh, &is_default));
        assert!(!unknown_header.matches(&call, &is_beta));
        let both =
            Match { headers: vec![Some((0, vec![true, false]))], endpoint: Some(EndpointId(3)), ..Match::default() };
        assert!(!both.matches(&call, &is_beta));
        let rule = Rule { matches: vec![both, on_add], route: vec![(1, 100)], mirror: None };
        assert!(rule.applies(&call, &is_beta));
        let catch_all = Rule { matches: vec![], route: vec![(0, 100)], mirror: None };
        let routing = Routing { rules: vec![Rule { matches: vec![beta.clone()], ..rule.clone() }, catch_all] };
        assert_eq!(routing.first_applying(&call, &is_beta).unwrap().route, vec![(1, 100)]);
        assert_eq!(routing.first_applying(&call, &is_default).unwrap().route, vec![(0, 100)]);
    }

    #[test]
    fn weights_pick_their_share_of_draws() {
        let route = [(0, 90), (1, 10)];
        assert_eq!(draw_bound(&route), 100);
        assert_eq!(draw_bound(&[(3, 100)]), 0);
        assert_eq!(pick(&[(3, 100)], 0), 3);
        let to_v1 = (0..100).filter(|&x| pick(&route, x) == 1).count();
        assert_eq!(to_v1, 10);
        assert_eq!(pick(&[(0, 0), (1, 100)], 0), 1);
    }
}
