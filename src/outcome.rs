//! How a call or a request ended.

/// The terminal outcome of one call (proxy → instance) or one request (at the gateway).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    /// The callee answered with an error status (4xx or 5xx).
    Error(u16),
    /// The caller's timeout fired first; the callee's work, if any, goes on.
    Timeout,
    /// The instance's queue was full; it refused the request at once.
    Rejected,
    /// The request or its response was lost on a network link.
    Dropped,
    /// The caller's circuit breaker did not permit the call: it failed fast, unsent.
    ShortCircuited,
    /// The caller's bulkhead was full (Resilience4j's BulkheadFullException, Envoy's
    /// overflow): the call failed fast, unsent.
    Overloaded,
}

impl Outcome {
    pub fn is_ok(self) -> bool {
        matches!(self, Outcome::Ok)
    }

    /// The outcome's name in reports.
    pub fn kind(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error(_) => "error",
            Outcome::Timeout => "timeout",
            Outcome::Rejected => "rejected",
            Outcome::Dropped => "dropped",
            Outcome::ShortCircuited => "short-circuited",
            Outcome::Overloaded => "overloaded",
        }
    }
}
