//! An instance as a queueing station: admission, the worker pool, local work and
//! downstream calls, and the answer.

use super::*;
use crate::metrics::StationTotals;
use crate::resilience::limiter::Permit;

/// The stations owner: each instance's workers, queue, station figures, active faults,
/// rate limiter, load shedder and life (with its kubelet's probes), the services' rate
/// limiters, and the endpoints' streams (service times, injected errors).
///
/// **Invariant:** an instance's `queue` holds only jobs waiting for one of its workers,
/// and `workers` is the number free now (never above the instance's own); a request
/// reaches a station only through `accept`.
pub(super) struct Stations {
    pub(super) instances: Vec<InstanceState>,
    /// The services' rate limiters (per instance or per service).
    pub(super) server_limiters: Vec<RateLimiter>,
    /// One stream per endpoint (`endpoint/<service>/<endpoint>`).
    pub(super) endpoint_rngs: Vec<Stream>,
}

impl Stations {
    pub(super) fn new(sc: &Scenario, seed: RootSeed) -> Stations {
        let nsvc = sc.services.len();
        let endpoint_rngs = sc
            .endpoints
            .iter()
            .map(|e| seed.stream(&format!("endpoint/{}/{}", sc.services[e.service.idx()].name, e.name)))
            .collect();
        let mut server_limiters = Vec::new();
        let mut service_limiter = vec![u32::MAX; nsvc];
        let instances = sc
            .instances
            .iter()
            .map(|i| {
                let svc = &sc.services[i.service.idx()];
                let limiter = match &svc.rate_limit {
                    None => u32::MAX,
                    Some((config, scope)) => {
                        let shared = &mut service_limiter[i.service.idx()];
                        if *scope == LimiterScope::Service && *shared != u32::MAX {
                            *shared
                        } else {
                            server_limiters.push(RateLimiter::new(config, SimTime::ZERO));
                            *shared = server_limiters.len() as u32 - 1;
                            *shared
                        }
                    }
                };
                InstanceState {
                    workers: i.workers,
                    queue: VecDeque::new(),
                    stats: StationStats::with_capacity(i.workers),
                    faults: Vec::new(),
                    effect: FaultEffect { error: None, slowdown: i.slowdown, delay: None },
                    limiter,
                    shedder: svc.load_shedding.as_ref().map(|(c, status)| (Shedder::new(c, SimTime::ZERO), *status)),
                    life: if i.initially_running { Life::Running } else { Life::Stopped },
                    epoch: 0,
                    ready: true,
                    kubelet: svc.probes.as_ref().map(|c| Box::new(lifecycle::Kubelet::new(c))),
                }
            })
            .collect();
        Stations { instances, server_limiters, endpoint_rngs }
    }
}

pub(super) struct InstanceState {
    /// Workers available now: the instance's own, or fewer during a capacity fault.
    pub(super) workers: u32,
    pub(super) queue: VecDeque<Key>,
    pub(super) stats: StationStats,
    /// Faults acting on this instance, by index, in the scenario's order.
    pub(super) faults: Vec<u32>,
    /// The effect of those faults, folded by `refresh_faults`.
    pub(super) effect: FaultEffect,
    /// The service's rate limiter for this instance (its own, or shared), an index into
    /// `server_limiters`; `u32::MAX`: none.
    pub(super) limiter: u32,
    /// The instance's load shedder and the status of a shed request.
    pub(super) shedder: Option<(Shedder, u16)>,
    pub(super) life: Life,
    /// Bumped at every start, crash and stop, so timers of an earlier life go stale.
    pub(super) epoch: u32,
    /// Passing its readiness probe (always, without one): only a ready instance is sent
    /// requests (ideal discovery) or listed by a registrar.
    pub(super) ready: bool,
    /// The kubelet's probes of this instance, if its service has any.
    pub(super) kubelet: Option<Box<lifecycle::Kubelet>>,
}

/// What the active faults do to one instance.
#[derive(Clone, Copy, Debug)]
pub(super) struct FaultEffect {
    /// Injected failure: probability and status, and the fault whose stream draws it.
    pub(super) error: Option<(f64, u16, u32)>,
    /// Service-time multiplier, the instance's own slowdown included.
    pub(super) slowdown: f64,
    /// The latency fault delaying requests, if any.
    pub(super) delay: Option<u32>,
}

impl Sim<'_, '_> {
    /// The request of `attempt`, carrying `deadline`, arrives at `instance`.
    // Over 80 lines: admission is a sequence (security, limiter, shedder, deadline,
    // worker or queue) on the hot path, kept in one body so it reads in that order.
    pub(super) fn accept(
        &mut self,
        attempt: Key,
        instance: InstanceId,
        endpoint: EndpointId,
        client: u64,
        measured: bool,
        deadline: SimTime,
    ) {
        let now = self.now;
        let sc = self.sc;
        let svc = &sc.services[sc.instances[instance.idx()].service.idx()];
        if self.traffic.is_some() {
            self.note_arrival(attempt);
        }
        if self.discovery.lifecycle_on && !self.is_running(instance) {
            return self.refuse_dead(attempt, instance, measured);
        }
        let st = &mut self.stations.instances[instance.idx()];
        if let Some((probability, status, fault)) = st.effect.error {
            // Injected failure (Istio's fault.abort): answered at once, no worker taken.
            if self.faults.fault_rngs[fault as usize].random::<f64>() < probability {
                return self.respond(attempt, Outcome::Error(status), sc.instances[instance.idx()].zone);
            }
        }
        if st.limiter != u32::MAX && !self.server_admits(attempt, instance) {
            return;
        }
        let st = &mut self.stations.instances[instance.idx()];
        let has_worker = st.stats.busy < u64::from(st.workers);
        if let Some((shedder, status)) = st.shedder.as_mut().filter(|_| !has_worker)
            && shedder.on_arrival(now, st.queue.len() as u32) == crate::resilience::shedder::Admit::Shed
        {
            let status = *status;
            for (t, on) in [(&mut st.stats.window, true), (&mut st.stats.totals, measured)] {
                if on {
                    t.shed += 1;
                    t.rejected += 1;
                }
            }
            return self.respond(attempt, Outcome::Error(status), sc.instances[instance.idx()].zone);
        }
        if !has_worker && svc.queue_capacity.is_some_and(|cap| st.queue.len() >= cap as usize) {
            if measured {
                st.stats.totals.rejected += 1;
            }
            st.stats.window.rejected += 1;
            return self.respond(attempt, Outcome::Rejected, sc.instances[instance.idx()].zone);
        }
        st.stats.touch(now);
        st.stats.in_system += 1;
        st.stats.window.arrivals += 1;
        if measured {
            st.stats.totals.arrivals += 1;
        }
        let job = self.live.jobs.insert(Job {
            attempt,
            deadline,
            instance,
            endpoint,
            arrived: now,
            started: now,
            compute: SimDuration::ZERO,
            next_call: 0,
            pending: 0,
            failed: false,
            holds_worker: false,
            client,
            measured,
            work: 0,
            span: NO_SPAN,
            behaviour: self.behaviour_of(instance),
        });
        if self.recorder.tracer.is_some() {
            let parent = self.live.attempts.get(attempt).map_or(NO_SPAN, |a| a.span);
            if parent != NO_SPAN {
                self.trace_job(job, parent);
            }
        }
        let st = &mut self.stations.instances[instance.idx()];
        if has_worker {
            if let Some((shedder, _)) = st.shedder.as_mut() {
                // Taken at once: a dequeue with no wait, which resets CoDel's clock.
                if shedder.on_dequeue(now, SimDuration::ZERO, st.queue.len() as u32) == Verdict::Shed {
                    return self.shed_job(job);
                }
            }
            self.start_job(job);
        } else {
            st.stats.queued += 1;
            st.queue.push_back(job);
        }
    }

    /// Gives `job` a worker and starts its local work.
    /// Returns false when the job's propagated deadline has passed: it is answered at once
    /// with 504 (gRPC's DEADLINE_EXCEEDED) and the worker stays free.
    pub(super) fn start_job(&mut self, job: Key) -> bool {
        let now = self.now;
        let sc = self.sc;
        let j = self.live.jobs.get_mut(job).expect("a job being started is live");
        if now >= j.deadline {
            self.expire_job(job);
            return false;
        }
        let ep = j.endpoint;
        let inst = &mut self.stations.instances[j.instance.idx()];
        let st = &mut inst.stats;
        st.touch(now);
        st.busy += 1;
        st.window.started += 1;
        st.window.wait_sum_ns += u128::from(now.since(j.arrived).as_nanos());
        if j.measured {
            st.totals.started += 1;
            st.totals.wait_sum_ns += u128::from(now.since(j.arrived).as_nanos());
        }
        j.started = now;
        j.holds_worker = true;
        let dist = if j.behaviour == u32::MAX {
            &sc.endpoints[ep.idx()].service_time
        } else {
            &traffic::behaviour(sc, &self.proxies.endpoint_local, ep, j.behaviour).service_time
        };
        let mut d = dist.sample(&mut self.stations.endpoint_rngs[ep.idx()]);
        let slowdown = inst.effect.slowdown;
        if slowdown != 1.0 {
            d = SimDuration::from_secs_f64(d.as_secs_f64() * slowdown);
        }
        j.compute = d;
        let deadline = j.deadline;
        if self.checker.is_some() {
            self.observe(crate::checker::Obs::WorkStarted { deadline });
        }
        // Constant per endpoint and instance, hence a lane, when the distribution is.
        let constant = matches!(dist, Dist::Constant(_));
        self.push_after(d, constant, Event::ComputeDone(job));
        true
    }

    /// The service's rate limit, asked once per request (a request it holds back comes
    /// again, admitted). False when the limiter keeps the request: refused (429, at once or
    /// after Resilience4j's hold), or held until its permit.
    fn server_admits(&mut self, attempt: Key, instance: InstanceId) -> bool {
        let now = self.now;
        let a = self.live.attempts.get_mut(attempt).expect("an arriving attempt is live");
        if a.limited {
            return true;
        }
        let measured = a.measured;
        let st = &mut self.stations.instances[instance.idx()];
        let limiter = &mut self.stations.server_limiters[st.limiter as usize];
        match limiter.acquire(now) {
            Permit::Now => true,
            Permit::After(d) => {
                a.limited = true;
                self.events.push(now + d, Event::Deliver(attempt));
                false
            }
            Permit::Denied => {
                let delay = limiter.rejection_delay();
                for (t, on) in [(&mut st.stats.window, true), (&mut st.stats.totals, measured)] {
                    if on {
                        t.rate_limited += 1;
                        t.rejected += 1;
                    }
                }
                if delay.is_zero() {
                    self.server_deny(attempt);
                } else {
                    self.events.push(now + delay, Event::ServerDeny(attempt));
                }
                false
            }
        }
    }

    /// A service's rate limit refuses the attempt: 429.
    pub(super) fn server_deny(&mut self, attempt: Key) {
        let instance = self.live.attempts.get(attempt).expect("a refused attempt is live").instance;
        self.respond(attempt, Outcome::Error(429), self.sc.instances[instance.idx()].zone);
    }

    /// A job the load shedder drops as a worker takes it: answered at once with the
    /// shedder's status; no work is done for it.
    fn shed_job(&mut self, job: Key) {
        let st = &mut self.stations.instances[self.live.jobs.get(job).expect("a shed job is live").instance.idx()];
        let status = st.shedder.as_ref().map_or(503, |(_, s)| *s);
        self.end_unstarted(job, Outcome::Error(status), |t| t.shed += 1);
    }

    /// A job whose deadline passed before it could start: no work is done for it.
    fn expire_job(&mut self, job: Key) {
        self.end_unstarted(job, Outcome::Error(504), |t| t.deadline_expired += 1);
    }

    /// A job that leaves without being started, answered with `outcome` (an error).
    fn end_unstarted(&mut self, job: Key, outcome: Outcome, count: impl Fn(&mut StationTotals)) {
        let j = self.live.jobs.remove(job).expect("an expiring job is live");
        if j.span != NO_SPAN {
            self.end_job_span(j.span, Some(outcome));
        }
        let st = &mut self.stations.instances[j.instance.idx()].stats;
        st.touch(self.now);
        st.in_system -= 1;
        // It leaves the station as a (fast) error, so Little's law still balances.
        let sojourn = u128::from(self.now.since(j.arrived).as_nanos());
        for (t, on) in [(&mut st.window, true), (&mut st.totals, j.measured)] {
            if on {
                count(t);
                t.errors += 1;
                t.sojourn_sum_ns += sojourn;
            }
        }
        let zone = self.sc.instances[j.instance.idx()].zone;
        self.respond(j.attempt, outcome, zone);
        if self.discovery.lifecycle_on {
            self.check_drained(j.instance);
        }
    }

    pub(super) fn on_compute_done(&mut self, job: Key) {
        let sc = self.sc;
        // A stale key: the instance crashed and its jobs were lost.
        let Some(j) = self.live.jobs.get_mut(job) else { return };
        let instance = j.instance;
        if sc.endpoints[j.endpoint.idx()].calls.is_empty() {
            return self.finish_job(job);
        }
        if !sc.services[sc.instances[instance.idx()].service.idx()].hold_worker_during_calls {
            j.holds_worker = false;
            self.release_worker(instance);
        }
        self.advance_calls(job);
    }

    /// Starts the job's next downstream call (sequence) or all of them (parallel); finishes
    /// the job when there is nothing left to call.
    pub(super) fn advance_calls(&mut self, job: Key) {
        let sc = self.sc;
        let j = self.live.jobs.get_mut(job).expect("a job making calls is live");
        let ep = &sc.endpoints[j.endpoint.idx()];
        let rng = &mut self.stations.endpoint_rngs[j.endpoint.idx()];
        let mut to_call: [u16; 1] = [u16::MAX];
        let mut parallel: Vec<u16> = Vec::new();
        match ep.calls_mode {
            CallsMode::Sequence => {
                while (j.next_call as usize) < ep.calls.len() {
                    let i = j.next_call;
                    j.next_call += 1;
                    let c = &ep.calls[i as usize];
                    if c.probability >= 1.0 || rng.random::<f64>() < c.probability {
                        to_call[0] = i;
                        break;
                    }
                }
                if to_call[0] == u16::MAX {
                    return self.finish_job(job);
                }
                j.pending = 1;
            }
            CallsMode::Parallel => {
                if j.next_call as usize >= ep.calls.len() {
                    return self.finish_job(job);
                }
                for (i, c) in ep.calls.iter().enumerate() {
                    if c.probability >= 1.0 || rng.random::<f64>() < c.probability {
                        parallel.push(i as u16);
                    }
                }
                j.next_call = ep.calls.len() as u16;
                if parallel.is_empty() {
                    return self.finish_job(job);
                }
                // Set before starting: a call can complete at once (a rejection with no
                // network delay) and must find the count already in place.
                j.pending = parallel.len() as u16;
            }
        }
        let (instance, client, measured) = (j.instance, j.client, j.measured);
        let inst = &sc.instances[instance.idx()];
        let caller = Caller::Service(inst.service);
        let site = 1 + instance.idx() as u32;
        let list: &[u16] = if ep.calls_mode == CallsMode::Sequence { &to_call } else { &parallel };
        for &i in list {
            let target = ep.calls[i as usize].endpoint;
            let (parent, zone) = (Parent::Job(job, i), inst.zone);
            let from = CallSite { parent, caller, site, zone, endpoint: target, client, measured, is_fallback: false };
            self.start_call(from);
        }
    }

    /// A downstream call of `job` ended with `outcome`; `work` is the service time behind a
    /// successful answer.
    pub(super) fn on_child_done(&mut self, job: Key, index: u16, outcome: Outcome, work: u64) {
        let sc = self.sc;
        // A stale key: the instance crashed while the call was out.
        let Some(j) = self.live.jobs.get_mut(job) else { return };
        j.work += work;
        let ep = &sc.endpoints[j.endpoint.idx()];
        if !outcome.is_ok() && ep.calls[index as usize].required {
            j.failed = true;
        }
        j.pending -= 1;
        if j.pending > 0 {
            return;
        }
        if j.failed || ep.calls_mode == CallsMode::Parallel {
            self.finish_job(job);
        } else {
            self.advance_calls(job);
        }
    }

    pub(super) fn finish_job(&mut self, job: Key) {
        let now = self.now;
        let sc = self.sc;
        let j = self.live.jobs.remove(job).expect("a finishing job is live");
        let ep = &sc.endpoints[j.endpoint.idx()];
        let (error_rate, error_status) = if j.behaviour == u32::MAX {
            (ep.error_rate, ep.error_status)
        } else {
            let b = traffic::behaviour(sc, &self.proxies.endpoint_local, j.endpoint, j.behaviour);
            (b.error_rate, b.error_status)
        };
        let outcome = if j.failed {
            Outcome::Error(ep.dependency_failure_status)
        } else if error_rate > 0.0 && self.stations.endpoint_rngs[j.endpoint.idx()].random::<f64>() < error_rate {
            Outcome::Error(error_status)
        } else {
            Outcome::Ok
        };
        if j.span != NO_SPAN {
            self.end_job_span(j.span, Some(outcome));
        }
        let worker_ns = if j.holds_worker { now.since(j.started).as_nanos() } else { j.compute.as_nanos() };
        let a = self.live.attempts.get_mut(j.attempt).expect("a job's attempt is live");
        let abandoned = a.abandoned;
        // Work is the job's own service time (not the time it held a worker waiting).
        let work = j.compute.as_nanos();
        if outcome.is_ok() {
            a.work = j.work + work;
        }
        self.recorder.window_work_ns += u128::from(work);
        if j.measured {
            self.recorder.work_ns += u128::from(work);
        }
        let st = &mut self.stations.instances[j.instance.idx()].stats;
        st.touch(now);
        st.in_system -= 1;
        let sojourn = u128::from(now.since(j.arrived).as_nanos());
        for (t, on) in [(&mut st.window, true), (&mut st.totals, j.measured)] {
            if !on {
                continue;
            }
            if outcome.is_ok() {
                t.completed += 1;
            } else {
                t.errors += 1;
            }
            t.sojourn_sum_ns += sojourn;
            t.sojourn_max_ns = t.sojourn_max_ns.max(sojourn as u64);
            if abandoned {
                t.wasted_jobs += 1;
                t.wasted_ns += u128::from(worker_ns);
            }
        }
        if j.holds_worker {
            self.release_worker(j.instance);
        }
        let zone = sc.instances[j.instance.idx()].zone;
        self.respond(j.attempt, outcome, zone);
        if self.discovery.lifecycle_on {
            self.check_drained(j.instance);
        }
    }

    pub(super) fn release_worker(&mut self, instance: InstanceId) {
        let st = &mut self.stations.instances[instance.idx()].stats;
        st.touch(self.now);
        st.busy -= 1;
        self.fill_workers(instance);
    }

    /// Starts queued jobs while the instance has free workers: after a job ends, or when a
    /// capacity fault ends. During a capacity drop a freed worker may not be one of those
    /// left, so nothing starts until the busy ones fall below the count.
    pub(super) fn fill_workers(&mut self, instance: InstanceId) {
        let disc = self.sc.services[self.sc.instances[instance.idx()].service.idx()].discipline;
        loop {
            let st = &mut self.stations.instances[instance.idx()];
            if st.stats.busy >= u64::from(st.workers) {
                return;
            }
            let next = match disc {
                Discipline::Fifo => st.queue.pop_front(),
                Discipline::Lifo => st.queue.pop_back(),
            };
            let Some(job) = next else {
                if let Some((shedder, _)) = st.shedder.as_mut() {
                    shedder.on_empty(self.now);
                }
                return;
            };
            st.stats.touch(self.now);
            st.stats.queued -= 1;
            if let Some((shedder, _)) = st.shedder.as_mut() {
                let waited = self.now.since(self.live.jobs.get(job).expect("a queued job is live").arrived);
                if shedder.on_dequeue(self.now, waited, st.queue.len() as u32) == Verdict::Shed {
                    self.shed_job(job);
                    continue;
                }
            }
            // A job whose deadline passed leaves the worker free for the next.
            self.start_job(job);
        }
    }
}
