//! Faults replayed from the scenario: each begins and ends with an event and changes the
//! effect folded on each instance it targets.

use super::*;

/// The faults owner: each fault's stream, the instances its occurrence hits, which
/// faults act now on call paths and config pushes, every occurrence so far with the
/// window tallies of the resilience scores, and the ends of the occurrences (for SLO
/// recovery).
///
/// **Invariant:** `fault_live[i]` is `u32::MAX` exactly while fault `i` is not active;
/// `faults_active` counts the active ones. Network faults are the network owner's.
pub(super) struct Faults {
    /// One stream per fault (`fault/<index>`).
    pub(super) fault_rngs: Vec<Stream>,
    /// The instances each fault's current (or last) occurrence hits.
    pub(super) fault_targets: Vec<Vec<InstanceId>>,
    /// Per fault: its occurrence number while it lasts (load faults stop arriving when it
    /// changes), `u32::MAX` when not active.
    pub(super) fault_live: Vec<u32>,
    /// Error and delay faults on call paths active now, and slow config pushes.
    pub(super) call_faults: Vec<u32>,
    pub(super) slow_pushes: Vec<u32>,
    /// Resilience scores: every fault occurrence so far, faults active now, whether the
    /// current window saw one, and the window tallies.
    pub(super) occurrences: Vec<Occurrence>,
    pub(super) faults_active: u32,
    pub(super) window_faulted: bool,
    pub(super) scores: Scores,
    /// Every occurrence's end, repeats included, sorted (set by `run`).
    pub(super) fault_ends: Vec<SimTime>,
}

impl Faults {
    pub(super) fn new(sc: &Scenario, seed: RootSeed) -> Faults {
        Faults {
            fault_rngs: (0..sc.faults.len()).map(|i| seed.stream(&format!("fault/{i}"))).collect(),
            fault_targets: Vec::new(),
            fault_live: vec![u32::MAX; sc.faults.len()],
            call_faults: Vec::new(),
            slow_pushes: Vec::new(),
            occurrences: Vec::new(),
            faults_active: 0,
            window_faulted: false,
            scores: Scores::default(),
            fault_ends: Vec::new(),
        }
    }
}

impl Sim<'_, '_> {
    pub(super) fn schedule_faults(&mut self) {
        self.faults.fault_targets = vec![Vec::new(); self.sc.faults.len()];
        for (i, f) in self.sc.faults.iter().enumerate() {
            self.events.push(f.start, Event::FaultStart(i as u32));
        }
    }

    /// The instances an occurrence of fault `index` hits: Chaos Mesh's selector modes,
    /// drawn from the fault's own stream (no draw for `all`), in instance order.
    fn select_targets(&mut self, index: u32) -> Vec<InstanceId> {
        let f = &self.sc.faults[index as usize];
        let all = &f.instances;
        let n = all.len();
        let k = match f.select {
            Select::All => return all.clone(),
            Select::One => 1.min(n),
            Select::Fixed(c) => (c as usize).min(n),
            Select::FixedPercent(p) => ((n as f64) * p / 100.0).floor() as usize,
            Select::RandomMaxPercent(max) => {
                let p = self.faults.fault_rngs[index as usize].random_range(0..=max);
                (n * p as usize) / 100
            }
        };
        // A partial Fisher-Yates shuffle picks k distinct candidates.
        let mut pool = all.clone();
        let rng = &mut self.faults.fault_rngs[index as usize];
        for i in 0..k {
            let j = rng.random_range(i..n);
            pool.swap(i, j);
        }
        let mut picked = pool[..k].to_vec();
        picked.sort();
        picked
    }

    // Over 80 lines: one arm per fault kind (what its start and end change), read as the
    // table of what each fault does.
    pub(super) fn on_fault(&mut self, index: u32, starts: bool) {
        let sc = self.sc;
        let f = &sc.faults[index as usize];
        if starts {
            self.faults.occurrences.push(Occurrence {
                fault: index,
                start: self.now,
                end: None,
                detected: None,
                alerted: None,
                recovered: None,
            });
            self.faults.faults_active += 1;
            self.faults.window_faulted = true;
        } else {
            self.faults.faults_active = self.faults.faults_active.saturating_sub(1);
            let now = self.now;
            if let Some(o) = self.faults.occurrences.iter_mut().rev().find(|o| o.fault == index && o.end.is_none()) {
                o.end = Some(now);
            }
        }
        if starts {
            // Each occurrence picks its instances, ends after the fault's duration, and
            // with a repeat interval schedules the next one.
            let targets = self.select_targets(index);
            self.faults.fault_targets[index as usize] = targets;
            if let Some(end) = f.end {
                self.events.push(self.now + end.since(f.start), Event::FaultEnd(index));
            }
            if let Some(r) = f.repeat
                && self.arrivals_open
            {
                self.events.push(self.now + r, Event::FaultStart(index));
            }
        }
        if matches!(f.kind, FaultKind::CaOutage | FaultKind::AuthzPolicy(_)) {
            return self.on_security_fault(index, starts);
        }
        if f.path.is_some() {
            // Error and delay injection at the callers' proxies.
            if starts {
                self.faults.call_faults.push(index);
            } else {
                self.faults.call_faults.retain(|&x| x != index);
            }
            return;
        }
        let targets = self.faults.fault_targets[index as usize].clone();
        match sc.faults[index as usize].kind {
            FaultKind::Crash { hang } => {
                for &inst in &targets {
                    if starts { self.crash(inst, hang) } else { self.start(inst) }
                }
                return;
            }
            FaultKind::Stop => {
                for &inst in &targets {
                    if starts { self.stop(inst) } else { self.start(inst) }
                }
                return;
            }
            FaultKind::ZoneOutage { hang, .. } => {
                // Every instance in the zone at once. The gateway, which stands for the
                // clients' way in (a regional load balancer), stays up even in the zone, so
                // the zone's links are not cut: a hung zone answers nothing, as a dark one.
                for &inst in &targets {
                    if starts { self.crash(inst, hang) } else { self.start(inst) }
                }
                return;
            }
            ref k if k.is_network() => {
                return self.network.fault(index, starts);
            }
            FaultKind::Load { .. } => {
                if starts {
                    let occurrence = self.faults.occurrences.len() as u32;
                    self.faults.fault_live[index as usize] = occurrence;
                    self.schedule_load_arrival(index, occurrence);
                } else {
                    self.faults.fault_live[index as usize] = u32::MAX;
                }
                return;
            }
            FaultKind::SlowConfigPush { .. } => {
                if starts {
                    self.faults.slow_pushes.push(index);
                } else {
                    self.faults.slow_pushes.retain(|&x| x != index);
                }
                return;
            }
            FaultKind::RegistryOutage => {
                let now = self.now;
                if let Some(r) = self.discovery.registry.as_mut() {
                    r.set_available(now, !starts);
                }
                self.arm_registry();
                return;
            }
            _ => {}
        }
        for &inst in &targets {
            let st = &mut self.stations.instances[inst.idx()];
            if starts {
                // Kept sorted so overlapping faults fold in the scenario's order.
                if let Err(pos) = st.faults.binary_search(&index) {
                    st.faults.insert(pos, index);
                }
            } else {
                st.faults.retain(|&f| f != index);
            }
            self.refresh_faults(inst);
        }
    }

    /// Folds the active faults of an instance into its effect and its worker count.
    fn refresh_faults(&mut self, inst: InstanceId) {
        let sc = self.sc;
        let base = &sc.instances[inst.idx()];
        let st = &mut self.stations.instances[inst.idx()];
        let mut effect = FaultEffect { error: None, slowdown: base.slowdown, delay: None };
        let mut workers = base.workers;
        for &f in &st.faults {
            match &sc.faults[f as usize].kind {
                FaultKind::Error { probability, status } => effect.error = Some((*probability, *status, f)),
                FaultKind::Slowdown { factor } => effect.slowdown *= factor,
                FaultKind::Capacity { workers: w } => workers = workers.min(*w),
                FaultKind::Latency { .. } => effect.delay = Some(f),
                FaultKind::Crash { .. }
                | FaultKind::Stop
                | FaultKind::RegistryOutage
                | FaultKind::Partition { .. }
                | FaultKind::Loss { .. }
                | FaultKind::LinkLatency { .. }
                | FaultKind::Load { .. }
                | FaultKind::SlowConfigPush { .. }
                | FaultKind::ZoneOutage { .. }
                | FaultKind::CaOutage
                | FaultKind::AuthzPolicy(_) => {}
            }
        }
        st.effect = effect;
        // Fewer workers: busy ones finish their job; more: queued jobs start now.
        st.stats.touch(self.now);
        st.workers = workers;
        st.stats.capacity = u64::from(workers);
        self.fill_workers(inst);
    }
}

impl Sim<'_, '_> {
    /// A detection signal (a breaker opened, a host was ejected or failed its checks):
    /// every occurrence under way or ended but not yet detected counts it.
    pub(super) fn note_detection(&mut self) {
        self.note_detection_at(self.now);
    }

    /// As `note_detection`, at `t` (at or after every occurrence's start).
    pub(super) fn note_detection_at(&mut self, t: SimTime) {
        for o in self.faults.occurrences.iter_mut().filter(|o| o.detected.is_none_or(|d| d > t) && o.start <= t) {
            o.detected = Some(t);
        }
    }
}

impl Sim<'_, '_> {
    /// The next extra arrival of a load fault: Poisson at its rate, from its own stream.
    fn schedule_load_arrival(&mut self, index: u32, occurrence: u32) {
        let FaultKind::Load { rate, .. } = self.sc.faults[index as usize].kind else { return };
        let u: f64 = self.faults.fault_rngs[index as usize].random::<f64>();
        let gap = SimDuration::from_secs_f64(-(1.0 - u).ln() / rate);
        self.events.push(self.now + gap, Event::LoadArrival(index, occurrence));
    }

    /// An extra request of a load fault, on its route or by the workload's mix.
    pub(super) fn on_load_arrival(&mut self, index: u32, occurrence: u32) {
        if self.faults.fault_live[index as usize] != occurrence || !self.may_issue(self.now) {
            return;
        }
        let FaultKind::Load { route, .. } = self.sc.faults[index as usize].kind else { return };
        let client = if self.workload.needs_client {
            self.workload.client_rng.random_range(0..self.sc.workload.clients)
        } else {
            0
        };
        self.issue_on(route, client, None);
        self.schedule_load_arrival(index, occurrence);
    }
}
