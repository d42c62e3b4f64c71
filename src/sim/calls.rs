//! Calls on their way out: a call enters its caller's proxy (faults on its path, its
//! policy: deadline, hedging, mirroring), its attempts are guarded, balanced and sent over
//! the network, and each request reaches its instance (`deliver`, then `station.rs`).
//! The way back is `answers.rs`.
//!
//! A `Call` lives from the caller's first attempt to its final outcome; each `Attempt`
//! lives until the callee's answer is back (or lost), even after the caller gave up on
//! it, because the callee cannot know and does the work anyway.

use super::*;

impl<'s> Sim<'s, '_> {
    /// A call (`from`: who calls what, from which site) enters the caller's proxy.
    /// Error and delay faults on its call path act first, as Istio's fault filter
    /// does before the router: an abort fails the call at once with its status (never
    /// sent, so not retried and unseen by breakers and outlier detection); a delay holds
    /// the call back, and its timeouts start when it is released.
    #[inline(always)]
    pub(super) fn start_call(&mut self, from: CallSite) {
        if !self.faults.call_faults.is_empty() {
            return self.start_faulted_call(from);
        }
        self.begin_call(from, None);
    }

    /// `start_call` while faults act on call paths.
    #[cold]
    #[inline(never)]
    fn start_faulted_call(&mut self, h: CallSite) {
        let (caller, endpoint) = (h.caller, h.endpoint);
        let mut abort = None;
        let service = self.sc.endpoints[endpoint.idx()].service;
        let mut hold = SimDuration::ZERO;
        for k in 0..self.faults.call_faults.len() {
            let f = self.faults.call_faults[k] as usize;
            let fault = &self.sc.faults[f];
            if !fault.path.is_some_and(|p| p.matches(caller, service, endpoint)) {
                continue;
            }
            let rng = &mut self.faults.fault_rngs[f];
            match &fault.kind {
                FaultKind::Error { probability, status }
                    if abort.is_none() && (*probability >= 1.0 || rng.random::<f64>() < *probability) =>
                {
                    abort = Some(*status);
                }
                FaultKind::Latency { delay, probability }
                    if (*probability >= 1.0 || rng.random::<f64>() < *probability) =>
                {
                    hold += delay.sample(rng);
                }
                _ => {}
            }
        }
        if abort.is_none() && !hold.is_zero() {
            let key = self.live.held.insert(h);
            return self.events.push(self.now + hold, Event::ReleaseCall(key));
        }
        self.begin_call(h, abort);
    }

    /// A call held back by an injected delay goes on into its proxy.
    pub(super) fn release_call(&mut self, key: Key) {
        let h = self.live.held.remove(key).expect("a held call is live until released");
        self.begin_call(h, None);
    }

    /// The call enters its proxy: direct without a policy or a guard, else through its
    /// policy stack (or, with `abort`, failing at once with that status).
    #[inline(always)]
    fn begin_call(&mut self, from: CallSite, abort: Option<u16>) {
        let sc = self.sc;
        let endpoint = from.endpoint;
        let service = sc.endpoints[endpoint.idx()].service;
        let proxy = self.proxies.proxy_of[from.site as usize * sc.services.len() + service.idx()];
        debug_assert_ne!(proxy, u32::MAX, "every calling site has a proxy for its destinations");
        // The policy as this proxy has it now (control-plane pushes arrive proxy by proxy).
        let policy = match self.proxies.proxy_config[proxy as usize] {
            0 => sc.policies.call(from.caller, endpoint),
            v => &sc.config_changes[v as usize - 1].call[from.caller.idx() * sc.endpoints.len() + endpoint.idx()],
        };
        let guarded = self.proxies.guarded[proxy as usize];
        if self.direct_calls
            && !guarded
            && abort.is_none()
            && policy.is_plain()
            && self.proxies.host_groups[proxy as usize].is_none()
        {
            let to = Target {
                proxy,
                service,
                endpoint,
                caller_zone: from.zone,
                client: from.client,
                measured: from.measured,
            };
            return self.dispatch_direct(from.parent, to);
        }
        self.begin_policy_call(from, Route { proxy, service, policy, guarded }, abort);
    }

    /// A call enters its policy stack (or, with `abort`, fails at once with that status).
    #[inline(never)]
    fn begin_policy_call(&mut self, from: CallSite, route: Route<'s>, abort: Option<u16>) {
        let (parent, policy, guarded, proxy) = (from.parent, route.policy, route.guarded, route.proxy);
        // Routing picks the version (subset) before the first attempt.
        let (subset, mirror) = if self.traffic.is_some() {
            self.route_call(parent, from.caller, route.service, from.endpoint, from.client)
        } else {
            (crate::balance::groups::ANY, crate::balance::groups::ANY)
        };
        let call = self.live.calls.insert(Call::new(&from, route, subset));
        if let Some(status) = abort {
            return self.refuse(call, Outcome::Error(status));
        }
        // The request's deadline, as the job making this call received it.
        let inherited = match parent {
            Parent::Job(job, _) if policy.propagate_deadline => {
                self.live.jobs.get(job).map_or(SimTime::MAX, |j| j.deadline)
            }
            _ => SimTime::MAX,
        };
        if inherited <= self.now {
            // The job ran past its deadline (slow local work): as gRPC does with an
            // expired deadline, the call fails at once, unsent.
            return self.refuse(call, Outcome::Timeout);
        }
        if guarded && let Some(b) = self.proxies.budgets[proxy as usize].as_mut() {
            b.on_request(self.now);
            if let Some(ch) = self.checker.as_deref_mut() {
                ch.observe(crate::checker::Obs::BudgetRequest { proxy });
            }
        }
        let own = policy.timeout.map_or(SimTime::MAX, |t| self.now + t);
        if own <= inherited {
            if let Some(t) = policy.timeout {
                self.push_after(t, true, Event::CallTimeout(call));
            }
        } else {
            // The caller's remaining time is shorter than this call's own timeout. Such
            // deadlines come roughly in order (those of requests that arrived one after
            // the other): piles keep them out of the heap.
            self.events.push_sorted(inherited, Event::CallTimeout(call));
        }
        if policy.propagate_deadline {
            self.live.calls.get_mut(call).expect("a call just made is live").deadline = own.min(inherited);
        }
        if let Some(h) = &policy.hedging {
            self.push_after(h.delay, true, Event::Hedge(call));
        }
        if mirror != crate::balance::groups::ANY {
            let to = Target {
                proxy,
                service: route.service,
                endpoint: from.endpoint,
                caller_zone: from.zone,
                client: from.client,
                measured: from.measured,
            };
            self.send_mirror(from.caller, to, mirror);
        }
        if guarded {
            self.send_attempt(call);
        } else {
            self.dispatch_attempt(call, u32::MAX, false);
        }
    }

    /// Sends the call's next attempt, if the proxy's circuit breaker permits it (else the
    /// call fails fast as short-circuited) and its bulkhead has room (else the call waits
    /// for a permit, or fails fast as overloaded).
    pub(super) fn send_attempt(&mut self, call: Key) {
        let now = self.now;
        let c = self.live.calls.get(call).expect("a call making an attempt is live");
        if !c.guarded {
            return self.dispatch_attempt(call, u32::MAX, false);
        }
        let (p, endpoint) = (c.proxy as usize, c.endpoint);
        // A breaker per service or endpoint is asked before balancing; one per instance
        // after the balancer picked its instance.
        let per_instance = self.proxies.breakers[p].as_ref().is_some_and(|b| b.scope == BreakerScope::Instance);
        // A hedge the guards refuse is simply not sent while other attempts are out.
        let hedge = !c.inflight.is_empty();
        let mut unit = u32::MAX;
        if !per_instance && let Some(u) = self.breaker_unit(p, endpoint, 0) {
            if !self.breaker_permits(p, u) {
                if !hedge {
                    self.refuse(call, Outcome::ShortCircuited);
                }
                return;
            }
            unit = u;
        }
        // The bulkhead is the innermost guard, as in Resilience4j's recommended order.
        let mut permit = false;
        if let Some(bh) = self.proxies.bulkheads[p].as_mut() {
            match bh.try_enter(now, ticket(call), false) {
                Admission::Admitted => {
                    permit = true;
                    if self.checker.is_some() {
                        let limit = self.proxies.guard_limits[p].1;
                        self.observe(crate::checker::Obs::BulkheadEnter { proxy: p as u32, limit });
                    }
                }
                Admission::Queued if hedge => {
                    bh.cancel(ticket(call));
                    return self.breaker_release(p, unit);
                }
                Admission::Queued => {
                    let c = self.live.calls.get_mut(call).expect("a queued call is live");
                    c.queued = true;
                    c.queued_unit = unit;
                    return self.arm_bulkhead(p);
                }
                Admission::Rejected => {
                    self.breaker_release(p, unit);
                    if !hedge {
                        self.refuse(call, Outcome::Overloaded);
                    }
                    return;
                }
            }
        }
        self.dispatch_attempt(call, unit, permit);
    }

    /// Picks the instance and sends the attempt, past the breaker and the bulkhead.
    pub(super) fn dispatch_attempt(&mut self, call: Key, mut unit: u32, permit: bool) {
        let sc = self.sc;
        let now = self.now;
        let c = self.live.calls.get(call).expect("a call making an attempt is live");
        let (p, endpoint, service, client, tried) = (c.proxy as usize, c.endpoint, c.service, c.client, c.tried);
        let (policy, guarded, subset) = (c.policy, c.guarded, c.subset);
        let per_instance =
            guarded && self.proxies.breakers[p].as_ref().is_some_and(|b| b.scope == BreakerScope::Instance);
        let avoid = policy.retry.as_ref().is_some_and(|r| r.avoid_previous_hosts) && tried != 0;
        let picked = if self.proxies.host_groups[p].is_some() {
            self.pick_grouped(p, subset, client, avoid, tried, guarded)
        } else {
            self.pick_plain(p, client, avoid, tried, guarded)
        };
        let Some(host) = picked else {
            if permit {
                self.bulkhead_leave(p);
            }
            // The call was permitted and failed (503, no healthy upstream): the
            // breaker records it, as Resilience4j around the client would.
            self.breaker_result(p, unit, SimDuration::ZERO, Outcome::Error(503));
            let hedge = !self.live.calls.get(call).expect("a call making an attempt is live").inflight.is_empty();
            if !hedge {
                self.refuse(call, Outcome::Error(503));
            }
            return;
        };
        if per_instance {
            let u = self.breaker_unit(p, endpoint, host).expect("a per-instance breaker has a unit per host");
            if !self.breaker_permits(p, u) {
                if permit {
                    self.bulkhead_leave(p);
                }
                let hedge = !self.live.calls.get(call).expect("a call making an attempt is live").inflight.is_empty();
                if !hedge {
                    self.refuse(call, Outcome::ShortCircuited);
                }
                return;
            }
            unit = u;
        }
        self.balancer_sent(p, host);
        if self.checker.is_some() {
            let inst = self.sc.services[service.idx()].instances[host];
            // Routable as the proxy's cluster knows it: another cluster's changes arrive
            // one discovery delay late (`sim/locality.rs`).
            let (cached, routable) = (self.discovery.proxy_view[p] != u32::MAX, self.ideal_visible(p, inst));
            self.observe(crate::checker::Obs::Sent { instance: inst.0, cached, routable });
        }
        let c = self.live.calls.get_mut(call).expect("a call making an attempt is live");
        c.attempts += 1;
        c.tried |= 1 << (host % 64);
        let instance = sc.services[service.idx()].instances[host];
        let per_try = policy.retry.as_ref().and_then(|r| r.per_try_timeout);
        let caller_zone = c.caller_zone;
        let attempt = self.live.attempts.insert(Attempt {
            deadline: c.deadline,
            breaker: unit,
            permit,
            retry: c.attempts > 1,
            has_timeout: per_try.is_some(),
            ..Attempt::new(Owner::Call(call), c.target(), host, instance, now)
        });
        let measured = c.measured;
        c.inflight.push(attempt);
        self.note_attempt(attempt, caller_zone, instance, measured);
        if self.checker.is_some() {
            let max = policy
                .hedging
                .as_ref()
                .map(|h| h.max_attempts)
                .or(policy.retry.as_ref().map(|r| r.max_attempts))
                .unwrap_or(1);
            let n = self.live.calls.get(call).expect("a call making an attempt is live").attempts;
            self.observe(crate::checker::Obs::Attempt { call: Self::key_id(call), n, max });
        }
        self.transmit(attempt, p, service, caller_zone, instance, per_try);
    }

    /// A direct call (`Owner::Direct`: no policy, no guard) picks its instance and sends
    /// its one attempt, as `begin_call` and `dispatch_attempt` would for such a call, draw
    /// for draw, without keeping a `Call`.
    #[inline(always)]
    fn dispatch_direct(&mut self, parent: Parent, to: Target) {
        self.direct_count += 1;
        let p = to.proxy as usize;
        let Some(host) = self.pick_plain(p, to.client, false, 0, false) else {
            // No healthy upstream: the call fails unsent with 503, as `refuse` has it.
            self.recorder.services[to.service.idx()].record_unsent(Outcome::Error(503), to.measured);
            let end = answers::DirectEnd { attempts: 0, outcome: Outcome::Error(503), work: 0 };
            return self.direct_done(parent, to.proxy, to.endpoint, to.measured, end);
        };
        self.balancer_sent(p, host);
        let instance = self.sc.services[to.service.idx()].instances[host];
        let attempt = self.live.attempts.insert(Attempt::new(Owner::Direct(parent), to, host, instance, self.now));
        self.note_attempt(attempt, to.caller_zone, instance, to.measured);
        self.transmit(attempt, p, to.service, to.caller_zone, instance, None);
    }

    /// A new attempt's place in the locality figures and in the trace.
    #[inline(always)]
    fn note_attempt(&mut self, attempt: Key, caller_zone: ZoneId, instance: InstanceId, measured: bool) {
        if self.recorder.locality_stats.is_some() {
            self.count_locality(caller_zone, instance, measured);
        }
        if self.recorder.span_owners > 0 {
            self.trace_attempt(attempt);
        }
    }

    /// Sends a new attempt's request from proxy `p` to `instance`, under its per-try
    /// timeout if it has one.
    #[inline(always)]
    fn transmit(
        &mut self,
        attempt: Key,
        p: usize,
        service: ServiceId,
        caller_zone: ZoneId,
        instance: InstanceId,
        per_try: Option<SimDuration>,
    ) {
        if let Some(t) = per_try {
            self.push_after(t, true, Event::AttemptTimeout(attempt));
        }
        let to_zone = self.sc.instances[instance.idx()].zone;
        if self.security.is_some() {
            return self.secure_send(attempt, caller_zone, to_zone);
        }
        if self.network.faulted() && self.network.nodes_cut(self.caller_node(p), 1 + service.idx()) {
            return self.lose(attempt, caller_zone, to_zone);
        }
        match self.transit(caller_zone, to_zone) {
            Some((d, _)) if d.is_zero() => self.deliver(attempt),
            Some((d, constant)) => self.push_after(d, constant, Event::Deliver(attempt)),
            None => self.lose(attempt, caller_zone, to_zone),
        }
    }

    /// The breaker or the bulkhead refused the attempt: nothing is sent and the call fails
    /// at once (it is not retried: the guard would refuse again).
    pub(super) fn refuse(&mut self, call: Key, outcome: Outcome) {
        let c = self.live.calls.get(call).expect("a refused call is live");
        self.recorder.services[c.service.idx()].record_unsent(outcome, c.measured);
        self.finish_call(call, outcome);
    }

    /// A message's fate on the link between two zones (see `Network::transit`).
    #[inline(always)]
    pub(super) fn transit(&mut self, from: ZoneId, to: ZoneId) -> Option<(SimDuration, bool)> {
        self.network.transit(from, to, &mut self.faults.fault_rngs)
    }

    /// The node of proxy `p`'s caller.
    #[inline]
    pub(super) fn caller_node(&self, p: usize) -> usize {
        self.recorder.points[self.recorder.proxy_point[p] as usize].caller.idx()
    }

    /// A message of `attempt` was lost. The caller learns at a timeout if one watches the
    /// attempt or its call; otherwise, as with a reset connection, when the message would
    /// have arrived.
    pub(super) fn lose(&mut self, attempt: Key, from: ZoneId, to: ZoneId) {
        let a = self.live.attempts.get_mut(attempt).expect("an attempt in transit is live");
        a.lost = true;
        if a.abandoned {
            // Nobody waits for this answer any more.
            let span = a.span;
            self.live.attempts.remove(attempt);
            if span != NO_SPAN {
                self.release_span(span);
            }
            return;
        }
        let call_timeout = match a.owner {
            Owner::Call(call) => self.live.calls.get(call).is_some_and(|c| c.policy.timeout.is_some()),
            Owner::Direct(_) => false,
        };
        if !a.has_timeout && !call_timeout {
            let d = self.network.lost_delay(from, to);
            self.events.push(self.now + d, Event::Respond(attempt, Outcome::Dropped));
        }
    }

    /// The request of `attempt` reaches its instance.
    pub(super) fn deliver(&mut self, attempt: Key) {
        let now = self.now;
        let a = self.live.attempts.get_mut(attempt).expect("a delivered attempt is live");
        let (instance, endpoint, client, measured, deadline) =
            (a.instance, a.endpoint, a.client, a.measured, a.deadline);
        if let Some(fault) = self.stations.instances[instance.idx()].effect.delay
            && !a.delayed
        {
            // A latency fault holds the request back before the instance sees it.
            a.delayed = true;
            if let FaultKind::Latency { delay, probability } = &self.sc.faults[fault as usize].kind {
                let rng = &mut self.faults.fault_rngs[fault as usize];
                if *probability >= 1.0 || rng.random::<f64>() < *probability {
                    let d = delay.sample(rng);
                    return self.events.push(now + d, Event::Deliver(attempt));
                }
            }
        }
        if self.security.is_some() && self.deny(attempt, instance, endpoint) {
            return;
        }
        self.accept(attempt, instance, endpoint, client, measured, deadline);
    }
}

/// A call's key as a bulkhead ticket.
pub(super) fn ticket(call: Key) -> u64 {
    (u64::from(call.index) << 32) | u64::from(call.generation)
}

/// The call a bulkhead ticket stands for.
pub(super) fn from_ticket(t: u64) -> Key {
    Key { index: (t >> 32) as u32, generation: t as u32 }
}
