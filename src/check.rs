//! The invariant checker: it watches what the run does, one observation at a time (not
//! the components' internals), keeps its own count of what each observation implies, and
//! records every violation with the simulated time and the event that shows it.
//!
//! Checked as the run goes: time never goes back (nothing was scheduled in the past);
//! every request ends once; no breaker admits a call while OPEN (or FORCED_OPEN), nor
//! more calls in a HALF_OPEN episode than its permits (plus the permits given back, as
//! Resilience4j's `releasePermission` does); no call makes more attempts than its policy
//! allows; a semaphore bulkhead never has more calls in than its permits; Envoy's
//! `max_retries` is never exceeded by retries in flight; no work starts after a
//! propagated deadline. Checked at the end, from the run's figures: every request has
//! exactly one terminal outcome (arrived = ok + failed + in flight), the routes' counts
//! sum to the total, and Little's law holds at each busy station within tolerance.

use crate::resilience::breaker::BreakerState;
use crate::sim::RunResult;
use crate::time::SimTime;
use std::collections::{HashMap, HashSet};

/// The most violations kept per run (the count goes on).
pub const VIOLATIONS_KEPT: usize = 100;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The simulated time and the number of the event (from 1) during which it showed.
    pub at: SimTime,
    pub event: u64,
    /// The property's short name, e.g. `breaker-open-admission`.
    pub property: &'static str,
    pub detail: String,
}

/// What the loop reports to the checker.
#[derive(Clone, Copy, Debug)]
pub enum Obs {
    /// An event is popped at this time.
    Event(SimTime),
    RequestArrived(u64),
    RequestEnded(u64),
    /// A breaker unit (proxy, unit) changed state; `permits` is its HALF_OPEN allowance.
    BreakerState {
        proxy: u32,
        unit: u32,
        to: BreakerState,
        permits: u32,
    },
    /// A breaker unit admitted a call, or got back an unused admission.
    BreakerAdmit {
        proxy: u32,
        unit: u32,
    },
    BreakerRelease {
        proxy: u32,
        unit: u32,
    },
    /// Attempt number `n` of a call (by id) leaves, under a policy allowing `max`.
    Attempt {
        call: u64,
        n: u32,
        max: u32,
    },
    CallEnded(u64),
    /// A call enters or leaves a proxy's semaphore bulkhead of `limit` permits.
    BulkheadEnter {
        proxy: u32,
        limit: u32,
    },
    BulkheadLeave {
        proxy: u32,
    },
    /// A retry starts or ends at a proxy whose Envoy `max_retries` is `limit`.
    RetryStart {
        proxy: u32,
        limit: u32,
    },
    RetryEnd {
        proxy: u32,
    },
    /// A job starts its work at an instance, with its propagated deadline.
    WorkStarted {
        deadline: SimTime,
    },
}

#[derive(Clone, Copy, Debug, Default)]
struct Unit {
    state: Option<BreakerState>,
    /// Admissions in the current HALF_OPEN episode, and its allowance (permits plus
    /// releases seen during it).
    admitted: u64,
    allowance: u64,
}

/// The checker's own counts, fed by [`Obs`].
#[derive(Debug, Default)]
pub struct Checker {
    now: SimTime,
    events: u64,
    pub violations: Vec<Violation>,
    pub violation_count: u64,
    open_requests: HashSet<u64>,
    units: HashMap<(u32, u32), Unit>,
    attempts: HashMap<u64, u32>,
    bulkhead_in: HashMap<u32, u32>,
    retries_in: HashMap<u32, u32>,
}

impl Checker {
    pub fn new() -> Checker {
        Checker::default()
    }

    fn violate(&mut self, property: &'static str, detail: String) {
        self.violation_count += 1;
        if self.violations.len() < VIOLATIONS_KEPT {
            self.violations.push(Violation { at: self.now, event: self.events, property, detail });
        }
    }

    /// One observation.
    pub fn observe(&mut self, obs: Obs) {
        match obs {
            Obs::Event(t) => {
                self.events += 1;
                if t < self.now {
                    self.violate("time-monotone", format!("an event at {t} after one at {}", self.now));
                }
                self.now = self.now.max(t);
            }
            Obs::RequestArrived(id) => {
                if !self.open_requests.insert(id) {
                    self.violate("one-terminal-outcome", format!("request {id:#x} arrived twice"));
                }
            }
            Obs::RequestEnded(id) => {
                if !self.open_requests.remove(&id) {
                    self.violate("one-terminal-outcome", format!("request {id:#x} ended but was not in flight"));
                }
            }
            Obs::BreakerState { proxy, unit, to, permits } => {
                let u = self.units.entry((proxy, unit)).or_default();
                u.state = Some(to);
                if to == BreakerState::HalfOpen {
                    u.admitted = 0;
                    u.allowance = u64::from(permits);
                }
            }
            Obs::BreakerAdmit { proxy, unit } => {
                let u = self.units.entry((proxy, unit)).or_default();
                match u.state {
                    Some(BreakerState::Open | BreakerState::ForcedOpen) => {
                        let state = u.state.expect("matched");
                        self.violate(
                            "breaker-open-admission",
                            format!("proxy {proxy} unit {unit} admitted a call while {state}"),
                        );
                    }
                    Some(BreakerState::HalfOpen) => {
                        u.admitted += 1;
                        if u.admitted > u.allowance {
                            let (n, a) = (u.admitted, u.allowance);
                            self.violate(
                                "breaker-half-open-permits",
                                format!(
                                    "proxy {proxy} unit {unit} admitted {n} calls in one HALF_OPEN episode, allowed {a}"
                                ),
                            );
                        }
                    }
                    _ => {}
                }
            }
            Obs::BreakerRelease { proxy, unit } => {
                let u = self.units.entry((proxy, unit)).or_default();
                if u.state == Some(BreakerState::HalfOpen) {
                    u.allowance += 1;
                }
            }
            Obs::Attempt { call, n, max } => {
                let seen = self.attempts.entry(call).or_default();
                *seen += 1;
                let seen = *seen;
                if seen != n {
                    self.violate("attempts-counted", format!("call {call:#x} sent attempt {n} as its attempt {seen}"));
                }
                if seen > max {
                    self.violate(
                        "max-attempts",
                        format!("call {call:#x} made {seen} attempts, its policy allows {max}"),
                    );
                }
            }
            Obs::CallEnded(call) => {
                self.attempts.remove(&call);
            }
            Obs::BulkheadEnter { proxy, limit } => {
                let n = self.bulkhead_in.entry(proxy).or_default();
                *n += 1;
                let n = *n;
                if n > limit {
                    self.violate("bulkhead-limit", format!("proxy {proxy} has {n} calls in its bulkhead of {limit}"));
                }
            }
            Obs::BulkheadLeave { proxy } => {
                let n = self.bulkhead_in.entry(proxy).or_default();
                if *n == 0 {
                    self.violate("bulkhead-limit", format!("proxy {proxy} left a bulkhead it was not in"));
                } else {
                    *n -= 1;
                }
            }
            Obs::RetryStart { proxy, limit } => {
                let n = self.retries_in.entry(proxy).or_default();
                *n += 1;
                let n = *n;
                if n > limit {
                    self.violate(
                        "retry-budget",
                        format!("proxy {proxy} has {n} retries in flight, Envoy's max_retries is {limit}"),
                    );
                }
            }
            Obs::RetryEnd { proxy } => {
                let n = self.retries_in.entry(proxy).or_default();
                *n = n.saturating_sub(1);
            }
            Obs::WorkStarted { deadline } => {
                if self.now >= deadline {
                    self.violate(
                        "work-after-deadline",
                        format!("work started at {} past its deadline {deadline}", self.now),
                    );
                }
            }
        }
    }

    /// The end-of-run checks, from the run's figures.
    pub fn finish(&mut self, sc: &crate::model::Scenario, r: &RunResult) {
        let c = &r.total.counts;
        if c.total() + r.in_flight_measured != r.requests_measured {
            self.violate(
                "one-terminal-outcome",
                format!(
                    "{} measured requests arrived, {} ok + {} failed + {} in flight",
                    r.requests_measured,
                    c.ok,
                    c.failed(),
                    r.in_flight_measured
                ),
            );
        }
        let routes: u64 = r.routes.iter().map(|f| f.counts.total()).sum();
        let ok: u64 = r.routes.iter().map(|f| f.counts.ok).sum();
        if routes != c.total() || ok != c.ok {
            self.violate(
                "metrics-consistent",
                format!("the routes count {routes} requests ({ok} ok), the total {} ({} ok)", c.total(), c.ok),
            );
        }
        let secs = r.end.since(r.warmup).as_secs_f64();
        for (i, st) in r.stations.iter().enumerate() {
            let t = &st.totals;
            let done = t.completed + t.errors;
            if done < 1000 || secs <= 0.0 || !matches!(r.stop, crate::sim::Stop::Completed) {
                continue;
            }
            let l = t.area_in_system as f64 / 1e9 / secs;
            let lw = t.arrivals as f64 / secs * t.sojourn_mean_ms() / 1e3;
            // Work still in the station at the end, and the edges of the measured interval,
            // keep the two from matching exactly; beyond 5 % (or 0.05 jobs) is a bug.
            if (l - lw).abs() > 0.05 * l.max(lw) + 0.05 {
                self.violate(
                    "littles-law",
                    format!("station {}: L = {l:.4} jobs, lambda * W = {lw:.4}", sc.instances[i].name),
                );
            }
        }
    }
}
