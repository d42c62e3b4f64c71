//! Kubernetes container probes: startup, liveness and readiness, as the kubelet runs them.
//!
//! One `ProbeSet` lives per instance (container) and follows the kubelet's prober
//! (`pkg/kubelet/prober/worker.go`, `doProbe`; `prober_manager.go`, `UpdatePodStatus`):
//!
//! - **Workers and ticks.** Each configured probe has a worker that probes once when it starts
//!   (when the pod is added, before the container runs) and then at every tick of a
//!   `periodSeconds` ticker. The ticker keeps its phase across container restarts. A tick on
//!   which the probe may not run is simply skipped: the container is not running, the worker
//!   is on hold after a failed liveness or startup probe, fewer than `initialDelaySeconds`
//!   have passed since the container started, the probe is liveness or readiness and the
//!   container has not started, or it is the startup probe and the container has started. So
//!   `initialDelaySeconds` is a lower bound rounded up to the tick grid: with a 10 s period
//!   and a 5 s delay the first probe runs 10 s after the ticks' origin. [`ProbeSet::new`] sets
//!   the origin; [`ProbeSet::start`] marks the container running.
//! - **Probes run one at a time.** A probe blocks its worker until it answers or times out
//!   (`timeoutSeconds`; a timeout is a failure). Go's ticker buffers one tick, so a probe that
//!   outlasts a tick is followed at once by the next.
//! - **Thresholds** (`resultRun`). Consecutive equal results are counted; a failure becomes the
//!   probe's result at the `failureThreshold`-th in a row, a success at the
//!   `successThreshold`-th (which must be 1 for liveness and startup). Initial results:
//!   readiness *Failure* (not ready until it succeeds), liveness *Success*, startup *Unknown*.
//! - **Startup** gates the others: until it succeeds, liveness and readiness do not run and
//!   the container is not ready; when it succeeds ([`ProbeEvent::Started`]) it stops, and the
//!   kubelet's status sync triggers a readiness probe at once (its manual trigger), while
//!   liveness waits for its next tick. A startup probe that fails `failureThreshold` times in
//!   a row kills the container ([`ProbeEvent::Restart`]); without a startup probe the
//!   container counts as started as soon as it runs.
//! - **Readiness** sets whether the instance is in its service's endpoints
//!   ([`ProbeEvent::Ready`], [`ProbeEvent::Unready`]) and never restarts anything. Without a
//!   readiness probe a started container is ready.
//! - **Liveness** failing `failureThreshold` times in a row kills the container
//!   ([`ProbeEvent::Restart`]). The worker then holds until a new container runs.
//!
//! A restart also makes the container unready at once (a terminating pod leaves the ready
//! endpoints). The loop kills the instance, waits the restart delay (kubelet's CrashLoopBackOff:
//! 10 s doubling to 5 min, and the termination grace period), and calls [`ProbeSet::start`]
//! when the new container runs. A container that exits by itself is restarted by the kubelet
//! without any probe: the loop calls [`ProbeSet::stop`]; probes matter for a container that
//! hangs, whose probes time out.
//!
//! **Time to act** on a hang, from the last probe that passed: `period × failureThreshold`
//! plus the last probe's `timeout`, for liveness (restart) and readiness (out of the endpoints,
//! before the endpoints controller and the proxies propagate it).
//!
//! **Where this differs from the kubelet**: the workers' origin is given (the kubelet starts
//! them when the pod is added, with a random initial sleep only right after a kubelet
//! restart); a probe's result counts the instant it arrives (the kubelet's status sync is
//! asynchronous); the readiness trigger at start-up fires once, at the instant the container
//! is started (the kubelet re-triggers it at every status sync while unready, and the
//! `ContainerLifecycleProber` feature gate removes it); probe errors and `Unknown` results,
//! which the kubelet throws away, are not modelled; result counts restart from zero with each
//! container (the kubelet keeps a readiness run across restarts); `initialDelaySeconds` is
//! compared in nanoseconds (the kubelet truncates the elapsed time to whole seconds, the same
//! for whole-second delays).

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::discovery::{ProbeConfig, ProbeKind, ProbeSetConfig};
use crate::time::{SimDuration, SimTime};

/// How one probe ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProbeResult {
    Success,
    Failure,
    /// No answer within `timeoutSeconds`: a failure.
    Timeout,
}

/// Why the kubelet kills a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RestartCause {
    /// The startup probe failed `failureThreshold` times in a row.
    Startup,
    /// The liveness probe failed `failureThreshold` times in a row.
    Liveness,
}

/// What a probe result, a start or a stop changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProbeEvent {
    /// The container counts as started: the startup probe succeeded, or there is none.
    Started,
    /// The container became ready: into its service's endpoints.
    Ready,
    /// The container is no longer ready: out of the endpoints, not restarted.
    Unready,
    /// The kubelet kills the container; the probe set now treats it as stopped.
    Restart(RestartCause),
}

/// A probe in flight, from [`ProbeSet::begin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeTicket {
    pub kind: ProbeKind,
    /// When the probe fails for want of an answer.
    pub timeout_at: SimTime,
    seq: u64,
}

/// One worker's state.
#[derive(Clone, Debug, Default)]
struct Worker {
    /// The earliest tick of the grid not yet consumed.
    next_tick: SimTime,
    /// A buffered tick or a manual trigger, to run at this instant if the probe may.
    trigger: Option<SimTime>,
    /// The sequence number of the probe in flight.
    in_flight: Option<u64>,
    /// The last result (true for success) and how many times in a row.
    last: Option<bool>,
    run: u32,
}

/// Counts of probe activity, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProbeCounters {
    /// Probes sent, by [`ProbeKind::index`].
    pub probes: [u64; 3],
    /// Failed probes (timeouts included), by [`ProbeKind::index`].
    pub failures: [u64; 3],
    pub restarts: u64,
}

/// The kubelet's probe workers for one container.
#[derive(Clone, Debug)]
pub struct ProbeSet {
    config: ProbeSetConfig,
    origin: SimTime,
    seq: u64,
    /// When the running container started.
    running_since: Option<SimTime>,
    /// When it counted as started.
    started_at: Option<SimTime>,
    ready: bool,
    workers: [Worker; 3],
    counters: ProbeCounters,
}

impl ProbeSet {
    /// The workers of a pod added at `now`: their tickers tick at `now + k × period`. The
    /// container is not running yet.
    ///
    /// # Panics
    /// If the config does not pass [`ProbeSetConfig::validate`].
    pub fn new(config: &ProbeSetConfig, now: SimTime) -> Self {
        if let Err(e) = config.validate() {
            panic!("{e}");
        }
        let worker = Worker { next_tick: now, ..Worker::default() };
        ProbeSet {
            config: config.clone(),
            origin: now,
            seq: 0,
            running_since: None,
            started_at: None,
            ready: false,
            workers: [worker.clone(), worker.clone(), worker],
            counters: ProbeCounters::default(),
        }
    }

    /// The container runs from `now` (first start or restart): counts restart, no probe in
    /// flight. Without a startup probe it is started at once ([`ProbeEvent::Started`]), and
    /// then ready at once without a readiness probe ([`ProbeEvent::Ready`]).
    ///
    /// # Panics
    /// If it is already running.
    pub fn start(&mut self, now: SimTime) -> Vec<ProbeEvent> {
        assert!(self.running_since.is_none(), "container started twice");
        self.running_since = Some(now);
        self.started_at = None;
        self.ready = false;
        for kind in ProbeKind::ALL {
            let next_tick = self.tick_at_or_after(kind, now);
            let w = &mut self.workers[kind.index()];
            *w = Worker { next_tick, ..Worker::default() };
        }
        let mut events = Vec::new();
        if self.config.startup.is_none() {
            self.on_started(now, &mut events);
        }
        events
    }

    /// The container stopped at `now` (it exited, or the loop killed it): probes stop until
    /// the next [`ProbeSet::start`], a probe in flight becomes stale, and a ready container
    /// becomes [`ProbeEvent::Unready`].
    pub fn stop(&mut self, _now: SimTime) -> Vec<ProbeEvent> {
        let mut events = Vec::new();
        self.kill(&mut events);
        events
    }

    /// When `kind` is next due, if it may run before something else happens.
    pub fn due(&self, kind: ProbeKind) -> Option<SimTime> {
        let config = self.config.get(kind)?;
        let since = self.running_since?;
        let w = &self.workers[kind.index()];
        if w.in_flight.is_some() {
            return None;
        }
        let gate = match (kind, self.started_at) {
            (ProbeKind::Startup, None) => since,
            (ProbeKind::Startup, Some(_)) | (_, None) => return None,
            (_, Some(started)) => started,
        };
        let eligible = (since + config.initial_delay).max(gate);
        let trigger = w.trigger.filter(|&t| t >= eligible);
        let tick = self.tick_at_or_after(kind, eligible.max(w.next_tick));
        Some(trigger.map_or(tick, |t| t.min(tick)))
    }

    /// The earliest due probe, in [`ProbeKind`] order on ties.
    pub fn next_due(&self) -> Option<(SimTime, ProbeKind)> {
        ProbeKind::ALL.into_iter().filter_map(|k| self.due(k).map(|t| (t, k))).min()
    }

    /// Sends the `kind` probe at `now`. Report its answer with [`ProbeSet::on_result`], at the
    /// latest at the ticket's `timeout_at`.
    ///
    /// # Panics
    /// If it is not due at `now`.
    pub fn begin(&mut self, now: SimTime, kind: ProbeKind) -> ProbeTicket {
        let due = self.due(kind).unwrap_or_else(|| panic!("{kind} is not due"));
        assert!(now >= due, "{kind} at {now} before its time {due}");
        let timeout = self.config.get(kind).expect("configured").timeout;
        self.seq += 1;
        let next_tick = self.tick_after(kind, now);
        let w = &mut self.workers[kind.index()];
        w.in_flight = Some(self.seq);
        w.trigger = None;
        w.next_tick = next_tick;
        self.counters.probes[kind.index()] += 1;
        ProbeTicket { kind, timeout_at: now + timeout, seq: self.seq }
    }

    /// A probe ended at `now` (a timeout at `ticket.timeout_at`). Returns what changed; a stale
    /// ticket (the probe already ended, or the container stopped since) changes nothing.
    pub fn on_result(&mut self, now: SimTime, ticket: ProbeTicket, result: ProbeResult) -> Vec<ProbeEvent> {
        let kind = ticket.kind;
        let mut events = Vec::new();
        let after = self.tick_after(kind, now);
        let config = self.config.get(kind).expect("configured").clone();
        let w = &mut self.workers[kind.index()];
        if w.in_flight != Some(ticket.seq) {
            return events;
        }
        w.in_flight = None;
        // A tick that fired while the probe ran waits in the ticker's channel.
        if w.next_tick <= now {
            w.trigger = Some(now);
            w.next_tick = after;
        }
        let success = result == ProbeResult::Success;
        if !success {
            self.counters.failures[kind.index()] += 1;
        }
        if w.last == Some(success) {
            w.run = w.run.saturating_add(1);
        } else {
            w.last = Some(success);
            w.run = 1;
        }
        let threshold = if success { config.success_threshold } else { config.failure_threshold };
        if w.run < threshold {
            return events;
        }
        match (kind, success) {
            (ProbeKind::Startup, true) => self.on_started(now, &mut events),
            (ProbeKind::Liveness, true) => {}
            (ProbeKind::Readiness, true) => {
                if !self.ready {
                    self.ready = true;
                    events.push(ProbeEvent::Ready);
                }
            }
            (ProbeKind::Readiness, false) => {
                if self.ready {
                    self.ready = false;
                    events.push(ProbeEvent::Unready);
                }
            }
            (ProbeKind::Startup | ProbeKind::Liveness, false) => {
                let cause = if kind == ProbeKind::Startup { RestartCause::Startup } else { RestartCause::Liveness };
                self.kill(&mut events);
                self.counters.restarts += 1;
                events.push(ProbeEvent::Restart(cause));
            }
        }
        events
    }

    pub fn is_running(&self) -> bool {
        self.running_since.is_some()
    }

    pub fn is_started(&self) -> bool {
        self.started_at.is_some()
    }

    pub fn is_ready(&self) -> bool {
        self.ready
    }

    pub fn counters(&self) -> ProbeCounters {
        self.counters
    }

    pub fn config(&self) -> &ProbeSetConfig {
        &self.config
    }

    /// The container counts as started at `now`.
    fn on_started(&mut self, now: SimTime, events: &mut Vec<ProbeEvent>) {
        self.started_at = Some(now);
        events.push(ProbeEvent::Started);
        if self.config.readiness.is_some() {
            // `UpdatePodStatus` triggers a readiness probe on a started, unready container.
            self.workers[ProbeKind::Readiness.index()].trigger = Some(now);
        } else {
            self.ready = true;
            events.push(ProbeEvent::Ready);
        }
    }

    fn kill(&mut self, events: &mut Vec<ProbeEvent>) {
        if self.ready {
            self.ready = false;
            events.push(ProbeEvent::Unready);
        }
        self.running_since = None;
        self.started_at = None;
        for w in &mut self.workers {
            w.in_flight = None;
            w.trigger = None;
        }
    }

    /// The first tick of `kind`'s ticker at or after `t`.
    fn tick_at_or_after(&self, kind: ProbeKind, t: SimTime) -> SimTime {
        let Some(config) = self.config.get(kind) else { return t };
        let p = config.period.as_nanos();
        let k = t.since(self.origin).as_nanos().div_ceil(p);
        self.origin + SimDuration::from_nanos(k.saturating_mul(p))
    }

    /// The first tick of `kind`'s ticker strictly after `t`.
    fn tick_after(&self, kind: ProbeKind, t: SimTime) -> SimTime {
        let Some(config) = self.config.get(kind) else { return t };
        let p = config.period.as_nanos();
        let k = t.since(self.origin).as_nanos() / p + 1;
        self.origin + SimDuration::from_nanos(k.saturating_mul(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: u64) -> SimTime {
        SimTime(v * 1_000_000_000)
    }

    fn ms(v: u64) -> SimTime {
        SimTime(v * 1_000_000)
    }

    fn secs(v: u64) -> SimDuration {
        SimDuration::from_secs(v)
    }

    fn probe(period: u64, failure_threshold: u32) -> ProbeConfig {
        ProbeConfig { period: secs(period), failure_threshold, ..ProbeConfig::default() }
    }

    const LATENCY: SimDuration = SimDuration::from_millis(100);

    /// Runs the next due probe with `result` (answered after `LATENCY`, or timing out).
    fn step(p: &mut ProbeSet, result: ProbeResult) -> (SimTime, ProbeKind, Vec<ProbeEvent>) {
        let (at, kind) = p.next_due().expect("a probe is due");
        let ticket = p.begin(at, kind);
        let end = if result == ProbeResult::Timeout { ticket.timeout_at } else { at + LATENCY };
        (end, kind, p.on_result(end, ticket, result))
    }

    #[test]
    fn readiness_starts_unready_until_its_first_success() {
        let config = ProbeSetConfig { readiness: Some(probe(10, 3)), ..ProbeSetConfig::default() };
        let mut p = ProbeSet::new(&config, SimTime::ZERO);
        assert_eq!(p.next_due(), None, "nothing runs before the container");
        assert_eq!(p.start(SimTime::ZERO), vec![ProbeEvent::Started]);
        assert!(!p.is_ready());
        assert_eq!(p.next_due(), Some((SimTime::ZERO, ProbeKind::Readiness)));
        assert_eq!(step(&mut p, ProbeResult::Failure).2, vec![], "already unready");
        assert_eq!(p.next_due(), Some((s(10), ProbeKind::Readiness)));
        assert_eq!(step(&mut p, ProbeResult::Success), (ms(10_100), ProbeKind::Readiness, vec![ProbeEvent::Ready]));
        // Without a readiness probe a started container is ready at once.
        let mut p = ProbeSet::new(&ProbeSetConfig::default(), SimTime::ZERO);
        assert_eq!(p.start(s(1)), vec![ProbeEvent::Started, ProbeEvent::Ready]);
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn readiness_failures_unready_without_a_restart_and_success_threshold_readies() {
        let readiness = ProbeConfig { success_threshold: 2, ..probe(10, 3) };
        let config = ProbeSetConfig { readiness: Some(readiness), ..ProbeSetConfig::default() };
        let mut p = ProbeSet::new(&config, SimTime::ZERO);
        p.start(SimTime::ZERO);
        assert_eq!(step(&mut p, ProbeResult::Success).2, vec![]);
        assert_eq!(step(&mut p, ProbeResult::Success).2, vec![ProbeEvent::Ready]);
        assert_eq!(step(&mut p, ProbeResult::Failure).2, vec![]);
        assert_eq!(step(&mut p, ProbeResult::Timeout).2, vec![]);
        let (end, _, events) = step(&mut p, ProbeResult::Failure);
        assert_eq!((end, events), (ms(40_100), vec![ProbeEvent::Unready]));
        assert!(p.is_running() && p.is_started(), "readiness never restarts");
        for _ in 0..5 {
            assert_eq!(step(&mut p, ProbeResult::Failure).2, vec![]);
        }
        assert_eq!(step(&mut p, ProbeResult::Success).2, vec![]);
        assert_eq!(step(&mut p, ProbeResult::Success).2, vec![ProbeEvent::Ready]);
        assert_eq!(p.counters().restarts, 0);
    }

    #[test]
    fn liveness_restarts_after_exactly_failure_threshold_consecutive_failures() {
        let config =
            ProbeSetConfig { liveness: Some(probe(10, 3)), readiness: Some(probe(5, 1)), ..ProbeSetConfig::default() };
        let mut p = ProbeSet::new(&config, SimTime::ZERO);
        p.start(SimTime::ZERO);
        // Readiness (triggered at start, then every 5 s) always answers; liveness fails twice,
        // passes once (resetting the run), then fails three times.
        let mut liveness = [ProbeResult::Failure, ProbeResult::Failure, ProbeResult::Success]
            .into_iter()
            .chain(std::iter::repeat(ProbeResult::Timeout));
        let mut log = Vec::new();
        loop {
            let kind = p.next_due().unwrap().1;
            let result = if kind == ProbeKind::Liveness { liveness.next().unwrap() } else { ProbeResult::Success };
            let (end, kind, events) = step(&mut p, result);
            if kind == ProbeKind::Liveness {
                log.push(end);
            }
            if events.contains(&ProbeEvent::Restart(RestartCause::Liveness)) {
                assert_eq!(events, vec![ProbeEvent::Unready, ProbeEvent::Restart(RestartCause::Liveness)]);
                break;
            }
        }
        // Liveness at 0, 10, 20 (pass), then 30, 40, 50 time out: restart at 51 s.
        assert_eq!(log, vec![ms(100), ms(10_100), ms(20_100), s(31), s(41), s(51)]);
        assert!(!p.is_running() && !p.is_ready());
        assert_eq!(p.next_due(), None, "on hold until the new container runs");
        // The new container starts 10 s later: probes resume on the same tick grid.
        assert_eq!(p.start(s(61)), vec![ProbeEvent::Started]);
        assert_eq!(p.next_due(), Some((s(61), ProbeKind::Readiness)));
        assert_eq!(p.due(ProbeKind::Liveness), Some(s(70)));
    }

    #[test]
    fn startup_gates_liveness_and_readiness() {
        let config =
            ProbeSetConfig { startup: Some(probe(5, 10)), liveness: Some(probe(10, 3)), readiness: Some(probe(10, 3)) };
        let mut p = ProbeSet::new(&config, SimTime::ZERO);
        assert_eq!(p.start(SimTime::ZERO), vec![]);
        assert!(!p.is_started());
        for _ in 0..3 {
            let (_, kind, events) = step(&mut p, ProbeResult::Failure);
            assert_eq!((kind, events), (ProbeKind::Startup, vec![]));
            assert_eq!(p.due(ProbeKind::Liveness), None);
            assert_eq!(p.due(ProbeKind::Readiness), None);
        }
        // The fourth startup probe, at 15 s, passes at 15.1 s.
        let (end, kind, events) = step(&mut p, ProbeResult::Success);
        assert_eq!((end, kind, events), (ms(15_100), ProbeKind::Startup, vec![ProbeEvent::Started]));
        assert_eq!(p.due(ProbeKind::Startup), None, "startup stops once started");
        // Readiness runs at once (the status sync's trigger); liveness at its next tick.
        assert_eq!(p.due(ProbeKind::Readiness), Some(ms(15_100)));
        assert_eq!(p.due(ProbeKind::Liveness), Some(s(20)));
        assert_eq!(step(&mut p, ProbeResult::Success).2, vec![ProbeEvent::Ready]);
        assert_eq!(p.due(ProbeKind::Readiness), Some(s(20)));
    }

    #[test]
    fn a_failing_startup_probe_kills_the_container() {
        let config = ProbeSetConfig { startup: Some(probe(2, 3)), liveness: Some(probe(10, 3)), ..Default::default() };
        let mut p = ProbeSet::new(&config, SimTime::ZERO);
        p.start(SimTime::ZERO);
        step(&mut p, ProbeResult::Failure);
        step(&mut p, ProbeResult::Timeout);
        let (end, _, events) = step(&mut p, ProbeResult::Failure);
        assert_eq!((end, events), (ms(4_100), vec![ProbeEvent::Restart(RestartCause::Startup)]));
        assert_eq!(p.next_due(), None);
        p.start(s(20));
        assert_eq!(p.next_due(), Some((s(20), ProbeKind::Startup)));
        // Three fresh failures are needed again.
        step(&mut p, ProbeResult::Failure);
        assert!(p.is_running());
    }

    #[test]
    fn initial_delay_rounds_up_to_the_tick_grid() {
        let readiness = ProbeConfig { initial_delay: secs(5), ..probe(10, 3) };
        let liveness = ProbeConfig { initial_delay: secs(25), ..probe(10, 3) };
        let config = ProbeSetConfig { liveness: Some(liveness), readiness: Some(readiness), ..Default::default() };
        let mut p = ProbeSet::new(&config, SimTime::ZERO);
        p.start(SimTime::ZERO);
        // The readiness trigger at 0 s is too early; the ticks at 0 s too: first probe at 10 s.
        assert_eq!(p.due(ProbeKind::Readiness), Some(s(10)));
        assert_eq!(p.due(ProbeKind::Liveness), Some(s(30)));
        // Workers created before the container started: the grid keeps their phase.
        let mut p = ProbeSet::new(&config, SimTime::ZERO);
        p.start(s(3));
        assert_eq!(p.due(ProbeKind::Readiness), Some(s(10)), "3 + 5 = 8, next tick 10");
        assert_eq!(p.due(ProbeKind::Liveness), Some(s(30)), "3 + 25 = 28, next tick 30");
        // Without a delay the trigger at the start runs readiness at once, off the grid.
        let config = ProbeSetConfig { readiness: Some(probe(10, 3)), ..Default::default() };
        let mut p = ProbeSet::new(&config, SimTime::ZERO);
        p.start(s(3));
        assert_eq!(p.due(ProbeKind::Readiness), Some(s(3)));
    }

    #[test]
    fn a_probe_outlasting_its_period_is_followed_at_once_and_stale_answers_are_ignored() {
        let liveness = ProbeConfig { timeout: secs(4), ..probe(3, 5) };
        let config = ProbeSetConfig { liveness: Some(liveness), ..Default::default() };
        let mut p = ProbeSet::new(&config, SimTime::ZERO);
        p.start(SimTime::ZERO);
        let ticket = p.begin(SimTime::ZERO, ProbeKind::Liveness);
        assert_eq!(p.next_due(), None);
        p.on_result(s(4), ticket, ProbeResult::Timeout);
        // The tick at 3 s was buffered: the next probe runs at 4 s, then back on the grid.
        assert_eq!(p.next_due(), Some((s(4), ProbeKind::Liveness)));
        let ticket = p.begin(s(4), ProbeKind::Liveness);
        assert_eq!(p.on_result(ms(4_500), ticket, ProbeResult::Success), vec![]);
        assert_eq!(p.next_due(), Some((s(6), ProbeKind::Liveness)));
        assert_eq!(p.on_result(ms(4_600), ticket, ProbeResult::Failure), vec![], "stale");
        // A container stopped while its probe was in flight: the answer is stale.
        let ticket = p.begin(s(6), ProbeKind::Liveness);
        p.stop(ms(6_100));
        assert_eq!(p.on_result(ms(6_200), ticket, ProbeResult::Failure), vec![]);
        assert_eq!(p.counters().failures[ProbeKind::Liveness.index()], 1);
    }

    #[test]
    fn a_hang_is_acted_on_within_period_times_threshold_plus_timeout() {
        let config =
            ProbeSetConfig { liveness: Some(probe(10, 3)), readiness: Some(probe(10, 3)), ..ProbeSetConfig::default() };
        let mut p = ProbeSet::new(&config, SimTime::ZERO);
        p.start(SimTime::ZERO);
        // The container hangs at 25 s: every probe sent from then on times out.
        let hang = s(25);
        let (mut last_pass, mut unready, mut restart) = (SimTime::ZERO, None, None);
        while restart.is_none() {
            let (at, _) = p.next_due().unwrap();
            let result = if at >= hang { ProbeResult::Timeout } else { ProbeResult::Success };
            let (end, kind, events) = step(&mut p, result);
            if kind == ProbeKind::Liveness && result == ProbeResult::Success {
                last_pass = at;
            }
            for e in events {
                match e {
                    ProbeEvent::Unready => unready = Some(end),
                    ProbeEvent::Restart(_) => restart = Some(end),
                    _ => {}
                }
            }
        }
        // Readiness (at 0 by trigger, then 10, 20; 30, 40, 50 time out) goes unready at 51 s,
        // and liveness restarts at its third timeout, 51 s.
        assert_eq!(last_pass, s(20));
        assert_eq!(unready, Some(s(51)));
        assert_eq!(restart, Some(s(51)));
        assert!(restart.unwrap().since(last_pass) <= secs(10 * 3 + 1));
    }

    #[test]
    fn validation_follows_the_api_server() {
        assert!(ProbeSetConfig::default().validate().is_ok());
        let two = ProbeConfig { success_threshold: 2, ..ProbeConfig::default() };
        assert!(two.validate(ProbeKind::Readiness).is_ok());
        assert!(two.validate(ProbeKind::Liveness).unwrap_err().contains("successThreshold must be 1"));
        assert!(two.validate(ProbeKind::Startup).is_err());
        let fast = ProbeConfig { period: SimDuration::from_millis(500), ..ProbeConfig::default() };
        assert!(fast.validate(ProbeKind::Readiness).unwrap_err().contains("periodSeconds"));
        let config = ProbeSetConfig { startup: Some(two), ..Default::default() };
        assert!(config.validate().is_err());
    }

    proptest! {
        /// Whatever the answers: ready implies started; liveness and readiness run only once
        /// started and startup only before; a probe never runs before its initial delay; a
        /// restart comes exactly at the failure_threshold-th failure in a row of liveness or
        /// startup; readiness flips only at its thresholds.
        #[test]
        fn probes_respect_gates_and_thresholds(
            with_startup in any::<bool>(),
            thresholds in (1u32..4, 1u32..4, 1u32..4),
            delays in (0u64..20, 0u64..20),
            answers in prop::collection::vec(0u8..3, 1..300),
        ) {
            let (startup_f, live_f, ready_s) = thresholds;
            let config = ProbeSetConfig {
                startup: with_startup.then(|| probe(2, startup_f)),
                liveness: Some(ProbeConfig { initial_delay: secs(delays.0), ..probe(3, live_f) }),
                readiness: Some(ProbeConfig { initial_delay: secs(delays.1), success_threshold: ready_s, ..probe(4, 2) }),
            };
            let mut p = ProbeSet::new(&config, SimTime::ZERO);
            let mut since = SimTime::ZERO;
            p.start(since);
            let mut runs = [(None::<bool>, 0u32); 3];
            for a in answers {
                let Some((at, kind)) = p.next_due() else {
                    since = since + secs(7);
                    p.start(since);
                    runs = [(None, 0); 3];
                    continue;
                };
                prop_assert_eq!(kind == ProbeKind::Startup, !p.is_started());
                prop_assert!(at >= since + config.get(kind).unwrap().initial_delay);
                let result = [ProbeResult::Success, ProbeResult::Failure, ProbeResult::Timeout][a as usize];
                let was_ready = p.is_ready();
                let ticket = p.begin(at, kind);
                let events = p.on_result(at + LATENCY, ticket, result);
                let ok = result == ProbeResult::Success;
                let run = &mut runs[kind.index()];
                if run.0 == Some(ok) { run.1 += 1 } else { *run = (Some(ok), 1) }
                let restarted = events.iter().any(|e| matches!(e, ProbeEvent::Restart(_)));
                let kills = kind != ProbeKind::Readiness && !ok && run.1 == config.get(kind).unwrap().failure_threshold;
                prop_assert_eq!(restarted, kills);
                if kind == ProbeKind::Readiness {
                    let expect = if ok { was_ready || run.1 >= ready_s } else { was_ready && run.1 < 2 };
                    prop_assert_eq!(p.is_ready(), expect);
                }
                prop_assert!(!p.is_ready() || p.is_started());
                if restarted {
                    prop_assert!(!p.is_running());
                }
            }
        }
    }
}
