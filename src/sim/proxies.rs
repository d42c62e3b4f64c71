//! The proxies owner: one proxy per calling site (the gateway, each instance's sidecar)
//! and destination service it calls, each with its balancer (or host groups), locality
//! draw, retry budget, circuit breakers, bulkhead, outlier detector and stream; the
//! gateway's rate limiters; the config version each proxy runs; and, for cache fallbacks,
//! when each proxy last had a good answer per endpoint.
//!
//! **Invariant:** proxies are numbered once, at construction, in a fixed order (the
//! gateway's routes, their splits and fallbacks, then each instance's calls and
//! fallbacks); `proxy_of` maps every (site, destination) a call can take to its proxy,
//! and every per-proxy vector has one entry per proxy. `guarded[p]` is true exactly when
//! proxy `p` has a budget, breakers, a bulkhead or outlier detection.

use super::*;

pub(super) struct Proxies {
    /// `proxy_of[site * services + service]`, `u32::MAX` where the site never calls it.
    pub(super) proxy_of: Vec<u32>,
    pub(super) balancers: Vec<Balancer>,
    /// Per proxy, its hosts split by subset and priority, each group with its own
    /// balancer (`None`: one balancer over all hosts, `balancers[p]`, picks).
    pub(super) host_groups: Vec<Option<crate::balance::groups::HostGroups>>,
    /// Per proxy, its locality balancing (priority loads), if its policy has it.
    pub(super) localities: Vec<Option<locality::LocalityProxy>>,
    /// Cross-cluster discovery delays (ideal discovery), if any cluster has one.
    pub(super) remote: Option<locality::RemoteDiscovery>,
    pub(super) proxy_rngs: Vec<Stream>,
    /// Retry budget of each proxy, if its policy has one.
    pub(super) budgets: Vec<Option<RetryBudget>>,
    /// Circuit breakers of each proxy, if its policy has them.
    pub(super) breakers: Vec<Option<ProxyBreakers>>,
    /// Bulkhead of each proxy, if its policy has one, and its scheduled expiry check.
    pub(super) bulkheads: Vec<Option<Bulkhead>>,
    pub(super) bulkhead_wake: Vec<SimTime>,
    /// Outlier detector of each proxy, if its policy has one, with the panic threshold.
    pub(super) outliers: Vec<Option<(OutlierDetector, f64)>>,
    /// Whether each proxy has any of the guards above.
    pub(super) guarded: Vec<bool>,
    /// The gateway's rate limiters: over all routes, and per route.
    pub(super) gateway_limiter: Option<RateLimiter>,
    pub(super) route_limiters: Vec<Option<RateLimiter>>,
    /// The config version each proxy runs: 0 the scenario's policies, `i` after change
    /// `i - 1` reached it.
    pub(super) proxy_config: Vec<u32>,
    /// Each proxy's calling site and destination, for names in reports.
    pub(super) proxy_site: Vec<(u32, ServiceId)>,
    /// Each endpoint's index among its service's endpoints.
    pub(super) endpoint_local: Vec<u32>,
    /// When each proxy last had a good answer from each endpoint of its destination
    /// (`SimTime::MAX`: never), for cache fallbacks.
    pub(super) last_ok: Vec<Vec<SimTime>>,
    /// Whether any policy has a cache fallback (else `last_ok` is not kept up).
    pub(super) caches_answers: bool,
    /// Per proxy, for the checker: HALF_OPEN permits, semaphore bulkhead permits and
    /// Envoy `max_retries` (`u32::MAX`: none; empty without a checker).
    pub(super) guard_limits: Vec<(u32, u32, u32)>,
}

/// The circuit breakers of one proxy for one destination, one per scope unit.
pub(super) struct ProxyBreakers {
    pub(super) units: Vec<CircuitBreaker>,
    /// The earliest wake-up scheduled per unit (`SimTime::MAX`: none).
    pub(super) wake: Vec<SimTime>,
    pub(super) scope: BreakerScope,
    pub(super) failure_on: FailureOn,
}

/// What building the proxies needs besides them: the scenario, the seed, and the
/// consistent-hash rings built so far.
struct Build<'a> {
    sc: &'a Scenario,
    seed: RootSeed,
    /// Rings depend only on the destination's hosts and the ring size: each is built once.
    rings: Vec<(ServiceId, BalancerConfig, crate::balance::Ring)>,
}

impl Proxies {
    pub(super) fn new(sc: &Scenario, seed: RootSeed) -> Proxies {
        let sites = 1 + sc.instances.len();
        let mut p = Proxies {
            proxy_of: vec![u32::MAX; sites * sc.services.len()],
            balancers: Vec::new(),
            host_groups: Vec::new(),
            localities: Vec::new(),
            remote: None,
            proxy_rngs: Vec::new(),
            budgets: Vec::new(),
            breakers: Vec::new(),
            bulkheads: Vec::new(),
            bulkhead_wake: Vec::new(),
            outliers: Vec::new(),
            guarded: Vec::new(),
            gateway_limiter: sc.gateway.rate_limit.as_ref().map(|l| RateLimiter::new(l, SimTime::ZERO)),
            route_limiters: sc
                .gateway
                .routes
                .iter()
                .map(|r| r.rate_limit.as_ref().map(|l| RateLimiter::new(l, SimTime::ZERO)))
                .collect(),
            proxy_config: Vec::new(),
            proxy_site: Vec::new(),
            endpoint_local: sc
                .endpoints
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let local = sc.services[e.service.idx()].endpoints.iter().position(|x| x.idx() == i);
                    local.expect("an endpoint belongs to its service") as u32
                })
                .collect(),
            last_ok: Vec::new(),
            caches_answers: sc.policies.call.iter().any(|p| matches!(p.fallback, Some(Fallback::Cache { .. }))),
            guard_limits: Vec::new(),
        };
        let mut b = Build { sc, seed, rings: Vec::new() };
        for r in &sc.gateway.routes {
            p.add(&mut b, GATEWAY_SITE, r.service);
            for &(service, _, _) in &r.split {
                p.add(&mut b, GATEWAY_SITE, service);
            }
        }
        // A fallback to another service needs a proxy for it too.
        let fallback_dest = |caller: Caller, e: EndpointId| match sc.policies.call(caller, e).fallback {
            Some(Fallback::Service { service, .. }) => Some(service),
            _ => None,
        };
        for r in &sc.gateway.routes {
            if let Some(alt) = fallback_dest(Caller::Gateway, r.endpoint) {
                p.add(&mut b, GATEWAY_SITE, alt);
            }
        }
        for (i, inst) in sc.instances.iter().enumerate() {
            let caller = Caller::Service(inst.service);
            for &e in &sc.services[inst.service.idx()].endpoints {
                for c in &sc.endpoints[e.idx()].calls {
                    p.add(&mut b, 1 + i, c.service);
                    if let Some(alt) = fallback_dest(caller, c.endpoint) {
                        p.add(&mut b, 1 + i, alt);
                    }
                }
            }
        }
        let n = p.balancers.len();
        p.guarded = (0..n)
            .map(|i| {
                p.budgets[i].is_some() || p.breakers[i].is_some() || p.bulkheads[i].is_some() || p.outliers[i].is_some()
            })
            .collect();
        p.bulkhead_wake = vec![SimTime::MAX; n];
        p.proxy_config = vec![0; n];
        p.last_ok =
            p.proxy_site.iter().map(|&(_, dest)| vec![SimTime::MAX; sc.services[dest.idx()].endpoints.len()]).collect();
        p.localities =
            p.proxy_site.iter().map(|&(site, dest)| locality::proxy(sc, seed, site as usize, dest)).collect();
        p.remote = locality::RemoteDiscovery::new(sc, &p.proxy_site);
        p
    }

    /// Adds the proxy at `site` for `dest`, unless the site has one already.
    fn add(&mut self, b: &mut Build, site: usize, dest: ServiceId) {
        let (sc, seed) = (b.sc, b.seed);
        let nsvc = sc.services.len();
        let slot = &mut self.proxy_of[site * nsvc + dest.idx()];
        if *slot != u32::MAX {
            return;
        }
        *slot = self.balancers.len() as u32;
        let caller = locality::site_caller(sc, site);
        let svc = &sc.services[dest.idx()];
        let hosts: Vec<Host> = svc
            .instances
            .iter()
            .map(|&i| Host { name: sc.instances[i.idx()].name.clone(), weight: sc.instances[i.idx()].weight })
            .collect();
        let mut rng = seed.stream(&format!("proxy/{}/{}", site_name(sc, site), svc.name));
        let config = sc.policies.balancer(caller, dest);
        let balancer = match b.rings.iter().position(|(d, c, _)| *d == dest && c == config) {
            Some(i) => Balancer::from_ring(b.rings[i].2.clone(), hosts.len()),
            None => {
                let balancer = Balancer::new(config, &hosts, SimTime::ZERO, &mut rng);
                if let Some(ring) = balancer.ring() {
                    b.rings.push((dest, config.clone(), ring.clone()));
                }
                balancer
            }
        };
        self.balancers.push(balancer);
        self.host_groups.push(hosts::host_groups(sc, seed, site, dest, config, &hosts));
        self.proxy_rngs.push(rng);
        self.budgets.push(sc.policies.budget(caller, dest).map(|b| RetryBudget::new(b, SimTime::ZERO)));
        self.breakers.push(sc.policies.breaker(caller, dest).map(|b| {
            let units = match b.scope {
                BreakerScope::Service => 1,
                BreakerScope::Endpoint => svc.endpoints.len(),
                BreakerScope::Instance => svc.instances.len(),
            };
            ProxyBreakers {
                units: (0..units).map(|_| CircuitBreaker::new(&b.config, SimTime::ZERO)).collect(),
                wake: vec![SimTime::MAX; units],
                scope: b.scope,
                failure_on: b.failure_on,
            }
        }));
        self.proxy_site.push((site as u32, dest));
        self.bulkheads.push(sc.policies.bulkhead(caller, dest).map(Bulkhead::new));
        self.outliers.push(
            sc.policies.outlier(caller, dest).map(|o| {
                (OutlierDetector::new(&o.config, svc.instances.len(), SimTime::ZERO), o.healthy_panic_threshold)
            }),
        );
    }

    /// The limits the checker holds each proxy's guards to.
    pub(super) fn guard_limits(&self, sc: &Scenario) -> Vec<(u32, u32, u32)> {
        use crate::resilience::breaker::BreakerConfig;
        use crate::resilience::budget::BudgetConfig;
        use crate::resilience::bulkhead::BulkheadConfig;
        self.proxy_site
            .iter()
            .map(|&(site, dest)| {
                let caller = locality::site_caller(sc, site as usize);
                let permits = match sc.policies.breaker(caller, dest).map(|b| &b.config) {
                    Some(BreakerConfig::Resilience4j(c)) => c.permitted_calls_in_half_open_state,
                    Some(_) => 1,
                    None => u32::MAX,
                };
                let bulkhead = match sc.policies.bulkhead(caller, dest) {
                    Some(BulkheadConfig::Semaphore { max_concurrent_calls, .. }) => *max_concurrent_calls,
                    _ => u32::MAX,
                };
                let retries = match sc.policies.budget(caller, dest) {
                    Some(BudgetConfig::EnvoyMaxRetries { max_retries }) => *max_retries,
                    _ => u32::MAX,
                };
                (permits, bulkhead, retries)
            })
            .collect()
    }

    /// Each proxy's retry budget, for the checker to recount.
    pub(super) fn budget_configs(&self, sc: &Scenario) -> Vec<Option<crate::resilience::budget::BudgetConfig>> {
        self.proxy_site
            .iter()
            .enumerate()
            .map(|(p, &(site, dest))| {
                let caller = locality::site_caller(sc, site as usize);
                // A proxy without guards never consults its budget.
                if self.guarded[p] { sc.policies.budget(caller, dest).copied() } else { None }
            })
            .collect()
    }
}
