//! Bulkheads: concurrency limits in front of a destination, with their waiting rooms.
//!
//! Three flavours, each following its reference implementation:
//!
//! - **Resilience4j `SemaphoreBulkhead`**: a fair semaphore of `maxConcurrentCalls` permits. A
//!   call gets a permit at once if one is free; otherwise it waits up to `maxWaitDuration`
//!   (Resilience4j passes it to `Semaphore.tryAcquire` in whole milliseconds, so it is truncated
//!   to milliseconds here too) in FIFO order, and is rejected when the wait runs out. With the
//!   default wait of 0 a full bulkhead rejects at once.
//! - **Resilience4j `FixedThreadPoolBulkhead`**: a `java.util.concurrent.ThreadPoolExecutor`
//!   with `coreThreadPoolSize` and `maxThreadPoolSize` threads, a bounded FIFO queue of
//!   `queueCapacity` and `AbortPolicy`. Its admission rule is the executor's: below the core
//!   size a new thread starts; otherwise the task is queued (an idle thread, the longest idle
//!   first, takes it at once); only when the queue is full does a thread beyond the core start,
//!   for the new task (which thus overtakes the queue); with all threads busy and the queue full
//!   the call is rejected. Threads beyond the core that stay idle for `keepAliveDuration` exit.
//!   A cancelled queued task keeps its queue slot until a thread dequeues it, as with
//!   `FutureTask.cancel`.
//! - **Envoy cluster circuit breakers** on a connection pool (`ConnPoolImplBase::newStreamImpl`
//!   and `attachStreamToClient`): a request that finds a ready connection is attached if fewer
//!   than `max_requests` are active, else it overflows; a request that finds none becomes a
//!   pending request if fewer than `max_pending_requests` are pending (else it overflows) and
//!   a new connection is opened if fewer than `max_connections` exist; a retry also needs one
//!   of `max_retries`. Overflow fails fast (503 with `x-envoy-overloaded`).
//!
//! **Envoy simplifications** (documented, deliberate): connections open instantly (no
//! `connect_timeout` phase), never idle out, and are counted for the whole cluster rather
//! than per host, so a request is pending only while every one of `max_connections`
//! connections is busy. HTTP/1.1 carries one request per connection. HTTP/2 (`http2: true`)
//! multiplexes every request over one connection with unlimited concurrent streams, so
//! after the first request nothing is ever pending and only `max_requests` limits it, as
//! Envoy's docs say ("this circuit breaker only comes into play as the initial connection is
//! created"). Envoy's allowance of one connection per host beyond `max_connections` is
//! modelled as "at least one connection". Pending requests have no deadline of their own
//! here; the caller's own timeout cancels them ([`Bulkhead::cancel`]).
//!
//! The loop owns the tickets: `try_enter` with a ticket; `Queued` tickets come back, admitted,
//! from `leave` (FIFO) or rejected from `expire` (call it at `next_expiry`).

// Old path of a configuration now in the model, kept until sim/ and scenario/ import it from there.
pub use crate::model::policy::BulkheadConfig;
use crate::time::{SimDuration, SimTime};
use std::collections::VecDeque;

/// The bulkhead's answer to `try_enter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The call holds a permit (thread, active request) now; it must `leave` when done.
    Admitted,
    /// The call waits for a permit; it comes back from `leave` when admitted, or from
    /// `expire` when its wait runs out, unless the loop `cancel`s it first.
    Queued,
    /// The bulkhead is full (Resilience4j `BulkheadFullException`, Envoy overflow).
    Rejected,
}

/// What the bulkhead has done so far. Rejections by cause follow Envoy's stats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BulkheadCounters {
    /// Calls admitted at once.
    pub admitted: u64,
    /// Calls that waited (`Queued`).
    pub queued: u64,
    /// Queued calls later admitted by `leave`.
    pub admitted_from_queue: u64,
    /// Calls rejected by `try_enter`.
    pub rejected: u64,
    /// Queued calls whose wait ran out (also rejections, reported by `expire`).
    pub expired: u64,
    /// Queued calls the loop cancelled.
    pub cancelled: u64,
    /// Envoy `upstream_rq_pending_overflow` caused by `max_pending_requests`.
    pub pending_overflow: u64,
    /// Envoy overflow caused by `max_requests` (also counted as `upstream_rq_pending_overflow`
    /// by Envoy).
    pub request_overflow: u64,
    /// Envoy `upstream_rq_retry_overflow`: retries refused by `max_retries`.
    pub retry_overflow: u64,
    /// Envoy `upstream_cx_overflow`: a new connection was wanted but `max_connections` were
    /// open (the request waited as pending).
    pub connection_overflow: u64,
    /// Most permits held at once.
    pub in_use_peak: u32,
    /// Most calls waiting at once.
    pub waiting_peak: u32,
}

/// One waiter in the semaphore's queue.
#[derive(Clone, Copy, Debug)]
struct Waiter {
    ticket: u64,
    deadline: SimTime,
}

#[derive(Clone, Debug)]
struct Semaphore {
    permits: u32,
    max_wait: SimDuration,
    in_use: u32,
    waiters: VecDeque<Waiter>,
    /// Waiters `leave` found past their deadline, handed back by the next `expire`.
    expired: Vec<Waiter>,
}

/// An idle executor thread.
#[derive(Clone, Copy, Debug)]
struct IdleThread {
    since: SimTime,
    /// Whether it polls with the keep-alive timeout (`wc > corePoolSize` when it went idle).
    timed: bool,
}

#[derive(Clone, Debug)]
struct ThreadPool {
    core: u32,
    max: u32,
    capacity: u32,
    keep_alive: SimDuration,
    threads: u32,
    busy: u32,
    /// Idle threads, longest idle first.
    idle: VecDeque<IdleThread>,
    /// Queued tasks and whether each was cancelled.
    queue: VecDeque<(u64, bool)>,
}

#[derive(Clone, Debug)]
struct EnvoyPool {
    max_connections: u32,
    max_pending: u32,
    max_requests: u32,
    max_retries: u32,
    http2: bool,
    connections: u32,
    active: u32,
    pending: VecDeque<u64>,
    retries: u32,
}

#[derive(Clone, Debug)]
enum Kind {
    Semaphore(Semaphore),
    ThreadPool(ThreadPool),
    Envoy(EnvoyPool),
}

/// A bulkhead: one per proxy per destination.
#[derive(Clone, Debug)]
pub struct Bulkhead {
    kind: Kind,
    counters: BulkheadCounters,
    last_now: SimTime,
}

impl Bulkhead {
    /// # Panics
    /// For a thread pool with `core_threads` 0 or above `max_threads` (Resilience4j rejects
    /// both); validation rules these out.
    pub fn new(config: &BulkheadConfig) -> Self {
        let kind = match *config {
            BulkheadConfig::Semaphore { max_concurrent_calls, max_wait } => Kind::Semaphore(Semaphore {
                permits: max_concurrent_calls,
                max_wait: SimDuration::from_millis(max_wait.as_nanos() / 1_000_000),
                in_use: 0,
                waiters: VecDeque::new(),
                expired: Vec::new(),
            }),
            BulkheadConfig::ThreadPool { max_threads, core_threads, queue_capacity, keep_alive } => {
                assert!(core_threads >= 1, "coreThreadPoolSize must be >= 1");
                assert!(max_threads >= core_threads, "maxThreadPoolSize must be >= coreThreadPoolSize");
                Kind::ThreadPool(ThreadPool {
                    core: core_threads,
                    max: max_threads,
                    capacity: queue_capacity,
                    keep_alive,
                    threads: 0,
                    busy: 0,
                    idle: VecDeque::new(),
                    queue: VecDeque::new(),
                })
            }
            BulkheadConfig::EnvoyPool { max_connections, max_pending_requests, max_requests, max_retries, http2 } => {
                Kind::Envoy(EnvoyPool {
                    max_connections,
                    max_pending: max_pending_requests,
                    max_requests,
                    max_retries,
                    http2,
                    connections: 0,
                    active: 0,
                    pending: VecDeque::new(),
                    retries: 0,
                })
            }
        };
        Bulkhead { kind, counters: BulkheadCounters::default(), last_now: SimTime::ZERO }
    }

    fn tick(&mut self, now: SimTime) {
        assert!(now >= self.last_now, "bulkhead called at {now} after {}", self.last_now);
        self.last_now = now;
    }

    /// A call asks to enter. `is_retry` matters only to Envoy: a retry also needs one of
    /// `max_retries`, held from here until [`Bulkhead::retry_finished`] (Envoy holds it from
    /// the retry decision until the retried attempt ends). A retry refused for `max_retries`
    /// is simply not made in Envoy: the previous attempt's response goes downstream.
    pub fn try_enter(&mut self, now: SimTime, ticket: u64, is_retry: bool) -> Admission {
        self.tick(now);
        let admission = match &mut self.kind {
            Kind::Semaphore(s) => s.try_enter(now, ticket),
            Kind::ThreadPool(p) => p.try_enter(now, ticket),
            Kind::Envoy(e) => e.try_enter(ticket, is_retry, &mut self.counters),
        };
        match admission {
            Admission::Admitted => self.counters.admitted += 1,
            Admission::Queued => self.counters.queued += 1,
            Admission::Rejected => self.counters.rejected += 1,
        }
        self.note_peaks();
        admission
    }

    /// An admitted call is done and frees its permit. Returns the queued ticket that now holds
    /// it (the longest waiting one), if any.
    ///
    /// # Panics
    /// If no call holds a permit.
    pub fn leave(&mut self, now: SimTime) -> Option<u64> {
        self.tick(now);
        let next = match &mut self.kind {
            Kind::Semaphore(s) => s.leave(now),
            Kind::ThreadPool(p) => p.leave(now),
            Kind::Envoy(e) => e.leave(),
        };
        if next.is_some() {
            self.counters.admitted_from_queue += 1;
        }
        self.note_peaks();
        next
    }

    /// The queued tickets whose wait has run out by `now` (deadline <= now), oldest first:
    /// they are rejected. Only the semaphore bulkhead has a wait limit.
    pub fn expire(&mut self, now: SimTime) -> Vec<u64> {
        self.tick(now);
        let out = match &mut self.kind {
            Kind::Semaphore(s) => s.expire(now),
            Kind::ThreadPool(_) | Kind::Envoy(_) => Vec::new(),
        };
        self.counters.expired += out.len() as u64;
        out
    }

    /// When the oldest waiter's wait runs out; the loop calls `expire` then.
    pub fn next_expiry(&self) -> Option<SimTime> {
        match &self.kind {
            Kind::Semaphore(s) => s.expired.first().or(s.waiters.front()).map(|w| w.deadline),
            Kind::ThreadPool(_) | Kind::Envoy(_) => None,
        }
    }

    /// The loop gives up on a queued ticket (its caller timed out or was cancelled). Returns
    /// whether the ticket was waiting here. A cancelled thread-pool task keeps its queue slot
    /// until a thread dequeues and discards it, as Java's executor does.
    pub fn cancel(&mut self, ticket: u64) -> bool {
        let found = match &mut self.kind {
            Kind::Semaphore(s) => remove_first(&mut s.waiters, |w| w.ticket == ticket),
            Kind::ThreadPool(p) => match p.queue.iter_mut().find(|(t, cancelled)| *t == ticket && !*cancelled) {
                Some(entry) => {
                    entry.1 = true;
                    true
                }
                None => false,
            },
            Kind::Envoy(e) => remove_first(&mut e.pending, |&t| t == ticket),
        };
        if found {
            self.counters.cancelled += 1;
        }
        found
    }

    /// Envoy: the retried attempt admitted with `is_retry` has ended; its `max_retries` slot
    /// frees. Does nothing for the Resilience4j bulkheads.
    ///
    /// # Panics
    /// For an Envoy pool with no retry outstanding.
    pub fn retry_finished(&mut self) {
        if let Kind::Envoy(e) = &mut self.kind {
            assert!(e.retries > 0, "retry_finished without an outstanding retry");
            e.retries -= 1;
        }
    }

    /// Permits held: semaphore permits, busy threads, or Envoy active requests.
    pub fn in_use(&self) -> u32 {
        match &self.kind {
            Kind::Semaphore(s) => s.in_use,
            Kind::ThreadPool(p) => p.busy,
            Kind::Envoy(e) => e.active,
        }
    }

    /// Calls waiting (cancelled thread-pool tasks still in the queue not included).
    pub fn waiting(&self) -> u32 {
        let n = match &self.kind {
            Kind::Semaphore(s) => s.waiters.len(),
            Kind::ThreadPool(p) => p.queue.iter().filter(|(_, cancelled)| !cancelled).count(),
            Kind::Envoy(e) => e.pending.len(),
        };
        n as u32
    }

    /// Envoy retries outstanding (0 for the other flavours).
    pub fn retries_in_flight(&self) -> u32 {
        match &self.kind {
            Kind::Envoy(e) => e.retries,
            _ => 0,
        }
    }

    pub fn counters(&self) -> BulkheadCounters {
        self.counters
    }

    /// `in_use` and `waiting` in one match: this runs at every entry and exit.
    #[inline]
    fn note_peaks(&mut self) {
        let (in_use, waiting) = match &self.kind {
            Kind::Semaphore(s) => (s.in_use, s.waiters.len() as u32),
            Kind::ThreadPool(p) => (p.busy, p.queue.iter().filter(|(_, cancelled)| !cancelled).count() as u32),
            Kind::Envoy(e) => (e.active, e.pending.len() as u32),
        };
        self.counters.in_use_peak = self.counters.in_use_peak.max(in_use);
        self.counters.waiting_peak = self.counters.waiting_peak.max(waiting);
    }
}

fn remove_first<T>(queue: &mut VecDeque<T>, pred: impl Fn(&T) -> bool) -> bool {
    match queue.iter().position(pred) {
        Some(i) => {
            queue.remove(i);
            true
        }
        None => false,
    }
}

impl Semaphore {
    fn try_enter(&mut self, now: SimTime, ticket: u64) -> Admission {
        // Permits are handed straight to waiters on release, so a free permit means no waiter.
        if self.in_use < self.permits {
            debug_assert!(self.waiters.is_empty());
            self.in_use += 1;
            Admission::Admitted
        } else if self.max_wait.is_zero() {
            Admission::Rejected
        } else {
            self.waiters.push_back(Waiter { ticket, deadline: now + self.max_wait });
            Admission::Queued
        }
    }

    fn leave(&mut self, now: SimTime) -> Option<u64> {
        assert!(self.in_use > 0, "leave with no permit held");
        // A timed `tryAcquire` still gets a permit released at its very deadline; one released
        // later is too late. The loop normally expires those first (at `next_expiry`).
        while let Some(w) = self.waiters.pop_front() {
            if w.deadline < now {
                self.expired.push(w);
            } else {
                return Some(w.ticket);
            }
        }
        self.in_use -= 1;
        None
    }

    fn expire(&mut self, now: SimTime) -> Vec<u64> {
        let mut out: Vec<u64> = self.expired.drain(..).map(|w| w.ticket).collect();
        // Every waiter waits the same `max_wait`, so deadlines rise along the queue.
        while self.waiters.front().is_some_and(|w| w.deadline <= now) {
            out.push(self.waiters.pop_front().map(|w| w.ticket).expect("front exists"));
        }
        out
    }
}

impl ThreadPool {
    /// Threads idle in a timed poll whose keep-alive ran out by `now` exit while the pool is
    /// above its core size; the rest go back to an untimed `take()` (`getTask`).
    fn retire_idle(&mut self, now: SimTime) {
        let mut i = 0;
        while i < self.idle.len() {
            let t = self.idle[i];
            if t.timed && t.since + self.keep_alive <= now {
                if self.threads > self.core {
                    self.idle.remove(i);
                    self.threads -= 1;
                    continue;
                }
                self.idle[i].timed = false;
            }
            i += 1;
        }
    }

    /// `ThreadPoolExecutor.execute` with `AbortPolicy`.
    fn try_enter(&mut self, now: SimTime, ticket: u64) -> Admission {
        self.retire_idle(now);
        if self.threads < self.core {
            // A new core thread starts with this task, even if others are idle.
            self.threads += 1;
            self.busy += 1;
            Admission::Admitted
        } else if self.idle.pop_front().is_some() {
            // Offered to the queue and taken at once by the longest idle thread.
            self.busy += 1;
            Admission::Admitted
        } else if (self.queue.len() as u32) < self.capacity {
            self.queue.push_back((ticket, false));
            Admission::Queued
        } else if self.threads < self.max {
            // Queue full: a thread beyond the core starts with this very task.
            self.threads += 1;
            self.busy += 1;
            Admission::Admitted
        } else {
            Admission::Rejected
        }
    }

    /// A task ended; its thread takes the next queued task or goes idle.
    fn leave(&mut self, now: SimTime) -> Option<u64> {
        self.retire_idle(now);
        assert!(self.busy > 0, "leave with no busy thread");
        while let Some((ticket, cancelled)) = self.queue.pop_front() {
            // A cancelled FutureTask runs as a no-op and the thread moves on.
            if !cancelled {
                return Some(ticket);
            }
        }
        self.busy -= 1;
        self.idle.push_back(IdleThread { since: now, timed: self.threads > self.core });
        None
    }
}

impl EnvoyPool {
    fn try_enter(&mut self, ticket: u64, is_retry: bool, counters: &mut BulkheadCounters) -> Admission {
        if is_retry && self.retries >= self.max_retries {
            counters.retry_overflow += 1;
            return Admission::Rejected;
        }
        let admission = self.new_stream(ticket, counters);
        if is_retry && admission != Admission::Rejected {
            self.retries += 1;
        }
        admission
    }

    /// `attachStreamToClient`: the `max_requests` check made when a stream gets a connection.
    fn attach(&mut self, counters: &mut BulkheadCounters) -> Admission {
        if self.active >= self.max_requests {
            counters.request_overflow += 1;
            Admission::Rejected
        } else {
            self.active += 1;
            Admission::Admitted
        }
    }

    /// `ConnPoolImplBase::newStreamImpl` with connections that open instantly.
    fn new_stream(&mut self, ticket: u64, counters: &mut BulkheadCounters) -> Admission {
        let ready = if self.http2 { self.connections > 0 } else { self.connections > self.active };
        if ready {
            return self.attach(counters);
        }
        if self.pending.len() as u32 >= self.max_pending {
            counters.pending_overflow += 1;
            return Admission::Rejected;
        }
        // The request is pending; a connection opens if the breaker allows (Envoy always lets a
        // host have one) and, opening instantly, takes it.
        if self.http2 || self.connections < self.max_connections.max(1) {
            self.connections += 1;
            return self.attach(counters);
        }
        counters.connection_overflow += 1;
        self.pending.push_back(ticket);
        Admission::Queued
    }

    fn leave(&mut self) -> Option<u64> {
        assert!(self.active > 0, "leave with no active request");
        self.active -= 1;
        // The freed HTTP/1.1 connection is ready: the oldest pending request attaches. Pending
        // requests exist only while every connection is busy, so active < max_requests here.
        let ticket = self.pending.pop_front()?;
        assert!(self.active < self.max_requests, "a pending request could not attach");
        self.active += 1;
        Some(ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(v: u64) -> SimTime {
        SimTime(v * 1_000_000)
    }

    fn semaphore(max: u32, wait_ms: u64) -> Bulkhead {
        Bulkhead::new(&BulkheadConfig::Semaphore {
            max_concurrent_calls: max,
            max_wait: SimDuration::from_millis(wait_ms),
        })
    }

    fn envoy(max_connections: u32, max_pending: u32, max_requests: u32, max_retries: u32, http2: bool) -> Bulkhead {
        Bulkhead::new(&BulkheadConfig::EnvoyPool {
            max_connections,
            max_pending_requests: max_pending,
            max_requests,
            max_retries,
            http2,
        })
    }

    use Admission::{Admitted, Queued, Rejected};

    #[test]
    fn defaults_follow_resilience4j_and_envoy() {
        assert_eq!(
            BulkheadConfig::default(),
            BulkheadConfig::Semaphore { max_concurrent_calls: 25, max_wait: SimDuration::ZERO }
        );
        let mut b = Bulkhead::new(&BulkheadConfig::default());
        for t in 0..25 {
            assert_eq!(b.try_enter(ms(0), t, false), Admitted);
        }
        assert_eq!(b.try_enter(ms(0), 25, false), Rejected);
        assert_eq!(
            BulkheadConfig::envoy_circuit_breakers(),
            BulkheadConfig::EnvoyPool {
                max_connections: 1024,
                max_pending_requests: 1024,
                max_requests: 1024,
                max_retries: 3,
                http2: false
            }
        );
    }

    #[test]
    fn semaphore_without_wait_rejects_at_once_when_full() {
        let mut b = semaphore(2, 0);
        assert_eq!(b.try_enter(ms(0), 1, false), Admitted);
        assert_eq!(b.try_enter(ms(0), 2, false), Admitted);
        assert_eq!(b.try_enter(ms(0), 3, false), Rejected);
        assert_eq!(b.in_use(), 2);
        assert_eq!(b.next_expiry(), None);
        assert_eq!(b.leave(ms(5)), None);
        assert_eq!(b.try_enter(ms(5), 4, false), Admitted);
        let c = b.counters();
        assert_eq!((c.admitted, c.rejected, c.in_use_peak), (3, 1, 2));
    }

    #[test]
    fn semaphore_admits_waiters_fifo_when_permits_free() {
        let mut b = semaphore(1, 100);
        assert_eq!(b.try_enter(ms(0), 1, false), Admitted);
        assert_eq!(b.try_enter(ms(1), 2, false), Queued);
        assert_eq!(b.try_enter(ms(2), 3, false), Queued);
        assert_eq!(b.waiting(), 2);
        assert_eq!(b.leave(ms(10)), Some(2));
        assert_eq!(b.in_use(), 1);
        assert_eq!(b.leave(ms(20)), Some(3));
        assert_eq!(b.leave(ms(30)), None);
        assert_eq!(b.in_use(), 0);
        assert_eq!(b.counters().admitted_from_queue, 2);
    }

    #[test]
    fn semaphore_waiters_expire_after_max_wait() {
        let mut b = semaphore(1, 100);
        b.try_enter(ms(0), 1, false);
        assert_eq!(b.try_enter(ms(5), 2, false), Queued);
        assert_eq!(b.try_enter(ms(7), 3, false), Queued);
        assert_eq!(b.next_expiry(), Some(ms(105)));
        assert_eq!(b.expire(ms(104)), Vec::<u64>::new());
        assert_eq!(b.expire(ms(105)), vec![2]);
        assert_eq!(b.next_expiry(), Some(ms(107)));
        // A permit freed exactly at a waiter's deadline still reaches it.
        assert_eq!(b.leave(ms(107)), Some(3));
        assert_eq!(b.next_expiry(), None);
        assert_eq!(b.counters().expired, 1);
    }

    #[test]
    fn semaphore_leave_skips_waiters_already_past_deadline() {
        let mut b = semaphore(1, 10);
        b.try_enter(ms(0), 1, false);
        b.try_enter(ms(0), 2, false);
        b.try_enter(ms(5), 3, false);
        // The loop missed the expiry at 10 ms: ticket 2 is kept for `expire`, 3 is admitted.
        assert_eq!(b.leave(ms(12)), Some(3));
        assert_eq!(b.next_expiry(), Some(ms(10)));
        assert_eq!(b.expire(ms(12)), vec![2]);
    }

    #[test]
    fn semaphore_max_wait_is_truncated_to_whole_milliseconds() {
        let mut b = Bulkhead::new(&BulkheadConfig::Semaphore {
            max_concurrent_calls: 1,
            max_wait: SimDuration::from_micros(999),
        });
        b.try_enter(ms(0), 1, false);
        assert_eq!(b.try_enter(ms(0), 2, false), Rejected);
    }

    #[test]
    fn semaphore_cancelled_waiter_leaves_the_queue() {
        let mut b = semaphore(1, 100);
        b.try_enter(ms(0), 1, false);
        b.try_enter(ms(0), 2, false);
        b.try_enter(ms(0), 3, false);
        assert!(b.cancel(2));
        assert!(!b.cancel(2));
        assert_eq!(b.leave(ms(1)), Some(3));
        assert_eq!(b.counters().cancelled, 1);
    }

    fn pool(core: u32, max: u32, queue: u32) -> Bulkhead {
        Bulkhead::new(&BulkheadConfig::ThreadPool {
            max_threads: max,
            core_threads: core,
            queue_capacity: queue,
            keep_alive: SimDuration::from_millis(20),
        })
    }

    #[test]
    fn thread_pool_queues_before_growing_past_core_then_rejects() {
        let mut b = pool(1, 2, 1);
        assert_eq!(b.try_enter(ms(0), 1, false), Admitted); // core thread
        assert_eq!(b.try_enter(ms(0), 2, false), Queued); // queue has room
        assert_eq!(b.try_enter(ms(0), 3, false), Admitted); // queue full: a second thread, for 3
        assert_eq!(b.try_enter(ms(0), 4, false), Rejected);
        assert_eq!(b.in_use(), 2);
        assert_eq!(b.leave(ms(1)), Some(2));
        assert_eq!(b.leave(ms(2)), None);
        assert_eq!(b.leave(ms(3)), None);
        assert_eq!(b.in_use(), 0);
        assert_eq!(b.next_expiry(), None);
        assert_eq!(b.expire(ms(1000)), Vec::<u64>::new());
    }

    #[test]
    fn thread_pool_queue_overflow_is_rejected() {
        let mut b = pool(2, 2, 2);
        assert_eq!(b.try_enter(ms(0), 1, false), Admitted);
        assert_eq!(b.try_enter(ms(0), 2, false), Admitted);
        assert_eq!(b.try_enter(ms(0), 3, false), Queued);
        assert_eq!(b.try_enter(ms(0), 4, false), Queued);
        assert_eq!(b.try_enter(ms(0), 5, false), Rejected);
        assert_eq!(b.leave(ms(1)), Some(3));
        assert_eq!(b.try_enter(ms(1), 6, false), Queued);
        let c = b.counters();
        assert_eq!((c.admitted, c.queued, c.rejected, c.waiting_peak), (2, 3, 1, 2));
    }

    #[test]
    fn thread_pool_idle_threads_take_tasks_and_extra_threads_retire_after_keep_alive() {
        let mut b = pool(1, 2, 1);
        b.try_enter(ms(0), 1, false);
        b.try_enter(ms(0), 2, false);
        b.try_enter(ms(0), 3, false); // second thread
        assert_eq!(b.leave(ms(1)), Some(2));
        assert_eq!(b.leave(ms(2)), None); // one thread idle (timed: 2 threads > 1 core)
        // Within the keep-alive the idle thread takes a new task at once.
        assert_eq!(b.try_enter(ms(10), 4, false), Admitted);
        assert_eq!(b.leave(ms(11)), None); // idle again from 11 ms
        // At 31 ms it has idled 20 ms and exits: with one busy core thread, a task queues.
        assert_eq!(b.try_enter(ms(31), 5, false), Queued);
        assert_eq!(b.leave(ms(40)), Some(5));
    }

    #[test]
    fn thread_pool_cancelled_task_keeps_its_slot_until_dequeued() {
        let mut b = pool(1, 1, 1);
        b.try_enter(ms(0), 1, false);
        assert_eq!(b.try_enter(ms(0), 2, false), Queued);
        assert!(b.cancel(2));
        assert_eq!(b.waiting(), 0);
        // The queue slot is still taken by the cancelled task.
        assert_eq!(b.try_enter(ms(0), 3, false), Rejected);
        // The thread discards it and goes idle.
        assert_eq!(b.leave(ms(1)), None);
        assert_eq!(b.try_enter(ms(1), 4, false), Admitted);
    }

    #[test]
    fn envoy_http1_requests_pend_when_connections_are_busy() {
        let mut b = envoy(2, 1, 1024, 3, false);
        assert_eq!(b.try_enter(ms(0), 1, false), Admitted);
        assert_eq!(b.try_enter(ms(0), 2, false), Admitted);
        assert_eq!(b.try_enter(ms(0), 3, false), Queued); // both connections busy
        assert_eq!(b.try_enter(ms(0), 4, false), Rejected); // pending overflow
        let c = b.counters();
        assert_eq!((c.pending_overflow, c.connection_overflow), (1, 1));
        assert_eq!(b.leave(ms(1)), Some(3));
        assert_eq!(b.in_use(), 2);
        assert_eq!(b.leave(ms(2)), None);
        // An idle connection is reused without a pending phase.
        assert_eq!(b.try_enter(ms(3), 5, false), Admitted);
    }

    #[test]
    fn envoy_max_requests_overflows_immediately() {
        let mut b = envoy(1024, 1024, 2, 3, false);
        assert_eq!(b.try_enter(ms(0), 1, false), Admitted);
        assert_eq!(b.try_enter(ms(0), 2, false), Admitted);
        assert_eq!(b.try_enter(ms(0), 3, false), Rejected);
        assert_eq!(b.counters().request_overflow, 1);
        assert_eq!(b.waiting(), 0);
    }

    #[test]
    fn envoy_http2_multiplexes_and_only_max_requests_limits() {
        let mut b = envoy(1, 1024, 3, 3, true);
        for t in 0..3 {
            assert_eq!(b.try_enter(ms(0), t, false), Admitted);
        }
        assert_eq!(b.try_enter(ms(0), 3, false), Rejected);
        assert_eq!(b.waiting(), 0);
    }

    #[test]
    fn envoy_zero_max_pending_overflows_when_a_connection_is_needed() {
        // Without a ready connection a request must first be pending: with no room, it fails.
        let mut b = envoy(1024, 0, 1024, 3, false);
        assert_eq!(b.try_enter(ms(0), 1, false), Rejected);
        assert_eq!(b.counters().pending_overflow, 1);
    }

    #[test]
    fn envoy_max_retries_limits_outstanding_retries() {
        let mut b = envoy(1024, 1024, 1024, 1, false);
        assert_eq!(b.try_enter(ms(0), 1, false), Admitted);
        assert_eq!(b.try_enter(ms(0), 2, true), Admitted);
        assert_eq!(b.retries_in_flight(), 1);
        assert_eq!(b.try_enter(ms(0), 3, true), Rejected);
        assert_eq!(b.counters().retry_overflow, 1);
        // Original requests are not retries and are not limited by max_retries.
        assert_eq!(b.try_enter(ms(0), 4, false), Admitted);
        b.retry_finished();
        assert_eq!(b.try_enter(ms(1), 5, true), Admitted);
    }

    #[test]
    fn envoy_pending_request_can_be_cancelled() {
        let mut b = envoy(1, 5, 1024, 3, false);
        b.try_enter(ms(0), 1, false);
        assert_eq!(b.try_enter(ms(0), 2, false), Queued);
        assert_eq!(b.try_enter(ms(0), 3, false), Queued);
        assert!(b.cancel(2));
        assert_eq!(b.leave(ms(1)), Some(3));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Enter(bool),
        Leave,
        Expire,
        Cancel(usize),
        RetryDone,
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => any::<bool>().prop_map(Op::Enter),
            3 => Just(Op::Leave),
            1 => Just(Op::Expire),
            1 => (0usize..8).prop_map(Op::Cancel),
            1 => Just(Op::RetryDone),
            3 => (0u64..30).prop_map(Op::Advance),
        ]
    }

    fn config() -> impl Strategy<Value = BulkheadConfig> {
        prop_oneof![
            (0u32..5, 0u64..20).prop_map(|(m, w)| BulkheadConfig::Semaphore {
                max_concurrent_calls: m,
                max_wait: SimDuration::from_millis(w)
            }),
            (1u32..4, 0u32..3, 0u32..4, 0u64..30).prop_map(|(core, extra, q, k)| BulkheadConfig::ThreadPool {
                max_threads: core + extra,
                core_threads: core,
                queue_capacity: q,
                keep_alive: SimDuration::from_millis(k)
            }),
            (0u32..4, 0u32..4, 0u32..5, 0u32..3, any::<bool>()).prop_map(|(c, p, r, rt, h2)| {
                BulkheadConfig::EnvoyPool {
                    max_connections: c,
                    max_pending_requests: p,
                    max_requests: r,
                    max_retries: rt,
                    http2: h2,
                }
            }),
        ]
    }

    proptest! {
        /// Under any sequence of entries, exits, expiries and cancellations, the permits held
        /// never exceed the limit, match the calls the loop believes admitted, and every ticket
        /// ends in exactly one fate.
        #[test]
        fn concurrency_never_exceeds_the_limit(config in config(), ops in prop::collection::vec(op(), 1..200)) {
            let limit = match config {
                BulkheadConfig::Semaphore { max_concurrent_calls, .. } => max_concurrent_calls,
                BulkheadConfig::ThreadPool { max_threads, .. } => max_threads,
                BulkheadConfig::EnvoyPool { max_connections, max_requests, http2, .. } => {
                    if http2 { max_requests } else { max_requests.min(max_connections.max(1)) }
                }
            };
            let mut b = Bulkhead::new(&config);
            let mut now = SimTime::ZERO;
            let mut holding = 0u32;
            let mut waiting: Vec<u64> = Vec::new();
            let mut retries = 0u32;
            let mut next_ticket = 0u64;
            for op in ops {
                match op {
                    Op::Enter(is_retry) => {
                        next_ticket += 1;
                        match b.try_enter(now, next_ticket, is_retry) {
                            Admission::Admitted => holding += 1,
                            Admission::Queued => waiting.push(next_ticket),
                            Admission::Rejected => {}
                        }
                        if is_retry && b.retries_in_flight() > retries {
                            retries += 1;
                        }
                    }
                    Op::Leave if holding > 0 => {
                        if let Some(t) = b.leave(now) {
                            let i = waiting.iter().position(|&w| w == t);
                            prop_assert!(i.is_some(), "admitted {t} was not waiting");
                            waiting.remove(i.unwrap());
                            holding += 1;
                        }
                        holding -= 1;
                    }
                    Op::Leave => {}
                    Op::Expire => {
                        if let Some(at) = b.next_expiry() {
                            now = now.max(at);
                        }
                        for t in b.expire(now) {
                            let i = waiting.iter().position(|&w| w == t);
                            prop_assert!(i.is_some(), "expired {t} was not waiting");
                            waiting.remove(i.unwrap());
                        }
                    }
                    Op::Cancel(i) if i < waiting.len() => {
                        let t = waiting.remove(i);
                        prop_assert!(b.cancel(t));
                    }
                    Op::Cancel(_) => {}
                    Op::RetryDone if retries > 0 => {
                        b.retry_finished();
                        retries -= 1;
                    }
                    Op::RetryDone => {}
                    Op::Advance(d) => {
                        // Keep the loop's promise: expire waiters before time passes their deadline.
                        let target = now + SimDuration::from_millis(d);
                        while let Some(at) = b.next_expiry().filter(|&at| at < target) {
                            now = now.max(at);
                            for t in b.expire(now) {
                                waiting.retain(|&w| w != t);
                            }
                        }
                        now = target;
                    }
                }
                prop_assert!(b.in_use() <= limit, "in use {} > limit {limit}", b.in_use());
                prop_assert_eq!(b.in_use(), holding);
                prop_assert_eq!(b.waiting() as usize, waiting.len());
                if let BulkheadConfig::EnvoyPool { max_retries, .. } = config {
                    prop_assert!(b.retries_in_flight() <= max_retries);
                }
            }
        }
    }
}
