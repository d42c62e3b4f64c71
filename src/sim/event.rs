//! The loop's events: a closed enum, ordered by (time, sequence) in the event queue
//! (`event_queue.rs`) and dispatched by one `match` (`event_loop.rs`). An event names the
//! live entity it concerns by its slab key, or an owner's unit by index; one that refers
//! to finished work finds a stale key and does nothing.

use super::slab::Key;
use crate::outcome::Outcome;

#[derive(Clone, Copy, Debug)]
pub(super) enum Event {
    /// The next open-loop request arrives.
    Arrival,
    /// A closed-loop user sends its next request.
    UserWake(u32),
    /// An attempt's request message reaches the callee instance.
    Deliver(Key),
    /// A job's local work is done.
    ComputeDone(Key),
    /// An attempt's response reaches the caller.
    Respond(Key, Outcome),
    /// An attempt's per-try timeout fires.
    AttemptTimeout(Key),
    /// A call's overall timeout (its deadline across attempts) fires.
    CallTimeout(Key),
    /// A call's backoff before its next attempt is over.
    Retry(Key),
    /// A call's hedging delay is over: send another attempt if no answer came.
    Hedge(Key),
    /// A queued call's delay is over: try it again in the background.
    Redeliver(Key),
    /// A call held back by a delay injected at its proxy may start (`held` slab).
    ReleaseCall(Key),
    /// A circuit breaker (proxy, unit) is due to change state by itself.
    BreakerWake(u32, u32),
    /// A proxy's bulkhead has a waiter whose wait runs out.
    BulkheadExpire(u32),
    /// A proxy's outlier detector runs its interval sweep.
    OutlierSweep(u32),
    /// A request held by a gateway rate limiter may go on, or is refused (429).
    Admit(Key),
    Deny(Key),
    /// A service's rate limiter refuses an attempt (429), after holding it (Resilience4j).
    ServerDeny(Key),
    /// The warm-up ends: measured station integrals start here.
    WarmupEnd,
    /// Fault `i` of the scenario begins, or ends.
    FaultStart(u32),
    FaultEnd(u32),
    /// The next extra arrival of load fault `i` (of the given occurrence).
    LoadArrival(u32, u32),
    /// Lifecycle action `i` of the scenario.
    Lifecycle(u32),
    /// An instance (of the given start epoch) is through its start-up time.
    StartupDone(u32, u32),
    /// An instance (of the given epoch) sends its heartbeat to the registry.
    Heartbeat(u32, u32),
    /// The registry expires entries whose TTL ran out.
    RegistryExpire,
    /// A cached view fetches the registry's list again.
    Refresh(u32),
    /// A slow registry's answer to a view's read arrives.
    RefreshDone(u32),
    /// A health checker has checks due.
    HealthCheck(u32),
    /// A check of (checker, host) ended: pass, network failure or timeout.
    CheckResult(u32, u32, CheckOutcome),
    /// An instance's kubelet has probes due (instance, epoch of the kubelet's schedule).
    Probe(u32, u32),
    /// A probe of (instance, kind index) ended.
    ProbeDone(u32, u8, CheckOutcome),
    /// Config change `i` leaves the control plane.
    ConfigPush(u32),
    /// Config change `i` reaches proxy `p`.
    ConfigApply(u32, u32),
    /// Autoscaler `i` evaluates (at a multiple of its interval).
    Autoscale(u32),
    /// Rollout `i` runs its analysis.
    RolloutTick(u32),
    /// A sidecar's certificate agent (site, timer generation) has a rotation, retry or
    /// expiry due.
    Cert(u32, u32),
}

#[derive(Clone, Copy, Debug)]
pub(super) enum CheckOutcome {
    Pass,
    Refused,
    Timeout,
}
