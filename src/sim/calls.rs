//! Calls through a caller's proxy: the call's policy (overall timeout, retries), its
//! attempts (balancing, per-try timeouts, the network), and what a finished call tells
//! its parent.
//!
//! A `Call` lives from the caller's first attempt to its final outcome; each `Attempt`
//! lives until the callee's answer is back (or lost), even after the caller gave up on
//! it, because the callee cannot know and does the work anyway.

use super::*;

/// How a direct call ended: its attempts (1, or 0 if none was sent), its outcome, and the
/// work (service time, ns) behind a success.
#[derive(Clone, Copy)]
struct DirectEnd {
    attempts: u64,
    outcome: Outcome,
    work: u64,
}

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
                ch.observe(crate::check::Obs::BudgetRequest { proxy });
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
                        self.observe(crate::check::Obs::BulkheadEnter { proxy: p as u32, limit });
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
            self.observe(crate::check::Obs::Sent { instance: inst.0, cached, routable });
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
            self.observe(crate::check::Obs::Attempt { call: Self::key_id(call), n, max });
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
            let end = DirectEnd { attempts: 0, outcome: Outcome::Error(503), work: 0 };
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

    /// A direct call ended (`end`): counted at its policy point as `finish_call` counts a
    /// call, and its parent learns of it.
    #[inline(always)]
    fn direct_done(&mut self, parent: Parent, proxy: u32, endpoint: EndpointId, measured: bool, end: DirectEnd) {
        let DirectEnd { attempts, outcome, work } = end;
        self.recorder.count_call(proxy, measured, |s| {
            s.counts.add(outcome);
            s.attempts += attempts;
        });
        if outcome.is_ok() && self.proxies.caches_answers {
            let local = self.proxies.endpoint_local[endpoint.idx()] as usize;
            self.proxies.last_ok[proxy as usize][local] = self.now;
        }
        self.tell_parent(parent, outcome, work);
    }

    /// A call's parent learns its outcome (`work`: the service time behind a success).
    #[inline(always)]
    fn tell_parent(&mut self, parent: Parent, outcome: Outcome, work: u64) {
        match parent {
            Parent::Request(req) => self.finish_request(req, outcome, work),
            Parent::Job(job, index) => self.on_child_done(job, index, outcome, work),
            Parent::Deferred(key) => self.deferred_done(key, outcome, work),
            Parent::Mirror => unreachable!("a mirrored call's answer is dropped before its parent is told"),
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
    fn caller_node(&self, p: usize) -> usize {
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

    /// Sends the answer to `attempt` from an instance in `from` back to the caller.
    pub(super) fn respond(&mut self, attempt: Key, outcome: Outcome, from: ZoneId) {
        if self.traffic.is_some() {
            self.on_destination_answer(attempt, outcome);
        }
        let a = self.live.attempts.get(attempt).expect("an attempt being answered is live");
        if a.abandoned {
            let span = a.span;
            self.live.attempts.remove(attempt);
            self.recorder.late_responses += 1;
            if span != NO_SPAN {
                self.release_span(span);
            }
            return;
        }
        let to = a.caller_zone;
        if self.network.faulted() && self.network.nodes_cut(1 + a.service.idx(), self.caller_node(a.proxy as usize)) {
            return self.lose(attempt, from, to);
        }
        match self.transit(from, to) {
            Some((d, _)) if d.is_zero() => self.on_response(attempt, outcome),
            Some((d, constant)) => self.push_after(d, constant, Event::Respond(attempt, outcome)),
            None => self.lose(attempt, from, to),
        }
    }

    #[inline(always)]
    pub(super) fn on_response(&mut self, attempt: Key, outcome: Outcome) {
        let a = self.live.attempts.remove(attempt).expect("an attempt whose answer arrives is live");
        if self.security.is_some() {
            self.release_conn(attempt, matches!(outcome, Outcome::Ok | Outcome::Error(_)));
        }
        if a.abandoned {
            self.recorder.late_responses += 1;
        } else if let Owner::Direct(parent) = a.owner {
            self.account_attempt(&a, outcome);
            let work = if outcome.is_ok() { a.work } else { 0 };
            self.direct_done(parent, a.proxy, a.endpoint, a.measured, DirectEnd { attempts: 1, outcome, work });
        } else {
            self.attempt_done(attempt, &a, outcome);
        }
        if a.span != NO_SPAN {
            self.release_span(a.span);
        }
    }

    pub(super) fn on_attempt_timeout(&mut self, attempt: Key) {
        if let Some(a) = self.abandon_attempt(attempt) {
            let outcome = if a.lost && !a.hung { Outcome::Dropped } else { Outcome::Timeout };
            self.attempt_done(attempt, &a, outcome);
        }
    }

    /// The caller gives up on `attempt` (a timeout): the attempt stays until the callee's
    /// answer is back, unless its message was lost and no answer will come. Returns the
    /// attempt if it was still awaited; a stale or already abandoned one gives `None`.
    fn abandon_attempt(&mut self, attempt: Key) -> Option<Attempt> {
        let a = self.live.attempts.get_mut(attempt)?;
        if a.abandoned {
            return None;
        }
        a.abandoned = true;
        let a = *a;
        if self.security.is_some() {
            self.release_conn(attempt, false);
        }
        if a.lost {
            self.live.attempts.remove(attempt);
            if a.span != NO_SPAN {
                self.release_span(a.span);
            }
        }
        Some(a)
    }

    /// An attempt ended with `outcome` at the caller: account for it, then retry or
    /// finish the call.
    fn attempt_done(&mut self, key: Key, a: &Attempt, outcome: Outcome) {
        self.account_attempt(a, outcome);
        let call = match a.owner {
            Owner::Call(call) => call,
            Owner::Direct(parent) => {
                let work = if outcome.is_ok() { a.work } else { 0 };
                return self.direct_done(
                    parent,
                    a.proxy,
                    a.endpoint,
                    a.measured,
                    DirectEnd { attempts: 1, outcome, work },
                );
            }
        };
        let Some(c) = self.live.calls.get_mut(call) else {
            // The call already ended (its overall timeout fired).
            return;
        };
        c.inflight.remove(key);
        if outcome.is_ok() {
            c.work = a.work;
        }
        let policy = c.policy;
        if let Some(h) = &policy.hedging {
            return self.hedge_done(call, a, outcome, h.max_attempts, h.non_fatal);
        }
        let Some(r) = &policy.retry else {
            return self.finish_call(call, outcome);
        };
        let retryable = r.retry_on.matches(outcome);
        if let Some(b) = self.proxies.budgets[a.proxy as usize].as_mut() {
            // Budgets hear of successes and of the failures the policy would retry (gRPC
            // counts only those), and a retry's own result settles its charge.
            if outcome.is_ok() || retryable {
                if a.retry && c.retry_pending {
                    b.on_retry_done(self.now);
                    if let Some(ch) = self.checker.as_deref_mut() {
                        ch.observe(crate::check::Obs::RetryEnd { proxy: a.proxy });
                    }
                    b.on_retry_result(self.now, outcome.is_ok(), c.retry_charged_timeout);
                    if let Some(ch) = self.checker.as_deref_mut() {
                        let charged_timeout = Some(c.retry_charged_timeout);
                        let success = outcome.is_ok();
                        ch.observe(crate::check::Obs::BudgetResult {
                            proxy: a.proxy,
                            success,
                            first: false,
                            charged_timeout,
                        });
                    }
                } else {
                    b.on_attempt_result(self.now, outcome.is_ok(), !a.retry, false);
                    if let Some(ch) = self.checker.as_deref_mut() {
                        let (success, first) = (outcome.is_ok(), !a.retry);
                        ch.observe(crate::check::Obs::BudgetResult {
                            proxy: a.proxy,
                            success,
                            first,
                            charged_timeout: None,
                        });
                    }
                }
            } else if a.retry && c.retry_pending {
                b.on_retry_done(self.now);
                if let Some(ch) = self.checker.as_deref_mut() {
                    ch.observe(crate::check::Obs::RetryEnd { proxy: a.proxy });
                }
            }
            c.retry_pending = false;
        }
        if outcome.is_ok() || !retryable || c.attempts >= r.max_attempts {
            return self.finish_call(call, outcome);
        }
        let is_timeout = outcome == Outcome::Timeout;
        if let Some(b) = self.proxies.budgets[a.proxy as usize].as_mut() {
            let active: u32 = self.proxies.balancers[a.proxy as usize].outstanding().iter().sum();
            if !b.try_retry(self.now, active, is_timeout) {
                let (proxy, measured) = (c.proxy, c.measured);
                self.recorder.count_call(proxy, measured, |s| s.retries_denied += 1);
                return self.finish_call(call, outcome);
            }
            c.retry_pending = true;
            c.retry_charged_timeout = is_timeout;
            if let Some(ch) = self.checker.as_deref_mut() {
                let limit = self.proxies.guard_limits[a.proxy as usize].2;
                ch.observe(crate::check::Obs::RetryStart { proxy: a.proxy, limit, after_timeout: is_timeout });
            }
        }
        let retry_number = c.attempts;
        let backoff = c.backoff.get_or_insert_with(|| Backoff::new(&r.backoff));
        let delay = backoff.next_delay(retry_number, &mut self.proxies.proxy_rngs[a.proxy as usize]);
        if delay.is_zero() {
            self.send_attempt(call);
        } else {
            self.events.push(self.now + delay, Event::Retry(call));
        }
    }

    /// An attempt of a hedged call ended. The first success wins and the others are
    /// cancelled; a non-fatal failure sends the next hedge at once (if any is left) or
    /// waits for the others; a fatal one cancels them and ends the call (gRPC's rules).
    fn hedge_done(&mut self, call: Key, a: &Attempt, outcome: Outcome, max_attempts: u32, non_fatal: RetryOn) {
        let c = self.live.calls.get(call).expect("a hedged call whose attempt ended is live");
        if outcome.is_ok() || !non_fatal.matches(outcome) {
            let others = c.inflight;
            if outcome.is_ok() && a.retry {
                let (proxy, measured) = (c.proxy, c.measured);
                self.recorder.count_call(proxy, measured, |s| s.hedges_won += 1);
            }
            for &k in others.keys() {
                self.cancel_attempt(k);
            }
            return self.finish_call(call, outcome);
        }
        if c.attempts < max_attempts {
            return self.send_hedge(call);
        }
        if c.inflight.is_empty() {
            self.finish_call(call, outcome);
        }
    }

    /// The caller gives up on an attempt it no longer needs (a hedge that lost): its
    /// proxy forgets it at once; its callee, not told, works on.
    fn cancel_attempt(&mut self, k: Key) {
        if let Some(a) = self.abandon_attempt(k) {
            if a.span != NO_SPAN {
                self.end_attempt_span(a.span, None);
            }
            let p = a.proxy as usize;
            self.balancer_done(p, a.host as usize, self.now.since(a.sent));
            // Cancelled: no outcome for the breaker (Resilience4j's releasePermission).
            self.breaker_release(p, a.breaker);
            if a.permit {
                self.bulkhead_leave(p);
            }
        }
    }

    fn send_hedge(&mut self, call: Key) {
        let c = self.live.calls.get_mut(call).expect("a hedged call is live");
        c.hedges += 1;
        let (proxy, measured) = (c.proxy, c.measured);
        self.recorder.count_call(proxy, measured, |s| s.hedges += 1);
        self.send_attempt(call);
    }

    pub(super) fn on_hedge(&mut self, call: Key) {
        let Some(c) = self.live.calls.get(call) else { return };
        let h = c.policy.hedging.as_ref().expect("a hedge timer has a policy");
        if c.attempts >= h.max_attempts {
            return;
        }
        let delay = h.delay;
        self.send_hedge(call);
        if let Some(c) = self.live.calls.get(call)
            && c.attempts < c.policy.hedging.as_ref().map_or(0, |h| h.max_attempts)
        {
            self.push_after(delay, true, Event::Hedge(call));
        }
    }

    pub(super) fn on_retry(&mut self, call: Key) {
        // A stale key: the call's deadline passed during the backoff.
        if self.live.calls.get(call).is_some() {
            self.send_attempt(call);
        }
    }

    pub(super) fn on_call_timeout(&mut self, call: Key) {
        let Some(c) = self.live.calls.get(call) else {
            return;
        };
        if c.queued {
            // Still waiting for a bulkhead permit: give up the place and the breaker's leave.
            let (p, unit) = (c.proxy as usize, c.queued_unit);
            if let Some(bh) = self.proxies.bulkheads[p].as_mut() {
                bh.cancel(ticket(call));
            }
            self.breaker_release(p, unit);
            return self.finish_call(call, Outcome::Timeout);
        }
        // The attempts in flight are cancelled at the caller; the callees work on. A call
        // whose message was lost ends as dropped: that is why it timed out.
        let mut outcome = Outcome::Timeout;
        let inflight = c.inflight;
        for &attempt in inflight.keys() {
            if let Some(a) = self.abandon_attempt(attempt) {
                let dropped = a.lost && !a.hung;
                let ended = if dropped { Outcome::Dropped } else { Outcome::Timeout };
                if dropped {
                    outcome = Outcome::Dropped;
                }
                self.account_attempt(&a, ended);
            }
        }
        self.finish_call(call, outcome);
    }

    /// The proxy's side of an attempt that ended with `outcome` at the caller: the
    /// balancer, the per-attempt statistics, the breaker, outlier detection, the bulkhead.
    #[inline(always)]
    fn account_attempt(&mut self, a: &Attempt, outcome: Outcome) {
        if a.span != NO_SPAN {
            self.end_attempt_span(a.span, Some(outcome));
        }
        let p = a.proxy as usize;
        let rtt = self.now.since(a.sent);
        self.balancer_done(p, a.host as usize, rtt);
        self.recorder.services[a.service.idx()].record(rtt, outcome, a.measured);
        // Checked here, so that an unguarded proxy makes no call at all.
        if a.breaker != u32::MAX {
            self.breaker_result(p, a.breaker, rtt, outcome);
        }
        if self.proxies.outliers[p].is_some() {
            self.outlier_result(p, a.host as usize, outcome);
        }
        if a.permit {
            self.bulkhead_leave(p);
        }
    }

    /// The call ends with `outcome`: its parent learns of it.
    fn finish_call(&mut self, call: Key, outcome: Outcome) {
        let c = self.live.calls.remove(call).expect("a finishing call is live");
        if self.checker.is_some() {
            self.observe(crate::check::Obs::CallEnded(Self::key_id(call)));
        }
        if let Parent::Mirror = c.parent {
            // A mirrored copy's answer is dropped.
            return;
        }
        if c.retry_pending {
            // The call ended (its deadline) with an allowed retry still out: Envoy counts a
            // retry until the request ends.
            if let Some(b) = self.proxies.budgets[c.proxy as usize].as_mut() {
                b.on_retry_done(self.now);
                if let Some(ch) = self.checker.as_deref_mut() {
                    ch.observe(crate::check::Obs::RetryEnd { proxy: c.proxy });
                }
            }
        }
        let attempts = u64::from(c.attempts);
        self.recorder.count_call(c.proxy, c.measured, |s| {
            s.counts.add(outcome);
            s.attempts += attempts;
            s.retries += attempts.saturating_sub(1);
        });
        let local = self.proxies.endpoint_local[c.endpoint.idx()] as usize;
        let mut outcome = outcome;
        if outcome.is_ok() {
            if self.proxies.caches_answers {
                self.proxies.last_ok[c.proxy as usize][local] = self.now;
            }
        } else if !c.is_fallback
            && let Some(fb) = &c.policy.fallback
        {
            let used = match fb {
                Fallback::DefaultValue => {
                    outcome = Outcome::Ok;
                    true
                }
                Fallback::Cache { ttl } => {
                    let at = self.proxies.last_ok[c.proxy as usize][local];
                    let fresh = at != SimTime::MAX && self.now.since(at) <= *ttl;
                    if fresh {
                        outcome = Outcome::Ok;
                    }
                    fresh
                }
                Fallback::Service { endpoint, .. } => {
                    self.recorder.count_call(c.proxy, c.measured, |s| s.fallbacks += 1);
                    return self.start_fallback(&c, *endpoint);
                }
                Fallback::Queue { delay, max_redeliveries } => {
                    self.recorder.count_call(c.proxy, c.measured, |s| s.deferred += 1);
                    self.defer(&c, *delay, *max_redeliveries);
                    outcome = Outcome::Ok;
                    true
                }
            };
            if used {
                self.recorder.count_call(c.proxy, c.measured, |s| s.fallbacks += 1);
            }
        }
        self.tell_parent(c.parent, outcome, c.work);
    }

    /// Queues a failed call to be made again after `delay` (queue-for-later).
    fn defer(&mut self, failed: &Call, delay: SimDuration, tries: u32) {
        let key = self.live.deferred.insert(Deferred {
            caller: failed.caller,
            site: self.proxies.proxy_site[failed.proxy as usize].0,
            zone: failed.caller_zone,
            endpoint: failed.endpoint,
            client: failed.client,
            measured: failed.measured,
            proxy: failed.proxy,
            delay,
            left: tries,
        });
        self.events.push(self.now + delay, Event::Redeliver(key));
    }

    /// A queued call's turn: it is made again, with its policy but no fallback.
    pub(super) fn redeliver(&mut self, key: Key) {
        let d = self.live.deferred.get_mut(key).expect("a queued call is live until it ends");
        d.left -= 1;
        let from = CallSite {
            parent: Parent::Deferred(key),
            caller: d.caller,
            site: d.site,
            zone: d.zone,
            endpoint: d.endpoint,
            client: d.client,
            measured: d.measured,
            is_fallback: true,
        };
        self.start_call(from);
    }

    /// A background try of a queued call ended: done, or queued again while tries are left.
    /// The work behind a success is goodput: the request was answered (pending) and its
    /// call is now done.
    fn deferred_done(&mut self, key: Key, outcome: Outcome, work: u64) {
        let d = self.live.deferred.get(key).expect("a queued call is live until it ends");
        let (proxy, measured) = (d.proxy, d.measured);
        if outcome.is_ok() {
            self.live.deferred.remove(key);
            self.recorder.count_call(proxy, measured, |s| s.deferred_ok += 1);
            self.recorder.window_goodput_ns += u128::from(work);
            if measured {
                self.recorder.goodput_ns += u128::from(work);
            }
        } else if d.left > 0 {
            self.events.push(self.now + d.delay, Event::Redeliver(key));
        } else {
            self.live.deferred.remove(key);
            self.recorder.count_call(proxy, measured, |s| s.deferred_failed += 1);
        }
    }

    /// Calls the fallback endpoint for a failed call; its outcome goes to the same parent.
    fn start_fallback(&mut self, failed: &Call, endpoint: EndpointId) {
        self.start_call(CallSite {
            parent: failed.parent,
            caller: failed.caller,
            site: self.proxies.proxy_site[failed.proxy as usize].0,
            zone: failed.caller_zone,
            endpoint,
            client: failed.client,
            measured: failed.measured,
            is_fallback: true,
        });
    }

    /// The request ends with `outcome`; `work` is the service time behind a successful answer.
    pub(super) fn finish_request(&mut self, req: Key, outcome: Outcome, work: u64) {
        let r = self.live.requests.remove(req).expect("a request with a call in flight is live");
        if self.checker.is_some() {
            self.observe(crate::check::Obs::RequestEnded(Self::key_id(req)));
        }
        if r.span != NO_SPAN {
            self.end_request_span(r.span, outcome);
        }
        if outcome.is_ok() {
            let work = u128::from(work);
            self.recorder.window_goodput_ns += work;
            if r.measured {
                self.recorder.goodput_ns += work;
            }
        }
        let latency = self.now.since(r.arrived);
        self.recorder.routes[r.route.idx()].record(latency, outcome, r.measured);
        self.recorder.total.record_aggregate(latency, outcome, r.measured);
        if let (Some(u), Load::Closed { think_time, .. }) = (r.user, &self.sc.workload.load) {
            let t = self.now + think_time.sample(&mut self.workload.think_rng);
            self.events.push(t, Event::UserWake(u));
        }
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
