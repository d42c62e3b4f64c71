//! Instances coming and going: crashes, graceful stops, starts and scaling, start-up
//! times and the kubelet's probes. Every lifecycle event is a row of `events.csv`. How
//! callers find out (the registry, the views, health checks) is `discovery.rs`.
//!
//! None of this costs anything in a scenario without lifecycle actions, crash or stop
//! faults, stopped instances, probes, autoscalers or a registry (`lifecycle_on` is false).

use super::CheckOutcome;
use super::*;
use crate::discovery::probe::{ProbeEvent, ProbeKind, ProbeResult, ProbeSet, ProbeSetConfig, ProbeTicket};

/// An instance's kubelet: its probes, those in flight, and the scheduled wake-up.
pub(super) struct Kubelet {
    set: ProbeSet,
    tickets: [Option<ProbeTicket>; 3],
    /// Bumped whenever the schedule is redone, so older wake-ups go stale.
    epoch: u32,
}

impl Kubelet {
    pub(super) fn new(config: &ProbeSetConfig) -> Kubelet {
        Kubelet { set: ProbeSet::new(config, SimTime::ZERO), tickets: [None; 3], epoch: 0 }
    }

    pub(super) fn counters(&self) -> crate::discovery::probe::ProbeCounters {
        self.set.counters()
    }
}

/// Where an instance is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Life {
    Running,
    /// Started, not yet serving (its start-up time).
    Starting,
    /// Stopping gracefully: deregistered, refusing new requests, finishing the others.
    Draining,
    /// Crashed: refusing connections (`hang: false`) or silent (`hang: true`).
    Down {
        hang: bool,
    },
    Stopped,
}

pub use crate::output::events::HEADER as EVENTS_HEADER;

impl Sim<'_, '_> {
    /// Sets up the registry, registers the running instances and fetches the first views.
    pub(super) fn start_lifecycle(&mut self) {
        let sc = self.sc;
        for (i, a) in sc.lifecycle.iter().enumerate() {
            self.events.push(a.at, Event::Lifecycle(i as u32));
        }
        for (i, inst) in sc.instances.iter().enumerate() {
            if inst.initially_running {
                // Running since before the run: started and ready (probes keep checking).
                self.kubelet_start(InstanceId(i as u32));
                self.stations.instances[i].ready = true;
            }
        }
        if self.discovery.registry.is_some() {
            for (i, inst) in sc.instances.iter().enumerate() {
                if inst.initially_running {
                    self.register(InstanceId(i as u32));
                }
            }
            self.arm_registry();
        }
        for v in 0..self.discovery.views.len() {
            self.refresh_view(v as u32);
        }
        for c in 0..self.discovery.checkers.len() {
            self.arm_checker(c as u32);
        }
    }

    pub(super) fn on_lifecycle(&mut self, index: u32) {
        match self.sc.lifecycle[index as usize].action {
            Lifecycle::Crash { instance, hang } => self.crash(instance, hang),
            Lifecycle::Stop { instance } => self.stop(instance),
            Lifecycle::Start { instance } => self.start(instance),
            Lifecycle::Scale { service, replicas } => {
                self.scale(service, replicas);
                self.autoscale_set(service, replicas);
            }
        }
    }

    /// A lifecycle event: a row of `events.csv`.
    pub(super) fn log_event(&mut self, inst: InstanceId, event: &str, detail: &str) {
        let sc = self.sc;
        let i = &sc.instances[inst.idx()];
        self.event_row(&i.name, &sc.services[i.service.idx()].name, event, detail);
    }

    /// A row of `events.csv`, now, for `who` (an instance, or the gateway) of `service`.
    pub(super) fn event_row(&mut self, who: &str, service: &str, event: &str, detail: &str) {
        let Some(w) = self.recorder.events_csv.as_mut() else { return };
        let time = format!("{:.6}", self.now.as_secs_f64());
        if let Err(e) = w.write_record([time.as_str(), who, service, event, detail]) {
            self.recorder.deferred_error.get_or_insert(e);
        }
    }

    /// The process dies. Its jobs are lost: their callers get a reset (or, if the host
    /// hangs, nothing until their timeouts). It stops heartbeating.
    pub(super) fn crash(&mut self, inst: InstanceId, hang: bool) {
        let st = &mut self.stations.instances[inst.idx()];
        if matches!(st.life, Life::Down { .. } | Life::Stopped) {
            return;
        }
        st.life = Life::Down { hang };
        st.epoch += 1;
        let lost = self.live.jobs.keys_where(|j| j.instance == inst);
        let zone = self.sc.instances[inst.idx()].zone;
        let st = &mut self.stations.instances[inst.idx()];
        st.queue.clear();
        st.stats.touch(self.now);
        for &job in &lost {
            let j = self.live.jobs.remove(job).expect("a job just listed is live");
            if j.span != NO_SPAN {
                self.end_job_span(j.span, None);
            }
            let st = &mut self.stations.instances[inst.idx()];
            st.stats.in_system -= 1;
            let sojourn = u128::from(self.now.since(j.arrived).as_nanos());
            for (t, on) in [(&mut st.stats.window, true), (&mut st.stats.totals, j.measured)] {
                if on {
                    t.lost_in_crash += 1;
                    t.errors += 1;
                    t.sojourn_sum_ns += sojourn;
                }
            }
            if hang {
                self.hang_up(j.attempt, zone);
            } else {
                self.respond(j.attempt, Outcome::Dropped, zone);
            }
        }
        let st = &mut self.stations.instances[inst.idx()];
        st.stats.busy = 0;
        st.stats.queued = 0;
        let (service, host) = (self.sc.instances[inst.idx()].service.idx(), self.host_of(inst));
        let views =
            self.discovery.views.iter().filter(|v| v.cache.service() == service && v.visible[host]).count() as u32;
        self.detections.push(Detection {
            instance: inst,
            crashed_at: self.now,
            registry_at: None,
            views,
            delays: Vec::new(),
            restarted_at: None,
            check_delays: Vec::new(),
        });
        self.log_event(inst, "crashed", if hang { "hang" } else { "reset" });
        self.note_routable(inst);
        // A hung process still runs as far as the kubelet knows: its probes time out.
        if !hang {
            self.kubelet_stop(inst);
        }
        // A registrar (Kubernetes) sees the process exit at once; a hung one it does not.
        if !hang && self.sc.discovery.registry.as_ref().is_some_and(|r| r.heartbeat_interval.is_none()) {
            self.deregister(inst);
        }
    }

    /// Graceful stop: out of the registry at once, new requests refused, the others
    /// finished; then stopped.
    pub(super) fn stop(&mut self, inst: InstanceId) {
        let st = &mut self.stations.instances[inst.idx()];
        if !matches!(st.life, Life::Running | Life::Starting) {
            return;
        }
        st.life = Life::Draining;
        st.epoch += 1;
        self.log_event(inst, "stopping", "");
        self.note_routable(inst);
        self.kubelet_stop(inst);
        if self.discovery.registry.is_some() {
            self.deregister(inst);
        }
        self.check_drained(inst);
    }

    /// A draining instance with nothing left stops.
    #[inline]
    pub(super) fn check_drained(&mut self, inst: InstanceId) {
        let st = &mut self.stations.instances[inst.idx()];
        if st.life == Life::Draining && st.stats.in_system == 0 {
            st.life = Life::Stopped;
            self.log_event(inst, "stopped", "");
        }
    }

    /// Starts a stopped or crashed instance; it serves after its start-up time.
    pub(super) fn start(&mut self, inst: InstanceId) {
        let st = &mut self.stations.instances[inst.idx()];
        let was = st.life;
        if !matches!(was, Life::Down { .. } | Life::Stopped) {
            return;
        }
        st.life = Life::Starting;
        st.epoch += 1;
        let epoch = st.epoch;
        if self.security.is_some() {
            self.cert_start(1 + inst.idx());
        }
        if matches!(was, Life::Down { .. }) {
            for d in self.detections.iter_mut().filter(|d| d.instance == inst && d.restarted_at.is_none()) {
                d.restarted_at = Some(self.now);
            }
        }
        self.log_event(inst, if matches!(was, Life::Down { .. }) { "restarted" } else { "started" }, "");
        self.note_routable(inst);
        if self.stations.instances[inst.idx()].kubelet.is_some() {
            // A hung container the kubelet restarts was never stopped: stop it first.
            self.kubelet_stop(inst);
            let st = &mut self.stations.instances[inst.idx()];
            st.ready = st.kubelet.as_ref().is_some_and(|k| k.set.config().readiness.is_none());
            self.kubelet_start(inst);
        }
        let t = self.sc.services[self.sc.instances[inst.idx()].service.idx()].startup_time;
        self.events.push(self.now + t, Event::StartupDone(inst.0, epoch));
    }

    pub(super) fn on_startup_done(&mut self, inst: u32, epoch: u32) {
        let inst = InstanceId(inst);
        let st = &mut self.stations.instances[inst.idx()];
        if st.epoch != epoch || st.life != Life::Starting {
            return;
        }
        st.life = Life::Running;
        let ready = st.ready;
        self.log_event(inst, "serving", "");
        self.note_routable(inst);
        if ready {
            self.became_ready(inst);
        }
    }

    /// The instance is running and ready: it registers (or its registrar does).
    fn became_ready(&mut self, inst: InstanceId) {
        self.log_event(inst, "ready", "");
        if !self.autoscalers.is_empty() {
            self.autoscale_pod_ready(inst);
        }
        if self.discovery.registry.is_some() {
            self.register(inst);
            self.arm_registry();
        }
    }

    // ---- Kubernetes probes.

    pub(super) fn kubelet_start(&mut self, inst: InstanceId) {
        let now = self.now;
        let Some(k) = self.stations.instances[inst.idx()].kubelet.as_mut() else { return };
        let events = k.set.start(now);
        self.apply_probe_events(inst, events);
        self.arm_kubelet(inst);
    }

    fn kubelet_stop(&mut self, inst: InstanceId) {
        let now = self.now;
        let Some(k) = self.stations.instances[inst.idx()].kubelet.as_mut() else { return };
        if !k.set.is_running() {
            return;
        }
        k.tickets = [None; 3];
        k.epoch += 1;
        let _ = k.set.stop(now);
    }

    fn arm_kubelet(&mut self, inst: InstanceId) {
        let Some(k) = self.stations.instances[inst.idx()].kubelet.as_mut() else { return };
        if let Some((at, _)) = k.set.next_due() {
            k.epoch += 1;
            self.events.push(at.max(self.now), Event::Probe(inst.0, k.epoch));
        }
    }

    /// Runs the probes due: the kubelet asks the container locally, so an answer is at
    /// once, except from a hung one (at the probe's timeout).
    pub(super) fn on_probe(&mut self, inst: u32, epoch: u32) {
        let now = self.now;
        let inst = InstanceId(inst);
        let life = self.stations.instances[inst.idx()].life;
        let Some(k) = self.stations.instances[inst.idx()].kubelet.as_mut() else { return };
        if k.epoch != epoch {
            return;
        }
        let mut done = Vec::new();
        while let Some((at, kind)) = k.set.next_due() {
            if at > now {
                break;
            }
            let ticket = k.set.begin(now, kind);
            k.tickets[kind.index()] = Some(ticket);
            let (t, outcome) = match life {
                Life::Running => (now, CheckOutcome::Pass),
                Life::Down { hang: true } => (ticket.timeout_at, CheckOutcome::Timeout),
                _ => (now, CheckOutcome::Refused),
            };
            done.push((t, kind, outcome));
        }
        for (t, kind, outcome) in done {
            self.events.push(t, Event::ProbeDone(inst.0, kind.index() as u8, outcome));
        }
    }

    pub(super) fn on_probe_done(&mut self, inst: u32, kind: u8, outcome: CheckOutcome) {
        let now = self.now;
        let inst = InstanceId(inst);
        let Some(k) = self.stations.instances[inst.idx()].kubelet.as_mut() else { return };
        let Some(ticket) = k.tickets[kind as usize].take() else { return };
        let result = match outcome {
            CheckOutcome::Pass => ProbeResult::Success,
            CheckOutcome::Refused => ProbeResult::Failure,
            CheckOutcome::Timeout => ProbeResult::Timeout,
        };
        let events = k.set.on_result(now, ticket, result);
        if !result_is_success(result) {
            let kind = ProbeKind::ALL[kind as usize];
            self.log_event(inst, "probe-failed", kind.name());
        }
        self.apply_probe_events(inst, events);
        if self.arrivals_open || !self.live.requests.is_empty() {
            self.arm_kubelet(inst);
        }
    }

    fn apply_probe_events(&mut self, inst: InstanceId, events: Vec<ProbeEvent>) {
        self.apply_probe_events_inner(inst, events);
        self.note_routable(inst);
    }

    fn apply_probe_events_inner(&mut self, inst: InstanceId, events: Vec<ProbeEvent>) {
        for e in events {
            match e {
                ProbeEvent::Started => {}
                ProbeEvent::Ready => {
                    let st = &mut self.stations.instances[inst.idx()];
                    if !st.ready {
                        st.ready = true;
                        if st.life == Life::Running {
                            self.became_ready(inst);
                        }
                    }
                }
                ProbeEvent::Unready => {
                    let st = &mut self.stations.instances[inst.idx()];
                    if st.ready {
                        st.ready = false;
                        self.log_event(inst, "unready", "readiness probe");
                        // Out of the endpoints (a registrar), not restarted.
                        if self.sc.discovery.registry.as_ref().is_some_and(|r| r.heartbeat_interval.is_none()) {
                            self.deregister(inst);
                        }
                    }
                }
                ProbeEvent::Restart(cause) => {
                    let why = match cause {
                        crate::discovery::probe::RestartCause::Startup => "startup probe",
                        crate::discovery::probe::RestartCause::Liveness => "liveness probe",
                    };
                    self.log_event(inst, "killed", why);
                    // The kubelet kills the container and starts it again.
                    if let Some(k) = self.stations.instances[inst.idx()].kubelet.as_mut() {
                        k.tickets = [None; 3];
                        k.epoch += 1;
                    }
                    let hang = self.stations.instances[inst.idx()].life == (Life::Down { hang: true });
                    if !hang {
                        self.crash(inst, false);
                    }
                    self.stations.instances[inst.idx()].life = Life::Down { hang: false };
                    self.start(inst);
                }
            }
        }
    }

    /// Brings the service's running (or starting) instances to `n`.
    pub(super) fn scale(&mut self, service: ServiceId, n: u32) {
        let all = &self.sc.services[service.idx()].instances;
        let up: Vec<InstanceId> = all
            .iter()
            .copied()
            .filter(|i| matches!(self.stations.instances[i.idx()].life, Life::Running | Life::Starting))
            .collect();
        if (up.len() as u32) < n {
            let down: Vec<InstanceId> = all
                .iter()
                .copied()
                .filter(|i| matches!(self.stations.instances[i.idx()].life, Life::Stopped | Life::Down { .. }))
                .take(n as usize - up.len())
                .collect();
            for i in down {
                self.start(i);
            }
        } else {
            for &i in up.iter().rev().take(up.len() - n as usize) {
                self.stop(i);
            }
        }
    }

    /// Whether ideal discovery sends to the instance: running and ready. A hung process
    /// still runs as far as anyone can tell, until a probe or a check finds it out.
    #[inline]
    pub(super) fn is_routable(&self, inst: InstanceId) -> bool {
        let st = &self.stations.instances[inst.idx()];
        matches!(st.life, Life::Running | Life::Down { hang: true }) && st.ready
    }

    /// Whether the instance accepts connections: running, or draining (it finishes what
    /// it has but refuses new requests, so no).
    #[inline]
    pub(super) fn is_running(&self, inst: InstanceId) -> bool {
        self.stations.instances[inst.idx()].life == Life::Running
    }

    /// A request reached an instance that is not running: refused at once (connection
    /// refused), or never answered if the host hangs.
    pub(super) fn refuse_dead(&mut self, attempt: Key, inst: InstanceId, measured: bool) {
        let zone = self.sc.instances[inst.idx()].zone;
        let st = &mut self.stations.instances[inst.idx()];
        for (t, on) in [(&mut st.stats.window, true), (&mut st.stats.totals, measured)] {
            if on {
                t.to_dead += 1;
                t.rejected += 1;
            }
        }
        if st.life == (Life::Down { hang: true }) {
            self.hang_up(attempt, zone);
        } else {
            self.respond(attempt, Outcome::Rejected, zone);
        }
    }

    /// A hung host never answers `attempt`: the caller learns at its timeout, which it
    /// sees as a timeout. (Without any timeout it learns as of a lost message.)
    fn hang_up(&mut self, attempt: Key, from: ZoneId) {
        let a = self.live.attempts.get_mut(attempt).expect("an attempt at a hung host is live");
        a.hung = true;
        let to = a.caller_zone;
        self.lose(attempt, from, to);
    }

    fn host_of(&self, inst: InstanceId) -> usize {
        let svc = &self.sc.services[self.sc.instances[inst.idx()].service.idx()];
        svc.instances.iter().position(|&i| i == inst).expect("an instance is one of its service's")
    }
}

fn result_is_success(r: ProbeResult) -> bool {
    r == ProbeResult::Success
}
