//! The loop's side of traffic management: the subset each call is routed to (the
//! service's rules, then its rollout's routes), mirrored copies, each version's
//! endpoint behaviour at its instances, and the rollouts' analysis ticks.
//!
//! Every part is skipped when the scenario has no versions, routing or rollouts
//! (`Sim::traffic` is `None`): one branch where a call begins, one where an instance
//! takes and answers a request.

use super::*;
use crate::rollout::{MetricKind, Rollout, RolloutRecord, Samples, StepRecord};
use crate::traffic::{ANY_SUBSET, Behaviour, CallInfo, draw_bound, pick};
use std::collections::BTreeSet;

/// A mirrored copy is sent with no policy of its own: no timeout, no retries, no
/// fallback (Envoy's shadow requests are fire and forget; their answers are dropped).
static MIRROR_POLICY: CallPolicy =
    CallPolicy { timeout: None, propagate_deadline: false, retry: None, hedging: None, fallback: None };

/// The traffic-management state of a run.
pub(super) struct State {
    seed: u64,
    /// Per service: whether calls to it are routed, and the streams drawing its weighted
    /// routes and its mirrored shares.
    routed: Vec<bool>,
    split_rngs: Vec<Stream>,
    mirror_rngs: Vec<Stream>,
    /// Per service: its rollout (`u32::MAX`: none).
    rollout_of: Vec<u32>,
    /// Per instance: the version whose endpoint behaviour it runs (`u32::MAX`: the
    /// service's own, for an unversioned service). Promotion changes the primary's.
    behaviour: Vec<u32>,
    /// Per instance: the rollout whose canary it is (`u32::MAX`: none).
    canary_of: Vec<u32>,
    /// When each attempt (by slab index) reached its instance, for the server-side
    /// latency of the canary's answers.
    arrived: Vec<SimTime>,
    runs: Vec<Run>,
}

/// One rollout under way.
struct Run {
    machine: Rollout,
    samples: Samples,
    /// How long answers are kept: the longest metric interval.
    keep: SimDuration,
    record: RolloutRecord,
    users: BTreeSet<u64>,
}

impl State {
    /// The state for a scenario that uses versions, routing or rollouts; `None` otherwise.
    pub(super) fn new(sc: &Scenario, seed: RootSeed) -> Option<Box<State>> {
        let versioned = sc.services.iter().any(|s| !s.versions.is_empty());
        if !versioned && sc.rollouts.is_empty() {
            return None;
        }
        let mut rollout_of = vec![u32::MAX; sc.services.len()];
        let mut canary_of = vec![u32::MAX; sc.instances.len()];
        for (i, r) in sc.rollouts.iter().enumerate() {
            rollout_of[r.service.idx()] = i as u32;
            for &inst in &sc.services[r.service.idx()].instances {
                if sc.instances[inst.idx()].version == r.canary {
                    canary_of[inst.idx()] = i as u32;
                }
            }
        }
        let runs = sc
            .rollouts
            .iter()
            .map(|r| Run {
                machine: Rollout::default(),
                samples: Samples::default(),
                keep: r.metrics.iter().map(|m| m.interval).max().unwrap_or(SimDuration::ZERO),
                record: RolloutRecord {
                    steps: Vec::new(),
                    phase: crate::rollout::Phase::Initialized,
                    decided_at: None,
                    completed_at: None,
                    reason: None,
                    max_canary_weight: 0,
                    impact: Default::default(),
                },
                users: BTreeSet::new(),
            })
            .collect();
        Some(Box::new(State {
            seed: seed.0,
            routed: sc
                .services
                .iter()
                .enumerate()
                .map(|(i, s)| s.routing.is_some() || rollout_of[i] != u32::MAX)
                .collect(),
            split_rngs: sc.services.iter().map(|s| seed.stream(&format!("routing/{}/split", s.name))).collect(),
            mirror_rngs: sc.services.iter().map(|s| seed.stream(&format!("routing/{}/mirror", s.name))).collect(),
            rollout_of,
            behaviour: sc
                .instances
                .iter()
                .map(|i| if sc.services[i.service.idx()].version_endpoints.is_empty() { u32::MAX } else { i.version })
                .collect(),
            canary_of,
            arrived: Vec::new(),
            runs,
        }))
    }
}

/// The behaviour of endpoint `ep` on version `version` of its service.
#[inline]
pub(super) fn behaviour<'s>(sc: &'s Scenario, endpoint_local: &[u32], ep: EndpointId, version: u32) -> &'s Behaviour {
    let svc = &sc.services[sc.endpoints[ep.idx()].service.idx()];
    &svc.version_endpoints[version as usize][endpoint_local[ep.idx()] as usize]
}

impl Sim<'_, '_> {
    /// The version whose behaviour `instance` runs (`u32::MAX`: its service's own).
    #[inline]
    pub(super) fn behaviour_of(&self, instance: InstanceId) -> u32 {
        match self.traffic.as_deref() {
            None => u32::MAX,
            Some(t) => t.behaviour[instance.idx()],
        }
    }

    /// Routes a call to `service`: the subset it goes to, and the subset a copy of it is
    /// mirrored to (`ANY_SUBSET` for either: none). The service's rules come first, in
    /// order (the first that applies wins); then its rollout's routes.
    #[cold]
    #[inline(never)]
    pub(super) fn route_call(
        &mut self,
        parent: Parent,
        caller: Caller,
        service: ServiceId,
        endpoint: EndpointId,
        client: u64,
    ) -> (u32, u32) {
        let sc = self.sc;
        let s = service.idx();
        let route = match parent {
            Parent::Request(r) => self.live.requests.get(r).map(|r| r.route),
            _ => None,
        };
        let t = self.traffic.as_deref_mut().expect("routing runs with traffic state");
        if !t.routed[s] {
            return (ANY_SUBSET, ANY_SUBSET);
        }
        let info = CallInfo { caller, endpoint, route };
        let seed = t.seed;
        let value = |h: u32| sc.headers[h as usize].value_of(seed, client);
        if let Some(rule) = sc.services[s].routing.as_ref().and_then(|r| r.first_applying(&info, &value)) {
            let bound = draw_bound(&rule.route);
            let x = if bound > 0 { t.split_rngs[s].random_range(0..bound) } else { 0 };
            let subset = pick(&rule.route, x);
            let mirror = match rule.mirror {
                Some((m, share)) if share >= 1.0 || (share > 0.0 && t.mirror_rngs[s].random::<f64>() < share) => m,
                _ => ANY_SUBSET,
            };
            return (subset, mirror);
        }
        let r = t.rollout_of[s];
        if r == u32::MAX {
            return (ANY_SUBSET, ANY_SUBSET);
        }
        let spec = &sc.rollouts[r as usize];
        let routes = t.runs[r as usize].machine.routes;
        if !spec.ab_match.is_empty() && !spec.ab_match.iter().any(|m| m.matches(&info, &value)) {
            // A/B testing: only matching requests follow the rollout's weights.
            return (spec.primary, ANY_SUBSET);
        }
        let subset = if routes.canary == 0 {
            spec.primary
        } else if routes.primary == 0 {
            spec.canary
        } else {
            let x = t.split_rngs[s].random_range(0..routes.primary + routes.canary);
            if x < routes.primary { spec.primary } else { spec.canary }
        };
        let mirrored =
            routes.mirror && (spec.mirror_weight >= 100 || t.mirror_rngs[s].random_range(0..100) < spec.mirror_weight);
        (subset, if mirrored { spec.canary } else { ANY_SUBSET })
    }

    /// Sends a mirrored copy of a call to `subset`: through the same proxy, outside its
    /// policy (no timeout, retries, breaker or bulkhead), its answer dropped.
    pub(super) fn send_mirror(&mut self, caller: Caller, to: Target, subset: u32) {
        // A mirrored copy has no policy of its own, and no fallback (as a fallback call).
        let from = CallSite {
            parent: Parent::Mirror,
            caller,
            site: u32::MAX,
            zone: to.caller_zone,
            endpoint: to.endpoint,
            client: to.client,
            measured: to.measured,
            is_fallback: true,
        };
        let route = Route { proxy: to.proxy, service: to.service, policy: &MIRROR_POLICY, guarded: false };
        let call = self.live.calls.insert(Call::new(&from, route, subset));
        self.dispatch_attempt(call, u32::MAX, false);
    }

    /// An attempt reached its instance: noted for the server-side latency.
    #[inline]
    pub(super) fn note_arrival(&mut self, attempt: Key) {
        let now = self.now;
        if let Some(t) = self.traffic.as_deref_mut() {
            let i = attempt.index as usize;
            if i >= t.arrived.len() {
                t.arrived.resize(i + 1, SimTime::ZERO);
            }
            t.arrived[i] = now;
        }
    }

    /// An instance answers `attempt`: a canary's answers feed its rollout's metrics (as
    /// Istio's destination-side telemetry, mirrored copies included) and its user impact.
    #[cold]
    #[inline(never)]
    pub(super) fn on_destination_answer(&mut self, attempt: Key, outcome: Outcome) {
        let now = self.now;
        let a = self.live.attempts.get(attempt).expect("an attempt being answered is live");
        let t = self.traffic.as_deref_mut().expect("answers are noted with traffic state");
        let r = t.canary_of[a.instance.idx()];
        if r == u32::MAX {
            return;
        }
        let took = now.since(t.arrived.get(attempt.index as usize).copied().unwrap_or(now).min(now));
        // Flagger's success rate counts every response but 5xx; a refusal or a reset
        // reaches the caller's sidecar as a 503.
        let ok = match outcome {
            Outcome::Error(s) => s < 500,
            Outcome::Rejected | Outcome::Dropped => false,
            _ => true,
        };
        let mirrored = match a.owner {
            Owner::Call(call) => matches!(self.live.calls.get(call).map(|c| c.parent), Some(Parent::Mirror)),
            Owner::Direct(parent) => matches!(parent, Parent::Mirror),
        };
        let run = &mut t.runs[r as usize];
        run.samples.push(now, took, ok);
        let impact = &mut run.record.impact;
        if mirrored {
            impact.mirrored_requests += 1;
            impact.mirrored_failed += u64::from(!outcome.is_ok());
        } else {
            impact.canary_requests += 1;
            if !outcome.is_ok() {
                impact.canary_failed += 1;
                run.users.insert(a.client);
            }
        }
    }

    /// Schedules each rollout's first tick.
    pub(super) fn start_rollouts(&mut self) {
        for (i, r) in self.sc.rollouts.iter().enumerate() {
            self.events.push(r.start, Event::RolloutTick(i as u32));
        }
    }

    /// One run of rollout `i`'s analysis; the next is an interval later, until it ends.
    pub(super) fn on_rollout_tick(&mut self, i: u32) {
        let sc = self.sc;
        let now = self.now;
        let spec = &sc.rollouts[i as usize];
        let t = self.traffic.as_deref_mut().expect("rollouts run with traffic state");
        let run = &mut t.runs[i as usize];
        let Run { machine, samples, keep, record, .. } = run;
        samples.forget_until(SimTime(now.0.saturating_sub(keep.as_nanos())));
        let tick = machine.tick(spec, |m| samples.measure(m, now));
        let first = |kind: fn(&MetricKind) -> bool| spec.metrics.iter().find(|m| kind(&m.kind));
        let success_rate = first(|k| *k == MetricKind::SuccessRate).and_then(|m| samples.measure(m, now));
        let latency_ms = first(|k| matches!(k, MetricKind::Duration { .. })).and_then(|m| samples.measure(m, now));
        let routes = machine.routes;
        record.steps.push(StepRecord {
            at: now,
            phase: machine.phase,
            routes,
            mirror_share: if routes.mirror { spec.mirror_weight } else { 0 },
            failed_checks: machine.failed_checks,
            analysed: tick.analysed,
            success_rate,
            latency_ms,
            events: tick.events.join("; "),
        });
        record.phase = machine.phase;
        record.max_canary_weight = record.max_canary_weight.max(routes.canary);
        if tick.promote_spec {
            record.decided_at = Some(now);
        }
        match machine.phase {
            crate::rollout::Phase::Failed if record.decided_at.is_none() => {
                record.decided_at = Some(now);
                record.reason = machine.last_failure.clone();
            }
            crate::rollout::Phase::Succeeded if record.completed_at.is_none() => record.completed_at = Some(now),
            _ => {}
        }
        let done = machine.done();
        if tick.promote_spec {
            // Flagger copies the canary's spec to the primary: its instances now run the
            // new version (meshsim: at once, without a rolling update).
            let svc = &sc.services[spec.service.idx()];
            if !svc.version_endpoints.is_empty() {
                for &inst in &svc.instances {
                    if sc.instances[inst.idx()].version == spec.primary {
                        t.behaviour[inst.idx()] = spec.canary;
                    }
                }
            }
        }
        if !done {
            self.events.push(now + spec.interval, Event::RolloutTick(i));
        }
    }

    /// The rollouts' records, users with errors counted, at the end of the run.
    pub(super) fn take_rollouts(&mut self) -> Vec<RolloutRecord> {
        let Some(t) = self.traffic.as_deref_mut() else { return Vec::new() };
        t.runs
            .iter_mut()
            .map(|r| {
                r.record.impact.users_with_errors = r.users.len() as u64;
                r.record.clone()
            })
            .collect()
    }
}
