//! The control plane: config changes leave it and reach each proxy after its own
//! propagation delay (slowed by slow-push faults); each proxy then runs the new policies
//! (`Proxies::proxy_config`), and the gateway the new route weights.

use super::*;

impl Sim<'_, '_> {
    // ---- The control plane.

    /// A config change leaves the control plane: each proxy gets it after its own delay.
    pub(super) fn on_config_push(&mut self, i: u32) {
        let change = &self.sc.config_changes[i as usize];
        for p in 0..self.proxies.proxy_site.len() {
            let d = change.propagation.sample(&mut self.config_rng) + self.push_slowdown();
            self.events.push(self.now + d, Event::ConfigApply(i, p as u32));
        }
        if change.route_weights.iter().any(Option::is_some) {
            // The gateway's routes: one more receiver.
            let d = change.propagation.sample(&mut self.config_rng) + self.push_slowdown();
            self.events.push(self.now + d, Event::ConfigApply(i, u32::MAX));
        }
    }

    /// The further delay slow-config-push faults active now add to one receiver's push.
    fn push_slowdown(&mut self) -> SimDuration {
        let mut extra = SimDuration::ZERO;
        for k in 0..self.faults.slow_pushes.len() {
            let f = self.faults.slow_pushes[k] as usize;
            if let FaultKind::SlowConfigPush { delay, probability } = &self.sc.faults[f].kind {
                let rng = &mut self.faults.fault_rngs[f];
                if *probability >= 1.0 || rng.random::<f64>() < *probability {
                    extra += delay.sample(rng);
                }
            }
        }
        extra
    }

    /// New route weights reach the gateway.
    fn apply_route_weights(&mut self, i: u32) {
        for (r, w) in self.sc.config_changes[i as usize].route_weights.iter().enumerate() {
            if let Some(w) = w {
                self.workload.route_weights[r].clone_from(w);
            }
        }
        self.event_row("gateway", "gateway", "config-applied", &format!("change {i}: route weights"));
    }

    /// A config change reaches proxy `p` (unless a later one already did), or with `p`
    /// `u32::MAX` the gateway's routes: calls it starts from now on follow it; calls under
    /// way keep the policy they started with.
    pub(super) fn on_config_apply(&mut self, i: u32, p: u32) {
        let delay = self.now.since(self.sc.config_changes[i as usize].at);
        let applied = &mut self.config_applied[i as usize];
        applied.0 += 1;
        applied.1 = applied.1.max(delay);
        if p == u32::MAX {
            return self.apply_route_weights(i);
        }
        if self.proxies.proxy_config[p as usize] > i {
            return;
        }
        self.proxies.proxy_config[p as usize] = i + 1;
        let sc = self.sc;
        let (site, dest) = self.proxies.proxy_site[p as usize];
        let who = site_name(sc, site as usize);
        let service = match site as usize {
            GATEWAY_SITE => "gateway",
            s => sc.services[sc.instances[s - 1].service.idx()].name.as_str(),
        };
        self.event_row(who, service, "config-applied", &format!("change {i} for {}", sc.services[dest.idx()].name));
    }
}
