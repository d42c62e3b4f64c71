//! Load-shedding configurations: the flavour and its parameters. The shedding is done by
//! `resilience::shedder`.

use crate::time::SimDuration;

/// Which shedder, and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum ShedderConfig {
    /// Reject an arriving request that would wait when `max_queue` requests already wait.
    QueueBound {
        /// Most requests waiting for a worker. No default; 0 means no request ever waits.
        max_queue: u32,
    },
    /// RFC 8289 CoDel on the requests' sojourn, decided at dequeue
    /// ([`ShedderConfig::rfc8289_codel`] for the RFC's defaults).
    Codel {
        /// `TARGET`: acceptable standing queueing delay. RFC default 5 ms.
        target: SimDuration,
        /// `INTERVAL`: how long the sojourn must stay at or above target before shedding starts,
        /// and the control law's base spacing. RFC default 100 ms. Must be positive.
        interval: SimDuration,
    },
    /// folly's adaptive `Codel` for RPC queues ([`ShedderConfig::folly_codel`] for its defaults).
    AdaptiveCodel {
        /// `targetDelay`: a window whose minimum delay exceeds it makes the server overloaded;
        /// while overloaded, requests that waited over twice this are shed. folly default 5 ms
        /// (`--codel_target_delay`). Must be positive; capped at `interval`.
        target: SimDuration,
        /// `interval`: the window length. folly default 100 ms (`--codel_interval`). Must be
        /// positive.
        interval: SimDuration,
    },
}

impl ShedderConfig {
    /// CoDel with RFC 8289's constants: target 5 ms, interval 100 ms.
    pub fn rfc8289_codel() -> Self {
        ShedderConfig::Codel { target: SimDuration::from_millis(5), interval: SimDuration::from_millis(100) }
    }

    /// folly's `Codel` with its flag defaults: target 5 ms, interval 100 ms.
    pub fn folly_codel() -> Self {
        ShedderConfig::AdaptiveCodel { target: SimDuration::from_millis(5), interval: SimDuration::from_millis(100) }
    }
}
