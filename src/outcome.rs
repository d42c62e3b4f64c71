//! How a call or a request ended, and which endings the policies of the model count as
//! failures or retry.

use crate::model::policy::{FailureOn, RetryOn};

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

// Which outcomes the configured conditions match: the model holds the sets, this module
// knows the outcomes they are read against.

impl FailureOn {
    /// Whether a breaker counts an attempt that ended with `outcome` as a failure.
    pub fn is_failure(self, outcome: Outcome) -> bool {
        use Outcome as O;
        let has = |c: FailureOn| self.0 & c.0 != 0;
        match outcome {
            O::Ok | O::ShortCircuited | O::Overloaded => false,
            O::Error(s) if s >= 500 => has(FailureOn::SERVER_ERROR),
            O::Error(_) => has(FailureOn::CLIENT_ERROR),
            O::Timeout => has(FailureOn::TIMEOUT),
            O::Rejected => has(FailureOn::CONNECT_FAILURE),
            O::Dropped => has(FailureOn::RESET),
        }
    }
}

impl RetryOn {
    /// Whether an attempt that ended with `outcome` may be retried.
    pub fn matches(self, outcome: Outcome) -> bool {
        use Outcome as O;
        let any = |set: &[RetryOn]| set.iter().any(|&c| self.contains(c));
        match outcome {
            O::Ok => false,
            O::Error(409) => any(&[RetryOn::RETRIABLE_4XX]),
            O::Error(502..=504) => any(&[RetryOn::SERVER_ERROR, RetryOn::GATEWAY_ERROR]),
            O::Error(s) if s >= 500 => any(&[RetryOn::SERVER_ERROR]),
            O::Error(_) => false,
            O::Timeout => any(&[RetryOn::SERVER_ERROR, RetryOn::GATEWAY_ERROR, RetryOn::TIMEOUT]),
            O::Dropped => any(&[RetryOn::SERVER_ERROR, RetryOn::RESET]),
            O::Rejected => any(&[RetryOn::SERVER_ERROR, RetryOn::GATEWAY_ERROR, RetryOn::CONNECT_FAILURE]),
            // The caller's own breaker or bulkhead refused: retrying at once would be
            // refused again.
            O::ShortCircuited | O::Overloaded => false,
        }
    }
}
