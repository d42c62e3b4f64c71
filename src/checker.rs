//! The invariant checker: it watches what the run does, one observation at a time (not
//! the components' internals), keeps its own count of what each observation implies, and
//! records every violation with the simulated time and the event that shows it.
//!
//! Checked as the run goes: time never goes back (nothing was scheduled in the past);
//! every request ends once; no breaker admits a call while OPEN (or FORCED_OPEN), nor
//! more calls in a HALF_OPEN episode than its permits (plus the permits given back, as
//! Resilience4j's `releasePermission` does); no call makes more attempts than its policy
//! allows; a semaphore bulkhead never has more calls in than its permits; Envoy's
//! `max_retries` is never exceeded by retries in flight, and no retry starts that the
//! proxy's budget could not have allowed (tower's ratio budget over its window, gRPC
//! throttling's token count, the AWS SDK's quota, each recounted here from the requests,
//! results and retries the loop reports); no work starts after a propagated deadline; no
//! call goes to an instance that every cached view excludes (or, with ideal discovery,
//! that is not routable); span trees are consistent (a span starts once, after its
//! parent, in its parent's trace, and ends once, not before it started). Checked at the end, from the run's figures: every request has
//! exactly one terminal outcome (arrived = ok + failed + in flight), the routes' counts
//! sum to the total, and Little's law holds at each busy station within tolerance.

use crate::resilience::breaker::BreakerState;
use crate::resilience::budget::BudgetConfig;
use crate::result::RunResult;
use crate::time::{SimDuration, SimTime};
use std::collections::{HashMap, HashSet, VecDeque};

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
    /// A retry starts or ends at a proxy whose Envoy `max_retries` is `limit`; the
    /// attempt it follows timed out or not (the AWS cost).
    RetryStart {
        proxy: u32,
        limit: u32,
        after_timeout: bool,
    },
    RetryEnd {
        proxy: u32,
    },
    /// A job starts its work at an instance, with its propagated deadline.
    WorkStarted {
        deadline: SimTime,
    },
    /// An original request enters a proxy with a retry budget.
    BudgetRequest {
        proxy: u32,
    },
    /// The proxy tells its retry budget how an attempt ended: a success or a failure its
    /// policy retries; the first attempt or not; for a retry the budget allowed, whether
    /// it was charged as one after a timeout (`None`: not such a retry).
    BudgetResult {
        proxy: u32,
        success: bool,
        first: bool,
        charged_timeout: Option<bool>,
    },
    /// Cached view `view` now includes (or no longer includes) `instance`.
    ViewChanged {
        view: u32,
        instance: u32,
        visible: bool,
    },
    /// An attempt leaves for `instance`: from a proxy with a cached view (`cached`), or
    /// with ideal discovery, when the instance is `routable` (running and ready) or not.
    Sent {
        instance: u32,
        cached: bool,
        routable: bool,
    },
    /// A span starts (`parent` 0 for a root) or ends.
    SpanStart {
        trace: u128,
        id: u64,
        parent: u64,
    },
    SpanEnd {
        id: u64,
    },
}

/// What the checker recounts for one proxy's retry budget.
#[derive(Clone, Debug)]
enum BudgetModel {
    None,
    /// tower's `TpsBudget`: deposit and withdrawal amounts, the reserve, the ttl, and the
    /// times of recent deposits and retries.
    Ratio {
        deposit: i64,
        withdraw: i64,
        reserve: i64,
        ttl: SimDuration,
        deposits: VecDeque<SimTime>,
        retries: VecDeque<SimTime>,
    },
    /// gRPC throttling, in thousandths of a token.
    Grpc {
        max: u64,
        ratio: u64,
        tokens: u64,
    },
    Aws {
        capacity: u64,
        cost: u64,
        timeout_cost: u64,
        refill: u64,
        quota: u64,
    },
}

impl BudgetModel {
    fn new(config: Option<&BudgetConfig>) -> BudgetModel {
        match config {
            Some(&BudgetConfig::Ratio { retry_ratio, min_retries_per_sec, ttl }) => {
                // tower's amounts, computed in f32 as tower does.
                let r = retry_ratio as f32;
                let (deposit, withdraw) = if r == 0.0 {
                    (0, 1)
                } else if r <= 1.0 {
                    (1, (1.0 / r) as i64)
                } else {
                    (1000, (1000.0 / r) as i64)
                };
                let reserve = i64::from(min_retries_per_sec).saturating_mul((ttl.0 / 1_000_000_000) as i64) * withdraw;
                BudgetModel::Ratio {
                    deposit,
                    withdraw,
                    reserve,
                    ttl,
                    deposits: VecDeque::new(),
                    retries: VecDeque::new(),
                }
            }
            Some(&BudgetConfig::GrpcThrottle { max_tokens, token_ratio }) => {
                let max = u64::from(max_tokens) * 1000;
                let scaled = token_ratio * 1000.0;
                let ratio =
                    if (scaled - scaled.round()).abs() < 1e-6 { scaled.round() as u64 } else { scaled.floor() as u64 };
                BudgetModel::Grpc { max, ratio, tokens: max }
            }
            Some(&BudgetConfig::AwsQuota { capacity, retry_cost, timeout_retry_cost, success_refill }) => {
                BudgetModel::Aws {
                    capacity: u64::from(capacity),
                    cost: u64::from(retry_cost),
                    timeout_cost: u64::from(timeout_retry_cost),
                    refill: u64::from(success_refill),
                    quota: u64::from(capacity),
                }
            }
            _ => BudgetModel::None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct SpanSeen {
    trace: u128,
    start: SimTime,
    ended: bool,
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
    /// Per proxy, the retry budget recounted (set by [`Checker::expect_budgets`]).
    budgets: Vec<BudgetModel>,
    /// Per instance, how many cached views include it.
    in_views: HashMap<u32, u32>,
    spans: HashMap<u64, SpanSeen>,
}

impl Checker {
    pub fn new() -> Checker {
        Checker::default()
    }

    /// The retry budget of each proxy (by proxy index), to recount its decisions.
    pub fn expect_budgets(&mut self, budgets: &[Option<BudgetConfig>]) {
        self.budgets = budgets.iter().map(|b| BudgetModel::new(b.as_ref())).collect();
    }

    /// A retry starts at `proxy`: could its budget have allowed it?
    fn budget_retry(&mut self, proxy: u32, after_timeout: bool) {
        let now = self.now;
        let detail = match self.budgets.get_mut(proxy as usize) {
            Some(BudgetModel::Ratio { deposit, withdraw, reserve, ttl, deposits, retries }) => {
                // tower keeps deposits and withdrawals in ten buckets of ttl / 10 that
                // expire as operations come, so what its sum holds is only bounded: every
                // retry of the last 0.4 ttl, and no deposit older than 1.5 ttl. A retry is
                // allowed only if the sum covers it, so this bound must hold.
                retries.push_back(now);
                let recent = SimDuration(ttl.0 * 2 / 5);
                while retries.front().is_some_and(|&t| now.since(t) >= recent) {
                    retries.pop_front();
                }
                let old = SimDuration(ttl.0 * 3 / 2);
                while deposits.front().is_some_and(|&t| now.since(t) > old) {
                    deposits.pop_front();
                }
                let (r, d) = (retries.len() as i64, deposits.len() as i64);
                (*withdraw * r > *reserve + *deposit * d).then(|| {
                    format!(
                        "proxy {proxy}: {r} retries in 0.4 ttl withdraw {}, more than the reserve {} and the {d} requests of 1.5 ttl give",
                        *withdraw * r,
                        *reserve
                    )
                })
            }
            Some(BudgetModel::Grpc { max, tokens, .. }) => (*tokens <= *max / 2).then(|| {
                format!(
                    "proxy {proxy}: a retry with {:.3} tokens, not above half of {}",
                    *tokens as f64 / 1e3,
                    *max / 1000
                )
            }),
            Some(BudgetModel::Aws { cost, timeout_cost, quota, .. }) => {
                let c = if after_timeout { *timeout_cost } else { *cost };
                if *quota >= c {
                    *quota -= c;
                    None
                } else {
                    Some(format!("proxy {proxy}: a retry costing {c} with {quota} left in the quota"))
                }
            }
            _ => None,
        };
        if let Some(d) = detail {
            self.violate("retry-budget", d);
        }
    }

    fn violate(&mut self, property: &'static str, detail: String) {
        self.violation_count += 1;
        if self.violations.len() < VIOLATIONS_KEPT {
            self.violations.push(Violation { at: self.now, event: self.events, property, detail });
        }
    }

    /// One observation.
    // Over 80 lines: one arm per kind of observation, each a few lines of counting; split
    // by kind it would scatter the checker's bookkeeping over as many functions.
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
            Obs::RetryStart { proxy, limit, after_timeout } => {
                self.budget_retry(proxy, after_timeout);
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
            Obs::BudgetRequest { proxy } => {
                if let Some(BudgetModel::Ratio { deposits, .. }) = self.budgets.get_mut(proxy as usize) {
                    deposits.push_back(self.now);
                }
            }
            Obs::BudgetResult { proxy, success, first, charged_timeout } => {
                match self.budgets.get_mut(proxy as usize) {
                    Some(BudgetModel::Grpc { max, ratio, tokens }) => {
                        *tokens = if success { (*tokens + *ratio).min(*max) } else { tokens.saturating_sub(1000) };
                    }
                    Some(BudgetModel::Aws { capacity, cost, timeout_cost, refill, quota }) if success => {
                        let back = match charged_timeout {
                            Some(true) => *timeout_cost,
                            Some(false) => *cost,
                            None if first => *refill,
                            None => 0,
                        };
                        *quota = (*quota + back).min(*capacity);
                    }
                    _ => {}
                }
            }
            Obs::ViewChanged { view, instance, visible } => {
                let n = self.in_views.entry(instance).or_default();
                if visible {
                    *n += 1;
                } else if *n == 0 {
                    self.violate(
                        "view-excluded-send",
                        format!("view {view} dropped instance {instance} it did not hold"),
                    );
                } else {
                    *n -= 1;
                }
            }
            Obs::Sent { instance, cached, routable } => {
                if cached && self.in_views.get(&instance).is_none_or(|&n| n == 0) {
                    self.violate(
                        "view-excluded-send",
                        format!("a call went to instance {instance}, which no view holds"),
                    );
                } else if !cached && !routable {
                    self.violate(
                        "view-excluded-send",
                        format!("a call went to instance {instance}, which is not running and ready"),
                    );
                }
            }
            Obs::SpanStart { trace, id, parent } => {
                if parent != 0 {
                    match self.spans.get(&parent) {
                        None => {
                            self.violate("span-tree", format!("span {id:016x} names an unknown parent {parent:016x}"))
                        }
                        Some(p) if p.trace != trace => {
                            self.violate("span-tree", format!("span {id:016x} is not in its parent's trace"))
                        }
                        Some(p) if p.start > self.now => {
                            self.violate("span-tree", format!("span {id:016x} starts before its parent"))
                        }
                        Some(_) => {}
                    }
                }
                let seen = SpanSeen { trace, start: self.now, ended: false };
                if self.spans.insert(id, seen).is_some() {
                    self.violate("span-tree", format!("span id {id:016x} started twice"));
                }
            }
            Obs::SpanEnd { id } => match self.spans.get_mut(&id) {
                None => self.violate("span-tree", format!("span {id:016x} ended but never started")),
                Some(s) if s.ended => self.violate("span-tree", format!("span {id:016x} ended twice")),
                Some(s) => s.ended = true,
            },
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
            if done < 1000 || secs <= 0.0 || !matches!(r.stop, crate::result::Stop::Completed) {
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
