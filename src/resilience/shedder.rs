//! Server-side load shedding per service instance: a bound on the queue, RFC 8289 CoDel, and the
//! adaptive CoDel that Facebook's RPC servers use.
//!
//! One [`Shedder`] lives in each instance, in front of its worker pool. The loop asks it twice
//! about a request: at arrival, whether it may join the queue ([`Shedder::on_arrival`]), and when a
//! worker takes it from the head, whether to serve it or answer 503 instead
//! ([`Shedder::on_dequeue`]). Three flavours:
//!
//! - **Queue bound** (tail drop): an arriving request that would have to wait is rejected when
//!   `max_queue` requests already wait. Decided at arrival; every dequeued request is served.
//! - **CoDel, RFC 8289** (Nichols, Jacobson, McGregor, Iyengar, *Controlled Delay Active Queue
//!   Management*, 2018), following its annotated pseudocode exactly: `dodequeue` (§5.6) looks at
//!   the sojourn of the request at the head, starts a clock (`first_above_time = now + interval`)
//!   when it is at or above `target` and says `ok_to_drop` once that clock has run out with every
//!   sojourn since still at or above target; `dequeue` (§5.5) enters the dropping state on the
//!   first `ok_to_drop` (shedding that request), then, while dropping, sheds the head whenever
//!   `now >= drop_next`, with `count` counting the sheds and `drop_next` advanced by
//!   `control_law(drop_next, count) = drop_next + interval / sqrt(count)`; it leaves the dropping
//!   state as soon as a head is not `ok_to_drop` (its sojourn fell below target, or nothing waits
//!   behind it) or the queue is empty. Re-entering, it resumes near the previous rate (Linux's
//!   rule, which the RFC adopts): `delta = count - lastcount; count = 1; if delta > 1 && now -
//!   drop_next < 16 * interval { count = delta }`, then `drop_next = control_law(now, count)` and
//!   `lastcount = count`.
//! - **Adaptive CoDel** (folly's `folly/executors/Codel.cpp`, `Codel::overloaded_explicit_now`,
//!   ported unchanged to Envoy as `source/common/common/codel.cc`; the scheme Ben Maurer's *Fail at
//!   Scale*, ACM Queue 2015, describes for Facebook's RPC servers): the queueing delay of every
//!   request a worker takes is fed to `overloaded(delay)`. The first request of a window sets the
//!   window's minimum delay and is never shed; later ones lower the minimum. The first request
//!   *after* the window's end (`now > interval_time`, strictly) closes it: the server is
//!   overloaded for the next window iff the closed window's minimum exceeded `target`, the next
//!   window ends `interval` after this request, and this request seeds the new minimum and is not
//!   shed. While overloaded a request is shed iff its delay exceeds the *slough timeout*,
//!   `getSloughTimeout(target) = 2 * target`; while not overloaded nothing is shed, whatever its
//!   delay. `getLoad() = min(100, 100 * min_delay / (2 * target))` in whole percent.
//!
//! **Driving it: the RFC's dequeue loop.** RFC 8289's `dequeue()` is one call per "the link wants
//! a packet", and inside the dropping state its `while (now >= drop_next && dropping)` loop may
//! drop several packets before it returns the one to send. Here a request is the unit, and one
//! `dequeue()` becomes: a worker that looks for work at `now` calls [`Shedder::on_dequeue`] for
//! the head; on [`Verdict::Shed`] it answers that request with 503 and, at the same `now`, calls
//! `on_dequeue` again for the next head, until a [`Verdict::Serve`]; if it finds the queue empty
//! it calls [`Shedder::on_empty`] (the RFC's `dodequeue` returning NULL) and goes idle. The
//! shedder remembers that the call after a `Shed` continues the same `dequeue()`: after the shed
//! that *enters* the dropping state the next head is served unconditionally (the RFC returns it),
//! and inside the while loop the next head's `ok_to_drop` decides whether to leave the dropping
//! state or to schedule the next drop (`drop_next = control_law(drop_next, count)`) and test `now
//! >= drop_next` again. So a worker freed long after `drop_next` sheds as many requests in one go
//! as the control law has fallen behind, as the RFC does. CoDel never sheds a request with nothing
//! behind it, so after a CoDel `Shed` there is always a next head. If the loop breaks the protocol
//! and the next call after a `Shed` comes at a later instant, the shedder takes it that the queue
//! was empty in between (it completes the pending `dequeue()` as `dodequeue` returning NULL).
//! A request that finds a free worker at arrival is dequeued too, with a zero sojourn, as a packet
//! that finds the link idle is in the RFC: the loop should call `on_dequeue` for it (with nothing
//! behind it, it is never shed, and it resets CoDel's clock). Adaptive CoDel keeps no such state:
//! each `on_dequeue` is one `overloaded(delay)` call (it may shed the last request), and
//! `on_empty` does nothing.
//!
//! **Where a request queue differs from the packet queue of RFC 8289:**
//! - The RFC never drops when `bytes() <= MAXPACKET`, i.e. when at most one MTU would be left
//!   queued after the head leaves, so that the link does not go idle. Requests have no common
//!   size: here the rule is "never shed when no request waits behind the head"
//!   (`queue_len_after == 0`). (A literal count of one maximum-size unit would be `<= 1`.)
//! - A dropped packet is a congestion signal to a TCP sender, which halves its window; CoDel's
//!   control law (drop spacing shrinking as `1/sqrt(count)`) is designed to give TCP's throughput
//!   a linear decrease. A shed request is a 503 to a caller that may not slow down at all (open
//!   loop) or may retry (more load), so the control law can fall far behind a persistent
//!   overload. This is why folly sheds everything over a timeout while overloaded instead.
//! - The "link" is a pool of workers: each free worker dequeues, so several `dequeue()`s may
//!   happen at one instant; a request waits from its arrival at the instance until a worker takes
//!   it (the sojourn). No ECN marking: a request is served or shed.
//! - `first_above_time` is an `Option` (the RFC's 0 means unset; here 0 is a valid instant), and
//!   the control law's `interval / sqrt(count)` is computed in `f64` and truncated to whole
//!   nanoseconds, as C converts the RFC's `double` back to `time_t`. `count` saturates instead of
//!   wrapping.
//!
//! **Where the adaptive variant differs from folly:** folly keeps `target` and `interval` in whole
//! milliseconds; here they are nanoseconds (a whole-millisecond setting behaves identically).
//! Like folly's `getOptions`, the target is capped at the interval. folly's atomics only make the
//! same logic thread-safe; the simulator is single-threaded.
//!
//! **Not the paper's pseudocode.** *Fail at Scale* describes the policy differently from the
//! code: a request gets a queue timeout of M (5 ms) if the queue has not been empty in the last N
//! (100 ms), else N. `AdaptiveCodel` follows folly's code, where the switch is on the window's
//! minimum delay and the timeout while overloaded is `2 * target`; outside overload nothing is
//! shed (a deadline on the request, which meshsim models apart, bounds the wait there).
//!
//! **Defaults.** RFC 8289 and folly both default to a 5 ms target and a 100 ms interval, chosen
//! for Internet round-trip times (the RFC sets the interval on the order of a worst-case RTT and
//! the target at 5–10 % of it). RPC servers whose service times are themselves milliseconds or
//! more usually want larger settings: a target of a few service times, an interval on the order
//! of the callers' latency budget.

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::policy::ShedderConfig;
use crate::time::{SimDuration, SimTime};

/// The answer to [`Shedder::on_arrival`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// The request joins the queue.
    Accept,
    /// The request is answered 503 at once and never queues.
    Shed,
}

/// The answer to [`Shedder::on_dequeue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The worker serves the request.
    Serve,
    /// The request is answered 503; the worker, at the same instant, takes the next head (or
    /// calls [`Shedder::on_empty`] if none is left).
    Shed,
}

/// What the shedder has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShedCounters {
    /// Arrivals admitted to the queue.
    pub accepted: u64,
    /// Arrivals shed before queueing (queue bound).
    pub shed_on_arrival: u64,
    /// Dequeued requests served.
    pub served: u64,
    /// Dequeued requests shed (CoDel, adaptive CoDel).
    pub shed_on_dequeue: u64,
    /// Times shedding began: CoDel entering the dropping state, adaptive CoDel's overloaded flag
    /// turning on at a window's close.
    pub shedding_entered: u64,
}

/// Where the previous `on_dequeue` left the RFC's `dequeue()` it was part of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resume {
    /// The last call ended a `dequeue()` (served, or nothing pending).
    Idle,
    /// The last call shed the request that entered the dropping state: the RFC dequeues the next
    /// and returns it whatever its sojourn.
    AfterEntry,
    /// The last call shed a request inside the dropping state's while loop: the next `dodequeue`
    /// decides whether to stay and when to drop next.
    InLoop,
}

/// RFC 8289's per-queue state (§5.2) and constants.
#[derive(Clone, Debug)]
struct Codel {
    target: SimDuration,
    interval: SimDuration,
    /// `first_above_time_`: when the sojourn, above target since, makes it ok to drop.
    first_above_time: Option<SimTime>,
    /// `drop_next_`: when to drop next while dropping.
    drop_next: SimTime,
    /// `count_`: requests shed since entering the dropping state (plus the resumed count).
    count: u32,
    /// `lastcount_`: `count_` just after the last entry into the dropping state.
    lastcount: u32,
    /// `dropping_`.
    dropping: bool,
    resume: Resume,
    /// The instant of the `dequeue()` that `resume` continues.
    resume_at: SimTime,
}

impl Codel {
    /// `dodequeue` (§5.6) for a head that waited `sojourn` with `queue_len_after` behind it: returns
    /// `ok_to_drop`.
    fn dodequeue(&mut self, now: SimTime, sojourn: SimDuration, queue_len_after: u32) -> bool {
        // RFC: `sojourn_time_ < TARGET || bytes() <= MAXPACKET` (see the module docs).
        if sojourn < self.target || queue_len_after == 0 {
            // Went below: stay below for at least an interval.
            self.first_above_time = None;
            return false;
        }
        match self.first_above_time {
            // Just went above from below: if still above at first_above_time, ok to drop.
            None => {
                self.first_above_time = Some(now + self.interval);
                false
            }
            Some(at) => now >= at,
        }
    }

    /// `dodequeue` finding the queue empty.
    fn dodequeue_empty(&mut self) {
        self.first_above_time = None;
    }

    /// `control_law` (§5.6): `t + INTERVAL / sqrt(count)`, truncated to whole nanoseconds as C's
    /// conversion of the `double` to `time_t` does.
    fn control_law(&self, t: SimTime, count: u32) -> SimTime {
        debug_assert!(count >= 1, "the control law divides by sqrt(count)");
        let step = self.interval.as_nanos() as f64 / f64::from(count).sqrt();
        t + SimDuration::from_nanos(step as u64)
    }

    /// A `dequeue()` pending after a shed that the loop did not continue at the same instant: the
    /// queue must have been empty, so it ends as `dodequeue` returning NULL.
    fn settle(&mut self, now: SimTime) {
        if self.resume != Resume::Idle && now != self.resume_at {
            self.empty();
        }
    }

    /// `dequeue()` meeting an empty queue, fresh or as the continuation after a shed.
    fn empty(&mut self) {
        self.dodequeue_empty();
        match self.resume {
            // The entry branch returns the NULL it dequeued; `dropping_` stays true.
            Resume::AfterEntry => {}
            // `ok_to_drop` is false: the loop, or a fresh `dequeue()`, leaves the dropping state.
            Resume::InLoop | Resume::Idle => self.dropping = false,
        }
        self.resume = Resume::Idle;
    }

    /// One head of the queue, as part of a `dequeue()` (§5.5). Returns the verdict and whether
    /// this call entered the dropping state.
    fn dequeue(&mut self, now: SimTime, sojourn: SimDuration, queue_len_after: u32) -> (Verdict, bool) {
        let ok_to_drop = self.dodequeue(now, sojourn, queue_len_after);
        match self.resume {
            Resume::AfterEntry => {
                // `r = dodequeue(now); ... return (r.p);`
                self.resume = Resume::Idle;
                (Verdict::Serve, false)
            }
            Resume::InLoop => {
                // Inside `while (now >= drop_next_ && dropping_)`, after `r = dodequeue(now)`.
                if !ok_to_drop {
                    self.dropping = false;
                } else {
                    self.drop_next = self.control_law(self.drop_next, self.count);
                }
                (self.loop_step(now), false)
            }
            Resume::Idle if self.dropping => {
                if !ok_to_drop {
                    // Sojourn below target (or nothing behind): leave the dropping state.
                    self.dropping = false;
                }
                (self.loop_step(now), false)
            }
            Resume::Idle if ok_to_drop => {
                // Sojourn at or above target for an interval: shed this one, enter dropping.
                self.dropping = true;
                let delta = self.count.wrapping_sub(self.lastcount);
                self.count = 1;
                if delta > 1
                    && now.since(self.drop_next) < SimDuration::from_nanos(self.interval.as_nanos().saturating_mul(16))
                {
                    self.count = delta;
                }
                self.drop_next = self.control_law(now, self.count);
                self.lastcount = self.count;
                self.resume = Resume::AfterEntry;
                self.resume_at = now;
                (Verdict::Shed, true)
            }
            Resume::Idle => (Verdict::Serve, false),
        }
    }

    /// The while loop's test: drop the current head (`drop(r.p); ++count_`) or return it.
    fn loop_step(&mut self, now: SimTime) -> Verdict {
        if self.dropping && now >= self.drop_next {
            self.count = self.count.saturating_add(1);
            self.resume = Resume::InLoop;
            self.resume_at = now;
            Verdict::Shed
        } else {
            self.resume = Resume::Idle;
            Verdict::Serve
        }
    }
}

/// folly `Codel`'s state.
#[derive(Clone, Debug)]
struct Adaptive {
    /// `getOptions().targetDelay()`: the target, capped at the interval.
    target: SimDuration,
    interval: SimDuration,
    /// `codelMinDelayNs_`: the smallest delay of the current window.
    min_delay: SimDuration,
    /// `codelIntervalTimeNs_`: the current window ends after this instant.
    interval_time: SimTime,
    /// `codelResetDelay_`: the next request seeds `min_delay`.
    reset_delay: bool,
    /// `overloaded_`.
    overloaded: bool,
}

impl Adaptive {
    /// `getSloughTimeout(targetDelay)`.
    fn slough_timeout(&self) -> SimDuration {
        SimDuration::from_nanos(self.target.as_nanos().saturating_mul(2))
    }

    /// `overloaded_explicit_now(delay, now)`: whether to shed this request. The second value says
    /// whether the overloaded flag turned on.
    fn overloaded(&mut self, now: SimTime, delay: SimDuration) -> (bool, bool) {
        let min_delay = self.min_delay;
        let slough_timeout = self.slough_timeout();
        let mut turned_on = false;
        if now > self.interval_time && !self.reset_delay {
            self.reset_delay = true;
            self.interval_time = now + self.interval;
            turned_on = !self.overloaded && min_delay > self.target;
            self.overloaded = min_delay > self.target;
        }
        if self.reset_delay {
            self.reset_delay = false;
            self.min_delay = delay;
            // "More than one request must come in during an interval before codel starts
            // dropping requests."
            return (false, turned_on);
        } else if delay < self.min_delay {
            self.min_delay = delay;
        }
        (self.overloaded && delay > slough_timeout, turned_on)
    }

    /// `getLoad()`: `min(100, 100 * min_delay / slough_timeout)`, integer division.
    fn load(&self) -> u32 {
        let pct = 100 * u128::from(self.min_delay.as_nanos()) / u128::from(self.slough_timeout().as_nanos().max(1));
        pct.min(100) as u32
    }
}

#[derive(Clone, Debug)]
enum Kind {
    QueueBound { max_queue: u32 },
    Codel(Codel),
    Adaptive(Adaptive),
}

/// A load shedder: one per service instance.
#[derive(Clone, Debug)]
pub struct Shedder {
    kind: Kind,
    counters: ShedCounters,
    last_now: SimTime,
}

impl Shedder {
    /// A shedder whose clock starts at `now` (folly's first window ends at construction time, so
    /// its first request seeds the minimum and the next one, if later, closes that window).
    ///
    /// # Panics
    /// If a CoDel `interval` is zero, or the adaptive `target` is zero (folly's `setOptions`
    /// rejects both; its `getLoad` would divide by zero); validation rules these out.
    pub fn new(config: &ShedderConfig, now: SimTime) -> Self {
        let kind = match *config {
            ShedderConfig::QueueBound { max_queue } => Kind::QueueBound { max_queue },
            ShedderConfig::Codel { target, interval } => {
                assert!(!interval.is_zero(), "CoDel interval must be positive");
                Kind::Codel(Codel {
                    target,
                    interval,
                    first_above_time: None,
                    drop_next: SimTime::ZERO,
                    count: 0,
                    lastcount: 0,
                    dropping: false,
                    resume: Resume::Idle,
                    resume_at: now,
                })
            }
            ShedderConfig::AdaptiveCodel { target, interval } => {
                assert!(!interval.is_zero(), "adaptive CoDel interval must be positive");
                assert!(!target.is_zero(), "adaptive CoDel target must be positive");
                Kind::Adaptive(Adaptive {
                    target: target.min(interval),
                    interval,
                    min_delay: SimDuration::ZERO,
                    interval_time: now,
                    reset_delay: true,
                    overloaded: false,
                })
            }
        };
        Shedder { kind, counters: ShedCounters::default(), last_now: now }
    }

    fn advance(&mut self, now: SimTime) {
        assert!(now >= self.last_now, "shedder called at {now} after {}", self.last_now);
        self.last_now = now;
    }

    /// A request arrives and would have to wait (no worker is free): may it join the queue, where
    /// `queue_len` requests wait now? A request that takes a free worker at once never queues and
    /// is not asked. Only the queue bound sheds here: `queue_len >= max_queue`.
    ///
    /// # Panics
    /// If `now` is earlier than a previous call's: time never goes back.
    pub fn on_arrival(&mut self, now: SimTime, queue_len: u32) -> Admit {
        self.advance(now);
        let admit = match self.kind {
            Kind::QueueBound { max_queue } if queue_len >= max_queue => Admit::Shed,
            _ => Admit::Accept,
        };
        match admit {
            Admit::Accept => self.counters.accepted += 1,
            Admit::Shed => self.counters.shed_on_arrival += 1,
        }
        admit
    }

    /// A worker takes the request at the head of the queue, which waited `sojourn`, leaving
    /// `queue_len_after` behind it: serve it or shed it.
    ///
    /// After a [`Verdict::Shed`] the loop must continue at the same `now` with the next head, or
    /// with [`Shedder::on_empty`] if none is left: the calls together are one RFC 8289 `dequeue()`
    /// (see the module docs). A request that found a free worker at arrival is dequeued too, with
    /// a zero sojourn.
    ///
    /// # Panics
    /// If `now` is earlier than a previous call's: time never goes back.
    pub fn on_dequeue(&mut self, now: SimTime, sojourn: SimDuration, queue_len_after: u32) -> Verdict {
        self.advance(now);
        let (verdict, entered) = match &mut self.kind {
            Kind::QueueBound { .. } => (Verdict::Serve, false),
            Kind::Codel(c) => {
                c.settle(now);
                c.dequeue(now, sojourn, queue_len_after)
            }
            Kind::Adaptive(a) => {
                let (shed, turned_on) = a.overloaded(now, sojourn);
                (if shed { Verdict::Shed } else { Verdict::Serve }, turned_on)
            }
        };
        if entered {
            self.counters.shedding_entered += 1;
        }
        match verdict {
            Verdict::Serve => self.counters.served += 1,
            Verdict::Shed => self.counters.shed_on_dequeue += 1,
        }
        verdict
    }

    /// A worker looked for work and found the queue empty, at first or after shedding the last
    /// waiting request (RFC 8289: `dodequeue` returns NULL, which resets `first_above_time` and,
    /// unless this completes the `dequeue()` that entered the dropping state, leaves it). Adaptive
    /// CoDel and the queue bound ignore it.
    ///
    /// # Panics
    /// If `now` is earlier than a previous call's: time never goes back.
    pub fn on_empty(&mut self, now: SimTime) {
        self.advance(now);
        if let Kind::Codel(c) = &mut self.kind {
            c.settle(now);
            c.empty();
        }
    }

    pub fn counters(&self) -> ShedCounters {
        self.counters
    }

    /// Whether the shedder is in its shedding regime: CoDel's dropping state, adaptive CoDel's
    /// overloaded flag; never for the queue bound (its sheds are per arrival).
    pub fn is_shedding(&self) -> bool {
        match &self.kind {
            Kind::QueueBound { .. } => false,
            Kind::Codel(c) => c.dropping,
            Kind::Adaptive(a) => a.overloaded,
        }
    }

    /// Adaptive CoDel's `getLoad()`: the current window's minimum delay as a percentage of the
    /// slough timeout, capped at 100. `None` for the other flavours.
    pub fn load_percent(&self) -> Option<u32> {
        match &self.kind {
            Kind::Adaptive(a) => Some(a.load()),
            _ => None,
        }
    }

    /// Adaptive CoDel's `getSloughTimeout(target)`: `2 * target`, the delay over which requests
    /// are shed while overloaded. `None` for the other flavours.
    pub fn slough_timeout(&self) -> Option<SimDuration> {
        match &self.kind {
            Kind::Adaptive(a) => Some(a.slough_timeout()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{Serve, Shed};
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn ms(v: u64) -> SimTime {
        SimTime(v * 1_000_000)
    }

    fn dms(v: u64) -> SimDuration {
        SimDuration::from_millis(v)
    }

    fn codel(target_ms: u64, interval_ms: u64) -> Shedder {
        Shedder::new(&ShedderConfig::Codel { target: dms(target_ms), interval: dms(interval_ms) }, SimTime::ZERO)
    }

    fn adaptive(target_ms: u64, interval_ms: u64, start: SimTime) -> Shedder {
        Shedder::new(&ShedderConfig::AdaptiveCodel { target: dms(target_ms), interval: dms(interval_ms) }, start)
    }

    fn codel_state(s: &Shedder) -> &Codel {
        match &s.kind {
            Kind::Codel(c) => c,
            _ => panic!("not CoDel"),
        }
    }

    /// `interval / sqrt(count)` truncated to nanoseconds, for 100 ms.
    fn step_100ms(count: u32) -> SimDuration {
        SimDuration((100_000_000f64 / f64::from(count).sqrt()) as u64)
    }

    #[test]
    fn defaults_are_5ms_and_100ms() {
        assert_eq!(ShedderConfig::rfc8289_codel(), ShedderConfig::Codel { target: dms(5), interval: dms(100) });
        assert_eq!(ShedderConfig::folly_codel(), ShedderConfig::AdaptiveCodel { target: dms(5), interval: dms(100) });
        let s = Shedder::new(&ShedderConfig::folly_codel(), SimTime::ZERO);
        assert_eq!(s.slough_timeout(), Some(dms(10)));
        assert_eq!(Shedder::new(&ShedderConfig::rfc8289_codel(), SimTime::ZERO).slough_timeout(), None);
    }

    #[test]
    fn queue_bound_rejects_at_exactly_max_queue() {
        let mut s = Shedder::new(&ShedderConfig::QueueBound { max_queue: 3 }, SimTime::ZERO);
        assert_eq!(s.on_arrival(ms(0), 0), Admit::Accept);
        assert_eq!(s.on_arrival(ms(0), 2), Admit::Accept);
        assert_eq!(s.on_arrival(ms(0), 3), Admit::Shed);
        assert_eq!(s.on_arrival(ms(1), 4), Admit::Shed);
        // Dequeued requests are always served, however long they waited.
        assert_eq!(s.on_dequeue(ms(10_000), dms(10_000), 3), Serve);
        assert!(!s.is_shedding());
        let c = s.counters();
        assert_eq!((c.accepted, c.shed_on_arrival, c.served, c.shed_on_dequeue), (2, 2, 1, 0));
        let mut none = Shedder::new(&ShedderConfig::QueueBound { max_queue: 0 }, SimTime::ZERO);
        assert_eq!(none.on_arrival(ms(0), 0), Admit::Shed);
    }

    #[test]
    fn codel_and_adaptive_accept_every_arrival() {
        for config in [ShedderConfig::rfc8289_codel(), ShedderConfig::folly_codel()] {
            let mut s = Shedder::new(&config, SimTime::ZERO);
            assert_eq!(s.on_arrival(ms(0), 1_000_000), Admit::Accept);
        }
    }

    #[test]
    fn codel_never_sheds_below_target() {
        let mut s = codel(5, 100);
        for t in 0..10_000 {
            assert_eq!(s.on_dequeue(ms(t), SimDuration(4_999_999), 50), Serve);
        }
        assert!(!s.is_shedding());
        assert_eq!(s.counters().shed_on_dequeue, 0);
    }

    #[test]
    fn codel_above_target_for_less_than_an_interval_never_sheds() {
        let mut s = codel(5, 100);
        // Above from 0 ms: ok to drop from 100 ms on.
        for t in 0..100 {
            assert_eq!(s.on_dequeue(ms(t), dms(6), 5), Serve);
        }
        assert_eq!(s.on_dequeue(SimTime(ms(100).0 - 1), dms(6), 5), Serve);
        // One sojourn below target restarts the clock: above again from 100 ms, ok from 200 ms.
        assert_eq!(s.on_dequeue(SimTime(ms(100).0 - 1), dms(4), 5), Serve);
        for t in 100..200 {
            assert_eq!(s.on_dequeue(ms(t), dms(50), 5), Serve);
        }
        // An empty queue behind the head restarts it too.
        assert_eq!(s.on_dequeue(SimTime(ms(200).0 - 1), dms(50), 0), Serve);
        assert_eq!(s.on_dequeue(ms(200), dms(50), 5), Serve);
        assert!(!s.is_shedding());
        assert_eq!(s.counters().shed_on_dequeue, 0);
    }

    #[test]
    fn codel_sojourn_equal_to_target_counts_as_above() {
        // RFC: `sojourn_time_ < TARGET` is below; exactly TARGET is not.
        let mut s = codel(5, 100);
        assert_eq!(s.on_dequeue(ms(0), dms(5), 5), Serve);
        assert_eq!(s.on_dequeue(ms(100), dms(5), 5), Shed);
        assert!(s.is_shedding());
    }

    #[test]
    fn codel_enters_dropping_after_an_interval_and_sheds_on_the_control_law() {
        let mut s = codel(5, 100);
        assert_eq!(s.on_dequeue(ms(0), dms(10), 5), Serve);
        // At first_above_time the head is shed and the dropping state begins, count 1.
        assert_eq!(s.on_dequeue(ms(100), dms(10), 5), Shed);
        assert!(s.is_shedding());
        // The same dequeue() returns the next head whatever its sojourn.
        assert_eq!(s.on_dequeue(ms(100), dms(10), 4), Serve);
        // Sheds at 100 + 100/sqrt(1), then + 100/sqrt(2), + 100/sqrt(3), + 100/sqrt(4) ms: one
        // nanosecond earlier the head is served, at the time it is shed.
        let mut at = ms(100);
        for count in 1..=4u32 {
            at = at + step_100ms(count);
            assert_eq!(s.on_dequeue(SimTime(at.0 - 1), dms(10), 5), Serve, "count {count}");
            assert_eq!(s.on_dequeue(at, dms(10), 5), Shed, "count {count}");
            assert_eq!(codel_state(&s).count, count + 1);
            // The next head continues the while loop: not yet the next drop time, so it is served.
            assert_eq!(s.on_dequeue(at, dms(10), 5), Serve);
        }
        assert_eq!(at, SimTime(100_000_000 + 100_000_000 + 70_710_678 + 57_735_026 + 50_000_000));
        let c = s.counters();
        assert_eq!((c.shed_on_dequeue, c.shedding_entered), (5, 1));
    }

    #[test]
    fn codel_catches_up_with_several_sheds_in_one_dequeue() {
        let mut s = codel(5, 100);
        s.on_dequeue(ms(0), dms(10), 50);
        assert_eq!(s.on_dequeue(ms(100), dms(10), 50), Shed);
        assert_eq!(s.on_dequeue(ms(100), dms(10), 49), Serve);
        // drop_next is 200 ms; no worker looks until 400 ms. Drops fall due at 200, 270.7,
        // 328.4 and 378.4 ms, all before 400 ms: four sheds, then 378.4 + 44.7 > 400, served.
        for left in [48, 47, 46, 45] {
            assert_eq!(s.on_dequeue(ms(400), dms(300), left), Shed);
        }
        assert_eq!(s.on_dequeue(ms(400), dms(300), 44), Serve);
        assert_eq!(codel_state(&s).count, 5);
        assert!(s.is_shedding());
    }

    #[test]
    fn codel_leaves_dropping_when_sojourn_falls_below_target() {
        let mut s = codel(5, 100);
        s.on_dequeue(ms(0), dms(10), 5);
        assert_eq!(s.on_dequeue(ms(100), dms(10), 5), Shed);
        assert_eq!(s.on_dequeue(ms(100), dms(10), 5), Serve);
        assert_eq!(s.on_dequeue(ms(150), dms(4), 5), Serve);
        assert!(!s.is_shedding());
        // Past the old drop time, but no longer dropping: above target again only starts the clock.
        assert_eq!(s.on_dequeue(ms(250), dms(10), 5), Serve);
        assert!(!s.is_shedding());
    }

    #[test]
    fn codel_a_below_target_head_inside_the_loop_ends_the_dequeue() {
        let mut s = codel(5, 100);
        s.on_dequeue(ms(0), dms(10), 5);
        s.on_dequeue(ms(100), dms(10), 5);
        s.on_dequeue(ms(100), dms(10), 5);
        assert_eq!(s.on_dequeue(ms(200), dms(10), 5), Shed);
        // The next head waited less than target: the loop leaves the dropping state and serves it.
        assert_eq!(s.on_dequeue(ms(200), dms(3), 4), Serve);
        assert!(!s.is_shedding());
        assert_eq!(codel_state(&s).drop_next, ms(200), "drop_next is not advanced on leaving");
    }

    #[test]
    fn codel_never_sheds_the_last_request() {
        let mut s = codel(5, 100);
        s.on_dequeue(ms(0), dms(10), 5);
        // Nothing behind the head: not ok to drop however long it waited.
        assert_eq!(s.on_dequeue(ms(100), dms(500), 0), Serve);
        assert!(!s.is_shedding());
        // And in the dropping state it leaves it.
        s.on_dequeue(ms(100), dms(10), 5);
        assert_eq!(s.on_dequeue(ms(200), dms(10), 5), Shed);
        assert_eq!(s.on_dequeue(ms(200), dms(10), 5), Serve);
        assert_eq!(s.on_dequeue(ms(400), dms(10), 0), Serve);
        assert!(!s.is_shedding());
    }

    #[test]
    fn codel_an_empty_queue_leaves_dropping() {
        let mut s = codel(5, 100);
        s.on_dequeue(ms(0), dms(10), 1);
        // The entry shed takes the second-to-last request; the last is then served.
        assert_eq!(s.on_dequeue(ms(100), dms(10), 1), Shed);
        assert_eq!(s.on_dequeue(ms(100), dms(10), 0), Serve);
        assert!(s.is_shedding());
        // A worker then finds the queue empty: dequeue() on an empty queue leaves dropping.
        s.on_empty(ms(120));
        assert!(!s.is_shedding());
        assert_eq!(codel_state(&s).first_above_time, None);
        // Idempotent.
        s.on_empty(ms(121));
        assert!(!s.is_shedding());
    }

    #[test]
    fn codel_a_shed_not_continued_at_the_same_instant_ends_as_an_empty_queue() {
        let mut s = codel(5, 100);
        s.on_dequeue(ms(0), dms(10), 5);
        s.on_dequeue(ms(100), dms(10), 5);
        s.on_dequeue(ms(100), dms(10), 5);
        assert_eq!(s.on_dequeue(ms(200), dms(10), 5), Shed);
        // The loop forgot to continue; at 210 ms the pending dequeue() is closed as if the queue
        // had been empty: dropping ends, the clock restarts, and this head starts it again.
        assert_eq!(s.on_dequeue(ms(210), dms(10), 5), Serve);
        assert!(!s.is_shedding());
        assert_eq!(codel_state(&s).first_above_time, Some(ms(310)));
    }

    /// Drives CoDel into the dropping state at `enter`, with heads above target every millisecond
    /// from `enter - 100ms`; returns the time of the entry shed.
    fn enter(s: &mut Shedder, enter_at: SimTime) -> SimTime {
        s.on_dequeue(SimTime(enter_at.0 - 100_000_000), dms(10), 5);
        assert_eq!(s.on_dequeue(enter_at, dms(10), 5), Shed);
        assert_eq!(s.on_dequeue(enter_at, dms(10), 5), Serve);
        enter_at
    }

    #[test]
    fn codel_reentry_within_16_intervals_resumes_count() {
        let mut s = codel(5, 100);
        let e = enter(&mut s, ms(100));
        // Three loop drops: count 1 -> 4.
        let mut at = e;
        for count in 1..=3u32 {
            at = at + step_100ms(count);
            assert_eq!(s.on_dequeue(at, dms(10), 5), Shed);
            assert_eq!(s.on_dequeue(at, dms(10), 5), Serve);
        }
        assert_eq!((codel_state(&s).count, codel_state(&s).lastcount), (4, 1));
        let drop_next = codel_state(&s).drop_next;
        // Leave, then above target again for an interval.
        assert_eq!(s.on_dequeue(ms(400), dms(1), 5), Serve);
        assert!(!s.is_shedding());
        let reenter = ms(1_000);
        assert!(reenter.since(drop_next) < dms(1_600));
        enter(&mut s, reenter);
        // delta = 4 - 1 = 3 > 1 within 16 intervals: count resumes at 3.
        assert_eq!((codel_state(&s).count, codel_state(&s).lastcount), (3, 3));
        assert_eq!(codel_state(&s).drop_next, reenter + step_100ms(3));
        assert_eq!(s.on_dequeue(reenter + step_100ms(3), dms(10), 5), Shed);
        assert_eq!(s.counters().shedding_entered, 2);
    }

    #[test]
    fn codel_reentry_after_16_intervals_or_small_delta_restarts_at_one() {
        let mut s = codel(5, 100);
        let e = enter(&mut s, ms(100));
        let mut at = e;
        for count in 1..=3u32 {
            at = at + step_100ms(count);
            s.on_dequeue(at, dms(10), 5);
            s.on_dequeue(at, dms(10), 5);
        }
        let drop_next = codel_state(&s).drop_next;
        s.on_dequeue(ms(400), dms(1), 5);
        // Exactly 16 intervals after drop_next: not `< 16 * INTERVAL`, so count restarts.
        let reenter = drop_next + dms(1_600);
        enter(&mut s, reenter);
        assert_eq!((codel_state(&s).count, codel_state(&s).lastcount), (1, 1));

        // One loop drop only (delta = 2 - 1 = 1): not > 1, so count restarts at 1 even at once.
        let mut s = codel(5, 100);
        let e = enter(&mut s, ms(100));
        s.on_dequeue(e + step_100ms(1), dms(10), 5);
        s.on_dequeue(e + step_100ms(1), dms(10), 5);
        s.on_dequeue(ms(250), dms(1), 5);
        enter(&mut s, ms(400));
        assert_eq!(codel_state(&s).count, 1);
    }

    #[test]
    #[should_panic(expected = "interval must be positive")]
    fn codel_rejects_a_zero_interval() {
        codel(5, 0);
    }

    #[test]
    #[should_panic(expected = "after")]
    fn time_never_goes_back() {
        let mut s = codel(5, 100);
        s.on_dequeue(ms(10), dms(1), 1);
        s.on_dequeue(ms(9), dms(1), 1);
    }

    #[test]
    fn adaptive_first_request_seeds_and_the_first_window_closes_on_the_next() {
        let mut s = adaptive(5, 100, ms(1_000));
        // The first request seeds the minimum (never shed); the first window ends at construction.
        assert_eq!(s.on_dequeue(ms(1_000), dms(50), 9), Serve);
        // At the construction instant itself the window is not over (`now > interval_time`).
        assert_eq!(s.on_dequeue(ms(1_000), dms(60), 9), Serve);
        assert!(!s.is_shedding());
        // The next later request closes the tiny first window (min 50 ms > 5 ms): overloaded.
        assert_eq!(s.on_dequeue(SimTime(ms(1_000).0 + 1), dms(60), 9), Serve);
        assert!(s.is_shedding());
        // Now shed iff delay > 2 * target = 10 ms.
        assert_eq!(s.on_dequeue(ms(1_010), dms(10), 9), Serve);
        assert_eq!(s.on_dequeue(ms(1_010), SimDuration(10_000_001), 9), Shed);
        assert_eq!(s.counters().shedding_entered, 1);
    }

    #[test]
    fn adaptive_not_overloaded_sheds_nothing_however_long_the_wait() {
        let mut s = adaptive(5, 100, SimTime::ZERO);
        s.on_dequeue(ms(0), dms(1), 9);
        s.on_dequeue(ms(1), dms(1), 9); // closes the first window: min 1 ms, not overloaded
        // One request at or under target in the window keeps the next window calm, whatever else.
        assert_eq!(s.on_dequeue(ms(2), dms(5), 9), Serve);
        assert_eq!(s.on_dequeue(ms(50), dms(10_000), 9), Serve);
        // The window ends after 101 ms: a request at 101 ms is still in it.
        assert_eq!(s.on_dequeue(ms(101), dms(10_000), 9), Serve);
        // The one at 150 ms closes it with a minimum of 1 ms: not overloaded.
        assert_eq!(s.on_dequeue(ms(150), dms(10_000), 9), Serve);
        assert!(!s.is_shedding());
        assert_eq!(s.on_dequeue(ms(200), dms(10_000), 9), Serve);
        assert_eq!(s.counters().shed_on_dequeue, 0);
    }

    #[test]
    fn adaptive_slough_timeout_is_twice_target_while_overloaded() {
        let mut s = adaptive(5, 100, SimTime::ZERO);
        s.on_dequeue(ms(0), dms(20), 9);
        s.on_dequeue(ms(1), dms(20), 9); // closes [0, 1]: min 20 ms > 5 ms, overloaded until 101 ms
        assert!(s.is_shedding());
        assert_eq!(s.on_dequeue(ms(2), dms(10), 9), Serve); // == 2 * target: kept
        assert_eq!(s.on_dequeue(ms(3), SimDuration(10_000_001), 9), Shed);
        assert_eq!(s.on_dequeue(ms(4), dms(7), 9), Serve); // > target but <= slough timeout
        assert_eq!(s.on_dequeue(ms(5), dms(250), 9), Shed);
        // The window [1 ms, 101 ms] saw a minimum of 7 ms > 5 ms: still overloaded after it.
        assert_eq!(s.on_dequeue(ms(102), dms(250), 9), Serve, "the closing request is never shed");
        assert!(s.is_shedding());
        assert_eq!(s.on_dequeue(ms(103), dms(250), 9), Shed);
        // A window whose minimum is at or under target ends the overload (this one ends after
        // 202 ms, and at 202 ms the overload still holds).
        assert_eq!(s.on_dequeue(ms(104), dms(5), 9), Serve);
        assert_eq!(s.on_dequeue(ms(202), dms(250), 9), Shed);
        assert_eq!(s.on_dequeue(SimTime(ms(202).0 + 1), dms(250), 9), Serve);
        assert!(!s.is_shedding());
        assert_eq!(s.on_dequeue(ms(210), dms(250), 9), Serve);
        let c = s.counters();
        assert_eq!((c.shed_on_dequeue, c.shedding_entered), (4, 1));
    }

    #[test]
    fn adaptive_windows_close_only_on_requests_so_a_stale_minimum_outlives_idleness() {
        let mut s = adaptive(5, 100, SimTime::ZERO);
        s.on_dequeue(ms(0), dms(50), 9);
        s.on_dequeue(ms(1), dms(50), 9);
        assert!(s.is_shedding());
        // Idle for ten seconds: the overloaded flag stays, and the first request after closes
        // the old window with its 50 ms minimum, so the server stays overloaded one more window.
        assert_eq!(s.on_dequeue(ms(10_000), dms(0), 0), Serve);
        assert!(s.is_shedding());
        assert_eq!(s.on_dequeue(ms(10_001), dms(11), 0), Shed);
        assert_eq!(s.on_dequeue(ms(10_101), dms(0), 0), Serve);
        assert!(!s.is_shedding());
    }

    #[test]
    fn adaptive_load_is_min_delay_over_slough_timeout() {
        let mut s = adaptive(5, 100, SimTime::ZERO);
        assert_eq!(s.load_percent(), Some(0));
        s.on_dequeue(ms(0), dms(4), 9);
        assert_eq!(s.load_percent(), Some(40));
        s.on_dequeue(SimTime(1), SimDuration(3_333_333), 9); // closes the window: seeds 3.333 ms
        assert_eq!(s.load_percent(), Some(33));
        s.on_dequeue(ms(2), dms(30), 9);
        assert_eq!(s.load_percent(), Some(33), "the minimum, not the latest");
        s.on_dequeue(ms(102), dms(30), 9);
        assert_eq!(s.load_percent(), Some(100), "capped at 100");
        assert_eq!(codel(5, 100).load_percent(), None);
    }

    #[test]
    fn adaptive_target_is_capped_at_the_interval() {
        let s = Shedder::new(&ShedderConfig::AdaptiveCodel { target: dms(500), interval: dms(100) }, SimTime::ZERO);
        assert_eq!(s.slough_timeout(), Some(dms(200)));
    }

    #[test]
    fn adaptive_ignores_empty_queues() {
        let mut s = adaptive(5, 100, SimTime::ZERO);
        s.on_dequeue(ms(0), dms(50), 9);
        s.on_dequeue(ms(1), dms(50), 9);
        s.on_empty(ms(2));
        assert!(s.is_shedding());
        assert_eq!(s.on_dequeue(ms(3), dms(50), 0), Shed);
    }

    // ---- Property tests ----

    /// RFC 8289 §5.4–5.6 transliterated over a queue of enqueue timestamps, with `bytes() <=
    /// MAXPACKET` read as "nothing left behind the head": the reference `Shedder` must match.
    struct RfcCodel {
        target: SimDuration,
        interval: SimDuration,
        queue: VecDeque<SimTime>,
        first_above_time: u64,
        drop_next: u64,
        count: u32,
        lastcount: u32,
        dropping: bool,
    }

    impl RfcCodel {
        fn dodequeue(&mut self, now: SimTime) -> (Option<SimTime>, bool) {
            let Some(p) = self.queue.pop_front() else {
                self.first_above_time = 0;
                return (None, false);
            };
            let sojourn = now.since(p);
            if sojourn < self.target || self.queue.is_empty() {
                self.first_above_time = 0;
                return (Some(p), false);
            }
            if self.first_above_time == 0 {
                // Times here start at 1 s, so 0 is free to mean unset as in the RFC.
                self.first_above_time = (now + self.interval).0;
                (Some(p), false)
            } else {
                (Some(p), now.0 >= self.first_above_time)
            }
        }

        fn control_law(&self, t: u64, count: u32) -> u64 {
            t + (self.interval.0 as f64 / f64::from(count).sqrt()) as u64
        }

        /// Returns the served request (if any) and the dropped ones.
        fn dequeue(&mut self, now: SimTime) -> (Option<SimTime>, Vec<SimTime>) {
            let mut dropped = Vec::new();
            let mut r = self.dodequeue(now);
            if self.dropping {
                if !r.1 {
                    self.dropping = false;
                }
                while now.0 >= self.drop_next && self.dropping {
                    dropped.push(r.0.unwrap());
                    self.count += 1;
                    r = self.dodequeue(now);
                    if !r.1 {
                        self.dropping = false;
                    } else {
                        self.drop_next = self.control_law(self.drop_next, self.count);
                    }
                }
            } else if r.1 {
                dropped.push(r.0.unwrap());
                r = self.dodequeue(now);
                self.dropping = true;
                let delta = self.count - self.lastcount;
                self.count = 1;
                if delta > 1 && (now.0 as i64 - self.drop_next as i64) < 16 * self.interval.0 as i64 {
                    self.count = delta;
                }
                self.drop_next = self.control_law(now.0, self.count);
                self.lastcount = self.count;
            }
            (r.0, dropped)
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Time passes (nanoseconds).
        Advance(u64),
        /// A request arrives and queues.
        Arrive,
        /// A worker looks for work.
        Poll,
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(
            prop_oneof![
                3 => (0u64..4_000_000).prop_map(Op::Advance),
                1 => (0u64..60_000_000).prop_map(Op::Advance),
                4 => Just(Op::Arrive),
                3 => Just(Op::Poll),
            ],
            1..600,
        )
    }

    /// One worker poll through the `Shedder` protocol: returns the served request and the shed
    /// ones, and records each verdict with its sojourn.
    fn poll(s: &mut Shedder, queue: &mut VecDeque<SimTime>, now: SimTime) -> (Option<SimTime>, Vec<SimTime>) {
        let mut shed = Vec::new();
        loop {
            let Some(p) = queue.pop_front() else {
                s.on_empty(now);
                return (None, shed);
            };
            match s.on_dequeue(now, now.since(p), queue.len() as u32) {
                Verdict::Serve => return (Some(p), shed),
                Verdict::Shed => shed.push(p),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Driven by the loop's protocol (on_dequeue until Serve, on_empty on an empty queue), the
        /// shedder sheds exactly the requests RFC 8289's dequeue() drops, and is in the dropping
        /// state exactly when the RFC's is, after every worker poll.
        #[test]
        fn codel_matches_the_rfc_pseudocode(target_ms in 0u64..15, interval_ms in 1u64..150, ops in ops()) {
            let (target, interval) = (dms(target_ms), dms(interval_ms));
            let start = SimTime(1_000_000_000);
            let mut s = Shedder::new(&ShedderConfig::Codel { target, interval }, start);
            let mut rfc = RfcCodel {
                target, interval, queue: VecDeque::new(), first_above_time: 0, drop_next: 0, count: 0,
                lastcount: 0, dropping: false,
            };
            let mut queue = VecDeque::new();
            let mut now = start;
            let mut arrivals = 0u64;
            for op in ops {
                match op {
                    Op::Advance(d) => now = now + SimDuration(d),
                    Op::Arrive => {
                        arrivals += 1;
                        queue.push_back(now);
                        rfc.queue.push_back(now);
                    }
                    Op::Poll => {
                        let ours = poll(&mut s, &mut queue, now);
                        let theirs = rfc.dequeue(now);
                        prop_assert_eq!(&ours, &theirs, "at {}", now);
                        prop_assert_eq!(s.is_shedding(), rfc.dropping, "at {}", now);
                        prop_assert_eq!(queue.len(), rfc.queue.len());
                    }
                }
            }
            let c = s.counters();
            prop_assert_eq!(c.served + c.shed_on_dequeue, arrivals - queue.len() as u64);
        }

        /// Within a dropping episode, the k-th shed after the one that entered it (at E, with
        /// count c) never comes before E + sum_{j<k} interval / sqrt(c + j): sheds never run ahead
        /// of the control law, though a late worker may catch up several at one instant. And a
        /// request whose sojourn is below target is never shed.
        #[test]
        fn codel_sheds_never_run_ahead_of_the_control_law(target_ms in 0u64..15, interval_ms in 1u64..150, ops in ops()) {
            let (target, interval) = (dms(target_ms), dms(interval_ms));
            let mut s = Shedder::new(&ShedderConfig::Codel { target, interval }, SimTime::ZERO);
            let mut queue = VecDeque::new();
            let mut now = SimTime::ZERO;
            // (earliest time of the next loop shed, count at it) while in an episode.
            let mut schedule: Option<(SimTime, u32)> = None;
            for op in ops {
                match op {
                    Op::Advance(d) => now = now + SimDuration(d),
                    Op::Arrive => queue.push_back(now),
                    Op::Poll => loop {
                        let Some(p) = queue.pop_front() else {
                            s.on_empty(now);
                            break;
                        };
                        let was_shedding = s.is_shedding();
                        let sojourn = now.since(p);
                        let verdict = s.on_dequeue(now, sojourn, queue.len() as u32);
                        if verdict == Verdict::Serve {
                            break;
                        }
                        prop_assert!(sojourn >= target, "shed a request that waited {} < {}", sojourn, target);
                        let count = codel_state(&s).count;
                        if was_shedding {
                            let (due, c) = schedule.expect("a loop shed happens in an episode");
                            prop_assert!(now >= due, "shed at {} before the control law's {}", now, due);
                            prop_assert_eq!(count, c + 1);
                            let step = SimDuration((interval.0 as f64 / f64::from(count).sqrt()) as u64);
                            schedule = Some((due + step, count));
                        } else {
                            let step = SimDuration((interval.0 as f64 / f64::from(count).sqrt()) as u64);
                            schedule = Some((now + step, count));
                        }
                    },
                }
            }
        }

        /// Adaptive CoDel sheds only while overloaded and only requests that waited more than
        /// 2 * target; a request that closes a window is never shed; and each window's close sets
        /// the overloaded flag to "the window's minimum delay exceeded target", the minimum taken
        /// here independently over the delays the window saw.
        #[test]
        fn adaptive_sheds_only_over_the_slough_timeout_while_overloaded(
            target_ms in 1u64..15,
            interval_ms in 1u64..150,
            calls in prop::collection::vec((0u64..30_000_000, 0u64..40_000_000), 1..400),
        ) {
            let (target, interval) = (dms(target_ms), dms(interval_ms));
            let target = target.min(interval);
            let mut s = Shedder::new(&ShedderConfig::AdaptiveCodel { target, interval }, SimTime::ZERO);
            let mut now = SimTime::ZERO;
            let mut window_end = SimTime::ZERO;
            let mut window_min: Option<SimDuration> = None;
            for (gap, delay) in calls {
                now = now + SimDuration(gap);
                let delay = SimDuration(delay);
                let closes = window_min.is_some() && now > window_end;
                let verdict = s.on_dequeue(now, delay, 1);
                if closes {
                    prop_assert_eq!(s.is_shedding(), window_min.unwrap() > target);
                    window_end = now + interval;
                    window_min = None;
                }
                if verdict == Verdict::Shed {
                    prop_assert!(s.is_shedding());
                    prop_assert!(delay > target + target, "shed a request that waited {}", delay);
                    prop_assert!(window_min.is_some(), "shed a request that seeded a window");
                }
                window_min = Some(window_min.map_or(delay, |m| m.min(delay)));
            }
        }

        /// With the loop asking at each arrival that would wait, the queue never holds more than
        /// max_queue requests, and exactly those over the bound are shed.
        #[test]
        fn queue_bound_never_admits_beyond_the_bound(
            max_queue in 0u32..6,
            ops in prop::collection::vec(any::<bool>(), 1..300),
        ) {
            let mut s = Shedder::new(&ShedderConfig::QueueBound { max_queue }, SimTime::ZERO);
            let mut queued = 0u32;
            let mut shed = 0u64;
            for (i, arrive) in ops.into_iter().enumerate() {
                let now = SimTime(i as u64);
                if arrive {
                    match s.on_arrival(now, queued) {
                        Admit::Accept => queued += 1,
                        Admit::Shed => {
                            prop_assert_eq!(queued, max_queue);
                            shed += 1;
                        }
                    }
                } else if queued > 0 {
                    queued -= 1;
                    prop_assert_eq!(s.on_dequeue(now, SimDuration::ZERO, queued), Verdict::Serve);
                }
                prop_assert!(queued <= max_queue);
            }
            prop_assert_eq!(s.counters().shed_on_arrival, shed);
        }
    }
}
