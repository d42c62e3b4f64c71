//! What a finished run measured: the value the loop returns and the checker, the
//! reports and the output formats read. It depends on the model and the metrics, never
//! on the loop (`sim`), so everything downstream of a run can read it without knowing
//! how it was made.

use crate::autoscale::Decision;
use crate::metrics::{CallStats, FlowStats, StationStats};
use crate::model::{Caller, InstanceId, Scenario, ServiceId};
use crate::time::{SimDuration, SimTime};

/// Everything a finished run measured.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub seed: u64,
    pub stop: Stop,
    /// Simulated time when the run ended.
    pub end: SimTime,
    /// When arrivals stopped (the duration, or the last request).
    pub arrivals_end: SimTime,
    pub warmup: SimTime,
    pub events: u64,
    /// Requests issued, and those issued after the warm-up (the measured ones).
    pub requests: u64,
    pub requests_measured: u64,
    /// Calls that went direct (no policy, no guard: `RunOptions::no_direct_calls`).
    pub direct_calls: u64,
    /// Measured requests still in flight when the run ended (non-zero only at a limit).
    pub in_flight_measured: u64,
    pub in_flight_max_seen: u64,
    /// All requests at the gateway, whatever their route.
    pub total: FlowStats,
    pub routes: Vec<FlowStats>,
    /// Per destination service, every attempt as the callers' proxies see it.
    pub services: Vec<FlowStats>,
    /// Per destination service, calls after the policy stack (retries): outcomes and attempts,
    /// over all its callers.
    pub service_calls: Vec<CallStats>,
    /// Per policy point (a calling service, or the gateway, and a destination), in the
    /// order of `points`: the same figures, caller by caller.
    pub point_calls: Vec<CallStats>,
    pub points: Vec<PolicyPoint>,
    /// Work (service time) of finished jobs (measured ones), and the part of it whose
    /// answers went into a request answered ok (goodput).
    pub work_ns: u128,
    pub goodput_ns: u128,
    pub stations: Vec<StationStats>,
    /// Responses that reached a caller after it had given up.
    pub late_responses: u64,
    /// Every crash and how long the registry and the callers' views took to notice.
    pub detections: Vec<Detection>,
    /// Per config change: the proxies it reached and the longest propagation delay.
    pub config_applied: Vec<(u32, SimDuration)>,
    /// Registry reads by the views that timed out (the view kept its last list).
    pub registry_read_timeouts: u64,
    /// Per instance with probes: what its kubelet's probes did.
    pub probes: Vec<Option<crate::discovery::probe::ProbeCounters>>,
    /// The scenario's SLOs and those of the run options, judged.
    pub slos: Vec<crate::slo::SloResult>,
    /// Every fault occurrence, with its detection and recovery, and the window tallies.
    pub occurrences: Vec<Occurrence>,
    /// The run's faults: the scenario's, then the chaos monkey's (occurrences index them).
    pub faults: Vec<crate::model::Fault>,
    /// Each alerting rule's record.
    pub alerts: Vec<crate::alert::AlertResult>,
    /// Each user invariant's verdict.
    pub invariants: Vec<crate::invariant::InvariantResult>,
    pub scores: Scores,
    /// Per service with an autoscaler, in service order: what it decided.
    pub autoscaling: Vec<Autoscaling>,
    /// Where attempts went by their caller's zone, when the scenario has clusters or
    /// locality balancing.
    pub locality: Option<LocalityStats>,
    /// Each rollout's analysis steps and outcome, in the scenario's order.
    pub rollouts: Vec<crate::rollout::RolloutRecord>,
    /// What mesh security did (`None`: the scenario has no `security` block).
    pub security: Option<crate::security::SecurityReport>,
}

/// Why the run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Arrivals stopped and every request finished.
    Completed,
    /// A limit ended the run early; the message says which and what to do.
    Limit { kind: LimitKind, message: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    EventsMax,
    InFlightMax,
    DrainTimeout,
}

/// A policy point: calls from `caller` (the gateway or a service's instances) to
/// `destination`, which share one policy stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PolicyPoint {
    pub caller: Caller,
    pub destination: ServiceId,
}

impl PolicyPoint {
    /// `gateway->catalog`, `order->payment`.
    pub fn name(&self, sc: &Scenario) -> String {
        let from = match self.caller {
            Caller::Gateway => "gateway",
            Caller::Service(s) => sc.services[s.idx()].name.as_str(),
        };
        format!("{from}->{}", sc.services[self.destination.idx()].name)
    }
}

/// One occurrence of a fault, and how the mesh met it.
#[derive(Clone, Copy, Debug)]
pub struct Occurrence {
    pub fault: u32,
    pub start: SimTime,
    pub end: Option<SimTime>,
    /// The first breaker opening, outlier ejection, health-check flip or alert firing
    /// after its start.
    pub detected: Option<SimTime>,
    /// The first alert firing after its start.
    pub alerted: Option<SimTime>,
    /// The start of the first window, at or after its end, whose availability is back to
    /// the level before the first fault.
    pub recovered: Option<SimTime>,
}

/// Requests in windows with and without a fault, and the peak retry amplification.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scores {
    pub ok_in_faults: u64,
    pub total_in_faults: u64,
    pub ok_outside: u64,
    pub total_outside: u64,
    /// ok / total in the windows before the first fault began (`None`: no such window).
    pub baseline: Option<f64>,
    pub peak_amplification: f64,
}

/// A crash and how long each part of the mesh took to notice it.
#[derive(Clone, Debug)]
pub struct Detection {
    pub instance: InstanceId,
    pub crashed_at: SimTime,
    /// When the registry stopped listing the instance (expiry or deregistration).
    pub registry_at: Option<SimTime>,
    /// Views that listed the instance at the crash, and the delays after which each
    /// stopped listing it (views that never did are not in `delays`).
    pub views: u32,
    pub delays: Vec<SimDuration>,
    /// Whether the instance restarted before every view noticed.
    pub restarted_at: Option<SimTime>,
    /// Delays after which each proxy's health checks marked it unhealthy.
    pub check_delays: Vec<SimDuration>,
}

/// What a service's autoscaler did over the run.
#[derive(Clone, Debug)]
pub struct Autoscaling {
    pub service: ServiceId,
    /// Evaluations that changed the replica count, in time order (at most 1,000).
    pub decisions: Vec<Decision>,
    /// Changes beyond those kept.
    pub decisions_dropped: u64,
    pub evaluations: u64,
    /// The replica count it managed: lowest and highest.
    pub replicas_min: u32,
    pub replicas_max: u32,
    /// The first scale-out decision, and the first pod of the service ready after it.
    pub first_scale_out: Option<SimTime>,
    pub first_ready_after_scale_out: Option<SimTime>,
    /// The managed replica count integrated over the run (a cost figure).
    pub replica_seconds: f64,
}

/// Attempts by their caller's zone: to the same zone, to another zone of the caller's
/// cluster, to another cluster.
#[derive(Clone, Debug, Default)]
pub struct LocalityStats {
    /// Per caller zone, over measured attempts.
    pub totals: Vec<[u64; 3]>,
    /// Per time-series window (from 0), per caller zone, over every attempt.
    pub windows: Vec<Vec<[u64; 3]>>,
}

impl LocalityStats {
    pub(crate) fn new(zones: usize) -> LocalityStats {
        LocalityStats { totals: vec![[0; 3]; zones], windows: Vec::new() }
    }
}
