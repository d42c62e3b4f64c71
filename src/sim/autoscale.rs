//! The horizontal autoscalers' part of the loop: at each multiple of a service's
//! evaluation interval, measure its pods over the interval just ended, ask its
//! [`Autoscaler`] for a decision, and apply it with the lifecycle's `scale` (which starts
//! the first stopped instances, serving after `startupTime` and their readiness probe, or
//! gracefully stops the last running ones). Every evaluation is a row of
//! `autoscaling.csv`; every change a row of `events.csv`.
//!
//! How the pods are classed (Kubernetes' `groupPods`, simplified):
//! - ready, with metrics: serving and ready now and at the previous evaluation, in the same
//!   life (no crash or restart between): its metric is its busy-worker (or queue) integral
//!   over the interval, divided by its workers and the interval;
//! - missing: hung (`hang`) but still looking ready: the metrics pipeline gets nothing;
//! - unready: any other pod that exists: starting, failing readiness, crashed, or ready
//!   for only part of the interval;
//! - ignored: draining or stopped pods.
//!
//! None of this runs without an autoscaler: `autoscalers` is empty, no event is pushed.

use super::*;
use crate::autoscale::{Autoscaler, Metric, Metrics};

/// `autoscaling.csv`: one row per evaluation.
pub use crate::output::autoscaling::HEADER as AUTOSCALING_HEADER;

/// Decisions kept in the run's result per service (the rest are counted).
const DECISIONS_KEPT: usize = 1000;

/// One pod's marks at the last evaluation.
#[derive(Clone, Copy)]
struct Mark {
    busy: u128,
    queue: u128,
    epoch: u32,
    ready: bool,
}

/// A service's autoscaler and what the loop keeps for it.
pub(super) struct Scaler {
    hpa: Autoscaler,
    /// By host index within the service.
    marks: Vec<Mark>,
    last_eval: SimTime,
    /// The managed replica count times time, up to `since`.
    replica_ns: u128,
    since: SimTime,
    result: Autoscaling,
}

impl Sim<'_, '_> {
    /// Sets up an autoscaler per service that has one and schedules its first evaluation.
    pub(super) fn start_autoscalers(&mut self) {
        let sc = self.sc;
        for (s, svc) in sc.services.iter().enumerate() {
            let Some(config) = &svc.autoscaler else { continue };
            let replicas = svc.instances.iter().filter(|&&i| sc.instances[i.idx()].initially_running).count() as u32;
            let scaler = Scaler {
                hpa: Autoscaler::new(config.clone(), replicas),
                marks: Vec::new(),
                last_eval: SimTime::ZERO,
                replica_ns: 0,
                since: SimTime::ZERO,
                result: Autoscaling {
                    service: ServiceId(s as u32),
                    decisions: Vec::new(),
                    decisions_dropped: 0,
                    evaluations: 0,
                    replicas_min: replicas,
                    replicas_max: replicas,
                    first_scale_out: None,
                    first_ready_after_scale_out: None,
                    replica_seconds: 0.0,
                },
            };
            let i = self.autoscalers.len();
            self.autoscalers.push(scaler);
            self.autoscalers[i].marks = self.pod_marks(ServiceId(s as u32));
            self.events.push(SimTime::ZERO + config.interval, Event::Autoscale(i as u32));
        }
    }

    /// Each pod's integrals, life and readiness now.
    fn pod_marks(&mut self, service: ServiceId) -> Vec<Mark> {
        let now = self.now;
        let sc = self.sc;
        sc.services[service.idx()]
            .instances
            .iter()
            .map(|&i| {
                let ready = self.is_running(i) && self.stations.instances[i.idx()].ready;
                let st = &mut self.stations.instances[i.idx()];
                let (busy, queue) = st.stats.busy_queue_areas(now);
                Mark { busy, queue, epoch: st.epoch, ready }
            })
            .collect()
    }

    /// An evaluation of autoscaler `index`, at a multiple of its interval.
    pub(super) fn on_autoscale(&mut self, index: u32) {
        let sc = self.sc;
        let now = self.now;
        let s = &self.autoscalers[index as usize];
        let service = s.result.service;
        let interval = s.hpa.config().interval;
        let metric_kind = s.hpa.config().metric;
        let span = now.since(s.last_eval).as_nanos() as f64;
        let marks = self.pod_marks(service);
        let s = &self.autoscalers[index as usize];
        let mut metrics = Metrics::default();
        for (&inst, (before, after)) in sc.services[service.idx()].instances.iter().zip(s.marks.iter().zip(&marks)) {
            let st = &self.stations.instances[inst.idx()];
            match st.life {
                Life::Stopped | Life::Draining => {}
                Life::Down { hang: true } if st.ready => metrics.missing += 1,
                Life::Running if st.ready && before.ready && before.epoch == after.epoch => {
                    let v = match metric_kind {
                        Metric::Utilization => {
                            (after.busy - before.busy) as f64 / (f64::from(sc.instances[inst.idx()].workers) * span)
                        }
                        Metric::Queue => (after.queue - before.queue) as f64 / span,
                    };
                    metrics.ready.push(v);
                }
                _ => metrics.unready += 1,
            }
        }
        let s = &mut self.autoscalers[index as usize];
        s.marks = marks;
        s.last_eval = now;
        let d = s.hpa.evaluate(now, &metrics);
        s.result.evaluations += 1;
        if d.to != d.from {
            s.replica_ns += u128::from(d.from) * u128::from(now.since(s.since).as_nanos());
            s.since = now;
            let r = &mut s.result;
            r.replicas_min = r.replicas_min.min(d.to);
            r.replicas_max = r.replicas_max.max(d.to);
            if d.to > d.from && r.first_scale_out.is_none() {
                r.first_scale_out = Some(now);
            }
            if r.decisions.len() < DECISIONS_KEPT {
                r.decisions.push(d);
            } else {
                r.decisions_dropped += 1;
            }
        }
        let name = &sc.services[service.idx()].name;
        let value = metric_text(metric_kind, d.metric);
        if let Some(w) = self.recorder.autoscaling_csv.as_mut() {
            let row = [
                format!("{:.6}", now.as_secs_f64()),
                name.clone(),
                d.from.to_string(),
                d.recommended.to_string(),
                d.to.to_string(),
                metrics.ready.len().to_string(),
                metrics.unready.to_string(),
                value.clone(),
                d.reason.name().to_string(),
            ];
            if let Err(e) = w.write_record(&row) {
                self.recorder.deferred_error.get_or_insert(e);
            }
        }
        if d.to != d.from {
            let event = if d.to > d.from { "scale-out" } else { "scale-in" };
            let unit = if metric_kind == Metric::Utilization { " %" } else { " queued per pod" };
            let detail =
                format!("{} -> {} replicas, {} {value}{unit} ({})", d.from, d.to, metric_kind.name(), d.reason.name());
            self.event_row("autoscaler", name, event, &detail);
            self.scale(service, d.to);
        }
        if self.arrivals_open || !self.live.requests.is_empty() {
            self.events.push(now + interval, Event::Autoscale(index));
        }
    }

    /// A `scale` lifecycle action set the replica count of `service`: its autoscaler (if
    /// any) manages it from there, as an HPA does after `kubectl scale`.
    pub(super) fn autoscale_set(&mut self, service: ServiceId, replicas: u32) {
        let now = self.now;
        if let Some(s) = self.autoscalers.iter_mut().find(|s| s.result.service == service) {
            s.replica_ns += u128::from(s.hpa.replicas()) * u128::from(now.since(s.since).as_nanos());
            s.since = now;
            s.hpa.set_replicas(replicas);
            s.result.replicas_min = s.result.replicas_min.min(replicas);
            s.result.replicas_max = s.result.replicas_max.max(replicas);
        }
    }

    /// An instance became ready: the first one after the first scale-out is the end of
    /// the scale-out lag.
    pub(super) fn autoscale_pod_ready(&mut self, inst: InstanceId) {
        let service = self.sc.instances[inst.idx()].service;
        if let Some(s) = self.autoscalers.iter_mut().find(|s| s.result.service == service) {
            let r = &mut s.result;
            if r.first_scale_out.is_some() && r.first_ready_after_scale_out.is_none() {
                r.first_ready_after_scale_out = Some(self.now);
            }
        }
    }

    /// The autoscalers' records, closed at `end`.
    pub(super) fn autoscaling_results(&mut self, end: SimTime) -> Vec<Autoscaling> {
        self.autoscalers
            .iter_mut()
            .map(|s| {
                s.replica_ns += u128::from(s.hpa.replicas()) * u128::from(end.since(s.since).as_nanos());
                s.since = end;
                let mut r = s.result.clone();
                r.replica_seconds = s.replica_ns as f64 / 1e9;
                r
            })
            .collect()
    }
}

/// A metric value as written: utilisation in percent, the queue in requests per pod.
fn metric_text(kind: Metric, v: f64) -> String {
    if v.is_nan() {
        return String::new();
    }
    match kind {
        Metric::Utilization => format!("{:.3}", v * 100.0),
        Metric::Queue => format!("{v:.3}"),
    }
}
