//! The loop itself: pop the earliest event, check the limits, dispatch it.

use super::*;

impl Sim<'_, '_> {
    pub(super) fn run_loop(&mut self, progress: &mut Option<&mut dyn FnMut(Progress)>) -> Result<Stop, RunError> {
        self.start_load();
        self.schedule_faults();
        if self.discovery.lifecycle_on {
            self.start_lifecycle();
        }
        if self.sc.services.iter().any(|s| s.autoscaler.is_some()) {
            self.start_autoscalers();
        }
        if self.security.is_some() {
            self.start_security();
        }
        for (i, c) in self.sc.config_changes.iter().enumerate() {
            self.events.push(c.at, Event::ConfigPush(i as u32));
        }
        for p in 0..self.proxies.outliers.len() {
            if let Some((d, _)) = &self.proxies.outliers[p] {
                self.events.push(d.next_interval(), Event::OutlierSweep(p as u32));
            }
        }
        if self.warmup > SimTime::ZERO {
            self.events.push(self.warmup, Event::WarmupEnd);
        }
        self.start_rollouts();
        let limits = &self.sc.run;
        // While arrivals are open (so no drain deadline runs), an event before the end of
        // arrivals and of the window needs no check but its order: one comparison tells.
        let mut check_at = self.stop_at.min(self.recorder.window_end);
        while let Some((t, ev)) = self.events.pop() {
            if self.arrivals_open && t < check_at {
                self.check_order(t, ev);
            } else {
                if let Some(stop) = self.checks(t, ev)? {
                    return Ok(stop);
                }
                check_at = self.stop_at.min(self.recorder.window_end);
            }
            if self.events_done >= limits.events_max {
                let message = format!(
                    "stopped after {} events (run.eventsMax) at simulated time {t}; \
                     raise the limit or shorten the run",
                    limits.events_max
                );
                return Ok(Stop::Limit { kind: LimitKind::EventsMax, message });
            }
            self.now = t;
            self.events_done += 1;
            self.dispatch(ev);
            if self.live.requests.len() as u64 > limits.in_flight_max {
                let message = format!(
                    "more than {} requests in flight (run.inFlightMax) at simulated time {t}: \
                     the offered load exceeds what the mesh can serve",
                    limits.in_flight_max
                );
                return Ok(Stop::Limit { kind: LimitKind::InFlightMax, message });
            }
            if self.events_done & 0xFFFF == 0
                && let Some(p) = progress.as_mut()
            {
                p(Progress { now: t, events: self.events_done, requests: self.issued });
            }
        }
        Ok(Stop::Completed)
    }

    /// Time never goes back: asserted, or, with the invariant checker on, recorded as a
    /// violation.
    #[inline(always)]
    fn check_order(&mut self, t: SimTime, ev: Event) {
        if self.checker.is_some() {
            self.observe(crate::checker::Obs::Event(t));
        } else {
            assert!(t >= self.now, "event scheduled in the past: {t} < {}: {ev:?}", self.now);
        }
    }

    /// The checks before an event at `t` that may end arrivals, the run or a window, in
    /// order; `Some` ends the run.
    #[inline(never)]
    fn checks(&mut self, t: SimTime, ev: Event) -> Result<Option<Stop>, RunError> {
        if self.arrivals_open && t >= self.stop_at {
            // The duration is over even if no arrival or user is due before the next
            // event (users may be thinking for an hour): nothing new may start.
            self.close_arrivals(self.stop_at);
        }
        if !self.arrivals_open
            && self.live.requests.is_empty()
            && self.live.calls.is_empty()
            && self.live.attempts.is_empty()
            && self.live.jobs.is_empty()
            && self.live.deferred.is_empty()
            && self.live.held.is_empty()
        {
            // Only stale timers and idle users are left.
            return Ok(Some(Stop::Completed));
        }
        if t > self.drain_deadline {
            if self.live.requests.is_empty() {
                // Every request is answered; what remains is work nobody waits for.
                return Ok(Some(Stop::Completed));
            }
            let message = format!(
                "{} requests were still in flight {} after arrivals stopped (run.drainTimeout); \
                 the mesh may be overloaded, or raise the drain timeout",
                self.live.requests.len(),
                self.sc.run.drain_timeout
            );
            return Ok(Some(Stop::Limit { kind: LimitKind::DrainTimeout, message }));
        }
        self.check_order(t, ev);
        if t >= self.recorder.window_end {
            // A long idle gap means many empty windows; bound them like events.
            let pending = (t.0 - self.recorder.window_end.0) / self.sc.metrics_interval.as_nanos() + 1;
            if self.windows_done.saturating_add(pending) > self.sc.run.events_max {
                let message = format!(
                    "the time series would need more than {} windows (run.eventsMax) to reach simulated \
                     time {t}; raise metrics.interval",
                    self.sc.run.events_max
                );
                return Ok(Some(Stop::Limit { kind: LimitKind::EventsMax, message }));
            }
            self.flush_windows(t)?;
        }
        Ok(None)
    }

    /// Schedules `ev` after `d`. A delay that is the same every time (`constant`) goes to
    /// a lane of the queue, which keeps such events in order without a heap.
    #[inline(always)]
    pub(super) fn push_after(&mut self, d: SimDuration, constant: bool, ev: Event) {
        let at = self.now + d;
        if constant && let Some(lane) = self.lane_for(d) {
            return self.events.push_lane(lane, at, ev);
        }
        self.events.push(at, ev);
    }

    #[inline]
    pub(super) fn lane_for(&mut self, d: SimDuration) -> Option<Lane> {
        /// `pop` scans every lane, so keep them few.
        const LANES_MAX: usize = 8;
        if let Some(&(_, lane)) = self.const_lanes.iter().find(|&&(x, _)| x == d) {
            return Some(lane);
        }
        if self.const_lanes.len() == LANES_MAX {
            return None;
        }
        let lane = self.events.add_lane();
        self.const_lanes.push((d, lane));
        Some(lane)
    }

    #[inline]
    pub(super) fn dispatch(&mut self, ev: Event) {
        match ev {
            Event::Arrival => self.on_arrival(),
            Event::UserWake(u) => self.on_user_wake(u),
            Event::Deliver(attempt) => self.deliver(attempt),
            Event::ComputeDone(job) => self.on_compute_done(job),
            Event::Respond(attempt, outcome) => self.on_response(attempt, outcome),
            Event::AttemptTimeout(attempt) => self.on_attempt_timeout(attempt),
            Event::CallTimeout(call) => self.on_call_timeout(call),
            Event::Retry(call) => self.on_retry(call),
            Event::Hedge(call) => self.on_hedge(call),
            Event::Redeliver(key) => self.redeliver(key),
            Event::ReleaseCall(key) => self.release_call(key),
            Event::BreakerWake(proxy, unit) => self.on_breaker_wake(proxy, unit),
            Event::BulkheadExpire(proxy) => self.on_bulkhead_expire(proxy),
            Event::OutlierSweep(proxy) => self.on_outlier_sweep(proxy),
            Event::Admit(req) => self.admit(req),
            Event::Deny(req) => self.finish_request(req, Outcome::Error(429), 0),
            Event::ServerDeny(attempt) => self.server_deny(attempt),
            Event::WarmupEnd => {
                for st in &mut self.stations.instances {
                    st.stats.mark_warmup(self.now);
                }
            }
            Event::FaultStart(i) => self.on_fault(i, true),
            Event::FaultEnd(i) => self.on_fault(i, false),
            Event::LoadArrival(i, occurrence) => self.on_load_arrival(i, occurrence),
            Event::Lifecycle(i) => self.on_lifecycle(i),
            Event::StartupDone(inst, epoch) => self.on_startup_done(inst, epoch),
            Event::Heartbeat(inst, epoch) => self.on_heartbeat(inst, epoch),
            Event::RegistryExpire => self.on_registry_expire(),
            Event::Refresh(v) => self.refresh_view(v),
            Event::RefreshDone(v) => self.apply_view(v),
            Event::HealthCheck(c) => self.on_health_check(c),
            Event::CheckResult(c, host, outcome) => self.on_check_result(c, host, outcome),
            Event::Probe(inst, epoch) => self.on_probe(inst, epoch),
            Event::ProbeDone(inst, kind, outcome) => self.on_probe_done(inst, kind, outcome),
            Event::ConfigPush(i) => self.on_config_push(i),
            Event::ConfigApply(i, p) => self.on_config_apply(i, p),
            Event::Autoscale(i) => self.on_autoscale(i),
            Event::RolloutTick(i) => self.on_rollout_tick(i),
            Event::Cert(site, generation) => self.on_cert(site, generation),
        }
    }
}
