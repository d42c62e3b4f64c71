//! Envoy active health checking: a checker probes each host of a cluster on its own schedule
//! and marks it healthy or unhealthy after thresholds of consecutive results.
//!
//! One `HealthChecker` lives per (checker, cluster): in a caller's proxy per destination, or in
//! the registry for its own checks. It follows `source/extensions/health_checkers/common/
//! health_checker_base_impl.cc` (formerly `source/common/upstream/health_checker_base_impl.cc`)
//! and the HTTP checker in `source/extensions/health_checkers/http/health_checker_impl.cc`:
//!
//! - **Initial state.** Envoy sets `FAILED_ACTIVE_HC` on every host of a cluster with a health
//!   checker, both the static hosts at start-up (`StaticClusterImpl::startPreInit`) and every
//!   host added later (`updateDynamicHostList`: "If we are depending on a health checker, we
//!   initialize to unhealthy"); there is no option to start them healthy
//!   (`ignore_new_hosts_until_first_hc` only also *excludes* them until checked). But the
//!   *first* check of a host decides on its own: a first success makes the host healthy at once
//!   whatever `healthy_threshold` is ("during startup, only a single successful health check is
//!   required to mark a host healthy"). [`HealthChecker::add_host`] takes `initially_healthy`
//!   for other systems; Envoy's is `false`.
//! - **Schedule.** A host's first check runs when its session starts (immediately, or after a
//!   uniform `[0, initial_jitter)`). A check in flight ends with its response or, `timeout`
//!   after it was sent, as a failure; the next check is scheduled an interval after the check
//!   *ended* (Envoy arms the interval timer in `handleSuccess`/`handleFailure`), so checks are
//!   `interval + response time` apart. The loop calls [`HealthChecker::start_check`] at
//!   [`HealthChecker::next_check`], then [`HealthChecker::on_result`] with the response or, at
//!   [`CheckTicket::timeout_at`], with [`CheckResult::Timeout`]; a response after that is stale
//!   and ignored (Envoy closes the connection).
//! - **Thresholds.** A success resets the failure count; on an unhealthy host it counts towards
//!   `healthy_threshold` (the host turns healthy when the count *reaches* it). A failure resets
//!   the success count; on a healthy host a timeout, a network failure or a retriable HTTP
//!   status counts towards `unhealthy_threshold`, but any other failure (an HTTP status
//!   outside the expected and retriable ranges, a gRPC `NOT_SERVING`, a TCP payload mismatch)
//!   marks the host unhealthy at once, whatever the threshold: a plain 503 ejects at once.
//! - **Intervals** (`HealthCheckerImplBase::interval`), chosen from the result just handled and
//!   the transition it caused. After a failure: `unhealthy_edge_interval` while a change to
//!   unhealthy is pending (a healthy host below the threshold), else `unhealthy_interval` (an
//!   unhealthy host, or one that just turned unhealthy). After a success:
//!   `healthy_edge_interval` while a change to healthy is pending, else `interval`. The edge
//!   intervals apply while the change is *pending*, HAProxy's `fastinter`
//!   (envoyproxy/envoy#3173); the API docs' "the first health check right after a host is
//!   marked" describes it wrongly. Until the cluster has had any traffic
//!   ([`HealthChecker::on_traffic`], Envoy's `upstream_cx_total` being used), every interval is
//!   `no_traffic_interval` (default 60 s), or `no_traffic_healthy_interval` after a success that
//!   leaves no change pending: a checker started before traffic waits a minute for its second
//!   round (envoyproxy/envoy#16724). Then a uniform `[0, interval_jitter_percent × base / 100)`
//!   and a uniform `[0, interval_jitter)` are added, and the result is at least 1 ms.
//!
//! **Where this differs from Envoy**: jitter is drawn in nanoseconds (Envoy: whole
//! milliseconds); degraded hosts, `x-envoy-immediate-health-check-fail`, the runtime
//! `health_check.min_interval`/`max_interval` and passive (`PASSIVE`) failures are not
//! modelled; `reuse_connection` (default true) only saves the TCP handshake of each check,
//! which the loop may fold into the check's response time; a removed host's session stops at
//! once (Envoy defers deletion). Envoy keeps a host that EDS removed while it still passes active
//! checks (unless `ignore_health_on_host_removal`): that is cluster membership, the loop's
//! business.

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::discovery::HealthCheckConfig;
use crate::time::{SimDuration, SimTime};
use rand::Rng;

/// How one check ended, in Envoy's failure types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckResult {
    /// An expected response (HTTP status in `expected_statuses`, default 200; gRPC `SERVING`).
    Pass,
    /// No response within `timeout` (`NETWORK_TIMEOUT`): counts towards the threshold.
    Timeout,
    /// Connection refused or reset (`NETWORK`): counts towards the threshold.
    NetworkFailure,
    /// An HTTP status in `retriable_statuses` (`ACTIVE`, retriable): counts towards the
    /// threshold.
    RetriableFailure,
    /// Any other unexpected response (`ACTIVE`, not retriable): unhealthy at once.
    Failure,
}

impl CheckResult {
    pub fn is_pass(self) -> bool {
        self == CheckResult::Pass
    }

    /// Whether a failure counts towards `unhealthy_threshold` rather than ejecting at once.
    fn counted(self) -> bool {
        matches!(self, CheckResult::Timeout | CheckResult::NetworkFailure | CheckResult::RetriableFailure)
    }
}

/// Envoy's `HealthTransition` for one result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HealthTransition {
    /// The host stays as it was and nothing is pending.
    Unchanged,
    /// The result went against the host's state, below the threshold.
    ChangePending,
    /// The host's health flipped.
    Changed,
}

/// A host's health flipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthChange {
    pub at: SimTime,
    pub host: usize,
    pub healthy: bool,
}

/// A check in flight, from [`HealthChecker::start_check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckTicket {
    pub host: usize,
    /// When the check fails for want of a response.
    pub timeout_at: SimTime,
    seq: u64,
}

/// Envoy's health-check stats (`health_check.*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HealthCheckCounters {
    pub attempt: u64,
    pub success: u64,
    pub failure: u64,
    /// Failures that were timeouts or network failures (also in `failure`).
    pub network_failure: u64,
}

/// Envoy's `ActiveHealthCheckSession` for one host.
#[derive(Clone, Debug)]
struct Session {
    active: bool,
    /// Not `FAILED_ACTIVE_HC`.
    healthy: bool,
    first_check: bool,
    num_healthy: u32,
    num_unhealthy: u32,
    next_check: Option<SimTime>,
    /// The sequence number of the check in flight.
    in_flight: Option<u64>,
    last_transition: HealthTransition,
}

/// Active health checking of hosts `0..n` of one cluster.
#[derive(Clone, Debug)]
pub struct HealthChecker {
    config: HealthCheckConfig,
    hosts: Vec<Session>,
    traffic: bool,
    seq: u64,
    counters: HealthCheckCounters,
}

impl HealthChecker {
    /// A checker over `hosts` hosts present at start-up, all unhealthy until checked (Envoy's
    /// static cluster), each first checked at `now` (plus its initial jitter).
    ///
    /// # Panics
    /// If the config does not pass [`HealthCheckConfig::validate`].
    pub fn new<R: Rng + ?Sized>(config: &HealthCheckConfig, hosts: usize, now: SimTime, rng: &mut R) -> Self {
        if let Err(e) = config.validate() {
            panic!("{e}");
        }
        let mut checker = HealthChecker {
            config: config.clone(),
            hosts: Vec::new(),
            traffic: false,
            seq: 0,
            counters: Default::default(),
        };
        for _ in 0..hosts {
            checker.add_host(now, false, rng);
        }
        checker
    }

    /// Adds a host (an EDS update) and starts its session: first check at `now` plus the initial
    /// jitter. Envoy's hosts start unhealthy (`initially_healthy` false). Returns its index.
    pub fn add_host<R: Rng + ?Sized>(&mut self, now: SimTime, initially_healthy: bool, rng: &mut R) -> usize {
        let jitter = self.config.initial_jitter.as_nanos();
        let first = if jitter == 0 {
            now
        } else {
            // `intervalWithJitter(0, initial_jitter)`: a uniform draw, at least 1 ms.
            now + SimDuration::from_nanos(rng.random_range(0..jitter)).max(MIN_INTERVAL)
        };
        self.hosts.push(Session {
            active: true,
            healthy: initially_healthy,
            first_check: true,
            num_healthy: 0,
            num_unhealthy: 0,
            next_check: Some(first),
            in_flight: None,
            last_transition: HealthTransition::Unchanged,
        });
        self.hosts.len() - 1
    }

    /// Stops checking `host` (removed from the cluster); a check in flight becomes stale.
    pub fn remove_host(&mut self, host: usize) {
        let h = &mut self.hosts[host];
        h.active = false;
        h.next_check = None;
        h.in_flight = None;
    }

    /// The cluster has carried traffic: from the next interval on, the traffic intervals apply.
    /// Sticky, as Envoy's counters are.
    pub fn on_traffic(&mut self) {
        self.traffic = true;
    }

    /// When `host`'s next check is due; `None` while one is in flight or the host is removed.
    pub fn next_check(&self, host: usize) -> Option<SimTime> {
        self.hosts[host].next_check
    }

    /// The earliest due check over all hosts, lowest host first on ties.
    pub fn next_due(&self) -> Option<(SimTime, usize)> {
        self.hosts.iter().enumerate().filter_map(|(i, h)| h.next_check.map(|t| (t, i))).min()
    }

    /// Sends `host`'s check (Envoy's `onIntervalBase`). The loop reports its outcome with
    /// [`HealthChecker::on_result`], at the latest at the ticket's `timeout_at`.
    ///
    /// # Panics
    /// If the check is not due: removed host, one in flight, or `now` before
    /// [`HealthChecker::next_check`].
    pub fn start_check(&mut self, now: SimTime, host: usize) -> CheckTicket {
        let h = &mut self.hosts[host];
        let due = h.next_check.unwrap_or_else(|| panic!("host {host} has no check due"));
        assert!(now >= due, "host {host}'s check at {now} before its time {due}");
        self.seq += 1;
        h.next_check = None;
        h.in_flight = Some(self.seq);
        self.counters.attempt += 1;
        CheckTicket { host, timeout_at: now + self.config.timeout, seq: self.seq }
    }

    /// A check ended with `result` at `now` (a timeout at `ticket.timeout_at`). Updates the
    /// host's health and schedules its next check; returns the flip, if any. A stale ticket (the
    /// check already ended, or the host was removed) is ignored.
    pub fn on_result<R: Rng + ?Sized>(
        &mut self,
        now: SimTime,
        ticket: CheckTicket,
        result: CheckResult,
        rng: &mut R,
    ) -> Option<HealthChange> {
        let h = &mut self.hosts[ticket.host];
        if h.in_flight != Some(ticket.seq) {
            return None;
        }
        h.in_flight = None;
        let transition = if result.is_pass() {
            self.counters.success += 1;
            handle_success(h, self.config.healthy_threshold)
        } else {
            self.counters.failure += 1;
            if matches!(result, CheckResult::Timeout | CheckResult::NetworkFailure) {
                self.counters.network_failure += 1;
            }
            handle_failure(h, result, self.config.unhealthy_threshold)
        };
        h.last_transition = transition;
        let healthy = h.healthy;
        let interval = self.interval(result.is_pass(), transition, rng);
        self.hosts[ticket.host].next_check = Some(now + interval);
        (transition == HealthTransition::Changed).then_some(HealthChange { at: now, host: ticket.host, healthy })
    }

    /// Whether `host` passes active health checking (not `FAILED_ACTIVE_HC`).
    pub fn is_healthy(&self, host: usize) -> bool {
        self.hosts[host].healthy
    }

    /// The transition of `host`'s last result.
    pub fn last_transition(&self, host: usize) -> HealthTransition {
        self.hosts[host].last_transition
    }

    /// Healthy hosts still in the cluster.
    pub fn healthy_count(&self) -> usize {
        self.hosts.iter().filter(|h| h.active && h.healthy).count()
    }

    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    pub fn counters(&self) -> HealthCheckCounters {
        self.counters
    }

    pub fn config(&self) -> &HealthCheckConfig {
        &self.config
    }

    /// `HealthCheckerImplBase::interval`: the wait after a result, jitter included.
    fn interval<R: Rng + ?Sized>(&self, passed: bool, transition: HealthTransition, rng: &mut R) -> SimDuration {
        let c = &self.config;
        let pending = transition == HealthTransition::ChangePending;
        let base = if self.traffic {
            match (passed, pending) {
                (false, true) => c.unhealthy_edge_interval(),
                (false, false) => c.unhealthy_interval(),
                (true, true) => c.healthy_edge_interval(),
                (true, false) => c.interval,
            }
        } else if passed && !pending {
            c.no_traffic_healthy_interval()
        } else {
            c.no_traffic_interval
        };
        interval_with_jitter(base, c.interval_jitter, c.interval_jitter_percent, rng)
    }
}

/// Envoy forces a non-zero interval "to prevent live lock".
const MIN_INTERVAL: SimDuration = SimDuration::from_millis(1);

/// `HealthCheckerImplBase::intervalWithJitter`: the percentage jitter, then the absolute one.
fn interval_with_jitter<R: Rng + ?Sized>(
    base: SimDuration,
    jitter: SimDuration,
    jitter_percent: u32,
    rng: &mut R,
) -> SimDuration {
    let mut ns = base.as_nanos();
    let percent_mod = u64::try_from(u128::from(jitter_percent) * u128::from(ns) / 100).unwrap_or(u64::MAX);
    if percent_mod > 0 {
        ns = ns.saturating_add(rng.random_range(0..percent_mod));
    }
    if !jitter.is_zero() {
        ns = ns.saturating_add(rng.random_range(0..jitter.as_nanos()));
    }
    SimDuration::from_nanos(ns).max(MIN_INTERVAL)
}

/// `ActiveHealthCheckSession::handleSuccess` (without degraded hosts).
fn handle_success(h: &mut Session, healthy_threshold: u32) -> HealthTransition {
    h.num_unhealthy = 0;
    let mut transition = HealthTransition::Unchanged;
    if !h.healthy {
        h.num_healthy = h.num_healthy.saturating_add(1);
        // The first result ever on a host moves it to healthy at once.
        if h.first_check || h.num_healthy == healthy_threshold {
            h.healthy = true;
            transition = HealthTransition::Changed;
        } else {
            transition = HealthTransition::ChangePending;
        }
    }
    h.first_check = false;
    transition
}

/// `ActiveHealthCheckSession::setUnhealthy`.
fn handle_failure(h: &mut Session, result: CheckResult, unhealthy_threshold: u32) -> HealthTransition {
    h.num_healthy = 0;
    let mut transition = HealthTransition::Unchanged;
    if h.healthy {
        let counted = result.counted();
        if counted {
            h.num_unhealthy = h.num_unhealthy.saturating_add(1);
        }
        if !counted || h.num_unhealthy == unhealthy_threshold {
            h.healthy = false;
            transition = HealthTransition::Changed;
        } else {
            transition = HealthTransition::ChangePending;
        }
    }
    h.first_check = false;
    transition
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RootSeed, Stream};
    use proptest::prelude::*;

    fn s(v: u64) -> SimTime {
        SimTime(v * 1_000_000_000)
    }

    fn ms(v: u64) -> SimTime {
        SimTime(v * 1_000_000)
    }

    fn secs(v: u64) -> SimDuration {
        SimDuration::from_secs(v)
    }

    fn rng() -> Stream {
        RootSeed(1).stream("health")
    }

    /// Interval 10 s, timeout 1 s, unhealthy 3, healthy 2, traffic flowing.
    fn checker(config: HealthCheckConfig, hosts: usize) -> (HealthChecker, Stream) {
        let mut r = rng();
        let mut c = HealthChecker::new(&config, hosts, SimTime::ZERO, &mut r);
        c.on_traffic();
        (c, r)
    }

    fn base() -> HealthCheckConfig {
        HealthCheckConfig::new(secs(10), secs(1), 3, 2)
    }

    /// Runs `host`'s due check, answered `latency` later with `result`.
    fn check(
        c: &mut HealthChecker,
        host: usize,
        latency: SimDuration,
        result: CheckResult,
        r: &mut Stream,
    ) -> (SimTime, Option<HealthChange>) {
        let at = c.next_check(host).expect("check due");
        let ticket = c.start_check(at, host);
        let end = if result == CheckResult::Timeout { ticket.timeout_at } else { at + latency };
        (end, c.on_result(end, ticket, result, r))
    }

    const FAST: SimDuration = SimDuration::from_millis(10);

    #[test]
    fn new_hosts_start_unhealthy_and_the_first_success_is_enough() {
        let (mut c, mut r) = checker(base(), 2);
        assert!(!c.is_healthy(0));
        assert_eq!(c.next_check(0), Some(SimTime::ZERO), "first check at once");
        let (end, change) = check(&mut c, 0, FAST, CheckResult::Pass, &mut r);
        assert_eq!(change, Some(HealthChange { at: end, host: 0, healthy: true }), "healthy_threshold 2 ignored");
        assert_eq!(c.next_check(0), Some(end + secs(10)));
        // A host whose first check fails needs healthy_threshold successes.
        check(&mut c, 1, FAST, CheckResult::NetworkFailure, &mut r);
        assert_eq!(check(&mut c, 1, FAST, CheckResult::Pass, &mut r).1, None);
        assert_eq!(c.last_transition(1), HealthTransition::ChangePending);
        assert!(check(&mut c, 1, FAST, CheckResult::Pass, &mut r).1.is_some_and(|ch| ch.healthy));
        // Hosts added later start unhealthy too, and are checked at once.
        let h = c.add_host(s(100), false, &mut r);
        assert!(!c.is_healthy(h));
        assert_eq!(c.next_check(h), Some(s(100)));
    }

    #[test]
    fn unhealthy_after_exactly_unhealthy_threshold_counted_failures() {
        let (mut c, mut r) = checker(base(), 1);
        check(&mut c, 0, FAST, CheckResult::Pass, &mut r);
        // Two failures, a success (resets), then three failures of every counted kind.
        for result in [CheckResult::Timeout, CheckResult::NetworkFailure, CheckResult::Pass] {
            assert_eq!(check(&mut c, 0, FAST, result, &mut r).1, None);
            assert!(c.is_healthy(0));
        }
        assert_eq!(check(&mut c, 0, FAST, CheckResult::RetriableFailure, &mut r).1, None);
        assert_eq!(check(&mut c, 0, FAST, CheckResult::Timeout, &mut r).1, None);
        let (end, change) = check(&mut c, 0, FAST, CheckResult::NetworkFailure, &mut r);
        assert_eq!(change, Some(HealthChange { at: end, host: 0, healthy: false }));
        // Further failures change nothing.
        assert_eq!(check(&mut c, 0, FAST, CheckResult::Failure, &mut r).1, None);
        assert_eq!(c.last_transition(0), HealthTransition::Unchanged);
    }

    #[test]
    fn healthy_after_exactly_healthy_threshold_successes() {
        let config = HealthCheckConfig { healthy_threshold: 3, ..base() };
        let (mut c, mut r) = checker(config, 1);
        check(&mut c, 0, FAST, CheckResult::Failure, &mut r); // first check fails
        check(&mut c, 0, FAST, CheckResult::Pass, &mut r);
        check(&mut c, 0, FAST, CheckResult::Pass, &mut r);
        check(&mut c, 0, FAST, CheckResult::Timeout, &mut r); // resets the count
        for _ in 0..2 {
            assert_eq!(check(&mut c, 0, FAST, CheckResult::Pass, &mut r).1, None);
        }
        assert!(check(&mut c, 0, FAST, CheckResult::Pass, &mut r).1.is_some_and(|ch| ch.healthy));
    }

    #[test]
    fn a_non_retriable_failure_ejects_at_once() {
        let (mut c, mut r) = checker(base(), 1);
        check(&mut c, 0, FAST, CheckResult::Pass, &mut r);
        check(&mut c, 0, FAST, CheckResult::Timeout, &mut r);
        // An HTTP 503 (not in retriable_statuses): unhealthy whatever the threshold.
        assert!(check(&mut c, 0, FAST, CheckResult::Failure, &mut r).1.is_some_and(|ch| !ch.healthy));
    }

    #[test]
    fn edge_intervals_apply_while_a_change_is_pending() {
        let config = HealthCheckConfig {
            healthy_threshold: 3,
            unhealthy_threshold: 3,
            unhealthy_interval: Some(secs(20)),
            unhealthy_edge_interval: Some(secs(2)),
            healthy_edge_interval: Some(secs(1)),
            ..base()
        };
        let (mut c, mut r) = checker(config, 1);
        let mut gaps = Vec::new();
        let script = [
            CheckResult::NetworkFailure, // first check fails: unhealthy, Unchanged
            CheckResult::Pass,           // pending
            CheckResult::Pass,           // pending
            CheckResult::Pass,           // Changed to healthy
            CheckResult::Pass,           // Unchanged
            CheckResult::Timeout,        // pending
            CheckResult::Timeout,        // pending
            CheckResult::Timeout,        // Changed to unhealthy
            CheckResult::Timeout,        // Unchanged
        ];
        for result in script {
            let (end, _) = check(&mut c, 0, FAST, result, &mut r);
            gaps.push(c.next_check(0).unwrap().since(end).as_secs_f64() as u64);
        }
        // Envoy's own example: unhealthy_interval, healthy_edge, healthy_edge, interval, interval;
        // then unhealthy_edge while pending, unhealthy_interval once unhealthy.
        assert_eq!(gaps, vec![20, 1, 1, 10, 10, 2, 2, 20, 20]);
    }

    #[test]
    fn checks_run_an_interval_after_the_previous_one_ended() {
        let (mut c, mut r) = checker(base(), 1);
        let (end, _) = check(&mut c, 0, SimDuration::from_millis(300), CheckResult::Pass, &mut r);
        assert_eq!(end, ms(300));
        assert_eq!(c.next_check(0), Some(ms(10_300)));
        // A timeout ends the check `timeout` after it was sent.
        let (end, _) = check(&mut c, 0, FAST, CheckResult::Timeout, &mut r);
        assert_eq!(end, ms(11_300));
        assert_eq!(c.next_check(0), Some(ms(21_300)));
    }

    #[test]
    fn before_any_traffic_the_no_traffic_intervals_apply() {
        let mut r = rng();
        let config = HealthCheckConfig { no_traffic_healthy_interval: Some(secs(300)), ..base() };
        let mut c = HealthChecker::new(&config, 2, SimTime::ZERO, &mut r);
        let (end, _) = check(&mut c, 0, FAST, CheckResult::Pass, &mut r);
        assert_eq!(c.next_check(0), Some(end + secs(300)), "healthy: no_traffic_healthy_interval");
        let (end, _) = check(&mut c, 1, FAST, CheckResult::Timeout, &mut r);
        assert_eq!(c.next_check(1), Some(end + secs(60)), "unhealthy: no_traffic_interval");
        c.on_traffic();
        let (end, _) = check(&mut c, 1, FAST, CheckResult::Timeout, &mut r);
        assert_eq!(c.next_check(1), Some(end + secs(10)));
    }

    #[test]
    fn late_responses_after_the_timeout_are_ignored() {
        let (mut c, mut r) = checker(base(), 1);
        let ticket = c.start_check(SimTime::ZERO, 0);
        assert_eq!(ticket.timeout_at, s(1));
        assert_eq!(c.next_check(0), None, "nothing due while in flight");
        assert_eq!(c.on_result(s(1), ticket, CheckResult::Timeout, &mut r), None);
        assert_eq!(c.on_result(ms(1_200), ticket, CheckResult::Pass, &mut r), None, "stale");
        assert!(!c.is_healthy(0));
        assert_eq!(c.counters(), HealthCheckCounters { attempt: 1, success: 0, failure: 1, network_failure: 1 });
        // A removed host's check in flight is stale too.
        let ticket = c.start_check(s(11), 0);
        c.remove_host(0);
        assert_eq!(c.on_result(ms(11_100), ticket, CheckResult::Pass, &mut r), None);
        assert_eq!(c.next_due(), None);
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        let config = HealthCheckConfig {
            interval_jitter: secs(2),
            interval_jitter_percent: 10,
            initial_jitter: secs(5),
            ..base()
        };
        let (mut c, mut r) = checker(config, 200);
        let mut spread = (u64::MAX, 0);
        for host in 0..200 {
            let first = c.next_check(host).unwrap();
            assert!(first >= ms(1) && first < s(5), "{first}");
            let (end, _) = check(&mut c, host, FAST, CheckResult::Pass, &mut r);
            let gap = c.next_check(host).unwrap().since(end);
            assert!(gap >= secs(10) && gap < secs(13), "{gap}");
            spread = (spread.0.min(gap.as_nanos()), spread.1.max(gap.as_nanos()));
        }
        assert!(spread.1 - spread.0 > 2_000_000_000, "the draws spread out");
    }

    #[test]
    fn crash_detection_is_bounded_by_interval_plus_threshold_edges() {
        // A healthy host whose process dies at 15 s refuses connections from then on.
        let config = HealthCheckConfig { unhealthy_edge_interval: Some(secs(2)), ..base() };
        let (mut c, mut r) = checker(config.clone(), 1);
        let crash = s(15);
        let detected = loop {
            let at = c.next_check(0).unwrap();
            let result = if at >= crash { CheckResult::NetworkFailure } else { CheckResult::Pass };
            if let (end, Some(change)) = check(&mut c, 0, FAST, result, &mut r)
                && !change.healthy
            {
                break end;
            }
        };
        // Checks end at 0.01, 10.02, 20.03: fail at 20.03, 22.04, 24.05.
        assert_eq!(detected, ms(24_050));
        let bound = config.interval
            + FAST
            + (config.unhealthy_edge_interval() + FAST)
            + (config.unhealthy_edge_interval() + FAST);
        assert!(detected.since(crash) <= bound);
    }

    #[test]
    fn validation_rejects_zero_durations_and_thresholds() {
        assert!(base().validate().is_ok());
        assert!(HealthCheckConfig { unhealthy_threshold: 0, ..base() }.validate().is_err());
        assert!(HealthCheckConfig::new(SimDuration::ZERO, secs(1), 1, 1).validate().unwrap_err().contains("interval"));
        assert!(HealthCheckConfig { unhealthy_edge_interval: Some(SimDuration::ZERO), ..base() }.validate().is_err());
    }

    proptest! {
        /// A host turns unhealthy only at a non-retriable failure or the unhealthy_threshold-th
        /// counted failure in a row, and healthy only at its first check or the
        /// healthy_threshold-th success in a row; a check is due exactly when none is in flight.
        #[test]
        fn health_flips_only_at_the_thresholds(
            unhealthy in 1u32..5,
            healthy in 1u32..5,
            seed in any::<u64>(),
            results in prop::collection::vec(0u8..5, 1..200),
        ) {
            let config = HealthCheckConfig { interval_jitter: secs(1), ..HealthCheckConfig::new(secs(5), secs(1), unhealthy, healthy) };
            let mut r = RootSeed(seed).stream("health");
            let mut c = HealthChecker::new(&config, 1, SimTime::ZERO, &mut r);
            let (mut successes, mut failures, mut first) = (0u32, 0u32, true);
            for (i, k) in results.into_iter().enumerate() {
                if i == 7 { c.on_traffic(); }
                let result = [CheckResult::Pass, CheckResult::Timeout, CheckResult::NetworkFailure,
                    CheckResult::RetriableFailure, CheckResult::Failure][k as usize];
                let was = c.is_healthy(0);
                let at = c.next_check(0).unwrap();
                let ticket = c.start_check(at, 0);
                prop_assert_eq!(c.next_check(0), None);
                let change = c.on_result(at + SimDuration::from_millis(5), ticket, result, &mut r);
                if result.is_pass() { successes += 1; failures = 0; } else { failures += 1; successes = 0; }
                // While healthy every failure in a run is counted (a non-counted one ends it by
                // ejecting), and while unhealthy every success in a run counts.
                let expect = match (was, result) {
                    (true, CheckResult::Pass) => true,
                    (true, CheckResult::Failure) => false,
                    (true, _) => failures != unhealthy,
                    (false, CheckResult::Pass) => first || successes == healthy,
                    (false, _) => false,
                };
                prop_assert_eq!(c.is_healthy(0), expect);
                prop_assert_eq!(change.is_some(), was != c.is_healthy(0));
                first = false;
                prop_assert!(c.next_check(0).unwrap() > at);
            }
        }
    }
}
