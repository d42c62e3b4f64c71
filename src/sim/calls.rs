//! Calls between a caller's proxy and an instance: balancing, timeouts, the network,
//! responses, and what a finished call tells its parent.

use super::*;

impl Sim<'_, '_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_call(
        &mut self,
        parent: Parent,
        caller: Caller,
        site: usize,
        caller_zone: ZoneId,
        endpoint: EndpointId,
        client: u64,
        measured: bool,
    ) {
        let sc = self.sc;
        let service = sc.endpoints[endpoint.idx()].service;
        let proxy = self.proxy_of[site * sc.services.len() + service.idx()];
        debug_assert_ne!(proxy, u32::MAX, "every calling site has a proxy for its destinations");
        let p = proxy as usize;
        let host = self.balancers[p].pick(self.now, client, &mut self.proxy_rngs[p]);
        self.balancers[p].on_send(host);
        let instance = sc.services[service.idx()].instances[host];
        let timeout = sc.policies.call(caller, endpoint).timeout;
        let call = self.calls.insert(CallState {
            parent,
            caller_zone,
            proxy,
            host: host as u32,
            instance,
            service,
            endpoint,
            sent: self.now,
            client,
            has_timeout: timeout.is_some(),
            lost: false,
            abandoned: false,
            measured,
        });
        if let Some(t) = timeout {
            self.push_after(t, true, Event::Timeout(call));
        }
        let to_zone = sc.instances[instance.idx()].zone;
        match self.transit(caller_zone, to_zone) {
            Some((d, _)) if d.is_zero() => self.deliver(call),
            Some((d, constant)) => self.push_after(d, constant, Event::Deliver(call)),
            None => self.lose(call, caller_zone, to_zone),
        }
    }

    /// A message's fate on the link between two zones: its delay and whether that delay
    /// is constant, or `None` if the message is lost.
    #[inline]
    pub(super) fn transit(&mut self, from: ZoneId, to: ZoneId) -> Option<(SimDuration, bool)> {
        let id = self.sc.network.link(from, to);
        let link = &self.sc.network.links[id.idx()];
        let rng = &mut self.link_rngs[id.idx()];
        if link.loss > 0.0 && rng.random::<f64>() < link.loss {
            return None;
        }
        match link.latency {
            Dist::Constant(d) => Some((d, true)),
            ref dist => Some((dist.sample(rng), false)),
        }
    }

    /// A message of `call` was lost. The caller learns at its timeout if it has one;
    /// otherwise, as with a reset connection, when the message would have arrived.
    pub(super) fn lose(&mut self, call: Key, from: ZoneId, to: ZoneId) {
        let c = self.calls.get_mut(call).expect("a call in transit is live");
        c.lost = true;
        if c.abandoned {
            // Nobody waits for this answer any more.
            self.calls.remove(call);
        } else if !c.has_timeout {
            let id = self.sc.network.link(from, to);
            let d = self.sc.network.links[id.idx()].latency.sample(&mut self.link_rngs[id.idx()]);
            self.events.push(self.now + d, Event::Respond(call, Outcome::Dropped));
        }
    }

    /// The request of `call` reaches its instance.
    pub(super) fn deliver(&mut self, call: Key) {
        let now = self.now;
        // Call state lives until the callee's answer is back, even if the caller gave up
        // while the request was on the wire: the callee cannot know, and does the work.
        let c = self.calls.get(call).expect("a delivered call is live");
        let (instance, endpoint, client, measured) = (c.instance, c.endpoint, c.client, c.measured);
        self.accept(call, instance, endpoint, client, measured, now);
    }

    /// Sends the response of `call` from an instance in `from` back to the caller.
    pub(super) fn respond(&mut self, call: Key, outcome: Outcome, from: ZoneId) {
        let c = self.calls.get(call).expect("a call being answered is live");
        if c.abandoned {
            self.calls.remove(call);
            self.late_responses += 1;
            return;
        }
        let to = c.caller_zone;
        match self.transit(from, to) {
            Some((d, _)) if d.is_zero() => self.on_response(call, outcome),
            Some((d, constant)) => self.push_after(d, constant, Event::Respond(call, outcome)),
            None => self.lose(call, from, to),
        }
    }

    pub(super) fn on_response(&mut self, call: Key, outcome: Outcome) {
        let c = self.calls.remove(call).expect("a call whose answer arrives is live");
        if c.abandoned {
            self.late_responses += 1;
        } else {
            self.complete_call(c, outcome);
        }
    }

    pub(super) fn on_timeout(&mut self, call: Key) {
        // A stale key means the call already ended; an abandoned one cannot time out twice.
        let Some(c) = self.calls.get_mut(call) else {
            return;
        };
        if c.abandoned {
            return;
        }
        c.abandoned = true;
        let c = *c;
        let outcome = if c.lost {
            // No answer will ever come: forget the call now.
            self.calls.remove(call);
            Outcome::Dropped
        } else {
            Outcome::Timeout
        };
        self.complete_call(c, outcome);
    }

    pub(super) fn complete_call(&mut self, c: CallState, outcome: Outcome) {
        let rtt = self.now.since(c.sent);
        self.balancers[c.proxy as usize].on_complete(c.host as usize, self.now, rtt);
        self.services[c.service.idx()].record(rtt, outcome, c.measured);
        match c.parent {
            Parent::Request(req) => self.finish_request(req, outcome),
            Parent::Job(job, index) => self.on_child_done(job, index, outcome),
        }
    }

    pub(super) fn finish_request(&mut self, req: Key, outcome: Outcome) {
        let r = self.requests.remove(req).expect("a request with a call in flight is live");
        let latency = self.now.since(r.arrived);
        self.routes[r.route.idx()].record(latency, outcome, r.measured);
        self.total.record_aggregate(latency, outcome, r.measured);
        if let (Some(u), Load::Closed { think_time, .. }) = (r.user, &self.sc.workload.load) {
            let t = self.now + think_time.sample(&mut self.think_rng);
            self.events.push(t, Event::UserWake(u));
        }
    }
}
