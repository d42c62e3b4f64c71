//! The idle connections of one calling sidecar to one destination instance (Envoy's
//! HTTP/1.1 connection pool: one request at a time per connection).
//!
//! A request takes the most recently released idle connection (Envoy keeps ready clients
//! most-recent first), or opens a new one, which costs a handshake. A connection closes
//! after `max_requests` requests (max_requests_per_connection) or after `idle_timeout`
//! without a request; the timeout is applied lazily when the pool is next used, which
//! gives the same answers as a timer. Memory is bounded by the requests in flight: only
//! connections released and not yet expired are kept.

use crate::time::{SimDuration, SimTime};

/// A connection, while idle or carrying a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conn {
    /// Requests sent on it so far.
    pub uses: u32,
    /// Whether it is an mTLS connection.
    pub mtls: bool,
    /// The life (epoch) of the caller's and the callee's instance when it opened: a
    /// restarted process has lost its connections.
    pub epochs: (u32, u32),
    idle_since: SimTime,
}

impl Conn {
    pub const fn new(mtls: bool, epochs: (u32, u32)) -> Self {
        Conn { uses: 0, mtls, epochs, idle_since: SimTime::ZERO }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Pool {
    /// Idle connections, oldest release first.
    idle: Vec<Conn>,
}

impl Pool {
    /// An idle connection for a request at `now`, if one is still open: those idle for
    /// `idle_timeout` or more, or of an earlier life of either side, are closed.
    pub fn take(&mut self, now: SimTime, idle_timeout: SimDuration, epochs: (u32, u32)) -> Option<Conn> {
        self.idle.retain(|c| c.epochs == epochs && now.since(c.idle_since) < idle_timeout);
        self.idle.pop()
    }

    /// A request on `conn` ended at `now`: the connection goes back to the pool, unless
    /// it carried `max_requests` requests.
    pub fn put(&mut self, mut conn: Conn, now: SimTime, idle_timeout: SimDuration, max_requests: u32) {
        if conn.uses >= max_requests {
            return;
        }
        // Connections idle too long are gone by now.
        let expired = self.idle.iter().take_while(|c| now.since(c.idle_since) >= idle_timeout).count();
        self.idle.drain(..expired);
        conn.idle_since = now;
        self.idle.push(conn);
    }

    pub fn idle(&self) -> usize {
        self.idle.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_millis(ms)
    }

    const IDLE: SimDuration = SimDuration::from_millis(100);

    #[test]
    fn reuses_until_the_request_limit() {
        let mut p = Pool::default();
        assert!(p.take(at(0), IDLE, (0, 0)).is_none());
        let mut c = Conn::new(true, (0, 0));
        for k in 1..=3u32 {
            c.uses += 1;
            p.put(c, at(u64::from(k)), IDLE, 3);
            if k < 3 {
                c = p.take(at(u64::from(k)), IDLE, (0, 0)).expect("reused");
                assert_eq!(c.uses, k);
            }
        }
        assert_eq!(p.idle(), 0, "closed after its third request");
    }

    #[test]
    fn idle_connections_close_after_the_timeout_and_on_restart() {
        let mut p = Pool::default();
        let mut c = Conn::new(true, (0, 0));
        c.uses = 1;
        p.put(c, at(0), IDLE, u32::MAX);
        assert!(p.take(at(100), IDLE, (0, 0)).is_none(), "idle for the whole timeout");
        p.put(c, at(200), IDLE, u32::MAX);
        assert!(p.take(at(250), IDLE, (0, 1)).is_none(), "the callee restarted");
        p.put(c, at(300), IDLE, u32::MAX);
        assert_eq!(p.take(at(399), IDLE, (0, 0)), Some(Conn { idle_since: at(300), ..c }));
    }

    #[test]
    fn takes_the_most_recently_released_and_drops_stale_ones_on_release() {
        let mut p = Pool::default();
        let mut a = Conn::new(true, (0, 0));
        a.uses = 7;
        let mut b = Conn::new(false, (0, 0));
        b.uses = 1;
        p.put(a, at(0), IDLE, u32::MAX);
        p.put(b, at(10), IDLE, u32::MAX);
        assert_eq!(p.take(at(20), IDLE, (0, 0)).map(|c| c.uses), Some(1));
        p.put(b, at(150), IDLE, u32::MAX);
        assert_eq!(p.idle(), 1, "the first one expired at 100 ms");
    }
}
