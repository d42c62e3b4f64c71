//! Fallbacks of a failed call: a default value, a cache, another service, a queue.

use super::cx::*;
use crate::model::*;
use crate::scenario::raw;
use indexmap::IndexMap;

pub(super) fn fallback(
    cx: &mut Cx,
    path: &str,
    fb: &raw::Tagged<raw::FallbackSpec>,
    service_ids: &IndexMap<&str, ServiceId>,
    endpoint_ids: &IndexMap<(&str, &str), EndpointId>,
    endpoints: &[Endpoint],
) -> Option<Fallback> {
    use raw::FallbackSpec as S;
    match &fb.spec {
        S::DefaultValue => Some(Fallback::DefaultValue),
        S::Cache { ttl } => Some(Fallback::Cache { ttl: cx.positive_duration(format!("{path}.ttl"), ttl.0) }),
        S::Service { service: svc, endpoint: ep } => {
            let (svc, ep) = (svc.as_str(), ep.as_str());
            let Some(&service) = service_ids.get(svc) else {
                cx.err(format!("{path}.service"), unknown("service", svc, service_ids.keys().copied()));
                return None;
            };
            let Some(&endpoint) = endpoint_ids.get(&(svc, ep)) else {
                let names = endpoint_ids.keys().filter(|(s, _)| *s == svc).map(|(_, e)| *e);
                cx.err(format!("{path}.endpoint"), unknown(&format!("endpoint of {svc}"), ep, names));
                return None;
            };
            // A fallback that calls onwards could call back into what failed: keep it a leaf.
            if endpoints.get(endpoint.idx()).is_some_and(|e| !e.calls.is_empty()) {
                cx.err(
                    format!("{path}.endpoint"),
                    format!("an endpoint without downstream calls, but {svc}.{ep} has some"),
                );
                return None;
            }
            Some(Fallback::Service { service, endpoint })
        }
        S::Queue { delay, max_redeliveries } => {
            let delay = cx.positive_duration(format!("{path}.delay"), delay.0);
            let max_redeliveries = max_redeliveries.unwrap_or(3);
            if !(1..=REDELIVERIES_MAX).contains(&max_redeliveries) {
                cx.err(
                    format!("{path}.maxRedeliveries"),
                    format!("1 to {REDELIVERIES_MAX} background tries, found {max_redeliveries}"),
                );
                return None;
            }
            Some(Fallback::Queue { delay, max_redeliveries })
        }
    }
}

/// Most background tries of a queued call.
pub const REDELIVERIES_MAX: u32 = 100;
