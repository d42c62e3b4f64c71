//! The event loop: one virtual clock, one queue of closed-enum events, one `match`.
//!
//! A request arrives at the gateway, whose proxy picks an instance of the route's
//! service and sends the call over a network link. At the instance the call becomes a
//! job: it waits for a worker, computes for a sampled service time, makes its downstream
//! calls (each through the instance's own proxy) and answers over the link. Timeouts end
//! a call at the caller only; the callee's work goes on and is counted as wasted.
//!
//! State lives in generational slabs (`requests`, `calls`, `jobs`), so memory is bounded
//! by the work in flight, and an event that refers to finished work (a timeout after the
//! response) finds a stale key and does nothing.

mod queue;
mod slab;

pub use queue::{EventQueue, Lane};

use crate::balance::{Balancer, Host};
use crate::dist::Dist;
use crate::metrics::{FlowStats, StationStats};
use crate::model::*;
use crate::outcome::Outcome;
use crate::rng::{RootSeed, Stream};
use crate::time::{SimDuration, SimTime};
use crate::workload::{Arrivals, Mix};
use rand::Rng;
use slab::{Key, Slab};
use std::collections::VecDeque;
use std::io::Write;

/// Overrides of the scenario's run settings, from the command line.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub seed: Option<u64>,
    pub duration: Option<SimDuration>,
    /// Stop arrivals after this many requests. Given without `duration`, it replaces the
    /// scenario's stop conditions, so the run makes exactly this many requests.
    pub requests: Option<u64>,
}

/// Why the run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Arrivals stopped and every request finished.
    Completed,
    /// A limit ended the run early; the message says which and what to do.
    Limit { kind: LimitKind, message: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    EventsMax,
    InFlightMax,
    DrainTimeout,
}

/// What the progress callback is told, every 65,536 events.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub now: SimTime,
    pub events: u64,
    pub requests: u64,
}

/// Where a run's streaming outputs go.
#[derive(Default)]
pub struct Hooks<'a> {
    /// Time-series CSV rows, written as each window closes.
    pub timeseries: Option<&'a mut dyn Write>,
    pub progress: Option<&'a mut dyn FnMut(Progress)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run options contradict the scenario (bad input, like a scenario error).
    #[error("{0}")]
    Options(String),
    #[error("writing the time series failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the time series failed: {0}")]
    Csv(#[from] csv::Error),
}

/// Everything a finished run measured.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub seed: u64,
    pub stop: Stop,
    /// Simulated time when the run ended.
    pub end: SimTime,
    /// When arrivals stopped (the duration, or the last request).
    pub arrivals_end: SimTime,
    pub warmup: SimTime,
    pub events: u64,
    /// Requests issued, and those issued after the warm-up (the measured ones).
    pub requests: u64,
    pub requests_measured: u64,
    /// Measured requests still in flight when the run ended (non-zero only at a limit).
    pub in_flight_measured: u64,
    pub in_flight_max_seen: u64,
    /// All requests at the gateway, whatever their route.
    pub total: FlowStats,
    pub routes: Vec<FlowStats>,
    pub services: Vec<FlowStats>,
    pub stations: Vec<StationStats>,
    /// Responses that reached a caller after it had given up.
    pub late_responses: u64,
}

#[derive(Clone, Copy, Debug)]
enum Event {
    /// The next open-loop request arrives.
    Arrival,
    /// A closed-loop user sends its next request.
    UserWake(u32),
    /// A call's request message reaches the callee instance.
    Deliver(Key),
    /// A job's local work is done.
    ComputeDone(Key),
    /// A call's response reaches the caller.
    Respond(Key, Outcome),
    /// A call's timeout fires.
    Timeout(Key),
}

struct Request {
    route: RouteId,
    arrived: SimTime,
    user: Option<u32>,
    measured: bool,
}

#[derive(Clone, Copy)]
enum Parent {
    Request(Key),
    /// The job and the index of the call in its endpoint's `calls`.
    Job(Key, u16),
}

#[derive(Clone, Copy)]
struct CallState {
    parent: Parent,
    caller_zone: ZoneId,
    proxy: u32,
    host: u32,
    instance: InstanceId,
    service: ServiceId,
    endpoint: EndpointId,
    sent: SimTime,
    client: u64,
    has_timeout: bool,
    /// The request or the response was lost on a link.
    lost: bool,
    /// The caller gave up (timeout); the state stays until the callee's answer is back.
    abandoned: bool,
    measured: bool,
}

struct Job {
    call: Key,
    instance: InstanceId,
    endpoint: EndpointId,
    arrived: SimTime,
    started: SimTime,
    compute: SimDuration,
    next_call: u16,
    pending: u16,
    failed: bool,
    holds_worker: bool,
    client: u64,
    measured: bool,
}

struct InstanceState {
    workers: u32,
    queue: VecDeque<Key>,
    stats: StationStats,
}

/// Caller sites: the gateway, then each instance's sidecar proxy.
const GATEWAY_SITE: usize = 0;

struct Sim<'s, 'h> {
    sc: &'s Scenario,
    now: SimTime,
    events: EventQueue<Event>,
    requests: Slab<Request>,
    calls: Slab<CallState>,
    jobs: Slab<Job>,
    instances: Vec<InstanceState>,
    /// `proxy_of[site * services + service]`, `u32::MAX` where the site never calls it.
    proxy_of: Vec<u32>,
    balancers: Vec<Balancer>,
    proxy_rngs: Vec<Stream>,
    endpoint_rngs: Vec<Stream>,
    link_rngs: Vec<Stream>,
    arrivals: Option<Arrivals>,
    mix: Mix,
    client_rng: Stream,
    /// Whether any balancer hashes on the client id.
    needs_client: bool,
    think_rng: Stream,
    // Run control.
    stop_at: SimTime,
    requests_limit: u64,
    arrivals_open: bool,
    arrivals_end: SimTime,
    drain_deadline: SimTime,
    warmup: SimTime,
    issued: u64,
    issued_measured: u64,
    in_flight_max_seen: u64,
    late_responses: u64,
    events_done: u64,
    /// Lanes of the event queue for constant delays, by delay.
    const_lanes: Vec<(SimDuration, Lane)>,
    // Metrics.
    total: FlowStats,
    routes: Vec<FlowStats>,
    services: Vec<FlowStats>,
    window_end: SimTime,
    window_start: SimTime,
    timeseries: Option<csv::Writer<&'h mut dyn Write>>,
}

/// Runs a validated scenario to its end.
///
/// # Errors
/// Only when writing the time series fails; limits end the run with `Stop::Limit`.
pub fn run(sc: &Scenario, opts: &RunOptions, hooks: Hooks<'_>) -> Result<RunResult, RunError> {
    let Hooks {
        timeseries,
        mut progress,
    } = hooks;
    let seed = opts.seed.unwrap_or(sc.seed);
    let (duration, requests) = match (opts.duration, opts.requests) {
        (None, Some(n)) => (None, Some(n)),
        (d, n) => (d.or(sc.run.duration), n.or(sc.run.requests)),
    };
    if requests == Some(0) {
        return Err(RunError::Options(
            "the request count must be at least 1".into(),
        ));
    }
    if let Some(d) = duration {
        if d.is_zero() || d <= sc.run.warmup {
            return Err(RunError::Options(format!(
                "the duration ({d}) must be longer than the warm-up ({}) of {}",
                sc.run.warmup, sc.source
            )));
        }
    }
    let mut sim = Sim::new(sc, RootSeed(seed), duration, requests, timeseries)?;
    let stop = sim.run_loop(&mut progress)?;
    sim.flush_final(sim.now)?;
    sim.total.merge_latencies(sim.routes.iter(), true);
    if let Some(w) = sim.timeseries.as_mut() {
        w.flush()?;
    }
    let in_flight_measured = sim.issued_measured - sim.total.counts.total();
    Ok(RunResult {
        seed,
        stop,
        end: sim.now,
        arrivals_end: if sim.arrivals_open {
            sim.now
        } else {
            sim.arrivals_end
        },
        warmup: sim.warmup,
        events: sim.events_done,
        requests: sim.issued,
        requests_measured: sim.issued_measured,
        in_flight_measured,
        in_flight_max_seen: sim.in_flight_max_seen,
        total: sim.total,
        routes: sim.routes,
        services: sim.services,
        stations: sim.instances.into_iter().map(|i| i.stats).collect(),
        late_responses: sim.late_responses,
    })
}

pub const TIMESERIES_HEADER: [&str; 19] = [
    "window_start_s",
    "window_end_s",
    "scope",
    "name",
    "requests",
    "ok",
    "error",
    "timeout",
    "rejected",
    "dropped",
    "throughput_rps",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "utilization",
    "queue_mean",
    "in_system_mean",
];

impl<'s, 'h> Sim<'s, 'h> {
    fn new(
        sc: &'s Scenario,
        seed: RootSeed,
        duration: Option<SimDuration>,
        requests: Option<u64>,
        timeseries: Option<&'h mut dyn Write>,
    ) -> Result<Self, RunError> {
        let nsvc = sc.services.len();
        let sites = 1 + sc.instances.len();
        let mut proxy_of = vec![u32::MAX; sites * nsvc];
        let mut balancers = Vec::new();
        let mut proxy_rngs = Vec::new();
        let mut add_proxy = |site: usize, site_name: &str, caller: Caller, dest: ServiceId| {
            let slot = &mut proxy_of[site * nsvc + dest.idx()];
            if *slot != u32::MAX {
                return;
            }
            *slot = balancers.len() as u32;
            let svc = &sc.services[dest.idx()];
            let hosts: Vec<Host> = svc
                .instances
                .iter()
                .map(|&i| Host {
                    name: sc.instances[i.idx()].name.clone(),
                    weight: sc.instances[i.idx()].weight,
                })
                .collect();
            let mut rng = seed.stream(&format!("proxy/{site_name}/{}", svc.name));
            balancers.push(Balancer::new(
                sc.policies.balancer(caller, dest),
                &hosts,
                SimTime::ZERO,
                &mut rng,
            ));
            proxy_rngs.push(rng);
        };
        for r in &sc.gateway.routes {
            add_proxy(GATEWAY_SITE, "gateway", Caller::Gateway, r.service);
        }
        for (i, inst) in sc.instances.iter().enumerate() {
            for &e in &sc.services[inst.service.idx()].endpoints {
                for c in &sc.endpoints[e.idx()].calls {
                    add_proxy(1 + i, &inst.name, Caller::Service(inst.service), c.service);
                }
            }
        }
        let endpoint_rngs = sc
            .endpoints
            .iter()
            .map(|e| {
                seed.stream(&format!(
                    "endpoint/{}/{}",
                    sc.services[e.service.idx()].name,
                    e.name
                ))
            })
            .collect();
        let link_rngs = sc
            .network
            .links
            .iter()
            .map(|l| seed.stream(&format!("link/{}", l.name)))
            .collect();
        let arrivals = match &sc.workload.load {
            Load::Open { process, schedule } => Some(Arrivals::new(
                *process,
                schedule,
                seed.stream("workload/arrivals"),
            )),
            Load::Closed { .. } => None,
        };
        let instances = sc
            .instances
            .iter()
            .map(|i| InstanceState {
                workers: i.workers,
                queue: VecDeque::new(),
                stats: StationStats::default(),
            })
            .collect();
        let mut timeseries = timeseries.map(|w| csv::WriterBuilder::new().from_writer(w));
        if let Some(w) = timeseries.as_mut() {
            w.write_record(TIMESERIES_HEADER)?;
        }
        Ok(Sim {
            sc,
            now: SimTime::ZERO,
            events: EventQueue::new(),
            requests: Slab::new(),
            calls: Slab::new(),
            jobs: Slab::new(),
            instances,
            proxy_of,
            balancers,
            proxy_rngs,
            endpoint_rngs,
            link_rngs,
            arrivals,
            mix: Mix::new(&sc.workload.mix, seed.stream("workload/mix")),
            client_rng: seed.stream("workload/clients"),
            needs_client: sc
                .policies
                .balancer
                .iter()
                .any(|b| matches!(b, BalancerConfig::RingHash { .. })),
            think_rng: seed.stream("workload/think"),
            stop_at: duration.map_or(SimTime::MAX, |d| SimTime::ZERO + d),
            requests_limit: requests.unwrap_or(u64::MAX),
            arrivals_open: true,
            arrivals_end: SimTime::MAX,
            drain_deadline: SimTime::MAX,
            warmup: SimTime::ZERO + sc.run.warmup,
            issued: 0,
            issued_measured: 0,
            in_flight_max_seen: 0,
            late_responses: 0,
            total: FlowStats::default(),
            routes: vec![FlowStats::default(); sc.gateway.routes.len()],
            services: vec![FlowStats::default(); nsvc],
            window_start: SimTime::ZERO,
            window_end: SimTime::ZERO + sc.metrics_interval,
            timeseries,
            events_done: 0,
            const_lanes: Vec::new(),
        })
    }
}

impl Sim<'_, '_> {
    fn run_loop(
        &mut self,
        progress: &mut Option<&mut dyn FnMut(Progress)>,
    ) -> Result<Stop, RunError> {
        self.start_load();
        let limits = &self.sc.run;
        while let Some((t, ev)) = self.events.pop() {
            if !self.arrivals_open
                && self.requests.is_empty()
                && self.calls.is_empty()
                && self.jobs.is_empty()
            {
                // Only stale timers and idle users are left.
                return Ok(Stop::Completed);
            }
            if t > self.drain_deadline {
                if self.requests.is_empty() {
                    // Every request is answered; what remains is work nobody waits for.
                    return Ok(Stop::Completed);
                }
                let message = format!(
                    "{} requests were still in flight {} after arrivals stopped (run.drainTimeout); \
                     the mesh may be overloaded, or raise the drain timeout",
                    self.requests.len(),
                    limits.drain_timeout
                );
                return Ok(Stop::Limit {
                    kind: LimitKind::DrainTimeout,
                    message,
                });
            }
            assert!(
                t >= self.now,
                "event scheduled in the past: {t} < {}",
                self.now
            );
            if t >= self.window_end {
                self.flush_windows(t)?;
            }
            if self.events_done >= limits.events_max {
                let message = format!(
                    "stopped after {} events (run.eventsMax) at simulated time {t}; \
                     raise the limit or shorten the run",
                    limits.events_max
                );
                return Ok(Stop::Limit {
                    kind: LimitKind::EventsMax,
                    message,
                });
            }
            self.now = t;
            self.events_done += 1;
            self.dispatch(ev);
            if self.requests.len() as u64 > limits.in_flight_max {
                let message = format!(
                    "more than {} requests in flight (run.inFlightMax) at simulated time {t}: \
                     the offered load exceeds what the mesh can serve",
                    limits.in_flight_max
                );
                return Ok(Stop::Limit {
                    kind: LimitKind::InFlightMax,
                    message,
                });
            }
            if self.events_done & 0xFFFF == 0 {
                if let Some(p) = progress.as_mut() {
                    p(Progress {
                        now: t,
                        events: self.events_done,
                        requests: self.issued,
                    });
                }
            }
        }
        Ok(Stop::Completed)
    }

    /// Schedules `ev` after `d`. A delay that is the same every time (`constant`) goes to
    /// a lane of the queue, which keeps such events in order without a heap.
    #[inline]
    fn push_after(&mut self, d: SimDuration, constant: bool, ev: Event) {
        let at = self.now + d;
        if constant {
            if let Some(lane) = self.lane_for(d) {
                return self.events.push_lane(lane, at, ev);
            }
        }
        self.events.push(at, ev);
    }

    #[inline]
    fn lane_for(&mut self, d: SimDuration) -> Option<Lane> {
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
    fn dispatch(&mut self, ev: Event) {
        match ev {
            Event::Arrival => self.on_arrival(),
            Event::UserWake(u) => self.on_user_wake(u),
            Event::Deliver(call) => self.deliver(call),
            Event::ComputeDone(job) => self.on_compute_done(job),
            Event::Respond(call, outcome) => self.on_response(call, outcome),
            Event::Timeout(call) => self.on_timeout(call),
        }
    }

    fn start_load(&mut self) {
        match &self.sc.workload.load {
            Load::Open { .. } => self.schedule_next_arrival(),
            Load::Closed { users, think_time } => {
                // Each user starts after one think time, so users do not all fire at once.
                for u in 0..*users {
                    let t = SimTime::ZERO + think_time.sample(&mut self.think_rng);
                    self.events.push(t, Event::UserWake(u));
                }
            }
        }
    }

    fn close_arrivals(&mut self, at: SimTime) {
        if self.arrivals_open {
            self.arrivals_open = false;
            self.arrivals_end = at;
            self.drain_deadline = at + self.sc.run.drain_timeout;
        }
    }

    /// Whether a request may start at `t`; closes arrivals once a stop condition holds.
    fn may_issue(&mut self, t: SimTime) -> bool {
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

    fn schedule_next_arrival(&mut self) {
        let arrivals = self.arrivals.as_mut().expect("open loop has arrivals");
        match arrivals.next(self.now) {
            Some(t) if t < self.stop_at => self.events.push(t, Event::Arrival),
            Some(_) => self.close_arrivals(self.stop_at),
            // The rate stays zero: arrivals end with the duration, or now if there is none.
            None => self.close_arrivals(if self.stop_at == SimTime::MAX {
                self.now
            } else {
                self.stop_at
            }),
        }
    }

    fn on_arrival(&mut self) {
        if !self.may_issue(self.now) {
            return;
        }
        // Client ids matter only to hashing balancers; the draw has its own stream, so
        // skipping it when unused changes no other draw.
        let client = if self.needs_client {
            self.client_rng.random_range(0..self.sc.workload.clients)
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

    fn on_user_wake(&mut self, user: u32) {
        if !self.may_issue(self.now) {
            return;
        }
        self.issue(u64::from(user), Some(user));
        if self.issued >= self.requests_limit {
            self.close_arrivals(self.now);
        }
    }

    fn issue(&mut self, client: u64, user: Option<u32>) {
        let route_id = self.mix.pick();
        let measured = self.now >= self.warmup;
        self.issued += 1;
        self.issued_measured += u64::from(measured);
        let req = self.requests.insert(Request {
            route: route_id,
            arrived: self.now,
            user,
            measured,
        });
        self.in_flight_max_seen = self.in_flight_max_seen.max(self.requests.len() as u64);
        let route = &self.sc.gateway.routes[route_id.idx()];
        self.start_call(
            Parent::Request(req),
            Caller::Gateway,
            GATEWAY_SITE,
            self.sc.gateway.zone,
            route.endpoint,
            client,
            measured,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn start_call(
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
        debug_assert_ne!(
            proxy,
            u32::MAX,
            "every calling site has a proxy for its destinations"
        );
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
    fn transit(&mut self, from: ZoneId, to: ZoneId) -> Option<(SimDuration, bool)> {
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
    fn lose(&mut self, call: Key, from: ZoneId, to: ZoneId) {
        let c = self.calls.get_mut(call).expect("a call in transit is live");
        c.lost = true;
        if c.abandoned {
            // Nobody waits for this answer any more.
            self.calls.remove(call);
        } else if !c.has_timeout {
            let id = self.sc.network.link(from, to);
            let d = self.sc.network.links[id.idx()]
                .latency
                .sample(&mut self.link_rngs[id.idx()]);
            self.events
                .push(self.now + d, Event::Respond(call, Outcome::Dropped));
        }
    }

    /// The request of `call` reaches its instance.
    fn deliver(&mut self, call: Key) {
        let now = self.now;
        // Call state lives until the callee's answer is back, even if the caller gave up
        // while the request was on the wire: the callee cannot know, and does the work.
        let c = self.calls.get(call).expect("a delivered call is live");
        let (instance, endpoint, client, measured) = (c.instance, c.endpoint, c.client, c.measured);
        self.accept(call, instance, endpoint, client, measured, now);
    }

    fn accept(
        &mut self,
        call: Key,
        instance: InstanceId,
        endpoint: EndpointId,
        client: u64,
        measured: bool,
        now: SimTime,
    ) {
        let sc = self.sc;
        let svc = &sc.services[sc.instances[instance.idx()].service.idx()];
        let warmup = self.warmup;
        let st = &mut self.instances[instance.idx()];
        let has_worker = st.stats.busy < u64::from(st.workers);
        if !has_worker
            && svc
                .queue_capacity
                .is_some_and(|cap| st.queue.len() >= cap as usize)
        {
            if measured {
                st.stats.totals.rejected += 1;
            }
            st.stats.window.rejected += 1;
            return self.respond(call, Outcome::Rejected, sc.instances[instance.idx()].zone);
        }
        st.stats.touch(now, warmup);
        st.stats.in_system += 1;
        st.stats.window.arrivals += 1;
        if measured {
            st.stats.totals.arrivals += 1;
        }
        let job = self.jobs.insert(Job {
            call,
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
        });
        let st = &mut self.instances[instance.idx()];
        if has_worker {
            self.start_job(job);
        } else {
            st.stats.queued += 1;
            st.queue.push_back(job);
        }
    }

    /// Gives `job` a worker and starts its local work.
    fn start_job(&mut self, job: Key) {
        let now = self.now;
        let sc = self.sc;
        let j = self.jobs.get_mut(job).expect("a job being started is live");
        let inst = &sc.instances[j.instance.idx()];
        let ep = j.endpoint;
        let st = &mut self.instances[j.instance.idx()].stats;
        st.touch(now, self.warmup);
        st.busy += 1;
        st.window.started += 1;
        st.window.wait_sum_ns += u128::from(now.since(j.arrived).as_nanos());
        if j.measured {
            st.totals.started += 1;
            st.totals.wait_sum_ns += u128::from(now.since(j.arrived).as_nanos());
        }
        j.started = now;
        j.holds_worker = true;
        let dist = &sc.endpoints[ep.idx()].service_time;
        let mut d = dist.sample(&mut self.endpoint_rngs[ep.idx()]);
        if inst.slowdown != 1.0 {
            d = SimDuration::from_secs_f64(d.as_secs_f64() * inst.slowdown);
        }
        j.compute = d;
        // Constant per endpoint and instance, hence a lane, when the distribution is.
        let constant = matches!(dist, Dist::Constant(_));
        self.push_after(d, constant, Event::ComputeDone(job));
    }

    fn on_compute_done(&mut self, job: Key) {
        let sc = self.sc;
        let j = self.jobs.get_mut(job).expect("a computing job is live");
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
    fn advance_calls(&mut self, job: Key) {
        let sc = self.sc;
        let j = self.jobs.get_mut(job).expect("a job making calls is live");
        let ep = &sc.endpoints[j.endpoint.idx()];
        let rng = &mut self.endpoint_rngs[j.endpoint.idx()];
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
        let site = 1 + instance.idx();
        let list: &[u16] = if ep.calls_mode == CallsMode::Sequence {
            &to_call
        } else {
            &parallel
        };
        for &i in list {
            let target = ep.calls[i as usize].endpoint;
            self.start_call(
                Parent::Job(job, i),
                caller,
                site,
                inst.zone,
                target,
                client,
                measured,
            );
        }
    }

    /// A downstream call of `job` ended with `outcome`.
    fn on_child_done(&mut self, job: Key, index: u16, outcome: Outcome) {
        let sc = self.sc;
        let j = self
            .jobs
            .get_mut(job)
            .expect("a job with calls in flight is live");
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

    fn finish_job(&mut self, job: Key) {
        let now = self.now;
        let sc = self.sc;
        let j = self.jobs.remove(job).expect("a finishing job is live");
        let ep = &sc.endpoints[j.endpoint.idx()];
        let outcome = if j.failed {
            Outcome::Error(ep.dependency_failure_status)
        } else if ep.error_rate > 0.0
            && self.endpoint_rngs[j.endpoint.idx()].random::<f64>() < ep.error_rate
        {
            Outcome::Error(ep.error_status)
        } else {
            Outcome::Ok
        };
        let abandoned = self
            .calls
            .get(j.call)
            .expect("a job's call is live")
            .abandoned;
        let st = &mut self.instances[j.instance.idx()].stats;
        st.touch(now, self.warmup);
        st.in_system -= 1;
        let sojourn = u128::from(now.since(j.arrived).as_nanos());
        let worker_ns = if j.holds_worker {
            now.since(j.started).as_nanos()
        } else {
            j.compute.as_nanos()
        };
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
        self.respond(j.call, outcome, zone);
    }

    fn release_worker(&mut self, instance: InstanceId) {
        let disc = self.sc.services[self.sc.instances[instance.idx()].service.idx()].discipline;
        let st = &mut self.instances[instance.idx()];
        st.stats.touch(self.now, self.warmup);
        st.stats.busy -= 1;
        let next = match disc {
            Discipline::Fifo => st.queue.pop_front(),
            Discipline::Lifo => st.queue.pop_back(),
        };
        if let Some(job) = next {
            st.stats.queued -= 1;
            self.start_job(job);
        }
    }

    /// Sends the response of `call` from an instance in `from` back to the caller.
    fn respond(&mut self, call: Key, outcome: Outcome, from: ZoneId) {
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

    fn on_response(&mut self, call: Key, outcome: Outcome) {
        let c = self
            .calls
            .remove(call)
            .expect("a call whose answer arrives is live");
        if c.abandoned {
            self.late_responses += 1;
        } else {
            self.complete_call(c, outcome);
        }
    }

    fn on_timeout(&mut self, call: Key) {
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

    fn complete_call(&mut self, c: CallState, outcome: Outcome) {
        let rtt = self.now.since(c.sent);
        self.balancers[c.proxy as usize].on_complete(c.host as usize, self.now, rtt);
        self.services[c.service.idx()].record(rtt, outcome, c.measured);
        match c.parent {
            Parent::Request(req) => self.finish_request(req, outcome),
            Parent::Job(job, index) => self.on_child_done(job, index, outcome),
        }
    }

    fn finish_request(&mut self, req: Key, outcome: Outcome) {
        let r = self
            .requests
            .remove(req)
            .expect("a request with a call in flight is live");
        let latency = self.now.since(r.arrived);
        self.routes[r.route.idx()].record(latency, outcome, r.measured);
        self.total.record_aggregate(latency, outcome, r.measured);
        if let (Some(u), Load::Closed { think_time, .. }) = (r.user, &self.sc.workload.load) {
            let t = self.now + think_time.sample(&mut self.think_rng);
            self.events.push(t, Event::UserWake(u));
        }
    }

    /// Writes every window that ends at or before `t`.
    fn flush_windows(&mut self, t: SimTime) -> Result<(), RunError> {
        while self.window_end <= t {
            self.write_window(self.window_end)?;
            self.window_start = self.window_end;
            self.window_end = self.window_end + self.sc.metrics_interval;
        }
        Ok(())
    }

    /// Writes the windows up to the end of the run, the last one cut short at `t`.
    fn flush_final(&mut self, t: SimTime) -> Result<(), RunError> {
        self.flush_windows(t)?;
        if t > self.window_start {
            self.write_window(t)?;
            self.window_start = t;
        }
        Ok(())
    }

    fn write_window(&mut self, end: SimTime) -> Result<(), RunError> {
        let sc = self.sc;
        let start = self.window_start;
        let secs = end.since(start).as_secs_f64();
        let warmup = self.warmup;
        for st in &mut self.instances {
            st.stats.touch(end, warmup);
        }
        self.total.merge_latencies(self.routes.iter(), false);
        if let Some(w) = self.timeseries.as_mut() {
            let (s0, s1) = (
                format!("{:.3}", start.as_secs_f64()),
                format!("{:.3}", end.as_secs_f64()),
            );
            let flows = std::iter::once((("total", "all"), &self.total))
                .chain(
                    sc.gateway
                        .routes
                        .iter()
                        .map(|r| ("route", r.name.as_str()))
                        .zip(self.routes.iter()),
                )
                .chain(
                    sc.services
                        .iter()
                        .map(|s| ("service", s.name.as_str()))
                        .zip(self.services.iter()),
                );
            for ((scope, name), f) in flows {
                let c = &f.window_counts;
                let l = &f.window_latency;
                let rate = if secs > 0.0 {
                    c.total() as f64 / secs
                } else {
                    0.0
                };
                w.write_record([
                    s0.as_str(),
                    s1.as_str(),
                    scope,
                    name,
                    &c.total().to_string(),
                    &c.ok.to_string(),
                    &c.error.to_string(),
                    &c.timeout.to_string(),
                    &c.rejected.to_string(),
                    &c.dropped.to_string(),
                    &format!("{rate:.3}"),
                    &format!("{:.3}", l.mean_ms()),
                    &format!("{:.3}", l.quantile_ms(0.5)),
                    &format!("{:.3}", l.quantile_ms(0.9)),
                    &format!("{:.3}", l.quantile_ms(0.99)),
                    &format!("{:.3}", l.max_ms()),
                    "",
                    "",
                    "",
                ])?;
            }
            for (inst, st) in sc.instances.iter().zip(self.instances.iter()) {
                let t = &st.stats.window;
                let done = t.completed + t.errors;
                let ns = end.since(start).as_nanos() as f64;
                let per_ns = |area: u128| if ns > 0.0 { area as f64 / ns } else { 0.0 };
                w.write_record([
                    s0.as_str(),
                    s1.as_str(),
                    "instance",
                    inst.name.as_str(),
                    &(done + t.rejected).to_string(),
                    &t.completed.to_string(),
                    &t.errors.to_string(),
                    "0",
                    &t.rejected.to_string(),
                    "0",
                    &format!("{:.3}", if secs > 0.0 { done as f64 / secs } else { 0.0 }),
                    &format!("{:.3}", t.sojourn_mean_ms()),
                    "",
                    "",
                    "",
                    &format!("{:.3}", t.sojourn_max_ns as f64 / 1e6),
                    &format!("{:.4}", per_ns(t.area_busy) / f64::from(st.workers)),
                    &format!("{:.4}", per_ns(t.area_queue)),
                    &format!("{:.4}", per_ns(t.area_in_system)),
                ])?;
            }
        }
        self.total.reset_window();
        for f in self.routes.iter_mut().chain(self.services.iter_mut()) {
            f.reset_window();
        }
        for st in &mut self.instances {
            st.stats.reset_window();
        }
        Ok(())
    }
}
