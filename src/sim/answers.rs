//! Answers on their way back: the callee's answer crosses the network to the caller's
//! proxy, which accounts for the attempt (balancer, breaker, outlier detection, budget),
//! then retries, hedges, falls back, queues the call for later, or finishes it; a
//! finished call tells its parent (the request, the job that made it, or a queued call),
//! and a finished request is counted by the recorder. Timeouts (per try and per call)
//! end attempts and calls here too.
//!
//! A `Call` lives from the caller's first attempt to its final outcome; each `Attempt`
//! lives until the callee's answer is back (or lost), even after the caller gave up on
//! it, because the callee cannot know and does the work anyway.

use super::*;

/// How a direct call ended: its attempts (1, or 0 if none was sent), its outcome, and the
/// work (service time, ns) behind a success.
#[derive(Clone, Copy)]
pub(super) struct DirectEnd {
    pub(super) attempts: u64,
    pub(super) outcome: Outcome,
    pub(super) work: u64,
}

impl<'s> Sim<'s, '_> {
    /// A direct call ended (`end`): counted at its policy point as `finish_call` counts a
    /// call, and its parent learns of it.
    #[inline(always)]
    pub(super) fn direct_done(
        &mut self,
        parent: Parent,
        proxy: u32,
        endpoint: EndpointId,
        measured: bool,
        end: DirectEnd,
    ) {
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
    // Over 80 lines: the hot path of every answer (account, then retry, hedge, fall back
    // or finish), kept in one body so it reads in the order it runs.
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
                        ch.observe(crate::checker::Obs::RetryEnd { proxy: a.proxy });
                    }
                    b.on_retry_result(self.now, outcome.is_ok(), c.retry_charged_timeout);
                    if let Some(ch) = self.checker.as_deref_mut() {
                        let charged_timeout = Some(c.retry_charged_timeout);
                        let success = outcome.is_ok();
                        ch.observe(crate::checker::Obs::BudgetResult {
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
                        ch.observe(crate::checker::Obs::BudgetResult {
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
                    ch.observe(crate::checker::Obs::RetryEnd { proxy: a.proxy });
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
                ch.observe(crate::checker::Obs::RetryStart { proxy: a.proxy, limit, after_timeout: is_timeout });
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
                bh.cancel(calls::ticket(call));
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
    pub(super) fn finish_call(&mut self, call: Key, outcome: Outcome) {
        let c = self.live.calls.remove(call).expect("a finishing call is live");
        if self.checker.is_some() {
            self.observe(crate::checker::Obs::CallEnded(Self::key_id(call)));
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
                    ch.observe(crate::checker::Obs::RetryEnd { proxy: c.proxy });
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
            call: CallSite {
                parent: Parent::Deferred(Key::NONE),
                caller: failed.caller,
                site: self.proxies.proxy_site[failed.proxy as usize].0,
                zone: failed.caller_zone,
                endpoint: failed.endpoint,
                client: failed.client,
                measured: failed.measured,
                is_fallback: true,
            },
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
        let from = CallSite { parent: Parent::Deferred(key), ..d.call };
        self.start_call(from);
    }

    /// A background try of a queued call ended: done, or queued again while tries are left.
    /// The work behind a success is goodput: the request was answered (pending) and its
    /// call is now done.
    fn deferred_done(&mut self, key: Key, outcome: Outcome, work: u64) {
        let d = self.live.deferred.get(key).expect("a queued call is live until it ends");
        let (proxy, measured) = (d.proxy, d.call.measured);
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
            self.observe(crate::checker::Obs::RequestEnded(Self::key_id(req)));
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
