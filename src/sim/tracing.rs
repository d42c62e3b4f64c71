//! Spans of sampled requests, as the loop sees them: a root span per traced request, a
//! client span per attempt, a server span per job. Everything here runs only for traced
//! requests (a `NO_SPAN` check on the hot path otherwise).

use super::*;
use crate::trace::{Attr, SpanKind, SpanStatus};

fn status(outcome: Outcome) -> SpanStatus {
    if outcome.is_ok() { SpanStatus::Ok } else { SpanStatus::Error }
}

fn outcome_attrs(outcome: Outcome) -> Vec<(&'static str, Attr)> {
    let mut v = vec![("meshsim.outcome", Attr::Str(outcome.kind().to_string()))];
    if let Outcome::Error(code) = outcome {
        v.push(("http.response.status_code", Attr::Int(i64::from(code))));
    }
    v
}

impl Sim<'_, '_> {
    /// Tells the checker, if one watches, that the span in `slot` started.
    fn observe_span_start(&mut self, slot: u32) {
        if let (Some(ch), Some(t)) = (self.checker.as_deref_mut(), self.recorder.tracer.as_ref()) {
            let (trace, id, parent) = t.ids(slot);
            ch.observe(crate::checker::Obs::SpanStart { trace, id, parent });
        }
    }

    /// Tells the checker, if one watches, that the span in `slot` ends now (unless it
    /// already did: the tracer ends a span once).
    fn observe_span_end(&mut self, slot: u32) {
        if let (Some(ch), Some(t)) = (self.checker.as_deref_mut(), self.recorder.tracer.as_ref())
            && !t.is_ended(slot)
        {
            ch.observe(crate::checker::Obs::SpanEnd { id: t.ids(slot).1 });
        }
    }

    /// A new request, sampled: its root span starts now.
    #[cold]
    pub(super) fn trace_request(&mut self, req: Key, route: RouteId) {
        let tracer = self.recorder.tracer.as_mut().expect("called with a tracer");
        let r = &self.sc.gateway.routes[route.idx()];
        let client = self.live.requests.get(req).map_or(0, |q| q.client);
        let attrs = vec![("meshsim.route", Attr::Str(r.name.clone())), ("meshsim.client", Attr::Int(client as i64))];
        let slot = tracer.root(self.now, format!("gateway {}", r.name), "gateway", attrs);
        self.observe_span_start(slot);
        if let Some(q) = self.live.requests.get_mut(req) {
            q.span = slot;
            self.recorder.span_owners += 1;
        }
    }

    #[cold]
    pub(super) fn end_request_span(&mut self, slot: u32, outcome: Outcome) {
        self.observe_span_end(slot);
        let now = self.now;
        let tracer = self.recorder.tracer.as_mut().expect("a traced request has a tracer");
        tracer.end(slot, now, status(outcome), outcome_attrs(outcome));
        tracer.release(slot);
        self.recorder.span_owners -= 1;
    }

    /// A new attempt of a call whose maker is traced gets a client span under the maker's.
    /// Only called while some request or job has a span (`span_owners`): else no maker can.
    #[cold]
    pub(super) fn trace_attempt(&mut self, attempt: Key) {
        let a = self.live.attempts.get(attempt).expect("a new attempt is live");
        // A direct call is its one attempt: the first, neither a retry nor a hedge.
        let (parent, calling, n, retry, hedge) = match a.owner {
            Owner::Call(call) => {
                let Some(c) = self.live.calls.get(call) else { return };
                let hedged = c.policy.hedging.is_some();
                (c.parent, c.caller, c.attempts, a.retry && !hedged, a.retry && hedged)
            }
            Owner::Direct(parent) => (
                parent,
                self.recorder.points[self.recorder.proxy_point[a.proxy as usize] as usize].caller,
                1,
                false,
                false,
            ),
        };
        let parent = match parent {
            Parent::Request(r) => self.live.requests.get(r).map_or(NO_SPAN, |r| r.span),
            Parent::Job(j, _) => self.live.jobs.get(j).map_or(NO_SPAN, |j| j.span),
            Parent::Deferred(_) | Parent::Mirror => NO_SPAN,
        };
        if parent == NO_SPAN {
            return;
        }
        let sc = self.sc;
        let caller = site_name(sc, self.proxies.proxy_site[a.proxy as usize].0 as usize);
        let caller_service = match calling {
            Caller::Gateway => "gateway",
            Caller::Service(s) => sc.services[s.idx()].name.as_str(),
        };
        let ep = &sc.endpoints[a.endpoint.idx()];
        let name = format!("{caller_service} -> {}/{}", sc.services[a.service.idx()].name, ep.name);
        let attrs = vec![
            ("meshsim.caller", Attr::Str(caller.to_string())),
            ("meshsim.attempt", Attr::Int(i64::from(n))),
            ("meshsim.retry", Attr::Bool(retry)),
            ("meshsim.hedge", Attr::Bool(hedge)),
            ("server.address", Attr::Str(sc.instances[a.instance.idx()].name.clone())),
        ];
        let now = self.now;
        let tracer = self.recorder.tracer.as_mut().expect("called with a tracer");
        let slot = tracer.child(parent, now, SpanKind::Client, name, caller_service, attrs);
        self.observe_span_start(slot);
        self.live.attempts.get_mut(attempt).expect("a new attempt is live").span = slot;
    }

    /// The caller is done with an attempt (an answer, a timeout, a cancelled hedge).
    #[cold]
    pub(super) fn end_attempt_span(&mut self, slot: u32, outcome: Option<Outcome>) {
        self.observe_span_end(slot);
        let now = self.now;
        let tracer = self.recorder.tracer.as_mut().expect("a traced attempt has a tracer");
        match outcome {
            Some(o) => tracer.end(slot, now, status(o), outcome_attrs(o)),
            None => tracer.end(slot, now, SpanStatus::Error, vec![("meshsim.outcome", Attr::Str("cancelled".into()))]),
        }
    }

    /// The attempt's state is gone: its slot is freed once its span has ended.
    #[cold]
    pub(super) fn release_span(&mut self, slot: u32) {
        if let Some(t) = self.recorder.tracer.as_mut() {
            t.release(slot);
        }
    }

    /// A traced attempt became a job: its server span starts now (queue wait included).
    #[cold]
    pub(super) fn trace_job(&mut self, job: Key, parent: u32) {
        let sc = self.sc;
        let j = self.live.jobs.get(job).expect("a new job is live");
        let inst = &sc.instances[j.instance.idx()];
        let service = sc.services[inst.service.idx()].name.as_str();
        let name = format!("{service}/{}", sc.endpoints[j.endpoint.idx()].name);
        let attrs = vec![("service.instance.id", Attr::Str(inst.name.clone()))];
        let now = self.now;
        let tracer = self.recorder.tracer.as_mut().expect("called with a tracer");
        let slot = tracer.child(parent, now, SpanKind::Server, name, service, attrs);
        self.observe_span_start(slot);
        self.live.jobs.get_mut(job).expect("a new job is live").span = slot;
        self.recorder.span_owners += 1;
    }

    /// A traced job ends: answered with `outcome`, or lost with its instance.
    #[cold]
    pub(super) fn end_job_span(&mut self, slot: u32, outcome: Option<Outcome>) {
        self.observe_span_end(slot);
        let now = self.now;
        let tracer = self.recorder.tracer.as_mut().expect("a traced job has a tracer");
        match outcome {
            Some(o) => tracer.end(slot, now, status(o), outcome_attrs(o)),
            None => {
                tracer.end(slot, now, SpanStatus::Error, vec![("meshsim.outcome", Attr::Str("lost-in-crash".into()))])
            }
        }
        tracer.release(slot);
        self.recorder.span_owners -= 1;
    }
}
