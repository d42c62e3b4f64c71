//! The live entities owner: the work in flight, in generational slabs. A request from
//! arrival to answer; a call through its caller's proxy (one or more attempts under its
//! policy); an attempt from send to answer; a job at an instance; a queued call tried
//! again in the background (`deferred`); a call held back by a delay fault (`held`).
//!
//! **Invariant:** memory is bounded by the work in flight: an entity is removed when its
//! life ends, and an event naming a removed one finds a stale key and does nothing. An
//! attempt outlives its call when the caller gave up (`abandoned`): the callee cannot know
//! and answers anyway.

use super::slab::{Key, Slab};
use crate::model::{CallPolicy, Caller, EndpointId, InstanceId, RouteId, ServiceId, ZoneId};
use crate::resilience::backoff::Backoff;
use crate::time::{SimDuration, SimTime};

/// The slabs of the work in flight.
pub(super) struct Live<'s> {
    pub(super) requests: Slab<Request>,
    pub(super) calls: Slab<Call<'s>>,
    pub(super) attempts: Slab<Attempt>,
    pub(super) jobs: Slab<Job>,
    pub(super) deferred: Slab<Deferred>,
    pub(super) held: Slab<CallSite>,
}

impl Live<'_> {
    pub(super) fn new() -> Self {
        Live {
            requests: Slab::new(),
            calls: Slab::new(),
            attempts: Slab::new(),
            jobs: Slab::new(),
            deferred: Slab::new(),
            held: Slab::new(),
        }
    }
}

pub(super) struct Request {
    pub(super) route: RouteId,
    pub(super) arrived: SimTime,
    pub(super) user: Option<u32>,
    pub(super) measured: bool,
    pub(super) client: u64,
    /// Its root span's slot in the tracer (`NO_SPAN`: not traced).
    pub(super) span: u32,
}

/// The span slot of something not traced.
pub(super) const NO_SPAN: u32 = u32::MAX;

#[derive(Clone, Copy)]
pub(super) enum Parent {
    Request(Key),
    /// The job and the index of the call in its endpoint's `calls`.
    Job(Key, u16),
    /// A queued call, tried again in the background (`deferred` slab).
    Deferred(Key),
    /// A mirrored copy of a call: nobody waits for its answer.
    Mirror,
}

/// A call a queue-for-later fallback answered as pending, to be made again later.
pub(super) struct Deferred {
    /// The call to make again (its parent is filled in then: `Parent::Deferred` of
    /// this entry's key).
    pub(super) call: CallSite,
    /// The proxy whose policy point counts its fate.
    pub(super) proxy: u32,
    pub(super) delay: SimDuration,
    /// Background tries left.
    pub(super) left: u32,
}

/// Who makes a call and to what: the call's identity as it enters its caller's proxy,
/// copied along (and kept in the `held` slab while a delay fault holds the call back).
#[derive(Clone, Copy)]
pub(super) struct CallSite {
    pub(super) parent: Parent,
    pub(super) caller: Caller,
    /// The calling site (`GATEWAY_SITE`, or 1 + the instance).
    pub(super) site: u32,
    pub(super) zone: ZoneId,
    pub(super) endpoint: EndpointId,
    pub(super) client: u64,
    pub(super) measured: bool,
    /// A fallback or background call, which has no fallback of its own.
    pub(super) is_fallback: bool,
}

/// Where the caller's proxy sends a call: the proxy, the destination service and the
/// policy it runs for the call now.
#[derive(Clone, Copy)]
pub(super) struct Route<'s> {
    pub(super) proxy: u32,
    pub(super) service: ServiceId,
    pub(super) policy: &'s CallPolicy,
    /// The proxy has a guard (see `Call::guarded`).
    pub(super) guarded: bool,
}

/// What each attempt of a call carries from the call: the proxy sending it, where to, and
/// for whom.
#[derive(Clone, Copy)]
pub(super) struct Target {
    pub(super) proxy: u32,
    pub(super) service: ServiceId,
    pub(super) endpoint: EndpointId,
    pub(super) caller_zone: ZoneId,
    pub(super) client: u64,
    pub(super) measured: bool,
}

/// A call through a caller's proxy: one or more attempts under the call's policy.
pub(super) struct Call<'s> {
    pub(super) parent: Parent,
    pub(super) caller: Caller,
    /// The caller's policy for this endpoint, resolved once.
    pub(super) policy: &'s CallPolicy,
    /// The proxy has a guard (a retry budget, circuit breakers, a bulkhead or outlier
    /// detection); without one, an attempt goes straight to balancing.
    pub(super) guarded: bool,
    pub(super) caller_zone: ZoneId,
    pub(super) proxy: u32,
    pub(super) service: ServiceId,
    pub(super) endpoint: EndpointId,
    pub(super) client: u64,
    pub(super) measured: bool,
    /// Attempts made so far, the first included.
    pub(super) attempts: u32,
    /// The attempts in flight: one, or several when hedging.
    pub(super) inflight: InFlight,
    /// Hedges sent so far (attempts after the first, by hedging).
    pub(super) hedges: u32,
    /// The call's deadline as it travels to the callee (`SimTime::MAX`: none carried).
    pub(super) deadline: SimTime,
    /// Hosts tried, as a bit set over host index mod 64 (Envoy's previous-hosts predicate).
    pub(super) tried: u64,
    /// Backoff state, from the first retry on.
    pub(super) backoff: Option<Backoff>,
    /// A retry the budget allowed has not reported its result yet; and whether the
    /// budget charged it as a retry after a timeout.
    pub(super) retry_pending: bool,
    pub(super) retry_charged_timeout: bool,
    /// Waiting for a bulkhead permit, holding this breaker unit's permission
    /// (`u32::MAX`: none).
    pub(super) queued: bool,
    pub(super) queued_unit: u32,
    /// This call is itself a fallback, which has no fallback of its own.
    pub(super) is_fallback: bool,
    /// Work (service time, ns) (ns) behind the successful answer, once one came.
    pub(super) work: u64,
    /// The destination subset (version) routing chose for it (`groups::ANY`: any).
    pub(super) subset: u32,
}

impl Call<'_> {
    /// What each of the call's attempts carries.
    #[inline(always)]
    pub(super) fn target(&self) -> Target {
        Target {
            proxy: self.proxy,
            service: self.service,
            endpoint: self.endpoint,
            caller_zone: self.caller_zone,
            client: self.client,
            measured: self.measured,
        }
    }
}

impl<'s> Call<'s> {
    /// A call entering its proxy along `route`: no attempt made yet, no deadline carried,
    /// no backoff; `subset` is the version routing chose (`groups::ANY`: any).
    #[inline(always)]
    pub(super) fn new(from: &CallSite, route: Route<'s>, subset: u32) -> Call<'s> {
        Call {
            parent: from.parent,
            caller: from.caller,
            policy: route.policy,
            guarded: route.guarded,
            caller_zone: from.zone,
            proxy: route.proxy,
            service: route.service,
            endpoint: from.endpoint,
            client: from.client,
            measured: from.measured,
            attempts: 0,
            inflight: InFlight::EMPTY,
            hedges: 0,
            deadline: SimTime::MAX,
            tried: 0,
            backoff: None,
            retry_pending: false,
            retry_charged_timeout: false,
            queued: false,
            queued_unit: u32::MAX,
            is_fallback: from.is_fallback,
            work: 0,
            subset,
        }
    }
}

/// The attempts of one call in flight at once (at most gRPC's 5 hedges).
#[derive(Clone, Copy)]
pub(super) struct InFlight {
    pub(super) keys: [Key; 5],
    pub(super) len: u8,
}

impl InFlight {
    pub(super) const EMPTY: InFlight = InFlight { keys: [Key::NONE; 5], len: 0 };

    pub(super) fn push(&mut self, k: Key) {
        self.keys[self.len as usize] = k;
        self.len += 1;
    }

    #[inline]
    pub(super) fn remove(&mut self, k: Key) {
        if self.len == 1 && self.keys[0] == k {
            // The common case: the call's only attempt.
            self.len = 0;
        } else if let Some(i) = self.keys[..self.len as usize].iter().position(|&x| x == k) {
            self.keys[i] = self.keys[self.len as usize - 1];
            self.len -= 1;
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn keys(&self) -> &[Key] {
        &self.keys[..self.len as usize]
    }
}

/// Who waits for an attempt's answer.
#[derive(Clone, Copy)]
pub(super) enum Owner {
    /// A call with a policy or a guard (timeouts, retries, hedging, a fallback, a
    /// propagated deadline, a breaker, a bulkhead, a budget, outlier detection).
    Call(Key),
    /// A direct call: no policy and no guard at its proxy, nor routing or a checker in the
    /// run, so the call is its one attempt and no `Call` is kept; the answer goes straight
    /// to the call's parent (`calls.rs`, `dispatch_direct`). Figures and draws are those
    /// the general path gives.
    Direct(Parent),
}

/// One attempt of a call: a request to one instance and its answer.
#[derive(Clone, Copy)]
pub(super) struct Attempt {
    pub(super) owner: Owner,
    /// The deadline the request carries to the callee (`SimTime::MAX`: none).
    pub(super) deadline: SimTime,
    /// The breaker unit that permitted this attempt, `u32::MAX` without a breaker.
    pub(super) breaker: u32,
    /// A retry (not the call's first attempt).
    pub(super) retry: bool,
    /// Holds a permit of its proxy's bulkhead.
    pub(super) permit: bool,
    pub(super) caller_zone: ZoneId,
    pub(super) proxy: u32,
    pub(super) host: u32,
    pub(super) instance: InstanceId,
    pub(super) service: ServiceId,
    pub(super) endpoint: EndpointId,
    pub(super) sent: SimTime,
    pub(super) client: u64,
    /// Whether a per-try timeout watches this attempt.
    pub(super) has_timeout: bool,
    /// The request or the response was lost on a link.
    pub(super) lost: bool,
    /// Lost to a hung host: the caller sees a timeout, not a loss.
    pub(super) hung: bool,
    /// A latency fault already held this request back once.
    pub(super) delayed: bool,
    /// The callee's rate limiter already let this request in (after a wait).
    pub(super) limited: bool,
    /// The caller gave up (timeout); the state stays until the callee's answer is back.
    pub(super) abandoned: bool,
    pub(super) measured: bool,
    /// Work (service time, ns) (ns) behind the callee's answer, if it was a success: its own job's and
    /// that of the successful calls the job made.
    pub(super) work: u64,
    /// Its client span's slot (`NO_SPAN`: not traced).
    pub(super) span: u32,
}

impl Attempt {
    /// An attempt sent now to `host` (`instance`) by `to.proxy`: a first try, with no
    /// deadline, breaker unit, bulkhead permit or per-try timeout (the general call path
    /// sets those it has).
    #[inline(always)]
    pub(super) fn new(owner: Owner, to: Target, host: usize, instance: InstanceId, sent: SimTime) -> Attempt {
        Attempt {
            owner,
            deadline: SimTime::MAX,
            breaker: u32::MAX,
            retry: false,
            permit: false,
            caller_zone: to.caller_zone,
            proxy: to.proxy,
            host: host as u32,
            instance,
            service: to.service,
            endpoint: to.endpoint,
            sent,
            client: to.client,
            has_timeout: false,
            lost: false,
            hung: false,
            delayed: false,
            limited: false,
            abandoned: false,
            measured: to.measured,
            work: 0,
            span: NO_SPAN,
        }
    }
}

pub(super) struct Job {
    pub(super) attempt: Key,
    /// No work starts past this (`SimTime::MAX`: no deadline was propagated).
    pub(super) deadline: SimTime,
    pub(super) instance: InstanceId,
    pub(super) endpoint: EndpointId,
    pub(super) arrived: SimTime,
    pub(super) started: SimTime,
    pub(super) compute: SimDuration,
    pub(super) next_call: u16,
    pub(super) pending: u16,
    pub(super) failed: bool,
    pub(super) holds_worker: bool,
    pub(super) client: u64,
    pub(super) measured: bool,
    /// Work (service time, ns) (ns) behind the successful answers of the job's own calls.
    pub(super) work: u64,
    /// Its server span's slot (`NO_SPAN`: not traced).
    pub(super) span: u32,
    /// The version whose endpoint behaviour the job follows (`u32::MAX`: its service's).
    pub(super) behaviour: u32,
}
