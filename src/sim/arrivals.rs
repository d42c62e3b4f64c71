//! Where requests come from: open-loop arrivals, closed-loop users, and when they stop.

use super::*;

/// The workload owner: where requests come from. Open-loop arrivals or closed-loop users
/// (their think times), the mix of routes, the client ids, and the gateway's traffic
/// shifting weights, each with its own stream.
///
/// **Invariant:** client ids are drawn only when something reads them (`needs_client`),
/// so a scenario without hashing, header routing or rollouts draws none.
pub(super) struct Workload {
    pub(super) arrivals: Option<Arrivals>,
    pub(super) mix: Mix,
    pub(super) client_rng: Stream,
    /// Whether any balancer hashes on the client id.
    pub(super) needs_client: bool,
    pub(super) think_rng: Stream,
    /// The gateway's current weights per route with traffic shifting, and the stream
    /// that splits requests by them.
    pub(super) route_weights: Vec<Vec<u32>>,
    pub(super) split_rng: Stream,
}

impl Workload {
    pub(super) fn new(sc: &Scenario, seed: RootSeed) -> Workload {
        Workload {
            arrivals: match &sc.workload.load {
                Load::Open { process, schedule } => {
                    Some(Arrivals::new(*process, schedule, seed.stream("workload/arrivals")))
                }
                Load::Closed { .. } => None,
            },
            mix: Mix::new(&sc.workload.mix, seed.stream("workload/mix")),
            client_rng: seed.stream("workload/clients"),
            // Routing by header and a rollout's user impact need client ids too.
            needs_client: sc.policies.balancer.iter().any(|b| matches!(b, BalancerConfig::RingHash { .. }))
                || !sc.headers.is_empty()
                || !sc.rollouts.is_empty(),
            think_rng: seed.stream("workload/think"),
            route_weights: sc.gateway.routes.iter().map(|r| r.split.iter().map(|&(_, _, w)| w).collect()).collect(),
            split_rng: seed.stream("gateway/split"),
        }
    }
}

impl Sim<'_, '_> {
    pub(super) fn start_load(&mut self) {
        match &self.sc.workload.load {
            Load::Open { .. } => self.schedule_next_arrival(),
            Load::Closed { users, think_time } => {
                // Each user starts after one think time, so users do not all fire at once.
                for u in 0..*users {
                    let t = SimTime::ZERO + think_time.sample(&mut self.workload.think_rng);
                    self.events.push(t, Event::UserWake(u));
                }
            }
        }
    }

    pub(super) fn close_arrivals(&mut self, at: SimTime) {
        if self.arrivals_open {
            self.arrivals_open = false;
            self.arrivals_end = at;
            self.drain_deadline = at + self.sc.run.drain_timeout;
        }
    }

    /// Whether a request may start at `t`; closes arrivals once a stop condition holds.
    pub(super) fn may_issue(&mut self, t: SimTime) -> bool {
        if !self.arrivals_open {
            return false;
        }
        if t >= self.stop_at {
            self.close_arrivals(self.stop_at);
            return false;
        }
        if self.issued >= self.requests_limit {
            self.close_arrivals(self.now);
            return false;
        }
        true
    }

    #[inline]
    pub(super) fn schedule_next_arrival(&mut self) {
        let arrivals = self.workload.arrivals.as_mut().expect("open loop has arrivals");
        match arrivals.next(self.now) {
            Some(t) if t < self.stop_at => self.events.push(t, Event::Arrival),
            Some(_) => self.close_arrivals(self.stop_at),
            // The rate stays zero: arrivals end with the duration, or now if there is none.
            None => self.close_arrivals(if self.stop_at == SimTime::MAX { self.now } else { self.stop_at }),
        }
    }

    pub(super) fn on_arrival(&mut self) {
        if !self.may_issue(self.now) {
            return;
        }
        // Client ids matter only to hashing balancers; the draw has its own stream, so
        // skipping it when unused changes no other draw.
        let client = if self.workload.needs_client {
            self.workload.client_rng.random_range(0..self.sc.workload.clients)
        } else {
            0
        };
        self.issue(client, None);
        if self.issued >= self.requests_limit {
            self.close_arrivals(self.now);
        } else {
            self.schedule_next_arrival();
        }
    }

    pub(super) fn on_user_wake(&mut self, user: u32) {
        if !self.may_issue(self.now) {
            return;
        }
        self.issue(u64::from(user), Some(user));
        if self.issued >= self.requests_limit {
            self.close_arrivals(self.now);
        }
    }

    pub(super) fn issue(&mut self, client: u64, user: Option<u32>) {
        self.issue_on(None, client, user);
    }

    /// A new request on `route`, or on one the workload's mix picks.
    pub(super) fn issue_on(&mut self, route: Option<RouteId>, client: u64, user: Option<u32>) {
        let route_id = route.unwrap_or_else(|| self.workload.mix.pick());
        let measured = self.now >= self.warmup;
        self.issued += 1;
        self.issued_measured += u64::from(measured);
        let req = self.live.requests.insert(Request {
            route: route_id,
            arrived: self.now,
            user,
            measured,
            client,
            span: NO_SPAN,
        });
        if let Some(t) = self.recorder.tracer.as_mut()
            && t.sample()
        {
            self.trace_request(req, route_id);
        }
        if self.checker.is_some() {
            self.observe(crate::checker::Obs::RequestArrived(Self::key_id(req)));
        }
        self.in_flight_max_seen = self.in_flight_max_seen.max(self.live.requests.len() as u64);
        if self.proxies.gateway_limiter.is_none() && self.proxies.route_limiters[route_id.idx()].is_none() {
            let endpoint = self.route_endpoint(route_id);
            let zone = self.sc.gateway.zone;
            return self.start_call(CallSite {
                parent: Parent::Request(req),
                caller: Caller::Gateway,
                site: GATEWAY_SITE as u32,
                zone,
                endpoint,
                client,
                measured,
                is_fallback: false,
            });
        }
        // The gateway's rate limits: the global one, then the route's.
        let now = self.now;
        let mut wait = SimDuration::ZERO;
        let mut denied = None;
        for limiter in [self.proxies.gateway_limiter.as_mut(), self.proxies.route_limiters[route_id.idx()].as_mut()]
            .into_iter()
            .flatten()
        {
            match limiter.acquire(now) {
                Permit::Now => {}
                Permit::After(d) => wait = wait.max(d),
                Permit::Denied => {
                    // 429, at once for a token bucket; Resilience4j fails the caller only
                    // after holding it for its whole timeout.
                    denied = Some(limiter.rejection_delay());
                    break;
                }
            }
        }
        match denied {
            Some(delay) if delay.is_zero() => return self.finish_request(req, Outcome::Error(429), 0),
            Some(delay) => return self.events.push(now + delay, Event::Deny(req)),
            None => {}
        }
        if wait.is_zero() {
            self.admit(req);
        } else {
            self.events.push(self.now + wait, Event::Admit(req));
        }
    }

    /// Where the gateway sends a request of `route`: its destination, or with traffic
    /// shifting one drawn by the weights the gateway has now.
    #[inline(always)]
    fn route_endpoint(&mut self, route: RouteId) -> EndpointId {
        let r = &self.sc.gateway.routes[route.idx()];
        if r.split.is_empty() {
            return r.endpoint;
        }
        self.split_endpoint(route)
    }

    /// `route_endpoint` for a route split by weight.
    #[inline(never)]
    fn split_endpoint(&mut self, route: RouteId) -> EndpointId {
        let r = &self.sc.gateway.routes[route.idx()];
        let weights = &self.workload.route_weights[route.idx()];
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.workload.split_rng.random_range(0..total);
        for (k, &w) in weights.iter().enumerate() {
            if x < u64::from(w) {
                return r.split[k].1;
            }
            x -= u64::from(w);
        }
        unreachable!("a draw below the total falls in some weight")
    }

    /// A request passed the gateway's rate limits: its route's call starts.
    pub(super) fn admit(&mut self, req: Key) {
        let r = self.live.requests.get(req).expect("an admitted request is live");
        let (route, client, measured) = (r.route, r.client, r.measured);
        let endpoint = self.route_endpoint(route);
        self.start_call(CallSite {
            parent: Parent::Request(req),
            caller: Caller::Gateway,
            site: GATEWAY_SITE as u32,
            zone: self.sc.gateway.zone,
            endpoint,
            client,
            measured,
            is_fallback: false,
        });
    }
}
