//! The proxy's circuit breakers: asking permission, reporting outcomes, waking up for
//! time-driven transitions, and writing every transition to `transitions.csv`.

use super::calls::from_ticket;
use super::*;
use crate::resilience::breaker::BreakerState;

impl Sim<'_, '_> {
    /// The breaker unit guarding a call from proxy `p` to `endpoint` on `host`, if any.
    pub(super) fn breaker_unit(&self, p: usize, endpoint: EndpointId, host: usize) -> Option<u32> {
        let b = self.proxies.breakers[p].as_ref()?;
        Some(match b.scope {
            BreakerScope::Service => 0,
            BreakerScope::Endpoint => self.proxies.endpoint_local[endpoint.idx()],
            BreakerScope::Instance => host as u32,
        })
    }

    /// Asks the breaker unit for permission to send an attempt now.
    pub(super) fn breaker_permits(&mut self, p: usize, unit: u32) -> bool {
        let now = self.now;
        let b = self.proxies.breakers[p].as_mut().expect("a unit belongs to a proxy with breakers");
        let permitted = b.units[unit as usize].try_acquire(now).is_ok();
        self.after_breaker(p, unit);
        if permitted && self.checker.is_some() {
            self.observe(crate::checker::Obs::BreakerAdmit { proxy: p as u32, unit });
        }
        permitted
    }

    /// Reports an attempt's end to the unit that permitted it.
    #[inline(always)]
    pub(super) fn breaker_result(&mut self, p: usize, unit: u32, rtt: SimDuration, outcome: Outcome) {
        // Only the test inlined: a proxy without breakers pays one comparison.
        if unit != u32::MAX {
            self.breaker_unit_result(p, unit, rtt, outcome);
        }
    }

    #[inline(never)]
    fn breaker_unit_result(&mut self, p: usize, unit: u32, rtt: SimDuration, outcome: Outcome) {
        let now = self.now;
        let b = self.proxies.breakers[p].as_mut().expect("a unit belongs to a proxy with breakers");
        let failure = b.failure_on.is_failure(outcome);
        b.units[unit as usize].on_result(now, rtt, failure);
        self.after_breaker(p, unit);
    }

    /// Gives back a breaker permission that was never used (the bulkhead refused the call,
    /// or its wait ended); `u32::MAX` is no unit.
    pub(super) fn breaker_release(&mut self, p: usize, unit: u32) {
        if unit == u32::MAX {
            return;
        }
        let now = self.now;
        if self.checker.is_some() {
            self.observe(crate::checker::Obs::BreakerRelease { proxy: p as u32, unit });
        }
        let b = self.proxies.breakers[p].as_mut().expect("a unit belongs to a proxy with breakers");
        b.units[unit as usize].release(now);
        self.after_breaker(p, unit);
    }

    /// An attempt gives back its bulkhead permit; a waiting call may take it.
    pub(super) fn bulkhead_leave(&mut self, p: usize) {
        let now = self.now;
        if self.checker.is_some() {
            self.observe(crate::checker::Obs::BulkheadLeave { proxy: p as u32 });
        }
        let bh = self.proxies.bulkheads[p].as_mut().expect("a permit belongs to a proxy with a bulkhead");
        if let Some(t) = bh.leave(now) {
            let call = from_ticket(t);
            if self.checker.is_some() {
                let limit = self.proxies.guard_limits[p].1;
                self.observe(crate::checker::Obs::BulkheadEnter { proxy: p as u32, limit });
            }
            match self.live.calls.get_mut(call) {
                Some(c) if c.queued => {
                    c.queued = false;
                    let unit = c.queued_unit;
                    self.dispatch_attempt(call, unit, true);
                }
                // Waiters are cancelled when their call ends, so this is a bug.
                _ => unreachable!("a bulkhead admitted a call that is not waiting"),
            }
        }
        self.arm_bulkhead(p);
    }

    /// Schedules the bulkhead's next wait expiry, if it is earlier than the one scheduled.
    pub(super) fn arm_bulkhead(&mut self, p: usize) {
        let Some(at) = self.proxies.bulkheads[p].as_ref().and_then(|b| b.next_expiry()) else { return };
        if at < self.proxies.bulkhead_wake[p] {
            self.proxies.bulkhead_wake[p] = at;
            self.events.push(at.max(self.now), Event::BulkheadExpire(p as u32));
        }
    }

    pub(super) fn on_bulkhead_expire(&mut self, p: u32) {
        let p = p as usize;
        if self.proxies.bulkhead_wake[p] == self.now {
            self.proxies.bulkhead_wake[p] = SimTime::MAX;
        }
        let expired = self.proxies.bulkheads[p].as_mut().map(|b| b.expire(self.now)).unwrap_or_default();
        for t in expired {
            let call = from_ticket(t);
            let c = self.live.calls.get_mut(call).expect("a waiting call is live");
            c.queued = false;
            let unit = c.queued_unit;
            self.breaker_release(p, unit);
            self.refuse(call, Outcome::Overloaded);
        }
        self.arm_bulkhead(p);
    }

    /// Whether outlier detection at proxy `p` keeps `host` out of balancing now: ejected,
    /// and not in panic mode (too few healthy hosts, when Envoy balances over all).
    pub(super) fn host_ejected(&self, p: usize, host: usize) -> bool {
        let Some((d, panic)) = &self.proxies.outliers[p] else { return false };
        if !d.is_ejected(host) {
            return false;
        }
        let total = d.host_count();
        !crate::resilience::outlier::panic_mode(total - d.ejected_count(), total, *panic)
    }

    /// Reports an attempt's result on `host` to the proxy's outlier detector. Failures the
    /// proxy made itself (its breaker or bulkhead refused) are not the host's.
    #[inline(always)]
    pub(super) fn outlier_result(&mut self, p: usize, host: usize, outcome: Outcome) {
        // Only the test inlined: a proxy without outlier detection pays one comparison.
        if self.proxies.outliers[p].is_some() {
            self.outlier_host_result(p, host, outcome);
        }
    }

    #[inline(never)]
    fn outlier_host_result(&mut self, p: usize, host: usize, outcome: Outcome) {
        let host_outcome = match outcome {
            Outcome::Ok => HostOutcome::Status(200),
            Outcome::Error(s) => HostOutcome::Status(s),
            Outcome::Rejected => HostOutcome::Status(503),
            Outcome::Timeout => HostOutcome::Timeout,
            Outcome::Dropped => HostOutcome::Reset,
            Outcome::ShortCircuited | Outcome::Overloaded => return,
        };
        let now = self.now;
        let Some((d, _)) = self.proxies.outliers[p].as_mut() else { return };
        d.on_result(now, host, host_outcome, &mut self.proxies.proxy_rngs[p]);
        self.after_outlier(p);
    }

    pub(super) fn on_outlier_sweep(&mut self, p: u32) {
        let p = p as usize;
        let now = self.now;
        let (d, _) = self.proxies.outliers[p].as_mut().expect("a sweep belongs to a proxy with outlier detection");
        d.on_interval(now, &mut self.proxies.proxy_rngs[p]);
        let next = d.next_interval();
        self.after_outlier(p);
        // Sweeps go on while there is work; a run with nothing left in flight stops them.
        if self.arrivals_open || !self.live.requests.is_empty() {
            self.events.push(next, Event::OutlierSweep(p as u32));
        }
    }

    /// Writes ejections and returns to `transitions.csv`.
    #[inline]
    fn after_outlier(&mut self, p: usize) {
        if self.proxies.outliers[p].as_ref().is_some_and(|(d, _)| d.has_events()) {
            self.write_outlier_events(p);
        }
    }

    #[cold]
    #[inline(never)]
    fn write_outlier_events(&mut self, p: usize) {
        let (site, dest) = self.proxies.proxy_site[p];
        let sc = self.sc;
        let Some((d, _)) = self.proxies.outliers[p].as_mut() else { return };
        let mut ejections = 0;
        for e in d.drain_events() {
            ejections += u64::from(e.ejected);
            if let Some(w) = self.recorder.transitions.as_mut() {
                let caller = site_name(sc, site as usize);
                let svc = &sc.services[dest.idx()];
                let (from, to) = if e.ejected { ("HEALTHY", "EJECTED") } else { ("EJECTED", "HEALTHY") };
                let row = [
                    format!("{:.6}", e.at.as_secs_f64()),
                    caller.to_string(),
                    svc.name.clone(),
                    "instance".to_string(),
                    sc.instances[svc.instances[e.host].idx()].name.clone(),
                    from.to_string(),
                    to.to_string(),
                    if e.ejected {
                        format!("{} for {}", e.cause, e.ejection_time)
                    } else {
                        format!("{} ended", e.cause)
                    },
                ];
                if let Err(err) = w.write_record(&row) {
                    self.recorder.deferred_error.get_or_insert(err);
                }
            }
        }
        if ejections > 0 {
            // Whole run, warm-up included: ejections are state, not a measured rate.
            self.recorder.count_call(p as u32, true, |s| s.ejections += ejections);
            self.note_detection();
        }
    }

    pub(super) fn on_breaker_wake(&mut self, p: u32, unit: u32) {
        let now = self.now;
        let b = self.proxies.breakers[p as usize].as_mut().expect("a woken unit belongs to a proxy with breakers");
        if b.wake[unit as usize] == now {
            b.wake[unit as usize] = SimTime::MAX;
        }
        b.units[unit as usize].advance(now);
        self.after_breaker(p as usize, unit);
    }

    /// Writes the unit's new transitions and schedules its next time-driven one.
    #[inline(always)]
    fn after_breaker(&mut self, p: usize, unit: u32) {
        let b = self.proxies.breakers[p].as_ref().expect("a unit belongs to a proxy with breakers");
        // Most calls change nothing: no transition to write, no wake-up to schedule (a
        // CLOSED Resilience4j breaker has no timer). Only this test is inlined.
        let u = &b.units[unit as usize];
        if u.has_transitions() || u.next_wakeup().is_some() {
            self.breaker_changed(p, unit);
        }
    }

    #[inline(never)]
    fn breaker_changed(&mut self, p: usize, unit: u32) {
        if self.proxies.breakers[p].as_ref().is_some_and(|b| b.units[unit as usize].has_transitions()) {
            self.write_breaker_transitions(p, unit);
        }
        let b = self.proxies.breakers[p].as_mut().expect("a unit belongs to a proxy with breakers");
        if let Some(at) = b.units[unit as usize].next_wakeup()
            && at < b.wake[unit as usize]
            && at >= self.now
        {
            b.wake[unit as usize] = at;
            self.events.push(at, Event::BreakerWake(p as u32, unit));
        }
    }

    /// Writes the unit's new transitions to `transitions.csv` and counts its openings.
    #[cold]
    #[inline(never)]
    fn write_breaker_transitions(&mut self, p: usize, unit: u32) {
        let b = self.proxies.breakers[p].as_mut().expect("a unit belongs to a proxy with breakers");
        let breaker = &mut b.units[unit as usize];
        let (site, dest) = self.proxies.proxy_site[p];
        let mut opens = 0;
        let permits = self.proxies.guard_limits.get(p).map_or(u32::MAX, |l| l.0);
        for t in breaker.drain_transitions() {
            if t.to == BreakerState::Open {
                opens += 1;
            }
            if let Some(c) = self.checker.as_deref_mut() {
                c.observe(crate::checker::Obs::BreakerState { proxy: p as u32, unit, to: t.to, permits });
            }
            if let Some(w) = self.recorder.transitions.as_mut() {
                let sc = self.sc;
                let caller = site_name(sc, site as usize);
                let svc = &sc.services[dest.idx()];
                let (scope, name) = match b.scope {
                    BreakerScope::Service => ("service", svc.name.as_str()),
                    BreakerScope::Endpoint => {
                        ("endpoint", sc.endpoints[svc.endpoints[unit as usize].idx()].name.as_str())
                    }
                    BreakerScope::Instance => {
                        ("instance", sc.instances[svc.instances[unit as usize].idx()].name.as_str())
                    }
                };
                let row = [
                    format!("{:.6}", t.at.as_secs_f64()),
                    caller.to_string(),
                    svc.name.clone(),
                    scope.to_string(),
                    name.to_string(),
                    t.from.to_string(),
                    t.to.to_string(),
                    t.cause.to_string(),
                ];
                if let Err(e) = w.write_record(&row) {
                    // Reported when the run ends; the run itself goes on.
                    self.recorder.deferred_error.get_or_insert(e);
                }
            }
        }
        if opens > 0 {
            self.recorder.count_call(p as u32, true, |s| s.breaker_opens += opens);
            self.note_detection();
        }
    }
}
