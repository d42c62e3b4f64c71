//! Resilience components: pure state machines that the client-side proxy consults.
//!
//! Each one is driven with the time (and, where it draws, a random stream) passed in,
//! and never sees the event loop: `allow`/`try_acquire` before a call, `record`/
//! `on_result` after it, `next_delay` between attempts. Each follows the semantics of
//! the implementation it is named after (see docs and `../shared/design/semantics.md`).

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod bulkhead;
pub mod limiter;
pub mod outlier;
pub mod shedder;
