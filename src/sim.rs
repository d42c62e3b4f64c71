//! The event loop: one virtual clock, one queue of closed-enum events, one `match`.
//!
//! A request arrives at the gateway, whose proxy picks an instance of the route's
//! service and sends the call over a network link. At the instance the call becomes a
//! job: it waits for a worker, computes for a sampled service time, makes its downstream
//! calls (each through the instance's own proxy) and answers over the link. Timeouts end
//! a call at the caller only; the callee's work goes on and is counted as wasted.
//!
//! The loop is a few owners, each built by its own constructor (`Sim::new` composes
//! them) and each holding its own state; `Sim` adds the clock, the event queue and run
//! control, and `event_loop.rs` hands each event to the code of the owner it concerns:
//! - `live.rs`: the work in flight, in generational slabs (requests, calls, attempts,
//!   jobs, queued and held calls), so memory is bounded by it and an event that refers
//!   to finished work (a timeout after the response) finds a stale key and does nothing;
//! - `proxies.rs`: per calling site and destination, balancing and guards;
//! - `station.rs`: the instances as queueing stations;
//! - `network.rs`: the links and network faults, which decide each message's fate;
//! - `discovery.rs`, `faults.rs`, `arrivals.rs` (`Workload`): the registry and views,
//!   the scenario's faults, and where requests come from;
//! - `recorder.rs`: the figures, windows, CSV rows and spans, which record and never
//!   decide.
//!
//! A request's life: `arrivals.rs` issues it, `calls.rs` takes its call through the
//! gateway's proxy (`traffic.rs` routing, `guards.rs` breaker and bulkhead, `hosts.rs`
//! balancing), `sidecars.rs` and `network.rs` carry the attempt, `station.rs` runs the
//! job (whose downstream calls go through `calls.rs` again) and answers, and `calls.rs`
//! carries the answer (`answers.rs`) back through the guards to the request, which `recorder.rs` counts.

mod answers;
mod arrivals;
mod autoscale;
mod calls;
mod control_plane;
mod discovery;
mod event;
mod event_loop;
mod event_queue;
mod faults;
mod guards;
mod hosts;
mod lifecycle;
mod live;
mod locality;
mod network;
mod proxies;
mod recorder;
mod sidecars;
mod slab;
mod station;
mod tracing;
mod traffic;
mod window;

pub use autoscale::AUTOSCALING_HEADER;
use event::{CheckOutcome, Event};
pub use event_queue::{EventQueue, Lane};
pub use lifecycle::EVENTS_HEADER;
use lifecycle::Life;
pub use window::ALERTS_HEADER;

use crate::balance::{Balancer, Host};
use crate::dist::Dist;
use crate::metrics::{CallStats, StationStats};
use crate::model::*;
use crate::outcome::Outcome;
use crate::resilience::backoff::Backoff;
use crate::resilience::breaker::CircuitBreaker;
use crate::resilience::budget::RetryBudget;
use crate::resilience::bulkhead::{Admission, Bulkhead};
use crate::resilience::limiter::{Permit, RateLimiter};
use crate::resilience::outlier::{HostOutcome, OutlierDetector};
use crate::resilience::shedder::{Shedder, Verdict};
use crate::result::{Autoscaling, Detection, LimitKind, LocalityStats, Occurrence, RunResult, Scores, Stop};
use crate::rng::{RootSeed, Stream};
use crate::time::{SimDuration, SimTime};
use crate::workload::{Arrivals, Mix};
use live::{Attempt, Call, CallSite, Deferred, Job, NO_SPAN, Owner, Parent, Request, Route, Target};
use rand::Rng;
use slab::Key;
use station::FaultEffect;
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
    /// SLOs to judge besides the scenario's own (`--slo`).
    pub slos: Vec<crate::slo::Slo>,
    /// The share of requests traced (0 to 1), instead of the scenario's.
    pub trace_sampling: Option<f64>,
    /// Sends every call through the general call path, even one without a policy or a
    /// guard (which otherwise goes direct: `Owner::Direct`). The outputs are the same,
    /// only slower: the tests compare the two.
    pub no_direct_calls: bool,
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
    /// Circuit-breaker transitions, one CSV row each, as they happen.
    pub transitions: Option<&'a mut dyn Write>,
    /// Instance lifecycle and registry events, one CSV row each.
    pub events: Option<&'a mut dyn Write>,
    /// Alert state changes (pending, firing, resolved), one CSV row each.
    pub alerts: Option<&'a mut dyn Write>,
    /// The invariant checker, fed as the run goes (see [`crate::check`]).
    pub checker: Option<&'a mut crate::checker::Checker>,
    /// Spans of sampled requests: OTLP JSON lines, and Chrome trace-event JSON.
    pub traces_otlp: Option<&'a mut dyn Write>,
    pub trace_chrome: Option<&'a mut dyn Write>,
    pub progress: Option<&'a mut dyn FnMut(Progress)>,
    /// Each route's window histogram, as each window closes: (window start, window end,
    /// route, latency of what ended in the window). Used for `latency.hlog`.
    pub route_windows: Option<&'a mut RouteWindowFn<'a>>,
    /// Each autoscaler evaluation, one CSV row each (nothing without an autoscaler).
    pub autoscaling: Option<&'a mut dyn Write>,
}

/// The `Hooks::route_windows` callback.
pub type RouteWindowFn<'a> = dyn FnMut(SimTime, SimTime, RouteId, &crate::metrics::Latency) + 'a;

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

pub use locality::{LOCALITY_HEADER, write_locality_csv};

/// Caller sites: the gateway, then each instance's sidecar proxy.
const GATEWAY_SITE: usize = 0;

/// A calling site's name in reports: `gateway`, or the instance's.
fn site_name(sc: &Scenario, site: usize) -> &str {
    if site == GATEWAY_SITE { "gateway" } else { sc.instances[site - 1].name.as_str() }
}

struct Sim<'s, 'h> {
    sc: &'s Scenario,
    now: SimTime,
    events: EventQueue<Event>,
    /// The work in flight: requests, calls, attempts, jobs, queued and held calls.
    live: live::Live<'s>,
    /// The instances as queueing stations.
    stations: station::Stations,
    /// The proxies: per calling site and destination, balancing and guards.
    proxies: proxies::Proxies,
    /// The registry, the proxies' views and health checks.
    discovery: discovery::Discovery,
    /// SLOs, and per SLO and fault end (`faults.fault_ends`) the recovery so far.
    slos: Vec<crate::slo::Slo>,
    recoveries: Vec<Vec<Option<SimDuration>>>,
    detections: Vec<Detection>,
    /// Each alerting rule's alert.
    alerts: Vec<crate::alert::Alert>,
    checker: Option<&'h mut crate::checker::Checker>,
    /// Per user invariant: windows broken, and the first one described.
    invariants_broken: Vec<(u64, Option<String>)>,
    /// The stream drawing config propagation delays.
    config_rng: Stream,
    /// Per config change: proxies it reached, and the longest delay.
    config_applied: Vec<(u32, SimDuration)>,
    /// Calls without a policy or a guard may go direct (`Owner::Direct`): no routing
    /// rules and no invariant checker in the run, which follow calls.
    direct_calls: bool,
    /// The links and the network faults.
    network: network::Network<'s>,
    /// The scenario's faults as they come and go, and the resilience scores.
    faults: faults::Faults,
    /// Where requests come from.
    workload: arrivals::Workload,
    // Run control.
    stop_at: SimTime,
    requests_limit: u64,
    arrivals_open: bool,
    arrivals_end: SimTime,
    drain_deadline: SimTime,
    warmup: SimTime,
    issued: u64,
    issued_measured: u64,
    direct_count: u64,
    in_flight_max_seen: u64,
    events_done: u64,
    windows_done: u64,
    /// Lanes of the event queue for constant delays, by delay.
    const_lanes: Vec<(SimDuration, Lane)>,
    /// The figures, windows, CSV rows and spans of the run.
    recorder: recorder::Recorder<'h>,
    /// The services' autoscalers (empty: none, and no autoscaling event).
    autoscalers: Vec<autoscale::Scaler>,
    /// Versions, routing and rollouts (`None`: the scenario has none).
    traffic: Option<Box<traffic::State>>,
    /// Mesh security's state (`None`: no `security` block, nothing to do).
    security: Option<Box<sidecars::SecState>>,
}

/// Runs a validated scenario to its end.
///
/// # Errors
/// Only when writing the time series fails; limits end the run with `Stop::Limit`.
// Over 80 lines on purpose: the event loop is inlined into this function, and splitting
// out the setup or the gathering of the result changed how it is optimised (+0.6 % to
// +0.7 % instructions on M/M/4, measured with callgrind). In order: the options checked,
// the chaos faults drawn, each hook handed to its owner, the loop, the result.
pub fn run(sc: &Scenario, opts: &RunOptions, hooks: Hooks<'_>) -> Result<RunResult, RunError> {
    let Hooks {
        timeseries,
        transitions,
        events,
        alerts,
        checker,
        traces_otlp,
        trace_chrome,
        mut progress,
        route_windows,
        autoscaling,
    } = hooks;
    let seed = opts.seed.unwrap_or(sc.seed);
    let (duration, requests) = match (opts.duration, opts.requests) {
        (None, Some(n)) => (None, Some(n)),
        (d, n) => (d.or(sc.run.duration), n.or(sc.run.requests)),
    };
    if requests == Some(0) {
        return Err(RunError::Options("the request count must be at least 1".into()));
    }
    if let Some(d) = duration
        && (d.is_zero() || d <= sc.run.warmup)
    {
        return Err(RunError::Options(format!(
            "the duration ({d}) must be longer than the warm-up ({}) of {}",
            sc.run.warmup, sc.source
        )));
    }
    // The chaos monkey's faults join the scenario's for this run.
    let chaotic;
    let sc = match &sc.chaos {
        None => sc,
        Some(m) => {
            let until = duration.map(|d| SimTime::ZERO + d);
            let drawn = crate::chaos::draw(m, RootSeed(seed), until).map_err(|e| RunError::Options(e.to_string()))?;
            let mut with = sc.clone();
            with.faults.extend(drawn);
            chaotic = with;
            &chaotic
        }
    };
    let mut sim = Sim::new(sc, RootSeed(seed), duration, requests, timeseries, transitions, events)?;
    if let Some(w) = alerts {
        let mut w = csv::WriterBuilder::new().from_writer(w);
        w.write_record(ALERTS_HEADER)?;
        sim.recorder.alerts_csv = Some(w);
    }
    let rate = opts.trace_sampling.unwrap_or(sc.trace_sampling);
    if !(0.0..=1.0).contains(&rate) {
        return Err(RunError::Options(format!("the trace sampling must be from 0% to 100%, found {}%", 100.0 * rate)));
    }
    // The checker watches span trees too: with no trace file asked for, spans are made
    // and checked but written nowhere (the tracer draws from its own streams only).
    if traces_otlp.is_some() || trace_chrome.is_some() || checker.is_some() {
        let s = RootSeed(seed);
        sim.recorder.tracer = Some(crate::trace::Tracer::new(
            rate,
            s.stream("trace/sample"),
            s.stream("trace/ids"),
            traces_otlp,
            trace_chrome,
        ));
    }
    sim.recorder.route_windows = route_windows;
    if let Some(w) = autoscaling.filter(|_| sc.services.iter().any(|s| s.autoscaler.is_some())) {
        let mut w = csv::WriterBuilder::new().from_writer(w);
        w.write_record(AUTOSCALING_HEADER)?;
        sim.recorder.autoscaling_csv = Some(w);
    }
    let mut checker = checker;
    if let Some(c) = checker.as_deref_mut() {
        sim.proxies.guard_limits = sim.proxies.guard_limits(sc);
        c.expect_budgets(&sim.proxies.budget_configs(sc));
    }
    sim.checker = checker;
    sim.direct_calls = !opts.no_direct_calls && sim.checker.is_none() && sim.traffic.is_none();
    sim.slos = sc.slos.iter().chain(&opts.slos).cloned().collect();
    // Every occurrence's end, repeats included (up to the run's duration, or 1,000).
    sim.faults.fault_ends = sc
        .faults
        .iter()
        .filter_map(|f| f.end.map(|end| (f, end)))
        .flat_map(|(f, end)| {
            let n = match (f.repeat, duration) {
                (Some(r), Some(d)) => (d.as_nanos().saturating_sub(f.start.0) / r.as_nanos() + 1).min(1000),
                (Some(_), None) => 1000,
                (None, _) => 1,
            };
            (0..n).map(move |k| end + SimDuration::from_nanos(k * f.repeat.map_or(0, |r| r.as_nanos())))
        })
        .collect();
    sim.faults.fault_ends.sort();
    sim.faults.fault_ends.dedup();
    sim.recoveries = vec![vec![None; sim.faults.fault_ends.len()]; sim.slos.len()];
    let stop = sim.run_loop(&mut progress)?;
    let checker = sim.checker.take();
    sim.flush_final(sim.now)?;
    sim.recorder.total.merge_latencies(sim.recorder.routes.iter(), true);
    for st in &mut sim.stations.instances {
        st.stats.close_totals(sim.now);
    }
    if let Some(w) = sim.recorder.timeseries.as_mut() {
        w.flush()?;
    }
    if let Some(w) = sim.recorder.transitions.as_mut() {
        w.flush()?;
    }
    if let Some(w) = sim.recorder.events_csv.as_mut() {
        w.flush()?;
    }
    if let Some(w) = sim.recorder.alerts_csv.as_mut() {
        w.flush()?;
    }
    if let Some(w) = sim.recorder.autoscaling_csv.as_mut() {
        w.flush()?;
    }
    let autoscaling = sim.autoscaling_results(sim.now);
    if let Some(t) = sim.recorder.tracer.as_mut() {
        t.finish()?;
    }
    if let Some(e) = sim.recorder.deferred_error.take() {
        return Err(e.into());
    }
    let in_flight_measured = sim.issued_measured - sim.recorder.total.counts.total();
    let probes = sim.stations.instances.iter().map(|i| i.kubelet.as_ref().map(|k| k.counters())).collect();
    let slos = sim.judge_slos();
    let rollouts = sim.take_rollouts();
    let mut service_calls = vec![CallStats::default(); sc.services.len()];
    for (point, stats) in sim.recorder.points.iter().zip(&sim.recorder.point_calls) {
        service_calls[point.destination.idx()].merge(stats);
    }
    let result = RunResult {
        seed,
        stop,
        end: sim.now,
        arrivals_end: if sim.arrivals_open { sim.now } else { sim.arrivals_end },
        warmup: sim.warmup,
        events: sim.events_done,
        requests: sim.issued,
        requests_measured: sim.issued_measured,
        direct_calls: sim.direct_count,
        in_flight_measured,
        in_flight_max_seen: sim.in_flight_max_seen,
        total: sim.recorder.total,
        routes: sim.recorder.routes,
        services: sim.recorder.services,
        service_calls,
        point_calls: sim.recorder.point_calls,
        points: sim.recorder.points,
        work_ns: sim.recorder.work_ns,
        goodput_ns: sim.recorder.goodput_ns,
        stations: sim.stations.instances.into_iter().map(|i| i.stats).collect(),
        late_responses: sim.recorder.late_responses,
        detections: sim.detections,
        config_applied: sim.config_applied,
        registry_read_timeouts: sim.discovery.registry_read_timeouts,
        probes,
        slos,
        occurrences: sim.faults.occurrences,
        faults: sc.faults.clone(),
        invariants: sc
            .invariants
            .iter()
            .zip(&sim.invariants_broken)
            .map(|(i, (n, first))| crate::invariant::InvariantResult {
                text: i.text.clone(),
                holds: *n == 0,
                windows_broken: *n,
                first: first.clone(),
            })
            .collect(),
        alerts: sc
            .alerts
            .iter()
            .zip(&sim.alerts)
            .map(|(rule, a)| crate::alert::AlertResult {
                rule: rule.clone(),
                fired: a.fired,
                first_fired: a.first_fired,
                firing: a.firing_until(sim.now),
                firing_at_end: matches!(a.state, crate::alert::AlertState::Firing { .. }),
            })
            .collect(),
        scores: sim.faults.scores,
        autoscaling,
        locality: sim.recorder.locality_stats,
        rollouts,
        security: sim.security.take().map(|s| s.finish(sim.now)),
    };
    if let Some(c) = checker {
        c.finish(sc, &result);
    }
    Ok(result)
}

pub use crate::output::timeseries::HEADER as TIMESERIES_HEADER;
pub use crate::output::transitions::HEADER as TRANSITIONS_HEADER;

impl Sim<'_, '_> {
    /// Reports an observation to the invariant checker, if one watches.
    #[inline(always)]
    fn observe(&mut self, obs: crate::checker::Obs) {
        if let Some(c) = self.checker.as_deref_mut() {
            c.observe(obs);
        }
    }

    /// A key as one number, for the checker's reports.
    fn key_id(k: Key) -> u64 {
        (u64::from(k.index) << 32) | u64::from(k.generation)
    }
}

impl<'s, 'h> Sim<'s, 'h> {
    fn new(
        sc: &'s Scenario,
        seed: RootSeed,
        duration: Option<SimDuration>,
        requests: Option<u64>,
        timeseries: Option<&'h mut dyn Write>,
        transitions: Option<&'h mut dyn Write>,
        events: Option<&'h mut dyn Write>,
    ) -> Result<Self, RunError> {
        let proxies = proxies::Proxies::new(sc, seed);
        let proxy_site = &proxies.proxy_site;
        let discovery = discovery::Discovery::new(sc, seed, proxy_site);
        let security = sc.security.as_ref().map(|_| Box::new(sidecars::SecState::new(sc, seed, proxy_site)));
        let recorder = recorder::Recorder::new(sc, proxy_site, timeseries, transitions, events)?;
        Ok(Sim {
            sc,
            now: SimTime::ZERO,
            events: EventQueue::new(),
            live: live::Live::new(),
            stations: station::Stations::new(sc, seed),
            proxies,
            discovery,
            slos: Vec::new(),
            recoveries: Vec::new(),
            detections: Vec::new(),
            alerts: vec![crate::alert::Alert::default(); sc.alerts.len()],
            checker: None,
            invariants_broken: vec![(0, None); sc.invariants.len()],
            config_rng: seed.stream("control-plane/propagation"),
            config_applied: vec![(0, SimDuration::ZERO); sc.config_changes.len()],
            direct_calls: false,
            network: network::Network::new(sc, seed),
            faults: faults::Faults::new(sc, seed),
            workload: arrivals::Workload::new(sc, seed),
            stop_at: duration.map_or(SimTime::MAX, |d| SimTime::ZERO + d),
            requests_limit: requests.unwrap_or(u64::MAX),
            arrivals_open: true,
            arrivals_end: SimTime::MAX,
            drain_deadline: SimTime::MAX,
            warmup: SimTime::ZERO + sc.run.warmup,
            issued: 0,
            issued_measured: 0,
            direct_count: 0,
            in_flight_max_seen: 0,
            security,
            recorder,
            events_done: 0,
            windows_done: 0,
            const_lanes: Vec::new(),
            autoscalers: Vec::new(),
            traffic: traffic::State::new(sc, seed),
        })
    }
}
