//! Faults replayed from the scenario: each begins and ends with an event and changes the
//! effect folded on each instance it targets.

use super::*;

impl Sim<'_, '_> {
    pub(super) fn schedule_faults(&mut self) {
        for (i, f) in self.sc.faults.iter().enumerate() {
            self.events.push(f.start, Event::FaultStart(i as u32));
            if let Some(end) = f.end {
                self.events.push(end, Event::FaultEnd(i as u32));
            }
        }
    }

    pub(super) fn on_fault(&mut self, index: u32, starts: bool) {
        let sc = self.sc;
        match sc.faults[index as usize].kind {
            FaultKind::Crash { hang } => {
                for &inst in &sc.faults[index as usize].instances {
                    if starts { self.crash(inst, hang) } else { self.start(inst) }
                }
                return;
            }
            FaultKind::Stop => {
                for &inst in &sc.faults[index as usize].instances {
                    if starts { self.stop(inst) } else { self.start(inst) }
                }
                return;
            }
            FaultKind::RegistryOutage => {
                let now = self.now;
                if let Some(r) = self.registry.as_mut() {
                    r.set_available(now, !starts);
                }
                self.arm_registry();
                return;
            }
            _ => {}
        }
        for &inst in &sc.faults[index as usize].instances {
            let st = &mut self.instances[inst.idx()];
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
        let st = &mut self.instances[inst.idx()];
        let mut effect = FaultEffect { error: None, slowdown: base.slowdown, delay: None };
        let mut workers = base.workers;
        for &f in &st.faults {
            match &sc.faults[f as usize].kind {
                FaultKind::Error { probability, status } => effect.error = Some((*probability, *status, f)),
                FaultKind::Slowdown { factor } => effect.slowdown *= factor,
                FaultKind::Capacity { workers: w } => workers = workers.min(*w),
                FaultKind::Latency { .. } => effect.delay = Some(f),
                FaultKind::Crash { .. } | FaultKind::Stop | FaultKind::RegistryOutage => {}
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
